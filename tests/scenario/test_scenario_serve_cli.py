"""``mockcti serve --scenario FILE``: the scenario is served as ``mockcti run`` serves it — its
dialect (profile and version range), its seed unless ``--seed`` replaces it (0 included) — and an
invalid file stops the server before it listens, naming file, line and key path."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mockcti.client import CTIClient, RequestFailed
from mockcti.wire import messages as M
from mockcti.wire.enums import StatusCode
from processes import reap  # tests/support


class Served:
    def __init__(self, tmp_path: Path, scenario: str, *args: str) -> None:
        (tmp_path / "s.yaml").write_text(scenario)
        self.proc = subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--log-level", "error",
                                      "--scenario", str(tmp_path / "s.yaml"), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.line = self.proc.stdout.readline()

    @property
    def port(self) -> int:
        assert self.line.startswith("mockcti listening on 127.0.0.1:"), self.line + self.stop()
        return int(self.line.split()[3].split(":")[1])

    def stop(self) -> str:
        """SIGTERM (then SIGKILL after 20 s): what it printed on stderr; its pipes closed. Again: the same."""
        if self.proc.stderr.closed:
            return self.err
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err = self.proc.stderr.read()
        reap(self.proc)
        return self.err


@pytest.fixture
def served(tmp_path):
    started = []

    def start(scenario: str, *args: str) -> Served:
        started.append(Served(tmp_path, scenario, *args))
        return started[-1]

    yield start
    for s in started:
        s.stop()


async def opens(port: int, version: int) -> int | None:
    """None when an agent session opens at ``version``, else the FAILURE_CONF status."""
    c = await CTIClient.connect("127.0.0.1", port, version=version, timeout=5)
    try:
        await c.open_agent(agent_id="1001", instrument="3001", timeout=5, heartbeat=0)
    except RequestFailed as exc:
        await c.abort()
        return exc.reply.status
    await c.close()
    return None


def test_the_scenarios_dialect_is_served(served):
    """A scenario for protocol versions 14 to 16: a version-18 OPEN_REQ is refused
    E_CTI_INVALID_VERSION and a version-16 one opens, as under ``mockcti run`` (serve used to apply
    only --profile/--min-version/--max-version and opened every version 10-18)."""
    s = served("name: v14-16\ndialect: {profile: uccx, min_version: 14, max_version: 16}\n")
    assert "(profile uccx, versions 14-16," in s.line
    assert asyncio.run(opens(s.port, 18)) == StatusCode.E_CTI_INVALID_VERSION
    assert asyncio.run(opens(s.port, 13)) == StatusCode.E_CTI_INVALID_VERSION
    assert asyncio.run(opens(s.port, 16)) is None
    err = s.stop()
    assert "serving scenario 'v14-16' (seed 0; profile uccx, versions 14-16)" in err and "Traceback" not in err


SEEDED = """\
name: seeded
seed: 11
rules:
  - when: {message: QUERY_AGENT_STATE_REQ}
    then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "seed ${seed}"}}]
"""


@pytest.mark.parametrize("args, seed", [((), 11), (("--seed", "0"), 0), (("--seed", "5"), 5)])
def test_seed_option_replaces_the_scenarios_seed_zero_included(served, args, seed):
    """``--seed 0`` used to be read as "no --seed" (``or None``): the scenario's own seed was used."""
    s = served(SEEDED, *args)

    async def ask() -> str:
        c = await CTIClient.connect("127.0.0.1", s.port, version=16, timeout=5)
        await c.open_agent(agent_id="1001", instrument="3001", timeout=5, heartbeat=0)
        with pytest.raises(RequestFailed) as exc:
            await c.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"), timeout=5)
        await c.close()
        return exc.value.reply.text

    assert asyncio.run(ask()) == f"seed {seed}"
    assert f"serving scenario 'seeded' (seed {seed};" in s.stop()


def test_an_invalid_scenario_exits_2_naming_file_line_and_key(tmp_path):
    """It used to start listening and then die with a traceback (exit 1)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - when: {message: HOLD_CALL_REQQ}\n    then: [default]\n")
    r = subprocess.run([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--scenario", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"mockcti serve: {bad}:3: rules[0].when.message: unknown message type 'HOLD_CALL_REQQ'" in r.stderr
    assert "listening" not in r.stdout


def test_a_scenario_without_center_or_dialect_is_served_on_the_command_lines(served, tmp_path):
    """`serve --center my.toml --scenario nocenter.yaml` served the default center (agent 5001 of
    my.toml was unknown), and --profile was replaced by the scenario's default profile."""
    center = tmp_path / "c.toml"
    center.write_text('[[agents]]\nid = "5001"\nextension = "4001"\ninstrument = "4001"\npassword = "pw"\n')
    s = served("name: plain\n", "--center", str(center), "--profile", "ucce", "--max-version", "20")
    assert "(profile ucce, versions 9-20, 1 agent," in s.line

    async def open_5001() -> int:
        c = await CTIClient.connect("127.0.0.1", s.port, profile="ucce", version=20, timeout=5)
        conf = await c.open_agent(agent_id="5001", instrument="4001", timeout=5, heartbeat=0)
        await c.close()
        return conf.agent_state

    asyncio.run(open_5001())
    assert "Traceback" not in s.stop()


def test_the_expectations_printed_at_shutdown_name_the_scenario_of_each(served, tmp_path):
    """`serve --scenario F --control-port 0` with F loaded again and another scenario through the control API:
    the lines printed at shutdown were the expectations of all three, with nothing to say whose ("MISS holds"
    twice). Several scenarios' are printed under a line naming each, as the report names them."""
    import json
    import urllib.request

    s = served("name: A\nexpect:\n  - {id: holds, message: HOLD_CALL_REQ, min: 1}\n", "--control-port", "0",
               "--json")
    url = json.loads(s.line)["control_url"]
    for body in ({"path": str(tmp_path / "s.yaml")}, {"yaml": "name: B\nexpect: [{id: x, message: CLOSE_REQ}]\n"}):
        req = urllib.request.Request(f"{url}/scenario", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["loaded"] is True
    err = s.stop()
    lines = [line for line in err.splitlines() if line.startswith("  ") and "near miss" not in line]
    assert lines == [
        "  scenario 'A':",
        "    MISS holds: HOLD_CALL_REQ: expected 1+ time(s), received 0",
        f"         at {tmp_path / 's.yaml'}:3",
        "  scenario 'A (2nd load)':",
        "    MISS holds: HOLD_CALL_REQ: expected 1+ time(s), received 0",
        f"         at {tmp_path / 's.yaml'}:3",
        "  scenario 'B':",
        "    MISS x: CLOSE_REQ: expected 1+ time(s), received 0",
        "         at <control API yaml>:2"], err


def test_the_scenarios_end_stops_nothing_under_serve(served):
    """serve serves its scenario "with no end" (README): once F's `end` has passed (journalled "scenario
    ended"), its rules still answer and its expectations still count what comes."""
    s = served("name: ends-early\nrules:\n  - when: {message: QUERY_AGENT_STATE_REQ}\n    then:\n"
               "      - fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: still served}\n"
               "expect:\n  - {id: asked, message: QUERY_AGENT_STATE_REQ, times: 1}\nend: {after: 0.2}\n")
    port = s.port

    async def ask() -> str:
        await asyncio.sleep(0.5)  # past the end
        c = await CTIClient.connect("127.0.0.1", port, timeout=5)
        try:
            await c.open_agent(agent_id="1001", instrument="3001", timeout=5, heartbeat=0)
            try:
                await c.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"), timeout=5)
            except RequestFailed as exc:
                return exc.reply.text
            return "answered by the center"
        finally:
            await c.close()

    assert asyncio.run(ask()) == "still served"
    assert "ok   asked: QUERY_AGENT_STATE_REQ: expected 1 time(s), received 1" in s.stop()
