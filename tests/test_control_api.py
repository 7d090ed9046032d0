"""The control API over real HTTP (127.0.0.1, port 0) against a real mock server: every endpoint,
what a CTI client sees after each mutation, every 4xx with its JSON error, the HTTP limits, the
loopback rule and ``mockcti serve --control-port``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import pytest_asyncio

from mockcti import control as control_mod
from mockcti.client import ConnectionClosed, CTIClient, RequestFailed
from mockcti.control import ControlError, ControlServer, add_serve_arguments, is_loopback, serve_feature
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import StatusCode, SystemEventID
from mockcti.wire.messages import AnswerCallReq, HeartbeatReq


# -- helpers ---------------------------------------------------------------------------------------


def _request(port: int, method: str, path: str, body=None, headers=None, raw_body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        hdrs = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
    finally:
        conn.close()


async def call(ctl: ControlServer, method: str, path: str, body=None, *, expect: int | None = 200, **kw):
    status, headers, payload = await asyncio.to_thread(_request, ctl.port, method, path, body, **kw)
    if expect is not None:
        assert status == expect, (status, payload)
    if headers.get("content-type") == "application/json":
        return status, headers, json.loads(payload)
    return status, headers, payload


async def raw_exchange(ctl: ControlServer, data: bytes, *, timeout: float = 3.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", ctl.port)
    try:
        writer.write(data)
        await writer.drain()
        out = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                return out
            out += chunk
    except (ConnectionError, OSError):
        return out
    finally:
        writer.close()


def parse_raw(resp: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    assert lines[0].startswith("HTTP/1.1 ")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, json.loads(body) if body else {}


@pytest_asyncio.fixture
async def mock():
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    yield server, ctl
    await ctl.stop()
    await server.stop()


async def agent_client(server, agent="1001", *, ready=True, version=14) -> CTIClient:
    c = await CTIClient.connect(server.host, server.port, version=version)
    ext = str(int(agent) + 2000)
    await c.open_agent(agent_id=agent, extension=ext, instrument=ext, heartbeat=0, client_id=f"desk{agent}")
    if ready:
        await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        await c.set_agent_state(AS.AGENT_STATE_READY)
    c.drain_events()
    return c


async def wait_for(pred, timeout=3.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class FakeEngine:
    """A scenario engine that answers nothing (hub Engine protocol)."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.attached = False
        self.detached = False

    def attach(self, hub, now):
        self.attached = True

    def on_connect(self, session_id, now):
        pass

    def on_request(self, session_id, message, now):
        return False

    def on_disconnect(self, session_id, now, reason):
        pass

    def tick(self, now):
        pass

    def next_deadline(self):
        return None

    def detach(self, now):
        self.detached = True


# -- read-only endpoints -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_health_state_index(mock):
    server, ctl = mock
    _, headers, body = await call(ctl, "GET", "/health")
    assert headers["content-type"] == "application/json"
    assert body["ok"] is True and body["sessions"] == 0
    c = await agent_client(server)
    try:
        _, _, body = await call(ctl, "GET", "/health")
        assert body["sessions"] == 1
        _, _, state = await call(ctl, "GET", "/state")
        assert {a["id"]: a["state"] for a in state["agents"]}["1001"] == "AGENT_STATE_READY"
        assert state["open_sessions"] == [c_sid(server)]
        conn = state["connections"][0]
        assert conn["mode"] == "agent" and conn["agent_id"] == "1001" and conn["state"] == "OPEN"
        _, _, index = await call(ctl, "GET", "/")
        assert "POST /calls" in index["endpoints"]
    finally:
        await c.close()


def c_sid(server) -> int:
    (sid,) = server.hub.open_sessions()
    return sid


@pytest.mark.asyncio
async def test_journal_filters_and_paging(mock):
    server, ctl = mock
    c = await agent_client(server)
    try:
        sid = c_sid(server)
        _, _, j = await call(ctl, "GET", "/journal")
        kinds = {e["kind"] for e in j["entries"]}
        assert {"connect", "in", "out"} <= kinds
        assert j["next"] == j["entries"][-1]["seq"] and j["more"] is False
        _, _, j2 = await call(ctl, "GET", f"/journal?since={j['next']}")
        assert j2["entries"] == [] and j2["next"] == j["next"]
        await call(ctl, "POST", "/events/system", {"event": "SYS_TEXT_FYI", "text": "hello"})
        await wait_for(lambda: len(server.journal.entries(kind="out")) > 0)
        _, _, j3 = await call(ctl, "GET", f"/journal?since={j['next']}&kind=out&session={sid}")
        assert [e["message"]["type"] for e in j3["entries"]] == ["SYSTEM_EVENT"]
        assert all(e["seq"] > j["next"] for e in j3["entries"])
        _, _, page = await call(ctl, "GET", "/journal?limit=2")
        assert len(page["entries"]) == 2 and page["more"] is True and page["next"] == page["entries"][-1]["seq"]
        _, _, bad = await call(ctl, "GET", "/journal?kind=bogus", expect=400)
        assert bad["field"] == "kind" and "violation" in bad["allowed"] and "allowed:" in bad["error"]
        _, _, bad = await call(ctl, "GET", "/journal?since=-1", expect=400)
        assert bad["field"] == "since"
        _, _, bad = await call(ctl, "GET", "/journal?sinse=3", expect=400)
        assert bad["field"] == "sinse" and "since" in bad["error"]
    finally:
        await c.close()


@pytest.mark.asyncio
async def test_violations_report_junit(mock):
    server, ctl = mock
    _, _, v = await call(ctl, "GET", "/violations")
    assert v["count"] == 0 and v["violations"] == []
    c = await agent_client(server, ready=False)
    await c.abort()  # no CLOSE_REQ: PROTO-NO-CLOSE
    await wait_for(lambda: server.journal.violations())
    _, _, v = await call(ctl, "GET", "/violations")
    assert v["count"] >= 1 and v["by_rule"].get("PROTO-NO-CLOSE") == 1
    assert v["violations"][0]["rule"] == "PROTO-NO-CLOSE"
    _, _, report = await call(ctl, "GET", "/report")
    assert report["tool"] == "mockcti" and report["passed"] is False
    assert report["counts"]["connections"] == 1
    _, headers, xml = await call(ctl, "GET", "/report/junit")
    assert headers["content-type"] == "application/xml"
    root = ET.fromstring(xml)
    assert root.tag == "testsuites" and int(root.get("failures")) >= 1


# -- mutations seen by a CTI client -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_client_sees_every_mutation(mock):
    server, ctl = mock
    c = await agent_client(server)
    try:
        _, _, r = await call(ctl, "POST", "/agents/1001/state", {"state": "NOT_READY", "reason_code": 7})
        assert r == {"agent": "1001", "state": "AGENT_STATE_NOT_READY", "reason_code": 7}
        ev = await c.next_event(MT.AGENT_STATE_EVENT)
        assert ev.agent_state == AS.AGENT_STATE_NOT_READY and ev.event_reason_code == 7 and ev.agent_id == "1001"
        await call(ctl, "POST", "/agents/1001/state", {"state": "AGENT_STATE_READY"})
        ev = await c.next_event(MT.AGENT_STATE_EVENT)
        assert ev.agent_state == AS.AGENT_STATE_READY

        _, _, r = await call(ctl, "POST", "/calls", {"agent": "1001", "ani": "0612345678"})
        call_id = r["call_id"]
        assert isinstance(call_id, int) and r["queued"] is False
        ev = await c.next_event(MT.CALL_DELIVERED_EVENT)
        assert ev.call_id == call_id

        _, _, r = await call(ctl, "POST", "/events/system", {"event": "SYS_CCX_OFFLINE", "text": "maintenance"})
        assert r["event"] == "SYS_CCX_OFFLINE" and r["sessions"] == 1 and r["online"] is False
        ev = await c.next_event(MT.SYSTEM_EVENT)
        assert ev.system_event_id == SystemEventID.SYS_CCX_OFFLINE and ev.text == "maintenance"
        await call(ctl, "POST", "/events/system", {"event": "SYS_CCX_ONLINE"})
        await c.next_event(MT.SYSTEM_EVENT)

        sid = c_sid(server)
        _, _, r = await call(ctl, "POST", "/events/failure",
                             {"status": "E_CTI_UNSPECIFIED_FAILURE", "text": "boom", "sessions": [sid]})
        assert r == {"status": "E_CTI_UNSPECIFIED_FAILURE", "code": 17, "sessions": [sid]}
        ev = await c.next_event(MT.FAILURE_EVENT)
        assert ev.status == StatusCode.E_CTI_UNSPECIFIED_FAILURE and ev.text == "boom"
    finally:
        await c.abort()


@pytest.mark.asyncio
async def test_a_failure_event_for_a_session_listed_twice_is_refused(mock):
    """`"sessions": [1, 1]` sent that session the FAILURE_EVENT twice (and answered "sessions": [1, 1])."""
    server, ctl = mock
    c = await agent_client(server)
    try:
        sid = c_sid(server)
        _, _, err = await call(ctl, "POST", "/events/failure",
                               {"status": "E_CTI_UNSPECIFIED_FAILURE", "sessions": [sid, sid]}, expect=400)
        assert err["field"] == "sessions" and f"session {sid} more than once" in err["error"], err
        _, _, r = await call(ctl, "POST", "/events/failure", {"status": "E_CTI_UNSPECIFIED_FAILURE", "sessions": [sid]})
        assert r["sessions"] == [sid]
        ev = await c.next_event(MT.FAILURE_EVENT)
        assert ev.status == StatusCode.E_CTI_UNSPECIFIED_FAILURE
        await asyncio.sleep(0.2)  # (a FAILURE_EVENT ends the session: the client may send nothing more, §3.5)
        assert [e.TYPE for e in c.drain_events()].count(MT.FAILURE_EVENT) == 0
        assert [e.data["message"]["type"] for e in server.journal.entries(kind="out", session=sid)].count(
            "FAILURE_EVENT") == 1
    finally:
        await c.abort()


@pytest.mark.asyncio
async def test_hang_up_a_call_the_caller_then_the_far_end(mock):
    server, ctl = mock
    c = await agent_client(server)
    try:
        await call(ctl, "POST", "/agents/1001/state", {"state": "READY"})
        _, _, r = await call(ctl, "POST", "/calls", {"agent": "1001", "ani": "0612345678"})
        call_id = r["call_id"]
        await c.next_event(MT.CALL_DELIVERED_EVENT)
        _, _, err = await call(ctl, "POST", f"/calls/{call_id}/hangup", {"device": "0699"}, expect=400)
        assert err["field"] == "device" and err["allowed"] == ["0612345678", "3001"]
        assert err["error"] == f"'0699' is not on call {call_id}; allowed: 0612345678, 3001"  # as every name list
        _, _, err = await call(ctl, "POST", f"/calls/{call_id + 1}/hangup", expect=404)
        assert err["error"] == f"unknown call '{call_id + 1}'; allowed: {call_id}"
        _, _, r = await call(ctl, "POST", f"/calls/{call_id}/hangup")  # no body: the caller hangs up
        assert r == {"call_id": call_id, "device": "0612345678", "ended": True}
        cleared = await c.next_event(MT.CALL_CONNECTION_CLEARED_EVENT)
        assert (cleared.call_id, cleared.releasing_device_id) == (call_id, "0612345678")
        assert (await c.next_event(MT.END_CALL_EVENT)).call_id == call_id
        _, _, err = await call(ctl, "POST", f"/calls/{call_id}/hangup", {}, expect=404)
        assert err["field"] == "call" and f"unknown call '{call_id}'" in err["error"]
        # the agent's phone set down on a second call: with one party left, the call ends
        _, _, r = await call(ctl, "POST", "/calls", {"agent": "1001", "ani": "0612345678"})
        second = r["call_id"]
        await c.next_event(MT.CALL_DELIVERED_EVENT)
        _, _, r = await call(ctl, "POST", f"/calls/{second}/hangup", {"device": "3001"})
        assert r == {"call_id": second, "device": "3001", "ended": True}
        cleared = await c.next_event(MT.CALL_CONNECTION_CLEARED_EVENT)
        assert (cleared.call_id, cleared.connection_device_id, cleared.releasing_device_id) == (second, "3001", "3001")
        assert (await c.next_event(MT.END_CALL_EVENT)).call_id == second
        for bad in ("x1", "%C2%B2", "99999999999"):  # not a number, a superscript two, too long
            _, _, err = await call(ctl, "POST", f"/calls/{bad}/hangup", {}, expect=404)
            assert err["field"] == "call"
        _, _, j = await call(ctl, "GET", "/journal?kind=happening")
        hung = [(e["call_id"], e["device"]) for e in j["entries"] if e["what"] == "control API hang-up"]
        assert hung == [(call_id, "0612345678"), (second, "3001")]
    finally:
        await c.abort()


@pytest.mark.asyncio
async def test_call_through_csq_queues_without_ready_agent(mock):
    """Queued with no agent of the CSQ logged in, the answer says so ("hint"; also in the journal's happening): the
    answer was only `queued: true`, and a test waiting for the ring waited for ever. Queued behind agents who are
    logged in (not READY yet): no hint, the usual queue."""
    server, ctl = mock
    _, _, r = await call(ctl, "POST", "/calls", {"csq": "Sales", "ani": "0699999999"})
    hint = ("queued: no agent of CSQ 'Sales' is logged in (1001, 1002, 1003); it rings once one logs in and is "
            "READY")
    assert r["queued"] is True and r["hint"] == hint
    _, _, j = await call(ctl, "GET", "/journal?kind=happening")
    assert [e.get("hint") for e in j["entries"] if e["what"] == "control API call"] == [hint]
    await call(ctl, "POST", "/agents/1003/state", {"state": "LOGIN"})
    _, _, second = await call(ctl, "POST", "/calls", {"csq": "Sales"})
    assert second == {"call_id": second["call_id"], "queued": True}
    _, _, state = await call(ctl, "GET", "/state")
    assert r["call_id"] in state["queues"]["1"]
    assert any(c["call_id"] == r["call_id"] and c["ani"] == "0699999999" for c in state["calls"])


@pytest.mark.asyncio
async def test_failover_refuses_next_open(mock):
    server, ctl = mock
    c = await agent_client(server)
    _, _, r = await call(ctl, "POST", "/failover", {"seconds": 5})
    assert r["standby_seconds"] == 5 and len(r["dropped"]) == 1
    await asyncio.wait_for(c.closed.wait(), 3)
    await c.abort()
    c2 = await CTIClient.connect(server.host, server.port, version=14)
    try:
        with pytest.raises(RequestFailed) as exc:
            await c2.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
        assert exc.value.status == StatusCode.E_CTI_SERVER_NOT_MASTER
        _, _, h = await call(ctl, "GET", "/health")
        assert h["standby"] is True
    finally:
        await c2.abort()


# -- errors ---------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("method,path,body,status,field,needle", [
    ("POST", "/calls", {"agent": "9999"}, 400, "agent", "1001"),
    ("POST", "/calls", {"csq": "Salse"}, 400, "csq", "did you mean Sales"),
    ("POST", "/calls", {"agent": 1001}, 400, "agent", "must be a string"),
    ("POST", "/calls", {}, 400, "agent", "give 'agent'"),
    ("POST", "/calls", {"agent": "1001", "colour": "red"}, 400, "colour", "allowed: agent"),
    ("POST", "/calls", [1, 2], 400, None, "JSON object"),
    ("POST", "/agents/9999/state", {"state": "READY"}, 404, "agent", "1001"),
    ("POST", "/agents/1001/state", {"state": "SLEEPING"}, 400, "state", "NOT_READY"),
    ("POST", "/agents/1001/state", {"state": "READY", "reason_code": "7"}, 400, "reason_code", "integer"),
    ("POST", "/agents/1001/state", {"state": "READY", "reason_code": True}, 400, "reason_code", "integer"),
    ("POST", "/agents/1001/state", {"state": "READY", "reason_code": 70000}, 400, "reason_code", "between"),
    ("POST", "/agents/1001/state", {}, 400, "state", "missing"),
    ("POST", "/events/system", {"event": "SYS_NOPE"}, 400, "event", "SYS_CCX_OFFLINE"),
    ("POST", "/events/system", {"event": "SYS_CCX_OFFLINE", "text": 3}, 400, "text", "string"),
    ("POST", "/events/failure", {"status": "E_CTI_NOPE"}, 400, "status", "E_CTI_UNSPECIFIED_FAILURE"),
    ("POST", "/events/failure", {"status": "E_CTI_TIMEOUT"}, 400, "status", "reserved in UCCX"),
    ("POST", "/events/failure", {"status": "E_CTI_JTAPI_CCM_PROBLEM", "sessions": [42]}, 400, "sessions",
     "unknown session 42 (not open); allowed: none"),
    ("POST", "/events/failure", {"status": "E_CTI_JTAPI_CCM_PROBLEM", "sessions": "all"}, 400, "sessions", "array"),
    # the one that is not a session id is named (it was field 'sessions' for any of them)
    ("POST", "/events/failure", {"status": "E_CTI_JTAPI_CCM_PROBLEM", "sessions": [1, "2"]}, 400, "sessions[1]",
     "'sessions[1]' must be a session id (an integer), got a string"),
    ("POST", "/events/failure", {"status": "E_CTI_JTAPI_CCM_PROBLEM", "sessions": [True]}, 400, "sessions[0]",
     "got a boolean"),
    ("POST", "/failover", {"seconds": "5"}, 400, "seconds", "number"),
    ("POST", "/failover", {"seconds": -1}, 400, "seconds", "between"),
    ("POST", "/faults", {"session": 42, "kind": "reset"}, 400, "session", "unknown session 42; allowed: none"),
    ("DELETE", "/faults", {"session": 42}, 400, "session", "unknown session 42; allowed: none"),
    ("POST", "/calls/16777999/hangup", {}, 404, "call", "unknown call '16777999'; allowed: none"),
    ("POST", "/faults", {"session": "all", "kind": "explode"}, 400, "kind", "pause_reading"),
    ("POST", "/faults", {"session": "all", "kind": "close", "seconds": 1}, 400, "seconds", "takes no"),
    ("POST", "/faults", {"kind": "close"}, 400, "session", "missing"),
    ("POST", "/scenario", {}, 400, "path", "exactly one"),
    ("POST", "/scenario", {"path": "a.yaml", "yaml": "name: x"}, 400, "path", "exactly one"),
    # both texts named 'path', which was not given; an empty path was "invalid scenario: : cannot read the file"
    ("POST", "/scenario", {"yaml": "name: x", "toml": "name = 'x'"}, 400, "yaml",
     "(the text); got 'yaml' and 'toml'"),
    ("POST", "/scenario", {"path": ""}, 400, "path", "'path' is empty: give the path of a scenario file"),
    ("GET", "/nowhere", None, 404, "path", "/health"),
    ("GET", "/health/", None, 404, "path", "endpoints"),
])
async def test_malformed_requests_get_json_4xx(mock, method, path, body, status, field, needle):
    _, ctl = mock
    _, headers, err = await call(ctl, method, path, body, expect=status)
    assert headers["content-type"] == "application/json"
    assert err["field"] == field
    assert needle in err["error"], err


@pytest.mark.asyncio
async def test_bad_json_types_and_methods(mock):
    server, ctl = mock
    hdr = {"Content-Type": "application/json"}
    _, _, err = await call(ctl, "POST", "/calls", raw_body=b'{"agent": "1001"', headers=hdr, expect=400)
    assert "not valid JSON" in err["error"] and err["field"] is None
    _, _, err = await call(ctl, "POST", "/calls", raw_body=b'{"agent": "1001", "agent": "1002"}', headers=hdr,
                           expect=400)
    assert "duplicate key" in err["error"]
    _, _, err = await call(ctl, "POST", "/failover", raw_body=b'{"seconds": NaN}', headers=hdr, expect=400)
    assert "NaN" in err["error"]
    _, _, err = await call(ctl, "POST", "/calls", raw_body=b"\xff\xfe", headers=hdr, expect=400)
    assert "UTF-8" in err["error"]
    _, _, err = await call(ctl, "POST", "/calls", raw_body=b"agent=1001",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, expect=415)
    assert err["field"] == "Content-Type"
    _, headers, err = await call(ctl, "DELETE", "/calls", expect=405)
    assert headers["allow"] == "GET, POST, HEAD" and err["field"] == "method"
    assert err["allowed"] == ["GET", "POST", "HEAD"]
    _, headers, err = await call(ctl, "PUT", "/scenario", {"yaml": "name: x"}, expect=405)
    assert headers["allow"] == "DELETE, GET, POST, HEAD"
    _, _, err = await call(ctl, "GET", "/health?verbose=1", expect=400)
    assert err["field"] == "verbose"
    # the mock is still serving
    _, _, h = await call(ctl, "GET", "/health")
    assert h["ok"] is True and server.journal.entries(kind="note") == []


@pytest.mark.asyncio
@pytest.mark.parametrize("raw,needle", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # RecursionError in the decoder: was a 500
    (b'{"agent": {"a": ' * 20_000 + b"1" + b"}" * 20_001, "nested too deeply"),
    (b'{"seconds": 1' + b"0" * 5000 + b"}", "more than 4300 digits"),  # not Python's sys.set_int_max_str_digits advice
])
async def test_bodies_the_json_decoder_cannot_take_are_400_not_500(mock, raw, needle):
    server, ctl = mock
    bridge = await CTIClient.connect(server.host, server.port, version=14)
    await bridge.open_bridge()
    bridge.drain_events()
    _, headers, err = await call(ctl, "POST", "/failover", raw_body=raw, headers={"Content-Type": "application/json"},
                                 expect=400)
    assert headers["content-type"] == "application/json"
    assert needle in err["error"] and "internal" not in err["error"] and "sys." not in err["error"], err
    assert err["field"] is None
    assert server.journal.entries(kind="note") == []  # no handler failure recorded
    hb = await bridge.request(HeartbeatReq(invoke_id=bridge.next_invoke_id()))  # the CTI client is not disturbed
    assert hb.TYPE is MT.HEARTBEAT_CONF and not bridge.closed.is_set()
    await bridge.close()


@pytest.mark.asyncio
async def test_urllib_client_and_head(mock):
    _, ctl = mock

    def fetch(req):
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, resp.headers.get("Content-Type"), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type"), exc.read()

    status, ctype, data = await asyncio.to_thread(fetch, f"{ctl.url}/health")
    assert status == 200 and ctype == "application/json" and json.loads(data)["ok"] is True
    req = urllib.request.Request(f"{ctl.url}/calls", data=b'{"csq": "Sales"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    status, _, data = await asyncio.to_thread(fetch, req)
    assert status == 200 and "call_id" in json.loads(data)
    status, _, data = await asyncio.to_thread(fetch, urllib.request.Request(f"{ctl.url}/health", method="HEAD"))
    assert status == 200 and data == b""


# -- the HTTP layer -------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_oversized_body_413(mock):
    _, ctl = mock
    resp = await raw_exchange(ctl, b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 2000000\r\n\r\n")
    status, headers, body = parse_raw(resp)
    assert status == 413 and headers["connection"] == "close"
    assert body["field"] == "Content-Length" and body["limit"] == 1024 * 1024
    # a body over the limit sent anyway is refused before it is read
    status, _, _ = await call(ctl, "POST", "/scenario", {"yaml": "x" * (1024 * 1024 + 10)}, expect=None)
    assert status == 413


@pytest.mark.asyncio
async def test_oversized_headers_431_and_malformed_heads(mock):
    _, ctl = mock
    resp = await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    status, _, body = parse_raw(resp)
    assert status == 431 and "65536 bytes" in body["error"]
    status, _, body = parse_raw(await raw_exchange(ctl, b"HELLO\r\n\r\n"))
    assert status == 400 and "request line" in body["error"]
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n"))
    assert status == 505
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\n\r\n"))
    assert status == 400 and body["field"] == "Host"
    status, _, body = parse_raw(await raw_exchange(
        ctl, b"POST /calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
    assert status == 501 and body["field"] == "Transfer-Encoding"
    status, _, body = parse_raw(await raw_exchange(
        ctl, b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"))
    assert status == 400 and body["field"] == "Content-Length"
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"))
    assert status == 400
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET *health HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 400 and body["field"] == "target"
    # empty lines before the request line are skipped (RFC 9112 §2.2; they made a 400 'malformed request line')
    status, _, body = parse_raw(await raw_exchange(
        ctl, b"\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200 and body["ok"] is True
    # HTTP/1.0 without Host is fine and closes
    status, headers, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.0\r\n\r\n"))
    assert status == 200 and headers["connection"] == "close" and body["ok"] is True


def _readme_error_shape() -> str:
    """The README's Control API sentence on the shape of an error body."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Control API", 1)[1]
    m = re.search(r"Errors are\s.*?; a path no endpoint has", section, re.S)
    assert m, "the README's Control API section says no more what an error body is"
    return " ".join(m.group(0).split())


@pytest.mark.asyncio
async def test_every_error_body_has_the_shape_the_readme_documents(mock):
    """Every error answer is a JSON object with "error" (text) and "field" — a string naming what is at fault,
    or null when the error is about the request as a whole (the README showed "field" as always a string,
    while a body that is not JSON, a malformed head, a 500 or a 503 answer null) — plus only keys the README
    names."""
    server, ctl = mock
    shape = _readme_error_shape()
    hdr = {"Content-Type": "application/json"}
    bodies = []
    for raw in (b"HELLO\r\n\r\n", b"GET /health HTTP/1.1\nHost: x\n\n", b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n",
                b"GET /health HTTP/1.1\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                b"GET /health HTTP/1.1\r\nHost: x\r\nX: " + b"b" * 70000 + b"\r\n\r\n",
                b"POST /calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"):
        bodies.append(parse_raw(await raw_exchange(ctl, raw))[2])
    for method, path, kw in (("POST", "/calls", {"raw_body": b"{", "headers": hdr}),
                             ("POST", "/calls", {"raw_body": b"[]", "headers": hdr}),
                             ("POST", "/calls", {"body": {"agnet": "1001"}}),
                             ("POST", "/calls", {"body": {"agent": "1001"}}),  # logged out: 409
                             ("POST", "/agents/1001/state", {"body": {"state": "TALKING"}}),
                             ("POST", "/scenario", {"body": {"yaml": "name: [x"}}),
                             ("POST", "/calls", {"raw_body": b"a=1", "headers": {"Content-Type": "text/plain"}}),
                             ("DELETE", "/health", {}), ("GET", "/nowhere", {}), ("GET", "/journal?x=1", {})):
        status, _, body = await call(ctl, method, path, expect=None, **kw)
        assert status >= 400, (method, path, body)
        bodies.append(body)
    assert any(b["field"] is None for b in bodies) and any(isinstance(b["field"], str) for b in bodies)
    for body in bodies:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
        assert "field" in body and (body["field"] is None or isinstance(body["field"], str) and body["field"]), body
        for key in set(body) - {"error", "field"}:
            assert f"`{key}`" in shape, f"error key {key!r} is not in the README: {body}"
    assert '`{"error": "...", "field": "..."}`' in shape and "`null` when the error is about the request as a whole" \
        in shape, shape


@pytest.mark.asyncio
async def test_an_absolute_form_target_is_served_as_its_path(mock):
    """RFC 9112 §3.2.2: a server MUST accept an absolute-form target (``GET http://host:port/path``, what a
    client sends through a proxy, and some send always); it was a 400. The URL's path and query are the
    request's; a host other than the server's own (a container's name, a forwarded port) is served too."""
    server, ctl = mock
    host = f"127.0.0.1:{ctl.port}".encode()

    async def ask(target: bytes, method: bytes = b"GET") -> tuple[int, dict]:
        status, _, body = parse_raw(await raw_exchange(
            ctl, method + b" " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n"))
        return status, body

    status, body = await ask(b"http://" + host + b"/health")
    assert status == 200 and body["ok"] is True, body
    status, body = await ask(b"HTTP://mock.example:8080/agents/1001/state", b"POST")  # another host: served
    assert (status, body["field"]) == (400, "state"), body  # (the handler's own answer: no body)
    status, body = await ask(b"http://mock.example/journal?kind=note&limit=1")
    assert status == 200 and body["entries"] == [], body
    status, body = await ask(b"http://[::1]:9")  # an empty path is '/'
    assert status == 200 and "/health" in " ".join(body["endpoints"]), body
    status, body = await ask(b"http://mock.example//health")  # the path is the URL's own, '//' and all
    assert (status, body["field"]) == (404, "path") and "(did you mean /health?" in body["error"], body
    for target, needle in ((b"https://x/health", "plain HTTP"), (b"http:///health", "no valid host"),
                           (b"http://user@x/health", "no valid host"), (b"ftp://x/health", "plain HTTP")):
        status, body = await ask(target)
        assert (status, body["field"]) == (400, "target") and needle in body["error"], (target, body)
    assert server.journal.entries(kind="note") == []


@pytest.mark.asyncio
async def test_a_path_beginning_with_two_slashes_is_that_path_not_a_host(mock):
    """A base URL ending in '/' ($C/ then "$C/health") sends GET //health. The target was read as a URL
    whose '//' begins a host: //health answered "no endpoint ''", and //anything/reset was POST /reset,
    applied (the center rebuilt, the journal cleared). Now the path is the target's own: a 404 naming
    it, with the endpoint a doubled or trailing '/' stands for; nothing applied."""
    server, ctl = mock
    await call(ctl, "POST", "/agents/1001/state", {"state": "LOGIN"})
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET //health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert (status, body["field"]) == (404, "path")
    assert body["error"].startswith("no endpoint '//health' (did you mean /health? a '/' too many: "
                                    "a base URL ending in '/'); endpoints: GET /health, "), body
    _, _, body = await call(ctl, "GET", "/health/", expect=404)
    assert body["error"].startswith("no endpoint '/health/' (did you mean /health? "), body
    _, _, body = await call(ctl, "GET", "/calls/16777216//", expect=404)
    assert body["error"].startswith("no endpoint '/calls/16777216//' (did you mean /calls/16777216? "), body
    _, _, body = await call(ctl, "GET", "//nowhere//", expect=404)  # a path no endpoint has, even mended
    assert body["error"].startswith("no endpoint '//nowhere//'; endpoints: "), body
    status, _, body = parse_raw(await raw_exchange(
        ctl, b"POST //x/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
    assert (status, body["field"]) == (404, "path") and "'//x/reset'" in body["error"], body
    assert server.center.agents["1001"].state == AS.AGENT_STATE_NOT_READY  # no reset: still logged in
    # the query and a fragment still part from the path as before
    _, _, body = await call(ctl, "GET", "/journal?kind=note#x")
    assert body["entries"] == []


@pytest.mark.asyncio
async def test_an_over_long_request_target_is_414_and_over_long_headers_431(mock):
    """RFC 9110 §15.5.15: a request line whose target is longer than the server takes is 414 URI Too
    Long (it was 431, which names the header fields); headers over the limit stay 431."""
    _, ctl = mock
    for target in (b"/health?x=" + b"a" * 70000, b"/" + b"b" * 65536):
        status, headers, body = parse_raw(await raw_exchange(ctl, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert status == 414 and headers["connection"] == "close", body
        assert body["field"] == "target" and "65536 bytes" in body["error"]
    # a request line within the limit whose headers take the head over it: the headers' fault
    status, _, body = parse_raw(await raw_exchange(
        ctl, b"GET /health?x=" + b"a" * 60000 + b" HTTP/1.1\r\nHost: x\r\nX: " + b"b" * 6000 + b"\r\n\r\n"))
    assert status == 431 and "65536 bytes" in body["error"]
    _, _, h = await call(ctl, "GET", "/health")
    assert h["ok"] is True


@pytest.mark.asyncio
@pytest.mark.parametrize("head, status, field, needle", [
    (b"POST /calls HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}", 417, "Expect",
     "only 100-continue"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400, None, "folding"),
    (b"GET /health HTTP/1.1\nHost: x\r\n\r\n", 400, None, "bare CR or LF"),
    # ended by a bare-LF empty line: it waited for a CRLF CRLF, no answer until the 30 s idle timeout
    (b"GET /health HTTP/1.1\nHost: x\n\n", 400, None, "bare CR or LF"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n\n", 400, None, "bare CR or LF"),
    (b"GET /journal?kind=in&kind=out HTTP/1.1\r\nHost: x\r\n\r\n", 400, "kind", "given 2 times"),
    (b"GET /journal?kind=%ff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "query", "malformed query string"),
    (b"GET /journal?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "limit", "between 1 and 100000, got 0"),
    (b"GET /journal?since=abc HTTP/1.1\r\nHost: x\r\n\r\n", 400, "since", "non-negative integer"),
])
async def test_malformed_http_heads_get_json_errors(mock, head, status, field, needle):
    """Each malformed request head gets its status with a JSON body naming the problem (and the
    field, where there is one); the control API keeps serving."""
    _, ctl = mock
    got, _, body = parse_raw(await raw_exchange(ctl, head))
    assert got == status and needle in body["error"], body
    assert body.get("field") == field
    _, _, h = await call(ctl, "GET", "/health")
    assert h["ok"] is True


@pytest.mark.asyncio
@pytest.mark.parametrize("sent, needle", [
    (b"GET /health HTTP/1.1\r\nHost: x\r\n", "ended inside the request head"),
    # a body shorter than its Content-Length, then a half-close (it used to get no answer at all)
    (b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
     b'{"csq": ', "ended after 8 of the 100 body bytes"),
])
async def test_a_connection_ending_inside_a_request_gets_400(mock, sent, needle):
    _, ctl = mock
    reader, writer = await asyncio.open_connection("127.0.0.1", ctl.port)
    try:
        writer.write(sent)
        writer.write_eof()
        resp = await asyncio.wait_for(reader.read(), 3)
    finally:
        writer.close()
    status, _, body = parse_raw(resp)
    assert status == 400 and needle in body["error"]


@pytest.mark.asyncio
async def test_a_body_or_head_that_does_not_come_in_time_gets_408_saying_how_much_came(mock):
    """A body shorter than its Content-Length (a harness counting characters, not UTF-8 bytes, say) or a head
    left unfinished: at body_timeout / idle_timeout the connection was closed without an answer. Now 408
    with what came; a connection idle between requests is still closed silently."""
    _, ctl = mock
    ctl.body_timeout = ctl.idle_timeout = 0.2
    resp = await raw_exchange(ctl, b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b'Content-Length: 20\r\n\r\n{"agent": "1001"}')
    status, headers, body = parse_raw(resp)
    assert status == 408 and headers["connection"] == "close" and body["field"] == "Content-Length"
    assert "17 of the 20 bytes Content-Length announced" in body["error"] and "body_timeout" in body["error"]
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\n"))
    assert status == 408 and "2 lines came, not the empty line that ends the headers" in body["error"]
    status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\n"))
    assert status == 408 and "1 line came" in body["error"]
    # stalled inside the request line itself: closed without an answer, as if nothing had come
    status, headers, body = parse_raw(await raw_exchange(ctl, b"GET /hea"))
    assert status == 408 and headers["connection"] == "close"
    assert "idle_timeout): 8 bytes of the request line came (b'GET /hea'), not its end (CRLF)" in body["error"]
    assert await raw_exchange(ctl, b"") == b""  # idle: closed without a word
    # a keep-alive connection idle after its answer: closed without a second answer
    resp = await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.count(b"HTTP/1.1 ") == 1 and parse_raw(resp)[0] == 200
    assert ctl.mock.hub.center is not None and not ctl.mock.hub.center.calls  # no call was made of half a body


@pytest.mark.asyncio
async def test_call_variables_must_be_an_object_of_strings(mock):
    """Each wrong call variable is named (field variables.call_variable3): it was one answer for all, field
    'variables', "'variables' must be an object of strings", naming none of them."""
    _, ctl = mock
    for bad, kind in (([1], "an array"), ("x", "a string")):
        _, _, err = await call(ctl, "POST", "/calls", {"agent": "1001", "variables": bad}, expect=400)
        assert err == {"error": "'variables' must be an object of call variables (call_variable1 .. call_variable10) "
                                f"to strings, got {kind}", "field": "variables"}, err
    _, _, err = await call(ctl, "POST", "/calls", {"agent": "1001", "variables": {"call_variable1": "a",
                                                                                 "call_variable3": 3}}, expect=400)
    assert err == {"error": "'variables.call_variable3' must be a string, got an integer",
                   "field": "variables.call_variable3"}, err
    _, _, err = await call(ctl, "POST", "/calls", {"agent": "1001", "variables": {"a": 1}}, expect=400)
    assert err["field"] == "variables.a" and err["error"].startswith("unknown call variable 'a'"), err


@pytest.mark.asyncio
async def test_call_data_no_call_event_can_carry_is_refused_and_makes_no_call(mock):
    """An unknown variable name, or an ANI/DNIS/variable longer than BEGIN_CALL_EVENT carries, is a
    400 naming the field; no call is created (it used to be queued, then crash the hub when an
    agent went READY: TypeError out of BeginCallEvent(**variables))."""
    server, ctl = mock
    bridge = await CTIClient.connect(server.host, server.port, version=14)
    await bridge.open_bridge(heartbeat=0)
    cases = [({"variables": {"account": "42"}}, "variables.account", "unknown call variable 'account'"),
             ({"variables": {"call_variable1": "x" * 41}}, "variables.call_variable1", "at most 40"),
             ({"variables": {"call_variable11": "x"}}, "variables.call_variable11", "unknown call variable"),
             ({"ani": "0" * 40}, "ani", "at most 39"), ({"dnis": "7" * 32}, "dnis", "at most 31")]
    for body, field, needle in cases:
        _, _, err = await call(ctl, "POST", "/calls", {"csq": "Sales", **body}, expect=400)
        assert err["field"] == field and needle in err["error"], err
    assert server.center.calls == {} and all(not q for q in server.center.queues.values())
    # at the limits it goes through, and the bridge hears of it
    await call(ctl, "POST", "/calls", {"csq": "Sales", "ani": "0" * 39, "dnis": "7" * 31,
                                       "variables": {"call_variable10": "é" * 20}})
    begin = await bridge.next_event(MT.BEGIN_CALL_EVENT, timeout=3)
    assert (begin.ani, begin.call_variable10) == ("0" * 39, "é" * 20)
    assert server.internal_errors == 0
    await bridge.close()


@pytest.mark.asyncio
async def test_a_call_with_named_variables_and_arrays(mock):
    """POST /calls took "variables" (CallVariable1..10) only, so a CRM connector popping the customer from
    an ECC variable could not be tested from another language; "named_variables" and "named_arrays"
    reach the agent's BEGIN_CALL_EVENT, CALL_DELIVERED_EVENT and SNAPSHOT_CALL_CONF; what no call event
    can carry is a 400 naming the field, and no call is made."""
    from mockcti.wire.messages import SnapshotCallReq
    from mockcti.wire.types import NamedArray, NamedVariable

    server, ctl = mock
    cases = [({"named_variables": {"user.id": "v" * 211}}, 'named_variables["user.id"]', "at most 210"),
             ({"named_variables": {"u" * 33: "1"}}, "named_variables." + "u" * 33, "at most 32"),
             ({"named_variables": ["user.id"]}, "named_variables", "must be a mapping"),
             ({"named_arrays": {"user.items": ["a", 7]}}, 'named_arrays["user.items"][1]', "must be text"),
             ({"named_arrays": {"user.items": "a"}}, 'named_arrays["user.items"]', "must be a list"),
             ({"named_variables": {f"user.v{i}": "v" * 200 for i in range(10)}}, 'named_variables["user.v9"]',
              "at most 2000")]
    for body, field, needle in cases:
        _, _, err = await call(ctl, "POST", "/calls", {"csq": "Sales", **body}, expect=400)
        assert err["field"] == field and needle in err["error"], err
    assert server.center.calls == {}
    c = await agent_client(server)
    try:
        _, _, res = await call(ctl, "POST", "/calls", {
            "agent": "1001", "named_variables": {"user.customer.id": "C-42"},
            "named_arrays": {"user.items": ["router", None, "modem"]}})
        ecc = (NamedVariable(name="user.customer.id", value="C-42"),)
        items = (NamedArray(index=0, name="user.items", value="router"),
                 NamedArray(index=2, name="user.items", value="modem"))
        begin = await c.next_event(MT.BEGIN_CALL_EVENT, timeout=3)
        delivered = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
        assert begin.call_id == delivered.call_id == res["call_id"]
        assert (begin.named_variables, begin.named_arrays) == (delivered.named_variables, delivered.named_arrays) \
            == (ecc, items)
        snap = await c.request(SnapshotCallReq(invoke_id=c.next_invoke_id(), call_id=res["call_id"],
                                               connection_device_id="3001"))
        assert (snap.named_variables, snap.named_arrays) == (ecc, items)
        assert server.internal_errors == 0
    finally:
        await c.close()


@pytest.mark.asyncio
async def test_a_call_from_an_agents_own_phone_is_refused(mock):
    """POST /calls with the ANI of an agent's phone: delivered to that agent, the caller's leg was
    overwritten by the agent's ringing leg (a call of one party, from nobody; hanging up 'the
    caller' hung up the agent); to another agent, the caller's phone belonged to an agent who saw
    nothing of the call. Now a 400 naming 'ani' and the agent; no call is made."""
    server, ctl = mock
    c = await agent_client(server)  # 1001 on 3001, READY
    try:
        for body in ({"agent": "1001", "ani": "3001"}, {"csq": "Sales", "ani": "3001"},
                     {"agent": "1001", "ani": "3002"}):
            _, _, err = await call(ctl, "POST", "/calls", body, expect=400)
            assert err["field"] == "ani" and "phone of agent" in err["error"], err
            assert repr(body["ani"]) in err["error"]
        _, _, st = await call(ctl, "GET", "/state")
        assert st["calls"] == [] and st["queues"] == {}
        assert [a["state"] for a in st["agents"] if a["id"] == "1001"] == ["AGENT_STATE_READY"]
        with pytest.raises(asyncio.TimeoutError):
            await c.next_event(MT.BEGIN_CALL_EVENT, timeout=0.2)
        # an outside number rings the agent, with the caller and the agent on the call
        _, _, r = await call(ctl, "POST", "/calls", {"agent": "1001", "ani": "0612345678"})
        await c.next_event(MT.CALL_DELIVERED_EVENT)
        _, _, st = await call(ctl, "GET", "/state")
        assert [lg["device"] for lg in st["calls"][0]["legs"]] == ["0612345678", "3001"]
        assert server.internal_errors == 0
    finally:
        await c.abort()


@pytest.mark.asyncio
async def test_event_texts_longer_than_the_message_carries_are_refused(mock):
    """SYSTEM_EVENT / FAILURE_EVENT Text: 255 bytes with the NUL, so 254 of text (UTF-8 bytes, not
    characters); EventDeviceID 63. They used to be accepted (200) and then silently not sent."""
    _, ctl = mock
    for path, body, field in (("/events/system", {"event": "SYS_TEXT_FYI", "text": "t" * 255}, "text"),
                              ("/events/system", {"event": "SYS_TEXT_FYI", "text": "é" * 128}, "text"),
                              ("/events/system", {"event": "SYS_TEXT_FYI", "device": "d" * 64}, "device"),
                              ("/events/failure", {"status": "E_CTI_AUTO_CONFIG_RESET", "text": "t" * 255}, "text")):
        _, _, err = await call(ctl, "POST", path, body, expect=400)
        assert err["field"] == field and "bytes" in err["error"], err
    await call(ctl, "POST", "/events/system", {"event": "SYS_TEXT_FYI", "text": "t" * 254, "device": "d" * 63})
    # a lone surrogate (JSON allows "\ud800") is no text a message can carry: 400, not a 500
    for path, body, field in (("/events/system", {"event": "SYS_TEXT_FYI", "text": "\ud800"}, "text"),
                              ("/calls", {"csq": "Sales", "ani": "\ud800"}, "ani"),
                              ("/calls", {"csq": "Sales", "variables": {"call_variable1": "\ud800"}},
                               "variables.call_variable1")):
        _, _, err = await call(ctl, "POST", path, body, expect=400)
        assert err["field"] == field and "surrogate" in err["error"], err


@pytest.mark.asyncio
async def test_post_calls_takes_every_agent_id_a_center_takes_and_names_the_ani_limit():
    """POST /calls capped 'agent' at 64 characters where a center file takes agent IDs of 128: an agent with a
    100-character ID could be logged in through the API but sent no call ("'agent' is longer than 64
    characters"). And an ANI or DNIS over 64 characters was refused naming 64, where the call events carry 39 and
    31 bytes (the limit named for 40..64): now every length gets the one message naming the real limit."""
    long_id = "a" * 100
    center = {"csqs": [{"name": "Sales", "id": 1}],
              "agents": [{"id": long_id, "extension": "3001", "password": "1234", "csqs": ["Sales"]}]}
    server = await MockServer(center, config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    try:
        c = await CTIClient.connect(server.host, server.port)
        await c.open_agent(agent_id=long_id, extension="3001", instrument="3001", heartbeat=0)
        await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        _, _, body = await call(ctl, "POST", "/calls", {"agent": long_id})
        ev = await c.next_event(MT.CALL_DELIVERED_EVENT)
        assert (ev.call_id, ev.alerting_device_id) == (body["call_id"], "3001")
        _, _, err = await call(ctl, "POST", "/calls", {"agent": "a" * 129}, expect=400)
        assert err["field"] == "agent"
        for field, limit in (("ani", 39), ("dnis", 31)):
            for n in (limit + 1, 65, 300):
                _, _, err = await call(ctl, "POST", "/calls", {"csq": "Sales", field: "1" * n}, expect=400)
                assert err == {"error": f"{field} is {n} bytes; a call event carries at most {limit}", "field": field}
        await c.close()
    finally:
        await ctl.stop()
        await server.stop()


@pytest.mark.asyncio
async def test_a_target_holding_utf8_as_it_is_names_the_agent_or_csq_it_says():
    """curl percent-encodes a path's non-ASCII bytes but sends a query's as they are: GET
    /calls?csq=Ventes-Québec reached the API as UTF-8 bytes read as Latin-1, "unknown CSQ 'Ventes-QuÃ©bec' (did
    you mean Ventes-Québec?)"; a path sent so (a raw HTTP client) named agent 'jÃ¼rgen'. The target is now read
    as UTF-8, as its %-escapes are; bytes that are not UTF-8 are a 400 naming the target or the path (a %FF in
    the path was 'unknown agent '\ufffd'')."""
    center = {"csqs": [{"name": "Ventes-Québec", "id": 1}],
              "agents": [{"id": "jürgen", "extension": "3001", "password": "1234", "csqs": ["Ventes-Québec"]}]}
    server = await MockServer(center, config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    try:
        login = b"Content-Type: application/json\r\nContent-Length: 18\r\n\r\n" + b'{"state": "LOGIN"}'
        status, _, body = parse_raw(await raw_exchange(
            ctl, b"POST /agents/j\xc3\xbcrgen/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + login))
        assert (status, body["agent"], body["state"]) == (200, "jürgen", "AGENT_STATE_NOT_READY"), body
        await call(ctl, "POST", "/agents/j%C3%BCrgen/state", {"state": "READY"})
        _, _, call_made = await call(ctl, "POST", "/calls", {"csq": "Ventes-Québec"})  # rings at jürgen
        for query in (b"csq=Ventes-Qu\xc3\xa9bec", b"agent=j\xc3\xbcrgen", b"csq=Ventes-Qu%C3%A9bec"):
            status, _, body = parse_raw(await raw_exchange(
                ctl, b"GET /calls?" + query + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
            assert (status, [c["call_id"] for c in body.get("calls", [])]) == (200, [call_made["call_id"]]), body
        status, _, body = parse_raw(await raw_exchange(
            ctl, b"GET /calls?csq=Ventes-Qu\xe9bec HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert (status, body["field"]) == (400, "target") and "not UTF-8" in body["error"], body
        status, _, body = parse_raw(await raw_exchange(
            ctl, b"POST /agents/%FF/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + login))
        assert (status, body["field"]) == (400, "path") and "not UTF-8" in body["error"], body
    finally:
        await ctl.stop()
        await server.stop()


@pytest.mark.asyncio
async def test_an_agent_named_by_its_phone_is_said_to_be_one(mock):
    """An agent named by its extension (the number a test author dials) was "unknown agent '3001' (did you mean
    1001?)", a guess by spelling that is right only where the IDs look like the extensions. The answer now says
    whose phone it is, in every endpoint that takes an agent; another unknown name is answered as before."""
    _, ctl = mock
    tail = "; allowed: 1001, 1002, 1003, 1004"
    for method, path, body, status in (("POST", "/calls", {"agent": "3001"}, 400),
                                       ("POST", "/agents/3001/state", {"state": "LOGIN"}, 404),
                                       ("GET", "/calls?agent=3001", None, 400)):
        _, _, err = await call(ctl, method, path, body, expect=status)
        assert (err["error"], err["field"]) == (
            "unknown agent '3001' (3001 is the phone of agent 1001: give the agent ID)" + tail, "agent"), path
    _, _, err = await call(ctl, "POST", "/calls", {"agent": "9999"}, expect=400)
    assert err["error"] == "unknown agent '9999'" + tail


@pytest.mark.asyncio
async def test_only_the_states_an_administrator_can_set_are_accepted(mock):
    server, ctl = mock
    for state in ("TALKING", "AGENT_STATE_RESERVED", "HOLD", "UNKNOWN"):
        _, _, err = await call(ctl, "POST", "/agents/1001/state", {"state": state}, expect=400)
        assert err["field"] == "state" and "not settable" in err["error"], err
        assert "READY" in err["allowed"] and "TALKING" not in err["allowed"]
    assert server.center.agents["1001"].state is AS.AGENT_STATE_LOGOUT
    _, _, body = await call(ctl, "POST", "/agents/1001/state", {"state": "LOGIN"})
    assert body["state"] == "AGENT_STATE_NOT_READY"
    # a second LOGIN is refused, as the agent's own is (it moved a READY agent to NOT_READY)
    await call(ctl, "POST", "/agents/1001/state", {"state": "READY"})
    _, _, err = await call(ctl, "POST", "/agents/1001/state", {"state": "LOGIN"}, expect=409)
    assert err["field"] == "state" and err["error"] == "agent 1001 is already logged in (READY)"
    assert server.center.agents["1001"].state is AS.AGENT_STATE_READY


@pytest.mark.asyncio
async def test_a_state_for_a_logged_out_agent_is_a_409_until_it_logs_in(mock):
    """POST /agents/ID/state READY (or NOT_READY, WORK, WORK_READY) for a logged-out agent made it so without a
    login: its desktop and the bridges got AGENT_STATE_EVENT READY with no login before it, where the agent's own
    request is refused E_CTI_AGENT_NOT_LOGGED_ON. Now a 409 saying so, nothing sent; LOGIN, then READY, works."""
    from mockcti.wire.messages import QueryAgentStateReq

    server, ctl = mock
    desk = await agent_client(server, "1002", ready=False)
    bridge = await CTIClient.connect(server.host, server.port)
    await bridge.open_bridge()
    bridge.drain_events()
    for state in ("READY", "NOT_READY", "WORK", "WORK_READY"):
        _, _, err = await call(ctl, "POST", "/agents/1002/state", {"state": state}, expect=409)
        assert err == {"error": f"agent 1002 is logged out: {state} is set for a logged-in agent (LOGIN first)",
                       "field": "state"}
    for client in (desk, bridge):  # nothing was announced before the answer to a request sent after them
        await client.request(QueryAgentStateReq(invoke_id=0, agent_id="1002"))
        assert [m.TYPE for m in client.drain_events()] == []
    assert server.center.agents["1002"].state is AS.AGENT_STATE_LOGOUT
    await call(ctl, "POST", "/agents/1002/state", {"state": "LOGIN"})
    _, _, body = await call(ctl, "POST", "/agents/1002/state", {"state": "READY"})
    assert body["state"] == "AGENT_STATE_READY"
    ev = await bridge.next_event(MT.AGENT_STATE_EVENT)
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, 32760)  # the login first
    await bridge.close()
    await desk.close()


@pytest.mark.asyncio
async def test_a_state_the_agents_own_table_refuses_is_a_409_naming_both(mock):
    """POST /agents/ID/state held to the agent's own transition table: WORK -> WORK_READY was a 200 (the agent's
    own request is refused CF_INVALID_OBJECT_STATE) and a second LOGOUT re-sent AGENT_STATE_EVENT LOGOUT to the
    bridges. Now 409s naming the states, nothing sent."""
    from mockcti.wire.messages import QueryAgentStateReq

    server, ctl = mock
    bridge = await CTIClient.connect(server.host, server.port)
    await bridge.open_bridge()
    await call(ctl, "POST", "/agents/1002/state", {"state": "LOGIN"})
    await call(ctl, "POST", "/agents/1002/state", {"state": "WORK"})
    _, _, err = await call(ctl, "POST", "/agents/1002/state", {"state": "WORK_READY"}, expect=409)
    assert err == {"error": "agent 1002 cannot go from WORK to WORK_READY; WORK_READY is set from NOT_READY, READY",
                   "field": "state"}
    await call(ctl, "POST", "/agents/1002/state", {"state": "LOGOUT"})
    await bridge.request(QueryAgentStateReq(invoke_id=0, agent_id="1002"))
    bridge.drain_events()
    _, _, err = await call(ctl, "POST", "/agents/1002/state", {"state": "LOGOUT"}, expect=409)
    assert err == {"error": "agent 1002 is already logged out (LOGOUT)", "field": "state"}
    await bridge.request(QueryAgentStateReq(invoke_id=0, agent_id="1002"))
    assert [m.TYPE for m in bridge.drain_events()] == []  # no second LOGOUT event
    await bridge.close()


@pytest.mark.asyncio
async def test_an_agent_on_a_call_keeps_it(mock):
    """NOT_READY asked for a TALKING agent is taken when the call ends (READY used to be applied at once,
    and the next ACD call went to the busy agent); READY is refused with 409 (Unified CCX takes no pending
    READY, as the agent's own request is refused), and so is LOGOUT."""
    server, ctl = mock
    c = await agent_client(server, "1001")
    _, _, body = await call(ctl, "POST", "/calls", {"agent": "1001"})
    await c.next_event(MT.CALL_DELIVERED_EVENT)
    await c.request(AnswerCallReq(invoke_id=0, call_id=body["call_id"], connection_device_id="3001"))
    _, _, err = await call(ctl, "POST", "/agents/1001/state", {"state": "READY"}, expect=409)
    assert err["field"] == "state" and "talking on an ACD call" in err["error"]
    _, _, body = await call(ctl, "POST", "/agents/1001/state", {"state": "NOT_READY"})
    assert (body["state"], body["after_call"]) == ("AGENT_STATE_TALKING", "AGENT_STATE_NOT_READY")
    _, _, body = await call(ctl, "POST", "/calls", {"csq": "Sales"})
    assert body["queued"] is True  # nobody ready: 1001 is busy
    _, _, err = await call(ctl, "POST", "/agents/1001/state", {"state": "LOGOUT"}, expect=409)
    assert err["field"] == "state" and "has a call" in err["error"]
    await c.close()


@pytest.mark.asyncio
async def test_a_call_for_a_busy_or_logged_out_agent_is_a_409_and_rings_nowhere(mock):
    """POST /calls {"agent": ...} for an agent whose phone rings with (or talks on) a call rang there a second
    time, where its line takes one call (MaxActiveCalls 1; a client dialling it hears busy, CEC_BUSY), and one
    for a logged-out agent rang and, answered, made it TALKING without a login. Both are 409 naming the agent
    and why, no call is made, and neither the desktop nor a bridge hears of it; a held call leaves the line
    free, as for a dialled call."""
    from mockcti.wire.messages import HoldCallReq, QueryAgentStateReq

    server, ctl = mock
    c = await agent_client(server, "1001")
    bridge = await CTIClient.connect(server.host, server.port)
    await bridge.open_bridge()
    _, _, body = await call(ctl, "POST", "/calls", {"agent": "1001"})
    first = body["call_id"]
    assert (await c.next_event(MT.CALL_DELIVERED_EVENT)).call_id == first
    bridge.drain_events()
    for answered in (False, True):
        _, _, err = await call(ctl, "POST", "/calls", {"agent": "1001", "ani": "0622"}, expect=409)
        how = "connected" if answered else "ringing"
        assert err == {"error": f"the phone 3001 of agent 1001 is busy (call {first} {how}): a UCCX agent line "
                                "takes one call (MaxActiveCalls 1); deliver the call when that one ends, or to a "
                                "CSQ to queue it", "field": "agent"}
        if not answered:
            await c.request(AnswerCallReq(invoke_id=0, call_id=first, connection_device_id="3001"))
    _, _, err = await call(ctl, "POST", "/calls", {"agent": "1002"}, expect=409)
    assert err == {"error": "agent 1002 is logged out: the ACD offers a call to a logged-in agent only (log it in "
                            "first)", "field": "agent"}
    # nothing was offered: the events before the next confirmation are the answer's, no BEGIN_CALL of a new call
    await c.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"))
    await bridge.request(QueryAgentStateReq(invoke_id=0, agent_id="1001"))
    for client in (c, bridge):
        assert {getattr(m, "call_id", first) for m in client.drain_events()} == {first}
    _, _, body = await call(ctl, "GET", "/calls")
    assert [x["call_id"] for x in body["calls"]] == [first]
    # held, the call leaves the line free: a call injected then rings
    await c.request(HoldCallReq(invoke_id=0, call_id=first, connection_device_id="3001"))
    _, _, body = await call(ctl, "POST", "/calls", {"agent": "1001"})
    assert (await c.next_event(MT.CALL_DELIVERED_EVENT)).call_id == body["call_id"] != first
    await bridge.close()
    await c.close()


@pytest.mark.asyncio
async def test_a_call_for_an_agent_through_a_csq_it_is_not_in_is_a_409_naming_its_csqs(mock):
    """POST /calls {"agent": ..., "csq": ...} with an agent outside that CSQ rang there all the same: its
    CALL_DELIVERED, RESERVED and TALKING events carried a CSQ the agent does not serve, and a wallboard counted
    it there. UCCX routes a CSQ's call to that CSQ's agents: 409 naming the field, the agent's CSQs, no call
    made; through one of its CSQs the call rings."""
    server, ctl = mock
    c = await agent_client(server, "1003")  # the default center: 1003 is in Sales only
    _, _, err = await call(ctl, "POST", "/calls", {"agent": "1003", "csq": "Support"}, expect=409)
    assert err == {"error": "agent 1003 is not in CSQ 'Support' (its CSQs: Sales): a call routed through a CSQ "
                            "rings at one of that CSQ's agents; name one of the agent's CSQs, or none",
                   "field": "csq"}
    _, _, body = await call(ctl, "GET", "/calls")
    assert body["calls"] == []
    _, _, body = await call(ctl, "POST", "/calls", {"agent": "1003", "csq": "Sales"})
    delivered = await c.next_event(MT.CALL_DELIVERED_EVENT)
    assert delivered.call_id == body["call_id"] and delivered.csq_id == 1
    await c.close()


@pytest.mark.asyncio
async def test_ready_for_an_agent_on_a_call_of_its_own_is_refused(mock):
    """A supervisor's READY (POST /agents/ID/state) for a NOT_READY agent talking on a call it placed was
    taken: READY on the desktop and the wallboards while routing skipped the busy phone. Refused with 409, as
    the agent's own request is (UCCX: no READY "while that agent is talking on a non-ICD call"), the agent
    NOT_READY as it was."""
    from mockcti.wire.messages import MakeCallReq

    server, ctl = mock
    c = await agent_client(server, "1001", ready=False)
    await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await c.request(MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="0611111111"))
    _, _, err = await call(ctl, "POST", "/agents/1001/state", {"state": "READY"}, expect=409)
    assert err["field"] == "state" and "not an ACD call (3001 busy)" in err["error"]
    _, _, body = await call(ctl, "GET", "/state")
    [agent] = [a for a in body["agents"] if a["id"] == "1001"]
    assert (agent["state"], agent["pending"]) == ("AGENT_STATE_NOT_READY", None)
    await c.close()


@pytest.mark.asyncio
async def test_keep_alive_and_expect_continue(mock):
    _, ctl = mock
    reader, writer = await asyncio.open_connection("127.0.0.1", ctl.port)
    try:
        for _ in range(3):
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: keep-alive" in head
            length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.startswith(b"Content-Length")))
            assert json.loads(await reader.readexactly(length))["ok"] is True
        body = b'{"csq": "Sales"}'
        writer.write(b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        rest = await asyncio.wait_for(reader.read(), 3)
        status, headers, data = parse_raw(rest)
        assert status == 200 and headers["connection"] == "close" and "call_id" in data
    finally:
        writer.close()


# -- loopback rule and serve integration ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_mock_serving_in_another_loop_is_refused_with_the_reason():
    """ControlServer(threaded.server) or ControlServer(threaded) (the cti_server fixture) in the test's
    loop served its requests from the wrong thread: POST /failover answered 500 "Non-thread-safe
    operation invoked on an event loop other than the current one" (under asyncio debug; without it,
    it raced the server's thread). It is refused at start, naming what works."""
    from mockcti.testing.fixtures import AsyncServer, ThreadedServer

    with ThreadedServer() as threaded:
        for mock in (threaded, threaded.server):
            ctl = ControlServer(mock, "127.0.0.1", 0)
            with pytest.raises(ControlError, match=r"^the mock server serves in another event loop \(a "
                                                   r"ThreadedServer, such as the cti_server fixture, runs on a thread"):
                await ctl.start()
            assert ctl._server is None  # nothing listens
    async with AsyncServer() as same_loop:  # the mock in this loop: the handle and its MockServer both work
        for mock in (same_loop, same_loop.server):
            async with ControlServer(mock, "127.0.0.1", 0) as ctl:
                _, _, body = await call(ctl, "POST", "/failover", {"seconds": 0.01})
                assert body["standby_seconds"] == 0.01 and body["dropped"] == [], body
                # a request the hub refuses is its 409 (through the handle: 500, "'AsyncServer' object has
                # no attribute 'run_actions'")
                await call(ctl, "POST", "/agents/1003/state", {"state": "LOGIN"}, expect=None)
                _, _, body = await call(ctl, "POST", "/agents/1003/state", {"state": "LOGIN"}, expect=409)
                assert body["error"] == "agent 1003 is already logged in (NOT_READY)", body
                await call(ctl, "POST", "/agents/1003/state", {"state": "LOGOUT"})


@pytest.mark.asyncio
async def test_start_on_a_listening_control_api_changes_nothing(mock):
    """A second start() tried to bind the API's own port again and raised "[Errno 98] error while
    attempting to bind on address ... address already in use"; MockServer.start() changes nothing on a
    listening server, and so does this one now. A stopped API starts again."""
    _, ctl = mock
    port = ctl.port
    assert await ctl.start() is ctl and ctl.port == port
    status, _, _ = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200
    await ctl.stop()
    await ctl.start()
    status, _, _ = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200


@pytest.mark.asyncio
async def test_non_loopback_host_refused(mock):
    server, _ = mock
    with pytest.raises(ControlError, match="loopback"):
        await ControlServer(server, "0.0.0.0", 0).start()
    with pytest.raises(ControlError):
        await ControlServer(server, "192.0.2.10", 0).start()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com") and not is_loopback("10.0.0.1")

    p = argparse.ArgumentParser()
    add_serve_arguments(p)
    assert serve_feature(p.parse_args([])) is None
    with pytest.raises(SystemExit) as exc:
        serve_feature(p.parse_args(["--control-port", "0", "--control-host", "0.0.0.0"]))
    assert exc.value.code == 2
    assert serve_feature(p.parse_args(["--control-port", "0", "--control-host", "0.0.0.0",
                                       "--control-allow-remote"])) is not None
    assert serve_feature(p.parse_args(["--control-port", "0"])) is not None


@pytest.mark.asyncio
async def test_connections_over_the_cap_get_503_with_retry_after_and_cti_is_undisturbed():
    """A harness leaking control connections (or a port scanner) could take every file descriptor of
    the process that serves CTI too: the API serves max_connections at once, one more is answered 503
    with Retry-After and closed, as many again at most wait for their 503 to be read, beyond that a
    connection is closed at once; a CTI client connects and works all along. Idle keep-alive connections
    (a harness's pool) held every place until idle_timeout, 30 s, while the 503 said Retry-After: 1: now
    the one idle longest is closed to serve the new one, and only requests in progress hold a place."""
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0, max_connections=3).start()
    held = []
    try:
        for _ in range(3):  # three keep-alive connections, each served once and then idle
            r, w = await asyncio.open_connection("127.0.0.1", ctl.port)
            w.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            held.append((r, w))
            assert (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 3)).startswith(b"HTTP/1.1 200 ")
            await asyncio.wait_for(r.readuntil(b"}\n"), 3)  # (the body)
        _, _, h = await call(ctl, "GET", "/health")  # a fourth is served: the one idle longest is closed
        assert h["ok"] is True
        assert await asyncio.wait_for(held[0][0].read(), 3) == b""  # an orderly end, between requests
        notes = [e for e in server.journal.entries() if e.kind == "note" and "idle longest" in str(e.data)]
        assert len(notes) == 1 and "max_connections" in notes[0].data["what"]
        for _, w in held:
            w.close()
        held.clear()
        await wait_for(lambda: not ctl._clients)
        for _ in range(3):  # three connections in the middle of a request: they keep their places
            r, w = await asyncio.open_connection("127.0.0.1", ctl.port)
            w.write(b"GET /health HTTP/1.1\r\n")
            held.append((r, w))
        await wait_for(lambda: len(ctl._clients) == 3 and all(lines for _, _, lines in ctl._waiting.values()))
        status, headers, body = await call(ctl, "GET", "/health", expect=503)
        assert headers["retry-after"] == "1" and headers["connection"] == "close"
        assert body["limit"] == 3 and "at most 3 connections" in body["error"]
        assert "each in the middle of a request" in body["error"]
        notes = [e for e in server.journal.entries() if e.kind == "note" and "further connections" in str(e.data)]
        assert len(notes) == 1
        # CTI is undisturbed
        c = await agent_client(server, ready=False)
        await c.request(HeartbeatReq(invoke_id=c.next_invoke_id()))
        await c.close()
        # silent connections over the cap: three wait for their 503 to be read, a seventh is closed at once
        silent = [await asyncio.open_connection("127.0.0.1", ctl.port) for _ in range(3)]
        await wait_for(lambda: ctl._refusing == 3)
        r7, w7 = await asyncio.open_connection("127.0.0.1", ctl.port)
        try:
            got = await asyncio.wait_for(r7.read(65536), 3)
        except ConnectionError:
            got = b""
        assert got == b"" and ctl._refusing == 3
        w7.close()
        for r, w in silent:
            assert (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 3)).startswith(b"HTTP/1.1 503 ")
            w.close()
        # a connection closed frees its place
        held.pop()[1].close()
        await wait_for(lambda: len(ctl._clients) < 3)
        _, _, h = await call(ctl, "GET", "/health")
        assert h["ok"] is True
    finally:
        for _, w in held:
            w.close()
        await ctl.stop()
        await server.stop()
    with pytest.raises(ControlError, match="max_connections"):
        ControlServer(server, "127.0.0.1", 0, max_connections=0)
    p = argparse.ArgumentParser()
    add_serve_arguments(p)
    assert serve_feature(p.parse_args(["--control-port", "0"])).max_connections == control_mod.MAX_CONNECTIONS == 64
    assert serve_feature(p.parse_args(["--control-port", "0", "--control-max-connections", "5"])).max_connections == 5
    with pytest.raises(SystemExit):
        serve_feature(p.parse_args(["--control-port", "0", "--control-max-connections", "0"]))


def test_serve_control_port_end_to_end(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--control-port", "0", "-q"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            url = None
            for _ in range(50):
                line = proc.stderr.readline()
                if not line:
                    break
                if "control API on " in line:
                    url = line.strip().rsplit(" ", 1)[1]
                    break
            assert url and url.startswith("http://127.0.0.1:"), url
            with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                assert json.loads(resp.read())["ok"] is True
            req = urllib.request.Request(f"{url}/calls", data=b'{"csq": "Support"}', method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert json.loads(resp.read())["queued"] is True
            with urllib.request.urlopen(f"{url}/journal?kind=happening", timeout=5) as resp:
                assert json.loads(resp.read())["entries"][0]["what"] == "control API call"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_serve_refuses_remote_control_host():
    proc = subprocess.run([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--control-port", "0",
                           "--control-host", "0.0.0.0", "-q"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--control-allow-remote" in proc.stderr


# -- scenarios ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_scenario_without_engine_is_501(mock, monkeypatch):
    _, ctl = mock
    monkeypatch.setitem(sys.modules, "mockcti.scenario.engine", None)  # "not importable"
    assert control_mod.default_engine_factory() is None
    _, _, err = await call(ctl, "POST", "/scenario", {"yaml": "name: smoke\n"}, expect=501)
    assert "engine" in err["error"] and err["field"] == "yaml" and err["scenario"] == "smoke"
    _, _, err = await call(ctl, "POST", "/scenario", {"yaml": "name: smoke\nrules: 3\n"}, expect=400)
    assert err["field"] == "yaml" and err["errors"][0]["key_path"] == "rules" and err["errors"][0]["line"] == 2
    _, _, err = await call(ctl, "POST", "/scenario", {"path": "/nonexistent/s.yaml"}, expect=400)
    assert "cannot read" in err["error"] and err["field"] == "path"
    _, _, s = await call(ctl, "GET", "/scenario")
    assert s == {"scenario": None}


@pytest.mark.asyncio
async def test_scenario_load_replace_delete_with_engine(tmp_path):
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    engines = []

    def factory(scenario):
        engines.append(FakeEngine(scenario))
        return engines[-1]

    ctl = await ControlServer(server, "127.0.0.1", 0, engine_factory=factory).start()
    try:
        _, _, r = await call(ctl, "POST", "/scenario", {"yaml": "name: first\n"})
        assert r["scenario"] == "first" and r["loaded"] is True
        assert server.hub.engine is engines[0] and engines[0].attached
        f = tmp_path / "second.yaml"
        f.write_text("name: second\n")
        _, _, r = await call(ctl, "POST", "/scenario", {"path": str(f)})
        assert r["scenario"] == "second" and r["files"] == [str(f)]
        assert server.hub.engine is engines[1] and engines[0].detached
        _, _, r = await call(ctl, "POST", "/scenario", {"toml": 'name = "third"\n'})
        assert r["scenario"] == "third"
        _, _, s = await call(ctl, "GET", "/scenario")
        assert s["scenario"] == "third" and s["engine"] == "FakeEngine"
        # a client still works through an engine that answers nothing
        c = await agent_client(server)
        await c.close()
        # reset rebuilds the engine from the same scenario
        _, _, r = await call(ctl, "POST", "/reset")
        assert r["scenario"] == "third" and server.hub.engine is engines[3]
        _, _, r = await call(ctl, "DELETE", "/scenario")
        assert r == {"scenario": None, "previous": "third"} and server.hub.engine is None
        assert [e.data["what"] for e in server.journal.entries(kind="scenario")][-1] == "unloaded by the control API"
    finally:
        await ctl.stop()
        await server.stop()


@pytest.mark.asyncio
async def test_an_unloaded_scenario_does_nothing_more(mock):
    """A scenario unloaded (DELETE /scenario), replaced (POST /scenario) or restarted (POST /reset) stops
    where it is: its timeline delivered calls, and its end was journalled, from the timers it had set,
    into the center in place (after a reset as well as the fresh engine's) — and each such engine was
    kept in memory until its timers were due. The hub's clock is moved on by hand: no waiting."""
    import gc
    import weakref

    server, ctl = mock
    text = ("name: later\n"
            "timeline:\n  - {at: 30, do: {deliver_call: {csq: Sales, ani: '0612345678'}}}\n"
            "end: {after: 60}\n")
    gone = []
    for how in ("DELETE", "POST", "reset"):
        await call(ctl, "POST", "/scenario", {"yaml": text})
        gone.append(weakref.ref(server.hub.engine))
        if how == "DELETE":
            await call(ctl, "DELETE", "/scenario")
        elif how == "reset":
            await call(ctl, "POST", "/reset")  # a fresh engine of the same scenario
    # the engine in place (the reset's) is the only one left to run: one call, one end
    server.call(lambda hub, now: hub.tick(now + 100))
    assert len(server.center.calls) == 1, list(server.center.calls)
    ended = [e for e in server.journal.entries(kind="happening") if e.data.get("what") == "scenario: scenario ended"]
    assert len(ended) == 1, ended
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]


_SCENARIO_A = ("name: A\n"
               "steps:\n  - {id: opened, expect: {message: OPEN_REQ, timeout: 60}}\n"
               "  - {id: held, expect: {message: HOLD_CALL_REQ, timeout: 60}}\n"
               "expect:\n  - {id: holds, message: HOLD_CALL_REQ, min: 1}\n")
_SCENARIO_B = "name: B\nexpect:\n  - {id: closes, message: CLOSE_REQ, times: 1}\n"


@contextlib.asynccontextmanager
async def _harness(scenario: str):
    """A test harness's set-up: a server, its control API, the scenario POSTed, a bridge client ("harness")
    kept connected; yields (server, ctl, client) and stops them all."""
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    c = None
    try:
        await call(ctl, "POST", "/scenario", {"yaml": scenario})
        c = await CTIClient.connect(server.host, server.port)
        await c.open_bridge(client_id="harness", heartbeat=0)
        yield server, ctl, c
    finally:
        if c is not None:
            await c.abort()
        await ctl.stop()
        await server.stop()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_replaced_or_unloaded_scenario_keeps_its_verdict_in_the_report(loop):
    """A harness keeps its client connected and loads a scenario per test (POST /scenario). The report
    (/report, /report/junit) carried only the scenario in place: one replaced before its end, its unmet
    expectation and the step it was waiting at included, was gone without a trace. Each scenario taken out
    is judged then, under its name, on what it received (B does not see A's requests); a reset starts over."""
    async def main():
        async with _harness(_SCENARIO_A) as (server, ctl, c):
            await call(ctl, "POST", "/scenario", {"yaml": _SCENARIO_B})  # A ends here, its HOLD never came
            await c.close()  # the CLOSE_REQ B expects
            await wait_for(lambda: not server.hub.conns)
            _, _, rep = await call(ctl, "GET", "/report")
            got = [(e["scenario"], e["name"], e["met"], e["where"]) for e in rep["expectations"]]
            assert got == [("A", "holds", False, "<control API yaml>:6"),
                           ("A", "step opened", True, "<control API yaml>:3"),
                           ("A", "step held", False, "<control API yaml>:4"),
                           ("B", "closes", True, "<control API yaml>:3")], got
            assert rep["counts"]["expectations_unmet"] == 2 and rep["passed"] is False
            _, _, xml = await call(ctl, "GET", "/report/junit")
            suites = {s.get("name"): s for s in ET.fromstring(xml).iter("testsuite")}
            a, b = suites["mockcti.scenario.A"], suites["mockcti.scenario.B"]
            assert [(t.get("name"), t.find("failure") is not None) for t in a.iter("testcase")] == \
                [("holds", True), ("step opened", False), ("step held", True)]
            assert [(t.get("name"), t.find("failure") is not None) for t in b.iter("testcase")] == [("closes", False)]
            # unloaded: B's verdict stays, judged once
            await call(ctl, "DELETE", "/scenario")
            _, _, rep = await call(ctl, "GET", "/report")
            assert [(e["scenario"], e["name"]) for e in rep["expectations"]].count(("B", "closes")) == 1
            # a reset starts the report over (the journal is cleared too)
            await call(ctl, "POST", "/reset")
            _, _, rep = await call(ctl, "GET", "/report")
            assert rep["expectations"] == [], rep["expectations"]

    _run_on(loop, main)


@pytest.mark.asyncio
async def test_loading_a_scenario_says_the_name_the_report_gives_it():
    """A harness loading the same scenario for a second test could not tell which JUnit suite was that test's:
    POST /scenario and GET /scenario said "A", the report "A (2nd load)" (and its own "scenario" said "A"). They
    say `reported_as`, and the report's "scenario" is the name its expectations have."""
    async with _harness(_SCENARIO_B) as (server, ctl, c):
        _, _, r = await call(ctl, "POST", "/scenario", {"yaml": _SCENARIO_B})
        assert (r["scenario"], r["reported_as"]) == ("B", "B (2nd load)")
        _, _, g = await call(ctl, "GET", "/scenario")
        assert (g["scenario"], g["reported_as"]) == ("B", "B (2nd load)")
        _, _, rep = await call(ctl, "GET", "/report")
        assert rep["scenario"] == "B (2nd load)"
        assert [e["scenario"] for e in rep["expectations"]] == ["B", "B (2nd load)"]
        await call(ctl, "POST", "/reset")
        _, _, g = await call(ctl, "GET", "/scenario")
        assert g["reported_as"] == "B"  # (a reset starts the count over)


@pytest.mark.asyncio
async def test_the_reports_seed_is_the_one_the_run_used():
    """/report's "seed" was the server's --seed whatever ran: a scenario in place with `seed: 42` (which `serve
    --report` names), or a center rebuilt by POST /reset {"seed": 7}, was reported as seed 0 — the seed a user
    reruns a failing test with."""
    async with _harness("name: S\nseed: 42\nexpect: [{id: x, message: CLOSE_REQ}]\n") as (server, ctl, c):
        _, _, rep = await call(ctl, "GET", "/report")
        assert rep["seed"] == 42
        await call(ctl, "DELETE", "/scenario")
        await call(ctl, "POST", "/reset", {"seed": 7})
        _, _, rep = await call(ctl, "GET", "/report")
        assert rep["seed"] == 7
        await call(ctl, "POST", "/reset")
        _, _, rep = await call(ctl, "GET", "/report")
        assert rep["seed"] == 0  # (the server's again)


def test_serve_reports_the_seed_of_the_center_a_reset_rebuilt(tmp_path):
    """`serve --seed 3 --report DIR`, the center rebuilt by POST /reset {"seed": 7}: summary.json said seed 3."""
    reports = tmp_path / "rep"
    _serve_loading(reports, [("/reset", {"seed": 7})], "--seed", "3")
    assert json.loads((reports / "summary.json").read_text())["seed"] == 7


def _serve_loading(reports, texts, *options: str) -> None:
    """`mockcti serve --control-port 0 -q --report REPORTS OPTIONS`, each of ``texts`` POSTed to /scenario in
    turn (or, a (path, body) pair, to that path), then SIGTERM: the reports are written."""
    from processes import reap  # tests/support

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--control-port", "0", "-q",
                             "--report", str(reports), *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        url = None
        for _ in range(50):
            line = proc.stderr.readline()
            if "control API on " in line:
                url = line.strip().rsplit(" ", 1)[1]
                break
        assert url, "no control API line"
        for text in texts:
            path, body = ("/scenario", {"yaml": text}) if isinstance(text, str) else text
            req = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert resp.status == 200
        proc.terminate()
        proc.wait(30)
    finally:
        reap(proc)


def test_serve_report_has_a_test_suite_per_scenario_loaded_in_turn(tmp_path):
    """`mockcti serve --control-port 0 --report DIR` with two scenarios loaded in turn: junit.xml and
    summary.json held the last one only (the first, replaced with its expectation unmet, was lost: a
    passing report)."""
    reports = tmp_path / "rep"
    _serve_loading(reports, (_SCENARIO_A, _SCENARIO_B))
    summary = json.loads((reports / "summary.json").read_text())
    assert [(e["scenario"], e["name"], e["met"]) for e in summary["expectations"]] == [
        ("A", "holds", False), ("A", "step opened", False), ("A", "step held", False), ("B", "closes", False)]
    suites = {s.get("name"): [t.get("name") for t in s.iter("testcase")]
              for s in ET.parse(reports / "junit.xml").getroot().iter("testsuite")}
    assert suites["mockcti.scenario.A"] == ["holds", "step opened", "step held"]
    assert suites["mockcti.scenario.B"] == ["closes"]


def test_serve_report_names_each_load_of_a_scenario_and_keeps_the_latest(tmp_path):
    """`serve --report` with the same scenario loaded for two tests wrote one JUnit suite with the same test case
    name twice (JUnit consumers merge or drop duplicates), and kept every scenario's outcomes until shutdown.
    Each load is a suite of its own ("B (2nd load)"), summary.json names it so too, and `--keep-scenarios N`
    keeps the latest N taken out one by one, the older ones one outcome that fails when one of them failed."""
    reports = tmp_path / "rep"
    _serve_loading(reports, (_SCENARIO_A, _SCENARIO_B, _SCENARIO_B, _SCENARIO_B), "--keep-scenarios", "1")
    summary = json.loads((reports / "summary.json").read_text())
    got = [(e["scenario"], e["name"], e["met"]) for e in summary["expectations"]]
    assert got == [("(older scenarios)", "2 older scenario(s), 4 outcome(s), no longer kept one by one", False),
                   ("B (2nd load)", "closes", False), ("B (3rd load)", "closes", False)], got
    assert summary["counts"]["expectations_dropped"] == 4 and summary["passed"] is False
    assert "2 of them failed, 3 expectation(s) unmet: 'A' (2 unmet), 'B' (1 unmet)" in \
        summary["expectations"][0]["detail"]
    suites = {s.get("name"): [t.get("name") for t in s.iter("testcase")]
              for s in ET.parse(reports / "junit.xml").getroot().iter("testsuite")}
    assert suites["mockcti.scenario.B (2nd load)"] == suites["mockcti.scenario.B (3rd load)"] == ["closes"]
    assert "mockcti.scenario.B" not in suites and "mockcti.scenario.(older scenarios)" in suites


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("how", ["replace", "unload"])
def test_a_pause_an_unloaded_scenario_began_with_no_end_is_lifted(loop, how):
    """A scenario's `stop_reading` fault with no `seconds` holds the server's reading for as long as the
    scenario runs. Replaced (POST /scenario) or unloaded (DELETE /scenario), nothing of it was left to end
    the pause: the client's requests waited unread for good, the next test's scenario saw none of them, and
    DELETE /faults did not help. Now the pause ends with the scenario, and B sees what was sent."""
    a = ("name: A\nrules:\n  - when: {message: HEARTBEAT_REQ}\n    times: 1\n"
         "    then: [default, {fault: {kind: stop_reading}}]\n")
    b = "name: B\nexpect:\n  - {id: heartbeats, message: HEARTBEAT_REQ, min: 1}\n"

    async def main():
        async with _harness(a) as (server, ctl, c):
            assert (await c.request(HeartbeatReq(invoke_id=0), timeout=5)).TYPE is MT.HEARTBEAT_CONF  # A pauses
            sid = c_sid(server)
            await wait_for(lambda: server.hub.session(sid).reading_paused)
            pending = asyncio.ensure_future(c.request(HeartbeatReq(invoke_id=0), timeout=10))  # unread meanwhile
            if how == "replace":
                await call(ctl, "POST", "/scenario", {"yaml": b})
            else:
                await call(ctl, "DELETE", "/scenario")
            reply = await asyncio.wait_for(pending, 10)
            assert reply.TYPE is MT.HEARTBEAT_CONF
            assert not server.hub.session(sid).reading_paused
            resumed = [e.data for e in server.journal.entries(kind="fault") if e.data.get("fault") == "resume_reading"]
            assert resumed == [{"fault": "resume_reading", "source": "scenario 'A' unloaded"}], resumed
            if how == "replace":  # B saw the heartbeat it was sent after it was loaded
                _, _, rep = await call(ctl, "GET", "/report")
                assert [(e["scenario"], e["met"]) for e in rep["expectations"] if e["scenario"] == "B"] == [("B", True)]

    _run_on(loop, main)


# -- transport faults --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_faults_forget_the_sessions_that_are_gone(mock):
    """A harness that pauses each of its sessions (POST /faults) and closes it, all day: the API kept a
    fault generation for every session a fault ever touched, and a pause for each one closed while
    paused until GET /faults came. What it keeps is for the sessions still open; a reset keeps nothing."""
    server, ctl = mock
    for i in range(30):
        c = await CTIClient.connect(server.host, server.port)
        await c.open_bridge(client_id=f"soak{i}", heartbeat=0)
        sid = max(server.hub.conns)
        await call(ctl, "POST", "/faults", {"session": sid, "kind": "pause_reading", "seconds": 3600})
        await call(ctl, "POST", "/faults", {"session": sid, "kind": "reset"})  # gone while paused
        await wait_for(lambda sid=sid: sid not in server.hub.conns)
        await c.abort()
    last = await CTIClient.connect(server.host, server.port)
    await last.open_bridge(client_id="soak-last", heartbeat=0)
    sid = max(server.hub.conns)
    await call(ctl, "POST", "/faults", {"session": sid, "kind": "pause_reading", "seconds": 3600})
    assert set(ctl._fault_gen) <= {sid} and set(ctl._paused) <= {sid}, (ctl._fault_gen, ctl._paused)
    _, _, r = await call(ctl, "GET", "/faults")
    assert [f["session"] for f in r["faults"]] == [sid]
    await call(ctl, "POST", "/reset")
    assert not ctl._fault_gen and not ctl._paused
    await last.abort()


@pytest.mark.asyncio
async def test_faults_pause_delay_and_clear(mock):
    from mockcti.wire.messages import HeartbeatReq

    server, ctl = mock
    c = await agent_client(server, ready=False)
    try:
        sid = c_sid(server)
        _, _, r = await call(ctl, "POST", "/faults", {"session": sid, "kind": "pause_reading"})
        assert r == {"kind": "pause_reading", "sessions": [sid]}
        _, _, f = await call(ctl, "GET", "/faults")
        assert f["faults"] == [{"session": sid, "kind": "pause_reading", "until": None, "owner": "control API"}]
        pending = asyncio.ensure_future(c.request(HeartbeatReq(invoke_id=0), timeout=5))
        await asyncio.sleep(0.2)
        assert not pending.done()  # the server does not read
        _, _, r = await call(ctl, "DELETE", "/faults")
        assert r == {"cleared": [sid]}
        reply = await asyncio.wait_for(pending, 3)
        assert reply.TYPE is MT.HEARTBEAT_CONF

        loop = asyncio.get_running_loop()
        await call(ctl, "POST", "/faults", {"session": "all", "kind": "delay", "seconds": 0.3})
        t0 = loop.time()
        reply = await c.request(HeartbeatReq(invoke_id=0), timeout=5)
        assert reply.TYPE is MT.HEARTBEAT_CONF and loop.time() - t0 >= 0.2
        _, _, f = await call(ctl, "GET", "/faults")
        assert f["faults"] == []
        faults = [e.data["fault"] for e in server.journal.entries(kind="fault")]
        assert faults == ["pause_reading", "cleared", "delay"]
    finally:
        await c.close()


@pytest.mark.asyncio
async def test_faults_resume_reading_replaced_pause_and_clearing_one_session(mock):
    """``resume_reading`` ends a pause; a timed pause replaced by an open-ended one is not ended
    by the first one's timer; DELETE /faults with a session clears only that session."""
    from mockcti.wire.messages import HeartbeatReq

    server, ctl = mock
    a, b = await agent_client(server, "1001", ready=False), await agent_client(server, "1002", ready=False)
    try:
        sa, sb = sorted(server.hub.open_sessions())
        await call(ctl, "POST", "/faults", {"session": sa, "kind": "pause_reading"})
        pending = asyncio.ensure_future(a.request(HeartbeatReq(invoke_id=0), timeout=5))
        await asyncio.sleep(0.15)
        assert not pending.done()
        _, _, r = await call(ctl, "POST", "/faults", {"session": sa, "kind": "resume_reading"})
        assert r == {"kind": "resume_reading", "sessions": [sa]}
        assert (await asyncio.wait_for(pending, 3)).TYPE is MT.HEARTBEAT_CONF
        _, _, f = await call(ctl, "GET", "/faults")
        assert f["faults"] == []
        # a 0.2 s pause, replaced at once by an open-ended one: its timer must not end the second
        await call(ctl, "POST", "/faults", {"session": sa, "kind": "pause_reading", "seconds": 0.2})
        await call(ctl, "POST", "/faults", {"session": sa, "kind": "pause_reading"})
        await call(ctl, "POST", "/faults", {"session": sb, "kind": "pause_reading"})
        pending = asyncio.ensure_future(a.request(HeartbeatReq(invoke_id=0), timeout=5))
        await asyncio.sleep(0.5)
        assert not pending.done()
        _, _, f = await call(ctl, "GET", "/faults")
        assert sorted(x["session"] for x in f["faults"]) == [sa, sb]
        _, _, r = await call(ctl, "DELETE", "/faults", {"session": sa})
        assert r == {"cleared": [sa]}
        assert (await asyncio.wait_for(pending, 3)).TYPE is MT.HEARTBEAT_CONF
        _, _, f = await call(ctl, "GET", "/faults")
        assert [x["session"] for x in f["faults"]] == [sb]  # the other session stays paused
        await call(ctl, "DELETE", "/faults")
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_faults_in_force_name_their_kind_and_leave_with_their_session(mock):
    """GET /faults listed a delay as pause_reading, and kept listing the pauses of sessions that
    were gone (closed by a fault, dropped by a failover) for ever, in GET /state too."""
    server, ctl = mock
    a, b = await agent_client(server, "1001", ready=False), await agent_client(server, "1002", ready=False)
    try:
        sa, sb = sorted(server.hub.open_sessions())
        await call(ctl, "POST", "/faults", {"session": sa, "kind": "delay", "seconds": 60})
        await call(ctl, "POST", "/faults", {"session": sb, "kind": "pause_reading"})
        _, _, f = await call(ctl, "GET", "/faults")
        assert [(x["session"], x["kind"]) for x in f["faults"]] == [(sa, "delay"), (sb, "pause_reading")]

        await call(ctl, "POST", "/faults", {"session": sa, "kind": "close"})
        await asyncio.wait_for(a.closed.wait(), 3)
        await wait_for(lambda: sa not in server.hub.conns)
        _, _, f = await call(ctl, "GET", "/faults")
        assert [(x["session"], x["kind"]) for x in f["faults"]] == [(sb, "pause_reading")]
        _, _, st = await call(ctl, "GET", "/state")
        assert [x["session"] for x in st["faults"]] == [sb]

        await call(ctl, "POST", "/failover", {"seconds": 0.1})
        await asyncio.wait_for(b.closed.wait(), 3)
        _, _, f = await call(ctl, "GET", "/faults")
        _, _, st = await call(ctl, "GET", "/state")
        assert f["faults"] == [] and st["faults"] == [] and st["connections"] == []
        _, _, r = await call(ctl, "DELETE", "/faults")
        assert r == {"cleared": []}  # nothing in force: no session to resume
    finally:
        await a.abort()
        await b.abort()


_STOPS_READING = ("name: A\nrules:\n  - when: {message: HEARTBEAT_REQ}\n    times: 1\n"
                  "    then: [default, {fault: {kind: stop_reading}}]\n")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_delete_faults_lifts_a_scenarios_stop_reading_unless_told_to_lift_the_control_apis_only(loop):
    """GET /faults lists "the transport faults in force": a session a scenario's `stop_reading` holds is listed,
    under its owner. DELETE /faults clears every owner's pause by default (a harness clears the faults between
    tests); `{"owner": "control API"}` lifts only the control API's own and says what it left (`still_paused`)."""
    async def main():
        async with _harness(_STOPS_READING) as (server, ctl, c):
            assert (await c.request(HeartbeatReq(invoke_id=0), timeout=5)).TYPE is MT.HEARTBEAT_CONF  # paused now
            sid = c_sid(server)
            await wait_for(lambda: server.hub.session(sid).reading_paused)
            held = {"session": sid, "kind": "stop_reading", "until": None, "source": "scenario", "owner": "scenario 'A'"}
            _, _, f = await call(ctl, "GET", "/faults")
            assert f["faults"] == [held]
            _, _, r = await call(ctl, "DELETE", "/faults", {"owner": "control API"})
            assert r == {"cleared": [], "still_paused": [held]}
            assert server.hub.session(sid).reading_paused
            pending = asyncio.ensure_future(c.request(HeartbeatReq(invoke_id=0), timeout=10))
            _, _, r = await call(ctl, "DELETE", "/faults")
            assert r == {"cleared": [sid]}
            assert (await asyncio.wait_for(pending, 10)).TYPE is MT.HEARTBEAT_CONF
            _, _, f = await call(ctl, "GET", "/faults")
            assert f["faults"] == []
            _, _, err = await call(ctl, "DELETE", "/faults", {"owner": "scenarios"}, expect=400)
            assert err["field"] == "owner" and "did you mean scenario?" in err["error"], err

    _run_on(loop, main)


_STOPS_READING_FOR = ("name: A\nrules:\n  - when: {message: HEARTBEAT_REQ}\n"
                      "    then: [default, {fault: {kind: stop_reading, params: {seconds: %s}}}]\n")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_get_faults_shows_when_a_scenarios_timed_stop_reading_ends(loop):
    """GET /faults showed `"until": null` for a scenario's `stop_reading` with `seconds` (a pause with an end)
    while the control API's own timed pauses showed theirs: a harness polling /faults could not tell when the
    scenario's pause would end. It shows the end now (the mock's clock, as `now` in GET /state), and a second
    `stop_reading` of the same scenario replaces the first's end, as a second `pause_reading` does: the first
    one's timer no longer lifts the pause the second began (nor would it match what /faults said)."""
    async def main():
        async with _harness(_STOPS_READING_FOR % 30) as (server, ctl, c):
            sid = c_sid(server)
            assert (await c.request(HeartbeatReq(invoke_id=0), timeout=5)).TYPE is MT.HEARTBEAT_CONF
            await wait_for(lambda: server.hub.session(sid).reading_paused)
            paused_at = server.now()
            _, _, f = await call(ctl, "GET", "/faults")
            (held,) = f["faults"]
            assert held["kind"] == "stop_reading" and held["owner"] == "scenario 'A'"
            assert held["until"] is not None and paused_at - 1 < held["until"] - 30 <= paused_at, (held, paused_at)
            await call(ctl, "POST", "/faults", {"session": sid, "kind": "pause_reading", "seconds": 5})
            _, _, f = await call(ctl, "GET", "/faults")
            assert [(x["owner"], x["until"]) for x in f["faults"]] == [
                ("scenario 'A'", held["until"]), ("control API", pytest.approx(paused_at + 5, abs=1))]

        async with _harness(_STOPS_READING_FOR % 0.3) as (server, ctl, c):
            sid = c_sid(server)
            assert (await c.request(HeartbeatReq(invoke_id=0), timeout=5)).TYPE is MT.HEARTBEAT_CONF
            await wait_for(lambda: server.hub.session(sid).reading_paused)
            # the same scenario pauses again, for 30 s this time (from the control API's side: as its rule would)
            engine = server.hub.engine
            server.call(lambda hub, now: [hub.act(a) for a in engine._pause_reading(sid, 30.0, now)])
            await asyncio.sleep(0.6)  # the first pause's end has passed
            assert server.hub.session(sid).reading_paused
            _, _, f = await call(ctl, "GET", "/faults")
            (held,) = f["faults"]
            assert held["until"] - server.now() > 25, held

    _run_on(loop, main)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("how", ["replace", "unload"])
def test_the_control_apis_pause_and_a_scenarios_each_have_their_owner(loop, how):
    """A scenario's open-ended `stop_reading` and the control API's `pause_reading` shared one flag: taking the
    scenario out (POST /scenario, DELETE /scenario) lifted the control API's pause too — the client read while
    GET /faults still listed the pause — and the control API's resume_reading lifted the scenario's. Each pause
    has its owner now:
    reading resumes when no owner holds one; GET /faults lists each; the journal says which was lifted."""
    async def main():
        async with _harness(_STOPS_READING) as (server, ctl, c):
            assert (await c.request(HeartbeatReq(invoke_id=0), timeout=5)).TYPE is MT.HEARTBEAT_CONF  # A pauses
            sid = c_sid(server)
            await wait_for(lambda: server.hub.session(sid).reading_paused)
            await call(ctl, "POST", "/faults", {"session": sid, "kind": "pause_reading"})
            _, _, f = await call(ctl, "GET", "/faults")
            assert [(x["session"], x["kind"], x["owner"]) for x in f["faults"]] == [
                (sid, "stop_reading", "scenario 'A'"), (sid, "pause_reading", "control API")]
            if how == "replace":
                await call(ctl, "POST", "/scenario", {"yaml": _SCENARIO_B})
            else:
                await call(ctl, "DELETE", "/scenario")
            # the control API's pause holds: the server does not read (a CLOSE_REQ now would be answered)
            assert server.hub.session(sid).reading_paused
            _, _, f = await call(ctl, "GET", "/faults")
            assert f["faults"] == [{"session": sid, "kind": "pause_reading", "until": None, "owner": "control API"}]
            lifted = [e.data for e in server.journal.entries(kind="fault") if e.data.get("fault") != "pause_reading"]
            assert lifted == [{"fault": "resume_reading", "source": "scenario 'A' unloaded"},
                              {"fault": "reading still paused", "lifted": "scenario 'A'", "held_by": ["control API"]}]
            pending = asyncio.ensure_future(c.request(HeartbeatReq(invoke_id=0), timeout=10))
            _, _, r = await call(ctl, "DELETE", "/faults")
            assert r == {"cleared": [sid]}
            assert (await asyncio.wait_for(pending, 10)).TYPE is MT.HEARTBEAT_CONF
            assert server.journal.entries(kind="fault")[-1].data == {
                "fault": "cleared", "source": "control API", "lifted": ["control API"]}

    _run_on(loop, main)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["close", "reset", "half_close"])
async def test_faults_that_end_the_connection(mock, kind):
    server, ctl = mock
    c = await agent_client(server, ready=False)
    try:
        _, _, r = await call(ctl, "POST", "/faults", {"session": "all", "kind": kind})
        assert len(r["sessions"]) == 1
        await asyncio.wait_for(c.closed.wait(), 3)  # EOF (close, half_close) or reset
        with pytest.raises((ConnectionClosed, asyncio.TimeoutError)):
            await c.next_event(timeout=0.2)
    finally:
        await c.abort()


# -- reset -------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reset_drops_sessions_clears_journal_rebuilds_center(mock):
    server, ctl = mock
    c = await agent_client(server)
    await call(ctl, "POST", "/calls", {"csq": "Support"})
    await call(ctl, "POST", "/failover", {"seconds": 60})
    await asyncio.wait_for(c.closed.wait(), 3)
    await c.abort()
    _, _, r = await call(ctl, "POST", "/reset")
    assert r["reset"] is True
    _, _, state = await call(ctl, "GET", "/state")
    assert state["connections"] == [] and state["calls"] == [] and state["standby"] is False
    assert all(a["state"] == "AGENT_STATE_LOGOUT" for a in state["agents"])
    _, _, j = await call(ctl, "GET", "/journal")
    assert [e["kind"] for e in j["entries"]] == ["note"]
    _, _, rep = await call(ctl, "GET", "/report")
    assert rep["counts"]["connections"] == 0
    # the mock accepts sessions again at once
    c2 = await agent_client(server)
    try:
        await call(ctl, "POST", "/calls", {"agent": "1001"})
        await c2.next_event(MT.CALL_DELIVERED_EVENT)
        # and a reset with live sessions drops them
        await call(ctl, "POST", "/reset", {"seed": 3})
        await asyncio.wait_for(c2.closed.wait(), 3)
        _, _, h = await call(ctl, "GET", "/health")
        assert h["sessions"] == 0 and h["connections"] == 0
    finally:
        await c2.abort()


@pytest.mark.asyncio
async def test_handler_bug_is_500_json_and_the_mock_keeps_serving(mock, monkeypatch):
    server, ctl = mock

    def broken(**kw):
        raise RuntimeError("snapshot exploded")

    monkeypatch.setattr(server.hub.center, "snapshot", broken)
    _, headers, err = await call(ctl, "GET", "/state", expect=500)
    assert headers["content-type"] == "application/json" and "snapshot exploded" in err["error"]
    notes = server.journal.entries(kind="note")
    assert notes and "GET /state failed" in notes[-1].data["what"]
    monkeypatch.undo()
    _, _, h = await call(ctl, "GET", "/health")
    assert h["ok"] is True
    c = await agent_client(server)
    await c.close()


SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scenarios")


@pytest.mark.asyncio
async def test_real_scenario_engine_center_expectations_and_reset(mock):
    pytest.importorskip("mockcti.scenario.engine")
    path = os.path.join(SCENARIOS, "login-success.yaml")
    if not os.path.exists(path):
        pytest.skip("scenarios/login-success.yaml is not in this checkout")
    server, ctl = mock
    bystander = await agent_client(server, "1004", ready=False)
    _, _, r = await call(ctl, "POST", "/scenario", {"path": path})
    assert r["scenario"] == "login-success" and r["loaded"] is True
    assert len(r["dropped"]) == 1  # the scenario brings its own center: old sessions go
    await asyncio.wait_for(bystander.closed.wait(), 3)
    await bystander.abort()
    _, _, state = await call(ctl, "GET", "/state")
    assert state["scenario"] == "login-success"
    assert {a["id"]: a["state"] for a in state["agents"]}["1001"] == "AGENT_STATE_LOGOUT"
    _, _, rep = await call(ctl, "GET", "/report")
    assert {e["name"]: e["met"] for e in rep["expectations"]}["opens-once"] is False
    c = await agent_client(server, "1001", ready=True)
    await c.close()
    _, _, rep = await call(ctl, "GET", "/report")
    assert all(e["met"] for e in rep["expectations"]), rep["expectations"]
    _, headers, xml = await call(ctl, "GET", "/report/junit")
    assert b"mockcti.scenario.login-success" in xml
    # reset: fresh engine, expectations unmet again, the scenario's center again
    _, _, r = await call(ctl, "POST", "/reset")
    assert r["scenario"] == "login-success"
    _, _, rep = await call(ctl, "GET", "/report")
    assert not all(e["met"] for e in rep["expectations"])
    _, _, r = await call(ctl, "DELETE", "/scenario")
    assert r["previous"] == "login-success" and server.hub.engine is None
    _, _, rep = await call(ctl, "GET", "/report")  # the unloaded scenario's verdict stays, judged when it went
    assert {e["scenario"] for e in rep["expectations"]} == {"login-success"}
    assert not all(e["met"] for e in rep["expectations"])


@pytest.mark.asyncio
async def test_a_scenario_loaded_through_the_api_serves_its_dialect_until_it_is_unloaded(mock):
    """POST /scenario with `dialect: {min_version: 14, max_version: 16}` left the server opening every
    version (mockcti run and serve --scenario serve the scenario's dialect)."""
    server, ctl = mock
    _, _, r = await call(ctl, "POST", "/scenario",
                         {"yaml": "name: narrow\ndialect: {profile: uccx, min_version: 14, max_version: 16}\n"})
    assert r["scenario"] == "narrow"

    async def status_at(version: int):
        c = await CTIClient.connect(server.host, server.port, version=version, timeout=5)
        try:
            await c.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
        except RequestFailed as exc:
            await c.abort()
            return exc.reply.status
        await c.close()
        return None

    assert await status_at(18) == StatusCode.E_CTI_INVALID_VERSION
    assert await status_at(16) is None
    await call(ctl, "POST", "/reset")  # the scenario stays loaded: so does its dialect
    assert await status_at(18) == StatusCode.E_CTI_INVALID_VERSION
    await call(ctl, "DELETE", "/scenario")
    assert await status_at(18) is None  # the server's own profile again


@pytest.mark.asyncio
async def test_journal_says_how_many_entries_are_no_longer_kept():
    """Past the journal's message cap the oldest message entries go; GET /journal said nothing of it
    (a reader paging with since= saw only a gap in seq)."""
    from mockcti.journal import Journal

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0), journal=Journal(max_messages=10)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    try:
        _, _, j = await call(ctl, "GET", "/journal")
        assert j["dropped"] == {}
        c = await agent_client(server)
        for _ in range(10):
            await c.request(HeartbeatReq(invoke_id=0))
        _, _, j = await call(ctl, "GET", "/journal")
        assert j["dropped"].get("in", 0) + j["dropped"].get("out", 0) == server.journal.dropped_messages > 0
        await c.close()
    finally:
        await ctl.stop()
        await server.stop()


@pytest.mark.asyncio
async def test_a_control_client_that_reads_nothing_of_a_big_answer_is_dropped(mock):
    """GET /journal with a big page to a client that reads nothing: the answer's drain() waited for
    ever, holding the connection's task and the answer's bytes. After ``send_timeout`` the connection
    is dropped (a reset) and a journal note says so; the control API serves the others meanwhile."""
    import socket

    server, ctl = mock
    ctl.send_timeout = 0.5
    for i in range(60_000):  # a page of ~16 MB: more than the kernel's socket buffers hold
        server.hub.journal.record("happening", 0.0, None, what="x" * 200, n=i)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", ctl.port))
    try:
        sock.send(b"GET /journal?limit=60000 HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
        await wait_for(lambda: any(e.data.get("what", "").startswith("control client read nothing")
                                   for e in server.hub.journal.entries(kind="note")), timeout=10)
        await wait_for(lambda: not ctl._tasks, timeout=3)  # the connection's task has ended
        status, _, body = parse_raw(await raw_exchange(ctl, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert status == 200
    finally:
        sock.close()


@pytest.mark.asyncio
async def test_stop_does_not_leave_open_the_connection_of_a_client_reading_nothing_of_its_answer():
    """stop() closed each connection, which waits for what is queued to go out, and cancelled its task
    (whose send_timeout would have dropped it): a client that read nothing of a big GET /journal kept its
    connection and the answer's bytes open for ever after stop() returned (the whole answer still came
    whenever it read). Now what is not out after ``stop_grace`` is dropped with a reset."""
    import socket

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    ctl = await ControlServer(server, "127.0.0.1", 0).start()
    ctl.stop_grace = 0.2
    loop = asyncio.get_running_loop()
    for i in range(60_000):  # a page of ~16 MB: more than the kernel's socket buffers hold
        server.hub.journal.record("happening", 0.0, None, what="x" * 200, n=i)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", ctl.port))
        sock.send(b"GET /journal?limit=60000 HTTP/1.1\r\nHost: x\r\n\r\n")  # and read nothing, for now
        await wait_for(lambda: any(w.transport.get_write_buffer_size() for w in ctl._clients), timeout=10)
        await ctl.stop()
        got = b""
        with contextlib.suppress(ConnectionError):
            for _ in range(100_000):  # to the end of the stream: EOF or the reset
                chunk = await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 10)
                if not chunk:
                    break
                got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        assert len(body) < length  # cut off at stop(), not sent in full to a reader that came back later
    finally:
        sock.close()
        await ctl.stop()
        await server.stop()


# -- the calls and their data (GET /calls, GET /calls/{id}, GET /state) ---------------------------------


@pytest.mark.asyncio
async def test_the_calls_show_their_data(mock):
    """GET /state showed a call's type, ANI, CSQID and legs only, and there was no GET /calls: a suite that
    injected a call with a DNIS, call variables and ECC data could not check what the center holds. GET
    /calls/{id}, GET /calls and GET /state show the call's data in a fixed key order, the ECC arrays in the
    shape POST /calls takes them, where the call waits in its queue, bytes (UserToUserInfo) in hex and a
    client's non-UTF-8 bytes escaped in a valid UTF-8 answer."""
    from mockcti.wire.messages import SetCallDataReq

    server, ctl = mock
    _, _, r = await call(ctl, "POST", "/calls", {
        "csq": "Sales", "ani": "0612345678", "dnis": "7001",
        "variables": {"call_variable2": "b", "call_variable1": "a"},
        "named_variables": {"user.customer.id": "C-42"}, "named_arrays": {"user.items": ["router", None, "modem"]}})
    assert r["queued"] is True
    cid = r["call_id"]
    _, _, view = await call(ctl, "GET", f"/calls/{cid}")
    assert list(view) == ["call_id", "type", "ani", "dnis", "dialed", "csq_id", "csq", "acd", "queued",
                          "queue_position", "started", "consult_of", "conferenced", "variables", "named_variables",
                          "named_arrays", "legs"]
    assert {k: v for k, v in view.items() if k != "started"} == {
        "call_id": cid, "type": "CALLTYPE_CCX_IN", "ani": "0612345678", "dnis": "7001", "dialed": "7001",
        "csq_id": 1, "csq": "Sales", "acd": True, "queued": True, "queue_position": 0, "consult_of": None,
        "conferenced": False, "variables": {"call_variable1": "a", "call_variable2": "b"},
        "named_variables": {"user.customer.id": "C-42"}, "named_arrays": {"user.items": ["router", None, "modem"]},
        "legs": [{"device": "0612345678", "agent": None, "state": "LCS_CONNECT"}]}
    assert list(view["variables"]) == ["call_variable1", "call_variable2"]
    _, _, second = await call(ctl, "POST", "/calls", {"csq": "Sales", "ani": "0699999999"})
    _, _, listed = await call(ctl, "GET", "/calls")
    assert listed["calls"][0] == view and listed["calls"][1]["queue_position"] == 1
    assert (listed["count"], listed["more"], listed["next"]) == (2, False, second["call_id"])
    _, _, state = await call(ctl, "GET", "/state")
    assert state["calls"] == listed["calls"] and (state["calls_total"], state["calls_truncated"]) == (2, 0)

    # an agent takes the call and sets data a client may send: bytes, and text that is not UTF-8
    c = await agent_client(server, ready=False)
    try:
        await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        await c.set_agent_state(AS.AGENT_STATE_READY)  # the queued call is routed to the agent
        await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
        await c.request(AnswerCallReq(invoke_id=c.next_invoke_id(), call_id=cid, connection_device_id="3001"))
        await c.request(SetCallDataReq(invoke_id=c.next_invoke_id(), call_id=cid, connection_device_id="3001",
                                       call_variable10="caf\udce9", user_to_user_info=b"\x00\x01\xff"))
        status, headers, payload = await asyncio.to_thread(_request, ctl.port, "GET", f"/calls/{cid}")
        assert status == 200
        payload.decode("utf-8")  # valid UTF-8 on the wire
        view = json.loads(payload)
        assert view["variables"] == {"call_variable1": "a", "call_variable2": "b", "call_variable10": "caf\udce9",
                                     "user_to_user_info": "0001ff"}
        assert (view["queued"], view["queue_position"]) == (False, None)
        assert [(lg["device"], lg["agent"], lg["state"]) for lg in view["legs"]] == [
            ("0612345678", None, "LCS_CONNECT"), ("3001", "1001", "LCS_CONNECT")]
        _, _, mine = await call(ctl, "GET", "/calls?agent=1001")
        assert [x["call_id"] for x in mine["calls"]] == [cid]
        assert server.internal_errors == 0
    finally:
        await c.close()


@pytest.mark.asyncio
async def test_calls_are_paged_and_state_is_bounded(mock):
    """A center with thousands of calls: GET /calls pages with ?after= and ?limit=, GET /state shows at most
    ?limit= calls (1000 unless told) and says how many it left out; its queues too (they listed every
    queued call ID, however many: ?limit=2 still answered 5, and 100,000 queued calls all 100,000)."""
    server, ctl = mock
    ids = [(await call(ctl, "POST", "/calls", {"csq": "Sales", "ani": f"06000000{i:02d}"}))[2]["call_id"]
           for i in range(5)]
    _, _, page = await call(ctl, "GET", "/calls?limit=2")
    assert [x["call_id"] for x in page["calls"]] == ids[:2] and page["more"] is True and page["count"] == 5
    _, _, page = await call(ctl, "GET", f"/calls?limit=2&after={page['next']}")
    assert [x["call_id"] for x in page["calls"]] == ids[2:4] and page["more"] is True
    _, _, page = await call(ctl, "GET", f"/calls?limit=2&after={page['next']}")
    assert [x["call_id"] for x in page["calls"]] == ids[4:] and page["more"] is False
    assert [x["queue_position"] for x in page["calls"]] == [4]
    _, _, page = await call(ctl, "GET", "/calls?csq=Support")
    assert (page["calls"], page["count"], page["more"]) == ([], 0, False)
    _, _, state = await call(ctl, "GET", "/state?limit=2")
    assert [x["call_id"] for x in state["calls"]] == ids[:2]
    assert (state["calls_total"], state["calls_truncated"]) == (5, 3)
    sales = str(server.center.config.csq("Sales").id)
    assert state["queues"] == {sales: ids[:2]} and state["queues_truncated"] == {sales: 3}  # the head of the queue
    _, _, state = await call(ctl, "GET", "/state?limit=0")
    assert (state["calls"], state["queues"], state["queues_truncated"]) == ([], {sales: []}, {sales: 5})
    _, _, state = await call(ctl, "GET", "/state")
    assert state["calls_truncated"] == 0 and len(state["calls"]) == 5
    assert state["queues"] == {sales: ids} and state["queues_truncated"] == {}


@pytest.mark.parametrize("path,status,field,needle", [
    ("/calls/16777999", 404, "call", "unknown call '16777999'"),
    ("/calls/abc", 404, "call", "unknown call 'abc'"),
    ("/calls?limit=0", 400, "limit", "between 1 and 100000"),
    ("/calls?after=-1", 400, "after", "non-negative integer"),
    ("/calls?agent=9999", 400, "agent", "allowed: 1001"),
    ("/calls?csq=Sale", 400, "csq", "did you mean Sales"),
    ("/calls?state=x", 400, "state", "unknown query parameter"),
    ("/calls/16777216?x=1", 400, "x", "this endpoint takes none"),
    ("/state?limit=x", 400, "limit", "non-negative integer"),
    # a number of 19 digits and more was "must be a non-negative integer": it is one, too large
    ("/calls?after=4611686018427387905", 400, "after",
     "'after' must be between 0 and 4611686018427387904, got 4611686018427387905"),
    ("/state?limit=" + "9" * 5000, 400, "limit", "between 0 and 100000, got 99999999999999999999… (5000 digits)"),
])
@pytest.mark.asyncio
async def test_call_views_refuse_unknown_calls_and_bad_queries(mock, path, status, field, needle):
    server, ctl = mock
    _, _, err = await call(ctl, "GET", path, expect=status)
    assert err["field"] == field and needle in err["error"], err


# -- stop(): requests in flight --------------------------------------------------------------------------


def _run_on(loop: str, main) -> None:
    factory = pytest.importorskip("uvloop").new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """Everything the API sends until the end of the stream (bounded: 10 s a read, 1,000 reads)."""
    out = b""
    for _ in range(1_000):
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"no end of stream after {len(out)} bytes")


def _post(path: str, body: dict) -> tuple[bytes, bytes]:
    """A POST's head (keep-alive) and its JSON body."""
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode(), data


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_stop_lets_a_request_being_applied_finish_and_answers_it(loop):
    """stop() cancelled every request at once: a POST /reset waiting for the sessions it dropped was cut
    there (the sessions dropped, the center and the journal left as they were, half applied) and its
    client read a bare close, no answer. Now a request whose handler has begun finishes within stop_grace
    and is answered (Connection: close): the reset is whole."""
    in_drop, release = asyncio.Event(), asyncio.Event()

    class Slow(ControlServer):  # holds the reset inside its await, where stop() comes in
        async def _drop_all(self, reason):
            in_drop.set()
            await release.wait()
            return await super()._drop_all(reason)

    async def main():
        nonlocal in_drop, release
        in_drop, release = asyncio.Event(), asyncio.Event()  # (this loop's)
        server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
        ctl = await Slow(server, "127.0.0.1", 0).start()
        cti = await CTIClient.connect(server.host, server.port)
        await cti.open_bridge(heartbeat=0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", ctl.port)
            head, body = _post("/reset", {"seed": 3})
            writer.write(head + body)
            await asyncio.wait_for(in_drop.wait(), 10)
            stopping = asyncio.create_task(ctl.stop())
            for _ in range(5):
                await asyncio.sleep(0)
            release.set()
            status, headers, answer = parse_raw(await _answer(reader))
            writer.close()
            await asyncio.wait_for(stopping, 10)
            assert (status, answer["reset"], headers["connection"]) == (200, True, "close")
            assert [e.data["what"] for e in server.journal.entries(kind="note")] == ["control API reset"]
            assert not server.hub.conns
        finally:
            await cti.close()
            await ctl.stop()
            await server.stop()

    _run_on(loop, main)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_request_not_begun_when_stop_begins_is_answered_503_and_not_applied(loop):
    """A request whose body was still coming when stop() began, and one sent on a keep-alive connection
    after it: the connection was closed without an answer (was it applied?). Now each is answered 503
    "the control API is stopping; ... was not applied", and it is not; an idle keep-alive connection is
    closed at once (stop() does not wait its grace for it)."""
    async def main():
        server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
        ctl = await ControlServer(server, "127.0.0.1", 0).start()
        ctl.stop_grace = 30.0  # (stop() returns once both are answered: it need not wait this long)
        try:
            idle_r, idle_w = await asyncio.open_connection("127.0.0.1", ctl.port)
            idle_w.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            idle_head = await asyncio.wait_for(idle_r.readuntil(b"\r\n\r\n"), 10)
            length = int(re.search(rb"Content-Length: (\d+)", idle_head).group(1))
            await asyncio.wait_for(idle_r.readexactly(length), 10)  # answered, kept alive
            reader, writer = await asyncio.open_connection("127.0.0.1", ctl.port)
            head, body = _post("/agents/1001/state", {"state": "LOGIN"})
            writer.write(head + body[:5])
            # its head is in (it waits no more): the body is being read
            await wait_for(lambda: len(ctl._clients) == 2 and len(ctl._waiting) == 1, timeout=10)
            stopping = asyncio.create_task(ctl.stop())
            for _ in range(5):
                await asyncio.sleep(0)
            writer.write(body[5:])
            status, headers, answer = parse_raw(await _answer(reader))
            assert (status, headers["connection"]) == (503, "close")
            assert answer["error"] == "the control API is stopping; POST /agents/1001/state was not applied"
            assert await asyncio.wait_for(idle_r.read(), 10) == b""  # the idle one: closed, no answer
            await asyncio.wait_for(stopping, 10)
            assert server.center.agents["1001"].state == AS.AGENT_STATE_LOGOUT
            writer.close()
            idle_w.close()
        finally:
            await ctl.stop()
            await server.stop()

    _run_on(loop, main)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_request_sent_before_stop_and_not_yet_read_is_answered_503(loop):
    """A request a client had sent when stop() began, still in the socket unread (a harness's POST /reset as
    serve shuts down): stop() took its connection for an idle one and closed it, unread data and all, so the
    client got a reset and no answer (was it applied?). Now stop() reads what has come before it sorts the
    connections: each such request is answered 503 "... was not applied" and is not; an idle one is still
    closed without an answer; a CTI client heartbeats on through it."""
    async def main():
        server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
        ctl = await ControlServer(server, "127.0.0.1", 0).start()
        cti = await CTIClient.connect(server.host, server.port)
        await cti.open_bridge(heartbeat=0)
        try:
            kept_r, kept_w = await asyncio.open_connection("127.0.0.1", ctl.port)  # keep-alive, answered once
            kept_w.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            kept_head = await asyncio.wait_for(kept_r.readuntil(b"\r\n\r\n"), 10)
            await asyncio.wait_for(kept_r.readexactly(int(re.search(rb"Content-Length: (\d+)", kept_head)[1])), 10)
            new_r, new_w = await asyncio.open_connection("127.0.0.1", ctl.port)  # accepted, nothing sent yet
            idle_r, idle_w = await asyncio.open_connection("127.0.0.1", ctl.port)  # sends nothing
            await wait_for(lambda: len(ctl._waiting) == 3, timeout=10)
            head, body = _post("/agents/1001/state", {"state": "LOGIN"})
            kept_w.write(head + body)  # (written to the socket at once: the API has read none of it)
            head, body = _post("/calls", {"csq": "Sales"})
            new_w.write(head + body)
            await ctl.stop()
            for reader, path in ((kept_r, "/agents/1001/state"), (new_r, "/calls")):
                status, headers, answer = parse_raw(await _answer(reader))
                assert (status, headers["connection"]) == (503, "close"), answer
                assert answer["error"] == f"the control API is stopping; POST {path} was not applied"
            assert await asyncio.wait_for(idle_r.read(), 10) == b""  # the idle one: closed, no answer
            assert server.center.agents["1001"].state == AS.AGENT_STATE_LOGOUT and not server.center.calls
            hb = await cti.request(HeartbeatReq(invoke_id=cti.next_invoke_id()))
            assert hb.TYPE is MT.HEARTBEAT_CONF and not cti.closed.is_set()
            for w in (kept_w, new_w, idle_w):
                w.close()
        finally:
            await cti.close()
            await ctl.stop()
            await server.stop()

    _run_on(loop, main)


@pytest.mark.asyncio
async def test_a_change_sent_while_a_reset_is_being_applied_is_applied_after_it(mock):
    """POST /reset waits for the sessions it drops; a POST /scenario sent meanwhile was applied inside it and
    answered 200 (scenario B loaded), then the reset went on with what it had read before: it restarted
    scenario A, and B was gone, an outcome no order of the two requests gives. The changes are now applied one
    at a time, in the order they come: B, sent after the reset, is loaded after it, and stays."""
    server, _ = mock
    in_drop, release = asyncio.Event(), asyncio.Event()

    class Slow(ControlServer):  # holds the reset inside its await, where the other request comes in
        async def _drop_all(self, reason):
            if reason == "control API reset":
                in_drop.set()
                await release.wait()
            return await super()._drop_all(reason)

    ctl = await Slow(server, "127.0.0.1", 0).start()
    cti = await CTIClient.connect(server.host, server.port)
    await cti.open_bridge(heartbeat=0)
    try:
        await call(ctl, "POST", "/scenario", {"yaml": "name: A\n"})
        reset = asyncio.create_task(call(ctl, "POST", "/reset"))
        await asyncio.wait_for(in_drop.wait(), 10)
        load_b = asyncio.create_task(call(ctl, "POST", "/scenario", {"yaml": "name: B\n"}))
        done, _ = await asyncio.wait({load_b}, timeout=1.0)  # (without the order, B was loaded and answered here)
        release.set()
        (_, _, reset_answer), (_, _, b_answer) = await asyncio.wait_for(asyncio.gather(reset, load_b), 10)
        assert not done
        assert (reset_answer["scenario"], b_answer["scenario"]) == ("A", "B")
        _, _, now = await call(ctl, "GET", "/scenario")
        assert now["scenario"] == "B" and server.hub.engine.scenario.name == "B"
    finally:
        release.set()
        await ctl.stop()
        await cti.abort()


@pytest.mark.asyncio
async def test_a_body_in_a_coding_or_charset_the_api_does_not_read_is_415_naming_it(mock):
    """A body sent with Content-Encoding: gzip was read as it came ("the body is not UTF-8: ... byte 0x8b"), and
    one whose Content-Encoding the API ignored was applied as if it were not coded (Content-Encoding: br on
    plain JSON reset the center); a charset other than UTF-8 was "not UTF-8". Each is now 415 naming the header
    (RFC 9110 §15.5.16: Accept-Encoding: identity says what the API takes) and nothing is applied."""
    server, ctl = mock
    hdr = {"Content-Type": "application/json"}
    await call(ctl, "POST", "/agents/1001/state", {"state": "LOGIN"})
    for coding in ("gzip", "br", "GZIP, identity"):
        _, headers, err = await call(ctl, "POST", "/reset", raw_body=b'{"seed": 7}', expect=415,
                                     headers={**hdr, "Content-Encoding": coding})
        assert err == {"error": f"the body is coded ({coding}); the control API takes it as it is: send it without "
                                "Content-Encoding", "field": "Content-Encoding"}, err
        assert headers["accept-encoding"] == "identity"
    _, _, err = await call(ctl, "POST", "/reset", raw_body='{"seed": 7}'.encode("utf-16"), expect=415,
                           headers={"Content-Type": "application/json; charset=UTF-16"})
    assert err == {"error": "the body is in charset 'UTF-16'; JSON is UTF-8 (RFC 8259): send it so",
                   "field": "Content-Type"}, err
    assert server.center.agents["1001"].state == AS.AGENT_STATE_NOT_READY  # no reset
    for extra in ({"Content-Encoding": "identity"}, {"Content-Type": 'application/json; charset="utf-8"'}):
        await call(ctl, "POST", "/agents/1002/state", raw_body=b'{"state": "LOGIN"}', headers={**hdr, **extra})
        await call(ctl, "POST", "/agents/1002/state", raw_body=b'{"state": "LOGOUT"}', headers={**hdr, **extra})
    _, _, h = await call(ctl, "GET", "/health", headers={"Content-Encoding": "gzip"})  # no body: nothing to decode
    assert h["ok"] is True


@pytest.mark.asyncio
async def test_unloading_a_scenario_that_brought_its_center_leaves_that_center_until_a_reset(mock):
    """DELETE /scenario restores the server's dialect for new connections but not its center: the scenario's
    stays, its sessions open, and POST /reset rebuilds the server's own. GET / said only "unload the scenario"
    (a harness then found agent 1004 unknown, with nothing saying why); it now says what stays."""
    pytest.importorskip("mockcti.scenario.engine")
    path = os.path.join(SCENARIOS, "login-success.yaml")
    server, ctl = mock
    await call(ctl, "POST", "/scenario", {"path": path})  # its center: agents 1001..1003
    c = await agent_client(server, "1001", ready=True)
    try:
        _, _, r = await call(ctl, "DELETE", "/scenario")
        assert r == {"scenario": None, "previous": "login-success"}
        assert sorted(server.center.agents) == ["1001", "1002", "1003"] and not c.closed.is_set()
        _, _, err = await call(ctl, "POST", "/agents/1004/state", {"state": "LOGIN"}, expect=404)
        assert err["error"].endswith("; allowed: 1001, 1002, 1003")
        _, _, index = await call(ctl, "GET", "/")
        assert index["endpoints"]["DELETE /scenario"] == ("unload the scenario (a center it brought stays, its "
                                                          "sessions open, until POST /reset)")
        sid = c_sid(server)
        _, _, r = await call(ctl, "POST", "/reset")
        assert r["dropped"] == [sid]
        assert sorted(server.center.agents) == ["1001", "1002", "1003", "1004"]
    finally:
        await c.abort()


@pytest.mark.asyncio
@pytest.mark.parametrize("ctype, fmt", [("application/yaml", "yaml"), ("text/x-yaml; charset=utf-8", "yaml"),
                                        ("application/toml", "toml")])
async def test_a_scenario_file_posted_as_the_body_is_told_how_to_send_it(mock, ctype, fmt):
    """curl --data-binary @scenario.yaml -H 'Content-Type: application/yaml' $C/scenario was told "with curl use
    --json", and curl --json @scenario.yaml then sent YAML as JSON ("not valid JSON"). The 415 now says how the
    API takes a scenario's text, with a command that sends it so; nothing is loaded."""
    server, ctl = mock
    text = b"name: posted\n" if fmt == "yaml" else b'name = "posted"\n'
    _, _, err = await call(ctl, "POST", "/scenario", raw_body=text, headers={"Content-Type": ctype}, expect=415)
    assert err == {"error": f"POST /scenario takes JSON, not {ctype.split(';')[0]!r}: the scenario's text as "
                            f"{{\"{fmt}\": \"...\"}} (jq -Rs '{{{fmt}: .}}' scenario.{fmt} | curl --json @- "
                            f"{ctl.url}/scenario), or {{\"path\": \"scenario.{fmt}\"}} for a file the server reads",
                   "field": "Content-Type"}, err
    assert server.hub.engine is None
    _, _, err = await call(ctl, "POST", "/calls", raw_body=text, headers={"Content-Type": ctype}, expect=415)
    assert err["error"].startswith("the body must be JSON (Content-Type: application/json)")  # other endpoints: as before


@pytest.mark.asyncio
async def test_a_scenario_file_sent_as_json_is_told_how_to_send_it(mock):
    """curl --json @scenario.yaml sends the file's text as the JSON body: it was "the body is not valid JSON:
    Expecting value at line 1 column 1", nothing saying where a scenario's text goes. POST /scenario now adds it."""
    server, ctl = mock
    _, _, err = await call(ctl, "POST", "/scenario", raw_body=b"name: posted\nexpect: []\n",
                           headers={"Content-Type": "application/json"}, expect=400)
    assert err["error"] == ("the body is not valid JSON: Expecting value at line 1 column 1; a scenario's text goes "
                            "in a JSON object, {\"yaml\": \"...\"} or {\"toml\": \"...\"}: jq -Rs '{yaml: .}' "
                            f"scenario.yaml | curl --json @- {ctl.url}/scenario"), err
    assert server.hub.engine is None
    _, _, err = await call(ctl, "POST", "/calls", raw_body=b"name: posted\n", headers={"Content-Type": "application/json"},
                           expect=400)
    assert err["error"] == "the body is not valid JSON: Expecting value at line 1 column 1"  # elsewhere: as before


@pytest.mark.asyncio
async def test_a_path_whose_agent_or_call_is_empty_says_so(mock):
    """curl -X POST "$C/calls/$CALL/hangup" with $CALL unset sends /calls//hangup: it was "no endpoint
    '/calls//hangup' (did you mean /calls/hangup? a '/' too many)", a GET of a call named 'hangup'. A path that is
    an endpoint's with its {agent} or {call} empty now says that one is empty; the doubled-'/' hint names only an
    endpoint taking the request's method."""
    _, ctl = mock
    for method, path, field, also in (("POST", "/calls//hangup", "call", ""), ("POST", "/agents//state", "agent", ""),
                                      ("GET", "/calls/", "call", " (or did you mean /calls? a '/' too many)")):
        _, _, err = await call(ctl, method, path, {} if method == "POST" else None, expect=404)
        assert err == {"error": f"the path {path!r} names no {field}: its {{{field}}} is empty (an unset variable "
                                f"in the URL?){also}", "field": field}, err
    _, _, err = await call(ctl, "POST", "/calls/1//hangup", {}, expect=404)  # /calls/1/hangup takes POST: a hint
    assert err["error"].startswith("no endpoint '/calls/1//hangup' (did you mean /calls/1/hangup? a '/' too many)")
    _, _, err = await call(ctl, "POST", "//health", {}, expect=404)  # GET /health takes no POST: no hint
    assert err["error"].startswith("no endpoint '//health'; endpoints: ")
