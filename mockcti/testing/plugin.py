"""pytest plugin entry point (``pytest11``). Imports nothing heavy at module level."""
