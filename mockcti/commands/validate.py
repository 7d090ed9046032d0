"""``mockcti validate``: check scenario files (YAML or TOML) without running them."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check scenario files (YAML or TOML): names, fields, codes, states, includes; --schema prints the JSON Schema"

#: the exit status is a verdict: a closed stdout/stderr (| head) silences it, the command runs on (mockcti.cli)
VERDICT = True


EPILOG = """exit codes:
  0  every file is valid (or --schema printed the schema)
  1  a file is invalid or cannot be read (its errors on stderr, file:line: key path: error)
  2  bad usage: no FILE, or FILE with --schema"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("files", nargs="*", metavar="FILE", help="scenario files to check")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file (file, ok; a valid file: name, rules, steps, timeline, expect, "
                        "files; an invalid one: errors)")
    p.add_argument("--schema", action="store_true", help="print the JSON Schema of scenario files and exit")
    from mockcti.commands import QUIET_HELP

    p.add_argument("--quiet", "-q", action="store_true",
                   help=QUIET_HELP.format(what=" (an invalid file's errors, on stderr)",
                                          json="; no OK/INVALID line (--json still prints its objects)"))


def run(args: argparse.Namespace) -> int:
    from mockcti.located import shown_errors
    from mockcti.scenario.loader import ScenarioError, load_scenario, load_schema

    if args.schema:
        if args.files:  # it printed the schema and checked none of them: a CI step green for nothing
            print(f"mockcti validate: --schema prints the JSON Schema and checks no file; to check "
                  f"{args.files[0]}, leave --schema out", file=sys.stderr)
            return 2
        print(json.dumps(load_schema(), indent=2))
        return 0
    if not args.files:
        print("mockcti validate: give one or more scenario files (or --schema)", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            status = 1
            if args.json:
                print(json.dumps({"file": path, "ok": False, "errors": [e.as_dict() for e in exc.errors]},
                                 ensure_ascii=False))
            else:
                for line in shown_errors(exc.errors):  # at most MAX_SHOWN_ERRORS, then "and N more errors"
                    print(line, file=sys.stderr)
                if not args.quiet:
                    print(f"INVALID {path} ({len(exc.errors)} error{'s' if len(exc.errors) != 1 else ''})")
            continue
        if args.json:
            print(json.dumps({"file": path, "ok": True, "name": sc.name, "rules": len(sc.rules),
                              "steps": len(sc.steps), "timeline": len(sc.timeline), "expect": len(sc.expect),
                              "files": list(sc.files)}, ensure_ascii=False))
        elif not args.quiet:
            print(f"OK {path} ({sc.name}, {len(sc.rules)} rule{'s' if len(sc.rules) != 1 else ''}, "
                  f"{len(sc.steps)} step{'s' if len(sc.steps) != 1 else ''})")
    return status
