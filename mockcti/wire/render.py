"""Messages as data and as text: for the journal, ``mockcti decode``, traces and reports.

``message_to_dict`` gives a JSON-able dict (bytes as hex, groups as lists of dicts, absent
floating fields left out, enumerated values kept as numbers with their names beside them);
``format_message`` gives one readable line: the message name, then ``field=value`` pairs with
enumerated values shown by name.

Must import nothing from mockcti outside ``mockcti.wire`` but ``mockcti.catalog``, the other bottom
layer, and that only when a CCXErrorCode is no CCX_* code (:func:`value_name_of`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from enum import IntEnum, IntFlag
from typing import Any

from . import enums as E
from .spec import Message

__all__ = ["message_to_dict", "format_message", "trace_fields", "records_summary", "field_enum", "field_label",
           "value_name", "value_name_of", "group_text"]

# field attribute -> the enumeration its values come from (reference §6). Message-specific
# meanings of ``status`` are handled in field_enum().
_FIELD_ENUMS: dict[str, type] = {
    "agent_state": E.AgentState, "csq_state": E.AgentState, "next_agent_state": E.AgentState,
    "internal_agent_state": E.AgentState,
    "failure_code": E.ControlFailureCode, "ccx_error_code": E.CCXErrorCode,
    "services_requested": E.ServiceMask, "services_granted": E.ServiceMask,
    "call_msg_mask": E.CallEventMask, "agent_state_mask": E.AgentStateMask, "config_msg_mask": E.ConfigMsgMask,
    "event_cause": E.EventCause, "local_connection_state": E.LocalConnectionState,
    "call_device_connection_state": E.LocalConnectionState, "call_state": E.LocalConnectionState,
    "call_type": E.CallType, "system_event_id": E.SystemEventID, "ccx_status": E.CCXStatus,
    "consult_type": E.ConsultType, "supervisory_action": E.SupervisoryAction,
    "event_reason_code": E.ReasonCode,
}
#: where the ucce profile (``Profile.icm``) reads a field with ICM's meaning (reference §6.7)
_ICM_FIELD_ENUMS: dict[str, type] = {
    "agent_state_mask": E.IcmAgentStateMask,
    # SYSTEM_EVENT's first field is ICM's PGStatus, a bit per failure (UCCX: CCXStatus), as is OPEN_CONF's
    # PGStatus (UCCX: reserved); SystemEventID 3 and 4 are ICM's SYS_PERIPHERAL_ONLINE / OFFLINE
    "ccx_status": E.PGStatus, "pg_status": E.PGStatus, "system_event_id": E.IcmSystemEventID,
}
#: the fields the ucce profile's guide names otherwise, by (message type, attribute): CONTROL_FAILURE_CONF's UINT
#: after FailureCode is UCCX's CCXErrorCode and ICM's PeripheralErrorCode (reference §5, CONTROL_FAILURE_CONF: "ICM
#: equivalent: InvokeID, FailureCode USHORT, PeripheralErrorCode UINT"), SYSTEM_EVENT's first field UCCX's CCXStatus
#: and ICM's PGStatus (§6.13: "ICM uses PGStatus bits here instead")
_ICM_FIELD_LABELS: dict[tuple[E.MessageType, str], str] = {
    (E.MessageType.CONTROL_FAILURE_CONF, "ccx_error_code"): "peripheral_error_code",
    (E.MessageType.SYSTEM_EVENT, "ccx_status"): "pg_status",
}
_DEVICE_TYPE_FIELDS = {
    "alerting_device_type", "calling_device_type", "called_device_type", "last_redirect_device_type",
    "answering_device_type", "holding_device_type", "retrieving_device_type", "releasing_device_type",
    "failing_device_type", "diverting_device_type", "queue_device_type", "transferring_device_type",
    "transferred_device_type", "controller_device_type", "added_party_device_type", "event_device_type",
    "call_device_type", "snapshot_device_type", "connected_party_device_type",
}
_CONNECTION_TYPE_FIELDS = {
    "connection_device_type", "new_connection_device_type", "active_connection_device_type",
    "held_connection_device_type", "other_connection_device_type", "primary_device_type", "secondary_device_type",
    "call_connection_device_type", "agent_connection_device_type", "supervisor_connection_device_type",
}


def field_enum(message_type: E.MessageType | None, attr: str, *, icm: bool = False) -> type | None:
    """The enumeration a field's values come from, or None; ``icm``: as the ucce profile reads it."""
    if icm and attr in _ICM_FIELD_ENUMS:
        return _ICM_FIELD_ENUMS[attr]
    if attr == "status":
        if message_type in (E.MessageType.FAILURE_CONF, E.MessageType.FAILURE_EVENT, E.MessageType.CLOSE_REQ):
            return E.StatusCode
        return None
    if attr in _DEVICE_TYPE_FIELDS:
        return E.DeviceType
    if attr in _CONNECTION_TYPE_FIELDS:
        return E.ConnectionDeviceType
    return _FIELD_ENUMS.get(attr)


def field_label(message_type: E.MessageType | None, attr: str, *, icm: bool = False) -> str:
    """The name a field is shown by: its attribute, or ``icm``, the ucce profile's name for it where ICM's guide
    names it otherwise (``peripheral_error_code`` for CONTROL_FAILURE_CONF's ``ccx_error_code``)."""
    return _ICM_FIELD_LABELS.get((message_type, attr), attr) if icm else attr  # type: ignore[arg-type]


def value_name(enum_cls: type, value: int) -> str:
    return E.enum_name(enum_cls, value)


def value_name_of(message_type: E.MessageType | None, attr: str, value: int, *, icm: bool = False) -> str | None:
    """The name of a field's value as the messages are shown (``"AGENT_STATE_READY"``, ``"0"``,
    ``"UNKNOWN(5)"``), None for a field with no names. CCXErrorCode carries either a UCCX error code
    (CCX_*) or a Cisco CTIERR code (the center's ``acd_failure_mode = "ctierr"``, a scenario's
    ``peripheral_error_code``): one CCXErrorCode does not name is named from the catalog's
    cisco_ctierr source (``CTIERR_HOLDFAILED`` for 0x8CCC000F). Under ``icm`` the field is ICM's PeripheralErrorCode,
    "peripheral-specific error data", whose values UCCX's codes do not name: a CTIERR code is named, any other
    value (0, none) has no name."""
    if icm and attr == "ccx_error_code":
        return _ctierr_name(value) if value else None
    enum_cls = field_enum(message_type, attr, icm=icm)
    if enum_cls is None:
        return None
    name = E.enum_name(enum_cls, value)
    if enum_cls is _CCX and name.startswith("UNKNOWN("):
        return _ctierr_name(value) or name
    return name


_CCX = E.CCXErrorCode


@functools.lru_cache(maxsize=256)
def _ctierr_name(value: int) -> str | None:
    from mockcti.catalog import default  # the sibling bottom layer; read once, on the first such code

    if not 0 <= value <= 0xFFFFFFFF:
        return None
    entry = default().lookup("cisco_ctierr", value)
    return None if entry.unknown else entry.name


#: a dataclass (a message, a group's record) -> the names of its fields, read once per class
#: (``dataclasses.fields`` and ``is_dataclass`` per record were most of the cost of rendering a configuration
#: download's records)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or value is None:
        return value
    if t is bytes:
        return value.hex()
    if t is tuple:
        return [_plain(v) for v in value]
    names = _FIELD_NAMES.get(t)
    if names is None:
        if isinstance(value, (IntEnum, IntFlag)):
            return int(value)
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, tuple):
            return [_plain(v) for v in value]
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        names = _FIELD_NAMES[t] = tuple(f.name for f in dataclasses.fields(value))
    out = {}
    for name in names:
        v = getattr(value, name)
        if v is None:
            continue
        tv = type(v)
        if tv is str or tv is int:  # (most of a record: no call)
            out[name] = v
        elif v != ():
            out[name] = _plain(v)
    return out


def message_to_dict(msg: Message, *, names: bool = True, icm: bool = False) -> dict[str, Any]:
    """``{"type": "HOLD_CALL_REQ", "type_id": 54, "fields": {...}, "names": {...}}``.

    Absent floating fields and empty groups are left out; ``names`` maps enumerated fields to
    their symbolic names (``{"agent_state": "AGENT_STATE_READY"}``), with ICM's meaning where the
    ucce profile differs when ``icm`` (AgentStateMask).
    """
    fields: dict[str, Any] = {}
    named: dict[str, str] = {}
    for f in dataclasses.fields(msg):
        v = getattr(msg, f.name)
        if v is None or v == ():
            continue
        label = field_label(msg.TYPE, f.name, icm=icm)
        fields[label] = _plain(v)
        if names and isinstance(v, int):
            name = value_name_of(msg.TYPE, f.name, v, icm=icm)
            if name is not None:
                named[label] = name
    out: dict[str, Any] = {"type": msg.TYPE.name, "type_id": int(msg.TYPE), "fields": fields}
    if named:
        out["names"] = named
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bytes):
        return "0x" + value.hex() if value else "''"
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        inner = " ".join(f"{f.name}={_fmt(getattr(value, f.name))}" for f in dataclasses.fields(value)
                         if getattr(value, f.name) not in (None, ()))
        return "{" + inner + "}"
    return str(value)


def format_message(msg: Message, *, reserved: bool = False, icm: bool = False) -> str:
    """One readable line: ``HOLD_CALL_REQ invoke_id=7 call_id=16777217 connection_device_id='3001'``.

    Reserved fields that carry the value UCCX sends are left out unless ``reserved`` is true; ``icm``
    names values as the ucce profile reads them (:func:`message_to_dict`).
    """
    defaults = {} if reserved else reserved_defaults(msg.TYPE)
    parts = [msg.TYPE.name]
    for f in dataclasses.fields(msg):
        v = getattr(msg, f.name)
        if v is None or v == ():
            continue
        if f.name in defaults and _plain(v) == defaults[f.name]:
            continue
        name = value_name_of(msg.TYPE, f.name, v, icm=icm) if isinstance(v, int) else None
        parts.append(f"{field_label(msg.TYPE, f.name, icm=icm)}={_fmt(v) if name is None else name}")
    return " ".join(parts)


#: the fields that identify a record of a group, shown by :func:`records_summary` (a record class not named
#: here is counted only)
_RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "AgentRecord": ("login_id",), "CSQRecord": ("csq_id", "csq_name"),
    "ApplicationRecord": ("application_id", "application_name"), "DeviceRecord": ("device_field0", "device_field4"),
    "TerminalRecord": ("terminal_device_name",), "TeamMember": ("agent_id",),
}
#: the records a summary names by their ids, at most
SUMMARY_IDS = 10


def records_summary(records: tuple[Any, ...]) -> str:
    """A group of records in a few words, for a trace line: how many, and the ids of the first
    :data:`SUMMARY_IDS` (``[10 records: login_id '1001' '1002' … ]``; ``csq_id/csq_name 1/'Sales'``
    where a record has an id and a name)."""
    n = len(records)
    head = f"{n} record{'' if n == 1 else 's'}"
    if not n:
        return f"[{head}]"
    keys = _RECORD_KEYS.get(type(records[0]).__name__)
    if not keys:
        return f"[{head}]"
    first = records[:SUMMARY_IDS]
    if len(keys) == 1:
        k = keys[0]
        ids = [_fmt(getattr(r, k, None)) for r in first]
    else:
        ids = ["/".join([_fmt(getattr(r, k, None)) for k in keys]) for r in first]
    more = f" … +{n - SUMMARY_IDS}" if n > SUMMARY_IDS else ""
    return f"[{head}: {'/'.join(keys)} {' '.join(ids)}{more}]"


def reserved_defaults(message_type: E.MessageType) -> dict[str, Any]:
    """A message type's reserved fixed fields and the value UCCX sends in each, as :func:`message_to_dict`
    shows it (bytes as hex): what :func:`format_message` and the trace leave out unless asked."""
    out = _RESERVED_DEFAULTS.get(message_type)
    if out is None:
        from .spec import SPECS

        spec = SPECS.get(message_type)
        out = {} if spec is None else {f.attr: _plain(f.default) for f in spec.fixed if f.reserved}
        _RESERVED_DEFAULTS[message_type] = out
    return out


_RESERVED_DEFAULTS: dict[E.MessageType, dict[str, Any]] = {}


def group_text(message_type: E.MessageType | None, records: Any, *, icm: bool = False) -> str:
    """A group's records as a trace line shows them, each as the message's own fields are:
    ``[{csq_id=1 csq_state=AGENT_STATE_NOT_READY}, {csq_id=2 csq_state=AGENT_STATE_READY}]`` — a value by its name
    where it has one, a text quoted, bytes as quoted hex, a field with no value left out, a group within a record
    alike. ``records``: the decoded records (dataclasses) or their dicts (:func:`message_to_dict`'s)."""
    return "[" + ", ".join(_record_text(message_type, r, icm) for r in records) + "]"


def _record_text(message_type: E.MessageType | None, record: Any, icm: bool) -> str:
    items: Iterable[tuple[str, Any]]
    if isinstance(record, dict):
        items = record.items()
    else:
        cls = type(record)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            if not dataclasses.is_dataclass(record):
                p = _plain(record)
                return repr(p) if isinstance(p, str) else str(p)
            names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(record))
        items = ((name, getattr(record, name)) for name in names)
    parts = []
    for name, v in items:
        if v is None or v == () or v == []:
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            named = value_name_of(message_type, name, v, icm=icm)
            if named is not None:
                parts.append(f"{name}={named}")
                continue
        if isinstance(v, (tuple, list)) and v and (isinstance(v[0], dict) or dataclasses.is_dataclass(v[0])):
            parts.append(f"{name}={group_text(message_type, v, icm=icm)}")
            continue
        p = _plain(v)
        parts.append(f"{name}={repr(p) if isinstance(p, str) else str(p)}")
    return "{" + " ".join(parts) + "}"


def trace_fields(msg: Message, *, icm: bool = False, records: bool = True,
                 reserved: bool = True) -> list[tuple[str, str]]:
    """A message's fields as ``mockcti serve``'s trace shows them, as (label, text) pairs: what
    :func:`message_to_dict` gives, each value by its name where it has one (``AGENT_STATE_READY``), a
    text quoted, bytes as quoted hex, a group as its records, each shown so (:func:`group_text`) — without
    building the dict. ``records=False``: a ``records`` group (the CONFIG_* messages of a configuration
    download, TEAM_CONFIG_EVENT's members) is summarised by :func:`records_summary` instead.
    ``reserved=False``: a reserved field that carries the value UCCX sends is left out (:func:`format_message`)."""
    t = msg.TYPE
    out = []
    defaults = {} if reserved else reserved_defaults(t)
    cls = type(msg)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(msg))  # type: ignore[arg-type]
    for name in names:
        v = getattr(msg, name)
        if v is None or v == ():
            continue
        if defaults and name in defaults and _plain(v) == defaults[name]:
            continue
        label = field_label(t, name, icm=icm)
        if isinstance(v, int):
            named = value_name_of(t, name, v, icm=icm)
            if named is not None:
                out.append((label, named))
                continue
        if type(v) is tuple and dataclasses.is_dataclass(v[0]):
            # a group: each record as the message's fields are shown
            if not records and name == "records":
                out.append((label, records_summary(v)))
            else:
                out.append((label, group_text(t, v, icm=icm)))
            continue
        p = _plain(v)
        out.append((label, repr(p) if isinstance(p, str) else str(p)))
    return out
