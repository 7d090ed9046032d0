"""Every shipped scenario in scenarios/ loads, and each one, run against a small mockcti.client
driver, gives the outcome a user relies on: the confirmation or failure on the wire, the events,
the expectations met by a correct client, and (for the scenarios meant to catch a misbehaving
client) exit code 1 with the unmet expectation or the violation named."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from mockcti.client import CTIClient, ConnectionClosed, RequestFailed
from mockcti.runner import run_scenario
from mockcti.scenario.loader import load_scenario
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CCXErrorCode, ControlFailureCode as CF, StatusCode as S

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(p for p in SCENARIOS.glob("*.yaml"))
NONE = 0xFFFFFFFF


def ctierr(name: str) -> int:
    from mockcti import catalog

    return catalog.default().by_name(name).code & 0xFFFFFFFF


# -- helpers -------------------------------------------------------------------------------------------


async def run(name: str, driver, timeout: float = 10.0):
    return await run_scenario(SCENARIOS / f"{name}.yaml", on_started=driver, timeout=timeout)


async def connect(server) -> CTIClient:
    return await CTIClient.connect(server.host, server.port, timeout=3)


async def agent(server, agent_id: str = "1001", instrument: str | None = None, **kw) -> CTIClient:
    """An open agent-mode session (no heartbeats unless asked)."""
    c = await connect(server)
    kw.setdefault("heartbeat", 0)
    await c.open_agent(agent_id=agent_id, instrument=instrument or str(2000 + int(agent_id)), timeout=3, **kw)
    return c


async def refused(client: CTIClient, req, timeout: float = 3.0):
    """The FAILURE_CONF / CONTROL_FAILURE_CONF a request gets."""
    with pytest.raises(RequestFailed) as exc:
        await client.request(req, timeout=timeout)
    return exc.value.reply


def unmet(r) -> dict:
    return {e.name: e for e in r.expectations if not e.met}


def violations(r) -> list[str]:
    return [v["rule"] for v in r.summary["violations"]]


def assert_passed(r) -> None:
    assert r.exit_code == 0, (r.end_reason, r.client_output, unmet(r), [(v["rule"], v.get("detail")) for v in r.summary["violations"]])


async def calls_in_progress(c: CTIClient) -> list[int]:
    """What a client that connects during calls does first: SNAPSHOT_DEVICE_REQ for its phone (the
    mock flags a request naming a CallID the session was never told about: PROTO-UNKNOWN-CALL)."""
    conf = await c.request(M.SnapshotDeviceReq(invoke_id=0, agent_instrument=c.open_conf.agent_instrument), timeout=2)
    return [x.call_connection_call_id for x in conf.calls]


def conn(x):
    """A ControlFailureConf as (failure_code, ccx_error_code)."""
    assert x.TYPE is MT.CONTROL_FAILURE_CONF, x
    return x.failure_code, x.ccx_error_code


# -- every file loads ----------------------------------------------------------------------------------


def test_at_least_twenty_scenarios_are_shipped():
    assert len(SHIPPED) >= 20


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_loads(path):
    sc = load_scenario(path)
    assert sc.name == path.stem, "a scenario is named after its file"
    assert sc.description and len(sc.description) > 40, "a scenario says what it shows and what a client does"
    # a shipped scenario ends on its own: within 30 s, or 70 s for one that waits for a heartbeat at the
    # client's own cadence (up to IdleTimeout/2 = 60 s apart) and ends as soon as it comes
    limit = 70 if sc.end.when == "all_steps_done" else 30
    assert sc.end.after is not None and sc.end.after <= limit, "a shipped scenario ends on its own"


# -- login ---------------------------------------------------------------------------------------------


async def login(c: CTIClient, password: str = "1234"):
    return await c.set_agent_state(AS.AGENT_STATE_LOGIN, password=password)


@pytest.mark.asyncio
async def test_login_success():
    seen = {}

    async def driver(server):
        c = await agent(server)
        seen["open"] = c.open_conf
        await login(c)
        seen["login"] = await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        seen["ready"] = await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        await c.close()

    r = await run("login-success", driver)
    assert_passed(r)
    assert seen["open"].agent_state == AS.AGENT_STATE_LOGOUT and seen["open"].agent_id == "1001"
    assert (seen["login"].agent_state, seen["login"].event_reason_code) == (AS.AGENT_STATE_NOT_READY, 32760)
    assert seen["ready"].agent_state == AS.AGENT_STATE_READY


@pytest.mark.asyncio
async def test_login_success_fails_a_client_that_skips_the_login():
    async def driver(server):
        c = await agent(server)
        with contextlib.suppress(RequestFailed):
            await c.set_agent_state(AS.AGENT_STATE_READY)  # not logged in: refused
        await c.close()

    r = await run("login-success", driver)
    assert r.exit_code == 1
    miss = unmet(r)
    assert "logs-in-with-password" in miss and "agent_state" in miss["logs-in-with-password"].near_miss


@pytest.mark.asyncio
async def test_login_bad_password():
    seen = {}

    async def driver(server):
        c = await agent(server)
        seen["reply"] = await refused(c, M.SetAgentStateReq(
            invoke_id=0, agent_state=int(AS.AGENT_STATE_LOGIN), event_reason_code=0, agent_instrument="3001",
            agent_id="1001", agent_password="wrong"))
        seen["state"] = await c.request(M.QueryAgentStateReq(invoke_id=0, agent_instrument="3001"), timeout=2)
        await c.close()

    r = await run("login-bad-password", driver)
    assert_passed(r)
    assert conn(seen["reply"]) == (CF.CF_GENERIC_UNSPECIFIED, CCXErrorCode.CCX_AGENT_INVALID)
    assert seen["state"].agent_state == AS.AGENT_STATE_LOGOUT


@pytest.mark.asyncio
async def test_login_bad_password_refuses_the_password_a_correct_client_is_configured_with():
    """One client configuration runs every shipped scenario (`mockcti run scenarios/*.yaml --client-cmd ...`):
    login-success wants the password 1234. login-bad-password's center had agent 1001's password 1234 too,
    so a correct client logged in, went READY, and failed the scenario (no-ready-while-logged-out) that
    should have shown it a refused login."""
    seen = {}

    async def driver(server):
        c = await agent(server)
        with pytest.raises(RequestFailed) as exc:
            await login(c)  # the password login-success expects
        seen["reply"] = exc.value.reply
        await c.close()

    r = await run("login-bad-password", driver)
    assert_passed(r)
    assert conn(seen["reply"]) == (CF.CF_GENERIC_UNSPECIFIED, CCXErrorCode.CCX_AGENT_INVALID)


@pytest.mark.asyncio
async def test_login_bad_password_fails_a_client_that_keeps_retrying():
    async def driver(server):
        c = await agent(server)
        for _ in range(4):
            with contextlib.suppress(RequestFailed):
                await login(c, password="wrong")
        await c.close()

    r = await run("login-bad-password", driver)
    assert r.exit_code == 1
    assert "received 4" in unmet(r)["login-attempted"].detail


async def open_refused(server, **kw):
    c = await connect(server)
    try:
        with pytest.raises(RequestFailed) as exc:
            await c.open_agent(heartbeat=0, timeout=3, **kw)
        return exc.value.reply
    finally:
        await c.abort()


@pytest.mark.asyncio
@pytest.mark.parametrize("name,status", [
    ("open-refused-invalid-agent-data", S.E_CTI_INVALID_AGENT_DATA),
    ("open-refused-device-in-use", S.E_CTI_DEVICE_IN_USE),
])
async def test_open_refused(name, status):
    seen = {}

    async def driver(server):
        seen["reply"] = await open_refused(server, agent_id="1001", instrument="3001")

    r = await run(name, driver)
    assert_passed(r)
    assert seen["reply"].TYPE is MT.FAILURE_CONF and seen["reply"].status == status


@pytest.mark.asyncio
async def test_the_example_desktop_waits_after_a_refused_open():
    """examples/fuzz_client.py, the README's well-behaved desktop, opened again 0.2 s after every refusal:
    36 OPEN_REQs in this scenario's 8 s, each a PROTO-RETRY-TOO-SOON (§3.2 asks 10 s)."""
    import importlib.util

    path = SCENARIOS.parent / "examples" / "fuzz_client.py"
    spec = importlib.util.spec_from_file_location("mockcti_example_fuzz_client_refused", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    async def driver(server):  # the desktop runs until the scenario ends (8 s) and cancels it
        await example.agent_client()(server.host, server.port, asyncio.Event())

    r = await run("open-refused-invalid-agent-data", driver)
    assert r.end_reason != "driver finished", r.client_output
    assert_passed(r)


@pytest.mark.asyncio
async def test_open_refused_fails_a_client_that_retries_on_the_same_connection():
    """A client that sends OPEN_REQ again on the connection its OPEN_REQ was refused on. CTIClient.open()
    resets the connection after a refusal (§3.2), so this misbehaving client sends its OPEN_REQs as they
    are, with request()."""
    async def driver(server):
        c = await connect(server)
        for invoke_id in (1, 2):
            with contextlib.suppress(RequestFailed):
                await c.request(M.OpenReq(invoke_id=invoke_id, version_number=c.dialect.version, idle_timeout=60,
                                          services_requested=0x7, call_msg_mask=0xFFFFFF, agent_state_mask=0x3FFF,
                                          client_id="desk", client_password=b"", agent_id="1001",
                                          agent_instrument="3001"), timeout=3)
        await c.abort()

    r = await run("open-refused-invalid-agent-data", driver)
    assert r.exit_code == 1
    assert "opens-once" in unmet(r)
    assert "PROTO-RETRY-TOO-SOON" in violations(r)


@pytest.mark.asyncio
async def test_open_refused_fails_a_client_that_resets_and_retries_at_once():
    """The client resets the connection as it should, but opens again at once on a new one: the
    retry §3.2 asks to wait 10 s for (it was flagged on the same connection only)."""
    async def driver(server):
        for _ in range(2):  # a new connection per attempt (refused, then reset), no wait
            await open_refused(server, agent_id="1001", instrument="3001")

    r = await run("open-refused-invalid-agent-data", driver)
    assert r.exit_code == 1
    [v] = [v for v in r.summary["violations"] if v["rule"] == "PROTO-RETRY-TOO-SOON"]
    assert "after this client's OPEN_REQ was refused E_CTI_INVALID_AGENT_DATA" in v["detail"]


@pytest.mark.asyncio
async def test_open_refused_server_not_master_then_master():
    seen = {"refusals": []}

    async def driver(server):
        for _ in range(5):  # a new connection per attempt, bounded
            c = await connect(server)
            try:
                seen["conf"] = await c.open_agent(agent_id="1001", instrument="3001", heartbeat=0, timeout=3)
                await c.close()
                return
            except RequestFailed as exc:
                seen["refusals"].append(exc.reply.status)
                await c.abort()
                await asyncio.sleep(0.05)

    r = await run("open-refused-server-not-master", driver)
    assert_passed(r)
    assert seen["refusals"] == [S.E_CTI_SERVER_NOT_MASTER] * 2
    assert seen["conf"].TYPE is MT.OPEN_CONF


@pytest.mark.asyncio
async def test_open_refused_server_not_master_fails_a_client_that_gives_up():
    async def driver(server):
        await open_refused(server, agent_id="1001", instrument="3001")

    r = await run("open-refused-server-not-master", driver)
    assert r.exit_code == 1
    assert "received 1" in unmet(r)["retries-until-master"].detail


@pytest.mark.asyncio
async def test_open_refused_inconsistent_agent_data():
    seen = {}

    async def driver(server):
        seen["bad"] = await open_refused(server, agent_id="1001", instrument="3002")
        c = await agent(server, "1001")
        seen["good"] = c.open_conf
        await c.close()

    r = await run("open-refused-inconsistent-agent-data", driver)
    assert_passed(r)
    assert seen["bad"].status == S.E_CTI_INCONSISTENT_AGENT_DATA
    assert seen["good"].agent_instrument == "3001"


# -- agent state ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_agent_state_reason_codes():
    events = []

    async def driver(server):
        c = await agent(server)
        for state, reason in ((AS.AGENT_STATE_READY, 0), (AS.AGENT_STATE_NOT_READY, 12), (AS.AGENT_STATE_LOGOUT, 99)):
            await c.set_agent_state(state, reason=reason)
            events.append(await c.next_event(MT.AGENT_STATE_EVENT, timeout=2))
        await c.close()

    r = await run("agent-state-reason-codes", driver)
    assert_passed(r)
    assert [(e.agent_state, e.event_reason_code) for e in events] == [
        (AS.AGENT_STATE_READY, 0), (AS.AGENT_STATE_NOT_READY, 12), (AS.AGENT_STATE_LOGOUT, 99)]


@pytest.mark.asyncio
async def test_agent_state_reason_codes_fails_a_client_without_reason_codes():
    async def driver(server):
        c = await agent(server)
        for state in (AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_LOGOUT):
            await c.set_agent_state(state, reason=0)
        await c.close()

    r = await run("agent-state-reason-codes", driver)
    assert r.exit_code == 1
    miss = unmet(r)
    assert set(miss) >= {"not-ready-with-reason", "logout-with-reason", "never-not-ready-without-reason"}
    assert "event_reason_code" in miss["logout-with-reason"].near_miss


# -- call flows ----------------------------------------------------------------------------------------


async def ready_and_answer(c: CTIClient) -> int:
    """READY, wait for the call the timeline delivers, answer it; returns its CallID."""
    await c.set_agent_state(AS.AGENT_STATE_READY)
    delivered = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
    assert delivered.connection_device_id == "3001" and delivered.ani == "0612345678"
    await c.request(M.AnswerCallReq(invoke_id=0, call_id=delivered.call_id, connection_device_id="3001"))
    await c.next_event(MT.CALL_ESTABLISHED_EVENT, timeout=2)
    return delivered.call_id


async def consult(c: CTIClient, call: int, number: str = "0611111111"):
    conf = await c.request(M.ConsultCallReq(invoke_id=0, active_call_id=call, active_connection_device_id="3001",
                                            consult_type=1, dialed_number=number))
    await c.next_event(MT.CALL_ESTABLISHED_EVENT, timeout=2, where=lambda e: e.call_id == conf.new_call_id)
    return conf.new_call_id


@pytest.mark.asyncio
async def test_inbound_call_answer_hold_retrieve_clear():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        await c.request(M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        seen["held"] = await c.next_event(MT.CALL_HELD_EVENT, timeout=2)
        await c.request(M.RetrieveCallReq(invoke_id=0, held_call_id=call, held_connection_device_id="3001"))
        seen["retrieved"] = await c.next_event(MT.CALL_RETRIEVED_EVENT, timeout=2)
        seen["clear"] = await c.request(M.ClearConnectionReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        seen["end"] = await c.next_event(MT.END_CALL_EVENT, timeout=2)
        seen["call"] = call
        await c.close()

    r = await run("inbound-call-answer-hold-retrieve-clear", driver)
    assert_passed(r)
    assert seen["held"].call_id == seen["retrieved"].call_id == seen["end"].call_id == seen["call"]
    assert seen["clear"].TYPE is MT.CLEAR_CONNECTION_CONF


@pytest.mark.asyncio
async def test_inbound_call_fails_a_client_that_never_retrieves():
    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        await c.request(M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        await c.request(M.ClearConnectionReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        await c.close()

    r = await run("inbound-call-answer-hold-retrieve-clear", driver)
    assert r.exit_code == 1
    miss = unmet(r)
    assert "step retrieved" in miss and "RETRIEVE_CALL_REQ" in miss["step retrieved"].detail


@pytest.mark.asyncio
async def test_consult_transfer():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        consult_id = await consult(c, call)
        seen["conf"] = await c.request(M.TransferCallReq(
            invoke_id=0, held_call_id=call, active_call_id=consult_id, held_connection_device_id="3001",
            active_connection_device_id="3001", agent_instrument="3001"))
        seen["ev"] = await c.next_event(MT.CALL_TRANSFERRED_EVENT, timeout=2)
        await c.close()

    r = await run("consult-transfer", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.TRANSFER_CALL_CONF
    assert seen["ev"].transferring_device_id == "3001" and seen["ev"].transferred_device_id == "0611111111"


@pytest.mark.asyncio
async def test_blind_transfer():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        seen["conf"] = await c.request(M.TransferCallReq(
            invoke_id=0, held_call_id=NONE, held_connection_device_type=0xFFFF, active_call_id=call,
            active_connection_device_id="3001", dialed_number="0622222222", agent_instrument="3001"))
        seen["ev"] = await c.next_event(MT.CALL_TRANSFERRED_EVENT, timeout=2)
        seen["end"] = await c.next_event(MT.END_CALL_EVENT, timeout=2)
        await c.close()

    r = await run("blind-transfer", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.TRANSFER_CALL_CONF
    assert seen["ev"].transferred_device_id == "0622222222"


@pytest.mark.asyncio
async def test_slow_answer():
    seen = []

    async def driver(server):
        c = await agent(server)
        c.send(M.QueryAgentStateReq(invoke_id=77, agent_id="1001"))
        for _ in range(2):  # the answer 2 s late, then the flow's next step
            seen.append(await c.next_event(timeout=4))
        await c.close()

    r = await run("slow-answer", driver)
    assert r.exit_code == 0, unmet(r)
    assert r.end_reason == "all steps done"
    assert [m.TYPE for m in seen] == [MT.QUERY_AGENT_STATE_CONF, MT.SYSTEM_EVENT]
    assert seen[0].invoke_id == 77 and seen[1].text == "the server is back to speed"


@pytest.mark.asyncio
async def test_slow_answer_fails_an_impatient_client():
    async def driver(server):
        c = await agent(server)
        with pytest.raises(asyncio.TimeoutError):
            await c.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"), timeout=1)
        await c.request(M.QueryAgentStateReq(invoke_id=0, agent_id="1001"), timeout=3)  # asked again
        await c.next_event(MT.SYSTEM_EVENT, timeout=3)
        await c.close()

    r = await run("slow-answer", driver)
    assert r.exit_code == 1
    assert set(unmet(r)) == {"asks-once-meanwhile"}


async def screen_pop(c: CTIClient, seen: dict) -> int:
    """READY; the call rings with its data; answered; returns its CallID."""
    await c.set_agent_state(AS.AGENT_STATE_READY)
    seen["begin"] = await c.next_event(MT.BEGIN_CALL_EVENT, timeout=3)
    seen["delivered"] = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
    call = seen["delivered"].call_id
    await c.request(M.AnswerCallReq(invoke_id=0, call_id=call, connection_device_id="3001"))
    return call


@pytest.mark.asyncio
async def test_crm_screen_pop():
    from mockcti.wire.types import NamedArray, NamedVariable

    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await screen_pop(c, seen)
        await c.request(M.SetCallDataReq(invoke_id=0, call_id=call, connection_device_id="3001",
                                         call_variable2="CASE-123"))
        seen["update"] = await c.next_event(MT.CALL_DATA_UPDATE_EVENT, timeout=2)
        await c.close()

    r = await run("crm-screen-pop", driver)
    assert r.exit_code == 0, unmet(r)
    for ev in (seen["begin"], seen["delivered"]):
        assert ev.named_variables == (NamedVariable(name="user.customer.id", value="C-0815"),)
        assert ev.named_arrays == (NamedArray(index=0, name="user.items", value="router"),
                                   NamedArray(index=2, name="user.items", value="modem"))
    assert seen["begin"].call_variable1 == "ACC-4711" and seen["begin"].ani == "0612345678"
    assert seen["update"].call_variable2 == "CASE-123"


@pytest.mark.asyncio
async def test_crm_screen_pop_fails_a_connector_that_writes_no_case_number():
    async def driver(server):
        c = await agent(server)
        call = await screen_pop(c, {})
        await c.request(M.SetCallDataReq(invoke_id=0, call_id=call, connection_device_id="3001",
                                         call_variable2="ACC-4711"))
        await c.close()

    r = await run("crm-screen-pop", driver)
    assert r.exit_code == 1
    miss = unmet(r)
    assert set(miss) == {"writes-the-case-back"}
    assert "call_variable2 regex" in miss["writes-the-case-back"].near_miss and "'ACC-4711'" in miss[
        "writes-the-case-back"].near_miss


@pytest.mark.asyncio
async def test_caller_abandons():
    seen = {}

    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        seen["delivered"] = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
        seen["cleared"] = [await c.next_event(MT.CALL_CONNECTION_CLEARED_EVENT, timeout=4) for _ in range(2)]
        seen["end"] = await c.next_event(MT.END_CALL_EVENT, timeout=2)
        seen["state"] = await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        await c.close()

    r = await run("caller-abandons", driver)
    assert_passed(r)
    call = seen["delivered"].call_id
    assert [(e.call_id, e.connection_device_id, e.releasing_device_id) for e in seen["cleared"]] == [
        (call, "0612345678", "0612345678"), (call, "3001", "0612345678")]
    assert seen["end"].call_id == call and seen["state"].agent_state == AS.AGENT_STATE_READY  # after-call state


@pytest.mark.asyncio
async def test_caller_abandons_fails_a_client_that_answers_the_ended_call():
    seen = {}

    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        delivered = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
        await c.next_event(MT.END_CALL_EVENT, timeout=4)
        seen["reply"] = await refused(c, M.AnswerCallReq(invoke_id=0, call_id=delivered.call_id,
                                                         connection_device_id="3001"))
        await c.close()

    r = await run("caller-abandons", driver)
    assert r.exit_code == 1
    assert "never-answers-the-abandoned-call" in unmet(r)
    assert seen["reply"].TYPE is MT.FAILURE_CONF and seen["reply"].status == S.E_CTI_INVALID_CALLID


@pytest.mark.asyncio
async def test_blind_transfer_fails_a_client_that_consults_first():
    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        consult_id = await consult(c, call, "0622222222")
        await c.request(M.TransferCallReq(
            invoke_id=0, held_call_id=call, active_call_id=consult_id, held_connection_device_id="3001",
            active_connection_device_id="3001", agent_instrument="3001"))
        await c.close()

    r = await run("blind-transfer", driver)
    assert r.exit_code == 1
    miss = unmet(r)
    assert "no-consultation" in miss
    assert "held_call_id" in miss["step transferred"].near_miss


@pytest.mark.asyncio
async def test_consult_conference():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        consult_id = await consult(c, call)
        seen["conf"] = await c.request(M.ConferenceCallReq(
            invoke_id=0, held_call_id=call, active_call_id=consult_id, held_connection_device_id="3001",
            active_connection_device_id="3001", agent_instrument="3001"))
        seen["ev"] = await c.next_event(MT.CALL_CONFERENCED_EVENT, timeout=2)
        await c.close()

    r = await run("consult-conference", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.CONFERENCE_CALL_CONF and len(seen["conf"].parties) == 3
    assert seen["ev"].controller_device_id == "3001" and seen["ev"].added_party_device_id == "0611111111"


@pytest.mark.asyncio
async def test_consult_alternate_reconnect():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        consult_id = await consult(c, call)
        await c.request(M.AlternateCallReq(invoke_id=0, active_call_id=consult_id, other_call_id=call,
                                           active_connection_device_id="3001", other_connection_device_id="3001"))
        seen["alt"] = (await c.next_event(MT.CALL_HELD_EVENT, timeout=2),
                       await c.next_event(MT.CALL_RETRIEVED_EVENT, timeout=2))
        # now the caller is active and the consultation held: alternate back, then reconnect
        await c.request(M.AlternateCallReq(invoke_id=0, active_call_id=call, other_call_id=consult_id,
                                           active_connection_device_id="3001", other_connection_device_id="3001"))
        await c.request(M.ReconnectCallReq(invoke_id=0, held_call_id=call, active_call_id=consult_id,
                                           held_connection_device_id="3001", active_connection_device_id="3001"))
        seen["back"] = await c.next_event(MT.CALL_RETRIEVED_EVENT, timeout=2, where=lambda e: e.call_id == call)
        seen["ids"] = (call, consult_id)
        await c.close()

    r = await run("consult-alternate-reconnect", driver)
    assert_passed(r)
    call, consult_id = seen["ids"]
    assert (seen["alt"][0].call_id, seen["alt"][1].call_id) == (consult_id, call)
    assert seen["back"].call_id == call


@pytest.mark.asyncio
async def test_clear_call():
    seen = {}

    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        seen["conf"] = await c.request(M.ClearCallReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        seen["events"] = [e.TYPE for e in await c.events_until(MT.END_CALL_EVENT, timeout=2)]
        await c.close()

    r = await run("clear-call", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.CLEAR_CALL_CONF
    assert MT.CALL_CLEARED_EVENT in seen["events"] and seen["events"].count(MT.CALL_CONNECTION_CLEARED_EVENT) == 2


@pytest.mark.asyncio
async def test_clear_call_fails_a_client_that_only_drops_its_own_connection():
    async def driver(server):
        c = await agent(server)
        call = await ready_and_answer(c)
        await c.request(M.ClearConnectionReq(invoke_id=0, call_id=call, connection_device_id="3001"))
        await c.close()

    r = await run("clear-call", driver)
    assert r.exit_code == 1
    assert unmet(r)["step cleared"].detail == "still waiting for CLEAR_CALL_REQ"


# -- every call-control request failing with a Cisco CTIERR code ----------------------------------------

D = "3001"
CTIERR_CASES = {
    # scenario: (request from (call, consult), failure code, CTIERR name)
    "answer": (lambda a, b: M.AnswerCallReq(invoke_id=0, call_id=a, connection_device_id=D),
               CF.CF_NO_CALL_TO_ANSWER, "CTIERR_CALLHANDLE_NOTINCOMINGCALL"),
    "retrieve": (lambda a, b: M.RetrieveCallReq(invoke_id=0, held_call_id=a, held_connection_device_id=D),
                 CF.CF_GENERIC_OPERATION, "CTIERR_RETRIEVEFAILED"),
    "make-call": (lambda a, b: M.MakeCallReq(invoke_id=0, agent_instrument=D, dialed_number="0633333333"),
                  CF.CF_INVALID_CALLED_DEVICE, "CTIERR_REDIRECT_CALL_UNKNOWN_DESTINATION"),
    "consult": (lambda a, b: M.ConsultCallReq(invoke_id=0, active_call_id=a, active_connection_device_id=D,
                                              consult_type=1, dialed_number="0611111111"),
                CF.CF_GENERIC_OPERATION, "CTIERR_CONSULT_CALL_FAILURE"),
    "transfer": (lambda a, b: M.TransferCallReq(invoke_id=0, held_call_id=a, active_call_id=b, held_connection_device_id=D,
                                                active_connection_device_id=D, agent_instrument=D),
                 CF.CF_GENERIC_OPERATION, "CTIERR_TRANSFERFAILED_DESTINATION_BUSY"),
    "conference": (lambda a, b: M.ConferenceCallReq(invoke_id=0, held_call_id=a, active_call_id=b,
                                                    held_connection_device_id=D, active_connection_device_id=D,
                                                    agent_instrument=D),
                   CF.CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED, "CTIERR_CONFERENCE_FULL"),
    "alternate": (lambda a, b: M.AlternateCallReq(invoke_id=0, active_call_id=b, other_call_id=a,
                                                  active_connection_device_id=D, other_connection_device_id=D),
                  CF.CF_INVALID_OBJECT_STATE, "CTIERR_ILLEGAL_CALLSTATE"),
    "reconnect": (lambda a, b: M.ReconnectCallReq(invoke_id=0, held_call_id=a, active_call_id=b,
                                                  held_connection_device_id=D, active_connection_device_id=D),
                  CF.CF_GENERIC_OPERATION, "CTIERR_LINECONTROL_FAILURE"),
    "clear-connection": (lambda a, b: M.ClearConnectionReq(invoke_id=0, call_id=a, connection_device_id=D),
                         CF.CF_NO_CONNECTION_TO_CLEAR, "CTIERR_CALLHANDLE_UNKNOWN_TO_LINECONTROL"),
    "clear-call": (lambda a, b: M.ClearCallReq(invoke_id=0, call_id=a, connection_device_id=D),
                   CF.CF_NO_CALL_TO_CLEAR, "CTIERR_UNKNOWN_GLOBAL_CALL_HANDLE"),
    "send-dtmf": (lambda a, b: M.SendDtmfSignalReq(invoke_id=0, call_id=a, connection_device_id=D, dtmf_string="123#"),
                  CF.CF_GENERIC_OPERATION, "CTIERR_DIGIT_GENERATION_WRONG_CALL_STATE"),
    "set-call-data": (lambda a, b: M.SetCallDataReq(invoke_id=0, call_id=a, connection_device_id=D, call_variable1="x" * 39),
                      CF.CF_GENERIC_OPERATION, "CTIERR_DATA_SIZE_LIMIT_EXCEEDED"),
}


def ctierr_driver(name: str, attempts: int, seen: dict):
    build, _, _ = CTIERR_CASES[name]

    async def driver(server):
        c = await agent(server)
        ids = await calls_in_progress(c)
        assert ids == server.center.preset_call_ids
        ids += [None, None]
        seen["replies"] = [await refused(c, build(ids[0], ids[1])) for _ in range(attempts)]
        seen["state"] = await c.request(M.QueryAgentStateReq(invoke_id=0, agent_instrument=D), timeout=2)
        await c.close()
    return driver


def test_every_call_control_request_has_a_ctierr_scenario():
    requests = {load_scenario(SCENARIOS / f"ctierr-{n}.yaml").rules[0].when.message.name for n in CTIERR_CASES}
    requests |= {load_scenario(SCENARIOS / "hold-fails-with-ctierr.yaml").rules[0].when.message.name}
    assert requests == {"ANSWER_CALL_REQ", "HOLD_CALL_REQ", "RETRIEVE_CALL_REQ", "MAKE_CALL_REQ", "CONSULT_CALL_REQ",
                        "TRANSFER_CALL_REQ", "CONFERENCE_CALL_REQ", "ALTERNATE_CALL_REQ", "RECONNECT_CALL_REQ",
                        "CLEAR_CONNECTION_REQ", "CLEAR_CALL_REQ", "SEND_DTMF_SIGNAL_REQ", "SET_CALL_DATA_REQ"}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(CTIERR_CASES))
async def test_ctierr(name):
    seen = {}
    _, cf, code = CTIERR_CASES[name]
    r = await run(f"ctierr-{name}", ctierr_driver(name, 1, seen))
    assert_passed(r)
    [reply] = seen["replies"]
    assert conn(reply) == (cf, ctierr(code))
    # nothing changed: the agent is still on its calls (TALKING, or RESERVED while ringing; NOT_READY without a call)
    assert seen["state"].agent_state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_NOT_READY)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["transfer", "send-dtmf"])
async def test_ctierr_fails_a_client_that_retries_in_a_loop(name):
    seen = {}
    r = await run(f"ctierr-{name}", ctierr_driver(name, 3, seen))
    assert r.exit_code == 1
    assert "received 3" in unmet(r)["tries-at-most-twice"].detail


@pytest.mark.asyncio
async def test_hold_fails_with_ctierr_then_succeeds():
    seen = {}

    async def driver(server):
        c = await agent(server)
        [call] = await calls_in_progress(c)
        req = M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id=D)
        seen["first"] = await refused(c, req)
        seen["second"] = await c.request(req)
        seen["held"] = await c.next_event(MT.CALL_HELD_EVENT, timeout=2)
        await c.close()

    r = await run("hold-fails-with-ctierr", driver)
    assert_passed(r)
    assert conn(seen["first"]) == (CF.CF_GENERIC_OPERATION, ctierr("CTIERR_HOLDFAILED"))
    assert seen["second"].TYPE is MT.HOLD_CALL_CONF


@pytest.mark.asyncio
async def test_hold_fails_with_ctierr_fails_a_client_that_gives_up():
    async def driver(server):
        c = await agent(server)
        [call] = await calls_in_progress(c)
        await refused(c, M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id=D))
        await c.close()

    r = await run("hold-fails-with-ctierr", driver)
    assert r.exit_code == 1
    assert "received 1" in unmet(r)["expect1"].detail


# -- ACD rule violations, one per ACD state family ----------------------------------------------------------


async def answered_inbound(c: CTIClient) -> int:
    delivered = await c.next_event(MT.CALL_DELIVERED_EVENT, timeout=3)
    await c.request(M.AnswerCallReq(invoke_id=0, call_id=delivered.call_id, connection_device_id=D))
    return delivered.call_id


async def bad_line1connected(c):
    [call] = await calls_in_progress(c)
    return await refused(c, M.RetrieveCallReq(invoke_id=0, held_call_id=call, held_connection_device_id=D))


async def bad_line1held(c):
    [call] = await calls_in_progress(c)
    return await refused(c, M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id=D))


async def bad_delivered(c):
    [call] = await calls_in_progress(c)
    return await refused(c, M.HoldCallReq(invoke_id=0, call_id=call, connection_device_id=D))


async def bad_originated(c):
    call = await answered_inbound(c)
    conf = await c.request(M.ConsultCallReq(invoke_id=0, active_call_id=call, active_connection_device_id=D,
                                            consult_type=2, dialed_number="3002"))
    return await refused(c, M.ConferenceCallReq(invoke_id=0, held_call_id=call, active_call_id=conf.new_call_id,
                                                held_connection_device_id=D, active_connection_device_id=D,
                                                agent_instrument=D))


async def bad_line2connected(c):
    call = await answered_inbound(c)
    await consult(c, call)
    return await refused(c, M.ConsultCallReq(invoke_id=0, active_call_id=call, active_connection_device_id=D,
                                             consult_type=1, dialed_number="0622222222"))


async def bad_line2allheld(c):
    call = await answered_inbound(c)
    consult_id = await consult(c, call)
    await c.request(M.HoldCallReq(invoke_id=0, call_id=consult_id, connection_device_id=D))
    return await refused(c, M.AlternateCallReq(invoke_id=0, active_call_id=consult_id, other_call_id=call,
                                               active_connection_device_id=D, other_connection_device_id=D))


async def bad_held(c):
    first, second = await calls_in_progress(c)
    return await refused(c, M.ConferenceCallReq(invoke_id=0, held_call_id=first, active_call_id=second,
                                                held_connection_device_id=D, active_connection_device_id=D,
                                                agent_instrument=D))


async def bad_line2conferenced(c):
    call = await answered_inbound(c)
    consult_id = await consult(c, call)
    await c.request(M.ConferenceCallReq(invoke_id=0, held_call_id=call, active_call_id=consult_id,
                                        held_connection_device_id=D, active_connection_device_id=D,
                                        agent_instrument=D))
    return await refused(c, M.RetrieveCallReq(invoke_id=0, held_call_id=call, held_connection_device_id=D))


ACD_CASES = {
    # scenario: (misbehaving driver, rule, ACD state, seed-000 code name)
    "acd-violation-line1connected": (bad_line1connected, "ACD-1132", "Line1Connected", "ACD_RETRIEVE_BAD_STATE"),
    "acd-violation-line1held": (bad_line1held, "ACD-1128", "Line1Held", "ACD_HOLD_BAD_STATE"),
    "acd-violation-delivered": (bad_delivered, "ACD-1128", "Delivered", "ACD_HOLD_BAD_STATE"),
    "acd-violation-originated": (bad_originated, "ACD-1133", "Originated", "ACD_CONFERENCE_BAD_STATE"),
    "acd-violation-line2connected": (bad_line2connected, "ACD-1148", "Line2Connected", "ACD_CONSULT_BAD_STATE"),
    "acd-violation-line2allheld": (bad_line2allheld, "ACD-1152", "Line2AllHeld", "ACD_ALTERNATE_BAD_STATE"),
    "acd-violation-held": (bad_held, "ACD-1133", "Held", "ACD_CONFERENCE_BAD_STATE"),
    "acd-violation-line2conferenced": (bad_line2conferenced, "ACD-1132", "Line2Conferenced",
                                       "ACD_RETRIEVE_BAD_STATE"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(ACD_CASES))
async def test_acd_violation_fails_a_misbehaving_client(name):
    bad, rule, state, code_name = ACD_CASES[name]
    seen = {}

    async def driver(server):
        c = await agent(server)
        seen["reply"] = await bad(c)
        await c.close()

    r = await run(name, driver)
    assert r.exit_code == 1, r.client_output
    reply = seen["reply"]
    assert reply.TYPE is MT.CONTROL_FAILURE_CONF and reply.failure_code == CF.CF_INVALID_OBJECT_STATE
    assert reply.text.startswith(code_name)
    [v] = [v for v in r.summary["violations"] if v["rule"] == rule]
    assert (v["acd_state"], v["code_name"]) == (state, code_name)
    assert violations(r) == [rule], "the only violation is the ACD one"
    assert r.summary["violations_by_rule"] == {rule: 1}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", [n for n in sorted(ACD_CASES) if n.startswith(("acd-violation-line2",
                                                                                 "acd-violation-originated"))])
async def test_acd_violation_catches_a_client_that_connects_as_a_process_does(name):
    """Under `mockcti run` the client is a process: it connects some time after the server listens.
    These scenarios delivered their inbound call at 0.2 s of the server's clock, before such a
    client was there: it never saw CALL_DELIVERED_EVENT, never reached the request the scenario is
    about, and a client with that very bug passed. The call now rings 0.2 s after the OPEN_REQ."""
    bad, rule, _state, _code = ACD_CASES[name]
    seen = {}

    async def driver(server):
        await asyncio.sleep(0.6)  # a client process starting (interpreter, imports)
        c = await agent(server)
        seen["reply"] = await bad(c)
        await c.close()

    r = await run(name, driver)
    assert r.exit_code == 1 and r.client_exit is None, (r.client_output, r.end_reason)
    assert seen["reply"].TYPE is MT.CONTROL_FAILURE_CONF
    assert violations(r) == [rule]


@pytest.mark.asyncio
async def test_event_storm_reaches_a_client_that_connects_as_a_process_does():
    """The storm blew at 0.3-0.39 s of the server's clock: a client process connecting later got
    none of it and passed without being tested. It now starts 0.3 s after the OPEN_REQ."""
    seen = {}

    async def driver(server):
        await asyncio.sleep(0.6)
        c = await agent(server)
        await asyncio.sleep(0.6)
        seen["alive"] = await alive(c, 2)
        seen["agent"] = [e.TYPE for e in c.drain_events()]
        await c.close()

    r = await run("event-storm", driver)
    assert_passed(r)
    assert seen["alive"] and seen["agent"].count(MT.SYSTEM_EVENT) == 200


@pytest.mark.asyncio
async def test_event_storm_waits_for_a_heartbeat_at_the_clients_own_cadence():
    """The scenario ended after 8 s and expected a HEARTBEAT_REQ by then: a client heartbeating every
    IdleTimeout/4 = 15 s (CTIClient's default at IdleTimeout 60; any interval over 8 s) failed it. Now
    it waits up to 65 s for the heartbeat after the storm and ends there."""
    async def driver(server):
        c = await agent(server, heartbeat=9)
        await asyncio.sleep(9.8)
        await c.close()

    r = await run("event-storm", driver, timeout=20)
    assert_passed(r)
    assert r.end_reason == "all steps done"


@pytest.mark.asyncio
async def test_event_storm_fails_a_client_that_stops_heartbeating():
    async def driver(server):
        c = await agent(server)  # heartbeat=0: it never heartbeats
        await asyncio.sleep(1.0)
        await c.close()

    r = await run("event-storm", driver, timeout=2)
    assert "heartbeat-after-the-storm" in " ".join(e.name for e in r.expectations if not e.met)


@pytest.mark.asyncio
async def test_acd_violation_line1held_passes_a_client_that_retrieves():
    async def driver(server):
        c = await agent(server)
        [call] = await calls_in_progress(c)
        await c.request(M.RetrieveCallReq(invoke_id=0, held_call_id=call, held_connection_device_id=D))
        await c.close()

    assert_passed(await run("acd-violation-line1held", driver))


@pytest.mark.asyncio
async def test_acd_violation_originated_passes_a_client_that_waits_for_the_answer():
    async def driver(server):
        c = await agent(server)
        call = await answered_inbound(c)
        conf = await c.request(M.ConsultCallReq(invoke_id=0, active_call_id=call, active_connection_device_id=D,
                                                consult_type=2, dialed_number="3002"))
        with pytest.raises(asyncio.TimeoutError):  # 3002 never answers: no conference
            await c.next_event(MT.CALL_ESTABLISHED_EVENT, timeout=0.3, where=lambda e: e.call_id == conf.new_call_id)
        # give up the consultation and go back to the caller
        await c.request(M.ClearConnectionReq(invoke_id=0, call_id=conf.new_call_id, connection_device_id=D))
        await c.request(M.RetrieveCallReq(invoke_id=0, held_call_id=call, held_connection_device_id=D))
        await c.close()

    assert_passed(await run("acd-violation-originated", driver))


# -- heartbeat loss, failover, framing, transport and protocol faults -------------------------------------


async def alive(c: CTIClient, timeout: float = 0.4) -> bool:
    """A HEARTBEAT_REQ answered in time (False: no answer, garbage, or the connection is gone)."""
    try:
        await c.request(M.HeartbeatReq(invoke_id=0), timeout=timeout)
        return True
    except (asyncio.TimeoutError, ConnectionClosed, RequestFailed, ConnectionError, OSError):
        return False


async def hang_up(c: CTIClient) -> None:
    """Give up a broken connection: CLOSE_REQ without waiting for CLOSE_CONF, then close the socket
    (a disconnect without CLOSE_REQ is a protocol violation, PROTO-NO-CLOSE)."""
    with contextlib.suppress(Exception):
        c.send(M.CloseReq(invoke_id=c.next_invoke_id(), status=0))
    await c.abort()


async def reopen(server, attempts: int = 20, statuses: list | None = None) -> CTIClient:
    """A new connection and session, retried with a short back-off (bounded)."""
    for _ in range(attempts):
        c = await connect(server)
        try:
            await c.open_agent(agent_id="1001", instrument=D, heartbeat=0, timeout=2)
            return c
        except RequestFailed as exc:
            if statuses is not None:
                statuses.append(exc.reply.status)
            await c.abort()
            await asyncio.sleep(0.15)
    raise AssertionError("could not reopen a session")


@pytest.mark.asyncio
async def test_heartbeat_loss():
    seen = {}

    async def driver(server):
        c = await agent(server)
        seen["first"] = await alive(c)
        await hang_up(c)
        c = await reopen(server)
        seen["reopened"] = c.open_conf.TYPE
        await c.close()

    r = await run("heartbeat-loss", driver)
    assert_passed(r)
    assert seen == {"first": False, "reopened": MT.OPEN_CONF}


@pytest.mark.asyncio
@pytest.mark.parametrize("name, interval", [("heartbeat-loss", 0.2), ("heartbeat-loss", 5.0), ("truncated-frame", 5.0)],
                         ids=["fast", "reference-minimum", "truncated-frame"])
async def test_heartbeat_loss_passes_a_client_that_follows_the_reference(name, interval):
    """Reference §3.4: three heartbeats unanswered, the client declares the session failed and
    resets the TCP connection, as mockcti.client.CTIClient does. The scenario failed such a client
    twice over: it ended after 8 s, before three heartbeats at the minimum interval of 5 s had gone
    unanswered (reconnects unmet), and the reset was a PROTO-NO-CLOSE violation. A client that
    leaves without CLOSE_REQ while its heartbeats are answered still breaks the rule."""
    seen = {}

    async def driver(server):
        c = await connect(server)
        await c.open_agent(agent_id="1001", instrument=D, idle_timeout=20, heartbeat=interval, timeout=3)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        await asyncio.wait_for(c.closed.wait(), 5 * interval + 5)
        seen["reason"] = c.close_reason
        c = await reopen(server)
        await c.close()

    r = await run(name, driver, timeout=40)
    assert_passed(r)
    if name == "heartbeat-loss":
        assert seen["reason"] == "3 heartbeats unanswered (reference §3.4)"


@pytest.mark.asyncio
async def test_leaving_without_close_req_while_heartbeats_are_answered_is_still_a_violation():
    from mockcti.scenario.loader import load_scenario_text

    sc = load_scenario_text("name: hb\nfaults: [{kind: no_heartbeat_conf, params: {count: 1}}]\nend: {after: 10}\n",
                            filename="hb.yaml")

    async def driver(server):
        c = await agent(server)
        assert not await alive(c, 0.3)  # withheld
        assert await alive(c, 2)  # answered: the server is there
        await c.abort()

    r = await run_scenario(sc, on_started=driver, timeout=10)
    assert violations(r) == ["PROTO-NO-CLOSE"]


@pytest.mark.asyncio
async def test_heartbeat_loss_fails_a_client_that_does_not_reconnect():
    async def driver(server):
        c = await agent(server)
        for _ in range(3):
            await alive(c, 0.2)
        await c.abort()

    r = await run("heartbeat-loss", driver)
    assert r.exit_code == 1
    assert "received 1" in unmet(r)["reconnects"].detail


@pytest.mark.asyncio
async def test_failover():
    seen = {"statuses": []}

    async def driver(server):
        c = await agent(server)
        await asyncio.wait_for(c.closed.wait(), 3)  # reset by the failover
        seen["reason"] = c.close_reason
        await c.abort()
        c = await reopen(server, statuses=seen["statuses"])
        seen["conf"] = c.open_conf
        await c.close()

    r = await run("failover", driver)
    assert_passed(r)
    assert seen["statuses"] and set(seen["statuses"]) == {S.E_CTI_SERVER_NOT_MASTER}
    assert seen["conf"].TYPE is MT.OPEN_CONF


@pytest.mark.asyncio
async def test_failover_fails_a_client_that_gives_up():
    async def driver(server):
        c = await agent(server)
        await asyncio.wait_for(c.closed.wait(), 3)
        await c.abort()

    r = await run("failover", driver)
    assert r.exit_code == 1
    assert "received 1" in unmet(r)["reopens"].detail


async def survive_framing_fault(server, seen):
    c = await agent(server)
    await c.set_agent_state(AS.AGENT_STATE_READY)
    await asyncio.sleep(0.3)  # the fault arrives 0.1 s after READY
    seen["alive"] = await alive(c)
    seen["reason"] = c.close_reason
    await hang_up(c)
    c = await reopen(server)
    seen["state"] = c.open_conf.agent_state
    await c.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["garbage-frames", "truncated-frame"])
async def test_framing_fault(name):
    seen = {}
    r = await run(name, lambda server: survive_framing_fault(server, seen))
    assert_passed(r)
    assert seen["alive"] is False
    # the new session finds the agent logged in but NOT_READY: when its connection broke nobody drove it
    # any more, and it stopped being offered calls (center on_agent_disconnect, AGT_CONN_DOWN)
    assert seen["state"] == AS.AGENT_STATE_NOT_READY
    kinds = [f.get("fault") for f in r.summary["faults"]]
    assert any(k and k.startswith("framing fault") for k in kinds), kinds


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["garbage-frames", "truncated-frame"])
async def test_framing_fault_fails_a_client_that_does_not_reconnect(name):
    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        await asyncio.sleep(0.3)
        await alive(c)
        await c.abort()

    r = await run(name, driver)
    assert r.exit_code == 1
    assert "reconnects" in unmet(r)


@pytest.mark.asyncio
async def test_event_storm():
    seen = {}

    async def driver(server):
        c = await agent(server)
        bridge = await connect(server)
        await bridge.open_bridge(heartbeat=0, timeout=2)
        await asyncio.sleep(0.6)  # the storm is over by 0.4 s
        seen["alive"] = await alive(c, 2)
        seen["agent"] = [e.TYPE for e in c.drain_events()]
        seen["bridge"] = [e.TYPE for e in bridge.drain_events()]
        await bridge.close()
        await c.close()

    r = await run("event-storm", driver)
    assert_passed(r)
    assert seen["alive"]
    assert seen["agent"].count(MT.SYSTEM_EVENT) == 200
    assert seen["bridge"].count(MT.SYSTEM_EVENT) == 200 and seen["bridge"].count(MT.CALL_QUEUED_EVENT) == 10


@pytest.mark.asyncio
async def test_dribble():
    seen = {}

    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        seen["ev"] = await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        # the close waits for the dribbled CLOSE_CONF (it used to cut it: no CLOSE_CONF arrived)
        seen["close"] = await c.request(M.CloseReq(invoke_id=0, status=0), timeout=3)
        await c.abort()

    r = await run("dribble", driver)
    assert_passed(r)
    assert seen["ev"].agent_state == AS.AGENT_STATE_READY
    assert seen["close"].TYPE is MT.CLOSE_CONF


@pytest.mark.asyncio
async def test_coalesce():
    seen = {}

    async def driver(server):
        c = await agent(server)
        seen["conf"] = await c.set_agent_state(AS.AGENT_STATE_READY)
        seen["ev"] = await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        await c.close()

    r = await run("coalesce", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.SET_AGENT_STATE_CONF and seen["ev"].agent_state == AS.AGENT_STATE_READY


@pytest.mark.asyncio
async def test_duplicate_event():
    seen = {}

    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        await asyncio.sleep(0.2)
        seen["events"] = [e for e in c.drain_events() if e.TYPE is MT.AGENT_STATE_EVENT]
        await c.close()

    r = await run("duplicate-event", driver)
    assert_passed(r)
    assert [e.agent_state for e in seen["events"]] == [AS.AGENT_STATE_READY] * 2


@pytest.mark.asyncio
async def test_duplicate_event_fails_a_client_that_acts_on_each_event():
    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        for _ in range(2):  # "the state changed again": ask for READY once more
            await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
            with contextlib.suppress(RequestFailed):
                await c.set_agent_state(AS.AGENT_STATE_READY)
        await c.close()

    r = await run("duplicate-event", driver)
    assert r.exit_code == 1
    assert "received 3" in unmet(r)["asks-once"].detail


@pytest.mark.asyncio
async def test_out_of_order_events():
    seen = {}

    async def driver(server):
        c = await agent(server)
        await c.set_agent_state(AS.AGENT_STATE_READY)
        await c.next_event(MT.AGENT_STATE_EVENT, timeout=2)
        seen["order"] = [(await c.next_event(timeout=2)).TYPE for _ in range(3)]
        call = next(e for e in c.received if e.TYPE is MT.CALL_DELIVERED_EVENT).call_id
        await c.request(M.AnswerCallReq(invoke_id=0, call_id=call, connection_device_id=D))
        await c.close()

    r = await run("out-of-order-events", driver)
    assert_passed(r)
    assert seen["order"] == [MT.CALL_DELIVERED_EVENT, MT.BEGIN_CALL_EVENT, MT.AGENT_STATE_EVENT]


@pytest.mark.asyncio
async def test_wrong_invoke_id():
    seen = {}

    async def driver(server):
        c = await agent(server)
        req = M.QueryAgentStateReq(invoke_id=c.next_invoke_id(), agent_instrument=D)
        seen["invoke"] = req.invoke_id
        with pytest.raises(asyncio.TimeoutError):
            await c.request(req, timeout=0.3)
        seen["stray"] = [m for m in c.received if m.TYPE is MT.QUERY_AGENT_STATE_CONF]
        seen["retry"] = await c.request(M.QueryAgentStateReq(invoke_id=0, agent_instrument=D), timeout=2)
        await c.close()

    r = await run("wrong-invoke-id", driver)
    assert_passed(r)
    [stray] = seen["stray"]
    assert stray.invoke_id == seen["invoke"] + 1
    assert seen["retry"].agent_state == AS.AGENT_STATE_NOT_READY


@pytest.mark.asyncio
async def test_late_open_conf():
    seen = {}

    async def driver(server):
        c = await connect(server)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        seen["conf"] = await c.open_agent(agent_id="1001", instrument=D, heartbeat=0, timeout=3)
        seen["waited"] = loop.time() - t0
        await c.close()

    r = await run("late-open-conf", driver)
    assert_passed(r)
    assert seen["conf"].TYPE is MT.OPEN_CONF and seen["waited"] >= 0.9


@pytest.mark.asyncio
async def test_late_open_conf_fails_an_impatient_client():
    async def driver(server):
        c = await connect(server)
        with pytest.raises(asyncio.TimeoutError):
            await c.open_agent(agent_id="1001", instrument=D, heartbeat=0, timeout=0.3)
        c.send(M.HeartbeatReq(invoke_id=c.next_invoke_id()))
        await asyncio.sleep(0.1)
        await c.abort()

    r = await run("late-open-conf", driver)
    assert r.exit_code == 1
    assert "PROTO-OPEN-FIRST" in violations(r)


# -- robustness: any client against any shipped scenario ----------------------------------------------------


def _random_requests(rng, hub, agent: str, invoke: int):
    """One plausible request of a desktop that does not follow the rules: call-control on the calls
    the center has (or on unknown CallIDs), any agent state, heartbeats, queries."""
    ext = "300" + agent[-1]
    calls = list(hub.center.calls) or [rng.randrange(1, 20)]
    c, c2 = rng.choice(calls + [rng.randrange(16777500, 16777520)]), rng.choice(calls)
    return rng.choice([
        M.SetAgentStateReq(invoke_id=invoke, agent_state=int(rng.choice(list(AS))), agent_instrument=ext,
                           agent_id=agent, agent_password="1234"),
        M.AnswerCallReq(invoke_id=invoke, call_id=c, connection_device_id=ext),
        M.HoldCallReq(invoke_id=invoke, call_id=c, connection_device_id=ext),
        M.RetrieveCallReq(invoke_id=invoke, held_call_id=c, held_connection_device_id=ext),
        M.ClearConnectionReq(invoke_id=invoke, call_id=c, connection_device_id=ext),
        M.ClearCallReq(invoke_id=invoke, call_id=c, connection_device_id=ext),
        M.ConsultCallReq(invoke_id=invoke, active_call_id=c, active_connection_device_id=ext,
                         dialed_number=rng.choice(["3002", "3001", "0699", "7000"])),
        M.TransferCallReq(invoke_id=invoke, active_call_id=c, held_call_id=rng.choice([c2, 0xFFFFFFFF]),
                          held_connection_device_type=0xFFFF, active_connection_device_id=ext,
                          held_connection_device_id=ext, dialed_number=rng.choice(["3002", "0699"])),
        M.ConferenceCallReq(invoke_id=invoke, active_call_id=c, held_call_id=c2, active_connection_device_id=ext,
                            held_connection_device_id=ext, agent_instrument=ext),
        M.MakeCallReq(invoke_id=invoke, agent_instrument=ext, dialed_number=rng.choice(["3002", "0699", "3001"])),
        M.HeartbeatReq(invoke_id=invoke),
        M.QueryAgentStateReq(invoke_id=invoke, agent_id=agent),
    ])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_no_client_behaviour_makes_a_shipped_scenario_raise(path):
    """Seeded random desktops (40 requests each, any order, calls arriving now and then, time
    jumping ahead) against every shipped scenario, in process: nothing raises out of the hub (an
    exception there would be an "internal error" that fails the run), and verifying at the end
    works. Found the ${variable}-not-captured-yet crash of 2026-11-30."""
    import random

    from mockcti.hub import Hub
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.wire import Dialect, encode

    d = Dialect.uccx(14)
    sc = load_scenario(path)
    for seed in range(6):
        rng = random.Random(seed)
        engine = ScenarioEngine(sc, seed=seed)
        hub = Hub(engine.build_center(), engine=engine)
        agents = [a for a in ("1001", "1002") if a in hub.center.agents] or sorted(hub.center.agents)[:1]
        now, invoke, sids = 0.5, 10, {}
        for agent in [*agents, None]:
            sids[agent] = sid = hub.connect(now)
            ext = None if agent is None else "300" + agent[-1]
            hub.receive(sid, encode(M.OpenReq(
                invoke_id=1, version_number=14, idle_timeout=600, services_requested=0x7 if agent else 0x10,
                call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id=f"desk{agent}", client_password=b"",
                agent_id=agent, agent_extension=ext, agent_instrument=ext), d), now)
        for _ in range(40):
            now += rng.choice([0.01, 0.1, 0.5, 1.0, 3.0])
            hub.tick(now)
            agent = rng.choice(agents)
            invoke += 1
            hub.receive(sids[agent], encode(_random_requests(rng, hub, agent, invoke), d), now)
            if rng.random() < 0.1 and hub.center.agents[agent].state == AS.AGENT_STATE_READY:
                hub.deliver(hub.center.deliver_call(now, agent_id=agent)[1])
        hub.tick(now + 100)
        engine.verify(now + 100)  # verifying what this client did must not raise either


# -- supervisor ----------------------------------------------------------------------------------------


def supervise(call: int, action: int) -> M.SuperviseCallReq:
    return M.SuperviseCallReq(invoke_id=0, agent_call_id=call, supervisor_call_id=NONE, agent_connection_device_type=0,
                              supervisor_connection_device_type=0, supervisory_action=action, agent_id="1001")


@pytest.mark.asyncio
async def test_supervisor_barge_in():
    seen = {}

    async def driver(server):
        c = await agent(server)
        sup = await agent(server, "1009", services=0x87)  # a supervisor's desktop: SUPERVISOR granted
        call = await ready_and_answer(c)
        seen["confs"] = [(await sup.request(supervise(call, action))).TYPE for action in (3, 4, 0)]
        seen["agent"] = await c.events_until(MT.END_CALL_EVENT, timeout=2)
        seen["sup"] = [e.TYPE for e in await sup.events_until(MT.END_CALL_EVENT, timeout=2)]
        await c.close()
        await sup.close()

    r = await run("supervisor-barge-in", driver)
    assert_passed(r)
    assert seen["confs"] == [MT.SUPERVISE_CALL_CONF] * 3
    causes = {e.TYPE: e.event_cause for e in seen["agent"] if hasattr(e, "event_cause")}
    assert causes[MT.CALL_CONFERENCED_EVENT] == 48 and causes[MT.CALL_CONNECTION_CLEARED_EVENT] == 49
    assert seen["sup"][:2] == [MT.BEGIN_CALL_EVENT, MT.CALL_DELIVERED_EVENT] and MT.CALL_CLEARED_EVENT in seen["sup"]


@pytest.mark.asyncio
async def test_supervisor_barge_in_fails_a_supervisor_that_never_clears():
    async def driver(server):
        c = await agent(server)
        sup = await agent(server, "1009", services=0x87)
        call = await ready_and_answer(c)
        await sup.request(supervise(call, 3))
        await sup.request(supervise(call, 4))
        await c.close()
        await sup.close()

    r = await run("supervisor-barge-in", driver)
    assert r.exit_code == 1
    assert unmet(r)["step clear"].detail == "still waiting for SUPERVISE_CALL_REQ"
