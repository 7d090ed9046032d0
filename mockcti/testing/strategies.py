"""Hypothesis strategies for the CTI protocol, in Hypothesis house style.

``messages()`` draws any message; ``from_message_type(T, dialect=...)`` draws messages of one
type, schema-driven from the declarations in :mod:`mockcti.wire.spec`, valid for the dialect
(floating tags above 255 only with 2-byte tags, ``since`` fields only from their version,
strings within their maximum byte length). ``frames()`` draws complete encoded messages and
``chunkings()`` ways to split a byte stream. Every message class is registered, so
``st.from_type(OpenReq)`` works (also without importing this module: Hypothesis's entry point,
:mod:`mockcti.testing.hypothesis_hook`, registers them as Hypothesis is imported).

``malformed_frames()`` draws client->server byte strings with one labelled defect and the
E_CTI status the server answers (the codec's, or for an undefined floating tag, which the codec
keeps in ``extra_fields``, the session's); ``event_sequences()`` draws the
server->client events of legal call flows at one agent (reference §7.2: inbound ACD calls, and with
``flows=`` consultations, transfers, conferences, placed calls and barge-in played through the
simulated contact center; ``view="bridge"``: the same replay as a bridge-mode session receives it);
``error_codes()``
draws entries of the error catalog. ``st.from_type(MalformedFrame)`` works too.

Options are keyword-only; names are plural nouns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar, overload

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockcti.wire import Dialect, MessageType, StatusCode, encode, spec_in
from mockcti.wire.codec import HEADER
from mockcti.wire.enums import (
    AgentState, CallType, CalledPartyDisposition, ConnectionDeviceType, DeviceType, EventCause, LineType,
    LocalConnectionState, ReasonCode, ServiceMask, Tag,
)
from mockcti.wire.spec import C2S, MESSAGE_CLASSES, SPECS, FloatingField, Group, Message, MessageSpec
from mockcti.wire.types import NAMEDARRAY, NAMEDVAR, STRING, UNSPEC, NamedArray, NamedVariable

__all__ = [
    "messages", "from_message_type", "floating_fields", "frames", "chunkings", "dialects", "strings_for", "field_value",
    "MalformedFrame", "DEFECTS", "malformed_frames", "undefined_floating_fields", "event_sequences", "FLOWS", "VIEWS",
    "error_codes",
]

# UCCX dialects worth covering: 1-byte widths, the v12/v14 fixed-part changes, v18 both length widths; UCCE 2+2.
DIALECTS: tuple[Dialect, ...] = (
    Dialect.uccx(10), Dialect.uccx(12), Dialect.uccx(14), Dialect.uccx(17),
    Dialect.uccx(18), Dialect.uccx(18, v18_length_width=1), Dialect.ucce(19), Dialect.ucce(24),
)


def dialects() -> st.SearchStrategy[Dialect]:
    """One of the representative dialects (every width combination and fixed-part variant)."""
    return st.sampled_from(DIALECTS)


def strings_for(max_bytes: int, *, alphabet: st.SearchStrategy[str] | str | None = None) -> st.SearchStrategy[str]:
    """Text whose UTF-8 encoding plus its NUL fits in ``max_bytes`` (no NUL inside); ``alphabet``
    as for ``st.text`` (default: any character but NUL and surrogates)."""
    # (not ``alphabet or ...``: the truth value of a strategy draws a HypothesisWarning)
    chars = alphabet if alphabet is not None else st.characters(exclude_categories=["Cs"],
                                                                exclude_characters="\x00")
    limit = max(max_bytes - 1, 0)
    return st.text(chars, max_size=limit).filter(lambda s: len(s.encode("utf-8")) <= limit)


def field_value(f: FloatingField, *, text: Callable[[int], st.SearchStrategy[str]] = strings_for
                ) -> st.SearchStrategy[Any]:
    """Values of floating field ``f`` that fit its kind and maximum length; ``text(max_bytes)``
    draws the strings (default :func:`strings_for`)."""
    k = f.kind
    if k is STRING:
        return text(f.max_len)
    if k is UNSPEC:
        return st.binary(max_size=f.max_len)
    # (a name or a value of one byte at least: a NAMEDVAR's FieldLength is 3..251, a NAMEDARRAY's 4..252)
    if k is NAMEDVAR:
        return st.builds(NamedVariable, name=text(33), value=text(211)).filter(lambda v: bool(v.name or v.value))
    if k is NAMEDARRAY:
        return st.builds(NamedArray, index=st.integers(0, 255), name=text(33), value=text(211)).filter(
            lambda v: bool(v.name or v.value))
    return st.integers(k.min_value, k.max_value)


def _fits(f: FloatingField, dialect: Dialect) -> bool:
    return (dialect.tag_width == 2 or f.tag <= 0xFF) and (f.since is None or dialect.version >= f.since)


def _group(g: Group, dialect: Dialect, max_instances: int) -> st.SearchStrategy[tuple]:
    members: dict[str, st.SearchStrategy[Any]] = {}
    for i, m in enumerate(g.members):
        if isinstance(m, Group):
            members[m.attr] = _group(m, dialect, 3)
        elif not _fits(m, dialect):
            continue
        elif i == 0:  # the first member starts each instance on the wire: always present
            members[m.attr] = field_value(m)
        else:
            members[m.attr] = st.none() | field_value(m)
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


_MsgT = TypeVar("_MsgT", bound=Message)


@overload
def from_message_type(message_type: type[_MsgT], *, dialect: Dialect | None = None,
                      extra_fields: bool = True) -> st.SearchStrategy[_MsgT]: ...
@overload
def from_message_type(message_type: MessageType | int, *, dialect: Dialect | None = None,
                      extra_fields: bool = True) -> st.SearchStrategy[Message]: ...


def from_message_type(message_type: MessageType | int | type[Message], *, dialect: Dialect | None = None,
                      extra_fields: bool = True) -> st.SearchStrategy[Any]:
    """Messages of one type (a MessageType or a message class), valid for ``dialect`` (default: UCCX v18). A
    type the dialect's profile does not have (the UCCX statistics messages under ucce, ``Profile.defines``) is a
    ValueError: it has no wire form."""
    if isinstance(message_type, type):
        message_type = message_type.TYPE
    dialect = dialect or Dialect.uccx(18)
    if not dialect.profile.defines(MessageType(message_type)):
        raise ValueError(f"{MessageType(message_type).name} is not a message of the {dialect.profile.name} profile")
    spec = spec_in(MessageType(message_type), dialect)  # the profile's tags (Profile.retag)
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
    for f in spec.fixed:
        if f not in fixed:  # a later version's fixed field (AgentCapacity below 12): not in this version's message
            kw[f.attr] = st.none()
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
            kw[item.attr] = st.lists(field_value(item), max_size=3).map(tuple)
            named.append(item.attr)
        elif item.required:
            kw[item.attr] = field_value(item)
        else:
            kw[item.attr] = st.none() | field_value(item)
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
    """Any message of the dialect's profile (optionally one of ``types``), valid for ``dialect``."""
    prof = (dialect or Dialect.uccx(18)).profile
    chosen = list(types) if types is not None else [mt for mt in SPECS if prof.defines(mt)]
    return st.one_of([from_message_type(t, dialect=dialect, extra_fields=extra_fields) for t in chosen])


def floating_fields(message_type: MessageType, *, dialect: Dialect | None = None) -> st.SearchStrategy:
    """(FloatingField, value) pairs of one message type's simple floating fields."""
    dialect = dialect or Dialect.uccx(18)
    fields = [f for f in spec_in(MessageType(message_type), dialect).fields_by_tag.values() if _fits(f, dialect)]
    return st.sampled_from(fields).flatmap(lambda f: st.tuples(st.just(f), field_value(f)))


def frames(*, dialect: Dialect | None = None, types: Sequence[MessageType] | None = None) -> st.SearchStrategy[bytes]:
    """Complete encoded messages (header included)."""
    dialect = dialect or Dialect.uccx(18)
    return messages(dialect=dialect, types=types).map(lambda m: encode(m, dialect))


def chunkings(data: bytes, *, max_chunks: int = 20) -> st.SearchStrategy[list[bytes]]:
    """A way to split ``data`` into at most ``max_chunks`` consecutive non-empty chunks, as TCP
    might deliver it (``[b""]`` for no data)."""
    if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
        raise InvalidArgument(f"max_chunks must be an int >= 1, not {max_chunks!r}")
    return _chunkings(bytes(data), max_chunks)


@st.composite
def _chunkings(draw, data: bytes, max_chunks: int) -> list[bytes]:
    if not data:
        return [b""]
    # n chunks are n - 1 cuts
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=min(max_chunks, len(data)) - 1))
                      if len(data) > 1 else []))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# -- malformed frames ------------------------------------------------------------------------------


class MalformedFrame(NamedTuple):
    """Bytes a client might send that break one protocol rule, labelled with the rule.

    ``expected_status`` is the E_CTI status the codec raises (and a UCCX-faithful server answers
    in FAILURE_CONF) when the bytes are fed to ``FrameBuffer(dialect.max_body)`` and the frame
    it yields is decoded with ``decode(frame, dialect)``; ``closes_connection`` is True when the
    stream cannot be resynchronised (the FrameBuffer itself reports the error, reference §2.4).
    """

    data: bytes
    defect: str
    expected_status: StatusCode
    closes_connection: bool = False


_S = StatusCode
#: defect label -> the status the codec answers (reference §2.3, §2.4, §7.1)
DEFECTS: dict[str, StatusCode] = {
    "truncated body": _S.E_CTI_UNSPECIFIED_FAILURE,  # BodyLength right, body shorter than the fixed part
    "body length over the limit": _S.E_CTI_UNSPECIFIED_FAILURE,  # header announces more than max_body
    "garbage": _S.E_CTI_UNSPECIFIED_FAILURE,  # not CTI at all (HTTP, TLS, noise): reads as a huge BodyLength
    "floating length past the end": _S.E_CTI_UNSPECIFIED_FAILURE,  # a field's length runs past BodyLength
    "truncated floating header": _S.E_CTI_UNSPECIFIED_FAILURE,  # body ends inside a tag/length header
    "numeric field of wrong size": _S.E_CTI_INVALID_FIELD_LENGTH,  # e.g. a UINT field with length 3
    "field longer than its maximum": _S.E_CTI_INVALID_FIELD_LENGTH,  # a string/UNSPEC with no room left
    "unknown message type": _S.E_CTI_INVALID_MESSAGE_TYPE,  # a number the profile does not know
    "required field missing": _S.E_CTI_REQUIRED_DATA_MISSING,  # fixed part only, a REQ field absent
    "named variable without NUL": _S.E_CTI_INVALID_FIELD,  # NAMEDVAR whose VariableName never ends
    "unknown floating tag": _S.E_CTI_INVALID_FIELD,  # a tag no message defines (UCCX answers 3, reference §2.3)
}

#: the defects of a body the decoder cannot cut: the profile's status (UCCX 17 as above, ICM's
#: E_CTI_BAD_MESSAGE_FORMAT under the ucce profile, ``Profile.status("bad_format")``)
_BAD_FORMAT = frozenset({"truncated body", "floating length past the end", "truncated floating header"})


def _status(defect: str, dialect: Dialect) -> StatusCode:
    return dialect.profile.status("bad_format") if defect in _BAD_FORMAT else DEFECTS[defect]


#: floating tags some message defines (UCCX and ICM tables, reference Appendix A): never "unknown"
_DEFINED_TAGS = frozenset(int(t) for t in Tag)
_UNDEFINED_SMALL_TAGS = tuple(n for n in range(1, 0x100) if n not in _DEFINED_TAGS)


def _requests(dialect: Dialect, keep=lambda spec, d: True) -> list[MessageType]:
    """Client->server types of the dialect's profile (the only ones a server decodes)."""
    out = []
    for mt, spec in SPECS.items():
        if spec.direction != C2S:
            continue
        if not dialect.profile.defines(mt):
            continue
        if keep(spec_in(mt, dialect), dialect):
            out.append(mt)
    return out


def _effective(msg: Any, dialect: Dialect) -> Dialect:
    """OPEN_REQ is decoded with the widths of its own VersionNumber."""
    if msg.TYPE is MessageType.OPEN_REQ:
        prof = dialect.profile
        return dialect.with_version(min(max(msg.version_number, prof.min_version), prof.max_version))
    return dialect


def _tlv_header(tag: int, length: int, dialect: Dialect) -> bytes:
    return tag.to_bytes(dialect.tag_width, "big") + length.to_bytes(dialect.length_width, "big")


def _frame(wire_id: int, body: bytes) -> bytes:
    return HEADER.pack(len(body), wire_id) + body


def _plain(msg: Any) -> Any:
    """The message with its reserved fixed fields at the UCCX values (so strict dialects accept them)."""
    kw = {f.attr: f.default for f in msg.SPEC.fixed if f.reserved and getattr(msg, f.attr) is not None}
    return dataclasses.replace(msg, **kw) if kw else msg


def _fixed_size(spec: MessageSpec, version: int) -> int:
    fixed = spec.fixed_for(version)
    head = fixed[: len(fixed) - spec.optional_tail] if spec.optional_tail else fixed
    return sum(f.size for f in head)


_REQUEST_STRATEGIES: dict[tuple, st.SearchStrategy] = {}


def _request_strategy(mt: MessageType, dialect: Dialect) -> st.SearchStrategy:
    """from_message_type(mt) without extra fields, built once per type and dialect."""
    prof = dialect.profile
    key = (mt, prof.name, prof.min_version, prof.max_version, dialect.version, dialect.tag_width,
           dialect.length_width)
    strategy = _REQUEST_STRATEGIES.get(key)
    if strategy is None:
        strategy = _REQUEST_STRATEGIES[key] = from_message_type(mt, dialect=dialect, extra_fields=False)
    return strategy


def _base(dialect: Dialect, keep=lambda spec, d: True) -> st.SearchStrategy:
    types = _requests(dialect, keep)
    return st.one_of([_request_strategy(mt, dialect) for mt in types]).map(_plain)


def _fields(spec: MessageSpec, dialect: Dialect, pred) -> list[FloatingField]:
    return [f for f in spec.fields_by_tag.values() if _fits(f, dialect) and pred(f, dialect)]


def _is_numeric(f: FloatingField, d: Dialect) -> bool:
    return f.kind.size is not None


def _has_room_to_overflow(f: FloatingField, d: Dialect) -> bool:
    return f.kind.size is None and f.max_len < (0xFF if d.length_width == 1 else 0xFFFF)


def _some_field(pred):
    return lambda spec, d: bool(_fields(spec, d, pred))


@st.composite
def _truncated_body(draw, dialect: Dialect) -> MalformedFrame:
    msg = draw(_base(dialect, lambda spec, d: _fixed_size(spec, d.version) > 0))
    d = _effective(msg, dialect)
    body = encode(msg, d)[HEADER.size:]
    size = min(_fixed_size(msg.SPEC, d.version), _fixed_size(msg.SPEC, dialect.version))
    cut = draw(st.integers(0, size - 1))
    return MalformedFrame(_frame(d.profile.wire_id(msg.TYPE), body[:cut]), "truncated body", _status("truncated body", d))


@st.composite
def _oversized(draw, dialect: Dialect) -> MalformedFrame:
    length = draw(st.integers(dialect.max_body + 1, 0xFFFFFFFF))
    type_id = draw(st.integers(0, 0xFFFFFFFF))
    tail = draw(st.binary(max_size=32))
    return MalformedFrame(HEADER.pack(length, type_id) + tail, "body length over the limit",
                          DEFECTS["body length over the limit"], True)


_GARBAGE = (
    b"GET / HTTP/1.1\r\nHost: cti\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"HEARTBEAT_REQ\n",
)


@st.composite
def _garbage(draw, dialect: Dialect) -> MalformedFrame:
    data = draw(st.sampled_from(_GARBAGE) | st.binary(min_size=HEADER.size, max_size=64))
    data = data + b"\x00" * max(0, HEADER.size - len(data))
    if int.from_bytes(data[:4], "big") <= dialect.max_body:  # make the first bytes say "not a length"
        if dialect.max_body < 0x2000_0000:
            data = bytes((draw(st.integers(0x20, 0xFF)),)) + data[1:]
        else:  # a limit near 4 GiB: few first bytes are over it (malformed_frames leaves 0xFFFFFFFF out)
            data = draw(st.integers(dialect.max_body + 1, 0xFFFF_FFFF)).to_bytes(4, "big") + data[4:]
    return MalformedFrame(data, "garbage", DEFECTS["garbage"], True)


@st.composite
def _appended(draw, dialect: Dialect, defect: str) -> MalformedFrame:
    """A valid request with one bad floating field appended."""
    if defect == "numeric field of wrong size":
        keep = _some_field(_is_numeric)
    elif defect == "field longer than its maximum":
        keep = _some_field(_has_room_to_overflow)
    elif defect == "named variable without NUL":
        keep = _some_field(lambda f, d: f.kind is NAMEDVAR)
    elif defect == "truncated floating header":
        keep = lambda spec, d: d.tag_width + d.length_width > 1  # noqa: E731
    else:
        keep = lambda spec, d: True  # noqa: E731
    msg = draw(_base(dialect, keep))
    d = _effective(msg, dialect)
    body = encode(msg, d)[HEADER.size:]
    max_len = 0xFF if d.length_width == 1 else 0xFFFF
    if defect == "floating length past the end":
        tag = draw(st.integers(1, 0xFF if d.tag_width == 1 else 0xFFFF))
        length = draw(st.integers(1, min(max_len, 300)))
        extra = _tlv_header(tag, length, d) + draw(st.binary(max_size=length - 1))
    elif defect == "truncated floating header":
        extra = draw(st.binary(min_size=1, max_size=d.tag_width + d.length_width - 1))
    elif defect == "numeric field of wrong size":
        f = draw(st.sampled_from(_fields(spec_in(msg.TYPE, d), d, _is_numeric)))
        length = draw(st.integers(0, f.kind.size + 4).filter(lambda n: n != f.kind.size))
        extra = _tlv_header(f.tag, length, d) + draw(st.binary(min_size=length, max_size=length))
    elif defect == "field longer than its maximum":
        f = draw(st.sampled_from(_fields(spec_in(msg.TYPE, d), d, _has_room_to_overflow)))
        length = draw(st.integers(f.max_len + 1, min(max_len, f.max_len + 40)))
        extra = _tlv_header(f.tag, length, d) + draw(st.binary(min_size=length, max_size=length))
    elif defect == "named variable without NUL":
        f = draw(st.sampled_from(_fields(spec_in(msg.TYPE, d), d, lambda f, d: f.kind is NAMEDVAR)))
        data = draw(st.binary(min_size=0, max_size=f.max_len).map(lambda b: b.replace(b"\x00", b"x")))
        extra = _tlv_header(f.tag, len(data), d) + data
    elif defect == "unknown floating tag":
        extra = draw(undefined_floating_fields(dialect=d))
    else:  # pragma: no cover
        raise ValueError(defect)
    return MalformedFrame(_frame(d.profile.wire_id(msg.TYPE), body + extra), defect, _status(defect, d))


def undefined_floating_fields(*, dialect: Dialect | None = None, max_size: int = 40) -> st.SearchStrategy[bytes]:
    """One floating field (tag, length, data in the dialect's widths) whose tag no message defines:
    what a newer server or client might add. Appended to a request, the server answers
    E_CTI_INVALID_FIELD (reference §2.3); appended to an event, a client should skip it."""
    d = dialect or Dialect.uccx(18)
    tags = st.sampled_from(_UNDEFINED_SMALL_TAGS)
    if d.tag_width > 1:
        tags = tags | st.integers(max(_DEFINED_TAGS) + 1, 0xFFFF)
    return st.tuples(tags, st.binary(max_size=min(max_size, 0xFF if d.length_width == 1 else 0xFFFF))).map(
        lambda tv: _tlv_header(tv[0], len(tv[1]), d) + tv[1])


def _unknown_type_numbers(dialect: Dialect) -> list[int]:
    """The message numbers below 0x10000 the server of ``dialect`` has no message for: ICM-only numbers and
    gaps below 300, and the numbers of messages another profile has (the UCCX statistics under ucce) or that
    were remapped."""
    known = {wid for wid, mt in dialect.profile.by_wire_id.items() if mt in SPECS}
    small = [n for n in range(0, 300) if n not in known]
    others = sorted({int(mt) for mt in SPECS} - known)
    return small + others


@st.composite
def _unknown_type(draw, dialect: Dialect) -> MalformedFrame:
    type_id = draw(st.sampled_from(_unknown_type_numbers(dialect)) | st.integers(0x10000, 0xFFFFFFFF))
    return _unknown_type_frame(type_id, draw(st.binary(max_size=min(64, dialect.max_body))), dialect)


def _unknown_type_frame(type_id: int, body: bytes, dialect: Dialect) -> MalformedFrame:
    """A frame of message number ``type_id`` that ``dialect``'s server does not know, labelled with the
    status it answers."""
    since = dialect.profile.type_since(type_id)
    if since is not None and dialect.version < since:  # a number of the profile's later versions (UCCE 255-282 below 20)
        return MalformedFrame(_frame(type_id, body), "unknown message type",
                              dialect.profile.status("type_for_version"))
    return MalformedFrame(_frame(type_id, body), "unknown message type", DEFECTS["unknown message type"])


def _has_required(spec: MessageSpec, dialect: Dialect) -> bool:
    return any(isinstance(f, FloatingField) and f.required and _fits(f, dialect) for f in spec.floating)


@st.composite
def _required_missing(draw, dialect: Dialect) -> MalformedFrame:
    msg = draw(_base(dialect, _has_required))
    d = _effective(msg, dialect)
    body = encode(msg, d)[HEADER.size:]
    size = _fixed_size(msg.SPEC, d.version)
    return MalformedFrame(_frame(d.profile.wire_id(msg.TYPE), body[:size]), "required field missing",
                          DEFECTS["required field missing"])


def malformed_frames(*, dialect: Dialect | None = None,
                     defects: Iterable[str] | None = None) -> st.SearchStrategy[MalformedFrame]:
    """Client->server bytes with one defect each, labelled with it and with the status it earns.

    ``defects`` restricts the labels (keys of :data:`DEFECTS`; a set: its order does not change the frames
    drawn). Default dialect: UCCX v18. A
    defect the dialect cannot have is left out (no NAMEDVAR request; with ``max_body`` 0xFFFFFFFF
    no BodyLength is over the limit, so neither "body length over the limit" nor "garbage").
    """
    dialect = dialect or Dialect.uccx(18)
    chosen = list(DEFECTS) if defects is None else list(defects)
    unknown = [x for x in chosen if x not in DEFECTS]
    if unknown or not chosen:
        raise InvalidArgument(f"defects must be a non-empty selection of {sorted(DEFECTS)}; got {chosen!r}")
    chosen = [x for x in DEFECTS if x in chosen]  # a set: the same defects, in any order, draw the same frames
    builders = {
        "truncated body": _truncated_body,
        "body length over the limit": _oversized,
        "garbage": _garbage,
        "unknown message type": _unknown_type,
        "required field missing": _required_missing,
    }
    out = []
    for defect in chosen:
        if defect == "named variable without NUL" and not _requests(dialect, _some_field(
                lambda f, d: f.kind is NAMEDVAR)):
            continue
        if defect == "truncated floating header" and dialect.tag_width + dialect.length_width < 2:
            continue  # pragma: no cover
        if defect in ("body length over the limit", "garbage") and dialect.max_body >= 0xFFFF_FFFF:
            continue  # every BodyLength (a UINT) is within the limit: nothing reads as too long
        b = builders.get(defect)
        s = b(dialect) if b else _appended(dialect, defect)
        out.append(s.filter(lambda fr: fr.closes_connection or len(fr.data) - HEADER.size <= dialect.max_body))
    if not out:
        raise InvalidArgument(f"none of {chosen!r} can be built for {dialect}")
    return st.one_of(out)


# -- event sequences ---------------------------------------------------------------------------------

_M = MessageType
_AS = AgentState
_LCS = LocalConnectionState
_NO_ID = 0xFFFFFFFF
_digits = st.text("0123456789", min_size=4, max_size=6)


def _agent_state_event(agent: dict, state: AgentState, reason: int = 0, csq: int = _NO_ID,
                       duration: int = 0) -> Any:
    cls = MESSAGE_CLASSES[_M.AGENT_STATE_EVENT]
    kw: dict[str, Any] = dict(
        csq_state=int(state) if csq != _NO_ID else 0, state_duration=duration, csq_id=csq,
        agent_state=int(state), event_reason_code=int(reason), agent_id=agent["id"],
        agent_extension=agent["ext"], agent_instrument=agent["ext"], next_agent_state=0xFFFF)
    if agent["terminal"]:
        kw["active_terminal"] = agent["ext"]
    return cls(**kw)


def _call_event(mt: MessageType, call: dict, **kw) -> Any:
    return MESSAGE_CLASSES[mt](connection_device_type=int(ConnectionDeviceType.CONNECTION_ID_STATIC),
                               call_id=call["id"], connection_device_id=call["device"], **kw)


def event_sequences(*, dialect: Dialect | None = None, max_calls: int = 3,
                    flows: Iterable[str] | None = None, view: str = "agent") -> st.SearchStrategy[list]:
    """Server->client messages of legal call flows at one agent (reference §7.2).

    Without ``flows``: inbound ACD calls. One agent (ID, extension = instrument) takes 1..``max_calls``
    calls in turn, drawn from a small state machine: READY -> RESERVED -> BEGIN_CALL -> DELIVERED
    (alerting) -> answered (ESTABLISHED and TALKING in either order), held and retrieved up to three
    times, cleared by either party (CONNECTION_CLEARED, CLEARED, END_CALL, the agent's next state
    before, between or after them) -> WORK / READY / NOT_READY; or not answered (ring-no-answer:
    NOT_READY reason AGT_RNA) or abandoned while alerting. Call IDs increase and are never reused;
    every call event names the agent's extension.

    With ``flows`` (a non-empty selection of :data:`FLOWS`: ``"inbound"``, ``"consult"``,
    ``"transfer"``, ``"conference"``, ``"make_call"``, ``"barge_in"``; a set: its order does not change the
    sequences drawn): each of the 1..``max_calls``
    calls is one of those flows, played request by request through the simulated contact center
    (:class:`mockcti.center.ContactCenter`, the one ``mockcti serve`` runs) with another agent, a
    supervisor of the agent's team and an external number to consult, transfer, conference or call;
    the sequence is every event the agent's desktop session is sent (the confirmations left out: the
    agent works its phone), starting with the agent's state, in the order the center sends them.
    A consultation or conference puts two call IDs in flight at once; each call still begins with
    BEGIN_CALL_EVENT and ends with END_CALL_EVENT. The external number answers at once, late (after the
    customer on hold, or single-step on the call, hung up while it rang) or never (the call is abandoned
    while it rings); a call the agent places, at once or never.

    ``view`` (with ``flows`` only) says whose deliveries the sequence is: ``"agent"`` (default) the
    agent's desktop session as above; ``"bridge"`` a bridge-mode session (CTI_SERVICE_ALL_EVENTS, every
    call event and agent state bit: a wallboard, recorder or CRM bridge) opened in the same generated
    center, so the same replay: every agent's and the supervisor's events, CALL_QUEUED_EVENT and
    CALL_DEQUEUED_EVENT, the RTP media events of every phone, END_CALL_EVENT with an empty
    ConnectionDeviceID (reference §7.2). Each call the bridge hears of still begins with BEGIN_CALL_EVENT
    and ends with END_CALL_EVENT, once.
    """
    if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
        raise InvalidArgument(f"max_calls must be an int >= 1, not {max_calls!r}")
    if not isinstance(view, str) or view not in VIEWS:
        raise InvalidArgument(f"view must be one of {list(VIEWS)}, not {view!r}")
    if flows is None:
        if view != "agent":
            raise InvalidArgument(f"view={view!r} needs flows= (the bridge's events are those the contact center "
                                  f"sends while it plays the flows); without flows only view='agent'")
        return _event_sequences(dialect or Dialect.uccx(18), max_calls)
    chosen = tuple([flows] if isinstance(flows, str) else flows)
    unknown = [f for f in chosen if f not in FLOWS]
    if unknown or not chosen:
        raise InvalidArgument(f"flows must be a non-empty selection of {list(FLOWS)}; got {chosen!r}")
    # a set: the same flows, in any order or repeated, draw the same sequences (and shrink towards the first of FLOWS)
    return _center_sequences(dialect or Dialect.uccx(18), max_calls, tuple(f for f in FLOWS if f in chosen), view)


@st.composite
def _event_sequences(draw, dialect: Dialect, max_calls: int) -> list:
    terminal_field = SPECS[_M.AGENT_STATE_EVENT].fields_by_tag.get(303)
    ext = draw(_digits)
    agent = {"id": draw(_digits), "ext": ext,
             "terminal": terminal_field is not None and _fits(terminal_field, dialect) and draw(st.booleans())}
    csq = draw(st.integers(1, 99))
    application = draw(st.integers(1, 5000))
    trigger = draw(_digits)
    out: list = []
    state = _AS.AGENT_STATE_READY
    out.append(_agent_state_event(agent, state))
    call_id = draw(st.integers(1, 0x7FFF_0000))
    n_calls = draw(st.integers(1, max_calls))
    for i in range(n_calls):
        if i:
            call_id += draw(st.integers(1, 1000))
        if state is not _AS.AGENT_STATE_READY:
            reason = ReasonCode.AGT_WORK_TIMER_EXP if state is _AS.AGENT_STATE_WORK and draw(st.booleans()) else 0
            state = _AS.AGENT_STATE_READY
            out.append(_agent_state_event(agent, state, reason))
        caller = draw(_digits)
        if caller == ext:  # another number (not a filter: a rejected draw stops Hypothesis from shrinking the case)
            caller = caller[:-1] + str((int(caller[-1]) + 1) % 10)
        call = {"id": call_id, "device": ext}
        state = _AS.AGENT_STATE_RESERVED
        out.append(_agent_state_event(agent, state, 0, csq))
        out.append(_call_event(_M.BEGIN_CALL_EVENT, call, call_type=int(CallType.CALLTYPE_CCX_IN),
                               called_party_disposition=int(CalledPartyDisposition.CD_INVALID), ani=caller,
                               dnis=trigger, dialed_number=trigger))
        common = dict(line_handle=0xFFFF, line_type=int(LineType.LINETYPE_BUSINESS), application_id=application,
                      csq_id=csq, calling_device_type=int(DeviceType.DEVID_DEVICE_IDENTIFIER),
                      called_device_type=int(DeviceType.DEVID_ROUTE_POINT),
                      last_redirect_device_type=int(DeviceType.DEVID_ROUTE_POINT),
                      calling_device_id=caller, called_device_id=trigger, last_redirect_device_id=trigger)
        out.append(_call_event(_M.CALL_DELIVERED_EVENT, call, alerting_device_type=int(DeviceType.DEVID_AGENT_DEVICE),
                               alerting_device_id=ext, local_connection_state=int(_LCS.LCS_ALERTING),
                               event_cause=int(EventCause.CEC_NEW_CALL), ani=caller, dnis=trigger, **common))
        outcome = draw(st.sampled_from(["answered", "answered", "answered", "not answered", "abandoned"]))
        if outcome == "answered":
            established = _call_event(_M.CALL_ESTABLISHED_EVENT, call,
                                      answering_device_type=int(DeviceType.DEVID_AGENT_DEVICE), answering_device_id=ext,
                                      local_connection_state=int(_LCS.LCS_CONNECT),
                                      event_cause=int(EventCause.CEC_NONE), **common)
            talking = _agent_state_event(agent, _AS.AGENT_STATE_TALKING, 0, csq)
            out.extend([established, talking] if draw(st.booleans()) else [talking, established])
            state = _AS.AGENT_STATE_TALKING
            held = False
            for _ in range(6):  # hold/retrieve steps; the call ends at the latest after six
                # "hang up" first: Hypothesis shrinks a choice towards the first one, so a failing flow
                # loses the holds it does not need (the other order left three hold/retrieve pairs)
                step = draw(st.sampled_from(["hang up", "retrieve" if held else "hold"]))
                if step == "hang up":
                    break
                if held:
                    out.append(_call_event(_M.CALL_RETRIEVED_EVENT, call,
                                           retrieving_device_type=int(DeviceType.DEVID_AGENT_DEVICE),
                                           retrieving_device_id=ext, local_connection_state=int(_LCS.LCS_CONNECT),
                                           event_cause=int(EventCause.CEC_NONE)))
                else:
                    out.append(_call_event(_M.CALL_HELD_EVENT, call,
                                           holding_device_type=int(DeviceType.DEVID_AGENT_DEVICE),
                                           holding_device_id=ext, local_connection_state=int(_LCS.LCS_HOLD),
                                           event_cause=int(EventCause.CEC_NONE)))
                held = not held
            releaser = draw(st.sampled_from([ext, caller]))
            after = draw(st.sampled_from([(_AS.AGENT_STATE_WORK, 0), (_AS.AGENT_STATE_READY, 0),
                                          (_AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CALL_ENDED)]))
        elif outcome == "not answered":
            releaser = ext
            after = (_AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_RNA)
        else:
            releaser = caller
            after = (_AS.AGENT_STATE_READY, 0)
        clearing = [
            _call_event(_M.CALL_CONNECTION_CLEARED_EVENT, call,
                        releasing_device_type=int(DeviceType.DEVID_AGENT_DEVICE if releaser == ext
                                                  else DeviceType.DEVID_DEVICE_IDENTIFIER),
                        releasing_device_id=releaser, local_connection_state=int(_LCS.LCS_NULL),
                        event_cause=int(EventCause.CEC_NONE)),
            _call_event(_M.CALL_CLEARED_EVENT, call, local_connection_state=int(_LCS.LCS_NULL),
                        event_cause=int(EventCause.CEC_NONE)),
            _call_event(_M.END_CALL_EVENT, call),
        ]
        state = after[0]
        # the agent's state change may come before, between or after the clearing events (§7.1 ordering)
        clearing.insert(draw(st.integers(0, len(clearing))), _agent_state_event(agent, state, after[1]))
        out.extend(clearing)
    return out


# -- call flows through the contact center -----------------------------------------------------------

#: the call flows :func:`event_sequences` draws with ``flows=``: each is played through the simulated contact
#: center (:class:`mockcti.center.ContactCenter`), so its events are what ``mockcti serve`` sends for it
FLOWS: dict[str, str] = {
    "inbound": "an ACD call routed to the agent: answered (held and retrieved, cleared by either party), not "
               "answered (ring-no-answer) or abandoned while ringing",
    "consult": "an answered ACD call, a consultation with another agent or an external number, alternated "
               "between, then reconnected to the caller (an external number answers at once, late or never)",
    "transfer": "an answered ACD call transferred to another agent or an external number: after a "
                "consultation (the number answers at once, late or never), or single-step",
    "conference": "an answered ACD call conferenced with another agent or an external number: after a "
                  "consultation, or single-step (the number answers at once, late or never); then a party leaves",
    "make_call": "a call the agent places (MAKE_CALL_REQ) to another agent or an external number (it answers "
                 "at once or never)",
    "barge_in": "a supervisor barges in on the agent's answered ACD call (SUPERVISE_CALL_REQ)",
}
#: the flows that start with an ACD call routed to the agent (READY first); the others start NOT_READY
_INBOUND_PARTS = frozenset({"inbound", "consult", "transfer", "conference", "barge_in"})
_SUPERVISOR_BARGE_IN = 3  # SupervisoryAction SUPERVISOR_BARGE_IN (reference §6.20)
#: whose deliveries :func:`event_sequences` collects (``view=``): the watched agent's desktop session, or a
#: bridge-mode session (CTI_SERVICE_ALL_EVENTS) of the same center
VIEWS: dict[str, str] = {
    "agent": "the watched agent's desktop session (agent mode, CTI_SERVICE_CLIENT_EVENTS)",
    "bridge": "a bridge-mode session (CTI_SERVICE_ALL_EVENTS): every agent's events, CALL_QUEUED/DEQUEUED, "
              "the RTP media events of every phone",
}


def _other_number(taken: set[str], draw_digits: str) -> str:
    """``draw_digits``, or the nearest number (last digits counted up) that is not in ``taken``: distinct
    numbers without a filter (a rejected draw stops Hypothesis from shrinking the case)."""
    n = draw_digits
    for _ in range(len(taken) + 1):  # at most len(taken) numbers can be in the way
        if n not in taken:
            break
        n = str(int(n) + 1).zfill(len(n))
    taken.add(n)
    return n


#: when an external number the agent dials answers (the generated center's ``external_answer_delay`` is
#: :attr:`_Replay.FAR_RING`; the replay moves the center's clock): "at once" (before anything else happens),
#: "late" (it rings long enough for the customer the agent put on hold — or, single-step, is talking to — to
#: hang up first; it then answers, the agent alone with it) or "never" (nobody answers: the agent gives up and
#: goes back to the customer, or hangs up its own call; a number it conferences in gives up ringing by itself).
#: A call the agent places answers at once or never: nobody else is on the line to hang up while it rings,
#: so a late answer would be the same events as one at once
_FAR = ("at once", "late", "never")


def _choices(strategies: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """A dict of one value drawn from each strategy, in this order. (Not ``st.fixed_dictionaries``: it also
    draws an order for the keys, choices that mean nothing to a plan; without them a failing case shrinks to
    its one failing call more often — measured on a transfer, 18 of seeds 0..19 rather than 16.)"""
    keys = tuple(strategies)
    return st.tuples(*strategies.values()).map(lambda values: dict(zip(keys, values)))


def _flow_plan(flow: str) -> st.SearchStrategy[dict]:
    """The choices of one call of ``flow``, each list's first entry the simplest (Hypothesis shrinks to it);
    ``far`` (:data:`_FAR`) is what an external target does, ``answered`` what the other agent's phone does."""
    after = st.sampled_from([None, _AS.AGENT_STATE_WORK, _AS.AGENT_STATE_NOT_READY, _AS.AGENT_STATE_READY])
    target = st.sampled_from(["external", "agent"])
    holds = st.integers(0, 5)  # hold / retrieve steps: an odd number leaves the call held
    far = st.sampled_from(_FAR)
    if flow == "inbound":
        return _choices({"outcome": st.sampled_from(["answered", "answered", "not answered", "abandoned"]),
                         "holds": holds, "after": after, "releaser": st.sampled_from(["agent", "caller"])})
    if flow == "consult":
        return _choices({"target": target, "answered": st.booleans().map(lambda b: not b), "far": far,
                         "alternates": st.integers(0, 3), "after": after,
                         "releaser": st.sampled_from(["agent", "caller"])})
    if flow == "transfer":
        # (after a consultation the consulted party has answered: the ACD rules refuse a transfer to a
        # phone that still rings, ACD_TRANSFER_BAD_STATE)
        return _choices({"kind": st.sampled_from(["consult", "single-step"]), "target": target,
                         "far": far, "after": after})
    if flow == "conference":
        return _choices({"kind": st.sampled_from(["consult", "single-step"]), "target": target,
                         "far": far, "after": after,
                         "releaser": st.sampled_from(["agent", "caller", "added"])})
    if flow == "make_call":
        return _choices({"target": target, "answered": st.booleans().map(lambda b: not b),
                         "far": st.sampled_from(["at once", "never"]),
                         "holds": holds, "releaser": st.sampled_from(["agent", "far"])})
    if flow == "barge_in":
        return _choices({"after": after, "releaser": st.sampled_from(["agent", "caller", "supervisor"])})
    raise InvalidArgument(f"unknown flow {flow!r}")  # pragma: no cover - checked by event_sequences


class _Replay:
    """Plays drawn call flows through a :class:`~mockcti.center.ContactCenter` (pure; ``now`` advances one
    second a step) and keeps what the watched session is sent, confirmations left out (the agent works
    its phone: the desktop sees the events only): the watched agent's desktop (``view="agent"``) or a
    bridge-mode session opened before the agents' (``view="bridge"``)."""

    RING = 30.0  # ring_no_answer of the generated center
    FAR_RING = 10.0  # external_answer_delay of the generated center: how long an external number rings

    def __init__(self, dialect: Dialect, names: dict[str, str], csq: int, first_call_id: int,
                 view: str = "agent") -> None:
        from mockcti.center import AgentConfig, ContactCenter, CSQConfig, Subscription
        from mockcti.center.config import CenterConfig

        self.n = names
        #: the profile is ucce (ICM): a READY asked for while talking is the state after the call (:meth:`pending`)
        self.icm = dialect.profile.icm
        nr = _AS.AGENT_STATE_NOT_READY
        config = CenterConfig(
            agents=(AgentConfig(id=names["agent_id"], extension=names["agent"], instrument=names["agent"],
                                csqs=("Q",), team="T", state=nr),
                    AgentConfig(id=names["other_id"], extension=names["other"], instrument=names["other"],
                                team="T", state=nr),
                    AgentConfig(id=names["supervisor_id"], extension=names["supervisor"],
                                instrument=names["supervisor"], team="T", supervisor=True, state=nr)),
            csqs=(CSQConfig("Q", csq),), first_call_id=first_call_id, ring_no_answer=self.RING,
            external_answer_delay=self.FAR_RING)
        self.center = ContactCenter(config)
        self.now = 0.0
        self.invoke = 0
        self.events: list = []
        self.sid = {"agent": 1, "other": 2, "supervisor": 3}
        self.watched = self.sid["agent"]
        if view == "bridge":
            # ALL_EVENTS (bridge mode; no agent fields), every call event and agent state bit
            self.watched = 4
            res = self.center.open_session(Subscription(
                self.watched, "bridge", int(ServiceMask.CTI_SERVICE_ALL_EVENTS), 0xFFFFFF, 0xFFFF,
                version=dialect.version, client_id="mockcti-strategies-bridge", profile=dialect.profile), self.now)
            assert res.status == StatusCode.E_CTI_NO_ERROR, res
        for who, sid in self.sid.items():
            # CLIENT_EVENTS | CALL_DATA_UPDATE | CLIENT_CONTROL, and SUPERVISOR for the supervisor; every mask bit
            services = 0x7 | (0x80 if who == "supervisor" else 0)
            res = self.center.open_session(Subscription(
                sid, "agent", services, 0xFFFFFF, 0xFFFF, version=dialect.version, agent_id=names[f"{who}_id"],
                client_id=f"mockcti-strategies-{who}", profile=dialect.profile), self.now)
            assert res.status == StatusCode.E_CTI_NO_ERROR, res

    def _keep(self, deliveries: list) -> None:
        mine = self.watched
        self.events.extend(d.message for d in deliveries
                           if d.session_id == mine and not d.message.TYPE.name.endswith("_CONF"))

    def step(self) -> float:
        self.now += 1.0
        return self.now

    def req(self, who: str, cls: str, **kw: Any) -> None:
        from mockcti.wire import messages as WM

        self.invoke += 1
        out = self.center.handle(self.sid[who], getattr(WM, cls)(invoke_id=self.invoke, **kw), self.step())
        for d in out:  # a refusal means the flow is not one the center plays: a bug of this module
            if d.session_id == self.sid[who] and d.message.TYPE in (_M.FAILURE_CONF, _M.CONTROL_FAILURE_CONF):
                raise AssertionError(f"the center refused {cls} {kw}: {d.message}")  # pragma: no cover
        self._keep(out)

    def state(self, who: str, state: AgentState, reason: int = 0) -> None:
        self.req(who, "SetAgentStateReq", agent_state=int(state), event_reason_code=reason)

    def hang_up(self, call_id: int, device: str | None) -> None:
        if call_id in self.center.calls and (device is None or device in self.center.calls[call_id].legs):
            self._keep(self.center.hang_up(self.step(), call_id, device))

    def clean(self) -> None:
        """Every call still up ends (its outside parties hang up first, then the agents' phones), and the
        other agent and the supervisor are free for the next flow; the watched agent keeps its state."""
        for _ in range(8):  # a flow leaves at most two calls of at most four parties
            if not self.center.calls:
                return
            call = self.center.calls[min(self.center.calls)]
            legs = sorted(call.legs.values(), key=lambda lg: lg.agent is not None)
            if not legs:  # pragma: no cover - the center drops a call with its last party
                del self.center.calls[call.id]
                continue
            self.hang_up(call.id, legs[0].device)
        raise AssertionError(f"calls left after a flow: {sorted(self.center.calls)}")  # pragma: no cover

    # -- the watched agent's calls ---------------------------------------------------------------------

    def agent(self) -> Any:
        return self.center.agents[self.n["agent_id"]]

    def legs(self, who: str = "agent") -> list:
        return self.center.agent_call_legs(self.n[f"{who}_id"])

    def ready(self) -> None:
        if self.agent().state is not _AS.AGENT_STATE_READY:
            self.state("agent", _AS.AGENT_STATE_READY)

    def inbound(self) -> int:
        self.ready()
        call_id, out = self.center.deliver_call(self.step(), csq="Q", ani=self.n["caller"], dnis=self.n["trigger"])
        self._keep(out)
        return call_id

    def answer(self, who: str, call_id: int) -> None:
        self.req(who, "AnswerCallReq", call_id=call_id, connection_device_id=self.n[who])

    def holds(self, call_id: int, steps: int) -> None:
        for i in range(steps):
            if i % 2 == 0:
                self.req("agent", "HoldCallReq", call_id=call_id, connection_device_id=self.n["agent"])
            else:
                self.req("agent", "RetrieveCallReq", held_call_id=call_id, held_connection_device_id=self.n["agent"])

    def pending(self, after: AgentState | None) -> None:
        if after is None:
            return
        if after is _AS.AGENT_STATE_READY and not self.icm:
            # Unified CCX refuses a READY asked for while talking on an ACD call (CONTROL_FAILURE_CONF, which the
            # replay leaves out with every confirmation; ContactCenter._ready_refused): no event, the after-call
            # state as without it. The plan keeps the draw, so a shrunk case is the same under both profiles
            return
        self.state("agent", after)  # asked for while talking: the state after the call (§7.2)

    def held_and_active(self) -> tuple[int, int]:
        legs = self.legs()
        held = next(c.id for c, lg in legs if lg.state is _LCS.LCS_HOLD)
        active = next(c.id for c, lg in legs if c.id != held)
        return held, active

    def two_calls(self) -> dict[str, Any]:
        """The held and the active call of the agent's phone, as the two-call requests name them."""
        held, active = self.held_and_active()
        me = self.n["agent"]
        return dict(held_call_id=held, active_call_id=active, held_connection_device_id=me,
                    active_connection_device_id=me)

    def number(self, target: str) -> str:
        return self.n["other"] if target == "agent" else self.n["external"]

    def consult(self, call_id: int, target: str, answered: bool, far: str = "at once") -> int:
        self.req("agent", "ConsultCallReq", active_call_id=call_id, active_connection_device_id=self.n["agent"],
                 dialed_number=self.number(target))
        consult_id = max(c.id for c, _ in self.legs())
        if target == "agent" and answered:
            self.answer("other", consult_id)
        elif target == "external" and far == "at once":
            self.far_answers()
        return consult_id

    def far_answers(self) -> None:
        """The center's clock moves on by the ring time of an external number: the one ringing answers."""
        self.now += self.FAR_RING
        self._keep(self.center.tick(self.now))

    def far_late_or_never(self, call_id: int, consult_id: int, far: str, releaser: str) -> None:
        """An external consultation still ringing (``far`` "late" or "never"), then the rest of the flow:
        late, the customer on hold hangs up first, the number answers, and ``releaser`` ("agent", else the
        number) ends the consultation; never, the agent gives up and goes back to the customer, and
        ``releaser`` ("agent", else the customer) ends that call."""
        if far == "late":
            self.hang_up(call_id, None)
            self.far_answers()
            self.release(consult_id, "agent" if releaser == "agent" else "far")
        else:
            self.req("agent", "ReconnectCallReq", **self.two_calls())
            self.release(call_id, "agent" if releaser == "agent" else "caller")

    @staticmethod
    def far(p: dict) -> str:
        """What the flow's external target does (:data:`_FAR`); "at once" for another agent's phone."""
        return p.get("far", "at once") if p["target"] == "external" else "at once"

    def alternate(self) -> None:
        legs = self.legs()
        active = next(c.id for c, lg in legs if lg.state is _LCS.LCS_CONNECT)
        other = next(c.id for c, _ in legs if c.id != active)
        me = self.n["agent"]
        self.req("agent", "AlternateCallReq", active_call_id=active, other_call_id=other,
                 active_connection_device_id=me, other_connection_device_id=me)

    def release(self, call_id: int, releaser: str) -> None:
        device = {"agent": self.n["agent"], "caller": None, "far": None, "supervisor": self.n["supervisor"],
                  "added": None}[releaser]
        call = self.center.calls.get(call_id)
        if call is not None and releaser in ("far", "added"):
            device = next((d for d in call.legs if d not in (self.n["agent"], self.n["caller"])), None)
        self.hang_up(call_id, device)

    # -- the flows ---------------------------------------------------------------------------------------

    def play(self, flow: str, p: dict) -> None:
        getattr(self, "_" + flow)(p)
        self.clean()

    def _inbound(self, p: dict) -> None:
        call_id = self.inbound()
        if p["outcome"] == "not answered":  # ring-no-answer; the caller then gives up in the queue
            self._keep(self.center.tick(self.now + self.RING))
            self.now += self.RING
            return
        if p["outcome"] == "abandoned":
            return  # clean(): the caller hangs up while it rings
        self.answer("agent", call_id)
        self.pending(p["after"])
        self.holds(call_id, p["holds"])
        self.release(call_id, p["releaser"])

    def _answered_inbound(self, p: dict) -> int:
        call_id = self.inbound()
        self.answer("agent", call_id)
        self.pending(p["after"])
        return call_id

    def _consult(self, p: dict) -> None:
        call_id = self._answered_inbound(p)
        far = self.far(p)
        consult_id = self.consult(call_id, p["target"], p["answered"], far)
        if far != "at once":
            return self.far_late_or_never(call_id, consult_id, far, p["releaser"])
        if p["target"] == "external" or p["answered"]:
            for _ in range(p["alternates"]):
                self.alternate()
        self.req("agent", "ReconnectCallReq", **self.two_calls())
        self.release(call_id, p["releaser"])

    def _transfer(self, p: dict) -> None:
        call_id = self._answered_inbound(p)
        if p["kind"] == "single-step":
            self.req("agent", "TransferCallReq", active_call_id=call_id, held_call_id=_NO_ID,
                     active_connection_device_id=self.n["agent"], held_connection_device_type=0xFFFF,
                     dialed_number=self.number(p["target"]))
            return
        far = self.far(p)
        consult_id = self.consult(call_id, p["target"], True, far)
        if far != "at once":  # nobody to transfer the customer to (yet): no transfer
            return self.far_late_or_never(call_id, consult_id, far, "agent")
        self.req("agent", "TransferCallReq", **self.two_calls())

    def _conference(self, p: dict) -> None:
        call_id = self._answered_inbound(p)
        if p["kind"] == "single-step":
            self.req("agent", "ConferenceCallReq", active_call_id=call_id, held_call_id=_NO_ID,
                     active_connection_device_id=self.n["agent"], held_connection_device_type=0xFFFF,
                     dialed_number=self.number(p["target"]))
            if p["target"] == "agent":
                self.answer("other", call_id)
            elif self.far(p) == "at once":
                self.far_answers()
            elif self.far(p) == "late":  # the customer hangs up while the number rings; it answers the agent
                self.hang_up(call_id, None)
                self.far_answers()
                return self.release(call_id, "agent" if p["releaser"] == "agent" else "added")
            else:  # nobody answers: the number gives up ringing, the agent and the customer talk on
                self.hang_up(call_id, self.n["external"])
        else:
            far = self.far(p)
            consult_id = self.consult(call_id, p["target"], True, far)
            if far != "at once":  # nobody to conference in (yet): no conference
                return self.far_late_or_never(call_id, consult_id, far, p["releaser"])
            self.req("agent", "ConferenceCallReq", **self.two_calls())
        self.release(call_id, p["releaser"])

    def _make_call(self, p: dict) -> None:
        from mockcti.center.core import MAKE_CALL_STATES

        if self.agent().state not in MAKE_CALL_STATES:  # (READY: the agent takes ACD calls, it places none)
            self.state("agent", _AS.AGENT_STATE_NOT_READY)
        self.req("agent", "MakeCallReq", dialed_number=self.number(p["target"]))
        call_id = max(c.id for c, _ in self.legs())
        if p["target"] == "agent":
            if not p["answered"]:
                return  # clean(): the agent gives up while it rings there
            self.answer("other", call_id)
        elif self.far(p) == "never":
            self.release(call_id, "agent")  # nobody answers: the agent gives up while it rings
            return
        else:
            self.far_answers()
        self.holds(call_id, p["holds"])
        self.release(call_id, p["releaser"])

    def _barge_in(self, p: dict) -> None:
        call_id = self._answered_inbound(p)
        self.req("supervisor", "SuperviseCallReq", agent_call_id=call_id, supervisor_call_id=_NO_ID,
                 supervisor_connection_device_type=0xFFFF, supervisory_action=_SUPERVISOR_BARGE_IN,
                 agent_connection_device_id=self.n["agent"], agent_id=self.n["agent_id"])
        self.release(call_id, p["releaser"])


@st.composite
def _center_sequences(draw, dialect: Dialect, max_calls: int, flows: tuple[str, ...], view: str = "agent") -> list:
    from mockcti.wire import decode_bytes

    # the plan first, then the replay: every choice is drawn before the center plays it, so a shrunk
    # plan is still a plan the center can play (fewer calls, earlier flows, simpler choices)
    plans = draw(st.lists(st.sampled_from(flows).flatmap(lambda f: _flow_plan(f).map(lambda p: (f, p))),
                          min_size=1, max_size=max_calls))
    taken: set[str] = set()
    names = {k: _other_number(taken, draw(_digits)) for k in
             ("agent", "agent_id", "other", "other_id", "supervisor", "supervisor_id", "caller", "trigger", "external")}
    r = _Replay(dialect, names, draw(st.integers(1, 99)), draw(st.integers(1, 0x7FFF_0000)), view)
    first = plans[0][0]
    # the sequence opens with the agent's state (what a desktop knows the agent by): READY for a routed call,
    # NOT_READY (with a reason code of the administrator's) before a call it places
    reason = draw(st.integers(0, 999))  # drawn whatever the first flow: a shrunk plan keeps the same draws
    if first in _INBOUND_PARTS:
        r.ready()
    else:
        r.state("agent", _AS.AGENT_STATE_NOT_READY, reason)
    for flow, plan in plans:
        r.play(flow, plan)
    # what the client decodes: a field the dialect's version lacks is not sent
    return [decode_bytes(encode(m, dialect), dialect) for m in r.events]


# -- error codes ---------------------------------------------------------------------------------------


def error_codes(*, sources: Iterable[str] | None = None) -> st.SearchStrategy:
    """Entries of the error catalog (:func:`mockcti.catalog.default`), optionally of some sources only."""
    from mockcti.catalog import default
    cat = default()
    chosen = cat.sources() if sources is None else tuple([sources] if isinstance(sources, str) else sources)
    unknown = [s for s in chosen if s not in cat.sources()]
    if unknown or not chosen:
        raise InvalidArgument(f"sources must be a non-empty selection of {list(cat.sources())}; got {chosen!r}")
    entries = [e for s in chosen for e in cat.entries(s)]
    if not entries:
        raise InvalidArgument(f"the catalog has no entries for {chosen!r}")
    return st.sampled_from(entries)


for _mt, _cls in MESSAGE_CLASSES.items():
    st.register_type_strategy(_cls, from_message_type(_mt))
st.register_type_strategy(MalformedFrame, malformed_frames())
