"""The §3.3 transition matrix of error-catalogs.md as data — **every cell is INFERRED**: the seed
(``shared/seeds/000_*.txt``) states preconditions only, never the next state.

``TRANSITIONS[(state, op)]`` is a :class:`Cell`: the next state (``next=None`` = unchanged), or the
rejection code the §3.3 cell gives. Code cells are shadowed by the §3.2 checks in the default
configuration (a test asserts every code cell has a failing check with the same code); they only
decide when a configuration admits a state without also giving a transition.

Media operations (Play, Collect, Record, Stop) leave the ACD state unchanged and move only the SRF
state (§3.3 media table); RouteSelect, Get/SetFeature and Get/SetAttr change nothing.

Mock choices for the cells the seed leaves open (n/s): MakeCall from End starts a new call
(→ Originated); MakeCall with a call up is rejected (2140, rule ACD-MAKECALL-BUSY); ClearCall in
Idle is rejected with 1160 (rule ACD-1160-IDLE).
"""

from __future__ import annotations

from dataclasses import dataclass

from mockcti.acd.states import CALL_CONTROL_OPERATIONS, MEDIA_OPERATIONS, LineState, Operation, SrfState

__all__ = ["CONDITIONS", "TRANSITIONS", "Cell"]

S = LineState
O = Operation  # noqa: E741

#: Conditions a cell may branch on (``Cell.alt_when``).
CONDITIONS = ("dest_in_line_info", "dest_is_held_party")


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of the §3.3 matrix.

    ``code`` set: the request is rejected with that code. Otherwise the next ACD state is ``next``
    (None = unchanged), or ``alt`` when the request satisfies ``alt_when``; ``restore_pre_hold``
    makes Retrieve return to the state remembered by Hold; ``srf`` (media operations) is the next
    SRF state.
    """

    next: LineState | None = None
    code: int | None = None
    alt: LineState | None = None
    alt_when: str | None = None
    restore_pre_hold: bool = False
    srf: SrfState | None = None
    inferred: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if self.code is not None and (self.next is not None or self.alt is not None or self.srf is not None):
            raise ValueError("a code cell cannot also give a next state")
        if (self.alt is None) != (self.alt_when is None):
            raise ValueError("alt and alt_when go together")
        if self.alt_when is not None and self.alt_when not in CONDITIONS:
            raise ValueError(f"unknown cell condition {self.alt_when!r}; allowed: {', '.join(CONDITIONS)}")

    @property
    def rejects(self) -> bool:
        return self.code is not None


def _x(code: int) -> Cell:
    return Cell(code=code)


def _to(state: LineState, note: str = "") -> Cell:
    return Cell(next=state, note=note)


_END = _to(S.End)
_CONSULT = _to(S.Originated, "consult leg set up, the party held; Line2Connected when it answers")

# Rows of §3.3 in the column order of CALL_CONTROL_OPERATIONS:
# MakeCall, Answer, Connect, Hold, Retrieve, Consult, Conference, Alternate, Transfer, Bridge, ReConnect,
# ClearConnection, ClearCall
_ROWS: dict[LineState, tuple[Cell, ...]] = {
    S.Idle: (_to(S.Originated), _x(1175), _x(1121), _x(1128), _x(1132), _x(1148), _x(1133), _x(1152), _x(1156),
             _x(1149), _x(1146), _x(1159), _x(1160)),
    S.Originated: (_x(2140), _x(1175), _x(1121), _x(1128), _x(1132), _x(1148), _x(1133), _x(1152), _x(1156),
                   _x(1149), _x(1146), _END, _END),
    S.Delivered: (_x(2140), _to(S.Line1Connected), _x(1121), _x(1128), _x(1132), _x(1148), _x(1133), _x(1152),
                  _x(1156), _x(1149), _x(1146), _END, _END),
    S.Line1Connected: (_x(2140), _x(1175), _to(S.End, "agent released, the party re-routed to dest"),
                       _to(S.Line1Held), _x(1132), _CONSULT, _x(1133), _x(1152), _x(1156),
                       _to(S.Line2Conferenced), _x(1146), _END, _END),
    S.Line1Conferenced: (_x(2140), _x(1175), _to(S.End, "agent released, the party re-routed to dest"),
                         _to(S.Line1Held), _x(1132), _CONSULT, _x(1133), _x(1152), _x(1156),
                         _to(S.Line2Conferenced), _to(S.Line1Conferenced, "line replaced by dest"), _END, _END),
    S.Line1Held: (_x(2140), _x(1175), _x(1121), _x(1128),
                  Cell(next=S.Line1Connected, restore_pre_hold=True,
                       note="back to the pre-hold state (Line1Connected or Line1Conferenced)"),
                  _CONSULT, _x(1133), _x(1152), _x(1156), _to(S.Line2Conferenced), _x(1146), _END, _END),
    S.Line2Connected: (_x(2140), _x(1175), _x(1121), _to(S.Line2AllHeld), _x(1132), _x(1148), _x(1133),
                       _x(1152), _to(S.End, "party 1 and party 2 joined"), _to(S.Line2Conferenced), _x(1146),
                       _to(S.Line1Held), _END),
    S.Held: (_x(2140), _x(1175), _x(1121), _to(S.Line2AllHeld), _x(1132), _x(1148), _x(1133),
             _to(S.Held, "active and held swapped"), _END, _x(1149), _x(1146),
             Cell(next=S.Line1Held, alt=S.Line1Connected, alt_when="dest_is_held_party",
                  note="clearing the active party leaves the held one; clearing the held one leaves the active"),
             _END),
    S.Line2AllHeld: (_x(2140), _x(1175), _x(1121), _x(1128), _to(S.Held, "dest becomes active"), _x(1148),
                     _to(S.Line2Conferenced), _x(1152), _END, _to(S.Line2Conferenced), _x(1146),
                     _to(S.Line1Held), _END),
    S.Line2Conferenced: (_x(2140), _x(1175), _x(1121), _to(S.Held), _x(1132), _x(1148),
                         _to(S.Line2Conferenced, "no-op"), _to(S.Held, "private talk with dest"), _END,
                         Cell(next=S.Line3Conferenced, alt=S.Line2Conferenced, alt_when="dest_in_line_info",
                              note="Line3Conferenced only if dest is new"),
                         _x(1146), _to(S.Line1Conferenced), _END),
    S.Line3Conferenced: (_x(2140), _x(1175), _x(1121), _to(S.Held), _x(1132), _x(1148), _x(1133), _x(1152),
                         _x(1156), _to(S.Line3Conferenced), _x(1146), _to(S.Line2Conferenced), _END),
    S.End: (_to(S.Originated, "mock: a new call after the last one ended"), _x(1175), _x(1121), _x(1128),
            _x(1132), _x(1148), _x(1133), _x(1152), _x(1156), _x(1149), _x(1146), _x(1159), _x(1160)),
}


def _build() -> dict[tuple[LineState, Operation], Cell]:
    table: dict[tuple[LineState, Operation], Cell] = {}
    for state, row in _ROWS.items():
        assert len(row) == len(CALL_CONTROL_OPERATIONS), state
        for op, cell in zip(CALL_CONTROL_OPERATIONS, row, strict=True):
            table[(state, op)] = cell
        for op, srf in MEDIA_OPERATIONS.items():
            table[(state, op)] = Cell(srf=srf)
        for op in (O.RouteSelect, O.GetFeature, O.SetFeature, O.GetAttr, O.SetAttr):
            table[(state, op)] = Cell()
    return table


#: (state, op) -> :class:`Cell` for every state and every operation. All cells inferred (§3.3).
TRANSITIONS: dict[tuple[LineState, Operation], Cell] = _build()
