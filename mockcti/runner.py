"""Running scenarios against a client under test (``mockcti run``, ``mockcti serve --scenario``).

Server layer (asyncio is allowed here): starts a :class:`~mockcti.server.MockServer` with a
:class:`~mockcti.scenario.engine.ScenarioEngine`, optionally starts the client under test as a
subprocess with ``CTI_HOST``/``CTI_PORT`` in its environment, waits until the scenario ends, the
client exits or the timeout passes, shuts the server down (the sessions closed from the server's
side) before it stops a client still running, then verifies the expectations and builds the report.

Exit codes of ``mockcti run`` (:data:`EXIT_CODES`): 0 every expectation met and no violation;
1 an expectation unmet, a violation recorded or an internal error of the mock; 2 a scenario file is invalid (or bad usage, or the
server could not listen: :class:`CannotListen`);
3 the client command could not start or exited non-zero.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ScenarioRun", "run_scenario", "EXIT_CODES", "scenario_server", "CannotListen"]

EXIT_CODES = {
    0: "every expectation met, no violation recorded",
    1: "an expectation unmet, a violation recorded or an internal error of the mock",
    2: "a scenario file is invalid, bad usage, or the server could not listen",
    3: "the client under test could not start or exited non-zero",
}


class CannotListen(OSError):
    """The scenario's server could not listen (a port in use, an address not of this host, a name
    that does not resolve): nothing was run, the client was not started."""

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass
class ScenarioRun:
    name: str
    path: str | None
    seed: int
    expectations: list[Any] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    end_reason: str = ""
    client_exit: int | None = None
    client_output: str = ""
    journal: Any = None
    #: the file of ``mockcti run --report DIR`` that holds this run's journal (JSON Lines); None when it could
    #: not be written (no file of that name is left: summary.json's "journal" is null)
    journal_file: str | None = ""
    #: the name the report gives this run (``mockcti run``): ``name``, "NAME (2nd load)" for the second run of
    #: a name (:func:`mockcti.hub.load_label`); empty: ``name``
    label: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.summary.get("passed"))

    @property
    def exit_code(self) -> int:
        if self.client_exit in (126, 127):  # the shell could not run the client: nothing else is meaningful
            return 3
        if not self.passed:
            return 1
        if self.client_exit not in (None, 0):
            return 3
        return 0


def scenario_server(scenario: Any, *, host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                    journal: Any = None, profile: Any = None,
                    retry_loop: tuple[int, float] | None = None) -> tuple[Any, Any]:
    """A MockServer (not started) serving ``scenario`` (a path or a loaded Scenario), and its engine.
    ``profile`` (a :class:`~mockcti.wire.dialect.Profile`) replaces the one the scenario's dialect
    names: ``mockcti run --message-id/--field-tag`` serve the scenario's profile renumbered.
    ``retry_loop`` (times, gap), ``mockcti run --retry-loop``, sets PROTO-RETRY-LOOP's count and gap
    (HubConfig.retry_loop_times / retry_loop_gap; times 0: off), over the scenario's ``retry_loop:``."""
    import dataclasses

    from mockcti.scenario.engine import ScenarioEngine
    from mockcti.scenario.loader import load_scenario
    from mockcti.server import MockServer, ServerConfig

    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    engine = ScenarioEngine(scenario, seed=seed)
    center = engine.build_center()
    hub_config = engine.hub_config(profile)
    if retry_loop is not None:
        hub_config = dataclasses.replace(hub_config, retry_loop_times=retry_loop[0], retry_loop_gap=retry_loop[1])
    server = MockServer(center, config=ServerConfig(host=host, port=port), hub_config=hub_config,
                        journal=journal, engine=engine)
    return server, engine


async def run_scenario(scenario: Any, *, client_cmd: str | None = None, timeout: float = 60.0,
                       host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                       announce: Any = None, on_started: Any = None, stop: Any = None,
                       profile: Any = None, retry_loop: tuple[int, float] | None = None,
                       label: str = "") -> ScenarioRun:
    """Serve one scenario until it ends, the client exits, ``timeout`` seconds pass or ``stop`` (an
    optional :class:`asyncio.Event`) is set (``mockcti run`` sets it on SIGINT/SIGTERM).

    ``on_started(server)`` (optional, may be a coroutine function) runs once the server listens;
    tests use it to drive a ``mockcti.client`` in-process instead of a subprocess. ``profile``
    replaces the profile of the scenario's dialect, ``retry_loop`` PROTO-RETRY-LOOP's count and gap (see
    :func:`scenario_server`). ``label``: the name the report gives this run (``mockcti run``: "NAME (2nd load)"
    for the second run of a name), which the "listening on" line names too; empty: the scenario's name.
    """
    from mockcti.report import build_summary
    from mockcti.server import host_port

    path = str(scenario) if isinstance(scenario, (str, Path)) else None
    server, engine = scenario_server(scenario, host=host, port=port, seed=seed, profile=profile,
                                     retry_loop=retry_loop)
    try:
        await server.start()
    except OSError as exc:  # (not the run's verdict: `mockcti run` exits 2, as `mockcti serve` does)
        raise CannotListen(exc.errno, f"cannot listen on {host_port(host, port)}: {exc.strerror or exc}") from exc
    name = engine.scenario.name
    if announce is not None:
        announce(f"scenario {label or name}: listening on {host_port(server.host, server.port)} "
                 f"(seed {engine.seed})")
    run = ScenarioRun(name=name, path=path, seed=engine.seed, journal=server.journal, label=label)
    proc = None
    driver = None
    reader = None
    output = bytearray()  # the client's stdout+stderr, read as it comes so a chatty client never blocks
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        if client_cmd:
            env = dict(os.environ, CTI_HOST=str(server.host), CTI_PORT=str(server.port), CTI_SCENARIO=name)
            try:
                # its own process group: at the end the shell *and* what it started are stopped (a
                # terminate() reached only /bin/sh; the client kept running, orphaned)
                proc = await asyncio.create_subprocess_shell(client_cmd, env=env, stdout=asyncio.subprocess.PIPE,
                                                             stderr=asyncio.subprocess.STDOUT,
                                                             start_new_session=os.name == "posix")
            except OSError as exc:
                run.client_exit = 127
                run.client_output = f"cannot start {client_cmd!r}: {exc}"
            else:
                reader = asyncio.ensure_future(_drain(proc.stdout, output))
        if on_started is not None:
            res = on_started(server)
            if asyncio.iscoroutine(res):
                driver = asyncio.ensure_future(res)
        while loop.time() < deadline and not engine.done:
            if stop is not None and stop.is_set():
                break
            if proc is not None and proc.returncode is not None:
                break
            if driver is not None and driver.done():
                break
            await asyncio.sleep(0.02)
        # let what is in flight arrive (bounded)
        await asyncio.sleep(0.05)
        if stop is not None and stop.is_set():
            run.end_reason = "interrupted"
        elif engine.done:
            run.end_reason = engine.end_reason or "ended"
        elif proc is not None and proc.returncode is not None:
            run.end_reason = f"client exited with status {proc.returncode}"
        elif driver is not None and driver.done():
            run.end_reason = "driver finished"
        else:
            run.end_reason = f"timeout after {timeout:g} s"
    finally:
        # The run is over: the server shuts down first (SYSTEM_EVENT SYS_CCX_OFFLINE, then it closes
        # every connection itself, as `mockcti serve` does on Ctrl-C), then the client still running is
        # stopped. The other way round, a client merely stopped at the end left "without CLOSE_REQ"
        # (PROTO-NO-CLOSE after the scenario ended) and failed the run. begin_stop() does not await:
        # the cancel and the SIGTERM below go out before the loop runs again, so the client is stopped
        # before it can see the shutdown (how it would react to one is not what this run tested).
        server.begin_stop()
        if driver is not None and not driver.done():
            driver.cancel()
        exited = proc is not None and proc.returncode is not None
        if proc is not None:
            signal_group(proc, signal.SIGTERM)  # the client and anything it left behind
        if driver is not None:
            try:
                await driver
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # noqa: BLE001 - the driver's failure is part of the result
                run.client_exit = 1
                run.client_output = f"{type(exc).__name__}: {exc}"
        if proc is not None:
            if not exited:
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except asyncio.TimeoutError:
                    signal_group(proc, kill_signal(), kill=True)
                    await proc.wait()
            else:
                signal_group(proc, kill_signal(), kill=True)
            run.client_exit = proc.returncode if run.end_reason.startswith("client exited") else (
                proc.returncode if proc.returncode and proc.returncode > 0 else 0)
            if reader is not None:
                try:
                    await asyncio.wait_for(reader, 5)
                except asyncio.TimeoutError:
                    reader.cancel()
            run.client_output = output.decode("utf-8", "replace")
        await server.stop()
    run.expectations = engine.verify(server.now())
    run.summary = build_summary(server.journal, expectations=run.expectations, seed=engine.seed,
                                extra={"scenario": name, "file": path, "end": run.end_reason,
                                       "client_exit": run.client_exit})
    return run


_MARKS = {"met": "ok  ", "unmet": "MISS", "skipped": "skip"}


def _print_expectations(expectations: Any, stream: Any = None) -> None:
    """One line per expectation; an unmet one also says where the scenario states it and the near miss."""
    from mockcti.hub import OLDER_SCENARIOS
    from mockcti.report import outcome

    stream = sys.stderr if stream is None else stream  # (at call time: mockcti.cli may have wrapped it)

    expectations = list(expectations)
    # those of several scenarios (serve --scenario, then others the control API loaded in turn, the same one
    # again among them): under a line naming each, else the same expectation of two scenarios read alike
    several = len({e.scenario for e in expectations}) > 1
    pad = "  " if several else ""
    scenario: object = None
    for e in expectations:
        if several and e.scenario != scenario:
            scenario = e.scenario
            print(f"  scenario {scenario!r}:" if scenario != OLDER_SCENARIOS else f"  {scenario}:", file=stream)
        result = outcome(e)
        print(f"{pad}  {_MARKS[result]} {e.name}: {e.detail}", file=stream)
        if result == "unmet" and e.where:
            print(f"{pad}       at {e.where}", file=stream)
        if result == "unmet" and e.near_miss:
            print(f"{pad}       near miss: {e.near_miss}", file=stream)


def kill_signal() -> int:
    """SIGKILL, or SIGTERM where the platform has no SIGKILL (Windows: :func:`signal_group` then kills the
    process, as ``Popen.kill`` does there; a reference to ``signal.SIGKILL`` was an AttributeError)."""
    return getattr(signal, "SIGKILL", signal.SIGTERM)


def signal_group(proc: Any, sig: int, *, kill: bool = False) -> None:
    """Send ``sig`` to the client's process group (POSIX: it was started in a session of its own), else
    (no ``os.killpg``: Windows) terminate the process, or kill it when ``kill``; a group or process already
    gone is fine. For ``mockcti run`` and ``mockcti fuzz`` (``proc``: an asyncio or a subprocess Popen)."""
    try:
        killpg = getattr(os, "killpg", None)
        if os.name == "posix" and killpg is not None:
            killpg(proc.pid, sig)
        elif (proc.returncode if isinstance(proc, asyncio.subprocess.Process) else proc.poll()) is None:
            proc.kill() if kill else proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


async def _drain(stream: Any, into: bytearray, keep: int = 64 * 1024) -> None:
    """Read a subprocess pipe to its end, keeping the last ``keep`` bytes."""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return
        into += chunk
        if len(into) > keep:
            del into[:-keep]


#: how many of the last lines of the client's output ``print_run`` shows for a run that failed
CLIENT_OUTPUT_LINES = 40


def print_run(run: ScenarioRun, stream: Any = None) -> None:
    """A short readable account of one run (for a run that failed, the end of the client's output)."""
    from mockcti.report import violation_refs

    stream = sys.stderr if stream is None else stream  # (at call time: mockcti.cli may have wrapped it)
    status = "PASS" if run.exit_code == 0 else "FAIL"
    print(f"{status} {run.label or run.name} (seed {run.seed}; {run.end_reason})", file=stream)
    _print_expectations(run.expectations, stream)
    # one line per distinct violation (all of its line but the journal entry): a client that loops made as many
    # identical lines as it looped (30 HEARTBEAT_REQs before OPEN_REQ, 30 lines), the rest of the run scrolled
    # away. The same ones are counted on one line with their first and last journal entries, in the order each
    # first came (the warnings below alike); summary.json and junit.xml keep every one
    found: list[tuple[str, Any]] = []
    for v in run.summary.get("violations", []):
        d = v.get("data", v)
        session = f" (session {d['session']})" if d.get("session") is not None else ""
        if d.get("code") is not None:  # an ACD rule's seed-000 code
            session += f" [code {d['code']} {d.get('code_name', '')}]"
        found.append((f"  VIOLATION {d.get('rule')}: {d.get('detail') or d.get('explanation', '')}{session}"
                      f"{violation_refs({'answer': d.get('answer')})}", d.get("seq")))
    for f in run.summary.get("faults", []):
        session = f" (session {f['session']})" if f.get("session") is not None else ""
        if f.get("fault") == "internal error":
            # an exception out of the mock's own core, contained by the server: it fails the run (its verdict cannot
            # be trusted), and the FAIL line stood with nothing under it to say why (the traceback was printed when
            # it happened, above, among the lines of the run)
            found.append((f"  INTERNAL ERROR in mockcti, the run fails ({f.get('where', '')}; please report it): "
                          f"{f.get('error', '')}{session}", f.get("seq")))
    for f in run.summary.get("faults", []):
        # the client was not tested as the scenario says, even when the run passes: an action of the scenario that
        # could not be carried out (a call the center refused, a target with no session …), or a message it (or
        # the center) built that cannot be encoded for the session's version — the run passed without a word,
        # while the client got a FAILURE_CONF in place of the scenario's reply, or no event at all
        if f.get("fault") == "scenario action failed":
            found.append((f"  WARNING the scenario's {f.get('action')} at {f.get('where')} was not carried out: "
                          f"{f.get('error')}", f.get("seq")))
        elif f.get("fault") == "cannot encode":
            message = str(f.get("message"))
            instead = ("FAILURE_CONF E_CTI_UNSPECIFIED_FAILURE went in its place" if message.endswith("_CONF")
                       else "it was not sent")
            session = f" for session {f['session']}" if f.get("session") is not None else ""
            why = str(f.get("error")).removeprefix(f"{message}: ")
            found.append((f"  WARNING the server could not encode its {message}{session}: {why}; {instead}",
                          f.get("seq")))
    for line in _collapsed(found, run.journal_file or None):
        print(line, file=stream)
    if run.client_exit not in (None, 0):
        print(f"  client exited with status {run.client_exit}", file=stream)
    if run.exit_code != 0 and run.client_output.strip():
        # what the client printed (its traceback, "not found" from the shell …) is kept for a failed run
        lines = run.client_output.rstrip("\n").splitlines()
        shown = lines[-CLIENT_OUTPUT_LINES:]
        more = f"last {len(shown)} of {len(lines)} lines" if len(shown) < len(lines) else f"{len(lines)} line(s)"
        print(f"  client output ({more}):", file=stream)
        for line in shown:
            print(f"  | {line}", file=stream)


def _collapsed(found: list[tuple[str, Any]], journal: str | None) -> list[str]:
    """``found`` (a line, the ``seq`` of its journal entry or None) as the lines to print: each distinct line once,
    in the order each first came, ending with its journal entry (`` [journal J seq N]``) or, for one that came more
    than once, ``, N times [journal J seq A first, seq B last]``."""
    seqs: dict[str, list[Any]] = {}
    for text, seq in found:
        seqs.setdefault(text, []).append(seq)
    name = f"journal {journal} " if journal else "journal "
    lines = []
    for text, same in seqs.items():
        if len(same) == 1:
            lines.append(text + (f" [{name}seq {same[0]}]" if same[0] is not None else ""))
        else:
            where = f" [{name}seq {same[0]} first, seq {same[-1]} last]" if same[0] is not None else ""
            lines.append(f"{text}, {len(same)} times{where}")
    return lines


# -- `mockcti serve --scenario FILE` -----------------------------------------------------------------


def add_serve_arguments(p: Any) -> None:
    from mockcti.commands import file_path

    p.add_argument("--scenario", metavar="FILE", type=file_path,
                   help="serve this scenario with no end (its center replaces --center, its dialect "
                        "--profile/--min-version/--max-version; --seed replaces its seed); its expectations "
                        "are checked and printed on shutdown")


class _ScenarioFeature:
    def __init__(self, path: str) -> None:
        self.path = path
        self.engine: Any = None

    def prepare(self, server: Any, args: Any) -> None:
        """Before the server listens: load the scenario (an invalid file stops ``serve`` with status 2
        and the errors, file:line: key path, as ``mockcti run`` reports them), serve its dialect when
        it has one (its profile and version range replace --profile/--min-version/--max-version, as
        ``mockcti run`` serves it; --strict, --max-body, --v18-length-width and --message-id still
        apply), its ``retry_loop:`` unless --retry-loop is given, and its center when it has one (else --center's,
        or the default, stays). ``--seed``
        overrides the scenario's seed, 0 included."""
        from mockcti.scenario.engine import ScenarioEngine
        from mockcti.scenario.loader import ScenarioError, load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            from mockcti.located import shown_errors

            # an error about the file itself (it cannot be read) names the option too, as --center's does: the
            # file's name alone did not say which of serve's options it came from
            whole = f"{self.path}: "
            for line in shown_errors(exc.errors):  # at most MAX_SHOWN_ERRORS, then "and N more errors"
                print(f"mockcti serve: {'--scenario ' if line.startswith(whole) else ''}{line}", file=sys.stderr)
            raise SystemExit(2) from None
        self.engine = ScenarioEngine(scenario, seed=getattr(args, "seed", None))
        hub = server.hub
        if scenario.dialect.given:  # else --profile / --min-version / --max-version stay
            hub.config = _with_profile(hub.config, self.engine.hub_config().session.profile)
        if scenario.center:  # else the --center (or default) center stays
            hub.center = self.engine.build_center()
        if getattr(args, "retry_loop", None) is None:  # --retry-loop wins over the scenario's retry_loop:
            from mockcti.scenario.engine import with_retry_loop

            hub.config = with_retry_loop(hub.config, scenario)

    async def start(self, server: Any, args: Any) -> None:
        if self.engine is None:  # not prepared (nothing has run since the server started listening)
            self.prepare(server, args)
        engine = self.engine
        server.call(lambda hub, now: hub.set_engine(engine, now))
        profile = server.hub.config.session.profile
        if getattr(args, "quiet", False):  # (serve --quiet: errors only)
            return
        print(f"mockcti: serving scenario {engine.scenario.name!r} (seed {engine.seed}; profile {profile.name}, "
              f"versions {profile.min_version}-{profile.max_version})", file=sys.stderr, flush=True)

    async def stop(self, server: Any, args: Any) -> None:
        if self.engine is None:
            return
        # F's expectations, and those of the scenarios the control API loaded in its place in turn (F's as it
        # stood when it was replaced: verified here, a replaced F was judged as if it had run to the shutdown)
        self.results = server.hub.expectations(server.now())
        if not getattr(args, "quiet", False):  # (serve --quiet: errors only, the exit status is the verdict)
            _print_expectations(self.results, sys.stderr)

    async def cancel(self, server: Any, args: Any) -> None:
        """serve could not start after all (exit 2): the expectations of a scenario never served are not printed
        (stop() listed every one of them missed, after the error line)."""

    def exit_status(self, server: Any, args: Any, status: int) -> int:
        from mockcti.report import outcome

        if getattr(args, "strict", False) and any(outcome(e) == "unmet" for e in getattr(self, "results", [])):
            return status or 1
        return status


def _with_profile(hub_config: Any, profile: Any) -> Any:
    """``hub_config`` serving ``profile`` (a scenario's dialect) instead of its own, keeping its other
    session settings, the wire numbers its profile was given (``--message-id``) and its field tags
    (``--field-tag``)."""
    import dataclasses

    from mockcti.wire.dialect import PROFILES

    current = hub_config.session.profile
    stock = PROFILES.get(current.name)
    if stock is not None:
        moved = {mt: wid for wid, mt in current.by_wire_id.items() if stock.by_wire_id.get(wid) is not mt}
        if moved:
            profile = profile.with_type_ids(moved)
    if current.field_tags:
        profile = profile.with_field_tags({f"{mt.name}.{name}": tag for mt, name, tag in current.field_tags})
    return dataclasses.replace(hub_config, session=dataclasses.replace(hub_config.session, profile=profile))


def serve_feature(args: Any) -> _ScenarioFeature | None:
    return _ScenarioFeature(args.scenario) if getattr(args, "scenario", None) else None
