"""Reading the files a user names (scenarios, their includes, center descriptions): only a regular
file, of at most :data:`MAX_FILE_BYTES`, checked with ``os.stat`` before it is opened — so a FIFO
(which would block), a device such as ``/dev/zero`` (which would exhaust memory) or
``/proc/self/fd/0`` (the server's own stdin) is refused with a reason, never read."""

from __future__ import annotations

import os
import stat

__all__ = ["MAX_FILE_BYTES", "Unreadable", "read_regular_file"]

#: the largest scenario, include or center file read (a scenario is a few KB; this is generous)
MAX_FILE_BYTES = 4 * 1024 * 1024


class Unreadable(Exception):
    """Why a file is not read (the caller words and locates the ScenarioError)."""


def _kind_of(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file a user named: only a regular file (``os.stat`` first, so a FIFO,
    a device or ``/proc/self/fd/0`` is refused before anything is opened) of at most
    :data:`MAX_FILE_BYTES` (at most that plus one byte is read, should it grow meanwhile).
    Raises :class:`Unreadable` with the reason."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise Unreadable(exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        kind = _kind_of(st.st_mode)
        raise Unreadable(kind if kind == "not a regular file" else f"{kind}, not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise Unreadable(f"too large: {st.st_size} bytes; the limit is {MAX_FILE_BYTES} (MAX_FILE_BYTES)")
    # O_NONBLOCK: should the path become a FIFO between stat and open, open still returns at once
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise Unreadable(exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after the stat above
            raise Unreadable("not a regular file")
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"too large: more than {MAX_FILE_BYTES} bytes (MAX_FILE_BYTES)")
    return data
