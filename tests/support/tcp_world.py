"""What the center's over-TCP tests share: a bridge and a READY agent desktop on a running
``MockServer``, and an inbound call delivered inside the server's loop."""

from __future__ import annotations

from mockcti.client import CTIClient
from mockcti.wire.enums import AgentState as AS


async def bridge_and_ready_desk(server, agent_id: str) -> tuple[CTIClient, CTIClient]:
    """A bridge session ("wallboard") and agent ``agent_id``'s desktop, logged in and READY; no heartbeats."""
    bridge = await CTIClient.connect(server.host, server.port)
    await bridge.open_bridge(client_id="wallboard", heartbeat=0)
    desk = await CTIClient.connect(server.host, server.port)
    await desk.open_agent(agent_id=agent_id, client_id=f"desk-{agent_id}", heartbeat=0)
    await desk.set_agent_state(AS.AGENT_STATE_LOGIN, password="1234")
    await desk.set_agent_state(AS.AGENT_STATE_READY)
    return bridge, desk


def deliver_call(server, **kw) -> int:
    """An inbound call (``ContactCenter.deliver_call`` keywords, e.g. ``csq="Sales"``) delivered in the
    server's loop, its events sent; returns its CallID."""
    def deliver(hub, now):
        call_id, deliveries = hub.center.deliver_call(now, **kw)
        hub.deliver(deliveries)
        return call_id

    return server.call(deliver)
