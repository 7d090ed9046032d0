"""Faster construction of frozen slotted dataclasses (messages, deliveries, ACD requests).

Two ways, both giving exactly the object the dataclass would build: a generated ``__init__`` that
stores each field through its slot descriptor (frozen dataclasses go through ``object.__setattr__``),
and for wide classes and the decoders, a plain *building twin* with the same slots that is filled
with ordinary attribute stores and then given the frozen class (:func:`building_twin`).

A leaf module: it imports nothing from mockcti, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

__all__ = ["fast_frozen_init", "building_twin"]

_T = TypeVar("_T")
_TWINS: dict[type, type] = {}
#: from this many fields on, __init__ builds through the twin (two class swaps, then plain stores);
#: below it, one slot-descriptor call per field is cheaper (measured on Python 3.11)
_TWIN_FROM = 8


def building_twin(cls: type) -> type:
    """A plain class with exactly the slots of the frozen slotted dataclass ``cls``.

    An instance made as the twin, filled with plain attribute stores (specialised by CPython: ~20 ns
    each, where a frozen class needs a descriptor call, ~120 ns) and then given ``cls`` as its
    ``__class__`` is the same object ``cls(...)`` builds: CPython allows the class change because
    both layouts are the same (checked here once). The twin is only ever seen while an object is
    being built."""
    twin = _TWINS.get(cls)
    if twin is None:
        twin = type(f"{cls.__name__}Building", (cast(type, cls.__base__),),
                    {"__slots__": tuple(cls.__dict__["__slots__"]), "__module__": cls.__module__})
        probe: Any = object.__new__(twin)
        probe.__class__ = cls  # raises TypeError if the layouts ever differ
        _TWINS[cls] = twin
    return twin


def fast_frozen_init(cls: type[_T], slots: dict[str, Any] | None = None) -> type[_T]:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through its slot
    descriptor instead of ``object.__setattr__`` (what dataclasses generates for frozen classes):
    the same signature (keyword-only or not, as declared) and defaults, the same resulting object,
    about half the cost. Messages and deliveries are built on every call-flow step, events with up
    to 51 fields (bench/README.md). A class decorator; fields need plain defaults or none.

    ``slots``: slots that are not fields (declared by a base class), set to these values as well."""
    fields_ = dataclasses.fields(cast(Any, cls))
    if not cast(Any, cls).__dataclass_params__.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_frozen_init needs a frozen dataclass with slots=True")
    ns: dict[str, Any] = {"_cls": cls, "_osa": object.__setattr__}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
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
    if len(fields_) >= _TWIN_FROM:
        # wide classes (call events have up to 51 fields): built as the twin, then given their class;
        # a subclass instance (another layout) takes the descriptor calls
        ns["_twin"] = building_twin(cls)
        stores = [f"        self.{f.name} = {f.name}" for f in fields_]
        stores += [f"        self.{name} = _xv{j}" for j, name in enumerate(slots or {})]
        body = (["    if type(self) is _cls:", "        _osa(self, '__class__', _twin)", *stores,
                 "        self.__class__ = _cls", "        return"] + body)
    params = ["self", *positional, *(["*", *keyword] if keyword else [])]
    src = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(compile(src, f"<mockcti init {cls.__name__}>", "exec"), ns)
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)
    return cls


def _slot_setter(cls: type, name: str) -> Any:
    for base in cls.__mro__:
        d = base.__dict__.get(name)
        if d is not None and type(d).__name__ == "member_descriptor":
            return d.__set__
    raise TypeError(f"{cls.__name__} has no slot {name!r}")
