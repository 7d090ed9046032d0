"""The layering of ARCHITECTURE.md holds: the pure layers import no I/O (asyncio, socket,
threading, subprocess, selectors), read no clock and never sleep; construct stays inside
``mockcti/wire``; nothing imports upward; the public surfaces resolve."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "mockcti"
PURE = ["wire", "catalog.py", "located.py", "acd", "center", "session.py", "hub.py", "journal.py", "report.py",
        "scenario"]
IO_MODULES = {"asyncio", "socket", "threading", "subprocess", "selectors", "ssl"}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("time", "sleep"), ("time", "perf_counter"),
               ("datetime", "now")}
# upward imports a pure layer must not make
UPPER = {"mockcti.server", "mockcti.client", "mockcti.control", "mockcti.runner", "mockcti.load", "mockcti.cli",
         "mockcti.commands", "mockcti.testing"}


def files(entries):
    for e in entries:
        p = PKG / e
        yield from (sorted(p.rglob("*.py")) if p.is_dir() else [p])


def imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
    return out


@pytest.mark.parametrize("path", list(files(PURE)), ids=lambda p: str(p.relative_to(PKG)))
def test_pure_layers_do_no_io_and_import_nothing_above_them(path):
    for name, line in imports(path):
        top = name.split(".")[0]
        assert top not in IO_MODULES, f"{path.name}:{line} imports {name}"
        assert not any(name == u or name.startswith(u + ".") for u in UPPER), f"{path.name}:{line} imports {name}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name):
            assert (node.func.value.id, node.func.attr) not in CLOCK_CALLS, \
                f"{path.name}:{node.lineno} calls {node.func.value.id}.{node.func.attr}"


@pytest.mark.parametrize("path", [*files(["center", "acd", "located.py", "files.py"])],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_below_scenario_nothing_imports_it(path):
    # the center reads its files with mockcti.located, the reader scenario files share (no copy in either)
    for name, line in imports(path):
        assert not (name == "mockcti.scenario" or name.startswith("mockcti.scenario.")), \
            f"{path.relative_to(PKG)}:{line} imports {name}"


@pytest.mark.parametrize("path", [p for p in PKG.rglob("*.py") if "wire" not in p.parts],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_construct_stays_in_wire(path):
    for name, line in imports(path):
        assert name.split(".")[0] != "construct", f"{path.relative_to(PKG)}:{line} imports construct"


@pytest.mark.parametrize("module", ["mockcti", "mockcti.center", "mockcti.acd", "mockcti.scenario",
                                    "mockcti.wire", "mockcti.testing.strategies", "mockcti.session"])
def test_public_surface_resolves(module):
    m = importlib.import_module(module)
    for name in m.__all__:
        assert getattr(m, name) is not None, f"{module}.{name}"


@pytest.mark.parametrize("path", list(files(["."])), ids=lambda p: str(p.relative_to(PKG)))
def test_every_docstring_is_valid_utf8_so_the_package_imports_on_python_3_13(path):
    """Python 3.13 cleans docstrings when it compiles (and encodes them as UTF-8): a docstring holding a
    lone surrogate (``"\\udcff"`` written in a docstring that is not raw: the escape, not its text) made
    the module fail to compile, and ``import mockcti`` failed with UnicodeEncodeError (journal.py, report.py)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                try:
                    doc.encode("utf-8")
                except UnicodeEncodeError as exc:
                    pytest.fail(f"{path.relative_to(PKG)}:{node.body[0].lineno}: docstring is not valid UTF-8 ({exc})")
