"""``mockcti serve --calls-per-minute N``: the statistics line, the summary and ``--json``, as ``--load`` has them."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest
from processes import reap

from mockcti.center import ContactCenter, default_center
from mockcti.hub import Hub
from mockcti.wire import Dialect, encode
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.messages import AnswerCallReq, ClearConnectionReq, OpenReq

#: the live line of --calls-per-minute: its counts and nothing of --load's that has no meaning here
LINE = re.compile(r"calls-per-minute t= *\d+\.\ds offered (\d+) answered (\d+) active (\d+) queued (\d+) "
                  r"cleared (\d+) abandoned (\d+) messages/s \d+ clients (\d+)")


def _serve(*args: str) -> subprocess.Popen:
    """``mockcti serve --port 0 --loop asyncio ARGS`` in a subprocess (this checkout's code), stdout and stderr piped."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"),) if p)}
    return subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--loop", "asyncio", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _until(proc: subprocess.Popen, enough, seconds: float = 30.0) -> bytes:
    """stderr read until ``enough(text so far)`` (bounded: ``seconds``, or the process ended)."""
    err = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not enough(err.decode()):
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            err += chunk
    return err


def _terminated(proc: subprocess.Popen, enough) -> tuple[str, str]:
    """Run ``proc`` until ``enough`` of its stderr, then SIGTERM: (stdout, stderr) of the whole run."""
    try:
        err = _until(proc, enough)
        assert proc.poll() is None, err.decode()
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=30)
    finally:
        reap(proc)
    return out.decode(), (err + rest).decode()


def _lines(err: str) -> list[tuple[int, ...]]:
    return [tuple(int(n) for n in m.groups()) for m in map(LINE.fullmatch, err.splitlines()) if m]


def _abandoned_seen(err: str) -> bool:
    return any(line[5] > 0 for line in _lines(err))


def test_calls_per_minute_shows_a_line_a_second_and_a_summary_at_the_end():
    """A user running --calls-per-minute could not see whether the callers were answered, abandoned or queued: no
    line, no summary. Now a line a second on stderr, as --load's (offered, answered, active, queued, cleared,
    abandoned, messages/s, clients: no hold, transfer, handle time, which do not apply), and a summary at SIGTERM.
    Nobody answers here (the default center's agents are logged out): every caller waits in the queue, then
    abandons after --abandon-after."""
    proc = _serve("--log-level", "warning", "--calls-per-minute", "600", "--abandon-after", "0.5", "--seed", "1")
    out, err = _terminated(proc, _abandoned_seen)
    assert proc.returncode == 0, err
    assert out.startswith("mockcti listening on 127.0.0.1:")
    text = err.splitlines()
    lines = _lines(err)
    assert lines and all(line.startswith("calls-per-minute t=") for line in text
                         if line.startswith("calls-per-minute")), err
    for offered, answered, active, queued, cleared, abandoned, clients in lines:
        assert answered == 0 and clients == 0
        assert queued == active and abandoned == cleared and offered == cleared + active  # nobody answers
    assert lines[-1][0] > 0 and lines[-1][5] > 0
    (summary,) = [x for x in text if x.startswith("mockcti calls-per-minute summary:")]
    words = summary.split()[3:]
    counts = dict(zip(words[::2], words[1::2]))
    assert list(counts) == ["offered", "answered", "active", "queued", "cleared", "abandoned", "lost", "duration"]
    n = {k: int(v) for k, v in counts.items() if k != "duration"}
    assert n["offered"] >= lines[-1][0] and n["answered"] == 0 and n["lost"] == 0
    assert n["offered"] == n["cleared"] + n["active"] + n["lost"] and n["abandoned"] == n["cleared"] > 0
    assert re.fullmatch(r"\d+\.\ds", counts["duration"]) and float(counts["duration"][:-1]) >= len(lines)


def test_calls_per_minute_json_writes_the_statistics_and_the_summary_as_json_lines_on_stdout():
    """serve --json --calls-per-minute: stdout stays JSON lines, with a "calls_per_minute" object a second (t on the
    journal's clock, elapsed, the counts, messages_per_s, clients) and a last "calls_per_minute_summary" with the
    summary's counts and duration; the text line and summary stay on stderr. --load's figures that have no meaning
    here are not in them (not written as zeros)."""
    proc = _serve("--json", "--log-level", "warning", "--calls-per-minute", "600", "--abandon-after", "0.5")
    out, err = _terminated(proc, _abandoned_seen)
    assert proc.returncode == 0, err
    objects = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "listening" and kinds.count("calls_per_minute_summary") == 1, kinds
    seconds = [o for o in objects if o["kind"] == "calls_per_minute"]
    assert seconds and kinds.index("calls_per_minute_summary") > kinds.index("calls_per_minute")
    counts = ["offered", "answered", "active", "queued", "cleared", "abandoned", "lost"]
    assert list(seconds[-1]) == ["kind", "t", "elapsed", *counts, "messages_per_s", "clients"]
    assert seconds[-1]["abandoned"] > 0 and seconds[-1]["elapsed"] <= seconds[-1]["t"]
    lines = _lines(err)
    assert [tuple(o[k] for k in counts[:6]) + (o["clients"],) for o in seconds] == lines[:len(seconds)]
    summary = objects[kinds.index("calls_per_minute_summary")]
    assert list(summary) == ["kind", "t", *counts, "duration"]
    (text,) = [x for x in err.splitlines() if x.startswith("mockcti calls-per-minute summary:")]
    words = text.split()[3:]
    said = dict(zip(words[::2], words[1::2]))
    assert {k: str(summary[k]) for k in counts} == {k: said[k] for k in counts}
    assert f"{summary['duration']:.1f}s" == said["duration"]


def test_with_load_each_has_its_line_and_summary_and_the_answered_calls_agree():
    """--load's agents answer the --calls-per-minute calls that ring at them (other_answered in its summary): the
    calls-per-minute line counts them answered, its summary's answered is --load's other_answered, and each
    generator keeps its own line and summary."""
    proc = _serve("--log-level", "warning", "--calls-per-minute", "300", "--abandon-after", "5", "--load",
                  "calls_per_s=1,limit=1,at_limit=serve,handle_time=0.3,answer_after=0.05,hold=0,transfer=0,"
                  "conference=0")
    out, err = _terminated(proc, lambda text: any(line[1] >= 3 for line in _lines(text)))
    assert proc.returncode == 0, err
    text = err.splitlines()
    assert any(x.startswith("load t=") for x in text) and _lines(err)[-1][1] >= 3, err
    (mine,) = [x for x in text if x.startswith("mockcti calls-per-minute summary:")]
    (load,) = [x for x in text if x.startswith("mockcti load summary:")]
    words, load_words = mine.split()[3:], load.split()[3:]
    counts, load_counts = dict(zip(words[::2], words[1::2])), dict(zip(load_words[::2], load_words[1::2]))
    assert int(counts["answered"]) == int(load_counts["other_answered"]) >= 3, (mine, load)
    assert int(counts["offered"]) == int(counts["cleared"]) + int(counts["active"]) + int(counts["lost"])


def test_calls_per_minute_quiet_prints_no_line_and_no_summary():
    """--quiet: as with --load, neither the line nor the summary (errors and warnings only)."""
    proc = _serve("--quiet", "--calls-per-minute", "600", "--abandon-after", "0.5")
    try:
        err = _until(proc, lambda text: False, seconds=2.5)  # two lines' time: nothing comes
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=30)
    finally:
        reap(proc)
    assert proc.returncode == 0 and (err + rest).decode() == "", err + rest
    assert out.decode().startswith("mockcti listening on ") and len(out.decode().splitlines()) == 1, out


# -- the counts (mockcti.hub.InboundCalls), pure -------------------------------------------------------------


def _desk(hub: Hub, agent: str, device: str) -> int:
    sid = hub.connect(0.0)
    hub.receive(sid, encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=3600, services_requested=0x7,
                                    call_msg_mask=0xFFFFFF, agent_state_mask=0x3FFF, client_id=f"desk{agent}",
                                    client_password=b"", agent_id=agent, agent_instrument=device,
                                    agent_extension=device), Dialect.uccx(14)), 0.0)
    hub.deliver(hub.center.set_agent_state(0.0, agent, AS.AGENT_STATE_LOGIN))
    hub.deliver(hub.center.set_agent_state(0.0, agent, AS.AGENT_STATE_READY))
    return sid


def test_the_counts_follow_each_call_answered_or_abandoned_queued_or_lost():
    """A desktop answers the first call that rings at it and hangs up at once (between two readings of the counts:
    still answered); the other callers wait in the queue, then abandon; a center put in its place takes the calls
    in progress with it (lost). offered = cleared + active + lost throughout."""
    d = Dialect.uccx(14)
    hub = Hub(ContactCenter(default_center()))
    desk = _desk(hub, "1001", "3001")
    calls = hub.start_inbound_calls(0.0, 60, seed=1, csqs=["Sales"], abandon_after=30)
    first = None
    for i in range(1, 601):  # bounded: 10 minutes of the hub's clock, a tick a second
        hub.tick(float(i))
        arrived = [e.data["call_id"] for e in hub.journal.entries(kind="happening") if e.data["what"] == "inbound call"]
        if arrived and first is None:
            first = arrived[0]
            invoke = 2
            for req in (AnswerCallReq(invoke_id=invoke, call_id=first, connection_device_id="3001"),
                        ClearConnectionReq(invoke_id=invoke + 1, call_id=first, connection_device_id="3001")):
                hub.receive(desk, encode(req, d), float(i))
            assert first not in hub.center.calls  # answered and over before the counts were read
        if len(arrived) >= 12:
            break
    s = calls.summary()
    assert s["answered"] == 1 and s["offered"] == len(arrived) >= 12, s
    assert s["offered"] == s["cleared"] + s["active"] + s["lost"] and s["lost"] == 0
    # 1001 is the only agent: one call at most rings at its phone (nobody answers any more), the others queue
    ringing = len(hub.center.agent_call_legs("1001"))
    assert ringing <= 1 and s["queued"] == s["active"] - ringing > 0 and s["cleared"] == 1 + s["abandoned"]
    for k in range(1, 40):  # their callers' patience runs out
        hub.tick(float(i + k))
    s = calls.summary()
    assert s["abandoned"] >= 11 and s["offered"] == s["cleared"] + s["active"]
    active = s["active"]
    hub.center = ContactCenter(default_center())  # the control API's POST /reset
    s = calls.summary()
    assert s["lost"] == active and s["active"] == 0 and s["offered"] == s["cleared"] + s["lost"], s


@pytest.mark.parametrize("per_minute", [5e-324, 1e-322, -1.0, float("nan"), float("inf")])
def test_start_inbound_calls_refuses_a_rate_it_cannot_draw_arrivals_from(per_minute):
    """From Python, as serve --calls-per-minute does from the command line: a rate above 0 that is 0 a second
    (5e-324 / 60) raised ZeroDivisionError drawing the first arrival; a negative or nan one placed no call, silently;
    an infinite one placed calls with no gap between them. A ValueError names the argument and the value."""
    hub = Hub(ContactCenter(default_center()))
    with pytest.raises(ValueError, match=r"^per_minute must be 0 \(off\) or a finite number of calls a minute above "
                                         r"0 whose rate a second \(per_minute / 60\) is above 0 too, not ") as e:
        hub.start_inbound_calls(0.0, per_minute, seed=1)
    assert str(e.value).endswith(f", not {per_minute!r}")
    hub.tick(60.0)
    assert not hub.center.calls  # nothing was started
    off = hub.start_inbound_calls(0.0, 0, seed=1)  # 0: off, no error
    hub.tick(120.0)
    assert off.summary()["offered"] == 0 and not hub.center.calls


def test_no_call_arrives_once_serve_is_told_to_stop(monkeypatch, capsys):
    """Ctrl-C / SIGTERM: the callers stop arriving before the server's shutdown (which lets clients drain for up to
    its grace, and under load runs late), as --load's do. They went on arriving while the clients were being told
    the server went offline and disconnected, calls no client could see, and the summary counted them."""
    from slow_stop import serve_with_a_slow_stop  # tests/support

    status = serve_with_a_slow_stop(monkeypatch, ["--port", "0", "--loop", "asyncio", "--log-level", "error",
                                                  "--calls-per-minute", "600"])
    assert status == 0
    err = capsys.readouterr().err.splitlines()
    (summary,) = [line for line in err if line.startswith("mockcti calls-per-minute summary:")]
    offered = int(summary.split(" offered ")[1].split()[0])
    assert offered <= 1, summary  # what arrived before the stop at most (~50 arrived during the shutdown)
