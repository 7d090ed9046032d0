"""A small asyncio CTI client: for our tests, users' examples and the load generator.

Opens a session in agent or bridge mode, heartbeats on its own, sends a request and awaits its
confirmation (``await client.request(HoldCallReq(...))`` returns the HOLD_CALL_CONF, or raises
:class:`RequestFailed` carrying the FAILURE_CONF / CONTROL_FAILURE_CONF), and lets the caller
iterate the unsolicited events (``await client.next_event(...)``, ``async for ev in client``).

    async with await CTIClient.connect("127.0.0.1", 42027) as cti:
        conf = await cti.open_agent(agent_id="1001", extension="3001", instrument="3001")
        await cti.request(SetAgentStateReq(agent_state=AgentState.AGENT_STATE_LOGIN, ...))
        event = await cti.next_event(MessageType.AGENT_STATE_EVENT)

Confirmations are matched by InvokeID (and checked to be the request's confirmation, FAILURE_CONF
or CONTROL_FAILURE_CONF); the client numbers its requests itself, and refuses an explicit InvokeID
that is already waiting for its confirmation. Heartbeats follow reference §3.4: one HEARTBEAT_REQ
per interval without waiting for the previous answer; three unanswered, or a FAILURE_CONF to one
(the server is offline), and the client resets the connection (``closed`` is set, ``close_reason``
says why). A FAILURE_EVENT (but E_CTI_AUTO_CONFIG_RESET) ends the session (§3.5): the client sends nothing
more and closes the connection, ``close_reason`` naming the event. A refused OPEN_REQ resets the
connection (§3.2): open again on a new one, after 10 s (at once on the other node after E_CTI_SERVER_NOT_MASTER). Once the connection is gone, a request or a wait for an event raises
:class:`ConnectionClosed` at once (events already received are still handed out first).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import socket
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from mockcti.center.config import CenterConfig
from mockcti.server import host_port
from mockcti.session import CONFIRMATION_OF
from mockcti.wire import DecodeError, Dialect, FrameBuffer, FrameError, Message, MessageType, Profile, decode, encode
from mockcti.wire.dialect import PROFILES
from mockcti.wire.enums import AgentState, ServiceMask, StatusCode
from mockcti.wire.messages import (
    CloseReq, ControlFailureConf, FailureConf, HeartbeatReq, OpenConf, OpenReq, SetAgentStateReq,
)

__all__ = ["CTIClient", "RequestFailed", "ConnectionClosed", "ALL_CALL_EVENTS", "ALL_AGENT_STATES"]

MT = MessageType
ALL_CALL_EVENTS = 0x00FFFFFF  # every call event mask bit (reference §6.6)
ALL_AGENT_STATES = 0x3FFF  # the guide's "all agent state events" example (§6.7)


def _message_type(t: Any) -> MessageType:
    """A message type given as a MessageType, its number or its name (ValueError/TypeError otherwise)."""
    if isinstance(t, MessageType):
        return t
    if isinstance(t, str):
        try:
            return MessageType[t.upper()]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(t.upper(), list(MessageType.__members__), n=3, cutoff=0.75)
            raise ValueError(f"unknown message type {t!r}"
                             + (f" (did you mean {', '.join(close)}?)" if close else "")) from None
    if isinstance(t, int) and not isinstance(t, bool):
        return MessageType(t)
    raise TypeError(f"a message type is a MessageType, its number or its name, not {type(t).__name__} {t!r}")


def _code(reply: Message, attr: str) -> str:
    """``13 E_CTI_INVALID_CALLID``: a code of ``reply`` with its name (the number alone if it has none)."""
    from mockcti.wire.render import value_name_of

    value = getattr(reply, attr, None)
    name = value_name_of(reply.TYPE, attr, value) if isinstance(value, int) else None
    return str(value) if name is None or name in (str(value), f"UNKNOWN({value})") else f"{value} {name}"


class RequestFailed(Exception):
    """The server answered a request with FAILURE_CONF or CONTROL_FAILURE_CONF."""

    def __init__(self, request: Message, reply: Message, *, hint: str | None = None) -> None:
        self.request = request
        self.reply = reply
        self.hint = hint  # what the user may do about it (a refused OPEN_REQ: a mismatch's cause, where to open again)
        # each code with its name (the test read "FAILURE_CONF status 13" and had to look 13 up)
        if isinstance(reply, FailureConf):
            what = f"FAILURE_CONF status {_code(reply, 'status')}"
        else:
            what = (f"CONTROL_FAILURE_CONF failure_code {_code(reply, 'failure_code')} "
                    f"ccx_error_code {_code(reply, 'ccx_error_code')}")
        text = getattr(reply, "text", None)
        super().__init__(f"{request.TYPE.name} refused: {what}" + (f" ({text})" if text else "")
                         + (f"; {hint}" if hint else ""))

    @property
    def status(self) -> int | None:
        return getattr(self.reply, "status", None)

    @property
    def failure_code(self) -> int | None:
        return getattr(self.reply, "failure_code", None)


class ConnectionClosed(Exception):
    """The connection ended while something was waiting for the server."""


_CLOSED = object()  # the last item of the event queue once the connection is gone
#: unanswered heartbeats after which the client declares the session failed (reference §3.4)
HEARTBEATS_UNANSWERED_LIMIT = 3
#: seconds a client waits after a refused OPEN_REQ before it opens again (reference §3.2)
RETRY_AFTER_REFUSAL = 10.0
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


class CTIClient:
    """One connection to a CTI server."""

    #: once the connection ends on the server's side (its FIN) or this client gives it up (a frame that
    #: cannot be cut), what this client still has queued to send gets this long to go out, as abort()'s
    #: ``flush_timeout``; a server that reads none of it by then is cut off, the socket closed
    eof_flush_timeout = 2.0

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 dialect: Dialect | None = None, keep_received: int | None = 100_000,
                 keep_events: int | None = 100_000) -> None:
        self._reader = reader
        self._writer = writer
        self.dialect = dialect or Dialect.uccx(18)
        self._invoke = itertools.count(1)
        # InvokeID -> (the future its confirmation resolves, the confirmation's type; None: any confirmation)
        self._pending: dict[int | None, tuple[asyncio.Future[Message], MessageType | None]] = {}
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._frames = FrameBuffer()
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        self._heartbeat_task: asyncio.Task | None = None
        self.open_conf: OpenConf | None = None
        self._open_req: OpenReq | None = None  # the OPEN_REQ that opened the session (its agent identity)
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        # what the server sent, in order (tests read this): the latest ``keep_received`` messages
        # (None: all), so a long-running bridge does not grow without bound
        self.received: collections.deque[Message] = collections.deque(maxlen=keep_received)
        # the events not read yet: the latest ``keep_events`` (None: all); a bridge that never reads them
        # (it watches ``received``, or only sends requests) grew by every event of the center for ever
        self.keep_events = keep_events
        self.events_dropped = 0  # events dropped unread, the oldest first, to stay within keep_events
        self.heartbeats_sent = 0
        self._heartbeats_waiting: set[int] = set()  # InvokeIDs of HEARTBEAT_REQs not answered yet
        self.undecodable: list[str] = []  # server messages that could not be decoded (why), in order
        self._session_ended = False  # a FAILURE_EVENT ended the session: nothing more is sent
        #: the InvokeID of an OPEN_REQ that timed out: the session may be open on the server (its OPEN_CONF
        #: late); None once its late FAILURE_CONF said it is not
        self._open_unanswered: int | None = None

    # -- connecting --------------------------------------------------------------------------

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 42027, *, version: int | None = None,
                      profile: str | Profile = "uccx", dialect: Dialect | None = None, timeout: float | None = 10.0,
                      keep_received: int | None = 100_000, keep_events: int | None = 100_000) -> "CTIClient":
        """Connect; the session will speak protocol ``version`` of ``profile`` ("uccx", default, or
        "ucce"; default version: the profile's newest, 18 or 24), or ``dialect`` when given. The profile
        decides the widths of the floating tags and lengths: UCCX v18 has 2-byte tags, UCCE v18/v19
        1-byte ones (a version outside the profile is sent as is, with its nearest version's widths:
        the server's E_CTI_INVALID_VERSION can be tested). ``timeout=None`` leaves the connect to the
        operating system's own limit."""
        if dialect is None:
            prof = profile if isinstance(profile, Profile) else PROFILES.get(profile)
            if prof is None:
                raise ValueError(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
            dialect = prof.dialect(version)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError as exc:  # (wait_for's own has no text: a bare "TimeoutError" named no address)
            if timeout is None:  # the system's own connect timeout (ETIMEDOUT), which has its text
                raise TimeoutError(f"no connection to {host_port(host, port)}: {exc}") from None
            raise TimeoutError(f"no connection to {host_port(host, port)} within {timeout:g} s "
                               "(the server accepts none: a full listen backlog, a host dropping packets)") from None
        return cls(reader, writer, dialect=dialect, keep_received=keep_received, keep_events=keep_events)

    async def __aenter__(self) -> "CTIClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def next_invoke_id(self) -> int:
        """The next InvokeID not waiting for a confirmation."""
        while True:
            inv = next(self._invoke) & 0xFFFFFFFF
            if (inv and inv not in self._pending and inv not in self._heartbeats_waiting
                    and inv != self._open_unanswered):
                return inv

    async def open(self, *, client_id: str = "mockcti-client", services: int, call_msg_mask: int = ALL_CALL_EVENTS,
                   agent_state_mask: int = ALL_AGENT_STATES, config_msg_mask: int = 0, idle_timeout: int = 60,
                   heartbeat: float | None = None, timeout: float | None = 10.0, client_password: bytes = b"",
                   **fields: Any) -> OpenConf:
        """Send OPEN_REQ and wait for OPEN_CONF; start heartbeating every ``heartbeat`` seconds
        (default IdleTimeout / 4, as the guide recommends; 0 = never). Under the ucce profile an agent-mode
        (CLIENT_EVENTS) OPEN_REQ names its peripheral, as ICM requires: ``peripheral_id=`` (default the
        center's default ``peripheral_id``, 1); UCCX reserves the field (0)."""
        if self.dialect.profile.icm and services & ServiceMask.CTI_SERVICE_CLIENT_EVENTS:
            fields.setdefault("peripheral_id", CenterConfig.peripheral_id)
        req = OpenReq(invoke_id=self.next_invoke_id(), version_number=self.dialect.version, idle_timeout=idle_timeout,
                      services_requested=services, call_msg_mask=call_msg_mask, agent_state_mask=agent_state_mask,
                      config_msg_mask=config_msg_mask, client_id=client_id, client_password=client_password,
                      **fields)
        try:
            conf = cast(OpenConf, await self.request(req, timeout=timeout))  # (an OPEN_CONF: a FAILURE_CONF raised)
        except TimeoutError:
            self._open_unanswered = req.invoke_id  # its OPEN_CONF may still come: close() closes that session
            raise
        except RequestFailed as exc:
            # refused: the client resets the connection and opens again, if at all, on a new one and not
            # before 10 s (reference §3.2) -- or at once on the other node, when this one is not the master
            # (§3.1). It kept the connection open, and a user retrying open() on it was PROTO-RETRY-TOO-SOON.
            hints = [h for h in (self._open_refusal_hint(exc.reply), self._open_refusal_next_step(exc.reply)) if h]
            error = RequestFailed(req, exc.reply, hint="; ".join(hints))
            self.close_reason = self.close_reason or f"{error}"
            await self._reset_and_wait()
            raise error from None
        self.open_conf = conf
        self._open_req = req
        interval = idle_timeout / 4 if heartbeat is None else heartbeat
        if interval and idle_timeout != 0xFFFFFFFF:
            self._heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeat_loop(interval))
        return conf

    def _open_refusal_hint(self, reply: Message) -> str | None:
        """What to do about a refused OPEN_REQ that a profile or version mismatch explains: the server
        could not read it (E_CTI_BAD_MESSAGE_FORMAT; E_CTI_UNSPECIFIED_FAILURE or E_CTI_INVALID_FIELD
        without a Text: the body did not cut in its widths, §2.3) or does not speak its version
        (E_CTI_INVALID_VERSION). A server that cannot read the OPEN_REQ does not know the client's widths
        and sends no Text: the bare code was all the user got."""
        status = getattr(reply, "status", None)
        if not (status in (StatusCode.E_CTI_BAD_MESSAGE_FORMAT, StatusCode.E_CTI_INVALID_VERSION)
                or (status in (StatusCode.E_CTI_UNSPECIFIED_FAILURE, StatusCode.E_CTI_INVALID_FIELD)
                    and not getattr(reply, "text", None))):
            return None
        d = self.dialect
        other = "ucce" if d.profile.name == "uccx" else "uccx"
        return (f"this client spoke {d.profile.name} protocol version {d.version} ({d.tag_width}-byte floating "
                f"tags, {d.length_width}-byte lengths): the server may speak another profile or version; pass "
                f"profile=\"{other}\" or version= to CTIClient.connect")

    @staticmethod
    def _open_refusal_next_step(reply: Message) -> str:
        """What follows a refused OPEN_REQ: the reset, and where and when to open again."""
        if getattr(reply, "status", None) == StatusCode.E_CTI_SERVER_NOT_MASTER:
            return ("this node is not the master: the connection is reset; open on the other node of the cluster "
                    "(reference §3.1)")
        return ("the connection is reset; open again on a new connection, not before "
                f"{RETRY_AFTER_REFUSAL:g} s (reference §3.2)")

    async def open_agent(self, *, agent_id: str | None = None, extension: str | None = None,
                         instrument: str | None = None, services: int | None = None, **kw: Any) -> OpenConf:
        """Open an agent-mode session (CLIENT_EVENTS + CLIENT_CONTROL + CALL_DATA_UPDATE by default)."""
        if services is None:
            services = (ServiceMask.CTI_SERVICE_CLIENT_EVENTS | ServiceMask.CTI_SERVICE_CLIENT_CONTROL
                        | ServiceMask.CTI_SERVICE_CALL_DATA_UPDATE)
        return await self.open(services=int(services), agent_id=agent_id, agent_extension=extension,
                               agent_instrument=instrument, **kw)

    async def open_bridge(self, *, services: int | None = None, **kw: Any) -> OpenConf:
        """Open a bridge-mode session (ALL_EVENTS + CLIENT_CONTROL + CALL_DATA_UPDATE by default)."""
        if services is None:
            services = (ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CLIENT_CONTROL
                        | ServiceMask.CTI_SERVICE_CALL_DATA_UPDATE)
        return await self.open(services=int(services), **kw)

    # -- requests ----------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send a message as is (no waiting). After a CLOSE_REQ, however sent, this client heartbeats no more
        (nothing follows a CLOSE_REQ, reference §3.5)."""
        if self._writer.is_closing() or self._session_ended:
            raise ConnectionClosed(self.close_reason or "connection closed")
        self._writer.write(encode(message, self.dialect))
        if message.TYPE is MT.CLOSE_REQ and self._heartbeat_task is not None:
            self._heartbeat_task.cancel()

    def send_bytes(self, data: bytes) -> None:
        if self._writer.is_closing() or self._session_ended:
            raise ConnectionClosed(self.close_reason or "connection closed")
        self._writer.write(data)

    async def request(self, message: Message, *, timeout: float | None = 10.0, check: bool = True) -> Message:
        """Send a request and return its confirmation.

        An InvokeID of 0 in ``message`` is replaced by the next one; an InvokeID already waiting
        for its confirmation is refused (ValueError). With ``check`` (default) a FAILURE_CONF /
        CONTROL_FAILURE_CONF raises :class:`RequestFailed`; otherwise it is returned. On a closed
        connection: :class:`ConnectionClosed` at once. ``timeout=None`` waits without a limit.
        """
        if self.closed.is_set():
            raise ConnectionClosed(self.close_reason or "connection closed")
        has = _HAS_INVOKE_ID.get(type(message))
        if has is None:
            has = _HAS_INVOKE_ID[type(message)] = any(f.name == "invoke_id" for f in dataclasses.fields(message))
        if not has:
            raise TypeError(f"{message.TYPE.name} has no InvokeID and no confirmation (reference §7.1): send() it "
                            "and await its answer with next_event()")
        if getattr(message, "invoke_id", None) == 0:
            message = dataclasses.replace(message, invoke_id=self.next_invoke_id())
        inv = message.invoke_id
        if inv in self._pending or inv in self._heartbeats_waiting:
            raise ValueError(f"InvokeID {inv} is already waiting for its confirmation")
        want = CONFIRMATION_OF.get(message.TYPE)
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[inv] = (fut, want)
        try:
            self.send(message)
            try:
                reply = await asyncio.wait_for(fut, timeout)
            except TimeoutError:  # (wait_for's own has no text: the test read a bare "TimeoutError")
                # the request may not even have gone out: a server that stopped reading (its socket
                # buffers full) never saw it, which a bare "no ..._CONF" blamed on the server's answer
                unsent = self._writer.transport.get_write_buffer_size()
                raise TimeoutError(f"no {want.name if want is not None else 'confirmation'} (nor FAILURE_CONF) "
                                   f"to {message.TYPE.name} InvokeID {inv} within {timeout:g} s"
                                   + (f"; {unsent} bytes this client wrote are still unsent: the server is not "
                                      "reading" if unsent else "")) from None
        finally:
            self._pending.pop(inv, None)
        if check and isinstance(reply, (FailureConf, ControlFailureConf)):
            raise RequestFailed(message, reply)
        return reply

    async def set_agent_state(self, state: AgentState | int, *, agent_id: str | None = None,
                              instrument: str | None = None, password: str | None = None, reason: int = 0,
                              **kw: Any) -> Message:
        """SET_AGENT_STATE_REQ for this session's agent (identity taken from OPEN_CONF when omitted, else from
        the OPEN_REQ: an ICM OPEN_CONF names a logged-out agent in none of its fields), or for the agent ``agent_id``
        names (a bridge; a supervisor's desktop for an agent of its team): its AgentInstrument is ``instrument``,
        else empty — never this session's phone, which is not that agent's.
        ``state``: an :class:`AgentState`, its number or its name (``"READY"``, ``"AGENT_STATE_READY"``)."""
        if isinstance(state, str):
            key = state.upper() if state.upper().startswith("AGENT_STATE_") else "AGENT_STATE_" + state.upper()
            if key not in AgentState.__members__:
                raise ValueError(f"unknown agent state {state!r}; known: "
                                 + ", ".join(n.removeprefix("AGENT_STATE_") for n in AgentState.__members__))
            state = AgentState[key]
        elif isinstance(state, bool) or not isinstance(state, int):
            raise TypeError(f"an agent state is an AgentState, its number or its name, not {type(state).__name__} "
                            f"{state!r}")
        oc, oq = self.open_conf, self._open_req
        own_id = (oc.agent_id if oc else None) or (oq.agent_id if oq else None) or (oq.legacy_agent_id if oq else None)
        own_phone = (oc.agent_instrument if oc else None) or (oq.agent_instrument if oq else None)
        # another agent (a supervisor naming a team member): this session's phone is not its phone, and the server
        # refused the pair (E_CTI_INCONSISTENT_AGENT_DATA)
        req = SetAgentStateReq(
            invoke_id=self.next_invoke_id(), agent_state=int(state), event_reason_code=reason,
            agent_instrument=instrument or (own_phone if not agent_id or agent_id == own_id else None) or "",
            agent_id=agent_id or own_id, agent_password=password, **kw)
        return await self.request(req)

    async def close(self, *, timeout: float | None = 5.0) -> None:
        """CLOSE_REQ, wait for CLOSE_CONF (at most ``timeout``, 5 s as the guide says; None: no limit),
        then close the socket. The CLOSE_REQ goes out once a session is open, or may be: after an open
        whose OPEN_CONF did not come in time."""
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        # (an open that timed out may have opened the session all the same: its OPEN_CONF came too late)
        if ((self.open_conf is not None or self._open_unanswered is not None) and not self._writer.is_closing()
                and not self.closed.is_set()):
            # (the server closes the socket after its CLOSE_CONF: that is the end this client asked for)
            self.close_reason = self.close_reason or "closed by this client (CLOSE_REQ)"
            with contextlib.suppress(Exception):
                await self.request(CloseReq(invoke_id=self.next_invoke_id(), status=0), timeout=timeout)
        await self.abort()

    async def abort(self, *, flush_timeout: float = 2.0, reset: bool = False) -> None:
        """Close the socket without CLOSE_REQ. What is still queued to send gets ``flush_timeout``
        seconds to go out; a server that reads none of it by then is cut off (the queued bytes are
        dropped): the socket is closed when this returns, never left open behind it. ``reset``: reset
        the TCP connection instead (RST, what is queued dropped at once), as a client that declares its
        session failed does (reference §3.1, §3.4): the server reads ECONNRESET, not the end of a client
        leaving on purpose."""
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        if not self.closed.is_set():
            self.close_reason = self.close_reason or "closed by this client"
        if reset and not self._writer.is_closing():
            self._reset()
        if not self._writer.is_closing():
            self._writer.close()
        # (shielded: a wait_closed() cancelled by the timeout cancels the stream's own close waiter)
        closed = asyncio.ensure_future(self._writer.wait_closed())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(closed), flush_timeout)
        # a close() waits for the write buffer to drain; against a server that stopped reading it never
        # did: the transport (and its socket) stayed open after abort() returned, unclosed at the loop's end
        self._writer.transport.abort()  # (nothing when it is closed already)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(closed, 1)
        self._reader_task.cancel()
        with contextlib.suppress(BaseException):
            await self._reader_task

    # -- events -------------------------------------------------------------------------------

    async def next_event(self, *types: MessageType | int | str, timeout: float | None = 5.0,
                         where: Callable[[Message], bool] | None = None) -> Message:
        """The next unsolicited message (of one of ``types``, matching ``where``); others are skipped.

        Events already received come first, even with ``timeout=0``; once they are used up on a
        closed connection, :class:`ConnectionClosed` (at once, not after ``timeout``). A type is a
        :class:`MessageType`, its number or its name (``"CALL_DELIVERED_EVENT"``); anything else is an
        error at once (a name used to match nothing: the wait ran out its timeout). TimeoutError says
        what was awaited; ``timeout=None`` waits without a limit (as ``request(timeout=None)`` does)."""
        wanted = tuple(_message_type(t) for t in types)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        events = self._events
        while True:
            if not events.empty():
                ev = events.get_nowait()
            else:
                remaining = None if deadline is None else deadline - loop.time()
                try:
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError
                    ev = await asyncio.wait_for(events.get(), remaining)
                except TimeoutError:  # (wait_for's own has no text)
                    raise TimeoutError(f"no {'/'.join(t.name for t in wanted) or 'event'}"
                                       + (" matching where=" if where is not None else "")
                                       + f" within {timeout:g} s") from None
            if ev is _CLOSED:
                events.put_nowait(_CLOSED)  # every later wait ends the same way
                raise ConnectionClosed(self.close_reason or "closed")
            if (not wanted or ev.TYPE in wanted) and (where is None or where(ev)):
                return ev

    async def events_until(self, last: MessageType | int | str, *, timeout: float | None = 5.0) -> list[Message]:
        """Every event up to and including the first of type ``last`` (given as next_event takes a type)."""
        last = _message_type(last)
        out = []
        while True:
            ev = await self.next_event(timeout=timeout)
            out.append(ev)
            if ev.TYPE is last:
                return out

    def drain_events(self) -> list[Message]:
        """The events already received and not consumed yet."""
        out = []
        while not self._events.empty():
            ev = self._events.get_nowait()
            if ev is _CLOSED:
                self._events.put_nowait(_CLOSED)
                break
            out.append(ev)
        return out

    async def __aiter__(self) -> AsyncIterator[Message]:  # type: ignore[override]
        """Every event until the connection is gone (an hour of silence ends it with TimeoutError)."""
        while True:
            try:
                ev = await self.next_event(timeout=3600)
            except ConnectionClosed:
                return
            yield ev

    # -- internals ------------------------------------------------------------------------------

    async def _heartbeat_loop(self, interval: float) -> None:
        """One HEARTBEAT_REQ per interval, answered or not; the answers are taken by _dispatch."""
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, ConnectionError):
            while not self.closed.is_set():
                await asyncio.sleep(interval)
                if self.closed.is_set():
                    return
                if len(self._heartbeats_waiting) >= HEARTBEATS_UNANSWERED_LIMIT:
                    self._fail_session(f"{len(self._heartbeats_waiting)} heartbeats unanswered (reference §3.4)")
                    return
                inv = self.next_invoke_id()
                self._heartbeats_waiting.add(inv)
                self.heartbeats_sent += 1
                self.send(HeartbeatReq(invoke_id=inv))

    def _reset(self) -> None:
        """Reset the TCP connection (RST, not FIN: SO_LINGER 0, then close), as the reference asks of a
        client that gives a session up (§3.2, §3.4); what is queued to send is dropped."""
        transport = self._writer.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()

    async def _reset_and_wait(self) -> None:
        """:meth:`_reset`, and wait (1 s at most) for the read loop to see the end: ``closed`` is set."""
        self._reset()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), 1)

    def _fail_session(self, reason: str, *, say_close: bool = False) -> None:
        """The client declares the session failed: reset the TCP connection (reference §3.4). With
        ``say_close`` (what it reads is broken, what it writes is not) a CLOSE_REQ goes out first,
        without waiting for a CLOSE_CONF it could not read."""
        if self.close_reason is None:
            self.close_reason = reason
        if say_close and self.open_conf is not None and not self._writer.is_closing():
            with contextlib.suppress(Exception):
                self._writer.write(encode(CloseReq(invoke_id=self.next_invoke_id(), status=0), self.dialect))
            self._close_socket()  # (sends what is buffered, then closes)
            return
        # a reset, RST: transport.abort() alone closes the socket with a FIN, an orderly end the server
        # cannot tell from a client that closed on purpose
        self._reset()

    def _close_socket(self) -> None:
        """Close our side of the socket: what is queued goes out first, for :attr:`eof_flush_timeout` at
        most. A close waits for the write buffer to drain: after a server's FIN (a half-close) from a
        server that had stopped reading, it never did, and the socket stayed open until close()/abort()
        for a user told that no close() is needed once the server has closed."""
        if not self._writer.is_closing():
            self._writer.close()
        transport = self._writer.transport
        if transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(self.eof_flush_timeout, transport.abort)  # (nothing once closed)

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    self.close_reason = self.close_reason or "closed by server"
                    break
                for item in self._frames.feed(data):
                    if isinstance(item, FrameError):  # the stream cannot be followed: CLOSE_REQ and reset
                        self._fail_session(f"bad frame from server: {item}", say_close=True)
                        return
                    try:
                        msg = decode(item, self.dialect)
                    except DecodeError as exc:
                        lenient = self._decode_refusal(item)
                        if lenient is None:
                            self.undecodable.append(f"type {item.type_id}: {exc}")
                            continue
                        msg = lenient
                    else:
                        if getattr(msg, "extra_fields", None) and msg.TYPE in _FAILURE_MESSAGES \
                                and getattr(msg, "text", None) is None:
                            msg = self._decode_refusal(item) or msg
                    self.received.append(msg)
                    self._dispatch(msg)
                    if self._session_ended:  # (a FAILURE_EVENT: what follows it is not read)
                        return
        except (ConnectionError, OSError) as exc:
            self.close_reason = self.close_reason or f"connection lost: {exc}"
        except asyncio.CancelledError:
            pass
        finally:
            self.closed.set()
            if self._heartbeat_task is not None:
                self._heartbeat_task.cancel()
            # the server is gone: our side too (it stayed open, unclosed, until the object was collected:
            # ResourceWarning), what is queued given a bounded time to go out
            self._close_socket()
            self._events.put_nowait(_CLOSED)
            for fut, _ in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionClosed(self.close_reason or "closed"))

    def _decode_refusal(self, frame: Any) -> Message | None:
        """A FAILURE_CONF, FAILURE_EVENT or CONTROL_FAILURE_CONF this client's widths do not decode,
        decoded in the first other floating-field width that does (1-byte or 2-byte tags and lengths,
        reference §2.3): a server of another profile or version refuses the OPEN_REQ in its own widths,
        and its status and Text are what tells the user so (they went to ``undecodable`` and the open
        waited out its timeout)."""
        mt = self.dialect.profile.message_type(frame.type_id)
        if mt not in _FAILURE_MESSAGES:
            return None
        ours = (self.dialect.tag_width, self.dialect.length_width)
        for other in _WIDTHS:
            if (other.tag_width, other.length_width) == ours:
                continue
            with contextlib.suppress(DecodeError):
                msg = decode(frame, other)
                if not getattr(msg, "extra_fields", None):
                    return msg
        return None

    def _dispatch(self, msg: Message) -> None:
        mt = msg.TYPE
        if mt is MT.FAILURE_EVENT and getattr(msg, "status", None) != StatusCode.E_CTI_AUTO_CONFIG_RESET:
            # the server ended the session (reference §3.5, §7.1): nothing more may be sent (no heartbeat, no
            # CLOSE_REQ); the event is handed out, then the connection ends (the read loop's end closes it)
            text = getattr(msg, "text", None)
            self.close_reason = self.close_reason or (
                f"FAILURE_EVENT status {_code(msg, 'status')}" + (f" ({text})" if text else "")
                + ": the server ended the session")
            self._session_ended = True
            if self._heartbeat_task is not None:
                self._heartbeat_task.cancel()
        if mt in _CONF_TYPES:
            inv = getattr(msg, "invoke_id", None)
            if inv in self._heartbeats_waiting and mt in _HEARTBEAT_ANSWERS:
                self._heartbeats_waiting.discard(inv)
                if mt is not MT.HEARTBEAT_CONF:  # the server is offline: reset (reference §3.4)
                    self._fail_session(f"{mt.name} to HEARTBEAT_REQ (status {getattr(msg, 'status', None)}): "
                                       "the server is offline")
                return
            if inv == self._open_unanswered and mt is MT.FAILURE_CONF and inv not in self._pending:
                # the late answer to an OPEN_REQ that timed out is a refusal: no session is open, so no
                # CLOSE_REQ (the server answers one E_CTI_SESSION_NOT_OPEN; the mock flags PROTO-OPEN-FIRST),
                # and the connection is reset as after any refused OPEN_REQ (reference §3.2); the
                # FAILURE_CONF is still handed out as an event
                self._open_unanswered = None
                text = getattr(msg, "text", None)
                self.close_reason = self.close_reason or (
                    f"OPEN_REQ refused after its timeout: FAILURE_CONF status {_code(msg, 'status')}"
                    + (f" ({text})" if text else "") + "; " + self._open_refusal_next_step(msg))
                self._reset()
            waiting = self._pending.get(inv)
            if waiting is not None:
                fut, want = waiting
                if not fut.done() and (mt is want or mt in _FAILURES or want is None):
                    fut.set_result(msg)
                    return
        events = self._events  # unsolicited, or a confirmation nobody waits for (any more)
        if self.keep_events is not None and events.qsize() >= self.keep_events:
            if self.keep_events <= 0:
                self.events_dropped += 1
                return
            events.get_nowait()  # the oldest unread one makes room (the _CLOSED mark is never queued yet)
            self.events_dropped += 1
        events.put_nowait(msg)


_FAILURES = frozenset({MT.FAILURE_CONF, MT.CONTROL_FAILURE_CONF})
_CONF_TYPES = frozenset(CONFIRMATION_OF.values()) | _FAILURES
_HEARTBEAT_ANSWERS = frozenset({MT.HEARTBEAT_CONF}) | _FAILURES
_FAILURE_MESSAGES = _FAILURES | {MT.FAILURE_EVENT}
_HAS_INVOKE_ID: dict[type, bool] = {}  # per message class: whether it carries an InvokeID
#: every floating-field width (tag, length) of reference §2.3, a dialect each: 1+1, 2+2, 2+1
_WIDTHS = (Dialect.uccx(17), Dialect.uccx(18), Dialect.uccx(18, v18_length_width=1))
