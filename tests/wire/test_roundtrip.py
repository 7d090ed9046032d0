"""Round trips and the differential test: fast path == construct path, for every message type
in every dialect; arbitrary bytes never raise anything but the codec's own errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import DIALECTS, chunkings, from_message_type
from mockcti.wire import (
    SPECS, DecodeError, Dialect, EncodeError, Frame, FrameBuffer, FrameError, StatusCode, decode, decode_construct,
    encode, encode_construct,
)
from mockcti.wire.codec import HEADER

ALL_TYPES = sorted(SPECS, key=int)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: f"{d.profile.name}{d.version}-{d.tag_width}{d.length_width}")
@pytest.mark.parametrize("mt", ALL_TYPES, ids=lambda m: m.name)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_type_round_trips_and_both_paths_agree(mt, dialect, data):
    if not dialect.profile.defines(mt):  # the UCCX statistics under ucce: test_types_a_profile_lacks_...
        return
    msg = data.draw(from_message_type(mt, dialect=dialect))
    wire = encode(msg, dialect)
    assert encode_construct(msg, dialect) == wire
    length, type_id = HEADER.unpack_from(wire)
    assert length == len(wire) - 8
    frame = Frame(type_id, wire[8:])
    assert decode(frame, dialect) == msg
    assert decode_construct(frame, dialect) == msg


LACKING = [(d, mt) for d in DIALECTS for mt in ALL_TYPES if not d.profile.defines(mt)]


def test_the_ucce_profile_lacks_exactly_the_uccx_statistics_and_uccx_lacks_nothing():
    from mockcti.wire.enums import UCCX_ONLY_MESSAGE_TYPES

    assert {mt for d, mt in LACKING if d.profile.name == "ucce"} == UCCX_ONLY_MESSAGE_TYPES
    assert not [mt for d, mt in LACKING if d.profile.name == "uccx"]


@pytest.mark.parametrize("dialect,mt", LACKING, ids=lambda x: getattr(x, "name", None) or
                         f"{x.profile.name}{x.version}")
def test_types_a_profile_lacks_are_neither_encoded_nor_decoded_nor_drawn(dialect, mt):
    """ICM has no QUERY_*_STATISTICS (UCCX-only, provisional numbers 0xFF02-0xFF07): under ucce the encoder
    refuses them, their number decodes as an unknown type (E_CTI_INVALID_MESSAGE_TYPE), and the strategies
    draw none (``messages()`` leaves them out, ``from_message_type`` refuses them)."""
    from mockcti.testing.strategies import messages

    msg = SPECS[mt].cls()
    with pytest.raises(EncodeError, match=f"{mt.name} is not a message of the ucce profile"):
        encode(msg, dialect)
    with pytest.raises(EncodeError):
        encode_construct(msg, dialect)
    with pytest.raises(DecodeError) as got:
        decode(Frame(int(mt), b"\0" * 4), dialect)
    assert got.value.status == StatusCode.E_CTI_INVALID_MESSAGE_TYPE
    with pytest.raises(ValueError, match="not a message of the ucce profile"):
        from_message_type(mt, dialect=dialect)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(m=messages(dialect=dialect, extra_fields=False))
    def never_drawn(m):
        assert m.TYPE is not mt

    never_drawn()


@settings(max_examples=300, deadline=None)
@given(type_id=st.integers(0, 300) | st.sampled_from([int(t) for t in ALL_TYPES]),
       body=st.binary(max_size=120), dialect=st.sampled_from(DIALECTS))
def test_arbitrary_bodies_raise_only_decode_error(type_id, body, dialect):
    try:
        decode(Frame(type_id, body), dialect)
    except DecodeError as exc:
        assert exc.status is not None
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(1, 50))
def test_arbitrary_streams_never_raise_from_framing(data, cut):
    fb = FrameBuffer(max_body=200)
    items = []
    for i in range(0, len(data), cut):
        items += fb.feed(data[i:i + cut])
    assert fb.buffered <= 8 + 200
    for it in items:
        if isinstance(it, Frame):
            try:
                decode(it, Dialect.uccx(14))
            except DecodeError:
                pass
        else:
            assert isinstance(it, FrameError)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_framing_any_chunking_yields_the_same_frames(data):
    dialect = Dialect.uccx(14)
    msgs = data.draw(st.lists(st.sampled_from(ALL_TYPES[:40]).flatmap(
        lambda t: from_message_type(t, dialect=dialect, extra_fields=False)), min_size=1, max_size=5))
    stream = b"".join(encode(m, dialect) for m in msgs)
    chunks = data.draw(chunkings(stream))
    fb = FrameBuffer()
    got = [decode(f, dialect) for c in chunks for f in fb.feed(c)]
    assert got == msgs
    assert fb.at_frame_boundary()


def test_decoder_is_the_compiled_decoder_decode_uses_and_refuses_what_decode_does_not_compile():
    from mockcti.wire import MessageType, decoder
    from mockcti.wire.messages import HoldCallReq

    d = Dialect.uccx(14)
    msg = HoldCallReq(invoke_id=3, call_id=16777500, connection_device_id="3001")
    wire = encode(msg, d)
    fn = decoder(msg.TYPE, d)
    assert fn is decoder(msg.TYPE, Dialect.uccx(14))  # compiled once per layout
    assert fn(wire[8:]) == decode(Frame(int.from_bytes(wire[4:8], "big"), wire[8:]), d) == msg
    assert decoder(msg.TYPE, Dialect.uccx(18)) is not fn  # another version, other widths
    with pytest.raises(ValueError, match="OPEN_REQ"):
        decoder(MessageType.OPEN_REQ, d)
    with pytest.raises(ValueError, match="strict"):
        decoder(msg.TYPE, Dialect.uccx(14, strict=True))


def test_a_dialect_prints_in_a_line_not_with_its_message_number_table():
    """A Dialect's repr (and Hypothesis's pretty printing of it, in every strategy built with one)
    listed the profile's 94-entry wire-number table: the fuzzer's case strategy printed as 53 kB
    and Hypothesis warned 'Generating overly large repr' on every fuzz run."""
    from hypothesis.vendor.pretty import pretty

    from mockcti.testing.fuzz import cases
    from mockcti.wire.dialect import UCCX

    d = Dialect.uccx(14)
    assert repr(d) == ("Dialect(profile=<Profile uccx 10..18>, version=14, v18_length_width=2, strict=False, "
                       f"max_body={d.max_body})")
    assert "by_wire_id" not in pretty(d) and "<Profile uccx 10..18>" in pretty(d)
    assert repr(UCCX.with_type_ids({"CONFIG_TERMINAL_EVENT": 999})) == "<Profile uccx 10..18, remapped message numbers>"
    assert len(repr(cases(dialect=d))) < 10_000


@pytest.mark.parametrize("value,max_len,expected", [
    ("abc", 4, "abc"),                      # 3 bytes + NUL: fits exactly
    ("abcd", 4, "abc"),                     # one byte too many
    ("ab\u00e9", 4, "ab"),                  # é is 2 bytes: not cut in half
    ("a\u20ac\u20ac", 8, "a\u20ac\u20ac"),  # 7 bytes + NUL
    ("a\u20ac\u20ac", 7, "a\u20ac"),
    ("\udcff" * 10, 5, "\udcff" * 4),      # a byte kept by surrogateescape is one byte
])
def test_fit_string_cuts_to_the_bytes_a_string_field_carries(value, max_len, expected):
    from mockcti.wire.types import STRING, fit_string

    fitted = fit_string(value, max_len)
    assert fitted == expected
    assert len(STRING.encode(fitted)) <= max_len
