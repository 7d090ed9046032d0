"""Hypothesis state machine over the ACD model.

The expectation is computed independently here: the §3.2 checks as plain if-chains and the §3.3
matrix written out below (error-catalogs.md; the mock choices of mockcti.acd for the n/s cells).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mockcti.acd import AcdLine, AcdModel, AcdRequest, LineState, Operation, SrfState

S, O, R = LineState, Operation, SrfState
CONF = {S.Line1Conferenced, S.Line2Conferenced, S.Line3Conferenced}
ALL = set(LineState)

# §3.3 accepted cells (state, op) -> next state; "PRE" = back to the pre-hold state.
NEXT: dict[tuple[LineState, Operation], object] = {
    (S.Idle, O.MakeCall): S.Originated,
    (S.End, O.MakeCall): S.Originated,  # mock choice (n/s)
    (S.Delivered, O.Answer): S.Line1Connected,
    (S.Line1Connected, O.Connect): S.End,
    (S.Line1Conferenced, O.Connect): S.End,
    (S.Line1Connected, O.Hold): S.Line1Held,
    (S.Line1Conferenced, O.Hold): S.Line1Held,
    (S.Line2Connected, O.Hold): S.Line2AllHeld,
    (S.Held, O.Hold): S.Line2AllHeld,
    (S.Line2Conferenced, O.Hold): S.Held,
    (S.Line3Conferenced, O.Hold): S.Held,
    (S.Line1Held, O.Retrieve): "PRE",
    (S.Line2AllHeld, O.Retrieve): S.Held,
    (S.Line1Connected, O.Consult): S.Originated,
    (S.Line1Conferenced, O.Consult): S.Originated,
    (S.Line1Held, O.Consult): S.Originated,
    (S.Line2AllHeld, O.Conference): S.Line2Conferenced,
    (S.Line2Conferenced, O.Conference): S.Line2Conferenced,
    (S.Held, O.Alternate): S.Held,
    (S.Line2Conferenced, O.Alternate): S.Held,
    (S.Line2Connected, O.Transfer): S.End,
    (S.Held, O.Transfer): S.End,
    (S.Line2AllHeld, O.Transfer): S.End,
    (S.Line2Conferenced, O.Transfer): S.End,
    (S.Line1Connected, O.Bridge): S.Line2Conferenced,
    (S.Line1Conferenced, O.Bridge): S.Line2Conferenced,
    (S.Line1Held, O.Bridge): S.Line2Conferenced,
    (S.Line2Connected, O.Bridge): S.Line2Conferenced,
    (S.Line2AllHeld, O.Bridge): S.Line2Conferenced,
    (S.Line2Conferenced, O.Bridge): "BRIDGE",  # Line3Conferenced if dest is new
    (S.Line3Conferenced, O.Bridge): S.Line3Conferenced,
    (S.Line1Conferenced, O.ReConnect): S.Line1Conferenced,
    (S.Originated, O.ClearConnection): S.End,
    (S.Delivered, O.ClearConnection): S.End,
    (S.Line1Connected, O.ClearConnection): S.End,
    (S.Line1Conferenced, O.ClearConnection): S.End,
    (S.Line1Held, O.ClearConnection): S.End,
    (S.Line2Connected, O.ClearConnection): S.Line1Held,
    (S.Held, O.ClearConnection): "HELD_CLEAR",  # Line1Connected if dest is the held party, else Line1Held
    (S.Line2AllHeld, O.ClearConnection): S.Line1Held,
    (S.Line2Conferenced, O.ClearConnection): S.Line1Conferenced,
    (S.Line3Conferenced, O.ClearConnection): S.Line2Conferenced,
    **{(s, O.ClearCall): S.End for s in ALL - {S.Idle, S.End}},
}
MEDIA = {O.Play: R.SRFPlaying, O.Collect: R.SRFCollecting, O.Record: R.SRFRecording, O.Stop: R.SRFStop}
NO_CHANGE = {O.RouteSelect, O.GetFeature, O.SetFeature, O.GetAttr, O.SetAttr}


def _valid(n: str) -> bool:
    return re.fullmatch(r"\+?[0-9*#]+", n) is not None


def first_code(st_: LineState, srf: SrfState, r: AcdRequest) -> int | None:  # noqa: C901 - a spec, written out
    """§3.2, in order; None when every check passes."""
    op, stop = r.op, srf is R.SRFStop
    ld_bad = not r.line or not r.dest or r.line == r.dest
    if op is O.RouteSelect:
        return None if r.dest.startswith(("000001", "000002", "000003")) else 1119
    if op is O.Connect:
        return 1120 if not r.dest else (1121 if st_ not in {S.Line1Connected, S.Line1Conferenced} else None)
    if op is O.Hold:
        if not r.dest:
            return 1122
        if not _valid(r.dest):
            return 1123
        per_state = {S.Line1Connected: 1124, S.Line1Conferenced: 1125, S.Line2Connected: 1126, S.Line2Conferenced: 1127}
        if st_ in per_state and r.dest != r.talking_to:
            return per_state[st_]
        ok = {S.Line1Connected, S.Line1Conferenced, S.Line2Connected, S.Line2Conferenced, S.Held, S.Line3Conferenced}
        return None if st_ in ok else 1128
    if op is O.Retrieve:
        if not r.dest:
            return 1129
        if not _valid(r.dest):
            return 1130
        if st_ is S.Line1Held and r.dest != r.held_party:
            return 1131
        return None if st_ in {S.Line1Held, S.Line2AllHeld} else 1132
    if op is O.Conference:
        return None if st_ in {S.Line2AllHeld, S.Line2Conferenced} else 1133
    if op is O.Stop:
        if r.mode == 0 and st_ not in CONF:
            return 1134
        return None if r.mode in (0, 1) else 1135
    if op is O.Play:
        if r.mode == 0 and (st_ not in CONF or not stop):
            return 1136
        if r.mode == 1 and st_ in {S.Line1Conferenced, S.Line2Conferenced} and (r.line != r.talking_to or not stop):
            return 1137
        if r.mode == 1 and st_ is S.Line3Conferenced and (r.line not in r.line_info or not stop):
            return 1138
        if r.mode == 1 and st_ not in CONF:
            return 1139
        return None if r.mode in (0, 1) else 1140
    if op is O.Collect:
        return None if st_ in CONF else 1141
    if op is O.Record:
        if r.mode != 0 or not stop:
            return 1142
        return None if st_ in CONF | {S.Originated, S.Delivered} else 1143
    if op is O.ReConnect:
        if ld_bad:
            return 1144
        if r.line not in r.line_info:
            return 1145
        return None if st_ is S.Line1Conferenced else 1146
    if op is O.Consult:
        if not r.dest:
            return 1147
        return None if st_ in {S.Line1Connected, S.Line1Conferenced, S.Line1Held} else 1148
    if op is O.Bridge:
        if ld_bad:
            return 1172
        return None if st_ in ALL - {S.Idle, S.Originated, S.Delivered, S.Held, S.End} else 1149
    if op is O.Alternate:
        if ld_bad:
            return 1150
        if r.dest not in r.line_info:
            return 1151
        return None if st_ in {S.Line2Conferenced, S.Held} else 1152
    if op is O.Transfer:
        if ld_bad:
            return 1153
        if r.line not in r.line_info:
            return 1154
        if r.dest not in r.line_info:
            return 1155
        return None if st_ in {S.Line2Connected, S.Held, S.Line2AllHeld, S.Line2Conferenced} else 1156
    if op is O.ClearConnection:
        if not r.dest:
            return 1157
        if r.dest not in r.line_info:
            return 1158
        return None if st_ not in {S.Idle, S.End} else 1159
    if op is O.ClearCall:
        return 1160 if st_ in {S.End, S.Idle} else None
    if op is O.MakeCall:
        if not r.dest or not r.did.startswith("000002"):
            return 1161
        if not r.dest_exists:
            return 1162
        if not r.connector_ok:
            return 1163
        return None if st_ in {S.Idle, S.End} else 2140
    if op in (O.GetFeature, O.SetFeature):
        return None if r.backend_ok else (1164 if op is O.GetFeature else 1165)
    if op is O.GetAttr:
        return 1166 if r.attr == 0 or not r.did_found else None
    if op is O.SetAttr:
        return 1167 if r.attr == 0 or (not r.did_found and r.response == 1) else None
    if op is O.Answer:
        if r.extension_type != 5:
            return 1174
        if not r.phone_ringing or st_ is not S.Delivered:
            return 1175
        return None if r.answer_key_ok else 1173
    raise AssertionError(op)


PARTIES = ["1001", "1002", "1003"]
NUMBERS = ["", "x9", "0000021", *PARTIES]


_S = {name: st.sampled_from(xs) for name, xs in {
    "mode": [0, 0, 1, 1, 2], "did": ["", "0000021", "0000031"], "attr": [0, 1, 1], "response": [0, 1],
    "extension_type": [5, 5, 5, 3], "flag": [True, True, False], "op": list(Operation),
}.items()}


@st.composite
def requests(draw: st.DrawFn) -> AcdRequest:
    """Requests whose parameters often agree with each other, so that deep states are reached."""
    line_info = tuple(draw(st.lists(st.sampled_from(PARTIES), max_size=3, unique=True)))
    numbers = st.sampled_from(NUMBERS + list(line_info) * 2)
    dest, line = draw(numbers), draw(numbers)
    party = st.sampled_from(["", dest, dest, line, *PARTIES])
    flag = _S["flag"]
    return AcdRequest(
        op=draw(_S["op"]), dest=dest, line=line, mode=draw(_S["mode"]), line_info=line_info,
        talking_to=draw(party), held_party=draw(party), did=draw(_S["did"]), attr=draw(_S["attr"]),
        response=draw(_S["response"]), did_found=draw(flag), extension_type=draw(_S["extension_type"]),
        phone_ringing=draw(flag), answer_key_ok=draw(flag), backend_ok=draw(flag), connector_ok=draw(flag),
        dest_exists=draw(flag),
    )


REQUESTS = requests()


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = AcdModel()
        self.line = AcdLine()
        # the test's own record of the state (independent of the model)
        self.state, self.srf, self.pre_hold = S.Idle, R.SRFStop, None

    @initialize(state=st.sampled_from(list(LineState)), srf=st.sampled_from(list(SrfState)))
    def start(self, state: LineState, srf: SrfState) -> None:
        self.line = AcdLine(state, srf)
        self.state, self.srf, self.pre_hold = state, srf, None

    @rule(req=REQUESTS)
    def request(self, req: AcdRequest) -> None:
        op = req.op
        before = self.line
        verdict = self.model.evaluate(before, req)
        code = first_code(self.state, self.srf, req)
        if code is not None:
            assert not verdict.ok and verdict.code == code, (self.state, req, verdict.check)
            assert verdict.next == before
            return
        assert verdict.ok and verdict.check is None, (self.state, req, verdict.check)
        self._advance(req)
        assert verdict.next == AcdLine(self.state, self.srf, self.pre_hold), (before, req)
        if op is O.Stop:
            assert verdict.next.srf is R.SRFStop
        self.line = verdict.next

    def _advance(self, req: AcdRequest) -> None:
        op, old = req.op, self.state
        if op in MEDIA:
            self.srf = MEDIA[op]
            return
        if op in NO_CHANGE or (old, op) not in NEXT:
            assert op in NO_CHANGE or op is O.Answer, (old, op)  # Answer elsewhere is rejected by 1175
            return
        nxt = NEXT[(old, op)]
        if nxt == "PRE":
            nxt = self.pre_hold or S.Line1Connected
        elif nxt == "BRIDGE":
            nxt = S.Line2Conferenced if req.dest in req.line_info else S.Line3Conferenced
        elif nxt == "HELD_CLEAR":
            nxt = S.Line1Connected if req.dest == req.held_party else S.Line1Held
        assert isinstance(nxt, LineState)
        if nxt is not old:
            self.pre_hold = old if (nxt is S.Line1Held and old in {S.Line1Connected, S.Line1Conferenced}) else None
        if nxt is S.End and old is not S.End:
            self.srf = R.SRFStop
        self.state = nxt

    @invariant()
    def pre_hold_only_in_line1held(self) -> None:
        assert self.line.pre_hold is None or self.line.state is S.Line1Held


AcdMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestAcdStateMachine = AcdMachine.TestCase
