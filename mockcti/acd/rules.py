"""The ordered precondition checks of the seed-000 ACD as one data table (error-catalogs.md §3.2).

Each :class:`Check` rejects a request with one cn_ngcc code (``catalog/cn_ngcc.toml``; names as
proposed in §2.2.2). Within an operation the checks run by ``order`` and the first failing one
wins. The seed (``shared/seeds/000_*.txt`` lines 66-183) states each *condition → code* pair; the
*order* follows §3.1's convention (parameter presence → format → per-state → catch-all state
check) and is itself a reading. ``inferred=True`` marks the rows whose order, set or predicate
§3.1-§3.3 or the errata call inferred or a mock choice:

* 1123/1130 "dest not a valid number": the seed does not define validity; the mock accepts
  ``+?[0-9*#]+``;
* 1142/1143 (Record: relative order unknown, §3.2 note), 1172/1149 (Bridge: 1172 added later,
  param-first assumed);
* 1156 (Transfer) and 1159 (ClearConnection): the allowed state sets are not given by the seed;
  the §3.3 proposals are used ({Line2Connected, Held, Line2AllHeld, Line2Conferenced}; every state
  but Idle and End). Excluding Line3Conferenced from Transfer is a mock choice (errata P14);
* 1167 SetAttr: grouping of "and response is 1" is ambiguous (§2.3 B); default
  ``attr == 0 or (not found and response == 1)``;
* Answer 1174 → 1175 → 1173 (type → state → action, although 1173 is numbered first); 1175's
  "extension state wrong" is modelled as ``phone_ringing=False`` — the seed gives no example
  (errata P12);
* three mock rules that are not in §3.2 but fill §3.3 cells: ``ACD-1175-ACD`` (Answer outside
  Delivered, §3.3 note), ``ACD-1160-IDLE`` (ClearCall with no call, an n/s cell) and
  ``ACD-MAKECALL-BUSY`` (MakeCall while a call is up, n/s cells; code 2140 CTI_EXTENSION_IN_CALL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mockcti.acd.states import CONFERENCED, AcdLine, LineState, Operation, SrfState
from mockcti.wire.records import fast_frozen_init

__all__ = ["CHECKS", "PARAM_TESTS", "AcdRequest", "Check", "checks_for"]

S = LineState
O = Operation  # noqa: E741


@fast_frozen_init
@dataclass(frozen=True, slots=True, kw_only=True)
class AcdRequest:
    """One CTI request to the ACD with everything the §3.2 checks look at.

    Defaults are the "nothing wrong" values for the non-parameter facts (backend, connector,
    phone), so a test only sets the fields it cares about. Numbers are strings; empty = absent.
    """

    op: Operation
    dest: str = ""
    line: str = ""
    mode: int = 0  #: 0 = whole conference, 1 = one member (Play/Stop/Record)
    line_info: tuple[str, ...] = ()  #: the parties on the agent's call (lineInfo)
    talking_to: str = ""  #: the party the agent is talking to now (the "currently connected number")
    held_party: str = ""  #: the party on hold (Line1Held)
    did: str = ""
    attr: int = 1
    response: int = 0
    did_found: bool = True  #: an extension row exists for ``did`` (GetAttr/SetAttr)
    extension_type: int = 5  #: 5 = Yealink terminal (Answer)
    phone_ringing: bool = True  #: the phone's own state is right for Answer (1175, errata P12)
    answer_key_ok: bool = True  #: pressing the Yealink answer key works (1173)
    backend_ok: bool = True  #: GetFeature/SetFeature backend answers without failure
    connector_ok: bool = True  #: MakeCall can reach ctiConnector (1163)
    dest_exists: bool = True  #: MakeCall dest exists / extension reachable (1162)


_NUMBER = re.compile(r"\+?[0-9*#]+")


def _line_dest_bad(line: AcdLine, r: AcdRequest, cfg: Any) -> bool:
    return not r.line or not r.dest or r.line == r.dest


def _setattr_invalid(line: AcdLine, r: AcdRequest, cfg: Any) -> bool:
    if cfg is not None and getattr(cfg, "setattr_response_applies_to_all", False):
        return (r.attr == 0 or not r.did_found) and r.response == 1
    return r.attr == 0 or (not r.did_found and r.response == 1)


#: Named parameter predicates: ``(line, request, config) -> True`` means "reject".
PARAM_TESTS: Mapping[str, Callable[[AcdLine, AcdRequest, Any], bool]] = {
    "dest_not_group_ext_sys": lambda ln, r, c: not r.dest.startswith(("000001", "000002", "000003")),
    "dest_empty": lambda ln, r, c: not r.dest,
    "dest_invalid": lambda ln, r, c: _NUMBER.fullmatch(r.dest) is None,
    "dest_not_talking_to": lambda ln, r, c: r.dest != r.talking_to,
    "dest_not_held_party": lambda ln, r, c: r.dest != r.held_party,
    "dest_not_in_line_info": lambda ln, r, c: r.dest not in r.line_info,
    "line_not_talking_to": lambda ln, r, c: r.line != r.talking_to,
    "line_not_in_line_info": lambda ln, r, c: r.line not in r.line_info,
    "line_dest_bad": _line_dest_bad,
    "mode_not_0_or_1": lambda ln, r, c: r.mode not in (0, 1),
    "mode_not_0": lambda ln, r, c: r.mode != 0,
    "makecall_dest_or_did_bad": lambda ln, r, c: not r.dest or not r.did.startswith("000002"),
    "dest_unreachable": lambda ln, r, c: not r.dest_exists,
    "connector_failed": lambda ln, r, c: not r.connector_ok,
    "backend_failed": lambda ln, r, c: not r.backend_ok,
    "getattr_invalid": lambda ln, r, c: r.attr == 0 or not r.did_found,
    "setattr_invalid": _setattr_invalid,
    "not_yealink": lambda ln, r, c: r.extension_type != 5,
    "phone_state_wrong": lambda ln, r, c: not r.phone_ringing,
    "answer_key_failed": lambda ln, r, c: not r.answer_key_ok,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One row of §3.2: reject ``operation`` with ``code`` when the predicate holds.

    The predicate is data: the row *applies* when the state is in ``when_states`` and the mode in
    ``when_modes`` (None = any); it then *fails* when any of its parts holds — the state is not in
    ``allowed_states``, the named parameter test ``param`` (see :data:`PARAM_TESTS`) is true, or
    ``srf_must_be_stop`` and the SRF state is not SRFStop.
    """

    rule_id: str
    operation: Operation
    order: int
    code: int
    code_name: str
    explanation: str
    inferred: bool = False
    when_states: frozenset[LineState] | None = None
    when_modes: frozenset[int] | None = None
    allowed_states: frozenset[LineState] | None = None
    param: str | None = None
    srf_must_be_stop: bool = False

    def __post_init__(self) -> None:
        if self.allowed_states is None and self.param is None and not self.srf_must_be_stop:
            raise ValueError(f"{self.rule_id}: a check needs allowed_states, param or srf_must_be_stop")
        if self.param is not None and self.param not in PARAM_TESTS:
            raise ValueError(f"{self.rule_id}: unknown param test {self.param!r}")

    @property
    def title(self) -> str:
        """Short title for reports: ``"Hold check 3: ACD_HOLD_NOT_PARTY_L1CONNECTED (1124)"``."""
        return f"{self.operation} check {self.order}: {self.code_name} ({self.code})"

    def fails(
        self,
        line: AcdLine,
        request: AcdRequest,
        *,
        allowed_states: frozenset[LineState] | None = None,
        config: Any = None,
    ) -> bool:
        """Whether this check rejects ``request`` on ``line`` (``allowed_states`` overrides the row's)."""
        if self.when_states is not None and line.state not in self.when_states:
            return False
        if self.when_modes is not None and request.mode not in self.when_modes:
            return False
        allowed = allowed_states if allowed_states is not None else self.allowed_states
        if allowed is not None and line.state not in allowed:
            return True
        if self.param is not None and PARAM_TESTS[self.param](line, request, config):
            return True
        return self.srf_must_be_stop and line.srf is not SrfState.SRFStop


def _fs(*states: LineState) -> frozenset[LineState]:
    return frozenset(states)


_CONF = CONFERENCED
_HOLD_OK = _fs(S.Line1Connected, S.Line1Conferenced, S.Line2Connected, S.Line2Conferenced, S.Held, S.Line3Conferenced)
_BRIDGE_OK = _fs(
    S.Line1Connected, S.Line1Conferenced, S.Line1Held, S.Line2Connected, S.Line2Conferenced, S.Line2AllHeld,
    S.Line3Conferenced,
)
#: §3.3 proposal for Transfer (1156): the two-party states. Inferred; Line3Conferenced excluded (errata P14).
TRANSFER_ALLOWED = _fs(S.Line2Connected, S.Held, S.Line2AllHeld, S.Line2Conferenced)
#: §3.3 proposal for ClearConnection (1159): every state but Idle and End. Inferred.
CLEAR_CONNECTION_ALLOWED = frozenset(LineState) - {S.Idle, S.End}


def _c(rule_id: str, op: Operation, order: int, code: int, name: str, explanation: str, **kw: Any) -> Check:
    return Check(rule_id=rule_id, operation=op, order=order, code=code, code_name=name, explanation=explanation, **kw)


#: Every §3.2 check (plus three inferred mock rules), in operation order then check order.
CHECKS: tuple[Check, ...] = (
    # RouteSelect
    _c("ACD-1119", O.RouteSelect, 1, 1119, "ACD_ROUTESELECT_DEST_INVALID",
       "RouteSelect: dest must start with 000001 (group), 000002 (extension) or 000003 (system parameter).",
       param="dest_not_group_ext_sys"),
    # Connect
    _c("ACD-1120", O.Connect, 1, 1120, "ACD_CONNECT_DEST_EMPTY", "Connect: dest is empty.", param="dest_empty"),
    _c("ACD-1121", O.Connect, 2, 1121, "ACD_CONNECT_BAD_STATE",
       "Connect: the ACD state must be Line1Connected or Line1Conferenced.",
       allowed_states=_fs(S.Line1Connected, S.Line1Conferenced)),
    # Hold
    _c("ACD-1122", O.Hold, 1, 1122, "ACD_HOLD_DEST_EMPTY", "Hold: dest is empty.", param="dest_empty"),
    _c("ACD-1123", O.Hold, 2, 1123, "ACD_HOLD_DEST_INVALID",
       "Hold: dest is not a valid number (the mock accepts +?[0-9*#]+).", param="dest_invalid", inferred=True),
    _c("ACD-1124", O.Hold, 3, 1124, "ACD_HOLD_NOT_PARTY_L1CONNECTED",
       "Hold in Line1Connected: dest is not the party talking to the agent.",
       when_states=_fs(S.Line1Connected), param="dest_not_talking_to"),
    _c("ACD-1125", O.Hold, 3, 1125, "ACD_HOLD_NOT_PARTY_L1CONFERENCED",
       "Hold in Line1Conferenced: dest is not the party talking to the agent.",
       when_states=_fs(S.Line1Conferenced), param="dest_not_talking_to"),
    _c("ACD-1126", O.Hold, 3, 1126, "ACD_HOLD_NOT_PARTY_L2CONNECTED",
       "Hold in Line2Connected: dest is not the party talking to the agent.",
       when_states=_fs(S.Line2Connected), param="dest_not_talking_to"),
    _c("ACD-1127", O.Hold, 3, 1127, "ACD_HOLD_NOT_PARTY_L2CONFERENCED",
       "Hold in Line2Conferenced: dest is not the party talking to the agent.",
       when_states=_fs(S.Line2Conferenced), param="dest_not_talking_to"),
    _c("ACD-1128", O.Hold, 4, 1128, "ACD_HOLD_BAD_STATE",
       "Hold: the ACD state must be Line1Connected, Line1Conferenced, Line2Connected, Line2Conferenced, "
       "Held or Line3Conferenced (no party check in Held/Line3Conferenced).", allowed_states=_HOLD_OK),
    # Retrieve
    _c("ACD-1129", O.Retrieve, 1, 1129, "ACD_RETRIEVE_DEST_EMPTY", "Retrieve: dest is empty.", param="dest_empty"),
    _c("ACD-1130", O.Retrieve, 2, 1130, "ACD_RETRIEVE_DEST_INVALID",
       "Retrieve: dest is not a valid number (the mock accepts +?[0-9*#]+).", param="dest_invalid", inferred=True),
    _c("ACD-1131", O.Retrieve, 3, 1131, "ACD_RETRIEVE_NOT_HELD_PARTY",
       "Retrieve in Line1Held: dest is not the party on hold.",
       when_states=_fs(S.Line1Held), param="dest_not_held_party"),
    _c("ACD-1132", O.Retrieve, 4, 1132, "ACD_RETRIEVE_BAD_STATE",
       "Retrieve: the ACD state must be Line1Held or Line2AllHeld.", allowed_states=_fs(S.Line1Held, S.Line2AllHeld)),
    # Conference
    _c("ACD-1133", O.Conference, 1, 1133, "ACD_CONFERENCE_BAD_STATE",
       "Conference: the ACD state must be Line2AllHeld or Line2Conferenced.",
       allowed_states=_fs(S.Line2AllHeld, S.Line2Conferenced)),
    # Stop
    _c("ACD-1134", O.Stop, 1, 1134, "ACD_STOP_CONF_BAD_STATE",
       "Stop mode 0 (whole conference): the ACD state must be Line1/2/3Conferenced.",
       when_modes=frozenset({0}), allowed_states=_CONF),
    _c("ACD-1135", O.Stop, 2, 1135, "ACD_STOP_MODE_INVALID",
       "Stop: mode must be 0 (conference) or 1 (member).", param="mode_not_0_or_1"),
    # Play
    _c("ACD-1136", O.Play, 1, 1136, "ACD_PLAY_CONF_REJECTED",
       "Play mode 0: the ACD state must be Line1/2/3Conferenced and the media resource SRFStop.",
       when_modes=frozenset({0}), allowed_states=_CONF, srf_must_be_stop=True),
    _c("ACD-1137", O.Play, 2, 1137, "ACD_PLAY_MEMBER_L12_REJECTED",
       "Play mode 1 in Line1/Line2Conferenced: line must be the currently connected number and the "
       "media resource SRFStop.",
       when_modes=frozenset({1}), when_states=_fs(S.Line1Conferenced, S.Line2Conferenced),
       param="line_not_talking_to", srf_must_be_stop=True),
    _c("ACD-1138", O.Play, 2, 1138, "ACD_PLAY_MEMBER_L3_REJECTED",
       "Play mode 1 in Line3Conferenced: line must be a party in lineInfo and the media resource SRFStop.",
       when_modes=frozenset({1}), when_states=_fs(S.Line3Conferenced),
       param="line_not_in_line_info", srf_must_be_stop=True),
    _c("ACD-1139", O.Play, 3, 1139, "ACD_PLAY_MEMBER_BAD_STATE",
       "Play mode 1: the ACD state must be Line1/2/3Conferenced.", when_modes=frozenset({1}), allowed_states=_CONF),
    _c("ACD-1140", O.Play, 4, 1140, "ACD_PLAY_MODE_INVALID",
       "Play: mode must be 0 (conference) or 1 (member).", param="mode_not_0_or_1"),
    # Collect
    _c("ACD-1141", O.Collect, 1, 1141, "ACD_COLLECT_BAD_STATE",
       "Collect: the ACD state must be Line1/2/3Conferenced (no SRF or mode check documented).",
       allowed_states=_CONF),
    # Record
    _c("ACD-1142", O.Record, 1, 1142, "ACD_RECORD_MODE_OR_SRF_INVALID",
       "Record: mode must be 0 and the media resource SRFStop (order relative to 1143 unknown).",
       param="mode_not_0", srf_must_be_stop=True, inferred=True),
    _c("ACD-1143", O.Record, 2, 1143, "ACD_RECORD_BAD_STATE",
       "Record: the ACD state must be Line1/2/3Conferenced, Originated or Delivered "
       "(order relative to 1142 unknown).",
       allowed_states=_CONF | {S.Originated, S.Delivered}, inferred=True),
    # ReConnect
    _c("ACD-1144", O.ReConnect, 1, 1144, "ACD_RECONNECT_PARAM_INVALID",
       "ReConnect: line and dest must both be given and differ.", param="line_dest_bad"),
    _c("ACD-1145", O.ReConnect, 2, 1145, "ACD_RECONNECT_LINE_UNKNOWN",
       "ReConnect: line must be a party in lineInfo.", param="line_not_in_line_info"),
    _c("ACD-1146", O.ReConnect, 3, 1146, "ACD_RECONNECT_BAD_STATE",
       "ReConnect: the ACD state must be Line1Conferenced.", allowed_states=_fs(S.Line1Conferenced)),
    # Consult
    _c("ACD-1147", O.Consult, 1, 1147, "ACD_CONSULT_DEST_EMPTY", "Consult: the consult number dest is empty.",
       param="dest_empty"),
    _c("ACD-1148", O.Consult, 2, 1148, "ACD_CONSULT_BAD_STATE",
       "Consult: the ACD state must be Line1Connected, Line1Conferenced or Line1Held.",
       allowed_states=_fs(S.Line1Connected, S.Line1Conferenced, S.Line1Held)),
    # Bridge
    _c("ACD-1172", O.Bridge, 1, 1172, "ACD_BRIDGE_PARAM_INVALID",
       "Bridge: line and dest must both be given and differ (checked first: assumed, 1172 was added later).",
       param="line_dest_bad", inferred=True),
    _c("ACD-1149", O.Bridge, 2, 1149, "ACD_BRIDGE_BAD_STATE",
       "Bridge: the ACD state must be Line1Connected, Line1Conferenced, Line1Held, Line2Connected, "
       "Line2Conferenced, Line2AllHeld or Line3Conferenced.", allowed_states=_BRIDGE_OK, inferred=True),
    # Alternate
    _c("ACD-1150", O.Alternate, 1, 1150, "ACD_ALTERNATE_PARAM_INVALID",
       "Alternate: line and dest must both be given and differ.", param="line_dest_bad"),
    _c("ACD-1151", O.Alternate, 2, 1151, "ACD_ALTERNATE_DEST_UNKNOWN",
       "Alternate: dest must be a party in lineInfo (line is not checked).", param="dest_not_in_line_info"),
    _c("ACD-1152", O.Alternate, 3, 1152, "ACD_ALTERNATE_BAD_STATE",
       "Alternate: the ACD state must be Line2Conferenced or Held.", allowed_states=_fs(S.Line2Conferenced, S.Held)),
    # Transfer
    _c("ACD-1153", O.Transfer, 1, 1153, "ACD_TRANSFER_PARAM_INVALID",
       "Transfer: line and dest must both be given and differ.", param="line_dest_bad"),
    _c("ACD-1154", O.Transfer, 2, 1154, "ACD_TRANSFER_LINE_UNKNOWN",
       "Transfer: line must be a party in lineInfo.", param="line_not_in_line_info"),
    _c("ACD-1155", O.Transfer, 3, 1155, "ACD_TRANSFER_DEST_UNKNOWN",
       "Transfer: dest must be a party in lineInfo.", param="dest_not_in_line_info"),
    _c("ACD-1156", O.Transfer, 4, 1156, "ACD_TRANSFER_BAD_STATE",
       "Transfer: the ACD state is not allowed (set not given by the seed; mock default Line2Connected, "
       "Held, Line2AllHeld, Line2Conferenced).", allowed_states=TRANSFER_ALLOWED, inferred=True),
    # ClearConnection
    _c("ACD-1157", O.ClearConnection, 1, 1157, "ACD_CLEARCONN_DEST_EMPTY", "ClearConnection: dest is empty.",
       param="dest_empty"),
    _c("ACD-1158", O.ClearConnection, 2, 1158, "ACD_CLEARCONN_DEST_UNKNOWN",
       "ClearConnection: dest must be a party in lineInfo.", param="dest_not_in_line_info"),
    _c("ACD-1159", O.ClearConnection, 3, 1159, "ACD_CLEARCONN_BAD_STATE",
       "ClearConnection: the ACD state is not allowed (set not given by the seed; mock default: any "
       "state but Idle and End).", allowed_states=CLEAR_CONNECTION_ALLOWED, inferred=True),
    # ClearCall
    _c("ACD-1160", O.ClearCall, 1, 1160, "ACD_CLEARCALL_ALREADY_ENDED", "ClearCall: the call is already in End.",
       allowed_states=frozenset(LineState) - {S.End}),
    _c("ACD-1160-IDLE", O.ClearCall, 2, 1160, "ACD_CLEARCALL_ALREADY_ENDED",
       "ClearCall in Idle: there is no call to clear (mock choice for a cell the seed leaves open).",
       allowed_states=frozenset(LineState) - {S.Idle}, inferred=True),
    # MakeCall
    _c("ACD-1161", O.MakeCall, 1, 1161, "ACD_MAKECALL_DEST_INVALID",
       "MakeCall: dest must be given and did must start with 000002.", param="makecall_dest_or_did_bad"),
    _c("ACD-1162", O.MakeCall, 2, 1162, "ACD_MAKECALL_DEST_UNREACHABLE",
       "MakeCall: dest does not exist, or the extension has no continuation number and is unregistered.",
       param="dest_unreachable"),
    _c("ACD-1163", O.MakeCall, 3, 1163, "ACD_MAKECALL_CONNECTOR_FAILED",
       "MakeCall: connecting to ctiConnector failed.", param="connector_failed"),
    _c("ACD-MAKECALL-BUSY", O.MakeCall, 4, 2140, "CTI_EXTENSION_IN_CALL",
       "MakeCall while the agent's line has a call (state not Idle or End): mock choice, the seed has no "
       "MakeCall state check.", allowed_states=_fs(S.Idle, S.End), inferred=True),
    # GetFeature / SetFeature
    _c("ACD-1164", O.GetFeature, 1, 1164, "ACD_GETFEATURE_FAILED", "GetFeature: the backend answered with a failure.",
       param="backend_failed"),
    _c("ACD-1165", O.SetFeature, 1, 1165, "ACD_SETFEATURE_FAILED", "SetFeature: the backend answered with a failure.",
       param="backend_failed"),
    # GetAttr / SetAttr
    _c("ACD-1166", O.GetAttr, 1, 1166, "ACD_GETATTR_INVALID",
       "GetAttr: attr is 0 or no extension row exists for did.", param="getattr_invalid"),
    _c("ACD-1167", O.SetAttr, 1, 1167, "ACD_SETATTR_INVALID",
       "SetAttr: attr is 0, or no extension row for did and response is 1 (grouping ambiguous).",
       param="setattr_invalid", inferred=True),
    # Answer (ordering type -> state -> action is inferred)
    _c("ACD-1174", O.Answer, 1, 1174, "ACD_ANSWER_NOT_YEALINK",
       "Answer: the extension type must be 5 (Yealink terminal).", param="not_yealink", inferred=True),
    _c("ACD-1175", O.Answer, 2, 1175, "ACD_ANSWER_EXT_BAD_STATE",
       "Answer: the extension (phone) state is wrong; modelled as the phone not ringing.",
       param="phone_state_wrong", inferred=True),
    _c("ACD-1175-ACD", O.Answer, 3, 1175, "ACD_ANSWER_EXT_BAD_STATE",
       "Answer outside Delivered: mock reuse of 1175 for the ACD state (§3.3 note; configurable).",
       allowed_states=_fs(S.Delivered), inferred=True),
    _c("ACD-1173", O.Answer, 4, 1173, "ACD_ANSWER_YEALINK_KEY_FAILED",
       "Answer: pressing the Yealink answer key by phone control failed.", param="answer_key_failed",
       inferred=True),
)


_BY_OPERATION: dict[Operation, tuple[Check, ...]] = {
    op: tuple(sorted((c for c in CHECKS if c.operation is op), key=lambda c: c.order)) for op in Operation
}


def checks_for(op: Operation) -> tuple[Check, ...]:
    """The default checks of one operation, in order."""
    return _BY_OPERATION[Operation(op)]
