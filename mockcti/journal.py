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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from mockcti.wire.render import message_to_dict
from mockcti.wire.spec import remembered_text

__all__ = ["Entry", "Journal", "JsonLinesSink", "message_json", "ENTRY_KINDS", "FINDING_KINDS", "CALL_TRAFFIC", "DEFAULT_MAX_OTHER",
           "DEFAULT_MAX_FINDINGS", "DEFAULT_MAX_CLOSED_SESSIONS"]

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
_MESSAGE_KINDS = frozenset(("in", "out"))
#: the ``what`` of the happenings a call generator records for every call it places (its arrival, its
#: caller hanging up or abandoning: ``serve --calls-per-minute``, ``serve --load``): traffic, as
#: messages are, not news (50 calls/s is 50 such lines a second); ``--log-level warning`` leaves
#: them out with the messages and keeps the other happenings
CALL_TRAFFIC = frozenset(("inbound call", "inbound caller abandoned", "load call", "load caller hung up",
                          "load caller abandoned"))
#: the kinds a report lists one by one (summary.json "violations" and "faults"): kept up to ``max_findings``
FINDING_KINDS = frozenset(("violation", "fault"))
_OTHER_KINDS = frozenset(ENTRY_KINDS) - _MESSAGE_KINDS - FINDING_KINDS
#: what ``Journal(keep=False)`` keeps in memory at most (``mockcti serve``, load runs: a server that runs for
#: days must not grow): entries that are neither messages nor findings (connect, close, happening,
#: scenario, note, rejected) ...
DEFAULT_MAX_OTHER = 10_000
#: ... violations and faults (the first half of them for good, then the most recent) ...
DEFAULT_MAX_FINDINGS = 10_000
#: ... and the per-session records (``Journal.sessions``) of closed sessions; older ones are added up
#: in ``Journal.sessions_folded``. Counts (``counts``, ``violations_by_rule``, ``faults_by_kind``) stay exact
DEFAULT_MAX_CLOSED_SESSIONS = 1_000
_DEFAULT: Any = object()  # "the default for this ``keep``"


@dataclass(frozen=True)
class Entry:
    seq: int
    t: float
    kind: str
    session: int | None
    data: dict[str, Any] = field(default_factory=dict)
    #: a message entry's decoded message (``in``/``out``) when a sink shows it its own way (the text trace,
    #: ``renders_messages``); ``data["message"]``, its rendering (:func:`~mockcti.wire.render.message_to_dict`),
    #: is there only when the journal keeps it or another sink reads it (:meth:`to_dict` renders it otherwise)
    raw: Any = field(default=None, compare=False, repr=False)
    #: ``raw`` is read as the ucce profile reads it (ICM's names)
    icm: bool = field(default=False, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, "session": self.session, **self.data}
        if self.raw is not None and "message" not in out:
            out["message"] = message_to_dict(self.raw, icm=self.icm)
        return out

    def to_json(self) -> str:
        if self.raw is not None and not self.data:
            # a message entry recorded without its dict (journal.jsonl, --json): the JSON text of to_dict(), spliced
            # from its head (ASCII: numbers and the kind) and the message's text, rendered once per message
            # (message_json): a configuration download's CONFIG_* messages go to every bridge
            return (json.dumps({"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, "session": self.session})[:-1]
                    + ', "message": ' + message_json(self.raw, self.icm) + "}")
        return json_text(self.to_dict())


def data_text(data: dict[str, Any]) -> str:
    """An entry's keys as a line for people shows them (``mockcti serve``'s trace, the pytest plugin's journal
    section): ``what=call delivered call_id=7 csq=Sales``, a key with no value left out (a call delivered to a CSQ
    printed ``agent=None``, Python's word for it, as if an agent named None was involved); ``to_json`` keeps it."""
    return " ".join(f"{k}={v}" for k, v in data.items() if v is not None)


def answered(violation: Mapping[str, Any]) -> str:
    """The end of a violation's line that names the reply the client got for it (its ``answer``):
    ``; answered FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)``, nothing for a violation without one."""
    answer = violation.get("answer")
    return f"; answered {answer}" if answer else ""


def violation_text(violation: Mapping[str, Any]) -> str:
    """A violation entry's keys as a trace line shows them after ``!!`` (``mockcti serve``'s trace, the pytest
    plugin's journal section): ``PROTO-OPEN-FIRST: HEARTBEAT_REQ before OPEN_REQ; answered FAILURE_CONF
    E_CTI_SESSION_NOT_OPEN (4)`` — the rule, the detail and the reply the client got, as the reports have it."""
    return f"{violation.get('rule', '?')}: {violation.get('detail', '')}{answered(violation)}"


def json_text(obj: Any, **kw: Any) -> str:
    """JSON text for a file, a stream or a socket: non-ASCII as it is, unless a string holds bytes a
    client sent that were not UTF-8 (the codec keeps them as lone surrogates, ``\\udcff``): then
    everything is escaped, so the text is valid UTF-8 and nothing is lost (``json.loads`` gives the
    same strings back)."""
    text = json.dumps(obj, ensure_ascii=False, default=str, **kw)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, default=str, **kw)
    return text


def message_json(message: Any, icm: bool = False) -> str:
    """``json_text(message_to_dict(message, icm=icm))``, remembered on the message (its ``_json`` slot, for each
    profile: :func:`~mockcti.wire.spec.remembered_text`) as its encoding is (``codec.encode_shared``): rendered
    once for all the sessions it goes to, and for journal.jsonl and ``--json`` alike."""
    return remembered_text(message, "_json", icm, 2, lambda: json_text(message_to_dict(message, icm=icm)))


def session_id(value: Any, what: str = "session") -> int:
    """``value`` as a session id: an int (any integral type, not a bool), the numbers the journal, the
    reports and the control API give sessions (1, 2 …). Anything else is a TypeError naming it."""
    import operator

    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    hint = f" (session={int(value)})" if isinstance(value, str) and value.strip().isdigit() else ""
    raise TypeError(f"{what} is a session id, an int as the journal numbers sessions (1, 2 …), not "
                    f"{value!r} ({type(value).__name__}){hint}")


class Journal:
    """Append-only record of a run. ``keep=False`` streams messages to the sinks without keeping
    them in memory (for long or loaded runs), and bounds what else it keeps: at most ``max_other``
    entries that are neither messages nor findings (connect, close, happening …: the oldest go
    first), ``max_findings`` violations and faults (the first half of them stay, then the most
    recent), and the records of ``max_closed_sessions`` closed sessions in :attr:`sessions` (older
    ones are added up in :attr:`sessions_folded`); ``Journal()`` keeps everything unless told. The
    sinks see every entry, and the counters (:attr:`counts`, :attr:`violations_by_rule`,
    :attr:`faults_by_kind`) count every entry either way; :attr:`dropped` counts, by kind, the
    entries no longer in memory."""

    def __init__(self, *, keep: bool = True, messages: bool = True, max_messages: int | None = None,
                 max_other: int | None | Any = _DEFAULT, max_findings: int | None | Any = _DEFAULT,
                 max_closed_sessions: int | None | Any = _DEFAULT) -> None:  # (Any: the _DEFAULT sentinel)
        self._sinks: list[Callable[[Entry], None]] = []
        #: read-only: what :meth:`wants_messages` returns, kept up to date by ``keep``, ``messages``
        #: and the sinks (an attribute read: the hub asks for every chunk and every delivery batch)
        self.rendering = False
        #: read-only: a message entry carries its rendered dict (``data["message"]``): the journal keeps
        #: messages, or a sink that wants them does not say ``renders_messages`` (it reads ``data``)
        self.rendering_dicts = False
        self._raw_sinks = False  # a sink renders messages itself: message entries carry ``raw``
        self._keep = keep
        self.messages = messages  # record every message in/out (False: only the rest)
        #: keep at most this many message entries in memory (the oldest go first; None: no cap);
        #: sinks and counters still see every message
        self.max_messages = max_messages
        self.dropped_messages = 0
        self._kept_messages = 0
        #: keep at most this many entries that are not messages, violations or faults (None: no cap)
        self.max_other: int | None = (None if keep else DEFAULT_MAX_OTHER) if max_other is _DEFAULT else max_other
        #: keep at most this many violations and faults (None: no cap)
        self.max_findings: int | None = (
            (None if keep else DEFAULT_MAX_FINDINGS) if max_findings is _DEFAULT else max_findings)
        #: keep the per-session records of at most this many closed sessions (None: every one)
        self.max_closed_sessions: int | None = (
            (None if keep else DEFAULT_MAX_CLOSED_SESSIONS) if max_closed_sessions is _DEFAULT else max_closed_sessions)
        self._kept_other = self._kept_findings = 0
        #: entries recorded but no longer in memory, by kind (messages: also ``dropped_messages``)
        self.dropped: Counter[str] = Counter()
        self._entries: list[Entry] = []
        self._seq = 0
        self._counts: Counter[str] = Counter()
        # messages counted but not rendered (count_messages, once per batch on a busy server), as plain
        # ints: a Counter update costs ~3x a plain one; added to ``counts`` when it is read
        self._uncounted_in = self._uncounted_out = 0
        self.violations_by_rule: Counter[str] = Counter()
        #: faults by their ``fault`` field ("internal error", "cannot encode", a scenario's fault …)
        self.faults_by_kind: Counter[str] = Counter()
        #: per session: messages in and out, violations, and what the "connect" entry said (peer)
        self.sessions: dict[int, dict[str, Any]] = {}
        #: the records of the closed sessions no longer in :attr:`sessions`, added up
        self.sessions_folded: dict[str, int] = _no_sessions()
        self._closed: dict[int, None] = {}  # closed sessions still in ``sessions``, oldest first
        self._folded_upto = 0  # the highest session ID folded (a later entry for it is added to the totals)

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
        # a sink that prints no messages (``mockcti serve --log-level warning``) says so with a false
        # ``wants_messages`` attribute: messages are then not rendered for it
        self.rendering = bool(self._messages and (self._keep or any(getattr(s, "wants_messages", True)
                                                                     for s in self._sinks)))
        # a sink with a true ``renders_messages`` shows a message from the entry's ``raw`` message its own way
        # (the text trace summarises a configuration download's records): no dict is built for it alone
        wanting = [s for s in self._sinks if getattr(s, "wants_messages", True)] if self._messages else []
        self.rendering_dicts = bool(self._messages and (self._keep or any(
            not getattr(s, "renders_messages", False) for s in wanting)))
        self._raw_sinks = any(getattr(s, "renders_messages", False) for s in wanting)

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
        """Every entry goes to ``sink`` as it is recorded; a sink with ``wants_messages = False``
        gets no messages in and out, unless the journal renders them anyway (kept, or another sink).
        A sink with ``renders_messages = True`` shows a message entry from its decoded message
        (``Entry.raw``), and may get the entry without ``data["message"]`` when nothing else reads it."""
        self._sinks.append(sink)
        self._update_rendering()

    def remove_sink(self, sink: Callable[[Entry], None]) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)
        self._update_rendering()

    def record(self, kind: str, now: float, session: int | None = None, **data: Any) -> Entry:
        if kind not in ENTRY_KINDS:
            raise ValueError(f"unknown journal entry kind {kind!r}; known: {sorted(ENTRY_KINDS)}")
        return self._record(kind, now, session, data, None, False)

    def _record(self, kind: str, now: float, session: int | None, data: dict[str, Any], raw: Any,
                icm: bool) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, now, kind, session, data, raw, icm)
        self._counts[kind] += 1
        if kind == "violation":
            self.violations_by_rule[data.get("rule", "?")] += 1
        elif kind == "fault":
            self.faults_by_kind[str(data.get("fault", "?"))] += 1
        if session is not None:
            info = self.sessions.get(session)
            if info is None:
                if kind != "connect" and session <= self._folded_upto:
                    info = self.sessions_folded  # an entry for a session already folded: into the totals
                else:
                    info = self.sessions[session] = {"in": 0, "out": 0, "violations": 0}
            if kind in _MESSAGE_KINDS:
                info[kind] += 1
            elif kind == "violation":
                info["violations"] += 1
            elif kind == "connect":
                info.update(data)
            elif kind == "close" and self.max_closed_sessions is not None and info is not self.sessions_folded:
                self._session_closed(session)
        if kind in _MESSAGE_KINDS:
            if self._keep:
                self._entries.append(entry)
                self._kept_messages += 1
                if self.max_messages is not None and self._kept_messages > self.max_messages:
                    self._trim_messages()
        elif kind in FINDING_KINDS:
            self._entries.append(entry)
            self._kept_findings += 1
            if self.max_findings is not None and self._kept_findings > self.max_findings:
                self._trim_findings()
        else:
            self._entries.append(entry)
            self._kept_other += 1
            if self.max_other is not None and self._kept_other > self.max_other:
                self._trim_other()
        for sink in self._sinks:
            sink(entry)
        return entry

    def _session_closed(self, session: int) -> None:
        """Past ``max_closed_sessions`` closed sessions, the oldest one's record goes into the totals."""
        closed = self._closed
        closed[session] = None
        while len(closed) > (self.max_closed_sessions or 0):
            sid = next(iter(closed))
            del closed[sid]
            info = self.sessions.pop(sid, None)
            if info is not None:
                folded = self.sessions_folded
                folded["sessions"] += 1
                for k in ("in", "out", "violations"):
                    folded[k] += info.get(k, 0)
                self._folded_upto = max(self._folded_upto, sid)

    def _drop(self, kinds: frozenset[str], n: int, *, spare_first: int = 0) -> int:
        """Drop the ``n`` oldest kept entries of ``kinds`` (the first ``spare_first`` of them stay);
        return how many went."""
        kept: list[Entry] = []
        seen = gone = 0
        dropped = self.dropped
        for e in self._entries:
            if gone < n and e.kind in kinds:
                seen += 1
                if seen > spare_first:
                    gone += 1
                    dropped[e.kind] += 1
                    continue
            kept.append(e)
        self._entries = kept
        return gone

    def _trim_other(self) -> None:
        """Down to half the cap, the oldest first (amortised: runs once per ``max_other / 2`` entries)."""
        assert self.max_other is not None
        self._kept_other -= self._drop(_OTHER_KINDS, self._kept_other - self.max_other // 2)

    def _trim_findings(self) -> None:
        """The first half of the cap stays (what went wrong first); then down to three quarters, the
        oldest of the rest first."""
        assert self.max_findings is not None
        self._kept_findings -= self._drop(FINDING_KINDS, self._kept_findings - self.max_findings * 3 // 4,
                                          spare_first=self.max_findings // 2)

    def _trim_messages(self) -> None:
        """Drop the oldest message entries down to half the cap (amortised: rarely runs)."""
        assert self.max_messages is not None
        gone = self._drop(_MESSAGE_KINDS, self._kept_messages - self.max_messages // 2)
        self.dropped_messages += gone
        self._kept_messages -= gone

    def wants_messages(self) -> bool:
        """Whether anyone can read rendered message entries (kept in memory, or a sink that wants them)."""
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

    def message(self, direction: str, now: float, session: int, message: Any, *, icm: bool = False) -> Entry | None:
        """Record a decoded message (``direction`` is ``"in"`` or ``"out"``); ``icm``: the session speaks the
        ucce profile, whose values are named as ICM reads them (AgentStateMask, SYSTEM_EVENT's PGStatus)."""
        if not self.messages:
            self._counts[direction] += 1
            if session in self.sessions:
                self.sessions[session][direction] += 1
            return None
        if direction not in _MESSAGE_KINDS:
            raise ValueError(f"a message's direction is 'in' or 'out', not {direction!r}")
        # rendered when the journal keeps it or a sink reads the dict; a sink that renders messages itself (the
        # text trace) reads ``raw``: a configuration download (1,000 messages of 10 records at 5,000 agents) is
        # then not rendered record by record for a trace line that summarises the records
        data = {"message": message_to_dict(message, icm=icm)} if self.rendering_dicts else {}
        return self._record(direction, now, session, data, message if self._raw_sinks or not data else None, icm)

    # -- reading ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, *, kind: str | None = None, session: int | None = None) -> list[Entry]:
        """The entries kept, of ``kind`` and of ``session`` (a session id, an int) when given. A session
        id of another type is a TypeError: ``session="1"`` matched nothing, so ``assert_no_violations(
        session="1")`` passed whatever session 1 did."""
        if session is not None:
            session = session_id(session)
        return [e for e in self._entries
                if (kind is None or e.kind == kind) and (session is None or e.session == session)]

    def has_session(self, session: int) -> bool:
        """Whether anything of ``session`` was recorded (its record is in :attr:`sessions`, or folded into
        :attr:`sessions_folded`): a session that never connected has nothing to assert about."""
        session = session_id(session)
        return session in self.sessions or 0 < session <= self._folded_upto

    def violations(self, session: int | None = None) -> list[Entry]:
        return self.entries(kind="violation", session=session)

    def messages_of(self, session: int, direction: str = "in") -> list[dict[str, Any]]:
        return [e.data["message"] for e in self.entries(kind=direction, session=session)]

    def since(self, seq: int) -> list[Entry]:
        return [e for e in self._entries if e.seq > seq]

    def clear(self) -> None:
        self._entries.clear()
        self._kept_messages = self._kept_other = self._kept_findings = 0
        self.dropped_messages = 0
        self.dropped.clear()
        self._counts.clear()
        self._uncounted_in = self._uncounted_out = 0
        self.violations_by_rule.clear()
        self.faults_by_kind.clear()
        self.sessions.clear()
        self.sessions_folded = _no_sessions()
        self._closed.clear()
        self._folded_upto = 0


def _no_sessions() -> dict[str, int]:
    return {"sessions": 0, "in": 0, "out": 0, "violations": 0}


class JsonLinesSink:
    """Writes each entry as one JSON line and flushes at once (a crash loses nothing written).

    It renders a message entry itself (``renders_messages``: :meth:`Entry.to_json` from the decoded message,
    whose text is made once per message, :func:`message_json`): the journal builds no dict for it.

    A stream that cannot be written (a full disk, a removed mount) is not tried again: ``error``
    keeps the OSError and ``on_error`` (when given) is called once with it. The entry is still
    recorded: the journal, the server and the reports built from memory carry on."""

    renders_messages = True

    def __init__(self, stream: IO[str], *, on_error: Callable[[OSError], None] | None = None) -> None:
        self.stream = stream
        self.on_error = on_error
        self.error: OSError | None = None

    def __call__(self, entry: Entry) -> None:
        if self.error is not None:
            return
        try:
            self.stream.write(entry.to_json() + "\n")
            self.stream.flush()
        except OSError as exc:
            self.error = exc
            if self.on_error is not None:
                self.on_error(exc)


def summarize(entries: Iterable[Entry]) -> dict[str, int]:
    c: Counter[str] = Counter(e.kind for e in entries)
    return dict(c)
