"""``mockcti validate``: OK lines, errors with file:line: key path, exit status, --json, --schema."""

from __future__ import annotations

import json
import subprocess
import sys

from mockcti.cli import main

GOOD = "name: good\nrules:\n  - when: {message: HOLD_CALL_REQ}\n    then: [default]\nsteps:\n  - wait: 1\n"
BAD = "name: bad\nrules:\n  - when: {message: HOLD_CAL_REQ}\n    then: [default]\n"


def test_ok_and_invalid_files(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"OK {good} (good, 1 rule, 1 step)"
    assert main(["validate", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"OK {good}" in out and f"INVALID {bad} (1 error)" in out
    assert f"{bad}:3: rules[0].when.message: unknown message type 'HOLD_CAL_REQ'; closest: HOLD_CALL_REQ" in err


def test_json_output(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert main(["validate", "--json", str(good), str(bad)]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"file": str(good), "ok": True, "name": "good", "rules": 1, "steps": 1, "timeline": 0,
                        "expect": 0, "files": [str(good)]}
    assert lines[1]["ok"] is False
    assert lines[1]["errors"][0]["line"] == 3 and lines[1]["errors"][0]["key_path"] == "rules[0].when.message"


def test_schema_and_usage(capsys):
    assert main(["validate", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "mockcti scenario"
    assert main(["validate"]) == 2


def test_as_a_process(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "t"\n[[expect]]\nmessage = "OPEN_REQ"\n')
    done = subprocess.run([sys.executable, "-m", "mockcti", "validate", str(p), str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"OK {p} (t, 0 rules, 0 steps)" in done.stdout
    assert "missing.yaml: cannot read the file" in done.stderr
