"""Every CTI message, declared once (reference §4–5; UCCX CTI Protocol Developer Guide,
"Message Type Definitions" and the per-message pages; ICM CTI Server Message Reference Guide
where the UCCX page was not available).

Owns: the declaration of every message type — fixed part in order with exact sizes (construct
primitives from :mod:`mockcti.wire.types`), floating fields with tag, data kind, maximum size,
presence, and repeated groups — and the frozen message dataclasses generated from it. The fast
codec and the construct oracle in :mod:`mockcti.wire.codec` are both derived from these
declarations; nothing else describes the wire format.

Must not import anything from mockcti outside ``mockcti.wire``.

Conventions of the declarations below:

- ``F(name, type)`` is a fixed field; ``R(name, type, value)`` a reserved fixed field (an ICM
  field UCCX fills with a fixed value: we send exactly that value and accept anything unless
  the dialect is strict); ``since=N`` marks a field that exists from protocol version N on;
  ``profiles=("uccx",)`` one that exists only in those profiles' layouts (EMERGENCY_CALL_EVENT's InvokeID,
  printed on the UCCX page, absent in ICM's).
- ``T(tag, name, kind, max, presence)`` is a floating field. ``max`` is the maximum *data*
  length (NUL included for strings). ``presence`` is ``REQ`` (the codec reports
  E_CTI_REQUIRED_DATA_MISSING when absent), ``OPT``, or a condition in the guide's words
  ("agent mode", "LOGIN", "one of 2" …) that the session or the contact center checks.
- ``G(attr, count, members)`` is a repeated group whose member order matters; ``count`` names
  the field (fixed, or a member of the enclosing group) that carries the number of instances.
- ``unconfirmed=True`` marks a value the reference tags U (unconfirmed).
- Names are the guide's field names; the Python attribute is the snake_case form. A reserved
  field keeps the ICM name the guide gives it.
- The trailing comment of each line quotes the reference's value column.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from construct import Construct

from .enums import MessageType as MT
from .records import fast_frozen_init
from .types import (
    BOOL, CHAR, INT, NAMEDARRAY, NAMEDVAR, NUMERIC_KINDS, SHORT, STRING, TIME, UCHAR, UINT,
    UNSPEC, UNSPEC_FIXED, USHORT, Kind, NamedArray, NamedVariable,
)

__all__ = [
    "Message", "MessageSpec", "FixedField", "FloatingField", "Group", "SPECS", "MESSAGE_CLASSES",
    "spec_for", "message_class", "C2S", "S2C", "REQ", "OPT", "GROUP_CLASSES", "fast_frozen_init",
]

C2S = "C->S"
S2C = "S->C"
REQ = "req"
OPT = "opt"


def snake(name: str) -> str:
    """Guide name -> Python attribute: ``InvokeID`` -> ``invoke_id``, ``CSQID`` -> ``csq_id``,
    ``NumCSQs`` -> ``num_csqs``, ``UnifiedCCXOnline`` -> ``unified_ccx_online``."""
    s = name.replace(".", "_").replace("CSQs", "Csqs")
    s = re.sub(r"(?<=[A-Za-z])ID(?=$|[A-Z_])", "_Id", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"_+", "_", s).lower()


@dataclass(frozen=True, slots=True)
class FixedField:
    name: str
    attr: str
    con: Construct
    reserved: bool = False
    default: Any = 0
    since: int | None = None
    unconfirmed: bool = False
    count_of: str | None = None  # attr of the group/list whose length this field carries
    #: the profiles (names) whose layout has this field; empty: every profile's (:meth:`MessageSpec.profile_tags`)
    profiles: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return self.con.sizeof()


@dataclass(frozen=True, slots=True)
class FloatingField:
    tag: int
    name: str
    attr: str
    kind: Kind
    max_len: int
    presence: str = OPT
    since: int | None = None
    reserved: bool = False
    unconfirmed: bool = False
    repeated: bool = False  # NAMEDVAR/NAMEDARRAY: may appear many times, kept as a tuple
    #: the tag under a profile whose guide numbers the field otherwise: ``(("uccx", 61),)``
    #: (:meth:`MessageSpec.profile_tags`; the codec sends and reads that tag in the profile's sessions)
    profile_tags: tuple[tuple[str, int], ...] = ()

    @property
    def required(self) -> bool:
        return self.presence == REQ

    def exists_in(self, version: int, tag_width: int) -> bool:
        """Whether a field that came with a protocol version (``since``) exists in a dialect of
        ``version`` with ``tag_width``-byte tags: from that version on and, a tag above 255, only
        where tags have 2 bytes (reference §2.3: "tags 302-305 therefore only exist in v18"; in the
        UCCE profile from v20, ICM's 2-byte tags: a UCCE v18/v19 session has no ActiveTerminal, as a
        UCCX v17 one has none). A field that does not exist is not sent. Fields without ``since``
        always exist (a set one whose tag does not fit is an EncodeError: its message has no meaning
        in that dialect, e.g. CONFIG_TERMINAL_EVENT below v18)."""
        return self.since is None or (version >= self.since and (tag_width == 2 or self.tag <= 0xFF))


@dataclass(frozen=True, slots=True)
class Group:
    """A repeated group of floating fields; member order matters (reference §2.2)."""

    attr: str
    cls: type
    members: tuple[Any, ...]  # FloatingField or (nested) Group
    count: str | None  # attr of the field carrying the count, or None

    @property
    def first_tag(self) -> int:
        return self.members[0].tag

    def tags(self) -> set[int]:
        out: set[int] = set()
        for m in self.members:
            out |= m.tags() if isinstance(m, Group) else {m.tag}
        return out


class Message:
    """Base of every message dataclass. ``TYPE`` is its MessageType, ``SPEC`` its MessageSpec."""

    # ``_wire``: the bytes of the message's last encodings, ``(dialect, bytes, ...)`` (codec.encode_shared).
    # ``_json``: its JSON text as the journal writes it, ``(uccx text or None, ucce text or None)``
    # (journal.message_json); unset until then (nothing sets it on the hot path).
    # ``_trace``: its text as ``mockcti serve``'s text trace prints it after the arrow, for each profile and level
    # (commands.serve.trace_text); unset until a text trace prints it.
    # Not fields: equality, hashing, repr and pickling ignore them; __init__ and the decoders set ``_wire`` None.
    __slots__ = ("_wire", "_json", "_trace")
    TYPE: ClassVar[MT]
    SPEC: ClassVar["MessageSpec"]
    #: every message has it (the last field of each class): the floating fields its type does not declare,
    #: ``(tag, bytes)`` in wire order. Declared here for type checkers only (a bare annotation: no attribute).
    extra_fields: tuple[tuple[int, bytes], ...]
    if TYPE_CHECKING:  # for type checkers only: every message class is a dataclass; ``_wire`` is the slot above
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
        _wire: tuple[Any, ...] | None

        def __init__(self, **fields: Any) -> None: ...  # a class of unknown type (by_name, MESSAGE_CLASSES)

    @property
    def invoke_id(self) -> int | None:  # overridden by a dataclass field where one exists
        return None


def remembered_text(message: Any, slot: str, index: int, size: int, make: Callable[[], str]) -> str:
    """``make()``, remembered on ``message`` in its slot ``slot`` (``"_json"``, ``"_trace"``: a tuple of ``size``
    texts, one per ``index``: a profile, a level) and made once for as long as the message lives: a message is
    immutable, so its text stays right. One message often goes to many sessions (a configuration download's
    ~1,000 CONFIG_* messages to every bridge, a call event to the agents on the call and every bridge). An object
    that is no Message gets ``make()`` every time."""
    cached = getattr(message, slot, None)  # (an unset slot: never rendered)
    if cached is not None:
        text = cached[index]
        if text is not None:
            return text
    text = make()
    if isinstance(message, Message):
        texts = list(cached or (None,) * size)
        texts[index] = text
        Message.__dict__[slot].__set__(message, tuple(texts))
    return text


@dataclass(frozen=True, slots=True)
class MessageSpec:
    type: MT
    name: str
    direction: str
    layout_source: str
    fixed: tuple[FixedField, ...]
    floating: tuple[Any, ...]  # FloatingField | Group, in declaration order
    doc: str
    # (set once the class is made; the field named ``type`` hides the builtin in this class body)
    cls: builtins.type[Message] = field(default=None, compare=False)  # type: ignore[assignment]
    optional_tail: int = 0  # OPEN_REQ: number of trailing fixed fields that may be absent

    def fixed_for(self, version: int) -> tuple[FixedField, ...]:
        return tuple(f for f in self.fixed if f.since is None or version >= f.since)

    @property
    def fields_by_tag(self) -> dict[int, FloatingField]:
        out: dict[int, FloatingField] = {}

        def walk(items):
            for it in items:
                if isinstance(it, Group):
                    walk(it.members)
                else:
                    out.setdefault(it.tag, it)

        walk(self.floating)
        return out

    @property
    def has_invoke_id(self) -> bool:
        return bool(self.fixed) and self.fixed[0].attr == "invoke_id"

    def floating_fields(self) -> list[FloatingField]:
        """Every floating field, group members included, in declaration order."""
        out: list[FloatingField] = []

        def walk(items):
            for it in items:
                if isinstance(it, Group):
                    walk(it.members)
                else:
                    out.append(it)

        walk(self.floating)
        return out

    def profile_tags(self, profile: str) -> tuple[tuple[str, int], ...]:
        """The fields this message declares with another tag under ``profile`` (a profile name),
        as ``((field name, tag), ...)``: the ``retag`` that gives the profile's layout. A fixed field the
        profile's layout does not have (``FixedField.profiles``) is ``(name, 0)``: left out (:meth:`retagged`)."""
        return tuple((f.name, t) for f in self.floating_fields() for p, t in f.profile_tags if p == profile) \
            + tuple((f.name, 0) for f in self.fixed if f.profiles and profile not in f.profiles)

    def retagged(self, retag: tuple[tuple[str, int], ...]) -> "MessageSpec":
        """This message with the floating fields named in ``retag`` (``((field name, tag), ...)``)
        carrying those tags: one profile's layout (:func:`spec_for`). The message class is the same;
        a name the message does not have, or a tag another of its fields has, is a ValueError. A fixed
        field named with tag 0 is left out of the fixed part (a profile whose layout has no such field)."""
        if not retag:
            return self
        table = dict(retag)
        dropped = {name for name, tag in table.items() if tag == 0 and any(f.name == name for f in self.fixed)}
        for name in dropped:
            del table[name]
        names = {f.name for f in self.floating_fields()}
        for name, tag in table.items():
            if name not in names:
                raise ValueError(f"{self.name} has no floating field {name!r} "
                                 f"(it has {', '.join(sorted(names)) or 'none'})")
            if not isinstance(tag, int) or isinstance(tag, bool) or not 1 <= tag <= 0xFFFF:
                raise ValueError(f"{self.name}.{name}: tag {tag!r} is not 1 .. 65535")

        def walk(items):
            out = []
            for it in items:
                if isinstance(it, Group):
                    out.append(dataclasses.replace(it, members=walk(it.members)))
                elif it.name in table:
                    out.append(dataclasses.replace(it, tag=table[it.name]))
                else:
                    out.append(it)
            return tuple(out)

        spec = dataclasses.replace(self, floating=walk(self.floating),
                                   fixed=tuple(f for f in self.fixed if f.name not in dropped))
        object.__setattr__(spec, "cls", self.cls)
        for f in spec.floating_fields():
            if f.name not in table:
                for name, tag in table.items():
                    if tag == f.tag:
                        raise ValueError(f"{self.name}: tag {tag} is {f.name}'s; {name} cannot have it too")
        return spec


# -- declaration helpers -------------------------------------------------------------------


def F(name: str, con: Construct, *, since: int | None = None, unconfirmed: bool = False,
      count_of: str | None = None, profiles: tuple[str, ...] = ()) -> FixedField:
    return FixedField(name, snake(name), con, False, 0, since, unconfirmed, count_of, profiles)


def R(name: str, con: Construct, value: Any = 0, *, since: int | None = None,
      unconfirmed: bool = False) -> FixedField:
    if type(con).__name__ == "Bytes" and isinstance(value, int):
        value = bytes(con.length)
    return FixedField(name, snake(name), con, True, value, since, unconfirmed)


_PRIMITIVE_KIND = [
    (UINT, "UINT"), (USHORT, "USHORT"), (INT, "INT"), (SHORT, "SHORT"), (UCHAR, "UCHAR"), (CHAR, "CHAR"),
]


def _kind(k: Any) -> Kind:
    if isinstance(k, Kind):
        return k
    for con, name in _PRIMITIVE_KIND:
        if k is con:
            return NUMERIC_KINDS[name]
    raise TypeError(f"not a floating kind: {k!r}")


def T(tag: int, name: str, kind: Any, max_len: int | None = None, presence: str = OPT, *,
      since: int | None = None, reserved: bool = False, unconfirmed: bool = False,
      attr: str | None = None, numeric: str | None = None,
      tags: dict[str, int] | None = None) -> FloatingField:
    k = NUMERIC_KINDS[numeric] if numeric else _kind(kind)
    if k.size is not None:
        max_len = k.size
    repeated = k is NAMEDVAR or k is NAMEDARRAY
    if repeated and attr is None:
        attr = "named_variables" if k is NAMEDVAR else "named_arrays"
    return FloatingField(tag, name, attr or snake(name), k, max_len or 0, presence, since, reserved,
                         unconfirmed, repeated, tuple(sorted((tags or {}).items())))


GROUP_CLASSES: dict[str, type] = {}


def G(attr: str, cls_name: str, count: str | None, *members: Any, doc: str = "") -> Group:
    cls = GROUP_CLASSES.get(cls_name)
    fields_: list[tuple[str, Any, Any]] = []
    for m in members:
        if isinstance(m, Group):
            fields_.append((m.attr, tuple, dataclasses.field(default=())))
        else:
            fields_.append((m.attr, m.kind.py_type | None, dataclasses.field(default=None)))
    if cls is None:
        cls = dataclasses.make_dataclass(
            cls_name, fields_, frozen=True, kw_only=True, slots=True,
            namespace={"__doc__": doc or f"One {cls_name} group instance (floating fields in a fixed order)."},
        )
        cls.__module__ = "mockcti.wire.messages"
        GROUP_CLASSES[cls_name] = fast_frozen_init(cls)
    else:
        have = [f.name for f in dataclasses.fields(cls)]
        if have != [f[0] for f in fields_]:
            raise ValueError(f"group class {cls_name} redeclared with other members: {have}")
    return Group(attr, cls, tuple(members), count)


def _callvars(max_len: int) -> tuple[FloatingField, ...]:
    """CallVariable1..10, tags 13..22 (one tag per variable)."""
    return tuple(T(13 + i, f"CallVariable{i + 1}", STRING, max_len) for i in range(10))


SPECS: dict[MT, MessageSpec] = {}
MESSAGE_CLASSES: dict[MT, type[Message]] = {}


def _class_name(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _msg(mt: MT, direction: str, source: str, *, fixed: tuple, floating: tuple, doc: str = "",
         optional_tail: int = 0) -> None:
    attrs: dict[str, str] = {}
    for f in fixed:
        if f.attr in attrs:
            raise ValueError(f"{mt.name}: attribute {f.attr!r} declared twice")
        attrs[f.attr] = f.name
    counts = {}

    def walk(items, top):
        for it in items:
            if isinstance(it, Group):
                if top:
                    if it.attr in attrs:
                        raise ValueError(f"{mt.name}: attribute {it.attr!r} declared twice")
                    attrs[it.attr] = it.attr
                if it.count:
                    counts[it.count] = it.attr
                walk(it.members, False)
            elif top:
                if it.attr in attrs and not it.repeated:
                    raise ValueError(f"{mt.name}: attribute {it.attr!r} declared twice")
                attrs[it.attr] = it.name

    walk(floating, True)
    # named variables/arrays are counted by NumNamedVariables / NumNamedArrays
    for f in floating:
        if isinstance(f, FloatingField) and f.repeated:
            counts["NumNamedVariables" if f.kind is NAMEDVAR else "NumNamedArrays"] = f.attr
    fixed = tuple(
        dataclasses.replace(f, count_of=counts.get(f.name, f.count_of)) if f.name in counts else f for f in fixed
    )
    cls_fields: list[tuple[str, Any, Any]] = []
    for i, f in enumerate(fixed):
        if f.count_of:
            cls_fields.append((f.attr, int | None, dataclasses.field(default=None)))
        elif i >= len(fixed) - optional_tail:
            cls_fields.append((f.attr, int | None, dataclasses.field(default=f.default)))
        else:
            typ = bytes if isinstance(f.default, bytes) else int
            cls_fields.append((f.attr, typ, dataclasses.field(default=f.default)))
    seen = set()
    for it in floating:
        if isinstance(it, Group):
            cls_fields.append((it.attr, tuple, dataclasses.field(default=())))
        elif it.repeated:
            if it.attr not in seen:
                cls_fields.append((it.attr, tuple, dataclasses.field(default=())))
        else:
            cls_fields.append((it.attr, it.kind.py_type | None, dataclasses.field(default=None)))
        seen.add(it.attr)
    cls_fields.append(("extra_fields", tuple, dataclasses.field(default=())))
    spec = MessageSpec(mt, mt.name, direction, source, fixed, floating, doc, optional_tail=optional_tail)
    cls = dataclasses.make_dataclass(
        _class_name(mt.name), cls_fields, bases=(Message,), frozen=True, kw_only=True, slots=True,
        namespace={"TYPE": mt, "SPEC": spec, "__doc__": f"{mt.name} ({int(mt)}) {direction}. {doc}".strip()},
    )
    cls.__module__ = "mockcti.wire.messages"
    fast_frozen_init(cls, slots={"_wire": None})
    object.__setattr__(spec, "cls", cls)
    SPECS[mt] = spec
    MESSAGE_CLASSES[mt] = cls


_RETAGGED: dict[tuple[MT, tuple[tuple[str, int], ...]], MessageSpec] = {}


def spec_for(mt: MT, retag: tuple[tuple[str, int], ...] = ()) -> MessageSpec:
    """The declaration of ``mt``; with ``retag`` (``((field name, tag), ...)``, e.g. a profile's
    :meth:`MessageSpec.profile_tags`) the layout with those fields carrying those tags (cached)."""
    if not retag:
        return SPECS[mt]
    key = (mt, retag)
    spec = _RETAGGED.get(key)
    if spec is None:
        spec = _RETAGGED[key] = SPECS[mt].retagged(retag)
    return spec


def message_class(mt: MT) -> type:
    return MESSAGE_CLASSES[mt]


# Groups shared by several messages ------------------------------------------------------------

def _csq_group(count: str = "NumCSQs") -> Group:
    return G("csqs", "CSQInfo", count,
             T(62, "CSQID", UINT),  # CSQID (ICM SkillGroupNumber)
             T(63, "SkillGroupID", UINT, reserved=True),
             T(64, "SkillGroupPriority", USHORT, reserved=True),
             T(65, "CSQState", USHORT),
             doc="Per-CSQ group: CSQID, reserved SkillGroupID, reserved SkillGroupPriority, CSQState.")


def _parties() -> Group:
    return G("parties", "ConnectedParty", "NumParties",
             T(39, "ConnectedPartyCallID", UINT),
             T(40, "ConnectedPartyDeviceType", USHORT),
             T(41, "ConnectedPartyDeviceID", STRING, 64),
             doc="A connected party: ConnectedPartyCallID, ConnectedPartyDeviceType, ConnectedPartyDeviceID.")


def _cti_clients() -> Group:
    return G("cti_clients", "CTIClient", "NumCTIClients",
             T(23, "CTIClientSignature", STRING, 64),
             T(24, "CTIClientTimestamp", TIME, numeric="TIME"),
             doc="A CTI client that touched the call: its signature, then its timestamp.")


# == The messages, in the order of reference §5 ==========================================

# OPEN_REQ (3) C->S; layout source C
_msg(MT.OPEN_REQ, C2S, 'C', optional_tail=3,
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen
        F('VersionNumber', UINT),  # 4: VersionNumber | 10..18
        F('IdleTimeout', UINT),  # 8: IdleTimeout | seconds; >=20 (see 3.4); 0xFFFFFFFF = none (ICM rule, U)
        R('PeripheralID', UINT, 0),  # 12: reserved (ICM PeripheralID) | 0
        F('ServicesRequested', UINT),  # 16: ServicesRequested | CTI service mask (6.5)
        F('CallMsgMask', UINT),  # 20: CallMsgMask | call event mask (6.6)
        F('AgentStateMask', UINT),  # 24: AgentStateMask | agent state mask (6.7)
        F('ConfigMsgMask', UINT),  # 28: ConfigMsgMask | config event mask (6.8)
        R('Reserved1', UINT, 0, unconfirmed=True),  # 32: reserved (ICM Reserved1) | 0
        R('Reserved2', UINT, 0, unconfirmed=True),  # 36: reserved (ICM Reserved2) | 0
        R('Reserved3', UINT, 0, unconfirmed=True),  # 40: reserved (ICM Reserved3) | 0
    ),
    floating=(
        T(1, 'ClientID', STRING, 64, REQ),  # ClientID name of the client application
        T(2, 'ClientPassword', UNSPEC, 64, REQ),  # ClientPassword may be zero-length (tag 02, len 00); UCCX does not check it (U)
        T(3, 'ClientSignature', STRING, 64, OPT),  # ClientSignature
        T(4, 'AgentExtension', STRING, 16, 'agent mode'),  # AgentExtension agent-mode identity; not allowed in bridge mode
        # ICM's AgentID (AGENT_ID_TAG, the agent's ACD login ID; ICM guides' OPEN_REQ, the §8.11 uccertweb vector):
        # the agent's identity under the ucce profile; UCCX names tag 5 reserved (OPEN_CONF), a uccx session ignores it
        T(5, 'LegacyAgentID', STRING, 12, OPT, reserved=True),
        T(6, 'AgentInstrument', STRING, 64, 'agent mode'),  # AgentInstrument agent IP phone DN
        T(194, 'AgentID', STRING, 129, 'agent mode'),  # AgentID agent login ID
        T(97, 'ApplicationPathID', INT, 4, 'never'),  # ApplicationPathID ICM only - reject/ignore on UCCX
    ),
    doc='UCCX page shows the first 8 fixed fields (32 bytes); the 3 trailing reserved UINTs are the ICM layout (44-byte fixed part) and were not visible on the truncated UCCX page. A tolerant server should accept both: if the 12 bytes after ConfigMsgMask are all 0x00 (no floating field can start with tag 0, in 1-byte or 2-byte tag form), consume them as Reserved1..3; otherwise the floating part starts right after ConfigMsgMask. In agent mode at least one of AgentExtension/AgentID/AgentInstrument is required (ICM rule); UCCX returns all three in OPEN_CONF.',
)

# OPEN_CONF (4) S->C; layout source C
_msg(MT.OPEN_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('ServicesGranted', UINT),  # 4: ServicesGranted | subset of ServicesRequested
        R('MonitorID', UINT, 0),  # 8: reserved (ICM MonitorID) | 0
        R('PGStatus', UINT, 0),  # 12: reserved (ICM PGStatus) | 0
        R('ICMCentralControllerTime', TIME, 0),  # 16: reserved (ICM ICMCentralControllerTime) | 0
        F('UnifiedCCXOnline', BOOL),  # 20: UnifiedCCXOnline | 1 online / 0 offline
        R('PeripheralType', USHORT, 0),  # 22: reserved (ICM PeripheralType) | 0
        F('AgentState', USHORT),  # 24: AgentState | agent state (6.4) in agent mode; 0 otherwise (U)
    ),
    floating=(
        T(4, 'AgentExtension', STRING, 16, 'agent mode'),  # AgentExtension present when CLIENT_EVENTS granted and agent logged in
        T(5, 'LegacyAgentID', STRING, 12, OPT, reserved=True),  # reserved (ICM AgentID, the old 12-byte ID) ignore
        T(6, 'AgentInstrument', STRING, 64, 'agent mode'),  # AgentInstrument
        T(194, 'AgentID', STRING, 129, 'agent mode'),  # AgentID
        T(228, 'NumPeripherals', USHORT, 2, 'v14+', since=14),  # NumPeripherals always 1
        T(208, 'FltPeripheralID', UINT, 4, 'v14+', since=14),  # FltPeripheralID peripheral ID "given by the OPEN_REQ"
        T(224, 'MultilineAgentControl', USHORT, 2, 'v14+', since=14),  # MultilineAgentControl always 1
        T(248, 'ConfigMsgMaskGranted', USHORT, 2, 'v18+', since=18),  # ConfigMsgMaskGranted config event mask granted (UCCX-specific use of tag 248)
    ),
    doc='Same 26-byte fixed layout as ICM OPEN_CONF (confirmed by the uccertweb sample, which uses the ICM names).',
)

# HEARTBEAT_REQ (5) C->S; layout source C
_msg(MT.HEARTBEAT_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen
    ),
    floating=(
    ),
)

# HEARTBEAT_CONF (6) S->C; layout source C
_msg(MT.HEARTBEAT_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# CLOSE_REQ (7) C->S; layout source C
_msg(MT.CLOSE_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen
        F('Status', UINT),  # 4: Status | reason: E_CTI_NO_ERROR (0); ICM also E_CTI_CTI_SERVER_OFFLINE (15) / E_CTI_TIMEOUT (16)
    ),
    floating=(
    ),
    doc='Client waits up to 5 s for CLOSE_CONF, then closes the TCP connection.',
)

# CLOSE_CONF (8) S->C; layout source C
_msg(MT.CLOSE_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# FAILURE_CONF (1) S->C; layout source C
_msg(MT.FAILURE_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of the failed request
        F('Status', UINT),  # 4: Status | E_CTI_* (section 6.1)
    ),
    floating=(
        T(7, 'Text', STRING, 255, OPT),  # Text human-readable reason
    ),
    doc='Body = 8 bytes + optional Text. The ICM v24 HTML chapter prints FAILURE_CONF as InvokeID + FailureCode USHORT + PeripheralErrorCode UINT, which is the CONTROL_FAILURE_CONF layout (copy error); the UCCX page, older ICM guides and the uccertweb test vector (01 02 03 04 00 00 00 61) all use InvokeID UINT + Status UINT.',
)

# FAILURE_EVENT (2) S->C; layout source C
_msg(MT.FAILURE_EVENT, S2C, 'C',
    fixed=(
        F('Status', UINT),  # 0: Status | E_CTI_* (section 6.1)
    ),
    floating=(
        T(7, 'Text', STRING, 255, OPT),  # Text
    ),
)

# CONTROL_FAILURE_CONF (35) S->C; layout source C
_msg(MT.CONTROL_FAILURE_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('FailureCode', USHORT),  # 4: FailureCode | CF_* (6.2)
        F('CCXErrorCode', UINT),  # 6: CCXErrorCode | 88xxx (6.3); 0 = unknown
    ),
    floating=(
        T(7, 'Text', STRING, 255, OPT),  # Text
    ),
    doc='ICM equivalent: InvokeID, FailureCode USHORT, PeripheralErrorCode UINT.',
)

# SYSTEM_EVENT (31) S->C; layout source C
_msg(MT.SYSTEM_EVENT, S2C, 'C',
    fixed=(
        F('CCXStatus', UINT),  # 0: CCXStatus | Unified CCX status (6.13); non-zero = degraded
        F('CCXTime', TIME),  # 4: CCXTime | server time, s since 1970 UTC
        F('SystemEventID', UINT),  # 8: SystemEventID | 6.12
        F('SystemEventArg1', UINT),  # 12: SystemEventArg1 | event specific
        F('SystemEventArg2', UINT),  # 16: SystemEventArg2 | event specific
        F('SystemEventArg3', UINT),  # 20: SystemEventArg3 | event specific
        F('EventDeviceType', USHORT),  # 24: EventDeviceType | DeviceType (6.15); 0xFFFF (DEVID_NONE) if no EventDeviceID
    ),
    floating=(
        T(7, 'Text', STRING, 255, OPT),  # Text
        T(206, 'EventDeviceID', STRING, 64, OPT),  # EventDeviceID device for SYS_INSTRUMENT_* events; size from ICM
    ),
)

# SET_AGENT_STATE_REQ (38) C->S; layout source C
_msg(MT.SET_AGENT_STATE_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('AgentState', USHORT),  # 8: AgentState | requested state: 0 LOGIN,1 LOGOUT,2 NOT_READY,3 READY,5 WORK,6 WORK_READY
        R('AgentWorkMode', USHORT, 0),  # 10: reserved (ICM AgentWorkMode) | 0
        R('NumSkillGroups', USHORT, 0),  # 12: reserved (ICM NumSkillGroups) | 0
        F('EventReasonCode', USHORT),  # 14: EventReasonCode | reason code (6.19); 0 = none
        F('ForcedFlag', UCHAR),  # 16: ForcedFlag | 0 FALSE, 1 TRUE, 2 authenticate only (v12, with LOGIN)
        F('AgentCapacity', UINT, since=12),  # 17: AgentCapacity (v12+) | 0x1 = outbound feature enabled (ICM AgentServiceRequest)
    ),
    floating=(
        T(6, 'AgentInstrument', STRING, 64, REQ),  # AgentInstrument for authentication-only (ForcedFlag=2) send "unknown"
        T(49, 'AgentPassword', STRING, 64, 'LOGIN'),  # AgentPassword required when AgentState = LOGIN
        T(194, 'AgentID', STRING, 129, 'LOGIN'),  # AgentID agent login ID
        T(303, 'ActiveTerminal', STRING, 64, 'v18 opt', since=18),  # ActiveTerminal terminal device name (tag needs 2-byte FieldDataID)
    ),
    doc='Fixed part is 17 bytes for v10-v11 and 21 bytes from v12 (AgentCapacity added). ForcedFlag is the only UCHAR fixed field in the protocol - do not pad it.',
)

# SET_AGENT_STATE_CONF (39) S->C; layout source C
_msg(MT.SET_AGENT_STATE_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# QUERY_AGENT_STATE_REQ (36) C->S; layout source C
_msg(MT.QUERY_AGENT_STATE_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('MRDID', INT, 1),  # 8: reserved (ICM MRDID) | 1
        R('ICMAgentID', INT, 0),  # 12: reserved (ICM ICMAgentID) | 0
    ),
    floating=(
        T(4, 'AgentExtension', STRING, 16, 'one of 3'),  # AgentExtension
        T(6, 'AgentInstrument', STRING, 64, 'one of 3'),  # AgentInstrument
        T(194, 'AgentID', STRING, 129, 'one of 3'),  # AgentID at least one of the three must be present
    ),
)

# QUERY_AGENT_STATE_CONF (37) S->C; layout source C
_msg(MT.QUERY_AGENT_STATE_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('AgentState', USHORT),  # 4: AgentState | 6.4
        F('NumCSQs', USHORT),  # 6: NumCSQs | 0..20 = number of CSQ groups in floating part
        R('MRDID', INT, 1),  # 8: reserved (ICM MRDID) | 1
        R('NumTasks', UINT, 0),  # 12: reserved (ICM NumTasks) | 0
        R('AgentMode', USHORT, 0),  # 16: reserved (ICM AgentMode) | 0
        R('MaxTaskLimit', UINT, 0),  # 18: reserved (ICM MaxTaskLimit) | 0
        R('ICMAgentID', UINT, 0),  # 22: reserved (ICM ICMAgentID) | 0
        R('AgentAvailabilityStatus', UINT, 1),  # 26: reserved (ICM AgentAvailabilityStatus) | 1
    ),
    floating=(
        T(5, 'LegacyAgentID', STRING, 12, OPT, reserved=True),  # reserved (ICM AgentID, the old 12-byte ID) ignore
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        _csq_group(),  # CSQID, reserved SkillGroupID, reserved SkillGroupPriority, CSQState; repeated NumCSQs times
        T(255, 'InternalAgentState', USHORT, 2, OPT),  # InternalAgentState ICM tag table: "internal use only for CCX"
    ),
)

# AGENT_STATE_EVENT (30) S->C; layout source C
_msg(MT.AGENT_STATE_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('SessionID', UINT, 0),  # 8: reserved (ICM SessionID) | 0
        R('PeripheralType', USHORT, 21),  # 12: reserved (ICM PeripheralType) | 21
        F('CSQState', USHORT),  # 14: CSQState (ICM SkillGroupState) | agent state in CSQID
        F('StateDuration', UINT),  # 16: StateDuration | seconds in current state
        F('CSQID', UINT),  # 20: CSQID (ICM SkillGroupNumber) | CSQ id, 0xFFFFFFFF if n/a
        R('SkillGroupID', UINT, 4294967295),  # 24: reserved (ICM SkillGroupID) | 0xFFFFFFFF
        R('SkillGroupPriority', USHORT, 0),  # 28: reserved (ICM SkillGroupPriority) | 0
        F('AgentState', USHORT),  # 30: AgentState | 6.4
        F('EventReasonCode', USHORT),  # 32: EventReasonCode | 6.19
        R('MRDID', INT, 1),  # 34: reserved (ICM MRDID) | 1
        R('NumTasks', UINT, 0),  # 38: reserved (ICM NumTasks) | 0
        R('AgentMode', USHORT, 0),  # 42: reserved (ICM AgentMode) | 0
        R('MaxTaskLimit', UINT, 0),  # 44: reserved (ICM MaxTaskLimit) | 0
        R('ICMAgentID', INT, 0),  # 48: reserved (ICM ICMAgentID) | 0
        R('AgentAvailabilityStatus', INT, 1),  # 52: reserved (ICM AgentAvailabilityStatus) | 1
        F('NumCSQs', USHORT),  # 56: NumCSQs (ICM NumFltSkillGroups) | 0..99 CSQ groups in floating part
    ),
    floating=(
        T(3, 'CTIClientSignature', STRING, 64, OPT),  # CTIClientSignature signature of client that caused the change
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        _csq_group(),  # CSQID, reserved SkillGroupID, reserved SkillGroupPriority, CSQState; repeated NumCSQs times
        T(123, 'NextAgentState', USHORT, 2, OPT),  # NextAgentState seen as 65535 in UCCX example flows
        T(303, 'ActiveTerminal', STRING, 64, 'v18 opt', since=18),  # ActiveTerminal
    ),
    doc='Fixed part = 58 bytes (confirmed by field list; matches ICM order). Floating part content/order partly ICM-derived.',
)

# ANSWER_CALL_REQ (42) C->S; layout source C
_msg(MT.ANSWER_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID | alerting call
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType | 6.16
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, 'one of 2'),  # ConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, 'one of 2'),  # AgentInstrument either ConnectionDeviceID or AgentInstrument
    ),
)

# ANSWER_CALL_CONF (43) S->C; layout source C
_msg(MT.ANSWER_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# HOLD_CALL_REQ (54) C->S; layout source C
_msg(MT.HOLD_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
        R('Reservation', BOOL, 0),  # 14: reserved (ICM Reservation) | 0
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# HOLD_CALL_CONF (55) S->C; layout source C
_msg(MT.HOLD_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# RETRIEVE_CALL_REQ (62) C->S; layout source C
_msg(MT.RETRIEVE_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('HeldCallID', UINT),  # 8: HeldCallID
        F('HeldConnectionDeviceType', USHORT),  # 12: HeldConnectionDeviceType
    ),
    floating=(
        T(53, 'HeldConnectionDeviceID', STRING, 64, REQ),  # HeldConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# RETRIEVE_CALL_CONF (63) S->C; layout source C
_msg(MT.RETRIEVE_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# CLEAR_CALL_REQ (44) C->S; layout source C
_msg(MT.CLEAR_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType | 6.16
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# CLEAR_CALL_CONF (45) S->C; layout source C
_msg(MT.CLEAR_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# CLEAR_CONNECTION_REQ (46) C->S; layout source C
_msg(MT.CLEAR_CONNECTION_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType | 6.16
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID connection to release
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        T(219, 'RequestingDeviceID', STRING, 64, OPT),  # RequestingDeviceID ICM v14+
        T(220, 'RequestingDeviceIDType', USHORT, 2, OPT),  # RequestingDeviceIDType ICM v14+
    ),
)

# CLEAR_CONNECTION_CONF (47) S->C; layout source C
_msg(MT.CLEAR_CONNECTION_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# MAKE_CALL_REQ (56) C->S; layout source C
_msg(MT.MAKE_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('CallPlacementType', USHORT, 0),  # 8: reserved (ICM CallPlacementType) | 0
        R('CallMannerType', USHORT, 0),  # 10: reserved (ICM CallMannerType) | 0
        R('AlertRings', USHORT, 0),  # 12: reserved (ICM AlertRings) | 0
        R('CallOption', USHORT, 0),  # 14: reserved (ICM CallOption) | 0
        R('FacilityType', USHORT, 0),  # 16: reserved (ICM FacilityType) | 0
        R('AnsweringMachine', USHORT, 0),  # 18: reserved (ICM AnsweringMachine) | 0
        R('Priority', BOOL, 0),  # 20: reserved (ICM Priority) | 0
        R('PostRoute', BOOL, 0),  # 22: reserved (ICM PostRoute) | 0
        F('NumNamedVariables', USHORT),  # 24: NumNamedVariables | count of tag-82 fields
        F('NumNamedArrays', USHORT),  # 26: NumNamedArrays | count of tag-83 fields
        R('SkillGroupNumber', UINT, 4294967295, since=14),  # 28: reserved (ICM SkillGroupNumber, v14+) | 0xFFFFFFFF
    ),
    floating=(
        T(6, 'AgentInstrument', STRING, 64, REQ),  # AgentInstrument originating agent phone
        T(11, 'DialedNumber', STRING, 40, REQ),  # DialedNumber number to dial
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo ICM-derived
        *_callvars(41),  # 13..22 CallVariable1..10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData ICM-derived
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable ICM-derived
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray ICM-derived
    ),
    doc='Fixed part 28 bytes before v14, 32 bytes from v14.',
)

# MAKE_CALL_CONF (57) S->C; layout source C
_msg(MT.MAKE_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NewCallID', UINT),  # 4: NewCallID | resulting call
        F('NewConnectionDeviceType', USHORT),  # 8: NewConnectionDeviceType | 6.16
        R('LineHandle', USHORT, 65535),  # 10: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 3),  # 12: reserved (ICM LineType) | 3
    ),
    floating=(
        T(47, 'NewConnectionDeviceID', STRING, 64, REQ),  # NewConnectionDeviceID
    ),
)

# CONSULT_CALL_REQ (50) C->S; layout source C
_msg(MT.CONSULT_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ActiveCallID', UINT),  # 8: ActiveCallID | call to put on hold
        F('ActiveConnectionDeviceType', USHORT),  # 12: ActiveConnectionDeviceType
        R('CallPlacementType', USHORT, 0),  # 14: reserved (ICM CallPlacementType) | 0
        R('CallMannerType', USHORT, 0),  # 16: reserved (ICM CallMannerType) | 0
        F('ConsultType', USHORT),  # 18: ConsultType | 0 unspecified, 1 transfer, 2 conference
        R('AlertRings', USHORT, 0),  # 20: reserved (ICM AlertRings) | 0
        R('CallOption', USHORT, 0),  # 22: reserved (ICM CallOption) | 0
        R('FacilityType', USHORT, 0),  # 24: reserved (ICM FacilityType) | 0
        R('AnsweringMachine', USHORT, 0),  # 26: reserved (ICM AnsweringMachine) | 0
        R('Priority', BOOL, 0),  # 28: reserved (ICM Priority) | 0
        R('PostRoute', BOOL, 0),  # 30: reserved (ICM PostRoute) | 0
        F('NumNamedVariables', USHORT),  # 32: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 34: NumNamedArrays
    ),
    floating=(
        T(50, 'ActiveConnectionDeviceID', STRING, 64, REQ),  # ActiveConnectionDeviceID
        T(11, 'DialedNumber', STRING, 40, REQ),  # DialedNumber consult destination
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo ICM-derived
        *_callvars(41),  # 13..22 CallVariable1..10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData ICM-derived
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable ICM-derived
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray ICM-derived
    ),
)

# CONSULT_CALL_CONF (51) S->C; layout source C
_msg(MT.CONSULT_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NewCallID', UINT),  # 4: NewCallID | resulting call
        F('NewConnectionDeviceType', USHORT),  # 8: NewConnectionDeviceType | 6.16
        R('LineHandle', USHORT, 65535),  # 10: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 3),  # 12: reserved (ICM LineType) | 3
    ),
    floating=(
        T(47, 'NewConnectionDeviceID', STRING, 64, REQ),  # NewConnectionDeviceID
    ),
)

# TRANSFER_CALL_REQ (64) C->S; layout source C
_msg(MT.TRANSFER_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ActiveCallID', UINT),  # 8: ActiveCallID | consult call
        F('HeldCallID', UINT),  # 12: HeldCallID | original call; 0xFFFFFFFF = single-step (ICM)
        F('ActiveConnectionDeviceType', USHORT),  # 16: ActiveConnectionDeviceType
        F('HeldConnectionDeviceType', USHORT),  # 18: HeldConnectionDeviceType | 0xFFFF if single-step
        R('CallPlacementType', USHORT, 0),  # 20: reserved (ICM CallPlacementType) | 0
        R('CallMannerType', USHORT, 0),  # 22: reserved (ICM CallMannerType) | 0
        R('AlertRings', USHORT, 0),  # 24: reserved (ICM AlertRings) | 0
        R('CallOption', USHORT, 0),  # 26: reserved (ICM CallOption) | 0
        R('FacilityType', USHORT, 0),  # 28: reserved (ICM FacilityType) | 0
        R('AnsweringMachine', USHORT, 0),  # 30: reserved (ICM AnsweringMachine) | 0
        R('Priority', BOOL, 0),  # 32: reserved (ICM Priority) | 0
        R('PostRoute', BOOL, 0),  # 34: reserved (ICM PostRoute) | 0
        F('NumNamedVariables', USHORT),  # 36: NumNamedVariables | count of tag-82 fields
        F('NumNamedArrays', USHORT),  # 38: NumNamedArrays | count of tag-83 fields
    ),
    floating=(
        T(50, 'ActiveConnectionDeviceID', STRING, 64, REQ),  # ActiveConnectionDeviceID
        T(53, 'HeldConnectionDeviceID', STRING, 64, OPT),  # HeldConnectionDeviceID omit for single-step (blind) transfer
        T(11, 'DialedNumber', STRING, 40, 'single-step'),  # DialedNumber blind-transfer destination (ICM rule)
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo ICM-derived
        *_callvars(41),  # 13..22 CallVariable1..10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData ICM-derived
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable ICM-derived
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray ICM-derived
    ),
)

# TRANSFER_CALL_CONF (65) S->C; layout source C
_msg(MT.TRANSFER_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NewCallID', UINT),  # 4: NewCallID | resulting call
        F('NewConnectionDeviceType', USHORT),  # 8: NewConnectionDeviceType | 6.16
        F('NumParties', USHORT),  # 10: NumParties | <=16
        R('LineHandle', USHORT, 65535),  # 12: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 3),  # 14: reserved (ICM LineType) | 3
    ),
    floating=(
        T(47, 'NewConnectionDeviceID', STRING, 64, REQ),  # NewConnectionDeviceID
        _parties(),  # ConnectedPartyCallID, ConnectedPartyDeviceType, ConnectedPartyDeviceID; repeated NumParties times
    ),
)

# CONFERENCE_CALL_REQ (48) C->S; layout source C
_msg(MT.CONFERENCE_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('HeldCallID', UINT),  # 8: HeldCallID | 0xFFFFFFFF if single-step (ICM)
        F('ActiveCallID', UINT),  # 12: ActiveCallID
        F('HeldConnectionDeviceType', USHORT),  # 16: HeldConnectionDeviceType | 0xFFFF (NONE) if single-step
        F('ActiveConnectionDeviceType', USHORT),  # 18: ActiveConnectionDeviceType
        R('CallPlacementType', USHORT, 0),  # 20: reserved (ICM CallPlacementType) | 0
        R('CallMannerType', USHORT, 0),  # 22: reserved (ICM CallMannerType) | 0
        R('AlertRings', USHORT, 0),  # 24: reserved (ICM AlertRings) | 0
        R('CallOption', USHORT, 0),  # 26: reserved (ICM CallOption) | 0
        R('FacilityType', USHORT, 0),  # 28: reserved (ICM FacilityType) | 0
        R('AnsweringMachine', USHORT, 0),  # 30: reserved (ICM AnsweringMachine) | 0
        R('Priority', BOOL, 0),  # 32: reserved (ICM Priority) | 0
        R('PostRoute', BOOL, 0),  # 34: reserved (ICM PostRoute) | 0
        F('NumNamedVariables', USHORT),  # 36: NumNamedVariables | count of tag-82 fields
        F('NumNamedArrays', USHORT),  # 38: NumNamedArrays | count of tag-83 fields
    ),
    floating=(
        T(50, 'ActiveConnectionDeviceID', STRING, 64, REQ),  # ActiveConnectionDeviceID
        T(53, 'HeldConnectionDeviceID', STRING, 64, OPT),  # HeldConnectionDeviceID omit for single-step conference
        T(6, 'AgentInstrument', STRING, 64, REQ),  # AgentInstrument
        T(11, 'DialedNumber', STRING, 40, 'single-step'),  # DialedNumber number to conference in (single-step)
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo ICM-derived
        *_callvars(41),  # 13..22 CallVariable1..10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData ICM-derived
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable ICM-derived
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray ICM-derived
    ),
)

# CONFERENCE_CALL_CONF (49) S->C; layout source C
_msg(MT.CONFERENCE_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NewCallID', UINT),  # 4: NewCallID | resulting call
        F('NewConnectionDeviceType', USHORT),  # 8: NewConnectionDeviceType | 6.16
        F('NumParties', USHORT),  # 10: NumParties | <=16
        R('LineHandle', USHORT, 65535),  # 12: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 3),  # 14: reserved (ICM LineType) | 3
    ),
    floating=(
        T(47, 'NewConnectionDeviceID', STRING, 64, REQ),  # NewConnectionDeviceID
        _parties(),  # ConnectedPartyCallID, ConnectedPartyDeviceType, ConnectedPartyDeviceID; repeated NumParties times
    ),
)

# ALTERNATE_CALL_REQ (40) C->S; layout source C
_msg(MT.ALTERNATE_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ActiveCallID', UINT),  # 8: ActiveCallID
        F('OtherCallID', UINT),  # 12: OtherCallID
        F('ActiveConnectionDeviceType', USHORT),  # 16: ActiveConnectionDeviceType | 6.16
        F('OtherConnectionDeviceType', USHORT),  # 18: OtherConnectionDeviceType | 6.16
    ),
    floating=(
        T(50, 'ActiveConnectionDeviceID', STRING, 64, REQ),  # ActiveConnectionDeviceID
        T(52, 'OtherConnectionDeviceID', STRING, 64, REQ),  # OtherConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# ALTERNATE_CALL_CONF (41) S->C; layout source C
_msg(MT.ALTERNATE_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# RECONNECT_CALL_REQ (60) C->S; layout source C
_msg(MT.RECONNECT_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ActiveCallID', UINT),  # 8: ActiveCallID | call to clear
        F('HeldCallID', UINT),  # 12: HeldCallID | call to retrieve
        F('ActiveConnectionDeviceType', USHORT),  # 16: ActiveConnectionDeviceType
        F('HeldConnectionDeviceType', USHORT),  # 18: HeldConnectionDeviceType
    ),
    floating=(
        T(50, 'ActiveConnectionDeviceID', STRING, 64, REQ),  # ActiveConnectionDeviceID
        T(53, 'HeldConnectionDeviceID', STRING, 64, REQ),  # HeldConnectionDeviceID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# RECONNECT_CALL_CONF (61) S->C; layout source C
_msg(MT.RECONNECT_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# SEND_DTMF_SIGNAL_REQ (91) C->S; layout source C
_msg(MT.SEND_DTMF_SIGNAL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
        F('ToneDuration', USHORT),  # 14: ToneDuration | ms
        F('PauseDuration', UINT),  # 16: PauseDuration | ms (UINT since ICM v9)
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(67, 'DTMFString', STRING, 32, REQ),  # DTMFString digits 0-9 * #
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# SEND_DTMF_SIGNAL_CONF (92) S->C; layout source C
_msg(MT.SEND_DTMF_SIGNAL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# SET_CALL_DATA_REQ (26) C->S; layout source C
_msg(MT.SET_CALL_DATA_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
        F('CallID', UINT),  # 10: CallID
        F('NumNamedVariables', USHORT),  # 14: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 16: NumNamedArrays
        F('CallType', USHORT),  # 18: CallType | 6.17
        F('CalledPartyDisposition', USHORT),  # 20: CalledPartyDisposition | 6.18
        R('CampaignID', UINT, 0),  # 22: reserved (ICM CampaignID) | 0
        R('QueryRuleID', UINT, 1),  # 26: reserved (ICM QueryRuleID) | 1
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(8, 'ANI', STRING, 40, OPT),  # ANI
        T(12, 'CallerEnteredDigits', STRING, 40, OPT),  # CallerEnteredDigits
        # 13..22 CallVariable1..10: the UCCX page prints 40, ICM 41 (40 characters + NUL); 41 as in every other
        # message, the events the server sends included: a client can set back a variable it was given
        *_callvars(41),
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo
        T(10, 'DNIS', STRING, 32, OPT),  # DNIS
        T(11, 'DialedNumber', STRING, 40, OPT),  # DialedNumber
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData
        T(95, 'CustomerPhoneNumber', STRING, 20, OPT),  # CustomerPhoneNumber ICM
        T(96, 'CustomerAccountNumber', STRING, 32, OPT),  # CustomerAccountNumber ICM
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable used by UCCX outbound (BAResponse etc.)
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray
    ),
)

# SET_CALL_DATA_CONF (27) S->C; layout source C
_msg(MT.SET_CALL_DATA_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# QUERY_DEVICE_INFO_REQ (78) C->S; layout source C
_msg(MT.QUERY_DEVICE_INFO_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('Reserved', USHORT, 0),  # 8: reserved | 0
    ),
    floating=(
        T(6, 'AgentInstrument', STRING, 64, REQ),  # AgentInstrument
    ),
)

# QUERY_DEVICE_INFO_CONF (79) S->C; layout source C
_msg(MT.QUERY_DEVICE_INFO_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        R('PeripheralType', USHORT, 65535),  # 4: reserved (ICM PeripheralType) | 0xFFFF (-1)
        R('TypeOfDevice', USHORT, 65535),  # 6: reserved (ICM TypeOfDevice) | 0xFFFF
        R('ClassOfDevice', USHORT, 65535),  # 8: reserved (ICM ClassOfDevice) | 0xFFFF
        R('NumLines', USHORT, 0),  # 10: reserved (ICM NumLines) | 0
        R('Reserved', USHORT, 0),  # 12: reserved | 0
        F('MaxActiveCalls', USHORT),  # 14: MaxActiveCalls
        F('MaxHeldCalls', USHORT),  # 16: MaxHeldCalls | 0xFFFF if unknown
        F('MaxDevicesInConference', USHORT),  # 18: MaxDevicesInConference | 0xFFFF if unknown
        F('MakeCallSetup', UINT),  # 20: MakeCallSetup | agent-state mask bits in which MAKE_CALL_REQ is allowed
        R('TransferConferenceSetup', UINT, 0),  # 24: reserved (ICM TransferConferenceSetup) | 0
        R('CallEventsSupported', UINT, 0),  # 28: reserved (ICM CallEventsSupported) | 0
        R('CallControlSupported', UINT, 0),  # 32: reserved (ICM CallControlSupported) | 0
        R('OtherFeaturesSupported', UINT, 0),  # 36: reserved (ICM OtherFeaturesSupported) | 0
    ),
    floating=(
        T(70, 'LineHandle', USHORT, 2, OPT, reserved=True),  # reserved (ICM LineHandle) 0
        T(71, 'LineType', USHORT, 2, OPT, reserved=True),  # reserved (ICM LineType) 0
    ),
)

# SNAPSHOT_CALL_REQ (82) C->S; layout source C (the UCCX page) and I (ICM guides v14/v15)
# protocol.md §5.3 prints ConnectionDeviceType at 8 and CallID at 10; the UCCX page
# (developer.cisco.com/docs/contact-center-express/snapshot_call_req) and the ICM guides' table
# "SNAPSHOT_CALL_REQ Message Format" both give CallID (ICM ConnectionCallID) UINT at 8, then
# ConnectionDeviceType USHORT at 12 -- followed here (tests/wire/test_golden.py).
_msg(MT.SNAPSHOT_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID (ICM ConnectionCallID)
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
    ),
)

# SNAPSHOT_CALL_CONF (83) S->C; layout source U
_msg(MT.SNAPSHOT_CALL_CONF, S2C, 'U',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('CallType', USHORT),  # 4: CallType | 6.17 (ICM); the UCCX page: "This value is set to 0." (the center sends 0 under uccx)
        R('NumCTIClients', USHORT, 0),  # 6: reserved (ICM NumCTIClients) | 0
        F('NumCallDevices', USHORT),  # 8: NumCallDevices | <=16
        F('NumNamedVariables', USHORT),  # 10: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 12: NumNamedArrays
        R('CalledPartyDisposition', USHORT, 0),  # 14: reserved (ICM CalledPartyDisposition) | 0
        R('ReservedV11', INT, 0, since=11, unconfirmed=True),  # 16: reserved (v11) | 0
    ),
    floating=(
        T(8, 'ANI', STRING, 40, OPT),  # ANI calling line ID
        T(215, 'ANI_II', STRING, 2, OPT, since=11),  # ANI_II not populated (v11, reference §3.2 line 119)
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo
        T(10, 'DNIS', STRING, 32, OPT),  # DNIS
        T(11, 'DialedNumber', STRING, 40, OPT),  # DialedNumber
        T(12, 'CallerEnteredDigits', STRING, 40, OPT),  # CallerEnteredDigits
        # RouterCallKeyDay/CallID: the reference has "ICM; normally absent on UCCX", but the UCCX page
        # (developer.cisco.com/docs/contact-center-express/snapshot_call_conf) prints "reserved[72] (required)
        # | This value is set to 0." and "reserved [73] (required)": the center sends both, 0, to UCCX sessions
        # (ICM: optional; the encoder and decoder take either)
        T(72, 'RouterCallKeyDay', UINT, 4, OPT),  # RouterCallKeyDay
        T(73, 'RouterCallKeyCallID', UINT, 4, OPT),  # RouterCallKeyCallID
        T(110, 'RouterCallKeySequenceNumber', UINT, 4, OPT),  # RouterCallKeySequenceNumber ICM; not on the UCCX page
        *_callvars(41),  # 13..22 CallVariable1..CallVariable10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable (ECC variable) repeat NumNamedVariables times; all NAMEDVAR+NAMEDARRAY <= 2000 bytes
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray repeat NumNamedArrays times
        G("call_devices", "CallDevice", "NumCallDevices",
          T(56, 'CallConnectionCallID', UINT, 4),  # CallConnectionCallID group repeated NumCallDevices times
          T(57, 'CallConnectionDeviceType', USHORT, 2),  # CallConnectionDeviceType
          T(58, 'CallConnectionDeviceID', STRING, 64),  # CallConnectionDeviceID
          T(59, 'CallDeviceType', USHORT, 2),  # CallDeviceType
          T(60, 'CallDeviceID', STRING, 64),  # CallDeviceID
          T(61, 'CallDeviceConnectionState', USHORT, 2),  # CallDeviceConnectionState LCS
          doc="A device on the call (SNAPSHOT_CALL_CONF)."),
    ),
)

# SNAPSHOT_DEVICE_REQ (84) C->S; layout source U
_msg(MT.SNAPSHOT_DEVICE_REQ, C2S, 'U',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('SnapshotDeviceType', USHORT),  # 8: SnapshotDeviceType | DeviceType
    ),
    floating=(
        T(6, 'AgentInstrument', STRING, 64, REQ),  # AgentInstrument
    ),
)

# SNAPSHOT_DEVICE_CONF (85) S->C; layout source U
_msg(MT.SNAPSHOT_DEVICE_CONF, S2C, 'U',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NumCalls', USHORT),  # 4: NumCalls | <=16
    ),
    floating=(
        G("calls", "DeviceCall", "NumCalls",
          T(56, 'CallConnectionCallID', UINT, 4),  # CallConnectionCallID
          T(57, 'CallConnectionDeviceType', USHORT, 2),  # CallConnectionDeviceType
          T(58, 'CallConnectionDeviceID', STRING, 64),  # CallConnectionDeviceID
          # CallState LCS: ICM's CALL_STATE_TAG, 75 (the ICM guides' tag table, "CALL_STATE_TAG |
          # SNAPSHOT_DEVICE_CONF | 75"); the UCCX page (developer.cisco.com/docs/contact-center-express/
          # snapshot_device_conf) prints the row "CallDeviceConnectionState[61] (optional) | The active state
          # of the call (LocalConnectionState (LCS) Values). There can be more than one CallState field ..."
          # -- tag 61, ICM's CALL_DEV_CONN_STATE_TAG, in UCCX sessions (its text's "CallState" name: U)
          T(75, 'CallState', USHORT, 2, tags={"uccx": 61}, unconfirmed=True),
          doc="A call at the device (SNAPSHOT_DEVICE_CONF)."),
    ),
)

# BEGIN_CALL_EVENT (23) S->C; layout source C
_msg(MT.BEGIN_CALL_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('NumCTIClients', USHORT),  # 10: NumCTIClients | number of CTIClientSignature/Timestamp pairs
        F('NumNamedVariables', USHORT),  # 12: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 14: NumNamedArrays
        F('CallType', USHORT),  # 16: CallType | 6.17
        F('ConnectionDeviceType', USHORT),  # 18: ConnectionDeviceType
        F('CallID', UINT),  # 20: CallID
        F('CalledPartyDisposition', USHORT),  # 24: CalledPartyDisposition | 6.18
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(8, 'ANI', STRING, 40, OPT),  # ANI calling line ID
        T(215, 'ANI_II', STRING, 2, OPT, since=11),  # ANI_II not populated (v11, reference §3.2 line 119)
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo
        T(10, 'DNIS', STRING, 32, OPT),  # DNIS
        T(11, 'DialedNumber', STRING, 40, OPT),  # DialedNumber
        T(12, 'CallerEnteredDigits', STRING, 40, OPT),  # CallerEnteredDigits
        T(72, 'RouterCallKeyDay', UINT, 4, OPT),  # RouterCallKeyDay ICM; normally absent on UCCX
        T(73, 'RouterCallKeyCallID', UINT, 4, OPT),  # RouterCallKeyCallID ICM; normally absent on UCCX
        T(110, 'RouterCallKeySequenceNumber', UINT, 4, OPT),  # RouterCallKeySequenceNumber ICM; normally absent on UCCX
        *_callvars(41),  # 13..22 CallVariable1..CallVariable10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable (ECC variable) repeat NumNamedVariables times; all NAMEDVAR+NAMEDARRAY <= 2000 bytes
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray repeat NumNamedArrays times
        _cti_clients(),  # CTIClientSignature then CTIClientTimestamp; repeated NumCTIClients times
        T(223, 'CallReferenceID', UNSPEC, 32, OPT),  # CallReferenceID ICM v14
    ),
    doc='Always precedes any other event for the call (optional message).',
)

# END_CALL_EVENT (24) S->C; layout source C
_msg(MT.END_CALL_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 0
        F('CallID', UINT),  # 12: CallID
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID may be empty in UCCX examples
    ),
)

# CALL_DATA_UPDATE_EVENT (25) S->C; layout source C
_msg(MT.CALL_DATA_UPDATE_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('NumCTIClients', USHORT),  # 10: NumCTIClients | 0
        F('NumNamedVariables', USHORT),  # 12: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 14: NumNamedArrays
        F('CallType', USHORT),  # 16: CallType
        F('ConnectionDeviceType', USHORT),  # 18: ConnectionDeviceType | 0
        F('CallID', UINT),  # 20: CallID | previous call ID
        F('NewConnectionDeviceType', USHORT),  # 24: NewConnectionDeviceType
        F('NewCallID', UINT),  # 26: NewCallID | new call ID
        F('CalledPartyDisposition', USHORT),  # 30: CalledPartyDisposition
        R('CampaignID', UINT, 0),  # 32: reserved (ICM CampaignID) | 0
        R('QueryRuleID', UINT, 0),  # 36: reserved (ICM QueryRuleID) | 0
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(47, 'NewConnectionDeviceID', STRING, 64, REQ),  # NewConnectionDeviceID
        T(8, 'ANI', STRING, 40, OPT),  # ANI calling line ID
        T(215, 'ANI_II', STRING, 2, OPT, since=11),  # ANI_II not populated (v11, reference §3.2 line 119)
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo
        T(10, 'DNIS', STRING, 32, OPT),  # DNIS
        T(11, 'DialedNumber', STRING, 40, OPT),  # DialedNumber
        T(12, 'CallerEnteredDigits', STRING, 40, OPT),  # CallerEnteredDigits
        T(72, 'RouterCallKeyDay', UINT, 4, OPT),  # RouterCallKeyDay ICM; normally absent on UCCX
        T(73, 'RouterCallKeyCallID', UINT, 4, OPT),  # RouterCallKeyCallID ICM; normally absent on UCCX
        T(110, 'RouterCallKeySequenceNumber', UINT, 4, OPT),  # RouterCallKeySequenceNumber ICM; normally absent on UCCX
        *_callvars(41),  # 13..22 CallVariable1..CallVariable10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable (ECC variable) repeat NumNamedVariables times; all NAMEDVAR+NAMEDARRAY <= 2000 bytes
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray repeat NumNamedArrays times
        T(95, 'CustomerPhoneNumber', STRING, 20, OPT),  # CustomerPhoneNumber
        T(96, 'CustomerAccountNumber', STRING, 32, OPT),  # CustomerAccountNumber
        _cti_clients(),  # CTIClientSignature then CTIClientTimestamp; repeated NumCTIClients times
        T(223, 'CallReferenceID', UNSPEC, 32, OPT),  # CallReferenceID
    ),
    doc='Only changed items are sent. MUST be sent when UCCX changes the call ID without another event (1-2-1 transfer through a route point). UCCX examples show CampaignID/QueryRuleID printed, confirming the two trailing UINTs.',
)

# CALL_DELIVERED_EVENT (9) S->C; layout source C
_msg(MT.CALL_DELIVERED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        F('lineType', USHORT),  # 18: lineType (v14+; ICM LineType) | 3 business / 10 non-business
        F('ApplicationID', UINT),  # 20: ApplicationID (ICM ServiceNumber) | 0xFFFFFFFF if none
        R('ServiceID', UINT, 4294967295),  # 24: reserved (ICM ServiceID) | 0xFFFFFFFF
        F('CSQID', UINT),  # 28: CSQID (ICM SkillGroupNumber) | 0xFFFFFFFF if none
        R('SkillGroupID', UINT, 4294967295),  # 32: reserved (ICM SkillGroupID) | 0xFFFFFFFF
        R('SkillGroupPriority', USHORT, 0),  # 36: reserved (ICM SkillGroupPriority) | 0
        F('AlertingDeviceType', USHORT),  # 38: AlertingDeviceType | 6.15
        F('CallingDeviceType', USHORT),  # 40: CallingDeviceType
        F('CalledDeviceType', USHORT),  # 42: CalledDeviceType
        F('LastRedirectDeviceType', USHORT),  # 44: LastRedirectDeviceType
        F('LocalConnectionState', USHORT),  # 46: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 48: EventCause | 6.11
        F('NumNamedVariables', USHORT),  # 50: NumNamedVariables
        F('NumNamedArrays', USHORT),  # 52: NumNamedArrays
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(26, 'AlertingDeviceID', STRING, 64, OPT),  # AlertingDeviceID
        T(27, 'CallingDeviceID', STRING, 64, OPT),  # CallingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
        T(29, 'LastRedirectDeviceID', STRING, 64, OPT),  # LastRedirectDeviceID
        T(121, 'TrunkNumber', UINT, 4, OPT),  # TrunkNumber
        T(122, 'TrunkGroupNumber', UINT, 4, OPT),  # TrunkGroupNumber
        T(202, 'SecondaryConnectionCallID', UINT, 4, OPT),  # SecondaryConnectionCallID consult call placed from CTI port to agent (UCCX-specific meaning in ICM doc)
        T(8, 'ANI', STRING, 40, OPT),  # ANI calling line ID
        T(215, 'ANI_II', STRING, 2, OPT, since=11),  # ANI_II not populated (v11, reference §3.2 line 119)
        T(9, 'UserToUserInfo', UNSPEC, 131, OPT),  # UserToUserInfo
        T(10, 'DNIS', STRING, 32, OPT),  # DNIS
        T(11, 'DialedNumber', STRING, 40, OPT),  # DialedNumber
        T(12, 'CallerEnteredDigits', STRING, 40, OPT),  # CallerEnteredDigits
        T(72, 'RouterCallKeyDay', UINT, 4, OPT),  # RouterCallKeyDay ICM; normally absent on UCCX
        T(73, 'RouterCallKeyCallID', UINT, 4, OPT),  # RouterCallKeyCallID ICM; normally absent on UCCX
        T(110, 'RouterCallKeySequenceNumber', UINT, 4, OPT),  # RouterCallKeySequenceNumber ICM; normally absent on UCCX
        *_callvars(41),  # 13..22 CallVariable1..CallVariable10
        T(46, 'CallWrapupData', STRING, 40, OPT),  # CallWrapupData
        T(82, 'NamedVariable', NAMEDVAR, 251, OPT),  # NamedVariable (ECC variable) repeat NumNamedVariables times; all NAMEDVAR+NAMEDARRAY <= 2000 bytes
        T(83, 'NamedArray', NAMEDARRAY, 252, OPT),  # NamedArray repeat NumNamedArrays times
    ),
    doc='LCS distinguishes arrival at a route point/queue vs alerting at an agent phone (LCS_ALERTING=2).',
)

# CALL_ESTABLISHED_EVENT (10) S->C; layout source C
_msg(MT.CALL_ESTABLISHED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        F('lineType', USHORT),  # 18: lineType (v14+; ICM LineType) | 3 business / 10 non-business
        F('ApplicationID', UINT),  # 20: ApplicationID (ICM ServiceNumber) | 0xFFFFFFFF if none
        R('ServiceID', UINT, 4294967295),  # 24: reserved (ICM ServiceID) | 0xFFFFFFFF
        F('CSQID', UINT),  # 28: CSQID (ICM SkillGroupNumber) | 0xFFFFFFFF if none
        R('SkillGroupID', UINT, 4294967295),  # 32: reserved (ICM SkillGroupID) | 0xFFFFFFFF
        R('SkillGroupPriority', USHORT, 0),  # 36: reserved (ICM SkillGroupPriority) | 0
        F('AnsweringDeviceType', USHORT),  # 38: AnsweringDeviceType
        F('CallingDeviceType', USHORT),  # 40: CallingDeviceType
        F('CalledDeviceType', USHORT),  # 42: CalledDeviceType
        F('LastRedirectDeviceType', USHORT),  # 44: LastRedirectDeviceType
        F('LocalConnectionState', USHORT),  # 46: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 48: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(30, 'AnsweringDeviceID', STRING, 64, OPT),  # AnsweringDeviceID
        T(27, 'CallingDeviceID', STRING, 64, OPT),  # CallingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
        T(29, 'LastRedirectDeviceID', STRING, 64, OPT),  # LastRedirectDeviceID
        T(121, 'TrunkNumber', UINT, 4, OPT),  # TrunkNumber
        T(122, 'TrunkGroupNumber', UINT, 4, OPT),  # TrunkGroupNumber
    ),
)

# CALL_HELD_EVENT (11) S->C; layout source C
_msg(MT.CALL_HELD_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('HoldingDeviceType', USHORT),  # 16: HoldingDeviceType
        F('LocalConnectionState', USHORT),  # 18: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 20: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(31, 'HoldingDeviceID', STRING, 64, OPT),  # HoldingDeviceID
    ),
)

# CALL_RETRIEVED_EVENT (12) S->C; layout source C
_msg(MT.CALL_RETRIEVED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('RetrievingDeviceType', USHORT),  # 16: RetrievingDeviceType
        F('LocalConnectionState', USHORT),  # 18: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 20: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(32, 'RetrievingDeviceID', STRING, 64, OPT),  # RetrievingDeviceID
    ),
)

# CALL_CLEARED_EVENT (13) S->C; layout source C
_msg(MT.CALL_CLEARED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | UCCX page: reserved, 0
        F('CallID', UINT),  # 12: CallID
        F('LocalConnectionState', USHORT),  # 16: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 18: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
    ),
)

# CALL_CONNECTION_CLEARED_EVENT (14) S->C; layout source C
_msg(MT.CALL_CONNECTION_CLEARED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('ReleasingDeviceType', USHORT),  # 16: ReleasingDeviceType
        F('LocalConnectionState', USHORT),  # 18: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 20: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(33, 'ReleasingDeviceID', STRING, 64, REQ),  # ReleasingDeviceID UCCX page marks it required
    ),
)

# CALL_ORIGINATED_EVENT (15) S->C; layout source C
_msg(MT.CALL_ORIGINATED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 3),  # 18: reserved (ICM LineType) | 3 monitored call / 10 other
        F('ApplicationID', UINT),  # 20: ApplicationID
        R('Reserved', UINT, 4294967295),  # 24: reserved | 0xFFFFFFFF
        F('CSQID', UINT),  # 28: CSQID
        R('Reserved2', UINT, 4294967295),  # 32: reserved | 0xFFFFFFFF
        R('Reserved3', USHORT, 0),  # 36: reserved | 0
        F('CallingDeviceType', USHORT),  # 38: CallingDeviceType
        F('CalledDeviceType', USHORT),  # 40: CalledDeviceType
        F('LocalConnectionState', USHORT),  # 42: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 44: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(27, 'CallingDeviceID', STRING, 64, OPT),  # CallingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
    ),
)

# CALL_FAILED_EVENT (16) S->C; layout source C
_msg(MT.CALL_FAILED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('FailingDeviceType', USHORT),  # 16: FailingDeviceType
        F('CalledDeviceType', USHORT),  # 18: CalledDeviceType
        F('LocalConnectionState', USHORT),  # 20: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 22: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(34, 'FailingDeviceID', STRING, 64, OPT),  # FailingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
    ),
)

# CALL_CONFERENCED_EVENT (17) S->C; layout source C
_msg(MT.CALL_CONFERENCED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('PrimaryDeviceType', USHORT),  # 10: PrimaryDeviceType | connection type
        F('PrimaryCallID', UINT),  # 12: PrimaryCallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        F('lineType', USHORT),  # 18: lineType (v14+) | 3/10
        R('SkillGroupNumber', UINT, 4294967295),  # 20: reserved (ICM SkillGroupNumber) | 0xFFFFFFFF
        R('SkillGroupID', UINT, 4294967295),  # 24: reserved (ICM SkillGroupID) | 0xFFFFFFFF
        R('SkillGroupPriority', USHORT, 0),  # 28: reserved (ICM SkillGroupPriority) | 0
        F('NumParties', USHORT),  # 30: NumParties | <=16
        F('SecondaryDeviceType', USHORT),  # 32: SecondaryDeviceType
        F('SecondaryCallID', UINT),  # 34: SecondaryCallID
        F('ControllerDeviceType', USHORT),  # 38: ControllerDeviceType
        F('AddedPartyDeviceType', USHORT),  # 40: AddedPartyDeviceType
        F('LocalConnectionState', USHORT),  # 42: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 44: EventCause | 6.11
    ),
    floating=(
        T(35, 'PrimaryDeviceID', STRING, 64, REQ),  # PrimaryDeviceID
        T(36, 'SecondaryDeviceID', STRING, 64, REQ),  # SecondaryDeviceID
        T(37, 'ControllerDeviceID', STRING, 64, OPT),  # ControllerDeviceID
        T(38, 'AddedPartyDeviceID', STRING, 64, OPT),  # AddedPartyDeviceID
        _parties(),  # ConnectedPartyCallID, ConnectedPartyDeviceType, ConnectedPartyDeviceID; repeated NumParties times
    ),
    doc='Must be sent after any CALL_DELIVERED_EVENT for the secondary call, even for blind conference.',
)

# CALL_TRANSFERRED_EVENT (18) S->C; layout source C
_msg(MT.CALL_TRANSFERRED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('PrimaryDeviceType', USHORT),  # 10: PrimaryDeviceType
        F('PrimaryCallID', UINT),  # 12: PrimaryCallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        F('lineType', USHORT),  # 18: lineType (v14+) | 3/10
        R('SkillGroupNumber', UINT, 4294967295),  # 20: reserved (ICM SkillGroupNumber) | 0xFFFFFFFF
        R('SkillGroupID', UINT, 4294967295),  # 24: reserved (ICM SkillGroupID) | 0xFFFFFFFF
        R('SkillGroupPriority', USHORT, 0),  # 28: reserved (ICM SkillGroupPriority) | 0
        F('NumParties', USHORT),  # 30: NumParties | <=16
        F('SecondaryDeviceType', USHORT),  # 32: SecondaryDeviceType
        F('SecondaryCallID', UINT),  # 34: SecondaryCallID
        F('TransferringDeviceType', USHORT),  # 38: TransferringDeviceType
        F('TransferredDeviceType', USHORT),  # 40: TransferredDeviceType
        F('LocalConnectionState', USHORT),  # 42: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 44: EventCause | 6.11
    ),
    floating=(
        T(35, 'PrimaryDeviceID', STRING, 64, REQ),  # PrimaryDeviceID
        T(36, 'SecondaryDeviceID', STRING, 64, REQ),  # SecondaryDeviceID
        T(42, 'TransferringDeviceID', STRING, 64, OPT),  # TransferringDeviceID
        T(43, 'TransferredDeviceID', STRING, 64, OPT),  # TransferredDeviceID
        _parties(),  # ConnectedPartyCallID, ConnectedPartyDeviceType, ConnectedPartyDeviceID; repeated NumParties times
    ),
    doc='Must be sent after any CALL_DELIVERED_EVENT for the secondary call.',
)

# CALL_DIVERTED_EVENT (19) S->C; layout source C
_msg(MT.CALL_DIVERTED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('ApplicationID', UINT),  # 16: ApplicationID (ICM ServiceNumber)
        R('ServiceID', UINT, 4294967295),  # 20: reserved (ICM ServiceID) | 0xFFFFFFFF
        F('DivertingDeviceType', USHORT),  # 24: DivertingDeviceType
        F('CalledDeviceType', USHORT),  # 26: CalledDeviceType
        F('LocalConnectionState', USHORT),  # 28: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 30: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(44, 'DivertingDeviceID', STRING, 64, OPT),  # DivertingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
    ),
)

# CALL_SERVICE_INITIATED_EVENT (20) S->C; layout source C
_msg(MT.CALL_SERVICE_INITIATED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        R('LineHandle', USHORT, 65535),  # 16: reserved (ICM LineHandle) | 0xFFFF
        R('ReservedLineType', USHORT, 3),  # 18: reserved (ICM LineType) | 3
        F('ApplicationID', UINT),  # 20: ApplicationID
        R('Reserved', UINT, 4294967295),  # 24: reserved | 0xFFFFFFFF
        F('CSQID', UINT),  # 28: CSQID
        R('Reserved2', UINT, 4294967295),  # 32: reserved | 0xFFFFFFFF
        F('lineType', USHORT),  # 36: lineType (v14+, in ICM SkillGroupPriority slot) | 3/10
        F('CallingDeviceType', USHORT),  # 38: CallingDeviceType
        F('LocalConnectionState', USHORT),  # 40: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 42: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(27, 'CallingDeviceID', STRING, 64, OPT),  # CallingDeviceID
        T(229, 'COCConnectionCallID', UINT, 4, OPT),  # COCConnectionCallID ICM v14
        T(230, 'COCCallConnectionDeviceIDType', USHORT, 2, OPT),  # COCCallConnectionDeviceIDType ICM v14
        T(231, 'COCCallConnectionDeviceID', STRING, 64, OPT),  # COCCallConnectionDeviceID ICM v14
    ),
)

# CALL_QUEUED_EVENT (21) S->C; layout source C
_msg(MT.CALL_QUEUED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        R('PeripheralType', USHORT, 21),  # 8: reserved (ICM PeripheralType) | 21 (PT_ACMI_CRS)
        F('ConnectionDeviceType', USHORT),  # 10: ConnectionDeviceType | 6.16
        F('CallID', UINT),  # 12: CallID
        F('ApplicationID', UINT),  # 16: ApplicationID | page prints "ApplicationID[77]" - fixed field, bracket is a doc artifact
        R('ServiceID', UINT, 4294967295),  # 20: reserved (ICM ServiceID) | 0xFFFFFFFF
        F('QueueDeviceType', USHORT),  # 24: QueueDeviceType
        F('CallingDeviceType', USHORT),  # 26: CallingDeviceType
        F('CalledDeviceType', USHORT),  # 28: CalledDeviceType
        F('LastRedirectDeviceType', USHORT),  # 30: LastRedirectDeviceType
        R('NumQueued', USHORT, 0),  # 32: reserved (ICM NumQueued) | 0
        F('NumCSQs', USHORT),  # 34: NumCSQs (ICM NumSkillGroups) | <=20
        F('LocalConnectionState', USHORT),  # 36: LocalConnectionState | 6.14
        F('EventCause', USHORT),  # 38: EventCause | 6.11
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(45, 'QueueDeviceID', STRING, 64, OPT),  # QueueDeviceID
        T(27, 'CallingDeviceID', STRING, 64, OPT),  # CallingDeviceID
        T(28, 'CalledDeviceID', STRING, 64, OPT),  # CalledDeviceID
        T(29, 'LastRedirectDeviceID', STRING, 64, OPT),  # LastRedirectDeviceID
        G("csqs", "QueuedCSQ", "NumCSQs",
          T(62, "CSQID", INT),  # CSQID (ICM SkillGroupNumber), an INT here
          T(63, "SkillGroupID", UINT, reserved=True),
          T(64, "SkillGroupPriority", USHORT, reserved=True),
          doc="A CSQ the call is queued for."),
    ),
    doc='Agent-mode clients get it for queued outbound calls; bridge clients also for inbound queued calls.',
)

# RTP_STARTED_EVENT (116) S->C; layout source C
_msg(MT.RTP_STARTED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('clientPort', UINT),  # 8: clientPort | TCP/IP port of the client connection
        F('Direction', USHORT),  # 12: Direction | 0 input, 1 output, 2 bi-directional
        F('RTPType', USHORT),  # 14: RTPType | 0 audio, 1 video, 2 data
        F('BitRate', UINT),  # 16: BitRate | G.723 only: 1 = 5.3k, 2 = 6.4k
        F('EchoCancellation', USHORT),  # 20: EchoCancellation | 0/1
        F('PacketSize', UINT),  # 22: PacketSize | ms
        F('PayloadType', USHORT),  # 26: PayloadType | audio codec (Audio Codec Type Values)
        F('ConnectionDeviceType', USHORT),  # 28: ConnectionDeviceType
        F('CallID', UINT),  # 30: CallID
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(125, 'SendingAddress', STRING, 16, OPT),  # SendingAddress
        T(126, 'SendingPort', UINT, 4, OPT),  # SendingPort
        T(81, 'ClientAddress', STRING, 16, OPT),  # ClientAddress
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
    doc='Marked OPTIONAL in the UCCX guide. Two events per audio call (input and output). No ordering guarantee vs ESTABLISHED/RETRIEVED.',
)

# RTP_STOPPED_EVENT (117) S->C; layout source C
_msg(MT.RTP_STOPPED_EVENT, S2C, 'C',
    fixed=(
        R('MonitorID', UINT, 0),  # 0: reserved (ICM MonitorID) | 0
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('clientPort', UINT),  # 8: clientPort
        F('Direction', USHORT),  # 12: Direction | 0/1/2
        F('ConnectionDeviceType', USHORT),  # 14: ConnectionDeviceType
        F('CallID', UINT),  # 16: CallID
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(81, 'ClientAddress', STRING, 16, OPT),  # ClientAddress
        T(125, 'SendingAddress', STRING, 16, OPT),  # SendingAddress
        T(126, 'SendingPort', UINT, 4, OPT),  # SendingPort
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
    doc='Sent on hold and on disconnect.',
)

# SUPERVISOR_ASSIST_REQ (118) C->S; layout source C
_msg(MT.SUPERVISOR_ASSIST_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 8: CallID | 0xFFFFFFFF if no related call
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
        T(7, 'Text', STRING, 255, OPT),  # Text
    ),
)

# SUPERVISOR_ASSIST_CONF (119) S->C; layout source C
_msg(MT.SUPERVISOR_ASSIST_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('CallID', UINT),  # 4: CallID | new supervisor-assist call
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
        R('LineHandle', USHORT, 65535),  # 10: reserved (ICM LineHandle) | 0xFFFF
        R('LineType', USHORT, 0),  # 12: reserved (ICM LineType) | 0
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
    ),
)

# SUPERVISOR_ASSIST_EVENT (120) S->C; layout source C
_msg(MT.SUPERVISOR_ASSIST_EVENT, S2C, 'C',
    fixed=(
        R('PeripheralID', UINT, 1),  # 0: reserved (ICM PeripheralID) | 1
        F('CallID', UINT),  # 4: CallID
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
        R('SessionID', UINT, 0),  # 10: reserved (ICM SessionID) | 0
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(1, 'ClientID', STRING, 64, REQ),  # ClientID client that asked
        T(7, 'Text', STRING, 255, OPT),  # Text
    ),
)

# EMERGENCY_CALL_REQ (121) C->S; layout source C
_msg(MT.EMERGENCY_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID
        F('PeripheralID', UINT),  # 4: PeripheralID | 1 (U)
        F('ConnectionCallID', UINT),  # 8: ConnectionCallID | 0xFFFFFFFF if none
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(4, 'AgentExtension', STRING, 16, OPT),  # AgentExtension
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# EMERGENCY_CALL_CONF (122) S->C; layout source C
_msg(MT.EMERGENCY_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('ConnectionCallID', UINT),  # 4: ConnectionCallID
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
        F('lineHandle', USHORT),  # 10: lineHandle | 0xFFFF if unknown
        F('lineType', USHORT),  # 12: lineType | 3 business / 10 non-business
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
    ),
)

# EMERGENCY_CALL_EVENT (123) S->C; layout source C
_msg(MT.EMERGENCY_CALL_EVENT, S2C, 'C',
    fixed=(
        # 0: InvokeID (as printed on the UCCX page; absent in ICM: the ucce profile's layout starts at PeripheralID)
        F('InvokeID', UINT, unconfirmed=True, profiles=("uccx",)),
        F('PeripheralID', UINT),  # 4: PeripheralID
        F('ConnectionCallID', UINT),  # 8: ConnectionCallID
        F('ConnectionDeviceType', USHORT),  # 12: ConnectionDeviceType
        F('SessionID', UINT),  # 14: SessionID
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(1, 'ClientID', STRING, 64, OPT),  # ClientID
        T(81, 'ClientAddress', STRING, 16, OPT),  # ClientAddress tag from ICM
        T(4, 'AgentExtension', STRING, 64, OPT),  # AgentExtension UCCX page says 64
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, OPT),  # AgentInstrument
    ),
)

# SUPERVISE_CALL_REQ (124) C->S; layout source C
_msg(MT.SUPERVISE_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('AgentCallID', UINT),  # 8: AgentCallID
        F('SupervisorCallID', UINT),  # 12: SupervisorCallID | 0xFFFFFFFF if none
        F('AgentConnectionDeviceType', USHORT),  # 16: AgentConnectionDeviceType
        F('SupervisorConnectionDeviceType', USHORT),  # 18: SupervisorConnectionDeviceType
        F('SupervisoryAction', USHORT),  # 20: SupervisoryAction | 6.21
    ),
    floating=(
        T(90, 'AgentConnectionDeviceID', STRING, 64, 'cond'),  # AgentConnectionDeviceID CallID+ConnectionDeviceID, or one of AgentExtension/AgentID/AgentInstrument
        T(91, 'SupervisorConnectionDeviceID', STRING, 64, OPT),  # SupervisorConnectionDeviceID
        T(4, 'AgentExtension', STRING, 16, 'cond'),  # AgentExtension
        T(194, 'AgentID', STRING, 129, 'cond'),  # AgentID
        T(6, 'AgentInstrument', STRING, 64, 'cond'),  # AgentInstrument
        T(85, 'SupervisorInstrument', STRING, 64, OPT),  # SupervisorInstrument
    ),
)

# SUPERVISE_CALL_CONF (125) S->C; layout source C
_msg(MT.SUPERVISE_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('CallID', UINT),  # 4: CallID
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
    ),
)

# BAD_CALL_REQ (139) C->S; layout source C
_msg(MT.BAD_CALL_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | client-chosen; echoed in the CONF
        R('PeripheralID', UINT, 1),  # 4: reserved (ICM PeripheralID) | 1
        F('ConnectionDeviceType', USHORT),  # 8: ConnectionDeviceType
        F('CallID', UINT),  # 10: CallID | 0xFFFFFFFF if none
    ),
    floating=(
        T(25, 'ConnectionDeviceID', STRING, 64, REQ),  # ConnectionDeviceID
        T(194, 'AgentID', STRING, 129, OPT),  # AgentID
    ),
)

# BAD_CALL_CONF (140) S->C; layout source C
_msg(MT.BAD_CALL_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo of request InvokeID
    ),
    floating=(
    ),
)

# CONFIG_REQUEST_KEY_EVENT (230) C->S; layout source C
_msg(MT.CONFIG_REQUEST_KEY_EVENT, C2S, 'C',
    fixed=(
        R('ReservedV11', UINT, 0, since=11),  # 0: reserved (v11) | 0
    ),
    floating=(
        T(131, 'CustomerID', UINT, 4, REQ, reserved=True, unconfirmed=True),  # reserved (ICM CustomerID) 0
    ),
)

# CONFIG_KEY_EVENT (231) S->C; layout source C
_msg(MT.CONFIG_KEY_EVENT, S2C, 'C',
    fixed=(
        F('Status', UINT),  # 0: Status | 0 success, 1 service provider, 2 no key support, 3 error, 4 empty, 5 partial
    ),
    floating=(
        T(177, 'ApplicationConfigKey', UNSPEC, 8, OPT),  # ApplicationConfigKey all-zero key => client has no data
        T(178, 'CSQConfigKey', UNSPEC, 8, OPT),  # CSQConfigKey
        T(179, 'AgentConfigKey', UNSPEC, 8, OPT),  # AgentConfigKey
        T(180, 'DeviceConfigKey', UNSPEC, 8, OPT),  # DeviceConfigKey
    ),
)

# CONFIG_REQUEST_EVENT (232) C->S; layout source C
_msg(MT.CONFIG_REQUEST_EVENT, C2S, 'C',
    fixed=(
        F('ConfigurationMask', UINT),  # 0: ConfigurationMask | 0x01 App, 0x02 CSQ, 0x04 Agent, 0x08 Device, 0x10 Terminal (v18); 0 = updates only
        R('ReservedV11', UINT, 0, since=11),  # 4: reserved (v11) | 0
    ),
    floating=(
        T(131, 'CustomerID', UINT, 4, REQ, reserved=True),  # reserved 0
    ),
)

# CONFIG_BEGIN_EVENT (233) S->C; layout source C
_msg(MT.CONFIG_BEGIN_EVENT, S2C, 'C',
    fixed=(
        F('ConfigType', USHORT),  # 0: ConfigType | 1 initial, 2 update
        F('ConfigurationMask', UINT),  # 2: ConfigurationMask | same bits as CONFIG_REQUEST_EVENT
    ),
    floating=(
        T(177, 'ApplicationConfigKey', UNSPEC, 8, OPT),  # ApplicationConfigKey all-zero key => client has no data
        T(178, 'CSQConfigKey', UNSPEC, 8, OPT),  # CSQConfigKey
        T(179, 'AgentConfigKey', UNSPEC, 8, OPT),  # AgentConfigKey
        T(180, 'DeviceConfigKey', UNSPEC, 8, OPT),  # DeviceConfigKey
    ),
)

# CONFIG_END_EVENT (234) S->C; layout source C
_msg(MT.CONFIG_END_EVENT, S2C, 'C',
    fixed=(
        F('Status', UINT),  # 0: Status | 0 success, 1 service provider, 2 unknown data, 3 error, 4 empty, 5 partial
    ),
    floating=(
        T(7, 'Text', STRING, 255, OPT),  # Text
    ),
)

# CONFIG_APPLICATION_EVENT (235) S->C; layout source C
_msg(MT.CONFIG_APPLICATION_EVENT, S2C, 'C',
    fixed=(
        F('NumRecords', USHORT),  # 0: NumRecords | <=10
    ),
    floating=(
        G("records", "ApplicationRecord", "NumRecords",
          T(183, "RecordType", USHORT),  # 0 add, 1 change, 2 delete; starts each record
          T(208, "PeripheralID", UINT, reserved=True, since=11),  # reserved (v11) 0
          T(184, "ApplicationID", UINT),
          T(213, "CurPeripheralNumber", UINT, reserved=True, since=11),  # reserved (v11) 0
          T(129, "MaxQueued", UINT),  # max sessions
          T(173, "Extension", STRING, 16, reserved=True),  # reserved "" (opt)
          T(132, "PreviousApplicationID", UINT),
          T(133, "ApplicationName", STRING, 64),
          T(134, "Description", STRING, 128),  # opt
          T(174, "ServiceLevelThreshold", UINT, reserved=True),  # reserved 0
          T(175, "ServiceLevelType", UINT, reserved=True),  # reserved 0
          T(176, "ConfigParam", STRING, 255, reserved=True),  # reserved ""
          T(216, "MRDomainID", UINT, reserved=True, since=11),  # reserved (v11) 0
          doc="One application record of CONFIG_APPLICATION_EVENT (reserved fields keep their ICM tag names)."),
    ),
)

# CONFIG_CSQ_EVENT (236) S->C; layout source C
_msg(MT.CONFIG_CSQ_EVENT, S2C, 'C',
    fixed=(
        F('NumRecords', USHORT),  # 0: NumRecords | <=10
    ),
    floating=(
        G("records", "CSQRecord", "NumRecords",
          T(183, "RecordType", USHORT),  # 0 add, 1 change, 2 delete; starts each record
          # The page prints tag 184 for both this reserved (v11) field and CSQID; read as 208
          # (ICM PERIPHERAL_ID (V11), as in the other config records) - U.
          T(208, "PeripheralID", UINT, reserved=True, since=11, unconfirmed=True),
          T(184, "CSQID", UINT),
          T(213, "CurPeripheralNumber", UINT, reserved=True, since=11),  # reserved (v11) 0
          T(64, "SkillGroupPriority", USHORT, reserved=True),  # reserved 0
          T(192, "SkillGroupSkillTargetID", UINT, reserved=True),  # reserved 0
          # AutoWork: BOOL, but the page gives it size 4 - U. Declared as a UINT (4 bytes) as printed.
          T(185, "AutoWork", UINT, unconfirmed=True),
          T(173, "Extension", STRING, 16, reserved=True),  # reserved ""
          T(133, "CSQName", STRING, 64),
          T(134, "Description", STRING, 128),  # ""
          T(216, "MRDomainID", UINT, since=11),  # (v11) 0 voice, 1 email (7.0(1)+)
          T(176, "ConfigParam", STRING, 255, reserved=True),  # reserved ""
          doc="One CSQ record of CONFIG_CSQ_EVENT."),
    ),
)

# CONFIG_AGENT_EVENT (237) S->C; layout source C
_msg(MT.CONFIG_AGENT_EVENT, S2C, 'C',
    fixed=(
        F('NumRecords', USHORT),  # 0: NumRecords | <=10
    ),
    floating=(
        G("records", "AgentRecord", "NumRecords",
          T(183, "RecordType", USHORT),  # 0 add, 1 change, 2 delete; starts each record
          T(208, "PeripheralID", UINT, reserved=True, since=11),  # reserved (v11) 0
          T(189, "AgentType", USHORT),  # 1 agent, 2 supervisor
          T(190, "LoginID", STRING, 129),  # unique key
          T(214, "CurLoginID", STRING, 64, reserved=True, since=11),  # reserved (v11) ""
          T(207, "LoginName", STRING, 32, reserved=True, since=11),  # reserved (v11) ""
          T(138, "LastName", STRING, 32),
          T(137, "FirstName", STRING, 32),
          T(173, "Extension", STRING, 16),
          T(134, "Description", STRING, 128),  # ""
          T(141, "AgentSkillTargetID", UINT, reserved=True),  # reserved 0
          T(191, "NumCSQ", USHORT),  # <=25; followed by NumCSQ (CSQID, reserved) pairs
          # Pair member tags are not visible on the UCCX page; ICM uses 192 and 64 - U.
          G("csqs", "AgentRecordCSQ", "NumCSQ",
            T(192, "CSQID", UINT, unconfirmed=True),
            T(64, "SkillGroupPriority", USHORT, reserved=True, unconfirmed=True),
            doc="A CSQ of an agent record: CSQID and a reserved USHORT."),
          T(303, "TerminalDeviceName", STRING, 64, since=18),  # v18 opt; ICM tag table lists 303 here
          doc="One agent record of CONFIG_AGENT_EVENT."),
    ),
)

# CONFIG_DEVICE_EVENT (238) S->C; layout source C
_msg(MT.CONFIG_DEVICE_EVENT, S2C, 'C',
    fixed=(
        F('NumRecords', USHORT),  # 0: NumRecords | <=10
    ),
    floating=(
        G("records", "DeviceRecord", "NumRecords",
          T(183, "RecordType", USHORT),  # 0 add, 1 change, 2 delete; starts each record
          T(208, "PeripheralID", UINT, reserved=True, since=11),  # reserved (v11) 0
          T(184, "DeviceField0", UINT),  # agent: AgentRecordID; RP/port/CCG: CallControlGroupID
          T(195, "DeviceType", USHORT),  # 3 agent, 5 route point, 6 CTI port, 7 call control group
          T(129, "MaxQueued", UINT),  # RP: SessionLimit; CCG: CTIPortCount
          T(193, "DeviceField1", UINT),  # RP: ApplicationID
          T(11, "DeviceField2", STRING, 129),  # agent: LoginID; RP: route point DN; port: CTIPortID
          T(10, "DeviceField3", STRING, 32, reserved=True),  # reserved, varies
          T(173, "DeviceField4", STRING, 16),  # agent: extension (U)
          T(134, "Description", STRING, 128),
          doc="One device record of CONFIG_DEVICE_EVENT."),
    ),
)

# CONFIG_TERMINAL_EVENT (unknown) S->C; layout source C
_msg(MT.CONFIG_TERMINAL_EVENT, S2C, 'C',
    fixed=(
        F('NumRecords', USHORT),  # 0: NumRecords | <=10
    ),
    floating=(
        G("records", "TerminalRecord", "NumRecords",
          T(183, "RecordType", USHORT),  # terminal records: only 0 add / 2 delete; starts each record
          T(302, "TerminalType", USHORT),
          T(303, "TerminalDeviceName", STRING, 64),
          T(304, "TerminalTypeName", STRING, 100),
          T(305, "NumInstruments", USHORT),  # <=10
          G("instruments", "TerminalInstrument", "NumInstruments",
            T(6, "Instrument", STRING, 64),
            doc="One instrument of a terminal record."),
          doc="One terminal record of CONFIG_TERMINAL_EVENT (v18)."),
    ),
)

# TEAM_CONFIG_REQ (242) C->S; layout source C
_msg(MT.TEAM_CONFIG_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID
        F('ConfigParam', USHORT),  # 4: ConfigParam | 0x1 initial upload, 0x2 updates only
        R('Reserved', UNSPEC_FIXED(8), 8),  # 6: reserved | 8 zero bytes (UNSPEC in the fixed part)
    ),
    floating=(
    ),
)

# TEAM_CONFIG_EVENT (243) S->C; layout source C
_msg(MT.TEAM_CONFIG_EVENT, S2C, 'C',
    fixed=(
        F('TeamID', UINT),  # 0: TeamID
        F('NumRecords', USHORT),  # 4: NumRecords | <=64
        F('Operation', USHORT),  # 6: Operation | 1 add team, 2 remove team (no optional floating), 3 change team
        R('Reserved', UNSPEC_FIXED(8), 0),  # 8: reserved | 0
    ),
    floating=(
        T(204, "TeamName", STRING, 50, REQ),  # MUST be the first floating field
        G("records", "TeamMember", "NumRecords",
          T(194, "AgentID", STRING, 129),  # agent/supervisor ID, or CSQID (as string) if MemberType=2
          T(87, "AgentFlags", USHORT),  # 0 agent, 0x1 primary supervisor, 0x2 temporary agent, 0x4 supervisor
          T(183, "RecordType", USHORT),  # 0 add, 2 delete
          T(205, "MemberType", USHORT),  # 1 agent/supervisor, 2 CSQ
          doc="One member record of TEAM_CONFIG_EVENT."),
    ),
)

# TEAM_CONFIG_CONF (244) S->C; layout source C
_msg(MT.TEAM_CONFIG_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('Status', UINT),  # 4: Status | 0 success, 1 UCCX internal error
    ),
    floating=(
        T(7, 'Text', STRING, 128, OPT),  # Text
    ),
)

# QUERY_AGENT_QUEUE_STATISTICS_REQ (unknown) C->S; layout source C
_msg(MT.QUERY_AGENT_QUEUE_STATISTICS_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID
    ),
    floating=(
        T(194, 'AgentID', STRING, 129, REQ),  # AgentID
    ),
)

# QUERY_AGENT_QUEUE_STATISTICS_CONF (unknown) S->C; layout source C
_msg(MT.QUERY_AGENT_QUEUE_STATISTICS_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('CallsInQueue', UINT),  # 4: CallsInQueue | sum over the agent CSQs
        F('OldestCallInQueue', UINT),  # 8: OldestCallInQueue | seconds
    ),
    floating=(
        T(194, 'AgentID', STRING, 129, REQ),  # AgentID
    ),
)

# QUERY_QUEUE_STATISTICS_REQ (unknown) C->S; layout source C
_msg(MT.QUERY_QUEUE_STATISTICS_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID
    ),
    floating=(
        T(62, 'CSQID', INT, 4, REQ),  # CSQID
    ),
)

# QUERY_QUEUE_STATISTICS_CONF (unknown) S->C; layout source C
_msg(MT.QUERY_QUEUE_STATISTICS_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('LoggedInAgents', USHORT),  # 4: LoggedInAgents
        F('InSessionAgents', USHORT),  # 6: InSessionAgents | talking
        F('AvailableAgents', USHORT),  # 8: AvailableAgents | ready
        F('UnAvailableAgents', USHORT),  # 10: UnAvailableAgents | not ready
        F('InWorkAgents', USHORT),  # 12: InWorkAgents | work
        F('SelectedAgents', USHORT),  # 14: SelectedAgents | reserved
        F('CallsInPriorityQueue1', UINT),  # 16: CallsInPriorityQueue1
        # The guide's page is truncated after CallsInPriorityQueue1 (U): further fields are not declared.
    ),
    floating=(
    ),
)

# QUERY_SUMMARY_STATISTICS_REQ (unknown) C->S; layout source C
_msg(MT.QUERY_SUMMARY_STATISTICS_REQ, C2S, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID
    ),
    floating=(
    ),
)

# QUERY_SUMMARY_STATISTICS_CONF (unknown) S->C; layout source C
_msg(MT.QUERY_SUMMARY_STATISTICS_CONF, S2C, 'C',
    fixed=(
        F('InvokeID', UINT),  # 0: InvokeID | echo
        F('NumQueues', USHORT),  # 4: NumQueues | CSQs configured
        F('LoggedInAgents', USHORT),  # 6: LoggedInAgents
        F('InSessionAgents', USHORT),  # 8: InSessionAgents
        F('AvailableAgents', USHORT),  # 10: AvailableAgents
        F('UnAvailableAgents', USHORT),  # 12: UnAvailableAgents
        F('InWorkAgents', USHORT),  # 14: InWorkAgents
        F('SelectedAgents', USHORT),  # 16: SelectedAgents
        F('CallsInPriorityQueue1', UINT),  # 18: CallsInPriorityQueue1 | all CSQs
        F('CallsInPriorityQueue2', UINT),  # 22: CallsInPriorityQueue2
        F('CallsInPriorityQueue3', UINT),  # 26: CallsInPriorityQueue3
        F('CallsInPriorityQueue4', UINT),  # 30: CallsInPriorityQueue4
        F('CallsInPriorityQueue5', UINT),  # 34: CallsInPriorityQueue5
        F('CallsInPriorityQueue6', UINT),  # 38: CallsInPriorityQueue6
        F('CallsInPriorityQueue7', UINT),  # 42: CallsInPriorityQueue7
        F('CallsInPriorityQueue8', UINT),  # 46: CallsInPriorityQueue8
        # The guide's page is truncated here (U): CallsInPriorityQueue9.., today statistics, StartTime ... are not declared.
    ),
    floating=(
    ),
)
