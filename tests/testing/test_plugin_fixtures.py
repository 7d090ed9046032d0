"""The pytest plugin as a user meets it: run inner pytest sessions with pytester.

The plugin is loaded by its ``pytest11`` entry point (mockcti is installed), as for a user; one
test loads it explicitly with autoload disabled.
"""

from __future__ import annotations

import json

import pytest

# Imported here, in the outer session, so that the inner (in-process) sessions reuse them: pytester
# drops the modules an inner run imports, and re-importing (with assertion rewriting) is slow.
import mockcti.client  # noqa: F401
import mockcti.testing.fixtures  # noqa: F401

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-o", "asyncio_default_fixture_loop_scope=function")

ASYNC_CLIENT = """
from mockcti.client import CTIClient
from mockcti.wire import MessageType as MT
from mockcti.wire.enums import AgentState

async def agent_session(server, agent="1001"):
    ext = str(int(agent) + 2000)
    async with await CTIClient.connect(server.host, server.port) as cti:
        await cti.open_agent(agent_id=agent, extension=ext, instrument=ext, heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await cti.set_agent_state(AgentState.AGENT_STATE_READY)
        call_id = server.deliver_call(agent=agent)
        ev = await cti.next_event(MT.CALL_DELIVERED_EVENT)
        assert ev.call_id == call_id
    server.assert_received("SET_AGENT_STATE_REQ", agent_state="READY", count=1)
    server.assert_received("CLOSE_REQ")
    server.assert_no_violations()
    return call_id
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def test_marker_and_option_are_registered(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.cti_scenario(path, *, seed=None)*"])
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--cti-report=DIR*"])
    # the marker is known under --strict-markers; on a test without a serving fixture it is a usage
    # error (the scenario would not run, and the test would pass with nothing checked)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.cti_scenario("whatever.yaml", seed=3)
        def test_marked():
            pass

        @pytest.mark.cti_scenario("whatever.yaml")
        def test_marked_factory(cti_server_factory):
            pass
    """)
    result = run(pytester, "--strict-markers")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*mockcti usage error: @pytest.mark.cti_scenario on a test that uses neither "
                                 "cti_server nor cti_async_server*"])
    assert "not found in `markers`" not in result.stdout.str()


def test_sync_test_with_a_blocking_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import socket
        from mockcti.wire import Dialect, FrameBuffer, decode, encode
        from mockcti.wire.messages import HeartbeatReq

        def test_blocking(cti_server):
            assert cti_server.host == "127.0.0.1" and cti_server.port > 0
            with socket.create_connection((cti_server.host, cti_server.port), timeout=5) as s:
                s.sendall(encode(HeartbeatReq(invoke_id=7), Dialect.uccx(18)))  # before OPEN_REQ
                frames, fb = [], FrameBuffer()
                while not frames:
                    data = s.recv(4096)
                    assert data
                    frames = fb.feed(data)
                reply = decode(frames[0], Dialect.uccx(18))
                assert reply.TYPE.name == "FAILURE_CONF"
            cti_server.wait_until(lambda: cti_server.events("close"))
            cti_server.assert_no_violations(rules=["PROTO-NO-CLOSE"])
            assert cti_server.report()["violations_by_rule"] == {"PROTO-OPEN-FIRST": 1}
            assert cti_server.journal is not None
            assert cti_server.call(lambda hub, now: len(hub.conns)) == 0
    """)
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_async_tests_in_strict_and_auto_mode(pytester: pytest.Pytester, mode: str) -> None:
    marker = "@pytest.mark.asyncio" if mode == "strict" else ""
    pytester.makepyfile(helpers=ASYNC_CLIENT)
    pytester.makepyfile(test_modes=f"""
        import pytest
        from helpers import agent_session

        {marker}
        async def test_threaded(cti_server):
            await agent_session(cti_server)

        {marker}
        async def test_same_loop(cti_async_server):
            await agent_session(cti_async_server, "1002")

        {marker}
        async def test_both(cti_server, cti_async_server):
            await agent_session(cti_server, "1003")
            await agent_session(cti_async_server, "1003")

        def test_sync_next_to_them(cti_server):
            assert cti_server.deliver_call(csq="Sales") > 0  # nobody ready: queued
            assert cti_server.events("happening")[0].data["csq"] == "Sales"
    """)
    result = run(pytester, "-o", f"asyncio_mode={mode}", "-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_explicit_loading_with_autoload_disabled(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile("""
        def test_it(cti_server):
            assert cti_server.port
    """)
    run(pytester, "-p", "mockcti.testing.plugin").assert_outcomes(passed=1)


def test_loading_it_before_pytest_asyncio_with_autoload_disabled_warns_nothing(pytester: pytest.Pytester,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``-p mockcti -p asyncio``, as the README writes it: the plugin imported pytest_asyncio (and so the standard
    library's asyncio) as it was loaded, and pytest, asked next for the plugin ``asyncio``, warned "Module already
    imported so cannot be rewritten; asyncio" — an INTERNALERROR, no test run, where warnings are errors. (In a
    subprocess: this process has imported asyncio long ago.)"""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini("""
        [pytest]
        filterwarnings = error
        asyncio_default_fixture_loop_scope = function
    """)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.asyncio
        async def test_async(cti_async_server):
            assert cti_async_server.port

        def test_threaded(cti_server):
            assert cti_server.port
    """)
    result = pytester.runpytest_subprocess("-p", "mockcti", "-p", "asyncio", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "cannot be rewritten" not in result.stdout.str() + result.stderr.str()


def test_loading_by_entry_point_name_is_not_a_double_registration(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_it(cti_server):
            assert cti_server.port
    """)
    run(pytester, "-p", "mockcti").assert_outcomes(passed=1)


def test_factory_servers_are_stopped_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import socket
        import pytest
        from mockcti.center import default_center

        made = []

        def test_make(cti_server_factory):
            a = cti_server_factory()
            b = cti_server_factory(default_center(), profile="ucce")
            assert a.port != b.port and a.running and b.running
            socket.create_connection((b.host, b.port), timeout=5).close()
            made.extend([a, b])

        def test_they_are_gone():
            assert len(made) == 2
            for srv in made:
                assert not srv.running
                with pytest.raises(OSError):
                    socket.create_connection((srv.host, srv.port), timeout=1).close()
            made[0].assert_no_violations()  # the journal stays readable after stop

        def test_bad_profile(cti_server_factory):
            with pytest.raises(ValueError, match="unknown profile"):
                cti_server_factory(profile="nope")
    """)
    run(pytester, "-p", "no:randomly").assert_outcomes(passed=3)


def test_failed_assertion_reads_well_in_the_test_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_it(cti_server):
            cti_server.set_agent_state("1001", "LOGIN")
            cti_server.assert_received("HOLD_CALL_REQ", call_id=5)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*AssertionError: expected the server to have received HOLD_CALL_REQ with call_id=5 at least once "
        "from any session; found 0 matching*",
        "*nothing was received*",
    ])


def test_a_failed_test_shows_what_its_servers_journalled(pytester: pytest.Pytester) -> None:
    """A client that timed out waiting failed with its own TimeoutError alone: nothing said that the server had
    refused its request (a FAILURE_CONF, a violation). A failed test now shows each of its servers' journal, once
    (a failed call and an unmet expectation after it), and a test that passed shows none."""
    pytester.makepyfile(test_journal="""
        import asyncio
        import pytest
        from mockcti.client import CTIClient
        from mockcti.wire.messages import HoldCallReq

        async def hold_unknown_call(server):
            async with await CTIClient.connect(server.host, server.port) as cti:
                await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
                await cti.request(HoldCallReq(invoke_id=0, call_id=777, connection_device_id="3001"), check=False)
            raise TimeoutError("the desk saw no CALL_HELD_EVENT")  # what a client under test would say

        def test_threaded(cti_server):
            asyncio.run(hold_unknown_call(cti_server))

        @pytest.mark.asyncio
        async def test_same_loop(cti_async_server):
            await hold_unknown_call(cti_async_server)

        def test_factory(cti_server_factory):
            cti_server_factory()
            second = cti_server_factory()
            asyncio.run(hold_unknown_call(second))

        @pytest.mark.cti_scenario("login.yaml")
        def test_unmet_too(cti_server):
            asyncio.run(hold_unknown_call(cti_server))

        def test_passes(cti_server):
            cti_server.set_agent_state("1001", "LOGIN")

        @pytest.fixture
        def desk(cti_server):  # a fixture of the user's, which fails after the server started
            asyncio.run(hold_unknown_call(cti_server))

        def test_setup_fails(desk):
            pass
    """)
    pytester.path.joinpath("login.yaml").write_text(
        "name: goes-ready\nexpect:\n  - {id: ready, message: SET_AGENT_STATE_REQ, fields: {agent_state: AGENT_STATE_READY}}\n")
    result = run(pytester, "-p", "no:randomly", "-rA")
    result.assert_outcomes(passed=1, failed=4, errors=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*_ test_threaded _*", "*TimeoutError: the desk saw no CALL_HELD_EVENT",
        "*- mockcti journal: cti_server -*", "127.0.0.1:*: * journal entries",
        "* s1    <- OPEN_REQ invoke_id=1 *agent_id='1001'*",
        "* s1    <- HOLD_CALL_REQ invoke_id=2 call_id=777 *",
        "* s1    -> FAILURE_CONF invoke_id=2 status=E_CTI_INVALID_CALLID *",
        # (judged with the answer it got, which it names)
        "* s1    !! PROTO-UNKNOWN-CALL: HOLD_CALL_REQ.call_id = 777; answered FAILURE_CONF E_CTI_INVALID_CALLID (13)",
        "* s1    -- close reason=closed by server: CLOSE_REQ*",
        "*_ test_same_loop _*", "*- mockcti journal: cti_async_server -*", "* s1    <- HOLD_CALL_REQ *",
        "*_ test_factory _*", "*- mockcti journal: cti_server_factory #1 -*", "*: 0 journal entries",
        "*- mockcti journal: cti_server_factory #2 -*", "* s1    <- HOLD_CALL_REQ *",
    ])
    # the scenario's test: its failure and its unmet expectation, the journal once
    assert out.count("mockcti journal: cti_server -") == 3  # test_threaded's, test_unmet_too's, test_setup_fails'
    result.stdout.fnmatch_lines(["*_ ERROR at setup of test_setup_fails _*", "*TimeoutError: the desk saw no*",
                                 "*- mockcti journal: cti_server -*", "* s1    <- HOLD_CALL_REQ *"])
    assert "reserved1=" not in out  # the reserved fields that carry UCCX's value are left out, as in the trace


def test_a_rerun_test_shows_the_journal_of_its_own_run(pytester: pytest.Pytester) -> None:
    """A test run again (pytest-rerunfailures runs the same item once more) showed no journal when the rerun
    failed too: what the plugin remembered of a test (its servers, the journal shown) was kept from the first run."""
    pytester.makeconftest("""
        import pytest
        from _pytest.runner import runtestprotocol

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(item, nextitem):  # a rerun plugin in miniature
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            if any(r.failed for r in runtestprotocol(item, nextitem=nextitem, log=True)):
                item._initrequest()
                runtestprotocol(item, nextitem=nextitem, log=True)
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
            return True
    """)
    pytester.makepyfile("""
        PORTS = []

        def test_flaky(cti_server):
            PORTS.append(cti_server.port)
            cti_server.set_agent_state("1001", "LOGIN")
            assert False, f"run {len(PORTS)} fails"
    """)
    result = run(pytester)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert out.count("mockcti journal: cti_server -") == 2  # one per run, each with its own server alone
    assert out.count(": 1 journal entries") == 2


def test_cti_journal_lines_bounds_or_turns_off_the_journal_of_a_failed_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_it(cti_server):
            for _ in range(5):
                cti_server.set_agent_state("1001", "LOGIN" if _ == 0 else "READY")
            assert False
    """)
    result = run(pytester, "--cti-journal-lines", "2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- mockcti journal: cti_server -*", "127.0.0.1:*: the last 2 of 5 journal entries",
                                 "* s-    ** happening what=test agent state agent=1001 state=AGENT_STATE_READY",
                                 "* s-    ** happening what=test agent state agent=1001 state=AGENT_STATE_READY",
                                 "*short test summary*"])
    result = run(pytester, "-o", "cti_journal_lines=0")
    result.assert_outcomes(failed=1)
    assert "mockcti journal" not in result.stdout.str()
    result = run(pytester, "--cti-journal-lines", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cti-journal-lines: -1 is below 0 (0 shows no journal)*"])
    # a bad ini value too: before any test runs, not as each failed test is reported (an INTERNALERROR)
    result = run(pytester, "-o", "cti_journal_lines=many")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option cti_journal_lines: 'many' is not a whole number*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_cti_report_writes_summary_and_junit_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_one(cti_server):
            cti_server.deliver_call(csq="Support")

        def test_two(cti_server_factory):
            cti_server_factory()
            cti_server_factory()
    """)
    run(pytester, "--cti-report", "out").assert_outcomes(passed=2)
    out = pytester.path / "out"
    dirs = sorted(p.name for p in out.iterdir())
    assert dirs == ["test_cti_report_writes_summary_and_junit_per_test.py_test_one",
                    "test_cti_report_writes_summary_and_junit_per_test.py_test_two-1",
                    "test_cti_report_writes_summary_and_junit_per_test.py_test_two-2"]
    summary = json.loads((out / dirs[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] and summary["test"].endswith("::test_one")
    assert (out / dirs[0] / "junit.xml").read_text(encoding="utf-8").startswith("<?xml")


def test_cti_center_fixture_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest
        from mockcti.center import AgentConfig, CenterConfig, CSQConfig

        @pytest.fixture
        def cti_center():
            return CenterConfig(agents=(AgentConfig(id="7001", extension="4001", instrument="4001",
                                                     password="pw", csqs=("Billing",)),),
                                csqs=(CSQConfig("Billing", 1),))
    """)
    pytester.makepyfile("""
        import pytest

        def test_it(cti_server):
            assert cti_server.set_agent_state("7001", "LOGIN") == "AGENT_STATE_NOT_READY"
            with pytest.raises(KeyError, match="unknown agent '1001'"):
                cti_server.set_agent_state("1001", "READY")
            with pytest.raises(KeyError, match="unknown CSQ 'Sales'"):
                cti_server.deliver_call(csq="Sales")
    """)
    run(pytester).assert_outcomes(passed=1)


def test_a_contact_center_served_before_is_a_usage_error_not_state_carried_over(pytester: pytest.Pytester) -> None:
    """A conftest's cti_center returning one ContactCenter made at import: the next test's server was given the
    same live center, agent 1001 still as the test before left it (READY, a call ringing). Now a usage error
    naming what to give instead; a CenterConfig, or a new ContactCenter each time, serves every test afresh."""
    pytester.makeconftest("""
        import pytest
        from mockcti.center import ContactCenter, default_center

        ONCE = ContactCenter(default_center())

        @pytest.fixture
        def cti_center(request):
            if "fresh" in request.node.name:
                return ContactCenter(default_center())
            if "config" in request.node.name:
                return ONCE.config
            return ONCE
    """)
    pytester.makepyfile("""
        from mockcti.center import ContactCenter, default_center

        def test_first(cti_server):
            cti_server.set_agent_state("1001", "LOGIN")
            cti_server.set_agent_state("1001", "READY")
            cti_server.deliver_call(agent="1001")

        def test_second(cti_server):
            assert cti_server.agent_state("1001") == "AGENT_STATE_LOGOUT"

        def test_fresh_one(cti_server):
            assert cti_server.agent_state("1001") == "AGENT_STATE_LOGOUT"

        def test_config_of_it(cti_server):
            assert cti_server.agent_state("1001") == "AGENT_STATE_LOGOUT"

        def test_factory_twice(cti_server_factory):
            center = ContactCenter(default_center())
            cti_server_factory(center)
            cti_server_factory(center)
    """)
    result = run(pytester, "-p", "no:randomly", "--cti-journal-lines", "0")
    result.assert_outcomes(passed=3, errors=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of test_second _*",
        "mockcti usage error: the cti_center fixture (conftest.py:*) gave a ContactCenter that another server of "
        "this session already served: its agents' states, calls and timers would carry over from there. Give its "
        "CenterConfig (center.config), a mapping or a center file instead*",
        "*_ test_factory_twice _*",
        "mockcti usage error: cti_server_factory(center=...) gave a ContactCenter that another server of this "
        "session already served*"])


def test_a_center_given_as_a_mapping(pytester: pytest.Pytester) -> None:
    """cti_center (and the factory) may give the center in a center file's shape as a dict: it is
    checked as CenterConfig.from_mapping checks it (the error names the key path); it failed with
    AttributeError: 'dict' object has no attribute 'next_deadline' from the server's thread."""
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def cti_center():
            return {"agents": [{"id": "7001", "extension": "4001", "state": "READY"}]}
    """)
    pytester.makepyfile("""
        import pytest
        from mockcti.center import CenterConfigError

        def test_fixture(cti_server):
            assert cti_server.agent_state("7001") == "AGENT_STATE_READY"

        @pytest.mark.asyncio
        async def test_async_fixture(cti_async_server):
            assert cti_async_server.agent_state("7001") == "AGENT_STATE_READY"

        def test_factory(cti_server_factory):
            server = cti_server_factory({"agents": [{"id": "7002", "extension": "4002", "state": "WORK"}]})
            assert server.agent_state("7002") == "AGENT_STATE_WORK"
            with pytest.raises(CenterConfigError) as err:
                cti_server_factory({"agents": [{"id": "7003", "extension": "4003", "state": "REDY"}]})
            assert str(err.value).startswith("agents[0].state: unknown agent state 'REDY'")
            with pytest.raises(TypeError, match="the center is a ContactCenter, a CenterConfig, a mapping"):
                cti_server_factory(7)
    """)
    run(pytester).assert_outcomes(passed=3)


def test_the_factory_finds_a_center_file_next_to_the_test_as_it_finds_a_scenario(pytester: pytest.Pytester) -> None:
    """cti_server_factory("center.toml") looked in the directory pytest was started from (CenterConfigError
    'cannot read') while scenario= and cti_center look next to the test file, then in rootdir."""
    pytester.mkdir("tests")
    (pytester.path / "tests" / "center.toml").write_text(
        '[[agents]]\nid = "7001"\nextension = "4001"\nstate = "READY"\n')
    pytester.makepyfile(**{"tests/test_factory_center": """
        def test_it(cti_server_factory):
            assert cti_server_factory("center.toml").agent_state("7001") == "AGENT_STATE_READY"

        def test_missing(cti_server_factory):
            cti_server_factory(center="nowhere.toml")
    """})
    result = run(pytester, "tests")  # from the project root, not from tests/
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*mockcti usage error: cti_server_factory(center=...): center file "
                                 "'nowhere.toml' not found (looked at *tests/nowhere.toml, *nowhere.toml)*"])


def test_a_cti_report_path_that_is_a_file_is_a_usage_error_before_any_test(pytester: pytest.Pytester) -> None:
    """--cti-report naming a file (or a path below one) failed at the teardown of every test that used a
    server, each passing test an error with the traceback of the mkdir; now pytest stops at once."""
    pytester.makepyfile("""
        def test_it(cti_server):
            pass
    """)
    (pytester.path / "reports").write_text("")
    result = run(pytester, "--cti-report", "reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --cti-report *reports: not a directory (a file of that name exists)"])
    result = run(pytester, "--cti-report", "reports/sub")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --cti-report *reports/sub: *reports is a file, not a directory"])
    result = run(pytester, "-o", "cti_report=reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini option cti_report: *reports: not a directory*"])
    run(pytester, "--cti-report", "new/reports").assert_outcomes(passed=1)  # a directory still to make is fine
    assert (pytester.path / "new" / "reports" / "test_a_cti_report_path_that_is_a_file_is_a_usage_error_before_any_test.py_test_it" / "summary.json").is_file()


def test_a_factory_server_that_failed_to_start_has_no_report(pytester: pytest.Pytester) -> None:
    """A factory server whose start failed (its port in use) left a passing, empty report under -1, and
    the server that did start came out as -2."""
    pytester.makepyfile("""
        import pytest

        def test_it(cti_server_factory):
            first = cti_server_factory()
            with pytest.raises(OSError):
                cti_server_factory(port=first.port)
            cti_server_factory()
    """)
    run(pytester, "--cti-report", "out").assert_outcomes(passed=1)
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == [
        "test_a_factory_server_that_failed_to_start_has_no_report.py_test_it-1",
        "test_a_factory_server_that_failed_to_start_has_no_report.py_test_it-2"]


def test_cti_async_server_without_pytest_asyncio_is_a_usage_error(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With pytest-asyncio disabled (-p no:asyncio) the first test got pytest's "requested an async fixture
    ... with no plugin" and the next an internal AssertionError of pytest's; without it installed,
    "fixture 'cti_async_server' not found". Each is now a usage error naming what is missing."""
    import mockcti.testing.plugin as plugin

    pytester.makepyfile("""
        async def test_async(cti_async_server):
            pass

        def test_sync(cti_async_server):
            pass

        def test_threaded(cti_server):
            assert cti_server.port
    """)
    # -rN: no short summary, whose lines are cut to the terminal's width (whole on a wide CI terminal),
    # so the count below sees the ERRORS section only, whatever COLUMNS is
    result = run(pytester, "-p", "no:asyncio", "-p", "no:randomly", "-W", "ignore::pytest.PytestConfigWarning", "-rN")
    result.assert_outcomes(passed=1, errors=2)
    assert result.stdout.str().count("mockcti usage error: cti_async_server runs in the test's event loop, which "
                                     "needs pytest-asyncio active (it is disabled: -p no:asyncio)") == 2
    result.stdout.no_fnmatch_line("*AssertionError*")
    # installed but not loaded: autoloading disabled and no -p asyncio (it said "disabled: -p no:asyncio")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = run(pytester, "-p", "mockcti", "-p", "no:randomly", "-W", "ignore::pytest.PytestConfigWarning", "-rN")
    result.assert_outcomes(passed=1, errors=2)
    assert result.stdout.str().count("mockcti usage error: cti_async_server runs in the test's event loop, which "
                                     "needs pytest-asyncio loaded (plugin autoloading is disabled: add -p "
                                     "asyncio)") == 2
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setattr(plugin, "_asyncio_installed", lambda: False)  # not installed
    result = run(pytester, "-p", "no:asyncio", "-p", "no:randomly", "-W", "ignore::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*mockcti usage error: cti_async_server runs in the test's event loop, which needs "
                                 "pytest-asyncio (pip install pytest-asyncio)*"])


def test_cti_report_keeps_parametrized_tests_apart(pytester: pytest.Pytester) -> None:
    """Ids that read alike once made safe for a file name ([a b], [a_b], [a/b]) each get their own
    report directory (two of three reports used to be overwritten)."""
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("x", ["a b", "a_b", "a/b"])
        def test_c(cti_server, x):
            pass
    """)
    run(pytester, "--cti-report", "out").assert_outcomes(passed=3)
    dirs = sorted(p.name for p in (pytester.path / "out").iterdir())
    assert len(dirs) == 3 and all(d.startswith("test_cti_report_keeps_parametrized_tests_apart.py_test_c_a_b")
                                  for d in dirs), dirs
    tests = sorted(json.loads((pytester.path / "out" / d / "summary.json").read_text(encoding="utf-8"))["test"] for d in dirs)
    assert [t.split("::")[1] for t in tests] == ["test_c[a b]", "test_c[a/b]", "test_c[a_b]"]


def test_cti_report_ini_option_is_relative_to_rootdir(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncti_report = ini-reports\n")
    pytester.mkdir("sub")
    pytester.makepyfile(**{"sub/test_ini": "def test_one(cti_server):\n    pass\n"})
    monkey = pytest.MonkeyPatch()
    try:
        monkey.chdir(pytester.path / "sub")
        pytester.runpytest(*QUIET).assert_outcomes(passed=1)
    finally:
        monkey.undo()
    assert (pytester.path / "ini-reports" / "sub_test_ini.py_test_one" / "junit.xml").is_file()


def test_cti_async_server_outside_the_function_loop_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """The server runs in the function-scoped loop; a sync test, or a test in a module loop, used to
    hang until its client timed out."""
    pytester.makepyfile("""
        import pytest

        def test_sync(cti_async_server):
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(cti_async_server):
            pass

        @pytest.mark.asyncio
        async def test_function_loop(cti_async_server):
            assert cti_async_server.port
    """)
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*cti_async_server runs in the test's event loop, so it needs an async test*",
                                 "*cti_async_server runs in the function-scoped event loop, this test in the "
                                 "'module' loop*"])


def test_cti_async_server_with_a_session_default_fixture_loop(pytester: pytest.Pytester) -> None:
    """asyncio_default_fixture_loop_scope=session (what pytest-asyncio's warning leads users to set)
    used to start the server in the session loop while the test ran in its own: the client hung."""
    pytester.makepyfile(helpers=ASYNC_CLIENT)
    pytester.makepyfile(test_loop="""
        import pytest
        from helpers import agent_session

        @pytest.mark.asyncio
        async def test_it(cti_async_server):
            await agent_session(cti_async_server)
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                "-o", "asyncio_default_fixture_loop_scope=session", "--timeout", "60")
    result.assert_outcomes(passed=1)


def test_one_test_with_both_servers_gets_both_reports(pytester: pytest.Pytester) -> None:
    """cti_server's report used to overwrite cti_async_server's (both wrote DIR/<test id>/)."""
    pytester.makepyfile("""
        import asyncio
        import pytest
        from mockcti.client import CTIClient

        @pytest.mark.asyncio
        async def test_both(cti_server, cti_async_server):
            cti = await CTIClient.connect(cti_async_server.host, cti_async_server.port)
            await cti.open_bridge(heartbeat=0)
            await cti.abort()  # no CLOSE_REQ: a violation in the async server's report only
            for _ in range(500):
                if cti_async_server.events("close"):
                    break
                await asyncio.sleep(0.01)
    """)
    run(pytester, "--cti-report", "out").assert_outcomes(passed=1)
    out = pytester.path / "out"
    dirs = sorted(p.name for p in out.iterdir())
    assert dirs == ["test_one_test_with_both_servers_gets_both_reports.py_test_both",
                    "test_one_test_with_both_servers_gets_both_reports.py_test_both-async"]
    assert json.loads((out / dirs[0] / "summary.json").read_text(encoding="utf-8"))["passed"]
    assert not json.loads((out / dirs[1] / "summary.json").read_text(encoding="utf-8"))["passed"]


@pytest.mark.parametrize("args, text", [
    ("5", "the scenario is a file path (or a loaded Scenario), not 5"),
    ('"s.yaml", seed="abc"', "seed must be an integer, not 'abc'"),
    ('"s.yaml", seed=1.5', "seed must be an integer, not 1.5"),
])
def test_marker_arguments_are_checked(pytester: pytest.Pytester, args: str, text: str) -> None:
    pytester.makefile(".yaml", s="name: s\n")
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.cti_scenario({args})
        def test_it(cti_server):
            pass
    """)
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*mockcti usage error: @pytest.mark.cti_scenario: {text}*"])


def test_a_cti_center_file_is_found_next_to_the_test_whatever_the_directory(pytester: pytest.Pytester) -> None:
    pytester.mkdir("tests")
    (pytester.path / "tests" / "center.toml").write_text(
        '[[agents]]\nid = "7001"\nextension = "4001"\ninstrument = "4001"\npassword = "pw"\n')
    pytester.makepyfile(**{"tests/conftest": """
        import pytest

        @pytest.fixture
        def cti_center():
            return "center.toml"
    """, "tests/test_center_path": """
        def test_it(cti_server):
            assert cti_server.set_agent_state("7001", "LOGIN") == "AGENT_STATE_NOT_READY"
    """})
    run(pytester, "tests").assert_outcomes(passed=1)  # from the project root, not from tests/
    pytester.makepyfile(**{"tests/conftest": """
        import pytest

        @pytest.fixture
        def cti_center():
            return "nowhere.toml"
    """})
    result = run(pytester, "tests")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockcti usage error: cti_center: center file 'nowhere.toml' not found*"])


def test_a_ctrl_c_as_a_threaded_server_hands_its_stop_over_leaves_no_coroutine_unawaited():
    """ThreadedServer.stop (the plugin's fixtures, a `with ThreadedServer()` block) made MockServer.stop()'s
    coroutine, then handed it to the server's thread: a Ctrl-C between the two left it made and never run —
    "RuntimeWarning: coroutine 'MockServer.stop' was never awaited" as pytest exited. It is closed; the server is
    still stopped by a second stop(). (In a fresh interpreter: the warning comes as the coroutine is collected.)"""
    import subprocess
    import sys

    code = (
        "import asyncio, gc, sys\n"
        "from mockcti.testing.fixtures import ThreadedServer\n"
        "srv = ThreadedServer().start()\n"
        "real = asyncio.run_coroutine_threadsafe\n"
        "def interrupted(coro, loop):\n"
        "    raise KeyboardInterrupt\n"
        "asyncio.run_coroutine_threadsafe = interrupted\n"
        "try:\n"
        "    srv.stop()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "asyncio.run_coroutine_threadsafe = real\n"
        "gc.collect()\n"
        "srv.stop()\n"
        "print('running' if srv.running else 'stopped')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "stopped"]
    assert "never awaited" not in done.stderr, done.stderr


@pytest.mark.parametrize("first", ["hypothesis", "mockcti.wire"])
def test_from_type_draws_valid_messages_without_importing_the_strategies(pytester: pytest.Pytester,
                                                                         first: str) -> None:
    """``st.from_type(OpenReq)`` in a test suite that never imports mockcti.testing.strategies, whichever of
    Hypothesis and the messages it imports first: every drawn message encodes and decodes back to itself. (It
    drew ``st.builds(OpenReq)`` — strings too long for their fields, numbers out of range — unless the strategies
    module had been imported: the registration is Hypothesis's entry point now, run as Hypothesis is imported.)
    In a subprocess: this process imported the strategies long ago."""
    imports = ["from hypothesis import given, settings, strategies as st",
               "from mockcti.wire.messages import AgentStateEvent, OpenReq"]
    pytester.makepyfile("\n".join(imports if first == "hypothesis" else imports[::-1]) + """
from hypothesis import Phase
from mockcti.wire import Dialect, decode_bytes, encode

D = Dialect.uccx(18)

@settings(max_examples=40, database=None, deadline=None, phases=[Phase.generate])  # (no shrinking: fails fast)
@given(st.from_type(OpenReq), st.from_type(AgentStateEvent))
def test_round_trip(req, event):
    assert isinstance(req, OpenReq) and isinstance(event, AgentStateEvent)
    for msg in (req, event):
        assert decode_bytes(encode(msg, D), D) == msg
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_cti_report_holds_the_last_session_s_reports_only(pytester: pytest.Pytester) -> None:
    """A test renamed (or deleted, or no longer using a server) left its old report directory in --cti-report's
    DIR, and a CI artefact collector reported it as current: a session removes, before its tests run, the test
    directories an earlier one wrote. What it does not recognise as its own stays: the user's files, a directory
    of another tool, a report directory into which the user put a file of theirs (only the report files go)."""
    test_file = pytester.makepyfile(test_reports="""
        def test_old(cti_server):
            assert cti_server.port

        def test_kept(cti_server_factory):
            cti_server_factory()
    """)
    run(pytester, "--cti-report", "out").assert_outcomes(passed=2)
    out = pytester.path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["test_reports.py_test_kept-1", "test_reports.py_test_old"]
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    other = out / "other-tool"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps({"test": "test_reports.py::test_gone"}), encoding="utf-8")
    (out / "test_reports.py_test_kept-1" / "screenshot.png").write_bytes(b"\x89PNG")
    test_file.write_text(test_file.read_text(encoding="utf-8").replace("test_old", "test_new"), encoding="utf-8")

    run(pytester, "--cti-report", "out", "--collect-only")  # (collecting runs no test: nothing is removed)
    assert (out / "test_reports.py_test_old" / "summary.json").is_file()
    run(pytester, "--cti-report", "out").assert_outcomes(passed=2)
    assert sorted(p.name for p in out.iterdir()) == [
        "notes.txt", "other-tool", "test_reports.py_test_kept-1", "test_reports.py_test_new"]
    assert (other / "summary.json").is_file() and (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    kept = out / "test_reports.py_test_kept-1"
    assert sorted(p.name for p in kept.iterdir()) == ["junit.xml", "screenshot.png", "summary.json"]
    assert json.loads((kept / "summary.json").read_text(encoding="utf-8"))["test"] == "test_reports.py::test_kept"

    # a test that no longer uses a server: its directory goes, and with it the screenshot's is the user's alone
    test_file.write_text("def test_kept():\n    pass\n", encoding="utf-8")
    run(pytester, "--cti-report", "out").assert_outcomes(passed=1)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "other-tool", "test_reports.py_test_kept-1"]
    assert [p.name for p in kept.iterdir()] == ["screenshot.png"]


def test_a_cti_report_dir_in_use_by_another_session_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Two sessions into one DIR at once: the second would remove the first's reports as it starts. Refused,
    naming who holds it, as mockcti run refuses a report directory in use."""
    from mockcti.report import claim_report_dir

    pytester.makepyfile("""
        def test_it(cti_server):
            assert cti_server.port
    """)
    lock = claim_report_dir(pytester.path / "out", "pytest --cti-report out -k other")
    try:
        if lock.unlocked is not None:
            pytest.skip(f"no lock here: {lock.unlocked}")
        result = run(pytester, "--cti-report", "out")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["ERROR: --cti-report *out: in use by pid * (pytest --cti-report out -k other, "
                                     "started *)*give each run started in parallel its own --cti-report DIR*"])
    finally:
        lock.release()
    run(pytester, "--cti-report", "out").assert_outcomes(passed=1)
    assert not (pytester.path / "out" / ".mockcti.lock").exists()  # released as the session ends


def test_a_scenario_engine_a_server_already_ran_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """One ScenarioEngine made for a module's tests went on, in the second test, from where the first test's
    server left it (its state, captures and expectation counts: the second test's teardown verified the first
    one's client), as a reused ContactCenter did: the same usage error, naming the test whose server ran it and
    what to give instead. A new engine (or scenario=) per server is fine."""
    pytester.makefile(".yaml", login="""
        name: login
        expect:
          - message: OPEN_REQ
    """)
    pytester.makepyfile("""
        import socket
        from pathlib import Path
        from mockcti.scenario.engine import ScenarioEngine
        from mockcti.wire import Dialect, encode
        from mockcti.wire.messages import OpenReq

        LOGIN = str(Path(__file__).with_name("login.yaml"))
        ONCE = ScenarioEngine.from_file(LOGIN)

        def open_req(server):
            msg = OpenReq(invoke_id=1, version_number=18, idle_timeout=60, services_requested=0x7,
                          call_msg_mask=0, agent_state_mask=0, client_id="x", client_password=b"")
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                sock.sendall(encode(msg, Dialect.uccx(18)))
                server.wait_received("OPEN_REQ")

        def test_first(cti_server_factory):
            open_req(cti_server_factory(engine=ONCE))

        def test_second(cti_server_factory):
            cti_server_factory(engine=ONCE)  # no client: its expectation is unmet

        def test_twice(cti_server_factory):
            engine = ScenarioEngine.from_file(LOGIN)
            open_req(cti_server_factory(engine=engine))
            cti_server_factory(engine=engine)

        def test_new_ones(cti_server_factory):
            for _ in range(2):
                open_req(cti_server_factory(engine=ScenarioEngine.from_file(LOGIN)))
                open_req(cti_server_factory(scenario=LOGIN))
    """)
    result = run(pytester, "-p", "no:randomly", "--cti-journal-lines", "0")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_second _*",
        "mockcti usage error: cti_server_factory(engine=...) in test_a_scenario_engine*.py::test_second gave a "
        "ScenarioEngine (scenario 'login') that cti_server_factory #1 of test_a_scenario_engine*.py::test_first "
        "already ran: its state, captured values and expectation counts would carry over from there. Make a new "
        "ScenarioEngine for each server, or give scenario= (a file path or a loaded Scenario) and the factory "
        "makes one",
        "*_ test_twice _*",
        "mockcti usage error: cti_server_factory(engine=...) in *::test_twice gave a ScenarioEngine (scenario "
        "'login') that this test's cti_server_factory #1 already ran: *"])


@pytest.mark.parametrize("how", ["conftest", "-p"])
def test_loading_the_plugin_module_by_its_own_name_too_is_not_an_internal_error(pytester: pytest.Pytester,
                                                                                 how: str) -> None:
    """``pytest_plugins = ["mockcti.testing.plugin"]`` in a conftest (a suite that also runs with plugin autoload
    disabled), or ``-p mockcti.testing.plugin``, with the entry point active: pytest stopped with an INTERNALERROR,
    "ValueError: Plugin already registered under a different name", before any test. The plugin is loaded once."""
    if how == "conftest":
        pytester.makeconftest('pytest_plugins = ["mockcti.testing.plugin"]')
    pytester.makepyfile("""
        def test_it(cti_server, request):
            assert cti_server.port
            loaded = [p for p in request.config.pluginmanager.get_plugins()
                      if getattr(p, "__name__", "") == "mockcti.testing.plugin"]
            assert len(loaded) == 1
    """)
    result = run(pytester, *(["-p", "mockcti.testing.plugin"] if how == "-p" else []))
    result.assert_outcomes(passed=1)


def test_a_cti_report_dir_that_cannot_be_locked_is_said_and_the_session_runs(pytester: pytest.Pytester,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the directory cannot be locked (no flock: Windows; a file system that cannot lock), the session still
    runs and says that a parallel session is not refused — on the terminal, so that filterwarnings = error does not
    turn it into an error that stops the session."""
    import sys

    monkeypatch.setitem(sys.modules, "fcntl", None)  # (as on a platform without flock)
    pytester.makeini("[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("""
        def test_it(cti_server):
            assert cti_server.port
    """)
    result = run(pytester, "--cti-report", "out")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mockcti: --cti-report *out: not locked (this platform has no flock*): a run "
                                 "started in parallel into this directory is not refused*"])


def test_the_journal_section_leaves_out_a_happenings_keys_that_have_no_value():
    """A failed test's journal section printed a call delivered to a CSQ as "call delivered call_id=7 agent=None
    csq=Sales": Python's None in a line for people, as if an agent named None was involved. Left out, as in
    mockcti serve's trace (the entry itself keeps the key)."""
    from mockcti.journal import Journal
    from mockcti.testing.fixtures import format_entry

    journal = Journal()
    journal.record("happening", 1.5, None, what="call delivered", call_id=7, agent=None, csq="Sales")
    journal.record("happening", 2.5, 3, what="hang-up", call_id=7, device=None)
    entries = journal.entries()
    assert [format_entry(e) for e in entries] == ["    1.500 s-    ** happening what=call delivered call_id=7 csq=Sales",
                                                  "    2.500 s3    ** happening what=hang-up call_id=7"]
    assert entries[0].data["agent"] is None


def test_the_journal_section_names_the_answer_a_violation_got():
    """A violation in a failed test's journal section named its rule and detail but not the reply the client got for
    it, which the JSON and JUnit reports and mockcti run show: the FAILURE_CONF behind a client's failure."""
    from mockcti.journal import Journal
    from mockcti.testing.fixtures import format_entry

    journal = Journal()
    journal.record("violation", 0.25, 1, rule="PROTO-OPEN-FIRST", detail="HEARTBEAT_REQ before OPEN_REQ",
                   answer="FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)")
    journal.record("violation", 0.5, 1, rule="PROTO-HEARTBEAT-LATE", detail="no heartbeat for 12 s")
    assert [format_entry(e) for e in journal.entries()] == [
        "    0.250 s1    !! PROTO-OPEN-FIRST: HEARTBEAT_REQ before OPEN_REQ; answered FAILURE_CONF "
        "E_CTI_SESSION_NOT_OPEN (4)",
        "    0.500 s1    !! PROTO-HEARTBEAT-LATE: no heartbeat for 12 s"]


def test_the_journal_section_shows_a_groups_records_as_it_shows_the_messages_fields():
    """A repeated group read as Python dicts with bare numbers ("csqs=[{'csq_id': 1, 'csq_state': 2}]") beside the
    message's own fields by name: its records now read as mockcti serve's trace shows them."""
    from mockcti.journal import Journal
    from mockcti.testing.fixtures import format_entry
    from mockcti.wire.enums import AgentState
    from mockcti.wire.messages import AgentStateEvent, CSQInfo

    journal = Journal()
    journal.message("out", 1.0, 1, AgentStateEvent(agent_state=AgentState.AGENT_STATE_READY, agent_id="1001",
                                                   num_csqs=1, csqs=(CSQInfo(csq_id=1, csq_state=2),)))
    [line] = [format_entry(e) for e in journal.entries()]
    assert line.endswith(" csqs=[{csq_id=1 csq_state=AGENT_STATE_NOT_READY}]"), line
