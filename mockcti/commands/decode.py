"""``mockcti decode``: CTI frames in, one decoded message per line out."""

from __future__ import annotations

import argparse
import re
import sys

HELP = "decode CTI frames given as hex (argument or '-' for stdin) or raw bytes (--file)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hex", nargs="*", help="hex bytes of one or more concatenated frames; '-' reads hex from stdin "
                                          "(spaces, newlines, '0x' prefixes and hexdump offsets are ignored)")
    p.add_argument("--file", "-f", help="read raw bytes of concatenated frames from this file")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--version", "-V", type=int, default=None,
                   help="protocol version for frames other than OPEN_REQ (default: an OPEN_REQ in the input, else 18)")
    p.add_argument("--profile", choices=["uccx", "ucce"], default="uccx", help="protocol profile (default uccx)")
    p.add_argument("--v18-length-width", type=int, choices=[1, 2], default=2,
                   help="floating length width at UCCX version 18 (unconfirmed in the guide; default 2)")
    p.add_argument("--reserved", action="store_true", help="also show reserved fields that carry their usual value")


_OFFSET = re.compile(r"^\s*[0-9a-fA-F]{4,8}[:\s]\s+(?=[0-9a-fA-F]{2}\b)", re.M)


def parse_hex(text: str) -> bytes:
    """Hex as people paste it: ``00 00 00 04``, ``0x00,0x04``, ``00000004`` or a hexdump with offsets."""
    text = _OFFSET.sub("", text)
    text = re.sub(r"0[xX]", "", text)
    digits = re.sub(r"[\s,:;]", "", text)
    if re.search(r"[^0-9a-fA-F]", digits):
        bad = re.search(r"[^0-9a-fA-F]", digits).group(0)
        raise ValueError(f"not hex: {bad!r}")
    if len(digits) % 2:
        raise ValueError("odd number of hex digits")
    return bytes.fromhex(digits)


def run(args: argparse.Namespace) -> int:
    from mockcti.wire import DecodeError, Dialect, FrameBuffer, FrameError, MessageType, decode
    from mockcti.wire.dialect import PROFILES
    from mockcti.journal import json_text
    from mockcti.wire.render import format_message, message_to_dict

    try:
        if args.file:
            with open(args.file, "rb") as fh:
                data = fh.read()
        else:
            text = " ".join(args.hex)
            if args.hex == ["-"] or not args.hex:
                if sys.stdin.isatty() and not args.hex:
                    print("mockcti decode: give hex, '-' (hex on stdin) or --file", file=sys.stderr)
                    return 2
                text = sys.stdin.read()
            data = parse_hex(text)
    except (OSError, ValueError) as exc:
        print(f"mockcti decode: {exc}", file=sys.stderr)
        return 2

    profile = PROFILES[args.profile]
    version = args.version if args.version is not None else profile.max_version
    dialect = Dialect(profile=profile, version=version, v18_length_width=args.v18_length_width)
    fb = FrameBuffer(max_body=len(data))
    status = 0
    for item in fb.feed(data):
        if isinstance(item, FrameError):  # cannot happen with max_body=len(data); kept for safety
            print(f"offset {item.offset}: {item.reason}", file=sys.stderr)
            return 1
        try:
            msg = decode(item, dialect)
        except DecodeError as exc:
            where = item.offset + 8 + (exc.offset or 0) if exc.offset is not None else item.offset
            print(f"offset {where}: {exc}", file=sys.stderr)
            status = 1
            continue
        if msg.TYPE is MessageType.OPEN_REQ and args.version is None and profile.supports(msg.version_number):
            dialect = dialect.with_version(msg.version_number)  # later frames follow the session's version
        if args.json:
            print(json_text({"offset": item.offset, **message_to_dict(msg)}))
        else:
            print(format_message(msg, reserved=args.reserved))
    if not fb.at_frame_boundary():
        print(f"offset {fb.offset}: incomplete frame: {fb.buffered} byte(s) left over "
              f"(a frame needs an 8-byte header and BodyLength bytes)", file=sys.stderr)
        status = 1
    return status
