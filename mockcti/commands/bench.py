"""``mockcti bench``: run one of the source checkout's benchmarks (``bench/*.py``).

The benchmarks measure the mock against baselines measured in the same run (a raw asyncio server,
plain construct, hand-written ``struct``) and print the ratios; they live in ``bench/`` beside the
package, not in it (a wheel has none), so this command finds them from the package's location, or
from ``--dir``. Everything after the benchmark's name goes to it unchanged; its exit status is the
command's. ``bench/README.md`` says what each one measures and holds the measured tables.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

from mockcti.commands import print_error

HELP = "run a benchmark of the source checkout (bench/: codec, server, scale, mix_loop) and print its ratios"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("benchmark", nargs="?", help="the benchmark to run (bench/NAME.py); none or --list: list them")
    p.add_argument("args", nargs=argparse.REMAINDER,
                   help="its own arguments, passed on unchanged (mockcti bench server --help shows them)")
    p.add_argument("--dir", type=Path, default=None,
                   help="the bench/ directory (default: bench/ beside the mockcti package of a source checkout)")
    p.add_argument("--list", action="store_true", help="list the benchmarks with what each measures")


def default_dir() -> Path:
    """``bench/`` of the checkout this package was imported from (an editable or source install)."""
    return Path(__file__).resolve().parents[2] / "bench"


def benchmarks(directory: Path) -> dict[str, str]:
    """name -> the first line of its docstring, for each ``bench/*.py`` with a ``__main__`` block."""
    out = {}
    for path in sorted(directory.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if '__name__ == "__main__"' not in text:
            continue  # a module the benchmarks share, not one to run
        try:
            doc = ast.get_docstring(ast.parse(text)) or ""
        except SyntaxError:
            doc = ""
        out[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out


def run(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else default_dir()
    if not directory.is_dir():
        how = ("--dir names no directory" if args.dir is not None else
               "the benchmarks are in the source checkout's bench/, which an installed wheel does not have: clone "
               "the repository and pip install -e . there, or give --dir")
        print_error("bench", f"no bench/ directory at {directory} ({how})")
        return 2
    found = benchmarks(directory)
    if args.list or args.benchmark is None:
        if not found:
            print_error("bench", f"no benchmark in {directory} (a bench/*.py with a __main__ block)")
            return 2
        width = max(map(len, found))
        for name, line in found.items():
            print(f"{name:<{width}}  {line}")
        if args.benchmark is None and not args.list:
            print(f"\nrun one: mockcti bench NAME [its arguments]; see {directory / 'README.md'}")
        return 0
    name = args.benchmark[:-3] if args.benchmark.endswith(".py") else args.benchmark
    if name not in found:
        print_error("bench", f"no benchmark {args.benchmark!r} in {directory}; there are: {', '.join(found)}")
        return 2
    # the benchmark imports mockcti: the very package this command runs from, whatever the working directory
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    # (Ctrl-C, SIGTERM: subprocess.run stops the benchmark, which a Ctrl-C in the same process group reached too, and
    # mockcti.cli makes them status 130 / 143; a SIGTERM was 130 here)
    return subprocess.run([sys.executable, str(directory / f"{name}.py"), *args.args], env=env,
                          check=False).returncode
