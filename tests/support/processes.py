"""Subprocesses the tests start (``mockcti serve`` ...): ended and their pipes closed."""

from __future__ import annotations

import subprocess


def reap(proc: subprocess.Popen) -> None:
    """A subprocess at the end of a test: killed if it still runs, waited for, and its pipes closed
    (a pipe left open is a ResourceWarning when the Popen object is collected)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
