"""Property tests: anything generated from the JSON Schema either loads or fails with ScenarioError
(never an internal error), and arbitrary text or bytes only ever raise ScenarioError."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.scenario import ScenarioError, load_scenario_text, load_schema

SCHEMA = load_schema()
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _resolve(node):
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def from_schema(node, depth=0):
    """A small Hypothesis strategy for the subset of JSON Schema that schema.json uses."""
    node = _resolve(node)
    if depth > 6:
        return st.none() | st.integers(0, 3) | st.text(max_size=3)
    d = depth + 1
    if "anyOf" in node:
        return st.one_of([from_schema(b, d) for b in node["anyOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    t = node.get("type")
    if isinstance(t, list):
        return st.one_of([from_schema({**node, "type": x}, d) for x in t])
    if t == "object":
        props = node.get("properties", {})
        required = node.get("required", [])
        if node.get("maxProperties") == 1 and props:
            return st.sampled_from(sorted(props)).flatmap(
                lambda k: from_schema(props[k], d).map(lambda v: {k: v}))
        optional = {k: from_schema(v, d) for k, v in props.items() if k not in required}
        base = st.fixed_dictionaries({k: from_schema(props[k], d) for k in required}, optional=optional)
        extra = node.get("additionalProperties", True)
        if extra is False:
            return base
        extra_s = from_schema(extra, d) if isinstance(extra, dict) and extra else scalars
        keys = st.sampled_from(["call_id", "invoke_id", "agent_instrument", "x", "agent_state", "text"]) | st.text(max_size=6)
        return st.tuples(base, st.dictionaries(keys, extra_s, max_size=2)).map(lambda p: {**p[1], **p[0]})
    if t == "array":
        items = node.get("items", {})
        return st.lists(from_schema(items, d) if items else scalars, min_size=node.get("minItems", 0), max_size=3)
    if t == "string":
        if "pattern" in node:
            return st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: len(s) < 40) | st.sampled_from(
                ["start", "held", "1001", "rule1", "step1", "${call_id}"])
        return st.sampled_from(["start", "1001", "Sales", "${x}", "E_CTI_TIMEOUT", "CTIERR_PROVIDER_CLOSED", "CF_GENERIC_UNSPECIFIED",
                                "CCX_AGENT_NULL", "SOAP_UPDATE_FAILED", "^3", "(("]) | st.text(max_size=8)
    if t == "integer":
        return st.integers(node.get("minimum", -(2 ** 40)), node.get("maximum", 2 ** 40))
    if t == "number":
        lo, hi = node.get("minimum", -1e9), node.get("maximum", 1e9)
        return st.integers(int(lo), int(hi)) | st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if t == "boolean":
        return st.booleans()
    if t == "null":
        return st.none()
    return scalars


scalars = st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=6) | st.sampled_from(
    ["present", "absent", "AGENT_STATE_READY", "${call_id}"])

documents = from_schema(SCHEMA)


def _check(text: str, fmt: str = "yaml") -> None:
    try:
        load_scenario_text(text, filename="gen.yaml", fmt=fmt)
    except ScenarioError as exc:
        assert "internal error" not in str(exc), str(exc)
        for e in exc.errors:
            assert isinstance(e, ScenarioError) and e.message and e.file


@settings(max_examples=150, **SETTINGS)
@given(documents)
def test_schema_generated_documents_load_or_fail_cleanly(doc):
    _check(yaml.safe_dump(doc, sort_keys=False))
    _check(json.dumps(doc))  # JSON is YAML too


def test_hypothesis_jsonschema_documents_load_or_fail_cleanly():
    hj = pytest.importorskip("hypothesis_jsonschema")
    strategy = hj.from_schema(SCHEMA)

    @settings(max_examples=40, **SETTINGS)
    @given(strategy)
    def run(doc):
        _check(json.dumps(doc))

    try:
        run()
    except AttributeError as exc:  # hypothesis-jsonschema 0.23 uses Hypothesis internals that have moved
        if "hypothesis" not in repr(exc.__traceback__.tb_frame) and "many" not in str(exc):
            raise
        pytest.skip(f"hypothesis-jsonschema does not work with this Hypothesis: {exc}")


@settings(max_examples=300, **SETTINGS)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises_anything_else(text):
    _check(text)
    _check(text, fmt="toml")


@settings(max_examples=300, **SETTINGS)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_else(data):
    _check(data)
    _check(data, fmt="toml")


@settings(max_examples=200, **SETTINGS)
@given(st.lists(st.sampled_from([
    "name: x\n", "rules:\n", "  - when: {message: HOLD_CALL_REQ}\n", "    then: [default]\n", "    times: 99999999999999999999\n",
    "steps: [{wait: 1e9}]\n", "- a\n", "  ", "{", "}", "[", "]", "&a ", "*a ", "<<: *a\n", "!!binary aGk=\n", ": ",
    "\t", "'", '"', "#", "---\n", "%YAML 1.1\n", "? ", "|\n", "\x00", "\ufeff", "seed: -1\n",
]), max_size=25).map("".join))
def test_yaml_shaped_garbage_never_raises_anything_else(text):
    _check(text)
