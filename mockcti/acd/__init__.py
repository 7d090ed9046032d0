"""ACD line-state model of the seed-000 platform, as data (error-catalogs.md §3; errata wins).

Owns: the line/SRF states and operations (:mod:`.states`), the ordered §3.2 precondition checks
(:data:`CHECKS`, :mod:`.rules`), the §3.3 transition matrix (:data:`TRANSITIONS`, every cell
inferred), the overrides of every inferred choice (:class:`AcdConfig`), the evaluator
(:class:`AcdModel`) and the UCCX wire mapping (:data:`WIRE_OPERATIONS`, :func:`wire_failure`).

Pure: no asyncio, sockets or clock. Imports only ``mockcti.wire.enums``, ``mockcti.wire.records`` and (lazily, for
configured code cells) ``mockcti.catalog``. Codes are cn_ngcc catalog codes (``catalog/cn_ngcc.toml``,
seed ``shared/seeds/000_*.txt``).

>>> from mockcti.acd import AcdModel, AcdLine, AcdRequest, LineState, Operation
>>> v = AcdModel().evaluate(AcdLine(LineState.Line1Connected),
...                         AcdRequest(op=Operation.Hold, dest="2001", talking_to="2002"))
>>> (v.ok, v.code, v.code_name)
(False, 1124, 'ACD_HOLD_NOT_PARTY_L1CONNECTED')
"""

from mockcti.acd.config import ADMIT_DEFAULTS, AcdConfig, AcdConfigError
from mockcti.acd.model import AcdModel, Rejection, Verdict, apply_cell, report_rule, report_rules
from mockcti.acd.rules import (
    CHECKS,
    CLEAR_CONNECTION_ALLOWED,
    PARAM_TESTS,
    TRANSFER_ALLOWED,
    AcdRequest,
    Check,
    checks_for,
)
from mockcti.acd.states import (
    CALL_CONTROL_OPERATIONS,
    CONFERENCED,
    MEDIA_OPERATIONS,
    AcdLine,
    LineState,
    Operation,
    SrfState,
    parse_operation,
    parse_state,
)
from mockcti.acd.transitions import TRANSITIONS, Cell
from mockcti.acd.wire import WIRE_FAILURES, WIRE_OPERATIONS, WireFailure, wire_failure

__all__ = [
    "ADMIT_DEFAULTS",
    "CALL_CONTROL_OPERATIONS",
    "CHECKS",
    "CLEAR_CONNECTION_ALLOWED",
    "CONFERENCED",
    "MEDIA_OPERATIONS",
    "PARAM_TESTS",
    "TRANSFER_ALLOWED",
    "TRANSITIONS",
    "WIRE_FAILURES",
    "WIRE_OPERATIONS",
    "AcdConfig",
    "AcdConfigError",
    "AcdLine",
    "AcdModel",
    "AcdRequest",
    "Cell",
    "Check",
    "LineState",
    "Operation",
    "Rejection",
    "SrfState",
    "Verdict",
    "WireFailure",
    "apply_cell",
    "checks_for",
    "parse_operation",
    "parse_state",
    "report_rule",
    "report_rules",
    "wire_failure",
]
