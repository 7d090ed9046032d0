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
    Transfer = "End"

Unknown keys, states, operations or rule ids raise ``ValueError`` naming the key and listing the
allowed names; so does a rejection code in ``transitions`` that is not a cn_ngcc catalog code.

When an override admits a state whose §3.3 cell is a rejection code (e.g. Transfer in
Line3Conferenced) and no transition is configured for it, the operation's *admit default* applies:
Transfer/ClearConnection/ClearCall → End, MakeCall → Originated, anything else → unchanged. Code
cells of the built-in table are descriptive (the checks reject first); code cells given in
``transitions`` are enforced. A center's ``[acd]`` table takes only code cells in ``transitions``
(:func:`mockcti.center.acd_guard.center_acd_config`): the center reads the line state from its
calls, so a next state there could not take effect.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockcti.acd.rules import CHECKS, CLEAR_CONNECTION_ALLOWED, TRANSFER_ALLOWED, Check, checks_for
from mockcti.acd.states import LineState, Operation, parse_operation, parse_state
from mockcti.acd.transitions import TRANSITIONS, Cell

__all__ = ["ADMIT_DEFAULTS", "AcdConfig"]

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


def _rule(rule_id: object, key: str) -> Check:
    if not isinstance(rule_id, str) or rule_id not in _RULE_IDS:
        raise ValueError(f"{key}: unknown ACD rule id {rule_id!r}; allowed: {', '.join(_RULE_IDS)}")
    return _RULE_IDS[rule_id]


def _states(value: object, key: str) -> frozenset[LineState]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{key}: expected a list of ACD state names, got {value!r}")
    return frozenset(parse_state(v, key=key) for v in value)


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def _cell(value: object, key: str) -> Cell:
    if isinstance(value, Cell):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{key}: expected an ACD state name or a rejection code, got {value!r}")
    if isinstance(value, int):
        # the violation cites the code's seed-000 name and text: a number the catalog does not hold
        # (a typo: 11280 for 1128) would be reported as CN_NGCC_UNKNOWN_11280, so it is refused here
        from mockcti import catalog

        if catalog.default().lookup("cn_ngcc", value).unknown:
            raise ValueError(f"{key}: {value} is not a code of the cn_ngcc catalog (seed 000, codes 1001-4608); "
                             f"a rejection cell gives one, e.g. 1128 (ACD_HOLD_BAD_STATE), or an ACD state name")
        return Cell(code=value)
    if isinstance(value, str) and value.lower() == "unchanged":
        return Cell()
    return Cell(next=parse_state(value, key=key))


def _mapping(value: object, key: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected a table/mapping, got {value!r}")
    return value


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
        for rid in self.disabled_rules:
            _rule(rid, "disabled_rules")
        for rid in self.allowed_states:
            if _rule(rid, "allowed_states").allowed_states is None:
                raise ValueError(f"allowed_states: rule {rid} has no state set to override")
        for op, ids in self.order.items():
            want = sorted(c.rule_id for c in checks_for(op))
            if sorted(ids) != want:
                raise ValueError(f"order.{op}: must list each of {', '.join(want)} exactly once, got {list(ids)}")
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
        """A config from a plain mapping (see the module docstring for the keys)."""
        data = _mapping(data, "acd config")
        unknown = [k for k in data if k not in _KEYS]
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown ACD config key; allowed: {', '.join(_KEYS)}")
        kw: dict[str, Any] = {}
        for key in ("transfer_allowed", "clear_connection_allowed"):
            if key in data:
                kw[key] = _states(data[key], key)
        for key in ("answer_requires_delivered", "setattr_response_applies_to_all"):
            if key in data:
                kw[key] = _bool(data[key], key)
        if "disabled_rules" in data:
            raw = data["disabled_rules"]
            if isinstance(raw, str) or not isinstance(raw, Iterable):
                raise ValueError(f"disabled_rules: expected a list of rule ids, got {raw!r}")
            kw["disabled_rules"] = frozenset(_rule(r, "disabled_rules").rule_id for r in raw)
        if "allowed_states" in data:
            kw["allowed_states"] = {
                _rule(rid, f"allowed_states.{rid}").rule_id: _states(v, f"allowed_states.{rid}")
                for rid, v in _mapping(data["allowed_states"], "allowed_states").items()
            }
        if "order" in data:
            order: dict[Operation, tuple[str, ...]] = {}
            for op_name, ids in _mapping(data["order"], "order").items():
                op = parse_operation(op_name, key=f"order.{op_name}")
                if isinstance(ids, str) or not isinstance(ids, Iterable):
                    raise ValueError(f"order.{op_name}: expected a list of rule ids, got {ids!r}")
                order[op] = tuple(_rule(r, f"order.{op_name}").rule_id for r in ids)
            kw["order"] = order
        if "transitions" in data:
            cells: dict[tuple[LineState, Operation], Cell] = {}
            for st_name, row in _mapping(data["transitions"], "transitions").items():
                state = parse_state(st_name, key=f"transitions.{st_name}")
                for op_name, value in _mapping(row, f"transitions.{st_name}").items():
                    key = f"transitions.{st_name}.{op_name}"
                    cells[(state, parse_operation(op_name, key=key))] = _cell(value, key)
            kw["transitions"] = cells
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
