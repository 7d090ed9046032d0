"""The session state machine, pure: bytes and a clock value in, events out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcti import session as session_module
from mockcti.session import (
    CONFIRMATION_OF, ENDED_CALLS_KEPT, RULES, ConnectionFailed, Received, Rejected, Session, SessionConfig, SessionState, Violation,
    open_sender,
)
from mockcti.testing.strategies import from_message_type
from mockcti.wire import SPECS, DecodeError, Dialect, Frame, MessageType, decode, decode_bytes, encode
from mockcti.wire.enums import StatusCode
from mockcti.wire.types import STRING
from mockcti.wire.messages import (
    AnswerCallReq, BeginCallEvent, CallDeliveredEvent, CallHeldEvent, EndCallEvent, CloseReq, FailureConf, FailureEvent, HeartbeatConf, HeartbeatReq, HoldCallConf, HoldCallReq, OpenReq,
    SetAgentStateReq,
)

D14 = Dialect.uccx(14)
S = StatusCode


def open_req(**kw) -> OpenReq:
    base = dict(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7, call_msg_mask=0xFFFF,
                agent_state_mask=0x3FFF, client_id="t", client_password=b"", agent_id="1001",
                agent_instrument="3001", agent_extension="3001")
    base.update(kw)
    return OpenReq(**base)


def wire(*msgs, dialect=D14) -> bytes:
    return b"".join(encode(m, dialect) for m in msgs)


def kinds(events):
    return [type(e).__name__ + (f":{e.rule}" if isinstance(e, Violation) else "") for e in events]


def opened_session(**cfg) -> Session:
    s = Session(1, SessionConfig(**cfg))
    evs = s.receive_data(wire(open_req()), 0.0)
    assert isinstance(evs[-1], Received)
    s.opened(0x7)
    return s


def test_open_req_first_and_then_received():
    s = Session(1)
    evs = s.receive_data(wire(open_req()), 0.0)
    assert kinds(evs) == ["Received"] and s.state is SessionState.OPENING
    s.opened(0x7)
    assert s.state is SessionState.OPEN and s.dialect.version == 14 and s.idle_timeout == 60


def test_request_before_open_is_rejected_with_session_not_open():
    s = Session(1)
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=5)), 0.0)
    assert kinds(evs) == ["Violation:PROTO-OPEN-FIRST", "Rejected"]
    rej = evs[-1]
    assert rej.status is S.E_CTI_SESSION_NOT_OPEN and rej.invoke_id == 5
    # the golden FAILURE_CONF of reference §8.5
    assert encode(rej.failure_conf().__class__(invoke_id=5, status=4), D14) == bytes.fromhex(
        "0000000800000001000000050000 0004".replace(" ", ""))


def test_second_open_req_is_rejected_and_session_continues():
    s = opened_session()
    evs = s.receive_data(wire(open_req(invoke_id=2)), 1.0)
    assert kinds(evs) == ["Violation:PROTO-OPEN-TWICE", "Rejected"]
    assert evs[-1].status is S.E_CTI_SESSION_ALREADY_OPEN and evs[-1].invoke_id == 2
    assert s.state is SessionState.OPEN


@pytest.mark.parametrize("kw,status,rule", [
    (dict(version_number=9), S.E_CTI_INVALID_VERSION, "PROTO-VERSION"),
    (dict(version_number=19), S.E_CTI_INVALID_VERSION, "PROTO-VERSION"),
    (dict(idle_timeout=19), S.E_CTI_INVALID_TIMEOUT, "PROTO-IDLE-TIMEOUT-VALUE"),
    (dict(services_requested=0x11), S.E_CTI_UNSPECIFIED_FAILURE, "PROTO-SERVICE-MASK"),
    (dict(services_requested=0x10), S.E_CTI_INCONSISTENT_AGENT_DATA, "PROTO-AGENT-FIELDS-IN-BRIDGE"),
    (dict(agent_id=None, agent_instrument=None, agent_extension=None), S.E_CTI_REQUIRED_DATA_MISSING,
     "PROTO-AGENT-IDENTITY"),
])
def test_open_req_refusals(kw, status, rule):
    s = Session(1)
    evs = s.receive_data(wire(open_req(**kw)), 0.0)
    assert kinds(evs) == [f"Violation:{rule}", "Rejected"]
    assert evs[-1].status is status and evs[-1].invoke_id == 1
    assert s.state is SessionState.AWAITING_OPEN


@pytest.mark.parametrize("golden", [True, False])
def test_an_icm_open_req_of_an_unsupported_version_is_refused_as_such(golden):
    """An ICM v19 OPEN_REQ has 1-byte tags; read with UCCX v18's 2-byte tags its floating part is
    garbage. The version is refused first (§7.1 E_CTI_INVALID_VERSION, InvokeID echoed), not the
    body as malformed: the reference §8.11 bytes, and a plain v19 bridge OPEN_REQ."""
    if golden:
        from tests.wire.test_golden import V8_11, hexdump

        data, invoke = hexdump(V8_11), None
    else:
        data = encode(open_req(invoke_id=7, version_number=19, services_requested=0x10, agent_id=None,
                               agent_instrument=None, agent_extension=None), Dialect.ucce(19))
        invoke = 7
    assert len(data) > 8 and int.from_bytes(data[12:16], "big") == 19
    s = Session(1)
    evs = s.receive_data(data, 0.0)
    assert kinds(evs) == ["Violation:PROTO-VERSION", "Rejected"]
    assert evs[-1].status is S.E_CTI_INVALID_VERSION
    assert evs[-1].invoke_id == (invoke if invoke is not None else int.from_bytes(data[8:12], "big"))
    assert s.state is SessionState.AWAITING_OPEN


def test_idle_timeout_none_and_strict_upper_bound():
    s = Session(1)
    assert kinds(s.receive_data(wire(open_req(idle_timeout=0xFFFFFFFF)), 0.0)) == ["Received"]
    strict = Session(2, SessionConfig(strict=True))
    evs = strict.receive_data(wire(open_req(idle_timeout=120)), 0.0)
    assert evs[-1].status is S.E_CTI_INVALID_TIMEOUT


def test_missing_required_field_and_unknown_tag():
    s = opened_session()
    # a HOLD_CALL_REQ without its required ConnectionDeviceID (tag 25)
    body = encode(HoldCallReq(invoke_id=7, call_id=1, connection_device_id="3001"), D14)[8:]
    body = body[:16]
    frame = (len(body)).to_bytes(4, "big") + (54).to_bytes(4, "big") + body
    evs = s.receive_data(frame, 1.0)
    assert kinds(evs) == ["Violation:PROTO-REQUIRED-FIELD", "Rejected"]
    assert evs[-1].status is S.E_CTI_REQUIRED_DATA_MISSING and evs[-1].invoke_id == 7
    evs = s.receive_data(wire(HoldCallReq(invoke_id=8, call_id=1, connection_device_id="3001",
                                          extra_fields=((250, b"x"),))), 1.0)
    assert kinds(evs) == ["Violation:PROTO-UNKNOWN-TAG", "Rejected"]
    assert evs[-1].status is S.E_CTI_INVALID_FIELD
    lenient = opened_session(reject_unknown_tags=False)
    evs = lenient.receive_data(wire(HoldCallReq(invoke_id=8, call_id=1, connection_device_id="3001",
                                                extra_fields=((250, b"x"),))), 1.0)
    assert kinds(evs)[-1] == "Received"


@pytest.mark.parametrize("dialect", [Dialect.uccx(10), D14, Dialect.uccx(18), Dialect.ucce(24)])
def test_a_defined_floating_field_sent_twice_is_not_an_undefined_tag(dialect):
    """HOLD_CALL_REQ with ConnectionDeviceID (tag 25) twice: the journal said "carried undefined floating
    tag(s) 25" (PROTO-UNKNOWN-TAG) and the FAILURE_CONF "invalid floating field tag(s) 25", of a tag the
    message defines. It is a repeated field: PROTO-MALFORMED, naming the field; status still E_CTI_INVALID_FIELD."""
    s = Session(1, SessionConfig(profile=dialect.profile))
    s.receive_data(wire(open_req(version_number=dialect.version), dialect=dialect), 0.0)
    s.opened(0x7)
    evs = s.receive_data(wire(HoldCallReq(invoke_id=8, call_id=1, connection_device_id="3001",
                                          extra_fields=((25, b"3002\0"),)), dialect=dialect), 1.0)
    assert kinds(evs) == ["Violation:PROTO-MALFORMED", "Rejected"]
    assert evs[0].detail == "HOLD_CALL_REQ carried ConnectionDeviceID (tag 25) more than once"
    assert evs[1].status is S.E_CTI_INVALID_FIELD and evs[1].invoke_id == 8
    assert evs[1].text == "floating field ConnectionDeviceID (tag 25) repeated"
    # an undefined tag beside the repeat: the undefined one is named (the repeat is not called undefined)
    evs = s.receive_data(wire(HoldCallReq(invoke_id=9, call_id=1, connection_device_id="3001",
                                          extra_fields=((25, b"3002\0"), (250, b"x"))), dialect=dialect), 1.0)
    assert kinds(evs) == ["Violation:PROTO-UNKNOWN-TAG", "Rejected"]
    assert evs[0].detail.endswith("undefined floating tag(s) 250")
    # (250 is an ICM tag of other messages: ICM's E_CTI_INVALID_TAG_FOR_MSG_TYPE under the ucce profile)
    assert evs[1].status is (S.E_CTI_INVALID_TAG_FOR_MSG_TYPE if dialect.profile.icm else S.E_CTI_INVALID_FIELD)


def test_field_too_long_is_invalid_field_length():
    s = opened_session()
    good = encode(HoldCallReq(invoke_id=9, call_id=1, connection_device_id="3001"), D14)
    body = bytearray(good[8:])
    body[16:] = bytes((25, 70)) + b"9" * 70  # ConnectionDeviceID max 64
    frame = len(body).to_bytes(4, "big") + (54).to_bytes(4, "big") + bytes(body)
    evs = s.receive_data(frame, 1.0)
    assert kinds(evs) == ["Violation:PROTO-FIELD-LENGTH", "Rejected"]
    assert evs[-1].status is S.E_CTI_INVALID_FIELD_LENGTH


@pytest.mark.parametrize("dialect", [D14, Dialect.uccx(18), Dialect.ucce(24)], ids=["uccx14", "uccx18", "ucce24"])
@pytest.mark.parametrize("mt,said,variables,arrays", [
    (MessageType.SET_CALL_DATA_REQ, dict(num_named_variables=3), 1, 0),
    (MessageType.SET_CALL_DATA_REQ, dict(num_named_variables=0), 2, 0),
    (MessageType.MAKE_CALL_REQ, dict(num_named_arrays=2), 0, 1),
    (MessageType.CONSULT_CALL_REQ, dict(num_named_variables=1, num_named_arrays=0), 1, 1),
])
def test_a_request_whose_named_counts_disagree_with_its_fields_is_refused(dialect, mt, said, variables, arrays):
    """Reference §2.2 and the request tables: NumNamedVariables / NumNamedArrays are the "count of tag-82
    (tag-83) fields". A request saying 3 and carrying one NamedVariable (or 0 and carrying two) was taken as
    it came, the count never looked at: the variables were set, the client never told its message was wrong.
    Now PROTO-MALFORMED and FAILURE_CONF, InvokeID echoed: ICM's E_CTI_INVALID_NUM_NAMED_VARIABLES (77) /
    _ARRAYS (78) under ucce, E_CTI_UNSPECIFIED_FAILURE under uccx (which lists 77 and 78 as reserved; U).
    The same request with its counts right (left to the encoder) is taken."""
    from mockcti.wire.types import NamedArray, NamedVariable
    s = Session(1, SessionConfig(profile=dialect.profile))
    s.receive_data(wire(open_req(version_number=dialect.version), dialect=dialect), 0.0)
    s.opened(0x7)
    cls = SPECS[mt].cls
    base = {MessageType.SET_CALL_DATA_REQ: dict(call_id=1, connection_device_id="3001"),
            MessageType.MAKE_CALL_REQ: dict(agent_instrument="3001", dialed_number="3002"),
            MessageType.CONSULT_CALL_REQ: dict(active_call_id=1, active_connection_device_id="3001",
                                                 agent_instrument="3001", dialed_number="3002")}[mt]
    data = dict(named_variables=tuple(NamedVariable(name=f"user.v{i}", value="x") for i in range(variables)),
                named_arrays=tuple(NamedArray(index=i, name="user.a", value="y") for i in range(arrays)))
    frame = wire(cls(invoke_id=21, **base, **data, **said), dialect=dialect)
    evs = s.receive_data(frame, 1.0)
    assert kinds(evs) == ["Violation:PROTO-MALFORMED", "Rejected"]
    name, n, has, tag = next((("NumNamedVariables", v, variables, 82) if k == "num_named_variables"
                              else ("NumNamedArrays", v, arrays, 83)) for k, v in said.items()
                             if v != (variables if k == "num_named_variables" else arrays))
    item = "NamedVariable" if tag == 82 else "NamedArray"
    text = f"{name} is {n} but the message carries {has} {item} field(s) (tag {tag})"
    assert evs[0].detail == f"{mt.name}: {text}"
    status = ({82: S.E_CTI_INVALID_NUM_NAMED_VARIABLES, 83: S.E_CTI_INVALID_NUM_NAMED_ARRAYS}[tag]
              if dialect.profile.icm else S.E_CTI_UNSPECIFIED_FAILURE)
    assert (evs[1].status, evs[1].invoke_id, evs[1].text) == (status, 21, text)
    # the bytes the client gets: FAILURE_CONF (type 1), InvokeID 21, Status
    raw = encode(evs[1].failure_conf(), dialect)
    assert raw[4:16] == (1).to_bytes(4, "big") + (21).to_bytes(4, "big") + int(status).to_bytes(4, "big")
    evs = s.receive_data(wire(cls(invoke_id=22, **base, **data), dialect=dialect), 2.0)
    assert kinds(evs)[-1] == "Received"


def test_unknown_and_server_only_message_types():
    s = opened_session()
    evs = s.receive_data((4).to_bytes(4, "big") + (28).to_bytes(4, "big") + (77).to_bytes(4, "big"), 1.0)
    assert kinds(evs) == ["Violation:PROTO-UNKNOWN-MESSAGE", "Rejected"]
    assert evs[-1].status is S.E_CTI_INVALID_MESSAGE_TYPE and evs[-1].invoke_id == 77
    evs = s.receive_data(wire(HoldCallConf(invoke_id=3)), 1.0)
    assert kinds(evs) == ["Violation:PROTO-WRONG-DIRECTION", "Rejected"]


def test_oversized_frame_closes_only_this_connection():
    s = opened_session(max_body=100)
    evs = s.receive_data((500).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\0" * 10, 1.0)
    assert kinds(evs) == ["Violation:PROTO-FRAME-TOO-LARGE", "Rejected"]
    assert evs[-1].close  # the hub answers and closes (the frames before it are answered first)
    assert s.receive_data(wire(HeartbeatReq(invoke_id=1)), 2.0) == []  # the stream is over


def test_frames_behind_an_open_req_wait_for_its_answer():
    """OPEN_REQ and a request in one chunk: the request is read once the hub has answered the
    OPEN_REQ — in the opened session's version — not refused as sent before OPEN_CONF because the
    two happened to share a TCP segment."""
    s = Session(1)
    d18 = Dialect.uccx(18)
    evs = s.receive_data(wire(open_req(version_number=18), dialect=d18)
                         + wire(HeartbeatReq(invoke_id=2), dialect=d18), 0.0)
    assert kinds(evs) == ["Received"] and s.held
    s.opened(0x7)
    evs = s.resume(0.0)
    assert kinds(evs) == ["Received"] and evs[0].message == HeartbeatReq(invoke_id=2) and not s.held
    # refused by the session itself: what follows is read at once, as sent to a session that is not open
    s = Session(2)
    evs = s.receive_data(wire(open_req(idle_timeout=5)) + wire(HeartbeatReq(invoke_id=3)), 0.0)
    assert kinds(evs) == ["Violation:PROTO-IDLE-TIMEOUT-VALUE", "Rejected", "Violation:PROTO-OPEN-FIRST", "Rejected"]
    assert evs[-1].status is S.E_CTI_SESSION_NOT_OPEN and evs[-1].invoke_id == 3 and not s.held


def test_frames_behind_a_close_req_wait_for_its_answer():
    s = opened_session()
    evs = s.receive_data(wire(CloseReq(invoke_id=4, status=0), HeartbeatReq(invoke_id=5)), 1.0)
    assert kinds(evs) == ["Received"] and s.held
    s.closing()  # the hub sent CLOSE_CONF
    assert kinds(s.resume(1.0)) == ["Violation:PROTO-AFTER-CLOSE"]
    # an oversized header behind the CLOSE_REQ: nothing more is answered (nothing to journal as sent)
    s = opened_session()
    evs = s.receive_data(wire(CloseReq(invoke_id=6, status=0)) + (0x04000000).to_bytes(4, "big")
                         + (5).to_bytes(4, "big"), 1.0)
    assert kinds(evs) == ["Received"] and s.held
    s.closing()
    assert kinds(s.resume(1.0)) == ["Violation:PROTO-AFTER-CLOSE"]


def test_idle_timeout_resets_without_message():
    s = opened_session()
    s.receive_data(wire(HeartbeatReq(invoke_id=2)), 10.0)
    assert s.next_deadline() == 70.0
    assert s.check_timers(69.0) == []
    evs = s.check_timers(70.5)
    assert kinds(evs) == ["Violation:PROTO-IDLE-EXPIRED", "ConnectionFailed"]


def test_heartbeat_cadence_violation():
    s = opened_session()
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=2)), 31.0)  # IdleTimeout 60: gap > 30 (+ 0.5 s)
    assert "Violation:PROTO-HEARTBEAT-CADENCE" in kinds(evs)


@pytest.mark.parametrize("answer_heartbeats", [False, True])
def test_a_heartbeat_at_half_the_idle_timeout_a_little_late_is_no_cadence_violation(answer_heartbeats):
    """A client may heartbeat every IdleTimeout/2 (reference §3.4: IdleTimeout >= 2 x the interval);
    its heartbeat arriving 0.2 s late (timers, the network) was PROTO-HEARTBEAT-CADENCE. The slack is
    5 % of the IdleTimeout, at most 0.5 s."""
    s = opened_session()  # IdleTimeout 60, the OPEN_REQ at 0.0
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=2)), 30.2, answer_heartbeats=answer_heartbeats)
    evs += s.receive_data(wire(HeartbeatReq(invoke_id=3)), 60.6, answer_heartbeats=answer_heartbeats)
    assert "Violation:PROTO-HEARTBEAT-CADENCE" not in kinds(evs)
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=4)), 91.3, answer_heartbeats=answer_heartbeats)
    assert "Violation:PROTO-HEARTBEAT-CADENCE" in kinds(evs)  # 30.7 s: over 30 + 0.5
    assert session_module.cadence_limit(20) == 10.5 and session_module.cadence_limit(2) == 1.1


def test_invoke_id_reuse_while_outstanding_and_after_confirmation():
    s = opened_session()
    s.encode(CallDeliveredEvent(call_id=42, connection_device_id="3001"))
    evs = s.receive_data(wire(AnswerCallReq(invoke_id=5, call_id=42, connection_device_id="3001")), 1.0)
    assert kinds(evs) == ["Received"]
    evs = s.receive_data(wire(HoldCallReq(invoke_id=5, call_id=42, connection_device_id="3001")), 1.5)
    assert "Violation:PROTO-INVOKEID-REUSED" in kinds(evs)
    s.encode(HoldCallConf(invoke_id=5))
    s.encode(FailureConf(invoke_id=5, status=0))
    assert 5 not in s.outstanding


def test_unknown_call_id_is_a_violation():
    s = opened_session()
    evs = s.receive_data(wire(HoldCallReq(invoke_id=3, call_id=99, connection_device_id="3001")), 1.0)
    assert "Violation:PROTO-UNKNOWN-CALL" in kinds(evs) and isinstance(evs[-1], Received)


def test_a_supervisor_naming_its_agents_call_is_no_unknown_call_violation():
    """A supervisor's desktop barges in on a call of its team's agent: SUPERVISE_CALL_REQ's AgentCallID
    names a call its session was never told of (it gets its own phone's events) — no PROTO-UNKNOWN-CALL;
    a SupervisorCallID naming a call of its own phone it never heard of still is one."""
    from mockcti.wire.messages import SuperviseCallReq

    s = opened_session()
    s.opened(0x87)
    evs = s.receive_data(wire(SuperviseCallReq(invoke_id=3, agent_call_id=99, supervisor_call_id=0xFFFFFFFF,
                                               supervisory_action=3, agent_id="1003")), 1.0)
    assert kinds(evs) == ["Received"]
    evs = s.receive_data(wire(SuperviseCallReq(invoke_id=4, agent_call_id=99, supervisor_call_id=98,
                                               supervisory_action=0, agent_id="1003")), 1.5)
    assert "Violation:PROTO-UNKNOWN-CALL" in kinds(evs)


@pytest.mark.parametrize("rendering", [False, True], ids=["open-sender", "general-path"])
def test_ended_calls_are_remembered_bounded_and_a_late_request_on_one_is_no_violation(rendering):
    """A session that hears of many calls keeps only the live ones and the last ENDED_CALLS_KEPT
    ended ones: memory stays bounded on a long run, and a request racing its call's end is fine."""
    s = opened_session()
    n = ENDED_CALLS_KEPT * 4
    for cid in range(1, n + 1):
        s.encode(BeginCallEvent(call_id=cid, connection_device_id="3001"))
        if rendering:  # the path of a session not yet open (same tracking, the general steps)
            s.state, state = SessionState.AWAITING_OPEN, s.state
        s.encode(EndCallEvent(call_id=cid, connection_device_id="3001"))
        if rendering:
            s.state = state
    s.encode(BeginCallEvent(call_id=n + 1, connection_device_id="3001"))  # still going
    assert list(s._known_calls) == [n + 1]
    assert list(s._ended_calls) == list(range(n - ENDED_CALLS_KEPT + 1, n + 1))
    for inv, cid, flagged in ((3, n, False), (4, n - ENDED_CALLS_KEPT + 1, False), (5, n + 1, False),
                              (6, n - ENDED_CALLS_KEPT, True), (7, 1, True)):
        evs = s.receive_data(wire(HoldCallReq(invoke_id=inv, call_id=cid, connection_device_id="3001")), 1.0)
        assert ("Violation:PROTO-UNKNOWN-CALL" in kinds(evs)) is flagged, (cid, kinds(evs))
    # a call that begins again after it ended is a live call again
    s.encode(BeginCallEvent(call_id=n, connection_device_id="3001"))
    assert n in s._known_calls


@pytest.mark.parametrize("rendering", [False, True], ids=["open-sender", "general-path"])
def test_a_session_never_told_of_call_ends_keeps_only_the_calls_most_recently_named_to_it(rendering, monkeypatch):
    """A session whose call mask leaves END_CALL_EVENT out hears of calls but never of their end: it
    keeps the KNOWN_CALLS_KEPT calls most recently named to it, not every CallID of a long run; a
    request naming a forgotten call is PROTO-UNKNOWN-CALL, one naming a call still remembered is not."""
    monkeypatch.setattr(session_module, "KNOWN_CALLS_KEPT", 8)
    s = opened_session()

    def send(msg):
        if rendering:  # the path of a session not yet open (same tracking, the general steps)
            s.state, state = SessionState.AWAITING_OPEN, s.state
        s.encode(msg)
        if rendering:
            s.state = state

    for cid in range(1, 21):
        send(BeginCallEvent(call_id=cid, connection_device_id="3001"))
        if cid == 14:  # call 5 is named again: now more recent than 6..14
            send(CallDeliveredEvent(call_id=5, connection_device_id="3001"))
    assert list(s._known_calls) == [14, 5, 15, 16, 17, 18, 19, 20]
    for inv, cid, flagged in ((3, 5, False), (4, 20, False), (5, 14, False), (6, 13, True), (7, 1, True)):
        evs = s.receive_data(wire(HoldCallReq(invoke_id=inv, call_id=cid, connection_device_id="3001")), 1.0)
        assert ("Violation:PROTO-UNKNOWN-CALL" in kinds(evs)) is flagged, (cid, kinds(evs))
    s.learn_calls([30, 31])  # calls a scenario set up count against the same bound
    assert list(s._known_calls) == [15, 16, 17, 18, 19, 20, 30, 31]


def test_service_not_granted():
    s = Session(1)
    s.receive_data(wire(open_req(services_requested=0x1)), 0.0)
    s.opened(0x1)
    s.encode(CallDeliveredEvent(call_id=1, connection_device_id="3001"))
    evs = s.receive_data(wire(HoldCallReq(invoke_id=3, call_id=1, connection_device_id="3001")), 1.0)
    assert "Violation:PROTO-SERVICE-NOT-GRANTED" in kinds(evs)


def test_close_then_nothing_and_disconnect_without_close():
    s = opened_session()
    evs = s.receive_data(wire(CloseReq(invoke_id=9, status=0)), 1.0)
    assert kinds(evs) == ["Received"] and s.close_requested
    s.closing()
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=10)), 1.1)
    assert kinds(evs) == ["Violation:PROTO-AFTER-CLOSE"]
    assert s.closed(peer_initiated=True) == []
    t = opened_session()
    assert kinds(t.closed(peer_initiated=True)) == ["Violation:PROTO-NO-CLOSE"]


def test_after_failure_event():
    s = opened_session()
    s.failure_event_sent(FailureEvent(status=17), 1.0)
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=10)), 2.5)
    assert kinds(evs) == ["Violation:PROTO-AFTER-FAILURE-EVENT"]
    assert evs[0].detail == "message type 5 1.5 s after FAILURE_EVENT"


def test_a_message_that_may_have_crossed_the_failure_event_is_no_violation():
    """A heartbeat the client sent before it could read the FAILURE_EVENT (on its way as the event went out) was
    PROTO-AFTER-FAILURE-EVENT: a client doing everything right was reported. Within
    SessionConfig.failure_event_grace (1 s) of the event it is ignored without a violation; after it, reported."""
    s = opened_session()
    s.failure_event_sent(FailureEvent(status=17), 1.0)
    assert s.receive_data(wire(HeartbeatReq(invoke_id=10)), 1.0005) == []
    assert s.receive_data(wire(HeartbeatReq(invoke_id=11)), 1.9) == []
    assert kinds(s.receive_data(wire(HeartbeatReq(invoke_id=12)), 2.1)) == ["Violation:PROTO-AFTER-FAILURE-EVENT"]
    t = opened_session(failure_event_grace=0)
    t.failure_event_sent(FailureEvent(status=17), 1.0)
    assert kinds(t.receive_data(wire(HeartbeatReq(invoke_id=10)), 1.0005)) == ["Violation:PROTO-AFTER-FAILURE-EVENT"]


def test_a_failure_event_auto_config_reset_does_not_end_the_session():
    """E_CTI_AUTO_CONFIG_RESET (96) asks the client to send CONFIG_REQUEST_KEY_EVENT and CONFIG_REQUEST_EVENT
    again (reference §6.1, §7.1): the session goes on. It was ended like any FAILURE_EVENT, so the client doing
    what the reference asks got PROTO-AFTER-FAILURE-EVENT and no answer."""
    s = opened_session()
    s.failure_event_sent(FailureEvent(status=96), 1.0)
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=10)), 5.0)
    assert kinds(evs) == ["Received"] and not s.ended_by_failure_event


def test_every_rule_has_an_explanation():
    for rule in RULES.values():
        assert rule.id.startswith("PROTO-") and rule.title
        assert rule.explanation.rstrip(").").strip()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), cut=st.integers(1, 40))
def test_arbitrary_bytes_become_events_never_exceptions(data, cut):
    s = Session(1)
    for i in range(0, len(data), cut):
        for ev in s.receive_data(data[i:i + cut], float(i)):
            assert isinstance(ev, (Received, Rejected, Violation, ConnectionFailed))
            if isinstance(ev, Received) and ev.message.TYPE.name == "OPEN_REQ":
                s.opened(0x7)


@pytest.mark.parametrize("dialect", [Dialect.uccx(v) for v in (10, 14, 18)] + [Dialect.ucce(24)],
                         ids=["uccx10", "uccx14", "uccx18", "ucce24"])
def test_heartbeat_fast_path_is_byte_exact_and_keeps_the_checks(dialect):
    s = opened_session()
    s.dialect = dialect
    conf = HeartbeatConf(invoke_id=0x01020304)
    assert s.encode(conf) == encode(conf, dialect) == bytes.fromhex("00000004 00000006 01020304")
    events = s.receive_data(encode(HeartbeatReq(invoke_id=9), dialect) * 2, 1.0)
    # the second waits until the hub has handled the first (answered, it is no reuse): here it was not
    assert [type(e).__name__ for e in events] == ["Received"] and len(s.held) == 1
    assert events[0].message == HeartbeatReq(invoke_id=9)
    events = s.resume(1.0)
    assert [type(e).__name__ for e in events] == ["Violation", "Received"]
    assert events[0].rule == "PROTO-INVOKEID-REUSED" and s.messages_in == 3 and not s.held


def test_heartbeats_answered_in_the_session_keep_order_and_checks():
    from mockcti.session import HeartbeatsAnswered

    s = opened_session()
    s.encode(CallDeliveredEvent(call_id=42, connection_device_id="3001"))
    before = s.messages_in
    data = wire(HeartbeatReq(invoke_id=1), HeartbeatReq(invoke_id=2),
                AnswerCallReq(invoke_id=3, call_id=42, connection_device_id="3001"), HeartbeatReq(invoke_id=4))
    evs = s.receive_data(data, 1.0, answer_heartbeats=True)
    assert [type(e).__name__ for e in evs] == ["HeartbeatsAnswered", "Received", "HeartbeatsAnswered"]
    assert evs[0] == HeartbeatsAnswered(wire(HeartbeatConf(invoke_id=1), HeartbeatConf(invoke_id=2)), 2)
    assert evs[2].data == wire(HeartbeatConf(invoke_id=4)) and s.messages_in == before + 4
    # InvokeID 3 is outstanding: a heartbeat reusing it takes the full path and is a violation
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=3)), 1.5, answer_heartbeats=True)
    assert "Violation:PROTO-INVOKEID-REUSED" in kinds(evs)
    # a gap over half the IdleTimeout (60 s) is reported even for a heartbeat
    evs = s.receive_data(wire(HeartbeatReq(invoke_id=9)), 40.0, answer_heartbeats=True)
    assert "Violation:PROTO-HEARTBEAT-CADENCE" in kinds(evs)


def test_hub_answers_heartbeats_in_place_only_when_nobody_reads_messages():
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, Write
    from mockcti.journal import Journal

    for journal, rendered in ((Journal(keep=False), False), (Journal(keep=True), True)):
        hub = Hub(ContactCenter(), journal=journal)
        sid = hub.connect(0.0)
        hub.receive(sid, wire(open_req()), 0.0)
        acts = hub.receive(sid, wire(HeartbeatReq(invoke_id=7), HeartbeatReq(invoke_id=8)), 1.0)
        assert b"".join(a.data for a in acts if isinstance(a, Write)) == wire(HeartbeatConf(invoke_id=7),
                                                                              HeartbeatConf(invoke_id=8))
        assert journal.counts["in"] == 3 and journal.counts["out"] == 3  # OPEN_REQ/CONF + 2 heartbeats
        assert bool(journal.entries(kind="in")) is rendered


def test_reused_bytes_of_one_event_follow_each_sessions_dialect():
    a, b = opened_session(), opened_session()
    b.dialect = Dialect.uccx(18)
    ev = CallDeliveredEvent(call_id=42, connection_device_id="3001")
    for _ in range(2):  # alternate: the cached bytes of one dialect never go to the other
        assert a.encode(ev) == encode(ev, D14)
        assert b.encode(ev) == encode(ev, Dialect.uccx(18)) != encode(ev, D14)
    # both encodings are remembered (sessions of several versions watch the same events), at most four
    assert {id(d) for d in ev._wire[0::2]} == {id(a.dialect), id(b.dialect)}
    for v in (10, 11, 12, 13, 15, 16):
        s = opened_session()
        s.dialect = Dialect.uccx(v)
        assert s.encode(ev) == encode(ev, Dialect.uccx(v))
    assert len(ev._wire) == 8 and ev._wire[0].version == 16
    assert a.encode(ev) == encode(ev, D14)



def test_a_confirmation_is_encoded_without_remembering_its_bytes():
    """A confirmation answers one request of one session: its bytes are not kept on the message
    (an event's are), and it still answers the request it confirms."""
    s = opened_session()
    s.receive_data(wire(HoldCallReq(invoke_id=31, call_id=5, connection_device_id="3001")), 1.0)
    assert 31 in s.outstanding
    conf = HoldCallConf(invoke_id=31)
    assert s.encode(conf) == encode(conf, D14)
    assert conf._wire is None and 31 not in s.outstanding
    ev = CallHeldEvent(call_id=5, connection_device_id="3001")
    s.encode(ev)
    assert ev._wire is not None

def test_sessions_of_one_configuration_share_their_dialect_so_an_event_is_encoded_once():
    a, b = opened_session(), opened_session()
    assert a.dialect is b.dialect  # the same object: the remembered bytes of one serve the other
    ev = CallDeliveredEvent(call_id=43, connection_device_id="3001")
    assert a.encode(ev) == b.encode(ev) == encode(ev, D14)
    assert len(ev._wire) == 2  # one encoding for both
    other = Session(3, SessionConfig(strict=True))
    other.receive_data(wire(open_req()), 0.0)
    other.opened(0x7)
    assert other.dialect is not a.dialect and other.dialect.strict


def test_the_shared_dialects_do_not_keep_every_profile_ever_served():
    """Each scenario with a ``dialect:`` (POST /scenario, a plugin test, ``mockcti run``) serves a Profile
    object of its own: the module kept a Dialect, and the profile, for every one of them, for good."""
    import dataclasses
    import gc
    import weakref

    from mockcti.wire.dialect import PROFILES

    session_mod = session_module
    kept = getattr(session_mod, "BASE_DIALECTS_KEPT", 16)
    a = opened_session()
    refs = []
    for _ in range(3 * kept):
        profile = dataclasses.replace(PROFILES["uccx"], max_version=16)
        refs.append(weakref.ref(profile))
        s = Session(9, SessionConfig(profile=profile))
        assert s.dialect.profile is profile
        del s, profile
        assert opened_session().dialect is a.dialect  # the one in use all along is still shared
    gc.collect()
    assert len(session_mod._BASE_DIALECTS) <= kept
    assert sum(ref() is not None for ref in refs) < kept


def test_reused_bytes_belong_to_the_very_message_object():
    """The bytes are remembered on the message itself: an equal but different message, one built by
    dataclasses.replace, a copy or an unpickled one is encoded afresh — never another message's bytes
    — and the remembered bytes change neither equality, hashing, repr nor pickling."""
    import copy
    import dataclasses
    import pickle

    s = opened_session()
    first = CallDeliveredEvent(call_id=1, connection_device_id="3001")
    before = (hash(first), repr(first), pickle.dumps(first))
    assert s.encode(first) == encode(first, D14)
    assert (hash(first), repr(first), pickle.dumps(first)) == before
    for i in range(50):
        ev = CallDeliveredEvent(call_id=1000 + i, connection_device_id="3001")
        assert s.encode(ev) == encode(ev, D14)
    changed = dataclasses.replace(first, call_id=2)
    assert s.encode(changed) == encode(changed, D14) != encode(first, D14)
    for twin in (CallDeliveredEvent(call_id=1, connection_device_id="3001"), copy.copy(first),
                 copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert twin == first
        assert s.encode(twin) == encode(first, D14)
        assert s.encode(twin) == encode(first, D14)  # and again, now from what it remembered
    assert s.encode(first) == encode(first, D14)


def test_a_batch_of_deliveries_reaches_each_session_whole_and_in_order():
    """What one happening sends (here: an inbound call to an agent watched by a bridge) leaves the
    hub as the same bytes whether messages are rendered in the journal or only counted — on the
    quiet path each session's share comes as one write — and the journal counts every message."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, Write
    from mockcti.journal import Journal
    from mockcti.wire import FrameBuffer
    from mockcti.wire.enums import AgentState as AS
    from mockcti.wire.enums import MessageType as MT

    out = {}
    for journal in (Journal(keep=True), Journal(keep=False)):
        hub = Hub(ContactCenter(), journal=journal)
        agent, bridge, bridge2 = hub.connect(0.0), hub.connect(0.0), hub.connect(0.0)
        hub.receive(agent, wire(open_req()), 0.0)
        for b in (bridge, bridge2):  # two bridges: the batch goes to three sessions, interleaved
            hub.receive(b, wire(open_req(services_requested=0x10, agent_id=None, agent_instrument=None,
                                         agent_extension=None, client_id="b")), 0.0)
        hub.receive(agent, wire(SetAgentStateReq(invoke_id=2, agent_state=int(AS.AGENT_STATE_LOGIN), agent_id="1001", agent_password="1234",
                                                 agent_instrument="3001"),
                                SetAgentStateReq(invoke_id=3, agent_state=int(AS.AGENT_STATE_READY), agent_instrument="3001")), 1.0)
        before = journal.counts["out"]
        hub.deliver(hub.center.deliver_call(2.0, agent_id="1001")[1])
        writes = [a for a in hub.take_actions() if isinstance(a, Write)]
        if not journal.wants_messages():
            assert sorted(w.session_id for w in writes) == [agent, bridge, bridge2]  # one write per session
        per_session = {sid: b"".join(w.data for w in writes if w.session_id == sid) for sid in (agent, bridge, bridge2)}
        assert per_session[bridge] == per_session[bridge2] and per_session[bridge]
        types = {sid: [f.type_id for f in FrameBuffer().feed(data)] for sid, data in per_session.items()}
        assert types[agent] == [int(MT.AGENT_STATE_EVENT), int(MT.BEGIN_CALL_EVENT), int(MT.CALL_DELIVERED_EVENT)]
        assert journal.counts["out"] - before == len(types[agent]) + 2 * len(types[bridge])
        out[journal.keep] = per_session
    assert out[True] == out[False]


def _heartbeat_chunks():
    hb = st.builds(lambda i: wire(HeartbeatReq(invoke_id=i)), st.integers(0, 6))
    other = st.sampled_from([wire(HoldCallReq(invoke_id=9, call_id=1, connection_device_id="3001")),
                             wire(HeartbeatReq(invoke_id=1))[:7]])  # another request; a cut frame
    return st.lists(st.lists(st.one_of(hb, hb, hb, other), min_size=1, max_size=5).map(b"".join),
                    min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(chunks=_heartbeat_chunks(), gaps=st.lists(st.sampled_from([0.5, 1.0, 45.0]), min_size=6, max_size=6),
       pending=st.sets(st.integers(0, 6), max_size=2))
def test_heartbeat_only_chunks_take_the_short_path_with_the_same_outcome(chunks, gaps, pending):
    """receive_heartbeats answers a chunk of nothing but plain HEARTBEAT_REQs exactly as
    receive_data(answer_heartbeats=True) would, and declines (consuming nothing) whenever anything
    else is in the chunk, a frame is cut, an InvokeID is still unanswered or the cadence is broken."""
    short, full = opened_session(), opened_session()
    for s in (short, full):
        for inv in pending:
            s._outstanding[inv] = HoldCallReq.TYPE
    now = 0.0
    for chunk, gap in zip(chunks, gaps):
        now += gap
        quick = short.receive_heartbeats(chunk, now)
        got = [quick] if quick is not None else short.receive_data(chunk, now, answer_heartbeats=True)
        want = full.receive_data(chunk, now, answer_heartbeats=True)
        assert kinds(got) == kinds(want)
        assert [getattr(e, "data", None) for e in got] == [getattr(e, "data", None) for e in want]
        if quick is not None:
            assert len(want) == 1 and want[0].count == quick.count
        for attr in ("messages_in", "last_received", "bytes_in"):
            assert getattr(short, attr) == getattr(full, attr)
        assert short._frames.offset == full._frames.offset and short._frames.buffered == full._frames.buffered


def test_short_heartbeat_path_declines_before_the_session_is_open():
    s = Session(1, SessionConfig())
    assert s.receive_heartbeats(wire(HeartbeatReq(invoke_id=1)), 0.0) is None
    assert s.messages_in == 0 and s._frames.offset == 0
    s = opened_session()
    answered = s.receive_heartbeats(wire(HeartbeatReq(invoke_id=1), HeartbeatReq(invoke_id=2)), 1.0)
    assert answered.count == 2 and answered.data == wire(HeartbeatConf(invoke_id=1), HeartbeatConf(invoke_id=2))


def test_a_message_that_does_not_fit_the_version_is_a_fault_and_the_rest_of_the_batch_goes_out():
    """Both delivery paths (rendered journal, and the quiet one of ``serve --quiet``): a message
    that cannot be encoded for the session (here a device ID over 64 bytes) is recorded as a
    "cannot encode" fault and not sent; the other messages of the batch are sent and counted."""
    from mockcti.center import ContactCenter, Delivery
    from mockcti.hub import Hub, Write
    from mockcti.journal import Journal

    good = CallDeliveredEvent(call_id=5, connection_device_id="3001")
    bad = CallDeliveredEvent(call_id=6, connection_device_id="9" * 80)
    for journal in (Journal(keep=True), Journal(keep=False)):
        hub = Hub(ContactCenter(), journal=journal)
        sid = hub.connect(0.0)
        hub.receive(sid, wire(open_req()), 0.0)
        hub.take_actions()
        before = journal.counts["out"]
        hub.deliver([Delivery(sid, bad), Delivery(sid, good)])
        data = b"".join(a.data for a in hub.take_actions() if isinstance(a, Write))
        assert data == encode(good, D14)
        assert journal.counts["out"] - before == 1
        faults = journal.entries(kind="fault")
        assert len(faults) == 1 and faults[0].data["fault"] == "cannot encode"
        assert faults[0].data["message"] == "CALL_DELIVERED_EVENT"


def test_a_confirmation_that_cannot_be_encoded_is_answered_failure_conf_not_left_unanswered():
    """A confirmation the server built that does not encode (here: a center built through the API
    with an agent extension of 80 bytes; AgentExtension carries 16) was a "cannot encode" fault and
    nothing else: the client's request stayed unanswered for ever. Now the fault is kept and the
    request gets FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE with its InvokeID and a Text naming the
    confirmation, on both delivery paths; an OPEN_CONF so replaced refuses the open."""
    from mockcti.center import CenterConfig, ContactCenter
    from mockcti.center.config import AgentConfig, CSQConfig
    from mockcti.hub import Hub, Write
    from mockcti.journal import Journal
    from mockcti.wire.messages import QueryAgentStateReq

    cfg = CenterConfig(agents=(AgentConfig(id="1001", extension="3001", csqs=("Sales",)),
                               AgentConfig(id="1002", extension="9" * 80, csqs=("Sales",))),
                       csqs=(CSQConfig("Sales", 1),))
    why = "AgentExtension is 81 bytes; the maximum is 16; field AgentExtension"
    for journal in (Journal(keep=True), Journal(keep=False)):  # rendered, and the quiet path of serve --quiet
        hub = Hub(ContactCenter(cfg), journal=journal)
        sid = hub.connect(0.0)
        hub.receive(sid, wire(open_req(services_requested=0x16, agent_id=None, agent_extension=None,
                                       agent_instrument=None)), 0.0)
        hub.take_actions()
        out = hub.receive(sid, wire(QueryAgentStateReq(invoke_id=9, agent_id="1002")), 1.0)
        assert b"".join(a.data for a in out if isinstance(a, Write)) == wire(FailureConf(
            invoke_id=9, status=int(S.E_CTI_UNSPECIFIED_FAILURE),
            text=f"the server could not build its QUERY_AGENT_STATE_CONF: {why}"))
        assert hub.session(sid).outstanding == {}
        assert journal.counts["fault"] == 1 and journal.counts["out"] == 2  # OPEN_CONF, FAILURE_CONF
        if journal.keep:
            [fault] = journal.entries(kind="fault")
            assert fault.data == {"fault": "cannot encode", "message": "QUERY_AGENT_STATE_CONF", "error": why}

    # the agent's own OPEN_CONF carries the extension: refused, the connection waits for another OPEN_REQ
    hub = Hub(ContactCenter(cfg), journal=Journal(keep=True))
    sid = hub.connect(0.0)
    out = hub.receive(sid, wire(open_req(invoke_id=4, agent_id="1002", agent_extension=None,
                                         agent_instrument=None)), 0.0)
    assert b"".join(a.data for a in out if isinstance(a, Write)) == wire(FailureConf(
        invoke_id=4, status=int(S.E_CTI_UNSPECIFIED_FAILURE), text=f"the server could not build its OPEN_CONF: {why}"))
    assert hub.session(sid).state is SessionState.AWAITING_OPEN and not hub.conns[sid].subscribed
    out = hub.receive(sid, wire(HeartbeatReq(invoke_id=5)), 1.0)
    assert decode_bytes(out[0].data, D14).status == S.E_CTI_SESSION_NOT_OPEN


_CONFIRMATIONS_SENT = set(CONFIRMATION_OF.values()) | {MessageType.FAILURE_CONF, MessageType.CONTROL_FAILURE_CONF}
_SERVER_TYPES = sorted((mt for mt in SPECS if mt not in CONFIRMATION_OF and mt is not MessageType.CLOSE_REQ
                        and not mt.name.endswith("_REQ")), key=int)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_an_open_session_sends_every_server_message_as_encode_does_and_learns_what_it_tells(data):
    """Session.encode (and the per-class senders the hub calls) give encode()'s bytes for every
    server message, forget the request a confirmation answers and learn every call ID revealed —
    in a field or in a list of parties — except END_CALL_EVENT's, which ends the call for the client."""
    mt = data.draw(st.sampled_from(_SERVER_TYPES))
    msg = data.draw(from_message_type(mt, dialect=D14))
    s = opened_session()
    invoke = getattr(msg, "invoke_id", None)
    if invoke is not None:
        s._outstanding[invoke] = MessageType.HOLD_CALL_REQ
    sent = s.encode(msg) if data.draw(st.booleans()) else open_sender(type(msg))(s, msg)
    assert sent == encode(msg, D14)
    revealed = {getattr(msg, n) for n in ("call_id", "new_call_id", "primary_call_id", "secondary_call_id",
                                          "connection_call_id", "secondary_connection_call_id")
                if getattr(msg, n, None) is not None}
    for name in ("parties", "call_devices", "calls"):
        for item in getattr(msg, name, None) or ():
            revealed |= {getattr(item, n) for n in ("connected_party_call_id", "call_connection_call_id")
                         if getattr(item, n, None) is not None}
    if mt is MessageType.END_CALL_EVENT:  # the call is over for the client: kept among the ended ones
        assert not s._known_calls and list(s._ended_calls) == [msg.call_id]
    else:
        assert set(s._known_calls) == revealed and not s._ended_calls
    answered = invoke is not None and mt in _CONFIRMATIONS_SENT
    assert (invoke in s.outstanding) is (invoke is not None and not answered)


_CLIENT_TYPES = sorted((mt for mt in SPECS if SPECS[mt].direction == "C->S" and mt is not MessageType.OPEN_REQ),
                       key=int)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), strict=st.booleans())
def test_an_open_session_takes_each_request_type_as_decode_says(data, strict):
    """Requests of an open session are decoded with the compiled decoder the session keeps per
    dialect (or decode() for a strict dialect): the message is decode()'s, and a body decode()
    refuses is refused with its status — the same whichever request came first."""
    s = opened_session(strict=strict)
    for _ in range(3):
        mt = data.draw(st.sampled_from(_CLIENT_TYPES))
        frame_bytes = encode(data.draw(from_message_type(mt, dialect=D14)), D14)
        if data.draw(st.booleans()):  # garbage after the fixed part, or a cut body
            cut = data.draw(st.integers(8, len(frame_bytes)))
            body = frame_bytes[8:cut] + data.draw(st.binary(max_size=12))
            frame_bytes = len(body).to_bytes(4, "big") + frame_bytes[4:8] + body
        body = frame_bytes[8:]
        try:
            want = decode(Frame(int.from_bytes(frame_bytes[4:8], "big"), body), s.dialect)
        except DecodeError as exc:
            want = exc
        s._outstanding.clear()
        evs = s.receive_data(frame_bytes, 1.0)
        if isinstance(want, DecodeError):
            rejected = [e for e in evs if isinstance(e, Rejected)]
            assert len(rejected) == 1 and rejected[0].status == want.status, (evs, want)
        elif want.extra_fields:  # undefined tags, or a defined single field repeated
            assert any(isinstance(e, Violation) and e.rule in ("PROTO-UNKNOWN-TAG", "PROTO-MALFORMED") for e in evs)
        elif getattr(want, "num_named_variables", None) is not None or getattr(want, "num_named_arrays", None) is not None:
            # decode() keeps a NumNamedVariables / NumNamedArrays its fields disagree with (a cut body left a
            # count without its NamedVariable or NamedArray); the session refuses that request
            assert [type(e) for e in evs if isinstance(e, (Received, Rejected))] == [Rejected], evs
            assert any(isinstance(e, Violation) and e.rule == "PROTO-MALFORMED" for e in evs), evs
        else:
            received = [e for e in evs if isinstance(e, Received)]
            assert len(received) == 1 and received[0].message == want and type(received[0].message) is type(want)


def test_a_connection_that_sends_no_open_req_within_open_timeout_is_reset():
    """``SessionConfig(open_timeout=T)``: a connection still without an OPEN_REQ T seconds after it
    connected (or after its last frame) is reset; an opened one is not; without the setting a
    connection may wait for ever (the default: the reference gives no such limit)."""
    s = Session(1, SessionConfig(open_timeout=5.0), connected_at=10.0)
    assert s.next_deadline() == 15.0
    assert s.check_timers(15.0) == []
    assert kinds(s.check_timers(15.1)) == ["ConnectionFailed"] and s.state is SessionState.CLOSED
    opened = Session(2, SessionConfig(open_timeout=5.0), connected_at=10.0)
    assert isinstance(opened.receive_data(wire(open_req()), 12.0)[-1], Received)
    opened.opened(0x7)
    assert opened.check_timers(30.0) == [] and opened.state is SessionState.OPEN  # IdleTimeout (60 s) governs now
    assert opened.next_deadline() == 72.0
    waiting = Session(3, SessionConfig(), connected_at=0.0)
    assert waiting.next_deadline() is None and waiting.check_timers(1e6) == []


def test_the_hub_resets_a_connection_that_never_opens():
    from mockcti.center import ContactCenter
    from mockcti.hub import Close, Hub, HubConfig

    hub = Hub(ContactCenter(), config=HubConfig(session=SessionConfig(open_timeout=5.0)))
    silent, opener = hub.connect(0.0), hub.connect(0.0)
    hub.receive(opener, wire(open_req()), 1.0)
    assert hub.next_deadline() is not None and hub.next_deadline() <= 5.0
    closes = [a for t in (2.0, 4.0, 6.0) for a in hub.tick(t) if isinstance(a, Close)]
    assert [(c.session_id, c.abort) for c in closes] == [(silent, True)]
    assert "no OPEN_REQ" in closes[0].reason


def test_a_reset_after_a_heartbeat_answered_failure_conf_is_not_a_missing_close():
    """Reference §3.4: a FAILURE_CONF to a HEARTBEAT_REQ means the session failed; the client resets
    the connection, without CLOSE_REQ. That is not PROTO-NO-CLOSE; once a later heartbeat is answered
    HEARTBEAT_CONF, leaving without CLOSE_REQ is again."""
    s = opened_session()
    s.receive_data(wire(HeartbeatReq(invoke_id=7)), 1.0)
    s.encode(FailureConf(invoke_id=7, status=int(StatusCode.E_CTI_UNSPECIFIED_FAILURE), text="offline"))
    assert kinds(s.closed(peer_initiated=True)) == []

    s = opened_session()
    s.receive_data(wire(HeartbeatReq(invoke_id=7)), 1.0)
    s.encode(FailureConf(invoke_id=7, status=int(StatusCode.E_CTI_UNSPECIFIED_FAILURE), text="offline"))
    for inv in (8, 9):  # answered again: the connection is healthy
        s.receive_data(wire(HeartbeatReq(invoke_id=inv)), 2.0)
        s.encode(HeartbeatConf(invoke_id=inv))
    assert kinds(s.closed(peer_initiated=True)) == ["Violation:PROTO-NO-CLOSE"]

    s = opened_session()  # a FAILURE_CONF to another request is no reason to reset
    s.receive_data(wire(HoldCallReq(invoke_id=5, call_id=1, connection_device_id="3001")), 1.0)
    s.encode(FailureConf(invoke_id=5, status=int(StatusCode.E_CTI_UNSPECIFIED_FAILURE), text="no"))
    assert kinds(s.closed(peer_initiated=True)) == ["Violation:PROTO-NO-CLOSE"]


@pytest.mark.parametrize("server_width", [1, 2])
def test_a_v18_open_req_in_the_other_length_width_says_which_setting_fits(server_width):
    """The v18 floating length width is unconfirmed (reference §2.3), so a client and the mock may
    disagree: the OPEN_REQ is refused as malformed (E_CTI_UNSPECIFIED_FAILURE, as before), and the
    journal's detail now says it decodes with the other width and which option selects it; it only
    said 'floating field tag 1 claims 632 bytes but only 12 remain'."""
    other = 3 - server_width
    s = Session(1, SessionConfig(v18_length_width=server_width))
    evs = s.receive_data(wire(open_req(version_number=18), dialect=Dialect.uccx(18, v18_length_width=other)), 0.0)
    assert kinds(evs) == ["Violation:PROTO-MALFORMED", "Rejected"]
    assert evs[0].detail.endswith(f"it decodes with the other version-18 floating length width, {other} byte(s) "
                                  f"(mockcti serve --v18-length-width {other})"), evs[0].detail
    assert evs[1].status is S.E_CTI_UNSPECIFIED_FAILURE and evs[1].invoke_id == 1
    # a body that decodes with neither width gets no such hint
    bad = wire(open_req(version_number=18), dialect=Dialect.uccx(18, v18_length_width=server_width))
    bad = (len(bad) - 8 + 1).to_bytes(4, "big") + bad[4:] + b"\x01"  # one stray byte after the fields
    evs = Session(3, SessionConfig(v18_length_width=server_width)).receive_data(bad, 0.0)
    assert kinds(evs) == ["Violation:PROTO-MALFORMED", "Rejected"] and "other version-18" not in evs[0].detail


def _hand_open_req(version: int, tag_fmt: str) -> bytes:
    """A bridge OPEN_REQ built by hand with the given floating tag/length struct format (">BB", ">HH")."""
    import struct

    fixed = struct.pack(">11I", 1, version, 60, 0, 0x10, 0, 0, 0, 0, 0, 0)
    body = fixed + struct.pack(tag_fmt, 1, 4) + b"abc\0" + struct.pack(tag_fmt, 2, 0)
    return struct.pack(">II", len(body), 3) + body


@pytest.mark.parametrize("profile,version,fmt,hint", [
    ("uccx", 18, ">BB", "it decodes with 1-byte tags and 1-byte lengths, those of protocol version 10..17: "
                        "version 18 has 2-byte tags and 2-byte lengths (§2.3)"),
    ("uccx", 14, ">HH", "it decodes with 2-byte tags and 2-byte lengths, those of protocol version 18: "
                        "version 14 has 1-byte tags and 1-byte lengths (§2.3)"),
    ("ucce", 20, ">BB", "it decodes with 1-byte tags and 1-byte lengths, those of protocol version 9..19: "
                        "version 20 has 2-byte tags and 2-byte lengths (§2.3)"),
])
def test_an_open_req_in_the_floating_widths_of_other_versions_says_which_fit(profile, version, fmt, hint):
    """A client that says version 18 but writes the 1-byte tags and lengths of 17 (or the reverse) is refused
    as malformed (E_CTI_UNSPECIFIED_FAILURE; ucce: E_CTI_BAD_MESSAGE_FORMAT); the journal only said "floating field tag 259 claims 30513
    bytes but only 3 remain", which does not point at the widths."""
    from mockcti.testing.fixtures import hub_config_for

    s = Session(1, hub_config_for(profile).session)
    evs = s.receive_data(_hand_open_req(version, fmt), 0.0)
    assert kinds(evs) == ["Violation:PROTO-MALFORMED", "Rejected"]
    assert evs[0].detail.endswith("; " + hint), evs[0].detail
    assert evs[1].status is (S.E_CTI_BAD_MESSAGE_FORMAT if profile == "ucce" else S.E_CTI_UNSPECIFIED_FAILURE)
    assert evs[1].invoke_id == 1
    # in its own version's widths the same OPEN_REQ opens
    own = ">HH" if fmt == ">BB" else ">BB"
    assert kinds(Session(2, hub_config_for(profile).session).receive_data(_hand_open_req(version, own), 0.0)) == ["Received"]


@pytest.mark.parametrize("paused_for", [12.0, 40.0])
def test_a_client_heartbeating_while_the_server_does_not_read_is_not_blamed(paused_for):
    """A stop_reading / pause_reading fault: the server reads nothing, the client's heartbeats (every
    5 s, IdleTimeout 20) wait in the socket. That silence is the server's: no idle reset while paused
    (it reset the client, PROTO-IDLE-EXPIRED), and the heartbeats read at the resume are no
    PROTO-HEARTBEAT-CADENCE gap; the idle clock starts again at the resume."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Close, Hub, PauseReading, ResumeReading

    hub = Hub(ContactCenter())
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req(idle_timeout=20)), 0.0)
    hub.receive(sid, wire(HeartbeatReq(invoke_id=2)), 5.0)
    hub.act(PauseReading(sid))
    assert hub.session(sid).next_deadline() is None
    actions = [a for t in range(6, 6 + int(paused_for)) for a in hub.tick(float(t))]
    now = 6.0 + paused_for
    hub.act(ResumeReading(sid))
    actions += hub.receive(sid, wire(*(HeartbeatReq(invoke_id=i) for i in range(3, 6))), now)
    assert not [a for a in actions if isinstance(a, Close)]
    assert hub.journal.violations() == []
    assert hub.session(sid).next_deadline() == now + 20  # supervised again, from the resume
    closes = [a for a in hub.tick(now + 21) if isinstance(a, Close)]
    assert [c.reason for c in closes] == ["idle timeout"]  # a client silent after the resume is reset


def test_each_pause_of_reading_has_its_owner_and_reading_resumes_when_none_holds_one():
    """A scenario's stop_reading and the control API's pause_reading shared one flag: the first resume, of
    either, lifted both. Each owner's pause is its own: only the first pause and the release of the last reach
    the server, the idle clock stays stopped until then, and a release leaving another's pause is journalled."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, PauseReading, ResumeReading

    hub = Hub(ContactCenter())
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req(idle_timeout=20)), 0.0)
    hub.take_actions()
    hub.act(PauseReading(sid, "scenario 'A'"))
    hub.act(PauseReading(sid, "control API"))
    assert hub.take_actions() == [PauseReading(sid)]  # the server stops reading once
    assert hub.session(sid).reading_held_by == ("scenario 'A'", "control API")
    hub.act(ResumeReading(sid, "scenario 'A'"))
    hub.act(ResumeReading(sid, "scenario 'B'"))  # (holds none: lifts nothing)
    assert hub.take_actions() == [] and hub.session(sid).reading_paused
    assert hub.session(sid).next_deadline() is None
    assert [e.data for e in hub.journal.entries(kind="fault")] == [
        {"fault": "reading still paused", "lifted": "scenario 'A'", "held_by": ["control API"]}]
    hub.tick(5.0)
    hub.act(ResumeReading(sid, "control API"))
    assert hub.take_actions() == [ResumeReading(sid)] and not hub.session(sid).reading_paused
    assert hub.session(sid).next_deadline() == 5.0 + 20


def test_a_transport_action_for_a_session_that_has_ended_is_journalled_by_its_fault_name():
    """A fault or close for a session already gone is journalled "<kind>: no connection", the kind named
    by the one helper (hub._fault_name) for every action: Hub.close spelled "reset"/"close" itself."""
    from mockcti.center import ContactCenter
    from mockcti.hub import HalfClose, Hub, PauseReading, ResumeReading, Write, WriteChunked

    hub = Hub(ContactCenter())
    sid = hub.connect(0.0)
    hub.disconnected(sid, 1.0, reason="peer reset")
    hub.close(sid, "fault: close")
    hub.close(sid, "fault: reset", abort=True)
    for action in (HalfClose(sid), PauseReading(sid), ResumeReading(sid), WriteChunked(sid, b"x", 1, 0.1),
                   Write(sid, b"x")):
        hub.act(action)
    assert hub.take_actions() == []
    assert [(e.session, e.data) for e in hub.journal.entries(kind="fault")] == [
        (sid, {"fault": "close: no connection", "reason": "fault: close"}),
        (sid, {"fault": "reset: no connection", "reason": "fault: reset"}),
        (sid, {"fault": "half_close: no connection"}), (sid, {"fault": "pause_reading: no connection"}),
        (sid, {"fault": "resume_reading: no connection"}), (sid, {"fault": "dribble: no connection"}),
        (sid, {"fault": "delayed write: no connection"})]


@pytest.mark.parametrize("unread", [0, 36])
def test_a_client_that_left_with_input_the_server_never_read_is_not_judged_on_it(unread):
    """A client that left (unseen behind a pause_reading fault) with bytes the server never read: its
    CLOSE_REQ, or the rest of a frame, may be in them; no PROTO-NO-CLOSE or mid-frame PROTO-MALFORMED,
    and the journal's "close" says how many bytes went unread. With nothing unread it is judged as ever."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub

    hub = Hub(ContactCenter())
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req(idle_timeout=20)), 0.0)
    hub.receive(sid, wire(HeartbeatReq(invoke_id=2))[:5], 1.0)  # a frame begun
    hub.disconnected(sid, 2.0, reason="peer closed", unread=unread)
    (close,) = hub.journal.entries(kind="close")
    assert close.data == ({"reason": "peer closed", "unread": 36} if unread else {"reason": "peer closed"})
    rules = [e.data["rule"] for e in hub.journal.entries(kind="violation")]
    assert rules == ([] if unread else ["PROTO-MALFORMED", "PROTO-NO-CLOSE"])


class _Withholding:
    """A scenario engine that never answers QUERY_DEVICE_INFO_REQ (its InvokeID stays outstanding)
    and leaves everything else to the default handling; ``sees_heartbeats`` picks the hub's mode."""

    def __init__(self, sees_heartbeats: bool) -> None:
        self.sees_heartbeats = sees_heartbeats

    def attach(self, hub, now): pass

    def on_connect(self, sid, now): pass

    def on_request(self, sid, message, now):
        return message.TYPE is MessageType.QUERY_DEVICE_INFO_REQ

    def on_disconnect(self, sid, now, reason): pass

    def tick(self, now): pass

    def next_deadline(self): return None


def _requests(kinds_and_ids):
    from mockcti.wire.messages import QueryAgentStateReq, QueryDeviceInfoReq

    make = {"hb": lambda i: HeartbeatReq(invoke_id=i),
            "query": lambda i: QueryAgentStateReq(invoke_id=i, agent_instrument="3001", agent_id="1001"),
            "withheld": lambda i: QueryDeviceInfoReq(invoke_id=i, agent_instrument="3001")}
    return [make[k](i) for k, i in kinds_and_ids]


#: the hub's modes: who reads what it receives and sends decides how it reads (heartbeats answered
#: in the session or as requests; the whole-chunk heartbeat path; the general path)
_HUB_MODES = {"quiet": (False, False), "rendered": (True, False), "engine-sees-heartbeats": (False, True)}


def _run_hub(data: bytes, cuts: list[int], mode: str):
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, Write
    from mockcti.journal import Journal

    keep, sees = _HUB_MODES[mode]
    journal = Journal(keep=keep)
    hub = Hub(ContactCenter(), journal=journal, engine=_Withholding(sees_heartbeats=sees))
    sid = hub.connect(0.0)
    out = bytearray()
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)]) if a < b]
    for piece in pieces:
        out += b"".join(a.data for a in hub.receive(sid, piece, 1.0) if isinstance(a, Write))
    return [(e.data["rule"], e.data["detail"]) for e in journal.violations()], bytes(out)


@settings(max_examples=150, deadline=None)
@given(reqs=st.lists(st.tuples(st.sampled_from(["hb", "hb", "query", "withheld"]), st.integers(1, 4)),
                     min_size=1, max_size=12),
       cut_points=st.lists(st.integers(0, 400), max_size=10), mode=st.sampled_from(sorted(_HUB_MODES)))
def test_a_reused_invoke_id_is_judged_the_same_however_the_bytes_are_cut_and_in_every_mode(reqs, cut_points, mode):
    """A request is outstanding from its arrival until the server has produced its confirmation,
    and the server takes one request at a time: two requests with one InvokeID in a chunk are no
    PROTO-INVOKEID-REUSED when the first is answered at once, and always one when the first is
    withheld — the same byte stream, cut anywhere, in every mode of the hub, gives the same
    violations and the same bytes back as the stream read one frame at a time."""
    msgs = _requests(reqs)
    frames = [wire(open_req())] + [wire(m) for m in msgs]
    data = b"".join(frames)
    one_at_a_time, ends = [], 0
    for f in frames:
        ends += len(f)
        one_at_a_time.append(ends)
    expected = _run_hub(data, one_at_a_time[:-1], "rendered")
    cuts = sorted({c % (len(data) + 1) for c in cut_points})
    assert _run_hub(data, cuts, mode) == expected
    # and the verdict is the rule's: reused while a withheld request with that InvokeID is unanswered
    # (a confirmation with that InvokeID, the reusing request's, answers it for the client)
    withheld: set[int] = set()
    reused = 0
    for m in msgs:
        reused += m.invoke_id in withheld
        if m.TYPE is MessageType.QUERY_DEVICE_INFO_REQ:
            withheld.add(m.invoke_id)
        else:
            withheld.discard(m.invoke_id)
    assert [r for r, _ in expected[0]].count("PROTO-INVOKEID-REUSED") == reused


def _retry_hub():
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.journal import Journal

    journal = Journal()
    return Hub(ContactCenter(), journal=journal), journal


def _attempt(hub, now, **kw):
    """A new connection that sends OPEN_REQ at ``now``; the client resets it if the OPEN_REQ is refused."""
    sid = hub.connect(now)
    hub.receive(sid, wire(open_req(**kw)), now)
    if hub.session(sid).state is not SessionState.OPEN:
        hub.disconnected(sid, now, reason="peer reset")
    return sid


def _retries(journal):
    return [(v.session, v.data["detail"]) for v in journal.violations() if v.data["rule"] == "PROTO-RETRY-TOO-SOON"]


@pytest.mark.parametrize("refused, retry, status", [
    # refused by the session's checks; the retry (the same client: ClientID and agent fields) is fine otherwise
    (dict(idle_timeout=10), dict(), "E_CTI_INVALID_TIMEOUT"),
    # refused by the center; the client blindly sends the same OPEN_REQ again
    (dict(agent_instrument="3002"), dict(agent_instrument="3002"), "E_CTI_INCONSISTENT_AGENT_DATA"),
])
def test_retry_too_soon_across_connections(refused, retry, status):
    """Reference §3.2: after a refused OPEN_REQ the client resets the connection and waits at least
    10 s. A client that reset and opened again at once on a new connection was never flagged (only a
    retry on the same connection was)."""
    hub, journal = _retry_hub()
    first = _attempt(hub, 0.0, **refused)
    again = _attempt(hub, 2.0, **retry)
    assert _retries(journal) == [(again, f"OPEN_REQ 2.00 s after this client's OPEN_REQ was refused {status} "
                                         f"(session {first}); wait at least 10 s")]
    if not retry:
        assert hub.session(again).state is SessionState.OPEN  # a finding, not a refusal


def test_an_open_req_retried_too_soon_names_the_answer_it_got():
    """PROTO-RETRY-TOO-SOON had no ``answer`` (what the client got for the retry, in junit.xml and the reports):
    a retry on the same connection carried no request at all, and a retry the session refused for another rule
    too (its IdleTimeout again) was not matched with that refusal, which came after the other rule's violation.
    Each names the FAILURE_CONF on the wire now; a retry that opens (OPEN_CONF) was not refused: no answer."""
    hub, journal = _retry_hub()
    # on one connection: refused by the center (an instrument that is not the agent's), at once again
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req(agent_instrument="3002")), 0.0)
    same = _answers_on_the_wire(hub.receive(sid, wire(open_req(invoke_id=2, agent_instrument="3002")), 1.0), sid)
    # on a new connection: refused by the session for its IdleTimeout, and again at once
    _attempt(hub, 0.0, idle_timeout=10, client_id="u")
    again = hub.connect(2.0)
    timeout = _answers_on_the_wire(hub.receive(again, wire(open_req(idle_timeout=10, client_id="u")), 2.0), again)
    # a retry that corrects the IdleTimeout opens: nothing refused it
    _attempt(hub, 3.0, client_id="u")
    assert same == {2: "FAILURE_CONF E_CTI_INCONSISTENT_AGENT_DATA (32)"}
    assert timeout == {1: "FAILURE_CONF E_CTI_INVALID_TIMEOUT (18)"}
    assert [(v.session, v.data["rule"], v.data.get("request"), v.data.get("answer")) for v in journal.violations()
            if v.data["rule"] in ("PROTO-RETRY-TOO-SOON", "PROTO-IDLE-TIMEOUT-VALUE") and v.session != sid + 1] == [
        (sid, "PROTO-RETRY-TOO-SOON", "OPEN_REQ", same[2]),
        (again, "PROTO-RETRY-TOO-SOON", "OPEN_REQ", timeout[1]),
        (again, "PROTO-IDLE-TIMEOUT-VALUE", "OPEN_REQ", timeout[1]),
        (again + 1, "PROTO-RETRY-TOO-SOON", "OPEN_REQ", None),
    ]


def test_retry_after_the_wait_by_another_client_or_after_server_not_master_is_fine():
    hub, journal = _retry_hub()
    _attempt(hub, 0.0, agent_instrument="3002")
    _attempt(hub, 10.0, agent_instrument="3002")  # the same OPEN_REQ after 10 s: a correct client (refused again)
    _attempt(hub, 20.0, agent_id="1002", agent_instrument="3003", agent_extension="3002", client_id="u")  # refused
    _attempt(hub, 20.5, agent_id="1003", agent_instrument="3003", agent_extension="3003", client_id="v")  # another client
    # standby (E_CTI_SERVER_NOT_MASTER): the client tries the other node at once (§3.1); one port plays both
    hub.failover(30.0, 1.0)
    _attempt(hub, 30.1, client_id="w", agent_id="1004", agent_instrument="3004", agent_extension="3004")
    hub.tick(31.1)
    sid = _attempt(hub, 31.2, client_id="w", agent_id="1004", agent_instrument="3004", agent_extension="3004")
    assert hub.session(sid).state is SessionState.OPEN
    assert _retries(journal) == []
    assert [v.data["rule"] for v in journal.violations() if v.data["rule"] != "PROTO-NO-CLOSE"] == []


def test_an_icm_client_naming_another_agent_in_tag_5_is_another_client_not_a_retry():
    """Under ucce an ICM client's only agent identity may be ICM's AgentID, tag 5: a desktop refused for
    agent 1002 (unknown to it, say) and another one opening agent 1003 at once, both with the ClientID
    "icm", are two clients, as two with different AgentIDs in tag 194 are; the same tag-5 agent is a retry."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.journal import Journal
    from mockcti.testing.fixtures import hub_config_for

    journal = Journal()
    hub = Hub(ContactCenter(), journal=journal, config=hub_config_for("ucce"))
    def attempt(now, agent, **kw):
        sid = hub.connect(now)
        req = open_req(client_id="icm", version_number=19, agent_id=None, agent_extension=None,
                       agent_instrument=None, legacy_agent_id=agent, peripheral_id=1, **kw)  # (ICM: its peripheral)
        hub.receive(sid, wire(req, dialect=Dialect.ucce(19)), now)
        if hub.session(sid).state is not SessionState.OPEN:
            hub.disconnected(sid, now, reason="peer reset")
            return sid, False
        return sid, True

    first, _ = attempt(0.0, "1002", idle_timeout=10)
    _, opened = attempt(1.0, "1003")
    assert opened and _retries(journal) == []
    again, opened = attempt(2.0, "1002")
    assert opened
    assert _retries(journal) == [(again, f"OPEN_REQ 2.00 s after this client's OPEN_REQ was refused "
                                         f"E_CTI_INVALID_TIMEOUT (session {first}); wait at least 10 s")]


def test_open_refusals_are_bounded():
    from mockcti.session import OpenRefusals

    book = OpenRefusals(limit=3)
    reqs = [open_req(client_id=f"c{i}") for i in range(5)]
    for i, r in enumerate(reqs):
        book.refused(r, S.E_CTI_INVALID_TIMEOUT, i, 0.0)
    assert book.last(reqs[0], 1.0) is None and book.last(reqs[1], 1.0) is None
    assert book.last(reqs[4], 1.0) == (0.0, int(S.E_CTI_INVALID_TIMEOUT), 4)
    assert book.last(reqs[4], 10.0) is None  # waited RETRY_WAIT


def _string_cases():
    """(message type, STRING field) for every single STRING floating field a client sends in v14."""
    out = []
    for mt in sorted((mt for mt in SPECS if SPECS[mt].direction == "C->S"), key=int):
        for f in SPECS[mt].floating:
            if getattr(f, "kind", None) is STRING and not f.repeated and f.exists_in(14, 1) and f.max_len < 0xFF:
                out.append(pytest.param(mt, f, id=f"{mt.name}.{f.name}"))
    return out


def _request_with(mt, f, data: bytes, invoke_id: int = 4242) -> bytes:
    """A v14 frame of ``mt`` (OPEN_REQ: :func:`open_req`; otherwise required STRINGs "1", the rest
    defaults) whose floating field ``f`` carries ``data``: the encoded field is cut out and ``data`` appended."""
    if mt is MessageType.OPEN_REQ:
        msg = open_req(invoke_id=invoke_id, **{f.attr: "1"})
    else:
        kw = {g.attr: "1" for g in SPECS[mt].floating if getattr(g, "kind", None) is STRING and g.required}
        msg = SPECS[mt].cls(**kw, **({"invoke_id": invoke_id} if SPECS[mt].has_invoke_id else {}))
    raw = encode(msg, D14)
    pos = 8 + sum(x.size for x in SPECS[mt].fixed_for(14))
    body, rest = bytearray(raw[8:pos]), raw[pos:]
    while rest:  # v14: 1-byte tag, 1-byte length
        tag, n = rest[0], rest[1]
        if tag != f.tag:
            body += rest[:2 + n]
        rest = rest[2 + n:]
    body += bytes((f.tag, len(data))) + data
    return len(body).to_bytes(4, "big") + raw[4:8] + bytes(body)


def _session_for(mt) -> Session:
    return Session(1) if mt is MessageType.OPEN_REQ else opened_session()


@pytest.mark.parametrize("mt,f", _string_cases())
def test_every_request_string_at_its_maximum_counts_the_nul(mt, f):
    """Reference §1: a STRING's maximum counts its NUL; a client may leave the NUL out (§1: lenient).
    Max - 1 bytes of text are taken with or without the NUL; max bytes of text are refused with
    E_CTI_INVALID_FIELD_LENGTH (23), InvokeID echoed, the journal's PROTO-FIELD-LENGTH naming the
    field — also without the NUL (before, those were taken, and the text could not be sent on: a
    MAKE_CALL_REQ's 41-byte CallVariable1 made its BEGIN_CALL_EVENT fail to encode)."""
    m = f.max_len
    for data in (b"7" * (m - 1), b"7" * (m - 1) + b"\0"):
        evs = _session_for(mt).receive_data(_request_with(mt, f, data), 1.0)
        assert isinstance(evs[-1], Received) and "Violation:PROTO-FIELD-LENGTH" not in kinds(evs), (data, evs)
        assert getattr(evs[-1].message, f.attr) == "7" * (m - 1)  # (other rules, e.g. PROTO-UNKNOWN-CALL, may speak)
    for data in (b"7" * m, b"7" * m + b"\0"):
        evs = _session_for(mt).receive_data(_request_with(mt, f, data), 1.0)
        assert kinds(evs) == ["Violation:PROTO-FIELD-LENGTH", "Rejected"], (data, evs)
        assert f"{f.name} (tag {f.tag}) has {len(data)} bytes" in evs[0].detail
        rej = evs[1]
        assert rej.status is S.E_CTI_INVALID_FIELD_LENGTH and rej.invoke_id == 4242
        assert rej.failure_conf().text.startswith(f"{f.name} (tag {f.tag}) has {len(data)} bytes")


@pytest.mark.pure_python  # (it counts calls through a monkeypatched Session.check_timers)
def test_the_hub_checks_thousands_of_sessions_in_parts_of_the_second_not_in_one_loop_turn(monkeypatch):
    """Idle supervision of every session at once stalled the server's loop once a second (5,000 sessions: 10-27 ms
    in one turn), and the heartbeats answered behind it set the scale benchmark's p99. The hub now checks each
    round in up to ``session_check_slices`` parts, one per wake-up: a server that ticks when the hub says
    (next_deadline) checks at most ceil(n / 20) sessions per tick and still every session once a second; a clock
    that jumps past a part checks them all at once (no session waits longer); fewer than
    ``session_check_part`` (250) sessions are checked at once, as before."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Close, Hub, HubConfig

    checked: list[int] = []
    real = Session.check_timers
    monkeypatch.setattr(Session, "check_timers", lambda self, now: checked.append(self.session_id) or real(self, now))

    config = HubConfig(session=SessionConfig(open_timeout=5.0), session_check_part=1)  # (45 stand for thousands)
    hub = Hub(ContactCenter(), config=config)
    silent = [hub.connect(0.0) for _ in range(45)]  # none sends OPEN_REQ: each is reset once 5 s have passed
    closed: dict[int, float] = {}
    per_tick: list[int] = []
    now, ticks = 0.0, 0
    while len(closed) < len(silent) and ticks < 1000:  # the server's timer: wake up when the hub says
        now, ticks = hub.next_deadline(), ticks + 1
        checked.clear()
        closed.update((a.session_id, now) for a in hub.tick(now) if isinstance(a, Close))
        per_tick.append(len(checked))
    assert sorted(closed) == silent
    assert max(per_tick) == 3, per_tick  # ceil(45 / 20)
    assert max(closed.values()) <= 5.0 + 1.0 + 0.05 + 1e-9  # each checked at least once a second after its 5 s
    assert len(set(closed.values())) >= 15  # reset over many wake-ups, not in one

    hub = Hub(ContactCenter(), config=config)
    silent = [hub.connect(0.0) for _ in range(45)]
    hub.tick(0.0)
    checked.clear()
    assert sorted(a.session_id for a in hub.tick(100.0) if isinstance(a, Close)) == silent  # the clock jumped
    assert sorted(checked) == silent

    hub = Hub(ContactCenter(), config=HubConfig(session=SessionConfig(open_timeout=5.0)))  # parts of 250 at least
    silent = [hub.connect(0.0) for _ in range(45)]
    hub.tick(0.0)
    now = hub.next_deadline()
    checked.clear()
    hub.tick(now)
    assert sorted(checked) == silent and hub.next_deadline() == now + 1.0  # all 45 at once, once a second


def test_a_refused_request_retried_in_a_tight_loop_is_a_violation():
    """A desktop that ignores the refusal of its login and sends it again at once, over and over: PROTO-RETRY-LOOP
    at the third refusal in a row (each within 1 s of the one before), once for the streak. Sent again after a
    pause, or changed (the password corrected), it is a new attempt; nothing flagged such a loop before."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.journal import Journal
    from mockcti.wire.enums import AgentState as AS

    def login(invoke_id, password="wrong"):
        return wire(SetAgentStateReq(invoke_id=invoke_id, agent_state=int(AS.AGENT_STATE_LOGIN), agent_id="1001",
                                     agent_password=password, agent_instrument="3001"))

    hub = Hub(ContactCenter(), journal=Journal())
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req()), 0.0)
    # twice at once, then a pause: the third is a new attempt; a corrected password too
    for invoke_id, t in ((2, 1.0), (3, 1.1), (4, 5.0), (5, 5.2)):
        hub.receive(sid, login(invoke_id), t)
    hub.receive(sid, login(6, password="other"), 5.3)
    assert hub.journal.violations(sid) == []
    # the same request refused 3 times in a row within 1 s of each refusal: one violation, for the streak
    for invoke_id, t in ((7, 6.0), (8, 6.5), (9, 7.0), (10, 7.1), (11, 7.2)):
        hub.receive(sid, login(invoke_id), t)
    (v,) = hub.journal.violations(sid)
    assert (v.t, v.data["rule"], v.data["request"]) == (7.0, "PROTO-RETRY-LOOP", "SET_AGENT_STATE_REQ")
    assert v.data["detail"] == "SET_AGENT_STATE_REQ sent 3 times in a row, each within 1 s of the same request's refusal"
    # what the client was told each time (the wrong password): the CONTROL_FAILURE_CONF on the wire
    (refusal,) = [e.data["message"] for e in hub.journal.entries(kind="out") if e.data["message"]["fields"].get("invoke_id") == 9]
    assert refusal["type"] == "CONTROL_FAILURE_CONF"
    assert v.data["answer"] == (f"CONTROL_FAILURE_CONF {refusal['names']['failure_code']} ({refusal['fields']['failure_code']}), "
                                f"CCXErrorCode {refusal['names']['ccx_error_code']} ({refusal['fields']['ccx_error_code']})")


class _RefusingRetrieve(_Withholding):
    """:class:`_Withholding` that answers RETRIEVE_CALL_REQ itself with FAILURE_CONF E_CTI_TIMEOUT (a scenario's
    ``fail``)."""

    def attach(self, hub, now):
        self.hub = hub

    def on_request(self, sid, message, now):
        if message.TYPE is MessageType.RETRIEVE_CALL_REQ:
            self.hub.send(sid, FailureConf(invoke_id=message.invoke_id, status=int(StatusCode.E_CTI_TIMEOUT)))
            return True
        return super().on_request(sid, message, now)


def _answers_on_the_wire(actions, sid):
    """The refusals written to session ``sid``, by InvokeID, as a violation's ``answer`` names them."""
    import struct

    from mockcti.hub import Write
    from mockcti.wire.enums import CCXErrorCode, ControlFailureCode

    data = b"".join(a.data for a in actions if isinstance(a, Write) and a.session_id == sid)
    out = {}
    while data:
        length = struct.unpack(">I", data[:4])[0]
        msg, data = decode_bytes(data[:8 + length], D14), data[8 + length:]
        if msg.TYPE is MessageType.FAILURE_CONF:
            out[msg.invoke_id] = f"FAILURE_CONF {StatusCode(msg.status).name} ({msg.status})"
        elif msg.TYPE is MessageType.CONTROL_FAILURE_CONF:
            out[msg.invoke_id] = (f"CONTROL_FAILURE_CONF {ControlFailureCode(msg.failure_code).name} "
                                  f"({msg.failure_code}), CCXErrorCode {CCXErrorCode(msg.ccx_error_code).name} "
                                  f"({msg.ccx_error_code})")
        else:
            out[msg.invoke_id] = msg.TYPE.name
    return out


@pytest.mark.parametrize("keep", [True, False], ids=["journal-keeps-messages", "quiet"])
def test_a_violation_whose_request_the_center_or_a_scenario_refuses_names_that_answer(keep):
    """PROTO-UNKNOWN-CALL, PROTO-SERVICE-NOT-GRANTED and PROTO-INVOKEID-REUSED are judged by the session, but the
    session lets the request through and the contact center (or a scenario) refuses it: the violation had no
    ``answer``, so its line in junit.xml and the reports did not say what the client got, as the session's own
    refusals (PROTO-OPEN-FIRST …) and the ACD rules' do. Each now names the refusal that went out on the wire
    (none for a request that was not refused: a reused InvokeID of a HEARTBEAT_REQ answered HEARTBEAT_CONF)."""
    import xml.etree.ElementTree as ET

    from mockcti.center import ContactCenter
    from mockcti.hub import Hub
    from mockcti.journal import Journal
    from mockcti.report import build_summary, junit_xml, terminal_table
    from mockcti.wire.enums import AgentState as AS
    from mockcti.wire.messages import HoldCallReq, QueryDeviceInfoReq, RetrieveCallReq

    def login(invoke_id, agent="1001", instrument="3001"):
        return SetAgentStateReq(invoke_id=invoke_id, agent_state=int(AS.AGENT_STATE_LOGIN), agent_id=agent,
                                agent_password="wrong", agent_instrument=instrument)

    journal = Journal(keep=keep)
    hub = Hub(ContactCenter(), journal=journal, engine=_RefusingRetrieve(sees_heartbeats=False))
    events_only = hub.connect(0.0)  # CLIENT_EVENTS only: no CLIENT_CONTROL for a login
    hub.receive(events_only, wire(open_req(services_requested=0x1, client_id="a")), 0.0)
    got = _answers_on_the_wire(hub.receive(events_only, wire(login(2)), 1.0), events_only)
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req(client_id="b", agent_id="1002", agent_instrument="3002",
                                   agent_extension="3002")), 0.0)
    # the center refuses a call it does not have; a reused InvokeID (the first request withheld) of a login
    # the center refuses; a scenario refuses a RETRIEVE of a call never named; a reused heartbeat is answered
    actions = hub.receive(sid, wire(HoldCallReq(invoke_id=2, call_id=777, connection_device_id="3002"),
                                    QueryDeviceInfoReq(invoke_id=3, agent_instrument="3002"), login(3, "1002", "3002"),
                                    RetrieveCallReq(invoke_id=4, held_call_id=778, held_connection_device_id="3002"),
                                    QueryDeviceInfoReq(invoke_id=5, agent_instrument="3002"), HeartbeatReq(invoke_id=5)),
                          2.0)
    wire_answers = _answers_on_the_wire(actions, sid)
    assert wire_answers[3].startswith("CONTROL_FAILURE_CONF") and wire_answers[5] == "HEARTBEAT_CONF"
    assert [(v.session, v.data["rule"], v.data.get("answer")) for v in journal.violations()] == [
        (events_only, "PROTO-SERVICE-NOT-GRANTED", got[2]),
        (sid, "PROTO-UNKNOWN-CALL", wire_answers[2]),
        (sid, "PROTO-INVOKEID-REUSED", wire_answers[3]),
        (sid, "PROTO-UNKNOWN-CALL", "FAILURE_CONF E_CTI_TIMEOUT (16)"),
        (sid, "PROTO-INVOKEID-REUSED", None),
    ]
    assert wire_answers[2] == "FAILURE_CONF E_CTI_INVALID_CALLID (13)" and wire_answers[4] == "FAILURE_CONF E_CTI_TIMEOUT (16)"
    # and every report says it: junit.xml's failure, the terminal table's first line of the rule
    summary = build_summary(journal)
    (unknown_call, *_) = [v for v in journal.violations() if v.data["rule"] == "PROTO-UNKNOWN-CALL"]
    line = f"; answered FAILURE_CONF E_CTI_INVALID_CALLID (13) [journal seq {unknown_call.seq}]"
    root = ET.fromstring(junit_xml(summary))
    failure = next(c for c in root.iter("testcase") if c.get("name", "").startswith("PROTO-UNKNOWN-CALL:")).find("failure")
    assert any(t.endswith(line) for t in failure.text.splitlines())
    assert any(t.endswith(line) for t in terminal_table(summary).splitlines())


@pytest.mark.parametrize("times, gap, flagged_at", [(0, 1.0, None), (2, 1.0, 0.5), (3, 0.3, None), (3, 0.5, 1.0)])
def test_the_retry_loop_rule_takes_its_count_and_gap_from_the_hub_config(times, gap, flagged_at):
    """PROTO-RETRY-LOOP is a mock rule (no Cisco source): HubConfig.retry_loop_times / retry_loop_gap set it, 0 turns
    it off. The same refused login sent at 0, 0.5 and 1.0 s."""
    from mockcti.center import ContactCenter
    from mockcti.hub import Hub, HubConfig
    from mockcti.journal import Journal
    from mockcti.wire.enums import AgentState as AS

    hub = Hub(ContactCenter(), journal=Journal(), config=HubConfig(retry_loop_times=times, retry_loop_gap=gap))
    sid = hub.connect(0.0)
    hub.receive(sid, wire(open_req()), 0.0)
    for invoke_id, t in ((2, 0.0), (3, 0.5), (4, 1.0)):
        hub.receive(sid, wire(SetAgentStateReq(invoke_id=invoke_id, agent_state=int(AS.AGENT_STATE_LOGIN),
                                               agent_id="1001", agent_password="wrong", agent_instrument="3001")), t)
    assert [(v.t, v.data["rule"]) for v in hub.journal.violations(sid)] == \
        ([] if flagged_at is None else [(flagged_at, "PROTO-RETRY-LOOP")])
