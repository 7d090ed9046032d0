"""Protocol dialects: which versions exist and how wide floating tags and lengths are.

Owns the version profiles (reference §2.3, §3.2):

- UCCX, protocol versions 10-17: 1-byte tag (FieldDataID), 1-byte length.
- UCCX, protocol version 18 (UCCX 12.5(1)SU1): 2-byte tag; the length width is **unconfirmed**
  (U): the UCCX tables still print a 1-byte FieldLength while ICM made both 2 bytes when it did
  the same change. Default 2, configurable with ``v18_length_width``.
- UCCE (ICM CTI Server) profile up to version 24: 1-byte tag and length below version 20, 2-byte
  tag and length from version 20 (ICM change history: v20 made both USHORT).

Also owns the mapping between MessageType and the number on the wire, because seven UCCX
messages have no published number (U): they carry provisional enum values and can be mapped to
real numbers with ``Profile.with_type_ids``.

Must import nothing from mockcti outside ``mockcti.wire``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .enums import ICM_ONLY_MESSAGE_TYPES, PROVISIONAL_MESSAGE_TYPES, UCCX_ONLY_MESSAGE_TYPES, MessageType, StatusCode
from .errors import EncodeError

__all__ = ["Profile", "Dialect", "UCCX", "UCCE", "DEFAULT_MAX_BODY"]

# ICM v24 "messaging conventions": 12,500 bytes including the 8-byte header (reference §2.4, U for UCCX).
DEFAULT_MAX_BODY = 12_492


_S = StatusCode
#: the FAILURE_CONF status of a situation where ICM and UCCX answer differently: (UCCX, ICM). UCCX lists the
#: ICM number as reserved and answers with a code it names (reference §6.1, §7.1, §2.3); :meth:`Profile.status`
_STATUSES: Mapping[str, tuple[StatusCode, StatusCode]] = MappingProxyType({
    # OPEN_REQ asks for CLIENT_EVENTS and ALL_EVENTS (§3.3, §7.1: UCCX undocumented, 17 recommended, U)
    "service_mask": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_INVALID_SERVICE_MASK),
    # OPEN_REQ AgentStateMask sets a bit the profile does not define (§3.3: ICM refuses it; UCCX, whose guide's
    # own example is 0x3FFF, ignores unknown bits — the session checks it under ucce only)
    "agent_state_mask": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_INVALID_AGENT_STATE_MASK),
    # a request that needs a service the session was not granted (§6.5, §6.1: ICM E_CTI_FUNCTION_NOT_AVAILABLE)
    "not_granted": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_FUNCTION_NOT_AVAILABLE),
    # a request (HEARTBEAT_REQ, a configuration request) while the server is offline (§7.1)
    "offline": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_CTI_SERVER_OFFLINE),
    # a body shorter than its fixed part, a floating field running past BodyLength (§2.3)
    "bad_format": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_BAD_MESSAGE_FORMAT),
    # a request whose NumNamedVariables / NumNamedArrays is not the number of tag-82 / tag-83 fields it carries
    # (§2.2, the message tables: "count of tag-82 fields"). ICM has a status for each (77, 78); UCCX lists both as
    # reserved and its guide does not say what it answers: 17, as to the other bodies that contradict themselves
    # (§2.3 "bad_format"), is the mock's choice (U)
    "num_named_variables": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_INVALID_NUM_NAMED_VARIABLES),
    "num_named_arrays": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_INVALID_NUM_NAMED_ARRAYS),
    # a SET_CALL_DATA_REQ CallType the profile does not name (§6.17; CenterConfig.set_call_data_call_type, U)
    "call_type": (_S.E_CTI_UNSPECIFIED_FAILURE, _S.E_CTI_INVALID_CALL_TYPE),
    # a floating tag the protocol defines, not in this message (§2.3)
    "tag_for_message": (_S.E_CTI_INVALID_FIELD, _S.E_CTI_INVALID_TAG_FOR_MSG_TYPE),
    # a message type the profile defines only from a protocol version later than the session's (§4; Profile.types_since)
    "type_for_version": (_S.E_CTI_INVALID_MESSAGE_TYPE, _S.E_CTI_INVALID_MSG_TYPE_FOR_VERSION),
})


def _default_type_ids(icm: bool = False) -> Mapping[int, MessageType]:
    """The profile's message table: every message the mock simulates, less the UCCX-only ones under ICM
    (``icm``: the statistics requests and CONFIG_TERMINAL_EVENT, ``UCCX_ONLY_MESSAGE_TYPES``, which ICM's CTI
    Server does not have)."""
    out: dict[int, MessageType] = {}
    for mt in MessageType:
        if mt in ICM_ONLY_MESSAGE_TYPES or (icm and mt in UCCX_ONLY_MESSAGE_TYPES):
            continue
        out.setdefault(int(mt), mt)
    return out


@dataclass(frozen=True)
class Profile:
    """A family of protocol versions with one message set and its width rules."""

    name: str
    min_version: int
    max_version: int
    wide_tags_from: int
    wide_lengths_from: int
    #: the ICM (UCCE CTI Server) choices where ICM and UCCX differ: no UCCX reuse of an ICM tag (OPEN_CONF
    #: ConfigMsgMaskGranted, tag 248, is ICM's TASK_LIFE) and ICM's specific FAILURE_CONF statuses where
    #: UCCX lists the number as reserved (reference §6.1, §7.1; :meth:`status`)
    icm: bool = False
    #: wire numbers of message types the profile's server defines only from a protocol version on, as
    #: ``(first, last, version)`` ranges: a session of an earlier version sending one is answered
    #: ``status("type_for_version")`` (ICM E_CTI_INVALID_MSG_TYPE_FOR_VERSION), a later one as any other message
    #: the mock does not simulate (E_CTI_INVALID_MESSAGE_TYPE). ucce: 255-282, ICM's v20-v24 messages (§4)
    types_since: tuple[tuple[int, int, int], ...] = ()
    # wire number -> MessageType (aliases collapse to the primary member)
    by_wire_id: Mapping[int, MessageType] = field(default_factory=lambda: MappingProxyType(_default_type_ids()))
    #: floating-field tags given to this profile on top of the layout its guide prints (the declarations'
    #: per-profile tags, ``spec.T(..., tags=...)``): ``((MessageType, field name, tag), ...)``, from
    #: :meth:`with_field_tags` -- for a tag the guides leave unconfirmed (SNAPSHOT_DEVICE_CONF CallState)
    field_tags: tuple[tuple[MessageType, str, int], ...] = ()
    #: what the profile's server calls the system its clients depend on, in the Text of its refusals
    #: ("Unified CCX is offline"; an ICM client's system is Unified CCE)
    system_name: str = "Unified CCX"

    def status(self, situation: str) -> StatusCode:
        """The FAILURE_CONF status this profile answers in ``situation`` (a key of ``_STATUSES``: "service_mask",
        "agent_state_mask", "not_granted", "offline", "bad_format", "num_named_variables", "num_named_arrays",
        "call_type", "tag_for_message", "type_for_version"): ICM's specific code under the ucce
        profile, the code UCCX names under uccx."""
        return _STATUSES[situation][1 if self.icm else 0]

    def type_since(self, wire_id: int) -> int | None:
        """The protocol version from which the profile's server defines message number ``wire_id``, when it
        defines it only from a later version than its first (:attr:`types_since`); None otherwise."""
        for first, last, version in self.types_since:
            if first <= wire_id <= last:
                return version
        return None

    def supports(self, version: int) -> bool:
        return self.min_version <= version <= self.max_version

    def dialect(self, version: int | None = None, **options) -> "Dialect":
        """The dialect for ``version`` (default: the newest). Widths follow the profile's rules;
        a version outside the range still gets the widths of the nearest end, so an OPEN_REQ
        with an unsupported version can be decoded and answered E_CTI_INVALID_VERSION."""
        v = self.max_version if version is None else version
        return Dialect(profile=self, version=v, **options)

    def __repr__(self) -> str:
        # short: the wire-number table has 94 entries (a Dialect's repr, in a Hypothesis strategy's or a
        # test id, ran to kilobytes)
        base = PROFILES.get(self.name)
        remapped = "" if base is not None and base.by_wire_id == self.by_wire_id else ", remapped message numbers"
        tags = "".join(f", {m.name}.{n}={t}" for m, n, t in self.field_tags)
        return f"<Profile {self.name} {self.min_version}..{self.max_version}{remapped}{tags}>"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        """The same for pretty printers (Hypothesis, IPython), which otherwise list a dataclass's fields."""
        printer.text(repr(self))  # type: ignore[attr-defined]

    def message_type(self, wire_id: int) -> MessageType | None:
        return self.by_wire_id.get(wire_id)

    def defines(self, mt: MessageType) -> bool:
        """Whether the profile has message ``mt`` (its message table, :attr:`by_wire_id`): the ucce profile has
        no UCCX-only statistics or terminal messages (``UCCX_ONLY_MESSAGE_TYPES``), no profile ICM's messages the mock does
        not simulate."""
        return mt in self._wire_ids

    def wire_id(self, mt: MessageType) -> int:
        """The number ``mt`` has on the wire; a message the profile does not have: EncodeError (its server
        never sends it, and a client's is refused E_CTI_INVALID_MESSAGE_TYPE)."""
        wid = self._wire_ids.get(mt)
        if wid is None:
            raise EncodeError(f"{MessageType(mt).name} is not a message of the {self.name} profile"
                              + (" (a UCCX message: ICM's CTI Server has no such message)"
                                 if self.icm and mt in UCCX_ONLY_MESSAGE_TYPES else ""),
                              status=StatusCode.E_CTI_INVALID_MESSAGE_TYPE)
        return wid

    @property
    def _wire_ids(self) -> dict[MessageType, int]:
        cache = self.__dict__.get("_wire_cache")
        if cache is None:
            cache = {mt: wid for wid, mt in self.by_wire_id.items()}
            object.__setattr__(self, "_wire_cache", cache)
        return cache

    def retag(self, mt: MessageType) -> tuple[tuple[str, int], ...]:
        """The floating fields of ``mt`` that carry another tag than the declaration's in this profile:
        ``((field name, tag), ...)`` for :func:`mockcti.wire.spec.spec_for` -- the declarations' tags for
        this profile (``spec.T(..., tags=...)``), then :attr:`field_tags`. Computed once per message type."""
        cache = self.__dict__.get("_retag_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_retag_cache", cache)
        out = cache.get(mt)
        if out is None:
            from .spec import SPECS

            table = dict(SPECS[mt].profile_tags(self.name)) if mt in SPECS else {}
            for m, name, tag in self.field_tags:
                if m is mt:
                    table[name] = tag
            base = {f.name: f.tag for f in SPECS[mt].floating_fields()} if mt in SPECS else {}
            out = cache[mt] = tuple(sorted((n, t) for n, t in table.items() if base.get(n) != t))
        return out

    def with_field_tags(self, mapping: Mapping[str, int]) -> "Profile":
        """Send and read floating fields with other tags: ``{"SNAPSHOT_DEVICE_CONF.CallState": 75}``
        (``MESSAGE.Field``, the guide's field name). For a tag the guides do not agree on; a message or
        field that does not exist, a tag outside 1 .. 65535 or one another field of the message has is a
        ValueError."""
        from .spec import SPECS

        table = {(m, n): t for m, n, t in self.field_tags}
        for key, tag in mapping.items():
            msg_name, dot, field_name = str(key).partition(".")
            try:
                mt = MessageType[msg_name.strip().upper()]
            except KeyError:
                raise ValueError(f"{key!r}: no message {msg_name.strip()!r} (expected MESSAGE.Field, "
                                 "e.g. SNAPSHOT_DEVICE_CONF.CallState)") from None
            if not dot or mt not in SPECS:
                raise ValueError(f"{key!r}: expected MESSAGE.Field, e.g. SNAPSHOT_DEVICE_CONF.CallState")
            table[(mt, field_name.strip())] = tag
        profile = replace(self, field_tags=tuple((m, n, t) for (m, n), t in table.items()))
        for mt in {m for m, _ in table}:  # each message's new layout must hold together
            SPECS[mt].retagged(profile.retag(mt))
        return profile

    def with_type_ids(self, mapping: Mapping[MessageType | str, int]) -> "Profile":
        """Map messages to other wire numbers, e.g. give CONFIG_TERMINAL_EVENT its real number
        once known. Only the provisional (U) messages may be remapped."""
        table = dict(self.by_wire_id)
        for key, wid in mapping.items():
            mt = MessageType[key] if isinstance(key, str) else MessageType(key)
            if not isinstance(wid, int) or isinstance(wid, bool) or not 0 <= wid <= 0xFFFFFFFF:
                raise ValueError(f"wire number {wid!r} of {mt.name} is not a UINT (0 .. {0xFFFFFFFF})")
            if not self.defines(mt):
                raise ValueError(f"{mt.name} is not a message of the {self.name} profile"
                                 + (" (a UCCX message: ICM's CTI Server has no such message)"
                                    if self.icm and mt in UCCX_ONLY_MESSAGE_TYPES else ""))
            if mt not in PROVISIONAL_MESSAGE_TYPES:
                raise ValueError(f"{mt.name} has a documented number ({int(mt)}); only the messages whose number "
                                 f"is unknown can be remapped: "
                                 f"{', '.join(sorted(m.name for m in PROVISIONAL_MESSAGE_TYPES))}")
            if wid in table and table[wid] is not mt:
                raise ValueError(f"wire number {wid} is already {table[wid].name}")
            table = {k: v for k, v in table.items() if v is not mt}
            table[int(wid)] = mt
        return replace(self, by_wire_id=MappingProxyType(table))


UCCX = Profile("uccx", min_version=10, max_version=18, wide_tags_from=18, wide_lengths_from=18)
UCCE = Profile("ucce", min_version=9, max_version=24, wide_tags_from=20, wide_lengths_from=20, icm=True,
               types_since=((255, 282, 20),), by_wire_id=MappingProxyType(_default_type_ids(icm=True)),
               system_name="Unified CCE")
PROFILES = {"uccx": UCCX, "ucce": UCCE}


@dataclass(frozen=True)
class Dialect:
    """What the codec needs to know about one connection: profile, version and widths.

    ``v18_length_width`` only matters for the UCCX profile at version 18 (U, default 2).
    ``strict`` makes the decoder reject reserved fixed fields that do not carry the value UCCX
    sends (E_CTI_INVALID_PERIPHERAL_ID, reference §5 conventions); real clients often send ICM
    values there, so it is off by default.
    """

    profile: Profile = UCCX
    version: int = 18
    v18_length_width: int = 2
    strict: bool = False
    max_body: int = DEFAULT_MAX_BODY

    def __post_init__(self) -> None:
        if self.v18_length_width not in (1, 2):
            raise ValueError("v18_length_width must be 1 or 2")
        # per-dialect caches of the codec's compiled functions (not fields: equality ignores them)
        object.__setattr__(self, "_decoders", {})
        object.__setattr__(self, "_encoders", {})
        object.__setattr__(self, "_versions", {})
        # per wire type ID, what the session layer worked out for a request of this dialect
        # (mockcti.session fills it: the type, its compiled decoder and its checks)
        object.__setattr__(self, "_requests", {})

    @property
    def tag_width(self) -> int:
        return 2 if self.version >= self.profile.wide_tags_from else 1

    @property
    def length_width(self) -> int:
        if self.version < self.profile.wide_lengths_from:
            return 1
        if self.profile.name == "uccx" and self.version == 18:
            return self.v18_length_width
        return 2

    def with_version(self, version: int) -> "Dialect":
        if version == self.version:
            return self
        d = self._versions.get(version)  # type: ignore[attr-defined]
        if d is None:
            d = self._versions[version] = replace(self, version=version)  # type: ignore[attr-defined]
        return d

    @classmethod
    def uccx(cls, version: int = 18, **options) -> "Dialect":
        return cls(profile=UCCX, version=version, **options)

    @classmethod
    def ucce(cls, version: int = 24, **options) -> "Dialect":
        return cls(profile=UCCE, version=version, **options)
