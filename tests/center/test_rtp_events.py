"""Media events, pure: RTP_STARTED_EVENT / RTP_STOPPED_EVENT (reference §5.4, §6.6, §7.2) — when a call
recorder is told an agent phone's media starts and stops, with which addresses, and who is told.

Two events each time (input, then output: "two media streams for audio media"); started when a connection is
established, retrieved, or a transfer or conference completes; stopped on hold and on disconnect. Delivered
to the bridges and the sessions of the phone's agent whose CallMsgMask has RTP_STARTED_MASK / RTP_STOPPED_MASK.
"""

from __future__ import annotations

import dataclasses

import pytest

from mockcti.center import CenterConfig, default_center
from mockcti.center.config import CenterConfigError
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import CallEventMask, RTPDirection

from center_world import ALL_CALLS, World, agent_sub, bridge_sub, only, seq, two_desktops_and_a_bridge

RTP_BITS = int(CallEventMask.RTP_STARTED_MASK | CallEventMask.RTP_STOPPED_MASK)
STARTED = ["RTP_STARTED_EVENT"] * 2
STOPPED = ["RTP_STOPPED_EVENT"] * 2
GATEWAY, BRIDGE = "172.16.0.1", "172.16.0.2"


def rtp(deliveries, sid):
    """(type, CallID, device, direction) of each media event ``sid`` received, in order."""
    return [(d.message.TYPE.name.removesuffix("_EVENT"), d.message.call_id, d.message.connection_device_id,
             RTPDirection(d.message.direction).name)
            for d in deliveries if d.session_id == sid and d.message.TYPE in (MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT)]


def pair(kind, call_id, device):
    return [(kind, call_id, device, "INPUT"), (kind, call_id, device, "OUTPUT")]


@pytest.fixture
def w():
    w = two_desktops_and_a_bridge()
    w.login_ready(1, "1001")
    return w


def answer(w, sid, cid, device):
    return w.req(sid, M.AnswerCallReq(invoke_id=10, call_id=cid, connection_device_id=device))


def test_answer_hold_retrieve_and_the_caller_hanging_up(w):
    cid, out = w.inbound(csq="Sales", ani="0612345678")
    assert rtp(out, 1) == rtp(out, 9) == []  # ringing: no media yet
    out = answer(w, 1, cid, "3001")
    assert seq(out, 1) == ["ANSWER_CALL_CONF", "CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT", *STARTED]
    assert seq(out, 9) == ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT", *STARTED]
    started = only(out, 9, MT.RTP_STARTED_EVENT)
    assert only(out, 1, MT.RTP_STARTED_EVENT) == started  # the same events for the desktop and the recorder
    first = started[0]
    assert [e.direction for e in started] == [RTPDirection.INPUT, RTPDirection.OUTPUT]
    assert (first.monitor_id, first.peripheral_id, first.rtp_type, first.payload_type, first.packet_size,
            first.bit_rate, first.connection_device_type, first.call_id, first.connection_device_id) == (
        0, 1, 0, 3, 20, 0, 0, cid, "3001")  # audio, G.711 u-law 64k, 20 ms
    assert (first.client_address, first.sending_address) == ("10.0.0.1", GATEWAY)  # 1001's phone, the voice gateway
    assert (first.agent_id, first.agent_extension, first.agent_instrument) == ("1001", "3001", "3001")
    for port in (first.client_port, first.sending_port):
        assert 16384 <= port <= 32766 and port % 2 == 0
    assert first.client_port != first.sending_port
    assert all((e.client_port, e.sending_port) == (first.client_port, first.sending_port) for e in started)

    out = w.req(1, M.HoldCallReq(invoke_id=11, call_id=cid, connection_device_id="3001"))
    assert seq(out, 1) == ["HOLD_CALL_CONF", "CALL_HELD_EVENT", *STOPPED]
    assert seq(out, 9) == ["CALL_HELD_EVENT", *STOPPED]
    stopped = only(out, 9, MT.RTP_STOPPED_EVENT)
    # a recorder pairs a stopped stream with its start by the same CallID, device, direction and addresses
    assert [(e.direction, e.call_id, e.connection_device_id, e.client_address, e.client_port, e.sending_address,
             e.sending_port, e.agent_id) for e in stopped] == [
        (e.direction, e.call_id, e.connection_device_id, e.client_address, e.client_port, e.sending_address,
         e.sending_port, e.agent_id) for e in started]

    out = w.req(1, M.RetrieveCallReq(invoke_id=12, held_call_id=cid, held_connection_device_id="3001"))
    assert seq(out, 1) == ["RETRIEVE_CALL_CONF", "CALL_RETRIEVED_EVENT", *STARTED]
    assert only(out, 9, MT.RTP_STARTED_EVENT) == started  # the same stream again

    out = w.c.hang_up(w.t + 1, cid)  # the far end hangs up: the agent's media stops before its call ends
    assert seq(out, 1) == seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", *STOPPED, "CALL_CONNECTION_CLEARED_EVENT",
                                          "CALL_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    assert rtp(out, 9) == pair("RTP_STOPPED", cid, "3001")
    assert seq(out, 2) == []


def test_clear_call_stops_the_media_before_the_call_ends(w):
    cid, _ = w.inbound(csq="Sales")
    answer(w, 1, cid, "3001")
    out = w.req(1, M.ClearCallReq(invoke_id=13, call_id=cid, connection_device_id="3001"))
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_CONNECTION_CLEARED_EVENT", *STOPPED,
                           "CALL_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]


def test_consult_and_transfer_move_the_media_to_the_transferred_call(w):
    w.login_ready(2, "1002", ready=False)
    cid, _ = w.inbound(csq="Sales")
    answer(w, 1, cid, "3001")
    out = w.req(1, M.ConsultCallReq(invoke_id=20, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert rtp(out, 9) == pair("RTP_STOPPED", cid, "3001")  # the original call goes on hold
    out = answer(w, 2, consult, "3002")
    assert rtp(out, 9) == pair("RTP_STARTED", consult, "3001") + pair("RTP_STARTED", consult, "3002")
    # each agent session hears of its own phone only (§7.1: events that concern its agent/phone)
    assert rtp(out, 1) == pair("RTP_STARTED", consult, "3001")
    assert rtp(out, 2) == pair("RTP_STARTED", consult, "3002")
    # phone to phone: each one's far end is the other phone
    a, b = only(out, 9, MT.RTP_STARTED_EVENT)[0], only(out, 9, MT.RTP_STARTED_EVENT)[2]
    assert (a.client_address, a.sending_address, b.client_address, b.sending_address) == (
        "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1")
    assert (a.client_port, a.sending_port) == (b.sending_port, b.client_port)

    out = w.req(1, M.TransferCallReq(invoke_id=21, active_call_id=consult, held_call_id=cid,
                                     active_connection_device_id="3001", held_connection_device_id="3001"))
    # the consultation call's media stops with it, 1002's starts on the transferred call (§5.4: RTP started
    # "when the transfer ... operations are completed"); 1001's held connection had none to stop
    assert rtp(out, 9) == (pair("RTP_STOPPED", consult, "3001") + pair("RTP_STOPPED", consult, "3002")
                           + pair("RTP_STARTED", cid, "3002"))
    assert rtp(out, 1) == pair("RTP_STOPPED", consult, "3001")
    assert rtp(out, 2) == pair("RTP_STOPPED", consult, "3002") + pair("RTP_STARTED", cid, "3002")
    s1 = seq(out, 1)
    assert s1.index("RTP_STOPPED_EVENT") < len(s1) - 1 - s1[::-1].index("END_CALL_EVENT")  # before its END_CALL
    moved = only(out, 9, MT.RTP_STARTED_EVENT)[0]
    assert (moved.client_address, moved.sending_address) == ("10.0.0.2", GATEWAY)


def test_a_conference_talks_through_the_conference_bridge(w):
    w.login_ready(2, "1002", ready=False)
    cid, _ = w.inbound(csq="Sales")
    answer(w, 1, cid, "3001")
    out = w.req(1, M.ConsultCallReq(invoke_id=20, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=2, dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    answer(w, 2, consult, "3002")
    out = w.req(1, M.ConferenceCallReq(invoke_id=22, held_call_id=cid, active_call_id=consult,
                                       held_connection_device_id="3001", active_connection_device_id="3001"))
    assert rtp(out, 9) == (pair("RTP_STOPPED", consult, "3001") + pair("RTP_STOPPED", consult, "3002")
                           + pair("RTP_STARTED", cid, "3001") + pair("RTP_STARTED", cid, "3002"))
    started = only(out, 9, MT.RTP_STARTED_EVENT)
    assert {e.sending_address for e in started} == {BRIDGE}
    assert len({e.sending_port for e in started}) == 2  # one bridge port per phone
    out = w.req(1, M.ClearConnectionReq(invoke_id=23, call_id=cid, connection_device_id="3001"))
    # 1001 leaves; 1002 and the caller go on through the bridge: only 1001's media stops
    assert rtp(out, 9) == pair("RTP_STOPPED", cid, "3001")


def test_the_call_event_mask_chooses_the_media_events():
    w = World()
    w.open(agent_sub(1, "1001", call_mask=ALL_CALLS & ~RTP_BITS))  # a desktop that asks for none
    w.open(bridge_sub(8, call_mask=int(CallEventMask.RTP_STARTED_MASK)))  # starts only
    w.open(bridge_sub(9, call_mask=ALL_CALLS & ~int(CallEventMask.RTP_STARTED_MASK)))  # stops only
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    out = answer(w, 1, cid, "3001")
    assert seq(out, 1) == ["ANSWER_CALL_CONF", "CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT"]
    assert rtp(out, 8) == pair("RTP_STARTED", cid, "3001") and rtp(out, 9) == []
    out = w.req(1, M.HoldCallReq(invoke_id=11, call_id=cid, connection_device_id="3001"))
    assert rtp(out, 8) == [] and rtp(out, 9) == pair("RTP_STOPPED", cid, "3001")
    assert "RTP_STOPPED_EVENT" not in seq(out, 1)


def test_without_a_session_asking_no_media_is_tracked_and_none_sent():
    w = World()
    w.open(agent_sub(1, "1001", call_mask=ALL_CALLS & ~RTP_BITS))
    w.open(bridge_sub(9, call_mask=ALL_CALLS & ~RTP_BITS))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    out = answer(w, 1, cid, "3001")
    assert w.c.calls[cid].media == {}  # the per-step cost is one test of a counter
    assert not any(d.message.TYPE in (MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT) for d in out)


def test_a_center_with_rtp_events_false_sends_none_whatever_the_masks():
    w = World(dataclasses.replace(default_center(), rtp_events=False))
    w.open(agent_sub(1, "1001"))
    w.open(bridge_sub(9))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    out = answer(w, 1, cid, "3001")
    out += w.req(1, M.HoldCallReq(invoke_id=11, call_id=cid, connection_device_id="3001"))
    out += w.req(1, M.ClearCallReq(invoke_id=12, call_id=cid, connection_device_id="3001"))
    assert not any(d.message.TYPE in (MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT) for d in out)


def test_a_recorder_joining_mid_call_hears_of_the_media_from_its_next_change():
    """Nothing announces media already flowing when a recorder opens: it hears the hold's RTP_STOPPED
    (its BEGIN_CALL first), then the retrieve's RTP_STARTED — never a start of the stream it missed."""
    w = World()
    w.open(agent_sub(1, "1001", call_mask=ALL_CALLS & ~RTP_BITS))
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    answer(w, 1, cid, "3001")
    w.open(bridge_sub(9))
    out = w.req(1, M.HoldCallReq(invoke_id=11, call_id=cid, connection_device_id="3001"))
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_HELD_EVENT", *STOPPED]
    out = w.req(1, M.RetrieveCallReq(invoke_id=12, held_call_id=cid, held_connection_device_id="3001"))
    assert seq(out, 9) == ["CALL_RETRIEVED_EVENT", *STARTED]


def test_a_call_in_progress_at_start_has_media_for_the_first_recorder():
    cfg = CenterConfig.from_mapping({
        "agents": [{"id": "1001", "extension": "3001", "state": "NOT_READY"}],
        "calls": [{"agent": "1001", "state": "talking"}]})
    w = World(cfg)
    w.open(bridge_sub(9))
    [cid] = w.c.preset_call_ids
    out = w.c.hang_up(w.t + 1, cid)
    assert rtp(out, 9) == pair("RTP_STOPPED", cid, "3001")


def test_rtp_events_in_a_center_file_is_true_or_false():
    assert CenterConfig.from_mapping({"rtp_events": False}).rtp_events is False
    assert CenterConfig().rtp_events is True
    with pytest.raises(CenterConfigError, match=r"center.toml: rtp_events: expected true or false, got 'no'"):
        CenterConfig.from_mapping({"rtp_events": "no"}, file="center.toml")


def test_a_phone_whose_only_other_party_holds_stops_too(w):
    """Agent 1001 calls 1002 (MAKE_CALL): both phones' media start when 1002 answers; 1001 holds, and
    1002's stream, which had only 1001 at its far end, stops as well (no music on hold is simulated)."""
    w.req(1, M.SetAgentStateReq(invoke_id=5, agent_state=2))  # NOT_READY: an agent places calls so
    w.login_ready(2, "1002", ready=False)
    out = w.req(1, M.MakeCallReq(invoke_id=30, agent_instrument="3001", dialed_number="3002"))
    cid = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    assert rtp(out, 9) == []
    out = answer(w, 2, cid, "3002")
    assert rtp(out, 9) == pair("RTP_STARTED", cid, "3001") + pair("RTP_STARTED", cid, "3002")
    out = w.req(1, M.HoldCallReq(invoke_id=31, call_id=cid, connection_device_id="3001"))
    assert rtp(out, 9) == pair("RTP_STOPPED", cid, "3001") + pair("RTP_STOPPED", cid, "3002")
    assert rtp(out, 2) == pair("RTP_STOPPED", cid, "3002")
    out = w.req(1, M.RetrieveCallReq(invoke_id=32, held_call_id=cid, held_connection_device_id="3001"))
    assert rtp(out, 9) == pair("RTP_STARTED", cid, "3001") + pair("RTP_STARTED", cid, "3002")


def test_a_barge_in_and_an_intercept_move_the_media():
    """SUPERVISE_CALL_REQ barge-in: the supervisor's phone joins through the conference bridge, so the
    agent's stream (to the caller's gateway) stops and starts again through the bridge, and the
    supervisor's starts; an intercept then clears the agent's connection: its media stops, the
    supervisor's goes on."""
    w = World()
    w.open(agent_sub(3, "1003"))
    w.open(agent_sub(4, "1004", services=0x87))
    w.open(bridge_sub(9))
    w.login_ready(3, "1003")
    w.login_ready(4, "1004", ready=False)
    cid, _ = w.inbound(csq="Sales", ani="0611")
    answer(w, 3, cid, "3003")

    def supervise(action, invoke_id):
        return w.req(4, M.SuperviseCallReq(invoke_id=invoke_id, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                           agent_connection_device_type=0, supervisor_connection_device_type=0,
                                           supervisory_action=action, agent_id="1003"))

    out = supervise(3, 20)  # SUPERVISOR_BARGE_IN
    assert rtp(out, 9) == (pair("RTP_STOPPED", cid, "3003") + pair("RTP_STARTED", cid, "3003")
                           + pair("RTP_STARTED", cid, "3004"))
    assert rtp(out, 3) == pair("RTP_STOPPED", cid, "3003") + pair("RTP_STARTED", cid, "3003")
    assert rtp(out, 4) == pair("RTP_STARTED", cid, "3004")  # each desktop hears of its own phone only
    assert {e.sending_address for e in only(out, 9, MT.RTP_STARTED_EVENT)} == {BRIDGE}
    out = supervise(4, 21)  # SUPERVISOR_INTERCEPT
    assert rtp(out, 9) == rtp(out, 3) == pair("RTP_STOPPED", cid, "3003")
    assert rtp(out, 4) == []
