"""The objects behind the pytest fixtures of :mod:`mockcti.testing.plugin`.

- :class:`ThreadedServer` runs a :class:`~mockcti.server.MockServer` on a thread of its own, with
  its own event loop, so that a synchronous client (plain sockets) and an asyncio client in any
  loop (pytest-asyncio strict or auto mode, another thread...) can all connect to it.
- :class:`AsyncServer` runs it in the caller's running loop (everything in one loop).

Both offer the same helpers (:class:`ServerHelpers`): ``report()``, ``assert_received(...)``,
``assert_sent(...)``, ``assert_no_violations()``, ``deliver_call(...)``, ``set_agent_state(...)``,
``events(kind)``, ``received(...)``, ``sent(...)``, ``wait_until(...)``. Every read of the journal
happens on the server's thread (through :meth:`call`), so it never races with the server.

Usable without pytest too::

    with ThreadedServer() as srv:
        my_sync_client.connect(srv.host, srv.port)
        ...
        srv.assert_no_violations()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Any

from mockcti.center import CenterConfig, ContactCenter
from mockcti.hub import Hub, HubConfig
from mockcti.journal import Entry, Journal, data_text, violation_text
from mockcti.report import Expectation, build_summary, outcome
from mockcti.server import MockServer, ServerConfig, host_port
from mockcti.wire.enums import AgentState, MessageType

__all__ = ["ThreadedServer", "AsyncServer", "ServerHelpers", "hub_config_for", "load_scenario_engine",
           "format_expectations", "format_entry", "unmet", "ScenarioCenterWarning", "scenario_center_wins", "CallID"]

# the plugin's servers answer shutdown quicker than `mockcti serve` (tests stop many servers)
DEFAULT_SHUTDOWN_GRACE = 0.25
_MAX_LISTED = 60  # messages listed in a failed assertion


def hub_config_for(profile: Any = None, hub_config: HubConfig | None = None) -> HubConfig | None:
    """``profile`` ("uccx" or "ucce", or a :class:`~mockcti.wire.dialect.Profile`, e.g. one with other
    message numbers) applied to ``hub_config`` (or the default HubConfig)."""
    if hub_config is not None and not isinstance(hub_config, HubConfig):
        raise TypeError(f"hub_config is a HubConfig, not {type(hub_config).__name__} {hub_config!r:.80}")
    if profile is None:
        return hub_config
    import dataclasses

    from mockcti.session import SessionConfig
    from mockcti.wire.dialect import PROFILES, Profile

    if not isinstance(profile, Profile):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
        profile = PROFILES[profile]
    base = hub_config or HubConfig()
    session = dataclasses.replace(base.session or SessionConfig(), profile=profile)
    return dataclasses.replace(base, session=session)


def _center(center: ContactCenter | CenterConfig | str | Path | None) -> ContactCenter | CenterConfig | None:
    if isinstance(center, (str, Path)):
        from mockcti.center import load_center_file

        return load_center_file(center)
    return center


class CallID(int):
    """The CallID :meth:`ServerHelpers.deliver_call` returns: an int, with ``hint`` the reason the call waits with
    no one to ring (``"queued: no agent of CSQ 'Sales' is logged in (1001, 1002); …"``,
    :meth:`~mockcti.center.ContactCenter.queue_hint`), else None — a test waiting for the ring would wait for ever."""

    hint: str | None = None

    def __new__(cls, value: int, hint: str | None = None) -> "CallID":
        self = super().__new__(cls, value)
        self.hint = hint
        return self


class ScenarioCenterWarning(UserWarning):
    """A center given beside a scenario that declares its own (``center:``): the scenario's is used."""


def scenario_center_wins(center: Any, engine: Any, given_as: str = "center=") -> Any:
    """The center to serve ``engine``'s scenario with: ``center`` unless the scenario declares its own
    (``center:``), which wins — as ``mockcti serve --scenario`` replaces ``--center`` and the control API's
    ``POST /scenario`` the center: the scenario's agents, CSQs and call captures are checked against and
    taken from its own center. A ``center`` given then is not used, and a :class:`ScenarioCenterWarning`
    naming both (``given_as`` says where it came from) says so: it replaced the scenario's silently, so the
    scenario's ``${call}`` and agents were not there and the test passed or failed for another reason."""
    scenario: Any = getattr(engine, "scenario", None)
    if center is None or not getattr(scenario, "center", None) or not hasattr(engine, "build_center"):
        return center
    import warnings

    what = f"{str(center)!r}" if isinstance(center, (str, Path)) else f"a {type(center).__name__}"
    where = f" ({scenario.files[0]})" if getattr(scenario, "files", None) else ""
    warnings.warn(ScenarioCenterWarning(
        f"{what} from {given_as} is not used: the scenario {scenario.name!r}{where} declares its own center "
        f"(center:), which its server uses (as mockcti serve --scenario does); leave one of them out"),
        stacklevel=3)
    return None


def load_scenario_engine(path: str | Path, *, seed: int | None = None) -> Any:
    """Load a scenario file and build its engine (``mockcti.scenario.engine.ScenarioEngine``)."""
    try:
        from mockcti.scenario.engine import ScenarioEngine
    except ImportError as exc:
        raise RuntimeError(f"scenarios need mockcti.scenario.engine, which cannot be imported: {exc}") from exc
    from mockcti.scenario import load_scenario

    return ScenarioEngine(load_scenario(path), seed=seed)


def unmet(expectations: Iterable[Expectation | Mapping[str, Any]]) -> list[Any]:
    """The entries that failed (a step the flow never reached is not one: the step it stopped at is)."""
    return [e for e in expectations if outcome(e) == "unmet"]


def _get(e: Any, key: str) -> Any:
    return e.get(key) if isinstance(e, Mapping) else getattr(e, key, None)


def format_expectations(expectations: Iterable[Expectation | Mapping[str, Any]]) -> str:
    lines = []
    for e in expectations:
        result = outcome(e)
        mark = {"met": "ok  ", "unmet": "UNMET", "skipped": "skip "}[result]
        lines.append(f"  {mark} {_get(e, 'scenario')}: {_get(e, 'name')}"
                     + ("" if result == "met" or not _get(e, "detail") else f" - {_get(e, 'detail')}"))
        where = _get(e, "where") or (f"{_get(e, 'file')}:{_get(e, 'line')}" if _get(e, "line") is not None
                                     else _get(e, "file"))
        if result == "unmet" and where:
            lines.append(f"        at {where}")
        near = str(_get(e, "near_miss") or "")
        if result == "unmet" and near:
            lines.append(f"        {near if near.startswith('closest') else 'closest: ' + near}")
    return "\n".join(lines)


def _type_name(message_type: MessageType | str | int) -> str:
    if isinstance(message_type, MessageType):
        return message_type.name
    if isinstance(message_type, int):
        return MessageType(message_type).name
    name = str(message_type).upper()
    if name not in MessageType.__members__:
        import difflib

        close = [n for n in MessageType.__members__ if name.replace("_", "") in n.replace("_", "")][:5] \
            or difflib.get_close_matches(name, list(MessageType.__members__), n=5, cutoff=0.75)  # a typo
        raise ValueError(f"unknown message type {message_type!r}" + (f" (did you mean {', '.join(close)}?)"
                                                                       if close else ""))
    return name


def _check_fields(type_name: str, field_equals: Mapping[str, Any]) -> None:
    """ValueError for a ``field=value`` no message of ``type_name`` can match: a field the message does
    not have (a typo: ``agnt_id=``), or a name no value of the field's enumeration has
    (``agent_state="REDY"``). Either matched nothing, silently: ``count=0`` passed whatever was sent."""
    if not field_equals:
        return
    import dataclasses
    import difflib

    from mockcti.wire.render import field_enum
    from mockcti.wire.spec import MESSAGE_CLASSES

    mt = MessageType[type_name]
    cls = MESSAGE_CLASSES.get(mt)
    if cls is None:  # pragma: no cover - every message type the journal names has a class
        return
    known = [f.name for f in dataclasses.fields(cls) if f.name != "extra_fields"]
    for key, want in field_equals.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            raise ValueError(f"{type_name} has no field {key!r}"
                             + (f" (did you mean {', '.join(close)}?)" if close else "")
                             + f"; its fields: {', '.join(known)}")
        if isinstance(want, str) and _enum_value(type_name, key, want) is None:
            enum_cls: type[IntEnum] | type[IntFlag] | None = field_enum(mt, key)
            if enum_cls is not None:
                names = list(enum_cls.__members__)
                close = difflib.get_close_matches(want.upper(), names, n=3, cutoff=0.6)
                raise ValueError(f"{type_name}.{key}: {want!r} is no {enum_cls.__name__} name"
                                 + (f" (did you mean {', '.join(close)}?)" if close else "")
                                 + f"; give a number, a name or a name's end: {', '.join(names)}")


def _field_matches(message: Mapping[str, Any], key: str, want: Any) -> bool:
    fields = message.get("fields", {})
    if key not in fields:
        return want is None
    have = fields[key]
    if isinstance(want, str) and key in message.get("names", {}):
        value = _enum_value(message.get("type"), key, want)
        return value is not None and have == value
    if isinstance(want, bytes):
        return have == want.hex()
    if isinstance(want, (list, tuple)) and isinstance(have, list):
        return list(want) == have
    if isinstance(want, int) and not isinstance(want, bool):
        return have == int(want)
    return have == want


def _enum_value(type_name: Any, key: str, want: str) -> int | None:
    """``"READY"`` or ``"AGENT_STATE_READY"`` -> the number, for the enumeration of ``key``."""
    from mockcti.wire.render import field_enum

    mt = MessageType.__members__.get(str(type_name))
    enum_cls: type[IntEnum] | type[IntFlag] | None = field_enum(mt, key)
    if enum_cls is None:
        return None
    members = enum_cls.__members__
    name = want.upper()
    if name in members:
        return int(members[name])
    # the name's end: the shortest member ending so ("READY" is AGENT_STATE_READY, not ..._NOT_READY)
    ends = sorted((m for m in members if m.endswith("_" + name)), key=len)
    return int(members[ends[0]]) if ends else None


def _fmt_value(key: str, value: Any, names: Mapping[str, str], message_type: Any = None) -> str:
    if key in names:
        return names[key]
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):  # a group: as mockcti serve's trace
        from mockcti.wire.render import group_text

        return group_text(MessageType.__members__.get(str(message_type)), value)
    return str(value)


def format_message_dict(message: Mapping[str, Any], *, only: Iterable[str] | None = None) -> str:
    """``HOLD_CALL_REQ invoke_id=7 call_id=16777217 connection_device_id='3001'`` from a journal dict."""
    fields = message.get("fields", {})
    names = message.get("names", {})
    keys = list(fields) if only is None else [k for k in only if k in fields]
    parts = [str(message.get("type"))]
    for k in keys:
        text = _fmt_value(k, fields[k], names, message.get("type"))
        if len(text) > 60:
            text = text[:57] + "..."
        parts.append(f"{k}={text}")
    return " ".join(parts)


def format_entry(entry: Entry) -> str:
    """One journal entry as a line, as the assertions list messages: ``  0.012 s1   <- SET_AGENT_STATE_REQ …``
    (``->`` a message the server sent, ``!!`` a violation with its rule, ``**`` a happening or fault, ``--`` a
    connection opened or closed)."""
    d = entry.data
    head = f"{entry.t:9.3f} s{entry.session if entry.session is not None else '-':<4}"
    if entry.kind in ("in", "out"):
        message = d.get("message")
        if message is None and entry.raw is not None:
            from mockcti.wire.render import message_to_dict

            message = message_to_dict(entry.raw, icm=entry.icm)
        arrow = "<-" if entry.kind == "in" else "->"
        if message is None:
            return f"{head} {arrow} (message not kept)"
        from mockcti.wire.render import reserved_defaults

        # as the trace of mockcti serve: a reserved field that carries the value UCCX sends is left out
        mt = MessageType.__members__.get(str(message.get("type")))
        defaults = {} if mt is None else reserved_defaults(mt)
        fields = message.get("fields", {})
        shown = [k for k in fields if not (k in defaults and fields[k] == defaults[k])]
        return f"{head} {arrow} {format_message_dict(message, only=shown)}"
    if entry.kind == "violation":
        return f"{head} !! {violation_text(d)}"
    mark = "--" if entry.kind in ("connect", "close") else "**"
    rest = data_text(d)  # a key with no value left out, as in mockcti serve's trace
    return f"{head} {mark} {entry.kind} {rest}".rstrip()


def _check_rules(rule_ids: Iterable[Any]) -> None:
    """ValueError for a rule id no check has (``PROTO-OPEN-FRST``): asserting no violation of it passed
    whatever the client did."""
    import difflib

    from mockcti.report import rule_catalog, rule_info

    catalog = rule_catalog()
    for rule in sorted(rule_ids, key=str):
        if not isinstance(rule, str) or rule_info(rule, catalog)["family"] == "other":
            close = difflib.get_close_matches(str(rule), list(catalog), n=3, cutoff=0.6)
            raise ValueError(f"unknown rule {rule!r}" + (f" (did you mean {', '.join(close)}?)" if close else "")
                             + "; mockcti.report.rule_catalog() lists them")


#: loop turns in a row with nothing new read or recorded after which :meth:`ThreadedServer.settle` stops
#: (a read that fills ServerConfig.fair_read_bytes makes its connection wait one turn: one quiet turn
#: is no proof); and the most it takes
SETTLE_QUIET_TURNS = 3
SETTLE_MAX_TURNS = 200


def _activity(hub: Hub, now: float) -> tuple[int, int, int, int]:
    """What changes when the server takes something in: journal entries, messages counted, connections."""
    j = hub.journal
    return j._seq, j._uncounted_in, j._uncounted_out, len(hub.conns)


def _check_agent(hub: Hub, agent_id: Any) -> None:
    """KeyError naming the known agents for an unknown one; TypeError for an ID that is no text (1001
    read "unknown agent 1001; known: ['1001', ...]")."""
    if not isinstance(agent_id, str):
        raise TypeError(f"an agent ID is text, not {type(agent_id).__name__} {agent_id!r}")
    if agent_id not in hub.center.agents:
        raise KeyError(f"unknown agent {agent_id!r}{hub.center.agent_hint(agent_id)}; known: {sorted(hub.center.agents)}")


class ServerHelpers:
    """Journal assertions and contact-center actions shared by both server handles.

    Subclasses provide ``call(fn)`` (run ``fn(hub, now)`` on the server's thread), ``server``
    and ``engine``.
    """

    server: MockServer | None
    engine: Any
    seed: int | None
    expectations: list[Any]
    host: str
    port: int

    if TYPE_CHECKING:  # a property of each subclass
        @property
        def journal(self) -> Journal: ...

    def call(self, fn: Callable[[Hub, float], Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_may_block(self) -> None:
        """A blocking wait in the loop the server serves in stops the server too: a usage error."""
        loop = getattr(self.server, "_loop", None) if self.server is not None else None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs in this thread: waiting blocks nothing of the server's
            return
        if loop is running:
            raise RuntimeError("wait_received/wait_until block the event loop the mock server serves in, so "
                               "nothing a client sends could be read meanwhile; in an async test with "
                               "cti_async_server await what the client gets back (its confirmation or event), "
                               "then assert_received; or use cti_server, which serves on a thread of its own")

    # -- reading the journal --------------------------------------------------------------------

    def events(self, kind: str | None = None, *, session: int | None = None) -> list[Entry]:
        """Journal entries of ``kind`` ("in", "out", "violation", "happening", "fault", "connect",
        "close", "rejected", "scenario", "note"; None = all), optionally of one session."""
        if kind is not None:
            from mockcti.journal import ENTRY_KINDS

            if kind not in ENTRY_KINDS:
                raise ValueError(f"unknown journal entry kind {kind!r}; known: {sorted(ENTRY_KINDS)}")
        return self.call(lambda hub, now: hub.journal.entries(kind=kind, session=session))

    def _session_unknown(self, session: int | None) -> str | None:
        """None when ``session`` is None or the journal has recorded it; else why an assertion about it
        cannot hold, naming the sessions there are: a typo (``session=99``) made assert_no_violations and a
        ``count=0`` pass for a session that never existed."""
        if session is None:
            return None
        from mockcti.journal import session_id

        session = session_id(session)
        known = self.call(lambda hub, now: None if hub.journal.has_session(session) else sorted(hub.journal.sessions))
        if known is None:
            return None
        if not known:
            return f"session {session} never connected: no session has connected yet"
        listed = ", ".join(map(str, known)) if len(known) <= 10 else \
            f"{', '.join(map(str, known[:5]))} ... {', '.join(map(str, known[-3:]))} ({len(known)} in all)"
        return f"session {session} never connected: the sessions so far are {listed}"

    def received(self, message_type: MessageType | str | int | None = None, *,
                 session: int | None = None) -> list[dict[str, Any]]:
        """Messages the server received from clients (journal dicts: type, fields, names)."""
        return [e.data["message"] for e in self._messages("in", message_type, session)]

    def sent(self, message_type: MessageType | str | int | None = None, *,
             session: int | None = None) -> list[dict[str, Any]]:
        """Messages the server sent to clients (journal dicts: type, fields, names)."""
        return [e.data["message"] for e in self._messages("out", message_type, session)]

    def _messages(self, direction: str, message_type: Any, session: int | None) -> list[Entry]:
        name = None if message_type is None else _type_name(message_type)
        return [e for e in self.events(direction, session=session)
                if "message" in e.data and (name is None or e.data["message"].get("type") == name)]

    def report(self, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON summary of the run so far (:func:`mockcti.report.build_summary`); scenario
        expectations appear once they have been verified (at teardown, or by :meth:`verify`)."""
        exps = list(self.expectations)
        return self.call(lambda hub, now: build_summary(hub.journal, expectations=exps, seed=self.seed, extra=extra))

    def verify(self) -> list[Any]:
        """Ask the scenario engine which expectations are met now (empty without a scenario)."""
        engine = self.engine
        if engine is None:
            return []
        self.expectations = list(self.call(lambda hub, now: engine.verify(now)) or [])
        return self.expectations

    # -- assertions ---------------------------------------------------------------------------------

    def assert_received(self, message_type: MessageType | str | int, *, count: int | None = None,
                        session: int | None = None, **field_equals: Any) -> list[dict[str, Any]]:
        """Assert the server received ``message_type`` (at least once, or exactly ``count`` times)
        from any session (or ``session``) with every ``field=value`` given. Enumerated fields may
        be given by number, by name (``agent_state="AGENT_STATE_READY"``) or by the name's end
        (``agent_state="READY"``). Returns the matching messages."""
        return self._assert_messages("in", "received", message_type, count, session, field_equals)

    def assert_sent(self, message_type: MessageType | str | int, *, count: int | None = None,
                    session: int | None = None, **field_equals: Any) -> list[dict[str, Any]]:
        """Like :meth:`assert_received`, for what the server sent to clients."""
        return self._assert_messages("out", "sent", message_type, count, session, field_equals)

    def _assert_messages(self, direction: str, verb: str, message_type: Any, count: int | None,
                         session: int | None, field_equals: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = _type_name(message_type)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise ValueError(f"count must be a whole number >= 0 (or None: at least once), not {count!r}")
        _check_fields(name, field_equals)
        everything = [e for e in self.events(direction, session=session) if "message" in e.data]
        same_type = [e for e in everything if e.data["message"].get("type") == name]
        matching = [e for e in same_type
                    if all(_field_matches(e.data["message"], k, v) for k, v in field_equals.items())]
        ok = len(matching) >= 1 if count is None else len(matching) == count
        unknown = self._session_unknown(session) if not everything else None
        if ok and unknown is None:
            return [e.data["message"] for e in matching]
        want = name
        if field_equals:
            want += " with " + ", ".join(f"{k}={v!r}" for k, v in field_equals.items())
        how = "at least once" if count is None else f"exactly {count} time(s)"
        where = "from any session" if session is None else f"from session {session}"
        if direction == "out":
            where = where.replace("from", "to")
        lines = [f"expected the server to have {verb} {want} {how} {where}; found {len(matching)} matching"]
        if unknown is not None:
            lines.append(unknown)
        if same_type and field_equals and len(matching) != len(same_type):
            lines.append(f"{len(same_type)} {name} {verb} with other field values:")
            for e in same_type[:_MAX_LISTED]:
                if e not in matching:
                    lines.append(f"  session {e.session} t={e.t:.3f}: "
                                 + format_message_dict(e.data["message"], only=list(field_equals)))
        lines.append(f"{verb} ({len(everything)} message(s)):" if everything else f"nothing was {verb}")
        for e in everything[:_MAX_LISTED]:
            lines.append(f"  session {e.session} t={e.t:.3f}: {format_message_dict(e.data['message'])}")
        if len(everything) > _MAX_LISTED:
            lines.append(f"  ... and {len(everything) - _MAX_LISTED} more")
        raise AssertionError("\n".join(lines))

    def assert_no_violations(self, *, rules: Iterable[str] | str | None = None,
                             session: int | None = None) -> None:
        """Assert no client broke a protocol-conduct or ACD rule (only ``rules``, when given)."""
        wanted = {rules} if isinstance(rules, str) else (set(rules) if rules is not None else None)
        if wanted:
            _check_rules(wanted)
        found = [e for e in self.events("violation", session=session)
                 if wanted is None or e.data.get("rule") in wanted]
        if not found:
            unknown = self._session_unknown(session)
            if unknown is not None:  # (it passed: no violation of a session that does not exist)
                raise AssertionError(f"assert_no_violations(session={session}) checks nothing: {unknown}")
            return
        which = "" if wanted is None else f" of rule(s) {', '.join(sorted(wanted))}"
        lines = [f"{len(found)} violation(s){which} by the client(s):"]
        for e in found[:_MAX_LISTED]:
            d = e.data
            req = f", request {d['request']}" if d.get("request") else ""
            code = f" [code {d['code']} {d.get('code_name', '')}]" if d.get("code") is not None else ""
            lines.append(f"  - {d.get('rule', '?')} (session {e.session}, t={e.t:.3f}{req}): "
                         f"{d.get('detail', '')}{code}")
            if d.get("explanation"):
                lines.append(f"      {d['explanation']}")
        if len(found) > _MAX_LISTED:
            lines.append(f"  ... and {len(found) - _MAX_LISTED} more")
        raise AssertionError("\n".join(lines))

    def assert_expectations_met(self) -> None:
        """Verify the scenario's expectations now and fail with the unmet ones (and near misses)."""
        exps = self.verify()
        bad = unmet(exps)
        if bad:
            raise AssertionError(f"{len(bad)} scenario expectation(s) unmet:\n{format_expectations(exps)}")

    # -- waiting (for synchronous clients whose last message may still be in flight) ----------------

    def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.01) -> Any:
        """Poll ``predicate()`` (on the calling thread) until it is truthy; return its value.
        Raises AssertionError after ``timeout`` seconds. Called in the event loop the server serves
        in (an :class:`AsyncServer`, ``cti_async_server``, from its async test) it is a RuntimeError at
        once: the wait would block that loop, so nothing the client sent could arrive meanwhile (it
        failed after the timeout, "nothing was received", whatever the client had sent)."""
        self._check_may_block()
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(interval)

    def wait_received(self, message_type: MessageType | str | int, *, timeout: float = 5.0,
                      session: int | None = None, **field_equals: Any) -> list[dict[str, Any]]:
        """:meth:`assert_received`, retried until it passes or ``timeout`` runs out (not in the server's
        own event loop: see :meth:`wait_until`)."""
        self._check_may_block()
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.assert_received(message_type, session=session, **field_equals)
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.01)

    # -- the contact center -------------------------------------------------------------------------

    def deliver_call(self, agent: str | None = None, csq: str | None = None, ani: str = "0600000000", *,
                     dnis: str = "7000", variables: Mapping[str, str] | None = None,
                     named_variables: Mapping[str, str] | None = None,
                     named_arrays: Mapping[str, Sequence[str | None]] | None = None) -> CallID:
        """A caller arrives: to ``agent`` directly, or through ``csq`` to its longest-ready agent
        (queued when nobody is ready). Returns the CallID (a :class:`CallID`, an int whose ``hint`` says why a
        queued call has no one to ring: no agent of the CSQ logged in, or none in it). ``named_variables`` ({name: value}) and
        ``named_arrays`` ({name: [value, ...]}, None for an index left unset) are its ECC data; data no
        call event can carry is a ValueError naming the field, before any call exists, and so is an ``agent``
        logged out or whose phone is busy (:class:`mockcti.center.core.CallNotOffered`: its line takes one
        call, MaxActiveCalls 1; a held call aside)."""

        def go(hub: Hub, now: float) -> CallID:
            if agent is not None:
                _check_agent(hub, agent)
            if csq is not None and hub.center.config.csq(csq) is None:
                raise KeyError(f"unknown CSQ {csq!r}; known: {[c.name for c in hub.center.config.csqs]}")
            call_id, deliveries = hub.center.deliver_call(now, csq=csq, agent_id=agent, ani=ani, dnis=dnis,
                                                          variables=variables,
                                                          named_variables=named_variables, named_arrays=named_arrays)
            hint = hub.center.queue_hint(call_id)
            hub.journal.record("happening", now, None, what="test call", call_id=call_id, csq=csq, agent=agent,
                               ani=ani, **({} if hint is None else {"hint": hint}))
            hub.deliver(deliveries)
            return CallID(call_id, hint)

        return self.call(go)

    def hang_up(self, call_id: int, device: str | None = None) -> None:
        """A party of the call hangs up by itself: the caller when ``device`` is None, else the
        party at ``device`` (an external number, an agent's phone). KeyError for an unknown call
        or a device that is not on it."""

        def go(hub: Hub, now: float) -> None:
            deliveries = hub.center.hang_up(now, call_id, device)
            hub.journal.record("happening", now, None, what="test hang-up", call_id=call_id, device=device)
            hub.deliver(deliveries)

        self.call(go)

    def set_agent_state(self, agent_id: str, state: AgentState | int | str, reason: int = 0) -> str:
        """A supervisor changes an agent's state (``"READY"``, ``"AGENT_STATE_READY"``, an
        :class:`AgentState` or its number): LOGIN, LOGOUT, NOT_READY, READY, WORK or WORK_READY
        (ValueError otherwise, for LOGOUT of an agent on a call or of one logged out, for another state than LOGIN or
        LOGOUT of one logged out, and for a change the agent's own request is refused, e.g. WORK -> WORK_READY,
        :data:`mockcti.center.core.SUPERVISOR_ENTER_FROM`; READY, NOT_READY, WORK and
        WORK_READY asked during a call are taken when it ends). ``reason`` is the event's reason code,
        0..65535 (ValueError otherwise). Returns the agent's state name afterwards."""
        from mockcti.center.core import SETTABLE_AGENT_STATES

        settable = [s.name.removeprefix("AGENT_STATE_") for s in SETTABLE_AGENT_STATES]
        if isinstance(state, str):
            key = state.upper()
            key = key if key.startswith("AGENT_STATE_") else "AGENT_STATE_" + key
            if key not in AgentState.__members__:
                raise ValueError(f"unknown agent state {state!r}; settable: {settable}")
            state = AgentState[key]
        if AgentState(state) not in SETTABLE_AGENT_STATES:
            raise ValueError(f"{AgentState(state).name} is set by the center as calls come and go; settable: {settable}")

        def go(hub: Hub, now: float) -> str:
            _check_agent(hub, agent_id)
            deliveries = hub.center.set_agent_state(now, agent_id, state, reason)  # ValueError: nothing changed
            hub.journal.record("happening", now, None, what="test agent state", agent=agent_id,
                               state=AgentState(state).name)
            hub.deliver(deliveries)
            return hub.center.agents[agent_id].state.name

        return self.call(go)

    def agent_state(self, agent_id: str) -> str:
        """The agent's state name in the simulated center (``"AGENT_STATE_READY"``); KeyError naming the
        known agents for an unknown one, as :meth:`set_agent_state` and :meth:`deliver_call` do."""

        def go(hub: Hub, now: float) -> str:
            _check_agent(hub, agent_id)
            return hub.center.agents[agent_id].state.name

        return self.call(go)


def _make_server(center: Any, host: str, port: int, profile: Any, hub_config: HubConfig | None, engine: Any,
                 journal: Journal | None, server_config: ServerConfig | None) -> MockServer:
    center = scenario_center_wins(center, engine)
    if engine is not None and center is None and hasattr(engine, "build_center"):
        center = engine.build_center()
    if engine is not None and hub_config is None and hasattr(engine, "hub_config"):
        # the scenario's settings (its retry_loop:) and dialect, profile and version range; a profile= given
        # replaces the dialect only (it made a plain HubConfig, and the scenario's retry_loop: was lost)
        given = hub_config_for(profile)
        hub_config = engine.hub_config() if given is None else engine.hub_config(given.session.profile)
    else:
        hub_config = hub_config_for(profile, hub_config)
    if server_config is None:
        config = ServerConfig(host=host, port=port, shutdown_grace=DEFAULT_SHUTDOWN_GRACE)
    else:
        # the handle's host and port decide (127.0.0.1, a free port): a server_config given for its limits
        # bound ServerConfig's default port, 42027 (a second such server: "address already in use")
        import dataclasses

        default = ServerConfig()
        for name, mine in (("host", host), ("port", port)):
            theirs = getattr(server_config, name)
            if theirs != getattr(default, name) and theirs != mine:
                raise ValueError(f"server_config.{name} is {theirs!r}, the server's {name} {mine!r}: the handle's "
                                 f"host and port decide; pass {name}={theirs!r}")
        config = dataclasses.replace(server_config, host=host, port=port)
    return MockServer(_center(center), config=config, hub_config=hub_config, journal=journal, engine=engine)


class ThreadedServer(ServerHelpers):
    """A MockServer on its own thread and event loop.

    ``start()`` returns once it listens; ``host``/``port`` tell where. ``call(fn)`` runs
    ``fn(hub, now)`` on the server's thread and returns its result (exceptions propagate).
    ``stop()`` shuts it down gracefully and joins the thread. Also a context manager.
    """

    def __init__(self, center: ContactCenter | CenterConfig | Mapping[str, Any] | str | Path | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, profile: str | None = None,
                 hub_config: HubConfig | None = None, engine: Any = None, journal: Journal | None = None,
                 server_config: ServerConfig | None = None, seed: int | None = None,
                 start_timeout: float = 10.0, call_timeout: float = 10.0) -> None:
        hub_config_for(profile, hub_config)  # a wrong profile or hub_config is an error here, not at start()
        self._args = (center, host, port, profile, hub_config, engine, journal, server_config)
        self.engine = engine
        self.seed = seed
        self.expectations: list[Any] = []
        self.server: MockServer | None = None
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._lock = threading.Lock()
        self.host = host
        self.port = port

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> "ThreadedServer":
        if self._thread is not None:
            raise RuntimeError("ThreadedServer already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._thread_id = threading.get_ident()
            asyncio.set_event_loop(loop)
            try:
                try:
                    self.server = _make_server(*self._args)
                    loop.run_until_complete(self.server.start())
                except BaseException as exc:  # reported by start()
                    failure.append(exc)
                    return
                finally:
                    ready.set()
                loop.run_forever()
            finally:
                try:
                    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                    for t in pending:
                        t.cancel()
                    if pending:
                        loop.run_until_complete(asyncio.wait(pending, timeout=2))
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    asyncio.set_event_loop(None)
                    loop.close()

        self._thread = threading.Thread(target=run, name="mockcti-server", daemon=True)
        self._thread.start()
        if not ready.wait(self.start_timeout):
            raise RuntimeError(f"mock CTI server did not start within {self.start_timeout} s")
        if failure:
            self._thread.join(self.start_timeout)
            self._thread = None
            self.server = None  # never served: no journal, no report (the factory wrote a passing one)
            raise failure[0]
        assert self.server is not None
        self.host, self.port = self.server.host, self.server.port
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SYSTEM_EVENT to open sessions), then end the thread. Idempotent."""
        with self._lock:
            thread, loop, server = self._thread, self._loop, self.server
            if thread is None or loop is None or not thread.is_alive():
                return
            try:
                if server is not None:
                    stopping = server.stop()
                    try:
                        done = asyncio.run_coroutine_threadsafe(stopping, loop)
                    except BaseException:  # (a Ctrl-C before it was handed over: no "never awaited" warning)
                        stopping.close()
                        raise
                    done.result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.server is not None \
            and self.server._server is not None

    def settle(self) -> None:
        """Let the server take in what has already reached it: turns of its loop until a few in a row
        read and record nothing (at most :data:`SETTLE_MAX_TURNS`). The fixtures do it before they verify
        a scenario: a client that sent its last request and closed its socket (a blocking client
        returns from ``sendall`` at once) had it checked before the server had read it — the
        expectation was unmet one run in four. Every read of the journal from another thread
        (:meth:`events`, the assertions, :meth:`report`) settles first."""
        if not self.running or threading.get_ident() == self._thread_id:
            return
        last, quiet = None, 0
        for _ in range(SETTLE_MAX_TURNS):
            seen = self.call(_activity)
            quiet = quiet + 1 if seen == last else 0
            if quiet >= SETTLE_QUIET_TURNS:
                return
            last = seen

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThreadedServer {host_port(self.host, self.port)} {'running' if self.running else 'stopped'}>"

    # -- access -------------------------------------------------------------------------------------

    def events(self, kind: str | None = None, *, session: int | None = None) -> list[Entry]:
        # what reached the server is read first: assert_no_violations() just after a blocking client
        # left without CLOSE_REQ passed four times in five (its PROTO-NO-CLOSE not recorded yet)
        self.settle()
        return super().events(kind, session=session)

    def report(self, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.settle()
        return super().report(extra=extra)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def journal(self) -> Journal:
        """The live journal. It is written on the server's thread: read it through the helpers
        (``events``, ``received``, ``report`` ...) or ``call``, which run there."""
        assert self.server is not None, "server not started"
        return self.server.journal

    @property
    def hub(self) -> Hub:
        assert self.server is not None, "server not started"
        return self.server.hub

    def call(self, fn: Callable[[Hub, float], Any], timeout: float | None = None) -> Any:
        """Run ``fn(hub, now)`` on the server's thread, carry out what it queued, return its result."""
        server, loop = self.server, self._loop
        if server is None or loop is None:
            raise RuntimeError("server not started")
        if threading.get_ident() == self._thread_id:
            return server.call(fn)
        if loop.is_closed() or not (self._thread and self._thread.is_alive()):
            return fn(server.hub, server.now())  # stopped: nothing runs there any more, read directly
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(server.call(fn))
            except BaseException as exc:
                fut.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return fut.result(self.call_timeout if timeout is None else timeout)


class AsyncServer(ServerHelpers):
    """A MockServer in the running event loop: ``await AsyncServer(...).start()``."""

    server: MockServer  # (made by __init__, never None)

    def __init__(self, center: ContactCenter | CenterConfig | Mapping[str, Any] | str | Path | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, profile: str | None = None,
                 hub_config: HubConfig | None = None, engine: Any = None, journal: Journal | None = None,
                 server_config: ServerConfig | None = None, seed: int | None = None) -> None:
        self.engine = engine
        self.seed = seed
        self.expectations: list[Any] = []
        self.server = _make_server(center, host, port, profile, hub_config, engine, journal, server_config)
        self.host = host
        self.port = port

    async def start(self) -> "AsyncServer":
        await self.server.start()
        self.host, self.port = self.server.host, self.server.port
        return self

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> "AsyncServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def journal(self) -> Journal:
        return self.server.journal

    @property
    def hub(self) -> Hub:
        return self.server.hub

    def call(self, fn: Callable[[Hub, float], Any]) -> Any:
        """Run ``fn(hub, now)`` and carry out what it queued; once the loop the server ran in has closed (the
        test's, after it), nothing runs there any more: ``fn`` reads the hub directly, as a stopped
        :class:`ThreadedServer`'s does (carrying out re-armed the hub's timer: "Event loop is closed", so
        ``events()``, the assertions and ``report()`` failed after the test for a server with a scenario)."""
        loop = self.server._loop
        if loop is not None and loop.is_closed():
            return fn(self.server.hub, self.server.now())
        return self.server.call(fn)
