"""An agent whose desktop goes away (its last agent-mode session ends, with CLOSE_REQ or without):
``CenterConfig.on_agent_disconnect`` (reference §6.19 AGT_CONN_DOWN 32765, "desktop/IPPA failed
or connection lost"), and a ringing offer withdrawn from an agent going back to its queue.

Pure tests of the center, then one over TCP through the hub (the journal and a bridge client).
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from center_world import World, agent_sub, bridge_sub, encodable, only, seq  # tests/support, on the path
from tcp_world import bridge_and_ready_desk, deliver_call  # tests/support

from mockcti.center import ContactCenter, default_center
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import EventCause, LocalConnectionState as LCS, ReasonCode

CONN_DOWN = ReasonCode.AGT_CONN_DOWN  # 32765


def world(policy: str | None = None) -> World:
    w = World(default_center() if policy is None else dataclasses.replace(default_center(), on_agent_disconnect=policy))
    w.open(agent_sub(1, "1001"))
    w.open(agent_sub(2, "1002"))
    w.open(bridge_sub(9))
    return w


def close(w: World, sid: int):
    w.t += 1
    return encodable(w.c.close_session(sid, w.t))


def states(out, sid=9):
    return [(e.agent_id, AS(e.agent_state).name, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)]


def legs(w: World, call_id: int) -> dict[str, str]:
    return {d: lg.state.name for d, lg in w.c.calls[call_id].legs.items()}


def test_a_ready_agent_whose_last_session_ends_is_not_ready_and_offered_nothing_more():
    w = world()
    w.login_ready(1, "1001")
    out = close(w, 1)
    # the bridge is told; the closed session gets nothing
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)] and seq(out, 1) == []
    assert w.c.agents["1001"].reason == CONN_DOWN and "1001" not in w.c.ready
    cid, out = w.inbound(csq="Sales")
    # waits: nobody ready (the bridge sees the call reach its route point, then queue: §7.2)
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "CALL_QUEUED_EVENT"]
    assert w.c.queues[1] == [cid] and legs(w, cid) == {"0600000000": "LCS_CONNECT"}
    assert [h["what"] for h in w.c.happenings] == ["agent 1001: last session closed, NOT_READY (AGT_CONN_DOWN)"]


def test_a_call_ringing_at_the_vanished_agent_goes_back_to_the_queue_and_to_the_next_ready_agent():
    w = world()
    w.login_ready(1, "1001")
    first, _ = w.inbound(csq="Sales")
    assert legs(w, first)["3001"] == "LCS_ALERTING"
    second, _ = w.inbound(csq="Sales")  # waits behind the one ringing at 1001
    assert w.c.queues[1] == [second]
    out = close(w, 1)
    cleared = only(out, 9, MT.CALL_CONNECTION_CLEARED_EVENT)
    assert [(c.call_id, c.connection_device_id, c.event_cause) for c in cleared] == [
        (first, "3001", EventCause.CEC_CALL_NOT_ANSWERED)]
    # (a call event and an agent state event may come in either order, §7.1)
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_QUEUED_EVENT", "AGENT_STATE_EVENT"]
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]
    # the caller still waits, first in line (it waited longest), and no call ended
    assert w.c.queues[1] == [first, second] and legs(w, first) == {"0600000000": "LCS_CONNECT"}
    assert not only(out, 9, MT.CALL_CLEARED_EVENT) and not only(out, 9, MT.END_CALL_EVENT)
    # the next READY agent of the CSQ gets it
    out = w.req(2, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                      agent_id="1002"))
    out = w.req(2, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY))
    assert [d.call_id for d in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [first]
    assert w.c.queues[1] == [second] and w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED


def test_the_calls_the_phone_holds_stay_and_the_agent_is_not_ready_when_the_last_ends():
    w = world()
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_WORK))  # pending: after the call
    out = close(w, 1)
    assert out == [] and legs(w, cid) == {"0600000000": "LCS_CONNECT", "3001": "LCS_CONNECT"}
    assert w.c.agents["1001"].state is AS.AGENT_STATE_TALKING
    assert w.c.happenings[-1]["calls_kept"] == [cid] and w.c.happenings[-1]["what"] == (
        "agent 1001: last session closed, on a call: NOT_READY (AGT_CONN_DOWN) when the calls its phone holds end")
    # the caller hangs up: the bridge sees the call end, then the agent NOT_READY (not WORK, not READY)
    w.t += 1
    out = w.c.hang_up(w.t, cid)
    assert seq(out, 9)[-2:] == ["END_CALL_EVENT", "AGENT_STATE_EVENT"]
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]


def test_a_new_session_of_the_agent_gets_its_calls_back_and_the_usual_state_after_them():
    w = world()
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    close(w, 1)
    r = w.open(agent_sub(5, "1001"))
    assert r.agent_state == AS.AGENT_STATE_TALKING
    snap = w.req(5, M.SnapshotDeviceReq(invoke_id=4))[0].message
    assert [(c.call_connection_call_id, c.call_state) for c in snap.calls] == [(cid, LCS.LCS_CONNECT)]
    out = w.req(5, M.ClearConnectionReq(invoke_id=5, call_id=cid, connection_device_id="3001"))
    assert out[0].message == M.ClearConnectionConf(invoke_id=5)
    assert states(out, 5) == [("1001", "AGENT_STATE_READY", 0)]  # after_call_state: the desktop is back


def test_a_kicked_session_or_a_bridge_going_changes_no_agent():
    w = world()
    w.login_ready(1, "1001")
    # the same client opens again: the old session is forgotten, the agent keeps a session
    r = w.c.open_session(dataclasses.replace(agent_sub(3, "1001"), client_id="desk1"), w.t)
    assert r.kicked == (1,)
    assert close(w, 1) == [] and w.c.agents["1001"].state is AS.AGENT_STATE_READY
    # an agent driven from a bridge (no agent-mode session): the bridge going changes nothing
    w.req(9, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                agent_id="1003"))
    w.req(9, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY, agent_id="1003"))
    assert close(w, 9) == [] and w.c.agents["1003"].state is AS.AGENT_STATE_READY
    assert w.c.happenings == []


def test_logged_out_and_not_ready_agents_stay_as_they_are():
    w = world()
    w.req(1, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234", agent_id="1001"))
    w.req(1, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=12))
    assert close(w, 1) == [] and (w.c.agents["1001"].state, w.c.agents["1001"].reason) == (AS.AGENT_STATE_NOT_READY, 12)
    assert close(w, 2) == [] and w.c.agents["1002"].state is AS.AGENT_STATE_LOGOUT
    assert w.c.happenings == []  # nothing done, nothing to tell


@pytest.mark.parametrize("state", [AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY])
def test_an_agent_in_wrap_up_is_not_ready(state):
    w = world()
    w.login_ready(1, "1001", ready=False)
    w.req(1, M.SetAgentStateReq(invoke_id=3, agent_state=state))
    assert states(close(w, 1)) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]


def test_on_agent_disconnect_logout():
    w = world("logout")
    w.login_ready(1, "1001")
    assert states(close(w, 1)) == [("1001", "AGENT_STATE_LOGOUT", CONN_DOWN)]
    w.login_ready(2, "1002")
    cid, _ = w.inbound(csq="Sales")
    w.req(2, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3002"))
    assert close(w, 2) == [] and w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    w.t += 1
    assert states(w.c.hang_up(w.t, cid)) == [("1002", "AGENT_STATE_LOGOUT", CONN_DOWN)]


def test_on_agent_disconnect_keep_changes_nothing():
    w = world("keep")
    w.login_ready(1, "1001")
    assert close(w, 1) == [] and w.c.agents["1001"].state is AS.AGENT_STATE_READY and w.c.happenings == []
    cid, _ = w.inbound(csq="Sales")
    assert legs(w, cid)["3001"] == "LCS_ALERTING"


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_agent_disconnect"):
        ContactCenter(dataclasses.replace(default_center(), on_agent_disconnect="logoff"))


def test_a_reserved_agent_going_not_ready_sends_the_call_back_to_the_queue():
    # (it used to end the call — the caller was dropped — and passed the agent through READY)
    w = world()
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    cid, _ = w.inbound(csq="Sales")
    out = w.req(1, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    # the phone stops ringing (the call's last events for this agent), the agent goes NOT_READY at once
    assert seq(out, 1) == ["CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT", "SET_AGENT_STATE_CONF",
                           "AGENT_STATE_EVENT"]
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", 7)]
    assert cid in w.c.calls and w.c.queues[1] == [cid]
    # a supervisor setting the state does the same
    out = w.req(2, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_READY))
    assert [d.call_id for d in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [cid]
    w.t += 1
    out = w.c.set_agent_state(w.t, "1002", AS.AGENT_STATE_NOT_READY, 3)
    assert states(out) == [("1002", "AGENT_STATE_NOT_READY", 3)] and w.c.queues[1] == [cid]


def test_a_call_delivered_to_the_agent_without_a_csq_ends_when_withdrawn():
    w = world()
    w.login_ready(1, "1001")
    cid, _ = w.inbound(agent_id="1001")
    out = close(w, 1)
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_CLEARED_EVENT", "END_CALL_EVENT",
                           "AGENT_STATE_EVENT"]
    assert cid not in w.c.calls and not any(w.c.queues.values())



def _holding_a_call_of_its_own(w: World, sid: int = 1, agent: str = "1001") -> int:
    """The agent logged in, NOT_READY, has called an outside number and holds that call, then asks for READY
    (a held call leaves the phone free for an ACD call). Returns the held call's ID."""
    phone = w.c.agents[agent].device
    w.login_ready(sid, agent, ready=False)
    own = only(w.req(sid, M.MakeCallReq(invoke_id=3, dialed_number="5551234")), sid, MT.MAKE_CALL_CONF)[0].new_call_id
    w.req(sid, M.HoldCallReq(invoke_id=4, call_id=own, connection_device_id=phone))
    w.req(sid, M.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_READY))
    return own


@pytest.mark.parametrize("policy", ["not_ready", "logout"])
def test_a_vanished_agent_reserved_beside_a_held_call_is_not_ready_at_once(policy):
    """The ACD call ringing at 1001 goes back to the queue: the reservation is over, and with no desktop the
    agent is out of routing now (NOT_READY AGT_CONN_DOWN), not RESERVED with nothing ringing until its held
    call ends; with "logout" it is logged out when that call ends (not with a call on the phone)."""
    w = world(policy)
    own = _holding_a_call_of_its_own(w)
    cid, _ = w.inbound(csq="Sales")
    assert w.c.agents["1001"].state is AS.AGENT_STATE_RESERVED
    out = close(w, 1)
    assert seq(out, 9) == ["CALL_CONNECTION_CLEARED_EVENT", "CALL_QUEUED_EVENT", "AGENT_STATE_EVENT"]
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]
    assert w.c.queues[1] == [cid] and legs(w, own) == {"3001": "LCS_HOLD", "5551234": "LCS_CONNECT"}
    assert w.c.happenings[-1]["what"] == "agent 1001: last session closed, NOT_READY (AGT_CONN_DOWN), its phone " \
        "keeping its calls" + ("" if policy == "not_ready" else ": LOGOUT when they end")
    # the caller goes on to the next READY agent
    w.req(2, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                  agent_id="1002"))
    out = w.req(2, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY))
    assert [d.call_id for d in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [cid]
    w.t += 1
    out = w.c.hang_up(w.t, own, "5551234")
    assert states(out) == ([] if policy == "not_ready" else [("1001", "AGENT_STATE_LOGOUT", CONN_DOWN)])


def test_a_vanished_agent_ready_beside_a_held_call_is_offered_nothing_more():
    w = world()
    _holding_a_call_of_its_own(w)
    assert states(close(w, 1)) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]
    cid, out = w.inbound(csq="Sales")
    assert seq(out, 9) == ["BEGIN_CALL_EVENT", "CALL_ORIGINATED_EVENT", "CALL_DELIVERED_EVENT", "CALL_QUEUED_EVENT"] and w.c.queues[1] == [cid]


def test_a_consultation_given_up_at_a_vanished_agent_beside_a_held_call_leaves_it_not_ready():
    """1001's consultation rings at 1002 (RESERVED: a consultation is not withdrawn when the desktop goes),
    whose phone holds a call of its own; 1002's desktop goes, then 1001 gives the consultation up (RECONNECT):
    1002's reservation is over — NOT_READY AGT_CONN_DOWN at once, not RESERVED with nothing ringing until
    its held call ends."""
    w = world()
    w.login_ready(1, "1001")
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    _holding_a_call_of_its_own(w, 2, "1002")
    out = w.req(1, M.ConsultCallReq(invoke_id=6, active_call_id=cid, active_connection_device_id="3001",
                                    dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
    assert states(close(w, 2)) == [] and legs(w, consult)["3002"] == "LCS_ALERTING"
    out = w.req(1, M.ReconnectCallReq(invoke_id=7, active_call_id=consult, active_connection_device_id="3001",
                                      held_call_id=cid, held_connection_device_id="3001"))
    assert states(out) == [("1002", "AGENT_STATE_NOT_READY", CONN_DOWN)]
    assert w.c.agents["1002"].state is AS.AGENT_STATE_NOT_READY



@pytest.mark.parametrize("policy", ["not_ready", "logout"])
def test_a_vanished_agent_whose_acd_call_ends_beside_a_held_call_is_not_ready_then(policy):
    """1001 talks on an ACD call beside a held call of its own when its desktop goes; the caller hangs up: its
    disconnect state comes then (NOT_READY AGT_CONN_DOWN; "logout": NOT_READY now, LOGOUT once the held call
    ends, no LOGOUT with a call on the phone) — it stayed TALKING until the held call ended."""
    w = world(policy)
    own = _holding_a_call_of_its_own(w)
    cid, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))
    assert close(w, 1) == [] and w.c.agents["1001"].state is AS.AGENT_STATE_TALKING
    w.t += 1
    assert states(w.c.hang_up(w.t, cid)) == [("1001", "AGENT_STATE_NOT_READY", CONN_DOWN)]
    w.t += 1
    out = w.c.hang_up(w.t, own, "5551234")
    assert states(out) == ([] if policy == "not_ready" else [("1001", "AGENT_STATE_LOGOUT", CONN_DOWN)])

# -- over TCP, through the hub ---------------------------------------------------------------------


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
@pytest.mark.parametrize("polite", [False, True])
async def test_over_tcp_a_vanished_desktop_is_seen_by_the_bridge_and_journalled(polite):
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        bridge, desk = await bridge_and_ready_desk(server, "1002")
        await _settle()
        bridge.drain_events()
        await (desk.close() if polite else desk.abort())
        ev = await bridge.next_event(MT.AGENT_STATE_EVENT, timeout=3)
        assert (ev.agent_id, ev.agent_state, ev.event_reason_code) == ("1002", AS.AGENT_STATE_NOT_READY, CONN_DOWN)

        call_id = deliver_call(server, csq="Sales")
        await _settle()
        seen = [e.TYPE for e in bridge.drain_events()]
        # at the route point, then queued, not offered to 1002 (§7.2 inbound ACD call, bridge clients)
        assert seen == [MT.BEGIN_CALL_EVENT, MT.CALL_ORIGINATED_EVENT, MT.CALL_DELIVERED_EVENT, MT.CALL_QUEUED_EVENT]
        happened = server.call(lambda hub, now: [e.to_dict() for e in hub.journal.entries(kind="happening")])
        assert [(h["agent"], h["state"]) for h in happened if "agent" in h] == [("1002", "AGENT_STATE_NOT_READY")]
        assert server.call(lambda hub, now: call_id in hub.center.queues[1])
        violations = server.call(lambda hub, now: [e.data["rule"] for e in hub.journal.violations()])
        assert violations == ([] if polite else ["PROTO-NO-CLOSE"])
        await bridge.close()
    finally:
        await server.stop()
