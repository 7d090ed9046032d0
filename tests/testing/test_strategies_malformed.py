"""malformed_frames(): every generated frame is refused with exactly its labelled status."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockcti.testing.strategies import DEFECTS, DIALECTS, MalformedFrame, malformed_frames
from mockcti.wire import DecodeError, Dialect, FrameBuffer, FrameError, StatusCode, decode

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MALFORMED = [malformed_frames(dialect=d) for d in DIALECTS]  # built once per dialect


def decode_stream(data: bytes, dialect: Dialect) -> DecodeError | None:
    """What a server does with the bytes: cut frames, decode them, refuse undefined floating tags
    (the codec keeps them in ``extra_fields``; the session answers E_CTI_INVALID_FIELD); the first
    error, else None."""
    fb = FrameBuffer(dialect.max_body)
    items = fb.feed(data)
    assert fb.at_frame_boundary() or isinstance(fb.failed, FrameError), "the frame was not complete"
    for item in items:
        if isinstance(item, FrameError):
            return item
        try:
            msg = decode(item, dialect)
        except DecodeError as exc:
            return exc
        if msg.extra_fields:
            return DecodeError("undefined floating tag", status=StatusCode.E_CTI_INVALID_FIELD)
    return None


@SETTINGS
@given(st.data())
def test_every_malformed_frame_fails_with_its_labelled_status(data):
    i = data.draw(st.integers(0, len(DIALECTS) - 1), label="dialect")
    dialect, frame = DIALECTS[i], data.draw(MALFORMED[i], label="frame")
    assert isinstance(frame, MalformedFrame)
    # the table's status; a body the decoder cannot cut gets the profile's (ICM's E_CTI_BAD_MESSAGE_FORMAT under ucce)
    bad_format = frame.defect in ("truncated body", "floating length past the end", "truncated floating header")
    later_type = frame.defect == "unknown message type" and frame.expected_status is not DEFECTS[frame.defect]
    if later_type:  # a UCCE number of a later version: the session answers 48, the codec (no session) 2
        assert frame.expected_status is dialect.profile.status("type_for_version")
    else:
        assert frame.expected_status is (dialect.profile.status("bad_format") if bad_format else DEFECTS[frame.defect])
    err = decode_stream(frame.data, dialect)
    assert err is not None, f"{frame.defect}: decoded without error"
    assert err.status is (DEFECTS[frame.defect] if later_type else frame.expected_status), f"{frame.defect}: {err}"
    assert isinstance(err, FrameError) == frame.closes_connection
    if isinstance(err, FrameError):
        assert not err.recoverable


@SETTINGS
@given(malformed_frames(dialect=Dialect.uccx(14, strict=True),
                        defects=["numeric field of wrong size", "field longer than its maximum",
                                 "required field missing"]))
def test_strict_dialect_still_reports_the_defect_not_a_reserved_field(frame):
    err = decode_stream(frame.data, Dialect.uccx(14, strict=True))
    assert err is not None and err.status is frame.expected_status
    assert err.status is not StatusCode.E_CTI_INVALID_PERIPHERAL_ID


@settings(max_examples=100, deadline=None)
@given(st.from_type(MalformedFrame))
def test_malformed_frame_is_registered(frame):
    assert frame.defect in DEFECTS and frame.data


@pytest.mark.parametrize("defect", sorted(DEFECTS))
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: f"{d.profile.name}{d.version}-{d.length_width}")
@settings(max_examples=8, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_defect_can_be_built_in_every_dialect(dialect, defect, data):
    frame = data.draw(malformed_frames(dialect=dialect, defects=[defect]))
    assert frame.defect == defect
    err = decode_stream(frame.data, dialect)
    if frame.expected_status is dialect.profile.status("type_for_version") is not DEFECTS[defect]:
        # a UCCE number of a later version (255-282 below 20): the codec knows no such message; the session
        # that opened the version answers 48 (test_the_session_answers_every_defect_with_its_status_in_every_version)
        assert defect == "unknown message type" and err is not None and err.status is DEFECTS[defect], f"{defect}: {err}"
        return
    assert err is not None and err.status is frame.expected_status, f"{defect}: {err}"
    assert frame.expected_status in (DEFECTS[defect], dialect.profile.status("bad_format"))


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidArgument):
        malformed_frames(defects=["no such defect"]).validate()
    with pytest.raises(InvalidArgument):
        malformed_frames(defects=[]).validate()


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_undefined_floating_tag_is_answered_e_cti_invalid_field_by_the_session(data):
    """The defect's status is the session's answer on the real request path, with the frame's InvokeID."""
    from mockcti.session import Rejected, Session, SessionConfig, Violation
    from mockcti.wire import encode
    from mockcti.wire import messages as M
    from mockcti.wire.dialect import PROFILES

    i = data.draw(st.integers(0, len(DIALECTS) - 1), label="dialect")
    dialect = DIALECTS[i]
    frame = data.draw(malformed_frames(dialect=dialect, defects=["unknown floating tag"]), label="frame")
    s = Session(1, SessionConfig(profile=PROFILES[dialect.profile.name], v18_length_width=dialect.length_width))
    opening = M.OpenReq(invoke_id=1, version_number=dialect.version, idle_timeout=60, services_requested=0x7,
                        call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, client_id="t", client_password=b"",
                        agent_id="1001", agent_instrument="3001", agent_extension="3001")
    s.receive_data(encode(opening, dialect), 0.0)
    s.opened(0x7)
    events = s.receive_data(frame.data, 1.0)
    rejected = [e for e in events if isinstance(e, Rejected)]
    if int.from_bytes(frame.data[4:8], "big") == 3:  # an OPEN_REQ in an open session: refused as such first
        assert rejected, events
        return
    assert [e.rule for e in events if isinstance(e, Violation)] == ["PROTO-UNKNOWN-TAG"], events
    assert len(rejected) == 1 and rejected[0].status is StatusCode.E_CTI_INVALID_FIELD, events
    assert rejected[0].invoke_id == int.from_bytes(frame.data[8:12], "big")


@pytest.mark.parametrize("max_body", [0xFFFF_FFFF, 0xFFFF_0000, 0x2000_0000])
def test_a_body_limit_near_4_gib_still_builds_malformed_frames(max_body):
    """max_body 0xFFFFFFFF (mockcti serve --max-body 4294967295) made malformed_frames() fail with
    'Cannot have max_value=4294967295 < min_value=4294967296'; a limit above 0x20000000 made the
    garbage defect filter out every draw (FailedHealthCheck). Under default settings, as users run it."""
    dialect = Dialect.uccx(14, max_body=max_body)
    seen = set()

    @settings(database=None, deadline=None)
    @given(malformed_frames(dialect=dialect))
    def run(frame):
        seen.add(frame.defect)
        err = decode_stream(frame.data, dialect)
        assert err is not None and err.status is frame.expected_status, f"{frame.defect}: {err}"

    run()
    if max_body == 0xFFFF_FFFF:  # no first word can exceed the limit: never drawn (whether a draw of 100 hits
        assert "garbage" not in seen  # it otherwise is chance: the explicit draws below test it)

    if max_body < 0xFFFF_FFFF:
        @settings(database=None, deadline=None, max_examples=50)
        @given(malformed_frames(dialect=dialect, defects=["garbage"]))
        def garbage(frame):
            assert int.from_bytes(frame.data[:4], "big") > max_body and frame.closes_connection
            assert isinstance(decode_stream(frame.data, dialect), FrameError)

        garbage()
    else:
        with pytest.raises(InvalidArgument, match="can be built"):
            malformed_frames(dialect=dialect, defects=["garbage", "body length over the limit"]).validate()


EVERY_VERSION = ([Dialect.uccx(v) for v in range(10, 19)] + [Dialect.uccx(18, v18_length_width=1)]
                 + [Dialect.ucce(v) for v in range(9, 25)])
MALFORMED_EVERY_VERSION = [malformed_frames(dialect=d) for d in EVERY_VERSION]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_session_answers_every_defect_with_its_status_in_every_version(data):
    """What a client sees: each frame fed to a Session of the dialect's profile (an OPEN_REQ to a new
    connection, anything else to a session opened in the dialect's version) is refused with the
    labelled status, and the connection is closed exactly for the unrecoverable ones."""
    from mockcti.session import Rejected, Session, SessionConfig
    from mockcti.wire import encode
    from mockcti.wire import messages as M
    from mockcti.wire.dialect import PROFILES

    i = data.draw(st.integers(0, len(EVERY_VERSION) - 1), label="dialect")
    dialect = EVERY_VERSION[i]
    frame = data.draw(MALFORMED_EVERY_VERSION[i], label="frame")
    s = Session(1, SessionConfig(profile=PROFILES[dialect.profile.name], v18_length_width=dialect.v18_length_width))
    if frame.closes_connection or int.from_bytes(frame.data[4:8], "big") != 3:
        opening = M.OpenReq(invoke_id=1, version_number=dialect.version, idle_timeout=60, services_requested=0x7,
                            call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, client_id="t", client_password=b"",
                            agent_id="1001", agent_instrument="3001", agent_extension="3001")
        s.receive_data(encode(opening, dialect), 0.0)
        s.opened(0x7)
    rejected = [e for e in s.receive_data(frame.data, 1.0) if isinstance(e, Rejected)]
    assert len(rejected) == 1, (frame.defect, rejected)
    assert rejected[0].status is frame.expected_status, (frame.defect, rejected[0])
    assert rejected[0].close == frame.closes_connection


@pytest.mark.parametrize("version, status", [(9, StatusCode.E_CTI_INVALID_MSG_TYPE_FOR_VERSION),
                                             (19, StatusCode.E_CTI_INVALID_MSG_TYPE_FOR_VERSION),
                                             (20, StatusCode.E_CTI_INVALID_MESSAGE_TYPE)])
def test_an_icm_message_number_of_a_later_version_is_labelled_with_the_status_a_ucce_session_answers(version, status):
    """UCCE numbers 255-282 (ICM's v20-v24 messages) sent in a session opened below 20 are answered
    E_CTI_INVALID_MSG_TYPE_FOR_VERSION (48), from 20 on E_CTI_INVALID_MESSAGE_TYPE (2): the strategy labelled
    them all 2, so a client fuzzed with it was held to the wrong status (and this file's session test failed
    whenever Hypothesis drew one). Every one of those numbers is a number the strategy draws, and each is
    labelled. (This test searched the strategy with hypothesis.find for one such frame: in 5,000 examples it
    found none once, in a CI run whose test order and loaded modules steered Hypothesis's draws elsewhere.)"""
    from mockcti.testing.strategies import _unknown_type_frame, _unknown_type_numbers

    dialect = Dialect.ucce(version)
    drawn = _unknown_type_numbers(dialect)
    for number in range(255, 283):
        assert number in drawn
        frame = _unknown_type_frame(number, b"\x00" * 4, dialect)
        assert frame.defect == "unknown message type" and int.from_bytes(frame.data[4:8], "big") == number
        assert frame.expected_status is status, number
