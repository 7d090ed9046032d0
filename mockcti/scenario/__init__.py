"""Scenarios: scripted replies, failures, events and faults for the mock (model and loader).

``load_scenario(path)`` reads a YAML or TOML scenario file into a validated, resolved
:class:`Scenario`; every problem is a :class:`ScenarioError` naming file, line and key path.
``load_schema()`` returns the JSON Schema of the format. Names are imported lazily so that
``import mockcti.scenario`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODEL = (
    "Location", "Predicate", "Match", "Fault", "Reply", "Fail", "Emit", "Delay", "Close", "Goto", "Default",
    "Capture", "DeliverCall", "HangUp", "SetAgentState", "SystemEvent", "Failover", "Action", "REQUEST_ACTIONS", "Rule",
    "ExpectStep", "SendStep", "WaitStep", "DoStep", "Step", "Happening", "Expectation", "End", "DialectSpec",
    "Scenario", "FAULT_KINDS", "FAULT_PARAMS", "BUILTIN_NAMES", "substitute", "references",
)
_LOADER = ("ScenarioError", "load_scenario", "load_scenario_text", "load_schema")

__all__ = sorted(_MODEL + _LOADER)


def __getattr__(name: str) -> Any:
    if name in _MODEL:
        return getattr(importlib.import_module("mockcti.scenario.model"), name)
    if name in _LOADER:
        return getattr(importlib.import_module("mockcti.scenario.loader"), name)
    raise AttributeError(f"module 'mockcti.scenario' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
