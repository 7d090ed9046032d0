"""The wire enums (mockcti/wire/enums.py) and the catalog agree on UCCX names and codes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mockcti.catalog import default

REPO = Path(__file__).resolve().parents[2]
CASES = [("StatusCode", "uccx_status"), ("ControlFailureCode", "uccx_cf"), ("CCXErrorCode", "uccx_ccx")]


@pytest.fixture(scope="module")
def enums():
    if not (REPO / "mockcti" / "wire" / "enums.py").exists():
        pytest.skip("mockcti/wire/enums.py is not written yet")
    return importlib.import_module("mockcti.wire.enums")


@pytest.mark.parametrize(("enum_name", "source"), CASES)
def test_enum_members_are_catalogued_with_the_same_code(enums, enum_name: str, source: str) -> None:
    cat = default()
    enum = getattr(enums, enum_name)
    for name, member in enum.__members__.items():  # aliases included
        entry = cat.get(name)
        assert entry is not None, f"{enum_name}.{name} is not in the catalog"
        assert entry.source == source, f"{enum_name}.{name} is in {entry.source}, not {source}"
        assert entry.code == int(member), f"{enum_name}.{name} = {int(member)} but the catalog says {entry.code}"


@pytest.mark.parametrize(("enum_name", "source"), CASES)
def test_every_confirmed_code_has_an_enum_member(enums, enum_name: str, source: str) -> None:
    values = {int(m) for m in getattr(enums, enum_name)}
    missing = [e.name for e in default().entries(source) if e.status == "confirmed" and e.code not in values]
    assert not missing, f"{enum_name} lacks {missing}"
