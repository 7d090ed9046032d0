"""``mockcti catalog``: look codes up in the error catalog.

    mockcti catalog                          the sources and their sizes
    mockcti catalog 1124                     by code, across sources (0x8CCC000F, -1932787697 work too)
    mockcti catalog CTIERR_HOLDFAILED        by name or alias
    mockcti catalog --search hold            free text, any language (--search 保持)
    mockcti catalog --source cisco_ctierr    one source, listed
    ... --json                               machine-readable output

Exit status 0 when something matched, 1 when nothing did (with a message on stderr), 2 on a
usage error (a number that cannot be a code: codes are 32-bit). With ``--source``, a code the
source does not have is still shown, marked unknown (with the notes of a reserved range it falls
in), and the status is 1. The module top stays cheap; the catalog is loaded inside ``run``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockcti.catalog import Catalog, Entry

HELP = "look up error and status codes by code, name or text (any language)"

_INT_RE = re.compile(r"^[+-]?(?:0[xX][0-9a-fA-F]+|\d+)$")
#: every code is a 32-bit value: an INT, a UINT, or a u32 source's signed form
_CODE_MIN, _CODE_MAX = -(1 << 31), (1 << 32) - 1


EPILOG = """exit codes:
  0  found (or the sources, or a --source, listed)
  1  nothing matched (the reason on stderr); also a code the --source given does not have,
     shown as the entry synthesized for it
  2  bad usage: a code and --search together, an unknown --source, a number that cannot
     be a code (codes are 32-bit)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "query",
        nargs="?",
        help="a code (1124, 0x8CCC000F, -1932787697) or a name or alias (CTIERR_HOLDFAILED)",
    )
    parser.add_argument(
        "-s",
        "--search",
        metavar="TEXT",
        help="find entries whose name, alias, English or original text contains every word of TEXT",
    )
    parser.add_argument(
        "--source",
        metavar="ID",
        help="only this source (e.g. uccx_status, cisco_ctierr, cn_ngcc); on its own: list the source",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from mockcti.catalog import default

    cat = default()
    if args.query is not None and args.search is not None:
        print("mockcti catalog: give a code/name or --search TEXT, not both", file=sys.stderr)
        return 2
    if args.source is not None and args.source not in cat.sources():
        print(
            f"mockcti catalog: no source {args.source!r}; known sources: {', '.join(cat.sources())}",
            file=sys.stderr,
        )
        return 2

    if args.search is not None:
        found = [e for e in cat.search(args.search) if args.source in (None, e.source)]
        if not found:
            where = f" in {args.source}" if args.source else ""
            print(f"mockcti catalog: nothing{where} matches {args.search!r}", file=sys.stderr)
            return 1
        return _show(cat, found, args.json)

    if args.query is not None:
        query = args.query.strip()
        if _INT_RE.match(query):
            code = _code(query)
            if code is None:
                print(f"mockcti catalog: {_shorten(query)} cannot be a code: codes are 32-bit, "
                      f"{_CODE_MIN} .. {_CODE_MAX} (0x0 .. 0xFFFFFFFF)", file=sys.stderr)
                return 2
            return _by_code(cat, query, code, args.source, args.json)
        entry = cat.get(query)
        if entry is None or args.source not in (None, entry.source):
            if entry is not None:
                print(f"mockcti catalog: {query} is in {entry.source}, not in {args.source}", file=sys.stderr)
            else:
                from mockcti.catalog import UnknownCodeName

                try:
                    cat.by_name(query)
                except UnknownCodeName as exc:
                    print(f"mockcti catalog: {exc}", file=sys.stderr)
                print("  (try: mockcti catalog --search WORDS)", file=sys.stderr)
            return 1
        return _show(cat, [entry], args.json)

    if args.source is not None:
        return _show(cat, list(cat.entries(args.source)), args.json, heading=args.source)

    return _list_sources(cat, args.json)


def _code(query: str) -> int | None:
    """The number ``query`` spells (decimal, or hex after 0x), or None if it cannot be a code (not
    32-bit, or too many digits for ``int()``: a decimal of over 4,300 digits raises ValueError)."""
    try:
        code = int(query, 16) if "x" in query.lower() else int(query, 10)
    except ValueError:
        return None
    return code if _CODE_MIN <= code <= _CODE_MAX else None


def _shorten(text: str, keep: int = 24) -> str:
    return text if len(text) <= keep else f"{text[:keep - 8]}…{text[-6:]} ({len(text)} characters)"


def _by_code(cat: Catalog, query: str, code: int, source: str | None, as_json: bool) -> int:
    # Codes the source prints but the catalog reads differently (seed 000's 4401/4402, EM's 1818).
    if source is not None:
        entry = cat.lookup(source, code)
        reread = [e for e in cat.entries(source) if e.code_as_printed == code and e is not entry]
        if reread:  # printed so in this source: that entry (not a synthesized one), with a note
            return _show_reread(cat, [] if entry.unknown else [entry], reread, code, as_json)
        _show(cat, [entry], as_json)
        if entry.unknown:
            print(f"mockcti catalog: code {query} is not in {source}", file=sys.stderr)
            return 1
        return 0
    found = cat.by_code(code)
    reread = [e for e in cat if e.code_as_printed == code and e not in found]
    if not found and not reread:
        print(
            f"mockcti catalog: no source has code {query} ({', '.join(cat.sources())}); "
            "try --source ID to see whether the range is reserved",
            file=sys.stderr,
        )
        return 1
    return _show_reread(cat, found, reread, code, as_json)


def _show_reread(cat: Catalog, found: list[Entry], reread: list[Entry], code: int, as_json: bool) -> int:
    if as_json:
        return _show(cat, found + reread, as_json)
    _show(cat, found or reread, as_json)
    for e in reread:
        print(f"note: {e.source} prints {code} for {e.name}, read as code {e.code}")
    return 0


# -- output -------------------------------------------------------------------------------


def _as_dict(e: Entry) -> dict[str, Any]:
    d = e.as_dict()
    if e.unknown:  # synthesized for a code the source does not have: not known to be sent by a server
        d["sent_by_server"] = False
    return d


def _show(cat: Catalog, entries: list[Entry], as_json: bool, heading: str | None = None) -> int:
    if as_json:
        _print_json([_as_dict(e) for e in entries])
    elif len(entries) == 1 and heading is None:
        _print_detail(entries[0])
    else:
        if heading is not None:
            src = cat.source(heading)
            print(f"{src.id}: {src.title} ({len(entries)} entries)")
            print()
        _print_table(entries)
    return 0


def _list_sources(cat: Catalog, as_json: bool) -> int:
    if as_json:
        rows = []
        for sid in cat.sources():
            s = cat.source(sid)
            rows.append(
                {
                    "id": s.id,
                    "title": s.title,
                    "vendor": s.vendor,
                    "entries": len(cat.entries(sid)),
                    "code_repr": s.code_repr,
                    "original_lang": s.original_lang,
                    "source_docs": list(s.source_docs),
                }
            )
        _print_json(rows)
        return 0
    width = _width()
    table = [("SOURCE", "ENTRIES", "TITLE")]
    for sid in cat.sources():
        table.append((sid, str(len(cat.entries(sid))), cat.source(sid).title))
    _emit_table(table, width)
    print()
    print("Look up: mockcti catalog CODE | NAME | --search TEXT | --source ID  [--json]")
    return 0


def _print_json(obj: Any) -> None:
    import json

    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _code_text(e: Entry) -> str:
    if e.code is None:
        return "(no value)"
    forms = e.u32
    if forms is not None:
        return f"{forms.hex} = {forms.unsigned} = {forms.signed}"
    return str(e.code)


def _print_detail(e: Entry) -> None:
    width = _width()
    title = f"{e.name}  ({e.source})"
    if e.unknown:
        title += "  [unknown code]"
    print(title)
    rows: list[tuple[str, str]] = []
    forms = e.u32
    if forms is not None:
        rows.append(("code", f"{forms.hex}   unsigned {forms.unsigned}   signed {forms.signed}"))
    else:
        rows.append(("code", _code_text(e)))
    if e.code_as_printed is not None:
        rows.append(("printed as", str(e.code_as_printed)))
    rows.append(("status", e.status))
    if e.severity:
        rows.append(("severity", e.severity))
    if e.category:
        rows.append(("category", e.category))
    if e.aliases:
        rows.append(("aliases", ", ".join(e.aliases)))
    rows.append(("description", e.description_en))
    if e.description_original:
        rows.append((f"original ({e.original_lang})", e.description_original))
    if e.unknown:
        rows.append(("on the wire", "not in the catalog: not known to be sent by any server"))
    elif not e.sent_by_server:
        rows.append(("on the wire", "never sent by a server (client-side value)"))
    if e.notes:
        rows.append(("notes", e.notes))
    if e.locator:
        rows.append(("from", e.locator))
    if e.evidence:
        rows.append(("evidence", e.evidence))
    label_w = max(_dw(k) for k, _ in rows) + 2
    for key, value in rows:
        lines = _wrap(value, max(20, width - label_w - 2))
        print("  " + _pad(key, label_w) + lines[0])
        for more in lines[1:]:
            print("  " + " " * label_w + more)


def _print_table(entries: list[Entry]) -> None:
    table = [("CODE", "NAME", "SOURCE", "SEV", "DESCRIPTION")]
    for e in entries:
        desc = e.description_en
        if e.status not in ("confirmed",):
            desc = f"[{e.status}] {desc}"
        table.append((_code_text(e), e.name, e.source, e.severity or "-", desc))
    _emit_table(table, _width())


def _emit_table(rows: Sequence[tuple[str, ...]], width: int) -> None:
    widths = [max(_dw(r[i]) for r in rows) for i in range(len(rows[0]))]
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    last = max(20, width - fixed)
    for r in rows:
        cells = [_pad(c, widths[i]) for i, c in enumerate(r[:-1])]
        cells.append(_truncate(r[-1], last))
        print("  ".join(cells).rstrip())


# -- display width (CJK characters take two columns) ----------------------------------------


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _cw(ch: str) -> int:
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _dw(text: str) -> int:
    return sum(_cw(c) for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _dw(text))


def _truncate(text: str, width: int) -> str:
    if _dw(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        if used + _cw(ch) > width - 1:
            break
        out.append(ch)
        used += _cw(ch)
    return "".join(out) + "…"


def _cut(text: str, width: int) -> str:
    """The longest prefix of ``text`` that fits in ``width`` columns (at least one character)."""
    used = 0
    for i, ch in enumerate(text):
        used += _cw(ch)
        if used > width:
            return text[: max(i, 1)]
    return text


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces where possible, and inside long runs (CJK text has no spaces) where not."""
    lines: list[str] = []
    line = ""
    for token in re.findall(r"\S+\s*", text):
        if line and _dw(line) + _dw(token.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        while not line and _dw(token.rstrip()) > width:
            head = _cut(token, width)
            lines.append(head.rstrip())
            token = token[len(head) :]
        line += token
    lines.append(line.rstrip())
    return lines
