"""``--retry-loop TIMES[,GAP]|off`` of ``mockcti run`` and ``mockcti serve``: PROTO-RETRY-LOOP (a mock rule) was
set only through HubConfig.retry_loop_times / retry_loop_gap, out of reach of a command-line user. A real client
over a socket sends the same wrong login several times in a row, each right after its refusal."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from processes import reap  # tests/support
from raw_client import PRELUDE  # tests/support

# the client under test: opens an agent session, sends the same wrong login ARGV[1] times (each after the refusal
# of the one before), closes and exits 0
LOOPING_CLIENT = PRELUDE + """\
s.sendall(open_req(1, "loop"))
assert read_one().TYPE.name == "OPEN_CONF"
for i in range(int(sys.argv[1])):
    s.sendall(encode(W.SetAgentStateReq(invoke_id=10 + i, agent_state=1, agent_id="1001", agent_password="wrong",
                                        agent_instrument="3001"), D))
    while True:  # its refusal (events may come between)
        m = read_one()
        if getattr(m, "invoke_id", None) == 10 + i:
            assert m.TYPE.name.endswith("FAILURE_CONF"), m
            break
s.sendall(encode(W.CloseReq(invoke_id=99), D))
while read_one().TYPE.name != "CLOSE_CONF":
    pass
"""

SCENARIO = """\
name: login-loop
expect:
  - {message: SET_AGENT_STATE_REQ, min: 1}
end: {after: 30}
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "client.py").write_text(LOOPING_CLIENT)
    (tmp_path / "loop.yaml").write_text(SCENARIO)
    return tmp_path


def _run(tmp: Path, times: int, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    client = shlex.join([sys.executable, str(tmp / "client.py"), str(times)])
    r = subprocess.run([sys.executable, "-m", "mockcti", "run", str(tmp / "loop.yaml"), "--report", str(tmp / "rep"),
                        "--timeout", "20", "--client-cmd", client, *options],
                       capture_output=True, text=True, timeout=90, cwd=tmp)
    summary = json.loads((tmp / "rep" / "summary.json").read_text(encoding="utf-8")) if r.returncode != 2 else {}
    return r, summary


def test_the_defaults_said_are_the_hub_config_defaults():
    from mockcti.commands import DEFAULT_RETRY_LOOP_GAP, DEFAULT_RETRY_LOOP_TIMES
    from mockcti.hub import HubConfig

    assert (DEFAULT_RETRY_LOOP_TIMES, DEFAULT_RETRY_LOOP_GAP) == (HubConfig().retry_loop_times,
                                                                  HubConfig().retry_loop_gap)


@pytest.mark.parametrize("option, times, flagged", [
    ((), 3, True),                       # the default: 3 in a row
    (("--retry-loop", "off"), 6, False),
    (("--retry-loop", "5"), 4, False),   # 4 of 5
    (("--retry-loop", "5,1"), 5, True),
    (("--retry-loop", "2"), 2, True),
])
def test_run_takes_the_rule_s_count_or_turns_it_off(files, option, times, flagged):
    r, summary = _run(files, times, *option)
    assert r.returncode == (1 if flagged else 0), r.stderr
    rules = [v["rule"] for v in summary["violations"]]
    assert rules == (["PROTO-RETRY-LOOP"] if flagged else []), r.stderr
    assert ("VIOLATION PROTO-RETRY-LOOP: SET_AGENT_STATE_REQ sent" in r.stderr) is flagged
    if flagged:
        (v,) = summary["violations"]
        assert v["detail"].startswith(f"SET_AGENT_STATE_REQ sent {times} times in a row"), v


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("value", ["1", "0", "abc", "3,0", "3,-1", "3,nan", "3,inf", "3,", "", "2.5", "5,1,2",
                                   "1000001"])
def test_a_bad_value_is_a_usage_error_naming_the_option_and_the_value(files, command, value):
    argv = [sys.executable, "-m", "mockcti", command, "--retry-loop", value]
    argv += [str(files / "loop.yaml"), "--report", str(files / "rep")] if command == "run" else ["--port", "0"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=files)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert f"mockcti {command}: error: argument --retry-loop: {value!r}: " in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (files / "rep").exists()


def _serve(tmp: Path, times: int, *options: str) -> dict:
    """`mockcti serve` with ``options``; the looping client against it over a socket; SIGTERM; its summary.json."""
    reports = tmp / "serve-rep"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--quiet", "--report",
                             str(reports), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mockcti listening on 127.0.0.1:"), line + proc.stderr.read()
        port = line.split()[3].rsplit(":", 1)[1]
        client = subprocess.run([sys.executable, str(tmp / "client.py"), str(times)], capture_output=True, text=True,
                                timeout=60, env=dict(os.environ, CTI_HOST="127.0.0.1", CTI_PORT=port))
        assert client.returncode == 0, client.stdout + client.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        reap(proc)
    return json.loads((reports / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("option, times, flagged", [((), 3, True), (("--retry-loop", "off"), 6, False),
                                                     (("--retry-loop", "4,2"), 3, False)])
def test_serve_takes_the_rule_s_count_or_turns_it_off(files, option, times, flagged):
    summary = _serve(files, times, *option)
    assert summary["violations_by_rule"] == ({"PROTO-RETRY-LOOP": 1} if flagged else {}), summary["violations"]


# -- the scenario's `retry_loop:` -------------------------------------------------------------------------------

def _scenario(tmp: Path, retry_loop: str) -> Path:
    path = tmp / "loop.yaml"
    path.write_text(SCENARIO + f"retry_loop: {retry_loop}\n")
    return path


@pytest.mark.parametrize("retry_loop, option, times, flagged", [
    ("{times: 0}", (), 6, False),                              # a scenario whose client is meant to retry
    ("{times: 5}", (), 4, False),
    ("{times: 5}", (), 5, True),
    ("{gap: 5}", (), 3, True),                                 # the default count with a gap of its own
    ("{times: 0}", ("--retry-loop", "3"), 3, True),            # the command line wins
    ("{times: 2}", ("--retry-loop", "off"), 4, False),
])
def test_run_takes_the_scenario_s_retry_loop_and_the_option_wins(files, retry_loop, option, times, flagged):
    _scenario(files, retry_loop)
    r, summary = _run(files, times, *option)
    assert r.returncode == (1 if flagged else 0), r.stderr
    assert [v["rule"] for v in summary["violations"]] == (["PROTO-RETRY-LOOP"] if flagged else []), r.stderr


@pytest.mark.parametrize("body, error", [
    ("{times: 1}", "loop.yaml:5: retry_loop.times: times 1 would call a single refused request a loop: write 2 or "
                   "more, or 0 to turn PROTO-RETRY-LOOP off"),
    ("{times: 5, gap: 0}", "loop.yaml:5: retry_loop.gap: must be > 0, got 0"),
    ("{times: -1}", "loop.yaml:5: retry_loop.times: must be >= 0, got -1"),
    ("{times: 3, every: 2}", "loop.yaml:5: retry_loop.every: unknown key 'every'; allowed: gap, times"),
    ("off", "loop.yaml:5: retry_loop: expected a mapping, got a boolean (false): write {times: 0} to turn "
            "PROTO-RETRY-LOOP off, or {times: N, gap: SECONDS}"),
])
def test_a_bad_retry_loop_is_an_error_naming_file_line_and_key(files, body, error):
    path = _scenario(files, body)
    r, _ = _run(files, 3)
    assert r.returncode == 2 and f"mockcti run: {path.parent}/{error}" in r.stderr.splitlines(), r.stderr
    assert "Traceback" not in r.stderr and not (files / "rep").exists()


@pytest.mark.parametrize("retry_loop, option, times, flagged", [
    ("{times: 0}", (), 5, False),
    ("{times: 0}", ("--retry-loop", "3"), 3, True),            # the command line wins
    ("{times: 2}", (), 2, True),
])
def test_serve_scenario_takes_its_retry_loop_and_the_option_wins(files, retry_loop, option, times, flagged):
    path = _scenario(files, retry_loop)
    summary = _serve(files, times, "--scenario", str(path), *option)
    assert summary["violations_by_rule"] == ({"PROTO-RETRY-LOOP": 1} if flagged else {}), summary["violations"]


@pytest.mark.parametrize("option, flagged", [((), False), (("--retry-loop", "3"), True)])
def test_a_scenario_the_control_api_loads_brings_its_retry_loop_unless_the_option_was_given(files, option, flagged):
    import urllib.request

    reports = files / "serve-rep"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--json", "--log-level", "error",
                             "--control-port", "0", "--report", str(reports), *option],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listening = json.loads(proc.stdout.readline())
        body = json.dumps({"yaml": SCENARIO + "retry_loop: {times: 0}\n"}).encode()
        request = urllib.request.Request(listening["control_url"] + "/scenario", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        client = subprocess.run([sys.executable, str(files / "client.py"), "3"], capture_output=True, text=True,
                                timeout=60, env=dict(os.environ, CTI_HOST="127.0.0.1", CTI_PORT=str(listening["port"])))
        assert client.returncode == 0, client.stdout + client.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        reap(proc)
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["violations_by_rule"] == ({"PROTO-RETRY-LOOP": 1} if flagged else {}), summary["violations"]


def test_the_scenario_engine_s_hub_config_has_the_retry_loop(tmp_path):
    """What the pytest plugin's scenario fixtures serve (ScenarioEngine.hub_config, as mockcti run)."""
    from mockcti.scenario import load_scenario
    from mockcti.scenario.engine import ScenarioEngine

    config = ScenarioEngine(load_scenario(_scenario(tmp_path, "{times: 4, gap: 0.25}"))).hub_config()
    assert (config.retry_loop_times, config.retry_loop_gap) == (4, 0.25)
    config = ScenarioEngine(load_scenario(_scenario(tmp_path, "{gap: 2}"))).hub_config()
    assert (config.retry_loop_times, config.retry_loop_gap) == (3, 2.0)


@pytest.mark.parametrize("profile", [None, "uccx"])
@pytest.mark.parametrize("retry_loop, flagged", [("{times: 0}", False), ("{times: 2}", True)])
def test_the_plugin_s_server_serves_the_scenario_s_retry_loop_with_a_profile_given_too(files, profile, retry_loop,
                                                                                        flagged):
    """ThreadedServer(engine=..., profile="uccx"), as a test that names its wire profile writes it: the scenario's
    retry_loop: held only without profile= (the profile made a plain HubConfig and the engine's was never asked)."""
    from mockcti.scenario import load_scenario
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.testing.fixtures import ThreadedServer

    engine = ScenarioEngine(load_scenario(_scenario(files, retry_loop)))
    with ThreadedServer(engine=engine, profile=profile) as server:
        client = subprocess.run([sys.executable, str(files / "client.py"), "3"], capture_output=True, text=True,
                                timeout=60, env=dict(os.environ, CTI_HOST=server.host, CTI_PORT=str(server.port)))
        assert client.returncode == 0, client.stdout + client.stderr
        rules = server.call(lambda hub, now: [e.data["rule"] for e in hub.journal.violations()])
    assert rules == (["PROTO-RETRY-LOOP"] if flagged else []), rules
