"""FrameBuffer's quick mode (HEARTBEAT_REQ cut as its InvokeID) agrees with the normal mode for
any stream and any chunking."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import chunkings
from mockcti.wire import Dialect, FrameBuffer, MessageType, encode
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
