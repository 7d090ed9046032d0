"""The agent state machine as an agent desktop and a wallboard see it (reference §5.2, §6.4, §6.7, §6.19,
§7.2): AGENT_STATE_EVENT's fields, who receives it, which SET_AGENT_STATE_REQs are refused. The center is
driven with explicit ``now`` values (it reads no clock)."""

from __future__ import annotations

import struct

import pytest

from mockcti.center import ContactCenter, default_center
from mockcti.wire import Dialect, encode
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode

from center_world import agent_sub, bridge_sub, only


def _center(config=None):
    c = ContactCenter(config or default_center(), now=0.0)
    for sub in (agent_sub(1, "1001"), agent_sub(2, "1002"), bridge_sub(9)):
        c.open_session(sub, 0.0)
    return c


def _state_req(c, now, state, reason=0, *, sid=1, **kw):
    if state == AS.AGENT_STATE_LOGIN and c.subs[sid].agent_id:  # a LOGIN names its agent (§5.2): the session's
        kw.setdefault("agent_id", c.subs[sid].agent_id)
    return c.handle(sid, M.SetAgentStateReq(invoke_id=1, agent_state=int(state), event_reason_code=reason, **kw), now)


def _duration_on_the_wire(ev):
    """StateDuration, the UINT at offset 16 of AGENT_STATE_EVENT's fixed part (§5.2), after the 8-byte header."""
    return struct.unpack_from(">I", encode(ev, Dialect.uccx(14)), 8 + 16)[0]


def test_state_duration_is_the_seconds_in_the_current_state():
    """§5.2 StateDuration: "seconds in current state". An event that announces a new state (or a new reason
    code) says 0; the same state set again — READY asked for twice, NOT_READY with the reason it has, a
    supervisor's change to what the agent already is — re-announces the state the agent is in, with the
    whole seconds since it entered it, to the agent's desktop and to the bridges (a wallboard)."""
    c = _center()
    _state_req(c, 10.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    out = _state_req(c, 20.0, AS.AGENT_STATE_READY)
    assert [_duration_on_the_wire(e) for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [0]
    out = _state_req(c, 95.0, AS.AGENT_STATE_READY)
    for sid in (1, 9):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_state, ev.state_duration, _duration_on_the_wire(ev)) == (AS.AGENT_STATE_READY, 75, 75)
    out = _state_req(c, 100.0, AS.AGENT_STATE_NOT_READY, 5)
    assert only(out, 9, MT.AGENT_STATE_EVENT)[0].state_duration == 0
    out = _state_req(c, 130.7, AS.AGENT_STATE_NOT_READY, 5)  # whole seconds
    assert only(out, 9, MT.AGENT_STATE_EVENT)[0].state_duration == 30
    out = _state_req(c, 140.0, AS.AGENT_STATE_NOT_READY, 7)  # another reason: a new state for a wallboard
    assert only(out, 9, MT.AGENT_STATE_EVENT)[0].state_duration == 0
    out = c.set_agent_state(200.0, "1001", AS.AGENT_STATE_NOT_READY, 7)  # a supervisor
    assert [e.state_duration for e in only(out, 9, MT.AGENT_STATE_EVENT)] == [60]
    out = _state_req(c, 230.0, AS.AGENT_STATE_READY)  # READY again: a new state, 0 (not the 75 s above)
    assert [e.state_duration for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [0]


def test_ready_asked_for_again_keeps_the_agents_place_in_the_longest_ready_order():
    """Routing takes the longest-READY agent (README, §7.2). An agent that asks for READY while READY (a
    desktop re-sending its state, StateDuration going on) has not become READY again: it keeps its place,
    and the next call of its CSQ still goes to it, not to the agent that became READY after it."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)
    _state_req(c, 3.0, AS.AGENT_STATE_LOGIN, sid=2, agent_password="1234")
    _state_req(c, 4.0, AS.AGENT_STATE_READY, sid=2)
    _state_req(c, 5.0, AS.AGENT_STATE_READY)  # 1001 again
    _, out = c.deliver_call(6.0, csq="Sales")
    assert [e.agent_id for e in only(out, 9, MT.AGENT_STATE_EVENT)] == ["1001"]
    assert only(out, 1, MT.CALL_DELIVERED_EVENT) and not only(out, 2, MT.CALL_DELIVERED_EVENT)


def test_an_authenticate_only_login_checks_the_password_and_changes_no_state():
    """§5.2/§6.20 ForcedFlag 2 with LOGIN: "authenticate only, no state change". A desktop checks the
    agent's credentials before it logs in (or while the agent is logged in elsewhere): SET_AGENT_STATE_CONF
    for the right password, CONTROL_FAILURE_CONF for a wrong one, and never an AGENT_STATE_EVENT."""
    c = _center()

    def authenticate(now, password):
        return c.handle(1, M.SetAgentStateReq(invoke_id=4, agent_state=int(AS.AGENT_STATE_LOGIN), forced_flag=2,
                                              agent_id="1001", agent_instrument="unknown",
                                              agent_password=password), now)

    out = authenticate(1.0, "1234")
    assert [d.message for d in out] == [M.SetAgentStateConf(invoke_id=4)]
    assert c.agents["1001"].state is AS.AGENT_STATE_LOGOUT
    [d] = authenticate(2.0, "nope")
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF and d.message.ccx_error_code == 88009
    _state_req(c, 3.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 4.0, AS.AGENT_STATE_READY)
    out = authenticate(5.0, "1234")  # logged in: still only a check
    assert [d.message for d in out] == [M.SetAgentStateConf(invoke_id=4)]
    assert c.agents["1001"].state is AS.AGENT_STATE_READY


def test_the_login_mask_lets_the_event_of_a_login_through():
    """§6.7 AGENT_LOGIN_MASK 0x1 / AGENT_LOGOUT_MASK 0x2: a wallboard that counts who is logged in asks
    for these two. UCCX has no login state (§6.4): a login is announced as NOT_READY with reason AGT_LOGON
    (§7.2), and that event is the one the login mask lets through — as does NOT_READY's own bit."""
    c = _center()
    c.open_session(bridge_sub(8, state_mask=0x1 | 0x2), 0.0)
    c.open_session(bridge_sub(7, state_mask=0x4), 0.0)  # NOT_READY only
    out = _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    for sid in (8, 7):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_state, ev.event_reason_code, ev.agent_id) == (AS.AGENT_STATE_NOT_READY, 32760, "1001")
    assert only(_state_req(c, 2.0, AS.AGENT_STATE_READY), 8, MT.AGENT_STATE_EVENT) == []
    out = _state_req(c, 3.0, AS.AGENT_STATE_NOT_READY, 5)  # a NOT_READY that is no login
    assert only(out, 8, MT.AGENT_STATE_EVENT) == [] and only(out, 7, MT.AGENT_STATE_EVENT)
    [ev] = only(_state_req(c, 4.0, AS.AGENT_STATE_LOGOUT, 9), 8, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_LOGOUT, 9)
    out = c.set_agent_state(5.0, "1001", AS.AGENT_STATE_LOGIN)  # the administration logs the agent in
    assert [e.event_reason_code for e in only(out, 8, MT.AGENT_STATE_EVENT)] == [32760]


@pytest.mark.parametrize("reason, what", [(32760, "a system-generated code"), (32741, "a system-generated code"),
                                          (40000, "out of range"), (65535, "out of range")])
@pytest.mark.parametrize("state", [AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_LOGOUT])
def test_a_reason_code_outside_the_administrators_range_is_refused(reason, what, state):
    """§6.19: 1..~32740 are the administrator's Not Ready / Logout reason codes, 32741..32767 are
    generated by the system (AGT_LOGON, AGT_RNA, AGT_CONN_DOWN …) and nothing is above. A desktop asking
    for NOT_READY with AGT_LOGON would show every wallboard a login that did not happen (and pass the
    login mask), 40000 is no code at all: CONTROL_FAILURE_CONF CF_VALUE_OUT_OF_RANGE / CCX_INVALID_ARGUMENT,
    as for an AgentState out of range; the agent stays as it was, nobody gets an event. 32740 is taken."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)
    [d] = _state_req(c, 3.0, state, reason)
    assert d.message == M.ControlFailureConf(
        invoke_id=1, failure_code=3, ccx_error_code=88010,
        text=f"EventReasonCode {reason} is {what}; a client's reason codes are 1..32740 (0: none)")
    assert c.agents["1001"].state is AS.AGENT_STATE_READY
    [ev] = only(_state_req(c, 4.0, state, 32740), 9, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (state, 32740)


@pytest.mark.parametrize("phone", ["3002", "9999"])
def test_a_bridge_naming_an_agent_and_another_phone_is_inconsistent_agent_data(phone):
    """A bridge (a supervisor's tool, a CRM connector) logs agent 1001 in on a phone: 3002 is agent 1002's,
    9999 no agent's. §7.1: agent data that do not match each other are E_CTI_INCONSISTENT_AGENT_DATA; the
    request was applied to 1001 as if its phone were 3002 (READY for 1001 "on 3002" too)."""
    c = _center()
    [d] = c.handle(9, M.SetAgentStateReq(invoke_id=3, agent_state=int(AS.AGENT_STATE_LOGIN), agent_password="1234",
                                         agent_id="1001", agent_instrument=phone), 1.0)
    assert d.message == M.FailureConf(invoke_id=3, status=32,
                                      text=f"agent_instrument '{phone}' is not the phone of agent '1001'")
    assert c.agents["1001"].state is AS.AGENT_STATE_LOGOUT
    out = c.handle(9, M.SetAgentStateReq(invoke_id=4, agent_state=int(AS.AGENT_STATE_LOGIN), agent_password="1234",
                                         agent_id="1001", agent_instrument="3001"), 2.0)
    assert out[0].message == M.SetAgentStateConf(invoke_id=4)


@pytest.mark.parametrize("kw", [dict(agent_id="1001", agent_instrument="3002"),
                                dict(agent_id="1001", agent_extension="3002"),
                                dict(agent_instrument="3001", agent_extension="3002")])
def test_a_query_naming_an_agent_and_another_phone_is_inconsistent_agent_data(kw):
    """QUERY_AGENT_STATE_REQ names the agent by AgentID, AgentExtension and/or AgentInstrument (§5.2): a
    wallboard naming 1001 and 1002's phone got 1001's state as if nothing were wrong."""
    c = _center()
    [d] = c.handle(9, M.QueryAgentStateReq(invoke_id=5, **kw), 1.0)
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == 32
    [d] = c.handle(9, M.QueryAgentStateReq(invoke_id=6, agent_id="1001", agent_extension="3001",
                                           agent_instrument="3001"), 2.0)
    assert d.message.TYPE is MT.QUERY_AGENT_STATE_CONF and d.message.agent_id == "1001"


@pytest.mark.parametrize("how", ["talking on an ACD call", "on hold", "a direct call"])
def test_logout_with_a_call_on_the_phone_is_one_refusal(how):
    """An agent cannot log out with a call on its phone. The refusal was CONTROL_FAILURE_CONF
    CF_INVALID_OBJECT_STATE with CCX_AGENT_DEVICE_BUSY (88005, as in the §8.9 example) when the call had left
    the agent NOT_READY (a direct call), but CCX_DEFAULT_ERROR_CODE 0 ("cannot go from TALKING to LOGOUT")
    when it was an ACD call: a desktop telling the agent why got two answers for one situation."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)
    if how == "a direct call":  # agent 1002 calls 1001's extension: 1001 stays NOT_READY (AGT_NON_ICD)
        _state_req(c, 3.0, AS.AGENT_STATE_LOGIN, sid=2, agent_password="1234")
        [conf] = only(c.handle(2, M.MakeCallReq(invoke_id=5, agent_instrument="3002", dialed_number="3001"), 4.0),
                      2, MT.MAKE_CALL_CONF)
        cid = conf.new_call_id
    else:
        cid, _ = c.deliver_call(4.0, csq="Sales")
    if how != "ringing (RESERVED)":
        c.handle(1, M.AnswerCallReq(invoke_id=2, call_id=cid, connection_device_id="3001"), 5.0)
    if how == "on hold":
        c.handle(1, M.HoldCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"), 6.0)
    before = c.agents["1001"].state
    assert before is {"a direct call": AS.AGENT_STATE_NOT_READY}.get(how, AS.AGENT_STATE_TALKING)
    [d] = _state_req(c, 7.0, AS.AGENT_STATE_LOGOUT, 9)
    assert d.message == M.ControlFailureConf(invoke_id=1, failure_code=22, ccx_error_code=88005,
                                             text="agent 1001 has a call; it cannot be logged out now")
    assert c.agents["1001"].state is before


@pytest.mark.parametrize("who", ["the agent", "its supervisor", "the administration"])
def test_logout_while_reserved_withdraws_the_call_on_every_path(who):
    """An ACD call ringing at a RESERVED agent is offered, not taken ("an agent can become RESERVED but never take
    a call", Finesse): the agent's own LOGOUT was refused CCX_AGENT_DEVICE_BUSY "has a call", while its NOT_READY,
    its supervisor's LOGOUT and the control API's withdrew the call back to the queue. One rule now: the phone stops
    ringing (CALL_CONNECTION_CLEARED CEC_CALL_NOT_ANSWERED, END_CALL to the desktop), the requester is confirmed,
    the agent is LOGOUT, the bridge sees the call queued again and routed to the next READY agent. Default center:
    1003 (Sales, Team2) supervised by 1004; 1001 (Sales) the next READY agent."""
    c = ContactCenter(default_center(), now=0.0)
    for sub in (agent_sub(1, "1003"), agent_sub(2, "1001"), agent_sub(4, "1004", services=0x87), bridge_sub(9)):
        c.open_session(sub, 0.0)
    for sid in (1, 2, 4):
        _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, sid=sid, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)          # 1003 READY first: the call rings there
    cid, _ = c.deliver_call(3.0, csq="Sales")
    assert c.agents["1003"].state is AS.AGENT_STATE_RESERVED
    _state_req(c, 4.0, AS.AGENT_STATE_READY, sid=2)   # 1001 READY meanwhile: the next one offered the call
    if who == "the agent":
        out = _state_req(c, 5.0, AS.AGENT_STATE_LOGOUT, 9)
        assert only(out, 1, MT.SET_AGENT_STATE_CONF) == [M.SetAgentStateConf(invoke_id=1)]
    elif who == "its supervisor":
        out = _state_req(c, 5.0, AS.AGENT_STATE_LOGOUT, 9, sid=4, agent_id="1003")
        assert only(out, 4, MT.SET_AGENT_STATE_CONF) == [M.SetAgentStateConf(invoke_id=1)]
    else:
        out = c.set_agent_state(5.0, "1003", AS.AGENT_STATE_LOGOUT, 9)
    assert not [d for d in out if d.message.TYPE in (MT.CONTROL_FAILURE_CONF, MT.FAILURE_CONF)]
    desk = [d.message.TYPE.name for d in out if d.session_id == 1]
    assert [t for t in desk if t != "SET_AGENT_STATE_CONF"] == [
        "CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    [cleared] = only(out, 1, MT.CALL_CONNECTION_CLEARED_EVENT)
    assert cleared.event_cause == 10  # CEC_CALL_NOT_ANSWERED, as after a ring-no-answer
    for sid in (1, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)
                if e.agent_id == "1003"] == [(AS.AGENT_STATE_LOGOUT, 9)]
    assert [e.call_id for e in only(out, 9, MT.CALL_QUEUED_EVENT)] == [cid]
    assert [e.call_id for e in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [cid]  # on to the next READY agent
    assert c.agents["1003"].state is AS.AGENT_STATE_LOGOUT and c.agents["1001"].state is AS.AGENT_STATE_RESERVED


def _talking(c, now=5.0):
    """Agent 1001 logged in, READY, talking on a Sales call (the agent's desktop is session 1)."""
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)
    cid, _ = c.deliver_call(3.0, csq="Sales")
    c.handle(1, M.AnswerCallReq(invoke_id=2, call_id=cid, connection_device_id="3001"), now)
    assert c.agents["1001"].state is AS.AGENT_STATE_TALKING
    return cid


#: NextAgentState (tag 123, USHORT) as a v14 floating field: 1-byte tag, 1-byte length (§2.3, §5.2)
def _next_state_field(state):
    return bytes([123, 2]) + struct.pack(">H", int(state))


@pytest.mark.parametrize("want, mask", [(AS.AGENT_STATE_WORK, 0x40), (AS.AGENT_STATE_WORK_READY, 0x40),
                                        (AS.AGENT_STATE_NOT_READY, 0x80), (AS.AGENT_STATE_READY, 0x10)])
def test_a_state_asked_for_during_a_call_is_announced_with_next_agent_state(want, mask):
    """§5.2 AGENT_STATE_EVENT tag 123 NextAgentState (ICM: "the next agent state (if known)") and §6.7's
    AGENT_TALKING_PENDING_WORK_MASK 0x40 / AGENT_TALKING_PENDING_NOT_READY_MASK 0x80 ("talking pending work" /
    "talking pending not ready" AGENT_STATE_EVENTs). WORK or NOT_READY asked for while TALKING was confirmed
    and kept for after the call, and nobody was told: a desktop could not show "Not Ready after this call",
    and a wallboard asking for the pending bits only got nothing ever. Now the agent's sessions and the
    bridges whose mask selects it get AGENT_STATE_EVENT AgentState TALKING (still), NextAgentState the
    pending state; the mask bit is the pending kind's (a pending READY has none: TALKING's; Unified CCX refuses
    it, so it is pending only with ready_while_talking = "pending": see the test below)."""
    import dataclasses

    c = _center(dataclasses.replace(default_center(), ready_while_talking="pending"))
    c.open_session(bridge_sub(8, state_mask=mask), 0.0)
    c.open_session(bridge_sub(7, state_mask=0xFF & ~mask), 0.0)  # every other bit
    _talking(c)
    out = _state_req(c, 9.0, want, 6 if want is AS.AGENT_STATE_NOT_READY else 0)
    assert out[0].message == M.SetAgentStateConf(invoke_id=1)
    for sid in (1, 9, 8):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_state, ev.csq_state, ev.next_agent_state, ev.state_duration, ev.agent_id) \
            == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_TALKING, want, 4, "1001")
        assert _next_state_field(want) in encode(ev, Dialect.uccx(14))
    assert only(out, 7, MT.AGENT_STATE_EVENT) == []
    assert c.agents["1001"].state is AS.AGENT_STATE_TALKING
    # the call ends: the pending state is taken, and that event has no NextAgentState
    out = c.hang_up(20.0, next(iter(c.calls)))
    [ev] = only(out, 9, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.next_agent_state) == (want, None)


def test_the_events_before_and_after_a_pending_state_carry_no_next_agent_state():
    """NextAgentState is sent only while a state is pending: the TALKING event of the answer and the
    after-call state's event have none (tag 123 is absent from their bytes)."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_READY)
    cid, _ = c.deliver_call(3.0, csq="Sales")
    out = c.handle(1, M.AnswerCallReq(invoke_id=2, call_id=cid, connection_device_id="3001"), 5.0)
    [talking] = only(out, 1, MT.AGENT_STATE_EVENT)
    assert talking.next_agent_state is None
    out = c.set_agent_state(6.0, "1001", AS.AGENT_STATE_NOT_READY, 7)  # a supervisor, during the call
    [ev] = only(out, 9, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.next_agent_state, ev.event_reason_code) == (AS.AGENT_STATE_TALKING,
                                                                           AS.AGENT_STATE_NOT_READY, 0)
    [ev] = only(c.hang_up(8.0, cid), 1, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code, ev.next_agent_state) == (AS.AGENT_STATE_NOT_READY, 7, None)


@pytest.mark.parametrize("codes, failure", [("uccx", ControlFailureCode.CF_INVALID_OBJECT_STATE),
                                            ("icm", ControlFailureCode.CF_INVALID_AGENT_WORKMODE)])
@pytest.mark.parametrize("held", [False, True])
def test_ready_asked_for_while_talking_on_an_acd_call_is_refused_by_uccx(codes, failure, held):
    """The Finesse 12.5(1) developer guide, User—Change Agent State, coresident Finesse with Unified CCX: "Unified
    CCX does not allow an agent to set a pending state of READY while that agent is talking on an ICD call",
    errorData 265 CF_INVALID_AGENT_WORKMODE (UCCX's §6.7 mask has pending bits for WORK and NOT_READY only).
    The mock took it as the state after the call (SET_AGENT_STATE_CONF, a TALKING event with NextAgentState
    READY, READY when the call ended). Now: CONTROL_FAILURE_CONF (CF_INVALID_OBJECT_STATE, UCCX publishing CF
    0-22; 265 with control_failure_codes = "icm"), nothing to anyone, the agent TALKING with nothing pending,
    the after-call state when the call ends; a bridge's request and a supervisor's (set_agent_state) alike."""
    import dataclasses

    c = _center(dataclasses.replace(default_center(), control_failure_codes=codes,
                                    after_call_state=AS.AGENT_STATE_NOT_READY))
    cid = _talking(c)
    if held:
        c.handle(1, M.HoldCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"), 6.0)
    out = _state_req(c, 9.0, AS.AGENT_STATE_READY)
    assert [d.session_id for d in out] == [1]
    m = out[0].message
    assert (m.TYPE, m.invoke_id, m.failure_code, m.ccx_error_code) == (
        MT.CONTROL_FAILURE_CONF, 1, failure, CCXErrorCode.CCX_DEFAULT_ERROR_CODE)
    assert "talking on an ACD call" in m.text and "READY once the call ends" in m.text
    # the FailureCode (USHORT after InvokeID) on the wire
    assert struct.unpack_from(">IH", encode(m, Dialect.uccx(14)), 8) == (1, int(failure))
    out = _state_req(c, 10.0, AS.AGENT_STATE_READY, sid=9, agent_id="1001")  # a bridge (a supervisor desktop)
    assert [(d.session_id, d.message.TYPE) for d in out] == [(9, MT.CONTROL_FAILURE_CONF)]
    with pytest.raises(ValueError, match="agent 1001 is talking on an ACD call"):
        c.set_agent_state(11.0, "1001", AS.AGENT_STATE_READY)  # a supervisor, the control API, a scenario
    agent = c.agents["1001"]
    assert (agent.state, agent.pending) == (AS.AGENT_STATE_TALKING, None)
    [ev] = only(c.hang_up(20.0, cid), 1, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, 32755)  # AGT_CALL_ENDED
    out = _state_req(c, 21.0, AS.AGENT_STATE_READY)  # once the call is over
    assert [m.TYPE for m in (d.message for d in out if d.session_id == 1)] == [MT.SET_AGENT_STATE_CONF,
                                                                               MT.AGENT_STATE_EVENT]


@pytest.mark.parametrize("how", ["ucce profile", "ready_while_talking pending"])
def test_ready_asked_for_while_talking_is_pending_under_ucce_or_when_configured(how):
    """Unified CCE takes READY asked for during a call as the state after it (the same Finesse page: "Agent
    transitions to READY state after the call ends"): a session of the ucce profile gets that, and so does a
    uccx one with ready_while_talking = "pending" (what mockcti did; the UCCX refusal's source is a Finesse
    guide, not the CTI guide)."""
    import dataclasses

    from mockcti.wire.dialect import UCCE

    if how == "ucce profile":
        c = ContactCenter(default_center(), now=0.0)
        for sub in (agent_sub(1, "1001", profile=UCCE), bridge_sub(9, profile=UCCE)):
            c.open_session(sub, 0.0)
    else:
        c = _center(dataclasses.replace(default_center(), ready_while_talking="pending"))
    cid = _talking(c)
    out = _state_req(c, 9.0, AS.AGENT_STATE_READY)
    assert out[0].message == M.SetAgentStateConf(invoke_id=1)
    [ev] = only(out, 1, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.next_agent_state) == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_READY)
    [ev] = only(c.hang_up(20.0, cid), 9, MT.AGENT_STATE_EVENT)
    assert ev.agent_state == AS.AGENT_STATE_READY


@pytest.mark.parametrize("mask, gets", [(0x10, True), (0x40, False), (0x80, False), (0x20, False)])
def test_under_ucce_a_pending_state_s_event_is_a_talking_one(mask, gets):
    """ICM's AgentStateMask has no pending bits: 0x40 is WORK_READY, 0x80 BUSY_OTHER (§6.7). A UCCE
    session gets the pending state's event (AgentState TALKING, NextAgentState) through TALKING's 0x10."""
    from mockcti.wire.dialect import UCCE

    c = _center()
    c.open_session(bridge_sub(8, state_mask=mask, profile=UCCE), 0.0)
    _talking(c)
    out = _state_req(c, 9.0, AS.AGENT_STATE_WORK)
    evs = only(out, 8, MT.AGENT_STATE_EVENT)
    assert [(e.agent_state, e.next_agent_state) for e in evs] == (
        [(AS.AGENT_STATE_TALKING, AS.AGENT_STATE_WORK)] if gets else [])


@pytest.mark.parametrize("version, flag, refused", [(10, 2, "from protocol version 12; this session opened with version 10"),
                                                    (11, 2, "from protocol version 12; this session opened with version 11"),
                                                    (12, 2, None), (18, 2, None),
                                                    (14, 3, "ForcedFlag 3 is not 0 (FALSE), 1 (TRUE) or 2"),
                                                    (18, 255, "ForcedFlag 255 is not")])
def test_forced_flag_values_outside_the_session_s_version_are_refused(version, flag, refused):
    """§5.2/§6.20 ForcedFlag: 0 FALSE, 1 TRUE, 2 "authenticate only" — a v12 meaning (§3.2: "v12 …
    ForcedFlag=2"); the field itself is in the v10-v11 17-byte fixed part too. A desktop on a v11 session
    sending 2 had its agent authenticated as a v12 server would, where a v11 server has no such request: the
    client's mistake went unseen. And 3 or 255 was taken as a login. Both are now CONTROL_FAILURE_CONF
    CF_VALUE_OUT_OF_RANGE / CCX_INVALID_ARGUMENT naming the value (and the version), nothing changes."""
    c = ContactCenter(default_center(), now=0.0)
    c.open_session(agent_sub(1, "1001", version=version), 0.0)
    out = c.handle(1, M.SetAgentStateReq(invoke_id=4, agent_state=int(AS.AGENT_STATE_LOGIN), forced_flag=flag,
                                         agent_id="1001", agent_instrument="unknown" if flag == 2 else "3001",
                                         agent_password="1234"), 1.0)
    if refused is None:
        assert [d.message for d in out] == [M.SetAgentStateConf(invoke_id=4)]
    else:
        [d] = out
        assert (d.message.TYPE, d.message.failure_code, d.message.ccx_error_code) == (MT.CONTROL_FAILURE_CONF, 3, 88010)
        assert refused in d.message.text
        encode(d.message, Dialect.uccx(version))
    assert c.agents["1001"].state is AS.AGENT_STATE_LOGOUT


def test_under_ucce_forced_flag_2_is_taken_at_every_version():
    """ICM numbers its protocol versions otherwise (ucce: 9-24); UCCX's "from version 12" is not applied."""
    from mockcti.wire.dialect import UCCE

    c = ContactCenter(default_center(), now=0.0)
    c.open_session(agent_sub(1, "1001", version=9, profile=UCCE), 0.0)
    out = c.handle(1, M.SetAgentStateReq(invoke_id=4, agent_state=int(AS.AGENT_STATE_LOGIN), forced_flag=2,
                                         agent_id="1001", agent_instrument="unknown", agent_password="1234"), 1.0)
    assert [d.message for d in out] == [M.SetAgentStateConf(invoke_id=4)]


@pytest.mark.parametrize("sid, kw", [(1, {}), (1, dict(agent_instrument="3002")),
                                     (9, dict(agent_id="1001", agent_instrument="3002"))],
                         ids=["own phone", "desktop naming another phone", "bridge naming another phone"])
@pytest.mark.parametrize("state", [AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_LOGOUT])
def test_forced_flag_2_with_a_state_other_than_login_is_refused(sid, kw, state):
    """§5.2/§6.20: ForcedFlag 2 is "authentication only, no agent state change", to be used with
    AGENT_STATE_LOGIN. With NOT_READY it changed the agent's state, and the phone checks an authentication
    skips (its AgentInstrument is "unknown") were skipped too: a desktop naming another agent's phone, which
    is E_CTI_INVALID_AGENT_DATA with ForcedFlag 0, was obeyed. Now CONTROL_FAILURE_CONF CF_VALUE_OUT_OF_RANGE /
    CCX_INVALID_ARGUMENT naming the state; nothing changes."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    _state_req(c, 2.0, AS.AGENT_STATE_NOT_READY, 5)
    before = (c.agents["1001"].state, c.agents["1001"].reason)
    [d] = _state_req(c, 3.0, state, sid=sid, forced_flag=2, **kw)
    assert (d.message.TYPE, d.message.failure_code, d.message.ccx_error_code) == (MT.CONTROL_FAILURE_CONF, 3, 88010)
    assert d.message.text == ("ForcedFlag 2 (authenticate only, no state change) goes with AgentState LOGIN, "
                              f"not {state.name}")
    assert (c.agents["1001"].state, c.agents["1001"].reason) == before


@pytest.mark.pure_python  # (compiled, set_agent_state takes an int reason only: a TypeError for "7" and None)
def test_a_supervisors_change_names_what_is_wrong_with_it():
    """ContactCenter.set_agent_state (the supervisor's, the administration's) of an unknown agent was a
    bare KeyError('9999'); a reason code no AGENT_STATE_EVENT can carry (a USHORT) changed the state and
    the event could not be encoded. Each is refused naming it, nothing changes."""
    c = _center()
    with pytest.raises(KeyError, match=r"^\"unknown agent '9999'; known: \['1001', '1002', '1003', '1004'\]\"$"):
        c.set_agent_state(1.0, "9999", AS.AGENT_STATE_LOGIN)
    for bad in (-1, 65536, "7", None):
        with pytest.raises(ValueError, match=r"^reason code must be an integer in 0\.\.65535 \(EventReasonCode\)"):
            c.set_agent_state(1.0, "1001", AS.AGENT_STATE_LOGIN, bad)
    assert c.agents["1001"].state is AS.AGENT_STATE_LOGOUT


def test_a_supervisors_change_keeps_to_the_agents_transition_table():
    """set_agent_state (the control API, the handle, a scenario's action) took WORK -> WORK_READY and WORK -> WORK,
    which the agent's own SET_AGENT_STATE_REQ is refused (CF_INVALID_OBJECT_STATE), and a second LOGOUT of a
    logged-out agent re-sent AGENT_STATE_EVENT LOGOUT to its desktop and the bridges, where the agent's own is
    refused E_CTI_AGENT_NOT_LOGGED_ON. Now a ValueError naming both states, nothing sent, nothing changed."""
    c = _center()
    _state_req(c, 1.0, AS.AGENT_STATE_LOGIN, agent_password="1234")
    assert only(c.set_agent_state(2.0, "1001", AS.AGENT_STATE_WORK), 9, MT.AGENT_STATE_EVENT)
    for want in (AS.AGENT_STATE_WORK_READY, AS.AGENT_STATE_WORK):
        [conf] = _state_req(c, 3.0, want)  # the agent's own request: refused
        assert conf.message.TYPE is MT.CONTROL_FAILURE_CONF
        with pytest.raises(ValueError) as exc:
            c.set_agent_state(3.0, "1001", want)
        name = want.name.removeprefix("AGENT_STATE_")
        assert str(exc.value) == f"agent 1001 cannot go from WORK to {name}; {name} is set from NOT_READY, READY"
    assert c.agents["1001"].state is AS.AGENT_STATE_WORK
    assert only(c.set_agent_state(4.0, "1001", AS.AGENT_STATE_LOGOUT), 9, MT.AGENT_STATE_EVENT)
    with pytest.raises(ValueError, match=r"^agent 1001 is already logged out \(LOGOUT\)$"):
        c.set_agent_state(5.0, "1001", AS.AGENT_STATE_LOGOUT)
    [refused] = _state_req(c, 5.0, AS.AGENT_STATE_LOGOUT)  # the agent's own second LOGOUT
    assert refused.message.TYPE is MT.FAILURE_CONF


def test_an_agent_named_by_its_phone_on_the_wire_is_told_so():
    """A request (here a bridge's SET_AGENT_STATE_REQ) or an OPEN_REQ whose AgentID is an agent's phone got
    FAILURE_CONF E_CTI_INVALID_AGENT_DATA "unknown agent '3001'", where the control API and the handle say whose
    phone it is. Now the wire says it too; with long IDs the hint is cut to fit the Text field (255 bytes)."""
    from mockcti.center import AgentConfig, CenterConfig, CSQConfig
    from mockcti.wire.enums import StatusCode

    c = _center()
    [d] = _state_req(c, 1.0, AS.AGENT_STATE_READY, sid=9, agent_id="3001")
    assert (d.message.TYPE, d.message.status, d.message.text) == (
        MT.FAILURE_CONF, StatusCode.E_CTI_INVALID_AGENT_DATA,
        "unknown agent '3001' (3001 is the phone of agent 1001: give the agent ID)")
    r = c.open_session(agent_sub(5, "3002"), 1.0)
    assert (r.status, r.text) == (StatusCode.E_CTI_INVALID_AGENT_DATA,
                                  "unknown agent '3002' (3002 is the phone of agent 1002: give the agent ID)")
    long_id, phone = "a" * 128, "9" * 64
    c = ContactCenter(CenterConfig(agents=(AgentConfig(id=long_id, extension=phone, csqs=("Q",)),),
                                   csqs=(CSQConfig("Q", 1),)), now=0.0)
    c.open_session(bridge_sub(9), 0.0)
    [d] = _state_req(c, 1.0, AS.AGENT_STATE_READY, sid=9, agent_id=phone)
    assert d.message.text == f"unknown agent '{phone}': the phone of agent {long_id}"
    encode(d.message, Dialect.uccx(14))
