"""``mockcti fuzz --client-cmd CMD``: drive a live client with generated events and malformed frames."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from typing import Any

from mockcti.commands import FIELD_TAG_HELP, MESSAGE_ID_HELP, QUIET_HELP, file_path, host_address, renumbered

HELP = "fuzz a CTI client: generated call flows and malformed frames; report the smallest failing case"

#: the exit status is a verdict: a closed stdout/stderr (| head) silences it, the command runs on (mockcti.cli)
VERDICT = True

EPILOG = """checks, for every case: the client keeps running; no PROTO-* conduct violation (heartbeat
cadence, malformed requests, unknown calls ...); a message at least every half
IdleTimeout; the connection stays up, or after a malformed frame the client resets, reconnects
and reopens within --reconnect-timeout.

exit codes:
  0  no failure found
  1  a failing case was found (or the replayed case failed)
  2  bad usage, or Hypothesis is not installed (pip install 'mockcti[test]')
     or the time budget (--time) was spent before a case could be sent: nothing was tested
  3  the client could not start (no session opened within --start-timeout); one that
     opened a session and exited before a case, however briefly it lived, started: 1
  130/143  interrupted by SIGINT (Ctrl-C) / SIGTERM: the client and the server are stopped;
     the smallest failing case found so far, if any, is saved (--save), else no result"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--client-cmd", metavar="CMD",
                   help="shell command starting the client; it finds the mock in CTI_HOST and CTI_PORT")
    p.add_argument("--seed", type=int, help="seed of the search (default: random, printed); same seed, same cases")
    p.add_argument("--count", type=int, default=100, metavar="N", help="at most N generated cases (default 100)")
    p.add_argument("--time", type=float, default=60.0, metavar="S",
                   help="stop starting new cases (and shrinking) after S seconds (default 60)")
    p.add_argument("--window", type=float, default=1.0, metavar="S",
                   help="watch the client for S seconds after each case (default 1)")
    p.add_argument("--max-window", type=float, default=3.0, metavar="S",
                   help="watch 0.75 x IdleTimeout instead when that is longer than --window and at most S seconds: "
                        "the heartbeat cadence of a short IdleTimeout (default 3)")
    p.add_argument("--reconnect-timeout", type=float, default=10.0, metavar="S",
                   help="after a malformed frame the client may reset; it must reopen within S s (default 10)")
    p.add_argument("--start-timeout", type=float, default=10.0, metavar="S",
                   help="the client must open a session within S seconds of starting (default 10)")
    p.add_argument("--max-items", type=int, default=3, metavar="N",
                   help="event sequences / malformed frames per case (default 3)")
    p.add_argument("--max-calls", type=int, default=2, metavar="N", help="calls per event sequence (default 2)")
    p.add_argument("--flows", metavar="LIST",
                   help="comma-separated call flows of the event sequences, played through the simulated contact "
                        "center: consultations, transfers, conferences, placed calls, barge-in (default: inbound "
                        "ACD calls only; see --list-flows)")
    p.add_argument("--list-flows", action="store_true", help="print the call flow names and exit")
    p.add_argument("--view", metavar="VIEW", default=None,
                   help="whose events the --flows sequences are: 'agent' (default: the agent desktop's) or 'bridge' "
                        "(a bridge-mode session's, CTI_SERVICE_ALL_EVENTS: every agent's events, CALL_QUEUED, every "
                        "phone's media; the client must open in bridge mode). A --replay case file records its view")
    p.add_argument("--no-malformed", action="store_true", help="legal event sequences only")
    p.add_argument("--defects", metavar="LIST",
                   help="comma-separated defects to use: malformed frames, an event with an undefined floating tag "
                        "(default all; see --list-defects)")
    p.add_argument("--list-defects", action="store_true", help="print the defect labels and exit")
    p.add_argument("--no-chunking", action="store_true", help="never deliver an item in small pieces")
    p.add_argument("--min-idle-timeout", type=int, default=20, metavar="S",
                   help="smallest IdleTimeout the server accepts (default 20, as UCCX; lower it for quick heartbeats)")
    p.add_argument("--profile", choices=["uccx", "ucce"], default=None, help="protocol profile (default uccx)")
    p.add_argument("--message-id", action="append", default=[], metavar="NAME=N", help=MESSAGE_ID_HELP)
    p.add_argument("--field-tag", action="append", default=[], metavar="MESSAGE.Field=TAG", help=FIELD_TAG_HELP)
    p.add_argument("--center", metavar="FILE", type=file_path, help="contact center description (agents the client logs in as)")
    p.add_argument("--host", default="127.0.0.1", type=host_address, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port, see CTI_PORT)")
    p.add_argument("--save", metavar="FILE", default="mockcti-fuzz-failure.json",
                   help="write the smallest failing case here (its directory is created if missing; default "
                        "mockcti-fuzz-failure.json; '' saves nothing)")
    p.add_argument("--replay", metavar="FILE", type=file_path, help="run the case saved in FILE instead of searching")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="with --replay: run the case N times")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--verbose", "-v", action="store_true", help="one line per case on stderr")
    out.add_argument("--quiet", "-q", action="store_true",
                     help=QUIET_HELP.format(what=" (and why the client could not start)",
                                            json=": the failing case is saved (--save); --json still prints the "
                                                 "result"))


def _usage(msg: str) -> int:
    from mockcti.commands import print_error

    print_error("fuzz", msg)  # each line prefixed: a center file's mistakes are one a line
    return 2


# the options given in seconds: each must be a finite number > 0 (nan passed a `<= 0` check and
# made a timeout that never expires)
_SECONDS = ("time", "window", "max_window", "reconnect_timeout", "start_timeout")


def _hypothesis_missing() -> str | None:
    """Why Hypothesis (the test extra, not a dependency of the plain install) cannot be imported, or None."""
    import importlib

    try:
        importlib.import_module("hypothesis")
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "hypothesis":
            return "mockcti fuzz needs Hypothesis: pip install 'mockcti[test]'"
        return f"mockcti fuzz needs Hypothesis, which cannot be imported ({exc}): pip install 'mockcti[test]'"
    return None


def run(args: argparse.Namespace) -> int:
    import math

    missing = _hypothesis_missing()
    if missing is not None:
        print(missing, file=sys.stderr)
        return 2
    from mockcti.testing.fuzz import fuzz_defects

    DEFECTS = fuzz_defects()
    if args.list_defects:
        for name, what in DEFECTS.items():
            print(f"{name}  ({what})")
        return 0
    from mockcti.testing.strategies import FLOWS

    if args.list_flows:
        for name, what in FLOWS.items():
            print(f"{name}  ({what})")
        return 0
    if not args.client_cmd:
        return _usage("--client-cmd is required (the command that starts the client under test)")
    if args.count < 1 or args.repeat < 1 or args.max_items < 1 or args.max_calls < 1:
        return _usage("--count, --repeat, --max-items and --max-calls must be >= 1")
    if args.repeat != 1 and not args.replay:  # it was ignored: one search ran, read as N
        return _usage(f"--repeat {args.repeat} runs a --replay case that many times; a search is not repeated "
                      f"(--count bounds its cases, --time its length): give --replay FILE, or leave --repeat out")
    for name in _SECONDS:
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            return _usage(f"--{name.replace('_', '-')} must be a finite number of seconds > 0, not {value!r}")
    if args.min_idle_timeout < 1:
        return _usage("--min-idle-timeout must be >= 1")
    if not 0 <= args.port <= 65535:  # was an OverflowError traceback from bind()
        return _usage(f"--port must be 0 (any free port) .. 65535, not {args.port}")
    defects = None
    if args.defects:
        defects = [d.strip() for d in args.defects.split(",") if d.strip()]
        unknown = [d for d in defects if d not in DEFECTS]
        if unknown or not defects:
            return _usage(f"unknown defect(s) {unknown}; known: {', '.join(DEFECTS)}")
    flows = None
    if args.flows is not None:
        flows = [f.strip() for f in args.flows.split(",") if f.strip()]
        unknown = [f for f in flows if f not in FLOWS]
        if unknown or not flows:
            return _usage(f"--flows: unknown flow(s) {unknown}; known: {', '.join(FLOWS)}")
    from mockcti.testing.strategies import VIEWS

    if args.view is not None and args.view not in VIEWS:
        return _usage(f"--view: unknown view {args.view!r}; known: {', '.join(VIEWS)}")
    if args.view not in (None, "agent") and flows is None and not args.replay:
        return _usage(f"--view {args.view} needs --flows (the events a bridge is sent while the contact center "
                      f"plays them), e.g. --flows inbound")
    profile: Any = args.profile
    if args.message_id or args.field_tag:  # the server speaks the client's numbering (as mockcti serve does)
        from mockcti.wire.dialect import PROFILES

        profile = renumbered("fuzz", PROFILES[args.profile or "uccx"], args)
        if profile is None:
            return 2
    center = None
    if args.center:
        from mockcti.center import CenterConfigError, load_center_file

        try:
            center = load_center_file(args.center)
        except CenterConfigError as exc:  # every mistake, each naming the file and line (as mockcti serve)
            return _usage(str(exc))
        except Exception as exc:  # noqa: BLE001 - any invalid file is a usage error
            return _usage(f"--center {args.center}: {exc}")
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.verbose else None
    common = dict(window=args.window, max_window=args.max_window, reconnect_timeout=args.reconnect_timeout,
                  start_timeout=args.start_timeout, min_idle_timeout=args.min_idle_timeout, center=center,
                  profile=profile, host=args.host, port=args.port, log=log)
    from mockcti.testing.fuzz import fuzz_client, load_case, replay_case

    if args.save:  # a failing case found after minutes of fuzzing must not be lost to a bad path
        from pathlib import Path

        from mockcti.report import make_report_dir

        save = Path(args.save)
        try:
            is_dir = save.is_dir()
        except OSError as exc:  # a name too long, a loop of links ... (a traceback, exit 1, before)
            return _usage(f"--save {args.save}: {exc.strerror or exc}")
        if is_dir:
            return _usage(f"--save {args.save}: a directory, not a file (give the file the case is written to)")
        try:  # its directory is made as `mockcti run --report DIR` makes its own (it refused a missing one)
            parent = make_report_dir(save.resolve().parent)
        except OSError as exc:  # a file among its parents, no permission ...
            return _usage(f"--save {args.save}: its directory {exc.filename}: {exc.strerror or exc}")
        if not os.access(parent, os.W_OK):
            return _usage(f"--save {args.save}: its directory {parent} is not writable")
    from mockcti.cli import Terminated

    try:
        return _fuzz(args, defects, flows, common, fuzz_client, load_case, replay_case)
    except KeyboardInterrupt as exc:  # (Terminated too) the client and the server are stopped by now (exit 130/143)
        # the case saved and the command that replays it, as the result would have given them (the --window a
        # late failure widened, --repeat for a flaky case ...); once the search had ended, the case it reports
        saved = getattr(exc, "saved_to", None)
        replay, search = getattr(exc, "replay_command", None), getattr(exc, "search_command", None)
        again = (f"replay it:  {replay}" if replay else f"repeat the search:  {search}" if search else
                 f"--replay {shlex.quote(saved or '')}")
        what = ("no result" if not saved else
                f"the search had ended: the failing case it reports is saved to {saved} (it was being run once more "
                f"alone at the end); {again}" if getattr(exc, "search_ended", False) else
                f"the smallest failing case found so far is saved to {saved} (maybe not shrunk all the way); {again}")
        print(f"mockcti fuzz: {'SIGTERM' if isinstance(exc, Terminated) else 'SIGINT'}: stopped (the client and the "
              f"server with it); {what}", file=sys.stderr, flush=True)
        raise
    except OSError as exc:  # the mock cannot listen on --host/--port (in use, not of this host), ...
        # (its words, as serve and run say a port in use: "[Errno 98] error while attempting to bind ..." before)
        return _usage(f"cannot run (--host {args.host}, --port {args.port}): "
                      f"{exc.strerror if exc.strerror and exc.filename is None else exc}")


#: the options that shape only a search (its cases, their generation, where the failure is saved): a
#: --replay runs the saved case as it is, so each given with it is named as not used
_SEARCH_ONLY = (("seed", "--seed"), ("count", "--count"), ("max_items", "--max-items"), ("max_calls", "--max-calls"),
                ("flows", "--flows"), ("defects", "--defects"), ("no_malformed", "--no-malformed"),
                ("no_chunking", "--no-chunking"), ("save", "--save"))


def _search_only_given(args: argparse.Namespace) -> list[str]:
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    return [flag for dest, flag in _SEARCH_ONLY if getattr(args, dest) != defaults.get_default(dest)]


def _fuzz(args: argparse.Namespace, defects: Any, flows: Any, common: dict, fuzz_client: Any, load_case: Any,
          replay_case: Any) -> int:
    if args.replay:
        from mockcti.located import ReadError

        try:
            case = load_case(args.replay)
        except ReadError as exc:  # file:line: key.path: what is wrong (a center file's mistakes are shown so too)
            return _usage(f"--replay: {exc}")
        except (OSError, ValueError) as exc:
            return _usage(f"--replay {args.replay}: {exc}")
        unused = _search_only_given(args)
        if unused:  # not an error: the printed search command with --replay added is a natural thing to run
            print(f"mockcti fuzz: not used with --replay (they shape a search; the saved case runs as it is): "
                  f"{', '.join(unused)}", file=sys.stderr)
        if args.view is not None and args.view != case.view:
            return _usage(f"--view {args.view}: {args.replay} holds a case of the {case.view} view (its file says "
                          f"so; a replay runs a case as it was generated)")

        def run() -> Any:
            return replay_case(case, args.client_cmd, repeat=args.repeat, time_budget=max(args.time, 1.0), **common)
    else:
        case = None
        if args.center:
            common["center"] = args.center  # a path: fuzz_client puts it into the replay commands

        def run() -> Any:
            return fuzz_client(args.client_cmd, seed=args.seed, count=args.count, time_budget=args.time,
                               max_items=args.max_items, max_calls=args.max_calls, malformed=not args.no_malformed,
                               defects=defects, chunking=not args.no_chunking, flows=flows,
                               view=args.view or "agent", save=args.save or None, **common)
    import signal

    from mockcti.cli import Terminated

    came: list[int] = []  # a signal that came as the client and the server were stopped, the result whole
    try:
        result = run()
    except KeyboardInterrupt as exc:
        result = getattr(exc, "result", None)
        if result is None:  # (the search or the replay was cut short: no result)
            raise
        came.append(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    # the search (or the replay) has ended: a signal now stops nothing (the client and the server are stopped): the
    # result is told whole and the exit status is its own. Raised here, it cut the result short (the --json output
    # lost) and said "stopped ...; no result", a failing case found and saved all the same
    from mockcti.commands import Interrupts

    interrupts = Interrupts().install()
    try:
        status = _tell(args, result, case)
    finally:
        interrupts.restore()
    caught = came + interrupts.caught
    if caught:
        print(f"mockcti fuzz: {signal.Signals(caught[0]).name} came once the "
              f"{'replay' if args.replay else 'search'} had ended: the result and the exit status are its own",
              file=sys.stderr, flush=True)
    return status


def _tell(args: argparse.Namespace, result: Any, case: Any) -> int:
    """The result of a search or a replay (``case``: the replayed one) on stderr, and with --json on stdout; the exit
    status."""
    if args.replay:
        say = (lambda *a, **k: None) if args.quiet else print
        say(f"mockcti fuzz: replayed {args.replay} ({result.cases_run} run(s), {result.elapsed:.1f} s)",
            file=sys.stderr)
        if result.dialect_note:  # (a warning: printed with --quiet too)
            print(f"mockcti fuzz: warning: {result.dialect_note}", file=sys.stderr)
        if result.no_case is not None:  # (an error, not a verdict: printed with --quiet too)
            print(f"mockcti fuzz: no case run: {result.no_case}", file=sys.stderr)
        elif not result.client_started:
            from mockcti.testing.fuzz import output_lines

            for line in [f"the client could not start: {result.start_error}",
                         *output_lines(result.client_output, runs=result.client_runs)]:
                print(line, file=sys.stderr)
        elif result.failure is not None:
            say(f"FAILURE: {result.failure.reason}", file=sys.stderr)
            for d in result.failure.details:
                say(f"  {d}", file=sys.stderr)
            if result.flaky:
                say(f"flaky: {result.flaky}", file=sys.stderr)
            if result.late:
                say(f"late failure: {result.late}", file=sys.stderr)
            if result.failure.case.items:
                say("case (each event decoded below its item):\n" + case.describe(decoded=True), file=sys.stderr)
            else:  # (it was printed below the failure as the case that failed)
                say("no failing case: the client fails with no case sent to it (the case was not sent)",
                    file=sys.stderr)
        else:
            say("no failure: the case passed", file=sys.stderr)
    else:
        if not args.quiet:
            print(result.summary(), file=sys.stderr)
        elif not result.client_started or result.no_case is not None:  # (an error, not a verdict: no case run)
            print(result.summary(), file=sys.stderr)
        elif result.save_error:  # the failing case found is in no file
            print(f"mockcti fuzz: --save {args.save}: {result.save_error}", file=sys.stderr)
    if args.json:
        out = {"passed": result.passed, "exit_code": result.exit_code,
               "seed": None if args.replay else result.seed,  # (a replay draws nothing: it was "seed": 0)
               "cases_run": result.cases_run, "elapsed": round(result.elapsed, 3),
               "budget_exhausted": result.budget_exhausted, "start_error": result.start_error,
               "failure": None if result.failure is None else {
                   "reason": result.failure.reason, "details": result.failure.details,
                   "case": result.failure.case.to_dict()},
               "no_case": result.no_case, "not_shrunk": result.not_shrunk, "late": result.late, "flaky": result.flaky,
               "restart_error": result.restart_error, "dialect_note": result.dialect_note,
               "replay_command": result.replay_command, "search_command": result.search_command,
               "saved_to": result.saved_to, "save_error": result.save_error}
        print(json.dumps(out, indent=2))
    return result.exit_code
