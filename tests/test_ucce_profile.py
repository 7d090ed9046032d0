"""The UCCE (ICM CTI Server) profile as an ICM-style client sees it: through the hub, bytes on the wire."""

from __future__ import annotations

import struct

import pytest

from mockcti.center import ContactCenter
from mockcti.hub import Hub, Write
from mockcti.journal import Journal
from mockcti.testing.fixtures import hub_config_for
from mockcti.wire import Dialect, FrameBuffer, MessageType, decode, encode
from mockcti.wire.enums import ServiceMask
from mockcti.wire import messages as M
from mockcti.wire.messages import OpenReq

BRIDGE_WITH_CONFIG = int(ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CONFIG_EVENTS)


def open_req(dialect: Dialect, **kw) -> bytes:
    base = dict(invoke_id=1, version_number=dialect.version, idle_timeout=60, services_requested=BRIDGE_WITH_CONFIG,
                call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, config_msg_mask=0x1F, client_id="icm",
                client_password=b"")
    base.update(kw)
    if dialect.profile.icm and base["services_requested"] & ServiceMask.CTI_SERVICE_CLIENT_EVENTS:
        base.setdefault("peripheral_id", 1)  # ICM: an agent-mode OPEN_REQ names its peripheral (the center's, 1)
    return encode(OpenReq(**base), dialect)


def serve(profile: str) -> tuple[Hub, int]:
    hub = Hub(ContactCenter(), journal=Journal(), config=hub_config_for(profile))
    return hub, hub.connect(0.0)


def frames_out(actions) -> list:
    return FrameBuffer(100_000).feed(b"".join(a.data for a in actions if isinstance(a, Write)))


def open_conf_of(actions):
    """The OPEN_CONF a bridge's OPEN_REQ got; under ucce a SYSTEM_EVENT (the peripheral's status) follows it."""
    conf, *rest = frames_out(actions)
    assert [f.type_id for f in rest] in ([], [int(MessageType.SYSTEM_EVENT)])
    return conf


def floating_tags(body: bytes, fixed: int, dialect: Dialect) -> list[int]:
    tw, lw = dialect.tag_width, dialect.length_width
    tags, pos = [], fixed
    while pos < len(body):
        tags.append(int.from_bytes(body[pos:pos + tw], "big"))
        pos += tw + lw + int.from_bytes(body[pos + tw:pos + tw + lw], "big")
    return tags


@pytest.mark.parametrize("version", [19, 20, 24])
def test_ucce_open_conf_leaves_out_uccx_tag_248_which_icm_reads_as_task_life(version):
    dialect = Dialect.ucce(version)
    hub, sid = serve("ucce")
    conf = open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    assert floating_tags(conf.body, 26, dialect) == [228, 208, 224]  # NumPeripherals, FltPeripheralID, MultilineAgentControl
    assert decode(conf, dialect).config_msg_mask_granted is None


def test_uccx_v18_open_conf_still_grants_the_config_mask_in_tag_248():
    dialect = Dialect.uccx(18)
    hub, sid = serve("uccx")
    conf = open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    assert 248 in floating_tags(conf.body, 26, dialect)
    assert decode(conf, dialect).config_msg_mask_granted == 0x1F


def failure_status(actions) -> int:
    (frame,) = frames_out(actions)
    assert frame.type_id == int(MessageType.FAILURE_CONF)
    return int.from_bytes(frame.body[4:8], "big")


def opened(profile: str, dialect: Dialect) -> tuple[Hub, int]:
    hub, sid = serve(profile)
    conf = open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    return hub, sid


# (ucce version, uccx version): each profile's newest version with 1-byte and with 2-byte tags
DIALECTS = [("ucce", Dialect.ucce(19)), ("ucce", Dialect.ucce(24)), ("uccx", Dialect.uccx(14)),
            ("uccx", Dialect.uccx(18))]
IDS = ["ucce19", "ucce24", "uccx14", "uccx18"]
ICM = {"ucce": True, "uccx": False}


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_both_modes_requested_is_icm_invalid_service_mask_under_ucce(profile, dialect):
    hub, sid = serve(profile)
    req = open_req(dialect, services_requested=int(ServiceMask.CTI_SERVICE_CLIENT_EVENTS | ServiceMask.CTI_SERVICE_ALL_EVENTS),
                   agent_id="1001", agent_instrument="3001", agent_extension="3001")
    # ICM: E_CTI_INVALID_SERVICE_MASK (19); UCCX lists 19 as reserved: E_CTI_UNSPECIFIED_FAILURE (17)
    assert failure_status(hub.receive(sid, req, 0.0)) == (19 if ICM[profile] else 17)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_heartbeat_while_offline_is_icm_cti_server_offline_under_ucce(profile, dialect):
    from mockcti.wire.messages import HeartbeatReq

    hub, sid = opened(profile, dialect)
    hub.center.online = False
    assert failure_status(hub.receive(sid, encode(HeartbeatReq(invoke_id=7), dialect), 1.0)) == (15 if ICM[profile] else 17)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_floating_field_past_body_length_is_icm_bad_message_format_under_ucce(profile, dialect):
    from mockcti.wire.messages import QueryAgentStateReq

    hub, sid = opened(profile, dialect)
    data = bytearray(encode(QueryAgentStateReq(invoke_id=7, agent_instrument="3001"), dialect))
    at = 8 + 16 + dialect.tag_width  # header, the 16-byte fixed part, AgentInstrument's tag: its length
    data[at:at + dialect.length_width] = (200).to_bytes(dialect.length_width, "big")  # runs past BodyLength
    assert failure_status(hub.receive(sid, bytes(data), 1.0)) == (25 if ICM[profile] else 17)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_tag_of_another_message_is_icm_invalid_tag_for_msg_type_under_ucce(profile, dialect):
    from mockcti.wire.messages import QueryAgentStateReq

    hub, sid = opened(profile, dialect)
    for tag, icm_status in ((1, 26), (250, 26), (240, 3)):
        # 1 ClientID (OPEN_REQ), 250 an ICM-only tag: defined, not in QUERY_AGENT_STATE_REQ; the last one unknown
        req = QueryAgentStateReq(invoke_id=7, agent_instrument="3001", extra_fields=((tag, b"x\0"),))
        assert failure_status(hub.receive(sid, encode(req, dialect), 1.0)) == (icm_status if ICM[profile] else 3), tag



def agent_opened(profile: str, dialect: Dialect, agent_state_mask: int) -> tuple[Hub, int]:
    hub, sid = serve(profile)
    req = open_req(dialect, services_requested=0x7, agent_state_mask=agent_state_mask, agent_id="1001",
                   agent_instrument="3001", agent_extension="3001")
    (conf,) = frames_out(hub.receive(sid, req, 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    return hub, sid


def state_events(hub: Hub, sid: int, dialect: Dialect, states) -> list[int]:
    """Each state requested in turn (SET_AGENT_STATE_REQ): the AgentState of every AGENT_STATE_EVENT on the wire."""
    from mockcti.wire.messages import SetAgentStateReq

    seen = []
    for n, state in enumerate(states, start=1):
        req = SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234", agent_id="1001",
                               agent_instrument="3001")
        frames = frames_out(hub.receive(sid, encode(req, dialect), float(n)))
        seen += [decode(f, dialect).agent_state for f in frames if f.type_id == int(MessageType.AGENT_STATE_EVENT)]
    return seen


LOGIN, NOT_READY, WORK, WORK_READY = 0, 2, 5, 6
# login (-> NOT_READY), then WORK_READY, NOT_READY, WORK, NOT_READY
STATES = [LOGIN, WORK_READY, NOT_READY, WORK, NOT_READY]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("mask,icm_events,uccx_events", [
    # NOT_READY + 0x40: ICM's AGENT_WORK_READY_MASK; UCCX's TALKING_PENDING_WORK (its WORK_READY is under 0x20)
    (0x04 | 0x40, [NOT_READY, WORK_READY, NOT_READY, NOT_READY], [NOT_READY, NOT_READY, NOT_READY]),
    # NOT_READY + 0x20: ICM's WORK_NOT_READY only; UCCX's WORK, which also lets WORK_READY through
    (0x04 | 0x20, [NOT_READY, NOT_READY, WORK, NOT_READY], [NOT_READY, WORK_READY, NOT_READY, WORK, NOT_READY]),
], ids=["mask0x44", "mask0x24"])
def test_agent_state_mask_bits_have_the_profiles_meaning(profile, dialect, mask, icm_events, uccx_events):
    hub, sid = agent_opened(profile, dialect, mask)
    assert state_events(hub, sid, dialect, STATES) == (icm_events if ICM[profile] else uccx_events)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_configuration_request_while_offline_is_icm_cti_server_offline_under_ucce(profile, dialect):
    from mockcti.wire.messages import ConfigRequestEvent, ConfigRequestKeyEvent

    hub, sid = opened(profile, dialect)  # a bridge granted CTI_SERVICE_CONFIG_EVENTS
    hub.center.online = False
    for req in (ConfigRequestKeyEvent(customer_id=0), ConfigRequestEvent(configuration_mask=0x0F, customer_id=0)):
        # as for a heartbeat while offline: ICM's E_CTI_CTI_SERVER_OFFLINE (15), reserved in UCCX (17)
        assert failure_status(hub.receive(sid, encode(req, dialect), 1.0)) == (15 if ICM[profile] else 17), req


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_message_type_icm_defines_from_a_later_version_is_icm_invalid_msg_type_for_version(profile, dialect):
    hub, sid = opened(profile, dialect)
    for type_id in (255, 282, 283, 112):
        # 255-282: ICM's v20-v24 messages (reference §4); 283: no message at all; 112 QUERY_AGENT_STATISTICS_REQ,
        # an ICM message of every version the mock does not simulate: E_CTI_INVALID_MESSAGE_TYPE (2) in both
        frame = (4).to_bytes(4, "big") + type_id.to_bytes(4, "big") + (9).to_bytes(4, "big")
        icm_below_20 = ICM[profile] and dialect.version < 20 and 255 <= type_id <= 282
        assert failure_status(hub.receive(sid, frame, 1.0)) == (48 if icm_below_20 else 2), type_id


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_request_for_a_service_not_granted_is_icm_function_not_available_under_ucce(profile, dialect):
    from mockcti.wire.messages import ConfigRequestKeyEvent, SetAgentStateReq

    hub, sid = agent_opened(profile, dialect, 0x3FFF)  # CLIENT_EVENTS | CALL_DATA_UPDATE | CLIENT_CONTROL
    req = SetAgentStateReq(invoke_id=5, agent_state=LOGIN, agent_password="1234", agent_id="1001",
                           agent_instrument="3001")
    assert frames_out(hub.receive(sid, encode(req, dialect), 1.0))[0].type_id == int(MessageType.SET_AGENT_STATE_CONF)
    # CTI_SERVICE_CONFIG_EVENTS was not requested: ICM's E_CTI_FUNCTION_NOT_AVAILABLE (12), reserved in UCCX (17)
    assert failure_status(hub.receive(sid, encode(ConfigRequestKeyEvent(customer_id=0), dialect), 2.0)) == \
        (12 if ICM[profile] else 17)
    hub, sid = serve(profile)
    (conf,) = frames_out(hub.receive(sid, open_req(dialect, services_requested=0x1, agent_id="1001",
                                                   agent_instrument="3001", agent_extension="3001"), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)  # CLIENT_EVENTS only: no CLIENT_CONTROL
    assert failure_status(hub.receive(sid, encode(req, dialect), 1.0)) == (12 if ICM[profile] else 17)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_make_call_setup_names_the_states_with_the_profiles_bits(profile, dialect):
    """QUERY_DEVICE_INFO_CONF's MakeCallSetup names NOT_READY, WORK and WORK_READY with the bits the session
    filters its AGENT_STATE_EVENTs by: UCCX 0x04 | 0x20 (WORK_READY under AGENT_WORK_MASK), ICM 0x04 | 0x20 |
    0x40 (WORK_NOT_READY, WORK_READY) — an ICM client reading 0x24 never dialled in WORK_READY."""
    from mockcti.wire.messages import QueryDeviceInfoReq

    hub, sid = agent_opened(profile, dialect, 0x3FFF)
    (conf,) = frames_out(hub.receive(sid, encode(QueryDeviceInfoReq(invoke_id=3, agent_instrument="3001"), dialect),
                                     1.0))
    assert decode(conf, dialect).make_call_setup == (0x64 if ICM[profile] else 0x24)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("mask", [0x4000, 0xFFFFFFFF, 0x80003FFF])
def test_agent_state_mask_bits_icm_does_not_define_are_icm_invalid_agent_state_mask_under_ucce(profile, dialect, mask):
    """§3.3: "unused bits should be zero (ICM rejects them with 19/20/21; UCCX lists those codes as reserved — a
    mock should ignore unknown bits)". ICM's AgentStateMask has a bit per state, 0x1 LOGIN … 0x2000 NOT_ACTIVE
    (§6.7). The ucce profile opened such a session anyway: an ICM client setting 0xFFFFFFFF passed against the
    mock and was refused by a real UCCE. Now FAILURE_CONF E_CTI_INVALID_AGENT_STATE_MASK (21), the OPEN_REQ's
    InvokeID echoed, and the violation PROTO-AGENT-STATE-MASK; uccx still opens (its own example sets 0x3FFF)."""
    hub, sid = serve(profile)
    actions = hub.receive(sid, open_req(dialect, invoke_id=42, agent_state_mask=mask), 0.0)
    (frame,) = frames_out(actions)
    if ICM[profile]:
        assert frame.type_id == int(MessageType.FAILURE_CONF)
        assert (int.from_bytes(frame.body[:4], "big"), int.from_bytes(frame.body[4:8], "big")) == (42, 21)
        assert [e.data["rule"] for e in hub.journal.violations()] == ["PROTO-AGENT-STATE-MASK"]
    else:
        assert frame.type_id == int(MessageType.OPEN_CONF)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_the_defined_agent_state_mask_bits_open_under_both_profiles(profile, dialect):
    hub, sid = serve(profile)
    frame = open_conf_of(hub.receive(sid, open_req(dialect, agent_state_mask=0x3FFF), 0.0))
    assert frame.type_id == int(MessageType.OPEN_CONF)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("mask", [0x10, 0x40])
def test_work_asked_for_during_a_call_is_on_the_wire_with_next_agent_state(profile, dialect, mask):
    """A desktop asks for WORK while TALKING: besides SET_AGENT_STATE_CONF it is sent AGENT_STATE_EVENT
    AgentState TALKING (fixed part offset 30) with NextAgentState 5 (tag 123) — through UCCX's
    AGENT_TALKING_PENDING_WORK_MASK 0x40, or ICM's TALKING 0x10 (ICM's 0x40 is WORK_READY)."""
    from mockcti.wire.messages import AnswerCallReq, SetAgentStateReq

    hub, sid = agent_opened(profile, dialect, 0x08 | mask)  # READY + the mask under test
    for n, state in enumerate((0, 3), start=1):  # LOGIN, READY
        hub.receive(sid, encode(SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                 agent_id="1001", agent_instrument="3001"), dialect), float(n))
    cid, _ = hub.center.deliver_call(3.0, csq="Sales")
    hub.receive(sid, encode(AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"), dialect), 4.0)
    frames = frames_out(hub.receive(sid, encode(SetAgentStateReq(invoke_id=4, agent_state=5, agent_instrument="3001"),
                                                dialect), 5.0))
    events = [f for f in frames if f.type_id == int(MessageType.AGENT_STATE_EVENT)]
    expected = mask == 0x40 if not ICM[profile] else mask == 0x10
    assert len(events) == int(expected)
    if expected:
        (ev,) = events
        assert int.from_bytes(ev.body[30:32], "big") == 4  # AgentState TALKING
        assert 123 in floating_tags(ev.body, 58, dialect)
        assert decode(ev, dialect).next_agent_state == 5


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_held_call_makes_a_ucce_agent_hold_on_the_wire_and_a_uccx_one_stays_talking(profile, dialect):
    """An agent TALKING on an ACD call holds it, then retrieves it. Unified CCE reports the agent HOLD (ICM
    AgentState 10, AGENT_STATE_HOLD; Finesse 12.5(1) User—Change Agent State: "Agent puts an ICD call on hold":
    stand-alone Finesse with Unified CCE sends state=HOLD, then TALKING "when an agent retrieves a held call"):
    AGENT_STATE_EVENT AgentState 10 (fixed part offset 30) through ICM's AGENT_HOLD_MASK 0x200, then 4 TALKING.
    UCCX keeps the agent TALKING ("the agent remains in TALKING state", reference §7.2): no AGENT_STATE_EVENT."""
    from mockcti.wire.messages import AnswerCallReq, HoldCallReq, RetrieveCallReq, SetAgentStateReq

    hub, sid = agent_opened(profile, dialect, 0x3FF)
    for n, state in enumerate((0, 3), start=1):  # LOGIN, READY
        hub.receive(sid, encode(SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                 agent_id="1001", agent_instrument="3001"), dialect), float(n))
    cid, _ = hub.center.deliver_call(3.0, csq="Sales")
    hub.receive(sid, encode(AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"), dialect), 4.0)

    def states(req, now):
        frames = frames_out(hub.receive(sid, encode(req, dialect), now))
        return [int.from_bytes(f.body[30:32], "big") for f in frames if f.type_id == int(MessageType.AGENT_STATE_EVENT)]

    icm = ICM[profile]
    assert states(HoldCallReq(invoke_id=4, call_id=cid, connection_device_id="3001"), 5.0) == ([10] if icm else [])
    assert states(RetrieveCallReq(invoke_id=5, held_call_id=cid, held_connection_device_id="3001"), 6.0) == (
        [4] if icm else [])


@pytest.mark.parametrize("mode", ["cf", "ctierr"])
@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_violations_answer_names_the_control_failure_conf_the_profiles_client_got(profile, dialect, mode):
    """An ACD rule's violation (RETRIEVE of a call that is not held: ACD-1132) and PROTO-RETRY-LOOP (a login with
    a wrong password, refused three times in a row) name the CONTROL_FAILURE_CONF the client got. Under ucce its UINT
    after FailureCode is ICM's PeripheralErrorCode, 0 for a UCCX code, and the answer said "CCXErrorCode
    CCX_JTAPI_CCM_PROBLEM (88001)", a value the client never saw; a Cisco CTIERR code (acd_failure_mode "ctierr")
    goes to both profiles, named from the catalog."""
    import dataclasses

    from mockcti.center import default_center
    from mockcti.wire.enums import ControlFailureCode
    from mockcti.wire.messages import AnswerCallReq, RetrieveCallReq, SetAgentStateReq
    from mockcti.wire.render import value_name_of

    center = ContactCenter(dataclasses.replace(default_center(), acd_failure_mode=mode))
    hub = Hub(center, journal=Journal(), config=hub_config_for(profile))
    sid = hub.connect(0.0)
    hub.receive(sid, open_req(dialect, services_requested=0x7, agent_id="1001", agent_instrument="3001",
                              agent_extension="3001"), 0.0)
    for n, state in enumerate((0, 3), start=1):  # LOGIN, READY
        hub.receive(sid, encode(SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                 agent_id="1001", agent_instrument="3001"), dialect), float(n))
    cid, deliveries = hub.center.deliver_call(3.0, csq="Sales")
    hub.deliver(deliveries)
    hub.receive(sid, encode(AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id="3001"), dialect), 4.0)

    def refusal(req, now):
        (frame,) = frames_out(hub.receive(sid, encode(req, dialect), now))
        assert frame.type_id == int(MessageType.CONTROL_FAILURE_CONF)
        return decode(frame, dialect)

    def said(conf):  # the codes on the wire, as the profile's client reads them
        name = value_name_of(MessageType.CONTROL_FAILURE_CONF, "ccx_error_code", conf.ccx_error_code, icm=ICM[profile])
        head = f"CONTROL_FAILURE_CONF {ControlFailureCode(conf.failure_code).name} ({conf.failure_code}), "
        if ICM[profile]:
            return head + (f"PeripheralErrorCode {name} (0x{conf.ccx_error_code:08X})" if name
                           else f"PeripheralErrorCode {conf.ccx_error_code}")
        return head + (f"CCXErrorCode {name} (0x{conf.ccx_error_code:08X})" if name.startswith("CTIERR_")
                       else f"CCXErrorCode {name} ({conf.ccx_error_code})")

    acd = refusal(RetrieveCallReq(invoke_id=4, held_call_id=cid, held_connection_device_id="3001"), 5.0)
    logins = [refusal(SetAgentStateReq(invoke_id=n, agent_state=0, agent_password="wrong", agent_id="1001",
                                       agent_instrument="3001"), 6.0 + n / 10) for n in (5, 6, 7)]
    if ICM[profile] and mode == "cf":
        assert acd.ccx_error_code == 0 and logins[-1].ccx_error_code == 0  # (UCCX's codes are not ICM's)
    assert [(v.data["rule"], v.data["answer"]) for v in hub.journal.violations()] == [
        ("ACD-1132", said(acd)), ("PROTO-RETRY-LOOP", said(logins[-1]))]


def test_an_event_with_a_v18_field_reaches_a_ucce_v19_session_without_it_and_a_v24_one_with_it():
    """One AGENT_STATE_EVENT with ActiveTerminal (tag 303, UCCX v18) sent (as a scenario's `emit` to `all`
    does) to a UCCE v19 and a UCCE v24 session at once: each gets it in its own version, the v19 one
    without the field its 1-byte tags cannot carry (as a UCCX v17 session gets it), the v24 one with it.
    The v19 session used to get nothing: a "cannot encode" fault, the event dropped."""
    from mockcti.wire.messages import AgentStateEvent

    hub, old = opened("ucce", Dialect.ucce(19))
    new = hub.connect(0.0)
    conf = open_conf_of(hub.receive(new, open_req(Dialect.ucce(24), client_id="icm24"), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    event = AgentStateEvent(agent_state=3, agent_id="1001", agent_extension="3001", agent_instrument="3001",
                            active_terminal="SEP0001")
    for sid in (old, new):
        hub.send(sid, event)
    actions = hub.take_actions()
    assert hub.journal.entries(kind="fault") == []
    for sid, dialect, has_terminal in ((old, Dialect.ucce(19), False), (new, Dialect.ucce(24), True)):
        (frame,) = frames_out(a for a in actions if isinstance(a, Write) and a.session_id == sid)
        assert frame.type_id == int(MessageType.AGENT_STATE_EVENT)
        assert (303 in floating_tags(frame.body, 58, dialect)) is has_terminal
        got = decode(frame, dialect)
        assert (got.agent_id, got.agent_state, got.active_terminal) == ("1001", 3, "SEP0001" if has_terminal else None)


def icm_agent_open_req(version: int, agent_id: bytes) -> bytes:
    """An agent-mode OPEN_REQ as the ICM guide prints it, by hand: the 44-byte fixed part, then ClientID,
    an empty ClientPassword and AgentID in ICM's tag 5 (AGENT_ID_TAG) as the agent's only identity; its
    PeripheralID is the peripheral's (the center's ``peripheral_id``, 1: "Required for Client Events service")."""
    fixed = struct.pack(">11I", 1, version, 60, 1, 0x7, 0xFFFF, 0x3FFF, 0, 0, 0, 0)
    fmt = ">BB" if version < 20 else ">HH"  # ICM: 2-byte tags and lengths from version 20
    body = fixed + b"".join(struct.pack(fmt, tag, len(data)) + data
                            for tag, data in ((1, b"icm\0"), (2, b""), (5, agent_id + b"\0")))
    return struct.pack(">II", len(body), 3) + body


@pytest.mark.parametrize("version", [19, 24])
def test_an_icm_client_naming_its_agent_in_tag_5_opens_an_agent_session_under_ucce(version):
    """ICM's OPEN_REQ carries AgentID in tag 5 ("at least one of AgentExtension, AgentID, or
    AgentInstrument must be provided"). The ucce profile refused it E_CTI_INVALID_TAG_FOR_MSG_TYPE (26,
    "a tag ICM defines for other messages"): an ICM desktop could not open an agent session at all."""
    dialect = Dialect.ucce(version)
    hub, sid = serve_with_agent_in(3, "ucce")  # READY: ICM's OPEN_CONF names a logged-in agent only
    (conf,) = frames_out(hub.receive(sid, icm_agent_open_req(version, b"1002"), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF), conf.body[4:8].hex()
    assert conf.body[:8] == bytes.fromhex("00000001 00000007")  # InvokeID 1, ServicesGranted 0x7
    tw, lw = dialect.tag_width, dialect.length_width
    for tag, value in ((4, b"3002\0"), (6, b"3002\0"), (194, b"1002\0")):  # the agent's extension, phone, ID
        assert tag.to_bytes(tw, "big") + len(value).to_bytes(lw, "big") + value in conf.body[26:]


def test_icms_agent_id_in_tag_5_is_reserved_under_uccx_and_the_refusal_says_so():
    """UCCX names tag 5 reserved and its AgentID is tag 194: an agent-mode OPEN_REQ whose only identity
    is in tag 5 lacks the agent's identity, E_CTI_REQUIRED_DATA_MISSING, and the Text points at tag 194."""
    hub, sid = serve("uccx")
    (frame,) = frames_out(hub.receive(sid, icm_agent_open_req(14, b"1002"), 0.0))
    assert frame.type_id == int(MessageType.FAILURE_CONF) and frame.body[:8] == bytes.fromhex("00000001 00000006")
    text = b"agent mode needs the agent's identity (tag 5, ICM's AgentID, is reserved in UCCX: AgentID is tag 194)\0"
    assert frame.body[8:] == bytes((7, len(text))) + text


def bridge_open_req(version: int, wide: bool) -> bytes:
    """An ALL_EVENTS OPEN_REQ by hand: the 44-byte fixed part, ClientID and an empty ClientPassword,
    with 2-byte tags and lengths when ``wide``."""
    fixed = struct.pack(">11I", 1, version, 60, 0xFFFFFFFF, 0x10, 0xFFFF, 0x3FFF, 0, 0, 0, 0)
    fmt = ">HH" if wide else ">BB"
    body = fixed + struct.pack(fmt, 1, 4) + b"icm\0" + struct.pack(fmt, 2, 0)
    return struct.pack(">II", len(body), 3) + body


@pytest.mark.parametrize("profile,version,wide", [("ucce", 19, False), ("ucce", 24, True), ("uccx", 14, False),
                                                  ("uccx", 18, True)])
@pytest.mark.parametrize("online", [True, False])
def test_an_icm_all_events_client_gets_the_peripherals_status_after_open_conf(profile, version, wide, online):
    """ICM's session initialization: "In addition to the OPEN_CONF, SYSTEM_EVENT messages are sent to the
    ALL_EVENTS client, per peripheral, to indicate the status of each peripheral". A bridge written from the
    ICM guide waits for it; the ucce profile sent OPEN_CONF alone. UCCX sends SYSTEM_EVENT only on a change
    (reference §3.6): a uccx bridge gets OPEN_CONF alone, as before."""
    hub, sid = serve(profile)
    hub.center.online = online
    got = frames_out(hub.receive(sid, bridge_open_req(version, wide), 0.0))
    assert [f.type_id for f in got] == ([4, 31] if profile == "ucce" else [4])
    assert got[0].body[20:22] == (b"\0\1" if online else b"\0\0")  # OPEN_CONF UnifiedCCXOnline / PeripheralOnline
    if profile == "ucce":
        event = got[1].body
        assert len(event) == 26  # no floating part
        status, _time, event_id, arg1, arg2, arg3, device_type = struct.unpack(">IIIIIIH", event)
        # SYS_PERIPHERAL_ONLINE (3) / OFFLINE (4), the peripheral OPEN_CONF names (FltPeripheralID: the center's
        # peripheral_id, 1 by default, which its events carry), no device
        assert (event_id, arg1, arg2, arg3, device_type) == ((3 if online else 4), 1, 0, 0, 0xFFFF)
        # ICM's PGStatus, not UCCX's CCXStatus (CCX_IN_SERVICE 0x400, which an ICM client reads as failure bits):
        # 0 online, PGS_PERIPHERAL_OFFLINE (0x4) offline
        assert status == (0 if online else 0x4)


STATISTICS = [(M.QueryAgentQueueStatisticsReq(invoke_id=9, agent_id="1001"), MessageType.QUERY_AGENT_QUEUE_STATISTICS_CONF),
              (M.QueryQueueStatisticsReq(invoke_id=9, csq_id=1), MessageType.QUERY_QUEUE_STATISTICS_CONF),
              (M.QuerySummaryStatisticsReq(invoke_id=9), MessageType.QUERY_SUMMARY_STATISTICS_CONF)]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("req,conf", STATISTICS, ids=lambda m: getattr(m, "name", None) or type(m).__name__)
def test_the_uccx_statistics_requests_are_unknown_message_types_under_ucce(profile, dialect, req, conf):
    """QUERY_AGENT_QUEUE / QUEUE / SUMMARY_STATISTICS are UCCX's (reference §4, provisional numbers
    0xFF02..0xFF07); ICM's CTI Server has no such messages and refuses an unknown type
    E_CTI_INVALID_MESSAGE_TYPE (2). A ucce session was answered with the UCCX confirmation."""
    hub, sid = opened(profile, dialect)
    # the request as a UCCX client of the same widths writes it (the ucce profile cannot encode it any more)
    data = encode(req, dialect if not ICM[profile] else Dialect.uccx(18 if dialect.tag_width == 2 else 14))
    (frame,) = frames_out(hub.receive(sid, data, 1.0))
    if ICM[profile]:
        assert frame.type_id == int(MessageType.FAILURE_CONF)
        assert frame.body[:8] == bytes.fromhex("00000009 00000002")  # InvokeID 9, E_CTI_INVALID_MESSAGE_TYPE
    else:
        assert frame.type_id == int(conf) and frame.body[:4] == bytes.fromhex("00000009")


def serve_with_agent_in(state: int, profile: str) -> tuple[Hub, int]:
    """A hub whose agent 1002 starts in ``state`` (AgentState)."""
    import dataclasses

    from mockcti.center.config import default_center

    cfg = default_center()
    cfg = dataclasses.replace(cfg, agents=tuple(dataclasses.replace(a, state=state) if a.id == "1002" else a
                                                for a in cfg.agents))
    hub = Hub(ContactCenter(cfg), journal=Journal(), config=hub_config_for(profile))
    return hub, hub.connect(0.0)


@pytest.mark.parametrize("profile,version", [("ucce", 19), ("ucce", 24), ("uccx", 14), ("uccx", 18)])
@pytest.mark.parametrize("state,logged_in", [(3, True), (2, True), (1, False)])  # READY, NOT_READY, LOGOUT
def test_an_icm_desktops_open_conf_names_its_logged_in_agent_in_icms_agent_id_tag_5(profile, version, state,
                                                                                     logged_in):
    """ICM's OPEN_CONF: "AgentID (Client Events Service Only): The agent's ACD login ID, when Client Events
    service has been granted and the agent is currently logged in on the ACD", tag 5, STRING 12. The ucce
    profile sent the ID in UCCX's tag 194 only: an ICM desktop reading tag 5 found no agent. UCCX names tag 5
    reserved ("ignore this value"): a uccx OPEN_CONF leaves it out, as before."""
    dialect = Dialect.ucce(version) if profile == "ucce" else Dialect.uccx(version)
    hub, sid = serve_with_agent_in(state, profile)
    req = open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002")
    (conf,) = frames_out(hub.receive(sid, req, 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF) and conf.body[24:26] == state.to_bytes(2, "big")
    tw, lw = dialect.tag_width, dialect.length_width
    tag5 = (5).to_bytes(tw, "big") + (5).to_bytes(lw, "big") + b"1002\0"
    assert (tag5 in conf.body[26:]) is (profile == "ucce" and logged_in)
    # UCCX's AgentID too (under ucce, as ICM's fields, only while the agent is logged in)
    assert ((194).to_bytes(tw, "big") + (5).to_bytes(lw, "big") + b"1002\0" in conf.body[26:]) is (
        profile == "uccx" or logged_in)


def test_an_agent_id_too_long_for_icms_12_bytes_goes_in_tag_194_alone():
    import dataclasses

    from mockcti.center.config import AgentConfig, default_center

    cfg = default_center()
    cfg = dataclasses.replace(cfg, agents=(*cfg.agents, AgentConfig(id="agent-with-a-long-id", extension="3099",
                                                                    state=3)))
    hub = Hub(ContactCenter(cfg), journal=Journal(), config=hub_config_for("ucce"))
    sid = hub.connect(0.0)
    dialect = Dialect.ucce(24)
    (conf,) = frames_out(hub.receive(sid, open_req(dialect, services_requested=0x7, agent_id="agent-with-a-long-id",
                                                   agent_instrument="3099"), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    got = decode(conf, dialect)
    assert (got.agent_id, got.legacy_agent_id) == ("agent-with-a-long-id", None)



def system_events_after(hub: Hub, sid: int, dialect: Dialect, event: int, now: float) -> list:
    """The SYSTEM_EVENTs session ``sid`` gets when the center reports ``event`` (the control API's
    POST /events/system, a scenario's system_event)."""
    hub.deliver(hub.center.system_event(now, event, wall_time=1_700_000_000 + now))
    frames = frames_out(hub.take_actions())
    return [decode(f, dialect) for f in frames if f.type_id == int(MessageType.SYSTEM_EVENT)]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_system_events_first_field_is_icms_pg_status_under_ucce(profile, dialect):
    """ICM's SYSTEM_EVENT opens with PGStatus, a bit per failure, 0 when all is well ("any non-zero indicates
    a component failure or communication outage"); UCCX's with CCXStatus, an enumerated value (0x400 in
    service). The ucce profile sent UCCX's 0x400 (to an ICM client: failure bits) and 0x600 for every failure.
    Under ucce: the failure's own bit (ICM's PGStatusCode values), 0 again once online."""
    hub, sid = opened(profile, dialect)
    icm = ICM[profile]
    for n, (event, pg_status, ccx_status) in enumerate((
            (2, 0x2, 0x600),  # SYS_CENTRAL_CONTROLLER_OFFLINE: PGS_CC_DOWN
            (7, 0x2 | 0x8, 0x600),  # SYS_CTI_SERVER_OFFLINE as well: PGS_CTI_SERVER_OFFLINE added
            (5, 0x2 | 0x8, 0x600),  # SYS_TEXT_FYI: the status as it is
            (3, 0, 0x400),  # SYS_CCX_ONLINE / SYS_PERIPHERAL_ONLINE: all well again
            (6, 0x1, 0x600),  # SYS_PERIPHERAL_GATEWAY_OFFLINE: PGS_OPC_DOWN
            (8, 0, 0x400),  # SYS_CTI_SERVER_ONLINE
            (4, 0x4, 0x600),  # SYS_CCX_OFFLINE / SYS_PERIPHERAL_OFFLINE: PGS_PERIPHERAL_OFFLINE
    ), start=1):
        (ev,) = system_events_after(hub, sid, dialect, event, float(n))
        assert (ev.system_event_id, ev.ccx_status) == (event, pg_status if icm else ccx_status)
        assert ev.ccx_time == 1_700_000_000 + n  # (UCCX's CCXTime, ICM's ICMCentralControllerTime)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("online", [True, False])
def test_an_icm_open_conf_carries_pg_status_and_the_central_controller_time(profile, dialect, online):
    """ICM's OPEN_CONF: PGStatus (offset 12, "any non-zero indicates a component failure") and
    ICMCentralControllerTime (offset 16, "the current Central Controller date and time"), which UCCX reserves
    (0). The ucce profile sent UCCX's zeros: an offline peripheral with PGStatus "normal", the time 1970."""
    hub, sid = serve(profile)
    hub.epoch = 1_700_000_000.0  # (the server's: the clock at its start)
    hub.center.online = online
    conf = open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    pg_status, cc_time = struct.unpack(">II", conf.body[12:20])
    if ICM[profile]:
        assert pg_status == (0 if online else 0x4)  # PGS_PERIPHERAL_OFFLINE: the mock's one peripheral
        assert cc_time == 1_700_000_000
    else:
        assert (pg_status, cc_time) == (0, 0)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_the_shutdown_system_event_speaks_the_profiles_status(profile, dialect):
    """At shutdown every session gets SYSTEM_EVENT 4 (UCCX SYS_CCX_OFFLINE, CCXStatus CCX_SHUTTING_DOWN 0x200;
    ICM SYS_PERIPHERAL_OFFLINE, whose PGStatus is PGS_PERIPHERAL_OFFLINE 0x4 and whose SystemEventArg1 is
    the peripheral, OPEN_CONF's FltPeripheralID: the center's peripheral_id; UCCX's are 0)."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), peripheral_id=5)), journal=Journal(),
              config=hub_config_for(profile))
    sid = hub.connect(0.0)
    conf = open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    assert decode(conf, dialect).flt_peripheral_id == (5 if ICM[profile] else 0)
    (frame,) = [f for f in frames_out(hub.shutdown(5.0)) if f.type_id == int(MessageType.SYSTEM_EVENT)]
    status, _time, event_id, arg1 = struct.unpack(">IIII", frame.body[:16])
    assert (status, event_id, arg1) == ((0x4, 4, 5) if ICM[profile] else (0x200, 4, 0))


def test_the_journal_names_a_ucce_sessions_values_as_icm_does():
    """The trace and report of a ucce server named a SYSTEM_EVENT's PGStatus with UCCX's CCXStatus table
    ("UNKNOWN(4)") and an OPEN_REQ's AgentStateMask with UCCX's bits: the journal now renders each message
    with its session's profile, and by ICM's field name where ICM's guide has another (PGStatus)."""
    hub, sid = serve("ucce")
    hub.center.online = False
    open_conf_of(hub.receive(sid, open_req(Dialect.ucce(24), agent_state_mask=0x208), 0.0))
    by_type = {m["type"]: m for d in ("in", "out") for m in hub.journal.messages_of(sid, d)}
    assert by_type["OPEN_REQ"]["names"]["agent_state_mask"] == "AGENT_AVAILABLE_MASK|AGENT_HOLD_MASK"
    assert by_type["SYSTEM_EVENT"]["names"]["pg_status"] == "PGS_PERIPHERAL_OFFLINE"
    assert "ccx_status" not in by_type["SYSTEM_EVENT"]["fields"]
    assert by_type["SYSTEM_EVENT"]["names"]["system_event_id"] == "SYS_PERIPHERAL_OFFLINE"


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_an_icm_bridge_naming_an_agent_opens_under_ucce_and_is_refused_under_uccx(profile, dialect):
    """UCCX: a bridge (ALL_EVENTS) "must not carry agent-mode fields" (reference §3.3), FAILURE_CONF
    E_CTI_INCONSISTENT_AGENT_DATA (32). ICM marks OPEN_REQ's AgentExtension / AgentID / AgentInstrument "Client
    Events service only" and ignores them in an ALL_EVENTS session (the ICM-shaped uccertweb OPEN_REQ vector is
    ALL_EVENTS with all three, §8). The ucce profile refused such a bridge with UCCX's rule."""
    hub, sid = serve(profile)
    req = open_req(dialect, agent_extension="3001", agent_instrument="3001",
                   **({"legacy_agent_id": "1001"} if ICM[profile] else {"agent_id": "1001"}))
    got = frames_out(hub.receive(sid, req, 0.0))
    if ICM[profile]:
        conf = decode(got[0], dialect)
        assert got[0].type_id == int(MessageType.OPEN_CONF) and conf.services_granted == BRIDGE_WITH_CONFIG
        assert (conf.agent_extension, conf.agent_instrument, conf.agent_id) == (None, None, None)
        assert not [v for v in hub.journal.violations() if v["rule"] == "PROTO-AGENT-FIELDS-IN-BRIDGE"]
        # a bridge: it sees another agent's events (agent 1002 logging in, AGENT_STATE_LOGIN 0)
        desk = hub.connect(0.0)
        frames_out(hub.receive(desk, open_req(dialect, services_requested=0x7, agent_id="1002",
                                              agent_instrument="3002"), 0.0))
        got = hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=2, agent_state=0, agent_instrument="3002",
                                                          agent_id="1002", agent_password="1234"), dialect), 1.0)
        states = [decode(f, dialect) for f in frames_out(got + hub.take_actions())
                  if f.type_id == int(MessageType.AGENT_STATE_EVENT)]
        assert any(ev.agent_id == "1002" for ev in states)
    else:
        assert [f.type_id for f in got] == [int(MessageType.FAILURE_CONF)]
        assert got[0].body[4:8] == (32).to_bytes(4, "big")  # E_CTI_INCONSISTENT_AGENT_DATA


@pytest.mark.parametrize("profile,version", [("ucce", 19), ("ucce", 24), ("uccx", 14), ("uccx", 18)])
@pytest.mark.parametrize("state,logged_in", [(3, True), (2, True), (1, False)])  # READY, NOT_READY, LOGOUT
def test_an_icm_open_conf_names_the_agent_only_while_it_is_logged_in(profile, version, state, logged_in):
    """ICM's OPEN_CONF has AgentExtension, AgentID and AgentInstrument "when Client Events service has been
    granted and the agent is currently logged in"; the ucce profile sent them (tags 4, 6 and 194) for a
    logged-out agent too. UCCX's page calls them "required for Agent mode": a uccx desktop gets them in every
    state, as before. AgentState (offset 24) is there in both."""
    dialect = Dialect.ucce(version) if profile == "ucce" else Dialect.uccx(version)
    hub, sid = serve_with_agent_in(state, profile)
    req = open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002")
    (conf,) = frames_out(hub.receive(sid, req, 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF) and conf.body[24:26] == state.to_bytes(2, "big")
    tags = floating_tags(conf.body, 26, dialect)
    named = logged_in or not ICM[profile]
    assert [t for t in tags if t in (4, 5, 6, 194)] == ([4, 6, 194] if named and not ICM[profile]
                                                        else [4, 5, 6, 194] if named else [])
    assert [t for t in tags if t in (228, 208, 224)] == [228, 208, 224]


def test_the_client_logs_in_a_ucce_agent_whose_open_conf_named_no_one():
    """mockcti.client's set_agent_state took the agent's identity from OPEN_CONF only; a ucce OPEN_CONF names a
    logged-out agent in none of its fields, so it falls back on what its OPEN_REQ sent."""
    import asyncio

    from mockcti.client import CTIClient
    from mockcti.testing.fixtures import AsyncServer

    async def main():
        async with AsyncServer(profile="ucce") as server:
            desk = await CTIClient.connect(server.host, server.port, profile="ucce")
            conf = await desk.open_agent(agent_id="1001", instrument="3001", heartbeat=0)
            assert (conf.agent_state, conf.agent_id, conf.agent_instrument) == (1, None, None)
            await desk.set_agent_state("LOGIN", password="1234")
            ev = await desk.next_event(MessageType.AGENT_STATE_EVENT, timeout=5)
            assert (ev.agent_id, ev.agent_instrument) == ("1001", "3001")
            await desk.close()
            (sent,) = [m for e in server.journal.entries(kind="in") if (m := e.data["message"])["type"] ==
                       "SET_AGENT_STATE_REQ"]
            assert (sent["fields"].get("agent_instrument"), sent["fields"].get("agent_id")) == ("3001", "1001")

    asyncio.run(asyncio.wait_for(main(), 20))


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_an_offline_refusal_names_the_profiles_system(profile, dialect):
    """The Text of the FAILURE_CONF refusing a heartbeat or a configuration request while offline said
    "Unified CCX is offline" to an ICM client as well: under ucce it names Unified CCE."""
    from mockcti.wire.messages import ConfigRequestKeyEvent, HeartbeatReq

    hub, sid = opened(profile, dialect)
    hub.center.online = False
    system = "Unified CCE" if ICM[profile] else "Unified CCX"
    for req, text in ((HeartbeatReq(invoke_id=7), f"{system} is offline"),
                      (ConfigRequestKeyEvent(customer_id=0),
                       f"{system} is offline: CONFIG_REQUEST_KEY_EVENT is accepted only online")):
        (frame,) = frames_out(hub.receive(sid, encode(req, dialect), 1.0))
        assert frame.type_id == int(MessageType.FAILURE_CONF)
        assert decode(frame, dialect).text == text


def test_config_terminal_event_is_uccx_only():
    """CONFIG_TERMINAL_EVENT is UCCX's (v18 terminal records, no number in any ICM message table, fields 302-305
    UCCX's): the ucce profile offered it as the statistics are not offered -- a ucce server could encode it
    (on its provisional number), `--profile ucce --message-id` took its name, `decode --profile ucce` read
    0xFF01 as it. Now it is out of the ucce message table, as the statistics are; uccx keeps it."""
    from mockcti.wire import DecodeError, EncodeError, Frame
    from mockcti.wire.dialect import UCCE, UCCX

    ev = M.ConfigTerminalEvent(records=())
    assert UCCX.defines(MessageType.CONFIG_TERMINAL_EVENT) and not UCCE.defines(MessageType.CONFIG_TERMINAL_EVENT)
    assert encode(ev, Dialect.uccx(18)) == bytes.fromhex("00000002 0000ff01 0000")
    with pytest.raises(EncodeError, match="not a message of the ucce profile .a UCCX message"):
        encode(ev, Dialect.ucce(24))
    with pytest.raises(DecodeError, match="message type 65281 is not part of the ucce protocol"):
        decode(Frame(0xFF01, b"\0\0"), Dialect.ucce(24))
    with pytest.raises(ValueError, match="CONFIG_TERMINAL_EVENT is not a message of the ucce profile"):
        UCCE.with_type_ids({"CONFIG_TERMINAL_EVENT": 239})
    assert UCCX.with_type_ids({"CONFIG_TERMINAL_EVENT": 239}).wire_id(MessageType.CONFIG_TERMINAL_EVENT) == 239


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_one_peripheral_id_names_the_ucce_peripheral_everywhere(profile, dialect):
    """An ICM client matches the PeripheralID of its events with the peripheral OPEN_CONF and SYSTEM_EVENT name.
    The ucce profile took FltPeripheralID and SystemEventArg1 from the hub (0) and the events' PeripheralID from
    the center (``peripheral_id``, 1): two peripherals for one. Now the center's ``peripheral_id`` is the one
    source under ucce (OPEN_CONF, the bridge's initial SYSTEM_EVENT, a pushed SYS_PERIPHERAL_OFFLINE/ONLINE, agent
    and call events); uccx keeps UCCX's values (OPEN_CONF 0 as in §8.4, SystemEventArg1 0, events the center's)."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), peripheral_id=5000)), journal=Journal(),
              config=hub_config_for(profile))
    bridge = hub.connect(0.0)
    got = [decode(f, dialect) for f in frames_out(hub.receive(bridge, open_req(dialect), 0.0))]
    icm = ICM[profile]
    here = 5000 if icm else 0  # what OPEN_CONF and SYSTEM_EVENT say
    assert got[0].flt_peripheral_id == here
    assert [ev.system_event_arg1 for ev in got[1:]] == ([5000] if icm else [])
    desk = hub.connect(0.0)
    frames_out(hub.receive(desk, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002",
                                          peripheral_id=5000 if icm else 0), 0.0))
    out = hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=2, agent_state=0, agent_instrument="3002",
                                                      agent_id="1002", agent_password="1234"), dialect), 1.0)
    out += hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=3, agent_state=3, agent_instrument="3002",
                                                       agent_id="1002"), dialect), 1.0)
    _, deliveries = hub.center.deliver_call(2.0, csq="Sales")
    hub.deliver(deliveries)
    for event in (4, 3):  # SYS_PERIPHERAL_OFFLINE / ONLINE (UCCX: SYS_CCX_OFFLINE / ONLINE)
        hub.deliver(hub.center.system_event(3.0, event))
    msgs = [decode(f, dialect) for f in frames_out(out + hub.take_actions())]
    by_type = {}
    for m in msgs:
        by_type.setdefault(m.TYPE, []).append(m)
    assert {m.peripheral_id for t in (MessageType.AGENT_STATE_EVENT, MessageType.BEGIN_CALL_EVENT,
                                      MessageType.CALL_DELIVERED_EVENT) for m in by_type[t]} == {5000}
    assert [m.system_event_arg1 for m in by_type[MessageType.SYSTEM_EVENT]] == [here] * 4  # 2 events, 2 sessions


def call_flow_messages(profile: str, dialect: Dialect, **center) -> list:
    """What a bridge and agent 1002's desktop receive: the open, a login, READY, a Sales call delivered,
    answered and hung up by the caller."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), **center)), journal=Journal(),
              config=hub_config_for(profile))
    bridge, desk = hub.connect(0.0), hub.connect(0.0)
    out = hub.receive(bridge, open_req(dialect), 0.0)
    out += hub.receive(desk, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002"), 0.0)
    for n, state in enumerate((0, 3)):  # LOGIN, READY
        out += hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=2 + n, agent_state=state, agent_instrument="3002",
                                                           agent_id="1002", agent_password="1234"), dialect), 1.0)
    call_id, deliveries = hub.center.deliver_call(2.0, csq="Sales")
    hub.deliver(deliveries)
    out += hub.take_actions()
    out += hub.receive(desk, encode(M.AnswerCallReq(invoke_id=9, call_id=call_id, connection_device_type=0,
                                                    connection_device_id="3002", agent_instrument="3002"), dialect), 3.0)
    hub.deliver(hub.center.hang_up(4.0, call_id))
    return [decode(f, dialect) for f in frames_out(out + hub.take_actions())]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_the_events_peripheral_type_is_the_profiles(profile, dialect):
    """UCCX sends PeripheralType 21 (PT_ACMI_CRS, "Gateway PG over UCCX") in its call and agent events and 0 in
    OPEN_CONF (reference §6.9). The ucce profile sent those UCCX values to ICM clients; a Unified CCE agent
    peripheral is ICM's PT_ENTERPRISE_AGENT (17), which an ICM agent-mode OPEN_CONF names too ("the type of the
    peripheral when Client Events service has been granted"). The center file's peripheral_type sets another."""
    msgs = call_flow_messages(profile, dialect)
    want = 17 if ICM[profile] else 21
    typed = [m for m in msgs if hasattr(m, "peripheral_type") and m.TYPE is not MessageType.OPEN_CONF]
    assert {m.TYPE for m in typed} >= {MessageType.AGENT_STATE_EVENT, MessageType.BEGIN_CALL_EVENT,
                                       MessageType.CALL_DELIVERED_EVENT, MessageType.CALL_ESTABLISHED_EVENT,
                                       MessageType.CALL_CONNECTION_CLEARED_EVENT, MessageType.CALL_CLEARED_EVENT,
                                       MessageType.END_CALL_EVENT}
    assert {(m.TYPE.name, m.peripheral_type) for m in typed} == {(m.TYPE.name, want) for m in typed}
    bridge_conf, desk_conf = [m for m in msgs if m.TYPE is MessageType.OPEN_CONF]
    assert (bridge_conf.peripheral_type, desk_conf.peripheral_type) == (0, 17 if ICM[profile] else 0)
    # configured: that number, to both profiles
    msgs = call_flow_messages(profile, dialect, peripheral_type=22)
    assert {m.peripheral_type for m in msgs if hasattr(m, "peripheral_type") and m.TYPE is not MessageType.OPEN_CONF} \
        == {22}


@pytest.mark.parametrize("profile,version,wide", [("ucce", 19, False), ("ucce", 24, True), ("uccx", 14, False),
                                                  ("uccx", 18, True)])
def test_strict_checks_only_what_the_profile_reserves(profile, version, wide):
    """`--strict` refuses a reserved fixed field without the value UCCX sends, E_CTI_INVALID_PERIPHERAL_ID. Under
    ucce it applied UCCX's list: an ICM client's OPEN_REQ naming its peripheral (ICM's PeripheralID, offset 12,
    which UCCX reserves) was refused "UCCX expects 0", and so was every request carrying ICM's PeripheralID. A ucce
    server checks only the fields ICM reserves too (ReservedV11 of CONFIG_REQUEST_KEY_EVENT here)."""
    import dataclasses

    from mockcti.wire.messages import ConfigRequestKeyEvent

    hc = hub_config_for(profile)
    hub = Hub(ContactCenter(), journal=Journal(),
              config=dataclasses.replace(hc, session=dataclasses.replace(hc.session, strict=True)))
    sid = hub.connect(0.0)
    fixed = struct.pack(">11I", 1, version, 60, 5000, int(BRIDGE_WITH_CONFIG), 0xFFFF, 0x3FFF, 0x0F, 0, 0, 0)
    fmt = ">HH" if wide else ">BB"
    body = fixed + struct.pack(fmt, 1, 4) + b"icm\0" + struct.pack(fmt, 2, 0)
    got = frames_out(hub.receive(sid, struct.pack(">II", len(body), 3) + body, 0.0))
    if not ICM[profile]:
        assert [f.type_id for f in got] == [int(MessageType.FAILURE_CONF)]
        assert got[0].body[4:8] == (7).to_bytes(4, "big")  # E_CTI_INVALID_PERIPHERAL_ID
        return
    assert got[0].type_id == int(MessageType.OPEN_CONF)
    dialect = Dialect.ucce(version)
    req = encode(ConfigRequestKeyEvent(customer_id=0), dialect)  # its fixed part: ReservedV11, then nothing
    (ok,) = frames_out(hub.receive(sid, req, 1.0))
    assert ok.type_id == int(MessageType.CONFIG_KEY_EVENT)
    bad = req[:8] + (1).to_bytes(4, "big") + req[12:]  # ReservedV11 = 1: ICM reserves it too
    (refused,) = frames_out(hub.receive(sid, bad, 2.0))
    assert refused.type_id == int(MessageType.FAILURE_CONF) and refused.body[4:8] == (7).to_bytes(4, "big")
    assert decode(refused, dialect).text == "reserved field reserved_v11 is 1, ICM expects 0"


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_query_device_info_names_the_profiles_peripheral_type_and_an_icm_device(profile, dialect):
    """QUERY_DEVICE_INFO_CONF's PeripheralType (offset 4): UCCX's page has the reserved 0xFFFF; ICM's guide "the
    type of the peripheral", the events' PT_ENTERPRISE_AGENT (17) under ucce, which sent UCCX's 0xFFFF.
    TypeOfDevice (offset 6) and ClassOfDevice (offset 8): UCCX's page reserves both as -1 (0xFFFF). ICM's guide:
    "one of the values" of TypeOfDevice (0xFFFF is none of them, DEVT_OTHER being 255) and "one or more of the value
    flags" of ClassOfDevice (0xFFFF sets flags ICM does not define); the ucce profile sent UCCX's 0xFFFF to ICM
    clients. An agent's phone is DEVT_STATION (0) of class DEVC_VOICE (0x8) under ucce."""
    hub, sid = serve_with_agent_in(3, profile)
    frames_out(hub.receive(sid, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002"),
                           0.0))
    (conf,) = frames_out(hub.receive(sid, encode(M.QueryDeviceInfoReq(invoke_id=4, agent_instrument="3002"), dialect),
                                     1.0))
    assert conf.type_id == int(MessageType.QUERY_DEVICE_INFO_CONF)
    assert conf.body[4:6] == (17 if ICM[profile] else 0xFFFF).to_bytes(2, "big")
    assert conf.body[6:12] == (bytes.fromhex("0000 0008 0000") if ICM[profile] else bytes.fromhex("ffff ffff 0000"))


def config_records(profile: str, dialect: Dialect, **center) -> list:
    """The CONFIG_*_EVENT frames a bridge granted CTI_SERVICE_CONFIG_EVENTS gets for CONFIG_REQUEST_EVENT (all kinds)."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), **center)), journal=Journal(),
              config=hub_config_for(profile))
    sid = hub.connect(0.0)
    open_conf_of(hub.receive(sid, open_req(dialect), 0.0))
    frames = frames_out(hub.receive(sid, encode(M.ConfigRequestEvent(configuration_mask=0x0F, customer_id=0), dialect),
                                    1.0))
    return [f for f in frames if f.type_id in (235, 236, 237, 238)]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_the_config_records_name_the_ucce_peripheral(profile, dialect):
    """Every configuration record opens with tag 208 after RecordType: UCCX's "reserved (v11)" 0, ICM's PERIPHERAL_ID
    — the peripheral the record belongs to, the one OPEN_CONF's FltPeripheralID and every event name. The ucce
    profile sent UCCX's 0, a peripheral no event of the ICM client named; now the center's ``peripheral_id``."""
    tw, lw = dialect.tag_width, dialect.length_width
    frames = config_records(profile, dialect, peripheral_id=5000)
    assert sorted({f.type_id for f in frames}) == [235, 236, 237, 238]
    want = 5000 if ICM[profile] else 0
    for f in frames:
        # the first record: NumRecords (2 bytes), RecordType (tag 183, 2 bytes), then tag 208, length 4, the ID
        at = 2 + tw + lw + 2
        assert int.from_bytes(f.body[at:at + tw], "big") == 208
        assert int.from_bytes(f.body[at + tw:at + tw + lw], "big") == 4
        assert f.body[at + tw + lw:at + tw + lw + 4] == want.to_bytes(4, "big"), MessageType(f.type_id).name
        assert {r.peripheral_id for r in decode(f, dialect).records} == {want}


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_the_line_type_of_the_call_events_can_be_set(profile, dialect):
    """lineType 3 is UCCX's business call and ICM's LINETYPE_UNKNOWN; which LineType a Unified CCE PG reports is
    unconfirmed, so the center file's line_type sets it (ICM's LINETYPE_INBOUND_ACD, 0, here). It was fixed."""
    for line_type in (3, 0):
        center = {} if line_type == 3 else {"line_type": line_type}
        msgs = call_flow_messages(profile, dialect, **center)
        lined = [m for m in msgs if m.TYPE in (MessageType.CALL_DELIVERED_EVENT, MessageType.CALL_ESTABLISHED_EVENT)]
        assert len(lined) >= 2 and {m.line_type for m in lined} == {line_type}


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("peripheral", [0, 2, 0xFFFFFFFF])
def test_an_icm_desktops_open_req_must_name_the_peripheral(profile, dialect, peripheral):
    """ICM's OPEN_REQ PeripheralID (offset 12) is "the Peripheral ID of the ACD whose events are of interest to
    the client. Required for Client Events service"; E_CTI_INVALID_PERIPHERAL_ID (7) is "a message with an
    invalid PeripheralID value". The ucce profile did not read it: a desktop naming no peripheral (UCCX's reserved
    0, NULL_PERIPHERAL_ID) or another one opened, and the same client failed against a CTI server. Now under ucce
    an agent-mode OPEN_REQ naming another peripheral than the center's ``peripheral_id`` (1) is refused 7 with a
    Text naming both; the peripheral's own opens. UCCX reserves the field (0) and opens whatever it carries."""
    hub, sid = serve(profile)
    out = frames_out(hub.receive(sid, open_req(dialect, services_requested=0x7, agent_id="1001",
                                               peripheral_id=peripheral), 0.0))
    if not ICM[profile]:
        assert [f.type_id for f in out] == [int(MessageType.OPEN_CONF)]
        return
    (failure,) = out
    assert failure.type_id == int(MessageType.FAILURE_CONF)
    assert failure.body[:8] == bytes.fromhex("00000001 00000007")  # InvokeID 1, E_CTI_INVALID_PERIPHERAL_ID
    named = "0xFFFFFFFF (NULL_PERIPHERAL_ID)" if peripheral == 0xFFFFFFFF else str(peripheral)
    assert decode(failure, dialect).text == (f"PeripheralID {named} is not this CTI server's peripheral (1; the "
                                             f"center file's peripheral_id)")
    assert hub.session(sid).state.value == "awaiting-open"
    again = hub.connect(0.0)  # the peripheral's own PeripheralID opens the same desktop
    (conf,) = frames_out(hub.receive(again, open_req(dialect, services_requested=0x7, agent_id="1001",
                                                     peripheral_id=1), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)


@pytest.mark.parametrize("peripheral", [0, 0xFFFFFFFF, 0x02030405])
def test_an_icm_bridge_opens_whatever_its_peripheral_id(peripheral):
    """ICM asks the PeripheralID of Client Events only ("otherwise, set this field to NULL_PERIPHERAL_ID"): a
    bridge (ALL_EVENTS) opens with any, as the uccertweb OPEN_REQ vector's 0x02030405 (§8.11) does."""
    dialect = Dialect.ucce(19)
    hub, sid = serve("ucce")
    conf = open_conf_of(hub.receive(sid, open_req(dialect, peripheral_id=peripheral), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_ready_asked_for_during_a_call_of_its_own_is_the_state_after_it_under_ucce(profile, dialect):
    """Finesse 12.5(1), User—Change Agent State: "While talking on a non-ICD call ..., the agent sets a pending state
    of READY": stand-alone Finesse with Unified CCE, "Agent transitions to READY state after the call ends";
    coresident with Unified CCX, errorData 33 CF_RESOURCE_BUSY. The mock refused it under both profiles. Now a ucce
    desktop, TALKING on its own call (Unified CCE's state then), gets SET_AGENT_STATE_CONF and AGENT_STATE_EVENT
    TALKING (offset 30) with NextAgentState READY (tag 123), and AGENT_STATE_EVENT READY once its call ends; a
    uccx desktop CONTROL_FAILURE_CONF, NOT_READY it stays."""
    from mockcti.wire.messages import MakeCallReq, SetAgentStateReq

    hub, sid = agent_opened(profile, dialect, 0x3FFF)
    for n, state in enumerate((0,), start=1):  # LOGIN: NOT_READY
        hub.receive(sid, encode(SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                 agent_id="1001", agent_instrument="3001"), dialect), 1.0)
    (conf, *_) = frames_out(hub.receive(sid, encode(MakeCallReq(invoke_id=2, agent_instrument="3001",
                                                                dialed_number="0611111111"), dialect), 2.0))
    own = decode(conf, dialect).new_call_id
    hub.take_actions()
    frames = frames_out(hub.receive(sid, encode(SetAgentStateReq(invoke_id=3, agent_state=3, agent_instrument="3001"),
                                                dialect), 3.0))
    if not ICM[profile]:
        assert [f.type_id for f in frames] == [int(MessageType.CONTROL_FAILURE_CONF)]
        assert hub.center.agents["1001"].state == 2
        return
    assert [f.type_id for f in frames] == [int(MessageType.SET_AGENT_STATE_CONF), int(MessageType.AGENT_STATE_EVENT)]
    ev = frames[1]
    assert int.from_bytes(ev.body[30:32], "big") == 4  # AgentState TALKING: on its own call
    assert 123 in floating_tags(ev.body, 58, dialect) and decode(ev, dialect).next_agent_state == 3
    assert hub.center.agents["1001"].state == 4 and "1001" not in hub.center.ready
    hub.deliver(hub.center.hang_up(4.0, own, "0611111111"))
    events = [f for f in frames_out(hub.take_actions()) if f.type_id == int(MessageType.AGENT_STATE_EVENT)]
    assert [int.from_bytes(f.body[30:32], "big") for f in events] == [3]  # READY, the call over
    assert decode(events[0], dialect).next_agent_state is None


def control_failure_on_wire(profile: str, dialect: Dialect, mode: str) -> list[bytes]:
    """The fixed part after the InvokeID (FailureCode, then the UINT UCCX names CCXErrorCode, ICM
    PeripheralErrorCode) of the CONTROL_FAILURE_CONFs agent 1002's desktop gets: a LOGIN with a wrong password (the
    center's own refusal), then, on an answered call held once, a second HOLD_CALL_REQ (an ACD rule's refusal)."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), acd_failure_mode=mode)), journal=Journal(),
              config=hub_config_for(profile))
    desk = hub.connect(0.0)
    frames_out(hub.receive(desk, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002"),
                           0.0))
    got = []
    for n, (state, password) in enumerate(((0, "wrong"), (0, "1234"), (3, "")), start=1):  # LOGIN refused, LOGIN, READY
        frames = frames_out(hub.receive(desk, encode(M.SetAgentStateReq(
            invoke_id=n, agent_state=state, agent_password=password, agent_id="1002", agent_instrument="3002"),
            dialect), float(n)))
        got += [f.body[4:10] for f in frames if f.type_id == int(MessageType.CONTROL_FAILURE_CONF)]
    call_id, deliveries = hub.center.deliver_call(5.0, csq="Sales")
    hub.deliver(deliveries)
    hub.take_actions()
    hub.receive(desk, encode(M.AnswerCallReq(invoke_id=6, call_id=call_id, connection_device_type=0,
                                             connection_device_id="3002", agent_instrument="3002"), dialect), 6.0)
    for n in (7, 8):
        frames = frames_out(hub.receive(desk, encode(M.HoldCallReq(invoke_id=n, call_id=call_id, connection_device_id="3002"),
                                                     dialect), float(n)))
        got += [f.body[4:10] for f in frames if f.type_id == int(MessageType.CONTROL_FAILURE_CONF)]
    return got


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("mode", ["cf", "ctierr"])
def test_an_icm_clients_peripheral_error_code_holds_no_uccx_error_code(profile, dialect, mode):
    """CONTROL_FAILURE_CONF's UINT at offset 6 is UCCX's CCXErrorCode (88xxx, §6.3) and ICM's PeripheralErrorCode:
    "peripheral-specific error data, if available. Zero otherwise". The ucce profile sent UCCX's codes (88009
    CCX_AGENT_INVALID for a wrong password, 88001 CCX_JTAPI_CCM_PROBLEM for an ACD rule), numbers no ICM client
    knows; now 0 under ucce. A Cisco CTIERR code (acd_failure_mode "ctierr"), the peripheral's own, goes to both."""
    wrong_password, second_hold = control_failure_on_wire(profile, dialect, mode)
    # FailureCode CF_GENERIC_UNSPECIFIED (0; ucce: ICM's CF_INVALID_PASSWORD_SPECIFIED, 257), CF_INVALID_OBJECT_STATE
    # (22, an ACD rule's)
    assert wrong_password == ((257).to_bytes(2, "big") + bytes(4) if ICM[profile]
                              else bytes.fromhex("0000") + (88009).to_bytes(4, "big"))
    hold_code = 0x8CCC000F if mode == "ctierr" else (0 if ICM[profile] else 88001)  # CTIERR_HOLDFAILED
    assert second_hold == (22).to_bytes(2, "big") + hold_code.to_bytes(4, "big")


def own_call_world(profile: str, dialect: Dialect):
    """Agent 1001's desktop (all agent states) and a bridge whose AgentStateMask is ICM's/UCCX's TALKING bit alone
    (0x10 in both); agent 1001 logged in and NOT_READY with its reason code 7."""
    hub, desk = agent_opened(profile, dialect, 0x3FFF)
    bridge = hub.connect(0.0)
    open_conf_of(hub.receive(bridge, open_req(dialect, agent_state_mask=0x10), 0.0))
    for n, (state, reason) in enumerate(((0, 0), (2, 7)), start=1):  # LOGIN, NOT_READY reason 7
        hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                    agent_id="1001", agent_instrument="3001",
                                                    event_reason_code=reason), dialect), 1.0)
    hub.take_actions()
    return hub, desk, bridge


def agent_states_on_wire(hub: Hub, actions, sid: int, dialect: Dialect) -> list[tuple[int, int]]:
    """(AgentState at offset 30, EventReasonCode at 32) of each AGENT_STATE_EVENT session ``sid`` got."""
    frames = FrameBuffer(100_000).feed(b"".join(a.data for a in actions if isinstance(a, Write) and a.session_id == sid))
    return [(int.from_bytes(f.body[30:32], "big"), int.from_bytes(f.body[32:34], "big"))
            for f in frames if f.type_id == int(MessageType.AGENT_STATE_EVENT)]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_an_agent_placing_a_call_of_its_own_is_talking_under_ucce(profile, dialect):
    """Finesse 12.5(1), User—Change Agent State, Unified CCE: "An agent who places a call while in NOT_READY state
    transitions to TALKING", and back "to NOT_READY if that agent was in NOT_READY state before the call"; "agent
    state can be TALKING in Unified CCE or NOT_READY in Unified CCX" on a non-ICD call. The ucce profile kept
    UCCX's NOT_READY: an ICM desktop and wallboard never saw the agent talk. Now, under ucce, MAKE_CALL brings
    AGENT_STATE_EVENT TALKING (reason 0) to the desktop and a bridge filtering on TALKING (0x10),
    QUERY_AGENT_STATE_CONF says TALKING, and the call's end NOT_READY with the reason code it had (7). uccx: no
    event, NOT_READY throughout."""
    hub, desk, bridge = own_call_world(profile, dialect)
    icm = ICM[profile]
    out = hub.receive(desk, encode(M.MakeCallReq(invoke_id=3, agent_instrument="3001", dialed_number="0611111111"),
                                   dialect), 2.0)
    own = decode(frames_out([a for a in out if a.session_id == desk])[0], dialect).new_call_id
    out += hub.take_actions()
    assert agent_states_on_wire(hub, out, desk, dialect) == ([(4, 0)] if icm else [])
    assert agent_states_on_wire(hub, out, bridge, dialect) == ([(4, 0)] if icm else [])
    (conf,) = frames_out(hub.receive(desk, encode(M.QueryAgentStateReq(invoke_id=4, agent_instrument="3001"),
                                                  dialect), 3.0))
    assert conf.type_id == int(MessageType.QUERY_AGENT_STATE_CONF)
    assert decode(conf, dialect).agent_state == (4 if icm else 2)
    hub.deliver(hub.center.hang_up(4.0, own, "0611111111"))
    out = hub.take_actions()
    assert agent_states_on_wire(hub, out, desk, dialect) == ([(2, 7)] if icm else [])
    assert agent_states_on_wire(hub, out, bridge, dialect) == []  # NOT_READY: not the bridge's bit
    assert (hub.center.agents["1001"].state, hub.center.agents["1001"].reason) == (2, 7)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_an_agent_answering_a_direct_call_is_talking_and_takes_the_state_it_asked_for_after_it_under_ucce(
        profile, dialect):
    """Finesse 12.5(1), Unified CCE: "Agent receives and answers a non-ICD call": state=TALKING (Unified CCX: "The
    agent remains in NOT_READY state"); a state asked for meanwhile is the state after the call (WORK here, with its
    wrap-up). Agent 1002 calls agent 1001 (NOT_READY): under ucce 1001's desktop gets TALKING when it answers, and
    TALKING with NextAgentState WORK for its SET_AGENT_STATE_REQ WORK; WORK when the call ends."""
    hub, desk, bridge = own_call_world(profile, dialect)
    icm = ICM[profile]
    other = hub.connect(0.0)  # agent 1002's desktop: logged in (NOT_READY), it calls 1001's phone
    frames_out(hub.receive(other, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002",
                                           agent_extension="3002"), 0.0))
    hub.receive(other, encode(M.SetAgentStateReq(invoke_id=1, agent_state=0, agent_password="1234", agent_id="1002",
                                                 agent_instrument="3002"), dialect), 1.0)
    (conf, *_) = frames_out(hub.receive(other, encode(M.MakeCallReq(invoke_id=2, agent_instrument="3002",
                                                                    dialed_number="3001"), dialect), 2.0))
    call_id = decode(conf, dialect).new_call_id
    hub.take_actions()
    out = hub.receive(desk, encode(M.AnswerCallReq(invoke_id=6, call_id=call_id, connection_device_type=0,
                                                   connection_device_id="3001", agent_instrument="3001"), dialect), 3.0)
    out += hub.take_actions()
    assert agent_states_on_wire(hub, out, desk, dialect) == ([(4, 0)] if icm else [])
    out = hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=7, agent_state=5, agent_instrument="3001"), dialect),
                      4.0)
    frames = frames_out([a for a in out if isinstance(a, Write) and a.session_id == desk])
    if icm:
        assert [f.type_id for f in frames] == [int(MessageType.SET_AGENT_STATE_CONF), int(MessageType.AGENT_STATE_EVENT)]
        assert int.from_bytes(frames[1].body[30:32], "big") == 4 and decode(frames[1], dialect).next_agent_state == 5
    hub.deliver(hub.center.hang_up(5.0, call_id, "3002"))
    out = hub.take_actions()
    assert agent_states_on_wire(hub, out, desk, dialect) == ([(5, 0)] if icm else [])
    assert hub.center.agents["1001"].state == 5  # WORK (uccx: asked for while NOT_READY, at once)


def consulting_world(profile: str, dialect: Dialect):
    """Agent 1001's desktop (all agent states) and a bridge (all agent states): 1001 answered a Sales call and
    consulted an outside number, which answered (``external_answer_delay`` 0); the wire so far taken."""
    hub, desk = agent_opened(profile, dialect, 0x3FFF)
    bridge = hub.connect(0.0)
    open_conf_of(hub.receive(bridge, open_req(dialect, agent_state_mask=0x3FFF), 0.0))
    for n, state in enumerate((0, 3), start=1):  # LOGIN, READY
        hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                    agent_id="1001", agent_instrument="3001"), dialect), float(n))
    call_id, deliveries = hub.center.deliver_call(3.0, csq="Sales")
    hub.deliver(deliveries)
    hub.receive(desk, encode(M.AnswerCallReq(invoke_id=3, call_id=call_id, connection_device_id="3001"), dialect), 4.0)
    frames = frames_out(hub.receive(desk, encode(M.ConsultCallReq(
        invoke_id=4, active_call_id=call_id, active_connection_device_id="3001", dialed_number="0611111111"),
        dialect), 5.0))
    (conf,) = [f for f in frames if f.type_id == int(MessageType.CONSULT_CALL_CONF)]
    consult_id = decode(conf, dialect).new_call_id
    hub.take_actions()
    assert hub.center.agents["1001"].state == 4  # TALKING on the consultation, the Sales call held
    return hub, desk, bridge, call_id, consult_id


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_reconnect_keeps_a_ucce_agent_talking_without_a_passing_hold(profile, dialect):
    """RECONNECT_CALL_REQ clears the consultation and retrieves the held call in one request. Under ucce the agent
    went HOLD for an instant (the consultation cleared first, its phone left with the held call alone): its desktop
    and the bridge got AGENT_STATE_EVENT HOLD (10), then TALKING (4), for a state that never changed. Now no
    AGENT_STATE_EVENT under either profile; the call events are unchanged (CALL_CONNECTION_CLEARED ... then
    CALL_RETRIEVED), and the agent is TALKING on the retrieved call."""
    hub, desk, bridge, call_id, consult_id = consulting_world(profile, dialect)
    out = hub.receive(desk, encode(M.ReconnectCallReq(
        invoke_id=5, held_call_id=call_id, held_connection_device_id="3001", active_call_id=consult_id,
        active_connection_device_id="3001"), dialect), 6.0) + hub.take_actions()
    assert agent_states_on_wire(hub, out, desk, dialect) == []
    assert agent_states_on_wire(hub, out, bridge, dialect) == []
    types = [f.type_id for f in frames_out([a for a in out if isinstance(a, Write) and a.session_id == desk])]
    assert types[0] == int(MessageType.RECONNECT_CALL_CONF) and types[-1] == int(MessageType.CALL_RETRIEVED_EVENT)
    assert int(MessageType.CALL_CONNECTION_CLEARED_EVENT) in types
    assert hub.center.agents["1001"].state == 4
    (conf,) = frames_out(hub.receive(desk, encode(M.QueryAgentStateReq(invoke_id=6, agent_instrument="3001"),
                                                  dialect), 7.0))
    assert decode(conf, dialect).agent_state == 4


def direct_call_ringing(profile: str, dialect: Dialect):
    """Agent 1001 READY (desktop: all agent states); agent 1002 (NOT_READY) calls 1001's phone, which rings: under ucce
    1001 is RESERVED (Unified CCE: READY -> RESERVED "an incoming call arrives"), under uccx NOT_READY AGT_NON_ICD."""
    hub, desk = agent_opened(profile, dialect, 0x3FFF)
    for n, state in enumerate((0, 3), start=1):  # LOGIN, READY
        hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                    agent_id="1001", agent_instrument="3001"), dialect), 1.0)
    other = hub.connect(0.0)
    frames_out(hub.receive(other, open_req(dialect, services_requested=0x7, agent_id="1002", agent_instrument="3002",
                                           agent_extension="3002"), 0.0))
    hub.receive(other, encode(M.SetAgentStateReq(invoke_id=1, agent_state=0, agent_password="1234", agent_id="1002",
                                                 agent_instrument="3002"), dialect), 1.0)
    frames = frames_out(hub.receive(other, encode(M.MakeCallReq(invoke_id=2, agent_instrument="3002",
                                                                dialed_number="3001"), dialect), 2.0))
    (conf,) = [f for f in frames if f.type_id == int(MessageType.MAKE_CALL_CONF)]
    hub.take_actions()
    assert hub.center.agents["1001"].state == (8 if ICM[profile] else 2)
    return hub, desk, decode(conf, dialect).new_call_id


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("want,reason", [(3, 0), (2, 7)], ids=["READY", "NOT_READY"])
@pytest.mark.parametrize("answered", [True, False], ids=["answered", "unanswered"])
def test_a_state_asked_for_while_a_direct_call_rings_is_the_state_after_it_under_ucce(profile, dialect, want, reason,
                                                                                        answered):
    """A ucce agent RESERVED because a direct call rings at its phone asks for READY or NOT_READY. The mock refused
    READY (CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE, "cannot go from RESERVED to READY") and took NOT_READY at
    once, the call ringing on. Unified CCE lists no request that leaves RESERVED and makes a state asked for while
    reserved or on a call a pending one (Finesse 12.5(1) User—Change Agent State: "This state change is a pending
    state change"): now SET_AGENT_STATE_CONF and AGENT_STATE_EVENT RESERVED (8, offset 30) with NextAgentState the
    state asked for (tag 123); the agent stays RESERVED while the call rings, TALKING once answered, and takes the
    state (with its reason code) when the call ends, answered or not. uccx unchanged: the direct call made the agent
    NOT_READY, READY is refused while its phone is busy, NOT_READY is taken at once."""
    hub, desk, call_id = direct_call_ringing(profile, dialect)
    icm = ICM[profile]
    out = hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=5, agent_state=want, agent_instrument="3001",
                                                      event_reason_code=reason), dialect), 3.0)
    frames = frames_out([a for a in out if isinstance(a, Write) and a.session_id == desk])
    if not icm:
        if want == 3:
            assert [f.type_id for f in frames] == [int(MessageType.CONTROL_FAILURE_CONF)]
        else:
            assert [f.type_id for f in frames] == [int(MessageType.SET_AGENT_STATE_CONF),
                                                   int(MessageType.AGENT_STATE_EVENT)]
        return
    assert [f.type_id for f in frames] == [int(MessageType.SET_AGENT_STATE_CONF), int(MessageType.AGENT_STATE_EVENT)]
    assert int.from_bytes(frames[1].body[30:32], "big") == 8  # RESERVED: the call still rings
    assert 123 in floating_tags(frames[1].body, 58, dialect) and decode(frames[1], dialect).next_agent_state == want
    assert hub.center.agents["1001"].state == 8 and "1001" not in hub.center.ready
    if answered:
        out = hub.receive(desk, encode(M.AnswerCallReq(invoke_id=6, call_id=call_id, connection_device_type=0,
                                                       connection_device_id="3001", agent_instrument="3001"),
                                       dialect), 4.0) + hub.take_actions()
        assert agent_states_on_wire(hub, out, desk, dialect) == [(4, 0)]  # TALKING on it
    hub.deliver(hub.center.hang_up(5.0, call_id, "3002"))
    assert agent_states_on_wire(hub, hub.take_actions(), desk, dialect) == [(want, reason)]
    assert (hub.center.agents["1001"].state, hub.center.agents["1001"].reason) == (want, reason)


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
@pytest.mark.parametrize("codes", ["uccx", "icm"])
def test_the_centers_own_refusals_carry_icms_failure_codes_under_ucce(profile, dialect, codes):
    """The center's own CONTROL_FAILURE_CONFs (ACD rules off) took their FailureCode (offset 4) from the center file's
    ``control_failure_codes``, UCCX's published CF 0-22 by default, whatever the session's profile: a ucce client got
    CF_GENERIC_UNSPECIFIED (0) for a wrong password and CF_INVALID_OBJECT_STATE (22) for a HOLD of a ringing call, a
    RETRIEVE of a call not held and an ANSWER of a call not ringing. ICM's CF list (reference §6.2) has a value for
    each: now a ucce session gets CF_INVALID_PASSWORD_SPECIFIED (257), CF_NO_ACTIVE_CALL (24), CF_NO_HELD_CALL (25)
    and CF_NO_CALL_TO_ANSWER (28) with either setting, PeripheralErrorCode 0; a uccx session what the setting says."""
    import dataclasses

    from mockcti.center.config import default_center

    hub = Hub(ContactCenter(dataclasses.replace(default_center(), acd_rules=False, control_failure_codes=codes)),
              journal=Journal(), config=hub_config_for(profile))
    desk = hub.connect(0.0)
    frames_out(hub.receive(desk, open_req(dialect, services_requested=0x7, agent_id="1001", agent_instrument="3001"),
                           0.0))

    def refusal(req, now: float) -> tuple[int, int]:
        (frame,) = frames_out(hub.receive(desk, encode(req, dialect), now))
        assert frame.type_id == int(MessageType.CONTROL_FAILURE_CONF)
        return int.from_bytes(frame.body[4:6], "big"), int.from_bytes(frame.body[6:10], "big")

    got = [refusal(M.SetAgentStateReq(invoke_id=1, agent_state=0, agent_password="wrong", agent_id="1001",
                                      agent_instrument="3001"), 1.0)]
    for n, state in enumerate((0, 3), start=2):  # LOGIN, READY
        hub.receive(desk, encode(M.SetAgentStateReq(invoke_id=n, agent_state=state, agent_password="1234",
                                                    agent_id="1001", agent_instrument="3001"), dialect), 1.0)
    call_id, deliveries = hub.center.deliver_call(2.0, csq="Sales")
    hub.deliver(deliveries)
    hub.take_actions()  # ringing at 1001
    got.append(refusal(M.HoldCallReq(invoke_id=4, call_id=call_id, connection_device_id="3001"), 3.0))
    got.append(refusal(M.RetrieveCallReq(invoke_id=5, held_call_id=call_id, held_connection_device_id="3001"), 3.0))
    hub.receive(desk, encode(M.AnswerCallReq(invoke_id=6, call_id=call_id, connection_device_id="3001"), dialect), 4.0)
    got.append(refusal(M.AnswerCallReq(invoke_id=7, call_id=call_id, connection_device_id="3001"), 5.0))
    if ICM[profile]:
        assert got == [(257, 0), (24, 0), (25, 0), (28, 0)]
    elif codes == "icm":
        assert got == [(257, 88009), (24, 0), (25, 0), (28, 0)]
    else:
        assert got == [(0, 88009), (22, 0), (22, 0), (22, 0)]


@pytest.mark.parametrize("profile,dialect", DIALECTS, ids=IDS)
def test_a_conference_of_two_held_calls_makes_a_ucce_agent_talking_again(profile, dialect):
    """The agent holds its consultation too (both calls held: HOLD under ucce, the seed's Line2AllHeld, from which
    a conference is allowed) and conferences them. The conference connects it again: under ucce its desktop and
    the bridge get AGENT_STATE_EVENT TALKING (4) and the agent is TALKING; it stayed HOLD while talking in the
    conference (found by the stateful machine). Under uccx no agent state event: the agent was TALKING all along."""
    hub, desk, bridge, call_id, consult_id = consulting_world(profile, dialect)
    hub.receive(desk, encode(M.HoldCallReq(invoke_id=5, call_id=consult_id, connection_device_id="3001"), dialect),
                6.0)
    hub.take_actions()
    assert hub.center.agents["1001"].state == (10 if ICM[profile] else 4)
    out = hub.receive(desk, encode(M.ConferenceCallReq(
        invoke_id=6, held_call_id=call_id, held_connection_device_id="3001", active_call_id=consult_id,
        active_connection_device_id="3001", agent_instrument="3001"), dialect), 7.0) + hub.take_actions()
    types = [f.type_id for f in frames_out([a for a in out if isinstance(a, Write) and a.session_id == desk])]
    assert types[0] == int(MessageType.CONFERENCE_CALL_CONF)
    expected = [(4, 0)] if ICM[profile] else []  # (state, reason code)
    assert agent_states_on_wire(hub, out, desk, dialect) == expected
    assert agent_states_on_wire(hub, out, bridge, dialect) == expected
    (conf,) = frames_out(hub.receive(desk, encode(M.QueryAgentStateReq(invoke_id=7, agent_instrument="3001"),
                                                  dialect), 8.0))
    assert decode(conf, dialect).agent_state == 4
