"""Hypothesis strategies for the CTI protocol, in Hypothesis house style.

``messages()`` draws any message; ``from_message_type(T, dialect=...)`` draws messages of one
type, schema-driven from the declarations in :mod:`mockcti.wire.spec`, valid for the dialect
(floating tags above 255 only with 2-byte tags, ``since`` fields only from their version,
strings within their maximum byte length). ``frames()`` draws complete encoded messages and
``chunkings()`` ways to split a byte stream. Every message class is registered, so
``st.from_type(OpenReq)`` works.

Options are keyword-only; names are plural nouns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from mockcti.wire import Dialect, MessageType, encode
from mockcti.wire.spec import MESSAGE_CLASSES, SPECS, FloatingField, Group, MessageSpec
from mockcti.wire.types import NAMEDARRAY, NAMEDVAR, STRING, UNSPEC, NamedArray, NamedVariable

__all__ = ["messages", "from_message_type", "floating_fields", "frames", "chunkings", "dialects", "strings_for"]

# UCCX dialects worth covering: 1-byte widths, the v12/v14 fixed-part changes, v18 both length widths; UCCE 2+2.
DIALECTS: tuple[Dialect, ...] = (
    Dialect.uccx(10), Dialect.uccx(12), Dialect.uccx(14), Dialect.uccx(17),
    Dialect.uccx(18), Dialect.uccx(18, v18_length_width=1), Dialect.ucce(19), Dialect.ucce(24),
)


def dialects() -> st.SearchStrategy[Dialect]:
    """One of the representative dialects (every width combination and fixed-part variant)."""
    return st.sampled_from(DIALECTS)


def strings_for(max_bytes: int, *, alphabet: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Text whose UTF-8 encoding plus its NUL fits in ``max_bytes`` (no NUL inside)."""
    chars = alphabet or st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    limit = max(max_bytes - 1, 0)
    return st.text(chars, max_size=limit).filter(lambda s: len(s.encode("utf-8")) <= limit)


def _value(f: FloatingField) -> st.SearchStrategy[Any]:
    k = f.kind
    if k is STRING:
        return strings_for(f.max_len)
    if k is UNSPEC:
        return st.binary(max_size=f.max_len)
    if k is NAMEDVAR:
        return st.builds(NamedVariable, name=strings_for(33), value=strings_for(211))
    if k is NAMEDARRAY:
        return st.builds(NamedArray, index=st.integers(0, 255), name=strings_for(33), value=strings_for(211))
    return st.integers(k.min_value, k.max_value)


def _fits(f: FloatingField, dialect: Dialect) -> bool:
    return (dialect.tag_width == 2 or f.tag <= 0xFF) and (f.since is None or dialect.version >= f.since)


def _group(g: Group, dialect: Dialect, max_instances: int) -> st.SearchStrategy[tuple]:
    members = {}
    for i, m in enumerate(g.members):
        if isinstance(m, Group):
            members[m.attr] = _group(m, dialect, 3)
        elif not _fits(m, dialect):
            continue
        elif i == 0:  # the first member starts each instance on the wire: always present
            members[m.attr] = _value(m)
        else:
            members[m.attr] = st.none() | _value(m)
    return st.lists(st.fixed_dictionaries(members).map(lambda kw: g.cls(**kw)), max_size=max_instances).map(tuple)


def _named_total_ok(values: Sequence) -> bool:
    total = 0
    for v in values:
        total += len(v.name.encode()) + len(v.value.encode()) + 2 + (1 if isinstance(v, NamedArray) else 0)
    return total <= 2000


@st.composite
def _extra_fields(draw, spec: MessageSpec, dialect: Dialect) -> tuple:
    known = set(spec.fields_by_tag)
    max_tag = 0xFF if dialect.tag_width == 1 else 0xFFFF
    max_len = 0xFF if dialect.length_width == 1 else 600
    tags = st.integers(1, max_tag).filter(lambda t: t not in known)
    return tuple(draw(st.lists(st.tuples(tags, st.binary(max_size=min(max_len, 64))), max_size=2)))


def from_message_type(message_type: MessageType | type, *, dialect: Dialect | None = None,
                      extra_fields: bool = True) -> st.SearchStrategy:
    """Messages of one type, valid for ``dialect`` (default: UCCX v18)."""
    if isinstance(message_type, type):
        message_type = message_type.TYPE
    dialect = dialect or Dialect.uccx(18)
    spec = SPECS[MessageType(message_type)]
    kw: dict[str, st.SearchStrategy] = {}
    fixed = spec.fixed_for(dialect.version)
    tail = fixed[len(fixed) - spec.optional_tail:] if spec.optional_tail else ()
    for f in fixed:
        if f.count_of or f in tail:
            continue
        if isinstance(f.default, bytes):
            kw[f.attr] = st.binary(min_size=len(f.default), max_size=len(f.default))
        else:
            size = f.con.sizeof()
            signed = getattr(f.con, "fmtstr", ">L")[-1].islower()
            lo, hi = (-(1 << (size * 8 - 1)), (1 << (size * 8 - 1)) - 1) if signed else (0, (1 << (size * 8)) - 1)
            kw[f.attr] = st.integers(lo, hi)
    if spec.type is MessageType.OPEN_REQ:
        prof = dialect.profile
        same_widths = [v for v in range(prof.min_version, prof.max_version + 1)
                       if (dialect.with_version(v).tag_width, dialect.with_version(v).length_width)
                       == (dialect.tag_width, dialect.length_width)]
        kw["version_number"] = st.sampled_from(same_widths)
    named = []
    for item in spec.floating:
        if isinstance(item, Group):
            kw[item.attr] = _group(item, dialect, 4)
        elif not _fits(item, dialect):
            continue
        elif item.repeated:
            kw[item.attr] = st.lists(_value(item), max_size=3).map(tuple)
            named.append(item.attr)
        elif item.required:
            kw[item.attr] = _value(item)
        else:
            kw[item.attr] = st.none() | _value(item)
    if extra_fields:
        kw["extra_fields"] = _extra_fields(spec, dialect)
    strategy = st.fixed_dictionaries(kw)
    if tail:
        strategy = st.tuples(strategy, st.booleans()).map(
            lambda t: {**t[0], **{f.attr: (0 if t[1] else None) for f in tail}})
    if named:
        strategy = strategy.filter(lambda d: _named_total_ok([v for a in named for v in d[a]]))
    return strategy.map(lambda d: spec.cls(**d))


def messages(*, dialect: Dialect | None = None, types: Sequence[MessageType] | None = None,
             extra_fields: bool = True) -> st.SearchStrategy:
    """Any message (optionally one of ``types``), valid for ``dialect``."""
    chosen = list(types) if types is not None else list(SPECS)
    return st.one_of([from_message_type(t, dialect=dialect, extra_fields=extra_fields) for t in chosen])


def floating_fields(message_type: MessageType, *, dialect: Dialect | None = None) -> st.SearchStrategy:
    """(FloatingField, value) pairs of one message type's simple floating fields."""
    dialect = dialect or Dialect.uccx(18)
    fields = [f for f in SPECS[message_type].fields_by_tag.values() if _fits(f, dialect)]
    return st.sampled_from(fields).flatmap(lambda f: st.tuples(st.just(f), _value(f)))


def frames(*, dialect: Dialect | None = None, types: Sequence[MessageType] | None = None) -> st.SearchStrategy[bytes]:
    """Complete encoded messages (header included)."""
    dialect = dialect or Dialect.uccx(18)
    return messages(dialect=dialect, types=types).map(lambda m: encode(m, dialect))


@st.composite
def chunkings(draw, data: bytes, *, max_chunks: int = 20) -> list[bytes]:
    """A way to split ``data`` into consecutive chunks, as TCP might deliver it."""
    if not data:
        return [b""]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=min(max_chunks, len(data) - 1)))
                      if len(data) > 1 else []))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


for _mt, _cls in MESSAGE_CLASSES.items():
    st.register_type_strategy(_cls, from_message_type(_mt))
