"""Message classes get a generated ``__init__`` (wire.spec.fast_frozen_init): it must behave as
the one dataclasses writes — same parameters and defaults, every field stored, still frozen."""

import dataclasses
import inspect

import pytest

from mockcti.center.core import Delivery
from mockcti.hub import Write
from mockcti.session import Received, Violation
from mockcti.wire.records import fast_frozen_init
from mockcti.wire.spec import GROUP_CLASSES, MESSAGE_CLASSES

CLASSES = [*MESSAGE_CLASSES.values(), *GROUP_CLASSES.values()]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_stored_and_defaults_apply(cls):
    fields = dataclasses.fields(cls)
    values = {f.name: object() for f in fields}
    obj = cls(**values)
    assert all(getattr(obj, name) is v for name, v in values.items())
    empty = cls()
    assert all(getattr(empty, f.name) == f.default for f in fields)
    params = inspect.signature(cls).parameters
    assert [p.name for p in params.values()] == [f.name for f in fields]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(empty, fields[0].name, 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(no_such_field=1)
    assert dataclasses.replace(obj) == obj


def test_positional_classes_keep_positional_parameters():
    assert Delivery(3, None) == Delivery(session_id=3, message=None)
    assert Write(1, b"x").data == b"x"
    assert Received(None).message is None
    v = Violation("PROTO-NO-CLOSE", "gone")
    assert (v.rule, v.detail, v.message) == ("PROTO-NO-CLOSE", "gone", None)
    with pytest.raises(TypeError):
        Delivery(1)


def test_refuses_classes_it_cannot_speed_up():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="slots=True"):
        fast_frozen_init(NoSlots)
    with pytest.raises(TypeError, match="plain default"):
        fast_frozen_init(Factory)
