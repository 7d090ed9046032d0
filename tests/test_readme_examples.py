"""The README's examples stay true: its scenario YAML loads, its center TOML loads, and its
first two lines are the install-and-serve and install-and-test commands that .ci/run uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from mockcti.center import CenterConfig, ContactCenter
from mockcti.scenario import load_scenario_text

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)


def test_scenario_examples_load():
    found = [b for b in blocks("yaml") if b.startswith("name:")]
    assert found
    for b in found:
        sc = load_scenario_text(b, filename="README.md")
        assert sc.name


def test_center_toml_example_loads():
    found = [b for b in blocks("toml") if "[[agents]]" in b]
    assert found
    for b in found:
        cfg = CenterConfig.from_mapping(tomllib.loads(b), file="README.md")
        ContactCenter(cfg)


def test_first_lines_are_the_two_commands_and_ci_runs_the_test_command():
    text = README.read_text()
    cmds = re.findall(r"^\s*(python3 -m venv .*)$", "\n".join(text.splitlines()[:20]), re.M)
    serve = [c for c in cmds if "mockcti serve" in c]
    tests = [c for c in cmds if "pytest" in c]
    assert serve and tests
    ci = (README.parent / ".ci" / "run").read_text()
    assert tests[0].strip() in ci


def _flat(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_the_uccx_adaptation_is_described_as_the_code_has_it():
    """The README's ACD paragraph and acd_guard's module doc name every state UCCX_ADAPTATION adds
    to every rule; a state added to one operation only is named with it ("ReConnect also ... Held")."""
    from mockcti.acd import CHECKS
    from mockcti.center import acd_guard

    readme = _flat(README.read_text())
    par = re.search(r"UCCX desktops conference, alternate and reconnect.*?uccx_adaptation = false", readme)
    doc = re.search(r"UCCX adaptation \(.*?uccx_adaptation = false", _flat(acd_guard.__doc__))
    assert par and doc
    ops = {c.rule_id: str(c.operation) for c in CHECKS}
    common = set.intersection(*(set(map(str, s)) for s in acd_guard.UCCX_ADAPTATION.values()))
    for where, text in (("README", par.group(0)), ("acd_guard docstring", doc.group(0))):
        for rule, states in acd_guard.UCCX_ADAPTATION.items():
            assert rule in text and ops[rule] in text, (where, rule)
            for state in map(str, states):
                if state in common:
                    assert state in text, (where, rule, state)
                else:
                    assert re.search(rf"\b{ops[rule]}\b[^.]*\balso\b[^.]*\b{state}\b", text), (where, rule, state)
