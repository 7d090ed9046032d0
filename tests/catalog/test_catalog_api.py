"""The public API of mockcti.catalog and the loader's validation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import mockcti.catalog as catalog_module
from mockcti.catalog import (
    Catalog,
    CatalogError,
    Entry,
    UnknownCodeName,
    default,
    load,
    u32_forms,
)

REPO = Path(__file__).resolve().parents[2]
SOURCES = {"uccx_status", "uccx_cf", "uccx_ccx", "cisco_ctierr", "cn_ngcc", "cucm_em", "tencent_im_kf"}


def test_all_lists_exactly_the_public_names() -> None:
    defined = {
        name
        for name, obj in vars(catalog_module).items()
        if not name.startswith("_") and getattr(obj, "__module__", "mockcti.catalog") == "mockcti.catalog"
        and not isinstance(obj, type(sys))
    }
    defined -= {"annotations"}
    assert set(catalog_module.__all__) == defined
    for name in catalog_module.__all__:
        assert hasattr(catalog_module, name)


def test_import_is_cheap() -> None:
    """Importing the module reads nothing; the catalog is loaded on first use, once."""
    code = "import sys, mockcti.catalog as c; print(c.default.cache_info().currsize, 'tomllib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False"]
    assert default() is default()


def test_sources_and_sizes() -> None:
    cat = default()
    assert set(cat.sources()) == SOURCES
    sizes = {s: len(cat.entries(s)) for s in cat.sources()}
    assert sizes == {
        "cisco_ctierr": 107,  # 87 Table C-1 entries (88 names, one value listed twice) + 20 related
        "cn_ngcc": 250,
        "cucm_em": 20,
        "tencent_im_kf": 72,
        "uccx_ccx": 20,
        "uccx_cf": 111,
        "uccx_status": 99,
    }
    assert len(cat) == sum(sizes.values()) == len(list(cat))


def test_names_are_unique_upper_snake_across_all_files() -> None:
    """Checked on the raw TOML, independently of the loader."""
    seen: dict[str, str] = {}
    for path in sorted((REPO / "catalog").glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        codes: set[int] = set()
        for e in doc["entry"]:
            for n in (e["name"], *e.get("aliases", [])):
                assert n not in seen, f"{n} in {path.name} and {seen[n]}"
                assert n == n.upper() and " " not in n, n
                seen[n] = path.name
            if "code" in e:
                assert e["code"] not in codes, (path.name, e["name"])
                codes.add(e["code"])


def test_by_name_and_aliases() -> None:
    cat = default()
    e = cat.by_name("CTIERR_HOLDFAILED")
    assert (e.source, e.code, e.value_hex, e.value_signed) == ("cisco_ctierr", 0x8CCC000F, "0x8CCC000F", -1932787697)
    assert cat.by_name("holdfailed") is e  # alias (the JTAPI constant), case-insensitive
    assert cat.get("E_CTI_INVALID_FIELD_TAG") is cat.by_name("E_CTI_INVALID_FIELD")
    assert cat.get("NO_SUCH_CODE") is None
    assert "CTIERR_HOLDFAILED" in cat and "NOPE" not in cat


def test_unknown_name_suggests_close_names() -> None:
    cat = default()
    with pytest.raises(UnknownCodeName) as info:
        cat.by_name("CTIERR_HOLDFAIL")
    assert isinstance(info.value, KeyError) and isinstance(info.value, LookupError)
    message = str(info.value)
    assert "CTIERR_HOLDFAIL" in message and "CTIERR_HOLDFAILED (cisco_ctierr)" in message
    with pytest.raises(UnknownCodeName, match="no catalog entry is named"):
        cat.by_name("ZZZZ_QQQQ")


def test_lookup_by_source_and_code() -> None:
    cat = default()
    assert cat.lookup("uccx_status", 18).name == "E_CTI_INVALID_TIMEOUT"
    assert cat.lookup("uccx_cf", 22).name == "CF_INVALID_OBJECT_STATE"
    assert cat.lookup("uccx_ccx", 88009).name == "CCX_AGENT_INVALID"
    assert cat.lookup("cn_ngcc", 1122).name == "ACD_HOLD_DEST_EMPTY"
    assert cat.lookup("cucm_em", 22).name == "EM_DEVICE_EM_NOT_ENABLED"
    assert cat.lookup("tencent_im_kf", 280006).name == "KF_SEAT_BUSY"
    # a 32-bit source accepts the signed form too
    assert cat.lookup("cisco_ctierr", -1932787697) is cat.lookup("cisco_ctierr", 0x8CCC000F)


def test_unknown_code_is_marked_not_raised() -> None:
    cat = default()
    e = cat.lookup("uccx_status", 99)
    assert e.unknown and e.status == "unknown" and e.code == 99 and e.source == "uccx_status"
    assert not e.sendable
    reserved = cat.lookup("uccx_cf", 47)  # inside a documented reserved range
    assert reserved.unknown and "Reserved" in (reserved.notes or "")
    missing_em = cat.lookup("cucm_em", 14)
    assert missing_em.unknown and "absent from seed 004" in (missing_em.notes or "")
    u32 = cat.lookup("cisco_ctierr", -1)
    assert u32.unknown and u32.code == 0xFFFFFFFF and u32.value_hex == "0xFFFFFFFF" and u32.value_signed == -1
    assert cat.lookup("uccx_status", -5).unknown
    with pytest.raises(LookupError, match="known sources"):
        cat.lookup("no_such_source", 1)
    with pytest.raises(TypeError):
        cat.lookup("uccx_status", "3")  # type: ignore[arg-type]


def test_by_code_spans_sources() -> None:
    cat = default()
    assert {e.source for e in cat.by_code(0)} == {"cisco_ctierr", "cucm_em", "uccx_ccx", "uccx_cf", "uccx_status"}
    assert [e.name for e in cat.by_code(1124)] == ["ACD_HOLD_NOT_PARTY_L1CONNECTED"]
    assert [e.name for e in cat.by_code(-1932787697)] == ["CTIERR_HOLDFAILED"]
    assert cat.by_code(123456789) == []


def test_search_any_language() -> None:
    cat = default()
    hold = {e.name for e in cat.search("hold")}
    assert {"CTIERR_HOLDFAILED", "ACD_HOLD_DEST_EMPTY", "ACD_HOLD_BAD_STATE"} <= hold
    assert {e.name for e in cat.search("ＨＯＬＤ")} == hold  # full-width folds to ASCII
    held = cat.search("保持")
    assert held and all("保持" in (e.description_original or "") for e in held)
    assert "ACD_RETRIEVE_NOT_HELD_PARTY" in {e.name for e in held}
    assert "TIM_REST_RATE_LIMITED" in {e.name for e in cat.search("频率")}
    assert "EM_DEVICE_ALREADY_LOGGED_IN" in {e.name for e in cat.search("abmelden")}  # German hint
    assert [e.name for e in cat.search("seat busy")][0] == "KF_SEAT_BUSY"  # name words, by name first
    assert {e.name for e in cat.search("hold dest empty")} == {"ACD_HOLD_DEST_EMPTY"}  # every word must match
    assert cat.search("   ") == [] and cat.search("no-such-words-anywhere") == []


def test_u32_forms() -> None:
    assert u32_forms(0x8CCC0009) == ("0x8CCC0009", 2362179593, -1932787703)
    assert u32_forms(-1932787703) == u32_forms(2362179593)
    assert u32_forms(0).signed == 0
    assert u32_forms(0xDEADBEEF) == ("0xDEADBEEF", 3735928559, -559038737)
    for bad in (1 << 32, -(1 << 31) - 1):
        with pytest.raises(ValueError):
            u32_forms(bad)
    assert default().by_name("E_CTI_NO_ERROR").u32 is None


def test_entries_are_immutable_and_json_ready() -> None:
    e = default().by_name("CTIERR_ILLEGAL_CALLSTATE")
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.code = 1  # type: ignore[misc]
    d = e.as_dict()
    assert d["value_unsigned"] == 2362179593 and d["value_signed"] == -1932787703 and d["aliases"] == ["ILLEGAL_CALLSTATE"]
    assert "value_unsigned" not in default().by_name("E_CTI_NO_ERROR").as_dict()


def test_only_the_client_sentinels_are_never_sent() -> None:
    cat = default()
    never = {e.name for e in cat if not e.sent_by_server}
    assert never == {"CTIERR_PROVIDER_CLOSED", "CTIERR_PROTOCOL_TIMEOUT"}
    assert not cat.by_name("PROVIDER_CLOSED").sendable
    assert not cat.by_name("CFWDALL_ALREADY_OFF").sendable  # no value
    assert cat.by_name("CTIERR_HOLDFAILED").sendable


def test_every_entry_is_complete() -> None:
    for e in default():
        assert isinstance(e, Entry) and e.name and e.description_en and e.locator, e
        # error-catalogs.md §4.2 rule 2: exactly the unconfirmed entries have no code (never sent)
        assert (e.code is None) == (e.status == "unconfirmed"), e.name
        if e.description_original is not None:
            assert e.original_lang in {"zh", "de"}, e.name
        if e.source in {"cn_ngcc", "tencent_im_kf"}:
            assert e.description_original or e.code in {2000, 2100, 2200, 2400, 2600, 4404}, e.name
        if e.source == "cn_ngcc":
            assert e.severity in {"info", "error", "fatal"} and e.category, e.name
        else:
            assert e.severity is None, e.name  # the other sources give no severity


# -- loader validation --------------------------------------------------------------------------

HEADER = """
[catalog]
id = "{id}"
title = "t"
vendor = "v"
source_docs = ["test"]
original_lang = "{lang}"
code_repr = "{repr}"
"""


def _write(tmp_path: Path, stem: str, body: str, *, lang: str = "en", repr: str = "int") -> Path:
    path = tmp_path / f"{stem}.toml"
    path.write_text(HEADER.format(id=stem, lang=lang, repr=repr) + textwrap.dedent(body), encoding="utf-8")
    return path


GOOD = """
[[entry]]
name = "GOOD_ONE"
code = 1
description_en = "fine"
"""


def test_load_accepts_a_minimal_file(tmp_path: Path) -> None:
    cat = load(_write(tmp_path, "src", GOOD))
    assert isinstance(cat, Catalog) and cat.by_name("GOOD_ONE").code == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[entry]]\nname = "NO_TEXT"\ncode = 1\n', r"entry #1 \(NO_TEXT\): missing 'description_en'"),
        ('[[entry]]\ncode = 1\ndescription_en = "x"\n', r"entry #1: missing 'name'"),
        ('[[entry]]\nname = "lower_case"\ncode = 1\ndescription_en = "x"\n', "not UPPER_SNAKE_CASE"),
        ('[[entry]]\nname = "SEV"\ncode = 1\nseverity = "bad"\ndescription_en = "x"\n', "severity must be one of"),
        ('[[entry]]\nname = "ST"\ncode = 1\nstatus = "maybe"\ndescription_en = "x"\n', "status must be one of"),
        ('[[entry]]\nname = "NOCODE"\ndescription_en = "x"\n', "only an entry with status 'unconfirmed'"),
        ('[[entry]]\nname = "UNC"\ncode = 7\nstatus = "unconfirmed"\ndescription_en = "x"\n',
         r"entry #1 \(UNC\): status 'unconfirmed' with code 7: an unconfirmed entry has no code"),
        ('[[entry]]\nname = "STR"\ncode = "1"\ndescription_en = "x"\n', "'code' must be an integer"),
        ('[[entry]]\nname = "NEG"\ncode = -1\ndescription_en = "x"\n', "outside 0 .. 2\\*\\*32-1"),
        ('[[entry]]\nname = "TYPO"\ncode = 1\ndescripton_en = "x"\ndescription_en = "x"\n', "unknown key"),
        ('[[entry]]\nname = "HEX"\ncode = 1\nvalue_hex = "0x1"\ndescription_en = "x"\n', "only for code_repr"),
        ('[[entry]]\nname = "ORIG"\ncode = 1\ndescription_en = "x"\ndescription_original = "y"\n', "non-English"),
        (GOOD + GOOD.replace("GOOD_ONE", "OTHER"), r"entry OTHER: code 1 is already used by entry GOOD_ONE"),
        (GOOD + GOOD.replace("code = 1", "code = 2"), "name 'GOOD_ONE' is already used"),
        ("", "no \\[\\[entry\\]\\] tables"),
        ("[[entry]\n", "not a valid UTF-8 TOML file"),
    ],
)
def test_load_refuses_malformed_entries(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, "src", body)
    with pytest.raises(CatalogError, match=expected) as info:
        load(path)
    assert str(path) in str(info.value)  # the message names the file


def test_an_unconfirmed_entry_with_a_code_is_refused_and_an_inferred_one_loads(tmp_path: Path) -> None:
    """error-catalogs.md §4.2 rule 2: unconfirmed records have no code and are never emitted; a
    value inferred (say, next in sequence) is status "inferred", and is sendable."""
    body = GOOD + '[[entry]]\nname = "NEXT"\ncode = 2\nstatus = "unconfirmed"\ndescription_en = "x"\n'
    path = _write(tmp_path, "src", body)
    with pytest.raises(CatalogError, match=r"entry #2 \(NEXT\): status 'unconfirmed' with code 2") as info:
        load(path)
    assert str(path) in str(info.value)
    e = load(_write(tmp_path, "src", body.replace('"unconfirmed"', '"inferred"'))).by_name("NEXT")
    assert (e.code, e.status, e.sendable) == (2, "inferred", True)
    e = load(_write(tmp_path, "src", body.replace("code = 2\n", ""))).by_name("NEXT")
    assert (e.code, e.status, e.sendable) == (None, "unconfirmed", False)


def test_load_checks_u32_forms(tmp_path: Path) -> None:
    ok = '[[entry]]\nname = "U"\ncode = 0x8CCC0009\nvalue_hex = "0x8CCC0009"\nvalue_signed = -1932787703\ndescription_en = "x"\n'
    assert load(_write(tmp_path, "u", ok, repr="u32")).by_name("U").u32 == (
        "0x8CCC0009", 2362179593, -1932787703,
    )
    bad = ok.replace("-1932787703", "-1932787704")
    with pytest.raises(CatalogError, match=r"entry #1 \(U\): value_signed -1932787704 does not match"):
        load(_write(tmp_path, "u", bad, repr="u32"))
    missing = '[[entry]]\nname = "U"\ncode = 5\ndescription_en = "x"\n'
    with pytest.raises(CatalogError, match="needs value_hex and value_signed"):
        load(_write(tmp_path, "u", missing, repr="u32"))


def test_load_refuses_duplicate_names_across_files(tmp_path: Path) -> None:
    _write(tmp_path, "a", GOOD)
    _write(tmp_path, "b", GOOD.replace("code = 1", "code = 7"))
    with pytest.raises(CatalogError, match=r"b\.toml: entry GOOD_ONE: name 'GOOD_ONE' is already used by entry GOOD_ONE in .*/a\.toml"):
        load(tmp_path)
    alias_clash = '[[entry]]\nname = "B_ONE"\ncode = 1\naliases = ["GOOD_ONE"]\ndescription_en = "x"\n'
    _write(tmp_path, "b", alias_clash)
    with pytest.raises(CatalogError, match="across all sources"):
        load(tmp_path)


def test_load_checks_the_header(tmp_path: Path) -> None:
    path = tmp_path / "stem.toml"
    path.write_text(HEADER.format(id="other", lang="en", repr="int") + GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match="must equal the file stem 'stem'"):
        load(path)
    path.write_text(HEADER.format(id="stem", lang="en", repr="i64") + GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match="code_repr must be one of"):
        load(path)
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"stem\.toml: missing the \[catalog\] table"):
        load(path)


def test_shipped_catalog_loads_through_the_public_loader() -> None:
    cat = load(REPO / "catalog")
    assert [e.as_dict() for e in cat] == [e.as_dict() for e in default()]
