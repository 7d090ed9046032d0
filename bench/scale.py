"""Scale benchmark: thousands of agent-mode sessions heartbeating, one bridge, calls at 50/s.

The server runs in a subprocess (a MockServer with ``Journal(keep=False)`` as ``mockcti serve
--quiet`` runs it, a center with ``--sessions`` client agents plus enough agents that no client
drives, and the :mod:`mockcti.load` generator on the hub's timers). This process is the driver:

1. raises the soft ``ulimit -n`` to the hard limit if needed (and says so when it is too low);
2. opens ``--sessions`` agent-mode sessions (OPEN_REQ, then SET_AGENT_STATE LOGIN) and one
   bridge-mode session (every call and agent event);
3. tells the server to start calls (``--calls-per-s``, default 50; undriven agents answer after
   ~1 s and clear after ``--handle-time``), and for ``--seconds`` every agent session sends a
   HEARTBEAT_REQ every 5 s (phases spread evenly);
4. reports p50/p99 of request -> confirmation (OPEN, LOGIN, HEARTBEAT) and of happening -> bridge
   event (the call's arrival on the hub clock, carried in call_variable1 by the generator, against
   BEGIN_CALL_EVENT at the bridge; both processes read the same CLOCK_MONOTONIC), the server's RSS
   per session ((RSS with sessions - RSS before) / sessions, /proc/PID/status VmRSS) and CPU.

Agent sessions stay NOT_READY after LOGIN, so the generated calls go to the undriven agents; the
agent sessions see their own AGENT_STATE_EVENTs and the bridge sees everything.

    python bench/scale.py [--sessions 5000] [--seconds 30] [--calls-per-s 50] [--json]
    python bench/scale.py --sessions 500 --seconds 10     # quick

Before it starts it counts the TCP sockets in TIME_WAIT (Linux: ``/proc/net/sockstat``): a run started
right after another finds the last run's 5,000 client sockets there for 60 s. It waits (``--settle``,
default 75 s) until at most ``max(100, sessions / 20)`` are left, says so, and reports the count it
started with; ``--settle 0`` only reports it. It also reports the CPU time the hypervisor took from this
virtual machine during the measured phase (``steal`` in ``/proc/stat``).

Both processes watch their own event loop (:class:`LagProbe`: how late a 5 ms timer wakes, on the
CLOCK_MONOTONIC both read), and every heartbeat over 20 ms is looked up in the two lists of stalls (a
wake-up over 10 ms late): the report says how many fell in a stall of the server's loop, of this
driver's, or of neither. That is how the spread of the heartbeat p99 between runs (5.5 to 67.9 ms with
the same code, 2026-12-02) was traced, mostly to this driver: creating the 5,000 heartbeat tasks held its loop
0.3-0.7 s and the heartbeats due then were the first 1 % of the run (there is now a 1 s lead-in), and a
full garbage collection of what it holds took 180-340 ms when one came in the measured phase (its set-up
is now frozen out of its collections, ``gc.freeze``); and to the server: its idle check of every session at once
stalled the server's loop 10-27 ms once a second (the hub now does it in 20 parts).

To compare with other code in the same hour (this machine's speed drifts by tens of per cent between
hours), run the same driver against another checkout's server and alternate the runs, e.g.
``git worktree add /tmp/base REV`` then ``python bench/scale.py --server-from /tmp/base``.

It stops by itself: every phase has a time bound, and the server subprocess is killed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("MOCKCTI_BENCH_SERVER_FROM"):  # the server subprocess of --server-from DIR runs DIR's mockcti
    sys.path.insert(0, os.environ["MOCKCTI_BENCH_SERVER_FROM"])

from mockcti.client import CTIClient  # noqa: E402
from mockcti.wire import MessageType  # noqa: E402
from mockcti.wire import messages as M  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import HDR, VERSION, _enc, ext_of, open_req  # noqa: E402

MT = MessageType
HB_INTERVAL = 5.0
LEAD_IN = 1.0  # seconds between creating the heartbeat tasks and the first heartbeat
SLOW = 0.020  # a heartbeat round trip over this is looked up in the loops' stall lists


# -- the server subprocess -------------------------------------------------------------------------------


def run_server(sessions: int, auto: int, calls_per_s: float, handle_time: float, lifetime: float) -> None:
    from mockcti.center.config import AgentConfig, CenterConfig, CSQConfig
    from mockcti.journal import Journal
    from mockcti.load import LoadGenerator, LoadSpec
    from mockcti.server import MockServer, ServerConfig

    csqs = (CSQConfig("Sales", 1), CSQConfig("Support", 2))
    agents = tuple(AgentConfig(id=str(1000 + i), extension=str(3000 + i), instrument=str(3000 + i),
                               csqs=("Sales", "Support")) for i in range(1, sessions + auto + 1))
    auto_ids = [a.id for a in agents[sessions:]]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if os.environ.get("MOCKCTI_BENCH_GC") == "off":  # experiment: are latency spikes GC pauses?
            import gc

            gc.disable()
        server = MockServer(CenterConfig(agents=agents, csqs=csqs),
                            config=ServerConfig(host="127.0.0.1", port=0), journal=Journal(keep=False))
        await server.start()
        probe = LagProbe()
        probe.start()
        # the plain mix (LoadSpec's default mix holds, transfers and conferences calls), so that the
        # figures stay comparable with the runs before load mode had that mix
        gen = LoadGenerator(LoadSpec(calls_per_s=calls_per_s, handle_time=handle_time, hold=0, transfer=0,
                                     conference=0), auto_agents=auto_ids)
        done = asyncio.Event()

        def watch_stdin() -> None:
            for line in sys.stdin:
                if line.strip() == "GO":
                    loop.call_soon_threadsafe(lambda: server.call(lambda hub, now: gen.start(hub, now)))
                elif line.strip() == "STATS":
                    loop.call_soon_threadsafe(lambda: print("STATS " + json.dumps(gen.summary()), flush=True))
                elif line.startswith("LAG "):  # the server loop's lateness since the given CLOCK_MONOTONIC time
                    since = float(line.split()[1])
                    loop.call_soon_threadsafe(lambda: print("LAG " + json.dumps(probe.summary(since)), flush=True))
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        import mockcti

        print(f"PORT {server.port} T0 {server._t0!r} FROM {os.path.dirname(os.path.dirname(mockcti.__file__))}",
              flush=True)
        try:
            await asyncio.wait_for(done.wait(), lifetime)
        except asyncio.TimeoutError:
            pass

    asyncio.run(main())


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_steal_seconds(stat: str | None = None) -> float | None:
    """CPU time the hypervisor has taken from this machine since boot (the ``steal`` column of
    ``/proc/stat``'s ``cpu`` line, all CPUs), in seconds; None where that is not known."""
    if stat is None:
        try:
            with open("/proc/stat") as f:
                stat = f.readline()
        except OSError:
            return None
    words = stat.split()
    if len(words) < 9 or words[0] != "cpu":
        return None
    return int(words[8]) / os.sysconf("SC_CLK_TCK")


def time_wait_sockets(sockstat: str | None = None) -> int | None:
    """TCP sockets in TIME_WAIT on this machine (the ``tw`` figure of ``/proc/net/sockstat``'s TCP
    line), or None where that file does not exist (not Linux)."""
    if sockstat is None:
        try:
            with open("/proc/net/sockstat") as f:
                sockstat = f.read()
        except OSError:
            return None
    for line in sockstat.splitlines():
        if line.startswith("TCP:"):
            words = line.split()
            if "tw" in words[1:-1]:
                return int(words[words.index("tw") + 1])
    return None


def settle_time_wait(sessions: int, settle: float) -> dict:
    """Waits up to ``settle`` seconds for the sockets in TIME_WAIT to drop to at most
    ``max(100, sessions // 20)``, printing what it does; returns what it found for the report."""
    limit = max(100, sessions // 20)
    first = tw = time_wait_sockets()
    waited = 0.0
    if tw is not None and tw > limit and settle > 0:
        print(f"{tw} TCP sockets in TIME_WAIT (an earlier run's, kept 60 s by Linux): waiting up to {settle:g} s "
              f"for at most {limit}", flush=True)
        t0 = time.monotonic()
        while tw is not None and tw > limit and time.monotonic() - t0 < settle:
            time.sleep(1.0)
            tw = time_wait_sockets()
        waited = time.monotonic() - t0
    if tw is not None and tw > limit:
        print(f"WARNING: {tw} TCP sockets in TIME_WAIT at the start: the latency figures may be inflated "
              f"(a run a minute after the last gives the comparable figure)", flush=True)
    elif tw is not None:
        print(f"TCP sockets in TIME_WAIT at the start: {tw}" + (f" (waited {waited:.0f} s)" if waited else ""),
              flush=True)
    return {"time_wait_first": first, "time_wait_at_start": tw, "time_wait_waited_s": waited}


# -- the driver -------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class LagProbe:
    """How late an event loop runs a timer: a task sleeps ``interval`` s again and again and records, for each
    wake-up, when it was due (CLOCK_MONOTONIC, the same clock in both processes) and how late it came. A
    late wake-up is a loop turn that took that long (callbacks, the selector, or the process not on a CPU):
    run in the server and in this driver, it tells whose loop stalled when a latency was high."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.ticks: list[tuple[float, float]] = []  # (due, lateness)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            due = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            self.ticks.append((due, max(0.0, time.monotonic() - due)))

    def stalls(self, since: float = 0.0, over: float = 0.010) -> list[tuple[float, float]]:
        """(start, end) of every wake-up after ``since`` that came more than ``over`` s late."""
        return [(due, due + late) for due, late in self.ticks if due >= since and late > over]

    def summary(self, since: float = 0.0, over: float = 0.010) -> dict:
        lates = [late for due, late in self.ticks if due >= since]
        stalls = self.stalls(since, over)
        return {"ticks": len(lates), "p50_ms": pct(lates, 50) * 1000, "p99_ms": pct(lates, 99) * 1000,
                "max_ms": max(lates, default=float("nan")) * 1000, "stalls": len(stalls),
                "stalled_s": sum(end - start for start, end in stalls),
                "stall_list": [(round(a, 4), round(b, 4)) for a, b in stalls]}


def overlapping(spans: list[tuple[float, float]], stalls: list[tuple[float, float]]) -> int:
    """How many of ``spans`` (start, end) overlap at least one of ``stalls`` (start, end)."""
    stalls = sorted(stalls)
    starts = [a for a, _ in stalls]
    latest_end: list[float] = []  # latest_end[i]: the latest end among stalls[:i + 1]
    for _, e in stalls:
        latest_end.append(max(e, latest_end[-1]) if latest_end else e)
    n = 0
    for a, b in spans:
        i = bisect.bisect_right(starts, b)  # the stalls that start before the span ends ...
        if i and latest_end[i - 1] > a:  # ... one of which ends after it starts
            n += 1
    return n


class AgentConn:
    """One agent-mode session on a raw stream: pre-encoded frames, confirmation latency measured."""

    def __init__(self, reader, writer) -> None:
        self.r, self.w, self.buf = reader, writer, b""
        self.inv = 100

    async def request(self, frame: bytes, conf_type: int, timeout: float = 30.0) -> float:
        t = time.monotonic()
        self.w.write(frame)
        buf = self.buf
        while True:
            pos, n = 0, len(buf)
            while n - pos >= 8:
                length, mtype = HDR.unpack_from(buf, pos)
                end = pos + 8 + length
                if end > n:
                    break
                pos = end
                if mtype == conf_type or mtype in (int(MT.FAILURE_CONF), int(MT.CONTROL_FAILURE_CONF)):
                    self.buf = buf[pos:]
                    if mtype != conf_type:
                        raise RuntimeError(f"request refused (message type {mtype})")
                    return time.monotonic() - t
            buf = buf[pos:]
            data = await asyncio.wait_for(self.r.read(65536), timeout)
            if not data:
                raise ConnectionError("server closed the connection")
            buf += data


class Bridge(CTIClient):
    """A CTIClient that timestamps BEGIN_CALL_EVENTs as they are decoded."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.begins: list[tuple[float, str]] = []
        self.events = 0

    def _dispatch(self, msg) -> None:
        self.events += 1
        if msg.TYPE is MT.BEGIN_CALL_EVENT:
            self.begins.append((time.monotonic(), msg.call_variable1 or ""))
        if msg.TYPE in (MT.HEARTBEAT_CONF, MT.OPEN_CONF, MT.CLOSE_CONF, MT.FAILURE_CONF):
            super()._dispatch(msg)
        self.received.clear()  # keep memory flat: thousands of events


async def open_agents(port: int, first: int, count: int, lat: dict[str, list[float]], par: int) -> list[AgentConn]:
    sem = asyncio.Semaphore(par)
    login_tpl = {}

    async def one(i: int) -> AgentConn:
        agent = str(first + i)
        async with sem:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            c = AgentConn(reader, writer)
            lat["open"].append(await c.request(open_req("agent", agent), int(MT.OPEN_CONF)))
            frame = _enc(M.SetAgentStateReq(invoke_id=2, agent_state=0, agent_instrument=ext_of(agent),
                                            agent_id=agent, agent_password="1234"))
            login_tpl[agent] = frame
            lat["login"].append(await c.request(frame, int(MT.SET_AGENT_STATE_CONF)))
            return c

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def heartbeats(conns: list[AgentConn], seconds: float, lat: list[float], errors: list[str],
                     spans: list[tuple[float, float]], on_start: Callable[[], None]) -> int:
    """Every session sends a HEARTBEAT_REQ every HB_INTERVAL s, phases spread evenly, for ``seconds`` from a
    start LEAD_IN s ahead (``on_start`` runs then): the first step of thousands of tasks takes this loop
    hundreds of ms, and the heartbeats due in it measured that, not the server (the first 1 % of them: the
    p99)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + LEAD_IN
    stop = t0 + seconds
    loop.call_at(t0, on_start)
    frames = [_enc(M.HeartbeatReq(invoke_id=i)) for i in range(1000, 1100)]
    sent = [0]

    async def one(k: int, c: AgentConn) -> None:
        nxt = t0 + HB_INTERVAL * k / len(conns)  # phases spread evenly over the interval
        j = 0
        while True:
            if nxt >= stop:
                return
            await asyncio.sleep(max(0.0, nxt - loop.time()))
            try:
                t = time.monotonic()
                took = await c.request(frames[j % 100], int(MT.HEARTBEAT_CONF), timeout=10)
                lat.append(took)
                spans.append((t, t + took))
                sent[0] += 1
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                errors.append(repr(exc))
                return
            j += 1
            nxt += HB_INTERVAL

    await asyncio.gather(*(one(k, c) for k, c in enumerate(conns)))
    # the phase lasts ``seconds`` (with few sessions the last heartbeat may come much earlier)
    await asyncio.sleep(max(0.0, stop - loop.time()))
    return sent[0]


async def drive(args) -> dict:
    auto = max(50, int(args.calls_per_s * (args.handle_time + 1.0) * 2))
    cmd = [sys.executable, os.path.abspath(__file__), "--serve", "--sessions", str(args.sessions), "--auto", str(auto),
           "--calls-per-s", str(args.calls_per_s), "--handle-time", str(args.handle_time),
           "--lifetime", str(args.seconds + 300)]
    env = dict(os.environ)
    if args.server_from:
        env["MOCKCTI_BENCH_SERVER_FROM"] = args.server_from
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    result: dict = {"sessions": args.sessions, "auto_agents": auto, "calls_per_s": args.calls_per_s,
                    "seconds": args.seconds, **args.time_wait}
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        parts = line.split()
        if not parts or parts[0] != "PORT":
            raise RuntimeError(f"server did not start: {line!r}")
        port, server_t0 = int(parts[1]), float(parts[3])
        result["server_mockcti"] = parts[5] if len(parts) > 5 else None
        await asyncio.sleep(0.5)
        rss0 = proc_rss_kb(proc.pid)
        lat = {"open": [], "login": [], "heartbeat": [], "bridge": []}
        t = time.monotonic()
        conns = await asyncio.wait_for(open_agents(port, 1001, args.sessions, lat, args.parallel_opens),
                                       60 + args.sessions / 50)
        result["open_all_s"] = time.monotonic() - t
        bridge = await Bridge.connect("127.0.0.1", port, version=VERSION)
        await bridge.open_bridge(heartbeat=0, client_id="scale-bridge", idle_timeout=0xFFFFFFFF)
        await asyncio.sleep(1.0)
        rss1 = proc_rss_kb(proc.pid)
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        # what this driver holds for the run (connections, streams, tasks) is left out of its garbage
        # collections: a full one walked it all and held this loop for up to ~180 ms, which the heartbeats
        # waiting on it measured (the driver's pauses, not the server's)
        gc.collect()
        gc.freeze()
        errors: list[str] = []
        spans: list[tuple[float, float]] = []
        probe = LagProbe()
        start: dict = {}

        def on_start() -> None:  # the measured phase begins
            start.update(cpu=proc_cpu(proc.pid), ru=resource.getrusage(resource.RUSAGE_SELF), w=time.monotonic(),
                         steal=cpu_steal_seconds())
            probe.start()

        sent = await asyncio.wait_for(heartbeats(conns, args.seconds, lat["heartbeat"], errors, spans, on_start),
                                      args.seconds + LEAD_IN + 60)
        cpu0, ru0, w0, steal0 = start["cpu"], start["ru"], start["w"], start["steal"]
        w1 = time.monotonic()
        probe.stop()
        cpu1, ru1 = proc_cpu(proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        steal1 = cpu_steal_seconds()
        result["steal_s"] = None if steal0 is None or steal1 is None else steal1 - steal0
        rss2 = proc_rss_kb(proc.pid)
        proc.stdin.write("STATS\n")
        proc.stdin.flush()
        stats_line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 10)
        proc.stdin.write(f"LAG {w0!r}\n")
        proc.stdin.flush()
        lag_line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 10)
        server_lag = json.loads(lag_line.split(" ", 1)[1]) if lag_line.startswith("LAG ") else None
        driver_lag = probe.summary(w0)
        slow = [(a, b) for a, b in spans if b - a > SLOW]
        server_stalls = [tuple(x) for x in server_lag.pop("stall_list")] if server_lag else []
        driver_stalls = driver_lag.pop("stall_list")
        result["lag"] = {
            "server": server_lag, "driver": driver_lag, "slow_heartbeats": len(slow),
            "slow_in_server_stall": overlapping(slow, server_stalls),
            "slow_in_driver_stall": overlapping(slow, driver_stalls),
            "slow_in_neither": len(slow) - overlapping(slow, server_stalls + driver_stalls),
            # (start, end) seconds into the measured phase, to set beside other records of the run
            "server_stalls": [(round(a - w0, 3), round(b - w0, 3)) for a, b in server_stalls],
            "driver_stalls": [(round(a - w0, 3), round(b - w0, 3)) for a, b in driver_stalls]}
        for when, var in bridge.begins:
            if var.startswith("mockcti-load t="):
                happened = server_t0 + float(var.split("=", 1)[1])
                if happened >= w0:  # (calls start with the lead-in: those of the measured phase)
                    lat["bridge"].append(when - happened)
        elapsed = w1 - w0
        result.update({
            "rss_before_kb": rss0, "rss_sessions_kb": rss1, "rss_end_kb": rss2,
            "kb_per_session": (rss1 - rss0) / args.sessions, "kb_per_session_end": (rss2 - rss0) / args.sessions,
            "server_cpu": (cpu1 - cpu0) / elapsed,
            "driver_cpu": (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / elapsed,
            "heartbeats": sent, "heartbeat_errors": len(errors), "first_error": errors[0] if errors else None,
            "bridge_events": bridge.events, "bridge_calls": len(lat["bridge"]),
            "load": json.loads(stats_line.split(" ", 1)[1]) if stats_line.startswith("STATS ") else None,
        })
        for k, v in lat.items():
            result[f"{k}_p50_ms"] = pct(v, 50) * 1000
            result[f"{k}_p99_ms"] = pct(v, 99) * 1000
            result[f"{k}_n"] = len(v)
        for c in conns:
            c.w.close()
        await bridge.abort()
    finally:
        try:
            proc.stdin.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return result


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
        print(f"ulimit -n raised to {soft} (hard limit {hard})")
    if soft < needed:
        print(f"WARNING: ulimit -n is {soft} (hard {hard}) but {needed} descriptors are needed: "
              f"raise the hard limit (e.g. ulimit -Hn {needed}) or use fewer --sessions", file=sys.stderr)
        raise SystemExit(2)
    print(f"ulimit -n {soft} (hard {hard}): enough for {needed} descriptors")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=5000, help="agent-mode sessions (default 5000)")
    p.add_argument("--seconds", type=float, default=30.0, help="measured phase, seconds (default 30)")
    p.add_argument("--calls-per-s", type=float, default=50.0, help="call arrival rate (default 50)")
    p.add_argument("--handle-time", type=float, default=2.0, help="seconds an auto-answered call lasts (default 2)")
    p.add_argument("--parallel-opens", type=int, default=200, help="connects in flight while opening (default 200)")
    p.add_argument("--settle", type=float, default=75.0,
                   help="seconds to wait at most for an earlier run's sockets in TIME_WAIT to go (default 75; 0: "
                        "do not wait, only report them)")
    p.add_argument("--server-from", metavar="DIR", default=None,
                   help="run the server from another checkout's mockcti (DIR holds its mockcti package), to "
                        "compare code in the same hour")
    p.add_argument("--json", action="store_true")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--auto", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--lifetime", type=float, default=600.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name, value, ok, expected in (
            ("--sessions", args.sessions, args.sessions >= 1, "at least 1"),
            ("--seconds", args.seconds, args.seconds > 0, "more than 0"),
            ("--calls-per-s", args.calls_per_s, 0 < args.calls_per_s <= 1000, "more than 0, at most 1000"),
            ("--handle-time", args.handle_time, args.handle_time >= 0, "0 or more"),
            ("--parallel-opens", args.parallel_opens, args.parallel_opens >= 1, "at least 1"),
            ("--settle", args.settle, args.settle >= 0, "0 or more")):
        if not ok:  # (nan compares false) the per-session and per-second figures need one of each
            p.error(f"{name} {value:g}: expected {expected}")
    if args.serve:
        # the server holds one descriptor per session too
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < args.sessions + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sessions + 100)
                                                        if hard != resource.RLIM_INFINITY else args.sessions + 100, hard))
        run_server(args.sessions, args.auto, args.calls_per_s, args.handle_time, args.lifetime)
        return 0
    if args.server_from is not None and not os.path.isfile(os.path.join(args.server_from, "mockcti", "__init__.py")):
        p.error(f"--server-from {args.server_from}: no mockcti package there (expected "
                f"{os.path.join(args.server_from, 'mockcti', '__init__.py')})")
    if args.server_from is not None:
        args.server_from = os.path.abspath(args.server_from)
    raise_nofile(args.sessions + 100)
    args.time_wait = settle_time_wait(args.sessions, args.settle)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; {args.sessions} agent sessions + 1 bridge, "
          f"calls {args.calls_per_s:g}/s, heartbeat every {HB_INTERVAL:g} s, {args.seconds:g} s measured", flush=True)
    r = asyncio.run(drive(args))
    print(f"server: mockcti from {r['server_mockcti']}")
    print(f"opened and logged in {r['sessions']} sessions in {r['open_all_s']:.1f} s")
    for k in ("open", "login", "heartbeat", "bridge"):
        what = "happening -> bridge BEGIN_CALL" if k == "bridge" else f"{k} request -> confirmation"
        print(f"  {what:38} p50 {r[k + '_p50_ms']:7.2f} ms  p99 {r[k + '_p99_ms']:7.2f} ms  (n={r[k + '_n']})")
    print(f"  server RSS {r['rss_before_kb'] / 1024:.1f} MB -> {r['rss_sessions_kb'] / 1024:.1f} MB with sessions "
          f"-> {r['rss_end_kb'] / 1024:.1f} MB at the end: {r['kb_per_session']:.1f} KB/session "
          f"({r['kb_per_session_end']:.1f} at the end)")
    print(f"  server CPU {r['server_cpu']:.0%}, driver CPU {r['driver_cpu']:.0%}; heartbeats {r['heartbeats']} "
          f"(errors {r['heartbeat_errors']}); bridge events {r['bridge_events']}; load {r['load']}")
    if r["steal_s"] is not None:
        print(f"  CPU time the hypervisor took from this machine during the {args.seconds:g} s measured: "
              f"{r['steal_s']:.2f} s (a p99 measured while it took much is the host's, not the code's)")
    lag = r["lag"]
    for who in ("server", "driver"):
        w = lag[who]
        if w:
            print(f"  {who} loop lateness (a {1000 * LagProbe().interval:g} ms timer): p50 {w['p50_ms']:.2f} ms, "
                  f"p99 {w['p99_ms']:.2f} ms, max {w['max_ms']:.1f} ms; {w['stalls']} stalls over 10 ms, "
                  f"{w['stalled_s']:.2f} s in all")
    print(f"  heartbeats over {SLOW * 1000:g} ms: {lag['slow_heartbeats']}; during a server loop stall "
          f"{lag['slow_in_server_stall']}, during a driver loop stall {lag['slow_in_driver_stall']}, during "
          f"neither {lag['slow_in_neither']}")
    p99 = max(r["heartbeat_p99_ms"], r["bridge_p99_ms"])
    print(f"target p99 < 50 ms: {'met' if p99 < 50 else 'MISSED'} ({p99:.1f} ms); "
          f"< 40 KB/session: {'met' if r['kb_per_session'] < 40 else 'MISSED'} ({r['kb_per_session']:.1f} KB)")
    if args.json:
        print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
