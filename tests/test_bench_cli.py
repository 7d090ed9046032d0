"""``mockcti bench``: runs the checkout's benchmarks (bench/*.py), its arguments passed on unchanged,
their exit status its own; a missing bench/ or an unknown name is a usage error that says why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mockcti.cli import main
from mockcti.commands import bench

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_the_default_directory_is_the_checkouts_bench() -> None:
    assert bench.default_dir() == BENCH


def test_without_a_name_it_lists_every_benchmark_with_what_it_measures(capfd) -> None:
    assert main(["bench"]) == 0
    out = capfd.readouterr().out
    for name in ("codec", "server", "scale", "mix_loop"):
        first = ast.get_docstring(ast.parse((BENCH / f"{name}.py").read_text(encoding="utf-8"))).splitlines()[0]
        assert f"{name}" in out and first in out, name
    assert "mockcti bench NAME" in out
    assert main(["bench", "--list"]) == 0
    assert "mockcti bench NAME" not in capfd.readouterr().out


def test_its_arguments_reach_the_benchmark_and_its_status_is_the_commands(capfd) -> None:
    assert main(["bench", "codec", "--help"]) == 0
    assert "usage: codec.py" in capfd.readouterr().out
    assert main(["bench", "mix_loop", "--sever"]) == 2  # the benchmark's own usage error
    assert "unrecognized arguments: --sever" in capfd.readouterr().err


def test_a_short_benchmark_runs_to_its_figure(capfd) -> None:
    assert main(["bench", "mix_loop.py", "3", "--time"]) == 0
    assert "µs per cycle (best of 5 runs of 3)" in capfd.readouterr().out


def test_an_unknown_benchmark_names_the_ones_there_are(capfd) -> None:
    assert main(["bench", "sever"]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"mockcti bench: no benchmark 'sever' in {BENCH}; there are: ")
    assert "codec" in err and "server" in err


def test_without_a_bench_directory_it_says_where_the_benchmarks_are(tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setattr(bench, "default_dir", lambda: tmp_path / "site-packages" / "bench")
    assert main(["bench", "codec"]) == 2
    err = capfd.readouterr().err
    assert "an installed wheel does not have" in err and "--dir" in err
    assert main(["bench", "--dir", str(tmp_path / "none"), "codec"]) == 2
    assert "--dir names no directory" in capfd.readouterr().err


def test_dir_runs_a_benchmark_elsewhere_with_this_mockcti_from_any_working_directory(
        tmp_path, monkeypatch, capfd) -> None:
    (tmp_path / "helper.py").write_text("X = 1\n", encoding="utf-8")  # no __main__ block: not a benchmark
    (tmp_path / "probe.py").write_text(
        '"""Probe: prints its arguments and the mockcti it imports."""\n'
        "import sys\nimport mockcti\n"
        'if __name__ == "__main__":\n'
        "    print(sys.argv[1:], mockcti.__file__)\n"
        "    raise SystemExit(3)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--dir", str(tmp_path)]) == 0
    listing = capfd.readouterr().out
    assert "probe  Probe: prints its arguments and the mockcti it imports." in listing
    assert "helper" not in listing
    assert main(["bench", "--dir", str(tmp_path), "probe", "--seconds", "1", "x y"]) == 3
    out = capfd.readouterr().out
    import mockcti
    assert out.strip() == f"{['--seconds', '1', 'x y']} {mockcti.__file__}"


@pytest.mark.parametrize("name", ["codec", "server", "scale", "mix_loop"])
def test_every_benchmark_answers_help(name, capfd) -> None:
    assert main(["bench", name, "--help"]) == 0
    assert f"usage: {name}.py" in capfd.readouterr().out


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="POSIX signals")
def test_sigterm_while_a_benchmark_runs_stops_it_and_is_143(tmp_path) -> None:
    """bench had no SIGTERM handler: a cancelled job killed mockcti by the signal's default action (-15) and left the
    benchmark running; and its catch of Ctrl-C made the handler's SIGTERM status 130. Now the benchmark is stopped and
    the status is 143. (The benchmark here signals mockcti itself, then would run for a minute.)"""
    import os
    import signal
    import subprocess
    import sys

    (tmp_path / "stall.py").write_text(
        '"""Signals its parent, then waits."""\nimport os, signal, sys, time\n'
        'if __name__ == "__main__":\n'
        '    open(sys.argv[1], "w").write(str(os.getpid()))\n'
        '    os.kill(os.getppid(), signal.SIGTERM)\n'
        '    time.sleep(60)\n')
    pidfile = tmp_path / "pid"
    r = subprocess.run([sys.executable, "-m", "mockcti", "bench", "--dir", str(tmp_path), "stall", str(pidfile)],
                       capture_output=True, text=True, timeout=50)
    assert (r.returncode, r.stderr) == (143, "")
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, signal.SIGKILL)  # (mockcti waited for it: gone, its pid not reused this soon)
    except ProcessLookupError:
        return
    pytest.fail("the benchmark outlived mockcti bench")
