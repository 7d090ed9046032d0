"""What happened, in order: messages in and out, violations, faults, scenario outcomes.

Owns the :class:`Journal` (an append-only list of :class:`Entry`) and its sinks. A sink is any
callable taking an entry; the server or the CLI attaches one that writes JSON Lines and flushes
per entry (:class:`JsonLinesSink`), so a crash loses nothing already written. The journal
itself does no I/O and reads no clock: every entry carries the ``now`` it was given.

Reports built from a journal (JSON summary, JUnit XML, terminal table) live in
:mod:`mockcti.report`.

Must not import asyncio or the server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from mockcti.wire.render import message_to_dict

__all__ = ["Entry", "Journal", "JsonLinesSink", "ENTRY_KINDS"]

# kind -> meaning
ENTRY_KINDS = {
    "connect": "a client connected",
    "in": "a message received from a client",
    "out": "a message sent to a client",
    "rejected": "a client message answered with FAILURE_CONF by the session layer",
    "violation": "a client broke a protocol-conduct or ACD rule",
    "fault": "a fault injected on purpose (scenario or control API)",
    "happening": "something that happened in the contact center on its own (call arrival, failover, ...)",
    "scenario": "a scenario event (loaded, state change, expectation met or unmet, seed)",
    "close": "a connection ended",
    "note": "anything else worth keeping",
}


@dataclass(frozen=True)
class Entry:
    seq: int
    t: float
    kind: str
    session: int | None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, "session": self.session, **self.data}

    def to_json(self) -> str:
        return json_text(self.to_dict())


def json_text(obj: Any, **kw: Any) -> str:
    """JSON text for a file, a stream or a socket: non-ASCII as it is, unless a string holds bytes a
    client sent that were not UTF-8 (the codec keeps them as lone surrogates, ``\udcff``): then
    everything is escaped, so the text is valid UTF-8 and nothing is lost (``json.loads`` gives the
    same strings back)."""
    text = json.dumps(obj, ensure_ascii=False, default=str, **kw)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, default=str, **kw)
    return text


class Journal:
    """Append-only record of a run. ``keep=False`` streams messages to the sinks without keeping
    them in memory (for long or loaded runs); everything else (violations, faults, scenario
    events …) is always kept, and counters are kept either way."""

    def __init__(self, *, keep: bool = True, messages: bool = True, max_messages: int | None = None) -> None:
        self._sinks: list[Callable[[Entry], None]] = []
        #: read-only: what :meth:`wants_messages` returns, kept up to date by ``keep``, ``messages``
        #: and the sinks (an attribute read: the hub asks for every chunk and every delivery batch)
        self.rendering = False
        self._keep = keep
        self.messages = messages  # record every message in/out (False: only the rest)
        #: keep at most this many message entries in memory (the oldest go first; None: no cap);
        #: sinks and counters still see every message
        self.max_messages = max_messages
        self.dropped_messages = 0
        self._kept_messages = 0
        self._entries: list[Entry] = []
        self._seq = 0
        self._counts: Counter[str] = Counter()
        # messages counted but not rendered (count_messages, once per batch on a busy server), as plain
        # ints: a Counter update costs ~3x a plain one; added to ``counts`` when it is read
        self._uncounted_in = self._uncounted_out = 0
        self.violations_by_rule: Counter[str] = Counter()
        self.sessions: dict[int, dict[str, Any]] = {}

    @property
    def keep(self) -> bool:
        """Keep message entries in memory (False: they only reach the sinks)."""
        return self._keep

    @keep.setter
    def keep(self, value: bool) -> None:
        self._keep = value
        self._update_rendering()

    @property
    def messages(self) -> bool:
        """Record every message in/out (False: only the rest, messages are counted)."""
        return self._messages

    @messages.setter
    def messages(self, value: bool) -> None:
        self._messages = value
        self._update_rendering()

    def _update_rendering(self) -> None:
        self.rendering = bool(self._messages and (self._keep or self._sinks))

    @property
    def counts(self) -> Counter[str]:
        """Entries by kind; ``"in"``/``"out"`` count every message, rendered or not. A snapshot:
        only the journal's owner writes the counters (a reader on another thread never races it)."""
        c = Counter(self._counts.copy())  # dict.copy is one C call: never sees the owner mid-update
        if self._uncounted_in:
            c["in"] += self._uncounted_in
        if self._uncounted_out:
            c["out"] += self._uncounted_out
        return c

    def add_sink(self, sink: Callable[[Entry], None]) -> None:
        self._sinks.append(sink)
        self._update_rendering()

    def remove_sink(self, sink: Callable[[Entry], None]) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)
        self._update_rendering()

    def record(self, kind: str, now: float, session: int | None = None, **data: Any) -> Entry:
        if kind not in ENTRY_KINDS:
            raise ValueError(f"unknown journal entry kind {kind!r}; known: {sorted(ENTRY_KINDS)}")
        self._seq += 1
        entry = Entry(self._seq, now, kind, session, data)
        self._counts[kind] += 1
        if kind == "violation":
            self.violations_by_rule[data.get("rule", "?")] += 1
        if session is not None:
            info = self.sessions.setdefault(session, {"in": 0, "out": 0, "violations": 0})
            if kind in ("in", "out"):
                info[kind] += 1
            elif kind == "violation":
                info["violations"] += 1
            elif kind == "connect":
                info.update(data)
        if self._keep or kind not in ("in", "out"):
            self._entries.append(entry)
            if kind in ("in", "out"):
                self._kept_messages += 1
                if self.max_messages is not None and self._kept_messages > self.max_messages:
                    self._trim_messages()
        for sink in self._sinks:
            sink(entry)
        return entry

    def _trim_messages(self) -> None:
        """Drop the oldest message entries down to half the cap (amortised: rarely runs)."""
        assert self.max_messages is not None
        drop = self._kept_messages - self.max_messages // 2
        kept: list[Entry] = []
        for e in self._entries:
            if drop and e.kind in ("in", "out"):
                drop -= 1
                self.dropped_messages += 1
                self._kept_messages -= 1
                continue
            kept.append(e)
        self._entries = kept

    def wants_messages(self) -> bool:
        """Whether anyone can read rendered message entries (kept in memory, or a sink)."""
        return self.rendering

    def count_messages(self, direction: str, session: int | None, n: int = 1) -> None:
        """Count messages nobody will read (see :meth:`wants_messages`) without rendering them."""
        if direction == "out":
            self.count_out(session, n)
        else:
            self.count_in(session, n)

    def count_in(self, session: int | None, n: int = 1) -> None:
        """``count_messages("in", session, n)``."""
        self._uncounted_in += n
        info = self.sessions.get(session)  # type: ignore[arg-type]
        if info is not None:
            info["in"] += n

    def count_out(self, session: int | None, n: int = 1) -> None:
        """``count_messages("out", session, n)``."""
        self._uncounted_out += n
        info = self.sessions.get(session)  # type: ignore[arg-type]
        if info is not None:
            info["out"] += n

    def message(self, direction: str, now: float, session: int, message: Any) -> Entry | None:
        """Record a decoded message (``direction`` is ``"in"`` or ``"out"``)."""
        if not self.messages:
            self._counts[direction] += 1
            if session in self.sessions:
                self.sessions[session][direction] += 1
            return None
        return self.record(direction, now, session, message=message_to_dict(message))

    # -- reading ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, *, kind: str | None = None, session: int | None = None) -> list[Entry]:
        return [e for e in self._entries
                if (kind is None or e.kind == kind) and (session is None or e.session == session)]

    def violations(self, session: int | None = None) -> list[Entry]:
        return self.entries(kind="violation", session=session)

    def messages_of(self, session: int, direction: str = "in") -> list[dict[str, Any]]:
        return [e.data["message"] for e in self.entries(kind=direction, session=session)]

    def since(self, seq: int) -> list[Entry]:
        return [e for e in self._entries if e.seq > seq]

    def clear(self) -> None:
        self._entries.clear()
        self._kept_messages = 0
        self._counts.clear()
        self._uncounted_in = self._uncounted_out = 0
        self.violations_by_rule.clear()
        self.sessions.clear()


class JsonLinesSink:
    """Writes each entry as one JSON line and flushes at once (a crash loses nothing written)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, entry: Entry) -> None:
        self.stream.write(entry.to_json() + "\n")
        self.stream.flush()


def summarize(entries: Iterable[Entry]) -> dict[str, int]:
    c: Counter[str] = Counter(e.kind for e in entries)
    return dict(c)
