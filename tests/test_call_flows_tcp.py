"""End to end over real TCP: agent state and call flows of reference §7.2, seen at once by the
agent-mode clients of the agents involved and by a bridge-mode client.

The sequences asserted here are written from the reference (§7.1 ordering rules, §7.2 flows),
not read back from the implementation: BEGIN_CALL first and END_CALL last per call and client,
one confirmation per request echoing its InvokeID, events to the agent's session and to every
bridge session, and nothing to an agent that is not involved.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from mockcti.client import CTIClient, RequestFailed
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire import encode
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import LocalConnectionState as LCS
from mockcti.wire.enums import CallType, ControlFailureCode, ReasonCode, StatusCode
from mockcti.wire.messages import (
    AnswerCallReq, BadCallReq, ClearConnectionReq, ConferenceCallReq, ConsultCallReq, HoldCallReq, MakeCallReq,
    QueryAgentStateReq, RetrieveCallReq, SetCallDataReq, SnapshotCallReq, TransferCallReq,
)
from mockcti.wire.types import NamedArray, NamedVariable

pytestmark = pytest.mark.asyncio
CALL_EVENTS = {MT.BEGIN_CALL_EVENT, MT.END_CALL_EVENT, MT.CALL_DELIVERED_EVENT, MT.CALL_ESTABLISHED_EVENT,
               MT.CALL_HELD_EVENT, MT.CALL_RETRIEVED_EVENT, MT.CALL_CLEARED_EVENT, MT.CALL_CONNECTION_CLEARED_EVENT,
               MT.CALL_ORIGINATED_EVENT, MT.CALL_CONFERENCED_EVENT, MT.CALL_TRANSFERRED_EVENT,
               MT.CALL_SERVICE_INITIATED_EVENT, MT.CALL_DATA_UPDATE_EVENT, MT.CALL_QUEUED_EVENT,
               MT.CALL_FAILED_EVENT, MT.CALL_DIVERTED_EVENT}


class World:
    def __init__(self, server, agents, bridge):
        self.server, self.agents, self.bridge = server, agents, bridge

    async def settle(self):
        """Let every message in flight arrive (bounded)."""
        for _ in range(20):
            await asyncio.sleep(0.01)

    def inbound(self, *, csq="Sales", agent_id=None, ani="0612345678"):
        def go(hub, now):
            call_id, deliveries = hub.center.deliver_call(now, csq=csq, agent_id=agent_id, ani=ani)
            hub.deliver(deliveries)
            return call_id
        return self.server.call(go)


@pytest_asyncio.fixture
async def world():
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    agents = {}
    for n in ("1001", "1002", "1003"):
        c = await CTIClient.connect(server.host, server.port, version=14)
        ext = str(int(n) + 2000)
        await c.open_agent(agent_id=n, extension=ext, instrument=ext, heartbeat=0, client_id=f"desk{n}")
        agents[n] = c
    bridge = await CTIClient.connect(server.host, server.port, version=14)
    await bridge.open_bridge(client_id="recorder", heartbeat=0)
    w = World(server, agents, bridge)
    yield w
    for c in [*agents.values(), bridge]:
        await c.close()
    await server.stop()
    # nothing the center produced failed to encode or was dropped
    assert not server.journal.entries(kind="fault"), server.journal.entries(kind="fault")


async def login_ready(c: CTIClient):
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await c.set_agent_state(AS.AGENT_STATE_READY)


def agent_states(events, agent_id=None):
    return [e.agent_state for e in events if e.TYPE is MT.AGENT_STATE_EVENT
            and (agent_id is None or e.agent_id == agent_id)]


def call_types(events, call_id=None):
    return [e.TYPE for e in events if e.TYPE in CALL_EVENTS
            and (call_id is None or getattr(e, "call_id", None) == call_id
                 or getattr(e, "primary_call_id", None) == call_id
                 or getattr(e, "secondary_call_id", None) == call_id)]


def check_begin_end_order(events):
    """§7.1: BEGIN_CALL precedes every other event of that call for a client; END_CALL is last."""
    seen_begin, ended = set(), set()
    for e in events:
        if e.TYPE not in CALL_EVENTS:
            continue
        cid = getattr(e, "call_id", None)
        if cid is None:
            continue
        assert cid not in ended, f"{e.TYPE.name} after END_CALL for call {cid}"
        if e.TYPE is MT.BEGIN_CALL_EVENT:
            seen_begin.add(cid)
        elif e.TYPE is MT.END_CALL_EVENT:
            ended.add(cid)
        elif e.TYPE is not MT.CALL_DATA_UPDATE_EVENT:
            assert cid in seen_begin, f"{e.TYPE.name} before BEGIN_CALL for call {cid}"


async def test_login_ready_not_ready_logout(world):
    a = world.agents["1001"]
    await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await a.set_agent_state(AS.AGENT_STATE_READY)
    await a.set_agent_state(AS.AGENT_STATE_NOT_READY, reason=12)
    await a.set_agent_state(AS.AGENT_STATE_LOGOUT, reason=7)
    await world.settle()
    mine = a.drain_events()
    assert agent_states(mine) == [AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY,
                                  AS.AGENT_STATE_LOGOUT]
    ev = [e for e in mine if e.TYPE is MT.AGENT_STATE_EVENT]
    assert ev[0].event_reason_code == ReasonCode.AGT_LOGON and ev[2].event_reason_code == 12
    assert all(e.agent_id == "1001" for e in ev)
    # the bridge sees the same agent-state changes; the other agents see none of them
    assert agent_states(world.bridge.drain_events(), "1001") == agent_states(mine)
    assert agent_states(world.agents["1002"].drain_events(), "1001") == []
    # QUERY_AGENT_STATE
    conf = await a.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"))
    assert conf.TYPE is MT.QUERY_AGENT_STATE_CONF and conf.agent_state == AS.AGENT_STATE_LOGOUT


async def test_bad_password_and_illegal_transition(world):
    a = world.agents["1001"]
    with pytest.raises(RequestFailed) as exc:
        await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="wrong")
    assert exc.value.reply.TYPE in (MT.CONTROL_FAILURE_CONF, MT.FAILURE_CONF)
    with pytest.raises(RequestFailed):
        await a.set_agent_state(AS.AGENT_STATE_READY)  # not logged in


async def test_inbound_call_answer_hold_retrieve_clear(world):
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    await world.settle()
    a.drain_events(), bridge.drain_events()
    call_id = world.inbound(csq="Sales")
    delivered = await a.next_event(MT.CALL_DELIVERED_EVENT)
    assert delivered.call_id == call_id and delivered.local_connection_state == LCS.LCS_ALERTING
    assert delivered.connection_device_id == "3001" and delivered.alerting_device_type == 76
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await a.next_event(MT.CALL_ESTABLISHED_EVENT)
    await a.request(HoldCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    held = await a.next_event(MT.CALL_HELD_EVENT)
    assert held.local_connection_state == LCS.LCS_HOLD
    await a.request(RetrieveCallReq(invoke_id=0, held_call_id=call_id, held_connection_device_id="3001"))
    assert (await a.next_event(MT.CALL_RETRIEVED_EVENT)).local_connection_state == LCS.LCS_CONNECT
    await a.request(ClearConnectionReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await a.next_event(MT.END_CALL_EVENT)
    await world.settle()
    for client in (a, bridge):
        seen = [e for e in client.received if e.TYPE in CALL_EVENTS | {MT.AGENT_STATE_EVENT}]
        check_begin_end_order(seen)
        types = call_types(seen, call_id)
        assert types[0] is MT.BEGIN_CALL_EVENT and types[-1] is MT.END_CALL_EVENT
        for t in (MT.CALL_DELIVERED_EVENT, MT.CALL_ESTABLISHED_EVENT, MT.CALL_HELD_EVENT, MT.CALL_RETRIEVED_EVENT,
                  MT.CALL_CONNECTION_CLEARED_EVENT, MT.CALL_CLEARED_EVENT):
            assert t in types, (client, t)
        assert types.index(MT.CALL_DELIVERED_EVENT) < types.index(MT.CALL_ESTABLISHED_EVENT) \
            < types.index(MT.CALL_HELD_EVENT) < types.index(MT.CALL_RETRIEVED_EVENT) \
            < types.index(MT.CALL_CLEARED_EVENT)
    # agent states: RESERVED -> TALKING (stays TALKING on hold) -> after the call
    states = agent_states(a.received, "1001")
    assert AS.AGENT_STATE_RESERVED in states and AS.AGENT_STATE_TALKING in states
    assert states.index(AS.AGENT_STATE_RESERVED) < states.index(AS.AGENT_STATE_TALKING)
    assert states[-1] in (AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_WORK)
    # an agent not on the call saw nothing of it
    assert call_types(world.agents["1003"].received, call_id) == []
    assert not [v for v in world.server.journal.violations()]


async def test_consult_then_transfer(world):
    a, b, bridge = world.agents["1001"], world.agents["1002"], world.bridge
    await login_ready(a)
    await b.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await b.set_agent_state(AS.AGENT_STATE_NOT_READY)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await a.next_event(MT.CALL_ESTABLISHED_EVENT)
    conf = await a.request(ConsultCallReq(invoke_id=0, active_call_id=call_id, active_connection_device_id="3001",
                                          consult_type=1, dialed_number="3002"))
    consult_id = conf.new_call_id
    assert conf.TYPE is MT.CONSULT_CALL_CONF and consult_id != call_id
    delivered = await b.next_event(MT.CALL_DELIVERED_EVENT)
    assert delivered.call_id == consult_id
    await b.request(AnswerCallReq(invoke_id=0, call_id=consult_id, connection_device_id="3002"))
    await a.next_event(MT.CALL_ESTABLISHED_EVENT, where=lambda e: e.call_id == consult_id)
    tconf = await a.request(TransferCallReq(invoke_id=0, active_call_id=consult_id, held_call_id=call_id,
                                            active_connection_device_id="3001", held_connection_device_id="3001"))
    assert tconf.TYPE is MT.TRANSFER_CALL_CONF
    transferred = await b.next_event(MT.CALL_TRANSFERRED_EVENT)
    assert transferred.transferring_device_id in (None, "3001")
    await a.next_event(MT.END_CALL_EVENT)
    await world.settle()
    for client in (a, b, bridge):
        check_begin_end_order([e for e in client.received if e.TYPE in CALL_EVENTS])
    assert MT.CALL_TRANSFERRED_EVENT in call_types(bridge.received)


async def test_consult_then_conference(world):
    a, b = world.agents["1001"], world.agents["1002"]
    await login_ready(a)
    await b.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    conf = await a.request(ConsultCallReq(invoke_id=0, active_call_id=call_id, active_connection_device_id="3001",
                                          consult_type=2, dialed_number="3002"))
    consult_id = conf.new_call_id
    await b.next_event(MT.CALL_DELIVERED_EVENT)
    await b.request(AnswerCallReq(invoke_id=0, call_id=consult_id, connection_device_id="3002"))
    cc = await a.request(ConferenceCallReq(invoke_id=0, held_call_id=call_id, active_call_id=consult_id,
                                           held_connection_device_id="3001", active_connection_device_id="3001",
                                           agent_instrument="3001"))
    assert cc.TYPE is MT.CONFERENCE_CALL_CONF and len(cc.parties) >= 3 or (cc.num_parties or 0) >= 3
    ev = await b.next_event(MT.CALL_CONFERENCED_EVENT)
    assert ev.controller_device_id in (None, "3001")


async def _1001_talks_1002_logged_in(world, **inbound):
    """1001 READY answers an inbound call (``inbound``: how it is delivered, default straight to 1001); 1002 logged
    in (NOT_READY): the two desktops, the bridge, the call."""
    a, b, bridge = world.agents["1001"], world.agents["1002"], world.bridge
    await login_ready(a)
    await b.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    call_id = world.inbound(**(inbound or {"agent_id": "1001"}))
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    return a, b, bridge, call_id


async def _consulted_with_data(world, consult_type, **inbound):
    """:func:`_1001_talks_1002_logged_in`, then 1001 consults 1002 (ConsultType 1 transfer, 2 conference), which
    answers and sets CallVariable3 "refund agreed" on the consultation: the two desktops, the bridge, the call,
    the consultation."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world, **inbound)
    conf = await a.request(ConsultCallReq(invoke_id=0, active_call_id=call_id, active_connection_device_id="3001",
                                          consult_type=consult_type, dialed_number="3002"))
    consult_id = conf.new_call_id
    await b.next_event(MT.CALL_DELIVERED_EVENT, where=lambda e: e.call_id == consult_id)
    await b.request(AnswerCallReq(invoke_id=0, call_id=consult_id, connection_device_id="3002"))
    await b.request(SetCallDataReq(invoke_id=0, call_id=consult_id, connection_device_id="3002",
                                   call_variable3="refund agreed"))
    await world.settle()
    return a, b, bridge, call_id, consult_id


def _received_so_far(clients):
    """How many messages each client (name -> client) has received: the mark :func:`_about_since` counts from."""
    return {name: len(client.received) for name, client in clients.items()}


def _about_since(clients, before, call_id):
    """The messages about ``call_id`` each client received after ``before`` (:func:`_received_so_far`)."""
    return {name: [e for e in list(client.received)[before[name]:]
                   if getattr(e, "call_id", getattr(e, "primary_call_id", None)) == call_id]
            for name, client in clients.items()}


async def test_a_consultative_conference_sends_one_call_data_update_with_the_data_and_the_call_type(world):
    """Consult + conference (§7.2): "{CONFERENCE_CALL_CONF, CALL_CONFERENCED_EVENT, CALL_CONNECTION_CLEARED/END_CALL
    for the consult call leg, CALL_DATA_UPDATE_EVENT}" — one update, and the UCCX page's "changes to the call
    context data generate a CALL_DATA_UPDATE_EVENT ... that contains only the items that have changed" (§5.4).
    The sessions that knew the call (the conferencing desktop, the recorder) get one event carrying the
    consultation's data and CallType CONFERENCE; the conferenced agent, whose BEGIN_CALL had the data, the
    re-typing alone. They got two: the merged data under the old CallType CCX_IN, then the CallType."""
    a, b, bridge, call_id, consult_id = await _consulted_with_data(world, 2)
    for client in (a, b, bridge):
        client.drain_events()
    await a.request(ConferenceCallReq(invoke_id=0, held_call_id=call_id, active_call_id=consult_id,
                                      held_connection_device_id="3001", active_connection_device_id="3001",
                                      agent_instrument="3001"))
    await b.next_event(MT.CALL_CONFERENCED_EVENT)
    await world.settle()
    updates = {name: [e for e in client.drain_events() if e.TYPE is MT.CALL_DATA_UPDATE_EVENT]
               for name, client in (("1001", a), ("1002", b), ("recorder", bridge))}
    for name in ("1001", "recorder"):
        [upd] = updates[name]
        assert (upd.call_id, upd.call_type, upd.call_variable3) == (
            call_id, CallType.CALLTYPE_CONFERENCE, "refund agreed"), name
    [retyped] = updates["1002"]
    assert (retyped.call_id, retyped.call_type, retyped.call_variable3) == (call_id, CallType.CALLTYPE_CONFERENCE, None)
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert snap.call_variable3 == "refund agreed"


async def test_a_consultative_transfer_sends_one_call_data_update_with_the_data_and_the_call_type(world):
    """Consult + transfer (§7.2): "{TRANSFER_CALL_CONF, CALL_TRANSFERRED_EVENT, CALL_CONNECTION_CLEARED_EVENT /
    END_CALL_EVENT for 2006, CALL_DATA_UPDATE_EVENT ..., AGENT_STATE_EVENT}" — one update, after the
    CALL_TRANSFERRED_EVENT; §5.4, the UCCX page: a change of the call context generates an event "that contains
    only the items that have changed". The transferred ACD call's data changed (the consulted agent set it on the
    consultation) and it is TRANSFER_IN now (§6.17): the recorder, which knew the call, gets one event carrying
    both; the consulted agent, whose BEGIN_CALL had the data, the re-typing alone; the transferring agent, gone
    (END_CALL), nothing. The recorder got two: the merged data under the old CallType CCX_IN, then the CallType."""
    a, b, bridge, call_id, consult_id = await _consulted_with_data(world, 1, csq="Sales")
    clients = {"1001": a, "1002": b, "recorder": bridge}
    before = _received_so_far(clients)
    await a.request(TransferCallReq(invoke_id=0, active_call_id=consult_id, held_call_id=call_id,
                                    active_connection_device_id="3001", held_connection_device_id="3001"))
    await b.next_event(MT.CALL_TRANSFERRED_EVENT)
    await world.settle()
    seen = _about_since(clients, before, call_id)
    updates = {name: [e for e in events if e.TYPE is MT.CALL_DATA_UPDATE_EVENT] for name, events in seen.items()}
    [upd] = updates["recorder"]
    assert (upd.call_id, upd.call_type, upd.call_variable3) == (call_id, CallType.CALLTYPE_TRANSFER_IN, "refund agreed")
    order = [e.TYPE for e in seen["recorder"]]
    assert order.index(MT.CALL_TRANSFERRED_EVENT) < order.index(MT.CALL_DATA_UPDATE_EVENT)
    [begin] = [e for e in seen["1002"] if e.TYPE is MT.BEGIN_CALL_EVENT]
    assert begin.call_variable3 == "refund agreed"
    [retyped] = updates["1002"]
    assert (retyped.call_id, retyped.call_type, retyped.call_variable3) == (call_id, CallType.CALLTYPE_TRANSFER_IN, None)
    assert updates["1001"] == []
    snap = await b.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3002"))
    assert snap.call_variable3 == "refund agreed"


async def test_single_step_conference(world):
    """CONFERENCE_CALL_REQ with HeldCallID 0xFFFFFFFF and DialedNumber (§5.3): the consulted agent's
    desktop sees the call ring, then CALL_CONFERENCED (§5.4: after CALL_DELIVERED, even for a blind
    conference); the recorder sees the same; after the answer all three parties are on one call."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world)
    cc = await a.request(ConferenceCallReq(invoke_id=0, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                                           active_call_id=call_id, active_connection_device_id="3001",
                                           agent_instrument="3001", dialed_number="3002"))
    assert cc.TYPE is MT.CONFERENCE_CALL_CONF and cc.new_call_id == call_id
    assert [p.connected_party_device_id for p in cc.parties] == ["0612345678", "3001", "3002"]
    ev = await b.next_event(MT.CALL_CONFERENCED_EVENT)
    assert (ev.primary_call_id, ev.added_party_device_id, ev.controller_device_id) == (call_id, "3002", "3001")
    seen = [e.TYPE for e in b.received if getattr(e, "call_id", getattr(e, "primary_call_id", None)) == call_id]
    assert seen[:3] == [MT.BEGIN_CALL_EVENT, MT.CALL_DELIVERED_EVENT, MT.CALL_CONFERENCED_EVENT]
    await b.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3002"))
    await bridge.next_event(MT.CALL_ESTABLISHED_EVENT, where=lambda e: e.connection_device_id == "3002")
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert sorted((d.call_device_id, d.call_device_connection_state) for d in snap.call_devices) == [
        ("0612345678", LCS.LCS_CONNECT), ("3001", LCS.LCS_CONNECT), ("3002", LCS.LCS_CONNECT)]


@pytest.mark.parametrize("destination", ["3002", "0699999999"])
async def test_a_single_step_conference_with_call_data_sends_one_call_data_update_after_the_conferenced_event(
        world, destination):
    """A single-step CONFERENCE_CALL_REQ carrying call data (§5.3) makes the call CONFERENCE (§6.17): one change
    of the call's context, one CALL_DATA_UPDATE_EVENT with the items that changed (§5.4, the UCCX page) and the
    new CallType, after CALL_CONFERENCED_EVENT (§7.2 consult + conference: "CALL_CONFERENCED_EVENT, ...,
    CALL_DATA_UPDATE_EVENT"). The conferencing desktop and the recorder got the data under the old CallType
    CCX_IN before the CALL_CONFERENCED_EVENT, then a second update re-typing the call. An added agent, whose
    BEGIN_CALL had the data, gets the re-typing alone."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world)
    await world.settle()
    clients = {"1001": a, "1002": b, "recorder": bridge}
    before = _received_so_far(clients)
    await a.request(ConferenceCallReq(invoke_id=0, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                                      active_call_id=call_id, active_connection_device_id="3001",
                                      agent_instrument="3001", dialed_number=destination,
                                      call_variable5="from 1001"))
    await bridge.next_event(MT.CALL_CONFERENCED_EVENT)
    await world.settle()
    seen = _about_since(clients, before, call_id)
    for name in ("1001", "recorder"):
        types = [e.TYPE for e in seen[name] if e.TYPE in (MT.CALL_CONFERENCED_EVENT, MT.CALL_DATA_UPDATE_EVENT)]
        assert types == [MT.CALL_CONFERENCED_EVENT, MT.CALL_DATA_UPDATE_EVENT], name
        upd = next(e for e in seen[name] if e.TYPE is MT.CALL_DATA_UPDATE_EVENT)
        assert (upd.call_id, upd.call_type, upd.call_variable5) == (
            call_id, CallType.CALLTYPE_CONFERENCE, "from 1001"), name
    if destination == "3002":
        assert [e.TYPE for e in seen["1002"]] == [MT.BEGIN_CALL_EVENT, MT.CALL_DELIVERED_EVENT,
                                                 MT.CALL_CONFERENCED_EVENT, MT.CALL_DATA_UPDATE_EVENT]
        begin, retyped = seen["1002"][0], seen["1002"][-1]
        assert begin.call_variable5 == "from 1001"
        assert (retyped.call_type, retyped.call_variable5) == (CallType.CALLTYPE_CONFERENCE, None)
    else:
        assert seen["1002"] == []
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert snap.call_variable5 == "from 1001"


async def test_make_call_and_call_data(world):
    a = world.agents["1001"]
    await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    conf = await a.request(MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="0611111111"))
    assert conf.TYPE is MT.MAKE_CALL_CONF
    call_id = conf.new_call_id
    await a.next_event(MT.CALL_ESTABLISHED_EVENT, where=lambda e: e.call_id == call_id)
    await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                   call_variable1="hello"))
    upd = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert upd.call_variable1 == "hello"


async def test_requests_the_center_cannot_honour(world):
    a = world.agents["1001"]
    await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    with pytest.raises(RequestFailed) as exc:
        await a.request(HoldCallReq(invoke_id=0, call_id=123456, connection_device_id="3001"))
    reply = exc.value.reply
    assert (reply.TYPE is MT.FAILURE_CONF and reply.status == StatusCode.E_CTI_INVALID_CALLID) or \
        reply.TYPE is MT.CONTROL_FAILURE_CONF
    # the session goes on
    assert (await a.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"))).TYPE is MT.QUERY_AGENT_STATE_CONF


async def test_direct_call_takes_a_ready_agent_out_of_routing(world):
    """§6.19 AGT_NON_ICD: a READY agent whose phone another agent calls (MAKE_CALL, not an ACD call)
    goes NOT_READY, so the CSQ does not offer it a caller while it talks; it stays NOT_READY after."""
    a, b, bridge = world.agents["1001"], world.agents["1002"], world.bridge
    await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await login_ready(b)
    await world.settle()
    b.drain_events(), bridge.drain_events()
    seen_before = len(bridge.received)
    conf = await a.request(MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="3002"))
    call_id = conf.new_call_id
    ev = await b.next_event(MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_NON_ICD)
    await b.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3002"))
    assert (await b.request(QueryAgentStateReq(invoke_id=0, agent_id="1002"))).agent_state == AS.AGENT_STATE_NOT_READY
    queued = world.inbound(csq="Sales")  # 1002 is the only agent of Sales logged in: the caller waits
    await bridge.next_event(MT.CALL_QUEUED_EVENT, where=lambda e: e.call_id == queued)
    await b.request(ClearConnectionReq(invoke_id=0, call_id=call_id, connection_device_id="3002"))
    await b.next_event(MT.END_CALL_EVENT, where=lambda e: e.call_id == call_id)
    await world.settle()
    assert call_types(b.received, queued) == []  # never offered to 1002
    assert agent_states(b.received, "1002")[-1] == AS.AGENT_STATE_NOT_READY
    assert agent_states(list(bridge.received)[seen_before:], "1002") == [AS.AGENT_STATE_NOT_READY]


async def test_every_field_set_call_data_sets_is_kept_and_carried(world):
    """SET_CALL_DATA_REQ's fields (§5.3) reach CALL_DATA_UPDATE_EVENT and the call's later events: the
    ICM customer fields (only CALL_DATA_UPDATE has them) no longer break the next BEGIN_CALL (an internal
    error that reset the requester's connection), CallerEnteredDigits and DialedNumber are not dropped."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world)
    await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                   customer_phone_number="0611111111", customer_account_number="ACC-7",
                                   caller_entered_digits="42", dialed_number="8000", call_variable2="gold"))
    for client in (a, bridge):
        upd = await client.next_event(MT.CALL_DATA_UPDATE_EVENT, where=lambda e: e.call_id == call_id)
        assert (upd.customer_phone_number, upd.customer_account_number, upd.caller_entered_digits,
                upd.dialed_number, upd.call_variable2) == ("0611111111", "ACC-7", "42", "8000", "gold")
    # a second SET_CALL_DATA: its update carries only what changed (§5.4 "only changed items are sent"),
    # a recorder logging changes does not see the earlier items again
    await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001", call_variable3="vip"))
    for client in (a, bridge):
        upd = await client.next_event(MT.CALL_DATA_UPDATE_EVENT, where=lambda e: e.call_id == call_id)
        assert upd.call_variable3 == "vip"
        assert (upd.customer_phone_number, upd.caller_entered_digits, upd.dialed_number, upd.call_variable2,
                upd.ani, upd.dnis, upd.named_variables) == (None, None, None, None, None, None, ())
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert (snap.caller_entered_digits, snap.dialed_number, snap.call_variable2, snap.call_variable3) == (
        "42", "8000", "gold", "vip")
    conf = await a.request(ConsultCallReq(invoke_id=0, active_call_id=call_id, active_connection_device_id="3001",
                                          consult_type=1, dialed_number="3002"))
    begin = await b.next_event(MT.BEGIN_CALL_EVENT, where=lambda e: e.call_id == conf.new_call_id)
    assert (begin.caller_entered_digits, begin.call_variable2) == ("42", "gold")


async def test_an_agent_desktop_sets_the_data_of_its_own_calls_only(world):
    """SET_CALL_DATA_REQ from an agent-mode session for a call its phone is not on, or naming another
    phone, is refused (CF_INVALID_CSTA_CONNECTION_ID, as every call request naming such a connection)
    and changes nothing; the recorder (bridge) may set any call's data."""
    a, c, bridge = world.agents["1001"], world.agents["1003"], world.bridge
    await login_ready(a)
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    for device in ("3003", "3001"):
        with pytest.raises(RequestFailed) as exc:
            await c.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id=device,
                                           call_variable1="hijacked"))
        assert exc.value.reply.failure_code == ControlFailureCode.CF_INVALID_CSTA_CONNECTION_ID
    await bridge.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                        call_variable2="tagged"))
    upd = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert (upd.call_variable1, upd.call_variable2) == (None, "tagged")


async def test_a_desktop_naming_another_partys_connection_is_refused_with_a_true_text(world):
    """An agent desktop acts on its own phone's connection: SET_CALL_DATA_REQ naming the caller's connection (a
    CRM plug-in keying the call by the caller) is refused CF_INVALID_CSTA_CONNECTION_ID, and its Text says what
    is wrong — the connection is the caller's, not the agent's phone — where it read "device 0612345678 has no
    connection on call N", false (the recorder sets the data naming that very connection). A desktop whose
    phone is not on the call hears that of its phone; a device not on the call, that of the device."""
    a, c, bridge = world.agents["1001"], world.agents["1003"], world.bridge
    await login_ready(a)
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    call_id = world.inbound(agent_id="1001", ani="0612345678")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    cases = [
        (a, "0612345678", f"0612345678 is another party's connection on call {call_id}, not agent 1001's phone 3001"),
        (c, "0612345678", f"0612345678 is another party's connection on call {call_id}, "
                          "and agent 1003's phone 3003 has none"),
        (c, "3001", f"3001 is another party's connection on call {call_id}, and agent 1003's phone 3003 has none"),
        (c, "3003", f"agent 1003's phone 3003 has no connection on call {call_id}"),
        (a, "0699999999", f"device 0699999999 has no connection on call {call_id}"),
    ]
    for desk, device, text in cases:
        with pytest.raises(RequestFailed) as exc:
            await desk.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id=device,
                                              call_variable1="misfiled"))
        reply = exc.value.reply
        assert (reply.TYPE, reply.failure_code, reply.text) == (
            MT.CONTROL_FAILURE_CONF, ControlFailureCode.CF_INVALID_CSTA_CONNECTION_ID, text), device
    await bridge.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="0612345678",
                                        call_variable1="filed"))
    upd = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert (upd.call_id, upd.call_variable1) == (call_id, "filed")


async def test_a_recorder_sets_call_data_naming_a_connection_of_the_call(world):
    """SET_CALL_DATA_REQ: "The combination of CallID, ConnectionDeviceType, and ConnectionDeviceID uniquely identify
    the call to be operated on" (reference §5.3, the UCCX page). A bridge naming a device the call has no connection
    at (another agent's phone, a number not on the call) is refused CF_INVALID_CSTA_CONNECTION_ID, as an agent
    desktop is, and nobody hears of a change; it was confirmed and the call's data changed. The connections the
    recorder was told of are taken: the agent's phone (by its extension too), the caller's, the route point's."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001", ani="0612345678")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await world.settle()
    a.drain_events()
    bridge.drain_events()
    for device in ("3002", "0699999999", ""):
        with pytest.raises(RequestFailed) as exc:
            await bridge.request(SetCallDataReq(invoke_id=7, call_id=call_id, connection_device_id=device,
                                                call_variable1="misfiled"))
        assert exc.value.reply.TYPE is MT.CONTROL_FAILURE_CONF and exc.value.reply.invoke_id == 7
        assert exc.value.reply.failure_code == ControlFailureCode.CF_INVALID_CSTA_CONNECTION_ID, device
    await world.settle()
    assert [e for e in a.drain_events() + bridge.drain_events() if e.TYPE is MT.CALL_DATA_UPDATE_EVENT] == []
    snap = await bridge.request(SnapshotCallReq(invoke_id=8, call_id=call_id, connection_device_id="3001"))
    assert snap.call_variable1 is None
    for n, device in enumerate(("3001", "0612345678", "7000"), start=1):
        await bridge.request(SetCallDataReq(invoke_id=9, call_id=call_id, connection_device_id=device,
                                            call_variable1=f"v{n}"))
        upd = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
        assert (upd.call_id, upd.call_variable1) == (call_id, f"v{n}")


async def test_call_data_set_again_to_the_same_values_is_no_change(world):
    """"Changes to the call context data generate a CALL_DATA_UPDATE_EVENT to the client that contains only the
    items that have changed" (§5.4, the UCCX page). A CRM connector saving the call's data again: the items it sets
    to the value they have are left out of the update, and a SET_CALL_DATA_REQ that changes nothing is confirmed
    with no CALL_DATA_UPDATE_EVENT to the desktop or the recorder. Each request's update carried every item it
    set, changed or not, and one that changed nothing sent an update all the same."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    cust, tier = NamedVariable(name="user.cust", value="C-42"), NamedVariable(name="user.tier", value="gold")
    item = NamedArray(index=0, name="user.items", value="router")

    async def save(**data) -> None:
        conf = await bridge.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                                   **data))
        assert conf.TYPE is MT.SET_CALL_DATA_CONF

    await save(call_variable1="C-42", call_wrapup_data="sale", named_variables=(cust,), named_arrays=(item,))
    first = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert (first.call_variable1, first.call_wrapup_data, first.named_variables, first.named_arrays) == (
        "C-42", "sale", (cust,), (item,))
    await save(call_variable1="C-42", call_wrapup_data="sale", named_variables=(cust,), named_arrays=(item,))
    await save(call_variable1="C-42", call_variable2="gold", named_variables=(cust, tier), named_arrays=(item,))
    await world.settle()
    desk_updates, bridge_updates = ([e for e in c.drain_events() if e.TYPE is MT.CALL_DATA_UPDATE_EVENT]
                                    for c in (a, bridge))
    assert bridge_updates[0] == first
    assert desk_updates == bridge_updates[1:]  # one update more, the third save's: the second changed nothing
    [second] = desk_updates
    assert (second.call_id, second.call_variable1, second.call_variable2, second.call_wrapup_data) == (
        call_id, None, "gold", None)
    assert (second.named_variables, second.named_arrays) == ((tier,), ())
    snap = await bridge.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert (snap.call_variable1, snap.call_variable2, snap.named_variables, snap.named_arrays) == (
        "C-42", "gold", (cust, tier), (item,))


async def test_a_bad_call_report_is_confirmed_and_journalled(world):
    """BAD_CALL_REQ (§5.5, bad voice quality for the server's log) gets BAD_CALL_CONF and a journal
    happening naming the call (it got FAILURE_CONF 'mockcti does not simulate'); an unknown CallID is
    FAILURE_CONF E_CTI_INVALID_CALLID, as for every call request; 0xFFFFFFFF names no call."""
    a = world.agents["1001"]
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    conf = await a.request(BadCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001", agent_id="1001"))
    assert conf.TYPE is MT.BAD_CALL_CONF
    assert (await a.request(BadCallReq(invoke_id=0, call_id=0xFFFFFFFF, connection_device_id="3001"))).TYPE \
        is MT.BAD_CALL_CONF
    with pytest.raises(RequestFailed) as exc:
        await a.request(BadCallReq(invoke_id=0, call_id=424242, connection_device_id="3001"))
    assert exc.value.reply.status == StatusCode.E_CTI_INVALID_CALLID
    reports = [e.data for e in world.server.journal.entries(kind="happening") if e.data.get("what") == "bad call reported"]
    assert reports == [{"what": "bad call reported", "call_id": call_id, "device": "3001", "agent": "1001"},
                       {"what": "bad call reported", "call_id": None, "device": "3001", "agent": None}]


async def test_a_call_variable_the_server_sent_can_be_set_back(world):
    """CallVariable1..10 carry 40 characters and the NUL (41 bytes) in every message, the server's
    BEGIN_CALL_EVENT as a client's MAKE_CALL_REQ: SET_CALL_DATA_REQ too (it took 40 bytes, so a desktop
    writing back the 40-character variable it was given was refused E_CTI_INVALID_FIELD_LENGTH);
    41 characters are refused there as everywhere, InvokeID echoed, the session kept."""
    a = world.agents["1001"]
    await login_ready(a)
    full = "V" * 40

    def go(hub, now):
        call_id, deliveries = hub.center.deliver_call(now, agent_id="1001", variables={"call_variable1": full})
        hub.deliver(deliveries)
        return call_id
    call_id = world.server.call(go)
    begin = await a.next_event(MT.BEGIN_CALL_EVENT, where=lambda e: e.call_id == call_id)
    assert begin.call_variable1 == full
    conf = await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                          call_variable1=begin.call_variable1, call_variable2=full))
    assert conf.TYPE is MT.SET_CALL_DATA_CONF
    upd = await a.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert upd.call_variable2 == full
    violations = world.server.journal.entries(kind="violation")
    assert not [e for e in violations if e.data["rule"] == "PROTO-FIELD-LENGTH"]
    # 41 characters (the client library cannot encode them: the frame is cut by hand, v14: 1-byte tag and length)
    raw = encode(SetCallDataReq(invoke_id=31, call_id=call_id, connection_device_id="3001"), a.dialect)
    body = raw[8:] + bytes((15, 42)) + (full + "W").encode() + b"\0"  # CallVariable3
    a.send_bytes(len(body).to_bytes(4, "big") + raw[4:8] + body)
    fail = await a.next_event(MT.FAILURE_CONF)
    assert (fail.invoke_id, fail.status) == (31, StatusCode.E_CTI_INVALID_FIELD_LENGTH)
    assert fail.text == "CallVariable3 (tag 15) has 42 bytes; the maximum is 41"
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert (snap.call_variable1, snap.call_variable2, snap.call_variable3) == (full, full, None)


async def test_a_string_at_its_maximum_without_its_nul_is_refused_and_the_session_goes_on(world):
    """Reference §1: a STRING's maximum counts the NUL, also when a client leaves it out. A
    MAKE_CALL_REQ whose CallVariable1 is 41 bytes of text and no NUL is refused FAILURE_CONF
    E_CTI_INVALID_FIELD_LENGTH, InvokeID echoed, the journal's PROTO-FIELD-LENGTH naming the field; the
    session answers the next request. Before, the call was made and its BEGIN_CALL_EVENT (CallVariable1
    41 bytes + NUL) could not be encoded: a fault, and the desktop never heard the call begin. 40 bytes
    without the NUL are taken."""
    a = world.agents["1001"]
    await a.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")

    def make_call(invoke_id: int, variable: bytes) -> bytes:
        raw = encode(MakeCallReq(invoke_id=invoke_id, agent_instrument="3001", dialed_number="0611111111"), a.dialect)
        body = raw[8:] + bytes((13, len(variable))) + variable  # v14: 1-byte tag and length
        return len(body).to_bytes(4, "big") + raw[4:8] + body

    a.send_bytes(make_call(41, b"y" * 41))
    fail = await a.next_event(MT.FAILURE_CONF)
    assert (fail.invoke_id, fail.status) == (41, StatusCode.E_CTI_INVALID_FIELD_LENGTH)
    assert fail.text.startswith("CallVariable1 (tag 13) has 41 bytes without the terminating NUL")
    [v] = [e for e in world.server.journal.entries(kind="violation") if e.data["rule"] == "PROTO-FIELD-LENGTH"]
    assert "CallVariable1 (tag 13)" in v.data["detail"]
    a.send_bytes(make_call(42, b"z" * 40))
    conf = await a.next_event(MT.MAKE_CALL_CONF)
    assert conf.invoke_id == 42
    begin = await a.next_event(MT.BEGIN_CALL_EVENT, where=lambda e: e.call_id == conf.new_call_id)
    assert begin.call_variable1 == "z" * 40


async def test_a_named_variable_or_array_element_below_its_field_length_is_refused(world):
    """The UCCX NAMEDVARIABLE and NAMEDARRAY pages: a NamedVariable's FieldLength "may range from 3 to 251", a
    NamedArray's "from 4 to 252" — a VariableName or a VariableValue of a byte at least. A SET_CALL_DATA_REQ whose
    NamedVariable is two NULs (an empty name, an empty value), or whose NamedArray is an index and two NULs, is
    refused FAILURE_CONF E_CTI_INVALID_FIELD_LENGTH, InvokeID echoed, journalled PROTO-FIELD-LENGTH, and the call
    keeps its data. They were confirmed, and the call carried a variable with no name in its every later event. A
    variable with a one-byte name and an empty value (3 bytes) is taken."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)

    def set_call_data(invoke_id: int, tag: int, data: bytes) -> bytes:
        counts = {"num_named_variables": 1} if tag == 82 else {"num_named_arrays": 1}
        raw = encode(SetCallDataReq(invoke_id=invoke_id, call_id=call_id, connection_device_id="3001", **counts),
                     a.dialect)
        body = raw[8:] + bytes((tag, len(data))) + data  # v14: 1-byte tag and length
        return len(body).to_bytes(4, "big") + raw[4:8] + body

    for invoke_id, tag, data in ((51, 82, b"\0\0"), (52, 82, b"\0"), (53, 83, b"\x01\0\0")):
        a.send_bytes(set_call_data(invoke_id, tag, data))
        fail = await a.next_event(MT.FAILURE_CONF)
        assert (fail.invoke_id, fail.status) == (invoke_id, StatusCode.E_CTI_INVALID_FIELD_LENGTH), data
        assert f"(tag {tag}) has {len(data)} bytes; its FieldLength is at least {3 if tag == 82 else 4}" in fail.text
    rules = [e.data["rule"] for e in world.server.journal.entries(kind="violation")]
    assert rules.count("PROTO-FIELD-LENGTH") == 3
    snap = await bridge.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert (snap.named_variables, snap.named_arrays) == ((), ())
    a.send_bytes(set_call_data(54, 82, b"x\0\0"))
    assert (await a.next_event(MT.SET_CALL_DATA_CONF)).invoke_id == 54
    upd = await bridge.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert [(v.name, v.value) for v in upd.named_variables] == [("x", "")]


async def test_a_set_call_data_whose_named_variable_count_is_wrong_is_refused_and_sets_nothing(world):
    """§2.2 and the SET_CALL_DATA_REQ table: NumNamedVariables is the number of tag-82 fields. A request saying 3
    and carrying one NamedVariable, or saying 0 and carrying two, got SET_CALL_DATA_CONF and its variables were
    set (a CALL_DATA_UPDATE_EVENT to the bridge). It is refused FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE (uccx;
    U), InvokeID echoed, journalled PROTO-MALFORMED naming the count, and the call keeps its data."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    for invoke_id, said, names in ((61, 3, ("user.a",)), (62, 0, ("user.b", "user.c"))):
        a.send_bytes(encode(SetCallDataReq(
            invoke_id=invoke_id, call_id=call_id, connection_device_id="3001", num_named_variables=said,
            named_variables=tuple(NamedVariable(name=n, value="v") for n in names)), a.dialect))
        fail = await a.next_event(MT.FAILURE_CONF)
        assert (fail.invoke_id, fail.status) == (invoke_id, StatusCode.E_CTI_UNSPECIFIED_FAILURE)
        assert fail.text == f"NumNamedVariables is {said} but the message carries {len(names)} NamedVariable field(s) (tag 82)"
    details = [e.data["detail"] for e in world.server.journal.entries(kind="violation")
               if e.data["rule"] == "PROTO-MALFORMED"]
    assert details == ["SET_CALL_DATA_REQ: NumNamedVariables is 3 but the message carries 1 NamedVariable field(s) (tag 82)",
                       "SET_CALL_DATA_REQ: NumNamedVariables is 0 but the message carries 2 NamedVariable field(s) (tag 82)"]
    snap = await bridge.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert snap.named_variables == ()
    await world.settle()
    assert MT.CALL_DATA_UPDATE_EVENT not in call_types(bridge.received, call_id)


async def test_a_set_call_data_call_type_reaches_the_bridge_and_a_reserved_one_is_refused(world):
    """SET_CALL_DATA_REQ's CallType (§5.3, §6.17) was never read: confirmed, and nobody heard of it. Over TCP: the
    desktop's CallType 17 (PREVIEW) reaches the bridge in CALL_DATA_UPDATE_EVENT; a CallType UCCX lists as
    reserved (2) is refused FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE, InvokeID echoed; SNAPSHOT_CALL_CONF's CallType
    stays 0 under uccx (its page: "set to 0")."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001",
                                   call_type=CallType.CALLTYPE_PREVIEW))
    upd = await bridge.next_event(MT.CALL_DATA_UPDATE_EVENT)
    assert (upd.call_id, upd.call_type) == (call_id, CallType.CALLTYPE_PREVIEW)
    with pytest.raises(RequestFailed) as exc:
        await a.request(SetCallDataReq(invoke_id=0, call_id=call_id, connection_device_id="3001", call_type=2))
    reply = exc.value.reply
    assert (reply.TYPE, reply.status, reply.invoke_id) == (
        MT.FAILURE_CONF, StatusCode.E_CTI_UNSPECIFIED_FAILURE, exc.value.request.invoke_id)
    snap = await bridge.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert snap.call_type == 0


async def test_an_answer_naming_neither_connection_nor_phone_is_refused(world):
    """ANSWER_CALL_REQ carries "either ConnectionDeviceID or AgentInstrument" (§5.3, "one of 2"): one with
    neither lacks a required field, FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (§7.1), InvokeID echoed, from an
    agent's desktop too (the mock answered the call at the session's phone), journalled PROTO-REQUIRED-FIELD;
    the call rings on. AgentInstrument alone answers it."""
    a, bridge = world.agents["1001"], world.bridge
    await login_ready(a)
    call_id = world.inbound(agent_id="1001")
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    for client in (a, bridge):
        with pytest.raises(RequestFailed) as exc:
            await client.request(AnswerCallReq(invoke_id=0, call_id=call_id))
        reply = exc.value.reply
        assert (reply.TYPE, reply.status, reply.invoke_id) == (
            MT.FAILURE_CONF, StatusCode.E_CTI_REQUIRED_DATA_MISSING, exc.value.request.invoke_id)
        assert reply.text == "ANSWER_CALL_REQ needs ConnectionDeviceID (tag 25) or AgentInstrument (tag 6); it had neither"
    await world.settle()
    assert MT.CALL_ESTABLISHED_EVENT not in call_types(a.received, call_id)
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert [(d.call_device_id, d.call_device_connection_state) for d in snap.call_devices
            if d.call_device_id == "3001"] == [("3001", LCS.LCS_ALERTING)]
    found = [e.data for e in world.server.journal.violations() if e.data["rule"] == "PROTO-REQUIRED-FIELD"]
    assert len(found) == 2 and all(v["request"] == "ANSWER_CALL_REQ" for v in found)
    assert found[0]["answer"] == "FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (6)"
    assert (await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, agent_instrument="3001"))).TYPE \
        is MT.ANSWER_CALL_CONF
    established = await a.next_event(MT.CALL_ESTABLISHED_EVENT)
    assert (established.call_id, established.connection_device_id) == (call_id, "3001")


async def test_a_single_step_transfer_or_conference_without_its_number_is_refused(world):
    """HeldCallID 0xFFFFFFFF makes TRANSFER_CALL_REQ / CONFERENCE_CALL_REQ single-step, and then §5.3 asks for
    DialedNumber, the number to connect: without it a required field is missing, FAILURE_CONF
    E_CTI_REQUIRED_DATA_MISSING (§7.1) with InvokeID echoed, journalled PROTO-REQUIRED-FIELD — not
    E_CTI_INVALID_CALLID, as if 0xFFFFFFFF named an unknown call; the call goes on untouched."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world)
    await world.settle()
    seen = {c: len(c.received) for c in (a, b, bridge)}
    requests = [
        TransferCallReq(invoke_id=0, active_call_id=call_id, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                        active_connection_device_id="3001"),
        ConferenceCallReq(invoke_id=0, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                          active_call_id=call_id, active_connection_device_id="3001", agent_instrument="3001"),
    ]
    for req in requests:
        with pytest.raises(RequestFailed) as exc:
            await a.request(req)
        reply = exc.value.reply
        assert (reply.TYPE, reply.status, reply.invoke_id) == (
            MT.FAILURE_CONF, StatusCode.E_CTI_REQUIRED_DATA_MISSING, exc.value.request.invoke_id)
        assert reply.text == (f"{req.TYPE.name} with HeldCallID 0xFFFFFFFF (single-step) needs DialedNumber "
                              "(tag 11), the number to connect; it had none")
    await world.settle()
    # nothing happened to the call: no event to anyone, both parties still connected
    assert [list(c.received)[seen[c]:] for c in (b, bridge)] == [[], []]
    assert [m.TYPE for m in list(a.received)[seen[a]:]] == [MT.FAILURE_CONF, MT.FAILURE_CONF]
    snap = await a.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    assert sorted((d.call_device_id, d.call_device_connection_state) for d in snap.call_devices) == [
        ("0612345678", LCS.LCS_CONNECT), ("3001", LCS.LCS_CONNECT)]
    found = [e.data for e in world.server.journal.violations() if e.data["rule"] == "PROTO-REQUIRED-FIELD"]
    assert [v["request"] for v in found] == ["TRANSFER_CALL_REQ", "CONFERENCE_CALL_REQ"]
    assert {v["answer"] for v in found} == {"FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (6)"}


@pytest.mark.parametrize("destination", ["3002", "0699999999"])
async def test_an_acd_call_transferred_single_step_is_transfer_in_wherever_it_goes(world, destination):
    """§6.17 (C): "All ACD calls … that are transferred or conferenced" are TRANSFER_IN / CONFERENCE. A single-step
    TRANSFER of an ACD call re-types it for the sessions that still know it — the recorder (bridge) gets
    CALL_DATA_UPDATE_EVENT with CallType TRANSFER_IN, as after a consultative transfer — whether the destination
    is an agent's phone or a number outside the center (it stayed CCX_IN then: the recorder filed a transferred
    call as a plain inbound one)."""
    a, b, bridge = world.agents["1001"], world.agents["1002"], world.bridge
    await login_ready(a)
    await b.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    call_id = world.inbound(csq="Sales")
    begin = await bridge.next_event(MT.BEGIN_CALL_EVENT, where=lambda e: e.call_id == call_id)
    assert begin.call_type == CallType.CALLTYPE_CCX_IN
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await a.request(TransferCallReq(invoke_id=0, active_call_id=call_id, held_call_id=0xFFFFFFFF,
                                    held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                    dialed_number=destination))
    update = await bridge.next_event(MT.CALL_DATA_UPDATE_EVENT, where=lambda e: e.call_id == call_id)
    assert (update.call_type, update.new_call_id) == (CallType.CALLTYPE_TRANSFER_IN, call_id)
    await world.settle()
    assert [e.call_type for e in bridge.received
            if e.TYPE is MT.CALL_DATA_UPDATE_EVENT and e.call_id == call_id] == [CallType.CALLTYPE_TRANSFER_IN]


@pytest.mark.parametrize("destination", ["3002", "0699999999"])
async def test_a_single_step_transfer_with_call_data_sends_one_call_data_update_with_the_data_and_the_call_type(
        world, destination):
    """A single-step TRANSFER_CALL_REQ carrying call data (§5.3: its call variables are the resulting call's) of
    an ACD call, which becomes TRANSFER_IN (§6.17): one change of the call's context, so one CALL_DATA_UPDATE_EVENT
    with the items that changed (§5.4, the UCCX page) and the new CallType, after CALL_TRANSFERRED_EVENT (§7.2
    transfer: the CALL_TRANSFERRED_EVENT, the transferring agent's connection cleared, then the update). The
    recorder got two: the data under the old CallType CCX_IN, then the re-typing. The transferring desktop,
    its END_CALL sent, gets none; a destination agent's BEGIN_CALL has the data and the CallType already."""
    a, b, bridge, call_id = await _1001_talks_1002_logged_in(world, csq="Sales")
    await world.settle()
    clients = {"1001": a, "1002": b, "recorder": bridge}
    before = _received_so_far(clients)
    await a.request(TransferCallReq(invoke_id=0, active_call_id=call_id, held_call_id=0xFFFFFFFF,
                                    held_connection_device_type=0xFFFF, active_connection_device_id="3001",
                                    dialed_number=destination, call_variable5="from 1001"))
    await bridge.next_event(MT.CALL_TRANSFERRED_EVENT)
    await world.settle()
    seen = _about_since(clients, before, call_id)
    updates = {name: [e for e in events if e.TYPE is MT.CALL_DATA_UPDATE_EVENT] for name, events in seen.items()}
    [upd] = updates["recorder"]
    assert (upd.call_id, upd.call_type, upd.call_variable5) == (call_id, CallType.CALLTYPE_TRANSFER_IN, "from 1001")
    order = [e.TYPE for e in seen["recorder"]]
    assert order.index(MT.CALL_TRANSFERRED_EVENT) < order.index(MT.CALL_DATA_UPDATE_EVENT)
    assert updates["1001"] == [] and [e.TYPE for e in seen["1001"]][-1] is MT.END_CALL_EVENT
    if destination == "3002":
        [begin] = [e for e in seen["1002"] if e.TYPE is MT.BEGIN_CALL_EVENT]
        assert (begin.call_type, begin.call_variable5) == (CallType.CALLTYPE_TRANSFER_IN, "from 1001")
        assert updates["1002"] == []
    else:
        assert seen["1002"] == []


@pytest.mark.parametrize("ready", [True, False])
async def test_an_inbound_acd_call_reaches_the_bridge_at_its_route_point_before_the_queue(world, ready):
    """Reference §7.2, inbound ACD call (caller 2005 -> trigger 7000 -> agent 2006): bridge clients get
    "CALL_ORIGINATED_EVENT ... CALL_DELIVERED_EVENT at route point 7000 (LCS != ALERTING) ... CALL_QUEUED_EVENT"
    before the agent is RESERVED; §5.4: LCS tells arrival at a route point from alerting at an agent phone. A
    recorder saw BEGIN_CALL then CALL_QUEUED only. Whether an agent is ready or the call waits, the same stage;
    the agent's desktop gets neither event (it learns of the call when its phone rings)."""
    a, bridge = world.agents["1001"], world.bridge
    if ready:
        await login_ready(a)
    await world.settle()
    a.drain_events(), bridge.drain_events()
    before = len(bridge.received)
    call_id = world.inbound(csq="Sales", ani="0612345678")
    if ready:
        await a.next_event(MT.CALL_DELIVERED_EVENT)
    else:
        await bridge.next_event(MT.CALL_QUEUED_EVENT)
    await world.settle()
    seen = [e for e in list(bridge.received)[before:]
            if getattr(e, "call_id", None) == call_id or e.TYPE is MT.AGENT_STATE_EVENT]
    types = [e.TYPE for e in seen]
    assert types[:4] == [MT.BEGIN_CALL_EVENT, MT.CALL_ORIGINATED_EVENT, MT.CALL_DELIVERED_EVENT, MT.CALL_QUEUED_EVENT]
    assert types[4:] == ([MT.AGENT_STATE_EVENT, MT.CALL_DELIVERED_EVENT] if ready else [])
    orig, at_rp = seen[1], seen[2]
    assert (orig.connection_device_id, orig.calling_device_id, orig.called_device_id) == ("0612345678",) * 2 + ("7000",)
    assert (orig.calling_device_type, orig.called_device_type, orig.local_connection_state, orig.event_cause) == (
        0, 74, LCS.LCS_INITIATE, 0xFFFF)  # DEVID_ROUTE_POINT, CEC_NONE
    assert (at_rp.connection_device_id, at_rp.alerting_device_id, at_rp.calling_device_id, at_rp.called_device_id,
            at_rp.ani, at_rp.dnis) == ("7000", "7000", "0612345678", "7000", "0612345678", "7000")
    assert (at_rp.alerting_device_type, at_rp.called_device_type, at_rp.application_id, at_rp.csq_id) == (
        74, 74, 1, 0xFFFFFFFF)  # no CSQ selected yet at the trigger (U: route_point_csq)
    assert at_rp.local_connection_state == LCS.LCS_QUEUED != LCS.LCS_ALERTING  # (U: route_point_lcs)
    # on the wire: CALL_DELIVERED_EVENT, fixed part LocalConnectionState (offset 46) and EventCause (48)
    raw = encode(at_rp, bridge.dialect)
    assert raw[4:8] == bytes((0, 0, 0, 9)) and raw[8 + 46:8 + 50] == bytes((0, 5, 0xFF, 0xFF))
    if ready:
        assert seen[-1].alerting_device_id == "3001" and seen[-1].local_connection_state == LCS.LCS_ALERTING
    # the desktop: no route-point stage
    mine = [e for e in a.received if getattr(e, "call_id", None) == call_id]
    assert MT.CALL_ORIGINATED_EVENT not in [e.TYPE for e in mine]
    assert [e.alerting_device_id for e in mine if e.TYPE is MT.CALL_DELIVERED_EVENT] == (["3001"] if ready else [])
