"""The exception tree of the wire layer (house style 4: one tree, every error carries its status).

Every protocol error carries the E_CTI status a UCCX server answers with (reference §2.3,
§7.1) and says whether the peer broke the rule (``remote``: it sent bad bytes) or we did
(``local``: we, or a scenario, tried to build a message the protocol cannot carry).

Must import nothing from mockcti outside ``mockcti.wire``.
"""

from __future__ import annotations

from .enums import StatusCode

__all__ = ["CTIError", "DecodeError", "EncodeError", "FrameError"]


class CTIError(Exception):
    """Base of every protocol error raised by mockcti."""

    status: StatusCode = StatusCode.E_CTI_UNSPECIFIED_FAILURE
    remote: bool = True

    def __init__(self, reason: str, *, status: StatusCode | int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = StatusCode(status)


class DecodeError(CTIError):
    """Bytes from the peer that do not form a valid message.

    ``path`` names the field (``("floating", "AgentID")``), ``offset`` is the byte offset in the
    body where the problem starts, ``invoke_id`` the request's InvokeID when it could be read
    (the first UINT of the body), so the server can still echo it in FAILURE_CONF.
    """

    def __init__(self, reason: str, *, status: StatusCode | int, path: tuple[str, ...] = (),
                 offset: int | None = None, invoke_id: int | None = None,
                 type_id: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.path = path
        self.offset = offset
        self.invoke_id = invoke_id
        self.type_id = type_id

    def __str__(self) -> str:
        where = ".".join(self.path)
        parts = [self.reason]
        if where:
            parts.append(f"field {where}")
        if self.offset is not None:
            parts.append(f"body offset {self.offset}")
        parts.append(f"status {self.status.name} ({int(self.status)})")
        return "; ".join(parts)


class FrameError(DecodeError):
    """The byte stream itself is broken (e.g. a BodyLength over the limit).

    ``recoverable`` is False when the stream cannot be resynchronised: the connection must be
    closed after answering.
    """

    def __init__(self, reason: str, *, status: StatusCode | int, offset: int | None = None,
                 invoke_id: int | None = None, type_id: int | None = None,
                 recoverable: bool = False) -> None:
        super().__init__(reason, status=status, offset=offset, invoke_id=invoke_id, type_id=type_id)
        self.recoverable = recoverable


class EncodeError(CTIError):
    """A message that cannot be put on the wire as asked (our side's mistake)."""

    remote = False

    def __init__(self, reason: str, *, status: StatusCode | int = StatusCode.E_CTI_UNSPECIFIED_FAILURE,
                 path: tuple[str, ...] = ()) -> None:
        super().__init__(reason, status=status)
        self.path = path

    def __str__(self) -> str:
        where = ".".join(self.path)
        return f"{self.reason}" + (f"; field {where}" if where else "")
