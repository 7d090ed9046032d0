"""The build's one dynamic part (pyproject.toml has the rest): the compiled build.

``pip install .`` builds plain Python. With ``MOCKCTI_COMPILE=1`` the modules of ``mockcti.compiled.MODULES``
are compiled with mypyc (C extensions beside the sources), which needs mypy and a C compiler where the wheel is
built; pip's isolated build environment has neither, so::

    pip install setuptools wheel 'mypy==2.4.1'
    MOCKCTI_COMPILE=1 pip install --no-build-isolation .

An editable install (``pip install -e``) is refused compiled: the extensions would sit beside the sources and
Python would import them instead of the files being edited.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def _modules() -> list[str]:
    """``MODULES`` of mockcti/compiled.py, read without importing the package."""
    tree = ast.parse((HERE / "mockcti" / "compiled.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise SystemExit("mockcti/compiled.py: no MODULES tuple")


def _ext_modules() -> list:
    flag = os.environ.get("MOCKCTI_COMPILE", "").strip().lower()
    if flag in ("", "0", "no", "false"):
        return []
    if flag not in ("1", "yes", "true"):
        raise SystemExit(f"MOCKCTI_COMPILE={flag!r}: 1 compiles the hot modules with mypyc, 0 or unset builds plain "
                         "Python")
    if "editable_wheel" in sys.argv or "develop" in sys.argv:
        raise SystemExit("MOCKCTI_COMPILE=1 with an editable install: the compiled modules would shadow the "
                         "sources; install it without -e (pip install --no-build-isolation .)")
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit("MOCKCTI_COMPILE=1 needs mypy (mypyc) where the wheel is built: pip install setuptools "
                         "wheel 'mypy==2.4.1', then MOCKCTI_COMPILE=1 pip install --no-build-isolation .") from None
    paths = [str(Path(*name.split(".")).with_suffix(".py")) for name in _modules()]
    return mypycify(paths, opt_level="3")


setup(ext_modules=_ext_modules())
