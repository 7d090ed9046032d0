"""The only asyncio module: sockets <-> the hub.

Owns the listening socket, one :class:`asyncio.Protocol` per connection, the hub's timer and
the execution of the hub's actions. Writes are batched: what one received chunk makes for its own
connection only goes out in one ``transport.write`` at once (a request's confirmation and events
need no extra loop turn); when it also makes messages for other connections (a bridge, the other
agent of a call), everything is written at the end of the loop turn, one ``transport.write`` per
connection however many chunks of other connections fed it; a client that stops reading
is disconnected once its write buffer passes ``max_write_buffer`` and the fact is recorded,
so it never stalls anyone else; a client that sends as fast as it can does not either: reads are
at most ``fair_read_bytes`` and a full one waits a loop turn before the next. The listen backlog is large enough for
thousands of simultaneous connects. Graceful shutdown tells every client (SYSTEM_EVENT SYS_CCX_OFFLINE) and
then closes, in order as every close the server makes but a reset (our FIN, then what the client still
sends is drained until its own FIN, so that it reads an end of stream, not ECONNRESET: _Connection.close). A bug below (an exception out of the hub) is contained: it is recorded in the journal
as an "internal error" fault with its traceback on stderr, what the hub had queued still goes out,
the connection whose input (or arrival) hit it is reset (its session may be half-updated), the
timer is re-armed, and every other connection carries on; one as a connection goes is recorded too.

Everything else (protocol, center, scenario, journal) is sans-IO and lives below.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
import sys
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mockcti.center import CenterConfig, ContactCenter
from mockcti.center.config import as_center_config
from mockcti.hub import Close, HalfClose, Hub, HubConfig, PauseReading, ResumeReading, Write, WriteChunked
from mockcti.journal import Journal

__all__ = ["ServerConfig", "MockServer", "serve"]

_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


@dataclass(frozen=True)
class ServerConfig:
    """Transport limits of the server. Every limit is named and configurable."""

    host: str = "127.0.0.1"
    port: int = 42027
    backlog: int = 8192  # thousands of simultaneous connects
    max_write_buffer: int = 4 * 1024 * 1024  # bytes queued to one slow reader before it is disconnected
    read_chunk_pause: int = 0  # reserved
    #: the most one read of a connection takes (a multiple of 12: heartbeat frames stay whole), and a read
    #: that fills it makes its connection wait one loop turn before the next: a client sending as fast as
    #: it can held the loop for a second and more (uvloop reads a socket up to 32 times in a row while
    #: data is there; a 256 KiB read with the trace on took 1.5 s), and every other client and timer waited
    fair_read_bytes: int = 12 * 1024
    shutdown_grace: float = 1.0  # seconds to let SYSTEM_EVENT / CLOSE_CONF drain at shutdown
    #: seconds a connection the server closes (after CLOSE_REQ, a new session of the same client …) may
    #: take to drain what is queued for it; a peer that reads none of it is then reset
    close_linger: float = 10.0
    #: a connection the server closes in order gets its last bytes and our FIN (shutdown of the write
    #: side), then what the peer still sends is read and discarded until its own FIN, until nothing came
    #: for close_drain_quiet seconds, for at most close_drain seconds and close_drain_bytes bytes: a socket
    #: closed with input unread (or arriving) sends a TCP reset (RST), which makes the peer's read fail
    #: with ECONNRESET and may discard the last answer before the peer read it
    close_drain: float = 2.0
    close_drain_quiet: float = 0.25
    close_drain_bytes: int = 1024 * 1024
    #: while a pause_reading / stop_reading fault holds a connection's reading, the server cannot see its
    #: client's FIN or reset (it reads nothing): every paused_peer_check seconds it asks the socket
    #: (:func:`peer_left`, one system call per paused connection; nothing while none is paused) and ends the
    #: session of a client that has gone; it asks again when the pause ends, before reading
    paused_peer_check: float = 0.5


class _Connection(asyncio.BufferedProtocol):
    """One client connection. It reads into the server's read buffer (``get_buffer``), at most
    ``ServerConfig.fair_read_bytes`` at a time, and a read that fills it waits one loop turn before
    the next: what one turn of the loop does for one connection stays small (see ServerConfig)."""

    __slots__ = ("server", "sid", "transport", "pending", "closing", "peer", "dribble_end", "dribbled", "eof_sent",
                 "why", "fault_paused", "yielding", "drain_timer", "drain_until", "linger_timer", "left", "unread")

    def __init__(self, server: "MockServer") -> None:
        self.server = server
        self.sid = 0
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.closing = False
        self.peer = ""
        self.dribble_end = 0.0  # loop time when the last dribbled chunk is due (keeps byte order)
        # what a dribble still has to do, in order (MockServer._after_dribble): while it holds anything, a
        # write, a close or a half_close goes behind it (the loop's clock said whether a dribble was in
        # progress: a loop turn slower than the dribble, or uvloop's clock in debug mode, let a write jump it)
        self.dribbled: deque[tuple[float, Callable[..., object], tuple]] | None = None
        self.eof_sent = False  # a half_close fault sent our FIN: reading goes on, nothing more can be written
        self.why = ""  # why the server ended the connection (the hub's reason), for the journal's "close"
        self.fault_paused = False  # a pause_reading fault holds reading (only its resume_reading resumes it)
        self.yielding = False  # reading paused for one loop turn after a full read (ServerConfig.fair_read_bytes)
        self.drain_timer: asyncio.TimerHandle | None = None  # the end of an orderly close's drain (close())
        self.drain_until = 0.0  # loop time: the drain's end at the latest (ServerConfig.close_drain)
        #: the reset of an orderly close whose queued bytes have not gone out in ServerConfig.close_linger
        #: seconds (close()); cancelled once they have or the connection is gone: it held the connection (its
        #: session's objects, the transport) for those 10 s after the end
        self.linger_timer: asyncio.TimerHandle | None = None
        #: "peer reset" / "peer closed": the client had left before the server ended the connection, unseen
        #: (a pause_reading fault held reading, or it left in that loop turn: :meth:`_left_unseen`); the
        #: journal's "close" says so
        self.left = ""
        self.unread = 0  # what that client sent that the server never read (bytes; the journal's "close" says so)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        srv = self.server
        if srv._refusing and srv._server is None:  # after stop() ended: nobody would ever close it
            self.closing = True
            transport.close()
            return
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hub = srv.hub
        try:
            self.sid = hub.connect(srv.now(), self.peer)
        except Exception as exc:  # a bug below (a scenario's on_connect): contained, this connection reset
            # the session connect() registered before it raised, if it got that far (IDs only grow)
            sid = next(reversed(hub.conns), 0)
            if sid and sid not in srv.connections:
                self.sid = sid
                srv.connections[sid] = self
            srv._internal_error(exc, self, "connect")
            return
        srv.connections[self.sid] = self
        srv._run(hub.take_actions())
        if srv._refusing and srv.connections.get(self.sid) is self:
            # accepted as the server stopped (taken from the listening socket's queue before it closed, or
            # accepted in that loop turn): closed as the shutdown closes every connection, in order — our
            # FIN, what the client sent read and discarded —, stop() waiting for it. Closed at once, a
            # client whose request was in the socket unread was reset
            hub.close(self.sid, "server shutdown")
            srv._run(hub.take_actions())

    def data_received(self, data: bytes) -> None:
        srv = self.server
        now = srv.now()
        due = srv._timer_at
        if due is not None and due <= now:  # the loop may hand us input before a timer already due:
            srv._timers_due(now)           # what was due happens first (a scenario's wait, a timeout)
        try:
            actions = srv.hub.receive(self.sid, data, now)
        except Exception as exc:  # a bug below: contained (module docstring), never asyncio's fatal error
            srv._internal_error(exc, self, "receive")
            return
        srv._run(actions, self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server._read_view  # one for all connections: each read is taken before the next one

    def buffer_updated(self, nbytes: int) -> None:
        view = self.server._read_view
        self.data_received(bytes(view[:nbytes]))
        if nbytes == len(view) and not self.yielding:  # a full read: more is waiting, the others go first
            self._yield_turn()

    def _yield_turn(self) -> None:
        """After a full read, let the other connections and the timers have the loop before the next
        read of this one (see ServerConfig.fair_read_bytes)."""
        transport = self.transport
        if transport is None or self.closing or self.fault_paused or transport.is_closing():
            return
        transport.pause_reading()
        self.yielding = True
        self.server._loop.call_soon(self._end_yield)  # type: ignore[union-attr]

    def _end_yield(self) -> None:
        self.yielding = False
        transport = self.transport
        if transport is not None and not self.closing and not self.fault_paused and not transport.is_closing():
            transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.sid:  # closed in connection_made: never a session
            return
        srv = self.server
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        srv._draining.discard(self)
        if self.linger_timer is not None:
            self.linger_timer.cancel()
            self.linger_timer = None
        if srv.connections.get(self.sid) is not self:  # its session already ended (_sent): a drain is over
            return
        if self.closing:
            self._end_session(self._closed_reason())
            return
        if self.fault_paused and self.transport is not None:
            # (a write to a client that left while reading was paused failed: how it left, and what it sent
            # that the server never read, as when the server finds it gone: :meth:`end_if_left`)
            self._left_unseen(self.transport)
        self._end_session(self.left or ("peer reset" if exc is not None else "peer closed"))

    # -- writes, batched (see the module docstring) ----------------------------------------------

    def flush(self) -> None:
        if not self.pending or self.transport is None or self.transport.is_closing():
            self.pending.clear()
            return
        if self.eof_sent:  # after our FIN nothing can be written (write() would raise): dropped, journalled
            srv = self.server
            srv.hub.journal.record("fault", srv.now(), self.sid, fault="write after half_close dropped",
                                   bytes=sum(len(p) for p in self.pending))
            self.pending.clear()
            return
        data = b"".join(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending.clear()
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.server.config.max_write_buffer:
            srv = self.server
            srv.hub.journal.record("fault", srv.now(), self.sid, fault="slow reader disconnected",
                                   buffered=self.transport.get_write_buffer_size())
            srv.slow_readers += 1
            self.abort("slow reader")

    def close(self, why: str = "") -> None:
        """End the connection in order (a lingering close): what is queued goes out, then our FIN
        (``write_eof``), and the peer's input goes on being read, and discarded (:class:`_Drain`), until
        its own FIN, ServerConfig.close_drain_quiet seconds with nothing coming, close_drain seconds or
        close_drain_bytes bytes; only then is the socket closed. A plain close() with input unread (a client that pipelined requests behind a frame that
        ends the connection), or arriving after it, made the kernel send a reset: the client's read
        failed with ECONNRESET instead of an end of stream, and a reset may discard the FAILURE_CONF
        before the client read it. The session ends for the hub once the last bytes are out (:meth:`_sent`)."""
        transport = self.transport
        if transport is None:
            return
        if self._left_unseen(transport):  # (a pause_reading fault hid its reset): nothing to send or drain
            self.pending.clear()
            self.why = self.why or why
            self.closing = True
            transport.abort()
            return
        self.flush()
        self.why = self.why or why
        if self.closing or transport.is_closing():  # (a close already begun, a reset: nothing more to do)
            self.closing = True
            return
        self.closing = True
        srv = self.server
        loop = srv._loop
        if loop is None or not (self.eof_sent or transport.can_write_eof()):
            transport.close()
            return
        if not self.eof_sent and self.write_eof():  # (sent once what is queued is out)
            transport.close()  # the peer is gone already (ENOTCONN after its reset): nothing to drain
            return
        transport.set_protocol(_Drain(self, loop.time()))
        self.fault_paused = False
        transport.resume_reading()  # (a pause_reading fault, a fair-read yield: the drain reads)
        if transport.get_write_buffer_size():
            # what is still queued goes out before the FIN; a peer that never reads it would keep the
            # connection (and its session) for ever: it gets ServerConfig.close_linger seconds. Its
            # transport tells the drain when it is all out (resume_writing once nothing is buffered)
            transport.set_write_buffer_limits(high=0, low=0)
            self.linger_timer = loop.call_later(srv.config.close_linger, self._close_overdue)
        else:
            self._sent()

    def write_eof(self) -> str:
        """Send our FIN (``transport.write_eof()``, once what is queued is out); nothing can be written
        after it. Returns "" when it went, else why not: a peer that reset the connection before the
        server read the reset (it may arrive in the loop turn the FIN is due: a delayed fault on a timer,
        the control API) made the socket's shutdown() fail with ENOTCONN, which asyncio raises; uvloop
        raises RuntimeError on a handle already closed. Either way nothing more is written to it
        (asyncio refuses a write() after a write_eof() that failed), and its reading, not stopped, reads
        the reset: the journal's "close" says "peer reset"."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return "the connection is gone"
        if self.eof_sent:
            return ""
        self.eof_sent = True
        try:
            transport.write_eof()
        except (OSError, RuntimeError) as exc:
            return f"the connection is gone ({type(exc).__name__}: {exc})"
        return ""

    def half_close(self) -> None:
        """A half_close fault: what is queued goes out, then our FIN; reading goes on. A peer gone
        meanwhile (its reset not read yet: :meth:`write_eof`) is journalled, nothing raised."""
        self.flush()
        transport = self.transport
        if transport is None or self.eof_sent or not transport.can_write_eof():
            return
        gone = self.write_eof()
        if gone:
            srv = self.server
            srv.hub.journal.record("fault", srv.now(), self.sid, fault=f"half_close: {gone}")

    def _sent(self) -> None:
        """Everything the server had to say on a connection it closes went out, our FIN with it: the
        session ends now for the hub (the journal's "close", the center's session), as when the socket
        was closed at this point; the socket drains the peer's input for ServerConfig.close_drain seconds."""
        if self.linger_timer is not None:  # all out: no reset for bytes left unread
            self.linger_timer.cancel()
            self.linger_timer = None
        srv = self.server
        if srv.connections.get(self.sid) is not self or self.transport is None or self.drain_timer is not None:
            return
        srv._draining.add(self)
        loop = srv._loop
        assert loop is not None
        drain = self.transport.get_protocol()
        if isinstance(drain, _Drain):
            drain.last = now = loop.time()  # the quiet is counted from our FIN
            self.drain_until = now + srv.config.close_drain
            self.drain_timer = loop.call_later(min(srv.config.close_drain_quiet, srv.config.close_drain),
                                               self._drain_due)
        self._end_session(self._closed_reason())

    def _closed_reason(self) -> str:
        """The journal's "close" reason of a connection the server ended: why it did, or how the client
        had left already, unseen (:meth:`_left_unseen`)."""
        if self.left:
            return self.left
        return f"closed by server: {self.why}" if self.why else "closed by server"

    def _left_unseen(self, transport: asyncio.Transport, *, ask: bool = False) -> bool:
        """Before the server ends a connection: did the client leave already, unseen? Its reset or FIN
        waits unread in the socket when a pause_reading fault holds reading (the loop reads nothing of a
        paused transport: connection_lost never came), or (``ask``: the server's reason is not the
        client's own input) when it came in the loop turn the server ends the connection (its stop, a
        fault, another connection's doing); the journal said "closed by server: server shutdown" (or
        whatever the server ended it for) of a client that had reset or closed first. :attr:`left` says
        how; True when it reset (nothing can be written to it: the caller just closes)."""
        if (ask or self.fault_paused) and not self.closing and not self.left:
            self.left, self.unread = peer_left(transport.get_extra_info("socket"))
        return self.left == "peer reset"

    def end_if_left(self) -> bool:
        """While a pause_reading fault holds reading (or as it ends): has the client gone, unseen (its FIN or
        reset waits unread behind what it sent)? Then its session ends as it left — "peer closed" / "peer
        reset", what it sent ``unread`` and not judged, as when the server ends such a connection — and the
        socket is closed (nothing queued for a client that has gone is sent). A client that closed only
        its sending side (shutdown) looks the same as one that closed: it is not read again either."""
        transport = self.transport
        if transport is None or self.closing:
            return False
        self._left_unseen(transport, ask=True)
        if not self.left:
            return False
        self.pending.clear()
        self.closing = True
        transport.abort()  # (connection_lost: the session ends, "the client left" — _closed_reason)
        return True

    def _drain_due(self) -> None:
        """The drain ends once nothing came for ServerConfig.close_drain_quiet seconds, or at close_drain."""
        self.drain_timer = None
        transport = self.transport
        loop = self.server._loop
        drain = transport.get_protocol() if transport is not None else None
        if loop is None or not isinstance(drain, _Drain):
            return
        now = loop.time()
        due = min(self.drain_until, drain.last + self.server.config.close_drain_quiet)
        if now >= due:
            self.end_drain()
        else:  # input came meanwhile: the quiet starts again
            self.drain_timer = loop.call_at(due, self._drain_due)

    def end_drain(self) -> None:
        """Close the socket of a connection whose drain is over (its FIN already sent)."""
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _end_session(self, reason: str) -> None:
        """The connection's session ends for the hub (the socket is gone, or drains: :meth:`_sent`)."""
        srv = self.server
        del srv.connections[self.sid]
        try:
            actions = srv.hub.disconnected(self.sid, srv.now(), reason=reason, unread=self.unread if self.left else 0)
        except Exception as exc:  # a bug below (a scenario's on_disconnect): contained, recorded
            srv._internal_error(exc, self, "disconnect")
            return
        srv._run(actions)

    def _close_overdue(self) -> None:
        self.linger_timer = None
        srv = self.server
        if srv.connections.get(self.sid) is not self or self.transport is None:
            return  # gone meanwhile
        srv.hub.journal.record("fault", srv.now(), self.sid, fault="unread at close, reset",
                               buffered=self.transport.get_write_buffer_size())
        self.abort()

    def abort(self, why: str = "") -> None:
        """End the connection at once with a TCP reset (RST: the peer's next read fails with
        ECONNRESET), dropping what is queued. A plain abort() of the transport closes the socket,
        which sends FIN: the peer would see an orderly end of stream, not the reset §3.4 speaks of."""
        if self.transport is None:
            return
        self._left_unseen(self.transport)
        self.pending.clear()
        self.why = self.why or why
        self.closing = True
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.transport.abort()


class _Drain(asyncio.BufferedProtocol):
    """The protocol of a connection the server is closing in order (:meth:`_Connection.close`): the
    peer's input is read and discarded (the hub never sees it: its session is closing), at most
    ServerConfig.close_drain_bytes; the peer's FIN closes the socket; the transport's ``resume_writing``
    (write buffer limits 0) says that what was queued is out. It takes over from the connection's
    protocol, so the per-read path of an open connection is not touched."""

    __slots__ = ("conn", "left", "last", "judged")

    def __init__(self, conn: _Connection, now: float) -> None:
        self.conn = conn
        self.left = conn.server.config.close_drain_bytes
        self.last = now  # loop time of the last read (ServerConfig.close_drain_quiet)
        self.judged = False  # the client's first bytes after its CLOSE_REQ were judged (PROTO-AFTER-CLOSE)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.conn.server._read_view

    def buffer_updated(self, nbytes: int) -> None:
        srv = self.conn.server
        self.last = srv._loop.time()  # type: ignore[union-attr]
        if not self.judged and nbytes:
            # a client that sends on after its CLOSE_REQ was answered breaks a rule whatever TCP did with its
            # bytes: discarded unread, they were judged only when they came in the CLOSE_REQ's own read
            self.judged = True
            if self.conn.why == "CLOSE_REQ":
                srv.hub.sent_after_close(self.conn.sid, bytes(srv._read_view[:min(nbytes, 8)]), nbytes, srv.now())
        self.left -= nbytes
        if self.left <= 0:  # a peer that goes on sending: closed (the kernel resets what keeps coming)
            self.conn.end_drain()

    def eof_received(self) -> bool:
        return False  # the peer's FIN: the transport closes (once what is queued is out)

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        self.conn._sent()

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.connection_lost(exc)


#: Linux's TCP states (tcp_states.h) of a connection whose peer ended it, this side not closed yet: CLOSE after
#: its reset; CLOSE_WAIT after its FIN (TIME_WAIT, LAST_ACK, CLOSING when our FIN went too: a half_close fault)
_TCP_STATE_LEFT = {7: "peer reset", 8: "peer closed", 6: "peer closed", 9: "peer closed", 11: "peer closed"}


def peer_left(sock: Any) -> tuple[str, int]:
    """How the peer of a connected socket the server has not been reading left: "peer reset", "peer
    closed" (its FIN came), or "" (still there, or this system cannot tell); and how many bytes it sent
    before that wait unread. Nothing is read: on Linux the kernel's TCP state (TCP_INFO; it sees a FIN
    behind unread input too) and FIONREAD, elsewhere a peek at the next byte (a reset, or a FIN with
    nothing unread before it; one behind unread input is not seen there)."""
    if sock is None:
        return "", 0
    if sys.platform.startswith("linux") and hasattr(socket, "TCP_INFO"):
        try:
            how = _TCP_STATE_LEFT.get(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0], "")
        except (OSError, ValueError, TypeError, IndexError):
            return "", 0
        if not how:  # (the usual answer, at once: one system call)
            return "", 0
        try:
            import fcntl
            import termios

            return how, struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        except (ImportError, OSError, ValueError, TypeError, struct.error):
            return how, 0
    try:  # (asyncio's and uvloop's transport sockets have no recv(): a socket object on the same descriptor)
        peek = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.fileno())
    except (OSError, ValueError, TypeError):
        return "", 0
    try:
        unread = len(peek.recv(1, socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)))
        return ("", unread) if unread else ("peer closed", 0)
    except ConnectionResetError:
        return "peer reset", 0
    except OSError:  # (BlockingIOError: nothing came; the socket is still open)
        return "", 0
    finally:
        peek.detach()


#: at most this many connections waiting in a listening socket's queue are taken at its close (a bound: the
#: queue holds ServerConfig.backlog at most, 8192 by default, and the kernel's somaxconn less)
_QUEUED_MAX = 65536


def stop_listening(server: asyncio.Server, adopt: Callable[[socket.socket], object] | None = None) -> None:
    """``server.close()``, without leaking what it accepted last: accept no more connections at once,
    and close the listening socket once the connections already accepted have their transports (the
    caller closes those as they come up). On the standard asyncio loop a socket accepted this loop
    turn gets its transport in a task that runs next turn; a server closed meanwhile made that task
    fail (CPython issue #109564) and the accepted socket was left open, its client never told, until
    the garbage collector closed it with a ResourceWarning. uvloop has no such gap.

    ``adopt``: just before the listening socket closes, the connections still waiting in its queue (the
    kernel completed their handshake, the server had not accepted them yet) are accepted, each socket
    handed to ``adopt`` to be answered as the shutdown answers the open ones (:func:`accept_queued`). A
    listening socket closed with connections in its queue resets them: under load, a client whose
    connection had been made, its request sent, read ECONNRESET and no answer."""
    loop = server.get_loop()

    def close() -> None:
        if adopt is not None:
            accept_queued(server, adopt)
        server.close()

    if isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop) and server.is_serving():
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())  # no accept from now on (one due this turn is cancelled)
        loop.call_soon(close)  # after the tasks that give what was accepted its transport
    else:
        close()


def accept_queued(server: asyncio.Server, adopt: Callable[[socket.socket], object]) -> int:
    """Accept what waits in the queues of ``server``'s listening sockets, at once (no await), each socket
    (non-blocking) handed to ``adopt``; at most :data:`_QUEUED_MAX` per listening socket. Returns how many.
    A descriptor of the listening socket's own is used (asyncio's and uvloop's sockets have no accept())."""
    taken = 0
    for lsock in server.sockets:
        try:
            listener = socket.socket(fileno=os.dup(lsock.fileno()))
        except OSError:
            continue
        try:
            listener.setblocking(False)
            for _ in range(_QUEUED_MAX):
                try:
                    conn, _ = listener.accept()
                except ConnectionAbortedError:  # (that one left before it was taken)
                    continue
                except OSError:  # BlockingIOError: the queue is empty
                    break
                conn.setblocking(False)
                taken += 1
                try:
                    adopt(conn)
                except Exception:  # noqa: BLE001 - never left open for the garbage collector
                    conn.close()
                    raise
        finally:
            listener.close()
    return taken


def host_port(host: str, port: int) -> str:
    """``HOST:PORT`` as a URL writes it: an IPv6 address in brackets (``[::1]:42027``; ``::1:42027`` read
    as an address alone, or as port 1 of ``::``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


#: how often listen() binds again when the addresses of a host got different ports (one taken meanwhile)
_SAME_PORT_TRIES = 16


async def listen(create: Callable[[int], Awaitable[asyncio.Server]], port: int) -> asyncio.Server:
    """``await create(port)``, every listening socket on the same port, then serving. A host that names several
    addresses (``localhost`` as ::1 and 127.0.0.1 on many systems, ``""`` as every interface of both families)
    gets one socket each, and with port 0 each was given a free port of its own: the server said it listened
    on the first one's port, and a client of the other family connecting there was refused. With port 0 the
    port the first address got is asked of all of them (another free one when it is taken on another address).

    ``create`` makes its server with ``start_serving=False``: listen() starts it once its sockets are the ones
    kept. A server that served from its creation accepted a client racing to the first port before it was
    closed and bound again: on the asyncio loop that socket was left open, its client never answered (a
    ResourceWarning later), or it became a connection of a server already closed, which on Python 3.12.1+
    ``wait_closed()`` waited for, and start() with it, until the client left."""
    server = await create(port)
    if not port:
        server = await _same_port(create, server)
    await server.start_serving()
    return server


async def _same_port(create: Callable[[int], Awaitable[asyncio.Server]], server: asyncio.Server) -> asyncio.Server:
    for _ in range(_SAME_PORT_TRIES):
        if len({sock.getsockname()[1] for sock in server.sockets}) <= 1:
            return server
        chosen = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        try:
            server = await create(chosen)
        except OSError as exc:  # the port is taken on another of the addresses: another free one
            if exc.errno != errno.EADDRINUSE:
                raise
            server = await create(0)
    server.close()
    await server.wait_closed()
    raise OSError(errno.EADDRINUSE, f"no port was free on every address of the host in {_SAME_PORT_TRIES} tries")


class MockServer:
    """A running mock: ``await MockServer(...).start()``; ``host``/``port`` tell where it listens."""

    def __init__(self, center: ContactCenter | CenterConfig | Mapping[str, Any] | None = None, *,
                 config: ServerConfig | None = None,
                 hub_config: HubConfig | None = None, journal: Journal | None = None, engine: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(center, ContactCenter):  # None, a CenterConfig or a mapping; TypeError otherwise
            center = ContactCenter(as_center_config(
                center, "MockServer", "a ContactCenter, a CenterConfig, a mapping in a center file's shape or None"))
        if config is not None and not isinstance(config, ServerConfig):  # ('dict' object has no attribute ...)
            raise TypeError(f"MockServer's config is a ServerConfig, not {type(config).__name__} {config!r:.80}")
        self.config = config or ServerConfig()
        self._clock = clock
        self._t0 = clock()
        self.hub = Hub(center, config=hub_config, journal=journal)
        self.hub.epoch = time.time() - self.now()  # CCXTime is wall-clock time (reference §5.1)
        if engine is not None:
            self.hub.set_engine(engine, self.now())
        self.connections: dict[int, _Connection] = {}
        self._draining: set[_Connection] = set()  # closed in order, the session ended, the socket draining
        #: connections a pause_reading fault holds, asked every ServerConfig.paused_peer_check seconds
        #: whether their client has gone (:meth:`_check_paused`)
        self._paused: set[_Connection] = set()
        self._paused_timer: asyncio.TimerHandle | None = None
        self._dirty: list[_Connection] = []
        self._flush_scheduled = False
        self._server: asyncio.Server | None = None
        self._stopping = False  # begin_stop() ran: the sessions are closed, stop() still to finish
        self._refusing = False  # begin_stop() ran, start() not since: a new connection is closed at once
        #: the connections taken from the listening socket's queue as it closed, coming up (accept_queued)
        self._adopting: set[asyncio.Future[Any]] = set()
        self._served: asyncio.Future[None] | None = None  # what serve_forever() awaits: done once stop() begins
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.internal_errors = 0  # exceptions out of the hub, contained (see _internal_error)
        self._timer_calm_until = 0.0  # after a timer's internal error: no timer before this (no busy loop)
        self.slow_readers = 0
        self._read_view = memoryview(bytearray(max(1, self.config.fair_read_bytes)))  # (see _Connection)
        self.host = self.config.host
        self.port = self.config.port

    def now(self) -> float:
        """Seconds since the server was created (the hub's clock)."""
        return self._clock() - self._t0

    @property
    def center(self) -> ContactCenter:
        return self.hub.center

    @property
    def journal(self) -> Journal:
        return self.hub.journal

    async def start(self) -> "MockServer":
        """Listen (a second start() of a listening server changes nothing: one socket, one port)."""
        if self._server is not None:
            if self._stopping:
                raise RuntimeError("MockServer.start(): the server is stopping; await stop() first")
            return self
        self._loop = asyncio.get_running_loop()
        loop = self._loop
        self._server = await listen(lambda port: loop.create_server(
            lambda: _Connection(self), self.config.host, port, backlog=self.config.backlog,
            reuse_address=True, start_serving=False), self.config.port)
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        self._refusing = False
        self._arm_timer()
        return self

    async def __aenter__(self) -> "MockServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def run_actions(self) -> None:
        """Carry out actions queued outside a connection callback (control API, happenings)."""
        self._run(self.hub.take_actions())

    def call(self, fn: Callable[[Hub, float], Any]) -> Any:
        """Run ``fn(hub, now)`` on the loop's thread and carry out what it queued. The hub's clock is
        ``now`` meanwhile (what ``fn`` sends is journalled at that time, not at the hub's last input)."""
        now = self.hub.now = self.now()
        result = fn(self.hub, now)
        self.run_actions()
        return result

    def begin_stop(self) -> None:
        """The first half of :meth:`stop`, at once (no await): stop listening, send every open session
        SYSTEM_EVENT SYS_CCX_OFFLINE and close every connection from this side, so that what a client
        does from now on (being killed, say) is a server shutdown to the journal, not its own leaving."""
        if self._server is None or self._stopping:
            return
        self._stopping = True
        self._refusing = True
        if self._served is not None and not self._served.done():
            self._served.set_result(None)  # serve_forever() returns
        self._stop_listening()
        self._run(self.hub.shutdown(self.now()))
        self._flush()

    def _stop_listening(self) -> None:
        assert self._server is not None  # (the caller returned when there is none)
        # what was accepted, and what waits in the listening socket's queue, comes up and is closed
        # (_Connection.connection_made)
        stop_listening(self._server, self._adopt)

    def _adopt(self, sock: socket.socket) -> None:
        """A connection taken from the listening socket's queue as it closes: its transport comes up
        (and the connection is closed as the shutdown closes the others); stop() waits for it."""
        loop = self._loop
        assert loop is not None
        task = asyncio.ensure_future(loop.connect_accepted_socket(lambda: _Connection(self), sock))
        self._adopting.add(task)

        def done(task: asyncio.Future[Any]) -> None:
            self._adopting.discard(task)
            if task.cancelled() or task.exception() is not None:  # (the client left first: nothing to answer)
                sock.close()

        task.add_done_callback(done)

    async def stop(self) -> None:
        """Graceful shutdown: SYSTEM_EVENT SYS_CCX_OFFLINE to every open session, then close all."""
        server = self._server
        if server is None:
            return
        self.begin_stop()
        await asyncio.sleep(0)  # (on the asyncio loop the listening socket closes, its queue taken, next turn)
        if self._adopting:  # the connections taken from its queue come up, each closed in order as it does
            await asyncio.wait(set(self._adopting), timeout=self.config.shutdown_grace)
        # every connection gets its SYSTEM_EVENT and our FIN, then its client's own FIN ends it (a
        # lingering close: _Connection.close); the grace bounds both
        deadline = self.now() + self.config.shutdown_grace
        while (self.connections or self._draining) and self.now() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections.values()):  # what is queued for it is still unread: reset
            conn.abort("server shutdown")
        for conn in list(self._draining):  # all was sent, our FIN too: closed (what it sends now is reset)
            conn.end_drain()
        # an aborted connection's connection_lost (its "close" in the journal, its session's end in the
        # hub) comes a loop turn or two later: stop() returned before it, and a report written then
        # (``serve --report``) lacked it. Wait for them (bounded: the grace again at most)
        deadline = self.now() + self.config.shutdown_grace
        for turn in range(10_000):
            if not (self.connections or self._draining) or self.now() >= deadline:
                break
            await asyncio.sleep(0 if turn < 10 else 0.01)
        await server.wait_closed()
        if self._server is server:  # (another stop() running at the same time may have finished first)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timer_at = None  # (a cancelled handle left here kept a restart from arming one)
            if self._paused_timer is not None:
                self._paused_timer.cancel()
                self._paused_timer = None
            self._paused.clear()
            self._server = None
            self._stopping = False

    async def serve_forever(self) -> None:
        """Serve until cancelled (``mockcti serve``: Ctrl-C, SIGTERM), or until :meth:`stop` begins.
        The server listens from :meth:`start` on; the listening socket is left to :meth:`stop`, which
        the caller awaits next. asyncio's ``Server.serve_forever()`` closed it itself when cancelled,
        before stop() ran: a connection accepted in that loop turn got no transport (CPython issue
        #109564) and stayed open, its client never told (see :func:`stop_listening`)."""
        assert self._server is not None and self._loop is not None
        if self._stopping:
            return
        if self._served is None or self._served.done():
            self._served = self._loop.create_future()
        await asyncio.shield(self._served)  # (a cancelled caller leaves it for another one)

    # -- internals ------------------------------------------------------------------------------

    def _run(self, actions: list, source: _Connection | None = None) -> None:
        """Carry out the hub's actions. ``source``: the connection whose input made them; when it is
        the only one with something to write and no flush is pending, it is written at once."""
        loop = self._loop
        connections = self.connections
        asked = False
        for a in actions:
            conn = connections.get(a.session_id)
            if conn is None:
                continue
            if isinstance(a, Write):  # the usual action
                if conn.dribbled:  # (dribbled bytes not all written yet: this goes out after them)
                    self._dribble(conn, a.data, len(a.data), 0.0)  # after the dribble in progress
                elif not conn.closing and conn.transport is not None:  # queued: written at the flush
                    pending = conn.pending
                    if not pending:
                        self._dirty.append(conn)
                    pending.append(a.data)
            elif isinstance(a, Close):
                if not asked:  # (once per batch, and only for one that ends a connection)
                    asked = True
                    self._who_left(actions, source)
                if a.abort:
                    conn.flush()  # what was queued before the reset goes out first (a fault may follow a message)
                    conn.abort(a.reason)
                elif conn.dribbled:
                    conn.flush()
                    self._after_dribble(conn, conn.dribble_end, conn.close, a.reason)  # (not cutting it)
                else:
                    conn.close(a.reason)
            elif isinstance(a, WriteChunked):
                conn.flush()
                self._dribble(conn, a.data, a.chunk, a.interval)
            elif isinstance(a, HalfClose):
                if conn.dribbled:
                    conn.flush()
                    self._after_dribble(conn, conn.dribble_end, conn.half_close)  # (not cutting it)
                else:
                    conn.half_close()
            elif isinstance(a, PauseReading):
                conn.fault_paused = True
                if conn.transport is not None:
                    conn.transport.pause_reading()
                    self._paused.add(conn)
                    if self._paused_timer is None and loop is not None:
                        self._paused_timer = loop.call_later(self.config.paused_peer_check, self._check_paused)
            elif isinstance(a, ResumeReading):
                self._paused.discard(conn)
                if conn.end_if_left():  # (gone meanwhile: nothing to read but what it left unread)
                    continue
                conn.fault_paused = False
                if conn.transport is not None:
                    conn.transport.resume_reading()
        dirty = self._dirty
        if dirty and not self._flush_scheduled:
            if source is not None and len(dirty) == 1 and dirty[0] is source:
                dirty.clear()
                source.flush()
            elif loop is not None:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
        self._arm_timer()

    def _check_paused(self) -> None:
        """Every ServerConfig.paused_peer_check seconds while a pause_reading fault holds any connection:
        end the session of each paused client that has gone (:meth:`_Connection.end_if_left`). The server
        reads nothing of a paused connection, so its client's FIN or reset went unseen until the pause
        ended — for good, with a pause that has no end."""
        self._paused_timer = None
        connections = self.connections
        for conn in list(self._paused):
            if connections.get(conn.sid) is not conn or not conn.fault_paused or conn.closing:
                self._paused.discard(conn)
            elif conn.end_if_left():
                self._paused.discard(conn)
        loop = self._loop
        if self._paused and loop is not None and self._server is not None:
            self._paused_timer = loop.call_later(self.config.paused_peer_check, self._check_paused)

    def _who_left(self, actions: list, source: _Connection | None) -> None:
        """Before any connection of this batch is ended: which of their clients had already left, unseen
        (:meth:`_Connection._left_unseen`), all of them first: a client that reacts to one connection's end
        (the first one's SYSTEM_EVENT and FIN at a stop, a failover's first reset) by closing its others
        does so while the server still ends the rest, and was taken for one that left before. Not the
        connection whose own input ended it (``source``: its CLOSE_REQ, an unrecoverable frame)."""
        connections = self.connections
        for a in actions:
            if type(a) is Close:
                conn = connections.get(a.session_id)
                if conn is not None and conn is not source and conn.transport is not None:
                    conn._left_unseen(conn.transport, ask=True)

    def _dribble(self, conn: _Connection, data: bytes, chunk: int, interval: float) -> None:
        """Write ``data`` in ``chunk``-byte pieces ``interval`` seconds apart, after any dribble
        already in progress on this connection, so that bytes never interleave."""
        loop = self._loop
        assert loop is not None
        chunk = max(1, chunk)
        start_at = max(loop.time(), conn.dribble_end)
        at = start_at
        lost = [False]  # a piece found the connection gone (journalled once, with the bytes not written)
        for start in range(0, len(data), chunk):
            piece = data[start:start + chunk]

            def write(p: bytes = piece, left: int = len(data) - start) -> None:
                transport = conn.transport
                if transport is not None and not conn.closing and not conn.eof_sent and not transport.is_closing():
                    transport.write(p)
                elif not lost[0]:  # (the client reset or closed mid-dribble, a reset fault, a half_close)
                    lost[0] = True
                    half_closed = conn.eof_sent and not conn.closing and transport is not None and not transport.is_closing()
                    self.hub.journal.record("fault", self.now(), conn.sid, bytes=left, fault=(
                        "write after half_close dropped" if half_closed else "dribble: the connection is gone"))

            self._after_dribble(conn, at, write)
            at += interval if interval > 0 else 1e-6  # strictly increasing (see _after_dribble)
        conn.dribble_end = at

    def _after_dribble(self, conn: _Connection, at: float, fn: Callable[..., object], *args: Any) -> None:
        """``fn(*args)`` at loop time ``at``, in order with the dribbled pieces (and the close or half_close
        behind them) already queued on ``conn``: what is due runs in the order it was queued, whichever of
        their timers fires first. One ``call_at`` each relied on the loop running them in due-time order,
        which uvloop does not: its timers have a millisecond's resolution, and in asyncio's debug mode
        (``python -X dev``, PYTHONASYNCIODEBUG) its clock is not frozen for the loop turn, so a piece due
        now and one due 1 ms later were sent the wrong way round (the client read a garbled frame)."""
        queue = conn.dribbled
        if queue is None:
            queue = conn.dribbled = deque()
        queue.append((at, fn, args))
        self._loop.call_at(at, self._dribble_due, conn, at)  # type: ignore[union-attr]

    @staticmethod
    def _dribble_due(conn: _Connection, at: float) -> None:
        queue = conn.dribbled
        while queue and queue[0][0] <= at:  # (this timer's own entry, and any before it a late timer still holds)
            _, fn, args = queue.popleft()
            fn(*args)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()

    def _arm_timer(self) -> None:
        loop = self._loop
        if loop is None:
            return
        due = self.hub.next_deadline()
        if due is None:
            return
        if due < self._timer_calm_until:
            due = self._timer_calm_until
        if self._timer is not None and self._timer_at is not None and self._timer_at <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, due - self.now()) + 0.001, self._on_timer)

    def _timers_due(self, now: float) -> None:
        """Run the hub's timers at ``now`` (the time of the input that follows: the journal's times
        stay in order), ahead of the loop's callback (which is cancelled)."""
        if self._timer is not None:
            self._timer.cancel()
        self._on_timer(now)

    def _on_timer(self, now: float | None = None) -> None:
        self._timer = None
        self._timer_at = None
        try:
            actions = self.hub.tick(self.now() if now is None else now)
        except Exception as exc:  # a bug below: contained, and the timer keeps running
            self._internal_error(exc, None, "timer")
            return
        self._run(actions)

    def _internal_error(self, exc: Exception, conn: _Connection | None, where: str) -> None:
        """An exception out of the hub (``where``: "connect", "receive", "disconnect" or "timer"):
        record it, send what was queued, reset ``conn`` (whose connection or input hit it; one already
        gone is left so), keep the timer armed. Other connections are not touched."""
        self.internal_errors += 1
        self.hub.journal.record("fault", self.now(), conn.sid or None if conn is not None else None,
                                fault="internal error", where=where, error=f"{type(exc).__name__}: {exc}")
        print(f"mockcti: internal error in the hub ({where}); please report it:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        if where == "timer":  # the same deadline may fail again: try the timer again in a second, not at once
            self._timer_calm_until = self.now() + 1.0
        self._run(self.hub.take_actions())
        if conn is not None and where != "disconnect":
            conn.flush()
            conn.abort("internal error")


async def serve(center: ContactCenter | CenterConfig | None = None, **kwargs: Any) -> MockServer:
    """Start a mock server (``serve(port=0)`` for tests) and return it running."""
    config_keys = {"host", "port", "backlog", "max_write_buffer", "shutdown_grace", "fair_read_bytes", "close_linger",
                   "close_drain", "close_drain_quiet", "close_drain_bytes", "paused_peer_check"}
    cfg = ServerConfig(**{k: kwargs.pop(k) for k in list(kwargs) if k in config_keys})
    return await MockServer(center, config=cfg, **kwargs).start()
