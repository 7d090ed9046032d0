"""Shared test configuration."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` directory beside the checkout (CI always has it)."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is not beside the checkout ({SHARED})")
    return SHARED
