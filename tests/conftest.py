"""Shared test configuration."""

import gc
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

@pytest.fixture(scope="session", autouse=True)
def _no_python_colours():
    """Python's own colours off for the whole run, in this process and every subprocess the tests start
    (they inherit the environment): Python 3.13+ colours a traceback and 3.14 argparse's --help when
    FORCE_COLOR or PYTHON_COLORS=1 is set, into a pipe or a capture too (CI often sets FORCE_COLOR for
    pytest's colours), and the tests read them as text: a client's "RuntimeError: my client broke" that
    `mockcti run` shows was "\x1b[1;35mRuntimeError\x1b[0m: ...". PYTHON_COLORS=0 wins over FORCE_COLOR;
    pytest does not read it (its own colours follow PY_COLORS / FORCE_COLOR / NO_COLOR as before)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHON_COLORS", "0")
        yield


#: ResourceWarnings seen (a socket, transport, pipe, file or event loop left for the garbage collector)
_LEAKS: list[str] = []


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` directory beside the checkout (CI always has it)."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is not beside the checkout ({SHARED})")
    return SHARED


# -- a resource left for the garbage collector fails the run ---------------------------------------------
# pyproject's filterwarnings shows every ResourceWarning (Python ignores them by default). They are counted
# here and fail the run at the end, rather than made errors: most are raised in a __del__ at whatever moment
# the collector runs (in another test, or inside ast.parse, where an error crashed pytest with a SystemError),
# so the test they are shown under need not be the one that leaked (`python -X tracemalloc=20 -m pytest`
# names where the object was made).


def pytest_warning_recorded(warning_message: warnings.WarningMessage, when: str, nodeid: str, location) -> None:
    if issubclass(warning_message.category, ResourceWarning):
        _LEAKS.append(f"{nodeid or when}: {warning_message.message}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with warnings.catch_warnings(record=True) as caught:  # what is still waiting for the collector
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    _LEAKS.extend(f"end of the run: {w.message}" for w in caught if issubclass(w.category, ResourceWarning))
    if _LEAKS and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _LEAKS:
        terminalreporter.section("ResourceWarnings (a resource left for the garbage collector)", red=True)
        for line in _LEAKS:
            terminalreporter.line(line)
        terminalreporter.line(f"{len(_LEAKS)} ResourceWarning(s): the run fails")
