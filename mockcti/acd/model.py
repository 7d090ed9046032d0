"""The ACD line-state model: run the §3.2 checks in order, then apply the §3.3 transition
(error-catalogs.md §3.2/§3.3; seed ``shared/seeds/000_*.txt``). Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockcti.acd.config import AcdConfig
from mockcti.acd.rules import CHECKS, AcdRequest, Check
from mockcti.acd.states import AcdLine, LineState, Operation, SrfState
from mockcti.acd.transitions import Cell

__all__ = ["AcdModel", "Verdict", "apply_cell", "report_rules"]

_PRE_HOLD = frozenset({LineState.Line1Connected, LineState.Line1Conferenced})


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


def _cell_check(state: LineState, op: Operation, cell: Cell) -> Check:
    assert cell.code is not None
    return Check(
        rule_id=f"ACD-CELL-{state}-{op}",
        operation=op,
        order=99,
        code=cell.code,
        code_name=_code_name(cell.code),
        explanation=f"{op} in {state}: rejected by a configured transition cell.",
        inferred=True,
        allowed_states=frozenset(LineState) - {state},
    )


class AcdModel:
    """Evaluates requests against the check table and the transition table.

    ``evaluate`` runs the operation's checks in order (first failing check wins; a rejected
    request leaves the line unchanged), then applies the §3.3 cell.
    """

    def __init__(self, config: AcdConfig | None = None) -> None:
        self.config = config if config is not None else AcdConfig()

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
