"""Ctrl-C and SIGTERM in the first instants of a ``mockcti`` command (a CI job cancelled as it starts): status 130 /
143 and no traceback, wherever the signal lands. Each test raises the signal at a chosen point of the command, in a
subprocess (a SIGTERM's default action would end the test run): no timing decides where it lands."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _python(code: str, *argv: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, with Ctrl-C as in a terminal (a test run in the background ignores it)."""
    head = "import signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    return subprocess.run([sys.executable, "-c", head + textwrap.dedent(code), *argv], capture_output=True, text=True,
                          timeout=60)


def test_the_console_script_is_the_guarded_entry_point():
    """The `mockcti` script imported mockcti.cli itself, outside any handler: the entry point is now
    mockcti.__main__:entry, which imports it (see the next test)."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["mockcti"] == "mockcti.__main__:entry"


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_command_imports_its_command_line_is_130_or_143_without_a_traceback(sig):
    """Ctrl-C while the `mockcti` script imported mockcti.cli (argparse ...) was a KeyboardInterrupt traceback and
    status -2, a SIGTERM killed it (-15). The signal is raised here as argparse is imported, inside that import."""
    r = _python(f"""\
        class SignalOnArgparse:
            def find_spec(self, name, path=None, target=None):
                if name == "argparse":
                    sys.meta_path.remove(self)
                    signal.raise_signal(signal.{sig})
                return None

        assert "argparse" not in sys.modules
        sys.meta_path.insert(0, SignalOnArgparse())
        sys.argv = ["mockcti", "catalog", "--help"]
        from mockcti.__main__ import entry  # (what the console script does)
        sys.exit(entry())
        """)
    assert (r.returncode, r.stderr, r.stdout) == (128 + getattr(signal, sig), "", "")


@pytest.mark.parametrize("command", [["decode", "--help"], ["catalog", "--help"], ["fuzz", "--client-cmd", "true"]])
def test_sigterm_while_the_command_line_is_read_is_143_without_a_traceback(command):
    """SIGTERM raised Terminated (status 143, the command's finally clauses run) only once a verdict command's options
    were read: a SIGTERM in the second or so it takes to read them (each command's module imported) killed mockcti
    by the signal's default action (status -15), and decode and catalog never had the handler."""
    r = _python("""\
        import mockcti.cli
        real = mockcti.cli.build_parser

        def build_parser():
            signal.raise_signal(signal.SIGTERM)
            return real()

        mockcti.cli.build_parser = build_parser
        sys.exit(mockcti.cli.main(sys.argv[1:]))
        """, *command)
    assert (r.returncode, r.stderr, r.stdout) == (143, "", "")
