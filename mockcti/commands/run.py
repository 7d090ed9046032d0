"""``mockcti run SCENARIO... [--client-cmd CMD] [--timeout S]``: run scenarios for CI."""

from __future__ import annotations

import argparse
import os
import re
import signal
import stat
import sys
from typing import Any

from mockcti.commands import (FIELD_TAG_HELP, MESSAGE_ID_HELP, QUIET_HELP, RETRY_LOOP_HELP, host_address, renumbered,
                              retry_loop)
from mockcti.commands.serve import port_number

HELP = "run scenario files against a client under test; exit 0 only when every expectation is met"

#: the exit status is a verdict: a closed stdout/stderr (| head) silences it, the command runs on (mockcti.cli)
VERDICT = True

EPILOG = """exit codes:
  0  every expectation met, no violation recorded
  1  an expectation unmet, a violation recorded, or an internal error of the mock
  2  a scenario file is invalid, bad usage, the server could not listen (--host/--port),
     the report directory is in use by a run in parallel, or a report file could not be written
     (or an earlier run's journal in it could not be removed)
  3  the client under test could not start or exited non-zero
  130/143  interrupted by SIGINT/SIGTERM (the client is stopped, the report written)
when several apply: 130/143, then 2, then 1, then 3 (a client that could not start at all is 3
even if the expectations are unmet; one that crashed mid-run usually leaves some unmet: 1)"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files (YAML or TOML)")
    p.add_argument("--client-cmd", metavar="CMD",
                   help="start the client under test with this shell command; it finds the mock in the "
                        "environment variables CTI_HOST and CTI_PORT (and CTI_SCENARIO)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="end each scenario after S seconds at the latest (default 60)")
    p.add_argument("--host", default="127.0.0.1", type=host_address, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=0, help="TCP port (default 0: any free port, see CTI_PORT)")
    p.add_argument("--seed", type=int, help="override every scenario's seed (to repeat a run exactly)")
    p.add_argument("--retry-loop", type=retry_loop, default=None, metavar="TIMES[,GAP]|off",
                   help=RETRY_LOOP_HELP + " in every scenario, over a scenario's own retry_loop:")
    p.add_argument("--report", metavar="DIR", default="mockcti-report",
                   help="write DIR/summary.json, DIR/junit.xml and DIR/<scenario>.jsonl (default mockcti-report); "
                        "DIR is locked while the run runs: a run in parallel into the same DIR is refused (exit 2)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--quiet", "-q", action="store_true",
                   help=QUIET_HELP.format(what=" (and, without --client-cmd, each scenario's listening line: the "
                                               "address to start the client with)",
                                          json=", the report is written; --json still prints the summary"))
    p.add_argument("--message-id", action="append", default=[], metavar="NAME=N",
                   help=MESSAGE_ID_HELP + " (applied to each scenario's profile, as mockcti serve does)")
    p.add_argument("--field-tag", action="append", default=[], metavar="MESSAGE.Field=TAG", help=FIELD_TAG_HELP)


def run(args: argparse.Namespace) -> int:
    holding: list[bool] = []  # (appended once SIGINT/SIGTERM no longer raise: from then on the run says it itself)
    try:
        return _checked_run(args, holding)
    except KeyboardInterrupt as exc:  # (Terminated too)
        if not holding:  # while the scenario files were read and the options checked: it stopped without a word
            from mockcti.cli import Terminated

            print(f"mockcti run: {'SIGTERM' if isinstance(exc, Terminated) else 'SIGINT'}: stopped before any "
                  f"scenario ran (the scenario files were read, the options checked); no report written",
                  file=sys.stderr, flush=True)
        raise


def _checked_run(args: argparse.Namespace, holding: list) -> int:
    from mockcti.report import claim_report_dir
    from mockcti.scenario.engine import scenario_profile
    from mockcti.scenario.loader import ScenarioError, load_scenario

    scenarios = []
    bad = 0
    for path in args.scenarios:
        try:
            scenarios.append((path, load_scenario(path)))
        except ScenarioError as exc:
            from mockcti.commands import print_error
            from mockcti.located import shown_errors

            # at most MAX_SHOWN_ERRORS, then "and N more errors"
            print_error("run", "\n".join(shown_errors(exc.errors)))
            bad += 1
    if bad:
        return 2
    # each scenario's dialect with --message-id / --field-tag (the same helper as serve and decode),
    # every one checked before anything runs
    profiles = []
    for path, sc in scenarios:
        profile = renumbered(f"run: {path}" if len(scenarios) > 1 else "run", scenario_profile(sc), args)
        if profile is None:
            return 2
        profiles.append(profile)
    if args.client_cmd is not None and not args.client_cmd.strip():
        # (an unset CI variable: `--client-cmd "$CLIENT"`) it ran the scenarios with no client at all, and one
        # whose expectations a silent client meets (`never`, `min: 0`) passed
        print("mockcti run: --client-cmd is empty: give the command that starts the client under test, or leave "
              "the option out to start the client yourself (CTI_HOST/CTI_PORT from the listening line)",
              file=sys.stderr)
        return 2
    if not (0 < args.timeout < float("inf")):  # (nan compares false both ways)
        print("mockcti run: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    if not args.report:  # it wrote the reports into the working directory (a checkout's root), and removed
        # the journals an earlier summary.json there named
        from mockcti.report import EMPTY_REPORT_DIR

        print(f"mockcti run: {EMPTY_REPORT_DIR}; without the option they go to mockcti-report/", file=sys.stderr)
        return 2
    # from here to the end (the report directory claimed, the scenarios run, the reports written, the directory
    # released) SIGINT and SIGTERM are recorded, never raised: the run stops as at its end and the reports are
    # written whole. A signal raised where it landed (before the loop's handlers, after them: the summary being
    # built, the lock being released) ended the run with no summary.json nor junit.xml, or an empty report
    # directory, or its lock file left, without a word; one while asyncio closed its loop was lost (exit 1, and
    # "Exception ignored ... signal wakeup fd" on stderr)
    from mockcti.commands import Interrupts

    interrupts = Interrupts().install()
    holding.append(True)
    try:
        try:
            # locked until this run ends: a second run in parallel writing the same directory is refused
            report_lock = claim_report_dir(args.report, "mockcti run " + " ".join(args.scenarios))
        except OSError as exc:  # a file of that name, no permission, another run writing it ...
            print(f"mockcti run: --report {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return 128 + interrupts.caught[0] if interrupts.caught else 2
        try:
            warning = report_lock.warning()
            if warning is not None:
                print(f"mockcti run: warning: {warning}", file=sys.stderr, flush=True)
            return _run(args, scenarios, profiles, report_lock.directory, interrupts)
        finally:
            report_lock.release()
    finally:
        interrupts.restore()


def _earlier_journals(report_dir) -> set[str]:
    """The journal files an earlier ``mockcti run`` into ``report_dir`` wrote, as its summary.json names
    them: plain ``*.jsonl`` names in the directory itself (nothing else is ever removed). Empty when there
    is no such summary, or it is not a run's."""
    import json

    try:
        earlier = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
        names = {sc["journal"] for sc in earlier["scenarios"]} if earlier.get("tool") == "mockcti" else set()
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return set()
    return {n for n in names if isinstance(n, str) and n.endswith(".jsonl") and n == os.path.basename(n)
            and not n.startswith(".")}


def _run_label(name: str, earlier: list) -> str:
    """The report's name for a run of scenario ``name`` after the runs ``earlier``: ``name``, then
    "NAME (2nd load)", "NAME (3rd load)" … (:func:`mockcti.hub.load_label`, what the control API reports a
    scenario loaded again as), counting the earlier runs of that name; never an earlier run's label (a
    scenario whose own `name:` is "A (2nd load)" run between two of "A": the second "A" is "A (3rd load)")."""
    from mockcti.hub import unused_load_label

    return unused_load_label(name, 1 + sum(1 for r in earlier if r.name == name), {r.label for r in earlier})[0]


def _run(args: argparse.Namespace, scenarios: list, profiles: list, report_dir, interrupts: Any) -> int:
    import asyncio
    from pathlib import Path

    from mockcti.journal import json_text
    from mockcti.report import junit_xml, write_report_file
    from mockcti.runner import CannotListen, print_run, run_scenario

    unwritten: list[str] = []  # report files that could not be written (a full disk …) or removed: exit 2
    earlier = _earlier_journals(report_dir)

    def cannot_write(path: Path, exc: OSError) -> None:
        unwritten.append(str(path))
        print(f"mockcti run: --report {args.report}: cannot write {path}: {exc.strerror or exc}",
              file=sys.stderr, flush=True)

    written: set[str] = set()  # the journal files this run wrote, or tried to

    def unwritten_journal(run: Any, path: Path) -> None:
        """A journal that could not be written: summary.json names none for its scenario, and the file of that
        name an earlier run left (whole) goes, else it would read as this run's."""
        run.journal_file = None
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):  # (a symbolic link or a device is the user's: left alone)
                path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            unwritten.append(str(path))
            print(f"mockcti run: --report {args.report}: cannot remove {path}, an earlier run's journal of that "
                  f"name (it would read as this run's): {exc.strerror or exc}", file=sys.stderr, flush=True)

    caught = interrupts.caught  # SIGINT / SIGTERM received: the run stops, the client is stopped, reports written
    cannot_listen: list[str] = []  # a port in use …: the run stops there (exit 2), reports written

    said: list[int] = []

    def say() -> None:
        """Once, when a signal has come: that the run stops (from the loop or after it, not from the handler)."""
        if caught and not said:
            said.append(caught[0])
            print(f"mockcti run: {signal.Signals(caught[0]).name}: stopping the client and the server",
                  file=sys.stderr, flush=True)

    async def main() -> list:
        stop = asyncio.Event()

        def interrupted(signum: int) -> None:
            say()
            stop.set()

        # a CI job cancelled (SIGTERM) or Ctrl-C: the client runs in a process group of its own, so
        # mockcti run stops it itself (killed by the signal's default action, it left the client running)
        interrupts.attach(asyncio.get_running_loop(), interrupted)
        try:
            return await run_all(stop)
        finally:
            interrupts.detach()

    async def run_all(stop: asyncio.Event) -> list:
        runs: list = []
        for (path, sc), profile in zip(scenarios, profiles):
            if caught:  # (also one that came before the loop ran)
                say()
                stop.set()
                break
            # the name the report gives this run: its scenario's, "NAME (2nd load)" … from the second run of a
            # name (a file given twice, two files of one `name:`), as the control API and `serve --report` name
            # a scenario loaded again (this said "NAME-2": two schemes for one thing); the "listening on" line
            # names it so too (it said "NAME" where the PASS/FAIL line said "NAME (2nd load)")
            label = _run_label(sc.name, runs)
            try:
                run = await run_scenario(sc, client_cmd=args.client_cmd, timeout=args.timeout, host=args.host,
                                         port=args.port, seed=args.seed, stop=stop, profile=profile,
                                         retry_loop=args.retry_loop, label=label,
                                         announce=None if args.quiet and args.client_cmd else
                                         lambda s: print(s, file=sys.stderr, flush=True))
            except CannotListen as exc:  # (a traceback and exit 1, as if the client had failed, before)
                cannot_listen.append(str(exc))
                print(f"mockcti run: scenario {label}: {exc}", file=sys.stderr, flush=True)
                break
            run.path = path
            runs.append(run)
            # its label as a file name: only safe characters ("A (2nd load)": A_2nd_load.jsonl), unique within
            # this run (-2, -3 … when two labels reduce to one name)
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", run.label).strip("._") or "scenario"
            run.journal_file = next(f for i in range(1, len(runs) + 1)
                                    if (f := f"{stem}.jsonl" if i == 1 else f"{stem}-{i}.jsonl") not in written)
            path = report_dir / run.journal_file
            written.add(run.journal_file)
            try:
                # beside it, then renamed over it, as summary.json and junit.xml are: the file there is one
                # run's whole journal. Written in place, a write that failed part-way (a disk filling up, a
                # process killed) left a truncated journal, read as this run's whole one
                write_report_file(path, (entry.to_json() + "\n" for entry in run.journal))
            except OSError as exc:
                cannot_write(path, exc)
                unwritten_journal(run, path)
            if not args.quiet:
                print_run(run)
        return runs

    try:
        runs = asyncio.run(main())
    except KeyboardInterrupt:  # (where no signal handler could be installed)
        return 128 + signal.SIGINT
    say()  # (one that came as the loop ended)
    # what the report and the exit status say: a signal that comes after the last scenario has ended (while the
    # reports are written: it no longer raises there) stops nothing; both say the run as it ran, and a line says so
    caught = list(interrupts.caught)
    # each run's name in the report (run.label): its scenario's, made unique (two files of the same `name:`, a
    # file given twice) so that junit.xml keeps one suite per run (merged, with both clients' output, before)
    labels = [r.label for r in runs]
    combined = {
        # a scenario not run (the server could not listen, an interrupt) did not pass, nor did a run cut
        # short by SIGINT/SIGTERM (it said "passed": true, exit 143, when what had run so far was fine)
        "tool": "mockcti",
        "passed": not caught and len(runs) == len(scenarios) and all(r.exit_code == 0 for r in runs),
        "interrupted": signal.Signals(caught[0]).name if caught else None,
        "not_run": [str(path) for path, _ in scenarios[len(runs):]],
        # (the scenario's own summary names it by its label too: "scenario", its expectations' "scenario")
        "scenarios": [{**r.summary, "scenario": label, "name": label,
                       "expectations": [{**e, "scenario": label} for e in r.summary["expectations"]],
                       "file": r.path, "journal": r.journal_file, "seed": r.seed,
                       "end": r.end_reason, "exit_code": r.exit_code, "client_exit": r.client_exit,
                       "client_output": r.client_output} for r, label in zip(runs, labels)],
        # each run numbers its sessions from 1: a violation or fault names its scenario (and journal)
        "violations": [{**v, "scenario": label, "journal": r.journal_file}
                       for r, label in zip(runs, labels) for v in r.summary["violations"]],
        "expectations": [{**e, "scenario": label} for r, label in zip(runs, labels) for e in r.summary["expectations"]],
        "faults": [{**f, "scenario": label, "journal": r.journal_file}
                   for r, label in zip(runs, labels) for f in r.summary["faults"]],
    }
    for name, text in (("summary.json", json_text(combined, indent=2) + "\n"), ("junit.xml", junit_xml(combined))):
        try:
            write_report_file(report_dir / name, text)
        except OSError as exc:
            cannot_write(report_dir / name, exc)
    # the journals of an earlier run into this directory that this run did not write again: its summary.json
    # named them, this one does not, and a CI job's artifacts showed them beside the new reports as if current
    for name in earlier - written:
        try:
            (report_dir / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # it stays beside this run's reports as if current: the report is not right (exit 2)
            unwritten.append(str(report_dir / name))
            print(f"mockcti run: --report {args.report}: cannot remove {report_dir / name}, the journal of an "
                  f"earlier run this one did not run (it would read as this run's): {exc.strerror or exc}",
                  file=sys.stderr, flush=True)
    if args.json:
        print(json_text(combined, indent=2))
    skipped = len(scenarios) - len(runs)
    if not args.quiet:
        print(f"mockcti run: {sum(r.exit_code == 0 for r in runs)}/{len(runs)} scenario(s) passed"
              + (f", {skipped} not run" if skipped else "") + f"; report in {report_dir}/", file=sys.stderr)
    if interrupts.caught and not caught:
        print(f"mockcti run: {signal.Signals(interrupts.caught[0]).name} came once every scenario had run: the "
              f"reports and the exit status are the run's", file=sys.stderr, flush=True)
    if caught:
        return 128 + caught[0]
    if unwritten or cannot_listen:
        return 2
    codes = [r.exit_code for r in runs]
    return 1 if 1 in codes else (3 if 3 in codes else 0)
