"""The wheel ships the top-level catalog/ as the package mockcti.catalog_data, unchanged."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP = {p.name: p.read_bytes() for p in sorted((REPO / "catalog").glob("*.toml"))}


def _setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_pyproject_maps_catalog_into_the_package() -> None:
    cfg = _setuptools_config()
    assert cfg["package-dir"]["mockcti.catalog_data"] == "catalog"
    assert "*.toml" in cfg["package-data"]["mockcti.catalog_data"]
    assert "mockcti.catalog_data" in cfg["packages"]
    assert len(TOP) == 7


def test_pyproject_lists_every_package() -> None:
    """packages is an explicit list (find cannot see the mapped package): keep it complete."""
    listed = set(_setuptools_config()["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "mockcti").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    missing = on_disk - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    for pkg in listed - {"mockcti.catalog_data"}:
        assert (REPO / Path(*pkg.split("."))).is_dir(), f"{pkg} is listed in pyproject.toml but does not exist"


def test_installed_package_data_equals_top_level_catalog() -> None:
    if importlib.util.find_spec("mockcti.catalog_data") is None:
        pytest.skip(
            "mockcti.catalog_data is not importable: this environment's editable install predates the "
            "mapping (reinstall with pip install -e .); mockcti.catalog falls back to <repo>/catalog"
        )
    root = resources.files("mockcti.catalog_data")
    packaged = {t.name: t.read_bytes() for t in root.iterdir() if t.name.endswith(".toml")}
    assert packaged == TOP


@pytest.mark.slow
def test_wheel_contains_the_catalog(tmp_path: Path) -> None:
    """Build a wheel from a copy of the tree (the shared checkout is not touched) and compare."""
    has_bdist_wheel = importlib.util.find_spec("wheel") is not None
    if not has_bdist_wheel:
        try:
            import setuptools.command.bdist_wheel  # noqa: F401  (setuptools >= 70.1)

            has_bdist_wheel = True
        except ImportError:
            pass
    if not has_bdist_wheel:
        pytest.skip("cannot build a wheel offline here: neither 'wheel' nor setuptools >= 70.1 is installed")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "setup.py"):
        shutil.copy(REPO / name, src / name)
    for name in ("mockcti", "catalog"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        packaged = {
            n.rsplit("/", 1)[1]: z.read(n) for n in z.namelist()
            if n.startswith("mockcti/catalog_data/") and n.endswith(".toml")
        }
        typing_files = {n: z.read(n) for n in ("mockcti/py.typed", "mockcti/wire/messages.pyi") if n in z.namelist()}
    assert packaged == TOP
    # a type checker of an installed mockcti sees the message classes (py.typed and the generated stub)
    assert set(typing_files) == {"mockcti/py.typed", "mockcti/wire/messages.pyi"}
    assert typing_files["mockcti/wire/messages.pyi"] == (REPO / "mockcti/wire/messages.pyi").read_bytes()
