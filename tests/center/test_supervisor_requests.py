"""The supervisor requests in the pure center (reference §5.5, §7.2 supervisor functions): what each
session — the agent's desktop, its supervisor's desktop, a bridge — receives for a barge-in, an
intercept and a clear (SUPERVISE_CALL_REQ), an agent's SUPERVISOR_ASSIST_REQ and EMERGENCY_CALL_REQ,
and the refusals. Default center: Team1 = 1001, 1002 (no supervisor); Team2 = 1003 and its
supervisor 1004; CSQ Sales = 1001-1003."""

from __future__ import annotations

import dataclasses

import pytest

from center_world import World, agent_sub, bridge_sub, only, seq  # tests/support, on the path

from mockcti.center import CenterConfig, Subscription, default_center
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CallType as CT
from mockcti.wire.enums import CCXErrorCode as CCX
from mockcti.wire.enums import ControlFailureCode as CF
from mockcti.wire.enums import EventCause as EC
from mockcti.wire.enums import LocalConnectionState as LCS
from mockcti.wire.enums import ReasonCode
from mockcti.wire.enums import StatusCode as S

NONE = 0xFFFFFFFF
AGENT, SUP, BRIDGE = 3, 4, 9
SUP_SVC = 0x87  # a supervisor's desktop: CLIENT_EVENTS, CALL_DATA_UPDATE, CLIENT_CONTROL, SUPERVISOR


def world(*, icm: bool = False, sup_ready: bool = False, **center) -> World:
    """Agent 1003 READY, its supervisor 1004 logged in (NOT_READY unless ``sup_ready``), a bridge. Without
    RTP events: the media of a barge-in and an intercept are tested in test_rtp_events.py. ``center``: other
    settings of the center."""
    cfg = dataclasses.replace(default_center(), rtp_events=False, **center)
    if icm:
        cfg = dataclasses.replace(cfg, control_failure_codes="icm")
    w = World(cfg)
    w.open(bridge_sub(BRIDGE))
    w.open(agent_sub(AGENT, "1003"))
    w.open(agent_sub(SUP, "1004", services=SUP_SVC))
    w.login_ready(AGENT, "1003")
    w.login_ready(SUP, "1004", ready=sup_ready)
    return w


def talking(w: World) -> int:
    """An inbound Sales call that agent 1003 answered; its CallID."""
    cid, _ = w.inbound(csq="Sales", ani="0611")
    w.req(AGENT, M.AnswerCallReq(invoke_id=5, call_id=cid, connection_device_type=0, connection_device_id="3003"))
    return cid


def supervise(w: World, cid: int, action: int, *, sid: int = SUP, invoke_id: int = 20, **kw):
    fields = {"agent_id": "1003", **kw}
    return w.req(sid, M.SuperviseCallReq(invoke_id=invoke_id, agent_call_id=cid, supervisor_call_id=NONE,
                                         agent_connection_device_type=0, supervisor_connection_device_type=0,
                                         supervisory_action=action, **fields))


def test_barge_in_conferences_the_supervisor_into_the_agents_call():
    """SUPERVISOR_BARGE_IN: SUPERVISE_CALL_CONF (the call, the agent's phone) to the supervisor; the call
    re-typed SUPERVISOR_BARGE_IN (CALL_DATA_UPDATE to the sessions that know it); the supervisor's phone
    joins — CALL_DELIVERED, CALL_ESTABLISHED and CALL_CONFERENCED (agent's phone the controller, the
    supervisor's the added party, EventCause CEC_SUPERVISOR_BARGE_IN) to the agent, the supervisor (after
    its BEGIN_CALL, with the new CallType) and the bridge. The agent stays TALKING."""
    w = world()
    cid = talking(w)
    out = supervise(w, cid, 3)
    assert seq(out, SUP) == ["SUPERVISE_CALL_CONF", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT",
                             "CALL_ESTABLISHED_EVENT", "CALL_CONFERENCED_EVENT"]
    for sid in (AGENT, BRIDGE):
        assert seq(out, sid) == ["CALL_DATA_UPDATE_EVENT", "CALL_DELIVERED_EVENT", "CALL_ESTABLISHED_EVENT",
                                 "CALL_CONFERENCED_EVENT"]
    assert only(out, SUP, MT.SUPERVISE_CALL_CONF) == [M.SuperviseCallConf(
        invoke_id=20, call_id=cid, connection_device_type=0, connection_device_id="3003")]
    assert only(out, SUP, MT.BEGIN_CALL_EVENT)[0].call_type == CT.CALLTYPE_SUPERVISOR_BARGE_IN
    assert only(out, AGENT, MT.CALL_DATA_UPDATE_EVENT)[0].call_type == CT.CALLTYPE_SUPERVISOR_BARGE_IN
    [delivered] = only(out, SUP, MT.CALL_DELIVERED_EVENT)
    assert (delivered.connection_device_id, delivered.event_cause, delivered.local_connection_state) == (
        "3004", EC.CEC_SUPERVISOR_BARGE_IN, LCS.LCS_ALERTING)
    [established] = only(out, SUP, MT.CALL_ESTABLISHED_EVENT)
    assert (established.answering_device_id, established.event_cause) == ("3004", EC.CEC_SUPERVISOR_BARGE_IN)
    [conf] = only(out, BRIDGE, MT.CALL_CONFERENCED_EVENT)
    assert (conf.primary_call_id, conf.controller_device_id, conf.added_party_device_id, conf.event_cause) == (
        cid, "3003", "3004", EC.CEC_SUPERVISOR_BARGE_IN)
    assert [p.connected_party_device_id for p in conf.parties] == ["0611", "3003", "3004"]
    assert not only(out, AGENT, MT.AGENT_STATE_EVENT) and w.c.agents["1003"].state is AS.AGENT_STATE_TALKING
    # a second barge-in on the same call: the supervisor is already on it
    [d] = supervise(w, cid, 3, invoke_id=21)
    assert d.session_id == SUP and d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert d.message.failure_code == CF.CF_INVALID_OBJECT_STATE


def _barge_in_world(profile: str, *, supervisor_ready: bool):
    """Agent 1003 on a Sales call, supervisor 1004 (READY or NOT_READY) about to barge in, a bridge; every
    session speaking ``profile``. Returns the world and the call."""
    from mockcti.wire.dialect import UCCE, UCCX

    prof = UCCE if profile == "ucce" else UCCX
    w = World(dataclasses.replace(default_center(), rtp_events=False))
    w.open(bridge_sub(BRIDGE, profile=prof))
    w.open(agent_sub(AGENT, "1003", profile=prof))
    w.open(agent_sub(SUP, "1004", services=SUP_SVC, profile=prof))
    w.login_ready(AGENT, "1003")
    w.login_ready(SUP, "1004", ready=supervisor_ready)
    return w, talking(w)


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_a_supervisor_barging_in_is_talking_under_ucce_and_back_to_not_ready_after(profile):
    """The supervisor's phone joins the agent's call: a call not routed to it, which UCCX keeps NOT_READY and
    Unified CCE reports TALKING ("agent state can be TALKING in Unified CCE or NOT_READY in Unified CCX" on a
    non-ICD call, Finesse 12.5(1)). Under ucce its desktop and the bridge get AGENT_STATE_EVENT TALKING after
    CALL_CONFERENCED, and NOT_READY (its system reason AGT_LOGON become AGT_CALL_ENDED) once SUPERVISOR_CLEAR
    takes it off the call; under uccx no AGENT_STATE_EVENT, NOT_READY throughout."""
    w, cid = _barge_in_world(profile, supervisor_ready=False)
    out = supervise(w, cid, 3)
    ucce = profile == "ucce"
    for sid in (SUP, BRIDGE):
        states = [(e.agent_id, e.agent_state) for e in only(out, sid, MT.AGENT_STATE_EVENT)]
        assert states == ([("1004", AS.AGENT_STATE_TALKING)] if ucce else [])
    if ucce:
        assert seq(out, SUP)[-1] == "AGENT_STATE_EVENT"  # after CALL_CONFERENCED
    out = supervise(w, cid, 0, invoke_id=22)  # SUPERVISOR_CLEAR
    states = [(e.agent_state, e.event_reason_code) for e in only(out, SUP, MT.AGENT_STATE_EVENT)]
    assert states == ([(AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)] if ucce else [])
    assert w.c.agents["1004"].state is AS.AGENT_STATE_NOT_READY


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_a_ready_supervisor_barging_in_is_talking_then_ready_again_under_ucce(profile):
    """A READY supervisor barges in: UCCX takes it out of routing for good (NOT_READY AGT_NON_ICD before its phone
    joins, NOT_READY after), Unified CCE reports it TALKING on the call and READY after it (Finesse 12.5(1),
    Unified CCE: TALKING -> READY "if the agent was in READY state before the call"). Under ucce it went NOT_READY
    AGT_NON_ICD (a UCCX code), TALKING, then NOT_READY AGT_CALL_ENDED: never READY again."""
    w, cid = _barge_in_world(profile, supervisor_ready=True)
    ucce = profile == "ucce"
    out = supervise(w, cid, 3)
    for sid in (SUP, BRIDGE):
        states = [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)
                  if e.agent_id == "1004"]
        assert states == [(AS.AGENT_STATE_TALKING, 0)] if ucce else [(AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_NON_ICD)]
    out = supervise(w, cid, 0, invoke_id=22)  # SUPERVISOR_CLEAR
    for sid in (SUP, BRIDGE):
        states = [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)
                  if e.agent_id == "1004"]
        assert states == ([(AS.AGENT_STATE_READY, 0)] if ucce else [])
    assert w.c.agents["1004"].state is (AS.AGENT_STATE_READY if ucce else AS.AGENT_STATE_NOT_READY)


def test_intercept_after_a_barge_in_clears_the_agent_and_the_supervisor_stays():
    """SUPERVISOR_INTERCEPT while barged in: the call re-typed SUPERVISOR_INTERCEPT, the agent's
    connection cleared (CEC_SUPERVISOR_INTERCEPT) with END_CALL to the agent, who goes READY (its
    after-call state); the supervisor and the caller go on. SUPERVISOR_CLEAR then takes the supervisor off
    (CEC_SUPERVISOR_CLEAR): the caller alone is no call, CALL_CLEARED and END_CALL follow."""
    w = world()
    cid = talking(w)
    supervise(w, cid, 3)
    out = supervise(w, cid, 4, invoke_id=21)
    assert seq(out, SUP) == ["SUPERVISE_CALL_CONF", "CALL_DATA_UPDATE_EVENT", "CALL_CONNECTION_CLEARED_EVENT"]
    assert seq(out, AGENT) == ["CALL_DATA_UPDATE_EVENT", "CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT",
                               "AGENT_STATE_EVENT"]
    assert seq(out, BRIDGE) == ["CALL_DATA_UPDATE_EVENT", "CALL_CONNECTION_CLEARED_EVENT", "AGENT_STATE_EVENT"]
    assert only(out, BRIDGE, MT.CALL_DATA_UPDATE_EVENT)[0].call_type == CT.CALLTYPE_SUPERVISOR_INTERCEPT
    [cleared] = only(out, SUP, MT.CALL_CONNECTION_CLEARED_EVENT)
    assert (cleared.connection_device_id, cleared.releasing_device_id, cleared.event_cause) == (
        "3003", "3003", EC.CEC_SUPERVISOR_INTERCEPT)
    assert only(out, AGENT, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_READY
    assert sorted(w.c.calls[cid].legs) == ["0611", "3004"]

    out = supervise(w, cid, 0, invoke_id=22)
    assert seq(out, SUP) == ["SUPERVISE_CALL_CONF", "CALL_CONNECTION_CLEARED_EVENT", "CALL_CLEARED_EVENT",
                             "END_CALL_EVENT"]
    assert seq(out, BRIDGE) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_CLEARED_EVENT", "END_CALL_EVENT"]
    assert seq(out, AGENT) == []
    assert only(out, SUP, MT.CALL_CONNECTION_CLEARED_EVENT)[0].event_cause == EC.CEC_SUPERVISOR_CLEAR
    assert cid not in w.c.calls and w.c.agents["1004"].state is AS.AGENT_STATE_NOT_READY


def test_intercept_without_barge_in_and_clear_after_a_barge_in():
    """SUPERVISOR_INTERCEPT straight away joins the supervisor (EventCause CEC_SUPERVISOR_INTERCEPT) and
    clears the agent in one request; a READY supervisor goes NOT_READY (AGT_NON_ICD: a direct call, out
    of routing). After a plain barge-in, SUPERVISOR_CLEAR leaves the agent and the caller talking."""
    w = world(sup_ready=True)
    cid = talking(w)
    out = supervise(w, cid, 4)
    assert seq(out, SUP) == ["SUPERVISE_CALL_CONF", "AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT",
                             "CALL_ESTABLISHED_EVENT", "CALL_CONFERENCED_EVENT", "CALL_CONNECTION_CLEARED_EVENT"]
    [state] = only(out, SUP, MT.AGENT_STATE_EVENT)
    assert (state.agent_state, state.event_reason_code) == (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_NON_ICD)
    assert {m.event_cause for m in only(out, BRIDGE, MT.CALL_CONFERENCED_EVENT)} == {EC.CEC_SUPERVISOR_INTERCEPT}
    assert only(out, SUP, MT.BEGIN_CALL_EVENT)[0].call_type == CT.CALLTYPE_SUPERVISOR_INTERCEPT
    assert "END_CALL_EVENT" in seq(out, AGENT) and sorted(w.c.calls[cid].legs) == ["0611", "3004"]

    w = world()
    cid = talking(w)
    supervise(w, cid, 3)
    out = supervise(w, cid, 0, invoke_id=21)
    assert seq(out, SUP) == ["SUPERVISE_CALL_CONF", "CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT"]
    assert seq(out, AGENT) == seq(out, BRIDGE) == ["CALL_CONNECTION_CLEARED_EVENT"]
    assert sorted(w.c.calls[cid].legs) == ["0611", "3003"]
    assert w.c.agents["1003"].state is AS.AGENT_STATE_TALKING


def _1003_talks_1002_and_supervisor_1004_not_ready(**center):
    """world(), and agent 1002 (session 2, moved to supervisor 1004's Team2) logged in NOT_READY; 1003 talks on
    a Sales call."""
    w = world(agents=tuple(dataclasses.replace(a, team="Team2") if a.id == "1002" else a
                           for a in default_center().agents), **center)
    w.open(agent_sub(2, "1002"))
    w.login_ready(2, "1002", ready=False)
    return w, talking(w)


def test_a_consultation_barged_in_on_then_transferred_is_a_conference():
    """Agent 1003 consults 1002 (both of supervisor 1004's team) about a Sales call; the supervisor barges in on the
    consultation (re-typed SUPERVISOR_BARGE_IN); 1003 completes the transfer. The consulted agent and the supervisor
    join the customer's call together, through the conference bridge: CALL_DATA_UPDATE CallType CONFERENCE (§6.17:
    a conferenced ACD call) to every session that knows the call, and when the supervisor leaves, the call goes on
    as a conference that came down to two parties (the control API's view: "conferenced"). (It was re-typed
    TRANSFER_IN with three parties on it.)"""
    w, cid = _1003_talks_1002_and_supervisor_1004_not_ready()
    out = w.req(AGENT, M.ConsultCallReq(invoke_id=6, active_call_id=cid, active_connection_device_type=0,
                                        active_connection_device_id="3003", dialed_number="3002"))
    [conf] = only(out, AGENT, MT.CONSULT_CALL_CONF)
    consult = conf.new_call_id
    w.req(2, M.AnswerCallReq(invoke_id=7, call_id=consult, connection_device_type=0, connection_device_id="3002"))
    supervise(w, consult, 3)  # barge-in on the consultation, naming the consulting agent 1003
    out = w.req(AGENT, M.TransferCallReq(invoke_id=8, active_call_id=consult, held_call_id=cid,
                                         active_connection_device_type=0, held_connection_device_type=0,
                                         active_connection_device_id="3003", held_connection_device_id="3003"))
    [tconf] = only(out, AGENT, MT.TRANSFER_CALL_CONF)
    assert [p.connected_party_device_id for p in tconf.parties] == ["0611", "3002", "3004"]
    for sid in (2, SUP, BRIDGE):
        assert [(u.call_id, u.call_type) for u in only(out, sid, MT.CALL_DATA_UPDATE_EVENT)] == [
            (cid, CT.CALLTYPE_CONFERENCE)], sid
    supervise(w, cid, 0, agent_id="1002", invoke_id=21)  # SUPERVISOR_CLEAR: the agent and the customer go on
    view = w.c.snapshot()["calls"]
    [call] = [c for c in view if c["call_id"] == cid]
    assert call["conferenced"] and [lg for lg in w.c.calls[cid].legs] == ["0611", "3002"]


def test_a_barged_in_call_transferred_after_a_consultation_stays_a_conference():
    """The other way round (the ACD line-state rules off: they refuse a consultation from Line2Conferenced): the
    supervisor barges in on agent 1003's call, 1003 consults 1002 and transfers. The customer's call keeps the
    supervisor and gets 1002, three parties through the conference bridge: CALL_DATA_UPDATE CallType CONFERENCE
    to every session that knows it (it was TRANSFER_IN)."""
    w, cid = _1003_talks_1002_and_supervisor_1004_not_ready(acd_rules=False)
    supervise(w, cid, 3)
    [conf] = only(w.req(AGENT, M.ConsultCallReq(invoke_id=6, active_call_id=cid, active_connection_device_type=0,
                                                active_connection_device_id="3003", dialed_number="3002")),
                  AGENT, MT.CONSULT_CALL_CONF)
    w.req(2, M.AnswerCallReq(invoke_id=7, call_id=conf.new_call_id, connection_device_type=0,
                             connection_device_id="3002"))
    out = w.req(AGENT, M.TransferCallReq(invoke_id=8, active_call_id=conf.new_call_id, held_call_id=cid,
                                         active_connection_device_type=0, held_connection_device_type=0,
                                         active_connection_device_id="3003", held_connection_device_id="3003"))
    for sid in (2, SUP, BRIDGE):
        assert [(u.call_id, u.call_type) for u in only(out, sid, MT.CALL_DATA_UPDATE_EVENT)] == [
            (cid, CT.CALLTYPE_CONFERENCE)], sid
    assert sorted(w.c.calls[cid].legs) == ["0611", "3002", "3004"]


def test_a_bridge_granted_supervisor_supervises_by_naming_the_supervisors_phone():
    """A bridge session granted CTI_SERVICE_SUPERVISOR acts for the supervisor its
    SupervisorInstrument names (and for none: E_CTI_REQUIRED_DATA_MISSING)."""
    w = world()
    w.open(Subscription(8, "bridge", 0x96, 0xFFFFFF, 0x3FF, client_id="sup-bridge"))
    cid = talking(w)
    [d] = supervise(w, cid, 3, sid=8)
    assert d.message == M.FailureConf(invoke_id=20, status=S.E_CTI_REQUIRED_DATA_MISSING,
                                      text="the request names no agent or device")
    out = supervise(w, cid, 3, sid=8, supervisor_instrument="3004")
    assert seq(out, 8)[0] == "SUPERVISE_CALL_CONF" and "3004" in w.c.calls[cid].legs


def _refusal(out, sid=SUP):
    [d] = out  # a refused request changes nothing: its refusal is all that goes out
    assert d.session_id == sid
    return d.message


@pytest.mark.parametrize("icm", [False, True], ids=["uccx", "icm"])
def test_supervise_call_refusals(icm):
    """Each refusal is the one confirmation, nothing changes: unknown call E_CTI_INVALID_CALLID; agent
    ringing or holding (not talking) CF_INVALID_OBJECT_STATE (icm: CF_NO_ACTIVE_CALL); an agent of another team, or an unknown
    one, E_CTI_INVALID_AGENT_DATA; a requester who is no supervisor E_CTI_INVALID_AGENT_DATA (icm:
    E_CTI_SUPERVISOR_NOT_FOUND); monitor/whisper CF_VALUE_OUT_OF_RANGE (icm: E_CTI_INVALID_SUPERVISORY_ACTION);
    clear while not on the call CF_INVALID_CSTA_CONNECTION_ID; supervisor logged out E_CTI_AGENT_NOT_LOGGED_ON;
    a supervisor's phone busy with its own call CF_INVALID_OBJECT_STATE; no SUPERVISOR service: the
    service refusal."""
    w = world(icm=icm)
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001", ready=False)
    assert _refusal(supervise(w, 424242, 3)).status == S.E_CTI_INVALID_CALLID
    cid, _ = w.inbound(csq="Sales", ani="0611")  # rings at 1003
    not_talking = CF.CF_NO_ACTIVE_CALL if icm else CF.CF_INVALID_OBJECT_STATE  # as for HOLD_CALL_REQ
    m = _refusal(supervise(w, cid, 3))
    assert (m.TYPE, m.failure_code, m.text) == (MT.CONTROL_FAILURE_CONF, not_talking,
                                                f"agent 1003 is not talking on call {cid}")
    w.req(AGENT, M.AnswerCallReq(invoke_id=5, call_id=cid, connection_device_type=0, connection_device_id="3003"))
    w.req(AGENT, M.HoldCallReq(invoke_id=6, call_id=cid, connection_device_type=0, connection_device_id="3003"))
    assert _refusal(supervise(w, cid, 3)).failure_code == not_talking
    w.req(AGENT, M.RetrieveCallReq(invoke_id=7, held_call_id=cid, held_connection_device_type=0,
                                   held_connection_device_id="3003"))
    m = _refusal(supervise(w, cid, 3, agent_id="1001"))
    assert (m.status, m.text) == (S.E_CTI_INVALID_AGENT_DATA,
                                  "agent 1001 (team 'Team1') is not in the team of supervisor 1004 ('Team2')")
    assert _refusal(supervise(w, cid, 3, agent_id="9999")).status == S.E_CTI_INVALID_AGENT_DATA
    m = _refusal(supervise(w, cid, 3, sid=AGENT), AGENT)  # 1003's desktop is not granted SUPERVISOR
    assert (m.status, m.text) == (S.E_CTI_UNSPECIFIED_FAILURE,
                                  "SUPERVISE_CALL_REQ needs CTI_SERVICE_SUPERVISOR in ServicesRequested")
    w.open(agent_sub(2, "1002", services=SUP_SVC))  # granted SUPERVISOR, but 1002 is no supervisor
    m = _refusal(supervise(w, cid, 3, sid=2), sid=2)
    assert (m.status, m.text) == (S.E_CTI_SUPERVISOR_NOT_FOUND if icm else S.E_CTI_INVALID_AGENT_DATA,
                                  "agent 1002 is not a supervisor")
    for action in (1, 2, 7):
        m = _refusal(supervise(w, cid, action))
        if icm:
            assert (m.TYPE, m.status) == (MT.FAILURE_CONF, S.E_CTI_INVALID_SUPERVISORY_ACTION)
        else:
            assert (m.TYPE, m.failure_code) == (MT.CONTROL_FAILURE_CONF, CF.CF_VALUE_OUT_OF_RANGE)
    assert _refusal(supervise(w, cid, 0)).failure_code == CF.CF_INVALID_CSTA_CONNECTION_ID
    w.req(SUP, M.MakeCallReq(invoke_id=8, agent_instrument="3004", dialed_number="0699"))  # its own call
    m = _refusal(supervise(w, cid, 3))
    assert (m.failure_code, m.text) == (CF.CF_INVALID_OBJECT_STATE,
                                        "supervisor 1004's phone 3004 already has an active call")
    w.c.hang_up(w.t, next(c for c in w.c.calls if c != cid), "0699")
    w.req(SUP, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_LOGOUT))
    assert _refusal(supervise(w, cid, 3)).status == S.E_CTI_AGENT_NOT_LOGGED_ON
    assert sorted(w.c.calls[cid].legs) == ["0611", "3003"]


def test_supervisor_assist_about_a_call_is_a_consultation_of_the_supervisor():
    """SUPERVISOR_ASSIST_REQ naming the agent's call: the call is held, an ASSIST call (CallType 19) goes
    from the agent's phone to its team's supervisor — SUPERVISOR_ASSIST_CONF (the new call, the agent's
    phone), CALL_SERVICE_INITIATED, CALL_ORIGINATED, CALL_DELIVERED at the supervisor's phone (EventCause
    CEC_SUPERVISOR_ASSIST) — and the supervisor and the bridge get SUPERVISOR_ASSIST_EVENT (the new call,
    the agent's phone, the asking client, the text). The supervisor answers; the agent conferences it in."""
    w = world()
    cid = talking(w)
    out = w.req(AGENT, M.SupervisorAssistReq(invoke_id=30, call_id=cid, connection_device_type=0,
                                             connection_device_id="3003", text="angry caller"))
    new = only(out, AGENT, MT.SUPERVISOR_ASSIST_CONF)[0].call_id
    assert seq(out, AGENT) == ["CALL_HELD_EVENT", "SUPERVISOR_ASSIST_CONF", "BEGIN_CALL_EVENT",
                               "CALL_SERVICE_INITIATED_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT"]
    assert seq(out, SUP) == ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT", "SUPERVISOR_ASSIST_EVENT"]
    assert seq(out, BRIDGE) == ["CALL_HELD_EVENT", "BEGIN_CALL_EVENT", "CALL_SERVICE_INITIATED_EVENT",
                                "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "SUPERVISOR_ASSIST_EVENT"]
    assert only(out, AGENT, MT.SUPERVISOR_ASSIST_CONF) == [M.SupervisorAssistConf(
        invoke_id=30, call_id=new, connection_device_type=0, connection_device_id="3003")]
    assert only(out, SUP, MT.SUPERVISOR_ASSIST_EVENT) == [M.SupervisorAssistEvent(
        call_id=new, connection_device_type=0, connection_device_id="3003", client_id="desk3", text="angry caller")]
    assert only(out, SUP, MT.BEGIN_CALL_EVENT)[0].call_type == CT.CALLTYPE_ASSIST
    [delivered] = only(out, SUP, MT.CALL_DELIVERED_EVENT)
    assert (delivered.connection_device_id, delivered.event_cause) == ("3004", EC.CEC_SUPERVISOR_ASSIST)

    w.req(SUP, M.AnswerCallReq(invoke_id=31, call_id=new, connection_device_type=0, connection_device_id="3004"))
    out = w.req(AGENT, M.ConferenceCallReq(invoke_id=32, held_call_id=cid, held_connection_device_type=0,
                                           held_connection_device_id="3003", active_call_id=new,
                                           active_connection_device_type=0, active_connection_device_id="3003"))
    assert seq(out, AGENT)[0] == "CONFERENCE_CALL_CONF"
    assert sorted(w.c.calls[cid].legs) == ["0611", "3003", "3004"] and new not in w.c.calls


def test_emergency_call_without_a_call_and_its_event():
    """EMERGENCY_CALL_REQ of a NOT_READY agent with no call (ConnectionCallID 0xFFFFFFFF): an EMERGENCY call
    (CallType 20) to the supervisor; EMERGENCY_CALL_CONF (the call, the agent's phone, lineHandle 0xFFFF,
    lineType 3) and EMERGENCY_CALL_EVENT (InvokeID 0, the asking session and client, the agent's
    identity) to the supervisor's desktop and the bridge; the CALL_DELIVERED carries CEC_EMERGENCY_CALL."""
    w = world()
    w.req(AGENT, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY))
    out = w.req(AGENT, M.EmergencyCallReq(invoke_id=40, peripheral_id=1, connection_call_id=NONE,
                                          connection_device_type=0, connection_device_id="3003"))
    [conf] = only(out, AGENT, MT.EMERGENCY_CALL_CONF)
    assert conf == M.EmergencyCallConf(invoke_id=40, connection_call_id=conf.connection_call_id,
                                       connection_device_type=0, line_handle=0xFFFF, line_type=3,
                                       connection_device_id="3003")
    assert seq(out, AGENT) == ["EMERGENCY_CALL_CONF", "BEGIN_CALL_EVENT", "CALL_SERVICE_INITIATED_EVENT",
                               "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT"]
    assert seq(out, SUP) == ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT", "EMERGENCY_CALL_EVENT"]
    assert only(out, BRIDGE, MT.EMERGENCY_CALL_EVENT) == only(out, SUP, MT.EMERGENCY_CALL_EVENT) == [
        M.EmergencyCallEvent(invoke_id=0, peripheral_id=1, connection_call_id=NONE,
                             connection_device_type=0, session_id=AGENT, connection_device_id="3003",
                             client_id="desk3", agent_extension="3003", agent_id="1003", agent_instrument="3003")]
    assert only(out, SUP, MT.BEGIN_CALL_EVENT)[0].call_type == CT.CALLTYPE_EMERGENCY
    assert only(out, SUP, MT.CALL_DELIVERED_EVENT)[0].event_cause == EC.CEC_EMERGENCY_CALL


@pytest.mark.parametrize("icm", [False, True], ids=["uccx", "icm"])
def test_assist_and_emergency_refusals(icm):
    """No supervisor available — logged out, or its phone busy — FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE
    saying so (icm: E_CTI_SUPERVISOR_NOT_FOUND), as for a team without a supervisor; an agent not logged
    on E_CTI_AGENT_NOT_LOGGED_ON; an unknown call E_CTI_INVALID_CALLID; a READY agent without a call is
    refused as for MAKE_CALL_REQ; no CLIENT_CONTROL: the service refusal. Nothing changes."""
    w = world(icm=icm)
    no_sup = S.E_CTI_SUPERVISOR_NOT_FOUND if icm else S.E_CTI_UNSPECIFIED_FAILURE

    def assist(sid, **kw):
        return w.req(sid, M.SupervisorAssistReq(invoke_id=50, **{"call_id": NONE, "connection_device_type": 0,
                                                                 "connection_device_id": "x", **kw}))

    m = _refusal(assist(AGENT, connection_device_id="3003"), AGENT)  # READY, no call
    assert (m.failure_code, m.text) == (CF.CF_INVALID_OBJECT_STATE, "agent 1003 is READY: a call is placed in NOT_READY, WORK, WORK_READY")
    w.req(AGENT, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY))
    assert _refusal(assist(AGENT, call_id=424242, connection_device_id="3003"), AGENT).status == S.E_CTI_INVALID_CALLID
    w.req(SUP, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_LOGOUT))
    m = _refusal(assist(AGENT, connection_device_id="3003"), AGENT)
    assert (m.status, m.text) == (no_sup, "no supervisor of team 'Team2' is available (logged in, phone free): "
                                          "1004 LOGOUT")
    m = _refusal(w.req(AGENT, M.EmergencyCallReq(invoke_id=51, peripheral_id=1, connection_call_id=NONE,
                                                 connection_device_type=0, connection_device_id="3003")), AGENT)
    assert m.status == no_sup
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001", ready=False)
    m = _refusal(assist(1, connection_device_id="3001"), 1)
    assert (m.status, m.text) == (no_sup, "team 'Team1' of agent 1001 has no supervisor")
    w.open(agent_sub(2, "1002"))
    assert _refusal(assist(2, connection_device_id="3002"), 2).status == S.E_CTI_AGENT_NOT_LOGGED_ON
    w.open(Subscription(5, "bridge", 0x10, 0xFFFFFF, 0x3FF, client_id="wallboard"))  # no CLIENT_CONTROL
    m = _refusal(assist(5, agent_id="1003", connection_device_id="3003"), 5)
    assert m.text == "SUPERVISOR_ASSIST_REQ needs CTI_SERVICE_CLIENT_CONTROL in ServicesRequested"
    assert not w.c.calls


def test_under_ucce_no_supervisor_is_icm_supervisor_not_found():
    """ICM defines E_CTI_SUPERVISOR_NOT_FOUND (64), which UCCX lists as reserved (§6.1): a session of the ucce
    profile gets it, as it gets ICM's other statuses where UCCX reserves the number (Profile.status), for an
    assist or emergency request with no supervisor and for a SUPERVISE_CALL_REQ from an agent who is none —
    not the UCCX stand-ins E_CTI_UNSPECIFIED_FAILURE / E_CTI_INVALID_AGENT_DATA, which it got unless the center
    file said control_failure_codes = "icm". A uccx session of the same center still gets those."""
    from mockcti.wire.dialect import UCCE

    w = World(dataclasses.replace(default_center(), rtp_events=False))
    w.open(agent_sub(1, "1001", profile=UCCE))  # Team1: no supervisor
    w.open(agent_sub(2, "1002"))
    w.open(agent_sub(5, "1003", services=SUP_SVC, profile=UCCE))  # granted SUPERVISOR, but no supervisor
    for sid, aid in ((1, "1001"), (2, "1002"), (5, "1003")):
        w.login_ready(sid, aid, ready=False)
    for sid, status in ((1, S.E_CTI_SUPERVISOR_NOT_FOUND), (2, S.E_CTI_UNSPECIFIED_FAILURE)):
        m = _refusal(w.req(sid, M.EmergencyCallReq(invoke_id=40, connection_call_id=NONE, connection_device_type=0,
                                                  connection_device_id=w.c.agents[f"100{sid}"].device)), sid)
        assert (m.TYPE, m.invoke_id, m.status) == (MT.FAILURE_CONF, 40, status)
    cid, _ = w.inbound(agent_id="1001")
    m = _refusal(supervise(w, cid, 3, sid=5, agent_id="1001"), sid=5)
    assert (m.TYPE, m.status, m.text) == (MT.FAILURE_CONF, S.E_CTI_SUPERVISOR_NOT_FOUND, "agent 1003 is not a supervisor")


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_an_unsimulated_supervisory_action_is_refused_in_the_profiles_terms(profile):
    """A SupervisoryAction the mock does not simulate was refused with "UCCX documents 0 CLEAR, 3 BARGE_IN,
    4 INTERCEPT" to every session, and a value ICM does not define (7) got the center's UCCX refusal under ucce.
    ICM's SUPERVISE_CALL_REQ defines 0 CLEAR, 1 MONITOR, 2 WHISPER, 3 BARGE_IN, 4 INTERCEPT (§6.20): a ucce
    supervisor now reads that 1 and 2 are ICM's but not simulated (the center's refusal, CONTROL_FAILURE_CONF
    CF_VALUE_OUT_OF_RANGE by default) and that 7 is no action at all, E_CTI_INVALID_SUPERVISORY_ACTION (82) as
    ICM answers it. A uccx supervisor gets what it got."""
    from mockcti.wire.dialect import PROFILES

    w = World(dataclasses.replace(default_center(), rtp_events=False))
    w.open(agent_sub(AGENT, "1003", profile=PROFILES[profile]))
    w.open(agent_sub(SUP, "1004", services=SUP_SVC, profile=PROFILES[profile]))
    w.login_ready(AGENT, "1003")
    w.login_ready(SUP, "1004", ready=False)
    cid = talking(w)
    got = {a: _refusal(supervise(w, cid, a)) for a in (1, 2, 7)}
    if profile == "uccx":
        for a, m in got.items():
            assert (m.TYPE, m.failure_code, m.text) == (
                MT.CONTROL_FAILURE_CONF, CF.CF_VALUE_OUT_OF_RANGE,
                f"SupervisoryAction {a} is not simulated; UCCX documents 0 CLEAR, 3 BARGE_IN, 4 INTERCEPT")
        return
    for a, name in ((1, "SUPERVISOR_MONITOR"), (2, "SUPERVISOR_WHISPER")):
        assert (got[a].TYPE, got[a].failure_code, got[a].text) == (
            MT.CONTROL_FAILURE_CONF, CF.CF_VALUE_OUT_OF_RANGE,
            f"SupervisoryAction {a} ({name}) is not simulated; mockcti simulates 0 CLEAR, 3 BARGE_IN, 4 INTERCEPT")
    assert (got[7].TYPE, got[7].invoke_id, got[7].status, got[7].text) == (
        MT.FAILURE_CONF, 20, S.E_CTI_INVALID_SUPERVISORY_ACTION,
        "SupervisoryAction 7 is not defined; ICM defines 0 CLEAR, 1 MONITOR, 2 WHISPER, 3 BARGE_IN, 4 INTERCEPT")
    assert sorted(w.c.calls[cid].legs) == ["0611", "3003"]  # nothing done


def set_state(w: World, state: AS, *, sid: int = SUP, invoke_id: int = 30, reason: int = 0, **kw):
    fields = {"agent_id": "1003", "agent_instrument": "3003", **kw}
    return w.req(sid, M.SetAgentStateReq(invoke_id=invoke_id, agent_state=state, event_reason_code=reason, **fields))


def test_a_supervisors_desktop_sets_the_state_of_an_agent_of_its_team():
    """The supervisor's desktop (1004, granted CTI_SERVICE_SUPERVISOR) sends SET_AGENT_STATE_REQ naming agent 1003
    of its team: NOT_READY with a reason code, READY, LOGOUT, as a Finesse supervisor does. Each time the
    supervisor gets SET_AGENT_STATE_CONF (its InvokeID), and the agent's desktop and the bridge the AGENT_STATE_EVENT
    of the new state; the supervisor's own state does not change. Its desktop may ask for the agent's state
    (QUERY_AGENT_STATE_REQ), and name the agent by its phone alone. (It was refused E_CTI_INVALID_AGENT_DATA "AgentID
    '1003' is not this session's agent '1004'", the agent left as it was.)"""
    w = world()
    out = set_state(w, AS.AGENT_STATE_NOT_READY, reason=12)
    assert seq(out, SUP) == ["SET_AGENT_STATE_CONF"] and only(out, SUP, MT.SET_AGENT_STATE_CONF)[0].invoke_id == 30
    for sid in (AGENT, BRIDGE):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_id, ev.agent_state, ev.event_reason_code, ev.agent_instrument) == (
            "1003", AS.AGENT_STATE_NOT_READY, 12, "3003")
    assert w.c.agents["1004"].state is AS.AGENT_STATE_NOT_READY and w.c.agents["1004"].reason == ReasonCode.AGT_LOGON
    [conf] = only(w.req(SUP, M.QueryAgentStateReq(invoke_id=31, agent_id="1003")), SUP, MT.QUERY_AGENT_STATE_CONF)
    assert (conf.invoke_id, conf.agent_id, conf.agent_state) == (31, "1003", AS.AGENT_STATE_NOT_READY)

    out = set_state(w, AS.AGENT_STATE_READY, agent_id=None)  # AgentInstrument 3003 alone names the agent
    assert seq(out, SUP) == ["SET_AGENT_STATE_CONF"]
    assert [e.agent_state for e in only(out, AGENT, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY]
    out = set_state(w, AS.AGENT_STATE_LOGOUT)
    assert seq(out, SUP) == ["SET_AGENT_STATE_CONF"]
    for sid in (AGENT, BRIDGE):
        assert [e.agent_state for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_LOGOUT]
    assert not w.c.agents["1003"].logged_in


def test_a_supervisors_not_ready_while_the_agent_talks_is_the_state_after_the_call():
    """NOT_READY from the supervisor's desktop for an agent talking on an ACD call: SET_AGENT_STATE_CONF, and the
    agent's desktop and the bridge learn it at once (AGENT_STATE_EVENT TALKING, NextAgentState NOT_READY), as for
    the agent's own request; the call ends, the agent is NOT_READY."""
    w = world()
    cid = talking(w)
    out = set_state(w, AS.AGENT_STATE_NOT_READY, reason=7)
    assert seq(out, SUP) == ["SET_AGENT_STATE_CONF"]
    [ev] = only(out, AGENT, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.next_agent_state) == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_NOT_READY)
    out = w.req(AGENT, M.ClearConnectionReq(invoke_id=9, call_id=cid, connection_device_type=0,
                                            connection_device_id="3003"))
    assert [(e.agent_state, e.event_reason_code) for e in only(out, BRIDGE, MT.AGENT_STATE_EVENT)][-1] == (
        AS.AGENT_STATE_NOT_READY, 7)


def _logout_pending_world(**kw) -> World:
    return world(supervisor_logout_while_talking="pending", **kw)


def test_a_supervisors_logout_of_a_talking_agent_is_refused_or_pending_after_the_call():
    """A supervisor signs out an agent talking on an ACD call. By default (``supervisor_logout_while_talking =
    "refuse"``) CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE / CCX_AGENT_DEVICE_BUSY, the agent TALKING as before.
    With "pending" (Finesse's Sign Out: "that agent is signed out when the call ends"): SET_AGENT_STATE_CONF, the
    agent's desktop and the bridge told at once (AGENT_STATE_EVENT TALKING, NextAgentState LOGOUT), and when the
    call ends AGENT_STATE_EVENT LOGOUT with SUP_AGT_TO_LOGOUT, no wrap-up, the agent logged out. (The LOGOUT was
    refused whatever the center file said.)"""
    w = world()
    cid = talking(w)
    [d] = set_state(w, AS.AGENT_STATE_LOGOUT)
    assert d.session_id == SUP and d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert (d.message.failure_code, d.message.ccx_error_code) == (
        CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY)
    assert w.c.agents["1003"].state is AS.AGENT_STATE_TALKING and w.c.agents["1003"].pending is None

    w = _logout_pending_world(wrapup_time=30.0)
    cid = talking(w)
    out = set_state(w, AS.AGENT_STATE_LOGOUT)
    assert seq(out, SUP) == ["SET_AGENT_STATE_CONF"]
    for sid in (AGENT, BRIDGE):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_id, ev.agent_state, ev.next_agent_state) == (
            "1003", AS.AGENT_STATE_TALKING, AS.AGENT_STATE_LOGOUT)
    [conf] = only(w.req(SUP, M.QueryAgentStateReq(invoke_id=31, agent_id="1003")), SUP, MT.QUERY_AGENT_STATE_CONF)
    assert conf.agent_state == AS.AGENT_STATE_TALKING
    out = w.req(AGENT, M.ClearConnectionReq(invoke_id=9, call_id=cid, connection_device_type=0,
                                            connection_device_id="3003"))
    for sid in (AGENT, BRIDGE):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_LOGOUT, ReasonCode.SUP_AGT_TO_LOGOUT)]
    assert not w.c.agents["1003"].logged_in and w.c.next_deadline() is None
    # the agent's own LOGOUT while talking stays refused (Finesse: an agent signs out from NOT_READY)
    w.login_ready(AGENT, "1003")
    cid = talking(w)
    [d] = w.req(AGENT, M.SetAgentStateReq(invoke_id=40, agent_state=AS.AGENT_STATE_LOGOUT))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_a_pending_supervisor_logout_of_a_consulted_agent_survives_the_consultations_cancel(profile):
    """Agent 1002, consulted by 1003, is signed out by its supervisor while it talks (pending); 1003 reconnects to
    its customer, cancelling the consultation: 1002 is LOGOUT (SUP_AGT_TO_LOGOUT under uccx), not the Cancel's
    NOT_READY AGT_CANCEL_CONSULT, which dropped the supervisor's sign-out."""
    from mockcti.wire.dialect import UCCE, UCCX

    prof = UCCE if profile == "ucce" else UCCX
    cfg = dataclasses.replace(default_center(), rtp_events=False, supervisor_logout_while_talking="pending")
    w = World(dataclasses.replace(cfg, agents=tuple(dataclasses.replace(a, team="Team2") if a.id == "1002" else a
                                                    for a in cfg.agents)))
    w.open(bridge_sub(BRIDGE, profile=prof))
    w.open(agent_sub(AGENT, "1003", profile=prof))
    w.open(agent_sub(SUP, "1004", services=SUP_SVC, profile=prof))
    w.open(agent_sub(2, "1002", profile=prof))
    w.login_ready(AGENT, "1003")
    w.login_ready(SUP, "1004", ready=False)
    w.login_ready(2, "1002", ready=False)
    cid = talking(w)
    [conf] = only(w.req(AGENT, M.ConsultCallReq(invoke_id=6, active_call_id=cid, active_connection_device_type=0,
                                                active_connection_device_id="3003", dialed_number="3002")),
                  AGENT, MT.CONSULT_CALL_CONF)
    w.req(2, M.AnswerCallReq(invoke_id=7, call_id=conf.new_call_id, connection_device_type=0,
                             connection_device_id="3002"))
    assert seq(set_state(w, AS.AGENT_STATE_LOGOUT, agent_id="1002", agent_instrument="3002"), SUP) == [
        "SET_AGENT_STATE_CONF"]
    out = w.req(AGENT, M.ReconnectCallReq(invoke_id=8, active_call_id=conf.new_call_id, held_call_id=cid,
                                          active_connection_device_type=0, held_connection_device_type=0,
                                          active_connection_device_id="3003", held_connection_device_id="3003"))
    code = 0 if profile == "ucce" else ReasonCode.SUP_AGT_TO_LOGOUT
    assert [(e.agent_state, e.event_reason_code) for e in only(out, 2, MT.AGENT_STATE_EVENT)] == [
        (AS.AGENT_STATE_LOGOUT, code)]
    assert not w.c.agents["1002"].logged_in


def test_a_pending_supervisor_logout_outlives_the_agents_desktop():
    """The agent's desktop goes away while a supervisor's LOGOUT is pending (on_agent_disconnect "not_ready", the
    default): when the call ends the bridge sees LOGOUT SUP_AGT_TO_LOGOUT, not NOT_READY AGT_CONN_DOWN, which left
    the agent logged in against the supervisor's sign-out."""
    w = _logout_pending_world()
    cid = talking(w)
    set_state(w, AS.AGENT_STATE_LOGOUT)
    w.t += 1
    w.c.close_session(AGENT, w.t)
    w.t += 1
    out = w.c.hang_up(w.t, cid)
    assert [(e.agent_state, e.event_reason_code) for e in only(out, BRIDGE, MT.AGENT_STATE_EVENT)] == [
        (AS.AGENT_STATE_LOGOUT, ReasonCode.SUP_AGT_TO_LOGOUT)]
    assert not w.c.agents["1003"].logged_in and not w.c.agents["1003"].desktop_lost


def test_a_pending_supervisor_logout_waits_for_a_held_call_of_the_agents_own():
    """The ACD call ends while a call the agent placed itself is held on its phone (a colleague transferred the
    customer to it meanwhile): no LOGOUT with a call on the phone — NOT_READY (AGT_CALL_ENDED), then the same
    announced with NextAgentState LOGOUT, and the LOGOUT (SUP_AGT_TO_LOGOUT) once that call ends too. The control
    API's path (``set_agent_state``) is the supervisor's."""
    w = _logout_pending_world()
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")
    w.req(AGENT, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=5))
    [conf] = only(w.req(AGENT, M.MakeCallReq(invoke_id=4, dialed_number="5551234")), AGENT, MT.MAKE_CALL_CONF)
    own = conf.new_call_id
    w.t += 1
    w.c.tick(w.t)  # the external number answers (external_answer_delay 0)
    w.req(AGENT, M.HoldCallReq(invoke_id=5, call_id=own, connection_device_type=0, connection_device_id="3003"))
    cid, _ = w.inbound(csq="Sales", ani="0611")
    w.req(1, M.AnswerCallReq(invoke_id=6, call_id=cid, connection_device_type=0, connection_device_id="3001"))
    w.req(1, M.TransferCallReq(invoke_id=7, active_call_id=cid, held_call_id=NONE, active_connection_device_type=0,
                               held_connection_device_type=0, active_connection_device_id="3001",
                               dialed_number="3003"))
    w.req(AGENT, M.AnswerCallReq(invoke_id=8, call_id=cid, connection_device_type=0, connection_device_id="3003"))
    assert w.c.agents["1003"].state is AS.AGENT_STATE_TALKING
    w.t += 1
    w.c.set_agent_state(w.t, "1003", AS.AGENT_STATE_LOGOUT, int(ReasonCode.SUP_AGT_TO_LOGOUT))
    w.t += 1
    out = w.c.hang_up(w.t, cid)  # the customer hangs up: the ACD call is over, the agent's own call held
    assert [(e.agent_state, e.event_reason_code, e.next_agent_state) for e in only(out, BRIDGE, MT.AGENT_STATE_EVENT)
            if e.agent_id == "1003"] == [
        (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED, None),
        (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED, AS.AGENT_STATE_LOGOUT)]
    assert w.c.agents["1003"].logged_in
    w.t += 1
    out = w.c.hang_up(w.t, own, "5551234")
    assert [(e.agent_state, e.event_reason_code) for e in only(out, AGENT, MT.AGENT_STATE_EVENT)] == [
        (AS.AGENT_STATE_LOGOUT, ReasonCode.SUP_AGT_TO_LOGOUT)]
    assert not w.c.agents["1003"].logged_in


@pytest.mark.parametrize("icm", [False, True], ids=["uccx", "icm"])
def test_a_supervisors_desktop_is_refused_what_a_supervisor_may_not_do(icm):
    """Each refusal is the one confirmation, nothing changes: an agent of another team (SET_AGENT_STATE_REQ and
    QUERY_AGENT_STATE_REQ), or an unknown one, E_CTI_INVALID_AGENT_DATA; AgentID and another agent's phone
    E_CTI_INCONSISTENT_AGENT_DATA; a state a supervisor does not set (WORK, WORK_READY, LOGIN) CF_VALUE_OUT_OF_RANGE
    / CCX_INVALID_ARGUMENT; LOGOUT of an agent with a call CF_INVALID_OBJECT_STATE / CCX_AGENT_DEVICE_BUSY; READY
    while it talks on an ACD call CF_INVALID_OBJECT_STATE (icm: CF_INVALID_AGENT_WORKMODE), as for its own request;
    an agent logged out E_CTI_AGENT_NOT_LOGGED_ON; a desktop granted SUPERVISOR whose agent is no supervisor
    E_CTI_INVALID_AGENT_DATA (icm: E_CTI_SUPERVISOR_NOT_FOUND); a desktop not granted SUPERVISOR acts for its own
    agent only; the supervisor logged out E_CTI_AGENT_NOT_LOGGED_ON."""
    w = world(icm=icm)
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001", ready=False)
    m = _refusal(set_state(w, AS.AGENT_STATE_NOT_READY, agent_id="1001", agent_instrument="3001"))
    assert (m.TYPE, m.status, m.text) == (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA,
                                          "agent 1001 (team 'Team1') is not in the team of supervisor 1004 ('Team2')")
    m = _refusal(set_state(w, AS.AGENT_STATE_NOT_READY, agent_id=None, agent_instrument="3001"))
    assert m.status == S.E_CTI_INVALID_AGENT_DATA
    m = _refusal(w.req(SUP, M.QueryAgentStateReq(invoke_id=31, agent_id="1001")))
    assert (m.TYPE, m.status) == (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA)
    assert _refusal(set_state(w, AS.AGENT_STATE_NOT_READY, agent_id="9999")).status == S.E_CTI_INVALID_AGENT_DATA
    m = _refusal(set_state(w, AS.AGENT_STATE_NOT_READY, agent_instrument="3001"))
    assert (m.status, m.text) == (S.E_CTI_INCONSISTENT_AGENT_DATA, "agent_instrument '3001' is not the phone of agent '1003'")
    for state in (AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY, AS.AGENT_STATE_LOGIN):
        m = _refusal(set_state(w, state, agent_password="1234"))
        assert (m.TYPE, m.failure_code, m.ccx_error_code) == (MT.CONTROL_FAILURE_CONF, CF.CF_VALUE_OUT_OF_RANGE,
                                                              CCX.CCX_INVALID_ARGUMENT)
        assert m.text.endswith("a supervisor sets READY, NOT_READY, LOGOUT for an agent of its team"), m.text
    cid = talking(w)
    m = _refusal(set_state(w, AS.AGENT_STATE_LOGOUT))
    assert (m.TYPE, m.failure_code, m.text) == (MT.CONTROL_FAILURE_CONF, CF.CF_INVALID_OBJECT_STATE,
                                                "agent 1003 has a call; it cannot be logged out now")
    m = _refusal(set_state(w, AS.AGENT_STATE_READY))
    assert (m.TYPE, m.failure_code) == (MT.CONTROL_FAILURE_CONF,
                                        CF.CF_INVALID_AGENT_WORKMODE if icm else CF.CF_INVALID_OBJECT_STATE)
    assert w.c.agents["1003"].state is AS.AGENT_STATE_TALKING and w.c.agents["1003"].pending is None
    w.c.hang_up(w.t, cid, "0611")
    set_state(w, AS.AGENT_STATE_LOGOUT)
    m = _refusal(set_state(w, AS.AGENT_STATE_NOT_READY))
    assert (m.status, m.text) == (S.E_CTI_AGENT_NOT_LOGGED_ON,
                                  "agent 1003 is logged out: NOT_READY is set for a logged-in agent (LOGIN first)")
    m = _refusal(set_state(w, AS.AGENT_STATE_NOT_READY, sid=1, agent_id="1002", agent_instrument="3002"), sid=1)
    assert (m.status, m.text) == (S.E_CTI_INVALID_AGENT_DATA, "AgentID '1002' is not this session's agent '1001'")
    w.open(agent_sub(2, "1002", services=SUP_SVC))  # granted SUPERVISOR, but 1002 is no supervisor
    w.login_ready(2, "1002", ready=False)
    m = _refusal(set_state(w, AS.AGENT_STATE_READY, sid=2, agent_id="1001", agent_instrument="3001"), sid=2)
    assert (m.status, m.text) == (S.E_CTI_SUPERVISOR_NOT_FOUND if icm else S.E_CTI_INVALID_AGENT_DATA,
                                  "agent 1002 is not a supervisor")
    assert w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY
    w.req(SUP, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_LOGOUT))  # its own LOGOUT
    w.req(AGENT, M.SetAgentStateReq(invoke_id=10, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                    agent_id="1003"))
    m = _refusal(set_state(w, AS.AGENT_STATE_READY))
    assert (m.status, m.text) == (S.E_CTI_AGENT_NOT_LOGGED_ON, "agent 1004 is not logged on")
    assert w.c.agents["1003"].state is AS.AGENT_STATE_NOT_READY


def test_a_supervisors_desktop_asks_the_queue_statistics_of_an_agent_of_its_team():
    """A supervisor desktop shows its team members' queue statistics: QUERY_AGENT_QUEUE_STATISTICS_REQ from the
    supervisor's desktop (1004) naming agent 1003 of its team gets the CONF of 1003's CSQs (it was refused
    E_CTI_INVALID_AGENT_DATA "AgentID '1003' is not this session's agent '1004'", where the same desktop's
    SET/QUERY_AGENT_STATE_REQ for 1003 are answered); an agent of another team is refused as those are, and a
    desktop not granted SUPERVISOR still asks for its own agent only."""
    w = world()
    set_state(w, AS.AGENT_STATE_NOT_READY, reason=5)  # 1003 NOT_READY: a Sales caller waits
    w.inbound(csq="Sales", ani="0611")
    w.t += 4
    [d] = w.req(SUP, M.QueryAgentQueueStatisticsReq(invoke_id=40, agent_id="1003"))
    assert d.session_id == SUP and d.message == M.QueryAgentQueueStatisticsConf(
        invoke_id=40, calls_in_queue=1, oldest_call_in_queue=5, agent_id="1003")
    m = _refusal(w.req(SUP, M.QueryAgentQueueStatisticsReq(invoke_id=41, agent_id="1001")))
    assert (m.TYPE, m.invoke_id, m.status, m.text) == (
        MT.FAILURE_CONF, 41, S.E_CTI_INVALID_AGENT_DATA,
        "agent 1001 (team 'Team1') is not in the team of supervisor 1004 ('Team2')")
    [d] = w.req(SUP, M.QueryAgentQueueStatisticsReq(invoke_id=42, agent_id="1004"))  # its own: Support, empty
    assert d.message == M.QueryAgentQueueStatisticsConf(invoke_id=42, calls_in_queue=0, oldest_call_in_queue=0,
                                                        agent_id="1004")
    m = _refusal(w.req(AGENT, M.QueryAgentQueueStatisticsReq(invoke_id=43, agent_id="1004")), sid=AGENT)
    assert (m.status, m.text) == (S.E_CTI_INVALID_AGENT_DATA, "AgentID '1004' is not this session's agent '1003'")


@pytest.mark.parametrize("profile, codes, sent", [("uccx", True, (33, 33, 22)), ("uccx", False, (0, 0, 0)),
                                                  ("ucce", True, (0, 0, 0))])
def test_a_supervisors_not_ready_and_logout_carry_the_supervisor_reason_codes(profile, codes, sent):
    """A supervisor's desktop setting NOT_READY or LOGOUT for an agent of its team without a reason code of its own:
    the AGENT_STATE_EVENT to the agent's desktop and the bridge carries UCCX's supervisor codes (reference §6.19, U),
    SUP_AGT_TO_NOT_READY 33 and SUP_AGT_TO_LOGOUT 22 — also a NOT_READY pending while the agent talks, when the
    call ends (it carried 0: a wallboard could not tell a supervisor's change from the agent's own). Off with
    ``supervisor_reason_codes = false``; a ucce session sends its own (ICM has no such codes). READY has no code."""
    from mockcti.wire.dialect import UCCE, UCCX

    prof = UCCE if profile == "ucce" else UCCX
    w = World(dataclasses.replace(default_center(), rtp_events=False, supervisor_reason_codes=codes))
    w.open(bridge_sub(BRIDGE, profile=prof))
    w.open(agent_sub(AGENT, "1003", profile=prof))
    w.open(agent_sub(SUP, "1004", services=SUP_SVC, profile=prof))
    w.login_ready(AGENT, "1003")
    w.login_ready(SUP, "1004", ready=False)
    got = []
    out = set_state(w, AS.AGENT_STATE_NOT_READY)
    for sid in (AGENT, BRIDGE):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert ev.agent_state == AS.AGENT_STATE_NOT_READY
        got.append(ev.event_reason_code)
    out = set_state(w, AS.AGENT_STATE_READY)
    assert [e.event_reason_code for e in only(out, BRIDGE, MT.AGENT_STATE_EVENT)] == [0]
    cid = talking(w)
    set_state(w, AS.AGENT_STATE_NOT_READY)  # pending: the state after the call
    out = w.c.hang_up(w.t + 1, cid, "0611")
    [ev] = [e for e in only(out, BRIDGE, MT.AGENT_STATE_EVENT) if e.agent_state == AS.AGENT_STATE_NOT_READY]
    assert ev.event_reason_code == got[0]
    out = set_state(w, AS.AGENT_STATE_LOGOUT)
    [ev] = only(out, AGENT, MT.AGENT_STATE_EVENT)
    assert ev.agent_state == AS.AGENT_STATE_LOGOUT
    assert (*got, ev.event_reason_code) == sent  # (a code of its own is kept: the test of reason 12 above)


def test_a_ucce_supervisor_on_hold_barging_in_is_talking_again():
    """A ucce supervisor whose own call is on hold is HOLD (ICM AGENT_STATE_HOLD, its calls all held); its phone
    joining an agent's call by a barge-in makes it talk again: AGENT_STATE_EVENT TALKING to its desktop and the
    bridge (Finesse 12.5(1), Unified CCE: HOLD -> TALKING). It stayed HOLD, talking on the barged-in call (found
    by the stateful machine)."""
    w, cid = _barge_in_world("ucce", supervisor_ready=False)
    own = only(w.req(SUP, M.MakeCallReq(invoke_id=3, dialed_number="5551234")), SUP, MT.MAKE_CALL_CONF)[0].new_call_id
    out = w.req(SUP, M.HoldCallReq(invoke_id=4, call_id=own, connection_device_id="3004"))
    assert [e.agent_state for e in only(out, SUP, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_HOLD]
    out = supervise(w, cid, 3)
    for sid in (SUP, BRIDGE):
        assert [(e.agent_id, e.agent_state) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            ("1004", AS.AGENT_STATE_TALKING)]
    assert w.c.agents["1004"].state is AS.AGENT_STATE_TALKING
