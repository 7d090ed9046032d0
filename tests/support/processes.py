"""Subprocesses the tests start (``mockcti serve`` ...): ended and their pipes closed, and their output read
as it comes."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable
from typing import IO


def reap(proc: subprocess.Popen) -> None:
    """A subprocess at the end of a test: killed if it still runs, waited for, and its pipes closed
    (a pipe left open is a ResourceWarning when the Popen object is collected)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def read_lines_until(pipe: IO[bytes], done: Callable[[list[str]], bool], seconds: float = 30.0) -> bytes:
    """The bytes read from ``pipe`` (a subprocess's stdout or stderr) until ``done(lines)`` holds of the lines
    read so far, the pipe ends, or ``seconds`` have passed, whichever comes first: bounded in time, each wait
    at most 1 s, ``done`` asked after each read and each second without one. The caller checks what it got."""
    got = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([pipe], [], [], min(1.0, max(0.0, deadline - time.monotonic())))
        if ready:
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                break
            got += chunk
        if done(got.decode(errors="replace").splitlines()):
            break
    return got
