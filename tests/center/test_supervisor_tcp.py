"""A supervisor desktop and a wallboard against the mock over TCP: what they may do with the services
they were granted, the configuration they are given, and the answers to what they ask."""

from __future__ import annotations

import pytest

from tcp_world import deliver_call, server  # noqa: F401 - tests/support, on the path (server: the fixture)

from mockcti.client import CTIClient
from mockcti.server import MockServer, ServerConfig
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import ServiceMask as SM
from mockcti.wire.enums import StatusCode as S

pytestmark = pytest.mark.asyncio



async def test_a_wallboard_without_control_sets_no_agent_state(server):
    """A wallboard granted ALL_EVENTS alone asks to log agent 1003 in: FAILURE_CONF
    E_CTI_UNSPECIFIED_FAILURE naming the service, as for call control without it; the agent stays
    logged out and nobody gets an AGENT_STATE_EVENT. A desktop granted CTI_AGENT_STATE_CONTROL_ONLY
    (§6.5) may log its agent in, and still controls no call."""
    wb = await server.connect()
    await wb.open_bridge(client_id="wallboard", heartbeat=0, services=int(SM.CTI_SERVICE_ALL_EVENTS))
    reply = await wb.request(M.SetAgentStateReq(invoke_id=0, agent_state=int(AS.AGENT_STATE_LOGIN), agent_id="1003",
                                                agent_password="1234", agent_instrument="3003"), check=False)
    assert reply.TYPE is MT.FAILURE_CONF and reply.status == S.E_CTI_UNSPECIFIED_FAILURE
    assert "CTI_SERVICE_CLIENT_CONTROL" in reply.text
    state = await wb.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1003"))
    assert state.agent_state == AS.AGENT_STATE_LOGOUT
    assert not [e for e in wb.drain_events() if e.TYPE is MT.AGENT_STATE_EVENT]

    desk = await server.connect()
    await desk.open_agent(agent_id="1003", client_id="desk", heartbeat=0,
                          services=int(SM.CTI_SERVICE_CLIENT_EVENTS | SM.CTI_AGENT_STATE_CONTROL_ONLY))
    await desk.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    assert (await desk.next_event(MT.AGENT_STATE_EVENT)).agent_state == AS.AGENT_STATE_NOT_READY
    reply = await desk.request(M.MakeCallReq(invoke_id=0, agent_instrument="3003", dialed_number="0611"), check=False)
    assert reply.TYPE is MT.FAILURE_CONF and reply.status == S.E_CTI_UNSPECIFIED_FAILURE


async def test_a_configuration_request_that_cannot_be_served_is_answered(server):
    """CONFIG_REQUEST_KEY_EVENT / CONFIG_REQUEST_EVENT from a wallboard not granted
    CTI_SERVICE_CONFIG_EVENTS, and from one granted it while Unified CCX is offline (§3.6:
    accepted only online), get FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE saying why (InvokeID 0: the
    requests carry none) — not silence, which left the client waiting for ever for CONFIG_KEY_EVENT
    or CONFIG_END_EVENT. Back online, the download is served."""
    from mockcti.wire.enums import SystemEventID

    plain = await server.connect()
    await plain.open_bridge(client_id="plain", heartbeat=0, services=int(SM.CTI_SERVICE_ALL_EVENTS), config_msg_mask=0xF)
    cfg = await server.connect()
    await cfg.open_bridge(client_id="cfg", heartbeat=0, config_msg_mask=0xF,
                          services=int(SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_CONFIG_EVENTS))
    plain.send(M.ConfigRequestKeyEvent(reserved_v11=0, customer_id=0))
    plain.send(M.ConfigRequestEvent(configuration_mask=0x0F, reserved_v11=0, customer_id=0))
    for name in ("CONFIG_REQUEST_KEY_EVENT", "CONFIG_REQUEST_EVENT"):
        fail = await plain.next_event(MT.FAILURE_CONF, timeout=5)
        assert fail == M.FailureConf(invoke_id=0, status=S.E_CTI_UNSPECIFIED_FAILURE,
                                     text=f"{name} needs CTI_SERVICE_CONFIG_EVENTS in ServicesRequested")

    def offline(hub, now):
        hub.deliver(hub.center.system_event(now, SystemEventID.SYS_CCX_OFFLINE))

    server.call(offline)
    cfg.send(M.ConfigRequestKeyEvent(reserved_v11=0, customer_id=0))
    fail = await cfg.next_event(MT.FAILURE_CONF, timeout=5)
    assert fail.status == S.E_CTI_UNSPECIFIED_FAILURE and "offline" in fail.text

    def online(hub, now):
        hub.deliver(hub.center.system_event(now, SystemEventID.SYS_CCX_ONLINE))

    server.call(online)
    cfg.send(M.ConfigRequestKeyEvent(reserved_v11=0, customer_id=0))
    assert (await cfg.next_event(MT.CONFIG_KEY_EVENT, timeout=5)).status == 0


async def test_the_configuration_describes_the_application_and_csq_of_the_call_events(server):
    """A wallboard downloads the whole configuration (ConfigurationMask 0x0F, whose application bit
    CONFIG_BEGIN_EVENT shows), then a caller waits in Sales: the ApplicationID and CSQID its
    CALL_QUEUED_EVENT names are both in the download — the application record was missing, so the
    wallboard could not name the application of any call."""
    wb = await server.connect()
    await wb.open_bridge(client_id="wallboard", heartbeat=0, config_msg_mask=0x0F,
                         services=int(SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_CONFIG_EVENTS))
    wb.send(M.ConfigRequestEvent(configuration_mask=0x0F, reserved_v11=0, customer_id=0))
    await wb.next_event(MT.CONFIG_END_EVENT)
    got = list(wb.received)
    [begin] = [m for m in got if m.TYPE is MT.CONFIG_BEGIN_EVENT]
    assert begin.configuration_mask == 0x0F
    apps = {r.application_id: r.application_name for m in got if m.TYPE is MT.CONFIG_APPLICATION_EVENT
            for r in m.records}
    csqs = {r.csq_id: r.csq_name for m in got if m.TYPE is MT.CONFIG_CSQ_EVENT for r in m.records}
    deliver_call(server, csq="Sales")  # nobody is logged in: the caller waits
    queued = await wb.next_event(MT.CALL_QUEUED_EVENT)
    assert csqs[queued.csqs[0].csq_id] == "Sales"
    assert apps[queued.application_id] == "mockcti"


async def test_the_longest_names_a_center_file_allows_reach_the_supervisor():
    """A CSQ name, an instrument and a team name of the longest lengths a center file accepts go out in
    CONFIG_CSQ_EVENT, AGENT_STATE_EVENT and TEAM_CONFIG_EVENT whole (a team name was cut to 49
    characters: two long team names could arrive as one)."""
    from mockcti.center import CenterConfig, ContactCenter

    team, csq, instrument = "T" * 47 + "é", "Q" * 63, "9" * 63  # 49, 63 and 63 bytes
    cfg = CenterConfig.from_mapping({"csqs": [{"name": csq}], "agents": [
        {"id": "1", "extension": "2", "instrument": instrument, "team": team, "csqs": [csq], "state": "READY"}]})
    server = await MockServer(ContactCenter(cfg), config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        sup = await CTIClient.connect(server.host, server.port, version=14)
        await sup.open_bridge(client_id="sup", heartbeat=0, config_msg_mask=0x0F, services=int(
            SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_CLIENT_CONTROL | SM.CTI_SERVICE_SUPERVISOR
            | SM.CTI_SERVICE_CONFIG_EVENTS))
        sup.send(M.ConfigRequestEvent(configuration_mask=0x02, reserved_v11=0, customer_id=0))
        assert (await sup.next_event(MT.CONFIG_CSQ_EVENT)).records[0].csq_name == csq
        await sup.request(M.TeamConfigReq(invoke_id=0, config_param=1, reserved=bytes(8)))
        assert (await sup.next_event(MT.TEAM_CONFIG_EVENT)).team_name == team
        await sup.request(M.SetAgentStateReq(invoke_id=0, agent_state=int(AS.AGENT_STATE_NOT_READY), agent_id="1",
                                             agent_instrument=instrument))
        assert (await sup.next_event(MT.AGENT_STATE_EVENT)).agent_instrument == instrument
        await sup.close()
    finally:
        await server.stop()


async def test_an_agent_with_a_long_login_id_is_in_the_configuration():
    """Agents whose LoginID is long (a center file allows 128 bytes; 'jane.doe.supervisor@example'
    is 27) are in CONFIG_AGENT_EVENT and CONFIG_DEVICE_EVENT: the made-up LastName 'Agent <id>'
    (LastName holds 31 bytes) and device description (127) did not encode, and the whole record
    block — up to ten agents — never reached the wallboard."""
    from mockcti.center import CenterConfig, ContactCenter

    ids = ["jane.doe.supervisor@example", "é" * 64, "1001"]
    cfg = CenterConfig.from_mapping({"agents": [{"id": a, "extension": str(3000 + n)} for n, a in enumerate(ids)]})
    server = await MockServer(ContactCenter(cfg), config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        wb = await CTIClient.connect(server.host, server.port, version=14)
        await wb.open_bridge(client_id="wb", heartbeat=0, config_msg_mask=0x0F,
                             services=int(SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_CONFIG_EVENTS))
        wb.send(M.ConfigRequestEvent(configuration_mask=0x0C, reserved_v11=0, customer_id=0))
        agents = await wb.next_event(MT.CONFIG_AGENT_EVENT)
        assert [r.login_id for r in agents.records] == ids
        assert agents.records[0].last_name == "Agent jane.doe.supervisor@example"[:31]  # LastName: 31 bytes
        assert agents.records[2].last_name == "Agent 1001"
        devices = await wb.next_event(MT.CONFIG_DEVICE_EVENT)
        assert [r.device_field2 for r in devices.records] == ids
        await wb.close()
    finally:
        await server.stop()


async def test_every_member_of_a_large_team_reaches_the_supervisor():
    """A team of 150 agents: TEAM_CONFIG_EVENT holds at most 64 members (§5.6), so the team comes as
    Operation 1 (add team) with the first 64 and Operation 3 (change team) events adding the others —
    the members after the 64th were dropped, and the supervisor never saw them."""
    from mockcti.center import CenterConfig, ContactCenter

    ids = [str(5000 + n) for n in range(150)]
    cfg = CenterConfig.from_mapping({"agents": [{"id": a, "extension": str(int(a) + 1000), "team": "Big"}
                                                for a in ids]})
    server = await MockServer(ContactCenter(cfg), config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        sup = await CTIClient.connect(server.host, server.port, version=14)
        await sup.open_bridge(client_id="sup", heartbeat=0,
                              services=int(SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_SUPERVISOR))
        await sup.request(M.TeamConfigReq(invoke_id=0, config_param=1, reserved=bytes(8)))
        teams = [m for m in sup.received if m.TYPE is MT.TEAM_CONFIG_EVENT]
        assert [(t.team_id, t.team_name, t.operation, len(t.records)) for t in teams] == [
            (1, "Big", 1, 64), (1, "Big", 3, 64), (1, "Big", 3, 22)]
        assert [r.agent_id for t in teams for r in t.records] == ids
        assert {r.record_type for t in teams for r in t.records} == {0}
        await sup.close()
    finally:
        await server.stop()


async def test_an_agent_asks_its_supervisor_for_help_and_the_supervisor_barges_in_and_takes_the_call(server):
    """Over TCP, an agent desktop (1003), its supervisor's desktop (1004, granted CTI_SERVICE_SUPERVISOR)
    and a bridge: the agent, talking to a caller, asks for help (SUPERVISOR_ASSIST_REQ): the call is
    held, the supervisor's phone rings with an ASSIST call and its desktop and the bridge get
    SUPERVISOR_ASSIST_EVENT; the supervisor answers, the agent gives up the assist call
    (RECONNECT_CALL_REQ) and is back with the caller. The supervisor barges in (SUPERVISE_CALL_REQ
    BARGE_IN, naming a call its own session never saw): everybody sees the CALL_CONFERENCED_EVENT;
    it intercepts: the agent's connection is cleared and the agent is READY again; it clears: the
    call is over. The journal holds no violation."""
    from mockcti.wire.enums import CallType as CT
    from mockcti.wire.enums import EventCause as EC

    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    sup = await _supervisor_desk(server, SM.CTI_SERVICE_CALL_DATA_UPDATE)
    try:
        cid = await _answered_at_3003(server, desk)

        conf = await desk.request(M.SupervisorAssistReq(invoke_id=0, call_id=cid, connection_device_type=0,
                                                        connection_device_id="3003", text="angry caller"))
        assist = conf.call_id
        rings = await sup.next_event(MT.CALL_DELIVERED_EVENT)  # (next_event skips what comes before)
        assert (rings.call_id, rings.event_cause) == (assist, EC.CEC_SUPERVISOR_ASSIST)
        for client in (sup, bridge):
            ev = await client.next_event(MT.SUPERVISOR_ASSIST_EVENT)
            assert (ev.call_id, ev.connection_device_id, ev.client_id, ev.text) == (
                assist, "3003", "desk-1003", "angry caller")
        await sup.request(M.AnswerCallReq(invoke_id=0, call_id=assist, connection_device_type=0,
                                          connection_device_id="3004"))
        await desk.request(M.ReconnectCallReq(invoke_id=0, active_call_id=assist, active_connection_device_type=0,
                                              active_connection_device_id="3003", held_call_id=cid,
                                              held_connection_device_type=0, held_connection_device_id="3003"))
        await sup.next_event(MT.END_CALL_EVENT, where=lambda m: m.call_id == assist)

        def supervise(action: int) -> M.SuperviseCallReq:
            return M.SuperviseCallReq(invoke_id=0, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                      agent_connection_device_type=0, supervisor_connection_device_type=0,
                                      supervisory_action=action, agent_id="1003")

        conf = await sup.request(supervise(3))
        assert (conf.call_id, conf.connection_device_id) == (cid, "3003")
        begin = await sup.next_event(MT.BEGIN_CALL_EVENT, where=lambda m: m.call_id == cid)
        assert begin.call_type == CT.CALLTYPE_SUPERVISOR_BARGE_IN
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONFERENCED_EVENT)
            assert (ev.primary_call_id, ev.controller_device_id, ev.added_party_device_id, ev.event_cause) == (
                cid, "3003", "3004", EC.CEC_SUPERVISOR_BARGE_IN)

        await sup.request(supervise(4))
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, where=lambda m: m.call_id == cid)
            assert (ev.connection_device_id, ev.event_cause) == ("3003", EC.CEC_SUPERVISOR_INTERCEPT)
        assert (await desk.next_event(MT.END_CALL_EVENT)).call_id == cid
        ready = await bridge.next_event(MT.AGENT_STATE_EVENT, where=lambda m: m.agent_id == "1003")
        assert ready.agent_state == AS.AGENT_STATE_READY

        await sup.request(supervise(0))
        assert (await sup.next_event(MT.END_CALL_EVENT, where=lambda m: m.call_id == cid)).call_id == cid
        cleared = await bridge.next_event(MT.CALL_CLEARED_EVENT, where=lambda m: m.call_id == cid)
        assert cleared.call_id == cid
        assert not server.journal.violations(), server.journal.violations()
    finally:
        for client in (bridge, desk):
            await client.close()


async def test_a_supervisor_desktop_makes_an_agent_of_its_team_not_ready_and_signs_it_out(server):
    """Over TCP, supervisor 1004's desktop (agent mode, granted CTI_SERVICE_SUPERVISOR) sends SET_AGENT_STATE_REQ
    naming agent 1003 of its team, as a Finesse or CAD supervisor changes a team member's state: NOT_READY with
    reason code 12, then LOGOUT. Each time the supervisor gets SET_AGENT_STATE_CONF, and the agent's desktop and
    the wallboard the agent's AGENT_STATE_EVENT; QUERY_AGENT_STATE_REQ for 1003 answers its state. Agent 1001, of
    another team, is refused E_CTI_INVALID_AGENT_DATA and stays READY. (Every request naming 1003 was refused
    E_CTI_INVALID_AGENT_DATA, "not this session's agent".) CTIClient.set_agent_state(..., agent_id="1003") from the
    supervisor's desktop sends no AgentInstrument of its own phone."""
    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    try:
        await _a_supervisor_changes_team_states(server, bridge, desk)
    finally:
        for c in (desk, bridge):
            await c.close()



async def _supervisor_desk(server, extra_services=0):
    """Supervisor 1004's desktop (team of 1003), logged in."""
    sup = await server.connect()
    await sup.open_agent(agent_id="1004", client_id="sup-desk", heartbeat=0, services=int(
        SM.CTI_SERVICE_CLIENT_EVENTS | SM.CTI_SERVICE_CLIENT_CONTROL | SM.CTI_SERVICE_SUPERVISOR | extra_services))
    await sup.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    return sup


async def _answered_at_3003(server, desk):
    """A Sales call from 0611 delivered to agent 1003's READY desktop and answered there; its call ID."""
    cid = deliver_call(server, csq="Sales", ani="0611")
    await desk.next_event(MT.CALL_DELIVERED_EVENT)
    await desk.request(M.AnswerCallReq(invoke_id=0, call_id=cid, connection_device_type=0, connection_device_id="3003"))
    return cid

async def _a_supervisor_changes_team_states(server, bridge, desk):
    other = await server.connect()
    await other.open_agent(agent_id="1001", client_id="desk-1001", heartbeat=0)
    await other.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await other.set_agent_state(AS.AGENT_STATE_READY)
    sup = await _supervisor_desk(server)
    for c in (desk, bridge, other):
        c.drain_events()

    conf = await sup.request(M.SetAgentStateReq(invoke_id=41, agent_state=int(AS.AGENT_STATE_NOT_READY),
                                                event_reason_code=12, agent_id="1003", agent_instrument="3003"))
    assert conf == M.SetAgentStateConf(invoke_id=41)
    for c in (desk, bridge):
        ev = await c.next_event(MT.AGENT_STATE_EVENT, where=lambda m: m.agent_id == "1003")
        assert (ev.agent_state, ev.event_reason_code) == (AS.AGENT_STATE_NOT_READY, 12)
    state = await sup.request(M.QueryAgentStateReq(invoke_id=42, agent_id="1003"))
    assert (state.agent_id, state.agent_state) == ("1003", AS.AGENT_STATE_NOT_READY)

    refused = await sup.request(M.SetAgentStateReq(invoke_id=43, agent_state=int(AS.AGENT_STATE_NOT_READY),
                                                   agent_id="1001", agent_instrument="3001"), check=False)
    assert (refused.TYPE, refused.invoke_id, refused.status) == (MT.FAILURE_CONF, 43, S.E_CTI_INVALID_AGENT_DATA)
    assert refused.text == "agent 1001 (team 'Team1') is not in the team of supervisor 1004 ('Team2')"
    assert (await sup.request(M.QueryAgentStateReq(invoke_id=44, agent_id="1001"), check=False)).status == \
        S.E_CTI_INVALID_AGENT_DATA
    assert (await other.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"))).agent_state == \
        AS.AGENT_STATE_READY

    # CTIClient.set_agent_state naming the team member: its AgentInstrument is not the supervisor's phone (the
    # client filled in 3004, E_CTI_INCONSISTENT_AGENT_DATA)
    await sup.set_agent_state("READY", agent_id="1003")
    for c in (desk, bridge):
        ev = await c.next_event(MT.AGENT_STATE_EVENT, where=lambda m: m.agent_id == "1003")
        assert ev.agent_state == AS.AGENT_STATE_READY
    await sup.request(M.SetAgentStateReq(invoke_id=45, agent_state=int(AS.AGENT_STATE_LOGOUT), agent_id="1003",
                                         agent_instrument="3003"))
    for c in (desk, bridge):
        ev = await c.next_event(MT.AGENT_STATE_EVENT, where=lambda m: m.agent_id == "1003")
        assert ev.agent_state == AS.AGENT_STATE_LOGOUT
    assert not [e for e in other.drain_events() if e.TYPE is MT.AGENT_STATE_EVENT]


async def test_a_supervisor_desktop_snapshots_a_team_members_phone_and_barges_in_on_its_call(server):
    """A supervisor's desktop is told of no call of its agents (UCCX has no agent-team monitor), yet
    SUPERVISE_CALL_REQ needs the agent's AgentCallID. SNAPSHOT_DEVICE_REQ for team member 1003's phone was refused
    E_CTI_INVALID_AGENT_DATA ("not the phone of this session's agent"), as for any agent-mode session: now it answers
    the calls at that phone (the team rule of SET/QUERY_AGENT_STATE_REQ), and the supervisor barges in on the call
    it learned. Agent 1001's phone, another team's, is refused E_CTI_INVALID_AGENT_DATA; agent 1001's own desktop
    still may not snapshot 1003's phone."""
    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    other = await server.connect()
    await other.open_agent(agent_id="1001", client_id="desk-1001", heartbeat=0)
    await other.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    sup = await _supervisor_desk(server)
    try:
        cid = await _answered_at_3003(server, desk)
        snap = await sup.request(M.SnapshotDeviceReq(invoke_id=51, snapshot_device_type=0, agent_instrument="3003"))
        assert [(c.call_connection_call_id, c.call_connection_device_id, c.call_state) for c in snap.calls] == [
            (cid, "3003", 3)]  # LCS_CONNECT
        conf = await sup.request(M.SuperviseCallReq(
            invoke_id=52, agent_call_id=snap.calls[0].call_connection_call_id, supervisor_call_id=0xFFFFFFFF,
            agent_connection_device_type=0, supervisor_connection_device_type=0, supervisory_action=3,
            agent_instrument="3003"))
        assert (conf.call_id, conf.connection_device_id) == (cid, "3003")
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONFERENCED_EVENT)
            assert (ev.primary_call_id, ev.added_party_device_id) == (cid, "3004")

        refused = await sup.request(M.SnapshotDeviceReq(invoke_id=53, snapshot_device_type=0,
                                                        agent_instrument="3001"), check=False)
        assert (refused.TYPE, refused.invoke_id, refused.status) == (MT.FAILURE_CONF, 53, S.E_CTI_INVALID_AGENT_DATA)
        assert refused.text == "agent 1001 (team 'Team1') is not in the team of supervisor 1004 ('Team2')"
        refused = await other.request(M.SnapshotDeviceReq(invoke_id=54, snapshot_device_type=0,
                                                          agent_instrument="3003"), check=False)
        assert (refused.TYPE, refused.status) == (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA)
        assert not server.journal.violations(), server.journal.violations()
    finally:
        for client in (bridge, desk):
            await client.close()


async def test_an_emergency_event_names_the_call_the_emergency_is_about(server):
    """Over TCP, agent 1003 talks to a caller and declares an emergency about that call (EMERGENCY_CALL_REQ,
    ConnectionCallID the caller's call). EMERGENCY_CALL_CONF names the new EMERGENCY call to the supervisor; the
    EMERGENCY_CALL_EVENT that the supervisor's desktop and the bridge get names the caller's call, "the call that
    the agent needs assistance with" (the UCCX EMERGENCY_CALL_EVENT page), so the supervisor can barge in on it
    — it named the EMERGENCY call, which the caller is not on. Without a related call the event's ConnectionCallID
    is 0xFFFFFFFF ("if there is no related call")."""
    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    sup = await _supervisor_desk(server)
    try:
        cid = await _answered_at_3003(server, desk)
        conf = await desk.request(M.EmergencyCallReq(invoke_id=0, peripheral_id=1, connection_call_id=cid,
                                                     connection_device_type=0, connection_device_id="3003"))
        assert conf.connection_call_id != cid
        for client in (sup, bridge):
            ev = await client.next_event(MT.EMERGENCY_CALL_EVENT)
            assert (ev.connection_call_id, ev.connection_device_id, ev.agent_id) == (cid, "3003", "1003")
        # the supervisor's phone rang with the EMERGENCY call; the agent gives it up, and the supervisor
        # barges in on the caller's call, the one the event named
        assert [m.call_id for m in sup.received if m.TYPE is MT.CALL_DELIVERED_EVENT] == [conf.connection_call_id]
        await desk.request(M.ReconnectCallReq(invoke_id=0, active_call_id=conf.connection_call_id,
                                              active_connection_device_type=0, active_connection_device_id="3003",
                                              held_call_id=cid, held_connection_device_type=0,
                                              held_connection_device_id="3003"))
        barge = await sup.request(M.SuperviseCallReq(
            invoke_id=0, agent_call_id=ev.connection_call_id, supervisor_call_id=0xFFFFFFFF,
            agent_connection_device_type=0, supervisor_connection_device_type=0, supervisory_action=3,
            agent_id="1003"))
        assert barge.call_id == cid
        await sup.request(M.SuperviseCallReq(invoke_id=0, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                             agent_connection_device_type=0, supervisor_connection_device_type=0,
                                             supervisory_action=0, agent_id="1003"))
        await desk.request(M.ClearCallReq(invoke_id=0, call_id=cid, connection_device_type=0,
                                          connection_device_id="3003"))

        await desk.set_agent_state(AS.AGENT_STATE_NOT_READY)
        conf = await desk.request(M.EmergencyCallReq(invoke_id=0, peripheral_id=1, connection_call_id=0xFFFFFFFF,
                                                     connection_device_type=0, connection_device_id="3003"))
        for client in (sup, bridge):
            ev = await client.next_event(MT.EMERGENCY_CALL_EVENT)
            assert (ev.connection_call_id, ev.connection_device_id) == (0xFFFFFFFF, "3003")
        assert not server.journal.violations(), server.journal.violations()
    finally:
        for client in (bridge, desk):
            await client.close()


async def test_a_supervisor_barges_in_on_an_agents_active_call_named_by_the_agent_alone(server):
    """Over TCP, supervisor 1004's desktop, told of none of its agents' calls, sends SUPERVISE_CALL_REQ with
    AgentCallID 0xFFFFFFFF and AgentID 1003: the agent's currently active call is supervised (UCCX: "Either the
    CallID and the ConnectionDeviceID, or one of AgentExtension, AgentID, or AgentInstrument must be provided";
    ICM: AgentCallID "may contain the special value 0xffffffff when selecting the agent's currently active
    call"). It was refused E_CTI_INVALID_CALLID. Barge-in then intercept that way reach the agent, the
    supervisor and the bridge; with the agent on no call any more the request is refused CF_INVALID_OBJECT_STATE,
    and naming the agent by AgentConnectionDeviceID alone, with no CallID, is E_CTI_REQUIRED_DATA_MISSING."""
    from mockcti.wire.enums import ControlFailureCode as CF
    from mockcti.wire.enums import EventCause as EC

    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    sup = await _supervisor_desk(server)
    try:
        cid = await _answered_at_3003(server, desk)

        def supervise(action: int, **agent) -> M.SuperviseCallReq:
            return M.SuperviseCallReq(invoke_id=0, agent_call_id=0xFFFFFFFF, supervisor_call_id=0xFFFFFFFF,
                                      agent_connection_device_type=0, supervisor_connection_device_type=0,
                                      supervisory_action=action, **agent)

        refused = await sup.request(supervise(3, agent_connection_device_id="3003"), check=False)
        assert (refused.TYPE, refused.status) == (MT.FAILURE_CONF, S.E_CTI_REQUIRED_DATA_MISSING)
        conf = await sup.request(supervise(3, agent_id="1003"))
        assert (conf.call_id, conf.connection_device_id) == (cid, "3003")
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONFERENCED_EVENT)
            assert (ev.primary_call_id, ev.added_party_device_id, ev.event_cause) == (
                cid, "3004", EC.CEC_SUPERVISOR_BARGE_IN)
        conf = await sup.request(supervise(4, agent_instrument="3003"))
        assert conf.call_id == cid
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, where=lambda m: m.call_id == cid)
            assert (ev.connection_device_id, ev.event_cause) == ("3003", EC.CEC_SUPERVISOR_INTERCEPT)
        refused = await sup.request(supervise(3, agent_id="1003"), check=False)
        assert (refused.TYPE, refused.failure_code, refused.text) == (
            MT.CONTROL_FAILURE_CONF, CF.CF_INVALID_OBJECT_STATE, "agent 1003 has no active call to supervise")
        assert [v.data["rule"] for v in server.journal.violations()] == ["PROTO-REQUIRED-FIELD"]
    finally:
        for client in (bridge, desk):
            await client.close()


async def test_a_bad_call_report_checks_the_agent_it_names(server):
    """BAD_CALL_REQ over TCP, on a call and on no call: agent 1003's desktop reporting for agent 1001, or for
    1001's phone 3001, is refused E_CTI_INVALID_AGENT_DATA (one session, one agent; ConnectionDeviceID is "the
    connection between the call and the agent's device"); a bridge naming an unknown AgentID gets
    E_CTI_INVALID_AGENT_DATA and one naming logged-out agent 1002, as 1002's own logged-out desktop does,
    E_CTI_AGENT_NOT_LOGGED_ON (§7.1). All were confirmed BAD_CALL_CONF and journalled as reports of the
    named agent. The desktop's own reports, with and without a call, are confirmed."""
    from tcp_world import bridge_and_ready_desk

    bridge, desk = await bridge_and_ready_desk(server, "1003")
    idle = await server.connect()
    await idle.open_agent(agent_id="1002", client_id="desk-1002", heartbeat=0)
    try:
        cid = await _answered_at_3003(server, desk)

        async def report(client, call_id, device, **kw):
            return await client.request(M.BadCallReq(invoke_id=0, connection_device_type=0, call_id=call_id,
                                                     connection_device_id=device, **kw), check=False)

        answers = [await report(desk, cid, "3003", agent_id="1001"), await report(desk, 0xFFFFFFFF, "3001"),
                   await report(bridge, cid, "3003", agent_id="9999"),
                   await report(bridge, 0xFFFFFFFF, "3002", agent_id="1002"), await report(idle, 0xFFFFFFFF, "3002")]
        assert [(m.TYPE, getattr(m, "status", None)) for m in answers] == [
            (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA), (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA),
            (MT.FAILURE_CONF, S.E_CTI_INVALID_AGENT_DATA), (MT.FAILURE_CONF, S.E_CTI_AGENT_NOT_LOGGED_ON),
            (MT.FAILURE_CONF, S.E_CTI_AGENT_NOT_LOGGED_ON)]
        assert (await report(desk, cid, "3003", agent_id="1003")).TYPE is MT.BAD_CALL_CONF
        assert (await report(desk, 0xFFFFFFFF, "3003")).TYPE is MT.BAD_CALL_CONF
        assert (await report(bridge, cid, "3003", agent_id="1003")).TYPE is MT.BAD_CALL_CONF
        reports = [(e.data["call_id"], e.data["device"], e.data["agent"]) for e in server.journal.entries(
            kind="happening") if e.data.get("what") == "bad call reported"]
        assert reports == [(cid, "3003", "1003"), (None, "3003", None), (cid, "3003", "1003")]
    finally:
        for client in (bridge, desk, idle):
            await client.close()


async def test_supervising_a_logged_out_agent_is_agent_not_logged_on(server):
    """Supervisor 1004's desktop barges in on, or intercepts, a call of agent 1003 of its team while 1003 is logged
    out — naming a call that exists (a caller waiting in Sales) or the agent's active call (0xFFFFFFFF): FAILURE_CONF
    E_CTI_AGENT_NOT_LOGGED_ON, "agent named in a request is not logged on" (§7.1), where it got CONTROL_FAILURE_CONF
    CF_INVALID_CSTA_CONNECTION_ID or the no-active-call refusal. Nothing reaches the bridge."""
    bridge = await server.connect()
    await bridge.open_bridge(client_id="wallboard", heartbeat=0)
    sup = await _supervisor_desk(server)
    cid = deliver_call(server, csq="Sales", ani="0611")  # nobody is READY: the caller waits
    await bridge.next_event(MT.CALL_QUEUED_EVENT)
    bridge.drain_events()
    answers = []
    for action in (3, 4):
        for call_id in (cid, 0xFFFFFFFF):
            answers.append(await sup.request(M.SuperviseCallReq(
                invoke_id=0, agent_call_id=call_id, supervisor_call_id=0xFFFFFFFF, agent_connection_device_type=0,
                supervisor_connection_device_type=0, supervisory_action=action, agent_id="1003"), check=False))
    assert [(m.TYPE, getattr(m, "status", None), getattr(m, "text", None)) for m in answers] == [
        (MT.FAILURE_CONF, S.E_CTI_AGENT_NOT_LOGGED_ON, "agent 1003 is not logged on")] * 4
    assert not bridge.drain_events()


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
async def test_the_emergency_event_has_the_layout_of_the_sessions_profile(profile):
    """The bytes of EMERGENCY_CALL_EVENT a bridge reads off the socket: under uccx the UCCX page's layout, an InvokeID
    (0) before PeripheralID; under ucce ICM's, which has no InvokeID ("absent in ICM", reference §5.5): PeripheralID,
    ConnectionCallID, ConnectionDeviceIDType, SessionID, then the floating part (ConnectionDeviceID, tag 25). The
    ucce session got the UCCX layout, so an ICM client read PeripheralID 0, ConnectionCallID 1 and every later field
    four bytes off."""
    import asyncio
    import struct

    from mockcti.testing.fixtures import hub_config_for
    from mockcti.wire import Dialect, FrameBuffer, encode

    dialect = Dialect.ucce(19) if profile == "ucce" else Dialect.uccx(14)
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0), hub_config=hub_config_for(profile)).start()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    desk = await CTIClient.connect(server.host, server.port, profile=profile, version=dialect.version)
    sup = await CTIClient.connect(server.host, server.port, profile=profile, version=dialect.version)
    try:
        writer.write(encode(M.OpenReq(invoke_id=1, version_number=dialect.version, idle_timeout=0xFFFFFFFF,
                                      services_requested=int(SM.CTI_SERVICE_ALL_EVENTS), call_msg_mask=0,
                                      agent_state_mask=0, client_id="raw-bridge", client_password=b""), dialect))
        await sup.open_agent(agent_id="1004", client_id="sup-desk", heartbeat=0)
        await sup.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        await desk.open_agent(agent_id="1003", client_id="desk-1003", heartbeat=0)
        await desk.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
        await desk.request(M.EmergencyCallReq(invoke_id=0, peripheral_id=1, connection_call_id=0xFFFFFFFF,
                                              connection_device_type=0, connection_device_id="3003"))
        frames, buffer = [], FrameBuffer()
        async with asyncio.timeout(5):
            while not [f for f in frames if f.type_id == 123]:
                frames.extend(buffer.feed(await reader.read(65536)))
        [body] = [f.body for f in frames if f.type_id == 123]
        tag = body[18:19] if profile == "uccx" else body[14:15]
        fixed = struct.unpack(">IIIHI" if profile == "uccx" else ">IIHI", body[:18 if profile == "uccx" else 14])
        peripheral, call_id, device_type, session = fixed[-4:]
        assert (peripheral, call_id, device_type, tag) == (1, 0xFFFFFFFF, 0, b"\x19")
        assert session > 0
        if profile == "uccx":
            assert fixed[0] == 0  # the InvokeID the UCCX page prints
    finally:
        writer.close()
        for c in (desk, sup):
            await c.close()
        await server.stop()


async def _profile_server(profile):
    """A MockServer on 127.0.0.1, a free port, its sessions speaking ``profile``; a bridge granted
    CTI_SERVICE_SUPERVISOR too, agent 1003's desktop and supervisor 1004's desktop, both logged in (NOT_READY)."""
    from mockcti.testing.fixtures import hub_config_for

    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0), hub_config=hub_config_for(profile)).start()
    clients = []
    for _ in range(3):
        clients.append(await CTIClient.connect(server.host, server.port, profile=profile))
    bridge, desk, sup = clients
    await bridge.open_bridge(client_id="wallboard", heartbeat=0, services=int(
        SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_CLIENT_CONTROL | SM.CTI_SERVICE_SUPERVISOR))
    await desk.open_agent(agent_id="1003", client_id="desk-1003", heartbeat=0)
    await desk.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await sup.open_agent(agent_id="1004", client_id="sup-desk", heartbeat=0, services=int(
        SM.CTI_SERVICE_CLIENT_EVENTS | SM.CTI_SERVICE_CLIENT_CONTROL | SM.CTI_SERVICE_SUPERVISOR))
    await sup.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    return server, bridge, desk, sup


#: the two requests ICM has an agent named by a bridge (ALL_EVENTS): their confirmation, and its CallID field
_AGENT_NAMED = {
    "assist": (lambda **agent: M.SupervisorAssistReq(invoke_id=0, call_id=0xFFFFFFFF, connection_device_type=0,
                                                     connection_device_id="3003", **agent),
               MT.SUPERVISOR_ASSIST_CONF, "call_id"),
    "emergency": (lambda **agent: M.EmergencyCallReq(invoke_id=0, connection_call_id=0xFFFFFFFF,
                                                     connection_device_type=0, connection_device_id="3003", **agent),
                  MT.EMERGENCY_CALL_CONF, "connection_call_id"),
}


@pytest.mark.parametrize("request_kind", list(_AGENT_NAMED))
@pytest.mark.parametrize("profile", ["uccx", "ucce"])
async def test_a_bridge_asking_help_for_an_agent_names_the_agent_under_ucce(profile, request_kind):
    """A bridge (ALL_EVENTS) sends SUPERVISOR_ASSIST_REQ or EMERGENCY_CALL_REQ for agent 1003 naming only its
    phone's connection (ConnectionDeviceID 3003). Under ucce it is refused FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING —
    the ICM guides, both requests: "For clients with ALL EVENTS or PERIPHERAL MONITOR service, at least one of
    AgentExtension, AgentID, or AgentInstrument must be provided" — and the supervisor's phone does not ring; naming
    the agent's AgentInstrument as well, the assist (emergency) call is placed. Under uccx, whose pages have no such
    rule, ConnectionDeviceID alone places it, as before. (A ucce bridge's request was served without the agent
    named.)"""
    build, conf_type, call_field = _AGENT_NAMED[request_kind]
    server, bridge, desk, sup = await _profile_server(profile)
    try:
        reply = await bridge.request(build(), check=False)
        if profile == "ucce":
            assert (reply.TYPE, getattr(reply, "status", None)) == (MT.FAILURE_CONF, S.E_CTI_REQUIRED_DATA_MISSING)
            assert reply.text.startswith(f"{build().TYPE.name} from an ALL_EVENTS client names the agent by "
                                         "AgentExtension, AgentID or AgentInstrument")
            reply = await bridge.request(build(agent_instrument="3003"), check=False)
        assert reply.TYPE is conf_type and reply.connection_device_id == "3003"
        rings = await sup.next_event(MT.CALL_DELIVERED_EVENT)
        assert rings.call_id == getattr(reply, call_field)
        assert [m.call_id for m in sup.received if m.TYPE is MT.CALL_DELIVERED_EVENT] == [getattr(reply, call_field)]
    finally:
        for c in (bridge, desk, sup):
            await c.close()
        await server.stop()


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
async def test_a_bridge_barging_in_names_the_supervisors_instrument_under_ucce(profile):
    """A bridge (ALL_EVENTS, granted CTI_SERVICE_SUPERVISOR) barges supervisor 1004 in on agent 1003's call, naming
    the supervisor's phone by SupervisorConnectionDeviceID (3004) alone. Under ucce it is refused FAILURE_CONF
    E_CTI_REQUIRED_DATA_MISSING — ICM, SupervisorInstrument: "This field is required for clients with ALL EVENTS or
    PERIPHERAL MONITOR service" — and nobody hears of a conference; naming SupervisorInstrument 3004, the supervisor
    barges in. Under uccx, no UCCX page saying so, SupervisorConnectionDeviceID alone barges in, as before. (A ucce
    bridge's barge-in was served without SupervisorInstrument.)"""
    server, bridge, desk, sup = await _profile_server(profile)
    try:
        await desk.set_agent_state(AS.AGENT_STATE_READY)
        cid = deliver_call(server, csq="Sales", ani="0611")
        await desk.next_event(MT.CALL_DELIVERED_EVENT)
        await desk.request(M.AnswerCallReq(invoke_id=0, call_id=cid, connection_device_type=0,
                                           connection_device_id="3003"))

        def barge_in(**supervisor) -> M.SuperviseCallReq:
            return M.SuperviseCallReq(invoke_id=0, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                      agent_connection_device_type=0, supervisor_connection_device_type=0,
                                      supervisory_action=3, agent_id="1003", **supervisor)

        reply = await bridge.request(barge_in(supervisor_connection_device_id="3004"), check=False)
        if profile == "ucce":
            assert (reply.TYPE, getattr(reply, "status", None)) == (MT.FAILURE_CONF, S.E_CTI_REQUIRED_DATA_MISSING)
            assert "SupervisorInstrument" in reply.text
            assert not [m for m in desk.received if m.TYPE is MT.CALL_CONFERENCED_EVENT]
            reply = await bridge.request(barge_in(supervisor_instrument="3004"), check=False)
        assert (reply.TYPE, reply.call_id, reply.connection_device_id) == (MT.SUPERVISE_CALL_CONF, cid, "3003")
        for client in (desk, sup):
            ev = await client.next_event(MT.CALL_CONFERENCED_EVENT)
            assert (ev.primary_call_id, ev.added_party_device_id) == (cid, "3004")
        assert len([m for m in desk.received if m.TYPE is MT.CALL_CONFERENCED_EVENT]) == 1
    finally:
        for c in (bridge, desk, sup):
            await c.close()
        await server.stop()


@pytest.mark.parametrize("profile", ["uccx", "ucce"])
async def test_an_intercept_needs_a_barge_in_first_under_ucce(profile):
    """Supervisor 1004's desktop intercepts agent 1003's call without having barged in. Under ucce it is refused
    CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE, PeripheralErrorCode 0 — Unified CCE's CTI OS guide: "An Intercept
    can only be performed by a supervisor who has already performed a BargeIn" — and the agent stays on the call
    (it was cleared off it, the supervisor joining in its place); after a barge-in the intercept clears the agent's
    connection. Under uccx, no UCCX page saying so, the intercept without a barge-in joins the supervisor and
    clears the agent at once, as before."""
    from mockcti.wire.enums import ControlFailureCode as CF
    from mockcti.wire.enums import EventCause as EC

    server, bridge, desk, sup = await _profile_server(profile)
    try:
        await desk.set_agent_state(AS.AGENT_STATE_READY)
        cid = deliver_call(server, csq="Sales", ani="0611")
        await desk.next_event(MT.CALL_DELIVERED_EVENT)
        await desk.request(M.AnswerCallReq(invoke_id=0, call_id=cid, connection_device_type=0,
                                           connection_device_id="3003"))

        def supervise(action: int) -> M.SuperviseCallReq:
            return M.SuperviseCallReq(invoke_id=0, agent_call_id=cid, supervisor_call_id=0xFFFFFFFF,
                                      agent_connection_device_type=0, supervisor_connection_device_type=0,
                                      supervisory_action=action, agent_id="1003")

        reply = await sup.request(supervise(4), check=False)
        if profile == "ucce":
            assert (reply.TYPE, getattr(reply, "failure_code", None), getattr(reply, "ccx_error_code", None)) == (
                MT.CONTROL_FAILURE_CONF, CF.CF_INVALID_OBJECT_STATE, 0)
            assert reply.text == f"SUPERVISOR_INTERCEPT needs a barge-in first: supervisor 1004 is not on call {cid}"
            barged = await sup.request(supervise(3))
            assert barged.call_id == cid
            ev = await desk.next_event(MT.CALL_CONFERENCED_EVENT)
            assert (ev.added_party_device_id, ev.event_cause) == ("3004", EC.CEC_SUPERVISOR_BARGE_IN)
            assert not [m for m in desk.received if m.TYPE is MT.CALL_CONNECTION_CLEARED_EVENT]
            reply = await sup.request(supervise(4), check=False)
        assert (reply.TYPE, reply.call_id) == (MT.SUPERVISE_CALL_CONF, cid)
        for client in (desk, bridge, sup):
            ev = await client.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, where=lambda m: m.call_id == cid)
            assert (ev.connection_device_id, ev.event_cause) == ("3003", EC.CEC_SUPERVISOR_INTERCEPT)
        conferenced = [m.added_party_device_id for m in bridge.received if m.TYPE is MT.CALL_CONFERENCED_EVENT]
        assert conferenced == ["3004"]
    finally:
        for c in (bridge, desk, sup):
            await c.close()
        await server.stop()


async def test_a_supervisor_desktop_gets_the_csqs_of_each_team(tmp_path):
    """A center file gives team Blue the CSQs Billing (id 7) and Sales (id 3), and team Green (no agent) CSQ
    Sales: the supervisor desktop's TEAM_CONFIG_EVENT for Blue lists its agents, then each CSQ as a member of
    MemberType 2 whose AgentID is the CSQID as text (UCCX "TEAM_CONFIG_EVENT"), RecordType 0 (add) and
    AgentFlags 0 (U); Green comes as a team of its own; team Red, not listed, has no CSQ member. A team's CSQs
    were never sent: the center had teams only through each agent's ``team``."""
    from mockcti.center import ContactCenter, load_center_file

    p = tmp_path / "c.yaml"
    p.write_text("csqs:\n  - {name: Billing, id: 7}\n  - {name: Sales, id: 3}\n"
                 "agents:\n"
                 "  - {id: '5001', extension: '6001', team: Blue}\n"
                 "  - {id: '5009', extension: '6009', team: Blue, supervisor: true}\n"
                 "  - {id: '5002', extension: '6002', team: Red}\n"
                 "teams:\n  - {name: Blue, csqs: [Billing, Sales]}\n  - {name: Green, csqs: [Sales]}\n")
    server = await MockServer(ContactCenter(load_center_file(p)),
                              config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        sup = await CTIClient.connect(server.host, server.port, version=14)
        await sup.open_agent(agent_id="5009", client_id="sup", heartbeat=0,
                             services=int(SM.CTI_SERVICE_CLIENT_EVENTS | SM.CTI_SERVICE_SUPERVISOR))
        conf = await sup.request(M.TeamConfigReq(invoke_id=0, config_param=1, reserved=bytes(8)))
        assert conf.TYPE is MT.TEAM_CONFIG_CONF and conf.status == 0
        teams = [m for m in sup.received if m.TYPE is MT.TEAM_CONFIG_EVENT]
        got = {t.team_name: [(r.agent_id, r.agent_flags, r.record_type, r.member_type) for r in t.records]
               for t in teams}
        assert got == {"Blue": [("5001", 0, 0, 1), ("5009", 5, 0, 1), ("7", 0, 0, 2), ("3", 0, 0, 2)],
                       "Green": [("3", 0, 0, 2)], "Red": [("5002", 0, 0, 1)]}
        assert [(t.team_id, t.operation) for t in teams] == [(1, 1), (2, 1), (3, 1)]
        await sup.close()
    finally:
        await server.stop()


async def test_a_teams_csqs_after_its_agents_split_64_records_an_event():
    """Team Big: 60 agents and 10 CSQs, 70 members: the first event (Operation 1) has the 60 agents and 4 CSQs,
    an Operation 3 (change team) event adds the other 6 CSQs (§5.6 NumRecords at most 64)."""
    from mockcti.center import CenterConfig, ContactCenter

    names = [f"Q{n}" for n in range(10)]
    cfg = CenterConfig.from_mapping({
        "csqs": [{"name": n, "id": 100 + i} for i, n in enumerate(names)],
        "agents": [{"id": str(5000 + n), "extension": str(6000 + n), "team": "Big"} for n in range(60)],
        "teams": [{"name": "Big", "csqs": names}]})
    server = await MockServer(ContactCenter(cfg), config=ServerConfig(host="127.0.0.1", port=0)).start()
    try:
        sup = await CTIClient.connect(server.host, server.port, version=14)
        await sup.open_bridge(client_id="sup", heartbeat=0,
                              services=int(SM.CTI_SERVICE_ALL_EVENTS | SM.CTI_SERVICE_SUPERVISOR))
        await sup.request(M.TeamConfigReq(invoke_id=0, config_param=1, reserved=bytes(8)))
        teams = [m for m in sup.received if m.TYPE is MT.TEAM_CONFIG_EVENT]
        assert [(t.team_name, t.operation, len(t.records)) for t in teams] == [("Big", 1, 64), ("Big", 3, 6)]
        csq_members = [(r.agent_id, r.member_type) for t in teams for r in t.records if r.member_type == 2]
        assert csq_members == [(str(100 + i), 2) for i in range(10)]
        assert [r.member_type for r in teams[0].records[:60]] == [1] * 60
        await sup.close()
    finally:
        await server.stop()
