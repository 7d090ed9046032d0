"""Reports: the JSON summary, the JUnit XML CI servers read, and the terminal table."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mockcti.journal import Journal, JsonLinesSink
from mockcti.report import Expectation, build_summary, junit_xml, terminal_table, write_reports
from mockcti.session import RULES
from processes import reap  # tests/support


def run_journal() -> Journal:
    j = Journal()
    j.record("connect", 0.0, 1, peer="127.0.0.1:5000")
    j.record("violation", 0.5, 1, rule="PROTO-OPEN-FIRST", detail="HEARTBEAT_REQ before OPEN_REQ",
             explanation=RULES["PROTO-OPEN-FIRST"].explanation)
    j.record("violation", 0.7, 1, rule="PROTO-OPEN-FIRST", detail="CLOSE_REQ before OPEN_REQ",
             explanation=RULES["PROTO-OPEN-FIRST"].explanation)
    j.record("violation", 1.0, 1, rule="ACD-HOLD-4", detail="Hold in Idle", code=1128,
             code_name="ACD_HOLD_BAD_STATE", code_text="...")
    j.record("fault", 1.2, 1, fault="garbage bytes")
    j.record("close", 2.0, 1, reason="peer closed")
    return j



def _serve(*args: str) -> tuple[subprocess.Popen, int]:
    """``mockcti serve --port 0 --log-level error ARGS`` in a subprocess, once it listens: the process and its port
    (no message trace; not --quiet, which leaves out the report's table too: errors only)."""
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--log-level", "error", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mockcti listening on 127.0.0.1:"), line + proc.stderr.read()
    except BaseException:
        reap(proc)
        raise
    return proc, int(line.split()[3].split(":")[1])


def _sigterm(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM to a ``mockcti serve`` subprocess: its exit status and what it printed on stderr."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(20), proc.stderr.read()


def test_summary_counts_and_verdict():
    s = build_summary(run_journal(), expectations=[Expectation("login", "OPEN_REQ arrives", True)], seed=7)
    assert s["counts"]["violations"] == 3 and s["counts"]["faults"] == 1
    assert s["violations_by_rule"] == {"PROTO-OPEN-FIRST": 2, "ACD-HOLD-4": 1}
    assert s["seed"] == 7 and s["passed"] is False
    clean = build_summary(Journal(), expectations=[Expectation("x", "y", True)])
    assert clean["passed"] is True
    assert build_summary(Journal(), expectations=[Expectation("x", "y", False)])["passed"] is False


def test_junit_structure_ci_servers_read():
    s = build_summary(run_journal(), expectations=[
        Expectation("login", "OPEN_REQ arrives", True),
        Expectation("login", "CLOSE_REQ arrives", False, "never matched", "HEARTBEAT_REQ: type differs")])
    root = ET.fromstring(junit_xml(s))
    assert root.tag == "testsuites"
    suites = {su.get("name"): su for su in root.findall("testsuite")}
    assert "mockcti.protocol" in suites and "mockcti.scenario.login" in suites
    proto = suites["mockcti.protocol"]
    cases = proto.findall("testcase")
    # one test case per conduct rule
    assert len(cases) == len(RULES) == int(proto.get("tests"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name").split(":")[0] for c in failed] == ["PROTO-OPEN-FIRST"]
    assert int(proto.get("failures")) == 1
    fail = failed[0].find("failure")
    assert fail.get("type") == "PROTO-OPEN-FIRST" and "2 violation(s)" in fail.get("message")
    assert "HEARTBEAT_REQ before OPEN_REQ" in fail.text and "CLOSE_REQ before OPEN_REQ" in fail.text
    # a rule seen in the run that no catalog lists still gets its case
    all_names = [c.get("name") for su in root.findall("testsuite") for c in su.findall("testcase")]
    assert any(n.startswith("ACD-HOLD-4") for n in all_names)
    scen = suites["mockcti.scenario.login"]
    assert scen.get("tests") == "2" and scen.get("failures") == "1"
    unmet = [c for c in scen.findall("testcase") if c.find("failure") is not None][0]
    assert unmet.get("name") == "CLOSE_REQ arrives" and "type differs" in unmet.find("failure").text
    assert int(root.get("tests")) == sum(int(su.get("tests")) for su in root.findall("testsuite"))
    assert int(root.get("failures")) == sum(int(su.get("failures")) for su in root.findall("testsuite"))


def test_a_violation_line_shows_the_code_and_its_text_only_when_given():
    j = Journal()
    j.record("violation", 1.0, 1, rule="ACD-1128", detail="Hold in Idle", code=1128, code_name="ACD_HOLD_BAD_STATE")
    j.record("violation", 2.0, 1, rule="ACD-1132", detail="Retrieve in Idle", code=1132,
             code_name="ACD_RETRIEVE_BAD_STATE", code_text="Retrieve: the ACD state is wrong.")
    text = "\n".join(f.text for f in ET.fromstring(junit_xml(build_summary(j))).iter("failure"))
    assert "Hold in Idle [code 1128 ACD_HOLD_BAD_STATE]" in text
    assert "Retrieve in Idle [code 1132 ACD_RETRIEVE_BAD_STATE: Retrieve: the ACD state is wrong.]" in text


def test_terminal_table_lists_rules_and_expectations():
    s = build_summary(run_journal(), expectations=[Expectation("login", "CLOSE_REQ arrives", False, "never")])
    text = terminal_table(s)
    assert "PROTO-OPEN-FIRST" in text and "FAIL login: CLOSE_REQ arrives" in text and text.endswith("FAILED")


def test_write_reports_and_jsonl_sink(tmp_path):
    j = Journal()
    stream = open(tmp_path / "journal.jsonl", "w")
    j.add_sink(JsonLinesSink(stream))
    j.record("violation", 0.1, 1, rule="PROTO-NO-CLOSE", detail="gone")
    # flushed per entry: readable before the file is closed
    line = (tmp_path / "journal.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line)["rule"] == "PROTO-NO-CLOSE"
    stream.close()
    paths = write_reports(j, tmp_path / "out")
    assert json.loads(paths["summary"].read_text(encoding="utf-8"))["violations_by_rule"] == {"PROTO-NO-CLOSE": 1}
    ET.fromstring(paths["junit"].read_text(encoding="utf-8"))


def test_journal_without_keep_still_keeps_violations():
    j = Journal(keep=False)
    j.record("in", 0.0, 1, message={"type": "HEARTBEAT_REQ"})
    j.record("violation", 0.1, 1, rule="PROTO-NO-CLOSE", detail="x")
    assert len(j.violations()) == 1 and j.counts["in"] == 1 and len(j.entries(kind="in")) == 0


def test_counted_messages_add_up_with_recorded_ones_and_per_session():
    """A quiet server counts messages without rendering them (count_messages); ``counts`` and the
    per-session figures of the report include them, and reading the counts changes nothing."""
    j = Journal(keep=False)
    j.record("connect", 0.0, 1, peer="x")
    j.record("in", 0.0, 1, message={"type": "HEARTBEAT_REQ"})
    j.count_messages("in", 1, 7)
    j.count_messages("out", 1, 5)
    j.count_messages("out", None)
    snapshot = j.counts
    assert (snapshot["in"], snapshot["out"], snapshot["connect"]) == (8, 6, 1)
    snapshot["in"] = 0  # a snapshot: the journal is not changed through it
    assert j.counts["in"] == 8 and j.sessions[1]["in"] == 8 and j.sessions[1]["out"] == 5
    assert build_summary(j)["counts"]["messages_out"] == 6
    j.clear()
    assert j.counts["in"] == j.counts["out"] == 0


def test_journal_message_cap_keeps_the_newest_and_everything_else():
    from mockcti.journal import Journal
    from mockcti.wire.messages import HeartbeatReq

    seen = []
    j = Journal(max_messages=10)
    j.add_sink(seen.append)
    j.record("violation", 0.0, 1, rule="PROTO-X", detail="d", explanation="e")
    for n in range(25):
        j.message("in", float(n), 1, HeartbeatReq(invoke_id=n))
    msgs = j.entries(kind="in")
    assert 5 <= len(msgs) <= 10 and msgs[-1].data["message"]["fields"]["invoke_id"] == 24
    assert [e.seq for e in msgs] == sorted(e.seq for e in msgs) and msgs[-1].seq == j.entries()[-1].seq
    assert len(j.violations()) == 1 and j.counts["in"] == 25 and len(seen) == 26
    assert j.dropped_messages == 25 - len(msgs)


def test_mockcti_serve_report_strict_end_to_end(tmp_path):
    """README: ``mockcti serve --report reports/ --strict`` writes journal.jsonl as things happen,
    summary.json, junit.xml and a table on stderr at shutdown (SIGTERM, as CI runners stop it), and
    exits non-zero because a client broke a rule."""
    import socket
    import time

    from mockcti.wire import Dialect, FrameBuffer, MessageType, decode, encode
    from mockcti.wire.messages import HeartbeatReq

    reports = tmp_path / "reports"
    proc, port = _serve("--report", str(reports), "--strict")
    try:
        d = Dialect.uccx(14)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(encode(HeartbeatReq(invoke_id=4), d))  # before OPEN_REQ: PROTO-OPEN-FIRST
            frames = []
            while not frames:
                frames = FrameBuffer().feed(s.recv(65536))
            reply = decode(frames[0], d)
            assert reply.TYPE is MessageType.FAILURE_CONF and reply.invoke_id == 4
        journal = reports / "journal.jsonl"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # written as it happens, before any shutdown
            if journal.exists() and "PROTO-OPEN-FIRST" in journal.read_text(encoding="utf-8"):
                break
            time.sleep(0.05)
        entries = [json.loads(x) for x in journal.read_text(encoding="utf-8").splitlines()]
        assert any(e["kind"] == "violation" and e["rule"] == "PROTO-OPEN-FIRST" for e in entries)
        status, err = _sigterm(proc)
    finally:
        reap(proc)
    assert status == 1 and "violation(s) recorded (--strict)" in err
    assert "PROTO-OPEN-FIRST" in err and "FAILED" in err  # the summary table
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["violations_by_rule"] == {"PROTO-OPEN-FIRST": 1} and summary["passed"] is False
    failed = [c for c in ET.fromstring((reports / "junit.xml").read_text(encoding="utf-8")).iter("testcase")
              if c.find("failure") is not None]
    assert [c.get("name").split(":")[0] for c in failed] == ["PROTO-OPEN-FIRST"]


def test_an_internal_error_of_the_mock_fails_the_run_in_every_report():
    """An exception out of the mock's core (contained by the server as an "internal error" fault)
    makes the verdict untrustworthy: the summary does not pass, JUnit carries an <error> case and
    the table says so. Scenario faults (injected on purpose) do not fail a run."""
    j = Journal()
    j.record("fault", 0.5, 1, fault="garbage bytes")
    assert build_summary(j)["passed"] is True and build_summary(j)["counts"]["internal_errors"] == 0
    j.record("fault", 1.0, 1, fault="internal error", where="receive", error="RuntimeError: engine bug")
    s = build_summary(j)
    assert s["passed"] is False and s["counts"]["internal_errors"] == 1
    root = ET.fromstring(junit_xml(s))
    assert root.get("errors") == "1"
    (suite,) = [su for su in root.findall("testsuite") if su.get("name") == "mockcti.internal"]
    err = suite.find("testcase").find("error")
    assert suite.get("errors") == "1" and "RuntimeError: engine bug" in err.text and "receive" in err.text
    assert int(root.get("tests")) == sum(int(su.get("tests")) for su in root.findall("testsuite"))
    text = terminal_table(s)
    assert "INTERNAL ERROR in mockcti (receive; please report it): RuntimeError: engine bug" in text
    assert text.endswith("FAILED")


def test_bytes_a_client_sent_that_are_not_utf8_keep_every_report_valid(tmp_path):
    """The codec keeps a client's non-UTF-8 bytes as lone surrogates; writing them to the JSON Lines
    journal raised (under `serve --report` an internal error of the hub, the client got no answer)
    and `mockcti run` lost summary.json and junit.xml. Now the JSON is escaped instead (valid UTF-8,
    the same strings back) and junit.xml shows them as escapes."""
    import asyncio

    from mockcti.client import CTIClient, RequestFailed
    from mockcti.server import MockServer, ServerConfig

    async def go():
        server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
        with open(tmp_path / "journal.jsonl", "w", encoding="utf-8") as fh:
            sink = JsonLinesSink(fh)
            server.journal.add_sink(sink)
            c = await CTIClient.connect(server.host, server.port, version=14)
            try:
                await c.open_agent(agent_id="10\udcff1", heartbeat=0)  # 0xFF on the wire
            except RequestFailed as exc:  # unknown agent: refused, but answered
                assert exc.reply.TYPE.name == "FAILURE_CONF"
            await c.close()
            await server.stop()
            server.journal.remove_sink(sink)
        return server

    server = asyncio.run(go())
    assert server.internal_errors == 0
    lines = (tmp_path / "journal.jsonl").read_bytes().decode("utf-8").splitlines()
    ins = [json.loads(line) for line in lines if json.loads(line)["kind"] == "in"]
    assert ins[0]["message"]["fields"]["agent_id"] == "10\udcff1"  # the same string back
    server.journal.record("violation", 1.0, 1, rule="PROTO-X", detail="agent 10\udcff1\x01")
    paths = write_reports(server.journal, tmp_path / "rep")
    assert "10\\udcff1" in paths["summary"].read_bytes().decode("utf-8")
    root = ET.parse(paths["junit"]).getroot()  # well-formed although the detail holds \x01 and \udcff
    assert any("10\\udcff1\\x01" in (f.text or "") + f.get("message", "") for f in root.iter("failure"))


def test_serve_quiet_prints_errors_only_not_the_report_table_nor_the_scenario_s(tmp_path):
    """``serve --quiet`` ("errors only", as run, fuzz and validate): the listening line (the address to connect
    to) and nothing else; the --report table and the --scenario expectations went to stderr all the same. The
    report files are written, and the exit status is the verdict."""
    (tmp_path / "s.yaml").write_text("name: wants-a-query\nexpect:\n  - {id: asked, message: QUERY_AGENT_STATE_REQ}\n")
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--quiet", "--strict",
                             "--report", str(reports), "--scenario", str(tmp_path / "s.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("mockcti listening on 127.0.0.1:")
        status, err = _sigterm(proc)
        out = proc.stdout.read()
    finally:
        reap(proc)
    assert (status, out, err) == (1, "", "")  # --strict: the unmet expectation
    assert json.loads((reports / "summary.json").read_text(encoding="utf-8"))["passed"] is False


def test_mockcti_serve_report_carries_the_served_scenarios_expectations(tmp_path):
    """``serve --scenario F --report DIR``: the report's verdict includes the scenario's
    expectations (it said PASSED with "expectations": [] while stderr printed MISS)."""

    (tmp_path / "s.yaml").write_text("name: wants-a-query\nseed: 7\n"
                                     "expect:\n  - {id: asked, message: QUERY_AGENT_STATE_REQ}\n")
    reports = tmp_path / "reports"
    proc, _ = _serve("--report", str(reports), "--scenario", str(tmp_path / "s.yaml"))
    try:
        _, err = _sigterm(proc)
    finally:
        reap(proc)
    assert "MISS asked" in err and "FAILED" in err
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert [(e["name"], e["met"]) for e in summary["expectations"]] == [("asked", False)]
    assert summary["passed"] is False
    assert summary["seed"] == 7  # the scenario's seed, the one the run used (it said --seed's default, 0)
    root = ET.parse(reports / "junit.xml").getroot()
    assert int(root.get("failures")) >= 1


def test_every_report_names_the_scenario_file_and_line_of_an_unmet_expectation(tmp_path):
    """README: every error names the file and the line. An unmet expectation, a step still waiting
    and expect_order are reported with where the scenario states them — an included file's name for
    what it holds — in summary.json (file, line, where), junit.xml (the failure's message) and the
    terminal table; they only named the scenario and an id."""
    from mockcti.scenario import load_scenario
    from mockcti.scenario.engine import ScenarioEngine

    (tmp_path / "common.yaml").write_text("expect:\n  - {id: closes, message: CLOSE_REQ}\n")
    (tmp_path / "main.yaml").write_text(
        "name: located\n"
        "include: [common.yaml]\n"
        "steps:\n"
        "  - {id: opened, expect: {message: OPEN_REQ}}\n"
        "expect:\n"
        "  - {message: HOLD_CALL_REQ}\n"
        "expect_order: true\n")
    main, common = str(tmp_path / "main.yaml"), str(tmp_path / "common.yaml")
    exps = ScenarioEngine(load_scenario(main)).verify(0.0)
    s = build_summary(Journal(), expectations=exps)
    where = {e["name"]: (e["file"], e["line"], e["where"]) for e in s["expectations"]}
    assert where == {"closes": (common, 2, f"{common}:2"), "expect2": (main, 6, f"{main}:6"),
                     "expect_order": (main, 7, f"{main}:7"), "step opened": (main, 4, f"{main}:4")}
    assert json.loads(json.dumps(s))["expectations"] == s["expectations"]

    suite = next(su for su in ET.fromstring(junit_xml(s)).findall("testsuite")
                 if su.get("name") == "mockcti.scenario.located")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert (cases["expect2"].get("file"), cases["expect2"].get("line")) == (None, None)  # (not in Jenkins' XSD)
    assert cases["expect2"].find("failure").get("message") == \
        f"{main}:6: HOLD_CALL_REQ: expected 1+ time(s), received 0"
    assert cases["closes"].find("failure").get("message").startswith(f"{common}:2: CLOSE_REQ")
    assert cases["step opened"].find("failure").text.startswith(f"{main}:4: still waiting for OPEN_REQ")
    assert cases["expect_order"].find("failure") is None

    lines = terminal_table(s).splitlines()
    i = lines.index("  FAIL located: expect2 — HOLD_CALL_REQ: expected 1+ time(s), received 0")
    assert lines[i + 1] == f"       at {main}:6"


def test_an_expectation_without_a_location_reports_none():
    """Built in code (not read from a file) or from an older caller: no file, no line, no "at"."""
    s = build_summary(Journal(), expectations=[Expectation("x", "y", False, "never")])
    (e,) = s["expectations"]
    assert (e["file"], e["line"], e["where"]) == (None, None, None)
    (case,) = [c for c in ET.fromstring(junit_xml(s)).iter("testcase") if c.get("classname") == "mockcti.scenario.x"]
    assert case.get("file") is None and case.find("failure").get("message") == "never"
    assert " at " not in terminal_table(s)


def test_reports_are_utf8_whatever_the_locale(tmp_path):
    """junit.xml declares UTF-8 but was written in the locale's encoding: in an ASCII locale (or
    cp1252) a report holding a "§" of a rule's explanation or a client's non-ASCII text raised
    UnicodeEncodeError and no junit.xml was written."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "from mockcti.journal import Journal\n"
            "from mockcti.report import write_reports\n"
            "j = Journal()\n"
            "j.record('violation', 0.0, 1, rule='PROTO-OPEN-FIRST', detail='agent J\\u00fcrgen \\u5f20')\n"
            "write_reports(j, sys.argv[1])\n")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "rep")], capture_output=True, text=True,
                       env=env, cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert r.returncode == 0, r.stderr
    raw = (tmp_path / "rep" / "junit.xml").read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    (failure,) = ET.fromstring(raw).iter("failure")
    assert "J\u00fcrgen \u5f20" in failure.text and "\u00a7" in failure.get("message")


def test_a_journal_stream_that_fails_is_left_and_named_once():
    """A full disk under the JSON Lines journal: the sink stops writing and says so once; the
    journal keeps recording (it raised out of Journal.record, into the server)."""

    class Full:
        writes = 0

        def write(self, text):
            Full.writes += 1
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

    errors = []
    sink = JsonLinesSink(Full(), on_error=errors.append)
    j = Journal()
    j.add_sink(sink)
    for n in range(3):
        j.record("violation", float(n), 1, rule="PROTO-NO-CLOSE", detail="gone")
    assert [e.strerror for e in errors] == ["No space left on device"] and sink.error is errors[0]
    assert Full.writes == 1 and len(j.violations()) == 3


def _serve_with_report(reports, *, full: str):
    """``serve --report reports`` with reports/<full> on /dev/full (a disk that is full): a client
    opens and closes; returns (exit status, stderr, the client's OPEN reply type)."""
    import os
    import socket

    from mockcti.wire import Dialect, FrameBuffer, decode, encode
    from mockcti.wire.messages import CloseReq, OpenReq

    reports.mkdir()
    os.symlink("/dev/full", reports / full)
    proc, port = _serve("--report", str(reports))
    try:
        d = Dialect.uccx(14)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=7,
                                     call_msg_mask=0, agent_state_mask=0, client_id="c", client_password=b"",
                                     agent_id="1001", agent_instrument="3001", agent_extension="3001"), d))
            fb, frames = FrameBuffer(), []
            while not frames:
                frames = fb.feed(s.recv(65536))
            reply = decode(frames[0], d).TYPE.name
            s.sendall(encode(CloseReq(invoke_id=2), d))
            while s.recv(65536):
                pass
        status, err = _sigterm(proc)
    finally:
        reap(proc)
    return status, err, reply


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_serve_report_on_a_full_disk_serves_on_and_says_which_file(tmp_path):
    """journal.jsonl cannot be written: every connection failed (the sink's OSError out of the hub:
    the client got no OPEN_CONF) and shutdown ended in a traceback. Now the client is served, one
    line names the file, summary.json and junit.xml are written, and serve exits 2."""
    status, err, reply = _serve_with_report(tmp_path / "rep", full="journal.jsonl")
    assert reply == "OPEN_CONF"
    assert "Traceback" not in err and status == 2, err
    assert err.count(f"mockcti serve: --report {tmp_path / 'rep'}: cannot write {tmp_path / 'rep' / 'journal.jsonl'}: "
                     "No space left on device") == 1
    assert json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))["counts"]["connections"] == 1
    ET.parse(tmp_path / "rep" / "junit.xml")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_serve_report_that_cannot_write_junit_names_it_and_exits_2(tmp_path):
    status, err, reply = _serve_with_report(tmp_path / "rep", full="junit.xml")
    assert reply == "OPEN_CONF" and "Traceback" not in err and status == 2, err
    assert f"cannot write the report: [Errno 28] No space left on device: '{tmp_path / 'rep' / 'junit.xml'}'" in err
    assert "PASSED" in err  # the table still follows


def test_a_step_never_reached_is_skipped_in_every_report_not_failed():
    """A scenario step behind the one that failed: <skipped/> in JUnit, "skip" in the tables, counted
    apart in the summary, and not among the unmet entries the pytest plugin and `mockcti run` name."""
    import io

    from mockcti.runner import _print_expectations
    from mockcti.testing.fixtures import format_expectations, unmet

    entries = [Expectation("s", "step open", True, "received OPEN_REQ", file="f.yaml", line=3),
               Expectation("s", "step hb", False, "no matching HEARTBEAT_REQ within 5 s", file="f.yaml", line=5),
               Expectation("s", "step tail", False, "not reached: the flow stopped at step hb", file="f.yaml",
                            line=9, skipped=True)]
    summary = build_summary(Journal(), expectations=entries)
    assert summary["counts"]["expectations_unmet"] == 1 and summary["counts"]["expectations_skipped"] == 1
    assert [e["skipped"] for e in summary["expectations"]] == [False, False, True]
    assert not summary["passed"]
    suite = ET.fromstring(junit_xml(summary, rules={})).find("testsuite[@name='mockcti.scenario.s']")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    tail = suite.find("testcase[@name='step tail']")
    assert tail.find("failure") is None and tail.find("skipped").get("message") == "not reached: the flow stopped at step hb"
    table = terminal_table(summary)
    assert "  skip s: step tail — not reached: the flow stopped at step hb" in table
    assert "at f.yaml:9" not in table and "at f.yaml:5" in table  # only the failure says where to look
    assert unmet(entries) == [entries[1]]
    text = format_expectations(entries)
    assert "  skip  s: step tail - not reached" in text and "f.yaml:9" not in text
    out = io.StringIO()
    _print_expectations(entries, out)
    assert "  skip step tail: not reached: the flow stopped at step hb" in out.getvalue()
    assert "  MISS step hb" in out.getvalue()


#: what Jenkins' junit XSD (xunit-plugin junit-10.xsd, which the xUnit plugin validates against)
#: allows: each element's attributes and child elements
_JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname",
                   "id", "package", "file", "log", "url"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name", "time", "classname", "group"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type", "message"}, set()),
    "error": ({"type", "message"}, set()),
    "skipped": ({"type", "message"}, set()),
    "system-out": (set(), set()),
}


def test_junit_xml_keeps_to_jenkins_junit_xsd():
    """Every expectation's <testcase> carried `file` and `line` attributes, which Jenkins' junit XSD
    does not allow: the xUnit plugin ("not valid … the result file has been skipped") dropped the
    whole junit.xml of any run with a scenario. Now only the XSD's attributes and children are
    written (where the scenario states an expectation stays in the failure's message), and the
    required counts are on every suite and add up."""
    exps = [Expectation("sc", "met", True, "ok", file="a.yaml", line=3),
            Expectation("sc", "unmet", False, "OPEN_REQ: expected 1", near_miss="closest: none", file="a.yaml", line=5),
            Expectation("sc", "step later", False, "not reached", file="a.yaml", line=9, skipped=True)]
    summary = build_summary(Journal(), expectations=exps)
    summary["violations"] = [{"rule": "PROTO-NO-CLOSE", "session": 1, "t": 1.0, "detail": "left"}]
    summary["violations_by_rule"] = {"PROTO-NO-CLOSE": 1}
    summary["faults"] = [{"fault": "internal error", "t": 2.0, "where": "hub", "error": "boom"}]
    summary["counts"]["internal_errors"] = 1
    summary["scenarios"] = [{"name": "sc", "client_exit": 7, "client_output": "out\n", "end": "client exited"}]
    root = ET.fromstring(junit_xml(summary))
    for el in root.iter():
        attrs, children = _JUNIT_10[el.tag]
        assert set(el.attrib) <= attrs, (el.tag, el.attrib)
        assert {c.tag for c in el} <= children, (el.tag, [c.tag for c in el])
    suites = root.findall("testsuite")
    for suite in suites:
        assert {"name", "tests", "failures", "errors"} <= set(suite.attrib)
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        for what in ("failure", "error", "skipped"):
            assert int(suite.get(what + "s" if what != "skipped" else what, 0)) == \
                sum(1 for c in cases if c.find(what) is not None), (suite.get("name"), what)
    for what in ("tests", "failures", "errors"):
        assert int(root.get(what)) == sum(int(s.get(what)) for s in suites), what
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "unmet"]
    assert case.find("failure").get("message").startswith("a.yaml:5: ")


def test_a_report_directory_on_a_file_system_that_cannot_lock_is_written_unlocked(tmp_path, monkeypatch):
    """claim_report_dir (mockcti run, serve --report): only a lock another run holds refuses the directory;
    a file system without locks (ENOLCK, some NFS mounts) is not "in use by another mockcti process"."""
    import errno
    import fcntl

    from mockcti.report import claim_report_dir

    held = claim_report_dir(tmp_path / "held", "mockcti run a.yaml")
    with pytest.raises(OSError, match=r"^\[Errno \d+\] in use by pid \d+ \(mockcti run a.yaml, started "):
        claim_report_dir(tmp_path / "held", "mockcti run b.yaml")
    held.release()
    assert not (tmp_path / "held" / ".mockcti.lock").exists()

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    claim = claim_report_dir(tmp_path / "nfs", "mockcti run a.yaml")
    assert claim.directory == tmp_path / "nfs" and claim.directory.is_dir()
    assert claim.warning() == (f"--report {tmp_path / 'nfs'}: not locked (the file system cannot lock "
                               f"{tmp_path / 'nfs' / '.mockcti.lock'}: No locks available): a run started in "
                               f"parallel into this directory is not refused; give each parallel run its own "
                               f"--report DIR")
    claim.release()
    assert held.warning() is None


def test_without_fcntl_the_cli_runs_unlocked_and_says_so(tmp_path):
    """On a platform with no fcntl (Windows) the CLI imports and `mockcti run` writes its report, unlocked,
    and says so on stderr (the lock was skipped without a word: two parallel runs then overwrote each
    other's reports with nothing to tell why). Simulated: fcntl made unimportable in a subprocess."""
    (tmp_path / "sc.yaml").write_text("name: tiny\nexpect:\n  - {message: OPEN_REQ, min: 0}\n")
    code = ("import sys; sys.modules['fcntl'] = None\n"
            "from mockcti.cli import main\n"
            "sys.exit(main(['run', 'sc.yaml', '--timeout', '0.2', '--report', 'rep']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ("mockcti run: warning: --report rep: not locked (this platform has no flock: the fcntl module is "
            "missing): a run started in parallel into this directory is not refused") in done.stderr
    assert (tmp_path / "rep" / "summary.json").is_file() and (tmp_path / "rep" / "junit.xml").is_file()


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_report_file_that_cannot_be_written_whole_leaves_the_previous_one(tmp_path):
    """A report file was truncated and written in place: a write that failed part-way (here the file size limit,
    as a disk that fills up; a process killed meanwhile alike) left a truncated junit.xml — the previous run's
    report in that directory lost, a CI step parsing it failing on broken XML. It is now written beside and
    renamed over: the error names the file, the previous report is whole, no temporary file is left."""
    good = junit_xml(build_summary(Journal()))
    (tmp_path / "junit.xml").write_text(good, encoding="utf-8")
    child = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from mockcti.report import write_report_file\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
        "try:\n"
        "    write_report_file(Path(sys.argv[1]) / 'junit.xml', '<testsuites>' + '<testcase name=\"x\"/>' * 1000)\n"
        "except OSError as exc:\n"
        "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"[Errno 27] File too large: '{tmp_path / 'junit.xml'}'", done.stdout + done.stderr
    assert (tmp_path / "junit.xml").read_text(encoding="utf-8") == good
    ET.parse(tmp_path / "junit.xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml"]


def test_scenario_suites_come_in_load_order_not_sorted_by_name():
    """JUnit suites were sorted by name: "A (10th load)" came before "A (2nd load)" (and "(older scenarios)",
    "B" before "A" … whatever order they ran in). They come in the order the scenarios were loaded, as the JSON
    report's expectations do: a server's older ones first, then each taken out, then the one in place; a run's in
    the order it ran them (the scenarios of summary["scenarios"], then any other the expectations name)."""
    from mockcti.center import ContactCenter, default_center
    from mockcti.hub import Hub, HubConfig
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.scenario.loader import load_scenario_text

    hub = Hub(ContactCenter(default_center()), config=HubConfig(keep_scenarios=11))
    texts = ["name: Z\nexpect: [{id: x, message: CLOSE_REQ, min: 0}]\n",
             *["name: A\nexpect: [{id: x, message: CLOSE_REQ, min: 0}]\n"] * 11]
    for i, text in enumerate(texts):
        hub.set_engine(ScenarioEngine(load_scenario_text(text, filename="t.yaml")), float(i))
    summary = build_summary(Journal(), expectations=hub.expectations(20.0))
    loaded = ["Z", "A", *(f"A ({n} load)" for n in ("2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th",
                                                       "10th", "11th"))]
    assert [e["scenario"] for e in summary["expectations"]] == loaded
    suites = [s.get("name") for s in ET.fromstring(junit_xml(summary)).iter("testsuite")]
    assert [n.removeprefix("mockcti.scenario.") for n in suites if n.startswith("mockcti.scenario.")] == loaded
    assert suites[-len(loaded):] == [f"mockcti.scenario.{n}" for n in loaded]  # after the rule families
    # a run's scenarios in run order, one with no expectation among them
    summary = build_summary(Journal(), expectations=[Expectation("b", "x", True), Expectation("a", "y", True)])
    summary["scenarios"] = [{"name": "b", "client_exit": 0}, {"name": "quiet", "client_exit": 0},
                            {"name": "a", "client_exit": 0}]
    suites = [s.get("name") for s in ET.fromstring(junit_xml(summary)).iter("testsuite")]
    assert [n for n in suites if n.startswith("mockcti.scenario.")] == [
        "mockcti.scenario.b", "mockcti.scenario.quiet", "mockcti.scenario.a"]


def test_claiming_a_report_directory_removes_what_a_killed_writer_left(tmp_path):
    """A report file is written to ``.NAME.PID.tmp`` and renamed over: a process killed while writing (SIGKILL,
    a CI job cancelled hard) left that file, and every such run one more. The next run that claims the directory
    (it holds the lock: no other mockcti writes there) removes them; the user's own files stay, dotted or not."""
    from mockcti.report import claim_report_dir

    d = tmp_path / "rep"
    d.mkdir()
    left = [".summary.json.4242.tmp", ".junit.xml.17.tmp", ".A_2nd_load.jsonl.99999.tmp"]
    mine = [".notes.tmp", "build.123.tmp", ".x.12a.tmp", "summary.json"]
    for name in left + mine:
        (d / name).write_text("x")
    (d / ".dir.5.tmp").mkdir()  # (not a file a report wrote: kept)
    claim = claim_report_dir(d, "mockcti run a.yaml")
    try:
        assert sorted(p.name for p in d.iterdir() if p.name != ".mockcti.lock") == sorted(mine + [".dir.5.tmp"])
    finally:
        claim.release()


def test_terminal_table_shows_each_rules_first_violation_with_its_answer_and_journal_entry():
    """`mockcti serve --report`'s table listed rule, count and explanation: nothing said what the client did,
    what it got, nor where in journal.jsonl to look."""
    j = Journal()
    j.record("connect", 0.0, 1, peer="127.0.0.1:5000")
    j.record("violation", 0.5, 1, rule="PROTO-OPEN-FIRST", detail="HEARTBEAT_REQ before OPEN_REQ",
             explanation=RULES["PROTO-OPEN-FIRST"].explanation, request="HEARTBEAT_REQ",
             answer="FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)")
    j.record("violation", 0.7, 1, rule="PROTO-OPEN-FIRST", detail="CLOSE_REQ before OPEN_REQ",
             explanation=RULES["PROTO-OPEN-FIRST"].explanation)
    lines = terminal_table(build_summary(j)).splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("PROTO-OPEN-FIRST"))
    assert lines[at + 1].split() [0] == "first"
    assert lines[at + 1].endswith("t=0.5 session 1 (HEARTBEAT_REQ): HEARTBEAT_REQ before OPEN_REQ; "
                                  "answered FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4) [journal seq 2]")
    root = ET.fromstring(junit_xml(build_summary(j)))
    failure = next(c for c in root.iter("testcase") if c.get("name", "").startswith("PROTO-OPEN-FIRST:")).find("failure")
    assert failure.text.splitlines()[1] == "t=0.7 session 1: CLOSE_REQ before OPEN_REQ [journal seq 3]"
