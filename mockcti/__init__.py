"""mockcti: a mock Cisco Unified CCX (UCCX) / UCCE CTI server for testing CTI clients.

The public surface is small on purpose and importing this package is cheap: the names below are
loaded on first use.

- :class:`MockServer`, :class:`ServerConfig` — the server (``mockcti.server``)
- :class:`CTIClient`, :class:`RequestFailed` — a small asyncio client (``mockcti.client``)
- :class:`ContactCenter`, :class:`CenterConfig`, :func:`default_center` — the simulated center
- :class:`Journal` — what happened during a run (``mockcti.journal``)
- :mod:`mockcti.wire` — the protocol: messages, enums, codec; :mod:`mockcti.catalog` — error codes

Everything below ``mockcti.server`` is sans-IO: it takes bytes, events and a clock value and
returns bytes, events and actions.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# (not typing's: importing this package is the first thing the `mockcti` command does, before it can take a Ctrl-C
# as status 130; a type checker reads any TYPE_CHECKING as true)
TYPE_CHECKING = False
if TYPE_CHECKING:  # what a type checker sees of the lazy names below (they are not imported at runtime)
    from typing import Any

    from mockcti.center import CenterConfig, ContactCenter, default_center
    from mockcti.client import CTIClient, RequestFailed
    from mockcti.journal import Journal
    from mockcti.server import MockServer, ServerConfig

_LAZY = {
    "MockServer": "mockcti.server",
    "ServerConfig": "mockcti.server",
    "CTIClient": "mockcti.client",
    "RequestFailed": "mockcti.client",
    "ContactCenter": "mockcti.center",
    "CenterConfig": "mockcti.center",
    "default_center": "mockcti.center",
    "Journal": "mockcti.journal",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockcti' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
