"""Cutting frames out of a TCP byte stream (reference §2.1, §2.4).

Owns :class:`FrameBuffer`: fed arbitrary chunks (one byte at a time, many frames in one
chunk, a frame split anywhere), it yields complete :class:`~mockcti.wire.codec.Frame` objects.
It never buffers more than one header plus one body of at most ``max_body`` bytes.

A BodyLength over the limit cannot be told apart from garbage, so by default the buffer fails
(``FrameError``, not recoverable: answer, then close the connection, as reference §2.4
recommends). With ``on_oversize="discard"`` it instead skips the announced body without
storing it and resynchronises on the next header.

Must import nothing from mockcti outside ``mockcti.wire``.
"""

from __future__ import annotations

import struct
from typing import Any, overload

from .codec import HEADER, Frame
from .dialect import DEFAULT_MAX_BODY
from .enums import StatusCode
from .errors import FrameError

_UINT = struct.Struct(">I")
_UINT_FRAME = struct.Struct(">III")  # a header and a one-UINT body (HEARTBEAT_REQ)

__all__ = ["FrameBuffer"]


_new_frame = tuple.__new__  # Frame is a NamedTuple: building it from a tuple skips its Python __new__


class FrameBuffer:
    """Incremental frame parser.

    >>> fb = FrameBuffer()
    >>> fb.feed(bytes.fromhex("0000000400000005000000"))
    []
    >>> [f.type_id for f in fb.feed(b"\\x02")]
    [5]
    """

    __slots__ = ("max_body", "on_oversize", "_buf", "_offset", "_skip", "_failed")

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, *, on_oversize: str = "fail") -> None:
        if on_oversize not in ("fail", "discard"):
            raise ValueError("on_oversize must be 'fail' or 'discard'")
        if max_body < 0:
            raise ValueError("max_body must be >= 0")
        self.max_body = max_body
        self.on_oversize = on_oversize
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self._skip = 0  # bytes of an oversized body still to discard
        self._failed: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame (always <= 8 + max_body)."""
        return len(self._buf)

    @property
    def offset(self) -> int:
        """Stream offset of the next unparsed byte."""
        return self._offset

    @property
    def failed(self) -> FrameError | None:
        """The unrecoverable error that stopped this stream, if any."""
        return self._failed

    @overload
    def feed(self, data: bytes) -> list[Frame | FrameError]: ...
    @overload
    def feed(self, data: bytes, *, quick_type: int | None) -> list[Frame | FrameError | int]: ...

    def feed(self, data: bytes, *, quick_type: int | None = None) -> list[Any]:
        """Add bytes; return, in stream order, every frame they complete.

        ``quick_type``: a frame of this type whose body is exactly one UINT (HEARTBEAT_REQ) comes
        back as that UINT (an ``int``, its InvokeID) instead of a :class:`Frame` — no copy, no object.

        A BodyLength over the limit appears in the list as a :class:`FrameError` (never
        raised): with ``on_oversize="fail"`` it is the last item ever returned, and later calls
        return nothing; with ``"discard"`` parsing goes on after the skipped body.
        """
        out: list[Frame | FrameError | int] = []
        if self._failed is not None:
            return out
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            self._offset += n
            data = data[n:]
            if self._skip:
                return out
        # nothing buffered (the usual case): cut frames straight out of the chunk, no copy into a buffer
        if self._buf:
            buf: bytes | bytearray = self._buf
            buf += data
        else:
            buf = data
        pos = 0
        hsize = HEADER.size
        max_body = self.max_body
        n = len(buf)
        while n - pos >= hsize:
            length, type_id = HEADER.unpack_from(buf, pos)
            if type_id == quick_type and length == 4:
                if n - pos < 12:
                    break
                out.append(_UINT.unpack_from(buf, pos + 8)[0])
                pos += 12
                continue
            if length > max_body:
                err = FrameError(
                    f"BodyLength {length} exceeds the limit of {max_body} bytes",
                    status=StatusCode.E_CTI_UNSPECIFIED_FAILURE, offset=self._offset + pos, type_id=type_id,
                    invoke_id=int.from_bytes(buf[pos + 8:pos + 12], "big") if len(buf) - pos >= 12 else None,
                    recoverable=self.on_oversize == "discard")
                out.append(err)
                if self.on_oversize == "fail":
                    self._failed = err
                    self._offset += len(buf)
                    self._buf = bytearray()
                    return out
                take = min(len(buf) - pos - hsize, length)
                pos += hsize + take
                self._skip = length - take
                if self._skip:
                    break
                continue
            end = pos + hsize + length
            if n < end:
                break
            out.append(_new_frame(Frame, (type_id, bytes(buf[pos + hsize:end]), self._offset + pos)))
            pos = end
        if buf is data:
            if pos < n:
                self._buf = bytearray(data[pos:])
        elif pos:
            del self._buf[:pos]  # (buf is self._buf here: the bytearray data was appended to)
        self._offset += pos
        return out

    def uint_frames(self, data: bytes, type_id: int) -> list[int] | None:
        """When nothing is buffered and ``data`` is nothing but whole frames of ``type_id`` whose body
        is one UINT (a chunk of HEARTBEAT_REQs): those UINTs, in order; otherwise None. Consumes
        nothing: a caller that takes them calls :meth:`skip_fed`, otherwise :meth:`feed`."""
        if self._buf or self._skip or self._failed is not None or len(data) % 12 or not data:
            return None
        out = []
        for length, tid, value in _UINT_FRAME.iter_unpack(data):
            if tid != type_id or length != 4:
                return None
            out.append(value)
        return out

    def skip_fed(self, data: bytes) -> None:
        """``data`` (checked with :meth:`uint_frames`) was handled by the caller: count it as read."""
        self._offset += len(data)

    def at_frame_boundary(self) -> bool:
        """True when no partial frame is buffered (useful to tell a clean EOF from a cut one)."""
        return not self._buf and not self._skip

    def pending_header(self) -> tuple[int, int] | None:
        """(BodyLength, MessageTypeID) of the frame begun but not complete, when its 8-byte header is
        buffered; None otherwise (nothing buffered, or fewer than 8 bytes: see :attr:`buffered`)."""
        if len(self._buf) < HEADER.size:
            return None
        return HEADER.unpack_from(self._buf, 0)
