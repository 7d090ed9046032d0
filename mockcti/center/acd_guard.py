"""The ACD line-state rules (:mod:`mockcti.acd`) applied to the center's call-control requests.

Each agent's calls are read as one ACD line state (error-catalogs.md §3.3 meanings: Delivered,
Originated, Line1Connected, Line1Held, Line2Connected, Held, Line2AllHeld, Line2Conferenced, …);
the request becomes an :class:`~mockcti.acd.AcdRequest` (call IDs stand for the parties: ``dest``
is the call the request names, ``line_info`` the agent's calls, ``talking_to`` the connected one,
``held_party`` the held one); a rejection is answered as CONTROL_FAILURE_CONF with the
operation's CF code and UCCX error code (``acd_failure_mode = "cf"``, the default) or with the
matching Cisco CTIERR code as the CCXErrorCode value and its name in Text
(``acd_failure_mode = "ctierr"``), and recorded as a violation naming the rule, the ACD state
and the seed-000 code with its text. The center's state does not change.

UCCX adaptation (a deliberate, documented deviation from the seed platform): a UCCX desktop
conferences, alternates and reconnects from *consultation connected, original held*
(reference §7.2), which the seed calls Line2Connected; the seed's rules only allow those
operations from Line2AllHeld/Line2Conferenced, Held/Line2Conferenced and Line1Conferenced.
:data:`UCCX_ADAPTATION` widens those three state sets so the standard UCCX flows pass: it adds
Line2Connected to Conference (ACD-1133), Alternate (ACD-1152) and ReConnect (ACD-1146), and to
ReConnect also Held (how the center reads a connected call next to a held one it is not the
consultation of) and Originated (the consultation still being dialled or ringing, the original
held), so a desktop can drop the consultation call and get the original back in each of those.
A center configured with ``acd = {uccx_adaptation = false}`` applies the seed's sets unchanged.
Everything else in the center's ``acd`` table is passed to :class:`mockcti.acd.AcdConfig`
(:func:`center_acd_config`), except that its ``transitions`` cells must be rejection codes: the line
state is read from the calls, so a next-state cell could not take effect and is refused.

Pure. Must not import the hub or the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from mockcti.acd import (
    CHECKS, AcdConfig, AcdConfigError, AcdLine, AcdModel, AcdRequest, Cell, Check, LineState, Operation,
    wire_failure,
)
from mockcti.acd.config import code_name_hint, rejection_code
from mockcti.located import spelled
from mockcti.wire.enums import (
    CCXErrorCode, ControlFailureCode, LocalConnectionState, Members, MessageType, named_code,
)

if TYPE_CHECKING:
    from mockcti.center.core import Agent, Call, ContactCenter

__all__ = ["AcdGuard", "UCCX_ADAPTATION", "center_acd_config", "line_state"]

LCS = LocalConnectionState
L = Members(LineState)  # the members as plain attributes: line_state runs for every guarded request
_ALERTING, _CONNECT, _HOLD, _INITIATE = LCS.LCS_ALERTING, LCS.LCS_CONNECT, LCS.LCS_HOLD, LCS.LCS_INITIATE

#: allowed-state additions that let the UCCX consult flows of reference §7.2 through (see module doc)
UCCX_ADAPTATION: dict[str, tuple[LineState, ...]] = {
    "ACD-1133": (L.Line2Connected,),  # Conference from consult connected + original held
    "ACD-1152": (L.Line2Connected,),  # Alternate between consult and original
    # Reconnect: drop the consult call (ringing, Originated, or connected) and retrieve the original
    "ACD-1146": (L.Line2Connected, L.Held, L.Originated),
}


def agent_legs(center: "ContactCenter", agent: "Agent") -> list[tuple["Call", Any]]:
    """(call, the agent's leg on it) for every call the agent is on, oldest call first (the
    center's agent -> calls index: what a scan of every call gives, without the scan)."""
    return center.agent_call_legs(agent.id)


def line_state(center: "ContactCenter", agent: "Agent", legs: list | None = None) -> LineState:
    """The agent's calls read as one ACD line state (§3.3 meanings).

    One call: ringing at the phone → Delivered; being dialled (the agent's connection initiated, or
    the far end ringing) → Originated; held → Line1Held, however many parties the call has (the
    agent alone, the call waiting to be retrieved — a held conference too); else Line1Connected,
    Line2Conferenced or Line3Conferenced by the number of other parties — Line1Conferenced for one
    other party on a call a CONFERENCE_CALL_REQ joined (a conference that parties left: §3.3
    Line2Conferenced --ClearConnection--> Line1Conferenced, the seed's "one party through the mixer"). Several calls, in this
    order: one being dialled (a consultation) → Originated; the agent talking on one → with a
    held one, Line2Connected when the talking call is a consultation of a held one, else Held;
    with none held (a second call ringing beside it), what the talking call alone reads; none
    talking but one ringing at the phone → Delivered (a held call does not stop the agent from
    answering another); every call held → Line2AllHeld. "Talking on a consultation of a held one"
    means either call of the pair: after an Alternate the agent talks on the original and the
    consultation is held, which is still Line2Connected (conference, transfer, alternate and
    reconnect go on as before the Alternate).
    """
    if legs is None:
        legs = agent_legs(center, agent)
    if not legs:
        return L.Idle
    if len(legs) == 1:
        call, leg = legs[0]
        if leg.state is _ALERTING:
            return L.Delivered
        others, other_ringing = _others(call, leg)
        if leg.state is _INITIATE or other_ringing:
            return L.Originated
        if leg.state is _HOLD:
            return L.Line1Held
        return _talking(call, others)
    held: list[int] = []
    held_from: list[int] = []  # the calls the held consultations were placed from
    talking = None
    ringing = False
    for call, leg in legs:
        state = leg.state
        if state is _HOLD:
            held.append(call.id)
            if call.consult_of is not None:
                held_from.append(call.consult_of)
        elif state is _ALERTING:
            ringing = True
        else:
            others, other_ringing = _others(call, leg)
            if state is _INITIATE or other_ringing:
                return L.Originated
            if talking is None:
                talking = (call, others)
    if talking is not None:
        call, others = talking
        if not held:
            return _talking(call, others)
        # a consultation and the call it was placed from, one talking, the other held: Line2Connected
        # either way round (after an Alternate between them too, as the model's own Alternate cell in
        # Line2Connected keeps Line2Connected); any other held call beside the talking one: Held
        return L.Line2Connected if call.consult_of in held or call.id in held_from else L.Held
    return L.Delivered if ringing else L.Line2AllHeld


def _talking(call: "Call", others: int) -> LineState:
    """The agent connected on ``call`` with ``others`` other parties."""
    if others <= 1:
        return L.Line1Conferenced if call.conferenced else L.Line1Connected
    return L.Line2Conferenced if others == 2 else L.Line3Conferenced


def _others(call: "Call", leg: Any) -> tuple[int, bool]:
    """How many legs of ``call`` are not ``leg``, and whether one of them is ringing."""
    n, ringing = 0, False
    for lg in call.legs.values():
        if lg is not leg:
            n += 1
            ringing = ringing or lg.state is _ALERTING
    return n, ringing


#: operation name -> Operation, without the enum call per request
_OPERATIONS: dict[str, Operation] = {str(o): o for o in Operation}
#: the guard's line values (the center tracks no SRF state or pre-hold state): immutable, shared
_LINES: dict[LineState, AcdLine] = {s: AcdLine(s) for s in LineState}
#: how the request's ``dest`` and ``line`` are read from the center's parameters
_DEST_IS_CALL = frozenset({Operation.Hold, Operation.Retrieve, Operation.ClearConnection})
_DEST_IS_DIALED = frozenset({Operation.MakeCall, Operation.Consult, Operation.Connect})
_LINE_AND_DEST = frozenset({Operation.Alternate, Operation.ReConnect, Operation.Transfer})
_MAKE_CALL, _ANSWER, _BRIDGE = Operation.MakeCall, Operation.Answer, Operation.Bridge
#: operations whose request, when they name the agent's only call, is built from that call alone
#: (its CallID as ``dest``, ``line_info`` and the talking/held party) and its connection state
_ONE_CALL_OPS = _DEST_IS_CALL | {_ANSWER}
#: the parameter tests that cannot tell one CallID from another when the request's call IDs all
#: name the same call: emptiness, equality and membership between them, the number pattern (any
#: decimal CallID matches it), the group/extension/system prefixes (a decimal CallID has no
#: leading zeros), and tests of fields the guard sets to constants
_ID_BLIND_TESTS = frozenset({
    "dest_empty", "dest_invalid", "dest_not_group_ext_sys", "dest_not_talking_to", "dest_not_held_party",
    "dest_not_in_line_info", "line_not_talking_to", "line_not_in_line_info", "line_dest_bad", "mode_not_0_or_1",
    "mode_not_0", "not_yealink", "phone_state_wrong", "answer_key_failed",
})
_UNSEEN: Any = object()


class _IdBlindPlans:
    """``plan in self``: every step of the plan is an ID-blind test (or none), so its verdict for a
    one-call request depends only on the connection's state. Worked out once per plan."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[Any, bool] = {}

    def __contains__(self, plan: Any) -> bool:
        blind = self._known.get(plan)
        if blind is None:
            blind = self._known[plan] = all(
                step.check.param is None or step.check.param in _ID_BLIND_TESTS for step in plan.steps)
        return blind


def _code_text(code: int) -> str:
    """The seed-000 text of a cn_ngcc code (``catalog/cn_ngcc.toml``, English), for the violation."""
    from mockcti import catalog

    return catalog.default().lookup("cn_ngcc", code).description_en


def center_acd_config(acd: Any) -> AcdConfig:
    """The :class:`~mockcti.acd.AcdConfig` of a center's ``acd`` table (``uccx_adaptation`` applied).

    :class:`~mockcti.acd.AcdConfigError` carrying every independent mistake, each with its key path
    below ``acd`` — the center-file loader names the file, line and key of each. A ``transitions`` cell
    must be a rejection code: the center reads each agent's line state from its calls
    (:func:`line_state`), so the next state a cell names (or ``"unchanged"``) could never take effect —
    it is refused rather than silently ignored (once: not also as an unknown state name).
    """
    raw = dict(acd or {})
    errors: list[tuple[tuple[Any, ...], str]] = []
    adapt = raw.pop("uccx_adaptation", True)
    if not isinstance(adapt, bool):
        errors.append((("uccx_adaptation",), f"expected true or false, got {spelled(adapt)}"))
    checked = dict(raw)
    table = raw.get("transitions")
    if isinstance(table, Mapping):
        checked["transitions"] = {st_name: dict(row) if isinstance(row, Mapping) else row
                                  for st_name, row in table.items()}
        for st_name, row in checked["transitions"].items():  # the names as written: the error's key path
            for op_name, value in row.items() if isinstance(row, dict) else ():
                if isinstance(value, str) and rejection_code(value) is not None:
                    continue  # a code by its cn_ngcc name (ACD_HOLD_BAD_STATE): AcdConfig takes it as the number
                if not (isinstance(value, int) or getattr(value, "code", None) is not None):
                    hint = code_name_hint(value) if isinstance(value, str) else ""
                    why = (f"{hint}" if hint else
                           "the center reads each agent's ACD state from its calls, so a next state given here "
                           "would have no effect")
                    errors.append((("transitions", st_name, op_name),
                                   f"a center takes only rejection codes in transitions, got {spelled(value)}; {why} "
                                   f"(give a cn_ngcc code, by number or name — 1128 or ACD_HOLD_BAD_STATE —, to "
                                   f"refuse {op_name} in {st_name}, or leave the cell out)"))
                    row[op_name] = Cell()  # (said here; the names around it are still checked)
    try:
        config = AcdConfig.from_mapping(checked)  # every key, state, operation and code checked first
    except AcdConfigError as exc:
        errors += exc.errors
    if errors:
        raise AcdConfigError(errors)
    if adapt:
        extra = dict(raw.get("allowed_states", {}))
        for rid, states in UCCX_ADAPTATION.items():
            if rid not in extra:  # an explicit override in the center file wins
                allowed = next(c.allowed_states for c in CHECKS if c.rule_id == rid) or frozenset()
                extra[rid] = sorted(str(s) for s in allowed | set(states))
        raw["allowed_states"] = extra
        config = AcdConfig.from_mapping(raw)
    return config


def _detail(operation: Operation, state: LineState, explanation: str) -> str:
    """What the violation says: the operation and the ACD state it was refused in, then why, once.
    An explanation opens with what it is about ("Hold: dest is empty.", "Play mode 0: …"): the state
    goes there ("Hold in Line1Held: dest is empty."); one whose opening already names the state
    ("Hold in Line1Connected: …", a configured cell's "Hold in Line1Connected: rejected by …") is
    the detail as it is; one naming several states gets the state in brackets. Anything else is
    prefixed with "<operation> in <state>: "."""
    about, sep, why = explanation.partition(": ")
    if not sep or not about.startswith(str(operation)):
        return f"{operation} in {state}: {explanation}"
    if about.endswith(f" in {state}"):
        return explanation
    if " in " in about:  # "Play mode 1 in Line1/Line2Conferenced": which of them
        return f"{about} ({state}): {why}"
    return f"{about} in {state}: {why}"


class AcdGuard:
    def __init__(self, config: Any) -> None:
        try:
            acd = center_acd_config(config.acd)
        except AcdConfigError as exc:  # every mistake, each named by its key path below acd
            raise exc.under("acd") from None
        self.model = AcdModel(acd)
        self.mode = config.acd_failure_mode
        #: verdicts of one-call requests, by (plan, connection state, no connection named)
        self._verdicts: dict[tuple[Any, Any, bool], Check | None] = {}
        self._id_blind = _IdBlindPlans()

    def line_state_name(self, center: "ContactCenter", agent: "Agent") -> str:
        return str(line_state(center, agent))

    def check(self, center: "ContactCenter", agent: "Agent", op: str, params: dict[str, Any]) -> None:
        """Raise :class:`~mockcti.center.core.Refused` when the ACD rules reject ``op`` for ``agent``.

        Only the verdict is needed, so this asks the model's :class:`~mockcti.acd.Rejection` plan
        of (operation, line state) rather than ``evaluate``; the request is built only when a check
        that can fail in this state reads it.
        """
        operation = _OPERATIONS.get(op) or Operation(op)
        legs = center.agent_call_legs(agent.id)
        state = line_state(center, agent, legs)
        plan = self.model.rejection(operation, state)
        if not plan.steps:
            check = plan.otherwise
        elif len(legs) == 1 and operation in _ONE_CALL_OPS and params.get("call") is legs[0][0] \
                and (params.get("leg") is None or params.get("leg") is legs[0][1]):
            # the agent's only call is the one named: the request is the same up to the CallID, which
            # no check of an ID-blind plan can tell apart (see _ID_BLIND_TESTS) — such a plan gives one
            # verdict per (plan, the agent's connection state, whether the request named the connection)
            key = (plan, legs[0][1].state, params.get("leg") is None)
            check = self._verdicts.get(key, _UNSEEN)
            if check is _UNSEEN:
                check = plan.reject(_LINES[state], self._request(agent, legs, operation, params))
                if plan in self._id_blind:
                    self._verdicts[key] = check
        else:
            check = plan.reject(_LINES[state], self._request(agent, legs, operation, params))
        if check is not None:
            self._refuse(agent, operation, state, check)

    def _refuse(self, agent: "Agent", operation: Operation, state: LineState, check: Check) -> NoReturn:
        from mockcti.center.core import Failure, Refused

        from mockcti import catalog

        wf = wire_failure(operation)
        text = catalog.code_text(check.code_name, check.code, check.explanation)
        if self.mode == "ctierr":
            entry = catalog.default().by_name(wf.ctierr_name)
            assert entry.code is not None  # (every CTIERR name of WIRE_FAILURES has its code in the catalog)
            failure = Failure("control_failure_conf", failure_code=int(wf.cf_code),
                              ccx_error_code=entry.code & 0xFFFFFFFF, text=f"{wf.ctierr_name}: {text}")
        else:
            failure = Failure("control_failure_conf", failure_code=int(wf.cf_code),
                              ccx_error_code=int(wf.ccx_error or CCXErrorCode.CCX_DEFAULT_ERROR_CODE), text=text)
        raise Refused(failure, violation={
            "rule": check.rule_id, "operation": str(operation), "acd_state": str(state), "agent_id": agent.id,
            "code": check.code, "code_name": check.code_name, "code_text": _code_text(check.code),
            "inferred": check.inferred, "detail": _detail(operation, state, check.explanation),
            "explanation": check.explanation,
            # what the client got, as the report names it beside the rule
            "answer": f"CONTROL_FAILURE_CONF {named_code(ControlFailureCode, failure.failure_code)}, CCXErrorCode "
                      + (f"{wf.ctierr_name} (0x{failure.ccx_error_code:08X})" if self.mode == "ctierr"
                         else named_code(CCXErrorCode, failure.ccx_error_code)),
            "answer_type": MessageType.CONTROL_FAILURE_CONF,
        })

    def _request(self, agent: "Agent", legs: list, op: Operation, p: dict[str, Any]) -> AcdRequest:
        line_info = []
        talking = held = ""
        for call, leg in legs:  # the parties: each call's ID; the first connected and the first held one
            cid = str(call.id)
            line_info.append(cid)
            if leg.state is _CONNECT:
                talking = talking or cid
            elif leg.state is _HOLD:
                held = held or cid
        dest = line = did = ""
        phone_ringing = True
        if op in _DEST_IS_CALL:
            dest = str(p["call"].id)
        elif op in _DEST_IS_DIALED:  # Connect: single-step transfer re-routes the party to dest (§3.2 derived facts)
            dest = p.get("dest") or ""
            if op is _MAKE_CALL:
                did = "000002" + agent.device
        elif op in _LINE_AND_DEST:
            other = p.get("other")
            if other is not None:
                line, dest = str(p["call"].id), str(other.id)
        elif op is _BRIDGE:  # single-step conference: dest joins the call named (the line)
            line, dest = str(p["call"].id), p.get("dest") or ""
        elif op is _ANSWER:
            leg = p.get("leg")
            phone_ringing = leg is not None and leg.state is _ALERTING
        return AcdRequest(op=op, dest=dest, line=line, line_info=tuple(line_info), talking_to=talking,
                          held_party=held, did=did, phone_ringing=phone_ringing)
