"""Generated per-message decoders and encoders: the hot path of the codec.

Owns the code generation that turns the declarations of :mod:`mockcti.wire.spec` into one
straight-line Python function per (message type, protocol version, tag width, length width):
one precompiled ``struct`` for the fixed part (derived from the construct primitives), an
``if``/``elif`` tag table for the floating part, inline string and integer conversion, and
precomputed tag/length prefixes for encoding. This is the same technique ``dataclasses`` and
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

from .spec import FloatingField, Group, MessageSpec
from .types import NAMEDARRAY, NAMEDVAR, NUMERIC_KINDS, STRING, UNSPEC, fixed_format

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
            return [f"{indent}if ln > {f.max_len}: raise _IRR",
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
        lines.append(f"            if ln > {f.max_len}: raise _IRR")
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
    # Build the frozen slotted instance through its slot descriptors: about five times faster
    # than calling __init__ with keywords, and the result is the same object (no __post_init__).
    exprs = dict(a.split("=", 1) for a in args)
    ns["_N"] = object.__new__
    lines.append("    o = _N(_cls)")
    for i, fld in enumerate(dataclasses.fields(spec.cls)):
        ns[f"_D{i}"] = spec.cls.__dict__[fld.name].__set__
        expr = exprs.get(fld.name)
        if expr is None:
            ns[f"_V{i}"] = fld.default
            expr = f"_V{i}"
        lines.append(f"    _D{i}(o, {expr})")
    lines.append("    return o")
    src = "\n".join(lines)
    exec(compile(src, f"<mockcti decode {spec.name} v{version} {tw}{lw}>", "exec"), ns)
    fn = ns["_dec"]
    fn.__source__ = src  # for debugging: print(fn.__source__)
    return fn


def build_encoder(spec: MessageSpec, version: int, tw: int, lw: int, wire_id: int,
                  enc_group: Callable, enc_value: Callable) -> Callable[[Any], bytes]:
    """A function ``message -> bytes`` (header included) for the happy path."""
    head, tail = _split(spec, version)
    fmt = ">" + "".join(fixed_format(f.con) for f in head)
    ns: dict[str, Any] = {
        "_IRR": _IRREGULAR, "_fixed": struct.Struct(fmt).pack, "_hdr": struct.Struct(">II").pack,
        "_enc_group": enc_group, "_enc_value": enc_value, "_join": b"".join,
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
    max_len = 0xFF if lw == 1 else 0xFFFF

    def fits(f: FloatingField) -> bool:
        return (f.since is None or version >= f.since) and (tw == 2 or f.tag <= 0xFF)

    seen: set[str] = set()
    for j, item in enumerate(spec.floating):
        if isinstance(item, Group):
            ns[f"_G{j}"] = item
            lines.append(f"    if m.{item.attr}: _enc_group(_G{j}, m.{item.attr}, {tw}, {lw}, parts, {version})")
            continue
        if item.repeated:
            if item.attr in seen:
                continue
            seen.add(item.attr)
            ns[f"_F{j}"] = item
            lines.append(f"    for v in m.{item.attr}: _enc_value(_F{j}, v, {tw}, {lw}, parts)")
            continue
        if not fits(item):
            continue
        k = item.kind
        lines.append(f"    v = m.{item.attr}")
        if item.required:
            lines.append("    if v is None: raise _IRR")
            ind = "    "
        else:
            lines.append("    if v is not None:")
            ind = "        "
        if k is STRING or k is UNSPEC:
            ns[f"_T{j}"] = _header_bytes(item.tag, None, tw, lw)
            conv = "v.encode('utf-8', 'surrogateescape') + b'\\x00'" if k is STRING else "bytes(v)"
            lines.append(f"{ind}b = {conv}")
            lines.append(f"{ind}ln = len(b)")
            lines.append(f"{ind}if ln > {min(item.max_len, max_len)}: raise _IRR")
            if lw == 1:  # a table of tag+length prefixes, one per possible length
                ns[f"_T{j}"] = tuple(_header_bytes(item.tag, n, tw, lw) for n in range(256))
                lines.append(f"{ind}ap(_T{j}[ln])")
            else:
                lines.append(f"{ind}ap(_T{j} + ln.to_bytes(2, 'big'))")
            lines.append(f"{ind}ap(b)")
        else:
            ns[f"_T{j}"] = _header_bytes(item.tag, k.size, tw, lw)
            ns[f"_P{j}"] = struct.Struct(k.con.fmtstr).pack
            lines.append(f"{ind}ap(_T{j})")
            lines.append(f"{ind}ap(_P{j}(v))")
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
