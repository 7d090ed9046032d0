"""The compiled build: which modules it compiles with mypyc, and whether this mockcti is one.

``pip install .`` installs mockcti as plain Python. ``MOCKCTI_COMPILE=1 pip install --no-build-isolation .``
(setuptools, wheel and mypy in the environment; ``setup.py``) compiles the modules of :data:`MODULES` — the
path every request and event takes: the center, the hub, the session, the journal's counters, the codec and
the framing — into C extensions with mypyc, from the same sources and their annotations. The call-flow mix of
``bench/server.py`` costs about half the CPU per cycle compiled (bench/README.md has the figures).

What differs in a compiled mockcti (mypyc's rules for the code it compiles):

- its classes (``ContactCenter``, ``Hub``, ``Session``, ``Journal`` …) take no attributes they do not declare,
  and their methods cannot be replaced on the class or an instance (monkeypatching) or overridden in a subclass;
- a compiled function checks the type of what it is given against its annotation: a value of another type is a
  ``TypeError`` there (``ContactCenter.set_agent_state(now, "1001", state, reason="7")`` is a TypeError naming
  ``int`` instead of the ValueError naming the EventReasonCode range).

The server, the client, the scenarios, the pytest plugin and the command line stay Python either way. Nothing
else changes: the compiled build passes the tests of the modules it compiles (``tests/test_compiled_build.py``
builds it and runs them) except those that monkeypatch or subclass its classes or give them ill-typed
arguments on purpose (marked ``pure_python``).

Reading this module imports none of the compiled ones (``mockcti --version`` says which build it is).
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

#: the modules ``MOCKCTI_COMPILE=1`` compiles (setup.py reads this tuple; keep it a literal)
MODULES = (
    "mockcti.center.core",
    "mockcti.center.acd_guard",
    "mockcti.hub",
    "mockcti.session",
    "mockcti.journal",
    "mockcti.wire.codec",
    "mockcti.wire.fastpath",
    "mockcti.wire.framing",
)

_PACKAGE = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """The modules of :data:`MODULES` this mockcti has as extension modules (what Python imports first when a
    module's ``.py`` and its extension lie side by side); none in a plain install."""
    found = []
    for name in MODULES:
        stem = _PACKAGE.joinpath(*name.split(".")[1:])
        if any(stem.with_name(stem.name + suffix).exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES):
            found.append(name)
    return found


def describe() -> str:
    """``pure Python``, or ``compiled with mypyc (N of M modules)``."""
    found = compiled_modules()
    return f"compiled with mypyc ({len(found)} of {len(MODULES)} modules)" if found else "pure Python"
