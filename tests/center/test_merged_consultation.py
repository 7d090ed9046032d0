"""A consultation merged into a call of the consulting agent's own (not an ACD call): 1001, NOT_READY, calls an
outside number (MAKE_CALL), consults 1002 and transfers or conferences the consultation into that call. The
consulted agent went RESERVED, then TALKING, on the consultation (README, consultations: a consulted agent is
RESERVED while it rings, TALKING once answered, whatever call it was placed from); the call it is now on is still
about that consultation for it: TALKING (HOLD under ucce while it holds it) until it leaves that call or the call
ends, then its after-call state — "a consulted agent ... whose consultation became the transferred or conferenced
call, takes the after-call state" (NOT_READY AGT_CALL_ENDED for one that was NOT_READY when it rang there). The
call read as a direct call of its own, which keeps no agent TALKING (UCCX: TALKING is for routed calls): the
stateful test's invariant ``talking_agents_are_on_an_acd_call_or_a_consultation`` failed there, and the center
itself dropped the agent out of TALKING while it still talked on it as soon as another call of its phone ended.
"""

from __future__ import annotations

import dataclasses

import pytest

from mockcti.center import default_center
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.dialect import UCCE, UCCX
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CallType, LocalConnectionState as LCS, ReasonCode

from center_world import agent_sub, only, two_desktops_and_a_bridge  # tests/support, on the path

OUTSIDE = "0611111111"
PROFILES = pytest.mark.parametrize("profile", [UCCX, UCCE], ids=["uccx", "ucce"])
HOW = pytest.mark.parametrize("how", ["transfer", "conference"])


def on_a_routed_call(w, agent_id: str) -> bool:
    """The stateful test's reading of TALKING (its invariant talking_agents_are_on_an_acd_call_or_a_consultation):
    an ACD call, a consultation, a call a consultation that reserved the agent merged into (Call.consulted), or,
    under ucce, calls of its own it went TALKING on."""
    agent = w.c.agents[agent_id]
    calls = [call for call, _ in w.c.agent_call_legs(agent_id)]
    if agent.own_call_from is not None:
        return bool(calls)
    return any(c.acd or c.consult_of is not None or c.type is CallType.CALLTYPE_CONSULT or agent_id in c.consulted
               for c in calls)


def states_of(out, sid, agent_id):
    return [(m.agent_state, m.event_reason_code) for m in only(out, sid, MT.AGENT_STATE_EVENT)
            if m.agent_id == agent_id]


def world(profile, config=None):
    w = two_desktops_and_a_bridge(config, profile=profile)
    w.open(agent_sub(3, "1003", profile=profile))
    w.login_ready(1, "1001", ready=False)
    return w


def own_call(w) -> int:
    """1001 calls an outside number, which answers: the call of its own (not an ACD call)."""
    own = only(w.req(1, M.MakeCallReq(invoke_id=41, agent_instrument="3001", dialed_number=OUTSIDE)),
               1, MT.MAKE_CALL_CONF)[0].new_call_id
    assert w.c.calls[own].legs[OUTSIDE].state is LCS.LCS_CONNECT and not w.c.calls[own].acd
    return own


def consult(w, own: int, how: str) -> int:
    out = w.req(1, M.ConsultCallReq(invoke_id=42, active_call_id=own, active_connection_device_id="3001",
                                    consult_type=1 if how == "transfer" else 2, dialed_number="3002"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED
    return only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id


def merge(w, own: int, consultation: int, how: str):
    req = M.TransferCallReq if how == "transfer" else M.ConferenceCallReq
    out = w.req(1, req(invoke_id=44, active_call_id=consultation, held_call_id=own,
                       active_connection_device_id="3001", held_connection_device_id="3001"))
    assert only(out, 1, MT.TRANSFER_CALL_CONF if how == "transfer" else MT.CONFERENCE_CALL_CONF)
    return out


@PROFILES
@HOW
@pytest.mark.parametrize("ready", [False, True], ids=["not ready", "ready"])
def test_the_consulted_agent_talks_on_the_merged_call_until_it_ends_then_takes_its_after_call_state(
        profile, how, ready):
    w = world(profile)
    w.login_ready(2, "1002", ready=ready)
    w.login_ready(3, "1003", ready=False)
    own = own_call(w)
    consultation = consult(w, own, how)
    w.req(2, M.AnswerCallReq(invoke_id=43, call_id=consultation, connection_device_id="3002"))
    out = merge(w, own, consultation, how)
    assert states_of(out, 2, "1002") == []  # TALKING it stays, on the call its consultation became
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING and on_a_routed_call(w, "1002")
    # 1002 holds that call and answers a call from 1003, who hangs up: 1002 is back on the merged call alone, TALKING
    # (HOLD under ucce: it holds it) — it took its after-call state there, though it still had the customer held
    held = AS.AGENT_STATE_HOLD if profile is UCCE else AS.AGENT_STATE_TALKING
    w.req(2, M.HoldCallReq(invoke_id=45, call_id=own, connection_device_id="3002"))
    assert w.c.agents["1002"].state is held
    out = w.req(3, M.MakeCallReq(invoke_id=46, agent_instrument="3003", dialed_number="3002"))
    direct = only(out, 3, MT.MAKE_CALL_CONF)[0].new_call_id
    w.req(2, M.AnswerCallReq(invoke_id=47, call_id=direct, connection_device_id="3002"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    out = w.req(3, M.ClearConnectionReq(invoke_id=48, call_id=direct, connection_device_id="3003"))
    assert direct not in w.c.calls
    assert states_of(out, 2, "1002") == ([(held, 0)] if profile is UCCE else [])
    assert w.c.agents["1002"].state is held and on_a_routed_call(w, "1002")
    out = w.req(2, M.RetrieveCallReq(invoke_id=49, held_call_id=own, held_connection_device_id="3002"))
    assert w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
    # the call ends (the outside party hangs up; in the conference 1001 then leaves): the after-call state
    w.t += 1
    out = w.c.hang_up(w.t, own, OUTSIDE)
    if how == "conference":
        assert own in w.c.calls and w.c.agents["1002"].state is AS.AGENT_STATE_TALKING
        out = w.req(1, M.ClearConnectionReq(invoke_id=50, call_id=own, connection_device_id="3001"))
    assert own not in w.c.calls
    want = (AS.AGENT_STATE_READY, 0) if ready else (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)
    for sid in (2, 9):
        assert states_of(out, sid, "1002") == [want]
    assert not w.c.agent_call_legs("1002")


@PROFILES
@HOW
def test_the_consulted_agent_leaving_the_merged_call_takes_its_after_call_state_and_the_mark_goes(profile, how):
    """1002 hangs up on the merged call: its after-call state (NOT_READY AGT_CALL_ENDED: it was NOT_READY); the call,
    if it goes on (the conference: 1001 and the customer), no longer counts as a consultation for 1002."""
    w = world(profile)
    w.login_ready(2, "1002", ready=False)
    own = own_call(w)
    consultation = consult(w, own, how)
    w.req(2, M.AnswerCallReq(invoke_id=43, call_id=consultation, connection_device_id="3002"))
    merge(w, own, consultation, how)
    assert w.c.calls[own].consulted == {"1002"}
    if how == "transfer":  # 1002 and the outside party: 1002 leaving ends the call
        out = w.req(2, M.ClearConnectionReq(invoke_id=50, call_id=own, connection_device_id="3002"))
        assert own not in w.c.calls
    else:
        out = w.req(2, M.ClearConnectionReq(invoke_id=50, call_id=own, connection_device_id="3002"))
        assert w.c.calls[own].consulted == frozenset()
    assert states_of(out, 2, "1002") == [(AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)]


@PROFILES
@pytest.mark.parametrize("ready", [False, True], ids=["not ready", "ready"])
def test_a_consultation_transferred_while_ringing_into_a_call_of_the_agents_own_is_talked_on_when_answered(
        profile, ready):
    """(acd_rules off: the ACD rules refuse a transfer before the consulted party answers.) The consultation still
    rings at 1002 (RESERVED) when 1001 transfers it into its call of its own: 1002 answers and is TALKING (it stayed
    RESERVED while talking under uccx; under ucce it was TALKING as on a call of its own, back to its state before
    after it), then takes the after-call state (WORK_READY here, the center's after_call_state) — NOT_READY
    AGT_CALL_ENDED for an agent that was NOT_READY when it rang there."""
    cfg = dataclasses.replace(default_center(), acd_rules=False, after_call_state=AS.AGENT_STATE_WORK_READY)
    w = world(profile, cfg)
    w.login_ready(2, "1002", ready=ready)
    own = own_call(w)
    consultation = consult(w, own, "transfer")
    merge(w, own, consultation, "transfer")
    assert w.c.agents["1002"].state is AS.AGENT_STATE_RESERVED and w.c.calls[own].legs["3002"].state is LCS.LCS_ALERTING
    out = w.req(2, M.AnswerCallReq(invoke_id=43, call_id=own, connection_device_id="3002"))
    for sid in (2, 9):
        assert states_of(out, sid, "1002") == [(AS.AGENT_STATE_TALKING, 0)]
    assert w.c.agents["1002"].own_call_from is None and on_a_routed_call(w, "1002")
    w.t += 1
    out = w.c.hang_up(w.t, own, OUTSIDE)
    want = (AS.AGENT_STATE_WORK_READY, 0) if ready else (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)
    for sid in (2, 9):
        assert states_of(out, sid, "1002") == [want]
