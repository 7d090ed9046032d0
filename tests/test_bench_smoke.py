"""The in-process benchmark loop still runs (both modes): it checks every reply for a refusal, so a
change that makes the call-flow mix fail is caught here, not the next time someone profiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "mix_loop.py"


@pytest.mark.parametrize("mode", [[], ["--server"]], ids=["hub", "server"])
def test_mix_loop_runs_its_cycles_without_a_refusal(mode):
    done = subprocess.run([sys.executable, str(BENCH), "30", *mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused" not in done.stdout + done.stderr


@pytest.mark.parametrize("driver", ["callbacks", "streams"])
def test_bench_server_runs_both_workloads_against_both_servers_without_an_error(driver):
    """bench/server.py end to end, briefly, with either driver: both servers answer every request
    of both workloads (the mix's odd cycles transfer their call) with no FAILURE_CONF; no rates are
    judged here."""
    server_py = BENCH.parent / "server.py"
    done = subprocess.run([sys.executable, str(server_py), "--sessions", "1,3", "--seconds", "0.3", "--rounds", "2",
                           "--driver", driver, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout[done.stdout.index("\n[") + 1:])
    assert {(r["workload"], r["mode"], r["sessions"]) for r in results} == {
        (w, m, n) for w in ("hb", "mix") for m in ("lockstep", "pipelined") for n in (1, 3)}
    for r in results:
        for kind in ("raw", "mock"):
            assert r[kind]["errors"] == 0, (r, kind)
            assert r[kind]["done"] > 0, (r, kind)
    mix = [r for r in results if r["workload"] == "mix"]
    assert all(r["mock"]["done"] >= 2 * r["sessions"] for r in mix)  # enough cycles for both endings to run


def test_replay_and_floor_baselines_carry_the_mocks_own_replies():
    """``--baseline replay`` replays the mock's own reply bytes per request type, so a cycle carries
    the mock's frames and bytes; ``--baseline floor`` patches the CallID wherever the mock's reply
    carries it (CALL_DELIVERED_EVENT's included)."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import server as bench_server
    finally:
        sys.path.remove(str(BENCH.parent))
    replies, delivered = bench_server.replay_replies()
    raw, _ = bench_server.raw_replies()
    assert replies.keys() == raw.keys()
    for mtype in {bench_server.HDR.unpack_from(frame, 0)[1] for frame, _ in bench_server.mix_templates("1001")}:
        assert len(replies[mtype][1]) > len(raw[mtype][1]), mtype  # every mix request is answered with events too

    def frames(data: bytes) -> list[int]:
        pos, types = 0, []
        while pos < len(data):
            length, mtype = bench_server.HDR.unpack_from(data, pos)
            types.append(mtype)
            pos += 8 + length
        assert pos == len(data)
        return types

    set_state = int(bench_server.MT.SET_AGENT_STATE_REQ)
    head, rest = replies[set_state]
    login = frames(head + b"\0\0\0\0" + rest)
    assert login == [int(bench_server.MT.SET_AGENT_STATE_CONF), int(bench_server.MT.AGENT_STATE_EVENT)]
    assert int(bench_server.MT.CALL_DELIVERED_EVENT) in frames(delivered)
    even = (0, 1, *bench_server.MIX_LATER[0])
    templates = bench_server.mix_templates("1001")
    per_cycle = sum(len(replies[bench_server.HDR.unpack_from(templates[i][0], 0)[1]][1]) + 12 for i in even)
    assert per_cycle + len(delivered) > 1000  # the mock's ~1,260 bytes, not the raw server's ~200

    captured = bench_server.mock_replies()
    ready, offsets = bench_server.FloorProtocol.tables_from(captured)[1]
    call_id = captured[1][1]
    assert call_id and offsets and all(bench_server.U32.unpack_from(ready, o)[0] == call_id for o in offsets)
    pos, delivered_at = 0, None
    while pos < len(ready):
        length, mtype = bench_server.HDR.unpack_from(ready, pos)
        if mtype == bench_server.T_DELIVERED:
            delivered_at = pos + 8 + bench_server.CALL_ID_AT
        pos += 8 + length
    assert delivered_at in offsets


@pytest.mark.parametrize("baseline", ["replay", "floor"])
def test_bench_server_runs_the_mix_against_the_other_baselines(baseline):
    """``--baseline replay|floor`` drive the mix with no error (the floor server ends the run loudly
    on any request out of place), name the baseline in each row and judge no target."""
    server_py = BENCH.parent / "server.py"
    done = subprocess.run([sys.executable, str(server_py), "--sessions", "1,3", "--seconds", "0.3", "--rounds", "1",
                           "--workloads", "mix", "--baseline", baseline, "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert baseline in done.stdout and "target" not in done.stdout.replace("targets are judged", "")
    results = json.loads(done.stdout[done.stdout.index("\n[") + 1:])
    assert results and all(r["baseline"] == baseline for r in results)
    for r in results:
        assert r["raw"]["errors"] == 0 and r["raw"]["done"] >= 2 * r["sessions"], r


@pytest.mark.asyncio
@pytest.mark.parametrize("driver", ["callbacks", "streams"])
@pytest.mark.parametrize("pipelined", [False, True], ids=["lockstep", "pipelined"])
async def test_the_heartbeat_workload_counts_a_refused_heartbeat_as_an_error_not_a_round_trip(driver, pipelined):
    """A server that answers every HEARTBEAT_REQ with FAILURE_CONF: the hb workload reports errors
    and no round trips (it counted the reply bytes in HEARTBEAT_CONF lengths: a refusing server
    'made' 1.4 M round trips a second, with no error, and the smoke test's errors == 0 held for any
    reply)."""
    import asyncio
    from types import SimpleNamespace

    sys.path.insert(0, str(BENCH.parent))
    try:
        import server as bench_server
    finally:
        sys.path.remove(str(BENCH.parent))
    from mockcti.wire import messages as M

    replies, delivered = bench_server.raw_replies()
    refusal = bench_server._enc(M.FailureConf(invoke_id=1, status=1))
    replies[int(bench_server.MT.HEARTBEAT_REQ)] = (refusal[:8], refusal[12:])
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: bench_server.RawProtocol(replies, delivered), "127.0.0.1", 0)
    try:
        port = srv.sockets[0].getsockname()[1]
        r = await bench_server.run_config(port, SimpleNamespace(cpu=lambda: 0.0), "hb", 2, pipelined, 4, 0.2, 1001,
                                          driver)
    finally:
        srv.close()
        await srv.wait_closed()
    assert r["errors"] == 2 and r["done"] == 0, r


@pytest.mark.parametrize("argv, message", [
    (["--sessions", "0"], "--sessions 0: expected at least 1"),
    (["--seconds", "0"], "--seconds 0: expected more than 0"),
    (["--seconds", "nan"], "--seconds nan: expected more than 0"),
    (["--calls-per-s", "0"], "--calls-per-s 0: expected more than 0, at most 1000"),
])
def test_scale_refuses_values_its_figures_cannot_be_computed_with(argv, message):
    """bench/scale.py with no session or no measured time is a usage error naming the option, before
    anything starts (--sessions 0 ran the whole benchmark, then died of a ZeroDivisionError in the
    KB-per-session figure; --calls-per-s 0 divided by zero in the server's load generator)."""
    done = subprocess.run([sys.executable, str(BENCH.parent / "scale.py"), *argv], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "ulimit" not in done.stdout  # refused before anything ran


def test_scale_reads_the_sockets_in_time_wait_and_the_stolen_cpu():
    """The TIME_WAIT count bench/scale.py waits on and reports (Linux's /proc/net/sockstat TCP line: runs
    started back to back found the last run's 5,000 sockets there), and the CPU time the hypervisor took
    (/proc/stat's steal column, which the heartbeat p99 followed on the shared machine)."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH.parent))
    sockstat = ("sockets: used 13\n"
                "TCP: inuse 1 orphan 0 tw 5012 alloc 1 mem 171\n"
                "UDP: inuse 0 mem 0\n")
    assert scale.time_wait_sockets(sockstat) == 5012
    assert scale.time_wait_sockets("sockets: used 13\nUDP: inuse 0 mem 0\n") is None
    tick = os.sysconf("SC_CLK_TCK")
    assert scale.cpu_steal_seconds(f"cpu  7477033 89172 404013 7989649 3282 0 105695 {tick * 4} 0 0\n") == 4.0
    assert scale.cpu_steal_seconds("cpu  1 2 3\n") is None


def test_scale_tells_a_slow_round_trip_during_a_loop_stall_from_one_outside():
    """bench/scale.py holds each heartbeat over 20 ms against the stalls of the server's and the driver's loops
    (a timer that woke more than 10 ms late): a round trip overlaps a stall when the stall starts before it
    ends and ends after it starts, also behind a long earlier stall that a later short one does not hide."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH.parent))
    stalls = [(10.0, 10.5), (1.0, 5.0), (3.0, 3.1)]  # unsorted; (3.0, 3.1) lies within the long one
    assert scale.overlapping([(4.0, 4.2)], stalls) == 1  # inside the long stall, after the short one
    assert scale.overlapping([(5.5, 6.0), (0.0, 0.9), (10.6, 11.0)], stalls) == 0  # between, before, after
    assert scale.overlapping([(0.5, 1.5), (10.4, 12.0), (9.0, 11.0)], stalls) == 3  # into, out of, across
    assert scale.overlapping([(1.0, 2.0)], []) == 0
    probe = scale.LagProbe()
    probe.ticks = [(1.0, 0.001), (2.0, 0.030), (3.0, 0.002), (4.0, 0.050)]
    assert probe.stalls() == [(2.0, 2.03), (4.0, 4.05)]
    summary = probe.summary(since=3.0)
    assert summary["ticks"] == 2 and summary["stalls"] == 1 and summary["max_ms"] == 50.0


def test_scale_runs_the_server_of_the_checkout_given_and_reports_time_wait(tmp_path):
    """--server-from DIR runs DIR's mockcti in the server subprocess (to compare two commits in the
    same hour) and the report names it; the TIME_WAIT count at the start is in the report; a DIR
    without mockcti is a usage error naming it."""
    repo = BENCH.parents[1]
    done = subprocess.run([sys.executable, str(BENCH.parent / "scale.py"), "--sessions", "5", "--seconds", "1",
                           "--calls-per-s", "5", "--settle", "0", "--server-from", str(repo), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("\n{") + 1:])
    assert report["server_mockcti"] == str(repo)
    assert f"server: mockcti from {repo}" in done.stdout
    assert report["heartbeat_errors"] == 0 and report["login_n"] == 5
    if Path("/proc/net/sockstat").exists():
        assert isinstance(report["time_wait_at_start"], int) and report["time_wait_waited_s"] == 0.0
    if Path("/proc/stat").exists():
        assert report["steal_s"] >= 0 and "CPU time the hypervisor took" in done.stdout
    lag = report["lag"]  # both loops were watched over the measured phase (a 5 ms timer)
    assert lag["server"]["ticks"] >= 1 and lag["driver"]["ticks"] >= 1, lag
    assert 0 <= lag["slow_in_neither"] <= lag["slow_heartbeats"], lag
    assert "server loop lateness" in done.stdout and "driver loop lateness" in done.stdout
    done = subprocess.run([sys.executable, str(BENCH.parent / "scale.py"), "--server-from", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"--server-from {tmp_path}: no mockcti package there" in done.stderr
    assert "ulimit" not in done.stdout
