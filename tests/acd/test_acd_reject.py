"""The verdict-only path (``AcdModel.reject`` / :class:`Rejection`) gives exactly the check that the
full ``AcdModel.evaluate`` gives, for every state, SRF state and operation, many requests and many
configurations (disabled checks, allowed-state overrides, orders, transfer/clear-connection sets,
Answer and SetAttr choices, configured transition cells)."""

from __future__ import annotations

import dataclasses
import inspect
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.acd import (
    CHECKS,
    AcdConfig,
    AcdLine,
    AcdModel,
    AcdRequest,
    LineState,
    Operation,
    Rejection,
    SrfState,
    checks_for,
)

S, O = LineState, Operation
STATES, SRFS, OPS = list(LineState), list(SrfState), list(Operation)
PARTIES = ["1001", "1002", "1003"]
NUMBERS = ["", "x9", "000001", "0000021", "+12#", *PARTIES]
STATE_SET_RULES = sorted(c.rule_id for c in CHECKS if c.allowed_states is not None)


@st.composite
def requests(draw: st.DrawFn, op: Operation | None = None) -> AcdRequest:
    """Requests whose parties often agree with each other, and every non-parameter fact varied."""
    line_info = tuple(draw(st.lists(st.sampled_from(PARTIES), max_size=3, unique=True)))
    numbers = st.sampled_from(NUMBERS + list(line_info) * 2)
    dest, line = draw(numbers), draw(numbers)
    party = st.sampled_from(["", dest, line, *PARTIES])
    flag = st.sampled_from([True, True, False])
    return AcdRequest(
        op=op if op is not None else draw(st.sampled_from(OPS)), dest=dest, line=line,
        mode=draw(st.sampled_from([0, 1, 2])), line_info=line_info, talking_to=draw(party),
        held_party=draw(party), did=draw(st.sampled_from(["", "0000021", "0000031"])),
        attr=draw(st.sampled_from([0, 1])), response=draw(st.sampled_from([0, 1])), did_found=draw(flag),
        extension_type=draw(st.sampled_from([5, 3])), phone_ringing=draw(flag), answer_key_ok=draw(flag),
        backend_ok=draw(flag), connector_ok=draw(flag), dest_exists=draw(flag),
    )


def _state_names(draw: st.DrawFn) -> list[str]:
    return sorted(str(s) for s in draw(st.sets(st.sampled_from(STATES))))


@st.composite
def configs(draw: st.DrawFn) -> AcdConfig:
    """Any mix of the AcdConfig choices, built as a center file would (``from_mapping``)."""
    data: dict[str, object] = {}
    if draw(st.booleans()):
        data["transfer_allowed"] = _state_names(draw)
    if draw(st.booleans()):
        data["clear_connection_allowed"] = _state_names(draw)
    if draw(st.booleans()):
        data["answer_requires_delivered"] = draw(st.booleans())
    if draw(st.booleans()):
        data["setattr_response_applies_to_all"] = draw(st.booleans())
    if draw(st.booleans()):
        data["disabled_rules"] = draw(st.lists(st.sampled_from([c.rule_id for c in CHECKS]), max_size=6))
    if draw(st.booleans()):
        rids = draw(st.lists(st.sampled_from(STATE_SET_RULES), max_size=4, unique=True))
        data["allowed_states"] = {rid: _state_names(draw) for rid in rids}
    if draw(st.booleans()):
        ops = draw(st.lists(st.sampled_from([op for op in OPS if len(checks_for(op)) > 1]), max_size=3, unique=True))
        data["order"] = {str(op): draw(st.permutations([c.rule_id for c in checks_for(op)])) for op in ops}
    if draw(st.booleans()):
        cells: dict[str, dict[str, object]] = {}
        for _ in range(draw(st.integers(1, 6))):
            state, op = draw(st.sampled_from(STATES)), draw(st.sampled_from(OPS))
            cells.setdefault(str(state), {})[str(op)] = draw(st.one_of(
                st.sampled_from([str(s) for s in STATES] + ["unchanged"]), st.sampled_from([1121, 1148, 2140]),
            ))
        data["transitions"] = cells
    return AcdConfig.from_mapping(data)


def agree(model: AcdModel, line: AcdLine, request: AcdRequest) -> None:
    verdict = model.evaluate(line, request)
    check = model.reject(line, request)
    assert check == verdict.check, (line, request, check, verdict.check)
    assert (check is None) is verdict.ok


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=150, **SETTINGS)
@given(cfg=configs(), srf=st.sampled_from(SRFS), reqs=st.lists(requests(), min_size=1, max_size=3))
def test_reject_agrees_with_evaluate_under_any_config(cfg: AcdConfig, srf: SrfState, reqs: list[AcdRequest]) -> None:
    model = AcdModel(cfg)
    for state, op, req in itertools.product(STATES, OPS, reqs):
        agree(model, AcdLine(state, srf), dataclasses.replace(req, op=op))


@settings(max_examples=400, **SETTINGS)
@given(request=requests())
def test_reject_agrees_with_evaluate_default_config(request: AcdRequest) -> None:
    model = AcdModel()
    for state, srf in itertools.product(STATES, SRFS):
        agree(model, AcdLine(state, srf), request)


def test_reject_agrees_on_every_state_srf_and_operation() -> None:
    """Exhaustive over (state, SRF, operation) with one passing and a few failing requests each."""
    good = dict(dest="1001", line="1002", line_info=("1001", "1002"), talking_to="1001", held_party="1001",
                did="0000021")
    variants = [good, {}, {**good, "mode": 1}, {**good, "mode": 2}, {**good, "talking_to": "1003"},
                {**good, "held_party": ""}, {**good, "dest": "x9"}, {**good, "line": "1001"},
                {**good, "phone_ringing": False}, {**good, "attr": 0, "response": 1}]
    models = [AcdModel(), AcdModel(AcdConfig.from_mapping({"answer_requires_delivered": False,
                                                           "allowed_states": {"ACD-1128": ["Held"]},
                                                           "transitions": {"Line1Connected": {"Consult": 1148}}}))]
    for model, state, srf, op, kw in itertools.product(models, STATES, SRFS, OPS, variants):
        agree(model, AcdLine(state, srf, None), AcdRequest(op=op, **kw))


def test_rejection_plan_leaves_out_what_the_state_decides() -> None:
    m = AcdModel()
    # Hold in Line1Connected: the two dest checks and the one party check of the state; 1128 passes
    plan = m.rejection(O.Hold, S.Line1Connected)
    assert [s.check.rule_id for s in plan.steps] == ["ACD-1122", "ACD-1123", "ACD-1124"] and plan.otherwise is None
    # Hold in Idle: the dest checks still run first, then 1128 fails whatever the request
    plan = m.rejection(O.Hold, S.Idle)
    assert [s.check.rule_id for s in plan.steps] == ["ACD-1122", "ACD-1123"]
    assert plan.otherwise is not None and plan.otherwise.rule_id == "ACD-1128"
    # Conference reads no request at all
    assert m.rejection(O.Conference, S.Line2AllHeld).steps == ()
    assert m.rejection(O.Conference, S.Line2AllHeld).otherwise is None
    assert m.rejection(O.Conference, S.Idle).otherwise.rule_id == "ACD-1133"
    # a configured code cell is the plan's last word, with the same rule as evaluate's
    cfg = AcdConfig.from_mapping({"transitions": {"Line1Connected": {"Consult": 1148}}})
    plan = AcdModel(cfg).rejection(O.Consult, S.Line1Connected)
    assert plan.otherwise.rule_id == "ACD-CELL-Line1Connected-Consult" and plan.otherwise.code == 1148
    assert isinstance(plan, Rejection) and m.rejection(O.Hold, S.Idle) is m.rejection(O.Hold, S.Idle)


def test_reject_follows_a_replaced_config() -> None:
    m = AcdModel()
    req = AcdRequest(op=O.Conference)
    assert m.reject(AcdLine(S.Line2Connected), req).rule_id == "ACD-1133"
    m.config = AcdConfig.from_mapping({"allowed_states": {"ACD-1133": ["Line2Connected"]}})
    assert m.reject(AcdLine(S.Line2Connected), req) is None
    agree(m, AcdLine(S.Line2Connected), req)


# -- AcdRequest's generated __init__ (stores through the slot descriptors) ----------------------
def test_acd_request_init_is_the_dataclass_one() -> None:
    fields = dataclasses.fields(AcdRequest)
    params = list(inspect.signature(AcdRequest).parameters.values())
    assert [p.name for p in params] == [f.name for f in fields]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert [p.default for p in params] == [inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
                                           for f in fields]
    r = AcdRequest(op=O.Hold, dest="1", line_info=("1", "2"), phone_ringing=False)
    assert (r.op, r.dest, r.line_info, r.phone_ringing, r.extension_type, r.attr) == (O.Hold, "1", ("1", "2"), False, 5, 1)
    assert r == AcdRequest(op=O.Hold, dest="1", line_info=("1", "2"), phone_ringing=False) and hash(r)
    assert dataclasses.replace(r, dest="2").dest == "2"
    with pytest.raises(TypeError):
        AcdRequest()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        AcdRequest(O.Hold)  # type: ignore[misc]
    with pytest.raises(TypeError):
        AcdRequest(op=O.Hold, nope=1)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.dest = "2"  # type: ignore[misc]
