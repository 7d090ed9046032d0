"""Vocabulary of the seed-000 ACD: line states, media-resource (SRF) states, operations, and the
line value :class:`AcdLine` (error-catalogs.md §3.1; seed ``000_*.txt`` lines 66-176).

``Idle`` (the pre-call state) and the busy SRF states are **inferred** (§3.1): the seed names only
``Origated`` (sic) … ``End`` and ``SRFStop``. ``LineState.Originated`` has the value
``"Originated"``; :func:`parse_state` also accepts the seed's spelling ``"Origated"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CALL_CONTROL_OPERATIONS",
    "CONFERENCED",
    "MEDIA_OPERATIONS",
    "AcdLine",
    "LineState",
    "Operation",
    "SrfState",
    "parse_operation",
    "parse_state",
]


class LineState(StrEnum):
    """ACD line state of the agent's call (§3.1, §3.3). ``Idle`` is inferred."""

    Idle = "Idle"
    Originated = "Originated"  #: the seed spells it ``Origated``
    Delivered = "Delivered"
    Line1Connected = "Line1Connected"
    Line1Conferenced = "Line1Conferenced"
    Line1Held = "Line1Held"
    Line2Connected = "Line2Connected"
    Line2Conferenced = "Line2Conferenced"
    Line2AllHeld = "Line2AllHeld"
    Held = "Held"
    Line3Conferenced = "Line3Conferenced"
    End = "End"


class SrfState(StrEnum):
    """Play/collect/record resource state. Only ``SRFStop`` is named by the seed; the busy ones are
    inferred (§3.1)."""

    SRFStop = "SRFStop"
    SRFPlaying = "SRFPlaying"
    SRFCollecting = "SRFCollecting"
    SRFRecording = "SRFRecording"


class Operation(StrEnum):
    """The CTI events the seed's ACD checks (§3.2)."""

    RouteSelect = "RouteSelect"
    Connect = "Connect"
    Hold = "Hold"
    Retrieve = "Retrieve"
    Conference = "Conference"
    Stop = "Stop"
    Play = "Play"
    Collect = "Collect"
    Record = "Record"
    ReConnect = "ReConnect"
    Consult = "Consult"
    Bridge = "Bridge"
    Alternate = "Alternate"
    Transfer = "Transfer"
    ClearConnection = "ClearConnection"
    ClearCall = "ClearCall"
    MakeCall = "MakeCall"
    GetFeature = "GetFeature"
    SetFeature = "SetFeature"
    GetAttr = "GetAttr"
    SetAttr = "SetAttr"
    Answer = "Answer"


#: The three conferenced states (media operations need one of them).
CONFERENCED: frozenset[LineState] = frozenset(
    {LineState.Line1Conferenced, LineState.Line2Conferenced, LineState.Line3Conferenced}
)

#: The columns of the §3.3 transition matrix.
CALL_CONTROL_OPERATIONS: tuple[Operation, ...] = (
    Operation.MakeCall,
    Operation.Answer,
    Operation.Connect,
    Operation.Hold,
    Operation.Retrieve,
    Operation.Consult,
    Operation.Conference,
    Operation.Alternate,
    Operation.Transfer,
    Operation.Bridge,
    Operation.ReConnect,
    Operation.ClearConnection,
    Operation.ClearCall,
)

#: Media operations: they never change the ACD state, only the SRF state (§3.3 media table).
MEDIA_OPERATIONS: dict[Operation, SrfState] = {
    Operation.Play: SrfState.SRFPlaying,
    Operation.Collect: SrfState.SRFCollecting,
    Operation.Record: SrfState.SRFRecording,
    Operation.Stop: SrfState.SRFStop,
}

_STATE_ALIASES = {"Origated": LineState.Originated}


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def parse_state(name: object, *, key: str = "state") -> LineState:
    """A :class:`LineState` from its name (``"Origated"`` accepted as the seed's alias).

    ``ValueError`` naming ``key`` and listing the allowed names otherwise.
    """
    if isinstance(name, LineState):
        return name
    if isinstance(name, str):
        if name in _STATE_ALIASES:
            return _STATE_ALIASES[name]
        try:
            return LineState(name)
        except ValueError:
            pass
    raise ValueError(
        f"{key}: unknown ACD state {name!r}; allowed: {_names(LineState)} (and the seed's alias 'Origated')"
    )


def parse_operation(name: object, *, key: str = "operation") -> Operation:
    """An :class:`Operation` from its name; ``ValueError`` naming ``key`` and the allowed names."""
    if isinstance(name, Operation):
        return name
    if isinstance(name, str):
        try:
            return Operation(name)
        except ValueError:
            pass
    raise ValueError(f"{key}: unknown ACD operation {name!r}; allowed: {_names(Operation)}")


@dataclass(frozen=True, slots=True)
class AcdLine:
    """The agent's line as a value: ACD state, SRF state, and the state before the last Hold.

    ``pre_hold`` is set when Hold moves Line1Connected/Line1Conferenced to Line1Held, so that
    Retrieve returns to the same one (§3.3 note "the mock should remember the pre-hold state").
    """

    state: LineState = LineState.Idle
    srf: SrfState = SrfState.SRFStop
    pre_hold: LineState | None = None
