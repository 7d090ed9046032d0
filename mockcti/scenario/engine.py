"""The scenario engine: runs a loaded :class:`~mockcti.scenario.model.Scenario` inside the hub.

Implements the hub's ``Engine`` protocol. For every legal request, in this order: the request
is recorded for the expectations; session-wide protocol faults may swallow or delay it; the
current ``expect`` step may take it (and answer with its ``respond`` actions); the first rule
whose ``when`` matches in the current scenario state and still takes requests answers it;
otherwise the hub's default handling (the contact center) answers. Steps run in order (expect,
send, wait, do); the timeline fires at its times or after a step; faults act on what the mock
sends (``on_send``) at three layers: transport (delay, dribble, coalesce, reset, half-close,
silent accept, stop reading), framing (truncated, oversized length, bad floating length,
unknown message type, unknown tag, garbage) and protocol (no HEARTBEAT_CONF, late OPEN_CONF,
duplicate or out-of-order events, wrong InvokeID). Every random choice comes from the
scenario's seed, so a run repeats exactly.

:meth:`ScenarioEngine.verify` checks the expectations when the scenario ends and explains an
unmet one with the closest request received (a near miss) and the predicate that failed.

Pure: no asyncio, sockets, sleeping or clock reads; time comes in as ``now`` and delayed work
goes through :meth:`Hub.schedule`. Must not import :mod:`mockcti.server`.
"""

from __future__ import annotations

import collections
import functools
import heapq
import random
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockcti.center.config import CallDataError
from mockcti.center.core import CallNotOffered
from mockcti.scenario import model as m
from mockcti.scenario.model import substitute
from mockcti.wire import Dialect, Message, MessageType
from mockcti.wire import messages as W
from mockcti.wire.enums import StatusCode
from mockcti.wire.types import fit_string

if TYPE_CHECKING:
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.report import Expectation as ReportExpectation

__all__ = ["ScenarioEngine", "Received"]

MT = MessageType
_CONFIRMATIONS_WITH_INVOKE = "invoke_id"


@dataclass(frozen=True)
class Received:
    """A request as the expectations see it."""

    at: float
    session_id: int
    message: Message
    state: str
    agent: str | None
    #: the session's agent phone numbers when the request came (``${session.agent_extension}`` …)
    extension: str | None = None
    instrument: str | None = None
    #: its place among every request the engine saw (the order of :attr:`ScenarioEngine.received` and the
    #: other requests kept for the near misses)
    seq: int = 0


#: the "close" reasons of a connection its client ended (Hub.disconnected): a client that said goodbye with
#: CLOSE_REQ (the server closes the connection after its CLOSE_CONF, "closed by server: CLOSE_REQ") leaves as
#: much as one that closed or reset without it
_CLIENT_LEFT = ("peer closed", "peer reset", "closed by server: CLOSE_REQ")

def _action_name(act: m.Action) -> str:
    """An action as the scenario writes it (``deliver_call``, ``emit``, ``failure_event``): its key, the last part
    of its key path, else its class's name in snake case. The class's own name (``DeliverCall``) named it in the
    journal, summary.json and ``mockcti run``'s WARNING line, a name no scenario uses."""
    last = act.loc.key_path.rsplit(".", 1)[-1]
    if last.isidentifier() and last.islower():
        return last
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(type(act).__name__))


#: requests of a type no expectation and no expect step names that a scenario engine keeps, the latest, for
#: the near misses of its report ("closest: HEARTBEAT_REQ from session 3 …")
OTHER_REQUESTS_KEPT = 1_000


#: seconds messages held by coalesce / out_of_order_events wait at most for the rest of their batch
HOLD_BOUND = 0.5


@dataclass
class _SessionFaults:
    """What faults currently do to one session's outgoing messages (and some incoming ones)."""

    muted: bool = False  # silent_accept: read everything, answer nothing
    dribble: tuple[int, float] | None = None
    coalesce: int = 0  # hold this many messages and write them in one go
    held: list[bytes] = field(default_factory=list)
    delay: float = 0.0
    drop_heartbeat_conf: int = 0
    late_open_conf: float = 0.0
    duplicate: int = 0
    duplicate_type: MessageType | None = None
    reorder: int = 0
    reorder_buffer: list[bytes] = field(default_factory=list)
    invoke_offset: int = 0
    invoke_offset_count: int = 0
    release_at: float = 0.0  # when the last delayed write goes out: later writes wait behind it (TCP order)
    holding: int = 0  # which batch of held (coalesced / reordered) messages the bound's flush is for
    #: delay/dribble armed by a rule action or a message-bound fault shape only the next message
    once: set[str] = field(default_factory=set)


def scenario_profile(scenario: Any) -> Any:
    """The protocol profile a scenario's ``dialect`` names (profile and version range)."""
    import dataclasses

    from mockcti.wire.dialect import PROFILES

    d = scenario.dialect
    profile = PROFILES[d.profile]
    if d.min_version is not None or d.max_version is not None:
        profile = dataclasses.replace(profile, min_version=d.min_version or profile.min_version,
                                      max_version=d.max_version or profile.max_version)
    return profile


def with_retry_loop(hub_config: Any, scenario: Any) -> Any:
    """``hub_config`` with the scenario's ``retry_loop:`` (what it writes of it: times, gap) for PROTO-RETRY-LOOP;
    as it is when the scenario has none."""
    import dataclasses

    spec = getattr(scenario, "retry_loop", None)
    if spec is None:
        return hub_config
    changes: dict[str, Any] = {}
    if spec.times is not None:
        changes["retry_loop_times"] = spec.times
    if spec.gap is not None:
        changes["retry_loop_gap"] = spec.gap
    return dataclasses.replace(hub_config, **changes)


class ScenarioEngine:
    """Runs one scenario; ``done`` tells when it has ended, ``verify`` what it found."""

    def __init__(self, scenario: m.Scenario, *, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.rng = random.Random(self.seed)
        self.state = scenario.initial_state
        self.env: dict[str, Any] = _Env()  # captured values; a ${name} not captured yet is _Unbound
        self.hub: "Hub | None" = None
        #: the name the hub reports the scenario under (``Hub.engine_label``: "A (2nd load)" when loaded again)
        self.label = scenario.name
        self.t0 = 0.0
        #: the requests of the types the expectations and expect steps name, every one (what they count);
        #: of the other types only the latest OTHER_REQUESTS_KEPT (:attr:`others`): a scenario served all day
        #: (``serve --scenario``) kept every request, each client's heartbeats included, for good
        self.received: list[Received] = []
        self.others: collections.deque[Received] = collections.deque(maxlen=OTHER_REQUESTS_KEPT)
        self._counted_types = frozenset(
            [e.match.message for e in scenario.expect]
            + [st.match.message for st in scenario.steps if isinstance(st, m.ExpectStep)])
        self._seq = 0
        self.rule_counts: dict[str, int] = {}
        self.step_index = 0
        self.step_failures: list[tuple[m.Step, str]] = []
        self.steps_done = not scenario.steps
        self._step_deadline: float | None = None
        self._step_started = 0.0
        self.finished = False
        #: connections the scenario saw (those open when it was loaded too): a near miss with nothing received says
        #: whether any client came at all
        self.connections_seen = 0
        self.end_reason: str | None = None
        self._detached = False  # (see detached)
        #: sessions a stop_reading with no ``seconds`` paused: their reading resumes when the scenario is unloaded
        self._paused_for_good: set[int] = set()
        self.faults: dict[int, _SessionFaults] = {}
        #: the last message a silent_accept fault withheld (on_send sent nothing for it): the hub names a refusal so
        #: withheld as no answer a violation got
        self.last_withheld: Message | None = None
        self.log: list[str] = []
        self._expect_counts = [0] * len(scenario.expect)  # for end: {when: all_expectations_met}

    @classmethod
    def from_file(cls, path: str, *, seed: int | None = None) -> "ScenarioEngine":
        from mockcti.scenario.loader import load_scenario

        return cls(load_scenario(path), seed=seed)

    # -- set-up --------------------------------------------------------------------------------------

    def build_center(self) -> "ContactCenter":
        """The contact center the scenario starts with (the default center when it names none)."""
        from mockcti.center import CenterConfig, ContactCenter, default_center

        cfg = CenterConfig.from_mapping(self.scenario.center, base="center") if self.scenario.center else default_center()
        center = ContactCenter(cfg, seed=self.seed)
        for i, names in enumerate(self.scenario.call_captures):
            if i < len(center.preset_call_ids):
                call = center.calls[center.preset_call_ids[i]]
                for var, fld in names.items():
                    self.env[var] = _call_value(call, fld)
        return center

    def hub_config(self, profile: Any = None) -> Any:
        """The hub configuration for the scenario's ``dialect`` (profile and version range), or for
        ``profile`` when given (the scenario's made to other wire numbers: ``mockcti run --message-id``),
        and its ``retry_loop:``."""
        from mockcti.hub import HubConfig
        from mockcti.session import SessionConfig

        return with_retry_loop(HubConfig(session=SessionConfig(profile=profile or scenario_profile(self.scenario))),
                               self.scenario)

    @property
    def done(self) -> bool:
        return self.finished

    # -- Engine protocol -------------------------------------------------------------------------------

    def attach(self, hub: "Hub", now: float) -> None:
        self.hub = hub
        self.t0 = now
        self.label = getattr(hub, "engine_label", None) or self.scenario.name
        self.env.setdefault("seed", self.seed)
        hub.journal.record("happening", now, None, what=f"scenario {self.label!r} started", seed=self.seed)
        for h in self.scenario.timeline:
            if h.at is not None:
                hub.schedule(now + h.at, functools.partial(self._happen, h), self)
        end = self.scenario.end
        if end.after is not None:
            hub.schedule(now + end.after, lambda: self._finish(f"after {end.after:g} s"), self)
        # the sessions already open (a scenario the control API loads while clients stay connected): its
        # `faults:` are for every session, theirs too (they were left out, with nothing said)
        for sid in list(hub.conns):
            self.on_connect(sid, now)
        self._advance_steps(now)

    @property
    def detached(self) -> bool:
        """Unloaded: :meth:`detach` ran, or the hub it was attached to has another engine (or none) in. Its
        flow, timeline and end stop where they are; the hub dropped the timers it set for them (``owner=self``,
        :meth:`Hub.set_engine`). What a fault already holds (a delayed write, a pause with its seconds, a late
        OPEN_CONF) and the rest of an answer to a request (after its ``delay``) still complete: no client is left
        paused or unanswered by a scenario that is gone."""
        return self._detached or (self.hub is not None and getattr(self.hub, "engine", self) is not self)

    def detach(self, now: float) -> None:
        """The scenario is unloaded (see :attr:`detached`). A session its ``stop_reading`` with no ``seconds``
        paused is read again: nothing of the scenario is left to end that pause, and the client stayed unread
        for good — the next scenario loaded saw nothing it sent. Calling it again does nothing more."""
        from mockcti.hub import ResumeReading

        self._detached = True
        hub = self.hub
        paused, self._paused_for_good = self._paused_for_good, set()
        if hub is None:
            return
        owner = self.pause_owner
        for sid in sorted(paused):
            session = hub.session(sid)
            # (its own pause with no end: not the control API's, nor a timed one of its own begun since, which
            # ends on its timer as a timed pause of a scenario unloaded does)
            if session is not None and owner in session.reading_held_by and session.pause_end(owner) is None:
                hub.journal.record("fault", now, sid, fault="resume_reading", source=f"{owner} unloaded")
                hub.act(ResumeReading(sid, owner))

    @property
    def pause_owner(self) -> str:
        """Who holds the pauses its ``stop_reading`` faults begin (``PauseReading.owner``): "scenario 'A'"."""
        return f"scenario {self.label!r}"

    def _pause_reading(self, sid: int, seconds: float | None, now: float) -> list[Any]:
        """A ``stop_reading`` fault: the server stops reading session ``sid`` for ``seconds`` (None: for as long
        as the scenario is loaded). Returns the action that pauses (none once the scenario is unloaded and the
        pause would have no end)."""
        from mockcti.hub import PauseReading, ResumeReading

        hub = self.hub
        assert hub is not None
        if seconds is None and self.detached:  # (the rest of an answer after its delay, the scenario unloaded)
            self._journal("fault: stop_reading not applied: the scenario was unloaded", session=sid)
            return []
        owner = self.pause_owner
        if seconds is None:
            self._paused_for_good.add(sid)
            return [PauseReading(sid, owner)]
        until = now + seconds
        hub.schedule(until, lambda: hub.act(ResumeReading(sid, owner, timer=until)))
        return [PauseReading(sid, owner, until)]

    def on_connect(self, session_id: int, now: float) -> None:
        self.connections_seen += 1
        sf = self.faults.setdefault(session_id, _SessionFaults())
        for f in self.scenario.faults:
            if f.messages is None and self._chance(f):
                self._arm(session_id, sf, f, now, session_wide=True)

    def on_disconnect(self, session_id: int, now: float, reason: str = "peer closed") -> None:
        self.faults.pop(session_id, None)
        hub = self.hub
        # end: {when: disconnect} is the client's leaving — its CLOSE_REQ (the server then closes the
        # connection), or a close or reset of its own: a connection the server dropped (failover, a reset or
        # close fault, the close action) leaves the client to reconnect
        if self.scenario.end.when == "disconnect" and hub is not None and not hub.conns \
                and reason in _CLIENT_LEFT:
            self._finish("the client disconnected")

    def tick(self, now: float) -> None:
        if self._step_deadline is not None and now >= self._step_deadline:
            step = self.scenario.steps[self.step_index]
            assert isinstance(step, m.ExpectStep)  # (only an expect step has a deadline)
            self._step_deadline = None
            self.step_failures.append((step, f"no matching {step.match.message.name} within {step.timeout:g} s"))
            self._journal("step timed out", step=step.id)
            self.step_index = len(self.scenario.steps)  # the flow cannot go on
            self.steps_done = True
            self._maybe_end_after_steps()

    def next_deadline(self) -> float | None:
        return self._step_deadline

    # -- requests ------------------------------------------------------------------------------------

    def on_refused(self, session_id: int, message: Message, now: float) -> None:
        """A request the session refused for its moment (a second OPEN_REQ, a request before OPEN_REQ):
        the client sent it, so expectations count it; rules and steps do not answer it (it was)."""
        r = self._received(session_id, message, now)
        if self.scenario.end.when == "all_expectations_met":
            self._count_for_end(r)

    def on_request(self, session_id: int, message: Message, now: float) -> bool:
        hub = self.hub
        assert hub is not None
        r = self._received(session_id, message, now)
        agent = r.agent
        if self.scenario.end.when == "all_expectations_met":
            self._count_for_end(r)
        sf = self.faults.setdefault(session_id, _SessionFaults())
        # session-wide faults that act on requests
        for f in self.scenario.faults:
            if f.messages is not None and message.TYPE in f.messages and self._chance(f):
                # bound to messages: each matching message is one draw, one fault (not "armed for good")
                self._arm(session_id, sf, f, now, session_wide=False)
        ctx = _Ctx(session_id, message)
        # the current expect step: a request arrived, whatever the faults below do with its answer
        step = self._current_step()
        matched: m.ExpectStep | None = None
        if isinstance(step, m.ExpectStep) and step.match.matches(message, state=self.state, agent=agent,
                                                                env=self._env(ctx)):
            matched = step
            self._capture(step.capture, message)
            self._journal("step matched", step=step.id, session=session_id)
            self._step_deadline = None
            self.step_index += 1
        # protocol faults on the answer: it is withheld or late (no rule and no step response runs)
        then = None if matched is None else (lambda t: self._step_done(matched, t))
        fault = self._faulted_answer(session_id, message, now, then)
        if fault is not None:
            if fault == "withheld" and matched is not None:
                hub.schedule(now, lambda: self._step_done(matched, hub.now), self)
            return True
        if matched is not None and matched.respond is not None:
            # the flow goes on once the response is out: after its last action, a delay included
            if self._run(matched.respond, ctx, now, then=lambda t: self._step_done(matched, t)):
                self._step_done(matched, now)
            return True
        for rule in self.scenario.rules:
            if not rule.when.matches(message, state=self.state, agent=agent, env=self._env(ctx)):
                continue
            n = self.rule_counts.get(rule.id, 0)
            actions = rule.actions_for(n)
            if actions is None:
                continue  # this rule takes no more requests
            self.rule_counts[rule.id] = n + 1
            self._capture(rule.capture, message)
            self._journal("rule matched", rule=rule.id, session=session_id, request=message.TYPE.name)
            if matched is None:
                self._run(actions, ctx, now)
            elif self._run(actions, ctx, now, then=lambda t: self._step_done(matched, t)):
                hub.schedule(now, lambda: self._step_done(matched, hub.now), self)  # right after the rule's answer
            return True
        if matched is not None:  # the center answers first; the flow goes on right after that answer
            hub.schedule(now, lambda: self._step_done(matched, hub.now), self)
        return False

    def _faulted_answer(self, session_id: int, message: Message, now: float,
                        then: Callable[[float], None] | None = None) -> str | None:
        """The center's answer to ``message`` under the protocol faults armed for its session:
        ``no_heartbeat_conf`` withholds a HEARTBEAT_CONF ("withheld"), ``late_open_conf`` sends
        OPEN_CONF late ("late": ``then(now)`` runs once it is out); None when the center may answer
        now. Checked when the request arrives (a session-wide fault) and again by a ``default``
        action, so a fault a rule arms for the request it answers (``[{fault: {kind: late_open_conf}},
        default]`` on OPEN_REQ) acts on that answer, not on a later request's."""
        hub = self.hub
        assert hub is not None
        sf = self.faults.setdefault(session_id, _SessionFaults())
        if message.TYPE is MT.HEARTBEAT_REQ:  # §3.4: unanswered heartbeats, the client resets the connection
            conn = hub.conns.get(session_id)
            if conn is not None:
                conn.session.heartbeat_unanswered = bool(sf.drop_heartbeat_conf)
        if message.TYPE is MT.HEARTBEAT_REQ and sf.drop_heartbeat_conf:
            sf.drop_heartbeat_conf -= 1
            self._journal("fault: HEARTBEAT_CONF withheld", session=session_id)
            conn = hub.conns.get(session_id)
            if conn is not None:  # never answered: its InvokeID is the client's to use again (no
                conn.session.forget_request(message.invoke_id or 0)  # PROTO-INVOKEID-REUSED for our fault)
            return "withheld"
        if message.TYPE is MT.OPEN_REQ and sf.late_open_conf:
            delay, sf.late_open_conf = sf.late_open_conf, 0.0
            self._journal(f"fault: OPEN_CONF late by {delay:g} s", session=session_id)

            def late() -> None:
                hub.default(session_id, message, hub.now)
                if then is not None:  # what waits for the answer goes on once it is out
                    then(hub.now)

            hub.schedule(now + delay, late)
            return "late"
        return None

    # -- outgoing messages (faults) ----------------------------------------------------------------------

    def on_send(self, session_id: int, message: Message, data: bytes, now: float) -> list | None:
        sf = self.faults.get(session_id)
        if sf is None:
            return None
        from mockcti.hub import Write, WriteChunked

        after: list = []  # transport faults bound to this outgoing message that act once it is written
        for f in self.scenario.faults:  # session-wide faults bound to outgoing message types
            if f.messages is None or message.TYPE not in f.messages or not self._chance(f):
                continue
            if f.layer == "transport" and f.kind == "silent_accept":
                self._journal(f"fault: {message.TYPE.name} withheld", session=session_id)
                self.last_withheld = message
                return []
            if f.layer == "transport" and f.kind in ("reset", "half_close", "stop_reading"):
                after.append(f)
                continue
            self._arm(session_id, sf, f, now, session_wide=False)
        if sf.muted:
            self.last_withheld = message
            return []
        out: list[bytes] = [data]
        # (every *_CONF has an InvokeID; Message.invoke_id is None for a message without one)
        if sf.invoke_offset_count and message.TYPE.name.endswith("_CONF") and (invoke := message.invoke_id) is not None:
            sf.invoke_offset_count -= 1
            wrong = (invoke + sf.invoke_offset) & 0xFFFFFFFF
            out = [data[:8] + struct.pack(">I", wrong) + data[12:]]
            self._journal("fault: wrong InvokeID", session=session_id, sent=wrong, expected=invoke)
        if sf.duplicate and message.TYPE.name.endswith("_EVENT") and sf.duplicate_type in (None, message.TYPE):
            sf.duplicate -= 1
            out = out * 2
            self._journal("fault: duplicate event", session=session_id, message=message.TYPE.name)
        if sf.reorder and message.TYPE.name.endswith("_EVENT"):
            if not sf.reorder_buffer:
                self._bound_hold(session_id, sf, now)
            sf.reorder_buffer.extend(out)
            if len(sf.reorder_buffer) < sf.reorder:
                return []
            out, sf.reorder_buffer, sf.reorder = list(reversed(sf.reorder_buffer)), [], 0
            self._journal("fault: events out of order", session=session_id, count=len(out))
        if sf.coalesce:
            if not sf.held:
                self._bound_hold(session_id, sf, now)
            sf.held.extend(out)
            if len(sf.held) < sf.coalesce:
                return []
            out, sf.held, sf.coalesce = [b"".join(sf.held)], [], 0
        payload = b"".join(out)
        tail = self._after_write(session_id, after, now)
        write: Write | WriteChunked = Write(session_id, payload)
        if sf.dribble is not None:
            chunk, interval = sf.dribble
            if "dribble" in sf.once:
                sf.dribble = None
                sf.once.discard("dribble")
            write = WriteChunked(session_id, payload, chunk, interval)
        at = 0.0
        if sf.delay > 0:
            at = now + sf.delay
            if "delay" in sf.once:
                sf.delay = 0.0
                sf.once.discard("delay")
        if at or now < sf.release_at:  # delayed, or behind a delayed write not out yet: bytes keep their order
            hub = self.hub
            assert hub is not None
            sf.release_at = at = max(at, sf.release_at)

            def later() -> None:
                hub.act(write)
                for a in tail:
                    hub.act(a)

            hub.schedule(at, later)
            return []
        return [write, *tail]

    def withholds(self, session_id: int, message_type: MT) -> bool | None:
        """Whether a silent_accept fault will withhold a message of ``message_type`` to the session, asked before it
        goes out (no chance is drawn): True when the session is muted or a fault of probability 1 lists the type,
        None when only one of lower probability does (chance decides as it goes out), else False."""
        sf = self.faults.get(session_id)
        if sf is None:
            return False
        if sf.muted:
            return True
        maybe: bool | None = False
        for f in self.scenario.faults:
            if f.layer == "transport" and f.kind == "silent_accept" and f.messages is not None \
                    and message_type in f.messages:
                if f.probability >= 1.0:
                    return True
                maybe = None
        return maybe

    def _bound_hold(self, sid: int, sf: _SessionFaults, now: float) -> None:
        """Messages held by coalesce / out_of_order_events go out at the latest HOLD_BOUND seconds
        after the first of them, as they are (fewer than ``count`` came): never held for good."""
        hub = self.hub
        assert hub is not None
        sf.holding += 1
        batch = sf.holding

        def flush() -> None:
            if self.faults.get(sid) is sf and sf.holding == batch:
                self._release_held(sid, sf, "the hold's bound")

        hub.schedule(now + HOLD_BOUND, flush)

    def _release_held(self, sid: int, sf: _SessionFaults, why: str) -> None:
        from mockcti.hub import Write

        hub = self.hub
        assert hub is not None
        held = list(reversed(sf.reorder_buffer)) + sf.held
        if not held:
            return
        sf.reorder_buffer, sf.held, sf.reorder, sf.coalesce = [], [], 0, 0
        sf.holding += 1
        self._journal(f"fault: {len(held)} held message(s) written at {why}", session=sid)
        hub.act(Write(sid, b"".join(held)))

    def close_after(self, session_id: int, now: float) -> float | None:
        """The hub is closing the connection: held messages go out first, and the close waits for a
        delayed write still to come (it used to be lost, or cut by the close)."""
        sf = self.faults.get(session_id)
        if sf is None:
            return None
        self._release_held(session_id, sf, "the close")
        return sf.release_at if sf.release_at > now else None

    def _after_write(self, sid: int, faults: list, now: float) -> list:
        """Transport actions that follow the write of a message a fault is bound to."""
        from mockcti.hub import Close, HalfClose

        out: list = []
        hub = self.hub
        assert hub is not None
        for f in faults:
            self._journal(f"fault: {f.kind} after this message", session=sid)
            if f.kind == "reset":
                out.append(Close(sid, "fault: reset", abort=True))
            elif f.kind == "half_close":
                out.append(HalfClose(sid))
            else:
                out += self._pause_reading(sid, float(f.params["seconds"]) if "seconds" in f.params else None, now)
        return out

    # -- actions -----------------------------------------------------------------------------------------

    def _run(self, actions: Sequence[m.Action], ctx: "_Ctx", now: float,
             then: Callable[[float], None] | None = None) -> bool:
        """Run ``actions``; True when all ran now. A delay schedules the rest and returns False; once
        the rest has run, ``then(now)`` is called (a step's flow goes on after its delayed response)."""
        hub = self.hub
        assert hub is not None
        for i, act in enumerate(actions):
            if isinstance(act, m.Delay) or (isinstance(act, m.Fault) and act.kind == "delay" and act.layer == "transport"
                                            and ctx.request is not None and i < len(actions) - 1):
                seconds = act.seconds if isinstance(act, m.Delay) else float(act.params.get("seconds", 1.0))
                rest = tuple(actions[i + 1:])

                def resume(rest: tuple[m.Action, ...] = rest) -> None:
                    if self._run(rest, ctx, hub.now, then) and then is not None:
                        then(hub.now)

                # the rest of a request's answer still goes out after an unload (the client is not left
                # unanswered); the rest of the timeline's or a step's actions is the scenario's own: dropped
                hub.schedule(now + seconds, resume, self if ctx.request is None else None)
                return False
            if isinstance(act, m.Default) and ctx.request is not None and ctx.session_id is not None:
                # the center's answer, unless a protocol fault withholds it or makes it late: then what
                # follows (the rest of the list, a step's flow) waits for it, as behind a delay
                rest = tuple(actions[i + 1:])

                def after_late(t: float, rest: tuple[m.Action, ...] = rest) -> None:
                    if self._run(rest, ctx, t, then) and then is not None:
                        then(t)

                fault = self._faulted_answer(ctx.session_id, ctx.request, now, after_late)
                if fault == "late":
                    return False
                if fault is None:
                    hub.default(ctx.session_id, ctx.request, now)
                continue
            try:
                self._do(act, ctx, now)
            except _ActionError as exc:
                hub.journal.record("fault", now, ctx.session_id, fault="scenario action failed",
                                   action=_action_name(act), error=str(exc), where=str(act.loc))
        return True

    def _do(self, act: m.Action, ctx: "_Ctx", now: float) -> None:
        hub = self.hub
        assert hub is not None
        env = self._env(ctx)
        if isinstance(act, m.Reply):
            assert ctx.session_id is not None  # (the loader takes reply only where a request is answered)
            self._send_built(ctx.session_id, act.message, act.fields, env, ctx)
        elif isinstance(act, m.Fail):
            self._fail(act, ctx, env)
        elif isinstance(act, m.Emit):
            for sid in self._targets(act.to, ctx):
                self._send_built(sid, act.message, act.fields, env, ctx)
        elif isinstance(act, m.Fault):
            for sid in self._connected(self._targets("requester", ctx), f"the {act.kind} fault"):
                sf = self.faults.setdefault(sid, _SessionFaults())
                self._arm(sid, sf, act, now, session_wide=False)
        elif isinstance(act, m.Close):
            for sid in self._connected(self._targets("requester", ctx), "the close"):
                hub.close(sid, "closed by the scenario", abort=act.abort)
        elif isinstance(act, m.Goto):
            self._journal("state", old=self.state, new=act.state)
            self.state = act.state
        elif isinstance(act, m.Default):
            pass  # (without a request there is nothing to answer; with one, _run answers it)
        elif isinstance(act, m.Capture):
            if ctx.request is not None:
                self._capture(act.names, ctx.request)
        elif isinstance(act, m.DeliverCall):
            center = hub.center
            try:
                call_id, deliveries = center.deliver_call(
                    now, csq=substitute(act.csq, env), agent_id=substitute(act.agent, env),
                    ani=substitute(act.ani, env) or "0600000000", dnis=substitute(act.dnis, env) or "7000",
                    variables={k: str(substitute(v, env)) for k, v in act.call_variables.items()},
                    named_variables={k: str(substitute(v, env)) for k, v in act.named_variables.items()},
                    named_arrays={k: [None if v is None else str(substitute(v, env)) for v in vs]
                                  for k, vs in act.named_arrays.items()})
            except KeyError as exc:  # an agent or CSQ the running center does not have
                raise _ActionError(str(exc.args[0]) if exc.args else "unknown name") from None
            except CallDataError as exc:  # a substituted value no call event can carry (no call was made)
                raise _ActionError(str(exc)) from None
            except CallNotOffered as exc:  # the agent logged out or its phone busy (no call was made)
                raise _ActionError(f"deliver_call: {exc}") from None
            call = center.calls.get(call_id)
            for var, fld in act.capture.items():
                self.env[var] = call_id if call is None else _call_value(call, fld)
            hint = center.queue_hint(call_id)  # queued with no agent logged in to take it: said in the journal
            hub.journal.record("happening", now, None, what="call delivered", call_id=call_id, agent=act.agent, csq=act.csq,
                               **({} if hint is None else {"hint": hint}))
            hub.deliver(deliveries)
        elif isinstance(act, m.HangUp):
            try:
                call = substitute(act.call, env)
                device = None if act.device is None else str(substitute(act.device, env))
            except _Unbound as exc:  # a ${variable} not captured (yet)
                raise _ActionError(f"hang_up: {exc}") from None
            try:
                call_id = int(call)
                deliveries = hub.center.hang_up(now, call_id, device)
            except (TypeError, ValueError):
                raise _ActionError(f"hang_up: {call!r} is not a CallID") from None
            except KeyError as exc:
                raise _ActionError(f"hang_up: {exc.args[0]}") from None
            hub.journal.record("happening", now, None, what="hang-up", call_id=call_id, device=device)
            hub.deliver(deliveries)
        elif isinstance(act, m.SetAgentState):
            agent = str(substitute(act.agent, env))
            if agent not in hub.center.agents:
                raise _ActionError(f"unknown agent {agent!r}{hub.center.agent_hint(agent)}")
            try:
                deliveries = hub.center.set_agent_state(now, agent, act.state_value, act.reason_code or 0)
            except ValueError as exc:  # LOGOUT while the agent has a call, READY of an agent logged out ...
                raise _ActionError(str(exc)) from None  # (a fault, no "agent state set": nothing changed)
            hub.journal.record("happening", now, None, what="agent state set", agent=agent, state=act.state)
            hub.deliver(deliveries)
        elif isinstance(act, m.SystemEvent):
            deliveries = hub.center.system_event(now, act.id_value, text=_text(act.text, env),
                                                 wall_time=hub.wall_time(now))
            if act.ccx_status is not None:
                deliveries = [type(d)(d.session_id, _replace(d.message, ccx_status=act.ccx_status)) for d in deliveries]
            wanted = set(self._targets(act.to, ctx))
            hub.journal.record("happening", now, None, what="system event", id=act.id)
            hub.deliver(d for d in deliveries if d.session_id in wanted)
        elif isinstance(act, m.Failover):
            hub.failover(now, act.seconds)
        else:  # pragma: no cover - the loader only builds the actions above
            raise _ActionError(f"unknown action {act!r}")

    def _fail(self, act: m.Fail, ctx: "_Ctx", env: Mapping[str, Any]) -> None:
        hub = self.hub
        assert hub is not None
        text = _text(act.text, env) if act.text is not None else self._text_for(act)
        invoke = getattr(ctx.request, "invoke_id", 0) if ctx.request is not None else 0
        if act.kind == "FAILURE_EVENT":
            msg: Message = W.FailureEvent(status=act.status_code or 0, text=text)
            for sid in self._targets(act.to, ctx):
                hub.send(sid, msg)
            return
        if act.kind == "CONTROL_FAILURE_CONF":
            msg = W.ControlFailureConf(invoke_id=invoke, failure_code=act.failure_code_value or 0,
                                       ccx_error_code=act.peripheral_error_value or 0, text=text)
        else:
            msg = W.FailureConf(invoke_id=invoke, status=act.status_code if act.status_code is not None
                                else int(StatusCode.E_CTI_UNSPECIFIED_FAILURE), text=text)
        assert ctx.session_id is not None  # (the loader takes a *_CONF failure only where a request is answered)
        hub.send(ctx.session_id, msg)  # (to an OPEN_REQ waiting for its answer: the hub refuses the open)

    def _text_for(self, act: m.Fail) -> str | None:
        """Text of a failure: the seed-000 (or other catalog) code named by ``text_code``."""
        if not act.text_code:
            return None
        from mockcti import catalog

        try:
            entry = catalog.default().by_name(act.text_code)
        except Exception:  # noqa: BLE001 - the loader checked the name; keep the bare code if not found
            return f"{act.text_code} ({act.text_code_value})"
        # as the center's own refusals write it; FAILURE_CONF Text, NUL included
        return fit_string(catalog.code_text(entry.name, entry.code, entry.description_en), 255)

    def _send_built(self, sid: int, mt: MessageType, fields: Mapping[str, Any], env: Mapping[str, Any],
                    ctx: "_Ctx") -> None:
        hub = self.hub
        assert hub is not None
        values = dict(substitute(dict(fields), env))
        cls = W.by_name(mt.name)
        for f in cls.SPEC.floating:  # a text field set to one ${…} holding a number takes its text
            if getattr(f, "kind", None) is not None and f.kind.py_type is str:
                v = values.get(f.attr)
                if v is not None and not isinstance(v, str):
                    # captured bytes (client_password …) as text formatted into text is: their UTF-8, bytes
                    # that are not UTF-8 sent as they came (str(b"secret") sent "b'secret'")
                    values[f.attr] = m.as_text(v)
        for item in cls.SPEC.floating:  # NamedVariables/NamedArrays and groups: mappings, checked at load
            v = values.get(item.attr)
            if isinstance(v, (list, tuple)):
                values[item.attr] = tuple(_instances(item, v))
        if "invoke_id" in cls.__dataclass_fields__ and "invoke_id" not in values:
            values["invoke_id"] = getattr(ctx.request, "invoke_id", 0) if ctx.request is not None else 0
        filled = _SERVER_FILLED.get(mt)
        if filled is not None:  # what the server itself puts there (its clock …), for a field left out
            session = hub.session(sid)
            icm = bool(session is not None and session.dialect is not None and session.dialect.profile.icm)
            for attr, fill in filled:
                if attr not in values:
                    value = fill(hub, icm, values)
                    if value is not None:
                        values[attr] = value
        try:
            msg = cls(**values)
        except (TypeError, ValueError) as exc:
            raise _ActionError(f"cannot build {mt.name}: {exc}") from None
        hub.send(sid, msg)

    def _connected(self, sids: list[int], what: str) -> list[int]:
        """``sids``, each still connected: a fault or a close that comes after a delay (``then: [{delay:
        1}, {fault: {kind: half_close}}]``) whose client reset or closed meanwhile found no connection,
        which is a "scenario action failed" fault saying so. It was journalled "fault armed" (a close:
        nothing) and nothing more, and left fault state behind for a session that is gone."""
        hub = self.hub
        assert hub is not None
        gone = [sid for sid in sids if sid not in hub.conns]
        if gone:
            raise _ActionError(f"session {gone[0]} has no connection for {what}: its client has gone")
        return sids

    def _targets(self, to: str, ctx: "_Ctx") -> list[int]:
        hub = self.hub
        assert hub is not None
        open_ = hub.open_sessions()
        if to == "requester":
            if ctx.session_id is not None:
                return [ctx.session_id]
            if not open_:  # (a step's or the timeline's message with no client connected: nobody got it)
                raise _ActionError("no open session to send to")
            return open_[:1]
        if to == "all":
            return open_
        subs = hub.center.subs
        if to == "bridge":
            bridges = hub.center.bridges  # (bridge mode: granted ALL_EVENTS)
            sids = [s for s in open_ if s in bridges]
            if not sids:
                raise _ActionError("no bridge-mode session is open")
            return sids
        if to.startswith("agent:"):
            # captures and the built-ins (${session.agent_id}, ${request.agent_id} …); _Unbound: the action fails
            agent = str(substitute(to.split(":", 1)[1], self._env(ctx)))
            sids = [s for s in open_ if s in subs and subs[s].agent_id == agent]
            if not sids:  # (README: a target with no session is a "scenario action failed" fault)
                raise _ActionError(f"agent {agent!r} has no open session")
            return sids
        raise _ActionError(f"unknown target {to!r}")

    # -- faults ------------------------------------------------------------------------------------------

    def _chance(self, f: m.Fault) -> bool:
        return f.probability >= 1.0 or self.rng.random() < f.probability

    def _arm(self, sid: int, sf: _SessionFaults, f: m.Fault, now: float, *, session_wide: bool) -> None:
        """Apply one fault to session ``sid``: at once (reset, garbage …) or on what it sends next."""
        hub = self.hub
        assert hub is not None
        from mockcti.hub import HalfClose

        p = f.params
        kind = f.kind
        self._journal(f"fault armed: {f.layer}/{kind}", session=sid)
        if kind in ("delay", "dribble") and not (session_wide and f.messages is None):
            sf.once.add(kind)  # a session-wide fault without `messages` shapes everything; others one message
        if kind == "delay":
            sf.delay = float(p.get("seconds", 1.0))
        elif kind == "dribble":
            sf.dribble = (int(p.get("chunk", 1)), float(p.get("interval", 0.01)))
        elif kind == "coalesce":
            sf.coalesce = int(p.get("count", 3))
        elif kind == "reset":
            hub.close(sid, "fault: reset", abort=True)
        elif kind == "half_close":
            hub.act(HalfClose(sid))
        elif kind == "silent_accept":
            sf.muted = True
        elif kind == "stop_reading":
            for a in self._pause_reading(sid, float(p["seconds"]) if "seconds" in p else None, now):
                hub.act(a)
        elif f.layer == "framing":
            session = hub.session(sid)
            if session is not None:  # (a delayed fault action whose client has gone: nobody to send to)
                hub.send_raw(sid, self._malformed(kind, p, session.dialect), note=f"framing fault: {kind}")
        elif kind == "no_heartbeat_conf":
            sf.drop_heartbeat_conf = int(p.get("count", 1_000_000 if session_wide else 1))
        elif kind == "late_open_conf":
            sf.late_open_conf = float(p.get("seconds", 5.0))
        elif kind == "duplicate_event":
            sf.duplicate = int(p.get("count", 1))
            sf.duplicate_type = p.get("message")
        elif kind == "out_of_order_events":
            sf.reorder = int(p.get("count", 2))
        elif kind == "wrong_invoke_id":
            sf.invoke_offset = int(p.get("offset", 1))
            sf.invoke_offset_count = 1_000_000 if session_wide else 1

    def _malformed(self, kind: str, p: Mapping[str, Any], dialect: Dialect) -> bytes:
        """The bytes of a framing fault, for a session's ``dialect`` (reference §2)."""
        from mockcti.wire import encode

        if kind == "garbage":
            return bytes(self.rng.randrange(256) for _ in range(int(p.get("bytes", 32))))
        if kind == "oversized_length":
            return struct.pack(">II", int(p.get("length", 0x7FFFFFFF)), int(MT.HEARTBEAT_CONF))
        if kind == "unknown_message_type":
            return struct.pack(">III", 4, int(p.get("type_id", 0x00FFFF01)), 0)
        base_type = p.get("message")
        sample: Message
        if base_type is None or base_type is MT.SYSTEM_EVENT:
            sample = W.SystemEvent(ccx_status=1024, ccx_time=0, system_event_id=5, system_event_arg1=0,
                                   system_event_arg2=0, system_event_arg3=0, event_device_type=0xFFFF,
                                   text="mockcti framing fault")
        else:
            try:
                sample = W.by_name(base_type.name)()
            except TypeError:
                sample = W.HeartbeatConf(invoke_id=0)
        data = encode(sample, dialect)
        if kind == "truncated":
            cut = int(p.get("bytes", max(1, (len(data) - 8) // 2)))
            return data[: max(8, len(data) - cut)]
        tw, lw = dialect.tag_width, dialect.length_width
        if kind == "unknown_tag":
            tag = int(p.get("tag", 0xF0 if tw == 1 else 0xFFF0))
            extra = tag.to_bytes(tw, "big") + (2).to_bytes(lw, "big") + b"x\x00"
            body = data[8:] + extra
            return struct.pack(">II", len(body), struct.unpack(">I", data[4:8])[0]) + body
        if kind == "bad_floating_length":
            # the last floating field claims more bytes than the frame holds
            damaged = bytearray(data[8:])
            text = b"mockcti framing fault\x00"
            pos = damaged.rfind(text)
            if pos >= lw:
                damaged[pos - lw:pos] = (len(text) + 40).to_bytes(lw, "big")
            else:
                damaged += (int(p.get("tag", 1))).to_bytes(tw, "big") + (200).to_bytes(lw, "big") + b"ab"
            return struct.pack(">II", len(damaged), struct.unpack(">I", data[4:8])[0]) + bytes(damaged)
        raise _ActionError(f"unknown framing fault {kind!r}")

    # -- steps, timeline, end ------------------------------------------------------------------------------

    def _current_step(self) -> m.Step | None:
        steps = self.scenario.steps
        return steps[self.step_index] if self.step_index < len(steps) else None

    def _advance_steps(self, now: float) -> None:
        """Run send/do/wait steps until the next expect step (or the end of the flow)."""
        hub = self.hub
        assert hub is not None
        if self.detached:
            return
        while True:
            step = self._current_step()
            if step is None:
                if not self.steps_done:
                    self.steps_done = True
                    self._journal("all steps done")
                    self._maybe_end_after_steps()
                return
            if isinstance(step, m.ExpectStep):
                self._step_deadline = now + step.timeout if step.timeout is not None else None
                self._step_started = now  # (a request before this took no part in the step: the near miss says so)
                return
            if isinstance(step, m.WaitStep):
                # the flow stays on the wait step until it is over (the next expect step takes nothing before)
                hub.schedule(now + step.seconds, functools.partial(self._wait_over, step), self)
                return
            if isinstance(step, m.DoStep):
                # the flow stays on a do step until its last action has run (a delay in it included)
                if not self._run(step.actions, _Ctx(None, None), now, then=functools.partial(self._do_over, step)):
                    return
                self.step_index += 1
                self._step_done(step, now, advance=False)
                continue
            self.step_index += 1
            if isinstance(step, m.SendStep):
                self._run((step.emit,), _Ctx(None, None), now)
                self._step_done(step, now, advance=False)

    def _do_over(self, step: m.DoStep, now: float) -> None:
        if self._current_step() is step:
            self.step_index += 1
            self._step_done(step, now)

    def _wait_over(self, step: m.WaitStep) -> None:
        hub = self.hub
        assert hub is not None
        if self._current_step() is step:
            self.step_index += 1
            self._step_done(step, hub.now)

    def _step_done(self, step: m.Step, now: float, *, advance: bool = True) -> None:
        hub = self.hub
        assert hub is not None
        if self.detached:  # (a late OPEN_CONF that completes after the unload: the flow stays where it was)
            return
        for h in self.scenario.timeline:
            if h.after == step.id:
                hub.schedule(now + h.delay, functools.partial(self._happen, h), self)
        if advance:
            self._advance_steps(now)

    def _happen(self, h: m.Happening) -> None:
        hub = self.hub
        assert hub is not None
        self._journal("timeline", happening=h.id)
        self._run(h.actions, _Ctx(None, None), hub.now)

    def _count_for_end(self, r: Received) -> None:
        """``end: {when: all_expectations_met}``: count this request, end once every expectation holds."""
        counts = self._expect_counts
        env = self._received_env(r)
        for i, exp in enumerate(self.scenario.expect):
            if exp.match.matches(r.message, state=r.state, agent=r.agent, env=env):
                counts[i] += 1
        if all(exp.satisfied_by(n) for exp, n in zip(self.scenario.expect, counts)):
            self._finish("all expectations met")

    def _maybe_end_after_steps(self) -> None:
        if self.scenario.end.when == "all_steps_done" and self.steps_done:
            self._finish("all steps done")

    def _finish(self, reason: str) -> None:
        if not self.finished and not self.detached:
            self.finished = True
            self.end_reason = reason
            self._journal("scenario ended", reason=reason)

    # -- verification ----------------------------------------------------------------------------------------

    def verify(self, now: float | None = None) -> list["ReportExpectation"]:
        """Check every expectation (and the step flow) against what was received."""
        from mockcti.report import Expectation as R

        name = self.scenario.name
        out: list[R] = []
        firsts: list[tuple[int, m.Expectation]] = []
        envs = [self._received_env(r) for r in self.received] if self.scenario.expect else []
        for exp in self.scenario.expect:
            hits = [i for i, r in enumerate(self.received)
                    if exp.match.matches(r.message, state=r.state, agent=r.agent, env=envs[i])]
            count = len(hits)
            met = exp.satisfied_by(count)
            want = ("never" if exp.never else f"{exp.min}" + ("+" if exp.max is None else
                                                              ("" if exp.max == exp.min else f"..{exp.max}"))
                    + " time(s)")
            detail = f"{exp.match.message.name}: expected {want}, received {count}"
            near = None if met or count else self._near_miss(exp.match)
            out.append(R(scenario=name, name=exp.id, met=met, detail=detail, near_miss=near, **_at(exp.loc)))
            if hits:
                firsts.append((hits[0], exp))
        if self.scenario.expect_order:
            order = [e.id for _, e in sorted(firsts, key=lambda t: t[0])]
            declared = [e.id for e in self.scenario.expect if e.id in order]
            ok = order == declared
            out.append(R(scenario=name, name="expect_order", met=ok,
                         detail="in order" if ok else (f"first arrivals in order {', '.join(order)}; declared "
                                                       f"{', '.join(declared)}"),
                         **_at(self.scenario.expect_order_loc)))
        # every step is a case of its own, in every run (a CI server follows each by its name): done,
        # failed (timed out, or where the flow still stood when verified) or, behind that, not reached
        failed = {id(step): why for step, why in self.step_failures}
        pending = self._current_step()
        stopped: str | None = None  # the step the flow stopped at
        for step in self.scenario.steps:
            case = f"step {step.id}"
            if stopped is not None:
                out.append(R(scenario=name, name=case, met=False, skipped=True,
                             detail=f"not reached: the flow stopped at step {stopped}", **_at(step.loc)))
                continue
            if id(step) in failed or step is pending:
                if isinstance(step, m.ExpectStep):
                    why = failed.get(id(step)) or f"still waiting for {step.match.message.name}"
                    near = self._near_miss(step.match, reached=self._step_started - self.t0)
                else:
                    why, near = failed.get(id(step)) or "the flow did not reach this step", None
                out.append(R(scenario=name, name=case, met=False, detail=why, near_miss=near, **_at(step.loc)))
                stopped = step.id
            else:
                out.append(R(scenario=name, name=case, met=True, detail=_step_done_text(step), **_at(step.loc)))
        return out

    def _near_miss(self, match: m.Match, *, reached: float | None = None) -> str | None:
        """The received request closest to ``match`` and the first predicate it fails; for an
        expect step, ``reached`` (seconds into the scenario) is when the flow came to it: a request
        that matches it but came before then is said to be early."""
        best: tuple[int, Received, str] | None = None
        for r in heapq.merge(self.received, self.others, key=lambda r: r.seq):
            same_type = r.message.TYPE is match.message
            score = 100 if same_type else 0
            failed = None if same_type else f"message is {r.message.TYPE.name}, not {match.message.name}"
            env = self._received_env(r) if match.fields else self.env
            for p in match.fields:
                if p.test(getattr(r.message, p.field, None), env):
                    score += 1
                elif failed is None:
                    try:
                        wanted = _shown(match.message, p.field, substitute(p.value, env))
                    except KeyError:  # a ${name} never captured: the condition could not hold
                        wanted = f"{p.value!r} (no value)"
                    failed = (f"{p.field} {p.op} {wanted} failed: "
                              f"got {_shown(r.message.TYPE, p.field, getattr(r.message, p.field, None))}")
            if failed is None and match.states is not None and r.state not in match.states:
                failed = f"scenario state was {r.state!r}, not one of {list(match.states)}"
            if failed is None and match.agent is not None and r.agent != match.agent:
                failed = f"sent by agent {r.agent!r}, not {match.agent!r}"
            if failed is None and reached is not None and r.at < reached:
                failed = f"it matches, but came before the flow reached this step (at {reached:.3f} s)"
            if best is None or score >= best[0]:  # ties: the latest request is the most telling
                best = (score, r, failed or "matched too late or too often")
        if best is None:
            # whether a client reached the server at all: one that connects elsewhere (the quick start's 42027, not
            # CTI_HOST/CTI_PORT) and one that connects and sends nothing need different fixes
            if not self.connections_seen:
                return "no request was received at all: no client connected to the server"
            return (f"no request was received at all ({self.connections_seen} connection(s), "
                    "no request on any)")
        _, r, failed = best
        return f"closest: {r.message.TYPE.name} from session {r.session_id} at {r.at:.3f} s; {failed}"

    # -- helpers ---------------------------------------------------------------------------------------------

    def _received(self, sid: int, message: Message, now: float) -> Received:
        """A request as the expectations see it: when, from which session and agent, in which state."""
        hub = self.hub
        sub = hub.center.subs.get(sid) if hub is not None else None
        if sub is not None:
            agent, ext, instr = sub.agent_id, sub.agent_extension, sub.agent_instrument
        else:
            req = getattr(hub.session(sid) if hub is not None else None, "open_req", None)
            agent, ext, instr = (getattr(req, "agent_id", None), getattr(req, "agent_extension", None),
                                 getattr(req, "agent_instrument", None))
        self._seq += 1
        r = Received(now - self.t0, sid, message, self.state, agent, ext, instr, self._seq)
        (self.received if message.TYPE in self._counted_types else self.others).append(r)
        return r

    def _received_env(self, r: Received) -> "_RequestEnv":
        """The substitutions of an expectation tested on the request ``r``, as a rule sees them when
        that request comes: the captures, ``${state}`` then, ``${seed}``, ``${session.*}`` of its
        session and ``${request.*}`` of the request itself."""
        env = _RequestEnv(self.env)
        env.request = r.message
        env["state"] = r.state
        env["seed"] = self.seed
        env["session.id"] = r.session_id
        if r.agent is not None:
            env["session.agent_id"] = r.agent
            env["session.agent_extension"] = r.extension
            env["session.agent_instrument"] = r.instrument
        env["session.invoke_id"] = getattr(r.message, "invoke_id", None)
        return env

    def _env(self, ctx: "_Ctx") -> "_Env":
        env = _Env(self.env)
        env["state"] = self.state
        env["seed"] = self.seed
        if ctx.session_id is not None:
            env["session.id"] = ctx.session_id
            hub = self.hub
            sub = hub.center.subs.get(ctx.session_id) if hub is not None else None
            if sub is not None:
                env["session.agent_id"] = sub.agent_id
                env["session.agent_extension"] = sub.agent_extension
                env["session.agent_instrument"] = sub.agent_instrument
        if ctx.request is not None:
            env["session.invoke_id"] = getattr(ctx.request, "invoke_id", None)
            mt = ctx.request.TYPE
            for name in ctx.request.__dataclass_fields__:
                env[f"request.{name}"] = m.named_value(mt, name, getattr(ctx.request, name))
        return env

    def _capture(self, names: Mapping[str, str], message: Message) -> None:
        for var, fld in names.items():
            self.env[var] = m.named_value(message.TYPE, fld, getattr(message, fld, None))

    def _journal(self, what: str, **data: Any) -> None:
        hub = self.hub
        if hub is not None:
            hub.journal.record("happening", hub.now, data.pop("session", None), what=f"scenario: {what}", **data)


def _clock(hub: Any, icm: bool, values: Mapping[str, Any]) -> int:
    return int(hub.wall_time(hub.now)) & 0xFFFFFFFF


#: the fields of an ``emit``/``reply`` message that the server fills as it does in its own messages when the
#: scenario leaves them out (a value written, 0 included, is sent as written): each (attr, fill(hub, icm,
#: values) -> value or None). Left out, they were the type's zero: a SYSTEM_EVENT dated 1970 (CCXTime 0), with
#: CCXStatus 0 (no CCXStatus value; the center's are CCX_IN_SERVICE …) and EventDeviceType 0 (a device type,
#: where "no device" is 0xFFFF, reference §5.1). Every other field left out is its type's zero, as written.
_SERVER_FILLED: dict[MessageType, tuple[tuple[str, Any], ...]] = {
    MessageType.SYSTEM_EVENT: (
        ("ccx_time", _clock),
        ("ccx_status", lambda hub, icm, values: hub.center.system_status(icm)),
        ("event_device_type", lambda hub, icm, values: 0xFFFF if values.get("event_device_id") is None else None),
    ),
    # UnifiedCCXOnline: the center's, as the hub's own OPEN_CONF (left out, 0 told the client the server it had
    # just opened was offline); ICM's PGStatus (0: all well) and ICMCentralControllerTime (the server's clock),
    # which UCCX reserves (0)
    MessageType.OPEN_CONF: (
        ("unified_ccx_online", lambda hub, icm, values: int(hub.center.online)),
        ("pg_status", lambda hub, icm, values: hub.center.system_status(True) if icm else None),
        ("icm_central_controller_time", lambda hub, icm, values: _clock(hub, icm, values) if icm else None),
    ),
}


def _text(value: Any, env: Mapping[str, Any]) -> str | None:
    """A Text (fail, failure_event, system_event) with its ``${…}`` substituted: one ``${name}``
    holding a number (``${request.invoke_id}``) is that number's text, an absent captured field no
    Text; a number there could not be encoded (the message was not sent)."""
    v = substitute(value, env)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "surrogateescape")
    return str(v)


def _call_value(call: Any, fld: str) -> Any:
    """What a call capture names (schema: call_id | connection_device_id | ani | dnis): the device is
    the one the call was delivered to (an agent's phone; None while the call waits in a queue)."""
    if fld in ("call_id", "CallID"):
        return call.id
    if fld == "connection_device_id":
        legs = call.agent_legs()
        return legs[0].device if legs else None
    if fld in ("ani", "dnis"):
        return getattr(call, fld)
    raise KeyError(fld)  # (the loader allows only the four above)


@dataclass(frozen=True)
class _Ctx:
    """Where an action runs: the session and request it answers (None for timeline and steps)."""

    session_id: int | None
    request: Message | None


class _ActionError(Exception):
    """A scenario action could not be carried out (journalled as a fault, never raised further)."""


class _Unbound(_ActionError, KeyError):
    """A ``${name}`` with no value: not captured yet, or ``request.*`` where there is no request.
    An action using it fails (a journalled fault); a condition using it does not hold (a KeyError
    to :meth:`Predicate.test`)."""

    def __str__(self) -> str:
        return str(self.args[0])


class _Env(dict):
    """The substitution environment: a missing name raises :class:`_Unbound`, never a bare KeyError."""

    def __missing__(self, name: str) -> Any:
        if name.endswith(m.NUMBER_SUFFIX):  # ${request.agent_state.number}: the number, not the name
            try:
                value = self[name[:-len(m.NUMBER_SUFFIX)]]
            except _Unbound:
                pass
            else:
                return int(value) if isinstance(value, m.EnumValue) else value
        raise _Unbound(f"no value for ${{{name}}} (not captured yet, or no request here)")


def _step_done_text(step: m.Step) -> str:
    """What a step that is done did, for its report case."""
    if isinstance(step, m.ExpectStep):
        return f"received {step.match.message.name}"
    if isinstance(step, m.WaitStep):
        return f"waited {step.seconds:g} s"
    if isinstance(step, m.SendStep):
        return f"sent {step.emit.message.name}"
    return "done"


class _RequestEnv(_Env):
    """An :class:`_Env` whose ``${request.<field>}`` are the fields of ``request`` (looked up when used)."""

    request: Message | None = None

    def __missing__(self, name: str) -> Any:
        req = self.request
        if req is not None and name.startswith("request.") and name[8:] in req.__dataclass_fields__:
            return m.named_value(req.TYPE, name[8:], getattr(req, name[8:]))
        return super().__missing__(name)


def _at(loc: m.Location) -> dict[str, Any]:
    """A report entry's ``file`` and ``line``: where the scenario states it (nothing when unknown)."""
    if loc == m.Location("<scenario>", None, ""):  # built in code, not read from a file
        return {}
    return {"file": loc.file, "line": loc.line}


def _replace(msg: Message, **kw: Any) -> Message:
    import dataclasses

    return dataclasses.replace(msg, **kw)


def _instances(item: Any, values: Any) -> Any:
    """The instances a repeated field of an emitted or replied message takes, from the scenario's
    mappings (:func:`mockcti.scenario.loader._repeated_value` checked them): NamedVariable, NamedArray
    or the group's class, a nested group's too; a text member given a number (a ``${…}``) takes its text."""
    from mockcti.wire.spec import Group
    from mockcti.wire.types import NAMEDARRAY, NAMEDVAR, NamedArray, NamedVariable

    for v in values:
        if not isinstance(v, Mapping):  # already an instance (e.g. ${request.named_variables})
            yield v
        elif isinstance(item, Group):
            members = {mb.attr: mb for mb in item.members}
            kw = {}
            for key, x in v.items():
                mb = members.get(key)
                if isinstance(mb, Group) and isinstance(x, (list, tuple)):
                    x = tuple(_instances(mb, x))
                elif mb is not None and mb.kind.py_type is str and x is not None and not isinstance(x, str):
                    x = str(x)
                kw[key] = x
            yield item.cls(**kw)
        elif item.kind is NAMEDVAR:
            yield NamedVariable(name=str(v["name"]), value=str(v["value"]))
        elif item.kind is NAMEDARRAY:
            yield NamedArray(index=int(v["index"]), name=str(v["name"]), value=str(v["value"]))
        else:
            yield v


def _shown(message_type: MessageType, attr: str, value: Any) -> str:
    """``value`` as a near miss shows it: an enumerated field's number with its name
    (``AGENT_STATE_READY (3)``; the scenario wrote the name, the numbers alone read "equals 3 failed:
    got 0"), a list of them each so; anything else as its repr."""
    from mockcti.wire.enums import enum_name
    from mockcti.wire.render import field_enum

    enum_cls = field_enum(message_type, attr)

    def one(v: Any) -> str:
        if enum_cls is not None and isinstance(v, int) and not isinstance(v, bool):
            return f"{enum_name(enum_cls, v)} ({v})"
        return repr(v)

    if isinstance(value, (list, tuple)) and enum_cls is not None:
        return "[" + ", ".join(one(v) for v in value) + "]"
    return one(value)
