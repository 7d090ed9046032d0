"""``mockcti serve`` as a CI harness meets it: bad options and start-up failures are one line and
exit 2 before anything says "listening"; the trace never makes the server wait for the terminal."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mockcti.cli import main
from mockcti.commands.serve import Trace
from mockcti.journal import Journal
from processes import reap  # tests/support


@pytest.mark.parametrize("args, text", [
    (["--port", "70000"], "70000 is not a TCP port number (0-65535)"),
    (["--port", "-1"], "-1 is not a TCP port number (0-65535)"),
    (["--calls-per-minute", "nan"], "--calls-per-minute nan: expected 0 .. 60,000"),
    (["--calls-per-minute", "inf"], "--calls-per-minute inf: expected 0 .. 60,000"),
    (["--calls-per-minute", "-5"], "--calls-per-minute -5.0: expected 0 .. 60,000"),
    (["--abandon-after", "0"], "--abandon-after 0.0: expected seconds > 0 and at most 86,400"),
    (["--abandon-after", "nan"], "--abandon-after nan: expected seconds > 0 and at most 86,400"),
    (["--abandon-after", "1e9"], "--abandon-after 1000000000.0: expected seconds > 0 and at most 86,400"),
    (["--keep-scenarios", "-1"], "--keep-scenarios -1: expected 0 or more scenarios"),
    (["--min-version", "15", "--max-version", "12"], "min must not exceed max"),
    (["--min-version", "0"], "the uccx profile speaks versions 10-18"),
    (["--profile", "uccx", "--max-version", "24"], "the uccx profile speaks versions 10-18"),
    (["--field-tag", "SNAPSHOT_DEVICE_CONF.CallState"], "expected MESSAGE.Field=TAG"),
    (["--field-tag", "SNAPSHOT_DEVICE_CONF.State=75"], "SNAPSHOT_DEVICE_CONF has no floating field 'State'"),
    (["--field-tag", "SNAPSHOT_DEVICE_CONF.CallState=56"], "tag 56 is CallConnectionCallID's"),
    # (an unset variable, --report "$DIR": it served with no report at all, silently)
    (["--report", ""], "mockcti serve: --report is empty: give the directory the reports are written to"),
    # (it served the default center, or no scenario, without a word)
    (["--center", ""], "mockcti serve: error: argument --center: is empty: give the file"),
    (["--scenario", ""], "mockcti serve: error: argument --scenario: is empty: give the file"),
    # (it named the file only, not which option it came from)
    (["--center", "no-such-center.toml"], "mockcti serve: --center no-such-center.toml: cannot read: "),
    (["--scenario", "no-such-scenario.yaml"],
     "mockcti serve: --scenario no-such-scenario.yaml: cannot read the file: "),
    # (it bound every interface, 0.0.0.0: an unset variable in --host "$HOST" put the mock on the network)
    (["--host", ""], "mockcti serve: error: argument --host: is empty: give the address to bind"),
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
    """The line was "mockcti serve: [Errno 17] File exists: '.../afile'": neither the option nor
    what is wrong. Now it names --report and says a file is where the directory should be."""
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--report", str(f)]) == 2
    out = capsys.readouterr()
    assert out.err == f"mockcti serve: --report {f}: not a directory (a file of that name exists)\n"
    assert "listening" not in out.out
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--report", str(f / "sub")]) == 2
    assert capsys.readouterr().err == (f"mockcti serve: --report {f / 'sub'}: a parent of it is a file, "
                                       "not a directory\n")


def test_a_control_port_in_use_names_the_option(capsys):
    """The line was "mockcti serve: [Errno 98] error while attempting to bind on address ...": which of
    the two ports? Now it names --control-port, as a CTI port in use names the address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", "0", "--loop", "asyncio", "--control-port", str(port)]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"mockcti serve: --control-port {port}: cannot listen on 127.0.0.1:{port}: ")
    assert "address already in use" in out.err and "[Errno" not in out.err and len(out.err.splitlines()) == 1
    assert "listening" not in out.out


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_serve_that_could_not_start_writes_no_report_and_no_trace(tmp_path, capsys, loop):
    """A feature that could not start (a --control-port in use) after --report and --scenario had: the undoing ran
    their stop(), which wrote a passing-or-not summary.json and junit.xml for a server that never served, printed
    the report table and every expectation missed on stderr after the error line, and the trace held for after
    the "listening" line (the scenario's "started") came out on stdout, where a harness waiting for that line read
    it as the first line. Now: the error, exit 2, nothing on stdout, no report files, the directory released."""
    from pathlib import Path

    from mockcti.report import claim_report_dir

    if loop == "uvloop":
        pytest.importorskip("uvloop")
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "login-success.yaml"
    reports = tmp_path / "rep"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["serve", "--port", "0", "--loop", loop, "--report", str(reports), "--scenario", str(scenario)]
        assert main([*argv, "--control-port", str(port)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert f"mockcti serve: --control-port {port}: cannot listen on 127.0.0.1:{port}: " in out.err
    assert not any(word in out.err for word in ("MISS", "PASSED", "FAILED", "mockcti report:")), out.err
    assert not (reports / "summary.json").exists() and not (reports / "junit.xml").exists()
    claim_report_dir(reports, "the test").release()  # no lock left behind (held, it raises OSError naming serve)


@pytest.mark.parametrize("failure", ["control-port in use", "no CSQ for --calls-per-minute"])
def test_a_serve_that_could_not_start_leaves_the_journal_of_the_run_before(tmp_path, capsys, monkeypatch, failure):
    """--report opened DIR/journal.jsonl with "w" as it started, before the features after it (the control API)
    and the --calls-per-minute check: a start that failed there emptied the journal.jsonl of the run before (a CI
    job retried on a busy port lost the journal of the run it retries) and served nothing. Now that journal is left
    as it was, and a directory that had none gets none; a serve that starts writes its own over it, all of it."""
    import asyncio

    from mockcti.server import MockServer

    old = "".join(json.dumps({"seq": n, "kind": "note", "what": "the run before"}) + "\n" for n in range(1, 200))
    kept, fresh = tmp_path / "kept", tmp_path / "fresh"
    kept.mkdir()
    (kept / "journal.jsonl").write_text(old)
    center = tmp_path / "c.toml"
    center.write_text('[[agents]]\nid = "5001"\nextension = "4001"\n')  # (no CSQ)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        failing = (["--control-port", str(taken.getsockname()[1])] if failure == "control-port in use" else
                   ["--center", str(center), "--calls-per-minute", "6"])
        for reports in (kept, fresh):
            assert main(["serve", "--port", "0", "--loop", "asyncio", "--quiet", "--report", str(reports),
                         *failing]) == 2
    assert (kept / "journal.jsonl").read_text() == old
    assert not (fresh / "journal.jsonl").exists()
    capsys.readouterr()

    async def served(self):  # a client comes and goes, then the server stops
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.close()
        await writer.wait_closed()
        for _ in range(100):  # (bounded: the close journalled)
            if self.journal.counts.get("close"):
                break
            await asyncio.sleep(0.01)

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--quiet", "--report", str(kept)]) == 0
    kinds = [json.loads(line)["kind"] for line in (kept / "journal.jsonl").read_text().splitlines()]
    assert kinds == ["connect", "close"]


def test_calls_per_minute_needs_a_csq(tmp_path, capsys):
    center = tmp_path / "c.toml"
    center.write_text('[[agents]]\nid = "5001"\nextension = "4001"\n')
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--center", str(center),
                 "--calls-per-minute", "6"]) == 2
    assert "no CSQ to send calls to" in capsys.readouterr().err


@pytest.mark.parametrize("rate, said", [("5e-324", "4.94066e-324"), ("1e-9", "1e-09"), ("0.0009", "0.0009")])
def test_calls_per_minute_below_the_least_rate_is_a_usage_error(rate, said, monkeypatch, capsys):
    """A rate above 0 so small that no call comes in a run: 5e-324 drew the first arrival's gap with a division by
    zero (a ZeroDivisionError traceback once the server listened); the others served without a call, silently."""
    from mockcti.server import MockServer

    async def served(self):  # (were it to start, the run ends at once)
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--calls-per-minute", rate]) == 2
    out = capsys.readouterr()
    assert out.err == (f"mockcti serve: --calls-per-minute {said}: expected 0 (off) or at least 0.001 (a call every "
                       f"1,000 minutes on average)\n") and "listening" not in out.out
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--quiet", "--calls-per-minute", "0.001"]) == 0


@pytest.mark.parametrize("args, patience, spread", [
    ([], 120.0, "fixed"), (["--abandon-after", "45"], 45.0, "fixed"),
    (["--patience", "exponential"], 120.0, "exponential"),
    (["--abandon-after", "45", "--patience", "exponential"], 45.0, "exponential"),
    (["--patience", "fixed"], 120.0, "fixed"),
])
def test_calls_per_minute_callers_abandon_after_the_patience_given(args, patience, spread, monkeypatch):
    """serve --calls-per-minute queued every call for ever when no agent took it; now its callers hang
    up after --abandon-after seconds (default 120) unanswered, each the same or, --patience exponential,
    spread around it (tests/test_load_mode.py: what they do)."""
    from mockcti.commands import serve
    from mockcti.hub import DEFAULT_ABANDON_AFTER, Hub
    from mockcti.server import MockServer

    started = []
    real = Hub.start_inbound_calls
    monkeypatch.setattr(Hub, "start_inbound_calls",
                        lambda hub, now, rate, **kw: started.append((rate, kw)) or real(hub, now, rate, **kw))

    async def served(self):  # the server starts, the calls start, and it is stopped at once
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--quiet", "--loop", "asyncio", "--calls-per-minute", "6", *args]) == 0
    rate, kw = started[0]
    assert len(started) == 1 and rate == 6.0 and kw.get("abandon_after", DEFAULT_ABANDON_AFTER) == patience
    assert kw.get("patience", "fixed") == spread
    assert serve.DEFAULT_ABANDON_AFTER == DEFAULT_ABANDON_AFTER  # what --help says is the hub's default


@pytest.mark.parametrize("args", [[], ["--calls-per-minute", "0"], ["--load", "calls_per_s=1"]])
def test_abandon_after_without_calls_per_minute_is_a_usage_error(args, monkeypatch, capsys):
    """--abandon-after is the patience of the --calls-per-minute callers; without them it did nothing,
    silently (with --load, whose callers never abandoned: --load takes abandon_after= in its SPEC)."""
    from mockcti.server import MockServer

    async def served(self):  # (were it to start, the run ends at once)
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--quiet", "--loop", "asyncio", "--abandon-after", "30", *args]) == 2
    err = capsys.readouterr()
    assert "--abandon-after 30: it is the patience of the --calls-per-minute callers" in err.err
    assert "abandon_after=" in err.err and "listening" not in err.out


@pytest.mark.parametrize("args", [[], ["--calls-per-minute", "0"], ["--load", "calls_per_s=1,abandon_after=5"]])
def test_patience_without_calls_per_minute_is_a_usage_error(args, monkeypatch, capsys):
    """--patience spreads the --calls-per-minute callers' patience; without them it would do nothing
    (--load takes patience= in its SPEC)."""
    from mockcti.server import MockServer

    async def served(self):  # (were it to start, the run ends at once)
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--quiet", "--loop", "asyncio", "--patience", "exponential", *args]) == 2
    err = capsys.readouterr()
    assert "--patience exponential: it is the patience of the --calls-per-minute callers" in err.err
    assert "patience=" in err.err and "listening" not in err.out


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


def test_the_trace_leaves_out_a_happenings_keys_that_have_no_value():
    """A call delivered to a CSQ (no agent) was traced "call delivered call_id=7 agent=None csq=Sales", a hang-up
    of the whole call "device=None": Python's None, in a line for people. Keys with no value are left out;
    --json and journal.jsonl still carry them (null)."""
    out = io.StringIO()
    trace = Trace(out, json_lines=False, verbose=False, level="info")
    journal = Journal(keep=False)
    journal.add_sink(trace)
    journal.record("happening", 1.5, None, what="call delivered", call_id=7, agent=None, csq="Sales")
    journal.record("happening", 2.5, None, what="hang-up", call_id=7, device=None)
    journal.record("connect", 3.0, 4, peer=None)  # (a client gone before its address was read)
    trace.close()
    assert out.getvalue().splitlines() == ["    1.500 s-    ** happening what=call delivered call_id=7 csq=Sales",
                                           "    2.500 s-    ** happening what=hang-up call_id=7",
                                           "    3.000 s4    -- connect"]


def test_the_trace_names_the_answer_a_violation_got():
    """A violation in the live trace named its rule and detail but not the reply the client got for it, which the
    JSON and JUnit reports and mockcti run show."""
    out = io.StringIO()
    trace = Trace(out, json_lines=False, verbose=False, level="info")
    journal = Journal(keep=False)
    journal.add_sink(trace)
    journal.record("violation", 0.25, 1, rule="PROTO-OPEN-FIRST", detail="HEARTBEAT_REQ before OPEN_REQ",
                   answer="FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)")
    journal.record("violation", 0.5, 1, rule="PROTO-HEARTBEAT-LATE", detail="no heartbeat for 12 s")
    trace.close()
    assert out.getvalue().splitlines() == [
        "    0.250 s1    !! PROTO-OPEN-FIRST: HEARTBEAT_REQ before OPEN_REQ; answered FAILURE_CONF "
        "E_CTI_SESSION_NOT_OPEN (4)",
        "    0.500 s1    !! PROTO-HEARTBEAT-LATE: no heartbeat for 12 s"]


def test_the_trace_shows_a_groups_records_as_it_shows_the_messages_fields():
    """A repeated group was traced as Python dicts, its values as bare numbers ("csqs=[{'csq_id': 1, 'csq_state':
    2}]") beside the message's own fields by name (agent_state=AGENT_STATE_READY): a group's record now reads as the
    fields do."""
    from mockcti.wire.enums import AgentState
    from mockcti.wire.messages import AgentStateEvent, CSQInfo

    event = AgentStateEvent(agent_state=AgentState.AGENT_STATE_READY, agent_id="1001", num_csqs=2,
                            csqs=(CSQInfo(csq_id=1, csq_state=AgentState.AGENT_STATE_NOT_READY),
                                  CSQInfo(csq_id=2, csq_state=AgentState.AGENT_STATE_READY)))
    from mockcti.wire.render import message_to_dict

    for rendered in (False, True):  # the decoded message, or an entry recorded with its dict only
        out = io.StringIO()
        journal = Journal(keep=False)
        trace = Trace(out, json_lines=False, verbose=False, level="info")
        journal.add_sink(trace)
        if rendered:
            journal.record("out", 1.0, 1, message=message_to_dict(event))
        else:
            journal.message("out", 1.0, 1, event)
        trace.close()
        [line] = out.getvalue().splitlines()
        assert line.endswith(" agent_state=AGENT_STATE_READY event_reason_code=NONE num_csqs=2 agent_id='1001' "
                             "csqs=[{csq_id=1 csq_state=AGENT_STATE_NOT_READY}, {csq_id=2 csq_state=AGENT_STATE_READY}]"
                             ), line


class _Closed(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def _trace_stops_on_a_closed_pipe(stream, capsys) -> None:
    """A trace writing to ``stream`` (a closed pipe behind it) notices, stops rendering, says so at close."""
    trace = Trace(stream, json_lines=True, verbose=False, level="info")
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


def test_a_closed_pipe_ends_the_trace_not_the_server(capsys):
    _trace_stops_on_a_closed_pipe(_Closed(), capsys)


def test_json_lines_follow_the_log_level():
    stream = io.StringIO()
    trace = Trace(stream, json_lines=True, verbose=False, level="warning")
    journal = Journal(keep=False)
    trace(journal.record("connect", 0.0, 1, peer="x"))
    trace(journal.record("violation", 0.1, 1, rule="PROTO-NO-CLOSE", detail="d"))
    trace.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "PROTO-NO-CLOSE" in lines[0]


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_log_level_error_shows_only_violations_and_faults(json_lines):
    """--log-level error printed exactly what warning prints (happenings, control API notes …): a
    choice that did nothing. Now warning adds happenings, error only what fails a run."""
    shown = {}
    for level in ("warning", "error"):
        stream = io.StringIO()
        trace = Trace(stream, json_lines=json_lines, verbose=False, level=level)
        journal = Journal(keep=False)
        trace(journal.record("connect", 0.0, 1, peer="x"))
        trace(journal.record("happening", 0.1, None, what="agent 1001: ring no answer"))
        trace(journal.record("note", 0.2, None, what="control API reset"))
        trace(journal.record("violation", 0.3, 1, rule="PROTO-NO-CLOSE", detail="d"))
        trace(journal.record("fault", 0.4, 1, fault="reset"))
        trace.close()
        shown[level] = stream.getvalue()
    assert "ring no answer" in shown["warning"] and "control API reset" in shown["warning"]
    assert "ring no answer" not in shown["error"] and "control API reset" not in shown["error"]
    for level in ("warning", "error"):
        assert "PROTO-NO-CLOSE" in shown[level] and "reset" in shown[level] and "peer" not in shown[level]
    if not json_lines:  # a note reads as the other happenings do, not as a dict
        assert "  ** note what=control API reset\n" in shown["warning"], shown["warning"]


def _interactive_sigint() -> None:
    """In the child: Ctrl-C as in a terminal (a test run started in the background ignores SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_report_holds_the_shutdown_of_the_clients_still_connected(tmp_path, sig, loop):
    """README: Ctrl-C (or SIGTERM) sends every open session SYSTEM_EVENT SYS_CCX_OFFLINE, then closes
    it; --report writes journal.jsonl as things happen and the summary at shutdown. The report was
    finished before the server shut down: journal.jsonl and summary.json had neither the
    SYSTEM_EVENT the client received nor the close of any connection still open."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    from mockcti.wire import Dialect, FrameBuffer, decode, encode
    from mockcti.wire.messages import OpenReq

    d = Dialect.uccx(14)
    reports = tmp_path / "rep"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--quiet", "--loop", loop,
                             "--report", str(reports)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interactive_sigint)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mockcti listening on 127.0.0.1:"), line + proc.stderr.read()
        port = int(line.split()[3].split(":")[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as agent, \
                socket.create_connection(("127.0.0.1", port), timeout=10):  # connected, no OPEN_REQ yet
            agent.sendall(encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7,
                                         call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, client_id="t",
                                         client_password=b"", agent_id="1001"), d))
            fb, got = FrameBuffer(), []
            while not got:
                got = [decode(f, d).TYPE.name for f in fb.feed(agent.recv(65536))]
            assert got == ["OPEN_CONF"]
            journal = reports / "journal.jsonl"
            for _ in range(1000):  # both connections taken (journalled as it happens) before the signal
                if journal.read_text().count('"kind": "connect"') == 2:
                    break
                time.sleep(0.01)
            proc.send_signal(sig)
            while True:
                data = agent.recv(65536)
                if not data:
                    break
                got += [decode(f, d).TYPE.name for f in fb.feed(data)]
        status = proc.wait(30)
    finally:
        reap(proc)
    assert got == ["OPEN_CONF", "SYSTEM_EVENT"] and status == 0
    entries = [json.loads(x) for x in journal.read_text().splitlines()]
    said = [(e["kind"], e["session"], e["message"]["type"] if "message" in e else e.get("reason")) for e in entries
            if e["kind"] in ("out", "close")]
    assert said[:2] == [("out", 1, "OPEN_CONF"), ("out", 1, "SYSTEM_EVENT")]
    assert sorted(said[2:]) == [("close", 1, "closed by server: server shutdown"),
                                 ("close", 2, "closed by server: server shutdown")]
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["counts"]["messages_out"] == 2 and summary["sessions"]["1"]["out"] == 2


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_control_api_takes_no_change_once_the_server_shuts_down(tmp_path, loop):
    """serve stopped the CTI server before the control API: while the clients were told (SYSTEM_EVENT) and
    drained, a POST /calls was answered 200 and its call journalled after the sessions' close, in the report
    (a POST /reset then could clear the journal after the shutdown entries). The control API now stops taking
    changes first: once a client has its SYSTEM_EVENT, a POST is refused, and the report ends with the closes."""
    import http.client

    if loop == "uvloop":
        pytest.importorskip("uvloop")
    from mockcti.wire import Dialect, FrameBuffer, decode, encode
    from mockcti.wire.messages import OpenReq

    d = Dialect.uccx(14)
    reports = tmp_path / "rep"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--json", "--log-level", "error",
                             "--loop", loop, "--control-port", "0", "--report", str(reports)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interactive_sigint)
    try:
        line = proc.stdout.readline()
        assert line.startswith('{"kind": "listening"'), line + proc.stderr.read()
        listening = json.loads(line)
        control_port = int(listening["control_url"].rsplit(":", 1)[1])
        control = http.client.HTTPConnection("127.0.0.1", control_port, timeout=10)
        control.request("GET", "/health")  # a keep-alive connection, open when the signal comes
        assert control.getresponse().read()
        with socket.create_connection(("127.0.0.1", listening["port"]), timeout=10) as agent:
            agent.sendall(encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7,
                                         call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, client_id="t",
                                         client_password=b"", agent_id="1001"), d))
            fb, got = FrameBuffer(), []
            for _ in range(100):
                got += [decode(f, d).TYPE.name for f in fb.feed(agent.recv(65536))]
                if got:
                    break
            assert got == ["OPEN_CONF"]
            proc.send_signal(signal.SIGINT)
            for _ in range(100):  # the server shuts down: its clients are told
                data = agent.recv(65536)
                got += [decode(f, d).TYPE.name for f in fb.feed(data)]
                if not data or "SYSTEM_EVENT" in got:
                    break
            assert got == ["OPEN_CONF", "SYSTEM_EVENT"]
            answers = []
            for conn in (control, http.client.HTTPConnection("127.0.0.1", control_port, timeout=10)):
                try:  # on the keep-alive connection, then on a new one
                    conn.request("POST", "/calls", body=json.dumps({"csq": "Sales"}),
                                 headers={"Content-Type": "application/json"})
                    answers.append(conn.getresponse().status)
                except (ConnectionError, http.client.HTTPException, OSError):
                    answers.append("refused or closed")
                finally:
                    conn.close()
        status = proc.wait(30)
    finally:
        reap(proc)
    assert status == 0 and 200 not in answers, answers
    entries = [json.loads(x) for x in (reports / "journal.jsonl").read_text().splitlines()]
    assert [e.get("what") for e in entries if e["kind"] == "happening"] == []
    assert entries[-1]["kind"] == "close" and entries[-1]["reason"] == "closed by server: server shutdown"


@pytest.fixture
def ctrl_c_raises():
    """SIGINT as in a terminal, in this process (a test run started in the background ignores it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_second_sigterm_during_the_shutdown_does_not_cut_it_short(tmp_path, monkeypatch, loop, sig, ctrl_c_raises):
    """SIGTERM cancelled serve's main task; a second SIGTERM while the server told its clients and let
    them drain (up to the shutdown grace) cancelled that shutdown: a CancelledError traceback, exit
    status 1 and a --report without its summary. The shutdown under way now goes to its end. Ctrl-C
    twice (an impatient user) alike: the second one, left to asyncio's runner, raised KeyboardInterrupt
    in the shutdown: exit status 0 all the same, no summary.json or junit.xml."""
    import asyncio
    import os

    from mockcti.server import MockServer

    if loop == "uvloop":
        pytest.importorskip("uvloop")
    real_forever, real_stop = MockServer.serve_forever, MockServer.stop
    signals = []

    async def serve_forever(self):
        signals.append("first")
        os.kill(os.getpid(), sig)  # the run ends
        await real_forever(self)

    async def stop(self):
        if self._server is not None and len(signals) == 1:
            signals.append("second")
            os.kill(os.getpid(), sig)  # again, while the server shuts down
            for _ in range(5):  # (loop turns for the handler: bounded)
                await asyncio.sleep(0.01)
        await real_stop(self)

    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    monkeypatch.setattr(MockServer, "stop", stop)
    assert main(["serve", "--port", "0", "--quiet", "--loop", loop, "--report", str(tmp_path / "rep")]) == 0
    assert signals == ["first", "second"]
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["counts"]
    assert (tmp_path / "rep" / "junit.xml").read_text().startswith("<?xml")
    # Ctrl-C raises KeyboardInterrupt again after serve (uvloop left its closed loop's handler: Ctrl-C did nothing)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_sigterm_while_the_server_starts_shuts_it_down_cleanly(tmp_path, monkeypatch, loop, sig, ctrl_c_raises):
    """A SIGTERM that came while the server was still starting (binding, its features starting: a
    CI job cancelled in its first instants) cancelled that start: a CancelledError traceback out
    of `mockcti serve`, exit status 1, the listening socket never closed and no report summary.
    Now the start finishes and the server shuts down as after any SIGTERM: status 0, the summary.
    A Ctrl-C then alike (it ended serve with status 0 and no report at all)."""
    import asyncio
    import os

    from mockcti.server import MockServer

    if loop == "uvloop":
        pytest.importorskip("uvloop")
    real_start = MockServer.start
    served = []

    async def start(self):
        os.kill(os.getpid(), sig)  # the job is cancelled while the server binds
        for _ in range(5):  # (loop turns for the handler: bounded)
            await asyncio.sleep(0.01)
        await real_start(self)

    async def serve_forever(self):
        served.append(True)

    monkeypatch.setattr(MockServer, "start", start)
    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    assert main(["serve", "--port", "0", "--quiet", "--loop", loop, "--report", str(tmp_path / "rep")]) == 0
    assert served == []  # it never served: the signal had already come
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["counts"]


def _serve_signalled(tmp_path, patch: str, sig: str, *argv: str) -> subprocess.CompletedProcess:
    """``mockcti serve ARGV`` in a subprocess (Ctrl-C as in a terminal) whose MockServer.serve_forever returns at once
    (the server then shuts down by itself) and in which ``patch`` (Python run first, with ``raise_it()`` raising
    ``sig``) places the signal: a chosen point, every time (no timing decides it; a SIGTERM's default action would
    end the test run: a subprocess)."""
    driver = tmp_path / "signalled_serve.py"
    driver.write_text(textwrap.dedent("""\
        import asyncio, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from mockcti.server import MockServer

        async def serve_forever(self):
            pass

        MockServer.serve_forever = serve_forever

        def raise_it():
            signal.raise_signal(signal.{sig})

        """).format(sig=sig) + textwrap.dedent(patch) + textwrap.dedent("""\
        from mockcti.cli import main
        sys.exit(main(sys.argv[1:]))
        """))
    return subprocess.run([sys.executable, str(driver), "serve", "--port", "0", "--loop", "asyncio", *argv],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_as_the_event_loop_starts_still_serves_and_writes_the_report(tmp_path, sig):
    """A SIGTERM (or Ctrl-C) between the event loop's start and serve's handlers (a CI job cancelled in its first
    instants) raised there: serve exited 0 with nothing started and no report at all (or, a moment later, "Task was
    destroyed but it is pending!" on stderr). Now it is taken as one while the server starts: the start finishes,
    the server shuts down, the report is written, status 0."""
    import textwrap as tw

    patch = tw.dedent("""\
        import mockcti.commands.serve as serve
        real_event_loop = serve.event_loop

        def event_loop(choice):
            def new_loop():
                loop = asyncio.new_event_loop()
                raise_it()  # the loop exists; main() has not run yet
                return loop
            name, _ = real_event_loop(choice)
            return name, new_loop

        serve.event_loop = event_loop
        """)
    r = _serve_signalled(tmp_path, patch, sig, "--quiet", "--report", "rep")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout.startswith("mockcti listening on 127.0.0.1:")
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["passed"] is True
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["journal.jsonl", "junit.xml", "summary.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_second_signal_as_serve_finishes_does_not_kill_it(tmp_path, sig):
    """Once its event loop had closed, asyncio had put SIGTERM back to its default action: a second SIGTERM as serve
    finished (the trace written out, the exit status made up) killed it (status -15, its last lines lost), and a
    second Ctrl-C raised there (status 130). The shutdown had been done: the status is serve's own, 0."""
    patch = """\
        import mockcti.report as report
        real_exit_status = report._ReportFeature.exit_status

        def exit_status(self, server, args, status):
            raise_it()  # (the loop has closed)
            return real_exit_status(self, server, args, status)

        report._ReportFeature.exit_status = exit_status
        """
    r = _serve_signalled(tmp_path, patch, sig, "--report", "rep")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith("PASSED"), r.stderr  # (the report's table)
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["passed"] is True


def test_ctrl_c_while_the_command_line_is_read_is_status_130_without_a_traceback(monkeypatch, ctrl_c_raises, capsys):
    """Reading serve's options imports the modules of its features (report, scenario, control API, load): a
    second or so after `mockcti serve` is typed. A Ctrl-C then was a KeyboardInterrupt traceback out of
    mockcti and status -2 (a SIGTERM then ends it quietly, by its default action); it is status 130, as a
    Ctrl-C later, and nothing on stderr."""
    import os

    import mockcti.cli

    real = mockcti.cli.build_parser

    def build_parser():
        os.kill(os.getpid(), signal.SIGINT)  # (a KeyboardInterrupt in this thread, before kill returns)
        return real()

    monkeypatch.setattr(mockcti.cli, "build_parser", build_parser)
    assert main(["serve", "--port", "0"]) == 130
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_behind_the_cli_s_stdout_ends_the_trace_too(capsys):
    """mockcti.cli wraps stdout for `serve` (a closed pipe must not cost the exit status): the wrapper
    drops what follows, and the trace still sees that its reader went away and stops rendering."""
    from mockcti.cli import _OutputMayClose

    _trace_stops_on_a_closed_pipe(_OutputMayClose(_Closed()), capsys)


def test_serve_help_lists_its_exit_codes(capsys):
    """A CI job reads serve's status (0, --strict's 1, 2 for usage / could not start); --help did not say
    them (run and fuzz do)."""
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "\nexit codes (after Ctrl-C or SIGTERM" in out
    assert "\n  1  --strict: a violation or an internal error of the mock was recorded" in out
    assert "\n  2  bad usage or the server could not start" in out


def test_json_stdout_is_json_lines_from_the_listening_line_on(tmp_path, monkeypatch, capsys):
    """serve --json: stdout is one JSON object a line, the first the listening one (its address, profile,
    versions, agents, loop); it was the plain "mockcti listening on ..." line, which broke a script reading
    stdout as JSON lines on its first line. Load and report lines stay on stderr, for people."""
    import asyncio

    from mockcti.server import MockServer

    async def served(self):  # a client comes and goes (a connect and a close on the trace), then it stops
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.close()
        await writer.wait_closed()

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--json", "--loop", "asyncio", "--report", str(tmp_path / "rep"),
                 "--load", "calls_per_s=1", "--control-port", "0"]) == 0
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    first = lines[0]
    assert first["kind"] == "listening" and first["host"] == "127.0.0.1" and first["port"] > 0
    # --control-port 0: the port chosen was only on stderr, in text
    assert first["control_url"].startswith("http://127.0.0.1:") and first["control_url"] in out.err
    assert not first["control_url"].endswith(":0")
    assert (first["profile"], first["min_version"], first["max_version"], first["loop"]) == ("uccx", 10, 18, "asyncio")
    assert first["agents"] == 4
    assert all("kind" in line for line in lines)
    assert "listening" not in out.err and "mockcti load summary:" in out.err


def test_a_report_directory_left_unlocked_is_said_on_stderr(tmp_path, monkeypatch, capsys):
    """serve --report on a platform with no flock (fcntl missing: Windows) serves and writes the report
    unlocked, and says so (it skipped the lock without a word)."""
    from mockcti.server import MockServer

    async def served(self):
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    monkeypatch.setitem(sys.modules, "fcntl", None)
    rep = tmp_path / "rep"
    assert main(["serve", "--port", "0", "--quiet", "--loop", "asyncio", "--report", str(rep)]) == 0
    err = capsys.readouterr().err
    assert (f"mockcti serve: warning: --report {rep}: not locked (this platform has no flock: the fcntl module "
            f"is missing)") in err
    assert (rep / "summary.json").is_file()


@pytest.mark.parametrize("command", ["run", "fuzz"])
def test_an_empty_host_is_bad_usage_not_every_interface(command, tmp_path, capsys):
    """`--host ''` bound 0.0.0.0 (an empty host, to a socket): every interface, where --help promises
    127.0.0.1 unless told; run and fuzz ran on it. serve: test_bad_values_are_usage_errors."""
    (tmp_path / "s.yaml").write_text("name: quick\nexpect:\n  - {message: OPEN_REQ, min: 0}\n")
    argv = {"run": ["run", str(tmp_path / "s.yaml"), "--timeout", "0.2", "--report", str(tmp_path / "rep")],
            "fuzz": ["fuzz", "--client-cmd", "true", "--count", "1", "--time", "3", "--save", ""]}[command]
    assert _status([*argv, "--host", ""]) == 2
    assert f"mockcti {command}: error: argument --host: is empty: give the address to bind" in capsys.readouterr().err


def test_the_listening_line_is_the_first_line_whatever_was_journalled_while_starting(tmp_path, monkeypatch):
    """A harness reads the bound address from the first line of ``serve --port 0``. With ``--scenario``
    the "scenario started" happening is journalled before that line is printed, and the trace's writer
    thread wrote it first whenever it ran first (3 runs in 4 on a busy machine): the harness read
    ``0.613 s-    ** happening what=scenario 'failover' started`` as the address."""
    from mockcti.commands import serve
    from mockcti.server import MockServer

    class Out(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.wrote = threading.Event()

        def write(self, s: str) -> int:
            n = super().write(s)
            self.wrote.set()
            return n

    out = Out()
    monkeypatch.setattr(sys, "stdout", out)

    class LastToStart:  # gives the trace's writer the time to write what the start journalled (bounded)
        async def start(self, server, args) -> None:
            out.wrote.wait(1.0)

        async def stop(self, server, args) -> None:
            return None

        def exit_status(self, server, args, status: int) -> int:
            return status

    features = serve._features
    monkeypatch.setattr(serve, "_features", lambda args: [*features(args), LastToStart()])

    async def served(self):  # the server starts, then stops at once
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: first-line\nend: {after: 60}\n", encoding="utf-8")
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--scenario", str(scenario)]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("mockcti listening on 127.0.0.1:"), lines[:2]
    assert any("scenario 'first-line' started" in line for line in lines[1:])


def test_an_ipv6_address_is_written_in_brackets_with_its_port(capsys):
    """--host ::1 printed "mockcti listening on ::1:42027" (and "cannot listen on ::1:42027"): read as the
    address ::1:42027, or port 1 of ::, it could not be pasted where HOST:PORT goes. It is [::1]:42027,
    as in a URL (the control API's already was); an IPv4 address or a name is as before."""
    from mockcti.commands.serve import listening_line
    from mockcti.wire.dialect import PROFILES

    uccx = PROFILES["uccx"]
    assert listening_line("::1", 42027, uccx, 4, "asyncio", json_lines=False).startswith(
        "mockcti listening on [::1]:42027 (profile uccx")
    assert listening_line("127.0.0.1", 42027, uccx, 4, "asyncio", json_lines=False).startswith(
        "mockcti listening on 127.0.0.1:42027 (profile uccx")
    assert json.loads(listening_line("::1", 42027, uccx, 4, "asyncio", json_lines=True))["host"] == "::1"
    try:
        taken = socket.socket(socket.AF_INET6)
        taken.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this host")
    with taken:
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--host", "::1", "--port", str(port), "--loop", "asyncio"]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"mockcti serve: cannot listen on [::1]:{port}: "), out.err
    assert "listening" not in out.out


def _configuration_download(journal: Journal, *, agents: int = 12, bridges: int = 1,
                            client_id: str = "bridge") -> None:
    """``bridges`` bridges (config mask), one after the other, download the configuration of a center of
    ``agents`` agents through a hub."""
    from mockcti.center import CenterConfig, ContactCenter
    from mockcti.center.config import AgentConfig, CSQConfig
    from mockcti.hub import Hub
    from mockcti.wire import Dialect, encode
    from mockcti.wire.messages import ConfigRequestEvent, OpenReq

    d14 = Dialect.uccx(14)
    cfg = CenterConfig(agents=tuple(AgentConfig(id=str(5000 + n), extension=str(6000 + n), csqs=("Sales",))
                                    for n in range(agents)), csqs=(CSQConfig("Sales", 1),))
    hub = Hub(ContactCenter(cfg), journal=journal)
    for n in range(bridges):
        sid = hub.connect(2.0 * n)
        hub.receive(sid, encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60,
                                        services_requested=0x10 | 0x40000, call_msg_mask=0, agent_state_mask=0,
                                        config_msg_mask=0x0F, client_id=client_id, client_password=b""), d14), 2.0 * n)
        hub.receive(sid, encode(ConfigRequestEvent(configuration_mask=0x0F, customer_id=0), d14), 2.0 * n + 1.0)


def _traced(level: str, *, report: io.StringIO | None = None, keep: bool = False) -> tuple[list[str], Journal]:
    from mockcti.journal import JsonLinesSink

    out = io.StringIO()
    journal = Journal(keep=keep)
    trace = Trace(out, json_lines=False, verbose=False, level=level)
    journal.add_sink(trace)
    if report is not None:  # as --report's journal.jsonl
        journal.add_sink(JsonLinesSink(report))
    _configuration_download(journal)
    trace.close()
    return out.getvalue().splitlines(), journal


def test_the_trace_summarises_a_configuration_downloads_records_and_the_journal_keeps_them_whole(monkeypatch):
    """A bridge's configuration download from a 5,000-agent center is ~1,000 CONFIG_* messages of 10 records:
    the default trace (info) rendered every record of every one into a dict, then printed them all on one line
    (0.2 s of a stalled server at 5,000 agents, ~80 % of the download). At info a message's records are now
    summarised in its line, their count and ids; debug prints them whole, and journal.jsonl (--report) and a
    kept journal have every record."""
    import mockcti.journal

    lines, _ = _traced("info")
    agents = [line for line in lines if "-> CONFIG_AGENT_EVENT" in line]
    assert [line.split(" -> ", 1)[1] for line in agents] == [
        "CONFIG_AGENT_EVENT records=[10 records: login_id " + " ".join(f"'{5000 + n}'" for n in range(10)) + "]",
        "CONFIG_AGENT_EVENT records=[2 records: login_id '5010' '5011']"]
    assert any(line.endswith("-> CONFIG_CSQ_EVENT records=[1 record: csq_id/csq_name 1/'Sales']") for line in lines)
    # the trace alone reads the decoded messages: no dict is rendered for it
    renders: list = []
    real = mockcti.journal.message_to_dict
    monkeypatch.setattr(mockcti.journal, "message_to_dict", lambda m, **kw: renders.append(m) or real(m, **kw))
    assert _traced("info")[0] == lines and renders == []

    debug, _ = _traced("debug")
    [first] = [line for line in debug if "-> CONFIG_AGENT_EVENT" in line][:1]
    assert "login_id='5000'" in first and "last_name='Agent 5000'" in first and "login_id='5009'" in first

    report = io.StringIO()
    with_report, kept = _traced("info", report=report, keep=True)
    assert with_report == lines  # the same trace, whoever else reads the journal
    jsonl = [json.loads(line) for line in report.getvalue().splitlines()]
    records = [r for e in jsonl if e["kind"] == "out" and e["message"]["type"] == "CONFIG_AGENT_EVENT"
               for r in e["message"]["fields"]["records"]]
    assert [(r["login_id"], r["last_name"], r["extension"]) for r in records] == [
        (str(5000 + n), f"Agent {5000 + n}", str(6000 + n)) for n in range(12)]
    kept_records = [r for m in kept.messages_of(1, "out") if m["type"] == "CONFIG_AGENT_EVENT"
                    for r in m["fields"]["records"]]
    assert kept_records == records


def test_a_trace_entry_recorded_without_its_dict_still_gives_the_whole_message_as_json():
    """The text trace alone makes the journal build no dict of a message; an entry's JSON (to_json, as
    journal.jsonl writes it) still has the whole message, rendered when asked."""
    seen: list = []
    journal = Journal(keep=False)
    trace = Trace(io.StringIO(), json_lines=False, verbose=False, level="info")
    journal.add_sink(trace)
    journal.add_sink(_RendersItself(seen))  # (a plain sink reads data["message"]: the journal would render it)
    _configuration_download(journal)
    trace.close()
    [entry] = [e for e in seen if e.kind == "out" and e.raw.TYPE.name == "CONFIG_AGENT_EVENT"][:1]
    assert "message" not in entry.data
    message = json.loads(entry.to_json())["message"]
    assert message["type"] == "CONFIG_AGENT_EVENT" and len(message["fields"]["records"]) == 10
    assert message["fields"]["records"][3]["login_id"] == "5003"


class _RendersItself:
    renders_messages = True

    def __init__(self, seen: list) -> None:
        self.seen = seen

    def __call__(self, entry) -> None:
        self.seen.append(entry)


def _journal_jsonl(*, old_path: bool, json_trace: bool = False, client_id: str = "bridge") -> tuple[str, list[str]]:
    """journal.jsonl (--report's sink) of two bridges downloading a small center's configuration, and the
    --json trace's lines. ``old_path``: a sink that reads the entries' dicts is there too, so the journal renders
    every message to a dict and to_json() serialises that dict, as every JSON line was made before."""
    from mockcti.journal import JsonLinesSink

    report = io.StringIO()
    journal = Journal(keep=False)
    journal.add_sink(JsonLinesSink(report))
    trace_out = io.StringIO()
    trace = Trace(trace_out, json_lines=True, verbose=False, level="info") if json_trace else None
    if trace is not None:
        journal.add_sink(trace)
    if old_path:
        journal.add_sink(lambda entry: None)
        assert journal.rendering_dicts
    else:
        assert not journal.rendering_dicts
    _configuration_download(journal, bridges=2, client_id=client_id)
    if trace is not None:
        trace.close()
    return report.getvalue(), trace_out.getvalue().splitlines()


@pytest.mark.parametrize("client_id", ["bridge", "bridge-caf\udce9"], ids=["utf-8", "not-utf-8"])
def test_journal_jsonl_rendered_once_per_message_is_byte_identical_to_the_dict_path(client_id):
    """journal.jsonl (and --json) now write a message entry from the message's JSON text, made once per message,
    instead of serialising a dict rendered per entry: the same bytes, line for line, for two bridges' downloads
    (a client's text that was not UTF-8, kept as lone surrogates, makes the whole line ASCII, as before)."""
    new, new_trace = _journal_jsonl(old_path=False, json_trace=True, client_id=client_id)
    old, old_trace = _journal_jsonl(old_path=True, json_trace=True, client_id=client_id)
    assert new == old
    assert new_trace == old_trace == new.splitlines()
    lines = [json.loads(line) for line in new.splitlines()]
    assert [e["session"] for e in lines if e["kind"] == "out" and e["message"]["type"] == "CONFIG_AGENT_EVENT"] == [
        1, 1, 2, 2]
    if client_id != "bridge":
        assert "\\udce9" in new and new.isascii()


def test_a_configuration_download_is_rendered_once_for_every_bridge(monkeypatch):
    """With --report, every bridge's configuration download rendered each of its ~1,000 CONFIG_* messages
    (5,000 agents) to a dict and to JSON again (~130 ms per bridge), though the records are the same for every
    bridge: the center now sends each bridge the same CONFIG_* messages, and the journal renders a message once."""
    import mockcti.journal

    renders: list = []
    real = mockcti.journal.message_to_dict
    monkeypatch.setattr(mockcti.journal, "message_to_dict", lambda m, **kw: renders.append(m) or real(m, **kw))
    report, _ = _journal_jsonl(old_path=False)
    config = [m for m in renders if m.TYPE.name.startswith("CONFIG_") and m.TYPE.name.endswith(("AGENT_EVENT",
                                                                                                "DEVICE_EVENT"))]
    assert len(config) == 4  # 12 agents: 2 CONFIG_AGENT_EVENTs and 2 CONFIG_DEVICE_EVENTs, for both bridges
    assert report.count('"type": "CONFIG_AGENT_EVENT"') == 4


def _two_bridges_traced(*, shared: bool) -> dict[str, list[str]]:
    """The text trace's lines, at info and at debug (two traces on one journal), of two bridges downloading a small
    center's configuration. ``shared=False``: each trace is given every message as a copy of its own (a copy
    remembers nothing: no ``_trace``), so every line is made from scratch, as every line was made before."""
    journal = Journal(keep=False)
    outs = {level: io.StringIO() for level in ("info", "debug")}
    traces = [Trace(out, json_lines=False, verbose=False, level=level) for level, out in outs.items()]
    for trace in traces:
        journal.add_sink(trace if shared else _FreshCopies(trace))
    _configuration_download(journal, bridges=2)
    for trace in traces:
        trace.close()
    return {level: out.getvalue().splitlines() for level, out in outs.items()}


class _FreshCopies:
    """A sink giving ``sink`` each message entry with a copy of its message, which nothing was remembered on."""

    renders_messages = True  # (as the trace: the journal builds no dicts)

    def __init__(self, sink) -> None:
        self.sink = sink

    def __call__(self, entry) -> None:
        import copy
        import dataclasses

        self.sink(entry if entry.raw is None else dataclasses.replace(entry, raw=copy.copy(entry.raw)))


def test_a_configuration_download_is_traced_once_for_every_bridge_and_prints_the_same_lines(monkeypatch):
    """The center hands every bridge the same CONFIG_* messages, whose JSON is made once; the text trace still made
    each one's line (its records' summary) again for every bridge: 20-28 ms of a stalled server per bridge after the
    first at 5,000 agents. A message's trace text is now made once per profile and level, the lines unchanged."""
    import mockcti.wire.render

    renders: list = []
    real = mockcti.wire.render.trace_fields
    monkeypatch.setattr(mockcti.wire.render, "trace_fields", lambda m, **kw: renders.append((m, kw)) or real(m, **kw))
    new = _two_bridges_traced(shared=True)
    config = [(m, kw["records"]) for m, kw in renders if m.TYPE.name in ("CONFIG_AGENT_EVENT", "CONFIG_DEVICE_EVENT")]
    # 12 agents: 2 CONFIG_AGENT_EVENTs and 2 CONFIG_DEVICE_EVENTs, each made once at info and once at debug
    assert len(config) == 8 and len({(id(m), full) for m, full in config}) == 8
    old = _two_bridges_traced(shared=False)
    assert new == old
    agents_info = [line for line in new["info"] if "-> CONFIG_AGENT_EVENT" in line]
    for level in ("info", "debug"):
        agents = [line for line in new[level] if "-> CONFIG_AGENT_EVENT" in line]
        assert [line.split()[1] for line in agents] == ["s1", "s1", "s2", "s2"]
        assert [line.split(" -> ", 1)[1] for line in agents[:2]] == [line.split(" -> ", 1)[1] for line in agents[2:]]
    last = "-> CONFIG_AGENT_EVENT records=[2 records: login_id '5010' '5011']"
    assert [line for line in new["info"] if line.endswith(last)] == [agents_info[1], agents_info[3]]
    assert any("login_id='5011'" in line for line in new["debug"])


def test_records_summary_names_the_first_ten_and_counts_the_rest():
    from mockcti.wire.messages import TeamMember
    from mockcti.wire.render import records_summary

    members = tuple(TeamMember(agent_id=str(1000 + n), agent_flags=0) for n in range(13))
    assert records_summary(members) == ("[13 records: agent_id " + " ".join(f"'{1000 + n}'" for n in range(10))
                                        + " … +3]")
    assert records_summary(()) == "[0 records]"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_a_message_traced_from_its_decoded_form_reads_as_from_its_rendering(level):
    """The text trace now prints a message from the decoded message rather than from the journal's dict:
    every line reads as it did (values by name, texts quoted, bytes as hex, groups as their records), but
    a ``records`` group at info, which is summarised."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from mockcti.journal import Entry
    from mockcti.testing.strategies import from_message_type
    from mockcti.wire import SPECS, Dialect
    from mockcti.wire.render import message_to_dict

    pairs: list = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def draw(data):
        mt = data.draw(st.sampled_from(sorted(SPECS, key=int)))
        msg = data.draw(from_message_type(mt, dialect=Dialect.uccx(18)))
        icm = data.draw(st.booleans())
        if level == "info" and getattr(msg, "records", ()):
            return
        pairs.append((Entry(1, 1.0, "out", 1, {}, msg, icm),
                      Entry(1, 1.0, "out", 1, {"message": message_to_dict(msg, icm=icm)})))

    draw()
    out = io.StringIO()
    trace = Trace(out, json_lines=False, verbose=False, level=level, max_lines=2 * len(pairs) + 1)
    for raw, rendered in pairs:
        trace(raw)
        trace(rendered)
    trace.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 * len(pairs) and pairs
    for k in range(0, len(lines), 2):
        assert lines[k] == lines[k + 1]


def test_the_trace_leaves_out_reserved_fields_that_carry_the_value_uccx_sends():
    """README: `--verbose` (or --log-level debug) also shows reserved fields; the info trace showed a
    MAKE_CALL_REQ's eight reserved fields (call_placement_type=0 … skill_group_number=4294967295),
    OPEN_CONF's pg_status and icm_central_controller_time, CONFIG_REQUEST_EVENT's reserved_v11 on every
    line, as `mockcti decode` does not. A reserved field is left out when it carries UCCX's value, shown
    when a client sends another (what a user debugging a client needs to see)."""
    from mockcti.wire.messages import MakeCallReq

    def traced(level: str, *messages) -> list[str]:
        out = io.StringIO()
        journal = Journal(keep=False)
        trace = Trace(out, json_lines=False, verbose=False, level=level)
        journal.add_sink(trace)
        for m in messages:
            journal.message("in", 1.0, 1, m)
        trace.close()
        return [line.split(" <- ", 1)[1] for line in out.getvalue().splitlines()]

    plain = MakeCallReq(invoke_id=3, agent_instrument="3001", dialed_number="5551234")
    odd = MakeCallReq(invoke_id=4, agent_instrument="3001", dialed_number="5551234", priority=1, alert_rings=3)
    assert traced("info", plain, odd) == [
        "MAKE_CALL_REQ invoke_id=3 agent_instrument='3001' dialed_number='5551234'",
        "MAKE_CALL_REQ invoke_id=4 alert_rings=3 priority=1 agent_instrument='3001' dialed_number='5551234'"]
    [debug] = traced("debug", plain)
    assert "call_placement_type=0" in debug and "skill_group_number=4294967295" in debug and "peripheral_id=1" in debug


def test_serve_help_names_the_calls_per_minute_rate_and_what_it_shows(monkeypatch, capsys):
    """--help showed `--calls-per-minute CALLS_PER_MINUTE` (argparse's name of the option, in the usage line too) and
    said neither how the calls arrive nor where they go; it names the rate N, says both, and says the statistics
    line and summary (--json: their kinds)."""
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no word cut by the wrapping
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "CALLS_PER_MINUTE" not in out and "[--calls-per-minute N]" in " ".join(out.split())
    (line,) = [ln for ln in out.splitlines() if ln.lstrip().startswith("--calls-per-minute N ")]
    assert "N a minute on average (Poisson arrivals drawn from --seed, each to a CSQ of the center picked at " \
           "random; default 0: off; at least 0.001, at most 60,000)" in line
    assert "a statistics line on stderr every second and a summary at the end, as --load's (neither with " \
           "--quiet; with --json also on stdout, kind calls_per_minute and calls_per_minute_summary)" in line


@pytest.mark.parametrize("args, said", [([], "abandon after 120 s (--abandon-after)"),
                                        (["--abandon-after", "30", "--patience", "exponential"],
                                         "abandon after 30 s on average (--abandon-after)")])
def test_calls_per_minute_names_a_csq_no_agent_is_in_at_start(args, said, tmp_path, monkeypatch, capsys):
    """A center with a CSQ no agent is in: the --calls-per-minute calls that go there are never answered. serve said
    nothing (--load says so at start); now a warning names the CSQ, also with --quiet (errors and warnings)."""
    from mockcti.server import MockServer

    center = tmp_path / "center.yaml"
    center.write_text("csqs:\n  - {name: Sales, id: 1}\n  - {name: Nobody, id: 2}\n"
                      "agents:\n  - {id: '2001', extension: '4001', password: '1', csqs: [Sales]}\n")

    async def served(self):  # the run ends at once, as after Ctrl-C
        return None

    monkeypatch.setattr(MockServer, "serve_forever", served)
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--quiet", "--center", str(center),
                 "--calls-per-minute", "6", *args]) == 0
    assert capsys.readouterr().err == (
        "mockcti serve: warning: no agent is in CSQ Nobody: the --calls-per-minute calls sent there (each call to one "
        f"of the 2 CSQs, picked at random) are never answered, their callers {said}\n")
    assert main(["serve", "--port", "0", "--loop", "asyncio", "--quiet", "--calls-per-minute", "6"]) == 0
    assert capsys.readouterr().err == ""  # the default center: every CSQ has agents
