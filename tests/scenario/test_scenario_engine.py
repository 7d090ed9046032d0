"""The scenario engine, driven purely: a Hub fed encoded bytes at a fake clock, the bytes it writes
decoded back into messages. Every action, predicate, rule option, fault (three layers), step,
timeline entry, end condition and expectation is checked on the wire."""

from __future__ import annotations

import re
import struct
import textwrap

import pytest

from mockcti.hub import Close, HalfClose, Hub, PauseReading, ResumeReading, Write, WriteChunked
from mockcti.scenario.engine import ScenarioEngine
from mockcti.scenario.loader import load_scenario_text
from mockcti.wire import DecodeError, Dialect, FrameBuffer, FrameError, StatusCode, decode, decode_bytes, encode
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as W
from mockcti.wire.enums import AgentState as AS

D = Dialect.uccx(14)
AGENT_SVC = 0x7  # CLIENT_EVENTS | CALL_DATA_UPDATE | CLIENT_CONTROL
BRIDGE_SVC = 0x16  # CALL_DATA_UPDATE | CLIENT_CONTROL | ALL_EVENTS
CENTER_READY = """
center:
  csqs: [{name: Sales, id: 1}]
  agents:
    - {id: "1001", extension: "3001", password: "1234", csqs: [Sales], state: READY}
    - {id: "1002", extension: "3002", password: "1234", csqs: [Sales], state: NOT_READY}
"""


class H:
    """One scenario in a Hub, with a fake clock and a frame buffer per session."""

    def __init__(self, text: str, *, seed: int | None = None, center: bool = False) -> None:
        text = textwrap.dedent(text) + (CENTER_READY if center else "")
        if not text.lstrip().startswith("name:"):
            text = "name: t\n" + text
        self.scenario = load_scenario_text(text, filename="t.yaml")
        self.engine = ScenarioEngine(self.scenario, seed=seed)
        self.hub = Hub(self.engine.build_center(), engine=self.engine)
        self.fbs: dict[int, FrameBuffer] = {}
        self.invoke = 100

    # -- driving -----------------------------------------------------------------------------------

    def connect(self, now: float = 0.5) -> int:
        sid = self.hub.connect(now)
        self.fbs[sid] = FrameBuffer()
        return sid

    def open_req(self, agent: str | None = "1001", ext: str | None = None, *, invoke: int = 1) -> W.OpenReq:
        if agent is None:
            return W.OpenReq(invoke_id=invoke, version_number=14, idle_timeout=600, services_requested=BRIDGE_SVC,
                             call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id="bridge", client_password=b"")
        ext = ext or "300" + agent[-1]
        return W.OpenReq(invoke_id=invoke, version_number=14, idle_timeout=600, services_requested=AGENT_SVC,
                         call_msg_mask=0xFFFFFF, agent_state_mask=0x3FF, client_id="desk" + agent,
                         client_password=b"", agent_extension=ext, agent_instrument=ext, agent_id=agent)

    def open(self, agent: str | None = "1001", now: float = 1.0) -> int:
        sid = self.connect(now)
        msgs = self.msgs(self.hub.receive(sid, encode(self.open_req(agent), D), now), sid)
        assert msgs and msgs[0].TYPE is MT.OPEN_CONF, msgs
        return sid

    def send(self, sid: int, msg, now: float) -> list:
        return self.hub.receive(sid, encode(msg, D), now)

    def req(self, sid: int, msg, now: float) -> list:
        """Send a request; the messages written back to ``sid`` now."""
        return self.msgs(self.send(sid, msg, now), sid)

    def hb(self, sid: int, now: float, invoke: int | None = None) -> list:
        if invoke is None:
            self.invoke += 1
            invoke = self.invoke
        return self.req(sid, W.HeartbeatReq(invoke_id=invoke), now)

    def tick(self, now: float) -> list:
        return self.hub.tick(now)

    # -- reading -----------------------------------------------------------------------------------

    def msgs(self, actions, sid: int) -> list:
        out = []
        for a in actions:
            if isinstance(a, (Write, WriteChunked)) and a.session_id == sid:
                for f in self.fbs[sid].feed(a.data):
                    assert not isinstance(f, FrameError), f
                    out.append(decode(f, D))
        return out

    def types(self, actions, sid: int) -> list[str]:
        return [m.TYPE.name for m in self.msgs(actions, sid)]


def test_captured_bytes_put_in_a_text_field_are_sent_as_the_bytes_they_are():
    """A bytes capture (client_password, an UNSPEC field) that is a whole text field of a reply or emit was
    sent as Python's repr: "b'secret'" (and "b'\\xff\\xfeab'"), where the same ${pw} in a system_event's
    text, or formatted into text, sends the bytes: its UTF-8 text; bytes that are not UTF-8 go as they came."""
    import dataclasses

    for password in (b"secret", b"\xff\xfeab"):
        h = H("""
        rules:
          - when: {message: OPEN_REQ}
            then:
              - capture: {pw: client_password}
              - default
              - emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: "${pw}"}}
              - emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: "pw ${pw}"}}
              - system_event: {id: SYS_TEXT_FYI, text: "${pw}"}
          - when: {message: HEARTBEAT_REQ}
            then: [{reply: {message: FAILURE_CONF, fields: {status: 17, text: "${pw}"}}}]
        """)
        sid = h.connect()
        actions = h.hub.receive(sid, encode(dataclasses.replace(h.open_req(), client_password=password), D), 1.0)
        actions += h.hub.receive(sid, encode(W.HeartbeatReq(invoke_id=5), D), 2.0)
        wire = b"".join(a.data for a in actions if isinstance(a, (Write, WriteChunked)) and a.session_id == sid)
        assert b"b'" not in wire
        assert wire.count(password + b"\x00") == 4 and wire.count(b"pw " + password + b"\x00") == 1
        texts = [getattr(msg, "text", None) for msg in h.msgs(actions, sid)]
        text = password.decode("utf-8", "surrogateescape")
        assert texts == [None, text, "pw " + text, text, text]


def test_an_emitted_system_event_is_dated_and_stated_as_the_servers_own_unless_written():
    """An emit of SYSTEM_EVENT left CCXTime, CCXStatus and EventDeviceType out, so they went as 0: a desktop
    showed the event as of 1970, with no CCXStatus value, naming a device type for no device. Left out, they
    are what the server's own SYSTEM_EVENT carries (the system_event happening's); written, as written."""
    from mockcti.wire.enums import CCXStatus

    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: "left out"}}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: "as written", ccx_time: 0,
                                                   ccx_status: CCX_PARTIAL_SERVICE, event_device_type: 0}}
          - system_event: {id: SYS_TEXT_FYI, text: "the center's"}
          - default
    """)
    sid = h.open()
    left_out, written, centers, conf = h.hb(sid, 7.0, 8)
    assert conf.TYPE is MT.HEARTBEAT_CONF
    clock = int(h.hub.wall_time(7.0))
    assert clock != 0  # (the pure hub's epoch is 0: the clock reads 7 s)
    assert (left_out.ccx_time, left_out.ccx_status, left_out.event_device_type) == (
        clock, int(CCXStatus.CCX_IN_SERVICE), 0xFFFF) == (centers.ccx_time, centers.ccx_status,
                                                           centers.event_device_type)
    assert (written.ccx_time, written.ccx_status, written.event_device_type) == (
        0, int(CCXStatus.CCX_PARTIAL_SERVICE), 0)


def hold(invoke_id: int = 30, **kw) -> W.HoldCallReq:
    kw.setdefault("connection_device_id", "3001")
    return W.HoldCallReq(invoke_id=invoke_id, **kw)


def only(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


# == actions =======================================================================================


def test_reply_echoes_invoke_id_and_substitutes_fields():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        capture: {first_invoke: invoke_id}
        responses:
          - [{reply: {message: HEARTBEAT_CONF}}]
          - [{reply: {message: FAILURE_CONF, fields: {status: 17,
              text: "agent ${session.agent_id} ext ${session.agent_extension} invoke ${request.invoke_id} first ${first_invoke} state ${state} seed ${seed} $${x}"}}}]
          - [{reply: {message: HEARTBEAT_CONF, fields: {invoke_id: 4242}}}]
          - [{reply: {message: HEARTBEAT_CONF, fields: {invoke_id: "${first_invoke}"}}}]
    seed: 9
    """)
    sid = h.open()
    assert h.hb(sid, 2.0, 7) == [W.HeartbeatConf(invoke_id=7)]
    (fc,) = h.hb(sid, 3.0, 8)
    assert fc == W.FailureConf(invoke_id=8, status=17,
                               text="agent 1001 ext 3001 invoke 8 first 8 state start seed 9 ${x}")
    assert h.hb(sid, 4.0, 9) == [W.HeartbeatConf(invoke_id=4242)]
    # the capture is taken again on every request the rule takes
    assert h.hb(sid, 5.0, 10) == [W.HeartbeatConf(invoke_id=10)]


def test_fail_failure_conf_with_status():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "slow ${request.invoke_id}"}}]
    """)
    sid = h.open()
    (fc,) = h.hb(sid, 2.0, 55)
    assert fc == W.FailureConf(invoke_id=55, status=int(StatusCode.E_CTI_UNSPECIFIED_FAILURE), text="slow 55")


def test_fail_control_failure_conf_with_uccx_code_cisco_ctierr_and_text_code():
    h = H("""
    rules:
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 1}}
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, peripheral_error_code: CCX_LOOKUP_FAILURE}}]
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 2}}
        then: [{fail: {failure_code: CF_VALUE_OUT_OF_RANGE, peripheral_error_code: CTIERR_HOLDFAILED}}]
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 3}}
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, text_code: SOAP_UPDATE_FAILED}}]
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 4}}
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, peripheral_error_code: 88005}}]
    """)
    sid = h.open()
    (a,) = h.req(sid, hold(11, call_id=1), 2.0)
    assert a == W.ControlFailureConf(invoke_id=11, failure_code=1, ccx_error_code=88002)
    (b,) = h.req(sid, hold(12, call_id=2), 2.1)
    # the Cisco CTIERR code is sent as its unsigned 32-bit value (0x8CCC000F)
    assert b == W.ControlFailureConf(invoke_id=12, failure_code=3, ccx_error_code=0x8CCC000F)
    (c,) = h.req(sid, hold(13, call_id=3), 2.2)
    assert c.TYPE is MT.CONTROL_FAILURE_CONF and c.invoke_id == 13 and c.ccx_error_code == 0
    assert c.text.startswith("SOAP_UPDATE_FAILED (1001): ")
    (d,) = h.req(sid, hold(14, call_id=4), 2.3)
    assert d.ccx_error_code == 88005  # a catalogued code by number (CCX_AGENT_DEVICE_BUSY)


def test_failure_event_to_targets():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ, agent: "1001"}
        then:
          - {failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "to all", to: all}}
          - {failure_event: {status: E_CTI_INVALID_FIELD, text: "to 1002", to: "agent:1002"}}
          - {failure_event: {status: E_CTI_INVALID_VERSION, text: "to bridge", to: bridge}}
          - {failure_event: {status: E_CTI_INVALID_MESSAGE_TYPE, text: "to me"}}
    """)
    a, b, br = h.open("1001"), h.open("1002"), h.open(None)
    acts = h.send(a, W.HeartbeatReq(invoke_id=3), 2.0)
    assert [m.text for m in h.msgs(acts, a)] == ["to all", "to me"]
    assert [m.text for m in h.msgs(acts, b)] == ["to all", "to 1002"]
    assert [(m.TYPE, m.text) for m in h.msgs(acts, br)] == [(MT.FAILURE_EVENT, "to all"), (MT.FAILURE_EVENT, "to bridge")]
    assert h.msgs(acts, b)[1].status == int(StatusCode.E_CTI_INVALID_FIELD)


def test_emit_to_requester_agent_bridge_and_all():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ, agent: "1001"}
        then:
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: 1, text: "me ${session.agent_id}"}}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: 2, text: agent}, to: "agent:1002"}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: 3, text: bridge}, to: bridge}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: 4, text: all}, to: all}
    """)
    a, b, br = h.open("1001"), h.open("1002"), h.open(None)
    acts = h.send(a, W.HeartbeatReq(invoke_id=3), 2.0)
    assert [(m.TYPE.name, getattr(m, "text", None)) for m in h.msgs(acts, a)] == [
        ("HEARTBEAT_CONF", None), ("SYSTEM_EVENT", "me 1001"), ("SYSTEM_EVENT", "all")]
    assert [m.text for m in h.msgs(acts, b)] == ["agent", "all"]
    assert [m.text for m in h.msgs(acts, br)] == ["bridge", "all"]


def test_delay_postpones_the_actions_after_it():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - emit: {message: SYSTEM_EVENT, fields: {text: now}}
          - delay: {seconds: 2}
          - reply: {message: HEARTBEAT_CONF}
          - delay: {seconds: 1.5}
          - emit: {message: SYSTEM_EVENT, fields: {text: later}}
    """)
    sid = h.open()
    assert [m.TYPE for m in h.hb(sid, 10.0, 5)] == [MT.SYSTEM_EVENT]
    assert h.msgs(h.tick(11.9), sid) == []
    assert h.msgs(h.tick(12.0), sid) == [W.HeartbeatConf(invoke_id=5)]
    assert h.msgs(h.tick(13.4), sid) == []
    assert [m.text for m in h.msgs(h.tick(13.5), sid)] == ["later"]


@pytest.mark.parametrize("abort", [False, True])
def test_close_abort_or_not(abort):
    h = H(f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        then: [{{close: {{abort: {str(abort).lower()}}}}}]
    """)
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=2), 2.0)
    (c,) = only(acts, Close)
    assert c.session_id == sid and c.abort is abort
    assert h.msgs(acts, sid) == []


def test_close_as_a_bare_word():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then: [close]
    """)
    sid = h.open()
    assert only(h.send(sid, W.HeartbeatReq(invoke_id=2), 2.0), Close)[0].abort is False


def test_goto_changes_which_rules_match():
    h = H("""
    states: [start, busy]
    rules:
      - when: {message: HEARTBEAT_REQ, state: start}
        then: [{reply: {message: HEARTBEAT_CONF}}, {goto: {state: busy}}]
      - when: {message: HEARTBEAT_REQ, state: busy}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "busy"}}, {goto: {state: start}}]
    """)
    sid = h.open()
    assert [m.TYPE for m in h.hb(sid, 2)] == [MT.HEARTBEAT_CONF]
    assert h.engine.state == "busy"
    assert [m.TYPE for m in h.hb(sid, 3)] == [MT.FAILURE_CONF]
    assert h.engine.state == "start"
    assert [m.TYPE for m in h.hb(sid, 4)] == [MT.HEARTBEAT_CONF]


def test_default_lets_the_center_answer_and_capture_stores_fields():
    h = H("""
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then:
          - capture: {asked: agent_id}
          - emit: {message: SYSTEM_EVENT, fields: {text: "before"}}
          - default
      - when: {message: HEARTBEAT_REQ}
        then: [{reply: {message: FAILURE_CONF, fields: {status: 17, text: "asked ${asked}"}}}]
    """, center=True)
    sid = h.open()
    out = h.req(sid, W.QueryAgentStateReq(invoke_id=9, agent_id="1001"), 2.0)
    assert [m.TYPE for m in out] == [MT.SYSTEM_EVENT, MT.QUERY_AGENT_STATE_CONF]
    assert out[1].invoke_id == 9
    assert h.hb(sid, 3.0)[0].text == "asked 1001"


def test_no_rule_means_the_center_answers():
    h = H("rules: []\n")
    sid = h.open()
    assert h.hb(sid, 2.0, 3) == [W.HeartbeatConf(invoke_id=3)]


def test_deliver_call_with_capture_of_the_call_id():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then:
          - reply: {message: HEARTBEAT_CONF}
          - deliver_call: {agent: "1001", ani: "0611", capture: {call: call_id}}
      - when: {message: HOLD_CALL_REQ, fields: {call_id: "${call}"}}
        then: [{reply: {message: FAILURE_CONF, fields: {status: 17, text: "held ${call}"}}}]
    """, center=True)
    sid = h.open()
    out = h.hb(sid, 2.0)
    assert out[0].TYPE is MT.HEARTBEAT_CONF
    events = [m for m in out[1:]]
    assert any(m.TYPE is MT.CALL_DELIVERED_EVENT for m in events), [m.TYPE.name for m in events]
    call_id = h.engine.env["call"]
    assert isinstance(call_id, int)
    delivered = next(m for m in events if m.TYPE is MT.CALL_DELIVERED_EVENT)
    assert delivered.call_id == call_id
    assert delivered.ani == "0611"
    (fc,) = h.req(sid, hold(20, call_id=call_id), 3.0)
    assert fc.text == f"held {call_id}"


def test_hang_up_from_the_timeline_the_caller_abandons_while_ringing():
    h = H("""
    timeline:
      - {at: 2, do: {deliver_call: {agent: "1001", ani: "0611", capture: {call: call_id}}}}
      - {at: 3, do: {hang_up: {call: "${call}"}}}
      - {at: 4, do: [{hang_up: {call: "${call}"}}, {hang_up: {call: 7, device: "0699"}}]}
      - {at: 5, do: [{hang_up: {call: "${later}"}}, {deliver_call: {csq: Sales, ani: anon, capture: {who: ani}}},
                     {hang_up: {call: "${who}"}}]}
    rules:
      - when: {message: HEARTBEAT_REQ}
        then: [{capture: {later: invoke_id}}, default]
    """, center=True)
    a, br = h.open("1001"), h.open(None)
    assert [m.TYPE for m in h.msgs(h.tick(2.0), a)][-1] is MT.CALL_DELIVERED_EVENT
    call_id = h.engine.env["call"]
    acts = h.tick(3.0)
    for sid in (a, br):
        assert [m.TYPE.name for m in h.msgs(acts, sid)] == [
            "CALL_CONNECTION_CLEARED_EVENT", "CALL_CONNECTION_CLEARED_EVENT", "CALL_CLEARED_EVENT", "END_CALL_EVENT",
            "AGENT_STATE_EVENT"]
    first = h.msgs(acts, a)[0]
    assert (first.call_id, first.connection_device_id, first.releasing_device_id) == (call_id, "0611", "0611")
    assert h.msgs(acts, a)[-1].agent_state == 3  # RESERVED -> READY, the center's after-call state
    assert call_id not in h.hub.center.calls
    happened = [e.data for e in h.hub.journal.entries(kind="happening") if e.data["what"] == "hang-up"]
    assert happened == [{"what": "hang-up", "call_id": call_id, "device": None}]
    # the call is gone; call 7 never existed: each failed action is a journalled fault, nothing is sent
    acts = h.tick(4.0)
    assert h.msgs(acts, a) == [] and h.msgs(acts, br) == []
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"]) for f in faults] == [
        ("hang_up", f"hang_up: unknown call {call_id}; calls: []"), ("hang_up", "hang_up: unknown call 7; calls: []")]
    # a variable not captured yet; a captured value that is no CallID
    h.tick(5.0)
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [f["error"] for f in faults[2:]] == ["hang_up: no value for ${later} (not captured yet, or no request here)",
                                                "hang_up: 'anon' is not a CallID"]
    assert all(f["where"].startswith("t.yaml:") for f in faults)


def test_deliver_call_carries_named_variables_and_arrays_with_substitutions():
    """deliver_call took call_variable1..10 only: a scenario could not pop a CRM screen from an ECC
    variable. Its named_variables and named_arrays (values ${substituted} when the call is delivered)
    are in the bytes of the agent's and the bridge's BEGIN_CALL_EVENT and CALL_DELIVERED_EVENT; a
    substituted value no event can carry is a journalled fault naming it, and no call is made."""
    from mockcti.wire.types import NamedArray, NamedVariable

    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - capture: {n: invoke_id}
          - reply: {message: HEARTBEAT_CONF}
          - deliver_call:
              agent: "1001"
              named_variables: {user.customer.id: "C-${n}", user.note: "$${literal}"}
              named_arrays: {user.items: ["${n}", null, modem]}
    timeline:
      - {at: 5, do: {deliver_call: {csq: Sales, named_variables: {user.big: "${n}%s"}}}}
    """ % ("x" * 209) + """
    """, center=True)
    a, br = h.open("1001"), h.open(None)
    acts = h.send(a, W.HeartbeatReq(invoke_id=42), 2.0)
    for sid in (a, br):
        msgs = h.msgs(acts, sid)
        begin = next(m for m in msgs if m.TYPE is MT.BEGIN_CALL_EVENT)
        delivered = next(m for m in msgs if m.TYPE is MT.CALL_DELIVERED_EVENT)
        for ev in (begin, delivered):
            assert ev.named_variables == (NamedVariable(name="user.customer.id", value="C-42"),
                                          NamedVariable(name="user.note", value="${literal}"))
            assert ev.named_arrays == (NamedArray(index=0, name="user.items", value="42"),
                                       NamedArray(index=2, name="user.items", value="modem"))
    calls = dict(h.hub.center.calls)
    acts = h.tick(5.0)
    assert h.msgs(acts, br) == [] and h.hub.center.calls == calls
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [f["action"] for f in faults] == ["deliver_call"]
    assert "named variable 'user.big' is 211 bytes; a call event carries at most 210" in faults[0]["error"]


def test_a_literal_dollar_escape_at_a_maximum_is_sent_as_one_character():
    """call_variable1 "$${x}" + 36 bytes is sent as "${x}" + 36 bytes, 40, what BEGIN_CALL_EVENT carries:
    the loader refused it, counting the escape's two characters."""
    h = H("""
    timeline:
      - {at: 2, do: {deliver_call: {agent: "1001", call_variables: {call_variable1: "$${x}%s"}}}}
    """ % ("v" * 36), center=True)
    a = h.open("1001")
    begin = next(m for m in h.msgs(h.tick(2.0), a) if m.TYPE is MT.BEGIN_CALL_EVENT)
    assert begin.call_variable1 == "${x}" + "v" * 36


def test_deliver_call_from_an_agents_phone_is_a_journalled_fault_and_makes_no_call():
    """A deliver_call whose ANI is an agent's phone made a call of one party (the caller's leg
    overwritten by the agent's ringing leg); now the action fails, named, and nothing is sent."""
    h = H("""
    timeline:
      - {at: 2, do: {deliver_call: {agent: "1001", ani: "3001"}}}
      - {at: 3, do: {deliver_call: {csq: Sales, ani: "3002"}}}
    """, center=True)
    a, br = h.open("1001"), h.open(None)
    for t in (2.0, 3.0):
        acts = h.tick(t)
        assert h.msgs(acts, a) == [] and h.msgs(acts, br) == []
    assert h.hub.center.calls == {}
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], "is the phone of agent" in f["error"]) for f in faults] == [("deliver_call", True)] * 2
    assert "'3001'" in faults[0]["error"] and "'3002'" in faults[1]["error"]


def test_deliver_call_to_a_busy_or_logged_out_agent_is_a_journalled_fault_and_makes_no_call():
    """A second deliver_call for an agent whose phone rings with the first rang there too (a UCCX agent line takes
    one call, MaxActiveCalls 1: a client dialling it hears busy), and one for a logged-out agent rang and, once
    answered, made the agent TALKING without a login. Each is now a journalled fault naming the agent and why;
    nothing reaches the desktops or the bridge, and no call is made."""
    h = H("""
    timeline:
      - {at: 2, do: {deliver_call: {agent: "1001", ani: "0611", capture: {call: call_id}}}}
      - {at: 3, do: {deliver_call: {agent: "1001", ani: "0622"}}}
      - {at: 4, do: {set_agent_state: {agent: "1002", state: LOGOUT}}}
      - {at: 5, do: [{deliver_call: {agent: "1002", ani: "0633"}}, {set_agent_state: {agent: "1002", state: READY}}]}
    """, center=True)
    a, b, br = h.open("1001"), h.open("1002"), h.open(None)
    assert MT.CALL_DELIVERED_EVENT in [m.TYPE for m in h.msgs(h.tick(2.0), a)]
    first = h.engine.env["call"]
    for t in (3.0, 4.0, 5.0):
        acts = h.tick(t)
        if t != 4.0:  # (4: 1002's LOGOUT)
            assert h.msgs(acts, a) == [] and h.msgs(acts, b) == [] and h.msgs(acts, br) == [], t
    assert list(h.hub.center.calls) == [first]
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"]) for f in faults] == [
        ("deliver_call", f"deliver_call: the phone 3001 of agent 1001 is busy (call {first} ringing): a UCCX agent "
                        "line takes one call (MaxActiveCalls 1); deliver the call when that one ends, or to a CSQ to "
                        "queue it"),
        ("deliver_call", "deliver_call: agent 1002 is logged out: the ACD offers a call to a logged-in agent only "
                        "(log it in first)"),
        # nor is a logged-out agent made READY without a login (it was, AGENT_STATE_EVENT READY to all)
        ("set_agent_state", "agent 1002 is logged out: READY is set for a logged-in agent (LOGIN first)")]
    assert h.hub.center.agents["1002"].state.name == "AGENT_STATE_LOGOUT"
    # the journal's happenings are what happened: the refused READY is no "agent state set" (it was, beside its fault)
    assert [e.data.get("state") for e in h.hub.journal.entries(kind="happening")
            if e.data["what"] == "agent state set"] == ["AGENT_STATE_LOGOUT"]


def test_set_agent_state_the_agents_own_table_refuses_is_a_journalled_fault():
    """A scenario's set_agent_state WORK then WORK_READY moved the agent WORK -> WORK_READY, which its own request
    is refused (CF_INVALID_OBJECT_STATE), and a second LOGOUT re-sent AGENT_STATE_EVENT LOGOUT. Each is now a
    journalled fault naming the states; nothing reaches the desktop or the bridge, nothing journalled as set."""
    h = H("""
    timeline:
      - {at: 2, do: {set_agent_state: {agent: "1002", state: WORK}}}
      - {at: 3, do: {set_agent_state: {agent: "1002", state: WORK_READY}}}
      - {at: 4, do: {set_agent_state: {agent: "1002", state: LOGOUT}}}
      - {at: 5, do: {set_agent_state: {agent: "1002", state: LOGOUT}}}
    """, center=True)
    b, br = h.open("1002"), h.open(None)
    assert h.msgs(h.tick(2.0), br)  # (1002 is logged in, NOT_READY)
    for t, sent in ((3.0, False), (4.0, True), (5.0, False)):
        acts = h.tick(t)
        assert bool(h.msgs(acts, b)) is sent and bool(h.msgs(acts, br)) is sent, t
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"]) for f in faults] == [
        ("set_agent_state", "agent 1002 cannot go from WORK to WORK_READY; WORK_READY is set from NOT_READY, READY"),
        ("set_agent_state", "agent 1002 is already logged out (LOGOUT)")]
    assert [e.data.get("state") for e in h.hub.journal.entries(kind="happening")
            if e.data["what"] == "agent state set"] == ["AGENT_STATE_WORK", "AGENT_STATE_LOGOUT"]


def test_set_agent_state_system_event_and_failover_from_the_timeline():
    h = H("""
    timeline:
      - {at: 5, do: {set_agent_state: {agent: "1002", state: READY}}}
      - {at: 6, do: {system_event: {id: SYS_PERIPHERAL_OFFLINE, text: "pg down", to: bridge}}}
      - {at: 7, do: {system_event: {id: SYS_PERIPHERAL_ONLINE, text: "pg up", ccx_status: CCX_PARTIAL_SERVICE}}}
      - {at: 8, do: {failover: {seconds: 3}}}
    """, center=True)
    a, br = h.open("1002"), h.open(None)
    acts = h.tick(5.0)
    ev = [m for m in h.msgs(acts, a) if m.TYPE is MT.AGENT_STATE_EVENT]
    assert ev and ev[-1].agent_state == 3  # AGENT_STATE_READY
    acts = h.tick(6.0)
    assert h.msgs(acts, a) == []
    (se,) = h.msgs(acts, br)
    assert se.TYPE is MT.SYSTEM_EVENT and se.text == "pg down"
    acts = h.tick(7.0)
    assert [m.text for m in h.msgs(acts, a)] == ["pg up"] and [m.text for m in h.msgs(acts, br)] == ["pg up"]
    assert {m.ccx_status for m in h.msgs(acts, a) + h.msgs(acts, br)} == {1280}  # CCX_PARTIAL_SERVICE, as given
    acts = h.tick(8.0)
    assert {c.session_id for c in only(acts, Close) if c.abort} == {a, br}
    for sid in (a, br):
        h.hub.disconnected(sid, 8.0, reason="we closed")
    sid = h.connect(9.0)
    (fc,) = h.msgs(h.send(sid, h.open_req("1001"), 9.0), sid)
    assert fc.TYPE is MT.FAILURE_CONF and fc.status == int(StatusCode.E_CTI_SERVER_NOT_MASTER)
    h.tick(11.0)
    sid = h.connect(11.5)
    assert h.msgs(h.send(sid, h.open_req("1001"), 11.5), sid)[0].TYPE is MT.OPEN_CONF


# == rules =========================================================================================


def test_times_then_the_center_answers():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 2
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE}}]
    """)
    sid = h.open()
    assert [m.TYPE for m in h.hb(sid, 2) + h.hb(sid, 3) + h.hb(sid, 4)] == [
        MT.FAILURE_CONF, MT.FAILURE_CONF, MT.HEARTBEAT_CONF]


@pytest.mark.parametrize("exhausted, expected", [
    ("default", ["a", "b", "center", "center"]),
    ("repeat_last", ["a", "b", "b", "b"]),
    ("cycle", ["a", "b", "a", "b"]),
])
def test_responses_in_turn_and_exhausted(exhausted, expected):
    h = H(f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        exhausted: {exhausted}
        responses:
          - [{{fail: {{status: E_CTI_UNSPECIFIED_FAILURE, text: a}}}}]
          - [{{fail: {{status: E_CTI_UNSPECIFIED_FAILURE, text: b}}}}]
    """)
    sid = h.open()
    got = []
    for i in range(4):
        (m,) = h.hb(sid, 2 + i)
        got.append(m.text if m.TYPE is MT.FAILURE_CONF else "center")
    assert got == expected


def test_first_matching_rule_wins_and_exhausted_rules_pass_to_the_next():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: first}}]
      - when: {message: HEARTBEAT_REQ}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: second}}]
      - when: {message: HEARTBEAT_REQ}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: never}}]
    """)
    sid = h.open()
    assert [h.hb(sid, t)[0].text for t in (2, 3, 4)] == ["first", "second", "second"]
    assert h.engine.rule_counts == {"rule1": 1, "rule2": 2}


def test_rule_bound_to_an_agent():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ, agent: "1002"}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: only 1002}}]
    """)
    a, b = h.open("1001"), h.open("1002")
    assert h.hb(a, 2)[0].TYPE is MT.HEARTBEAT_CONF
    assert h.hb(b, 2)[0].text == "only 1002"


# == predicates ====================================================================================

PRED_BASE = """
rules:
  - when: {message: HEARTBEAT_REQ}
    capture: {lim: invoke_id}
    then: [{reply: {message: HEARTBEAT_CONF}}]
  - when: {message: HOLD_CALL_REQ, fields: {%s}}
    then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: hit}}]
  - when: {message: HOLD_CALL_REQ}
    then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: miss}}]
"""


@pytest.mark.parametrize("pred, hits, misses", [
    ("call_id: 5", [dict(call_id=5)], [dict(call_id=6)]),
    ("call_id: {equals: 5}", [dict(call_id=5)], [dict(call_id=6)]),
    ('connection_device_id: "3001"', [dict(connection_device_id="3001")], [dict(connection_device_id="3002")]),
    ("call_id: {not_equals: 5}", [dict(call_id=6)], [dict(call_id=5)]),
    ("call_id: {in: [1, 2]}", [dict(call_id=1), dict(call_id=2)], [dict(call_id=3)]),
    ("call_id: {not_in: [1, 2]}", [dict(call_id=3)], [dict(call_id=1)]),
    ('connection_device_id: {regex: "^30[0-9]1$"}', [dict(connection_device_id="3001")],
     [dict(connection_device_id="4001")]),
    ('agent_instrument: {regex: "1"}', [dict(agent_instrument="3001")], [dict(agent_instrument=None)]),
    ("agent_instrument: present", [dict(agent_instrument="x")], [dict(agent_instrument=None)]),
    ("agent_instrument: absent", [dict(agent_instrument=None)], [dict(agent_instrument="x")]),
    ("agent_instrument: {present: false}", [dict(agent_instrument=None)], [dict(agent_instrument="x")]),
    ('agent_instrument: {not_equals: "x"}', [dict(agent_instrument=None), dict(agent_instrument="y")],
     [dict(agent_instrument="x")]),
    ("call_id: {min: 10}", [dict(call_id=10), dict(call_id=11)], [dict(call_id=9)]),
    ("call_id: {max: 10}", [dict(call_id=10), dict(call_id=0)], [dict(call_id=11)]),
    ("call_id: {min: 10, max: 12}", [dict(call_id=12)], [dict(call_id=13), dict(call_id=9)]),
    # substitutions: a capture (the HEARTBEAT_REQ's invoke_id is 7) and built-ins
    ('call_id: "${lim}"', [dict(call_id=7)], [dict(call_id=8)]),
    ('call_id: {in: ["${lim}", 99]}', [dict(call_id=7), dict(call_id=99)], [dict(call_id=6)]),
    ('agent_instrument: "${session.agent_instrument}"', [dict(agent_instrument="3001")],
     [dict(agent_instrument="3002")]),
    ('connection_device_id: {not_equals: "${session.agent_extension}"}', [dict(connection_device_id="9")],
     [dict(connection_device_id="3001")]),
])
def test_predicates(pred, hits, misses):
    h = H(PRED_BASE % pred)
    sid = h.open()
    h.hb(sid, 1.5, 7)
    t = 2.0
    for kw, want in [(k, "hit") for k in hits] + [(k, "miss") for k in misses]:
        t += 1
        (m,) = h.req(sid, hold(**kw), t)
        assert m.text == want, (pred, kw)


# == faults: transport ==============================================================================


def fault_rule(kind: str, params: str = "{}", then_after: str = "[{reply: {message: HEARTBEAT_CONF}}]") -> str:
    return f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        times: 1
        then: [{{fault: {{kind: {kind}, params: {params}}}}}, {{reply: {{message: HEARTBEAT_CONF}}}}]
    """


def test_fault_delay_action_postpones_what_follows():
    h = H(fault_rule("delay", "{seconds: 2}"))
    sid = h.open()
    assert h.hb(sid, 3.0, 5) == []
    assert h.msgs(h.tick(4.9), sid) == []
    assert h.msgs(h.tick(5.0), sid) == [W.HeartbeatConf(invoke_id=5)]


def test_session_wide_delay_holds_every_write():
    h = H("faults: [{kind: delay, params: {seconds: 1.5}}]\n")
    sid = h.connect(1.0)
    assert h.msgs(h.send(sid, h.open_req(), 1.0), sid) == []
    assert h.msgs(h.tick(2.4), sid) == []
    assert [m.TYPE for m in h.msgs(h.tick(2.5), sid)] == [MT.OPEN_CONF]
    assert h.hb(sid, 3.0, 9) == []
    assert h.msgs(h.tick(4.5), sid) == [W.HeartbeatConf(invoke_id=9)]


def test_fault_dribble_writes_in_chunks():
    h = H(fault_rule("dribble", "{chunk: 3, interval: 0.25}"))
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    (wc,) = acts
    assert isinstance(wc, WriteChunked) and wc.chunk == 3 and wc.interval == 0.25
    assert decode_bytes(wc.data, D) == W.HeartbeatConf(invoke_id=5)


def test_fault_coalesce_writes_messages_in_one_go():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then:
          - fault: {kind: coalesce, params: {count: 3}}
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: SYSTEM_EVENT, fields: {text: a}}
          - emit: {message: SYSTEM_EVENT, fields: {text: b}}
          - emit: {message: SYSTEM_EVENT, fields: {text: c}}
    """)
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    writes = only(acts, Write)
    assert len(writes) == 2  # three messages in one write, then the fourth alone
    assert [getattr(m, "text", None) for m in h.msgs(writes[:1], sid)] == [None, "a", "b"]
    assert [m.text for m in h.msgs(writes[1:], sid)] == ["c"]


def test_fault_reset_aborts_the_connection():
    h = H(fault_rule("reset"))
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    assert Close(sid, "fault: reset", True) in acts


def test_fault_half_close():
    h = H(fault_rule("half_close"))
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    assert acts[0] == HalfClose(sid)


def test_fault_silent_accept_answers_nothing_more():
    h = H(fault_rule("silent_accept"))
    sid = h.open()
    assert h.hb(sid, 2.0) == []
    assert h.hb(sid, 3.0) == []
    assert only(h.send(sid, W.HeartbeatReq(invoke_id=1), 4.0), Write) == []


def test_session_wide_silent_accept_from_the_connection():
    h = H("faults: [{kind: silent_accept}]\n")
    sid = h.connect(1.0)
    assert h.send(sid, h.open_req(), 1.0) == []


def test_a_violations_answer_withheld_by_silent_accept_says_nothing_was_sent():
    """A violation named the refusal the client got ("answered FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4)") when a
    silent_accept fault had withheld it: the client got nothing, and the report said otherwise."""
    h = H("faults: [{kind: silent_accept}]\n")
    sid = h.connect(1.0)
    assert h.req(sid, W.HeartbeatReq(invoke_id=3), 1.0) == []
    [v] = [e.data for e in h.hub.journal.entries() if e.kind == "violation"]
    assert v["rule"] == "PROTO-OPEN-FIRST"
    assert v["answer"] == ("nothing (the scenario's silent_accept fault withheld FAILURE_CONF E_CTI_SESSION_NOT_OPEN (4): "
                           "nothing was sent)")


def test_a_violations_answer_withheld_by_a_silent_accept_of_its_message_type():
    """The center's own violation (PROTO-REQUIRED-FIELD, judged before its refusal goes out) and one the session
    judges whose request the center refuses (PROTO-UNKNOWN-CALL, recorded once answered) alike; a fault that
    withholds by chance is said to, where the violation is recorded before the refusal goes out."""
    single_step = W.TransferCallReq(invoke_id=9, active_call_id=5, held_call_id=0xFFFFFFFF, agent_instrument="3001",
                                    active_connection_device_id="3001", held_connection_device_id="3001")

    def answers(faults: str) -> tuple[list, dict]:
        h = H(faults, center=True, seed=1)
        sid = h.open()
        got = h.req(sid, single_step, 2.0)
        violations = [e.data for e in h.hub.journal.entries() if e.kind == "violation"]
        assert not any("answer_type" in v for v in violations)  # (the center's, for the hub: not journalled)
        return got, {v["rule"]: v.get("answer") for v in violations}

    sent = "FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (6)"
    withheld = f"nothing (the scenario's silent_accept fault withheld {sent}: nothing was sent)"
    got, said = answers("")
    assert [m.TYPE for m in got] == [MT.FAILURE_CONF]
    assert said == {"PROTO-REQUIRED-FIELD": sent, "PROTO-UNKNOWN-CALL": sent}
    got, said = answers("faults: [{kind: silent_accept, messages: [FAILURE_CONF]}]\n")
    assert got == []
    assert said == {"PROTO-REQUIRED-FIELD": withheld, "PROTO-UNKNOWN-CALL": withheld}
    got, said = answers("faults: [{kind: silent_accept, messages: [FAILURE_CONF], probability: 0.5}]\n")
    assert got == []  # (seed 1: withheld)
    assert said == {"PROTO-REQUIRED-FIELD": f"{sent}, unless the scenario's silent_accept fault withheld it (by chance: "
                                            "the journal's \"fault: FAILURE_CONF withheld\" says)",
                    "PROTO-UNKNOWN-CALL": withheld}


def test_fault_stop_reading_pauses_then_resumes():
    h = H(fault_rule("stop_reading", "{seconds: 3}"))
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    assert acts[0] == PauseReading(sid)
    assert h.msgs(acts, sid) == [W.HeartbeatConf(invoke_id=5)]
    assert ResumeReading(sid) not in h.tick(4.9)
    assert ResumeReading(sid) in h.tick(5.0)


# == faults: framing ================================================================================


def framing_bytes(kind: str, params: str = "{}", *, seed: int | None = None) -> tuple[H, int, bytes]:
    """The raw bytes a framing fault action sends (the HEARTBEAT_CONF after it is cut off)."""
    h = H(f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        then: [{{fault: {{kind: {kind}, params: {params}}}}}]
    """, seed=seed)
    sid = h.open()
    writes = only(h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0), Write)
    assert len(writes) == 1
    return h, sid, writes[0].data


def test_framing_truncated():
    _, _, data = framing_bytes("truncated", "{bytes: 5}")
    length = struct.unpack(">I", data[:4])[0]
    assert len(data) - 8 == length - 5
    fb = FrameBuffer()
    assert fb.feed(data) == [] and not fb.at_frame_boundary()
    with pytest.raises(DecodeError, match="BodyLength says"):
        decode_bytes(data, D)


def test_framing_oversized_length():
    _, _, data = framing_bytes("oversized_length")
    (err,) = FrameBuffer().feed(data)
    assert isinstance(err, FrameError) and not err.recoverable and "exceeds the limit" in err.reason
    _, _, data = framing_bytes("oversized_length", "{length: 70000}")
    assert struct.unpack(">I", data[:4])[0] == 70000
    assert isinstance(FrameBuffer().feed(data)[0], FrameError)


def test_framing_bad_floating_length():
    _, _, data = framing_bytes("bad_floating_length")
    (frame,) = FrameBuffer().feed(data)
    with pytest.raises(DecodeError, match="claims .* bytes but only .* remain"):
        decode(frame, D)


def test_framing_unknown_message_type():
    _, _, data = framing_bytes("unknown_message_type", "{type_id: 9999}")
    (frame,) = FrameBuffer().feed(data)
    assert frame.type_id == 9999
    with pytest.raises(DecodeError) as e:
        decode(frame, D)
    assert e.value.status is StatusCode.E_CTI_INVALID_MESSAGE_TYPE


def test_framing_unknown_tag():
    _, _, data = framing_bytes("unknown_tag", "{tag: 250}")
    (frame,) = FrameBuffer().feed(data)
    msg = decode(frame, D)  # the codec keeps unknown tags for the session to judge
    assert msg.TYPE is MT.SYSTEM_EVENT and msg.text == "mockcti framing fault"
    assert [t for t, *_ in msg.extra_fields] == [250]


@pytest.mark.parametrize("kind", ["truncated", "unknown_tag", "bad_floating_length"])
def test_framing_faults_damage_the_message_type_named_in_params(kind):
    """``params: {message: AGENT_STATE_EVENT}``: the damaged frame is that message's (its type ID in
    the header), not the default SYSTEM_EVENT."""
    _, _, data = framing_bytes(kind, "{message: AGENT_STATE_EVENT}")
    assert struct.unpack(">I", data[4:8])[0] == int(MT.AGENT_STATE_EVENT)
    frames = FrameBuffer().feed(data)
    if kind == "truncated":
        assert frames == []  # the body is cut short: the client must wait, then give up
        return
    (frame,) = frames
    if kind == "unknown_tag":
        msg = decode(frame, D)
        assert msg.TYPE is MT.AGENT_STATE_EVENT and [t for t, *_ in msg.extra_fields] == [0xF0]
    else:
        with pytest.raises(DecodeError):
            decode(frame, D)


@pytest.mark.parametrize("kind", ["truncated", "unknown_tag", "bad_floating_length", "garbage"])
def test_a_delayed_framing_fault_whose_client_has_gone_sends_nothing(kind):
    """``then: [{delay: ...}, {fault: {kind: truncated}}]`` and the client disconnects during the delay:
    the fault has nobody to go to. The engine used to encode its frame without a dialect (TypeError
    out of the hub's tick, mypy's "missing positional argument" in _malformed)."""
    h = H(f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        then: [{{delay: {{seconds: 1}}}}, {{fault: {{kind: {kind}}}}}]
    """)
    sid = h.open()
    assert h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0) == []
    h.hub.disconnected(sid, 2.5)
    assert h.tick(3.5) == []
    assert not [e for e in h.hub.journal.entries(kind="fault") if "framing fault" in str(e.data.get("fault"))]


def test_framing_garbage_is_seeded():
    _, _, a = framing_bytes("garbage", "{bytes: 24}", seed=1)
    _, _, b = framing_bytes("garbage", "{bytes: 24}", seed=1)
    _, _, c = framing_bytes("garbage", "{bytes: 24}", seed=2)
    assert len(a) == 24 and a == b and a != c


# == faults: protocol ===============================================================================


def test_no_heartbeat_conf_once_as_an_action():
    h = H("""
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then: [{fault: {kind: no_heartbeat_conf}}, default]
    """, center=True)
    sid = h.open()
    h.req(sid, W.QueryAgentStateReq(invoke_id=2, agent_id="1001"), 2.0)
    assert h.hb(sid, 3.0) == []
    assert h.hb(sid, 4.0, 44) == [W.HeartbeatConf(invoke_id=44)]


def test_no_heartbeat_conf_session_wide_and_counted():
    h = H("faults: [{kind: no_heartbeat_conf, params: {count: 2}}]\n")
    sid = h.open()
    assert h.hb(sid, 2.0) == [] and h.hb(sid, 3.0) == []
    assert h.hb(sid, 4.0, 7) == [W.HeartbeatConf(invoke_id=7)]
    h2 = H("faults: [{kind: no_heartbeat_conf}]\n")
    sid = h2.open()
    assert all(h2.hb(sid, 2.0 + i) == [] for i in range(20))


def test_a_withheld_heartbeats_invoke_id_may_be_used_again():
    """A client that numbers every HEARTBEAT_REQ the same (answered before the next, which is legal)
    was charged PROTO-INVOKEID-REUSED after the mock withheld one HEARTBEAT_CONF: the withheld
    request stayed outstanding for ever."""
    h = H("faults: [{kind: no_heartbeat_conf, params: {count: 1}}]\n")
    sid = h.open()
    assert h.hb(sid, 2.0, 5) == []  # withheld
    assert h.hb(sid, 3.0, 5) == [W.HeartbeatConf(invoke_id=5)]
    assert [e.data["rule"] for e in h.hub.journal.violations()] == []


def test_late_open_conf():
    h = H("faults: [{kind: late_open_conf, params: {seconds: 4}}]\n")
    sid = h.connect(1.0)
    assert h.msgs(h.send(sid, h.open_req(), 1.0), sid) == []
    assert h.msgs(h.tick(4.9), sid) == []
    (conf,) = h.msgs(h.tick(5.0), sid)
    assert conf.TYPE is MT.OPEN_CONF and conf.invoke_id == 1


def test_no_heartbeat_conf_armed_by_a_rule_on_heartbeat_req_withholds_that_heartbeats_conf():
    """A rule on HEARTBEAT_REQ that arms no_heartbeat_conf and lets the center answer withholds the
    HEARTBEAT_CONF of that heartbeat; before, it went out and the next heartbeat's was withheld."""
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then: [{fault: {kind: no_heartbeat_conf}}, default]
    """)
    sid = h.open()
    assert h.hb(sid, 2.0, 5) == []
    assert h.hb(sid, 3.0, 5) == [W.HeartbeatConf(invoke_id=5)]  # its InvokeID free again, no violation
    assert h.hb(sid, 4.0, 6) == [W.HeartbeatConf(invoke_id=6)]
    assert [e.data["rule"] for e in h.hub.journal.violations()] == []


def test_late_open_conf_armed_by_a_rule_on_open_req_delays_that_open_conf():
    """A rule on OPEN_REQ that arms late_open_conf and lets the center answer sends that OPEN_CONF
    late; before, it went out at once (the fault waited for a second OPEN_REQ that never comes)."""
    h = H("""
    rules:
      - when: {message: OPEN_REQ}
        times: 1
        then: [{fault: {kind: late_open_conf, params: {seconds: 2}}}, default]
    """)
    sid = h.connect(1.0)
    assert h.msgs(h.send(sid, h.open_req(), 1.0), sid) == []
    assert h.msgs(h.tick(2.9), sid) == []
    (conf,) = h.msgs(h.tick(3.0), sid)
    assert conf.TYPE is MT.OPEN_CONF and conf.invoke_id == 1
    sid2 = h.connect(4.0)  # times: 1 — the next session is answered at once
    (conf2,) = h.msgs(h.send(sid2, h.open_req("1002"), 4.0), sid2)
    assert conf2.TYPE is MT.OPEN_CONF


def test_duplicate_event():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - fault: {kind: duplicate_event, params: {message: SYSTEM_EVENT}}
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: FAILURE_EVENT, fields: {status: 1, text: x}}
          - emit: {message: SYSTEM_EVENT, fields: {text: a}}
          - emit: {message: SYSTEM_EVENT, fields: {text: b}}
    """)
    sid = h.open()
    assert [(m.TYPE.name, getattr(m, "text", None)) for m in h.hb(sid, 2.0)] == [
        ("HEARTBEAT_CONF", None), ("FAILURE_EVENT", "x"), ("SYSTEM_EVENT", "a"), ("SYSTEM_EVENT", "a"),
        ("SYSTEM_EVENT", "b")]


def test_out_of_order_events():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - fault: {kind: out_of_order_events, params: {count: 3}}
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: SYSTEM_EVENT, fields: {text: a}}
          - emit: {message: SYSTEM_EVENT, fields: {text: b}}
          - emit: {message: SYSTEM_EVENT, fields: {text: c}}
          - emit: {message: SYSTEM_EVENT, fields: {text: d}}
    """)
    sid = h.open()
    assert [getattr(m, "text", None) for m in h.hb(sid, 2.0)] == [None, "c", "b", "a", "d"]


def test_wrong_invoke_id_once():
    h = H(fault_rule("wrong_invoke_id", "{offset: 5}"))
    sid = h.open()
    assert h.hb(sid, 2.0, 10) == [W.HeartbeatConf(invoke_id=15)]
    assert h.hb(sid, 3.0, 11) == [W.HeartbeatConf(invoke_id=11)]


# == session-wide faults: probability, messages, seed ================================================


def run_heartbeats(text: str, seed: int, n: int = 40) -> list[bytes]:
    h = H(text, seed=seed)
    sid = h.open()
    raw = []
    for i in range(n):
        acts = h.send(sid, W.HeartbeatReq(invoke_id=1000 + i), 2.0 + i)
        raw.append(b"".join(a.data for a in acts if isinstance(a, (Write, WriteChunked))))
    return raw


@pytest.mark.parametrize("fault", [
    "{kind: no_heartbeat_conf, probability: 0.5, messages: [HEARTBEAT_REQ]}",
    "{kind: wrong_invoke_id, probability: 0.5, messages: [HEARTBEAT_CONF]}",
    "{kind: garbage, probability: 0.5, messages: [HEARTBEAT_CONF], params: {bytes: 4}}",
])
def test_session_wide_fault_with_probability_is_seeded(fault):
    text = f"faults: [{fault}]\n"
    a = run_heartbeats(text, seed=3)
    b = run_heartbeats(text, seed=3)
    c = run_heartbeats(text, seed=4)
    assert a == b
    assert a != c
    normal = [encode(W.HeartbeatConf(invoke_id=1000 + i), D) for i in range(40)]
    hit = [i for i in range(40) if a[i] != normal[i]]
    # roughly half, and each message is decided on its own (not "once hit, always hit")
    assert 5 < len(hit) < 35, hit
    assert any(i > hit[0] and a[i] == normal[i] for i in range(40)), hit


def test_session_wide_fault_only_on_the_messages_named():
    h = H("faults: [{kind: wrong_invoke_id, messages: [QUERY_AGENT_STATE_CONF], params: {offset: 1}}]\n",
          center=True)
    sid = h.open()
    assert h.hb(sid, 2.0, 5) == [W.HeartbeatConf(invoke_id=5)]
    (q,) = h.req(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 3.0)
    assert q.TYPE is MT.QUERY_AGENT_STATE_CONF and q.invoke_id == 7


@pytest.mark.parametrize("kind, params, after", [
    ("reset", "{}", lambda sid: [Close(sid, "fault: reset", True)]),
    ("half_close", "{}", lambda sid: [HalfClose(sid)]),
    ("stop_reading", "{seconds: 2}", lambda sid: [PauseReading(sid)]),
])
def test_a_transport_fault_bound_to_an_outgoing_message_acts_right_after_it_is_written(kind, params, after):
    """``faults: [{kind: reset|half_close|stop_reading, messages: [QUERY_AGENT_STATE_CONF]}]``: the
    confirmation goes out whole, then the connection is reset / half-closed / no longer read;
    other messages (heartbeats) pass untouched."""
    h = H(f"faults: [{{kind: {kind}, messages: [QUERY_AGENT_STATE_CONF], params: {params}}}]\n", center=True)
    sid = h.open()
    assert h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0) == [Write(sid, encode(W.HeartbeatConf(invoke_id=5), D))]
    acts = h.send(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 3.0)
    assert [type(a) for a in acts] == [Write, *(type(a) for a in after(sid))]
    assert acts[1:] == after(sid)
    (conf,) = h.msgs(acts, sid)
    assert conf.TYPE is MT.QUERY_AGENT_STATE_CONF and conf.invoke_id == 6
    assert any(f"fault: {kind} after this message" in str(e.data) for e in h.hub.journal.entries())
    if kind == "stop_reading":
        assert ResumeReading(sid) not in h.tick(4.9)
        assert ResumeReading(sid) in h.tick(5.0)


def test_silent_accept_bound_to_an_outgoing_message_withholds_only_that_message():
    h = H("faults: [{kind: silent_accept, messages: [QUERY_AGENT_STATE_CONF]}]\n", center=True)
    sid = h.open()
    assert h.req(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 2.0) == []
    assert h.hb(sid, 3.0, 7) == [W.HeartbeatConf(invoke_id=7)]
    assert any("fault: QUERY_AGENT_STATE_CONF withheld" in str(e.data) for e in h.hub.journal.entries())


def test_session_wide_reset_with_probability_per_connection_is_seeded():
    def closed(seed):
        h = H("faults: [{kind: reset, probability: 0.5}]\n", seed=seed)
        out = []
        for i in range(30):
            sid = h.hub.connect(1.0 + i)
            out.append(bool(only(h.hub.take_actions(), Close)))
        return out

    assert closed(5) == closed(5)
    assert closed(5) != closed(6)
    assert 3 < sum(closed(5)) < 27


# == steps, timeline, end ===========================================================================

FLOW = """
steps:
  - id: open
    expect: {message: OPEN_REQ, capture: {who: agent_id}}
  - id: hello
    send: {message: SYSTEM_EVENT, fields: {text: "hello ${who}"}}
  - id: pause
    wait: 2
  - id: first-hb
    expect:
      message: HEARTBEAT_REQ
      timeout: 5
      capture: {hb: invoke_id}
      respond: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "step ${hb}"}}]
  - id: tail
    do: [{emit: {message: SYSTEM_EVENT, fields: {text: "done ${hb}"}}}]
timeline:
  - {at: 0.5, do: {emit: {message: SYSTEM_EVENT, fields: {text: early}}}}
  - {after: pause, delay: 1, do: {emit: {message: SYSTEM_EVENT, fields: {text: "1 s after pause"}}}}
  - {after: first-hb, do: {emit: {message: SYSTEM_EVENT, fields: {text: "after first-hb"}}}}
end: {when: all_steps_done}
"""


def test_steps_in_order_with_captures_respond_send_wait_and_do():
    h = H(FLOW)
    assert h.tick(0.5) == []  # the timeline's first entry: nobody is connected, the emit goes nowhere
    sid = h.open(now=1.0)  # the expect step lets the center answer OPEN_REQ
    assert h.engine.env["who"] == "1001"
    assert [m.text for m in h.msgs(h.tick(1.0), sid)] == ["hello 1001"]  # the step flow goes on at once
    assert h.msgs(h.tick(2.9), sid) == []
    assert h.msgs(h.tick(3.0), sid) == []  # wait over: now waiting for the HEARTBEAT_REQ
    assert not h.engine.done
    assert [m.text for m in h.hb(sid, 3.5, 61)] == ["step 61", "done 61"]
    assert h.engine.done and h.engine.end_reason == "all steps done"
    assert [m.text for m in h.msgs(h.tick(4.0), sid)] == ["after first-hb", "1 s after pause"]  # at 3.5, 4.0
    assert all(e.met for e in h.engine.verify())


def test_a_passing_and_a_failing_run_report_the_same_cases():
    """CI servers follow a test case by its name from run to run: a failing run must not add cases a
    passing one lacks (before, a step was a case only once it failed). The JUnit file of each run has
    every step; a step behind the failed one is <skipped/>, not a failure of its own."""
    import xml.etree.ElementTree as ET

    from mockcti.report import build_summary, junit_xml, terminal_table

    def cases(h: H) -> tuple[list[str], ET.Element, str]:
        summary = build_summary(h.hub.journal, expectations=h.engine.verify())
        suite = next(s for s in ET.fromstring(junit_xml(summary, rules={})) if s.get("name").startswith("mockcti.scenario."))
        return [c.get("name") for c in suite], suite, terminal_table(summary)

    good = H(FLOW)
    sid = good.open(now=1.0)
    good.tick(1.0)
    good.tick(3.0)
    good.hb(sid, 3.5, 61)
    passed, suite, _ = cases(good)
    assert suite.get("tests") == "5" and suite.get("failures") == "0" and suite.get("skipped") == "0"

    bad = H(FLOW)
    bad.open(now=1.0)
    bad.tick(1.0)
    bad.tick(3.0)
    bad.tick(8.0)  # no HEARTBEAT_REQ within the step's 5 s
    failed, suite, table = cases(bad)
    assert failed == passed == ["step open", "step hello", "step pause", "step first-hb", "step tail"]
    assert suite.get("tests") == "5" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    by_name = {c.get("name"): c for c in suite}
    assert by_name["step first-hb"].find("failure") is not None
    tail = by_name["step tail"]
    assert tail.find("failure") is None
    assert tail.find("skipped").get("message") == "not reached: the flow stopped at step first-hb"
    assert "  skip FLOW: step tail — not reached: the flow stopped at step first-hb" in table.replace(
        f"{bad.engine.scenario.name}:", "FLOW:")
    assert table.endswith("FAILED")


def test_timeline_at_fires_late_when_ticked_late():
    h = H(FLOW)
    sid = h.open(now=1.0)
    assert [m.text for m in h.msgs(h.tick(1.0), sid)] == ["early", "hello 1001"]


def test_an_expect_step_after_a_wait_takes_nothing_before_the_wait_is_over():
    h = H(FLOW)
    sid = h.open(now=1.0)
    h.tick(1.0)
    assert h.hb(sid, 2.0, 5) == [W.HeartbeatConf(invoke_id=5)]  # the center answers: still waiting
    h.tick(3.0)
    assert [m.text for m in h.hb(sid, 4.0, 6)] == ["step 6", "done 6"]


def test_expect_step_times_out_and_verify_reports_it_with_a_near_miss():
    h = H(FLOW)
    sid = h.open(now=1.0)
    h.tick(1.0)
    h.tick(3.0)
    assert h.engine.next_deadline() == 8.0
    # a request that is not the awaited one goes to the center
    assert h.req(sid, W.QueryAgentStateReq(invoke_id=4, agent_id="1001"), 4.0)[0].TYPE is MT.QUERY_AGENT_STATE_CONF
    h.tick(7.9)
    assert not h.engine.done
    h.tick(8.0)
    assert h.engine.done  # end when all_steps_done: the flow cannot go on
    results = h.engine.verify()
    (res,) = [r for r in results if not r.met and not r.skipped]
    assert res.name == "step first-hb" and "no matching HEARTBEAT_REQ within 5 s" in res.detail
    # every step has its case, whatever happened (a CI server follows each by name): the three before
    # it passed, the one behind it was not reached
    assert [(r.name, r.met, r.skipped, r.detail) for r in results if r is not res] == [
        ("step open", True, False, "received OPEN_REQ"), ("step hello", True, False, "sent SYSTEM_EVENT"),
        ("step pause", True, False, "waited 2 s"),
        ("step tail", False, True, "not reached: the flow stopped at step first-hb")]
    assert "message is QUERY_AGENT_STATE_REQ, not HEARTBEAT_REQ" in res.near_miss  # the latest of equally close ones
    # a late HEARTBEAT_REQ is answered by the center again
    assert h.hb(sid, 9.0, 3) == [W.HeartbeatConf(invoke_id=3)]


def test_a_step_near_miss_that_came_before_the_flow_reached_the_step_says_so():
    """A HEARTBEAT_REQ sent during the wait step before the expect step goes to the center, and the
    expect step times out: its near miss said "matched too late or too often" of a request that came
    too early; it names when the flow reached the step."""
    h = H(FLOW)
    sid = h.open(now=1.0)
    h.tick(1.0)
    assert h.hb(sid, 2.0, 3) == [W.HeartbeatConf(invoke_id=3)]  # during the pause: the center answers
    h.tick(3.0)  # the pause is over: the flow waits for first-hb from now on
    h.tick(8.0)
    (res,) = [r for r in h.engine.verify() if not r.met and not r.skipped]
    assert res.name == "step first-hb"
    assert res.near_miss == ("closest: HEARTBEAT_REQ from session 1 at 2.000 s; it matches, but came before "
                             "the flow reached this step (at 3.000 s)")


@pytest.mark.parametrize("answer", [
    "respond: [{delay: {seconds: 1}}, default]",        # the step's own response, delayed
    "capture: {q: invoke_id}",                            # a rule answers it, delayed (below)
])
def test_the_flow_goes_on_after_a_delayed_answer_of_an_expect_step(answer):
    """A step whose answer is delayed: the next step went out before the answer, and with
    end: all_steps_done the scenario ended before the answer was ever sent."""
    h = H(f"""
    steps:
      - id: query
        expect:
          message: QUERY_AGENT_STATE_REQ
          {answer}
      - {{id: after, send: {{message: SYSTEM_EVENT, fields: {{system_event_id: SYS_TEXT_FYI, text: after}}}}}}
    rules:
      - when: {{message: QUERY_AGENT_STATE_REQ}}
        then: [{{delay: {{seconds: 1}}}}, default]
    end: {{when: all_steps_done}}
    """, center=True)
    sid = h.open()
    assert h.types(h.send(sid, W.QueryAgentStateReq(invoke_id=2, agent_id="1001"), 2.0), sid) == []
    assert h.types(h.tick(2.5), sid) == [] and not h.engine.done
    assert h.types(h.tick(3.0), sid) == ["QUERY_AGENT_STATE_CONF", "SYSTEM_EVENT"]
    assert h.engine.done


def test_a_do_step_with_a_delay_holds_the_flow_until_its_last_action():
    """A do step [emit, delay, emit] followed by a send step: the send went out before the
    delayed emit, and an expect step after it took requests during the delay."""
    h = H("""
    steps:
      - {id: open, expect: {message: OPEN_REQ}}
      - id: two-texts
        do:
          - {emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: one}}}
          - {delay: {seconds: 2}}
          - {emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: two}}}
      - {id: three, send: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: three}}}
      - {id: hb, expect: {message: HEARTBEAT_REQ, respond: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: step}}]}}
    """)
    sid = h.connect(1.0)
    (conf,) = h.msgs(h.send(sid, h.open_req(), 1.0), sid)
    assert conf.TYPE is MT.OPEN_CONF
    assert [m.text for m in h.msgs(h.tick(1.0), sid)] == ["one"]  # the flow goes on right after OPEN_CONF
    assert h.hb(sid, 2.0, 5) == [W.HeartbeatConf(invoke_id=5)]  # during the delay: not the hb step's
    assert [m.text for m in h.msgs(h.tick(3.0), sid)] == ["two", "three"]
    assert [m.text for m in h.hb(sid, 4.0, 6)] == ["step"]


def test_pending_step_is_unmet_in_verify():
    h = H(FLOW)
    sid = h.open(now=1.0)
    h.tick(1.0)
    (res,) = [r for r in h.engine.verify() if not r.met and not r.skipped]
    assert res.name == "step pause"
    h.tick(3.0)
    results = h.engine.verify()
    (res,) = [r for r in results if not r.met and not r.skipped]
    assert res.name == "step first-hb" and "still waiting for HEARTBEAT_REQ" in res.detail
    assert [r.name for r in results if r.skipped] == ["step tail"]
    assert sid


def test_end_after_seconds():
    h = H("end: {after: 10}\n")
    h.tick(9.99)
    assert not h.engine.done
    h.tick(10.0)
    assert h.engine.done and h.engine.end_reason == "after 10 s"


def test_end_when_all_expectations_met():
    h = H("""
    expect:
      - {message: HEARTBEAT_REQ, min: 2}
    end: {when: all_expectations_met}
    """)
    sid = h.open()
    h.hb(sid, 2.0)
    h.tick(2.0)
    assert not h.engine.done
    assert h.hb(sid, 3.0, 8) == [W.HeartbeatConf(invoke_id=8)]  # the request is still answered
    h.tick(3.0)
    assert h.engine.done


def test_end_when_disconnect():
    h = H("end: {when: disconnect}\n")
    sid = h.open()
    h.hub.disconnected(sid, 2.0)
    h.tick(2.0)
    assert h.engine.done


# == expectations ===================================================================================


def verify_by_name(h: H) -> dict:
    return {r.name: r for r in h.engine.verify()}


def test_expectation_counts_min_max_never_times():
    h = H("""
    expect:
      - {id: hb-min, message: HEARTBEAT_REQ, min: 2}
      - {id: hb-max, message: HEARTBEAT_REQ, max: 2}
      - {id: hb-times, message: HEARTBEAT_REQ, times: 3}
      - {id: hb-range, message: HEARTBEAT_REQ, min: 1, max: 3}
      - {id: no-close, message: CLOSE_REQ, never: true}
      - {id: query-once, message: QUERY_AGENT_STATE_REQ}
    """)
    sid = h.open()
    for t in (2, 3, 4):
        h.hb(sid, t)
    r = verify_by_name(h)
    assert r["hb-min"].met and r["hb-times"].met and r["hb-range"].met and r["no-close"].met
    # max alone means at least one (the loader's reading of ``max: 2``)
    assert not r["hb-max"].met and "expected 1..2 time(s), received 3" in r["hb-max"].detail
    assert not r["query-once"].met and "expected 1+ time(s), received 0" in r["query-once"].detail
    h.req(sid, W.QueryAgentStateReq(invoke_id=3, agent_id="1001"), 5)
    h.req(sid, W.CloseReq(invoke_id=4), 6)
    r = verify_by_name(h)
    assert r["query-once"].met
    assert not r["no-close"].met and r["no-close"].detail == "CLOSE_REQ: expected never, received 1"


def test_expect_order():
    text = """
    expect_order: true
    expect:
      - {id: a, message: QUERY_AGENT_STATE_REQ}
      - {id: b, message: HOLD_CALL_REQ}
    """
    h = H(text)
    sid = h.open()
    h.req(sid, W.QueryAgentStateReq(invoke_id=3, agent_id="1001"), 2)
    h.req(sid, hold(call_id=1), 3)
    assert verify_by_name(h)["expect_order"].met
    h = H(text)
    sid = h.open()
    h.req(sid, hold(call_id=1), 2)
    h.req(sid, W.QueryAgentStateReq(invoke_id=3, agent_id="1001"), 3)
    r = verify_by_name(h)["expect_order"]
    # the ids as the scenario writes them, not a Python list's repr (['b', 'a'], in the terminal and junit.xml)
    assert not r.met and r.detail == "first arrivals in order b, a; declared a, b"


def test_near_miss_names_the_failing_predicate():
    h = H("""
    expect:
      - id: hold-5
        message: HOLD_CALL_REQ
        fields: {call_id: 5, connection_device_id: {regex: "^3"}}
      - {id: hold-by-1002, message: HOLD_CALL_REQ, agent: "1002"}
    """)
    sid = h.open()
    h.req(sid, hold(call_id=6, connection_device_id="3001"), 2.5)
    r = verify_by_name(h)
    assert not r["hold-5"].met
    assert "call_id equals 5 failed: got 6" in r["hold-5"].near_miss
    assert "HOLD_CALL_REQ from session 1 at 2.500 s" in r["hold-5"].near_miss
    assert r["hold-by-1002"].met is False
    assert "sent by agent '1001', not '1002'" in r["hold-by-1002"].near_miss


def test_near_miss_with_nothing_received():
    """With no request at all, the near miss says whether a client connected: a client started by `mockcti run`
    that connects elsewhere (the quick start's 127.0.0.1:42027, not CTI_HOST/CTI_PORT) and one that connects and
    sends nothing read the same, "no request was received at all"."""
    h = H("expect: [{message: HEARTBEAT_REQ}]\n")
    (r,) = h.engine.verify()
    assert not r.met and r.near_miss == "no request was received at all: no client connected to the server"
    h = H("expect: [{message: HEARTBEAT_REQ}]\n")
    h.connect()
    h.connect()
    (r,) = h.engine.verify()
    assert not r.met and r.near_miss == "no request was received at all (2 connection(s), no request on any)"


def test_expectations_substitute_the_built_ins_of_the_request_they_test():
    # ${session.*}, ${request.*}, ${state} and ${seed} in an expectation are those of each request
    # tested, as in a rule's condition; they had no value at the end and the expectation never held
    text = """
    seed: 7
    states: [start, asked]
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then: [default, {goto: {state: asked}}]
    expect:
      - {id: own-agent, message: QUERY_AGENT_STATE_REQ, fields: {agent_id: "${session.agent_id}"}, times: 1}
      - {id: own-phone, message: QUERY_AGENT_STATE_REQ, fields: {agent_extension: "${session.agent_extension}"}}
      - {id: echo, message: QUERY_AGENT_STATE_REQ, fields: {invoke_id: "${request.invoke_id}"}, times: 2}
      - {id: state-then, message: HOLD_CALL_REQ, fields: {connection_device_id: "${state}"}}
      - {id: seed, message: HOLD_CALL_REQ, fields: {call_id: "${seed}"}}
    """
    for when in ("", "end: {when: all_expectations_met}\n"):
        h = H(text + when, center=True)
        sid = h.open()
        h.req(sid, W.QueryAgentStateReq(invoke_id=3, agent_id="1001", agent_extension="3001"), 2)
        h.req(sid, W.QueryAgentStateReq(invoke_id=4, agent_id="1002"), 3)
        assert not h.engine.done
        h.req(sid, hold(call_id=7, connection_device_id="asked"), 4)
        r = verify_by_name(h)
        assert {k: v.met for k, v in r.items()} == dict.fromkeys(r, True), r
        assert h.engine.done == bool(when)
    h = H(text, center=True)
    sid = h.open()
    h.req(sid, W.QueryAgentStateReq(invoke_id=4, agent_id="1002"), 3)
    assert "agent_id equals '1001' failed: got '1002'" in verify_by_name(h)["own-agent"].near_miss


def test_expectations_count_requests_taken_by_rules_and_faults_too():
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE}}]
    faults: [{kind: no_heartbeat_conf, messages: [HEARTBEAT_REQ], probability: 0.5}]
    expect: [{message: HEARTBEAT_REQ, times: 6}]
    """)
    sid = h.open()
    for t in range(6):
        h.hb(sid, 2 + t)
    assert h.engine.verify()[0].met


# == reproducibility (bounded property) ==============================================================

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MIXED_FAULTS = """
faults:
  - {kind: no_heartbeat_conf, probability: 0.3, messages: [HEARTBEAT_REQ]}
  - {kind: wrong_invoke_id, probability: 0.3, messages: [HEARTBEAT_CONF], params: {offset: 2}}
  - {kind: garbage, probability: 0.2, messages: [HEARTBEAT_CONF], params: {bytes: 3}}
  - {kind: truncated, probability: 0.1, messages: [HEARTBEAT_CONF]}
"""


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), n=st.integers(min_value=1, max_value=25))
def test_same_seed_same_bytes(seed, n):
    assert run_heartbeats(MIXED_FAULTS, seed=seed, n=n) == run_heartbeats(MIXED_FAULTS, seed=seed, n=n)


def test_scenario_dialect_sets_the_profile_and_version_range():
    from mockcti.runner import scenario_server
    from mockcti.scenario import load_scenario_text

    sc = load_scenario_text("name: old-only\ndialect: {profile: uccx, min_version: 10, max_version: 14}\n",
                            filename="d.yaml")
    server, engine = scenario_server(sc)
    prof = server.hub.config.session.profile
    assert (prof.name, prof.min_version, prof.max_version) == ("uccx", 10, 14)
    assert engine.hub_config().session.profile == prof


def test_actions_that_fail_at_run_time_are_journalled_faults_and_the_session_goes_on():
    """A scenario without its own center is checked against the default one but runs against
    whatever center the server has (``mockcti serve --center``, then the control API loads the
    scenario): names that center lacks, and captured values that do not fit the field they are put
    in, fail at run time. Each such action is a fault in the journal ("scenario action failed" with
    action, error and file:line; a message built but not encodable: "cannot encode"), nothing
    half-done goes out, and the rest of the rule still runs. A reply that cannot be encoded is
    answered FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE instead (the request is never left unanswered)."""
    from mockcti.center import CenterConfig, ContactCenter
    from mockcti.center.config import AgentConfig, CSQConfig

    h = H("""
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        capture: {ag: agent_id}
        then:
          - deliver_call: {agent: "1002"}
          - deliver_call: {csq: Support}
          - set_agent_state: {agent: "1002", state: READY}
          - reply: {message: QUERY_AGENT_STATE_CONF, fields: {agent_state: "${ag}"}}
          - emit: {message: SYSTEM_EVENT, fields: {text: "after ${ag}"}}
    """)
    other = CenterConfig(agents=(AgentConfig(id="1001", extension="3001", instrument="3001", csqs=("Billing",)),),
                         csqs=(CSQConfig("Billing", 1),))
    h.hub = Hub(ContactCenter(other), engine=h.engine)
    h.engine.attach(h.hub, 0.0)
    sid = h.open()
    msgs = h.req(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 2.0)
    assert [(m.TYPE, getattr(m, "text", None)) for m in msgs] == [
        (MT.FAILURE_CONF, "the server could not build its QUERY_AGENT_STATE_CONF: fixed field agent_state does "
                          "not fit: required argument is not an integer; field agent_state"),
        (MT.SYSTEM_EVENT, "after 1001")]
    assert (msgs[0].invoke_id, msgs[0].status) == (6, StatusCode.E_CTI_UNSPECIFIED_FAILURE)
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"]) for f in faults] == [
        ("deliver_call", "unknown agent '1002'"), ("deliver_call", "unknown CSQ 'Support'"),
        ("set_agent_state", "unknown agent '1002'")], faults
    assert all(f["where"].startswith("t.yaml:") for f in faults)
    # the captured text "1001" in the integer AgentState: built, but it cannot be encoded — not sent (above:
    # the FAILURE_CONF sent in its place)
    [enc] = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "cannot encode"]
    assert enc["message"] == "QUERY_AGENT_STATE_CONF" and "agent_state" in enc["error"].lower()
    assert h.hub.center.calls == {}
    assert h.hb(sid, 3.0, 7) == [W.HeartbeatConf(invoke_id=7)]


def test_a_message_to_a_target_with_no_open_session_is_a_scenario_action_failed_fault():
    """README: a target with no session is a "scenario action failed" fault (a WARNING under the
    result). An emit to agent:1002 (not connected), to the bridge (none open) and a send step with no
    session open went nowhere without a word: the run passed as if the client had been told."""
    h = H("""
    steps:
      - {id: nobody-yet, send: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: early}}}
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then:
          - emit: {message: SYSTEM_EVENT, to: "agent:1002", fields: {system_event_id: SYS_TEXT_FYI, text: a}}
          - emit: {message: SYSTEM_EVENT, to: bridge, fields: {system_event_id: SYS_TEXT_FYI, text: b}}
          - system_event: {id: SYS_TEXT_FYI, text: c, to: "agent:1002"}
          - emit: {message: SYSTEM_EVENT, to: "agent:1001", fields: {system_event_id: SYS_TEXT_FYI, text: d}}
          - default
    """, center=True)
    sid = h.open()
    msgs = h.req(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 2.0)
    assert [(m.TYPE, getattr(m, "text", None)) for m in msgs] == [(MT.SYSTEM_EVENT, "d"),
                                                                  (MT.QUERY_AGENT_STATE_CONF, None)]
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"], f["where"]) for f in faults] == [
        ("send", "no open session to send to", "t.yaml:4: steps[0].send"),
        ("emit", "agent '1002' has no open session", "t.yaml:8: rules[0].then[0].emit"),
        ("emit", "no bridge-mode session is open", "t.yaml:9: rules[0].then[1].emit"),
        ("system_event", "agent '1002' has no open session", "t.yaml:10: rules[0].then[2].system_event")]


def test_a_captured_field_that_was_absent_is_no_text_and_equals_an_absent_field():
    """capture of a field the request did not carry (call_variable1 of a MAKE_CALL_REQ without it):
    formatted into a Text it went on the wire as "None", and an expectation asking for the same
    field equal to it was unmet with the near miss "call_variable1 equals None failed: got None"."""
    h = H("""
    rules:
      - when: {message: MAKE_CALL_REQ}
        capture: {cv: call_variable1}
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, text: "cv=[${cv}]"}}]
    expect:
      - {id: same, message: MAKE_CALL_REQ, fields: {call_variable1: "${cv}"}}
      - {id: listed, message: MAKE_CALL_REQ, fields: {call_variable1: {in: ["${cv}"]}}}
      - {id: differs, message: MAKE_CALL_REQ, fields: {call_variable1: {not_equals: "${cv}"}}, never: true}
    """, center=True)
    sid = h.open()
    (fc,) = h.req(sid, W.MakeCallReq(invoke_id=2, agent_instrument="3001", dialed_number="0612"), 2.0)
    assert fc.text == "cv=[]"
    assert {r.name: r.met for r in h.engine.verify()} == {"same": True, "listed": True, "differs": True}


def test_a_variable_not_captured_yet_never_crashes_the_hub():
    """Found by reading uncovered lines: a condition or an action naming a ${variable} that is not
    captured yet raised KeyError out of Hub.receive / Hub.tick (over TCP: the connection dropped
    with no answer). Now a condition with no value does not hold (the request goes to the next
    rule or the center), and an action with no value is a journalled fault; once captured, both
    work."""
    h = H("""
    rules:
      - id: on-the-call
        when: {message: ANSWER_CALL_REQ, fields: {call_id: "${call}"}}
        then: [{emit: {message: SYSTEM_EVENT, fields: {text: "answering ${call}"}}}, default]
      - when: {message: QUERY_AGENT_STATE_REQ}
        then: [{emit: {message: SYSTEM_EVENT, fields: {text: "call is ${call}"}}}, default]
      - when: {message: HOLD_CALL_REQ}
        capture: {held: call_id}
        then: [default]
    timeline:
      - {at: 2, do: {system_event: {id: SYS_TEXT_FYI, text: "early ${call}"}}}
      - {at: 3, do: {deliver_call: {agent: "1001", capture: {call: call_id}}}}
    expect:
      - {id: answered, message: ANSWER_CALL_REQ, fields: {call_id: "${call}"}, min: 2}
      - {id: never-bound, message: ANSWER_CALL_REQ, fields: {call_id: "${held}"}}
    """, center=True)
    sid = h.open()
    # before the capture: the rule does not match, the center answers (no such call)
    (reply,) = h.req(sid, W.AnswerCallReq(invoke_id=6, call_id=77, connection_device_id="3001"), 1.5)
    assert reply.TYPE is MT.FAILURE_CONF and reply.status == StatusCode.E_CTI_INVALID_CALLID
    assert [m.TYPE for m in h.req(sid, W.QueryAgentStateReq(invoke_id=7, agent_id="1001"), 1.6)] == [
        MT.QUERY_AGENT_STATE_CONF]
    assert h.types(h.tick(2.0), sid) == []
    faults = [(e.data["action"], e.data["error"]) for e in h.hub.journal.entries(kind="fault")
              if e.data.get("fault") == "scenario action failed"]
    unbound = "no value for ${call} (not captured yet, or no request here)"
    assert faults == [("emit", unbound), ("system_event", unbound)]
    # captured: both work
    h.tick(3.0)
    call = h.engine.env["call"]
    msgs = h.req(sid, W.AnswerCallReq(invoke_id=8, call_id=call, connection_device_id="3001"), 4.0)
    assert msgs[0].TYPE is MT.SYSTEM_EVENT and msgs[0].text == f"answering {call}"
    assert MT.ANSWER_CALL_CONF in [m.TYPE for m in msgs]
    # verified at the end: one ANSWER on the call (min 2: unmet); the condition on ${held}, never
    # captured, held for no request, and its near miss says the value was missing
    results = {r.name: r for r in h.engine.verify()}
    assert not results["answered"].met and "received 1" in results["answered"].detail
    assert not results["never-bound"].met and "'${held}' (no value) failed" in results["never-bound"].near_miss


def test_set_agent_state_cannot_log_out_an_agent_on_a_call():
    """A scenario's set_agent_state is the administration's: LOGOUT of an agent with a call is a
    journalled action fault (not an exception out of the hub), and so is READY of an agent talking on an ACD
    call (Unified CCX takes no pending READY); NOT_READY waits for the call's end."""
    h = H("""
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then:
          - set_agent_state: {agent: "1001", state: LOGOUT}
          - set_agent_state: {agent: "1001", state: READY}
          - set_agent_state: {agent: "1001", state: NOT_READY}
          - default
    """)
    sid = h.open()
    h.req(sid, W.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                  agent_id="1001", agent_instrument="3001"), 2.0)
    h.req(sid, W.SetAgentStateReq(invoke_id=3, agent_state=AS.AGENT_STATE_READY, agent_instrument="3001"), 2.1)
    call_id, deliveries = h.hub.center.deliver_call(2.2, agent_id="1001")
    h.hub.deliver(deliveries)
    h.req(sid, W.AnswerCallReq(invoke_id=4, call_id=call_id, connection_device_id="3001"), 2.3)
    msgs = h.req(sid, W.QueryAgentStateReq(invoke_id=5, agent_id="1001"), 2.4)
    assert [m.agent_state for m in msgs if m.TYPE is MT.QUERY_AGENT_STATE_CONF] == [AS.AGENT_STATE_TALKING]
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.data["fault"] == "scenario action failed"]
    assert [(f["action"], f["error"]) for f in faults] == [
        ("set_agent_state", "agent 1001 has a call; it cannot be logged out now"),
        ("set_agent_state", "agent 1001 is talking on an ACD call: Unified CCX takes no READY pending after it "
                          "(NOT_READY, WORK or WORK_READY are); READY once the call ends")]
    assert h.hub.center.agents["1001"].pending is AS.AGENT_STATE_NOT_READY


def test_a_scenario_that_answers_open_req_opens_or_refuses_the_session():
    """A rule replying OPEN_CONF itself left the session half-open: every later request (CLOSE_REQ
    too) got E_CTI_SESSION_NOT_OPEN and a PROTO-OPEN-FIRST violation. The scenario's OPEN_CONF now
    opens it (the center subscribes it with the ServicesGranted sent); a FAILURE_CONF refuses it."""
    h = H("""
    rules:
      - when: {message: OPEN_REQ, fields: {agent_id: "1001"}}
        then:
          - reply: {message: OPEN_CONF, fields: {services_granted: 7, unified_ccx_online: 0,
                                                 agent_state: AGENT_STATE_NOT_READY, agent_id: "1001",
                                                 agent_extension: "3001", agent_instrument: "3001"}}
      - when: {message: OPEN_REQ, fields: {agent_id: "1002"}}
        then: [{reply: {message: FAILURE_CONF, fields: {status: E_CTI_INVALID_PASSWORD}}}]
    """, center=True)
    sid = h.connect(1.0)
    [conf] = h.req(sid, h.open_req("1001"), 1.0)
    assert conf.TYPE is MT.OPEN_CONF and conf.unified_ccx_online == 0
    [state] = h.req(sid, W.QueryAgentStateReq(invoke_id=2, agent_instrument="3001", agent_id="1001"), 2.0)
    assert state.TYPE is MT.QUERY_AGENT_STATE_CONF and state.agent_id == "1001"
    assert [m.TYPE for m in h.req(sid, W.CloseReq(invoke_id=3, status=0), 3.0)] == [MT.CLOSE_CONF]
    other = h.connect(4.0)
    [refused] = h.req(other, h.open_req("1002"), 4.0)
    assert refused.TYPE is MT.FAILURE_CONF and refused.status == StatusCode.E_CTI_INVALID_PASSWORD
    assert h.hub.session(other).state.name == "AWAITING_OPEN"  # waits for a new OPEN_REQ
    assert not [e for e in h.hub.journal.entries() if e.kind == "violation"]


def test_a_request_whose_answer_a_fault_withholds_or_delays_still_meets_its_step():
    """late_open_conf / no_heartbeat_conf returned before the steps looked at the request: the
    expect step never matched ('still waiting for OPEN_REQ') and what came after it never ran."""
    h = H("""
    faults:
      - {kind: late_open_conf, params: {seconds: 0.5}}
      - {kind: no_heartbeat_conf}
    steps:
      - {id: opened, expect: {message: OPEN_REQ, timeout: 3}}
      - {id: beat, expect: {message: HEARTBEAT_REQ, timeout: 3}}
    timeline:
      - {after: opened, do: {system_event: {id: SYS_TEXT_FYI, text: "after-open"}}}
    end: {after: 5, when: all_steps_done}
    """, center=True)
    sid = h.connect(1.0)
    assert h.req(sid, h.open_req("1001"), 1.0) == []  # OPEN_CONF is late
    out = h.msgs(h.tick(1.6), sid)
    assert [m.TYPE for m in out] == [MT.OPEN_CONF, MT.SYSTEM_EVENT]  # the answer, then the flow after the step
    assert h.hb(sid, 2.0) == []  # withheld, and still the step's request
    h.tick(2.1)
    assert h.engine.finished and "all steps done" in (h.engine.end_reason or "")


def test_call_captures_take_the_field_they_name():
    """deliver_call's and center.calls' capture of connection_device_id / dnis gave the CallID."""
    h = H("""
    center:
      csqs: [{name: Sales, id: 1}]
      agents:
        - {id: "1001", extension: "3001", password: "1234", csqs: [Sales], state: READY}
        - {id: "1002", extension: "3002", password: "1234", csqs: [Sales], state: NOT_READY}
      calls:
        - {agent: "1002", ani: "0622", csq: Sales, state: talking,
           capture: {pdev: connection_device_id, pdnis: dnis, pani: ani}}
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then:
          - reply: {message: HEARTBEAT_CONF}
          - deliver_call: {agent: "1001", ani: "0611", dnis: "7200",
                           capture: {call: call_id, dev: connection_device_id, d: dnis, a: ani}}
    """)
    sid = h.open()
    h.hb(sid, 2.0)
    env = h.engine.env
    assert isinstance(env["call"], int)
    assert (env["dev"], env["d"], env["a"]) == ("3001", "7200", "0611")
    assert (env["pdev"], env["pani"]) == ("3002", "0622")
    preset = next(c for c in h.hub.center.calls.values() if c.ani == "0622")
    assert env["pdnis"] == preset.dnis and env["pdnis"] != preset.id


def test_a_text_field_that_is_one_substitution_gets_its_text():
    """text: "${request.invoke_id}" failed ('cannot encode 2 as STRING') and nothing was sent."""
    h = H("""
    rules:
      - when: {message: HOLD_CALL_REQ}
        then: [{reply: {message: FAILURE_CONF, fields: {status: 17, text: "${request.invoke_id}"}}}]
    """, center=True)
    sid = h.open()
    (fc,) = h.req(sid, hold(20, call_id=7), 2.0)
    assert fc.TYPE is MT.FAILURE_CONF and fc.text == "20"


def test_requests_the_session_refused_count_for_expectations():
    """A second OPEN_REQ and a HEARTBEAT_REQ before OPEN_REQ reached the journal but not the
    expectations: 'OPEN_REQ at most once' and 'never HEARTBEAT_REQ' were reported met."""
    h = H("""
    expect:
      - {id: opens-once, message: OPEN_REQ, max: 1}
      - {id: no-early-beat, message: HEARTBEAT_REQ, never: true}
    """, center=True)
    sid = h.connect(1.0)
    assert h.hb(sid, 1.0)[0].status == StatusCode.E_CTI_SESSION_NOT_OPEN  # before OPEN_REQ: refused
    assert h.req(sid, h.open_req("1001"), 1.1)[0].TYPE is MT.OPEN_CONF
    assert h.req(sid, h.open_req("1001", invoke=2), 1.2)[0].status == StatusCode.E_CTI_SESSION_ALREADY_OPEN
    results = {r.name: r for r in h.engine.verify(2.0)}
    assert not results["opens-once"].met and not results["no-early-beat"].met


def test_end_when_disconnect_waits_for_the_client_not_for_a_connection_the_server_dropped():
    """end: {when: disconnect} ended the run when the server itself dropped the connection (a close
    action, a reset fault, failover) — before the client could reconnect, which is what such a
    scenario tests."""
    h = H("""
    rules:
      - when: {message: HOLD_CALL_REQ}
        then: [close]
    end: {when: disconnect, after: 30}
    """, center=True)
    sid = h.open()
    h.send(sid, hold(5, call_id=7), 2.0)
    h.hub.disconnected(sid, 2.1, reason="closed by server")
    assert not h.engine.finished
    again = h.open(now=3.0)  # the client reconnects, then leaves
    h.hub.disconnected(again, 4.0, reason="peer closed")
    assert h.engine.finished and h.engine.end_reason == "the client disconnected"


def test_a_delayed_write_keeps_its_place_and_the_close_waits_for_it():
    """delay on every session: the CLOSE_CONF (and any answer still delayed) was lost, the close ran
    at once; a delay bound to one message let later messages overtake it (a reordering no TCP
    connection makes)."""
    h = H("""
    faults:
      - {kind: delay, params: {seconds: 0.5}, messages: [QUERY_AGENT_STATE_CONF]}
    """, center=True)
    sid = h.open()
    assert h.req(sid, W.QueryAgentStateReq(invoke_id=2, agent_instrument="3001", agent_id="1001"), 2.0) == []
    assert h.hb(sid, 2.1, 3) == []  # behind the delayed confirmation
    out = h.msgs(h.tick(2.5), sid)
    assert [m.TYPE for m in out] == [MT.QUERY_AGENT_STATE_CONF, MT.HEARTBEAT_CONF]
    assert h.hb(sid, 2.6, 4) == [W.HeartbeatConf(invoke_id=4)]  # nothing held any more: at once

    h2 = H("""
    faults:
      - {kind: delay, params: {seconds: 0.5}}
    """, center=True)
    sid = h2.connect(1.0)
    h2.send(sid, h2.open_req("1001"), 1.0)
    h2.msgs(h2.tick(1.5), sid)
    actions = h2.send(sid, W.CloseReq(invoke_id=9, status=0), 2.0)
    assert not [a for a in actions if isinstance(a, (Write, Close))]  # the close waits for the CLOSE_CONF
    later = h2.tick(2.5)
    assert [type(a).__name__ for a in later if a.session_id == sid] == ["Write", "Close"]
    assert [m.TYPE for m in h2.msgs(later, sid)] == [MT.CLOSE_CONF]


def test_coalesced_or_reordered_messages_are_not_held_for_ever():
    """coalesce (count 3) withheld OPEN_CONF from a client that sends nothing until it has it;
    out_of_order_events (count 3) with one event kept that event for good. They go out as they are
    HOLD_BOUND seconds after the first was held, and before a close."""
    from mockcti.scenario.engine import HOLD_BOUND

    h = H("""
    faults:
      - {kind: coalesce}
    """, center=True)
    sid = h.connect(1.0)
    assert h.req(sid, h.open_req("1001"), 1.0) == []
    assert h.msgs(h.tick(1.0 + HOLD_BOUND), sid)[0].TYPE is MT.OPEN_CONF

    h2 = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - default
          - fault: {kind: out_of_order_events, params: {count: 3}}
          - emit: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: lone}}
    """, center=True)
    sid = h2.open()
    out = h2.hb(sid, 2.0, 5)
    assert [m.TYPE for m in out] == [MT.HEARTBEAT_CONF]
    out = h2.msgs(h2.tick(2.0 + HOLD_BOUND), sid)
    assert [(m.TYPE, m.text) for m in out] == [(MT.SYSTEM_EVENT, "lone")]
    h2.hb(sid, 3.0, 6)  # holds another SYSTEM_EVENT; the CLOSE_REQ lets it out before the close
    closing = h2.send(sid, W.CloseReq(invoke_id=7, status=0), 3.1)
    # (the confirmation is no event: out of order, it overtakes the held one; both precede the close)
    assert [m.TYPE for m in h2.msgs(closing, sid)] == [MT.CLOSE_CONF, MT.SYSTEM_EVENT]
    assert type(closing[-1]).__name__ == "Close"


def test_emit_builds_named_variables_arrays_and_groups_from_mappings():
    """Repeated fields of an emitted message are given as mappings (NamedVariable: name and value;
    NamedArray: index too; a group: its members), ``${…}`` substituted: the client gets them. Before,
    the mappings went to the message as they were: a NamedVariable was a fault (cannot encode) and a
    group (CTIClient) raised out of the hub."""
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: BEGIN_CALL_EVENT, fields: {call_id: 5, connection_device_id: "3001",
                   named_variables: [{name: user.case, value: "C-${session.agent_id}"}],
                   named_arrays: [{index: 2, name: user.list, value: b}],
                   cti_clients: [{cti_client_signature: sig, cti_client_timestamp: 7}]}}
    """)
    a = h.open("1001")
    msgs = h.msgs(h.send(a, W.HeartbeatReq(invoke_id=3), 2.0), a)
    begin = [m for m in msgs if m.TYPE is MT.BEGIN_CALL_EVENT]
    assert len(begin) == 1
    assert begin[0].named_variables == (W.NamedVariable(name="user.case", value="C-1001"),)
    assert begin[0].named_arrays == (W.NamedArray(index=2, name="user.list", value="b"),)
    assert [(c.cti_client_signature, c.cti_client_timestamp) for c in begin[0].cti_clients] == [("sig", 7)]
    assert not [e for e in h.hub.journal.entries() if e.kind == "fault"]


@pytest.mark.parametrize("answer", [
    "respond: [{fault: {kind: late_open_conf, params: {seconds: 2}}}, default]",
    "rule",
])
def test_a_step_whose_default_answer_a_fault_makes_late_goes_on_once_it_is_out(answer):
    """An expect step answered by [{fault: late_open_conf}, default] (its respond, or a rule's then):
    the flow went on at once, so the send step after it ran before OPEN_CONF (to no open session:
    the client never got it) and all_steps_done ended the scenario before the answer."""
    rule = """
    rules:
      - when: {message: OPEN_REQ}
        then: [{fault: {kind: late_open_conf, params: {seconds: 2}}}, default, {goto: {state: opened}}]
    """ if answer == "rule" else ""
    respond = "" if answer == "rule" else ", " + answer
    h = H(rule + """
    states: [start, opened]
    steps:
      - {id: opened, expect: {message: OPEN_REQ, timeout: 3%s}}
      - {id: fyi, send: {message: SYSTEM_EVENT, fields: {system_event_id: SYS_TEXT_FYI, text: after}}}
    end: {after: 9, when: all_steps_done}
    """ % respond, center=True)
    sid = h.connect(1.0)
    assert h.req(sid, h.open_req("1001"), 1.0) == []  # OPEN_CONF is late
    assert not h.engine.finished
    out = h.msgs(h.tick(3.0), sid)
    assert [m.TYPE for m in out] == [MT.OPEN_CONF, MT.SYSTEM_EVENT]  # the answer, then the flow after it
    assert h.engine.finished and "all steps done" in (h.engine.end_reason or "")
    assert not [e for e in h.hub.journal.entries() if e.kind == "fault" and "action failed" in str(e.data)]
    if answer == "rule":
        assert h.engine.state == "opened"  # the actions after default ran once the answer was out


def test_an_enumerated_field_formats_into_text_by_name_and_dot_number_gives_its_number():
    """${request.agent_state} in a Text read '2' where the README and the catalog say
    AGENT_STATE_NOT_READY; as a whole field it stays the number on the wire, and ${….number} (of a
    request field or a capture) is the number in text. An unnamed number and a reason code (an
    administrator's number) stay numbers."""
    h = H("""
    rules:
      - when: {message: SET_AGENT_STATE_REQ}
        capture: {st: agent_state}
        then:
          - emit: {message: AGENT_STATE_EVENT, fields: {agent_state: "${request.agent_state}", agent_id: "1001",
                   agent_extension: "3001", agent_instrument: "${st}"}}
          - fail: {status: E_CTI_UNSPECIFIED_FAILURE,
                   text: "no ${request.agent_state} (${request.agent_state.number}), ${st}=${st.number}, reason ${request.event_reason_code}"}
    """, center=True)
    sid = h.open()
    out = h.req(sid, W.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_NOT_READY, event_reason_code=22,
                                        agent_instrument="3001"), 2.0)
    ev, fc = out
    assert ev.TYPE is MT.AGENT_STATE_EVENT and ev.agent_state == AS.AGENT_STATE_NOT_READY
    assert ev.agent_instrument == "AGENT_STATE_NOT_READY"  # a text field set to one ${…} takes its text: the name
    assert fc.text == "no AGENT_STATE_NOT_READY (2), AGENT_STATE_NOT_READY=2, reason 22"
    ev2, fc2 = h.req(sid, W.SetAgentStateReq(invoke_id=6, agent_state=77, agent_instrument="3001"), 3.0)
    assert fc2.text == "no 77 (77), 77=77, reason 0"  # a number no state names: the number


def test_text_code_writes_the_code_as_the_centers_own_refusals_do():
    """fail: {text_code: ACD_HOLD_BAD_STATE} wrote '1128 ACD_HOLD_BAD_STATE: …' while the center's
    own refusal of that hold reads 'ACD_HOLD_BAD_STATE (1128): …': a client parsing Text met two formats."""
    from mockcti import catalog

    h = H("""
    center:
      acd: {transitions: {Line1Connected: {Hold: 1128}}}
      csqs: [{name: Sales, id: 1}]
      agents: [{id: "1001", extension: "3001", password: "1234", csqs: [Sales], state: NOT_READY}]
      calls: [{agent: "1001", ani: "0612345678", csq: Sales, state: talking, capture: {call: call_id}}]
    rules:
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 999}}
        then: [{fail: {failure_code: CF_INVALID_OBJECT_STATE, text_code: ACD_HOLD_BAD_STATE}}]
    """)
    sid = h.open()
    (own,) = h.req(sid, hold(20, call_id=h.engine.env["call"]), 2.0)
    (scripted,) = h.req(sid, hold(21, call_id=999), 3.0)
    assert own.TYPE is scripted.TYPE is MT.CONTROL_FAILURE_CONF
    assert own.text.startswith("ACD_HOLD_BAD_STATE (1128): ")
    seed = catalog.default().lookup("cn_ngcc", 1128).description_en
    assert scripted.text == f"ACD_HOLD_BAD_STATE (1128): {seed}"[:254]


def test_a_32_bit_value_in_either_form_goes_on_the_wire_as_the_field_reads_it():
    """peripheral_error_code -1932787697 (a JTAPI error number as Java logs print it) was refused 'does
    not fit in a UINT', and a raw ccx_error_code of -1932787697 loaded but failed to encode at run time
    (a FAILURE_CONF 'could not build' instead); the same bits above an INT field's range (mrd_id
    4294967295) loaded and failed the same way. Each is now the field's own form of those 32 bits."""
    h = H("""
    rules:
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 1}}
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, peripheral_error_code: -1932787697}}]
      - when: {message: HOLD_CALL_REQ, fields: {call_id: 2}}
        then: [{reply: {message: CONTROL_FAILURE_CONF, fields: {failure_code: 1, ccx_error_code: "-1932787697"}}}]
      - when: {message: HOLD_CALL_REQ, fields: {call_id: -1}}  # a condition too: 0xFFFFFFFF
        then: [{fail: {failure_code: CF_GENERIC_OPERATION, peripheral_error_code: "-1932787564"}}]
      - when: {message: HEARTBEAT_REQ}
        then:
          - reply: {message: HEARTBEAT_CONF}
          - emit: {message: AGENT_STATE_EVENT, fields: {agent_state: AGENT_STATE_READY, agent_id: "1001",
                   agent_extension: "3001", mrd_id: 4294967295}}
    """, center=True)
    sid = h.open()
    (a,) = h.req(sid, hold(11, call_id=1), 2.0)
    assert a == W.ControlFailureConf(invoke_id=11, failure_code=1, ccx_error_code=0x8CCC000F)
    (b,) = h.req(sid, hold(12, call_id=2), 2.1)
    assert b == W.ControlFailureConf(invoke_id=12, failure_code=1, ccx_error_code=0x8CCC000F)
    (c,) = h.req(sid, hold(13, call_id=0xFFFFFFFF), 2.2)
    assert c.TYPE is MT.CONTROL_FAILURE_CONF and c.ccx_error_code == 0x8CCC0094  # CALL_DROPPED
    _, ev = h.hb(sid, 3.0)
    assert ev.TYPE is MT.AGENT_STATE_EVENT and ev.mrd_id == -1
    assert not [e for e in h.hub.journal.entries() if e.kind == "fault"]


def test_a_regex_on_a_number_field_sees_a_captured_enumerated_value_as_its_number():
    """An enumerated capture formats into text as its name; a regex on a number field
    (agent_state: {regex: "^${st}$"}) sees the field's digits, so there it stands for its number
    (with the name the condition never held)."""
    h = H("""
    rules:
      - when: {message: SET_AGENT_STATE_REQ}
        times: 1
        capture: {st: agent_state}
        then: [default]
      - when: {message: SET_AGENT_STATE_REQ, fields: {agent_state: {regex: "^${st}$"}}}
        then: [{fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "again ${st}"}}]
    """, center=True)
    sid = h.open()
    first = h.req(sid, W.SetAgentStateReq(invoke_id=5, agent_state=AS.AGENT_STATE_NOT_READY, agent_instrument="3001"), 2.0)
    assert first[0].TYPE is MT.SET_AGENT_STATE_CONF
    (again,) = h.req(sid, W.SetAgentStateReq(invoke_id=6, agent_state=AS.AGENT_STATE_NOT_READY,
                                             agent_instrument="3001"), 3.0)
    assert again == W.FailureConf(invoke_id=6, status=17, text="again AGENT_STATE_NOT_READY")


def test_a_failure_or_system_event_text_that_is_one_substitution_of_a_number_gets_its_text():
    """fail, failure_event and system_event with text: "${request.invoke_id}" sent nothing: 'cannot
    encode 20 as STRING' (the CONTROL_FAILURE_CONF became the server's own FAILURE_CONF); only
    emit/reply turned such a value into its text."""
    h = H("""
    rules:
      - when: {message: HOLD_CALL_REQ}
        then:
          - fail: {failure_code: CF_GENERIC_OPERATION, text: "${request.invoke_id}"}
          - system_event: {id: SYS_TEXT_FYI, text: "${request.call_id}", to: requester}
          - failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "${request.invoke_id}"}
    """, center=True)
    sid = h.open()
    fc, se, fe = h.req(sid, hold(20, call_id=7), 2.0)
    assert fc == W.ControlFailureConf(invoke_id=20, failure_code=1, ccx_error_code=0, text="20")
    assert se.TYPE is MT.SYSTEM_EVENT and se.text == "7"
    assert fe == W.FailureEvent(status=17, text="20")
    assert not [e for e in h.hub.journal.entries() if e.kind == "fault"]


def test_a_replied_open_conf_says_the_server_is_online_unless_written():
    """A scenario's own OPEN_CONF reply that left UnifiedCCXOnline out sent 0: the client read the server it had
    just opened as offline (and could not tell a scenario written for that from one that forgot it). Left out,
    it is what the server's own OPEN_CONF carries (the center's status); written, as written."""
    for fields, online in (("{services_granted: 1}", 1), ("{services_granted: 1, unified_ccx_online: 0}", 0)):
        h = H(f"""
        rules:
          - when: {{message: OPEN_REQ}}
            then: [{{reply: {{message: OPEN_CONF, fields: {fields}}}}}]
        """)
        sid = h.connect(1.0)
        (conf,) = [m for m in h.msgs(h.hub.receive(sid, encode(h.open_req(), D), 1.0), sid) if m.TYPE is MT.OPEN_CONF]
        assert (conf.services_granted, conf.unified_ccx_online) == (1, online)


@pytest.mark.parametrize("action", ["{fault: {kind: half_close}}", "{fault: {kind: reset}}",
                                    "{fault: {kind: stop_reading, params: {seconds: 1}}}", "{fault: {kind: delay}}",
                                    "{fault: {kind: dribble}}", "{fault: {kind: coalesce}}",
                                    "{fault: {kind: silent_accept}}", "close", "{close: {abort: true}}"])
def test_a_delayed_transport_fault_or_close_whose_client_has_gone_is_journalled_as_finding_no_connection(action):
    """``then: [{delay: {seconds: 1}}, {fault: {kind: half_close}}]`` and the client resets during the
    delay: the journal said "fault armed: transport/half_close" (a reset or a close: nothing at all), and
    the engine kept fault state for a session that was gone. Now it is a "scenario action failed" fault
    naming the session that has no connection, and nothing is sent or armed."""
    h = H(f"""
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        then: [{{delay: {{seconds: 1}}}}, {action}]
    """)
    sid = h.open()
    assert h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0) == []
    h.hub.disconnected(sid, 2.5, reason="peer reset")
    assert h.tick(3.5) == []
    faults = [e.data for e in h.hub.journal.entries(kind="fault") if e.session == sid]
    kind = re.search(r"kind: (\w+)", action)
    what = f"the {kind[1]} fault" if kind else "the close"
    assert [(f["fault"], f["error"]) for f in faults] == [
        ("scenario action failed", f"session {sid} has no connection for {what}: its client has gone")]
    assert sid not in h.engine.faults


def test_a_delayed_write_or_a_resume_whose_client_has_gone_is_journalled_as_finding_no_connection():
    """A write a `delay` fault holds, and the resume of a `stop_reading` with `seconds`, come on the hub's
    timer: once their client has gone they were dropped without a word. Now the journal says so."""
    h = H("""
    faults: [{kind: delay, messages: [HEARTBEAT_CONF], params: {seconds: 1}}]
    rules:
      - when: {message: QUERY_AGENT_STATE_REQ}
        then: [{fault: {kind: stop_reading, params: {seconds: 2}}}, default]
    """, center=True)
    sid = h.open()
    assert h.types(h.send(sid, W.QueryAgentStateReq(invoke_id=6, agent_id="1001"), 2.0), sid) == [
        "QUERY_AGENT_STATE_CONF"]  # reading resumes at 4.0
    assert h.hb(sid, 2.1, 5) == []  # its HEARTBEAT_CONF is due at 3.1
    h.hub.disconnected(sid, 2.5, reason="peer reset")
    assert h.tick(5.0) == []
    faults = [e.data["fault"] for e in h.hub.journal.entries(kind="fault") if e.session == sid]
    assert faults[-2:] == ["delayed write: no connection", "resume_reading: no connection"]


@pytest.mark.parametrize("hold", ["delay", "coalesce"])
def test_a_half_close_waits_for_what_a_delay_or_coalesce_fault_still_holds(hold):
    """A half_close (our FIN) while a `delay` fault holds an answer (or `coalesce` holds it for its
    batch) went out at once: the answer came after the FIN and was dropped ("write after half_close
    dropped"), although nothing is lost or reordered by the transport faults. The half_close now
    follows what is held, as a close does."""
    faults = {"delay": "faults: [{kind: delay, messages: [HEARTBEAT_CONF], params: {seconds: 1}}]",
              "coalesce": "faults: [{kind: coalesce, messages: [HEARTBEAT_CONF], params: {count: 3}}]"}[hold]
    h = H(f"""
    {faults}
    rules:
      - when: {{message: HEARTBEAT_REQ}}
        then: [default, {{fault: {{kind: half_close}}}}]
    """)
    sid = h.open()
    acts = h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)
    if hold == "delay":
        assert acts == []
        acts = h.tick(3.0)
    assert [type(a) for a in acts] == [Write, HalfClose]
    assert h.msgs(acts, sid) == [W.HeartbeatConf(invoke_id=5)]


def test_a_scenario_served_all_day_keeps_what_its_expectations_count_not_every_request():
    """``serve --scenario`` all day: the engine kept every request it saw, each client's heartbeats
    included, for good. It keeps every request of a type its expectations and expect steps name (what
    they count, exactly) and the latest of the others (a near miss may name one)."""
    from mockcti.scenario import engine as engine_mod

    h = H("""
    expect:
      - {id: state-set, message: SET_AGENT_STATE_REQ, min: 2}
    """, center=True)
    sid = h.open("1001", now=1.0)
    kept = getattr(engine_mod, "OTHER_REQUESTS_KEPT", 1_000)
    t = 1.0
    for _ in range(3 * kept):
        t += 0.001
        assert h.hb(sid, t)[0].TYPE is MT.HEARTBEAT_CONF
    h.req(sid, W.SetAgentStateReq(invoke_id=7, agent_state=AS.AGENT_STATE_NOT_READY, agent_instrument="3001"), t)
    held = len(h.engine.received) + len(getattr(h.engine, "others", ()))
    assert held <= kept + 1, held  # (the heartbeats and the OPEN_REQ: the latest `kept` of them)
    (res,) = h.engine.verify(t)
    assert not res.met and res.detail == "SET_AGENT_STATE_REQ: expected 2+ time(s), received 1", res.detail
    # the near miss of an expectation no request of its type met names the latest other request
    h2 = H("""
    expect:
      - {id: answered, message: ANSWER_CALL_REQ}
    """, center=True)
    sid2 = h2.open("1001", now=1.0)
    for i in range(3 * kept):
        h2.hb(sid2, 1.0 + i / 1000)
    (res,) = h2.engine.verify(5.0)
    assert res.near_miss.startswith(f"closest: HEARTBEAT_REQ from session {sid2} at 3.999 s"), res.near_miss


def test_an_unloaded_scenario_stops_its_timeline_but_finishes_a_delayed_answer():
    """Unloaded (the hub puts no engine, or another, in), a scenario stopped nothing: its timeline
    emitted and its end was journalled from the timers it had set. Now those are dropped with it, while
    the rest of a rule's answer to a request already received (after its delay) still goes out."""
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        then:
          - delay: {seconds: 2}
          - reply: {message: HEARTBEAT_CONF}
    timeline:
      - {at: 5, do: {emit: {message: SYSTEM_EVENT, fields: {text: timeline}}}}
    end: {after: 8}
    """)
    sid = h.open()
    assert h.hb(sid, 2.0, 5) == []
    h.hub.set_engine(None, 3.0)
    assert h.msgs(h.tick(4.0), sid) == [W.HeartbeatConf(invoke_id=5)]  # the answer begun still goes out
    assert h.msgs(h.tick(10.0), sid) == []  # no timeline SYSTEM_EVENT
    whats = [e.data.get("what") for e in h.hub.journal.entries(kind="happening")]
    assert "scenario: scenario ended" not in whats and "scenario: timeline" not in whats, whats
    assert h.engine.detached and not h.engine.finished


def test_an_open_ended_stop_reading_ends_with_the_scenario():
    """A `stop_reading` with no `seconds` lasts as long as its scenario: once the hub takes the scenario out
    (Hub.set_engine: the control API's POST /scenario, DELETE /scenario), the session is read again; the rest
    of an answer still in its delay does not pause a session with nobody left to resume it."""
    h = H("""
    rules:
      - when: {message: HEARTBEAT_REQ}
        times: 1
        then: [{fault: {kind: stop_reading}}, {reply: {message: HEARTBEAT_CONF}}]
      - when: {message: QUERY_AGENT_STATE_REQ}
        then: [{reply: {message: HEARTBEAT_CONF}}, {delay: {seconds: 2}}, {fault: {kind: stop_reading}}]
    """)
    sid, other = h.open(), h.open(agent="1002")
    assert h.send(sid, W.HeartbeatReq(invoke_id=5), 2.0)[0] == PauseReading(sid)
    assert h.hub.session(sid).reading_paused
    h.send(other, W.QueryAgentStateReq(invoke_id=6, agent_id="1002"), 2.0)  # its stop_reading due at 4.0
    h.hub.set_engine(None, 3.0)
    assert ResumeReading(sid) in h.hub.take_actions() and not h.hub.session(sid).reading_paused
    assert PauseReading(other) not in h.tick(4.0) and not h.hub.session(other).reading_paused


def test_a_scenario_loaded_while_clients_are_connected_applies_its_faults_to_them():
    """`faults:` is for every session: a scenario put in while clients stay connected (the control API's POST
    /scenario, Hub.set_engine) armed its faults for the sessions that connected after it only — a client kept
    connected from test to test was never dropped a HEARTBEAT_CONF nor sent a wrong InvokeID, and nothing said so."""
    h = H("""
    faults:
      - {kind: no_heartbeat_conf}
      - {kind: wrong_invoke_id, params: {offset: 5}, messages: [QUERY_AGENT_STATE_CONF]}
    """)
    h.hub.set_engine(None, 0.0)  # the clients connect before the scenario is loaded
    sid = h.open()
    assert h.hb(sid, 1.5, 7) == [W.HeartbeatConf(invoke_id=7)]
    h.hub.set_engine(ScenarioEngine(h.scenario), 2.0)
    assert h.hb(sid, 2.5, 8) == []  # withheld
    conf = h.req(sid, W.QueryAgentStateReq(invoke_id=9, agent_id="1001"), 3.0)
    assert [(m.TYPE, m.invoke_id) for m in conf] == [(MT.QUERY_AGENT_STATE_CONF, 14)]


def _swap_all_day(texts: list[str], *, keep: int) -> "Hub":
    """A hub keeping ``keep`` scenarios taken out, each of ``texts`` put in (Hub.set_engine: the control API's
    POST /scenario) in turn after the one before, the last taken out too."""
    from mockcti.center import ContactCenter, default_center
    from mockcti.hub import HubConfig

    hub = Hub(ContactCenter(default_center()), config=HubConfig(keep_scenarios=keep))
    for i, text in enumerate(texts):
        hub.set_engine(ScenarioEngine(load_scenario_text(text, filename="t.yaml")), float(i))
    hub.set_engine(None, float(len(texts)))
    return hub


_HOLDS = "name: A\nexpect:\n  - {id: holds, message: HOLD_CALL_REQ, min: 1}\n"  # unmet: no HOLD comes
_NEVER = "name: N\nexpect:\n  - {id: never, message: HOLD_CALL_REQ, never: true}\n"  # met


def test_the_same_scenario_loaded_again_is_reported_under_a_name_of_its_own():
    """A harness loading the same scenario for two tests had both in one JUnit suite, "mockcti.scenario.A", with
    test case "holds" twice (Jenkins merges or drops duplicates: one test's failure hidden by the other's pass).
    From its second load since the last reset, a scenario's outcomes are "A (2nd load)", "A (3rd load)" …, in the
    JSON report and JUnit alike; Hub.forget_scenarios (POST /reset) starts the count over."""
    from mockcti.journal import Journal
    from mockcti.report import build_summary, junit_xml
    import xml.etree.ElementTree as ET

    hub = _swap_all_day([_HOLDS, _NEVER, _HOLDS, _HOLDS], keep=10)
    summary = build_summary(Journal(), expectations=hub.expectations(9.0))
    assert [(e["scenario"], e["name"]) for e in summary["expectations"]] == [
        ("A", "holds"), ("N", "never"), ("A (2nd load)", "holds"), ("A (3rd load)", "holds")]
    suites = [(s.get("name"), [t.get("name") for t in s.iter("testcase")])
              for s in ET.fromstring(junit_xml(summary)).iter("testsuite") if ".scenario." in s.get("name")]
    assert sorted(suites) == [("mockcti.scenario.A", ["holds"]), ("mockcti.scenario.A (2nd load)", ["holds"]),
                              ("mockcti.scenario.A (3rd load)", ["holds"]), ("mockcti.scenario.N", ["never"])]
    hub.forget_scenarios()
    hub.set_engine(ScenarioEngine(load_scenario_text(_HOLDS, filename="t.yaml")), 10.0)
    assert [e.scenario for e in hub.expectations(11.0)] == ["A"]
    assert hub.engine_label == "A"


def test_a_hub_counts_the_loads_of_the_names_it_still_reports_only():
    """Hub._loads, how often each name was loaded (for "A (2nd load)"), grew with every distinct scenario name
    until a reset: a harness that names each test's scenario after its test, never resetting, kept one entry
    per test for good, past HubConfig.keep_scenarios. A name is counted while a load of it is in place or kept
    one by one in the report; once all are folded into "(older scenarios)" (or it had no outcome to report)
    its next load is "A" again, and the labels the report names one by one stay unique."""
    import random

    from mockcti.center import ContactCenter, default_center
    from mockcti.hub import OLDER_SCENARIOS, HubConfig

    def engine(name: str, expect: bool = True) -> ScenarioEngine:
        text = f"name: {name!r}\n" + ("expect:\n  - {id: never, message: HOLD_CALL_REQ, never: true}\n" if expect else "")
        return ScenarioEngine(load_scenario_text(text, filename="t.yaml"))

    hub = Hub(ContactCenter(default_center()), config=HubConfig(keep_scenarios=2))
    t = 0.0
    for name in ["A", "A", *(f"T{i}" for i in range(500))]:
        hub.set_engine(engine(name), t)
        t += 1
        assert len(hub._loads) <= 3, len(hub._loads)  # the 2 kept and the one in place
    assert set(hub._loads) == {"T497", "T498", "T499"}
    hub.set_engine(engine("A"), t)
    assert hub.engine_label == "A"  # A's two loads are folded: none of them is named one by one any more
    # names with nothing to report are not counted once taken out (the default keep: 1000)
    hub = Hub(ContactCenter(default_center()))
    for i in range(2000):
        hub.set_engine(engine(f"S{i}", expect=False), float(i))
    assert list(hub._loads) == ["S1999"]
    # a name loaded again at once, or while a load of it is kept, counts on
    hub = Hub(ContactCenter(default_center()), config=HubConfig(keep_scenarios=2))
    for i, name in enumerate(["A", "A", "B", "A"]):
        hub.set_engine(engine(name), float(i))
    assert [e.scenario for e in hub.expectations(9.0)] == [OLDER_SCENARIOS, "A (2nd load)", "B", "A (3rd load)"]
    hub.set_engine(engine("B"), 10.0)  # A (2nd load) folded, A (3rd load) kept
    hub.set_engine(engine("A"), 11.0)
    assert hub.engine_label == "A (4th load)"
    # whatever the order, the labels the report names one by one are unique (each scenario here has one outcome)
    rng = random.Random(7)
    for keep in (0, 1, 3):
        hub = Hub(ContactCenter(default_center()), config=HubConfig(keep_scenarios=keep))
        for i in range(300):
            hub.set_engine(engine(rng.choice(["A", "B", "C", "A (2nd load)"]), expect=rng.random() < 0.8)
                           if rng.random() < 0.9 else None,
                           float(i))
            labels = [e.scenario for e in hub.expectations(float(i)) if e.scenario != OLDER_SCENARIOS]
            assert len(labels) == len(set(labels)), labels
            assert len(hub._loads) <= keep + 1


def test_a_hub_never_reports_two_scenarios_under_one_label():
    """A scenario whose own name reads "A (2nd load)", loaded between two loads of "A": the second "A" was
    "A (2nd load)" too, and the report had one JUnit suite with both scenarios' test cases (JUnit consumers
    merge or drop duplicates). It is "A (3rd load)", as `mockcti run` names such a run; a name that reads like
    a label already reported is itself numbered on."""
    from mockcti.center import ContactCenter, default_center

    def engine(name: str) -> ScenarioEngine:
        return ScenarioEngine(load_scenario_text(
            f"name: {name!r}\nexpect:\n  - {{id: never, message: HOLD_CALL_REQ, never: true}}\n", filename="t.yaml"))

    hub = Hub(ContactCenter(default_center()))
    labels = []
    for i, name in enumerate(["A", "A (2nd load)", "A", "A", "A (2nd load)"]):
        hub.set_engine(engine(name), float(i))
        labels.append(hub.engine_label)
    assert labels == ["A", "A (2nd load)", "A (3rd load)", "A (4th load)", "A (2nd load) (2nd load)"]
    assert [e.scenario for e in hub.expectations(9.0)] == labels


def test_a_hub_keeps_the_latest_scenarios_outcomes_and_the_verdict_of_the_older_ones():
    """`hub.retired_expectations` grew by every scenario taken out until the next reset: for good, for a harness
    that never resets. It keeps the latest HubConfig.keep_scenarios; the older ones are one outcome saying how
    many scenarios and outcomes it stands for, and failing when one of them failed: a failed test's verdict
    does not vanish from the report because later tests passed."""
    from mockcti.journal import Journal
    from mockcti.report import build_summary

    hub = _swap_all_day([_NEVER, _HOLDS, *[_NEVER] * 50], keep=3)
    kept = hub.retired_expectations
    assert len(kept) == 4, kept
    older = kept[0]
    assert (older.scenario, older.met, older.dropped) == ("(older scenarios)", False, 49)
    assert older.name == "49 older scenario(s), 49 outcome(s), no longer kept one by one"
    assert "1 of them failed, 1 expectation(s) unmet: 'A' (1 unmet)" in older.detail, older.detail
    assert [e.scenario for e in kept[1:]] == ["N (49th load)", "N (50th load)", "N (51st load)"]
    summary = build_summary(Journal(), expectations=hub.expectations(99.0))
    assert summary["passed"] is False
    assert summary["counts"]["expectations_dropped"] == 49 and summary["counts"]["expectations_unmet"] == 1
    # the older ones all passed: one outcome met, counting them
    hub = _swap_all_day([_NEVER] * 5, keep=2)
    older = hub.retired_expectations[0]
    assert (older.met, older.dropped, older.name) == (True, 3, "3 older scenario(s), 3 outcome(s), no longer kept one by one")
    assert build_summary(Journal(), expectations=hub.expectations(9.0))["passed"] is True
