"""The contact center, pure: what each request returns and which session receives which event.

Sequences are written from reference §7.1 (delivery and ordering rules) and §7.2 (flows).
"""

from __future__ import annotations

import pytest

from mockcti.center import CenterConfig, ContactCenter, Subscription, default_center
from mockcti.center.config import AgentConfig, CallConfig, CSQConfig
from mockcti.center.core import AGENT_DEVICE, EXTERNAL_DEVICE
from mockcti.wire import Dialect, encode
from mockcti.wire.dialect import UCCE, UCCX
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import (
    CallEventMask, CallType, CCXErrorCode, ControlFailureCode, DeviceType, EventCause, LocalConnectionState as LCS,
    ReasonCode, StatusCode as S, SystemEventID,
)

from center_world import (  # tests/support, on the path by pyproject's pytest pythonpath
    ALL_CALLS, ALL_STATES, World, agent_sub, bridge_sub, calls_index_matches_a_scan, encodable, only, seq,
    two_desktops_and_a_bridge,
)

#: a phone's media starting / stopping: a pair of RTP events, input then output (reference §5.4, §7.2)
STARTED = ["RTP_STARTED_EVENT"] * 2
STOPPED = ["RTP_STOPPED_EVENT"] * 2


@pytest.fixture
def w():
    return two_desktops_and_a_bridge()


def test_login_ready_not_ready_logout_sequences(w):
    out = w.req(1, M.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      agent_id="1001"))
    assert out[0].message == M.SetAgentStateConf(invoke_id=7)
    ev = only(out, 1, MT.AGENT_STATE_EVENT)[0]
    assert (ev.agent_state, ev.event_reason_code, ev.agent_id, ev.agent_extension) == (
        AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_LOGON, "1001", "3001")
    assert [c.csq_id for c in ev.csqs] == [1, 2] and ev.peripheral_type == 21
    assert seq(out, 9) == ["AGENT_STATE_EVENT"] and seq(out, 2) == []
    out = w.req(1, M.SetAgentStateReq(invoke_id=8, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=12))
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].event_reason_code == 12
    out = w.req(1, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_LOGOUT, event_reason_code=3))
    assert only(out, 9, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_LOGOUT
    conf = w.req(1, M.QueryAgentStateReq(invoke_id=10, agent_id="1001"))[0].message
    assert conf.TYPE is MT.QUERY_AGENT_STATE_CONF and conf.agent_state == AS.AGENT_STATE_LOGOUT and conf.invoke_id == 10


def test_agent_state_failures(w):
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_LOGIN, agent_password="nope",
                                      agent_id="1001"))
    # the CF value UCCX publishes (reference §6.2 0-22; §7.1 names only the UCCX error code 88009)
    assert d.message == M.ControlFailureConf(invoke_id=3, failure_code=ControlFailureCode.CF_GENERIC_UNSPECIFIED,
                                             ccx_error_code=CCXErrorCode.CCX_AGENT_INVALID,
                                             text="wrong password for agent 1001")
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_READY))
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_AGENT_NOT_LOGGED_ON
    w.login_ready(1, "1001", ready=False)
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      agent_id="1001"))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF and d.message.failure_code == ControlFailureCode.CF_INVALID_OBJECT_STATE
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_TALKING))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF and d.message.failure_code == ControlFailureCode.CF_VALUE_OUT_OF_RANGE
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=77))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF


def test_inbound_call_exact_sequences(w):
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid, out = w.inbound(csq="Sales", ani="0612345678")
    assert seq(out, 1) == ["AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]
    # the bridge sees the route point and the queue stage even though an agent is ready (§7.2 inbound ACD call:
    # CALL_ORIGINATED, CALL_DELIVERED at the route point, CALL_QUEUED_EVENT to bridge clients, then the agent
    # RESERVED, then the delivery at the agent's phone)
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "CALL_QUEUED_EVENT", "AGENT_STATE_EVENT", "CALL_DELIVERED_EVENT"]
    queued = only(out, 9, MT.CALL_QUEUED_EVENT)[0]
    assert (queued.call_id, queued.num_queued, [q.csq_id for q in queued.csqs]) == (cid, 0, [1])
    assert seq(out, 2) == []  # 1002 is NOT_READY and not on the call
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_RESERVED
    begin = only(out, 1, MT.BEGIN_CALL_EVENT)[0]
    assert (begin.call_id, begin.ani, begin.connection_device_id, begin.call_type) == (cid, "0612345678", "3001", 1)
    dl = only(out, 1, MT.CALL_DELIVERED_EVENT)[0]
    assert (dl.local_connection_state, dl.alerting_device_type, dl.alerting_device_id, dl.csq_id) == (
        LCS.LCS_ALERTING, 76, "3001", 1)
    out = w.req(1, M.AnswerCallReq(invoke_id=20, call_id=cid, connection_device_id="3001"))
    assert seq(out, 1) == ["ANSWER_CALL_CONF", "CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT", *STARTED]
    assert seq(out, 9) == ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT", *STARTED]
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_TALKING
    out = w.req(1, M.HoldCallReq(invoke_id=21, call_id=cid, connection_device_id="3001"))
    assert seq(out, 1) == ["HOLD_CALL_CONF", "CALL_HELD_EVENT", *STOPPED] and seq(out, 9) == ["CALL_HELD_EVENT", *STOPPED]
    assert only(out, 9, MT.CALL_HELD_EVENT)[0].local_connection_state == LCS.LCS_HOLD
    out = w.req(1, M.RetrieveCallReq(invoke_id=22, held_call_id=cid, held_connection_device_id="3001"))
    assert seq(out, 1) == ["RETRIEVE_CALL_CONF", "CALL_RETRIEVED_EVENT", *STARTED]
    out = w.req(1, M.ClearConnectionReq(invoke_id=23, call_id=cid, connection_device_id="3001"))
    assert seq(out, 1) == ["CLEAR_CONNECTION_CONF", "CALL_CONNECTION_CLEARED_EVENT", *STOPPED, "CALL_CLEARED_EVENT",
                           "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", *STOPPED, "CALL_CLEARED_EVENT", "END_CALL_EVENT",
                           "AGENT_STATE_EVENT"]
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_READY
    assert w.c.calls == {}


def test_an_acd_calls_called_device_is_its_trigger_and_a_placed_calls_the_number_dialled(w):
    """CALL_DELIVERED / CALL_ESTABLISHED: CalledDeviceID is the device the caller called, the alerting or
    answering phone being AlertingDeviceID / AnsweringDeviceID (reference §8.10b: the call alerting at agent
    2006 has CalledDeviceID "7000", its trigger, the DNIS). It was the agent's phone, so a desktop could not
    tell which trigger (which service line) the caller dialled from these events."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid, out = w.inbound(csq="Sales", ani="0612345678", dnis="7000")
    for sid in (1, 9):
        dl = only(out, sid, MT.CALL_DELIVERED_EVENT)[-1]  # (the bridge's first: at the route point)
        assert (dl.alerting_device_id, dl.called_device_id, dl.called_device_type, dl.dnis) == (
            "3001", "7000", DeviceType.DEVID_ROUTE_POINT, "7000")
    out = w.req(1, M.AnswerCallReq(invoke_id=20, call_id=cid, connection_device_id="3001"))
    est = only(out, 1, MT.CALL_ESTABLISHED_EVENT)[0]
    assert (est.answering_device_id, est.called_device_id, est.called_device_type) == (
        "3001", "7000", DeviceType.DEVID_ROUTE_POINT)
    # a consultation called the consulted agent's extension: that phone is the called device
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    dl = only(out, 2, MT.CALL_DELIVERED_EVENT)[0]
    assert (dl.alerting_device_id, dl.called_device_id, dl.called_device_type) == ("3002", "3002", AGENT_DEVICE)


def test_masks_filter_what_each_session_receives(w):
    w.open(bridge_sub(8, call_mask=int(CallEventMask.CALL_DELIVERED_MASK), state_mask=0))
    w.login_ready(1, "1001")
    _, out = w.inbound(agent_id="1001")
    # session 8 asked only for CALL_DELIVERED: no BEGIN_CALL, no CALL_ORIGINATED, no agent states; the call's
    # delivery at its route point (§7.2), then at the agent's phone
    assert seq(out, 8) == ["CALL_DELIVERED_EVENT", "CALL_DELIVERED_EVENT"]
    assert [e.alerting_device_id for e in only(out, 8, MT.CALL_DELIVERED_EVENT)] == ["7000", "3001"]


def test_queueing_when_nobody_is_ready(w):
    w.login_ready(1, "1001", ready=False)
    cid, out = w.inbound(csq="Support")
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "CALL_QUEUED_EVENT"] and seq(out, 1) == []
    assert w.c.queues[2] == [cid]
    out = w.req(1, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT", "AGENT_STATE_EVENT", "BEGIN_CALL_EVENT",
                           "CALL_DELIVERED_EVENT"]
    assert [e.agent_state for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY, AS.AGENT_STATE_RESERVED]
    assert w.c.queues[2] == []


def test_longest_ready_agent_gets_the_call(w):
    w.login_ready(2, "1002")
    w.login_ready(1, "1001")
    _, out = w.inbound(csq="Sales")
    assert seq(out, 2)[-1] == "CALL_DELIVERED_EVENT" and seq(out, 1) == []


def test_an_agent_of_two_csqs_gets_the_caller_waiting_longest_whatever_its_csq(w):
    """UCCX takes the next caller first in first out across its queues ("no skills or CSQ names involved"; one
    priority in the mock): agent 1001 (Sales, Support) becoming READY gets Support's caller, waiting since before
    Sales's — it got Sales's, the CSQ configured first, and a wallboard saw Support's wait grow while a later
    caller was served. Then 1002 (Sales, Support too) gets Sales's."""
    w.login_ready(1, "1001", ready=False)
    w.login_ready(2, "1002", ready=False)
    support, _ = w.inbound(csq="Support")
    sales, _ = w.inbound(csq="Sales")
    out = w.req(1, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_READY))
    assert [m.call_id for m in only(out, 1, MT.CALL_DELIVERED_EVENT)] == [support]
    assert [(m.agent_state, m.csq_id) for m in only(out, 9, MT.AGENT_STATE_EVENT)] == [
        (AS.AGENT_STATE_READY, 0xFFFFFFFF), (AS.AGENT_STATE_RESERVED, 2)]
    [d] = w.req(9, M.QueryQueueStatisticsReq(invoke_id=4, csq_id=1))
    assert d.message.calls_in_priority_queue1 == 1
    out = w.req(2, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_READY))
    assert [m.call_id for m in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [sales]


def answered(w, sid="1001", s=1):
    cid, _ = w.inbound(agent_id=sid)
    w.req(s, M.AnswerCallReq(invoke_id=30, call_id=cid, connection_device_id=w.c.agents[sid].device))
    return cid


def test_consult_transfer(w):
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid = answered(w)
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    conf = out[-1].message if out[-1].message.TYPE is MT.CONSULT_CALL_CONF else only(out, 1, MT.CONSULT_CALL_CONF)[0]
    consult = conf.new_call_id
    assert consult != cid and conf.new_connection_device_id == "3001"
    assert seq(out, 1)[:1] == ["CALL_HELD_EVENT"]
    assert "CALL_DELIVERED_EVENT" in seq(out, 1)  # the consulting agent sees the far end ring
    assert seq(out, 2) == ["AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]
    out = w.req(2, M.AnswerCallReq(invoke_id=41, call_id=consult, connection_device_id="3002"))
    assert "CALL_ESTABLISHED_EVENT" in seq(out, 1) and "CALL_ESTABLISHED_EVENT" in seq(out, 2)
    out = w.req(1, M.TransferCallReq(invoke_id=42, active_call_id=consult, held_call_id=cid,
                                     active_connection_device_id="3001", held_connection_device_id="3001"))
    # the transferring agent leaves the original call and sees the consultation call end
    # (its phone's media on the consultation call stops with it)
    assert seq(out, 1) == ["TRANSFER_CALL_CONF", "CALL_TRANSFERRED_EVENT", "CALL_CONNECTION_CLEARED_EVENT",
                           "END_CALL_EVENT", *STOPPED, "CALL_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    # 1002 learns the surviving call first, then the transfer, then its consult call ends; its media
    # moves to the transferred call (§5.4: RTP started "when the transfer ... operations are completed"); the
    # transferred ACD call is re-typed TRANSFER_IN (§6.17) for everyone who knows it (1002, the bridge)
    assert seq(out, 2) == ["BEGIN_CALL_EVENT", "CALL_TRANSFERRED_EVENT", "CALL_CONNECTION_CLEARED_EVENT", *STOPPED,
                           "CALL_CLEARED_EVENT", "END_CALL_EVENT", *STARTED, "CALL_DATA_UPDATE_EVENT"]
    assert only(out, 2, MT.CALL_DATA_UPDATE_EVENT)[0].call_type == CallType.CALLTYPE_TRANSFER_IN
    assert [m.call_type for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT)] == [CallType.CALLTYPE_TRANSFER_IN]
    assert "CALL_DATA_UPDATE_EVENT" not in seq(out, 1)  # 1001 left the call
    ev = only(out, 2, MT.CALL_TRANSFERRED_EVENT)[0]
    assert (ev.primary_call_id, ev.secondary_call_id, ev.transferring_device_id, ev.transferred_device_id) == (
        cid, consult, "3001", "3002")
    assert w.c.agents["1001"].state is AS.AGENT_STATE_READY
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    assert set(w.c.calls[cid].legs) == {"0600000000", "3002"}


def test_a_consultations_service_initiated_event_names_its_calls_csq(w):
    """UCCX's transferred-call flow: agent 2006's consultation of a CSQ 1 call starts with
    CALL_SERVICE_INITIATED_EVENT CSQID 1, ApplicationID -1 (the consultation is about that CSQ's call);
    CSQID was always 0xFFFFFFFF. An agent's own call (MAKE_CALL) has no CSQ."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    out = w.req(2, M.MakeCallReq(invoke_id=41, agent_instrument="3002", dialed_number="0611111111"))
    assert only(out, 2, MT.CALL_SERVICE_INITIATED_EVENT)[0].csq_id == 0xFFFFFFFF
    w.req(2, M.ClearCallReq(invoke_id=42, call_id=only(out, 2, MT.MAKE_CALL_CONF)[0].new_call_id,
                            connection_device_id="3002"))
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=30, call_id=cid, connection_device_id="3001"))
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    for sid in (1, 9):
        [ev] = only(out, sid, MT.CALL_SERVICE_INITIATED_EVENT)
        assert (ev.csq_id, ev.application_id) == (1, 0xFFFFFFFF)


def test_a_call_to_a_busy_agents_phone_fails_busy_and_the_consultation_can_be_given_up(w):
    """A consultation (or MAKE_CALL) to an agent who is talking rang there, and its ANSWER_CALL_REQ was refused
    (ACD-1175): a consultation that rang for ever. A UCCX agent line takes one call (QUERY_DEVICE_INFO_CONF:
    MaxActiveCalls 1; the UCCX Call Consult Transfer step has a Busy outcome): the call fails, CALL_FAILED_EVENT
    (LCS_FAIL, CEC_BUSY, FailingDeviceID the busy phone) to the dialling agent and the bridges, nothing to the
    busy agent, whose call and state are untouched; the consulting agent reconnects to its held call."""
    w.open(agent_sub(3, "1003"))
    for sid, agent in ((1, "1001"), (2, "1002"), (3, "1003")):
        w.login_ready(sid, agent)
    cid = answered(w)
    other = answered(w, "1002", 2)
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert seq(out, 2) == [] and seq(out, 1)[-2:] == ["CALL_ORIGINATED_EVENT", "CALL_FAILED_EVENT"]
    for sid in (1, 9):
        [ev] = only(out, sid, MT.CALL_FAILED_EVENT)
        assert (ev.call_id, ev.connection_device_id, ev.failing_device_id, ev.called_device_id, ev.event_cause,
                ev.local_connection_state) == (consult, "3002", "3002", "3002", EventCause.CEC_BUSY, LCS.LCS_FAIL)
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING and set(w.c.calls[other].legs) == {"0600000000", "3002"}
    out = w.req(1, M.ReconnectCallReq(invoke_id=41, active_call_id=consult, held_call_id=cid,
                                      active_connection_device_id="3001", held_connection_device_id="3001"))
    assert seq(out, 1)[:2] == ["RECONNECT_CALL_CONF", "CALL_CONNECTION_CLEARED_EVENT"]
    assert "CALL_RETRIEVED_EVENT" in seq(out, 1) and consult not in w.c.calls and seq(out, 2) == []
    # a NOT_READY agent's own call to the busy phone fails the same way
    w.req(3, M.SetAgentStateReq(invoke_id=42, agent_state=AS.AGENT_STATE_NOT_READY))
    out = w.req(3, M.MakeCallReq(invoke_id=43, agent_instrument="3003", dialed_number="3002"))
    assert seq(out, 3)[-1] == "CALL_FAILED_EVENT" and seq(out, 2) == []


@pytest.mark.parametrize("single_step", ["transfer", "conference"])
def test_a_single_step_transfer_or_conference_to_a_busy_agents_phone_is_refused(w, single_step):
    """MAKE_CALL and CONSULT to a busy agent's phone failed busy, but a single-step TRANSFER_CALL_REQ or
    CONFERENCE_CALL_REQ to it rang there beside the call it talked on (the transferring agent already gone).
    One busy rule for every call a client sends to an agent's phone; a single-step request fails as a request,
    as the JTAPI transfer UCCX makes does (CTIERR_TRANSFERFAILED_DESTINATION_BUSY): CONTROL_FAILURE_CONF
    CF_INVALID_OBJECT_STATE, CCX_AGENT_DEVICE_BUSY 88005, nothing to the busy agent nor the bridge, both calls as
    they were. Once the phone is free the same request rings there."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002")
    cid = answered(w)
    other = answered(w, "1002", 2)
    legs = {c: {d: lg.state for d, lg in w.c.calls[c].legs.items()} for c in (cid, other)}
    req = (M.TransferCallReq(invoke_id=60, active_call_id=cid, held_call_id=0xFFFFFFFF,
                             held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                             dialed_number="3002")
           if single_step == "transfer" else blind_conference(cid, "3002"))
    out = w.req(1, req)
    assert seq(out, 1) == ["CONTROL_FAILURE_CONF"] and seq(out, 2) == [] and seq(out, 9) == []
    m = out[0].message
    assert (m.invoke_id, m.failure_code, m.ccx_error_code) == (
        req.invoke_id, ControlFailureCode.CF_INVALID_OBJECT_STATE, CCXErrorCode.CCX_AGENT_DEVICE_BUSY)
    assert "3002" in m.text and "agent 1002" in m.text and "busy" in m.text
    assert {c: {d: lg.state for d, lg in w.c.calls[c].legs.items()} for c in (cid, other)} == legs
    assert (w.c.agents["1001"].state, w.c.agents["1002"].state) == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_TALKING)
    w.c.hang_up(w.t, other)  # 1002's phone is free: the same request rings there
    w.t += 1
    out = w.req(1, req)
    assert seq(out, 1)[0] in ("TRANSFER_CALL_CONF", "CONFERENCE_CALL_CONF")
    assert "CALL_DELIVERED_EVENT" in seq(out, 2)


@pytest.mark.parametrize("placed", ["outside number", "supervisor assist"])
def test_no_request_makes_an_agent_on_a_call_of_its_own_ready_and_the_caller_waits(placed):
    """A NOT_READY agent talking on (or still dialling) its own call asks for READY: refused (UCCX: no READY,
    pending or not, during a non-ICD call; Finesse's guide: errorData 33 CF_RESOURCE_BUSY, which
    control_failure_codes = "icm" sends; "uccx" CF_INVALID_OBJECT_STATE, CF 0-22) — it was made READY.
    A supervisor's READY (the control API, a scenario) is refused the same way (a ValueError with the same
    text): it made the agent READY and skipped by routing, a wallboard showing an available agent while the
    caller waited. The caller waits in the queue (CALL_QUEUED to the bridge, nothing to the agent), the agent
    NOT_READY; once its call is over it asks for READY and is offered the caller at once."""
    import dataclasses

    cfg = default_center()
    cfg = dataclasses.replace(cfg, agents=tuple(dataclasses.replace(a, team="Team2") for a in cfg.agents))
    w = World(cfg)
    w.open(agent_sub(1, "1001"))
    w.open(agent_sub(4, "1004"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001", ready=False)
    if placed == "outside number":
        out = w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number="0611111111"))
        own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    else:  # dialling its supervisor, whose phone rings (1004 NOT_READY, not answering)
        w.login_ready(4, "1004", ready=False)
        out = w.req(1, M.SupervisorAssistReq(invoke_id=41, call_id=0xFFFFFFFF, connection_device_id="3001",
                                             text="help"))
        own = only(out, 1, MT.SUPERVISOR_ASSIST_CONF)[0].call_id
    out = w.req(1, M.SetAgentStateReq(invoke_id=42, agent_state=AS.AGENT_STATE_READY))
    m = out[0].message
    assert seq(out, 1) == ["CONTROL_FAILURE_CONF"] and seq(out, 9) == []
    assert (m.invoke_id, m.failure_code, m.ccx_error_code) == (
        42, ControlFailureCode.CF_INVALID_OBJECT_STATE, CCXErrorCode.CCX_AGENT_DEVICE_BUSY)
    assert "agent 1001" in m.text and "not an ACD call" in m.text and "READY once it ends" in m.text
    assert w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY
    w.t += 1
    with pytest.raises(ValueError, match="agent 1001 is on a call that is not an ACD call .3001 busy.: READY once"):
        w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_READY)  # a supervisor's
    assert w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY and "1001" not in w.c.ready
    caller, out = w.inbound(csq="Sales")
    assert seq(out, 1) == [] and "CALL_QUEUED_EVENT" in seq(out, 9)
    assert w.c.queues[1] == [caller] and set(w.c.calls[caller].legs) == {"0600000000"}
    out = w.req(1, M.ClearCallReq(invoke_id=43, call_id=own, connection_device_id="3001"))
    assert "AGENT_STATE_EVENT" not in seq(out, 1)  # NOT_READY it stays: nobody asked for READY after the call
    out = w.req(1, M.SetAgentStateReq(invoke_id=44, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT", "AGENT_STATE_EVENT", "BEGIN_CALL_EVENT",
                           "CALL_DELIVERED_EVENT"]
    assert [m.agent_state for m in only(out, 9, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY,
                                                                           AS.AGENT_STATE_RESERVED]
    assert only(out, 1, MT.CALL_DELIVERED_EVENT)[0].call_id == caller
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED and w.c.queues[1] == []



def test_a_ready_agent_retrieving_a_call_of_its_own_goes_not_ready():
    """A NOT_READY agent holds a call it placed and asks for READY (accepted: a held call leaves the line free to
    ring), then retrieves that call. It stayed READY while talking on it: desktops and the bridges showed an
    available agent, routing skipped its busy phone, the next caller waited. UCCX keeps an agent on a non-routed
    call NOT_READY (Finesse User.States): RETRIEVE_CALL_CONF, CALL_RETRIEVED, the media, then AGENT_STATE_EVENT
    NOT_READY, reason AGT_OFFHOOK 32762 (the agent took its line up; the code is the mock's choice), to the
    desktop and the bridge; it stays NOT_READY after the call, as after a direct call."""
    w = World()
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001", ready=False)
    out = w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    w.req(1, M.HoldCallReq(invoke_id=42, call_id=own, connection_device_id="3001"))
    out = w.req(1, M.SetAgentStateReq(invoke_id=43, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]
    out = w.req(1, M.RetrieveCallReq(invoke_id=44, held_call_id=own, held_connection_device_id="3001"))
    assert seq(out, 1) == ["RETRIEVE_CALL_CONF", "CALL_RETRIEVED_EVENT", "RTP_STARTED_EVENT", "RTP_STARTED_EVENT",
                           "AGENT_STATE_EVENT"]
    for sid in (1, 9):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_id, ev.agent_state, ev.event_reason_code) == (
            "1001", AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_OFFHOOK)
    assert "1001" not in w.c.ready
    caller, out = w.inbound(csq="Sales")
    assert seq(out, 1) == [] and w.c.queues[1] == [caller]
    out = w.req(1, M.ClearConnectionReq(invoke_id=45, call_id=own, connection_device_id="3001"))
    assert "AGENT_STATE_EVENT" not in seq(out, 1) and w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY


def test_under_ucce_an_agent_on_a_call_of_its_own_talks_holds_and_takes_ready_after_it():
    """The same steps under ucce, where Unified CCE shows an agent on a call it placed TALKING (Finesse 12.5(1),
    User—Change Agent State: "An agent who places a call while in NOT_READY state transitions to TALKING"): TALKING
    from MAKE_CALL on, HOLD while the call is held (the same table: TALKING -> HOLD, HOLD -> TALKING on retrieve),
    READY asked for meanwhile is the state after the call (HOLD with NextAgentState READY), the retrieve makes it
    TALKING again, and the call's end makes it READY — routed the caller waiting."""
    from mockcti.wire.dialect import UCCE

    w = two_desktops_and_a_bridge(profile=UCCE)
    w.login_ready(1, "1001", ready=False)
    out = w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    for sid in (1, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_TALKING, 0)]
    out = w.req(1, M.HoldCallReq(invoke_id=42, call_id=own, connection_device_id="3001"))
    for sid in (1, 9):
        assert [e.agent_state for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_HOLD]
    out = w.req(1, M.SetAgentStateReq(invoke_id=43, agent_state=AS.AGENT_STATE_READY))
    [ev] = only(out, 1, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.next_agent_state) == (AS.AGENT_STATE_HOLD, AS.AGENT_STATE_READY)
    out = w.req(1, M.RetrieveCallReq(invoke_id=44, held_call_id=own, held_connection_device_id="3001"))
    assert [e.agent_state for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_TALKING]
    caller, out = w.inbound(csq="Sales")
    assert seq(out, 1) == [] and w.c.queues[1] == [caller]
    out = w.req(1, M.ClearConnectionReq(invoke_id=45, call_id=own, connection_device_id="3001"))
    assert [e.agent_state for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY,
                                                                           AS.AGENT_STATE_RESERVED]
    assert only(out, 1, MT.CALL_DELIVERED_EVENT)[0].call_id == caller


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_an_agent_whose_calls_are_all_held_is_hold_under_ucce_only(profile):
    """Unified CCE reports an agent whose call is held HOLD (ICM AGENT_STATE_HOLD 10; Finesse 12.5(1), Unified CCE:
    TALKING -> HOLD "an agent puts a call on hold", HOLD -> TALKING "when an agent retrieves a held call"); UCCX
    keeps it TALKING (reference §7.2). Agent 1001 answers a Sales caller, holds it (ucce: HOLD, CSQID 1, to its
    desktop and the bridge — not to a bridge whose AgentStateMask lacks ICM's AGENT_HOLD_MASK 0x200), asks for
    NOT_READY (announced in HOLD, NextAgentState NOT_READY), retrieves (TALKING), consults agent 1002 (TALKING: the
    consultation dials), 1002 answers and hangs up (HOLD: only the held call left), retrieves (TALKING), and the
    caller's hang-up gives the NOT_READY it asked for. Under uccx: TALKING throughout, the same end."""
    ucce = profile == "ucce"
    w = two_desktops_and_a_bridge(profile=UCCE if ucce else None)
    w.open(bridge_sub(8, state_mask=0x1FF, **({"profile": UCCE} if ucce else {})))  # no HOLD bit (ICM 0x200)
    w.login_ready(1, "1001")
    w.login_ready(2, "1002")
    caller, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=caller, connection_device_id="3001"))

    def states(out, sid=1):
        got = [(e.agent_state, e.csq_id, e.next_agent_state) for e in only(out, sid, MT.AGENT_STATE_EVENT)
               if e.agent_id == "1001"]
        if sid == 1:
            assert got == states(out, 9)
        return got

    hold = [(AS.AGENT_STATE_HOLD, 1, None)] if ucce else []
    talk = [(AS.AGENT_STATE_TALKING, 1, None)] if ucce else []
    out = w.req(1, M.HoldCallReq(invoke_id=4, call_id=caller, connection_device_id="3001"))
    assert states(out) == hold and states(out, 8) == []
    assert w.req(1, M.QueryAgentStateReq(invoke_id=5, agent_id="1001"))[0].message.agent_state == (
        AS.AGENT_STATE_HOLD if ucce else AS.AGENT_STATE_TALKING)
    # a wallboard counts it in session (talking), in the CSQ and the center, as under uccx: HOLD was in no bucket
    queue = w.req(9, M.QueryQueueStatisticsReq(invoke_id=50, csq_id=1))[0].message
    summary = w.req(9, M.QuerySummaryStatisticsReq(invoke_id=51))[0].message
    assert (queue.in_session_agents, summary.in_session_agents) == (1, 1)
    out = w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=4))
    assert states(out) == [(AS.AGENT_STATE_HOLD if ucce else AS.AGENT_STATE_TALKING, 1, AS.AGENT_STATE_NOT_READY)]
    out = w.req(1, M.RetrieveCallReq(invoke_id=7, held_call_id=caller, held_connection_device_id="3001"))
    assert states(out) == talk and states(out, 8) == talk
    out = w.req(1, M.ConsultCallReq(invoke_id=8, active_call_id=caller, active_connection_device_id="3001",
                                    dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert states(out) == []  # held, but dialling the consultation: TALKING
    w.req(2, M.AnswerCallReq(invoke_id=9, call_id=consult, connection_device_id="3002"))
    out = w.req(2, M.ClearConnectionReq(invoke_id=10, call_id=consult, connection_device_id="3002"))
    assert states(out) == hold
    out = w.req(1, M.RetrieveCallReq(invoke_id=11, held_call_id=caller, held_connection_device_id="3001"))
    assert states(out) == talk
    w.t += 1
    out = encodable(w.c.hang_up(w.t, caller))
    assert [(e.agent_state, e.event_reason_code) for e in only(out, 1, MT.AGENT_STATE_EVENT)] == [
        (AS.AGENT_STATE_NOT_READY, 4)]


@pytest.mark.parametrize("answered", [True, False])
@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_a_direct_call_at_a_ready_agent_returns_it_to_ready_under_ucce_only(profile, answered):
    """Agent 1001 (NOT_READY) calls agent 1002's extension while 1002 is READY; a caller comes to CSQ Sales
    meanwhile. UCCX takes 1002 out of routing for good: NOT_READY AGT_NON_ICD when it rings, no event when it
    answers, NOT_READY after (the caller waits). Unified CCE (Finesse 12.5(1) User—Change Agent State, Unified CCE
    table: READY -> RESERVED "an incoming call arrives", RESERVED -> TALKING on answer, TALKING -> READY "if the
    agent was in READY state before the call", RESERVED -> READY "can become RESERVED but never take a call"):
    RESERVED while it rings, TALKING on it, READY after — and routed the waiting caller. It went NOT_READY with
    UCCX's AGT_NON_ICD and NOT_READY (AGT_CALL_ENDED) after the call. The desktop and the bridge see the same."""
    w = two_desktops_and_a_bridge(profile=UCCE if profile == "ucce" else None)
    w.login_ready(1, "1001", ready=False)
    w.login_ready(2, "1002")

    def states(out):
        got = {sid: [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)
                     if e.agent_id == "1002"] for sid in (2, 9)}
        assert got[2] == got[9]
        return got[2]

    out = w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number="3002"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    ucce = profile == "ucce"
    assert states(out) == [(AS.AGENT_STATE_RESERVED, 0) if ucce else (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_NON_ICD)]
    caller, out = w.inbound(csq="Sales")
    assert seq(out, 2) == [] and w.c.queues[1] == [caller]  # not routable while its phone rings
    if answered:
        out = w.req(2, M.AnswerCallReq(invoke_id=42, call_id=own, connection_device_id="3002"))
        assert states(out) == ([(AS.AGENT_STATE_TALKING, 0)] if ucce else [])
        assert w.req(2, M.QueryAgentStateReq(invoke_id=43, agent_id="1002"))[0].message.agent_state == (
            AS.AGENT_STATE_TALKING if ucce else AS.AGENT_STATE_NOT_READY)
    out = w.req(1, M.ClearConnectionReq(invoke_id=44, call_id=own, connection_device_id="3001"))
    if ucce:
        assert states(out) == [(AS.AGENT_STATE_READY, 0), (AS.AGENT_STATE_RESERVED, 0)]
        assert only(out, 2, MT.CALL_DELIVERED_EVENT)[0].call_id == caller
    else:
        assert states(out) == [] and w.c.queues[1] == [caller]
        assert w.c.agents["1002"].state is AS.AGENT_STATE_NOT_READY


@pytest.mark.parametrize("choice, failure", [("uccx", ControlFailureCode.CF_INVALID_OBJECT_STATE),
                                             ("icm", ControlFailureCode.CF_RESOURCE_BUSY)])
@pytest.mark.parametrize("before", [AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_WORK])
def test_ready_asked_for_during_a_call_of_its_own_is_refused(choice, failure, before):
    """UCCX keeps an agent on a non-ICD call NOT_READY (Finesse: "In Unified CCX deployments, the user is in this
    state while on a non-routed call") and "does not allow an agent to set a pending state of READY while that
    agent is talking on a non-ICD call" (errorData 33 CF_RESOURCE_BUSY). The one confirmation, no event for
    anyone, the agent as it was; once the call ends, READY is taken."""
    import dataclasses

    w = World(dataclasses.replace(default_center(), control_failure_codes=choice))
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001", ready=False)
    if before is AS.AGENT_STATE_WORK:
        w.req(1, M.SetAgentStateReq(invoke_id=40, agent_state=AS.AGENT_STATE_WORK))
    out = w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    out = w.req(1, M.SetAgentStateReq(invoke_id=42, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["CONTROL_FAILURE_CONF"] and seq(out, 9) == []
    m = out[0].message
    assert (m.invoke_id, m.failure_code, m.ccx_error_code) == (42, failure, CCXErrorCode.CCX_AGENT_DEVICE_BUSY)
    assert w.c.agents["1001"].state is before and "1001" not in w.c.ready
    w.req(1, M.ClearConnectionReq(invoke_id=43, call_id=own, connection_device_id="3001"))
    out = w.req(1, M.SetAgentStateReq(invoke_id=44, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]
    assert w.c.agents["1001"].state is AS.AGENT_STATE_READY


@pytest.mark.parametrize("after", [AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK])
def test_the_acd_call_over_the_agent_leaves_talking_though_a_call_of_its_own_is_held(after):
    """1001 holds a call of its own (an outside number), goes READY and answers a caller. The caller hangs up:
    the after-call state comes now (AGENT_STATE_EVENT to the desktop and the bridge) — it stayed TALKING, on
    no ACD call, until its own held call ended (UCCX: TALKING is for routed calls only), the next caller
    waiting meanwhile although the phone was free (a held call keeps no ACD call from ringing)."""
    import dataclasses

    w = World(dataclasses.replace(default_center(), after_call_state=after))
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001", ready=False)
    own = only(w.req(1, M.MakeCallReq(invoke_id=41, dialed_number="0611111111")), 1, MT.MAKE_CALL_CONF)[0].new_call_id
    w.req(1, M.HoldCallReq(invoke_id=42, call_id=own, connection_device_id="3001"))
    w.req(1, M.SetAgentStateReq(invoke_id=43, agent_state=AS.AGENT_STATE_READY))
    caller, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=44, call_id=caller, connection_device_id="3001"))
    assert w.c.agents["1001"].state is AS.AGENT_STATE_TALKING
    w.t += 1
    out = w.c.hang_up(w.t, caller)
    for sid in (1, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [(after, 0)]
    assert w.c.agents["1001"].state is after and own in w.c.calls
    nxt, out = w.inbound(csq="Sales")
    if after is AS.AGENT_STATE_READY:  # routed to it: its phone only holds a call
        assert [m.call_id for m in only(out, 1, MT.CALL_DELIVERED_EVENT)] == [nxt]
    else:
        assert w.c.queues[1] == [nxt] and seq(out, 1) == []

def consultation_answered(w, ready: bool, consult_type: int = 1):
    """1001 answers a caller and consults 1002 (READY or not; ConsultType 1 transfer, 2 conference), who
    answers: (the call, the consultation)."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=ready)
    cid = answered(w)
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=consult_type, dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    w.req(2, M.AnswerCallReq(invoke_id=41, call_id=consult, connection_device_id="3002"))
    return cid, consult


@pytest.mark.parametrize("gives_up", ["reconnect", "clear connection", "clear call"])
@pytest.mark.parametrize("ready", [False, True], ids=["not ready", "ready"])
def test_a_consultation_given_up_after_the_answer_leaves_the_consulted_agent_not_ready(w, gives_up, ready):
    """The consulting agent goes back to its caller (RECONNECT, or clears the consultation) after the consulted
    agent answered: that agent goes NOT_READY with AGT_CANCEL_CONSULT (§6.19; UCCX's reason-code list: "from
    Talking to Not Ready because the Cancel feature is triggered during an ICD consult call"), as when it is
    given up while ringing. It went to the after-call state of an ACD call: a NOT_READY agent answering a
    colleague's question came back READY and was routed callers."""
    cid, consult = consultation_answered(w, ready)
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    req = {"reconnect": M.ReconnectCallReq(invoke_id=42, active_call_id=consult, held_call_id=cid,
                                           active_connection_device_id="3001", held_connection_device_id="3001"),
           "clear connection": M.ClearConnectionReq(invoke_id=42, call_id=consult, connection_device_id="3001"),
           "clear call": M.ClearCallReq(invoke_id=42, call_id=consult, connection_device_id="3001")}[gives_up]
    out = w.req(1, req)
    for sid in (2, 9):
        [ev] = [m for m in only(out, sid, MT.AGENT_STATE_EVENT) if m.agent_id == "1002"]
        assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CANCEL_CONSULT)
    assert w.c.agents["1001"].state is AS.AGENT_STATE_TALKING  # still on its held call


@pytest.mark.parametrize("answered_first", [False, True], ids=["ringing", "answered"])
@pytest.mark.parametrize("before", ["ready", "not ready 7", "work ready"])
def test_under_ucce_a_consultation_given_up_returns_the_consulted_agent_to_its_state_before(before, answered_first):
    """ICM has no AGT_CANCEL_CONSULT (UCCX's reason-code list): under the ucce profile the consulted agent
    goes back to the state (and reason code) it had before the consultation reserved it — Finesse's Unified
    CCE transitions: RESERVED -> READY "an agent can become RESERVED but never take a call", TALKING ->
    READY / NOT_READY "if the agent was in READY / NOT_READY state before the call". It went NOT_READY
    32749, a reason code an ICM client does not know, and a READY agent was out of routing."""
    w = two_desktops_and_a_bridge(profile=UCCE)
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=before == "ready")
    want = {"ready": (AS.AGENT_STATE_READY, 0), "not ready 7": (AS.AGENT_STATE_NOT_READY, 7),
            "work ready": (AS.AGENT_STATE_WORK_READY, 0)}[before]
    if before != "ready":
        w.req(2, M.SetAgentStateReq(invoke_id=5, agent_state=want[0], event_reason_code=want[1]))
    cid = answered(w)
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
    if answered_first:
        w.req(2, M.AnswerCallReq(invoke_id=41, call_id=consult, connection_device_id="3002"))
    out = w.req(1, M.ReconnectCallReq(invoke_id=42, active_call_id=consult, held_call_id=cid,
                                      active_connection_device_id="3001", held_connection_device_id="3001"))
    for sid in (2, 9):
        [ev] = [m for m in only(out, sid, MT.AGENT_STATE_EVENT) if m.agent_id == "1002"]
        assert (ev.agent_state, ev.event_reason_code) == want


@pytest.mark.parametrize("ready", [True, False], ids=["ready", "not ready"])
def test_a_consulted_agent_hanging_up_itself_takes_the_after_call_state(w, ready):
    """Only the consulting side gives a consultation up: the consulted agent ending it goes to the after-call
    state (READY here), and the consulting agent is untouched — a consulted agent that was NOT_READY is NOT_READY
    again, AGT_CALL_ENDED (UCCX Historical Reports guide, CALL_ENDED 32755: a Not Ready agent that "gets a
    consult Unified CCX call from another agent ... after handling the call, moves back to the Not Ready
    state"); it came back READY and was routed callers."""
    cid, consult = consultation_answered(w, ready=ready)
    out = w.req(2, M.ClearConnectionReq(invoke_id=42, call_id=consult, connection_device_id="3002"))
    [ev] = only(out, 2, MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (
        (AS.AGENT_STATE_READY, 0) if ready else (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED))
    assert w.c.agents["1001"].state is AS.AGENT_STATE_TALKING


@pytest.mark.parametrize("how", ["transfer", "conference", "single-step transfer"])
def test_a_not_ready_agent_handling_a_colleagues_call_is_not_ready_again_after_it(w, how):
    """A NOT_READY agent (reason 7) answers a call a colleague sends it — the consultation it then gets transferred
    or conferenced, a single-step transfer — and the caller hangs up: NOT_READY, AGT_CALL_ENDED (UCCX: CALL_ENDED
    32755), to its desktop and the bridge. It went to the after-call state, READY, and was routed the next
    caller; one that asked for another state while talking still gets that one."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    w.req(2, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    cid = answered(w)
    if how == "single-step transfer":
        w.req(1, M.TransferCallReq(invoke_id=60, active_call_id=cid, held_call_id=0xFFFFFFFF,
                                   held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                   dialed_number="3002"))
        w.req(2, M.AnswerCallReq(invoke_id=41, call_id=cid, connection_device_id="3002"))
    else:
        out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                        consult_type=1, dialed_number="3002"))
        consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
        w.req(2, M.AnswerCallReq(invoke_id=41, call_id=consult, connection_device_id="3002"))
        req = M.TransferCallReq if how == "transfer" else M.ConferenceCallReq
        w.req(1, req(invoke_id=42, active_call_id=consult, held_call_id=cid, active_connection_device_id="3001",
                     held_connection_device_id="3001"))
        if how == "conference":
            w.req(1, M.ClearConnectionReq(invoke_id=43, call_id=cid, connection_device_id="3001"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    out = encodable(w.c.hang_up(w.t + 1, cid))
    for sid in (2, 9):
        assert [(m.agent_id, m.agent_state, m.event_reason_code) for m in only(out, sid, MT.AGENT_STATE_EVENT)
                if m.agent_id == "1002"] == [("1002", AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)], sid
    # a state the agent asked for while talking wins: WORK_READY after a call offered while NOT_READY (a READY
    # asked for while talking UCCX refuses: test_ready_asked_for_while_talking_on_an_acd_call_is_refused_by_uccx)
    cid = answered(w, "1002", 2)
    assert w.c.agents["1002"].offered_from[0] is AS.AGENT_STATE_NOT_READY
    out = w.req(2, M.SetAgentStateReq(invoke_id=44, agent_state=AS.AGENT_STATE_WORK_READY))
    assert seq(out, 2) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]
    encodable(w.c.hang_up(w.t + 1, cid))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_WORK_READY


def test_consult_conference_then_clear_call(w):
    cid, consult = consultation_answered(w, ready=False, consult_type=2)
    out = w.req(1, M.ConferenceCallReq(invoke_id=43, held_call_id=cid, active_call_id=consult,
                                       held_connection_device_id="3001", active_connection_device_id="3001"))
    conf = only(out, 1, MT.CONFERENCE_CALL_CONF)[0]
    assert conf.new_call_id == cid and len(conf.parties) == 3
    ev = only(out, 2, MT.CALL_CONFERENCED_EVENT)[0]
    assert (ev.controller_device_id, ev.added_party_device_id, ev.primary_call_id) == ("3001", "3002", cid)
    assert seq(out, 2)[0] == "BEGIN_CALL_EVENT"  # 1002 had not seen the original call yet
    # every session that knows the call learns it is a CONFERENCE now (§7.2: CALL_DATA_UPDATE_EVENT);
    # 1002's BEGIN_CALL_EVENT tells the type the others were told, not a different one
    assert only(out, 2, MT.BEGIN_CALL_EVENT)[0].call_type == CallType.CALLTYPE_CCX_IN
    for sid in (1, 2, 9):
        assert [m.call_type for m in only(out, sid, MT.CALL_DATA_UPDATE_EVENT)] == [CallType.CALLTYPE_CONFERENCE]
    out = w.req(1, M.ClearCallReq(invoke_id=44, call_id=cid, connection_device_id="3001"))
    for sid in (1, 2, 9):
        s = seq(out, sid)
        assert s.count("CALL_CONNECTION_CLEARED_EVENT") == 3 and s.index("CALL_CLEARED_EVENT") < s.index("END_CALL_EVENT")
    assert w.c.calls == {}


def test_alternate_and_reconnect(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="0699999999"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert w.c.calls[consult].legs["0699999999"].state is LCS.LCS_CONNECT  # external party answers at once
    out = w.req(1, M.AlternateCallReq(invoke_id=50, active_call_id=consult, other_call_id=cid,
                                      active_connection_device_id="3001", other_connection_device_id="3001"))
    assert seq(out, 1) == ["ALTERNATE_CALL_CONF", "CALL_HELD_EVENT", *STOPPED, "CALL_RETRIEVED_EVENT", *STARTED]
    assert only(out, 1, MT.CALL_HELD_EVENT)[0].call_id == consult
    out = w.req(1, M.AlternateCallReq(invoke_id=51, active_call_id=cid, other_call_id=consult,
                                      active_connection_device_id="3001", other_connection_device_id="3001"))
    out = w.req(1, M.ReconnectCallReq(invoke_id=52, active_call_id=consult, held_call_id=cid,
                                      active_connection_device_id="3001", held_connection_device_id="3001"))
    assert seq(out, 1)[0] == "RECONNECT_CALL_CONF" and seq(out, 1)[-3:] == ["CALL_RETRIEVED_EVENT", *STARTED]
    assert "END_CALL_EVENT" in seq(out, 1) and consult not in w.c.calls
    assert w.c.calls[cid].leg_of("1001").state is LCS.LCS_CONNECT


def test_blind_transfer_to_another_agent(w):
    w.login_ready(1, "1001")
    w.login_ready(2, "1002")
    cid = answered(w)
    out = w.req(1, M.TransferCallReq(invoke_id=60, active_call_id=cid, held_call_id=0xFFFFFFFF,
                                     held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                     dialed_number="3002"))
    # as after a consultative transfer (§7.2): the transferring agent's connection is cleared, then its call ends
    assert seq(out, 1)[:6] == ["TRANSFER_CALL_CONF", "CALL_TRANSFERRED_EVENT", "CALL_CONNECTION_CLEARED_EVENT",
                               *STOPPED, "END_CALL_EVENT"]
    cleared = only(out, 9, MT.CALL_CONNECTION_CLEARED_EVENT)[0]  # the recorder sees it too
    assert (cleared.connection_device_id, cleared.releasing_device_id) == ("3001", "3001")
    # the parties once transferred: the caller and the destination (the conf and the event alike)
    parties = [(p.connected_party_device_id, p.connected_party_device_type) for p in out[0].message.parties]
    assert parties == [("0600000000", EXTERNAL_DEVICE), ("3002", AGENT_DEVICE)]
    assert [(p.connected_party_device_id, p.connected_party_device_type)
            for p in only(out, 9, MT.CALL_TRANSFERRED_EVENT)[0].parties] == parties
    assert seq(out, 2)[-2:] == ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
    # a transferred ACD call is TRANSFER_IN (§6.17): 1002 is told so at once, the bridge by an update
    assert only(out, 2, MT.BEGIN_CALL_EVENT)[0].call_type == CallType.CALLTYPE_TRANSFER_IN
    assert [m.call_type for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT)] == [CallType.CALLTYPE_TRANSFER_IN]


def test_far_end_hangs_up_after_a_blind_transfer_to_an_external_number(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = w.req(1, M.TransferCallReq(invoke_id=61, active_call_id=cid, held_call_id=0xFFFFFFFF,
                                     held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                     dialed_number="0699999999"))
    assert seq(out, 1) == ["TRANSFER_CALL_CONF", "CALL_TRANSFERRED_EVENT", "CALL_CONNECTION_CLEARED_EVENT",
                           *STOPPED, "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    assert [p.connected_party_device_id for p in out[0].message.parties] == ["0600000000", "0699999999"]
    assert sorted(w.c.calls[cid].legs) == ["0600000000", "0699999999"]  # caller and far end: no agent left
    with pytest.raises(KeyError, match="'3001' is not on call"):
        w.c.hang_up(w.t, cid, "3001")
    out = encodable(w.c.hang_up(w.t + 1, cid, "0699999999"))
    assert seq(out, 1) == []  # the agent was told the call ended at the transfer
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_CLEARED_EVENT", "END_CALL_EVENT"]
    assert only(out, 9, MT.CALL_CONNECTION_CLEARED_EVENT)[0].releasing_device_id == "0699999999"
    assert cid not in w.c.calls
    calls_index_matches_a_scan(w.c)
    with pytest.raises(KeyError, match=f"unknown call {cid}"):
        w.c.hang_up(w.t, cid)


def test_caller_hangs_up_on_a_connected_agent_and_while_queued(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = encodable(w.c.hang_up(w.t + 1, cid))  # device None: the caller (the call's ANI)
    assert seq(out, 1) == seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", *STOPPED, "CALL_CONNECTION_CLEARED_EVENT",
                                          "CALL_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    cleared = only(out, 1, MT.CALL_CONNECTION_CLEARED_EVENT)  # the caller's connection, then the agent's
    assert [(e.call_id, e.connection_device_id, e.releasing_device_id) for e in cleared] == [
        (cid, "0600000000", "0600000000"), (cid, "3001", "0600000000")]
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_READY
    assert w.c.calls == {} and w.c.agents["1001"].state is AS.AGENT_STATE_READY
    w.req(1, M.SetAgentStateReq(invoke_id=62, agent_state=AS.AGENT_STATE_NOT_READY))
    qid, _ = w.inbound(csq="Support", ani="0611111111")  # nobody ready: queued
    assert w.c.queues[2] == [qid]
    out = encodable(w.c.hang_up(w.t + 1, qid))
    assert seq(out, 9)[-2:] == ["CALL_CLEARED_EVENT", "END_CALL_EVENT"] and seq(out, 1) == []
    assert qid not in w.c.queues[2] and qid not in w.c.calls


def test_make_call_external_answers_after_the_configured_delay():
    cfg = CenterConfig(agents=default_center().agents, csqs=default_center().csqs, external_answer_delay=2.0)
    w = World(cfg)
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001", ready=False)
    out = w.req(1, M.MakeCallReq(invoke_id=70, agent_instrument="3001", dialed_number="0611111111",
                                 call_variable1="crm-42"))
    conf = out[0].message
    assert conf.TYPE is MT.MAKE_CALL_CONF and conf.new_connection_device_id == "3001"
    # an agent call starts AGENT_INSIDE and is re-typed OUT when it leaves the switch (§7.2 make call)
    assert seq(out, 1)[1:] == ["BEGIN_CALL_EVENT", "CALL_SERVICE_INITIATED_EVENT", "CALL_ORIGINATED_EVENT",
                               "CALL_DATA_UPDATE_EVENT"]
    assert only(out, 1, MT.BEGIN_CALL_EVENT)[0].call_variable1 == "crm-42"
    assert only(out, 1, MT.BEGIN_CALL_EVENT)[0].call_type == CallType.CALLTYPE_AGENT_INSIDE
    update = only(out, 1, MT.CALL_DATA_UPDATE_EVENT)[0]
    # only changed items are sent (§5.4): the new CallType; the call variable is unchanged, not repeated
    assert (update.call_type, update.call_variable1) == (CallType.CALLTYPE_OUT, None)
    assert w.c.next_deadline() == w.t + 2.0
    assert w.c.tick(w.t + 1.0) == []
    late = encodable(w.c.tick(w.t + 2.0))
    assert seq(late, 1) == ["CALL_ESTABLISHED_EVENT", *STARTED]
    assert w.c.next_deadline() is None


def test_requests_the_center_cannot_honour(w):
    w.login_ready(1, "1001")
    [d] = w.req(1, M.HoldCallReq(invoke_id=80, call_id=42, connection_device_id="3001"))
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_INVALID_CALLID and d.message.invoke_id == 80
    cid = answered(w)
    [d] = w.req(2, M.HoldCallReq(invoke_id=81, call_id=cid, connection_device_id="3002"))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert d.message.failure_code == ControlFailureCode.CF_INVALID_CSTA_CONNECTION_ID
    [d] = w.req(1, M.SendDtmfSignalReq(invoke_id=82, call_id=cid, connection_device_id="3001", dtmf_string="12x"))
    # ICM's E_CTI_INVALID_DIGITS (24) is reserved in UCCX: refused as an invalid argument instead
    assert d.message == M.ControlFailureConf(invoke_id=82, failure_code=ControlFailureCode.CF_VALUE_OUT_OF_RANGE,
                                             ccx_error_code=CCXErrorCode.CCX_INVALID_ARGUMENT,
                                             text="invalid DTMF digits '12x'")
    [d] = w.req(1, M.SendDtmfSignalReq(invoke_id=83, call_id=cid, connection_device_id="3001", dtmf_string="12#"))
    assert d.message == M.SendDtmfSignalConf(invoke_id=83)
    [d] = w.req(1, M.MakeCallReq(invoke_id=84, agent_instrument="3001", dialed_number="0611"))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF  # the phone already has an active call
    # a refused request changes nothing
    assert w.c.calls[cid].leg_of("1001").state is LCS.LCS_CONNECT


def test_a_request_needs_a_service_the_session_was_granted(w):
    """Reference §6.5: CLIENT_CONTROL controls calls and agent state (CTI_AGENT_STATE_CONTROL_ONLY agent
    state only), CALL_DATA_UPDATE sets call data, SUPERVISOR is neither. A request without its service
    is refused and changes nothing (it was carried out, with only a PROTO-SERVICE-NOT-GRANTED)."""
    def refused(d, mt, services):
        # ICM's E_CTI_FUNCTION_NOT_AVAILABLE (12) is reserved in UCCX (reference §6.1): 17 with a text
        assert d.message == M.FailureConf(invoke_id=d.message.invoke_id, status=S.E_CTI_UNSPECIFIED_FAILURE,
                                          text=f"{mt} needs {services} in ServicesRequested")

    w.open(agent_sub(3, "1003", services=0x1))  # events only
    [d] = w.req(3, M.SetAgentStateReq(invoke_id=90, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      agent_id="1003"))
    refused(d, "SET_AGENT_STATE_REQ", "CTI_SERVICE_CLIENT_CONTROL or CTI_AGENT_STATE_CONTROL_ONLY")
    assert w.c.agents["1003"].state is AS.AGENT_STATE_LOGOUT
    w.open(agent_sub(4, "1004", services=0x2001))  # agent state control only: the agent's state, no calls
    w.login_ready(4, "1004")
    assert w.c.agents["1004"].state is AS.AGENT_STATE_READY
    cid, _ = w.inbound(agent_id="1004")
    [d] = w.req(4, M.AnswerCallReq(invoke_id=91, call_id=cid, connection_device_id="3004"))
    refused(d, "ANSWER_CALL_REQ", "CTI_SERVICE_CLIENT_CONTROL")
    assert w.c.calls[cid].leg_of("1004").state is LCS.LCS_ALERTING
    [d] = w.req(4, M.SetCallDataReq(invoke_id=92, call_id=cid, connection_device_id="3004", call_variable1="x"))
    refused(d, "SET_CALL_DATA_REQ", "CTI_SERVICE_CALL_DATA_UPDATE")
    assert "call_variable1" not in w.c.calls[cid].variables
    w.open(Subscription(5, "bridge", 0x90, ALL_CALLS, ALL_STATES, client_id="supervisor"))  # ALL_EVENTS + SUPERVISOR
    [d] = w.req(5, M.AnswerCallReq(invoke_id=93, call_id=cid, connection_device_id="3004"))
    refused(d, "ANSWER_CALL_REQ", "CTI_SERVICE_CLIENT_CONTROL")
    assert w.c.calls[cid].leg_of("1004").state is LCS.LCS_ALERTING
    [d] = w.req(4, M.TeamConfigReq(invoke_id=94, config_param=1))
    refused(d, "TEAM_CONFIG_REQ", "CTI_SERVICE_SUPERVISOR")
    [d] = w.req(4, M.ConfigRequestKeyEvent(customer_id=0))  # no InvokeID: refused with 0
    refused(d, "CONFIG_REQUEST_KEY_EVENT", "CTI_SERVICE_CONFIG_EVENTS")
    assert d.message.invoke_id == 0


def test_work_requested_while_talking_is_taken_when_the_call_ends(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = w.req(1, M.SetAgentStateReq(invoke_id=91, agent_state=AS.AGENT_STATE_WORK))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]  # TALKING, NextAgentState WORK
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].next_agent_state == AS.AGENT_STATE_WORK
    out = w.req(1, M.ClearConnectionReq(invoke_id=92, call_id=cid, connection_device_id="3001"))
    assert only(out, 1, MT.AGENT_STATE_EVENT)[-1].agent_state == AS.AGENT_STATE_WORK


def test_set_call_data_snapshot_and_device_info(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = w.req(1, M.SetCallDataReq(invoke_id=93, call_id=cid, connection_device_id="3001", call_variable3="x"))
    assert seq(out, 1) == ["SET_CALL_DATA_CONF", "CALL_DATA_UPDATE_EVENT"]
    assert only(out, 9, MT.CALL_DATA_UPDATE_EVENT)[0].call_variable3 == "x"
    snap = w.req(1, M.SnapshotCallReq(invoke_id=94, call_id=cid))[0].message
    assert snap.call_variable3 == "x" and {d.call_device_id for d in snap.call_devices} == {"0600000000", "3001"}
    dev = w.req(1, M.SnapshotDeviceReq(invoke_id=95))[0].message
    assert [c.call_connection_call_id for c in dev.calls] == [cid]
    info = w.req(1, M.QueryDeviceInfoReq(invoke_id=96, agent_instrument="3001"))[0].message
    assert info.TYPE is MT.QUERY_DEVICE_INFO_CONF
    # the reserved ICM fields carry what UCCX sends (reference §5.3, the UCCX page): PeripheralType, TypeOfDevice
    # and ClassOfDevice -1, NumLines 0, reserved 0 — not the events' PeripheralType 21 nor a count of lines
    body = encode(info, Dialect.uccx(14))[8:]
    assert body[:14] == bytes.fromhex("00000060 ffff ffff ffff 0000 0000")
    assert body[14:20] == bytes.fromhex("0001 0001 0004")  # MaxActiveCalls, MaxHeldCalls, MaxDevicesInConference
    assert body[24:40] == bytes(16) and len(body) == 40


def test_open_session_rules():
    c = ContactCenter()
    assert c.open_session(agent_sub(1, "1001"), 0).status == S.E_CTI_NO_ERROR
    # another client on the same phone
    assert c.open_session(agent_sub(2, "1001", client="other"), 0).status == S.E_CTI_DEVICE_IN_USE
    # the same client again: the old session is kicked (E_CTI_NEW_SESSION_OPENED is the hub's job)
    same = Subscription(3, "agent", 7, ALL_CALLS, ALL_STATES, agent_id="1001", client_id="desk1")
    r = c.open_session(same, 0)
    assert r.status == S.E_CTI_NO_ERROR and r.kicked == (1,)
    assert c.open_session(agent_sub(4, "9999"), 0).status == S.E_CTI_INVALID_AGENT_DATA
    assert c.open_session(agent_sub(5, "1002", agent_instrument="3003"), 0).status == S.E_CTI_INCONSISTENT_AGENT_DATA
    r = c.open_session(Subscription(6, "agent", 7, 0, 0, agent_instrument="3004", client_id="x"), 0)
    assert r.status == S.E_CTI_NO_ERROR and r.agent_id == "1004"


def test_system_and_failure_events_reach_every_session(w):
    out = encodable(w.c.system_event(5, SystemEventID.SYS_CCX_OFFLINE, text="maintenance"))
    assert [d.session_id for d in out] == [1, 2, 9] and not w.c.online
    assert w.c.system_event(6, SystemEventID.SYS_CCX_ONLINE)[0].message.ccx_status == 1024 and w.c.online
    out = w.c.failure_event(7, S.E_CTI_AUTO_CONFIG_RESET, session_ids=[9])
    assert [(d.session_id, d.message.status) for d in out] == [(9, S.E_CTI_AUTO_CONFIG_RESET)]


def test_preset_calls_from_config():
    cfg = CenterConfig.from_mapping({
        "csqs": [{"name": "Sales", "id": 5}],
        "agents": [{"id": "2001", "extension": "4001", "csqs": ["Sales"], "state": "READY"}],
        "calls": [{"agent": "2001", "ani": "0655", "csq": "Sales", "state": "held"}],
    })
    c = ContactCenter(cfg)
    [call] = c.calls.values()
    assert call.leg_of("2001").state is LCS.LCS_HOLD and c.agents["2001"].state is AS.AGENT_STATE_TALKING


def test_agent_csq_config():
    cfg = CenterConfig(agents=(AgentConfig("7", "77", csqs=("Q",)),), csqs=(CSQConfig("Q", 9),))
    assert ContactCenter(cfg).agents["7"].csq_ids == (9,)


def test_configuration_download_for_bridge_clients_that_ask():
    c = ContactCenter()
    c.open_session(Subscription(1, "bridge", 0x10 | 0x40000, 0, 0, config_msg_mask=0x0F, client_id="cfg"), 0)
    c.open_session(Subscription(2, "bridge", 0x10, 0, 0, config_msg_mask=0x0F, client_id="plain"), 0)
    [key] = encodable(c.handle(1, M.ConfigRequestKeyEvent(), 1))
    assert key.message.TYPE is MT.CONFIG_KEY_EVENT and key.message.status == 0
    assert len(key.message.agent_config_key) == 8 and key.message.agent_config_key != bytes(8)
    c2 = ContactCenter()  # keys are stable: another center with the same configuration has the same keys
    c2.open_session(Subscription(1, "bridge", 0x10 | 0x40000, 0, 0, client_id="cfg"), 0)
    assert c2.handle(1, M.ConfigRequestKeyEvent(), 1)[0].message == key.message
    out = encodable(c.handle(1, M.ConfigRequestEvent(configuration_mask=0x0F), 2))
    assert [d.message.TYPE.name for d in out] == ["CONFIG_BEGIN_EVENT", "CONFIG_APPLICATION_EVENT", "CONFIG_CSQ_EVENT",
                                                  "CONFIG_AGENT_EVENT", "CONFIG_DEVICE_EVENT", "CONFIG_END_EVENT"]
    assert out[0].message.configuration_mask == 0x0F
    [app] = out[1].message.records  # the ApplicationID of every CSQ call's events
    assert (app.record_type, app.application_id, app.application_name) == (0, 1, "mockcti")
    out = out[1:]
    assert [r.csq_name for r in out[1].message.records] == ["Sales", "Support"]
    agents = out[2].message.records
    assert [(r.login_id, r.extension, r.agent_type) for r in agents] == [
        ("1001", "3001", 1), ("1002", "3002", 1), ("1003", "3003", 1), ("1004", "3004", 2)]
    assert [x.csq_id for x in agents[0].csqs] == [1, 2]
    assert {r.device_field4 for r in out[3].message.records} == {"3001", "3002", "3003", "3004"}
    # a session without CTI_SERVICE_CONFIG_EVENTS is refused (no InvokeID to echo: 0); "updates only" has
    # nothing to send
    assert [d.message for d in c.handle(2, M.ConfigRequestEvent(configuration_mask=0x0F), 3)] == [M.FailureConf(
        invoke_id=0, status=S.E_CTI_UNSPECIFIED_FAILURE,
        text="CONFIG_REQUEST_EVENT needs CTI_SERVICE_CONFIG_EVENTS in ServicesRequested")]
    assert c.handle(1, M.ConfigRequestEvent(configuration_mask=0), 3) == []


def _config_keys_of(cfg):
    c = ContactCenter(cfg)
    c.open_session(Subscription(1, "bridge", 0x10 | 0x40000, 0, 0, config_msg_mask=0x0F, client_id="cfg"), 0)
    [key] = encodable(c.handle(1, M.ConfigRequestKeyEvent(), 1))
    [begin] = only(c.handle(1, M.ConfigRequestEvent(configuration_mask=0x0F), 2), 1, MT.CONFIG_BEGIN_EVENT)
    assert begin.agent_config_key == key.message.agent_config_key  # the same keys in both
    return key.message


def test_configuration_keys_change_whenever_the_records_they_stand_for_change():
    """A wallboard caches the configuration by its keys (§5.6: CONFIG_KEY_EVENT, then CONFIG_REQUEST_EVENT only
    for the kinds whose key changed): a key must change when any field of its records does. An agent made
    supervisor (CONFIG_AGENT_EVENT AgentType 2) or two agents' phones swapped (CONFIG_DEVICE_EVENT's LoginID
    of each phone) changed no key, and the wallboard kept showing the old records."""
    import dataclasses

    base = default_center()
    before = _config_keys_of(base)
    promoted = dataclasses.replace(base, agents=tuple(dataclasses.replace(a, supervisor=a.id in ("1001", "1004"))
                                                      for a in base.agents))
    after = _config_keys_of(promoted)
    assert after.agent_config_key != before.agent_config_key
    assert (after.csq_config_key, after.device_config_key, after.application_config_key) == (
        before.csq_config_key, before.device_config_key, before.application_config_key)
    a1, a2, *rest = base.agents
    swapped = dataclasses.replace(base, agents=(dataclasses.replace(a1, extension="3002", instrument="3002"),
                                                dataclasses.replace(a2, extension="3001", instrument="3001"), *rest))
    assert _config_keys_of(swapped).device_config_key != before.device_config_key
    assert _config_keys_of(default_center()) == before  # and stays the same for the same records


class _Unwalked(tuple):
    """A center's configured agents that a request may not walk through."""

    def __iter__(self):
        raise AssertionError("the request walked every configured agent")


def test_configuration_records_are_built_once_per_profile_not_per_request():
    """Every bridge asks for the configuration keys when it starts (§5.6 CONFIG_REQUEST_KEY_EVENT, then
    CONFIG_REQUEST_EVENT): each request built every record and digested them again — 80 ms at 5,000 agents,
    1.3 s at 50,000, the whole server stalled. A center's configuration does not change: the records and keys
    are built once per profile, and later requests, by any bridge, get the same keys and records without a walk
    over the agents; a ucce bridge's (PeripheralID in every record) are its own."""
    import copy

    c = ContactCenter(default_center())
    for sid, profile in ((1, UCCX), (2, UCCX), (3, UCCE)):
        c.open_session(Subscription(sid, "bridge", 0x10 | 0x40000, 0, 0, config_msg_mask=0x0F, client_id=f"cfg{sid}",
                                    profile=profile), 0)
    first = [d.message for d in c.handle(1, M.ConfigRequestKeyEvent(), 1) + c.handle(
        1, M.ConfigRequestEvent(configuration_mask=0x0F), 1)]
    agents, config = c.config.agents, c.config
    c.config = copy.copy(config)  # (not replace(): CenterConfig's own checks walk the agents as it is built)
    object.__setattr__(c.config, "agents", _Unwalked(agents))
    again = [d.message for d in c.handle(2, M.ConfigRequestKeyEvent(), 2) + c.handle(
        2, M.ConfigRequestEvent(configuration_mask=0x0F), 2)]
    assert again == first and [m.TYPE for m in again][:3] == [MT.CONFIG_KEY_EVENT, MT.CONFIG_BEGIN_EVENT,
                                                             MT.CONFIG_APPLICATION_EVENT]
    c.config = config
    ucce = [d.message for d in c.handle(3, M.ConfigRequestEvent(configuration_mask=0x04), 3)]
    assert {r.peripheral_id for r in ucce[1].records} == {1} and {r.peripheral_id for r in first[4].records} == {0}


def test_more_than_ten_records_are_split():
    cfg = CenterConfig(agents=tuple(AgentConfig(str(5000 + n), str(6000 + n)) for n in range(23)))
    c = ContactCenter(cfg)
    c.open_session(Subscription(1, "bridge", 0x10 | 0x40000, 0, 0, config_msg_mask=0x01, client_id="cfg"), 0)
    out = encodable(c.handle(1, M.ConfigRequestEvent(configuration_mask=0x04), 1))
    assert [len(d.message.records) for d in out[1:-1]] == [10, 10, 3]


def test_team_configuration_for_supervisors():
    c = ContactCenter()
    c.open_session(Subscription(1, "bridge", 0x10 | 0x80, 0, 0, client_id="sup"), 0)
    c.open_session(Subscription(2, "bridge", 0x10, 0, 0, client_id="nosup"), 0)
    out = encodable(c.handle(1, M.TeamConfigReq(invoke_id=8, config_param=1, reserved=bytes(8)), 1))
    assert [d.message.TYPE.name for d in out] == ["TEAM_CONFIG_EVENT", "TEAM_CONFIG_EVENT", "TEAM_CONFIG_CONF"]
    team2 = out[1].message
    assert team2.team_name == "Team2" and team2.operation == 1
    # 1004, the team's only supervisor, is its primary one: AgentFlags 0x1 primary supervisor | 0x4 supervisor (§5.6)
    assert [(m.agent_id, m.agent_flags) for m in team2.records] == [("1003", 0), ("1004", 0x5)]
    assert out[2].message == M.TeamConfigConf(invoke_id=8, status=0)
    [d] = c.handle(2, M.TeamConfigReq(invoke_id=9, config_param=1, reserved=bytes(8)), 1)
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_UNSPECIFIED_FAILURE


def test_team_configuration_names_the_primary_supervisor():
    """The first supervisor configured in a team is its primary one (the one assist and emergency calls try
    first): its TEAM_CONFIG_EVENT record says so, AgentFlags 0x1 primary supervisor with 0x4 supervisor (§5.6);
    the team's other supervisors are 0x4, its agents 0. A supervisor desktop showing who the primary supervisor
    is read 0x4 for every supervisor."""
    agents = (AgentConfig("1001", "3001", team="Blue"), AgentConfig("1002", "3002", team="Blue", supervisor=True),
              AgentConfig("1003", "3003", team="Blue", supervisor=True), AgentConfig("1004", "3004", team="Red"),
              AgentConfig("1005", "3005", team="Red", supervisor=True))
    c = ContactCenter(CenterConfig(agents=agents))
    c.open_session(Subscription(1, "bridge", 0x10 | 0x80, 0, 0, client_id="sup"), 0)
    out = encodable(c.handle(1, M.TeamConfigReq(invoke_id=8, config_param=1, reserved=bytes(8)), 1))
    assert [(d.message.team_name, [(m.agent_id, m.agent_flags) for m in d.message.records]) for d in out[:-1]] == [
        ("Blue", [("1001", 0), ("1002", 0x5), ("1003", 0x4)]), ("Red", [("1004", 0), ("1005", 0x5)])]


# -- with the ACD rules switched off (CenterConfig.acd_rules = False): the center's own refusals ----------

_CF, _CCX = ControlFailureCode, CCXErrorCode


def _ringing_world(choice: str = "uccx"):
    import dataclasses

    w = World(dataclasses.replace(default_center(), acd_rules=False, control_failure_codes=choice))
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales", ani="0612345678")
    return w, cid


@pytest.mark.parametrize("phase, request_of, failure, ccx", [
    ("ringing", lambda c: M.RetrieveCallReq(invoke_id=9, held_call_id=c, held_connection_device_id="3001"),
     _CF.CF_NO_HELD_CALL, _CCX.CCX_DEFAULT_ERROR_CODE),
    ("ringing", lambda c: M.HoldCallReq(invoke_id=9, call_id=c, connection_device_id="3001"),
     _CF.CF_NO_ACTIVE_CALL, _CCX.CCX_DEFAULT_ERROR_CODE),
    ("ringing", lambda c: M.ConsultCallReq(invoke_id=9, active_call_id=c, active_connection_device_id="3001",
                                           dialed_number="3002"), _CF.CF_NO_ACTIVE_CALL, _CCX.CCX_DEFAULT_ERROR_CODE),
    ("ringing", lambda c: M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number="0699"),
     _CF.CF_INVALID_OBJECT_STATE, _CCX.CCX_AGENT_DEVICE_BUSY),
    ("talking", lambda c: M.AnswerCallReq(invoke_id=9, call_id=c, connection_device_id="3001"),
     _CF.CF_NO_CALL_TO_ANSWER, _CCX.CCX_DEFAULT_ERROR_CODE),
    ("talking", lambda c: M.RetrieveCallReq(invoke_id=9, held_call_id=c, held_connection_device_id="3001"),
     _CF.CF_NO_HELD_CALL, _CCX.CCX_DEFAULT_ERROR_CODE),
    ("talking", lambda c: M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number="0699"),
     _CF.CF_INVALID_OBJECT_STATE, _CCX.CCX_AGENT_DEVICE_BUSY),
    ("held", lambda c: M.HoldCallReq(invoke_id=9, call_id=c, connection_device_id="3001"),
     _CF.CF_NO_ACTIVE_CALL, _CCX.CCX_DEFAULT_ERROR_CODE),
    # TALKING (the call held) is not a state MakeCallSetup allows: refused, as the ACD rules refuse it
    ("held", lambda c: M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number="0699"),
     _CF.CF_INVALID_OBJECT_STATE, _CCX.CCX_DEFAULT_ERROR_CODE),
])
@pytest.mark.parametrize("choice", ["uccx", "icm"])
def test_without_the_acd_rules_the_center_refuses_call_control_out_of_place(phase, request_of, failure, ccx, choice):
    """With ``acd_rules = false`` the ACD guard does not answer first: the center's own
    CONTROL_FAILURE_CONF (CF code and UCCX error code) refuses a request its call state does not
    allow, echoing the InvokeID, with no event for anyone. The CF value is one UCCX publishes
    (0-22) unless ``control_failure_codes = "icm"`` asks for the specific ICM value (the table's)."""
    if choice == "uccx" and failure > _CF.CF_INVALID_OBJECT_STATE:
        failure = _CF.CF_INVALID_OBJECT_STATE
    w, cid = _ringing_world(choice)
    if phase in ("talking", "held"):
        w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    if phase == "held":
        w.req(1, M.HoldCallReq(invoke_id=4, call_id=cid, connection_device_id="3001"))
    [d] = w.req(1, request_of(cid))
    m = d.message
    assert m.TYPE is MT.CONTROL_FAILURE_CONF and m.invoke_id == 9, m
    assert (m.failure_code, m.ccx_error_code) == (failure, ccx), m
    assert w.c.violations == []


@pytest.mark.parametrize("req", [
    M.ConsultCallReq(invoke_id=9, active_call_id=0, active_connection_device_id="3001", dialed_number=""),
    M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number=""),
])
def test_a_call_request_without_dialed_number_is_required_data_missing(req):
    w, cid = _ringing_world()
    if req.TYPE is MT.CONSULT_CALL_REQ:
        w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
        req = M.ConsultCallReq(invoke_id=9, active_call_id=cid, active_connection_device_id="3001", dialed_number="")
    [d] = w.req(1, req)
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_REQUIRED_DATA_MISSING
    assert "needs DialedNumber" in d.message.text


def test_the_mock_itself_sends_only_statuses_and_cf_values_uccx_names():
    """Reference §6.1: "A UCCX mock should only ever send the codes with a UCCX name" (12, 24, 87 and
    the other ICM values are reserved in UCCX); §6.2: UCCX publishes CF 0-22, the rest is unconfirmed
    for UCCX and only sent with ``control_failure_codes = "icm"``. Every status and CF value named in
    the code that answers clients (outside the "icm" choice table) is checked."""
    import ast
    import pathlib

    from mockcti.center import core
    from mockcti.wire.enums import UCCX_STATUS_CODES

    root = pathlib.Path(core.__file__).resolve().parents[1]
    uccx_cf = {cf for cf in ControlFailureCode if cf <= ControlFailureCode.CF_INVALID_OBJECT_STATE}
    # 32: listed as reserved, but named on the UCCX session-failure page and prescribed by §7.1
    named = UCCX_STATUS_CODES | {S.E_CTI_INCONSISTENT_AGENT_DATA}
    bad = []
    for rel in ("center/core.py", "center/acd_guard.py", "hub.py", "session.py", "server.py", "scenario/engine.py"):
        tree = ast.parse((root / rel).read_text(encoding="utf-8"))
        icm_table = [n for n in ast.walk(tree) if isinstance(n, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "icm" for k in n.keys)]
        skip = {id(n) for t in icm_table for v in t.values for n in ast.walk(v)
                if t.keys[t.values.index(v)].value == "icm"}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or id(node) in skip:
                continue
            if node.attr.startswith("E_CTI_") and S[node.attr] not in named:
                bad.append(f"{rel}:{node.lineno} {node.attr}")
            elif node.attr.startswith("CF_") and ControlFailureCode[node.attr] not in uccx_cf:
                bad.append(f"{rel}:{node.lineno} {node.attr}")
    assert bad == []


@pytest.mark.parametrize("kw, field", [
    (dict(variables={"account": "42"}), "account"),
    (dict(variables={"call_variable3": "x" * 41}), "call_variable3"),
    (dict(ani="0" * 40), "ani"),
    (dict(dnis="7" * 32), "dnis"),
])
def test_deliver_call_refuses_data_no_call_event_carries_before_the_call_exists(kw, field):
    """Every way in (control API, scenario deliver_call, load mode) goes through deliver_call: a bad
    value is a CallDataError naming the field, and no call is left behind (it used to be queued and
    then fail in BeginCallEvent(**variables) when an agent went READY)."""
    from mockcti.center.config import CallDataError

    c = ContactCenter()
    with pytest.raises(CallDataError) as info:
        c.deliver_call(1.0, csq="Sales", **kw)
    assert info.value.field == field
    assert c.calls == {} and all(not q for q in c.queues.values())
    call_id, _ = c.deliver_call(1.0, csq="Sales", ani="0" * 39, dnis="7" * 31,
                                variables={"call_variable1": "x" * 40})
    assert call_id in c.calls


@pytest.mark.parametrize("kw", [dict(agent_id="1002"), dict(agent_id="1001", agent_instrument="3002"), dict(agent_id="1002", agent_instrument="3002")])
def test_an_agent_mode_session_cannot_act_for_another_agent(w, kw):
    """Session 1 is agent 1001's: a SET_AGENT_STATE_REQ naming agent 1002 (or its phone) is bad agent
    data (§7.1 E_CTI_INVALID_AGENT_DATA); neither agent changes. It used to log in 1001 instead."""
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234", **kw))
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_INVALID_AGENT_DATA
    assert d.message.invoke_id == 6
    assert w.c.agents["1001"].state is AS.AGENT_STATE_LOGOUT and w.c.agents["1002"].state is AS.AGENT_STATE_LOGOUT
    # naming itself is fine
    out = w.req(1, M.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      agent_id="1001", agent_instrument="3001"))
    assert out[0].message == M.SetAgentStateConf(invoke_id=7)
    assert w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY


def test_statistics_queries_count_the_center(w):
    """QUERY_QUEUE / AGENT_QUEUE / SUMMARY_STATISTICS (reference §5.7; numbers provisional, U): the
    agents of a CSQ by state, the calls waiting, the oldest wait; an unknown CSQID is
    E_CTI_INVALID_CSQ (§7.1), an unknown agent E_CTI_INVALID_AGENT_DATA."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    [d] = w.req(9, M.QueryQueueStatisticsReq(invoke_id=1, csq_id=1))
    assert d.message == M.QueryQueueStatisticsConf(invoke_id=1, logged_in_agents=2, available_agents=1,
                                                   un_available_agents=1, calls_in_priority_queue1=0)
    w.inbound(csq="Sales")  # 1001 is reserved for it
    t_queued = w.t + 1
    w.inbound(csq="Sales")  # nobody ready: it waits
    [d] = w.req(9, M.QueryQueueStatisticsReq(invoke_id=2, csq_id=1))
    assert (d.message.available_agents, d.message.selected_agents, d.message.calls_in_priority_queue1) == (0, 1, 1)
    w.t += 5
    [d] = w.req(9, M.QueryAgentQueueStatisticsReq(invoke_id=3, agent_id="1003"))
    assert d.message == M.QueryAgentQueueStatisticsConf(invoke_id=3, calls_in_queue=1,
                                                        oldest_call_in_queue=int(w.t - t_queued), agent_id="1003")
    [d] = w.req(9, M.QueryAgentQueueStatisticsReq(invoke_id=4, agent_id="1004"))  # Support only: nothing waits
    assert (d.message.calls_in_queue, d.message.oldest_call_in_queue) == (0, 0)
    [d] = w.req(9, M.QuerySummaryStatisticsReq(invoke_id=5))
    assert d.message == M.QuerySummaryStatisticsConf(invoke_id=5, num_queues=2, logged_in_agents=2,
                                                     un_available_agents=1, selected_agents=1,
                                                     calls_in_priority_queue1=1)
    [d] = w.req(9, M.QueryQueueStatisticsReq(invoke_id=6, csq_id=99))
    assert d.message.TYPE is MT.FAILURE_CONF and (d.message.status, d.message.invoke_id) == (S.E_CTI_INVALID_CSQ, 6)
    [d] = w.req(9, M.QueryAgentQueueStatisticsReq(invoke_id=7, agent_id="9999"))
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_INVALID_AGENT_DATA


class _NoWalk(dict):
    """The center's agents, which a statistics query may look one up in but must not walk (a wallboard polling
    every CSQ each second walked 5,000 agents per query)."""

    def _walk(self, *a):
        raise AssertionError("a statistics query walked every agent")

    __iter__ = values = items = keys = _walk


def test_statistics_count_agents_without_walking_them():
    """QUERY_QUEUE_STATISTICS and QUERY_SUMMARY_STATISTICS read agents-by-state tables the center keeps as
    states change, QUERY_AGENT_QUEUE_STATISTICS the queues' lengths and heads: the wire values of a walk over
    every agent (the center's, a CSQ's; a call in progress from the center file counts too), and no walk."""
    cfg = default_center()
    cfg = CenterConfig(agents=cfg.agents, csqs=cfg.csqs,
                       calls=(CallConfig(agent="1003", csq="Sales", state="ringing"),))
    w = World(cfg)
    for sid, agent in ((1, "1001"), (2, "1002")):
        w.open(agent_sub(sid, agent))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    w.inbound(csq="Support")  # 1001 (Sales, Support) is reserved for it
    t_queued = w.t + 1
    w.inbound(csq="Sales")  # 1003 rings with the center file's call, 1001 is reserved: it waits
    w.inbound(csq="Sales")
    w.req(2, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_WORK))
    w.t += 7
    agents, w.c.agents = w.c.agents, _NoWalk(w.c.agents)
    [sales], [support], [summary], [mine] = (w.c.handle(9, msg, w.t) for msg in (
        M.QueryQueueStatisticsReq(invoke_id=1, csq_id=1), M.QueryQueueStatisticsReq(invoke_id=2, csq_id=2),
        M.QuerySummaryStatisticsReq(invoke_id=3), M.QueryAgentQueueStatisticsReq(invoke_id=4, agent_id="1002")))
    w.c.agents = agents
    # Sales: 1001 RESERVED, 1002 WORK, 1003 RESERVED (the file's call); Support: 1001, 1002 and 1004 (logged out)
    assert sales.message == M.QueryQueueStatisticsConf(invoke_id=1, logged_in_agents=3, in_work_agents=1,
                                                       selected_agents=2, calls_in_priority_queue1=2)
    assert support.message == M.QueryQueueStatisticsConf(invoke_id=2, logged_in_agents=2, in_work_agents=1,
                                                         selected_agents=1, calls_in_priority_queue1=0)
    assert summary.message == M.QuerySummaryStatisticsConf(invoke_id=3, num_queues=2, logged_in_agents=3,
                                                           in_work_agents=1, selected_agents=2,
                                                           calls_in_priority_queue1=2)
    assert mine.message == M.QueryAgentQueueStatisticsConf(invoke_id=4, calls_in_queue=2,
                                                           oldest_call_in_queue=int(w.t - t_queued), agent_id="1002")


class _NotAskedIn(tuple):
    """An agent's CSQs that routing must not go through: a caller of another CSQ is no business of this agent."""

    def __contains__(self, csq_id):
        raise AssertionError(f"routing a caller of CSQ {csq_id} looked at an agent not in it")


def test_routing_looks_at_the_ready_agents_of_the_callers_csq_only():
    """Callers wait in a CSQ whose agents are all busy while the other CSQ's agents are READY: each READY change
    there, and each caller arriving, looked for a READY agent of the CSQ among every READY agent of the center
    (5,000 agents: 0.2 ms per state change, 0.5 ms per caller; 50,000: 2.3 and 11 ms). The center keeps each
    CSQ's READY agents, longest-ready first: the waiting callers stay queued, and the CSQ's own agent, once READY,
    gets the one waiting longest."""
    w = World(CenterConfig(csqs=(CSQConfig("Big", 1), CSQConfig("Small", 2)), agents=(
        AgentConfig(id="1001", extension="3001", csqs=("Small",)),
        AgentConfig(id="1002", extension="3002", csqs=("Big",)),
        AgentConfig(id="1003", extension="3003", csqs=("Big",)))))
    for sid, agent in ((1, "1001"), (2, "1002"), (3, "1003")):
        w.open(agent_sub(sid, agent))
        w.login_ready(sid, agent)
    w.open(bridge_sub(9))
    first, _ = w.inbound(csq="Small")  # 1001 is reserved for it
    big = {aid: w.c.agents[aid].csq_ids for aid in ("1002", "1003")}
    for aid, csqs in big.items():
        w.c.agents[aid].csq_ids = _NotAskedIn(csqs)
    second, _ = w.c.deliver_call(w.t + 1, csq="Small")
    w.c.handle(2, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY), w.t + 2)
    w.c.handle(2, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_READY), w.t + 3)
    third, _ = w.c.deliver_call(w.t + 4, csq="Small")
    w.t += 4
    for aid, csqs in big.items():
        w.c.agents[aid].csq_ids = csqs
    assert w.c.queues[2] == [second, third] and list(w.c.ready) == ["1003", "1002"]
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=first, connection_device_id="3001"))
    out = w.c.hang_up(w.t + 1, first, "3001")  # the agent hangs up: READY after the call, offered the next caller
    [delivered] = only(out, 1, MT.CALL_DELIVERED_EVENT)
    assert delivered.call_id == second and w.c.queues[2] == [third]


def test_an_agent_desktop_asks_queue_statistics_for_its_own_agent_only(w):
    """One session, one agent: QUERY_AGENT_QUEUE_STATISTICS_REQ names an AgentID, and an agent-mode
    session naming another agent is refused E_CTI_INVALID_AGENT_DATA, as its other requests are; its own
    agent, and any agent from a bridge, get the statistics."""
    w.login_ready(1, "1001", ready=False)
    [d] = w.req(1, M.QueryAgentQueueStatisticsReq(invoke_id=1, agent_id="1002"))
    assert d.message.TYPE is MT.FAILURE_CONF and (d.message.invoke_id, d.message.status) == (
        1, S.E_CTI_INVALID_AGENT_DATA)
    assert "'1002'" in d.message.text and "'1001'" in d.message.text
    [d] = w.req(1, M.QueryAgentQueueStatisticsReq(invoke_id=2, agent_id="1001"))
    assert d.message == M.QueryAgentQueueStatisticsConf(invoke_id=2, calls_in_queue=0, oldest_call_in_queue=0,
                                                        agent_id="1001")
    [d] = w.req(9, M.QueryAgentQueueStatisticsReq(invoke_id=3, agent_id="1002"))
    assert d.message.TYPE is MT.QUERY_AGENT_QUEUE_STATISTICS_CONF and d.message.agent_id == "1002"


def test_statistics_of_a_center_larger_than_a_ushort_saturate_instead_of_failing():
    """The agent counts of QUERY_QUEUE/SUMMARY_STATISTICS_CONF are USHORTs (§5.7), and a center may have
    more agents (``--load agents=`` up to 100,000): the wallboard reads 65,535 ("that many or more"),
    not a FAILURE_CONF saying the server could not build its CONF."""
    agents = tuple(AgentConfig(id=str(100000 + n), extension=str(200000 + n), csqs=("Sales",),
                               state=AS.AGENT_STATE_READY) for n in range(0x10000 + 2))
    w = World(CenterConfig(agents=agents, csqs=(CSQConfig("Sales", 1),)))
    w.open(bridge_sub(9))
    dia = Dialect.uccx(14)
    [d] = w.req(9, M.QuerySummaryStatisticsReq(invoke_id=1))
    assert (d.message.TYPE, d.message.logged_in_agents, d.message.available_agents) == (
        MT.QUERY_SUMMARY_STATISTICS_CONF, 0xFFFF, 0xFFFF)
    # LoggedInAgents and AvailableAgents on the wire (offsets 6 and 10 of the body, after the 8-byte header)
    assert encode(d.message, dia)[8 + 6:8 + 12] == b"\xff\xff\x00\x00\xff\xff"
    [d] = w.req(9, M.QueryQueueStatisticsReq(invoke_id=2, csq_id=1))
    assert (d.message.TYPE, d.message.logged_in_agents, d.message.available_agents) == (
        MT.QUERY_QUEUE_STATISTICS_CONF, 0xFFFF, 0xFFFF)


def test_an_authenticate_only_login_names_the_instrument_unknown(w):
    """§5.2: SET_AGENT_STATE_REQ LOGIN with ForcedFlag 2 (authenticate only) sends AgentInstrument
    "unknown": not another phone, so the identity check does not refuse it."""
    out = w.req(1, M.SetAgentStateReq(invoke_id=8, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      forced_flag=2, agent_id="1001", agent_instrument="unknown"))
    assert out[0].message == M.SetAgentStateConf(invoke_id=8)
    # any other ForcedFlag with a phone that is not the agent's is still refused
    [d] = w.req(1, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      forced_flag=1, agent_id="1001", agent_instrument="unknown"))
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_INVALID_AGENT_DATA


@pytest.mark.parametrize("request_of", [
    lambda cid: M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number="3001"),
    lambda cid: M.ConsultCallReq(invoke_id=9, active_call_id=cid, active_connection_device_id="3001",
                                 consult_type=1, dialed_number="3001"),
    lambda cid: M.TransferCallReq(invoke_id=9, active_call_id=cid, held_call_id=0xFFFFFFFF,
                                  held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                  dialed_number="3001"),
], ids=["make", "consult", "single-step transfer"])
@pytest.mark.parametrize("rules", [True, False])
def test_a_phone_cannot_call_itself(request_of, rules):
    """With the ACD rules off, MAKE_CALL to the agent's own extension used to overwrite the agent's
    leg with a far end of the same device; the next MAKE_CALL then crashed (AttributeError)."""
    import dataclasses

    w = World(dataclasses.replace(default_center(), acd_rules=rules))
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001", ready=False)
    cid = None
    if not isinstance(request_of(0), M.MakeCallReq):
        w.login_ready(1, "1001")
        cid, _ = w.inbound(agent_id="1001")
        w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    before = {k: dict(c.legs) for k, c in w.c.calls.items()}
    [d] = w.req(1, request_of(cid))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF, d.message
    assert (d.message.failure_code, d.message.ccx_error_code) == (ControlFailureCode.CF_INVALID_CALLED_DEVICE,
                                                                 CCXErrorCode.CCX_INVALID_ARGUMENT)
    assert {k: dict(c.legs) for k, c in w.c.calls.items()} == before


def test_a_transfer_while_the_consulted_phone_rings_is_not_a_cancelled_consultation():
    """The consulted agent's reservation becomes one for the transferred ACD call: if the caller then
    hangs up, that agent is not NOT_READY / AGT_CANCEL_CONSULT, but what it was before the call rang there
    (NOT_READY; its login's reason AGT_LOGON not given again: AGT_CALL_ENDED), a call never taken."""
    import dataclasses

    w = World(dataclasses.replace(default_center(), acd_rules=False, control_failure_codes="icm"))
    w.open(agent_sub(1, "1001"))
    w.open(agent_sub(2, "1002"))
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid, _ = w.inbound(agent_id="1001")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    conf = only(w.req(1, M.ConsultCallReq(invoke_id=4, active_call_id=cid, active_connection_device_id="3001",
                                          consult_type=1, dialed_number="3002")), 1, MT.CONSULT_CALL_CONF)[0]
    assert w.c.agents["1002"].consult_offer
    w.req(1, M.TransferCallReq(invoke_id=5, active_call_id=conf.new_call_id, held_call_id=cid,
                               active_connection_device_id="3001", held_connection_device_id="3001"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED and not w.c.agents["1002"].consult_offer
    out = encodable(w.c.hang_up(w.t + 1, cid))
    ev = only(out, 2, MT.AGENT_STATE_EVENT)[-1]
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)


def test_a_caller_hanging_up_while_the_call_rings_leaves_the_agent_as_it_was_before_the_offer():
    """A call abandoned while it rings at the agent was never taken: no after-call state, no wrap-up. The agent
    went to the after-call state (WORK, with its wrap-up timer) as if it had talked; UCCX/Finesse: RESERVED ->
    READY, "an agent can become RESERVED but never take a call". A READY agent is READY again (and routed the
    next caller), one a call was transferred to while NOT_READY (reason 7) is NOT_READY 7 again, not READY."""
    import dataclasses

    w = two_desktops_and_a_bridge(dataclasses.replace(default_center(), after_call_state=AS.AGENT_STATE_WORK,
                                                      wrapup_time=30))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED
    out = encodable(w.c.hang_up(w.t + 1, cid))
    for sid in (1, 9):
        assert [(m.agent_state, m.event_reason_code) for m in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_READY, 0)], sid
    assert seq(out, 2) == []
    assert encodable(w.c.tick(w.t + 60)) == []  # no wrap-up timer was armed
    second, out = w.inbound(csq="Sales")  # READY: the next caller is routed to it
    assert only(out, 1, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_RESERVED
    w.req(1, M.AnswerCallReq(invoke_id=30, call_id=second, connection_device_id="3001"))
    # a NOT_READY agent (reason 7) a single-step transfer rings: the caller hangs up, NOT_READY 7 again
    w.login_ready(2, "1002", ready=False)
    w.req(2, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    w.req(1, M.TransferCallReq(invoke_id=60, active_call_id=second, held_call_id=0xFFFFFFFF,
                               held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                               dialed_number="3002"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
    out = encodable(w.c.hang_up(w.t + 1, second))
    for sid in (2, 9):
        assert [(m.agent_state, m.event_reason_code) for m in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_NOT_READY, 7)], sid


@pytest.mark.parametrize("offer", ["single-step transfer", "consultation"])
def test_a_reservation_ends_with_the_offer_even_beside_a_held_call(w, offer):
    """1002 (NOT_READY, reason 7) holds a call of its own; a colleague's call rings at its phone (a held call leaves
    the line free) and stops ringing unanswered — the caller hangs up, or the consultation is given up. 1002 stayed
    RESERVED, with nothing ringing, until its own held call ended; the reservation ends with the offer:
    NOT_READY 7 (AGT_CANCEL_CONSULT for a consultation), to its desktop and the bridge, its held call untouched."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    w.req(2, M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    own = only(w.req(2, M.MakeCallReq(invoke_id=4, agent_instrument="3002", dialed_number="0611111111")),
               2, MT.MAKE_CALL_CONF)[0].new_call_id
    w.req(2, M.HoldCallReq(invoke_id=5, call_id=own, connection_device_id="3002"))
    cid = answered(w)
    if offer == "single-step transfer":
        w.req(1, M.TransferCallReq(invoke_id=60, active_call_id=cid, held_call_id=0xFFFFFFFF,
                                   held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                   dialed_number="3002"))
        assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
        out = encodable(w.c.hang_up(w.t + 1, cid))
        want = (AS.AGENT_STATE_NOT_READY, 7)
    else:
        out = w.req(1, M.ConsultCallReq(invoke_id=40, active_call_id=cid, active_connection_device_id="3001",
                                        consult_type=1, dialed_number="3002"))
        consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
        assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
        out = w.req(1, M.ReconnectCallReq(invoke_id=41, active_call_id=consult, held_call_id=cid,
                                          active_connection_device_id="3001", held_connection_device_id="3001"))
        want = (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CANCEL_CONSULT)
    for sid in (2, 9):
        assert [(m.agent_state, m.event_reason_code) for m in only(out, sid, MT.AGENT_STATE_EVENT)
                if m.agent_id == "1002"] == [want], sid
    assert w.c.calls[own].legs["3002"].state is LCS.LCS_HOLD


def test_an_administrator_cannot_take_an_agent_off_a_call():
    """ContactCenter.set_agent_state (control API, scenarios) on an agent who is TALKING: NOT_READY / WORK /
    WORK_READY become the state after the call (as the agent's own request), LOGOUT is refused, and so is READY
    (Unified CCX takes no pending READY: the agent's own request is refused too). READY used to be applied at
    once, and the next ACD call was routed to the busy agent."""
    w = World()
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(agent_id="1001")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    with pytest.raises(ValueError, match="talking on an ACD call"):
        w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_READY)
    [d] = w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_NOT_READY, 5)  # announced: TALKING, NextAgentState
    assert (d.message.agent_state, d.message.next_agent_state) == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_NOT_READY)
    assert w.c.agents["1001"].state is AS.AGENT_STATE_TALKING
    with pytest.raises(ValueError, match="has a call"):
        w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_LOGOUT)
    w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_WORK, 7)
    out = w.req(1, M.ClearConnectionReq(invoke_id=4, call_id=cid, connection_device_id="3001"))
    ev = only(out, 1, MT.AGENT_STATE_EVENT)[-1]
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_WORK, 7)



@pytest.mark.parametrize("beside", ["a held call of its own", "a consultation ringing"])
def test_an_administrator_cannot_log_out_a_reserved_agent_whose_phone_has_another_call(beside):
    """LOGOUT of a RESERVED agent (control API, scenarios) withdraws the ACD call ringing there (back to its
    queue) and logs it out — also when its phone had another call, which stayed on the phone of a logged-out
    agent (a held call of its own; a consultation ringing, which is no ACD call and is not withdrawn). Such an
    agent has a call: refused, nothing changes, as the agent's own LOGOUT is."""
    w = World()
    w.open(agent_sub(1, "1001"))
    w.open(agent_sub(2, "1002"))
    w.open(bridge_sub(9))
    if beside == "a held call of its own":
        w.login_ready(1, "1001", ready=False)
        out = w.req(1, M.MakeCallReq(invoke_id=41, dialed_number="0611111111"))
        other = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
        w.req(1, M.HoldCallReq(invoke_id=42, call_id=other, connection_device_id="3001"))
        w.req(1, M.SetAgentStateReq(invoke_id=43, agent_state=AS.AGENT_STATE_READY))
        w.inbound(csq="Sales")
    else:  # 1002 consults 1001, who is RESERVED for the consultation (no ACD call rings there)
        w.login_ready(1, "1001", ready=False)
        w.login_ready(2, "1002")
        cid = answered(w, "1002", 2)
        out = w.req(2, M.ConsultCallReq(invoke_id=44, active_call_id=cid, active_connection_device_id="3002",
                                        dialed_number="3001"))
        other = only(out, 2, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED
    calls = {c.id: dict(c.legs) for c in w.c._agent_calls(w.c.agents["1001"])}
    w.t += 1
    with pytest.raises(ValueError, match="agent 1001 has a call; it cannot be logged out now"):
        w.c.set_agent_state(w.t, "1001", AS.AGENT_STATE_LOGOUT)
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED and other in calls
    assert {c.id: dict(c.legs) for c in w.c._agent_calls(w.c.agents["1001"])} == calls

@pytest.mark.parametrize("state", [AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD, AS.AGENT_STATE_RESERVED,
                                   AS.AGENT_STATE_UNKNOWN])
def test_states_that_follow_the_calls_cannot_be_set_by_the_administration(state):
    """HOLD set by hand on an agent with no call left it stuck: READY confirmed but not taken,
    LOGOUT refused. Only LOGIN, LOGOUT, NOT_READY, READY, WORK and WORK_READY are settable."""
    w = World()
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")
    with pytest.raises(ValueError, match=f"{state.name} is set by the center as calls come and go"):
        w.c.set_agent_state(w.t, "1001", state)
    assert w.c.agents["1001"].state is AS.AGENT_STATE_READY
    assert "1001" in w.c.ready  # still offered calls


@pytest.mark.parametrize("kw, field", [(dict(ani="\ud800"), "ani"),
                                       (dict(variables={"call_variable1": "a\ud800"}), "call_variable1")])
def test_a_lone_surrogate_is_call_data_no_event_carries(kw, field):
    from mockcti.center.config import CallDataError

    c = ContactCenter()
    with pytest.raises(CallDataError, match="lone UTF-16 surrogate") as info:
        c.deliver_call(1.0, csq="Sales", **kw)
    assert info.value.field == field and c.calls == {}


@pytest.mark.parametrize("kw, field", [(dict(ani="06\x0012"), "ani"), (dict(dnis="70\x0000"), "dnis"),
                                       (dict(variables={"call_variable1": "C-\x0042"}), "call_variable1")])
def test_a_nul_inside_call_data_is_refused_naming_the_field(kw, field):
    """A STRING ends at its NUL (reference §1): an ANI "06\\x0012" was accepted and sent as the bytes
    06 NUL 12 NUL, which a client reads as "06" (and this mock's decoder as "06\\x0012"), so the
    call data a test injected was not the data a desktop saw. Refused, naming the field, no call."""
    from mockcti.center.config import CallDataError

    c = ContactCenter()
    with pytest.raises(CallDataError, match="holds a NUL character, which ends the string on the wire") as info:
        c.deliver_call(1.0, csq="Sales", **kw)
    assert info.value.field == field and c.calls == {}


def test_query_agent_state_says_busy_other_in_the_csqs_the_call_did_not_come_from():
    """Reference §6.4: CSQState 7 BUSY_OTHER ("busy on another CSQ") is sent only in
    QUERY_AGENT_STATE_CONF. Agent 1001 is in Sales (1) and Support (2)."""
    w = World()
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")

    def csq_states():
        (conf,) = only(w.req(1, M.QueryAgentStateReq(invoke_id=9, agent_id="1001")), 1, MT.QUERY_AGENT_STATE_CONF)
        return conf.agent_state, {c.csq_id: c.csq_state for c in conf.csqs}

    assert csq_states() == (AS.AGENT_STATE_READY, {1: 3, 2: 3})
    call, _ = w.inbound(csq="Support")
    assert csq_states() == (AS.AGENT_STATE_RESERVED, {1: 7, 2: 8})
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id="3001"))
    assert csq_states() == (AS.AGENT_STATE_TALKING, {1: 7, 2: 4})
    w.req(1, M.ClearConnectionReq(invoke_id=6, call_id=call, connection_device_id="3001"))
    assert csq_states() == (AS.AGENT_STATE_READY, {1: 3, 2: 3})
    call, _ = w.inbound(agent_id="1001")  # no CSQ: busy in none in particular
    assert csq_states() == (AS.AGENT_STATE_RESERVED, {1: 8, 2: 8})


def test_busy_other_ends_with_the_call_and_its_wrapup():
    """BUSY_OTHER in QUERY_AGENT_STATE_CONF is for an agent busy with a CSQ's call (§6.4): its wrap-up after
    the call still is (WORK, the call's CSQ WORK and the other BUSY_OTHER), a WORK it asks for later is not.
    The call's CSQ was remembered for ever: READY, NOT_READY, even a new login, and then a WORK of the
    agent's own showed it BUSY_OTHER in Sales, busy with a Support call long over."""
    import dataclasses

    w = World(dataclasses.replace(default_center(), after_call_state=AS.AGENT_STATE_WORK))
    w.open(agent_sub(1, "1001"))
    w.login_ready(1, "1001")

    def csq_states():
        (conf,) = only(w.req(1, M.QueryAgentStateReq(invoke_id=9, agent_id="1001")), 1, MT.QUERY_AGENT_STATE_CONF)
        return conf.agent_state, {c.csq_id: c.csq_state for c in conf.csqs}

    call, _ = w.inbound(csq="Support")
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id="3001"))
    w.req(1, M.ClearConnectionReq(invoke_id=6, call_id=call, connection_device_id="3001"))
    assert csq_states() == (AS.AGENT_STATE_WORK, {1: 7, 2: 5})  # the wrap-up of the Support call
    w.req(1, M.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_READY))
    w.req(1, M.SetAgentStateReq(invoke_id=8, agent_state=AS.AGENT_STATE_WORK))
    assert csq_states() == (AS.AGENT_STATE_WORK, {1: 5, 2: 5})
    w.req(1, M.SetAgentStateReq(invoke_id=10, agent_state=AS.AGENT_STATE_LOGOUT))
    w.login_ready(1, "1001", ready=False)
    w.req(1, M.SetAgentStateReq(invoke_id=11, agent_state=AS.AGENT_STATE_WORK_READY))
    assert csq_states() == (AS.AGENT_STATE_WORK_READY, {1: 6, 2: 6})


def blind_conference(call_id, dialed, device="3001"):
    """A single-step CONFERENCE_CALL_REQ (§5.3: HeldCallID 0xFFFFFFFF, HeldConnectionDeviceType 0xFFFF,
    no HeldConnectionDeviceID, DialedNumber = the number to conference in)."""
    return M.ConferenceCallReq(invoke_id=70, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                               active_call_id=call_id, active_connection_device_id=device, agent_instrument=device,
                               dialed_number=dialed)


def test_single_step_conference_of_another_agent(w):
    """§5.3 CONFERENCE_CALL_REQ single-step: the number joins the active call; §5.4: CALL_CONFERENCED_EVENT
    after the CALL_DELIVERED_EVENT at the added phone, even for a blind conference. It was answered
    FAILURE_CONF E_CTI_INVALID_CALLID ("no call with CallID 4294967295")."""
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid = answered(w)
    out = w.req(1, blind_conference(cid, "3002"))
    conf = out[0].message
    assert conf.TYPE is MT.CONFERENCE_CALL_CONF and (conf.invoke_id, conf.new_call_id) == (70, cid)
    assert [p.connected_party_device_id for p in conf.parties] == ["0600000000", "3001", "3002"]
    assert seq(out, 1) == ["CONFERENCE_CALL_CONF", "CALL_DELIVERED_EVENT", "CALL_CONFERENCED_EVENT",
                           "CALL_DATA_UPDATE_EVENT"]
    assert seq(out, 2) == ["AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT", "CALL_CONFERENCED_EVENT",
                           "CALL_DATA_UPDATE_EVENT"]
    assert seq(out, 9) == ["AGENT_STATE_EVENT", "CALL_DELIVERED_EVENT", "CALL_CONFERENCED_EVENT",
                           "CALL_DATA_UPDATE_EVENT"]
    ev = only(out, 2, MT.CALL_CONFERENCED_EVENT)[0]
    assert (ev.primary_call_id, ev.secondary_call_id, ev.controller_device_id, ev.added_party_device_id,
            ev.added_party_device_type) == (cid, 0xFFFFFFFF, "3001", "3002", AGENT_DEVICE)
    assert [p.connected_party_device_id for p in ev.parties] == ["0600000000", "3001", "3002"]
    assert only(out, 2, MT.CALL_DELIVERED_EVENT)[0].local_connection_state == LCS.LCS_ALERTING
    assert only(out, 2, MT.AGENT_STATE_EVENT)[0].agent_state == AS.AGENT_STATE_RESERVED  # an ACD call rings there
    assert [m.call_type for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT)] == [CallType.CALLTYPE_CONFERENCE]
    out = w.req(2, M.AnswerCallReq(invoke_id=71, call_id=cid, connection_device_id="3002"))
    assert "CALL_ESTABLISHED_EVENT" in seq(out, 1) and w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    assert {d: lg.state for d, lg in w.c.calls[cid].legs.items()} == {
        "0600000000": LCS.LCS_CONNECT, "3001": LCS.LCS_CONNECT, "3002": LCS.LCS_CONNECT}
    # the conference behaves as one made by consult + conference: the controller leaves, the others go on
    w.req(1, M.ClearConnectionReq(invoke_id=72, call_id=cid, connection_device_id="3001"))
    assert set(w.c.calls[cid].legs) == {"0600000000", "3002"} and w.c.agents["1001"].state is AS.AGENT_STATE_READY
    assert not w.c.violations


def test_single_step_conference_of_an_outside_number(w):
    w.login_ready(1, "1001")
    cid = answered(w)
    out = w.req(1, blind_conference(cid, "0655555555"))
    # answers at once (external_answer_delay 0); the agent's media goes through the conference bridge
    # from then on (§5.4: RTP stopped, then started "when the ... conference operations are completed")
    assert seq(out, 1) == ["CONFERENCE_CALL_CONF", "CALL_CONFERENCED_EVENT", "CALL_DATA_UPDATE_EVENT",
                           "CALL_ESTABLISHED_EVENT", *STOPPED, *STARTED]
    ev = only(out, 9, MT.CALL_CONFERENCED_EVENT)[0]
    assert (ev.added_party_device_id, ev.added_party_device_type) == ("0655555555", EXTERNAL_DEVICE)
    assert w.c.calls[cid].legs["0655555555"].state is LCS.LCS_CONNECT


@pytest.mark.parametrize("how, dialed, want", [
    ("held", "3002", ControlFailureCode.CF_INVALID_OBJECT_STATE),
    ("talking", "3001", ControlFailureCode.CF_INVALID_CALLED_DEVICE),  # itself
    ("talking", "0600000000", ControlFailureCode.CF_INVALID_CALLED_DEVICE),  # already on the call
    ("ringing", "3002", ControlFailureCode.CF_INVALID_OBJECT_STATE),  # ACD rules: Bridge in Delivered (ACD-1149)
])
def test_single_step_conference_refusals_change_nothing(w, how, dialed, want):
    w.login_ready(1, "1001")
    if how == "ringing":
        cid, _ = w.inbound(agent_id="1001")
    else:
        cid = answered(w)
        if how == "held":
            w.req(1, M.HoldCallReq(invoke_id=5, call_id=cid, connection_device_id="3001"))
    before = {d: lg.state for d, lg in w.c.calls[cid].legs.items()}
    [d] = w.req(1, blind_conference(cid, dialed))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF and d.message.failure_code == want
    assert {d: lg.state for d, lg in w.c.calls[cid].legs.items()} == before
    assert [v["rule"] for v in w.c.violations] == (["ACD-1149"] if how == "ringing" else [])


def conference_full(m, cf) -> bool:
    """``m`` is the refusal of a fifth conference party: ``cf``, CCX_JTAPI_CCM_PROBLEM, the limit named."""
    return (m.TYPE is MT.CONTROL_FAILURE_CONF and (m.failure_code, m.ccx_error_code) == (cf, 88001)
            and "a conference has at most 4" in m.text)


def test_a_conference_has_at_most_the_devices_query_device_info_announces(w):
    """QUERY_DEVICE_INFO_CONF says MaxDevicesInConference 4: a fifth party (single-step conference,
    consult + conference, a supervisor's barge-in) is refused and changes nothing: CF_INVALID_OBJECT_STATE
    (the CF values UCCX publishes), ICM's CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED with control_failure_codes =
    "icm". Without the limit a single-step conference took a 21st party, and past 16 the
    CONFERENCE_CALL_CONF, CALL_CONFERENCED_EVENT and SNAPSHOT_CALL_CONF broke §5's NumParties <= 16."""
    w.login_ready(1, "1001")
    [info] = w.req(1, M.QueryDeviceInfoReq(invoke_id=60, agent_instrument="3001"))
    assert info.message.max_devices_in_conference == 4
    cid = answered(w)
    for n, number in enumerate(("0655555501", "0655555502")):  # 2 -> 4 parties
        assert w.req(1, blind_conference(cid, number))[0].message.TYPE is MT.CONFERENCE_CALL_CONF, n
    before = {d: lg.state for d, lg in w.c.calls[cid].legs.items()}
    assert len(before) == 4
    [d] = w.req(1, blind_conference(cid, "0655555503"))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert conference_full(d.message, ControlFailureCode.CF_INVALID_OBJECT_STATE)
    assert {dv: lg.state for dv, lg in w.c.calls[cid].legs.items()} == before


def test_consult_and_conference_onto_a_full_conference_is_refused():
    """The consultative way to a fifth party (the ACD rules refuse a consultation from a conference,
    ACD-1148, so only with ``acd_rules = false``): the conference is refused, the consultation stays
    (here with control_failure_codes = "icm": ICM's CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED)."""
    import dataclasses

    from mockcti.center import default_center

    w = World(dataclasses.replace(default_center(), acd_rules=False, control_failure_codes="icm"))
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001")
    cid = answered(w)
    for number in ("0655555501", "0655555502"):
        w.req(1, blind_conference(cid, number))
    before = set(w.c.calls[cid].legs)
    out = w.req(1, M.ConsultCallReq(invoke_id=61, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=2, dialed_number="0655555504"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    [d] = w.req(1, M.ConferenceCallReq(invoke_id=62, held_call_id=cid, active_call_id=consult,
                                       held_connection_device_id="3001", active_connection_device_id="3001"))
    assert conference_full(d.message, ControlFailureCode.CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED)
    assert set(w.c.calls[cid].legs) == before and consult in w.c.calls


def test_a_barge_in_on_a_full_conference_is_refused():
    """The supervisor's phone would be a fifth party: refused, no event."""
    from mockcti.center import default_center

    w = World(default_center())
    w.open(agent_sub(3, "1003"))
    w.open(agent_sub(4, "1004", services=0x87))
    w.login_ready(3, "1003")
    w.login_ready(4, "1004", ready=False)
    cid, _ = w.inbound(csq="Sales", ani="0611")
    w.req(3, M.AnswerCallReq(invoke_id=5, call_id=cid, connection_device_id="3003"))
    for number in ("0655555501", "0655555502"):
        w.req(3, blind_conference(cid, number, device="3003"))
    [d] = w.req(4, M.SuperviseCallReq(invoke_id=20, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                      agent_connection_device_type=0, supervisor_connection_device_type=0,
                                      supervisory_action=3, agent_id="1003"))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert conference_full(d.message, ControlFailureCode.CF_INVALID_OBJECT_STATE)
    assert "3004" not in w.c.calls[cid].legs


def _floating_tags(body: bytes, fixed: int) -> list[int]:
    """The floating tags of a v14 message body (1-byte tags and lengths) whose fixed part is ``fixed`` bytes."""
    tags, i = [], fixed
    while i < len(body):
        tags.append(body[i])
        i += 2 + body[i + 1]
    return tags


def _a_desktops_call_and_its_snapshot(profile: str):
    """Through the hub, v14 of ``profile``: agent 1001's desktop logs in READY, a caller (2005, DNIS 7000)
    is delivered to it, and it asks for SNAPSHOT_CALL: (the dialect, the frames it got by message type)."""
    from mockcti.hub import Hub, HubConfig, Write
    from mockcti.session import SessionConfig
    from mockcti.wire import FrameBuffer
    from mockcti.wire.dialect import PROFILES

    d = Dialect(profile=PROFILES[profile], version=14)
    hub = Hub(ContactCenter(default_center()), config=HubConfig(session=SessionConfig(profile=PROFILES[profile])))
    sid = hub.connect(0.0)
    for m in (M.OpenReq(invoke_id=1, version_number=14, idle_timeout=0xFFFFFFFF, services_requested=0x7,
                        call_msg_mask=ALL_CALLS, agent_state_mask=ALL_STATES, client_id="desk", client_password=b"",
                        agent_id="1001", peripheral_id=1 if d.profile.icm else 0),  # (ICM: the peripheral's)
              M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                 agent_id="1001", agent_instrument="3001"),
              M.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_READY, agent_instrument="3001")):
        hub.receive(sid, encode(m, d), 0.0)
    hub.take_actions()
    cid, deliveries = hub.center.deliver_call(1.0, agent_id="1001", ani="2005", dnis="7000")
    hub.deliver(deliveries)
    sent = hub.take_actions() + hub.receive(sid, encode(M.SnapshotCallReq(
        invoke_id=4, call_id=cid, connection_device_type=0, connection_device_id="3001"), d), 2.0)
    return d, {f.type_id: f for a in sent if isinstance(a, Write) for f in FrameBuffer().feed(a.data)}


@pytest.mark.parametrize(("profile", "call_type"), [("uccx", 0), ("ucce", int(CallType.CALLTYPE_CCX_IN))])
def test_snapshot_call_conf_call_type_is_0_under_uccx_and_the_calls_type_under_ucce(profile, call_type):
    """The UCCX SNAPSHOT_CALL_CONF page prints its CallType (fixed part, offset 4) as "This value is set to
    0." (as its reserved[72]/[73], which the mock already sends as 0); the ICM guide's is the call's general
    classification. A UCCX session got the call's type (1, ACD_IN, for a CSQ caller), which a UCCX server
    does not send; a UCCE session keeps it. BEGIN_CALL_EVENT carries the type under both."""
    from mockcti.wire import decode

    d, frames = _a_desktops_call_and_its_snapshot(profile)
    assert frames[int(MT.SNAPSHOT_CALL_CONF)].body[4:6] == call_type.to_bytes(2, "big")
    assert decode(frames[int(MT.BEGIN_CALL_EVENT)], d).call_type == CallType.CALLTYPE_CCX_IN


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
def test_router_call_keys_only_under_the_icm_profile(profile):
    """RouterCallKeyDay/CallID/SequenceNumber (tags 72/73/110) are "ICM; normally absent on UCCX"
    (reference §5.4): the UCCX CALL_DELIVERED_EVENT of §8.10b has a 54-byte fixed part and the
    floating fields ConnectionDeviceID, AlertingDeviceID, CallingDeviceID, CalledDeviceID, ANI,
    DialedNumber and none of them. The center sent them (as zeros) to every session; now a session
    of the UCCX profile gets the §8.10b layout (plus DNIS) in CALL_DELIVERED_EVENT, and no keys in
    BEGIN_CALL_EVENT; a session of the UCCE profile (ICM) keeps them. SNAPSHOT_CALL_CONF is the exception:
    its UCCX page prints "reserved[72] (required) | This value is set to 0." and "reserved [73] (required)"
    (no 110), so a UCCX session gets those two, 0 -- it got none, and a client that checks the page's
    required fields refused the snapshot."""
    from mockcti.wire import decode

    d, frames = _a_desktops_call_and_its_snapshot(profile)
    delivered, begin = frames[int(MT.CALL_DELIVERED_EVENT)], frames[int(MT.BEGIN_CALL_EVENT)]
    snapshot = decode(frames[int(MT.SNAPSHOT_CALL_CONF)], d)
    keys = [72, 73, 110]
    v8_10b = [25, 26, 27, 28, 8, 11]  # reference §8.10b; here also DNIS (10, "7000") between ANI and DialedNumber
    layout = _floating_tags(delivered.body, 54)
    if profile == "uccx":
        assert layout == [25, 26, 27, 28, 8, 10, 11]
        assert [t for t in layout if t != 10] == v8_10b
        assert not set(_floating_tags(begin.body, 26)) & set(keys)
        assert (snapshot.router_call_key_day, snapshot.router_call_key_call_id,
                snapshot.router_call_key_sequence_number) == (0, 0, None)
        # the UCCX page's order: ANI, DNIS, DialedNumber, reserved[72], reserved[73], then per device (the
        # caller's and the agent's phone) CallConnectionCallID .. CallDeviceConnectionState, 56 .. 61
        assert _floating_tags(frames[int(MT.SNAPSHOT_CALL_CONF)].body, 20) == [8, 10, 11, 72, 73, *range(56, 62),
                                                                               *range(56, 62)]
    else:
        assert layout == [25, 26, 27, 28, 8, 10, 11, *keys]
        assert set(keys) <= set(_floating_tags(begin.body, 26))
        assert (snapshot.router_call_key_day, snapshot.router_call_key_call_id,
                snapshot.router_call_key_sequence_number) == (0, 0, 0)


def test_under_ucce_a_ready_pending_after_a_call_of_its_own_outlasts_the_wrap_up_timer_and_a_supervisors_too():
    """Under ucce READY asked for during a call of the agent's own is the state after it (Finesse, Unified CCE).
    An agent in WORK after an ACD call (wrap-up, 30 s) places a call and asks for READY: the wrap-up time ends during the call,
    which took it NOT_READY (AGT_WORK_TIMER_EXP) and dropped the READY it asked for; now it stays in WORK, and is
    READY (and routed the caller waiting) when its call ends. A supervisor's READY (set_agent_state) during such a
    call is the state after it as well, announced with NextAgentState to the desktop and the bridge."""
    import dataclasses

    from mockcti.wire.dialect import UCCE

    w = two_desktops_and_a_bridge(dataclasses.replace(default_center(), wrapup_time=30,
                                                      after_call_state=AS.AGENT_STATE_WORK), profile=UCCE)
    w.login_ready(1, "1001")
    first, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=first, connection_device_id="3001"))
    w.t += 1
    encodable(w.c.hang_up(w.t, first))  # the caller hangs up: WORK, its wrap-up timer (30 s) armed
    assert w.c.agents["1001"].state is AS.AGENT_STATE_WORK
    out = w.req(1, M.MakeCallReq(invoke_id=4, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    out = w.req(1, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_READY))
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]
    for sid in (1, 9):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        assert (ev.agent_state, ev.next_agent_state) == (AS.AGENT_STATE_WORK, AS.AGENT_STATE_READY)
    assert encodable(w.c.tick(w.t + 60)) == []  # the wrap-up time is over: WORK until the call ends
    assert w.c.agents["1001"].state is AS.AGENT_STATE_WORK
    w.t += 60
    caller, out = w.inbound(csq="Sales")
    assert seq(out, 1) == []
    out = w.req(1, M.ClearConnectionReq(invoke_id=6, call_id=own, connection_device_id="3001"))
    assert [m.agent_state for m in only(out, 1, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY,
                                                                          AS.AGENT_STATE_RESERVED]
    assert only(out, 1, MT.CALL_DELIVERED_EVENT)[0].call_id == caller
    # a supervisor's READY during agent 1002's own call
    w.login_ready(2, "1002", ready=False)
    out = w.req(2, M.MakeCallReq(invoke_id=7, agent_instrument="3002", dialed_number="0622222222"))
    other = only(out, 2, MT.MAKE_CALL_CONF)[0].new_call_id
    out = encodable(w.c.set_agent_state(w.t, "1002", AS.AGENT_STATE_READY))
    for sid in (2, 9):
        [ev] = only(out, sid, MT.AGENT_STATE_EVENT)
        # (TALKING: a ucce agent placing a call while NOT_READY talks on it, _talk_on_own_call)
        assert (ev.agent_state, ev.next_agent_state) == (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_READY)
    assert "1002" not in w.c.ready
    out = w.req(2, M.ClearConnectionReq(invoke_id=8, call_id=other, connection_device_id="3002"))
    assert [m.agent_state for m in only(out, 2, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_READY]


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
@pytest.mark.parametrize("end", ["answered", "caller hangs up"])
def test_not_ready_while_reserved_by_an_acd_call_is_pending_under_ucce(profile, end):
    """Agent 1001, READY, is RESERVED by a Sales caller and asks for NOT_READY (reason 7) while it rings. Under uccx
    the call is withdrawn back to the queue at once (the phone stops ringing, NOT_READY 7). Under ucce it was the
    same, though Finesse's Unified CCE table has no RESERVED -> NOT_READY (only READY, "an agent can become RESERVED
    but never take a call", and TALKING) and calls a NOT_READY asked for while reserved "a pending state change",
    as the profile already did for a direct call ringing there: now SET_AGENT_STATE_CONF and AGENT_STATE_EVENT
    RESERVED with NextAgentState NOT_READY to the desktop and the bridge, the call rings on and is not queued
    again, and NOT_READY (reason 7) is taken when the call ends — answered (TALKING between) or not."""
    ucce = profile == "ucce"
    w = two_desktops_and_a_bridge(profile=UCCE if ucce else None)
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED
    out = w.req(1, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    if not ucce:
        assert seq(out, 1) == ["CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT", "SET_AGENT_STATE_CONF",
                               "AGENT_STATE_EVENT"]
        assert w.c.queues[1] == [cid] and w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY
        return
    assert seq(out, 1) == ["SET_AGENT_STATE_CONF", "AGENT_STATE_EVENT"]
    for sid in (1, 9):
        assert [(e.agent_state, e.next_agent_state) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_NOT_READY)]
    assert not only(out, 9, MT.CALL_QUEUED_EVENT) and not w.c.queues.get(1)
    assert w.c.calls[cid].legs["3001"].state is LCS.LCS_ALERTING  # still ringing
    if end == "answered":
        out = w.req(1, M.AnswerCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))
        assert [e.agent_state for e in only(out, 9, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_TALKING]
    w.t += 1
    out = w.c.hang_up(w.t, cid, w.c.calls[cid].ani)
    for sid in (1, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_NOT_READY, 7)]
    assert w.c.agents["1001"].state is AS.AGENT_STATE_NOT_READY and "1001" not in w.c.ready


def _1001_talks_to_a_sales_caller_1003_not_ready(w: World) -> int:
    """Desktops of 1001 (sid 1), 1003 (3) and supervisor 1004 (4), a bridge (9); 1001 READY answers a Sales
    caller, 1003 and 1004 NOT_READY. Returns the caller's call ID."""
    for sub in (agent_sub(1, "1001"), agent_sub(3, "1003"), agent_sub(4, "1004", services=0x87), bridge_sub(9)):
        w.open(sub)
    w.login_ready(1, "1001")
    w.login_ready(3, "1003", ready=False)
    w.login_ready(4, "1004", ready=False)
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    return cid


@pytest.mark.parametrize("who", ["the agent", "its supervisor"])
def test_not_ready_while_a_consultation_rings_is_the_state_after_it(who):
    """Agent 1001 talks to a Sales caller and consults 1003 (NOT_READY): 1003 is RESERVED while the consultation
    rings. Its NOT_READY (reason 5; or its supervisor 1004's) was taken at once, the consultation ringing on — no
    script can take a colleague's call back, as it does an ACD offer — so 1003 answered it without becoming TALKING,
    took the transferred caller NOT_READY and had no after-call state at all. Now it is the state after the call,
    as while TALKING: SET_AGENT_STATE_CONF, AGENT_STATE_EVENT RESERVED with NextAgentState NOT_READY to 1003's desktop
    and the bridge; TALKING once answered; NOT_READY (5) when the transferred caller hangs up. READY stays refused
    (Unified CCX takes no pending READY on an ICD call)."""
    w = World()
    cid = _1001_talks_to_a_sales_caller_1003_not_ready(w)
    out = w.req(1, M.ConsultCallReq(invoke_id=4, active_call_id=cid, active_connection_device_id="3001",
                                    dialed_number="3003"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert w.c.agents["1003"].state is AS.AGENT_STATE_RESERVED
    sid, named = (3, {}) if who == "the agent" else (4, {"agent_id": "1003"})
    refused = w.req(sid, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_READY, **named))
    assert [d.message.TYPE for d in refused] == [MT.CONTROL_FAILURE_CONF]
    out = w.req(sid, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=5,
                                        **named))
    assert only(out, sid, MT.SET_AGENT_STATE_CONF) == [M.SetAgentStateConf(invoke_id=6)]
    for s in (3, 9):
        assert [(e.agent_state, e.next_agent_state) for e in only(out, s, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_NOT_READY)]
    assert w.c.agents["1003"].state is AS.AGENT_STATE_RESERVED
    out = w.req(3, M.AnswerCallReq(invoke_id=7, call_id=consult, connection_device_id="3003"))
    for s in (3, 9):
        assert [e.agent_state for e in only(out, s, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_TALKING]
    w.req(1, M.TransferCallReq(invoke_id=8, active_call_id=consult, held_call_id=cid,
                               active_connection_device_id="3001", held_connection_device_id="3001"))
    assert w.c.agents["1003"].state is AS.AGENT_STATE_TALKING
    w.t += 1
    out = w.c.hang_up(w.t, cid, w.c.calls[cid].ani)
    for s in (3, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, s, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_NOT_READY, 5)]


@pytest.mark.parametrize("who", ["the agent", "its supervisor", "the administration"])
def test_a_call_a_colleague_transferred_is_not_pulled_back_by_a_state_change(who):
    """Agent 1001 transfers its Sales caller single-step to 1003's phone (NOT_READY): 1003 is RESERVED while it rings.
    1003's NOT_READY (or its supervisor's, or the control API's) withdrew the call as if the ACD had offered it: the
    phone stopped ringing, the caller went back to the Sales queue and was offered to 1001 again, who had just
    transferred it away — though such a call is a Unified CM call no script watches (it has no ring-no-answer
    either). Now only the ACD's own offers are withdrawn: the call rings on, NOT_READY is the state after it
    (AGENT_STATE_EVENT RESERVED with NextAgentState NOT_READY to the desktop and the bridge; no CALL_QUEUED, nothing
    to 1001); READY is refused as a pending READY on an ACD call, LOGOUT as with a call on the phone. Answered, 1003
    is TALKING, then NOT_READY (reason 5) when the caller hangs up."""
    w = World()
    cid = _1001_talks_to_a_sales_caller_1003_not_ready(w)
    w.req(1, M.TransferCallReq(invoke_id=4, active_call_id=cid, held_call_id=0xFFFFFFFF,
                               active_connection_device_id="3001", dialed_number="3003"))
    assert w.c.agents["1003"].state is AS.AGENT_STATE_RESERVED and w.c.agents["1001"].state is AS.AGENT_STATE_READY

    def ask(state, reason=0):
        if who == "the administration":
            w.t += 1
            try:
                return w.c.set_agent_state(w.t, "1003", state, reason)
            except ValueError as e:
                return str(e)
        sid, named = (3, {}) if who == "the agent" else (4, {"agent_id": "1003"})
        out = w.req(sid, M.SetAgentStateReq(invoke_id=6, agent_state=state, event_reason_code=reason, **named))
        refused = only(out, sid, MT.CONTROL_FAILURE_CONF)
        return refused[0].text if refused else out

    assert isinstance(ask(AS.AGENT_STATE_READY), str)
    assert "has a call" in ask(AS.AGENT_STATE_LOGOUT)
    out = ask(AS.AGENT_STATE_NOT_READY, 5)
    assert not [d for d in out if d.message.TYPE in (MT.CALL_CONNECTION_CLEARED_EVENT, MT.CALL_QUEUED_EVENT,
                                                     MT.END_CALL_EVENT)]
    assert seq(out, 1) == []  # nothing comes back to 1001
    for s in (3, 9):
        assert [(e.agent_state, e.next_agent_state) for e in only(out, s, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_NOT_READY)]
    assert w.c.calls[cid].legs["3003"].state is LCS.LCS_ALERTING and not w.c.queues.get(1)
    out = w.req(3, M.AnswerCallReq(invoke_id=7, call_id=cid, connection_device_id="3003"))
    assert [e.agent_state for e in only(out, 9, MT.AGENT_STATE_EVENT)] == [AS.AGENT_STATE_TALKING]
    w.t += 1
    out = w.c.hang_up(w.t, cid, w.c.calls[cid].ani)
    for s in (3, 9):
        assert [(e.agent_state, e.event_reason_code) for e in only(out, s, MT.AGENT_STATE_EVENT)] == [
            (AS.AGENT_STATE_NOT_READY, 5)]


def test_the_route_point_stage_follows_the_center_file_and_each_bridges_mask():
    """The reference names CALL_ORIGINATED / CALL_DELIVERED at the route point for bridges (§7.2) without their
    LCS (only "!= ALERTING"), EventCause or CSQID (U): the center file sets them (route_point_lcs,
    route_point_event_cause, route_point_csq) or turns the stage off (route_point_events = false: BEGIN_CALL then
    CALL_QUEUED, as before). A bridge gets each event its call mask asks for; a call delivered to a named agent
    passes its trigger too; a call without a DNIS has no route point to name."""
    import dataclasses

    cfg = CenterConfig.from_mapping({"csqs": [{"name": "Sales", "id": 4}], "agents": [
        {"id": "1001", "extension": "3001", "csqs": ["Sales"]}],
        "route_point_lcs": 3, "route_point_event_cause": 22, "route_point_csq": True})
    w = World(cfg)
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.open(bridge_sub(8, call_mask=int(CallEventMask.CALL_ORIGINATED_MASK | CallEventMask.CALL_QUEUED_MASK)))
    w.login_ready(1, "1001", ready=False)
    cid, out = w.inbound(csq="Sales", ani="0612345678", dnis="7100")
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "CALL_QUEUED_EVENT"]
    assert seq(out, 8) == ["CALL_ORIGINATED_EVENT", "CALL_QUEUED_EVENT"] and seq(out, 1) == []
    [orig], [at_rp] = only(out, 9, MT.CALL_ORIGINATED_EVENT), only(out, 9, MT.CALL_DELIVERED_EVENT)
    assert (orig.csq_id, orig.event_cause, orig.called_device_id) == (4, 22, "7100")
    assert (at_rp.csq_id, at_rp.local_connection_state, at_rp.event_cause, at_rp.alerting_device_id) == (
        4, 3, 22, "7100")
    # delivered to a named agent: through its trigger all the same, before the agent is RESERVED
    w = World(cfg)
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001")
    _, out = w.inbound(csq="Sales", agent_id="1001")
    assert seq(out, 9)[:4] == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "AGENT_STATE_EVENT"]
    assert seq(out, 1) == ["AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]
    # turned off, or no DNIS: the bridges see BEGIN_CALL then the queue
    for config, dnis in ((dataclasses.replace(cfg, route_point_events=False), "7100"), (cfg, "")):
        w = World(config)
        w.open(bridge_sub(9))
        _, out = w.inbound(csq="Sales", dnis=dnis)
        assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_QUEUED_EVENT"], (config.route_point_events, dnis)
