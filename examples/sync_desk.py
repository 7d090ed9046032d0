"""A small *synchronous* CTI client, the kind a user writes: plain blocking sockets plus the
mockcti wire codec (``mockcti.wire.encode`` / ``decode`` / ``FrameBuffer``).

It is here to be tested by ``examples/test_my_client.py`` against the ``cti_server`` fixture
(the mock runs on its own thread, so a blocking client works). Replace it with your own client.
"""

from __future__ import annotations

import itertools
import socket
import time

from mockcti.wire import Dialect, FrameBuffer, FrameError, Message, MessageType, decode, encode
from mockcti.wire.enums import AgentState, ServiceMask
from mockcti.wire.messages import (
    AnswerCallReq, ClearConnectionReq, CloseReq, HoldCallReq, OpenReq, RetrieveCallReq, SetAgentStateReq,
)

MT = MessageType
CONFS = {MT.OPEN_CONF, MT.CLOSE_CONF, MT.SET_AGENT_STATE_CONF, MT.ANSWER_CALL_CONF, MT.HOLD_CALL_CONF,
         MT.RETRIEVE_CALL_CONF, MT.CLEAR_CONNECTION_CONF, MT.HEARTBEAT_CONF, MT.FAILURE_CONF,
         MT.CONTROL_FAILURE_CONF}


class DeskError(Exception):
    pass


class SyncDesk:
    """An agent desktop: one blocking connection, one request at a time."""

    def __init__(self, host: str, port: int, *, agent_id: str, extension: str, version: int = 18,
                 timeout: float = 5.0) -> None:
        self.dialect = Dialect.uccx(version)
        self.agent_id, self.extension = agent_id, extension
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.frames = FrameBuffer()
        self.invoke = itertools.count(1)
        self.events: list[Message] = []  # unsolicited messages, in order
        self._backlog: list[Message] = []  # decoded, not looked at yet

    # -- plumbing ---------------------------------------------------------------------------------

    def _next(self, deadline: float) -> Message:
        """The next message from the server (blocking until ``deadline``)."""
        while not self._backlog:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeskError("timed out waiting for the server")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise DeskError("connection closed by the server")
            for item in self.frames.feed(data):
                if isinstance(item, FrameError):
                    raise DeskError(f"bad frame from the server: {item}")
                self._backlog.append(decode(item, self.dialect))
        return self._backlog.pop(0)

    def request(self, message: Message) -> Message:
        """Send a request and wait for its confirmation; events seen meanwhile go to ``events``."""
        self.sock.sendall(encode(message, self.dialect))
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._next(deadline)
            if msg.TYPE in CONFS and getattr(msg, "invoke_id", None) == message.invoke_id:
                if msg.TYPE in (MT.FAILURE_CONF, MT.CONTROL_FAILURE_CONF):
                    raise DeskError(f"{message.TYPE.name} refused: {msg}")
                return msg
            self.events.append(msg)

    def wait_event(self, message_type: MessageType) -> Message:
        """The first event of ``message_type`` (already received or still to come)."""
        for i, ev in enumerate(self.events):
            if ev.TYPE is message_type:
                return self.events.pop(i)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._next(deadline)
            if msg.TYPE is message_type:
                return msg
            self.events.append(msg)

    # -- what the desktop does ----------------------------------------------------------------------

    def open(self) -> Message:
        services = int(ServiceMask.CTI_SERVICE_CLIENT_EVENTS | ServiceMask.CTI_SERVICE_CLIENT_CONTROL)
        return self.request(OpenReq(
            invoke_id=next(self.invoke), version_number=self.dialect.version, idle_timeout=60,
            services_requested=services, call_msg_mask=0x00FFFFFF, agent_state_mask=0x3FFF, config_msg_mask=0,
            client_id="sync-desk", client_password=b"", agent_id=self.agent_id,
            agent_extension=self.extension, agent_instrument=self.extension))

    def set_state(self, state: AgentState, password: str | None = None) -> Message:
        return self.request(SetAgentStateReq(
            invoke_id=next(self.invoke), agent_state=int(state), event_reason_code=0,
            agent_instrument=self.extension, agent_id=self.agent_id, agent_password=password))

    def answer(self, call_id: int) -> Message:
        return self.request(AnswerCallReq(invoke_id=next(self.invoke), call_id=call_id,
                                          connection_device_id=self.extension))

    def hold(self, call_id: int) -> Message:
        return self.request(HoldCallReq(invoke_id=next(self.invoke), call_id=call_id,
                                        connection_device_id=self.extension))

    def retrieve(self, call_id: int) -> Message:
        return self.request(RetrieveCallReq(invoke_id=next(self.invoke), held_call_id=call_id,
                                            held_connection_device_id=self.extension))

    def hang_up(self, call_id: int) -> Message:
        return self.request(ClearConnectionReq(invoke_id=next(self.invoke), call_id=call_id,
                                               connection_device_id=self.extension))

    def close(self) -> None:
        try:
            self.request(CloseReq(invoke_id=next(self.invoke), status=0))
        finally:
            self.sock.close()
