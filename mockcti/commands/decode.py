"""``mockcti decode``: CTI frames in, one decoded message per line out."""

from __future__ import annotations

import argparse
import re
import sys

from mockcti.commands import FIELD_TAG_HELP, MESSAGE_ID_HELP, print_error, renumbered

HELP = "decode CTI frames given as hex (argument or '-' for stdin) or raw bytes (--file)"

#: the most hex text read from stdin (a hexdump -C line carries 16 bytes in 78 characters)
MAX_HEX_CHARS = 32 * 1024 * 1024
#: the most bytes a dump may describe (its '*' lines repeat the line before up to the next offset)
MAX_DUMP_BYTES = 4 * 1024 * 1024


EPILOG = """exit codes:
  0  every frame decoded
  1  a frame does not decode, or the input ends in the middle of one (its byte offset and
     the reason on stderr)
  2  bad usage: a version the profile does not have, text that is not hex, a damaged dump,
     no bytes at all, hex arguments together with --file or -, a --file that is not a
     regular file, a bad --message-id or --field-tag"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("hex", nargs="*",
                   help="hex bytes of one or more concatenated frames; '-' reads hex from stdin. Plain hex "
                        "(spaces, newlines, commas, colons and '0x' prefixes are ignored) or the output of "
                        "hexdump -C, xxd (also -g N, -c N, -d, -a) or od -t x1 (-A x, d or o): offsets, the text "
                        "column and the last line's end offset are dropped, '*' lines are expanded")
    p.add_argument("--file", "-f", help="read raw bytes of concatenated frames from this file (a regular file)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--version", "-V", type=int, default=None,
                   help="protocol version for frames other than OPEN_REQ, within the profile's range (uccx 10-18, "
                        "ucce 9-24; default: an OPEN_REQ's version in the input, else the profile's newest: "
                        "18 for uccx, 24 for ucce)")
    p.add_argument("--profile", choices=["uccx", "ucce"], default="uccx", help="protocol profile (default uccx)")
    p.add_argument("--v18-length-width", type=int, choices=[1, 2], default=2,
                   help="floating length width at UCCX version 18 (unconfirmed in the guide; default 2)")
    p.add_argument("--field-tag", action="append", default=[], metavar="MESSAGE.Field=TAG", help=FIELD_TAG_HELP)
    p.add_argument("--message-id", action="append", default=[], metavar="NAME=N",
                   help=MESSAGE_ID_HELP + " (as given to mockcti serve, to read its capture)")
    p.add_argument("--reserved", action="store_true", help="also show reserved fields that carry their usual value")


# -- hex as people paste it ---------------------------------------------------------------------

# the offset that starts a dump line: xxd and tcpdump ("00000010:", "0x0010:"), hexdump -C and od ("000010 ")
_COLON_OFFSET = re.compile(r"(?:0[xX])?([0-9a-fA-F]{4,16}):(?=\s|$)")
_SPACE_OFFSET = re.compile(r"([0-9a-fA-F]{4,16})(?=\s|$)")
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


def parse_hex(text: str) -> bytes:
    """Hex as people paste it: ``00 00 00 04``, ``0x00,0x04``, ``00000004``, or a dump with offsets
    (``hexdump -C``, ``xxd``, ``od -A x -t x1``; see :func:`_parse_dump`). Raises ``ValueError``."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if lines:
        first = _dump_line(lines[0][1], lines[0][0], first=True, more_lines=len(lines) > 1)
        if first is not None and first[1]:
            return _parse_dump(lines)
    if any(s == "*" for _, s in lines):
        raise ValueError("a '*' line (repeated lines left out by hexdump, od or xxd -a) can only be expanded "
                         "between offsets: dump with offsets, or with -v (hexdump, od) to print every line")
    text = re.sub(r"0[xX]", "", text)
    digits = re.sub(r"[\s,:;]", "", text)
    bad = _NOT_HEX.search(digits)
    if bad:
        raise ValueError(f"not hex: {bad.group(0)!r}")
    if len(digits) % 2:
        raise ValueError("odd number of hex digits")
    return bytes.fromhex(digits)


def _strip_text_column(s: str) -> tuple[str, bool]:
    """The hex of a dump line without the text column of ``hexdump -C`` (``|...|``) or ``od -t x1z``
    (``>...<``), and whether it had one. The hex before it holds neither character, so the column
    starts at the first one, whatever the text shows."""
    for opening, closing in (("|", "|"), (">", "<")):
        i = s.find(opening)
        if 0 < i < len(s) - 1 and s.endswith(closing):
            return s[:i].rstrip(), True
    return s, False


def _hex_bytes(groups: str) -> int | None:
    """How many bytes whitespace-separated hex groups hold, or None if they are not all hex."""
    digits = re.sub(r"\s", "", groups)
    return None if _NOT_HEX.search(digits) else len(digits) // 2


def _dump_line(s: str, lineno: int, *, first: bool, more_lines: bool = False) -> tuple[str, str] | None:
    """(offset, hex) of a dump line, or None when it does not start with an offset.

    ``offset:`` (xxd, tcpdump -x/-X): hex groups, then two spaces and a text column of one character
    per byte (which may show anything, '|' and hex digits too), or a ``|...|`` column.
    ``offset `` (hexdump -C, od): single bytes, then maybe a ``|...|`` or ``>...<`` column. On the
    first line such an offset must differ in width from every group after it, which tells
    ``000010 00 00 00 06`` (od) from plain hex such as ``00000004 00000005``, and be followed by two
    spaces or a text column, be of odd width or have more lines after it (od prints the end offset
    last), which tells it from plain hex such as ``0000000c 00 00 00 01``."""
    m = _COLON_OFFSET.match(s)
    if m:
        rest = s[m.end():].strip()
        parts = re.split(r"\s{2,}", rest, maxsplit=1)
        if len(parts) == 1:
            return m.group(1), rest
        nbytes = _hex_bytes(parts[0])
        if nbytes is not None and len(parts[1]) <= nbytes:
            return m.group(1), parts[0]
        hex_part, had_column = _strip_text_column(rest)
        if had_column:
            return m.group(1), hex_part
        raise ValueError(
            f"line {lineno}: {parts[1]!r} after two spaces is not the text column of the {nbytes or 0} byte(s) "
            "before it (an 'offset:' line is hex groups, two spaces, then one character per byte)")
    m = _SPACE_OFFSET.match(s)
    if m:
        rest, had_column = _strip_text_column(s[m.end():].strip())
        groups = rest.split()
        if first and (any(len(group) == len(m.group(1)) for group in groups)
                      or not (had_column or more_lines or len(m.group(1)) % 2 or s[m.end():m.end() + 2] == "  ")):
            return None
        wide = next((g for g in groups if len(g) != 2 and not _NOT_HEX.search(g)), None)
        if wide is not None:
            raise ValueError(
                f"line {lineno}: after an offset without ':' only single bytes (2 hex digits) are read, not "
                f"{wide!r}: hexdump and od print wider groups in the machine's byte order; use hexdump -C, "
                "od -t x1 or xxd")
        return m.group(1), rest
    return None


class _OffsetMismatch(ValueError):
    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


def _parse_dump(lines: list[tuple[int, str]]) -> bytes:
    """The bytes of a dump: every line starts with its offset, which is dropped; a line that is only
    an offset (the end offset hexdump and od print last) ends the dump, and another may follow;
    ``*`` (hexdump, od and ``xxd -a`` squeeze repeated lines) repeats the line before it up to the
    next line's offset. The offsets are checked against the bytes (hex; decimal for ``xxd -d`` and
    ``od -A d``; octal for ``od -t x1``): a line dropped or a text column misread is an error."""
    rows: list[tuple[int, str, bytes]] = []  # (line number, offset or "*", bytes)
    for n, s in lines:
        if s == "*":
            if not rows or not rows[-1][2]:
                raise ValueError(f"line {n}: '*' (the line before, repeated) with no line of bytes before it")
            rows.append((n, "*", b""))
            continue
        parsed = _dump_line(s, n, first=False)
        if parsed is None:
            raise ValueError(f"line {n}: no offset at its start, as the dump's first line (line {lines[0][0]}) "
                             f"has: {s[:40]!r}")
        offset, hex_part = parsed
        digits = re.sub(r"\s", "", hex_part)
        bad = _NOT_HEX.search(digits)
        if bad:
            raise ValueError(f"line {n}: not hex: {bad.group(0)!r}")
        if len(digits) % 2:
            raise ValueError(f"line {n}: odd number of hex digits")
        rows.append((n, offset, bytes.fromhex(digits)))
    if rows[-1][1] == "*":
        raise ValueError(f"line {rows[-1][0]}: '*' (the line before, repeated) needs a line with an offset "
                         "after it, to tell how many lines it stands for")
    # Which tool printed the offsets tells their radix: od's 7 digits are octal, or decimal (-A d); xxd's
    # 'offset:' hex, or decimal (-d); the other widths (hexdump -C, od -A x) hex. One at a time: a
    # line missing from a hex dump may well fit as octal, and after a '*' several readings may fit.
    if _COLON_OFFSET.match(lines[0][1]):
        radixes: tuple[int, ...] = (16, 10)
    elif len(rows[0][1]) == 7:
        radixes = (8, 10)
    else:
        radixes = (16,)
    mismatches = []
    for radix in radixes:
        try:
            return _dump_bytes(rows, radix)
        except _OffsetMismatch as exc:
            mismatches.append(exc)
    raise max(mismatches, key=lambda e: e.lineno)  # the reading that got furthest


_RADIX_NAME = {16: "hex", 10: "decimal", 8: "octal"}


def _dump_bytes(rows: list[tuple[int, str, bytes]], radix: int) -> bytes:
    out = bytearray()
    start: tuple[int, int, str] | None = None  # (line, offset value, offset text) where this dump starts
    base = 0  # len(out) there
    previous = b""
    star = 0  # line of a '*' waiting for the next offset
    for n, offset, data in rows:
        if offset == "*":
            star = n
            continue
        try:
            value = int(offset, radix)
        except ValueError:
            raise _OffsetMismatch(n, f"offset {offset} is not {_RADIX_NAME[radix]}") from None
        if start is None:
            start, base = (n, value, offset), len(out)
        expected = start[1] + len(out) - base
        if star:
            gap = value - expected
            if gap <= 0 or gap % len(previous):
                raise _OffsetMismatch(n, f"offset {offset} ({_RADIX_NAME[radix]}) is not a whole number of "
                                         f"{len(previous)}-byte lines after the '*' on line {star}")
            if len(out) + gap > MAX_DUMP_BYTES:
                raise ValueError(f"line {n}: the dump describes more than {MAX_DUMP_BYTES} bytes")
            out += previous * (gap // len(previous))
            star = 0
        elif value != expected:
            raise _OffsetMismatch(n, f"offset {offset} ({_RADIX_NAME[radix]}) does not follow the {expected - start[1]} "
                                     f"byte(s) from offset {start[2]} on line {start[0]} (a line missing or changed?)")
        if not data:  # only an offset: the end of this dump; another may follow
            start, previous = None, b""
            continue
        out += data
        previous = data
    return bytes(out)


def _read_input(args: argparse.Namespace) -> bytes:
    """The bytes to decode, from ``--file``, the hex arguments or hex on stdin; ValueError says why not."""
    if args.file is not None:
        if args.hex:
            raise ValueError("give hex (arguments or '-') or --file, not both")
        from mockcti.files import Unreadable, read_regular_file

        try:
            data = read_regular_file(args.file)
        except Unreadable as exc:
            raise ValueError(f"--file {args.file}: {exc}") from None
        if not data:
            raise ValueError(f"no bytes given: --file {args.file} is empty")
        return data
    if "-" in args.hex and args.hex != ["-"]:
        raise ValueError("give hex arguments or '-' (hex on stdin), not both")
    if args.hex and args.hex != ["-"]:
        text = " ".join(args.hex)
        where = "in the arguments"
    else:
        if not args.hex and sys.stdin.isatty():
            raise ValueError("give hex, '-' (hex on stdin) or --file")
        try:
            text = sys.stdin.read(MAX_HEX_CHARS + 1)
        except UnicodeDecodeError as exc:
            raise ValueError(f"stdin is not text ({exc.reason} at byte {exc.start}); "
                             "for raw bytes use --file") from None
        if len(text) > MAX_HEX_CHARS:
            raise ValueError(f"more than {MAX_HEX_CHARS} characters on stdin; for a large capture use --file "
                             "with its raw bytes")
        where = "on stdin"
    data = parse_hex(text)
    if not data:
        raise ValueError(f"no bytes given {where}")
    return data


def _version_hint(frame, profile, v18_length_width: int) -> str:
    """Why an OPEN_REQ may not decode: a VersionNumber the profile lacks is read with the field widths
    of the profile's nearest version, and a version both profiles have can differ in widths (v18:
    UCCX 2-byte tags, UCCE 1-byte ones; UCCE v19 1-byte, UCCX has no v19). '' when nothing to add."""
    from mockcti.wire import DecodeError, Dialect, MessageType, decode
    from mockcti.wire.dialect import PROFILES

    if profile.message_type(frame.type_id) is not MessageType.OPEN_REQ or len(frame.body) < 8:
        return ""
    version = int.from_bytes(frame.body[4:8], "big")
    parts = []
    if not profile.supports(version):
        nearest = min(max(version, profile.min_version), profile.max_version)
        parts.append(f"OPEN_REQ VersionNumber {version} is not a {profile.name} protocol version "
                     f"({profile.min_version}..{profile.max_version}): read with version {nearest}'s field widths")
    for other in PROFILES.values():
        if other.name == profile.name or not other.supports(version):
            continue
        try:
            decode(frame, Dialect(profile=other, version=version, v18_length_width=v18_length_width))
        except DecodeError:
            continue
        parts.append(f"it decodes with --profile {other.name}")
        break
    return f" ({'; '.join(parts)})" if parts else ""


def _ranges(versions: list[int]) -> str:
    """``[10, 11, 12, 14]`` -> ``"10..12, 14"``."""
    out: list[str] = []
    for v in versions:
        if out and out[-1].split("..")[-1] == str(v - 1):
            out[-1] = f"{out[-1].split('..')[0]}..{v}"
        else:
            out.append(str(v))
    return ", ".join(out)


def _other_version_hint(frame, dialect, source: str) -> str:
    """Why a frame other than OPEN_REQ may not decode: the protocol version it was read with
    (``source`` says where that came from) and the profile's versions it decodes with, if any."""
    from mockcti.wire import DecodeError, MessageType, decode

    profile = dialect.profile
    if profile.message_type(frame.type_id) is MessageType.OPEN_REQ:
        return ""
    fits = []
    for v in range(profile.min_version, profile.max_version + 1):
        if v == dialect.version:
            continue
        try:
            decode(frame, dialect.with_version(v))
        except DecodeError:
            continue
        fits.append(v)
    hint = f"read as protocol version {dialect.version}, {source}"
    if fits:
        hint += f"; it decodes with --version {_ranges(fits)}"
    return f" ({hint})"


def run(args: argparse.Namespace) -> int:
    from mockcti.journal import json_text
    from mockcti.wire import DecodeError, Dialect, FrameBuffer, FrameError, MessageType, decode
    from mockcti.wire.dialect import PROFILES
    from mockcti.wire.messages import OpenReq
    from mockcti.wire.render import format_message, message_to_dict

    profile = renumbered("decode", PROFILES[args.profile], args)
    if profile is None:
        return 2
    if args.version is not None and not profile.supports(args.version):
        print(f"mockcti decode: --version {args.version} is not a {profile.name} protocol version "
              f"({profile.min_version}..{profile.max_version})", file=sys.stderr)
        return 2
    try:
        data = _read_input(args)
    except ValueError as exc:
        print(f"mockcti decode: {exc}", file=sys.stderr)
        return 2

    version = args.version if args.version is not None else profile.max_version
    source = ("given by --version" if args.version is not None
              else "the profile's newest: no --version and no OPEN_REQ before it")
    dialect = Dialect(profile=profile, version=version, v18_length_width=args.v18_length_width)
    fb = FrameBuffer(max_body=0xFFFFFFFF)  # any BodyLength: a frame longer than the input is incomplete
    status = 0
    for item in fb.feed(data):
        if isinstance(item, FrameError):  # cannot happen: no UINT exceeds max_body; kept for safety
            print_error("decode", f"offset {item.offset}: {item.reason}")
            return 1
        try:
            msg = decode(item, dialect)
        except DecodeError as exc:
            where = item.offset + 8 + (exc.offset or 0) if exc.offset is not None else item.offset
            hint = (_version_hint(item, profile, args.v18_length_width)
                    or _other_version_hint(item, dialect, source))
            print_error("decode", f"offset {where}: {exc}{hint}")
            status = 1
            continue
        if isinstance(msg, OpenReq) and args.version is None and profile.supports(msg.version_number):
            dialect = dialect.with_version(msg.version_number)  # later frames follow the session's version
            source = f"the version of the OPEN_REQ at offset {item.offset}"
        if args.json:
            print(json_text({"offset": item.offset, **message_to_dict(msg, icm=profile.icm)}))
        else:
            print(format_message(msg, reserved=args.reserved, icm=profile.icm))
    if not fb.at_frame_boundary():
        left = data[fb.offset:]
        if len(left) < 8:
            what = f"{len(left)} of the 8 header bytes given"
        else:
            what = f"header says {int.from_bytes(left[:4], 'big')} body bytes, {len(left) - 8} given"
        print_error("decode", f"offset {fb.offset}: incomplete frame: {what}")
        status = 1
    return status
