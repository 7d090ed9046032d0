"""The counts of the server's own messages, read off the bytes (reference §2.2: a list's count is given by a fixed
field; the message tables: NumNamedVariables / NumNamedArrays are the "count of tag-82 (tag-83) fields").

The round-trip test cannot see a count that is wrong the same way on both sides (decode() calls a count that
matches its list None, encode() writes None as the list's length, both from one table): this test reads the fixed
field at its offset and counts the floating fields itself."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcti.testing.strategies import from_message_type
from mockcti.wire import SPECS, Dialect, encode
from mockcti.wire.codec import spec_in

#: the server's messages with a count in their fixed part (SNAPSHOT_CALL_CONF, BEGIN_CALL_EVENT, CALL_DATA_UPDATE,
#: CALL_DELIVERED, the config events …)
COUNTED = sorted((mt for mt, spec in SPECS.items() if spec.direction == "S->C" and any(f.count_of for f in spec.fixed)),
                 key=int)
NAMED_TAGS = {"NumNamedVariables": 82, "NumNamedArrays": 83}


def _tags(body: bytes, start: int, tw: int, lw: int) -> list[int]:
    tags, pos = [], start
    while pos < len(body):
        tag = int.from_bytes(body[pos:pos + tw], "big")
        length = int.from_bytes(body[pos + tw:pos + tw + lw], "big")
        tags.append(tag)
        pos += tw + lw + length
    assert pos == len(body)
    return tags


def test_the_server_messages_with_counts_are_those_the_reference_lists():
    names = {mt.name for mt in COUNTED}
    assert {"BEGIN_CALL_EVENT", "CALL_DATA_UPDATE_EVENT", "CALL_DELIVERED_EVENT", "SNAPSHOT_CALL_CONF"} <= names


@pytest.mark.parametrize("dialect", [Dialect.uccx(14), Dialect.uccx(18), Dialect.ucce(24)],
                         ids=["uccx14", "uccx18", "ucce24"])
@pytest.mark.parametrize("mt", COUNTED, ids=lambda m: m.name)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_count_of_a_server_message_is_the_number_of_what_it_counts(mt, dialect, data):
    if not dialect.profile.defines(mt):
        return
    msg = data.draw(from_message_type(mt, dialect=dialect))
    wire = encode(msg, dialect)
    body = wire[8:]
    spec = spec_in(mt, dialect)
    offset, counts = 0, {}
    for f in spec.fixed_for(dialect.version):
        size = f.con.sizeof()
        if f.count_of:
            counts[f.name] = (int.from_bytes(body[offset:offset + size], "big"), f.count_of)
        offset += size
    tags = _tags(body, offset, dialect.tag_width, dialect.length_width)
    for name, (said, attr) in counts.items():
        assert said == len(getattr(msg, attr)), (name, said)
        if name in NAMED_TAGS:
            assert said == tags.count(NAMED_TAGS[name]), (name, said, tags)
