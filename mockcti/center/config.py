"""What the simulated contact center is made of: agents, their phones, CSQs, and the few
behaviours a deployment configures (state after a call, ring time of external parties, how
ACD rule violations are answered).

Built from a plain mapping (a TOML or YAML file, or a scenario's ``center:`` section). Every
error is a :class:`CenterConfigError` naming the file, the line (data read from a file by
:mod:`mockcti.located`, the reader scenario files share), the key path and, for a bad name, the
allowed ones. Pure: no I/O except :func:`load_center_file`, which only reads the file.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Callable, Mapping, Sequence

from mockcti.located import MAX_SHOWN_ERRORS, collate, fmt_path, locate, number_text_hint, spelled, type_name
from mockcti.wire.enums import AgentState
from mockcti.wire.types import (
    MAX_NAMED_DATA, NAMEDARRAY, NAMEDVAR, NAMEDVAR_NAME_MAX, NAMEDVAR_VALUE_MAX, NamedArray, NamedVariable,
)

__all__ = [
    "AgentConfig", "CSQConfig", "CallConfig", "CenterConfig", "CenterConfigError", "default_center",
    "load_center_file", "AGENT_STATE_NAMES", "ON_AGENT_DISCONNECT", "CallDataError", "check_call_data",
    "named_call_data", "MAX_ARRAY_ELEMENTS", "call_data_errors",
]

#: agent states a configuration may name (reference §6.4); LOGIN is a request, not a state
AGENT_STATE_NAMES = {
    "LOGOUT": AgentState.AGENT_STATE_LOGOUT, "NOT_READY": AgentState.AGENT_STATE_NOT_READY,
    "READY": AgentState.AGENT_STATE_READY, "WORK": AgentState.AGENT_STATE_WORK,
    "WORK_READY": AgentState.AGENT_STATE_WORK_READY,
}
CALL_STATES = ("ringing", "talking", "held")
#: the longest wrap-up time a center or CSQ may set, in seconds (two hours: a bound against typos, not a UCCX limit)
MAX_WRAPUP = 7200.0
#: the choices of CenterConfig.on_agent_disconnect
ON_AGENT_DISCONNECT = ("not_ready", "logout", "keep")
#: the choices of CenterConfig.ready_while_talking
READY_WHILE_TALKING = ("refuse", "pending")
#: the choices of CenterConfig.supervisor_logout_while_talking
SUPERVISOR_LOGOUT_WHILE_TALKING = ("refuse", "pending")
#: the choices of CenterConfig.set_call_data_call_type
SET_CALL_DATA_CALL_TYPE = ("apply", "ignore")
#: the longest names the events carry, in bytes without the NUL (reference §5.6 CONFIG_CSQ_EVENT CSQName 64,
#: TEAM_CONFIG_EVENT TeamName 50; §5.2 AgentInstrument 64, all counting the NUL): a longer one did not
#: encode, and the event that needed it was never sent
MAX_CSQ_NAME = 63
MAX_TEAM_NAME = 49
MAX_INSTRUMENT = 63
#: the longest agent ID (characters; the events' AgentID field): what a center file, and so every input naming an
#: agent (the control API's POST /calls), takes
MAX_AGENT_ID = 128
#: the longest agent password, in bytes without the NUL (reference §5.2 SET_AGENT_STATE_REQ AgentPassword 64
#: counting the NUL): a longer one no client can send, and the agent could never log in
MAX_PASSWORD = 63
#: the largest CSQ id: CALL_QUEUED_EVENT and QUERY_QUEUE_STATISTICS_REQ carry CSQID (tag 62) as an INT
#: (reference §5.4, §5.7); a larger id did not encode, and the bridges never got the call's CALL_QUEUED_EVENT
MAX_CSQ_ID = 0x7FFFFFFF
#: the most CSQs an agent may be in: QUERY_AGENT_STATE_CONF carries one CSQ group per CSQ of the agent and
#: at most 20 (reference §5.2 NumCSQs 0..20; AGENT_STATE_EVENT allows 99): with more the confirmation broke
#: the guide's limit
MAX_AGENT_CSQS = 20


def _call_data_max() -> dict[str, int]:
    """Bytes (without the NUL) BEGIN_CALL_EVENT carries of ANI, DNIS and CallVariable1..10 (§5.4)."""
    from mockcti.wire.messages import BeginCallEvent

    fields = {f.attr: f for f in BeginCallEvent.SPEC.floating if hasattr(f, "attr")}
    names = ("ani", "dnis", *(f"call_variable{i}" for i in range(1, 11)))
    return {n: fields[n].max_len - 1 for n in names}


#: a caller's data a call event can carry: the center refuses more (check_call_data)
CALL_DATA_MAX: dict[str, int] = _call_data_max()


#: the most elements of one named array: NAMEDARRAY's VariableIndex is a UCHAR (reference §1), indexes 0..255
MAX_ARRAY_ELEMENTS = 256


class CallDataError(ValueError):
    """A caller's data (ANI, DNIS, a call variable, a named variable or array element) that no call
    event can carry; ``field`` names it (``ani``, ``call_variable1``, ``named_variables["user.id"]``),
    ``path`` is the key path of a named one below the call (``("named_variables", "user.id")``)."""

    def __init__(self, field: str, message: str, path: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.path = path

    def key_path(self, variables_key: str) -> tuple[Any, ...]:
        """The key path of the field below a call given as a mapping whose call variables are under
        ``variables_key`` (``variables``, or a scenario deliver_call's ``call_variables``)."""
        if self.path:
            return self.path
        return (self.field,) if self.field in ("ani", "dnis") else (variables_key, self.field)


def check_call_data(ani: str, dnis: str | None, variables: Mapping[str, str] | None,
                    named_variables: Any = None, named_arrays: Any = None
                    ) -> tuple[tuple[NamedVariable, ...], tuple[NamedArray, ...]]:
    """Raise :class:`CallDataError` (naming the field) unless the caller's data fits the call
    events: ANI, DNIS and CallVariable1..10 within BEGIN_CALL_EVENT's maximums (UTF-8 bytes without
    the NUL, reference §5.4), only ``call_variable1``..``call_variable10`` as variable names, and the
    named variables and arrays as :func:`named_call_data` says, which gives them back as the events
    carry them. The one check for the center (before a call exists), the control API, scenarios,
    center files and the pytest handle."""
    if variables is not None and not isinstance(variables, Mapping):  # (a text's letters were taken for names)
        raise CallDataError("variables", f"variables must be a mapping of call_variable1 .. call_variable10 to "
                                         f"text, got {type_name(variables)}", ("variables",))
    for name in variables or ():
        if not (isinstance(name, str) and name.startswith("call_variable") and name in CALL_DATA_MAX):
            raise CallDataError(str(name), f"unknown call variable {name!r}; allowed: call_variable1 .. "
                                           "call_variable10 (a named ECC variable goes in named_variables)")
    fields = [("ani", ani), *([("dnis", dnis)] if dnis is not None else []), *(variables or {}).items()]
    for name, value in fields:
        limit = CALL_DATA_MAX[name]
        if not isinstance(value, str):
            raise CallDataError(name, f"{name} must be text, got {type(value).__name__}")
        if "\x00" in value:  # a STRING ends at its NUL: a client would read only what comes before it
            raise CallDataError(name, f"{name} holds a NUL character, which ends the string on the wire")
        try:
            n = len(value.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800": no message can carry it
            raise CallDataError(name, f"{name} holds a lone UTF-16 surrogate, which is not text") from None
        if n > limit:
            raise CallDataError(name, f"{name} is {n} bytes; a call event carries at most {limit}")
    return named_call_data(named_variables, named_arrays)


def call_data_errors(ani: Any, dnis: Any, variables: Mapping[str, Any] | None, named_variables: Any = None,
                     named_arrays: Any = None) -> list[CallDataError]:
    """Every reason :func:`check_call_data` refuses this caller's data, not only the first: the ANI,
    the DNIS, each call variable, each named variable and each named array checked on its own, then
    (none of them wrong) all together (the 2,000 bytes of named data). Empty: it is accepted."""
    errors: list[CallDataError] = []

    def probe(*args: Any) -> None:
        try:
            check_call_data(*args)
        except CallDataError as exc:
            errors.append(exc)

    probe(ani, None, None)
    if dnis is not None:
        probe("", dnis, None)
    for name, value in (variables or {}).items():
        probe("", None, {name: value})
    for key, given in (("named_variables", named_variables), ("named_arrays", named_arrays)):
        parts = [{k: v} for k, v in given.items()] if isinstance(given, Mapping) else [given]
        for part in parts:
            probe("", None, None, *((part, None) if key == "named_variables" else (None, part)))
    if not errors:
        probe(ani, dnis, variables, named_variables, named_arrays)
    return errors


def _named_fail(path: tuple[Any, ...], message: str) -> CallDataError:
    return CallDataError(fmt_path(path), message, path)


def _named_text(value: Any, path: tuple[Any, ...], what: str, limit: int) -> None:
    """``value`` as a NamedVariable/NamedArray VariableName or VariableValue: text without NUL (it ends
    the string on the wire) within ``limit`` bytes of UTF-8 (the field's maximum less its NUL)."""
    if not isinstance(value, str):
        raise _named_fail(path, f"{what} must be text, got {type_name(value)}")
    if "\x00" in value:
        raise _named_fail(path, f"{what} holds a NUL character, which ends the string on the wire")
    try:
        n = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800": no message can carry it
        raise _named_fail(path, f"{what} holds a lone UTF-16 surrogate, which is not text") from None
    if n > limit:
        raise _named_fail(path, f"{what} is {n} bytes; a call event carries at most {limit} (UTF-8)")


def named_call_data(named_variables: Any = None, named_arrays: Any = None
                    ) -> tuple[tuple[NamedVariable, ...], tuple[NamedArray, ...]]:
    """A caller's ECC data as the call events carry it (BEGIN_CALL_EVENT, CALL_DELIVERED_EVENT,
    SNAPSHOT_CALL_CONF: NamedVariable tag 82, NamedArray tag 83, reference §1), or
    :class:`CallDataError` naming the first field that cannot be carried, its ``path`` the key path
    (``("named_arrays", "user.items", 2)``).

    ``named_variables`` maps a name to its value (``{"user.customer.id": "C-42"}``); ``named_arrays``
    maps a name to the list of its values, index 0 first (``None`` leaves an index unset). A name is
    1..32 bytes, a value at most 210 (UTF-8, without the NUL the wire adds; no NUL inside), an array
    at most 256 elements (VariableIndex is one byte), and all of them together at most 2,000 bytes as
    the wire counts them (each name and value with its NUL, an element's index byte). The one check
    of every place a call is injected: scenarios, center files, the control API, the pytest handle."""
    variables: list[NamedVariable] = []
    arrays: list[NamedArray] = []
    size = 0

    def add(encoded: int, path: tuple[Any, ...]) -> None:
        nonlocal size
        size += encoded
        if size > MAX_NAMED_DATA:
            raise _named_fail(path, f"the named variables and arrays reach {size} bytes here; a call event carries "
                                    f"at most {MAX_NAMED_DATA} of them (each name and value with its NUL, an array "
                                    "element's index byte, reference §1)")

    def name_ok(name: Any, path: tuple[Any, ...], what: str) -> None:
        _named_text(name, path, f"the name of {what}", NAMEDVAR_NAME_MAX - 1)
        if not name:
            raise _named_fail(path, f"{what} has an empty name")

    for key, given in (("named_variables", named_variables), ("named_arrays", named_arrays)):
        if given is not None and not isinstance(given, Mapping):
            kind = "a value" if key == "named_variables" else "a list of values"
            raise _named_fail((key,), f"{key} must be a mapping of names to {kind}, got {type_name(given)}")
    for name, value in (named_variables or {}).items():
        path = ("named_variables", name)
        name_ok(name, path, f"named variable {name!r}")
        _named_text(value, path, f"named variable {name!r}", NAMEDVAR_VALUE_MAX - 1)
        v = NamedVariable(name=name, value=value)
        add(len(NAMEDVAR.encode(v)), path)
        variables.append(v)
    for name, values in (named_arrays or {}).items():
        path = ("named_arrays", name)
        name_ok(name, path, f"named array {name!r}")
        if not isinstance(values, (list, tuple)):
            raise _named_fail(path, f"named array {name!r} must be a list of its values (index 0 first, null for "
                                    f"an index left unset), got {type_name(values)}")
        if len(values) > MAX_ARRAY_ELEMENTS:
            raise _named_fail(path, f"named array {name!r} has {len(values)} elements; VariableIndex is one byte, "
                                    f"so at most {MAX_ARRAY_ELEMENTS} (indexes 0..{MAX_ARRAY_ELEMENTS - 1})")
        for index, value in enumerate(values):
            if value is None:
                continue
            _named_text(value, (*path, index), f"element {index} of named array {name!r}", NAMEDVAR_VALUE_MAX - 1)
            a = NamedArray(index=index, name=name, value=value)
            add(len(NAMEDARRAY.encode(a)), (*path, index))
            arrays.append(a)
    return tuple(variables), tuple(arrays)


class CenterConfigError(ValueError):
    """A center description is wrong; ``str()`` is ``file:line: key_path: reason`` (the line when
    the description was read from a file, see :func:`load_center_file`). ``path`` is the key path
    as a tuple (``("agents", 0, "state")``). ``errors`` holds every mistake found, sorted by line
    (this one, the first, included); with more than one, ``str()`` shows each on its own line (at
    most :data:`mockcti.located.MAX_SHOWN_ERRORS`, then ``and N more errors``)."""

    def __init__(self, message: str, *, file: str | None = None, key_path: str = "", line: int | None = None,
                 path: tuple[Any, ...] = (), errors: list["CenterConfigError"] | None = None) -> None:
        self.file, self.key_path, self.reason, self.line, self.path = file, key_path, message, line, path
        self.errors: list[CenterConfigError] = errors if errors else [self]
        #: a name that refers to an agent or CSQ the description does not define (``unknown CSQ``)
        self.reference = False
        at = f"{file}:{line}" if file and line is not None else file
        where = ": ".join(p for p in (at, key_path) if p)
        text = f"{where}: {message}" if where else message
        if len(self.errors) > 1:
            from mockcti.located import shown_errors

            text = "\n".join([text, *shown_errors(self.errors[1:], MAX_SHOWN_ERRORS - 1)])
        super().__init__(text)

    @classmethod
    def of(cls, errors: list["CenterConfigError"]) -> "CenterConfigError":
        """One error that carries all of ``errors`` (already in order), the first one's fields its own."""
        first = errors[0]
        return cls(first.reason, file=first.file, key_path=first.key_path, line=first.line, path=first.path,
                   errors=list(errors))


@dataclass(frozen=True)
class CSQConfig:
    """A Contact Service Queue (ICM: skill group). ``id`` is the CSQID of the events;
    ``wrapup_time`` overrides the center's :attr:`CenterConfig.wrapup_time` for this CSQ's calls
    (UCCX sets the wrap-up time per CSQ)."""

    name: str
    id: int
    wrapup_time: float | None = None


@dataclass(frozen=True)
class AgentConfig:
    """A configured agent. In UCCX the agent's phone has one ICD extension; instrument = extension."""

    id: str
    extension: str
    instrument: str | None = None
    password: str = "1234"
    csqs: tuple[str, ...] = ()
    team: str = "Default"
    supervisor: bool = False
    state: AgentState = AgentState.AGENT_STATE_LOGOUT  # state at start
    reason_code: int = 0

    @property
    def device(self) -> str:
        return self.instrument or self.extension


@dataclass(frozen=True)
class TeamConfig:
    """What a team has besides its agents (an agent's ``team`` names its team): ``csqs``, the names of the CSQs
    the team is assigned, sent as TEAM_CONFIG_EVENT member records of MemberType 2 (CSQ), the CSQID as the
    AgentID string (UCCX "TEAM_CONFIG_EVENT": "A team may include agents, one primary supervisor, secondary
    supervisors, and CSQs"). A team named here without agents is a team of CSQs only."""

    name: str
    csqs: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallConfig:
    """A call already in progress when the center starts (scenarios use this)."""

    agent: str
    ani: str = "0600000000"
    csq: str | None = None
    state: str = "talking"  # ringing | talking | held
    variables: tuple[tuple[str, str], ...] = ()
    #: its ECC data (NamedVariable, NamedArray elements), as :func:`named_call_data` gives them
    named_variables: tuple[NamedVariable, ...] = ()
    named_arrays: tuple[NamedArray, ...] = ()


@dataclass(frozen=True)
class CenterConfig:
    agents: tuple[AgentConfig, ...] = ()
    csqs: tuple[CSQConfig, ...] = ()
    calls: tuple[CallConfig, ...] = ()
    #: the CSQs of each team (TEAM_CONFIG_EVENT members of MemberType 2); default: none, a team is its agents
    teams: tuple[TeamConfig, ...] = ()
    #: state an agent takes when an ACD call ends and no next state was requested (§7.2 "READY / NOT_READY / WORK")
    after_call_state: AgentState = AgentState.AGENT_STATE_READY
    #: seconds an external party rings before answering a call placed by an agent (0: at once)
    external_answer_delay: float = 0.0
    #: reserved PeripheralID / PeripheralType values of the events (reference §5.4: 1? and 21 PT_ACMI_CRS).
    #: ``peripheral_type`` None: the profile's -- UCCX's 21 (PT_ACMI_CRS, C) to a uccx session, 17
    #: (PT_ENTERPRISE_AGENT, ICM's type of a Unified CCE agent peripheral: O/U) to a ucce one; a number: that,
    #: to both
    peripheral_id: int = 1
    peripheral_type: int | None = None
    #: lineType / LineType of the call events and confirmations (§6.10): UCCX's 3, a business (ICD) call; to a ucce
    #: client 3 is ICM's LINETYPE_UNKNOWN -- which ICM LineType a Unified CCE PG reports is unconfirmed (U), so
    #: it can be set (ICM: 0 LINETYPE_INBOUND_ACD, 1 OUTBOUND_ACD, 2 INSIDE ...)
    line_type: int = 3
    #: first CallID handed out (UCCX call IDs in the guide's examples are around 16777507)
    first_call_id: int = 16777500
    #: how a request that breaks an ACD rule is answered: "cf" (CONTROL_FAILURE_CONF with CF code and UCCX
    #: error code, the default) or "ctierr" (the matching Cisco CTIERR code in PeripheralErrorCode/Text)
    acd_failure_mode: str = "cf"
    #: apply the ACD line-state rules of mockcti.acd to call-control requests
    acd_rules: bool = True
    #: FailureCode of the center's own refusals (no call to answer, no active or held call, wrong
    #: password): "uccx" sends only the CF values the UCCX page publishes (0-22: CF_INVALID_OBJECT_STATE,
    #: CF_GENERIC_UNSPECIFIED), "icm" the specific ICM values (CF_NO_CALL_TO_ANSWER 28, CF_NO_ACTIVE_CALL 24,
    #: CF_NO_HELD_CALL 25, CF_INVALID_PASSWORD_SPECIFIED 257) that UCCX may or may not send (reference §6.2: U). A
    #: session of the ucce profile gets the ICM values either way (ICM's own list)
    control_failure_codes: str = "uccx"
    #: overrides of the inferred ACD choices (see mockcti.acd.AcdConfig)
    acd: Mapping[str, Any] = field(default_factory=dict)
    #: what happens to a logged-in agent when its last agent-mode session ends (CLOSE_REQ or a lost
    #: connection; reference §6.19 AGT_CONN_DOWN 32765 "desktop/IPPA failed or connection lost"):
    #: "not_ready" (the default) the agent goes NOT_READY with reason AGT_CONN_DOWN, "logout" it is
    #: logged out with that reason (both: a call ringing at the agent goes back to its queue, the calls
    #: its phone holds stay, and the new state comes when the last of them ends), "keep" nothing changes
    #: (a READY agent goes on being offered calls, which ring until someone answers). See
    #: ContactCenter.close_session
    on_agent_disconnect: str = "not_ready"
    #: seconds an ACD call rings at the agent it was routed to before the center gives up on that agent
    #: (UCCX: the Select Resource step's timeout, 10 s by default in its scripts): the call goes back to
    #: its CSQ's queue in arrival order (CALL_CONNECTION_CLEARED CEC_CALL_NOT_ANSWERED) and the agent goes NOT_READY
    #: with reason AGT_RNA 32763 (reference §6.19). 0 (the default): a call rings until someone answers
    ring_no_answer: float = 0.0
    #: seconds an agent stays in WORK or WORK_READY after an ACD call before the wrap-up timer ends it:
    #: WORK_READY -> READY, WORK -> NOT_READY with reason AGT_WORK_TIMER_EXP 32758 (reference §6.19);
    #: a CSQ's own ``wrapup_time`` wins for its calls. 0 (the default): the agent stays until it asks
    wrapup_time: float = 0.0
    #: send RTP_STARTED_EVENT / RTP_STOPPED_EVENT (reference §5.4, "optional" in the UCCX guide; §7.2 lists
    #: them with answer, hold and retrieve) to the sessions whose call-event mask asks for them (RTP_STARTED_MASK
    #: 0x00200000, RTP_STOPPED_MASK 0x00400000). false: never, whatever the masks (a UCCX that sends none)
    rtp_events: bool = True
    #: SET_AGENT_STATE_REQ READY (or a supervisor's READY) while the agent talks on an ACD call (TALKING, HOLD):
    #: "refuse" (the default) answers CONTROL_FAILURE_CONF (CF_INVALID_OBJECT_STATE; ICM's
    #: CF_INVALID_AGENT_WORKMODE 265 with control_failure_codes = "icm") and nothing changes, as the Finesse
    #: 12.5(1) developer guide (User—Change Agent State) says coresident Unified CCX does: it "does not allow an
    #: agent to set a pending state of READY while that agent is talking on an ICD call", errorData 265 — UCCX's
    #: AgentStateMask has pending bits for WORK and NOT_READY only (reference §6.7). "pending": READY becomes the
    #: state after the call, as Unified CCE does (the same page) and mockcti did; a Finesse guide, not the CTI
    #: guide, is the source, hence the choice. Sessions of the ucce profile always get the pending READY (ICM)
    ready_while_talking: str = "refuse"
    #: the EventReasonCode of a NOT_READY or LOGOUT a supervisor's desktop sets for an agent of its team without
    #: a reason code of its own (EventReasonCode 0): true (the default) UCCX's supervisor codes, SUP_AGT_TO_NOT_READY
    #: 33 and SUP_AGT_TO_LOGOUT 22 (reference §6.19: from the UCCX admin guide's reason codes, "supervisor changed
    #: agent state"; the CTI page is truncated there, so U), in the AGENT_STATE_EVENT the agent's desktop and the
    #: bridges get (and in a NOT_READY pending after the agent's call); false: 0, the request's. A reason code the
    #: supervisor sends is kept either way; a session of the ucce profile (ICM has no such codes) sends its own
    supervisor_reason_codes: bool = True
    #: a supervisor's LOGOUT (its desktop's SET_AGENT_STATE_REQ for an agent of its team, the control API,
    #: a scenario) of an agent talking on an ACD call (TALKING, HOLD): "refuse" (the default) answers
    #: CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE / CCX_AGENT_DEVICE_BUSY, as every LOGOUT with a call on the
    #: phone is, and nothing changes; "pending": the LOGOUT is the state after the call, announced at once
    #: (AGENT_STATE_EVENT TALKING with NextAgentState LOGOUT) and taken when the call ends — the Finesse
    #: supervisor desktop's Sign Out ("If you sign out an agent who is on a call (in the Talking state), that
    #: agent is signed out when the call ends", the Finesse user guide's Team Performance gadget, second-hand).
    #: Whether Finesse or the CTI server holds that pending logout is not said, and the CTI guide's pending bits
    #: (§6.7) cover WORK and NOT_READY only: hence the choice. The agent's own LOGOUT while talking is refused
    #: either way (Finesse: an agent signs out from NOT_READY)
    supervisor_logout_while_talking: str = "refuse"
    #: the CallType of a SET_CALL_DATA_REQ (fixed part; reference §5.3 SET_CALL_DATA_REQ "CallType | 6.17", §6.17
    #: lists SET_CALL_DATA among the messages carrying one). U: the UCCX page says only "the general classification
    #: of the call type", not whether the server re-classifies the call with it, and its CallType Fields page says
    #: UCCX classifies calls. "apply" (the default): a CallType other than 0 (CALLTYPE_INVALID: every request carries
    #: the field, and a client with no type to set sends 0) becomes the call's — CALL_DATA_UPDATE_EVENT with it to
    #: the sessions that see the call's events (with what else the request changed, in one event), and the call's
    #: later BEGIN_CALL / CALL_DELIVERED / SNAPSHOT_CALL carry it (SNAPSHOT_CALL_CONF's CallType stays 0 under uccx,
    #: its page: "set to 0"); a value the session's profile does not name (under uccx one UCCX lists as reserved)
    #: is refused FAILURE_CONF (E_CTI_UNSPECIFIED_FAILURE; ICM's E_CTI_INVALID_CALL_TYPE, 34, under ucce) and
    #: nothing changes. "ignore": the field is not read (what mockcti did)
    set_call_data_call_type: str = "apply"
    #: an inbound call (ContactCenter.deliver_call) arriving at its trigger (the DNIS, a CTI route point): the
    #: bridge-mode sessions get CALL_ORIGINATED_EVENT (the caller's connection, LCS_INITIATE, CalledDevice the
    #: route point) then CALL_DELIVERED_EVENT at the route point (Connection/AlertingDeviceID the DNIS,
    #: AlertingDeviceType 74 DEVID_ROUTE_POINT) before the CALL_QUEUED_EVENT / the agent's ring, each by its
    #: call-event mask — reference §7.2 "Inbound ACD call" lists the two for bridge clients, without field values.
    #: false: not sent (a bridge sees BEGIN_CALL then CALL_QUEUED, as mockcti did before)
    route_point_events: bool = True
    #: LocalConnectionState of that CALL_DELIVERED_EVENT at the route point. U: the reference says only "LCS !=
    #: ALERTING" (§7.2) and that LCS tells a route point/queue arrival from alerting at an agent phone (§5.4);
    #: the default 5 LCS_QUEUED ("stalled/queued", §6.14) is a guess — the call waits at the route point for the
    #: script to route it
    route_point_lcs: int = 5
    #: EventCause of the two route-point events. U (not given by the reference): the default 0xFFFF CEC_NONE is
    #: the value of the UCCX examples' CALL_DELIVERED_EVENT at the agent phone (§8.10b) and of CALL_QUEUED_EVENT
    route_point_event_cause: int = 0xFFFF
    #: CSQID of the two route-point events. U: the reference does not say; false (the default) sends 0xFFFFFFFF
    #: ("if none", §5.4), as the script has not selected a CSQ when the call reaches its trigger; true sends the
    #: call's CSQ
    route_point_csq: bool = False

    def __post_init__(self) -> None:
        """The CSQs, agents and preset calls checked here, so a configuration built in Python gets the checks a
        center file gets (:func:`definition_errors`, :func:`preset_call_errors`, the same messages): two calls
        talking at one agent were both set up, the agent's line holding two active calls, an unknown agent was a
        bare ``KeyError('9999')`` from ContactCenter, a second agent 1001 replaced the first, two agents on one
        extension rang the last one's desktop for both, and an agent in an unknown CSQ was silently in none."""
        found = definition_errors(self)
        if self.calls:
            found += preset_call_errors(self.agents, self.csqs, self.calls)
        if found:
            raise CenterConfigError.of([CenterConfigError(msg, key_path=fmt_path(path), path=path)
                                        for path, msg in found])

    def agent(self, agent_id: str) -> AgentConfig | None:
        for a in self.agents:
            if a.id == agent_id:
                return a
        return None

    def csq(self, name: str) -> CSQConfig | None:
        for c in self.csqs:
            if c.name == name:
                return c
        return None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, file: str | None = None, base: str = "",
                     lines: Any = None, where: Callable[[tuple[Any, ...]], str] | None = None) -> "CenterConfig":
        """Build and check a configuration; ``base`` prefixes key paths (e.g. ``center``). Data read
        by :mod:`mockcti.located` (``lines``: the document ``base`` is in, if not ``data`` itself)
        gives each error its line. ``where``: how a message names another place of the description
        from its full key path (default: the key path, with its line when read from ``file``) — a scenario,
        whose center may come from several files, names the file and line of each."""
        builder = _Builder(file, base, data if lines is None else lines, lines is not None)
        if where is not None:
            builder.where = lambda path: where((*builder.base, *path))  # type: ignore[method-assign]
        return builder.center(data)


def _unknown_agent(agent: str, ids: list[str]) -> str:
    return f"unknown agent {agent!r}; {_allowed(agent, ids)}"


def _unknown_csq(csq: Any, names: list[str]) -> str:
    return f"unknown CSQ {csq!r}; {_allowed(str(csq), names)}"


def _ani_is_a_phone(ani: str, owner: str) -> str:
    # (as ContactCenter.check_call_data: a caller is outside the center)
    return f"ani {ani!r} is the phone of agent {owner}: a call in progress comes from outside the center"


class _PhoneLines:
    """Each agent's line in the preset calls: one call talking or ringing (QUERY_DEVICE_INFO_CONF MaxActiveCalls 1)
    and one held (MaxHeldCalls 1), as every call offered at run time is held to (ContactCenter._may_offer_to)."""

    def __init__(self, base: tuple[Any, ...] = ()) -> None:
        self.base = base
        self.on_phone: dict[tuple[str, bool], tuple[int, str]] = {}

    def add(self, i: int, agent: str, state: str) -> str | None:
        """The mistake of the call ``calls[i]`` of ``agent`` in ``state``, or None (then it is on the line)."""
        held = state == "held"
        other = self.on_phone.get((agent, held))
        if other is None:
            self.on_phone[(agent, held)] = (i, state)
            return None
        limit = ("holds one call (MaxHeldCalls 1)" if held else
                 "takes one call talking or ringing (MaxActiveCalls 1), a held one aside")
        return (f"agent {agent} already has {fmt_path((*self.base, 'calls', other[0]))} {other[1]}: an "
                f"agent's line {limit}")


def definition_errors(config: "CenterConfig") -> list[tuple[tuple[Any, ...], str]]:
    """(key path, message) of each mistake in the CSQs and agents of a configuration built in Python, as a center
    file's reader reports them: a CSQ name or id twice, an agent id or extension twice, an agent in a CSQ not
    defined, a start state (or ``after_call_state``) that is no state a configuration may name."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    for what, key in (("CSQ", "name"), ("CSQ id", "id")):
        first: dict[Any, int] = {}
        for i, c in enumerate(config.csqs):
            v = getattr(c, key)
            if first.setdefault(v, i) != i:
                errors.append((("csqs", i, key), f"duplicate {what} {v!r}" if key == "name" else f"duplicate {what} {v}"))
    names = list(dict.fromkeys(c.name for c in config.csqs))
    errors += team_errors([(i, t.name, list(t.csqs)) for i, t in enumerate(config.teams)], names)
    states = list(AGENT_STATE_NAMES)
    seen: dict[str, int] = {}
    clashes: dict[int, list[tuple[tuple[Any, ...], str]]] = {}  # (each agent's mistakes in its keys' order)
    for path, msg in phone_clash_errors([(i, {"id": a.id, "extension": a.extension, "instrument": a.instrument})
                                         for i, a in enumerate(config.agents)], fmt_path):
        clashes.setdefault(path[1], []).append((path, msg))
    for i, a in enumerate(config.agents):
        if seen.setdefault(a.id, i) != i:
            errors.append((("agents", i, "id"), f"duplicate id {a.id!r}"))
        errors += clashes.get(i, [])
        for j, n in enumerate(a.csqs):
            if n not in names:
                errors.append((("agents", i, "csqs", j), _unknown_csq(n, names)))
        if a.state not in AGENT_STATE_NAMES.values():
            name = getattr(a.state, "name", str(a.state)).removeprefix("AGENT_STATE_")
            errors.append((("agents", i, "state"), f"unknown agent state {name!r}; {_allowed(name, states)}"))
    if config.after_call_state not in AGENT_STATE_NAMES.values():
        name = getattr(config.after_call_state, "name", str(config.after_call_state)).removeprefix("AGENT_STATE_")
        errors.append((("after_call_state",), f"unknown agent state {name!r}; {_allowed(name, states)}"))
    return errors


def team_errors(teams: Sequence[tuple[int, str | None, list[Any]]],
                names: list[str]) -> list[tuple[tuple[Any, ...], str]]:
    """(key path, message) of each mistake in ``teams`` (index, the team's name if it could be read, its ``csqs``)
    against the CSQ ``names`` defined: a team named twice, a CSQ name that is not text, not defined, or listed
    twice in one team (its TEAM_CONFIG_EVENT record would come twice). The one check of a center file and of a
    CenterConfig built in Python."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    first_team: dict[str, int] = {}
    for i, name, csqs in teams:
        if name is not None and first_team.setdefault(name, i) != i:
            errors.append((("teams", i, "name"), f"duplicate team {name!r}"))
        first_at: dict[str, int] = {}
        for j, n in enumerate(csqs):
            if not isinstance(n, str):
                errors.append((("teams", i, "csqs", j), f"expected a CSQ name, got {type_name(n)}"))
            elif n not in names:
                errors.append((("teams", i, "csqs", j), _unknown_csq(n, names)))
            elif n in first_at:
                errors.append((("teams", i, "csqs", j), f"CSQ {n!r} is listed twice (also csqs[{first_at[n]}]): "
                                                        "a team has a CSQ once"))
            else:
                first_at[n] = j
    return errors


def phone_clash_errors(phones: Sequence[tuple[int, Mapping[str, str | None]]],
                       where: Callable[[tuple[Any, ...]], str]) -> list[tuple[tuple[Any, ...], str]]:
    """(key path, message) of each agent phone another agent already has: ``phones`` holds (index, the agent's
    ``id``, ``extension`` and ``instrument`` that could be read) in order, ``where`` names the key path of the first
    owner (with its line, for a file). UCCX ties a phone's ICD extension to one agent (an agent logging in on an
    extension another agent has is AGT_EXTENSION_CONFLICT, reference §6.19): two agents on one extension or
    instrument — either's extension the other's instrument too — made the phone the last one's, its calls ringing
    that desktop for both and a request naming the phone acting on the wrong agent. An agent's instrument that is
    its own extension is one phone. The one check of a center file and of a CenterConfig built in Python."""
    owner: dict[str, tuple[int, str, str | None]] = {}
    errors: list[tuple[tuple[Any, ...], str]] = []
    for i, known in phones:
        mine: set[str] = set()
        for key in ("extension", "instrument"):
            dev = known.get(key)
            if not dev or dev in mine:
                continue
            mine.add(dev)
            first = owner.setdefault(dev, (i, key, known.get("id", "?")))
            if first[0] != i:
                j, other_key, other_id = first
                who = f" of agent {known['id']}" if "id" in known else ""
                errors.append((("agents", i, key),
                               f"duplicate {key} {dev!r}{who}: it is the {other_key} of agent {other_id} "
                               f"({where(('agents', j, other_key))}); UCCX ties a phone extension to one agent"))
    return errors


def preset_call_errors(agents: Sequence[AgentConfig], csqs: Sequence[CSQConfig],
                       calls: Sequence[CallConfig]) -> list[tuple[tuple[Any, ...], str]]:
    """(key path, message) of each mistake in the preset calls of a configuration whose values are typed (one built
    in Python; a center file's are checked as it is read, with the same messages and lines): an unknown agent, call
    state or CSQ, an ANI that is an agent's phone, more calls on an agent's line than it takes."""
    ids = [a.id for a in agents]
    names = [c.name for c in csqs]
    phones = {d: a.id for a in agents for d in (a.extension, a.instrument) if d}
    lines = _PhoneLines()
    errors: list[tuple[tuple[Any, ...], str]] = []
    for i, c in enumerate(calls):
        p = ("calls", i)
        known = c.agent in ids
        if not known:
            errors.append(((*p, "agent"), _unknown_agent(c.agent, ids)))
        if c.state not in CALL_STATES:
            errors.append(((*p, "state"), f"unknown call state {c.state!r}; allowed: {', '.join(CALL_STATES)}"))
        elif known:
            clash = lines.add(i, c.agent, c.state)
            if clash is not None:
                errors.append(((*p, "state"), clash))
        if c.csq is not None and c.csq not in names:
            errors.append(((*p, "csq"), _unknown_csq(c.csq, names)))
        if c.ani in phones:
            errors.append(((*p, "ani"), _ani_is_a_phone(c.ani, phones[c.ani])))
    return errors


def as_center_config(value: Any, who: str = "ContactCenter",
                     kinds: str = "a CenterConfig, a mapping in a center file's shape or None") -> "CenterConfig":
    """What a center is built from given from Python: None (the default center), a
    :class:`CenterConfig`, or a mapping in a center file's shape (checked by
    :meth:`CenterConfig.from_mapping`: a :class:`CenterConfigError` naming each key path). Anything
    else is a TypeError naming ``who`` took it (a center file's path goes through
    :func:`load_center_file`)."""
    if value is None:
        return default_center()
    if isinstance(value, CenterConfig):
        return value
    if isinstance(value, Mapping):
        return CenterConfig.from_mapping(value)
    import reprlib

    hint = "; a center file's path: load_center_file(path)" if isinstance(value, (str, PurePath)) else ""
    raise TypeError(f"{who}: the center is {kinds}, "
                    f"not {type(value).__name__} {reprlib.repr(value)}{hint}")


def default_center() -> CenterConfig:
    """The embedded center of ``mockcti serve``: agents 1001–1004 (extensions and instruments
    3001–3004, password ``1234``) in CSQs Sales (id 1) and Support (id 2)."""
    csqs = (CSQConfig("Sales", 1), CSQConfig("Support", 2))
    agents = tuple(
        AgentConfig(id=str(1000 + n), extension=str(3000 + n), instrument=str(3000 + n), password="1234",
                    csqs=("Sales", "Support") if n in (1, 2) else (("Sales",) if n == 3 else ("Support",)),
                    team="Team1" if n <= 2 else "Team2", supervisor=(n == 4))
        for n in range(1, 5))
    return CenterConfig(agents=agents, csqs=csqs)


def load_center_file(path: str | Path) -> CenterConfig:
    """Read a center description from TOML (``.toml``) or YAML (anything else), a file of center
    keys or one with a ``center:`` section (a scenario's). Read as scenario files are
    (:mod:`mockcti.located`: a duplicate key, a YAML tag or a document nested too deep is refused),
    and every error names the file, the line and the key path."""
    from mockcti.files import Unreadable, read_regular_file
    from mockcti.located import ReadError, fmt_of, parse

    p = Path(path)
    file = str(p)
    try:  # a regular file of at most MAX_FILE_BYTES: a FIFO or a device is refused, never read
        raw = read_regular_file(p)
    except Unreadable as e:
        raise CenterConfigError(f"cannot read: {e}", file=file) from None
    problems: list[ReadError] = []  # (a duplicate key: reported with the mistakes of the data)
    try:
        data = parse(raw, file, fmt_of(file), problems)
    except ReadError as e:
        raise CenterConfigError(e.message, file=file, line=e.line, key_path=e.key_path) from None
    read_errors = [CenterConfigError(e.message, file=file, line=e.line, key_path=e.key_path) for e in problems]
    if data is None or data == {}:
        raise CenterConfigError("the file is empty: a center file describes at least its agents (agents: [] for "
                                "none); without --center the embedded default center is used", file=file, line=1)
    if not isinstance(data, Mapping):  # a list or a lone scalar (``agents`` with no colon): the line of the value
        raise CenterConfigError(f"expected a table/mapping, got {type_name(data)}", file=file,
                                line=getattr(data, "line", 1))
    try:
        if isinstance(data, dict) and "center" in data and "agents" not in data:
            config = CenterConfig.from_mapping(data["center"], file=file, base="center", lines=data)
        else:
            config = CenterConfig.from_mapping(data, file=file)
    except CenterConfigError as exc:
        if not read_errors:
            raise
        raise CenterConfigError.of(collate(read_errors + exc.errors, file)) from None
    if read_errors:
        raise CenterConfigError.of(read_errors)
    return config


# -- checking ---------------------------------------------------------------------------------------


def _allowed(bad: str, names: list[str]) -> str:
    if not names:
        return "none is defined"
    close = difflib.get_close_matches(bad, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
    return f"allowed: {shown}{hint}"


def _texts(v: Any, *, arrays: bool = False) -> Any:
    """A center file's named variables (``arrays``: named arrays' elements) with integers as text
    (``user.id: 42``), as the file's other strings take them; anything else (an array that is not a
    list, a variable that is) is left as written for :func:`named_call_data` to refuse."""
    def one(x: Any) -> Any:
        return str(x) if isinstance(x, int) and not isinstance(x, bool) else x

    if not isinstance(v, Mapping):
        return v
    if arrays:
        return {k: [one(x) for x in x_] if isinstance(x_, list) else x_ for k, x_ in v.items()}
    return {k: one(x_) for k, x_ in v.items()}


#: what a failed check gives back (its mistake recorded): the value it stands for is not used
_BAD: Any = type("_Bad", (), {"__repr__": lambda self: "<bad>"})()


class _Builder:
    TOP = ("agents", "csqs", "calls", "after_call_state", "external_answer_delay", "peripheral_id",
           "peripheral_type", "line_type", "first_call_id", "acd_failure_mode", "acd_rules", "acd",
           "control_failure_codes", "on_agent_disconnect", "ring_no_answer", "wrapup_time", "rtp_events",
           "ready_while_talking", "supervisor_reason_codes", "supervisor_logout_while_talking", "set_call_data_call_type",
           "route_point_events", "route_point_lcs", "route_point_event_cause", "route_point_csq", "teams")
    TEAM = ("name", "csqs")
    AGENT = ("id", "extension", "instrument", "password", "csqs", "team", "supervisor", "state", "reason_code")
    CSQ = ("name", "id", "wrapup_time")
    CALL = ("agent", "ani", "csq", "state", "variables", "named_variables", "named_arrays")

    def __init__(self, file: str | None, base: str, root: Any, root_has_base: bool) -> None:
        self.file, self.root, self.root_has_base = file, root, root_has_base
        self.base: tuple[Any, ...] = tuple(base.split(".")) if base else ()
        #: every mistake found so far: a check that fails raises its error, :meth:`check` records it
        #: and the checks of what does not depend on it go on
        self.errors: list[CenterConfigError] = []

    def check(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """``fn(*args, **kw)``, or :data:`_BAD` when it raised a mistake (recorded)."""
        try:
            return fn(*args, **kw)
        except CenterConfigError as exc:
            self.errors.append(exc)
            return _BAD

    def err(self, path: tuple[Any, ...], msg: str, *, reference: bool = False) -> CenterConfigError:
        """The error at ``path`` (below ``base``): the key path, and the line of the key when the
        data was read from a file (:mod:`mockcti.located`; plain data has no lines). ``reference``:
        a name that refers to an agent or CSQ not defined."""
        full = (*self.base, *path)
        _, line = locate(self.root, full if self.root_has_base else path, self.file or "")
        exc = CenterConfigError(msg, file=self.file, key_path=fmt_path(full), line=line, path=full)
        exc.reference = reference
        return exc

    def where(self, path: tuple[Any, ...]) -> str:
        """The key path of ``path`` (below ``base``) and, for data read from a file, its line: how a message
        names another place of the description (``agents[0].extension, line 5``)."""
        full = (*self.base, *path)
        _, line = locate(self.root, full if self.root_has_base else path, self.file or "")
        return fmt_path(full) + (f", line {line}" if self.file and line is not None else "")

    def mapping(self, v: Any, path: tuple[Any, ...], keys: tuple[str, ...]) -> Mapping[str, Any]:
        """``v`` when it is a mapping (else the error: what is in it is not checked); each unknown key
        is recorded, the known ones are checked."""
        if not isinstance(v, Mapping):
            raise self.err(path, f"expected a table/mapping, got {type_name(v)}")
        for k in v:
            if k not in keys:
                self.errors.append(self.err((*path, k), f"unknown key {k!r}; {_allowed(str(k), list(keys))}"))
        return v

    def string(self, v: Any, path: tuple[Any, ...], *, max_len: int = 64, empty: bool = False) -> str:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise self.err(path, f"expected a string, got {type_name(v)}")
        s = str(v)
        if not s and not empty:
            raise self.err(path, "must not be empty")
        if len(s.encode("utf-8", "surrogateescape")) > max_len:
            raise self.err(path, f"longer than {max_len} bytes")
        return s

    def integer(self, v: Any, path: tuple[Any, ...], lo: int = 0, hi: int = 0xFFFFFFFF) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(path, f"expected an integer, got {type_name(v)}{number_text_hint(v, integer=True)}")
        if not lo <= v <= hi:
            raise self.err(path, f"{v} is outside {lo}..{hi}")
        return v

    def csq_id(self, v: Any, path: tuple[Any, ...]) -> int:
        if isinstance(v, int) and not isinstance(v, bool) and v > MAX_CSQ_ID:
            raise self.err(path, f"{v} is outside 0..{MAX_CSQ_ID}: CALL_QUEUED_EVENT carries a CSQID as an INT "
                                 "(reference §5.4)")
        return self.integer(v, path, 0, MAX_CSQ_ID)

    def seconds(self, v: Any, path: tuple[Any, ...], hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:  # nan fails too
            raise self.err(path, f"expected seconds between 0 and {hi:g}, got {spelled(v)}{number_text_hint(v)}")
        return float(v)

    def state(self, v: Any, path: tuple[Any, ...]) -> AgentState:
        names = list(AGENT_STATE_NAMES)
        if isinstance(v, str):
            key = v.upper().removeprefix("AGENT_STATE_")
            if key in AGENT_STATE_NAMES:
                return AGENT_STATE_NAMES[key]
        raise self.err(path, f"unknown agent state {spelled(v)}; {_allowed(str(v), names)}")

    def choice(self, v: Any, path: tuple[Any, ...], what: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(v, str) or v not in allowed:
            raise self.err(path, f"unknown {what} {spelled(v)}; allowed: {', '.join(allowed)}")
        return v

    def boolean(self, v: Any, path: tuple[Any, ...]) -> bool:
        if not isinstance(v, bool):
            raise self.err(path, f"expected true or false, got {spelled(v)}")
        return v

    def items(self, d: Mapping[str, Any], key: str) -> list[Any]:
        raw = d.get(key, [])
        if not isinstance(raw, list):
            raise self.err((key,), f"expected a list, got {type_name(raw)}")
        return raw

    def center(self, data: Any) -> CenterConfig:
        """The configuration, or a :class:`CenterConfigError` carrying every independent mistake in
        ``data`` (sorted by line): a value whose own type is wrong hides only what is inside it, and a
        name is reported unknown only when every definition of its kind could be read (a CSQ with a
        broken name does not make each agent in it a second error)."""
        config = None
        try:
            config = self._center(data)
        except CenterConfigError as exc:  # the whole description is not a mapping: nothing else to check
            self.errors.append(exc)
        if self.errors or config is None:
            raise CenterConfigError.of(collate(self.errors, self.file))
        return config

    def _center(self, data: Any) -> CenterConfig | None:
        d = self.mapping(data, (), self.TOP)
        ck = self.check
        csq_at: dict[int, CSQConfig] = {}
        name_at: dict[int, str] = {}  # every CSQ name that could be read (its CSQ may be wrong otherwise)
        id_at: dict[int, int] = {}
        names_known = True  # every CSQ's name could be read: a name not among them is unknown
        raw_csqs = ck(self.items, d, "csqs")
        names_known &= raw_csqs is not _BAD
        for i, c in enumerate(raw_csqs if raw_csqs is not _BAD else []):
            p = ("csqs", i)
            c = ck(self.mapping, c, p, self.CSQ)
            if c is _BAD or "name" not in c:
                if c is not _BAD:
                    self.errors.append(self.err(p, "missing key 'name'"))
                names_known = False
                continue
            name = ck(self.string, c["name"], (*p, "name"), max_len=MAX_CSQ_NAME)
            cid = ck(self.csq_id, c.get("id", i + 1), (*p, "id"))
            wrap = ck(self.seconds, c["wrapup_time"], (*p, "wrapup_time"), MAX_WRAPUP) if "wrapup_time" in c else None
            if name is _BAD:
                names_known = False
            else:
                name_at[i] = name
            if cid is not _BAD:
                id_at[i] = cid
            if _BAD not in (name, cid, wrap):
                csq_at[i] = CSQConfig(name, cid, wrap)
        for what, key, at in (("CSQ", "name", name_at), ("CSQ id", "id", id_at)):
            first: dict[Any, int] = {}
            for i, v in at.items():
                if first.setdefault(v, i) != i:
                    self.errors.append(self.err(("csqs", i, key), f"duplicate {what} {v!r}" if key == "name"
                                                else f"duplicate {what} {v}"))
        csqs = list(csq_at.values())
        names = list(dict.fromkeys(name_at.values()))
        agent_at: dict[int, AgentConfig] = {}
        phone_at: dict[int, dict[str, Any]] = {}  # each agent's id, extension and instrument that could be read
        ids_known = True  # every agent's id could be read: an id not among them is unknown
        raw_agents = ck(self.items, d, "agents")
        ids_known &= raw_agents is not _BAD
        for i, a in enumerate(raw_agents if raw_agents is not _BAD else []):
            p = ("agents", i)
            a = ck(self.mapping, a, p, self.AGENT)
            if a is _BAD:
                ids_known = False
                continue
            for k in ("id", "extension"):
                if k not in a:
                    self.errors.append(self.err(p, f"missing key {k!r}"))
            acsqs = a.get("csqs", [])
            if not isinstance(acsqs, list):
                self.errors.append(self.err((*p, "csqs"), f"expected a list of CSQ names, got {type_name(acsqs)}"))
                acsqs = _BAD
            elif len(acsqs) > MAX_AGENT_CSQS:
                self.errors.append(self.err((*p, "csqs"), f"{len(acsqs)} CSQs; an agent is in at most "
                                            f"{MAX_AGENT_CSQS} (QUERY_AGENT_STATE_CONF carries at most 20 CSQ groups, "
                                            "reference §5.2)"))
            first_at: dict[str, int] = {}
            for j, n in enumerate(acsqs if acsqs is not _BAD else []):
                if not isinstance(n, str):
                    self.errors.append(self.err((*p, "csqs", j), f"expected a CSQ name, got {type_name(n)}"))
                elif n not in names and names_known:
                    self.errors.append(self.err((*p, "csqs", j), f"unknown CSQ {n!r}; {_allowed(n, names)}",
                                                reference=True))
                elif n in first_at:
                    # it was served: the agent's CSQ groups (AGENT_STATE_EVENT, QUERY_AGENT_STATE_CONF) named the
                    # CSQ twice, and a wallboard's QUERY_AGENT_QUEUE_STATISTICS counted each of its calls twice
                    self.errors.append(self.err((*p, "csqs", j), f"CSQ {n!r} is listed twice (also csqs[{first_at[n]}]): "
                                                                 "an agent is in a CSQ once"))
                else:
                    first_at[n] = j
            fields = dict(
                id=ck(self.string, a["id"], (*p, "id"), max_len=MAX_AGENT_ID) if "id" in a else _BAD,
                extension=ck(self.string, a["extension"], (*p, "extension"), max_len=15) if "extension" in a else _BAD,
                instrument=ck(self.string, a["instrument"], (*p, "instrument"), max_len=MAX_INSTRUMENT)
                if "instrument" in a else None,
                password=ck(self.string, a.get("password", "1234"), (*p, "password"), max_len=MAX_PASSWORD, empty=True),
                csqs=tuple(acsqs) if acsqs is not _BAD else _BAD,
                team=ck(self.string, a.get("team", "Default"), (*p, "team"), max_len=MAX_TEAM_NAME),
                supervisor=ck(self.boolean, a.get("supervisor", False), (*p, "supervisor")),
                state=ck(self.state, a["state"], (*p, "state")) if "state" in a else AgentState.AGENT_STATE_LOGOUT,
                reason_code=ck(self.integer, a.get("reason_code", 0), (*p, "reason_code"), 0, 0xFFFF))
            ids_known &= fields["id"] is not _BAD
            phone_at[i] = {k: fields[k] for k in ("id", "extension", "instrument") if fields[k] not in (_BAD, None)}
            if _BAD not in fields.values():
                agent_at[i] = AgentConfig(**fields)
        seen: dict[str, int] = {}
        for i, known in phone_at.items():
            if "id" in known and seen.setdefault(known["id"], i) != i:
                self.errors.append(self.err(("agents", i, "id"), f"duplicate id {known['id']!r}"))
        for path, msg in phone_clash_errors(list(phone_at.items()), self.where):
            self.errors.append(self.err(path, msg))
        agents = list(agent_at.values())
        ids = list(dict.fromkeys(k["id"] for k in phone_at.values() if "id" in k))
        calls = []
        lines = _PhoneLines(self.base)  # each agent's line takes one active call and one held (preset_call_errors)
        raw_calls = ck(self.items, d, "calls")
        for i, c in enumerate(raw_calls if raw_calls is not _BAD else []):
            p = ("calls", i)
            c = ck(self.mapping, c, p, self.CALL)
            if c is _BAD:
                continue
            if "agent" not in c:
                self.errors.append(self.err(p, "missing key 'agent'"))
                agent = _BAD
            else:
                agent = ck(self.string, c["agent"], (*p, "agent"), max_len=MAX_AGENT_ID)
            if agent is not _BAD and agent not in ids and ids_known:
                self.errors.append(self.err((*p, "agent"), _unknown_agent(agent, ids), reference=True))
            st = ck(self.choice, c.get("state", "talking"), (*p, "state"), "call state", CALL_STATES)
            if _BAD not in (agent, st) and (agent in ids or not ids_known):
                clash = lines.add(i, agent, st)
                if clash is not None:
                    self.errors.append(self.err((*p, "state") if "state" in c else p, clash))
            csq = c.get("csq")
            if csq is not None and not isinstance(csq, str) or csq is not None and csq not in names and names_known:
                self.errors.append(self.err((*p, "csq"), _unknown_csq(csq, names), reference=isinstance(csq, str)))
            var = c.get("variables", {})
            if not isinstance(var, Mapping):
                self.errors.append(self.err((*p, "variables"), "expected a mapping of call variable names to "
                                                               f"strings, got {type_name(var)}"))
                variables = _BAD
            else:
                checked = {k: ck(self.string, v, (*p, "variables", k), max_len=1 << 16, empty=True)
                           for k, v in var.items()}
                variables = checked if _BAD not in checked.values() else _BAD
            ani = ck(self.string, c.get("ani", "0600000000"), (*p, "ani"))
            owner = next((k.get("id", "?") for k in phone_at.values()
                          if ani in (k.get("extension"), k.get("instrument"))), None)
            if owner is not None:
                self.errors.append(self.err((*p, "ani"), _ani_is_a_phone(ani, owner)))
            # what BEGIN_CALL_EVENT carries (a number is text here, as for the call variables): every field wrong
            given = (ani if ani is not _BAD else "", None, variables if variables is not _BAD else None,
                     _texts(c.get("named_variables")), _texts(c.get("named_arrays"), arrays=True))
            problems = call_data_errors(*given)
            for exc in problems:
                self.errors.append(self.err((*p, *exc.key_path("variables")), str(exc)))
            if problems or _BAD in (ani, variables):
                continue
            named, arrays = check_call_data(*given)
            if _BAD not in (agent, st):
                calls.append(CallConfig(agent=agent, ani=ani, csq=csq, state=st, variables=tuple(variables.items()),
                                        named_variables=named, named_arrays=arrays))
        teams = ck(self.teams, d, names if names_known else None)
        checks: dict[str, tuple[Any, ...]] = {
            "after_call_state": (self.state,), "external_answer_delay": (self.seconds, 3600),
            "ring_no_answer": (self.seconds, 3600), "wrapup_time": (self.seconds, MAX_WRAPUP),
            "peripheral_id": (self.integer, 0, 0xFFFFFFFE), "first_call_id": (self.integer, 0, 0xFFFFFFFE),
            "peripheral_type": (self.integer, 0, 0xFFFF), "line_type": (self.integer, 0, 0xFFFF),
            "acd_failure_mode": (self.choice, "mode", ("cf", "ctierr")),
            "control_failure_codes": (self.choice, "choice", ("uccx", "icm")),
            "on_agent_disconnect": (self.choice, "choice", ON_AGENT_DISCONNECT),
            "ready_while_talking": (self.choice, "choice", READY_WHILE_TALKING),
            "supervisor_logout_while_talking": (self.choice, "choice", SUPERVISOR_LOGOUT_WHILE_TALKING),
            "set_call_data_call_type": (self.choice, "choice", SET_CALL_DATA_CALL_TYPE),
            "acd_rules": (self.boolean,), "rtp_events": (self.boolean,), "supervisor_reason_codes": (self.boolean,),
            "route_point_events": (self.boolean,), "route_point_csq": (self.boolean,),
            "route_point_lcs": (self.integer, 0, 0xFFFF), "route_point_event_cause": (self.integer, 0, 0xFFFF),
        }
        kw: dict[str, Any] = {}
        for k, (fn, *extra) in checks.items():
            if k in d:
                kw[k] = ck(fn, d[k], (k,), *extra)
        if "acd" in d:
            kw["acd"] = ck(self.acd, d["acd"])
        if self.errors:
            return None  # (center() reports them)
        return CenterConfig(agents=tuple(agents), csqs=tuple(csqs), calls=tuple(calls), teams=teams, **kw)

    def teams(self, d: Mapping[str, Any], names: list[str] | None) -> tuple[TeamConfig, ...]:
        """The ``teams`` list: each a ``name`` (a team's name, as an agent's ``team`` gives it) and the ``csqs`` it
        has, each a CSQ defined (``names``; None: some CSQ's name could not be read, so none is called unknown)."""
        found: list[TeamConfig] = []
        read: list[tuple[int, str | None, list[Any]]] = []
        ok = True
        for i, t in enumerate(self.items(d, "teams")):
            p = ("teams", i)
            t = self.check(self.mapping, t, p, self.TEAM)
            if t is _BAD:
                ok = False
                continue
            if "name" not in t:
                self.errors.append(self.err(p, "missing key 'name'"))
                name = _BAD
            else:
                name = self.check(self.string, t["name"], (*p, "name"), max_len=MAX_TEAM_NAME)
            tcsqs = t.get("csqs", [])
            if not isinstance(tcsqs, list):
                self.errors.append(self.err((*p, "csqs"), f"expected a list of CSQ names, got {type_name(tcsqs)}"))
                tcsqs = _BAD
            read.append((i, None if name is _BAD else name, [] if tcsqs is _BAD else tcsqs))
            if _BAD in (name, tcsqs):
                ok = False
            else:
                found.append(TeamConfig(name, tuple(tcsqs)))
        for path, msg in team_errors(read, names or []):
            unknown = msg.startswith("unknown CSQ")
            if unknown and names is None:
                continue
            self.errors.append(self.err(path, msg, reference=unknown))
        return tuple(found) if ok else _BAD

    def acd(self, v: Any) -> dict[str, Any]:
        """The ``acd`` table; every mistake the center's guard would refuse (:func:`center_acd_config`)
        recorded with its file, line and key path, each on its own."""
        if not isinstance(v, Mapping):
            raise self.err(("acd",), f"expected a mapping of ACD overrides, got {type_name(v)}")
        acd = dict(v)
        from mockcti.acd import AcdConfigError
        from mockcti.center.acd_guard import center_acd_config

        try:
            center_acd_config(acd)  # what the center's guard builds: refused here with file:line
        except AcdConfigError as exc:
            for path, why in exc.errors:
                self.errors.append(self.err(("acd", *path), why))
        return acd


#: the keys of a center file (and of a scenario's ``center:``), in the order errors list them
CENTER_KEYS: tuple[str, ...] = _Builder.TOP
