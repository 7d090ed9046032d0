"""Faster construction of frozen slotted dataclasses (messages, deliveries, ACD requests).

A leaf module: it imports nothing from mockcti, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_frozen_init"]

_T = TypeVar("_T")


def fast_frozen_init(cls: type[_T], slots: dict[str, Any] | None = None) -> type[_T]:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through its slot
    descriptor instead of ``object.__setattr__`` (what dataclasses generates for frozen classes):
    the same signature (keyword-only or not, as declared) and defaults, the same resulting object,
    about half the cost. Messages and deliveries are built on every call-flow step, events with up
    to 51 fields (bench/README.md). A class decorator; fields need plain defaults or none.

    ``slots``: slots that are not fields (declared by a base class), set to these values as well."""
    fields_ = dataclasses.fields(cls)
    if not cls.__dataclass_params__.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_frozen_init needs a frozen dataclass with slots=True")
    ns: dict[str, Any] = {}
    positional, keyword, body = [], [], []
    for i, f in enumerate(fields_):
        if f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_frozen_init needs a plain default")
        param = f.name
        if f.default is not dataclasses.MISSING:
            ns[f"_d{i}"] = f.default
            param = f"{f.name}=_d{i}"
        (keyword if f.kw_only else positional).append(param)
        ns[f"_s{i}"] = cls.__dict__[f.name].__set__
        body.append(f"    _s{i}(self, {f.name})")
    for j, (name, value) in enumerate((slots or {}).items()):
        ns[f"_x{j}"], ns[f"_xv{j}"] = _slot_setter(cls, name), value
        body.append(f"    _x{j}(self, _xv{j})")
    params = ["self", *positional, *(["*", *keyword] if keyword else [])]
    src = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(compile(src, f"<mockcti init {cls.__name__}>", "exec"), ns)
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


def _slot_setter(cls: type, name: str) -> Any:
    for base in cls.__mro__:
        d = base.__dict__.get(name)
        if d is not None and type(d).__name__ == "member_descriptor":
            return d.__set__
    raise TypeError(f"{cls.__name__} has no slot {name!r}")
