"""`mockcti decode`: hex or raw bytes in, one message per line out; bad frames with offset and reason."""

from __future__ import annotations

import json
import subprocess
import sys

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
    assert cap.err.startswith("offset 12:") and "E_CTI_INVALID_MESSAGE_TYPE" in cap.err


def test_truncated_input_and_bad_field(capsys):
    assert main(["decode", "00000004000000050000"]) == 1
    assert "incomplete frame" in capsys.readouterr().err
    # FAILURE_CONF whose Text field claims 16 bytes but has 2: offset of the field inside the stream
    assert main(["decode", "--version", "14", "0000000c00000001000000010000001207104142"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("offset 16:") and "tag 7" in err


def test_version_flag_for_non_open_frames(capsys):
    # SET_AGENT_STATE_REQ with the 17-byte (v10/v11) fixed part decodes only with --version 11
    body = bytes.fromhex("0000000a00000001000300000000000000") + bytes((6, 5)) + b"3001\0"
    frame = (len(body)).to_bytes(4, "big") + (38).to_bytes(4, "big") + body
    assert main(["decode", "--version", "11", frame.hex()]) == 0
    assert "agent_instrument='3001'" in capsys.readouterr().out
    assert main(["decode", "--version", "14", frame.hex()]) == 1


def test_not_hex_is_a_usage_error(capsys):
    assert main(["decode", "zz"]) == 2
    assert "not hex" in capsys.readouterr().err


def test_subprocess_entry_point():
    proc = subprocess.run([sys.executable, "-m", "mockcti", "decode", HEARTBEAT_PAIR], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "HEARTBEAT_REQ invoke_id=2"
