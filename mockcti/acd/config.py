"""Overrides for every inferred choice of the ACD model (error-catalogs.md §3.2/§3.3, seed 000).

Build one in code or from a plain mapping (a TOML/YAML table)::

    transfer_allowed = ["Line2Connected", "Held", "Line2AllHeld", "Line2Conferenced", "Line3Conferenced"]
    clear_connection_allowed = ["Origated", "Delivered", "Line1Connected"]   # "Origated" accepted
    answer_requires_delivered = false        # Answer outside Delivered: accepted, state unchanged
    setattr_response_applies_to_all = true   # 1167: (attr == 0 or not found) and response == 1
    disabled_rules = ["ACD-MAKECALL-BUSY"]
    [allowed_states]                         # any state-set check, by rule id
    "ACD-1152" = ["Held"]
    [order]                                  # a permutation of one operation's rule ids
    Record = ["ACD-1143", "ACD-1142"]
    [transitions.Line3Conferenced]           # a §3.3 cell: a state name or a rejection code
    Transfer = "End"                         # (a cn_ngcc code by number or name: 1128, "ACD_HOLD_BAD_STATE")

Unknown keys, states, operations or rule ids raise :class:`AcdConfigError` (a ``ValueError``)
naming the key and listing the allowed names; so does a rejection code in ``transitions`` that is
not a cn_ngcc catalog code. It carries every independent mistake of the table (``errors``: key path,
message), not only the first; a value of the wrong type hides only what is inside it.

When an override admits a state whose §3.3 cell is a rejection code (e.g. Transfer in
Line3Conferenced) and no transition is configured for it, the operation's *admit default* applies:
Transfer/ClearConnection/ClearCall → End, MakeCall → Originated, anything else → unchanged. Code
cells of the built-in table are descriptive (the checks reject first); code cells given in
``transitions`` are enforced. A center's ``[acd]`` table takes only code cells in ``transitions``
(:func:`mockcti.center.acd_guard.center_acd_config`): the center reads the line state from its
calls, so a next state there could not take effect.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockcti.acd.rules import CHECKS, CLEAR_CONNECTION_ALLOWED, TRANSFER_ALLOWED, Check, checks_for
from mockcti.acd.states import LineState, Operation, parse_operation, parse_state
from mockcti.acd.transitions import TRANSITIONS, Cell
from mockcti.located import fmt_path, spelled

__all__ = ["ADMIT_DEFAULTS", "AcdConfig", "AcdConfigError"]

#: Next state when an override admits a state whose built-in cell is a rejection code.
ADMIT_DEFAULTS: Mapping[Operation, Cell] = types.MappingProxyType(
    {
        Operation.Transfer: Cell(next=LineState.End),
        Operation.ClearConnection: Cell(next=LineState.End),
        Operation.ClearCall: Cell(next=LineState.End),
        Operation.MakeCall: Cell(next=LineState.Originated),
    }
)

_RULE_IDS = {c.rule_id: c for c in CHECKS}
_KEYS = (
    "transfer_allowed",
    "clear_connection_allowed",
    "answer_requires_delivered",
    "setattr_response_applies_to_all",
    "disabled_rules",
    "allowed_states",
    "order",
    "transitions",
)


class AcdConfigError(ValueError):
    """Every independent mistake of an ACD config table. ``errors`` holds (key path, message) pairs,
    the key path a tuple below the table (``("order", "Record")``, ``("transfer_allowed", 1)``; empty:
    the table itself); ``str()`` shows each as ``key.path: message`` on a line of its own."""

    def __init__(self, errors: Iterable[tuple[tuple[Any, ...], str]]) -> None:
        self.errors: list[tuple[tuple[Any, ...], str]] = [(tuple(p), m) for p, m in errors]
        super().__init__("\n".join(f"{fmt_path(p) or 'acd config'}: {m}" for p, m in self.errors))

    def under(self, *prefix: Any) -> AcdConfigError:
        """The same errors, each key path below ``prefix`` (``under("acd")``: as a center file names them)."""
        return AcdConfigError([((*prefix, *p), m) for p, m in self.errors])


#: what a failed check gives back (its mistake recorded): the value it stands for is not used
_BAD: Any = type("_Bad", (), {"__repr__": lambda self: "<bad>"})()


class _Problems:
    """The mistakes found so far; a check that fails is recorded and the checks of what does not
    depend on it go on (a value of the wrong type hides only what is inside it)."""

    def __init__(self) -> None:
        self.errors: list[tuple[tuple[Any, ...], str]] = []

    def add(self, path: tuple[Any, ...], message: str) -> None:
        self.errors.append((path, message))

    def run(self, path: tuple[Any, ...], fn: Any, *args: Any) -> Any:
        """``fn(*args, key=<path>)``, or :data:`_BAD` with its ``ValueError`` recorded at ``path``
        (the ``key: `` the message opens with left out: the path says it)."""
        key = fmt_path(path)
        try:
            return fn(*args, key=key)
        except ValueError as exc:
            self.add(path, str(exc).removeprefix(f"{key}: "))
            return _BAD

    def items(self, value: object, path: tuple[Any, ...], what: str) -> list[Any] | None:
        """``value`` as a list, or None (recorded: expected a list of ``what``)."""
        if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
            self.add(path, f"expected a list of {what}, got {spelled(value)}")
            return None
        return list(value)

    def mapping(self, value: object, path: tuple[Any, ...]) -> Mapping[Any, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"expected a table/mapping, got {spelled(value)}")
            return None
        return value

    def raise_any(self) -> None:
        if self.errors:
            raise AcdConfigError(self.errors)


def _rule(rule_id: object, key: str = "") -> Check:
    if not isinstance(rule_id, str) or rule_id not in _RULE_IDS:
        raise ValueError(f"{key}: unknown ACD rule id {rule_id!r}; allowed: {', '.join(_RULE_IDS)}")
    return _RULE_IDS[rule_id]


def _states(problems: _Problems, value: object, path: tuple[Any, ...]) -> Any:
    """The states of the list ``value``: every name that is not one recorded at its index."""
    items = problems.items(value, path, "ACD state names")
    if items is None:
        return _BAD
    states = [problems.run((*path, i), parse_state, v) for i, v in enumerate(items)]
    return _BAD if _BAD in states else frozenset(states)


def _bool(value: object, key: str = "") -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {spelled(value)}")
    return value


def rejection_code(name: object) -> int | None:
    """The number of the cn_ngcc code ``name`` names (``"ACD_HOLD_BAD_STATE"`` → 1128, any case, as
    scenarios name codes), or None when ``name`` is no cn_ngcc code name: how a ``transitions`` cell
    gives a rejection code by name."""
    if not isinstance(name, str):
        return None
    from mockcti import catalog

    entry = catalog.default().get(name)
    return entry.code if entry is not None and entry.source == "cn_ngcc" else None


def code_name_hint(name: str) -> str:
    """What a ``transitions`` cell's text that is no cn_ngcc code name is taken for: another catalog's
    code (``CTIERR_HOLDFAILED is a cisco_ctierr code``), the closest cn_ngcc names (a typo), or ``""``."""
    from mockcti import catalog

    cat = catalog.default()
    entry = cat.get(name)
    if entry is not None:
        return f"{entry.name} is a {entry.source} code, not a cn_ngcc one"
    names = [n for e in cat.entries("cn_ngcc") for n in (e.name, *e.aliases)]
    close = difflib.get_close_matches(name.strip().upper(), names, n=3, cutoff=0.8)
    return f"unknown cn_ngcc code name {name!r}; closest: {', '.join(close)}" if close else ""


def _cell(value: object, key: str = "") -> Cell:
    if isinstance(value, Cell):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{key}: expected an ACD state name or a rejection code, got {spelled(value)}")
    if isinstance(value, int):
        # the violation cites the code's seed-000 name and text: a number the catalog does not hold
        # (a typo: 11280 for 1128) would be reported as CN_NGCC_UNKNOWN_11280, so it is refused here
        from mockcti import catalog

        if catalog.default().lookup("cn_ngcc", value).unknown:
            raise ValueError(f"{key}: {value} is not a code of the cn_ngcc catalog (seed 000, codes 1001-4608); "
                             f"a rejection cell gives one, by number or name: e.g. 1128 or ACD_HOLD_BAD_STATE")
        return Cell(code=value)
    if isinstance(value, str) and value.lower() == "unchanged":
        return Cell()
    try:
        return Cell(next=parse_state(value, key=key))
    except ValueError as exc:
        code = rejection_code(value)  # a rejection code by its cn_ngcc name, as a scenario names codes
        if code is None:
            hint = code_name_hint(value) if isinstance(value, str) else ""
            raise ValueError(f"{exc}; or a cn_ngcc rejection code, by number or name"
                             + (f" ({hint})" if hint else "")) from None
        return Cell(code=code)


def _no_state_set(problems: _Problems, rid: str) -> None:
    if _RULE_IDS[rid].allowed_states is None:
        problems.add(("allowed_states", rid), f"rule {rid} has no state set to override")


def _permutation(problems: _Problems, path: tuple[Any, ...], op: Operation, ids: Iterable[str]) -> None:
    want = sorted(c.rule_id for c in checks_for(op))
    if sorted(ids) != want:
        problems.add(path, f"must list each of {', '.join(want)} exactly once, got {list(ids)}")


@dataclass(frozen=True, kw_only=True)
class AcdConfig:
    """The inferred choices of the model; defaults are the §3.3 proposals."""

    transfer_allowed: frozenset[LineState] = TRANSFER_ALLOWED
    clear_connection_allowed: frozenset[LineState] = CLEAR_CONNECTION_ALLOWED
    #: reject Answer outside Delivered with 1175 (rule ACD-1175-ACD, §3.3 note)
    answer_requires_delivered: bool = True
    #: 1167 grouping: False = ``attr == 0 or (not found and response == 1)`` (§2.3 B preference)
    setattr_response_applies_to_all: bool = False
    disabled_rules: frozenset[str] = frozenset()
    #: allowed-state overrides for any state-set check, by rule id
    allowed_states: Mapping[str, frozenset[LineState]] = field(default_factory=dict)
    #: per operation, the rule ids in the order to run them (a permutation of the defaults)
    order: Mapping[Operation, tuple[str, ...]] = field(default_factory=dict)
    #: §3.3 cell overrides
    transitions: Mapping[tuple[LineState, Operation], Cell] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = _Problems()
        for rid in self.disabled_rules:
            problems.run(("disabled_rules",), _rule, rid)
        for rid in self.allowed_states:
            if problems.run(("allowed_states", rid), _rule, rid) is not _BAD:
                _no_state_set(problems, rid)
        for op, ids in self.order.items():
            _permutation(problems, ("order", str(op)), op, ids)
        problems.raise_any()
        # per operation, the checks to run with their allowed-state sets, worked out once
        object.__setattr__(self, "_plans", {})

    def plan(self, op: Operation) -> tuple[tuple[Check, frozenset[LineState] | None], ...]:
        """:meth:`checks` of ``op`` paired with :meth:`allowed_for` each (cached: configs are frozen)."""
        plans = self._plans  # type: ignore[attr-defined]
        p = plans.get(op)
        if p is None:
            p = plans[op] = tuple((c, self.allowed_for(c)) for c in self.checks(op))
        return p

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AcdConfig:
        """A config from a plain mapping (see the module docstring for the keys), or
        :class:`AcdConfigError` carrying every independent mistake, each at its key path: a value of
        the wrong type hides only what is inside it, and an order is checked to be a permutation only
        when its operation and every rule id in it are known."""
        problems = _Problems()
        data = problems.mapping(data, ())  # type: ignore[assignment]
        problems.raise_any()
        for k in data:
            if k not in _KEYS:
                problems.add((k,), f"unknown ACD config key; allowed: {', '.join(_KEYS)}")
        kw: dict[str, Any] = {}
        for key in ("transfer_allowed", "clear_connection_allowed"):
            if key in data:
                kw[key] = _states(problems, data[key], (key,))
        for key in ("answer_requires_delivered", "setattr_response_applies_to_all"):
            if key in data:
                kw[key] = problems.run((key,), _bool, data[key])
        if "disabled_rules" in data:
            raw = problems.items(data["disabled_rules"], ("disabled_rules",), "rule ids")
            ids = [problems.run(("disabled_rules", i), _rule, r) for i, r in enumerate(raw or ())]
            kw["disabled_rules"] = frozenset(c.rule_id for c in ids if c is not _BAD)
        allowed = problems.mapping(data["allowed_states"], ("allowed_states",)) if "allowed_states" in data else {}
        kw["allowed_states"] = {}
        for rid, v in (allowed or {}).items():
            path: tuple[Any, ...] = ("allowed_states", rid)
            if problems.run(path, _rule, rid) is not _BAD:
                _no_state_set(problems, rid)
            kw["allowed_states"][rid] = _states(problems, v, path)
        order_raw = problems.mapping(data["order"], ("order",)) if "order" in data else {}
        kw["order"] = {}
        for op_name, ids in (order_raw or {}).items():
            path = ("order", op_name)
            op = problems.run(path, parse_operation, op_name)
            raw_ids = problems.items(ids, path, "rule ids")
            checks = [problems.run((*path, j), _rule, r) for j, r in enumerate(raw_ids or ())]
            if op is not _BAD and raw_ids is not None and _BAD not in checks:
                kw["order"][op] = tuple(c.rule_id for c in checks)
                _permutation(problems, path, op, kw["order"][op])
        table = problems.mapping(data["transitions"], ("transitions",)) if "transitions" in data else {}
        kw["transitions"] = {}
        for st_name, row in (table or {}).items():
            state = problems.run(("transitions", st_name), parse_state, st_name)
            for op_name, value in (problems.mapping(row, ("transitions", st_name)) or {}).items():
                path = ("transitions", st_name, op_name)
                op = problems.run(path, parse_operation, op_name)
                cell = problems.run(path, _cell, value)
                if _BAD not in (state, op, cell):
                    kw["transitions"][(state, op)] = cell
        problems.raise_any()
        return cls(**kw)

    # -- queries the model uses ------------------------------------------------------------
    def checks(self, op: Operation) -> tuple[Check, ...]:
        """The enabled checks of ``op`` in the configured order."""
        default = checks_for(op)
        if op in self.order:
            by_id = {c.rule_id: c for c in default}
            default = tuple(by_id[r] for r in self.order[op])
        return tuple(c for c in default if c.rule_id not in self.disabled_rules and self._enabled(c))

    def _enabled(self, check: Check) -> bool:
        return not (check.rule_id == "ACD-1175-ACD" and not self.answer_requires_delivered)

    def allowed_for(self, check: Check) -> frozenset[LineState] | None:
        """The allowed-state set of ``check`` after overrides (None: the check has no state set)."""
        if check.rule_id in self.allowed_states:
            return self.allowed_states[check.rule_id]
        if check.rule_id == "ACD-1156":
            return self.transfer_allowed
        if check.rule_id == "ACD-1159":
            return self.clear_connection_allowed
        return check.allowed_states

    def cell(self, state: LineState, op: Operation) -> Cell:
        """The §3.3 cell after overrides; built-in code cells become the admit default."""
        if (state, op) in self.transitions:
            return self.transitions[(state, op)]
        cell = TRANSITIONS[(state, op)]
        if cell.rejects:
            return ADMIT_DEFAULTS.get(op, Cell())
        return cell
