"""Center descriptions (TOML, YAML): what loads, and the precise error for what does not;
and ``mockcti serve`` with the embedded default and with a file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from mockcti.center import CenterConfigError, ContactCenter, default_center, load_center_file
from mockcti.client import CTIClient
from mockcti.wire.enums import AgentState
from processes import reap  # tests/support

TOML = """
after_call_state = "NOT_READY"
external_answer_delay = 1.5
on_agent_disconnect = "logout"
ready_while_talking = "pending"
supervisor_reason_codes = false
supervisor_logout_while_talking = "pending"
set_call_data_call_type = "ignore"

[[csqs]]
name = "Billing"
id = 7

[[agents]]
id = "5001"
extension = "6001"
password = "s3cret"
csqs = ["Billing"]
team = "Blue"
state = "READY"
"""

YAML = """
center:
  csqs: [{name: Billing, id: 7}]
  agents:
    - {id: "5001", extension: "6001", csqs: [Billing]}
    - {id: "5002", extension: "6002", csqs: [Billing], supervisor: true}
"""


def test_default_center_is_the_documented_one():
    cfg = default_center()
    assert [(a.id, a.extension, a.instrument, a.password) for a in cfg.agents] == [
        (str(1000 + n), str(3000 + n), str(3000 + n), "1234") for n in range(1, 5)]
    assert [(c.name, c.id) for c in cfg.csqs] == [("Sales", 1), ("Support", 2)]
    assert all(a.csqs for a in cfg.agents)


def test_toml_file(tmp_path):
    p = tmp_path / "center.toml"
    p.write_text(TOML)
    cfg = load_center_file(p)
    a = cfg.agents[0]
    assert (a.id, a.extension, a.device, a.password, a.csqs, a.team, a.state) == (
        "5001", "6001", "6001", "s3cret", ("Billing",), "Blue", AgentState.AGENT_STATE_READY)
    assert cfg.after_call_state is AgentState.AGENT_STATE_NOT_READY and cfg.external_answer_delay == 1.5
    assert cfg.on_agent_disconnect == "logout" and default_center().on_agent_disconnect == "not_ready"
    assert cfg.ready_while_talking == "pending" and default_center().ready_while_talking == "refuse"
    assert cfg.supervisor_reason_codes is False and default_center().supervisor_reason_codes is True
    assert cfg.supervisor_logout_while_talking == "pending"
    assert default_center().supervisor_logout_while_talking == "refuse"
    assert cfg.set_call_data_call_type == "ignore" and default_center().set_call_data_call_type == "apply"
    assert ContactCenter(cfg).agents["5001"].csq_ids == (7,)


def test_yaml_file_with_a_center_section(tmp_path):
    p = tmp_path / "center.yaml"
    p.write_text(YAML)
    cfg = load_center_file(p)
    assert [a.id for a in cfg.agents] == ["5001", "5002"] and cfg.agents[1].supervisor


@pytest.mark.parametrize("text, key_path, words", [
    ("agents: [{id: '1', extension: '2', csqs: [Nope]}]\ncsqs: [{name: Sales}]", "agents[0].csqs[0]", ["Nope", "Sales"]),
    ("agents: [{id: '1', extension: '2', colour: red}]", "agents[0].colour", ["allowed", "extension"]),
    ("agents: [{id: '1'}]", "agents[0]", ["extension"]),
    ("agents: [{id: '1', extension: '2', state: SLEEPING}]", "agents[0].state", ["READY", "NOT_READY"]),
    ("agents: [{id: '1', extension: '2'}, {id: '1', extension: '3'}]", "agents[1].id", ["duplicate"]),
    ("csqs: [{name: A, id: 1}, {name: B, id: 1}]", "csqs[1].id", ["duplicate"]),
    ("calls: [{agent: '9'}]", "calls[0].agent", ["unknown agent"]),
    ("acd_failure_mode: loud", "acd_failure_mode", ["cf", "ctierr"]),
    # a rejection cell's code must be a cn_ngcc code (the violation cites its name and seed text)
    ("acd: {transitions: {Line1Connected: {Hold: 11280}}}", "acd.transitions.Line1Connected.Hold",
     ["11280 is not a code of the cn_ngcc catalog"]),
    ("control_failure_codes: csta", "control_failure_codes", ["uccx", "icm"]),
    ("on_agent_disconnect: logoff", "on_agent_disconnect", ["not_ready", "logout", "keep"]),
    ("ready_while_talking: later", "ready_while_talking", ["refuse", "pending"]),
    ("supervisor_logout_while_talking: later", "supervisor_logout_while_talking", ["refuse", "pending"]),
    ("set_call_data_call_type: always", "set_call_data_call_type", ["apply", "ignore"]),
    ("supervisor_reason_codes: 33", "supervisor_reason_codes", ["true or false"]),
    # a preset call's data must fit BEGIN_CALL_EVENT (it would fail to be announced otherwise)
    ("agents: [{id: '1', extension: '2'}]\ncalls: [{agent: '1', variables: {account: '7'}}]",
     "calls[0].variables.account", ["unknown call variable", "call_variable1"]),
    ("agents: [{id: '1', extension: '2'}]\ncalls: [{agent: '1', ani: '" + "0" * 40 + "'}]",
     "calls[0].ani", ["40 bytes", "at most 39"]),
    ("agents: [{id: '1', extension: '2'}]\ncalls: [{agent: '1', variables: {call_variable2: '" + "é" * 21 + "'}}]",
     "calls[0].variables.call_variable2", ["42 bytes", "at most 40"]),
    ("agents: {id: 1}", "agents", ["list"]),
    # names the events carry must fit them with their NUL (CSQName 64, AgentInstrument 64, TeamName 50): a
    # longer one did not encode, and the CONFIG_CSQ_EVENT, AGENT_STATE_EVENT or TEAM_CONFIG_EVENT was never sent
    ("csqs: [{name: '" + "Q" * 64 + "'}]", "csqs[0].name", ["longer than 63 bytes"]),
    ("agents: [{id: '1', extension: '2', instrument: '" + "9" * 64 + "'}]", "agents[0].instrument",
     ["longer than 63 bytes"]),
    ("agents: [{id: '1', extension: '2', team: '" + "é" * 25 + "'}]", "agents[0].team", ["longer than 49 bytes"]),
    # CALL_QUEUED_EVENT carries CSQID as an INT: a larger id did not encode, the bridges never got the event
    ("csqs: [{name: Big, id: 2147483648}]", "csqs[0].id", ["2147483648", "0..2147483647", "CALL_QUEUED_EVENT"]),
    # a preset call's caller is outside the center: from an agent's phone the caller's leg was the agent's
    ("agents: [{id: '1', extension: '2'}, {id: '5', extension: '6'}]\ncalls: [{agent: '1', ani: '6'}]",
     "calls[0].ani", ["the phone of agent 5", "outside the center"]),
])
def test_errors_name_file_key_and_allowed_values(tmp_path, text, key_path, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(p)
    msg = str(exc.value)
    assert exc.value.line in (1, 2)  # the line of the key (every text above is one or two lines)
    assert msg.startswith(f"{p}:{exc.value.line}: {key_path}:"), msg
    assert exc.value.key_path == key_path
    for w in words:
        assert w in msg


def test_preset_calls_fit_one_agent_line(tmp_path):
    """Two preset calls talking (or one talking, one ringing) on one agent's phone were both set up: a line of two
    active calls, where QUERY_DEVICE_INFO_CONF says MaxActiveCalls 1 and every call offered at run time is held to
    it (a dialled call fails busy, an injected one is refused). Each call too many is an error at its line and key
    path naming the call it collides with; one talking or ringing beside one held is a line UCCX has."""
    head = "agents = [{id = '1001', extension = '3001'}, {id = '1002', extension = '3002'}]\n"
    p = tmp_path / "c.toml"
    p.write_text(head + "[[calls]]\nagent = '1001'\nani = '0611'\n"
                        "[[calls]]\nagent = '1001'\nani = '0622'\nstate = 'ringing'\n"
                        "[[calls]]\nagent = '1002'\nstate = 'held'\n"
                        "[[calls]]\nagent = '1002'\nstate = 'held'\n")
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(p)
    assert [str(e) for e in exc.value.errors] == [
        f"{p}:8: calls[1].state: agent 1001 already has calls[0] talking: an agent's line takes one call talking or "
        "ringing (MaxActiveCalls 1), a held one aside",
        f"{p}:14: calls[3].state: agent 1002 already has calls[2] held: an agent's line holds one call (MaxHeldCalls 1)"]
    p.write_text(head + "[[calls]]\nagent = '1001'\nstate = 'held'\n[[calls]]\nagent = '1001'\nstate = 'ringing'\n"
                        "[[calls]]\nagent = '1002'\n")
    assert [c.state for c in load_center_file(p).calls] == ["held", "ringing", "talking"]
    # a scenario's center: the same reader, the key paths below center
    from mockcti.scenario.loader import ScenarioError, load_scenario_text

    with pytest.raises(ScenarioError, match=r"s\.yaml:6: center\.calls\[1\]\.state: agent 1001 already has "
                                        r"center\.calls\[0\] talking: an agent's line takes one call"):
        load_scenario_text("name: s\ncenter:\n  agents: [{id: '1001', extension: '3001'}]\n  calls:\n"
                           "    - {agent: '1001'}\n    - {agent: '1001', state: ringing}\n"
                           "expect: [{message: OPEN_REQ}]\n", filename="s.yaml")


def test_preset_calls_built_in_python_get_the_center_files_check():
    """A CenterConfig built in Python (not from a center file) skipped the preset-call check: two calls talking at
    one agent were both set up (a line of two active calls), a call's ANI that is an agent's phone made a call of
    one leg, an unknown CSQ was taken, and an unknown agent or call state was a bare KeyError('9999') from
    ContactCenter. Now CenterConfig itself refuses them, with the center file's messages and key paths."""
    from mockcti.center import AgentConfig, CenterConfig, CSQConfig
    from mockcti.center.config import CallConfig

    agents, csqs = (AgentConfig("1001", "3001", csqs=("Sales",)),), (CSQConfig("Sales", 1),)
    with pytest.raises(CenterConfigError) as exc:
        CenterConfig(agents=agents, csqs=csqs, calls=(
            CallConfig(agent="1001"), CallConfig(agent="1001", state="ringing"), CallConfig(agent="9999"),
            CallConfig(agent="1001", state="on hold"), CallConfig(agent="1001", state="held", csq="Sale"),
            CallConfig(agent="1001", state="held", ani="3001")))
    assert [str(e) for e in exc.value.errors] == [
        "calls[1].state: agent 1001 already has calls[0] talking: an agent's line takes one call talking or "
        "ringing (MaxActiveCalls 1), a held one aside",
        "calls[2].agent: unknown agent '9999'; allowed: 1001",
        "calls[3].state: unknown call state 'on hold'; allowed: ringing, talking, held",
        "calls[4].csq: unknown CSQ 'Sale'; allowed: Sales; did you mean Sales?",
        "calls[5].state: agent 1001 already has calls[4] held: an agent's line holds one call (MaxHeldCalls 1)",
        "calls[5].ani: ani '3001' is the phone of agent 1001: a call in progress comes from outside the center"]
    assert exc.value.errors[1].path == ("calls", 2, "agent")
    ok = CenterConfig(agents=agents, csqs=csqs, calls=(CallConfig(agent="1001", state="held"),
                                                       CallConfig(agent="1001", csq="Sales")))
    assert len(ContactCenter(ok).preset_call_ids) == 2


def test_agents_and_csqs_built_in_python_get_the_center_files_check():
    """A CenterConfig built in Python skipped the checks of its CSQs and agents a center file gets: a second agent
    1001 silently replaced the first (its phone still ringing the survivor's desktop), two agents on extension 3001
    made 3001 the last one's, an agent in a CSQ not defined was in none (calls to its CSQ queued for ever), a start
    state TALKING left an agent with no call TALKING. Now a CenterConfigError with the file's messages."""
    from mockcti.center import AgentConfig, CenterConfig, CSQConfig

    with pytest.raises(CenterConfigError) as exc:
        CenterConfig(csqs=(CSQConfig("Sales", 1), CSQConfig("Sales", 1)), agents=(
            AgentConfig("1001", "3001", csqs=("Sales",)), AgentConfig("1001", "3002", csqs=("Sale",)),
            AgentConfig("1003", "3001", state=AgentState.AGENT_STATE_TALKING)),
            after_call_state=AgentState.AGENT_STATE_HOLD)
    allowed = "allowed: LOGOUT, NOT_READY, READY, WORK, WORK_READY"
    assert [str(e) for e in exc.value.errors] == [
        "csqs[1].name: duplicate CSQ 'Sales'", "csqs[1].id: duplicate CSQ id 1",
        "agents[1].id: duplicate id '1001'", "agents[1].csqs[0]: unknown CSQ 'Sale'; allowed: Sales; did you mean Sales?",
        "agents[2].extension: duplicate extension '3001' of agent 1003: it is the extension of agent 1001 "
        "(agents[0].extension); UCCX ties a phone extension to one agent", f"agents[2].state: unknown agent state 'TALKING'; {allowed}",
        f"after_call_state: unknown agent state 'HOLD'; {allowed}"]
    # the file's reader says the same of the same mistakes
    with pytest.raises(CenterConfigError) as exc:
        CenterConfig.from_mapping({"csqs": [{"name": "Sales"}], "agents": [
            {"id": "1001", "extension": "3001", "csqs": ["Sale"]}, {"id": "1001", "extension": "3001"}]})
    assert [str(e) for e in exc.value.errors] == [
        "agents[0].csqs[0]: unknown CSQ 'Sale'; allowed: Sales; did you mean Sales?",
        "agents[1].id: duplicate id '1001'", "agents[1].extension: duplicate extension '3001' of agent 1001: it is "
        "the extension of agent 1001 (agents[0].extension); UCCX ties a phone extension to one agent"]


def test_two_agents_on_one_phone_are_refused_naming_both(tmp_path):
    """UCCX ties a phone's extension to one agent. Two agents with one instrument (or one's extension the other's
    instrument) were accepted: the phone became the last one's, so its calls rang that agent's desktop for both and a
    request naming the phone acted on it. Now refused where it is written, naming the other agent, its key and line;
    a CenterConfig built in Python gets the same message."""
    from mockcti.center import AgentConfig, CenterConfig

    f = tmp_path / "center.yaml"
    f.write_text("agents:\n"
                 "  - {id: '1001', extension: '3001', instrument: '5000'}\n"
                 "  - {id: '1002', extension: '3002', instrument: '5000'}\n"
                 "  - {id: '1003', extension: '3003', instrument: '3001'}\n"
                 "  - {id: '1004', extension: '3004', instrument: '3004'}\n")  # its own extension: one phone
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(f)
    tie = "UCCX ties a phone extension to one agent"
    assert [str(e) for e in exc.value.errors] == [
        f"{f}:3: agents[1].instrument: duplicate instrument '5000' of agent 1002: it is the instrument of agent "
        f"1001 (agents[0].instrument, line 2); {tie}",
        f"{f}:4: agents[2].instrument: duplicate instrument '3001' of agent 1003: it is the extension of agent "
        f"1001 (agents[0].extension, line 2); {tie}"]
    with pytest.raises(CenterConfigError) as exc:
        CenterConfig(agents=(AgentConfig("1001", "3001", "5000"), AgentConfig("1002", "3002", "5000"),
                             AgentConfig("1003", "3003", "3001"), AgentConfig("1004", "3004", "3004")))
    assert [str(e) for e in exc.value.errors] == [
        f"agents[1].instrument: duplicate instrument '5000' of agent 1002: it is the instrument of agent 1001 "
        f"(agents[0].instrument); {tie}",
        f"agents[2].instrument: duplicate instrument '3001' of agent 1003: it is the extension of agent 1001 "
        f"(agents[0].extension); {tie}"]


def test_unreadable_and_unparsable_files(tmp_path):
    with pytest.raises(CenterConfigError, match="cannot read"):
        load_center_file(tmp_path / "missing.toml")
    with pytest.raises(CenterConfigError, match="cannot read: a directory, not a regular file"):
        load_center_file(tmp_path)
    if hasattr(os, "mkfifo"):  # refused before it is opened: reading it would block until a writer comes
        fifo = tmp_path / "center.toml"
        os.mkfifo(fifo)
        with pytest.raises(CenterConfigError, match="cannot read: a FIFO"):
            load_center_file(fifo)
        fifo.unlink()
    bad = tmp_path / "x.yaml"
    bad.write_text("agents: [\n")
    with pytest.raises(CenterConfigError, match=r"x\.yaml:2: not valid YAML"):
        load_center_file(bad)
    bad = tmp_path / "x.toml"
    bad.write_text("agents = [")
    with pytest.raises(CenterConfigError, match=r"x\.toml:1: not valid TOML"):
        load_center_file(bad)


def _load_error(tmp_path, name: str, text: str | bytes) -> CenterConfigError:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(p)
    return exc.value


_NEXT_STATE_CELL = ("a center takes only rejection codes in transitions, got {got}; the center reads each agent's "
                    "ACD state from its calls, so a next state given here would have no effect (give a cn_ngcc "
                    "code, by number or name — 1128 or ACD_HOLD_BAD_STATE —, to refuse {op} in {state}, or leave "
                    "the cell out)")


@pytest.mark.parametrize("name, text, line, key_path, message", [
    # a duplicate key was accepted, the last one winning (extension 6002 was served)
    ("dup.yaml", 'agents:\n  - {id: "5001", extension: "6001", extension: "6002"}\n', 2, "agents[0].extension",
     "duplicate key 'extension'"),
    ("dup.yaml", 'agents: [{id: "1", extension: "2"}]\nagents: [{id: "3", extension: "4"}]\n', 2, "agents",
     "duplicate key 'agents'"),
    ("dup.toml", '[[agents]]\nid = "5001"\nextension = "6001"\nextension = "6002"\n', 4, "",
     "not valid TOML: duplicate key 'extension' (Cannot overwrite a value (at line 4, column 19))"),
    # tomllib names neither the key nor the table: said as a YAML file's duplicate is
    ("dup.toml", 'agents = []\n[acd.transitions.Line1Connected]\nHold = 1128\n[acd.transitions.Line1Connected]\n', 4,
     "", "not valid TOML: duplicate table [acd.transitions.Line1Connected] (Cannot declare ('acd', 'transitions', "
         "'Line1Connected') twice (at line 4, column 32))"),
    # the line of the key: the same mistake as in a scenario's center: section
    ("c3.yaml", 'agents:\n  - id: "5001"\n    extension: "6001"\n    stat: READY\n', 4, "agents[0].stat",
     "unknown key 'stat'; allowed: id, extension, instrument, password, csqs, team, supervisor, state, reason_code; "
     "did you mean state?"),
    ("c3.toml", '[[agents]]\nid = "5001"\nextension = "6001"\nstat = "READY"\n', 4, "agents[0].stat",
     "unknown key 'stat'; allowed: id, extension, instrument, password, csqs, team, supervisor, state, reason_code; "
     "did you mean state?"),
    ("c.toml", '[[csqs]]\nname = "A"\n\n[[agents]]\nid = "1"\nextension = "2"\n\n[[agents]]\nid = "3"\n', 8,
     "agents[1]", "missing key 'extension'"),
    ("c.yaml", "# center\n\nagents:\n  - id: '1'\n    extension: '2'\n    state: SLEEPING\n", 6, "agents[0].state",
     "unknown agent state 'SLEEPING'; allowed: LOGOUT, NOT_READY, READY, WORK, WORK_READY"),
    ("c.yaml", "name: s\ncenter:\n  csqs: [{name: A}]\n  agents:\n    - {id: '1', extension: '2', csqs: [B]}\n", 5,
     "center.agents[0].csqs[0]", "unknown CSQ 'B'; allowed: A"),
    # an agent in a CSQ twice: its CSQ groups named it twice, its queue statistics counted each call twice
    ("c.yaml", "csqs: [{name: A}, {name: B}]\nagents:\n  - id: '1'\n    extension: '2'\n    csqs:\n      - A\n"
               "      - B\n      - A\n", 8, "agents[0].csqs[2]", "CSQ 'A' is listed twice (also csqs[0]): an agent is "
                                                                    "in a CSQ once"),
    ("c.yaml", "center: 5\n", 1, "center", "expected a table/mapping, got an integer"),  # was: unknown key 'center'
    ("c.yaml", "agents: []\nacd:\n  order: {}\n  colour: red\n", 4, "acd.colour",
     "unknown ACD config key; allowed: transfer_allowed, clear_connection_allowed, answer_requires_delivered, "
     "setattr_response_applies_to_all, disabled_rules, allowed_states, order, transitions"),
    # wrong types: a list was taken as its repr ("[1, 2]"), or named as an unknown value
    ("c.yaml", "agents: [{id: '1', extension: '2', password: [1, 2]}]\n", 1, "agents[0].password",
     "expected a string, got a list"),
    ("c.yaml", "agents: [{id: '1', extension: '2'}]\ncalls: [{agent: '1', variables: {call_variable1: [7]}}]\n", 2,
     "calls[0].variables.call_variable1", "expected a string, got a list"),
    ("c.yaml", "agents: [{id: '1', extension: '2'}]\ncalls: [{agent: ['1']}]\n", 2, "calls[0].agent",
     "expected a string, got a list"),
    ("c.yaml", "csqs: [{name: A}]\nagents: [{id: '1', extension: '2', csqs: [[A]]}]\n", 2, "agents[0].csqs[0]",
     "expected a CSQ name, got a list"),
    ("c.yaml", "agents: [{id: '1', extension: '2', supervisor: 'no'}]\n", 1, "agents[0].supervisor",
     "expected true or false, got 'no'"),
    ("c.yaml", "agents: [{id: '1', extension: '2'}]\ncalls: [{agent: '1', csq: Sales}]\n", 2, "calls[0].csq",
     "unknown CSQ 'Sales'; none is defined"),
    ("c.yaml", "agents: [{id: '1', extension: '2', password: '" + "p" * 64 + "'}]\n", 1, "agents[0].password",
     "longer than 63 bytes"),  # AgentPassword is 64 bytes with its NUL (§5.2): the agent could never log in
    ("c.yaml", "- agents\n", 1, "", "expected a table/mapping, got a list"),
    # null and booleans as the file writes them: it read "got None", "unknown mode None", "got True"
    ("c.yaml", "agents: [{id: '1', extension: '2', supervisor: null}]\n", 1, "agents[0].supervisor",
     "expected true or false, got null"),
    ("c.yaml", "agents: []\nacd_failure_mode: null\n", 2, "acd_failure_mode", "unknown mode null; allowed: cf, ctierr"),
    ("c.yaml", "agents: []\nwrapup_time: yes\n", 2, "wrapup_time", "expected seconds between 0 and 7200, got true"),
    ("c.yaml", "agents: []\nacd:\n  answer_requires_delivered: ~\n", 3, "acd.answer_requires_delivered",
     "expected true or false, got null"),
    # 1e2 is text to YAML 1.1: say so, not only "got '1e2'"
    ("c.yaml", "agents: []\nwrapup_time: 1e2\n", 2, "wrapup_time",
     "expected seconds between 0 and 7200, got '1e2'; YAML reads 1e2 as text, not a number: write 100 or 1.0e+2"),
    ("c.yaml", "agents: []\nperipheral_id: 5e0\n", 2, "peripheral_id",
     "expected an integer, got text; YAML reads 5e0 as text, not a number: write 5"),
    # a lone scalar (a key written without its colon) had no line: "c.yaml: expected a table/mapping, got text"
    ("c.yaml", "agents\n", 1, "", "expected a table/mapping, got text"),
    ("c.yaml", "42\n", 1, "", "expected a table/mapping, got an integer"),
    # read as scenarios are: plain data only, a bounded depth (this was a RecursionError traceback)
    ("c.yaml", "agents: !!python/object:os.system {}\n", 1, "agents",
     "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system' (only plain data is read)"),
    ("c.yaml", "\n\nacd: " + "[" * 5000 + "]" * 5000 + "\n", 3, "",
     "the document is nested too deeply (more than 100 levels of lists and mappings)"),
    ("c.yaml", b"agents:\n  - {id: '1', extension: '\xff'}\n", 2, "", "not UTF-8 text (byte 34, line 2)"),
    # an empty file described a center without agents or CSQs, silently
    ("c.yaml", "", 1, "", "the file is empty: a center file describes at least its agents (agents: [] for none); "
                          "without --center the embedded default center is used"),
    ("c.yaml", "# nothing yet\n", 1, "", "the file is empty: a center file describes at least its agents "
                                          "(agents: [] for none); without --center the embedded default center is used"),
    ("c.toml", "", 1, "", "the file is empty: a center file describes at least its agents (agents: [] for none); "
                          "without --center the embedded default center is used"),
    # a next-state cell was accepted and did nothing: the center reads the line state from its calls
    ("c.toml", 'agents = []\n\n[acd.transitions.Line1Connected]\nConsult = 1148\nHold = "Line2AllHeld"\n', 5,
     "acd.transitions.Line1Connected.Hold", _NEXT_STATE_CELL.format(got="'Line2AllHeld'", op="Hold",
                                                                      state="Line1Connected")),
    ("c.yaml", "agents: []\nacd:\n  transitions:\n    Line3Conferenced:\n      Transfer: unchanged\n", 5,
     "acd.transitions.Line3Conferenced.Transfer", _NEXT_STATE_CELL.format(got="'unchanged'", op="Transfer",
                                                                          state="Line3Conferenced")),
])
def test_errors_name_file_line_and_key(tmp_path, name, text, line, key_path, message):
    err = _load_error(tmp_path, name, text)
    p = tmp_path / name
    assert (err.file, err.line, err.key_path, err.reason) == (str(p), line, key_path, message)
    assert str(err) == f"{p}:{line}: {key_path}: {message}" if key_path else f"{p}:{line}: {message}"


@pytest.mark.parametrize("name, text", [
    ("c.toml", 'agents = []\n\n[acd.transitions.Line1Connected]\nHold = "ACD_HOLD_BAD_STATE"\n'),
    ("c.yaml", "agents: []\nacd:\n  transitions:\n    Line1Connected: {Hold: acd_hold_bad_state}\n"),
])
def test_a_code_cell_takes_a_cn_ngcc_code_name(tmp_path, name, text):
    """A code by its catalog name, as everywhere else: it was refused as a next state that "would have no
    effect", the message asking for the cn_ngcc code it was."""
    from mockcti.acd import LineState, Operation
    from mockcti.center.acd_guard import center_acd_config

    p = tmp_path / name
    p.write_text(text)
    cfg = load_center_file(p)
    assert center_acd_config(cfg.acd).cell(LineState.Line1Connected, Operation.Hold).code == 1128


@pytest.mark.parametrize("cell, why", [
    ("CTIERR_HOLDFAILED", "CTIERR_HOLDFAILED is a cisco_ctierr code, not a cn_ngcc one"),
    ("ACD_HOLD_BAD_STAT", "unknown cn_ngcc code name 'ACD_HOLD_BAD_STAT'; closest: ACD_HOLD_BAD_STATE"),
])
def test_a_code_cell_naming_no_cn_ngcc_code_says_what_it_is(tmp_path, cell, why):
    """Another catalog's code or a misspelt name is not called a next state that would have no effect."""
    err = _load_error(tmp_path, "c.yaml", f"agents: []\nacd:\n  transitions:\n    Line1Connected: {{Hold: {cell}}}\n")
    assert (err.line, err.key_path) == (4, "acd.transitions.Line1Connected.Hold")
    assert err.reason.startswith(f"a center takes only rejection codes in transitions, got '{cell}'; {why}")
    assert "next state" not in err.reason


def test_a_center_built_in_code_refuses_a_next_state_cell_too():
    """CenterConfig built without the loader: the center's ACD guard refuses the cell it cannot apply."""
    import dataclasses

    cfg = dataclasses.replace(default_center(), acd={"transitions": {"Line1Connected": {"Hold": "Held"}}})
    with pytest.raises(ValueError, match=r"^acd\.transitions\.Line1Connected\.Hold: a center takes only rejection "):
        ContactCenter(cfg)
    ok = dataclasses.replace(default_center(), acd={"transitions": {"Line1Connected": {"Hold": 1128}}})
    ContactCenter(ok)
    two = dataclasses.replace(default_center(), acd={"transitions": {"Line1Connected": {"Hold": "Held"}},
                                                     "disabled_rules": ["ACD-9999"]})
    with pytest.raises(ValueError) as exc:  # every mistake, each named below acd
        ContactCenter(two)
    assert [line.split(":")[0] for line in str(exc.value).splitlines()] == [
        "acd.transitions.Line1Connected.Hold", "acd.disabled_rules[0]"]


def test_an_explicitly_empty_center_still_loads(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("agents: []\n")
    assert load_center_file(p).agents == ()


def test_files_that_are_not_read(tmp_path):
    from mockcti.files import MAX_FILE_BYTES

    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(huge)
    assert str(exc.value) == (f"{huge}: cannot read: too large: {MAX_FILE_BYTES + 1} bytes; the limit is "
                              f"{MAX_FILE_BYTES} (MAX_FILE_BYTES)")
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(tmp_path)
    assert str(exc.value) == f"{tmp_path}: cannot read: a directory, not a regular file"
    if os.geteuid() != 0:  # (root reads it anyway)
        locked = tmp_path / "locked.yaml"
        locked.write_text("agents: []\n")
        locked.chmod(0)
        with pytest.raises(CenterConfigError) as exc:
            load_center_file(locked)
        assert str(exc.value) == f"{locked}: cannot read: Permission denied"


def _interactive_sigint() -> None:
    """In the child: Ctrl-C as in a terminal. A test run started in the background (``cmd &`` in a
    script, nohup) ignores SIGINT, and the child would inherit that and never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _serve(*args):
    return subprocess.Popen([sys.executable, "-m", "mockcti", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interactive_sigint)


@pytest.mark.asyncio
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_mockcti_serve_default_center_then_ctrl_c(sig, loop):
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    proc = _serve("--quiet", "--loop", loop)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert line.startswith("mockcti listening on 127.0.0.1:") and "4 agents" in line
        assert line.rstrip().endswith(f"{loop} loop)")
        port = int(line.split()[3].split(":")[1])
        c = await CTIClient.connect("127.0.0.1", port, version=14)
        conf = await c.open_agent(agent_id="1001", heartbeat=0)
        assert conf.agent_instrument == "3001"
        await c.set_agent_state(AgentState.AGENT_STATE_LOGIN, password="1234")
        await c.close()
        proc.send_signal(sig)
        assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 20) == 0
    finally:
        reap(proc)


def test_serve_loop_choice(monkeypatch):
    from mockcti.commands.serve import event_loop

    assert event_loop("asyncio") == ("asyncio", None)
    uvloop = pytest.importorskip("uvloop")
    assert event_loop("auto") == ("uvloop", uvloop.new_event_loop)
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if the speed extra were not installed
    assert event_loop("auto") == ("asyncio", None)
    with pytest.raises(ImportError):
        event_loop("uvloop")
    # without uvloop, --loop uvloop is refused before anything listens
    code = ("import sys; sys.modules['uvloop'] = None; from mockcti.cli import main; "
            "sys.exit(main(['serve', '--port', '0', '--loop', 'uvloop']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "mockcti serve: --loop uvloop:" in done.stderr and "pip install 'mockcti[speed]'" in done.stderr


def test_mockcti_serve_refuses_a_broken_center_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[[agents]]\nid = "1"\n')
    proc = _serve("--center", str(p))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and f"{p}:1: agents[0]: missing key 'extension'" in err


def test_mockcti_serve_refuses_a_center_file_with_a_duplicate_key(tmp_path):
    # it served extension 6002 (the last one wins), silently
    p = tmp_path / "c.yaml"
    p.write_text('agents:\n  - {id: "5001", extension: "6001", extension: "6002"}\n')
    proc = _serve("--center", str(p))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and err == f"mockcti serve: {p}:2: agents[0].extension: duplicate key 'extension'\n"


@pytest.mark.parametrize("args, needle", [
    (["--message-id", "QUERY_QUEUE_STATISTICS_REQ"], "expected NAME=NUMBER"),
    (["--message-id", "NO_SUCH_MESSAGE=300"], "unknown message 'NO_SUCH_MESSAGE'"),
    # an unknown name said nothing of what is taken; a documented one listed them as a Python list
    (["--message-id", "QUERY_QUEUE_STATISTICS=300"],
     "--message-id: unknown message 'QUERY_QUEUE_STATISTICS'; did you mean QUERY_QUEUE_STATISTICS_REQ? (--message-id "
     "takes the messages whose number is unknown: CONFIG_TERMINAL_EVENT, QUERY_AGENT_QUEUE_STATISTICS_CONF, "
     "QUERY_AGENT_QUEUE_STATISTICS_REQ, QUERY_QUEUE_STATISTICS_CONF, QUERY_QUEUE_STATISTICS_REQ, "
     "QUERY_SUMMARY_STATISTICS_CONF, QUERY_SUMMARY_STATISTICS_REQ)\n"),
    (["--message-id", "HEARTBEAT_REQ=300"], "HEARTBEAT_REQ has a documented number (5); only the messages whose "
     "number is unknown can be remapped: CONFIG_TERMINAL_EVENT, QUERY_AGENT_QUEUE_STATISTICS_CONF, "),
    (["--message-id", "QUERY_QUEUE_STATISTICS_REQ=5"], "wire number 5 is already HEARTBEAT_REQ"),
    (["--max-body", "4"], "--max-body 4"),
    (["--message-id", "QUERY_QUEUE_STATISTICS_CONF=-1"], "is not a UINT"),
    (["--message-id", "QUERY_QUEUE_STATISTICS_CONF=0x100000000"], "is not a UINT"),
])
def test_mockcti_serve_refuses_bad_protocol_options(args, needle):
    proc = _serve(*args)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and needle in err, err


@pytest.mark.asyncio
async def test_mockcti_serve_message_numbers_and_body_limit_are_configurable():
    """The two U values a deployment may need to change from the command line: the wire numbers of
    the messages whose numbers are unknown (reference §4) and the body limit (§2.4, 12,492)."""
    from mockcti.wire import Dialect, FrameBuffer, decode, encode
    from mockcti.wire.messages import FailureConf, OpenConf, OpenReq

    proc = _serve("--quiet", "--message-id", "query_queue_statistics_req=0x103",
                  "--message-id", "QUERY_QUEUE_STATISTICS_CONF=260", "--max-body", "100")
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        port = int(line.split()[3].split(":")[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        from mockcti.wire.dialect import UCCX
        from mockcti.wire.messages import QueryQueueStatisticsConf, QueryQueueStatisticsReq

        d = Dialect(profile=UCCX.with_type_ids({"QUERY_QUEUE_STATISTICS_REQ": 259,
                                                "QUERY_QUEUE_STATISTICS_CONF": 260}), version=14)
        fb = FrameBuffer()

        async def recv():
            while True:
                frames = fb.feed(await asyncio.wait_for(reader.read(65536), 10))
                if frames:
                    return frames[0], decode(frames[0], d)

        writer.write(encode(OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x10,
                                    call_msg_mask=0, agent_state_mask=0, client_id="b", client_password=b""), d))
        assert isinstance((await recv())[1], OpenConf)
        # wire number 259 is now QUERY_QUEUE_STATISTICS_REQ, and its answer goes out as 260
        data = encode(QueryQueueStatisticsReq(invoke_id=7, csq_id=1), d)
        assert data[4:8] == (259).to_bytes(4, "big")
        writer.write(data)
        frame, reply = await recv()
        assert frame.type_id == 260 and isinstance(reply, QueryQueueStatisticsConf) and reply.invoke_id == 7
        # a body over 100 bytes: FAILURE_CONF, then the connection is closed
        writer.write((101).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(101))
        assert isinstance((await recv())[1], FailureConf)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_an_agent_in_more_csqs_than_query_agent_state_conf_carries_is_refused(tmp_path):
    """QUERY_AGENT_STATE_CONF carries one CSQ group per CSQ of the agent, at most 20 (reference §5.2):
    an agent in 21 CSQs loaded, and its confirmation carried 21 groups. 20 still load."""
    from mockcti.wire import Dialect, decode_bytes, encode
    from mockcti.wire.messages import QueryAgentStateReq

    def center(n: int) -> str:
        csqs = "".join(f"  - {{name: Q{i}, id: {i}}}\n" for i in range(1, 22))
        mine = ", ".join(f"Q{i}" for i in range(1, n + 1))
        return f"csqs:\n{csqs}agents:\n  - {{id: '1001', extension: '3001', csqs: [{mine}]}}\n"

    p = tmp_path / "c.yaml"
    p.write_text(center(21))
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(p)
    assert str(exc.value) == (f"{p}:24: agents[0].csqs: 21 CSQs; an agent is in at most 20 "
                              "(QUERY_AGENT_STATE_CONF carries at most 20 CSQ groups, reference §5.2)")
    p.write_text(center(20))
    c = ContactCenter(load_center_file(p))
    from center_world import agent_sub

    c.open_session(agent_sub(1, "1001"), 0.0)
    (d,) = c.handle(1, QueryAgentStateReq(invoke_id=1, agent_id="1001"), 1.0)
    assert len(decode_bytes(encode(d.message, Dialect.uccx(14)), Dialect.uccx(14)).csqs) == 20


# -- every mistake of a file at once (each was a run of its own: fix one, rerun, see the next) --------


def _located(err: CenterConfigError) -> list[tuple[int | None, str, str]]:
    return [(e.line, e.key_path, e.reason) for e in err.errors]


@pytest.mark.parametrize("name, text", [
    ("three.yaml", "csqs:\n  - {name: Sales}\nagents:\n  - id: '1001'\n    extension: '3001'\n"
                   "    state: SLEEPING\n    csqs: [Slaes]\nrtp_events: 'no'\n"),
    ("three.toml", '''rtp_events = "no"\n\n[[csqs]]\nname = "Sales"\n\n[[agents]]\nid = "1001"\nextension = "3001"\n'''
                   '''csqs = ["Slaes"]\nstate = "SLEEPING"\n'''),
])
def test_three_independent_mistakes_are_three_located_errors(tmp_path, name, text):
    err = _load_error(tmp_path, name, text)
    p = tmp_path / name
    got = _located(err)
    yaml = name.endswith(".yaml")
    assert got == sorted(got) and len(got) == 3, got
    assert {(k, r.split(";")[0]) for _, k, r in got} == {
        ("rtp_events", "expected true or false, got 'no'"),
        ("agents[0].state", "unknown agent state 'SLEEPING'"),
        ("agents[0].csqs[0]", "unknown CSQ 'Slaes'"),
    }
    assert [line for line, _, _ in got] == ([6, 7, 8] if yaml else [1, 9, 10])
    # the first error is the exception's own (its line, key path and reason), and str() shows each on its line
    assert (err.line, err.key_path, err.reason) == got[0]
    assert str(err).splitlines() == [f"{p}:{line}: {key}: {reason}" for line, key, reason in got]


@pytest.mark.parametrize("text, expected", [
    # a list of agents that is not a list: its calls are not "unknown agent" on top
    ("agents: {id: '1001'}\ncalls: [{agent: '1001'}]\n", [(1, "agents", "expected a list, got a mapping")]),
    # an agent that is not a mapping: which ids exist is unknown, so a call to it is not an error of its own
    ("agents: ['1001']\ncalls: [{agent: '1001'}]\n", [(1, "agents[0]", "expected a table/mapping, got text")]),
    # a CSQ whose name is wrong: the agents in it are not "unknown CSQ" on top
    ("csqs: [{name: [Sales]}]\nagents: [{id: '1', extension: '2', csqs: [Sales]}]\ncalls: [{agent: '1', csq: Sales}]\n",
     [(1, "csqs[0].name", "expected a string, got a list")]),
    # a table whose type is wrong: the keys inside it are not checked
    ("agents: [{id: '1', extension: '2', csqs: {Sales: 1, colour: red}}]\n",
     [(1, "agents[0].csqs", "expected a list of CSQ names, got a mapping")]),
    # a CSQ that is wrong only in its id keeps its name: an agent in it is fine
    ("csqs: [{name: Sales, id: x}]\nagents: [{id: '1', extension: '2', csqs: [Sales]}]\n",
     [(1, "csqs[0].id", "expected an integer, got text")]),
])
def test_a_mistake_is_not_cascaded_into_the_errors_that_depend_on_it(tmp_path, text, expected):
    assert _located(_load_error(tmp_path, "c.yaml", text)) == expected


_STATE_HELT = ("unknown ACD state 'Helt'; allowed: Idle, Originated, Delivered, Line1Connected, Line1Conferenced, "
               "Line1Held, Line2Connected, Line2Conferenced, Line2AllHeld, Held, Line3Conferenced, End (and the "
               "seed's alias 'Origated')")


@pytest.mark.parametrize("name, text, lines", [
    ("acd.toml", 'agents = []\n\n[acd]\ntransfer_allowed = ["Line2Connected", "Helt"]\n'
                 'answer_requires_delivered = "no"\n\n[acd.order]\nRecord = ["ACD-1143"]\n', [4, 5, 8]),
    ("acd.yaml", "agents: []\nacd:\n  transfer_allowed:\n    - Line2Connected\n    - Helt\n"
                 "  answer_requires_delivered: 'no'\n  order:\n    Record: [ACD-1143]\n", [5, 6, 8]),
])
def test_three_mistakes_of_the_acd_table_are_three_located_errors(tmp_path, name, text, lines):
    """The acd table reported only its first mistake (fix it, rerun, see the next), while the rest of
    the file reported all of them."""
    err = _load_error(tmp_path, name, text)
    assert _located(err) == list(zip(lines, ["acd.transfer_allowed[1]", "acd.answer_requires_delivered",
                                             "acd.order.Record"], [
        _STATE_HELT, "expected true or false, got 'no'",
        "must list each of ACD-1142, ACD-1143 exactly once, got ['ACD-1143']"]))
    p = tmp_path / name
    assert str(err).splitlines() == [f"{p}:{line}: {e.key_path}: {e.reason}" for line, e in zip(lines, err.errors)]


@pytest.mark.parametrize("text, expected", [
    # an order naming an unknown rule: the rule is the mistake, not also "must list each of ... exactly once"
    ("agents: []\nacd:\n  order:\n    Record: [ACD-1143, ACD-114]\n",
     [(4, "acd.order.Record[1]", "unknown ACD rule id 'ACD-114'")]),
    # a next-state cell in a center names no state the center could use: said once, not also an unknown state
    ("agents: []\nacd:\n  transitions:\n    Line1Connected:\n      Hold: Hled\n      Consult: 11480\n",
     [(5, "acd.transitions.Line1Connected.Hold", "a center takes only rejection codes in transitions, got 'Hled'"),
      (6, "acd.transitions.Line1Connected.Consult", "11480 is not a code of the cn_ngcc catalog (seed 000, codes "
                                                   "1001-4608)")]),
    # a table of the wrong type hides what is inside it; the keys beside it are still checked
    ("agents: []\nacd:\n  allowed_states: [ACD-1152]\n  uccx_adaptation: 1\n  disabled_rules: ACD-1152\n",
     [(3, "acd.allowed_states", "expected a table/mapping, got ['ACD-1152']"),
      (4, "acd.uccx_adaptation", "expected true or false, got 1"),
      (5, "acd.disabled_rules", "expected a list of rule ids, got 'ACD-1152'")]),
])
def test_a_mistake_in_the_acd_table_is_not_cascaded(tmp_path, text, expected):
    got = _located(_load_error(tmp_path, "c.yaml", text))
    assert [(line, key, reason.split(";")[0]) for line, key, reason in got] == expected


def test_errors_are_capped_with_a_count_of_the_rest(tmp_path):
    from mockcti.located import MAX_SHOWN_ERRORS

    n = MAX_SHOWN_ERRORS + 7
    agents = "".join(f"  - {{id: '{i}', extension: '{i}', state: NAPPING}}\n" for i in range(n))
    err = _load_error(tmp_path, "c.yaml", "agents:\n" + agents)
    assert len(err.errors) == n and [e.line for e in err.errors] == list(range(2, n + 2))
    lines = str(err).splitlines()
    assert len(lines) == MAX_SHOWN_ERRORS + 1 and lines[-1] == "and 7 more errors"
    assert lines[0].endswith("c.yaml:2: agents[0].state: unknown agent state 'NAPPING'; allowed: LOGOUT, "
                             "NOT_READY, READY, WORK, WORK_READY")


def test_a_plain_mapping_names_the_key_path_of_every_mistake():
    from mockcti.center import CenterConfig

    with pytest.raises(CenterConfigError) as info:
        CenterConfig.from_mapping({"agents": [{"id": "1", "extension": "2", "state": "NAPPING"}, {"id": "3"}],
                                   "wrapup_time": "long"}, base="center")
    assert [(e.file, e.line, e.key_path) for e in info.value.errors] == [
        (None, None, "center.agents[0].state"), (None, None, "center.agents[1]"), (None, None, "center.wrapup_time")]
    assert str(info.value).splitlines()[1:] == ["center.agents[1]: missing key 'extension'",
                                                "center.wrapup_time: expected seconds between 0 and 7200, got 'long'"]


def test_mockcti_serve_prints_every_mistake_of_a_center_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('wrapup_time = -1\n\n[[agents]]\nid = "1"\nstate = "NAPPING"\n')
    proc = _serve("--center", str(p))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert err.splitlines() == [
        f"mockcti serve: {p}:1: wrapup_time: expected seconds between 0 and 7200, got -1",
        f"mockcti serve: {p}:3: agents[0]: missing key 'extension'",
        f"mockcti serve: {p}:5: agents[0].state: unknown agent state 'NAPPING'; allowed: LOGOUT, NOT_READY, READY, "
        "WORK, WORK_READY"]


def test_a_duplicate_key_is_reported_with_the_other_mistakes(tmp_path):
    # the reader stopped at the duplicate key: the file's other mistakes came one run later
    err = _load_error(tmp_path, "c.yaml", 'agents:\n  - {id: "5001", extension: "6001", extension: "6002", '
                                         'state: NAPPING}\nwrapup_time: -1\n')
    assert [(e.line, e.key_path, e.reason.split(";")[0]) for e in err.errors] == [
        (2, "agents[0].extension", "duplicate key 'extension'"),
        (2, "agents[0].state", "unknown agent state 'NAPPING'"),
        (3, "wrapup_time", "expected seconds between 0 and 7200, got -1")]


def test_a_center_from_python_is_a_config_a_mapping_or_none_and_nothing_else_is_taken() -> None:
    """ContactCenter and MockServer take a mapping in a center file's shape (checked as from_mapping
    checks it); anything else is a TypeError naming what is taken. A dict used to be kept as it was and
    the server failed at start() with AttributeError: 'dict' object has no attribute 'next_deadline'."""
    from mockcti.server import MockServer

    mapping = {"csqs": [{"name": "Billing", "id": 7}],
               "agents": [{"id": "5001", "extension": "6001", "csqs": ["Billing"], "state": "READY"}]}
    assert ContactCenter(mapping).agents["5001"].state is AgentState.AGENT_STATE_READY
    server = MockServer(mapping)
    assert sorted(server.center.agents) == ["5001"] and server.center.config.csq("Billing").id == 7
    with pytest.raises(CenterConfigError, match=r"^agents\[0\]\.csqs\[0\]: unknown CSQ 'Biling'"):
        MockServer({"csqs": [{"name": "Billing", "id": 7}],
                    "agents": [{"id": "5001", "extension": "6001", "csqs": ["Biling"]}]})
    with pytest.raises(TypeError, match=r"^MockServer: the center is a ContactCenter, a CenterConfig, a mapping "
                                        r"in a center file's shape or None, not str 'c\.toml'; a center file's "
                                        r"path: load_center_file\(path\)$"):
        MockServer("c.toml")
    with pytest.raises(TypeError, match=r"^ContactCenter: the center is a CenterConfig, .* not list \[\]$"):
        ContactCenter([])


def test_the_route_point_keys_are_checked():
    """route_point_lcs / route_point_event_cause are USHORTs on the wire, route_point_events / route_point_csq
    true or false: a mistake is named with its key, not sent."""
    from mockcti.center import CenterConfig

    cfg = CenterConfig.from_mapping({"route_point_events": False, "route_point_lcs": 0, "route_point_event_cause": 22,
                                     "route_point_csq": True})
    assert (cfg.route_point_events, cfg.route_point_lcs, cfg.route_point_event_cause, cfg.route_point_csq) == (
        False, 0, 22, True)
    with pytest.raises(CenterConfigError) as info:
        CenterConfig.from_mapping({"route_point_lcs": 0x10000, "route_point_event_cause": "none",
                                   "route_point_events": 1})
    assert sorted(str(e).split(":")[0] for e in info.value.errors) == [
        "route_point_event_cause", "route_point_events", "route_point_lcs"]


def test_a_team_naming_an_unknown_csq_is_a_load_error(tmp_path):
    """``teams``: a CSQ name not defined is an error naming the file, the line and the key path (as an agent's
    ``csqs`` is), as are an unknown key of a team, a team named twice and a CSQ listed twice in one team; the same
    check for a configuration built in Python."""
    from mockcti.center import CenterConfig
    from mockcti.center.config import TeamConfig

    p = tmp_path / "c.toml"
    p.write_text('[[csqs]]\nname = "Sales"\n\n[[agents]]\nid = "1"\nextension = "11"\nteam = "Blue"\n\n'
                 '[[teams]]\nname = "Blue"\ncsqs = ["Sales", "Sale"]\n\n'
                 '[[teams]]\nname = "Blue"\ncsqs = ["Sales", "Sales"]\ncolour = "x"\n')
    with pytest.raises(CenterConfigError) as exc:
        load_center_file(p)
    assert [str(e) for e in exc.value.errors] == [
        f"{p}:11: teams[0].csqs[1]: unknown CSQ 'Sale'; allowed: Sales; did you mean Sales?",
        f"{p}:14: teams[1].name: duplicate team 'Blue'",
        f"{p}:15: teams[1].csqs[1]: CSQ 'Sales' is listed twice (also csqs[0]): a team has a CSQ once",
        f"{p}:16: teams[1].colour: unknown key 'colour'; allowed: name, csqs",
    ]
    with pytest.raises(CenterConfigError) as exc:
        CenterConfig(teams=(TeamConfig("Blue", ("Sale",)),))
    assert str(exc.value) == "teams[0].csqs[0]: unknown CSQ 'Sale'; none is defined"


def test_a_scenarios_center_takes_teams_and_refuses_an_unknown_csq():
    """A scenario's ``center:`` takes ``teams`` as a center file does (the same check: file, line, key path), and
    the center it builds has the team's CSQs."""
    from mockcti.center import CenterConfig
    from mockcti.scenario.loader import ScenarioError, load_scenario_text

    text = ("name: t\ncenter:\n  csqs: [{name: Sales, id: 4}]\n  agents: [{id: '1', extension: '11', team: Blue}]\n"
            "  teams:\n    - {name: Blue, csqs: [%s]}\nexpect:\n  - {id: x, message: OPEN_REQ, min: 0}\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario_text(text % "Sale", filename="s.yaml")
    assert str(exc.value) == "s.yaml:6: center.teams[0].csqs[0]: unknown CSQ 'Sale'; allowed: Sales; did you mean Sales?"
    scenario = load_scenario_text(text % "Sales", filename="s.yaml")
    assert [(t.name, t.csqs) for t in CenterConfig.from_mapping(scenario.center, base="center").teams] == [
        ("Blue", ("Sales",))]
