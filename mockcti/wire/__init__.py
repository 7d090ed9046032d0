"""Bytes <-> messages, pure: the UCCX/UCCE CTI wire protocol (reference §1–6, §8).

``decode(frame, dialect)`` turns a :class:`Frame` into a frozen message dataclass and
``encode(message, dialect)`` turns one back into bytes (``encode_shared`` also remembers them on
the message, for messages sent to many sessions); :class:`FrameBuffer` cuts frames out of
a byte stream; :class:`Dialect` says which protocol version and field widths apply. Every
failure is a :class:`DecodeError` / :class:`EncodeError` carrying the E_CTI status a server
answers with.

Nothing in this package does I/O, sleeps or reads a clock.
"""

from . import enums, messages
from .codec import (
    Frame, decode, decode_bytes, decoder, decode_construct, encode, encode_construct, encode_shared, invoke_id_of,
    spec_in,
)
from .dialect import UCCE, UCCX, Dialect, Profile
from .enums import MessageType, StatusCode, Tag
from .errors import CTIError, DecodeError, EncodeError, FrameError
from .framing import FrameBuffer
from .messages import by_name as message_class_by_name
from .spec import MESSAGE_CLASSES, SPECS, Message, MessageSpec, spec_for

__all__ = [
    "enums", "messages",
    "Frame", "decode", "decoder", "decode_bytes", "decode_construct", "encode", "encode_construct", "encode_shared",
    "invoke_id_of", "spec_in",
    "UCCE", "UCCX", "Dialect", "Profile",
    "MessageType", "StatusCode", "Tag",
    "CTIError", "DecodeError", "EncodeError", "FrameError",
    "FrameBuffer",
    "message_class_by_name",
    "MESSAGE_CLASSES", "SPECS", "Message", "MessageSpec", "spec_for",
]
