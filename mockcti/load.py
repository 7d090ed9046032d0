"""``mockcti serve --load agents=N,calls_per_s=R,handle_time=T``: a SIPp-style call generator.

Owns the load mode of ``mockcti serve``: inbound calls arrive at a constant rate (``calls_per_s``,
SIPp ``-r``), optionally capped in total (``limit=``, SIPp ``-m``: once they are all over serve ends, unless
``at_limit=serve``) and in concurrency (``max=``, SIPp ``-l``), spread round-robin over the center's CSQs. An agent that no client drives (no open
agent-mode session for it) is made READY whenever it is idle — at start, after each call whatever
the center's ``after_call_state``, and when a client that logged it out or left it NOT_READY goes
away; a call offered to such an agent is answered about ``answer_after`` seconds later and cleared
``handle_time`` seconds after that — a call it did not place too (the control API's, a client's
call to the agent's extension: counted apart, ``other_answered``). Agents that a client drives are
left alone: the client answers (or not) and clears its calls; a call a client answered whose agent no client drives any more (its
connection dropped) is cleared ``handle_time`` seconds after the generator notices. Callers take part
too: with ``caller_hangup=P`` that fraction of the answered calls (auto-answered or answered by a
client) is ended by the caller ``handle_time`` seconds after the answer, and with
``abandon_after=S`` a call no agent has answered S seconds after it arrived is abandoned (the
caller hangs up, in the queue or while ringing; ``patience=exponential``: each caller's wait drawn
from an exponential distribution of mean S, without random numbers) — both through ``ContactCenter.hang_up``. The
agents it drives also hold (``hold=P``, for ``hold_time``), transfer (``transfer=P``) and conference
(``conference=P``) that share of the generated calls they answer, each a script of timed steps on
the call (:meth:`LoadGenerator._plan_mix`): a consultative transfer or conference goes to an idle
READY agent it drives (none: ``transfer_skipped``), which answers ``answer_after`` later.

Pure and timer-driven: :class:`LoadGenerator` runs only from :meth:`Hub.schedule` timers, acts on the
center through its request functions (a virtual bridge-mode subscription that sees no events sends
ANSWER_CALL_REQ / CLEAR_CONNECTION_REQ, HOLD_CALL_REQ / RETRIEVE_CALL_REQ, CONSULT_CALL_REQ and
TRANSFER_CALL_REQ / CONFERENCE_CALL_REQ naming the agent's device), and reads no clock. The only
asyncio here is the once-a-second statistics display of the serve feature.

Every generated call carries ``call_variable1 = "mockcti-load t=<arrival time>"`` (seconds on the
hub's clock) so a client can measure happening -> event latency.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# mockcti.wire is imported anyway when the CLI builds its parser (mockcti.journal, mockcti.control)
from mockcti.center.core import NOT_JOURNALLED
from mockcti.hub import CATCH_UP_SLICE, PATIENCE, CatchUp, caller_patience
from mockcti.located import counted
from mockcti.wire import MessageType
from mockcti.wire.enums import AgentState, LocalConnectionState, ServiceMask
from mockcti.wire.messages import (AnswerCallReq, ClearConnectionReq, ConferenceCallReq, ConsultCallReq, HoldCallReq,
                                   RetrieveCallReq, TransferCallReq)

__all__ = ["LoadSpec", "LoadSpecError", "parse_load_spec", "center_config_for", "unserved_csqs", "LoadGenerator",
           "LoadStats", "InboundStatistics", "stats_line", "stats_record", "add_serve_arguments", "serve_feature",
           "ALLOWED_KEYS"]

#: key -> (meaning, converter)
ALLOWED_KEYS = {
    "agents": "number of agents the generator drives (a center with N agents is built when N exceeds the "
              "configured ones; with fewer, its first N)",
    "calls_per_s": "call arrival rate, calls per second (constant rate)",
    "handle_time": "seconds an auto-answered call lasts before it is cleared (default 30)",
    "limit": "total number of calls, then arrivals stop and, once they are all over, serve ends (SIPp -m; "
             "default: no limit)",
    "at_limit": "with limit=L, what serve does once the L calls are over: 'exit' (print the summary and end, exit "
                "status 0, or 1 when any of the generator's own requests was refused, as SIPp -m; the default) or 'serve' (keep serving, the agents it drives still answering, "
                "until Ctrl-C or SIGTERM)",
    "max": "maximum concurrent generated calls; arrivals above it are skipped (default: no limit)",
    "answer_after": "seconds an auto-answering agent lets the phone ring (default 1)",
    "caller_hangup": "fraction (0..1) of answered calls the caller ends, handle_time after the answer (default 0)",
    "abandon_after": "seconds after which a caller no agent has answered hangs up (default: never)",
    "patience": "how long callers wait, with abandon_after=S: 'fixed' (every caller S seconds, the default) or "
                "'exponential' (spread exponentially around a mean of S, the same spread every run)",
    "hold": "fraction (0..1) of the calls its agents answer that the agent holds once, hold_time seconds (default 0.2)",
    "hold_time": "seconds a held call stays on hold (default: handle_time/5)",
    "transfer": "fraction (0..1) of the calls its agents answer that the agent transfers, consultatively, to "
                "another idle agent it drives (default 0.1)",
    "conference": "fraction (0..1) of the calls its agents answer that the agent conferences with another idle "
                  "agent it drives, then leaves to it (default 0.05; transfer + conference at most 1)",
}
_INTS = {"agents", "limit", "max"}
#: keys whose value is a word, and the words each takes
_WORDS = {"patience": PATIENCE, "at_limit": ("exit", "serve")}
_SHARES = ("caller_hangup", "hold", "transfer", "conference")

_READY = AgentState.AGENT_STATE_READY
_LOGIN, _LOGOUT = AgentState.AGENT_STATE_LOGIN, AgentState.AGENT_STATE_LOGOUT
_ALERTING = LocalConnectionState.LCS_ALERTING
_CONNECT, _HELD = LocalConnectionState.LCS_CONNECT, LocalConnectionState.LCS_HOLD
#: agent states of an agent on a call (RESERVED: ringing): where a generated call that left its queue is found
_ON_CALL = frozenset({AgentState.AGENT_STATE_RESERVED, AgentState.AGENT_STATE_TALKING, AgentState.AGENT_STATE_HOLD})
_REFUSALS = frozenset({MessageType.FAILURE_CONF, MessageType.CONTROL_FAILURE_CONF})
# where a tracked call is: just placed, at an agent (looked at every sweep), waiting in a queue (looked at in turn)
_NEW, _AT_AGENT, _QUEUED = 0, 1, 2

#: the virtual session ID the generator acts through (never a real connection: the hub drops its deliveries)
LOAD_SESSION = -4242


class LoadSpecError(ValueError):
    """A bad ``--load`` value; the message names the key and the allowed keys."""


@dataclass(frozen=True)
class LoadSpec:
    calls_per_s: float
    agents: int | None = None
    handle_time: float = 30.0
    limit: int | None = None
    at_limit: str = "exit"  # or "serve" (see ALLOWED_KEYS, LoadGenerator.on_finished)
    max: int | None = None
    answer_after: float = 1.0
    caller_hangup: float = 0.0
    abandon_after: float | None = None
    patience: str = "fixed"  # or "exponential" (see ALLOWED_KEYS, mockcti.hub.caller_patience)
    # the call mix of the calls the generator's agents answer (typical, not measured from a real center)
    hold: float = 0.2
    hold_time: float | None = None  # None: handle_time / 5
    transfer: float = 0.1
    conference: float = 0.05

    @property
    def hold_seconds(self) -> float:
        return self.handle_time / 5 if self.hold_time is None else self.hold_time

    @property
    def plain(self) -> bool:
        """No hold, transfer or conference of the generator's own: queue, ring, answer, talk, hang up."""
        return not (self.hold or self.transfer or self.conference)


#: bounds of --load far beyond any contact center (1e9 calls a second spun the timer loop past
#: SIGTERM; 5,000,000 agents took minutes to build, deaf to SIGTERM)
MAX_CALLS_PER_S = 1_000
MAX_AGENTS = 100_000


def parse_load_spec(text: str) -> LoadSpec:
    """Parse ``agents=N,calls_per_s=R,handle_time=T[,limit=L][,max=M][,answer_after=A]...`` (the
    keys of :data:`ALLOWED_KEYS`)."""
    allowed = ", ".join(ALLOWED_KEYS)
    values: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep:
            raise LoadSpecError(f"--load: {part!r} is not key=value; allowed keys: {allowed}")
        if key not in ALLOWED_KEYS:
            raise LoadSpecError(f"--load: unknown key {key!r}; allowed keys: {allowed}")
        if key in values:
            raise LoadSpecError(f"--load: key {key!r} given twice")
        if key in _WORDS:
            if raw not in _WORDS[key]:
                raise LoadSpecError(f"--load: key {key!r} must be one of {', '.join(_WORDS[key])}, not {raw!r}")
            values[key] = raw
            continue
        try:
            value: Any = int(raw) if key in _INTS else float(raw)
        except ValueError:
            kind = "an integer" if key in _INTS else "a number"
            raise LoadSpecError(f"--load: key {key!r} must be {kind}, not {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise LoadSpecError(f"--load: key {key!r} must be finite, not {raw!r}")
        if key == "calls_per_s" and not 0 < value <= MAX_CALLS_PER_S:
            raise LoadSpecError(f"--load: key 'calls_per_s' must be > 0 and at most {MAX_CALLS_PER_S:,}, not {raw!r}")
        if key == "agents" and value > MAX_AGENTS:
            raise LoadSpecError(f"--load: key 'agents' must be at most {MAX_AGENTS:,}, not {raw!r}")
        if key in ("agents", "limit", "max") and value < 1:
            raise LoadSpecError(f"--load: key {key!r} must be >= 1, not {raw!r}")
        if key in ("handle_time", "answer_after", "hold_time") and value < 0:
            raise LoadSpecError(f"--load: key {key!r} must be >= 0, not {raw!r}")
        if key in _SHARES and not 0 <= value <= 1:
            raise LoadSpecError(f"--load: key {key!r} must be between 0 and 1, not {raw!r}")
        if key == "abandon_after" and value <= 0:
            raise LoadSpecError(f"--load: key 'abandon_after' must be > 0, not {raw!r}")
        values[key] = value
    if "calls_per_s" not in values:
        raise LoadSpecError(f"--load: key 'calls_per_s' is required; allowed keys: {allowed}")
    if values.get("patience", "fixed") != "fixed" and "abandon_after" not in values:
        raise LoadSpecError("--load: key 'patience' goes with abandon_after=S (the callers' mean patience, "
                            "seconds); without it no caller abandons")
    if "at_limit" in values and "limit" not in values:
        raise LoadSpecError("--load: key 'at_limit' goes with limit=L (the total number of calls); without it "
                            "the calls never run out")
    # a call is transferred or conferenced, not both: the default of the one not given gives way
    # (transfer=1 alone transfers every call), two given must add up to at most 1
    for key, other in (("transfer", "conference"), ("conference", "transfer")):
        if key in values and other not in values:
            values[other] = min(getattr(LoadSpec, other), round(1.0 - values[key], 12))
    spec = LoadSpec(**values)
    if spec.transfer + spec.conference > 1 + 1e-9:
        raise LoadSpecError(f"--load: keys 'transfer' and 'conference' must add up to at most 1 (a call is "
                            f"transferred or conferenced, not both), not {spec.transfer:g} + {spec.conference:g}")
    return spec


def center_config_for(spec: LoadSpec, base: Any) -> Any:
    """``base`` when it has enough agents; otherwise a center with ``spec.agents`` agents
    (IDs 1001.., extensions/instruments 3001.., password 1234) in ``base``'s CSQs (Sales and Support
    when it has none), every agent in every CSQ."""
    import dataclasses

    from mockcti.center.config import AgentConfig, CSQConfig

    if spec.agents is None or spec.agents <= len(base.agents):
        return base
    csqs = base.csqs or (CSQConfig("Sales", 1), CSQConfig("Support", 2))
    names = tuple(c.name for c in csqs)
    agents = tuple(AgentConfig(id=str(1000 + n), extension=str(3000 + n), instrument=str(3000 + n), password="1234",
                               csqs=names, team="Team1")
                   for n in range(1, spec.agents + 1))
    return dataclasses.replace(base, agents=agents, csqs=csqs, calls=())


def unserved_csqs(config: Any) -> list[str]:
    """The CSQs of ``config`` that no agent is in: the generated calls sent there (round-robin) are
    never routed; they wait in the queue until their caller abandons."""
    served = {name for agent in config.agents for name in agent.csqs}
    return [c.name for c in config.csqs if c.name not in served]


@dataclass
class LoadStats:
    offered: int = 0  # calls generated
    answered: int = 0  # generated calls that reached an agent's CONNECT state (auto or by a client)
    auto_answered: int = 0
    cleared: int = 0  # generated calls that are over (offered = cleared + active + lost)
    skipped: int = 0  # arrivals not placed because ``max`` concurrent calls were up
    errors: int = 0  # auto answer/clear requests the center refused
    abandoned: int = 0  # calls whose caller hung up before an agent answered (``abandon_after``)
    caller_ended: int = 0  # answered calls the caller ended (``caller_hangup``)
    lost: int = 0  # calls in progress when the control API or a scenario replaced the center (gone with it)
    #: calls the generator did not place (the control API's POST /calls, --calls-per-minute, a scenario,
    #: a client's call or consultation to an agent's extension) that one of its agents answered; not
    #: in the counts above
    other_answered: int = 0
    # the call mix of the auto-answered calls (``hold``, ``transfer``, ``conference``): calls the center
    # confirmed it for
    held: int = 0
    transferred: int = 0
    conferenced: int = 0
    #: calls drawn for a transfer or a conference that went on without it: no idle agent to consult
    transfer_skipped: int = 0

    def as_dict(self, active: int) -> dict[str, int]:
        return {"offered": self.offered, "answered": self.answered, "auto_answered": self.auto_answered,
                "cleared": self.cleared, "active": active, "skipped": self.skipped, "errors": self.errors,
                "abandoned": self.abandoned, "caller_ended": self.caller_ended, "lost": self.lost,
                "other_answered": self.other_answered, "held": self.held, "transferred": self.transferred,
                "conferenced": self.conferenced, "transfer_skipped": self.transfer_skipped}


@dataclass
class _Script:
    """What the agent that answered a generated call does on it (hold, transfer, conference), step
    by step: each step is a timer at its planned time or, when the one before it ran late, right
    after it (see LoadGenerator._step)."""
    start: float  # when it was answered
    device: str  # the phone of the generator's agent on the call (the consulted agent's once it took it)
    hold: bool
    kind: str | None  # "transfer", "conference" or None
    caller_ends: bool  # the caller hangs up at the end (caller_hangup), else the agent clears
    consult_id: int | None = None  # the consultation call, while there is one
    consulted: str | None = None  # the consulted agent's phone


def _script_of(t: "_Tracked") -> _Script:
    """The script of a call whose script steps run (a step is scheduled only once the script is set)."""
    s = t.script
    assert s is not None
    return s


@dataclass
class _Tracked:
    answered: bool = False
    answer_due: bool = False  # an auto answer is scheduled
    end_planned: bool = False  # the caller's hang-up after handle_time is scheduled (or was decided against)
    ending: bool = False  # the caller's hang-up or the generator's clear is scheduled: the call ends by itself
    where: int = _NEW  # _AT_AGENT (some leg is an agent's) or _QUEUED, as of the last look
    in_turn: bool = False  # in the generator's turn of queued calls
    variables: dict[str, str] = field(default_factory=dict)
    #: False: a call from elsewhere that rang at an agent the generator drives (answered and cleared
    #: like its own, counted apart: ``other_answered``)
    generated: bool = True
    script: _Script | None = None  # a hold, transfer or conference planned for it


class LoadGenerator:
    """Generates calls on the hub's timers. ``start(hub, now)``; ``stop()``; read :attr:`stats`.

    The center it drives is ``hub.center``: when the control API (POST /reset, POST /scenario with
    a center) or a scenario puts in another one, the generator notices at its next timer and starts
    over on it (its virtual session, idle agents READY, the new center's CSQs); the calls it followed
    went with the old center and are counted as ``lost``, not ``cleared``.

    What a sweep costs does not grow with the queue: it looks at every agent (idle ones it drives
    are made READY; a generated call routed from a queue is found at its agent), at every call that
    is at an agent, and at ``queued_looks`` of the queued calls, in turn (they change only when
    routed — found at the agent — or when a caller hangs up: the generator's own abandon looks at
    once; a hang-up from outside, the control API or a scenario, is noticed within a turn)."""

    #: queued calls looked at per sweep
    queued_looks = 32
    #: most arrivals placed in one run of the timers when catching up (see _arrive, hub.CatchUp)
    burst = CATCH_UP_SLICE

    def __init__(self, spec: LoadSpec, *, auto_agents: Any = None, sweep_interval: float = 0.25) -> None:
        self.spec = spec
        #: called once (from a sweep) when the run is over: ``limit`` calls offered and every one of them
        #: ended (:attr:`finished`); ``serve --load ...,limit=L`` ends on it (``at_limit=exit``)
        self.on_finished: Any = None
        self._finished_told = False
        self.stats = LoadStats()
        self.auto_agents = set(auto_agents) if auto_agents is not None else None  # None: see _attach
        #: the agents it may drive in the current center: ``auto_agents``; else the first ``spec.agents``
        #: of a center that has more; None: every agent (no client driving it)
        self.driven: set[str] | None = self.auto_agents
        self._driven_order: list[str] | None = None
        self.sweep_interval = sweep_interval
        self.calls: dict[int, _Tracked] = {}
        self._others = 0  # how many of ``calls`` the generator did not place (not ``active``)
        self._at_agents: set[int] = set()  # CallIDs of the tracked calls at an agent
        self._turn: deque[int] = deque()  # CallIDs of queued tracked calls, to look at in turn
        self.hub: Any = None
        self.running = False
        self.started_at = 0.0
        self._center: Any = None  # the center the generator set up (its session, its CSQs)
        self._csqs: itertools.cycle | None = None
        self._n = 0
        self._invoke = itertools.count(1)
        self._hangup_share = 0.0  # caller_hangup accumulated: the caller ends a call each time it reaches 1
        # the mix, accumulated the same way: a hold, a consultation (transfer + conference), and of
        # the consultations the transfers (transfer / (transfer + conference) of them)
        self._hold_share = self._consult_share = self._transfer_share = 0.0
        #: consultation call ID -> the generated call it is about (not offered calls: not in ``calls``)
        self._consults: dict[int, int] = {}
        self._pace = CatchUp(self.burst)  # when the next arrival's timer runs (anchored, caught up in slices)

    # -- life cycle -------------------------------------------------------------------------------

    def start(self, hub: Any, now: float) -> None:
        self.hub, self.running, self.started_at = hub, True, now
        self._attach(now)
        hub.schedule(now, self._arrive)
        hub.schedule(now + self.sweep_interval, self._sweep)

    def anchor(self, now: float) -> None:
        """Pace the arrivals from ``now`` if none has run yet. :meth:`start` makes every idle agent
        READY first, which for 100,000 agents takes seconds of the server's time (the hub's clock
        stands still meanwhile); anchored before that pass, those seconds' calls were placed in a
        burst as soon as the loop ran (~330 at 100 calls/s) and counted in the duration."""
        if self._n == 0:
            self.started_at = now

    def stop(self) -> None:
        self.running = False

    @property
    def active(self) -> int:
        return len(self.calls) - self._others

    @property
    def finished(self) -> bool:
        """Whether ``limit`` calls were offered and all of them are over (cleared, abandoned, or lost
        with a replaced center): the run SIPp's ``-m`` ends. Never without ``limit``."""
        limit = self.spec.limit
        return limit is not None and self.stats.offered >= limit and self.active == 0

    def _attach(self, now: float) -> None:
        """Set up ``hub.center``: the virtual session requests go through, idle agents READY, the CSQs."""
        from mockcti.center import Subscription

        center = self._center = self.hub.center
        if self.auto_agents is None:  # agents=N of a center with more agents: its first N, the others are left alone
            n, ids = self.spec.agents, [a.id for a in center.config.agents]
            self.driven = set(ids[:n]) if n is not None and n < len(ids) else None
        #: the driven agents in the center's order (where a consultation looks for an idle one)
        self._driven_order = None if self.driven is None else \
            [a.id for a in center.config.agents if a.id in self.driven]
        center.open_session(Subscription(session_id=LOAD_SESSION, mode="bridge",
                                         services=int(ServiceMask.CTI_SERVICE_CLIENT_CONTROL),
                                         call_msg_mask=0, agent_state_mask=0, client_id="mockcti-load"), now)
        self._look_at_agents(now)
        names = [c.name for c in center.config.csqs] or [None]
        self._csqs = itertools.cycle(names)

    def _follow_center(self, now: float) -> None:
        """First thing in every timer: if the center was replaced, start over on the new one."""
        hub = self.hub
        if hub.center is self._center:
            return
        lost = len(self.calls) - self._others
        self._others = 0
        self.calls.clear()  # their timers find them gone and do nothing (CallIDs start over in a new center)
        self._at_agents.clear()
        self._turn.clear()
        self._consults.clear()
        self.stats.lost += lost
        hub.journal.record("happening", now, None, what="load: the center was replaced; the generator follows "
                           "the new one", lost_calls=lost)
        if self.running:
            self._attach(now)
        else:
            self._center = hub.center

    def _may_drive(self, agent_id: str) -> bool:
        if self.driven is not None and agent_id not in self.driven:
            return False
        return not self.hub.center.agent_sessions.get(agent_id)

    def _look_at_agents(self, now: float) -> None:
        """Every agent: one the generator drives that is idle (no call; LOGOUT, NOT_READY, WORK or
        WORK_READY: the center's ``after_call_state``, its configured start state, or what a client
        that has gone left it in) is made READY, so that it takes calls again — unless the center's
        wrap-up time runs for it (``wrapup_time``: its timer ends WORK / WORK_READY, then the agent
        is made READY if it is not already); a queued generated call that was routed to an agent is
        found there."""
        center, calls, deliver = self.hub.center, self.calls, self.hub.deliver
        agents = center.agents
        # only the agents it may drive (auto_agents: a few among thousands of client-driven ones)
        pool = agents.values() if self.driven is None else filter(None, map(agents.get, self.driven))
        for agent in pool:
            state = agent.state
            if state is _READY:
                continue
            if state not in _ON_CALL:
                if not self._may_drive(agent.id):
                    continue
                if not center.agent_call_legs(agent.id):  # idle (else a call rings at it, NOT_READY: below)
                    if center.wrapping_up(agent):
                        continue  # (a wrap-up time the center runs is left to it: it ends WORK / WORK_READY)
                    if state is _LOGOUT:  # logged in as a desktop logs in: NOT_READY (AGT_LOGON), then READY
                        deliver(center.set_agent_state(now, agent.id, _LOGIN))
                    deliver(center.set_agent_state(now, agent.id, _READY))  # routes a queued call to it at once
                    if agent.state not in _ON_CALL:
                        continue
            for call, _leg in center.agent_call_legs(agent.id):
                t = calls.get(call.id)
                if t is None:
                    if self.running and self._may_drive(agent.id) and call.id not in self._consults:
                        self._adopt(call.id, now)
                    continue
                if t.where != _AT_AGENT:
                    t.where = _AT_AGENT
                    self._at_agents.add(call.id)

    def _adopt(self, call_id: int, now: float) -> None:
        """A call the generator did not place is at an agent it drives (ringing there, or already
        talking: a preset call): followed as its own are — answered ``answer_after`` after it is
        found, cleared ``handle_time`` after the answer — but with no caller of the generator's
        (no ``caller_hangup``, no ``abandon_after``) and counted apart. Left alone, it rang for ever
        and that agent took no call again."""
        self.calls[call_id] = _Tracked(end_planned=True, generated=False)
        self._others += 1
        self._check(call_id, now)

    # -- timers -----------------------------------------------------------------------------------

    def _arrive(self) -> None:
        if not self.running:
            return
        hub, spec = self.hub, self.spec
        now = hub.now
        self._follow_center(now)
        if spec.limit is not None and self.stats.offered >= spec.limit:
            return  # no more arrivals; the agents it drives go on (READY when idle, answering what rings)
        self._n += 1
        # constant rate anchored at the start: no drift however late a timer fires; but a timer
        # fired late catches up in slices of ``burst`` arrivals, each a timer of its own, so that the
        # server reads its sockets and signals in between (all at once, a loop late by a second at
        # 1,000 calls/s placed a thousand calls in one go and fell further behind)
        hub.schedule(self._pace.timer_at(self.started_at + self._n / spec.calls_per_s, now), self._arrive)
        if spec.max is not None and self.active >= spec.max:
            self.stats.skipped += 1
            return
        csq = next(self._csqs) if self._csqs is not None else None
        ani = f"06{self._n % 10 ** 8:08d}"
        variables = {"call_variable1": f"mockcti-load t={now:.6f}"}
        call_id, deliveries = hub.center.deliver_call(now, csq=csq, ani=ani, variables=variables)
        self.stats.offered += 1
        hub.journal.record("happening", now, None, what="load call", call_id=call_id, csq=csq, ani=ani)
        hub.deliver(deliveries)
        t = self.calls[call_id] = _Tracked(variables=variables)
        if spec.abandon_after is not None:
            hub.schedule(now + self._patience(spec.abandon_after), lambda: self._abandon(call_id, t))
        self._check(call_id, now)

    def _patience(self, mean: float) -> float:
        """How long the caller of the ``self._n``-th call waits for an agent (``patience=``:
        :func:`mockcti.hub.caller_patience`, which ``--calls-per-minute`` callers share)."""
        return caller_patience(self._n, mean, self.spec.patience)

    def _sweep(self) -> None:
        """Follow the generated calls: answered by a client, ended, or routed from a queue to an
        undriven agent (then answered ~answer_after later); and make idle undriven agents READY."""
        hub = self.hub
        now = hub.now
        self._follow_center(now)
        self._look_at_agents(now)
        for call_id in list(self._at_agents):
            self._check(call_id, now)
        self._look_at_queued(now)
        if self.running or self.calls:
            hub.schedule(now + self.sweep_interval, self._sweep)
        if self.running and self.on_finished is not None and not self._finished_told and self.finished:
            self._finished_told = True
            self.on_finished()

    def _look_at_queued(self, now: float) -> None:
        """``queued_looks`` queued calls, in turn (one hung up from outside is noticed within a turn)."""
        turn, calls, looks = self._turn, self.calls, self.queued_looks
        while turn and looks > 0:  # bounded: every pass takes one CallID out of the turn
            call_id = turn.popleft()
            t = calls.get(call_id)
            if t is None:
                continue  # over: nothing to look at (not counted)
            t.in_turn = False
            if t.where != _QUEUED:
                continue  # found at an agent since
            looks -= 1
            self._check(call_id, now)
            if t.where == _QUEUED and calls.get(call_id) is t:
                t.in_turn = True
                turn.append(call_id)

    def _mine(self, call_id: int, t: _Tracked) -> bool:
        """Whether a timer set for ``t`` still has its call to act on (not over, not gone with a
        replaced center)."""
        self._follow_center(self.hub.now)
        return self.calls.get(call_id) is t

    def _check(self, call_id: int, now: float) -> None:
        t = self.calls.get(call_id)
        if t is None:
            return
        call = self.hub.center.calls.get(call_id)
        if call is None:
            del self.calls[call_id]
            self._at_agents.discard(call_id)
            if t.generated:
                self.stats.cleared += 1
            else:
                self._others -= 1
            return
        at_agent = False
        for leg in call.legs.values():  # nothing below changes the legs (requests run from timers)
            agent = leg.agent
            if agent is None:
                continue
            at_agent = True
            if leg.state is not _ALERTING:
                if not t.answered:  # answered by a client
                    t.answered = True
                    if t.generated:
                        self.stats.answered += 1
                    if self._plan_caller_end(call_id, t, now):
                        t.ending = True
                if not t.ending and self._may_drive(agent):
                    # answered by a client that no longer drives the agent (its connection dropped):
                    # nobody else would ever clear it
                    t.ending = True
                    self.hub.schedule(now + self.spec.handle_time,
                                      lambda d=leg.device: self._clear(call_id, t, d))
            elif not t.answer_due and self._may_drive(agent) and not self._on_another_call(agent, call_id):
                t.answer_due = True
                self.hub.schedule(now + self.spec.answer_after, lambda d=leg.device: self._answer(call_id, t, d))
        if at_agent:
            if t.where != _AT_AGENT:
                t.where = _AT_AGENT
                self._at_agents.add(call_id)
        elif t.where != _QUEUED:  # waiting in a queue (placed there, or back from an agent that left READY)
            t.where = _QUEUED
            self._at_agents.discard(call_id)
            if not t.in_turn:
                t.in_turn = True
                self._turn.append(call_id)

    def _on_another_call(self, agent_id: str, call_id: int) -> bool:
        """Whether the agent has an older call than ``call_id`` (a call from elsewhere that rings beside
        one the agent holds — its line is free then, and the center refuses a call injected for a busy
        phone — is answered once the agent is free; two ringing at once: the older first)."""
        legs = self.hub.center.agent_call_legs(agent_id)  # oldest call first
        return bool(legs) and legs[0][0].id != call_id

    def _request(self, message: Any) -> Any:
        """Send ``message`` as the generator's virtual session; its confirmation, or None when the
        center refused it (counted in ``errors``)."""
        hub = self.hub
        center = hub.center
        deliveries = center.handle(LOAD_SESSION, message, hub.now)
        if center.violations:
            # an ACD rule the generator's own request broke is not a client's doing: left in the
            # center, the hub charged it to the next client request it handled. A happening instead
            # (the refusal below counts as one of the generator's errors)
            for v in center.violations:
                hub.journal.record("happening", hub.now, None, what=f"load generator's {v.get('request')} refused: "
                                   f"{v.get('rule')}", **{k: val for k, val in v.items() if k not in NOT_JOURNALLED})
            center.violations.clear()
        conf: Any = True  # (the center confirms every request: its confirmation is the answer)
        for d in deliveries:
            if d.session_id == LOAD_SESSION and (d.message.TYPE in _REFUSALS or d.message.TYPE.name.endswith("_CONF")):
                conf = d.message
                break
        hub.deliver(deliveries)
        if conf is not True and conf.TYPE in _REFUSALS:
            self.stats.errors += 1
            return None
        return conf

    def _answer(self, call_id: int, t: _Tracked, device: str) -> None:
        if not self._mine(call_id, t):
            return
        t.answer_due = False
        call = self.hub.center.calls.get(call_id)
        leg = call.legs.get(device) if call is not None else None
        if leg is None or leg.state is not _ALERTING or leg.agent is None or not self._may_drive(leg.agent):
            self._check(call_id, self.hub.now)  # over, withdrawn, moved, or a client took the agent over
            return
        if self._request(AnswerCallReq(invoke_id=next(self._invoke), call_id=call_id,
                                       connection_device_id=device)) is not None:
            if not t.generated:
                t.answered = True
                self.stats.other_answered += 1
            elif not t.answered:
                t.answered = True
                self.stats.answered += 1
                self.stats.auto_answered += 1
            if not t.ending:
                t.ending = True
                now = self.hub.now
                script = self._plan_mix(t, device, now) if t.generated and not t.end_planned else None
                if script is not None:  # the caller's hang-up, if any, is the script's last step
                    script.caller_ends = self._caller_ends(t)
                    t.script = script
                    if script.hold:
                        self._step(call_id, t, now + self.spec.handle_time / 4, self._hold)
                    else:
                        self._step(call_id, t, now + self.spec.handle_time / 2, self._consult)
                elif not self._plan_caller_end(call_id, t, now):
                    self.hub.schedule(now + self.spec.handle_time, lambda: self._clear(call_id, t, device))

    def _plan_caller_end(self, call_id: int, t: _Tracked, now: float) -> bool:
        """Whether the caller ends this answered call (see :meth:`_caller_ends`); if so, it hangs up
        ``handle_time`` from now."""
        if not self._caller_ends(t):
            return False
        self.hub.schedule(now + self.spec.handle_time, lambda: self._caller_hangs_up(call_id, t, abandon=False))
        return True

    def _caller_ends(self, t: _Tracked) -> bool:
        """Whether the caller ends this answered call (``caller_hangup`` of them, evenly spread:
        exactly that share of every run of calls); decided once per call."""
        if t.end_planned:
            return False
        t.end_planned = True
        self._hangup_share += self.spec.caller_hangup
        if self._hangup_share < 1.0 - 1e-9:
            return False
        self._hangup_share -= 1.0
        return True

    # -- the call mix: hold, transfer, conference ------------------------------------------------------

    def _plan_mix(self, t: _Tracked, device: str, now: float) -> _Script | None:
        """What the agent does on a generated call it has just answered, evenly spread like
        ``caller_hangup`` (exactly ``hold`` of every run of calls is held, ``transfer`` transferred,
        ``conference`` conferenced); None: it just talks (the plain mix)."""
        spec = self.spec
        if spec.plain:
            return None
        hold = kind = None
        self._hold_share += spec.hold
        if self._hold_share >= 1.0 - 1e-9:
            self._hold_share -= 1.0
            hold = True
        consult = spec.transfer + spec.conference
        if consult:
            self._consult_share += consult
            if self._consult_share >= 1.0 - 1e-9:
                self._consult_share -= 1.0
                self._transfer_share += spec.transfer / consult
                if self._transfer_share >= 1.0 - 1e-9:
                    self._transfer_share -= 1.0
                    kind = "transfer"
                else:
                    kind = "conference"
        if not hold and kind is None:
            return None
        return _Script(start=now, device=device, hold=bool(hold), kind=kind, caller_ends=False)

    def _step(self, call_id: int, t: _Tracked, at: float, fn: Any) -> None:
        """Schedule the next step of ``t``'s script at ``at``, or at once if that time has passed
        (the step before it ran late: a long hold, a consulted agent slow to answer)."""
        self.hub.schedule(max(at, self.hub.now), lambda: fn(call_id, t))

    def _leg(self, call_id: int | None, device: str | None, state: Any = None) -> Any:
        """The connection of ``device`` on call ``call_id`` if the generator may act on it (in
        ``state`` when given; its agent not taken over by a client), else None."""
        call = self.hub.center.calls.get(call_id) if call_id is not None else None
        leg = call.legs.get(device) if call is not None and device is not None else None
        if leg is None or leg.agent is None or not self._may_drive(leg.agent):
            return None
        return leg if state is None or leg.state is state else None

    def _hold(self, call_id: int, t: _Tracked) -> None:
        """A quarter into the handle time: the agent holds the call (HOLD_CALL_REQ), for hold_time."""
        if not self._mine(call_id, t):
            return
        s, now = _script_of(t), self.hub.now
        if self._leg(call_id, s.device, _CONNECT) is None:
            return self._to_end(call_id, t)  # a client took the agent over, or the call is moving
        if self._request(HoldCallReq(invoke_id=next(self._invoke), call_id=call_id,
                                     connection_device_id=s.device)) is not None:
            self.stats.held += 1
            self._step(call_id, t, now + self.spec.hold_seconds, self._retrieve)
        else:
            self._after_hold(call_id, t)

    def _retrieve(self, call_id: int, t: _Tracked) -> None:
        if not self._mine(call_id, t):
            return
        s = _script_of(t)
        if self._leg(call_id, s.device, _HELD) is not None:
            self._request(RetrieveCallReq(invoke_id=next(self._invoke), held_call_id=call_id,
                                          held_connection_device_id=s.device))
        self._after_hold(call_id, t)

    def _after_hold(self, call_id: int, t: _Tracked) -> None:
        s = _script_of(t)
        if s.kind:
            self._step(call_id, t, s.start + self.spec.handle_time / 2, self._consult)
        else:
            self._to_end(call_id, t)

    def _consult(self, call_id: int, t: _Tracked) -> None:
        """Half-way into the handle time: the agent consults an idle agent the generator drives
        (CONSULT_CALL_REQ to its extension, ConsultType transfer or conference); with none free,
        the call goes on without it (``transfer_skipped``)."""
        if not self._mine(call_id, t):
            return
        s, center = _script_of(t), self.hub.center
        if self._leg(call_id, s.device, _CONNECT) is None:
            return self._to_end(call_id, t)
        other = self._idle_agent(s.device)
        if other is None:
            self.stats.transfer_skipped += 1
            return self._to_end(call_id, t)
        conf = self._request(ConsultCallReq(
            invoke_id=next(self._invoke), active_call_id=call_id, active_connection_device_id=s.device,
            consult_type=1 if s.kind == "transfer" else 2, dialed_number=other.cfg.extension))
        consult = center.calls.get(conf.new_call_id) if conf is not None else None
        if consult is None:  # refused (in errors), or over already
            return self._give_up(call_id, t)
        s.consult_id, s.consulted = consult.id, other.device
        self._consults[consult.id] = call_id
        self._step(call_id, t, self.hub.now + self.spec.answer_after, self._consulted_answers)

    def _idle_agent(self, besides: str) -> Any:
        """An agent the generator drives that is READY with no call (the longest READY first), not
        the one on ``besides``; None when none is."""
        center = self.hub.center
        ready, driven = center.ready, self._driven_order
        # READY agents only (none when calls wait in a queue); the fewer of them and the driven ones
        # (a few driven agents among thousands of client-driven READY ones: those few)
        pool = ready.values() if driven is None or len(driven) >= len(ready) else \
            (a for a in map(ready.get, driven) if a is not None)
        for agent in pool:
            if agent.device != besides and self._may_drive(agent.id) and not center.agent_call_legs(agent.id):
                return agent
        return None

    def _consulted_answers(self, call_id: int, t: _Tracked) -> None:
        """``answer_after`` after the consultation rang: the consulted agent answers it, and the first
        agent completes the transfer (it is free; the consulted agent talks out the handle time) or
        the conference (the three talk; three quarters into the handle time the first agent leaves)."""
        s = _script_of(t)
        if not self._mine(call_id, t):
            return self._drop_consult(call_id, s)  # the call is over (its caller hung up): so is the consultation

        consult_id, consulted_device = s.consult_id, s.consulted
        if (consult_id is None or consulted_device is None  # (no consultation: _leg gives None too)
                or self._leg(consult_id, consulted_device, _ALERTING) is None
                or self._leg(call_id, s.device, _HELD) is None
                or self._request(AnswerCallReq(invoke_id=next(self._invoke), call_id=consult_id,
                                               connection_device_id=consulted_device)) is None):
            return self._give_up(call_id, t)
        if self._leg(consult_id, s.device, _CONNECT) is None:  # the consulted agent answered: both connected
            return self._give_up(call_id, t)
        transfer = s.kind == "transfer"
        req = (TransferCallReq if transfer else ConferenceCallReq)(
            invoke_id=next(self._invoke), held_call_id=call_id, active_call_id=consult_id,
            held_connection_device_id=s.device, active_connection_device_id=s.device)
        if self._request(req) is None:
            return self._give_up(call_id, t)
        self._consults.pop(consult_id, None)
        s.consult_id = None
        if transfer:
            self.stats.transferred += 1
            s.device = consulted_device  # the call is the consulted agent's now
            self._to_end(call_id, t)
        else:
            self.stats.conferenced += 1
            self._step(call_id, t, s.start + self.spec.handle_time * 3 / 4, self._leave_conference)
        self._check(call_id, self.hub.now)

    def _leave_conference(self, call_id: int, t: _Tracked) -> None:
        """The first agent drops out of the conference (CLEAR_CONNECTION_REQ); the consulted agent
        finishes the call."""
        if not self._mine(call_id, t):
            return
        s = _script_of(t)
        if self._leg(call_id, s.device) is not None:
            self._request(ClearConnectionReq(invoke_id=next(self._invoke), call_id=call_id,
                                             connection_device_id=s.device))
        if s.consulted is not None and self._leg(call_id, s.consulted) is not None:
            s.device = s.consulted
        self._check(call_id, self.hub.now)
        if self.calls.get(call_id) is t:
            self._to_end(call_id, t)

    def _give_up(self, call_id: int, t: _Tracked) -> None:
        """The consultation did not come to a transfer or a conference (refused, or its call gone):
        the agent leaves the consultation (CLEAR_CONNECTION_REQ) and takes its call back
        (RETRIEVE_CALL_REQ), as a desktop would; the call goes on to its end."""
        s = _script_of(t)
        self._drop_consult(call_id, s)
        if self._leg(call_id, s.device, _HELD) is not None:
            self._request(RetrieveCallReq(invoke_id=next(self._invoke), held_call_id=call_id,
                                          held_connection_device_id=s.device))
        self._check(call_id, self.hub.now)
        if self.calls.get(call_id) is t:
            self._to_end(call_id, t)

    def _drop_consult(self, call_id: int, s: _Script) -> None:
        """The consulting agent hangs up the consultation about ``call_id`` (CLEAR_CONNECTION_REQ),
        if it is still up."""
        consult_id, s.consult_id = s.consult_id, None
        if consult_id is None or self._consults.get(consult_id) != call_id:
            return  # none, or gone with a replaced center
        del self._consults[consult_id]
        if self._leg(consult_id, s.device) is not None:
            self._request(ClearConnectionReq(invoke_id=next(self._invoke), call_id=consult_id,
                                             connection_device_id=s.device))

    def _to_end(self, call_id: int, t: _Tracked) -> None:
        """The last step: the end of the handle time (at once if it is past)."""
        self._step(call_id, t, _script_of(t).start + self.spec.handle_time, self._end)

    def _end(self, call_id: int, t: _Tracked) -> None:
        """The handle time is over: the caller hangs up (``caller_hangup``) or the generator's agent
        on the call now (the consulted one after a transfer or a conference) clears it."""
        if not self._mine(call_id, t):
            return
        s = _script_of(t)
        self._drop_consult(call_id, s)
        if s.caller_ends:
            self._caller_hangs_up(call_id, t, abandon=False)
        else:
            self._clear(call_id, t, s.device)

    def _abandon(self, call_id: int, t: _Tracked) -> None:
        """``abandon_after`` since the arrival: the caller hangs up unless an agent answered."""
        if not self._mine(call_id, t):
            return
        self._check(call_id, self.hub.now)
        if self.calls.get(call_id) is t and not t.answered:
            self._caller_hangs_up(call_id, t, abandon=True)

    def _caller_hangs_up(self, call_id: int, t: _Tracked, *, abandon: bool) -> None:
        if not self._mine(call_id, t):
            return
        hub = self.hub
        if not abandon:
            t.ending = False  # the call may go on without the caller (a conference): looked at again
        call = hub.center.calls.get(call_id)
        if call is not None and call.ani in call.legs:  # not already over or transferred away from the caller
            hub.deliver(hub.center.hang_up(hub.now, call_id))
            hub.journal.record("happening", hub.now, None, what="load caller abandoned" if abandon
                               else "load caller hung up", call_id=call_id)
            if abandon:
                self.stats.abandoned += 1
            else:
                self.stats.caller_ended += 1
        self._check(call_id, hub.now)

    def _clear(self, call_id: int, t: _Tracked, device: str) -> None:
        if not self._mine(call_id, t):
            return
        t.ending = False  # the call may go on (another agent on it): looked at again
        call = self.hub.center.calls.get(call_id)
        leg = call.legs.get(device) if call is not None else None
        if leg is not None and leg.agent is not None and self._may_drive(leg.agent):  # not if a client took it over
            self._request(ClearConnectionReq(invoke_id=next(self._invoke), call_id=call_id,
                                             connection_device_id=device))
        self._check(call_id, self.hub.now)

    def summary(self) -> dict[str, Any]:
        return self.stats.as_dict(self.active)


# -- `mockcti serve --load SPEC` -------------------------------------------------------------------------


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    def spec(text: str) -> LoadSpec:
        try:
            return parse_load_spec(text)
        except LoadSpecError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("--load: ")) from None

    p.add_argument("--load", metavar="SPEC", type=spec,
                   help="generate load, SIPp style: [agents=N,]calls_per_s=R[,handle_time=T][,limit=L[,at_limit=serve]][,max=M]"
                        "[,answer_after=A][,caller_hangup=P][,abandon_after=S][,patience=exponential][,hold=P][,hold_time=S]"
                        "[,transfer=P][,conference=P] (only calls_per_s is required; T default 30 s; agents "
                        "default: every agent of the center; L total calls, SIPp -m: once they are all over serve prints the summary and "
                        "ends, exit status 0 (1 if any of the generator's own requests was refused), unless at_limit=serve; M concurrent calls, SIPp -l); undriven agents answer after "
                        "~1 s and clear after T s (or the caller hangs up, for a share P of the answered calls); "
                        "of the calls they answer they hold 0.2 (for T/5 s), transfer 0.1 and conference 0.05 "
                        "to another idle agent by default (hold=0,transfer=0,conference=0: no such mix); "
                        "callers not answered within S s abandon (patience=exponential: within S s on average); a statistics line on stderr every second "
                        "and a summary at the end (neither with --quiet; --log-level warning leaves out the per-message and "
                        "per-call trace; with --json each also goes to stdout as a JSON object, kind load or "
                        "load_summary, among the trace's lines)")


def stats_line(name: str, elapsed: float, shown: list[tuple[str, int]], messages_per_s: float, clients: int) -> str:
    """A call generator's live statistics line (``--load``'s, ``--calls-per-minute``'s): ``NAME t=  12.0s``, the
    counts ``shown`` (label, value), then ``messages/s`` and ``clients``."""
    counts = " ".join(f"{label} {value}" for label, value in shown)
    return f"{name} t={elapsed:6.1f}s {counts} messages/s {messages_per_s:.0f} clients {clients}"


def _line(gen: LoadGenerator, server: Any, t: float, messages_per_s: float) -> str:
    """The live statistics line. ``messages_per_s``: every message the server sent to its clients
    (events, confirmations, HEARTBEAT_CONFs), from the journal's counters: no trace needed."""
    s = gen.stats
    return stats_line("load", t, [("offered", s.offered), ("answered", s.answered), ("active", gen.active),
                                  ("cleared", s.cleared), ("abandoned", s.abandoned), ("skipped", s.skipped),
                                  ("held", s.held), ("xfer", s.transferred), ("conf", s.conferenced)],
                      messages_per_s, len(server.hub.conns))


def stats_record(kind: str, now: float, elapsed: float, counts: dict[str, Any], messages_per_s: float,
                 clients: int) -> dict[str, Any]:
    """A second of a call generator's statistics as ``serve --json`` writes it on stdout, one JSON object a second
    beside the journal's entries: ``kind`` ("load", "calls_per_minute"), ``t`` on the journal's clock (seconds since
    the server started), ``elapsed`` since the generator started (the line's ``t=``), every count of the summary,
    ``messages_per_s`` and ``clients``."""
    return {"kind": kind, "t": round(now, 6), "elapsed": round(elapsed, 3), **counts,
            "messages_per_s": round(messages_per_s, 1), "clients": clients}


class _Statistics:
    """What ``serve``'s call generators (``--load``, ``--calls-per-minute``) show of their calls, the same way: a
    line on stderr every second (:meth:`_text`), with ``--json`` the same second as a JSON object on stdout (``kind``
    :attr:`kind`, :meth:`_counts`), and a summary at the end (``mockcti NAME summary: ...``, with ``--json`` a
    ``KIND_summary`` object); none of them with ``--quiet``."""

    #: the JSON objects' kind ("load": "load" each second, "load_summary" at the end)
    kind = ""
    #: the summary line's name (``mockcti load summary: ...``)
    summary_name = ""
    #: serve --json: writes one line (a JSON text) on stdout, in turn with the trace (``args.json_out``)
    _json_out: Any = None
    _task: Any = None
    _ended_at: float | None = None  # when the run was told to end (halt)

    def _started_at(self) -> float:
        raise NotImplementedError

    def _counts(self) -> dict[str, Any]:
        """The counts of the summary (and of the JSON objects)."""
        raise NotImplementedError

    def _text(self, server: Any, elapsed: float, messages_per_s: float, counts: dict[str, Any]) -> str:
        """The line on stderr (``counts``: :meth:`_counts`, read once a second)."""
        raise NotImplementedError

    def _show(self, server: Any, args: Any) -> None:
        """Start the line a second (not with --quiet)."""
        import asyncio

        if not getattr(args, "quiet", False):
            self._json_out = getattr(args, "json_out", None)
            self._task = asyncio.get_running_loop().create_task(self._display(server))

    async def _display(self, server: Any) -> None:
        import asyncio

        last_out, last_t = server.journal.counts.get("out", 0), server.now()
        while True:
            await asyncio.sleep(1.0)  # (a busy loop wakes it late: the rate is over the time it took)
            out, now = server.journal.counts.get("out", 0), server.now()
            rate = (out - last_out) / (now - last_t) if now > last_t else 0.0
            counts = self._counts()
            print(self._text(server, now - self._started_at(), rate, counts), file=sys.stderr, flush=True)
            if self._json_out is not None:
                from mockcti.journal import json_text

                self._json_out(json_text(stats_record(self.kind, now, now - self._started_at(), counts, rate,
                                                      len(server.hub.conns))))
            last_out, last_t = out, now

    def _end_display(self, server: Any) -> None:
        """The run ends: the duration ends here, the line stops."""
        if self._ended_at is None:
            self._ended_at = server.now()
        if self._task is not None:
            self._task.cancel()

    def _print_summary(self, server: Any, args: Any) -> None:
        assert self._ended_at is not None  # (set by halt)
        if getattr(args, "quiet", False):  # (serve --quiet: errors only)
            return
        s = self._counts()
        duration = self._ended_at - self._started_at()
        print(f"mockcti {self.summary_name} summary: " + " ".join(f"{k} {v}" for k, v in s.items())
              + f" duration {duration:.1f}s", file=sys.stderr, flush=True)
        json_out = getattr(args, "json_out", None)
        if json_out is not None:  # serve --json: the summary as the last line of the load on stdout
            from mockcti.journal import json_text

            json_out(json_text({"kind": f"{self.kind}_summary", "t": round(server.now(), 6), **s,
                                "duration": round(duration, 3)}))


class _LoadFeature(_Statistics):
    kind = summary_name = "load"

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.gen = LoadGenerator(spec)
        self._told = False
        self._finished: Any = None  # limit=L, at_limit=exit: an asyncio.Event set once the L calls are over
        #: serve --calls-per-minute's callers (mockcti.hub.InboundCalls) when they run beside the load (:meth:`beside`)
        self._inbound: Any = None

    def prepare(self, server: Any, args: Any) -> None:
        """Before the server listens: the ``agents=N`` center is in place before any client connects
        (and before the control API records the center its POST /reset rebuilds)."""
        self._build_center(server, args)

    async def start(self, server: Any, args: Any) -> None:
        import asyncio

        self._build_center(server, args)  # done by prepare, unless a feature (--scenario) replaced it since
        config = server.center.config
        empty = unserved_csqs(config)
        if empty:
            until = (f"until the caller abandons (abandon_after={self.spec.abandon_after:g})"
                     if self.spec.abandon_after is not None else ("for ever (no abandon_after=)"
                     + (f"; serve does not end by itself at limit={self.spec.limit} while they wait"
                        if self._ends_at_limit else "")))
            print(f"mockcti load: warning: no agent is in {'CSQ' if len(empty) == 1 else 'CSQs'} {', '.join(empty)}: "
                  f"the calls sent there ({len(empty)} in {len(config.csqs)}) are never answered, they wait in the "
                  f"queue {until}",
                  file=sys.stderr, flush=True)
        if self._ends_at_limit:
            self._finished = asyncio.Event()
            self.gen.on_finished = self._finished.set  # (the hub's timers run on the loop's thread)
        server.call(lambda hub, now: self.gen.start(hub, now))
        server.call(lambda hub, now: self.gen.anchor(now))  # after the READY pass, however long it took
        self._show(server, args)

    def _started_at(self) -> float:
        return self.gen.started_at

    def _counts(self) -> dict[str, Any]:
        return self.gen.summary()

    def _text(self, server: Any, elapsed: float, messages_per_s: float, counts: dict[str, Any]) -> str:
        return _line(self.gen, server, elapsed, messages_per_s)

    @property
    def _ends_at_limit(self) -> bool:
        return self.spec.limit is not None and self.spec.at_limit == "exit"

    def ended(self, server: Any, args: Any) -> Any:
        """serve's hook: with ``limit=L`` (``at_limit=exit``), an awaitable done once the L calls are over
        (serve then ends as on SIGTERM: the clients told, the summary printed, exit status 0); else None."""
        if self._finished is None:
            return None
        return self._until_finished(args)

    def beside(self, calls: Any) -> None:
        """serve's hook: ``--calls-per-minute``'s callers (:class:`mockcti.hub.InboundCalls`) run beside the load.
        The limit is the load's: serve ends once its L calls are over, SIPp ``-m`` style, and the line that says
        so counts those callers still in calls, cut off with it (it said every call was over)."""
        self._inbound = calls

    async def _until_finished(self, args: Any) -> None:
        await self._finished.wait()
        if getattr(args, "quiet", False):
            return
        limit = self.spec.limit
        line = f"mockcti load: limit={limit} reached and its {limit} calls are over: serve ends (at_limit=serve " \
               f"keeps it serving)"
        active = self._inbound.summary()["active"] if self._inbound is not None else 0
        if active:
            line += (f"; {counted(active, '--calls-per-minute caller')} still in "
                     f"{'a call is' if active == 1 else 'calls are'} cut off with it")
        print(line, file=sys.stderr, flush=True)

    def _build_center(self, server: Any, args: Any) -> None:
        from mockcti.center import ContactCenter

        cfg = center_config_for(self.spec, server.center.config)
        if cfg is server.center.config:
            n, have = self.spec.agents, len(cfg.agents)
            if n is not None and n < have and not self._told:
                self._told = True
                ids = [a.id for a in cfg.agents][:n]
                which = ", ".join(ids) if n <= 4 else f"{ids[0]} ... {ids[-1]}, in the center's order"
                print(f"mockcti load: agents={n}: the generator drives {n} of the center's {counted(have, 'agent')} "
                      f"({which}); "
                      f"the others are left to your clients", file=sys.stderr, flush=True)
            return
        if server.hub.conns:  # their sessions belong to this center: keep it rather than corrupt them
            print(f"mockcti load: clients are connected to a center of {counted(len(server.center.agents), 'agent')}; "
                  f"it is kept (agents={self.spec.agents} not built)", file=sys.stderr, flush=True)
            return
        server.hub.center = ContactCenter(cfg, seed=getattr(args, "seed", 0) or 0, now=server.now())
        if getattr(args, "quiet", False):  # (serve --quiet: errors and warnings only)
            return
        n = len(cfg.agents)
        numbers = ("id 1001, extension 3001" if n == 1 else
                   f"ids 1001..{1000 + n}, extensions 3001..{3000 + n}")
        print(f"mockcti load: center with {counted(n, 'agent')} ({numbers}), "
              f"{'CSQ' if len(cfg.csqs) == 1 else 'CSQs'} {', '.join(c.name for c in cfg.csqs)}",
              file=sys.stderr, flush=True)

    def halt(self, server: Any, args: Any) -> None:
        """The run ends (Ctrl-C, SIGTERM): no call is offered from now on, while the server tells its
        clients and lets them drain; the duration ends here."""
        self._end_display(server)
        self.gen.stop()

    async def cancel(self, server: Any, args: Any) -> None:
        """serve could not start after all (exit 2): the generator stops and nothing is printed (stop()
        printed a summary of a run that never served, after the error line)."""
        self.halt(server, args)

    async def stop(self, server: Any, args: Any) -> None:
        self.halt(server, args)
        self._print_summary(server, args)

    def exit_status(self, server: Any, args: Any, status: int) -> int:
        """A run that ended at its ``limit=`` (``at_limit=exit``) is a verdict, as SIPp's ``-m`` is: exit status 1
        when any of the generator's own requests (answer, hold, retrieve, transfer, conference, clear) was
        refused — its calls did not go as the spec says. A run ended by Ctrl-C or SIGTERM keeps ``status``."""
        errors = self.gen.stats.errors
        if self._finished is None or not self._finished.is_set() or not errors:
            return status
        print(f"mockcti load: the center refused {counted(errors, 'request')} of the load generator's own (errors "
              f"{errors} in the summary): exit status 1", file=sys.stderr, flush=True)
        return status or 1


class InboundStatistics(_Statistics):
    """``serve --calls-per-minute``'s calls (:class:`mockcti.hub.InboundCalls`) shown as ``--load``'s are: a line on
    stderr every second (``calls-per-minute t=  12.0s offered 12 answered 9 active 3 queued 1 cleared 9 abandoned 2
    messages/s 40 clients 1``; no figure of --load's that has no meaning here: no handle time, hold, transfer,
    skipped), with ``--json`` a ``calls_per_minute`` object a second on stdout, and a summary at the end (with
    ``lost``, and ``calls_per_minute_summary``); not with ``--quiet``. Made by ``serve`` once the calls started:
    ``halt`` stops the arrivals and the line, ``stop`` prints the summary."""

    kind = "calls_per_minute"
    summary_name = "calls-per-minute"

    def __init__(self, calls: Any) -> None:
        self.calls = calls

    def _started_at(self) -> float:
        return float(self.calls.started_at)

    def _counts(self) -> dict[str, Any]:
        return dict(self.calls.summary())

    def _text(self, server: Any, elapsed: float, messages_per_s: float, counts: dict[str, Any]) -> str:
        s = counts
        return stats_line("calls-per-minute", elapsed, [(k, s[k]) for k in ("offered", "answered", "active", "queued",
                                                                           "cleared", "abandoned")],
                          messages_per_s, len(server.hub.conns))

    def start_showing(self, server: Any, args: Any) -> None:
        self._show(server, args)

    def halt(self, server: Any, args: Any) -> None:
        """The run ends (Ctrl-C, SIGTERM, --load's limit=): no caller arrives from now on, while the server tells
        its clients and lets them drain (the callers waiting may still abandon); the duration ends here."""
        self._end_display(server)
        self.calls.stop()

    async def stop(self, server: Any, args: Any) -> None:
        self.halt(server, args)
        self._print_summary(server, args)

    def exit_status(self, server: Any, args: Any, status: int) -> int:
        return status


def serve_feature(args: Any) -> _LoadFeature | None:
    spec = getattr(args, "load", None)
    return _LoadFeature(spec) if spec is not None else None
