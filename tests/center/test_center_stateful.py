"""A stateful property test of the whole pure center: one ContactCenter (the default one or a generated
variant: media events on/off, ACD rules on/off, "uccx" or "icm" refusal codes, timers (an outside
party answering late, ring-no-answer, wrap-up), the after-call state, the supervisor in every
team, the desktops and the bridge speaking UCCX or UCCE) driven by random requests of the desktops of agents 1001-1004
(1004 a supervisor) and a bridge — every request type the center handles — plus callers arriving and
hanging up and the clock moving on. Call IDs and devices are drawn mostly from the live ones, so most
requests mean something; some are random.

After every step: nothing escapes handle() (an internal error is a bug), every delivered message encodes
(UCCX v18 and UCCE v24), per session and call BEGIN_CALL_EVENT comes first and END_CALL_EVENT last, every
RTP_STOPPED_EVENT ends a stream an RTP_STARTED_EVENT began, a conference has at most 4 parties, the
agent -> calls index matches a scan, an agent TALKING / RESERVED / HOLD has a call (RESERVED: one ringing at its
phone), and each CSQ queue is in arrival order. Besides: every AGENT_STATE_EVENT tells the agent's state as it is
when sent, and the last one a session got about an agent (its desktop's, a bridge's) is the agent's state now;
END_CALL_EVENT comes once per BEGIN_CALL_EVENT, only for a call over or no longer the session's (and a session
hears it by the time the call is gone); SNAPSHOT_CALL_CONF / SNAPSHOT_DEVICE_CONF say what the center's tables
hold; every request gets exactly one answer (its CONF or a failure, its InvokeID) in its own delivery. At the end every
call is hung up: no call is left, and no agent is left TALKING / RESERVED / HOLD."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from center_world import ALL_CALLS, ALL_STATES, AGENT_SVC, BRIDGE_SVC, agent_sub, calls_index_matches_a_scan

from mockcti.center import ContactCenter, Subscription, default_center
from mockcti.center.core import CallNotOffered
from mockcti.compiled import compiled_modules
from mockcti.wire import Dialect, decode_bytes, encode
from mockcti.wire import MessageType as MT
from mockcti.wire import messages as M
from mockcti.wire.dialect import UCCE, UCCX
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import CallType
from mockcti.wire.enums import LocalConnectionState as LCS

NONE = 0xFFFFFFFF
AGENTS = {1: "1001", 2: "1002", 3: "1003", 4: "1004"}
BRIDGE = 9
SUP_SVC = 0x87 | AGENT_SVC
DEVICES = ["3001", "3002", "3003", "3004"]
EXTERNAL = ["0611", "0622", "+33123", "*86#"]
BUSY = (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_HOLD)
SETTABLE = [AS.AGENT_STATE_LOGIN, AS.AGENT_STATE_LOGOUT, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY,
            AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY, AS.AGENT_STATE_TALKING]
DIALECTS = (Dialect.uccx(18), Dialect.ucce(24))
#: the call events whose CallID (or PrimaryCallID) is the call they are about
CALL_EVENTS = {MT.BEGIN_CALL_EVENT, MT.END_CALL_EVENT, MT.CALL_DELIVERED_EVENT, MT.CALL_ESTABLISHED_EVENT,
               MT.CALL_HELD_EVENT, MT.CALL_RETRIEVED_EVENT, MT.CALL_CLEARED_EVENT,
               MT.CALL_CONNECTION_CLEARED_EVENT, MT.CALL_ORIGINATED_EVENT, MT.CALL_CONFERENCED_EVENT,
               MT.CALL_TRANSFERRED_EVENT, MT.CALL_SERVICE_INITIATED_EVENT, MT.CALL_DATA_UPDATE_EVENT,
               MT.CALL_FAILED_EVENT, MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT, MT.CALL_QUEUED_EVENT}


def call_of(msg) -> int | None:
    cid = getattr(msg, "call_id", None)
    return getattr(msg, "primary_call_id", None) if cid is None else cid


@st.composite
def centers(draw):
    cfg = default_center()
    cfg = dataclasses.replace(cfg, rtp_events=draw(st.booleans()), acd_rules=draw(st.booleans()),
                              control_failure_codes=draw(st.sampled_from(["uccx", "icm"])),
                              # the timers tick() runs: a far end answering, a ring-no-answer, a wrap-up ending
                              external_answer_delay=draw(st.sampled_from([0.0, 2.0])),
                              ring_no_answer=draw(st.sampled_from([0.0, 3.0])),
                              wrapup_time=draw(st.sampled_from([0.0, 4.0])),
                              after_call_state=draw(st.sampled_from([AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK_READY,
                                                                     AS.AGENT_STATE_NOT_READY])),
                              # a supervisor's LOGOUT of a talking agent: refused, or taken when its calls end
                              supervisor_logout_while_talking=draw(st.sampled_from(["refuse", "pending"])))
    if draw(st.booleans()):  # the supervisor in every agent's team
        cfg = dataclasses.replace(cfg, agents=tuple(dataclasses.replace(a, team="Team2") for a in cfg.agents))
    return cfg


def _watched_center() -> type:
    """The center, each AGENT_STATE_EVENT checked as it is sent: it tells the agent's state at that moment (a
    later event of the same delivery may tell a later one: READY, then RESERVED for a queued caller). The compiled
    build's ContactCenter takes no Python subclass (tests/test_compiled_build.py runs this machine on it): there the
    check as each event is sent is left out, the one after each delivery stays."""
    if "mockcti.center.core" in compiled_modules():
        return ContactCenter

    class WatchedCenter(ContactCenter):
        def _send_state_event(self, out, agent_id, ev, bit):
            agent = self.agents[agent_id]
            assert ev.agent_state == agent.state and ev.agent_id == agent_id, (
                f"AGENT_STATE_EVENT of {ev.agent_id} says {AS(ev.agent_state).name}, agent {agent_id} is "
                f"{agent.state.name}")
            super()._send_state_event(out, agent_id, ev, bit)

    return WatchedCenter


WatchedCenter = _watched_center()


def _conf_of(req) -> str:
    """The confirmation a request's success is: its type's name with _REQ as _CONF (SET_AGENT_STATE_CONF ...)."""
    return req.TYPE.name[:-len("_REQ")] + "_CONF"


#: the answers a refused request gets instead of its own confirmation
_FAILURES = {MT.FAILURE_CONF.name, MT.CONTROL_FAILURE_CONF.name}


class CenterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c: ContactCenter = WatchedCenter(default_center())
        self.bridge_profile = UCCX
        self.now = 0.0
        self.invoke = 0
        self.told: dict[tuple[int, int], str] = {}  # (sid, CallID) -> "begun" | "ended"
        self.streams: dict[int, set[tuple]] = {}  # sid -> media streams started and not stopped
        #: sessions opened again while their agent's phone had calls: the media of those calls started before
        #: the session was there, so it hears their RTP_STOPPED without their RTP_STARTED (the stream did stop)
        self.joined_mid_call: set[int] = set()
        #: (sid, agent ID) -> (AgentState, reason code) of the last AGENT_STATE_EVENT the session got about the agent;
        #: reason None: the state its OPEN_CONF told (and, for a bridge opened before anyone logged in, LOGOUT)
        self.known: dict[tuple[int, str], tuple[int, int | None]] = {}

    @initialize(cfg=centers(), bridge_ucce=st.booleans(), logins=st.lists(st.integers(0, 4), min_size=4, max_size=4))
    def start(self, cfg, bridge_ucce, logins):
        self.c = WatchedCenter(cfg)
        self.bridge_profile = UCCE if bridge_ucce else UCCX
        for sid, agent in AGENTS.items():
            r = self.c.open_session(agent_sub(sid, agent, services=SUP_SVC if agent == "1004" else AGENT_SVC,
                                              profile=self.bridge_profile), 0.0)
            assert r.status == 0, r
            self.known[(sid, agent)] = (r.agent_state, None)
        r = self.c.open_session(Subscription(BRIDGE, "bridge", BRIDGE_SVC, ALL_CALLS, ALL_STATES, client_id="bridge",
                                             profile=UCCE if bridge_ucce else UCCX), 0.0)
        assert r.status == 0, r
        for agent in AGENTS.values():
            self.known[(BRIDGE, agent)] = (int(self.c.agents[agent].state), None)
        for (sid, agent), on in zip(AGENTS.items(), logins):
            if on:  # mostly logged in and READY
                self.send(sid, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN,
                                                  agent_password="1234", agent_id=agent))
                self.send(sid, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY))

    # -- checking what every step delivers ---------------------------------------------------------------

    def check(self, out, sid=None, req=None):
        """Every delivery of one step: that of request ``req`` of session ``sid``, or of the world around (a
        caller, a hang-up, the clock, a desktop gone: ``req`` None)."""
        self.one_answer(out, sid, req)
        ended = []
        for d in out:
            mt = d.message.TYPE
            if mt is MT.AGENT_STATE_EVENT:
                self.known[(d.session_id, d.message.agent_id)] = (d.message.agent_state, d.message.event_reason_code)
            if mt is MT.AGENT_STATE_EVENT and d.message.agent_state == AS.AGENT_STATE_LOGOUT:
                # no route logs out an agent with a call on its phone (a supervisor's pending LOGOUT waits for it)
                legs = self.c.agent_call_legs(d.message.agent_id)
                assert not legs or self.c.agents[d.message.agent_id].logged_in, (
                    f"agent {d.message.agent_id} logged out with calls {[(c.id, lg.state.name) for c, lg in legs]}")
            for dia in DIALECTS:
                if dia.profile.defines(mt):  # (ucce has no UCCX statistics: its sessions never ask for them)
                    assert decode_bytes(encode(d.message, dia), dia) == d.message, (dia, d.message)
            if mt not in CALL_EVENTS:
                continue
            key = (d.session_id, call_of(d.message))
            was = self.told.get(key)
            if mt is MT.BEGIN_CALL_EVENT:
                assert was != "begun", f"BEGIN_CALL_EVENT twice: {key}"
                self.told[key] = "begun"
            else:
                assert was == "begun", f"{mt.name} to session {key[0]} for call {key[1]} " + (
                    "after its END_CALL_EVENT" if was else "before its BEGIN_CALL_EVENT")
                if mt is MT.END_CALL_EVENT:
                    self.told[key] = "ended"
                    ended.append(key)
            if mt in (MT.RTP_STARTED_EVENT, MT.RTP_STOPPED_EVENT):
                m = d.message
                stream = (m.call_id, m.connection_device_id, m.direction)
                mine = self.streams.setdefault(d.session_id, set())
                if mt is MT.RTP_STARTED_EVENT:
                    assert stream not in mine, f"RTP_STARTED twice to session {d.session_id}: {stream}"
                    mine.add(stream)
                else:
                    assert stream in mine or d.session_id in self.joined_mid_call, (
                        f"RTP_STOPPED of no started stream to session {d.session_id}: {stream}")
                    mine.discard(stream)
        calls_index_matches_a_scan(self.c)
        self.calls_ended(ended)
        self.states_told()
        if req is not None:
            self.snapshots_agree(out, sid, req)
        return out

    def one_answer(self, out, sid, req):
        """Every request gets one answer, in the delivery of the step that handled it: its own confirmation or
        FAILURE_CONF / CONTROL_FAILURE_CONF, with its InvokeID, to its session; nobody gets any other."""
        confs = [d for d in out if d.message.TYPE.name.endswith("_CONF")]
        if req is None:
            assert not confs, f"confirmations with no request: {[(d.session_id, d.message.TYPE.name) for d in confs]}"
            return
        assert len(confs) == 1, f"{req.TYPE.name} of session {sid}: answers {[(d.session_id, d.message.TYPE.name) for d in confs]}"
        d = confs[0]
        assert d.session_id == sid and d.message.TYPE.name in (_conf_of(req), *_FAILURES), (
            f"{req.TYPE.name} of session {sid} answered {d.message.TYPE.name} to session {d.session_id}")
        assert d.message.invoke_id == req.invoke_id, (req.TYPE.name, req.invoke_id, d.message)

    def calls_ended(self, ended):
        """END_CALL_EVENT is for a call over, or over for that session (the center sees it no more: a bridge sees
        every call, an agent's desktop the calls its phone is on); and a session told a call began hears that it
        ended by the time the call is gone."""
        for sid, cid in ended:
            call = self.c.calls.get(cid)
            if call is None or self.told[(sid, cid)] != "ended":  # (gone, or begun again in the same delivery)
                continue
            sub = self.c.subs.get(sid)
            assert sid not in call.told, f"END_CALL_EVENT of live call {cid} to session {sid}, which still sees it"
            assert sub is not None and sid not in self.c.bridges and (
                sub.agent_id is None or call.leg_of(sub.agent_id) is None), (
                f"END_CALL_EVENT to session {sid} of call {cid}, still on {sorted(call.legs)}")
        for (sid, cid), was in self.told.items():
            assert was == "ended" or cid in self.c.calls or sid not in self.c.subs, (
                f"call {cid} is gone and session {sid} never got its END_CALL_EVENT")

    def states_told(self):
        """The last AGENT_STATE_EVENT each session got about an agent (or its OPEN_CONF's AgentState) is the agent's
        state now: for an agent's desktops and the bridges, whose AgentStateMask lets that state through."""
        for sid, sub in self.c.subs.items():
            agents = AGENTS.values() if sid in self.c.bridges else (sub.agent_id,) if sub.mode == "agent" else ()
            for aid in agents:
                agent = self.c.agents[aid]
                if not sub.state_filter & (1 << int(agent.state)):
                    continue
                state, reason = self.known[(sid, aid)]
                assert state == agent.state and reason in (None, agent.reason), (
                    f"session {sid} last told agent {aid} {AS(state).name}/{reason}: "
                    f"it is {agent.state.name}/{agent.reason}")

    def snapshots_agree(self, out, sid, req):
        """SNAPSHOT_CALL_CONF lists the call's parties (devices and connection states) as the center has them,
        SNAPSHOT_DEVICE_CONF the calls on the phone (CallIDs and the phone's connection states)."""
        for d in out:
            m = d.message
            if m.TYPE is MT.SNAPSHOT_CALL_CONF:
                call = self.c.calls[req.call_id]
                assert [(cd.call_connection_call_id, cd.call_device_id, cd.call_device_connection_state)
                        for cd in m.call_devices] == [(call.id, lg.device, lg.state) for lg in call.legs.values()], (
                    call.id, m.call_devices, call.legs)
                assert (m.ani, m.dnis or "", m.dialed_number or "") == (call.ani, call.dnis, call.dialed), (m, call)
            elif m.TYPE is MT.SNAPSHOT_DEVICE_CONF:
                dev = req.agent_instrument or self.c.subs[sid].agent_instrument
                agent = self.c.by_device[dev]
                assert [(dc.call_connection_call_id, dc.call_connection_device_id, dc.call_state) for dc in m.calls] == [
                    (call.id, agent.device, leg.state) for call, leg in self.c.agent_call_legs(agent.id)], (
                    dev, m.calls, [(call.id, leg) for call, leg in self.c.agent_call_legs(agent.id)])

    def send(self, sid, msg):
        if sid not in self.c.subs:  # a desktop gone (close_desktop): the hub sends nothing for it
            return []
        self.now += 1
        return self.check(self.c.handle(sid, msg, self.now), sid, msg)

    # -- drawing call IDs, devices and numbers ------------------------------------------------------------

    def call_id(self, data, sid=None, lcs=None):
        """Mostly a call of the session's agent (in connection state ``lcs`` if it has one), else any live
        call, sometimes an ID no call has."""
        roll = data.draw(st.integers(0, 19))
        agent = AGENTS.get(sid)
        if agent is not None and roll < 15:
            mine = [(call.id, leg.state) for call, leg in self.c.agent_call_legs(agent)]
            fit = [cid for cid, state in mine if lcs is None or state is lcs] or [cid for cid, _ in mine]
            if fit:
                return data.draw(st.sampled_from(fit))
        live = sorted(self.c.calls)
        if live and roll < 18:
            return data.draw(st.sampled_from(live))
        return data.draw(st.sampled_from([NONE, 0, 16777499, 99999999]))

    def device(self, data, sid, cid=None):
        """Mostly the session's own phone (its requests name it), else a party of the call or anything."""
        roll = data.draw(st.integers(0, 19))
        if sid in AGENTS and roll < 16:
            return DEVICES[sid - 1]
        call = self.c.calls.get(cid)
        if call is not None and roll < 18:
            return data.draw(st.sampled_from(sorted(call.legs)))
        return data.draw(st.sampled_from([*DEVICES, "0611", "", "9999"]))

    def sid(self, data, lcs=None):
        """Mostly the desktop of an agent with a call (in connection state ``lcs``), else any session."""
        busy = [sid for sid, agent in AGENTS.items()
                if any(lcs is None or leg.state is lcs for _, leg in self.c.agent_call_legs(agent))]
        if busy and data.draw(st.integers(0, 3)):
            return data.draw(st.sampled_from(busy))
        return data.draw(self.sids)

    def number(self, data):
        return data.draw(st.sampled_from([*DEVICES, *DEVICES, *EXTERNAL, "", "abc"]))

    def nid(self):
        self.invoke += 1
        return self.invoke

    sids = st.sampled_from([1, 2, 3, 4, BRIDGE])
    #: SUPERVISE_CALL_REQ: mostly the supervisor's desktop (the only session granted CTI_SERVICE_SUPERVISOR)
    supervisor_sids = st.sampled_from([4, 4, 4, 4, 1, BRIDGE])

    # -- the requests -------------------------------------------------------------------------------------

    @rule(sid=sids, state=st.sampled_from(SETTABLE), reason=st.sampled_from([0, 0, 5, 32000]), data=st.data())
    def set_agent_state(self, sid, state, reason, data):
        agent = AGENTS.get(sid, data.draw(st.sampled_from(list(AGENTS.values()))))
        self.send(sid, M.SetAgentStateReq(invoke_id=self.nid(), agent_state=state, event_reason_code=reason,
                                          agent_password=data.draw(st.sampled_from(["1234", "1234", "x"])),
                                          agent_id=agent if sid == BRIDGE or data.draw(st.booleans()) else None))

    @rule(state=st.sampled_from([AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_LOGOUT]),
          agent=st.sampled_from(["1001", "1002", "1003"]), reason=st.sampled_from([0, 7]))
    def supervisor_sets_agent_state(self, state, agent, reason):
        """The supervisor's desktop (1004) changes an agent's state, as Finesse's team gadget does: an agent of its
        team (all of them in some centers), talking or not; another team's is refused."""
        self.send(4, M.SetAgentStateReq(invoke_id=self.nid(), agent_state=state, event_reason_code=reason,
                                        agent_id=agent))

    @rule(sid=sids, data=st.data())
    def make_call(self, sid, data):
        self.send(sid, M.MakeCallReq(invoke_id=self.nid(), dialed_number=self.number(data),
                                     agent_instrument=self.device(data, sid), call_variable1="mc"))

    @rule(data=st.data())
    def answer(self, data):
        sid = self.sid(data, LCS.LCS_ALERTING)
        cid = self.call_id(data, sid, LCS.LCS_ALERTING)
        self.send(sid, M.AnswerCallReq(invoke_id=self.nid(), call_id=cid, connection_device_id=self.device(data, sid, cid)))

    @rule(data=st.data())
    def pick_up(self, data):  # answering twice as often as the rest: calls get past ringing, media flows
        self.answer(data)

    @rule(data=st.data())
    def hold(self, data):
        sid = self.sid(data, LCS.LCS_CONNECT)
        cid = self.call_id(data, sid, LCS.LCS_CONNECT)
        self.send(sid, M.HoldCallReq(invoke_id=self.nid(), call_id=cid, connection_device_id=self.device(data, sid, cid)))

    @rule(data=st.data())
    def retrieve(self, data):
        sid = self.sid(data, LCS.LCS_HOLD)
        cid = self.call_id(data, sid, LCS.LCS_HOLD)
        self.send(sid, M.RetrieveCallReq(invoke_id=self.nid(), held_call_id=cid,
                                         held_connection_device_id=self.device(data, sid, cid)))

    @rule(data=st.data())
    def consult(self, data):
        sid = self.sid(data, LCS.LCS_CONNECT)
        cid = self.call_id(data, sid, LCS.LCS_CONNECT)
        self.send(sid, M.ConsultCallReq(invoke_id=self.nid(), active_call_id=cid,
                                        active_connection_device_id=self.device(data, sid, cid),
                                        dialed_number=self.number(data), call_variable2="consult",
                                        agent_instrument=DEVICES[sid - 1] if sid in AGENTS else None))

    def two(self, data, sid):
        active = self.call_id(data, sid, LCS.LCS_CONNECT)
        agent = AGENTS.get(sid)
        held = [call.id for call, leg in self.c.agent_call_legs(agent) if call.id != active] if agent else []
        held = data.draw(st.sampled_from(held)) if held and data.draw(st.integers(0, 4)) else self.call_id(data, sid, LCS.LCS_HOLD)
        return held, active, self.device(data, sid, held), self.device(data, sid, active)

    @rule(single=st.booleans(), data=st.data())
    def transfer(self, single, data):
        sid = self.sid(data, LCS.LCS_HOLD)
        held, active, hdev, adev = self.two(data, sid)
        if single:
            self.send(sid, M.TransferCallReq(invoke_id=self.nid(), active_call_id=active, held_call_id=NONE,
                                             active_connection_device_id=adev, dialed_number=self.number(data)))
        else:
            self.send(sid, M.TransferCallReq(invoke_id=self.nid(), active_call_id=active, held_call_id=held,
                                             active_connection_device_id=adev, held_connection_device_id=hdev))

    @rule(single=st.booleans(), data=st.data())
    def conference(self, single, data):
        sid = self.sid(data, LCS.LCS_HOLD)
        held, active, hdev, adev = self.two(data, sid)
        if single:
            self.send(sid, M.ConferenceCallReq(invoke_id=self.nid(), active_call_id=active, held_call_id=NONE,
                                               held_connection_device_type=0xFFFF, active_connection_device_id=adev,
                                               dialed_number=self.number(data)))
        else:
            self.send(sid, M.ConferenceCallReq(invoke_id=self.nid(), active_call_id=active, held_call_id=held,
                                               active_connection_device_id=adev, held_connection_device_id=hdev))

    @rule(data=st.data())
    def alternate(self, data):
        sid = self.sid(data, LCS.LCS_HOLD)
        held, active, hdev, adev = self.two(data, sid)
        self.send(sid, M.AlternateCallReq(invoke_id=self.nid(), active_call_id=active, other_call_id=held,
                                          active_connection_device_id=adev, other_connection_device_id=hdev))

    @rule(data=st.data())
    def reconnect(self, data):
        sid = self.sid(data, LCS.LCS_HOLD)
        held, active, hdev, adev = self.two(data, sid)
        self.send(sid, M.ReconnectCallReq(invoke_id=self.nid(), active_call_id=active, held_call_id=held,
                                          active_connection_device_id=adev, held_connection_device_id=hdev))

    @rule(whole=st.booleans(), data=st.data())
    def clear(self, whole, data):
        sid = self.sid(data, None)
        cid = self.call_id(data, sid)
        dev = self.device(data, sid, cid)
        req = M.ClearCallReq if whole else M.ClearConnectionReq
        self.send(sid, req(invoke_id=self.nid(), call_id=cid, connection_device_id=dev))

    @rule(data=st.data())
    def set_call_data(self, data):
        sid = self.sid(data, None)
        cid = self.call_id(data, sid)
        named = data.draw(st.sampled_from([(), (M.NamedVariable(name="user.a", value="1"),), (M.NamedVariable(name="user.b", value="x" * 200),)]))
        arrays = data.draw(st.sampled_from([(), (M.NamedArray(name="user.arr", index=0, value="v"),), (M.NamedArray(name="user.arr", index=3, value="w"),)]))
        self.send(sid, M.SetCallDataReq(invoke_id=self.nid(), call_id=cid, connection_device_id=self.device(data, sid, cid),
                                        call_variable3=data.draw(st.sampled_from([None, "", "v3"])),
                                        customer_phone_number=data.draw(st.sampled_from([None, "0612"])),
                                        call_type=data.draw(st.sampled_from([0, 1, 9])),  # (0: no type to set)
                                        named_variables=named, named_arrays=arrays))

    @rule(sid=sids, data=st.data())
    def snapshots(self, sid, data):
        cid = self.call_id(data)
        self.send(sid, M.SnapshotCallReq(invoke_id=self.nid(), call_id=cid, connection_device_id=self.device(data, sid, cid)))
        self.send(sid, M.SnapshotDeviceReq(invoke_id=self.nid(), agent_instrument=self.device(data, sid)))

    @rule(sid=supervisor_sids, action=st.sampled_from([0, 3, 4, 4, 1]), data=st.data())
    def supervise(self, sid, action, data):
        agent = data.draw(st.sampled_from(["1001", "1002", "1003", "1003"]))
        cid = self.call_id(data, int(agent) - 1000, LCS.LCS_CONNECT)
        kw = {"supervisor_instrument": "3004"} if sid == BRIDGE else {}
        self.send(sid, M.SuperviseCallReq(invoke_id=self.nid(), agent_call_id=cid, supervisor_call_id=NONE,
                                          agent_connection_device_type=0, supervisor_connection_device_type=0,
                                          supervisory_action=action, agent_id=agent, **kw))

    @rule(related=st.booleans(), emergency=st.booleans(), data=st.data())
    def call_the_supervisor(self, related, emergency, data):
        sid = self.sid(data, LCS.LCS_CONNECT)
        cid = self.call_id(data, sid, LCS.LCS_CONNECT) if related else NONE
        dev = self.device(data, sid, cid)
        agent = AGENTS.get(sid, data.draw(st.sampled_from(list(AGENTS.values()))))
        if emergency:
            self.send(sid, M.EmergencyCallReq(invoke_id=self.nid(), connection_call_id=cid, connection_device_id=dev,
                                              agent_id=agent))
        else:
            self.send(sid, M.SupervisorAssistReq(invoke_id=self.nid(), call_id=cid, connection_device_id=dev,
                                                 agent_id=agent, text="help"))

    @rule(sid=sids, data=st.data())
    def queries(self, sid, data):
        agent = data.draw(st.sampled_from([*AGENTS.values(), "9"]))
        self.send(sid, M.QueryAgentStateReq(invoke_id=self.nid(), agent_id=agent))
        self.send(sid, M.QueryDeviceInfoReq(invoke_id=self.nid(), agent_instrument=self.device(data, sid)))
        if sid == BRIDGE and not self.bridge_profile.defines(MT.QUERY_QUEUE_STATISTICS_REQ):
            return  # the UCCX statistics: a ucce session's are refused E_CTI_INVALID_MESSAGE_TYPE before the center
        for d in self.send(sid, M.QueryAgentQueueStatisticsReq(invoke_id=self.nid(), agent_id=agent)):
            if d.message.TYPE is MT.QUERY_AGENT_QUEUE_STATISTICS_CONF:  # (the desktop of another agent: refused)
                mine = self.c.agents[agent].csq_ids
                waiting = [self.c.calls[cid] for q in mine for cid in self.c.queues.get(q, ())]
                assert (d.message.calls_in_queue, d.message.oldest_call_in_queue) == (
                    len(waiting), int(max((self.now - c.started for c in waiting), default=0)))
        csq = data.draw(st.sampled_from([1, 2, 7]))
        for d in self.send(sid, M.QueryQueueStatisticsReq(invoke_id=self.nid(), csq_id=csq)):
            if d.message.TYPE is MT.QUERY_QUEUE_STATISTICS_CONF:  # (CSQ 7: E_CTI_INVALID_CSQ)
                assert self.stats_of(d.message) == self.scanned([a for a in self.c.agents.values() if csq in a.csq_ids],
                                                                len(self.c.queues[csq]))
        for d in self.send(sid, M.QuerySummaryStatisticsReq(invoke_id=self.nid())):
            assert self.stats_of(d.message) == self.scanned(list(self.c.agents.values()),
                                                            sum(map(len, self.c.queues.values())))

    @staticmethod
    def stats_of(conf):
        return (conf.logged_in_agents, conf.in_session_agents, conf.available_agents, conf.un_available_agents,
                conf.in_work_agents, conf.selected_agents, conf.calls_in_priority_queue1)

    @staticmethod
    def scanned(agents, waiting):
        """A statistics CONF's values as a walk over the agents counts them (§5.7): logged in, talking, ready,
        not ready, in work (WORK, WORK_READY), reserved; the calls waiting. Talking is in session: a ucce agent in
        HOLD (its calls all held) too, as a uccx agent on hold stays TALKING."""
        def n(*states):
            return sum(a.state in states for a in agents)
        return (len(agents) - n(AS.AGENT_STATE_LOGOUT), n(AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD),
                n(AS.AGENT_STATE_READY),
                n(AS.AGENT_STATE_NOT_READY), n(AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY),
                n(AS.AGENT_STATE_RESERVED), waiting)

    # -- the world around -----------------------------------------------------------------------------------

    @rule(to=st.sampled_from(["Sales", "Support", "Sales", "1001", "1002", "1003", "1004"]),
          named=st.booleans())
    def deliver_call(self, to, named):
        self.now += 1
        where = {"csq": to} if not to.isdigit() else {"agent_id": to}
        calls = set(self.c.calls)
        try:
            _, out = self.c.deliver_call(self.now, ani="0699", variables={"call_variable1": "in"},
                                         named_variables={"user.in": "1"} if named else None, **where)
        except CallNotOffered:  # the agent logged out, or its phone busy: refused, nothing made
            agent = self.c.agents[to]
            assert not agent.logged_in or self.c._busy_phone(agent), (to, agent.state)
            assert set(self.c.calls) == calls
            return
        self.check(out)

    @rule(to=st.sampled_from(["Sales", "Support"]))
    def another_caller(self, to):  # callers arrive as often as two kinds of request are made: calls to work on
        self.deliver_call(to, False)

    @precondition(lambda self: self.c.calls)
    @rule(data=st.data())
    def hang_up(self, data):
        cid = data.draw(st.sampled_from(sorted(self.c.calls)))
        dev = data.draw(st.sampled_from([None, *sorted(self.c.calls[cid].legs)]))
        if dev is None and self.c.calls[cid].ani not in self.c.calls[cid].legs:
            return
        self.now += 1
        self.check(self.c.hang_up(self.now, cid, dev))

    @precondition(lambda self: any(sid in self.c.subs for sid in AGENTS))
    @rule(data=st.data())
    def close_desktop(self, data):
        """An agent's desktop goes (on_agent_disconnect "not_ready"): a logged-in agent is out of routing at once
        unless it talks on an ACD call — never READY or in a wrap-up that would make it READY with nobody to
        answer."""
        sid = data.draw(st.sampled_from([sid for sid in AGENTS if sid in self.c.subs]))
        self.now += 1
        self.check(self.c.close_session(sid, self.now))
        self.told = {k: v for k, v in self.told.items() if k[0] != sid}
        self.streams.pop(sid, None)
        self.known = {k: v for k, v in self.known.items() if k[0] != sid}
        agent = self.c.agents[AGENTS[sid]]
        assert agent.state not in (AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY), (
            f"agent {agent.id} {agent.state.name} with its desktop gone")

    @precondition(lambda self: any(sid not in self.c.subs for sid in AGENTS))
    @rule(data=st.data())
    def reopen_desktop(self, data):
        sid = data.draw(st.sampled_from([sid for sid in AGENTS if sid not in self.c.subs]))
        agent = AGENTS[sid]
        if self.c.agent_call_legs(agent):
            self.joined_mid_call.add(sid)
        r = self.c.open_session(agent_sub(sid, agent, services=SUP_SVC if agent == "1004" else AGENT_SVC,
                                              profile=self.bridge_profile), self.now)
        assert r.status == 0, r
        self.known[(sid, agent)] = (r.agent_state, None)

    @rule(step=st.sampled_from([0.5, 5.0, 60.0]))
    def tick(self, step):
        self.now += step
        self.check(self.c.tick(self.now))

    # -- invariants -----------------------------------------------------------------------------------------

    @invariant()
    def conferences_have_at_most_four_parties(self):
        for call in self.c.calls.values():
            assert not call.conferenced or len(call.legs) <= 4, (call.id, sorted(call.legs))

    @invariant()
    def busy_agents_have_a_call(self):
        for agent in self.c.agents.values():
            if agent.state in BUSY:
                assert self.c.agent_call_legs(agent.id), f"agent {agent.id} {agent.state.name} without a call"

    @invariant()
    def reserved_agents_have_a_call_ringing_at_their_phone(self):
        for agent in self.c.agents.values():
            if agent.state is AS.AGENT_STATE_RESERVED:
                assert any(leg.state is LCS.LCS_ALERTING for _, leg in self.c.agent_call_legs(agent.id)), (
                    f"agent {agent.id} RESERVED with nothing ringing at its phone")

    @invariant()
    def talking_agents_are_on_an_acd_call_or_a_consultation(self):
        """TALKING (HOLD) is for routed calls (UCCX; Finesse: "In Unified CCX deployments, this is for routed
        calls only"): an ACD call, a consultation, a call about one — for a consulted agent, also the call its
        consultation was transferred or conferenced into, though that is the consulting agent's own call, no ACD
        call (``Call.consulted``: it talks on it as on the consultation, until it leaves it). Not a call of the
        agent's own left on its phone once the ACD call it talked on is over. Under ucce (Unified CCE: "agent state
        can be TALKING" on a non-ICD call) an agent that went TALKING on calls of its own (``own_call_from``), while
        one is on its phone."""
        for agent in self.c.agents.values():
            if agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD):
                calls = [call for call, _ in self.c.agent_call_legs(agent.id)]
                if agent.own_call_from is not None:
                    assert calls and self.c._speaks_icm(agent), (
                        f"agent {agent.id} TALKING on its own calls: {[(c.id, c.type) for c in calls]}, "
                        f"ucce {self.c._speaks_icm(agent)}")
                    continue
                assert any(c.acd or c.consult_of is not None or c.type is CallType.CALLTYPE_CONSULT
                           or agent.id in c.consulted for c in calls), (
                    f"agent {agent.id} {agent.state.name} on no ACD call: {[(c.id, c.type) for c in calls]}")

    @invariant()
    def hold_is_for_a_ucce_agent_whose_calls_are_all_held(self):
        """Under ucce an agent on calls is HOLD while it holds a call and talks on or dials none (a call may ring
        meanwhile), TALKING otherwise (Unified CCE, Finesse's transitions TALKING <-> HOLD); UCCX has no HOLD state
        (the agent stays TALKING)."""
        for agent in self.c.agents.values():
            if agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD):
                legs = [leg.state for _, leg in self.c.agent_call_legs(agent.id)]
                held = LCS.LCS_HOLD in legs and LCS.LCS_CONNECT not in legs and LCS.LCS_INITIATE not in legs
                expected = held and self.c._speaks_icm(agent)
                assert (agent.state is AS.AGENT_STATE_HOLD) == expected, (
                    f"agent {agent.id} {agent.state.name} with its legs {[s.name for s in legs]}, "
                    f"ucce {self.c._speaks_icm(agent)}")

    @invariant()
    def ready_agents_phones_are_free(self):
        """READY is for an agent the queues can offer a caller: its phone talks, dials or rings with nothing (a
        held call aside). No route makes an agent on a call of its own READY — its request, a supervisor's, the
        wrap-up timer, retrieving a held call (UCCX keeps an agent on a non-routed call NOT_READY)."""
        for agent in self.c.agents.values():
            if agent.state is AS.AGENT_STATE_READY:
                busy = [(call.id, leg.state.name) for call, leg in self.c.agent_call_legs(agent.id)
                        if leg.state is not LCS.LCS_HOLD]
                assert not busy, f"agent {agent.id} READY with its phone busy: {busy}"

    @invariant()
    def queues_keep_arrival_order(self):
        for csq, queue in self.c.queues.items():
            assert queue == sorted(queue), (csq, queue)

    @invariant()
    def no_caller_waits_for_a_ready_agent(self):
        """A caller waits only while its CSQ has no READY agent whose phone is free: routing offered it otherwise."""
        for csq, queue in self.c.queues.items():
            if queue:
                free = [a.id for a in self.c.agents.values() if a.state is AS.AGENT_STATE_READY and csq in a.csq_ids
                        and not any(leg.state is not LCS.LCS_HOLD for _, leg in self.c.agent_call_legs(a.id))]
                assert not free, f"callers {queue} wait in CSQ {csq} while {free} are READY"

    def teardown(self):
        for _ in range(100):  # bounded: every hang-up takes a leg off a call
            if not self.c.calls:
                break
            call = self.c.calls[min(self.c.calls)]
            self.now += 1
            self.check(self.c.hang_up(self.now, call.id, next(iter(call.legs))))
        self.now += 10_000
        self.check(self.c.tick(self.now))
        assert not self.c.calls, sorted(self.c.calls)
        for agent in self.c.agents.values():
            assert agent.state not in BUSY, f"agent {agent.id} left {agent.state.name} with no call"
        for sid, streams in self.streams.items():
            assert not streams, f"session {sid}: media streams never stopped: {sorted(streams)}"
        for (sid, cid), was in self.told.items():
            assert was == "ended" or sid not in self.c.subs, f"session {sid} never got END_CALL for {cid}"


CenterMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestCenterStateful = CenterMachine.TestCase
