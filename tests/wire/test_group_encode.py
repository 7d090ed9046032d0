"""Repeated groups and named variables/arrays on the fast encode path.

The generated encoders (``mockcti.wire.fastpath.build_encoder``) write group instances (nested
ones too) and NamedVariable/NamedArray fields out inline instead of calling the generic
``_enc_group`` / ``_enc_value``. These tests hold them to the construct oracle and to the generic
path for messages with 0, 1 and several instances and with members set to None, in every
protocol version of both profiles; and check that what the fast path cannot encode exactly
(a set member whose tag needs 2-byte tags, an over-long string, a number out of range) is left
to the generic path, which raises its ``EncodeError``. ``test_roundtrip`` draws groups too, but
not necessarily non-empty ones for every type and version.
"""

from __future__ import annotations

import dataclasses
import functools
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import field_value, from_message_type
from mockcti.wire import SPECS, UCCE, UCCX, Dialect, EncodeError, MessageType, encode, encode_construct
from mockcti.wire.codec import HEADER, _encode_body, _encoder, _layout_for
from mockcti.wire.fastpath import Irregular
from mockcti.wire.messages import (
    AgentRecord, AgentRecordCSQ, AgentStateEvent, ConfigAgentEvent, ConfigTerminalEvent, ConnectedParty,
    CSQInfo, OpenReq, TerminalInstrument, TerminalRecord,
)
from mockcti.wire.spec import SPECS, FloatingField, Group
from mockcti.wire.types import NAMEDARRAY, NAMEDVAR, STRING, UNSPEC, NamedArray, NamedVariable

ALL_DIALECTS = (
    *(Dialect.uccx(v) for v in range(UCCX.min_version, UCCX.max_version + 1)),
    Dialect.uccx(18, v18_length_width=1),
    *(Dialect.ucce(v) for v in range(UCCE.min_version, UCCE.max_version + 1)),
)
WITH_REPEATS = sorted(
    (mt for mt, spec in SPECS.items()
     if any(isinstance(i, Group) or i.repeated for i in spec.floating)), key=int)
SIZES = (0, 1, 3)


def _dialect_id(d: Dialect) -> str:
    return f"{d.profile.name}{d.version}-{d.tag_width}{d.length_width}"


def _text(max_bytes: int) -> st.SearchStrategy[str]:
    """A run of one character (1 to 4 UTF-8 bytes) that fits ``max_bytes`` with its NUL: cheap to
    draw (generic text makes this test several times slower) and reaching the maximum length."""
    return st.tuples(st.sampled_from("aé€😀"), st.integers(0, max_bytes - 1)).map(
        lambda t: t[0] * min(t[1], (max_bytes - 1) // len(t[0].encode())))


def _value(f: FloatingField) -> st.SearchStrategy:
    return field_value(f, text=_text)


def _member(f: FloatingField, version: int, tag_width: int) -> st.SearchStrategy:
    if tag_width == 1 and f.tag > 0xFF and f.since is None:
        return st.none()  # would be an EncodeError: see the irregular cases below
    # a member that does not exist in this version (or, with a version, whose tag needs the 2-byte tags
    # the dialect lacks: UCCE v18/v19) may still be set: it is not sent
    return st.none() | _value(f)


@functools.cache  # building strategies costs more than drawing from them
def _instances(g: Group, version: int, tag_width: int, n: int | None) -> st.SearchStrategy[tuple]:
    """``n`` instances of ``g`` (0..3 for nested groups), any member None, the first one too."""
    members = {m.attr: _instances(m, version, tag_width, None) if isinstance(m, Group)
               else _member(m, version, tag_width) for m in g.members}
    one = st.fixed_dictionaries(members).map(lambda kw: g.cls(**kw))
    return st.lists(one, min_size=n or 0, max_size=3 if n is None else n).map(tuple)


@functools.cache
def _repeats(f: FloatingField, n: int) -> st.SearchStrategy[tuple]:
    return st.lists(_value(f), min_size=n, max_size=n).map(tuple)


def _minimal(mt: MessageType):
    """A message of type ``mt`` with only its required simple floating fields set."""
    kw = {f.attr: "1" if f.kind is STRING else b"1" if f.kind is UNSPEC else 1
          for f in SPECS[mt].floating if isinstance(f, FloatingField) and f.required}
    return SPECS[mt].cls(**kw)


def _generic(msg, d: Dialect) -> bytes:
    lay = _layout_for(msg.TYPE, d)
    body = _encode_body(lay, msg)
    return HEADER.pack(len(body), lay.wire_id) + body


def _compiled(msg, d: Dialect):
    mt = msg.TYPE
    return _encoder(mt, d.version, d.tag_width, d.length_width, d.profile.wire_id(mt), d.profile.retag(mt))


def _check(msg, d: Dialect) -> bytes:
    """The compiled encoder itself (no fallback) == encode == generic path == construct oracle."""
    wire = _compiled(msg, d)(msg)
    assert encode(msg, d) == wire
    assert _generic(msg, d) == wire
    assert encode_construct(msg, d) == wire
    return wire


@pytest.mark.parametrize("dialect", ALL_DIALECTS, ids=_dialect_id)
@pytest.mark.parametrize("mt", WITH_REPEATS, ids=lambda m: m.name)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_groups_and_named_fields_of_0_1_and_several_instances(mt, dialect, data):
    spec = SPECS[mt]
    base = _minimal(mt)  # the other fields are test_roundtrip's business
    if not dialect.profile.defines(mt):  # CONFIG_TERMINAL_EVENT under ucce: UCCX-only
        with pytest.raises(EncodeError, match="not a message of the ucce profile"):
            encode(base, dialect)
        return
    for n in SIZES:
        kw = {}
        for item in spec.floating:
            if isinstance(item, Group):
                kw[item.attr] = data.draw(_instances(item, dialect.version, dialect.tag_width, n),
                                          label=f"{item.attr}[{n}]")
            elif item.repeated:  # 3 x 251 bytes stays under the 2000-byte total
                kw[item.attr] = data.draw(_repeats(item, n), label=f"{item.attr}[{n}]")
        _check(dataclasses.replace(base, **kw), dialect)


def _csq(i: int, **kw) -> CSQInfo:
    return CSQInfo(**{"csq_id": i, "skill_group_id": 0xFFFFFFFF, "skill_group_priority": 0, "csq_state": 3, **kw})


@pytest.mark.parametrize("dialect", ALL_DIALECTS, ids=_dialect_id)
def test_agent_state_event_csqs(dialect):
    """The hot case (the ACD sends it on every agent state change): all members set, one pack per
    instance; and the partial form when some are None."""
    base = AgentStateEvent(agent_id="1001", agent_extension="3001", agent_instrument="3001", csq_id=7)
    wires = [_check(dataclasses.replace(base, csqs=tuple(_csq(i) for i in range(n))), dialect) for n in SIZES]
    w1 = 4 + 4 + 2 + 2 + 4 * (dialect.tag_width + dialect.length_width)
    assert [len(w) - len(wires[0]) for w in wires] == [0, w1, 3 * w1]
    partial = (_csq(1, skill_group_id=None), _csq(2, csq_id=None, csq_state=None),
               CSQInfo(), _csq(3, skill_group_priority=None))
    _check(dataclasses.replace(base, csqs=partial), dialect)
    # the count field: implied by the group, or sent as given
    _check(dataclasses.replace(base, csqs=partial, num_csqs=9), dialect)


@pytest.mark.parametrize("dialect", ALL_DIALECTS, ids=_dialect_id)
def test_nested_groups(dialect):
    records = (
        AgentRecord(record_type=0, agent_type=1, login_id="a1", num_csq=2,
                    csqs=(AgentRecordCSQ(csq_id=1, skill_group_priority=0), AgentRecordCSQ(csq_id=2))),
        AgentRecord(record_type=2, csqs=()),
        AgentRecord(login_id="b", csqs=(AgentRecordCSQ(), AgentRecordCSQ(skill_group_priority=5))),
    )
    for n in SIZES:
        _check(ConfigAgentEvent(records=records[:n]), dialect)
    terminals = (TerminalRecord(record_type=0, instruments=(TerminalInstrument(instrument="3001"),
                                                            TerminalInstrument(), TerminalInstrument(instrument=""))),
                 TerminalRecord(record_type=2))
    if dialect.profile.defines(MessageType.CONFIG_TERMINAL_EVENT):  # (UCCX-only: not under ucce)
        _check(ConfigTerminalEvent(records=terminals), dialect)


def test_member_that_does_not_exist_in_the_version_is_not_sent():
    rec = AgentRecord(record_type=0, login_id="a1", terminal_device_name="SEP0001")
    without = dataclasses.replace(rec, terminal_device_name=None)
    # TerminalDeviceName (tag 303) came with v18's 2-byte tags: UCCE v18/v19 still has 1-byte tags (it
    # was an EncodeError there, and the whole CONFIG_AGENT_EVENT was not sent)
    for d in (Dialect.uccx(17), Dialect.ucce(17), Dialect.ucce(18), Dialect.ucce(19)):
        assert _check(ConfigAgentEvent(records=(rec,)), d) == _check(ConfigAgentEvent(records=(without,)), d)
    for d in (Dialect.uccx(18), Dialect.ucce(20)):
        assert b"SEP0001\x00" in _check(ConfigAgentEvent(records=(rec,)), d)


def _with(mt: MessageType, **kw):
    return dataclasses.replace(_minimal(mt), **kw)


# (message, dialect, the field the generic path's EncodeError names)
IRREGULAR = [
    # CONFIG_TERMINAL_EVENT (tags 302-305, no version of their own) has no meaning with 1-byte tags:
    # refused, not sent with its records cut short
    (ConfigTerminalEvent(records=(TerminalRecord(record_type=0), TerminalRecord(record_type=0, terminal_type=1))),
     Dialect.uccx(17), "TerminalType"),
    (ConfigTerminalEvent(records=(TerminalRecord(record_type=0, terminal_type=1),)), Dialect.uccx(16), "TerminalType"),
    # too long for the member's maximum (64 bytes with the NUL), though a 1-byte length could carry it
    (_with(MessageType.TRANSFER_CALL_CONF, parties=(
        ConnectedParty(connected_party_call_id=1, connected_party_device_id="x" * 64),)), Dialect.uccx(14),
     "ConnectedPartyDeviceID"),
    (_with(MessageType.TRANSFER_CALL_CONF, parties=(ConnectedParty(connected_party_device_id="é" * 32),)),
     Dialect.ucce(24), "ConnectedPartyDeviceID"),
    # numbers out of range, in an instance with every member set (one pack) and in a partial one
    (AgentStateEvent(csqs=(_csq(1), _csq(2 ** 32))), Dialect.uccx(14), "CSQID"),
    (AgentStateEvent(csqs=(_csq(1, csq_id=None, csq_state=-1),)), Dialect.uccx(18), "CSQState"),
    (AgentStateEvent(csqs=(_csq(1, skill_group_priority="0"),)), Dialect.ucce(24), "SkillGroupPriority"),
    (ConfigAgentEvent(records=(AgentRecord(csqs=(AgentRecordCSQ(csq_id=-5),)),)), Dialect.uccx(18), "CSQID"),
    # a NamedVariable / NamedArray over its 251 / 252 bytes
    (_with(MessageType.CALL_DELIVERED_EVENT, named_variables=(NamedVariable(name="n" * 32, value="v" * 230),)),
     Dialect.uccx(14), "NamedVariable"),
    (_with(MessageType.SNAPSHOT_CALL_CONF, named_arrays=(NamedArray(index=1, name="n" * 32, value="v" * 230),)),
     Dialect.ucce(24), "NamedArray"),
    # ... or within it, but over the VariableName (33) / VariableValue (211) limits, NULs included (reference §1)
    (_with(MessageType.CALL_DELIVERED_EVENT, named_variables=(NamedVariable(name="n" * 33, value="v"),)),
     Dialect.uccx(14), "NamedVariable"),
    (_with(MessageType.CALL_DELIVERED_EVENT, named_variables=(NamedVariable(name="n", value="v" * 211),)),
     Dialect.uccx(18), "NamedVariable"),
    (_with(MessageType.SNAPSHOT_CALL_CONF, named_arrays=(NamedArray(index=1, name="n" * 33, value="v"),)),
     Dialect.uccx(14), "NamedArray"),
    # ... or each within its limits, but more than 2,000 bytes of them in one message (10 x 244)
    (_with(MessageType.CALL_DELIVERED_EVENT,
           named_variables=tuple(NamedVariable(name=f"n{i}".ljust(32, "n"), value="v" * 210) for i in range(10))),
     Dialect.uccx(14), "NamedVariable"),
]


@pytest.mark.parametrize("msg, dialect, field", IRREGULAR,
                         ids=[f"{type(m).__name__}-{_dialect_id(d)}-{f}" for m, d, f in IRREGULAR])
def test_what_the_fast_path_cannot_encode_ends_in_the_generic_encode_error(msg, dialect, field):
    with pytest.raises((Irregular, struct.error, ValueError)):  # the compiled encoder gives up ...
        _compiled(msg, dialect)(msg)
    with pytest.raises(EncodeError) as got:  # ... and encode() raises the generic path's error
        encode(msg, dialect)
    assert got.value.path == (field,)
    with pytest.raises(EncodeError) as generic:
        _generic(msg, dialect)
    assert str(got.value) == str(generic.value)


def test_open_req_encoders_follow_its_own_version_number_in_one_dialect():
    """The per-dialect cache is keyed by class, except for OPEN_REQ (one encoder per VersionNumber)."""
    d = Dialect.uccx(18)
    for v in (14, 18, 10, 14, 18):
        msg = OpenReq(invoke_id=1, version_number=v, idle_timeout=60, client_id="c", client_password=b"")
        assert encode(msg, d) == encode_construct(msg, d)
    assert encode(msg, d) != encode(dataclasses.replace(msg, version_number=14), d)


@pytest.mark.parametrize("d", [UCCX.dialect(v) for v in range(10, 19)] + [UCCE.dialect(v) for v in range(9, 25)],
                         ids=lambda d: f"{d.profile.name}{d.version}")
def test_active_terminal_exists_only_where_tags_have_two_bytes(d):
    """ActiveTerminal (tag 303) came with UCCX v18, whose tags have 2 bytes (reference §2.3: "tags
    302-305 therefore only exist in v18"); UCCE has 2-byte tags from v20. Where it does not exist it
    is left out, the rest of the message sent, on the fast path, the generic path and the oracle alike:
    a UCCE v18/v19 session got no AGENT_STATE_EVENT at all (EncodeError) while a UCCX v17 one got it
    without ActiveTerminal."""
    msg = AgentStateEvent(agent_id="1001", active_terminal="SEP0001")
    data = encode(msg, d)
    assert data == encode_construct(msg, d)
    assert HEADER.pack(*HEADER.unpack_from(data)) + _encode_body(_layout_for(msg.TYPE, d), msg) == data
    exists = d.version >= 18 and d.tag_width == 2  # UCCX 18, UCCE 20-24
    assert (b"SEP0001\0" in data) is exists
    without = encode(AgentStateEvent(agent_id="1001"), d)
    # BodyLength counts the field where it exists: its tag, its length and "SEP0001" with the NUL
    assert len(data) == len(without) + (d.tag_width + d.length_width + 8 if exists else 0)
    assert int.from_bytes(data[:4], "big") == len(data) - 8


def _fixed_only(d: Dialect) -> list[MessageType]:
    """Types with nothing floating in ``d``'s version (most confirmations: InvokeID only)."""
    return [mt for mt in sorted(SPECS, key=int) if mt is not MessageType.OPEN_REQ and d.profile.defines(mt)
            and not _layout_for(mt, d).handlers and not _layout_for(mt, d).count_idx]


@pytest.mark.parametrize("d", ALL_DIALECTS, ids=_dialect_id)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_messages_with_nothing_floating_are_one_pack_and_still_carry_unknown_tags(d, data):
    """A type with nothing floating in the version is encoded as one pack of header and fixed part
    when it carries no unknown tags; with them (a round trip of what a peer sent) the tags follow."""
    types = _fixed_only(d)
    assert MessageType.SET_AGENT_STATE_CONF in types and MessageType.HOLD_CALL_CONF in types
    assert MessageType.CALL_HELD_EVENT not in types  # has floating fields: no shortcut
    msg = data.draw(from_message_type(data.draw(st.sampled_from(types)), dialect=d))
    plain = dataclasses.replace(msg, extra_fields=())
    fn = _compiled(plain, d)
    assert "_whole(" in fn.__source__
    assert fn(plain) == _generic(plain, d) == encode_construct(plain, d)
    tagged = dataclasses.replace(msg, extra_fields=((200, b"x"),))
    assert fn(tagged) == _generic(tagged, d) == encode_construct(tagged, d)
    assert len(fn(tagged)) == len(fn(plain)) + d.tag_width + d.length_width + 1


@pytest.mark.parametrize("d", ALL_DIALECTS, ids=_dialect_id)
def test_a_one_pack_message_out_of_range_ends_in_the_generic_encode_error(d):
    msg = _layout_for(MessageType.HOLD_CALL_CONF, d).cls(invoke_id=2 ** 32)
    with pytest.raises(struct.error):
        _compiled(msg, d)(msg)
    with pytest.raises(EncodeError) as got:
        encode(msg, d)
    assert got.value.path == ("invoke_id",)
