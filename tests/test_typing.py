"""mockcti ships ``py.typed``: a client's typed test suite is checked against mockcti's annotations.
These run mypy (a test extra) as a user would, on code that uses the public API: the examples, and a
file whose revealed types and reported mistakes are what a user relies on."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("mypy", reason="mypy is a test extra: pip install -e '.[test]'")


def _mypy(tmp_path: Path, *targets: Path | str, ignore_missing_imports: bool = True) -> tuple[int, str]:
    # --follow-imports=silent: mockcti's own modules are read for their types, not reported on (as for an
    # installed package); the cache lives in tmp_path (a cold run, nothing left in the checkout)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
         *(["--ignore-missing-imports"] if ignore_missing_imports else []),
         "--hide-error-context", "--no-color-output", "--show-column-numbers", "--cache-dir", str(tmp_path / "cache"),
         *map(str, targets)],
        capture_output=True, text=True, cwd=REPO, timeout=240, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_examples_type_check_clean(tmp_path: Path) -> None:
    examples = sorted((REPO / "examples").glob("*.py"))
    assert len(examples) >= 3
    rc, out = _mypy(tmp_path, *examples)
    assert rc == 0, out


USER_CODE = '''
import dataclasses
from mockcti import MockServer, ServerConfig, default_center
from mockcti.client import CTIClient
from mockcti.wire import FrameBuffer
from mockcti.wire.messages import AgentStateEvent, HoldCallReq

async def desk(cti: CTIClient) -> None:
    ev = await cti.next_event(timeout=1)
    reveal_type(ev.extra_fields)
    if isinstance(ev, AgentStateEvent):
        reveal_type(ev.csqs)
        reveal_type(ev.agent_id)
        reveal_type(ev.agent_state)
    reveal_type(FrameBuffer().feed(b""))
    reveal_type(dataclasses.replace(HoldCallReq(invoke_id=1, call_id=2), invoke_id=3))

async def serve() -> None:
    server = await MockServer(config=ServerConfig(port=0)).start()
    reveal_type(server)
    reveal_type(default_center())

def mistakes(ev: AgentStateEvent) -> None:
    ServerConfig(prot=0)
    AgentStateEvent(agent_sate=3)
    ev.agent_state = 3
    ev.csqs[0].skill_group
'''


def test_a_users_code_sees_the_message_fields_and_its_mistakes_are_reported(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(textwrap.dedent(USER_CODE), encoding="utf-8")
    rc, out = _mypy(tmp_path, user)
    lines = {int(m.group(1)): m.group(2) for m in re.finditer(r"user_code\.py:(\d+):\d+: (.*)", out)}
    src = USER_CODE.splitlines()

    def at(code: str) -> str:
        return lines.get(1 + next(i for i, s in enumerate(src) if code in s), "")

    assert 'Revealed type is "tuple[tuple[int, bytes], ...]"' in at("ev.extra_fields"), out
    assert 'Revealed type is "tuple[mockcti.wire.messages.CSQInfo, ...]"' in at("ev.csqs)"), out
    assert 'Revealed type is "str | None"' in at("ev.agent_id"), out
    assert 'Revealed type is "int"' in at("ev.agent_state)"), out
    # without quick_type the buffer gives frames and frame errors, never an int
    assert re.search(r'Revealed type is "list\[.*Frame\] \| mockcti\.wire\.errors\.FrameError\]"',
                     at("FrameBuffer()")), out
    assert 'Revealed type is "mockcti.wire.messages.HoldCallReq"' in at("dataclasses.replace"), out
    assert 'Unexpected keyword argument "agent_sate"' in at("agent_sate"), out
    # the package's lazily imported top-level names are typed (not Any)
    assert 'Revealed type is "mockcti.server.MockServer"' in at("reveal_type(server)"), out
    assert 'Revealed type is "mockcti.center.config.CenterConfig"' in at("default_center()"), out
    assert 'Unexpected keyword argument "prot" for "ServerConfig"' in at("prot=0"), out
    assert "read-only" in at("ev.agent_state = 3"), out
    assert '"CSQInfo" has no attribute "skill_group"' in at("skill_group"), out
    assert rc == 1


GENERIC_CODE = '''
import dataclasses
from mockcti.wire import Dialect, Message, decode_bytes
from mockcti.wire.messages import by_name

def generic(data: bytes) -> None:
    msg: Message = decode_bytes(data, Dialect.uccx(14))
    names = [f.name for f in dataclasses.fields(msg)]
    again = dataclasses.replace(msg)
    made = by_name("HEARTBEAT_REQ")(invoke_id=1)
    reveal_type(again)
    reveal_type(made)
'''


def test_code_generic_over_messages_type_checks(tmp_path: Path) -> None:
    """A message of no particular type (``decode_bytes``, ``by_name``) is a dataclass, and a class of no
    particular type is built from its fields: ``dataclasses.fields(msg)``, ``dataclasses.replace(msg)`` and
    ``by_name(name)(**fields)`` work at run time, and a user's type checker was told they did not (the
    Message base declared neither its dataclass nature nor a constructor taking fields)."""
    user = tmp_path / "generic_code.py"
    user.write_text(textwrap.dedent(GENERIC_CODE), encoding="utf-8")
    rc, out = _mypy(tmp_path, user)
    assert "error" not in out, out
    assert out.count('Revealed type is "mockcti.wire.spec.Message"') == 2, out
    assert rc == 0, out


HANDLE_CODE = '''
from mockcti.testing.fixtures import AsyncServer, ServerHelpers
from mockcti.testing.strategies import from_message_type
from mockcti.wire.messages import HoldCallReq

async def with_handles(srv: AsyncServer, handle: ServerHelpers) -> None:
    await srv.server.stop()
    reveal_type(srv.server)
    reveal_type((handle.host, handle.port, handle.journal))
    reveal_type(from_message_type(HoldCallReq))
'''


def test_the_server_handles_and_strategies_are_typed_as_they_are(tmp_path: Path) -> None:
    """cti_async_server's ``server`` is never None (its AsyncServer makes it), every handle has ``host``,
    ``port`` and ``journal``, and ``from_message_type(HoldCallReq)`` draws HoldCallReqs: a user's type checker
    was told "MockServer | None", "ServerHelpers has no attribute host" and "SearchStrategy[Any]"."""
    user = tmp_path / "handle_code.py"
    user.write_text(textwrap.dedent(HANDLE_CODE), encoding="utf-8")
    rc, out = _mypy(tmp_path, user)
    assert "error" not in out, out
    assert 'Revealed type is "mockcti.server.MockServer"' in out, out
    assert 'Revealed type is "tuple[str, int, mockcti.journal.Journal]"' in out, out
    assert "SearchStrategy[mockcti.wire.messages.HoldCallReq]" in out, out
    assert rc == 0, out


#: mypy reports nothing in the whole package (pyproject.toml's [tool.mypy] settings; mockcti.wire.messages is its
#: stub): every module is checked, so that a module made clean stays clean and a new one starts clean
CLEAN_PACKAGES = ("mockcti",)


def test_the_clean_modules_type_check(tmp_path: Path) -> None:
    """The whole package type-checks clean (the wire layer, the center, the hub, sessions, the server, the client,
    control API, scenarios, the pytest plugin, fixtures, strategies and fuzzer, reports and commands), so that what
    a user's type checker is told about them holds (a cold run: about 10 s here)."""
    targets = [a for p in CLEAN_PACKAGES for a in ("-p", p)]
    rc, out = _mypy(tmp_path, *targets, ignore_missing_imports=False)
    assert rc == 0 and not out.strip(), out


CENTER_CODE = '''
from types import MappingProxyType
from mockcti import ContactCenter, default_center

def deliver(center: ContactCenter, variables: MappingProxyType[str, str]) -> None:
    call_id, deliveries = center.deliver_call(0.0, csq="Sales", variables=variables)
    center.deliver_call(0.0, variables={"call_variable1": "x"})
    reveal_type(call_id)
'''


def test_the_centers_deliver_call_takes_any_mapping_of_variables(tmp_path: Path) -> None:
    """``ContactCenter.deliver_call`` (the center a handle's ``call(fn(hub, now))`` is given) checks ``variables``
    is a mapping and copies it, as ``named_variables``: a user's type checker was told only a dict would do
    ("incompatible type MappingProxyType[str, str]; expected dict[str, str] | None")."""
    user = tmp_path / "center_code.py"
    user.write_text(textwrap.dedent(CENTER_CODE), encoding="utf-8")
    rc, out = _mypy(tmp_path, user)
    assert "error" not in out, out
    assert 'Revealed type is "int"' in out, out
    assert rc == 0, out


CLIENT_CODE = '''
from mockcti.client import CTIClient
from mockcti.wire.messages import HeartbeatReq

async def patient(cti: CTIClient) -> None:
    await cti.open(services=0x10, timeout=None)
    await cti.request(HeartbeatReq(invoke_id=0), timeout=None)
    await cti.next_event(timeout=None)
'''


def test_the_clients_requests_may_wait_without_a_limit(tmp_path: Path) -> None:
    """``request(timeout=None)`` (and ``open``'s, which it passes on) waits without a limit, as
    ``next_event(timeout=None)`` does, and the README and next_event's docstring say so: a user's type checker
    was told a float was required ("incompatible type None; expected float")."""
    user = tmp_path / "client_code.py"
    user.write_text(textwrap.dedent(CLIENT_CODE), encoding="utf-8")
    rc, out = _mypy(tmp_path, user)
    assert "error" not in out, out
    assert rc == 0, out
