"""The in-process benchmark loop still runs (both modes): it checks every reply for a refusal, so a
change that makes the call-flow mix fail is caught here, not the next time someone profiles."""

from __future__ import annotations

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
