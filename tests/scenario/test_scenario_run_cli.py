"""``mockcti run`` end to end: a real server, a client under test started as a subprocess with
CTI_HOST/CTI_PORT, exit codes 0/1/2/3, the near miss printed, and the report files."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from raw_client import PRELUDE  # tests/support

SCENARIO = """\
name: cli-demo
seed: 11
rules:
  - when: {message: QUERY_AGENT_STATE_REQ}
    then:
      - fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "asked for ${request.agent_id}"}
expect:
  - {id: query-1001, message: QUERY_AGENT_STATE_REQ, fields: {agent_id: "1001"}}
end: {after: 30}
"""

# The client under test: opens an agent session, queries the state of agent ARGV[1], checks that the
# scenario's refusal came back, closes, and exits with ARGV[2].
CLIENT = PRELUDE + """\
agent, status = sys.argv[1], int(sys.argv[2])
s.sendall(open_req(1, "cli"))
assert read_one().TYPE.name == "OPEN_CONF"
s.sendall(encode(W.QueryAgentStateReq(invoke_id=2, agent_id=agent), D))
reply = read_one()
if reply.TYPE.name != "FAILURE_CONF" or reply.text != "asked for " + agent or reply.invoke_id != 2:
    print("unexpected reply", reply)
    sys.exit(4)
s.sendall(encode(W.CloseReq(invoke_id=3), D))
assert read_one().TYPE.name == "CLOSE_CONF"
print("client done")
sys.exit(status)
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "demo.yaml").write_text(SCENARIO)
    (tmp_path / "client.py").write_text(CLIENT)
    return tmp_path


# --client-cmd is a shell command: every path in it is quoted (shlex.join), as in the fuzz tests. A temporary
# directory or an interpreter whose path has a space (TMPDIR="/tmp/ci tmp", a checkout in "my work/")
# made the shell run "/tmp/ci" and ten tests here fail.
def mockcti_run(tmp: Path, *args: str, client: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mockcti", "run", *args, "--report", str(tmp / "report"), "--timeout", "20"]
    if client is not None:
        cmd += ["--client-cmd", shlex.join([sys.executable, str(tmp / "client.py"), *client.split()])]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp)


def _gone(pid: int, seconds: float = 5.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie reaped by init) within ``seconds`` (bounded poll)."""
    for _ in range(int(seconds / 0.1)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_passing_client_exits_0_and_writes_the_reports(files):
    r = mockcti_run(files, str(files / "demo.yaml"), "--json", client="1001 0")
    assert r.returncode == 0, r.stderr
    assert "PASS cli-demo" in r.stderr and "ok   query-1001" in r.stderr
    assert "listening on 127.0.0.1:" in r.stderr and "(seed 11)" in r.stderr
    printed = json.loads(r.stdout)
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert printed["passed"] is True and summary["passed"] is True
    (sc,) = summary["scenarios"]
    assert sc["name"] == "cli-demo" and sc["exit_code"] == 0 and sc["client_exit"] == 0 and sc["seed"] == 11
    assert sc["end"] == "client exited with status 0"
    assert [(e["name"], e["met"]) for e in summary["expectations"]] == [("query-1001", True)]
    root = ET.parse(files / "report" / "junit.xml").getroot()
    cases = list(root.iter("testcase"))
    assert any(c.get("name", "").endswith("query-1001") or c.get("name") == "query-1001" for c in cases), \
        [c.attrib for c in cases]
    assert not list(root.iter("failure"))
    journal = (files / "report" / "cli-demo.jsonl").read_text(encoding="utf-8").splitlines()
    assert journal and all(json.loads(line) for line in journal)
    assert "QUERY_AGENT_STATE_REQ" in "\n".join(journal) and "asked for 1001" in "\n".join(journal)


@pytest.mark.parametrize("client", ["1001 0", "1003 0"])
def test_quiet_prints_no_table_and_the_exit_status_and_the_report_are_the_verdict(files, client):
    """--quiet: errors only (as validate, fuzz and serve): no listening line (a --client-cmd run needs none), no
    PASS/FAIL table, no summary line; the exit status and the report say what happened. It was an unknown
    option (exit 2)."""
    r = mockcti_run(files, str(files / "demo.yaml"), "--quiet", client=client)
    assert (r.returncode, r.stdout, r.stderr) == (0 if client == "1001 0" else 1, "", "")
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] is (client == "1001 0")


def test_misbehaving_client_exits_1_with_the_near_miss(files):
    r = mockcti_run(files, str(files / "demo.yaml"), client="1003 0")
    assert r.returncode == 1, r.stderr
    assert "FAIL cli-demo" in r.stderr
    assert "MISS query-1001: QUERY_AGENT_STATE_REQ: expected 1+ time(s), received 0" in r.stderr
    assert f"       at {files / 'demo.yaml'}:8\n" in r.stderr  # where the scenario states it
    assert "near miss: closest: QUERY_AGENT_STATE_REQ" in r.stderr
    assert "agent_id equals '1001' failed: got '1003'" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] is False and summary["scenarios"][0]["exit_code"] == 1
    (exp,) = summary["expectations"]
    assert exp["met"] is False and "got '1003'" in exp["near_miss"]
    assert exp["where"] == f"{files / 'demo.yaml'}:8"
    root = ET.parse(files / "report" / "junit.xml").getroot()
    failures = list(root.iter("failure"))
    assert failures and any("got '1003'" in (f.get("message", "") + (f.text or "")) for f in failures)
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "query-1001"]
    assert case.find("failure").get("message").startswith(f"{files / 'demo.yaml'}:8: ")


def test_client_exiting_non_zero_exits_3(files):
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 7")
    assert r.returncode == 3, r.stderr
    assert "client exited with status 7" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenarios"][0]["client_exit"] == 7 and summary["scenarios"][0]["exit_code"] == 3


def test_what_a_failing_client_printed_is_shown_and_reported(files):
    """The client's stdout and stderr were read and thrown away: a client that crashed (its
    traceback) or a command the shell could not find ("not found") left only a status number. Now a
    failed run prints the end of the client's output, summary.json keeps it and junit.xml has it as
    the scenario's <system-out>; a passing run prints none of it."""
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 7")  # prints "client done", exits 7
    assert r.returncode == 3, r.stderr
    assert "  client output (1 line(s)):\n  | client done\n" in r.stderr, r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenarios"][0]["client_output"] == "client done\n"
    root = ET.parse(files / "report" / "junit.xml").getroot()
    (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "mockcti.scenario.cli-demo"]
    assert suite.find("system-out").text == "client done\n"

    crash = files / "crash.py"
    crash.write_text("import sys\nprint('connecting to', 'nowhere')\nraise RuntimeError('my client broke')\n")
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), "--report", str(files / "report"),
           "--timeout", "20", "--client-cmd", shlex.join([sys.executable, str(crash)])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=files)
    assert r.returncode == 1, r.stderr  # the expectation is unmet too
    assert "  | connecting to nowhere\n" in r.stderr and "  | RuntimeError: my client broke\n" in r.stderr, r.stderr

    cmd[-1] = "no-such-client-xyz --go"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=files)
    assert "  client exited with status 127\n  client output (1 line(s)):\n  | " in r.stderr, r.stderr
    assert "no-such-client-xyz" in r.stderr.split("client output")[1]  # the shell's "not found"

    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 0 and "client done" not in r.stderr and "client output" not in r.stderr, r.stderr


def test_client_that_cannot_start_exits_3(files):
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), "--report", str(files / "report"),
           "--timeout", "10", "--client-cmd", str(files / "no-such-client")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=files)
    # the shell starts but cannot run the command: 127; the expectation is unmet as well
    assert r.returncode in (1, 3), r.stderr


def test_invalid_scenario_exits_2_naming_file_line_and_key(files):
    bad = files / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: bad
        rules:
          - when: {message: HOLD_CALL_REQQ}
            then: [default]
        """))
    r = mockcti_run(files, str(files / "demo.yaml"), str(bad), client="1001 0")
    assert r.returncode == 2
    assert f"{bad}:3: rules[0].when.message" in r.stderr, r.stderr
    assert "HOLD_CALL_REQ" in r.stderr  # the suggestion
    assert not (files / "report" / "summary.json").exists()


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_bad_timeout_exits_2(files, timeout):
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), "--timeout", timeout,
           "--report", str(files / "report")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=files)
    assert r.returncode == 2 and "--timeout must be a positive number" in r.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_a_client_still_running_at_the_timeout_is_stopped_with_what_it_started(tmp_path):
    """The client command runs in a shell: at the timeout the shell *and* its children are stopped
    (a terminate() reached only /bin/sh; the client lived on, orphaned, and the run waited for it)."""
    import os
    import signal

    (tmp_path / "noend.yaml").write_text("name: noend\nend: {after: 600}\n")
    pidfile = tmp_path / "pid"
    (tmp_path / "hang.py").write_text(
        "import os, sys, time\n"
        f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "noend.yaml", "--timeout", "2", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "hang.py"])]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    took = time.monotonic() - t0
    assert "timeout after 2 s" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert took < 12, took  # 2 s of run, not 2 + 5 + 5 waiting for an orphan's output
    pid = int(pidfile.read_text(encoding="utf-8"))
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the client {pid} outlived the run")


@pytest.mark.skipif(sys.platform == "win32", reason="process groups, POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_to_mockcti_run_stops_the_client_and_writes_the_report(tmp_path, sig):
    """A CI job cancelled (SIGTERM to mockcti run) killed mockcti run at once and left the client
    under test running (it has a process group of its own), with no report; Ctrl-C exited 1, the
    status of an unmet expectation. Now either signal stops the scenario, the client (as at the end
    of a run), writes the report and exits 128 + the signal; the scenarios after it are not run."""
    import signal

    (tmp_path / "noend.yaml").write_text("name: noend\nexpect: [{message: OPEN_REQ}]\nend: {after: 600}\n")
    pidfile = tmp_path / "pid"
    (tmp_path / "hang.py").write_text(
        "import os, time\n"
        f"open({str(pidfile)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"os.replace({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "time.sleep(300)\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "noend.yaml", "noend.yaml", "--timeout", "120", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "hang.py"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for _ in range(300):
            if pidfile.exists():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the client did not start")
        pid = int(pidfile.read_text(encoding="utf-8"))
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=30)
        if not _gone(pid):
            os.killpg(os.getpgid(pid), signal.SIGKILL)  # the orphan and its shell (a group of their own)
            pytest.fail(f"the client {pid} outlived mockcti run")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + getattr(signal, sig), err
    assert f"mockcti run: {sig}: stopping the client and the server" in err and "Traceback" not in err, err
    assert "FAIL noend (seed 0; interrupted)" in err and "0/1 scenario(s) passed, 1 not run" in err, err
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert [s["end"] for s in summary["scenarios"]] == ["interrupted"] and summary["passed"] is False


def test_a_violation_names_its_scenario_when_several_run(tmp_path):
    """Each scenario's server numbers its sessions from 1: with two scenarios, the combined junit.xml
    failure read "t=… session 1: disconnected without CLOSE_REQ" twice and summary.json's violations
    did not say which scenario (or journal) each came from."""
    for name in ("first", "second"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\nend: {{after: 20, when: disconnect}}\n")
    (tmp_path / "rude.py").write_text(PRELUDE + textwrap.dedent("""\
        s.sendall(open_req(1, "rude"))
        read_one()
        s.close()  # no CLOSE_REQ
        """))
    cmd = [sys.executable, "-m", "mockcti", "run", "first.yaml", "second.yaml", "--timeout", "20", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "rude.py"])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert [(v["rule"], v["scenario"], v["journal"], v["session"]) for v in summary["violations"]] == [
        ("PROTO-NO-CLOSE", "first", "first.jsonl", 1), ("PROTO-NO-CLOSE", "second", "second.jsonl", 1)]
    root = ET.parse(tmp_path / "rep" / "junit.xml").getroot()
    (failure,) = [f for f in root.iter("failure") if f.get("type") == "PROTO-NO-CLOSE"]
    lines = failure.text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("scenario first t=") and lines[1].startswith("scenario second t=")
    # each names its own scenario's journal and the entry in it
    for line, name in zip(lines, ("first", "second")):
        assert re.search(rf"session 1: disconnected without CLOSE_REQ \[journal {name}\.jsonl seq \d+\]$", line), lines


def test_report_files_survive_what_scenario_names_and_clients_hold(tmp_path):
    """A scenario name is not a path (it used to be: "../x" wrote outside --report, "a/b" crashed);
    two scenarios with one name keep both journals (the second named after its label, "sub/dir (2nd
    load)"), and so do two names that reduce to one file name ("sub_dir": -2); a control character in the
    name keeps junit.xml well-formed; summary.json says which file each scenario came from."""
    for i, name in enumerate(["../escaped", "sub/dir", "sub/dir", "ctl\x01name", "sub_dir"]):
        (tmp_path / f"s{i}.yaml").write_text(f"name: {json.dumps(name)}\nend: {{after: 0.2}}\n")
    cmd = [sys.executable, "-m", "mockcti", "run", *(f"s{i}.yaml" for i in range(5)), "--timeout", "5",
           "--report", "rep"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "escaped.jsonl").exists()
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [
        "ctl_name.jsonl", "escaped.jsonl", "junit.xml", "sub_dir-2.jsonl", "sub_dir.jsonl", "sub_dir_2nd_load.jsonl",
        "summary.json"]
    ET.parse(tmp_path / "rep" / "junit.xml")  # well-formed
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert [(s["file"], s["name"], s["journal"]) for s in summary["scenarios"]] == [
        ("s0.yaml", "../escaped", "escaped.jsonl"), ("s1.yaml", "sub/dir", "sub_dir.jsonl"),
        ("s2.yaml", "sub/dir (2nd load)", "sub_dir_2nd_load.jsonl"), ("s3.yaml", "ctl\x01name", "ctl_name.jsonl"),
        ("s4.yaml", "sub_dir", "sub_dir-2.jsonl")]


def test_shipped_scenario_runs_with_a_retrying_client(tmp_path):
    """scenarios/hold-fails-with-ctierr.yaml: the first hold is refused with CTIERR_HOLDFAILED, the
    client holds again and the center answers."""
    root = Path(__file__).resolve().parents[2]
    client = tmp_path / "retry.py"
    client.write_text(PRELUDE + textwrap.dedent("""\
        def until(name):
            while True:
                m = read_one()
                if m.TYPE.name == name:
                    return m

        s.sendall(encode(W.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=7,
                                   call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id="retry",
                                   client_password=b"", agent_extension="3001", agent_instrument="3001",
                                   agent_id="1001"), D))
        until("OPEN_CONF")
        # a client connecting during a call learns its CallID with a snapshot of its phone
        s.sendall(encode(W.SnapshotDeviceReq(invoke_id=2, agent_instrument="3001"), D))
        call_id = until("SNAPSHOT_DEVICE_CONF").calls[0].call_connection_call_id
        first = None
        for invoke in (3, 4):
            s.sendall(encode(W.HoldCallReq(invoke_id=invoke, call_id=call_id, connection_device_id="3001"), D))
            while True:
                m = read_one()
                if getattr(m, "invoke_id", None) == invoke:
                    break
            first = first or m
        s.sendall(encode(W.CloseReq(invoke_id=5), D))
        until("CLOSE_CONF")
        sys.exit(0 if first.TYPE.name == "CONTROL_FAILURE_CONF" and first.ccx_error_code == 0x8CCC000F else 4)
        """))
    cmd = [sys.executable, "-m", "mockcti", "run", str(root / "scenarios" / "hold-fails-with-ctierr.yaml"),
           "--report", str(tmp_path / "report"), "--timeout", "20",
           "--client-cmd", shlex.join([sys.executable, str(client)])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert r.returncode == 0, r.stderr



# A desktop-like client under test: opens an agent session (heartbeats on) and stays connected until it
# is stopped. With "leave" it drops the connection without CLOSE_REQ first (a rule broken while the
# scenario runs) and lingers, still running, until it is stopped.
DESKTOP = """\
import asyncio, os, sys
from mockcti.client import CTIClient

async def main():
    c = await CTIClient.connect(os.environ["CTI_HOST"], int(os.environ["CTI_PORT"]), timeout=5)
    await c.open_agent(agent_id="1001", instrument="3001", timeout=5)
    if sys.argv[1:] == ["leave"]:
        await c.abort()
    print("opened", flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""

# ends 1 s after the OPEN_REQ, however long the client takes to start
OPEN_THEN_WAIT = """\
name: desktop
steps:
  - {expect: {message: OPEN_REQ, timeout: 30}}
  - {wait: 1}
expect:
  - {id: opens, message: OPEN_REQ}
end: {when: all_steps_done}
"""


def run_desktop(tmp_path: Path, *client_args: str) -> tuple[subprocess.CompletedProcess, dict, list]:
    (tmp_path / "s.yaml").write_text(OPEN_THEN_WAIT)
    (tmp_path / "desktop.py").write_text(DESKTOP)
    cmd = [sys.executable, "-m", "mockcti", "run", "s.yaml", "--timeout", "30", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "desktop.py", *client_args])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    journal = [json.loads(line) for line in (tmp_path / "rep" / "desktop.jsonl").read_text(encoding="utf-8").splitlines()]
    return r, summary, journal


def test_a_client_still_connected_when_the_scenario_ends_passes(tmp_path):
    """README: exit 0 when every expectation is met and no violation was recorded. A client still
    connected at the end (a desktop runs until it is stopped) was stopped before the server, and its
    disconnect was journalled as PROTO-NO-CLOSE after "scenario ended": every such run exited 1. The
    server now shuts down first (SYSTEM_EVENT SYS_CCX_OFFLINE, then it closes the connection)."""
    r, summary, journal = run_desktop(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "PASS desktop (seed 0; all steps done)" in r.stderr and "VIOLATION" not in r.stderr
    assert summary["passed"] is True and summary["violations"] == []
    assert summary["scenarios"][0]["client_exit"] == 0
    offline = [e for e in journal if e["kind"] == "out" and e["message"]["type"] == "SYSTEM_EVENT"]
    assert offline and offline[0]["message"]["names"]["system_event_id"] == "SYS_CCX_OFFLINE"
    assert [e["reason"] for e in journal if e["kind"] == "close"] == ["closed by server: server shutdown"]


def test_a_client_that_left_without_close_req_before_the_end_still_fails(tmp_path):
    """The other side of the test above: what a client did while the scenario ran still counts, even
    when it is still running at the end (and so stopped by the runner, the server first)."""
    r, summary, journal = run_desktop(tmp_path, "leave")
    assert r.returncode == 1, r.stderr
    assert "VIOLATION PROTO-NO-CLOSE" in r.stderr
    (v,) = summary["violations"]
    ended = next(e["t"] for e in journal if e.get("what") == "scenario: scenario ended")
    assert v["rule"] == "PROTO-NO-CLOSE" and v["t"] < ended


@pytest.mark.parametrize("end, timeout, reason", [("end: {after: 0.5}", 30, "after 0.5 s"),
                                                  ("", 0.5, "timeout after 0.5 s")])
def test_run_scenario_stops_the_server_before_a_driver_still_running(tmp_path, end, timeout, reason):
    """``run_scenario(path, on_started=driver)``: a driver still connected when the scenario ends (or
    at the timeout) is cancelled after the server has closed its connection, so the driver's own
    clean-up (an abort here) is no violation; the run passes."""
    import asyncio

    from mockcti.client import CTIClient
    from mockcti.runner import run_scenario

    (tmp_path / "s.yaml").write_text(f"name: driven\nexpect:\n  - {{message: OPEN_REQ}}\n{end}\n")

    async def driver(server):
        c = await CTIClient.connect(server.host, server.port, timeout=3)
        try:
            await c.open_agent(agent_id="1001", instrument="3001", timeout=3, heartbeat=0)
            await asyncio.sleep(30)
        finally:
            await c.abort()

    run = asyncio.run(run_scenario(tmp_path / "s.yaml", on_started=driver, timeout=timeout))
    assert run.exit_code == 0, (run.end_reason, run.summary["violations"], run.client_output)
    assert run.end_reason == reason and run.summary["violations"] == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_report_file_that_cannot_be_written_is_named_and_exits_2(files):
    """A full disk under junit.xml (/dev/full): a traceback, and summary.json's verdict looked
    like the run's. Now one line names the file, the rest of the report is written, exit 2."""
    (files / "report").mkdir()
    os.symlink("/dev/full", files / "report" / "junit.xml")
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert (f"mockcti run: --report {files / 'report'}: cannot write {files / 'report' / 'junit.xml'}: "
            "No space left on device") in r.stderr
    assert json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))["passed"] is True
    assert (files / "report" / "cli-demo.jsonl").read_text(encoding="utf-8")


def test_a_scenario_action_that_was_not_carried_out_is_printed(files):
    """A scenario action that fails at run time (here: a call delivered from an agent's own phone,
    which the center refuses) is a journalled fault; the run may still pass, so the terminal says
    the client was not tested as the scenario says (it said nothing)."""
    (files / "bad-call.yaml").write_text(SCENARIO.replace("name: cli-demo", "name: bad-call").replace(
        "end: {after: 30}",
        "timeline:\n  - {at: 0, do: {deliver_call: {agent: '1001', ani: '3002'}}}\nend: {after: 30}"))
    r = mockcti_run(files, str(files / "bad-call.yaml"), client="1001 0")
    assert r.returncode == 0, r.stderr
    # the action as the scenario writes it (it said "DeliverCall", the name of a Python class)
    assert "WARNING the scenario's deliver_call at " in r.stderr, r.stderr
    assert ("bad-call.yaml:10: timeline[0].do.deliver_call was not carried out: ani '3002' is the phone of "
            "agent 1002") in r.stderr, r.stderr


def test_a_port_in_use_exits_2_with_one_line_and_no_scenario_passes(files):
    """`--port` of a port another process listens on: a traceback and exit 1 (what an unmet
    expectation exits), and nothing written. Now one line names the address, exit 2 (as `mockcti
    serve` does), the client is not started, and the report says the scenarios were not run: not
    passed."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        r = mockcti_run(files, str(files / "demo.yaml"), str(files / "demo.yaml"), "--port", str(port),
                        client="1001 0")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "client done" not in r.stderr, r.stderr
    assert f"mockcti run: scenario cli-demo: cannot listen on 127.0.0.1:{port}: " in r.stderr
    assert "0/0 scenario(s) passed, 2 not run" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] is False and summary["scenarios"] == []
    assert summary["not_run"] == [str(files / "demo.yaml")] * 2


def test_a_client_exiting_non_zero_is_an_error_case_in_junit(files):
    """Exit 3 (the client exited 7, every expectation met) left junit.xml all green: failures="0"
    errors="0", so a CI server showed a passing run the job failed. The client's exit is now a case
    of the scenario's suite in every run with --client-cmd, the same name passing or not, an <error>
    when the client exited non-zero, counted in the suite's and the root's errors."""
    def client_case(root: ET.Element) -> ET.Element:
        (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "mockcti.scenario.cli-demo"]
        (case,) = [c for c in suite.iter("testcase") if c.get("name") == "the client under test exits with status 0"]
        return suite, case

    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 7")
    assert r.returncode == 3, r.stderr
    root = ET.parse(files / "report" / "junit.xml").getroot()
    suite, case = client_case(root)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "1")
    assert root.get("errors") == "1" and root.get("failures") == "0"
    assert case.find("error").get("message") == "the client under test exited with status 7"
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.iter("testsuite"))

    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 0, r.stderr
    root = ET.parse(files / "report" / "junit.xml").getroot()
    suite, case = client_case(root)
    assert list(case) == [] and suite.get("errors") == "0" and root.get("errors") == "0"


def test_two_runs_of_one_scenario_name_are_two_junit_suites(files):
    """Two scenarios of the same `name:` (here one file given twice) were one JUnit suite holding
    both runs' cases under the same names (a CI server that keys cases by class and name keeps one)
    and both clients' output. Each run is now reported under a name of its own, in junit.xml and
    summary.json alike, as its journal file is. That name is the one the control API and `serve --report`
    give a scenario loaded again ("cli-demo (2nd load)"): `run` said "cli-demo-2", two schemes for one thing."""
    from mockcti.center import ContactCenter, default_center
    from mockcti.hub import Hub
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.scenario.loader import load_scenario

    r = mockcti_run(files, str(files / "demo.yaml"), str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 0, r.stderr
    assert "PASS cli-demo (seed 11;" in r.stderr and "PASS cli-demo (2nd load) (seed 11;" in r.stderr, r.stderr
    root = ET.parse(files / "report" / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite") if s.get("name").startswith("mockcti.scenario.")}
    assert list(suites) == ["mockcti.scenario.cli-demo", "mockcti.scenario.cli-demo (2nd load)"]
    for name, suite in suites.items():
        assert [c.get("name") for c in suite.iter("testcase")] == ["query-1001",
                                                                   "the client under test exits with status 0"]
        assert {c.get("classname") for c in suite.iter("testcase")} == {name}
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["scenario"], s["journal"]) for s in summary["scenarios"]] == [
        ("cli-demo", "cli-demo", "cli-demo.jsonl"), ("cli-demo (2nd load)", "cli-demo (2nd load)", "cli-demo_2nd_load.jsonl")]
    assert [[e["scenario"] for e in s["expectations"]] for s in summary["scenarios"]] == [
        ["cli-demo"], ["cli-demo (2nd load)"]]
    assert [e["scenario"] for e in summary["expectations"]] == ["cli-demo", "cli-demo (2nd load)"]
    assert sorted(p.name for p in (files / "report").glob("*.jsonl")) == ["cli-demo.jsonl", "cli-demo_2nd_load.jsonl"]
    # the same scenario loaded twice into a hub (the control API's POST /scenario) is reported alike
    hub = Hub(ContactCenter(default_center()))
    labels = []
    for t in (0.0, 1.0):
        hub.set_engine(ScenarioEngine(load_scenario(files / "demo.yaml")), t)
        labels.append(hub.engine_label)
    assert labels == [s["name"] for s in summary["scenarios"]]


def test_a_run_label_never_repeats_a_scenario_named_like_one(tmp_path):
    """A scenario whose own `name:` reads "A (2nd load)", run between two runs of "A": each run keeps a suite
    and a journal of its own (the second "A" is "A (3rd load)")."""
    (tmp_path / "a.yaml").write_text("name: A\nend: {after: 0.1}\n")
    (tmp_path / "b.yaml").write_text('name: "A (2nd load)"\nend: {after: 0.1}\n')
    cmd = [sys.executable, "-m", "mockcti", "run", "a.yaml", "b.yaml", "a.yaml", "--timeout", "5", "--report", "rep"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["journal"]) for s in summary["scenarios"]] == [
        ("A", "A.jsonl"), ("A (2nd load)", "A_2nd_load.jsonl"), ("A (3rd load)", "A_3rd_load.jsonl")]


def test_a_report_directory_that_is_a_file_says_so(files):
    """`--report FILE` said only "File exists"; now what is wrong: a file where the directory goes."""
    (files / "afile").write_text("x")
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), "--report", str(files / "afile")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=files)
    assert r.returncode == 2
    assert r.stderr == f"mockcti run: --report {files / 'afile'}: not a directory (a file of that name exists)\n"


def test_a_scenarios_profile_keeps_the_field_tags_the_server_was_given():
    """`mockcti serve --field-tag ... --scenario` with a scenario of another dialect: the hub serves the
    scenario's profile with the field tags (and message numbers) the command line gave, as for --message-id."""
    from mockcti.commands import with_field_tags
    from mockcti.hub import HubConfig
    from mockcti.runner import _with_profile
    from mockcti.session import SessionConfig
    from mockcti.wire import UCCE, UCCX, MessageType

    served = with_field_tags(UCCX, ["SNAPSHOT_DEVICE_CONF.CallState=75"])
    assert served.retag(MessageType.SNAPSHOT_DEVICE_CONF) == ()  # 75 is the declaration's tag: nothing to change
    config = _with_profile(HubConfig(session=SessionConfig(profile=served)), UCCX)
    assert config.session.profile.retag(MessageType.SNAPSHOT_DEVICE_CONF) == ()
    assert UCCX.retag(MessageType.SNAPSHOT_DEVICE_CONF) == (("CallState", 61),)
    served = with_field_tags(UCCE, ["SNAPSHOT_DEVICE_CONF.CallState=61"])
    config = _with_profile(HubConfig(session=SessionConfig(profile=served)), UCCE)
    assert config.session.profile.retag(MessageType.SNAPSHOT_DEVICE_CONF) == (("CallState", 61),)


# A client whose deployment numbers QUERY_QUEUE_STATISTICS_REQ/CONF 259/260 (reference §4, U): it asks
# for CSQ 1's statistics and exits 0 only when the answer came back as wire number 260.
RENUMBERED_CLIENT = PRELUDE + """\
from mockcti.wire.dialect import UCCX

D = Dialect(profile=UCCX.with_type_ids({"QUERY_QUEUE_STATISTICS_REQ": 259, "QUERY_QUEUE_STATISTICS_CONF": 260}),
            version=14)
s.sendall(encode(W.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x10,
                           call_msg_mask=0, agent_state_mask=0, client_id="sup", client_password=b""), D))
assert read_one().TYPE.name == "OPEN_CONF"
s.sendall(encode(W.QueryQueueStatisticsReq(invoke_id=2, csq_id=1), D))
frame = read_frame()
type_id, reply = frame.type_id, decode(frame, D)
print("reply", type_id, reply.TYPE.name)
s.sendall(encode(W.CloseReq(invoke_id=3), D))
read_one()
sys.exit(0 if (type_id, reply.TYPE.name) == (260, "QUERY_QUEUE_STATISTICS_CONF") else 4)
"""

RENUMBERED_SCENARIO = """\
name: renumbered
center:
  csqs: [{name: Sales, id: 1}]
expect:
  - {id: stats, message: QUERY_QUEUE_STATISTICS_REQ, fields: {csq_id: 1}}
end: {after: 30, when: disconnect}
"""


def test_run_serves_the_scenario_with_the_message_ids_given(tmp_path):
    """`mockcti run --message-id` (as `serve` and `decode` take it): a client of a deployment that numbers
    the provisional messages otherwise can be run against scenarios. run had no such option (usage error)."""
    (tmp_path / "s.yaml").write_text(RENUMBERED_SCENARIO)
    (tmp_path / "client.py").write_text(RENUMBERED_CLIENT)
    cmd = [sys.executable, "-m", "mockcti", "run", str(tmp_path / "s.yaml"), "--report", str(tmp_path / "report"),
           "--timeout", "20", "--client-cmd", shlex.join([sys.executable, str(tmp_path / "client.py")]),
           "--message-id", "QUERY_QUEUE_STATISTICS_REQ=259", "--message-id", "query_queue_statistics_conf=0x104"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] is True and summary["violations"] == []
    assert [(e["name"], e["met"]) for e in summary["expectations"]] == [("stats", True)]
    assert summary["scenarios"][0]["client_exit"] == 0
    # without the option, 259 is no UCCX message: the client's request is a violation, its answer not 260
    cmd = cmd[:cmd.index("--message-id")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "PROTO-UNKNOWN-MESSAGE" in r.stderr


@pytest.mark.parametrize("args, error", [
    (["--message-id", "QUERY_QUEUE_STATISTICS_REQ"],
     "mockcti run: --message-id: 'QUERY_QUEUE_STATISTICS_REQ': expected NAME=NUMBER, e.g. QUERY_QUEUE_STATISTICS_REQ=259"),
    (["--message-id", "QUERY_QUEUE_STATISTICS_REQ=5"], "mockcti run: --message-id: wire number 5 is already HEARTBEAT_REQ"),
    (["--field-tag", "SNAPSHOT_DEVICE_CONF.CallState=56"], "mockcti run: --field-tag: "),
])
def test_run_refuses_a_bad_renumbering_before_anything_runs(files, args, error):
    r = mockcti_run(files, str(files / "demo.yaml"), *args, client="1001 0")
    assert r.returncode == 2 and r.stderr.startswith(error), r.stderr
    assert "listening" not in r.stderr and not (files / "report").exists()


def test_run_scenario_serves_the_profile_it_is_given():
    """The Python API under `mockcti run --message-id/--field-tag`: the profile replaces the scenario's."""
    from mockcti.runner import scenario_server
    from mockcti.scenario.loader import load_scenario_text
    from mockcti.wire import UCCE

    sc = load_scenario_text("name: x\ndialect: {profile: ucce}\nend: {after: 1}\n")
    # (ucce has none of the UCCX messages whose number --message-id gives: a --field-tag makes the profile)
    profile = UCCE.with_field_tags({"SNAPSHOT_DEVICE_CONF.CallState": 61})
    server, _ = scenario_server(sc, profile=profile)
    assert server.hub.config.session.profile is profile
    server, _ = scenario_server(sc)
    assert server.hub.config.session.profile.name == "ucce" and server.hub.config.session.profile is not profile


def _closed_pipe() -> int:
    """The write end of a pipe whose reader is gone (what `| head` leaves once head has exited)."""
    r, w = os.pipe()
    os.close(r)
    return w


@pytest.mark.parametrize("closed", ["stdout", "stderr", "both"])
def test_a_reader_that_goes_away_costs_neither_the_verdict_nor_the_report(files, closed):
    """`mockcti run … --json | head` exited 0 for a failed run, and `mockcti run … 2>&1 | head` stopped
    after the first scenario with no summary.json nor junit.xml, exit 0 (BrokenPipeError, taken for the
    end of a `decode | head`). Now a closed stdout or stderr only silences it: every scenario runs, the
    reports are written and the exit status is the verdict."""
    w = _closed_pipe()
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), str(files / "demo.yaml"), "--json",
           "--report", str(files / "report"), "--timeout", "20",
           "--client-cmd", shlex.join([sys.executable, str(files / "client.py"), "1003", "0"])]
    try:
        r = subprocess.run(cmd, stdout=w if closed != "stderr" else subprocess.DEVNULL,
                           stderr=w if closed != "stdout" else subprocess.PIPE, timeout=90, cwd=files)
    finally:
        os.close(w)
    assert r.returncode == 1
    if closed == "stdout":
        assert b"Traceback" not in r.stderr and b"0/2 scenario(s) passed" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text(encoding="utf-8"))
    assert [s["exit_code"] for s in summary["scenarios"]] == [1, 1] and summary["passed"] is False
    assert ET.parse(files / "report" / "junit.xml").getroot().get("failures") == "2"


def test_validate_with_a_closed_stdout_still_says_a_file_is_invalid(tmp_path):
    """`mockcti validate a.yaml b.yaml | head -1` exited 0 although b.yaml is invalid."""
    (tmp_path / "a.yaml").write_text("name: a\nend: {after: 1}\n")
    (tmp_path / "b.yaml").write_text("name: b\nend: {afterwards: 1}\n")
    w = _closed_pipe()
    try:
        r = subprocess.run([sys.executable, "-m", "mockcti", "validate", "a.yaml", "b.yaml"], stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=60, cwd=tmp_path)
    finally:
        os.close(w)
    assert r.returncode == 1
    assert "b.yaml:2: end" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_run_cut_short_by_a_signal_is_not_passed_in_summary_json(tmp_path):
    """A cancelled CI job (SIGTERM) whose one scenario had met its expectations so far: exit 143, but
    summary.json said "passed": true. Now not passed, and `interrupted` names the signal."""
    import signal

    (tmp_path / "noend.yaml").write_text("name: noend\nexpect: [{message: OPEN_REQ}]\nend: {after: 600}\n")
    (tmp_path / "opener.py").write_text(
        PRELUDE
        + "import time\n"
          "s.sendall(encode(W.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x10,\n"
          "                           call_msg_mask=0, agent_state_mask=0, client_id='b', client_password=b''), D))\n"
          "read_one()\n"  # OPEN_CONF: the OPEN_REQ is in
          "open('opened.tmp', 'w').close()\n"
          "os.replace('opened.tmp', 'opened')\n"
          "time.sleep(300)\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "noend.yaml", "--timeout", "120", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "opener.py"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for _ in range(300):  # until the client has its OPEN_CONF (bounded: 30 s)
            if (tmp_path / "opened").exists():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the client did not open")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert [(s["end"], s["exit_code"]) for s in summary["scenarios"]] == [("interrupted", 0)], err
    assert summary["passed"] is False and summary["interrupted"] == "SIGTERM"


def test_the_precedence_of_the_exit_codes_is_the_documented_one(files, capsys):
    """When several exit codes apply the order was nowhere: a client that crashed with the expectation
    unmet exits 1, one the shell cannot start exits 3 though nothing was met; --help says so."""
    from mockcti.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "when several apply: 130/143, then 2, then 1, then 3" in capsys.readouterr().out
    r = mockcti_run(files, str(files / "demo.yaml"), client="1003 7")  # expectation unmet, client exit 7
    assert r.returncode == 1, r.stderr
    cmd = [sys.executable, "-m", "mockcti", "run", str(files / "demo.yaml"), "--report", str(files / "report"),
           "--timeout", "20", "--client-cmd", "./no-such-client"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=files)
    assert r.returncode == 3, r.stderr


@pytest.mark.parametrize("client_cmd", ["", "   "])
def test_an_empty_client_command_is_bad_usage_not_a_run_without_the_client(tmp_path, client_cmd):
    """`--client-cmd "$CLIENT"` with the variable unset ran the scenario with no client at all: one whose
    expectations a silent client meets passed (exit 0). Now bad usage, before anything listens."""
    (tmp_path / "quiet.yaml").write_text("name: quiet\nexpect: [{message: HOLD_CALL_REQ, never: true}]\n"
                                         "end: {after: 0.5}\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "quiet.yaml", "--report", "rep", "--client-cmd", client_cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("mockcti run: --client-cmd is empty: give the command that starts the client")
    assert "listening on" not in r.stderr and not (tmp_path / "rep").exists()


WAIT_FOR_FLAG = """\
import os, sys, time
for _ in range(600):  # at most 30 s: until the test lets it go
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.05)
"""


def test_a_second_run_in_parallel_into_the_same_report_directory_is_refused_naming_the_first(files):
    """Two CI jobs in one checkout, both with the default `mockcti-report/`: the second overwrote the first's
    summary.json and junit.xml silently (and the first, ending later, the second's). The second is refused
    (exit 2) naming the run that holds the directory; once that one ended, the directory is free again."""
    (files / "wait.py").write_text(WAIT_FOR_FLAG)
    flag = files / "go"
    env = {**os.environ}
    first = subprocess.Popen([sys.executable, "-m", "mockcti", "run", "demo.yaml", "--timeout", "40", "--client-cmd",
                              shlex.join([sys.executable, "wait.py", str(flag)])], cwd=files, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lock = files / "mockcti-report" / ".mockcti.lock"
        for _ in range(400):  # at most 20 s: until the first run holds the directory
            if lock.exists() and lock.read_text(encoding="utf-8").startswith("pid "):
                break
            time.sleep(0.05)
        assert lock.read_text(encoding="utf-8").startswith(f"pid {first.pid} (mockcti run demo.yaml, started ")
        second = subprocess.run([sys.executable, "-m", "mockcti", "run", "demo.yaml", "--timeout", "5"], cwd=files,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.startswith(f"mockcti run: --report mockcti-report: in use by pid {first.pid} "
                                        f"(mockcti run demo.yaml, started "), second.stderr
        assert "give each run started in parallel its own --report DIR" in second.stderr
        assert not (files / "mockcti-report" / "summary.json").exists()  # the second wrote nothing there
        served = subprocess.run([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--report", "mockcti-report"],
                                cwd=files, capture_output=True, text=True, timeout=60)
        assert served.returncode == 2 and f"in use by pid {first.pid}" in served.stderr, served.stderr
    finally:
        flag.write_text("")
        _, err = first.communicate(timeout=60)
    assert first.returncode == 1, err  # the waiting client asked nothing: query-1001 unmet
    assert json.loads((files / "mockcti-report" / "summary.json").read_text(encoding="utf-8"))["scenarios"][0]["name"] == "cli-demo"
    assert not lock.exists()  # removed when the run ended: the report directory holds the reports alone
    third = subprocess.run([sys.executable, "-m", "mockcti", "run", "demo.yaml", "--timeout", "1"], cwd=files,
                           capture_output=True, text=True, timeout=60)
    assert third.returncode == 1 and "report in mockcti-report/" in third.stderr, third.stderr


def test_a_later_run_into_the_report_directory_removes_the_earlier_runs_journals_it_did_not_write(files):
    """A CI job's report directory kept the journal of every scenario an earlier run in it had: the new
    summary.json did not name them, the artifacts showed them beside it as if they were this run's. The
    journals the earlier summary.json names are removed; every other file stays."""
    (files / "other.yaml").write_text(SCENARIO.replace("name: cli-demo", "name: other-demo"))
    report = files / "report"
    assert mockcti_run(files, str(files / "demo.yaml"), str(files / "other.yaml"), client="1001 0").returncode == 0
    assert {p.name for p in report.glob("*.jsonl")} == {"cli-demo.jsonl", "other-demo.jsonl"}
    (report / "notes.jsonl").write_text("{}\n")  # not a journal a run wrote: kept
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in report.glob("*.jsonl")} == {"cli-demo.jsonl", "notes.jsonl"}
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert [sc["journal"] for sc in summary["scenarios"]] == ["cli-demo.jsonl"]


def test_an_earlier_runs_journal_that_cannot_be_removed_is_named_and_exits_2(files):
    """The journal of an earlier run that cannot be removed (here a directory of its name; a file without
    permission alike) stays beside the new reports as if it were this run's: one line names it and why, the
    other reports are written, and the run exits 2 as for a report file that cannot be written (it exited 0,
    the stale journal in the CI artifacts)."""
    (files / "other.yaml").write_text(SCENARIO.replace("name: cli-demo", "name: other-demo"))
    report = files / "report"
    assert mockcti_run(files, str(files / "demo.yaml"), str(files / "other.yaml"), client="1001 0").returncode == 0
    (report / "other-demo.jsonl").unlink()
    (report / "other-demo.jsonl").mkdir()
    (report / "other-demo.jsonl" / "x").write_text("")
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 0")
    assert r.returncode == 2, r.stderr
    assert (f"mockcti run: --report {report}: cannot remove {report / 'other-demo.jsonl'}, the journal of an "
            f"earlier run this one did not run (it would read as this run's): Is a directory\n") in r.stderr
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] and [sc["journal"] for sc in summary["scenarios"]] == ["cli-demo.jsonl"]


def test_without_sigkill_and_killpg_run_and_fuzz_stop_their_clients(tmp_path, monkeypatch, capsys):
    """Where the platform has neither SIGKILL nor process groups (Windows), `mockcti run` stops its client
    with the process's own terminate/kill: a reference to signal.SIGKILL was an AttributeError after every
    client that exited on its own (a traceback and no report). The fuzzer's client is stopped the same way."""
    import signal as signal_module

    from mockcti.cli import main
    from mockcti.testing.fuzz import _SubprocessClient

    monkeypatch.delattr(signal_module, "SIGKILL")
    monkeypatch.delattr(os, "killpg")
    (tmp_path / "s.yaml").write_text("name: quick\nexpect:\n  - {message: OPEN_REQ, min: 0}\n")
    client = shlex.join([sys.executable, "-c", "pass"])
    report = tmp_path / "rep"
    assert main(["run", str(tmp_path / "s.yaml"), "--client-cmd", client, "--timeout", "20",
                 "--report", str(report)]) == 0, capsys.readouterr().err
    assert json.loads((report / "summary.json").read_text(encoding="utf-8"))["passed"]
    fuzzed = _SubprocessClient(shlex.join([sys.executable, "-c", "import time; time.sleep(60)"]), "127.0.0.1", 1)
    try:
        fuzzed.start()
        fuzzed.stop()
        assert fuzzed.proc.poll() is not None
    finally:
        fuzzed.close()


def test_an_empty_report_option_is_bad_usage(tmp_path, monkeypatch, capsys):
    """--report '' (an unset CI variable: --report "$DIR") wrote summary.json, junit.xml and the journals into
    the working directory, a checkout's root, and removed the journals an earlier summary.json there named."""
    from mockcti.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("name: quick\nexpect:\n  - {message: OPEN_REQ, min: 0}\n")
    assert main(["run", "s.yaml", "--timeout", "0.2", "--report", ""]) == 2
    assert capsys.readouterr().err == ('mockcti run: --report is empty: give the directory the reports are written '
                                       'to (an unset variable in --report "$DIR"?); without the option they go to '
                                       'mockcti-report/\n')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def _run_signalled_at(tmp_path, where: str, sig: str, *argv: str) -> subprocess.CompletedProcess:
    """``mockcti run ARGV`` in a subprocess (Ctrl-C as in a terminal) in which ``sig`` is raised once ``where`` (a
    function of mockcti.report the run calls: ``claim_report_dir`` before any scenario, ``junit_xml`` once every
    scenario has run) has returned: the signal lands at that point, every time (no timing decides it)."""
    driver = tmp_path / "signalled_run.py"
    driver.write_text(textwrap.dedent(f"""\
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import mockcti.report as report
        real = report.{where}

        def {where}(*args, **kwargs):
            result = real(*args, **kwargs)
            signal.raise_signal(signal.{sig})
            return result

        report.{where} = {where}
        from mockcti.cli import main
        sys.exit(main(sys.argv[1:]))
        """))
    return subprocess.run([sys.executable, str(driver), "run", *argv], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_before_the_first_scenario_writes_the_report_of_a_run_that_ran_nothing(tmp_path, sig):
    """SIGINT/SIGTERM once the report directory was claimed but before the loop's handlers were in place raised
    there: exit 130/143 without a word, an empty report directory and its lock file left behind. Now it is
    recorded: no scenario runs, the report says so (interrupted, every scenario not_run), the lock is gone."""
    import signal

    (tmp_path / "s.yaml").write_text("name: s\nexpect: [{message: OPEN_REQ}]\nend: {after: 600}\n")
    r = _run_signalled_at(tmp_path, "claim_report_dir", sig, "s.yaml", "--timeout", "120", "--report", "rep")
    assert r.returncode == 128 + getattr(signal, sig), r.stderr
    assert "Traceback" not in r.stderr and f"mockcti run: {sig}: stopping the client and the server" in r.stderr
    assert "0/0 scenario(s) passed, 1 not run; report in rep/" in r.stderr, r.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] == sig and summary["not_run"] == ["s.yaml"] and summary["passed"] is False
    ET.parse(tmp_path / "rep" / "junit.xml")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["junit.xml", "summary.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_reports_are_written_leaves_them_whole(tmp_path, sig):
    """Once every scenario had run, asyncio had removed the run's handlers (SIGTERM back to its default action):
    a SIGTERM while summary.json and junit.xml were written killed mockcti run (no junit.xml, the lock file left),
    a Ctrl-C raised there (no junit.xml, exit 130, not a word). Now the reports are written whole, the exit
    status is the run's (the run had ended: nothing was stopped), and a line says the signal came then."""
    (tmp_path / "s.yaml").write_text("name: s\nexpect: [{message: OPEN_REQ}]\nend: {after: 600}\n")
    r = _run_signalled_at(tmp_path, "junit_xml", sig, "s.yaml", "--timeout", "0.2", "--report", "rep")
    assert r.returncode == 1, r.stderr  # (the expectation unmet: the run's verdict)
    assert "Traceback" not in r.stderr
    assert f"mockcti run: {sig} came once every scenario had run: the reports and the exit status are the run's" \
        in r.stderr, r.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is None and [s["end"] for s in summary["scenarios"]] == ["timeout after 0.2 s"]
    ET.parse(tmp_path / "rep" / "junit.xml")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["junit.xml", "s.jsonl", "summary.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_scenario_files_are_read_says_nothing_ran(tmp_path, sig):
    """Ctrl-C or SIGTERM while the scenario files were read (before the report directory is touched) ended the run
    with status 130/143 and not a word: no report, and nothing said why. Now one line says that no scenario ran and
    no report was written (the directory is left as it was)."""
    import signal

    (tmp_path / "s.yaml").write_text("name: s\nexpect: [{message: OPEN_REQ}]\nend: {after: 600}\n")
    driver = tmp_path / "signalled_load.py"
    driver.write_text(textwrap.dedent(f"""\
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import mockcti.scenario.loader as loader
        real = loader.load_scenario

        def load_scenario(*args, **kwargs):
            signal.raise_signal(signal.{sig})
            return real(*args, **kwargs)

        loader.load_scenario = load_scenario
        from mockcti.cli import main
        sys.exit(main(sys.argv[1:]))
        """))
    r = subprocess.run([sys.executable, str(driver), "run", "s.yaml", "--report", "rep"], capture_output=True,
                       text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 128 + getattr(signal, sig)
    assert r.stderr == (f"mockcti run: {sig}: stopped before any scenario ran (the scenario files were read, the "
                        "options checked); no report written\n")
    assert not (tmp_path / "rep").exists()


# A client that opens an agent session, sends ARGV[1] heartbeats (each answered) and closes: a long journal.
_CHATTY = PRELUDE + """\
s.sendall(open_req(1, "cli"))
while read_one().TYPE.name != "OPEN_CONF":
    pass
for i in range(int(sys.argv[1])):
    s.sendall(encode(W.HeartbeatReq(invoke_id=10 + i), D))
    while read_one().TYPE.name != "HEARTBEAT_CONF":
        pass
s.sendall(encode(W.CloseReq(invoke_id=5), D))
while read_one().TYPE.name != "CLOSE_CONF":
    pass
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_journal_that_cannot_be_written_whole_leaves_no_file_read_as_whole(tmp_path):
    """A scenario's journal was written in place: a write that failed part-way (here the file size limit a disk
    filling up stands for: summary.json and junit.xml fit, the journal does not) left the first 32 KiB of it,
    its last line cut, as the run's journal, beside a summary.json naming it. It is written beside and renamed
    over, as summary.json and junit.xml are: no file of that name is left (not a truncated one, nor the earlier
    run's whole one, which would read as this run's), summary.json names no journal for that scenario, a line
    says which file could not be written, and the run exits 2."""
    import resource

    (tmp_path / "chatty.yaml").write_text("name: chatty\nend: {after: 30, when: disconnect}\n")
    (tmp_path / "chatty.py").write_text(_CHATTY)
    report = tmp_path / "rep"

    def run(limit: int | None) -> subprocess.CompletedProcess:
        def limited() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        cmd = [sys.executable, "-m", "mockcti", "run", "chatty.yaml", "--timeout", "30", "--report", "rep",
               "--client-cmd", shlex.join([sys.executable, "chatty.py", "300"])]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, preexec_fn=limited)

    first = run(None)
    assert first.returncode == 0, first.stderr
    assert (report / "chatty.jsonl").stat().st_size > 64 * 1024  # (300 heartbeats: bigger than the limit below)
    r = run(32 * 1024)
    assert r.returncode == 2, r.stderr
    assert "mockcti run: --report rep: cannot write rep/chatty.jsonl: File too large\n" in r.stderr, r.stderr
    assert sorted(p.name for p in report.iterdir()) == ["junit.xml", "summary.json"]  # (no temporary file either)
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["journal"]) for s in summary["scenarios"]] == [("chatty", None)]
    # the next run writes it again
    again = run(None)
    assert again.returncode == 0, again.stderr
    lines = (report / "chatty.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 600 and all(json.loads(line) for line in lines)


# A client that sends a HEARTBEAT_REQ before its OPEN_REQ (a desktop that starts its heartbeat timer at connect),
# then opens and closes properly.
HEARTBEAT_FIRST = PRELUDE + """\
s.sendall(encode(W.HeartbeatReq(invoke_id=7), D))
print("answered", read_one(), flush=True)
s.sendall(encode(W.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=1,
                           agent_id="1001", agent_instrument="3001", agent_extension="3001", client_id="hb"), D))
while read_one().TYPE.name != "OPEN_CONF":
    pass
s.sendall(encode(W.CloseReq(invoke_id=2), D))
while read_one().TYPE.name != "CLOSE_CONF":
    pass
"""


def test_a_violation_names_the_answer_the_client_got_and_its_journal_entry(tmp_path):
    """A CI user reading the report finds, for each violation, what the server answered (the E_CTI status it
    is catalogued with) and the journal entry, in the terminal, junit.xml and summary.json alike: the
    terminal said only `VIOLATION PROTO-OPEN-FIRST: HEARTBEAT_REQ before OPEN_REQ`."""
    (tmp_path / "s.yaml").write_text("name: hb-first\nend: {after: 20, when: disconnect}\n")
    (tmp_path / "client.py").write_text(HEARTBEAT_FIRST)
    cmd = [sys.executable, "-m", "mockcti", "run", "s.yaml", "--timeout", "30", "--report", "rep",
           "--client-cmd", shlex.join([sys.executable, "client.py"])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    journal = [json.loads(line) for line in (tmp_path / "rep" / "hb-first.jsonl").read_text(encoding="utf-8").splitlines()]
    (entry,) = [e for e in journal if e["kind"] == "violation"]
    seq = entry["seq"]
    answer = "FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)"
    assert entry["rule"] == "PROTO-OPEN-FIRST" and entry["answer"] == answer
    refs = f"; answered {answer} [journal hb-first.jsonl seq {seq}]"
    assert f"  VIOLATION PROTO-OPEN-FIRST: HEARTBEAT_REQ before OPEN_REQ (session 1){refs}" in r.stderr.splitlines()
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    (v,) = summary["violations"]
    assert (v["answer"], v["journal"], v["seq"]) == (answer, "hb-first.jsonl", seq)
    root = ET.parse(tmp_path / "rep" / "junit.xml").getroot()
    (case,) = [c for c in root.iter("testcase") if c.get("name", "").startswith("PROTO-OPEN-FIRST:")]
    assert case.find("failure").text.endswith(f"(HEARTBEAT_REQ): HEARTBEAT_REQ before OPEN_REQ{refs}")


def test_end_when_disconnect_ends_once_the_client_closed_with_close_req(tmp_path):
    """``end: {when: disconnect}`` and a client that says goodbye as it should (CLOSE_REQ, CLOSE_CONF, the
    server closes the connection): the scenario ends then, "the client disconnected". It ended only for a
    client that left without CLOSE_REQ (a PROTO-NO-CLOSE violation); a polite one — a desktop driven by hand
    against `mockcti run` with no --client-cmd, or `mockcti serve --scenario` — ran on until `after`."""
    import asyncio

    from mockcti.client import CTIClient
    from mockcti.runner import run_scenario

    (tmp_path / "s.yaml").write_text("name: polite\nexpect:\n  - {message: CLOSE_REQ, times: 1}\n"
                                     "end: {when: disconnect, after: 8}\n")
    async def driver(server):
        c = await CTIClient.connect(server.host, server.port, timeout=3)
        await c.open_agent(agent_id="1001", instrument="3001", timeout=3, heartbeat=0)
        await c.close(timeout=3)
        await asyncio.sleep(30)  # the client goes on running (not what ends the scenario)

    async def run():
        started = asyncio.get_running_loop().time()
        r = await run_scenario(tmp_path / "s.yaml", on_started=driver, timeout=20)
        return r, asyncio.get_running_loop().time() - started

    run_, took = asyncio.run(run())
    assert run_.end_reason == "the client disconnected", run_.end_reason
    assert run_.exit_code == 0 and run_.summary["violations"] == []
    assert took < 5


def test_the_listening_line_of_a_repeated_scenario_name_says_which_load(tmp_path):
    """`mockcti run a.yaml a.yaml`: the PASS line said "A (2nd load)" but the second "listening on" line just "A",
    so the two lines of one run did not name it alike."""
    (tmp_path / "a.yaml").write_text("name: A\nend: {after: 0.1}\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "a.yaml", "a.yaml", "--timeout", "5", "--report", "rep"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    listening = [line.split(": listening on")[0] for line in r.stderr.splitlines() if ": listening on " in line]
    assert listening == ["scenario A", "scenario A (2nd load)"], r.stderr
    assert "PASS A (2nd load) " in r.stderr, r.stderr
