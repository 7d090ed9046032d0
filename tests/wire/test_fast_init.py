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


WIDE = [c for c in CLASSES if len(dataclasses.fields(c)) >= 8]


def test_wide_classes_are_built_through_their_twin_and_come_out_as_themselves():
    """Classes with many fields are filled as a plain twin and then given their class
    (records.building_twin): the object must be exactly what the class builds, frozen, picklable."""
    import pickle

    assert len(WIDE) > 20  # the call events, AGENT_STATE_EVENT, ... take this path
    for cls in WIDE:
        values = {f.name: i for i, f in enumerate(dataclasses.fields(cls))}
        obj = cls(**values)
        assert type(obj) is cls
        assert all(getattr(obj, name) == v for name, v in values.items())
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, "extra_fields" if hasattr(obj, "extra_fields") else dataclasses.fields(cls)[0].name, 1)
        assert pickle.loads(pickle.dumps(obj)) == obj
        if "_wire" in dir(cls):
            assert obj._wire is None


def test_a_subclass_of_a_wide_class_is_built_field_by_field():
    base = next(c for c in WIDE if c.__name__ == "CallDeliveredEvent")
    sub = type("MyDelivered", (base,), {"__slots__": ()})
    obj = sub(call_id=7, connection_device_id="3001")
    assert type(obj) is sub and obj.call_id == 7 and obj._wire is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.call_id = 8


def test_the_twin_has_exactly_the_slots_of_its_class():
    from mockcti.wire.records import building_twin

    for cls in WIDE:
        twin = building_twin(cls)
        assert twin.__slots__ == cls.__slots__ and twin.__base__ is cls.__base__
        assert building_twin(cls) is twin
