"""The scenario model: what a loaded scenario file *is*, as frozen dataclasses.

Owns: the validated, resolved form of a scenario (``Scenario`` and its parts). Every name in a
file has been resolved by :mod:`mockcti.scenario.loader` before an object here exists: message
types are :class:`~mockcti.wire.enums.MessageType` members, catalog names carry their codes,
templates are expanded, states, agents and step ids are known to exist. Every object carries a
:class:`Location` (file, line, key path) so the engine can point at the file in its messages.

Values may still hold ``${name}`` substitutions (captures and built-ins), resolved at run time
with :func:`substitute`. Pure: no I/O, no clock. Must not import the engine, the center or
anything above ``scenario`` in the layer stack.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from mockcti.wire.enums import MessageType

__all__ = [
    "Location", "Predicate", "Match", "Fault",
    "Reply", "Fail", "Emit", "Delay", "Close", "Goto", "Default", "Capture",
    "DeliverCall", "HangUp", "SetAgentState", "SystemEvent", "Failover", "Action", "REQUEST_ACTIONS",
    "Rule", "ExpectStep", "SendStep", "WaitStep", "DoStep", "Step", "Happening", "Expectation",
    "End", "DialectSpec", "Scenario", "FAULT_KINDS", "FAULT_PARAMS", "BUILTIN_NAMES",
    "substitute", "references", "malformed_reference", "regex_text", "BytesText", "EnumValue", "named_value",
    "NUMBER_SUFFIX", "names_values",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a piece of a scenario was written: file, 1-based line (None if unknown), key path."""

    file: str
    line: int | None
    key_path: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key_path}" if self.key_path else where


_NOWHERE = Location("<scenario>", None, "")

# -- substitutions --------------------------------------------------------------------------------

#: ``${name}``; ``$${`` is a literal ``${``.
SUBSTITUTION = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")

#: Names the engine defines without a capture. ``request.<field>`` (a field of the request being
#: handled) is also built in, wherever there is a request.
BUILTIN_NAMES: frozenset[str] = frozenset({
    "session.id", "session.agent_id", "session.agent_extension", "session.agent_instrument",
    "session.invoke_id", "state", "seed",
})


def malformed_reference(value: Any) -> str | None:
    """The first ``${`` in a value (strings, and lists/dicts of them) that starts no ``${name}``
    and is no ``$${``, from it to the end of its text (``'${call'``, ``'${ call }'``, ``'${}'``);
    None when there is none."""
    if isinstance(value, str):
        pos = 0
        for m in SUBSTITUTION.finditer(value):
            bad = value.find("${", pos, m.start())
            if bad >= 0:
                return value[bad:]
            pos = m.end()
        bad = value.find("${", pos)
        return value[bad:] if bad >= 0 else None
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, (list, tuple)) else ()
    for v in items:
        inner = malformed_reference(v)
        if inner is not None:
            return inner
    return None


def references(value: Any) -> set[str]:
    """Every ``${name}`` in a value (strings, and lists/dicts of them)."""
    out: set[str] = set()
    if isinstance(value, str):
        for m in SUBSTITUTION.finditer(value):
            if m.group(1):
                out.add(m.group(1))
    elif isinstance(value, Mapping):
        for v in value.values():
            out |= references(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out |= references(v)
    return out


class BytesText(str):
    """Text with ``${name}`` given for a bytes (UNSPEC) field, e.g. ``client_password`` or
    ``user_to_user_info``: :func:`substitute` makes it bytes (the text in UTF-8, a bytes value
    as it is). Literal text for such a field is already bytes when loaded."""

    __slots__ = ()


#: ``${request.agent_state.number}``, ``${captured.number}``: the number of an enumerated value
NUMBER_SUFFIX = ".number"


class EnumValue(int):
    """The number of an enumerated field (``agent_state``, ``event_cause``, ``status`` …) with its
    name: formatted into text it is the name (``AGENT_STATE_READY``), as a whole value (a field set
    to one ``${name}``) and in comparisons the number; ``${name.number}`` is the number as text."""

    name: str

    def __new__(cls, value: int, name: str) -> "EnumValue":
        obj = super().__new__(cls, value)
        obj.name = name
        return obj

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return self.name if not spec else int.__format__(self, spec)

    def __repr__(self) -> str:
        return int.__repr__(self)

    def __reduce__(self) -> Any:
        return (EnumValue, (int(self), self.name))


@functools.lru_cache(maxsize=512)
def _names_of(message: MessageType, field_name: str) -> Any:
    """The enumeration whose names a field's values are read by (reference §6), or None: none for a
    mask (IntFlag: several bits) and for ``event_reason_code`` (administrator-defined numbers)."""
    import enum

    from mockcti.wire.render import field_enum

    cls = field_enum(message, field_name)
    if cls is None or issubclass(cls, enum.IntFlag) or cls.__name__ == "ReasonCode":
        return None
    return cls


def names_values(message: MessageType, field_name: str) -> bool:
    """Whether ``${…}`` of this field of ``message`` formats into text as a name (see :class:`EnumValue`)."""
    return _names_of(message, field_name) is not None


def named_value(message: MessageType, field_name: str, value: Any) -> Any:
    """``value`` of a field of a ``message``, as a substitution holds it: the number of a known
    member of the field's enumeration as an :class:`EnumValue`; anything else as it is."""
    if type(value) is not int:
        return value
    cls = _names_of(message, field_name)
    if cls is None:
        return value
    try:
        return EnumValue(value, cls(value).name)
    except ValueError:  # a number the enumeration does not name: the number
        return value


def substitute(value: Any, env: Mapping[str, Any]) -> Any:
    """Replace ``${name}`` with ``env[name]``. A string that is exactly one ``${name}`` becomes the
    value itself (an int stays an int); otherwise the value is formatted into the text (bytes as
    UTF-8 text). A :class:`BytesText` becomes bytes. Lists, tuples and dicts are substituted
    element by element. Unknown names raise KeyError."""
    if isinstance(value, BytesText):
        return _substitute_bytes(value, env)
    if isinstance(value, str):
        if "$" not in value:
            return value
        m = SUBSTITUTION.fullmatch(value)
        if m and m.group(1):
            return env[m.group(1)]
        return SUBSTITUTION.sub(lambda mm: "${" if not mm.group(1) else _as_text(env[mm.group(1)]), value)
    if isinstance(value, Mapping):
        return {k: substitute(v, env) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(substitute(v, env) for v in value)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def _substitute_bytes(value: str, env: Mapping[str, Any]) -> bytes | None:
    m = SUBSTITUTION.fullmatch(value)
    if m and m.group(1) and env[m.group(1)] is None:
        return None  # a captured field that was absent: absent here too
    out, pos = bytearray(), 0
    for mm in SUBSTITUTION.finditer(value):
        out += value[pos:mm.start()].encode("utf-8")
        pos = mm.end()
        if not mm.group(1):
            out += b"${"
            continue
        v = env[mm.group(1)]
        out += bytes(v) if isinstance(v, (bytes, bytearray)) else _as_text(v).encode("utf-8", "surrogateescape")
    out += value[pos:].encode("utf-8")
    return bytes(out)


def regex_text(pattern: str, env: Mapping[str, Any], *, numbers: bool = False) -> str:
    """The regular expression ``pattern`` with each ``${name}`` replaced by ``env[name]`` escaped
    (:func:`re.escape`: the value is matched literally, whatever characters it holds; bytes as
    UTF-8 text); ``$${`` is ``${``. Unknown names raise KeyError. ``numbers``: the pattern is for a
    number field, whose digits it sees: an enumerated value (:class:`EnumValue`) stands there as its
    number, not its name."""
    def value(name: str) -> str:
        v = env[name]
        return str(int(v)) if numbers and isinstance(v, EnumValue) else _as_text(v)

    return SUBSTITUTION.sub(lambda mm: "${" if not mm.group(1) else re.escape(value(mm.group(1))), pattern)


def _as_text(value: Any) -> str:
    """A value as the text a regular expression sees: bytes (UNSPEC fields) decoded as UTF-8
    (undecodable bytes as surrogate escapes, so equal bytes give equal text)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if value is None:  # a captured field that was absent: no text (it was sent as "None")
        return ""
    return str(value)


#: a value as text, as a ``${…}`` formatted into text is (bytes: their UTF-8, undecodable bytes as surrogate
#: escapes, which the codec sends as those bytes)
as_text = _as_text


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> re.Pattern[str]:
    return re.compile(text)


# -- predicates ------------------------------------------------------------------------------------

PREDICATE_OPS = ("equals", "not_equals", "in", "not_in", "regex", "present", "absent", "min", "max")


@dataclass(frozen=True, slots=True)
class Predicate:
    """One condition on one field of a message. ``op`` is one of :data:`PREDICATE_OPS`.

    ``value`` is resolved (enum and catalog names of integer fields are numbers) but may hold
    ``${name}``; for ``in``/``not_in`` it is a tuple; for ``regex`` the pattern text (``pattern``
    is the compiled form, None when the text holds a ``${name}``: then each test substitutes the
    values, escaped, with :func:`regex_text` and compiles the result, cached); for
    ``present``/``absent`` it is True."""

    field: str
    op: str
    value: Any
    loc: Location = dataclasses.field(default=_NOWHERE, compare=False)  # (``field`` is the attribute above)
    pattern: re.Pattern[str] | None = dataclasses.field(default=None, compare=False)

    def test(self, actual: Any, env: Mapping[str, Any] | None = None) -> bool:
        """Whether ``actual`` (the field's value; None when absent) satisfies this condition. A
        condition naming a ``${variable}`` that has no value yet (not captured) does not hold."""
        try:
            return self._test(actual, env or {})
        except KeyError:  # substitute(): a ${name} with no value
            return False

    def _test(self, actual: Any, env: Mapping[str, Any]) -> bool:
        op = self.op
        if op == "present":
            return actual is not None
        if op == "absent":
            return actual is None
        if actual is None:  # absent: equal only to a captured field that was absent too
            if op in ("equals", "not_equals"):
                same = substitute(self.value, env) is None
                return same if op == "equals" else not same
            if op in ("in", "not_in"):
                found = any(substitute(v, env) is None for v in self.value)
                return found if op == "in" else not found
            return False
        if op == "regex":
            pat = self.pattern
            if pat is None:
                try:
                    pat = _compiled(regex_text(self.value, env, numbers=isinstance(actual, int)))
                except (re.error, RecursionError, OverflowError, ValueError):
                    return False  # a value that breaks the pattern (e.g. a range [z-${x}]): no match
            return pat.search(_as_text(actual)) is not None
        if op in ("min", "max"):
            if isinstance(actual, bool) or not isinstance(actual, (int, float)):
                return False
            bound = substitute(self.value, env)
            return actual >= bound if op == "min" else actual <= bound
        if op in ("equals", "not_equals"):
            same = _same(actual, substitute(self.value, env))
            return same if op == "equals" else not same
        found = any(_same(actual, substitute(v, env)) for v in self.value)
        return found if op == "in" else not found


def _same(actual: Any, expected: Any) -> bool:
    if actual == expected:
        return True
    if isinstance(actual, (bytes, bytearray)) and isinstance(expected, str):  # a bytes field, text given
        return bytes(actual) == expected.encode("utf-8", "surrogateescape")
    # "1001" in a file versus 1001 on the wire (or the other way round): compare as text
    if isinstance(actual, (int, str)) and isinstance(expected, (int, str)) and not isinstance(actual, bool):
        return str(actual) == str(expected)
    return False


@dataclass(frozen=True, slots=True)
class Match:
    """Which message a rule, expect step or expectation is about."""

    message: MessageType
    fields: tuple[Predicate, ...] = ()
    states: tuple[str, ...] | None = None  # None: any scenario state
    agent: str | None = None  # only the session of this agent
    loc: Location = field(default=_NOWHERE, compare=False)

    def matches(self, message: Any, *, state: str | None = None, agent: str | None = None,
                env: Mapping[str, Any] | None = None) -> bool:
        """Whether a decoded message (a wire dataclass) matches, given the scenario state and the
        session's agent id."""
        if getattr(message, "TYPE", None) is not self.message:
            return False
        if self.states is not None and state not in self.states:
            return False
        if self.agent is not None and agent != self.agent:
            return False
        return all(p.test(getattr(message, p.field, None), env) for p in self.fields)


# -- faults ----------------------------------------------------------------------------------------

FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "transport": ("delay", "dribble", "coalesce", "reset", "half_close", "silent_accept", "stop_reading"),
    "framing": ("truncated", "oversized_length", "bad_floating_length", "unknown_message_type", "unknown_tag",
                "garbage"),
    "protocol": ("no_heartbeat_conf", "late_open_conf", "duplicate_event", "out_of_order_events", "wrong_invoke_id"),
}

#: The parameters each fault kind accepts (all optional; the engine picks defaults).
FAULT_PARAMS: dict[str, tuple[str, ...]] = {
    "delay": ("seconds",), "dribble": ("chunk", "interval"), "coalesce": ("count",), "reset": (),
    "half_close": (), "silent_accept": (), "stop_reading": ("seconds",),
    "truncated": ("bytes", "message"), "oversized_length": ("length",), "bad_floating_length": ("tag", "message"),
    "unknown_message_type": ("type_id",), "unknown_tag": ("tag", "message"), "garbage": ("bytes",),
    "no_heartbeat_conf": ("count",), "late_open_conf": ("seconds",), "duplicate_event": ("message", "count"),
    "out_of_order_events": ("count",), "wrong_invoke_id": ("offset",),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault: as an action (once, now) or session-wide (``Scenario.faults``: every matching
    message, with ``probability`` from the scenario seed)."""

    layer: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    probability: float = 1.0
    messages: tuple[MessageType, ...] | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


# -- actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the request with ``message`` (``invoke_id`` defaults to the request's)."""

    message: MessageType
    fields: Mapping[str, Any] = field(default_factory=dict)
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Fail:
    """FAILURE_CONF (status), CONTROL_FAILURE_CONF (failure_code, ccx_error_code) or FAILURE_EVENT (status).

    Names are catalog names, resolved: ``status_code`` etc. are the numbers to put on the wire.
    ``text_code``/``text_code_value`` name a seed-000 (cn_ngcc) entry; ``text`` is the Text to
    send (the engine composes one from ``text_code`` and the catalog when ``text`` is None)."""

    kind: str
    status: str | None = None
    status_code: int | None = None
    failure_code: str | None = None
    failure_code_value: int | None = None
    peripheral_error_code: str | None = None  # the name given (None when a number was given)
    peripheral_error_value: int | None = None  # the CCXErrorCode number on the wire
    text_code: str | None = None
    text_code_value: int | None = None
    text: str | None = None
    to: str = "requester"
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``message`` to ``to``: requester | agent:<id> | bridge | all."""

    message: MessageType
    fields: Mapping[str, Any] = field(default_factory=dict)
    to: str = "requester"
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``seconds`` before the actions that follow in the same list."""

    seconds: float
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Close:
    abort: bool = False
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Goto:
    state: str
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Default:
    """Let the contact center answer the request as it normally would."""

    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Capture:
    """Store fields of the request: ``names`` maps variable -> snake_case field."""

    names: Mapping[str, str]
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class DeliverCall:
    """An inbound call arrives for ``agent`` (or is queued to ``csq``). ``capture`` maps
    variable -> call_id | connection_device_id | ani | dnis of the new call. ``named_variables``
    ({name: value}) and ``named_arrays`` ({name: (value or None, ...)}) are its ECC data; their values
    may hold ``${substitutions}``, their names not."""

    agent: str | None = None
    csq: str | None = None
    ani: str | None = None
    dnis: str | None = None
    call_variables: Mapping[str, str] = field(default_factory=dict)
    named_variables: Mapping[str, str] = field(default_factory=dict)
    named_arrays: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)
    capture: Mapping[str, str] = field(default_factory=dict)
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class HangUp:
    """A party of a call hangs up by itself: the caller when ``device`` is None, else the party at
    ``device`` (an external number, an agent's phone). ``call`` is a CallID or a ``${variable}``
    holding one (captured by deliver_call or from a request)."""

    call: str | int
    device: str | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class SetAgentState:
    agent: str
    state: str  # AgentState member name (AGENT_STATE_READY ...)
    state_value: int
    reason_code: int | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class SystemEvent:
    id: str  # SystemEventID member name
    id_value: int
    text: str | None = None
    ccx_status: int | None = None
    to: str = "all"
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Failover:
    seconds: float
    loc: Location = field(default=_NOWHERE, compare=False)


Action = Union[Reply, Fail, Emit, Delay, Fault, Close, Goto, Default, Capture, DeliverCall, HangUp, SetAgentState,
               SystemEvent, Failover]

#: Action types that need a request to answer (rules and expect steps only).
REQUEST_ACTIONS: tuple[type, ...] = (Reply, Default, Capture)


# -- rules, steps, timeline, expectations ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A reactive rule. Exactly one of ``then`` / ``responses`` is set (``then`` may be empty).

    ``times``: take at most this many requests (None: no limit). ``exhausted`` says what happens
    after the last of ``responses``: ``default`` (the rule stops taking requests), ``repeat_last``,
    ``cycle``. ``capture`` (variable -> field) is stored before the actions run."""

    id: str
    when: Match
    then: tuple[Action, ...] | None = None
    responses: tuple[tuple[Action, ...], ...] | None = None
    times: int | None = None
    exhausted: str = "default"
    capture: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    loc: Location = field(default=_NOWHERE, compare=False)

    def actions_for(self, n: int) -> tuple[Action, ...] | None:
        """The actions for the ``n``-th request taken (0-based); None when the rule no longer takes one."""
        if self.times is not None and n >= self.times:
            return None
        if self.responses is None:
            return self.then or ()
        if n < len(self.responses):
            return self.responses[n]
        if self.exhausted == "repeat_last":
            return self.responses[-1]
        if self.exhausted == "cycle":
            return self.responses[n % len(self.responses)]
        return None


@dataclass(frozen=True, slots=True)
class ExpectStep:
    """Wait for the client to send a matching message. ``respond`` None: the request goes on to
    the rules and then the contact center; otherwise these actions answer it."""

    id: str
    match: Match
    capture: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    respond: tuple[Action, ...] | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class SendStep:
    id: str
    emit: Emit
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class WaitStep:
    id: str
    seconds: float
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class DoStep:
    id: str
    actions: tuple[Action, ...]
    loc: Location = field(default=_NOWHERE, compare=False)


Step = Union[ExpectStep, SendStep, WaitStep, DoStep]


@dataclass(frozen=True, slots=True)
class Happening:
    """Timeline entry: ``actions`` run ``at`` seconds after the start, or ``delay`` seconds after
    the step ``after`` is done (exactly one of ``at`` / ``after`` is set)."""

    id: str
    actions: tuple[Action, ...]
    at: float | None = None
    after: str | None = None
    delay: float = 0.0
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Expectation:
    """The client must send a matching message between ``min`` and ``max`` times (``max`` None:
    no upper bound). ``never: true`` is min = max = 0."""

    id: str
    match: Match
    min: int = 1
    max: int | None = None
    loc: Location = field(default=_NOWHERE, compare=False)

    @property
    def never(self) -> bool:
        return self.max == 0

    def satisfied_by(self, count: int) -> bool:
        return count >= self.min and (self.max is None or count <= self.max)


@dataclass(frozen=True, slots=True)
class End:
    """When the scenario ends: ``after`` seconds and/or ``when`` (all_steps_done,
    all_expectations_met, disconnect), whichever comes first. Both None: never by itself."""

    after: float | None = None
    when: str | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class DialectSpec:
    profile: str = "uccx"
    min_version: int | None = None
    max_version: int | None = None
    loc: Location = field(default=_NOWHERE, compare=False)
    given: bool = False  # the file says ``dialect:`` (else a server's own profile may stay)


@dataclass(frozen=True, slots=True)
class RetryLoopSpec:
    """``retry_loop:``: PROTO-RETRY-LOOP (a mock rule) while the scenario is served: ``times`` refusals of the same
    request in a row (0: the rule off), each within ``gap`` seconds of the one before; None: the server's own."""

    times: int | None = None
    gap: float | None = None
    loc: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded, validated scenario. ``center`` is plain data (the center-file shape) or None for
    the default center. ``files`` lists every file read (the main file first, then includes)."""

    name: str
    description: str | None = None
    seed: int = 0
    dialect: DialectSpec = field(default_factory=DialectSpec)
    center: Mapping[str, Any] | None = None
    states: tuple[str, ...] = ("start",)
    rules: tuple[Rule, ...] = ()
    steps: tuple[Step, ...] = ()
    timeline: tuple[Happening, ...] = ()
    expect: tuple[Expectation, ...] = ()
    expect_order: bool = False
    faults: tuple[Fault, ...] = ()
    end: End = field(default_factory=End)
    #: ``retry_loop:`` (None: not written; the server's own setting stays)
    retry_loop: RetryLoopSpec | None = None
    templates: Mapping[str, tuple[Action, ...]] = field(default_factory=dict)
    captures: frozenset[str] = frozenset()
    #: per entry of ``center["calls"]``: the captures of that call (variable -> call_id | connection_device_id ...)
    call_captures: tuple[Mapping[str, str], ...] = ()
    files: tuple[str, ...] = ()
    loc: Location = field(default=_NOWHERE, compare=False)
    #: where ``expect_order`` is written (the report points there when the order is wrong)
    expect_order_loc: Location = field(default=_NOWHERE, compare=False)

    @property
    def initial_state(self) -> str:
        return self.states[0]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def finite(x: float) -> bool:
    return not (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))
