"""mockcti: a mock Cisco Unified CCX (UCCX) / UCCE CTI server for testing CTI clients.

The public surface is small on purpose; see ``__all__`` and the README. Everything below
``mockcti.server`` is sans-IO: it takes bytes, events and a clock value and returns bytes,
events and actions.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
