"""One connection's protocol state machine, sans-IO (the h11 model).

Owns: cutting the connection's byte stream into frames, decoding them with the connection's
dialect, deciding whether each message is legal *now* (one transition table, below), the
conduct checks a CTI reviewer would make (each a :class:`Violation` with a stable rule ID),
and encoding what we send with the negotiated version. It answers nothing by itself: it
returns events, and the hub decides (a scenario may want no HEARTBEAT_CONF at all).

Takes bytes and ``now`` (seconds, from the caller); returns events. It never sleeps, reads a
clock or touches a socket. Must not import asyncio, the server, the center or the scenario
engine.

Reference: §3 (session lifecycle), §7.1 (request validation rules).
"""

from __future__ import annotations

import dataclasses
import struct

import enum
from collections.abc import Iterable
from typing import Any
from dataclasses import dataclass, field

from mockcti.wire import (
    SPECS, DecodeError, Dialect, Frame, FrameBuffer, FrameError, Message, MessageType, StatusCode, decode, decoder, encode,
    encode_shared, invoke_id_of, spec_in,
)
from mockcti.wire.dialect import UCCX, Profile
from mockcti.wire.enums import ICM_ONLY_TAGS, SERVICES_NEEDED, UCCX_TAGS, IcmAgentStateMask, ServiceMask, services_text
from mockcti.wire.messages import FailureConf, HeartbeatReq, OpenReq
from mockcti.wire.records import fast_frozen_init
from mockcti.wire.types import fit_string

_UINT = struct.Struct(">I")
_HEARTBEAT_CONF_FRAME = struct.Struct(">III")
_HEARTBEAT_REQ_ID = int(MessageType.HEARTBEAT_REQ)
_HEARTBEAT_CONF_ID = int(MessageType.HEARTBEAT_CONF)
_TEXT_MAX = SPECS[MessageType.FAILURE_CONF].fields_by_tag[7].max_len  # FAILURE_CONF Text: 255 bytes with the NUL

__all__ = [
    "SessionState", "SessionConfig", "Session", "Received", "Rejected", "Violation", "ConnectionFailed",
    "HeartbeatsAnswered", "OpenRefusals", "RETRY_WAIT", "client_identity", "requested_agent_id",
    "RULES", "Rule", "CONFIRMATION_OF", "CALL_ID_FIELDS", "SENDERS", "open_sender",
]

S = StatusCode
MT = MessageType


class SessionState(enum.Enum):
    """Where a connection is in the session lifecycle (reference §3.2–3.5)."""

    AWAITING_OPEN = "awaiting-open"  # connected, no session yet: only OPEN_REQ is legal
    OPENING = "opening"  # OPEN_REQ received, the hub has not answered yet
    OPEN = "open"
    CLOSING = "closing"  # CLOSE_REQ answered or the server is closing: nothing more is read
    CLOSED = "closed"


# the states as globals: reading an enum member off its class costs ~120 ns on Python 3.11
# (EnumType.__getattr__ puts every class attribute read on the slow path), a global ~20 ns
_AWAITING_OPEN, _OPENING, _OPEN = SessionState.AWAITING_OPEN, SessionState.OPENING, SessionState.OPEN
_CLOSING, _CLOSED = SessionState.CLOSING, SessionState.CLOSED
_OPEN_REQ, _CLOSE_REQ = MT.OPEN_REQ, MT.CLOSE_REQ
_CLIENT_REQUESTS = frozenset(mt for mt, spec in SPECS.items() if spec.direction == "C->S")
#: per client request with a count in its fixed part (NumNamedVariables, NumNamedArrays: MAKE_CALL_REQ,
#: CONSULT_CALL_REQ, TRANSFER_CALL_REQ, CONFERENCE_CALL_REQ, SET_CALL_DATA_REQ): (the count's attribute, its
#: field name, the attribute of the list it counts, that list's floating field name and tag). decode() keeps a
#: count that disagrees with its list (so a round trip is lossless); the session refuses the request
_COUNTED: dict[MT, tuple[tuple[str, str, str, str, int], ...]] = {
    mt: tuple((f.attr, f.name, f.count_of, *next((t.name, t.tag) for t in spec.floating
                                                  if getattr(t, "attr", None) == f.count_of))
              for f in spec.fixed if f.count_of)
    for mt, spec in SPECS.items() if spec.direction == "C->S" and any(f.count_of for f in spec.fixed)
}


@dataclass(frozen=True)
class Rule:
    """A conduct rule the client is checked against (issue: validate the client)."""

    id: str
    title: str
    explanation: str


def _rules(*rows: tuple[str, str, str]) -> dict[str, Rule]:
    return {r[0]: Rule(*r) for r in rows}


#: how many ended calls (END_CALL_EVENT sent) a session still accepts in a request without
#: PROTO-UNKNOWN-CALL: a request racing the end of its call is not the client's fault, but a session
#: that hears of thousands of calls (a wallboard on a loaded server) must not keep every CallID
ENDED_CALLS_KEPT = 256
#: how many live calls a session remembers. A session learns a call from any message that names it
#: and forgets it on its END_CALL_EVENT; a session whose call mask leaves END_CALL_EVENT out never
#: hears of the end, so without a bound it would keep every CallID it was ever told of. Beyond this
#: many, the call least recently named by a message to the session is forgotten (a request naming it
#: later is PROTO-UNKNOWN-CALL). A session with END_CALL_EVENT in its mask stays far below it.
KNOWN_CALLS_KEPT = 65536

#: the AgentStateMask bits ICM defines, one per agent state (reference §6.7, I): AGENT_LOGIN_MASK 0x1 …
#: AGENT_NOT_ACTIVE_MASK 0x2000. ICM refuses an OPEN_REQ setting another (E_CTI_INVALID_AGENT_STATE_MASK, §3.3)
ICM_AGENT_STATE_MASK_BITS = int(sum(IcmAgentStateMask))

# Protocol-conduct rules. Stable IDs: they appear in reports and JUnit test names.
RULES: dict[str, Rule] = _rules(
    ("PROTO-OPEN-FIRST", "OPEN_REQ first", "A message other than OPEN_REQ arrived before a session was open (§3.2, §7.1)."),
    ("PROTO-OPEN-TWICE", "One OPEN_REQ per connection", "OPEN_REQ arrived while a session was already open on this connection (§7.1)."),
    ("PROTO-VERSION", "Supported protocol version", "OPEN_REQ asked for a protocol version outside the server's range (§3.2)."),
    ("PROTO-IDLE-TIMEOUT-VALUE", "Valid IdleTimeout", "OPEN_REQ IdleTimeout is below 20 s, or 120 s and above in strict mode (§3.4)."),
    ("PROTO-SERVICE-MASK", "Legal service mask", "CLIENT_EVENTS (agent mode) and ALL_EVENTS (bridge mode) are mutually exclusive (§3.3)."),
    ("PROTO-AGENT-STATE-MASK", "Defined agent state mask bits", f"Under the ucce profile an OPEN_REQ AgentStateMask set a bit ICM does not define (above 0x{ICM_AGENT_STATE_MASK_BITS:X}): ICM refuses it E_CTI_INVALID_AGENT_STATE_MASK (§3.3, §6.7); UCCX ignores unknown bits."),
    ("PROTO-AGENT-FIELDS-IN-BRIDGE", "No agent fields in bridge mode", "A bridge-mode OPEN_REQ carried AgentExtension/AgentID/AgentInstrument (§3.3)."),
    ("PROTO-AGENT-IDENTITY", "Agent identity in agent mode", "An agent-mode OPEN_REQ carried none of AgentExtension/AgentID/AgentInstrument (§3.2)."),
    ("PROTO-REQUIRED-FIELD", "Required fields present", "A request lacked a required floating field (§2.3)."),
    ("PROTO-MALFORMED", "Well-formed messages", "A frame could not be decoded: bad length, truncated field, bad numeric size, a single floating field repeated, a NumNamedVariables / NumNamedArrays that is not the number of NamedVariable / NamedArray fields the request carries, or the connection ended in the middle of a frame (§2)."),
    ("PROTO-FIELD-LENGTH", "Fields within their maximum", "A floating field was longer than its maximum (§2.3)."),
    ("PROTO-UNKNOWN-TAG", "Only defined floating tags", "A request carried a floating tag that the message does not define (§2.3)."),
    ("PROTO-UNKNOWN-MESSAGE", "Only UCCX message types", "The client sent a message type the server does not implement (§4)."),
    ("PROTO-WRONG-DIRECTION", "Only client-to-server messages", "The client sent a message that only a server sends (§4 direction column)."),
    ("PROTO-FRAME-TOO-LARGE", "Frames within the size limit", "A frame announced a body larger than the limit; the connection was closed (§2.4)."),
    ("PROTO-INVOKEID-REUSED", "Unique outstanding InvokeIDs", "A request reused the InvokeID of a request still waiting for its confirmation."),
    ("PROTO-UNKNOWN-CALL", "Only calls the client was told about", f"A request named a CallID that no event or confirmation ever gave this session (or one whose END_CALL_EVENT went out more than {ENDED_CALLS_KEPT} ended calls ago, or, for a session that never gets END_CALL_EVENT, one not named to it among its last {KNOWN_CALLS_KEPT} calls)."),
    ("PROTO-HEARTBEAT-CADENCE", "Heartbeats keep the session alive", "The gap between two messages exceeded half the IdleTimeout (plus 5 %, at most 0.5 s, for timers and the network): heartbeats at that cadence let the session expire (§3.4)."),
    ("PROTO-IDLE-EXPIRED", "Session kept alive", "Nothing arrived within IdleTimeout; the server reset the connection (§3.4)."),
    ("PROTO-NO-CLOSE", "CLOSE_REQ before leaving", "The client disconnected with a session open and no CLOSE_REQ (§3.5)."),
    ("PROTO-AFTER-CLOSE", "Nothing after CLOSE_REQ", "The client sent a message after CLOSE_REQ (§3.5)."),
    ("PROTO-AFTER-FAILURE-EVENT", "Stop after a session-ending FAILURE_EVENT", "The client kept sending after a FAILURE_EVENT that ended its session (§3.5, §7.1): more than 1 s after it by default (SessionConfig.failure_event_grace; what came sooner may have crossed the event). E_CTI_AUTO_CONFIG_RESET (96) ends no session."),
    ("PROTO-SERVICE-NOT-GRANTED", "Requests within granted services", "A request needs a service (CLIENT_CONTROL, CALL_DATA_UPDATE, SUPERVISOR, CONFIG_EVENTS) the session was not granted (§6.5); the server refused it."),
    ("PROTO-RETRY-LOOP", "No tight retry of a refused request", "The client sent a request the server had just refused again, unchanged but for its InvokeID, several times in a row (3 by default, HubConfig.retry_loop_times), each soon after the refusal before it (within 1 s by default, retry_loop_gap) (a mock rule: a client that ignores FAILURE_CONF / CONTROL_FAILURE_CONF and retries in a loop; the answer will not change by itself)."),
    ("PROTO-RETRY-TOO-SOON", "Wait before retrying a rejected OPEN_REQ", "After a rejected OPEN_REQ the client must reset the connection and wait at least 10 s (§3.2): flagged on the same connection, and on a new one for the same client (ClientID and agent fields as sent); not after E_CTI_SERVER_NOT_MASTER, when the client tries the other node at once (§3.1)."),
)

# request -> its positive confirmation (reference §4); a request is outstanding until one of
# these, FAILURE_CONF or CONTROL_FAILURE_CONF with its InvokeID is sent.
CONFIRMATION_OF: dict[MT, MT] = {
    MT.OPEN_REQ: MT.OPEN_CONF, MT.HEARTBEAT_REQ: MT.HEARTBEAT_CONF, MT.CLOSE_REQ: MT.CLOSE_CONF,
    MT.SET_CALL_DATA_REQ: MT.SET_CALL_DATA_CONF, MT.QUERY_AGENT_STATE_REQ: MT.QUERY_AGENT_STATE_CONF,
    MT.SET_AGENT_STATE_REQ: MT.SET_AGENT_STATE_CONF, MT.ALTERNATE_CALL_REQ: MT.ALTERNATE_CALL_CONF,
    MT.ANSWER_CALL_REQ: MT.ANSWER_CALL_CONF, MT.CLEAR_CALL_REQ: MT.CLEAR_CALL_CONF,
    MT.CLEAR_CONNECTION_REQ: MT.CLEAR_CONNECTION_CONF, MT.CONFERENCE_CALL_REQ: MT.CONFERENCE_CALL_CONF,
    MT.CONSULT_CALL_REQ: MT.CONSULT_CALL_CONF, MT.HOLD_CALL_REQ: MT.HOLD_CALL_CONF,
    MT.MAKE_CALL_REQ: MT.MAKE_CALL_CONF, MT.RECONNECT_CALL_REQ: MT.RECONNECT_CALL_CONF,
    MT.RETRIEVE_CALL_REQ: MT.RETRIEVE_CALL_CONF, MT.TRANSFER_CALL_REQ: MT.TRANSFER_CALL_CONF,
    MT.QUERY_DEVICE_INFO_REQ: MT.QUERY_DEVICE_INFO_CONF, MT.SNAPSHOT_CALL_REQ: MT.SNAPSHOT_CALL_CONF,
    MT.SNAPSHOT_DEVICE_REQ: MT.SNAPSHOT_DEVICE_CONF, MT.SEND_DTMF_SIGNAL_REQ: MT.SEND_DTMF_SIGNAL_CONF,
    MT.SUPERVISOR_ASSIST_REQ: MT.SUPERVISOR_ASSIST_CONF, MT.EMERGENCY_CALL_REQ: MT.EMERGENCY_CALL_CONF,
    MT.SUPERVISE_CALL_REQ: MT.SUPERVISE_CALL_CONF, MT.BAD_CALL_REQ: MT.BAD_CALL_CONF,
    MT.TEAM_CONFIG_REQ: MT.TEAM_CONFIG_CONF,
    MT.QUERY_AGENT_QUEUE_STATISTICS_REQ: MT.QUERY_AGENT_QUEUE_STATISTICS_CONF,
    MT.QUERY_QUEUE_STATISTICS_REQ: MT.QUERY_QUEUE_STATISTICS_CONF,
    MT.QUERY_SUMMARY_STATISTICS_REQ: MT.QUERY_SUMMARY_STATISTICS_CONF,
}
_CONFIRMATIONS = frozenset(CONFIRMATION_OF.values()) | {MT.FAILURE_CONF, MT.CONTROL_FAILURE_CONF}

# Fields of client requests that name a call, and fields of server messages that reveal one.
# SUPERVISE_CALL_REQ's AgentCallID is not one of them: it names a call of another agent's phone, which a
# supervisor's agent-mode session is never told of (§7.1 delivery rules: its own phone's events only) —
# the desktop learns it elsewhere (a bridge, the agent's SUPERVISOR_ASSIST_EVENT); its SupervisorCallID
# names a call of its own phone and is checked.
CALL_ID_FIELDS = ("call_id", "active_call_id", "held_call_id", "other_call_id",
                  "connection_call_id", "supervisor_call_id")
_REVEALING_FIELDS = ("call_id", "new_call_id", "primary_call_id", "secondary_call_id", "connection_call_id",
                     "secondary_connection_call_id")
_NULL_CALL_ID = 0xFFFFFFFF
_AUTO_CONFIG_RESET = int(StatusCode.E_CTI_AUTO_CONFIG_RESET)  # the FAILURE_EVENT that does not end the session
_LIST_FIELDS = ("parties", "call_devices", "calls")
#: per message class: (its CALL_ID_FIELDS, its _REVEALING_FIELDS, its _LIST_FIELDS) — looked up once per
#: class instead of ~20 getattr calls per message (a hot spot of the server benchmark, bench/README.md)
_PLAN: dict[type, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}


def _touch(recent: dict[int, None], cid: int, cap: int) -> None:
    """``cid`` becomes the most recent key of ``recent`` (insertion order); beyond ``cap`` keys the
    least recent goes."""
    recent.pop(cid, None)
    recent[cid] = None
    if len(recent) > cap:
        del recent[next(iter(recent))]


def _plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    plan = _PLAN.get(cls)
    if plan is None:
        names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(dir(cls))
        plan = (tuple(n for n in CALL_ID_FIELDS if n in names), tuple(n for n in _REVEALING_FIELDS if n in names),
                tuple(n for n in _LIST_FIELDS if n in names))
        _PLAN[cls] = plan
    return plan

#: per message class sent: (a confirmation with an InvokeID, its _REVEALING_FIELDS, its _LIST_FIELDS)
_SEND_PLAN: dict[type[Message], tuple[bool, tuple[str, ...], tuple[str, ...]]] = {}


def _send_plan(cls: type[Message]) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    plan = _SEND_PLAN.get(cls)
    if plan is None:
        _, revealing, lists = _plan(cls)
        has_invoke_id = dataclasses.is_dataclass(cls) and "invoke_id" in {f.name for f in dataclasses.fields(cls)}
        plan = _SEND_PLAN[cls] = (cls.TYPE in _CONFIRMATIONS and has_invoke_id, revealing, lists)
    return plan


#: per message class: how an OPEN session sends it, ``(session, message) -> bytes`` (what
#: :meth:`Session.encode` does, with the class's plan worked out once: the hub's delivery loop
#: calls these directly for every message of a call flow). Filled by :func:`open_sender`; read-only
#: for everyone else
SENDERS: dict[type[Message], Any] = {}


def open_sender(cls: type[Message]) -> Any:
    """The function that encodes a ``cls`` message for an OPEN session and tracks what it tells
    the client: the request a confirmation answers, the call IDs an event reveals. A
    confirmation's bytes are not remembered (one request of one session); an event's are (one
    event goes to many sessions, and the center reuses each agent's AGENT_STATE_EVENTs)."""
    fn = SENDERS.get(cls)
    if fn is not None:
        return fn
    conf, revealing, lists = _send_plan(cls)
    if cls.TYPE is MT.END_CALL_EVENT:  # the call is over for this session: remembered as ended
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            session._call_ended(m.call_id)
            return encode_shared(m, session.dialect)
    elif cls.TYPE is MT.FAILURE_CONF:
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            if session._outstanding.pop(m.invoke_id, None) is MT.HEARTBEAT_REQ:
                session.heartbeat_unanswered = True  # §3.4: a client resets after a failed heartbeat
            return encode(m, session.dialect)
    elif cls.TYPE is MT.HEARTBEAT_CONF:
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            session._outstanding.pop(m.invoke_id, None)
            session.heartbeat_unanswered = False
            return encode(m, session.dialect)
    elif conf and not revealing and not lists:
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            session._outstanding.pop(m.invoke_id, None)
            return encode(m, session.dialect)
    elif not conf and len(revealing) == 1 and not lists:
        name = revealing[0]

        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            cid = getattr(m, name)
            if cid is not None:
                session._know(cid)
            return encode_shared(m, session.dialect)
    elif not conf and not revealing and not lists:
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            return encode_shared(m, session.dialect)
    else:  # several revealing fields, or lists of parties: the general steps
        def fn(session: "Session", m: Any) -> bytes:  # (a cls: its fields)
            if conf:
                session._outstanding.pop(m.invoke_id, None)
            session._learn_revealed(m, revealing, lists)
            return encode(m, session.dialect) if conf else encode_shared(m, session.dialect)
    SENDERS[cls] = fn
    return fn


def _receive_plan(mt: MessageType, dialect: Dialect) -> tuple:
    """What a session needs to take a ``mt`` request in ``dialect``, worked out once per dialect:
    ``(type, compiled decoder or None, tracked, service bits needed, CALL_ID_FIELDS, class)`` —
    the decoder is None where decode() does not use it (a strict dialect, OPEN_REQ)."""
    fn = None if dialect.strict or mt is _OPEN_REQ else decoder(mt, dialect)
    cls = SPECS[mt].cls
    return (mt, fn, *_request_plan(cls), cls)


#: per request class: (tracked until confirmed, service bits it needs or 0, its CALL_ID_FIELDS)
_REQUEST_PLAN: dict[type[Message], tuple[bool, int, tuple[str, ...]]] = {}


def _request_plan(cls: type[Message]) -> tuple[bool, int, tuple[str, ...]]:
    plan = _REQUEST_PLAN.get(cls)
    if plan is None:
        mt = cls.TYPE
        need = SERVICES_NEEDED.get(mt, 0)  # (reference §6.5; the center refuses what this flags)
        plan = (mt in CONFIRMATION_OF and "invoke_id" in {f.name for f in dataclasses.fields(cls)}, need,
                _plan(cls)[0])
        _REQUEST_PLAN[cls] = plan
    return plan


@dataclass(frozen=True)
class SessionConfig:
    """Limits and policies of one connection; every default is the real server's where known."""

    profile: Profile = UCCX
    v18_length_width: int = 2  # U: reference §2.3
    strict: bool = False  # reject wrong reserved fixed fields (E_CTI_INVALID_PERIPHERAL_ID) and IdleTimeout >= 120
    max_body: int = 12_492  # reference §2.4 (U)
    min_idle_timeout: int = 20  # reference §3.4
    reject_unknown_tags: bool = True  # UCCX answers E_CTI_INVALID_FIELD (3); False = ignore them
    open_timeout: float | None = None  # close a connection that sends no OPEN_REQ within this many seconds
    #: seconds after a session-ending FAILURE_EVENT was sent in which what the client sends is not yet
    #: PROTO-AFTER-FAILURE-EVENT: it may have been sent before the client could read the event (a heartbeat
    #: crossing it). A mock choice, no source (U); 0: everything after the event is a violation
    failure_event_grace: float = 1.0


#: base dialects by configuration: sessions with the same configuration share one Dialect (and so its
#: per-version dialects), which is what lets a message's remembered bytes (codec.encode_shared) serve
#: every session of a version instead of each session encoding the same event again
#: — the latest BASE_DIALECTS_KEPT configurations, the one used last kept longest: every scenario with a
#: ``dialect:`` (each POST /scenario, each test of the pytest plugin, each ``mockcti run`` in one process)
#: makes a Profile of its own, and each one's entry, holding that profile, stayed in this module for good.
#: A session keeps its Dialect itself: a configuration that drops out only shares less
_BASE_DIALECTS: dict[tuple[int, int, bool, int], Dialect] = {}
BASE_DIALECTS_KEPT = 16


def _base_dialect(config: "SessionConfig") -> Dialect:
    key = (id(config.profile), config.v18_length_width, config.strict, config.max_body)
    cache = _BASE_DIALECTS
    d = cache.pop(key, None)  # (put back last: the latest used)
    if d is None or d.profile is not config.profile:  # (a freed profile's id may be reused)
        d = Dialect(profile=config.profile, version=config.profile.max_version,
                    v18_length_width=config.v18_length_width, strict=config.strict, max_body=config.max_body)
        while len(cache) >= BASE_DIALECTS_KEPT:
            del cache[next(iter(cache))]
    cache[key] = d
    return d


def _repeated_fields(mt: MT, dialect: Dialect, version: int,
                     extra_fields: tuple[tuple[int, bytes], ...]) -> dict[int, str]:
    """Of the tags decode() kept in ``extra_fields``, those ``mt`` defines in ``version`` in the dialect's
    profile (so a repeat of a single field, not an unknown tag): tag -> field name."""
    defined = spec_in(mt, dialect).fields_by_tag
    out: dict[int, str] = {}
    for tag, _ in extra_fields:
        f = defined.get(tag)
        if f is not None and (f.since is None or version >= f.since):
            out[tag] = f.name
    return out


def _unknown_tag_status(profile: Profile, tag: int) -> StatusCode:
    """The FAILURE_CONF status of a request carrying floating ``tag`` that ``mt`` does not define
    (reference §2.3): E_CTI_INVALID_FIELD (3) in UCCX for every such tag; ICM tells a tag it defines for
    other messages (E_CTI_INVALID_TAG_FOR_MSG_TYPE, 26) from an unknown one (E_CTI_INVALID_FIELD_TAG, 3).
    (ICM's E_CTI_INVALID_TAG_FOR_VERSION has no case here: the one request field with a ``since``,
    SET_AGENT_STATE_REQ ActiveTerminal, tag 303, cannot be sent with the 1-byte tags of UCCE below v20.)"""
    if tag in UCCX_TAGS or tag in ICM_ONLY_TAGS:
        return profile.status("tag_for_message")
    return S.E_CTI_INVALID_FIELD


# -- events ---------------------------------------------------------------------------------


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Received:
    """A decoded message that is legal in the current state; the hub decides what to answer."""

    message: Message


@dataclass(frozen=True)
class Rejected:
    """A message the session refused; the hub must answer FAILURE_CONF(invoke_id, status, text).

    ``close`` says the connection cannot go on (an unrecoverable frame, e.g. too large).
    ``message`` is the decoded message when decoding succeeded.
    """

    status: StatusCode
    text: str
    invoke_id: int
    type_id: int | None
    message: Message | None = None
    close: bool = False

    def failure_conf(self) -> FailureConf:
        return FailureConf(invoke_id=self.invoke_id, status=int(self.status),
                           text=fit_string(self.text, _TEXT_MAX) or None)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Violation:
    """The client broke a conduct rule. Recorded in the journal; never closes anything by itself."""

    rule: str
    detail: str
    message: Message | None = None

    @property
    def explanation(self) -> str:
        return RULES[self.rule].explanation


@dataclass(frozen=True)
class ConnectionFailed:
    """The session must end now without a message (idle timeout: the server just resets)."""

    reason: str


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class HeartbeatsAnswered:
    """``count`` plain HEARTBEAT_REQs answered in the session; ``data`` holds their HEARTBEAT_CONFs."""

    data: bytes
    count: int


Event = Received | Rejected | Violation | ConnectionFailed | HeartbeatsAnswered


# -- the session ----------------------------------------------------------------------------


def cadence_limit(idle_timeout: float) -> float:
    """The longest gap between two messages of a session that is not PROTO-HEARTBEAT-CADENCE: half
    the IdleTimeout (the OPEN_REQ page: IdleTimeout >= 2 x the heartbeat interval, reference §3.4)
    plus a little for timers and the network — 5 % of the IdleTimeout, at most 0.5 s — so that a
    client heartbeating at exactly IdleTimeout/2 is not flagged for arriving a few ms late."""
    return idle_timeout / 2 + min(0.5, idle_timeout / 20)


#: after a refused OPEN_REQ the client waits at least this long before it opens again (reference §3.2)
RETRY_WAIT = 10.0


def requested_agent_id(req: OpenReq, profile: Profile) -> str | None:
    """The AgentID an OPEN_REQ names: tag 194 (UCCX's AgentID) or, under the ucce profile, ICM's AgentID,
    tag 5 (the ICM guides' OPEN_REQ: "at least one of AgentExtension, AgentID, or AgentInstrument"),
    which UCCX lists as reserved."""
    if req.agent_id:
        return req.agent_id
    return req.legacy_agent_id if profile.icm and req.legacy_agent_id else None


def client_identity(req: OpenReq) -> tuple[str, str, str, str, str]:
    """Who sent an OPEN_REQ, across connections: its ClientID and agent fields as sent (ICM's AgentID,
    tag 5, too: under the ucce profile the one identity of an ICM client)."""
    return (req.client_id or "", req.agent_id or "", req.agent_extension or "", req.agent_instrument or "",
            req.legacy_agent_id or "")


def _status_name(status: int) -> str:
    try:
        return S(status).name
    except ValueError:
        return str(status)


class OpenRefusals:
    """The OPEN_REQs refused lately, by :func:`client_identity`, shared by the sessions of one server:
    a client that resets the connection and opens again at once is the same client retrying too soon
    (PROTO-RETRY-TOO-SOON), on whichever connection. A refusal E_CTI_SERVER_NOT_MASTER is not kept:
    the client tries the other node next (§3.1), at once, and a mock that plays both nodes on one
    port cannot tell that from a retry. Bounded: the ``limit`` most recent identities (an entry older
    than RETRY_WAIT decides nothing anyway). Pure: ``now`` comes from the caller."""

    __slots__ = ("_by_client", "limit")

    def __init__(self, limit: int = 4096) -> None:
        self._by_client: dict[tuple[str, str, str, str, str], tuple[float, int, int]] = {}
        self.limit = limit

    def refused(self, req: OpenReq, status: int, session_id: int, now: float) -> None:
        if status == S.E_CTI_SERVER_NOT_MASTER:
            return
        key = client_identity(req)
        book = self._by_client
        book.pop(key, None)  # most recent last: the oldest go first
        book[key] = (now, int(status), session_id)
        while len(book) > self.limit:
            del book[next(iter(book))]

    def last(self, req: OpenReq, now: float) -> tuple[float, int, int] | None:
        """(when, status, session id) of this client's refusal less than RETRY_WAIT before ``now``."""
        key = client_identity(req)
        entry = self._by_client.get(key)
        if entry is not None and now - entry[0] >= RETRY_WAIT:
            del self._by_client[key]
            return None
        return entry


@dataclass
class Session:
    """The protocol state of one connection.

    Life cycle: ``receive_data`` -> events; for a legal OPEN_REQ the hub calls ``opened`` (or
    ``open_refused``); the hub encodes everything it sends through ``encode``, which also keeps
    track of confirmations (outstanding InvokeIDs) and of the call IDs the client was told about.
    """

    session_id: int
    config: SessionConfig = field(default_factory=SessionConfig)
    state: SessionState = _AWAITING_OPEN
    dialect: Dialect = None  # type: ignore[assignment]
    open_req: OpenReq | None = None
    idle_timeout: float | None = None
    #: the longest gap between two messages that is not PROTO-HEARTBEAT-CADENCE (see cadence_limit)
    cadence_limit: float | None = None
    services: int = 0
    connected_at: float = 0.0
    #: when the hub accepted its OPEN_REQ (None: never opened); kept once the connection is gone, so that
    #: a client that opened a session and ended at once is told from one that never opened (mockcti fuzz)
    opened_at: float | None = None
    last_received: float | None = None
    ended_by_failure_event: bool = False
    failure_event_at: float = 0.0  # when the FAILURE_EVENT that ended the session was sent
    #: the latest HEARTBEAT_REQ went unanswered (the server withheld its HEARTBEAT_CONF) or was answered
    #: FAILURE_CONF: a client that then resets the connection does what reference §3.4 asks, not a
    #: PROTO-NO-CLOSE; a HEARTBEAT_CONF sent clears it
    heartbeat_unanswered: bool = False
    close_requested: bool = False
    refused_at: float | None = None
    #: the refusals of every connection of the server (PROTO-RETRY-TOO-SOON across connections)
    refusals: OpenRefusals | None = None
    #: the server stopped reading this connection (a stop_reading / pause_reading fault): what the client
    #: sends waits in the socket unread, so its silence is not the client's — no idle timeout while
    #: paused, and the idle clock (and the cadence gap) starts again when reading resumes
    reading_paused: bool = False
    #: who holds :attr:`reading_paused` (a scenario, the control API, in the order they paused): reading resumes
    #: when none does
    reading_held_by: tuple[str, ...] = ()
    #: owner -> when its pause ends (the loop's clock; None: until lifted); see :meth:`pause_end`
    reading_ends: dict[str, float | None] | None = None

    def __post_init__(self) -> None:
        if self.dialect is None:
            self.dialect = _base_dialect(self.config)
        self._frames = FrameBuffer(self.config.max_body)
        # frames cut but not yet read, behind an OPEN_REQ or CLOSE_REQ of the same chunk: what they
        # mean depends on how the hub answers it (the session opened in the OPEN_REQ's version, or
        # refused; the connection closing), so they wait: non-empty, the hub calls :meth:`resume`
        self.held: list[Frame | FrameError | int] = []
        self._barrier = False
        self._deferred = False  # with _barrier: the frame read last waits too (a possibly reused InvokeID)
        self._outstanding: dict[int, MT] = {}
        # calls the client was told of and not yet told ended, least recently named first (bounded)
        self._known_calls: dict[int, None] = {}
        self._ended_calls: dict[int, None] = {}  # the last ENDED_CALLS_KEPT ended, oldest first
        self.bytes_in = 0
        self.messages_in = 0
        # before a session is open, replies use the version of the OPEN_REQ being answered when the
        # profile supports it; otherwise the floating widths are unknown and a FAILURE_CONF goes out
        # without its Text, as in the guide's example (reference §8.5)
        self._reply_version: int | None = None

    # -- input ---------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float, *, answer_heartbeats: bool = False) -> list[Event]:
        """Feed bytes from the peer; return what happened, in order.

        ``answer_heartbeats``: answer each plain HEARTBEAT_REQ here (the confirmation's bytes come
        back in a :class:`HeartbeatsAnswered`, in stream order with the other events) instead of
        returning it as :class:`Received` — the same checks, no objects per message. The hub asks
        for it when nothing else needs to see heartbeats.
        """
        self.bytes_in += len(data)
        if self.state is _CLOSED:
            return []
        events: list[Event] = []
        replies = None  # HEARTBEAT_CONFs answered here, made only when there is one
        answered = 0
        half = self.cadence_limit
        quick_type = _HEARTBEAT_REQ_ID if answer_heartbeats else None
        items = self._frames.feed(data, quick_type=quick_type)
        if self.held:
            items = self.held + items
            self.held = []
        for i, item in enumerate(items):
            if type(item) is int:  # a HEARTBEAT_REQ (InvokeID only), cut without a Frame object
                if (quick_type is not None and self.state is _OPEN and not self.ended_by_failure_event
                        and (half is None or self.last_received is None or now - self.last_received <= half)
                        and item not in self._outstanding):
                    self.messages_in += 1
                    self.last_received = now
                    if replies is None:
                        replies = bytearray()
                        self.heartbeat_unanswered = False  # answered HEARTBEAT_CONF (below)
                    replies += _HEARTBEAT_CONF_FRAME.pack(4, _HEARTBEAT_CONF_ID, item)
                    answered += 1
                    continue
                # anything to report (cadence, reused InvokeID, state): the full path decides
                item = Frame(_HEARTBEAT_REQ_ID, _UINT.pack(item), self._frames.offset)
            if answered:
                events.append(HeartbeatsAnswered(bytes(replies), answered))  # type: ignore[arg-type]  # (answered: replies made)
                replies, answered = None, 0
            if isinstance(item, FrameError):
                if self.state is _CLOSING:  # behind a CLOSE_REQ (or a close) that is answered: nothing more goes out
                    if self.close_requested:
                        events.append(Violation("PROTO-AFTER-CLOSE", f"message type {item.type_id} after CLOSE_REQ"))
                    break
                # the hub answers it and closes the connection, after what came before it (the
                # frames before it in this chunk are answered in the state they were sent in)
                events.append(Violation("PROTO-FRAME-TOO-LARGE", str(item)))
                events.append(Rejected(item.status, item.reason, item.invoke_id or 0, item.type_id, close=True))
                break
            self._on_frame(item, now, events)  # type: ignore[arg-type]  # (an int was made a Frame above)
            if self._barrier:  # an OPEN_REQ or CLOSE_REQ: the rest waits for the hub's answer to it
                self._barrier = False
                if self._deferred:  # this frame too waits for the hub (see _wait_for_hub)
                    self._deferred = False
                    self.held = items[i:]
                elif i + 1 < len(items):
                    self.held = items[i + 1:]
                break
        if answered:
            events.append(HeartbeatsAnswered(bytes(replies), answered))  # type: ignore[arg-type]  # (answered: replies made)
        return events

    def resume(self, now: float, *, answer_heartbeats: bool = False) -> list[Event]:
        """What the held frames mean now (as :meth:`receive_data` with no new bytes)."""
        return self.receive_data(b"", now, answer_heartbeats=answer_heartbeats)

    def receive_heartbeats(self, data: bytes, now: float) -> HeartbeatsAnswered | None:
        """:meth:`receive_data` with ``answer_heartbeats=True`` for a chunk of nothing but plain
        HEARTBEAT_REQs with nothing to report (the bulk of a loaded server's input): their
        HEARTBEAT_CONFs, as the one event receive_data would return. None when the chunk holds
        anything else or a heartbeat needs the full path (cadence, a reused InvokeID, the session's
        state); then nothing was consumed."""
        if self.state is not _OPEN or self.ended_by_failure_event or self.held:
            return None
        last = self.last_received
        if last is not None and self.cadence_limit and now - last > self.cadence_limit:
            return None
        ids = self._frames.uint_frames(data, _HEARTBEAT_REQ_ID)
        if ids is None:
            return None
        outstanding = self._outstanding
        if outstanding and any(i in outstanding for i in ids):
            return None
        self._frames.skip_fed(data)
        self.bytes_in += len(data)
        self.messages_in += len(ids)
        self.last_received = now
        self.heartbeat_unanswered = False
        if len(ids) == 1:
            return HeartbeatsAnswered(_HEARTBEAT_CONF_FRAME.pack(4, _HEARTBEAT_CONF_ID, ids[0]), 1)
        return HeartbeatsAnswered(b"".join([_HEARTBEAT_CONF_FRAME.pack(4, _HEARTBEAT_CONF_ID, i) for i in ids]),
                                  len(ids))

    def _on_frame(self, frame: Frame, now: float, out: list[Event]) -> None:
        """What one frame means now, appended to ``out``."""
        self.messages_in += 1
        state = self.state
        last = self.last_received
        if last is not None and self.cadence_limit and state is _OPEN:
            gap = now - last
            if gap > self.cadence_limit:
                out.append(Violation("PROTO-HEARTBEAT-CADENCE",
                                     f"{gap:.1f} s without a message; IdleTimeout is {self.idle_timeout:g} s"))
        self.last_received = now
        if state is _CLOSING:
            if self.close_requested:
                out.append(Violation("PROTO-AFTER-CLOSE", f"message type {frame.type_id} after CLOSE_REQ"))
            return
        if self.ended_by_failure_event:
            late = now - self.failure_event_at
            if late > self.config.failure_event_grace:  # (sooner: it may have crossed the event; ignored all the same)
                out.append(Violation("PROTO-AFTER-FAILURE-EVENT",
                                     f"message type {frame.type_id} {late:.1f} s after FAILURE_EVENT"))
            return
        type_id = frame.type_id
        if type_id == _HEARTBEAT_REQ_ID and len(frame.body) == 4 and state is _OPEN:
            # the most frequent message, fixed layout (InvokeID only, reference §5.1): no decode, same checks
            inv = _UINT.unpack(frame.body)[0]
            hb = HeartbeatReq(invoke_id=inv)
            if inv in self._outstanding:
                if self._wait_for_hub(out):
                    return
                out.append(Violation("PROTO-INVOKEID-REUSED",
                                     f"InvokeID {inv} of HEARTBEAT_REQ; {self._outstanding[inv].name} is unanswered",
                                     hb))
            self._outstanding[inv] = MT.HEARTBEAT_REQ
            out.append(Received(hb))
            return
        self._reply_version = None
        dialect = self.dialect
        plan = dialect._requests.get(type_id) if state is _OPEN else None  # type: ignore[attr-defined]
        if plan is None:  # not a request of an open session, or its first one in this dialect
            mt = dialect.profile.by_wire_id.get(type_id)
            if not (state is _OPEN and mt in _CLIENT_REQUESTS and mt is not _OPEN_REQ):  # else: the usual case
                if self._refused_now(frame, mt, state, out):
                    return
                if mt is _OPEN_REQ:  # (the table leaves only an OPEN_REQ before the session is open)
                    if self._unsupported_version(frame, dialect, out, now):
                        return
                    req = self._decoded(frame, dialect, mt, out)
                    if req is not None:  # (an OPEN_REQ, by its type: no cast per message)
                        self._reply_version = req.version_number  # type: ignore[attr-defined]
                        out.extend(self._check_open(req, now))  # type: ignore[arg-type]
                    return
                plan = _receive_plan(mt, dialect)  # type: ignore[arg-type]  # (an unknown type was refused)
            else:
                plan = dialect._requests[type_id] = _receive_plan(mt, dialect)  # type: ignore[attr-defined]
        mt, fn, tracked, need, call_fields, cls = plan
        msg = None
        if fn is not None:  # the compiled decoder, as decode() calls it
            try:
                msg = fn(frame.body)
            except Exception:  # irregular input: decode() (in _decoded) gives the precise DecodeError
                pass
        if msg is None or msg.extra_fields:
            msg = self._decoded(frame, dialect, mt, out, msg)
            if msg is None:
                return
        if type(msg) is not cls:  # (decode() gives the spec's class: never, unless a profile says otherwise)
            tracked, need, call_fields = _request_plan(type(msg))
        if mt in _COUNTED and self._miscounted(msg, mt, frame, out):
            return
        self._check_request(msg, out, tracked, need, call_fields)

    def _miscounted(self, msg: Message, mt: MT, frame: Frame, out: list[Event]) -> bool:
        """A request whose NumNamedVariables or NumNamedArrays is not the number of NamedVariable (tag 82) or
        NamedArray (tag 83) fields it carries (§2.2; the message tables: "count of tag-82 fields"): PROTO-MALFORMED
        and a refusal (the profile's status: ICM's E_CTI_INVALID_NUM_NAMED_VARIABLES / _ARRAYS, 77 / 78, UCCX's
        E_CTI_UNSPECIFIED_FAILURE, U — :meth:`Profile.status`). True when ``out`` got it. (decode() leaves a
        count that matches its list None.) Taken as it was, a variable the count left out was set all the same,
        and a client that wrote 0 and two variables never heard it had built its message wrong."""
        for count_attr, count_name, list_attr, item_name, tag in _COUNTED[mt]:
            said = getattr(msg, count_attr)
            if said is None:
                continue
            has = len(getattr(msg, list_attr))
            text = f"{count_name} is {said} but the message carries {has} {item_name} field(s) (tag {tag})"
            out.append(Violation("PROTO-MALFORMED", f"{mt.name}: {text}", msg))
            out.append(Rejected(self.dialect.profile.status(count_attr),  # ("num_named_variables" ...)
                                text, invoke_id_of(frame.body) or 0, frame.type_id, msg))
            return True
        return False

    def _wait_for_hub(self, out: list[Event]) -> bool:
        """A request whose InvokeID is outstanding, read while ``out`` still holds requests the hub
        has not handled (received or refused earlier in the same chunk): whether it reuses an
        outstanding InvokeID depends on how the hub answers those, so the frame is read again once
        it has (:meth:`resume`) — a request is outstanding from its arrival until the server has
        produced its confirmation, and the server takes one request at a time, whatever the TCP
        chunking. True when the frame waits; it is counted when it is read again (a frame read
        earlier in the same call came at the same ``now``: it left no cadence gap to undo)."""
        for ev in out:
            kind = type(ev)
            if kind is Received or kind is Rejected:
                break
        else:
            return False
        self.messages_in -= 1
        self._barrier = self._deferred = True
        return True

    def _unsupported_version(self, frame: Frame, dialect: Dialect, out: list[Event], now: float) -> bool:
        """An OPEN_REQ whose VersionNumber (fixed part, bytes 4-7) the profile does not support and
        whose floating part does not decode with the nearest version's widths (an ICM v19 OPEN_REQ
        has 1-byte tags, UCCX v18 2-byte ones): refused E_CTI_INVALID_VERSION (§7.1), not as a
        malformed body. True when ``out`` got the refusal; a version that decodes is checked by
        :meth:`_check_open` as usual."""
        body = frame.body
        if len(body) < 8:
            return False
        version = _UINT.unpack_from(body, 4)[0]
        prof = dialect.profile
        if prof.supports(version):
            return False
        try:
            decode(frame, dialect)
            return False
        except DecodeError:
            pass
        out.append(Violation("PROTO-VERSION", f"VersionNumber {version}; supported "
                                              f"{prof.min_version}..{prof.max_version}"))
        self.refused_at = now
        out.append(Rejected(S.E_CTI_INVALID_VERSION, f"protocol version {version} is not supported",
                            invoke_id_of(body) or 0, frame.type_id))
        return True

    def _decoded(self, frame: Frame, dialect: Dialect, mt: MT, out: list[Event],
                 msg: Message | None = None) -> Message | None:
        """``msg`` (or the frame decoded now) when it may be taken; None when ``out`` got its
        refusal: a body decode() refuses, or floating tags the profile does not define."""
        if msg is None:
            try:
                msg = decode(frame, dialect)
            except DecodeError as exc:
                rule = {S.E_CTI_INVALID_FIELD_LENGTH: "PROTO-FIELD-LENGTH",
                        S.E_CTI_REQUIRED_DATA_MISSING: "PROTO-REQUIRED-FIELD"}.get(exc.status, "PROTO-MALFORMED")
                out.append(Violation(rule, str(exc) + (self._width_hint(frame) if mt is _OPEN_REQ else "")))
                out.append(Rejected(exc.status, exc.reason,
                                    exc.invoke_id if exc.invoke_id is not None else invoke_id_of(frame.body) or 0,
                                    frame.type_id))
                return None
        if msg.extra_fields and self.config.reject_unknown_tags:
            version = msg.version_number if mt is _OPEN_REQ else dialect.version  # type: ignore[attr-defined]
            repeated = _repeated_fields(mt, dialect, version, msg.extra_fields)
            undefined = [t for t, _ in msg.extra_fields if t not in repeated]
            if undefined:
                tags = ", ".join(map(str, undefined))
                out.append(Violation("PROTO-UNKNOWN-TAG", f"{mt.name} carried undefined floating tag(s) {tags}", msg))
                text = f"invalid floating field tag(s) {tags}"
                status = _unknown_tag_status(dialect.profile, undefined[0])
            else:  # a tag the message defines, sent again: not an unknown tag (§2.2: each field at most once)
                names = ", ".join(f"{name} (tag {tag})" for tag, name in repeated.items())
                out.append(Violation("PROTO-MALFORMED", f"{mt.name} carried {names} more than once", msg))
                text = f"floating field {names} repeated"
                status = S.E_CTI_INVALID_FIELD
            out.append(Rejected(status, text, invoke_id_of(frame.body) or 0, frame.type_id, msg))
            return None
        return msg

    def _width_hint(self, frame: Frame) -> str:
        """For an OPEN_REQ that does not decode: whether it decodes with the other UCCX v18 length
        width (reference §2.3: unconfirmed, a server setting): then the client and the server disagree
        on that width, not on the bytes, and the journal says which setting fits."""
        other = 3 - self.config.v18_length_width
        d = self.dialect
        try:
            decode(frame, Dialect(profile=d.profile, version=d.version, v18_length_width=other, strict=d.strict,
                                  max_body=d.max_body))
        except DecodeError:
            return self._tag_width_hint(frame)
        return (f"; it decodes with the other version-18 floating length width, {other} byte(s) "
                f"(mockcti serve --v18-length-width {other})")

    def _tag_width_hint(self, frame: Frame) -> str:
        """For an OPEN_REQ that does not decode: whether its floating part decodes with the tag and length
        widths of other versions of the profile (reference §2.3: 1-byte tags and lengths up to UCCX 17 and
        UCCE 19, 2-byte ones in UCCX 18 and UCCE 20+): a client that says version 18 but writes the 1-byte
        fields of 17, or the reverse. Then the journal says which widths fit."""
        body = frame.body
        d = self.dialect
        prof = d.profile
        version = int.from_bytes(body[4:8], "big") if len(body) >= 8 else None
        if version is None or not prof.supports(version):
            return ""

        def dialect_of(v: int) -> Dialect:
            return Dialect(profile=prof, version=v, v18_length_width=self.config.v18_length_width,
                           strict=d.strict, max_body=d.max_body)

        mine = dialect_of(version)
        widths: tuple[int, int] | None = None
        fits: list[int] = []
        for v in range(prof.min_version, prof.max_version + 1):
            alt = dialect_of(v)
            w = (alt.tag_width, alt.length_width)
            if w == (mine.tag_width, mine.length_width) or (widths is not None and w != widths):
                continue
            if widths is None:
                try:
                    decode(Frame(frame.type_id, body[:4] + v.to_bytes(4, "big") + body[8:], frame.offset), alt)
                except DecodeError:
                    continue
                widths = w
            fits.append(v)
        if widths is None:
            return ""
        span = f"{fits[0]}..{fits[-1]}" if len(fits) > 1 else str(fits[0])
        return (f"; it decodes with {widths[0]}-byte tags and {widths[1]}-byte lengths, those of protocol "
                f"version {span}: version {version} has {mine.tag_width}-byte tags and {mine.length_width}-byte "
                f"lengths (§2.3)")

    def _refused_now(self, frame: Frame, mt: MT | None, state: SessionState, out: list[Event]) -> bool:
        """The transition table for what is not a request of an open session: an unknown or
        server-side message, anything before OPEN_REQ, OPEN_REQ twice. True when ``out`` got the refusal."""
        invoke = invoke_id_of(frame.body) or 0
        if mt is None or mt not in SPECS:
            out.append(Violation("PROTO-UNKNOWN-MESSAGE", f"message type {frame.type_id}"))
            prof, version = self.dialect.profile, self.dialect.version
            since = prof.type_since(frame.type_id) if state is _OPEN else None
            if since is not None and version < since:  # ICM: E_CTI_INVALID_MSG_TYPE_FOR_VERSION (48), reserved in UCCX
                out.append(Rejected(prof.status("type_for_version"), f"message type {frame.type_id} is defined from "
                                    f"protocol version {since}; this session opened version {version}",
                                    invoke, frame.type_id))
                return True
            out.append(Rejected(S.E_CTI_INVALID_MESSAGE_TYPE, f"message type {frame.type_id} is not supported",
                                invoke, frame.type_id))
            return True
        if mt not in _CLIENT_REQUESTS:
            out.append(Violation("PROTO-WRONG-DIRECTION", f"{mt.name} is sent by servers, not clients"))
            out.append(Rejected(S.E_CTI_INVALID_MESSAGE_TYPE, f"{mt.name} is not a client request", invoke,
                                frame.type_id))
            return True
        if state is _AWAITING_OPEN and mt is not _OPEN_REQ:
            msg = self._as_received(frame)
            out.append(Violation("PROTO-OPEN-FIRST", f"{mt.name} before OPEN_REQ", msg))
            out.append(Rejected(S.E_CTI_SESSION_NOT_OPEN, "no session is open on this connection", invoke,
                                frame.type_id, msg))
            return True
        if state in (_OPEN, _OPENING) and mt is _OPEN_REQ:
            msg = self._as_received(frame)
            out.append(Violation("PROTO-OPEN-TWICE", "second OPEN_REQ on one connection", msg))
            out.append(Rejected(S.E_CTI_SESSION_ALREADY_OPEN, "a session is already open on this connection",
                                invoke, frame.type_id, msg))
            return True
        if state is _OPENING:
            msg = self._as_received(frame)
            out.append(Violation("PROTO-OPEN-FIRST", f"{mt.name} before OPEN_CONF", msg))
            out.append(Rejected(S.E_CTI_SESSION_NOT_OPEN, "the session is not open yet", invoke, frame.type_id, msg))
            return True
        return False

    def _as_received(self, frame: Frame) -> Message | None:
        """A well-formed request refused for its moment (before OPEN_REQ, OPEN_REQ twice) is still a
        message the client sent: decoded, it is journalled as received (None when it does not decode)."""
        try:
            return decode(frame, self.dialect)
        except DecodeError:
            return None

    def _check_open(self, msg: OpenReq, now: float) -> list[Event]:
        out: list[Event] = []
        prof = self.dialect.profile
        if self.refused_at is not None and now - self.refused_at < RETRY_WAIT:
            out.append(Violation("PROTO-RETRY-TOO-SOON", "OPEN_REQ again on a connection whose OPEN_REQ was refused",
                                 msg))
        elif self.refusals is not None:
            last = self.refusals.last(msg, now)
            if last is not None:
                when, status, sid = last
                out.append(Violation("PROTO-RETRY-TOO-SOON", f"OPEN_REQ {now - when:.2f} s after this client's "
                                     f"OPEN_REQ was refused {_status_name(status)} (session {sid}); wait at least "
                                     f"{RETRY_WAIT:g} s", msg))
        reject = None
        svc = msg.services_requested
        agent_mode = bool(svc & ServiceMask.CTI_SERVICE_CLIENT_EVENTS)
        bridge_mode = bool(svc & ServiceMask.CTI_SERVICE_ALL_EVENTS)
        agent_fields = [n for n in ("agent_extension", "agent_instrument") if getattr(msg, n)]
        if requested_agent_id(msg, prof):
            agent_fields.insert(1, "agent_id" if msg.agent_id else "agent_id (ICM's, tag 5)")
        if not prof.supports(msg.version_number):
            out.append(Violation("PROTO-VERSION", f"VersionNumber {msg.version_number}; supported "
                                                  f"{prof.min_version}..{prof.max_version}", msg))
            reject = (S.E_CTI_INVALID_VERSION, f"protocol version {msg.version_number} is not supported")
        elif msg.idle_timeout != 0xFFFFFFFF and (msg.idle_timeout < self.config.min_idle_timeout
                                                  or (self.config.strict and msg.idle_timeout >= 120)):
            out.append(Violation("PROTO-IDLE-TIMEOUT-VALUE", f"IdleTimeout {msg.idle_timeout}", msg))
            reject = (S.E_CTI_INVALID_TIMEOUT, "Invalid timeout")
        elif agent_mode and bridge_mode:
            out.append(Violation("PROTO-SERVICE-MASK", f"ServicesRequested 0x{svc:08X} asks for both modes", msg))
            # ICM answers E_CTI_INVALID_SERVICE_MASK (19), reserved in UCCX: the reference recommends 17 (U) there
            reject = (prof.status("service_mask"), "CLIENT_EVENTS and ALL_EVENTS are mutually exclusive")
        elif prof.icm and msg.agent_state_mask & ~ICM_AGENT_STATE_MASK_BITS:
            # unused bits must be zero: ICM refuses them (§3.3); UCCX lists 21 as reserved, and its guide's own
            # example (0x3FFF) sets bits it does not define, so under uccx unknown bits are ignored (U)
            extra = msg.agent_state_mask & ~ICM_AGENT_STATE_MASK_BITS
            out.append(Violation("PROTO-AGENT-STATE-MASK", f"AgentStateMask 0x{msg.agent_state_mask:08X} sets "
                                 f"0x{extra:08X}, bits ICM does not define", msg))
            reject = (prof.status("agent_state_mask"),
                      f"AgentStateMask bits 0x{extra:08X} are not defined (defined: 0x{ICM_AGENT_STATE_MASK_BITS:08X})")
        elif bridge_mode and agent_fields and not prof.icm:
            # UCCX: "must not carry agent-mode fields" (§3.3). ICM marks them "(Client Events service only)" and
            # ignores them in an ALL_EVENTS session (the ICM-shaped uccertweb OPEN_REQ vector, ALL_EVENTS with
            # AgentExtension, AgentID and AgentInstrument, §8): under ucce the session opens as a bridge
            out.append(Violation("PROTO-AGENT-FIELDS-IN-BRIDGE", ", ".join(agent_fields), msg))
            reject = (S.E_CTI_INCONSISTENT_AGENT_DATA, "agent fields are not allowed in bridge mode")
        elif agent_mode and not agent_fields:
            # ICM's AgentID (tag 5) is reserved in UCCX, whose AgentID is tag 194: say so to an ICM-written client
            legacy = " (tag 5, ICM's AgentID, is reserved in UCCX: AgentID is tag 194)" if msg.legacy_agent_id else ""
            out.append(Violation("PROTO-AGENT-IDENTITY", f"no AgentExtension, AgentID or AgentInstrument{legacy}", msg))
            reject = (S.E_CTI_REQUIRED_DATA_MISSING, f"agent mode needs the agent's identity{legacy}")
        if reject is not None:
            self.refused_at = now
            if self.refusals is not None:
                self.refusals.refused(msg, reject[0], self.session_id, now)
            out.append(Rejected(reject[0], reject[1], msg.invoke_id, int(MT.OPEN_REQ), msg))
            return out
        self.state = _OPENING
        self.open_req = msg
        self._barrier = True
        out.append(Received(msg))
        return out

    def _check_request(self, msg: Message, out: list[Event], tracked: bool, need: int,
                       call_fields: tuple[str, ...]) -> list[Event]:
        """The conduct checks of a request of an open session (``tracked``, ``need``, ``call_fields``:
        its class's :func:`_request_plan`)."""
        mt = msg.TYPE
        if tracked:
            inv = msg.invoke_id
            if inv in self._outstanding:
                if self._wait_for_hub(out):
                    return out
                out.append(Violation("PROTO-INVOKEID-REUSED",
                                     f"InvokeID {inv} of {mt.name}; {self._outstanding[inv].name} is unanswered", msg))
            self._outstanding[inv] = mt  # type: ignore[index]  # (tracked: it has an InvokeID)
        if need and not self.services & need:
            out.append(Violation("PROTO-SERVICE-NOT-GRANTED", f"{mt.name} needs {services_text(need)}", msg))
        for name in call_fields:
            cid = getattr(msg, name)
            if (cid is not None and cid != _NULL_CALL_ID and cid not in self._known_calls
                    and cid not in self._ended_calls):
                out.append(Violation("PROTO-UNKNOWN-CALL", f"{mt.name}.{name} = {cid}", msg))
                break
        if mt is _CLOSE_REQ:
            self.close_requested = True
            self._barrier = True
        out.append(Received(msg))
        return out

    # -- decisions taken by the hub -------------------------------------------------------

    def opened(self, services_granted: int, now: float | None = None) -> None:
        """The hub accepted the OPEN_REQ (at ``now``; default: when the connection was made): switch to its
        version, arm the idle timer."""
        req = self.open_req
        assert req is not None, "opened() without a pending OPEN_REQ"
        self.state = _OPEN
        self.opened_at = self.connected_at if now is None else now
        self.dialect = self.dialect.with_version(req.version_number)
        self.services = int(services_granted)
        self.idle_timeout = None if req.idle_timeout == 0xFFFFFFFF else float(req.idle_timeout)
        self.cadence_limit = cadence_limit(self.idle_timeout) if self.idle_timeout else None

    def forget_request(self, invoke_id: int) -> None:
        """The server will not answer this request (a scenario fault withheld its confirmation): its
        InvokeID is no longer outstanding, so the client may use it again."""
        self._outstanding.pop(invoke_id, None)

    def open_refused(self, now: float, status: int = S.E_CTI_UNSPECIFIED_FAILURE) -> None:
        """The hub refused the OPEN_REQ (FAILURE_CONF ``status`` sent): back to waiting for one."""
        if self.refusals is not None and self.open_req is not None:
            self.refusals.refused(self.open_req, status, self.session_id, now)
        self.state = _AWAITING_OPEN
        self.open_req = None
        self.refused_at = now

    def pause_reading(self, owner: str = "fault", until: float | None = None) -> bool:
        """``owner`` has the server stop reading the connection (a transport fault): see :attr:`reading_paused`.
        ``until``: when the owner's pause ends (None: until it lifts it); a second pause of the same owner
        replaces the end of its first. True when reading was going on (the server is to stop it), False when
        another owner (or this one) already holds it stopped."""
        first = not self.reading_paused
        if owner not in self.reading_held_by:
            self.reading_held_by += (owner,)
        if self.reading_ends is None:
            self.reading_ends = {}
        self.reading_ends[owner] = until
        self.reading_paused = True
        return first

    def pause_end(self, owner: str) -> float | None:
        """When ``owner``'s pause of the reading ends (None: it has no end, or ``owner`` holds none)."""
        ends = self.reading_ends
        return ends.get(owner) if ends is not None and owner in self.reading_held_by else None

    def resume_reading(self, now: float, owner: str | None = "fault") -> bool:
        """``owner`` (None: every owner) lets go of its pause; once no owner holds one, the server reads the
        connection again (True: the server is to resume reading) and the client's silence is measured from
        ``now``. An owner holding no pause changes nothing (another's pause is not lifted)."""
        if not self.reading_paused:
            return False
        held = () if owner is None else tuple(o for o in self.reading_held_by if o != owner)
        self.reading_held_by = held
        ends = self.reading_ends
        if ends is not None:
            if owner is None:
                ends.clear()
            else:
                ends.pop(owner, None)
        if held:  # (another owner's pause, or this one's and another's)
            return False
        self.reading_paused = False
        if self.last_received is not None:
            self.last_received = now
        if self.state is _AWAITING_OPEN:
            self.connected_at = max(self.connected_at, now)
        return True

    def closing(self) -> None:
        """Nothing more will be read from the peer (CLOSE_CONF sent, or the server is closing)."""
        self.state = _CLOSING

    def failure_event_sent(self, message: Any, now: float) -> None:
        """A FAILURE_EVENT went out: it ends the session (§3.5), but E_CTI_AUTO_CONFIG_RESET (96), after which the
        client sends its CONFIG_REQUEST_KEY_EVENT and CONFIG_REQUEST_EVENT again on the same session (§6.1, §7.1)."""
        if getattr(message, "status", None) == _AUTO_CONFIG_RESET or self.ended_by_failure_event:
            return
        self.ended_by_failure_event = True
        self.failure_event_at = now

    def closed(self, *, peer_initiated: bool, unread: bool = False) -> list[Event]:
        """The connection is gone. A peer that left with a session open and no CLOSE_REQ broke a rule;
        not one whose last bytes the server never read (``unread``: a pause_reading fault held reading
        when it left): its CLOSE_REQ, or the rest of a frame, may be in them."""
        out: list[Event] = []
        if unread:
            self.state = _CLOSED
            return out
        if peer_initiated and self.state in (_AWAITING_OPEN, _OPENING, _OPEN) and not self._frames.at_frame_boundary():
            out.append(Violation("PROTO-MALFORMED", f"the connection ended mid-frame: {self._cut_frame()}"))
        if peer_initiated and self.state is _OPEN and not self.close_requested \
                and not self.ended_by_failure_event and not self.heartbeat_unanswered:
            out.append(Violation("PROTO-NO-CLOSE", "disconnected without CLOSE_REQ"))
        self.state = _CLOSED
        return out

    def _cut_frame(self) -> str:
        """What of a frame had arrived when the peer ended the connection in the middle of it (a client
        that closes mid-write, or whose BodyLength announces more bytes than it sends: the server waits
        for the rest, the client for an answer, until it gives up)."""
        fb = self._frames
        header = fb.pending_header()
        if header is None:
            return f"{fb.buffered} of the 8 header bytes of a frame arrived, the rest never did"
        length, type_id = header
        mt = self.dialect.profile.message_type(type_id)
        name = mt.name if mt is not None else f"message type {type_id}"
        return (f"{fb.buffered - 8} of the {length} body bytes its header announced (BodyLength {length}) "
                f"of a {name} frame arrived, the rest never did")

    def check_timers(self, now: float) -> list[Event]:
        """Idle supervision (reference §3.4): silent past IdleTimeout -> reset, no message. Not while
        the server does not read the connection (:attr:`reading_paused`)."""
        if self.reading_paused:
            return []
        if self.state is _OPEN and self.idle_timeout is not None and self.last_received is not None:
            if now - self.last_received > self.idle_timeout:
                self.state = _CLOSED
                # bytes of a frame that never completed are no message (§3.4: "no messages received")
                cut = "" if self._frames.at_frame_boundary() else f"; a frame was left incomplete: {self._cut_frame()}"
                return [Violation("PROTO-IDLE-EXPIRED", f"silent for {now - self.last_received:.1f} s "
                                                        f"(IdleTimeout {self.idle_timeout:g} s){cut}"),
                        ConnectionFailed("idle timeout")]
        if self.state is _AWAITING_OPEN and self.config.open_timeout is not None:
            since = self.last_received if self.last_received is not None else self.connected_at
            if now - since > self.config.open_timeout:
                self.state = _CLOSED
                return [ConnectionFailed("no OPEN_REQ")]
        return []

    def next_deadline(self) -> float | None:
        if self.reading_paused:
            return None
        if self.state is _OPEN and self.idle_timeout is not None and self.last_received is not None:
            return self.last_received + self.idle_timeout
        if self.state is _AWAITING_OPEN and self.config.open_timeout is not None:
            return (self.last_received if self.last_received is not None else self.connected_at) + self.config.open_timeout
        return None

    # -- output ---------------------------------------------------------------------------

    def encode(self, message: Message) -> bytes:
        """Encode for this connection's version; track confirmations and revealed call IDs."""
        cls = type(message)
        if self.state is _OPEN:
            return (SENDERS.get(cls) or open_sender(cls))(self, message)
        conf, revealing, lists = _SEND_PLAN.get(cls) or _send_plan(cls)
        if conf:  # a confirmation: its request is answered
            self._outstanding.pop(message.invoke_id, None)  # type: ignore[arg-type]  # (a confirmation: it has an InvokeID)
        if cls.TYPE is MT.END_CALL_EVENT:
            self._call_ended(message.call_id)  # type: ignore[attr-defined]  # (an END_CALL_EVENT)
        else:
            self._learn_revealed(message, revealing, lists)
        prof, v = self.dialect.profile, self._reply_version
        if v is not None and prof.min_version <= v <= prof.max_version:
            return encode(message, self.dialect.with_version(v))
        if isinstance(message, FailureConf) and message.text is not None:
            message = dataclasses.replace(message, text=None)
        return encode(message, self.dialect)

    def _learn_revealed(self, message: Message, revealing: tuple[str, ...], lists: tuple[str, ...]) -> None:
        """The call IDs a message we send tells the client about."""
        know = self._know
        for name in revealing:
            cid = getattr(message, name)
            if cid is not None:
                know(cid)
        for name in lists:
            for item in getattr(message, name) or ():
                for cid_name in ("connected_party_call_id", "call_connection_call_id"):
                    cid = getattr(item, cid_name, None)
                    if cid is not None:
                        know(cid)

    def _know(self, cid: int) -> None:
        """``cid`` is named to the client: known, as the most recently named (see KNOWN_CALLS_KEPT)."""
        _touch(self._known_calls, cid, KNOWN_CALLS_KEPT)

    def _call_ended(self, cid: int | None) -> None:
        """END_CALL_EVENT for ``cid`` goes to the client: from known to recently ended (bounded)."""
        if cid is None:
            return
        self._known_calls.pop(cid, None)
        _touch(self._ended_calls, cid, ENDED_CALLS_KEPT)

    def learn_calls(self, call_ids: Iterable[int]) -> None:
        """Call IDs the client may legitimately know without an event (e.g. set up by a scenario)."""
        for cid in call_ids:
            self._know(cid)

    @property
    def outstanding(self) -> dict[int, MT]:
        return dict(self._outstanding)

    @property
    def agent_mode(self) -> bool:
        return bool(self.open_req and self.open_req.services_requested & ServiceMask.CTI_SERVICE_CLIENT_EVENTS)
