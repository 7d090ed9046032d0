"""Fuzzing CTI clients: generated event sequences and malformed frames against a live client.

A *case* (:class:`FuzzCase`) is a short list of items, each a legal call flow as one agent's desktop
or, with ``view="bridge"``, a bridge session sees it (:func:`~mockcti.testing.strategies.event_sequences`,
encoded for the client's dialect) or a
malformed frame (:func:`~mockcti.testing.strategies.malformed_frames`, raw bytes labelled with
its defect), optionally delivered in small pieces (``chunk`` bytes at a time). The fuzzer
serves a :class:`~mockcti.testing.fixtures.ThreadedServer`, lets the client under test open a
session, injects each case into that session and watches the client for a window:

- the client must keep running (a subprocess that exits, an in-process client that returns or
  raises, fails the case);
- no protocol-conduct violation (``PROTO-*``, :data:`mockcti.session.RULES`) may appear: heartbeat
  cadence, malformed or unknown requests, unknown call IDs, ...
  (``PROTO-NO-CLOSE`` is excused after a malformed frame: resetting is what the guide asks);
- messages must keep coming: silence longer than half the session's IdleTimeout fails
  (reference §3.4);
- the connection stays up; after a malformed frame the client may reset it (reference §3.1),
  but must then reconnect and open a session again within ``reconnect_timeout`` seconds.

ACD-rule violations are not checked: the center's state is not that of the injected events.

The search runs as a Hypothesis test (seeded by ``seed``, ``max_examples=count``, no example
database), so a failing case is shrunk to a small one, and the same seed generates the same
cases. Every case is run at most once: outcomes are cached by case, which keeps shrinking
consistent against a live, slightly nondeterministic client; the case reported is run once more at the end, and
when it passes then the result names the client flaky (``FuzzResult.flaky``). The run stops starting new work
after ``time_budget`` seconds (the shrinking too) and ends at the latest a few seconds later.

Two kinds of client::

    # a live client: a shell command, started with CTI_HOST/CTI_PORT in its environment
    result = fuzz_client("python my_client.py", seed=1, count=50, time_budget=60)

    # an in-process Python client: an async callable client(host, port, stop_event) that runs
    # until stop_event is set (it runs in an event loop on a thread of its own)
    result = fuzz_client(client=my_async_client, seed=1, count=20, window=0.3)

    if not result.passed:
        print(result.failure.case.describe(), result.replay_command)
        result.failure.case.save("failure.json")    # replay_case(load_case(...), ...) runs it again
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockcti.wire import Message

__all__ = [
    "CaseItem", "CaseFileError", "CASE_FORMAT", "FuzzCase", "FuzzFailure", "FuzzResult", "cases", "fuzz_client", "replay_case", "load_case",
    "EXIT_CODES", "InProcessClient", "TAGGED_EVENT", "fuzz_defects",
]

EXIT_CODES = {
    0: "no failure found",
    1: "a failing case was found (or the replayed case failed)",
    2: "bad usage",
    3: "the client could not start (no session opened)",
}

#: an in-process client: ``await client(host, port, stop_event)`` runs until stop_event is set
InProcessClient = Callable[[str, int, asyncio.Event], Awaitable[Any]]

_POLL = 0.02
_DRIBBLE_INTERVAL = 0.002  # seconds between pieces of a chunked item
_MAX_PIECES = 64  # a chunked item is cut into at most this many pieces
_SETTLE = 0.1  # seconds between the end of one case's delivery and the next case
_GRACE = 2.0  # seconds a case may overrun the time budget while it finishes waiting


# -- cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseItem:
    """One thing sent to the client: a legal event sequence or one malformed frame.

    ``frames`` are hex strings: one encoded message each for ``"events"``, the raw bytes for
    ``"malformed"``. ``types`` names the messages (events) or is empty; ``defect`` labels a
    malformed frame. ``chunk``: deliver the item's bytes ``chunk`` bytes at a time.
    """

    kind: str
    frames: tuple[str, ...]
    types: tuple[str, ...] = ()
    defect: str | None = None
    closes_connection: bool = False
    chunk: int | None = None

    def data(self) -> bytes:
        return b"".join(bytes.fromhex(f) for f in self.frames)

    def describe(self, dialect: Any = None, *, decoded: bool = False) -> str:
        """One line; with the case's ``dialect``, an event carrying an undefined floating tag is named
        with its tag (the events of such an item are listed, not dumped as hex); ``decoded`` (with the
        dialect) adds each event decoded, one line each, its fields as ``mockcti decode`` prints them."""
        line = self._line(dialect)
        if not decoded or dialect is None or not self.types or len(self.types) != len(self.frames):
            return line
        from mockcti.wire import DecodeError, decode_bytes
        from mockcti.wire.render import format_message

        out = [line]
        for name, frame in zip(self.types, self.frames):
            try:
                out.append("     " + format_message(decode_bytes(bytes.fromhex(frame), dialect), icm=dialect.profile.icm))
            except DecodeError as exc:
                out.append(f"     {name} (undecodable: {exc})")
        return "\n".join(out)

    def _line(self, dialect: Any) -> str:
        how = "" if self.chunk is None else f" (delivered {self.chunk} byte(s) at a time)"
        if self.kind == "malformed" and self.types and len(self.types) == len(self.frames):
            names = [self._tagged(t, f, dialect) for t, f in zip(self.types, self.frames)]
            return f"{len(self.types)} event(s), {self.defect}{how}: " + ", ".join(names)
        if self.kind == "malformed":
            data = self.data()
            hexed = data.hex(" ") if len(data) <= 48 else data[:48].hex(" ") + f" ... ({len(data)} bytes)"
            return f"malformed frame [{self.defect}]{how}: {hexed}"
        return f"{len(self.types)} event(s){how}: " + ", ".join(self.types)

    @staticmethod
    def _tagged(name: str, frame: str, dialect: Any) -> str:
        """``name``, plus the floating fields the event carries that its type does not define."""
        if dialect is None:
            return name
        from mockcti.wire import DecodeError, decode_bytes

        try:
            extra = decode_bytes(bytes.fromhex(frame), dialect).extra_fields
        except DecodeError:
            return f"{name} (undecodable)"
        if not extra:
            return name
        return f"{name} [+ " + ", ".join(f"undefined tag {tag} ({len(value)} byte(s))" for tag, value in extra) + "]"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "frames": list(self.frames)}
        if self.types:
            d["types"] = list(self.types)
        if self.defect is not None:
            d["defect"] = self.defect
            d["closes_connection"] = self.closes_connection
        if self.chunk is not None:
            d["chunk"] = self.chunk
        return d

    @classmethod
    def from_dict(cls, d: Any, where: tuple[Any, ...] = ()) -> "CaseItem":
        """The item ``d`` (a case file's ``items[i]``, ``where`` its path): :class:`CaseFileError` naming the key
        that is wrong."""
        if not isinstance(d, dict):
            raise CaseFileError(where, f"an item is an object with 'kind' and 'frames', not {_json_type(d)}")
        unknown = [k for k in d if k not in _ITEM_KEYS]
        if unknown:
            raise CaseFileError((*where, unknown[0]), f"not a key of a case item (they are {', '.join(_ITEM_KEYS)})")
        if d.get("kind") not in ("events", "malformed"):
            raise CaseFileError((*where, "kind"), f"item kind must be 'events' or 'malformed', not {d.get('kind')!r}")
        frames = d.get("frames")
        if not isinstance(frames, list) or not frames:
            raise CaseFileError((*where, "frames"), "an item's frames must be a non-empty list of hex strings")
        for j, f in enumerate(frames):
            if not isinstance(f, str):
                raise CaseFileError((*where, "frames", j), f"a frame is a hex string, not {_json_type(f)}")
            try:
                data = bytes.fromhex(f)
            except ValueError:
                raise CaseFileError((*where, "frames", j), f"frame {f[:40]!r} is not hex") from None
            if d["kind"] == "events" and (len(data) < 8 or int.from_bytes(data[:4], "big") != len(data) - 8):
                # events are decoded when replayed: check they are frames now
                raise CaseFileError((*where, "frames", j), f"event frame {f[:40]!r} is not one whole message "
                                                           f"(8-byte header + body)")
        types = d.get("types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise CaseFileError((*where, "types"), "an item's types are a list of message type names")
        chunk = d.get("chunk")
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            raise CaseFileError((*where, "chunk"), f"chunk must be a positive number of bytes, not {chunk!r}")
        defect = d.get("defect")
        if defect is not None and not isinstance(defect, str):
            raise CaseFileError((*where, "defect"), f"a defect is a label (text), not {_json_type(defect)}")
        closes = d.get("closes_connection", False)
        if not isinstance(closes, bool):
            raise CaseFileError((*where, "closes_connection"), f"true or false, not {closes!r}")
        return cls(kind=d["kind"], frames=tuple(frames), types=tuple(types), defect=defect, closes_connection=closes,
                   chunk=chunk)


#: the keys of a case file's item (:meth:`CaseItem.to_dict`)
_ITEM_KEYS = ("kind", "frames", "types", "defect", "closes_connection", "chunk")
#: the format a case file is written in (its ``"format"``); a file of another is another mockcti version's
CASE_FORMAT = "mockcti-fuzz-case/1"


class CaseFileError(ValueError):
    """A case (a file's data, :meth:`FuzzCase.from_dict`) that is wrong at ``path`` (its keys and indexes, as
    ``items[1].frames[3]``); :func:`load_case` re-raises it as a :class:`mockcti.located.ReadError` naming the file
    and the line too."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        from mockcti.located import fmt_path

        self.path, self.message = tuple(path), message
        super().__init__(f"{fmt_path(self.path)}: {message}" if self.path else message)


def _json_type(v: Any) -> str:
    from mockcti.located import type_name

    return type_name(v, json=True)


#: the views a case's event sequences may be generated for (``mockcti.testing.strategies.VIEWS``; spelt out
#: here so a case file loads without Hypothesis)
_VIEWS = ("agent", "bridge")


@dataclass(frozen=True)
class FuzzCase:
    """What one fuzz case sends, in order, the dialect its events were encoded with and the view they
    were generated for (``"agent"``: an agent desktop's events, given the session's own agent when sent;
    ``"bridge"``: a bridge-mode session's, sent unchanged to a client that must open in bridge mode)."""

    items: tuple[CaseItem, ...]
    profile: str = "uccx"
    version: int = 18
    v18_length_width: int = 2
    view: str = "agent"

    @property
    def dialect(self) -> Any:
        from mockcti.wire import Dialect
        from mockcti.wire.dialect import PROFILES

        return Dialect(profile=PROFILES[self.profile], version=self.version, v18_length_width=self.v18_length_width)

    @property
    def has_malformed(self) -> bool:
        return any(i.kind == "malformed" for i in self.items)

    @property
    def size(self) -> tuple[int, int]:
        """(messages and frames, bytes): smaller is simpler."""
        return sum(len(i.frames) for i in self.items), sum(len(f) // 2 for i in self.items for f in i.frames)

    def describe(self, *, decoded: bool = False) -> str:
        """One line per item; ``decoded``: each event decoded on a line of its own below its item (an agent
        view's events as generated, and a line saying so: the fuzzer sends them with the session's own agent
        ID and extension in place of the generated agent's, the one of the item's first AGENT_STATE_EVENT)."""
        dialect = self.dialect
        out = []
        for n, item in enumerate(self.items, 1):
            out.append(f"  {n}. {item.describe(dialect, decoded=decoded)}")
            agent = self._made_up_agent(item) if decoded and self.view == "agent" else None
            if agent is not None:
                out.append(f"     (sent with the session's own agent in place of agent ID {agent[0]!r}, "
                           f"extension {agent[1]!r})")
        return "\n".join(out)

    def _made_up_agent(self, item: CaseItem) -> tuple[str | None, str | None] | None:
        """(agent ID, extension) of the item's first AGENT_STATE_EVENT: the agent the fuzzer replaces."""
        from mockcti.wire import DecodeError, decode_bytes
        from mockcti.wire.messages import AgentStateEvent

        for name, frame in zip(item.types, item.frames):
            if name == "AGENT_STATE_EVENT":
                try:
                    ev = decode_bytes(bytes.fromhex(frame), self.dialect)
                except DecodeError:
                    return None
                if not isinstance(ev, AgentStateEvent):  # (a case file edited by hand: no agent to replace)
                    return None
                return ev.agent_id, ev.agent_extension
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"format": "mockcti-fuzz-case/1", "dialect": {"profile": self.profile, "version": self.version,
                                                             "v18_length_width": self.v18_length_width},
                "view": self.view, "items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, d: Any) -> "FuzzCase":
        """The case ``d`` (a case file's data): :class:`CaseFileError` (a ValueError) naming the key that is wrong,
        a file of another mockcti version's format (``"format"``) included; each event frame must decode in the
        case's dialect (it is decoded when the case is replayed)."""
        if not isinstance(d, dict) or "items" not in d:
            raise CaseFileError((), "not a mockcti fuzz case (no 'items')")
        fmt = d.get("format", CASE_FORMAT)  # (none: written by hand; every mockcti wrote one)
        if fmt != CASE_FORMAT:
            raise CaseFileError(("format",), f"{fmt!r} is not the case format this mockcti reads ({CASE_FORMAT!r}): "
                                             f"the file was written by another version of mockcti; replay it with that "
                                             f"version, or search again with this one")
        dia = d.get("dialect", {})
        from mockcti.wire import DecodeError, Dialect, decode_bytes
        from mockcti.wire.dialect import PROFILES

        if not isinstance(dia, dict):
            raise CaseFileError(("dialect",), f"unknown dialect {dia!r} (an object: profile, version, v18_length_width)")
        for k in dia:
            if k not in ("profile", "version", "v18_length_width"):
                raise CaseFileError(("dialect", k), "not a key of the dialect (profile, version, v18_length_width)")
        profile = dia.get("profile", "uccx")
        if profile not in PROFILES:
            raise CaseFileError(("dialect", "profile"), f"unknown dialect {dia!r}: profile is one of {list(PROFILES)}")
        prof = PROFILES[profile]
        version = dia.get("version", 18)
        if isinstance(version, bool) or not isinstance(version, int) or not prof.min_version <= version <= prof.max_version:
            raise CaseFileError(("dialect", "version"), f"the {profile} profile has versions {prof.min_version}.."
                                                        f"{prof.max_version}, not {version!r}")
        width = dia.get("v18_length_width", 2)
        if isinstance(width, bool) or width not in (1, 2):
            raise CaseFileError(("dialect", "v18_length_width"), f"1 or 2 (bytes), not {width!r}")
        if not isinstance(d["items"], list) or not d["items"]:
            raise CaseFileError(("items",), "'items' must be a non-empty list")
        view = d.get("view", "agent")  # a case saved before the view was recorded: an agent desktop's
        if view not in _VIEWS:
            raise CaseFileError(("view",), f"view must be one of {list(_VIEWS)}, not {view!r}")
        items = tuple(CaseItem.from_dict(i, ("items", n)) for n, i in enumerate(d["items"]))
        dialect = Dialect(profile=prof, version=version, v18_length_width=width)
        for n, item in enumerate(items):
            if item.kind != "events":
                continue
            for j, f in enumerate(item.frames):
                try:  # (``types`` are labels: a frame is described as what it decodes to, whatever they say)
                    decode_bytes(bytes.fromhex(f), dialect)
                except DecodeError as exc:
                    raise CaseFileError(("items", n, "frames", j), f"event frame {f[:40]!r} does not decode "
                                                                   f"({profile} v{version}): {exc}") from None
        return cls(items=items, profile=profile, version=version, v18_length_width=width, view=view)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def save(self, path: str | Path, **extra: Any) -> None:
        Path(path).write_text(json.dumps({**self.to_dict(), **extra}, indent=2) + "\n", encoding="utf-8")


def load_case(path: str | Path) -> FuzzCase:
    """Read a case written by :meth:`FuzzCase.save` (``mockcti fuzz --save``). A file that is not one (not JSON,
    another mockcti version's format, a key edited wrongly) is a :class:`mockcti.located.ReadError` (a
    ValueError): ``file:line: key.path: what is wrong``; OSError when it cannot be read."""
    from mockcti.located import ReadError, fmt_path

    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"not JSON: {exc.msg} (column {exc.colno})", file=str(path), line=exc.lineno) from None
    try:
        return FuzzCase.from_dict(data)
    except CaseFileError as exc:
        raise ReadError(exc.message, file=str(path), line=_line_of(text, str(path), exc.path),
                        key_path=fmt_path(exc.path)) from None


def _line_of(text: str, file: str, path: tuple[Any, ...]) -> int | None:
    """The line of ``path`` in the JSON ``text`` (read again as located data, JSON being YAML), None if unknown."""
    from mockcti.located import locate, parse

    try:
        root = parse(text, file, "yaml")
    except Exception:  # noqa: BLE001 - the line is a help; the error stands without it
        return None
    return locate(root, path, file)[1]


#: the defect of a legal event sequence in which one event carries a floating tag no message defines
#: (what a newer server may send): the client should skip the field; like a malformed frame, it may
#: instead reset the connection, but then must reopen its session (it must not die)
TAGGED_EVENT = "event with an undefined floating tag"


def fuzz_defects() -> dict[str, str]:
    """Every defect a fuzz case may carry, label -> what it is (``cases(defects=...)``, ``--defects``)."""
    from mockcti.testing.strategies import DEFECTS

    out = {name: f"malformed frame; a server answers {status.name} ({int(status)})" for name, status in DEFECTS.items()}
    out[TAGGED_EVENT] = "a legal event with a floating tag no message defines; a client should skip it"
    return out


def cases(*, dialect: Any = None, max_items: int = 3, max_calls: int = 2, malformed: bool = True,
          defects: Sequence[str] | None = None, chunking: bool = True, flows: Sequence[str] | None = None,
          view: str = "agent") -> Any:
    """Hypothesis strategy of :class:`FuzzCase` for ``dialect`` (default UCCX v18).

    ``defects`` selects among :func:`fuzz_defects` (default all): the malformed-frame defects of
    :data:`~mockcti.testing.strategies.DEFECTS` and :data:`TAGGED_EVENT`. ``flows`` selects the call
    flows of the event sequences (:data:`~mockcti.testing.strategies.FLOWS`, played through the
    contact center; default: the inbound ACD calls of ``event_sequences()``). ``view="bridge"`` (with
    ``flows`` only): the event sequences are what a bridge-mode session of that center is sent (every
    agent's events, CALL_QUEUED_EVENT, every phone's media), for a client that opens in bridge mode
    (:data:`~mockcti.testing.strategies.VIEWS`). Shrinks towards fewer
    items, event sequences rather than malformed frames, fewer calls and whole (unchunked) delivery.
    """
    from hypothesis import strategies as st

    from mockcti.testing.strategies import DEFECTS, event_sequences, malformed_frames, undefined_floating_fields
    from mockcti.wire import Dialect, encode

    d = dialect or Dialect.uccx(18)
    chunk = st.none() | st.integers(1, 64) if chunking else st.none()
    sequences = event_sequences(dialect=d, max_calls=max_calls, flows=flows, view=view)

    def events_item(pair: tuple[list, int | None]) -> CaseItem:
        msgs, c = pair
        return CaseItem("events", tuple(encode(m, d).hex() for m in msgs), tuple(m.TYPE.name for m in msgs),
                        chunk=c)

    def malformed_item(pair: tuple[Any, int | None]) -> CaseItem:
        fr, c = pair
        return CaseItem("malformed", (fr.data.hex(),), defect=fr.defect, closes_connection=fr.closes_connection,
                        chunk=c)

    def tagged_item(draw: Any) -> CaseItem:
        msgs = draw(sequences)
        frames = [encode(m, d) for m in msgs]
        i = draw(st.integers(0, len(frames) - 1))
        body = frames[i][8:] + draw(undefined_floating_fields(dialect=d))
        frames[i] = len(body).to_bytes(4, "big") + frames[i][4:8] + body
        return CaseItem("malformed", tuple(f.hex() for f in frames), tuple(m.TYPE.name for m in msgs),
                        defect=TAGGED_EVENT, chunk=draw(chunk))

    item = st.tuples(sequences, chunk).map(events_item)
    if malformed:
        known = fuzz_defects()
        chosen = list(known) if defects is None else list(defects)
        unknown = [x for x in chosen if x not in known]
        if unknown or not chosen:
            raise ValueError(f"defects must be a non-empty selection of {list(known)}; got {chosen!r}")
        chosen = [x for x in known if x in chosen]  # a set: the same defects, in any order, draw the same cases
        frame_defects = [x for x in chosen if x in DEFECTS]
        if frame_defects:
            item = item | st.tuples(malformed_frames(dialect=d, defects=frame_defects), chunk).map(malformed_item)
        if TAGGED_EVENT in chosen:
            item = item | st.composite(tagged_item)()
    return st.lists(item, min_size=1, max_size=max_items).map(
        lambda items: FuzzCase(tuple(items), d.profile.name, d.version, d.v18_length_width, view))


# -- results -----------------------------------------------------------------------------------------


@dataclass
class FuzzFailure:
    """Why a case failed: ``reason`` (one line) and ``details`` (violations, client output)."""

    case: FuzzCase
    reason: str
    details: list[str] = field(default_factory=list)


@dataclass
class FuzzResult:
    passed: bool
    seed: int
    count: int
    cases_run: int = 0
    elapsed: float = 0.0
    failure: FuzzFailure | None = None
    client_started: bool = True
    start_error: str | None = None
    replay_command: str | None = None
    search_command: str | None = None
    saved_to: str | None = None
    #: why the failing case could not be written to ``save`` (it is then in the result only), else None
    save_error: str | None = None
    budget_exhausted: bool = False
    #: the distinct failing cases run (a case run again alone counts once), the reported one among them
    failures_seen: int = 0
    #: why the reported case is not the smallest Hypothesis shrinks it to (the time budget ran out, the client
    #: could not be started again, a late failure's case is not shrunk ...), None when it is (or no case failed)
    not_shrunk: str | None = None
    #: what the client printed in the run that failed (the reported case's), else in its last run (a client
    #: that exits, or fails a case, is started again for the next case)
    client_output: str = ""
    #: how many times the client was started
    client_runs: int = 0
    #: why the client, started again for a case (after a failure), did not open a session: the search stopped
    #: there (the case it was started for was not sent)
    restart_error: str | None = None
    #: set when the client failed after a case's window (seen only before or in the next case): which case,
    #: what was seen, and how it was attributed (the case run again alone, watched longer)
    late: str | None = None
    #: set when the client was seen to fail on a case one time and not another: which case, and what was seen (a
    #: case that passed its window and, run again alone, failed inside that window; a case that failed on a client
    #: that had run cases before it and passed alone, nothing else failing again; the case reported, passing when
    #: run once more at the end; a replayed case that passed before it failed); its replay may pass: ``--repeat``
    #: runs it several times
    flaky: str | None = None
    #: a replay to a client whose session is of another dialect than the case's: its events were re-encoded for
    #: the session's, its malformed frames sent as written; not the bytes the search sent (else None)
    dialect_note: str | None = None

    #: why no case was sent, the client started and nothing failed: the time budget was spent first (a client
    #: slower to open its session than --time): nothing was tested, which is no pass (exit 2: give a longer --time)
    no_case: str | None = None

    @property
    def exit_code(self) -> int:
        if not self.client_started:
            return 3
        if self.no_case is not None:
            return 2
        return 0 if self.passed else 1

    def _no_case_run(self, what: str, time_budget: float, opened_after: float | None) -> None:
        """(At the end of a run) a client that started and was sent nothing, for the time budget ran out first, passed
        nothing: it was "0 case(s) run …: no failure found", exit 0."""
        if self.client_started and self.failure is None and self.cases_run == 0 and self.budget_exhausted:
            self.passed = False
            took = f" (the client took {opened_after:.1f} s to open its session)" if opened_after is not None else ""
            self.no_case = (f"the time budget ({time_budget:g} s) was spent before {what} could be sent{took}: nothing "
                            f"was tested; give a longer --time")

    def summary(self) -> str:
        head = (f"mockcti fuzz: {self.cases_run} case(s) run in {self.elapsed:.1f} s, seed {self.seed}"
                + (" (time budget reached)" if self.budget_exhausted else ""))
        if not self.client_started:
            return "\n".join([head, f"the client could not start: {self.start_error}",
                              *output_lines(self.client_output, runs=self.client_runs)])
        if self.no_case is not None:
            return f"{head}: no case run: {self.no_case}"
        if self.passed:
            return f"{head}: no failure found"
        assert self.failure is not None
        # which case this is: Hypothesis' smallest only when its shrinking ran to the end (a search the time budget
        # cut reported "smallest failing case" for a case of 3 items that shrinks to 1)
        label = ("smallest failing case (each event decoded below its item):" if self.not_shrunk is None else
                 f"failing case, {self.not_shrunk}; each event decoded below its item:")
        flaky = "; the client is flaky: it does not fail every time" if self.flaky else ""
        lines = [f"{head}: FAILURE ({self.failures_seen} failing case(s) found{flaky})" if self.failure.case.items else
                 f"{head}: FAILURE (the client fails on its own; {self.failures_seen} case(s) failed before that was "
                 f"seen, none to blame)",
                 f"reason: {self.failure.reason}", *[f"  {d}" for d in self.failure.details],
                 *([f"flaky: {self.flaky}"] if self.flaky else []),
                 *([f"late failure: {self.late}"] if self.late else []),
                 *([f"then the client could not be started again: {self.restart_error} (the search stopped there; "
                    f"the case it was started for was not sent)"] if self.restart_error else []),
                 *([label,
                    self.failure.case.describe(decoded=True)] if self.failure.case.items else
                   ["no failing case: the client fails with no case sent to it"])]
        if self.saved_to:
            lines.append(f"saved to {self.saved_to}")
        elif self.failure.case.items:  # (`mockcti fuzz --save ''`, or it could not be written): no file to --replay
            why = self.save_error or "no save file was given"
            lines.append(f"not saved ({why}): there is nothing to --replay; repeating the search finds it again")
        if self.replay_command and self.replay_command != self.search_command:  # (the same: not a replay)
            lines.append(f"replay it:  {self.replay_command}")
        if self.search_command:
            lines.append(f"repeat the search:  {self.search_command}")
            if self.budget_exhausted:  # the same seed sends the same cases in the same order, but --time cuts it
                # wherever the clock says: what it finds is not the case above for sure
                lines.append("  (the time budget cut this search: repeated, it sends the same cases in the same "
                             "order, but may stop at another one; a longer --time lets it run, and shrink, further)")
        return "\n".join(lines)


def output_lines(output: str, last: int = 15, *, runs: int = 1) -> list[str]:
    """``client output (last lines):`` and the last ``last`` lines of ``output`` (the client's last run),
    each behind ``| ``; a client started ``runs`` times (more than once) says that it is the last run's."""
    lines = output.strip().splitlines()[-last:]
    head = "client output (last lines):" if runs <= 1 else f"client output (last lines of the last of {runs} runs):"
    return [head, *[f"| {line}" for line in lines]] if lines else []


@dataclass
class _Outcome:
    failure: str | None = None
    details: list[str] = field(default_factory=list)
    inconclusive: bool = False
    #: what the client printed in the run the outcome is about (the end of it)
    output: str = ""
    #: seconds from sending the case to seeing its failure
    at: float | None = None


@dataclass(frozen=True)
class _Ran:
    """A case that passed its window on the client that still runs: what the check before the next case
    (:meth:`_Fuzzer.after_window`) needs to hold a late failure against it."""

    case: FuzzCase
    number: int  # its number in the run (``case N`` of the log)
    first_sid: int  # the session it was sent to (violations of that session and later ones count)
    sid: int  # the session open when its window ended (a newer one after a reset and reconnect)
    mark: int  # the journal's sequence number when it was sent
    sent: float  # monotonic time it was sent
    window: float  # how long it was watched


class _LateFailure(BaseException):
    """The client failed after the window of cases that passed (``suspects``, the last one first): found before
    the next case was sent, or in the next case's window when that case alone, on a fresh client, passes. A
    BaseException, like :class:`_BudgetSpent`: Hypothesis lets it through at once, for it is no verdict on the
    case being run."""

    def __init__(self, suspects: list[_Ran], outcome: _Outcome, seen: float, failed: _Ran | None = None) -> None:
        super().__init__(outcome.failure)
        self.suspects = suspects
        self.ran = suspects[0]
        self.outcome = outcome
        self.seen = seen  # monotonic time the failure was seen
        #: the case in whose window the failure was seen (``outcome.at`` seconds after it was sent), on a client that
        #: had run cases before it, and which passed when run again alone on a fresh client (its ``sent`` and
        #: ``window`` are those of the search's run; no session of its is checked again); None when the failure was
        #: seen before the next case was sent. A failure that needs the cases before it and this one in a row is
        #: found with it
        self.failed = failed

    def lookback(self) -> list[_Ran]:
        """The suspects a case may be watched long enough to see the failure of (sent at most _LATE_MAX_WINDOW
        seconds before it was seen), the last one first; at least the last one."""
        return [r for r in self.suspects if self.seen_after(r) <= _LATE_MAX_WINDOW] or self.suspects[:1]

    def seen_after(self, ran: _Ran | None = None) -> float:
        """Seconds from sending ``ran`` (default the last case that passed) to seeing the failure."""
        return self.seen - (ran or self.ran).sent


_LATE_SUSPECTS = 3  # a late failure is looked for first in the last this many cases the client passed, each alone
#: then among the last this many (sent at most _LATE_MAX_WINDOW s before it was seen), run together and halved
_LATE_LOOKBACK = 16
_LATE_MAX_WINDOW = 60.0  # seconds: no case is watched longer, whatever the late failure took to show
_LATE_ROUNDS = 3  # searches repeated with a wider window at most this many times
#: before a late failure is said to need cases in a row (none failed alone, they failed together), each of them is
#: run alone again, the last first, at most this many more times each and _ALONE_RUNS runs in all: a client that
#: fails on one of them only some of the time (a race) failed together by chance, and the verdict was that one
_ALONE_AGAIN = 2
_ALONE_RUNS = 4


def _first_seen(late: _LateFailure, n: int, seen: str) -> str:
    """What the search saw of ``late`` (``n``: the last case the client passed; ``seen``: what failed, when)."""
    if late.failed is not None:
        number, at = late.failed.number, late.outcome.at or 0.0
        return (f"case {number}, which failed {at:.2f} s after it was sent ({late.outcome.failure}) on a client that "
                f"had run case {n} before it, and passed when run again alone on a fresh client")
    return f"the failure seen after case {n}'s window ({seen})"


#: how many times the replay printed for a case the client fails on only some of the time runs it
_FLAKY_REPEAT = 10


def _tenths(seconds: float) -> float:
    import math

    return min(_LATE_MAX_WINDOW, math.ceil(seconds * 10 - 1e-9) / 10)


def _late_window(window: float, failed_after: float) -> float:
    """A window that sees a failure ``failed_after`` seconds after its case was sent: 1.5 times that and at
    least twice ``window``, rounded up to 0.1 s, at most _LATE_MAX_WINDOW seconds."""
    return max(window, _tenths(max(2 * window, 1.5 * failed_after)))


def _suspect_window(window: float, seen_after: float) -> float:
    """How long a case that passed is watched again alone after a failure seen ``seen_after`` seconds after it
    was sent: generously (the watch ends as soon as the client fails), 3 times that, at least 4 windows and 1 s
    more than one."""
    return max(window, _tenths(max(4 * window, 3 * seen_after, window + 1.0)))


@dataclass
class _Culprit:
    """What a late failure was found to come from: ``cases`` (the oldest first), sent again as one case on a fresh
    client (:attr:`case`), failed with ``outcome``. One case, or the cases the failure needs in a row."""

    cases: list[_Ran]
    outcome: _Outcome
    #: (one case) the times it passed alone on a fresh client before it failed alone: it fails only some of the time
    passed_alone: int = 0
    #: (passed_alone) the cases that failed together, sent again one after the other as one case
    together: list[_Ran] = field(default_factory=list)

    @property
    def case(self) -> FuzzCase:
        return _joined(self.cases)

    def numbers(self) -> str:
        n = [r.number for r in self.cases]
        return f"case {n[0]}" if len(n) == 1 else f"cases {', '.join(map(str, n))}"


def _joined(group: list[_Ran]) -> FuzzCase:
    """The cases of ``group`` as one: their items in order (one case: that case itself)."""
    if len(group) == 1:
        return group[0].case
    return dataclasses.replace(group[0].case, items=tuple(i for r in group for i in r.case.items))


class _BudgetSpent(BaseException):
    """Ends the search once the time budget is spent: Hypothesis lets a BaseException through at once (it
    neither generates nor shrinks any further), where a rejected example (``assume(False)``) only skipped one
    attempt and the shrinker went on drawing cases — seconds past the budget."""


class _ClientLost(BaseException):
    """The client, started again for a case (after a failure, or because it exited), did not open a session: no
    verdict on that case, which was never sent, and none on any case after it (a BaseException: Hypothesis
    lets it through at once, neither shrinking nor generating any further)."""

    def __init__(self, reason: str, output: str, details: list[str]) -> None:
        super().__init__(reason)
        self.reason, self.output, self.details = reason, output, details


class _OnItsOwn(BaseException):
    """A case failed on a fresh client, and so did a fresh client sent no case (``outcome``, its failure): the
    client fails on its own, whatever it is sent; no case is to blame (a BaseException: Hypothesis lets it
    through at once, neither shrinking nor generating any further)."""

    def __init__(self, outcome: _Outcome) -> None:
        super().__init__(outcome.failure)
        self.outcome = outcome

    def reported(self) -> _Outcome:
        """The outcome as the result gives it: its reason says that no case was sent."""
        o = self.outcome
        return dataclasses.replace(o, failure=f"{o.failure} (with no case sent: the client fails on its own, "
                                              f"{o.at or 0:.2f} s after its session opened)")


class _CaseFailed(AssertionError):
    def __init__(self, case: FuzzCase, outcome: _Outcome) -> None:
        super().__init__(outcome.failure)
        self.case = case
        self.outcome = outcome


# -- clients under test --------------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_held(*, then: bool = True) -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block take effect at its end, through the handlers in place
    before it (KeyboardInterrupt, ``mockcti fuzz``'s Terminated): an exception raised inside
    ``subprocess.Popen`` once the child exists loses the child, which nothing then stops (it ran on after
    ``mockcti fuzz`` exited 130/143). ``then=False``: they are dropped instead (an interrupt is already on its
    way). Outside the main thread (no handlers there) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # (None: not set from Python)
        for signum in dict.fromkeys(caught) if then else ():
            signal.raise_signal(signum)  # (its handler runs now, as it would have in the block)


def _stop(runner: Any, server: Any, result: FuzzResult) -> None:
    """(At the end of a search or a replay) the client, then the server, stopped whatever signal comes meanwhile:
    one is held until both are (bounded: the client's stop and ``server.stop``'s timeouts), then raised, unless an
    interrupt is on its way already (a second Ctrl-C adds nothing to it, and must not replace the one that says
    where the failing case was saved). A Ctrl-C that landed in the server's stop left its ``MockServer.stop()``
    coroutine made and never scheduled ("RuntimeWarning: coroutine 'MockServer.stop' was never awaited" as
    ``mockcti fuzz`` exited), or the server's thread running on, the join of it cut short. When the search (or the
    replay) had ended, its ``result`` whole, the KeyboardInterrupt raised carries it (``.result``): the signal came
    once the search had ended, and ``mockcti fuzz`` tells that result (it said "no result", exit 130, a failing
    case found and saved all the same)."""
    propagating = sys.exc_info()[1]
    try:
        with _signals_held(then=not isinstance(propagating, KeyboardInterrupt)):
            runner.close()
            server.stop(timeout=5)
    except KeyboardInterrupt as exc:
        if propagating is None:  # (the body returned its result)
            exc.result = result  # type: ignore[attr-defined]
        raise


class _SubprocessClient:
    """A shell command in a process group of its own; output goes to a temporary file, each run's
    after the previous one's (:meth:`output` is the last run's)."""

    def __init__(self, cmd: str, host: str, port: int) -> None:
        self.cmd = cmd
        self.env = dict(os.environ, CTI_HOST=str(host), CTI_PORT=str(port), CTI_FUZZ="1")
        self.proc: subprocess.Popen | None = None
        self._out = tempfile.TemporaryFile()
        self._run_start = 0  # where the last run's output begins in the file
        self.runs = 0

    def start(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._run_start = self._out.seek(0, os.SEEK_END)  # (the previous run was stopped: it writes no more)
        self.runs += 1
        with _signals_held():  # a Ctrl-C / SIGTERM inside Popen left the client started and unknown: never stopped
            self.proc = subprocess.Popen(self.cmd, shell=True, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def ended(self) -> str | None:
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        return None if rc is None else f"the client process exited with status {rc}"

    def stop(self, timeout: float = 3.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        from mockcti.runner import kill_signal, signal_group

        for sig, kill, wait in ((signal.SIGTERM, False, timeout), (kill_signal(), True, timeout)):
            # the group we created for it (start_new_session); the process alone where there are no groups
            signal_group(proc, sig, kill=kill)
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def output(self, limit: int = 4000) -> str:
        """The end (at most ``limit`` bytes) of what the last run printed."""
        with contextlib.suppress(OSError, ValueError):
            self._out.seek(0, os.SEEK_END)
            size = self._out.tell()
            self._out.seek(max(self._run_start, size - limit))
            return self._out.read().decode("utf-8", "replace")
        return ""

    def close(self) -> None:
        self.stop()
        self._out.close()


class _InProcessClient:
    """``client(host, port, stop_event)`` run in an event loop on a thread of its own."""

    def __init__(self, fn: InProcessClient, host: str, port: int) -> None:
        self.fn = fn
        self.host, self.port = host, port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._result: str | None = None
        self._log: list[str] = []
        self.runs = 0

    def start(self) -> None:
        ready = threading.Event()
        self._result = None
        self._log = []  # (the last run's: a run that ends without an exception leaves none)
        self.runs += 1

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._task = asyncio.current_task()
            ready.set()
            try:
                await self.fn(self.host, self.port, self._stop)
            except asyncio.CancelledError:
                self._result = "the client was cancelled"
                raise
            except BaseException as exc:  # noqa: BLE001 - reported as the case's failure
                import traceback

                self._result = f"the client raised {type(exc).__name__}: {exc}"
                self._log = traceback.format_exception(exc)[-6:]
            else:
                self._result = "the client returned"

        def run() -> None:
            with contextlib.suppress(BaseException):
                asyncio.run(main())
            ready.set()

        self._thread = threading.Thread(target=run, name="mockcti-fuzz-client", daemon=True)
        self._thread.start()
        ready.wait(5)

    def ended(self) -> str | None:
        if self._thread is None:
            return "not started"
        if self._thread.is_alive() and self._result is None:
            return None
        return self._result or "the client ended"

    def stop(self, timeout: float = 3.0) -> None:
        t, loop = self._thread, self._loop
        if t is None or not t.is_alive() or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._stop.set)  # type: ignore[union-attr]
        t.join(timeout)
        if t.is_alive() and self._task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._task.cancel)
            t.join(timeout)

    def output(self, limit: int = 4000) -> str:
        """The traceback of the exception that ended the client's last run."""
        return "".join(self._log)[-limit:]

    def close(self) -> None:
        self.stop()


# -- the fuzzer ----------------------------------------------------------------------------------------


def _identity(hub: Any, session: Any) -> tuple[str, str, str] | None:
    """(agent ID, extension, instrument) of an agent-mode session, else None."""
    req = session.open_req
    if req is None or not session.agent_mode:
        return None
    for a in hub.center.agents.values():
        if (req.agent_id and a.id == req.agent_id) or (req.agent_extension and a.cfg.extension == req.agent_extension) \
                or (req.agent_instrument and a.device == req.agent_instrument):
            return a.id, a.cfg.extension, a.device
    ext = req.agent_extension or req.agent_instrument or ""
    return req.agent_id or "", ext, req.agent_instrument or ext


def _rewrite(messages: list, ident: tuple[str, str, str] | None) -> list:
    """The sequence's made-up agent replaced by the session's agent (so the client recognises it), in
    every field that names it, the records of a group too (CALL_CONFERENCED_EVENT's and
    CALL_TRANSFERRED_EVENT's ConnectedParty list). A made-up party that happens to have the session's
    agent's ID or extension takes the made-up agent's instead, so it stays another party."""
    if ident is None:
        return messages
    from mockcti.wire import MessageType

    first = next((m for m in messages if m.TYPE is MessageType.AGENT_STATE_EVENT), None)
    if first is None:
        return messages
    old_id, old_ext = first.agent_id, first.agent_extension
    agent_id, ext, instrument = ident
    ids = {old_id: agent_id}
    devices = {old_ext: ext}
    if agent_id != old_id:
        ids[agent_id] = old_id
    for new in (ext, instrument):
        if new != old_ext:
            devices.setdefault(new, old_ext)

    def swap(record: Any) -> Any:
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(record):
            v = getattr(record, f.name)
            new: Any
            if isinstance(v, str):
                if f.name == "agent_id":
                    new = ids.get(v, v)
                elif v == old_ext and f.name in ("agent_instrument", "active_terminal"):
                    new = instrument
                else:
                    new = devices.get(v, v)
            elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
                new = tuple(swap(item) for item in v)
            else:
                continue
            if new != v:
                kw[f.name] = new
        return dataclasses.replace(record, **kw) if kw else record

    return [swap(m) for m in messages]


class _Connections:
    """A journal sink (run on the server's thread): the sessions of the connections made since :meth:`clear`,
    with when each closed. They outlive their connections: whether the client opened a session is told by
    the session (``opened_at``), not by catching it open between two polls."""

    wants_messages = False  # (messages are not rendered for it)

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.seen: dict[int, list] = {}  # session ID -> [Session, closed at (hub time) or None]

    def __call__(self, entry: Any) -> None:
        if entry.kind == "connect":
            self.seen[entry.session] = [self.hub.session(entry.session), None]
        elif entry.kind == "close" and entry.session in self.seen:
            self.seen[entry.session][1] = entry.t

    def clear(self) -> None:
        self.seen.clear()

    def opened_for(self, now: float) -> float | None:
        """How long the first session opened since :meth:`clear` stayed open (until it closed, else until
        ``now``); None when none opened."""
        for session, closed_at in self.seen.values():
            if session is not None and session.opened_at is not None:
                return max(0.0, (now if closed_at is None else closed_at) - session.opened_at)
        return None


@dataclass(frozen=True)
class _OpenedThenEnded:
    """The client started, opened a session and ended before a case could be sent to it (``reason``: how it
    ended; ``at``: seconds its session stayed open): it fails on its own — it did start (exit 1, not 3), however
    briefly it lived, whether or not its session was seen open."""

    reason: str

    at: float


class _Fuzzer:
    def __init__(self, server: Any, runner: Any, *, window: float, max_window: float, reconnect_timeout: float,
                 start_timeout: float, deadline: float, log: Callable[[str], None] | None,
                 on_case: Callable[[FuzzCase, str | None], None] | None = None) -> None:
        self.server = server
        self.runner = runner
        self.window = window
        self.max_window = max_window
        self.reconnect_timeout = reconnect_timeout
        self.start_timeout = start_timeout
        self.deadline = deadline  # monotonic: no waiting beyond it
        self.log = log or (lambda s: None)
        #: called after every case sent to the client and judged (re-runs included; not the no-case controls)
        self.on_case = on_case
        self.cases_run = 0
        #: a run was cut by the time budget (no verdict): the search's, or one run again after a late failure
        self.budget_cut = False
        #: a fresh client sent no case kept running this many seconds after its session opened: a failure seen on
        #: a fresh client sooner than that after its case was sent is the case's (:meth:`_control`)
        self.control_ok = 0.0
        self.started_once = False
        self.quiet_until = 0.0
        self._observed_sid = 0  # the session open when the last window ended
        self.restart = False  # after a failing case the client starts afresh (keeps shrinking consistent)
        #: the last case the running client passed: a failure found before the next case is sent is its (late)
        self.prev: _Ran | None = None
        #: the cases the running client passed, the last ones (at most _LATE_LOOKBACK), the last one first
        self.passed: list[_Ran] = []
        #: a case failing on a client that ran cases before is run again alone on a fresh client: when it passes
        #: there, the failure came from before it (:class:`_LateFailure`); off for a replay (one case repeated)
        self.confirm = True
        #: the connections of the client's current run (a journal sink, installed and cleared as it is started)
        self.connections: _Connections | None = None

    # -- the client's session ------------------------------------------------------------------------

    def _latest_open(self) -> tuple[int, Any] | None:
        def go(hub: Any, now: float) -> tuple[int, Any] | None:
            sids = hub.open_sessions()
            if not sids:
                return None
            sid = max(sids)
            s = hub.session(sid)
            return sid, (s.dialect, s.idle_timeout)

        return self.server.call(go)

    def wait_session(self, timeout: float, *,
                     bounded: bool = False) -> tuple[int, Any] | _OpenedThenEnded | str | None:
        """The client's open session, or why there is none after ``timeout`` seconds; ``bounded``: no
        waiting past the time budget (``deadline`` and the grace a case has to finish), None when it
        came first (the client may yet open: no verdict). A client that ended after it opened a session (seen
        open or not: it may live a few milliseconds) is :class:`_OpenedThenEnded`, not a client that could not
        start."""
        end = time.monotonic() + timeout
        cut = bounded and self.deadline + _GRACE < end
        if cut:
            end = self.deadline + _GRACE
        while True:
            got = self._latest_open()
            if got is not None:
                return got
            ended = self.runner.ended()
            if ended:
                sink = self.connections
                lasted = None if sink is None else self.server.call(lambda hub, now: sink.opened_for(now))
                return ended if lasted is None else _OpenedThenEnded(ended, lasted)
            if time.monotonic() >= end:
                return None if cut else f"no session opened within {timeout:g} s"
            time.sleep(_POLL)

    def ensure_client(self, *, bounded: bool = False) -> tuple[int, Any] | _OpenedThenEnded | str | None:
        """The client running with an open session: (session ID, (dialect, idle timeout)), or why not;
        ``bounded``: None when the time budget ran out first (:meth:`wait_session`)."""
        if self.runner.ended() is not None or self.restart:
            self.restart = False
            self.prev, self.passed = None, []
            if self.started_once:
                self.runner.stop()
                # a fresh start: drop what the previous incarnation left (server-side, no client violation)
                self.server.call(lambda hub, now: [hub.close(sid, "fuzz: client restarted", abort=True)
                                                   for sid in list(hub.conns)])
            self.server.call(self._watch_connections)  # (the connections of this run on)
            self.runner.start()
            self.started_once = True
        return self.wait_session(self.start_timeout, bounded=bounded)

    def _watch_connections(self, hub: Any, now: float) -> None:
        """(On the server's thread) from now on, :attr:`connections` holds the client's connections."""
        if self.connections is None:
            self.connections = _Connections(hub)
            hub.journal.add_sink(self.connections)
        else:
            self.connections.clear()

    def agent_mode(self, sid: int) -> bool:
        """Whether session ``sid`` opened in agent mode (CTI_SERVICE_CLIENT_EVENTS)."""
        return bool(self.server.call(lambda hub, now: getattr(hub.session(sid), "agent_mode", False)))

    def start(self, view: str, client_cmd: str | None) -> tuple[int, Any] | str:
        """The client started with an open session fit for ``view``'s cases (:meth:`ensure_client`), or why not:
        a bridge view's events are a bridge-mode session's, which an agent-mode session is not sent. Raises
        :class:`_OnItsOwn` when the client opened a session and ended before any case."""
        try:
            got = self.ensure_client()  # (the first start is no case: --start-timeout whatever the budget)
        except OSError as exc:
            return f"cannot start {client_cmd!r}: {exc}"
        assert got is not None
        if isinstance(got, _OpenedThenEnded):
            raise self._on_its_own(got)
        if not isinstance(got, str) and view == "bridge" and self.agent_mode(got[0]):
            return ("view 'bridge': the client opened an agent-mode session (CTI_SERVICE_CLIENT_EVENTS); a bridge "
                    "client asks for CTI_SERVICE_ALL_EVENTS")
        return got

    def _on_its_own(self, ended: _OpenedThenEnded) -> _OnItsOwn:
        """The client opened a session and ended with no case sent to it: it fails on its own."""
        self.log(f"  the client opened a session and ended {ended.at:.2f} s later, before a case was sent: "
                 f"{ended.reason}")
        self.restart = True
        return _OnItsOwn(_Outcome(ended.reason, self._output_details(), output=self.runner.output(), at=ended.at))

    # -- one case ---------------------------------------------------------------------------------------

    def run_case(self, case: FuzzCase, window: float | None = None) -> _Outcome:
        """Send ``case`` to the running client (started again if it must be) and watch it: its outcome.

        Raises :class:`_LateFailure` when the client turns out to have failed after the previous case's window:
        found before this case is sent (:meth:`after_window`), or, with :attr:`confirm`, when this case fails on
        a client that ran earlier cases and passes when run again alone on a fresh client. Either way the
        failure is not this case's. With :attr:`confirm`, a case that fails on a fresh client is held against a
        fresh client sent no case (:meth:`_control`): raises :class:`_OnItsOwn` when that fails too.
        ``window``: watch the case at least that long (else :meth:`observation_window`)."""
        self._settle()
        self.check_previous()
        # the running client passed this case last (None: it starts afresh for this one)
        history = None if self.restart else self.prev
        outcome = self._run_case(case, window)
        if not outcome.failure or not self.confirm:
            return outcome
        if history is None:  # a fresh client: the case's, unless a fresh client sent no case fails as well
            return self._control(outcome)
        seen, suspects, number = time.monotonic(), self.passed, self.cases_run
        self.log(f"  case {number} failed on a client that ran case {history.number} before it: "
                 f"run again alone on a fresh client")
        self._settle()
        try:
            again = self._run_case(case, window)  # (restart is set: a fresh client, no previous case)
        except _ClientLost as lost:  # the failure stands, said so (the next case finds the client gone again)
            self.restart = True
            return dataclasses.replace(outcome, details=[*outcome.details, f"(not run again alone on a fresh client: "
                                                         f"it could not be started again: {lost.reason})"])
        if again.failure:
            return self._control(again)
        if again.inconclusive:  # no time left to tell: the failure stands, said so
            return dataclasses.replace(outcome, details=[*outcome.details, "(not run again alone on a fresh client: "
                                                         "the time budget was spent)"])
        self.restart, self.prev = True, None
        failed = _Ran(case, number, 0, 0, 0, seen - (outcome.at or 0.0), max(window or 0.0, self.window))
        raise _LateFailure(suspects, outcome, seen, failed=failed)

    def _control(self, outcome: _Outcome) -> _Outcome:
        """``outcome``, the failure of a case on a fresh client ``outcome.at`` seconds after it was sent (its session
        had just opened), unless a fresh client sent no case, watched that long and more, fails too: then the
        client fails on its own, whatever it is sent, and :class:`_OnItsOwn` is raised (no case is to blame). One
        control covers every failure seen sooner than it was watched (:attr:`control_ok`): a search runs few."""
        at = outcome.at or 0.0
        if at <= self.control_ok:
            return outcome
        watch = _late_window(self.window, at)
        self.log(f"  a fresh client sent no case, watched {watch:g} s: does it fail on its own?")
        self._settle()
        self.restart = True
        try:
            alone = self._run_case(FuzzCase(()), watch, control=True)
        except _ClientLost as lost:  # the failure stands, said so
            return dataclasses.replace(outcome, details=[*outcome.details, f"(not held against a fresh client sent "
                                                         f"no case: it could not be started again: {lost.reason})"])
        finally:
            self.restart = True  # (what comes next starts afresh)
        if alone.failure:
            raise _OnItsOwn(alone)
        if not alone.inconclusive:
            self.control_ok = max(self.control_ok, watch)
        return outcome

    def finish(self) -> None:
        """At the end of a run whose last case passed: raise :class:`_LateFailure` when the client failed after
        that case's window (as the next case would have found, had there been one)."""
        self._settle()
        self.check_previous()

    def _settle(self) -> None:
        """What the previous case sent (dribbles included) must be over, or it would count for the next one."""
        pause = self.quiet_until - time.monotonic()
        if pause > 0:
            time.sleep(min(pause, 5.0))

    def check_previous(self) -> None:
        """Raise :class:`_LateFailure` when the client failed after the window of the case it passed last."""
        ran = self.prev
        if ran is None or self.restart:
            return
        late = self.after_window(ran)
        if late is not None:
            self.restart, self.prev = True, None
            raise _LateFailure(self.passed, late, time.monotonic())

    def after_window(self, ran: _Ran) -> _Outcome | None:
        """What the client did wrong since ``ran`` was sent, found after its window: it exited, broke a
        ``PROTO-*`` rule, or dropped its connection (after legal events only; after a malformed frame it may
        reset, but must reopen within ``reconnect_timeout``). None: it still runs, its session open."""
        outcome = self._after_window(ran)
        if outcome is not None:
            outcome.output = self.runner.output()
        return outcome

    def _after_window(self, ran: _Ran) -> _Outcome | None:
        ended = self.runner.ended()
        if ended:
            return _Outcome(ended, self._output_details())

        def snap(hub: Any, now: float) -> tuple:
            viol = [(e.session, e.data.get("rule", "?"), e.data.get("detail", ""))
                    for e in hub.journal.since(ran.mark) if e.kind == "violation"]
            return viol, hub.open_sessions()

        viol, opened = self.server.call(snap)
        bad = _conduct(viol, ran.first_sid, ran.case.has_malformed)
        if bad is not None:
            return self._prefer_exit(bad, bad.failure == "protocol violation: PROTO-NO-CLOSE")
        if ran.sid in opened:
            return None
        if not ran.case.has_malformed:
            return self._prefer_exit(_Outcome("the connection dropped after legal events only (reference §3.1: it "
                                              "stays up until a failure)", [f"session {ran.sid} ended"]), True)
        # a reset after a malformed frame: it must reopen (no verdict when the time budget runs out first)
        got = self.wait_session(self.reconnect_timeout, bounded=True)
        if isinstance(got, str):
            return _Outcome(f"the client did not reconnect and reopen a session within {self.reconnect_timeout:g} s "
                            f"after its connection ended ({got})", self._output_details())
        return None

    def _run_case(self, case: FuzzCase, window: float | None = None, *, control: bool = False) -> _Outcome:
        """Send ``case`` and watch it (at least ``window`` seconds when given); ``control``: a run with no case, to
        see whether the client fails on its own (not counted in :attr:`cases_run`, not given to :attr:`on_case`)."""
        # a client restarted for a case started just before the deadline: waited for no longer than a
        # case may overrun the budget (--start-timeout would have added up to its seconds), no verdict then
        got = self.ensure_client(bounded=True)
        if got is None:
            self.budget_cut = True
            return _Outcome(inconclusive=True)
        if isinstance(got, _OpenedThenEnded):  # (it started: it did not fail to)
            raise self._on_its_own(got)
        if isinstance(got, str):  # (the first start is start()'s: this is a restart)
            raise _ClientLost(got, self.runner.output(), self._output_details())
        if not control:
            self.cases_run += 1
        sid, (dialect, idle) = got
        from mockcti.wire import decode_bytes

        case_dialect = case.dialect
        batches: list[tuple[CaseItem, list[Message] | None]] = []
        for item in case.items:
            if item.kind == "events":
                batches.append((item, [decode_bytes(bytes.fromhex(f), case_dialect) for f in item.frames]))
            else:
                batches.append((item, None))
        n = self.cases_run

        def inject(hub: Any, now: float) -> int:
            from mockcti.hub import WriteChunked
            from mockcti.wire import EncodeError

            what = "fuzz: no case (does the client fail on its own?)" if control else f"fuzz case {n}"
            mark = hub.journal.record("note", now, sid, what=what, items=len(case.items)).seq
            session = hub.session(sid)
            if session is None:
                return mark
            # an agent desktop's events get the session's own agent; a bridge's are sent as generated
            ident = _identity(hub, session) if case.view == "agent" else None
            for item, msgs in batches:
                if msgs is not None:
                    msgs = _rewrite(msgs, ident)
                    if item.chunk is None:
                        for m in msgs:
                            hub.send(sid, m)
                        continue
                    data = b""
                    for m in msgs:
                        try:
                            data += session.encode(m)  # tracks the call IDs the client is told about
                        except EncodeError as exc:
                            hub.journal.record("fault", now, sid, fault="cannot encode", message=m.TYPE.name,
                                               error=str(exc))
                            continue
                        hub.journal.message("out", now, sid, m)
                else:
                    data = item.data()
                    note = f"fuzz: malformed frame ({item.defect})"
                    if item.chunk is None:
                        hub.send_raw(sid, data, note=note)
                        continue
                    hub.journal.record("fault", now, sid, fault=note, bytes=data.hex())
                chunk = max(item.chunk, -(-len(data) // _MAX_PIECES))
                hub.act(WriteChunked(sid, data, chunk, _DRIBBLE_INTERVAL))
            return mark

        mark = self.server.call(inject)
        sent = time.monotonic()
        dribble = 0.0
        for item in case.items:
            if item.chunk is not None:
                size = len(item.data()) if item.kind == "malformed" else sum(len(f) // 2 for f in item.frames)
                dribble += -(-size // max(item.chunk, -(-size // _MAX_PIECES))) * _DRIBBLE_INTERVAL
        self.quiet_until = time.monotonic() + dribble + _SETTLE
        window = max(window or 0.0, self.observation_window(idle))
        # watched ``window`` seconds from its last piece (a dribbled item takes up to 64 x 2 ms to arrive: a failure
        # on its last event was seen only after a window that ran from its first byte, reported as a late failure)
        outcome = self._observe(case, sid, mark, idle, dribble + window)
        if outcome.inconclusive:
            self.budget_cut = True
        if outcome.failure:
            outcome.output, outcome.at = self.runner.output(), time.monotonic() - sent
            self.restart, self.prev = True, None
        elif not outcome.inconclusive:
            self.prev = _Ran(case, n, sid, self._observed_sid, mark, sent, window)
            self.passed = [self.prev, *self.passed[:_LATE_LOOKBACK - 1]]
        # every run in the verbose log, its verdict with it: a case run again (alone, or as a suspect of a late
        # failure) and the run with no case too (a search's line was printed only once the run returned a verdict to
        # it, not when that verdict was that the client fails on its own)
        verdict = ("no verdict (the time budget was spent)" if outcome.inconclusive
                   else f"FAIL: {outcome.failure}" if outcome.failure else "ok")
        if control:
            self.log(f"  no case -> {verdict}" + (": the client fails on its own" if outcome.failure else
                                                  ": the case's failure stands" if not outcome.inconclusive else ""))
        else:
            self.log(f"case {n}: {len(case.items)} item(s) -> {verdict}")
        if not control and not outcome.inconclusive and self.on_case is not None:
            self.on_case(case, outcome.failure)  # every case sent and judged: the runs again alone too
        return outcome

    def observation_window(self, idle: float | None) -> float:
        """How long a case is watched: ``window``, or long enough to see the client's heartbeat
        cadence (0.75 × IdleTimeout; silence past half of it fails) when that fits in ``max_window``.
        A longer IdleTimeout cannot be judged within ``max_window`` anyway, so the case keeps
        ``window``; the silence check runs in every case, so heartbeats that stopped are still caught
        by a later case once half the IdleTimeout has passed."""
        if idle:
            needed = 0.75 * idle + 0.05
            if needed <= self.max_window:
                return max(self.window, needed)
        return self.window

    def _observe(self, case: FuzzCase, sid: int, mark: int, idle: float | None, window: float) -> _Outcome:
        start = time.monotonic()
        dropped_at: float | None = None
        excuse_no_close = case.has_malformed
        first_sid = sid

        def snap(hub: Any, now: float) -> tuple:
            viol = [(e.session, e.data.get("rule", "?"), e.data.get("detail", ""))
                    for e in hub.journal.since(mark) if e.kind == "violation"]
            opened = hub.open_sessions()
            s = hub.session(sid)
            info = (s.last_received, s.idle_timeout) if s is not None else (None, None)
            return now, viol, opened, info

        while True:
            time.sleep(_POLL)
            t = time.monotonic()
            ended = self.runner.ended()
            if ended:
                return _Outcome(ended, self._output_details())
            now, viol, opened, (last, idle_now) = self.server.call(snap)
            bad = _conduct(viol, first_sid, excuse_no_close)
            if bad is not None:
                return self._prefer_exit(bad, bad.failure == "protocol violation: PROTO-NO-CLOSE")
            if sid in opened:
                if idle_now and last is not None and now - last > idle_now / 2:
                    return _Outcome(f"no message from the client for {now - last:.1f} s; half its IdleTimeout is "
                                    f"{idle_now / 2:g} s (heartbeats stopped?)")
            else:
                newer = [s for s in opened if s > sid]
                if not case.has_malformed:
                    return self._prefer_exit(_Outcome("the connection dropped after legal events only (reference §3.1: it stays up "
                                    "until a failure)", [f"session {sid} ended"]), True)
                if newer:
                    self.log(f"  client reconnected: session {sid} -> {max(newer)}")
                    sid = max(newer)
                    dropped_at = None
                    continue
                if dropped_at is None:
                    dropped_at = t
                elif t - dropped_at > self.reconnect_timeout:
                    return _Outcome(f"the client did not reconnect and reopen a session within "
                                    f"{self.reconnect_timeout:g} s after its connection ended")
            if t >= self.deadline + _GRACE:
                return _Outcome(inconclusive=True)
            if t - start >= window and dropped_at is None:
                self._observed_sid = sid
                return _Outcome()

    def find_late(self, late: _LateFailure) -> _Culprit | None:
        """The case(s) ``late`` is the failure of. The last suspects (at most _LATE_SUSPECTS, the last case the
        client passed first) are run again alone on a fresh client, watched long enough to see it
        (:func:`_suspect_window`); the first that fails is the culprit. When none does, every suspect sent at most
        _LATE_MAX_WINDOW s before the failure was seen (at most _LATE_LOOKBACK) is sent again, in order, as one
        case on a fresh client: when that fails, it is halved (the older half first) as long as a half fails
        alone, down to one case or to the cases the failure needs in a row. Each failure on a fresh client is
        held against a fresh client sent no case (:meth:`_control`, which raises :class:`_OnItsOwn` when the
        client fails on its own). The case in whose window the failure was seen (:attr:`_LateFailure.failed`), which
        passed alone, ends that joined case: a client that fails on its second hold, say, fails on the cases from
        its first one to that one in a row, and on none of them alone. Before cases are said to be needed in a row, each
        is run alone a few times more (:meth:`_fails_alone`): one that fails then is the culprit, flaky. None when
        nothing fails again (or time ran out)."""
        suspects = late.lookback()
        # the numbers of the suspects (and of the case that failed) that passed alone, and how many times
        alone: dict[int, int] = {} if late.failed is None else {late.failed.number: 1}
        for ran in suspects[:_LATE_SUSPECTS]:
            again = self._again([ran], late)
            if again is None:
                return None
            if again.failure:
                return _Culprit([ran], again)
            alone[ran.number] = alone.get(ran.number, 0) + 1
        group = suspects[::-1] + ([] if late.failed is None else [late.failed])  # in the order they were sent in
        if len(group) < 2:
            return None
        again = self._again(group, late)
        if again is None or not again.failure:
            return None
        while len(group) > 1:
            mid = len(group) // 2
            for half in (group[:mid], group[mid:]):
                if len(half) == 1 and half[0].number in alone:
                    continue
                got = self._again(half, late)
                if got is None:  # no time left: the cases known to fail together
                    return _Culprit(group, again)
                if got.failure:
                    group, again = half, got
                    break
                if len(half) == 1:
                    alone[half[0].number] = alone.get(half[0].number, 0) + 1
            else:  # neither half fails alone: the failure needs cases of both
                break
        if len(group) > 1:
            return self._fails_alone(group, again, alone, late) or _Culprit(group, again)
        return _Culprit(group, again)

    def _fails_alone(self, group: list[_Ran], together: _Outcome, alone: dict[int, int],
                     late: _LateFailure) -> _Culprit | None:
        """Before ``group`` (which failed together, ``together``, and none of its cases alone) is said to be what the
        failure needs in a row: each of its cases run alone again on a fresh client, the last first, at most
        _ALONE_AGAIN more times each and _ALONE_RUNS runs in all (``alone``: the times each passed alone so far). A
        client that fails on one of them only some of the time (a race, not what came before) fails together by
        chance: the first that fails alone is the culprit, with the times it passed alone (``passed_alone``). None:
        none did (or the time budget ran out first): they need each other."""
        runs = 0
        for _ in range(_ALONE_AGAIN):
            for ran in group[::-1]:
                if runs >= _ALONE_RUNS:
                    return None
                runs += 1
                got = self._again([ran], late)
                if got is None:  # no time left: what was seen stands
                    return None
                if got.failure:
                    return _Culprit([ran], got, passed_alone=alone.get(ran.number, 0), together=group)
                alone[ran.number] = alone.get(ran.number, 0) + 1
        return None

    def _again(self, group: list[_Ran], late: _LateFailure) -> _Outcome | None:
        """``group`` (suspects, the oldest first) sent again, in order, as one case on a fresh client and watched
        long enough to see ``late`` (:func:`_suspect_window` of the oldest); None when time ran out first."""
        watch = _suspect_window(max(self.window, *(r.window for r in group)), late.seen_after(group[0]))
        if time.monotonic() >= self.deadline:  # once the time budget is spent no case is started (no verdict)
            self.budget_cut = True
            return None
        names = f"case {group[0].number}" if len(group) == 1 else \
            f"cases {', '.join(str(r.number) for r in group)}, one after the other as one case,"
        self.log(f"  {names} run again alone on a fresh client, watched {watch:g} s")
        self.restart = True
        again = self.run_case(_joined(group), watch)
        self.restart = True  # (what comes next starts afresh)
        return None if again.inconclusive else again

    def _prefer_exit(self, outcome: _Outcome, about_the_connection: bool) -> _Outcome:
        """A client that dies closes its connection first: report the death, not the lost connection."""
        if about_the_connection:
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                ended = self.runner.ended()
                if ended:
                    return _Outcome(ended, [f"(and before that: {outcome.failure})", *self._output_details()])
                time.sleep(_POLL)
        return outcome

    def _output_details(self) -> list[str]:
        return output_lines(self.runner.output(), runs=self.runner.runs)


def _conduct(viol: list[tuple], first_sid: int, excuse_no_close: bool) -> _Outcome | None:
    """The failure the ``PROTO-*`` violations ``(session, rule, detail)`` of sessions from ``first_sid`` on are,
    if any (``excuse_no_close``: after a malformed frame a reset without CLOSE_REQ is what the guide asks)."""
    bad = [v for v in viol if v[0] is not None and v[0] >= first_sid and str(v[1]).startswith("PROTO-")
           and not (excuse_no_close and v[1] == "PROTO-NO-CLOSE")]
    if not bad:
        return None
    rules = sorted({v[1] for v in bad})
    return _Outcome(f"protocol violation: {', '.join(rules)}", [f"{r} (session {s}): {d}" for s, r, d in bad[:10]])


class _QuietLostWrites:
    """Drops asyncio's "socket.send() raised exception." warnings while a fuzz run lasts: the
    server's dribbled writes (chunked items) keep going for a moment after a client reset."""

    def filter(self, record: Any) -> bool:
        return record.getMessage() != "socket.send() raised exception."


# -- entry points ------------------------------------------------------------------------------------


def _server(center: Any, profile: Any, min_idle_timeout: int, host: str, port: int) -> Any:
    from mockcti.hub import HubConfig
    from mockcti.journal import Journal
    from mockcti.session import SessionConfig
    from mockcti.testing.fixtures import ThreadedServer, hub_config_for

    hub_config = hub_config_for(profile, HubConfig(session=SessionConfig(min_idle_timeout=min_idle_timeout)))
    # keep=False: violations, connects and closes are kept; messages are only counted (bounded memory)
    return ThreadedServer(center, host=host, port=port, hub_config=hub_config, journal=Journal(keep=False)).start()


def _profile_options(profile: Any) -> list[str]:
    """``--profile NAME`` and, for a Profile with other message numbers or field tags, the
    ``--message-id``/``--field-tag`` options that make it (the server a replay must serve)."""
    from mockcti.wire.dialect import Profile

    if not isinstance(profile, Profile):
        return ["--profile", str(profile)]
    from mockcti.commands import renumbering_options

    return ["--profile", profile.name, *renumbering_options(profile)]


@contextlib.contextmanager
def _module_independent_draws() -> Iterator[None]:
    """Hypothesis draws as if no module of the user's were loaded, inside the block.

    Hypothesis (6.131 on) draws a value, now and then, from the literals of every "local" module in
    ``sys.modules`` (any file outside site-packages and the standard library): the user's own modules, a client
    module imported in-process, mockcti itself when installed editable, and those loaded lazily during the run.
    The same seed then gave other cases after an import, from the Python API than from ``mockcti fuzz``, or
    from an editable checkout than from a CI's ``pip install``. Those literals are left out here (the pool of
    Hypothesis's own constants stays); the cache of the constants permitted per draw is emptied on the way in
    and out, so that neither the search nor later Hypothesis tests see the other's pool. A Hypothesis without
    the feature draws as it does."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # (an older Hypothesis: no local constants)
        yield
        return
    get = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if get is None or cache is None or not hasattr(cache, "clear"):
        yield
        return
    none = Constants()
    cache.clear()
    providers._get_local_constants = lambda: none
    try:
        yield
    finally:
        providers._get_local_constants = get
        cache.clear()


def _passes_once_more(fuzzer: _Fuzzer, case: FuzzCase, deadline: float, log: Callable[[str], None] | None) -> bool:
    """Run ``case`` (the one a search reports) once more alone on a fresh client: whether it passed (not when it
    failed again, nor with no time left or no verdict, nor when the client could not be started again). A run the
    time budget cut is no search's: :attr:`_Fuzzer.budget_cut` is left as it was."""
    if time.monotonic() >= deadline:
        return False
    if log:
        log("  the case reported, run once more alone on a fresh client: does it fail every time?")
    cut, fuzzer.restart = fuzzer.budget_cut, True
    try:
        again = fuzzer._run_case(case)
    except (_ClientLost, _OnItsOwn):
        return False
    finally:
        fuzzer.restart, fuzzer.budget_cut = True, cut
    return not again.failure and not again.inconclusive


def _dialect_note(case: FuzzCase, session_dialect: Any) -> str | None:
    """What a replay to a session of ``session_dialect`` sends that the search did not, or None: the same bytes."""
    want = case.dialect
    if (session_dialect.profile.name, session_dialect.version, session_dialect.tag_width,
            session_dialect.length_width) == (want.profile.name, want.version, want.tag_width, want.length_width):
        return None
    return (f"the case was generated for {want.profile.name} v{want.version} and the client opened "
            f"{session_dialect.profile.name} v{session_dialect.version}: its events were re-encoded for that version "
            f"and its malformed frames sent as written for the case's; not the bytes the search sent (open the "
            f"client's session as the search's client did)")


def _command(client_cmd: str, parts: list[str]) -> str:
    return " ".join(["mockcti fuzz --client-cmd", shlex.quote(client_cmd), *parts])


def fuzz_client(client_cmd: str | None = None, *, client: InProcessClient | None = None, seed: int | None = None,
                count: int = 100, time_budget: float = 60.0, window: float = 1.0, max_window: float = 3.0,
                reconnect_timeout: float = 10.0, start_timeout: float = 10.0, max_items: int = 3, max_calls: int = 2,
                malformed: bool = True, defects: Sequence[str] | None = None, chunking: bool = True,
                flows: Sequence[str] | None = None, view: str = "agent",
                min_idle_timeout: int = 20, center: Any = None, profile: Any = None,
                host: str = "127.0.0.1", port: int = 0, save: str | Path | None = None,
                log: Callable[[str], None] | None = None,
                on_case: Callable[[FuzzCase, str | None], None] | None = None) -> FuzzResult:
    """Fuzz one client with up to ``count`` generated cases within about ``time_budget`` seconds.

    Give either ``client_cmd`` (a shell command; the client finds the server in ``CTI_HOST`` and
    ``CTI_PORT``) or ``client`` (an async callable ``client(host, port, stop_event)`` run in this
    process, on a thread with its own event loop, until ``stop_event`` is set). A client that
    exits is started again for the next case.

    Each case is observed for ``window`` seconds, or for 0.75 × the session's IdleTimeout when that
    is longer and at most ``max_window`` (long enough to see its heartbeat cadence). ``min_idle_timeout`` is the server's lower
    bound for IdleTimeout (20 s like UCCX; lower it to fuzz clients with quick heartbeats).
    Failures are shrunk by Hypothesis; the result carries the smallest failing case, and with
    ``save`` it is written there (JSON, for :func:`replay_case` and ``mockcti fuzz --replay``).
    ``on_case(case, failure_reason_or_None)`` is called after each case actually run, with that run's outcome:
    as often as ``cases_run`` counts, a case run again (alone on a fresh client, to tell whether a failure is its
    own or which case a late failure comes from) each time it runs; not for a run cut short by the time budget
    (no verdict), nor for the runs that send no case (is the client failing on its own?). ``flows``: the
    call flows of the event sequences; ``view="bridge"`` (with ``flows``): what a bridge-mode session is
    sent, for a client that opens in bridge mode (see :func:`cases`; a client that opens an agent-mode
    session instead is reported as not started).
    """
    import random

    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky, Unsatisfiable

    if (client_cmd is None) == (client is None):
        raise ValueError("give exactly one of client_cmd and client")
    if count < 1 or time_budget <= 0 or window <= 0:
        raise ValueError("count must be >= 1, time_budget and window > 0")
    from mockcti.testing.strategies import VIEWS

    if not isinstance(view, str) or view not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, not {view!r}")
    if view != "agent" and not flows:
        raise ValueError(f"view={view!r} needs flows (the events a bridge is sent while the center plays them)")
    seed = random.randrange(2 ** 31) if seed is None else int(seed)
    t0 = time.monotonic()
    deadline = t0 + time_budget
    result = FuzzResult(passed=True, seed=seed, count=count)
    quiet = _QuietLostWrites()
    logging.getLogger("asyncio").addFilter(quiet)
    server = _server(center, profile, min_idle_timeout, host, port)
    runner: Any = (_SubprocessClient(client_cmd, server.host, server.port) if client_cmd is not None
                   else _InProcessClient(client, server.host, server.port))  # type: ignore[arg-type]
    fuzzer = _Fuzzer(server, runner, window=window, max_window=max_window, reconnect_timeout=reconnect_timeout,
                     start_timeout=start_timeout, deadline=deadline, log=log, on_case=on_case)
    opened_after: float | None = None  # seconds the client took to open its first session
    try:
        own: _OnItsOwn | None = None  # the client opened a session and ended before the first case
        try:
            got = fuzzer.start(view, client_cmd)
        except _OnItsOwn as exc:
            own, got = exc, None
        opened_after = time.monotonic() - t0
        if isinstance(got, str):
            result.client_started = False
            result.passed = False
            result.start_error = got
            result.client_output = runner.output()
            return result
        strategy = None
        if got is not None:
            _, (dialect, idle) = got
            if log:
                log(f"mockcti fuzz: client session open ({dialect.profile.name} v{dialect.version}, IdleTimeout "
                    f"{idle if idle else 'none'}); seed {seed}, up to {count} case(s) in {time_budget:g} s")
            strategy = cases(dialect=dialect, max_items=max_items, max_calls=max_calls, malformed=malformed,
                             defects=defects, chunking=chunking, flows=flows, view=view)
        cache: dict[str, _Outcome] = {}
        failing: list[tuple[FuzzCase, _Outcome]] = []
        # Hypothesis' own backend (a Hypothesis older than the setting has no other)
        backend: dict[str, Any] = {"backend": "hypothesis"} if hasattr(settings.default, "backend") else {}

        # every setting that decides which cases are sent, and how the search runs, is pinned: a setting left
        # out comes from the profile the user's conftest loaded (a CI profile's backend="hypothesis-urandom"
        # drew from os.urandom: the same --seed sent other cases on every run)
        @settings(max_examples=count, deadline=None, database=None, derandomize=False,
                  phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False, verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck), **backend)
        @hseed(seed)
        @given(st.data())
        def search(data: Any) -> None:
            if time.monotonic() >= deadline:
                result.budget_exhausted = True
                raise _BudgetSpent  # the smallest failing case seen so far is the result
            case = data.draw(strategy, label="case")
            key = case.key()
            outcome = cache.get(key)
            ran = outcome is None
            if outcome is None:
                if time.monotonic() >= deadline:  # spent while the case was drawn: not started
                    result.budget_exhausted = True
                    raise _BudgetSpent
                outcome = fuzzer.run_case(case)  # (which logs each run of it, with its verdict)
                if not outcome.inconclusive:
                    cache[key] = outcome
            if outcome.failure:
                if ran:  # (a case drawn again is not run again: Hypothesis replays the failing one at the end)
                    failing.append((case, outcome))
                raise _CaseFailed(case, outcome)

        found: tuple[FuzzCase, _Outcome] | None = None
        # a client that fails after a case's window is seen only before or in the next case: that failure is the
        # earlier case's (_LateFailure), never the next one's. The earlier case is run again alone and watched
        # longer; when it fails, the search is repeated with that window (same seed: the same cases, each
        # watched long enough), so that the case is found and shrunk as any other; the passes seen with the
        # shorter window no longer count
        pending: _LateFailure | None = None  # a late failure being looked into
        #: why the case reported, when one is, is not the one Hypothesis shrank to the end (FuzzResult.not_shrunk)
        not_shrunk: str | None = None
        replay_is_search = False  # a late failure nothing reproduced: the search is its only replay
        flaky_case: FuzzCase | None = None  # a case the client was seen to fail on one time and not another

        def unreproduced(late: _LateFailure) -> tuple[FuzzCase, _Outcome]:
            """A late failure no case showed again alone: the last case's all the same, said so."""
            outcome = _Outcome(f"{late.outcome.failure} (after the case's {late.ran.window:g} s window, seen "
                               f"{late.seen_after():.2f} s after it was sent; not seen again when run alone)",
                               late.outcome.details, output=late.outcome.output)
            nonlocal not_shrunk
            failing.append((late.ran.case, outcome))
            not_shrunk = "the case the late failure was seen after (not shrunk: it does not fail alone)"
            return late.ran.case, outcome

        def commands(case: FuzzCase, saved: bool) -> tuple[str, str]:
            """(repeat the search, replay it) for ``case`` (``saved``: to ``save``), as the search stands (its
            window, widened after a late failure; the case the client was seen to fail on one time and not another):
            the same for the result and for an interrupt that saves a case. The replay is the search when there
            is no file to replay (or when a late failure nothing reproduced is the case: its replay passes)."""
            assert client_cmd is not None
            window = fuzzer.window  # (widened after a late failure: the commands watch as the search last did)
            # what decides a case's verdict: the server, how long a case is watched and what the client
            # is given to start and to reconnect; the search and the replay of its case both need it
            # (the replay command left out --max-window, --reconnect-timeout and --start-timeout: a
            # failure seen only in a window widened to a short IdleTimeout passed when replayed)
            watch = ["--window", f"{window:g}"]
            if max_window != 3.0:
                watch += ["--max-window", f"{max_window:g}"]
            if reconnect_timeout != 10.0:
                watch += ["--reconnect-timeout", f"{reconnect_timeout:g}"]
            if start_timeout != 10.0:
                watch += ["--start-timeout", f"{start_timeout:g}"]
            if min_idle_timeout != 20:
                watch += ["--min-idle-timeout", str(min_idle_timeout)]
            if profile:
                watch += _profile_options(profile)
            if isinstance(center, (str, Path)):
                watch += ["--center", shlex.quote(str(center))]
            parts = ["--seed", str(seed), "--count", str(count), "--time", f"{time_budget:g}"]
            if max_items != 3:
                parts += ["--max-items", str(max_items)]
            if max_calls != 2:
                parts += ["--max-calls", str(max_calls)]
            if not malformed:
                parts.append("--no-malformed")
            # (a set: in the order --list-defects and --list-flows give, as the cases were drawn)
            if defects:
                parts += ["--defects", shlex.quote(",".join(d for d in fuzz_defects() if d in defects))]
            if not chunking:
                parts.append("--no-chunking")
            if flows:
                from mockcti.testing.strategies import FLOWS

                parts += ["--flows", shlex.quote(",".join(f for f in FLOWS if f in flows))]
            if view != "agent":
                parts += ["--view", view]
            search_command = _command(client_cmd, parts + watch)
            if not saved or replay_is_search:
                return search_command, search_command
            # a case the client fails on only some of the time: one replay may pass; --repeat stops at the first
            # failure
            repeat = ["--repeat", str(_FLAKY_REPEAT)] if case == flaky_case else []
            return search_command, _command(client_cmd, ["--replay", shlex.quote(str(save)), *repeat, *watch])

        # the case the search reports, once it has ended (it is then run once more alone: an interrupt there saves it)
        reported: tuple[FuzzCase, _Outcome] | None = None
        try:
            if own is not None:
                raise own
            for _ in range(_LATE_ROUNDS + 1):
                try:
                    try:
                        with _module_independent_draws():  # the same seed, the same cases, whatever is imported
                            search()
                    except _CaseFailed as exc:
                        found = (exc.case, exc.outcome)
                    except (Flaky, Unsatisfiable, BaseExceptionGroup, _BudgetSpent) as exc:  # type: ignore[misc]
                        # (_BudgetSpent raised by a shrink step before its draw often leaves Hypothesis as a
                        # FlakyStrategyDefinition, "inconsistent data generation": search() said it was the budget)
                        not_shrunk = ("the smallest found before the time budget ran out (not shrunk all the way: a "
                                      "longer --time shrinks it further)" if result.budget_exhausted else
                                      f"the smallest found (Hypothesis stopped: {type(exc).__name__})")
                    if found is None and not failing:
                        fuzzer.finish()  # the last case passed its window: is the client still there?
                    break
                except _LateFailure as late:
                    pending = late
                    n, w = late.ran.number, late.ran.window
                    seen = (f"{late.outcome.failure}; seen {late.seen_after():.2f} s after case {n} was sent")
                    if log:
                        log(f"  the client failed after case {n}'s {w:g} s window ({seen})")
                    try:
                        culprit = fuzzer.find_late(late)  # each case it passed last, run again alone, watched longer
                    except _OnItsOwn as alone:  # no case's: the client fails on its own
                        result.late = (f"case {n} passed its {w:g} s window, but the client failed after it ({seen}); "
                                       f"a fresh client sent no case failed {alone.outcome.at or 0:.2f} s after its "
                                       f"session opened")
                        pending = None
                        raise
                    flaky_how = ""  # (how the client was found flaky, for the log)
                    if culprit is not None and culprit.passed_alone:
                        # the cases it failed on together were to be what the failure needs in a row; run alone
                        # again, one of them failed this time, having passed alone before: the client fails on it
                        # only some of the time (they failed together by chance), and that case is reported
                        ran, again = culprit.cases[0], culprit.outcome
                        took = again.at or 0.0
                        wider = ""
                        if took >= ran.window:  # (seen after its window in the search: its replay watches longer)
                            fuzzer.window = max(fuzzer.window, _late_window(fuzzer.window, took))
                            wider = f" (after its {ran.window:g} s window: replayed with --window {fuzzer.window:g})"
                        names = ", ".join(str(r.number) for r in culprit.together)
                        result.flaky = (f"case {ran.number} passed {culprit.passed_alone} time(s) when run again alone "
                                        f"on a fresh client, and failed {took:.2f} s after it was sent on the next run "
                                        f"alone{wider}: the client does not fail on it every time (it is "
                                        f"nondeterministic); cases {names}, sent again one after the other as one "
                                        f"case, had failed too, by chance: the failure does not need them in a row; "
                                        f"they were run again for {_first_seen(late, n, seen)}")
                        flaky_how = "failed alone after passing alone"
                    elif culprit is not None and len(culprit.cases) == 1 and culprit.outcome.at is not None \
                            and culprit.outcome.at < culprit.cases[0].window:
                        # it failed alone inside the window it had passed in the search: no late failure (a wider
                        # window sees nothing more), a case the client fails on only some of the time
                        ran, again = culprit.cases[0], culprit.outcome
                        result.flaky = (f"case {ran.number} passed its {ran.window:g} s window in the search, and "
                                        f"failed {again.at:.2f} s after it was sent when run again alone on a fresh "
                                        f"client, inside that window: the client does not fail on it every time (it "
                                        f"is nondeterministic, or fails on it only after what it ran before); it was "
                                        f"run again for {_first_seen(late, n, seen)}")
                        flaky_how = "failed again inside its window"
                    if flaky_how:
                        if log:
                            log(f"  case {ran.number} {flaky_how}: the client is flaky")
                        found = (ran.case, again)
                        failing.append(found)
                        flaky_case = ran.case
                        not_shrunk = ("a case the client fails on only some of the time (not shrunk: its smaller "
                                      "cases' passes prove nothing)")
                        pending = None
                        break
                    if culprit is not None and len(culprit.cases) > 1:  # cases it needs in a row: that is the case
                        again = culprit.outcome
                        first = culprit.cases[0]
                        fuzzer.window = max(fuzzer.window, _late_window(fuzzer.window, again.at or 0.0))
                        result.late = (f"case {n} passed its {w:g} s window, but the client failed after it ({seen}); "
                                       f"no case failed again alone on a fresh client, but {culprit.numbers()}, sent "
                                       f"again one after the other as one case, failed {again.at or 0:.2f} s after it "
                                       f"was sent ({late.seen_after(first):.2f} s after case {first.number} was sent "
                                       f"in the search): the failure needs them in a row; that case is the one "
                                       f"reported (not shrunk), replayed with --window {fuzzer.window:g}")
                        if log:
                            log(f"  {culprit.numbers()} failed again together: {again.failure}")
                        found = (culprit.case, again)
                        failing.append(found)
                        not_shrunk = "the cases the late failure needs in a row, joined (not shrunk)"
                        pending = None
                        break
                    if culprit is not None:
                        ran, again = culprit.cases[0], culprit.outcome
                        fuzzer.window = max(fuzzer.window, _late_window(fuzzer.window, again.at or 0.0))
                        result.late = (f"case {ran.number} passed its {ran.window:g} s window, but the client failed "
                                       f"after it ({late.outcome.failure}; seen {late.seen_after(ran):.2f} s after "
                                       f"the case "
                                       f"was sent); run again alone, case {ran.number} failed {again.at or 0:.2f} s "
                                       f"after it was sent: the search went on watching each case {fuzzer.window:g} s "
                                       f"(--window {fuzzer.window:g}, in the commands below)")
                        if log:
                            log(f"  case {ran.number} failed again: {again.failure}; searching again, each case "
                                f"watched {fuzzer.window:g} s")
                        failing.append((ran.case, again))
                        cache.clear()  # passes seen with a shorter window prove nothing; failures stand
                        cache.update({c.key(): o for c, o in failing})
                        pending = None
                        continue
                    # not seen again: it is the last case's all the same (the client did fail after it), and said so;
                    # its replay would pass: what reproduces it, if anything, is the search (the same cases in a row)
                    back = late.lookback()
                    names = ", ".join(str(r.number) for r in back[:_LATE_SUSPECTS])
                    together = (f", and cases {', '.join(str(r.number) for r in back[::-1])} sent again one after "
                                f"the other as one case" if len(back) > 1 else "")
                    # the case reported: this one when no case failed before, else the smallest that did (its
                    # shrinking stopped here): that one fails alone, and its replay is printed
                    saved = (("the saved case alone may pass" if fuzzer.budget_cut else "the saved case alone passes")
                             if not failing else "the case reported is the smallest that failed before it (its "
                                                 "shrinking stopped here)")
                    if fuzzer.budget_cut:  # (a run again had no verdict: it was not seen to pass)
                        result.late = (f"case {n} passed its {w:g} s window, but the client failed after it ({seen}); "
                                       f"the time budget was spent before the cases it may come from ({names}) were "
                                       f"run again alone on a fresh client: which case it comes from is not known; "
                                       f"{saved}, the search command below runs the same cases "
                                       f"in the same order (give it a longer --time)")
                    else:
                        result.late = (f"case {n} passed its {w:g} s window, but the client failed after it ({seen}); "
                                       f"run again alone on a fresh client and watched longer, case(s) {names}"
                                       f"{together} passed: the failure comes and goes, or needs more than those "
                                       f"cases; {saved}, the search command below runs the same "
                                       f"cases in the same order")
                        result.flaky = (f"{_first_seen(late, n, seen)}; run again alone on a fresh client (and watched "
                                        f"longer), case(s) {names}{together} passed: the client does not fail the same "
                                        f"way every time (it is nondeterministic), or the failure needs more than "
                                        f"those cases")
                    if failing:
                        not_shrunk = ("the smallest found before a late failure no case showed again stopped the "
                                      "search (not shrunk all the way)")
                    else:
                        found = unreproduced(late)
                        replay_is_search = True
                    break
            # the case reported ran once (its outcome cached since): run once more alone on a fresh client, for a
            # client that fails on it only some of the time (a race) passes now, and its replay would pass
            reported = found or (min(failing, key=lambda p: (len(p[0].items), p[0].size)) if failing else None)
            if reported is not None and reported[0].items and not replay_is_search and reported[0] != flaky_case:
                if _passes_once_more(fuzzer, reported[0], deadline, log):
                    at = reported[1].at
                    result.flaky = (f"the case reported failed in the search ({reported[1].failure}"
                                    + (f", {at:.2f} s after it was sent" if at is not None else "")
                                    + ") and passed when run again alone on a fresh client at the end: the client "
                                      "does not fail on it every time (it is nondeterministic, or fails on it only "
                                      "after what it ran before)")
                    flaky_case = reported[0]
        except _OnItsOwn as alone:  # a case failed on a fresh client, and so did a fresh client sent no case
            found = (FuzzCase(()), alone.reported())
            failing.append(found)
        except KeyboardInterrupt as stopped:  # Ctrl-C (mockcti fuzz's SIGTERM too): what was found is not lost
            # the smallest failing case so far is saved (it was lost to the interrupt, after minutes of search); once
            # the search has ended, the case it reports (with its late and flaky notes), as the result would save it:
            # an interrupt as that case was run once more alone at the end saved the smallest case that had failed
            # (another one, a late failure's cases joined say) and printed its bare --replay (no wider --window).
            # The exception carries where (``saved_to``), whether the search had ended (``search_ended``) and the
            # commands the result would print (``replay_command``, ``search_command``: with a shell command), and
            # goes on: the interrupt is not a result
            ended = reported is not None
            pick = reported if ended else (min(failing, key=lambda p: (len(p[0].items), p[0].size)) if failing
                                           else None)
            if pick is not None and pick[0].items and save is not None:
                case, outcome = pick
                extra = {k: v for k, v in (("late", result.late), ("flaky", result.flaky)) if v} if ended else {}
                note = ("the search had ended: the case it reports, interrupted as it was run once more alone on a "
                        "fresh client at the end (whether the client fails on it every time is not known)" if ended
                        else "the search was interrupted: the smallest failing case so far, maybe not shrunk all the "
                             "way")
                try:
                    case.save(save, seed=seed, reason=outcome.failure, details=outcome.details, interrupted=note,
                              **extra)
                    stopped.saved_to = str(save)  # type: ignore[attr-defined]
                    stopped.search_ended = ended  # type: ignore[attr-defined]
                    if client_cmd is not None:
                        search_command, replay_command = commands(case, True)
                        stopped.search_command = search_command  # type: ignore[attr-defined]
                        stopped.replay_command = (  # type: ignore[attr-defined]
                            None if replay_command == search_command else replay_command)
                except OSError:
                    pass
            raise
        except _ClientLost as lost:  # no verdict on the case it was started for, nor on any after it
            result.restart_error = lost.reason
            not_shrunk = ("the smallest found before the client could not be started again (not shrunk all the "
                          "way)")
            if pending is not None and not failing:
                result.late = (f"case {pending.ran.number} passed its {pending.ran.window:g} s window, but the client "
                               f"failed after it ({pending.outcome.failure}; seen {pending.seen_after():.2f} s after "
                               f"the case was sent); it could not be run again alone")
                found = unreproduced(pending)
            if found is None and not failing:  # it exited before any case failed, and did not start again
                result.client_started = result.passed = False
                result.start_error = f"it was started again (it had exited) and: {lost.reason}"
                result.client_output = lost.output
                return result
        if found is None and failing:  # out of time, or Hypothesis gave up consistently: the smallest we saw
            found = min(failing, key=lambda p: (len(p[0].items), p[0].size))
        # the cases that failed (the no-case run of a client failing on its own is none: "1 failing case(s) found"
        # beside "no failing case", 0 cases run)
        result.failures_seen = len([c for c, _ in failing if c.items])
        if found is not None and found[0].items:
            result.not_shrunk = not_shrunk
        if found is not None:
            case, outcome = found
            result.passed = False
            result.failure = FuzzFailure(case, outcome.failure or "?", outcome.details)
            result.client_output = outcome.output
            if save is not None and case.items:  # (a client failing with no case sent: nothing to replay)
                extra = {k: v for k, v in (("late", result.late), ("flaky", result.flaky)) if v}
                try:
                    case.save(save, seed=seed, reason=outcome.failure, details=outcome.details, **extra)
                    result.saved_to = str(save)
                except OSError as exc:  # a full disk …: the failure found is still the result (it was lost to
                    # an OSError out of here, which `mockcti fuzz` reported as "cannot run (--host …)", exit 2)
                    result.save_error = f"cannot write {save}: {exc.strerror or exc}"
            if client_cmd is not None:
                result.search_command, result.replay_command = commands(case, result.saved_to is not None)
        return result
    finally:
        result.cases_run = fuzzer.cases_run
        result.client_runs = runner.runs
        result.budget_exhausted = result.budget_exhausted or fuzzer.budget_cut  # (a run it cut, whichever)
        result._no_case_run("the first case", time_budget, opened_after)
        try:
            _stop(runner, server, result)
        finally:
            logging.getLogger("asyncio").removeFilter(quiet)
            result.elapsed = time.monotonic() - t0


def replay_case(case: FuzzCase | str | Path, client_cmd: str | None = None, *, client: InProcessClient | None = None,
                repeat: int = 1, window: float = 1.0, max_window: float = 3.0, reconnect_timeout: float = 10.0,
                start_timeout: float = 10.0, min_idle_timeout: int = 20, center: Any = None,
                profile: Any = None, host: str = "127.0.0.1", port: int = 0, time_budget: float = 120.0,
                log: Callable[[str], None] | None = None) -> FuzzResult:
    """Run one saved case against the client (``repeat`` times, stopping at the first failure), as the search
    ran it: a case of the bridge view (``case.view``) needs a client that opens in bridge mode (else the
    result is "not started"), and its events are sent unchanged."""
    if isinstance(case, (str, Path)):
        case = load_case(case)
    if (client_cmd is None) == (client is None):
        raise ValueError("give exactly one of client_cmd and client")
    t0 = time.monotonic()
    result = FuzzResult(passed=True, seed=0, count=repeat)
    quiet = _QuietLostWrites()
    logging.getLogger("asyncio").addFilter(quiet)
    server = _server(center, profile, min_idle_timeout, host, port)
    runner: Any = (_SubprocessClient(client_cmd, server.host, server.port) if client_cmd is not None
                   else _InProcessClient(client, server.host, server.port))  # type: ignore[arg-type]
    fuzzer = _Fuzzer(server, runner, window=window, max_window=max_window, reconnect_timeout=reconnect_timeout,
                     start_timeout=start_timeout, deadline=t0 + time_budget, log=log)
    try:
        try:
            got = fuzzer.start(case.view, client_cmd)  # a saved bridge case needs a bridge client, as its search did
        except _OnItsOwn as own:  # it opened a session and ended before the case was sent: it started
            outcome = own.reported()
            result.passed = False
            # no case to blame, as in a search: the case was not sent (it was printed as the case that failed)
            result.failure = FuzzFailure(FuzzCase(()), outcome.failure or "?", outcome.details)
            result.client_output = outcome.output
            return result
        if isinstance(got, str):
            result.client_started, result.passed, result.start_error = False, False, got
            result.client_output = runner.output()
            return result
        fuzzer.confirm = False  # one case, repeated: what failed after a repetition's window is that case's too
        result.dialect_note = _dialect_note(case, got[1][0])
        passes = 0  # the repetitions the client passed (a late failure found before the next one is not a pass)
        for i in range(max(1, repeat)):
            not_sent = False  # (the client ended before this repetition was sent: no case to blame)
            sent = False
            try:
                outcome = fuzzer.run_case(case)
                sent = True
                if not outcome.failure and not outcome.inconclusive and (
                        i == max(1, repeat) - 1 or time.monotonic() >= t0 + time_budget):
                    fuzzer.finish()  # the last run passed its window: is the client still there?
            except _OnItsOwn as own:  # restarted for this repetition, it opened a session and ended before it
                outcome, not_sent = own.reported(), True
            except _ClientLost as lost:
                outcome = _Outcome(f"the client is not running with an open session: {lost.reason}", lost.details,
                                   output=lost.output)
            except _LateFailure as late:
                if not sent:  # found before this repetition was sent: the previous one's, which did not pass
                    passes -= 1
                wider = _late_window(late.ran.window, late.seen_after())
                result.late = (f"the case passed its {late.ran.window:g} s window, but the client failed after it "
                               f"(seen {late.seen_after():.2f} s after the case was sent): watch it longer, e.g. "
                               f"--window {wider:g}")
                outcome = _Outcome(f"{late.outcome.failure} (after the case's {late.ran.window:g} s window, seen "
                                   f"{late.seen_after():.2f} s after it was sent)", late.outcome.details,
                                   output=late.outcome.output)
            if outcome.failure:
                result.passed = False
                result.failures_seen += not not_sent
                result.failure = FuzzFailure(FuzzCase(()) if not_sent else case, outcome.failure, outcome.details)
                result.client_output = outcome.output
                if passes > 0 and not not_sent:
                    result.flaky = (f"the case passed {passes} run(s) before it failed: the client does not fail on it "
                                    f"every time (it is nondeterministic, or fails on it only after what it ran "
                                    f"before)")
                break
            if not outcome.inconclusive:
                passes += 1
            if time.monotonic() >= t0 + time_budget:
                result.budget_exhausted = True
                break
        return result
    finally:
        result.cases_run = fuzzer.cases_run
        result.client_runs = runner.runs
        result.budget_exhausted = result.budget_exhausted or fuzzer.budget_cut  # (a run it cut, whichever)
        result._no_case_run("the case", time_budget, None)
        try:
            _stop(runner, server, result)
        finally:
            logging.getLogger("asyncio").removeFilter(quiet)
            result.elapsed = time.monotonic() - t0


if sys.version_info < (3, 11):  # pragma: no cover - BaseExceptionGroup is builtin from 3.11
    BaseExceptionGroup = Exception  # type: ignore[misc,assignment]  # noqa: A001
