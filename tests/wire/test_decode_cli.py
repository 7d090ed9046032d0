"""`mockcti decode`: hex or raw bytes in, one message per line out; bad frames with offset and reason."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from mockcti.cli import main

HEARTBEAT_PAIR = "00 00 00 04 00 00 00 05 00 00 00 02 00 00 00 04 00 00 00 06 00 00 00 02"  # §8.7
OPEN_REQ_V14 = (
    "00 00 00 48 00 00 00 03 00 00 00 01 00 00 00 0e 00 00 00 3c 00 00 00 00 00 00 00 07 00 00 ff ff "
    "00 00 01 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 0a 61 67 65 6e 74 31 30 30 31 00 "
    "02 00 06 05 33 30 30 31 00 c2 05 31 30 30 31 00"
)  # §8.1


def test_human_readable_lines(capsys):
    assert main(["decode", *HEARTBEAT_PAIR.split()]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["HEARTBEAT_REQ invoke_id=2", "HEARTBEAT_CONF invoke_id=2"]


def test_enum_names_and_strings(capsys):
    assert main(["decode", OPEN_REQ_V14]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("OPEN_REQ invoke_id=1 version_number=14 idle_timeout=60")
    assert "services_requested=CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CALL_DATA_UPDATE|CTI_SERVICE_CLIENT_CONTROL" in line
    assert "client_id='agent1001'" in line and "agent_id='1001'" in line
    assert "reserved1" not in line  # reserved fields with their usual value are hidden
    assert main(["decode", "--reserved", OPEN_REQ_V14]) == 0
    assert "reserved1=0" in capsys.readouterr().out



def test_a_ctierr_code_in_ccx_error_code_is_named(capsys):
    """CONTROL_FAILURE_CONF's CCXErrorCode carries a Cisco CTIERR code under acd_failure_mode = "ctierr" (and a
    scenario's peripheral_error_code): decode names it from the catalog, as it names the CCX_* codes; it
    printed ccx_error_code=UNKNOWN(2362179599) for a code the mock itself sends."""
    hold_failed = "0000000a000000230000000300018ccc000f"  # CF_GENERIC_OPERATION, 0x8CCC000F
    assert main(["decode", hold_failed]) == 0
    assert capsys.readouterr().out == ("CONTROL_FAILURE_CONF invoke_id=3 failure_code=CF_GENERIC_OPERATION "
                                       "ccx_error_code=CTIERR_HOLDFAILED\n")
    assert main(["decode", "--json", hold_failed]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["fields"]["ccx_error_code"] == 0x8CCC000F and row["names"]["ccx_error_code"] == "CTIERR_HOLDFAILED"
    # a UCCX code keeps its CCX_* name; a number neither names stays unknown
    assert main(["decode", "0000000a00000023000000030016000157c1", "0000000a0000002300000003001600000005"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("ccx_error_code=CCX_JTAPI_CCM_PROBLEM") and out[1].endswith("ccx_error_code=UNKNOWN(5)")

def test_json_lines(capsys):
    assert main(["decode", "--json", HEARTBEAT_PAIR]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"offset": 0, "type": "HEARTBEAT_REQ", "type_id": 5, "fields": {"invoke_id": 2}}
    assert rows[1]["offset"] == 12 and rows[1]["type"] == "HEARTBEAT_CONF"


def test_hexdump_with_offsets_and_stdin(capsys, monkeypatch):
    import io

    dump = "0000  00 00 00 08 00 00 00 01 00 00 00 05 00 00 00 04\n"  # §8.5
    monkeypatch.setattr(sys, "stdin", io.StringIO(dump))
    assert main(["decode", "-"]) == 0
    assert capsys.readouterr().out.strip() == "FAILURE_CONF invoke_id=5 status=E_CTI_SESSION_NOT_OPEN"


def test_file_of_raw_bytes(tmp_path, capsys):
    p = tmp_path / "cap.bin"
    p.write_bytes(bytes.fromhex(HEARTBEAT_PAIR.replace(" ", "")))
    assert main(["decode", "--file", str(p)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_bad_frame_reports_offset_and_reason(capsys):
    # a HEARTBEAT_REQ, then an unknown message type 28 at offset 12
    assert main(["decode", "000000040000000500000002" "000000040000001c00000007"]) == 1
    cap = capsys.readouterr()
    assert cap.out.strip() == "HEARTBEAT_REQ invoke_id=2"
    assert cap.err.startswith("mockcti decode: offset 12:") and "E_CTI_INVALID_MESSAGE_TYPE" in cap.err


def test_truncated_input_and_bad_field(capsys):
    assert main(["decode", "00000004000000050000"]) == 1
    assert "incomplete frame" in capsys.readouterr().err
    # FAILURE_CONF whose Text field claims 16 bytes but has 2: offset of the field inside the stream
    assert main(["decode", "--version", "14", "0000000c00000001000000010000001207104142"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mockcti decode: offset 16:") and "tag 7" in err


def test_version_flag_for_non_open_frames(capsys):
    # SET_AGENT_STATE_REQ with the 17-byte (v10/v11) fixed part decodes only with --version 11
    body = bytes.fromhex("0000000a00000001000300000000000000") + bytes((6, 5)) + b"3001\0"
    frame = (len(body)).to_bytes(4, "big") + (38).to_bytes(4, "big") + body
    assert main(["decode", "--version", "11", frame.hex()]) == 0
    assert "agent_instrument='3001'" in capsys.readouterr().out
    assert main(["decode", "--version", "14", frame.hex()]) == 1


def test_a_fixed_field_the_version_lacks_is_not_shown(capsys):
    """A v11 SET_AGENT_STATE_REQ has no AgentCapacity (v12): it was printed as agent_capacity=0, in the
    lines and in the JSON, as if the client had sent one; v12 shows the one it sent."""
    body = bytes.fromhex("0000000a00000001000300000000000000") + bytes((6, 5)) + b"3001\0"
    frame = (len(body)).to_bytes(4, "big") + (38).to_bytes(4, "big") + body
    assert main(["decode", "--version", "11", frame.hex()]) == 0
    assert main(["decode", "--json", "--version", "11", frame.hex()]) == 0
    out = capsys.readouterr().out
    assert "agent_capacity" not in out and "agent_instrument" in out
    body12 = body[:17] + (1).to_bytes(4, "big") + body[17:]
    frame12 = (len(body12)).to_bytes(4, "big") + (38).to_bytes(4, "big") + body12
    assert main(["decode", "--json", "--version", "12", frame12.hex()]) == 0
    assert json.loads(capsys.readouterr().out)["fields"]["agent_capacity"] == 1


def test_not_hex_is_a_usage_error(capsys):
    assert main(["decode", "zz"]) == 2
    assert "not hex" in capsys.readouterr().err


def test_subprocess_entry_point():
    proc = subprocess.run([sys.executable, "-m", "mockcti", "decode", HEARTBEAT_PAIR], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "HEARTBEAT_REQ invoke_id=2"


# SNAPSHOT_DEVICE_CONF (v14 widths), one call at "3001", LCS_CONNECT in tag 61 (UCCX) / 75 (ICM)
SNAPSHOT_DEVICE_CONF_V14 = ("00 00 00 1b 00 00 00 55 00 00 00 07 00 01 38 04 01 00 00 01 39 02 00 00 "
                            "3a 05 33 30 30 31 00 {tag} 02 00 03")


@pytest.mark.parametrize("profile, tag, version", [("uccx", "3d", "14"), ("ucce", "4b", "19")])
def test_snapshot_device_conf_call_state_is_read_in_the_profiles_tag(capsys, profile, tag, version):
    """The per-call state of SNAPSHOT_DEVICE_CONF is tag 61 in UCCX (its page), ICM's CALL_STATE_TAG 75
    in UCCE: each profile decodes its own, and shows the other's as an unknown tag, not as the state."""
    assert main(["decode", "--profile", profile, "--version", version, SNAPSHOT_DEVICE_CONF_V14.format(tag=tag)]) == 0
    line = capsys.readouterr().out.strip()
    assert "call_state=3}" in line and "extra_fields" not in line, line
    other = "4b" if tag == "3d" else "3d"
    assert main(["decode", "--profile", profile, "--version", version, SNAPSHOT_DEVICE_CONF_V14.format(tag=other)]) == 0
    line = capsys.readouterr().out.strip()
    assert "call_state" not in line and f"extra_fields=[[{int(other, 16)}, 0x0003]]" in line, line
    # --field-tag reads it with the other profile's tag
    assert main(["decode", "--profile", profile, "--version", version, "--field-tag",
                 f"SNAPSHOT_DEVICE_CONF.CallState={int(other, 16)}", SNAPSHOT_DEVICE_CONF_V14.format(tag=other)]) == 0
    assert "call_state=3}" in capsys.readouterr().out
    assert main(["decode", "--field-tag", "SNAPSHOT_DEVICE_CONF.CallState=x", SNAPSHOT_DEVICE_CONF_V14.format(tag=tag)]) == 2
    assert "--field-tag: 'SNAPSHOT_DEVICE_CONF.CallState=x': expected MESSAGE.Field=TAG" in capsys.readouterr().err


# QUERY_QUEUE_STATISTICS_CONF as `mockcti serve --message-id QUERY_QUEUE_STATISTICS_CONF=260` sends it (v14):
# InvokeID 7, 3 logged in, 1 talking, 1 ready, 1 not ready, 0 work, 0 reserved, 4 calls waiting
QUEUE_STATISTICS_CONF_260 = "00 00 00 14 00 00 01 04 00 00 00 07 00 03 00 01 00 01 00 01 00 00 00 00 00 00 00 04"


def test_message_id_reads_a_capture_of_a_server_given_the_same_numbers(capsys):
    """The statistics messages have no published number (§4, U): a wallboard team runs `mockcti serve
    --message-id QUERY_QUEUE_STATISTICS_CONF=260` and decodes its capture with the same option, as with
    --field-tag. Without it, 260 is no UCCX message (exit 1); decode had no --message-id at all (exit 2)."""
    assert main(["decode", "--version", "14", QUEUE_STATISTICS_CONF_260]) == 1
    assert "message type 260 is not part of the uccx protocol" in capsys.readouterr().err
    assert main(["decode", "--version", "14", "--message-id", "QUERY_QUEUE_STATISTICS_CONF=260",
                 QUEUE_STATISTICS_CONF_260]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "QUERY_QUEUE_STATISTICS_CONF invoke_id=7 logged_in_agents=3 in_session_agents=1 available_agents=1 "
        "un_available_agents=1 in_work_agents=0 selected_agents=0 calls_in_priority_queue1=4"]
    assert main(["decode", "--message-id", "QUERY_QUEUE_STATISTICS_CONF", QUEUE_STATISTICS_CONF_260]) == 2
    assert "--message-id: 'QUERY_QUEUE_STATISTICS_CONF': expected NAME=NUMBER" in capsys.readouterr().err
    assert main(["decode", "--message-id", "QUERY_QUEUE_STATISTICS_CONF=5", QUEUE_STATISTICS_CONF_260]) == 2
    assert "--message-id: wire number 5 is already HEARTBEAT_REQ" in capsys.readouterr().err


# -- bad input: a precise message and exit 2, never a traceback -------------------------------------


@pytest.mark.parametrize("profile, version, range_", [
    ("uccx", "-1", "10..18"), ("uccx", "0", "10..18"), ("uccx", "9", "10..18"), ("uccx", "99", "10..18"),
    ("uccx", "4294967296", "10..18"), ("ucce", "8", "9..24"), ("ucce", "25", "9..24"),
])
def test_a_version_the_profile_does_not_have_is_a_usage_error(capsys, profile, version, range_):
    """--version was taken as given and the frames decoded with the widths of the nearest version."""
    assert main(["decode", "--profile", profile, f"--version={version}", HEARTBEAT_PAIR]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"--version {version} is not a {profile} protocol version ({range_})" in err


def test_the_ends_of_each_profile_range_are_accepted(capsys):
    for profile, version in (("uccx", 10), ("uccx", 18), ("ucce", 9), ("ucce", 24)):
        assert main(["decode", "--profile", profile, "--version", str(version), HEARTBEAT_PAIR]) == 0
        assert capsys.readouterr().out.splitlines()[0] == "HEARTBEAT_REQ invoke_id=2"


def test_help_names_each_profile_default_version(capsys):
    from mockcti.wire.dialect import PROFILES

    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "else 18" not in text  # ucce's default is 24
    for p in PROFILES.values():
        assert f"{p.max_version} for {p.name}" in text and f"{p.name} {p.min_version}-{p.max_version}" in text


def test_a_frame_longer_than_the_input_is_incomplete_not_over_a_limit(capsys):
    # BodyLength 256, 4 body bytes given: the input's size is no limit of the protocol
    assert main(["decode", "00 00 01 00 00 00 00 05 00 00 00 02"]) == 1
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.strip() == "mockcti decode: offset 0: incomplete frame: header says 256 body bytes, 4 given"
    assert main(["decode", HEARTBEAT_PAIR + " 00 00 00"]) == 1
    cap = capsys.readouterr()
    assert len(cap.out.splitlines()) == 2
    assert cap.err.strip() == "mockcti decode: offset 24: incomplete frame: 3 of the 8 header bytes given"


def test_file_must_be_a_regular_file(tmp_path, capsys):
    """/dev/zero was read until memory ran out (MemoryError traceback); a FIFO blocked forever."""
    import os

    if os.path.exists("/dev/zero"):
        assert main(["decode", "--file", "/dev/zero"]) == 2
        assert "--file /dev/zero: a character device, not a regular file" in capsys.readouterr().err
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        assert main(["decode", "--file", str(fifo)]) == 2  # refused before it is opened: no writer needed
        assert "a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert main(["decode", "--file", str(tmp_path)]) == 2
    assert "a directory, not a regular file" in capsys.readouterr().err
    assert main(["decode", "--file", str(tmp_path / "missing.bin")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_no_bytes_and_mixed_sources_are_usage_errors(tmp_path, capsys, monkeypatch):
    import io

    p = tmp_path / "cap.bin"
    p.write_bytes(bytes.fromhex(HEARTBEAT_PAIR.replace(" ", "")))
    assert main(["decode", "--file", str(p), "00 00 00 04"]) == 2  # the hex was silently ignored
    assert "give hex (arguments or '-') or --file, not both" in capsys.readouterr().err
    assert main(["decode", "-", HEARTBEAT_PAIR]) == 2
    assert "or '-' (hex on stdin), not both" in capsys.readouterr().err
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert main(["decode", "--file", str(empty)]) == 2  # exited 0 with no output
    assert "no bytes given" in capsys.readouterr().err
    for text in ("", "\n  \n"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        assert main(["decode", "-"]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and "no bytes given on stdin" in cap.err
    assert main(["decode", " "]) == 2
    assert "no bytes given in the arguments" in capsys.readouterr().err


def test_stdin_that_is_not_text_is_a_usage_error(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\x00\x00\x00\x04\xff\xfe"), encoding="utf-8"))
    assert main(["decode", "-"]) == 2
    err = capsys.readouterr().err
    assert "stdin is not text" in err and "--file" in err


# -- dumps: hexdump -C, xxd, od -A x -t x1 ---------------------------------------------------------

# reference §8.1 OPEN_REQ and §8.7 HEARTBEAT_REQ/CONF: 104 bytes, with text ("agent1001")
GOLDEN = bytes.fromhex(OPEN_REQ_V14 + HEARTBEAT_PAIR)
GOLDEN_LINES = ["HEARTBEAT_REQ invoke_id=2", "HEARTBEAT_CONF invoke_id=2"]

# the tools' output for GOLDEN, captured with util-linux 2.38.1 hexdump, xxd 2022-01-14 and GNU od 9.1;
# used where the tool is not installed
CAPTURED = {
    "hexdump -C": """\
00000000  00 00 00 48 00 00 00 03  00 00 00 01 00 00 00 0e  |...H............|
00000010  00 00 00 3c 00 00 00 00  00 00 00 07 00 00 ff ff  |...<............|
00000020  00 00 01 ff 00 00 00 00  00 00 00 00 00 00 00 00  |................|
00000030  00 00 00 00 01 0a 61 67  65 6e 74 31 30 30 31 00  |......agent1001.|
00000040  02 00 06 05 33 30 30 31  00 c2 05 31 30 30 31 00  |....3001...1001.|
00000050  00 00 00 04 00 00 00 05  00 00 00 02 00 00 00 04  |................|
00000060  00 00 00 06 00 00 00 02                           |........|
00000068
""",
    "xxd": """\
00000000: 0000 0048 0000 0003 0000 0001 0000 000e  ...H............
00000010: 0000 003c 0000 0000 0000 0007 0000 ffff  ...<............
00000020: 0000 01ff 0000 0000 0000 0000 0000 0000  ................
00000030: 0000 0000 010a 6167 656e 7431 3030 3100  ......agent1001.
00000040: 0200 0605 3330 3031 00c2 0531 3030 3100  ....3001...1001.
00000050: 0000 0004 0000 0005 0000 0002 0000 0004  ................
00000060: 0000 0006 0000 0002                      ........
""",
    "od -A x -t x1": """\
000000 00 00 00 48 00 00 00 03 00 00 00 01 00 00 00 0e
000010 00 00 00 3c 00 00 00 00 00 00 00 07 00 00 ff ff
000020 00 00 01 ff 00 00 00 00 00 00 00 00 00 00 00 00
000030 00 00 00 00 01 0a 61 67 65 6e 74 31 30 30 31 00
000040 02 00 06 05 33 30 30 31 00 c2 05 31 30 30 31 00
000050 00 00 00 04 00 00 00 05 00 00 00 02 00 00 00 04
000060 00 00 00 06 00 00 00 02
000068
""",
}

# the same tools with other options; only run where the tool is installed
MORE_DUMPS = ["xxd -g1", "xxd -g4", "xxd -c 24", "xxd -d", "xxd -a", "xxd -s 5", "hexdump -C -s 5",
              "od -A d -t x1", "od -t x1", "od -A x -t x1z", "od -A x -t x1 -w8", "od -A x -t x1 -j 5"]


def dump(tool: str, data: bytes, tmp_path) -> str:
    """``tool``'s output for ``data``: the real tool, else the captured sample (for GOLDEN), else skip."""
    import shutil

    argv = tool.split()
    if shutil.which(argv[0]) is None:
        if data == GOLDEN and tool in CAPTURED:
            return CAPTURED[tool]
        pytest.skip(f"{argv[0]} is not installed")
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    return subprocess.run([*argv, str(path)], capture_output=True, text=True, check=True).stdout


def expected_bytes(tool: str, data: bytes) -> bytes:
    return data[5:] if " -s 5" in tool or " -j 5" in tool else data


@pytest.mark.parametrize("tool", list(CAPTURED))
def test_dumps_decode_through_stdin(tool, tmp_path, capsys, monkeypatch):
    """hexdump -C was refused (not hex: '|'), xxd too (not hex: '.', and its offsets were read as
    bytes), od -A x -t x1 (one space after the offset) lost no offset, and the end offset that
    hexdump and od print last was read as bytes."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(dump(tool, GOLDEN, tmp_path)))
    assert main(["decode", "-"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    lines = cap.out.splitlines()
    assert lines[0].startswith("OPEN_REQ invoke_id=1 version_number=14") and "client_id='agent1001'" in lines[0]
    assert lines[1:] == GOLDEN_LINES


@pytest.mark.parametrize("tool", list(CAPTURED))
def test_captured_samples_parse(tool):
    """The embedded samples themselves (they stand in for a missing tool)."""
    from mockcti.commands.decode import parse_hex

    assert parse_hex(CAPTURED[tool]) == GOLDEN


# bytes that make the text column hard (| > < * : and hex digits shown as text, spaces at the ends),
# repeated lines (hexdump, od and xxd -a print '*' for them) and a short input
TRICKY = [
    GOLDEN,
    b" |>0a< *|: dead beef 00 |" * 3 + b"|",
    bytes(16) * 4 + bytes.fromhex(HEARTBEAT_PAIR.replace(" ", "")),
    bytes.fromhex("00000008000000070000000900000000") * 5 + b"\x01",
    b"\x00\x00\x00\x04\x00",
    b"  ",
]


@pytest.mark.parametrize("tool, data", [  # (a dump that skips 5 bytes of a 5-byte input has nothing to give back)
    pytest.param(tool, data, id=f"{tool}-data{i}") for tool in [*CAPTURED, *MORE_DUMPS]
    for i, data in enumerate(TRICKY) if expected_bytes(tool, data)])
def test_dumps_give_back_their_bytes(tool, data, tmp_path):
    from mockcti.commands.decode import parse_hex

    text = dump(tool, data, tmp_path)
    assert parse_hex(text) == expected_bytes(tool, data)
    # pasted: trailing spaces lost, Windows line ends
    assert parse_hex("\r\n".join(line.rstrip() for line in text.splitlines())) == expected_bytes(tool, data)


def test_reference_vectors_as_printed_in_protocol_md(capsys, monkeypatch):
    import io

    v8_8 = ("0000  00 00 00 08 00 00 00 07 00 00 00 09 00 00 00 00\n"
            "0010  00 00 00 04 00 00 00 08 00 00 00 09\n")  # §8.8, two lines
    monkeypatch.setattr(sys, "stdin", io.StringIO(v8_8))
    assert main(["decode", "-"]) == 0
    assert capsys.readouterr().out.splitlines() == ["CLOSE_REQ invoke_id=9 status=E_CTI_NO_ERROR",
                                                    "CLOSE_CONF invoke_id=9"]


@pytest.mark.parametrize("text", [
    "00000004 00000005 00000002",            # 4-byte groups: the first is no offset
    "0000000400000005 00000002",
    "0000000c 00 00 00 01",                  # one space after a word: plain hex
    "0x00,0x00,0x00,0x04",
    "00:00:00:04",
    "000000040000000500000002",
    "0000 0004\n0000 0005\n0000 0002",
])
def test_plain_hex_is_not_taken_for_a_dump(text):
    from mockcti.commands.decode import parse_hex

    assert parse_hex(text) == bytes.fromhex(re.sub(r"0x|[^0-9a-f]", "", text))


@pytest.mark.parametrize("text, needle", [
    # a line missing from an xxd dump: the offsets say so
    ("00000000: 0000 0048 0000 0003 0000 0001 0000 000e  ...H............\n"
     "00000020: 0000 01ff 0000 0000 0000 0000 0000 0000  ................\n",
     "line 2: offset 00000020 (hex) does not follow the 16 byte(s) from offset 00000000 on line 1"),
    # two spaces inside the hex of an 'offset:' line: not xxd's text column
    ("00000000: 00 00 00 04  00 00 00 05 00 00 00 02\n", "line 1: '00 00 00 05 00 00 00 02' after two spaces"),
    # hexdump's and od's 2-byte words are in the machine's byte order
    ("0000000 0000 0400 0000 0500 0000 0200\n000000c\n", "only single bytes (2 hex digits) are read, not '0000'"),
    ("00000000  00 00 00 04  |....|\n*\n", "line 2: '*'"),
    ("00000000  00 00 00 04  |....|\n0000000a  00\n", "line 2: offset 0000000a"),
    ("00000000  00 00 00 04 |....|\nxyz\n", "line 2: no offset at its start"),
    ("00 00 00 00\n*\n00 00 00 01\n", "'*' line"),
    ("00000000  00 0g 00 04  |....|\n", "line 1: not hex: 'g'"),
])
def test_damaged_dumps_are_usage_errors_naming_the_line(text, needle, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["decode", "-"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and needle in cap.err and "Traceback" not in cap.err, cap.err


OPEN_REQ_V19_UCCERTWEB = (  # reference §8.11: an ICM-shaped OPEN_REQ, VersionNumber 19, 1-byte tags and lengths
    "00 00 00 66 00 00 00 03 04 03 02 01 00 00 00 13 ff ff ff ff 02 03 04 05 00 00 00 10 00 00 60 00 "
    "00 00 02 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 09 43 6c 69 65 6e 74 49 44 00 02 "
    "00 03 10 43 6c 69 65 6e 74 53 69 67 6e 61 74 75 72 65 00 04 05 33 30 30 31 00 05 05 31 30 30 31 "
    "00 06 05 33 30 30 31 00 61 04 03 04 05 06"
)
OPEN_REQ_V18 = (  # reference §8.2: UCCX v18, 2-byte tags and lengths
    "00 00 00 50 00 00 00 03 00 00 00 01 00 00 00 12 00 00 00 3c 00 00 00 00 00 00 00 07 00 00 ff ff "
    "00 00 01 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 0a 61 67 65 6e 74 31 30 30 "
    "31 00 00 02 00 00 00 06 00 05 33 30 30 31 00 00 c2 00 05 31 30 30 31 00"
)


def test_an_open_req_of_the_other_profile_says_so(capsys):
    """A UCCE v19 OPEN_REQ under the default uccx profile was reported only as 'floating field tag
    265 claims 17260 bytes' (its 1-byte tags read as 2-byte ones), no word of the version."""
    assert main(["decode", OPEN_REQ_V19_UCCERTWEB]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mockcti decode: offset 52: floating field tag 265 claims 17260 bytes")
    assert ("(OPEN_REQ VersionNumber 19 is not a uccx protocol version (10..18): read with version 18's field "
            "widths; it decodes with --profile ucce)") in err
    assert main(["decode", "--profile", "ucce", OPEN_REQ_V19_UCCERTWEB]) == 0
    assert capsys.readouterr().out.startswith("OPEN_REQ invoke_id=67305985 version_number=19")
    # version 18 is in both profiles, with other widths: UCCE 1-byte tags, UCCX 2-byte ones
    assert main(["decode", "--profile", "ucce", OPEN_REQ_V18]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mockcti decode: offset 55: ") and err.rstrip().endswith("(it decodes with --profile uccx)")


def test_an_open_req_that_decodes_nowhere_gets_only_the_version_note(capsys):
    broken = bytearray.fromhex(OPEN_REQ_V19_UCCERTWEB)
    broken[53] = 0x7F  # ClientID claims 127 bytes: past the end in either width
    assert main(["decode", bytes(broken).hex()]) == 1
    err = capsys.readouterr().err
    assert "VersionNumber 19 is not a uccx protocol version" in err and "--profile" not in err
    assert main(["decode", "--profile", "ucce", bytes(broken).hex()]) == 1
    err = capsys.readouterr().err
    assert "claims 127 bytes" in err and "VersionNumber" not in err and "--profile" not in err


def test_ucce_names_agent_state_mask_bits_as_icm_does(capsys):
    """The uccertweb vector's AgentStateMask 0x208 is ICM's AVAILABLE | HOLD; --profile ucce named it with UCCX's
    table (…|0x200), as it would have named 0x40 TALKING_PENDING_WORK instead of ICM's WORK_READY."""
    assert main(["decode", "--profile", "ucce", OPEN_REQ_V19_UCCERTWEB]) == 0
    assert " agent_state_mask=AGENT_AVAILABLE_MASK|AGENT_HOLD_MASK " in capsys.readouterr().out
    assert main(["decode", "--json", "--profile", "ucce", OPEN_REQ_V19_UCCERTWEB]) == 0
    assert json.loads(capsys.readouterr().out)["names"]["agent_state_mask"] == "AGENT_AVAILABLE_MASK|AGENT_HOLD_MASK"
    assert main(["decode", OPEN_REQ_V14]) == 0  # uccx: UCCX's names (0x1FF: up to RESERVED)
    assert "|AGENT_TALKING_PENDING_WORK_MASK|" in capsys.readouterr().out


def test_a_frame_that_does_not_decode_in_the_version_read_says_which_versions_it_decodes_with(capsys):
    """A v14 server capture (OPEN_CONF first, no OPEN_REQ) read with the profile's newest version
    failed with only "floating field tag 1029 claims 13104 bytes": the report now names the version
    it was read with, where that came from, and the versions the frame decodes with."""
    from mockcti.wire import Dialect, encode
    from mockcti.wire.messages import OpenConf, SetAgentStateReq

    conf = encode(OpenConf(invoke_id=1, services_granted=1, agent_id="1001", num_peripherals=1,
                           flt_peripheral_id=5, multiline_agent_control=1), Dialect.uccx(14))
    assert main(["decode", conf.hex()]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mockcti decode: offset 34: ")
    assert ("(read as protocol version 18, the profile's newest: no --version and no OPEN_REQ before it; "
            "it decodes with --version 10..17)") in err
    assert main(["decode", "--version", "14", conf.hex()]) == 0
    # a v11 SET_AGENT_STATE_REQ (17-byte fixed part) after a v14 OPEN_REQ, and with --version 12
    req = encode(SetAgentStateReq(invoke_id=2, agent_state=0, agent_instrument="3001"), Dialect.uccx(11))
    assert main(["decode", OPEN_REQ_V14 + req.hex()]) == 1
    assert "(read as protocol version 14, the version of the OPEN_REQ at offset 0; it decodes with --version 10..11)" \
        in capsys.readouterr().err
    assert main(["decode", "--version", "12", req.hex()]) == 1
    assert ("(read as protocol version 12, given by --version; it decodes with --version 10..11)"
            in capsys.readouterr().err)


# SYSTEM_EVENT 2 (SYS_CENTRAL_CONTROLLER_OFFLINE) whose first field is 0x6, then SYSTEM_EVENT 3 with 0
SYSTEM_EVENTS = ("0000001a0000001f 00000006 00000005 00000002 00000000 00000000 00000000 ffff"
                 "0000001a0000001f 00000000 00000005 00000003 00000000 00000000 00000000 ffff")


def test_ucce_names_a_system_events_status_and_id_as_icm_does(capsys):
    """Under ucce a SYSTEM_EVENT opens with ICM's PGStatus (a bit per failure, 0 normal; shown as pg_status, §6.13
    "ICM uses PGStatus bits here instead") and its event 3 is ICM's SYS_PERIPHERAL_ONLINE: --profile ucce named them
    with UCCX's CCXStatus (UNKNOWN(6), UNKNOWN(0)) and SYS_CCX_ONLINE."""
    assert main(["decode", "--profile", "ucce", SYSTEM_EVENTS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("SYSTEM_EVENT pg_status=PGS_CC_DOWN|PGS_PERIPHERAL_OFFLINE ")
    assert " pg_status=0 " in out[1] and " system_event_id=SYS_PERIPHERAL_ONLINE " in out[1]
    assert main(["decode", "--json", "--profile", "ucce", SYSTEM_EVENTS]) == 0
    names = [json.loads(line)["names"] for line in capsys.readouterr().out.splitlines()]
    assert names[0]["pg_status"] == "PGS_CC_DOWN|PGS_PERIPHERAL_OFFLINE"
    assert names[1]["system_event_id"] == "SYS_PERIPHERAL_ONLINE"
    assert main(["decode", SYSTEM_EVENTS]) == 0  # uccx: UCCX's names
    out = capsys.readouterr().out.splitlines()
    assert " ccx_status=UNKNOWN(6) " in out[0] and " system_event_id=SYS_CCX_ONLINE " in out[1]


# CONTROL_FAILURE_CONF InvokeID 11, FailureCode 22 (CF_INVALID_OBJECT_STATE), then the UINT: 5, 88005, 0x8CCC000F
CONTROL_FAILURES = "".join(f"0000000a00000023 0000000b 0016 {code:08x}" for code in (5, 88005, 0x8CCC000F))


def test_ucce_shows_control_failure_confs_uint_as_icms_peripheral_error_code(capsys):
    """CONTROL_FAILURE_CONF's UINT after FailureCode is UCCX's CCXErrorCode and ICM's PeripheralErrorCode (reference:
    "ICM equivalent: InvokeID, FailureCode USHORT, PeripheralErrorCode UINT"), peripheral-specific data that UCCX's
    88xxx names do not name: --profile ucce showed ccx_error_code=UNKNOWN(5) and CCX_AGENT_DEVICE_BUSY for 88005.
    Under ucce: peripheral_error_code, a CTIERR code named, any other value a number; uccx unchanged."""
    assert main(["decode", "--profile", "ucce", CONTROL_FAILURES]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in out] == ["peripheral_error_code=5", "peripheral_error_code=88005",
                                                  "peripheral_error_code=CTIERR_HOLDFAILED"]
    assert main(["decode", "--json", "--profile", "ucce", CONTROL_FAILURES]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["fields"]["peripheral_error_code"] for r in rows] == [5, 88005, 0x8CCC000F]
    assert ["ccx_error_code" in r["fields"] for r in rows] == [False] * 3
    assert [r["names"].get("peripheral_error_code") for r in rows] == [None, None, "CTIERR_HOLDFAILED"]
    assert main(["decode", CONTROL_FAILURES]) == 0  # uccx: UCCX's CCXErrorCode
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in out] == ["ccx_error_code=UNKNOWN(5)", "ccx_error_code=CCX_AGENT_DEVICE_BUSY",
                                                  "ccx_error_code=CTIERR_HOLDFAILED"]


def test_help_lists_the_exit_codes_a_ci_script_reads(capsys):
    """decode's --help did not say its exit codes (1: a frame does not decode, 2: bad usage), as run, serve,
    validate and fuzz do."""
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    out = capsys.readouterr().out
    assert "\nexit codes:\n  0  every frame decoded\n  1  a frame does not decode" in out
    assert "\n  2  bad usage" in out
    assert main(["decode", "0000"]) == 1 and main(["decode", "zz"]) == 2
