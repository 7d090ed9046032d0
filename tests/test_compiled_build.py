"""The compiled build (``MOCKCTI_COMPILE=1``: setup.py, mockcti/compiled.py), built from this tree with mypyc and
run against the tests of the modules it compiles.

mypyc compiles from the annotations and checks them at run time: an annotation that is not true (a call's data
said ``str`` and held UserToUserInfo bytes), a class attribute naming the class's own methods, a sentinel
default outside its parameter's type — each built or ran as plain Python and broke the compiled build. These
tests catch the next one here instead of at a user's. Tests that monkeypatch or subclass a compiled class, or
give one an ill-typed argument on purpose, are marked ``pure_python`` and run in the plain build only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mockcti import compiled

REPO = Path(__file__).resolve().parent.parent

#: the tests of what the compiled build compiles (center, ACD guard, hub, session, journal, codec, framing), of the
#: server on top of them and of the pytest plugin's fixtures (which keep the centers they served)
COMPILED_TESTS = ("tests/center", "tests/acd", "tests/wire", "tests/test_session.py", "tests/test_call_flows_tcp.py",
                  "tests/test_server_tcp.py", "tests/test_journal_bounds.py", "tests/test_ucce_profile.py",
                  # (one test of the plugin's: pytester's in-process runs drop the modules first imported in them
                  # from sys.modules, and mypyc's compiled modules then find a sibling gone: KeyError)
                  "tests/testing/test_plugin_fixtures.py::"
                  "test_a_contact_center_served_before_is_a_usage_error_not_state_carried_over")


def _c_compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


@pytest.fixture(scope="module")
def compiled_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree's wheel built with MOCKCTI_COMPILE=1 and installed into a directory of its own (pip --target):
    put first on PYTHONPATH, it is the mockcti Python imports."""
    if _c_compiler() is None:
        pytest.skip("the compiled build needs a C compiler (sysconfig CC), and this machine has none")
    if importlib.util.find_spec("mypyc") is None:
        pytest.skip("the compiled build needs mypyc (mypy, a test dependency), which is not installed")
    tmp = tmp_path_factory.mktemp("compiled")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "setup.py"):
        shutil.copy(REPO / name, src / name)
    for name in ("mockcti", "catalog"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    env = {**os.environ, "MOCKCTI_COMPILE": "1"}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp / "dist")], capture_output=True, text=True, env=env, cwd=src,
                           timeout=1200, check=False)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    (wheel,) = (tmp / "dist").glob("*.whl")
    target = tmp / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    return target


def _in(target: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """``python ARGS`` with the compiled build first on the path (cwd too: ``python -m`` puts it first)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=target,
                          timeout=timeout, check=False)


def test_a_plain_install_says_it_is_pure_python(capsys: pytest.CaptureFixture[str]) -> None:
    from mockcti.cli import main

    assert compiled.compiled_modules() == [] and compiled.describe() == "pure Python"
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == "mockcti 0.1.0 (pure Python)\n"


@pytest.mark.slow
@pytest.mark.timeout(1800)  # (the first test asking for the build builds it: 2-3 minutes of C compiling)
def test_the_compiled_build_compiles_every_module_it_names(compiled_build: Path) -> None:
    probe = ("import importlib, importlib.machinery as m, mockcti, mockcti.compiled as c\n"
             "for name in c.MODULES:\n"
             "    f = importlib.import_module(name).__file__\n"
             "    assert f.endswith(tuple(m.EXTENSION_SUFFIXES)), (name, f)\n"
             "print(mockcti.__file__)\nprint(c.describe())")
    r = _in(compiled_build, "-c", probe, timeout=120)
    assert r.returncode == 0, r.stderr
    origin, build = r.stdout.splitlines()
    assert Path(origin).parent.parent == compiled_build
    assert build == f"compiled with mypyc ({len(compiled.MODULES)} of {len(compiled.MODULES)} modules)"
    version = _in(compiled_build, "-m", "mockcti", "--version", timeout=120)
    assert version.stdout == f"mockcti 0.1.0 ({build})\n", version.stderr


@pytest.mark.slow
@pytest.mark.timeout(3600)  # (about 3,000 tests, 1-2 minutes on an idle machine; the build too if run alone)
def test_the_compiled_build_passes_the_tests_of_what_it_compiles(compiled_build: Path) -> None:
    """The tests run by ``python -m pytest`` in the build's directory (first on the path), after a Python started the
    same way has checked it imports the compiled modules (not in the pytest process: a module imported before
    pytest starts is one its assertion rewriting warns about, and the plugin's own tests read those warnings)."""
    check = _in(compiled_build, "-c", "import mockcti.compiled as c\n"
                "assert len(c.compiled_modules()) == len(c.MODULES), c.compiled_modules()", timeout=120)
    assert check.returncode == 0, check.stderr
    tests = [str(REPO / t) for t in COMPILED_TESTS]
    r = _in(compiled_build, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not pure_python",
            "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), *tests, timeout=3300)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-4000:]
    assert " passed" in r.stdout.splitlines()[-1] and "failed" not in r.stdout.splitlines()[-1]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_compiled_build_runs_the_benchmarks_call_flow_mix(compiled_build: Path) -> None:
    """bench/mix_loop.py --server (the server benchmark's mix, every reply checked for a refusal) on the compiled
    build, as ``MOCKCTI_BENCH_SERVER_FROM`` runs it; the line names the build it timed."""
    env_from = {"MOCKCTI_BENCH_SERVER_FROM": str(compiled_build)}
    r = subprocess.run([sys.executable, str(REPO / "bench" / "mix_loop.py"), "20", "--server", "--time"],
                       capture_output=True, text=True, env={**os.environ, **env_from}, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith(
        f"mockcti from {compiled_build}, compiled with mypyc ({len(compiled.MODULES)} of {len(compiled.MODULES)} "
        "modules)"), r.stdout


@pytest.mark.parametrize(("value", "argv", "says"), [
    ("maybe", ["--version"], "MOCKCTI_COMPILE='maybe': 1 compiles the hot modules with mypyc, 0 or unset builds "
                             "plain Python"),
    ("1", ["editable_wheel"], "MOCKCTI_COMPILE=1 with an editable install: the compiled modules would shadow the "
                              "sources; install it without -e (pip install --no-build-isolation .)"),
])
def test_setup_refuses_what_it_cannot_build_naming_why(value: str, argv: list[str], says: str) -> None:
    r = subprocess.run([sys.executable, str(REPO / "setup.py"), *argv], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "MOCKCTI_COMPILE": value}, timeout=120, check=False)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == says, (r.returncode, r.stderr)


def test_setup_builds_plain_python_unless_told() -> None:
    r = subprocess.run([sys.executable, str(REPO / "setup.py"), "--name"], capture_output=True, text=True, cwd=REPO,
                       env={k: v for k, v in os.environ.items() if k != "MOCKCTI_COMPILE"}, timeout=120, check=False)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "mockcti", r.stderr
