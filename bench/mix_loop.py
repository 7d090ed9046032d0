"""The call-flow mix in process (hub, session, center, codec; no sockets), for profilers.

Wall-clock time on a shared VM swings by ±50 % between runs; CPU instructions do not. Count them
with callgrind as the difference between two run lengths::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/mix_loop.py 20
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/mix_loop.py 80
    # (Collected of the second - Collected of the first) / 60 = instructions per cycle

or sample it: ``py-spy record -f raw -o mix.raw -- python bench/mix_loop.py 3000``.
One agent, one cycle = LOGIN, READY, an inbound call, ANSWER, HOLD, RETRIEVE, CLEAR_CONNECTION,
NOT_READY, LOGOUT. Every confirmation is checked, so a regression that refuses a request fails
loudly instead of looking fast.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mockcti.center import ContactCenter  # noqa: E402
from mockcti.hub import Hub, Write  # noqa: E402
from mockcti.journal import Journal  # noqa: E402
from mockcti.wire import Dialect, FrameBuffer, decode, encode  # noqa: E402
from mockcti.wire import messages as M  # noqa: E402
from mockcti.wire.enums import AgentState as AS  # noqa: E402
from mockcti.wire.enums import MessageType as MT  # noqa: E402

D = Dialect.uccx(14)
FAILURES = {MT.FAILURE_CONF, MT.CONTROL_FAILURE_CONF}


def main(cycles: int) -> None:
    hub = Hub(ContactCenter(), journal=Journal(keep=False))
    sid = hub.connect(0.0)
    now = 0.0

    def rx(msg: M.Message) -> None:
        nonlocal now
        now += 1e-4
        out = b"".join(a.data for a in hub.receive(sid, encode(msg, D), now) if isinstance(a, Write))
        fb = FrameBuffer()
        for frame in fb.feed(out):
            if frame.type_id in FAILURES:
                raise SystemExit(f"{msg.TYPE.name} refused: {decode(frame, D)}")

    rx(M.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7, call_msg_mask=0xFFFFFF,
                 agent_state_mask=0x3FF, client_id="bench", client_password=b"", agent_id="1001"))
    ext = "3001"
    for _ in range(cycles):
        rx(M.SetAgentStateReq(invoke_id=10, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234", agent_id="1001",
                              agent_instrument=ext))
        rx(M.SetAgentStateReq(invoke_id=11, agent_state=AS.AGENT_STATE_READY, agent_instrument=ext))
        call_id, deliveries = hub.center.deliver_call(now, agent_id="1001")
        hub.deliver(deliveries)
        hub.take_actions()
        rx(M.AnswerCallReq(invoke_id=12, call_id=call_id, connection_device_id=ext))
        rx(M.HoldCallReq(invoke_id=13, call_id=call_id, connection_device_id=ext))
        rx(M.RetrieveCallReq(invoke_id=14, held_call_id=call_id, held_connection_device_id=ext))
        rx(M.ClearConnectionReq(invoke_id=15, call_id=call_id, connection_device_id=ext))
        rx(M.SetAgentStateReq(invoke_id=16, agent_state=AS.AGENT_STATE_NOT_READY, agent_instrument=ext))
        rx(M.SetAgentStateReq(invoke_id=17, agent_state=AS.AGENT_STATE_LOGOUT, agent_instrument=ext))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
