"""Hypothesis's entry point (``[project.entry-points.hypothesis]``): ``st.from_type(OpenReq)`` draws valid messages
without importing :mod:`mockcti.testing.strategies` first.

Hypothesis runs :func:`register` as it is imported (unless ``HYPOTHESIS_NO_PLUGINS`` is set), so it works whichever
of Hypothesis and ``mockcti.wire`` a test imports first. ``mockcti serve`` imports neither this module nor Hypothesis.
Before, a message class resolved to ``st.builds()`` of its annotations (strings too long for their fields, numbers
out of range: messages that do not encode) unless the strategies module had been imported.
"""

from __future__ import annotations

from typing import Any


def register() -> None:
    """Register a strategy for every message class: :func:`mockcti.testing.strategies.from_message_type`,
    built when a class is first looked up (the strategies module is imported then, not as Hypothesis is)."""
    from hypothesis import strategies as st

    from mockcti.wire.spec import MESSAGE_CLASSES

    for cls in MESSAGE_CLASSES.values():
        st.register_type_strategy(cls, _strategy_for)


def _strategy_for(cls: type) -> Any:
    from mockcti.testing.strategies import from_message_type

    return from_message_type(cls)
