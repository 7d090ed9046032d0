"""``AcdGuard.check`` (line state read from the center's agent -> calls index, the model's
verdict-only :class:`~mockcti.acd.Rejection` plan, the request built only when a check reads it)
decides exactly as the straightforward reading it replaced: scan every call for the agent's legs,
read the line state, build the full :class:`~mockcti.acd.AcdRequest` and run ``AcdModel.evaluate``.
That reading is kept below as the reference; agent lines, request parameters and center configs
are random."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti import catalog
from mockcti.acd import AcdLine, AcdRequest, LineState, Operation, wire_failure
from mockcti.center import ContactCenter, Subscription, default_center
from mockcti.center.acd_guard import AcdGuard, _detail, line_state
from mockcti.center.core import Call, Leg, Refused
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CallType, CCXErrorCode, ControlFailureCode, MessageType
from mockcti.wire.enums import LocalConnectionState as LCS

L = LineState
ME = "1001"


# -- the reference: the guard as it read before the verdict-only path ---------------------------
def ref_legs(center: Any, agent: Any) -> list[tuple[Call, Leg]]:
    out = []
    for c in center.calls.values():
        for leg in c.legs.values():
            if leg.agent == agent.id:
                out.append((c, leg))
                break
    return out


def ref_line_state(legs: list[tuple[Call, Leg]]) -> LineState:
    def others(call: Call, leg: Leg) -> list[Leg]:
        return [lg for lg in call.legs.values() if lg is not leg]

    def dialling(call: Call, leg: Leg) -> bool:
        return leg.state is LCS.LCS_INITIATE or any(o.state is LCS.LCS_ALERTING for o in others(call, leg))

    def by_parties(call: Call, leg: Leg) -> LineState:
        one = L.Line1Conferenced if call.conferenced else L.Line1Connected  # a conference parties left
        return {0: one, 1: one, 2: L.Line2Conferenced}.get(len(others(call, leg)), L.Line3Conferenced)

    if not legs:
        return L.Idle
    if len(legs) == 1:
        call, leg = legs[0]
        if leg.state is LCS.LCS_ALERTING:
            return L.Delivered
        if dialling(call, leg):
            return L.Originated
        if leg.state is LCS.LCS_HOLD:
            return L.Line1Held  # a held conference too: the agent alone, the call to retrieve
        return by_parties(call, leg)
    held = [c for c, lg in legs if lg.state is LCS.LCS_HOLD]
    ringing = [c for c, lg in legs if lg.state is LCS.LCS_ALERTING]
    rest = [(c, lg) for c, lg in legs if lg.state not in (LCS.LCS_HOLD, LCS.LCS_ALERTING)]
    if any(dialling(c, lg) for c, lg in rest):
        return L.Originated
    if rest:
        call, leg = rest[0]
        if not held:
            return by_parties(call, leg)
        # a consultation and the call it was placed from, either way round (after an Alternate too)
        pair = any(call.consult_of == h.id or h.consult_of == call.id for h in held)
        return L.Line2Connected if pair else L.Held
    return L.Delivered if ringing else L.Line2AllHeld


def ref_request(agent: Any, legs: list, op: Operation, p: dict[str, Any]) -> AcdRequest:
    line_info = tuple(str(c.id) for c, _ in legs)
    talking = next((str(c.id) for c, leg in legs if leg.state is LCS.LCS_CONNECT), "")
    held = next((str(c.id) for c, leg in legs if leg.state is LCS.LCS_HOLD), "")
    call = p.get("call")
    other = p.get("other")
    kw: dict[str, Any] = {"line_info": line_info, "talking_to": talking, "held_party": held}
    if op is Operation.MakeCall:
        kw.update(dest=p.get("dest") or "", did="000002" + agent.device)
    elif op is Operation.Consult:
        kw.update(dest=p.get("dest") or "")
    elif op in (Operation.Hold, Operation.Retrieve, Operation.ClearConnection):
        kw.update(dest=str(call.id))
    elif op in (Operation.Alternate, Operation.ReConnect, Operation.Transfer) and other is not None:
        kw.update(line=str(call.id), dest=str(other.id))
    elif op is Operation.Connect:
        kw.update(dest=p.get("dest") or "")
    elif op is Operation.Bridge:  # single-step conference: dest joins the call named
        kw.update(line=str(call.id), dest=p.get("dest") or "")
    elif op is Operation.Answer:
        leg = p.get("leg")
        kw.update(phone_ringing=leg is not None and leg.state is LCS.LCS_ALERTING)
    return AcdRequest(op=op, **kw)


def ref_outcome(guard: AcdGuard, center: Any, agent: Any, op: str, params: dict[str, Any]) -> dict | None:
    """None when accepted, else the violation the guard must record (and the failure's codes)."""
    operation = Operation(op)
    legs = ref_legs(center, agent)
    state = ref_line_state(legs)
    verdict = guard.model.evaluate(AcdLine(state), ref_request(agent, legs, operation, params))
    if verdict.ok:
        return None
    check = verdict.check
    wf = wire_failure(operation)
    ccx = None if guard.mode == "ctierr" else int(wf.ccx_error or CCXErrorCode.CCX_DEFAULT_ERROR_CODE)
    return {"rule": check.rule_id, "operation": str(operation), "acd_state": str(state), "agent_id": agent.id,
            "code": check.code, "code_name": check.code_name,
            "code_text": catalog.default().lookup("cn_ngcc", check.code).description_en, "inferred": check.inferred,
            "detail": _detail(operation, state, check.explanation), "explanation": check.explanation,
            "failure_code": int(wf.cf_code), "ccx_error_code": ccx,
            # the answer the report names beside the rule
            "answer": f"CONTROL_FAILURE_CONF {ControlFailureCode(wf.cf_code).name} ({int(wf.cf_code)}), CCXErrorCode "
                      + (f"{wf.ctierr_name} (0x{catalog.default().by_name(wf.ctierr_name).code & 0xFFFFFFFF:08X})"
                         if ccx is None else f"{CCXErrorCode(ccx).name} ({ccx})"),
            "answer_type": MessageType.CONTROL_FAILURE_CONF}


def outcome(guard: AcdGuard, center: Any, agent: Any, op: str, params: dict[str, Any]) -> dict | None:
    try:
        guard.check(center, agent, op, params)
    except Refused as r:
        assert r.failure.kind == "control_failure_conf"
        ccx = None if guard.mode == "ctierr" else r.failure.ccx_error_code
        return {**r.violation, "failure_code": r.failure.failure_code, "ccx_error_code": ccx}
    return None


# -- random agent lines ---------------------------------------------------------------------------
class Center:
    """The two things the guard reads of a center: its calls, and the agent -> calls index (which
    ContactCenter keeps equal to this scan; tests/center/test_center_core.py checks that)."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = {c.id: c for c in calls}

    def agent_call_legs(self, agent_id: str) -> list[tuple[Call, Leg]]:
        return [(c, c.leg_of(agent_id)) for c in self.calls.values() if c.leg_of(agent_id) is not None]


AGENT = SimpleNamespace(id=ME, device="3001")
LEG_STATES = [LCS.LCS_ALERTING, LCS.LCS_INITIATE, LCS.LCS_CONNECT, LCS.LCS_CONNECT, LCS.LCS_HOLD, LCS.LCS_HOLD,
              LCS.LCS_NULL]
OPS = [str(o) for o in Operation]


@st.composite
def centers(draw: st.DrawFn) -> Center:
    calls = []
    # the guard remembers one-call verdicts across examples (GUARDS are shared): call IDs vary, so a
    # verdict that depended on the CallID itself would be caught
    base = draw(st.sampled_from([0, 1, 9, 16777500, 2 ** 32 - 4]))
    for i in range(draw(st.integers(0, 3))):
        cid = base + i
        consult_of = draw(st.sampled_from([None, *(c.id for c in calls)]))
        call = Call(id=cid, type=CallType.CALLTYPE_CCX_IN, ani="0600", consult_of=consult_of,
                    conferenced=draw(st.booleans()))  # joined by a CONFERENCE_CALL_REQ (Line1Conferenced)
        if draw(st.booleans()):  # the far end first, as a delivered call has it
            call.legs["0600"] = Leg("0600", None, draw(st.sampled_from(LEG_STATES)))
        if draw(st.integers(0, 4)):
            call.legs["3001"] = Leg("3001", ME, draw(st.sampled_from(LEG_STATES)))
        for n in range(draw(st.integers(0, 3))):
            agent = draw(st.sampled_from([None, "1002"]))
            call.legs[f"x{n}"] = Leg(f"x{n}", agent, draw(st.sampled_from(LEG_STATES)))
        calls.append(call)
    return Center(calls)


@st.composite
def params(draw: st.DrawFn, center: Center) -> dict[str, Any]:
    calls = list(center.calls.values()) or [Call(id=1, type=CallType.CALLTYPE_CCX_IN, ani="0600")]
    call = draw(st.sampled_from(calls))
    other = draw(st.sampled_from([None, *calls]))
    p: dict[str, Any] = {"call": call, "leg": draw(st.sampled_from([None, *call.legs.values()]))}
    if other is not None:
        p.update(other=other, other_leg=next(iter(other.legs.values()), None))
    if draw(st.booleans()):
        p["dest"] = draw(st.sampled_from(["", "3002", "0612345678", "12ab", str(call.id)]))
    return p


GUARD_CONFIGS = {
    "default": {},
    "seed sets": {"acd": {"uccx_adaptation": False}},
    "ctierr": {"acd_failure_mode": "ctierr"},
    "overrides": {"acd": {"answer_requires_delivered": False, "disabled_rules": ["ACD-1124", "ACD-1131"],
                          "allowed_states": {"ACD-1128": ["Held", "Line1Connected"], "ACD-1152": ["Held"]},
                          "transfer_allowed": ["Line3Conferenced", "Held"],
                          "clear_connection_allowed": ["Line1Connected", "Delivered"],
                          "order": {"ClearConnection": ["ACD-1159", "ACD-1158", "ACD-1157"]},
                          "transitions": {"Line1Connected": {"Consult": 1148},
                                          "Line1Held": {"Retrieve": 2140}}}},
}
GUARDS = {name: AcdGuard(dataclasses.replace(default_center(), **kw)) for name, kw in GUARD_CONFIGS.items()}


@pytest.mark.pure_python  # (a stand-in Center: the compiled AcdGuard takes a ContactCenter only)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(center=centers(), data=st.data())
def test_guard_decides_as_the_full_evaluation(center: Center, data: st.DataObject) -> None:
    legs = ref_legs(center, AGENT)
    assert line_state(center, AGENT) is ref_line_state(legs)
    for _ in range(3):
        p = data.draw(params(center))
        for op in OPS:
            operation = Operation(op)
            assert GUARDS["default"]._request(AGENT, legs, operation, p) == ref_request(AGENT, legs, operation, p)
            for name, guard in GUARDS.items():
                want = ref_outcome(guard, center, AGENT, op, p)
                assert outcome(guard, center, AGENT, op, p) == want, (name, op, p)


@pytest.mark.pure_python  # (a stand-in Center: the compiled AcdGuard takes a ContactCenter only)
def test_talking_to_is_the_first_connected_call() -> None:
    """Three calls: A held, B (a consultation of A) and C connected; Hold names C, but the party
    the agent talks to is B's (the first connected call): 1126 in Line2Connected."""
    a, b, c = (Call(id=16777500 + i, type=CallType.CALLTYPE_CCX_IN, ani="0600") for i in range(3))
    b.consult_of = a.id
    for call, state in ((a, LCS.LCS_HOLD), (b, LCS.LCS_CONNECT), (c, LCS.LCS_CONNECT)):
        call.legs["0600"] = Leg("0600", None, LCS.LCS_CONNECT)
        call.legs["3001"] = Leg("3001", ME, state)
    center = Center([a, b, c])
    for call, rule in ((c, "ACD-1126"), (b, None)):
        p = {"call": call, "leg": call.leg_of(ME)}
        got = outcome(GUARDS["default"], center, AGENT, "Hold", p)
        assert got == ref_outcome(GUARDS["default"], center, AGENT, "Hold", p)
        assert (got and got["rule"], got and got["acd_state"]) == ((rule, "Line2Connected") if rule else (None, None))


def test_guard_on_a_real_center_call_flow() -> None:
    """The same comparison on a ContactCenter driven by requests (its own index, not the fake's)."""
    c = ContactCenter(default_center())
    c.open_session(Subscription(1, "agent", 0x7, 0xFFFFFF, 0x3FF, agent_id=ME, client_id="desk1"), 0.0)
    c.handle(1, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                   agent_id=ME), 1.0)
    c.handle(1, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY), 2.0)
    agent = c.agents[ME]
    guard = c.acd
    cid, _ = c.deliver_call(3.0, agent_id=ME)
    steps = [
        M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id=agent.device),
        M.HoldCallReq(invoke_id=4, call_id=cid, connection_device_id=agent.device),
        M.RetrieveCallReq(invoke_id=5, held_call_id=cid, held_connection_device_id=agent.device),
        M.ClearConnectionReq(invoke_id=6, call_id=cid, connection_device_id=agent.device),
    ]
    seen = set()
    for t, req in enumerate([None, *steps], start=4):
        if req is not None:
            c.handle(1, req, float(t))
        seen.add(line_state(c, agent))
        calls = list(c.calls.values()) or [Call(id=cid, type=CallType.CALLTYPE_CCX_IN, ani="0600")]
        for call in calls:
            leg = call.leg_of(ME)
            for op in OPS:
                for p in ({"call": call, "leg": leg}, {"call": call, "leg": leg, "dest": "3002"}):
                    assert outcome(guard, c, agent, op, p) == ref_outcome(guard, c, agent, op, p), (op, p)
    assert seen == {L.Delivered, L.Line1Connected, L.Line1Held, L.Idle}


@pytest.mark.pure_python  # (a stand-in Center: the compiled AcdGuard takes a ContactCenter only)
def test_unknown_operation_still_raises() -> None:
    with pytest.raises(ValueError):
        GUARDS["default"].check(Center([]), AGENT, "Nope", {})


def test_violation_detail_names_operation_and_state_once():
    """Every form of a check's explanation gives a detail with the operation and the state said once."""
    from mockcti.acd import CHECKS
    from mockcti.acd import LineState as S
    from mockcti.acd import Operation as O

    expl = {c.rule_id: c.explanation for c in CHECKS}
    assert _detail(O.Hold, S.Line1Connected, expl["ACD-1124"]) == \
        "Hold in Line1Connected: dest is not the party talking to the agent."
    assert _detail(O.Hold, S.Line1Held, expl["ACD-1122"]) == "Hold in Line1Held: dest is empty."
    assert _detail(O.Play, S.Line2Conferenced, expl["ACD-1137"]).startswith(
        "Play mode 1 in Line1/Line2Conferenced (Line2Conferenced): line must be")
    assert _detail(O.Answer, S.Line1Connected, expl["ACD-1175-ACD"]).startswith(
        "Answer outside Delivered in Line1Connected: mock reuse of 1175")
    for c in CHECKS:
        for state in sorted(c.when_states or {S.Line1Held}):
            d = _detail(c.operation, state, c.explanation)
            assert d.count(f"{c.operation}") == 1 + c.explanation.partition(": ")[2].count(f"{c.operation}"), d
            assert str(state) in d, d
