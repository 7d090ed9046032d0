"""Subcommands of the ``mockcti`` CLI, one module each (see :mod:`mockcti.cli`)."""
