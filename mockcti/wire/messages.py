"""The message dataclasses, one per message type, by their guide names in CamelCase.

``OpenReq``, ``OpenConf``, ``HeartbeatReq``, ``AgentStateEvent``, ``CallDeliveredEvent`` …
are generated from the declarations in :mod:`mockcti.wire.spec` (frozen, keyword-only,
slotted); the group classes (``CSQInfo``, ``ConnectedParty``, ``CTIClient`` …) live here too.
"""

from __future__ import annotations

from .spec import GROUP_CLASSES, MESSAGE_CLASSES, Message
from .types import NamedArray, NamedVariable

globals().update({cls.__name__: cls for cls in MESSAGE_CLASSES.values()})
globals().update(GROUP_CLASSES)

__all__ = sorted(
    ["Message", "NamedVariable", "NamedArray", "by_name"]
    + [cls.__name__ for cls in MESSAGE_CLASSES.values()]
    + list(GROUP_CLASSES)
)

_BY_NAME = {}
for _mt, _cls in MESSAGE_CLASSES.items():
    _BY_NAME[_mt.name] = _cls
    _BY_NAME[_cls.__name__] = _cls


def by_name(name: str) -> type:
    """The message class for a guide name (``"HOLD_CALL_REQ"``) or a class name (``"HoldCallReq"``)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        from .enums import MessageType

        try:  # aliases such as CONSULTATION_CALL_REQ
            return MESSAGE_CLASSES[MessageType[name]]
        except KeyError:
            raise KeyError(f"unknown message type {name!r}") from None
