"""The server over real TCP (127.0.0.1, port 0): session-level rules, isolation, timeouts, limits."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import pytest_asyncio

from mockcti.client import CTIClient, RequestFailed
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import Dialect, FrameBuffer, MessageType, decode, encode
from mockcti.wire.enums import AgentState, StatusCode
from mockcti.wire.messages import (
    CloseConf, CloseReq, FailureConf, HeartbeatConf, HeartbeatReq, OpenConf, OpenReq, QueryAgentStateReq, SystemEvent,
)

pytestmark = pytest.mark.asyncio
S = StatusCode
D = Dialect.uccx(14)


def open_req(invoke_id=1, **kw):
    base = dict(invoke_id=invoke_id, version_number=14, idle_timeout=60, services_requested=0x7,
                call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, client_id="test", client_password=b"",
                agent_id="1001", agent_instrument="3001", agent_extension="3001")
    base.update(kw)
    return OpenReq(**base)


async def started(**kw) -> MockServer:
    cfg = ServerConfig(host="127.0.0.1", port=0, **{k: kw.pop(k) for k in list(kw) if k in ("max_write_buffer",)})
    return await MockServer(config=cfg, **kw).start()


class Raw:
    """A bare TCP peer that sends bytes and reads decoded messages. Every one a test opens is closed
    when the test ends (:func:`_close_raw_peers`): a peer the server ended stays open on our side
    (asyncio keeps a half-closed transport) and was left for the garbage collector."""

    opened: list["Raw"] = []

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.fb = FrameBuffer()
        self.pending = []
        Raw.opened.append(self)

    @classmethod
    async def connect(cls, server):
        r, w = await asyncio.open_connection(server.host, server.port)
        return cls(r, w)

    def send(self, *msgs):
        self.writer.write(b"".join(encode(m, D) for m in msgs))

    async def recv(self, timeout=3.0):
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise EOFError("server closed the connection")
            self.pending += [decode(f, D) for f in self.fb.feed(data)]
        return self.pending.pop(0)

    async def closed(self, timeout=3.0) -> bool:
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
                if not data:
                    return True
        except (ConnectionError, OSError):
            return True

    def close(self):
        self.writer.close()


@pytest_asyncio.fixture(autouse=True)
async def _close_raw_peers():
    yield
    peers, Raw.opened[:] = list(Raw.opened), []
    for peer in peers:
        peer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.wait_for(peer.writer.wait_closed(), 5)


async def test_open_heartbeat_close_golden_bytes():
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req())
        conf = await raw.recv()
        assert isinstance(conf, OpenConf) and conf.invoke_id == 1 and conf.services_granted == 0x7
        assert conf.agent_id == "1001" and conf.agent_instrument == "3001" and conf.num_peripherals == 1
        raw.writer.write(bytes.fromhex("000000040000000500000002"))  # §8.7 HEARTBEAT_REQ
        assert await raw.recv() == HeartbeatConf(invoke_id=2)
        raw.writer.write(bytes.fromhex("00000008000000070000000900000000"))  # §8.8 CLOSE_REQ
        assert await raw.recv() == CloseConf(invoke_id=9)
        assert await raw.closed()
        assert not server.journal.violations()
    finally:
        await server.stop()


async def test_session_level_errors_over_tcp():
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(HeartbeatReq(invoke_id=5))  # before OPEN_REQ: the bytes of reference §8.5 (no Text)
        data = await asyncio.wait_for(raw.reader.readexactly(16), 3)
        assert data == bytes.fromhex("00000008 00000001 00000005 00000004")
        raw.send(open_req(invoke_id=6, version_number=9))
        reply = await raw.recv()
        assert reply.status == S.E_CTI_INVALID_VERSION and reply.invoke_id == 6
        raw.send(open_req(invoke_id=7, idle_timeout=10))
        assert (await raw.recv()).status == S.E_CTI_INVALID_TIMEOUT
        raw.send(open_req(invoke_id=8, services_requested=0x11))
        assert (await raw.recv()).status == S.E_CTI_UNSPECIFIED_FAILURE
        raw.send(open_req(invoke_id=9, agent_id=None, agent_extension=None, agent_instrument=None))
        assert (await raw.recv()).status == S.E_CTI_REQUIRED_DATA_MISSING
        raw.send(open_req(invoke_id=10))
        assert isinstance(await raw.recv(), OpenConf)
        raw.send(open_req(invoke_id=11))
        assert (await raw.recv()).status == S.E_CTI_SESSION_ALREADY_OPEN
        raw.writer.write((4).to_bytes(4, "big") + (28).to_bytes(4, "big") + (12).to_bytes(4, "big"))
        reply = await raw.recv()
        assert reply.status == S.E_CTI_INVALID_MESSAGE_TYPE and reply.invoke_id == 12
        raw.close()
        rules = {v.data["rule"] for v in server.journal.violations()}
        assert {"PROTO-OPEN-FIRST", "PROTO-VERSION", "PROTO-IDLE-TIMEOUT-VALUE", "PROTO-SERVICE-MASK",
                "PROTO-AGENT-IDENTITY", "PROTO-OPEN-TWICE", "PROTO-UNKNOWN-MESSAGE"} <= rules
    finally:
        await server.stop()


async def test_a_refusal_quoting_what_the_client_sent_still_fits_the_failure_conf_text():
    # the center's refusal texts quote the client's AgentID ("unknown agent '\\x01...'"): 128 control
    # characters are 514 characters of repr, over FAILURE_CONF's Text (255 bytes with the NUL). The
    # confirmation could not be encoded and the request went unanswered ("cannot encode" fault).
    server = await started()
    try:
        raw = await Raw.connect(server)
        odd = "\x01" * 128  # an AgentID of the maximum size (129 with the NUL), no such agent
        raw.send(open_req(invoke_id=3, agent_id=odd, agent_extension=None, agent_instrument=None))
        reply = await raw.recv()
        assert isinstance(reply, FailureConf) and reply.invoke_id == 3
        assert reply.status == S.E_CTI_INVALID_AGENT_DATA
        assert reply.text.startswith("unknown agent '\\x01") and len(reply.text.encode()) == 254
        raw.send(open_req(invoke_id=4, services_requested=0x10, agent_id=None, agent_extension=None,
                          agent_instrument=None))
        assert isinstance(await raw.recv(), OpenConf)
        raw.send(QueryAgentStateReq(invoke_id=5, agent_id=odd))
        reply = await raw.recv()
        assert isinstance(reply, FailureConf) and reply.invoke_id == 5
        assert reply.status == S.E_CTI_INVALID_AGENT_DATA and len(reply.text.encode()) == 254
        assert not [e for e in server.journal if e.kind == "fault"]
    finally:
        await server.stop()


async def test_device_in_use_by_another_session():
    server = await started()
    try:
        a = await CTIClient.connect(server.host, server.port, version=14)
        await a.open_agent(agent_id="1001", extension="3001", instrument="3001")
        b = await CTIClient.connect(server.host, server.port, version=14)
        with pytest.raises(RequestFailed) as exc:
            await b.open_agent(agent_id="1002", extension="3001", instrument="3001", client_id="other")
        assert exc.value.status in (S.E_CTI_DEVICE_IN_USE, S.E_CTI_INCONSISTENT_AGENT_DATA)
        await a.close()
        await b.abort()
    finally:
        await server.stop()


async def test_the_same_client_opening_again_ends_its_old_session_with_new_session_opened():
    """Reference §3 / §7: when a client opens a new session for the same agent on another
    connection, the old session gets FAILURE_EVENT E_CTI_NEW_SESSION_OPENED and is closed; the new
    one is open and works. Another client on the same agent is refused instead (test above)."""
    server = await started()
    try:
        old, new = await Raw.connect(server), await Raw.connect(server)
        old.send(open_req(client_id="desk"))
        assert isinstance(await old.recv(), OpenConf)
        new.send(open_req(invoke_id=2, client_id="desk"))
        assert isinstance(await new.recv(), OpenConf)
        ended = await old.recv()
        assert ended.TYPE.name == "FAILURE_EVENT" and ended.status == S.E_CTI_NEW_SESSION_OPENED
        with pytest.raises(EOFError):
            await old.recv()
        new.send(HeartbeatReq(invoke_id=3))
        assert (await new.recv()) == HeartbeatConf(invoke_id=3)
        new.close()
    finally:
        await server.stop()


async def test_a_request_outside_the_granted_services_is_refused_not_carried_out():
    """Reference §6.5 / §3.2: the client must check ServicesGranted; an agent desktop granted
    CLIENT_EVENTS only may not log its agent in. The server refuses (FAILURE_CONF 17 naming the service)
    and journals PROTO-SERVICE-NOT-GRANTED; the agent stays logged out (it used to be logged in)."""
    server = await started()
    try:
        desk = await CTIClient.connect(server.host, server.port, version=14)
        conf = await desk.open_agent(agent_id="1001", services=0x1, heartbeat=0)
        assert conf.services_granted == 0x1
        with pytest.raises(RequestFailed) as exc:
            await desk.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        assert exc.value.status == S.E_CTI_UNSPECIFIED_FAILURE
        assert "CTI_SERVICE_CLIENT_CONTROL" in exc.value.reply.text
        assert server.center.agents["1001"].state is AgentState.AGENT_STATE_LOGOUT
        assert [v.data["rule"] for v in server.journal.violations()] == ["PROTO-SERVICE-NOT-GRANTED"]
        await desk.close()
    finally:
        await server.stop()


@pytest.mark.parametrize(("version", "granted"), [(10, 0x1), (11, 0x1), (12, 0x2001), (18, 0x2001)])
async def test_agent_state_control_only_is_a_version_12_service(version, granted):
    """Reference §3.2: CTI_AGENT_STATE_CONTROL_ONLY (0x2000) came with protocol version 12. A v10/v11
    session asking for it is not granted it (an unknown bit is ignored, §3.3), so it may not set its
    agent's state; from v12 on it is granted and may. (v10/v11 used to be granted it.)"""
    server = await started()
    try:
        desk = await CTIClient.connect(server.host, server.port, version=version)
        conf = await desk.open_agent(agent_id="1001", services=0x2001, heartbeat=0)
        assert conf.services_granted == granted
        if granted & 0x2000:
            await desk.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        else:
            with pytest.raises(RequestFailed):
                await desk.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await desk.close()
    finally:
        await server.stop()


async def test_a_session_granted_neither_client_events_nor_all_events_gets_no_events():
    """Reference §3.3 / §6.5: events are the CLIENT_EVENTS (one agent) or ALL_EVENTS (all) service. A
    session that asked for neither (a control-only connector) gets its confirmations and no one
    else's events; it used to be treated as a bridge and got every agent's and call's events."""
    server = await started()
    try:
        connector = await CTIClient.connect(server.host, server.port, version=14)
        assert (await connector.open(services=0x4, client_id="connector", heartbeat=0)).services_granted == 0x4
        bridge = await CTIClient.connect(server.host, server.port, version=14)
        await bridge.open_bridge(client_id="wallboard", heartbeat=0)
        desk = await CTIClient.connect(server.host, server.port, version=14)
        await desk.open_agent(agent_id="1001", heartbeat=0)
        await desk.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await bridge.next_event(MessageType.AGENT_STATE_EVENT)  # the login reached the bridge ...
        await connector.request(HeartbeatReq(invoke_id=0))  # ... and everything before this answer
        assert [m.TYPE.name for m in connector.received] == ["OPEN_CONF", "HEARTBEAT_CONF"]
        for c in (desk, bridge, connector):
            await c.close()
    finally:
        await server.stop()


async def test_standby_answers_server_not_master():
    server = await started()
    server.hub.standby = True
    try:
        raw = await Raw.connect(server)
        raw.send(open_req())
        reply = await raw.recv()
        assert reply.status == S.E_CTI_SERVER_NOT_MASTER and reply.invoke_id == 1
        raw.close()
    finally:
        await server.stop()


async def test_garbage_from_one_client_does_not_disturb_another():
    server = await started()
    try:
        good = await CTIClient.connect(server.host, server.port, version=14)
        await good.open_agent(agent_id="1002", extension="3002", instrument="3002", heartbeat=0)
        bad = await Raw.connect(server)
        bad.writer.write(b"\xff" * 64)  # a BodyLength far over the limit: answered, then closed
        reply = await bad.recv()
        assert isinstance(reply, FailureConf)
        assert await bad.closed()
        conf = await good.request(HeartbeatReq(invoke_id=0))
        assert isinstance(conf, HeartbeatConf)
        assert any(v.data["rule"] == "PROTO-FRAME-TOO-LARGE" for v in server.journal.violations())
        await good.close()
    finally:
        await server.stop()


@pytest.mark.parametrize("chunks", [1, 2])
async def test_what_a_client_sends_is_answered_the_same_however_tcp_cuts_it(chunks):
    """The same bytes in one write or in two give the same answers (they used to differ: in one
    segment a request before an oversized header was dropped unanswered, a HEARTBEAT_REQ right behind
    OPEN_REQ was refused E_CTI_SESSION_NOT_OPEN, and requests behind CLOSE_REQ were journalled as
    answered though nothing was sent)."""
    from mockcti.wire.enums import AgentState
    from mockcti.wire.messages import AgentStateEvent, CloseReq, SetAgentStateConf, SetAgentStateReq

    async def send(raw, parts):
        if chunks == 1:
            raw.writer.write(b"".join(parts))
        else:
            for p in parts:
                raw.writer.write(p)
                await raw.writer.drain()
                await asyncio.sleep(0.05)

    server = await started()
    try:
        # 1. OPEN_REQ and a HEARTBEAT_REQ straight behind it
        a = await Raw.connect(server)
        await send(a, [encode(open_req(1), D), encode(HeartbeatReq(invoke_id=2), D)])
        assert isinstance(await a.recv(), OpenConf)
        assert await a.recv() == HeartbeatConf(invoke_id=2)
        # 2. a request, then a header whose BodyLength is far over the limit
        login = SetAgentStateReq(invoke_id=3, agent_state=AgentState.AGENT_STATE_LOGIN, agent_password="1234",
                                 agent_instrument="3001", agent_id="1001")
        await send(a, [encode(login, D), (0x04000000).to_bytes(4, "big") + (5).to_bytes(4, "big")])
        got = [await a.recv() for _ in range(3)]
        assert [type(m) for m in got] == [SetAgentStateConf, AgentStateEvent, FailureConf], got
        assert got[2].status == S.E_CTI_UNSPECIFIED_FAILURE and await a.closed()
        assert server.center.agents["1001"].state is AgentState.AGENT_STATE_NOT_READY
        # 3. CLOSE_REQ, then requests the client should not send any more
        b = await Raw.connect(server)
        await send(b, [encode(open_req(1, agent_id="1002", agent_instrument="3002", agent_extension="3002",
                                       client_id="b"), D)])
        assert isinstance(await b.recv(), OpenConf)
        await send(b, [encode(CloseReq(invoke_id=8, status=0), D), encode(HeartbeatReq(invoke_id=9), D)])
        assert await b.recv() == CloseConf(invoke_id=8)
        assert await b.closed()
        sid = server.journal.entries(kind="connect")[-1].session
        rules = [v.data["rule"] for v in server.journal.violations(sid)]
        if chunks == 1:  # in one segment the server still read it; in two it may have closed already
            assert "PROTO-AFTER-CLOSE" in rules
        # the journal says what went out: nothing after CLOSE_CONF
        assert [m["type"] for m in server.journal.messages_of(sid, "out")][-1] == "CLOSE_CONF"
        assert server.internal_errors == 0
    finally:
        await server.stop()


async def test_truncated_floating_field_gets_a_failure_conf_and_the_connection_lives():
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req())
        await raw.recv()
        body = (7).to_bytes(4, "big") + bytes((25, 40)) + b"12"  # HOLD_CALL_REQ-ish garbage, tag runs past body
        frame = len(body).to_bytes(4, "big") + (54).to_bytes(4, "big") + body
        raw.writer.write(frame)
        reply = await raw.recv()
        assert isinstance(reply, FailureConf) and reply.invoke_id == 7
        raw.send(HeartbeatReq(invoke_id=8))
        assert await raw.recv() == HeartbeatConf(invoke_id=8)
        raw.close()
    finally:
        await server.stop()


async def test_idle_timeout_closes_a_silent_session():
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req(idle_timeout=20))
        await raw.recv()
        # IdleTimeout 20 s: move the server clock instead of waiting
        server._t0 -= 21
        server.run_actions()
        server._on_timer()
        assert await raw.closed()
        await asyncio.sleep(0.05)
        assert any(v.data["rule"] == "PROTO-IDLE-EXPIRED" for v in server.journal.violations())
    finally:
        await server.stop()


async def test_slow_reader_is_disconnected_and_others_continue():
    server = await started(max_write_buffer=64 * 1024)
    try:
        slow = await Raw.connect(server)
        slow.send(open_req(agent_id=None, agent_extension=None, agent_instrument=None, services_requested=0x10))
        await slow.recv()
        other = await CTIClient.connect(server.host, server.port, version=14)
        await other.open_agent(agent_id="1003", extension="3003", instrument="3003", heartbeat=0)
        # the slow client stops reading; flood it with events through the hub until it is cut off
        sid = max(server.hub.open_sessions())
        sid = min(server.hub.open_sessions())
        big = SystemEvent(ccx_status=0x400, ccx_time=0, system_event_id=3, event_device_type=0xFFFF, text="x" * 200)
        for _ in range(200):
            for _ in range(100):
                server.hub.send(sid, big)
            server.run_actions()
            await asyncio.sleep(0)
            if server.slow_readers:
                break
        assert server.slow_readers == 1
        assert any(e.data.get("fault") == "slow reader disconnected" for e in server.journal.entries(kind="fault"))
        assert isinstance(await other.request(HeartbeatReq(invoke_id=0)), HeartbeatConf)
        await other.close()
        slow.close()
    finally:
        await server.stop()


async def test_graceful_shutdown_tells_clients():
    server = await started()
    raw = await Raw.connect(server)
    raw.send(open_req())
    await raw.recv()
    before = time.time()
    await server.stop()
    ev = await raw.recv()
    assert isinstance(ev, SystemEvent) and ev.system_event_id == 4  # SYS_CCX_OFFLINE
    # CCXTime is seconds since 1970 UTC (reference §5.1), not the server's uptime
    assert before - 2 <= ev.ccx_time <= time.time() + 1
    assert await raw.closed()


async def test_many_concurrent_clients_share_one_center():
    server = await started()
    try:
        clients = await asyncio.gather(*[CTIClient.connect(server.host, server.port, version=14) for _ in range(50)])
        await asyncio.gather(*[c.open_bridge(client_id=f"b{i}", heartbeat=0) for i, c in enumerate(clients)])
        replies = await asyncio.gather(*[c.request(HeartbeatReq(invoke_id=0)) for c in clients])
        assert all(isinstance(r, HeartbeatConf) for r in replies)
        await asyncio.gather(*[c.close() for c in clients])
    finally:
        await server.stop()


async def test_dribbled_writes_never_interleave():
    """Two dribbles and a plain write queued at once arrive whole and in order (a transport fault)."""
    from mockcti.hub import Write, WriteChunked

    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req())
        assert isinstance(await raw.recv(), OpenConf)
        frames = [encode(HeartbeatConf(invoke_id=n), D) for n in (101, 102, 103)]

        def go(hub, now):
            sid = hub.open_sessions()[0]
            hub.act(WriteChunked(sid, frames[0], 3, 0.002))
            hub.act(WriteChunked(sid, frames[1], 5, 0.001))
            hub.act(Write(sid, frames[2]))

        server.call(go)
        got = [await raw.recv() for _ in range(3)]
        assert [m.invoke_id for m in got] == [101, 102, 103]
    finally:
        await server.stop()


class _BuggyEngine:
    """An engine with a bug: raises on QUERY_AGENT_STATE_REQ, and once from its first timer."""

    sees_heartbeats = False

    def __init__(self):
        self.hub = None
        self.ticks = 0
        self.tick_times = []

    def attach(self, hub, now):
        self.hub = hub

    def on_connect(self, sid, now):
        pass

    def on_request(self, sid, msg, now):
        if msg.TYPE.name == "QUERY_AGENT_STATE_REQ":
            raise RuntimeError("engine bug")
        return False

    def on_disconnect(self, sid, now, reason):
        pass

    def tick(self, now):
        if now >= 0.2:
            self.ticks += 1
            self.tick_times.append(now)
            if self.ticks == 1:
                raise ZeroDivisionError("timer bug")

    def next_deadline(self):
        return 0.2 if self.ticks < 3 else None


async def test_a_bug_below_the_server_is_contained_recorded_and_resets_only_its_connection(capsys):
    """An exception out of the hub (here a deliberately buggy engine) never reaches asyncio: it is
    a journalled "internal error" fault with its traceback on stderr; the connection whose request
    hit it is reset; another client carries on; a timer that raised is armed again, a second later."""
    from mockcti.wire.messages import QueryAgentStateReq

    engine = _BuggyEngine()
    server = await started(engine=engine)
    try:
        victim, bystander = await Raw.connect(server), await Raw.connect(server)
        victim.send(open_req(client_id="victim"))
        bystander.send(open_req(client_id="bystander", agent_id="1002", agent_instrument="3002",
                                agent_extension="3002"))
        assert isinstance(await victim.recv(), OpenConf) and isinstance(await bystander.recv(), OpenConf)
        victim.send(QueryAgentStateReq(invoke_id=5, agent_id="1001"))
        with pytest.raises((EOFError, ConnectionError)):
            await victim.recv()
        bystander.send(HeartbeatReq(invoke_id=6))
        assert await bystander.recv() == HeartbeatConf(invoke_id=6)
        for _ in range(100):  # the timer raised once at 0.2 s, then ran again (bounded wait)
            if engine.ticks >= 3:
                break
            await asyncio.sleep(0.05)
        assert engine.ticks >= 3
        # the deadline that raised is tried again after a second's calm, not at once (no busy loop)
        assert engine.tick_times[1] - engine.tick_times[0] >= 0.9, engine.tick_times
        faults = [e.data for e in server.journal.entries(kind="fault") if e.data.get("fault") == "internal error"]
        assert sorted((f["where"], f["error"]) for f in faults) == [
            ("receive", "RuntimeError: engine bug"), ("timer", "ZeroDivisionError: timer bug")]
        assert server.internal_errors == 2
        err = capsys.readouterr().err
        assert "internal error in the hub (receive)" in err and "RuntimeError: engine bug" in err
        assert "ZeroDivisionError: timer bug" in err
        bystander.close()
    finally:
        await server.stop()


class _BuggyEdgesEngine(_BuggyEngine):
    """An engine whose on_connect raises for the first connection and on_disconnect for ``leaving``."""

    def __init__(self):
        super().__init__()
        self.ticks = 3  # no timer
        self.connects = 0
        self.leaving = None

    def on_connect(self, sid, now):
        self.connects += 1
        if self.connects == 1:
            raise RuntimeError("on_connect bug")

    def on_disconnect(self, sid, now, reason):
        if sid == self.leaving:
            raise KeyError("on_disconnect bug")


async def test_a_bug_as_a_client_connects_or_leaves_is_contained_and_recorded(capsys):
    """An exception out of the hub as a connection came up escaped to asyncio ("Exception in
    callback"): the connection stayed open and unanswered for ever (its OPEN_REQ was never read), the
    hub kept its session, nothing was journalled and --strict passed. One as a connection went was
    not recorded either. Both are now internal errors like one out of a request: journalled (the
    first also resets its connection, which ends in the journal), on stderr, counted."""
    engine = _BuggyEdgesEngine()
    server = await started(engine=engine)
    try:
        victim = await Raw.connect(server)
        victim.send(open_req(client_id="victim"))
        with pytest.raises((EOFError, ConnectionError)):
            await victim.recv()
        bystander = await Raw.connect(server)
        bystander.send(open_req(client_id="bystander"))
        assert isinstance(await bystander.recv(), OpenConf)
        engine.leaving = max(server.connections)
        bystander.close()
        for _ in range(300):  # bounded wait for the server to see it go
            if not server.connections:
                break
            await asyncio.sleep(0.01)
        assert not server.connections and not server.hub.conns
        faults = [(e.session, e.data["where"], e.data["error"]) for e in server.journal.entries(kind="fault")]
        assert faults == [(1, "connect", "RuntimeError: on_connect bug"),
                          (2, "disconnect", "KeyError: 'on_disconnect bug'")]
        assert [(e.session, e.data["reason"]) for e in server.journal.entries(kind="close")][0] == (
            1, "closed by server: internal error")
        assert server.internal_errors == 2
        err = capsys.readouterr().err
        assert "internal error in the hub (connect)" in err and "internal error in the hub (disconnect)" in err
        victim.close()
    finally:
        await server.stop()


async def test_requests_after_a_half_close_are_read_and_their_answers_dropped_not_a_crash():
    """half_close sends FIN and keeps reading. The next answer used to raise 'Cannot call write()
    after write_eof()' out of data_received: asyncio tore the connection down and the client was
    charged PROTO-NO-CLOSE. Now the answers are dropped (journalled) and the requests still count."""
    from mockcti.hub import HalfClose

    server = await started()
    try:
        c = await Raw.connect(server)
        c.send(open_req())
        assert isinstance(await c.recv(), OpenConf)
        sid = max(server.connections)
        server.call(lambda hub, now: hub.act(HalfClose(sid)))
        assert await c.closed()  # our FIN
        c.send(HeartbeatReq(invoke_id=5))
        await asyncio.sleep(0.1)
        c.send(HeartbeatReq(invoke_id=6))
        await asyncio.sleep(0.1)
        c.send(CloseReq(invoke_id=7, status=0))
        for _ in range(300):
            if not server.connections:
                break
            await asyncio.sleep(0.01)
        assert not server.connections  # CLOSE_REQ read and taken: the server closed the connection
        assert server.internal_errors == 0
        journal = server.journal.entries()
        dropped = [e for e in journal if e.kind == "fault" and e.data.get("fault") == "write after half_close dropped"]
        assert len(dropped) == 3 and all(e.session == sid for e in dropped)  # two HEARTBEAT_CONFs, the CLOSE_CONF
        assert [e.data["message"]["type"] for e in journal if e.kind == "in"][-3:] == ["HEARTBEAT_REQ", "HEARTBEAT_REQ",
                                                                                 "CLOSE_REQ"]
        assert not [e for e in journal if e.kind == "violation"]
        c.close()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_input_after_a_timer_already_due_sees_that_timer_first():
    """The loop may hand the server a client's bytes before the timer callback that was already due
    (a busy loop, timers 1 ms late by design): a scenario's 0.5 s wait was still running when a
    heartbeat came 0.6 s later, and the 'heartbeat after the wait' step missed it (a flaky
    event-storm run in CI). Now the hub's due timers run before the input."""
    from mockcti.client import CTIClient
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.scenario.loader import load_scenario_text
    from mockcti.server import MockServer, ServerConfig
    from mockcti.wire import messages as W

    fake = [100.0]  # the server's clock, moved by hand: its timers (real loop time) stay 0.5 s away

    def clock() -> float:  # ... and a microsecond on at every reading, as a real clock goes on
        fake[0] += 1e-6
        return fake[0]
    sc = load_scenario_text("name: t\nsteps:\n  - {id: opened, expect: {message: OPEN_REQ}}\n"
                            "  - {id: pause, wait: 0.5}\n  - {id: beat, expect: {message: HEARTBEAT_REQ}}\n"
                            "timeline:\n  - {after: pause, do: {emit: {message: SYSTEM_EVENT, fields: {text: over}}}}\n",
                            filename="t.yaml")
    engine = ScenarioEngine(sc)
    server = await MockServer(engine.build_center(), config=ServerConfig(host="127.0.0.1", port=0),
                              hub_config=engine.hub_config(), engine=engine, clock=clock).start()
    try:
        c = await CTIClient.connect(server.host, server.port)
        await c.open_agent(agent_id="1001", heartbeat=0)
        # the "opened" step completes (and the wait begins, at 0 by the server's clock) in a timer
        # callback of its own, due at once: wait for it, the clock still at 0 (bounded)
        for _ in range(300):
            if (server.hub.next_deadline() or 0.0) >= 0.5:
                break
            await asyncio.sleep(0.01)
        assert 0.5 <= server.hub.next_deadline() < 0.51  # the wait's end
        fake[0] += 1.0  # the wait is over by the server's clock; its timer callback has not run yet
        await c.request(W.HeartbeatReq(invoke_id=0), timeout=3)
        assert [(r.name, r.detail) for r in engine.verify() if not r.met] == []  # "beat" took the heartbeat
        # the timers ran at the time of the input that followed: the journal's times stay in order (they
        # ran at a later reading of the clock, and what they did came before the input in the journal)
        times = [e.t for e in server.hub.journal.entries()]
        assert times == sorted(times)
        await c.close()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_what_a_call_on_the_loop_sends_is_journalled_at_the_calls_time():
    """``MockServer.call`` (the control API, the fixtures' helpers) runs ``fn(hub, now)``: what it sends
    is journalled at that ``now``; it was journalled at the time of the hub's last input, before the
    happening of that same call."""
    from mockcti.server import MockServer, ServerConfig
    from mockcti.wire.enums import AgentState

    fake = [0.0]

    def clock() -> float:
        fake[0] += 0.001
        return fake[0]

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0), clock=clock).start()
    try:
        c = await CTIClient.connect(server.host, server.port)
        await c.open_agent(agent_id="1001", heartbeat=0)
        await c.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        fake[0] += 5.0  # the desktop is quiet for 5 s, then a supervisor makes the agent READY

        def ready(hub, now):
            hub.journal.record("happening", now, None, what="supervisor: READY")
            hub.deliver(hub.center.set_agent_state(now, "1001", AgentState.AGENT_STATE_READY))
            return now

        at = server.call(ready)
        journal = server.hub.journal.entries()
        sent = [e for e in journal if e.kind == "out" and e.data["message"]["type"] == "AGENT_STATE_EVENT"]
        assert sent[-1].t == at
        times = [e.t for e in journal]
        assert times == sorted(times)
        await c.close()
    finally:
        await server.stop()


@pytest.mark.parametrize("profile, dialect, state_tag", [
    ("uccx", Dialect.uccx(14), 61), ("uccx", Dialect.uccx(18), 61),
    ("ucce", Dialect.ucce(19), 75), ("ucce", Dialect.ucce(24), 75),
    ("uccx SNAPSHOT_DEVICE_CONF.CallState=75", None, 75),
], ids=["uccx14", "uccx18", "ucce19", "ucce24", "uccx14-field-tag-75"])
async def test_snapshot_device_conf_carries_each_calls_state_in_the_profiles_tag(profile, dialect, state_tag):
    """A client's SNAPSHOT_DEVICE_REQ for a phone with a ringing call: the CONF's per-call group is
    CallConnectionCallID (56), CallConnectionDeviceType (57), CallConnectionDeviceID (58) and the call's
    state in tag 61 in a UCCX session (the UCCX page: CallDeviceConnectionState[61]), in ICM's
    CALL_STATE_TAG 75 in a UCCE one (or a UCCX one given that reading: ``--field-tag``). mockcti sent 75
    to both: a client written from the UCCX page found no call state."""
    from mockcti.commands import with_field_tags
    from mockcti.hub import HubConfig
    from mockcti.session import SessionConfig
    from mockcti.testing.fixtures import hub_config_for
    from mockcti.wire import UCCX
    from mockcti.wire.messages import SnapshotDeviceReq
    from tcp_world import deliver_call

    if dialect is None:  # what `mockcti serve --field-tag SNAPSHOT_DEVICE_CONF.CallState=75` serves
        uccx = with_field_tags(UCCX, profile.split()[1:])
        dialect = Dialect(profile=uccx, version=14)
        server = await started(hub_config=HubConfig(session=SessionConfig(profile=uccx)))
    else:
        server = await started(hub_config=hub_config_for(profile))
    desk = await CTIClient.connect(server.host, server.port, dialect=dialect)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await desk.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, client_id="desk")
        await desk.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await desk.set_agent_state(AgentState.AGENT_STATE_READY)
        call_id = deliver_call(server, agent_id="1001")
        await desk.next_event(MessageType.CALL_DELIVERED_EVENT)
        # a bridge on a bare socket, to see the bytes: OPEN_REQ, then SNAPSHOT_DEVICE_REQ for the phone
        writer.write(encode(OpenReq(invoke_id=1, version_number=dialect.version, idle_timeout=60,
                                    services_requested=0x14, call_msg_mask=0, agent_state_mask=0,
                                    client_id="snap", client_password=b""), dialect)
                     + encode(SnapshotDeviceReq(invoke_id=2, snapshot_device_type=0, agent_instrument="3001"), dialect))
        fb, found = FrameBuffer(), None
        for _ in range(50):  # bounded: the OPEN_CONF and the SNAPSHOT_DEVICE_CONF, maybe events between
            data = await asyncio.wait_for(reader.read(65536), 5.0)
            assert data, "the server closed the connection"
            found = next((f for f in fb.feed(data) if f.type_id == int(MessageType.SNAPSHOT_DEVICE_CONF)), None)
            if found is not None:
                break
        assert found is not None
        tw, lw = dialect.tag_width, dialect.length_width
        fields, pos = [], 6  # InvokeID, NumCalls
        while pos < len(found.body):
            tag = int.from_bytes(found.body[pos:pos + tw], "big")
            n = int.from_bytes(found.body[pos + tw:pos + tw + lw], "big")
            fields.append((tag, found.body[pos + tw + lw:pos + tw + lw + n]))
            pos += tw + lw + n
        assert found.body[:6] == bytes.fromhex("00000002 0001")
        assert fields == [(56, call_id.to_bytes(4, "big")), (57, b"\x00\x00"), (58, b"3001\x00"),
                          (state_tag, b"\x00\x02")]  # LCS_ALERTING
        assert decode(found, dialect).calls[0].call_state == 2
    finally:
        writer.close()
        await desk.close()
        await server.stop()


async def _journal_closed(server, sid, bound=300):
    for _ in range(bound):
        if any(e.kind == "close" and e.session == sid for e in server.journal.entries()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"session {sid} not closed")


async def test_a_client_that_leaves_mid_frame_is_told_so_in_the_journal():
    """A CLOSE_REQ whose BodyLength counts the 8 header bytes too (16, not 8) leaves the server waiting
    for 8 more bytes; the client waits for CLOSE_CONF, gives up and closes. The journal used to say only
    PROTO-NO-CLOSE, "disconnected without CLOSE_REQ", and nothing of the bytes the client did send. The
    same for a client that closes in the middle of a header, before any session."""
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req())
        assert isinstance(await raw.recv(), OpenConf)
        sid = max(server.connections)
        raw.writer.write(bytes.fromhex("00000010 00000007 00000009 00000000"))  # BodyLength 16, 8 bytes follow
        raw.close()
        await _journal_closed(server, sid)
        found = {v.data["rule"]: v.data["detail"] for v in server.journal.violations() if v.session == sid}
        assert found["PROTO-MALFORMED"] == ("the connection ended mid-frame: 8 of the 16 body bytes its header "
                                            "announced (BodyLength 16) of a CLOSE_REQ frame arrived, the rest never did")
        assert "PROTO-NO-CLOSE" in found

        before = set(server.connections)
        early = await Raw.connect(server)
        early.writer.write(bytes.fromhex("000000"))
        for _ in range(300):
            if set(server.connections) - before:
                break
            await asyncio.sleep(0.01)
        (sid,) = set(server.connections) - before
        early.close()
        await _journal_closed(server, sid)
        assert [v.data["detail"] for v in server.journal.violations() if v.session == sid] == [
            "the connection ended mid-frame: 3 of the 8 header bytes of a frame arrived, the rest never did"]
    finally:
        await server.stop()


async def test_an_idle_timeout_with_a_frame_left_half_sent_says_so():
    """Bytes of a frame that never completes are no message (§3.4): the session expires, and the journal
    says what was waiting instead of calling the client silent, which it was not."""
    server = await started()
    try:
        raw = await Raw.connect(server)
        raw.send(open_req(idle_timeout=20))
        assert isinstance(await raw.recv(), OpenConf)
        sid = max(server.connections)
        sent = len(encode(open_req(idle_timeout=20), D)) + 10
        raw.writer.write(bytes.fromhex("00000004 00000005 0000"))  # a HEARTBEAT_REQ short of 2 bytes
        for _ in range(300):
            if server.call(lambda hub, now: hub.conns[sid].session.bytes_in) == sent:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the server did not read the bytes")
        server._t0 -= 21  # IdleTimeout 20 s: move the server clock instead of waiting
        server.run_actions()
        server._on_timer()
        assert await raw.closed()
        await _journal_closed(server, sid)
        (detail,) = [v.data["detail"] for v in server.journal.violations() if v.data["rule"] == "PROTO-IDLE-EXPIRED"]
        assert detail.endswith("(IdleTimeout 20 s); a frame was left incomplete: 2 of the 4 body bytes its header "
                               "announced (BodyLength 4) of a HEARTBEAT_REQ frame arrived, the rest never did")
    finally:
        await server.stop()


async def test_a_request_sent_after_close_conf_is_a_violation():
    """A desktop whose heartbeat timer fires after it sent CLOSE_REQ (and got CLOSE_CONF) sends to a closing
    connection: PROTO-AFTER-CLOSE. The server reads what comes then only to discard it (the client gets the end of
    stream, not a reset), and judged none of it: the rule held only for a request in the CLOSE_REQ's own read."""
    from mockcti.wire.messages import CloseReq

    server = await started()
    try:
        a = await Raw.connect(server)
        a.send(open_req(1))
        assert isinstance(await a.recv(), OpenConf)
        a.send(CloseReq(invoke_id=8, status=0))
        assert await a.recv() == CloseConf(invoke_id=8)
        a.send(HeartbeatReq(invoke_id=9))  # after the CLOSE_CONF: the server is closing the connection
        await a.writer.drain()
        assert await a.closed()
        sid = server.journal.entries(kind="connect")[-1].session
        deadline = time.monotonic() + 3
        while not server.journal.violations(sid) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        (v,) = server.journal.violations(sid)
        assert v.data["rule"] == "PROTO-AFTER-CLOSE"
        assert v.data["detail"] == "12 byte(s) after CLOSE_REQ (a HEARTBEAT_REQ frame first), read while the server " \
                                   "closed the connection"
        # nothing went out after CLOSE_CONF
        assert [m["type"] for m in server.journal.messages_of(sid, "out")][-1] == "CLOSE_CONF"
    finally:
        await server.stop()
