"""The ``mockcti`` command line.

Each subcommand lives in its own module under :mod:`mockcti.commands`; a command module is
imported only when its subcommand runs, and its top level must stay cheap (heavy imports go
inside ``run``). A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit status), and ``VERDICT = True`` when that status is a
verdict (run, serve, validate, fuzz): a reader of its stdout or stderr that goes away (``| head``)
then only silences that stream, and the command runs on to its verdict and its reports. Without
it (decode, catalog: the output is the product) a closed pipe ends the command with status 0.
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

# subcommand -> module; the order is the order of ``mockcti --help``.
COMMANDS: dict[str, str] = {
    "serve": "mockcti.commands.serve",
    "run": "mockcti.commands.run",
    "validate": "mockcti.commands.validate",
    "catalog": "mockcti.commands.catalog",
    "decode": "mockcti.commands.decode",
    "fuzz": "mockcti.commands.fuzz",
    "bench": "mockcti.commands.bench",
}


def _available_commands() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for name, module_name in COMMANDS.items():
        try:
            found[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command not built yet in this checkout
            if exc.name != module_name:
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    from mockcti import __version__
    from mockcti.compiled import describe

    parser = argparse.ArgumentParser(
        prog="mockcti",
        description="Mock Cisco UCCX/UCCE CTI server for testing CTI clients.",
    )
    parser.add_argument("--version", action="version", version=f"mockcti {__version__} ({describe()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in _available_commands().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


class _OutputMayClose:
    """A text stream (sys.stdout, sys.stderr) whose reader may go away: once a write or a flush meets
    a closed pipe, what follows is dropped (the file descriptor goes to /dev/null, so the interpreter's
    last flush does not fail either) and the command goes on. A closed pipe raised BrokenPipeError
    wherever it was printing: ``mockcti run … 2>&1 | head`` stopped the run after its first scenario,
    wrote no summary.json nor junit.xml, and exited 0; ``mockcti run --json | head`` exited 0 for a
    failed run."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)  # type: ignore[attr-defined]
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()  # type: ignore[attr-defined]
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.closed_by_reader = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())  # type: ignore[attr-defined]
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no descriptor (a StringIO, pytest's capture)
            pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _json_escape(exc: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler: a character the stream's encoding lacks is written as JSON's ``\\uXXXX``
    escape (a surrogate pair beyond the BMP), which a JSON reader decodes back to the character; a lone
    surrogate U+DC80..U+DCFF (a byte Python could not decode, a C locale's surrogateescape) is that byte."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    ch = exc.object[exc.start]
    if "\udc80" <= ch <= "\udcff":
        return bytes([ord(ch) - 0xDC00]), exc.start + 1
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}", exc.start + 1
    return f"\\u{code:04x}", exc.start + 1


codecs.register_error("mockcti-json-escape", _json_escape)


def _escape_unencodable(stream: object) -> str | None:
    """A stdout/stderr whose encoding is not UTF (PYTHONIOENCODING=ascii, a Latin-1 or cp1252 locale)
    writes what it cannot encode as ``\\uXXXX`` rather than raising UnicodeEncodeError: catalog
    descriptions (``§``), a client's non-ASCII text in a violation or a scenario's names then crashed the
    command (``mockcti catalog CTIERR_HOLDFAILED --json`` exited 1 with a traceback). The escape keeps
    --json output valid JSON with the same values. Returns the stream's previous error handler."""
    encoding = getattr(stream, "encoding", None)
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None or not encoding or codecs.lookup(encoding).name.startswith("utf"):
        return None
    previous = stream.errors  # type: ignore[attr-defined]
    if previous not in ("strict", "surrogateescape"):  # Python's own defaults (surrogateescape: a C locale)
        return None  # the user chose a handler (PYTHONIOENCODING=ascii:replace): kept
    reconfigure(errors="mockcti-json-escape")
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    saved = sys.stdout, sys.stderr
    # SIGTERM raises Terminated from here on, for every command: a SIGTERM while the command line was read (a
    # command's options import its modules: a second or so) killed the process by the signal's default action
    previous_sigterm = _on_sigterm_raise()
    try:
        handlers = [(s, _escape_unencodable(s)) for s in saved]
        try:
            return _main(argv, saved)
        finally:
            for stream, previous in handlers:
                if previous is not None:
                    stream.reconfigure(errors=previous)  # type: ignore[union-attr]  # (one that has it: see above)
    except Terminated:  # (a KeyboardInterrupt: first)
        return 143
    except KeyboardInterrupt:  # Ctrl-C while the command line is read: a command's options import its modules,
        # a second or so (serve's: the report, scenario, control API and load modules): a traceback, status -2
        return 130
    finally:
        if previous_sigterm is not None:
            import signal

            signal.signal(signal.SIGTERM, previous_sigterm)  # type: ignore[arg-type]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread wherever it is (as Ctrl-C raises KeyboardInterrupt), so that a
    command's ``finally`` clauses run: killed by the signal's default action, ``mockcti fuzz`` left its client
    (a process group of its own) running for ever. The exit status is then 143 (from the moment :func:`main` is
    called, for every command). A command that handles SIGTERM itself (run, serve) replaces this handler while it
    does. A KeyboardInterrupt:
    what is done on Ctrl-C (keep what was found, stop the client) is done on SIGTERM too."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _on_sigterm_raise() -> object:
    """Install :func:`_raise_terminated` for SIGTERM; the previous handler (None: none installed, not the
    main thread or no SIGTERM here)."""
    import signal

    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except (ValueError, AttributeError, OSError):
        return None


def _main(argv: Sequence[str] | None, saved: tuple[object, object]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = sys.modules.get(getattr(args._run, "__module__", ""), None)
    if getattr(module, "VERDICT", False):
        sys.stdout, sys.stderr = _OutputMayClose(sys.stdout), _OutputMayClose(sys.stderr)
    try:
        return int(args._run(args) or 0)
    except Terminated:  # (a KeyboardInterrupt: first)
        return 143
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `mockcti decode ... | head`: the output was the product
        return 0
    finally:
        sys.stdout, sys.stderr = saved


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
