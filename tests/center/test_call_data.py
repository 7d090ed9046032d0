"""Call data as a CRM connector reads and writes it (reference §5.3 SET_CALL_DATA_REQ, MAKE_CALL_REQ,
CONSULT_CALL_REQ; §5.4 BEGIN_CALL_EVENT, CALL_DELIVERED_EVENT, CALL_DATA_UPDATE_EVENT; SNAPSHOT_CALL_CONF):
what one agent sets reaches the other agents and the bridges, and the call's later events carry it."""

from __future__ import annotations

import pytest

from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode
from mockcti.wire.enums import StatusCode as S
from mockcti.wire.types import NamedArray, NamedVariable

from center_world import World, agent_sub, only, two_desktops_and_a_bridge  # tests/support


@pytest.fixture
def w():
    w = two_desktops_and_a_bridge()
    w.login_ready(1, "1001")
    w.login_ready(2, "1002", ready=False)
    return w


def answered(w, agent="1001", sid=1, device="3001"):
    cid, _ = w.inbound(agent_id=agent)
    w.req(sid, M.AnswerCallReq(invoke_id=3, call_id=cid, connection_device_id=device))
    return cid


ITEMS = (NamedArray(index=0, name="user.items", value="router"), NamedArray(index=1, name="user.items", value="modem"))


def test_named_arrays_set_by_one_agent_reach_the_update_the_snapshot_and_the_consulted_agent(w):
    """SET_CALL_DATA_REQ's NamedArray elements (tag 83) were dropped: CALL_DATA_UPDATE_EVENT, SNAPSHOT_CALL_CONF
    and the consulted agent's BEGIN_CALL / CALL_DELIVERED carried none. An element replaces the one of its
    name and index."""
    cid = answered(w)
    out = w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001", named_arrays=ITEMS,
                                    named_variables=(NamedVariable(name="user.cust", value="C-42"),)))
    for sid in (1, 9):
        [upd] = only(out, sid, MT.CALL_DATA_UPDATE_EVENT)
        assert upd.named_arrays == ITEMS
    out = w.req(1, M.SetCallDataReq(invoke_id=5, call_id=cid, connection_device_id="3001",
                                    named_arrays=(NamedArray(index=1, name="user.items", value="fibre"),)))
    assert only(out, 9, MT.CALL_DATA_UPDATE_EVENT)[0].named_arrays == (
        NamedArray(index=1, name="user.items", value="fibre"),)  # only what changed (§5.4)
    now = (ITEMS[0], NamedArray(index=1, name="user.items", value="fibre"))
    snap = w.req(1, M.SnapshotCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))[0].message
    assert snap.named_arrays == now and snap.named_variables == (NamedVariable(name="user.cust", value="C-42"),)
    out = w.req(1, M.ConsultCallReq(invoke_id=7, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    [begin] = only(out, 2, MT.BEGIN_CALL_EVENT)
    [delivered] = only(out, 2, MT.CALL_DELIVERED_EVENT)
    assert begin.named_arrays == delivered.named_arrays == now
    consult = begin.call_id
    w.req(2, M.AnswerCallReq(invoke_id=8, call_id=consult, connection_device_id="3002"))
    out = w.req(1, M.TransferCallReq(invoke_id=9, active_call_id=consult, active_connection_device_id="3001",
                                     held_call_id=cid, held_connection_device_id="3001"))
    # the transferred call's first event at the consulted agent carries the data the first agent set
    [begin] = [m for m in only(out, 2, MT.BEGIN_CALL_EVENT) if m.call_id == cid]
    assert begin.named_arrays == now and begin.named_variables == (NamedVariable(name="user.cust", value="C-42"),)


def test_make_call_keeps_its_named_arrays(w):
    """MAKE_CALL_REQ's NamedArray elements (tag 83) are the new call's, as its NamedVariables are."""
    w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_NOT_READY))  # may place a call
    out = w.req(1, M.MakeCallReq(invoke_id=5, agent_instrument="3001", dialed_number="3002", named_arrays=ITEMS,
                                 named_variables=(NamedVariable(name="user.cust", value="C-42"),)))
    for sid in (1, 2, 9):
        [begin] = only(out, sid, MT.BEGIN_CALL_EVENT)
        assert begin.named_arrays == ITEMS, sid
    [delivered] = only(out, 2, MT.CALL_DELIVERED_EVENT)
    assert delivered.named_arrays == ITEMS


def test_consult_call_req_carries_its_own_data_to_the_consulted_agent(w):
    """CONSULT_CALL_REQ's call variables, UserToUserInfo, CallWrapupData, named variables and arrays (§5.3) are
    the consultation's, over the copy of the call's data: a desktop passing a note to the consulted agent
    this way saw it dropped (the consulted agent's BEGIN_CALL / CALL_DELIVERED had the call's data only)."""
    cid = answered(w)
    w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001", call_variable1="C-42",
                              call_variable2="gold", named_variables=(NamedVariable(name="user.cust", value="C-42"),)))
    out = w.req(1, M.ConsultCallReq(invoke_id=5, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002", call_variable2="platinum",
                                    call_variable3="wants a refund", user_to_user_info=b"\x01note",
                                    named_variables=(NamedVariable(name="user.reason", value="refund"),),
                                    named_arrays=ITEMS[:1]))
    [begin] = only(out, 2, MT.BEGIN_CALL_EVENT)
    [delivered] = only(out, 2, MT.CALL_DELIVERED_EVENT)
    for ev in (begin, delivered):
        assert (ev.call_variable1, ev.call_variable2, ev.call_variable3, ev.user_to_user_info) == (
            "C-42", "platinum", "wants a refund", b"\x01note")
        assert ev.named_variables == (NamedVariable(name="user.cust", value="C-42"),
                                      NamedVariable(name="user.reason", value="refund"))
        assert ev.named_arrays == ITEMS[:1]
    # the original call keeps its own data
    snap = w.req(1, M.SnapshotCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))[0].message
    assert (snap.call_variable2, snap.call_variable3, snap.named_arrays) == ("gold", None, ())


def _consulted(w, **consult_data):
    """1001 talks on an ACD call and consults 1002, who answers: (original CallID, consultation CallID)."""
    cid = answered(w)
    w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001", call_variable1="C-42",
                              call_variable2="gold"))
    out = w.req(1, M.ConsultCallReq(invoke_id=5, active_call_id=cid, active_connection_device_id="3001",
                                    dialed_number="3002", **consult_data))
    consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
    w.req(2, M.AnswerCallReq(invoke_id=6, call_id=consult, connection_device_id="3002"))
    return cid, consult


def test_a_transfer_keeps_the_consultations_data_and_the_requests_own(w):
    """The transferred call carries what the consulted agent was shown on the consultation (CONSULT_CALL_REQ's
    own data, SET_CALL_DATA_REQ on the consultation) and TRANSFER_CALL_REQ's own call data (§5.3: its call
    variables, named variables and arrays are the resulting call's). Both were lost: the consulted agent's
    BEGIN_CALL for the transferred call had the original's data only, and the request's was ignored. The
    sessions that knew the call (the bridge) get one CALL_DATA_UPDATE_EVENT with what changed."""
    cid, consult = _consulted(w, call_variable2="platinum")
    w.req(2, M.SetCallDataReq(invoke_id=7, call_id=consult, connection_device_id="3002",
                              call_variable3="refund agreed"))
    out = w.req(1, M.TransferCallReq(invoke_id=8, active_call_id=consult, active_connection_device_id="3001",
                                     held_call_id=cid, held_connection_device_id="3001", call_variable4="ticket 7",
                                     named_variables=(NamedVariable(name="user.case", value="7"),)))
    [begin] = [m for m in only(out, 2, MT.BEGIN_CALL_EVENT) if m.call_id == cid]
    assert (begin.call_variable1, begin.call_variable2, begin.call_variable3, begin.call_variable4) == (
        "C-42", "platinum", "refund agreed", "ticket 7")
    assert begin.named_variables == (NamedVariable(name="user.case", value="7"),)
    [upd] = [m for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT) if m.call_variable4 is not None]
    assert (upd.call_id, upd.call_variable1, upd.call_variable2, upd.call_variable3, upd.call_variable4) == (
        cid, None, "platinum", "refund agreed", "ticket 7")  # only what changed (§5.4)
    assert upd.named_variables == (NamedVariable(name="user.case", value="7"),)
    assert not [m for m in only(out, 2, MT.CALL_DATA_UPDATE_EVENT) if m.call_variable2]  # its BEGIN_CALL had it
    snap = w.req(2, M.SnapshotCallReq(invoke_id=9, call_id=cid, connection_device_id="3002"))[0].message
    assert (snap.call_variable2, snap.call_variable3, snap.call_variable4) == ("platinum", "refund agreed", "ticket 7")


def test_a_conference_keeps_the_consultations_data_and_the_requests_own(w):
    """As a transfer: the conferencing agent, who knew the call, gets the CALL_DATA_UPDATE_EVENT; the
    conferenced agent's BEGIN_CALL carries all of it."""
    cid, consult = _consulted(w, call_variable2="platinum")
    out = w.req(1, M.ConferenceCallReq(invoke_id=8, held_call_id=cid, active_call_id=consult,
                                       held_connection_device_id="3001", active_connection_device_id="3001",
                                       agent_instrument="3001", call_wrapup_data="conferenced"))
    for sid in (1, 9):
        [upd] = [m for m in only(out, sid, MT.CALL_DATA_UPDATE_EVENT) if m.call_wrapup_data is not None]
        assert (upd.call_id, upd.call_variable2, upd.call_wrapup_data) == (cid, "platinum", "conferenced")
    [begin] = [m for m in only(out, 2, MT.BEGIN_CALL_EVENT) if m.call_id == cid]
    assert (begin.call_variable1, begin.call_variable2, begin.call_wrapup_data) == ("C-42", "platinum", "conferenced")


def test_a_single_step_transfer_keeps_the_requests_data(w):
    cid = answered(w)
    out = w.req(1, M.TransferCallReq(invoke_id=8, active_call_id=cid, active_connection_device_id="3001",
                                     held_call_id=0xFFFFFFFF, held_connection_device_type=0xFFFF,
                                     dialed_number="3002", call_variable5="from 1001"))
    [begin] = only(out, 2, MT.BEGIN_CALL_EVENT)
    assert begin.call_variable5 == "from 1001"
    [upd] = [m for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT) if m.call_variable5 is not None]
    assert upd.call_variable5 == "from 1001"


def test_make_call_keeps_its_user_to_user_info(w):
    """MAKE_CALL_REQ's UserToUserInfo (§5.3) is the new call's, as its call variables are (it was dropped)."""
    w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_NOT_READY))
    out = w.req(1, M.MakeCallReq(invoke_id=5, agent_instrument="3001", dialed_number="3002",
                                 user_to_user_info=b"crm:42", call_variable1="C-42"))
    [delivered] = only(out, 2, MT.CALL_DELIVERED_EVENT)
    assert (delivered.user_to_user_info, delivered.call_variable1) == (b"crm:42", "C-42")


def _eight(prefix):
    """Eight named variables of 189 bytes each (1,512 bytes: one request may carry them)."""
    return tuple(NamedVariable(name=f"user.{prefix}{j}", value="x" * 180) for j in range(8))


def test_named_data_a_call_event_cannot_carry_is_refused(w):
    """A call's named variables and arrays, all carried by its BEGIN_CALL, CALL_DELIVERED and SNAPSHOT_CALL,
    may be at most 2,000 bytes in one message (reference §1). Two SET_CALL_DATA_REQs of 1,512 bytes each were
    both confirmed, and then no SNAPSHOT_CALL_CONF, no consulted agent's BEGIN_CALL could be encoded (over TCP:
    SNAPSHOT_CALL_REQ unanswered, a 'cannot encode' fault). The request that would grow the call's data past
    2,000 bytes is refused E_CTI_INVALID_FIELD_LENGTH, as one carrying more is, and changes nothing."""
    cid = answered(w)
    w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001", named_variables=_eight("a")))
    out = w.req(1, M.SetCallDataReq(invoke_id=5, call_id=cid, connection_device_id="3001", call_variable1="lost",
                                    named_variables=_eight("b")))
    [d] = out
    assert d.message.TYPE is MT.FAILURE_CONF and d.message.status == S.E_CTI_INVALID_FIELD_LENGTH
    assert "3024 bytes" in d.message.text and "2000" in d.message.text
    # replacing variables the call has is not growing it: accepted
    out = w.req(1, M.SetCallDataReq(invoke_id=6, call_id=cid, connection_device_id="3001", named_variables=_eight("a")))
    assert only(out, 1, MT.SET_CALL_DATA_CONF)
    snap = w.req(1, M.SnapshotCallReq(invoke_id=7, call_id=cid, connection_device_id="3001"))[0].message
    assert snap.TYPE is MT.SNAPSHOT_CALL_CONF and snap.named_variables == _eight("a") and snap.call_variable1 is None
    # a consultation's own named data over the call's: the same limit, refused before the call is held
    out = w.req(1, M.ConsultCallReq(invoke_id=8, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002", named_variables=_eight("c")))
    assert [d.message.TYPE for d in out] == [MT.FAILURE_CONF]
    assert out[0].message.status == S.E_CTI_INVALID_FIELD_LENGTH
    assert w.c.calls[cid].leg_of("1001").state.name == "LCS_CONNECT"
    out = w.req(1, M.ConsultCallReq(invoke_id=9, active_call_id=cid, active_connection_device_id="3001",
                                    consult_type=1, dialed_number="3002"))
    assert only(out, 2, MT.BEGIN_CALL_EVENT)[0].named_variables == _eight("a")


@pytest.mark.parametrize("number", ["+33 1 23 45 67 89", "(555) 123-4567", "alice", "12ab", "+"])
def test_a_number_no_phone_can_dial_is_refused(w, number):
    """MAKE_CALL_REQ, CONSULT_CALL_REQ and single-step TRANSFER / CONFERENCE to a DialedNumber that is no
    number (spaces, letters, punctuation: a CRM's formatted number sent as is) were answered by a made-up
    external party that picked up; Unified CM rejects such a call: CONTROL_FAILURE_CONF
    CF_INVALID_CALLED_DEVICE / CCX_INVALID_ARGUMENT, and nothing changes."""
    w.req(1, M.SetAgentStateReq(invoke_id=4, agent_state=AS.AGENT_STATE_NOT_READY))
    [d] = w.req(1, M.MakeCallReq(invoke_id=5, agent_instrument="3001", dialed_number=number))
    assert d.message.TYPE is MT.CONTROL_FAILURE_CONF
    assert (d.message.failure_code, d.message.ccx_error_code) == (
        ControlFailureCode.CF_INVALID_CALLED_DEVICE, CCXErrorCode.CCX_INVALID_ARGUMENT)
    assert repr(number) in d.message.text and not w.c.calls
    w.req(1, M.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_READY))
    cid = answered(w)
    for req in (M.ConsultCallReq(invoke_id=7, active_call_id=cid, active_connection_device_id="3001",
                                 consult_type=1, dialed_number=number),
                M.TransferCallReq(invoke_id=8, active_call_id=cid, active_connection_device_id="3001",
                                  held_call_id=0xFFFFFFFF, dialed_number=number),
                M.ConferenceCallReq(invoke_id=9, active_call_id=cid, active_connection_device_id="3001",
                                    held_call_id=0xFFFFFFFF, dialed_number=number)):
        [d] = w.req(1, req)
        assert d.message.TYPE is MT.CONTROL_FAILURE_CONF, req
        assert d.message.failure_code == ControlFailureCode.CF_INVALID_CALLED_DEVICE
    assert list(w.c.calls) == [cid] and len(w.c.calls[cid].legs) == 2
    assert w.c.calls[cid].leg_of("1001").state.name == "LCS_CONNECT"


def test_numbers_and_agent_phones_are_dialled():
    """Digits, * and #, a leading + reach an external party; an agent's phone is dialled by its extension,
    whatever characters the center file gave it."""
    from mockcti.center import CenterConfig
    w = World(CenterConfig.from_mapping({"agents": [{"id": "1", "extension": "ops-1", "password": "p"},
                                                    {"id": "2", "extension": "ops-2", "password": "p"}]}))
    w.open(agent_sub(1, "1"))
    w.open(agent_sub(2, "2"))
    w.req(1, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="p", agent_id="1"))
    for number in ("+33123456789", "*67#0611", "ops-2"):
        out = w.req(1, M.MakeCallReq(invoke_id=2, agent_instrument="ops-1", dialed_number=number))
        [conf] = only(out, 1, MT.MAKE_CALL_CONF)
        w.req(1, M.ClearCallReq(invoke_id=3, call_id=conf.new_call_id, connection_device_id="ops-1"))


# -- named variables and arrays given with an injected call (deliver_call, preset calls) ----------------

ECC = {"user.customer.id": "C-42", "user.tier": "gold"}
ECC_ARRAYS = {"user.items": ["router", None, "modem"]}
ECC_WIRE = (NamedVariable(name="user.customer.id", value="C-42"), NamedVariable(name="user.tier", value="gold"))
ECC_ARRAYS_WIRE = (NamedArray(index=0, name="user.items", value="router"),
                   NamedArray(index=2, name="user.items", value="modem"))


def test_an_injected_calls_named_data_reaches_begin_call_delivered_and_the_snapshot(w):
    """deliver_call took ANI, DNIS and CallVariable1..10 only: a CRM connector popping the customer from
    an ECC variable (NamedVariable tag 82, NamedArray tag 83) could not be tested. The agent's and the
    bridge's BEGIN_CALL_EVENT, the CALL_DELIVERED_EVENT and SNAPSHOT_CALL_CONF carry them (World checks
    every message encodes and decodes back equal at v14 and v18); None leaves an array index unset."""
    cid, out = w.inbound(agent_id="1001", named_variables=ECC, named_arrays=ECC_ARRAYS)
    for sid in (1, 9):
        [begin] = only(out, sid, MT.BEGIN_CALL_EVENT)
        # the bridge's also at the route point (§7.2): every CALL_DELIVERED_EVENT of the call carries them
        delivered = only(out, sid, MT.CALL_DELIVERED_EVENT)
        assert [d.alerting_device_id for d in delivered] == (["3001"] if sid == 1 else ["7000", "3001"])
        for dl in delivered:
            assert begin.named_variables == dl.named_variables == ECC_WIRE
            assert begin.named_arrays == dl.named_arrays == ECC_ARRAYS_WIRE
    snap = w.req(1, M.SnapshotCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))[0].message
    assert (snap.named_variables, snap.named_arrays) == (ECC_WIRE, ECC_ARRAYS_WIRE)


def test_named_data_at_the_limits_is_carried_and_a_byte_more_is_refused_naming_it():
    from mockcti.center.config import CallDataError, named_call_data
    from mockcti.wire import Dialect, decode_bytes, encode

    # 8 x (32-byte name + NUL + 210-byte value + NUL) + ("x" NUL + 45 bytes NUL) = 1952 + 48 = 2,000 bytes
    full = {f"user.{i}".ljust(32, "n"): "é" * 105 for i in range(8)}
    named, arrays = named_call_data({**full, "x": "v" * 45}, {})
    msg = M.SnapshotCallConf(invoke_id=1, call_type=1, called_party_disposition=0, named_variables=named)
    dia = Dialect.uccx(18)
    assert decode_bytes(encode(msg, dia), dia).named_variables == named and arrays == ()
    with pytest.raises(CallDataError) as info:
        named_call_data({**full, "x": "v" * 46}, {})
    assert info.value.path == ("named_variables", "x") and info.value.field == 'named_variables.x'
    assert "reach 2001 bytes here; a call event carries at most 2000" in str(info.value)
    with pytest.raises(CallDataError) as info:  # the arrays count with the variables
        named_call_data({**full, "x": "v" * 30}, {"user.items": ["a", "b"]})  # 1984 + 14 + 14 bytes
    assert info.value.path == ("named_arrays", "user.items", 1)


@pytest.mark.parametrize("named_variables, named_arrays, path, needle", [
    ({"u" * 33: "1"}, None, ("named_variables", "u" * 33), "is 33 bytes; a call event carries at most 32"),
    ({"é" * 17: "1"}, None, ("named_variables", "é" * 17), "is 34 bytes"),
    ({"": "1"}, None, ("named_variables", ""), "has an empty name"),
    ({"user.id": "v" * 211}, None, ("named_variables", "user.id"), "is 211 bytes; a call event carries at most 210"),
    ({"user.id": 42}, None, ("named_variables", "user.id"), "must be text, got an integer"),
    ({"user.id": "a\x00b"}, None, ("named_variables", "user.id"), "holds a NUL character"),
    ({"user.id": "\ud800"}, None, ("named_variables", "user.id"), "lone UTF-16 surrogate"),
    (["user.id"], None, ("named_variables",), "must be a mapping of names to a value, got a list"),
    (None, {"user.items": "router"}, ("named_arrays", "user.items"), "must be a list of its values"),
    (None, {"user.items": ["a", 7]}, ("named_arrays", "user.items", 1), "element 1 of named array 'user.items' "
                                                                       "must be text"),
    (None, {"user.items": ["x"] * 257}, ("named_arrays", "user.items"), "has 257 elements; VariableIndex is one byte"),
    (None, {"user.items": [None, "v" * 211]}, ("named_arrays", "user.items", 1), "is 211 bytes"),
])
def test_named_data_no_call_event_can_carry_is_refused_naming_it_and_makes_no_call(w, named_variables, named_arrays,
                                                                                    path, needle):
    from mockcti.center.config import CallDataError
    from mockcti.located import fmt_path

    before = dict(w.c.calls)
    with pytest.raises(CallDataError) as info:
        w.c.deliver_call(w.t, csq="Sales", named_variables=named_variables, named_arrays=named_arrays)
    assert info.value.path == path and info.value.field == fmt_path(path)
    assert needle in str(info.value)
    assert w.c.calls == before and not any(w.c.queues.values())


def test_a_preset_calls_named_data_is_the_calls(tmp_path):
    """A center file's preset call takes named_variables and named_arrays (a number is text, as for
    its other strings); SNAPSHOT_CALL_CONF of the call carries them. A bad one is file:line: key."""
    from mockcti.center import ContactCenter
    from mockcti.center.config import CenterConfigError, load_center_file

    from center_world import World

    p = tmp_path / "center.yaml"
    p.write_text("agents: [{id: '1001', extension: '3001'}]\n"
                 "calls:\n"
                 "  - agent: '1001'\n"
                 "    named_variables: {user.customer.id: C-42, user.tier: gold}\n"
                 "    named_arrays: {user.items: [router, null, modem], user.n: [7]}\n")
    w = World(load_center_file(p))
    w.open(agent_sub(1, "1001"))
    [cid] = w.c.preset_call_ids
    snap = w.req(1, M.SnapshotCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))[0].message
    assert snap.named_variables == ECC_WIRE
    assert snap.named_arrays == (*ECC_ARRAYS_WIRE, NamedArray(index=0, name="user.n", value="7"))
    p.write_text("agents: [{id: '1001', extension: '3001'}]\n"
                 "calls:\n"
                 "  - agent: '1001'\n"
                 "    named_arrays:\n"
                 "      user.items: [router, '" + "v" * 211 + "']\n")
    with pytest.raises(CenterConfigError) as info:
        load_center_file(p)
    assert (info.value.line, info.value.key_path) == (5, 'calls[0].named_arrays["user.items"][1]')
    assert str(info.value).startswith(f"{p}:5: calls[0].named_arrays[\"user.items\"][1]: element 1 of named array "
                                      "'user.items' is 211 bytes; a call event carries at most 210")
    assert ContactCenter  # (imported for the reader: ContactCenter(load_center_file(p)) is what serve does)


def test_every_bad_field_of_a_preset_call_is_its_own_located_error(tmp_path):
    """A preset call's caller data was refused at its first bad field: fix it, rerun, see the next."""
    from mockcti.center.config import CenterConfigError, load_center_file

    p = tmp_path / "center.yaml"
    p.write_text("agents: [{id: '1001', extension: '3001'}]\n"
                 "calls:\n"
                 "  - agent: '1001'\n"
                 "    ani: '" + "9" * 40 + "'\n"
                 "    variables: {call_variable11: x}\n"
                 "    named_variables: {user.a: '" + "a" * 211 + "', user.b: ok}\n"
                 "    named_arrays: {user.items: [router, '" + "v" * 211 + "']}\n")
    with pytest.raises(CenterConfigError) as info:
        load_center_file(p)
    assert [(e.line, e.key_path, e.reason.split(";")[0]) for e in info.value.errors] == [
        (4, "calls[0].ani", "ani is 40 bytes"),
        (5, "calls[0].variables.call_variable11", "unknown call variable 'call_variable11'"),
        (6, 'calls[0].named_variables["user.a"]', "named variable 'user.a' is 211 bytes"),
        (7, 'calls[0].named_arrays["user.items"][1]', "element 1 of named array 'user.items' is 211 bytes")]


def test_a_preset_calls_named_array_of_a_number_is_named_a_number(tmp_path):
    """``user.items: 5`` was "must be a list of its values ..., got text" (the 5 made text first)."""
    from mockcti.center.config import CenterConfigError, load_center_file

    p = tmp_path / "center.yaml"
    p.write_text("agents: [{id: '1001', extension: '3001'}]\ncalls:\n  - agent: '1001'\n"
                 "    named_arrays: {user.items: 5}\n    named_variables: {user.v: [7]}\n")
    with pytest.raises(CenterConfigError) as info:
        load_center_file(p)
    assert [(e.line, e.key_path, e.reason.rpartition(", got ")[2]) for e in info.value.errors] == [
        (4, 'calls[0].named_arrays["user.items"]', "an integer"),
        (5, 'calls[0].named_variables["user.v"]', "a list")]


def test_set_call_data_gives_the_call_its_call_type_every_session_hears_it_and_later_events_carry_it():
    """SET_CALL_DATA_REQ's CallType (fixed part, §5.3; §6.17 lists SET_CALL_DATA among the messages carrying
    one) was never read: a desktop classifying a call (PREVIEW 17, say) was confirmed and nobody heard of it,
    the call's later events had the old type. With ``set_call_data_call_type = "apply"`` (the default; U) a
    CallType other than 0 becomes the call's: one CALL_DATA_UPDATE_EVENT with it (and what else the request
    changed) to every session that sees the call's events, the consulted agent's BEGIN_CALL carries it, and
    SNAPSHOT_CALL_CONF too under ucce (under uccx its CallType is 0, its page: "set to 0"). 0 (CALLTYPE_INVALID,
    what a request with no type to set carries) and the type the call has change nothing. A transfer, which
    the center classifies (TRANSFER_IN), replaces it. Call control still reads the center's own type."""
    from mockcti.wire.dialect import UCCE
    from mockcti.wire.enums import CallType as CT
    for profile in (None, UCCE):
        w = two_desktops_and_a_bridge(profile=profile)
        w.login_ready(1, "1001")
        w.login_ready(2, "1002", ready=False)
        cid = answered(w)
        out = w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001",
                                        call_type=CT.CALLTYPE_PREVIEW, call_variable1="C-42"))
        assert only(out, 1, MT.SET_CALL_DATA_CONF)
        for sid in (1, 9):
            [upd] = only(out, sid, MT.CALL_DATA_UPDATE_EVENT)
            assert (upd.call_type, upd.call_variable1) == (CT.CALLTYPE_PREVIEW, "C-42")
        assert not only(out, 2, MT.CALL_DATA_UPDATE_EVENT)  # (1002 does not see the call)
        for call_type in (0, CT.CALLTYPE_PREVIEW):  # nothing to set / the type it has: no event
            out = w.req(1, M.SetCallDataReq(invoke_id=5, call_id=cid, connection_device_id="3001", call_type=call_type))
            assert [d.message.TYPE for d in out] == [MT.SET_CALL_DATA_CONF]
        snap = w.req(1, M.SnapshotCallReq(invoke_id=6, call_id=cid, connection_device_id="3001"))[0].message
        assert snap.call_type == (CT.CALLTYPE_PREVIEW if profile is not None else 0)
        out = w.req(1, M.ConsultCallReq(invoke_id=7, active_call_id=cid, active_connection_device_id="3001",
                                        consult_type=1, dialed_number="3002"))
        consult = only(out, 1, MT.CONSULT_CALL_CONF)[0].new_call_id
        w.req(2, M.AnswerCallReq(invoke_id=8, call_id=consult, connection_device_id="3002"))
        # the consultation, re-typed by a desktop, is still one: the transfer completes
        w.req(1, M.SetCallDataReq(invoke_id=9, call_id=consult, connection_device_id="3001",
                                  call_type=CT.CALLTYPE_OTHER_IN))
        out = w.req(1, M.TransferCallReq(invoke_id=10, active_call_id=consult, active_connection_device_id="3001",
                                         held_call_id=cid, held_connection_device_id="3001"))
        assert only(out, 1, MT.TRANSFER_CALL_CONF)
        [begin] = [m for m in only(out, 2, MT.BEGIN_CALL_EVENT) if m.call_id == cid]
        assert begin.call_type == CT.CALLTYPE_PREVIEW  # what the call was when 1002 first heard of it
        # the transferred ACD call is TRANSFER_IN (§6.17): the center's classification replaces the desktop's
        upd = [m for m in only(out, 9, MT.CALL_DATA_UPDATE_EVENT) if m.call_id == cid]
        assert upd[-1].call_type == CT.CALLTYPE_TRANSFER_IN and w.c.calls[cid].shown_type is CT.CALLTYPE_TRANSFER_IN


@pytest.mark.parametrize("call_type", [2, 22, 99])
def test_a_set_call_data_call_type_the_profile_does_not_name_is_refused_and_changes_nothing(call_type):
    """§6.17: UCCX lists 2-3, 5, 7-8, 13-14, 16, 22, 25-26 as reserved (ICM's names), and no CallType is 99. Such a
    SET_CALL_DATA_REQ CallType is refused FAILURE_CONF before the request changes anything — UCCX's
    E_CTI_UNSPECIFIED_FAILURE (it lists ICM's E_CTI_INVALID_CALL_TYPE, 34, as reserved), 34 under ucce, where
    only 99 is not an ICM call type. ``set_call_data_call_type = "ignore"`` does not read the field."""
    import dataclasses

    from mockcti.center import default_center
    from mockcti.wire.dialect import UCCE
    for profile in (None, UCCE):
        w = two_desktops_and_a_bridge(profile=profile)
        w.login_ready(1, "1001")
        cid = answered(w)
        out = w.req(1, M.SetCallDataReq(invoke_id=4, call_id=cid, connection_device_id="3001", call_type=call_type,
                                        call_variable1="lost"))
        if profile is not None and call_type != 99:
            assert only(out, 9, MT.CALL_DATA_UPDATE_EVENT)[0].call_type == call_type
            continue
        [d] = out
        assert d.message.TYPE is MT.FAILURE_CONF and d.message.invoke_id == 4
        assert d.message.status == (S.E_CTI_INVALID_CALL_TYPE if profile is not None else S.E_CTI_UNSPECIFIED_FAILURE)
        assert d.message.text == f"CallType {call_type} is not a call type Unified {'CCE' if profile else 'CCX'} defines"
        assert w.c.calls[cid].variables.get("call_variable1") is None
    w = two_desktops_and_a_bridge(dataclasses.replace(default_center(), set_call_data_call_type="ignore"))
    w.login_ready(1, "1001")
    cid = answered(w)
    for value in (call_type, 17):
        out = w.req(1, M.SetCallDataReq(invoke_id=5, call_id=cid, connection_device_id="3001", call_type=value))
        assert [d.message.TYPE for d in out] == [MT.SET_CALL_DATA_CONF]
