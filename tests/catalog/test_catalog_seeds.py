"""The catalog covers every code in the original documents (``../shared/seeds``).

Each seed is parsed here from its raw text, independently of the catalog and of the scripts
that produced it, and every code found must be in the catalog. The few places where the seed's
print cannot be taken at face value (OCR damage, numbers doubled by HTML-to-text conversion) are
listed explicitly below, each with its reason; a test also checks that every listed exception
is really in the seed, so the lists cannot go stale silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockcti.catalog import Entry, default


def _seed(shared_dir: Path, prefix: str) -> list[str]:
    (path,) = sorted((shared_dir / "seeds").glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8").split("\n")


def _locator_lines(entry: Entry, seed: str) -> set[int]:
    """The seed line numbers an entry's locator names (``seed:000 lines 74-75`` -> {74, 75})."""
    assert entry.locator, entry.name
    part = entry.locator.split(";")[0]
    assert part.startswith(f"seed:{seed} "), entry.locator
    lines: set[int] = set()
    for a, b in re.findall(r"(\d+)(?:-(\d+))?", part[len(f"seed:{seed} ") :]):
        lines.update(range(int(a), int(b or a) + 1))
    return lines


# ---------------------------------------------------------------------------------------------
# seed 000: the Chinese platform (tab-separated: label, code, severity, text; OCR'd)

#: Lines whose code column holds a number that is not a row of its own (error-catalogs.md §2.3 A
#: and errata §1): line -> (number printed, reason).
SEED000_OCR_EXCEPTIONS: dict[int, tuple[int, str]] = {
    101: (1125, "last line of 1134's text; the 1125 is an OCR copy, not a second 1125"),
    104: (1130, "second line of 1136; '1130 error' is an OCR copy of '1136 error' (6 read as 0)"),
    108: (1137, "garbled repeat of 1137's own code and severity ('01101')"),
    154: (1131, "inside 1154's row: garbled repeat of '1154 error' ('01101')"),
    156: (1133, "inside 1155's row: garbled repeat of '1155 error' ('61101')"),
    160: (1150, "rows shifted by one line around 1157: OCR copy of 1157"),
    162: (1150, "OCR copy of 1158 under its own row"),
    178: (1100, "OCR duplicate of 1168 ('ACD 1100 01101'); 1100 is not a code"),
    180: (1160, "noise before 1169 ('0.777.0.77'); 1160 is ClearCall, printed earlier"),
    185: (1170, "1170 printed twice; the second copy has no text of its own"),
}
#: OCR spellings of the severity column, and what they read as.
SEED000_OCR_SEVERITY = {"orror": "error", "erro": "error", "Error": "error", "ownor:": "error"}
#: The printed 4401 twice / 4402 / missing 4403: the rows are read shifted by one code
#: (error-catalogs.md §2.3 B, errata P1): the second 4401 is 4402, the printed 4402 is 4403.
SEED000_REREAD = {343: (4401, 4402), 344: (4402, 4403)}


def _seed000_candidates(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line number, code, severity) for every 4-digit number in the code column."""
    out = []
    for n, raw in enumerate(lines, 1):
        fields = raw.split("\t")
        for idx in (1, 0):  # code column; some rows lost their leading tab
            if idx < len(fields) and re.fullmatch(r"\d{4}", fields[idx].strip()):
                sev = fields[idx + 1].strip() if idx + 1 < len(fields) else ""
                if not sev and n < len(lines):  # 4404: severity printed on the next line
                    nxt = lines[n].split("\t")
                    sev = nxt[2].strip() if len(nxt) > 2 else ""
                out.append((n, int(fields[idx]), sev))
                break
    return out


def test_seed000_exceptions_are_in_the_seed(shared_dir: Path) -> None:
    candidates = {n: code for n, code, _ in _seed000_candidates(_seed(shared_dir, "000"))}
    for line, (code, reason) in SEED000_OCR_EXCEPTIONS.items():
        assert candidates.get(line) == code, f"seed 000 line {line} should print {code} ({reason})"
    assert len(candidates) == 260  # 250 rows + the 10 exceptions (errata §1)


def test_seed000_every_code_is_catalogued_with_its_severity(shared_dir: Path) -> None:
    cat = default()
    ngcc = cat.entries("cn_ngcc")
    rows = [r for r in _seed000_candidates(_seed(shared_dir, "000")) if r[0] not in SEED000_OCR_EXCEPTIONS]
    assert len(rows) == 250
    assert len({code for _, code, _ in rows}) == 249  # 4401 is printed twice
    for line, printed, sev in rows:
        at_line = [e for e in ngcc if line in _locator_lines(e, "000")]
        assert len(at_line) == 1, f"seed 000 line {line} (code {printed}): catalog entries {at_line}"
        (entry,) = at_line
        assert (entry.code_as_printed or entry.code) == printed, (line, entry.name)
        if line in SEED000_REREAD:
            assert (entry.code_as_printed, entry.code) == SEED000_REREAD[line]
            assert entry.status == "ambiguous"
        else:
            assert entry.code == printed and entry.code_as_printed is None, entry.name
        assert entry.severity == SEED000_OCR_SEVERITY.get(sev, sev), (line, entry.name, sev)
    # nothing in the catalog that the seed does not have (4403 is the re-read printed 4402)
    assert {e.code for e in ngcc} == {code for _, code, _ in rows} | {4403}
    assert len(ngcc) == 250


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_no_seed_line_is_located_in_two_entries(shared_dir: Path, prefix: str) -> None:
    """A locator names the seed lines an entry was read from; where the seed's rows are shifted
    (1156/1157 around line 158) a line still belongs to one entry only."""
    cat = default()
    (source,) = [s for s in cat.sources() if any(d.startswith(f"seed:{prefix}") for d in cat.source(s).source_docs)]
    owners: dict[int, list[str]] = {}
    for e in cat.entries(source):
        if e.locator and e.locator.startswith(f"seed:{prefix} "):
            for n in _locator_lines(e, prefix):
                owners.setdefault(n, []).append(e.name)
    assert owners, source
    shared = {n: names for n, names in owners.items() if len(names) > 1}
    assert not shared, f"{source}: seed {prefix} lines located in more than one entry: {shared}"


#: Entries whose Chinese text differs from the characters printed on their lines, and why
#: (error-catalogs.md §2.3 B/C). Every other entry carries exactly the seed's characters.
SEED000_TEXT_REPAIRS = {
    1013: "'CTI 组不能存在' (cannot exist) read as 'CTI 组不存在' (does not exist)",
    1107: "the last character is printed as Cyrillic 'пЦ'; read as 叫",
    1117: "'无注册烛台' (candlestick) read as '无注册状态'",
    1128: "'状态不正' read as '状态不正确'",
    1131: "'出于保持状态' read as '处于保持状态'",
    1150: "'dest 或 line 参数相等' read as 'dest 与 line 参数相等'",
    1168: "line 179 repeats the text with wrong characters; kept once",
    2140: "garbled prefix '分列度加工内' dropped",
    2141: "'分级' read as '分机'",
    2706: "'不符合性有效性' read as '不符合有效性'",
}


def _text_cells(line: str) -> str:
    """A seed-000 line without its first column when that column is a module label (SOAP 接口 ...)."""
    fields = line.split("\t")
    return "".join(fields if re.fullmatch(r"\d{4}", fields[0].strip()) else fields[1:])


def test_seed000_texts_are_kept(shared_dir: Path) -> None:
    """description_original holds the seed's Chinese text, repaired only where listed above."""
    lines = _seed(shared_dir, "000")
    cat = default()
    han = re.compile(r"[^\u4e00-\u9fff]")
    for e in cat.entries("cn_ngcc"):
        if e.description_original is None:
            assert e.code in {2000, 2100, 2200, 2400, 2600, 4404}, e.name  # rows without text
            continue
        assert e.original_lang == "zh"
        printed = han.sub("", "".join(_text_cells(lines[n - 1]) for n in sorted(_locator_lines(e, "000"))))
        ours = han.sub("", e.description_original)
        if e.code in SEED000_TEXT_REPAIRS:
            assert ours != printed, f"{e.name}: listed as repaired but equal to the seed"
            assert e.notes, e.name
        else:
            assert ours == printed, e.name


# ---------------------------------------------------------------------------------------------
# seed 001: Cisco Table C-1 (name | description | ...)


def _seed001(lines: list[str]) -> list[tuple[str, str]]:
    cells = [line.strip() for line in lines if line.strip() and line.strip() != "|"]
    assert cells[:3] == ["Table C-1 CTI Error Codes", "Error Name", "Description"]
    body = cells[3:]
    return list(zip(body[0::2], body[1::2], strict=True))


#: Table C-1 rows whose text is not their entry's description_en but is kept in its notes, and why.
SEED001_TEXT_IN_NOTES = {
    "COMMAND_NOT_IMPLEMENTED_ON_DEVICE": "the value is listed twice; one entry, CTIERR_COMMAND_NOT_IMPLEMENTED_ON_DEVICE "
                                         "(errata P3), carries the prefixed row's text",
    "CTIERR_DB_ERROR": "the text ('Device query contained an illegal device type') describes another code; "
                       "the description is generic (error-catalogs.md §1.6)",
}


def test_seed001_every_name_is_catalogued(shared_dir: Path) -> None:
    cat = default()
    rows = _seed001(_seed(shared_dir, "001"))
    assert len(rows) == 88
    assert set(SEED001_TEXT_IN_NOTES) <= {name for name, _ in rows}
    values = set()
    for name, text in rows:
        entry = cat.get(name)
        assert entry is not None and entry.source == "cisco_ctierr", name
        assert name == entry.name or name in entry.aliases
        if name in SEED001_TEXT_IN_NOTES:
            assert text in (entry.notes or "") and entry.description_en != text, name
        else:
            assert entry.description_en == text, name
        if entry.code is not None:
            values.add(entry.code)
    assert len(values) == 86  # errata P2: 88 names, one value twice, one without a value
    assert cat.by_name("CFWDALL_ALREADY_OFF").code is None


# ---------------------------------------------------------------------------------------------
# seed 002: UCCX E_CTI status codes (name, description, value; "reserved" rows with ranges)


def _seed002(lines: list[str]) -> tuple[dict[int, tuple[str, str]], set[int]]:
    cells = [line.strip() for line in lines if line.strip()]
    start = cells.index("Value") + 1
    named: dict[int, tuple[str, str]] = {}
    reserved: set[int] = set()
    i = start
    while i < len(cells):
        if cells[i] == "reserved":
            a, _, b = cells[i + 1].partition("-")
            reserved.update(range(int(a), int(b or a) + 1))
            i += 2
        else:
            named[int(cells[i + 2])] = (cells[i], cells[i + 1])
            i += 3
    return named, reserved


def test_seed002_every_code_is_catalogued(shared_dir: Path) -> None:
    cat = default()
    named, reserved = _seed002(_seed(shared_dir, "002"))
    assert len(named) == 20
    assert reserved == {12, 14, 15, 16, *range(19, 23), *range(24, 92), 95}
    for code, (name, text) in named.items():
        e = cat.lookup("uccx_status", code)
        assert (e.name, e.status, e.description_en) == (name, "confirmed", text)
    for code in reserved:
        e = cat.lookup("uccx_status", code)
        assert not e.unknown, code
        # UCCX reserves it: only an ICM name, never a plain UCCX code (32 is named on another UCCX page)
        assert e.status == ("ambiguous" if code == 32 else "icm_only"), (code, e.status)


# ---------------------------------------------------------------------------------------------
# seed 003: the cloud customer-service REST codes (markdown-ish table)


def test_seed003_every_code_is_catalogued_with_its_text(shared_dir: Path) -> None:
    cat = default()
    rows = []
    for line in _seed(shared_dir, "003"):
        m = re.match(r"^\|\s*(\d+)\s*\|\s*(.*?)\s*\|?\s*$", line)
        if m:
            rows.append((int(m.group(1)), m.group(2)))
    assert len(rows) == 72
    for code, text in rows:
        e = cat.lookup("tencent_im_kf", code)
        assert not e.unknown, code
        assert e.description_original == text and e.original_lang == "zh"
    assert {e.code for e in cat.entries("tencent_im_kf")} == {c for c, _ in rows}


# ---------------------------------------------------------------------------------------------
# seed 004: Extension Mobility (German tips page; code glued to the title, "=>" fix hints)

#: numbers printed differently from the code they stand for: printed -> (code, reason)
SEED004_EXCEPTIONS = {1818: (18, "number doubled by the HTML-to-text conversion ('1818 Device Already Logged In')")}


def _seed004(lines: list[str]) -> tuple[list[int], dict[int, str]]:
    codes: list[int] = []
    hints: dict[int, str] = {}
    pending = False
    for raw in lines:
        line = raw.replace("\xa0", " ").strip()
        m = re.match(r"^(\d+)(?=[A-Z ]|$)", line)
        if m and not line.startswith(("05.02",)):
            codes.append(int(m.group(1)))
            pending = False
        elif line.startswith("=>"):
            hint = line[2:].strip()
            if hint:
                hints[codes[-1]] = hint
            else:
                pending = True
        elif pending and line:
            hints[codes[-1]] = line
            pending = False
    return codes, hints


def test_seed004_every_code_is_catalogued_with_its_hint(shared_dir: Path) -> None:
    cat = default()
    printed, hints = _seed004(_seed(shared_dir, "004"))
    assert 1818 in printed  # the exception is really there
    codes = [SEED004_EXCEPTIONS.get(c, (c, ""))[0] for c in printed]
    assert codes == [*range(0, 13), 18, 19, 20, 21, 22, 23, 25]
    assert {e.code for e in cat.entries("cucm_em")} == set(codes)
    assert cat.lookup("cucm_em", 18).code_as_printed == 1818
    assert set(hints) == {3, 10, 11, 12, 1818, 22, 23}
    for p, hint in hints.items():
        e = cat.lookup("cucm_em", SEED004_EXCEPTIONS.get(p, (p, ""))[0])
        assert e.description_original == hint and e.original_lang == "de", e.name
    for e in cat.entries("cucm_em"):
        if e.code not in {3, 10, 11, 12, 18, 22, 23}:
            assert e.description_original is None, e.name


def test_seed004_each_entry_is_located_from_the_line_its_number_is_printed_on(shared_dir: Path) -> None:
    """Where the page prints a code alone on its line (3, 25) and the title after a blank line,
    the locator still starts at the number."""
    cat = default()
    printed_at = {}
    for n, raw in enumerate(_seed(shared_dir, "004"), 1):
        m = re.match(r"^(\d+)(?=[A-Z ]|$)", raw.replace("\xa0", " ").strip())
        if m and n > 15:  # below the table header (line 16); above it is the date
            printed_at[int(m.group(1))] = n
    assert {printed_at[3], printed_at[25]} == {20, 48}
    for printed, line in printed_at.items():
        code = SEED004_EXCEPTIONS.get(printed, (printed, ""))[0]
        e = cat.lookup("cucm_em", code)
        assert min(_locator_lines(e, "004")) == line, (e.name, e.locator, line)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_every_seed_is_a_catalog_source(shared_dir: Path, prefix: str) -> None:
    """Each seed is named in the source_docs of the catalog file built from it."""
    cat = default()
    owners = [s for s in cat.sources() if any(d.startswith(f"seed:{prefix}") for d in cat.source(s).source_docs)]
    assert len(owners) == 1, (prefix, owners)
