"""The pure core of the mock: sessions, the contact center, the scenario engine and the journal.

Owns the routing of one request end to end (ARCHITECTURE "One request, end to end", steps
3–6): a session turns bytes into events; the scenario engine, when one is loaded, sees each
legal request first and may reply, fail, emit, delay, inject a fault or close; otherwise the
default handling answers the session-level messages (OPEN, HEARTBEAT, CLOSE) and hands every
other request to the contact center, whose deliveries are encoded per target session.

The hub returns :class:`Action` objects for the server to carry out (write bytes, close,
abort, transport faults). It keeps a timer queue for delayed actions and asks sessions and
the center what is due in :meth:`Hub.tick`. It never sleeps, reads a clock or touches a socket:
``now`` comes in with every call.

Must not import asyncio or :mod:`mockcti.server`.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import math
import random
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from mockcti.center import Call, ContactCenter, Delivery, Failure, Subscription
from mockcti.center.core import NOT_JOURNALLED
from mockcti.journal import Journal
from mockcti.session import (
    CONFIRMATION_OF, SENDERS, ConnectionFailed, HeartbeatsAnswered, OpenRefusals, RULES, Received, Rejected, Session,
    SessionConfig, SessionState, Violation, open_sender, requested_agent_id,
)
from mockcti.wire import SPECS, EncodeError, Message, MessageType, StatusCode
from mockcti.wire.enums import (
    AgentState, CCXErrorCode, CCXStatus, ControlFailureCode, LocalConnectionState, PGStatus, ServiceMask, SystemEventID,
    config_masks_of_version, named_code, services_of_version,
)
from mockcti.wire.dialect import Profile
from mockcti.wire.records import fast_frozen_init
from mockcti.wire.render import value_name_of
from mockcti.wire.types import fit_string
from mockcti.wire.messages import (
    CloseConf, FailureConf, FailureEvent, HeartbeatConf, OpenConf, OpenReq,
)

__all__ = [
    "Hub", "HubConfig", "Action", "Write", "Close", "WriteChunked", "HalfClose", "PauseReading", "ResumeReading",
    "Engine", "load_label",
]

MT = MessageType
S = StatusCode
# enum members read on every message, as globals: reading one off its class costs ~120 ns on Python 3.11
_OPEN, _OPENING = SessionState.OPEN, SessionState.OPENING
_OPEN_REQ, _HEARTBEAT_REQ, _CLOSE_REQ = MT.OPEN_REQ, MT.HEARTBEAT_REQ, MT.CLOSE_REQ
_FAILURE_EVENT = MT.FAILURE_EVENT
#: what answers a request (reference §4): one of these that cannot be encoded is replaced by a FAILURE_CONF
_CONFIRMATION_TYPES = frozenset(CONFIRMATION_OF.values()) | {MT.FAILURE_CONF, MT.CONTROL_FAILURE_CONF}
_FAILURE_TEXT_MAX = SPECS[MT.FAILURE_CONF].fields_by_tag[7].max_len  # Text: 255 bytes with the NUL
_ALERTING = LocalConnectionState.LCS_ALERTING
#: seconds a generated inbound caller (:meth:`Hub.start_inbound_calls`, ``serve --calls-per-minute``)
#: waits for an agent to answer before hanging up
DEFAULT_ABANDON_AFTER = 120.0
#: how generated callers' patience is spread (``serve --patience``, ``--load``'s ``patience=``): see
#: :func:`caller_patience`
PATIENCE = ("fixed", "exponential")
#: the golden ratio's fractional part: n * _GOLDEN mod 1 spreads evenly over (0, 1) (see caller_patience)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
#: the scenarios taken out whose outcomes the report keeps one by one (:attr:`HubConfig.keep_scenarios`)
DEFAULT_KEEP_SCENARIOS = 1000
#: the scenario name of the one outcome standing for the outcomes of older scenarios no longer kept
OLDER_SCENARIOS = "(older scenarios)"
#: the names of failed scenarios that outcome lists (then "and N more")
_FAILED_NAMES_SHOWN = 10
#: most arrivals a generator anchored at its start places in one run of the timers when it catches up
#: (:class:`CatchUp`: ``serve --calls-per-minute``, ``serve --load``)
CATCH_UP_SLICE = 50


def caller_patience(n: int, mean: float, patience: str) -> float:
    """How long the caller of a generator's ``n``-th call (1, 2, ...) waits for an agent before it hangs up:
    ``mean`` with ``patience="fixed"``; with ``"exponential"`` the quantile of an exponential distribution of
    that mean (the usual model of callers' patience, Erlang A) at the ``n``-th point of the golden-ratio
    sequence, which fills (0, 1) evenly from the first calls on: no random numbers, so every run gives the same
    callers, and the waits of any run of calls average ``mean``. Every caller waiting exactly ``mean`` makes a
    center above capacity answer nothing: the call an agent frees up for is the one that has waited longest,
    nearly ``mean``, and its caller hangs up while it rings (5 agents, 5 calls/s of 3 s, 10 s: no call answered
    after the first 10 s); impatient callers leave the queue early, as in a real center, and the ones behind
    them reach an agent in time. Shared by ``serve --load`` and ``serve --calls-per-minute``."""
    if patience == "fixed":
        return mean
    if patience != "exponential":
        raise ValueError(f"patience must be one of {', '.join(PATIENCE)}, not {patience!r}")
    u = (n * _GOLDEN) % 1.0
    return -mean * math.log1p(-min(u, 1.0 - 1e-12))


def _reply_after(ev: Violation, events: list[Any]) -> tuple[int, "Rejected | Received | None"]:
    """What answers the frame violation ``ev`` (in ``events``) is about, and ``ev``'s index: the
    :class:`Rejected` right after it (the session refused the frame, the hub answers it FAILURE_CONF), or, for
    a violation about a decoded request, the Rejected or :class:`Received` of that same request after the
    other violations about it (an OPEN_REQ retried too soon and refused for its IdleTimeout; a Received: the
    center or a scenario answers it); else None."""
    i = next((i for i, e in enumerate(events) if e is ev), len(events))
    for j in range(i + 1, len(events)):
        nxt = events[j]
        kind = type(nxt)
        if kind is Rejected and (j == i + 1 or (ev.message is not None and nxt.message is ev.message)):
            return i, nxt
        if kind is Received and ev.message is not None and nxt.message is ev.message:
            return i, nxt
        if kind is not Violation:
            break
    return i, None


def answer_text(answer: Message, icm: bool = False) -> str:
    """How a violation's ``answer`` names a refusal the client got, as it went out on the wire to a session of
    the profile (``icm``: ucce): ``FAILURE_CONF E_CTI_INVALID_CALLID (13)``, ``CONTROL_FAILURE_CONF CF_… (…),
    CCXErrorCode CCX_… (…)`` — a Cisco CTIERR code (``acd_failure_mode = "ctierr"``) by its catalog name,
    ``CTIERR_HOLDFAILED (0x8CCC000F)``. Under ucce that UINT is ICM's PeripheralErrorCode, which a UCCX code
    never reaches (0, :meth:`mockcti.center.Failure.message`): ``PeripheralErrorCode 0``."""
    if answer.TYPE is MessageType.FAILURE_CONF:
        return f"FAILURE_CONF {named_code(StatusCode, getattr(answer, 'status', 0))}"
    code = int(getattr(answer, "ccx_error_code", 0) or 0)
    name = value_name_of(MessageType.CONTROL_FAILURE_CONF, "ccx_error_code", code, icm=icm)
    if icm:
        error = f"PeripheralErrorCode {name} (0x{code:08X})" if name else \
            f"PeripheralErrorCode {code}" + (f" (0x{code:08X})" if code else "")
    elif name is not None and name.startswith("CTIERR_"):
        error = f"CCXErrorCode {name} (0x{code:08X})"
    else:
        error = f"CCXErrorCode {named_code(CCXErrorCode, code)}"
    return f"CONTROL_FAILURE_CONF {named_code(ControlFailureCode, getattr(answer, 'failure_code', 0))}, {error}"


def withheld_text(answer: str) -> str:
    """A violation's ``answer`` when a scenario's silent_accept fault withheld that refusal: nothing went out."""
    return f"nothing (the scenario's silent_accept fault withheld {answer}: nothing was sent)"


#: an event of a chunk already handled out of turn (:meth:`Hub._answer_then_record`): nothing to do in its turn
_HANDLED = object()


class CatchUp:
    """When to run the next arrival of a generator anchored at its start (arrival k is due at a time
    fixed from the start, whenever the timers actually run: no drift): at its due time, but once a
    run of the timers that came late has placed ``slice`` arrivals, the next is a timer of its own
    just after it, so that the server reads its sockets and signals in between; the ones after it
    keep their anchored due times, and the generator catches up in slices. (Scheduled from the time
    a timer ran, arrivals drifted: 60 calls a minute on 1-second timer steps came out at ~40; and
    caught up all at once, a loop late by a second at 1,000 calls/s placed a thousand calls in one
    go and fell further behind.)"""

    __slots__ = ("slice", "_at", "_n")

    def __init__(self, slice: int = CATCH_UP_SLICE) -> None:
        self.slice = slice
        self._at, self._n = float("nan"), 0  # the timer run (its time) and the arrivals placed in it

    def timer_at(self, due: float, now: float) -> float:
        """The time to schedule the next arrival, due at ``due``, from an arrival placed at ``now``."""
        if now != self._at:
            self._at, self._n = now, 0
        self._n += 1
        if due <= now and self._n >= self.slice:
            return now + 1e-6
        return due


class InboundCalls:
    """Inbound calls arriving at a rate (:meth:`Hub.start_inbound_calls`, ``serve --calls-per-minute``), and
    what became of them: :meth:`summary` counts the calls offered (placed), answered (an agent's phone
    answered them: ``Call.answered``), active (in progress: queued, ringing or talking), queued (of those,
    waiting in a CSQ for an agent), cleared (over, abandoned ones included), abandoned (the caller hung up
    unanswered after its patience) and lost (in progress when the control API or a scenario replaced the
    center: gone with it); offered = cleared + active + lost. The counts are brought up to date when read
    (:meth:`summary`): the calls in progress are looked at then, not at every event of the center."""

    def __init__(self, hub: Hub, now: float, per_minute: float, *, seed: int, csqs: Iterable[str] | None,
                 abandon_after: float | None, patience: str) -> None:
        self.hub = hub
        self.per_minute = per_minute
        self.abandon_after = abandon_after
        self.patience = patience
        self.started_at = now
        self.running = per_minute > 0
        self.offered = self.answered = self.cleared = self.abandoned = self.lost = 0
        self._rng = random.Random(seed)
        self._wanted = list(csqs) if csqs is not None else None
        #: the calls placed and not seen over, in the center :attr:`_center` (CallID -> the call); answered ones
        #: counted already are in :attr:`_counted`
        self._live: dict[int, Call] = {}
        self._counted: set[int] = set()
        self._center: ContactCenter = hub.center
        # the CSQs calls go to, of the center now in place: the control API (POST /reset, POST /scenario)
        # or a scenario may put in another one, with other CSQs (a name it lacks raised KeyError in the
        # timer, and arrivals stopped for good)
        self._names: list[str] = []
        self._of: ContactCenter | None = None
        self._due = now
        self._pace = CatchUp()
        self._placed = 0  # calls placed so far: the n-th caller's patience is caller_patience(n, ...)

    def start(self) -> None:
        # anchored at the start: each arrival is due an exponential gap after the one before was due,
        # not after the timer run that placed it (CatchUp)
        self._due += self._rng.expovariate(self.per_minute / 60.0)
        self.hub.schedule(self._due, self._arrive)

    def stop(self) -> None:
        """No call arrives from now on (serve is told to stop); the callers waiting still abandon."""
        self.running = False

    def _arrive(self) -> None:
        if not self.running:
            return
        hub, rng = self.hub, self._rng
        center = hub.center
        self._follow(center)
        if center is not self._of:
            known = [c.name for c in center.config.csqs]
            self._names = known if self._wanted is None else [n for n in self._wanted if n in known]
            if not self._names:
                hub.journal.record("happening", hub.now, None, what="inbound calls: the contact center has "
                                   "no CSQ to call; no call is placed while it has none", csqs=self._wanted)
            self._of = center
        names = self._names
        if names:  # (the draws in their first order: a seed places the calls it always placed)
            csq = rng.choice(names)
            ani = f"0{rng.randrange(10 ** 8, 10 ** 9)}"
        self._due += rng.expovariate(self.per_minute / 60.0)
        hub.schedule(self._pace.timer_at(self._due, hub.now), self._arrive)
        if not names:
            return
        call_id, deliveries = center.deliver_call(hub.now, csq=csq, ani=ani)
        hub.journal.record("happening", hub.now, None, what="inbound call", call_id=call_id, csq=csq, ani=ani)
        hub._deliver(deliveries, hub.now)
        self._placed += 1
        self.offered += 1
        call = center.calls.get(call_id)
        if call is None:  # (over at once: nothing to follow)
            self.cleared += 1
            return
        self._live[call_id] = call
        if self.abandon_after is not None:
            wait = caller_patience(self._placed, self.abandon_after, self.patience)
            hub.schedule(hub.now + wait, lambda: self._abandon(center, call, wait))

    def _abandon(self, center: ContactCenter, call: Call, wait: float) -> None:
        hub = self.hub
        if hub.center is not center or center.calls.get(call.id) is not call or call.ani not in call.legs:
            return  # over, or the center was replaced (its calls went with it)
        if any(leg.agent is not None and leg.state is not _ALERTING for leg in call.legs.values()):
            return  # answered
        hub._deliver(center.hang_up(hub.now, call.id), hub.now)
        self.abandoned += 1
        hub.journal.record("happening", hub.now, None, what="inbound caller abandoned", call_id=call.id,
                           waited=round(wait, 3))

    def _follow(self, center: ContactCenter) -> None:
        """The calls followed belong to the center in place; when another one replaced it, those still in
        progress in the old one are lost (gone with it), the others were over."""
        if center is self._center:
            return
        old = self._center
        for call_id, call in self._live.items():
            if call.answered and call_id not in self._counted:
                self.answered += 1
            if old.calls.get(call_id) is call:
                self.lost += 1
            else:
                self.cleared += 1
        self._live.clear()
        self._counted.clear()
        self._center = center

    def summary(self) -> dict[str, int]:
        """The counts, brought up to date: offered, answered, active, queued, cleared, abandoned, lost."""
        self._follow(self.hub.center)
        calls, live, counted = self._center.calls, self._live, self._counted
        over, queued = [], 0
        # (~0.5 µs a call, read once a second: 120,000 callers waiting — 1,000 a second, 2 minutes' patience — ~55 ms)
        for call_id, call in live.items():
            if call.answered and call_id not in counted:
                counted.add(call_id)
                self.answered += 1
            if calls.get(call_id) is not call:
                over.append(call_id)
            elif call.queued:  # (in its CSQ's queue: the center keeps the flag as it queues and routes it)
                queued += 1
        for call_id in over:
            del live[call_id]
            counted.discard(call_id)
        self.cleared += len(over)
        return {"offered": self.offered, "answered": self.answered, "active": len(live), "queued": queued,
                "cleared": self.cleared, "abandoned": self.abandoned, "lost": self.lost}


# -- actions for the server ---------------------------------------------------------------------


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Write:
    """Write bytes to a connection (the server joins what one loop turn writes to a connection)."""

    session_id: int
    data: bytes


@dataclass(frozen=True)
class WriteChunked:
    """Write bytes in chunks of ``chunk`` bytes, ``interval`` seconds apart (a dribble fault)."""

    session_id: int
    data: bytes
    chunk: int
    interval: float


@dataclass(frozen=True)
class Close:
    """End a connection: after flushing (``abort=False``) or at once with a reset (``abort=True``)."""

    session_id: int
    reason: str
    abort: bool = False


@dataclass(frozen=True)
class HalfClose:
    """Shut down our writing side and keep reading (a transport fault)."""

    session_id: int


@dataclass(frozen=True)
class PauseReading:
    """Stop reading from the connection (a transport fault: the client's writes back up). ``owner`` holds the
    pause (the control API, a scenario): reading resumes when no owner holds it (:meth:`Hub.act`)."""

    session_id: int
    owner: str = field(default="fault", compare=False)
    #: when the pause ends (the hub's clock; None: when its owner lifts it), as ``GET /faults`` shows it: the
    #: owner's timer then sends a ResumeReading with the same ``timer``
    until: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ResumeReading:
    """``owner`` lets go of its pause of the connection; the server reads it again once no owner holds one.
    ``timer``: the end of the pause it was scheduled for (a timed pause's end); it lifts only that pause,
    not one the owner began since (a stop_reading replaced by another, or lifted and begun again)."""

    session_id: int
    owner: str = field(default="fault", compare=False)
    timer: float | None = field(default=None, compare=False)


def _fault_name(action: Action) -> str:
    """The journal's name of a transport action (the fault kinds of scenarios and the control API)."""
    if isinstance(action, Close):
        return "reset" if action.abort else "close"
    return {HalfClose: "half_close", PauseReading: "pause_reading", ResumeReading: "resume_reading",
            WriteChunked: "dribble", Write: "delayed write"}.get(type(action), type(action).__name__)


Action = Write | WriteChunked | Close | HalfClose | PauseReading | ResumeReading


class Engine(Protocol):
    """What the hub asks of a scenario engine (``mockcti.scenario``). All methods are pure."""

    def attach(self, hub: "Hub", now: float) -> None: ...

    def on_connect(self, session_id: int, now: float) -> None: ...

    def on_request(self, session_id: int, message: Message, now: float) -> bool:
        """Handle a legal request; return True when the scenario answered it (no default handling)."""

    def on_disconnect(self, session_id: int, now: float, reason: str) -> None:
        """The connection is gone; ``reason``: "peer closed", "peer reset", "closed by server" or the
        reason the hub closed it for."""

    # optional: ``on_refused(session_id, message, now)`` sees a well-formed request the session refused
    # for its moment (before OPEN_REQ, OPEN_REQ twice): already answered, it only counts as received
    # optional: ``sees_heartbeats = False`` lets the hub answer plain HEARTBEAT_REQs without the engine
    # optional: ``on_send(session_id, message, data, now) -> list[Action] | None`` sees every
    # encoded outgoing message; a list replaces the plain write (transport/framing/protocol faults)

    def tick(self, now: float) -> None: ...

    def next_deadline(self) -> float | None: ...


@dataclass(frozen=True)
class HubConfig:
    session: SessionConfig = field(default_factory=SessionConfig)
    # services a session may be granted (reference §6.5: the UCCX bits); requested bits outside are dropped
    grantable_services: int = (
        ServiceMask.CTI_SERVICE_CLIENT_EVENTS | ServiceMask.CTI_SERVICE_CALL_DATA_UPDATE
        | ServiceMask.CTI_SERVICE_CLIENT_CONTROL | ServiceMask.CTI_SERVICE_ALL_EVENTS
        | ServiceMask.CTI_SERVICE_SUPERVISOR | ServiceMask.CTI_AGENT_STATE_CONTROL_ONLY
        | ServiceMask.CTI_SERVICE_CONFIG_EVENTS)
    # how often idle timeouts are checked (IdleTimeout is at least 20 s, so 1 s is precise enough)
    session_check_interval: float = 1.0
    # each round of that check is spread over up to this many equal parts of the interval (one part per timer
    # wake-up), of at least session_check_part sessions each: checking 5,000 sessions at once stalled the
    # server's loop for 10-27 ms once a second on the 2-vCPU machine, and the heartbeats behind it set the scale
    # benchmark's p99 (bench/README.md); a few hundred sessions are checked at once, as before (~1 ms)
    session_check_slices: int = 20
    session_check_part: int = 250
    #: the scenarios taken out (replaced or unloaded) whose expectation outcomes the report keeps one by one:
    #: the latest ``keep_scenarios``; older ones are folded into one outcome that counts them and fails when
    #: one of them failed (:meth:`Hub.expectations`)
    keep_scenarios: int = DEFAULT_KEEP_SCENARIOS
    #: PROTO-RETRY-LOOP, a mock rule (no Cisco source): the same refused request sent this many times in a row,
    #: each within retry_loop_gap seconds of the refusal before it; 0 turns the rule off
    retry_loop_times: int = 3
    retry_loop_gap: float = 1.0


#: the answers that refuse a request (PROTO-RETRY-LOOP counts a request the center answers with one of them)
_REFUSALS = (MessageType.FAILURE_CONF, MessageType.CONTROL_FAILURE_CONF)


@dataclass
class _Conn:
    session: Session
    peer: str | None = None
    subscribed: bool = False
    #: the latest request the center refused, all but its InvokeID (PROTO-RETRY-LOOP), when, and how many
    #: times in a row it was sent and refused; None once a request was not refused
    refused: Message | None = None
    refused_at: float = 0.0
    refused_times: int = 0


class Hub:
    """All sessions of one mock server and the contact center they share."""

    def __init__(self, center: ContactCenter, *, config: HubConfig | None = None, journal: Journal | None = None,
                 engine: Engine | None = None) -> None:
        # a wrong type was taken, and every connection then reset by an internal error (a dict's .session)
        for name, value, cls in (("center", center, ContactCenter), ("config", config, HubConfig),
                                 ("journal", journal, Journal)):
            if value is not None and not isinstance(value, cls):
                raise TypeError(f"the hub's {name} is a {cls.__name__}, not {type(value).__name__} {value!r:.80}")
        self.center = center
        self.config = config or HubConfig()
        self.journal = journal if journal is not None else Journal()
        self.conns: dict[int, _Conn] = {}
        self._ids = itertools.count(1)
        #: (due, order, fn, owner): ``owner`` (a scenario engine) has its timers dropped when it is replaced
        self._timers: list[tuple[float, int, Callable[[], None], object]] = []
        self._timer_seq = itertools.count()
        #: seconds since 1970 UTC at the hub's time 0 (the server sets it: the hub reads no clock); 0
        #: leaves CCXTime in hub seconds, as a pure test wants
        self.epoch = 0.0
        self._actions: list[Action] = []
        self._standby_until: float | None = None  # failover: answer OPEN_REQ with E_CTI_SERVER_NOT_MASTER
        #: refused OPEN_REQs by client identity, across connections (PROTO-RETRY-TOO-SOON)
        self._refusals = OpenRefusals()
        self._next_session_check = 0.0
        self._check_round: list[int] = []  # the sessions the round of idle checks has still to see, last first
        self._check_round_started = -math.inf
        self._check_slice = 1  # how many sessions one part of the round checks
        self.standby = False
        self._engine: Engine | None = None
        #: the expectation outcomes of the engines taken out (:meth:`set_engine`), judged when each was
        #: taken out, in that order, one (scenario name, outcomes) per scenario: the latest
        #: ``config.keep_scenarios``; :attr:`retired_expectations` adds one for the older ones,
        #: :meth:`expectations` the one in place
        self._retired: collections.deque[tuple[str | None, list[Any]]] = collections.deque()
        self._older = _Older()  # the outcomes of the scenarios no longer kept, counted
        #: how often each scenario name was loaded since the last :meth:`forget_scenarios`: the second load
        #: of a name is reported as "NAME (2nd load)" (:attr:`engine_label`). Only names the report still
        #: names one by one (:attr:`_kept`) or in place: bounded by ``config.keep_scenarios`` + 1, however many
        #: names a server loads all day (:meth:`_forget_unreported`)
        self._loads: dict[str, int] = {}
        #: how many of the scenarios in :attr:`_retired` have each name
        self._kept: dict[str, int] = {}
        #: the name the report gives the engine in place (its scenario's, "NAME (2nd load)" from its second load)
        self.engine_label: str | None = None
        self._on_send: Callable[..., Any] | None = None
        self.now = 0.0
        if engine is not None:
            self.set_engine(engine, 0.0)

    # -- engine --------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @engine.setter
    def engine(self, engine: Engine | None) -> None:
        self._engine = engine
        # looked up once, not per message sent (most engines have no on_send: getattr would raise inside)
        self._on_send = getattr(engine, "on_send", None) if engine is not None else None

    def set_engine(self, engine: Engine | None, now: float) -> None:
        """Put ``engine`` in (None: no scenario). The timers the engine it replaces scheduled as their owner
        (a scenario's timeline, end and steps) are dropped: an unloaded scenario (control API DELETE /scenario,
        another POST /scenario, POST /reset) went on running from them — its timeline delivered calls, its
        steps ran, its end was journalled, into the center in place (a reset's fresh one too) — and each
        kept its engine in memory until they were due."""
        old = self._engine
        retiring = old is not None and old is not engine
        if retiring:
            self.cancel_timers(old)
            # its expectations are judged now, under its name, and kept for the report (a scenario replaced
            # by another POST /scenario, or unloaded, vanished from /report and `serve --report`)
            self._retire(_scenario_name(old), _verify(old, now, self.engine_label))
        self.engine = engine
        if engine is not old:
            if retiring:  # (with the new one in place: the same name loaded again at once counts on)
                self._forget_unreported(_scenario_name(old))
            self.engine_label = self._label(engine)
        detach = getattr(old, "detach", None) if retiring else None
        if callable(detach):  # once the new one is in: a pause the old one began with no end is lifted
            detach(now)
        if engine is not None:
            engine.attach(self, now)

    def _label(self, engine: Engine | None) -> str | None:
        """The name the report gives ``engine``'s outcomes: its scenario's name, with "(2nd load)" … from the
        second time that name is loaded since the last :meth:`forget_scenarios` (a harness loading the same
        scenario for two tests had both in one JUnit suite with the same test case names twice, which JUnit
        consumers merge or drop)."""
        name = _scenario_name(engine)
        if name is None:
            return None
        n = self._loads.get(name, 0) + 1
        # never a label the report still names one by one (a scenario whose own name is "A (2nd load)" loaded
        # between two of "A": the second "A" is "A (3rd load)"; both were "A (2nd load)", one JUnit suite)
        label, self._loads[name] = unused_load_label(name, n, {outcomes[0].scenario for _, outcomes in self._retired})
        return label

    def _retire(self, name: str | None, outcomes: list[Any]) -> None:
        """Keep the outcomes of scenario ``name`` for the report; past ``config.keep_scenarios`` scenarios, the
        oldest one's are folded into the count of older ones (a harness that never resets grew the list for
        good), and the load count of a name no longer named one by one is forgotten."""
        if not outcomes:
            return
        self._retired.append((name, outcomes))
        if name is not None:
            self._kept[name] = self._kept.get(name, 0) + 1
        keep = max(0, self.config.keep_scenarios)
        while len(self._retired) > keep:
            folded, older = self._retired.popleft()
            self._older.add(older)
            if folded is not None:
                left = self._kept[folded] - 1
                if left:
                    self._kept[folded] = left
                else:
                    del self._kept[folded]
                    self._forget_unreported(folded)

    def _forget_unreported(self, name: str | None) -> None:
        """Forget how often ``name`` was loaded when the report no longer names any load of it one by one (none
        kept in :attr:`_retired`: folded into "(older scenarios)", or it had no outcome to report) and it is not
        in place: its next load is reported as "NAME" again, a name no outcome still reported has. The count
        grew with every distinct name until a reset (a harness naming each test's scenario after the test)."""
        if name is not None and name not in self._kept and name != _scenario_name(self._engine):
            self._loads.pop(name, None)

    @property
    def retired_expectations(self) -> tuple[Any, ...]:
        """The expectation outcomes of the scenarios taken out, oldest first: one outcome for the scenarios
        no longer kept (how many, and met only when none of them failed), then each kept one's. (A tuple: it
        was a list callers cleared; :meth:`forget_scenarios` does that now.)"""
        older = self._older.outcome(self.config.keep_scenarios)
        return (*([older] if older is not None else []), *(e for _, outcomes in self._retired for e in outcomes))

    def forget_scenarios(self) -> None:
        """Start the report over (control API POST /reset): no outcome of a scenario taken out, and the next
        load of a name is its first."""
        self._retired.clear()
        self._older = _Older()
        self._loads.clear()
        self._kept.clear()

    def expectations(self, now: float) -> list[Any]:
        """Every scenario's expectation outcomes: those of the engines taken out (judged when they were),
        then the one in place's, judged at ``now``."""
        return [*self.retired_expectations, *_verify(self._engine, now, self.engine_label)]

    # -- entry points used by the server -------------------------------------------------------------

    def connect(self, now: float, peer: str | None = None) -> int:
        sid = next(self._ids)
        self.now = now
        self.conns[sid] = _Conn(Session(sid, self.config.session, connected_at=now, refusals=self._refusals), peer)
        self.journal.record("connect", now, sid, peer=peer)
        if self.engine is not None:
            self.engine.on_connect(sid, now)
        return sid

    def receive(self, sid: int, data: bytes, now: float) -> list[Action]:
        self.now = now
        conn = self.conns.get(sid)
        if conn is None:
            return self._take()
        journal = self.journal
        rendered = journal.rendering
        # HEARTBEAT_REQ answered inside the session when nothing else needs to see it: no scenario,
        # the center online, nobody reading rendered messages (the bulk of a loaded server's input)
        quick = ((self._engine is None or not getattr(self._engine, "sees_heartbeats", True))
                 and self.center.online and not rendered)
        if quick and not len(data) % 12:  # a chunk of nothing but plain heartbeats (12 bytes each): one piece
            answered = conn.session.receive_heartbeats(data, now)
            if answered is not None:
                self._actions.append(Write(sid, answered.data))
                journal.count_in(sid, answered.count)
                journal.count_out(sid, answered.count)
                return self._take()
        counted = 0  # requests counted in the journal at the end (nobody reads them rendered)
        session = conn.session
        # (list[Any]: a violation's answer marks the events it handled with _HANDLED in place)
        events: list[Any] = session.receive_data(data, now, answer_heartbeats=quick)
        while True:
            for ev in events:
                if type(ev) is Received:  # the common case first
                    msg = ev.message
                    if rendered:
                        journal.message("in", now, sid, msg, icm=session.dialect.profile.icm)
                    else:
                        counted += 1
                    if self._engine is None or not self._engine.on_request(sid, msg, now):
                        self.default(sid, msg, now)
                elif type(ev) is HeartbeatsAnswered:
                    self._actions.append(Write(sid, ev.data))
                    journal.count_in(sid, ev.count)
                    journal.count_out(sid, ev.count)
                else:
                    self._on_event(sid, ev, now, conn, events)
            # frames of this chunk behind an OPEN_REQ or CLOSE_REQ: read now that it is answered
            if not session.held or sid not in self.conns:
                break
            events = session.resume(now, answer_heartbeats=quick)
        if counted:
            journal.count_in(sid, counted)
        return self._take()

    def disconnected(self, sid: int, now: float, *, reason: str = "peer closed", unread: int = 0) -> list[Action]:
        """The connection is gone (peer closed, reset, or we closed it). ``unread``: bytes the client sent
        that the server never read (it left while a pause_reading fault held reading): in the journal's
        "close", and the session judges none of it (a CLOSE_REQ may be in it)."""
        self.now = now
        conn = self.conns.pop(sid, None)
        if conn is None:
            return self._take()
        for ev in conn.session.closed(peer_initiated=reason in ("peer closed", "peer reset"), unread=unread > 0):
            self._on_event(sid, ev, now, conn)
        if conn.subscribed:
            self._close_center_session(sid, now)
        if unread:
            self.journal.record("close", now, sid, reason=reason, unread=unread)
        else:
            self.journal.record("close", now, sid, reason=reason)
        if self.engine is not None:
            self.engine.on_disconnect(sid, now, reason)
        return self._take()

    def sent_after_close(self, sid: int, head: bytes, nbytes: int, now: float) -> None:
        """The client of connection ``sid`` sent ``nbytes`` bytes (the first of them ``head``) after the server
        answered its CLOSE_REQ, read by the server only to be discarded while it closes the connection:
        PROTO-AFTER-CLOSE, once per connection (what came in the CLOSE_REQ's own read, the session judged)."""
        first = ""
        if len(head) >= 8:
            type_id = int.from_bytes(head[4:8], "big")
            try:
                first = f" (a {MessageType(type_id).name} frame first)"
            except ValueError:
                first = f" (message type {type_id} first)"
        self.journal.record("violation", now, sid, rule="PROTO-AFTER-CLOSE",
                            detail=f"{nbytes} byte(s) after CLOSE_REQ{first}, read while the server closed the "
                                   "connection",
                            explanation=RULES["PROTO-AFTER-CLOSE"].explanation)

    def tick(self, now: float) -> list[Action]:
        """Run everything due by ``now``: delayed actions, idle timeouts, center timers, the scenario."""
        self.now = now
        while self._timers and self._timers[0][0] <= now:
            fn = heapq.heappop(self._timers)[2]
            fn()
        if now >= self._next_session_check:
            self._check_sessions(now)
        if self._standby_until is not None and now >= self._standby_until:
            self._standby_until = None
            self.standby = False
            self.journal.record("happening", now, None, what="failover ended: this node is master again")
        self._deliver(self.center.tick(now), now)
        if self.center.happenings:  # its timers: a ring-no-answer, a wrap-up time over
            self._record_happenings(None, now)
        if self.engine is not None:
            self.engine.tick(now)
        return self._take()

    def _check_sessions(self, now: float) -> None:
        """Idle supervision (:meth:`Session.check_timers`) at a fixed cadence, not per message: every session is
        checked once per ``session_check_interval``, in up to ``session_check_slices`` parts (of at least
        ``session_check_part`` sessions) of those open when the round began, one part per wake-up, so that
        thousands of sessions cost many short loop turns instead of one long one. A tick more than one part late (a clock that jumped, a loop that was that busy) checks
        every session at once and starts the rounds over from ``now``, so no session goes unchecked longer."""
        interval = self.config.session_check_interval
        step = interval / max(1, self.config.session_check_slices)
        if now >= self._next_session_check + step or step >= interval:
            self._check_round = []
            self._check_round_started = now
            self._next_session_check = now + interval
            for sid, conn in list(self.conns.items()):
                for ev in conn.session.check_timers(now):
                    self._on_event(sid, ev, now)
            return
        if not self._check_round:
            if now < self._check_round_started + interval:  # (a tick ahead of the next round)
                self._next_session_check = self._check_round_started + interval
                return
            self._check_round = list(reversed(self.conns))  # popped from the end: in the order they came
            self._check_round_started = now
            self._check_slice = max(1, self.config.session_check_part,
                                    -(-len(self._check_round) // max(1, self.config.session_check_slices)))
        part = self._check_round[-self._check_slice:]
        del self._check_round[-self._check_slice:]
        for sid in reversed(part):
            live = self.conns.get(sid)
            if live is not None:  # (gone since the round began)
                for ev in live.session.check_timers(now):
                    self._on_event(sid, ev, now)
        self._next_session_check = now + step if self._check_round else self._check_round_started + interval

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`tick` has something to do (asked after every server call)."""
        due = self._timers[0][0] if self._timers else None
        if self.conns and (due is None or self._next_session_check < due):
            due = self._next_session_check
        d = self.center.next_deadline()
        if d is not None and (due is None or d < due):
            due = d
        d = self._standby_until
        if d is not None and (due is None or d < due):
            due = d
        if self._engine is not None:
            d = self._engine.next_deadline()
            if d is not None and (due is None or d < due):
                due = d
        return due

    def shutdown(self, now: float) -> list[Action]:
        """Tell every open session the server is going (SYSTEM_EVENT SYS_CCX_OFFLINE with
        CCXStatus CCX_SHUTTING_DOWN, reference §3.6, §6.12–6.13; under the ucce profile ICM's
        SYS_PERIPHERAL_OFFLINE, the same number, with PGStatus PGS_PERIPHERAL_OFFLINE and the peripheral in
        SystemEventArg1), then close every connection."""
        self.now = now
        for sid, conn in list(self.conns.items()):
            if conn.session.state is SessionState.OPEN:
                icm = conn.session.dialect.profile.icm
                self.send(sid, self.center.system_event_message(
                    icm, SystemEventID.SYS_CCX_OFFLINE, self.wall_time(now), text="server shutting down",
                    status=int(PGStatus.PGS_PERIPHERAL_OFFLINE if icm else CCXStatus.CCX_SHUTTING_DOWN)))
            self.close(sid, "server shutdown")
        return self._take()

    # -- primitives (also used by the scenario engine and the control API) ----------------------------

    def send(self, sid: int, message: Message) -> None:
        """Encode ``message`` for session ``sid`` and queue it; record it in the journal.

        An OPEN_CONF, or a FAILURE_CONF with its InvokeID, sent (by a scenario) to a session whose
        OPEN_REQ waits for its answer is that answer: the session opens (and the center subscribes it,
        with the ServicesGranted sent) or goes back to waiting for an OPEN_REQ."""
        conn = self.conns.get(sid)
        if conn is not None:
            session = conn.session
            if session.state is _OPENING and session.open_req is not None:
                self._answer_open(sid, conn, session.open_req, message)
            self._send(sid, conn, message)

    def _answer_open(self, sid: int, conn: _Conn, req: OpenReq, message: Message) -> None:
        session = conn.session
        if message.TYPE is MT.OPEN_CONF:
            granted = int(cast(OpenConf, message).services_granted)
            result = self.center.open_session(self._subscription(sid, req, granted, session.dialect.profile), self.now)
            if result.status == S.E_CTI_NO_ERROR:
                conn.subscribed = True
            else:  # the scenario opens a session the center would refuse: open, but the center does not see it
                self.journal.record("fault", self.now, sid, fault="scenario OPEN_CONF for a session the center "
                                    f"refuses ({S(result.status).name}: {result.text}); its requests go unanswered "
                                    "by the center")
            session.opened(granted, self.now)
        elif message.TYPE is MT.FAILURE_CONF and message.invoke_id == req.invoke_id:
            session.open_refused(self.now, cast(FailureConf, message).status)

    def _send(self, sid: int, conn: _Conn, message: Message) -> None:
        try:
            data = conn.session.encode(message)
        except EncodeError as exc:
            answer = self._cannot_encode(sid, conn, message, exc)
            if answer is None:
                return
            message, data = answer
        self._journal_message("out", self.now, sid, message)
        hook = self._on_send
        if hook is not None:
            replaced = hook(sid, message, data, self.now)
            if replaced is not None:  # the scenario's faults decide what goes out instead (maybe nothing)
                for a in replaced:
                    if self._reading(a):
                        self._actions.append(a)
                if message.TYPE is _FAILURE_EVENT:
                    conn.session.failure_event_sent(message, self.now)
                return
        self._actions.append(Write(sid, data))
        if message.TYPE is _FAILURE_EVENT:
            conn.session.failure_event_sent(message, self.now)

    def _cannot_encode(self, sid: int, conn: _Conn, message: Message,
                       exc: EncodeError) -> tuple[Message, bytes] | None:
        """A message we (or a scenario) built does not fit this session's version: a "cannot encode"
        fault. An event is not sent. A confirmation is replaced by what goes out instead (returned,
        encoded): FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE with the request's InvokeID and a Text naming
        the confirmation — dropped, it left the client's request unanswered for ever. An OPEN_CONF so
        replaced refuses the open (the client was told it failed)."""
        name = message.TYPE.name
        self.journal.record("fault", self.now, sid, fault="cannot encode", message=name, error=str(exc))
        invoke_id = getattr(message, "invoke_id", None)
        if (message.TYPE not in _CONFIRMATION_TYPES or type(invoke_id) is not int
                or not 0 <= invoke_id <= 0xFFFFFFFF):
            return None
        why = str(exc).removeprefix(f"{name}: ")
        answer = FailureConf(invoke_id=invoke_id, status=int(S.E_CTI_UNSPECIFIED_FAILURE),
                             text=fit_string(f"the server could not build its {name}: {why}", _FAILURE_TEXT_MAX))
        session = conn.session
        try:
            data = session.encode(answer)
        except EncodeError as again:  # (not expected: the fallback is built to fit) never a loop
            self.journal.record("fault", self.now, sid, fault="cannot encode", message=answer.TYPE.name,
                                error=str(again))
            return None
        if message.TYPE is MT.OPEN_CONF and session.state is _OPEN and session.open_req is not None \
                and session.open_req.invoke_id == invoke_id:
            if conn.subscribed:
                conn.subscribed = False
                self._close_center_session(sid, self.now)
            session.open_refused(self.now)
        return answer, data

    def send_raw(self, sid: int, data: bytes, *, note: str = "raw bytes") -> None:
        if sid in self.conns:
            self.journal.record("fault", self.now, sid, fault=note, bytes=data.hex())
            self._actions.append(Write(sid, data))

    def act(self, action: Action) -> None:
        """Queue a transport action (faults). One for a session that has ended (a delayed fault on a
        timer, a dribble or a delayed write whose client reset or closed meanwhile) is journalled
        ("half_close: no connection") and dropped: it used to be dropped without a word."""
        sid = action.session_id
        if sid not in self.conns:
            self._no_connection(action)
            return
        if type(action) is HalfClose:  # our FIN follows what a scenario still holds or delays, as a close does
            hold = getattr(self._engine, "close_after", None)
            at = hold(sid, self.now) if hold is not None else None
            if at is not None:
                self.schedule(at, lambda: self.act(action))
                return
        if self._reading(action):
            self._actions.append(action)

    def _no_connection(self, action: Action, **data: Any) -> None:
        """Journal a transport action (a fault, a close) for a session that has ended: "<kind>: no
        connection", the kind as :func:`_fault_name` names it (``reset: no connection``)."""
        self.journal.record("fault", self.now, action.session_id, fault=f"{_fault_name(action)}: no connection",
                            **data)

    def _reading(self, action: Action) -> bool:
        """Whether the server is to carry out ``action``. A PauseReading / ResumeReading fault: its owner takes
        (lets go of) a pause of the session's reading, and the session stops (starts again) measuring the
        client's silence — what the client sends meanwhile waits unread in the socket. Only the first pause
        and the release of the last one reach the server: a scenario's pause and the control API's are each
        their own (the one taken out lifted the other's too). An owner letting go while another still holds
        the pause is journalled (``held_by``)."""
        if not isinstance(action, (PauseReading, ResumeReading)):
            return True
        conn = self.conns.get(action.session_id)
        if conn is None:
            return True
        session = conn.session
        if isinstance(action, PauseReading):
            return session.pause_reading(action.owner, action.until)
        held = action.owner in session.reading_held_by
        if action.timer is not None and (not held or session.pause_end(action.owner) != action.timer):
            return False  # (the timer of a pause replaced or lifted since: not the one in force)
        if session.resume_reading(self.now, action.owner):
            return True
        if held:
            self.journal.record("fault", self.now, action.session_id, fault="reading still paused",
                                lifted=action.owner, held_by=list(session.reading_held_by))
        return False

    def close(self, sid: int, reason: str, *, abort: bool = False) -> None:
        conn = self.conns.get(sid)
        if conn is None:  # (a reset or close fault on a timer whose client went meanwhile)
            self._no_connection(Close(sid, reason, abort), reason=reason)
            return
        conn.session.closing()
        hold = getattr(self._engine, "close_after", None) if not abort else None
        at = hold(sid, self.now) if hold is not None else None
        if at is not None:  # a scenario's delayed write is still to come: the close follows it
            self.schedule(at, lambda: self._actions.append(Close(sid, reason, abort)) if sid in self.conns else None)
            return
        self._actions.append(Close(sid, reason, abort))

    def wall_time(self, now: float) -> float:
        """``now`` as seconds since 1970 UTC (CCXTime of SYSTEM_EVENT, reference §5.1)."""
        return self.epoch + now

    def schedule(self, at: float, fn: Callable[[], None], owner: object = None) -> None:
        """Run ``fn`` at time ``at`` (from :meth:`tick`); actions it queues go out then. A timer with an
        ``owner`` is dropped by :meth:`cancel_timers` (the engine that set it is replaced: :meth:`set_engine`)."""
        heapq.heappush(self._timers, (at, next(self._timer_seq), fn, owner))

    def cancel_timers(self, owner: object) -> int:
        """Drop the timers scheduled with ``owner`` that have not run; returns how many."""
        if owner is None:
            return 0
        kept = [t for t in self._timers if t[3] is not owner]
        dropped = len(self._timers) - len(kept)
        if dropped:
            heapq.heapify(kept)
            self._timers = kept
        return dropped

    def take_actions(self) -> list[Action]:
        """Actions queued outside a server call (control API, timers); the server drains them."""
        return self._take()

    def open_sessions(self) -> list[int]:
        return [sid for sid, c in self.conns.items() if c.session.state is SessionState.OPEN]

    def session(self, sid: int) -> Session | None:
        conn = self.conns.get(sid)
        return conn.session if conn else None

    def deliver(self, deliveries: Iterable[Delivery]) -> None:
        self._deliver(deliveries, self.now)

    def failover(self, now: float, duration: float) -> None:
        """Simulate an HA failover: drop every session, then answer OPEN_REQ with
        E_CTI_SERVER_NOT_MASTER for ``duration`` seconds (reference §3.1)."""
        self.now = now
        self.journal.record("happening", now, None, what=f"failover: every session dropped, standby for {duration:g} s")
        for sid in list(self.conns):
            self.close(sid, "failover", abort=True)
        self.standby = True
        self._standby_until = now + duration

    def end_failover(self, now: float) -> None:
        """End a failover early: this node answers OPEN_REQ again (control API reset)."""
        if self._standby_until is not None:
            self._standby_until = None
            self.standby = False
            self.journal.record("happening", now, None, what="failover ended early: this node is master again")

    def start_inbound_calls(self, now: float, per_minute: float, *, seed: int = 0,
                            csqs: Iterable[str] | None = None,
                            abandon_after: float | None = DEFAULT_ABANDON_AFTER,
                            patience: str = "fixed") -> "InboundCalls":
        """Generate inbound calls at ``per_minute`` (Poisson arrivals, seeded, reproducible; anchored at
        ``now``, caught up in slices when the timers run late: :class:`CatchUp`),
        each queued to a CSQ picked at random and delivered to a READY agent of that CSQ. A caller
        no agent has answered ``abandon_after`` seconds after arriving hangs up, in the queue or
        while ringing (as ``--load``'s ``abandon_after``): calls nobody takes do not pile up for
        ever. ``None``: callers wait for ever. ``patience``: every caller waits ``abandon_after``
        (``"fixed"``), or the callers' waits are spread exponentially around it (``"exponential"``,
        :func:`caller_patience`, as ``--load``'s ``patience=exponential``). Returns the generator:
        its :meth:`InboundCalls.summary` counts the calls (``serve --calls-per-minute``'s statistics line),
        :meth:`InboundCalls.stop` ends the arrivals. ``per_minute``: 0 (off) or a finite rate above 0 that is still
        above 0 a second (``per_minute / 60``), else ValueError (5e-324 drew its first arrival with a division by
        zero; ``serve --calls-per-minute`` refuses below 0.001)."""
        if not (per_minute == 0 or 0 < per_minute / 60.0 < math.inf):  # (nan compares false)
            raise ValueError(f"per_minute must be 0 (off) or a finite number of calls a minute above 0 whose rate a "
                             f"second (per_minute / 60) is above 0 too, not {per_minute!r}")
        if patience not in PATIENCE:
            raise ValueError(f"patience must be one of {', '.join(PATIENCE)}, not {patience!r}")
        gen = InboundCalls(self, now, per_minute, seed=seed, csqs=csqs, abandon_after=abandon_after,
                           patience=patience)
        if per_minute > 0:
            gen.start()
        return gen

    # -- default handling ---------------------------------------------------------------------------

    def default(self, sid: int, msg: Message, now: float) -> None:
        """What the mock answers when no scenario rule takes the request."""
        conn = self.conns.get(sid)
        if conn is None:
            return
        session = conn.session
        mt = msg.TYPE
        if mt is _OPEN_REQ:
            self._open(sid, conn, msg, now)  # type: ignore[arg-type]  # (an OPEN_REQ, by its TYPE: no cast per message)
        elif mt is _HEARTBEAT_REQ:
            if self.center.online:
                self.send(sid, HeartbeatConf(invoke_id=msg.invoke_id))  # type: ignore[arg-type]  # (a request's: an int)
            else:  # offline: FAILURE_CONF; status unspecified by UCCX (reference §7.1: use 17), ICM's 15 under ucce
                prof = session.dialect.profile
                self.send(sid, FailureConf(invoke_id=msg.invoke_id,  # type: ignore[arg-type]  # (a request's: an int)
                                           status=int(prof.status("offline")),
                                           text=f"{prof.system_name} is offline"))
        elif mt is _CLOSE_REQ:
            self.send(sid, CloseConf(invoke_id=msg.invoke_id))  # type: ignore[arg-type]  # (a request's: an int)
            if conn.subscribed:
                conn.subscribed = False
                self._close_center_session(sid, now)
            self.close(sid, "CLOSE_REQ")
        elif session.state is _OPEN:
            center = self.center
            deliveries = center.handle(sid, msg, now)
            if center.violations:  # ACD rule violations: the request, the ACD state, the rule, the code
                self._record_center_violations(sid, session, deliveries, now)
            if center.happenings:  # what the request made happen beyond its messages (a bad call report)
                self._record_happenings(sid, now)
            if deliveries and deliveries[0].message.TYPE in _REFUSALS and len(deliveries) == 1:  # (len: refusals only)
                self._refused(sid, conn, msg, deliveries[0].message, now)
            elif conn.refused is not None:
                conn.refused = None
            self._deliver(deliveries, now)

    def _record_center_violations(self, sid: int, session: Session, deliveries: list[Delivery], now: float) -> None:
        """The center's violations of a request (ACD rules) into the journal, their ``answer`` the refusal as it goes
        out to this session: the center names it as a UCCX client gets it, and under the ucce profile the
        CONTROL_FAILURE_CONF's UINT is ICM's PeripheralErrorCode, 0 for a UCCX code (:func:`answer_text`)."""
        center = self.center
        refusal = deliveries[0].message if len(deliveries) == 1 and deliveries[0].message.TYPE in _REFUSALS else None
        for v in center.violations:
            data = {k: val for k, val in v.items() if k not in NOT_JOURNALLED}
            rule = RULES.get(data["rule"])
            if rule is not None and "explanation" not in data:  # a protocol rule the center checks
                data["explanation"] = rule.explanation
            answer_type: MessageType | None = v.get("answer_type")  # (the center's own answer, named by its type)
            if refusal is not None:
                data["answer"], answer_type = answer_text(refusal, session.dialect.profile.icm), refusal.TYPE
            if answer_type is not None and data.get("answer") and self.engine is not None:
                data["answer"] = self._as_sent(sid, answer_type, data["answer"])
            self.journal.record("violation", now, sid, **data)
        center.violations.clear()

    def _refused(self, sid: int, conn: _Conn, msg: Message, answer: Message, now: float) -> None:
        """The center refused ``msg``: the same request (all but its InvokeID) refused again within
        HubConfig.retry_loop_gap s of its last refusal, retry_loop_times times in a row, is PROTO-RETRY-LOOP (once a
        streak; retry_loop_times 0: never)."""
        times, gap = self.config.retry_loop_times, self.config.retry_loop_gap
        if times <= 0:
            return
        key = dataclasses.replace(msg, invoke_id=0) if msg.invoke_id is not None else msg
        if conn.refused is not None and now - conn.refused_at <= gap and key == conn.refused:
            conn.refused_times += 1
        else:
            conn.refused, conn.refused_times = key, 1
        conn.refused_at = now
        if conn.refused_times == times:
            self.journal.record("violation", now, sid, rule="PROTO-RETRY-LOOP",
                                detail=f"{msg.TYPE.name} sent {times} times in a row, each within "
                                       f"{gap:g} s of the same request's refusal",
                                explanation=RULES["PROTO-RETRY-LOOP"].explanation, request=msg.TYPE.name,
                                answer=self._as_sent(sid, answer.TYPE,
                                                     answer_text(answer, conn.session.dialect.profile.icm)))

    def _as_sent(self, sid: int, answer_type: MessageType, answer: str) -> str:
        """A violation's ``answer`` (a refusal of type ``answer_type``, named by :func:`answer_text`, not sent yet)
        as the client will get it: nothing, when the scenario's silent_accept fault withholds it (the session is
        muted, or a fault of probability 1 lists its type); said to be uncertain when a fault of lower probability
        lists it."""
        withholds = getattr(self.engine, "withholds", None)
        if withholds is None:
            return answer
        will = withholds(sid, answer_type)
        if will:
            return withheld_text(answer)
        if will is None:
            return (f"{answer}, unless the scenario's silent_accept fault withheld it (by chance: the journal's "
                    f"\"fault: {answer_type.name} withheld\" says)")
        return answer

    def _close_center_session(self, sid: int, now: float) -> None:
        """The center forgets the session; what it does about an agent left without a session
        (``on_agent_disconnect``) goes out to the others and into the journal."""
        center = self.center
        deliveries = center.close_session(sid, now)
        if center.happenings:
            self._record_happenings(sid, now)
        self._deliver(deliveries, now)

    def _record_happenings(self, sid: int | None, now: float) -> None:
        """What the center did on its own (``ContactCenter.happenings``) into the journal."""
        center = self.center
        for h in center.happenings:
            self.journal.record("happening", now, sid, **h)
        center.happenings.clear()

    def _open(self, sid: int, conn: _Conn, req: OpenReq, now: float) -> None:
        session = conn.session
        if self.standby:
            self.send(sid, FailureConf(invoke_id=req.invoke_id, status=int(S.E_CTI_SERVER_NOT_MASTER),
                                       text="this node is not the master"))
            session.open_refused(now, S.E_CTI_SERVER_NOT_MASTER)
            return
        svc = req.services_requested
        # a plain int: IntFlag arithmetic is slow; a bit the session's version does not define is not granted
        granted = int(svc & self.config.grantable_services) & services_of_version(req.version_number)
        agent_mode = bool(svc & ServiceMask.CTI_SERVICE_CLIENT_EVENTS)
        result = self.center.open_session(self._subscription(sid, req, granted, session.dialect.profile), now)
        if result.status != S.E_CTI_NO_ERROR:
            self.send(sid, Failure("failure_conf", status=int(result.status), text=result.text).message(req.invoke_id))
            session.open_refused(now, result.status)
            return
        for other in result.kicked:
            if other in self.conns:
                self.send(other, FailureEvent(status=int(S.E_CTI_NEW_SESSION_OPENED),
                                              text="session terminated: the client opened a new session"))
                self.close(other, "new session opened by the same client")
        v = req.version_number
        icm = session.dialect.profile.icm
        # the agent's identity fields: UCCX sends them to every agent-mode session ("required for Agent mode");
        # ICM's OPEN_CONF has AgentExtension, AgentID and AgentInstrument only "when Client Events service has been
        # granted and the agent is currently logged in": not for a logged-out agent under ucce
        named = agent_mode and not (icm and result.agent_state == AgentState.AGENT_STATE_LOGOUT)
        conf = OpenConf(
            invoke_id=req.invoke_id, services_granted=granted, unified_ccx_online=int(self.center.online),
            # ICM's PGStatus ("any non-zero indicates a component failure", 0 normal) and ICMCentralControllerTime
            # ("the current Central Controller date and time"), which UCCX reserves (0)
            pg_status=self.center.system_status(True) if icm else 0,
            icm_central_controller_time=int(self.wall_time(now)) & 0xFFFFFFFF if icm else 0,
            # ICM's PeripheralType, "the type of the peripheral when Client Events service has been granted"; UCCX 0
            peripheral_type=self.center.peripheral_type(True) if icm and agent_mode else 0,
            agent_state=result.agent_state if agent_mode else 0,
            agent_extension=result.agent_extension if named else None,
            agent_instrument=result.agent_instrument if named else None,
            agent_id=result.agent_id if named else None,
            # ICM's AgentID, tag 5 (STRING 12): "the agent's ACD login ID, when Client Events service has been
            # granted and the agent is currently logged in on the ACD" (ICM guides' OPEN_CONF); UCCX reserves
            # tag 5 ("ignore this value"). An ID of 12 bytes or more has no room in it: tag 194 carries it alone
            legacy_agent_id=(result.agent_id if icm and named and result.agent_id
                             and len(result.agent_id.encode()) < 12 else None),
            num_peripherals=1 if v >= 14 else None,
            flt_peripheral_id=self.center.peripheral_id(icm) if v >= 14 else None,
            multiline_agent_control=1 if v >= 14 else None,
            # UCCX's use of tag 248 (v18); an ICM client reads tag 248 as TASK_LIFE: not under the ucce profile
            config_msg_mask_granted=(req.config_msg_mask & 0x1F
                                     if v >= 18 and granted & ServiceMask.CTI_SERVICE_CONFIG_EVENTS
                                     and not icm else None),
        )
        session.opened(granted, now)
        conn.subscribed = True
        self.send(sid, conf)
        if session.dialect.profile.icm and granted & ServiceMask.CTI_SERVICE_ALL_EVENTS \
                and sid in self.conns and session.state is SessionState.OPEN:
            # ICM (CTI Server guide, session initialization): "In addition to the OPEN_CONF, SYSTEM_EVENT
            # messages are sent to the ALL_EVENTS client, per peripheral, to indicate the status of each
            # peripheral". UCCX sends SYSTEM_EVENT only on a change (§3.6; OPEN_CONF's UnifiedCCXOnline is the
            # status). The mock has one peripheral, the one OPEN_CONF names (FltPeripheralID): SystemEventArg1 (U);
            # the first field ICM's PGStatus: 0, or the failure's bits
            self.send(sid, self.center.system_event_message(
                True, SystemEventID.SYS_PERIPHERAL_ONLINE if self.center.online else SystemEventID.SYS_PERIPHERAL_OFFLINE,
                self.wall_time(now)))

    def _subscription(self, sid: int, req: OpenReq, granted: int, profile: Profile) -> Subscription:
        agent_mode = bool(req.services_requested & ServiceMask.CTI_SERVICE_CLIENT_EVENTS)
        if not agent_mode:  # a ucce bridge's agent fields are ignored, as ICM does ("Client Events service only")
            return Subscription(session_id=sid, mode="bridge", services=granted, call_msg_mask=req.call_msg_mask,
                                agent_state_mask=req.agent_state_mask,
                                config_msg_mask=req.config_msg_mask & config_masks_of_version(req.version_number),
                                version=req.version_number, client_id=req.client_id or "", profile=profile)
        return Subscription(
            session_id=sid, mode="agent",
            services=granted, call_msg_mask=req.call_msg_mask, agent_state_mask=req.agent_state_mask,
            # a bit the session's version does not define (v18's CONFIG_TERMINAL_MASK below 18) is ignored
            config_msg_mask=req.config_msg_mask & config_masks_of_version(req.version_number),
            version=req.version_number,
            agent_id=requested_agent_id(req, profile), agent_extension=req.agent_extension,
            agent_instrument=req.agent_instrument,
            client_id=req.client_id or "", profile=profile, peripheral_id=req.peripheral_id,
        )

    # -- internals ----------------------------------------------------------------------------------

    def _on_event(self, sid: int, ev: Any, now: float, conn: _Conn | None = None,
                  events: list[Any] | None = None) -> None:
        """One event of a session. ``events``: the list ``ev`` is in (what one chunk of input meant), whose
        next event, when it is the refusal of the same frame, is the answer a violation names."""
        conn = conn or self.conns.get(sid)
        if isinstance(ev, Violation):
            data = _violation_data(ev)
            if events is not None:
                at, reply = _reply_after(ev, events)
                if type(reply) is Rejected:  # the FAILURE_CONF the client got for it, its status by name and number
                    data["answer"] = self._as_sent(sid, MT.FAILURE_CONF,
                                                   f"FAILURE_CONF {named_code(StatusCode, reply.status)}")
                elif reply is not None:  # a request the center or a scenario answers: recorded once it has
                    self._answer_then_record(sid, at, events, now)
                    return
            self.journal.record("violation", now, sid, **data)
        elif isinstance(ev, Rejected):
            self.journal.record("rejected", now, sid, status=ev.status.name, text=ev.text,
                                type_id=ev.type_id, invoke_id=ev.invoke_id)
            if ev.message is not None:
                self._journal_message("in", now, sid, ev.message)
                refused = getattr(self.engine, "on_refused", None)
                if refused is not None:
                    refused(sid, ev.message, now)
            self.send(sid, ev.failure_conf())
            if ev.close:
                self.close(sid, f"unrecoverable frame: {ev.text}")
        elif isinstance(ev, ConnectionFailed):
            self.close(sid, ev.reason, abort=True)
        elif isinstance(ev, Received):
            self._journal_message("in", now, sid, ev.message)
            if self.engine is not None and self.engine.on_request(sid, ev.message, now):
                return
            self.default(sid, ev.message, now)

    def _answer_then_record(self, sid: int, at: int, events: list[Any], now: float) -> None:
        """The violations from ``events[at]`` on about one request the session let through (PROTO-UNKNOWN-CALL,
        PROTO-SERVICE-NOT-GRANTED, PROTO-INVOKEID-REUSED, PROTO-RETRY-TOO-SOON), which the
        center or a scenario answers, not the session: that request is handled now, out of turn (its Received
        and those violations are done when the loop reaches them), and the violations are recorded after it
        with the refusal the client got for it as their ``answer`` (FAILURE_CONF or CONTROL_FAILURE_CONF with
        its InvokeID, as the hub sent it; none when it was not refused, or its answer is held for later).
        Violations are rare: the messages the hub sends meanwhile are watched through the send hook only then."""
        received = next(e for e in events[at:] if type(e) is Received)
        msg = received.message
        held = []
        for j in range(at, len(events)):
            e = events[j]
            if e is received:
                events[j] = _HANDLED
                break
            if type(e) is Violation and e.message is msg:
                held.append(_violation_data(e))
                events[j] = _HANDLED
        invoke_id = msg.invoke_id or 0  # (a refusal of a request without one echoes 0)
        conn = self.conns.get(sid)
        icm = conn is not None and conn.session.dialect.profile.icm
        got: list[Message] = []
        hook = self._on_send

        def watch(to: int, message: Message, data: bytes, t: float) -> Any:
            if not got and to == sid and message.TYPE in _REFUSALS and message.invoke_id == invoke_id:
                got.append(message)
            return hook(to, message, data, t) if hook is not None else None

        self._on_send = watch  # (the slow path of _deliver and _send, for this request only)
        try:
            self._on_event(sid, received, now)
        finally:
            if self._on_send is watch:  # (not when the request put another engine in)
                self._on_send = hook
        answer = answer_text(got[0], icm) if got else None
        if answer is not None and getattr(self.engine, "last_withheld", None) is got[0]:
            answer = withheld_text(answer)  # a silent_accept fault of the scenario sent nothing
        for data in held:
            if answer is not None:
                data["answer"] = answer
            self.journal.record("violation", now, sid, **data)

    def _deliver(self, deliveries: Iterable[Delivery], now: float) -> None:
        conns = self.conns
        journal = self.journal
        if self._on_send is not None or journal.rendering:
            for d in deliveries:
                conn = conns.get(d.session_id)
                if conn is not None and conn.session.state is _OPEN:
                    self._send(d.session_id, conn, d.message)
            return
        # nobody reads rendered messages and no scenario sees what goes out (``mockcti serve --quiet``,
        # load runs): the steps of _send, with the journal counting each session's messages once.
        # Each session's messages of this batch go out as one Write (nothing else is queued in between,
        # so the order on every connection is the order of the deliveries); the usual batch goes to
        # one session, whose bytes are kept apart from the others' (a dict only when there are others)
        senders = SENDERS  # Session.encode of an OPEN session, per message class
        first = -1  # the batch's first session, and its bytes
        mine: list[bytes] = []
        others: dict[int, list[bytes]] | None = None
        for d in deliveries:
            sid = d.session_id
            conn = conns.get(sid)
            if conn is None:
                continue
            session = conn.session
            if session.state is not _OPEN:
                continue
            message = d.message
            try:
                data = (senders.get(type(message)) or open_sender(type(message)))(session, message)
            except EncodeError as exc:
                answer = self._cannot_encode(sid, conn, message, exc)
                if answer is None:
                    continue
                message, data = answer
            if sid == first:
                mine.append(data)
            elif first < 0:
                first = sid
                mine.append(data)
            elif others is None:
                others = {sid: [data]}
            elif sid in others:
                others[sid].append(data)
            else:
                others[sid] = [data]
            if message.TYPE is _FAILURE_EVENT:
                session.failure_event_sent(message, now)
        if first < 0:
            return
        actions = self._actions
        actions.append(Write(first, mine[0] if len(mine) == 1 else b"".join(mine)))
        journal.count_out(first, len(mine))
        if others:
            for sid, theirs in others.items():
                actions.append(Write(sid, theirs[0] if len(theirs) == 1 else b"".join(theirs)))
                journal.count_out(sid, len(theirs))

    def _journal_message(self, direction: str, now: float, sid: int, message: Message) -> None:
        """Record a message in the journal. When the journal neither keeps messages nor has a sink
        (``mockcti serve --quiet``), nobody can read the rendered entry: count it without rendering
        it (rendering every message was half the CPU of a call flow, bench/README.md)."""
        j = self.journal
        if j.rendering:
            conn = self.conns.get(sid)
            j.message(direction, now, sid, message, icm=conn is not None and conn.session.dialect.profile.icm)
        else:
            j.count_messages(direction, sid)

    def _take(self) -> list[Action]:
        out, self._actions = self._actions, []
        return out


def _violation_data(ev: Violation) -> dict[str, Any]:
    """A violation's journal entry: its rule, detail, explanation and the request it is about."""
    data: dict[str, Any] = {"rule": ev.rule, "detail": ev.detail, "explanation": ev.explanation}
    if ev.message is not None:
        data["request"] = ev.message.TYPE.name
    return data


def _scenario_name(engine: Any) -> str | None:
    """The name of ``engine``'s scenario (None: no engine, or one without a named scenario)."""
    name = getattr(getattr(engine, "scenario", None), "name", None)
    return name if isinstance(name, str) else None


def _verify(engine: Any, now: float, label: str | None = None) -> list[Any]:
    """``engine.verify(now)``: its expectation outcomes (none for an engine without expectations), under
    ``label`` (:attr:`Hub.engine_label`) when given."""
    verify = getattr(engine, "verify", None) if engine is not None else None
    outcomes = list(verify(now)) if callable(verify) else []
    if label is None:
        return outcomes
    return [_relabelled(e, label) for e in outcomes]


def _relabelled(e: Any, label: str) -> Any:
    """Outcome ``e`` (the report's ``Expectation``, what ScenarioEngine.verify returns) under scenario name
    ``label``."""
    return e if e.scenario == label else dataclasses.replace(e, scenario=label)


def load_label(name: str, n: int) -> str:
    """The name a report gives the ``n``-th load (or run) of scenario ``name``: ``name`` itself, then
    "NAME (2nd load)", "NAME (3rd load)" … — the control API's ``reported_as`` and ``mockcti run``'s labels
    alike (one scheme: a run's JUnit and a serve report name a scenario given twice the same way)."""
    return name if n <= 1 else f"{name} ({_ordinal(n)} load)"


def unused_load_label(name: str, n: int, used: Container[str]) -> tuple[str, int]:
    """:func:`load_label` of the ``n``-th load of ``name``, or of a later one when that label is ``used`` (a
    scenario whose own name is "A (2nd load)" loaded between two of "A": the second "A" is "A (3rd load)"), and
    the load number it is of."""
    while (label := load_label(name, n)) in used:
        n += 1
    return label, n


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Older:
    """The expectation outcomes of the scenarios taken out that the report no longer keeps one by one, counted:
    how many scenarios and outcomes, how many unmet and skipped, and the names of the failed scenarios (the
    first :data:`_FAILED_NAMES_SHOWN`). A failed one keeps failing the verdict."""

    __slots__ = ("scenarios", "outcomes", "unmet", "skipped", "failed", "failed_names")

    def __init__(self) -> None:
        self.scenarios = self.outcomes = self.unmet = self.skipped = self.failed = 0
        self.failed_names: list[str] = []

    def add(self, outcomes: list[Any]) -> None:
        from mockcti.report import outcome

        results = [outcome(e) for e in outcomes]
        self.scenarios += 1
        self.outcomes += len(results)
        unmet = results.count("unmet")
        self.unmet += unmet
        self.skipped += results.count("skipped")
        if unmet:
            self.failed += 1
            if len(self.failed_names) < _FAILED_NAMES_SHOWN:
                self.failed_names.append(f"{outcomes[0].scenario!r} ({unmet} unmet)")

    def outcome(self, keep: int) -> Any:
        """The one outcome standing for them (None when there are none): unmet when one of them failed."""
        if not self.scenarios:
            return None
        from mockcti.report import Expectation

        what = (f"the report keeps the latest {keep} scenarios taken out one by one (HubConfig.keep_scenarios; "
                "serve --keep-scenarios)")
        if self.failed:
            more = self.failed - len(self.failed_names)
            detail = (f"{self.failed} of them failed, {self.unmet} expectation(s) unmet: "
                      + ", ".join(self.failed_names) + (f" and {more} more" if more > 0 else "") + f"; {what}")
        else:
            detail = f"none of them failed ({self.skipped} skipped); {what}"
        return Expectation(scenario=OLDER_SCENARIOS, name=f"{self.scenarios} older scenario(s), {self.outcomes} outcome(s), no longer kept one by one",
                           met=not self.failed, detail=detail, near_miss=None, dropped=self.outcomes)
