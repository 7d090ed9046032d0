"""How ACD operations meet the UCCX wire: which request carries which operation, and which
CONTROL_FAILURE_CONF a rejection becomes.

``WIRE_OPERATIONS`` maps the UCCX call-control requests (``mockcti.wire.enums.MessageType``) to
the seed-000 operations (error-catalogs.md §3.2). The UCCX guide's CONSULT_CALL_REQ is the ICM
CONSULTATION_CALL_REQ (same value, an alias of the same member).

``wire_failure(op)`` gives the CONTROL_FAILURE_CONF ``FailureCode`` (``ControlFailureCode``), the
``CCXErrorCode`` for the default (UCCX) mode and the closest Cisco CTI error name
(``catalog/cisco_ctierr.toml``). **All of it is inferred**: the seed-000 platform has no CTI
wire of its own, and UCCX does not document per-request failure codes. The choices:

* FailureCode: state-driven rejections use CF_INVALID_OBJECT_STATE (22), the value the UCCX
  guide's CONTROL_FAILURE_CONF example carries; MakeCall uses CF_INVALID_CALLED_DEVICE (6),
  Connect/RouteSelect CF_INVALID_DESTINATION (14), Get/SetFeature CF_INVALID_FEATURE (15),
  Get/SetAttr CF_OBJECT_NOT_KNOWN (4) (no extension row for ``did``). Only UCCX-confirmed values
  (0-22) are used.
* CCXErrorCode: CCX_JTAPI_CCM_PROBLEM (88001) for call-control requests UCCX forwards to Unified
  CM (Bridge too: a single-step CONFERENCE_CALL_REQ is read as Bridge), CCX_INVALID_ARGUMENT (88010) for MakeCall (its checks are about arguments); None for
  operations no UCCX request carries (media, routing, feature and attribute operations).
* CTIERR: the JTAPI name of the same failure (Hold → CTIERR_HOLDFAILED, Retrieve →
  CTIERR_RETRIEVEFAILED, Transfer → CTIERR_TRANSFERFAILED, Conference/Bridge →
  CTIERR_CONFERENCE_FAILED, Consult → CTIERR_CONSULT_CALL_FAILURE, Answer →
  CTIERR_CALLHANDLE_NOTINCOMINGCALL, Connect → CTIERR_REDIRECT_ERR, RouteSelect →
  CTIERR_REDIRECT_CALL_UNKNOWN_DESTINATION, MakeCall → CTIERR_ILLEGAL_CALLINGPARTY; the rest
  CTIERR_ILLEGAL_CALLSTATE or CTIERR_OPERATION_NOT_ALLOWED).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass

from mockcti.acd.states import Operation
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode, MessageType

__all__ = ["WIRE_FAILURES", "WIRE_OPERATIONS", "WireFailure", "wire_failure"]

O = Operation  # noqa: E741
CF = ControlFailureCode
CCX = CCXErrorCode

#: UCCX request message -> ACD operation.
WIRE_OPERATIONS: Mapping[MessageType, Operation] = types.MappingProxyType(
    {
        MessageType.MAKE_CALL_REQ: O.MakeCall,
        MessageType.ANSWER_CALL_REQ: O.Answer,
        MessageType.HOLD_CALL_REQ: O.Hold,
        MessageType.RETRIEVE_CALL_REQ: O.Retrieve,
        MessageType.CONSULTATION_CALL_REQ: O.Consult,  # == CONSULT_CALL_REQ (50)
        MessageType.CONFERENCE_CALL_REQ: O.Conference,
        MessageType.TRANSFER_CALL_REQ: O.Transfer,
        MessageType.ALTERNATE_CALL_REQ: O.Alternate,
        MessageType.RECONNECT_CALL_REQ: O.ReConnect,
        MessageType.CLEAR_CONNECTION_REQ: O.ClearConnection,
        MessageType.CLEAR_CALL_REQ: O.ClearCall,
    }
)


@dataclass(frozen=True, slots=True)
class WireFailure:
    """What a rejected operation becomes on the wire (CONTROL_FAILURE_CONF). Inferred."""

    cf_code: ControlFailureCode
    ccx_error: CCXErrorCode | None
    ctierr_name: str


_CM = CCX.CCX_JTAPI_CCM_PROBLEM
_STATE = CF.CF_INVALID_OBJECT_STATE

#: Operation -> :class:`WireFailure` (every operation; all choices inferred, see the module docstring).
WIRE_FAILURES: Mapping[Operation, WireFailure] = types.MappingProxyType(
    {
        O.MakeCall: WireFailure(CF.CF_INVALID_CALLED_DEVICE, CCX.CCX_INVALID_ARGUMENT, "CTIERR_ILLEGAL_CALLINGPARTY"),
        O.Answer: WireFailure(_STATE, _CM, "CTIERR_CALLHANDLE_NOTINCOMINGCALL"),
        O.Hold: WireFailure(_STATE, _CM, "CTIERR_HOLDFAILED"),
        O.Retrieve: WireFailure(_STATE, _CM, "CTIERR_RETRIEVEFAILED"),
        O.Consult: WireFailure(_STATE, _CM, "CTIERR_CONSULT_CALL_FAILURE"),
        O.Conference: WireFailure(_STATE, _CM, "CTIERR_CONFERENCE_FAILED"),
        O.Transfer: WireFailure(_STATE, _CM, "CTIERR_TRANSFERFAILED"),
        O.Alternate: WireFailure(_STATE, _CM, "CTIERR_ILLEGAL_CALLSTATE"),
        O.ReConnect: WireFailure(_STATE, _CM, "CTIERR_ILLEGAL_CALLSTATE"),
        O.ClearConnection: WireFailure(_STATE, _CM, "CTIERR_ILLEGAL_CALLSTATE"),
        O.ClearCall: WireFailure(_STATE, _CM, "CTIERR_ILLEGAL_CALLSTATE"),
        O.Connect: WireFailure(CF.CF_INVALID_DESTINATION, None, "CTIERR_REDIRECT_ERR"),
        O.RouteSelect: WireFailure(CF.CF_INVALID_DESTINATION, None, "CTIERR_REDIRECT_CALL_UNKNOWN_DESTINATION"),
        O.Bridge: WireFailure(_STATE, _CM, "CTIERR_CONFERENCE_FAILED"),
        O.Play: WireFailure(_STATE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.Collect: WireFailure(_STATE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.Record: WireFailure(_STATE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.Stop: WireFailure(_STATE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.GetFeature: WireFailure(CF.CF_INVALID_FEATURE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.SetFeature: WireFailure(CF.CF_INVALID_FEATURE, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.GetAttr: WireFailure(CF.CF_OBJECT_NOT_KNOWN, None, "CTIERR_OPERATION_NOT_ALLOWED"),
        O.SetAttr: WireFailure(CF.CF_OBJECT_NOT_KNOWN, None, "CTIERR_OPERATION_NOT_ALLOWED"),
    }
)


def wire_failure(op: Operation) -> WireFailure:
    """The CONTROL_FAILURE_CONF contents for a rejected ``op`` (inferred; see the module docstring)."""
    return WIRE_FAILURES[Operation(op)]
