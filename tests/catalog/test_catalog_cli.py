"""``mockcti catalog``, in-process through mockcti.cli.main and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mockcti.catalog import default
from mockcti.cli import main


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text output wraps and cuts at the terminal's width (COLUMNS; 100 when not a terminal): the
    tests read whole phrases from it, so they fix the width captured output has outside any terminal.
    With CI's (or a developer's) COLUMNS=20 a description wrapped mid-phrase and a test failed."""
    monkeypatch.setenv("COLUMNS", "100")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["catalog", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_by_code_across_sources(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "1124")
    assert rc == 0 and err == ""
    assert "ACD_HOLD_NOT_PARTY_L1CONNECTED" in out and "cn_ngcc" in out
    assert "保持" in out and "Line1Connected" in out  # original text and English
    rc, out, _ = run(capsys, "0")
    assert rc == 0
    for name in ("E_CTI_NO_ERROR", "CF_GENERIC_UNSPECIFIED", "CCX_DEFAULT_ERROR_CODE", "CTIERR_UNSPECIFIED"):
        assert name in out


def test_ctierr_shows_hex_unsigned_and_signed(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "CTIERR_HOLDFAILED")
    assert rc == 0
    assert "0x8CCC000F" in out and "2362179599" in out and "-1932787697" in out
    for form in ("0x8ccc000f", "-1932787697", "2362179599"):
        rc, out2, _ = run(capsys, form)
        assert rc == 0 and "CTIERR_HOLDFAILED" in out2, form


def test_by_alias(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "E_CTI_INVALID_CSD")
    assert rc == 0 and "E_CTI_INVALID_CSQ" in out and "93" in out


def test_search_english_and_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "--search", "hold")
    assert rc == 0 and "CTIERR_HOLDFAILED" in out and "ACD_HOLD_BAD_STATE" in out
    rc, out, _ = run(capsys, "--search", "保持")
    assert rc == 0 and "ACD_RETRIEVE_NOT_HELD_PARTY" in out and "CTIERR_HOLDFAILED" not in out
    rc, out, _ = run(capsys, "--search", "hold", "--source", "cisco_ctierr")
    assert rc == 0 and "ACD_HOLD" not in out and "CTIERR_HOLDFAILED" in out


def test_list_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "--source", "cisco_ctierr")
    assert rc == 0
    for e in default().entries("cisco_ctierr"):
        assert e.name in out
    assert "0xDEADBEEF = 3735928559 = -559038737" in out
    assert "[unconfirmed]" in out  # CFWDALL_ALREADY_OFF
    rc, out, _ = run(capsys)  # no arguments: the sources
    assert rc == 0 and all(s in out for s in default().sources())


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "CTIERR_ILLEGAL_CALLSTATE", "--json")
    assert rc == 0
    (doc,) = json.loads(out)
    assert doc["name"] == "CTIERR_ILLEGAL_CALLSTATE"
    assert (doc["value_hex"], doc["value_unsigned"], doc["value_signed"]) == ("0x8CCC0009", 2362179593, -1932787703)
    rc, out, _ = run(capsys, "--search", "保持", "--json")
    assert rc == 0 and all("保持" in d["description_original"] for d in json.loads(out))
    rc, out, _ = run(capsys, "--source", "cucm_em", "--json")
    assert rc == 0 and len(json.loads(out)) == 20
    rc, out, _ = run(capsys, "--json")
    assert rc == 0 and {d["id"] for d in json.loads(out)} == set(default().sources())


def test_reread_codes_are_pointed_out(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "1818")
    assert rc == 0 and "EM_DEVICE_ALREADY_LOGGED_IN" in out and "read as code 18" in out


def test_nothing_matched_exits_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "99999")
    assert (rc, out) == (1, "") and "no source has code 99999" in err
    rc, out, err = run(capsys, "CTIERR_HOLDFAIL")
    assert (rc, out) == (1, "") and "CTIERR_HOLDFAILED" in err  # suggestion
    rc, out, err = run(capsys, "--search", "no-such-words-anywhere")
    assert (rc, out) == (1, "") and "nothing matches" in err
    rc, out, err = run(capsys, "--source", "uccx_cf", "47")  # reserved: shown marked unknown
    assert rc == 1 and "[unknown code]" in out and "Reserved" in out and "not in uccx_cf" in err
    rc, out, err = run(capsys, "CTIERR_HOLDFAILED", "--source", "cn_ngcc")
    assert rc == 1 and "is in cisco_ctierr" in err


def test_a_miss_in_one_source_is_shown_marked_unknown_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    """With --source a code the source lacks is shown as a synthesized entry (exit 1), so a reserved
    range's notes can be read; its JSON said "sent_by_server": true, as if a server sent it."""
    rc, out, err = run(capsys, "1124", "--source", "uccx_status", "--json")
    assert rc == 1 and "code 1124 is not in uccx_status" in err
    (doc,) = json.loads(out)
    assert doc["name"] == "UCCX_STATUS_UNKNOWN_1124"
    assert (doc["unknown"], doc["status"], doc["sent_by_server"]) == (True, "unknown", False)
    rc, out, _ = run(capsys, "--source", "uccx_cf", "47", "--json")  # reserved: the range's notes
    (doc,) = json.loads(out)
    assert rc == 1 and doc["unknown"] and not doc["sent_by_server"] and "Reserved" in doc["notes"]
    rc, out, _ = run(capsys, "1124", "--source", "uccx_status")
    assert rc == 1 and "[unknown code]" in out and "not known to be sent by any server" in out
    rc, out, _ = run(capsys, "1124", "--source", "cn_ngcc", "--json")  # a catalogued entry is unchanged
    (doc,) = json.loads(out)
    assert rc == 0 and doc["sent_by_server"] is True and doc["unknown"] is False


@pytest.mark.parametrize("query", [
    "1" * 5000,                      # int() refuses over 4,300 digits: it was a ValueError traceback
    "0x" + "f" * 5000,
    "4294967296", "-2147483649", "0x100000000", "+99999999999",
])
def test_a_number_that_cannot_be_a_code_is_a_usage_error(capsys: pytest.CaptureFixture[str], query: str) -> None:
    for extra in ([], ["--source", "uccx_status"], ["--json"]):
        rc, out, err = run(capsys, query, *extra)
        assert (rc, out) == (2, ""), err
        assert "cannot be a code: codes are 32-bit, -2147483648 .. 4294967295" in err
        assert len(err) < 300  # the number is abbreviated, not echoed in full


def test_the_ends_of_the_32_bit_range_are_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for query in ("4294967295", "-2147483648", "0xFFFFFFFF", "0x00000000000001124"):
        rc, out, err = run(capsys, query)
        assert (rc, out) == (1, "") and "no source has code" in err, query  # a miss, not a usage error
    rc, out, _ = run(capsys, "0xDEADBEEF")
    assert rc == 0 and "0xDEADBEEF" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--source", "nope")
    assert rc == 2 and "known sources" in err
    rc, _, err = run(capsys, "1124", "--search", "hold")
    assert rc == 2 and "not both" in err


def test_subprocess_and_cheap_module_top() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mockcti", "catalog", "CTIERR_HOLDFAILED", "--json"],
        capture_output=True, text=True, encoding="utf-8", check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["value_signed"] == -1932787697
    code = "import sys, mockcti.commands.catalog; print('mockcti.catalog' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_reread_code_is_found_in_its_own_source_too(capsys: pytest.CaptureFixture[str]) -> None:
    """The number a source prints is found with --source as without: `--source cucm_em 1818` said
    "code 1818 is not in cucm_em" (exit 1) although the catalog records that cucm_em prints 1818 for 18."""
    rc, out, err = run(capsys, "--source", "cucm_em", "1818")
    assert rc == 0 and err == "" and "EM_DEVICE_ALREADY_LOGGED_IN" in out and "read as code 18" in out
    assert "[unknown code]" not in out
    rc, out, _ = run(capsys, "--source", "cucm_em", "1818", "--json")
    assert rc == 0 and [d["name"] for d in json.loads(out)] == ["EM_DEVICE_ALREADY_LOGGED_IN"]
    rc, out, _ = run(capsys, "--source", "cn_ngcc", "4401")  # 4401 itself, and the row printed 4401 read as 4402
    assert rc == 0 and "AGENT_SIGNIN_FAILED" in out and "prints 4401 for AGENT_SIGNOUT_OK, read as code 4402" in out
    rc, out, _ = run(capsys, "--source", "cn_ngcc", "4401", "--json")
    assert [d["name"] for d in json.loads(out)] == ["AGENT_SIGNIN_FAILED", "AGENT_SIGNOUT_OK"]


def test_an_ascii_stdout_gets_escapes_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONIOENCODING=ascii (or a Latin-1 / cp1252 locale): `mockcti catalog CTIERR_HOLDFAILED --json`
    exited 1 with a UnicodeEncodeError (its sources cite "§1.3"). What the stream cannot encode is written
    as JSON's \\uXXXX escape: the JSON reads back equal, the text shows the escape. The subprocess's
    environment is set here, whatever the CI's is."""
    import io
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    argv = [sys.executable, "-m", "mockcti", "catalog", "CTIERR_HOLDFAILED"]
    ascii_run = subprocess.run([*argv, "--json"], capture_output=True, env=env, check=False, timeout=60)
    assert ascii_run.returncode == 0, ascii_run.stderr.decode("ascii", "replace")
    env["PYTHONIOENCODING"] = "utf-8"
    utf8_run = subprocess.run([*argv, "--json"], capture_output=True, env=env, check=False, timeout=60)
    assert b"\\u00a7" in ascii_run.stdout and "\u00a7".encode() in utf8_run.stdout
    assert json.loads(ascii_run.stdout.decode("ascii")) == json.loads(utf8_run.stdout.decode("utf-8"))
    # a C locale without UTF-8 mode: ASCII streams whose default handler is surrogateescape, not strict
    c_env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    c_env.pop("PYTHONIOENCODING", None)
    c_run = subprocess.run([*argv, "--json"], capture_output=True, env=c_env, check=False, timeout=60)
    assert c_run.returncode == 0 and c_run.stdout == ascii_run.stdout, c_run.stderr
    env["PYTHONIOENCODING"] = "ascii"
    text = subprocess.run(argv, capture_output=True, env=env, check=False, timeout=60)
    assert text.returncode == 0 and b"error-catalogs.md \\u00a71.3" in text.stdout, text.stderr
    # in-process as well; beyond the BMP a surrogate pair, as JSON writes it; the stream's handler is restored
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", out)
    assert main(["catalog", "CTIERR_HOLDFAILED", "--json"]) == 0
    assert out.errors == "strict"
    escaped = '["\U0001f4de \u5f20"]'.encode("ascii", "mockcti-json-escape")
    assert escaped == b'["\\ud83d\\udcde \\u5f20"]' and json.loads(escaped) == ["\U0001f4de \u5f20"]
    assert "a\udcff".encode("ascii", "mockcti-json-escape") == b"a\xff"  # surrogateescape's byte, kept


def test_help_lists_the_exit_codes_a_ci_script_reads(capsys):
    """run, serve, validate and fuzz list their exit codes under --help; catalog did not (1 for nothing
    matched, 2 for bad usage: a script branching on the status had only the README)."""
    with pytest.raises(SystemExit):
        main(["catalog", "--help"])
    out = capsys.readouterr().out
    assert "\nexit codes:\n  0  found" in out and "\n  1  nothing matched" in out and "\n  2  bad usage" in out
    assert main(["catalog", "NO_SUCH_CODE_NAME"]) == 1
    assert main(["catalog", "1", "--search", "hold"]) == 2
