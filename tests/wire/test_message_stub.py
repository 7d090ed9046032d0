"""mockcti ships ``py.typed``; the message classes are generated at import time, so a type checker
knows them only from ``mockcti/wire/messages.pyi``. The stub must be current, name every class and
field the module has, and declare the types the decoder really puts in each field."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import DIALECTS, from_message_type
from mockcti.wire import SPECS, FrameBuffer, decode, encode
from mockcti.wire import messages as M
from mockcti.wire import stubgen

STUB = Path(stubgen.__file__).with_name("messages.pyi")


def _stub_classes() -> dict[str, dict[str, str]]:
    """class name -> {field: annotation text}, read from the committed stub."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {
                s.target.id: ast.unparse(s.annotation) for s in node.body
                if isinstance(s, ast.AnnAssign) and not ast.unparse(s.annotation).startswith("ClassVar")
            }
    return out


STUB_CLASSES = _stub_classes()


def test_the_committed_stub_is_what_the_spec_renders() -> None:
    assert STUB.read_text(encoding="utf-8") == stubgen.render(), "run python -m mockcti.wire.stubgen"


def test_stubgen_check_exits_1_on_a_stale_stub_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    stale = tmp_path / "messages.pyi"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(stubgen, "STUB_PATH", stale)
    assert stubgen.main(["--check"]) == 1
    assert stale.read_text(encoding="utf-8") == "# old\n"
    assert stubgen.main(["--bogus"]) == 2
    assert stubgen.main([]) == 0
    assert stubgen.main(["--check"]) == 0


def test_the_module_runs_as_a_script_in_check_mode() -> None:
    proc = subprocess.run([sys.executable, "-m", "mockcti.wire.stubgen", "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_public_class_of_the_module_is_in_the_stub_with_its_fields_in_order() -> None:
    runtime = {n: getattr(M, n) for n in M.__all__ if dataclasses.is_dataclass(getattr(M, n))
               and n not in ("NamedVariable", "NamedArray")}  # imported by the stub from mockcti.wire.types
    assert len(runtime) == len(SPECS) + len(M.GROUP_CLASSES)
    assert set(STUB_CLASSES) == set(runtime)
    for name, cls in runtime.items():
        assert list(STUB_CLASSES[name]) == [f.name for f in dataclasses.fields(cls)], name


def _check(value: object, annotation: str, where: str) -> None:
    """``value`` is of the stub's ``annotation`` (the few shapes the stub uses)."""
    if annotation.startswith("tuple[") and annotation.endswith(", ...]"):
        assert isinstance(value, tuple), where
        for i, item in enumerate(value):
            _check(item, annotation[len("tuple["):-len(", ...]")], f"{where}[{i}]")
        return
    if annotation == "tuple[int, bytes]":
        assert isinstance(value, tuple) and len(value) == 2, where
        _check(value[0], "int", where)
        _check(value[1], "bytes", where)
        return
    choices = [a.strip() for a in annotation.split("|")]
    if value is None:
        assert "None" in choices, f"{where}: None where the stub says {annotation}"
        return
    kinds = {"int": int, "str": str, "bytes": bytes}
    types_ = tuple(kinds[c] if c in kinds else getattr(M, c) for c in choices if c != "None")
    assert isinstance(value, types_), f"{where}: {type(value).__name__} where the stub says {annotation}"
    if dataclasses.is_dataclass(value) and type(value).__name__ in STUB_CLASSES:  # a group instance
        for f in dataclasses.fields(value):
            _check(getattr(value, f.name), STUB_CLASSES[type(value).__name__][f.name], f"{where}.{f.name}")


NEWEST = [max((d for d in DIALECTS if d.profile.name == p), key=lambda d: (d.version, d.tag_width))
          for p in sorted({d.profile.name for d in DIALECTS})]


@pytest.mark.parametrize("dialect", NEWEST, ids=lambda d: f"{d.profile.name}{d.version}")
@pytest.mark.parametrize("mt", sorted(SPECS, key=int), ids=lambda m: m.name)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_decoded_message_has_the_types_the_stub_declares(mt, dialect, data) -> None:
    """What a client receives: every field of the decoded message, groups and named variables included."""
    if not dialect.profile.defines(mt):
        return
    (frame,) = FrameBuffer().feed(encode(data.draw(from_message_type(mt, dialect=dialect)), dialect))
    msg = decode(frame, dialect)
    for f in dataclasses.fields(msg):
        _check(getattr(msg, f.name), STUB_CLASSES[type(msg).__name__][f.name], f"{type(msg).__name__}.{f.name}")
