"""Wire data types, named as in the guide (reference §1 "Data types").

Owns: the construct primitives for fixed fields (``UINT``, ``USHORT`` …) and the *kinds* of
floating field data (``STRING``, ``UNSPEC``, numeric, ``NAMEDVAR``, ``NAMEDARRAY``). Every
kind carries its construct declaration — the one declaration of the format, used by the plain
construct path and as the test oracle — plus the small pure-Python converters the fast path
derives from it.

Must not import anything from mockcti outside ``mockcti.wire``; construct is allowed here
(and only in ``mockcti.wire``).

All integers are big-endian and nothing is padded (guide: "alignment of data elements").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable

from construct import (
    Adapter,
    Bytes,
    Construct,
    CString,
    FormatField,
    GreedyBytes,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int32ub,
    Struct,
)

__all__ = [
    "CHAR", "UCHAR", "SHORT", "USHORT", "INT", "UINT", "BOOL", "TIME", "UNSPEC_FIXED",
    "Kind", "STRING", "UNSPEC", "NAMEDVAR", "NAMEDARRAY", "NUMERIC_KINDS",
    "NamedVariable", "NamedArray", "fixed_format", "MAX_NAMED_DATA", "fit_string",
]

# -- fixed-part primitives (reference §1) ------------------------------------------------
CHAR = Int8sb
UCHAR = Int8ub
SHORT = Int16sb
USHORT = Int16ub
INT = Int32sb
UINT = Int32ub
#: a USHORT: 0 = FALSE, 1 = TRUE; its own object (not Int16ub itself), so a field declared BOOL can be told from
#: a USHORT one (a scenario's ``unified_ccx_online: true``), though both encode alike
BOOL = FormatField(">", "H")
TIME = Int32ub  # seconds since 1970-01-01 UTC


def UNSPEC_FIXED(n: int) -> Construct:
    """Raw bytes in the fixed part (only TEAM_CONFIG_* carry one: UNSPEC(8))."""
    return Bytes(n)


def fixed_format(con: Construct) -> str:
    """The ``struct`` format character(s) equivalent to a fixed-field construct.

    This is how the fast path is *derived* from the construct declarations: a fixed part is a
    run of FormatFields and Bytes, each of which maps to one struct code.
    """
    fmt = getattr(con, "fmtstr", None)
    if fmt is not None:  # FormatField, e.g. '>L'
        return fmt.lstrip("<>=!@")
    if type(con).__name__ == "Bytes" and isinstance(con.length, int):
        return f"{con.length}s"
    raise TypeError(f"no struct equivalent for fixed field type {con!r}")


# -- floating data kinds ----------------------------------------------------------------

# Lenient strings (reference §1 string rules): encode UTF-8 + one NUL; decode strips one
# trailing NUL if present and accepts strings without it. Undecodable bytes survive a round
# trip through 'surrogateescape' rather than failing the whole message.


def _str_decode(data: bytes) -> str:
    if data[-1:] == b"\x00":
        data = data[:-1]
    return data.decode("utf-8", "surrogateescape")


def _str_encode(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape") + b"\x00"


def fit_string(value: str, max_len: int) -> str:
    """``value`` cut, on a character boundary, to the longest prefix a STRING field of ``max_len``
    bytes can carry (its UTF-8 bytes plus the NUL; reference §1: the maximum counts bytes, NUL
    included). For texts the server writes itself (a FAILURE_CONF's Text quoting what a client
    sent): a STRING over its maximum cannot be encoded at all."""
    if len(value) < max_len // 4:  # at most 4 bytes a character: fits whatever the characters
        return value
    room = max_len - 1
    used = 0
    for i, ch in enumerate(value):
        used += len(ch.encode("utf-8", "surrogateescape"))
        if used > room:
            return value[:i]
    return value


class _LenientString(Adapter):
    def _decode(self, obj, context, path):
        return _str_decode(obj)

    def _encode(self, obj, context, path):
        return _str_encode(obj)


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedVariable:
    """A NAMEDVAR floating field (tag 82): an ECC variable. Name <= 33 bytes, value <= 211 (incl. NUL)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedArray:
    """A NAMEDARRAY floating field (tag 83): one element of an ECC array variable."""

    index: int
    name: str
    value: str


# all NamedVariable + NamedArray fields of one message together (reference §1)
MAX_NAMED_DATA = 2000
NAMEDVAR_NAME_MAX = 33
NAMEDVAR_VALUE_MAX = 211
#: the smallest FieldLength of a NAMEDVAR / NAMEDARRAY field: the UCCX NAMEDVARIABLE and NAMEDARRAY data format
#: pages, "The value of this field may range from 3 to 251" (VariableName and VariableValue with their NULs) and
#: "from 4 to 252" (with VariableIndex): a name or a value of at least one byte
NAMEDVAR_MIN_LENGTH = 3
NAMEDARRAY_MIN_LENGTH = 4


def _namedvar_decode(data: bytes) -> NamedVariable:
    name, sep, rest = data.partition(b"\x00")
    if not sep:
        raise ValueError("NAMEDVAR without the NUL that ends VariableName")
    return NamedVariable(name=_str_decode(name), value=_str_decode(rest))


def _named_parts(name: str, value: str) -> bytes:
    """VariableName and VariableValue, each NUL-terminated, within their limits (reference §1)."""
    n, val = _str_encode(name), _str_encode(value)
    if len(n) > NAMEDVAR_NAME_MAX or len(val) > NAMEDVAR_VALUE_MAX:
        raise ValueError(f"VariableName is {len(n)} and VariableValue {len(val)} bytes with their NULs; "
                         f"at most {NAMEDVAR_NAME_MAX} and {NAMEDVAR_VALUE_MAX}")
    return n + val


def _namedvar_encode(v: NamedVariable) -> bytes:
    return _named_parts(v.name, v.value)


def _namedarray_decode(data: bytes) -> NamedArray:
    if not data:
        raise ValueError("NAMEDARRAY without VariableIndex")
    name, sep, rest = data[1:].partition(b"\x00")
    if not sep:
        raise ValueError("NAMEDARRAY without the NUL that ends VariableName")
    return NamedArray(index=data[0], name=_str_decode(name), value=_str_decode(rest))


def _namedarray_encode(v: NamedArray) -> bytes:
    return bytes((v.index,)) + _named_parts(v.name, v.value)


class _NamedVarAdapter(Adapter):
    def _decode(self, obj, context, path):
        return NamedVariable(name=obj.name, value=obj.value)

    def _encode(self, obj, context, path):
        return {"name": obj.name, "value": obj.value}


class _NamedArrayAdapter(Adapter):
    def _decode(self, obj, context, path):
        return NamedArray(index=obj.index, name=obj.name, value=obj.value)

    def _encode(self, obj, context, path):
        return {"index": obj.index, "name": obj.name, "value": obj.value}


@dataclass(frozen=True, slots=True)
class Kind:
    """The type of a floating field's data.

    ``con`` is the construct declaration of the data bytes (the oracle); ``size`` is the
    natural size of numeric kinds (their floating length must equal it, reference §2.3);
    ``decode``/``encode`` are the fast-path converters derived for the same format.
    """

    name: str
    con: Construct
    size: int | None
    py_type: type
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    min_value: int | None = None
    max_value: int | None = None


def _numeric(name: str, con: Construct, signed: bool) -> Kind:
    size = con.sizeof()
    st = struct.Struct(con.fmtstr)
    bits = size * 8
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def decode(data: bytes, _unpack=st.unpack) -> int:
        return _unpack(data)[0]

    return Kind(name, con, size, int, decode, st.pack, lo, hi)


STRING = Kind("STRING", _LenientString(GreedyBytes), None, str, _str_decode, _str_encode)
UNSPEC = Kind("UNSPEC", GreedyBytes, None, bytes, bytes, bytes)
NAMEDVAR = Kind(
    "NAMEDVAR",
    _NamedVarAdapter(Struct("name" / CString("utf8"), "value" / CString("utf8"))),
    None, NamedVariable, _namedvar_decode, _namedvar_encode,
)
NAMEDARRAY = Kind(
    "NAMEDARRAY",
    _NamedArrayAdapter(Struct("index" / Int8ub, "name" / CString("utf8"), "value" / CString("utf8"))),
    None, NamedArray, _namedarray_decode, _namedarray_encode,
)

NUMERIC_KINDS: dict[str, Kind] = {
    "CHAR": _numeric("CHAR", CHAR, True),
    "UCHAR": _numeric("UCHAR", UCHAR, False),
    "SHORT": _numeric("SHORT", SHORT, True),
    "USHORT": _numeric("USHORT", USHORT, False),
    "INT": _numeric("INT", INT, True),
    "UINT": _numeric("UINT", UINT, False),
    "BOOL": _numeric("BOOL", BOOL, False),
    "TIME": _numeric("TIME", TIME, False),
}
