"""Generated per-message decoders and encoders: the hot path of the codec.

Owns the code generation that turns the declarations of :mod:`mockcti.wire.spec` into one
straight-line Python function per (message type, protocol version, tag width, length width):
one precompiled ``struct`` for the fixed part (derived from the construct primitives), an
``if``/``elif`` tag table for the floating part, inline string and integer conversion, and
precomputed tag/length prefixes for encoding (repeated groups, nested ones included, are written
out the same way). This is the same technique ``dataclasses`` and
``attrs`` use for ``__init__``: no interpreter runs per message.

The generated functions only implement the *happy path*: on any irregularity they raise
:class:`Irregular`, and the caller (:mod:`mockcti.wire.codec`) re-runs the message through the
generic table-driven implementation, which produces the precise ``DecodeError`` /
``EncodeError`` (field path, offset, status). Both must agree on every valid message; the
differential property tests check it, together with the construct oracle.

Must import nothing from mockcti outside ``mockcti.wire``.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any, Callable

from .records import building_twin
from .spec import FloatingField, Group, MessageSpec
from .types import (
    MAX_NAMED_DATA, NAMEDARRAY, NAMEDARRAY_MIN_LENGTH, NAMEDVAR, NAMEDVAR_MIN_LENGTH, NUMERIC_KINDS, STRING, UNSPEC,
    fixed_format,
)

__all__ = ["Irregular", "build_decoder", "build_encoder"]


class Irregular(Exception):
    """The fast path met something it does not handle; use the generic path."""


_IRREGULAR = Irregular()


def _header_bytes(tag: int, length: int | None, tw: int, lw: int) -> bytes:
    t = tag.to_bytes(tw, "big")
    return t if length is None else t + length.to_bytes(lw, "big")


def _split(spec: MessageSpec, version: int):
    fixed = spec.fixed_for(version)
    tail = fixed[len(fixed) - spec.optional_tail:] if spec.optional_tail else ()
    head = fixed[: len(fixed) - len(tail)]
    return head, tail


def build_decoder(spec: MessageSpec, version: int, tw: int, lw: int,
                  place: Callable, build_groups: Callable) -> Callable[[bytes], Any]:
    """A function ``body -> message`` for the happy path (raises :class:`Irregular` otherwise)."""
    head, tail = _split(spec, version)
    ns: dict[str, Any] = {
        "_cls": spec.cls, "_IRR": _IRREGULAR, "_place": place, "_build": build_groups,
        "_fixed": struct.Struct(">" + "".join(fixed_format(f.con) for f in head)).unpack_from,
        "_Z": bytes(12),
    }
    fsize = struct.calcsize(">" + "".join(fixed_format(f.con) for f in head))
    hv = [f"h{i}" for i in range(len(head))]
    lines = [
        "def _dec(body):",
        "    n = len(body)",
        f"    if n < {fsize}: raise _IRR",
        f"    {', '.join(hv)}{',' if len(hv) == 1 else ''} = _fixed(body)" if hv else "    pass",
        f"    pos = {fsize}",
    ]
    if tail:
        tfmt = ">" + "".join(fixed_format(f.con) for f in tail)
        ns["_tail"] = struct.Struct(tfmt).unpack_from
        tsize = struct.calcsize(tfmt)
        ns["_Z"] = bytes(tsize)
        tv = [f"t{i}" for i in range(len(tail))]
        lines += [
            f"    if n >= pos + {tsize} and body[pos:pos + {tsize}] == _Z:",
            f"        {', '.join(tv)}{',' if len(tv) == 1 else ''} = _tail(body, pos)",
            f"        pos += {tsize}",
            "    else:",
            f"        {' = '.join(tv)} = None",
        ]
    simple: list[FloatingField] = []
    repeated: list[FloatingField] = []
    group_members: list[tuple[FloatingField, tuple[Group, ...]]] = []

    def walk(items, path):
        for it in items:
            if isinstance(it, Group):
                walk(it.members, path + (it,))
            elif path:
                group_members.append((it, path))
            elif it.repeated:
                repeated.append(it)
            else:
                simple.append(it)

    walk(spec.floating, ())
    for i, f in enumerate(simple):
        lines.append(f"    f{i} = None")
    if repeated:
        lines.append("    named = 0")
    for i, f in enumerate(repeated):
        lines.append(f"    r{i} = None")
    if group_members:
        lines.append("    gs = {}")
    lines.append("    extras = None")
    hdr = tw + lw
    lines.append("    while pos < n:")
    lines.append(f"        if pos + {hdr} > n: raise _IRR")
    if tw == 1:
        lines.append("        tag = body[pos]")
    else:
        lines.append("        tag = (body[pos] << 8) | body[pos + 1]")
    if lw == 1:
        lines.append(f"        ln = body[pos + {tw}]")
    else:
        lines.append(f"        ln = (body[pos + {tw}] << 8) | body[pos + {tw + 1}]")
    lines.append(f"        pos += {hdr}")
    lines.append("        end = pos + ln")
    lines.append("        if end > n: raise _IRR")
    kw = "if"
    seen_tags: set[int] = set()

    def value_code(f: FloatingField, var: str, indent: str) -> list[str]:
        k = f.kind
        if k is STRING:
            # the maximum counts the NUL (reference §1): a string sent without it (accepted, §1) has at most
            # max - 1 bytes, or the value could not be sent on again (one comparison for a shorter field)
            return [f"{indent}if ln >= {f.max_len} and (ln > {f.max_len} or body[end - 1]): raise _IRR",
                    f"{indent}{var} = (body[pos:end - 1] if ln and body[end - 1] == 0 else body[pos:end])"
                    f".decode('utf-8', 'surrogateescape')"]
        if k is UNSPEC:
            return [f"{indent}if ln > {f.max_len}: raise _IRR", f"{indent}{var} = bytes(body[pos:end])"]
        name = f"_n{f.tag}_{k.name}"
        ns[name] = struct.Struct(k.con.fmtstr).unpack_from
        return [f"{indent}if ln != {k.size}: raise _IRR", f"{indent}{var}, = {name}(body, pos)"]

    for i, f in enumerate(simple):
        if f.tag in seen_tags:
            continue
        seen_tags.add(f.tag)
        lines.append(f"        {kw} tag == {f.tag}:")
        lines.append(f"            if f{i} is not None: raise _IRR")
        lines += value_code(f, f"f{i}", "            ")
        kw = "elif"
    for i, f in enumerate(repeated):
        if f.tag in seen_tags:
            continue
        seen_tags.add(f.tag)
        ns[f"_R{i}"] = f.kind.decode
        lines.append(f"        {kw} tag == {f.tag}:")
        least = NAMEDVAR_MIN_LENGTH if f.kind is NAMEDVAR else NAMEDARRAY_MIN_LENGTH
        lines.append(f"            if ln > {f.max_len} or ln < {least}: raise _IRR")
        lines.append("            named += ln")
        lines.append(f"            v = _R{i}(body[pos:end])")
        if f.kind is NAMEDVAR:
            lines.append("            if len(v.name.encode()) > 32 or len(v.value.encode()) > 210: raise _IRR")
        else:
            lines.append("            if len(v.name.encode()) > 32 or len(v.value.encode()) > 210: raise _IRR")
        lines.append(f"            if r{i} is None: r{i} = [v]")
        lines.append(f"            else: r{i}.append(v)")
        kw = "elif"
    for j, (f, path) in enumerate(group_members):
        if f.tag in seen_tags:
            continue
        seen_tags.add(f.tag)
        ns[f"_P{j}"] = path
        ns[f"_F{j}"] = f
        lines.append(f"        {kw} tag == {f.tag}:")
        lines += value_code(f, "v", "            ")
        lines.append(f"            _place(gs, _P{j}, _F{j}, v)")
        kw = "elif"
    if kw == "if":
        lines.append("        if True:")
        lines.append("            extras = (extras or []) + [(tag, bytes(body[pos:end]))]")
    else:
        lines.append("        else:")
        lines.append("            if extras is None: extras = []")
        lines.append("            extras.append((tag, bytes(body[pos:end])))")
    lines.append("        pos = end")
    if repeated:
        lines.append("    if named > 2000: raise _IRR")
    for i, f in enumerate(simple):
        if f.required:
            lines.append(f"    if f{i} is None: raise _IRR")
    # counts: a count that matches its list is implied (None)
    args = []
    counts = {f.attr: f.count_of for f in head if f.count_of}
    list_expr: dict[str, str] = {}
    for i, f in enumerate(repeated):
        list_expr[f.attr] = f"r{i}"
    groups = [g for g in spec.floating if isinstance(g, Group)]
    for gi, g in enumerate(groups):
        ns[f"_G{gi}"] = g
        lines.append(f"    g{gi} = _build(_G{gi}, gs[{g.attr!r}]) if {g.attr!r} in gs else ()" if group_members
                     else f"    g{gi} = ()")
        list_expr[g.attr] = f"g{gi}"
    for i, f in enumerate(head):
        if f.count_of:
            lst = list_expr.get(f.count_of)
            if lst is None:
                args.append(f"{f.attr}=h{i}")
                continue
            lines.append(f"    c{i} = None if h{i} == len({lst} or ()) else h{i}")
            args.append(f"{f.attr}=c{i}")
        else:
            args.append(f"{f.attr}=h{i}")
    for i, f in enumerate(tail):
        args.append(f"{f.attr}=t{i}")
    for fx in spec.fixed:  # a later protocol version's fixed field: not in this message, None (not its default)
        if fx not in head and fx not in tail:
            args.append(f"{fx.attr}=None")
    done = set()
    for i, f in enumerate(simple):
        if f.attr in done:
            continue
        done.add(f.attr)
        args.append(f"{f.attr}=f{i}")
    for i, f in enumerate(repeated):
        if f.attr in done:
            continue
        done.add(f.attr)
        args.append(f"{f.attr}=tuple(r{i}) if r{i} else ()")
    for gi, g in enumerate(groups):
        args.append(f"{g.attr}=g{gi}")
    args.append("extra_fields=tuple(extras) if extras else ()")
    # Build the frozen slotted instance as its plain twin (records.building_twin: plain attribute
    # stores, then the class change): several times faster than __init__ with keywords, and the
    # result is the same object (no __post_init__).
    exprs = dict(a.split("=", 1) for a in args)
    ns["_N"] = object.__new__
    ns["_T"] = building_twin(spec.cls)
    lines.append("    o = _N(_T)")
    for i, fld in enumerate(dataclasses.fields(spec.cls)):
        expr = exprs.get(fld.name)
        if expr is None:
            ns[f"_V{i}"] = fld.default
            expr = f"_V{i}"
        lines.append(f"    o.{fld.name} = {expr}")
    lines.append("    o._wire = None")  # no encoding remembered yet (codec.encode_shared)
    lines.append("    o.__class__ = _cls")
    lines.append("    return o")
    src = "\n".join(lines)
    exec(compile(src, f"<mockcti decode {spec.name} v{version} {tw}{lw}>", "exec"), ns)
    fn = ns["_dec"]
    fn.__source__ = src  # for debugging: print(fn.__source__)
    return fn


def build_encoder(spec: MessageSpec, version: int, tw: int, lw: int, wire_id: int,
                  enc_value: Callable) -> Callable[[Any], bytes]:
    """A function ``message -> bytes`` (header included) for the happy path.

    Simple fields, repeated fields (NamedVariable/NamedArray) and groups (nested ones too) are
    all written out inline: a numeric field is one ``struct`` pack of tag, length and value (the
    tag and length are literals in the source), a run of numeric group members that are all set
    is one pack for the whole run, and a variable-length field appends a precomputed tag+length
    prefix and its bytes. Group instances are read by attribute, exactly like ``_enc_group``;
    members that do not exist in ``version`` (``FloatingField.exists_in``) are not sent, ``None``
    members are omitted. Whatever the generic path would reject (a set member whose tag needs
    2-byte tags, a value over its maximum length, a value ``struct`` cannot pack) raises :class:`Irregular` or
    fails inside ``struct``, and the caller re-encodes the message on the generic path, which
    raises the precise ``EncodeError``. ``enc_value`` (the generic path's) is called only for the
    one case not written out, a repeated field whose tag does not fit the tag width.
    """
    head, tail = _split(spec, version)
    fmt = ">" + "".join(fixed_format(f.con) for f in head)
    ns: dict[str, Any] = {
        "_IRR": _IRREGULAR, "_fixed": struct.Struct(fmt).pack, "_hdr": struct.Struct(">II").pack,
        "_enc_value": enc_value, "_join": b"".join,
    }
    lines = ["def _enc(m):"]
    args = []
    for i, f in enumerate(head):
        if f.count_of:
            lines.append(f"    c{i} = m.{f.attr}")
            lines.append(f"    if c{i} is None: c{i} = len(m.{f.count_of})")
            args.append(f"c{i}")
        else:
            args.append(f"m.{f.attr}")
    lines.append(f"    parts = [_fixed({', '.join(args)})]")
    lines.append("    ap = parts.append")
    if tail:
        tfmt = ">" + "".join(fixed_format(f.con) for f in tail)
        ns["_tail"] = struct.Struct(tfmt).pack
        tv = ", ".join(f"m.{f.attr}" for f in tail)
        lines.append(f"    if {' and '.join(f'm.{f.attr} is not None' for f in tail)}:")
        lines.append(f"        parts.append(_tail({tv}))")
    fixed_end = len(lines)  # where the floating part starts
    max_len = 0xFF if lw == 1 else 0xFFFF
    # struct codes of a floating field header: the tag and the length, each 1 or 2 bytes
    hdr_codes = ("B" if tw == 1 else "H") + ("B" if lw == 1 else "H")

    def in_version(f: FloatingField) -> bool:
        return f.exists_in(version, tw)

    def tag_fits(f: FloatingField) -> bool:
        return tw == 2 or f.tag <= 0xFF

    def packer(fields: list[FloatingField]) -> str:
        """The name of a ``struct`` pack function for ``header value`` of each numeric field,
        named after its format (``_pBBL`` packs a 1-byte tag, a 1-byte length and a UINT)."""
        codes = "".join(hdr_codes + fixed_format(f.kind.con) for f in fields)
        name = f"_p{codes}"
        if name not in ns:
            ns[name] = struct.Struct(">" + codes).pack
        return name

    def numeric_args(f: FloatingField, var: str) -> str:
        return f"{f.tag}, {f.kind.size}, {var}"

    def variable(f: FloatingField, ind: str) -> list[str]:
        """Lines that append the header and the bytes of variable-length value ``v``."""
        k = f.kind
        if k is STRING:  # the inline form of types._str_encode
            conv = "v.encode('utf-8', 'surrogateescape') + b'\\x00'"
        elif k is UNSPEC:
            conv = "bytes(v)"
        else:  # NAMEDVAR / NAMEDARRAY: the kind's own converter
            ns[f"_E{k.name}"] = k.encode
            conv = f"_E{k.name}(v)"
        out = [f"{ind}b = {conv}", f"{ind}ln = len(b)", f"{ind}if ln > {min(f.max_len, max_len)}: raise _IRR"]
        if lw == 1:  # a table of tag+length prefixes, one per possible length
            ns[f"_T{f.tag}"] = tuple(_header_bytes(f.tag, n, tw, lw) for n in range(256))
            out.append(f"{ind}ap(_T{f.tag}[ln])")
        else:
            ns[f"_T{f.tag}"] = _header_bytes(f.tag, None, tw, lw)
            out.append(f"{ind}ap(_T{f.tag} + ln.to_bytes(2, 'big'))")
        out.append(f"{ind}ap(b)")
        return out

    def member(f: FloatingField, src: str, ind: str) -> list[str]:
        """An optional field read from ``src`` (``m.x`` or ``i0.x``): sent unless None."""
        out = [f"{ind}v = {src}", f"{ind}if v is not None:"]
        if f.kind.size is not None:
            return out + [f"{ind}    ap({packer([f])}({numeric_args(f, 'v')}))"]
        return out + variable(f, ind + "    ")

    def group(g: Group, src: str, depth: int, ind: str) -> list[str]:
        """Lines that encode every instance of ``g`` found in ``src``, members in declaration order."""
        it = f"i{depth}"
        out = [f"{ind}for {it} in {src}:  # {g.cls.__name__}"]
        ind += "    "
        body_start = len(out)
        run: list[FloatingField] = []  # consecutive numeric members, packed together when all are set

        def flush() -> None:
            if len(run) == 1:
                out.extend(member(run[0], f"{it}.{run[0].attr}", ind))
            elif run:
                vs = [f"v{n}" for n in range(len(run))]
                out.append(f"{ind}{', '.join(vs)} = {', '.join(f'{it}.{f.attr}' for f in run)}")
                out.append(f"{ind}if {' and '.join(f'{v} is not None' for v in vs)}:")
                out.append(f"{ind}    ap({packer(run)}({', '.join(numeric_args(f, v) for f, v in zip(run, vs))}))")
                out.append(f"{ind}else:  # some are None: those are omitted")
                for f, v in zip(run, vs):
                    out.append(f"{ind}    if {v} is not None: ap({packer([f])}({numeric_args(f, v)}))")
            run.clear()

        for mem in g.members:
            if isinstance(mem, Group):
                flush()
                out.extend(group(mem, f"{it}.{mem.attr}", depth + 1, ind))
            elif not in_version(mem):
                continue  # the member does not exist in this protocol version: not sent
            elif not tag_fits(mem):
                flush()  # the generic path refuses it (EncodeError) when it is set
                out.append(f"{ind}if {it}.{mem.attr} is not None: raise _IRR  # tag {mem.tag} needs 2-byte tags")
            elif mem.kind.size is not None:
                run.append(mem)
            else:
                flush()
                out.extend(member(mem, f"{it}.{mem.attr}", ind))
        flush()
        if len(out) == body_start:
            out.append(f"{ind}pass")
        return out

    seen: set[str] = set()
    for j, item in enumerate(spec.floating):
        if isinstance(item, Group):
            # ``or ()``: an empty (or None) group sends nothing, as before
            lines.extend(group(item, f"m.{item.attr} or ()", 0, "    "))
            continue
        if item.repeated:
            if item.attr in seen:
                continue
            seen.add(item.attr)
            if tag_fits(item):
                if not any(ln.strip() == "named = 0" for ln in lines):
                    lines.append("    named = 0")
                lines.append(f"    for v in m.{item.attr}:")
                lines.extend(variable(item, "        "))
                lines.append("        named += ln")
                # at most 2,000 bytes of NamedVariable/NamedArray data per message (reference §1)
                lines.append(f"    if named > {MAX_NAMED_DATA}: raise _IRR")
            else:  # every value is refused by the generic path: let it say why
                ns[f"_F{j}"] = item
                lines.append(f"    for v in m.{item.attr}: _enc_value(_F{j}, v, {tw}, {lw}, parts)")
            continue
        if not in_version(item):
            # the field does not exist in this version (FloatingField.exists_in: a field of a later
            # version, or one with a tag above 255 in a dialect of 1-byte tags, UCCE v18/v19's
            # ActiveTerminal): not sent, as on the generic path
            continue
        if not tag_fits(item):
            # a set field whose tag needs 2-byte tags, of a message that has no meaning with 1-byte
            # tags (CONFIG_TERMINAL_EVENT below v18): the generic path raises the EncodeError
            lines.append(f"    if m.{item.attr} is not None: raise _IRR")
            continue
        if item.required:
            lines.append(f"    v = m.{item.attr}")
            lines.append("    if v is None: raise _IRR")
            if item.kind.size is not None:
                lines.append(f"    ap({packer([item])}({numeric_args(item, 'v')}))")
            else:
                lines.extend(variable(item, "    "))
        else:
            lines.extend(member(item, f"m.{item.attr}", "    "))
    if len(lines) == fixed_end and not tail and not any(f.count_of for f in head):
        # nothing floating in this version (most confirmations: InvokeID only): when no unknown tags
        # ride along, the header and the fixed part are one pack
        fixed_size = struct.calcsize(fmt)
        ns["_whole"] = struct.Struct(">II" + fmt[1:]).pack
        lines.insert(1, "    if not m.extra_fields:")
        lines.insert(2, f"        return _whole({fixed_size}, {wire_id}{''.join(', ' + a for a in args)})")
    lines.append("    for tag, data in m.extra_fields:")
    lines.append(f"        if tag > {0xFF if tw == 1 else 0xFFFF} or len(data) > {max_len}: raise _IRR")
    lines.append(f"        parts.append(tag.to_bytes({tw}, 'big') + len(data).to_bytes({lw}, 'big') + data)")
    lines.append("    body = _join(parts)")
    lines.append(f"    return _hdr(len(body), {wire_id}) + body")
    src = "\n".join(lines)
    exec(compile(src, f"<mockcti encode {spec.name} v{version} {tw}{lw}>", "exec"), ns)
    fn = ns["_enc"]
    fn.__source__ = src
    return fn
