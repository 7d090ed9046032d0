"""Confirmed values and names in the catalog equal the reference (``../shared/reference``).

The tables of error-catalogs.md (§1.3, §1.5, §2.2) and protocol.md (§6.1-§6.3) are parsed here
from their markdown; where error-catalogs-errata.md corrects error-catalogs.md, the correction
is applied explicitly below and wins.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockcti.catalog import default, load

#: this checkout's catalog files (an editable install's ``default()`` may read another checkout's)
CHECKOUT_CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def _table(path: Path, heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after ``heading``, up to the next heading."""
    lines = path.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [r for r in rows if r[0] and r[0][0] in "0123456789?`"]


@pytest.fixture(scope="module")
def catalogs_md(shared_dir: Path) -> Path:
    return shared_dir / "reference" / "error-catalogs.md"


@pytest.fixture(scope="module")
def protocol_md(shared_dir: Path) -> Path:
    return shared_dir / "reference" / "protocol.md"


# -- Cisco CTIERR (error-catalogs.md §1.3, §1.5; errata P2-P5) ------------------------------------

#: errata P4: the three Table C-1 rows whose getErrorName() is empty get these names
ERRATA_P4_NAMES = {
    0x8CCC0094: "CALL_DROPPED",
    0x8CCC0097: "CTIERR_INVALID_DTMFDIGITS",
    0x8CCC0045: "OPERATION_NOT_AVAILABLE_IN_CURRENT_STATE",
}
SENTINELS = {0xDEADBEEF, 0xBEEFBEEF}


def test_table_c1_values_equal_the_reference(catalogs_md: Path) -> None:
    cat = default()
    rows = _table(catalogs_md, "### 1.3")
    assert len(rows) == 88
    for num, name, hex_, signed, unsigned, _meaning, status in rows:
        name = name.strip("`")
        e = cat.by_name(name)
        assert e.source == "cisco_ctierr"
        if status.startswith("UNCONFIRMED"):
            assert (e.code, e.status, e.value_hex) == (None, "unconfirmed", None), name
            continue
        assert e.code == int(hex_, 16) == int(unsigned), name
        assert e.value_hex == hex_ and e.value_signed == int(signed), name
        assert e.u32 == (hex_, int(unsigned), int(signed))
        expected_status = (
            "alias" if status.startswith("PROBABLE ALIAS")
            else "confirmed_typo" if "typo" in status
            else "confirmed"
        )
        assert e.status == expected_status, (name, e.status)
        assert e.sent_by_server is (e.code not in SENTINELS), name
        # name: getErrorName() spelling where there is one (§1.6), else errata P4
        m = re.search(r"getErrorName\(\) → `([^`]*)`", status)
        assert m, name
        expected = ERRATA_P4_NAMES[e.code] if m.group(1) == "(none)" else m.group(1)
        assert e.name == expected, (name, e.name)
        const = re.search(r"const `(\w+)`", status)
        assert const and const.group(1) in (e.name, *e.aliases), name


def test_errata_p3_one_entry_for_the_value_listed_twice() -> None:
    cat = default()
    (e,) = [x for x in cat.entries("cisco_ctierr") if x.code == 0x8CCC0099]
    assert e.name == "CTIERR_COMMAND_NOT_IMPLEMENTED_ON_DEVICE"
    assert "COMMAND_NOT_IMPLEMENTED_ON_DEVICE" in e.aliases
    assert cat.by_name("OPERATION_NOTA_AVAILABLE_IN_CURRENT_STATE").name == "OPERATION_NOT_AVAILABLE_IN_CURRENT_STATE"
    # the later CTIERR_CALL_DROPPED is a different code from Table C-1's CALL_DROPPED
    assert cat.by_name("CTIERR_CALL_DROPPED").code == 0x8CCC010F != cat.by_name("CALL_DROPPED").code


def test_db_error_is_described_generically() -> None:
    """error-catalogs.md §1.6: Table C-1's text for CTIERR_DB_ERROR describes an illegal device type
    (CTIERR_DB_ILLEGAL_DEVICE_TYPE's subject); the catalog describes DB_ERROR generically."""
    e = default().by_name("DB_ERROR")
    assert e.name == "CTIERR_DB_ERROR" and e.code == 0x8CCC0015
    assert "illegal device type" not in e.description_en.lower()
    assert "query failed" in e.description_en
    assert "Device query contained an illegal device type." in (e.notes or "") and "§1.6" in (e.notes or "")


def test_related_ctierr_codes_equal_the_reference(catalogs_md: Path) -> None:
    cat = default()
    rows = _table(catalogs_md, "### 1.5")
    assert len(rows) == 20
    for names, hex_, signed, _why in rows:
        first = names.split("/")[0].strip().strip("`")
        e = cat.by_name(first)
        assert e.source == "cisco_ctierr"
        assert e.code == int(hex_, 16) and e.value_signed == int(signed), first
        assert e.status == "confirmed" and "§1.5" in (e.locator or "")


# -- seed 000 names and severities (error-catalogs.md §2.2; errata P1) ----------------------------

#: errata P1: the printed "4402 info 签出…失败" row is read as 4403 and keeps its printed severity
ERRATA_P1_SEVERITY = {4403: "info"}


def test_cn_ngcc_names_are_exactly_the_proposed_ones(catalogs_md: Path) -> None:
    cat = default()
    seen = set()
    for sub in ("#### 2.2.1", "#### 2.2.2", "#### 2.2.3", "#### 2.2.4", "#### 2.2.5"):
        for row in _table(catalogs_md, sub):
            m = re.match(r"(\d{4})(?: \((?:dup, )?read (\d{4})\))?", row[0])
            assert m, row
            code = int(m.group(2) or m.group(1))
            name = next(c for c in row[2:4] if re.fullmatch(r"[A-Z][A-Z0-9_]+", c))
            e = cat.lookup("cn_ngcc", code)
            assert e.name == name, (code, e.name, name)
            expected_sev = ERRATA_P1_SEVERITY.get(code, row[1])
            assert e.severity == expected_sev, (code, e.severity, expected_sev)
            seen.add(code)
    assert len(seen) == 250 == len(cat.entries("cn_ngcc"))


def test_cn_ngcc_readings_the_reference_marks_inferred_are_inferred(catalogs_md: Path) -> None:
    """error-catalogs.md §2.3 B: a damaged row whose proposed reading is marked inferred is an
    entry with status "inferred" (a guess to review), not "confirmed"."""
    lines = catalogs_md.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("**B. "))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("**"):
            break
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    inferred = {int(c) for codes, _problem, reading in rows[1:] if "inferred" in reading
                for c in re.findall(r"\d{4}", codes)}
    assert inferred == {4601, 4603, 4605}
    cat = default()
    for code in sorted(inferred):
        e = cat.lookup("cn_ngcc", code)
        assert e.status == "inferred" and e.notes, (code, e.name, e.status)


def test_cn_ngcc_shifted_rows_follow_the_errata() -> None:
    cat = default()
    out_ok, out_failed = cat.lookup("cn_ngcc", 4402), cat.lookup("cn_ngcc", 4403)
    assert (out_ok.name, out_ok.code_as_printed, out_ok.status) == ("AGENT_SIGNOUT_OK", 4401, "ambiguous")
    assert (out_failed.name, out_failed.code_as_printed, out_failed.status) == (
        "AGENT_SIGNOUT_FAILED", 4402, "ambiguous",
    )
    assert cat.lookup("cn_ngcc", 4401).name == "AGENT_SIGNIN_FAILED"


# -- UCCX status / CF / CCX codes (protocol.md §6.1-§6.3) ---------------------------------------


def test_every_icm_spelling_protocol_md_gives_for_a_status_is_an_alias_of_it(protocol_md: Path) -> None:
    """§6.1 gives other ICM spellings in the ICM name's cell: "(ICM spells it E_INVALID_CONFIG_MSG_MASK)"
    for 95, "(ICM v14 table: INVALID_REQUEST_ID_TYPE)" for 98. Each is an alias of its code, so a
    scenario, `mockcti catalog` and the control API find the status by it; INVALID_REQUEST_ID_TYPE was
    only in the entry's notes ("no catalog entry is named ...")."""
    cat = load(CHECKOUT_CATALOG)
    found = {}
    for value, icm, *_ in _table(protocol_md, "### 6.1"):
        for other in re.findall(r"\((?:ICM spells it|ICM v\d+ table:) ([A-Z][A-Z0-9_]*)\)", icm):
            found[other] = int(value)
    assert found == {"E_INVALID_CONFIG_MSG_MASK": 95, "INVALID_REQUEST_ID_TYPE": 98}
    for other, value in found.items():
        e = cat.by_name(other)
        assert (e.source, e.code) == ("uccx_status", value) and other in e.aliases, other
    assert cat.by_name("INVALID_REQUEST_ID_TYPE").name == "E_CTI_INVALID_REQUEST_TYPE"



def test_uccx_status_codes_equal_protocol_md(protocol_md: Path) -> None:
    cat = default()
    rows = _table(protocol_md, "### 6.1")
    assert len(rows) == 99
    for value, icm, uccx, _meaning, _src in rows:
        e = cat.lookup("uccx_status", int(value))
        assert not e.unknown, value
        icm_name = icm.split(" ")[0]
        assert icm_name in (e.name, *e.aliases), (value, icm_name)
        if uccx.startswith("E_CTI_"):  # UCCX defines the code
            assert (e.name, e.status) == (uccx, "confirmed")
        else:  # reserved or not listed by UCCX
            assert e.name == icm_name and e.status in {"icm_only", "ambiguous"}, (value, e.status)
    assert cat.by_name("E_CTI_INVALID_FIELD_TAG").name == "E_CTI_INVALID_FIELD"
    assert cat.by_name("E_CTI_INVALID_CSD").name == "E_CTI_INVALID_CSQ"


def test_uccx_cf_codes_equal_protocol_md(protocol_md: Path) -> None:
    cat = default()
    rows = _table(protocol_md, "### 6.2")
    assert len(rows) == len(cat.entries("uccx_cf")) == 111
    for value, name, src in rows:
        uccx_name = name.split(" ")[0]
        e = cat.lookup("uccx_cf", int(value))
        assert e.name == uccx_name, (value, e.name)
        assert e.status == ("confirmed" if src == "C" else "icm_only"), value
    assert cat.by_name("CF_INVALID_CSTA_CALL_IDENTIFIER").name == "CF_INVALID_CSTA_CALL_ID"
    # the reserved CF values are documented, and an unknown entry says so
    assert "Reserved" in (cat.lookup("uccx_cf", 20).notes or "")


def test_the_uccx_ccx_codes_protocol_md_says_exist_unnamed_are_a_reserved_range(protocol_md: Path) -> None:
    """§6.3 ends with "88019+ (U) | ... further codes | page truncated in every copy available", and
    §5.1 gives CCXErrorCode as 88xxx: codes 88019..88999 exist, unknown. uccx_ccx had no reserved
    range (cucm_em and uccx_cf list theirs), so a code there looked up like any other unknown number:
    now its entry carries the note, from 88019 to 88999 only."""
    (further,) = [r for r in _table(protocol_md, "### 6.3") if r[1].startswith("...")]
    first = int(re.match(r"(\d+)\+", further[0]).group(1))
    assert first == 88019 and "88xxx" in protocol_md.read_text(encoding="utf-8")
    cat = load(CHECKOUT_CATALOG)
    (rng,) = cat.source("uccx_ccx").reserved
    assert (rng.first, rng.last) == (first, 88999)
    for code in (88019, 88500, 88999):
        e = cat.lookup("uccx_ccx", code)
        assert e.unknown and "88019+" in (e.notes or "") and "truncated" in (e.notes or ""), code
    assert not cat.lookup("uccx_ccx", 88018).unknown
    assert cat.lookup("uccx_ccx", 89000).notes is None and cat.lookup("uccx_ccx", 12345).notes is None


def test_uccx_ccx_codes_equal_protocol_md(protocol_md: Path) -> None:
    cat = default()
    rows = [r for r in _table(protocol_md, "### 6.3") if not r[1].startswith("...")]
    assert len(rows) == len(cat.entries("uccx_ccx")) == 20
    for value, name, _meaning, src in rows:
        e = cat.by_name(name)
        assert e.source == "uccx_ccx"
        if src == "C":
            assert (e.code, e.status) == (int(value), "confirmed"), name
        elif value.startswith("88018"):  # name seen, value next in sequence: inferred (sendable when named)
            assert (e.code, e.status, e.sendable) == (88018, "inferred", True), name
        else:  # CCX_ACTIVE_TERMINAL_NOT_SPECIFIED: no value, so unconfirmed, no code, never sent (§4.2 rule 2)
            assert (e.code, e.status, e.sendable) == (None, "unconfirmed", False), name
