"""``mockcti serve --load``: the spec parser, and a short real run over TCP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
from types import SimpleNamespace

import pytest

from mockcti.center import default_center
from mockcti.client import CTIClient
from mockcti.load import LoadSpec, LoadSpecError, center_config_for, parse_load_spec, serve_feature
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import DeviceType
from mockcti.wire.enums import ServiceMask as SM

# -- the spec parser ----------------------------------------------------------------------------------


def test_parse_full_spec():
    spec = parse_load_spec("agents=50,calls_per_s=2.5,handle_time=10,limit=100,max=20,answer_after=0.5,"
                           "caller_hangup=0.25,abandon_after=20")
    assert spec == LoadSpec(calls_per_s=2.5, agents=50, handle_time=10.0, limit=100, max=20, answer_after=0.5,
                            caller_hangup=0.25, abandon_after=20.0)


def test_parse_defaults_and_spaces():
    spec = parse_load_spec(" calls_per_s = 20 , ")
    assert spec.calls_per_s == 20 and spec.agents is None and spec.handle_time == 30.0
    assert spec.limit is None and spec.max is None and spec.answer_after == 1.0
    assert spec.caller_hangup == 0.0 and spec.abandon_after is None


@pytest.mark.parametrize("text, key", [
    ("agent=3,calls_per_s=1", "agent"),
    ("calls_per_s=1,rate=3", "rate"),
])
def test_unknown_key_is_named_with_the_allowed_ones(text, key):
    with pytest.raises(LoadSpecError) as e:
        parse_load_spec(text)
    msg = str(e.value)
    assert repr(key) in msg
    for allowed in ("agents", "calls_per_s", "handle_time", "limit", "max"):
        assert allowed in msg


@pytest.mark.parametrize("text, key", [
    ("agents=x,calls_per_s=1", "agents"),
    ("agents=2.5,calls_per_s=1", "agents"),
    ("calls_per_s=0", "calls_per_s"),
    ("calls_per_s=-1", "calls_per_s"),
    ("calls_per_s=nan", "calls_per_s"),
    ("calls_per_s=1,handle_time=-2", "handle_time"),
    ("calls_per_s=1,limit=0", "limit"),
    ("calls_per_s=1,max=abc", "max"),
    ("calls_per_s=1,calls_per_s=2", "calls_per_s"),
    ("agents=3", "calls_per_s"),  # required
    ("calls_per_s", "calls_per_s"),  # not key=value
    ("calls_per_s=1,caller_hangup=1.5", "caller_hangup"),
    ("calls_per_s=1,caller_hangup=-0.1", "caller_hangup"),
    ("calls_per_s=1,abandon_after=0", "abandon_after"),
    ("calls_per_s=1,abandon_after=x", "abandon_after"),
    ("calls_per_s=1,hold=1.5", "hold"),
    ("calls_per_s=1,hold=-0.1", "hold"),
    ("calls_per_s=1,transfer=x", "transfer"),
    ("calls_per_s=1,conference=2", "conference"),
    ("calls_per_s=1,hold_time=-1", "hold_time"),
    ("calls_per_s=1,hold_time=nan", "hold_time"),
    ("calls_per_s=1,transfer=0.7,conference=0.5", "conference"),
    ("calls_per_s=1,abandon_after=5,patience=random", "patience"),
    ("calls_per_s=1,abandon_after=5,patience=1", "patience"),
    ("calls_per_s=1,patience=exponential", "patience"),  # with no abandon_after= nobody abandons
    ("calls_per_s=1,limit=5,at_limit=stop", "at_limit"),
    ("calls_per_s=1,at_limit=serve", "at_limit"),  # with no limit= the calls never run out
])
def test_bad_values_name_the_key(text, key):
    # refused for its value, not taken for an unknown key
    with pytest.raises(LoadSpecError) as e:
        parse_load_spec(text)
    assert repr(key) in str(e.value) and "unknown key" not in str(e.value), str(e.value)


def test_argparse_reports_the_bad_key():
    from mockcti.load import add_serve_arguments

    p = argparse.ArgumentParser()
    add_serve_arguments(p)
    assert p.parse_args(["--load", "calls_per_s=3"]).load.calls_per_s == 3
    with pytest.raises(SystemExit):
        p.parse_args(["--load", "bogus=1,calls_per_s=3"])


def test_center_grows_only_when_asked_for_more_agents():
    base = default_center()
    assert center_config_for(parse_load_spec("agents=3,calls_per_s=1"), base) is base
    assert center_config_for(parse_load_spec("calls_per_s=1"), base) is base
    big = center_config_for(parse_load_spec("agents=250,calls_per_s=1"), base)
    assert len(big.agents) == 250
    assert big.agents[0].id == "1001" and big.agents[0].extension == "3001" and big.agents[-1].id == "1250"
    assert big.agents[-1].extension == "3250" and len({a.extension for a in big.agents}) == 250
    assert [c.name for c in big.csqs] == ["Sales", "Support"]
    assert all(a.csqs == ("Sales", "Support") for a in big.agents)


def test_agents_fewer_than_the_center_has_are_the_ones_the_generator_drives():
    """agents=2 on the default center of 4: the generator drives its first two agents and leaves the
    other two alone (it drove all four: agents=N below the center's count did nothing)."""
    hub, gen = hub_with(default_center(), "agents=2,calls_per_s=2,limit=6,handle_time=30,answer_after=0.1")
    gen.start(hub, 0.0)
    advance(hub, 0.0, 4.0)
    agents = hub.center.agents
    assert [agents[a].state for a in ("1001", "1002")] == [AS.AGENT_STATE_TALKING] * 2
    assert [agents[a].state for a in ("1003", "1004")] == [AS.AGENT_STATE_LOGOUT] * 2
    s = gen.summary()
    assert s["offered"] == 6 and s["answered"] == 2 and s["active"] == 6, s  # four wait in the queue


# -- a real run ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def load_server(spec_text: str):
    """A mock on 127.0.0.1:0 with the load feature of ``spec_text`` prepared (its center in place),
    not yet started: ``await load.start()`` (after the test's clients are in); the feature and the
    server are stopped at the end."""
    args = argparse.Namespace(load=parse_load_spec(spec_text), quiet=True, seed=0)
    server = MockServer(config=ServerConfig(host="127.0.0.1", port=0))
    feature = serve_feature(args)
    assert feature is not None
    feature.prepare(server, args)  # as `mockcti serve` does: the load center before the server listens
    await server.start()
    try:
        yield SimpleNamespace(server=server, gen=feature.gen, start=lambda: feature.start(server, args))
    finally:
        await feature.stop(server, args)
        await server.stop()


async def until_over(gen, offered: int, seconds: float) -> None:
    """Wait (bounded) until ``offered`` calls were generated and every one of them is over."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (gen.active or gen.stats.offered < offered) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)


@pytest.mark.asyncio
async def test_short_real_run_bridge_sees_calls_and_counts_agree():
    async with load_server("agents=8,calls_per_s=20,handle_time=0.3,answer_after=0.1,limit=30") as load:
        server = load.server
        await load.start()
        assert len(server.center.agents) == 8  # the center was rebuilt with agents=8
        bridge = await CTIClient.connect(server.host, server.port, version=14)
        async with bridge:
            await bridge.open_bridge(heartbeat=0, client_id="load-bridge")
            # ~1.5 s of arrivals (30 calls at 20/s), then wait (bounded) until every generated call is over
            await asyncio.sleep(1.5)
            await until_over(load.gen, 30, 3.5)
            received = list(bridge.received)
        s = load.gen.summary()
        assert s["offered"] == 30
        assert s["cleared"] + s["active"] == s["offered"]
        assert s["active"] == 0 and s["cleared"] == 30
        assert s["answered"] == s["auto_answered"] == 30  # no client drives an agent: all auto-answered
        assert s["skipped"] == 0 and s["errors"] == 0
        begins, ends = {}, set()
        for m in received:
            if m.TYPE is MT.BEGIN_CALL_EVENT:
                begins[m.call_id] = m
            elif m.TYPE is MT.END_CALL_EVENT:
                assert m.call_id in begins  # END after BEGIN for each call
                ends.add(m.call_id)
        load_calls = {cid for cid, m in begins.items() if (m.call_variable1 or "").startswith("mockcti-load t=")}
        assert len(load_calls) >= 25  # the bridge opened a few ms after the first arrivals
        assert load_calls <= ends  # every call the bridge saw begin, it saw end
        assert server.journal.counts.get("violation", 0) == 0


def run_on_hub(spec_text: str, *, auto_agents=None, seconds: float = 10.0, step: float = 0.05):
    """The generator on a hub with no connection, time advanced by ``hub.tick`` (pure, no sleeping)."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.load import LoadGenerator

    spec = parse_load_spec(spec_text)
    hub = Hub(ContactCenter(center_config_for(spec, default_center())))
    gen = LoadGenerator(spec, auto_agents=auto_agents)
    gen.start(hub, 0.0)
    for i in range(1, int(seconds / step) + 1):
        hub.tick(i * step)
    return hub, gen


def happenings(hub, what):
    return [e for e in hub.journal.entries(kind="happening") if e.data.get("what") == what]


def test_callers_not_answered_in_time_abandon_in_the_queue():
    """One auto-answering agent, calls at 10/s that last 5 s: the first is answered, the four that
    queue behind it are abandoned abandon_after seconds after they arrived, leaving the queue."""
    hub, gen = run_on_hub("calls_per_s=10,limit=5,handle_time=5,answer_after=0.1,abandon_after=0.5",
                          auto_agents={"1001"}, seconds=1.5)
    s = gen.summary()
    assert s["offered"] == 5 and s["answered"] == 1 and s["abandoned"] == 4
    assert s["cleared"] == 4 and s["active"] == 1 and s["errors"] == 0 and s["caller_ended"] == 0
    assert len(hub.center.calls) == 1  # only the answered call is left; nobody is queued
    assert len(happenings(hub, "load caller abandoned")) == 4


@pytest.mark.parametrize("patience", ["fixed", "exponential"])
def test_callers_wait_abandon_after_seconds_or_spread_exponentially_around_it(patience):
    """patience=fixed: every caller hangs up abandon_after seconds after arriving; patience=exponential: the
    waits spread as an exponential distribution of that mean (impatient callers and patient ones), the same
    waits every run. Here no agent answers: each call's wait is its caller's patience."""
    hub, gen = run_on_hub(f"calls_per_s=20,limit=400,abandon_after=2,patience={patience}", auto_agents=set(),
                          seconds=40.0, step=0.01)
    arrived = {e.data["call_id"]: e.t for e in happenings(hub, "load call")}
    waits = sorted(e.t - arrived[e.data["call_id"]] for e in happenings(hub, "load caller abandoned"))
    assert len(waits) == gen.summary()["abandoned"] == 400 and not hub.center.calls
    if patience == "fixed":
        assert waits[0] == pytest.approx(2.0, abs=0.011) and waits[-1] == pytest.approx(2.0, abs=0.011)
        return
    assert sum(waits) / len(waits) == pytest.approx(2.0, rel=0.03)  # the mean is abandon_after
    # an exponential's quantiles: a tenth wait under 0.21 s (2 ln 10/9), a tenth over 4.6 s (2 ln 10), the median 1.39
    assert waits[39] == pytest.approx(0.21, abs=0.03) and waits[359] == pytest.approx(4.61, abs=0.1)
    assert waits[199] == pytest.approx(1.39, abs=0.05)
    hub2, _ = run_on_hub("calls_per_s=20,limit=400,abandon_after=2,patience=exponential", auto_agents=set(),
                         seconds=40.0, step=0.01)
    assert [e.t for e in happenings(hub2, "load caller abandoned")] == \
        [e.t for e in happenings(hub, "load caller abandoned")]  # no randomness: the same run twice


def test_above_capacity_callers_of_one_patience_leave_the_agents_answering_nothing_exponential_ones_do_not():
    """5 agents, 5 calls/s of 3 s (capacity 1.25 calls/s with answer_after=1), abandon_after=10: with one
    patience for all, the call an agent frees up for is the one that has waited longest, nearly 10 s, and its
    caller hangs up while it rings — after the first 10 s nothing is answered; with patience=exponential the
    agents answer at capacity, as in a real center above capacity."""
    agents = {"1001", "1002", "1003", "1004", "1005"}
    answered = {}
    for patience in ("fixed", "exponential"):
        _, gen = run_on_hub(f"agents=5,calls_per_s=5,handle_time=3,abandon_after=10,patience={patience},hold=0,"
                            f"transfer=0,conference=0", auto_agents=agents, seconds=60.0)
        s = gen.summary()
        assert s["offered"] == s["cleared"] + s["active"] and s["errors"] == 0
        answered[patience] = s["answered"]
    assert answered["fixed"] <= 20  # the first 10 s' calls only
    assert answered["exponential"] >= 70  # 60 s x 1.25 calls/s


def test_an_answered_call_is_not_abandoned():
    hub, gen = run_on_hub("calls_per_s=10,limit=3,handle_time=2,answer_after=0.1,abandon_after=0.5",
                          auto_agents={"1001", "1002", "1003"}, seconds=1.0)
    s = gen.summary()
    assert s["answered"] == 3 and s["abandoned"] == 0 and s["active"] == 3


@pytest.mark.parametrize("share, ended_by_caller", [(0.0, 0), (0.25, 2), (0.5, 4), (1.0, 8)])
def test_caller_hangup_ends_that_share_of_the_answered_calls(share, ended_by_caller):
    hub, gen = run_on_hub(f"calls_per_s=10,limit=8,handle_time=0.5,answer_after=0.1,caller_hangup={share}",
                          auto_agents={"1001", "1002", "1003", "1004"}, seconds=3.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 8 and s["active"] == 0 and s["errors"] == 0
    assert s["caller_ended"] == ended_by_caller
    assert len(happenings(hub, "load caller hung up")) == ended_by_caller
    assert not hub.center.calls
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())  # back after each call


def test_the_statistics_line_shows_the_callers_abandons():
    from mockcti.load import LoadGenerator, _line

    gen = LoadGenerator(parse_load_spec("calls_per_s=1"))
    gen.stats.offered, gen.stats.answered, gen.stats.cleared, gen.stats.abandoned = 9, 5, 7, 3
    line = _line(gen, SimpleNamespace(hub=SimpleNamespace(conns={1: None, 2: None})), 12.0, 40.0)
    assert line == ("load t=  12.0s offered 9 answered 5 active 0 cleared 7 abandoned 3 skipped 0 "
                    "held 0 xfer 0 conf 0 messages/s 40 clients 2")  # every message out (confirmations too): not "events/s"


def _late_sleeps(monkeypatch, clock: list[float], counts: dict, rounds: int) -> None:
    """``asyncio.sleep`` of a loop too busy to wake on time: each sleep takes twice as long on ``clock`` and 1,000
    messages go out meanwhile; the sleep after ``rounds`` of them cancels (the display runs until cancelled)."""
    slept = []

    async def late_sleep(seconds):
        slept.append(seconds)
        if len(slept) > rounds:
            raise asyncio.CancelledError
        clock[0] += 2 * seconds
        counts["out"] += 1000

    monkeypatch.setattr(asyncio, "sleep", late_sleep)


@pytest.mark.asyncio
async def test_the_lines_messages_per_second_is_over_the_time_the_second_took(monkeypatch, capsys):
    """A loop too busy to wake the display on time (each 1-second sleep took 2 s, 1,000 messages
    went out meanwhile): the line says 500 messages/s (it said 1000: the count of the interval)."""
    clock, counts = [0.0], {"out": 0}
    server = SimpleNamespace(now=lambda: clock[0], journal=SimpleNamespace(counts=counts),
                             hub=SimpleNamespace(conns={}))
    feature = serve_feature(argparse.Namespace(load=parse_load_spec("calls_per_s=1"), quiet=True, seed=0))
    feature.gen.started_at = 0.0
    _late_sleeps(monkeypatch, clock, counts, 3)
    with pytest.raises(asyncio.CancelledError):
        await feature._display(server)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all("messages/s 500 " in line for line in lines), lines
    assert "t=   6.0s" in lines[-1], lines


@pytest.mark.asyncio
async def test_with_json_the_display_also_writes_each_second_as_a_json_object(monkeypatch, capsys):
    """serve --json: the statistics line stays on stderr as it is, and the same second goes to stdout as a JSON
    object (kind "load") for a machine to read: the summary's counts, t on the journal's clock, elapsed since
    the load started, messages_per_s and clients. The line was only ever text."""
    import json

    clock, counts = [10.0], {"out": 0}
    server = SimpleNamespace(now=lambda: clock[0], journal=SimpleNamespace(counts=counts),
                             hub=SimpleNamespace(conns={1: None}))
    written: list[str] = []
    feature = serve_feature(argparse.Namespace(load=parse_load_spec("calls_per_s=1"), quiet=False, seed=0,
                                               json_out=written.append))
    feature._json_out = written.append  # (what start() takes from args)
    feature.gen.started_at = 10.0
    feature.gen.stats.offered, feature.gen.stats.answered, feature.gen.stats.held = 7, 4, 2
    _late_sleeps(monkeypatch, clock, counts, 2)
    with pytest.raises(asyncio.CancelledError):
        await feature._display(server)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("load t=   4.0s offered 7 answered 4 "), lines  # as it was
    records = [json.loads(w) for w in written]
    assert [r["kind"] for r in records] == ["load", "load"]
    assert records[-1] == {"kind": "load", "t": 14.0, "elapsed": 4.0, **feature.gen.summary(),
                           "messages_per_s": 500.0, "clients": 1}
    assert records[-1]["offered"] == 7 and records[-1]["held"] == 2


def test_serve_load_json_writes_the_statistics_and_the_summary_as_json_lines_on_stdout():
    """`serve --json --load ...,limit=10`: stdout stays JSON lines throughout — the listening line, the trace's
    entries, a "load" object a second and a last "load_summary" with the summary's counts and the duration —,
    while stderr keeps the human line and summary. Without --json stdout has none of them."""
    import json

    spec = "agents=4,calls_per_s=5,limit=10,handle_time=0.2,answer_after=0.05,hold=0,transfer=0,conference=0"
    proc = _serve_load(spec, "--json")
    out, err = _ended(proc)  # (limit=10 ends serve in ~2.5 s)
    assert proc.returncode == 0, err
    objects = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "listening" and kinds.count("load") >= 1 and kinds.count("load_summary") == 1
    assert kinds.index("load_summary") > max(i for i, k in enumerate(kinds) if k == "load")
    summary = next(o for o in objects if o["kind"] == "load_summary")
    _, said = _summary(err)
    assert {k: str(v) for k, v in summary.items() if k not in ("kind", "t", "duration")} == \
        {k: v for k, v in said.items() if k != "duration"}
    assert summary["offered"] == summary["cleared"] == 10 and summary["active"] == 0
    assert f"{summary['duration']:.1f}s" == said["duration"]
    assert any(x.startswith("load t=") for x in err.splitlines())  # the human line, as it was
    proc = _serve_load(spec)
    out, err = _ended(proc)
    assert proc.returncode == 0 and '"kind"' not in out and "mockcti load summary:" in err


@pytest.mark.asyncio
async def test_a_bridge_sees_who_hung_up():
    """Over the wire: with caller_hangup=0.5 half the answered calls are released by the caller
    (CALL_CONNECTION_CLEARED with its ANI as the releasing device), the others by the agent."""
    # the default center's four agents: the bridge can connect before the generator starts
    # the plain mix (a conference's first agent leaving is released by an agent too)
    async with load_server("calls_per_s=20,handle_time=0.3,answer_after=0.1,limit=20,caller_hangup=0.5,"
                           "hold=0,transfer=0,conference=0") as load:
        async with await CTIClient.connect(load.server.host, load.server.port, version=14) as bridge:
            await bridge.open_bridge(heartbeat=0, client_id="load-bridge")
            await load.start()
            await until_over(load.gen, 20, 8.0)
            assert load.gen.summary()["caller_ended"] == 10 and load.gen.summary()["cleared"] == 20
            cleared = [m for m in bridge.received if m.TYPE is MT.CALL_CONNECTION_CLEARED_EVENT]
            by_caller = {m.call_id for m in cleared if m.releasing_device_id.startswith("06")}  # the ANI
            by_agent = {m.call_id for m in cleared if m.releasing_device_id.startswith("30")}  # an extension
            assert len(by_caller) == 10 and len(by_agent) == 10 and not by_caller & by_agent


@pytest.mark.asyncio
async def test_driven_agents_are_left_to_their_client():
    """An agent with an open agent-mode session is not auto-answered: its calls ring until the client acts."""
    async with load_server("calls_per_s=20,handle_time=0.1,answer_after=0.05,limit=6") as load:
        server = load.server
        async with await CTIClient.connect(server.host, server.port, version=14) as agent:
            await agent.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0,
                                   client_id="desk")
            await agent.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")  # 1001 is the client's agent
            await agent.set_agent_state(AS.AGENT_STATE_READY)  # calls may be routed to it
            await load.start()
            await asyncio.sleep(1.5)
            ringing_at_1001 = [c for c in server.center.calls.values()
                               if "3001" in c.legs and c.legs["3001"].state.name == "LCS_ALERTING"]
            assert len(ringing_at_1001) == 1  # delivered to the client's agent, and left ringing
            assert load.gen.stats.offered == 6
            assert load.gen.stats.auto_answered == 5  # the others, answered by undriven agents 1002-1004


@pytest.mark.asyncio
async def test_a_call_a_client_answered_is_ended_by_the_caller():
    """caller_hangup counts calls answered by a client too: the client under test answers, and
    handle_time later the caller hangs up on it (CALL_CONNECTION_CLEARED released by the ANI, then
    END_CALL_EVENT), as a real caller would."""
    from mockcti.wire.messages import AnswerCallReq

    async with load_server("calls_per_s=5,handle_time=0.2,answer_after=0.05,limit=1,caller_hangup=1") as load:
        async with await CTIClient.connect(load.server.host, load.server.port, version=14) as agent:
            await agent.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0,
                                   client_id="desk")
            await agent.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
            await agent.set_agent_state(AS.AGENT_STATE_READY)  # longest READY: the one call comes here
            await load.start()
            delivered = await agent.next_event(MT.CALL_DELIVERED_EVENT, timeout=3.0)
            await agent.request(AnswerCallReq(invoke_id=900, call_id=delivered.call_id,
                                              connection_device_id="3001"))
            cleared = await agent.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, timeout=3.0)
            assert cleared.call_id == delivered.call_id and cleared.releasing_device_id == delivered.ani
            ended = await agent.next_event(MT.END_CALL_EVENT, timeout=3.0)
            assert ended.call_id == delivered.call_id
            await asyncio.sleep(0.6)  # a sweep or two of the generator
        s = load.gen.summary()
        assert s["answered"] == 1 and s["auto_answered"] == 0 and s["caller_ended"] == 1 and s["cleared"] == 1


def test_serve_builds_the_load_center_before_it_listens(monkeypatch):
    """`serve --load agents=N --control-port 0`: a client that connects the moment the port listens
    (a CI harness polling it) meets the N-agent center, and so does the control API, which records
    the center its POST /reset rebuilds. The load feature used to replace the center only after the
    control API started: such a client made it raise RuntimeError out of `mockcti serve`."""
    from mockcti import cli
    from mockcti.control import ControlServer

    seen: dict = {}
    real_start, real_control_start = MockServer.start, ControlServer.start

    async def start(self):
        await real_start(self)
        seen["agents when listening"] = len(self.center.agents)
        self.hub.connect(self.now(), "127.0.0.1:9")  # a client in at once
        return self

    async def control_start(self):
        await real_control_start(self)
        seen["agents POST /reset rebuilds"] = len(self._base_config.agents)
        return self

    async def serve_forever(self):  # the run ends at once, as after Ctrl-C
        seen["agents served"] = len(self.center.agents)

    monkeypatch.setattr(MockServer, "start", start)
    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    monkeypatch.setattr(ControlServer, "start", control_start)
    status = cli.main(["serve", "--port", "0", "--quiet", "--control-port", "0",
                       "--load", "agents=10,calls_per_s=1"])
    assert status == 0
    assert seen == {"agents when listening": 10, "agents POST /reset rebuilds": 10, "agents served": 10}


# -- agents the generator drives go back to READY; calls a client left are cleared -------------------------


class Desk:
    """An agent desktop on a hub with no sockets (pure): OPEN_REQ in agent mode, then requests."""

    def __init__(self, hub, agent_id: str, now: float) -> None:
        from mockcti.wire import Dialect
        from mockcti.wire.messages import OpenReq

        self.hub, self.dialect, self.invoke = hub, Dialect.uccx(14), 100
        self.agent = hub.center.agents[agent_id]
        self.sid = hub.connect(now, "desk")
        self.send(OpenReq(invoke_id=1, version_number=14, idle_timeout=3600, services_requested=int(SM.CTI_SERVICE_CLIENT_EVENTS | SM.CTI_SERVICE_CLIENT_CONTROL),
                          call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id=f"desk-{agent_id}",
                          client_password=b"", agent_id=agent_id, agent_extension=self.agent.cfg.extension,
                          agent_instrument=self.agent.cfg.instrument), now)
        assert hub.center.agent_sessions.get(agent_id) == {self.sid}

    def send(self, message, now: float) -> None:
        from mockcti.wire import encode

        self.hub.receive(self.sid, encode(message, self.dialect), now)

    def set_state(self, state, now: float, password: str | None = None) -> None:
        from mockcti.wire.messages import SetAgentStateReq

        self.invoke += 1
        self.send(SetAgentStateReq(invoke_id=self.invoke, agent_state=int(state), event_reason_code=0,
                                   agent_instrument=self.agent.cfg.instrument, agent_id=self.agent.id,
                                   agent_password=password), now)

    def answer(self, call_id: int, now: float) -> None:
        from mockcti.wire.messages import AnswerCallReq

        self.invoke += 1
        self.send(AnswerCallReq(invoke_id=self.invoke, call_id=call_id, connection_device_id=self.agent.device), now)

    def drop(self, now: float) -> None:
        """The desk's connection is gone (crash, network): no CLOSE_REQ."""
        self.hub.disconnected(self.sid, now, reason="peer reset")


def hub_with(config, spec_text: str, *, auto_agents=None):
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.load import LoadGenerator

    spec = parse_load_spec(spec_text)
    hub = Hub(ContactCenter(config))
    return hub, LoadGenerator(spec, auto_agents=auto_agents)


def advance(hub, start: float, seconds: float, step: float = 0.05) -> float:
    """Tick the hub from ``start`` for ``seconds`` (bounded, pure); returns the time reached."""
    n = int(round(seconds / step))
    for i in range(1, n + 1):
        hub.tick(start + i * step)
    return start + n * step


def two_agent_center(**changes):
    import dataclasses

    base = default_center()
    return dataclasses.replace(base, agents=base.agents[:2], **changes)


@pytest.mark.parametrize("after", ["AGENT_STATE_NOT_READY", "AGENT_STATE_WORK", "AGENT_STATE_WORK_READY"])
def test_undriven_agents_take_call_after_call_whatever_the_after_call_state(after):
    """A center whose agents go NOT_READY, WORK or WORK_READY after a call: the generator makes its
    agents READY again, so two agents at 1 call/s lasting 0.5 s answer and clear every call (each
    agent took one call and never another: offered 8, answered 2, active 6 and growing)."""
    hub, gen = hub_with(two_agent_center(after_call_state=AS[after]),
                        "calls_per_s=1,limit=8,handle_time=0.5,answer_after=0.1")
    gen.start(hub, 0.0)
    advance(hub, 0.0, 10.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["auto_answered"] == s["cleared"] == 8, s
    assert s["active"] == 0 and s["errors"] == 0 and not hub.center.calls
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())


@pytest.mark.parametrize("after, then", [
    ("AGENT_STATE_WORK_READY", ["READY"]),
    ("AGENT_STATE_WORK", ["NOT_READY", "READY"]),  # AGT_WORK_TIMER_EXP, then the generator's READY
])
def test_a_wrapup_time_of_the_center_is_taken_before_the_agent_is_made_ready(after, then):
    """A center with a wrap-up time (3 s after each call), a call every 5 s: the agent the generator drives stays in
    WORK_READY / WORK until the center's timer ends it, then takes calls again (the generator made it
    READY at its next quarter-second sweep: the wrap-up never showed on a wallboard)."""
    hub, gen = hub_with(two_agent_center(after_call_state=AS[after], wrapup_time=3.0),
                        "calls_per_s=0.2,limit=2,handle_time=1,answer_after=0.1", auto_agents={"1001"})
    gen.start(hub, 0.0)
    agent = hub.center.agents["1001"]
    seen, t = [], 0.0
    for _ in range(200):  # 10 s in steps of 0.05 s
        t = advance(hub, t, 0.05)
        state = agent.state.name.removeprefix("AGENT_STATE_")
        if not seen or seen[-1][0] != state:
            seen.append((state, round(t, 2)))
    states = [s for s, _ in seen]
    assert states == ["RESERVED", "TALKING", after.removeprefix("AGENT_STATE_"), *then,
                      "RESERVED", "TALKING", after.removeprefix("AGENT_STATE_"), *then], seen
    wrapup_began = seen[2][1]
    assert seen[3][1] - wrapup_began >= 3.0 - 1e-9, seen  # the whole wrap-up time
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 2 and s["errors"] == 0, s


def test_agents_configured_logged_in_not_ready_are_made_ready():
    import dataclasses

    cfg = two_agent_center()
    cfg = dataclasses.replace(cfg, agents=tuple(dataclasses.replace(a, state=AS.AGENT_STATE_NOT_READY)
                                                 for a in cfg.agents))
    hub, gen = hub_with(cfg, "calls_per_s=2,limit=6,handle_time=0.3,answer_after=0.1")
    assert all(a.state is AS.AGENT_STATE_NOT_READY for a in hub.center.agents.values())
    gen.start(hub, 0.0)
    advance(hub, 0.0, 6.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 6 and s["active"] == 0, s


@pytest.mark.parametrize("left_in", ["AGENT_STATE_LOGOUT", "AGENT_STATE_NOT_READY"])
def test_an_agent_a_client_left_logged_out_or_not_ready_takes_calls_again(left_in):
    """A client drives agent 1001 (the generator leaves it alone), logs it out or leaves it
    NOT_READY, and disconnects: the agent is the generator's again and takes calls."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=2,limit=6,handle_time=0.1,answer_after=0.05",
                        auto_agents={"1001"})
    desk = Desk(hub, "1001", 0.0)
    desk.set_state(AS.AGENT_STATE_LOGIN, 0.0, password="1234")
    if left_in == "AGENT_STATE_LOGOUT":
        desk.set_state(AS.AGENT_STATE_LOGOUT, 0.0)
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 1.0)
    assert gen.stats.answered == 0 and hub.center.agents["1001"].state is AS[left_in]  # the client's agent
    assert gen.active == 3  # queued: 1002 is nobody's and logged out, 1001 the client's
    desk.drop(t)
    advance(hub, t, 5.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 6 and s["active"] == 0, s
    assert hub.center.agents["1001"].state is AS.AGENT_STATE_READY


class BridgeTap:
    """A bridge-mode session on a hub with no sockets: the AGENT_STATE_EVENTs it is sent, as
    (agent, state name, reason code), and every message it is sent (``messages``). Feed it what
    ``hub.tick`` / ``hub.receive`` return."""

    def __init__(self, hub, now: float) -> None:
        from mockcti.wire import Dialect, encode
        from mockcti.wire.messages import OpenReq

        self.dialect, self.events, self.buf, self.messages = Dialect.uccx(14), [], b"", []
        self.sid = hub.connect(now, "bridge")
        self.take(hub.receive(self.sid, encode(OpenReq(
            invoke_id=1, version_number=14, idle_timeout=3600, services_requested=int(SM.CTI_SERVICE_ALL_EVENTS),
            call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id="tap", client_password=b""), self.dialect), now))

    def take(self, actions) -> None:
        from mockcti.hub import Write
        from mockcti.wire import decode_bytes

        for a in actions:
            if type(a) is Write and a.session_id == self.sid:
                buf = self.buf + a.data
                while len(buf) >= 8 and len(buf) >= 8 + int.from_bytes(buf[:4], "big"):
                    end = 8 + int.from_bytes(buf[:4], "big")
                    m = decode_bytes(buf[:end], self.dialect)
                    buf = buf[end:]
                    self.messages.append(m)
                    if m.TYPE is MT.AGENT_STATE_EVENT:
                        self.events.append((m.agent_id, AS(m.agent_state).name.removeprefix("AGENT_STATE_"),
                                            m.event_reason_code))
                self.buf = buf


def test_an_agent_the_generator_logs_in_goes_not_ready_with_agt_logon_first():
    """A client logs agent 1001 out and goes away: the generator logs it in as a desktop would — a
    bridge (a wallboard) sees NOT_READY with reason AGT_LOGON 32760, then READY (it saw a logged-out
    agent become READY in one step, which no UCCX login does)."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=0.1,limit=1,handle_time=1", auto_agents={"1001"})
    desk = Desk(hub, "1001", 0.0)
    desk.set_state(AS.AGENT_STATE_LOGIN, 0.0, password="1234")
    desk.set_state(AS.AGENT_STATE_LOGOUT, 0.0)
    tap = BridgeTap(hub, 0.0)
    gen.start(hub, 0.0)
    desk.drop(0.1)
    for i in range(1, 21):
        tap.take(hub.tick(0.1 * i))
    assert [e for e in tap.events if e[0] == "1001"][:2] == [("1001", "NOT_READY", 32760), ("1001", "READY", 0)], \
        tap.events
    assert gen.stats.answered == 1  # and it took the call waiting for it


def test_a_call_a_client_answered_is_cleared_once_its_connection_drops():
    """A client answers a generated call and its connection drops mid-call: handle_time later the
    generator clears it (it stayed TALKING for ever, 'active' never went back to 0 and the sweep
    kept running after stop)."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=5,limit=1,handle_time=0.5,answer_after=0.05",
                        auto_agents={"1001"})
    desk = Desk(hub, "1001", 0.0)
    desk.set_state(AS.AGENT_STATE_LOGIN, 0.0, password="1234")
    desk.set_state(AS.AGENT_STATE_READY, 0.0)
    gen.start(hub, 0.0)
    hub.tick(0.0)  # the first arrival
    (call_id,) = hub.center.calls
    desk.answer(call_id, 0.1)
    t = advance(hub, 0.1, 1.0)
    assert gen.stats.answered == 1 and gen.active == 1  # the client's call: left to the client
    desk.drop(t)  # 1001 is nobody's now: the generator's
    t = advance(hub, t, 1.0)
    s = gen.summary()
    assert s["active"] == 0 and s["cleared"] == 1 and s["auto_answered"] == 0 and not hub.center.calls, s
    assert hub.center.agents["1001"].state is AS.AGENT_STATE_READY
    gen.stop()
    hub.tick(t + 1.0)
    assert hub.next_deadline() is None  # nothing left to sweep: the generator's timers are done


def test_what_a_sweep_looks_at_does_not_grow_with_the_queue():
    """Over capacity (4 agents, 50 calls/s lasting 2 s, no max= or abandon_after=) the queue grows by
    thousands. A sweep looks at the agents, the calls at agents and a fixed number of queued calls,
    and a call that ends is not looked for in the queues (every sweep looked at every tracked call,
    and every ending call searched every queue: CPU per simulated second grew with the queue)."""

    class Queue(list):
        searched = 0

        def __contains__(self, item):
            Queue.searched += 1
            return super().__contains__(item)

    hub, gen = hub_with(default_center(), "calls_per_s=50,handle_time=2,answer_after=0.1")
    hub.center.queues = {csq_id: Queue() for csq_id in hub.center.queues}
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 40.0, step=0.25)
    assert sum(len(q) for q in hub.center.queues.values()) > 1500
    looked = []
    check = gen._check
    gen._check = lambda call_id, now: (looked.append(call_id), check(call_id, now))[1]
    Queue.searched, cleared = 0, gen.stats.cleared
    advance(hub, t, 10.0, step=0.25)  # 40 sweeps, 500 arrivals
    assert gen.stats.cleared >= cleared + 15  # calls ended meanwhile (answered ones: none was in a queue)
    assert len(looked) / 40 < 100, len(looked)  # 32 queued calls, the few at agents, the arrivals (was > 1500)
    assert Queue.searched == 0


def test_a_queued_call_hung_up_from_outside_is_noticed_within_a_turn():
    """What POST /calls/ID/hangup does to a generated call waiting in a queue: the generator, which
    looks at queued calls 32 per sweep, counts it over within a turn of the queue."""
    hub, gen = hub_with(default_center(), "calls_per_s=50,limit=200,handle_time=30,answer_after=0.1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 5.0, step=0.25)
    queued = [cid for q in hub.center.queues.values() for cid in q]
    assert len(queued) > 150 and gen.stats.cleared == 0
    for call_id in queued[-3:]:
        hub.deliver(hub.center.hang_up(t, call_id))
    advance(hub, t, 0.25 * (len(queued) // gen.queued_looks + 2), step=0.25)
    assert gen.stats.cleared == 3 and gen.active == 197


# -- a center replaced under the generator (control API POST /reset, POST /scenario with a center) ---------


def test_the_generator_starts_over_on_a_center_put_in_its_place():
    """What POST /reset does: a new center (every agent logged out, no calls, CallIDs from the
    start). The generator sets it up as at start and carries on; the calls that went with the old
    center are 'lost', not 'cleared' (they were counted as cleared, and the new center's agents were
    never made READY: its calls queued for ever)."""
    from mockcti.center import ContactCenter

    hub, gen = hub_with(default_center(), "calls_per_s=4,handle_time=0.5,answer_after=0.1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 2.0)
    before = gen.summary()
    assert before["active"] > 0 and before["lost"] == 0
    hub.center = ContactCenter(default_center(), now=t)
    t = advance(hub, t, 3.0)
    gen.stop()
    advance(hub, t, 2.0)
    s = gen.summary()
    assert s["lost"] == before["active"] and s["cleared"] == before["cleared"] + (s["offered"] - before["offered"])
    assert s["offered"] == s["cleared"] + s["active"] + s["lost"] and s["active"] == 0
    assert s["answered"] - before["answered"] >= 10 and s["errors"] == 0  # the new center's calls: all answered
    assert not hub.center.calls and all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())
    assert len(happenings(hub, "load: the center was replaced; the generator follows the new one")) == 1


def test_the_generator_follows_a_scenario_center_with_other_csqs():
    """A scenario's center without the CSQs the generator was cycling through: its calls go to the
    new center's CSQs (every arrival raised KeyError "unknown CSQ 'Sales'" in the hub's timer)."""
    from mockcti.center import CenterConfig, ContactCenter

    hub, gen = hub_with(default_center(), "calls_per_s=4,handle_time=0.2,answer_after=0.1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 1.0)
    other = CenterConfig.from_mapping({"csqs": [{"name": "Billing", "id": 7}],
                                       "agents": [{"id": "5001", "extension": "6001", "password": "x",
                                                   "csqs": ["Billing"], "state": "READY"}]})
    hub.center = ContactCenter(other, now=t)
    offered = gen.stats.offered
    advance(hub, t, 2.0)  # raised KeyError out of hub.tick
    arrivals = [e.data for e in happenings(hub, "load call")][offered:]
    assert len(arrivals) == 8 and {a["csq"] for a in arrivals} == {"Billing"}
    assert gen.stats.answered >= offered + 3 and gen.stats.errors == 0


async def http_json(port: int, method: str, path: str):
    import http.client
    import json

    def go():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request(method, path, body=b"{}" if method == "POST" else None,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()
            return json.loads(resp.read())
        finally:
            conn.close()

    return await asyncio.to_thread(go)


@pytest.mark.asyncio
async def test_control_api_reset_under_load_rebuilds_the_load_center_and_the_load_goes_on():
    """`serve --load agents=8 --control-port`: POST /reset rebuilds the 8-agent load center (it
    rebuilt the 4-agent center recorded before the load one replaced it), and the generator drives
    it: calls answered and cleared, none left queued."""
    from mockcti.control import ControlServer

    async with load_server("agents=8,calls_per_s=20,handle_time=0.2,answer_after=0.05") as load:
        server = load.server
        ctl = await ControlServer(server, "127.0.0.1", 0).start()
        try:
            await load.start()
            await asyncio.sleep(0.5)
            old = server.center
            r = await http_json(ctl.port, "POST", "/reset")
            assert r["reset"] is True and server.center is not old
            answered = load.gen.stats.answered
            await asyncio.sleep(1.0)
            state = await http_json(ctl.port, "GET", "/state")
            assert len(state["agents"]) == 8
            assert not any(state["queues"].values())
            s = load.gen.summary()
            assert s["answered"] - answered >= 10 and s["lost"] >= 1 and s["errors"] == 0, s
        finally:
            await ctl.stop()


# -- the hub's journal fast path (a performance change made for the benchmarks) -----------------------


def _drive(journal):
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.wire import Dialect, encode
    from mockcti.wire.messages import HeartbeatReq, OpenReq

    d = Dialect.uccx(14)
    hub = Hub(ContactCenter(default_center()), journal=journal)
    sid = hub.connect(0.0, "peer")
    hub.receive(sid, encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x10,
                                    call_msg_mask=0, agent_state_mask=0, client_id="b", client_password=b""), d), 0.1)
    for i in range(5):
        hub.receive(sid, encode(HeartbeatReq(invoke_id=10 + i), d), 0.2 + i)
    return hub


def test_unread_journal_counts_messages_without_rendering_them(monkeypatch):
    from mockcti.journal import Journal
    import mockcti.journal

    kept = _drive(Journal()).journal
    calls = []
    monkeypatch.setattr(mockcti.journal, "message_to_dict", lambda m, **kw: calls.append(m) or {})
    quiet = _drive(Journal(keep=False)).journal
    assert calls == []  # nobody keeps or reads it: not rendered
    assert quiet.counts["in"] == kept.counts["in"] == 6 and quiet.counts["out"] == kept.counts["out"] == 6
    assert quiet.sessions[1]["in"] == kept.sessions[1]["in"] and quiet.sessions[1]["out"] == kept.sessions[1]["out"]
    seen = []
    j = Journal(keep=False)
    j.add_sink(seen.append)
    _drive(j)
    assert len(calls) == 12 and sum(e.kind in ("in", "out") for e in seen) == 12  # a sink still gets every message


def test_whether_messages_are_rendered_follows_keep_messages_and_sinks():
    """The hub reads ``journal.rendering`` for every chunk: it must follow every change."""
    from mockcti.journal import Journal

    j = Journal(keep=False)
    assert j.rendering is False and j.wants_messages() is False
    sink = [].append
    j.add_sink(sink)
    assert j.rendering is True
    j.messages = False
    assert j.rendering is False and j.wants_messages() is False
    j.messages = True
    j.remove_sink(sink)
    assert j.rendering is False
    j.keep = True
    assert j.rendering is True and j.keep is True
    assert Journal().rendering is True and Journal(messages=False).rendering is False
    # and a hub whose journal starts keeping messages renders them from then on
    quiet = Journal(keep=False)
    _drive(quiet)
    assert not quiet.entries(kind="in") and not quiet.entries(kind="out")
    quiet.keep = True
    _drive(quiet)
    assert len(quiet.entries(kind="in")) == 6 and len(quiet.entries(kind="out")) == 6
    assert quiet.counts["in"] == quiet.counts["out"] == 12


@pytest.mark.parametrize("level, json_lines, rendered, dicts", [
    ("warning", False, False, False), ("error", False, False, False), ("info", False, True, False),
    ("debug", False, True, False), ("warning", True, False, False), ("info", True, True, True)])
def test_a_trace_that_prints_no_messages_does_not_make_the_journal_render_them(monkeypatch, level, json_lines,
                                                                                rendered, dicts):
    """`mockcti serve --log-level warning` (the live load line without the per-message trace): the
    trace prints no message, so none is rendered (every one was, for nobody); violations and faults
    still print. --json follows the level the same way. The text trace prints messages from the
    decoded message itself: no dict is rendered for it (``--json`` prints the dict)."""
    import io

    import mockcti.journal
    from mockcti.commands.serve import Trace
    from mockcti.journal import Journal

    renders = []
    real = mockcti.journal.message_to_dict
    monkeypatch.setattr(mockcti.journal, "message_to_dict", lambda m, **kw: renders.append(m) or real(m, **kw))
    out = io.StringIO()
    journal = Journal(keep=False)
    trace = Trace(out, json_lines=json_lines, verbose=False, level=level)
    journal.add_sink(trace)
    assert journal.rendering is rendered
    hub = _drive(journal)
    hub.journal.record("violation", 9.0, 1, rule="PROTO-TEST", detail="a violation", explanation="")
    trace.close()  # (the trace writes on a thread of its own: all of it is out once closed)
    assert bool(renders) is dicts and (len(renders) == 12 if dicts else True)
    assert "PROTO-TEST" in out.getvalue()
    assert ("HEARTBEAT_CONF" in out.getvalue()) is rendered
    assert journal.counts["in"] == journal.counts["out"] == 6  # counted either way


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_log_level_warning_leaves_out_the_per_call_happenings_of_the_generators(json_lines):
    """README: `--log-level warning` keeps the load line and leaves out the per-message trace; yet
    every generated call still printed a happening line ("load call", its caller hanging up or
    abandoning; "inbound call" of --calls-per-minute): at 50 calls/s a trace of its own. At warning
    they are left out with the messages; what is news stays (the center replaced under the
    generator, a violation); at info they are all there."""
    import io

    from mockcti.center import ContactCenter
    from mockcti.commands.serve import Trace
    from mockcti.hub import Hub
    from mockcti.journal import Journal
    from mockcti.load import LoadGenerator

    shown = {}
    for level in ("info", "warning"):
        out = io.StringIO()
        journal = Journal(keep=False)
        trace = Trace(out, json_lines=json_lines, verbose=False, level=level)
        journal.add_sink(trace)
        hub = Hub(ContactCenter(two_agent_center()), journal=journal)
        gen = LoadGenerator(parse_load_spec("calls_per_s=4,handle_time=0.5,answer_after=0.1,caller_hangup=1,"
                                            "abandon_after=0.3,hold=0,transfer=0,conference=0"))
        gen.start(hub, 0.0)
        hub.start_inbound_calls(0.0, 600, seed=1, abandon_after=0.2)
        t = advance(hub, 0.0, 3.0)
        hub.center = ContactCenter(two_agent_center())  # (as POST /reset does)
        advance(hub, t, 0.5)
        hub.journal.record("violation", 9.0, 1, rule="PROTO-TEST", detail="a violation", explanation="")
        trace.close()  # (the trace writes on a thread of its own: all of it is out once closed)
        shown[level] = out.getvalue()
    for what in ("load call", "load caller hung up", "load caller abandoned", "inbound call",
                 "inbound caller abandoned"):
        assert what in shown["info"], what
    per_call = [line for line in shown["warning"].splitlines()
                if any(w in line for w in ("load call", "load caller", "inbound call", "inbound caller"))]
    assert per_call == [], per_call[:3]
    assert "the center was replaced" in shown["warning"] and "PROTO-TEST" in shown["warning"]


# -- `mockcti serve --calls-per-minute R --seed S`: Poisson arrivals (Hub.start_inbound_calls) -----------------


def _arrivals(per_minute: float, seed: int, *, csqs=None, seconds: int = 600, bridge: bool = False, hub=None,
              **kw):
    """Arrivals over ``seconds`` of a hub ticked once a second (pure, no sleeping): the journal's
    "inbound call" happenings, and the frames a bridge session was written (when ``bridge``).
    ``kw``: more arguments of start_inbound_calls (abandon_after)."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, Write
    from mockcti.wire import Dialect, FrameBuffer, decode, encode
    from mockcti.wire.messages import OpenReq

    hub = hub or Hub(ContactCenter(default_center()))
    frames = FrameBuffer()
    written = []
    sid = None
    if bridge:
        sid = hub.connect(0.0)
        hub.receive(sid, encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=3600, services_requested=0x10,
                                        call_msg_mask=0xFFFFFF, agent_state_mask=0, client_id="wallboard",
                                        client_password=b""), Dialect.uccx(14)), 0.0)
    hub.start_inbound_calls(0.0, per_minute, seed=seed, csqs=csqs, **kw)
    for i in range(1, seconds + 1):
        for a in hub.tick(float(i)):
            if isinstance(a, Write) and a.session_id == sid:
                written += [decode(f, Dialect.uccx(14)) for f in frames.feed(a.data)]
    return [e.data for e in happenings(hub, "inbound call")], written


def test_calls_per_minute_arrivals_are_reproducible_from_the_seed_and_at_the_rate():
    a, _ = _arrivals(6, seed=1)
    assert a == _arrivals(6, seed=1)[0]  # same seed: same calls, same CSQs, same ANIs
    assert a != _arrivals(6, seed=2)[0]
    counts = [len(_arrivals(6, seed=s)[0]) for s in range(5)]
    assert 250 <= sum(counts) <= 350, counts  # 6/min for 10 min, 5 seeds: 300 expected (sd ~17)
    assert {d["csq"] for d in a} == {"Sales", "Support"}  # the default center's CSQs, picked at random
    assert all(len(d["ani"]) == 10 and d["ani"].startswith("0") and d["ani"].isdigit() for d in a)
    assert len({d["call_id"] for d in a}) == len(a)


def _arrival_times(per_minute: float, seed: int, step: float | None, *, until: float = 600.0) -> list[float]:
    """When the "inbound call" happenings of start_inbound_calls were placed on a hub ticked every
    ``step`` seconds, or (``None``) exactly at each of its deadlines, up to ``until``."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub

    hub = Hub(ContactCenter(default_center()))
    hub.start_inbound_calls(0.0, per_minute, seed=seed, abandon_after=None)
    t = 0.0
    for _ in range(100_000):  # bounded: ~10 * per_minute deadlines, or until / step steps
        nxt = hub.next_deadline() if step is None else t + step
        if nxt is None or nxt > until:
            break
        t = nxt
        hub.tick(t)
    hub.tick(until)
    return [e.t for e in happenings(hub, "inbound call")]


@pytest.mark.parametrize("step", [1.0, 7.0])
def test_calls_per_minute_arrivals_are_anchored_not_drifting_with_coarse_timer_steps(step):
    """Each next arrival was scheduled from the time of the timer step that placed the one before,
    not from when that one was due: 60 calls a minute on 1-second steps came out at ~40. Now the
    arrivals are anchored at the start: however coarse the steps, 10 minutes hold the arrivals that
    timers run at their exact deadlines place (10 * N on average, Poisson), each late by less than
    a step."""
    total = 0
    for seed in range(4):
        exact = _arrival_times(60, seed, None)
        coarse = _arrival_times(60, seed, step)
        assert abs(len(coarse) - len(exact)) <= 1, (seed, len(coarse), len(exact))
        assert all(0 <= c - e < step for c, e in zip(coarse, exact)), seed
        total += len(coarse)
    assert 4 * 600 * 0.9 <= total <= 4 * 600 * 1.1, total  # 2,400 expected (sd ~49); drifting: ~1,500


def test_calls_per_minute_a_late_timer_catches_up_in_slices_not_in_one_go():
    """60,000 calls a minute (the most serve takes) on a loop late by 2 s: the ~2,000 arrivals due are
    placed a slice (50, as --load's: README) per run of the timers, each run a loop turn of its own where
    the server reads its sockets and signals, not all at once; once caught up, none is missing."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub

    hub = Hub(ContactCenter(default_center()))
    hub.start_inbound_calls(0.0, 60_000, seed=1, abandon_after=None)
    hub.tick(2.0)
    assert len(happenings(hub, "inbound call")) == 50
    for k in range(1, 101):  # loop turns a millisecond apart
        hub.tick(2.0 + k / 1000)
    placed = len(happenings(hub, "inbound call"))
    assert 2100 * 0.9 <= placed <= 2100 * 1.1, placed  # 1,000 a second over 2.1 s (sd ~46)
    assert placed == len(_arrival_times(60_000, 1, None, until=2.1))


def test_calls_per_minute_can_be_limited_to_csqs_and_zero_means_none():
    only, _ = _arrivals(6, seed=1, csqs=["Support"])
    assert only and {d["csq"] for d in only} == {"Support"}
    assert _arrivals(0, seed=1)[0] == []


def test_calls_per_minute_follow_a_center_put_in_place_with_other_csqs():
    """The control API (POST /scenario with a center, POST /reset) or a scenario may put in a center
    with other CSQs: the next arrival raised KeyError ("unknown CSQ 'Sales'") in the server's timer
    (an internal error) and no call arrived again. Now the calls go to the CSQs of the center in
    place; one with no CSQ gets no call (a happening says so once) until a center with CSQs is back."""
    import dataclasses

    from mockcti.center import ContactCenter
    from mockcti.center.config import CSQConfig
    from mockcti.hub import Hub

    base = default_center()
    billing = dataclasses.replace(base, csqs=(CSQConfig("Billing", 7),),
                                  agents=tuple(dataclasses.replace(a, csqs=("Billing",)) for a in base.agents))
    hub = Hub(ContactCenter(base))
    hub.start_inbound_calls(0.0, 60, seed=1)
    for center, start in ((ContactCenter(billing), 60), (ContactCenter(dataclasses.replace(base, csqs=(),
                          agents=tuple(dataclasses.replace(a, csqs=()) for a in base.agents))), 120),
                          (ContactCenter(base), 180)):
        for i in range(start - 59, start + 1):
            hub.tick(float(i))
        hub.center = center
    for i in range(181, 241):
        hub.tick(float(i))
    calls = happenings(hub, "inbound call")
    by_minute = [{e.data["csq"] for e in calls if m * 60 < e.t <= (m + 1) * 60} for m in range(4)]
    assert by_minute == [{"Sales", "Support"}, {"Billing"}, set(), {"Sales", "Support"}], by_minute
    none = [e for e in hub.journal.entries(kind="happening") if "no CSQ to call" in e.data["what"]]
    assert len(none) == 1 and 120 < none[0].t <= 121


def test_a_bridge_sees_every_generated_call_begin():
    calls, seen = _arrivals(12, seed=3, seconds=120, bridge=True)
    begun = [m.call_id for m in seen if m.TYPE == MT.BEGIN_CALL_EVENT]
    assert calls and begun == [d["call_id"] for d in calls]
    assert {m.ani for m in seen if m.TYPE == MT.BEGIN_CALL_EVENT} == {d["ani"] for d in calls}


def test_calls_per_minute_callers_nobody_answers_abandon_so_calls_do_not_pile_up():
    """serve --calls-per-minute with no agent to take the calls queued every one for ever (2,300 calls
    an hour at 60 a minute, growing): a caller no agent answered abandon_after seconds (default 120)
    after arriving hangs up; a bridge sees each one's CALL_CONNECTION_CLEARED and END_CALL."""
    from mockcti.center import ContactCenter
    from mockcti.hub import DEFAULT_ABANDON_AFTER, Hub

    hub = Hub(ContactCenter(default_center()))
    calls, seen = _arrivals(12, seed=3, seconds=600, bridge=True, hub=hub)
    arrived = {e.data["call_id"]: e.t for e in happenings(hub, "inbound call")}
    assert len(arrived) == len(calls) > 60
    gone = [cid for cid, t in arrived.items() if t + DEFAULT_ABANDON_AFTER <= 600]
    assert [e.data["call_id"] for e in happenings(hub, "inbound caller abandoned")] == gone
    assert sorted(hub.center.calls) == [cid for cid in arrived if cid not in gone]  # the last 120 s only
    assert not any(cid in q for q in hub.center.queues.values() for cid in gone)
    cleared = [m.call_id for m in seen if m.TYPE == MT.CALL_CONNECTION_CLEARED_EVENT]
    ended = [m.call_id for m in seen if m.TYPE == MT.END_CALL_EVENT]
    assert cleared == ended == gone
    assert all(m.releasing_device_id == next(d["ani"] for d in calls if d["call_id"] == m.call_id)
               for m in seen if m.TYPE == MT.CALL_CONNECTION_CLEARED_EVENT)  # the caller hung up
    kept = Hub(ContactCenter(default_center()))
    _arrivals(12, seed=3, seconds=600, hub=kept, abandon_after=None)  # callers who wait for ever: all still there
    assert len(kept.center.calls) == len(calls) and not happenings(kept, "inbound caller abandoned")


@pytest.mark.parametrize("patience", ["fixed", "exponential"])
def test_calls_per_minute_callers_wait_abandon_after_or_spread_exponentially_around_it(patience):
    """serve --calls-per-minute --patience: fixed, every caller nobody answers hangs up --abandon-after seconds
    after arriving; exponential, the waits spread as --load's patience=exponential does (the same quantiles, no
    random numbers: the same waits every run whatever the seed), with that mean."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub

    runs = []
    for seed in (1, 2):
        hub = Hub(ContactCenter(default_center()))  # no agent READY: each call's wait is its caller's patience
        hub.start_inbound_calls(0.0, 60, seed=seed, abandon_after=4, patience=patience)
        for _ in range(100_000):  # bounded: ~600 arrivals and as many abandons, each timer run at its deadline
            t = hub.next_deadline()
            if t is None or t > 600:
                break
            hub.tick(t)
        arrived = {e.data["call_id"]: e.t for e in happenings(hub, "inbound call")}
        gone = sorted(happenings(hub, "inbound caller abandoned"), key=lambda e: arrived[e.data["call_id"]])
        runs.append([round(e.t - arrived[e.data["call_id"]], 6) for e in gone])
        assert [e.data["waited"] for e in gone] == pytest.approx(runs[-1], abs=0.001)  # (said in the happening)
        assert len(gone) >= 500 and len(arrived) - len(gone) <= 60  # (the last ones may still wait)
    waits = sorted(runs[0])
    if patience == "fixed":
        assert waits[0] == pytest.approx(4.0) and waits[-1] == pytest.approx(4.0)
        return
    assert runs[0][:400] == runs[1][:400]  # the n-th caller's patience (in arrival order): whatever the seed
    assert sum(waits) / len(waits) == pytest.approx(4.0, rel=0.05)
    n = len(waits)  # an exponential's quantiles: a tenth under 0.42 s (4 ln 10/9), a tenth over 9.2 s (4 ln 10)
    assert waits[n // 10] == pytest.approx(0.42, abs=0.1) and waits[n * 9 // 10] == pytest.approx(9.21, abs=0.5)


def test_calls_per_minute_above_capacity_exponential_patience_keeps_the_agents_answering():
    """5 agents answering calls (--load's, which answers the --calls-per-minute calls that ring at its agents:
    other_answered) after 1 s and clearing them 3 s later take 12.5 calls in 10 s; 300 calls a minute come.
    With one patience for all (--abandon-after 10) the call an agent frees up for has waited longest, nearly
    10 s, and its caller often hangs up while it rings: after the first 20 s the agents answer about half what
    they can. With --patience exponential the impatient callers leave early and the agents answer at capacity."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.load import LoadGenerator

    answered = {}
    for patience in ("fixed", "exponential"):
        spec = parse_load_spec("agents=5,calls_per_s=1,limit=1,handle_time=3,hold=0,transfer=0,conference=0")
        hub = Hub(ContactCenter(center_config_for(spec, default_center())))
        gen = LoadGenerator(spec)
        gen.start(hub, 0.0)
        hub.start_inbound_calls(0.0, 300, seed=1, abandon_after=10, patience=patience)
        t = advance(hub, 0.0, 20.0)
        before = gen.stats.other_answered
        advance(hub, t, 40.0)
        answered[patience] = gen.stats.other_answered - before
        assert gen.stats.errors == 0
    assert answered["exponential"] >= 45, answered  # capacity: 50 in 40 s
    assert answered["fixed"] <= 36, answered


def test_calls_per_minute_an_answered_call_is_kept_and_one_ringing_is_abandoned():
    """A desktop answers the first call; the next rings at a READY agent no client drives and is
    abandoned while ringing (that agent's phone stops ringing); the answered one goes on."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.wire import Dialect, encode
    from mockcti.wire.messages import AnswerCallReq, OpenReq

    d = Dialect.uccx(14)
    hub = Hub(ContactCenter(default_center()))
    desk = hub.connect(0.0)
    hub.receive(desk, encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=3600, services_requested=0x7,
                                     call_msg_mask=0xFFFFFF, agent_state_mask=0x3FFF, client_id="desk",
                                     client_password=b"", agent_id="1001", agent_instrument="3001",
                                     agent_extension="3001"), d), 0.0)
    for agent in ("1001", "1002"):
        hub.deliver(hub.center.set_agent_state(0.0, agent, AS.AGENT_STATE_LOGIN))
        hub.deliver(hub.center.set_agent_state(0.0, agent, AS.AGENT_STATE_READY))
    hub.start_inbound_calls(0.0, 6, seed=1, csqs=["Sales"], abandon_after=30)
    first = second = None
    for i in range(1, 601):
        hub.tick(float(i))
        arrived = [e.data["call_id"] for e in happenings(hub, "inbound call")]
        if first is None and arrived:
            first = arrived[0]
            hub.receive(desk, encode(AnswerCallReq(invoke_id=2, call_id=first, connection_device_id="3001"), d),
                        float(i))
        if len(arrived) > 1 and second is None:
            second = arrived[1]
            assert [lg.device for lg in hub.center.calls[second].legs.values() if lg.agent] == ["3002"]  # ringing
        if second is not None and second not in hub.center.calls:
            break
    abandoned = [e.data["call_id"] for e in happenings(hub, "inbound caller abandoned")]
    assert second in abandoned and first not in abandoned
    assert first in hub.center.calls and hub.center.agents["1001"].state is AS.AGENT_STATE_TALKING
    assert second not in [c.id for c, _ in hub.center.agent_call_legs("1002")]  # its phone stopped ringing


@pytest.mark.parametrize("text, message", [
    ("calls_per_s=1e9", "must be > 0 and at most 1,000"),
    ("calls_per_s=1,agents=5000000", "'agents' must be at most 100,000"),
])
def test_rates_and_sizes_beyond_any_contact_center_are_refused(text, message):
    """--load calls_per_s=1e9 spun the timer loop past SIGTERM; agents=5000000 built for minutes."""
    with pytest.raises(LoadSpecError, match=message):
        parse_load_spec(text)


def test_an_acd_rule_the_generator_breaks_is_not_charged_to_a_client():
    """The generator's own request refused by an ACD rule (here every ClearConnection, with the
    rule's allowed states narrowed to one the generator never sees) is a generator error and a
    happening; it used to stay in the center and be journalled as a violation of whichever client
    sent the next request."""
    hub, gen = hub_with(two_agent_center(acd={"allowed_states": {"ACD-1159": ["Line2AllHeld"]}}),
                        "calls_per_s=5,limit=1,handle_time=0.2,answer_after=0.05", auto_agents={"1001"})
    desk = Desk(hub, "1002", 0.0)
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 1.0)
    assert gen.stats.answered == 1 and gen.stats.errors >= 1  # its clear was refused
    desk.set_state(AS.AGENT_STATE_LOGIN, t, password="1234")
    assert [e.data["rule"] for e in hub.journal.violations()] == []
    refused = happenings(hub, "load generator's CLEAR_CONNECTION_REQ refused: ACD-1159")
    assert refused and refused[0].data["rule"] == "ACD-1159"
    assert refused[0].data["answer"].startswith("CONTROL_FAILURE_CONF ") and "answer_type" not in refused[0].data


def _agent_on(hub, call_id):
    """The agent whose leg is on ``call_id`` and that leg's state name (None when the call is over)."""
    call = hub.center.calls.get(call_id)
    if call is None:
        return None
    return [(leg.agent, leg.state.name) for leg in call.legs.values() if leg.agent is not None]


def test_a_call_from_elsewhere_at_an_undriven_agent_is_answered_and_cleared():
    """Calls the generator did not place — the control API's POST /calls to an agent or a CSQ,
    --calls-per-minute — that ring at an agent no client drives are answered answer_after later and
    cleared handle_time after that, as the generator's own are, and counted apart
    (``other_answered``). They rang for ever: the agent stayed RESERVED and took no call again,
    and the generated calls queued behind it for the rest of the run."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=0.01,handle_time=2,answer_after=0.5")
    gen.start(hub, 0.0)
    hub.tick(0.0)  # the generator's first call: to the longest-ready agent
    (generated,) = hub.center.calls
    (busy, _), = _agent_on(hub, generated)
    free = ({"1001", "1002"} - {busy}).pop()
    direct, deliveries = hub.center.deliver_call(0.1, agent_id=free, ani="0611111111")  # POST /calls {"agent"}
    hub.deliver(deliveries)
    queued, deliveries = hub.center.deliver_call(0.1, csq="Sales", ani="0622222222")  # POST /calls {"csq"}
    hub.deliver(deliveries)
    t = advance(hub, 0.1, 1.0)
    assert _agent_on(hub, direct) == [(free, "LCS_CONNECT")]  # answered ~answer_after later
    assert _agent_on(hub, queued) == []  # waiting: both agents talk
    t = advance(hub, t, 9.0)
    assert not hub.center.calls  # all three cleared handle_time after their answer
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 1 and s["active"] == 0, s  # its own call only
    assert s["other_answered"] == 2 and s["errors"] == 0, s


def test_a_call_for_an_undriven_agent_talking_is_refused_busy():
    """A call injected for an agent the generator drives (POST /calls {"agent"}) while that agent talks on a
    generated call rang there, a second call on a line that takes one (MaxActiveCalls 1), answered once the
    generated call was over. It is refused now (CallNotOffered, the control API's 409), as a client's desk
    dialling that busy agent is not put through (the center fails it busy, CEC_BUSY): the generator sees no
    call of either, and its generated call goes on."""
    from mockcti.center.core import CallNotOffered
    from mockcti.wire.messages import ClearConnectionReq, MakeCallReq

    hub, gen = hub_with(default_center(), "agents=2,calls_per_s=0.01,handle_time=2,answer_after=0.5")
    gen.start(hub, 0.0)
    hub.tick(0.0)
    (generated,) = hub.center.calls
    t = advance(hub, 0.0, 1.0)
    (busy, state), = _agent_on(hub, generated)
    assert state == "LCS_CONNECT"
    desk = Desk(hub, "1003", t)
    desk.set_state(AS.AGENT_STATE_LOGIN, t, password="1234")
    desk.invoke += 1
    desk.send(MakeCallReq(invoke_id=desk.invoke, agent_instrument="3003",
                          dialed_number=hub.center.agents[busy].cfg.extension), t)
    (dialled,) = set(hub.center.calls) - {generated}
    assert _agent_on(hub, dialled) == [("1003", "LCS_INITIATE")]  # busy (CALL_FAILED): it does not ring at the busy agent
    desk.invoke += 1
    desk.send(ClearConnectionReq(invoke_id=desk.invoke, call_id=dialled, connection_device_id="3003"), t)
    assert set(hub.center.calls) == {generated}
    with pytest.raises(CallNotOffered, match=f"the phone 300. of agent {busy} is busy"):
        hub.center.deliver_call(t, agent_id=busy, ani="0611111111")  # POST /calls {"agent"}
    assert set(hub.center.calls) == {generated}
    t = advance(hub, t, 3.0)  # the generated call is over, nothing else rang
    assert not hub.center.calls
    s = gen.summary()
    assert s["other_answered"] == 0 and s["errors"] == 0 and s["active"] == 0 and s["answered"] == 1, s


def test_no_call_is_offered_once_serve_is_told_to_stop(monkeypatch, capsys):
    """Ctrl-C / SIGTERM: the generator stops offering calls before the server's shutdown (which
    lets clients drain for up to its grace, and under load runs late). It went on offering them
    while the clients were being told the server went offline and disconnected, and the summary
    counted those calls — at 1,000 calls/s thousands no client could see."""
    from slow_stop import serve_with_a_slow_stop  # tests/support

    status = serve_with_a_slow_stop(monkeypatch, ["--port", "0", "--log-level", "error", "--load",
                                                  "calls_per_s=10,handle_time=30"])
    assert status == 0
    (summary,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mockcti load summary:")]
    offered = int(summary.split(" offered ")[1].split()[0])
    assert offered <= 1, summary  # the first arrival (due at start) at most; ~50 during the shutdown


def test_the_generator_says_once_when_the_limit_s_calls_are_all_over():
    """limit=3: on_finished (what ends `serve`) is called once, at the first sweep after the third call
    is over — not when the third arrives, nor while one still rings or talks; never without limit=."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=10,limit=3,handle_time=1,answer_after=0.1,"
                                            "hold=0,transfer=0,conference=0")
    told = []
    gen.on_finished = lambda: told.append(hub.now)
    assert parse_load_spec("calls_per_s=1,limit=3").at_limit == "exit"  # (the default: serve ends)
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 0.5)
    assert gen.stats.offered == 3 and gen.active == 3 and not gen.finished and told == []  # (one queued)
    advance(hub, t, 4.0)
    s = gen.summary()
    assert s["offered"] == s["cleared"] == 3 and s["active"] == 0 and gen.finished
    assert len(told) == 1 and told[0] <= 3.0, told  # the last call, queued behind the first, is over by ~2.3 s


def test_without_a_limit_the_generator_never_says_it_is_over():
    """No limit=: the calls never run out, even when none is up (the arrivals stopped by Ctrl-C, every call
    cleared): on_finished is never called."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=10,handle_time=0.1,answer_after=0.05")
    told = []
    gen.on_finished = lambda: told.append(hub.now)
    gen.start(hub, 0.0)
    advance(hub, 0.0, 1.0)
    gen.stop()
    advance(hub, 1.0, 1.0)
    assert gen.stats.offered >= 10 and gen.active == 0 and not gen.finished and told == []


def _serve_load(spec: str, *more: str) -> subprocess.Popen:
    """``mockcti serve --port 0 --load SPEC`` in a subprocess (this checkout's code), stdout and stderr piped."""
    import os
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"),) if p)}
    return subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", "--loop", "asyncio",
                             "--log-level", "warning", "--load", spec, *more],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _ended(proc: subprocess.Popen, *, sigterm: bool = False) -> tuple[str, str]:
    """What a :func:`_serve_load` subprocess writes until it ends (SIGTERM first if ``sigterm``), as text:
    (stdout, stderr); bounded (30 s), and the process reaped whatever happens (killed if it still runs, its
    pipes closed)."""
    import signal

    from processes import reap

    try:
        if sigterm:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        reap(proc)
    return out.decode(), err.decode()


def _summary(text: str, name: str = "load") -> tuple[str, dict[str, str]]:
    """The one ``mockcti NAME summary: ...`` line of ``text`` (serve's stderr), and its counts by name."""
    (summary,) = [x for x in text.splitlines() if x.startswith(f"mockcti {name} summary:")]
    return summary, dict(zip(summary.split()[3::2], summary.split()[4::2]))


def test_serve_load_limit_ends_by_itself_with_the_summary_and_status_0():
    """`serve --load ...,limit=10` in a CI job: once the 10 calls are over, serve ends by itself (as SIPp's -m
    does), the summary on stderr and exit status 0; it served on until a SIGTERM, the job hanging."""
    proc = _serve_load("agents=4,calls_per_s=20,limit=10,handle_time=0.2,answer_after=0.05,hold=0,transfer=0,"
                       "conference=0")
    out, text = _ended(proc)  # (the calls are over in ~1 s)
    assert proc.returncode == 0, text
    assert out.startswith("mockcti listening on 127.0.0.1:")
    lines = text.splitlines()
    summary, counts = _summary(text)
    assert (counts["offered"], counts["cleared"], counts["active"], counts["errors"]) == ("10", "10", "0", "0"), summary
    said = "mockcti load: limit=10 reached and its 10 calls are over: serve ends (at_limit=serve keeps it serving)"
    assert said in lines and lines.index(said) < lines.index(summary), text


def test_serve_load_limit_with_calls_per_minute_counts_the_callers_it_cuts_off():
    """`--load ...,limit=4` with `--calls-per-minute`: the limit is the load's, SIPp -m style: serve ends once its 4
    calls are over, and the line that says so counts the --calls-per-minute callers still in calls, cut off with it
    (here many: 6,000 a minute to 2 agents of 0.2 s, patient for 60 s). It said "every call is over" while they were
    queued, and the calls-per-minute summary then showed them active."""
    import re

    proc = _serve_load("agents=2,calls_per_s=20,limit=4,handle_time=0.2,answer_after=0.05,abandon_after=0.5,hold=0,"
                       "transfer=0,conference=0", "--calls-per-minute", "6000", "--abandon-after", "60", "--seed", "1")
    _, text = _ended(proc)  # (the load's 4 calls, answered or abandoned, are over in ~1 s)
    assert proc.returncode == 0, text
    lines = text.splitlines()
    (said,) = [x for x in lines if x.startswith("mockcti load: limit=4 reached")]
    cut = re.fullmatch(r"mockcti load: limit=4 reached and its 4 calls are over: serve ends \(at_limit=serve keeps it "
                       r"serving\); (\d+) --calls-per-minute callers still in calls are cut off with it", said)
    assert cut is not None and int(cut[1]) > 1, said
    _, counts = _summary(text)
    assert (counts["offered"], counts["active"]) == ("4", "0"), text
    summary, inbound = _summary(text, "calls-per-minute")
    assert int(inbound["active"]) > 0 and lines.index(said) < lines.index(summary), text


def test_serve_load_limit_ends_with_status_1_when_the_generator_s_requests_were_refused(tmp_path):
    """A run that ends at its limit is a verdict, as SIPp's -m: here every HOLD_CALL_REQ of the generator's agents
    is refused (ACD-1128's allowed states narrowed, in the center file), so the calls did not go as the spec says;
    it ended with status 0 and only the summary's errors count said so."""
    center = tmp_path / "center.toml"
    center.write_text('[[csqs]]\nname = "Sales"\n\n'
                      '[[agents]]\nid = "1001"\nextension = "3001"\npassword = "1234"\ncsqs = ["Sales"]\n\n'
                      '[[agents]]\nid = "1002"\nextension = "3002"\npassword = "1234"\ncsqs = ["Sales"]\n\n'
                      '[acd.allowed_states]\n"ACD-1128" = ["Line2AllHeld"]\n', encoding="utf-8")
    proc = _serve_load("calls_per_s=20,limit=4,handle_time=0.3,answer_after=0.05,hold=1,hold_time=0.05,transfer=0,"
                       "conference=0", "--center", str(center))
    _, text = _ended(proc)  # (the calls are over in ~1 s)
    assert proc.returncode == 1, text
    summary, counts = _summary(text)
    assert (counts["offered"], counts["cleared"], counts["errors"]) == ("4", "4", "4"), summary
    assert ("mockcti load: the center refused 4 requests of the load generator's own (errors 4 in the summary): "
            "exit status 1") in text.splitlines(), text


def test_serve_help_says_limit_ends_serve(monkeypatch, capsys):
    from mockcti.cli import main

    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no word cut by the wrapping
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.lstrip().startswith("--load SPEC")]
    assert "[,limit=L[,at_limit=serve]]" in line
    assert "L total calls, SIPp -m: once they are all over serve prints the summary and ends, exit status 0 (1 if " \
           "any of the generator's own requests was refused), unless at_limit=serve" in line
    assert "or once the calls of --load ...,limit=L are all over, which ends serve the same way" in " ".join(out.split())


def test_serve_load_limit_with_at_limit_serve_keeps_serving_until_sigterm():
    """at_limit=serve: the limit stops the arrivals only (the agents it drives go on answering); serve runs on
    until SIGTERM, then ends with the summary, status 0."""
    from processes import read_lines_until

    def over_at(lines: list[str]) -> int | None:
        """How many load lines there were when the first said the 5 calls were over."""
        lines = [x for x in lines if x.startswith("load t=")]
        return next((i + 1 for i, x in enumerate(lines) if " offered 5 " in x and " active 0 " in x), None)

    def over_then_two_more(lines: list[str]) -> bool:
        at = over_at(lines)
        return at is not None and len([x for x in lines if x.startswith("load t=")]) >= at + 2

    proc = _serve_load("agents=4,calls_per_s=20,limit=5,at_limit=serve,handle_time=0.2,answer_after=0.05,hold=0,"
                       "transfer=0,conference=0")
    try:
        # a line a second; over in ~1 s, then 2 more lines
        before = read_lines_until(proc.stderr, over_then_two_more, seconds=30).decode()
        ran_on = proc.poll() is None  # serve runs on
    finally:
        _, rest = _ended(proc, sigterm=True)
    text = before + rest
    assert over_at(before.splitlines()) is not None and ran_on, text
    assert proc.returncode == 0, text
    assert "limit=5 reached" not in text
    summary, _ = _summary(text)
    assert " offered 5 " in summary and " cleared 5 " in summary, summary


def test_agents_it_drives_still_answer_once_the_limit_is_reached():
    """limit=1: once its one call is over, the generator offers no more, but its agents still act as
    agents: a call from elsewhere (POST /calls) is answered and cleared. Reaching the limit stopped
    the generator as a whole: the call rang for ever."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=5,limit=1,handle_time=0.5,answer_after=0.1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 3.0)
    s = gen.summary()
    assert s["offered"] == s["cleared"] == 1 and s["active"] == 0 and not hub.center.calls, s
    call_id, deliveries = hub.center.deliver_call(t, agent_id="1002", ani="0611111111")
    hub.deliver(deliveries)
    t = advance(hub, t, 0.5)
    assert _agent_on(hub, call_id) == [("1002", "LCS_CONNECT")]
    advance(hub, t, 1.0)
    assert call_id not in hub.center.calls
    assert gen.summary()["offered"] == 1 and gen.stats.other_answered == 1


def test_a_clients_call_to_an_idle_undriven_agent_is_answered():
    """A client's desk dials the extension of an idle agent the generator drives: the center makes
    that agent NOT_READY while its phone rings (not an ACD call), and the generator answers it,
    hangs up handle_time later and makes the agent READY again (an agent NOT_READY with a call was
    passed over as 'not idle': the call rang for ever)."""
    from mockcti.wire.messages import MakeCallReq

    hub, gen = hub_with(default_center(), "agents=2,calls_per_s=5,limit=1,handle_time=1,answer_after=0.2")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 3.0)  # the generator's one call is over
    desk = Desk(hub, "1003", t)
    desk.set_state(AS.AGENT_STATE_LOGIN, t, password="1234")
    desk.invoke += 1
    desk.send(MakeCallReq(invoke_id=desk.invoke, agent_instrument="3003", dialed_number="3002"), t)
    (call_id,) = hub.center.calls
    t = advance(hub, t, 0.6)
    assert ("1002", "LCS_CONNECT") in _agent_on(hub, call_id)
    advance(hub, t, 1.5)
    assert not hub.center.calls and hub.center.agents["1002"].state is AS.AGENT_STATE_READY
    assert gen.stats.other_answered == 1 and gen.stats.errors == 0


def test_a_client_consults_an_undriven_agent_and_transfers_the_call_to_it():
    """The client under test answers a generated call, consults an agent the generator drives and
    transfers the caller to it: that agent answers the consultation, takes the caller and hangs up
    handle_time later (the consultation rang for ever: the transfer could never be completed)."""
    from mockcti.wire.messages import ConsultCallReq, TransferCallReq

    hub, gen = hub_with(default_center(), "agents=2,calls_per_s=5,limit=3,handle_time=2,answer_after=0.3")
    desk = Desk(hub, "1003", 0.0)
    desk.set_state(AS.AGENT_STATE_LOGIN, 0.0, password="1234")
    desk.set_state(AS.AGENT_STATE_READY, 0.0)
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 0.6)
    (mine,) = [c.id for c in hub.center.calls.values() if "3003" in c.legs]
    desk.answer(mine, t)
    t = advance(hub, t, 2.5)  # the generator's own two calls are over
    desk.invoke += 1
    desk.send(ConsultCallReq(invoke_id=desk.invoke, active_call_id=mine, active_connection_device_id="3003",
                             consult_type=1, dialed_number="3002"), t)
    (consult,) = set(hub.center.calls) - {mine}
    t = advance(hub, t, 0.6)
    assert ("1002", "LCS_CONNECT") in _agent_on(hub, consult)
    desk.invoke += 1
    desk.send(TransferCallReq(invoke_id=desk.invoke, active_call_id=consult, held_call_id=mine,
                              active_connection_device_id="3003", held_connection_device_id="3003"), t)
    assert _agent_on(hub, mine) == [("1002", "LCS_CONNECT")]
    advance(hub, t, 3.0)
    assert not hub.center.calls and not hub.journal.violations()
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 3 and s["active"] == 0, s
    assert s["other_answered"] == 1 and s["errors"] == 0, s


def test_a_csq_no_agent_is_in_is_named_at_start(tmp_path, monkeypatch, capsys):
    """A center file with a CSQ no agent is in: half the generated calls go there (round-robin) and
    are never answered. `serve --load` says so at start, naming the CSQ (it did not: 'active'
    just grew)."""
    from mockcti import cli

    center = tmp_path / "center.yaml"
    center.write_text("csqs:\n  - {name: Sales, id: 1}\n  - {name: Nobody, id: 2}\n"
                      "agents:\n  - {id: '2001', extension: '4001', password: '1', csqs: [Sales]}\n")

    async def serve_forever(self):  # the run ends at once, as after Ctrl-C
        return None

    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    assert cli.main(["serve", "--port", "0", "--quiet", "--center", str(center), "--load", "calls_per_s=1"]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "no agent is in CSQ" in x]
    assert "Nobody" in line and "Sales" not in line and "1 in 2" in line and "for ever" in line
    assert cli.main(["serve", "--port", "0", "--quiet", "--load", "calls_per_s=1"]) == 0  # the default center
    assert "no agent is in CSQ" not in capsys.readouterr().err


def test_counts_of_one_are_singular_in_the_lines_serve_prints(tmp_path, monkeypatch, capsys):
    """`serve --load agents=1` on a center of CSQs only said 'center with 1 agents (ids 1001..1001,
    extensions 3001..3001), CSQs Sales' and 'listening on ... (..., 1 agents, ...)'; two CSQs no agent
    is in were 'no agent is in CSQ A, B'."""
    from mockcti import cli

    async def serve_forever(self):  # the run ends at once, as after Ctrl-C
        return None

    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    center = tmp_path / "csqs.yaml"
    center.write_text("csqs:\n  - {name: Sales, id: 1}\n")
    assert cli.main(["serve", "--port", "0", "--center", str(center), "--load", "calls_per_s=1,agents=1"]) == 0
    out, err = capsys.readouterr()
    assert "mockcti load: center with 1 agent (id 1001, extension 3001), CSQ Sales\n" in err
    assert ", 1 agent, " in out.splitlines()[0]
    center.write_text("csqs:\n  - {name: Sales, id: 1}\n  - {name: A, id: 2}\n  - {name: B, id: 3}\n")
    assert cli.main(["serve", "--port", "0", "--quiet", "--center", str(center), "--load",
                     "calls_per_s=1,agents=2"]) == 0
    out, err = capsys.readouterr()
    assert ", 2 agents, " in out.splitlines()[0]
    assert "no agent is in" not in err  # every agent the generator builds is in every CSQ
    center.write_text(center.read_text() + "agents:\n  - {id: '2001', extension: '4001', password: '1', csqs: [Sales]}\n")
    assert cli.main(["serve", "--port", "0", "--quiet", "--center", str(center), "--load", "calls_per_s=1"]) == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "no agent is in" in x]
    assert "no agent is in CSQs A, B: " in line


def test_a_timer_fired_late_catches_up_in_slices_not_in_one_go():
    """The server's loop was busy for 2 s at 1,000 calls/s: the 2,000 arrivals due are placed a
    slice (``burst``) per run of the timers, each a loop turn of its own in which the server reads
    its sockets and signals — not all in one run (which took seconds at that size, so the next run
    was later still: SIGTERM waited 4-5 s and the statistics line 3 s). The rate stays anchored at
    the start: once caught up, every call due is there."""
    hub, gen = hub_with(default_center(), "calls_per_s=1000,handle_time=30")
    gen.start(hub, 0.0)
    hub.tick(0.0)
    assert gen.stats.offered == 1
    hub.tick(2.0)
    assert 1 < gen.stats.offered <= 101  # a slice (50 by default), not 2,000
    for k in range(1, 101):  # loop turns a millisecond apart
        hub.tick(2.0 + k / 1000)
    assert 2100 <= gen.stats.offered <= 2101  # 0, 0.001, ... 2.1 s: none lost


# -- the call mix: hold, transfer, conference -------------------------------------------------------------

PLAIN = "hold=0,transfer=0,conference=0"


def tapped_run(config, spec_text: str, seconds: float, *, step: float = 0.05):
    """The generator on ``config`` with a bridge (a wallboard, a recorder) watching from the start:
    (hub, gen, tap) after ``seconds`` of hub time, every message the bridge was sent in ``tap.messages``."""
    hub, gen = hub_with(config, spec_text)
    tap = BridgeTap(hub, 0.0)
    gen.start(hub, 0.0)
    for i in range(0, int(round(seconds / step)) + 1):
        tap.take(hub.tick(i * step))
    return hub, gen, tap


def _of(tap, mt):
    return [m for m in tap.messages if m.TYPE is mt]


def test_with_hold_1_every_answered_call_is_held_and_retrieved_for_a_bridge():
    """hold=1: the agent that answered each generated call holds it a quarter into the handle time
    for hold_time seconds, then retrieves it, through HOLD_CALL_REQ / RETRIEVE_CALL_REQ: a bridge
    sees CALL_HELD_EVENT then CALL_RETRIEVED_EVENT for every call, from the agent's phone (the
    generator put no call on hold: a wallboard under load never saw one)."""
    hub, gen, tap = tapped_run(default_center(), "calls_per_s=4,limit=6,handle_time=2,answer_after=0.1,hold=1,"
                               "hold_time=0.5,transfer=0,conference=0", 6.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == s["held"] == 6 and s["active"] == 0, s
    assert s["errors"] == 0 and s["transferred"] == s["conferenced"] == 0, s
    held, retrieved = _of(tap, MT.CALL_HELD_EVENT), _of(tap, MT.CALL_RETRIEVED_EVENT)
    assert sorted(m.call_id for m in held) == sorted(m.call_id for m in retrieved) and len(held) == 6
    assert all(m.holding_device_id.startswith("300") for m in held), held
    for m in held:  # held, then retrieved hold_time later, then the call ends
        order = [x.TYPE for x in tap.messages if getattr(x, "call_id", None) == m.call_id
                 and x.TYPE in (MT.CALL_ESTABLISHED_EVENT, MT.CALL_HELD_EVENT, MT.CALL_RETRIEVED_EVENT,
                                MT.CALL_CLEARED_EVENT)]
        assert order == [MT.CALL_ESTABLISHED_EVENT, MT.CALL_HELD_EVENT, MT.CALL_RETRIEVED_EVENT,
                         MT.CALL_CLEARED_EVENT], order
    assert not hub.journal.violations() and not hub.center.calls


def test_hold_time_is_how_long_the_call_stays_on_hold():
    hub, gen = hub_with(two_agent_center(), "calls_per_s=1,limit=1,handle_time=4,answer_after=0.5,hold=1,"
                        "hold_time=1.5,transfer=0,conference=0")
    gen.start(hub, 0.0)
    call = None
    seen = []
    for i in range(0, 121):  # 0 .. 6 s
        hub.tick(i * 0.05)
        call = call or next(iter(hub.center.calls.values()), None)
        if call is not None:
            seen.append((round(i * 0.05, 2), _agent_on(hub, call.id)))
    held = [t for t, on in seen if on and on[0][1] == "LCS_HOLD"]
    # answered at 0.5; held at 0.5 + 4/4 = 1.5, retrieved at 3.0; cleared at 4.5
    assert held[0] == 1.5 and held[-1] == 2.95, held
    assert [t for t, on in seen if on is None][0] == 4.5


def test_with_transfer_1_a_bridge_sees_the_transfer_and_the_call_ends_at_the_second_agent():
    """transfer=1: half-way into the handle time the agent consults an idle agent the generator
    drives (CONSULT_CALL_REQ to its extension), that agent answers answer_after later, the first
    agent completes the transfer (TRANSFER_CALL_REQ) and is free; the second talks out the handle
    time and clears the call. The transferred call is still one call: offered = cleared."""
    hub, gen, tap = tapped_run(default_center(), "calls_per_s=1,limit=2,handle_time=2,answer_after=0.2,"
                               "hold=0,transfer=1", 6.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == s["transferred"] == 2 and s["active"] == 0, s
    assert s["errors"] == s["transfer_skipped"] == s["other_answered"] == s["conferenced"] == 0, s
    transferred = _of(tap, MT.CALL_TRANSFERRED_EVENT)
    assert len(transferred) == 2
    for ev in transferred:
        first, second = ev.transferring_device_id, ev.transferred_device_id
        assert first != second and {first, second} <= {"3001", "3002", "3003", "3004"}
        # the call (its CallID kept) ends at the second agent: it releases it, after the transfer
        (last,) = [m for m in _of(tap, MT.CALL_CONNECTION_CLEARED_EVENT)
                   if m.call_id == ev.primary_call_id and m.releasing_device_id != first]
        assert last.releasing_device_id == second, last
        assert any(m.call_id == ev.primary_call_id for m in _of(tap, MT.CALL_CLEARED_EVENT))
    # the two consultations, dialled from the first agents' phones (not the callers' arrival at the
    # trigger, which the bridge sees as CALL_ORIGINATED with the route point called, §7.2)
    consults = [m for m in _of(tap, MT.CALL_ORIGINATED_EVENT) if m.called_device_type != DeviceType.DEVID_ROUTE_POINT]
    assert len(consults) == 2 and {m.connection_device_id for m in consults} <= {"3001", "3002", "3003", "3004"}
    assert not hub.journal.violations() and not hub.center.calls
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())


def test_the_transferring_agent_is_free_while_the_second_talks():
    hub, gen = hub_with(two_agent_center(), "calls_per_s=1,limit=1,handle_time=4,answer_after=0.2,hold=0,transfer=1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 1.0)  # answered at 0.2
    (call_id,) = hub.center.calls
    ((first, state),) = _agent_on(hub, call_id)
    assert state == "LCS_CONNECT"
    second = ({"1001", "1002"} - {first}).pop()
    t = advance(hub, t, 1.5)  # consultation at 2.2, answered and transferred at 2.4
    assert _agent_on(hub, call_id) == [(second, "LCS_CONNECT")]  # the same call, at the second agent
    assert hub.center.agents[first].state is AS.AGENT_STATE_READY  # made READY again: takes calls
    assert gen.stats.transferred == 1 and gen.active == 1
    advance(hub, t, 2.0)  # the second agent clears it at 4.2
    assert not hub.center.calls and gen.summary()["cleared"] == 1


def test_with_conference_1_a_bridge_sees_the_conference_and_the_second_agent_finishes():
    """conference=1: consult + conference (CONFERENCE_CALL_REQ): the three talk, three quarters into
    the handle time the first agent drops out (CLEAR_CONNECTION_REQ), the second finishes the call."""
    hub, gen, tap = tapped_run(default_center(), "calls_per_s=1,limit=2,handle_time=2,answer_after=0.2,"
                               "hold=0,transfer=0,conference=1", 6.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == s["conferenced"] == 2 and s["active"] == 0, s
    assert s["errors"] == s["transfer_skipped"] == s["transferred"] == 0, s
    conferenced = _of(tap, MT.CALL_CONFERENCED_EVENT)
    assert len(conferenced) == 2
    for ev in conferenced:
        first, second = ev.controller_device_id, ev.added_party_device_id
        assert first != second and len(ev.parties) == 3  # the caller and the two agents
        released = [m.releasing_device_id for m in _of(tap, MT.CALL_CONNECTION_CLEARED_EVENT)
                    if m.call_id == ev.primary_call_id]
        assert released[:2] == [first, second], released  # the first agent leaves, the second ends it
    assert not hub.journal.violations() and not hub.center.calls


@pytest.mark.parametrize("key, count_key", [("hold", "held"), ("transfer", "transferred"),
                                            ("conference", "conferenced")])
def test_shares_of_the_mix_are_exact_over_a_run(key, count_key):
    """0.25 of 40 answered calls is 10, exactly (spread evenly, as caller_hangup is)."""
    mix = {"hold": 0, "transfer": 0, "conference": 0, key: 0.25}
    hub, gen = run_on_hub("agents=20,calls_per_s=10,limit=40,handle_time=1,answer_after=0.1,"
                          + ",".join(f"{k}={v}" for k, v in mix.items()), seconds=8.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 40 and s["active"] == 0, s
    assert s[count_key] == 10 and s["transfer_skipped"] == 0 and s["errors"] == 0, s
    assert sum(s[k] for k in ("held", "transferred", "conferenced")) == 10, s
    assert not hub.journal.violations() and not hub.center.calls


def test_the_default_mix_holds_transfers_and_conferences_and_the_counts_still_add_up():
    """The default spec (hold 0.2, transfer 0.1, conference 0.05) over 100 calls: 20 held, 10
    transferred, 5 conferenced; a consultation is not an offered call (offered = cleared + active +
    lost, nothing in other_answered)."""
    hub, gen = run_on_hub("agents=30,calls_per_s=20,limit=100,handle_time=1,answer_after=0.1", seconds=10.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 100 and s["active"] == s["lost"] == 0, s
    assert (s["held"], s["transferred"], s["conferenced"], s["transfer_skipped"]) == (20, 10, 5, 0), s
    assert s["other_answered"] == 0 and s["errors"] == 0, s
    assert not hub.journal.violations() and not hub.center.calls


def test_a_transfer_with_no_idle_agent_to_consult_is_skipped_and_the_call_goes_on():
    """One agent: nobody to consult. The calls drawn for a transfer go on without it (counted
    transfer_skipped) and end as plain calls."""
    hub, gen = run_on_hub("agents=1,calls_per_s=1,limit=3,handle_time=1,answer_after=0.1,hold=0,transfer=1",
                          seconds=6.0)
    s = gen.summary()
    assert s["offered"] == s["answered"] == s["cleared"] == 3 and s["active"] == 0, s
    assert s["transfer_skipped"] == 3 and s["transferred"] == 0 and s["errors"] == 0, s


def test_max_counts_a_transferred_call_once():
    """max=2 with every call transferred: the consultation is no generated call, so two calls at a
    time are up (a transfer does not make room for a third, nor take one more)."""
    hub, gen = hub_with(default_center(), "calls_per_s=10,max=2,limit=6,handle_time=1,answer_after=0.1,"
                        "hold=0,transfer=1")
    gen.start(hub, 0.0)
    peak = consulting = 0
    for i in range(0, 121):
        hub.tick(i * 0.05)
        peak = max(peak, gen.active)
        assert gen.active == len([c for c in hub.center.calls.values() if c.consult_of is None])
        consulting += any(c.consult_of is not None for c in hub.center.calls.values())
    assert peak == 2 and consulting
    s = gen.summary()
    assert s["offered"] == s["cleared"] == 6 and s["active"] == 0 and s["skipped"] > 0, s
    assert s["transferred"] + s["transfer_skipped"] == 6 and s["transferred"] > 0, s


def test_the_caller_hangs_up_a_transferred_call_at_the_end():
    """caller_hangup=1 with transfer=1: the caller ends the call once the consulted agent has
    talked out the handle time."""
    hub, gen, tap = tapped_run(default_center(), "calls_per_s=1,limit=1,handle_time=2,answer_after=0.2,"
                               "caller_hangup=1,hold=0,transfer=1", 4.0)
    s = gen.summary()
    assert s["transferred"] == s["caller_ended"] == s["cleared"] == 1 and not hub.center.calls, s
    (ev,) = _of(tap, MT.CALL_TRANSFERRED_EVENT)
    released = [m.releasing_device_id for m in _of(tap, MT.CALL_CONNECTION_CLEARED_EVENT)
                if m.call_id == ev.primary_call_id]
    assert released[0] == ev.transferring_device_id and released[1].startswith("06"), released


def test_a_caller_hanging_up_during_the_consultation_leaves_no_consultation_behind():
    """The caller hangs up (POST /calls/... of the control API) while the consulted phone rings: the
    consultation is ended too, and both agents take calls again (it rang for ever)."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=1,limit=1,handle_time=2,answer_after=0.5,hold=0,transfer=1")
    gen.start(hub, 0.0)
    t = advance(hub, 0.0, 1.7)  # answered at 0.5, consultation at 1.5: the second phone rings
    (call_id,) = [c.id for c in hub.center.calls.values() if c.consult_of is None]
    assert len(hub.center.calls) == 2
    hub.deliver(hub.center.hang_up(t, call_id))
    advance(hub, t, 1.5)
    assert not hub.center.calls, hub.center.calls
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())
    s = gen.summary()
    assert s["cleared"] == 1 and s["active"] == 0 and s["transferred"] == 0 and s["other_answered"] == 0, s


def test_a_transfer_the_center_refuses_counts_in_errors_and_the_agent_takes_its_call_back():
    """An ACD rule narrowed so that every Transfer (ACD-1156) is refused: the refusal counts in
    errors and is a happening, not a client's violation; the agent clears the consultation and
    retrieves its call (RETRIEVE_CALL_REQ), which ends at the handle time as a plain call; the
    consulted agent takes calls again."""
    hub, gen, tap = tapped_run(two_agent_center(acd={"allowed_states": {"ACD-1156": ["Line2AllHeld"]}}),
                               "calls_per_s=1,limit=1,handle_time=2,answer_after=0.2,hold=0,transfer=1", 5.0)
    s = gen.summary()
    assert s["transferred"] == 0 and s["errors"] == 1 and s["cleared"] == 1 and s["active"] == 0, s
    assert happenings(hub, "load generator's TRANSFER_CALL_REQ refused: ACD-1156")
    assert not hub.journal.violations() and not hub.center.calls
    (ev,) = _of(tap, MT.CALL_RETRIEVED_EVENT)  # the call taken back after the consultation
    assert ev.call_id == next(m.call_id for m in _of(tap, MT.CALL_HELD_EVENT))
    assert all(a.state is AS.AGENT_STATE_READY for a in hub.center.agents.values())


def test_the_mix_defaults_and_how_to_turn_it_off():
    spec = parse_load_spec("calls_per_s=1,handle_time=30")
    assert (spec.hold, spec.hold_seconds, spec.transfer, spec.conference) == (0.2, 6.0, 0.1, 0.05)
    assert not spec.plain and parse_load_spec(f"calls_per_s=1,{PLAIN}").plain
    assert parse_load_spec("calls_per_s=1,hold_time=2").hold_seconds == 2.0


def test_serve_load_prints_the_mix_in_the_line_and_the_summary(tmp_path):
    """A bounded `mockcti serve --load` run in a subprocess: the live line counts held, transferred
    and conferenced calls, the summary has them and transfer_skipped."""
    from processes import read_lines_until

    def load_lines(lines: list[str]) -> list[str]:
        return [x for x in lines if x.startswith("load t=")]

    def calls_over(lines: list[str]) -> bool:
        lines = load_lines(lines)
        return bool(lines) and " offered 20 " in lines[-1] and " active 0 " in lines[-1]

    proc = _serve_load("agents=40,calls_per_s=20,limit=20,handle_time=0.4,answer_after=0.05,hold=0.5,transfer=0.25,"
                       "conference=0.25,at_limit=serve")  # (at_limit=serve: a line after the last call)
    try:
        before = read_lines_until(proc.stderr, calls_over, seconds=30).decode()  # a line a second, over in ~1.5 s
    finally:
        _, rest = _ended(proc, sigterm=True)
    text = before + rest
    lines = load_lines(before.splitlines())
    # (a real clock: a consultation may find no idle agent, and the call goes on without it)
    assert lines and " held 10 xfer " in lines[-1] and " conf " in lines[-1], text
    summary, counts = _summary(text)
    assert counts["held"] == "10", summary
    assert int(counts["transferred"]) + int(counts["conferenced"]) + int(counts["transfer_skipped"]) == 10, summary
    assert f" xfer {counts['transferred']} conf {counts['conferenced']} " in lines[-1], (lines[-1], summary)
    assert " offered 20 " in summary and " cleared 20 " in summary and " errors 0 " in summary, summary


def test_an_agent_a_client_drives_is_never_consulted():
    """The only other READY agent is driven by a client (its desk is logged in): the generator's
    agent does not consult it (its client would have to answer for the generator), the transfer is
    skipped and the call goes on."""
    hub, gen = hub_with(two_agent_center(), "calls_per_s=1,limit=1,handle_time=2,answer_after=0.2,hold=0,transfer=1",
                        auto_agents={"1001"})
    gen.start(hub, 0.0)
    hub.tick(0.0)  # the call rings at 1001, the only READY agent
    desk = Desk(hub, "1002", 0.05)
    desk.set_state(AS.AGENT_STATE_LOGIN, 0.05, password="1234")
    desk.set_state(AS.AGENT_STATE_READY, 0.05)
    rang_at_desk = False
    for i in range(2, 81):
        hub.tick(i * 0.05)
        rang_at_desk = rang_at_desk or bool(hub.center.agent_call_legs("1002"))
    s = gen.summary()
    assert s["transfer_skipped"] == 1 and s["transferred"] == 0 and s["cleared"] == 1 and not rang_at_desk, s


def test_a_serve_that_could_not_start_prints_no_load_summary(tmp_path, capsys):
    """`serve --load` with `--calls-per-minute` on a center with no CSQ is refused after the features
    started (exit 2, one line naming the option). The load feature was then stopped as at the end of
    a run and printed 'mockcti load summary: offered 0 ... duration 0.0s' after the error line, for a
    server that never served (README: nothing else comes of a serve that could not start)."""
    from mockcti import cli

    center = tmp_path / "nocsq.toml"
    center.write_text('[[agents]]\nid = "5001"\nextension = "6001"\npassword = "x"\n')
    status = cli.main(["serve", "--port", "0", "--center", str(center), "--calls-per-minute", "10",
                       "--load", "calls_per_s=1"])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.strip().splitlines()[-1] == "mockcti serve: --calls-per-minute: the contact center has no CSQ to send calls to"
    assert "load summary" not in err and "load t=" not in err


def test_calls_are_paced_from_when_the_agents_are_ready_not_from_before(monkeypatch, capsys):
    """`serve --load agents=100000`: making 100,000 agents READY at start takes ~3 s of the server's
    time before the first arrival runs. The arrivals were anchored before that pass, so those 3 s of
    calls came in one burst as soon as the loop ran (~330 at 100 calls/s before the first line, the
    'duration' 3 s longer than the run). Here the pass is made to take 3 s of the server's clock."""
    from mockcti import cli
    from mockcti.load import LoadGenerator

    real_now, real_attach = MockServer.now, LoadGenerator._attach
    skew = [0.0]

    def slow_attach(self, now):
        real_attach(self, now)
        skew[0] = 3.0  # the READY pass took 3 s

    async def serve_forever(self):  # serves 0.3 s, then the run ends as after Ctrl-C
        await asyncio.sleep(0.3)

    monkeypatch.setattr(MockServer, "now", lambda self: real_now(self) + skew[0])
    monkeypatch.setattr(LoadGenerator, "_attach", slow_attach)
    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    assert cli.main(["serve", "--port", "0", "--log-level", "error", "--load", "calls_per_s=100,handle_time=30"]) == 0
    (summary,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("mockcti load summary:")]
    offered = int(summary.split(" offered ")[1].split()[0])
    duration = float(summary.rsplit(" duration ", 1)[1].rstrip("s"))
    assert offered <= 80 and duration < 2.0, summary  # ~30 in 0.3 s, not ~330
