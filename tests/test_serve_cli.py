"""``mockcti serve`` as a CI harness meets it: bad options and start-up failures are one line and
exit 2 before anything says "listening"; the trace never makes the server wait for the terminal."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from mockcti.cli import main
from mockcti.commands.serve import Trace
from mockcti.journal import Journal


@pytest.mark.parametrize("args, text", [
    (["--port", "70000"], "70000 is not a TCP port number (0-65535)"),
    (["--port", "-1"], "-1 is not a TCP port number (0-65535)"),
    (["--calls-per-minute", "nan"], "--calls-per-minute nan: expected 0 .. 60,000"),
    (["--calls-per-minute", "inf"], "--calls-per-minute inf: expected 0 .. 60,000"),
    (["--calls-per-minute", "-5"], "--calls-per-minute -5.0: expected 0 .. 60,000"),
    (["--min-version", "15", "--max-version", "12"], "min must not exceed max"),
    (["--min-version", "0"], "the uccx profile speaks versions 10-18"),
    (["--profile", "uccx", "--max-version", "24"], "the uccx profile speaks versions 10-18"),
])
def test_bad_values_are_usage_errors(args, text, capsys):
    argv = ["serve", *args] if args[0] == "--port" else ["serve", "--port", "0", *args]
    assert _status(argv) == 2
    err = capsys.readouterr()
    assert text in err.err and "listening" not in err.out


def _status(argv: list[str]) -> int:
    """The command's exit status, whether argparse exits or the command returns."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def test_a_port_in_use_is_a_usage_error_before_any_listening_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--loop", "asyncio"]) == 2
    out = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{port}" in out.err and "listening" not in out.out


def test_a_report_directory_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--report", str(f)]) == 2
    out = capsys.readouterr()
    assert "afile" in out.err and "listening" not in out.out


def test_calls_per_minute_needs_a_csq(tmp_path, capsys):
    center = tmp_path / "c.toml"
    center.write_text('[[agents]]\nid = "5001"\nextension = "4001"\n')
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--center", str(center),
                 "--calls-per-minute", "6"]) == 2
    assert "no CSQ to send calls to" in capsys.readouterr().err


class _Blocked(io.StringIO):
    """A terminal nobody reads: write() blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, s: str) -> int:
        self.release.wait(10)
        return super().write(s)


def _entry(journal: Journal, i: int):
    return journal.record("happening", float(i), None, what=f"event {i}")


def test_the_trace_never_makes_the_server_wait_for_the_terminal(capsys):
    stream = _Blocked()
    trace = Trace(stream, json_lines=False, verbose=False, level="info", max_lines=5)
    journal = Journal(keep=False)
    t0 = time.monotonic()
    for i in range(50):
        trace(_entry(journal, i))
    assert time.monotonic() - t0 < 1.0  # a blocked stdout used to freeze the event loop
    assert trace.dropped >= 40  # what does not fit is dropped and counted
    stream.release.set()
    trace.close()
    assert "event 0" in stream.getvalue()
    assert "trace line(s) dropped" in capsys.readouterr().err


class _Closed(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_the_trace_not_the_server(capsys):
    trace = Trace(_Closed(), json_lines=True, verbose=False, level="info")
    journal = Journal(keep=False)
    trace(_entry(journal, 1))
    for _ in range(200):
        if trace.broken:
            break
        time.sleep(0.01)
    assert trace.broken and "BrokenPipeError" in trace.broken
    trace(_entry(journal, 2))  # no error, nothing queued
    trace.close()
    assert "the trace stopped" in capsys.readouterr().err


def test_json_lines_follow_the_log_level():
    stream = io.StringIO()
    trace = Trace(stream, json_lines=True, verbose=False, level="warning")
    journal = Journal(keep=False)
    trace(journal.record("connect", 0.0, 1, peer="x"))
    trace(journal.record("violation", 0.1, 1, rule="PROTO-NO-CLOSE", detail="d"))
    trace.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "PROTO-NO-CLOSE" in lines[0]
