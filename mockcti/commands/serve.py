"""``mockcti serve``: run the mock server until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from mockcti.commands import (FIELD_TAG_HELP, MESSAGE_ID_HELP, RETRY_LOOP_HELP, file_path, host_address, renumbered,
                              retry_loop, retry_loop_config)

HELP = "run the mock CTI server (default: 127.0.0.1:42027 with the embedded default contact center)"

#: the exit status is a verdict: a closed stdout/stderr (| head) silences it, the command runs on (mockcti.cli)
VERDICT = True

#: most inbound calls a minute --calls-per-minute takes (1,000 a second: far beyond any CCX)
MAX_CALLS_PER_MINUTE = 60_000.0
#: fewest (but 0: off): a call every 1,000 minutes on average (a rate of 5e-324 drew its first arrival with a
#: division by zero, a traceback)
MIN_CALLS_PER_MINUTE = 0.001
#: longest --abandon-after (a day)
MAX_ABANDON_AFTER = 86_400.0
#: what --help says the hub's default is (mockcti.hub.DEFAULT_ABANDON_AFTER, not imported here: --help stays fast)
DEFAULT_ABANDON_AFTER = 120.0
#: the same for mockcti.hub.DEFAULT_KEEP_SCENARIOS (--keep-scenarios)
DEFAULT_KEEP_SCENARIOS = 1000


def port_number(text: str) -> int:
    """argparse type of a TCP port: 0 (any free port) .. 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port number (0-65535)")
    return port


EPILOG = """exit codes (after Ctrl-C or SIGTERM, which shut the server down cleanly, or once the calls of
--load ...,limit=L are all over, which ends serve the same way unless at_limit=serve):
  0  the server ran and stopped (whatever clients did, unless --strict says otherwise)
  1  --strict: a violation or an internal error of the mock was recorded, or a --scenario
     expectation is unmet; or --load ...,limit=L ended serve and the center refused some of the
     load generator's own requests (errors in the load summary)
  2  bad usage or the server could not start (a port in use, a --center/--scenario file that
     does not load, a --report path that is a file ...), before the "listening" line; or a
     --report file could not be written"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    g = p.add_argument_group("listening")
    g.add_argument("--host", default="127.0.0.1", type=host_address, help="address to bind (default 127.0.0.1; loopback only unless told)")
    g.add_argument("--port", type=port_number, default=42027, help="TCP port (default 42027; 0 = any free port)")
    g.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                   help="event loop: uvloop (the 'speed' extra) or the standard asyncio loop; auto (default) "
                        "takes uvloop when it is installed")
    g = p.add_argument_group("protocol")
    g.add_argument("--profile", choices=["uccx", "ucce"], default="uccx",
                   help="protocol profile: uccx (versions 10-18) or ucce (9-24)")
    g.add_argument("--min-version", type=int, help="lowest protocol version accepted (default: the profile's)")
    g.add_argument("--max-version", type=int, help="highest protocol version accepted (default: the profile's)")
    g.add_argument("--v18-length-width", type=int, choices=[1, 2], default=2,
                   help="floating length width at UCCX version 18 (unconfirmed in the guide; default 2)")
    g.add_argument("--message-id", action="append", default=[], metavar="NAME=N", help=MESSAGE_ID_HELP)
    g.add_argument("--field-tag", action="append", default=[], metavar="MESSAGE.Field=TAG", help=FIELD_TAG_HELP)
    g.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                   help="largest message body accepted (reference §2.4, U: default 12492); a bigger one "
                        "is answered FAILURE_CONF and its connection closed")
    g.add_argument("--strict", action="store_true",
                   help="strict protocol: reject wrong reserved fields and IdleTimeout >= 120; "
                        "and exit non-zero when any violation (or internal error of the mock) was recorded")
    g.add_argument("--retry-loop", type=retry_loop, default=None, metavar="TIMES[,GAP]|off",
                   help=RETRY_LOOP_HELP + "; it wins over the retry_loop: of a --scenario or of one the control API "
                                          "loads")
    g.add_argument("--standby", action="store_true",
                   help="act as an HA standby node: answer every OPEN_REQ with E_CTI_SERVER_NOT_MASTER")
    g = p.add_argument_group("contact center")
    g.add_argument("--center", metavar="FILE", type=file_path, help="TOML or YAML file describing agents and CSQs")
    g.add_argument("--calls-per-minute", type=float, default=0.0, metavar="N",
                   help=f"generate inbound calls, N a minute on average (Poisson arrivals drawn from --seed, each to "
                        f"a CSQ of the center picked at random; default 0: off; at least {MIN_CALLS_PER_MINUTE:g}, "
                        f"at most {MAX_CALLS_PER_MINUTE:,.0f}); a statistics line on stderr every second and a "
                        f"summary at the end, as --load's (neither with --quiet; with --json also on stdout, kind "
                        f"calls_per_minute and calls_per_minute_summary)")
    g.add_argument("--abandon-after", type=float, default=None, metavar="SECONDS",
                   help="with --calls-per-minute: a caller no agent has answered this many seconds after arriving "
                        f"hangs up, in the queue or while ringing (default {DEFAULT_ABANDON_AFTER:g}; at most "
                        f"{MAX_ABANDON_AFTER:,.0f})")
    g.add_argument("--patience", choices=["fixed", "exponential"], default=None,
                   help="with --calls-per-minute: how long each caller waits: fixed (default: every caller "
                        "--abandon-after seconds) or exponential (spread exponentially around a mean of "
                        "--abandon-after seconds, the same spread every run, as --load's patience=exponential)")
    g.add_argument("--seed", type=int, default=None,
                   help="seed for generated calls (default 0); with --scenario, replaces the scenario's seed")
    g = p.add_argument_group("output")
    out = g.add_mutually_exclusive_group()
    from mockcti.commands import QUIET_HELP

    out.add_argument("--quiet", "-q", action="store_true",
                     help=QUIET_HELP.format(what=" (and the addresses to connect to: the listening line, the control "
                                                 "API's); no trace",
                                            json=" (with --strict)"))
    out.add_argument("--verbose", "-v", action="store_true", help="also print reserved fields (as --log-level debug)")
    out.add_argument("--json", action="store_true", help="machine-readable trace: one JSON object per line (with --load, its statistics too: "
                          "kind load each second, load_summary at the end; with --calls-per-minute, "
                          "calls_per_minute and calls_per_minute_summary)")
    g.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="level of the trace (debug = every field; info = messages; warning = violations, faults "
                        "and happenings, but not the per-call ones of --calls-per-minute and --load; error = "
                        "violations and faults only)")
    g.add_argument("--keep-scenarios", type=int, default=DEFAULT_KEEP_SCENARIOS, metavar="N",
                   help="the scenarios taken out (replaced or unloaded through the control API) whose expectation "
                        f"outcomes the report keeps one by one (default {DEFAULT_KEEP_SCENARIOS}); older ones are "
                        "folded into one outcome counting them, which fails when one of them failed")
    _add_optional_features(p)


def _add_optional_features(p: argparse.ArgumentParser) -> None:
    """Options of features built in other modules (report, scenario, control API, load)."""
    import importlib

    for mod in ("mockcti.report", "mockcti.runner", "mockcti.control", "mockcti.load"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        hook = getattr(m, "add_serve_arguments", None)
        if hook is not None:
            hook(p)


class Trace:
    """Prints journal entries as they happen: a readable line per message, or JSON lines.

    The server's event loop never waits for the terminal: lines go through a bounded queue to a
    writer thread. A reader that does not keep up loses lines (counted, said once on stderr), a
    reader that went away (a closed pipe: ``mockcti serve | head -1``) ends the trace; the server
    goes on serving either way (a blocked stdout used to freeze it, a closed one broke every new
    connection).

    ``held=True`` queues lines without writing them until :meth:`release` (or :meth:`close`): ``mockcti
    serve`` holds its trace until it has printed the "listening" line, which a harness reads as the first
    line (what was journalled while the server started — a ``--scenario``'s "scenario started" happening —
    was written before it, or after it, as the writer thread happened to run)."""

    def __init__(self, stream, *, json_lines: bool, verbose: bool, level: str, max_lines: int = 10_000,
                 held: bool = False) -> None:
        import queue
        import threading

        self.stream = stream
        self.json_lines = json_lines
        self.verbose = verbose
        self.level = level
        #: read by the journal: at warning and error no message is printed (text or JSON), so none is rendered
        self.wants_messages = level not in ("warning", "error")
        #: read by the journal: the text trace shows a message from the decoded message (``Entry.raw``), no
        #: dict is rendered for it; at info a ``records`` group (a configuration download's CONFIG_* messages)
        #: is summarised, its count and first ids, at debug (or --verbose) printed in full. --json writes
        #: Entry.to_json(), which renders the message's JSON text once per message (journal.message_json)
        self.renders_messages = True
        self._all_fields = verbose or level == "debug"
        #: entry kinds this level leaves out: warning the messages and connections, error all but what
        #: fails a run (violations, faults)
        self._hidden = frozenset() if self.wants_messages else frozenset(_LOW_KINDS[level])
        #: happenings this level leaves out (``what``): at warning a call generator's per-call ones
        self._traffic = frozenset() if self.wants_messages else _call_traffic()
        self.dropped = 0
        self.broken: str | None = None  # why the trace stopped (the stream failed)
        self._lines: queue.Queue[str | None] = queue.Queue(max_lines)
        self._released = threading.Event()
        if not held:
            self._released.set()
        self._writer = threading.Thread(target=self._write_lines, name="mockcti-trace", daemon=True)
        self._writer.start()

    def release(self) -> None:
        """Start writing the lines (those held so far first)."""
        self._released.set()

    def _write_lines(self) -> None:
        import queue

        self._released.wait()
        while True:
            line = self._lines.get()
            if line is None:
                return
            batch = [line]
            try:
                while len(batch) < 512:
                    more = self._lines.get_nowait()
                    if more is None:
                        self._lines.put(None)
                        break
                    batch.append(more)
            except queue.Empty:
                pass
            try:
                self.stream.write("".join(batch))
                self.stream.flush()
                if getattr(self.stream, "closed_by_reader", False):  # mockcti.cli's stdout: its reader went away
                    raise BrokenPipeError(32, "Broken pipe")
            except (OSError, ValueError) as exc:  # a closed pipe or stream: the trace ends, the server goes on
                self.broken = f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    print(f"mockcti serve: the trace stopped ({self.broken}); the server goes on", file=sys.stderr)
                return

    def close(self, timeout: float = 2.0, *, drop_held: bool = False) -> None:
        """Write what is queued (for at most ``timeout`` seconds) and stop the writer; ``drop_held``: what is
        still held (never :meth:`release`d) is dropped, not written."""
        import queue

        if drop_held and not self._released.is_set():
            with contextlib.suppress(queue.Empty):
                for _ in range(self._lines.maxsize or 1_000_000):
                    self._lines.get_nowait()
        self._released.set()
        with contextlib.suppress(Exception):
            self._lines.put(None, timeout=timeout)
        self._writer.join(timeout)
        if self.dropped:
            print(f"mockcti serve: {self.dropped} trace line(s) dropped (the output was not read fast enough)",
                  file=sys.stderr)

    def line(self, text: str) -> None:
        """Write ``text`` (one line, no newline) in turn with the entries, whatever the level: what a feature
        writes on stdout (``serve --json``: --load's statistics as JSON objects)."""
        self._emit(text + "\n")

    def _emit(self, line: str) -> None:
        if self.broken is not None:
            return
        try:
            self._lines.put_nowait(line)
        except Exception:  # full: the reader is behind; the server must not wait for it
            self.dropped += 1

    def __call__(self, entry) -> None:
        if self.broken is not None:
            return
        if entry.kind in self._hidden:
            return
        if entry.kind == "happening" and self._traffic and entry.data.get("what") in self._traffic:
            return
        if self.json_lines:
            self._emit(entry.to_json() + "\n")
            return
        d = entry.data
        if entry.kind in ("in", "out"):
            full = self._all_fields
            arrow = "<-" if entry.kind == "in" else "->"
            if entry.raw is not None:  # the message's text, made once per message (trace_text)
                text = trace_text(entry.raw, icm=entry.icm, full=full)
            else:  # an entry recorded with its rendered message only
                m = d["message"]
                names = m.get("names", {})
                defaults = {} if full else _reserved_defaults(m["type"])
                fields = " ".join(f"{k}={names.get(k) or _short(v, m['type'], entry.icm)}"
                                  for k, v in m["fields"].items()
                                  if full or not (_is_default(k, v) or (k in defaults and v == defaults[k])))
                text = f"{m['type']} {fields}"
            line = f"{entry.t:9.3f} s{entry.session:<4} {arrow} {text}"
        elif entry.kind == "violation":
            from mockcti.journal import violation_text  # (loaded with the journal: a lookup)

            line = f"{entry.t:9.3f} s{entry.session or '-':<4} !! {violation_text(d)}"
        elif entry.kind in ("fault", "happening", "scenario", "rejected", "note"):
            from mockcti.journal import data_text  # (loaded with the journal: a lookup)

            rest = data_text(d)  # a key with no value left out
            line = f"{entry.t:9.3f} s{entry.session or '-':<4} ** {entry.kind} {rest}"
        elif entry.kind in ("connect", "close"):
            from mockcti.journal import data_text  # (loaded with the journal: a lookup)

            rest = data_text(d)  # a key with no value left out (a peer whose address was gone: peer=None)
            line = f"{entry.t:9.3f} s{entry.session:<4} -- {entry.kind}{' ' if rest else ''}{rest}"
        else:
            line = f"{entry.t:9.3f} {entry.kind} {d}"
        self._emit(line + "\n")


def trace_text(msg, *, icm: bool, full: bool) -> str:
    """A decoded message as the text trace prints it after the arrow: its type's name and its fields (``full``: every
    record of a ``records`` group and the reserved fields, as at debug or with --verbose; otherwise a summary of the
    records, and no field that carries the value UCCX sends). Remembered on the message (its ``_trace`` slot, for
    each profile and level), as its JSON text is (journal.message_json): a message is immutable, so its text stays
    right for as long as it lives. A configuration download's ~1,000 CONFIG_* messages (5,000 agents) go to every
    bridge — the center hands each the same ones — and are summarised once for all of them."""
    from mockcti.wire.spec import remembered_text  # (imported when a message is first traced: --help stays fast)

    def text() -> str:
        fields = " ".join(f"{k}={v}" for k, v in trace_fields(msg, icm=icm, records=full, reserved=full)
                          if full or not _is_default(k, v))
        return f"{msg.TYPE.name} {fields}"

    return remembered_text(msg, "_trace", (2 if icm else 0) + (1 if full else 0), 4, text)


def trace_fields(msg, *, icm: bool, records: bool, reserved: bool) -> list[tuple[str, str]]:
    from mockcti.wire.render import trace_fields as fields  # (imported when a message is traced: --help stays fast)

    return fields(msg, icm=icm, records=records, reserved=reserved)


def _reserved_defaults(type_name: str) -> dict:
    """The reserved fields of the message type named ``type_name`` and the value UCCX sends in each (none for
    a name that is no message type)."""
    from mockcti.wire.enums import MessageType
    from mockcti.wire.render import reserved_defaults

    mt = MessageType.__members__.get(type_name)
    return {} if mt is None else reserved_defaults(mt)


def _call_traffic() -> frozenset[str]:
    from mockcti.journal import CALL_TRAFFIC  # (imported when a trace is made: --help stays fast)

    return CALL_TRAFFIC


#: what --log-level warning / error leave out of the trace (warning: a call generator's per-call
#: happenings too, mockcti.journal.CALL_TRAFFIC)
_LOW_KINDS = {"warning": ("in", "out", "connect", "close"),
              "error": ("in", "out", "connect", "close", "happening", "scenario", "rejected", "note")}

_DEFAULT_RESERVED = {"peripheral_id", "monitor_id", "peripheral_type", "session_id", "mrd_id", "num_tasks",
                     "agent_mode", "max_task_limit", "icm_agent_id", "agent_availability_status", "skill_group_id",
                     "skill_group_priority", "line_handle", "service_id", "reserved1", "reserved2", "reserved3"}


def _is_default(key: str, value) -> bool:
    return key in _DEFAULT_RESERVED


def _short(v, message_type: str, icm: bool) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list) and v and isinstance(v[0], dict):  # a group's records: each shown as the fields are
        return group_text(message_type, v, icm=icm)
    return str(v)


def group_text(message_type: str, records: list, *, icm: bool) -> str:
    from mockcti.wire.enums import MessageType
    from mockcti.wire.render import group_text as text  # (imported when a message is traced: --help stays fast)

    return text(MessageType.__members__.get(message_type), records, icm=icm)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses

    from mockcti.center import CenterConfigError, ContactCenter, default_center, load_center_file
    from mockcti.hub import HubConfig
    from mockcti.journal import Journal
    from mockcti.server import MockServer, ServerConfig, host_port
    from mockcti.session import SessionConfig
    from mockcti.wire.dialect import PROFILES

    try:
        loop_name, loop_factory = event_loop(args.loop)
    except ImportError as exc:
        print(f"mockcti serve: --loop uvloop: {exc} (install the 'speed' extra: pip install 'mockcti[speed]')",
              file=sys.stderr)
        return 2
    profile = PROFILES[args.profile]
    if args.min_version is not None or args.max_version is not None:
        lo = profile.min_version if args.min_version is None else args.min_version
        hi = profile.max_version if args.max_version is None else args.max_version
        if not profile.min_version <= lo <= hi <= profile.max_version:
            print(f"mockcti serve: --min-version {lo} / --max-version {hi}: the {profile.name} profile speaks "
                  f"versions {profile.min_version}-{profile.max_version}, and min must not exceed max",
                  file=sys.stderr)
            return 2
        profile = dataclasses.replace(profile, min_version=lo, max_version=hi)
    profile = renumbered("serve", profile, args)
    if profile is None:
        return 2
    if args.max_body is not None and not 8 <= args.max_body <= 0xFFFFFFFF:
        print(f"mockcti serve: --max-body {args.max_body}: expected 8 .. {0xFFFFFFFF} bytes", file=sys.stderr)
        return 2
    if args.keep_scenarios < 0:
        print(f"mockcti serve: --keep-scenarios {args.keep_scenarios}: expected 0 or more scenarios", file=sys.stderr)
        return 2
    if not (0 <= args.calls_per_minute <= MAX_CALLS_PER_MINUTE):  # (nan compares false)
        print(f"mockcti serve: --calls-per-minute {args.calls_per_minute}: expected 0 .. "
              f"{MAX_CALLS_PER_MINUTE:,.0f}", file=sys.stderr)
        return 2
    if 0 < args.calls_per_minute < MIN_CALLS_PER_MINUTE:
        print(f"mockcti serve: --calls-per-minute {args.calls_per_minute:g}: expected 0 (off) or at least "
              f"{MIN_CALLS_PER_MINUTE:g} (a call every {1 / MIN_CALLS_PER_MINUTE:,.0f} minutes on average)",
              file=sys.stderr)
        return 2
    if args.abandon_after is not None and not (0 < args.abandon_after <= MAX_ABANDON_AFTER):
        print(f"mockcti serve: --abandon-after {args.abandon_after}: expected seconds > 0 and at most "
              f"{MAX_ABANDON_AFTER:,.0f}", file=sys.stderr)
        return 2
    if args.abandon_after is not None and not args.calls_per_minute > 0:  # it did nothing, silently
        print(f"mockcti serve: --abandon-after {args.abandon_after:g}: it is the patience of the --calls-per-minute "
              f"callers, and no --calls-per-minute is given (--load takes abandon_after= in its SPEC)",
              file=sys.stderr)
        return 2
    if args.patience is not None and not args.calls_per_minute > 0:
        print(f"mockcti serve: --patience {args.patience}: it is the patience of the --calls-per-minute callers, "
              f"and no --calls-per-minute is given (--load takes patience= in its SPEC)", file=sys.stderr)
        return 2
    try:
        center_config = load_center_file(args.center) if args.center else default_center()
    except CenterConfigError as exc:  # a broken config file: report every mistake precisely and stop
        from mockcti.commands import print_error

        # an error about the file itself (it cannot be read) names the option too: "--center c.toml: cannot read:
        # ...", where the file's name alone did not say which of serve's options it came from (a mistake in the
        # file names its line and key: "c.toml:3: agents[0]: ...")
        print_error("serve", "\n".join(f"--center {line}" if exc.file and line.startswith(f"{exc.file}: ") else line
                                        for line in str(exc).splitlines()))
        return 2
    journal = Journal(keep=False)
    trace = None
    if not args.quiet:
        # held until the "listening" line is out: it is the first line, whatever was journalled while starting
        trace = Trace(sys.stdout, json_lines=args.json, verbose=args.verbose, level=args.log_level, held=True)
        journal.add_sink(trace)
    #: for the features: writes one line on stdout, in turn with the --json trace (None: no --json)
    args.json_out = trace.line if trace is not None and args.json else None
    session_kw = {"max_body": args.max_body} if args.max_body is not None else {}
    hub_config = HubConfig(session=SessionConfig(profile=profile, v18_length_width=args.v18_length_width,
                                                 strict=args.strict, **session_kw),
                           keep_scenarios=args.keep_scenarios, **retry_loop_config(args.retry_loop))
    center = ContactCenter(center_config, seed=args.seed or 0)
    server = MockServer(center, config=ServerConfig(host=args.host, port=args.port), hub_config=hub_config,
                        journal=journal)
    server.hub.standby = args.standby
    features = _features(args)
    for f in features:  # before the server listens: what a feature changes applies to every connection
        prepare = getattr(f, "prepare", None)
        if prepare is not None:
            prepare(server, args)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None  # (main() runs as asyncio.run's task)
        serving = False  # serve_forever() is awaited: a SIGTERM or Ctrl-C cancels it
        ending = False  # the shutdown has begun
        terminated = False  # a SIGTERM or Ctrl-C came

        def on_signal() -> None:
            # only serving is cancelled: a signal while the server starts (it cancelled the start:
            # a traceback, exit status 1, the socket left open) lets the start finish, and the server
            # then shuts down at once; a second signal while the clients are told and drained
            # (bounded by the shutdown grace) does not cut that short (it cancelled the shutdown
            # itself: a traceback, exit status 1 and no report summary)
            nonlocal terminated
            terminated = True
            if serving and not ending:
                me.cancel()

        # SIGTERM (CI runners, containers) shuts down as cleanly as Ctrl-C. Ctrl-C was left to asyncio's
        # runner, which cancelled whatever main() awaited: a Ctrl-C while starting ended serve with status 0
        # and no report at all, a second one while shutting down (an impatient user) raised KeyboardInterrupt
        # in it: the clients not all told, the report without summary.json and junit.xml, exit status 0 all
        # the same. Ctrl-C is handled here too, when it is not ignored (a background `serve &` in a shell
        # ignores it, and still does). One that came since the handlers were installed (before the loop ran:
        # it ended serve with status 0, nothing started, no report) is taken now
        interrupts.attach(loop, lambda signum: on_signal())
        async def not_started(started: list) -> None:
            # the server could not start (exit 2, one line on stderr): what the features started is undone without
            # what they make at the end of a run (their stop() wrote a "PASSED" --report for a server that never
            # served, and printed it, a --scenario's expectations all missed, on stderr after the error line)
            for f in reversed(started):
                cancel = getattr(f, "cancel", None)
                await (cancel if cancel is not None else f.stop)(server, args)
            await server.stop()

        try:
            await server.start()
        except OSError as exc:  # port in use, an address not of this host, a name that does not resolve
            print(f"mockcti serve: cannot listen on {host_port(args.host, args.port)}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
        started: list = []
        try:
            for f in features:
                await f.start(server, args)
                started.append(f)
        except OSError as exc:  # a feature's port or directory (--control-port, --report): its strerror names it
            print(f"mockcti serve: {exc.strerror or exc}", file=sys.stderr)
            await not_started(started)
            return 2
        if args.calls_per_minute > 0:
            if not server.center.config.csqs:
                print("mockcti serve: --calls-per-minute: the contact center has no CSQ to send calls to",
                      file=sys.stderr)
                await not_started(started)
                return 2
            from mockcti.load import InboundStatistics, unserved_csqs

            csqs = server.center.config.csqs
            empty = unserved_csqs(server.center.config)
            if empty:  # (said at start, as --load says it: the line's queued and abandoned just grew)
                wait = DEFAULT_ABANDON_AFTER if args.abandon_after is None else args.abandon_after
                print(f"mockcti serve: warning: no agent is in {'CSQ' if len(empty) == 1 else 'CSQs'} "
                      f"{', '.join(empty)}: the --calls-per-minute calls sent there (each call to one of the "
                      f"{len(csqs)} CSQs, picked at random) are never answered, their callers abandon after "
                      f"{wait:g} s{' on average' if args.patience == 'exponential' else ''} (--abandon-after)",
                      file=sys.stderr, flush=True)
            patience: dict[str, Any] = {} if args.abandon_after is None else {"abandon_after": args.abandon_after}
            if args.patience is not None:
                patience["patience"] = args.patience
            calls = server.call(lambda hub, now: hub.start_inbound_calls(now, args.calls_per_minute,
                                                                         seed=args.seed or 0, **patience))

            # its statistics line and summary, as --load's: a feature from now on (halted and stopped with the others)
            inbound = InboundStatistics(calls)
            inbound.start_showing(server, args)
            for f in features:  # (--load: its limit= ends serve, and the line that says so counts these callers)
                beside = getattr(f, "beside", None)
                if beside is not None:
                    beside(calls)
            features.append(inbound)
        served = server.hub.config.session.profile  # a --scenario's dialect, if it has one
        for f in features:  # nothing can stop the start now: what a feature keeps from a failed start is done
            serving_hook = getattr(f, "serving", None)
            if serving_hook is not None:
                serving_hook(server, args)
        extra: dict = {}  # what a feature adds to the --json listening line (the control API's URL)
        for f in features:
            listening = getattr(f, "listening", None)
            if listening is not None:
                extra.update(listening(server, args))
        print(listening_line(server.host, server.port, served, len(server.center.config.agents), loop_name,
                             json_lines=args.json, extra=extra), flush=True)
        if trace is not None:
            trace.release()
        try:
            serving = True
            if not terminated:  # (no await between the flag and this test: a handler cannot run between)
                await _serve_until_ended(server, [e for e in (getattr(f, "ended", lambda s, a: None)(server, args)
                                                              for f in features) if e is not None])
        except asyncio.CancelledError:
            pass
        finally:
            ending = True
            # what makes traffic of its own stops at once (the load generator offers no more calls
            # while the clients drain, and its duration ends here)
            for f in reversed(features):
                halt = getattr(f, "halt", None)
                if halt is not None:
                    halt(server, args)
            # what takes changes from outside (the control API) stops taking them before the server stops:
            # a request being applied finishes, one not begun is answered 503. It took them on while the
            # server shut down: a POST /calls answered 200 for sessions already told and closed, a POST
            # /reset could clear the journal after the shutdown entries, before the report was written
            for f in reversed(features):
                stop_changes = getattr(f, "stop_changes", None)
                if stop_changes is not None:
                    await stop_changes(server, args)
            # then the server: every client told (SYSTEM_EVENT) and closed, all of it in the journal
            # before the features finish (the report is written from it, the scenario verified)
            await server.stop()
            for f in reversed(features):
                await f.stop(server, args)
        return 0

    import signal

    from mockcti.commands import Interrupts

    # Ctrl-C raises KeyboardInterrupt (not ignored: handled as SIGTERM is, from here until serve returns)
    ctrl_c = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # from before the loop runs until serve returns, a signal raises nothing: main() shuts down on it, and once the
    # loop has ended (asyncio then put SIGTERM back to its default action: a second SIGTERM killed serve as it
    # finished) it changes nothing
    interrupts = Interrupts((signal.SIGTERM, signal.SIGINT) if ctrl_c else (signal.SIGTERM,)).install()
    try:
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:  # asyncio.run() with a chosen loop
                status = runner.run(main())
        except KeyboardInterrupt:  # (no handler could be installed: not the main thread)
            status = 0
        if trace is not None:  # could not start: what was held for after the "listening" line is not written (it was,
            # on stdout, where a harness waiting for that line read it as the first line of a server about to die)
            trace.close(drop_held=status == 2)
        if status == 2:  # could not start: nothing was served
            return status
        for f in features:
            status = f.exit_status(server, args, status)
        if args.strict and server.journal.counts.get("violation", 0):
            print(f"mockcti serve: {server.journal.counts['violation']} violation(s) recorded (--strict)",
                  file=sys.stderr)
            status = status or 1
        if args.strict and server.internal_errors:
            print(f"mockcti serve: {server.internal_errors} internal error(s) of the mock (--strict)", file=sys.stderr)
            status = status or 1
        return status
    finally:
        interrupts.restore()
        if ctrl_c and signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            # (uvloop leaves its closed loop's handler: a Ctrl-C after serve, in a process that goes on, did nothing)
            signal.signal(signal.SIGINT, signal.default_int_handler)


async def _serve_until_ended(server: Any, ends: list) -> None:
    """Serve until cancelled (Ctrl-C, SIGTERM), the server stops, or one of ``ends`` (what features' ``ended``
    hooks gave: --load's limit=L) is done; then the others are cancelled."""
    import asyncio

    if not ends:
        await server.serve_forever()
        return
    tasks = [asyncio.ensure_future(server.serve_forever()), *(asyncio.ensure_future(e) for e in ends)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def listening_line(host: str, port: int, profile: Any, agents: int, loop_name: str, *, json_lines: bool,
                   extra: dict | None = None) -> str:
    """The first line ``serve`` prints on stdout, once it listens: ``mockcti listening on HOST:PORT (...)``;
    with ``--json`` a JSON object as every other line of stdout is (``"kind": "listening"``, the address
    and what is served, and ``extra``: what the features add, ``control_url``), so a script reading stdout
    as JSON lines can read the ports from it (the plain line broke ``json.loads`` on the first line)."""
    if json_lines:
        from mockcti.journal import json_text

        return json_text({"kind": "listening", "host": host, "port": port, "profile": profile.name,
                          "min_version": profile.min_version, "max_version": profile.max_version,
                          "agents": agents, "loop": loop_name, **(extra or {})})
    from mockcti.located import counted
    from mockcti.server import host_port  # (loaded by then: serve runs a MockServer)

    return (f"mockcti listening on {host_port(host, port)} (profile {profile.name}, versions {profile.min_version}-"
            f"{profile.max_version}, {counted(agents, 'agent')}, {loop_name} loop)")


def event_loop(choice: str) -> tuple[str, Any]:
    """The event loop ``--loop`` names: (name, loop factory for asyncio.Runner; None = asyncio's
    own). ``auto`` takes uvloop when it can be imported; ``uvloop`` raises ImportError without it."""
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def _features(args: argparse.Namespace) -> list:
    """Objects with start/stop/exit_status hooks contributed by optional modules, and optionally
    ``prepare(server, args)``: called before the event loop runs and the server listens (to replace
    the center, say: once a client is connected, or the control API has recorded the center that
    POST /reset rebuilds, that is too late; SystemExit(2) stops ``serve`` as a usage error);
    ``start`` runs once it listens, in the order below; optionally ``ended(server, args)``, as serving begins: None, or
    an awaitable done when the feature ends the run by itself (``--load ...,limit=L``: its calls are all over), which
    then ends as on SIGTERM (should the server not start after all, optionally
    ``cancel(server, args)``, awaited, undoes a start without what ``stop`` makes at the end of a run, else ``stop``); optionally ``listening(server, args)``, once every
    feature has started: a dict of keys for the ``--json`` listening line; optionally ``serving(server, args)`` (no
    await), once nothing can stop the start any more, before the listening line (the report empties the journal.jsonl
    of the run before only then: a start that failed left it as it was); optionally ``halt(server, args)`` (no await)
    when the run ends, then optionally ``stop_changes(server, args)`` (awaited: a feature that takes changes from
    outside, the control API, stops taking them), both before the server's shutdown, and ``stop`` after it."""
    import importlib

    out = []
    for mod in ("mockcti.report", "mockcti.runner", "mockcti.control", "mockcti.load"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        make = getattr(m, "serve_feature", None)
        if make is not None:
            f = make(args)
            if f is not None:
                out.append(f)
    return out
