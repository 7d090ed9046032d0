"""`mockcti fuzz` with a subprocess client (a copy of examples/fuzz_client.py in tmp_path)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from mockcti.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fuzz_client.py"
FAST = ["--count", "8", "--time", "20", "--window", "0.15", "--max-window", "0.15", "--start-timeout", "10",
        "--reconnect-timeout", "5"]


@pytest.fixture()
def client_script(tmp_path: Path) -> str:
    dst = tmp_path / "client.py"
    shutil.copy(EXAMPLE, dst)
    return f"{shlex_quote(sys.executable)} {shlex_quote(str(dst))}"


def shlex_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def test_good_client_exits_0(client_script, tmp_path, capsys):
    save = tmp_path / "f.json"
    assert main(["fuzz", "--client-cmd", client_script, "--seed", "2", "--save", str(save), *FAST]) == 0
    err = capsys.readouterr().err
    assert "no failure found" in err and "seed 2" in err
    assert not save.exists()


def test_bad_client_exits_1_with_replay_command_and_replays(client_script, tmp_path, capsys):
    save = tmp_path / "f.json"
    cmd = client_script + " --bug crash-on-hold"
    # legal event sequences only, and enough of them that one holds a call (the cases of a seed are the same
    # whatever else this process has imported: test_fuzz_repro.py)
    assert main(["fuzz", "--client-cmd", cmd, "--seed", "2", "--save", str(save), "--json", "--no-malformed",
                 *FAST, "--count", "30"]) == 1
    out, err = capsys.readouterr()
    assert "FAILURE" in err and "exited with status 1" in err
    assert "replay it:  mockcti fuzz --client-cmd" in err and "--replay" in err
    assert "repeat the search:" in err and "--seed 2" in err
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["saved_to"] == str(save)
    saved = json.loads(save.read_text())
    assert any("CALL_HELD_EVENT" in item.get("types", []) for item in saved["items"])
    # the saved case replays: it fails with the buggy client and passes with the good one
    assert main(["fuzz", "--client-cmd", cmd, "--replay", str(save), "--window", "0.15"]) == 1
    assert "FAILURE" in capsys.readouterr().err
    assert main(["fuzz", "--client-cmd", client_script, "--replay", str(save), "--window", "0.15"]) == 0


@pytest.mark.parametrize("replay", [False, True])
def test_client_that_cannot_start_exits_3_and_shows_why(capsys, tmp_path, replay):
    from mockcti.testing.fuzz import CaseItem, FuzzCase

    dies = "import sys; print('cannot import my_desk', file=sys.stderr); sys.exit(4)"
    args = ["--start-timeout", "3", "--count", "1"]
    if replay:
        FuzzCase((CaseItem("malformed", ("0000000000000005",), defect="truncated body"),)).save(tmp_path / "c.json")
        args += ["--replay", str(tmp_path / "c.json")]
    assert main(["fuzz", "--client-cmd", f"{shlex_quote(sys.executable)} -c {shlex_quote(dies)}", *args]) == 3
    err = capsys.readouterr().err
    assert "could not start" in err and "exited with status 4" in err
    # what the client said before it died (was dropped: the user saw only the exit status)
    assert "client output (last lines):\n| cannot import my_desk" in err


@pytest.mark.parametrize("args", [["--count", "0"], ["--time", "0"], ["--defects", "no such defect"]])
def test_usage_errors_exit_2(args, capsys):
    assert main(["fuzz", "--client-cmd", "true", *args]) == 2


@pytest.mark.parametrize("option", ["--replay", "--center"])
def test_an_empty_file_option_is_bad_usage(option, capsys):
    """--replay '' (an unset variable: --replay "$CASE") ran a whole search instead of the replay asked for,
    --center '' the default center, without a word."""
    with pytest.raises(SystemExit) as exc:
        main(["fuzz", "--client-cmd", "true", option, "", "--count", "1"])
    assert exc.value.code == 2
    assert f"mockcti fuzz: error: argument {option}: is empty: give the file" in capsys.readouterr().err


def test_every_mistake_of_a_center_file_is_a_line_of_mockcti_fuzz(tmp_path, capsys):
    """Only the first error line said `mockcti fuzz:` (and named the file twice); the others printed bare."""
    p = tmp_path / "c.toml"
    p.write_text('wrapup_time = -1\n\n[[agents]]\nid = "1"\nstate = "NAPPING"\n')
    assert main(["fuzz", "--client-cmd", "true", "--count", "1", "--center", str(p)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"mockcti fuzz: {p}:1: wrapup_time: expected seconds between 0 and 7200, got -1",
        f"mockcti fuzz: {p}:3: agents[0]: missing key 'extension'",
        f"mockcti fuzz: {p}:5: agents[0].state: unknown agent state 'NAPPING'; allowed: LOGOUT, NOT_READY, READY, "
        "WORK, WORK_READY"]


@pytest.mark.parametrize("option", ["--time", "--window", "--max-window", "--reconnect-timeout", "--start-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_seconds_must_be_finite_and_positive(option, value, capsys):
    """nan passed the `<= 0` check (a --start-timeout of nan never expires); inf is no time limit either."""
    assert main(["fuzz", "--client-cmd", "true", "--count", "1", "--start-timeout", "2", f"{option}={value}"]) == 2
    err = capsys.readouterr().err
    assert f"mockcti fuzz: {option} must be a finite number of seconds > 0, not {float(value)!r}" in err


@pytest.mark.parametrize("port", ["-1", "65536", "70000"])
def test_a_port_out_of_range_is_a_usage_error(port, capsys):
    assert main(["fuzz", "--client-cmd", "true", "--count", "1", f"--port={port}"]) == 2  # was bind()'s OverflowError
    assert f"--port must be 0 (any free port) .. 65535, not {port}" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_in_words(capsys):
    """A --port in use read "... --port N): [Errno 98] error while attempting to bind ...": the errno's number, where
    serve and run say the error in words only."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["fuzz", "--client-cmd", "true", "--count", "1", "--save", "", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mockcti fuzz: cannot run (--host 127.0.0.1, --port {port}): ")
    assert len(err.splitlines()) == 1
    assert "address already in use" in err and "[Errno" not in err, err


@pytest.mark.parametrize("argv", [["--list-defects"], ["--client-cmd", "true", "--count", "1"]])
def test_without_hypothesis_it_says_how_to_install_it(argv):
    """The plain install (pip install -e .) has no Hypothesis (the test extra brings it): even
    --list-defects died with ModuleNotFoundError, exit 1. A fresh interpreter, as there, with the
    module made unimportable (this process has imported it already)."""
    import subprocess

    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "from mockcti.cli import main\n"
            f"sys.exit(main(['fuzz', *{argv!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == "mockcti fuzz needs Hypothesis: pip install 'mockcti[test]'"


def test_a_broken_hypothesis_is_named(monkeypatch, capsys):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **kw):
        if name == "hypothesis":
            raise ModuleNotFoundError("No module named 'sortedcontainers'", name="sortedcontainers")
        return real(name, *a, **kw)

    monkeypatch.setattr(importlib, "import_module", fake)
    assert main(["fuzz", "--list-defects"]) == 2
    err = capsys.readouterr().err
    assert "needs Hypothesis, which cannot be imported (No module named 'sortedcontainers')" in err


def test_list_defects(capsys):
    assert main(["fuzz", "--list-defects"]) == 0  # no client needed to list them
    assert "garbage" in capsys.readouterr().out
    assert main(["fuzz"]) == 2
    assert "--client-cmd is required" in capsys.readouterr().err


@pytest.mark.parametrize("case, needle", [
    ({"items": [{"kind": "events", "frames": ["zz"]}]}, "is not hex"),
    ({"items": [{"kind": "events", "frames": ["0000000100000005"]}]}, "not one whole message"),
    ({"items": [{"kind": "malformed", "frames": ["00"], "chunk": 0}]}, "chunk must be"),
    ({"items": [{"kind": "events", "frames": []}]}, "non-empty list of hex"),
    ({"items": []}, "non-empty list"),
    ({"items": [{"kind": "x"}]}, "item kind"),
    ({"dialect": {"profile": "cisco"}, "items": [{"kind": "malformed", "frames": ["00"]}]}, "unknown dialect"),
])
def test_a_corrupt_case_file_is_a_usage_error(tmp_path, capsys, case, needle):
    """--replay of a damaged case file: exit 2 naming the problem (it was a traceback and exit 1,
    which means "failing case found")."""
    import json

    p = tmp_path / "case.json"
    p.write_text(json.dumps(case))
    assert main(["fuzz", "--client-cmd", "true", "--replay", str(p)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err


def test_a_server_that_cannot_listen_or_a_save_path_that_cannot_be_written_is_a_usage_error(capsys, tmp_path):
    """They were tracebacks with exit 1, which reads as 'a failing case was found'."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["fuzz", "--client-cmd", "true", "--port", str(port), "--time", "3"]) == 2
    assert "cannot run" in capsys.readouterr().err
    (tmp_path / "afile").write_text("")
    assert main(["fuzz", "--client-cmd", "true", "--save", str(tmp_path / "afile" / "x.json"), "--time", "3"]) == 2
    assert capsys.readouterr().err == (f"mockcti fuzz: --save {tmp_path / 'afile' / 'x.json'}: its directory "
                                       f"{tmp_path / 'afile'}: not a directory (a file of that name exists)\n")
    assert main(["fuzz", "--client-cmd", "true", "--save", str(tmp_path), "--time", "3"]) == 2
    assert capsys.readouterr().err == (f"mockcti fuzz: --save {tmp_path}: a directory, not a file (give the file "
                                       f"the case is written to)\n")
    long = tmp_path / ("f" * 300 + ".json")  # (is_dir() raised: a traceback, exit 1)
    assert main(["fuzz", "--client-cmd", "true", "--save", str(long), "--time", "3"]) == 2
    assert capsys.readouterr().err == f"mockcti fuzz: --save {long}: File name too long\n"


def test_a_failing_case_that_cannot_be_saved_is_still_the_result(client_script, tmp_path, monkeypatch, capsys):
    """The case file written once the search ends (a full disk): the OSError left fuzz_client and mockcti fuzz
    said "cannot run (--host 127.0.0.1, --port 0): ..." with exit 2, the failure found lost. Now the failure
    is the result (exit 1), and the result says why it was not saved."""
    import errno

    from mockcti.testing.fuzz import FuzzCase

    def full(self, path, **extra):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FuzzCase, "save", full)
    save = tmp_path / "f.json"
    crashing = f"{client_script} --bug crash-on-transfer"
    assert main(["fuzz", "--client-cmd", crashing, "--seed", "3", "--no-malformed", "--save", str(save), "--flows",
                 "transfer", "--json", *FAST]) == 1
    out, err = capsys.readouterr()
    assert (f"\nnot saved (cannot write {save}: No space left on device): there is nothing to --replay; repeating "
            f"the search finds it again\n") in err
    assert "cannot run" not in err and "replay it:" not in err and "CALL_TRANSFERRED_EVENT" in err
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["saved_to"] is None
    assert data["save_error"] == f"cannot write {save}: No space left on device"
    assert data["failure"]["case"]["items"]


def test_repeat_without_replay_is_bad_usage_not_ignored(capsys):
    """`--repeat 3` without --replay ran one search and said nothing: it reads as three."""
    assert main(["fuzz", "--client-cmd", "true", "--repeat", "3", "--time", "3"]) == 2
    assert capsys.readouterr().err == ("mockcti fuzz: --repeat 3 runs a --replay case that many times; a search is "
                                       "not repeated (--count bounds its cases, --time its length): give --replay "
                                       "FILE, or leave --repeat out\n")


def test_flows_option_finds_a_client_that_dies_on_a_transfer_and_the_search_command_keeps_it(client_script,
                                                                                                tmp_path, capsys):
    crashing = f"{client_script} --bug crash-on-transfer"
    # --save into a directory not made yet (a CI job's artifacts/fuzz/): made as `run --report DIR` makes its
    # own; it was a usage error ("its directory must exist"), so the search never ran
    save = tmp_path / "artifacts" / "fuzz" / "f.json"
    args = ["fuzz", "--client-cmd", crashing, "--seed", "3", "--no-malformed", "--save", str(save), *FAST]
    assert main([*args, "--flows", "transfer"]) == 1
    assert save.is_file()
    err = capsys.readouterr().err
    assert "CALL_TRANSFERRED_EVENT" in err
    assert "repeat the search:" in err and "--flows transfer" in err
    assert main(["fuzz", "--client-cmd", crashing, "--replay", str(save), "--window", "0.3"]) == 1


def test_save_empty_saves_nothing_and_says_so_rather_than_print_a_replay_that_is_the_search(client_script,
                                                                                            tmp_path, monkeypatch,
                                                                                            capsys):
    """--save '' saves nothing (as --help says): it printed "replay it:" with the search command itself, no
    --replay in it, beside "repeat the search:" with the same text, and no word that nothing was saved."""
    monkeypatch.chdir(tmp_path)
    crashing = f"{client_script} --bug crash-on-transfer"
    args = ["fuzz", "--client-cmd", crashing, "--seed", "3", "--no-malformed", "--save", "", "--flows", "transfer",
            *FAST]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "\nnot saved (no save file was given): there is nothing to --replay; repeating the search finds it " \
           "again\n" in err
    assert "replay it:" not in err and "saved to" not in err and "\nrepeat the search:  mockcti fuzz " in err
    assert list(tmp_path.glob("*.json")) == []


def test_list_flows_and_a_bad_flow(capsys):
    assert main(["fuzz", "--list-flows"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == [
        "inbound", "consult", "transfer", "conference", "make_call", "barge_in"]
    assert main(["fuzz", "--client-cmd", "true", "--flows", "inbound,fax"]) == 2
    assert "--flows: unknown flow(s) ['fax']; known: inbound, consult" in capsys.readouterr().err


def test_view_bridge_finds_a_bridge_client_that_dies_on_call_queued_and_the_search_command_keeps_it(
        client_script, tmp_path, capsys):
    """--view bridge: the events are a bridge session's (CALL_QUEUED_EVENT only a bridge is sent)."""
    crashing = f"{client_script} --bridge --bug crash-on-queued"
    save = tmp_path / "f.json"
    args = ["fuzz", "--client-cmd", crashing, "--seed", "3", "--no-malformed", "--flows", "inbound",
            "--save", str(save), *FAST]
    assert main([*args, "--view", "bridge"]) == 1
    err = capsys.readouterr().err
    assert "CALL_QUEUED_EVENT" in err and "the client process exited with status 1" in err
    assert "repeat the search:" in err and "--flows inbound --view bridge" in err
    assert main(["fuzz", "--client-cmd", crashing, "--replay", str(save), "--window", "0.3"]) == 1


def test_view_bridge_refuses_a_client_that_opens_an_agent_session(client_script, capsys):
    assert main(["fuzz", "--client-cmd", client_script, "--flows", "inbound", "--view", "bridge", *FAST]) == 3
    assert "view 'bridge': the client opened an agent-mode session" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--flows", "inbound", "--view", "wallboard"], "--view: unknown view 'wallboard'; known: agent, bridge"),
    (["--view", "bridge"], "--view bridge needs --flows"),
])
def test_a_bad_view_exits_2(args, message, capsys):
    assert main(["fuzz", "--client-cmd", "true", *args]) == 2
    assert message in capsys.readouterr().err


def test_replay_takes_the_view_from_the_case_file_and_a_contradicting_view_is_bad_usage(client_script, tmp_path,
                                                                                          capsys):
    from mockcti.testing.fuzz import CaseItem, FuzzCase
    from mockcti.wire import Dialect, encode
    from mockcti.wire import messages as M
    from mockcti.wire.enums import SystemEventID

    frame = encode(M.SystemEvent(system_event_id=int(SystemEventID.SYS_CCX_ONLINE)), Dialect.uccx(18)).hex()
    FuzzCase((CaseItem("events", (frame,), ("SYSTEM_EVENT",)),), view="bridge").save(tmp_path / "b.json")
    assert main(["fuzz", "--client-cmd", client_script, "--replay", str(tmp_path / "b.json"), "--view", "agent"]) == 2
    assert "--view agent: " + str(tmp_path / "b.json") + " holds a case of the bridge view" in capsys.readouterr().err
    # without --view: the file's view; an agent client is not what a bridge case is for (exit 3, as the search)
    assert main(["fuzz", "--client-cmd", client_script, "--replay", str(tmp_path / "b.json"),
                 "--window", "0.15", "--start-timeout", "10"]) == 3
    assert "view 'bridge': the client opened an agent-mode session" in capsys.readouterr().err
    assert main(["fuzz", "--client-cmd", client_script + " --bridge", "--replay", str(tmp_path / "b.json"),
                 "--window", "0.15", "--start-timeout", "10"]) == 0


def test_search_options_given_with_replay_are_named_as_not_used(client_script, tmp_path, capsys):
    """--seed, --flows, --count ... given with --replay were dropped without a word (the search command
    with --replay added reads as a replay of those flows); each is named, and a plain replay says nothing."""
    from mockcti.testing.fuzz import CaseItem, FuzzCase
    from mockcti.wire import Dialect, encode
    from mockcti.wire import messages as M
    from mockcti.wire.enums import SystemEventID

    frame = encode(M.SystemEvent(system_event_id=int(SystemEventID.SYS_CCX_ONLINE)), Dialect.uccx(18)).hex()
    FuzzCase((CaseItem("events", (frame,), ("SYSTEM_EVENT",)),)).save(tmp_path / "a.json")
    replay = ["fuzz", "--client-cmd", client_script, "--replay", str(tmp_path / "a.json"), "--window", "0.15"]
    assert main([*replay, "--seed", "5", "--flows", "transfer", "--count", "7", "--no-malformed"]) == 0
    assert ("mockcti fuzz: not used with --replay (they shape a search; the saved case runs as it is): --seed, "
            "--count, --flows, --no-malformed") in capsys.readouterr().err
    assert main(replay) == 0
    assert "not used with --replay" not in capsys.readouterr().err


def test_the_printed_replay_and_search_commands_keep_every_option_that_decides_the_verdict(client_script, tmp_path,
                                                                                           capsys):
    """The replay command left out --max-window, --reconnect-timeout and --start-timeout (and the search command
    the two timeouts): a case that failed only in a window widened to a short IdleTimeout (--max-window) passed
    when replayed with the printed command. Both commands now carry them; the printed replay fails again."""
    import shlex

    cmd = client_script + " --bug crash-on-hold"
    save = tmp_path / "f.json"
    watch = ["--window", "0.15", "--max-window", "0.3", "--reconnect-timeout", "4", "--start-timeout", "8",
             "--min-idle-timeout", "2"]
    assert main(["fuzz", "--client-cmd", cmd, "--seed", "2", "--count", "30", "--time", "30", "--no-malformed",
                 "--max-items", "1", "--max-calls", "1", "--save", str(save), *watch]) == 1
    err = capsys.readouterr().err
    replay = next(line for line in err.splitlines() if line.startswith("replay it:  "))
    search = next(line for line in err.splitlines() if line.startswith("repeat the search:  "))
    for line in (replay, search):
        assert " ".join(watch) in line, line
    argv = shlex.split(replay.removeprefix("replay it:  "))
    assert argv[:2] == ["mockcti", "fuzz"]
    assert main(argv[1:]) == 1
    err = capsys.readouterr().err
    assert "FAILURE" in err
    # the case's events decoded, the one the client dies on among them
    assert "case (each event decoded below its item):" in err
    assert "\n     CALL_HELD_EVENT connection_device_type=CONNECTION_ID_STATIC call_id=" in err


def test_fuzz_takes_message_id_and_field_tag_as_serve_does(client_script, capsys):
    """`mockcti fuzz --message-id/--field-tag` (commands.renumbered, as serve, decode and run): it had
    neither option (argparse exit 2), so a client of another numbering could not be fuzzed."""
    assert main(["fuzz", "--client-cmd", client_script, "--seed", "2", "--message-id",
                 "QUERY_QUEUE_STATISTICS_REQ=259", "--field-tag", "SNAPSHOT_DEVICE_CONF.CallState=75",
                 "--save", "", *FAST, "--count", "2"]) == 0
    assert "no failure found" in capsys.readouterr().err
    assert main(["fuzz", "--client-cmd", client_script, "--message-id", "QUERY_QUEUE_STATISTICS_REQ=5"]) == 2
    assert capsys.readouterr().err == "mockcti fuzz: --message-id: wire number 5 is already HEARTBEAT_REQ\n"


def test_a_client_dying_after_the_window_is_blamed_on_its_case_and_the_commands_watch_longer(client_script,
                                                                                              tmp_path, capsys):
    """A client that dies 0.4 s after CALL_TRANSFERRED_EVENT, after the 0.15 s window: the next case was failed
    for it (a case without the transfer, its reason naming CALL_TRANSFERRED_EVENT). Now the case with the transfer
    is saved, the output says the failure came after its window, and the printed commands watch longer."""
    import shlex

    cmd = f"{client_script} --bug crash-late-on-transfer"
    save = tmp_path / "f.json"
    assert main(["fuzz", "--client-cmd", cmd, "--seed", "3", "--no-malformed", "--flows", "inbound,transfer",
                 "--save", str(save), "--json", *FAST, "--time", "10"]) == 1
    captured = capsys.readouterr()
    err, out = captured.err, json.loads(captured.out)
    saved = json.loads(save.read_text())
    assert "CALL_TRANSFERRED_EVENT" in [t for item in saved["items"] for t in item.get("types", [])], err
    assert saved["reason"] == "the client process exited with status 1"
    assert "| fuzz_client: bug: died 0.4 s after CALL_TRANSFERRED_EVENT" in saved["details"]  # (its output)
    assert "passed its 0.15 s window, but the client failed after it" in saved["late"]
    assert out["late"] == saved["late"] and "\nlate failure: case " in err
    replay = next(line for line in err.splitlines() if line.startswith("replay it:  "))
    window = float(shlex.split(replay)[shlex.split(replay).index("--window") + 1])
    assert window >= 0.6  # 1.5 x the time the case took to fail alone (0.4 s at least)


def test_a_flaky_client_is_named_so_in_the_json_and_the_saved_case_and_its_replay_runs_it_several_times(
        client_script, tmp_path, capsys):
    """A client that dies on every third CALL_HELD_EVENT (counted in a file, across its runs): nothing in the
    output nor in --json said that it fails on a case only some of the time, and the printed replay ran the saved
    case once (it passes two times in three). Now "flaky" says so (--json, the saved case, a line of the output),
    the replay command repeats the case, and that replay, after a pass, fails and says the client is flaky."""
    import shlex

    cmd = f"{client_script} --bug flaky-on-hold --count-file {shlex_quote(str(tmp_path / 'holds'))}"
    save = tmp_path / "f.json"
    assert main(["fuzz", "--client-cmd", cmd, "--seed", "11", "--no-malformed", "--no-chunking", "--save", str(save),
                 "--json", *FAST, "--window", "0.8", "--max-window", "0.8", "--time", "30"]) == 1
    captured = capsys.readouterr()
    err, out = captured.err, json.loads(captured.out)
    assert out["flaky"] and "the client does not fail on it every time" in out["flaky"], err
    assert json.loads(save.read_text())["flaky"] == out["flaky"]
    assert "the client is flaky: it does not fail every time)" in err.splitlines()[0]
    assert f"\nflaky: {out['flaky']}\n" in err
    replay = shlex.split(out["replay_command"])
    assert replay[replay.index("--replay") + 1] == str(save) and replay[replay.index("--repeat") + 1] == "10"
    (tmp_path / "holds").write_text("0")  # (the saved case holds fewer than 3 calls: its first run passes)
    assert main(["fuzz", "--client-cmd", cmd, "--replay", str(save), "--repeat", "10", "--window", "0.8", "--json"]) == 1
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert again["flaky"] and again["flaky"].startswith("the case passed "), captured.err
    assert "run(s) before it failed: the client does not fail on it every time" in again["flaky"]
    assert f"\nflaky: {again['flaky']}\n" in captured.err


def test_a_client_dying_on_its_own_in_the_first_case_s_window_blames_no_case(client_script, tmp_path, capsys):
    """examples/fuzz_client.py --bug crash-after-open dies 0.5 s after its session opens, inside the first case's
    1 s window: that case was saved and printed as the smallest failing case. Now no case is blamed or saved."""
    save = tmp_path / "f.json"
    assert main(["fuzz", "--client-cmd", f"{client_script} --bug crash-after-open", "--seed", "3", "--no-malformed",
                 "--save", str(save), *FAST, "--window", "1", "--max-window", "1", "--time", "15", "-v"]) == 1
    err = capsys.readouterr().err
    # -v shows every run with its verdict: the case's (its line was missing: the search printed it only once the
    # run returned, and the control run ended it) and the control run's
    log = [line for line in err.splitlines() if line.startswith(("case ", "  no case"))]
    assert log == ["case 1: 1 item(s) -> FAIL: the client process exited with status 1",
                   "  no case -> FAIL: the client process exited with status 1: the client fails on its own"], err
    assert "reason: the client process exited with status 1 (with no case sent: the client fails on its own, " in err
    assert "| fuzz_client: bug: died 0.5 s after its session opened" in err
    assert "no failing case: the client fails with no case sent to it" in err
    assert not save.exists()


ONE_SHOT = """import asyncio, os
from mockcti.client import CTIClient

async def main():
    cti = await CTIClient.connect(os.environ["CTI_HOST"], int(os.environ["CTI_PORT"]), version=18, timeout=5)
    await cti.open_agent(agent_id="1001", extension="3001", instrument="3001", heartbeat=0, timeout=5)
    print("one-shot: session opened, exiting", flush=True)
    await cti.abort()

asyncio.run(main())
"""


@pytest.mark.parametrize("replay", [False, True])
def test_a_client_that_opens_a_session_and_exits_at_once_started_and_fails_on_its_own(tmp_path, monkeypatch,
                                                                                       capsys, replay):
    """A client that opens its session and exits a few milliseconds later was "could not start" (exit 3) when no
    poll caught its session open (a loaded machine): the fuzzer told a start by a session seen open. Now a client
    that opened a session started, whatever its lifetime: it fails on its own (exit 1). The polls are made to
    miss the session here, as load makes them, so that the test does not depend on timing."""
    from mockcti.testing import fuzz
    from mockcti.testing.fuzz import CaseItem, FuzzCase

    monkeypatch.setattr(fuzz._Fuzzer, "_latest_open", lambda self: None)  # no poll sees the session open
    script = tmp_path / "one_shot.py"
    script.write_text(ONE_SHOT)
    args = ["--client-cmd", f"{shlex_quote(sys.executable)} {shlex_quote(str(script))}", "--save", "",
            "--start-timeout", "20", "--json"]
    if replay:
        FuzzCase((CaseItem("malformed", ("0000000000000005",), defect="truncated body"),)).save(tmp_path / "c.json")
        args = [*args[:2], "--replay", str(tmp_path / "c.json"), *args[4:]]
    else:
        args += ["--count", "1"]
    assert main(["fuzz", *args]) == 1
    captured = capsys.readouterr()
    out, err = json.loads(captured.out), captured.err
    assert "could not start" not in err and out["start_error"] is None
    assert out["failure"]["reason"].startswith("the client process exited with status 0 (with no case sent: the "
                                               "client fails on its own, ")
    assert "| one-shot: session opened, exiting" in out["failure"]["details"]
    # the case was never sent: none is printed (or given in --json) as the one that failed; a replay has no seed
    assert "no failing case: the client fails with no case sent to it" in err, err
    assert "decoded below its item" not in err and out["failure"]["case"]["items"] == []
    assert out["seed"] is None if replay else isinstance(out["seed"], int)


def test_quiet_prints_only_errors_and_the_exit_status_is_the_verdict(client_script, tmp_path, capsys):
    """--quiet (errors only, as run, validate and serve): a replay that passes or fails prints nothing, the exit
    status is the verdict and --json still prints the result; a client that cannot start is an error, said. It
    was an unknown option (exit 2); with -v it is bad usage."""
    from mockcti.testing.fuzz import CaseItem, FuzzCase

    case = tmp_path / "c.json"
    FuzzCase((CaseItem("malformed", ("0000000000000005",), defect="truncated body"),)).save(case)
    assert main(["fuzz", "--client-cmd", client_script, "--replay", str(case), "--window", "0.15", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["fuzz", "--client-cmd", client_script, "--replay", str(case), "--window", "0.15", "--quiet",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out)["passed"] is True
    dies = f"{shlex_quote(sys.executable)} -c 'import sys; sys.exit(4)'"
    assert main(["fuzz", "--client-cmd", dies, "--replay", str(case), "-q", "--start-timeout", "5"]) == 3
    assert "the client could not start: the client process exited with status 4" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["fuzz", "--client-cmd", client_script, "-q", "-v"])
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_to_mockcti_fuzz_stops_the_client_and_exits_128_plus_it(client_script, tmp_path, sig):
    """SIGTERM (a cancelled CI job) killed mockcti fuzz by the signal's default action: the client, in a process
    group of its own, ran on for ever, and nothing was said. Now SIGTERM, like Ctrl-C, stops the search, the
    client and the server, says so, and exits 143 (130)."""
    import os
    import signal
    import subprocess
    import time

    from processes import reap  # tests/support

    pidfile = tmp_path / "client.pid"
    cmd = f"echo $$ > {shlex_quote(str(pidfile))}; exec {client_script}"
    proc = subprocess.Popen([sys.executable, "-m", "mockcti", "fuzz", "--client-cmd", cmd, "--seed", "1", "--time",
                             "60", "--count", "1000", "--save", ""], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        for _ in range(600):  # until the client runs (at most 60 s)
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.1)
        pid = int(pidfile.read_text())
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=30)
    finally:
        reap(proc)
    left = True
    for _ in range(50):  # the client is gone (at most 5 s)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            left = False
            break
        time.sleep(0.1)
    if left:
        os.killpg(pid, signal.SIGKILL)
    assert not left, f"the client (pid {pid}) was left running"
    assert proc.returncode == 128 + getattr(signal, sig), err
    assert f"mockcti fuzz: {sig}: stopped (the client and the server with it); no result" in err


def _saved_case(tmp_path: Path, edit) -> Path:
    """A case file as `mockcti fuzz --save` writes it (an END_CALL_EVENT, then a malformed frame), edited."""
    from mockcti.testing.fuzz import CaseItem, FuzzCase
    from mockcti.wire import Dialect, encode
    from mockcti.wire.messages import EndCallEvent

    frame = encode(EndCallEvent(connection_device_type=0, call_id=1, connection_device_id="3001"), Dialect.uccx(18))
    case = FuzzCase((CaseItem("events", (frame.hex(),), ("END_CALL_EVENT",)),
                     CaseItem("malformed", ("00000000ffffffff",), defect="unknown message type", chunk=3)))
    p = tmp_path / "case.json"
    case.save(p, seed=1, reason="the client process exited with status 1")
    data = json.loads(p.read_text())
    edit(data)
    p.write_text(json.dumps(data, indent=2) + "\n")
    return p


def _line_of(p: Path, needle: str) -> int:
    return next(n for n, line in enumerate(p.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("edit, where, key, needle", [
    # a file of another mockcti version's format was replayed as if it were this one's
    (lambda d: d.update(format="mockcti-fuzz-case/2"), '"format"', "format",
     "written by another version of mockcti"),
    # an event frame that does not decode was a traceback (exit 1, "a failing case was found")
    (lambda d: d["items"][0]["frames"].__setitem__(0, "00000000ffffffff"), '"00000000ffffffff"', "items[0].frames[0]",
     "does not decode"),
    (lambda d: d["dialect"].update(v18_length_width=3), '"v18_length_width"', "dialect.v18_length_width", "1 or 2"),
    # out-of-range and non-integer versions were taken (99) or named no key (int() of "eighteen")
    (lambda d: d["dialect"].update(version=99), '"version"', "dialect.version", "versions 10..18, not 99"),
    (lambda d: d["dialect"].update(version="eighteen"), '"version"', "dialect.version", "not 'eighteen'"),
    (lambda d: d["items"][1].update(closes_connection="no"), '"closes_connection"', "items[1].closes_connection",
     "true or false"),
    (lambda d: d["items"][1].update(chunks=4), '"chunks"', "items[1].chunks", "not a key of a case item"),
    (lambda d: d["items"][0].update(types="END_CALL_EVENT"), '"types"', "items[0].types", "a list of message type"),
    (lambda d: d["items"][1]["frames"].__setitem__(0, "zz"), '"zz"', "items[1].frames[0]", "is not hex"),
])
def test_a_case_file_edited_wrongly_or_of_another_version_names_its_file_line_and_key(tmp_path, capsys, edit, where,
                                                                                       key, needle):
    p = _saved_case(tmp_path, edit)
    assert main(["fuzz", "--client-cmd", "true", "--replay", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:{_line_of(p, where)}: {key}: " in err and needle in err and "Traceback" not in err, err


def test_a_case_file_that_is_not_json_names_its_line(tmp_path, capsys):
    p = _saved_case(tmp_path, lambda d: None)
    p.write_text(p.read_text().replace('"view": "agent",', '"view": "agent"'))
    assert main(["fuzz", "--client-cmd", "true", "--replay", str(p)]) == 2
    err = capsys.readouterr().err
    line = _line_of(p, '"items"')  # (where the missing comma is noticed)
    assert f"{p}:{line}: not JSON: Expecting ',' delimiter" in err, err


def test_a_saved_case_loads_as_it_was_saved(tmp_path):
    from mockcti.testing.fuzz import load_case

    p = _saved_case(tmp_path, lambda d: None)
    case = load_case(p)
    assert [i.kind for i in case.items] == ["events", "malformed"] and case.items[1].chunk == 3


def test_the_order_of_defects_and_flows_does_not_change_the_cases_and_the_search_command_gives_them_in_order(
        client_script, tmp_path, capsys):
    """`--defects A,B` and `--defects B,A` (and `--flows`) drew other cases with the same seed (Hypothesis samples
    the list in its order), and the printed search command kept the order typed: a colleague typing the set in
    another order, or a script sorting it, saw another search. Now a selection is a set: the same cases whatever
    the order (or a name repeated), and the command names it in the order --list-defects / --list-flows give."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from mockcti.testing.fuzz import cases

    def keys(**kw) -> list[str]:
        out: list[str] = []

        @settings(max_examples=10, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @seed(1)
        @given(cases(**kw))
        def draw(case):
            out.append(case.key())

        draw()
        return out

    assert keys(defects=["garbage", "truncated body"]) == keys(defects=["truncated body", "garbage", "garbage"])
    assert (keys(flows=["transfer", "inbound"], malformed=False)
            == keys(flows=["inbound", "transfer", "transfer"], malformed=False))
    crashing = f"{client_script} --bug crash-on-transfer"
    assert main(["fuzz", "--client-cmd", crashing, "--seed", "3", "--save", "", *FAST, "--max-items", "1",
                 "--flows", "transfer,inbound", "--defects", "garbage,truncated body"]) == 1
    err = capsys.readouterr().err
    search = next(line for line in err.splitlines() if line.startswith("repeat the search:  "))
    assert "--defects 'truncated body,garbage'" in search and "--flows inbound,transfer" in search, search


def test_a_client_that_opens_and_exits_0_at_once_is_no_failing_case_found(tmp_path, capsys):
    """A client that opens its session and exits 0 at once (a script that forgot its event loop): "0 case(s)
    run …: FAILURE (1 failing case(s) found)" beside "no failing case: the client fails with no case sent to it"
    (the no-case run was counted as a failing case); exit 1, as documented."""
    script = tmp_path / "client.py"
    script.write_text(ONE_SHOT, encoding="utf-8")
    assert main(["fuzz", "--client-cmd", f"{shlex_quote(sys.executable)} {shlex_quote(str(script))}", "--seed", "1",
                 "--save", str(tmp_path / "f.json"), "--json", *FAST]) == 1
    out, err = capsys.readouterr()
    head = err.splitlines()[0]
    assert head.startswith("mockcti fuzz: 0 case(s) run in ") and head.endswith(
        ": FAILURE (the client fails on its own; 0 case(s) failed before that was seen, none to blame)"), err
    assert "no failing case: the client fails with no case sent to it" in err
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["cases_run"] == 0 and data["saved_to"] is None
    assert not (tmp_path / "f.json").exists()


def test_a_client_slower_to_open_than_the_time_budget_is_not_a_pass(client_script, capsys):
    """A client that takes longer to open its session than --time (a slow JVM start in CI) was sent no case:
    "0 case(s) run …: no failure found", exit 0, "passed": true — nothing was tested. Now it is no pass: exit 2
    (as for bad usage: give a longer --time), said even with -q, "no_case" in --json."""
    slow = f"sleep 1; exec {client_script}"
    assert main(["fuzz", "--client-cmd", slow, "--seed", "1", "--save", "", *FAST, "--time", "0.3", "-q",
                 "--json"]) == 2
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["passed"] is False and data["exit_code"] == 2 and data["cases_run"] == 0
    assert data["no_case"].startswith("the time budget (0.3 s) was spent before the first case could be sent (the "
                                      "client took ")
    assert data["no_case"].endswith(" to open its session): nothing was tested; give a longer --time")
    assert ": no case run: the time budget (0.3 s) was spent" in err and "no failure found" not in err


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_once_the_search_has_ended_leaves_its_result_whole(sig, monkeypatch, tmp_path, capsys):
    """Ctrl-C or SIGTERM while the result of an ended search was printed raised there: the --json output was lost, the
    exit status was 130/143 and the last line said "stopped (...); no result" although the search had found a failure
    and saved it. Now the result is printed whole, the exit status is its own, and a line says the signal came then.
    (The search is a stand-in whose summary takes the signal: it lands there every time.)"""
    import signal
    import types

    import mockcti.testing.fuzz as fuzz

    def summary():
        signal.raise_signal(getattr(signal, sig))
        return "mockcti fuzz: 3 case(s) run, seed 5\nFAILURE: the client exited"

    result = types.SimpleNamespace(
        passed=False, exit_code=1, seed=5, cases_run=3, elapsed=1.5, budget_exhausted=False, start_error=None,
        failure=None, no_case=None, not_shrunk=None, late=None, restart_error=None, dialect_note=None, flaky=None,
        replay_command="mockcti fuzz --replay case.json", search_command="mockcti fuzz --seed 5",
        saved_to=str(tmp_path / "case.json"), save_error=None, client_started=True, summary=summary)
    monkeypatch.setattr(fuzz, "fuzz_client", lambda *a, **k: result)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # (Ctrl-C as in a terminal)
    try:
        status = main(["fuzz", "--client-cmd", "true", "--json", "--save", str(tmp_path / "case.json")])
    finally:
        signal.signal(signal.SIGINT, previous)
    out, err = capsys.readouterr()
    assert status == 1, err
    assert json.loads(out)["saved_to"] == str(tmp_path / "case.json")
    assert "FAILURE: the client exited" in err and "no result" not in err, err
    assert f"mockcti fuzz: {sig} came once the search had ended: the result and the exit status are its own" in err


# a Ctrl-C raised where mockcti fuzz stops its server (in a fresh interpreter, Ctrl-C as in a terminal): as the
# server's stop coroutine is handed to its thread, or while that thread is joined; "first": a Ctrl-C as the search
# runs the case after the first failing one, before (the stop then takes the second one)
_SIGINT_IN_THE_STOP = """\
import asyncio, signal, sys, threading
signal.signal(signal.SIGINT, signal.default_int_handler)
point, first = sys.argv[1], sys.argv[2] == "first"
if point == "schedule":
    real_schedule = asyncio.run_coroutine_threadsafe

    def run_coroutine_threadsafe(coro, loop):
        if getattr(coro, "__qualname__", "") == "MockServer.stop":
            signal.raise_signal(signal.SIGINT)
        return real_schedule(coro, loop)

    asyncio.run_coroutine_threadsafe = run_coroutine_threadsafe
else:
    real_join = threading.Thread.join

    def join(self, timeout=None):
        if self.name == "mockcti-server":
            signal.raise_signal(signal.SIGINT)
        return real_join(self, timeout)

    threading.Thread.join = join
if first:
    import mockcti.testing.fuzz as fuzz
    real_run, failed = fuzz._Fuzzer.run_case, []

    def run_case(self, case, *args, **kwargs):
        if failed:  # (the search has the failing case: it is being shrunk)
            signal.raise_signal(signal.SIGINT)
        outcome = real_run(self, case, *args, **kwargs)
        failed.append(outcome.failure) if outcome.failure else None
        return outcome

    fuzz._Fuzzer.run_case = run_case
import mockcti.cli
sys.exit(mockcti.cli.main(sys.argv[3:]))
"""


@pytest.mark.parametrize("point", ["schedule", "join"])
@pytest.mark.parametrize("first", [False, True])
def test_a_ctrl_c_while_the_server_stops_stops_it_cleanly(client_script, tmp_path, point, first):
    """A Ctrl-C that landed as mockcti fuzz stopped its server (the search over, or a first Ctrl-C being acted on)
    raised there: "RuntimeWarning: coroutine 'MockServer.stop' was never awaited" on stderr when it came as the
    stop was handed to the server's thread, the thread left running when it came during its join, and a second
    Ctrl-C replaced the first one's "the smallest failing case found so far is saved to F" with "no result". Now the
    client and the server are stopped whatever comes meanwhile, and a second Ctrl-C changes nothing of what the first
    one says (exit 130). A single one, once the search has ended, stops nothing: the result is told whole, the exit
    status is its own (1: a failing case, saved), and a line says when the signal came (it was "no result", 130).
    (That search is cut by a short --time: found, its failing case is not shrunk.)"""
    import subprocess

    save = tmp_path / "f.json"
    r = subprocess.run([sys.executable, "-c", _SIGINT_IN_THE_STOP, point, "first" if first else "once", "fuzz",
                        "--client-cmd", f"{client_script} --bug crash-on-hold", "--seed", "2", "--save", str(save),
                        "--no-malformed", *FAST, "--count", "30", *([] if first else ["--time", "3"])],
                       capture_output=True, text=True, timeout=60)
    assert "never awaited" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert save.exists()
    if first:
        assert r.returncode == 130, r.stderr
        assert f"SIGINT: stopped (the client and the server with it); the smallest failing case found so far is " \
               f"saved to {save}" in r.stderr, r.stderr
    else:
        assert r.returncode == 1, r.stderr
        assert "FAILURE" in r.stderr and f"\nsaved to {save}\n" in r.stderr and "no result" not in r.stderr, r.stderr
        assert r.stderr.endswith("mockcti fuzz: SIGINT came once the search had ended: the result and the exit status "
                                 "are its own\n"), r.stderr


def test_a_ctrl_c_as_the_case_reported_is_run_once_more_saves_that_case_with_its_replay(client_script, tmp_path,
                                                                                         capsys, monkeypatch):
    """Once the search has ended, the case it reports is run once more alone on a fresh client (is the client
    flaky?). A Ctrl-C then saved the smallest case that had failed, not the one the result reports, and printed a
    bare `--replay F`: here the search reports two cases a late failure needs in a row, joined, replayed with a
    wider --window; the file held the first failing case alone and the replay watched it 1 s. Now the case saved is
    the one reported (with its "late" note), and the line gives the replay the result would have printed. The late
    failure is injected and the Ctrl-C lands as the case is run once more (no timing decides either)."""
    import time

    import mockcti.testing.fuzz as F
    from mockcti.testing.fuzz import load_case

    real_run = F._Fuzzer.run_case
    failed: list = []

    def run_case(self, case, *args, **kw):
        if failed and not getattr(self, "injected", False):  # the next case finds the client dead: a late failure
            self.injected = True
            ran = F._Ran(failed[0], self.cases_run, 1, 1, 0, time.monotonic() - 0.5, self.window)
            raise F._LateFailure([ran], F._Outcome("the client process exited with status 1"), time.monotonic())
        outcome = real_run(self, case, *args, **kw)
        if outcome.failure:
            failed.append(case)
        return outcome

    def find_late(self, late):  # the failing case twice in a row fails again 0.5 s after it was sent
        return F._Culprit([late.ran, late.ran], F._Outcome("the client process exited with status 1", at=0.5))

    def passes_once_more(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(F._Fuzzer, "run_case", run_case)
    monkeypatch.setattr(F._Fuzzer, "find_late", find_late)
    monkeypatch.setattr(F, "_passes_once_more", passes_once_more)
    save = tmp_path / "f.json"
    cmd = client_script + " --bug crash-on-hold"
    assert main(["fuzz", "--client-cmd", cmd, "--seed", "2", "--save", str(save), "--no-malformed", *FAST,
                 "--count", "30"]) == 130
    err = capsys.readouterr().err
    assert failed, err
    saved = json.loads(save.read_text(encoding="utf-8"))
    assert load_case(save).items == failed[0].items * 2, saved  # the two cases joined: the case reported
    assert "the failure needs them in a row" in saved["late"], saved
    assert saved["interrupted"].startswith("the search had ended: the case it reports, interrupted as it was run "
                                           "once more"), saved
    window = F._late_window(0.15, 0.5)
    replay = F._command(cmd, ["--replay", shlex_quote(str(save)), "--window", f"{window:g}", "--max-window", "0.15",
                              "--reconnect-timeout", "5"])
    assert (f"mockcti fuzz: SIGINT: stopped (the client and the server with it); the search had ended: the failing "
            f"case it reports is saved to {save} (it was being run once more alone at the end); replay it:  "
            f"{replay}\n") in err, err
