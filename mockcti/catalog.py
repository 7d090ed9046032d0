"""Error and status codes as data: the catalog every other layer names its codes from.

Owns: loading ``catalog/*.toml`` (shipped in the wheel as the package ``mockcti.catalog_data``)
once, refusing malformed files and duplicate names or codes, and looking codes up by name, by
``(source, code)`` and by free text in any language. A code that is not in the catalog (for
example one a peer put on the wire) becomes an :class:`Entry` marked ``unknown`` rather than an
exception.

Must not import: anything else from ``mockcti``. Like ``wire``, this module sits at the bottom
of the layer stack, and importing it stays cheap: nothing is read until :func:`default` (or
:func:`load`) is called.

Sources (file stems): ``uccx_status``, ``uccx_cf``, ``uccx_ccx``, ``cisco_ctierr``,
``cn_ngcc``, ``cucm_em``, ``tencent_im_kf``. See ``catalog/*.toml`` and the README.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "SEVERITIES",
    "STATUSES",
    "Catalog",
    "CatalogError",
    "Entry",
    "Reserved",
    "Source",
    "U32Forms",
    "UnknownCodeName",
    "code_text",
    "default",
    "load",
    "u32_forms",
]

#: Severity words a catalog entry may carry (only where its source gives one).
SEVERITIES: frozenset[str] = frozenset({"info", "warning", "error", "fatal"})

#: How sure the catalog is of an entry. ``unknown`` is only ever set on synthesized entries.
STATUSES: frozenset[str] = frozenset(
    {
        "confirmed",  # value and meaning read from a primary source
        "confirmed_typo",  # the source misspells the name; the value is confirmed for the right spelling
        "alias",  # the source's name is a probable alias of a confirmed code
        "inferred",  # a reading of a damaged or ambiguous source, or a guessed value (next in sequence); review it
        "ambiguous",  # the source contradicts itself; see the entry's notes
        "unconfirmed",  # no known value: the entry has no code and is never sent (§4.2 rule 2)
        "icm_only",  # an ICM/UCCE value that a UCCX server does not send
        "unknown",  # not in the catalog (synthesized by Catalog.lookup)
    }
)

_FILE_STATUSES = STATUSES - {"unknown"}
_CODE_REPRS = frozenset({"int", "u32"})
_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_U32 = 1 << 32

_HEADER_KEYS = frozenset(
    {"id", "title", "vendor", "source_docs", "value_sources", "original_lang", "code_repr", "notes", "categories"}
)
_ENTRY_KEYS = frozenset(
    {
        "name",
        "code",
        "value_hex",
        "value_signed",
        "severity",
        "category",
        "status",
        "evidence",
        "description_en",
        "description_original",
        "original_lang",
        "aliases",
        "code_as_printed",
        "locator",
        "sent_by_server",
        "notes",
    }
)
_RESERVED_KEYS = frozenset({"from", "to", "notes"})


class CatalogError(Exception):
    """A catalog file is malformed, or two entries clash (same name, or same code in one source)."""


class UnknownCodeName(KeyError):
    """No catalog entry has this name or alias. The message lists the closest known names."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(name)
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return self.message


class U32Forms(NamedTuple):
    """The three ways a 32-bit CTI error value is printed in the wild."""

    hex: str  #: ``0x8CCC000F`` (Jabber/CTI logs)
    unsigned: int  #: ``2362179599`` (CUCM SDL traces, "error code=")
    signed: int  #: ``-1932787697`` (JTAPI ``getErrorCode()``, CUCM alarms "Reason code")


def code_text(name: str, code: int | None, explanation: str) -> str:
    """The Text of a failure that names a catalog code, as the contact center writes it when it
    refuses a request (``ACD_HOLD_BAD_STATE (1128): Hold from CTI: …``) and as a scenario's
    ``text_code`` does: one format for a client's log parser."""
    return f"{name} ({code}): {explanation}" if code is not None else f"{name}: {explanation}"


def u32_forms(value: int) -> U32Forms:
    """Hex, unsigned and signed forms of a 32-bit value given in either signed or unsigned form."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    if not -(1 << 31) <= value < _U32:
        raise ValueError(f"{value} does not fit in 32 bits")
    unsigned = value % _U32
    signed = unsigned - _U32 if unsigned >= 1 << 31 else unsigned
    return U32Forms(f"0x{unsigned:08X}", unsigned, signed)


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    """One catalogued code. Immutable; compare and hash by value."""

    name: str
    code: int | None
    source: str
    description_en: str
    severity: str | None = None
    category: str | None = None
    description_original: str | None = None
    #: language of ``description_original`` (``zh``, ``de`` ...); None when there is none
    original_lang: str | None = None
    status: str = "confirmed"
    aliases: tuple[str, ...] = ()
    notes: str | None = None
    #: for 32-bit sources (cisco_ctierr): ``code`` is the unsigned value, these the other forms
    value_hex: str | None = None
    value_signed: int | None = None
    #: the number the source actually prints, when the catalog reads it differently
    code_as_printed: int | None = None
    #: where the entry comes from (seed line, reference section)
    locator: str | None = None
    #: protocol.md source tag (C, I, O, U ...) for the UCCX sources
    evidence: str | None = None
    #: False for client-side sentinels that no server ever sends
    sent_by_server: bool = True
    #: True only for entries synthesized for codes that are not in the catalog
    unknown: bool = False

    @property
    def u32(self) -> U32Forms | None:
        """Hex/unsigned/signed forms for a 32-bit source's entry, else None."""
        if self.value_hex is None or self.code is None:
            return None
        return u32_forms(self.code)

    @property
    def sendable(self) -> bool:
        """Whether a server may put this code on the wire (it has a value and is not a client sentinel)."""
        return self.code is not None and self.sent_by_server and not self.unknown

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (aliases as a list; ``value_unsigned`` added for 32-bit sources)."""
        d = dataclasses.asdict(self)
        d["aliases"] = list(self.aliases)
        if self.value_hex is not None:
            d["value_unsigned"] = self.code
        return d


@dataclass(frozen=True, kw_only=True, slots=True)
class Reserved:
    """A documented range of codes that a source reserves or leaves undefined."""

    first: int
    last: int
    notes: str

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and self.first <= code <= self.last


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """The ``[catalog]`` header of one file."""

    id: str
    title: str
    vendor: str
    source_docs: tuple[str, ...]
    original_lang: str
    code_repr: str  #: ``int`` or ``u32`` (unsigned 32-bit on the wire, with hex/signed forms)
    value_sources: tuple[str, ...] = ()
    notes: str | None = None
    categories: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    reserved: tuple[Reserved, ...] = ()
    path: str = ""  #: where the file was read from (for messages)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class Catalog:
    """Every catalogued code, indexed by name (and alias), by ``(source, code)`` and by code."""

    def __init__(self, sources: Iterable[Source], entries: Iterable[Entry]) -> None:
        self._sources: dict[str, Source] = {}
        for src in sources:
            if src.id in self._sources:
                raise CatalogError(f"{src.path}: source {src.id!r} is also defined in {self._sources[src.id].path}")
            self._sources[src.id] = src
        self._entries: tuple[Entry, ...] = tuple(entries)
        self._by_name: dict[str, Entry] = {}
        self._by_source_code: dict[tuple[str, int], Entry] = {}
        self._by_source: dict[str, list[Entry]] = {s: [] for s in self._sources}
        for e in self._entries:
            if e.source not in self._sources:
                raise CatalogError(f"entry {e.name}: unknown source {e.source!r}")
            where = self._sources[e.source].path
            for n in (e.name, *e.aliases):
                other = self._by_name.get(n)
                if other is not None:
                    raise CatalogError(
                        f"{where}: entry {e.name}: name {n!r} is already used by entry {other.name} "
                        f"in {self._sources[other.source].path}; names and aliases must be unique across all sources"
                    )
                self._by_name[n] = e
            if e.code is not None:
                key = (e.source, e.code)
                other = self._by_source_code.get(key)
                if other is not None:
                    raise CatalogError(f"{where}: entry {e.name}: code {e.code} is already used by entry {other.name}")
                self._by_source_code[key] = e
            self._by_source[e.source].append(e)
        self._haystacks: dict[str, tuple[str, str]] | None = None

    # -- plain access ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"<Catalog {len(self._entries)} entries from {', '.join(self._sources)}>"

    def sources(self) -> tuple[str, ...]:
        """Source ids, in load order."""
        return tuple(self._sources)

    def source(self, source_id: str) -> Source:
        """The header of one source; ``LookupError`` naming the known sources if there is none."""
        try:
            return self._sources[source_id]
        except KeyError:
            raise LookupError(
                f"no catalog source {source_id!r}; known sources: {', '.join(self._sources)}"
            ) from None

    def entries(self, source: str | None = None) -> tuple[Entry, ...]:
        """All entries, or those of one source, in file order."""
        if source is None:
            return self._entries
        self.source(source)
        return tuple(self._by_source[source])

    # -- by name --------------------------------------------------------------------------
    def get(self, name: str) -> Entry | None:
        """The entry with this name or alias (case-insensitive), or None."""
        return self._by_name.get(name.strip().upper())

    def by_name(self, name: str) -> Entry:
        """The entry with this name or alias; :class:`UnknownCodeName` with suggestions if none."""
        entry = self.get(name)
        if entry is not None:
            return entry
        raise UnknownCodeName(name, self._unknown_name_message(name))

    def _unknown_name_message(self, name: str) -> str:
        close = difflib.get_close_matches(name.strip().upper(), list(self._by_name), n=5, cutoff=0.6)
        if not close:
            return f"no catalog entry is named {name!r} (sources: {', '.join(self._sources)})"
        hints = []
        for n in close:
            e = self._by_name[n]
            hints.append(f"{n} ({e.source})" if n == e.name else f"{n} (alias of {e.name}, {e.source})")
        return f"no catalog entry is named {name!r}; did you mean: {', '.join(hints)}?"

    # -- by code --------------------------------------------------------------------------
    def _normalise(self, source: str, code: int) -> int:
        if self.source(source).code_repr == "u32" and -(1 << 31) <= code < 0:
            return code + _U32
        return code

    def lookup(self, source: str, code: int) -> Entry:
        """The entry for ``code`` in ``source``; an entry marked ``unknown`` if there is none.

        For 32-bit sources the signed form is accepted too (``-1932787697`` == ``0x8CCC000F``).
        An unknown source is a programming error and raises ``LookupError``.
        """
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"code must be an int, got {type(code).__name__}")
        src = self.source(source)
        code = self._normalise(source, code)
        found = self._by_source_code.get((source, code))
        if found is not None:
            return found
        notes = [r.notes for r in src.reserved if code in r]
        hex_, signed = None, None
        if src.code_repr == "u32" and 0 <= code < _U32:
            forms = u32_forms(code)
            hex_, signed = forms.hex, forms.signed
        label = hex_ or str(code)
        return Entry(
            name=f"{source.upper()}_UNKNOWN_{code}",
            code=code,
            source=source,
            description_en=f"Code {label} is not in the {source} catalog.",
            status="unknown",
            notes=" ".join(notes) or None,
            value_hex=hex_,
            value_signed=signed,
            unknown=True,
        )

    def by_code(self, code: int) -> list[Entry]:
        """Every catalogued entry with this code, across sources (signed 32-bit forms accepted)."""
        found = []
        for source in self._sources:
            e = self._by_source_code.get((source, self._normalise(source, code)))
            if e is not None:
                found.append(e)
        return found

    # -- free text ------------------------------------------------------------------------
    def search(self, text: str) -> list[Entry]:
        """Entries whose name, aliases, English or original text contain every word of ``text``.

        Case-insensitive and width-insensitive (NFKC), so ``hold``, ``HOLD`` and ``保持`` all work;
        ``_`` in names also matches a space. Entries matching by name or alias come first.
        """
        terms = _fold(text).split()
        if not terms:
            return []
        if self._haystacks is None:
            self._haystacks = {}
            for e in self._entries:
                names = " ".join((e.name, *e.aliases))
                names = _fold(f"{names} {names.replace('_', ' ')}")
                texts = _fold(" ".join(t for t in (e.description_en, e.description_original) if t))
                self._haystacks[e.name] = (names, texts)
        by_name, by_text = [], []
        for e in self._entries:
            names, texts = self._haystacks[e.name]
            if all(t in names for t in terms):
                by_name.append(e)
            elif all(t in names or t in texts for t in terms):
                by_text.append(e)
        return by_name + by_text


# -- loading -----------------------------------------------------------------------------


def _str(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _int(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(f"{where}: {key!r} must be an integer, got {value!r}")
    return value


def _str_list(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise CatalogError(f"{where}: {key!r} must be an array of strings, got {value!r}")
    return tuple(_str(where, key, v) for v in value)


def _parse_header(path: str, stem: str, data: dict[str, Any]) -> Source:
    head = data.get("catalog")
    if not isinstance(head, dict):
        raise CatalogError(f"{path}: missing the [catalog] table")
    where = f"{path}: [catalog]"
    extra = set(head) - _HEADER_KEYS
    if extra:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    for key in ("id", "title", "vendor", "source_docs", "original_lang", "code_repr"):
        if key not in head:
            raise CatalogError(f"{where}: missing {key!r}")
    sid = _str(where, "id", head["id"])
    if sid != stem:
        raise CatalogError(f"{where}: id {sid!r} must equal the file stem {stem!r}")
    code_repr = _str(where, "code_repr", head["code_repr"])
    if code_repr not in _CODE_REPRS:
        raise CatalogError(f"{where}: code_repr must be one of {sorted(_CODE_REPRS)}, got {code_repr!r}")
    categories = head.get("categories", {})
    if not isinstance(categories, dict) or not all(isinstance(v, dict) for v in categories.values()):
        raise CatalogError(f"{where}: 'categories' must be a table of tables")
    reserved = []
    raw_reserved = data.get("reserved", [])
    if not isinstance(raw_reserved, list):
        raise CatalogError(f"{path}: 'reserved' must be an array of tables ([[reserved]])")
    for i, r in enumerate(raw_reserved, 1):
        rwhere = f"{path}: reserved #{i}"
        if not isinstance(r, dict):
            raise CatalogError(f"{rwhere}: must be a table")
        if set(r) != _RESERVED_KEYS:
            raise CatalogError(f"{rwhere}: needs exactly the keys from, to, notes (got {', '.join(sorted(r))})")
        first, last = _int(rwhere, "from", r["from"]), _int(rwhere, "to", r["to"])
        if first > last:
            raise CatalogError(f"{rwhere}: from {first} is greater than to {last}")
        reserved.append(Reserved(first=first, last=last, notes=_str(rwhere, "notes", r["notes"])))
    return Source(
        id=sid,
        title=_str(where, "title", head["title"]),
        vendor=_str(where, "vendor", head["vendor"]),
        source_docs=_str_list(where, "source_docs", head["source_docs"]),
        value_sources=_str_list(where, "value_sources", head.get("value_sources", [])),
        original_lang=_str(where, "original_lang", head["original_lang"]),
        code_repr=code_repr,
        notes=_str(where, "notes", head["notes"]) if "notes" in head else None,
        categories={k: dict(v) for k, v in categories.items()},
        reserved=tuple(reserved),
        path=path,
    )


def _parse_entry(src: Source, index: int, raw: Any) -> Entry:
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"entry #{index} ({name})" if isinstance(name, str) else f"entry #{index}"
    where = f"{src.path}: {label}"
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be a table ([[entry]])")
    extra = set(raw) - _ENTRY_KEYS
    if extra:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    for key in ("name", "description_en"):
        if key not in raw:
            raise CatalogError(f"{where}: missing {key!r}")
    name = _str(where, "name", raw["name"])
    if not _NAME_RE.match(name):
        raise CatalogError(f"{where}: name {name!r} is not UPPER_SNAKE_CASE")
    aliases = _str_list(where, "aliases", raw.get("aliases", []))
    for a in aliases:
        if not _NAME_RE.match(a):
            raise CatalogError(f"{where}: alias {a!r} is not UPPER_SNAKE_CASE")
    if len(set(aliases)) != len(aliases) or name in aliases:
        raise CatalogError(f"{where}: aliases repeat a name: {list(aliases)}")
    status = _str(where, "status", raw.get("status", "confirmed"))
    if status not in _FILE_STATUSES:
        raise CatalogError(f"{where}: status must be one of {sorted(_FILE_STATUSES)}, got {status!r}")
    code = raw.get("code")
    if code is None:
        if status != "unconfirmed":
            raise CatalogError(f"{where}: missing 'code' (only an entry with status 'unconfirmed' may lack one)")
    elif status == "unconfirmed":
        # error-catalogs.md §4.2 rule 2: unconfirmed records have no code and are never emitted
        raise CatalogError(
            f"{where}: status 'unconfirmed' with code {code!r}: an unconfirmed entry has no code; "
            f"drop the code, or mark a value that is inferred (e.g. next in sequence) status 'inferred'"
        )
    else:
        code = _int(where, "code", code)
        if not 0 <= code < _U32:
            raise CatalogError(f"{where}: code {code} is outside 0 .. 2**32-1 (give 32-bit values unsigned)")
    value_hex = raw.get("value_hex")
    value_signed = raw.get("value_signed")
    if src.code_repr == "u32":
        if code is not None:
            forms = u32_forms(code)
            if value_hex is None or value_signed is None:
                raise CatalogError(f"{where}: a u32 source needs value_hex and value_signed with the code")
            if value_hex != forms.hex:
                raise CatalogError(f"{where}: value_hex {value_hex!r} does not match code {code} ({forms.hex})")
            if _int(where, "value_signed", value_signed) != forms.signed:
                raise CatalogError(f"{where}: value_signed {value_signed} does not match code {code} ({forms.signed})")
        elif value_hex is not None or value_signed is not None:
            raise CatalogError(f"{where}: value_hex/value_signed given without a code")
    elif value_hex is not None or value_signed is not None:
        raise CatalogError(f"{where}: value_hex/value_signed are only for code_repr = 'u32' sources")
    severity = raw.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise CatalogError(f"{where}: severity must be one of {sorted(SEVERITIES)}, got {severity!r}")
    category = raw.get("category")
    if category is not None:
        _str(where, "category", category)
        if src.categories and category not in src.categories:
            raise CatalogError(f"{where}: category {category!r} is not declared in [catalog.categories]")
    original = raw.get("description_original")
    lang = None
    if original is not None:
        _str(where, "description_original", original)
        lang = _str(where, "original_lang", raw.get("original_lang", src.original_lang))
        if lang == "en":
            raise CatalogError(f"{where}: description_original is for non-English text; set original_lang")
    elif "original_lang" in raw:
        raise CatalogError(f"{where}: original_lang given without description_original")
    sent = raw.get("sent_by_server", True)
    if not isinstance(sent, bool):
        raise CatalogError(f"{where}: sent_by_server must be true or false")
    optional_str = {k: _str(where, k, raw[k]) for k in ("notes", "locator", "evidence") if k in raw}
    printed = raw.get("code_as_printed")
    return Entry(
        name=name,
        code=code,
        source=src.id,
        description_en=_str(where, "description_en", raw["description_en"]),
        severity=severity,
        category=category,
        description_original=original,
        original_lang=lang,
        status=status,
        aliases=aliases,
        notes=optional_str.get("notes"),
        value_hex=value_hex,
        value_signed=value_signed,
        code_as_printed=None if printed is None else _int(where, "code_as_printed", printed),
        locator=optional_str.get("locator"),
        evidence=optional_str.get("evidence"),
        sent_by_server=sent,
    )


def _parse_file(path: str, stem: str, data: bytes) -> tuple[Source, list[Entry]]:
    import tomllib

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: not a valid UTF-8 TOML file: {exc}") from exc
    extra = set(doc) - {"catalog", "entry", "reserved"}
    if extra:
        raise CatalogError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}")
    src = _parse_header(path, stem, doc)
    raw_entries = doc.get("entry")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CatalogError(f"{path}: no [[entry]] tables")
    entries = [_parse_entry(src, i, raw) for i, raw in enumerate(raw_entries, 1)]
    return src, entries


def _build(files: Iterable[tuple[str, str, bytes]]) -> Catalog:
    sources, entries = [], []
    for path, stem, data in files:
        src, ents = _parse_file(path, stem, data)
        sources.append(src)
        entries.extend(ents)
    if not sources:
        raise CatalogError("no catalog files (*.toml) found")
    return Catalog(sources, entries)


def load(*paths: str | os.PathLike[str]) -> Catalog:
    """Load a catalog from TOML files and/or directories of them (``*.toml``, sorted by name)."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return _build((str(f), f.stem, f.read_bytes()) for f in files)


def _packaged_files() -> list[tuple[str, str, bytes]]:
    from importlib import resources

    try:
        root = resources.files("mockcti.catalog_data")
        found = sorted((t for t in root.iterdir() if t.name.endswith(".toml")), key=lambda t: t.name)
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        found = []
    if found:
        return [(str(t), t.name[: -len(".toml")], t.read_bytes()) for t in found]
    # A source checkout (or an editable install) without the mapped package: use <repo>/catalog.
    repo_catalog = Path(__file__).resolve().parent.parent / "catalog"
    return [(str(f), f.stem, f.read_bytes()) for f in sorted(repo_catalog.glob("*.toml"))]


@functools.cache
def default() -> Catalog:
    """The shipped catalog, loaded on first use and cached."""
    return _build(_packaged_files())
