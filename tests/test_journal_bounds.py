"""A journal that does not keep messages (``Journal(keep=False)``: ``mockcti serve``, ``--quiet``,
load runs) stays bounded however long the server runs, and what reports read stays exact: the
counts, the rules broken, the verdict, the per-session totals."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mockcti.center import ContactCenter, default_center
from mockcti.hub import Hub
from mockcti.journal import DEFAULT_MAX_CLOSED_SESSIONS, DEFAULT_MAX_FINDINGS, DEFAULT_MAX_OTHER, Journal
from mockcti.report import build_summary, junit_xml, terminal_table
from mockcti.wire import Dialect, encode
from mockcti.wire.messages import OpenReq


def test_defaults_keep_everything_unless_messages_are_not_kept():
    j = Journal()
    assert (j.max_other, j.max_findings, j.max_closed_sessions) == (None, None, None)
    j = Journal(keep=False)
    assert (j.max_other, j.max_findings, j.max_closed_sessions) == (
        DEFAULT_MAX_OTHER, DEFAULT_MAX_FINDINGS, DEFAULT_MAX_CLOSED_SESSIONS)
    j.keep = True  # the control API shows messages later on: the bounds stay
    assert j.max_other == DEFAULT_MAX_OTHER
    assert Journal(keep=False, max_other=None).max_other is None


def test_other_entries_are_capped_oldest_first_and_still_counted_and_streamed():
    seen = []
    j = Journal(keep=False, max_other=10)
    j.add_sink(seen.append)
    for n in range(30):
        j.record("happening", float(n), None, what=f"inbound call {n}")
    j.record("violation", 31.0, 1, rule="PROTO-NO-CLOSE", detail="gone")
    kept = j.entries(kind="happening")
    assert 5 <= len(kept) <= 10 and kept[-1].data["what"] == "inbound call 29"
    assert [e.seq for e in j] == sorted(e.seq for e in j)
    assert j.counts["happening"] == 30 and j.dropped["happening"] == 30 - len(kept) and len(seen) == 31
    assert len(j.violations()) == 1  # findings have their own bound


def test_findings_keep_the_first_and_the_latest_and_reports_count_every_one():
    j = Journal(keep=False, max_findings=8)
    for n in range(40):
        j.record("violation", float(n), 1, rule="PROTO-NO-CLOSE" if n % 2 else "PROTO-OPEN-FIRST", detail=f"v{n}")
    j.record("fault", 41.0, None, fault="internal error", where="hub", error="boom")
    for n in range(20):
        j.record("fault", 42.0 + n, 1, fault="garbage bytes")
    details = [e.data.get("detail") for e in j.violations()]
    assert details[:4] == ["v0", "v1", "v2", "v3"]  # what went wrong first stays
    assert len(j.entries(kind="violation")) + len(j.entries(kind="fault")) <= 8
    assert j.entries(kind="fault")[-1].t == 61.0  # and the latest
    assert j.faults_by_kind == {"internal error": 1, "garbage bytes": 20}
    s = build_summary(j)
    assert s["counts"]["violations"] == 40 and s["counts"]["faults"] == 21 and s["counts"]["internal_errors"] == 1
    assert s["violations_by_rule"] == {"PROTO-OPEN-FIRST": 20, "PROTO-NO-CLOSE": 20}
    assert s["passed"] is False and s["dropped"]["violation"] == 40 - len(details)
    assert "internal error" not in [f["fault"] for f in s["faults"]]  # gone from memory, still counted:
    root = ET.fromstring(junit_xml(s))
    assert root.get("errors") == "1"
    fails = {f.get("type"): f for f in root.iter("failure")}
    assert fails["PROTO-NO-CLOSE"].get("message").startswith("20 violation(s)")
    assert "more no longer kept in memory" in fails["PROTO-NO-CLOSE"].text
    assert "1 more INTERNAL ERROR(s)" in terminal_table(s) and terminal_table(s).endswith("FAILED")


def test_a_violation_no_longer_in_memory_still_fails_the_run():
    j = Journal(keep=False, max_findings=0)
    j.record("violation", 0.0, 1, rule="PROTO-NO-CLOSE", detail="gone")
    assert j.violations() == []
    s = build_summary(j)
    assert s["passed"] is False and s["counts"]["violations"] == 1
    assert [f.get("type") for f in ET.fromstring(junit_xml(s)).iter("failure")] == ["PROTO-NO-CLOSE"]


def test_closed_sessions_beyond_the_cap_are_added_up():
    j = Journal(keep=False, max_closed_sessions=3)
    j.record("connect", 0.0, 1, peer="open one")  # stays open: never folded
    for sid in range(2, 12):
        j.record("connect", float(sid), sid, peer=f"p{sid}")
        j.count_messages("in", sid, 2)
        j.count_messages("out", sid, 3)
        j.record("violation", float(sid), sid, rule="PROTO-NO-CLOSE", detail="gone")
        j.record("close", float(sid), sid, reason="peer reset")
    assert sorted(j.sessions) == [1, 9, 10, 11] and j.sessions[1]["peer"] == "open one"
    assert j.sessions_folded == {"sessions": 7, "in": 14, "out": 21, "violations": 7}
    j.record("fault", 20.0, 4, fault="write after close")  # a late entry for a folded session: no new record
    j.record("violation", 20.0, 4, rule="PROTO-X", detail="late")
    assert 4 not in j.sessions and j.sessions_folded["violations"] == 8
    s = build_summary(j)
    assert s["sessions_folded"]["sessions"] + len(s["sessions"]) == s["counts"]["connections"] == 11
    j.clear()
    assert j.sessions == {} and j.sessions_folded["sessions"] == 0 and not j.dropped and len(j) == 0


def test_a_quiet_server_with_connection_churn_stays_bounded_and_its_report_exact():
    """Through the hub, as ``mockcti serve --quiet`` runs: each connection opens a session and drops
    without CLOSE_REQ (connect, violation, close, a sessions record each)."""
    j = Journal(keep=False, max_other=200, max_findings=100, max_closed_sessions=20)
    hub = Hub(ContactCenter(default_center()), journal=j)
    open_req = encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x10,
                              call_msg_mask=0, agent_state_mask=0, config_msg_mask=0, client_id="wallboard",
                              client_password=b""), Dialect.uccx(14))
    n = 1000
    for k in range(n):
        sid = hub.connect(float(k), peer="127.0.0.1:5000")
        hub.receive(sid, open_req, float(k))
        hub.disconnected(sid, float(k), reason="peer reset")
    assert len(j) <= 200 + 100 and len(j.sessions) <= 20
    s = build_summary(j)
    assert s["counts"]["connections"] == n and s["counts"]["violations"] == n
    assert s["violations_by_rule"] == {"PROTO-NO-CLOSE": n} and s["passed"] is False
    assert (s["counts"]["messages_in"], s["counts"]["messages_out"]) == (n, n)
    assert s["sessions_folded"]["sessions"] + len(s["sessions"]) == n
    assert s["sessions_folded"]["violations"] + sum(v["violations"] for v in s["sessions"].values()) == n
    assert s["sessions_folded"]["in"] + sum(v["in"] for v in s["sessions"].values()) == n
