"""``mockcti serve`` run in process whose run ends at once (as after Ctrl-C) and whose shutdown takes 5 s of the
hub's time (a slow client's grace, a loop running late): what the traffic generators do once serve is told to
stop."""

from __future__ import annotations

from mockcti import cli
from mockcti.server import MockServer


def serve_with_a_slow_stop(monkeypatch, argv: list[str]) -> int:
    """``cli.main(["serve", *argv])`` with MockServer's serve_forever returning at once and its stop() first moving
    the hub's clock 5 s on; its exit status."""
    real_stop = MockServer.stop

    async def serve_forever(self):  # the run ends at once, as after Ctrl-C
        return None

    async def stop(self):
        self.call(lambda hub, now: hub.tick(now + 5.0))
        await real_stop(self)

    monkeypatch.setattr(MockServer, "serve_forever", serve_forever)
    monkeypatch.setattr(MockServer, "stop", stop)
    return cli.main(["serve", *argv])
