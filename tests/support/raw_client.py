"""The opening of the raw-socket client scripts tests give ``mockcti run --client-cmd`` or start themselves: a client
under test that speaks the wire bytes itself (mockcti.wire only, no CTIClient), so it can break rules a real client
would. A script is ``PRELUDE`` followed by what it does with what the prelude defines:

- ``D``: the dialect (UCCX version 14); ``s``: the socket, connected to ``CTI_HOST``:``CTI_PORT`` (10 s timeout);
- ``read_frame()``: the next frame received, as it came (its ``type_id`` the wire's number; exits "connection
  closed" when the server closed); ``read_one()``: the next message received, decoded with ``D`` (a script may set
  ``D`` anew after the prelude: a dialect of other message numbers);
- ``open_req(invoke_id, client_id)``: the bytes of an agent-mode OPEN_REQ for agent 1001 at 3001.
"""

PRELUDE = """\
import os, socket, sys
from mockcti.wire import Dialect, FrameBuffer, decode, encode, messages as W

D = Dialect.uccx(14)
s = socket.create_connection((os.environ["CTI_HOST"], int(os.environ["CTI_PORT"])), timeout=10)
fb = FrameBuffer()
pending = []

def read_frame():
    while not pending:
        data = s.recv(65536)
        if not data:
            sys.exit("connection closed")
        pending.extend(fb.feed(data))
    return pending.pop(0)

def read_one():
    return decode(read_frame(), D)

def open_req(invoke_id, client_id):
    return encode(W.OpenReq(invoke_id=invoke_id, version_number=14, idle_timeout=60, services_requested=7,
                            call_msg_mask=0, agent_state_mask=0, client_id=client_id, client_password=b"",
                            agent_extension="3001", agent_instrument="3001", agent_id="1001"), D)

"""
