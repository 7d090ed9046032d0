"""The existing strategies: messages round-trip, frames decode, chunkings rebuild, types are registered."""

from __future__ import annotations

import warnings
from itertools import product

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from mockcti.testing import strategies as S
from mockcti.testing.strategies import (
    DIALECTS, MalformedFrame, chunkings, floating_fields, frames, from_message_type, messages, strings_for,
)
from mockcti.wire import MESSAGE_CLASSES, Dialect, FrameBuffer, MessageType, decode, decode_bytes, encode
from mockcti.wire.messages import AgentStateEvent, OpenReq

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# one strategy object per dialect, built once (messages() is a one_of over every message type)
MESSAGES = [messages(dialect=d) for d in DIALECTS]
FRAMES = [frames(dialect=d) for d in DIALECTS]
INDICES = st.integers(0, len(DIALECTS) - 1)


def test_all_names_are_exported():
    for name in S.__all__:
        assert hasattr(S, name), name
    assert {"malformed_frames", "event_sequences", "error_codes", "MalformedFrame"} <= set(S.__all__)


@SETTINGS
@given(st.data())
def test_messages_round_trip_in_every_dialect(data):
    i = data.draw(INDICES)
    dialect, msg = DIALECTS[i], data.draw(MESSAGES[i])
    assert decode_bytes(encode(msg, dialect), dialect) == msg


@SETTINGS
@given(st.data())
def test_frames_decode_to_one_message(data):
    i = data.draw(INDICES)
    dialect, raw = DIALECTS[i], data.draw(FRAMES[i])
    fb = FrameBuffer(dialect.max_body)
    got = fb.feed(raw)
    assert len(got) == 1 and fb.at_frame_boundary()
    decode(got[0], dialect)


@SETTINGS
@given(st.from_type(OpenReq))
def test_open_req_is_registered(msg):
    assert isinstance(msg, OpenReq)
    assert decode_bytes(encode(msg, S.DIALECTS[-4]), S.DIALECTS[-4]) == msg  # UCCX v18


@settings(max_examples=50, deadline=None)
@given(st.from_type(AgentStateEvent))
def test_event_classes_are_registered(msg):
    assert msg.TYPE is MessageType.AGENT_STATE_EVENT


def test_every_message_class_and_malformed_frame_have_a_registered_strategy():
    from hypothesis.strategies._internal.types import _global_type_lookup
    for cls in (*MESSAGE_CLASSES.values(), MalformedFrame):
        assert cls in _global_type_lookup, cls.__name__


@SETTINGS
@given(st.data())
def test_chunkings_rebuild_the_stream_and_frame_buffer_agrees(data):
    i = data.draw(INDICES)
    dialect = DIALECTS[i]
    stream = b"".join(data.draw(st.lists(FRAMES[i], min_size=1, max_size=3)))
    chunks = data.draw(chunkings(stream))
    assert b"".join(chunks) == stream and all(chunks)
    fb = FrameBuffer(dialect.max_body)
    whole = [f for c in chunks for f in fb.feed(c)]
    assert [f.to_bytes() for f in whole] == [f.to_bytes() for f in FrameBuffer(dialect.max_body).feed(stream)]


@SETTINGS
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), strings_for(n))))
def test_strings_for_fit_with_their_nul(case):
    n, text = case
    assert "\x00" not in text and len(text.encode()) + 1 <= n


@settings(max_examples=100, deadline=None)
@given(floating_fields(MessageType.BEGIN_CALL_EVENT))
def test_floating_fields_are_fields_of_the_type(pair):
    field, value = pair
    assert field.tag in from_message_type.__globals__["SPECS"][MessageType.BEGIN_CALL_EVENT].fields_by_tag
    assert value is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60), st.integers(1, 8), st.data())
def test_chunkings_give_at_most_max_chunks_chunks(stream, max_chunks, data):
    """max_chunks=N gave up to N + 1 chunks (N cuts): max_chunks=1 split the stream in two."""
    chunks = data.draw(chunkings(stream, max_chunks=max_chunks))
    assert b"".join(chunks) == stream and len(chunks) <= max_chunks
    assert all(chunks) or chunks == [b""]


def test_chunkings_with_max_chunks_1_never_split():
    search = settings(database=None, max_examples=500)
    with pytest.raises(NoSuchExample):
        find(chunkings(bytes(10), max_chunks=1), lambda c: len(c) > 1, settings=search)
    assert len(find(chunkings(bytes(50), max_chunks=3), lambda c: len(c) == 3, settings=search)) == 3
    for bad in (0, -1, 2.0, True):
        with pytest.raises(InvalidArgument):
            chunkings(b"abc", max_chunks=bad).validate()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_strings_for_takes_an_alphabet_without_a_warning(data):
    """alphabet= was tested for truth (``alphabet or default``): a HypothesisWarning on every call."""
    cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)  # 3 UTF-8 bytes each
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strategy = strings_for(33, alphabet=cjk)
    text = data.draw(strategy)
    assert all(0x4E00 <= ord(c) <= 0x9FFF for c in text) and len(text.encode()) + 1 <= 33
    assert data.draw(strings_for(8, alphabet="ab")) in {"".join(p) for n in range(8) for p in product("ab", repeat=n)}


EVERY_VERSION = ([Dialect.uccx(v) for v in range(10, 19)] + [Dialect.uccx(18, v18_length_width=1)]
                 + [Dialect.ucce(v) for v in range(9, 25)])
MESSAGES_EVERY_VERSION = [messages(dialect=d) for d in EVERY_VERSION]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_messages_round_trip_in_every_version_of_both_profiles(data):
    """Not only the representative DIALECTS: UCCX 10..18 (v18 with either length width) and UCCE 9..24,
    each message within the body limit and byte-identical when encoded again."""
    i = data.draw(st.integers(0, len(EVERY_VERSION) - 1), label="dialect")
    dialect, msg = EVERY_VERSION[i], data.draw(MESSAGES_EVERY_VERSION[i], label="message")
    wire = encode(msg, dialect)
    assert len(wire) - 8 <= dialect.max_body
    back = decode_bytes(wire, dialect)
    assert back == msg and encode(back, dialect) == wire
