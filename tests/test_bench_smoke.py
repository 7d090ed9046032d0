"""The in-process benchmark loop still runs (both modes): it checks every reply for a refusal, so a
change that makes the call-flow mix fail is caught here, not the next time someone profiles."""

from __future__ import annotations

import json
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
