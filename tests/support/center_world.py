"""What the pure tests of the contact center share: subscriptions, reading deliveries, and a
``World`` (a center with a clock) whose every answer is checked to encode, and whose agent -> calls
index is checked against a scan after every step."""

from __future__ import annotations

from mockcti.center import ContactCenter, Subscription, default_center
from mockcti.wire import Dialect, decode_bytes, encode
from mockcti.wire import messages as M
from mockcti.wire.enums import AgentState as AS
from mockcti.wire.enums import StatusCode as S

ALL_CALLS = 0xFFFFFF
ALL_STATES = 0x3FF
AGENT_SVC = 0x7
BRIDGE_SVC = 0x16


def agent_sub(sid, agent_id, *, client="desk", call_mask=ALL_CALLS, state_mask=ALL_STATES, services=AGENT_SVC, **kw):
    return Subscription(sid, "agent", services, call_mask, state_mask, agent_id=agent_id, client_id=f"{client}{sid}", **kw)


def bridge_sub(sid, *, call_mask=ALL_CALLS, state_mask=ALL_STATES, **kw):
    return Subscription(sid, "bridge", BRIDGE_SVC, call_mask, state_mask, client_id=f"bridge{sid}", **kw)


def seq(deliveries, sid):
    return [d.message.TYPE.name for d in deliveries if d.session_id == sid]


def only(deliveries, sid, mt):
    return [d.message for d in deliveries if d.session_id == sid and d.message.TYPE is mt]


def encodable(deliveries):
    """Every message the center builds encodes at v14 and v18 and decodes back equal."""
    for d in deliveries:
        for v in (14, 18):
            dia = Dialect.uccx(v)
            assert decode_bytes(encode(d.message, dia), dia) == d.message
    return deliveries


class World:
    def __init__(self, config=None):
        self.c = ContactCenter(config or default_center())
        self.t = 0.0

    def open(self, sub):
        r = self.c.open_session(sub, self.t)
        assert r.status == S.E_CTI_NO_ERROR, r
        return r

    def req(self, sid, msg):
        self.t += 1
        out = encodable(self.c.handle(sid, msg, self.t))
        calls_index_matches_a_scan(self.c)
        return out

    def login_ready(self, sid, agent_id, *, ready=True):
        self.req(sid, M.SetAgentStateReq(invoke_id=1, agent_state=AS.AGENT_STATE_LOGIN, agent_password="1234",
                                         agent_id=agent_id))
        if ready:
            self.req(sid, M.SetAgentStateReq(invoke_id=2, agent_state=AS.AGENT_STATE_READY))

    def inbound(self, **kw):
        self.t += 1
        cid, out = self.c.deliver_call(self.t, **kw)
        calls_index_matches_a_scan(self.c)
        return cid, encodable(out)


def two_desktops_and_a_bridge(config=None, *, profile=None) -> World:
    """The usual cast: agent 1001's desktop (session 1), 1002's (session 2) and a bridge (session 9),
    opened, nobody logged in; ``profile``: the profile they speak (default uccx)."""
    w = World(config)
    kw = {} if profile is None else {"profile": profile}
    w.open(agent_sub(1, "1001", **kw))
    w.open(agent_sub(2, "1002", **kw))
    w.open(bridge_sub(9, **kw))
    return w


def calls_index_matches_a_scan(c):
    """The center's agent -> calls index (kept on every leg change) says what a scan of every call says; so do
    its agents-by-state tables (kept on every state change), what the statistics CONFs count
    (:func:`state_counts_match_a_scan`)."""
    for agent in c.agents.values():
        scanned = [(call, call.leg_of(agent.id)) for call in c.calls.values() if call.leg_of(agent.id) is not None]
        assert c.agent_call_legs(agent.id) == scanned, agent.id
    state_counts_match_a_scan(c)


def state_counts_match_a_scan(c):
    """The center's agents-by-state tables, the whole center's and each CSQ's, are what a walk over every agent
    counts, and every queued CallID is a live call waiting there (the statistics CONFs read the tables and the
    queues' lengths and heads); its READY tables hold the READY agents, each CSQ's in the center's order."""
    from collections import Counter

    assert {s: n for s, n in c.state_counts.items() if n} == Counter(a.state for a in c.agents.values())
    for csq_id, counts in c.csq_state_counts.items():
        scanned = Counter(a.state for a in c.agents.values() if csq_id in a.csq_ids)
        assert {s: n for s, n in counts.items() if n} == scanned, csq_id
    for csq_id, queue in c.queues.items():
        for cid in queue:
            assert cid in c.calls and c.calls[cid].queued, (csq_id, cid)
    # the READY tables routing reads: every READY agent, each CSQ's in the center's longest-ready order
    assert set(c.ready) == {a.id for a in c.agents.values() if a.state is AS.AGENT_STATE_READY}
    for csq_id, ready in c.ready_in.items():
        assert list(ready) == [aid for aid, a in c.ready.items() if csq_id in a.csq_ids], csq_id
