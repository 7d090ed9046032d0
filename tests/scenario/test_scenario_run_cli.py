"""``mockcti run`` end to end: a real server, a client under test started as a subprocess with
CTI_HOST/CTI_PORT, exit codes 0/1/2/3, the near miss printed, and the report files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

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
CLIENT = """\
import os, socket, sys
from mockcti.wire import Dialect, FrameBuffer, decode, encode, messages as W

D = Dialect.uccx(14)
agent, status = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((os.environ["CTI_HOST"], int(os.environ["CTI_PORT"])), timeout=10)
fb = FrameBuffer()

def read_one():
    while True:
        frames = fb.feed(s.recv(4096) or b"")
        if frames:
            return decode(frames[0], D)

s.sendall(encode(W.OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=7,
                           call_msg_mask=0, agent_state_mask=0, client_id="cli", client_password=b"",
                           agent_extension="3001", agent_instrument="3001", agent_id="1001"), D))
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


def mockcti_run(tmp: Path, *args: str, client: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mockcti", "run", *args, "--report", str(tmp / "report"), "--timeout", "20"]
    if client is not None:
        cmd += ["--client-cmd", f"{sys.executable} {tmp / 'client.py'} {client}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp)


def test_passing_client_exits_0_and_writes_the_reports(files):
    r = mockcti_run(files, str(files / "demo.yaml"), "--json", client="1001 0")
    assert r.returncode == 0, r.stderr
    assert "PASS cli-demo" in r.stderr and "ok   query-1001" in r.stderr
    assert "listening on 127.0.0.1:" in r.stderr and "(seed 11)" in r.stderr
    printed = json.loads(r.stdout)
    summary = json.loads((files / "report" / "summary.json").read_text())
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
    journal = (files / "report" / "cli-demo.jsonl").read_text().splitlines()
    assert journal and all(json.loads(line) for line in journal)
    assert "QUERY_AGENT_STATE_REQ" in "\n".join(journal) and "asked for 1001" in "\n".join(journal)


def test_misbehaving_client_exits_1_with_the_near_miss(files):
    r = mockcti_run(files, str(files / "demo.yaml"), client="1003 0")
    assert r.returncode == 1, r.stderr
    assert "FAIL cli-demo" in r.stderr
    assert "MISS query-1001: QUERY_AGENT_STATE_REQ: expected 1+ time(s), received 0" in r.stderr
    assert "near miss: closest: QUERY_AGENT_STATE_REQ" in r.stderr
    assert "agent_id equals '1001' failed: got '1003'" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text())
    assert summary["passed"] is False and summary["scenarios"][0]["exit_code"] == 1
    (exp,) = summary["expectations"]
    assert exp["met"] is False and "got '1003'" in exp["near_miss"]
    root = ET.parse(files / "report" / "junit.xml").getroot()
    failures = list(root.iter("failure"))
    assert failures and any("got '1003'" in (f.get("message", "") + (f.text or "")) for f in failures)


def test_client_exiting_non_zero_exits_3(files):
    r = mockcti_run(files, str(files / "demo.yaml"), client="1001 7")
    assert r.returncode == 3, r.stderr
    assert "client exited with status 7" in r.stderr
    summary = json.loads((files / "report" / "summary.json").read_text())
    assert summary["scenarios"][0]["client_exit"] == 7 and summary["scenarios"][0]["exit_code"] == 3


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
    import time

    (tmp_path / "noend.yaml").write_text("name: noend\nend: {after: 600}\n")
    pidfile = tmp_path / "pid"
    (tmp_path / "hang.py").write_text(
        "import os, sys, time\n"
        f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n")
    cmd = [sys.executable, "-m", "mockcti", "run", "noend.yaml", "--timeout", "2", "--report", "rep",
           "--client-cmd", f"{sys.executable} hang.py"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    took = time.monotonic() - t0
    assert "timeout after 2 s" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert took < 12, took  # 2 s of run, not 2 + 5 + 5 waiting for an orphan's output
    pid = int(pidfile.read_text())
    for _ in range(50):  # gone (or a zombie reaped by init) within a few seconds
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the client {pid} outlived the run")


def test_report_files_survive_what_scenario_names_and_clients_hold(tmp_path):
    """A scenario name is not a path (it used to be: "../x" wrote outside --report, "a/b" crashed);
    two scenarios with one name keep both journals; a control character in the name keeps junit.xml
    well-formed; summary.json says which file each scenario came from."""
    for i, name in enumerate(["../escaped", "sub/dir", "sub/dir", "ctl\x01name"]):
        (tmp_path / f"s{i}.yaml").write_text(f"name: {json.dumps(name)}\nend: {{after: 0.2}}\n")
    cmd = [sys.executable, "-m", "mockcti", "run", *(f"s{i}.yaml" for i in range(4)), "--timeout", "5",
           "--report", "rep"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "escaped.jsonl").exists()
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [
        "ctl_name.jsonl", "escaped.jsonl", "junit.xml", "sub_dir-2.jsonl", "sub_dir.jsonl", "summary.json"]
    ET.parse(tmp_path / "rep" / "junit.xml")  # well-formed
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert [(s["file"], s["journal"]) for s in summary["scenarios"]] == [
        ("s0.yaml", "escaped.jsonl"), ("s1.yaml", "sub_dir.jsonl"), ("s2.yaml", "sub_dir-2.jsonl"),
        ("s3.yaml", "ctl_name.jsonl")]


def test_shipped_scenario_runs_with_a_retrying_client(tmp_path):
    """scenarios/hold-fails-with-ctierr.yaml: the first hold is refused with CTIERR_HOLDFAILED, the
    client holds again and the center answers."""
    root = Path(__file__).resolve().parents[2]
    client = tmp_path / "retry.py"
    client.write_text(textwrap.dedent("""\
        import os, socket, sys
        from mockcti.wire import Dialect, FrameBuffer, decode, encode, messages as W

        D = Dialect.uccx(14)
        s = socket.create_connection((os.environ["CTI_HOST"], int(os.environ["CTI_PORT"])), timeout=10)
        fb = FrameBuffer()
        pending = []

        def read_one():
            while not pending:
                pending.extend(decode(f, D) for f in fb.feed(s.recv(4096) or b""))
            return pending.pop(0)

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
           "--client-cmd", f"{sys.executable} {client}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
