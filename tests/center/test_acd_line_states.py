"""The ACD line state the center reads from an agent's real calls (error-catalogs.md §3.3
meanings), driven by requests: one call talking, one held, a consultation with the original held
(ringing, then answered), a conference, two held calls, a call alerting, and the mixed situations
a desktop meets (a second call ringing beside a held or a talking one, a held conference). For
each, a request that breaks a rule gets CONTROL_FAILURE_CONF with the documented fields in both
``acd_failure_mode``s, and the violation names the rule, the state and the seed-000 code."""

from __future__ import annotations

import dataclasses

import pytest

from mockcti import catalog
from mockcti.acd import CHECKS
from mockcti.center import default_center
from mockcti.center.core import CallNotOffered
from mockcti.center.acd_guard import line_state
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode

from center_world import World, agent_sub, bridge_sub, only  # tests/support

CF = ControlFailureCode
CHECK = {c.rule_id: c for c in CHECKS}
ME, OTHER = "1001", "1002"


def world(mode: str) -> World:
    w = World(dataclasses.replace(default_center(), acd_failure_mode=mode))
    w.open(agent_sub(1, ME))
    w.open(agent_sub(2, OTHER))
    w.open(bridge_sub(9))
    w.login_ready(1, ME)
    w.login_ready(2, OTHER, ready=False)
    return w


def state(w: World, agent: str = ME) -> str:
    return str(line_state(w.c, w.c.agents[agent]))


def accepted(w: World, sid: int, req) -> list:
    out = w.req(sid, req)
    assert not only(out, sid, MT.CONTROL_FAILURE_CONF) and not only(out, sid, MT.FAILURE_CONF), out
    return out


def answered(w: World) -> int:
    cid, _ = w.inbound(agent_id=ME)
    accepted(w, 1, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"))
    return cid


def consult(w: World, cid: int) -> int:
    out = accepted(w, 1, M.ConsultCallReq(invoke_id=4, active_call_id=cid, active_connection_device_id="3001",
                                          consult_type=1, dialed_number="3002"))
    return only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id


def hold(cid: int) -> M.HoldCallReq:
    return M.HoldCallReq(invoke_id=5, call_id=cid, connection_device_id="3001")


def retrieve(cid: int) -> M.RetrieveCallReq:
    return M.RetrieveCallReq(invoke_id=6, held_call_id=cid, held_connection_device_id="3001")


# (situation, how to reach it -> the request that breaks a rule, the expected state, rule, CTIERR name)
def talking(w):
    return retrieve(answered(w))


def one_held(w):
    cid = answered(w)
    accepted(w, 1, hold(cid))
    return hold(cid)


def consult_ringing(w):
    cid = answered(w)
    new = consult(w, cid)
    return M.ConferenceCallReq(invoke_id=7, held_call_id=cid, active_call_id=new, held_connection_device_id="3001",
                               active_connection_device_id="3001")


def consult_answered(w):
    cid = answered(w)
    new = consult(w, cid)
    accepted(w, 2, M.AnswerCallReq(invoke_id=3, call_id=new, connection_device_id="3002"))
    return hold(cid)  # the held original is not the party the agent talks to


def conference(w):
    cid = answered(w)
    new = consult(w, cid)
    accepted(w, 2, M.AnswerCallReq(invoke_id=3, call_id=new, connection_device_id="3002"))
    accepted(w, 1, M.ConferenceCallReq(invoke_id=7, held_call_id=cid, active_call_id=new,
                                       held_connection_device_id="3001", active_connection_device_id="3001"))
    return M.ConsultCallReq(invoke_id=8, active_call_id=cid, active_connection_device_id="3001", consult_type=1,
                            dialed_number="3003")


def conference_a_party_left(w):
    cid = conference(w).active_call_id
    accepted(w, 2, M.ClearConnectionReq(invoke_id=9, call_id=cid, connection_device_id="3002"))
    return retrieve(cid)  # the agent talks with the caller through the mixer: nothing is held


def two_held(w):
    cid = answered(w)
    new = consult(w, cid)
    accepted(w, 2, M.AnswerCallReq(invoke_id=3, call_id=new, connection_device_id="3002"))
    accepted(w, 1, hold(new))
    return M.MakeCallReq(invoke_id=9, agent_instrument="3001", dialed_number="0611111111")


def alerting(w):
    cid, _ = w.inbound(agent_id=ME)
    return hold(cid)


SITUATIONS = {
    "one call talking": (talking, "Line1Connected", "ACD-1132", "CTIERR_RETRIEVEFAILED"),
    "one call held": (one_held, "Line1Held", "ACD-1128", "CTIERR_HOLDFAILED"),
    "consultation ringing, original held": (consult_ringing, "Originated", "ACD-1133", "CTIERR_CONFERENCE_FAILED"),
    "consultation answered, original held": (consult_answered, "Line2Connected", "ACD-1126", "CTIERR_HOLDFAILED"),
    "conference": (conference, "Line2Conferenced", "ACD-1148", "CTIERR_CONSULT_CALL_FAILURE"),
    "conference a party left": (conference_a_party_left, "Line1Conferenced", "ACD-1132", "CTIERR_RETRIEVEFAILED"),
    "two held calls": (two_held, "Line2AllHeld", "ACD-MAKECALL-BUSY", "CTIERR_ILLEGAL_CALLINGPARTY"),
    "a call alerting": (alerting, "Delivered", "ACD-1128", "CTIERR_HOLDFAILED"),
}


@pytest.mark.parametrize("mode", ["cf", "ctierr"])
@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_each_situation_reads_its_state_and_refuses_with_the_documented_fields(situation, mode):
    reach, want_state, rule, ctierr = SITUATIONS[situation]
    w = world(mode)
    req = reach(w)
    assert state(w) == want_state
    before = {cid: [(lg.device, lg.state) for lg in call.legs.values()] for cid, call in w.c.calls.items()}
    out = w.req(1, req)
    [conf] = only(out, 1, MT.CONTROL_FAILURE_CONF)
    assert [d for d in out if d.session_id != 1] == [] and len(only(out, 1, conf.TYPE)) == len(
        [d for d in out if d.session_id == 1])  # nothing else: no event, nobody else told
    assert {cid: [(lg.device, lg.state) for lg in call.legs.values()] for cid, call in w.c.calls.items()} == before
    check = CHECK[rule]
    makecall = rule == "ACD-MAKECALL-BUSY"
    assert conf.invoke_id == req.invoke_id
    assert conf.failure_code == (CF.CF_INVALID_CALLED_DEVICE if makecall else CF.CF_INVALID_OBJECT_STATE)
    text = f"{check.code_name} ({check.code}): {check.explanation}"
    if mode == "cf":
        assert conf.ccx_error_code == (CCXErrorCode.CCX_INVALID_ARGUMENT if makecall
                                       else CCXErrorCode.CCX_JTAPI_CCM_PROBLEM)
        assert conf.text == text
    else:
        assert conf.ccx_error_code == catalog.default().by_name(ctierr).code & 0xFFFFFFFF
        assert conf.text == f"{ctierr}: {text}"
    [v] = w.c.violations
    assert (v["rule"], v["acd_state"], v["agent_id"], v["code"], v["code_name"], v["request"]) == (
        rule, want_state, ME, check.code, check.code_name, req.TYPE.name)
    assert v["code_text"] == catalog.default().lookup("cn_ngcc", check.code).description_en != ""


def test_a_second_call_ringing_beside_a_held_one_can_be_answered():
    """Delivered, not Originated: the agent holds the caller, a colleague's call rings, the agent
    answers it (it was refused with ACD-1175 "Answer outside Delivered" in "Originated")."""
    w = world("cf")
    first = answered(w)
    accepted(w, 1, hold(first))
    second, _ = w.inbound(agent_id=ME)
    assert state(w) == "Delivered"
    accepted(w, 1, M.AnswerCallReq(invoke_id=10, call_id=second, connection_device_id="3001"))
    assert state(w) == "Held"  # talking on the second, the first held (not its consultation)
    accepted(w, 1, M.AlternateCallReq(invoke_id=11, active_call_id=second, other_call_id=first,
                                      active_connection_device_id="3001", other_connection_device_id="3001"))
    assert state(w) == "Held" and not w.c.violations


def test_a_second_call_rings_beside_a_held_one_not_beside_a_talking_one():
    """A call injected for an agent that talks on another is refused (its line takes one call, MaxActiveCalls
    1): no call is made and the line stays Line1Connected. Once the first call is held the line is free: the
    second rings (Delivered beside the held call) and answering it makes the line Held."""
    w = world("cf")
    first = answered(w)
    calls = set(w.c.calls)
    with pytest.raises(CallNotOffered, match="busy"):
        w.inbound(agent_id=ME)
    assert set(w.c.calls) == calls and state(w) == "Line1Connected" and not w.c.violations
    accepted(w, 1, hold(first))
    second, _ = w.inbound(agent_id=ME)
    assert state(w) == "Delivered"
    accepted(w, 1, M.AnswerCallReq(invoke_id=12, call_id=second, connection_device_id="3001"))
    assert state(w) == "Held"


def test_a_held_conference_is_line1held_and_can_be_retrieved():
    """The agent holds the conference (alone, the call waiting): Line1Held, so Retrieve passes (it
    was read as Held, where the seed allows no Retrieve: the conference could never be retrieved)."""
    w = world("cf")
    consult_req = conference(w)
    cid = consult_req.active_call_id
    accepted(w, 1, hold(cid))
    assert state(w) == "Line1Held" and state(w, OTHER) == "Line2Conferenced"
    accepted(w, 1, retrieve(cid))
    assert state(w) == "Line2Conferenced" and not w.c.violations


def test_a_conference_left_by_a_party_is_line1conferenced_for_whoever_stays():
    """error-catalogs §3.3: Line2Conferenced --ClearConnection--> Line1Conferenced (one party through
    the mixer), and a hold of it comes back to it. It read Line1Connected: Line1Conferenced was never
    produced, so a center file that tells the two apart (here: no consultation from a conference left
    by a party) had no effect, and reports named the wrong state."""
    cfg = dataclasses.replace(default_center(), acd={"allowed_states": {"ACD-1148": ["Line1Connected", "Line1Held"]}})
    w = World(cfg)
    w.open(agent_sub(1, ME))
    w.open(agent_sub(2, OTHER))
    w.login_ready(1, ME)
    w.login_ready(2, OTHER, ready=False)
    cid = conference(w).active_call_id
    accepted(w, 1, M.ClearConnectionReq(invoke_id=9, call_id=cid, connection_device_id="3001"))  # the controller leaves
    assert state(w, OTHER) == "Line1Conferenced" and state(w) == "Idle"
    accepted(w, 2, M.HoldCallReq(invoke_id=10, call_id=cid, connection_device_id="3002"))
    assert state(w, OTHER) == "Line1Held"
    accepted(w, 2, M.RetrieveCallReq(invoke_id=11, held_call_id=cid, held_connection_device_id="3002"))
    assert state(w, OTHER) == "Line1Conferenced"
    out = w.req(2, M.ConsultCallReq(invoke_id=12, active_call_id=cid, active_connection_device_id="3002",
                                    consult_type=1, dialed_number="3003"))
    [conf] = only(out, 2, MT.CONTROL_FAILURE_CONF)
    assert conf.text.startswith("ACD_CONSULT_BAD_STATE (1148)")
    [v] = w.c.violations
    assert (v["rule"], v["acd_state"], v["agent_id"]) == ("ACD-1148", "Line1Conferenced", OTHER)
    # an ordinary two-party call is still Line1Connected: the consultation the center file allows
    w.c.hang_up(w.t, cid)
    w.req(2, M.SetAgentStateReq(invoke_id=13, agent_state=3))
    other = w.inbound(agent_id=OTHER)[0]
    accepted(w, 2, M.AnswerCallReq(invoke_id=14, call_id=other, connection_device_id="3002"))
    assert state(w, OTHER) == "Line1Connected"


def alternate(active: int, other: int) -> M.AlternateCallReq:
    return M.AlternateCallReq(invoke_id=11, active_call_id=active, other_call_id=other,
                              active_connection_device_id="3001", other_connection_device_id="3001")


@pytest.mark.parametrize("finish", ["conference", "transfer", "reconnect", "alternate back"])
def test_after_an_alternate_the_consultation_pair_is_still_line2connected(finish):
    """Consult, the consulted agent answers, Alternate back to the caller (the consultation held), then
    conference them: the UCCX flow of reference §7.2 with a toggle in between. The pair read Held after
    the Alternate, where the seed allows no Conference: CONFERENCE_CALL_REQ was refused ACD-1133 (a false
    violation; the model's own Alternate cell in Line2Connected keeps Line2Connected)."""
    w = world("cf")
    cid = answered(w)
    new = consult(w, cid)
    accepted(w, 2, M.AnswerCallReq(invoke_id=3, call_id=new, connection_device_id="3002"))
    accepted(w, 1, alternate(new, cid))  # talking to the caller, the consultation held
    assert state(w) == "Line2Connected"
    both = dict(held_call_id=new, active_call_id=cid, held_connection_device_id="3001",
                active_connection_device_id="3001")
    if finish == "conference":
        out = accepted(w, 1, M.ConferenceCallReq(invoke_id=12, **both))
        assert only(out, 1, MT.CONFERENCE_CALL_CONF) and state(w) == "Line2Conferenced"
    elif finish == "transfer":
        out = accepted(w, 1, M.TransferCallReq(invoke_id=12, **both))
        assert only(out, 1, MT.TRANSFER_CALL_CONF) and state(w) == "Idle"
    elif finish == "reconnect":  # drop the caller, back to the consulted agent
        out = accepted(w, 1, M.ReconnectCallReq(invoke_id=12, **both))
        assert only(out, 1, MT.RECONNECT_CALL_CONF) and state(w) == "Line1Connected"
    else:
        accepted(w, 1, alternate(cid, new))
        assert state(w) == "Line2Connected"
    assert not w.c.violations


def test_an_unrelated_held_call_beside_the_talking_one_stays_held():
    """Only a consultation and its original are Line2Connected: a second call answered after holding
    the first is Held either way round, and conferencing those is still ACD-1133 (scenario
    acd-violation-held)."""
    w = world("cf")
    first = answered(w)
    accepted(w, 1, hold(first))
    second, _ = w.inbound(agent_id=ME)
    accepted(w, 1, M.AnswerCallReq(invoke_id=10, call_id=second, connection_device_id="3001"))
    for active, other in ((second, first), (first, second)):
        assert state(w) == "Held"
        accepted(w, 1, alternate(active, other))
    assert state(w) == "Held"
    out = w.req(1, M.ConferenceCallReq(invoke_id=12, held_call_id=first, active_call_id=second,
                                       held_connection_device_id="3001", active_connection_device_id="3001"))
    [conf] = only(out, 1, MT.CONTROL_FAILURE_CONF)
    assert conf.text.startswith("ACD_CONFERENCE_BAD_STATE (1133)")
    assert [v["rule"] for v in w.c.violations] == ["ACD-1133"]
