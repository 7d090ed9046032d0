"""The call-flow mix in process (hub, session, center, codec; no sockets), for profilers.

Only the server side is measured: the requests are encoded once (InvokeID and CallID patched into
the bytes, as bench/server.py's driver does) and the replies are only cut at their 8-byte headers,
so what a profiler sees is what the server does per cycle.

Wall-clock time on a shared VM swings by ±50 % between runs; CPU instructions do not. Count them
with callgrind as the difference between two run lengths::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/mix_loop.py 20
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/mix_loop.py 80
    # (Collected of the second - Collected of the first) / 60 = instructions per cycle

or sample it: ``py-spy record -f raw -o mix.raw -- python bench/mix_loop.py 3000``, or count
function calls per cycle: ``python bench/mix_loop.py 500 --calls``. ``--time`` prints the best of
five timed runs in µs per cycle (a quick A/B on a quiet machine; not a benchmark).
One agent, one cycle = LOGIN, READY, an inbound call, ANSWER, HOLD, RETRIEVE, CLEAR_CONNECTION
(even cycles) or a single-step TRANSFER to an external number whose far end then hangs up (odd
cycles), NOT_READY, LOGOUT. Every reply is checked for a refusal, so a regression that refuses a request
fails loudly instead of looking fast.

``MOCKCTI_BENCH_SERVER_FROM=DIR`` runs DIR's mockcti instead of this checkout's (the compiled build installed
with ``pip install --target DIR``; ``--time`` names the one it ran).

``--server`` runs instead what bench/server.py's mock server does per pipelined mix cycle: its
MixEngine and frames, two chunks per cycle, through ``MockServer``'s connection path (``_run``
included) with a stand-in transport — the closest in-process proxy of that benchmark (the
numbers of both modes are in bench/README.md).
"""

from __future__ import annotations

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("MOCKCTI_BENCH_SERVER_FROM"):  # DIR's mockcti instead of this checkout's (a compiled build)
    sys.path.insert(0, os.environ["MOCKCTI_BENCH_SERVER_FROM"])

from mockcti.center import ContactCenter  # noqa: E402
from mockcti.hub import Hub, Write  # noqa: E402
from mockcti.journal import Journal  # noqa: E402
from mockcti.wire import Dialect, encode  # noqa: E402
from mockcti.wire import messages as M  # noqa: E402
from mockcti.wire.enums import AgentState as AS  # noqa: E402
from mockcti.wire.enums import MessageType as MT  # noqa: E402

D = Dialect.uccx(14)
FAILURES = {int(MT.FAILURE_CONF), int(MT.CONTROL_FAILURE_CONF)}
HDR = struct.Struct(">II")
U32 = struct.Struct(">I")
EXT = "3001"
CALL_AT = 16  # CallID: the first body field after InvokeID and PeripheralID in every call request below
FAR_END = "0699999999"


def _frames() -> list[tuple[bytes, bool]]:
    reqs = [
        (M.SetAgentStateReq(invoke_id=0, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234", agent_id="1001",
                            agent_instrument=EXT), False),
        (M.SetAgentStateReq(invoke_id=0, agent_state=AS.AGENT_STATE_READY, agent_instrument=EXT), False),
        (M.AnswerCallReq(invoke_id=0, call_id=0, connection_device_id=EXT), True),
        (M.HoldCallReq(invoke_id=0, call_id=0, connection_device_id=EXT), True),
        (M.RetrieveCallReq(invoke_id=0, held_call_id=0, held_connection_device_id=EXT), True),
        (M.ClearConnectionReq(invoke_id=0, call_id=0, connection_device_id=EXT), True),
        (M.SetAgentStateReq(invoke_id=0, agent_state=AS.AGENT_STATE_NOT_READY, agent_instrument=EXT), False),
        (M.SetAgentStateReq(invoke_id=0, agent_state=AS.AGENT_STATE_LOGOUT, agent_instrument=EXT), False),
        (M.TransferCallReq(invoke_id=0, active_call_id=0, held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                           active_connection_device_id=EXT, dialed_number=FAR_END), True),
    ]
    for msg, has_call in reqs:
        if has_call:  # the offset really is the CallID's
            field = next(f for f in ("call_id", "active_call_id", "held_call_id") if hasattr(msg, f))
            probe = encode(type(msg)(**{**{f: getattr(msg, f) for f in msg.__dataclass_fields__},
                                        field: 0x5EED1234}), D)
            assert U32.unpack_from(probe, CALL_AT)[0] == 0x5EED1234, msg
    return [(encode(m, D), c) for m, c in reqs]


def _patched(frame: bytes, invoke_id: int, call_at: int | None, call_id: int) -> bytes:
    """A pre-encoded request with its InvokeID (and, at ``call_at``, its CallID) filled in."""
    f = bytearray(frame)
    U32.pack_into(f, 8, invoke_id)
    if call_at is not None:
        U32.pack_into(f, call_at, call_id)
    return bytes(f)


def main(cycles: int) -> None:
    hub = Hub(ContactCenter(), journal=Journal(keep=False))
    sid = hub.connect(0.0)
    frames = _frames()
    now = [0.0]
    inv = [100]

    def rx(data: bytes) -> None:
        now[0] += 1e-4
        for a in hub.receive(sid, data, now[0]):
            if type(a) is Write:
                check(a.data)

    def check(out: bytes) -> None:
        pos, n = 0, len(out)
        while pos < n:
            length, mtype = HDR.unpack_from(out, pos)
            if mtype in FAILURES:
                raise SystemExit(f"refused: {out[pos:pos + 8 + length].hex()}")
            pos += 8 + length

    def request(i: int, call_id: int = 0) -> bytes:
        data, has_call = frames[i]
        inv[0] += 1
        return _patched(data, inv[0], CALL_AT if has_call else None, call_id)

    rx(encode(M.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7,
                        call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id="bench", client_password=b"",
                        agent_id="1001"), D))
    def happened(deliveries) -> None:
        hub.deliver(deliveries)
        for a in hub.take_actions():
            if type(a) is Write:
                check(a.data)

    for k in range(cycles):
        rx(request(0))
        rx(request(1))
        call_id, deliveries = hub.center.deliver_call(now[0], agent_id="1001")
        happened(deliveries)
        for i in range(2, 5):
            rx(request(i, call_id))
        if k & 1:
            rx(request(8, call_id))
            happened(hub.center.hang_up(now[0], call_id, FAR_END))
        else:
            rx(request(5, call_id))
        rx(request(6))
        rx(request(7))
    if hub.center.calls:
        raise SystemExit(f"calls left over: {sorted(hub.center.calls)}")


def main_server(cycles: int) -> None:
    """``--server``: bench/server.py's pipelined mix exactly — its MixEngine, its frames, two chunks
    per cycle (LOGIN+READY; ANSWER, HOLD, RETRIEVE, CLEAR_CONNECTION or TRANSFER, LOGOUT) — through the
    server's own connection path (``MockServer`` ``_Connection.data_received`` and ``_run``)
    with a stand-in transport: what the benchmark's server process does per cycle, minus the
    event loop and the sockets."""
    import asyncio

    import server as bench_server  # bench/server.py (this directory is on sys.path when run as a script)
    from mockcti.server import MockServer, ServerConfig, _Connection

    loop = asyncio.new_event_loop()
    try:
        srv = MockServer(bench_server.bench_center(10), config=ServerConfig(host="127.0.0.1", port=0),
                         journal=Journal(keep=False), engine=bench_server.MixEngine())
        srv._loop = loop  # as start() sets it; nothing is scheduled on it here
        conn, transport = _Connection(srv), bench_server.SinkTransport()
        conn.connection_made(transport)  # type: ignore[arg-type]
        agent = "1001"
        conn.data_received(bench_server.open_req("agent", agent))
        templates = bench_server.mix_templates(agent)
        invoke = [1]

        def frame(i: int, call_id: int = 0) -> bytes:
            data, has_call = templates[i]
            invoke[0] += 1
            return _patched(data, invoke[0], bench_server.MIX_CALL_AT if has_call else None, call_id)

        delivered = int(MT.CALL_DELIVERED_EVENT)

        def written() -> int:
            """Check what was written for refusals; the CallID of its CALL_DELIVERED_EVENT, if any."""
            out = b"".join(transport.out)
            transport.out.clear()
            pos, call_id = 0, 0
            while pos < len(out):
                length, mtype = HDR.unpack_from(out, pos)
                if mtype in FAILURES:
                    raise SystemExit(f"refused: {out[pos:pos + 8 + length].hex()}")
                if mtype == delivered:
                    call_id = U32.unpack_from(out, pos + 8 + bench_server.CALL_ID_AT)[0]
                pos += 8 + length
            return call_id

        for k in range(cycles):
            conn.data_received(frame(0) + frame(1))
            call_id = written()
            conn.data_received(b"".join(frame(i, call_id) for i in bench_server.MIX_LATER[k & 1]))
            written()
        if srv.hub.center.calls:
            raise SystemExit(f"calls left over: {sorted(srv.hub.center.calls)}")
    finally:
        loop.close()


def _args(argv: list[str] | None = None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cycles", nargs="?", type=int, default=1000, help="cycles to run (default 1000)")
    p.add_argument("--server", action="store_true",
                   help="bench/server.py's pipelined mix through MockServer's connection path (default: the hub)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--calls", action="store_true", help="count Python function calls per cycle (cProfile)")
    how.add_argument("--time", action="store_true", help="best of five timed runs, in µs per cycle")
    args = p.parse_args(argv)
    if args.cycles < 1:
        p.error(f"cycles must be at least 1, not {args.cycles}")
    return args


if __name__ == "__main__":
    args = _args()
    n = args.cycles
    if args.server:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        main = main_server  # noqa: F811
    if args.calls:
        import cProfile
        import pstats

        main(20)  # warm up (encoder generation, caches)
        prof = cProfile.Profile()
        prof.enable()
        main(n)
        prof.disable()
        st = pstats.Stats(prof)
        total = sum(v[1] for v in st.stats.values())  # type: ignore[attr-defined]
        print(f"{total / n:.0f} Python function calls per cycle")
        st.sort_stats("tottime").print_stats(35)
    elif args.time:
        main(50)
        best = min((lambda t0: (main(n), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
        from mockcti.compiled import describe

        print(f"{best / n * 1e6:.1f} µs per cycle (best of 5 runs of {n}); mockcti from "
              f"{os.path.dirname(os.path.dirname(os.path.abspath(sys.modules['mockcti'].__file__ or '')))}, {describe()}")
    else:
        main(n)
