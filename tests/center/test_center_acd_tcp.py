"""ACD rule violations end to end over TCP: for every operation with a UCCX request, a request
that breaks a rule gets CONTROL_FAILURE_CONF on the wire, the center does not change, and the
violation (rule, ACD state, seed-000 code and name) is in the journal and in the JUnit report."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest
import pytest_asyncio

from mockcti import catalog
from mockcti.acd import CHECKS
from mockcti.center import CenterConfig, ContactCenter, default_center
from mockcti.client import CTIClient, RequestFailed
from mockcti.report import build_summary, junit_xml, terminal_table
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode, ReasonCode

pytestmark = pytest.mark.asyncio
CODE_NAME = {c.rule_id: c.code_name for c in CHECKS}


async def start(**center_kw):
    d = default_center()
    cfg = CenterConfig(agents=d.agents, csqs=d.csqs, **center_kw)
    return await MockServer(ContactCenter(cfg), config=ServerConfig(host="127.0.0.1", port=0)).start()


@pytest_asyncio.fixture
async def env():
    servers, clients = [], []

    async def make(**center_kw):
        server = await start(**center_kw)
        servers.append(server)
        a = await CTIClient.connect(server.host, server.port, version=14)
        await a.open_agent(agent_id="1001", heartbeat=0, client_id="desk1")
        b = await CTIClient.connect(server.host, server.port, version=14)
        await b.open_agent(agent_id="1002", heartbeat=0, client_id="desk2")
        clients.extend([a, b])
        for c in (a, b):
            await c.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        await a.set_agent_state(AS.AGENT_STATE_READY)
        return server, a, b

    yield make
    for c in clients:
        await c.close()
    for s in servers:
        await s.stop()


def inbound(server, agent="1001"):
    def go(hub, now):
        call_id, deliveries = hub.center.deliver_call(now, agent_id=agent, ani="0612345678")
        hub.deliver(deliveries)
        return call_id
    return server.call(go)


async def answered(server, a):
    cid = inbound(server)
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    await a.request(M.AnswerCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    return cid


async def consult_ringing(server, a, b):
    """Original call held, consultation call ringing at 1002: the ACD state Originated."""
    cid = await answered(server, a)
    conf = await a.request(M.ConsultCallReq(invoke_id=0, active_call_id=cid, active_connection_device_id="3001",
                                            consult_type=1, dialed_number="3002"))
    await b.next_event(MT.CALL_DELIVERED_EVENT)
    return cid, conf.new_call_id


async def refused(client, req):
    with pytest.raises(RequestFailed) as exc:
        await client.request(req)
    return exc.value.reply


def assert_violation(server, reply, rule, state, operation):
    assert reply.TYPE is MT.CONTROL_FAILURE_CONF
    assert reply.failure_code == ControlFailureCode.CF_INVALID_OBJECT_STATE or operation == "MakeCall"
    assert reply.text.startswith(CODE_NAME[rule])
    [v] = [e for e in server.journal.violations() if e.data["rule"] == rule]
    assert (v.data["acd_state"], v.data["operation"], v.data["code_name"]) == (state, operation, CODE_NAME[rule])
    if rule.split("-")[1].isdigit():
        assert v.data["code"] == int(rule.split("-")[1])
    return v


async def test_hold_retrieve_answer_makecall(env):
    server, a, b = await env()
    cid = await answered(server, a)
    reply = await refused(a, M.RetrieveCallReq(invoke_id=0, held_call_id=cid, held_connection_device_id="3001"))
    assert reply.ccx_error_code == CCXErrorCode.CCX_JTAPI_CCM_PROBLEM
    assert_violation(server, reply, "ACD-1132", "Line1Connected", "Retrieve")
    reply = await refused(a, M.AnswerCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1175", "Line1Connected", "Answer")
    await a.request(M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    reply = await refused(a, M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1128", "Line1Held", "Hold")
    reply = await refused(a, M.MakeCallReq(invoke_id=0, agent_instrument="3001", dialed_number="0611111111"))
    assert reply.failure_code == ControlFailureCode.CF_INVALID_CALLED_DEVICE
    assert_violation(server, reply, "ACD-MAKECALL-BUSY", "Line1Held", "MakeCall")
    # nothing changed: the call is still held and can be retrieved
    await a.request(M.RetrieveCallReq(invoke_id=0, held_call_id=cid, held_connection_device_id="3001"))


async def test_consult_conference_transfer_alternate_reconnect(env):
    server, a, b = await env()
    cid, consult = await consult_ringing(server, a, b)
    reply = await refused(a, M.ConferenceCallReq(invoke_id=0, held_call_id=cid, active_call_id=consult,
                                                 held_connection_device_id="3001", active_connection_device_id="3001",
                                                 agent_instrument="3001"))
    assert_violation(server, reply, "ACD-1133", "Originated", "Conference")
    reply = await refused(a, M.TransferCallReq(invoke_id=0, held_call_id=cid, active_call_id=consult,
                                               held_connection_device_id="3001", active_connection_device_id="3001",
                                                 agent_instrument="3001"))
    assert_violation(server, reply, "ACD-1156", "Originated", "Transfer")
    reply = await refused(a, M.AlternateCallReq(invoke_id=0, active_call_id=consult, other_call_id=cid,
                                                active_connection_device_id="3001", other_connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1152", "Originated", "Alternate")
    # (ReConnect is allowed here: cancelling a consultation that still rings, see the next test)
    # 1002 consults while its phone rings: Delivered is not a Consult state
    reply = await refused(b, M.ConsultCallReq(invoke_id=0, active_call_id=consult, active_connection_device_id="3002",
                                              consult_type=1, dialed_number="3003"))
    assert_violation(server, reply, "ACD-1148", "Delivered", "Consult")
    # once 1002 answers, the UCCX flow goes through (Line2Connected, UCCX adaptation)
    await b.request(M.AnswerCallReq(invoke_id=0, call_id=consult, connection_device_id="3002"))
    await a.next_event(MT.CALL_ESTABLISHED_EVENT, where=lambda e: e.call_id == consult)
    conf = await a.request(M.ConferenceCallReq(invoke_id=0, held_call_id=cid, active_call_id=consult,
                                               held_connection_device_id="3001", active_connection_device_id="3001",
                                                 agent_instrument="3001"))
    assert conf.TYPE is MT.CONFERENCE_CALL_CONF


@pytest.mark.parametrize("how", ["reconnect", "clear"])
async def test_cancelling_a_ringing_consultation(env, how):
    """The consulting agent gives up before 1002 answers (UCCX adaptation of ACD-1146: Originated):
    the consultation ends, the original call is retrieved, and 1002 (RESERVED for it, never talking)
    goes NOT_READY with AGT_CANCEL_CONSULT (reference §6.19: "consulted agent to Not Ready")."""
    server, a, b = await env()
    cid, consult = await consult_ringing(server, a, b)
    if how == "reconnect":
        conf = await a.request(M.ReconnectCallReq(invoke_id=0, held_call_id=cid, active_call_id=consult,
                                                  held_connection_device_id="3001", active_connection_device_id="3001",
                                                  agent_instrument="3001"))
        assert conf.TYPE is MT.RECONNECT_CALL_CONF
        await a.next_event(MT.CALL_RETRIEVED_EVENT, where=lambda e: e.call_id == cid)
    else:
        conf = await a.request(M.ClearConnectionReq(invoke_id=0, call_id=consult, connection_device_id="3001"))
        assert conf.TYPE is MT.CLEAR_CONNECTION_CONF
    await b.next_event(MT.END_CALL_EVENT, where=lambda e: e.call_id == consult)
    ev = await b.next_event(MT.AGENT_STATE_EVENT, where=lambda e: e.agent_state != AS.AGENT_STATE_RESERVED)
    assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, ReasonCode.AGT_CANCEL_CONSULT)
    assert not server.journal.violations()


async def test_clear_connection_and_clear_call_rules_from_configuration(env):
    # a center whose ACD refuses to decline a ringing call (Delivered removed from both allowed sets)
    allowed = ["Originated", "Line1Connected", "Line1Conferenced", "Line1Held", "Line2Connected",
               "Line2Conferenced", "Line2AllHeld", "Held", "Line3Conferenced"]
    server, a, b = await env(acd={"clear_connection_allowed": allowed,
                                  "allowed_states": {"ACD-1160": allowed}})
    cid = inbound(server)
    await a.next_event(MT.CALL_DELIVERED_EVENT)
    reply = await refused(a, M.ClearConnectionReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1159", "Delivered", "ClearConnection")
    reply = await refused(a, M.ClearCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1160", "Delivered", "ClearCall")


async def test_ctierr_mode_and_the_report(env):
    server, a, b = await env(acd_failure_mode="ctierr")
    cid = await answered(server, a)
    await a.request(M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    reply = await refused(a, M.HoldCallReq(invoke_id=77, call_id=cid, connection_device_id="3001"))
    assert reply.ccx_error_code == 0x8CCC000F and reply.text.startswith("CTIERR_HOLDFAILED: ACD_HOLD_BAD_STATE (1128)")
    summary = build_summary(server.journal)
    root = ET.fromstring(junit_xml(summary))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    hold = next(c for n, c in cases.items() if "ACD-1128" in n)
    failure = hold.find("failure")
    assert failure is not None and "1128" in (failure.get("message", "") + (failure.text or ""))
    # the seed-000 text of the code, from the catalog (the line ended "[code 1128 ACD_HOLD_BAD_STATE: ]")
    seed_text = catalog.default().lookup("cn_ngcc", 1128).description_en
    assert f"[code 1128 ACD_HOLD_BAD_STATE: {seed_text}]; answered CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE (22), " \
        f"CCXErrorCode CTIERR_HOLDFAILED (0x8CCC000F) [journal seq " in failure.text
    assert summary["violations"][0]["code_text"] == seed_text
    passed = next(c for n, c in cases.items() if "ACD-1132" in n)
    assert passed.find("failure") is None



async def test_ctierr_mode_names_its_code_in_the_journal_and_the_client_error(env):
    """The CTIERR code the ctierr mode sends in CCXErrorCode is named wherever a message is shown: the
    journal (trace, journal.jsonl, GET /journal) and RequestFailed, whose message names each code (it
    read "ccx_error_code 2362179599" and the journal "UNKNOWN(2362179599)")."""
    server, a, b = await env(acd_failure_mode="ctierr")
    cid = await answered(server, a)
    await a.request(M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    with pytest.raises(RequestFailed) as exc:
        await a.request(M.HoldCallReq(invoke_id=78, call_id=cid, connection_device_id="3001"))
    assert "ccx_error_code 2362179599 CTIERR_HOLDFAILED" in str(exc.value)
    (out,) = [e for e in server.journal.entries() if e.kind == "out"
              and e.data["message"]["type"] == "CONTROL_FAILURE_CONF" and e.data["message"]["fields"]["invoke_id"] == 78]
    assert out.data["message"]["names"]["ccx_error_code"] == "CTIERR_HOLDFAILED"

@pytest.mark.parametrize("choice, code", [("uccx", ControlFailureCode.CF_INVALID_OBJECT_STATE),
                                           ("icm", ControlFailureCode.CF_NO_ACTIVE_CALL)])
async def test_acd_rules_can_be_switched_off(env, choice, code):
    server, a, b = await env(acd_rules=False, control_failure_codes=choice)
    cid = await answered(server, a)
    await a.request(M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    reply = await refused(a, M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    # the center's own answer: no active call to hold (CF value per control_failure_codes), no ACD violation
    assert reply.failure_code == code
    assert not [v for v in server.journal.violations() if v.data["rule"].startswith("ACD-")]


async def test_a_code_cell_may_name_its_cn_ngcc_code(env):
    """A transitions cell gives its rejection code by name as a scenario names codes (any case): it was
    refused as "a next state" that "would have no effect", the message telling to give a cn_ngcc code."""
    server, a, b = await env(acd={"transitions": {"Line1Connected": {"Hold": "acd_hold_bad_state"}}})
    cid = await answered(server, a)
    reply = await refused(a, M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert reply.text == "ACD_HOLD_BAD_STATE (1128): Hold in Line1Connected: rejected by a configured transition cell."
    [v] = server.journal.violations()
    assert v.data["rule"] == "ACD-CELL-Line1Connected-Hold"


async def test_a_configured_code_cell_in_the_report(env):
    """A refusal by a code cell of the center's [acd] transitions: its detail says once what was refused
    (it read "Hold in Line1Connected: Hold in Line1Connected: rejected …"), and its JUnit case is in the
    ACD suite with the other ACD rules (it was filed under mockcti.other)."""
    server, a, b = await env(acd={"transitions": {"Line1Connected": {"Hold": 1128}}})
    cid = await answered(server, a)
    reply = await refused(a, M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
    assert reply.text == "ACD_HOLD_BAD_STATE (1128): Hold in Line1Connected: rejected by a configured transition cell."
    [v] = server.journal.violations()
    assert v.data["rule"] == "ACD-CELL-Line1Connected-Hold"
    assert v.data["detail"] == "Hold in Line1Connected: rejected by a configured transition cell."
    summary = build_summary(server.journal)
    assert "  ACD-CELL-Line1Connected-Hold      1  Hold in Line1Connected: rejected by a configured transition cell." \
        in terminal_table(summary).splitlines()
    root = ET.fromstring(junit_xml(summary))
    [case] = [c for c in root.iter("testcase") if c.get("name", "").startswith("ACD-CELL-")]
    assert case.get("classname") == "mockcti.acd"
    assert case.get("name") == "ACD-CELL-Line1Connected-Hold: Hold in Line1Connected (configured transition cell)"
    [suite] = [s for s in root.iter("testsuite") if case in list(s)]
    assert suite.get("name") == "mockcti.acd"
    assert not [s for s in root.iter("testsuite") if s.get("name") == "mockcti.other"]
    failure = case.find("failure")
    assert failure.get("message") == "1 violation(s): Hold in Line1Connected: rejected by a configured transition cell."
    assert "Hold in Line1Connected: rejected by a configured transition cell. [code 1128 ACD_HOLD_BAD_STATE: " \
        in failure.text
    # a rule of the table says the operation and the state once too (it read "Retrieve in Line1Connected:
    # Retrieve: the ACD state must be …")
    await refused(a, M.RetrieveCallReq(invoke_id=0, held_call_id=cid, held_connection_device_id="3001"))
    v = next(e for e in server.journal.violations() if e.data["rule"] == "ACD-1132")
    assert v.data["detail"] == "Retrieve in Line1Connected: the ACD state must be Line1Held or Line2AllHeld."



async def test_one_call_named_as_held_and_active_is_an_acd_violation(env):
    """A desktop that transfers (conferences, alternates, reconnects) without a consultation names its one call as
    both the held and the active call: the ACD rules refuse it (line equal to dest: 1153, 1150, 1144; Conference in
    Line1Connected: 1133) and the report fails on it — the center refused it with no violation, so a run passed."""
    server, a, b = await env()
    cid = await answered(server, a)
    two = dict(held_call_id=cid, active_call_id=cid, held_connection_device_id="3001",
               active_connection_device_id="3001", agent_instrument="3001")
    reply = await refused(a, M.TransferCallReq(invoke_id=0, **two))
    assert reply.text.startswith("ACD_TRANSFER_PARAM_INVALID (1153): ")
    assert_violation(server, reply, "ACD-1153", "Line1Connected", "Transfer")
    reply = await refused(a, M.ConferenceCallReq(invoke_id=0, **two))
    assert_violation(server, reply, "ACD-1133", "Line1Connected", "Conference")
    reply = await refused(a, M.ReconnectCallReq(invoke_id=0, **two))
    assert_violation(server, reply, "ACD-1144", "Line1Connected", "ReConnect")
    reply = await refused(a, M.AlternateCallReq(invoke_id=0, active_call_id=cid, other_call_id=cid,
                                                active_connection_device_id="3001", other_connection_device_id="3001"))
    assert_violation(server, reply, "ACD-1150", "Line1Connected", "Alternate")
    root = ET.fromstring(junit_xml(build_summary(server.journal)))
    failed = {c.get("name").split(":")[0] for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"ACD-1153", "ACD-1133", "ACD-1144", "ACD-1150"}
    # nothing changed: the call is still connected and can be held
    await a.request(M.HoldCallReq(invoke_id=0, call_id=cid, connection_device_id="3001"))
