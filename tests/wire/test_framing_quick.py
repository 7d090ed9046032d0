"""FrameBuffer's quick mode (HEARTBEAT_REQ cut as its InvokeID) agrees with the normal mode for
any stream and any chunking; its two policies for a BodyLength over the limit (fail, discard)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import chunkings
from mockcti.wire import Dialect, FrameBuffer, MessageType, encode
from mockcti.wire.errors import FrameError
from mockcti.wire.messages import HeartbeatReq, QueryAgentStateReq

D = Dialect.uccx(14)
HB = int(MessageType.HEARTBEAT_REQ)


def frames_of(draw_items):
    return b"".join(encode(HeartbeatReq(invoke_id=n), D) if kind else
                    encode(QueryAgentStateReq(invoke_id=n, agent_id="1001"), D) for kind, n in draw_items)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(st.tuples(st.booleans(), st.integers(0, 2**32 - 1)), max_size=12))
def test_quick_mode_cuts_the_same_stream(data, items):
    stream = frames_of(items)
    normal, quick = FrameBuffer(), FrameBuffer()
    a, b = [], []
    for chunk in data.draw(chunkings(stream)):
        a += normal.feed(chunk)
        b += quick.feed(chunk, quick_type=HB)
    expect = [(f.type_id, f.body) for f in a]
    got = [(HB, n.to_bytes(4, "big")) if isinstance(n, int) else (n.type_id, n.body) for n in b]
    assert got == expect and normal.offset == quick.offset and quick.at_frame_boundary()


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(st.tuples(st.booleans(), st.integers(0, 2**32 - 1)), max_size=12))
def test_uint_frames_takes_only_whole_heartbeat_chunks_and_consumes_nothing_by_itself(data, items):
    """uint_frames answers a chunk only when it is nothing but whole HEARTBEAT_REQs and nothing is
    buffered; then skip_fed accounts for it; any other chunk goes through feed as usual."""
    stream = frames_of(items)
    fb, ref = FrameBuffer(), FrameBuffer()
    got, want = [], []
    for chunk in data.draw(chunkings(stream)):
        want += [f.type_id if not isinstance(f, int) else f for f in ref.feed(chunk, quick_type=HB)]
        before = (fb.offset, fb.buffered)
        ids = fb.uint_frames(chunk, HB)
        assert (fb.offset, fb.buffered) == before
        if ids is None:
            got += [f.type_id if not isinstance(f, int) else f for f in fb.feed(chunk, quick_type=HB)]
        else:
            assert before[1] == 0 and len(chunk) == 12 * len(ids)
            fb.skip_fed(chunk)
            got += ids
    assert got == want and fb.offset == ref.offset == len(stream)


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(1, 40), min_size=1, max_size=40), skipped=st.integers(33, 300))
def test_discard_mode_skips_an_oversized_body_in_any_chunking_and_goes_on(cuts, skipped):
    """``on_oversize="discard"``: a BodyLength over the limit is reported once, as a recoverable
    FrameError at its offset (with its type and InvokeID), its body is skipped without being
    buffered, and the frames after it come out as usual — however the stream is cut."""
    before, after = encode(HeartbeatReq(invoke_id=1), D), encode(HeartbeatReq(invoke_id=2), D)
    big_body = (77).to_bytes(4, "big") + bytes(range(256)) * 2
    big = skipped.to_bytes(4, "big") + (999).to_bytes(4, "big") + big_body[:skipped]
    stream = before + big + after
    fb = FrameBuffer(max_body=32, on_oversize="discard")
    items, pos, i = [], 0, 0
    while pos < len(stream):
        n = cuts[i % len(cuts)]
        items += fb.feed(stream[pos:pos + n])
        assert fb.buffered <= 8 + 32  # the skipped body is never held
        pos, i = pos + n, i + 1
    assert len(items) == 3, items
    first, err, last = items
    assert first.type_id == HB and first.body == (1).to_bytes(4, "big")
    assert isinstance(err, FrameError) and err.recoverable and err.offset == len(before) and err.type_id == 999
    assert "BodyLength" in err.reason and fb.failed is None
    assert err.invoke_id in (77, None)  # known when the chunk held the first body bytes
    assert last.type_id == HB and last.body == (2).to_bytes(4, "big")
    assert fb.offset == len(stream)


def test_fail_mode_is_the_default_and_stops_the_stream():
    fb = FrameBuffer(max_body=32)
    items = fb.feed((33).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(33) + encode(HeartbeatReq(invoke_id=2), D))
    assert len(items) == 1 and not items[0].recoverable and fb.failed is items[0]
    assert fb.feed(encode(HeartbeatReq(invoke_id=3), D)) == []


def test_bad_framebuffer_settings_are_refused():
    with pytest.raises(ValueError, match="on_oversize"):
        FrameBuffer(on_oversize="ignore")
    with pytest.raises(ValueError, match="max_body"):
        FrameBuffer(max_body=-1)
