"""pytest plugin entry point (``pytest11``). Imports nothing heavy at module level.

Fixtures (the server machinery is imported when a fixture is first used):

- ``cti_server`` — a running mock on 127.0.0.1, port 0, on a thread of its own
  (:class:`mockcti.testing.fixtures.ThreadedServer`): usable from sync tests, from async tests
  (pytest-asyncio strict or auto mode) and by synchronous clients. ``host``, ``port``,
  ``journal``, ``call(fn)``, ``report()``, ``assert_received(...)``, ``assert_no_violations()``,
  ``deliver_call(...)``, ``set_agent_state(...)``, ``events(kind)`` ...
- ``cti_async_server`` — the same helpers, the server running in the test's own event loop
  (needs pytest-asyncio; an async test in the function-scoped loop, a usage error otherwise).
- ``cti_server_factory(center=None, *, profile=None, hub_config=None, engine=None, scenario=None,
  seed=None)`` — more servers; every one is stopped at teardown. A center or scenario file path is
  relative to the test file, then to rootdir. An engine (like a ContactCenter) that a server of the session
  already ran is a usage error: it would carry over that run's state.
- ``cti_center`` — the center the fixtures use (None: the default center); override it in a
  conftest to return a :class:`~mockcti.center.CenterConfig`, a mapping in a center file's shape or
  a center file path (relative to the test file, then to rootdir). A scenario that declares its own
  ``center:`` keeps it (a ScenarioCenterWarning says the cti_center given is not used).

Marker ``@pytest.mark.cti_scenario("scenarios/x.yaml", seed=None)``: ``cti_server`` (and
``cti_async_server``) load that scenario (path relative to the test file, then to rootdir); at
teardown every expectation is verified and the test fails (teardown error) when one is unmet (not a test
that skipped itself or is an expected failure, xfail: its client did not run).
The marker on a test that uses neither fixture is a usage error (the scenario would not run).

A failed test shows the last 50 journal entries of each of its servers, a section ``mockcti journal: cti_server``
(``cti_async_server``, ``cti_server_factory #N``) beside its captured output; option ``--cti-journal-lines N``
(ini ``cti_journal_lines``; 0: none).

Option ``--cti-report DIR`` (ini ``cti_report``): write ``summary.json`` and ``junit.xml`` of each
test's server(s) into ``DIR/<test id>/`` (``-async`` for cti_async_server's, ``-N`` for the
factory's N-th server). DIR holds the last session's reports: a session claims it as its tests are about
to run (another session into it meanwhile is a usage error) and removes the test directories an earlier one
wrote (only those: see :func:`_remove_earlier_reports`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from mockcti.testing.fixtures import ServerHelpers

MARKER = "cti_scenario"


#: the names pytest loads this module under: the entry point's (autoload, ``-p mockcti``) and the module's own
#: (``pytest_plugins = ["mockcti.testing.plugin"]`` in a conftest, ``-p mockcti.testing.plugin``)
_NAMES = ("mockcti", __name__)


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """Loaded under one of :data:`_NAMES`, the other is blocked, so that loading it under that one too is a no-op:
    a conftest's ``pytest_plugins = ["mockcti.testing.plugin"]`` (what a suite that also runs with plugin autoload
    disabled writes) with the entry point active — or ``-p mockcti.testing.plugin`` — stopped pytest before any
    test with an INTERNALERROR ("ValueError: Plugin already registered under a different name") and a dump of
    every plugin. (Called for this module's own registration too: the hook is historic.)"""
    import sys

    if plugin is not sys.modules.get(__name__):
        return
    for name in _NAMES:
        if manager.get_plugin(name) is None and not manager.is_blocked(name):
            manager.set_blocked(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockcti", "mock CTI server (mockcti)")
    group.addoption("--cti-report", metavar="DIR", default=None, dest="cti_report",
                    help="write summary.json and junit.xml of each test's mock CTI server(s) into DIR/<test id>/")
    parser.addini("cti_report", "directory for per-test mockcti reports (like --cti-report; relative to rootdir)",
                  default=None)
    group.addoption("--cti-journal-lines", metavar="N", default=None, type=int, dest="cti_journal_lines",
                    help=f"a failed test shows the last N journal entries of each of its mock CTI servers "
                         f"(default {JOURNAL_LINES}; 0: none)")
    parser.addini("cti_journal_lines", f"like --cti-journal-lines (default {JOURNAL_LINES})", default=None)


_SERVING = ("cti_server", "cti_async_server")  # the fixtures that run the marker's scenario

#: journal entries of each server a failed test shows (--cti-journal-lines)
JOURNAL_LINES = 50
#: the servers a test's fixtures made, as (label, handle), in the order they were made
_SERVERS = pytest.StashKey[list[tuple[str, Any]]]()
_JOURNAL_SHOWN = pytest.StashKey[bool]()
_SERVED_CENTERS = pytest.StashKey[Any]()  # the ContactCenters the fixtures' servers were given (WeakSet, id -> center)
_SERVED_ENGINES = pytest.StashKey[Any]()  # ScenarioEngine the factory's servers ran -> (test id, which server)
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()  # the outcome of the test's body, once it has run
_JOURNAL_LINES = pytest.StashKey[int]()  # --cti-journal-lines, read (and checked) once, by pytest_configure
_REPORT_LOCK = pytest.StashKey[Any]()  # --cti-report's directory, claimed by this session while its tests run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test that failed (or whose setup did after a server started — a fixture of the user's logging its desk in —
    or whose teardown did: an unmet expectation) shows what its servers saw, a section
    ``mockcti journal …`` per server beside its captured output: the failure of a client that timed out waiting
    (for an event the server never sent, or sent after refusing a request) said nothing of the server's side."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    if report.failed and not item.stash.get(_JOURNAL_SHOWN, False):
        servers = item.stash.get(_SERVERS, [])
        lines = item.config.stash.get(_JOURNAL_LINES, JOURNAL_LINES)
        if servers and lines:
            item.stash[_JOURNAL_SHOWN] = True  # (once: a failed call and then an unmet expectation)
            for label, handle in servers:
                if handle.server is not None:
                    report.sections.append((f"mockcti journal: {label}", _journal_tail(handle, lines)))
    return report


def _journal_lines(config: pytest.Config) -> int:
    value = config.getoption("cti_journal_lines", default=None)
    if value is None:
        ini = config.getini("cti_journal_lines")
        try:
            value = JOURNAL_LINES if ini in (None, "") else int(ini)
        except ValueError:
            raise pytest.UsageError(f"ini option cti_journal_lines: {ini!r} is not a whole number") from None
    if value < 0:
        raise pytest.UsageError(f"--cti-journal-lines: {value} is below 0 (0 shows no journal)")
    return int(value)


def _journal_tail(handle: "ServerHelpers", lines: int) -> str:
    """The last ``lines`` entries of ``handle``'s journal, one a line."""
    from mockcti.server import host_port
    from mockcti.testing.fixtures import format_entry

    try:
        entries = handle.events()
    except Exception as exc:  # noqa: BLE001 - the test's own failure must still be reported
        return f"(the journal could not be read: {type(exc).__name__}: {exc})"
    shown = entries[-lines:]
    where = host_port(handle.host, handle.port)
    head = (f"{where}: the last {len(shown)} of {len(entries)} journal entries" if len(shown) < len(entries)
            else f"{where}: {len(entries)} journal entries")
    return "\n".join([head, *map(format_entry, shown)]) + "\n"


def _body_ran(request: pytest.FixtureRequest) -> bool:
    """Whether the test's body ran and was not skipped: a test that skips itself (``pytest.skip``), an expected
    failure (``xfail``) or one whose setup failed after its server started has not run its client, and its
    scenario's unmet expectations are not one more error (they were: ``1 skipped, 1 error``). The expectations
    are still verified, and written to ``--cti-report``."""
    report = request.node.stash.get(_CALL_REPORT, None)
    return report is not None and not report.skipped


def _track(request: pytest.FixtureRequest, label: str, handle: Any) -> None:
    request.node.stash.setdefault(_SERVERS, []).append((label, handle))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A marker no fixture runs would verify nothing: the test would pass with its scenario unused. (And each run
    of a test starts with nothing remembered of an earlier run of it: a rerun — pytest-rerunfailures runs the
    same item again — showed no journal when it failed, and would have listed the first run's servers.)"""
    keys: tuple[pytest.StashKey[Any], ...] = (_SERVERS, _JOURNAL_SHOWN, _CALL_REPORT)
    for key in keys:
        if key in item.stash:
            del item.stash[key]
    if item.get_closest_marker(MARKER) is not None and not set(_SERVING) & set(getattr(item, "fixturenames", ())):
        _usage(f"@pytest.mark.{MARKER} on a test that uses neither cti_server nor cti_async_server: the scenario "
               "would not run (cti_server_factory takes scenario= instead)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, *, seed=None): run the cti_server fixture with this mockcti scenario file "
        "(relative to the test file, then rootdir); unmet expectations fail the test at teardown")
    _check_report_dir(config)
    config.stash[_JOURNAL_LINES] = _journal_lines(config)  # (a bad value: a usage error before any test runs)
    if config.pluginmanager.has_plugin("asyncio"):
        _with_asyncio(config)
    elif not _asyncio_installed():
        _without_asyncio(config, "(pip install pytest-asyncio)")
    elif config.pluginmanager.is_blocked("asyncio"):
        _without_asyncio(config, "active (it is disabled: -p no:asyncio)")
    else:  # installed, neither blocked nor loaded: PYTEST_DISABLE_PLUGIN_AUTOLOAD (or --disable-plugin-autoload)
        _without_asyncio(config, "loaded (plugin autoloading is disabled: add -p asyncio)")


def _asyncio_installed() -> bool:
    """Whether pytest-asyncio is installed, without importing it."""
    import importlib.util

    return importlib.util.find_spec("pytest_asyncio") is not None


def _with_asyncio(config: pytest.Config) -> None:
    """``cti_async_server`` as a pytest-asyncio fixture, made once pytest-asyncio's plugin is registered (so
    importing it here loads nothing new). This module imported pytest_asyncio, and with it the standard
    library's ``asyncio``, as it was imported: ``-p mockcti -p asyncio`` (autoload disabled) then had pytest
    warn "Module already imported so cannot be rewritten; asyncio" — an INTERNALERROR, no test run, where
    warnings are errors (``filterwarnings = error``)."""
    import types

    import pytest_asyncio

    holder = types.ModuleType("mockcti_async_server")
    holder.cti_async_server = pytest_asyncio.fixture(  # type: ignore[attr-defined]
        _cti_async_server, loop_scope="function", name="cti_async_server")
    config.pluginmanager.register(holder, "mockcti-async-server")


def _without_asyncio(config: pytest.Config, why: str) -> None:
    """``cti_async_server`` as a usage error: without pytest-asyncio it was "fixture not found", with it
    disabled pytest's "requested an async fixture ... with no plugin" and then an internal AssertionError
    in the next test. (Registered after this module, its fixture is the one used.)"""
    import types

    @pytest.fixture(name="cti_async_server")
    def unavailable() -> NoReturn:
        _usage(f"cti_async_server runs in the test's event loop, which needs pytest-asyncio {why}; "
               "cti_server serves sync and async tests alike from a thread of its own")

    holder = types.ModuleType("mockcti_without_asyncio")
    holder.cti_async_server = unavailable  # type: ignore[attr-defined]
    config.pluginmanager.register(holder, "mockcti-without-asyncio")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """``--cti-report DIR`` holds the reports of the session that ran last: as the tests are about to run, the
    session claims DIR (:func:`mockcti.report.claim_report_dir`: a second session into it at the same time is a
    usage error, as for ``mockcti run``) and removes the test directories an earlier session wrote
    (:func:`_remove_earlier_reports`). A test renamed or deleted, or one that no longer uses a server, left its
    old directory, which a CI artefact collector then reported as current. Not for ``--collect-only``, nor in a
    pytest-xdist worker (the controller claims DIR for its workers)."""
    config = session.config
    directory = _report_dir(config)
    if directory is None or config.option.collectonly or hasattr(config, "workerinput"):
        return
    from mockcti.report import claim_report_dir

    what = _report_option(config)
    command = " ".join(["pytest", *map(str, config.invocation_params.args)])
    try:
        lock = claim_report_dir(directory, command, "--cti-report")
    except OSError as exc:
        raise pytest.UsageError(f"{what} {directory}: {exc.strerror or exc}") from None
    config.stash[_REPORT_LOCK] = lock
    warning = lock.warning("--cti-report")
    if warning:  # (a line of the terminal's, not a warning: where warnings are errors it stopped the session)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"mockcti: {warning}", yellow=True)
    _remove_earlier_reports(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    lock = config.stash.get(_REPORT_LOCK, None)
    if lock is not None:
        del config.stash[_REPORT_LOCK]
        lock.release()


#: the files a test's report directory holds (:func:`mockcti.report.write_reports`)
_REPORT_FILES = ("summary.json", "junit.xml")


def _remove_earlier_reports(directory: Path) -> None:
    """Remove from ``directory`` each test directory that a session of this plugin wrote: a directory (not a
    link to one) holding a ``summary.json`` whose ``"test"`` is a test id that names the directory as
    :func:`_write_report` does (``<test id>``, ``…-async``, ``…-N``). Of it only the report files go (and the
    temporary twin a killed write left); a file of the user's put in it keeps it. Anything else in ``directory``
    — the user's files, another tool's directories, ``mockcti serve --report``'s own summary.json — is kept."""
    import json
    import os
    import stat

    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            summary = Path(entry.path) / "summary.json"
            if not stat.S_ISREG(os.lstat(summary).st_mode):
                continue
            test = json.loads(summary.read_text(encoding="utf-8")).get("test")
        except (OSError, ValueError, AttributeError):  # (not a directory of ours: no summary, not a JSON object)
            continue
        if not isinstance(test, str) or not re.fullmatch(re.escape(_safe(test)) + r"(-async|-[0-9]+)?", entry.name):
            continue
        for name in os.listdir(entry.path):
            if name in _REPORT_FILES or any(re.fullmatch(rf"\.{re.escape(f)}\.[0-9]+\.tmp", name)
                                           for f in _REPORT_FILES):
                try:
                    os.unlink(os.path.join(entry.path, name))
                except OSError:
                    pass
        try:
            os.rmdir(entry.path)
        except OSError:  # (a file of the user's is left in it)
            pass


def _report_option(config: pytest.Config) -> str:
    """How the user gave the report directory, as a message names it."""
    return "--cti-report" if config.getoption("cti_report", default=None) else "ini option cti_report:"


def _check_report_dir(config: pytest.Config) -> None:
    """A report directory that cannot be made (a file of that name, or a file among its parents) is a
    usage error before any test runs, as for ``mockcti serve --report``: it was found at the teardown
    of every test that used a server, each test an error with the traceback of the mkdir."""
    directory = _report_dir(config)
    if directory is None:
        return
    existing = directory
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.is_dir():
        return
    what = _report_option(config)
    why = ("not a directory (a file of that name exists)" if existing == directory
           else f"{existing} is a file, not a directory")
    raise pytest.UsageError(f"{what} {directory}: {why}")


# -- helpers ------------------------------------------------------------------------------------------


def _usage(text: str) -> NoReturn:
    """A mistake in how the plugin is used: the test errors with ``text`` alone (no traceback)."""
    raise pytest.fail.Exception(f"mockcti usage error: {text}", pytrace=False)  # (what pytest.fail raises)


def _resolve(request: pytest.FixtureRequest, path: str | Path, what: str = f"@pytest.mark.{MARKER}: scenario file") -> Path:
    """A path relative to the test file, then to rootdir (or absolute)."""
    p = Path(path)
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = list(dict.fromkeys([Path(request.node.path).parent / p, Path(request.config.rootpath) / p]))
    for c in candidates:
        if c.is_file():
            return c
    _usage(f"{what} {str(path)!r} not found (looked at " + ", ".join(str(c) for c in candidates) + ")")


def _engine(request: pytest.FixtureRequest, scenario: Any, seed: int | None, who: str = f"@pytest.mark.{MARKER}") -> Any:
    """A ScenarioEngine for ``scenario`` (a path, or a loaded Scenario); ``who`` asked for it (the marker,
    or ``cti_server_factory(scenario=...)``): usage errors name it."""
    # (each usage error is raised outside the ``except`` that caught its cause: inside it, the test's
    # error showed the cause first, then "During handling of the above exception, another exception
    # occurred:", the scenario's first error twice)
    path = _resolve(request, scenario, f"{who}: scenario file") if isinstance(scenario, (str, Path)) else None
    problem = None
    try:
        from mockcti.scenario.engine import ScenarioEngine
    except ImportError as exc:
        problem = f"{who} needs the scenario engine (mockcti.scenario.engine), which cannot be imported: {exc}"
    if problem is None and path is not None:
        from mockcti.scenario import ScenarioError, load_scenario

        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:  # every error, one a line (at most MAX_SHOWN_ERRORS, then "and N more")
            from mockcti.located import shown_errors

            problem = f"{who}: " + "\n".join(shown_errors(exc.errors))
    if problem is not None:
        _usage(problem)
    return ScenarioEngine(scenario, seed=seed)


def _marker_engine(request: pytest.FixtureRequest) -> tuple[Any, int | None]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None, None
    args, kwargs = list(marker.args), dict(marker.kwargs)
    path = args[0] if args else kwargs.pop("path", None)
    seed = kwargs.pop("seed", None)
    if path is None or len(args) > 1 or kwargs:
        _usage(f"@pytest.mark.{MARKER} takes (path, *, seed=None); got args={marker.args!r} "
                                f"kwargs={marker.kwargs!r}")
    from mockcti.scenario.model import Scenario

    if not isinstance(path, (str, Path, Scenario)):
        _usage(f"@pytest.mark.{MARKER}: the scenario is a file path (or a loaded Scenario), not {path!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        _usage(f"@pytest.mark.{MARKER}: seed must be an integer, not {seed!r}")
    return _engine(request, path, seed), seed


def _fixture_source(request: pytest.FixtureRequest, name: str) -> str:
    """What gave the test its fixture ``name``: ``the cti_center fixture (conftest.py:12)``, or, for a test that
    parametrizes it directly (``@pytest.mark.parametrize("cti_center", [...])``), ``the cti_center parameter of
    test_x[cti_center0] (@pytest.mark.parametrize)`` — not the place in pytest that stands in for such a
    parameter (``python.py:1230``)."""
    try:
        import inspect

        fixturedef = request.node._fixtureinfo.name2fixturedefs[name][-1]  # (the closest override)
        fn = inspect.unwrap(fixturedef.func)
        if (getattr(fn, "__module__", None) or "").split(".")[0] == "_pytest":  # pytest's stand-in for a parameter
            return f"the {name} parameter of {request.node.name} (@pytest.mark.parametrize)"
        return f"the {name} fixture ({Path(inspect.getsourcefile(fn) or '?').name}:{fn.__code__.co_firstlineno})"
    except Exception:  # noqa: BLE001 - a pytest without these internals: the message names no place
        return f"the {name} fixture"


def _center_of(request: pytest.FixtureRequest, center: Any, who: str = "cti_center", engine: Any = None) -> Any:
    """``cti_center`` (or the factory's ``center``) as the servers take it: a center file path is found
    like the marker's scenario (relative to the test file, then rootdir), not relative to wherever
    pytest was started. With ``engine``, a scenario that declares its own center wins: ``center`` is not
    used, and a ScenarioCenterWarning names both (:func:`mockcti.testing.fixtures.scenario_center_wins`)."""
    def given_as() -> str:  # (what gave the center, for a warning or an error)
        return _fixture_source(request, "cti_center") if who == "cti_center" else who

    if engine is not None and center is not None:
        from mockcti.testing.fixtures import scenario_center_wins

        center = scenario_center_wins(center, engine, given_as())
    if isinstance(center, (str, Path)):
        return _resolve(request, center, f"{who}: center file")
    if center is not None and not isinstance(center, Mapping):
        _claim_center(request, center, given_as())
    return center


def _claim_center(request: pytest.FixtureRequest, center: Any, given_as: str) -> None:
    """A ContactCenter is the live simulated center, not a description of one: handed to a second server (the next
    test's, when a conftest's ``cti_center`` returns one made once at import; or the factory's twice) it carried
    over what the first left — agents logged in, calls ringing, timers — and the next test passed or failed by
    the order the tests ran in. A usage error saying what to give instead."""
    import weakref

    from mockcti.center import ContactCenter

    if not isinstance(center, ContactCenter):
        return
    weak, kept = request.config.stash.setdefault(_SERVED_CENTERS, (weakref.WeakSet(), {}))
    if center in weak or id(center) in kept:
        _usage(f"{given_as} gave a ContactCenter that another server of this session already served: its agents' "
               "states, calls and timers would carry over from there. Give its CenterConfig (center.config), a "
               "mapping or a center file instead (each server then makes a ContactCenter of its own), or a new "
               "ContactCenter each time")
    try:
        weak.add(center)
    except TypeError:  # the compiled build's ContactCenter takes no weak reference: kept by id till the session ends
        kept[id(center)] = center


def _claim_engine(request: pytest.FixtureRequest, engine: Any, n: int) -> None:
    """A ScenarioEngine runs one scenario once: its state, captured values and the counts its expectations are
    verified against are the run's. Given to a second server (the next test's, when a module makes one engine for
    all its tests; or the factory's twice) it went on from where the first left — expectations met by the earlier
    test's client counted, a scenario already ended — and the test passed or failed by the order the tests ran in,
    where a reused ContactCenter is refused (:func:`_claim_center`). The same usage error, naming the test whose
    server ran it first and what to give instead."""
    import weakref

    served = request.config.stash.setdefault(_SERVED_ENGINES, weakref.WeakKeyDictionary())
    try:
        first = served.get(engine)
    except TypeError:  # (not an object a weak reference can be kept to: not a ScenarioEngine, left to the server)
        return
    if first is not None:
        scenario = getattr(getattr(engine, "scenario", None), "name", None)
        what = f"a ScenarioEngine (scenario {scenario!r})" if scenario else "a ScenarioEngine"
        nodeid, server = first
        where = f"this test's {server}" if nodeid == request.node.nodeid else f"{server} of {nodeid}"
        _usage(f"cti_server_factory(engine=...) in {request.node.nodeid} gave {what} that {where} "
               "already ran: its state, captured values and expectation counts would carry over from there. Make "
               "a new ScenarioEngine for each server, or give scenario= (a file path or a loaded Scenario) and the "
               "factory makes one")
    served[engine] = (request.node.nodeid, f"cti_server_factory #{n}")


def _report_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("cti_report", default=None)
    base = Path(config.invocation_params.dir)  # a command-line path is relative to where pytest runs
    if not value:
        value, base = config.getini("cti_report"), Path(config.rootpath)  # an ini path to the rootdir
    if not value:
        return None
    p = Path(value)
    return p if p.is_absolute() else base / p


def _safe(nodeid: str) -> str:
    """A directory name for a test: its node id in safe characters; when that changed or cut the id,
    a short hash of the id keeps two tests apart (``[a b]``, ``[a_b]`` and ``[a/b]`` all read ``a_b``)."""
    safe = re.sub(r"[^A-Za-z0-9_.\-]+", "_", nodeid).strip("_")[:180] or "test"
    if safe != re.sub(r"::|/", "_", nodeid).strip("_"):  # more than the usual separators went: keep apart
        import hashlib

        safe += "-" + hashlib.sha1(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def _verify(handle: "ServerHelpers") -> str | None:
    """Verify the scenario's expectations; return the failure text when one is unmet."""
    from mockcti.server import host_port
    from mockcti.testing.fixtures import format_expectations, unmet

    if handle.engine is None:
        return None
    try:
        exps = handle.verify()
    except Exception as exc:  # an engine bug must not hide the test's own outcome
        return f"scenario verification raised {type(exc).__name__}: {exc}"
    bad = unmet(exps)
    if not bad:
        return None
    return f"{len(bad)} scenario expectation(s) unmet on {host_port(handle.host, handle.port)}:\n{format_expectations(exps)}"


def _write_report(request: pytest.FixtureRequest, handle: "ServerHelpers", suffix: str) -> None:
    """``DIR/<test id>/`` for cti_server, ``…-async`` for cti_async_server, ``…-N`` for the factory's
    N-th server: one test with several servers gets one directory per server."""
    directory = _report_dir(request.config)
    if directory is None:
        return
    from mockcti.report import write_reports

    d = directory / _safe(request.node.nodeid)
    if suffix:
        d = d.with_name(f"{d.name}-{suffix}")
    seed = getattr(handle.engine, "seed", None) if handle.engine is not None else None
    write_reports(handle.journal, d, expectations=handle.expectations, seed=handle.seed if seed is None else seed,
                  extra={"test": request.node.nodeid})


def _fail_if(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def cti_center() -> Any:
    """The center of ``cti_server`` / ``cti_async_server``: None (the default center, or the
    scenario's). Override in a conftest with a CenterConfig, a ContactCenter, a mapping in a center
    file's shape or a center file path."""
    return None


@pytest.fixture
def cti_server(request: pytest.FixtureRequest, cti_center: Any) -> Any:
    """A running mock CTI server on its own thread (127.0.0.1, port 0): a ThreadedServer."""
    from mockcti.testing.fixtures import ThreadedServer

    engine, seed = _marker_engine(request)
    server = ThreadedServer(_center_of(request, cti_center, engine=engine), engine=engine, seed=seed).start()
    _track(request, "cti_server", server)
    problems: list[str] = []
    try:
        yield server
        server.settle()  # what the client sent before the test ended is read before it is verified, reported
        problem = _verify(server)
        if problem and _body_ran(request):
            problems.append(problem)
    finally:
        server.stop()
        _write_report(request, server, "")
    _fail_if(problems)


@pytest.fixture
def cti_server_factory(request: pytest.FixtureRequest) -> Any:
    """``factory(center=None, *, profile=None, hub_config=None, engine=None, scenario=None, seed=None,
    **ThreadedServer options)`` -> a started ThreadedServer; all are stopped at teardown and their
    scenario expectations verified."""
    from mockcti.testing.fixtures import ThreadedServer

    made: list[ThreadedServer] = []

    def factory(center: Any = None, *, profile: str | None = None, hub_config: Any = None, engine: Any = None,
                scenario: Any = None, seed: int | None = None, **options: Any) -> ThreadedServer:
        if scenario is not None:
            if engine is not None:
                raise TypeError("give scenario= or engine=, not both")
            engine = _engine(request, scenario, seed, "cti_server_factory(scenario=...)")
        elif engine is not None:
            _claim_engine(request, engine, sum(m.server is not None for m in made) + 1)
        center = _center_of(request, center, "cti_server_factory(center=...)", engine=engine)
        server = ThreadedServer(center, profile=profile, hub_config=hub_config, engine=engine, seed=seed, **options)
        made.append(server)
        server.start()
        # -N as in its report directory: the N-th server that started
        _track(request, f"cti_server_factory #{sum(m.server is not None for m in made)}", server)
        return server

    problems: list[str] = []
    try:
        yield factory
        for server in made:
            if server.server is not None:
                server.settle()
                problem = _verify(server)
                if problem and _body_ran(request):
                    problems.append(problem)
    finally:
        n = 0  # -N: the N-th server that started (one whose start failed has none)
        for server in made:
            try:
                server.stop()
            finally:
                if server.server is not None:
                    n += 1
                    _write_report(request, server, str(n))
    _fail_if(problems)


def _check_async_test(request: pytest.FixtureRequest) -> None:
    """cti_async_server serves in the function-scoped loop: a test in another loop (a sync test, or
    one running in a module/class/session loop) would wait on a server whose loop is not running."""
    import inspect

    fn = getattr(request.node, "function", None)
    if fn is None or not inspect.iscoroutinefunction(fn):
        _usage("cti_async_server runs in the test's event loop, so it needs an async test "
               "(pytest-asyncio); a sync test uses cti_server")
    marker = request.node.get_closest_marker("asyncio")
    scope = (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")) if marker is not None else None
    if scope is None:
        try:
            scope = request.config.getini("asyncio_default_test_loop_scope") or None
        except ValueError:  # an older pytest-asyncio: tests run in the function loop
            scope = None
    if scope not in (None, "function"):
        _usage(f"cti_async_server runs in the function-scoped event loop, this test in the {scope!r} loop; "
               "use cti_server (its own thread), or run the test with loop_scope='function'")


async def _cti_async_server(request: pytest.FixtureRequest, cti_center: Any) -> Any:
    """A running mock CTI server in the test's own event loop (function scope): an AsyncServer.
    (The fixture ``cti_async_server``, made by :func:`_with_asyncio` when pytest-asyncio is active.)"""
    from mockcti.testing.fixtures import AsyncServer

    _check_async_test(request)
    engine, seed = _marker_engine(request)
    server = await AsyncServer(_center_of(request, cti_center, engine=engine), engine=engine, seed=seed).start()
    _track(request, "cti_async_server", server)
    problems: list[str] = []
    try:
        yield server
        problem = _verify(server)
        if problem and _body_ran(request):
            problems.append(problem)
    finally:
        await server.stop()
        _write_report(request, server, "async")
    _fail_if(problems)
