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


# a schema error (a wrong type, an unknown key) hid every semantic error (an unknown code name, agent, state):
# fix it, validate again, see the next
THREE = """\
name: three
rules:
  - when: {message: HOLD_CALL_REQ}
    then: [{fail: {status: E_CTI_NOPE}}]
timeline:
  - {at: 1, do: {deliver_call: {agent: '9999'}}}
end: {after: soon}
"""


def test_a_schema_error_and_two_semantic_errors_are_three_located_errors(tmp_path, capsys):
    p = tmp_path / "three.yaml"
    p.write_text(THREE)
    assert main(["validate", str(p)]) == 1
    out, err = capsys.readouterr()
    assert out == f"INVALID {p} (3 errors)\n"
    assert [line.split(";")[0] for line in err.splitlines()] == [
        f"{p}:4: rules[0].then[0].fail.status: unknown E_CTI status 'E_CTI_NOPE'",
        f"{p}:6: timeline[0].do.deliver_call.agent: unknown agent id '9999'",
        f"{p}:7: end.after: expected a number, got text 'soon'"]


def test_errors_shown_are_capped_with_a_count_of_the_rest(tmp_path, capsys):
    from mockcti.located import MAX_SHOWN_ERRORS

    n = MAX_SHOWN_ERRORS + 3
    p = tmp_path / "many.yaml"
    p.write_text("name: many\nrules:\n" + "".join(f"  - {{when: {{message: HOLD_CALL_REQ}}, then: [{{goto: nope{i}}}]}}\n"
                                                  for i in range(n)))
    assert main(["validate", str(p)]) == 1
    out, err = capsys.readouterr()
    assert out == f"INVALID {p} ({n} errors)\n"
    lines = err.splitlines()
    assert len(lines) == MAX_SHOWN_ERRORS + 1 and lines[-1] == "and 3 more errors"
    assert lines[0].startswith(f"{p}:3: rules[0].then[0].goto")
    assert main(["validate", "--json", str(p)]) == 1  # --json: every one
    assert len(json.loads(capsys.readouterr().out)["errors"]) == n


def test_a_duplicate_key_is_reported_with_the_other_errors(tmp_path, capsys):
    p = tmp_path / "dup.yaml"
    p.write_text("name: x\nname: y\nrules:\n  - when: {message: HOLD_CAL_REQ}\n    then: [default]\n")
    assert main(["validate", str(p)]) == 1
    out, err = capsys.readouterr()
    assert out == f"INVALID {p} (2 errors)\n"
    assert [line.split(";")[0] for line in err.splitlines()] == [
        f"{p}:2: name: duplicate key 'name'", f"{p}:4: rules[0].when.message: unknown message type 'HOLD_CAL_REQ'"]


def test_schema_with_files_is_bad_usage_not_a_pass(tmp_path, capsys):
    """`mockcti validate --schema scenarios/*.yaml` printed the schema, checked none of the files and exited
    0: a CI lint step green for an invalid scenario. Now bad usage (2), naming what to do."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert main(["validate", "--schema", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"mockcti validate: --schema prints the JSON Schema and checks no file; to check "
                                 f"{bad}, leave --schema out\n")


def test_the_exit_codes_are_in_the_help_and_are_the_ones_returned(tmp_path, capsys):
    """validate's exit codes (0 valid, 1 invalid, 2 bad usage) were in neither --help nor the README."""
    import pytest

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    help_text = capsys.readouterr().out
    for line in ("exit codes:", "  0  every file is valid", "  1  a file is invalid or cannot be read",
                 "  2  bad usage"):
        assert line in help_text, help_text
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert [main(["validate", str(good)]), main(["validate", str(good), str(bad)]), main(["validate"])] == [0, 1, 2]


def test_the_json_help_names_the_keys_the_objects_have(tmp_path, capsys, monkeypatch):
    """`validate --help` said --json gives "(ok, name, counts, errors)": there is no `counts` key (a script's
    `.counts` read null); the help names each key a valid and an invalid file's object has."""
    import contextlib
    import re

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    main(["validate", "--json", str(good), str(bad)])
    keys = {k for line in capsys.readouterr().out.splitlines() for k in json.loads(line)}
    monkeypatch.setenv("COLUMNS", "2000")
    with contextlib.suppress(SystemExit):
        main(["validate", "--help"])
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.lstrip().startswith("--json")]
    shown = set(re.findall(r"\w+", re.search(r"\(([^)]*)\)", line).group(1)))
    assert keys <= shown, sorted(keys - shown)
    assert shown <= keys | {"or", "a", "valid", "file", "an", "invalid", "one"}, sorted(shown - keys)


def test_quiet_prints_only_the_errors_and_the_exit_status_is_the_verdict(tmp_path, capsys):
    """--quiet (errors only, the exit status the verdict, as in run, fuzz and serve): no OK/INVALID lines; an
    invalid file's errors, naming file:line, still on stderr. It was an unknown option (exit 2)."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert main(["validate", "--quiet", str(good)]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["validate", "-q", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"{bad}:3: rules[0].when.message: unknown message type 'HOLD_CAL_REQ'; "
                                        f"closest: HOLD_CALL_REQ") and len(err.splitlines()) == 1
