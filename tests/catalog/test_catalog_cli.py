"""``mockcti catalog``, in-process through mockcti.cli.main and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mockcti.catalog import default
from mockcti.cli import main


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
