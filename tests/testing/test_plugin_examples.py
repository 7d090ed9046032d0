"""``examples/`` is outside ``testpaths``: run it here so that ``pytest`` from the root covers it."""

from __future__ import annotations

from pathlib import Path

import pytest

import mockcti.client  # noqa: F401  (imported once here: the inner session reuses it)
import mockcti.testing.fixtures  # noqa: F401

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.skipif(not (EXAMPLES / "test_my_client.py").is_file(), reason="examples/ not there")
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_examples_pass(pytester: pytest.Pytester, mode: str) -> None:
    result = pytester.runpytest(str(EXAMPLES), "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                "-o", f"asyncio_mode={mode}")
    result.assert_outcomes(passed=6)
