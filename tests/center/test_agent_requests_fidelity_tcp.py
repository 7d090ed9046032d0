"""Agent-state requests over TCP, checked against what the UCCX guide says a request must carry and
what a client then receives (reference §5.2, §7.1)."""

from __future__ import annotations

import asyncio

import pytest

from tcp_world import server  # noqa: F401 - tests/support, on the path: the fixture

from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import StatusCode as S

pytestmark = pytest.mark.asyncio


def _login(**kw) -> M.SetAgentStateReq:
    return M.SetAgentStateReq(invoke_id=0, agent_state=int(AS.AGENT_STATE_LOGIN), **kw)


@pytest.mark.parametrize("fields, missing", [
    (dict(agent_instrument="3001", agent_password="1234"), "AgentID"),
    (dict(agent_instrument="3001", agent_id="1001"), "AgentPassword"),
    (dict(agent_instrument="3001"), "AgentID and AgentPassword"),
    (dict(agent_instrument="unknown", agent_id="1001", forced_flag=2), "AgentPassword"),
])
async def test_a_login_without_agent_id_or_password_is_required_data_missing(server, fields, missing):
    """SET_AGENT_STATE_REQ marks AgentID and AgentPassword "required when AgentState = LOGIN" (§5.2), and a
    required floating field missing is FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (§7.1). The desktop's LOGIN
    without AgentID logged the session's agent in, one without AgentPassword got CONTROL_FAILURE_CONF "wrong
    password" — a code that sends the desktop to ask the agent for the password again."""
    desk = await server.connect()
    await desk.open_agent(agent_id="1001", instrument="3001", client_id="desk", heartbeat=0)
    bridge = await server.connect()
    await bridge.open_bridge(client_id="wallboard", heartbeat=0)
    reply = await desk.request(_login(**fields), check=False)
    assert reply.TYPE is MT.FAILURE_CONF and reply.status == S.E_CTI_REQUIRED_DATA_MISSING
    assert reply.text.endswith(f"without {missing}: required when AgentState is LOGIN")
    state = await bridge.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"))
    assert state.agent_state == AS.AGENT_STATE_LOGOUT
    await asyncio.sleep(0.05)
    assert not [e for c in (desk, bridge) for e in c.drain_events() if e.TYPE is MT.AGENT_STATE_EVENT]
    # with both, the same desktop logs in: NOT_READY, AGT_LOGON, to the desktop and the wallboard
    assert (await desk.request(_login(agent_instrument="3001", agent_id="1001", agent_password="1234"))).TYPE \
        is MT.SET_AGENT_STATE_CONF
    for c in (desk, bridge):
        ev = await c.next_event(MT.AGENT_STATE_EVENT)
        assert (ev.agent_id, ev.agent_state, ev.event_reason_code) == ("1001", AS.AGENT_STATE_NOT_READY, 32760)


async def test_a_query_agent_state_naming_no_agent_is_required_data_missing_in_agent_mode_too(server):
    """QUERY_AGENT_STATE_REQ: "at least one of the three [AgentExtension, AgentInstrument, AgentID] must be
    present" (§5.2), a required field missing being E_CTI_REQUIRED_DATA_MISSING (§7.1). A bridge got that; an
    agent desktop naming none was answered its own agent's state, so a desktop that drops the identity from its
    query passed against the mock and is refused by Unified CCX. Naming its agent by any one of the three is
    answered as before."""
    desk = await server.connect()
    await desk.open_agent(agent_id="1001", instrument="3001", client_id="desk", heartbeat=0)
    reply = await desk.request(M.QueryAgentStateReq(invoke_id=0), check=False)
    assert reply.TYPE is MT.FAILURE_CONF and reply.status == S.E_CTI_REQUIRED_DATA_MISSING
    assert "AgentExtension, AgentInstrument or AgentID" in reply.text
    for named in (dict(agent_id="1001"), dict(agent_instrument="3001"), dict(agent_extension="3001")):
        conf = await desk.request(M.QueryAgentStateReq(invoke_id=0, **named))
        assert (conf.TYPE, conf.agent_id, conf.agent_state) == (MT.QUERY_AGENT_STATE_CONF, "1001", AS.AGENT_STATE_LOGOUT)


async def test_a_request_refused_for_missing_agent_data_is_a_required_field_violation_in_the_report(server):
    """The decoder's refusal of a missing required field is journalled PROTO-REQUIRED-FIELD, the rule a client's
    test report lists; the refusals the center makes for the same fault — a LOGIN without AgentID/AgentPassword,
    a QUERY_AGENT_STATE_REQ naming none of its three identity fields, a bridge's SET_AGENT_STATE_REQ naming no
    agent (no AgentID, an empty AgentInstrument) — were journalled as nothing, so the client's run reported no violation for them. Each is one PROTO-REQUIRED-FIELD now, naming the
    request, the client's answer and what was missing."""
    from mockcti.report import build_summary, terminal_table

    desk = await server.connect()
    await desk.open_agent(agent_id="1001", instrument="3001", client_id="desk", heartbeat=0)
    bridge = await server.connect()
    await bridge.open_bridge(client_id="wallboard", heartbeat=0)
    await desk.request(_login(agent_instrument="3001", agent_password="1234"), check=False)
    await desk.request(M.QueryAgentStateReq(invoke_id=0), check=False)
    await bridge.request(M.SetAgentStateReq(invoke_id=0, agent_state=int(AS.AGENT_STATE_READY), agent_instrument=""),
                         check=False)
    found = [(e.data["rule"], e.data["request"], e.data["answer"], e.data["detail"])
             for e in server.journal.violations()]
    answer = "FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (6)"
    assert found == [
        ("PROTO-REQUIRED-FIELD", "SET_AGENT_STATE_REQ", answer,
         "SET_AGENT_STATE_REQ LOGIN without AgentID: required when AgentState is LOGIN"),
        ("PROTO-REQUIRED-FIELD", "QUERY_AGENT_STATE_REQ", answer,
         "QUERY_AGENT_STATE_REQ names no agent: one of AgentExtension, AgentInstrument or AgentID is required"),
        ("PROTO-REQUIRED-FIELD", "SET_AGENT_STATE_REQ", answer, "the request names no agent or device"),
    ]
    assert all(e.data["explanation"] == "A request lacked a required floating field (§2.3)."
               for e in server.journal.violations())
    table = terminal_table(build_summary(server.journal))
    assert "PROTO-REQUIRED-FIELD" in table and "A request lacked a required floating field" in table
