"""The simulated contact center (pure): configuration and the center itself.

See :mod:`mockcti.center.core` for what a request does and :mod:`mockcti.center.config` for the
center description (TOML/YAML) and the embedded default of ``mockcti serve``.
"""

from mockcti.center.config import (
    AgentConfig, CallConfig, CenterConfig, CenterConfigError, CSQConfig, default_center, load_center_file,
)
from mockcti.center.core import Agent, Call, ContactCenter, Delivery, Failure, Leg, OpenResult, Subscription

__all__ = [
    "AgentConfig", "CallConfig", "CenterConfig", "CenterConfigError", "CSQConfig", "default_center",
    "load_center_file", "Agent", "Call", "ContactCenter", "Delivery", "Failure", "Leg", "OpenResult", "Subscription",
]
