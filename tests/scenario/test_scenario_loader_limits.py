"""Scenario loader limits: caller's data and Text a message cannot carry are load errors (not
run-time "cannot encode" faults), only small regular files are read (a FIFO or a device never
blocks or floods the reader), and a too-deep document or non-UTF-8 text names its line."""

from __future__ import annotations

import builtins
import io
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from mockcti import files
from mockcti.cli import main
from mockcti.scenario import ScenarioError, load_scenario, load_scenario_text
from mockcti.scenario import loader


def load(text: str, **kw):
    return load_scenario_text(textwrap.dedent(text), filename=kw.pop("filename", "s.yaml"), **kw)


def refused(text: str, **kw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(text, **kw)
    assert "internal error" not in str(info.value)
    return info.value


def happening(do: str) -> str:
    return f"name: x\ntimeline:\n  - at: 1\n    do: {do}\n"


# -- caller's data and Text ---------------------------------------------------------------------------


def test_unknown_call_variable_name_is_a_located_load_error():
    # review finding 1: {account: "42"} validated OK and crashed the hub when the call was delivered
    err = refused(happening('{deliver_call: {csq: Sales, call_variables: {account: "42"}}}'))
    assert (err.line, err.key_path) == (4, "timeline[0].do.deliver_call.call_variables.account")
    assert "unknown call variable 'account'" in err.message and "call_variable1 .. call_variable10" in err.message


@pytest.mark.parametrize("body, key, needle", [
    ('{agent: "1001", ani: "' + "1" * 40 + '"}', "ani", "ani is 40 bytes; a call event carries at most 39"),
    ('{agent: "1001", ani: "' + "é" * 20 + '"}', "ani", "ani is 40 bytes"),  # 20 characters, 40 bytes
    ('{agent: "1001", dnis: "' + "7" * 32 + '"}', "dnis", "dnis is 32 bytes; a call event carries at most 31"),
    ('{agent: "1001", call_variables: {call_variable1: "' + "v" * 41 + '"}}', "call_variables.call_variable1",
     "call_variable1 is 41 bytes; a call event carries at most 40"),
    ('{agent: "1001", call_variables: {call_variable11: "v"}}', "call_variables.call_variable11",
     "unknown call variable 'call_variable11'"),
])
def test_deliver_call_data_beyond_begin_call_event_is_a_load_error(body, key, needle):
    err = refused(happening("{deliver_call: " + body + "}"))
    assert (err.line, err.key_path) == (4, f"timeline[0].do.deliver_call.{key}")
    assert needle in err.message


def test_deliver_call_data_at_the_maximums_loads():
    sc = load(happening('{deliver_call: {agent: "1001", ani: "' + "1" * 39 + '", dnis: "' + "é" * 15 + '7", '
                        'call_variables: {call_variable1: "' + "v" * 40 + '", call_variable10: "' + "ü" * 20 + '"}}}'))
    act = sc.timeline[0].actions[0]
    assert act.ani == "1" * 39 and act.call_variables["call_variable10"] == "ü" * 20


def test_every_bad_call_data_field_is_reported_and_the_limits_come_from_the_center():
    from mockcti.center.config import CALL_DATA_MAX as _CALL_DATA_MAX

    err = refused(happening('{deliver_call: {agent: "1001", ani: "' + "1" * (_CALL_DATA_MAX["ani"] + 1) + '", '
                            'dnis: "' + "2" * (_CALL_DATA_MAX["dnis"] + 1) + '", call_variables: '
                            '{account: "x", call_variable2: "' + "3" * (_CALL_DATA_MAX["call_variable2"] + 1) + '"}}}'))
    assert sorted(e.key_path.rsplit(".", 1)[-1] for e in err.errors) == ["account", "ani", "call_variable2", "dnis"]


def test_deliver_call_in_rules_steps_and_templates_is_checked():
    err = refused("""\
        name: x
        templates:
          call:
            - deliver_call: {agent: "1001", call_variables: {account: "1"}}
        rules:
          - when: {message: HEARTBEAT_REQ}
            then:
              - deliver_call: {csq: Sales, ani: "%s"}
              - default
        steps:
          - do: [{deliver_call: {csq: Sales, dnis: "%s"}}]
          - do: [{use: call}]
        """ % ("1" * 50, "2" * 50))
    where = {(e.line, e.key_path) for e in err.errors}
    assert (4, "templates.call[0].deliver_call.call_variables.account") in where
    assert (8, "rules[0].then[0].deliver_call.ani") in where
    assert (11, "steps[0].do[0].deliver_call.dnis") in where


def test_center_preset_calls_are_checked():
    err = refused("""\
        name: x
        center:
          agents: [{id: "1001", extension: "3001"}]
          calls:
            - agent: "1001"
              ani: "%s"
              variables: {account: "42", call_variable2: "%s"}
        """ % ("1" * 45, "v" * 41))
    where = {(e.line, e.key_path): e.message for e in err.errors}
    assert "ani is 45 bytes" in where[(6, "center.calls[0].ani")]
    assert "unknown call variable 'account'" in where[(7, "center.calls[0].variables.account")]
    assert "call_variable2 is 41 bytes" in where[(7, "center.calls[0].variables.call_variable2")]
    sc = load('name: x\ncenter:\n  agents: [{id: "1001", extension: "3001"}]\n'
              '  calls: [{agent: "1001", ani: "' + "1" * 39 + '", variables: {call_variable1: 42}}]\n')
    assert sc.center["calls"][0]["ani"] == "1" * 39


def test_deliver_call_named_variables_and_arrays_load_and_every_bad_one_is_located():
    """deliver_call's named_variables ({name: value}) and named_arrays ({name: [value, null, ...]}) load
    (they were an unknown key); a name, value or array no call event can carry is an error at its
    line and key path, all of them at once; the 2,000 bytes of them all at the element that passes it."""
    sc = load("""\
        name: x
        timeline:
          - at: 1
            do:
              deliver_call:
                agent: "1001"
                named_variables: {user.customer.id: C-42}
                named_arrays: {user.items: [router, null, modem]}
        """)
    act = sc.timeline[0].actions[0]
    assert act.named_variables == {"user.customer.id": "C-42"}
    assert act.named_arrays == {"user.items": ("router", None, "modem")}
    err = refused("""\
        name: x
        timeline:
          - at: 1
            do:
              deliver_call:
                agent: "1001"
                named_variables:
                  user.ok: fine
                  user.long: "%s"
                named_arrays:
                  user.items: [router, "%s"]
                  "%s": [a]
        """ % ("v" * 211, "é" * 106, "é" * 17))
    where = {(e.line, e.key_path): e.message for e in err.errors}
    at = "timeline[0].do.deliver_call."
    assert "named variable 'user.long' is 211 bytes; a call event carries at most 210" in \
        where[(9, at + 'named_variables["user.long"]')]
    assert "element 1 of named array 'user.items' is 212 bytes" in where[(11, at + 'named_arrays["user.items"][1]')]
    assert "is 34 bytes; a call event carries at most 32" in where[(12, at + f'named_arrays[{json.dumps("é" * 17)}]')]
    err = refused(happening("{deliver_call: {agent: '1001', named_variables: {%s: x}}}" % ("n" * 33)))
    assert err.key_path == "timeline[0].do.deliver_call.named_variables"  # the schema: at most 32 characters
    err = refused(happening("{deliver_call: {agent: '1001', named_variables: {%s}}}"
                            % ", ".join(f"user.v{i}: '{'v' * 200}'" for i in range(10))))
    assert (err.line, err.key_path) == (4, 'timeline[0].do.deliver_call.named_variables["user.v9"]')
    assert "reach 2090 bytes here; a call event carries at most 2000" in err.message


def test_substituted_named_data_counts_as_empty_at_load_and_is_checked_when_used():
    sc = load(happening("{deliver_call: {agent: '1001', named_variables: {user.id: '${seed}%s'}}}" % ("v" * 300)))
    assert sc.timeline[0].actions[0].named_variables["user.id"].startswith("${seed}")
    err = refused(happening("{deliver_call: {agent: '1001', named_arrays: {user.a: ['${seed}', '%s']}}}" % ("v" * 211)))
    assert err.key_path == 'timeline[0].do.deliver_call.named_arrays["user.a"][1]'
    err = refused(happening("{deliver_call: {agent: '1001', named_variables: {user.id: '${nope}'}}}"))
    assert "unknown substitution '${nope}'" in err.message


def test_center_preset_calls_take_named_data_checked_by_the_center():
    sc = load('name: x\ncenter:\n  agents: [{id: "1001", extension: "3001"}]\n'
              '  calls: [{agent: "1001", named_variables: {user.id: 42}, named_arrays: {user.a: [x, null]}}]\n')
    assert sc.center["calls"][0]["named_variables"] == {"user.id": 42}
    err = refused('name: x\ncenter:\n  agents: [{id: "1001", extension: "3001"}]\n  calls:\n'
                  '    - agent: "1001"\n      named_arrays: {user.a: [x, "%s"]}\n' % ("v" * 211))
    assert (err.line, err.key_path) == (6, 'center.calls[0].named_arrays["user.a"][1]')
    assert "element 1 of named array 'user.a' is 211 bytes" in err.message
    err = refused('name: x\ncenter:\n  agents: [{id: "1001", extension: "3001"}]\n  calls:\n'
                  '    - agent: "1001"\n      variables: {user.id: "7"}\n')
    assert "(a named ECC variable goes in named_variables)" in err.message


@pytest.mark.parametrize("do", [
    '{deliver_call: {agent: "1001", ani: "$${x}%s"}}' % ("1" * 35),
    '{deliver_call: {agent: "1001", dnis: "$${x}%s"}}' % ("7" * 27),
    '{deliver_call: {agent: "1001", call_variables: {call_variable1: "$${x}%s"}}}' % ("v" * 36),
    '{deliver_call: {agent: "1001", named_variables: {user.id: "$${x}%s"}}}' % ("v" * 206),
    '{system_event: {id: SYS_TEXT_FYI, text: "$${x}%s"}}' % ("t" * 250),
    '{failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "$${x}%s"}}' % ("t" * 250),
])
def test_a_literal_dollar_escape_counts_as_the_one_character_it_is_sent_as(do):
    """$${ is sent as ${ (the engine substitutes every value): text at its maximum once sent was refused at
    load, counted a byte longer than it is; one more byte is still refused."""
    load(happening(do))
    longer = do.replace('$${x}', '$${x}z')
    err = refused(happening(longer))
    assert err.line == 4 and "at most" in err.message, err.message


def test_substituted_call_data_is_left_to_run_time():
    sc = load(happening('{deliver_call: {agent: "1001", ani: "${seed}' + "1" * 60 + '", '
                        'call_variables: {call_variable1: "${seed}' + "v" * 60 + '"}}}'))
    assert sc.timeline[0].actions[0].ani.startswith("${seed}")
    err = refused(happening('{deliver_call: {agent: "1001", call_variables: {account: "${seed}"}}}'))
    assert err.key_path.endswith("call_variables.account")  # a name is never substituted


@pytest.mark.parametrize("do, key, limit", [
    ('{system_event: {id: SYS_TEXT_FYI, text: "' + "t" * 255 + '"}}', "system_event.text", "SYSTEM_EVENT Text"),
    ('{system_event: {id: SYS_TEXT_FYI, text: "' + "é" * 128 + '"}}', "system_event.text", "SYSTEM_EVENT Text"),
    ('{failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "' + "t" * 255 + '"}}', "failure_event.text",
     "FAILURE_EVENT Text"),
])
def test_text_beyond_the_message_maximum_is_a_load_error(do, key, limit):
    err = refused(happening(do))
    assert (err.line, err.key_path) == (4, f"timeline[0].do.{key}")
    assert f"{limit} holds at most 254 bytes" in err.message


def test_fail_text_is_counted_in_bytes():
    rule = "name: x\nrules:\n  - when: {message: HEARTBEAT_REQ}\n    then: [{fail: {%s, text: \"%s\"}}]\n"
    err = refused(rule % ("status: E_CTI_UNSPECIFIED_FAILURE", "x" * 255))
    assert (err.line, err.key_path) == (4, "rules[0].then[0].fail.text")
    assert "FAILURE_CONF Text holds at most 254 bytes (UTF-8), got 255" in err.message
    err = refused(rule % ("failure_code: CF_GENERIC_UNSPECIFIED", "ö" * 128))
    assert "CONTROL_FAILURE_CONF Text holds at most 254 bytes (UTF-8), got 256" in err.message
    assert load(rule % ("status: E_CTI_UNSPECIFIED_FAILURE", "x" * 254)).rules[0].then[0].text == "x" * 254
    assert load(happening('{system_event: {id: SYS_TEXT_FYI, text: "${seed}' + "t" * 300 + '"}}'))


@pytest.mark.parametrize("body, message", [
    ('fail: {status: E_CTI_UNSPECIFIED_FAILURE, text: "' + "é" * 300 + '"}', "FAILURE_CONF Text holds at most 254 bytes (UTF-8), got 600"),
    ('fail: {failure_code: CF_GENERIC_OPERATION, text: "' + "x" * 256 + '"}',
     "CONTROL_FAILURE_CONF Text holds at most 254 bytes (UTF-8), got 256"),
    ('failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "' + "€" * 256 + '"}',
     "FAILURE_EVENT Text holds at most 254 bytes (UTF-8), got 768"),
])
def test_a_fail_text_longer_than_255_characters_is_refused_with_the_byte_limit(body, message):
    """schema.json allowed fail.text and failure_event.text 255 characters, the loader 254 bytes: a
    text over 255 characters got the schema's "takes at most 255 characters", neither the field's
    limit (STRING[255] is 254 bytes and its NUL) nor in the bytes the wire counts (300 "é" are 600).
    Now the one check, in bytes, names the file, line, key and limit; the schema only says so."""
    rule = "name: x\nrules:\n  - when: {message: HOLD_CALL_REQ}\n    then: [{%s}]\n"
    err = refused(rule % body)
    assert str(err) == f"s.yaml:4: rules[0].then[0].{body.split(':')[0]}.text: {message}"
    assert len(err.errors) == 1


def test_a_substituted_fail_text_is_left_to_run_time_as_a_system_event_text_is():
    """A fail's or failure_event's text with ${…} is checked when it is sent (its length then
    depends on what is substituted), as a system_event's always was; the schema refused one over 255
    characters before it was substituted."""
    long = "${request.invoke_id} " + "t" * 300
    sc = load(f'name: x\nrules:\n  - when: {{message: HOLD_CALL_REQ}}\n    then: [{{fail: {{status: E_CTI_UNSPECIFIED_FAILURE, text: "{long}"}}}}]\n')
    assert sc.rules[0].then[0].text == long
    sc = load(happening('{failure_event: {status: E_CTI_UNSPECIFIED_FAILURE, text: "${seed}' + "t" * 300 + '"}}'))
    assert sc.timeline[0].actions[0].text == "${seed}" + "t" * 300


# -- reading files ------------------------------------------------------------------------------------


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")


@pytest.fixture
def never_opened(monkeypatch):
    """``never_opened(path, ...)``: opening one of these paths fails the test at once (so a loader
    that opened a FIFO or /dev/zero neither blocks nor exhausts memory here: the check must come
    before open())."""
    banned: set[str] = set()

    def guard(real):
        def opener(file, *a, **kw):
            if isinstance(file, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(file)) in banned:
                raise AssertionError(f"{file} was opened")
            return real(file, *a, **kw)
        return opener

    monkeypatch.setattr(os, "open", guard(os.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(builtins, "open", guard(builtins.open))

    def ban(*paths):
        banned.update(os.path.abspath(os.fspath(p)) for p in paths)
    return ban


@needs_fifo
@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(tmp_path, never_opened):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    never_opened(fifo)
    started = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(fifo)
    assert info.value.file == str(fifo) and "FIFO" in info.value.message and "not a regular file" in info.value.message
    main_file = tmp_path / "main.yaml"
    main_file.write_text("name: x\ninclude:\n  - pipe.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(main_file)
    err = info.value
    assert (err.file, err.line, err.key_path) == (str(main_file), 3, "include[0]")
    assert "cannot read included file 'pipe.yaml': a FIFO" in err.message
    assert time.monotonic() - started < 10


@needs_dev_zero
@pytest.mark.timeout(20)
def test_a_device_is_refused_before_it_is_read(tmp_path, never_opened):
    never_opened("/dev/zero")
    with pytest.raises(ScenarioError) as info:
        load_scenario("/dev/zero")
    assert info.value.file == "/dev/zero" and "a character device, not a regular file" in info.value.message
    main_file = tmp_path / "main.yaml"
    main_file.write_text("name: x\ninclude: [/dev/zero]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(main_file)
    assert (info.value.line, info.value.key_path) == (2, "include[0]")
    assert "cannot read included file '/dev/zero': a character device" in info.value.message


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    assert loader.MAX_FILE_BYTES == 4 * 1024 * 1024
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    ok = tmp_path / "ok.yaml"
    ok.write_bytes(b"name: x\n" + b"#" * 91 + b"\n")  # exactly 100 bytes
    assert load_scenario(ok).name == "x"
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: x\n" + b"#" * 92 + b"\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(big)
    assert info.value.file == str(big) and "too large: 101 bytes; the limit is 100" in info.value.message
    main_file = tmp_path / "main.yaml"
    main_file.write_text("name: x\ninclude: [big.yaml]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(main_file)
    assert (info.value.line, info.value.key_path) == (2, "include[0]") and "too large" in info.value.message


def test_at_most_the_limit_plus_one_byte_is_read(tmp_path, monkeypatch):
    # a file that grows between stat and read (here: stat says small) is read no further than the limit + 1
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    p = tmp_path / "grows.yaml"
    p.write_bytes(b"#" * 5000)
    real_stat, reads = os.stat, []

    def small_stat(path, *a, **kw):
        st = real_stat(path, *a, **kw)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                               st.st_atime, st.st_mtime, st.st_ctime)) if Path(path) == p else st

    real_read = os.read
    monkeypatch.setattr(files.os, "stat", small_stat)
    monkeypatch.setattr(files.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(ScenarioError, match="too large: more than 100 bytes"):
        load_scenario(p)
    assert sum(reads) <= 101


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file: a directory, not a regular file"):
        load_scenario(tmp_path)


@needs_fifo
@pytest.mark.timeout(30)
def test_validate_and_run_report_a_fifo_and_a_device_in_one_line(tmp_path, capsys, never_opened):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    paths = [str(fifo)] + (["/dev/zero"] if os.path.exists("/dev/zero") else [])
    never_opened(*paths)
    for path in paths:
        assert main(["validate", path]) == 1  # validate: 1 = a file is invalid (2 is bad usage)
        out, err = capsys.readouterr()
        assert err.splitlines() == [f"{path}: cannot read the file: "
                                    + ("a FIFO (named pipe)" if path == str(fifo) else "a character device")
                                    + ", not a regular file"]
        assert out.strip() == f"INVALID {path} (1 error)"
        assert main(["run", path, "--report", str(tmp_path / "report")]) == 2  # run: 2 = a scenario invalid
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "not a regular file" in err and "Traceback" not in err


# -- errors that name their line ----------------------------------------------------------------------


def test_too_deep_yaml_names_the_line_where_the_limit_is_crossed():
    assert loader.MAX_DEPTH == 100
    # the root mapping is level 1, foo's list level 2 (line 3), the k-th "[" level k + 1 (line k + 2)
    err = refused("name: x\nfoo:\n" + " [\n" * 200 + " " + "]" * 200 + "\n")
    assert err.line == 102 and "nested too deeply (more than 100 levels" in err.message
    assert "cannot tell" not in err.message
    err = refused("[" * 5000 + "]" * 5000)
    assert err.line == 1 and "nested too deeply" in err.message


def test_depth_at_the_limit_is_not_refused_for_depth():
    err = refused("name: x\nfoo: " + "[" * 98 + "1" + "]" * 98 + "\n")  # the 1 is level 100
    assert "nested too deeply" not in err.message and err.key_path == "foo"
    err = refused("name: x\nfoo: " + "[" * 99 + "1" + "]" * 99 + "\n")
    assert "nested too deeply" in err.message and err.line == 2


def test_too_deep_through_an_alias_names_line_and_key():
    text = "name: x\na: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    err = refused(text)
    assert "nested too deeply" in err.message
    assert err.line == 2 and err.key_path.startswith("b[0][0]")


def test_too_deep_toml_names_the_line_or_says_it_cannot():
    err = refused('name = "x"\n\nfoo = ' + "[" * 150 + "]" * 150 + "\n", filename="t.toml", fmt="toml")
    assert err.line == 3 and err.key_path.startswith("foo[0]") and "nested too deeply" in err.message
    err = refused('name = "x"\nfoo = ' + "[" * 5000 + "]" * 5000 + "\n", filename="t.toml", fmt="toml")
    assert err.line == 1 and "nested too deeply" in err.message and "cannot tell the line" in err.message


@pytest.mark.parametrize("data, byte, line", [
    (b"name: x\ndescription: \xff\n", 21, 2),
    (b"\xef\xbb\xbfname: x\n\n\ndescription: ok \xc3\n", 29, 4),  # after a BOM: the file's own offset
    (b"\xffname: x\n", 0, 1),
])
def test_non_utf8_names_byte_and_line(data, byte, line):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(data, filename="u.yaml")
    err = info.value
    assert err.line == line and err.message == f"not UTF-8 text (byte {byte}, line {line})"
    assert str(err) == f"u.yaml:{line}: not UTF-8 text (byte {byte}, line {line})"


def test_loading_survives_a_reimported_yaml_module(monkeypatch):
    """A test harness that re-imports modules (pytester's in-process runs) gave nodes of a new
    ``yaml`` module to a loader class cached from the old one: every mapping was refused as an
    "unsupported YAML tag 'tag:yaml.org,2002:map'"."""
    import importlib
    import sys

    assert load_scenario_text("name: a\nend: {after: 1}\n", filename="a.yaml").name == "a"
    for name in [k for k in sys.modules if k == "yaml" or k.startswith("yaml.")]:
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    importlib.import_module("yaml")
    assert load_scenario_text("name: b\nend: {after: 1}\n", filename="b.yaml").name == "b"


def test_a_list_read_from_a_file_is_a_list_whose_index_method_works():
    """Every list a scenario or center file holds is a ``located.LList`` (a list that knows its lines).
    Its own bookkeeping hid ``list.index`` behind an attribute (``lst.index("b")``: TypeError, 'list'
    object is not callable — and a type checker was told it was the method)."""
    from mockcti.located import parse

    doc = parse("csqs: [Sales, Support]\n", "c.yaml", "yaml")
    assert doc["csqs"].index("Support") == 1
    assert doc["csqs"].origin(1) == 1
