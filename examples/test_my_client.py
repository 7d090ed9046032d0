"""Testing a CTI client against the mock with the mockcti pytest plugin.

Run with ``pytest examples/``. The plugin is loaded automatically once mockcti is installed
(a ``pytest11`` entry point); it provides ``cti_server`` (a mock on 127.0.0.1, a free port,
running on its own thread) and ``cti_async_server`` (the mock in the test's own event loop).

Two clients are tested here the way you would test yours:

- ``mockcti.client.CTIClient``, an asyncio client (stand-in for your asyncio client);
- ``SyncDesk`` from ``sync_desk.py``, a blocking-socket client (stand-in for a synchronous one).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mockcti.client import CTIClient
from mockcti.wire import MessageType as MT
from mockcti.wire.enums import AgentState
from mockcti.wire.messages import AnswerCallReq, ClearConnectionReq, HoldCallReq, RetrieveCallReq

# the default center: agents 1001-1004 (extensions 3001-3004, password 1234), CSQs Sales and Support


def _load_sync_desk():
    """Import sync_desk.py beside this file (works whatever pytest's import mode)."""
    spec = importlib.util.spec_from_file_location("mockcti_example_sync_desk", Path(__file__).with_name("sync_desk.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- an asyncio client ----------------------------------------------------------------------------------


@pytest.mark.asyncio  # not needed with asyncio_mode = auto
async def test_inbound_call_answer_hold_retrieve_clear(cti_server):
    async with await CTIClient.connect(cti_server.host, cti_server.port) as cti:
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await cti.set_agent_state(AgentState.AGENT_STATE_READY)

        call_id = cti_server.deliver_call(csq="Sales", ani="0612345678")  # a caller arrives
        delivered = await cti.next_event(MT.CALL_DELIVERED_EVENT)
        assert delivered.call_id == call_id

        await cti.request(AnswerCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
        await cti.next_event(MT.CALL_ESTABLISHED_EVENT)
        await cti.request(HoldCallReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
        await cti.next_event(MT.CALL_HELD_EVENT)
        await cti.request(RetrieveCallReq(invoke_id=0, held_call_id=call_id, held_connection_device_id="3001"))
        await cti.next_event(MT.CALL_RETRIEVED_EVENT)
        await cti.request(ClearConnectionReq(invoke_id=0, call_id=call_id, connection_device_id="3001"))
        await cti.next_event(MT.END_CALL_EVENT)

    # what the client sent, as the server saw it
    cti_server.assert_received("SET_AGENT_STATE_REQ", agent_state="READY")
    cti_server.assert_received("HOLD_CALL_REQ", count=1, call_id=call_id)
    cti_server.assert_received("RETRIEVE_CALL_REQ", held_call_id=call_id)
    cti_server.assert_received("CLOSE_REQ")  # it said goodbye before leaving
    cti_server.assert_sent("CALL_CLEARED_EVENT", call_id=call_id)
    cti_server.assert_no_violations()  # no protocol or ACD rule broken
    assert cti_server.report()["passed"]


@pytest.mark.asyncio
async def test_supervisor_forces_the_agent_not_ready(cti_server):
    async with await CTIClient.connect(cti_server.host, cti_server.port) as cti:
        await cti.open_agent(agent_id="1002", extension="3002", instrument="3002", heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await cti.set_agent_state(AgentState.AGENT_STATE_READY)
        cti.drain_events()
        cti_server.set_agent_state("1002", "NOT_READY")
        event = await cti.next_event(MT.AGENT_STATE_EVENT)
        assert event.agent_state == AgentState.AGENT_STATE_NOT_READY
    cti_server.assert_no_violations()


@pytest.mark.asyncio
async def test_everything_in_one_loop(cti_async_server):
    """cti_async_server runs the mock in the test's own event loop."""
    async with await CTIClient.connect(cti_async_server.host, cti_async_server.port) as cti:
        await cti.open_agent(agent_id="1003", extension="3003", instrument="3003", heartbeat=0)
    cti_async_server.assert_received("OPEN_REQ", agent_id="1003")
    cti_async_server.assert_no_violations()


# -- a synchronous client ------------------------------------------------------------------------------


def test_sync_desk_handles_a_call(cti_server):
    desk = _load_sync_desk().SyncDesk(cti_server.host, cti_server.port, agent_id="1001", extension="3001")
    desk.open()
    desk.set_state(AgentState.AGENT_STATE_LOGIN, password="1234")
    desk.set_state(AgentState.AGENT_STATE_READY)

    call_id = cti_server.deliver_call(agent="1001", ani="0687654321")
    assert desk.wait_event(MT.CALL_DELIVERED_EVENT).call_id == call_id
    desk.answer(call_id)
    desk.hold(call_id)
    desk.retrieve(call_id)
    desk.hang_up(call_id)
    desk.wait_event(MT.END_CALL_EVENT)
    desk.close()

    cti_server.assert_received("ANSWER_CALL_REQ", call_id=call_id, connection_device_id="3001")
    cti_server.assert_received("HOLD_CALL_REQ", count=1)
    cti_server.assert_no_violations()
    # the journal, entry by entry: what happened in the contact center (the desk closed its session with
    # the agent READY: nobody drives agent 1001 any more, and it is no longer offered calls)
    assert [e.data["what"] for e in cti_server.events("happening")] == [
        "test call", "agent 1001: last session closed, NOT_READY (AGT_CONN_DOWN)"]


def test_a_client_that_forgets_close_req_is_caught(cti_server):
    desk = _load_sync_desk().SyncDesk(cti_server.host, cti_server.port, agent_id="1004", extension="3004")
    desk.open()
    desk.sock.close()  # leaves without CLOSE_REQ
    cti_server.wait_until(lambda: cti_server.events("close"))
    with pytest.raises(AssertionError, match="PROTO-NO-CLOSE"):
        cti_server.assert_no_violations()


# -- a scripted scenario -----------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.cti_scenario("scenarios/login-success.yaml")  # relative to this file, then to the rootdir
async def test_login_scenario(cti_server):
    """The scenario brings its own center (agents logged out) and expectations; any expectation
    the client leaves unmet fails the test at teardown, with the closest request it did send."""
    async with await CTIClient.connect(cti_server.host, cti_server.port) as cti:
        await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await cti.next_event(MT.AGENT_STATE_EVENT)  # wait for NOT_READY before asking for READY
        await cti.set_agent_state(AgentState.AGENT_STATE_READY)
    cti_server.assert_no_violations()
