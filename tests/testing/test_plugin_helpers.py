"""The server handles behind the plugin's fixtures, used directly: ThreadedServer's life cycle,
``call`` across threads, and the journal assertions' failure messages (read by people)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mockcti.client import CTIClient
from mockcti.testing.fixtures import ThreadedServer
from mockcti.wire import Dialect, FrameBuffer, decode, encode
from mockcti.wire.enums import AgentState
from mockcti.wire.messages import HeartbeatReq


async def _login(server: ThreadedServer, *, close: bool = True, agent: str = "1001") -> None:
    ext = str(int(agent) + 2000)
    cti = await CTIClient.connect(server.host, server.port)
    try:
        await cti.open_agent(agent_id=agent, extension=ext, instrument=ext, heartbeat=0)
        await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await cti.set_agent_state(AgentState.AGENT_STATE_NOT_READY)
    finally:
        if close:
            await cti.close()
        else:
            await cti.abort()


@pytest.fixture
def server():
    srv = ThreadedServer().start()
    yield srv
    srv.stop()


def test_life_cycle_and_call_across_threads(server: ThreadedServer) -> None:
    assert server.running and server.host == "127.0.0.1" and server.port > 0
    seen = server.call(lambda hub, now: (threading.current_thread().name, now >= 0))
    assert seen == ("mockcti-server", True)
    with pytest.raises(ZeroDivisionError):  # exceptions raised on the server's thread come back
        server.call(lambda hub, now: 1 / 0)
    asyncio.run(_login(server))  # an asyncio client in a loop of its own
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    assert server.received("OPEN_REQ")  # readable after stop
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()


def test_an_async_servers_journal_stays_readable_once_its_loop_has_closed() -> None:
    """After the test (its loop closed), the handle of cti_async_server with a scenario, whose hub has a timer,
    raised "Event loop is closed" from every read: the failed test's journal section said only that."""
    from mockcti.scenario import load_scenario
    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.testing.fixtures import AsyncServer

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "login-success.yaml")

    async def serve() -> AsyncServer:
        srv = await AsyncServer(engine=ScenarioEngine(scenario)).start()
        await _login(srv)
        await srv.stop()
        return srv

    srv = asyncio.run(serve())
    assert [m["type"] for m in srv.received()][:2] == ["OPEN_REQ", "SET_AGENT_STATE_REQ"]
    srv.assert_received("SET_AGENT_STATE_REQ", agent_state="LOGIN", count=1)
    srv.assert_no_violations()
    assert srv.report()["counts"]["messages_in"] >= 3
    assert srv.agent_state("1001") == "AGENT_STATE_NOT_READY"


def test_context_manager_and_start_failure() -> None:
    with ThreadedServer() as srv:
        port = srv.port
        with pytest.raises(OSError), ThreadedServer(port=port):  # the port is taken
            pass
    assert not srv.running


def test_a_server_config_keeps_the_handles_host_and_free_port() -> None:
    """ThreadedServer(server_config=ServerConfig(close_linger=1)) bound ServerConfig's default port 42027
    (port=0 was ignored): a second one, or one beside `mockcti serve`, failed "address already in use"."""
    from mockcti.server import ServerConfig

    with ThreadedServer(server_config=ServerConfig(close_linger=1)) as a, \
            ThreadedServer(server_config=ServerConfig(close_linger=1)) as b:
        assert a.port != 42027 and b.port != 42027 and a.port != b.port
        assert a.server.config.close_linger == 1 and a.host == "127.0.0.1"
    with pytest.raises(ValueError, match=r"^server_config\.port is 5555, the server's port 0: the handle's host "
                                         r"and port decide; pass port=5555$"):
        ThreadedServer(server_config=ServerConfig(port=5555)).start()


def test_configurations_of_the_wrong_type_are_refused_naming_them() -> None:
    """hub_config={...} (a dict) was taken: the server started, and every connection was then reset by an
    internal error ('dict' object has no attribute 'session'); MockServer(config={...}) failed with
    "'dict' object has no attribute 'fair_read_bytes'". Each is a TypeError naming what is expected."""
    from mockcti.server import MockServer

    with pytest.raises(TypeError, match=r"^hub_config is a HubConfig, not dict \{'session': None\}$"):
        ThreadedServer(hub_config={"session": None}).start()
    with pytest.raises(TypeError, match=r"^hub_config is a HubConfig, not dict"):
        ThreadedServer(profile="ucce", hub_config={"session": None})
    with pytest.raises(TypeError, match=r"^the hub's journal is a Journal, not str 'x'$"):
        ThreadedServer(journal="x").start()
    with pytest.raises(TypeError, match=r"^MockServer's config is a ServerConfig, not dict \{'port': 0\}$"):
        MockServer(config={"port": 0})


def test_assert_received_passes_and_returns_the_messages(server: ThreadedServer) -> None:
    asyncio.run(_login(server))
    got = server.assert_received("SET_AGENT_STATE_REQ", count=2)
    assert [m["names"]["agent_state"] for m in got] == ["AGENT_STATE_LOGIN", "AGENT_STATE_NOT_READY"]
    server.assert_received("SET_AGENT_STATE_REQ", agent_state=AgentState.AGENT_STATE_LOGIN, agent_id="1001")
    server.assert_received("SET_AGENT_STATE_REQ", agent_state="NOT_READY", count=1)
    server.assert_received("SET_AGENT_STATE_REQ", agent_state=2, count=1)  # by number (NOT_READY)
    server.assert_received("OPEN_REQ", session=1)
    server.assert_sent("OPEN_CONF", count=1)
    server.assert_sent("AGENT_STATE_EVENT", agent_state="NOT_READY")
    assert len(server.received()) == len(server.events("in"))


def test_assert_received_failure_lists_what_was_received(server: ThreadedServer) -> None:
    asyncio.run(_login(server))
    with pytest.raises(AssertionError) as exc:
        server.assert_received("SET_AGENT_STATE_REQ", agent_state="READY")
    text = str(exc.value)
    assert text.startswith("expected the server to have received SET_AGENT_STATE_REQ with agent_state='READY' "
                           "at least once from any session; found 0 matching")
    assert "2 SET_AGENT_STATE_REQ received with other field values:" in text
    assert "SET_AGENT_STATE_REQ agent_state=AGENT_STATE_LOGIN" in text
    assert "received (4 message(s)):" in text
    assert "session 1 t=" in text and "OPEN_REQ invoke_id=1" in text and "CLOSE_REQ" in text

    with pytest.raises(AssertionError, match=r"HOLD_CALL_REQ exactly 2 time\(s\) from session 1; found 0"):
        server.assert_received("HOLD_CALL_REQ", count=2, session=1)
    with pytest.raises(AssertionError, match=r"to have sent HOLD_CALL_CONF at least once to any session"):
        server.assert_sent("HOLD_CALL_CONF")
    with pytest.raises(ValueError, match="unknown message type 'HOLD_REQ'"):
        server.assert_received("HOLD_REQ")
    with pytest.raises(ValueError, match=r"unknown message type 'OPEN_REQQ' \(did you mean OPEN_REQ\?\)"):
        server.assert_received("OPEN_REQQ")  # a typo: no substring of a name, still its closest


def test_an_assertion_that_could_never_match_is_a_usage_error(server: ThreadedServer) -> None:
    """A field the message does not have (a typo), an enumeration name none of its values has, a rule
    id no check has, or a negative count: each matched nothing, silently, so ``count=0`` and
    ``assert_no_violations(rules=...)`` passed whatever the client had done. Now a ValueError naming it."""
    asyncio.run(_login(server))
    server.assert_received("SET_AGENT_STATE_REQ", count=1, agent_state="LOGIN")  # the login was received
    with pytest.raises(ValueError, match=r"^SET_AGENT_STATE_REQ has no field 'agnt_state' \(did you mean "
                                         r"agent_state, agent_instrument\?\); its fields: invoke_id, peripheral_id, agent_state, "):
        server.assert_received("SET_AGENT_STATE_REQ", count=0, agnt_state="LOGIN")
    with pytest.raises(ValueError, match=r"^SET_AGENT_STATE_REQ\.agent_state: 'LOGN' is no AgentState name"):
        server.assert_received("SET_AGENT_STATE_REQ", count=0, agent_state="LOGN")
    with pytest.raises(ValueError, match=r"^AGENT_STATE_EVENT has no field 'reason_code' \(did you mean "):
        server.wait_received("AGENT_STATE_EVENT", reason_code=32760, timeout=60)  # at once, not after 60 s
    with pytest.raises(ValueError, match=r"^count must be a whole number >= 0"):
        server.assert_sent("OPEN_CONF", count=-1)
    with pytest.raises(AssertionError, match=r"found 1 matching"):  # a right one still checks
        server.assert_received("SET_AGENT_STATE_REQ", count=0, agent_state="AGENT_STATE_LOGIN")

    server.assert_no_violations(rules=["PROTO-NO-CLOSE", "ACD-1119", "ACD-CELL-Line1Held-Hold"])
    with pytest.raises(ValueError, match=r"^unknown rule 'PROTO-NO-CLSE' \(did you mean PROTO-NO-CLOSE"):
        server.assert_no_violations(rules=["PROTO-NO-CLOSE", "PROTO-NO-CLSE"])


def test_reads_after_a_blocking_client_left_see_what_it_did(server: ThreadedServer) -> None:
    """A blocking client that opened a session and left without CLOSE_REQ: assert_no_violations() right
    after passed four times in five (PROTO-NO-CLOSE was recorded once the server had read the close), and
    assert_received of its last request failed as often. Each read of the journal settles first."""
    from mockcti.wire.messages import HeartbeatReq, OpenReq

    for i in range(30):
        with socket.create_connection((server.host, server.port), timeout=5) as s:
            s.sendall(encode(OpenReq(invoke_id=1, version_number=18, idle_timeout=60, services_requested=0x10,
                                     call_msg_mask=0, agent_state_mask=0, config_msg_mask=0,
                                     client_id=f"c{i}", client_password=b""), Dialect.uccx(18)))
            fb, frames = FrameBuffer(), []
            for _ in range(50):
                if frames:
                    break
                frames = fb.feed(s.recv(4096))
            s.sendall(encode(HeartbeatReq(invoke_id=2), Dialect.uccx(18)))
        server.assert_received("HEARTBEAT_REQ", count=i + 1)
        with pytest.raises(AssertionError, match=rf"^{i + 1} violation\(s\) of rule\(s\) PROTO-NO-CLOSE"):
            server.assert_no_violations(rules="PROTO-NO-CLOSE")
    assert server.report()["counts"]["violations"] == 30


def test_assert_no_violations_lists_rule_and_detail(server: ThreadedServer) -> None:
    server.assert_no_violations()
    with socket.create_connection((server.host, server.port), timeout=5) as s:  # heartbeat before OPEN_REQ
        s.sendall(encode(HeartbeatReq(invoke_id=9), Dialect.uccx(18)))
        fb, frames = FrameBuffer(), []
        for _ in range(50):
            if frames:
                break
            frames = fb.feed(s.recv(4096))
        assert decode(frames[0], Dialect.uccx(18)).TYPE.name == "FAILURE_CONF"
    asyncio.run(_login(server, close=False, agent="1002"))  # leaves without CLOSE_REQ
    server.wait_until(lambda: len(server.events("close")) == 2)
    with pytest.raises(AssertionError) as exc:
        server.assert_no_violations()
    text = str(exc.value)
    assert text.startswith("2 violation(s) by the client(s):")
    assert "  - PROTO-OPEN-FIRST (session 1, t=" in text and "HEARTBEAT_REQ before OPEN_REQ" in text
    assert "  - PROTO-NO-CLOSE (session 2, t=" in text
    assert "A message other than OPEN_REQ arrived before a session was open" in text  # the explanation
    with pytest.raises(AssertionError, match=r"^1 violation\(s\) of rule\(s\) PROTO-NO-CLOSE"):
        server.assert_no_violations(rules=["PROTO-NO-CLOSE"])
    server.assert_no_violations(rules="PROTO-UNKNOWN-CALL")
    with pytest.raises(AssertionError, match=r"^assert_no_violations\(session=3\) checks nothing: session 3 never "
                                             r"connected: the sessions so far are 1, 2$"):
        server.assert_no_violations(session=3)  # (it passed: a typo in a session number made a test vacuous)
    server.assert_no_violations(session=2, rules="PROTO-OPEN-FIRST")
    summary = server.report()
    assert summary["counts"]["violations"] == 2 and not summary["passed"]


def test_a_session_id_given_as_text_is_refused_not_matched_against_nothing(server: ThreadedServer) -> None:
    """``session="1"`` (an id read from a parametrize id or an environment variable) matched no entry:
    assert_no_violations(session="1") passed whatever session 1 broke, received() was empty. A TypeError
    naming the value, from every reader of the journal; an int (of any integral type) reads as before."""
    with socket.create_connection((server.host, server.port), timeout=5) as s:  # heartbeat before OPEN_REQ
        s.sendall(encode(HeartbeatReq(invoke_id=9), Dialect.uccx(18)))
        server.wait_received("HEARTBEAT_REQ")
    message = r"^session is a session id, an int as the journal numbers sessions \(1, 2 …\), not '1' \(str\) "
    for read in (lambda: server.assert_no_violations(session="1"), lambda: server.received(session="1"),
                 lambda: server.assert_received("HEARTBEAT_REQ", session="1"),
                 lambda: server.wait_received("HEARTBEAT_REQ", session="1", timeout=60),  # at once
                 lambda: server.events("violation", session="1"), lambda: server.journal.entries(session="1")):
        with pytest.raises(TypeError, match=message + r"\(session=1\)$"):
            read()
    with pytest.raises(TypeError, match=r"not True \(bool\)$"):
        server.assert_no_violations(session=True)
    with pytest.raises(AssertionError, match=r"^1 violation\(s\) by the client\(s\):"):
        server.assert_no_violations(session=1)

    class Id:  # an integral type of another library (numpy.int64 …)
        def __index__(self) -> int:
            return 1
    assert [e.session for e in server.journal.entries(kind="violation", session=Id())] == [1]


def test_a_call_queued_with_no_agent_logged_in_says_so(server: ThreadedServer) -> None:
    """deliver_call(csq=...) with no agent of the CSQ logged in returned a bare CallID: the test then waited for a
    ring that could not come. The CallID (still an int) carries the hint; None once an agent is logged in."""
    call_id = server.deliver_call(csq="Support")
    assert call_id > 0 and call_id.hint == ("queued: no agent of CSQ 'Support' is logged in (1001, 1002, 1004); it "
                                            "rings once one logs in and is READY")
    server.set_agent_state("1004", "LOGIN")
    assert server.deliver_call(csq="Support").hint is None


def test_center_actions(server: ThreadedServer) -> None:
    assert server.set_agent_state("1003", "login") == "AGENT_STATE_NOT_READY"
    assert server.set_agent_state("1003", AgentState.AGENT_STATE_READY) == "AGENT_STATE_READY"
    call_id = server.deliver_call(csq="Sales", ani="555")
    assert server.agent_state("1003") == "AGENT_STATE_RESERVED"  # the call rings agent 1003
    assert server.call(lambda hub, now: hub.center.calls[call_id].ani) == "555"
    assert [e.data["what"] for e in server.events("happening")] == ["test agent state"] * 2 + ["test call"]
    with pytest.raises(ValueError, match="unknown agent state 'BUSY'"):
        server.set_agent_state("1003", "BUSY")
    with pytest.raises(ValueError, match="AGENT_STATE_HOLD is set by the center"):  # calls' doing, not settable
        server.set_agent_state("1003", "HOLD")
    assert server.agent_state("1003") == "AGENT_STATE_RESERVED"
    with pytest.raises(KeyError, match="unknown agent '9999'"):
        server.deliver_call(agent="9999")
    for helper in (server.deliver_call, server.agent_state):  # an agent named by its phone: said so
        with pytest.raises(KeyError, match=r"^\"unknown agent '3003' \(3003 is the phone of agent 1003: give the "
                                           r"agent ID\); known: \['1001', '1002', '1003', '1004'\]\"$"):
            helper("3003")
    with pytest.raises(KeyError, match=r"^\"unknown agent '9999'; known: \['1001', '1002', '1003', '1004'\]\"$"):
        server.agent_state("9999")  # was a bare KeyError('9999')
    for helper in (server.agent_state, server.set_agent_state, server.deliver_call):  # an ID is text
        with pytest.raises(TypeError, match=r"^an agent ID is text, not int 1003$"):  # ("unknown agent 1003")
            helper(1003, *(("READY",) if helper == server.set_agent_state else ()))
    with pytest.raises(ValueError, match="unknown journal entry kind"):
        server.events("message")
    # the caller gives up while 1003's phone rings: the call ends, 1003 goes to the after-call state
    with pytest.raises(KeyError, match="'999' is not on call"):
        server.hang_up(call_id, "999")
    # the wrong types: a TypeError saying so ("unknown call 16777500; calls: [16777500]" for the text)
    with pytest.raises(TypeError, match=rf"^a CallID is an integer, not str '{call_id}'$"):
        server.hang_up(str(call_id))
    with pytest.raises(TypeError, match=r"^a device is text \(the party's phone number\), not int 555$"):
        server.hang_up(call_id, 555)
    server.hang_up(call_id)
    assert server.call(lambda hub, now: call_id in hub.center.calls) is False
    assert server.agent_state("1003") == "AGENT_STATE_READY"  # back from RESERVED: the after-call state
    assert server.events("happening")[-1].data == {"what": "test hang-up", "call_id": call_id, "device": None}
    with pytest.raises(KeyError, match=f"unknown call {call_id}"):
        server.hang_up(call_id)


def test_deliver_call_to_a_busy_or_logged_out_agent_is_a_value_error_and_makes_no_call(server: ThreadedServer) -> None:
    """The handle's deliver_call(agent=) rang a phone already ringing (a UCCX agent line takes one call,
    MaxActiveCalls 1) and a logged-out agent's phone (answered, the agent went TALKING without a login). Both
    are a ValueError naming the agent and why (the one CallNotOffered of every entry point); no call is made."""
    from mockcti.center.core import CallNotOffered

    with pytest.raises(CallNotOffered, match=r"^agent 1003 is logged out: the ACD offers a call to a logged-in "
                                             r"agent only \(log it in first\)$"):
        server.deliver_call(agent="1003")
    server.set_agent_state("1003", "LOGIN")
    first = server.deliver_call(agent="1003")  # NOT_READY: delivered all the same (RESERVED)
    assert server.agent_state("1003") == "AGENT_STATE_RESERVED"
    with pytest.raises(ValueError, match=rf"^the phone 3003 of agent 1003 is busy \(call {first} ringing\): a UCCX "
                                         r"agent line takes one call \(MaxActiveCalls 1\)"):
        server.deliver_call(agent="1003", ani="0622")
    assert server.call(lambda hub, now: list(hub.center.calls)) == [first]
    assert [e.data["what"] for e in server.events("happening")] == ["test agent state", "test call"]


def test_set_agent_state_of_a_logged_out_agent_needs_a_login_first(server: ThreadedServer) -> None:
    """set_agent_state("1003", "READY") for a logged-out agent made it READY without a login (the agent's own
    request is refused E_CTI_AGENT_NOT_LOGGED_ON). A ValueError saying so, nothing changes and nothing is told."""
    for state in ("READY", "WORK"):
        with pytest.raises(ValueError, match=rf"^agent 1003 is logged out: {state} is set for a logged-in agent "
                                             r"\(LOGIN first\)$"):
            server.set_agent_state("1003", state)
    assert server.agent_state("1003") == "AGENT_STATE_LOGOUT" and not server.events("happening")
    assert server.set_agent_state("1003", "LOGIN") == "AGENT_STATE_NOT_READY"
    assert server.set_agent_state("1003", "READY") == "AGENT_STATE_READY"


def test_set_agent_state_reason_code_is_one_the_event_can_carry(server: ThreadedServer) -> None:
    """A reason code AGENT_STATE_EVENT cannot carry (EventReasonCode is a USHORT: -1, 70000, "7") was
    taken: the agent's state changed, the helper returned NOT_READY, and the event was never sent
    (a "cannot encode" fault): a bridge waiting for it timed out. Now a ValueError, nothing changes."""
    from mockcti.wire import MessageType as MT

    async def bridge() -> list:
        async with await CTIClient.connect(server.host, server.port) as cti:
            await cti.open_bridge(heartbeat=0)
            assert await asyncio.to_thread(server.set_agent_state, "1003", "LOGIN") == "AGENT_STATE_NOT_READY"
            for bad in (-1, 70000, "7", 7.0, True):
                with pytest.raises(ValueError, match=rf"^reason code must be an integer in 0\.\.65535 "
                                                     rf"\(EventReasonCode\), got {bad!r}"):
                    await asyncio.to_thread(server.set_agent_state, "1003", "NOT_READY", bad)
            await asyncio.to_thread(server.set_agent_state, "1003", "NOT_READY", 65535)
            return [await asyncio.wait_for(cti.next_event(MT.AGENT_STATE_EVENT), 5) for _ in range(2)]

    login, not_ready = asyncio.run(bridge())
    assert (login.agent_id, login.event_reason_code) == ("1003", 32760)
    assert (not_ready.agent_state, not_ready.event_reason_code) == (AgentState.AGENT_STATE_NOT_READY, 65535)
    assert [e.data["what"] for e in server.events("happening")] == ["test agent state"] * 2  # not the refused ones
    assert not server.events("fault")


def test_deliver_call_with_named_variables_and_arrays(server: ThreadedServer) -> None:
    """The handle's deliver_call took call_variable1..10 only (a TypeError for named_variables): a desktop
    popping the customer from an ECC variable could not be tested. The agent's BEGIN_CALL_EVENT and
    CALL_DELIVERED_EVENT carry them; what no event can carry is a ValueError naming the field, no call."""
    from mockcti.wire import MessageType as MT
    from mockcti.wire.types import NamedArray, NamedVariable

    with pytest.raises(ValueError, match="^named variable 'user.id' is 211 bytes; a call event carries at most 210"):
        server.deliver_call(csq="Sales", named_variables={"user.id": "v" * 211})
    with pytest.raises(ValueError, match="^element 0 of named array 'user.items' must be text, got an integer"):
        server.deliver_call(csq="Sales", named_arrays={"user.items": [7]})
    # call variables not given as a mapping: "dictionary update sequence element #0 has length 1; 2 is
    # required" from dict(), or (the center's own check) each letter of a text taken for a variable's name
    for bad, what in (("C-42", "text"), (["C-42"], "a list")):
        with pytest.raises(ValueError, match=rf"^variables must be a mapping of call_variable1 \.\. call_variable10 "
                                             rf"to text, got {what}$"):
            server.deliver_call(csq="Sales", variables=bad)
    assert server.call(lambda hub, now: dict(hub.center.calls)) == {}

    async def desk() -> tuple:
        async with await CTIClient.connect(server.host, server.port) as cti:
            await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
            await cti.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
            await cti.set_agent_state(AgentState.AGENT_STATE_READY)
            call_id = await asyncio.to_thread(server.deliver_call, agent="1001",
                                              named_variables={"user.customer.id": "C-42"},
                                              named_arrays={"user.items": ["router", None, "modem"]})
            begin = await cti.next_event(MT.BEGIN_CALL_EVENT)
            delivered = await cti.next_event(MT.CALL_DELIVERED_EVENT)
            return call_id, begin, delivered

    call_id, begin, delivered = asyncio.run(desk())
    items = (NamedArray(index=0, name="user.items", value="router"), NamedArray(index=2, name="user.items", value="modem"))
    for ev in (begin, delivered):
        assert ev.call_id == call_id
        assert ev.named_variables == (NamedVariable(name="user.customer.id", value="C-42"),)
        assert ev.named_arrays == items


def test_waiting_in_the_servers_own_loop_is_a_usage_error_at_once() -> None:
    """cti_async_server.wait_received(...) in its async test blocked the loop the server serves in: the
    HEARTBEAT_REQ the client had sent could not be read, and after the timeout the assertion said
    "found 0 matching" — a client that did send it. Now a RuntimeError at once, saying why."""
    from mockcti.testing.fixtures import AsyncServer
    from mockcti.wire.messages import HeartbeatReq

    async def main() -> None:
        async with AsyncServer() as srv:
            async with await CTIClient.connect(srv.host, srv.port) as cti:
                await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0)
                await cti.request(HeartbeatReq(invoke_id=0))
                for wait in (lambda: srv.wait_received("HEARTBEAT_REQ", timeout=60),
                             lambda: srv.wait_until(lambda: srv.received("HEARTBEAT_REQ"), timeout=60)):
                    with pytest.raises(RuntimeError, match=r"^wait_received/wait_until block the event loop the "
                                                           r"mock server serves in"):
                        wait()
                srv.assert_received("HEARTBEAT_REQ", count=1)  # what to do instead, once the CONF came
            srv.assert_received("CLOSE_REQ", count=1)  # the client's close() awaited the CLOSE_CONF

    asyncio.run(main())


def test_wait_received_times_out_with_the_listing(server: ThreadedServer) -> None:
    with pytest.raises(AssertionError, match="nothing was received"):
        server.wait_received("OPEN_REQ", timeout=0.2)
    with pytest.raises(AssertionError, match="condition not met within 0.1 s"):
        server.wait_until(lambda: False, timeout=0.1)


def test_importing_the_plugin_is_cheap() -> None:
    code = ("import sys, mockcti.testing.plugin\n"
            "print(sorted(m for m in sys.modules if m.startswith('mockcti')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['mockcti', 'mockcti.testing', 'mockcti.testing.plugin']"
    # nothing asyncio-heavy or protocol-related either
    code = ("import sys, mockcti.testing.plugin\n"
            "print(any(m in sys.modules for m in ('construct', 'yaml', 'jsonschema')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_requests_refused_for_their_moment_are_still_received(server: ThreadedServer) -> None:
    """A HEARTBEAT_REQ before OPEN_REQ and a second OPEN_REQ arrived: assert_received sees them
    (they were journalled only as 'rejected', so a count of OPEN_REQs said 1 when 2 came)."""
    from mockcti.wire.messages import OpenReq

    d = Dialect.uccx(18)
    opening = OpenReq(invoke_id=1, version_number=18, idle_timeout=60, services_requested=0x7, call_msg_mask=0,
                      agent_state_mask=0, client_id="x", client_password=b"", agent_id="1002",
                      agent_extension="3002", agent_instrument="3002")
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(encode(HeartbeatReq(invoke_id=9), d) + encode(opening, d))
        server.wait_until(lambda: server.sent("OPEN_CONF"))
        s.sendall(encode(dataclasses.replace(opening, invoke_id=2), d))
        server.wait_until(lambda: len(server.sent("FAILURE_CONF")) == 2)
    server.assert_received("HEARTBEAT_REQ", invoke_id=9, count=1)
    server.assert_received("OPEN_REQ", count=2)
    rules = [e.data["rule"] for e in server.events("violation")]
    assert rules[:2] == ["PROTO-OPEN-FIRST", "PROTO-OPEN-TWICE"]
    assert [e.data.get("request") for e in server.events("violation")][:2] == ["HEARTBEAT_REQ", "OPEN_REQ"]


def test_an_assertion_about_a_session_that_never_connected_fails_naming_the_sessions(server: ThreadedServer) -> None:
    """assert_no_violations(session=99) and assert_received(..., count=0, session=99) passed for a session
    that never existed (a typo made the test vacuous); they fail, naming the sessions there are. Waiting
    for a session that has not connected yet still works: wait_received retries until it has."""
    with pytest.raises(AssertionError, match=r"checks nothing: session 1 never connected: no session has "
                                             r"connected yet$"):
        server.assert_no_violations(session=1)
    with socket.create_connection((server.host, server.port), timeout=5) as s:  # heartbeat before OPEN_REQ
        s.sendall(encode(HeartbeatReq(invoke_id=9), Dialect.uccx(18)))
        server.wait_received("HEARTBEAT_REQ", session=1)
    with pytest.raises(AssertionError, match=r"session 99 never connected: the sessions so far are 1$"):
        server.assert_no_violations(session=99, rules="PROTO-OPEN-FIRST")
    with pytest.raises(AssertionError) as exc:
        server.assert_received("OPEN_REQ", count=0, session=99)
    assert str(exc.value).splitlines()[:2] == [
        "expected the server to have received OPEN_REQ exactly 0 time(s) from session 99; found 0 matching",
        "session 99 never connected: the sessions so far are 1"]
    with pytest.raises(AssertionError, match=r"\nsession 7 never connected: the sessions so far are 1\n"):
        server.wait_received("HEARTBEAT_REQ", session=7, timeout=0.05)
    server.assert_received("OPEN_REQ", count=0, session=1)  # a session that exists: as before
    server.assert_sent("FAILURE_CONF", count=1, session=1)

    def later() -> None:  # a second session connects while wait_received waits for it
        with socket.create_connection((server.host, server.port), timeout=5) as s2:
            s2.sendall(encode(HeartbeatReq(invoke_id=3), Dialect.uccx(18)))
            s2.recv(4096)

    t = threading.Thread(target=later)
    t.start()
    try:
        server.wait_received("HEARTBEAT_REQ", session=2, timeout=30)
    finally:
        t.join(30)


def test_an_ipv6_handle_is_written_with_its_address_in_brackets() -> None:
    """``ThreadedServer(host="::1")`` printed ``<ThreadedServer ::1:0 ...>`` and an unmet scenario on it
    "unmet on ::1:42027" — read as the address ::1:42027, or port 1 of ::; serve's listening line writes
    ``[::1]:42027`` (server.host_port), and so do they."""
    from mockcti.report import Expectation
    from mockcti.testing.plugin import _verify

    assert repr(ThreadedServer(host="::1")) == "<ThreadedServer [::1]:0 stopped>"
    assert repr(ThreadedServer()) == "<ThreadedServer 127.0.0.1:0 stopped>"

    class Handle:  # what _verify reads of a running handle
        host, port, engine = "::1", 42027, object()

        def verify(self) -> list[Expectation]:
            return [Expectation(scenario="s", name="gets HOLD_CALL_REQ", met=False, detail="never came")]

    failure = _verify(Handle())  # type: ignore[arg-type]
    assert failure is not None and failure.startswith("1 scenario expectation(s) unmet on [::1]:42027:\n")
    assert "UNMET s: gets HOLD_CALL_REQ - never came" in failure
