"""mockcti.client.CTIClient against a scripted server: what a user of the client relies on when the
server misbehaves (closes, stops answering, answers FAILURE_CONF, sends what cannot be framed)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable

import pytest

from mockcti.client import ConnectionClosed, CTIClient, RequestFailed
from mockcti.wire import Dialect, FrameBuffer, FrameError, decode, encode
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M

D = Dialect.uccx(18)
Handler = Callable[[M.Message, asyncio.StreamWriter], None]


def default_reply(msg) -> M.Message | None:
    if msg.TYPE is MT.OPEN_REQ:
        return M.OpenConf(invoke_id=msg.invoke_id, agent_id=msg.agent_id or None)
    if msg.TYPE is MT.HEARTBEAT_REQ:
        return M.HeartbeatConf(invoke_id=msg.invoke_id)
    if msg.TYPE is MT.CLOSE_REQ:
        return M.CloseConf(invoke_id=msg.invoke_id)
    return None


class Scripted:
    """A CTI server on 127.0.0.1 whose answers ``handler(msg, writer)`` decides; it records requests."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or (lambda msg, w: self.reply(w, default_reply(msg)))
        self.seen: list[M.Message] = []
        self.writers: list[asyncio.StreamWriter] = []

    @staticmethod
    def reply(writer: asyncio.StreamWriter, msg: M.Message | None) -> None:
        if msg is not None:
            writer.write(encode(msg, D))

    async def __aenter__(self) -> "Scripted":
        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            fb = FrameBuffer()
            try:
                while data := await reader.read(65536):
                    for item in fb.feed(data):
                        if isinstance(item, FrameError):
                            return
                        msg = decode(item, D)
                        self.seen.append(msg)
                        self.handler(msg, writer)
            except ConnectionError:
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for w in self.writers:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def client(self, **open_kw) -> CTIClient:
        cti = await CTIClient.connect("127.0.0.1", self.port, timeout=5)
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", **{"heartbeat": 0, **open_kw})
        return cti


def _hold(invoke_id: int = 0) -> M.HoldCallReq:
    return M.HoldCallReq(invoke_id=invoke_id, call_id=7, connection_device_id="3001")


@pytest.mark.asyncio
async def test_after_the_server_closes_requests_and_event_waits_end_at_once():
    async with Scripted() as srv:
        cti = await srv.client()
        srv.writers[0].close()
        await asyncio.wait_for(cti.closed.wait(), 5)
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosed, match="closed by server"):
            await cti.request(_hold(), timeout=10)
        with pytest.raises(ConnectionClosed):
            await cti.next_event(timeout=10)
        with pytest.raises(ConnectionClosed):  # and again: every later wait ends the same way
            await cti.next_event(timeout=10)
        assert time.monotonic() - t0 < 2
        await cti.close()


@pytest.mark.asyncio
async def test_a_client_left_unclosed_after_the_server_closed_leaks_no_socket():
    """The server closing the connection left the client's socket open until the object was
    collected (ResourceWarning 'unclosed transport') for a user who never called close()."""
    import gc
    import warnings

    async with Scripted() as srv:
        cti = await srv.client()
        srv.writers[0].close()
        await asyncio.wait_for(cti.closed.wait(), 5)
        await asyncio.sleep(0.05)
        sock = cti._writer.get_extra_info("socket")
        assert sock.fileno() == -1  # closed by the client itself
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del cti, sock
            gc.collect()
        assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.asyncio
async def test_async_for_ends_when_the_connection_drops_after_the_events_already_received():
    async with Scripted() as srv:
        cti = await srv.client()
        got: list[MT] = []

        async def consume() -> None:
            async for ev in cti:
                got.append(ev.TYPE)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3))
        await asyncio.sleep(0.05)
        srv.writers[0].close()
        await asyncio.wait_for(task, 5)  # was blocked for up to an hour
        assert got == [MT.SYSTEM_EVENT]
        await cti.close()


@pytest.mark.asyncio
async def test_an_event_already_received_is_returned_with_timeout_zero():
    async with Scripted() as srv:
        cti = await srv.client()
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3))
        for _ in range(100):
            if cti.received and cti.received[-1].TYPE is MT.SYSTEM_EVENT:
                break
            await asyncio.sleep(0.01)
        assert (await cti.next_event(timeout=0)).TYPE is MT.SYSTEM_EVENT
        with pytest.raises(asyncio.TimeoutError):
            await cti.next_event(timeout=0)
        await cti.close()


@pytest.mark.asyncio
async def test_a_frame_that_cannot_be_cut_resets_the_connection():
    async with Scripted() as srv:
        cti = await srv.client()
        srv.writers[0].write(b"\x7f\xff\xff\xff\x00\x00\x00\x03")  # a BodyLength no server sends
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert cti.close_reason.startswith("bad frame from server")
        with pytest.raises(ConnectionClosed):
            await cti.request(_hold(), timeout=5)
        for _ in range(200):  # what it writes still works: a CLOSE_REQ before the connection closes
            if srv.seen[-1].TYPE is MT.CLOSE_REQ:
                break
            await asyncio.sleep(0.01)
        assert srv.seen[-1].TYPE is MT.CLOSE_REQ
        await cti.close()


@pytest.mark.asyncio
async def test_an_undecodable_message_is_recorded_and_the_connection_stays():
    async with Scripted() as srv:
        cti = await srv.client()
        srv.writers[0].write(b"\x00\x00\x00\x00\x00\x00\xee\xee")  # a message type nobody defines
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3))
        assert (await cti.next_event(timeout=5)).TYPE is MT.SYSTEM_EVENT
        assert len(cti.undecodable) == 1 and "61166" in cti.undecodable[0]
        assert cti.close_reason is None and not cti.closed.is_set()
        await cti.close()


@pytest.mark.asyncio
async def test_three_unanswered_heartbeats_reset_the_connection():
    def mute(msg, w):
        if msg.TYPE is not MT.HEARTBEAT_REQ:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(mute) as srv:
        cti = await srv.client(heartbeat=0.05)
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert "3 heartbeats unanswered" in cti.close_reason
        assert sum(m.TYPE is MT.HEARTBEAT_REQ for m in srv.seen) == 3
        await cti.close()


@pytest.mark.asyncio
async def test_one_lost_heartbeat_conf_does_not_stop_heartbeating():
    lost: list[int] = []

    def lose_first(msg, w):
        if msg.TYPE is MT.HEARTBEAT_REQ and not lost:
            lost.append(msg.invoke_id)
            return
        Scripted.reply(w, default_reply(msg))

    async with Scripted(lose_first) as srv:
        cti = await srv.client(heartbeat=0.05)
        await asyncio.sleep(0.6)
        assert not cti.closed.is_set()
        assert sum(m.TYPE is MT.HEARTBEAT_REQ for m in srv.seen) >= 6  # one per interval, answered or not
        assert not cti.drain_events()  # HEARTBEAT_CONFs are the heartbeat's, not events
        await cti.close()


@pytest.mark.asyncio
async def test_a_failure_conf_to_a_heartbeat_resets_the_connection():
    def offline(msg, w):
        if msg.TYPE is MT.HEARTBEAT_REQ:
            Scripted.reply(w, M.FailureConf(invoke_id=msg.invoke_id, status=17, text="offline"))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(offline) as srv:
        cti = await srv.client(heartbeat=0.05)
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert "FAILURE_CONF to HEARTBEAT_REQ" in cti.close_reason and "offline" in cti.close_reason
        await cti.close()


@pytest.mark.asyncio
async def test_an_invoke_id_already_waiting_is_refused_and_the_counter_skips_it():
    def hold_late(msg, w):
        if msg.TYPE is MT.HOLD_CALL_REQ:
            asyncio.get_running_loop().call_later(0.2, Scripted.reply, w, M.HoldCallConf(invoke_id=msg.invoke_id))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(hold_late) as srv:
        cti = await srv.client()
        nxt = cti.next_invoke_id() + 1
        first = asyncio.create_task(cti.request(_hold(nxt), timeout=5))
        await asyncio.sleep(0.02)
        with pytest.raises(ValueError, match=f"InvokeID {nxt} is already waiting"):
            await cti.request(_hold(nxt), timeout=5)
        assert cti.next_invoke_id() != nxt  # the counter does not hand it out while it waits
        assert (await first).TYPE is MT.HOLD_CALL_CONF
        await cti.close()


@pytest.mark.asyncio
async def test_a_confirmation_of_another_type_does_not_answer_the_request():
    def wrong(msg, w):
        if msg.TYPE is MT.HOLD_CALL_REQ:
            Scripted.reply(w, M.RetrieveCallConf(invoke_id=msg.invoke_id))
            Scripted.reply(w, M.HoldCallConf(invoke_id=msg.invoke_id))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(wrong) as srv:
        cti = await srv.client()
        assert (await cti.request(_hold(), timeout=5)).TYPE is MT.HOLD_CALL_CONF
        assert [m.TYPE for m in cti.drain_events()] == [MT.RETRIEVE_CALL_CONF]  # handed out as unsolicited
        await cti.close()


@pytest.mark.asyncio
async def test_failure_conf_raises_request_failed_and_client_password_is_sent():
    def refuse(msg, w):
        if msg.TYPE is MT.HOLD_CALL_REQ:
            Scripted.reply(w, M.FailureConf(invoke_id=msg.invoke_id, status=4, text="no such call"))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(refuse) as srv:
        cti = await srv.client(client_password=b"s3cret")
        assert srv.seen[0].client_password == b"s3cret"
        with pytest.raises(RequestFailed) as exc:
            await cti.request(_hold(), timeout=5)
        assert exc.value.status == 4
        # each code with its name (it read "FAILURE_CONF status 4" alone)
        assert str(exc.value) == "HOLD_CALL_REQ refused: FAILURE_CONF status 4 E_CTI_SESSION_NOT_OPEN (no such call)"
        await cti.close()


@pytest.mark.asyncio
async def test_request_failed_names_the_codes_of_a_control_failure_conf():
    from mockcti.wire.enums import CCXErrorCode, ControlFailureCode

    def refuse(msg, w):
        if msg.TYPE is MT.HOLD_CALL_REQ:
            Scripted.reply(w, M.ControlFailureConf(invoke_id=msg.invoke_id, failure_code=int(
                ControlFailureCode.CF_INVALID_OBJECT_STATE), ccx_error_code=int(CCXErrorCode.CCX_AGENT_DEVICE_BUSY)))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(refuse) as srv:
        cti = await srv.client()
        with pytest.raises(RequestFailed) as exc:
            await cti.request(_hold(), timeout=5)
        assert str(exc.value) == (f"HOLD_CALL_REQ refused: CONTROL_FAILURE_CONF failure_code "
                                  f"{int(ControlFailureCode.CF_INVALID_OBJECT_STATE)} CF_INVALID_OBJECT_STATE "
                                  f"ccx_error_code 88005 CCX_AGENT_DEVICE_BUSY")
        await cti.close()


@pytest.mark.asyncio
async def test_received_keeps_the_latest_messages_only():
    """A long-running bridge kept every message it ever got (about 1 GB an hour under load)."""
    async with Scripted() as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5, keep_received=3)
        await cti.open_bridge(heartbeat=0)
        for i in range(5):
            srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3, text=f"n{i}"))
        for _ in range(200):
            if cti.received and getattr(cti.received[-1], "text", None) == "n4":
                break
            await asyncio.sleep(0.01)
        assert [m.text for m in cti.received] == ["n2", "n3", "n4"]
        assert len(cti.drain_events()) == 5  # the events not read yet are all still there
        await cti.close()


@pytest.mark.asyncio
async def test_unread_events_keep_the_latest_only_and_count_the_dropped():
    """The events nobody read were all kept: a bridge that never reads them (it watches ``received``, or
    only sends requests) grew by every event of the center for as long as it ran, ``keep_received``
    notwithstanding. The latest ``keep_events`` are kept (default 100,000), the dropped ones counted; the
    requests' confirmations are not events and still answer them."""
    async with Scripted() as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5, keep_events=3)
        await cti.open_bridge(heartbeat=0)
        for i in range(5):
            srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3, text=f"n{i}"))
        conf = await cti.request(M.HeartbeatReq(invoke_id=0), timeout=5)  # answered after the five events
        assert conf.TYPE is MT.HEARTBEAT_CONF
        assert [ev.text for ev in cti.drain_events()] == ["n2", "n3", "n4"] and cti.events_dropped == 2
        assert [m.text for m in cti.received if m.TYPE is MT.SYSTEM_EVENT] == [f"n{i}" for i in range(5)]
        await cti.close()


@pytest.mark.asyncio
async def test_connect_speaks_the_profile_asked_for_in_each_of_its_versions():
    """``CTIClient.connect(version=N, profile="ucce")`` opens a session of every UCCE version against a
    ucce server, in that version's widths: connect() always built a UCCX dialect, so a UCCE v18/v19
    client wrote its OPEN_REQ with UCCX v18's 2-byte tags and the server refused it (FAILURE_CONF
    E_CTI_BAD_MESSAGE_FORMAT). The default is UCCX's newest version, 18."""
    from mockcti.server import MockServer, ServerConfig
    from mockcti.testing.fixtures import hub_config_for
    from mockcti.wire.messages import QueryAgentStateReq

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0), hub_config=hub_config_for("ucce")).start()
    try:
        for version in range(9, 25):
            cti = await CTIClient.connect(server.host, server.port, version=version, profile="ucce", timeout=5)
            assert cti.dialect == Dialect.ucce(version)
            conf = await cti.open_bridge(heartbeat=0, timeout=5)
            assert conf.num_peripherals == (1 if version >= 14 else None), version
            reply = await cti.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"), timeout=5)
            assert reply.TYPE is MT.QUERY_AGENT_STATE_CONF and reply.agent_id == "1001"
            await cti.close()
        cti = await CTIClient.connect(server.host, server.port, profile="ucce", timeout=5)
        assert cti.dialect == Dialect.ucce(24)
        await cti.abort()
    finally:
        await server.stop()
    with pytest.raises(ValueError, match="unknown profile 'icm'"):
        await CTIClient.connect("127.0.0.1", 1, profile="icm")
    assert not server.journal.entries(kind="fault")


@pytest.mark.asyncio
async def test_timeouts_say_what_was_awaited_and_a_type_given_by_name_is_awaited():
    """A request or event wait that ran out raised a bare TimeoutError (asyncio.wait_for's, no text): the
    test's failure read "TimeoutError" and nothing else. And next_event("CALL_DELIVERED_EVENT"), a name
    as the server handles' assert_received take it, matched no event: it waited out its timeout."""
    async with Scripted() as srv:  # answers OPEN/HEARTBEAT/CLOSE only: a HOLD_CALL_REQ goes unanswered
        cti = await srv.client()
        with pytest.raises(TimeoutError, match=r"^no HOLD_CALL_CONF \(nor FAILURE_CONF\) to HOLD_CALL_REQ "
                                               r"InvokeID \d+ within 0\.05 s$"):
            await cti.request(_hold(), timeout=0.05)
        with pytest.raises(TimeoutError, match=r"^no CALL_DELIVERED_EVENT/END_CALL_EVENT within 0\.05 s$"):
            await cti.next_event(MT.CALL_DELIVERED_EVENT, MT.END_CALL_EVENT, timeout=0.05)
        with pytest.raises(TimeoutError, match=r"^no event matching where= within 0\.05 s$"):
            await cti.next_event(timeout=0.05, where=lambda ev: False)
        with pytest.raises(ValueError, match=r"^unknown message type 'CALL_DELIVERD_EVENT' \(did you mean "
                                             r"CALL_DELIVERED_EVENT\b"):
            await cti.next_event("CALL_DELIVERD_EVENT", timeout=60)  # at once, not after 60 s
        with pytest.raises(TypeError, match=r"^a message type is a MessageType, its number or its name, not"):
            await cti.next_event(None, timeout=60)
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=3))
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=4))
        assert (await cti.next_event("SYSTEM_EVENT", timeout=5)).system_event_id == 3
        assert (await cti.next_event(int(MT.SYSTEM_EVENT), timeout=5)).system_event_id == 4
        # no limit: timeout=None (as request(timeout=None)); it was "unsupported operand type(s) for +"
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=5))
        assert (await cti.next_event(MT.SYSTEM_EVENT, timeout=None)).system_event_id == 5
        srv.reply(srv.writers[0], M.SystemEvent(system_event_id=6))
        assert [ev.TYPE for ev in await cti.events_until("SYSTEM_EVENT", timeout=None)] == [MT.SYSTEM_EVENT]
        await cti.close()


@pytest.mark.asyncio
async def test_set_agent_state_takes_a_state_by_name():
    """cti.set_agent_state("READY") failed with "invalid literal for int() with base 10: 'READY'" (the
    server handles' set_agent_state take names); now the name is sent as its AgentState."""
    from mockcti.wire.enums import AgentState

    def confirm(msg, w):
        if msg.TYPE is MT.SET_AGENT_STATE_REQ:
            Scripted.reply(w, M.SetAgentStateConf(invoke_id=msg.invoke_id))
        else:
            Scripted.reply(w, default_reply(msg))

    async with Scripted(confirm) as srv:
        cti = await srv.client()
        await cti.set_agent_state("login", password="1234")
        await cti.set_agent_state("AGENT_STATE_READY")
        await cti.set_agent_state(AgentState.AGENT_STATE_NOT_READY, reason=7)
        sent = [m for m in srv.seen if m.TYPE is MT.SET_AGENT_STATE_REQ]
        assert [m.agent_state for m in sent] == [AgentState.AGENT_STATE_LOGIN, AgentState.AGENT_STATE_READY,
                                                 AgentState.AGENT_STATE_NOT_READY]
        with pytest.raises(ValueError, match=r"^unknown agent state 'REDY'; known: LOGIN, LOGOUT, NOT_READY, READY"):
            await cti.set_agent_state("REDY")
        with pytest.raises(TypeError, match=r"^an agent state is an AgentState, its number or its name, not NoneType"):
            await cti.set_agent_state(None)
        assert len([m for m in srv.seen if m.TYPE is MT.SET_AGENT_STATE_REQ]) == 3  # nothing sent for those
        await cti.close()


@pytest.mark.asyncio
async def test_a_client_that_closed_or_aborted_itself_says_so_not_closed_by_server():
    """After close() (CLOSE_REQ, the server's CLOSE_CONF, then the server closing the socket) a later
    request's ConnectionClosed said "closed by server": a desktop logging why its connection ended blamed
    the server for its own CLOSE_REQ. A server that does close the connection is still named."""
    from mockcti.server import MockServer, ServerConfig

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        cti = await CTIClient.connect(server.host, server.port, timeout=5)
        await cti.open_bridge(heartbeat=0, timeout=5)
        await cti.close()
        assert cti.close_reason == "closed by this client (CLOSE_REQ)"
        with pytest.raises(ConnectionClosed, match=r"^closed by this client \(CLOSE_REQ\)$"):
            await cti.next_event(timeout=1)
        cti = await CTIClient.connect(server.host, server.port, timeout=5)
        await cti.open_bridge(heartbeat=0, timeout=5)
        await cti.abort()
        assert cti.close_reason == "closed by this client"
        cti = await CTIClient.connect(server.host, server.port, timeout=5)
        await cti.open_bridge(heartbeat=0, timeout=5)
    finally:
        await server.stop()  # the server ends this one
    await asyncio.wait_for(cti.closed.wait(), 5)
    assert cti.close_reason == "closed by server"
    await cti.close()
    assert cti.close_reason == "closed by server"


class _Deaf(asyncio.Protocol):
    """A server connection that reads nothing until told to, then counts what comes and how it ends."""

    def __init__(self) -> None:
        self.received = 0
        self.ended: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.pause_reading()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.received += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(exc)


@contextlib.asynccontextmanager
async def deaf_server():
    """A server whose connections read nothing until told to: yields (port, its connections)."""
    deaf: list[_Deaf] = []

    def make() -> _Deaf:
        deaf.append(_Deaf())
        return deaf[-1]

    server = await asyncio.get_running_loop().create_server(make, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], deaf
    finally:
        for d in deaf:
            d.transport.close()
        server.close()
        await server.wait_closed()


async def fill_until_queued(cti: CTIClient) -> int:
    """Send to a server that reads nothing until the kernel's buffers are full and the client queues
    over 1 MiB itself; the bytes sent."""
    import socket

    cti._writer.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sent = 0
    for _ in range(200):
        cti.send_bytes(b"\0" * 65536)
        sent += 65536
        await asyncio.sleep(0)
        if cti._writer.transport.get_write_buffer_size() > 1024 * 1024:
            break
    assert cti._writer.transport.get_write_buffer_size() > 0
    return sent


@pytest.mark.asyncio
async def test_abort_against_a_server_that_reads_nothing_closes_the_socket_before_it_returns():
    """abort() closed the stream and waited 2 s for it to close; against a server that read nothing of what
    the client had queued it never did, and abort() returned leaving the socket open, its bytes still queued
    (the server got all of them whenever it read again) and the transport unclosed at the loop's end (a
    ResourceWarning). Now what the server has not taken by then is dropped and the socket is closed."""
    async with deaf_server() as (port, deaf):
        cti = await CTIClient.connect("127.0.0.1", port, timeout=5)
        sent = await fill_until_queued(cti)
        await cti.abort()
        assert cti.closed.is_set()
        peer = deaf[0]
        peer.transport.resume_reading()  # the server reads again: the stream ends without what the client dropped
        await asyncio.wait_for(asyncio.shield(peer.ended), 10)
        assert peer.received < sent


@pytest.mark.asyncio
async def test_a_server_that_half_closes_and_reads_nothing_leaves_no_socket_open():
    """The server sends its FIN (a half_close fault) and has stopped reading (pause_reading): the client's own
    close, at the end of the stream, waited for its write buffer to drain, which it never did, and the socket
    stayed open, its bytes queued, until close()/abort() — for a user told no close() is needed after the
    server closed. Now the queued bytes get eof_flush_timeout, then the socket is cut off."""
    async with deaf_server() as (port, deaf):
        cti = await CTIClient.connect("127.0.0.1", port, timeout=5)
        cti.eof_flush_timeout = 0.1
        await fill_until_queued(cti)
        deaf[0].transport.write_eof()  # the server's FIN; it still reads nothing
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert cti.close_reason == "closed by server"
        await asyncio.wait_for(asyncio.shield(cti._writer.wait_closed()), 10)
        assert cti._writer.get_extra_info("socket").fileno() == -1
        assert cti._writer.transport.get_write_buffer_size() == 0
        deaf[0].transport.resume_reading()  # the server reads again: the connection has ended
        await asyncio.wait_for(asyncio.shield(deaf[0].ended), 10)


@pytest.mark.asyncio
async def test_a_connect_that_runs_out_says_where_it_tried():
    """connect(timeout=) to a server that accepts no connection raised wait_for's bare TimeoutError: the
    failure read "TimeoutError" and named neither the address nor the time waited."""
    import socket
    import sys

    if sys.platform != "linux":  # (a listen(0) queue that drops the next SYN is Linux's)
        pytest.skip("relies on Linux's listen backlog")

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: one connection fills the queue, the next one's SYN is dropped
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            with pytest.raises(TimeoutError, match=rf"^no connection to 127\.0\.0\.1:{port} within 0\.2 s \("):
                await CTIClient.connect("127.0.0.1", port, timeout=0.2)


@pytest.mark.asyncio
async def test_a_connect_without_a_timeout_reports_the_systems_own(monkeypatch):
    """connect(timeout=None) leaves the connect to the system's limit; when that ran out (ETIMEDOUT,
    which Python raises as TimeoutError) the message formatted None as seconds: a TypeError."""
    import errno

    async def times_out(host, port, **kw):
        raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")

    monkeypatch.setattr(asyncio, "open_connection", times_out)
    with pytest.raises(TimeoutError, match=r"^no connection to 127\.0\.0\.1:9: \[Errno \d+\] Connection timed out$"):
        await CTIClient.connect("127.0.0.1", 9, timeout=None)


@pytest.mark.asyncio
async def test_a_request_timeout_says_when_the_server_is_not_reading():
    """A request to a server that had stopped reading timed out with "no HOLD_CALL_CONF (nor FAILURE_CONF)
    to HOLD_CALL_REQ ...": blaming the answer, when the request had not even gone out (it sat in the
    client's buffer behind what the server had not read). The message now says so."""
    async with deaf_server() as (port, _):
        cti = await CTIClient.connect("127.0.0.1", port, timeout=5)
        await fill_until_queued(cti)
        with pytest.raises(TimeoutError, match=r"^no HOLD_CALL_CONF \(nor FAILURE_CONF\) to HOLD_CALL_REQ InvokeID "
                                               r"\d+ within 0\.05 s; \d+ bytes this client wrote are still unsent: "
                                               r"the server is not reading$"):
            await cti.request(_hold(), timeout=0.05)
        await cti.abort(flush_timeout=0)


@pytest.mark.asyncio
async def test_a_failure_event_ends_the_session_the_client_sends_nothing_more():
    """A FAILURE_EVENT ends the session (reference §3.5, §7.1): the client kept heartbeating, the mock
    recorded PROTO-AFTER-FAILURE-EVENT against it, and it finally closed with "3 heartbeats unanswered",
    naming neither the FAILURE_EVENT nor its status. Now it stops sending, a waiting request and later
    ones raise ConnectionClosed naming the FAILURE_EVENT, and the event itself is still handed out."""
    from mockcti.server import MockServer, ServerConfig
    from mockcti.wire.enums import StatusCode

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        cti = await CTIClient.connect(server.host, server.port, timeout=5)
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0.4, timeout=5)
        for _ in range(100):  # a heartbeat answered: the next one is 0.4 s away (none crosses the FAILURE_EVENT)
            if any(m.TYPE is MT.HEARTBEAT_CONF for m in cti.received):
                break
            await asyncio.sleep(0.02)
        assert cti.heartbeats_sent == 1
        server.call(lambda hub, now: hub.deliver(hub.center.failure_event(
            now, StatusCode.E_CTI_UNSPECIFIED_FAILURE, text="node going down")))
        await asyncio.wait_for(cti.closed.wait(), 5)
        want = r"^FAILURE_EVENT status 17 E_CTI_UNSPECIFIED_FAILURE \(node going down\): the server ended the session$"
        assert cti.close_reason is not None and re.match(want, cti.close_reason), cti.close_reason
        ev = await cti.next_event(MT.FAILURE_EVENT, timeout=1)
        assert ev.status == StatusCode.E_CTI_UNSPECIFIED_FAILURE
        with pytest.raises(ConnectionClosed, match=want):
            await cti.request(_hold(), timeout=1)
        sent = cti.heartbeats_sent
        await asyncio.sleep(1.0)  # two and a half heartbeat intervals
        assert cti.heartbeats_sent == sent
        await cti.close()  # no CLOSE_REQ after the session ended
        assert re.match(want, cti.close_reason)
        await asyncio.sleep(0.1)
        rules = [e.data for e in server.journal.violations()]
        assert rules == [], rules
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_the_mock_keeps_a_session_its_auto_config_reset_failure_event_asked_to_download_again():
    """Against the mock itself: after FAILURE_EVENT E_CTI_AUTO_CONFIG_RESET the client does what reference §7.1
    asks (the session goes on, it downloads the configuration again); the mock had ended the session on any
    FAILURE_EVENT, so those requests went unanswered and were PROTO-AFTER-FAILURE-EVENT violations."""
    from mockcti.server import MockServer, ServerConfig
    from mockcti.wire.enums import StatusCode

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        cti = await CTIClient.connect(server.host, server.port, timeout=5)
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        server.call(lambda hub, now: hub.deliver(hub.center.failure_event(now, StatusCode.E_CTI_AUTO_CONFIG_RESET)))
        ev = await cti.next_event(MT.FAILURE_EVENT, timeout=2)
        assert ev.status == StatusCode.E_CTI_AUTO_CONFIG_RESET and not cti.closed.is_set()
        conf = await cti.request(M.QueryAgentStateReq(invoke_id=cti.next_invoke_id(), agent_id="1001"), timeout=2)
        assert conf.TYPE is MT.QUERY_AGENT_STATE_CONF
        await cti.close()
        assert cti.close_reason == "closed by this client (CLOSE_REQ)"
        assert [e.data["rule"] for e in server.journal.violations()] == []
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_failure_event_auto_config_reset_leaves_the_session_open():
    """E_CTI_AUTO_CONFIG_RESET asks the client to download the configuration again (reference §7.1): the
    session goes on, requests are still answered."""
    from mockcti.wire.enums import StatusCode

    async with Scripted() as srv:
        cti = await srv.client()
        srv.reply(srv.writers[0], M.FailureEvent(status=int(StatusCode.E_CTI_AUTO_CONFIG_RESET)))
        ev = await cti.next_event(MT.FAILURE_EVENT, timeout=2)
        assert ev.status == StatusCode.E_CTI_AUTO_CONFIG_RESET
        await cti.close()
        assert cti.close_reason == "closed by this client (CLOSE_REQ)"
        assert srv.seen[-1].TYPE is MT.CLOSE_REQ


@pytest.mark.asyncio
@pytest.mark.parametrize("server_dialect", [Dialect.ucce(18), Dialect.uccx(18, v18_length_width=1)],
                         ids=["1-byte tags", "1-byte lengths"])
async def test_a_refusal_in_other_field_widths_is_still_read_with_its_text(server_dialect):
    """A server of another profile/version answers the OPEN_REQ in its own floating-field widths: the
    client could not decode that FAILURE_CONF (its Text), noted it in ``undecodable`` and waited out the
    open's timeout ("no OPEN_CONF ... within 10 s"). It now reads a refusal leniently, in any width that
    decodes it, and raises RequestFailed with the server's status and text at once."""
    from mockcti.wire.enums import StatusCode

    def handler(msg, writer):
        if msg.TYPE is MT.OPEN_REQ:
            writer.write(encode(M.FailureConf(invoke_id=msg.invoke_id, status=int(StatusCode.E_CTI_INVALID_VERSION),
                                              text="version 18 is not supported here"), server_dialect))

    async with Scripted(handler) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        with pytest.raises(RequestFailed, match=r"^OPEN_REQ refused: FAILURE_CONF status 1 E_CTI_INVALID_VERSION "
                                                r"\(version 18 is not supported here\)"):
            await cti.open_bridge(heartbeat=0, timeout=2)
        assert cti.undecodable == []
        await cti.abort()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_profile, connect, said", [
    ("ucce", {}, 'uccx protocol version 18 (2-byte floating tags, 2-byte lengths): the server may speak another '
                 'profile or version; pass profile="ucce" or version= to CTIClient.connect'),
    ("uccx", {"profile": "ucce", "version": 18},
     'ucce protocol version 18 (1-byte floating tags, 1-byte lengths): the server may speak another '
     'profile or version; pass profile="uccx" or version= to CTIClient.connect'),
    ("uccx", {"version": 19}, 'uccx protocol version 19'),
])
async def test_an_open_refused_by_a_server_of_another_profile_says_what_to_do(server_profile, connect, said):
    """The README quick start against `mockcti serve --profile ucce` raised a bare "OPEN_REQ refused:
    FAILURE_CONF status 25 E_CTI_BAD_MESSAGE_FORMAT": the server could not read the OPEN_REQ, so it sends
    no Text, and nothing told the user that the profile was the cause. The refusal now names what the
    client spoke and what to pass."""
    from mockcti.server import MockServer, ServerConfig
    from mockcti.testing.fixtures import hub_config_for

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0),
                              hub_config=hub_config_for(server_profile)).start()
    try:
        cti = await CTIClient.connect(server.host, server.port, timeout=5, **connect)
        with pytest.raises(RequestFailed, match=r"^OPEN_REQ refused: FAILURE_CONF status \d+ E_CTI_\w+; this client spoke "
                                                + re.escape(said)) as exc:
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        assert exc.value.hint is not None and exc.value.hint.startswith("this client spoke")
        await cti.abort()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_close_req_sent_by_request_stops_the_heartbeats():
    """Nothing follows a CLOSE_REQ (reference §3.5; the mock records PROTO-AFTER-CLOSE). close() stopped
    heartbeating first, but a CLOSE_REQ sent with request() or send() did not: heartbeats went on while
    the CLOSE_CONF was on its way."""
    def handler(msg, writer):
        if msg.TYPE is MT.CLOSE_REQ:  # a server slow to confirm the close
            asyncio.get_running_loop().call_later(0.4, Scripted.reply, writer, M.CloseConf(invoke_id=msg.invoke_id))
        else:
            Scripted.reply(writer, default_reply(msg))

    async with Scripted(handler) as srv:
        cti = await srv.client(heartbeat=0.05)
        for _ in range(100):
            if cti.heartbeats_sent:
                break
            await asyncio.sleep(0.02)
        conf = await cti.request(M.CloseReq(invoke_id=0, status=0), timeout=2)
        assert conf.TYPE is MT.CLOSE_CONF
        after = [m.TYPE.name for m in srv.seen[[m.TYPE for m in srv.seen].index(MT.CLOSE_REQ) + 1:]]
        assert after == []
        await cti.abort()


@pytest.mark.asyncio
async def test_close_after_an_open_that_timed_out_still_closes_the_session():
    """An OPEN_REQ whose OPEN_CONF came after the open's timeout left a session open on the server that
    close() never closed: no CLOSE_REQ went out (the client counted the session as never opened), and the
    server kept the agent's phone until its IdleTimeout (a real UCCX refuses the next open
    E_CTI_DEVICE_IN_USE meanwhile; the mock records PROTO-NO-CLOSE). close() now sends CLOSE_REQ after
    an open that may have succeeded."""
    def slow_open(msg, writer):
        if msg.TYPE is MT.OPEN_REQ:
            asyncio.get_running_loop().call_later(0.3, Scripted.reply, writer, default_reply(msg))
        else:
            Scripted.reply(writer, default_reply(msg))

    async with Scripted(slow_open) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        with pytest.raises(TimeoutError, match="no OPEN_CONF"):
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=0.05)
        await cti.next_event(MT.OPEN_CONF, timeout=2)  # the late OPEN_CONF: the session is open
        await cti.close(timeout=2)
        assert [m.TYPE for m in srv.seen] == [MT.OPEN_REQ, MT.CLOSE_REQ]
        assert cti.close_reason == "closed by this client (CLOSE_REQ)"


@pytest.mark.asyncio
async def test_request_of_a_message_without_invoke_id_says_how_to_send_it():
    """CONFIG_REQUEST_KEY_EVENT and CONFIG_REQUEST_EVENT are requests without an InvokeID (reference §7.1),
    answered by events: request() sent one and waited out its timeout for a confirmation that never comes
    ("no confirmation (nor FAILURE_CONF) to CONFIG_REQUEST_KEY_EVENT InvokeID None"); nothing is sent now."""
    async with Scripted() as srv:
        cti = await srv.client()
        with pytest.raises(TypeError, match=r"^CONFIG_REQUEST_KEY_EVENT has no InvokeID and no confirmation "
                                            r"\(reference §7\.1\): send\(\) it and await its answer with "
                                            r"next_event\(\)$"):
            await cti.request(M.ConfigRequestKeyEvent(customer_id=0), timeout=0.5)
        await cti.close()
        assert [m.TYPE for m in srv.seen] == [MT.OPEN_REQ, MT.CLOSE_REQ]


class _Peer:
    """A CTI server on 127.0.0.1 port 0 that answers the first message with ``answer(msg)`` and then
    reads on, recording how the client ended the connection: "RST" (a reset: the read raises
    ConnectionResetError) or "FIN" (an orderly close: the read returns b"")."""

    def __init__(self, answer: Callable[[M.Message], M.Message | None]) -> None:
        self.answer = answer
        self.seen: list[M.Message] = []
        self.ends: list[str] = []
        self.ended = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> "_Peer":
        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            fb = FrameBuffer()
            try:
                for _ in range(1000):  # bounded: a client sends a few messages here
                    data = await asyncio.wait_for(reader.read(65536), 10)
                    if not data:
                        self.ends.append("FIN")
                        return
                    for item in fb.feed(data):
                        msg = decode(item, D)
                        self.seen.append(msg)
                        reply = self.answer(msg)
                        if reply is not None:
                            writer.write(encode(reply, D))
            except ConnectionResetError:
                self.ends.append("RST")
            except TimeoutError:
                self.ends.append("still open")
            finally:
                self.ended.set()
                writer.close()

        self.server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.asyncio
@pytest.mark.parametrize("status, name, next_step", [
    (10, "E_CTI_DEVICE_IN_USE", "open again on a new connection, not before 10 s (reference §3.2)"),
    (92, "E_CTI_SERVER_NOT_MASTER", "open on the other node of the cluster (reference §3.1)"),
])
async def test_a_refused_open_resets_the_connection(status, name, next_step):
    """Reference §3.2: after a refused OPEN_REQ the client resets the TCP connection (and retries, if at
    all, on a new one after 10 s; at once on the other node after E_CTI_SERVER_NOT_MASTER, §3.1). The
    client kept the connection open: a second open() went out on it, which the mock flags
    PROTO-RETRY-TOO-SOON. The server now sees a reset, the error names the status, text and what next,
    and a second open() on the client raises ConnectionClosed without sending anything."""
    def refuse(msg):
        return M.FailureConf(invoke_id=msg.invoke_id, status=status, text="not today")

    async with _Peer(refuse) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        with pytest.raises(RequestFailed) as exc:
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        assert str(exc.value) == f"OPEN_REQ refused: FAILURE_CONF status {status} {name} (not today); " + exc.value.hint
        assert exc.value.hint.endswith(next_step) and "the connection is reset" in exc.value.hint
        await asyncio.wait_for(srv.ended.wait(), 5)
        assert srv.ends == ["RST"]
        assert cti.closed.is_set() and cti.close_reason == str(exc.value)
        with pytest.raises(ConnectionClosed, match="OPEN_REQ refused"):
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        assert [m.TYPE for m in srv.seen] == [MT.OPEN_REQ]
        await cti.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("heartbeat_answer, reason", [
    (None, "3 heartbeats unanswered"),
    ("offline", "FAILURE_CONF to HEARTBEAT_REQ"),
])
async def test_a_session_the_client_declares_failed_ends_with_a_reset(heartbeat_answer, reason):
    """Reference §3.4: three unanswered heartbeats, or a FAILURE_CONF to one (the server is offline), and
    the client declares the session failed and resets the TCP connection. It closed the socket with a FIN,
    the end of a client that closed on purpose; the server now reads a reset (ECONNRESET)."""
    def answer(msg):
        if msg.TYPE is MT.HEARTBEAT_REQ:
            if heartbeat_answer is None:
                return None
            return M.FailureConf(invoke_id=msg.invoke_id, status=17, text="offline")
        return default_reply(msg)

    async with _Peer(answer) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0.05, timeout=5)
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert reason in cti.close_reason
        await asyncio.wait_for(srv.ended.wait(), 5)
        assert srv.ends == ["RST"]
        await cti.close()


@pytest.mark.asyncio
async def test_a_late_refusal_of_an_open_that_timed_out_resets_and_sends_no_close_req():
    """An OPEN_REQ that timed out may still be answered. A late OPEN_CONF opened the session (close()
    closes it, test above); a late FAILURE_CONF did not, yet close() sent CLOSE_REQ on the connection
    all the same: a message before any session is open, which UCCX answers E_CTI_SESSION_NOT_OPEN and
    the mock flags PROTO-OPEN-FIRST, and the refused connection stayed open against §3.2. The client now
    resets the connection when the late refusal comes, hands the FAILURE_CONF out as an event, and
    close() sends nothing."""
    def late_refusal(msg):
        if msg.TYPE is MT.OPEN_REQ:
            refusal = M.FailureConf(invoke_id=msg.invoke_id, status=10, text="phone in use")
            asyncio.get_running_loop().call_later(0.3, lambda: srv.writers[0].write(encode(refusal, D)))
            return None
        return default_reply(msg)

    async with _Peer(late_refusal) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        with pytest.raises(TimeoutError, match="no OPEN_CONF"):
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=0.05)
        late = await cti.next_event(MT.FAILURE_CONF, timeout=2)
        assert late.status == 10
        await asyncio.wait_for(cti.closed.wait(), 5)
        assert cti.close_reason == ("OPEN_REQ refused after its timeout: FAILURE_CONF status 10 E_CTI_DEVICE_IN_USE "
                                    "(phone in use); the connection is reset; open again on a new connection, "
                                    "not before 10 s (reference §3.2)")
        await cti.close(timeout=2)
        await asyncio.wait_for(srv.ended.wait(), 5)
        assert [m.TYPE for m in srv.seen] == [MT.OPEN_REQ]
        assert srv.ends == ["RST"]


@pytest.mark.asyncio
@pytest.mark.parametrize("reset, end", [(False, "FIN"), (True, "RST")])
async def test_abort_resets_the_connection_when_asked(reset, end):
    """``abort()`` closes without CLOSE_REQ: the server reads the end of a client leaving on purpose (FIN).
    ``abort(reset=True)`` is the reset a client that gives its session up sends (reference §3.1, §3.4; the
    fuzz example's client reconnects after one): the server reads ECONNRESET. Nothing but the OPEN_REQ reached
    the server either way."""
    async with _Peer(default_reply) as srv:
        cti = await CTIClient.connect("127.0.0.1", srv.port, timeout=5)
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        await cti.abort(reset=reset)
        assert cti.closed.is_set() and cti.close_reason == "closed by this client"
        await asyncio.wait_for(srv.ended.wait(), 5)
        assert srv.ends == [end]
        assert [m.TYPE for m in srv.seen] == [MT.OPEN_REQ]
