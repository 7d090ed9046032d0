"""The ``mockcti`` command line.

Each subcommand lives in its own module under :mod:`mockcti.commands`; a command module is
imported only when its subcommand runs, and its top level must stay cheap (heavy imports go
inside ``run``). A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module; the order is the order of ``mockcti --help``.
COMMANDS: dict[str, str] = {
    "serve": "mockcti.commands.serve",
    "run": "mockcti.commands.run",
    "validate": "mockcti.commands.validate",
    "catalog": "mockcti.commands.catalog",
    "decode": "mockcti.commands.decode",
    "fuzz": "mockcti.commands.fuzz",
}


def _available_commands() -> dict[str, object]:
    found = {}
    for name, module_name in COMMANDS.items():
        try:
            found[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command not built yet in this checkout
            if exc.name != module_name:
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    from mockcti import __version__

    parser = argparse.ArgumentParser(
        prog="mockcti",
        description="Mock Cisco UCCX/UCCE CTI server for testing CTI clients.",
    )
    parser.add_argument("--version", action="version", version=f"mockcti {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in _available_commands().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `mockcti decode ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
