"""The center's own timers: ring-no-answer (``ring_no_answer``, reference §6.19 AGT_RNA 32763) and
the wrap-up timer (``wrapup_time``, a CSQ's ``wrapup_time``; AGT_WORK_TIMER_EXP 32758).

Pure tests of the center (time is the World's clock, timers run by ``tick``), the center-file
keys, then one run over TCP through the hub: what the desktop and a bridge receive, and the
journal's happenings.
"""

from __future__ import annotations

import dataclasses

import pytest

from center_world import World, agent_sub, bridge_sub, encodable, only, seq  # tests/support, on the path
from tcp_world import bridge_and_ready_desk, deliver_call  # tests/support

from mockcti.center import CenterConfig, CenterConfigError, default_center
from mockcti.center.config import CSQConfig
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import EventCause, ReasonCode

RNA = ReasonCode.AGT_RNA  # 32763
WORK_TIMER = ReasonCode.AGT_WORK_TIMER_EXP  # 32758


def world(**center) -> World:
    w = World(dataclasses.replace(default_center(), **center))
    w.open(agent_sub(1, "1001"))
    w.open(agent_sub(2, "1002"))
    w.open(bridge_sub(9))
    return w


def tick(w: World, at: float):
    w.t = at
    return encodable(w.c.tick(at))


def states(out, sid=9):
    return [(e.agent_id, AS(e.agent_state).name, e.event_reason_code) for e in only(out, sid, MT.AGENT_STATE_EVENT)]


def ringing_at(w: World, call_id: int) -> list[str]:
    return [d for d, lg in w.c.calls[call_id].legs.items() if lg.state.name == "LCS_ALERTING"]


# -- ring no answer -------------------------------------------------------------------------------------


def test_an_unanswered_acd_call_goes_to_the_next_agent_and_the_first_goes_not_ready_with_agt_rna():
    w = world(ring_no_answer=10)
    w.login_ready(1, "1001")
    w.login_ready(2, "1002")
    call, _ = w.inbound(csq="Sales")
    offered = w.t
    assert ringing_at(w, call) == ["3001"]  # 1001 waited longest
    assert w.c.next_deadline() == offered + 10
    assert tick(w, offered + 9.99) == []
    out = tick(w, offered + 10)
    # the desktop of 1001: its phone stops ringing (not answered), the call ends for it, NOT_READY / AGT_RNA
    assert seq(out, 1) == ["CALL_CONNECTION_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    cleared = only(out, 1, MT.CALL_CONNECTION_CLEARED_EVENT)[0]
    assert (cleared.call_id, cleared.connection_device_id, cleared.event_cause) == (
        call, "3001", EventCause.CEC_CALL_NOT_ANSWERED)
    assert states(out, 1) == [("1001", "AGENT_STATE_NOT_READY", RNA)]
    # the call goes back to the queue and on to 1002, who is offered it like any ACD call
    assert seq(out, 2) == ["AGENT_STATE_EVENT", "BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", RNA), ("1002", "AGENT_STATE_RESERVED", 0)]
    assert "CALL_QUEUED_EVENT" in seq(out, 9) and ringing_at(w, call) == ["3002"]
    assert [h["what"] for h in w.c.happenings] == [
        f"agent 1001: call {call} not answered in 10 s, NOT_READY (AGT_RNA), the call back to its queue"]
    # 1002 does not answer either: the caller waits in the queue, nobody is READY
    out = tick(w, offered + 20)
    assert states(out) == [("1002", "AGENT_STATE_NOT_READY", RNA)]
    assert w.c.queues[1] == [call] and ringing_at(w, call) == []
    assert w.c.next_deadline() is None


def test_two_calls_timing_out_together_go_back_to_the_queue_oldest_first():
    """Both agents let their calls ring past ``ring_no_answer`` and the timers run in one step: each withdrawn
    call was put at the head of the queue, so the younger one, withdrawn last, went ahead of the older one.
    The queue keeps arrival order: the older caller is offered first to the next READY agent."""
    w = world(ring_no_answer=10)
    w.login_ready(1, "1001")
    w.login_ready(2, "1002")
    older, _ = w.inbound(csq="Sales")
    younger, _ = w.inbound(csq="Sales")
    assert (ringing_at(w, older), ringing_at(w, younger)) == (["3001"], ["3002"])
    out = tick(w, w.t + 30)
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", RNA), ("1002", "AGENT_STATE_NOT_READY", RNA)]
    assert w.c.queues[1] == [older, younger]
    assert [m.call_id for m in only(out, 9, MT.CALL_QUEUED_EVENT)] == [older, younger]
    out = w.req(2, M.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_READY))
    assert [m.call_id for m in only(out, 2, MT.CALL_DELIVERED_EVENT)] == [older] and w.c.queues[1] == [younger]


def test_a_call_answered_in_time_is_left_alone():
    w = world(ring_no_answer=10)
    w.login_ready(1, "1001")
    call, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id="3001"))
    assert tick(w, w.t + 60) == [] and w.c.agents["1001"].state is AS.AGENT_STATE_TALKING
    assert w.c.happenings == []


def test_an_old_timer_does_not_cut_a_later_offer_of_the_same_call_short():
    w = world(ring_no_answer=10)
    w.login_ready(1, "1001")
    call, _ = w.inbound(csq="Sales")  # offered at t=3: timer due at 13
    w.req(1, M.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=5))
    assert w.c.queues[1] == [call]  # withdrawn, back in the queue
    w.req(1, M.SetAgentStateReq(invoke_id=8, agent_state=AS.AGENT_STATE_READY))  # offered again at t=5
    again = w.t
    assert ringing_at(w, call) == ["3001"]
    assert tick(w, again + 9) == []  # the first offer's timer (due at t=13) changes nothing
    assert states(tick(w, again + 10)) == [("1001", "AGENT_STATE_NOT_READY", RNA)]


def test_without_ring_no_answer_a_call_rings_until_answered():
    w = world()
    w.login_ready(1, "1001")
    call, _ = w.inbound(csq="Sales")
    assert w.c.next_deadline() is None and tick(w, w.t + 3600) == [] and ringing_at(w, call) == ["3001"]


def test_a_call_without_a_csq_not_answered_ends():
    w = world(ring_no_answer=4)
    w.login_ready(1, "1001")
    call, _ = w.inbound(agent_id="1001")
    out = tick(w, w.t + 4)
    assert "CALL_CLEARED_EVENT" in seq(out, 9) and call not in w.c.calls
    assert states(out) == [("1001", "AGENT_STATE_NOT_READY", RNA)]



NONE = 0xFFFFFFFF


def _transfer_single_step(w: World, call: int):
    return w.req(1, M.TransferCallReq(invoke_id=6, active_call_id=call, active_connection_device_id="3001",
                                      held_call_id=NONE, dialed_number="3002"))


def _conference_single_step(w: World, call: int):
    return w.req(1, M.ConferenceCallReq(invoke_id=6, active_call_id=call, active_connection_device_id="3001",
                                        held_call_id=NONE, held_connection_device_type=0xFFFF, dialed_number="3002"))


def _transfer_consultative(w: World, call: int):
    out = w.req(1, M.ConsultCallReq(invoke_id=6, active_call_id=call, active_connection_device_id="3001",
                                    dialed_number="3002"))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    return w.req(1, M.TransferCallReq(invoke_id=7, active_call_id=consult, active_connection_device_id="3001",
                                      held_call_id=call, held_connection_device_id="3001"))


@pytest.mark.parametrize("send", [_transfer_single_step, _conference_single_step, _transfer_consultative])
def test_an_acd_call_an_agent_sends_to_a_colleague_rings_until_answered(send):
    """Ring-no-answer is the ACD's: UCCX's script gives up on an agent it offered the contact to (the Select
    Resource / Connect step's Timeout) — not on a colleague's phone an agent sends the call to, whether by a
    single-step transfer or conference or by a consultative transfer completed while that phone rings (it took
    AGT_RNA and a requeue for the first two, nothing for the third). The colleague stays RESERVED, its phone
    ringing, and answers when it will; nobody is told AGT_RNA, the call goes to no queue."""
    w = world(ring_no_answer=10, acd_rules=False)  # (the seed's ACD rules refuse a transfer to a ringing phone)
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    call, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id="3001"))
    send(w, call)
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED and "3002" in ringing_at(w, call)
    out = tick(w, w.t + 60)
    assert states(out, 2) == states(out) == [] and only(out, 9, MT.CALL_QUEUED_EVENT) == []
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED and "3002" in ringing_at(w, call)
    assert w.c.queues[1] == [] and w.c.happenings == []
    out = w.req(2, M.AnswerCallReq(invoke_id=8, call_id=call, connection_device_id="3002"))
    assert states(out, 2) == [("1002", "AGENT_STATE_TALKING", 0)]


# -- wrap-up ---------------------------------------------------------------------------------------------


def answered_and_cleared(w: World, sid: int = 1, device: str = "3001", csq: str = "Sales"):
    call, _ = w.inbound(csq=csq)
    w.req(sid, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id=device))
    return w.req(sid, M.ClearConnectionReq(invoke_id=6, call_id=call, connection_device_id=device))


def test_wrapup_time_ends_work_ready_in_ready_and_the_queue_routes_to_the_agent():
    w = world(after_call_state=AS.AGENT_STATE_WORK_READY, wrapup_time=30)
    w.login_ready(1, "1001")
    out = answered_and_cleared(w)
    assert states(out, 1)[-1] == ("1001", "AGENT_STATE_WORK_READY", 0)
    ended = w.t
    waiting, _ = w.inbound(csq="Sales")  # nobody READY: queued
    assert w.c.queues[1] == [waiting] and w.c.next_deadline() == ended + 30
    assert tick(w, ended + 29) == []
    out = tick(w, ended + 30)
    assert states(out, 1) == [("1001", "AGENT_STATE_READY", 0), ("1001", "AGENT_STATE_RESERVED", 0)]
    assert ringing_at(w, waiting) == ["3001"]
    assert [h["what"] for h in w.c.happenings] == ["agent 1001: wrap-up time (30 s) over, READY"]


def test_a_wrapup_ending_while_the_agent_talks_on_its_own_call_makes_it_ready_when_that_call_ends():
    """WORK_READY after an ACD call, the agent dials a number of its own (MAKE_CALL is accepted in WORK_READY)
    and talks; its wrap-up time ends meanwhile. The timer made it READY at once: the desktop and the bridges got
    READY while its phone was busy, and routing skipped it (a wallboard showing an available agent while the
    next caller waited). UCCX keeps an agent on a non-routed call out of READY (its own READY request is refused
    then): the agent stays WORK_READY — no event at the timer — and becomes READY when its call ends, the caller
    offered to it at once."""
    w = world(after_call_state=AS.AGENT_STATE_WORK_READY, wrapup_time=30)
    w.login_ready(1, "1001")
    answered_and_cleared(w)
    ended = w.t
    out = w.req(1, M.MakeCallReq(invoke_id=7, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    assert w.c.calls[own].legs["3001"].state.name == "LCS_CONNECT"  # the number answered
    waiting, out = w.inbound(csq="Sales")
    assert w.c.queues[1] == [waiting]
    out = tick(w, ended + 30)
    assert out == [] and w.c.agents["1001"].state is AS.AGENT_STATE_WORK_READY and "1001" not in w.c.ready
    assert w.c.queues[1] == [waiting]
    assert [h["what"] for h in w.c.happenings] == [
        "agent 1001: wrap-up time (30 s) over, its phone busy with a call that is not an ACD call: READY when it ends"]
    out = w.req(1, M.ClearConnectionReq(invoke_id=8, call_id=own, connection_device_id="3001"))
    assert states(out, 1) == states(out) == [("1001", "AGENT_STATE_READY", 0), ("1001", "AGENT_STATE_RESERVED", 0)]
    assert seq(out, 1)[-2:] == ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"] and ringing_at(w, waiting) == ["3001"]


def test_a_state_asked_for_after_a_wrapup_ended_during_a_call_of_its_own_wins():
    """The READY the wrap-up timer left for after the agent's own call is the timer's: a state the agent asks for
    meanwhile (NOT_READY, reason 7) replaces it, and the end of the call changes nothing."""
    w = world(after_call_state=AS.AGENT_STATE_WORK_READY, wrapup_time=30)
    w.login_ready(1, "1001")
    answered_and_cleared(w)
    out = w.req(1, M.MakeCallReq(invoke_id=7, agent_instrument="3001", dialed_number="0611111111"))
    own = only(out, 1, MT.MAKE_CALL_CONF)[0].new_call_id
    tick(w, w.t + 30)
    w.req(1, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    out = w.req(1, M.ClearConnectionReq(invoke_id=8, call_id=own, connection_device_id="3001"))
    assert states(out) == [] and (w.c.agents["1001"].state, w.c.agents["1001"].reason) == (AS.AGENT_STATE_NOT_READY, 7)


def test_wrapup_time_ends_work_in_not_ready_with_agt_work_timer_exp():
    w = world(after_call_state=AS.AGENT_STATE_WORK, wrapup_time=30)
    w.login_ready(1, "1001")
    answered_and_cleared(w)
    out = tick(w, w.t + 30)
    assert states(out, 1) == [("1001", "AGENT_STATE_NOT_READY", WORK_TIMER)] == states(out)


def test_a_csqs_wrapup_time_wins_over_the_centers():
    cfg = default_center()
    csqs = (dataclasses.replace(cfg.csqs[0], wrapup_time=5.0), cfg.csqs[1])  # Sales: 5 s; Support: the center's
    w = world(csqs=csqs, after_call_state=AS.AGENT_STATE_WORK_READY, wrapup_time=60)
    w.login_ready(1, "1001")
    answered_and_cleared(w, csq="Sales")
    assert w.c.next_deadline() == w.t + 5
    tick(w, w.t + 5)
    answered_and_cleared(w, csq="Support")
    assert w.c.next_deadline() == w.t + 60


def test_a_state_asked_for_during_wrapup_ends_it_and_the_timer_changes_nothing():
    w = world(after_call_state=AS.AGENT_STATE_WORK_READY, wrapup_time=30)
    w.login_ready(1, "1001")
    answered_and_cleared(w)
    ended = w.t
    w.req(1, M.SetAgentStateReq(invoke_id=9, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=7))
    assert tick(w, ended + 30) == [] and w.c.agents["1001"].reason == 7 and w.c.happenings == []


def test_work_asked_for_while_talking_gets_the_wrapup_timer_too():
    w = world(wrapup_time=20)  # after_call_state READY: only the agent's own WORK request leads to wrap-up
    w.login_ready(1, "1001")
    call, _ = w.inbound(csq="Sales")
    w.req(1, M.AnswerCallReq(invoke_id=5, call_id=call, connection_device_id="3001"))
    w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_WORK))
    out = w.req(1, M.ClearConnectionReq(invoke_id=7, call_id=call, connection_device_id="3001"))
    assert states(out, 1)[-1] == ("1001", "AGENT_STATE_WORK", 0)
    assert states(tick(w, w.t + 20), 1) == [("1001", "AGENT_STATE_NOT_READY", WORK_TIMER)]


def test_without_wrapup_time_work_lasts_until_the_agent_asks():
    w = world(after_call_state=AS.AGENT_STATE_WORK)
    w.login_ready(1, "1001")
    answered_and_cleared(w)
    assert w.c.next_deadline() is None and w.c.agents["1001"].state is AS.AGENT_STATE_WORK


# -- the center file -------------------------------------------------------------------------------------


def test_center_file_keys():
    cfg = CenterConfig.from_mapping({"ring_no_answer": 12, "wrapup_time": 45.5,
                                     "csqs": [{"name": "Billing", "id": 7, "wrapup_time": 10}, {"name": "Other"}]})
    assert (cfg.ring_no_answer, cfg.wrapup_time) == (12.0, 45.5)
    assert cfg.csqs == (CSQConfig("Billing", 7, 10.0), CSQConfig("Other", 2, None))
    assert (default_center().ring_no_answer, default_center().wrapup_time) == (0.0, 0.0)


@pytest.mark.parametrize("data, where", [
    ({"ring_no_answer": -1}, "ring_no_answer: expected seconds between 0 and 3600, got -1"),
    ({"ring_no_answer": "10s"}, "ring_no_answer: expected seconds between 0 and 3600, got '10s'"),
    ({"wrapup_time": float("nan")}, "wrapup_time: expected seconds between 0 and 7200, got nan"),
    ({"wrapup_time": True}, "wrapup_time: expected seconds between 0 and 7200, got true"),
    ({"csqs": [{"name": "A", "wrapup_time": 9000}]}, "center.csqs[0].wrapup_time: expected seconds between 0 and 7200"),
    ({"csqs": [{"name": "A", "wrap_up_time": 9}]}, "unknown key 'wrap_up_time'; allowed: name, id, wrapup_time"),
])
def test_center_file_mistakes_name_the_key(data, where):
    with pytest.raises(CenterConfigError, match=r"^center\.toml: ") as e:
        CenterConfig.from_mapping(data, file="center.toml", base="center" if "csqs" in data else "")
    assert where in str(e.value)


# -- over TCP ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_over_tcp_ring_no_answer_reaches_the_desktop_and_the_bridge_and_the_journal():
    cfg = dataclasses.replace(default_center(), ring_no_answer=0.3)
    server = await MockServer(cfg, config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        bridge, desk = await bridge_and_ready_desk(server, "1001")
        await desk.next_event(MT.AGENT_STATE_EVENT, timeout=3)
        await desk.next_event(MT.AGENT_STATE_EVENT, timeout=3)

        call_id = deliver_call(server, csq="Sales")
        delivered = await desk.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
        assert delivered.call_id == call_id
        # nobody answers: 0.3 s later the phone stops ringing and the agent is NOT_READY / AGT_RNA
        cleared = await desk.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, timeout=3)
        assert (cleared.call_id, cleared.event_cause) == (call_id, EventCause.CEC_CALL_NOT_ANSWERED)
        await desk.next_event(MT.END_CALL_EVENT, timeout=3)
        state = await desk.next_event(MT.AGENT_STATE_EVENT, timeout=3)
        assert (state.agent_state, state.event_reason_code) == (AS.AGENT_STATE_NOT_READY, RNA)
        seen = []
        while True:
            ev = await bridge.next_event(timeout=3)
            seen.append(ev.TYPE)
            if ev.TYPE is MT.AGENT_STATE_EVENT and ev.event_reason_code == RNA:
                break
        assert seen[-2:] == [MT.CALL_QUEUED_EVENT, MT.AGENT_STATE_EVENT]
        happened = server.call(lambda hub, now: [e.data for e in hub.journal.entries(kind="happening")])
        assert [(h["agent"], h["call_id"], h["state"]) for h in happened if "call_id" in h] == [
            ("1001", call_id, "AGENT_STATE_NOT_READY")]
        assert server.call(lambda hub, now: hub.center.queues[1]) == [call_id]
        await desk.close()
        await bridge.close()
    finally:
        await server.stop()


def test_a_scenarios_center_section_takes_the_timers_and_a_mistake_names_file_and_line():
    from mockcti.scenario.loader import ScenarioError, load_scenario_text

    text = ("name: rna\ncenter:\n  ring_no_answer: 5\n  wrapup_time: 20\n"
            "  csqs:\n    - {name: Sales, id: 1, wrapup_time: 3}\n")
    sc = load_scenario_text(text, filename="scenarios/rna.yaml")
    cfg = CenterConfig.from_mapping(sc.center)
    assert (cfg.ring_no_answer, cfg.wrapup_time, cfg.csqs[0].wrapup_time) == (5.0, 20.0, 3.0)
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(text.replace("wrapup_time: 3", "wrapup_time: -3"), filename="scenarios/rna.yaml")
    assert str(e.value).startswith("scenarios/rna.yaml:6: center.csqs[0].wrapup_time:")


def test_a_preset_ringing_call_is_not_answered_in_time_either():
    from mockcti.center import ContactCenter
    from mockcti.center.config import CallConfig

    cfg = dataclasses.replace(default_center(), ring_no_answer=6,
                              calls=(CallConfig(agent="1001", csq="Sales", state="ringing"),))
    c = ContactCenter(cfg, now=100.0)
    (call,) = c.preset_call_ids
    assert c.next_deadline() == 106.0
    c.tick(106.0)
    assert (c.agents["1001"].state, c.agents["1001"].reason) == (AS.AGENT_STATE_NOT_READY, RNA)
    assert c.queues[1] == [call]


def test_a_call_back_from_ring_no_answer_keeps_its_first_arrival_in_routing_and_statistics():
    """UCCX's Select Resource step retrieves an unanswered contact "back into the queue": it keeps its place. The
    routing order, the wallboard's OldestCallInQueue and the call's queue_position all count from its first arrival
    — ahead of a caller who came while it rang, its wait not restarted."""
    w = world(ring_no_answer=10)
    w.login_ready(1, "1001")
    first, _ = w.inbound(csq="Sales")
    arrived = w.t
    later, _ = w.inbound(csq="Sales")  # nobody READY: it waits
    tick(w, arrived + 10)
    assert w.c.queues[1] == [first, later]
    [d] = w.req(9, M.QueryAgentQueueStatisticsReq(invoke_id=3, agent_id="1001"))
    assert d.message == M.QueryAgentQueueStatisticsConf(invoke_id=3, calls_in_queue=2,
                                                        oldest_call_in_queue=int(w.t - arrived), agent_id="1001")
    assert w.c.call_view(w.c.calls[first])["queue_position"] == 0
    out = w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_READY))
    assert [m.call_id for m in only(out, 1, MT.CALL_DELIVERED_EVENT)] == [first]
