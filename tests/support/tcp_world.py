"""What the center's over-TCP tests share: the ``server`` fixture (a running ``MockServer`` whose ``connect()``
gives a version-14 client, closed at teardown), a bridge and a READY agent desktop on it, and an inbound call
delivered inside the server's loop."""

from __future__ import annotations

import pytest_asyncio

from mockcti.client import CTIClient
from mockcti.server import MockServer, ServerConfig
from mockcti.wire.enums import AgentState as AS


@pytest_asyncio.fixture
async def server():
    """A MockServer on 127.0.0.1, a free port; ``await server.connect()`` opens a client (version 14)."""
    server = await MockServer(config=ServerConfig(host="127.0.0.1", port=0)).start()
    clients: list[CTIClient] = []

    async def connect() -> CTIClient:
        c = await CTIClient.connect(server.host, server.port, version=14)
        clients.append(c)
        return c

    server.connect = connect
    yield server
    for c in clients:
        await c.close()
    await server.stop()


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
