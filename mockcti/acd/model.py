"""The ACD line-state model: run the §3.2 checks in order, then apply the §3.3 transition
(error-catalogs.md §3.2/§3.3; seed ``shared/seeds/000_*.txt``). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from mockcti.acd.config import AcdConfig
from mockcti.acd.rules import CHECKS, PARAM_TESTS, AcdRequest, Check
from mockcti.acd.states import AcdLine, LineState, Operation, SrfState
from mockcti.acd.transitions import Cell

__all__ = ["AcdModel", "Rejection", "Verdict", "apply_cell", "report_rule", "report_rules"]

_PRE_HOLD = frozenset({LineState.Line1Connected, LineState.Line1Conferenced})
_SRF_STOP = SrfState.SRFStop


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request: ``ok``, the failing ``check`` (None when ok) and the ``next``
    line (the unchanged line when rejected)."""

    ok: bool
    check: Check | None
    next: AcdLine

    @property
    def code(self) -> int | None:
        return None if self.check is None else self.check.code

    @property
    def code_name(self) -> str | None:
        return None if self.check is None else self.check.code_name


def _code_name(code: int) -> str:
    for c in CHECKS:
        if c.code == code:
            return c.code_name
    from mockcti import catalog

    return catalog.default().lookup("cn_ngcc", code).name


def _cell_explanation(state: LineState, op: Operation) -> str:
    return f"{op} in {state}: rejected by a configured transition cell."


def _cell_check(state: LineState, op: Operation, cell: Cell) -> Check:
    assert cell.code is not None
    return Check(
        rule_id=f"ACD-CELL-{state}-{op}",
        operation=op,
        order=99,
        code=cell.code,
        code_name=_code_name(cell.code),
        explanation=_cell_explanation(state, op),
        inferred=True,
        allowed_states=frozenset(LineState) - {state},
    )


class _Step(NamedTuple):
    """One check of a :class:`Rejection`: it applies in the plan's state, and whether it fails
    depends on the request (mode, parameter test) or the SRF state."""

    check: Check
    modes: frozenset[int] | None  #: applies only to these request modes (None: any)
    bad_state: bool  #: the state is not in the check's allowed set: fails whenever it applies
    test: Callable[[AcdLine, AcdRequest, Any], bool] | None  #: the check's parameter test
    srf_must_be_stop: bool


class Rejection:
    """The checks of one operation in one ACD state, with what the state alone decides worked out.

    ``steps`` are the checks that can still fail (in order), each reduced to what depends on the
    request and the SRF state; ``otherwise`` is the check that rejects when no step fails — the
    first check that fails in this state whatever the request, or a configured code cell of
    §3.3 — or None (accepted). Checks that cannot fail in the state are left out, and so is
    everything after a check that always fails. ``reject`` then gives exactly
    ``AcdModel.evaluate(...).check``, running the same parameter tests in the same order.
    """

    __slots__ = ("config", "steps", "otherwise")

    def __init__(self, config: AcdConfig, state: LineState, op: Operation) -> None:
        steps: list[_Step] = []
        otherwise: Check | None = None
        for check, allowed in config.plan(op):
            if check.when_states is not None and state not in check.when_states:
                continue  # never applies in this state
            bad_state = allowed is not None and state not in allowed
            if bad_state and check.when_modes is None:
                otherwise = check  # fails whatever the request: nothing after it runs
                break
            test = PARAM_TESTS[check.param] if check.param is not None else None
            if bad_state or test is not None or check.srf_must_be_stop:
                steps.append(_Step(check, check.when_modes, bad_state, test, check.srf_must_be_stop))
        else:
            cell = config.cell(state, op)
            if cell.code is not None:
                otherwise = _cell_check(state, op, cell)
        self.config = config
        self.steps: tuple[_Step, ...] = tuple(steps)
        self.otherwise = otherwise

    def reject(self, line: AcdLine, request: AcdRequest) -> Check | None:
        """The failing check for ``request`` on ``line`` (whose state is the plan's), None when accepted."""
        config = self.config
        for check, modes, bad_state, test, srf_must_be_stop in self.steps:
            if modes is not None and request.mode not in modes:
                continue
            if bad_state or (test is not None and test(line, request, config)) \
                    or (srf_must_be_stop and line.srf is not _SRF_STOP):
                return check
        return self.otherwise


class AcdModel:
    """Evaluates requests against the check table and the transition table.

    ``evaluate`` runs the operation's checks in order (first failing check wins; a rejected
    request leaves the line unchanged), then applies the §3.3 cell. ``reject`` gives the same
    decision without the next line, from a :class:`Rejection` plan per (operation, state).
    """

    def __init__(self, config: AcdConfig | None = None) -> None:
        self.config = config if config is not None else AcdConfig()
        self._rejections: dict[tuple[Operation, LineState], Rejection] = {}
        self._rejections_for = self.config  # the plans belong to one config

    def rejection(self, op: Operation, state: LineState) -> Rejection:
        """The (cached) :class:`Rejection` plan of ``op`` in ``state`` under the current config."""
        cfg = self.config
        if cfg is not self._rejections_for:
            self._rejections, self._rejections_for = {}, cfg
        plan = self._rejections.get((op, state))
        if plan is None:
            plan = self._rejections[(op, state)] = Rejection(cfg, state, op)
        return plan

    def reject(self, line: AcdLine, request: AcdRequest) -> Check | None:
        """``evaluate(line, request).check`` without building the next line or a :class:`Verdict`:
        the first failing check, or None when the request is accepted."""
        return self.rejection(request.op, line.state).reject(line, request)

    def evaluate(self, line: AcdLine, request: AcdRequest) -> Verdict:
        cfg = self.config
        for check, allowed in cfg.plan(request.op):
            if check.fails(line, request, allowed_states=allowed, config=cfg):
                return Verdict(False, check, line)
        cell = cfg.cell(line.state, request.op)
        if cell.code is not None:
            return Verdict(False, _cell_check(line.state, request.op, cell), line)
        return Verdict(True, None, apply_cell(line, request, cell))


def apply_cell(line: AcdLine, request: AcdRequest, cell: Cell) -> AcdLine:
    """The line after an accepted request (``cell`` must not be a code cell)."""
    srf = cell.srf if cell.srf is not None else line.srf
    if cell.next is None:
        nxt = line.state
    else:
        nxt = cell.next
        if cell.alt_when == "dest_in_line_info" and request.dest in request.line_info:
            nxt = cell.alt or nxt
        elif cell.alt_when == "dest_is_held_party" and request.dest == request.held_party:
            nxt = cell.alt or nxt
        if cell.restore_pre_hold and line.pre_hold is not None:
            nxt = line.pre_hold
    if nxt is line.state:
        pre_hold = line.pre_hold
    elif nxt is LineState.Line1Held and line.state in _PRE_HOLD:
        pre_hold = line.state
    else:
        pre_hold = None
    if nxt is LineState.End and line.state is not LineState.End:
        srf = SrfState.SRFStop  # entering End stops any media
    return AcdLine(nxt, srf, pre_hold)


def report_rule(rule_id: str) -> dict[str, object] | None:
    """The report entry (as :func:`report_rules` gives) of a rule id that is not a row of the table:
    ``ACD-CELL-<state>-<operation>``, a code cell of a configuration's ``transitions`` (its code is
    the configuration's: the violations carry it). None for any other id."""
    prefix = "ACD-CELL-"
    if not rule_id.startswith(prefix):
        return None
    state_name, _, op_name = rule_id[len(prefix):].partition("-")
    try:
        state, op = LineState(state_name), Operation(op_name)
    except ValueError:
        return None
    return {"id": rule_id, "title": f"{op} in {state} (configured transition cell)",
            "explanation": _cell_explanation(state, op), "source": "cn_ngcc", "inferred": True}


def report_rules() -> list[dict[str, object]]:
    """One dict per check for the report module: id, title, explanation, code, code_name, source, inferred."""
    return [
        {
            "id": c.rule_id,
            "title": c.title,
            "explanation": c.explanation,
            "code": c.code,
            "code_name": c.code_name,
            "source": "cn_ngcc",
            "inferred": c.inferred,
        }
        for c in CHECKS
    ]
