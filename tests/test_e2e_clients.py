"""End to end over real TCP, as the CTI clients that use mockcti see it: an agent desktop, a call
recorder and a wallboard (bridge mode), each a ``CTIClient`` on its own connection. Each test is a
behaviour a real client relies on, checked field by field against reference §5 (the event tables)
and §7 (the flows): what the client receives, not how the center stores it.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from mockcti.client import CTIClient
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import DeviceType, ServiceMask, SystemEventID
from mockcti.wire.messages import (
    AnswerCallReq, ClearCallReq, ClearConnectionReq, ConferenceCallReq, ConfigRequestEvent, ConfigRequestKeyEvent,
    ConsultCallReq, HoldCallReq, QueryAgentStateReq, RetrieveCallReq, SnapshotCallReq,
)

pytestmark = pytest.mark.asyncio
AGENT_DEVICE = int(DeviceType.DEVID_AGENT_DEVICE)
EXTERNAL = int(DeviceType.DEVID_DEVICE_IDENTIFIER)


@pytest_asyncio.fixture
async def server():
    srv = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    yield srv
    await srv.stop()


async def settle():
    """Let every message in flight arrive (bounded)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def desktop(srv, agent_id, *, version=14, **kw):
    ext = str(int(agent_id) + 2000)
    c = await CTIClient.connect(srv.host, srv.port, version=version)
    await c.open_agent(agent_id=agent_id, extension=ext, instrument=ext, heartbeat=0,
                       client_id=kw.pop("client_id", f"desk{agent_id}"), **kw)
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await c.set_agent_state(AS.AGENT_STATE_READY)
    return c


async def bridge(srv, *, version=14, client_id="recorder", **kw):
    c = await CTIClient.connect(srv.host, srv.port, version=version)
    await c.open_bridge(client_id=client_id, heartbeat=0, **kw)
    return c


def inbound(srv, *, csq="Sales", ani="0612345678"):
    def go(hub, now):
        call_id, deliveries = hub.center.deliver_call(now, csq=csq, ani=ani)
        hub.deliver(deliveries)
        return call_id
    return srv.call(go)


def hang_up(srv, call_id, device=None):
    def go(hub, now):
        hub.deliver(hub.center.hang_up(now, call_id, device))
    srv.call(go)


async def answered_call(srv, desk, ext):
    call_id = inbound(srv)
    await desk.next_event(MT.CALL_DELIVERED_EVENT, where=lambda e: e.call_id == call_id)
    await desk.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id=ext))
    return call_id


# -- CALL_CONNECTION_CLEARED: ReleasingDeviceType describes ReleasingDeviceID (§5.4) ----------------------


async def test_releasing_device_type_is_the_type_of_the_releasing_device(server):
    """A recorder tells "the caller hung up" from "the agent hung up" by ReleasingDeviceID and its
    ReleasingDeviceType. When the caller hangs up, the agent's connection is cleared too, and that
    CALL_CONNECTION_CLEARED names the caller as the releasing device: its type is the caller's
    (DEVID_DEVICE_IDENTIFIER), not the agent phone's. Likewise CLEAR_CALL by the agent: the caller's
    connection is released by the agent's phone (DEVID_AGENT_DEVICE)."""
    desk = await desktop(server, "1001")
    rec = await bridge(server)
    for how in ("caller hangs up", "agent clears the call"):
        call_id = await answered_call(server, desk, "3001")
        await settle()
        start = {desk: len(desk.received), rec: len(rec.received)}
        if how == "caller hangs up":
            hang_up(server, call_id)
            releasing, releasing_type = "0612345678", EXTERNAL
        else:
            await desk.request(ClearCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
            releasing, releasing_type = "3001", AGENT_DEVICE
        await desk.next_event(MT.END_CALL_EVENT, where=lambda e: e.call_id == call_id)
        await settle()
        for client in (desk, rec):
            cleared = [e for e in list(client.received)[start[client]:]
                       if e.TYPE is MT.CALL_CONNECTION_CLEARED_EVENT and e.call_id == call_id]
            assert {e.connection_device_id for e in cleared} == {"0612345678", "3001"}, (how, cleared)
            for e in cleared:
                assert (e.releasing_device_id, e.releasing_device_type) == (releasing, releasing_type), (how, e)
        await desk.set_agent_state(AS.AGENT_STATE_READY)
    await desk.close()
    await rec.close()


# -- media events: a recorder follows an agent phone's RTP streams (§5.4 RTP_STARTED/STOPPED, §7.2) --------

RTP = (MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT)


@pytest.mark.parametrize("version", [14, 18])
async def test_a_recorder_follows_the_media_of_an_agent_phone(server, version):
    """A bridge-mode recorder (every call event in its mask, the client's default) is told when the
    agent phone's media starts (answer, retrieve) and stops (hold, the caller hanging up): each time a
    pair of events, input then output, naming the call, the phone, its agent and the RTP endpoints —
    the phone (ClientAddress, clientPort) and its far end (SendingAddress, SendingPort, the voice
    gateway for a caller) — the same for the start and the stop of one stream."""
    desk = await desktop(server, "1001")
    rec = await bridge(server, version=version)
    call_id = await answered_call(server, desk, "3001")
    await desk.request(HoldCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await desk.request(RetrieveCallReq(invoke_id=0, held_call_id=call_id, held_connection_device_id="3001"))
    hang_up(server, call_id)
    await rec.next_event(MT.END_CALL_EVENT, where=lambda e: e.call_id == call_id)
    seen = [e for e in list(rec.received) if e.TYPE in RTP]
    assert [(e.TYPE, e.direction) for e in seen] == [
        (MT.RTP_STARTED_EVENT, 0), (MT.RTP_STARTED_EVENT, 1), (MT.RTP_STOPPED_EVENT, 0), (MT.RTP_STOPPED_EVENT, 1),
        (MT.RTP_STARTED_EVENT, 0), (MT.RTP_STARTED_EVENT, 1), (MT.RTP_STOPPED_EVENT, 0), (MT.RTP_STOPPED_EVENT, 1)]
    stream = {(e.call_id, e.connection_device_id, e.client_address, e.client_port, e.sending_address, e.sending_port,
               e.agent_id, e.agent_extension, e.agent_instrument) for e in seen}
    [(cid, device, client, client_port, sending, sending_port, agent, ext, instrument)] = stream
    assert (cid, device, client, sending, agent, ext, instrument) == (
        call_id, "3001", "10.0.0.1", "172.16.0.1", "1001", "3001", "3001")
    assert 16384 <= min(client_port, sending_port) and max(client_port, sending_port) <= 32766
    first = seen[0]
    assert (first.rtp_type, first.payload_type, first.packet_size) == (0, 3, 20)  # audio, G.711 u-law, 20 ms
    # the desktop, on the same connection kinds, gets its own phone's events as well
    assert [e.TYPE for e in list(desk.received) if e.TYPE in RTP] == [e.TYPE for e in seen]
    await desk.close()
    await rec.close()


# -- OPEN_REQ ConfigMsgMask chooses the configuration events a bridge gets (§3.3, §6.8) -------------------

CONFIG_RECORDS = {MT.CONFIG_APPLICATION_EVENT, MT.CONFIG_CSQ_EVENT, MT.CONFIG_AGENT_EVENT, MT.CONFIG_DEVICE_EVENT}


@pytest.mark.parametrize("version", [14, 18])
@pytest.mark.parametrize(("config_msg_mask", "records"), [
    (0x0F, CONFIG_RECORDS),                              # all
    (0x02, {MT.CONFIG_CSQ_EVENT}),                       # CONFIG_CSQ_MASK
    (0x04, {MT.CONFIG_APPLICATION_EVENT}),               # CONFIG_APPLICATION_MASK
    (0x01 | 0x08, {MT.CONFIG_AGENT_EVENT, MT.CONFIG_DEVICE_EVENT}),  # CONFIG_AGENT_MASK | CONFIG_DEVICE_MASK
    (0, set()),                                          # nothing asked for
])
async def test_config_msg_mask_chooses_the_configuration_records(server, version, config_msg_mask, records):
    """A wallboard that asked (OPEN_REQ ConfigMsgMask, which a v18 OPEN_CONF grants back in
    ConfigMsgMaskGranted) for the CSQ configuration only gets CONFIG_CSQ_EVENTs for a full
    CONFIG_REQUEST_EVENT, not the agent and device records it masked off; CONFIG_BEGIN_EVENT's
    ConfigurationMask (the other bit order) says what the block holds."""
    wb = await bridge(server, version=version, client_id="wallboard", config_msg_mask=config_msg_mask,
                      services=int(ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CONFIG_EVENTS))
    if version >= 18:
        assert wb.open_conf.config_msg_mask_granted == config_msg_mask
    wb.send(ConfigRequestEvent(configuration_mask=0x0F, customer_id=0))
    await wb.next_event(MT.CONFIG_END_EVENT)
    got = [m for m in wb.received if m.TYPE is not MT.OPEN_CONF]
    assert {m.TYPE for m in got if m.TYPE in CONFIG_RECORDS} == records
    [begin] = [m for m in got if m.TYPE is MT.CONFIG_BEGIN_EVENT]
    kinds = {0x01: MT.CONFIG_APPLICATION_EVENT, 0x02: MT.CONFIG_CSQ_EVENT, 0x04: MT.CONFIG_AGENT_EVENT,
             0x08: MT.CONFIG_DEVICE_EVENT}
    assert {t for bit, t in kinds.items() if begin.configuration_mask & bit} == records
    await wb.close()


@pytest.mark.parametrize("version", range(10, 19))
async def test_the_terminal_bit_is_a_version_18_configuration_mask(server, version):
    """Reference §6.8: CONFIG_TERMINAL_MASK (0x10, in OPEN_REQ ConfigMsgMask and CONFIG_REQUEST_EVENT
    ConfigurationMask alike) came with protocol version 18. A v10-v17 wallboard asking for 0x1F has
    the bit ignored (§3.3: unknown bits are ignored): its CONFIG_BEGIN_EVENT says 0x0F, not a kind of
    configuration its version does not have (it said 0x1F at every version); v18 keeps it, and its
    OPEN_CONF grants it back."""
    wb = await bridge(server, version=version, client_id="wallboard", config_msg_mask=0x1F,
                      services=int(ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CONFIG_EVENTS))
    assert wb.open_conf.config_msg_mask_granted == (0x1F if version >= 18 else None)
    wb.send(ConfigRequestEvent(configuration_mask=0x1F, customer_id=0))
    begin = await wb.next_event(MT.CONFIG_BEGIN_EVENT)
    assert begin.configuration_mask == (0x1F if version >= 18 else 0x0F)
    await wb.next_event(MT.CONFIG_END_EVENT)
    await wb.close()


async def test_configuration_requests_are_refused_while_unified_ccx_is_offline(server):
    """Reference §3.6: configuration requests are only accepted while the server is online. A wallboard
    that asks for its configuration after SYS_CCX_OFFLINE gets no configuration (it used to get the
    whole block) but FAILURE_CONF 17 saying why (InvokeID 0: these requests carry none; left without an
    answer it would wait for ever); once SYS_CCX_ONLINE came, the same request is answered."""
    wb = await bridge(server, client_id="wallboard", config_msg_mask=0x0F,
                      services=int(ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CONFIG_EVENTS))

    def system(event):
        server.call(lambda hub, now: hub.deliver(hub.center.system_event(now, event)))

    system(SystemEventID.SYS_CCX_OFFLINE)
    await wb.next_event(MT.SYSTEM_EVENT)
    wb.send(ConfigRequestKeyEvent(customer_id=0))
    wb.send(ConfigRequestEvent(configuration_mask=0x0F, customer_id=0))
    await wb.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"))  # answered after the two requests
    assert not [m for m in wb.received if m.TYPE in CONFIG_RECORDS | {MT.CONFIG_KEY_EVENT, MT.CONFIG_BEGIN_EVENT}]
    refusals = [m for m in wb.received if m.TYPE is MT.FAILURE_CONF]
    assert [(m.invoke_id, m.status, m.text) for m in refusals] == [
        (0, 17, f"Unified CCX is offline: {n} is accepted only online")
        for n in ("CONFIG_REQUEST_KEY_EVENT", "CONFIG_REQUEST_EVENT")]
    system(SystemEventID.SYS_CCX_ONLINE)
    wb.send(ConfigRequestKeyEvent(customer_id=0))
    assert (await wb.next_event(MT.CONFIG_KEY_EVENT)).status == 0
    await wb.close()


# -- an agent leaving a conference leaves the other parties talking (§7.2 Clear, README) ------------------


async def test_agent_leaving_a_conference_with_an_outside_party_leaves_the_call_up(server):
    """The agent conferences an outside number (0699000000) into the customer's call, then drops out
    (CLEAR_CONNECTION_REQ). Two parties are left, still talking: the call is not over. The desktop
    gets END_CALL for its connection; the recorder sees the agent's connection cleared, no
    CALL_CLEARED, and a SNAPSHOT_CALL with the two parties; when the outside party hangs up, the
    call ends (CALL_CLEARED, END_CALL) — as after a single-step transfer to an outside number."""
    desk = await desktop(server, "1001")
    rec = await bridge(server)
    call_id = await answered_call(server, desk, "3001")
    consult = await desk.request(ConsultCallReq(invoke_id=0, active_call_id=call_id, consult_type=2,
                                                active_connection_device_id="3001", dialed_number="0699000000"))
    await desk.next_event(MT.CALL_ESTABLISHED_EVENT, where=lambda e: e.call_id == consult.new_call_id)
    await desk.request(ConferenceCallReq(invoke_id=0, held_call_id=call_id, held_connection_device_id="3001",
                                         active_call_id=consult.new_call_id, active_connection_device_id="3001",
                                         agent_instrument="3001"))
    await settle()
    start = len(rec.received)
    await desk.request(ClearConnectionReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
    await desk.next_event(MT.END_CALL_EVENT, where=lambda e: e.call_id == call_id)
    await settle()
    seen = [e for e in list(rec.received)[start:] if getattr(e, "call_id", None) == call_id]
    # (and the agent phone's media stopping: RTP_STOPPED_EVENT input and output, reference §5.4)
    assert [e.TYPE for e in seen] == [MT.CALL_CONNECTION_CLEARED_EVENT, MT.RTP_STOPPED_EVENT, MT.RTP_STOPPED_EVENT], seen
    assert seen[0].connection_device_id == "3001"
    snap = await rec.request(SnapshotCallReq(invoke_id=0, call_id=call_id, connection_device_id="0612345678"))
    assert sorted(d.call_device_id for d in snap.call_devices) == ["0612345678", "0699000000"]
    assert (await desk.next_event(MT.AGENT_STATE_EVENT)).agent_state == AS.AGENT_STATE_READY
    hang_up(server, call_id, "0699000000")
    await settle()
    seen = [e.TYPE for e in list(rec.received)[start:] if getattr(e, "call_id", None) == call_id]
    assert seen[-2:] == [MT.CALL_CLEARED_EVENT, MT.END_CALL_EVENT], seen
    await desk.close()
    await rec.close()


async def test_a_client_that_dials_when_make_call_setup_allows_it_can_dial_in_not_ready(server):
    """QUERY_DEVICE_INFO_CONF MakeCallSetup: "agent-state mask bits in which MAKE_CALL_REQ is allowed"
    (reference §5.3, bits of §6.7). It was 0 (nowhere), so a client that dials only when the mask
    allows its state never dialled, while the center accepts MAKE_CALL_REQ in NOT_READY, WORK and
    WORK_READY. Now the mask is that rule: in each state, the mask allows a call exactly when the
    center places it (WORK_READY reads AGENT_WORK_MASK, as for AGENT_STATE_EVENTs)."""
    from mockcti.wire.enums import AgentStateMask as ASM
    from mockcti.wire.messages import MakeCallReq, QueryDeviceInfoReq

    bit_of = {AS.AGENT_STATE_NOT_READY: ASM.AGENT_NOT_READY_MASK, AS.AGENT_STATE_READY: ASM.AGENT_AVAILABLE_MASK,
              AS.AGENT_STATE_WORK: ASM.AGENT_WORK_MASK, AS.AGENT_STATE_WORK_READY: ASM.AGENT_WORK_MASK}
    c = await CTIClient.connect(server.host, server.port, version=14)
    await c.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, client_id="dialer")
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")  # -> NOT_READY
    info = await c.request(QueryDeviceInfoReq(invoke_id=0, agent_instrument="3001"))
    setup = info.make_call_setup
    assert setup & ASM.AGENT_NOT_READY_MASK  # the client may dial now: it does, and the call is placed
    placed = await c.request(MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="0699"))
    assert placed.TYPE is MT.MAKE_CALL_CONF
    await c.request(ClearCallReq(invoke_id=0, call_id=placed.new_call_id, connection_device_id="3001"))
    for state in (AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_NOT_READY,
                  AS.AGENT_STATE_WORK_READY):
        await c.set_agent_state(state)
        reply = await c.request(MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="0699"), check=False)
        assert (reply.TYPE is MT.MAKE_CALL_CONF) == bool(setup & bit_of[state]), (state, hex(setup), reply)
        if reply.TYPE is MT.MAKE_CALL_CONF:
            await c.request(ClearCallReq(invoke_id=0, call_id=reply.new_call_id, connection_device_id="3001"))
            await c.set_agent_state(AS.AGENT_STATE_NOT_READY)
    await c.close()
