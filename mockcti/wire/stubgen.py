"""Writes ``mockcti/wire/messages.pyi``, the type stub of the generated message classes.

The message and group classes of :mod:`mockcti.wire.messages` are made at import time from the
declarations in :mod:`mockcti.wire.spec` (``dataclasses.make_dataclass``), so a type checker reading
the package (which ships ``py.typed``) sees none of them: ``from mockcti.wire.messages import
AgentStateEvent`` was "module has no attribute" under mypy, and every field of a received message was
unknown. The stub declares each class with its fields, their types (a group's tuple with its element
class) and its keyword-only constructor, from the same declarations; ``tests/wire/test_message_stub.py``
fails when the committed stub differs from what this module renders, so a change of the spec comes
with its stub. Run ``python -m mockcti.wire.stubgen`` to rewrite it.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from pathlib import Path

from .spec import GROUP_CLASSES, MESSAGE_CLASSES, Group
from .types import NAMEDVAR

STUB_PATH = Path(__file__).with_name("messages.pyi")

_HEADER = '''\
# Type stub of mockcti/wire/messages.py, whose classes are generated at import time from
# mockcti/wire/spec.py. Written by `python -m mockcti.wire.stubgen`: do not edit by hand
# (tests/wire/test_message_stub.py checks it is current).
from dataclasses import dataclass
from typing import ClassVar

from .enums import MessageType
from .spec import Message as Message
from .spec import MessageSpec
from .types import NamedArray as NamedArray
from .types import NamedVariable as NamedVariable

def by_name(name: str) -> type[Message]: ...
'''


def _type_text(tp: object) -> str:
    """``int``, ``str | None`` … for a field's runtime annotation."""
    if isinstance(tp, str):
        return tp
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return " | ".join(_type_text(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__name__
    raise TypeError(f"no stub text for the annotation {tp!r}")


def _element_types(cls: type) -> dict[str, str]:
    """The element class of each tuple field of a message class, from its spec: a group's class,
    NamedVariable / NamedArray for the repeated named fields, ``(tag, bytes)`` for extra_fields."""
    out = {"extra_fields": "tuple[int, bytes]"}
    spec = getattr(cls, "SPEC", None)
    items = spec.floating if spec is not None else ()
    for it in items:
        if isinstance(it, Group):
            out[it.attr] = it.cls.__name__
        elif it.repeated:
            out[it.attr] = "NamedVariable" if it.kind is NAMEDVAR else "NamedArray"
    return out


def _group_element_types(cls: type) -> dict[str, str]:
    """The element class of a group class's nested groups (found in any message that uses it)."""
    out: dict[str, str] = {}

    def walk(items: tuple) -> None:
        for it in items:
            if isinstance(it, Group):
                if it.cls is cls:
                    out.update({m.attr: m.cls.__name__ for m in it.members if isinstance(m, Group)})
                walk(it.members)

    for mcls in MESSAGE_CLASSES.values():
        walk(mcls.SPEC.floating)
    return out


def _class_text(cls: type, base: str, elements: dict[str, str]) -> str:
    lines = ["@dataclass(frozen=True, kw_only=True)", f"class {cls.__name__}{base}:"]
    if base:
        lines += ["    TYPE: ClassVar[MessageType]", "    SPEC: ClassVar[MessageSpec]"]
    for f in dataclasses.fields(cls):
        text = _type_text(f.type)
        if text == "tuple":
            if f.name not in elements:
                raise TypeError(f"{cls.__name__}.{f.name}: a tuple field whose element type is unknown")
            text = f"tuple[{elements[f.name]}, ...]"
        lines.append(f"    {f.name}: {text} = ...")
    return "\n".join(lines)


def render() -> str:
    """The text of ``messages.pyi`` for the classes the spec declares now."""
    parts = [_HEADER]
    for name in sorted(GROUP_CLASSES):
        cls = GROUP_CLASSES[name]
        parts.append(_class_text(cls, "", _group_element_types(cls)))
    for cls in sorted(MESSAGE_CLASSES.values(), key=lambda c: c.__name__):
        parts.append(_class_text(cls, "(Message)", _element_types(cls)))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the stub (``--check``: exit 1, writing nothing, when the committed one is not current)."""
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if argv == ["--check"]:
        current = STUB_PATH.read_text(encoding="utf-8") if STUB_PATH.exists() else ""
        if current != text:
            print(f"{STUB_PATH} is not current: run python -m mockcti.wire.stubgen", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m mockcti.wire.stubgen [--check]", file=sys.stderr)
        return 2
    STUB_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {STUB_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
