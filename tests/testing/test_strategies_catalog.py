"""error_codes(): entries of the error catalog, restricted to the requested sources."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockcti.catalog import Entry, default
from mockcti.testing.strategies import error_codes

CAT = default()


@settings(max_examples=200, deadline=None)
@given(error_codes())
def test_every_drawn_code_is_a_catalog_entry(entry):
    assert isinstance(entry, Entry)
    assert entry in CAT.entries(entry.source)
    assert CAT.get(entry.name) == entry


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_codes_come_only_from_the_requested_sources(data):
    sources = data.draw(st.lists(st.sampled_from(CAT.sources()), min_size=1, max_size=3, unique=True))
    entry = data.draw(error_codes(sources=sources))
    assert entry.source in sources
    if entry.code is not None:
        assert CAT.lookup(entry.source, entry.code) == entry


@settings(max_examples=100, deadline=None)
@given(error_codes(sources=["uccx_status"]))
def test_uccx_status_entries_name_wire_status_codes(entry):
    from mockcti.wire.enums import StatusCode
    if entry.code is not None:
        assert StatusCode(entry.code) == entry.code


def test_a_single_source_may_be_given_as_a_string():
    seen = set()

    @settings(max_examples=50, deadline=None, database=None)
    @given(error_codes(sources="uccx_cf"))
    def collect(entry):
        seen.add(entry.source)

    collect()
    assert seen == {"uccx_cf"}


@pytest.mark.parametrize("sources", [["no_such_source"], []])
def test_bad_sources_are_refused(sources):
    with pytest.raises(InvalidArgument):
        error_codes(sources=sources).validate()
