"""event_sequences(flows=...): consultations, transfers, conferences, placed calls and barge-in, played
through the simulated contact center, checked against the protocol's ordering rules."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockcti.testing.strategies import DIALECTS, FLOWS, event_sequences
from mockcti.wire import SPECS, MessageType, decode_bytes, encode
from mockcti.wire.enums import NULL_CALL_ID, AgentState, CallType, EventCause, ReasonCode

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIND = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
M = MessageType
ALL = tuple(FLOWS)
NO_ID = 0xFFFFFFFF


def call_ids(ev) -> list[int]:
    """The call IDs an event names (CALL_TRANSFERRED / CALL_CONFERENCED name two, none is NO_ID)."""
    ids = [getattr(ev, a, None) for a in ("call_id", "primary_call_id", "secondary_call_id")]
    return [i for i in ids if i is not None and i != NO_ID]


@pytest.mark.parametrize("view", ["agent", "bridge"])
@SETTINGS
@given(st.data())
def test_every_event_is_a_server_event_that_round_trips_in_the_dialect(view, data):
    """Both views open with the agent's state and carry events only (the agent works its phone, the
    bridge asked for nothing), each of which round-trips in the drawn dialect."""
    dialect = data.draw(st.sampled_from(DIALECTS), label="dialect")
    events = data.draw(event_sequences(dialect=dialect, flows=ALL, view=view), label="events")
    assert events[0].TYPE is M.AGENT_STATE_EVENT, "the sequence opens with the agent's state"
    for ev in events:
        assert SPECS[ev.TYPE].direction == "S->C"
        assert not ev.TYPE.name.endswith("_CONF"), "events only"
        assert decode_bytes(encode(ev, dialect), dialect) == ev


@SETTINGS
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(st.just(n), event_sequences(max_calls=n, flows=ALL))))
def test_each_call_begins_first_and_ends_last_and_ids_are_consistent(case):
    max_calls, events = case
    per_call = defaultdict(list)
    order = []
    for i, ev in enumerate(events):
        for cid in call_ids(ev):
            if cid not in per_call:
                order.append(cid)
            per_call[cid].append((i, ev.TYPE))
    assert NULL_CALL_ID not in per_call
    assert order == sorted(order), "call IDs are handed out in increasing order, never reused"
    # a flow makes at most two calls (the call and its consultation)
    assert 1 <= len({cid for cid in per_call}) <= 2 * max_calls
    for cid, evs in per_call.items():
        types = [t for _, t in evs]
        assert types[0] is M.BEGIN_CALL_EVENT, (cid, types)
        assert types[-1] is M.END_CALL_EVENT, (cid, types)
        assert types.count(M.BEGIN_CALL_EVENT) == 1 and types.count(M.END_CALL_EVENT) == 1, (cid, types)
    # one agent: every AGENT_STATE_EVENT is its own, and every END_CALL_EVENT names its phone
    agents = {(e.agent_id, e.agent_extension, e.agent_instrument) for e in events if e.TYPE is M.AGENT_STATE_EVENT}
    assert len(agents) == 1
    ((_, ext, _),) = agents
    assert {e.connection_device_id for e in events if e.TYPE in (M.END_CALL_EVENT, M.BEGIN_CALL_EVENT)} == {ext}


@SETTINGS
@given(event_sequences(flows=ALL, max_calls=3))
def test_at_most_two_calls_at_once_and_all_over_at_the_end(events):
    up: set[int] = set()
    for ev in events:
        if ev.TYPE is M.BEGIN_CALL_EVENT:
            up.add(ev.call_id)
            assert len(up) <= 2, "a call and its consultation"
        elif ev.TYPE is M.END_CALL_EVENT:
            up.discard(ev.call_id)
    assert not up, "every call the agent was told about ended"


# what shows that a sequence has a flow of each kind (the center's events for it)
def _consult_reconnected(evs):
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    return (len(ids) == 2 and any(e.TYPE is M.CALL_SERVICE_INITIATED_EVENT and e.call_id == ids[1] for e in evs)
            and any(e.TYPE is M.CALL_RETRIEVED_EVENT and e.call_id == ids[0] for e in evs))


def _alternated(evs):
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    # ALTERNATE_CALL_REQ: the consultation held, the original call retrieved
    return len(ids) == 2 and any(e.TYPE is M.CALL_HELD_EVENT and e.call_id == ids[1] for e in evs)


def _consult_transfer(evs):
    return any(e.TYPE is M.CALL_TRANSFERRED_EVENT and e.secondary_call_id != NO_ID for e in evs)


def _single_step_transfer(evs):
    return any(e.TYPE is M.CALL_TRANSFERRED_EVENT and e.secondary_call_id == NO_ID for e in evs)


def _consult_conference(evs):
    return any(e.TYPE is M.CALL_CONFERENCED_EVENT and e.secondary_call_id != NO_ID for e in evs)


def _single_step_conference(evs):
    return any(e.TYPE is M.CALL_CONFERENCED_EVENT and e.secondary_call_id == NO_ID
               and e.event_cause == EventCause.CEC_NONE for e in evs)


def _make_call(evs):
    return evs[1].TYPE is M.BEGIN_CALL_EVENT and any(e.TYPE is M.CALL_ORIGINATED_EVENT for e in evs)


def _barge_in(evs):
    return any(e.TYPE is M.CALL_CONFERENCED_EVENT and e.event_cause == EventCause.CEC_SUPERVISOR_BARGE_IN
               for e in evs)


def _ring_no_answer(evs):
    return any(e.TYPE is M.AGENT_STATE_EVENT and e.event_reason_code == ReasonCode.AGT_RNA for e in evs)


def _consult_external(evs):
    # the consulted outside number answers at once: no CALL_DELIVERED_EVENT on the consultation
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    return (len(ids) == 2 and any(e.TYPE is M.CALL_ESTABLISHED_EVENT and e.call_id == ids[1] for e in evs)
            and not any(e.TYPE is M.CALL_DELIVERED_EVENT and e.call_id == ids[1] for e in evs))


def _first(evs, kind, call_id, start=0):
    """The index of the first ``kind`` event of call ``call_id`` from ``start`` on, or None."""
    return next((i for i in range(start, len(evs)) if evs[i].TYPE is kind and call_id in call_ids(evs[i])), None)


def _consult_answered_late(evs):
    # the outside number rings on; the customer on hold hangs up meanwhile (END_CALL of the first call between
    # the consultation's CALL_ORIGINATED and its CALL_ESTABLISHED), then it answers
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    if len(ids) != 2:
        return False
    originated, established = _first(evs, M.CALL_ORIGINATED_EVENT, ids[1]), _first(evs, M.CALL_ESTABLISHED_EVENT, ids[1])
    ended = _first(evs, M.END_CALL_EVENT, ids[0])
    return None not in (originated, established, ended) and originated < ended < established


def _consult_never_answered(evs):
    # nobody answers: the consultation ends unanswered and the agent goes back to the customer
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    if len(ids) != 2 or _first(evs, M.CALL_ORIGINATED_EVENT, ids[1]) is None:
        return False
    ended = _first(evs, M.END_CALL_EVENT, ids[1])
    retrieved = _first(evs, M.CALL_RETRIEVED_EVENT, ids[0])
    return (_first(evs, M.CALL_ESTABLISHED_EVENT, ids[1]) is None and _first(evs, M.CALL_DELIVERED_EVENT, ids[1]) is None
            and None not in (ended, retrieved) and ended < retrieved)


def _placed_call_never_answered(evs):
    ids = [e.call_id for e in evs if e.TYPE is M.BEGIN_CALL_EVENT]
    return (len(ids) == 1 and _first(evs, M.CALL_ORIGINATED_EVENT, ids[0]) is not None
            and _first(evs, M.CALL_DELIVERED_EVENT, ids[0]) is None
            and _first(evs, M.CALL_ESTABLISHED_EVENT, ids[0]) is None)


def _single_step_conference_answered(evs, late):
    """A number conferenced in single-step answers after the customer hung up (``late``) or never answers and
    leaves ringing (its connection cleared)."""
    for i, ev in enumerate(evs):
        if ev.TYPE is M.CALL_CONFERENCED_EVENT and ev.secondary_call_id == NO_ID and ev.added_party_device_type == 0:
            number, ani = ev.added_party_device_id, ev.primary_device_id
            after = evs[i + 1:]
            answered = [j for j, e in enumerate(after) if e.TYPE is M.CALL_ESTABLISHED_EVENT
                        and e.answering_device_id == number]
            left = [j for j, e in enumerate(after) if e.TYPE is M.CALL_CONNECTION_CLEARED_EVENT
                    and e.releasing_device_id == (ani if late else number)]
            if late:
                return bool(answered and left and left[0] < answered[0])
            return bool(left) and not answered
    return False


def _single_step_conference_late(evs):
    return _single_step_conference_answered(evs, late=True)


def _single_step_conference_never_answered(evs):
    return _single_step_conference_answered(evs, late=False)


PLAIN = {M.BEGIN_CALL_EVENT, M.CALL_DELIVERED_EVENT, M.CALL_ESTABLISHED_EVENT, M.CALL_HELD_EVENT,
         M.CALL_RETRIEVED_EVENT, M.CALL_CONNECTION_CLEARED_EVENT, M.CALL_CLEARED_EVENT, M.END_CALL_EVENT}


def _plain_inbound(evs):
    """An ACD call and nothing else from its BEGIN_CALL_EVENT to its END_CALL_EVENT."""
    for i, ev in enumerate(evs):
        if ev.TYPE is M.BEGIN_CALL_EVENT and ev.call_type == CallType.CALLTYPE_CCX_IN:
            end = next(j for j in range(i, len(evs)) if evs[j].TYPE is M.END_CALL_EVENT
                       and evs[j].call_id == ev.call_id)
            if all(e.TYPE is M.AGENT_STATE_EVENT or (e.TYPE in PLAIN and call_ids(e) == [ev.call_id])
                   for e in evs[i:end + 1]):
                return True
    return False


SHOWN_BY = {
    "inbound": [_ring_no_answer, _plain_inbound],
    "consult": [_consult_reconnected, _alternated, _consult_external, _consult_answered_late, _consult_never_answered],
    "transfer": [_consult_transfer, _single_step_transfer, _consult_answered_late, _consult_never_answered],
    "conference": [_consult_conference, _single_step_conference, _single_step_conference_late,
                   _single_step_conference_never_answered],
    "make_call": [_make_call, _placed_call_never_answered],
    "barge_in": [_barge_in],
}


@pytest.mark.parametrize("flow,shows", [(f, s) for f, ss in SHOWN_BY.items() for s in ss],
                         ids=lambda x: x if isinstance(x, str) else x.__name__.strip("_"))
def test_each_flow_is_generated(flow, shows):
    found = find(event_sequences(flows=(flow,), max_calls=1), shows, settings=FIND)
    assert shows(found)


def test_without_flows_nothing_but_inbound_calls_are_generated():
    """The default stays the inbound model: none of the new flows' events."""
    new = {M.CALL_TRANSFERRED_EVENT, M.CALL_CONFERENCED_EVENT, M.CALL_ORIGINATED_EVENT,
           M.CALL_SERVICE_INITIATED_EVENT, M.CALL_DATA_UPDATE_EVENT}
    seen: set = set()

    @settings(max_examples=60, deadline=None, database=None)
    @given(event_sequences(max_calls=2))
    def collect(events):
        seen.update(e.TYPE for e in events)

    collect()
    assert not seen & new


def test_a_mix_of_flows_draws_every_flow():
    """Counting over a bounded number of examples: with every flow selected, each kind turns up."""
    counts: Counter = Counter()

    @settings(max_examples=150, deadline=None, database=None)
    @given(event_sequences(flows=ALL, max_calls=2))
    def collect(events):
        for flow, shows in SHOWN_BY.items():
            if any(s(events) for s in shows):
                counts[flow] += 1

    collect()
    assert set(counts) == set(FLOWS), counts


# (Hypothesis's shrinking is a heuristic: for some seeds it keeps a harmless call before the transfer — 2 of
# seeds 0..19, 14 and 18; 4 before the plans were drawn as tuples with the opening reason code always drawn)
@pytest.mark.parametrize("seed", range(3))
def test_a_transfer_shrinks_to_one_plain_transfer(seed):
    """The plan is drawn first and then played: a case that fails on a transfer shrinks to the one call
    that makes it, a consultation with the outside number (the simplest target) answered at once and no holds."""
    from hypothesis import Phase
    from hypothesis import seed as hseed

    smallest = []

    @settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(event_sequences(flows=ALL, max_calls=3))
    def search(events):
        if _consult_transfer(events):
            smallest.append(events)
            raise AssertionError("transferred")

    with pytest.raises(AssertionError, match="transferred"):
        search()
    found = smallest[-1]
    names = [e.TYPE.name for e in found]
    ids = [e.call_id for e in found if e.TYPE is M.BEGIN_CALL_EVENT]
    assert len(ids) == 2, names  # one call and its consultation
    assert not any(e.TYPE is M.CALL_DELIVERED_EVENT and e.call_id == ids[1] for e in found), names  # external
    assert not any(e.TYPE is M.CALL_HELD_EVENT and e.call_id == ids[1] for e in found), names
    # 17 call and agent-state events, and the agent phone's media (RTP_STARTED/STOPPED in and out: answered,
    # held for the consultation, started on it, stopped at the transfer): 8
    assert len(found) <= 25, names
    assert sum(e.TYPE in (M.RTP_STARTED_EVENT, M.RTP_STOPPED_EVENT) for e in found) == 8, names


@pytest.mark.parametrize("flows", [(), ("inbound", "fax"), "fax"])
def test_unknown_or_no_flows_are_refused(flows):
    with pytest.raises(InvalidArgument, match="flows must be"):
        event_sequences(flows=flows).validate()


def test_one_flow_may_be_named_as_a_string():
    found = find(event_sequences(flows="make_call", max_calls=1), _make_call, settings=FIND)
    assert _make_call(found)


def test_the_agent_s_state_follows_what_it_asked_for_during_the_call():
    """WORK asked for while talking is the state after the call (§7.2): the center's rule, in the sequence."""
    def asked_work(evs):
        states = [AgentState(e.agent_state) for e in evs if e.TYPE is M.AGENT_STATE_EVENT]
        return AgentState.AGENT_STATE_WORK in states and _consult_transfer(evs)

    found = find(event_sequences(flows=("transfer",), max_calls=1), asked_work, settings=FIND)
    last = [e for e in found if e.TYPE is M.AGENT_STATE_EVENT][-1]
    assert AgentState(last.agent_state) is AgentState.AGENT_STATE_WORK
    assert found.index(last) > [i for i, e in enumerate(found) if e.TYPE is M.CALL_TRANSFERRED_EVENT][0]


# -- view="bridge": what a bridge-mode session (ALL_EVENTS) of the same center is sent ------------------


@SETTINGS
@given(event_sequences(flows=ALL, max_calls=3, view="bridge"))
def test_bridge_view_each_call_begins_first_and_ends_last_once(events):
    per_call = defaultdict(list)
    for ev in events:
        for cid in call_ids(ev):
            per_call[cid].append(ev.TYPE)
    assert per_call and NULL_CALL_ID not in per_call
    for cid, types in per_call.items():
        assert types[0] is M.BEGIN_CALL_EVENT, (cid, types)
        assert types[-1] is M.END_CALL_EVENT, (cid, types)
        assert types.count(M.BEGIN_CALL_EVENT) == 1 and types.count(M.END_CALL_EVENT) == 1, (cid, types)
    # a bridge's END_CALL_EVENT names no phone (reference §7.2)
    assert {e.connection_device_id for e in events if e.TYPE is M.END_CALL_EVENT} == {""}


def test_bridge_view_sees_both_agents_and_the_queue():
    """What the agent's desktop never gets: the other agent's state and CALL_QUEUED_EVENT (a bounded find)."""
    def shows(events):
        agents = {e.agent_id for e in events if e.TYPE is M.AGENT_STATE_EVENT}
        return len(agents) >= 2 and any(e.TYPE is M.CALL_QUEUED_EVENT for e in events)

    found = find(event_sequences(flows=("inbound", "consult"), max_calls=2, view="bridge"), shows, settings=FIND)
    assert shows(found)


def test_agent_view_is_the_default_and_gets_no_queue_events():
    seen: set = set()

    @settings(max_examples=40, deadline=None, database=None)
    @given(event_sequences(flows=("inbound",), max_calls=2))
    def collect(events):
        seen.update(e.TYPE for e in events)
        assert len({e.agent_id for e in events if e.TYPE is M.AGENT_STATE_EVENT}) == 1

    collect()
    assert M.CALL_QUEUED_EVENT not in seen


@pytest.mark.parametrize("kw,match", [
    ({"view": "bridge"}, "view='bridge' needs flows="),
    ({"flows": ALL, "view": "wallboard"}, "view must be one of \\['agent', 'bridge'\\]"),
    ({"flows": ALL, "view": None}, "view must be one of"),
    ({"flows": ALL, "view": ["bridge"]}, "view must be one of"),
])
def test_bad_view_is_refused(kw, match):
    with pytest.raises(InvalidArgument, match=match):
        event_sequences(**kw).validate()


# -- an external number answers at once, late or never (the generated center's external_answer_delay) -------


def _kinds(evs) -> list[tuple[str, list[int]]]:
    return [(e.TYPE.name.removesuffix("_EVENT"), call_ids(e)) for e in evs]


HELD_FOR_A_CONSULTATION = [
    ("AGENT_STATE", []), ("AGENT_STATE", []), ("BEGIN_CALL", [1]), ("CALL_DELIVERED", [1]), ("CALL_ESTABLISHED", [1]),
    ("AGENT_STATE", []), ("RTP_STARTED", [1]), ("RTP_STARTED", [1]), ("CALL_HELD", [1]), ("RTP_STOPPED", [1]),
    ("RTP_STOPPED", [1]), ("BEGIN_CALL", [2]), ("CALL_SERVICE_INITIATED", [2]), ("CALL_ORIGINATED", [2])]


def test_a_consulted_number_that_answers_late_answers_after_the_customer_on_hold_hung_up():
    """Was: an external number answered in the same moment it was dialled, so a desktop never saw a
    consultation still dialling while something else happened. The smallest such sequence, event by event."""
    found = find(event_sequences(flows=("consult",), max_calls=1), _consult_answered_late, settings=FIND)
    first, consult = [e.call_id for e in found if e.TYPE is M.BEGIN_CALL_EVENT]
    renumber = {first: 1, consult: 2}
    assert [(k, [renumber[i] for i in ids]) for k, ids in _kinds(found)] == HELD_FOR_A_CONSULTATION + [
        ("CALL_CONNECTION_CLEARED", [1]), ("CALL_CONNECTION_CLEARED", [1]), ("CALL_CLEARED", [1]), ("END_CALL", [1]),
        ("CALL_ESTABLISHED", [2]), ("RTP_STARTED", [2]), ("RTP_STARTED", [2]),
        ("CALL_CONNECTION_CLEARED", [2]), ("RTP_STOPPED", [2]), ("RTP_STOPPED", [2]), ("CALL_CLEARED", [2]),
        ("END_CALL", [2]), ("AGENT_STATE", [])]
    dialled = next(e for e in found if e.TYPE is M.CALL_ORIGINATED_EVENT).called_device_id
    caller = next(e for e in found if e.TYPE is M.CALL_DELIVERED_EVENT).calling_device_id
    cleared = [e for e in found if e.TYPE is M.CALL_CONNECTION_CLEARED_EVENT and e.call_id == first]
    assert cleared[0].releasing_device_id == caller  # the customer hung up, then the agent's held connection went
    answered = next(e for e in found if e.TYPE is M.CALL_ESTABLISHED_EVENT and e.call_id == consult)
    assert answered.answering_device_id == dialled


def test_a_consulted_number_that_never_answers_is_abandoned_and_the_agent_goes_back_to_the_customer():
    found = find(event_sequences(flows=("consult",), max_calls=1), _consult_never_answered, settings=FIND)
    first, consult = [e.call_id for e in found if e.TYPE is M.BEGIN_CALL_EVENT]
    renumber = {first: 1, consult: 2}
    assert [(k, [renumber[i] for i in ids]) for k, ids in _kinds(found)] == HELD_FOR_A_CONSULTATION + [
        ("CALL_CONNECTION_CLEARED", [2]), ("CALL_CLEARED", [2]), ("END_CALL", [2]),
        ("CALL_RETRIEVED", [1]), ("RTP_STARTED", [1]), ("RTP_STARTED", [1]),
        ("CALL_CONNECTION_CLEARED", [1]), ("RTP_STOPPED", [1]), ("RTP_STOPPED", [1]), ("CALL_CLEARED", [1]),
        ("END_CALL", [1]), ("AGENT_STATE", [])]


def test_a_placed_call_nobody_answers_ends_while_it_rings():
    found = find(event_sequences(flows=("make_call",), max_calls=1), _placed_call_never_answered, settings=FIND)
    (call,) = [e.call_id for e in found if e.TYPE is M.BEGIN_CALL_EVENT]
    assert _kinds(found) == [("AGENT_STATE", []), ("BEGIN_CALL", [call]), ("CALL_SERVICE_INITIATED", [call]),
                             ("CALL_ORIGINATED", [call]), ("CALL_DATA_UPDATE", [call]),
                             ("CALL_CONNECTION_CLEARED", [call]), ("CALL_CLEARED", [call]), ("END_CALL", [call])]
    assert next(e for e in found if e.TYPE is M.CALL_CONNECTION_CLEARED_EVENT).releasing_device_id == \
        found[0].agent_extension  # the agent gave up


def test_a_bridge_sees_the_late_answer_too():
    found = find(event_sequences(flows=("consult",), max_calls=1, view="bridge"), _consult_answered_late, settings=FIND)
    assert any(e.TYPE is M.CALL_QUEUED_EVENT for e in found)
    assert _consult_answered_late(found)
