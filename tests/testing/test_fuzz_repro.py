"""A fuzz run is reproducible: the same seed and options send the same cases, whatever else the process holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fuzz_client.py"

#: one search with an in-process well-behaved client; prints the keys of the cases sent, in order
_RUN = """
import importlib.util, json, sys
for name in sys.argv[2:]:
    __import__(name)  # what the user's process happened to import first
from mockcti.testing.fuzz import fuzz_client
spec = importlib.util.spec_from_file_location("client_under_test", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
keys = []
result = fuzz_client(client=mod.agent_client(), seed=3, count=8, time_budget=60, window=0.05, max_window=0.05,
                     reconnect_timeout=3, start_timeout=5, on_case=lambda case, why: keys.append(case.key()))
print(json.dumps({"passed": result.passed, "keys": keys}))
"""


def _cases_sent(tmp_path: Path, hash_seed: str, *imports: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed,
               PYTHONPATH=os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", _RUN, str(EXAMPLE), *imports], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["passed"] and len(out["keys"]) == 8, out
    return out["keys"]


def test_the_same_seed_sends_the_same_cases_whatever_modules_were_imported_first(tmp_path):
    # a user's module full of literals (Hypothesis draws now and then from the literals of the local modules
    # loaded: the same seed gave other cases once such a module was imported, or from another entry point)
    (tmp_path / "user_constants.py").write_text(
        "NUMBERS = %r\nCODES = %r\n" % ([(n * 7919) % 999_983 + 1 for n in range(150)],
                                        ["%04d" % ((n * 373) % 10_000) for n in range(150)]), encoding="utf-8")
    plain = _cases_sent(tmp_path, "1")
    assert _cases_sent(tmp_path, "2", "user_constants") == plain
