"""Encode and decode messages: the fast path, and the plain-construct path that is its oracle.

Owns ``decode(frame, dialect)`` and ``encode(message, dialect)``. Both are derived from the
declarations in :mod:`mockcti.wire.spec`:

- the **fast path** compiles, per message type, protocol version and field widths, one
  ``struct.Struct`` for the fixed part (derived from the construct primitives with
  :func:`mockcti.wire.types.fixed_format`) and a tag table for the floating part; no construct
  code runs per message;
- the **construct path** (``decode_construct`` / ``encode_construct``) builds a construct
  ``Struct`` for the whole body from the same declarations and parses with it. It is slow and
  simple on purpose: the differential property tests prove that both paths produce identical
  bytes and identical messages for every message type in every dialect.

Decoding never raises anything but :class:`~mockcti.wire.errors.DecodeError`; encoding never
raises anything but :class:`~mockcti.wire.errors.EncodeError`.

Must import nothing from mockcti outside ``mockcti.wire``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from construct import (
    Bytes, Const, ConstructError, GreedyRange, Int8ub, Int16ub, Int32ub, Select, Struct, Terminated, this,
)

from .dialect import Dialect
from .enums import MessageType, StatusCode
from .errors import DecodeError, EncodeError
from .fastpath import build_decoder, build_encoder
from .spec import SPECS, FloatingField, Group, Message, MessageSpec, spec_for
from .types import (
    MAX_NAMED_DATA, NAMEDARRAY, NAMEDARRAY_MIN_LENGTH, NAMEDVAR, NAMEDVAR_MIN_LENGTH, STRING, NamedArray, NamedVariable,
    fixed_format,
)

__all__ = [
    "Frame", "decode", "decoder", "encode", "decode_construct", "encode_construct", "decode_bytes",
    "invoke_id_of", "HEADER", "spec_in",
]

HEADER = struct.Struct(">II")  # BodyLength (bytes after the header), MessageTypeID
_UINT = struct.Struct(">I")
_OPEN_REQ_TAIL = bytes(12)
_HEADER_CON = Struct("length" / Int32ub, "type" / Int32ub)  # OPEN_REQ Reserved1..3 when present (reference §5.1 notes)

S = StatusCode


class Frame(NamedTuple):
    """One complete message as cut from the byte stream: type number, body, stream offset."""

    type_id: int
    body: bytes
    offset: int = 0

    def to_bytes(self) -> bytes:
        return HEADER.pack(len(self.body), self.type_id) + self.body


def invoke_id_of(body: bytes) -> int | None:
    """The first UINT of a body, which is the InvokeID of every request (reference §7.1)."""
    return _UINT.unpack_from(body)[0] if len(body) >= 4 else None


def _open_req_dialect(body: bytes, dialect: Dialect) -> Dialect:
    """OPEN_REQ is decoded before any version is agreed: its own VersionNumber picks the widths."""
    if len(body) >= 8:
        version = _UINT.unpack_from(body, 4)[0]
        prof = dialect.profile
        clamped = min(max(version, prof.min_version), prof.max_version)
        return dialect.with_version(clamped) if clamped != dialect.version else dialect
    return dialect


# ---------------------------------------------------------------------------------------
# compiled layouts (the fast path)
# ---------------------------------------------------------------------------------------

# handler kinds in the tag table
_SIMPLE, _REPEATED, _GROUP = 0, 1, 2


@dataclass(slots=True)
class _Layout:
    spec: MessageSpec
    cls: type
    wire_id: int
    fixed_struct: struct.Struct
    fixed_attrs: tuple[str, ...]
    fixed_defaults: tuple[Any, ...]
    reserved_idx: tuple[int, ...]
    #: the reserved fixed fields ICM reserves too (Reserved1..3, ReservedV11, ...): the rest of ``reserved_idx`` are
    #: fields ICM defines (PeripheralID, MRDID, AgentWorkMode, ...), which an ICM client fills in
    icm_reserved_idx: tuple[int, ...]
    count_idx: tuple[tuple[int, str], ...]  # (index in fixed values, attr of the list it counts)
    tail_attrs: tuple[str, ...]  # OPEN_REQ's optional Reserved1..3
    tail_struct: struct.Struct | None
    #: fixed fields of a later protocol version (``since``): not on the wire, decoded as None
    absent_attrs: tuple[str, ...]
    handlers: dict[int, tuple]
    required: tuple[FloatingField, ...]
    groups: tuple[Group, ...]
    enc_items: tuple[tuple, ...]
    tag_width: int
    len_width: int
    version: int


def _tag_header(tag: int, length: int, tw: int, lw: int) -> bytes:
    if tw == 1:
        if lw == 1:
            return bytes((tag, length))
        return bytes((tag,)) + length.to_bytes(2, "big")
    if lw == 1:
        return tag.to_bytes(2, "big") + bytes((length,))
    return tag.to_bytes(2, "big") + length.to_bytes(2, "big")


def _field_ok_for(f: FloatingField, tw: int) -> bool:
    return tw == 2 or f.tag <= 0xFF


def spec_in(mt: MessageType, dialect: Dialect) -> MessageSpec:
    """The layout of ``mt`` in ``dialect``'s profile: the declaration with the tags the profile gives
    some fields (:meth:`~mockcti.wire.dialect.Profile.retag`; SNAPSHOT_DEVICE_CONF CallState is 61 under
    uccx, 75 under ucce). What the codec encodes and decodes with, compiled once per dialect."""
    return spec_for(mt, dialect.profile.retag(mt))


@lru_cache(maxsize=None)
def _layout(mt: MessageType, version: int, tw: int, lw: int, wire_id: int,
            retag: tuple[tuple[str, int], ...] = ()) -> _Layout:
    spec = spec_for(mt, retag)
    fixed = spec.fixed_for(version)
    tail = fixed[len(fixed) - spec.optional_tail:] if spec.optional_tail else ()
    head = fixed[: len(fixed) - len(tail)]
    fmt = ">" + "".join(fixed_format(f.con) for f in head)
    tail_struct = struct.Struct(">" + "".join(fixed_format(f.con) for f in tail)) if tail else None
    handlers: dict[int, tuple] = {}
    required = []
    enc_items = []

    def add_group(g: Group, path: tuple[Group, ...]) -> None:
        for m in g.members:
            if isinstance(m, Group):
                add_group(m, path + (m,))
            else:
                handlers.setdefault(m.tag, (_GROUP, m.attr, m.max_len, m.kind.size, m.kind.decode, path, m))

    for item in spec.floating:
        if isinstance(item, Group):
            add_group(item, (item,))
            enc_items.append((_GROUP, item))
        elif item.repeated:
            handlers.setdefault(item.tag, (_REPEATED, item.attr, item.max_len, None, item.kind.decode, None, item))
            enc_items.append((_REPEATED, item))
        else:
            handlers.setdefault(item.tag, (_SIMPLE, item.attr, item.max_len, item.kind.size, item.kind.decode, None, item))
            enc_items.append((_SIMPLE, item))
            if item.required:
                required.append(item)
    return _Layout(
        spec=spec, cls=spec.cls, wire_id=wire_id,
        fixed_struct=struct.Struct(fmt),
        fixed_attrs=tuple(f.attr for f in head),
        fixed_defaults=tuple(f.default for f in head),
        reserved_idx=tuple(i for i, f in enumerate(head) if f.reserved),
        icm_reserved_idx=tuple(i for i, f in enumerate(head) if f.reserved and f.name.lower().startswith("reserved")),
        count_idx=tuple((i, f.count_of) for i, f in enumerate(head) if f.count_of),
        tail_attrs=tuple(f.attr for f in tail),
        tail_struct=tail_struct,
        absent_attrs=tuple(f.attr for f in spec.fixed if f not in fixed),
        handlers=handlers,
        required=tuple(required),
        groups=tuple(i for i in spec.floating if isinstance(i, Group)),
        enc_items=tuple(enc_items),
        tag_width=tw, len_width=lw, version=version,
    )


def _layout_for(mt: MessageType, dialect: Dialect) -> _Layout:
    return _layout(mt, dialect.version, dialect.tag_width, dialect.length_width, dialect.profile.wire_id(mt),
                   dialect.profile.retag(mt))


def _build_groups(g: Group, instances: list[dict]) -> tuple:
    out = []
    for inst in instances:
        for m in g.members:
            if isinstance(m, Group) and m.attr in inst:
                inst[m.attr] = _build_groups(m, inst[m.attr])
        out.append(g.cls(**inst))
    return tuple(out)


def _place(state: dict, path: tuple[Group, ...], f: FloatingField, value: Any) -> None:
    """Put a group member in the right instance: a group's first tag, or a member repeated
    within the current instance, starts a new instance (member order matters, reference §2.2)."""
    top = path[0]
    insts = state.get(top.attr)
    if insts is None:
        insts = state[top.attr] = []
    if len(path) == 1:
        if not insts or f.tag == top.first_tag or f.attr in insts[-1]:
            insts.append({})
        insts[-1][f.attr] = value
        return
    if not insts:
        insts.append({})
    cur = insts[-1]
    for sub in path[1:]:
        subs = cur.get(sub.attr)
        if subs is None:
            subs = cur[sub.attr] = []
        if sub is path[-1]:
            if not subs or f.tag == sub.first_tag or f.attr in subs[-1]:
                subs.append({})
            subs[-1][f.attr] = value
            return
        if not subs:
            subs.append({})
        cur = subs[-1]


def _decode_body(lay: _Layout, body: bytes, strict: bool, type_id: int, icm: bool = False) -> Message:
    n = len(body)
    fsize = lay.fixed_struct.size
    if n < fsize:
        raise DecodeError(
            f"body of {n} bytes is shorter than the {fsize}-byte fixed part of {lay.spec.name}",
            status=S.E_CTI_UNSPECIFIED_FAILURE, offset=n, invoke_id=invoke_id_of(body), type_id=type_id,
            path=(lay.spec.name,))
    values = lay.fixed_struct.unpack_from(body)
    kw = dict(zip(lay.fixed_attrs, values))
    for a in lay.absent_attrs:  # a later version's fixed field: this message has none (not its default)
        kw[a] = None
    if strict:
        # (``icm``: the ucce profile checks only the fields ICM reserves too; a UCCX "reserved (ICM X)" field is
        # ICM's X there, which an ICM client fills in: its PeripheralID, its MRDID)
        for i in lay.icm_reserved_idx if icm else lay.reserved_idx:
            if values[i] != lay.fixed_defaults[i]:
                raise DecodeError(
                    f"reserved field {lay.fixed_attrs[i]} is {values[i]!r}, {'ICM' if icm else 'UCCX'} expects "
                    f"{lay.fixed_defaults[i]!r}",
                    status=S.E_CTI_INVALID_PERIPHERAL_ID, path=(lay.fixed_attrs[i],),
                    invoke_id=invoke_id_of(body), type_id=type_id)
    pos = fsize
    if lay.tail_struct is not None:
        tsize = lay.tail_struct.size
        if n >= pos + tsize and body[pos:pos + tsize] == _OPEN_REQ_TAIL:
            kw.update(zip(lay.tail_attrs, lay.tail_struct.unpack_from(body, pos)))
            pos += tsize
        else:
            for a in lay.tail_attrs:
                kw[a] = None
    handlers = lay.handlers
    tw, lw = lay.tag_width, lay.len_width
    hdr = tw + lw
    extras = []
    gstate: dict = {}
    named_total = 0
    while pos < n:
        start = pos
        if pos + hdr > n:
            raise DecodeError(f"truncated floating field header ({n - pos} of {hdr} bytes)",
                              status=S.E_CTI_UNSPECIFIED_FAILURE, offset=pos,
                              invoke_id=invoke_id_of(body), type_id=type_id)
        if hdr == 2:
            tag = body[pos]
            length = body[pos + 1]
        elif tw == 2 and lw == 2:
            tag = (body[pos] << 8) | body[pos + 1]
            length = (body[pos + 2] << 8) | body[pos + 3]
        elif tw == 2:
            tag = (body[pos] << 8) | body[pos + 1]
            length = body[pos + 2]
        else:
            tag = body[pos]
            length = (body[pos + 1] << 8) | body[pos + 2]
        pos += hdr
        end = pos + length
        if end > n:
            raise DecodeError(f"floating field tag {tag} claims {length} bytes but only {n - pos} remain",
                              status=S.E_CTI_UNSPECIFIED_FAILURE, offset=start,
                              invoke_id=invoke_id_of(body), type_id=type_id, path=(f"tag {tag}",))
        data = body[pos:end]
        pos = end
        h = handlers.get(tag)
        if h is None:
            extras.append((tag, data))
            continue
        kind, attr, max_len, size, dec, path, f = h
        if size is not None:
            if length != size:
                raise DecodeError(f"{f.name} (tag {tag}) has length {length}; a {f.kind.name} is {size} bytes",
                                  status=S.E_CTI_INVALID_FIELD_LENGTH, offset=start, path=(f.name,),
                                  invoke_id=invoke_id_of(body), type_id=type_id)
        elif length > max_len:
            raise DecodeError(f"{f.name} (tag {tag}) has {length} bytes; the maximum is {max_len}",
                              status=S.E_CTI_INVALID_FIELD_LENGTH, offset=start, path=(f.name,),
                              invoke_id=invoke_id_of(body), type_id=type_id)
        elif length == max_len and length and f.kind is STRING and data[-1]:
            raise DecodeError(_unterminated(f, tag, length), status=S.E_CTI_INVALID_FIELD_LENGTH, offset=start,
                              path=(f.name,), invoke_id=invoke_id_of(body), type_id=type_id)
        if kind == _SIMPLE:
            if attr in kw:  # a repeat of a single field: kept raw, not silently dropped
                extras.append((tag, data))
                continue
            kw[attr] = dec(data)
        elif kind == _GROUP:
            _place(gstate, path, f, dec(data))
        else:
            named_total += length
            try:
                value = dec(data)
            except ValueError as exc:
                raise DecodeError(f"{f.name} (tag {tag}): {exc}", status=S.E_CTI_INVALID_FIELD,
                                  offset=start, path=(f.name,), invoke_id=invoke_id_of(body),
                                  type_id=type_id) from None
            _check_named(value, f, start, body, type_id)
            least = NAMEDVAR_MIN_LENGTH if f.kind is NAMEDVAR else NAMEDARRAY_MIN_LENGTH
            if length < least:  # an empty name and an empty value: no variable (a malformed one answered above)
                raise DecodeError(f"{f.name} (tag {tag}) has {length} bytes; its FieldLength is at least {least} "
                                  f"(a VariableName or a VariableValue of one byte or more)",
                                  status=S.E_CTI_INVALID_FIELD_LENGTH, offset=start, path=(f.name,),
                                  invoke_id=invoke_id_of(body), type_id=type_id)
            lst = kw.get(attr)
            if lst is None:
                kw[attr] = [value]
            else:
                lst.append(value)
    if named_total > MAX_NAMED_DATA:
        raise DecodeError(f"NamedVariable/NamedArray data is {named_total} bytes; at most {MAX_NAMED_DATA}",
                          status=S.E_CTI_INVALID_FIELD_LENGTH, invoke_id=invoke_id_of(body),
                          type_id=type_id, path=("NamedVariable",))
    for f in lay.required:
        if f.attr not in kw:
            raise DecodeError(f"required floating field {f.name} (tag {f.tag}) is missing",
                              status=S.E_CTI_REQUIRED_DATA_MISSING, path=(f.name,),
                              invoke_id=invoke_id_of(body), type_id=type_id)
    for g in lay.groups:
        insts = gstate.get(g.attr)
        if insts:
            kw[g.attr] = _build_groups(g, insts)
    for item in lay.enc_items:
        if item[0] == _REPEATED:
            a = item[1].attr
            if a in kw and isinstance(kw[a], list):
                kw[a] = tuple(kw[a])
    for i, attr in lay.count_idx:
        # a count that matches its list is implied (None); a mismatch is kept, so a round trip is lossless
        if values[i] == len(kw.get(attr, ())):
            kw[lay.fixed_attrs[i]] = None
    if extras:
        kw["extra_fields"] = tuple(extras)
    return lay.cls(**kw)


def _unterminated(f: FloatingField, tag: int, length: int) -> str:
    """A STRING at its maximum without the NUL the maximum counts (reference §1): its text is one byte
    longer than the field can carry, so the value could not be sent on (in an event) as it came."""
    return (f"{f.name} (tag {tag}) has {length} bytes without the terminating NUL; the maximum is "
            f"{f.max_len} with the NUL, so at most {f.max_len - 1} bytes of text")


def _check_named(value: NamedVariable | NamedArray, f: FloatingField, start: int, body: bytes, type_id: int) -> None:
    if len(value.name.encode("utf-8", "surrogateescape")) + 1 > 33 or \
            len(value.value.encode("utf-8", "surrogateescape")) + 1 > 211:
        raise DecodeError(f"{f.name}: VariableName must be <= 33 and VariableValue <= 211 bytes (with NUL)",
                          status=S.E_CTI_INVALID_FIELD_LENGTH, offset=start, path=(f.name,),
                          invoke_id=invoke_id_of(body), type_id=type_id)


def decode(frame: Frame, dialect: Dialect) -> Message:
    """Decode one frame into a frozen message dataclass (the fast path).

    Unknown floating tags (and repeats of single fields) are kept in ``extra_fields`` so that a
    round trip is lossless; whether they are acceptable is the session's decision. OPEN_REQ is
    decoded with the widths its own VersionNumber implies.
    """
    type_id = frame.type_id
    body = frame.body
    cache = dialect._decoders  # type: ignore[attr-defined]
    entry = cache.get(type_id)
    if entry is None:
        mt = dialect.profile.message_type(type_id)
        if mt is None or mt not in SPECS:
            raise DecodeError(f"message type {type_id} is not part of the {dialect.profile.name} protocol",
                              status=S.E_CTI_INVALID_MESSAGE_TYPE, invoke_id=invoke_id_of(body), type_id=type_id)
        fn = None if mt is MessageType.OPEN_REQ else _decoder(mt, dialect.version, dialect.tag_width,
                                                               dialect.length_width, dialect.profile.retag(mt))
        entry = cache[type_id] = (mt, fn)
    mt, fn = entry
    if fn is None:  # OPEN_REQ: one decoder per VersionNumber
        d = _open_req_dialect(body, dialect)
        key = (type_id, d.version)
        fn = cache.get(key)
        if fn is None:
            fn = cache[key] = _decoder(mt, d.version, d.tag_width, d.length_width, d.profile.retag(mt))
        dialect = d
    if not dialect.strict:
        try:
            return fn(body)
        except Exception:  # irregular input: the generic path gives the precise DecodeError
            pass
    try:
        return _decode_body(_layout_for(mt, dialect), body, dialect.strict, type_id, dialect.profile.icm)
    except DecodeError as exc:
        _profile_status(exc, dialect)
        raise


def _profile_status(exc: DecodeError, dialect: Dialect) -> None:
    """A body that cannot be cut (shorter than its fixed part, a floating field past BodyLength, §2.3)
    gets the profile's status: UCCX's E_CTI_UNSPECIFIED_FAILURE, ICM's E_CTI_BAD_MESSAGE_FORMAT."""
    if exc.status is S.E_CTI_UNSPECIFIED_FAILURE:
        exc.status = dialect.profile.status("bad_format")


def decoder(mt: MessageType, dialect: Dialect):
    """The compiled decoder :func:`decode` uses for ``mt`` in ``dialect``: ``body -> message`` for
    regular input; on anything irregular it raises (not always a DecodeError), and decode() then
    takes the generic path for the precise DecodeError. Not for OPEN_REQ (decoded with the widths
    of its own VersionNumber) nor a strict dialect (decode() checks reserved fields there)."""
    if mt is MessageType.OPEN_REQ or dialect.strict:
        raise ValueError(f"decode() does not use a dialect's compiled decoder for {mt.name} / a strict dialect")
    return _decoder(mt, dialect.version, dialect.tag_width, dialect.length_width, dialect.profile.retag(mt))


@lru_cache(maxsize=None)
def _decoder(mt: MessageType, version: int, tw: int, lw: int, retag: tuple[tuple[str, int], ...] = ()):
    return build_decoder(spec_for(mt, retag), version, tw, lw, _place, _build_groups)


@lru_cache(maxsize=None)
def _encoder(mt: MessageType, version: int, tw: int, lw: int, wire_id: int,
             retag: tuple[tuple[str, int], ...] = ()):
    return build_encoder(spec_for(mt, retag), version, tw, lw, wire_id, _enc_value)


def decode_bytes(data: bytes, dialect: Dialect) -> Message:
    """Decode one complete message (header included)."""
    if len(data) < HEADER.size:
        raise DecodeError("fewer than 8 bytes: no message header", status=S.E_CTI_UNSPECIFIED_FAILURE, offset=0)
    length, type_id = HEADER.unpack_from(data)
    if len(data) - HEADER.size != length:
        raise DecodeError(f"BodyLength says {length} bytes but {len(data) - HEADER.size} follow the header",
                          status=S.E_CTI_UNSPECIFIED_FAILURE, offset=0, type_id=type_id)
    return decode(Frame(type_id, bytes(data[HEADER.size:])), dialect)


# -- encoding ---------------------------------------------------------------------------


def _enc_value(f: FloatingField, value: Any, tw: int, lw: int, out: list) -> None:
    if tw == 1 and f.tag > 0xFF:
        raise EncodeError(f"{f.name} (tag {f.tag}) needs 2-byte tags (protocol version 18+)", path=(f.name,))
    try:
        data = f.kind.encode(value)
    except (struct.error, TypeError, AttributeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"{f.name}: cannot encode {value!r} as {f.kind.name}: {exc}",
                          status=S.E_CTI_INVALID_FIELD, path=(f.name,)) from None
    n = len(data)
    if f.kind.size is None and n > f.max_len:
        raise EncodeError(f"{f.name} is {n} bytes; the maximum is {f.max_len}",
                          status=S.E_CTI_INVALID_FIELD_LENGTH, path=(f.name,))
    if n > (0xFF if lw == 1 else 0xFFFF):
        raise EncodeError(f"{f.name} is {n} bytes; a {lw}-byte length cannot carry it",
                          status=S.E_CTI_INVALID_FIELD_LENGTH, path=(f.name,))
    out.append(_tag_header(f.tag, n, tw, lw))
    out.append(data)


def _enc_group(g: Group, instances: tuple, tw: int, lw: int, out: list, version: int = 0xFFFF) -> None:
    for inst in instances:
        for m in g.members:
            v = getattr(inst, m.attr)
            if isinstance(m, Group):
                _enc_group(m, v, tw, lw, out, version)
            elif v is not None and m.exists_in(version, tw):
                _enc_value(m, v, tw, lw, out)


def _encode_body(lay: _Layout, msg: Message) -> bytes:
    vals = [getattr(msg, a) for a in lay.fixed_attrs]
    for i, attr in lay.count_idx:
        if vals[i] is None:
            vals[i] = len(getattr(msg, attr))
    try:
        parts = [lay.fixed_struct.pack(*vals)]
    except struct.error as exc:
        bad = _first_bad_fixed(lay, vals)
        raise EncodeError(f"{lay.spec.name}: fixed field {bad} does not fit: {exc}",
                          status=S.E_CTI_INVALID_FIELD, path=(bad,)) from None
    if lay.tail_struct is not None:
        tail = [getattr(msg, a) for a in lay.tail_attrs]
        if all(v is not None for v in tail):
            parts.append(lay.tail_struct.pack(*tail))
    tw, lw = lay.tag_width, lay.len_width
    named = 0
    for kind, f in lay.enc_items:
        v = getattr(msg, f.attr)
        if kind == _SIMPLE and not f.exists_in(lay.version, tw):
            continue  # the field does not exist in this protocol version (tag width): not sent
        if kind == _SIMPLE:
            if v is None:
                if f.required:
                    raise EncodeError(f"{lay.spec.name}: required floating field {f.name} is missing",
                                      status=S.E_CTI_REQUIRED_DATA_MISSING, path=(f.name,))
                continue
            _enc_value(f, v, tw, lw, parts)
        elif kind == _REPEATED:  # NamedVariable / NamedArray: at most 2,000 bytes of them (reference §1)
            for item in v:
                _enc_value(f, item, tw, lw, parts)
                named += len(parts[-1])
            if named > MAX_NAMED_DATA:
                raise EncodeError(f"{lay.spec.name}: NamedVariable/NamedArray data is {named} bytes; "
                                  f"at most {MAX_NAMED_DATA}", status=S.E_CTI_INVALID_FIELD_LENGTH, path=(f.name,))
        else:
            _enc_group(f, v, tw, lw, parts, lay.version)
    for tag, data in msg.extra_fields:
        if tw == 1 and tag > 0xFF or lw == 1 and len(data) > 0xFF:
            raise EncodeError(f"extra field tag {tag} ({len(data)} bytes) does not fit {tw}-byte tags and "
                              f"{lw}-byte lengths", path=(f"tag {tag}",))
        parts.append(_tag_header(tag, len(data), tw, lw))
        parts.append(data)
    return b"".join(parts)


def _first_bad_fixed(lay: _Layout, vals: list) -> str:
    for attr, fmtc, v in zip(lay.fixed_attrs, _fmt_chars(lay.fixed_struct.format), vals):
        try:
            struct.pack(">" + fmtc, v)
        except struct.error:
            return attr
    return "?"


def _fmt_chars(fmt: str) -> list[str]:
    import re
    return re.findall(r"\d*[a-zA-Z?]", fmt.lstrip("<>=!@"))


def _version_dialect(dialect: Dialect, version: int) -> Dialect:
    prof = dialect.profile
    return dialect.with_version(min(max(version, prof.min_version), prof.max_version))


def encode(msg: Message, dialect: Dialect) -> bytes:
    """Encode a message into bytes (header included), for the given dialect.

    Floating fields that do not exist in the dialect (``FloatingField.exists_in``: a later version's,
    or one whose tag needs the 2-byte tags the dialect lacks) are not sent.
    OPEN_REQ is encoded with the widths of its own VersionNumber.
    """
    # The dialect's cache is keyed by the message class: one C-level lookup on the hot path
    # (reading ``msg.TYPE`` and comparing it with ``MessageType.OPEN_REQ`` cost more than that).
    fn = dialect._encoders.get(type(msg))  # type: ignore[attr-defined]
    if fn is None:  # not compiled yet, or an OPEN_REQ
        fn = _encoder_for(msg, dialect)
    try:
        return fn(msg)
    except Exception:  # something irregular: the generic path raises the precise EncodeError
        pass
    mt = msg.TYPE
    d = _version_dialect(dialect, msg.version_number) if mt is _OPEN_REQ else dialect  # type: ignore[attr-defined]
    lay = _layout_for(mt, d)
    body = _encode_body(lay, msg)
    return HEADER.pack(len(body), lay.wire_id) + body


_OPEN_REQ = MessageType.OPEN_REQ  # a global: reading an enum member off its class is slow
_SET_WIRE = Message.__dict__["_wire"].__set__


def encode_shared(msg: Message, dialect: Dialect) -> bytes:
    """:func:`encode`, remembering the bytes on the message, for up to four dialects.

    One event goes to many sessions (the agents on a call, every bridge — maybe of other protocol
    versions) and the center reuses the AGENT_STATE_EVENTs of states an agent has had: messages are
    immutable, so the bytes encoded for a dialect stay right for as long as the message lives, and
    live exactly as long. ``_wire`` holds ``(dialect, bytes, dialect, bytes, ...)``, the latest
    first. A message copied or unpickled (no ``_wire`` slot value) is encoded afresh.
    """
    try:
        wire = msg._wire
    except AttributeError:
        wire = None
    if wire is not None:
        if wire[0] is dialect:
            return wire[1]
        for i in range(2, len(wire), 2):
            if wire[i] is dialect:
                return wire[i + 1]
    fn = dialect._encoders.get(type(msg))  # type: ignore[attr-defined]  # encode()'s fast path, inline
    if fn is None:
        data = encode(msg, dialect)
    else:
        try:
            data = fn(msg)
        except Exception:  # something irregular: encode() raises the precise EncodeError
            data = encode(msg, dialect)
    _SET_WIRE(msg, (dialect, data) + wire[:6] if wire is not None else (dialect, data))
    return data


def _encoder_for(msg: Message, dialect: Dialect):
    """The compiled encoder of ``msg`` in ``dialect``, kept in the dialect's cache.

    OPEN_REQ is encoded with the widths of its own VersionNumber: its encoders are cached under
    ``(OPEN_REQ, VersionNumber)``, never under its class (it is sent once per connection).
    """
    mt = msg.TYPE
    cache = dialect._encoders  # type: ignore[attr-defined]
    if mt is _OPEN_REQ:
        key = (mt, msg.version_number)  # type: ignore[attr-defined]  # (an OPEN_REQ)
        fn = cache.get(key)
        if fn is None:
            d = _version_dialect(dialect, msg.version_number)  # type: ignore[attr-defined]
            fn = cache[key] = _encoder(mt, d.version, d.tag_width, d.length_width, d.profile.wire_id(mt),
                                       d.profile.retag(mt))
        return fn
    fn = cache[type(msg)] = _encoder(mt, dialect.version, dialect.tag_width, dialect.length_width,
                                     dialect.profile.wire_id(mt), dialect.profile.retag(mt))
    return fn


# ---------------------------------------------------------------------------------------
# the plain construct path (the oracle)
# ---------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _construct_for(mt: MessageType, version: int, tw: int, lw: int, retag: tuple[tuple[str, int], ...] = ()):
    """The whole body as one construct Struct. OPEN_REQ gets a Select: first the 44-byte form
    (Reserved1..3 must be the 12 zero bytes), else the 32-byte form."""
    spec = spec_for(mt, retag)
    fixed = spec.fixed_for(version)
    tail = fixed[len(fixed) - spec.optional_tail:] if spec.optional_tail else ()
    head = fixed[: len(fixed) - len(tail)]
    tlv = Struct("tag" / (Int8ub if tw == 1 else Int16ub), "length" / (Int8ub if lw == 1 else Int16ub),
                 "data" / Bytes(this.length))
    parts = [f.attr / f.con for f in head]
    without_tail = Struct(*parts, "floating" / GreedyRange(tlv), Terminated)
    if not tail:
        return spec, head, tail, without_tail, None
    with_tail = Struct(*parts, "tail" / Const(_OPEN_REQ_TAIL), "floating" / GreedyRange(tlv), Terminated)
    return spec, head, tail, Select(with_tail, without_tail), (with_tail, without_tail)


def _oracle_fields(spec: MessageSpec) -> dict[int, tuple]:
    table: dict[int, tuple] = {}

    def walk(items, path):
        for it in items:
            if isinstance(it, Group):
                walk(it.members, path + (it,))
            else:
                table.setdefault(it.tag, (it, path))

    walk(spec.floating, ())
    return table


def decode_construct(frame: Frame, dialect: Dialect) -> Message:
    """Decode with construct only (slow; the oracle for the fast path)."""
    mt = dialect.profile.message_type(frame.type_id)
    if mt is None or mt not in SPECS:
        raise DecodeError(f"message type {frame.type_id} is not part of the {dialect.profile.name} protocol",
                          status=S.E_CTI_INVALID_MESSAGE_TYPE, type_id=frame.type_id)
    if mt is MessageType.OPEN_REQ:
        dialect = _open_req_dialect(frame.body, dialect)
    spec, head, tail, con, _ = _construct_for(mt, dialect.version, dialect.tag_width, dialect.length_width,
                                              dialect.profile.retag(mt))
    try:
        parsed = con.parse(frame.body)
    except ConstructError as exc:
        raise DecodeError(f"construct: {exc}", status=dialect.profile.status("bad_format"),
                          type_id=frame.type_id) from None
    kw: dict[str, Any] = {f.attr: parsed[f.attr] for f in head}
    kw.update({f.attr: None for f in spec.fixed if f not in head and f not in tail})  # a later version's
    if tail:
        kw.update({f.attr: (0 if "tail" in parsed else None) for f in tail})
    table = _oracle_fields(spec)
    extras = []
    groups: dict[str, list] = {}
    for tlv in parsed.floating:
        tag, data = tlv.tag, tlv.data
        entry = table.get(tag)
        if entry is None:
            extras.append((tag, bytes(data)))
            continue
        f, path = entry
        if f.kind.size is not None and len(data) != f.kind.size or f.kind.size is None and len(data) > f.max_len:
            raise DecodeError(f"{f.name}: bad length {len(data)}", status=S.E_CTI_INVALID_FIELD_LENGTH, path=(f.name,))
        if f.kind is STRING and len(data) == f.max_len and data and data[-1]:
            raise DecodeError(_unterminated(f, tag, len(data)), status=S.E_CTI_INVALID_FIELD_LENGTH, path=(f.name,))
        try:
            value = f.kind.con.parse(data)
        except ConstructError as exc:
            raise DecodeError(f"{f.name}: {exc}", status=S.E_CTI_INVALID_FIELD, path=(f.name,)) from None
        if not path:
            if f.repeated:
                kw.setdefault(f.attr, []).append(value)
            elif f.attr in kw:
                extras.append((tag, bytes(data)))
            else:
                kw[f.attr] = value
            continue
        # group member: walk down, opening a new instance at a group's first member or a repeat
        level = groups.setdefault(path[0].attr, [])
        for depth, g in enumerate(path):
            last = depth == len(path) - 1
            if last:
                if not level or f.tag == g.members[0].tag or f.attr in level[-1]:
                    level.append({})
                level[-1][f.attr] = value
            else:
                if not level:
                    level.append({})
                level = level[-1].setdefault(path[depth + 1].attr, [])
    for f in spec.floating:
        if isinstance(f, FloatingField) and f.required and f.attr not in kw:
            raise DecodeError(f"required floating field {f.name} missing", status=S.E_CTI_REQUIRED_DATA_MISSING,
                              path=(f.name,))
        if isinstance(f, FloatingField) and f.repeated and f.attr in kw:
            kw[f.attr] = tuple(kw[f.attr])

    def build(g: Group, insts: list) -> tuple:
        objs = []
        for inst in insts:
            for m in g.members:
                if isinstance(m, Group) and m.attr in inst:
                    inst[m.attr] = build(m, inst[m.attr])
            objs.append(g.cls(**inst))
        return tuple(objs)

    for g in spec.floating:
        if isinstance(g, Group) and g.attr in groups:
            kw[g.attr] = build(g, groups[g.attr])
    for f in head:
        if f.count_of and kw[f.attr] == len(kw.get(f.count_of, ())):
            kw[f.attr] = None
    if extras:
        kw["extra_fields"] = tuple(extras)
    return spec.cls(**kw)


def encode_construct(msg: Message, dialect: Dialect) -> bytes:
    """Encode with construct only (slow; the oracle for the fast path)."""
    mt = msg.TYPE
    if mt is MessageType.OPEN_REQ:
        dialect = dialect.with_version(min(max(msg.version_number, dialect.profile.min_version),  # type: ignore[attr-defined]
                                           dialect.profile.max_version))
    spec, head, tail, con, variants = _construct_for(mt, dialect.version, dialect.tag_width, dialect.length_width,
                                                     dialect.profile.retag(mt))
    obj: dict[str, Any] = {}
    for f in head:
        v = getattr(msg, f.attr)
        if v is None and f.count_of:
            v = len(getattr(msg, f.count_of))
        obj[f.attr] = v
    if tail:
        tv = [getattr(msg, f.attr) for f in tail]
        if all(v is not None for v in tv):
            if any(tv):
                raise EncodeError("OPEN_REQ Reserved1..3 must be 0 (or all absent)", path=("Reserved1",))
            con = variants[0]
        else:
            con = variants[1]
    tlvs = []

    def add(f: FloatingField, value: Any) -> None:
        data = f.kind.con.build(value)
        tlvs.append({"tag": f.tag, "length": len(data), "data": data})

    def add_group(g: Group, insts: tuple) -> None:
        for inst in insts:
            for m in g.members:
                v = getattr(inst, m.attr)
                if isinstance(m, Group):
                    add_group(m, v)
                elif v is not None and m.exists_in(dialect.version, dialect.tag_width):
                    add(m, v)

    for item in spec.floating:
        if isinstance(item, Group):
            add_group(item, getattr(msg, item.attr))
        elif item.repeated:
            for v in getattr(msg, item.attr):
                add(item, v)
        else:
            v = getattr(msg, item.attr)
            if v is not None and item.exists_in(dialect.version, dialect.tag_width):
                add(item, v)
    for tag, data in msg.extra_fields:
        tlvs.append({"tag": tag, "length": len(data), "data": data})
    obj["floating"] = tlvs
    try:
        body = con.build(obj)
    except ConstructError as exc:
        raise EncodeError(f"construct: {exc}") from None
    return _HEADER_CON.build({"length": len(body), "type": dialect.profile.wire_id(mt)}) + body
