"""``@pytest.mark.cti_scenario``: the fixtures run a scenario and unmet expectations fail the test."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

import mockcti.client  # noqa: F401  (imported once here: the inner sessions reuse it)
import mockcti.testing.fixtures  # noqa: F401

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
HAVE_ENGINE = importlib.util.find_spec("mockcti.scenario.engine") is not None
needs_engine = pytest.mark.skipif(not HAVE_ENGINE, reason="mockcti.scenario.engine not there yet")
if HAVE_ENGINE:
    import mockcti.scenario.engine  # noqa: F401
    import mockcti.scenario.loader  # noqa: F401

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-o", "asyncio_default_fixture_loop_scope=function",
         "-p", "no:randomly")

SCENARIO = """
name: ready-agent
seed: 11
expect:
  - id: opens-once
    message: OPEN_REQ
    fields: {agent_id: "1001"}
    times: 1
  - id: goes-ready
    message: SET_AGENT_STATE_REQ
    fields: {agent_state: AGENT_STATE_READY}
"""

CLIENT = """
from mockcti.client import CTIClient
from mockcti.wire.enums import AgentState

async def login(server, *, ready):
    async with await CTIClient.connect(server.host, server.port) as cti:
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        if ready:
            await cti.set_agent_state(AgentState.AGENT_STATE_READY)
"""


def _files(pytester: pytest.Pytester) -> None:
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "ready.yaml").write_text(SCENARIO)
    pytester.makepyfile(client_helpers=CLIENT)


@needs_engine
def test_met_and_unmet_expectations(pytester: pytest.Pytester) -> None:
    _files(pytester)
    pytester.makepyfile(test_scen="""
        import pytest
        from client_helpers import login

        @pytest.mark.asyncio
        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        async def test_good_client(cti_server):
            await login(cti_server, ready=True)
            assert cti_server.engine is not None and cti_server.seed is None

        @pytest.mark.asyncio
        @pytest.mark.cti_scenario("scenarios/ready.yaml", seed=5)
        async def test_client_that_never_goes_ready(cti_server):
            await login(cti_server, ready=False)

        @pytest.mark.asyncio
        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        async def test_same_loop(cti_async_server):
            await login(cti_async_server, ready=True)
            exps = cti_async_server.verify()
            assert [e.name for e in exps if e.met] == ["opens-once", "goes-ready"]
    """)
    result = pytester.runpytest(*QUIET, "--cti-report", "reports")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_client_that_never_goes_ready*",
        "*1 scenario expectation(s) unmet on 127.0.0.1:*",
        "*ok   ready-agent: opens-once*",
        "*UNMET ready-agent: goes-ready - SET_AGENT_STATE_REQ: expected 1+ time(s), received 0*",
        "        at *scenarios/ready.yaml:9",  # where the scenario states it
        # the enumerated field by name, as the scenario wrote it (it read "agent_state equals 3 failed: got 0")
        "        closest: SET_AGENT_STATE_REQ from session 1 at * s; agent_state equals AGENT_STATE_READY (3) "
        "failed: got AGENT_STATE_LOGIN (0)",
    ])
    import json

    bad = json.loads((pytester.path / "reports" / "test_scen.py_test_client_that_never_goes_ready"
                      / "summary.json").read_text(encoding="utf-8"))
    assert bad["seed"] == 5 and not bad["passed"] and bad["counts"]["expectations_unmet"] == 1
    good = json.loads((pytester.path / "reports" / "test_scen.py_test_good_client" / "summary.json").read_text(encoding="utf-8"))
    assert good["passed"] and good["seed"] == 11 and good["counts"]["expectations"] == 2


@needs_engine
def test_a_test_that_skips_or_xfails_is_not_also_an_error_for_its_unmet_expectations(pytester: pytest.Pytester) -> None:
    """A test that skipped itself (the feature not configured there) or failed as expected (xfail) was reported
    "1 skipped, 1 error": its client never ran, so its scenario's expectations were unmet at teardown. Only a test
    whose body ran (passed or failed) is held to them; the report still says what was unmet."""
    _files(pytester)
    pytester.makepyfile(test_skips="""
        import pytest

        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        def test_skips_itself(cti_server):
            pytest.skip("no CRM here")

        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        def test_xfails_itself(cti_server):
            pytest.xfail("known broken")

        @pytest.mark.xfail(reason="not written yet", strict=True)
        @pytest.mark.asyncio
        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        async def test_expected_to_fail(cti_async_server):
            raise NotImplementedError

        def test_factory_skips(cti_server_factory):
            cti_server_factory(scenario="scenarios/ready.yaml")
            pytest.skip("no CRM here")

        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        def test_fails(cti_server):
            assert False, "the client broke"

        @pytest.mark.cti_scenario("scenarios/ready.yaml")
        def test_passes_without_the_client(cti_server):
            pass
    """)
    result = pytester.runpytest(*QUIET, "--cti-report", "reports", "-rA", "--cti-journal-lines", "0")
    result.assert_outcomes(passed=1, failed=1, skipped=2, xfailed=2, errors=2)
    result.stdout.fnmatch_lines(["ERROR test_skips.py::test_fails - Failed: 2 scenario expectation(s) unmet*",
                                 "ERROR test_skips.py::test_passes_without_the_client - Failed: 2 scenario*"])
    import json

    skipped = json.loads((pytester.path / "reports" / "test_skips.py_test_skips_itself"
                          / "summary.json").read_text(encoding="utf-8"))
    assert not skipped["passed"] and skipped["counts"]["expectations_unmet"] == 2


@needs_engine
def test_what_a_blocking_client_sent_before_it_closed_is_verified_and_reported(pytester: pytest.Pytester) -> None:
    """A blocking client returns from sendall at once: its last request, then its close, were still in
    the server's socket when the teardown verified the scenario, and the expectation was unmet in about
    one run in four. The fixtures let the server read what reached it before they verify."""
    pytester.makefile(".yaml", hb="name: hb\nexpect:\n  - id: heartbeat\n    message: HEARTBEAT_REQ\n")
    pytester.makepyfile("""
        import socket
        import pytest
        from mockcti.wire import Dialect, encode
        from mockcti.wire.messages import HeartbeatReq

        @pytest.mark.cti_scenario("hb.yaml")
        @pytest.mark.parametrize("i", range(60))
        def test_send_and_close(cti_server, i):
            with socket.create_connection((cti_server.host, cti_server.port), timeout=5) as s:
                s.sendall(encode(HeartbeatReq(invoke_id=1), Dialect.uccx(18)))

        @pytest.mark.parametrize("i", range(60))
        def test_no_scenario(cti_server, i):  # its report
            with socket.create_connection((cti_server.host, cti_server.port), timeout=5) as s:
                s.sendall(encode(HeartbeatReq(invoke_id=1), Dialect.uccx(18)))

        @pytest.mark.cti_scenario("hb.yaml")
        @pytest.mark.parametrize("i", range(20))
        def test_factory(cti_server, cti_server_factory, i):
            server = cti_server_factory(scenario="hb.yaml")
            for srv in (cti_server, server):
                with socket.create_connection((srv.host, srv.port), timeout=5) as s:
                    s.sendall(encode(HeartbeatReq(invoke_id=1), Dialect.uccx(18)))
    """)
    pytester.runpytest(*QUIET, "--cti-report", "reports").assert_outcomes(passed=140)
    # the reports count it too, with or without a scenario (one in five said messages_in 0)
    import json

    summaries = list((pytester.path / "reports").glob("*test_no_scenario*/summary.json"))
    assert len(summaries) == 60
    assert [json.loads(p.read_text(encoding="utf-8"))["counts"]["messages_in"] for p in summaries] == [1] * 60


@needs_engine
def test_paths_resolve_from_the_test_file_then_rootdir(pytester: pytest.Pytester) -> None:
    _files(pytester)
    sub = pytester.mkpydir("sub")
    (sub / "local.yaml").write_text(SCENARIO.replace("ready-agent", "local"))
    (sub / "test_paths.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.cti_scenario('local.yaml')\n"
        "def test_beside(cti_server):\n"
        "    assert cti_server.engine.scenario.name == 'local'\n"
        "    cti_server.engine.verify = lambda now: []  # no client here: nothing to expect\n\n"
        "@pytest.mark.cti_scenario('scenarios/ready.yaml')\n"
        "def test_from_rootdir(cti_server):\n"
        "    assert cti_server.engine.scenario.name == 'ready-agent'\n"
        "    cti_server.engine.verify = lambda now: []\n\n"
        "@pytest.mark.cti_scenario('missing.yaml')\n"
        "def test_missing(cti_server):\n"
        "    pass\n\n"
        "@pytest.mark.cti_scenario()\n"
        "def test_no_path(cti_server):\n"
        "    pass\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([
        "*mockcti usage error: @pytest.mark.cti_scenario: scenario file 'missing.yaml' not found (looked at *",
        "*mockcti usage error: @pytest.mark.cti_scenario takes (path, *, seed=None)*",
    ])


@needs_engine
def test_every_error_of_an_invalid_scenario_is_in_the_usage_error(pytester: pytest.Pytester) -> None:
    # only the first one was shown: fix it, rerun the test, see the next
    pytester.makefile(".yaml", broken="name: x\nseed: many\nrules:\n  - when: {message: HOLD_CAL_REQ}\n"
                                      "    then: [default]\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.cti_scenario("broken.yaml")
        def test_it(cti_server):
            pass
    """)
    # -rN: the short summary repeats the error in a line cut to the terminal's width (whole on a wide CI
    # terminal); without it the count below does not depend on COLUMNS
    result = pytester.runpytest(*QUIET, "-rN")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockcti usage error: @pytest.mark.cti_scenario: *broken.yaml:2: seed: *",
                                 "*broken.yaml:4: rules[[]0[]].when.message: unknown message type 'HOLD_CAL_REQ'*"])
    # the usage error alone: not the loader's exception first, then "During handling of the above
    # exception, another exception occurred:" and the usage error (the first error read twice)
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    assert result.stdout.str().count("broken.yaml:2: seed:") == 1


@needs_engine
@pytest.mark.skipif(not (REPO / "scenarios" / "login-success.yaml").is_file(), reason="shipped scenario missing")
def test_shipped_scenario_with_its_own_center(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(client_helpers=CLIENT)
    pytester.makepyfile(test_shipped=f"""
        import pytest
        from client_helpers import login

        @pytest.mark.asyncio
        @pytest.mark.cti_scenario({str(REPO / "scenarios" / "login-success.yaml")!r})
        async def test_login(cti_server):
            assert cti_server.agent_state("1001") == "AGENT_STATE_LOGOUT"  # the scenario's center
            await login(cti_server, ready=True)
            cti_server.assert_no_violations()

        def test_factory_takes_a_scenario(cti_server_factory):
            srv = cti_server_factory(scenario={str(REPO / "scenarios" / "login-success.yaml")!r}, seed=3)
            assert srv.engine.seed == 3
            srv.engine.verify = lambda now: []
    """)
    pytester.runpytest(*QUIET).assert_outcomes(passed=2)


def test_marker_without_the_engine_is_a_clear_usage_error(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mockcti.scenario.engine", None)  # import fails
    pytester.makefile(".yaml", s=SCENARIO)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.cti_scenario("s.yaml")
        def test_it(cti_server):
            pass
    """)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockcti usage error: @pytest.mark.cti_scenario needs the scenario engine "
                                 "(mockcti.scenario.engine), which cannot be imported*"])
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


@needs_engine
def test_the_factorys_scenario_errors_name_the_factory_not_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="name: x\nseed: many\n")
    pytester.makepyfile("""
        def test_missing(cti_server_factory):
            cti_server_factory(scenario="nope.yaml")

        def test_broken(cti_server_factory):
            cti_server_factory(scenario="broken.yaml")
    """)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*mockcti usage error: cti_server_factory(scenario=...): scenario file 'nope.yaml' not found (looked at *",
        "*mockcti usage error: cti_server_factory(scenario=...): *broken.yaml:2: seed: *"])
    result.stdout.no_fnmatch_line("*pytest.mark.cti_scenario*")


@needs_engine
def test_a_scenario_with_its_own_center_keeps_it_over_cti_center_and_a_warning_names_both(
        pytester: pytest.Pytester) -> None:
    """A conftest's cti_center replaced the center a marker's scenario declares, silently: its agents were not
    there and its call captures never set (the test failed, or passed, for another reason). The scenario's
    center wins, as `mockcti serve --scenario` replaces --center; a warning names the fixture and the file."""
    pytester.makefile(".yaml", own=textwrap.dedent("""\
        name: own-center
        center:
          csqs: [{name: Sales, id: 1}]
          agents: [{id: "2001", extension: "4001", password: "1", csqs: [Sales], state: READY}]
        """), plain="name: plain\n")
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def cti_center():
            return {"csqs": [{"name": "Support", "id": 7}],
                    "agents": [{"id": "3001", "extension": "5001", "password": "1", "csqs": ["Support"]}]}
    """)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.cti_scenario("own.yaml")
        def test_own(cti_server):
            assert cti_server.agent_state("2001") == "AGENT_STATE_READY"   # the scenario's center

        @pytest.mark.cti_scenario("plain.yaml")
        def test_plain(cti_server):
            assert cti_server.agent_state("3001") == "AGENT_STATE_LOGOUT"  # no center of its own: cti_center's

        def test_factory(cti_server_factory):
            srv = cti_server_factory({"agents": []}, scenario="own.yaml")
            assert srv.agent_state("2001") == "AGENT_STATE_READY"

        # a center per test: the parameter, not the place in pytest that stands in for it (python.py:1230)
        @pytest.mark.parametrize("cti_center", [{"agents": []}])
        @pytest.mark.cti_scenario("own.yaml")
        def test_parametrized(cti_server):
            assert cti_server.agent_state("2001") == "AGENT_STATE_READY"
    """)
    result = pytester.runpytest(*QUIET, "-W", "always::mockcti.testing.fixtures.ScenarioCenterWarning")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*ScenarioCenterWarning: a dict from the cti_center fixture (conftest.py:3) is not used: the scenario "
        "'own-center' (*own.yaml) declares its own center (center:), which its server uses*",
        "*ScenarioCenterWarning: a dict from cti_server_factory(center=...) is not used: the scenario 'own-center'*",
        "*ScenarioCenterWarning: a dict from the cti_center parameter of test_parametrized?cti_center0? "
        "(@pytest.mark.parametrize) is not used: the scenario 'own-center'*"])
    assert result.stdout.str().count("ScenarioCenterWarning:") == 3  # not for the scenario without a center
