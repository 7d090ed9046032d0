"""A small agent-desktop CTI client for `mockcti fuzz`, well behaved or with one injected bug.

Run it under the fuzzer (the fuzzer sets CTI_HOST and CTI_PORT)::

    mockcti fuzz --client-cmd 'python examples/fuzz_client.py' --seed 1 --count 20 --time 30
    mockcti fuzz --client-cmd 'python examples/fuzz_client.py --bug crash-on-hold' --seed 1 --time 30

or in-process: ``fuzz_client(client=agent_client(bug=None, idle_timeout=20), ...)``.

Behaviour (reference §3.1, §3.2, §3.4): connect, open an agent session, heartbeat every IdleTimeout/4;
when the server stops answering heartbeats or sends bytes that cannot be framed, reset the
connection and reconnect; after a refused OPEN_REQ, reset and wait 10 s before the next (§3.2; at
once after E_CTI_SERVER_NOT_MASTER, which sends the client to the other node, §3.1); on exit send
CLOSE_REQ. Bugs (``--bug``):

- ``crash-on-hold``: raises (the process exits 1) on CALL_HELD_EVENT
- ``unknown-call-id``: answers CALL_DELIVERED_EVENT with a HOLD_CALL_REQ naming a CallID no event gave it
  (PROTO-UNKNOWN-CALL; a pipelined reuse of an InvokeID is no violation against the fuzzer's server, which
  answers each request before it reads the next: see PROTO-INVOKEID-REUSED in the README)
- ``stop-heartbeat-on-hold``: stops heartbeating after CALL_HELD_EVENT
- ``crash-on-unknown-tag``: raises on an event carrying a floating tag it does not know (a newer
  server's field) instead of skipping it
- ``crash-on-transfer``: raises on CALL_TRANSFERRED_EVENT (only ``--flows transfer`` generates one)
- ``crash-late-on-transfer``: raises 0.4 s (``--late S``: S s) after CALL_TRANSFERRED_EVENT: after a short
  ``--window``, while the fuzzer goes on to the next case (it finds the death there, or several cases later, and
  holds it against the transfer's case)
- ``crash-after-open``: raises 0.5 s after its session opens, whatever it is sent (a bug of its own, a timer's,
  say): no case is to blame, and the fuzzer says so (``no failing case: the client fails with no case sent to it``)
- ``crash-on-queued``: raises on CALL_QUEUED_EVENT (only a bridge is sent one: run it with ``--bridge``
  under ``mockcti fuzz --view bridge --flows inbound``)
- ``flaky-on-hold``: raises on every third CALL_HELD_EVENT it receives (``--every N``: every N-th), counted
  across its runs, so that one and the same case kills it one time and not the next, as a race would, with no
  timing deciding it: in-process the count outlives the client's restarts (one ``agent_client()``); as a command
  it is kept in ``--count-file FILE`` (without it, each process counts from 0). The fuzzer says the client is
  flaky (``flaky:``)

``--bridge`` opens a bridge-mode session (CTI_SERVICE_ALL_EVENTS, a wallboard's or recorder's) instead of
the agent's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from mockcti.client import CTIClient, RequestFailed
from mockcti.wire import MessageType, encode
from mockcti.wire.enums import StatusCode
from mockcti.wire.messages import CallDeliveredEvent, HeartbeatReq, HoldCallReq

BUGS = ("crash-on-hold", "unknown-call-id", "stop-heartbeat-on-hold", "crash-on-unknown-tag", "crash-on-transfer",
        "crash-on-queued", "crash-late-on-transfer", "crash-after-open", "flaky-on-hold")
LATE = 0.4  # seconds from CALL_TRANSFERRED_EVENT to the crash of crash-late-on-transfer
RETRY_AFTER_REFUSAL = 10.0  # reference §3.2: the wait before an OPEN_REQ after a refused one
SOON = 0.5  # seconds from the session's opening to the crash of crash-after-open


def agent_client(*, bug: str | None = None, agent: str = "1001", extension: str = "3001", idle_timeout: int = 20,
                 version: int = 18, bridge: bool = False, late: float = LATE, every: int = 3,
                 count_file: str | None = None) -> Any:
    """An async client ``client(host, port, stop_event)`` for :func:`mockcti.testing.fuzz.fuzz_client`.
    ``every``, ``count_file``: ``flaky-on-hold``'s (every N-th CALL_HELD_EVENT; the file its count is kept in)."""
    if bug is not None and bug not in BUGS:
        raise ValueError(f"unknown bug {bug!r}; known: {BUGS}")
    holds = [0]  # flaky-on-hold: the CALL_HELD_EVENTs received, across runs

    def held() -> int:
        """One more CALL_HELD_EVENT: how many there were (in ``count_file`` too, when given)."""
        if count_file is not None:
            with contextlib.suppress(OSError, ValueError):
                with open(count_file, encoding="utf-8") as f:
                    holds[0] = int(f.read().strip() or 0)
        holds[0] += 1
        if count_file is not None:
            with open(count_file, "w", encoding="utf-8") as f:
                f.write(str(holds[0]))
        return holds[0]

    async def run(host: str, port: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                cti = await CTIClient.connect(host, port, version=version, timeout=5)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            state: dict[str, Any] = {"heartbeat": True, "doom": None}
            try:
                if bridge:
                    await cti.open_bridge(idle_timeout=idle_timeout, heartbeat=0, timeout=5)
                else:
                    await cti.open_agent(agent_id=agent, extension=extension, instrument=extension,
                                         idle_timeout=idle_timeout, heartbeat=0, timeout=5)
            except Exception as exc:  # noqa: BLE001 - refused or dropped: reset and retry
                await cti.abort()
                wait = 0.2  # dropped, or a standby node (E_CTI_SERVER_NOT_MASTER): the other node at once
                if isinstance(exc, RequestFailed) and getattr(exc.reply, "status", None) not in (
                        None, StatusCode.E_CTI_SERVER_NOT_MASTER):
                    wait = RETRY_AFTER_REFUSAL  # refused: 0.2 s was PROTO-RETRY-TOO-SOON
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                continue
            beat = asyncio.create_task(_heartbeat(cti, idle_timeout / 4, state))
            opened = asyncio.get_running_loop().time()
            try:
                while not stop.is_set() and not cti.closed.is_set() and not beat.done():
                    if bug == "crash-after-open" and asyncio.get_running_loop().time() >= opened + SOON:
                        raise RuntimeError(f"bug: died {SOON:g} s after its session opened")
                    if state["doom"] is not None and asyncio.get_running_loop().time() >= state["doom"]:
                        raise RuntimeError(f"bug: died {late:g} s after CALL_TRANSFERRED_EVENT")
                    try:
                        ev = await cti.next_event(timeout=0.05)
                    except (asyncio.TimeoutError, Exception):
                        continue
                    if ev.extra_fields and bug == "crash-on-unknown-tag":
                        raise RuntimeError(f"bug: unknown floating tag {ev.extra_fields[0][0]} in {ev.TYPE.name}")
                    if ev.TYPE is MessageType.CALL_HELD_EVENT:
                        if bug == "crash-on-hold":
                            raise RuntimeError("bug: cannot handle CALL_HELD_EVENT")
                        if bug == "flaky-on-hold":
                            n = held()
                            if n % every == 0:
                                raise RuntimeError(f"bug: died on CALL_HELD_EVENT number {n} (one in {every})")
                        if bug == "stop-heartbeat-on-hold":
                            state["heartbeat"] = False
                    if ev.TYPE is MessageType.CALL_TRANSFERRED_EVENT and bug == "crash-on-transfer":
                        raise RuntimeError("bug: cannot handle CALL_TRANSFERRED_EVENT")
                    if (ev.TYPE is MessageType.CALL_TRANSFERRED_EVENT and bug == "crash-late-on-transfer"
                            and state["doom"] is None):
                        state["doom"] = asyncio.get_running_loop().time() + late
                    if ev.TYPE is MessageType.CALL_QUEUED_EVENT and bug == "crash-on-queued":
                        raise RuntimeError("bug: cannot handle CALL_QUEUED_EVENT")
                    if isinstance(ev, CallDeliveredEvent) and bug == "unknown-call-id":
                        req = HoldCallReq(invoke_id=cti.next_invoke_id(), call_id=(ev.call_id + 1_000_000) & 0xFFFFFFFF,
                                          connection_device_id=extension, connection_device_type=0)
                        cti.send_bytes(encode(req, cti.dialect))
            finally:
                beat.cancel()
                with contextlib.suppress(BaseException):
                    await beat
            if stop.is_set():
                await cti.close(timeout=2)  # CLOSE_REQ, then close (reference §3.5)
                return
            await cti.abort(reset=True)  # failure detected: reset the connection and reconnect (reference §3.1)
            await asyncio.sleep(0.05)

    return run


async def _heartbeat(cti: CTIClient, interval: float, state: dict) -> None:
    """HEARTBEAT_REQ every ``interval``; three unanswered in a row end the session (reference §3.4).

    The cadence holds while the server does not answer: the wait for a HEARTBEAT_CONF is part of the
    interval (it was added to it, so unanswered heartbeats went out every 2 × interval and the third
    was given up 6 intervals in: 30 s at IdleTimeout 20, past the end of scenarios/heartbeat-loss.yaml)."""
    loop = asyncio.get_running_loop()
    missed = 0
    due = loop.time() + interval
    while missed < 3 and not cti.closed.is_set():
        await asyncio.sleep(max(0.0, due - loop.time()))
        due += interval
        if not state["heartbeat"]:
            continue
        try:
            await cti.request(HeartbeatReq(invoke_id=cti.next_invoke_id()), timeout=max(0.05, due - loop.time()))
            missed = 0
        except asyncio.TimeoutError:
            missed += 1
        except Exception:  # noqa: BLE001 - connection gone or refused (offline): reset
            return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bug", choices=BUGS)
    p.add_argument("--idle-timeout", type=int, default=20)
    p.add_argument("--agent", default="1001")
    p.add_argument("--extension", default="3001")
    p.add_argument("--bridge", action="store_true", help="open a bridge-mode session instead of the agent's")
    p.add_argument("--late", type=float, default=LATE, metavar="S",
                   help=f"crash-late-on-transfer: die S seconds after CALL_TRANSFERRED_EVENT (default {LATE:g})")
    p.add_argument("--every", type=int, default=3, metavar="N",
                   help="flaky-on-hold: die on every N-th CALL_HELD_EVENT (default 3)")
    p.add_argument("--count-file", metavar="FILE",
                   help="flaky-on-hold: keep the count of CALL_HELD_EVENTs in FILE, across runs (else per process)")
    args = p.parse_args(argv)
    host, port = os.environ.get("CTI_HOST", "127.0.0.1"), int(os.environ.get("CTI_PORT", "42027"))
    client = agent_client(bug=args.bug, agent=args.agent, extension=args.extension, idle_timeout=args.idle_timeout,
                          bridge=args.bridge, late=args.late, every=args.every, count_file=args.count_file)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await client(host, port, stop)

    try:
        asyncio.run(go())
    except RuntimeError as exc:
        print(f"fuzz_client: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
