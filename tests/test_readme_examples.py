"""The README's examples stay true: its scenario YAML loads, its center TOML loads, and its
first two lines are the install-and-serve and install-and-test commands that .ci/run uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mockcti.center import CenterConfig, ContactCenter
from mockcti.scenario import load_scenario_text

README = Path(__file__).resolve().parent.parent / "README.md"
# every text file is read as UTF-8, what it is: read_text() without an encoding used the locale's (ASCII under
# LC_ALL=C without UTF-8 mode, cp1252 on Windows) and failed on the README's first "—" or a report's "§"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


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


def test_center_error_example_is_what_the_example_file_with_that_typo_gives(tmp_path):
    """The README prints the error of the center example with CSQ 'Biling' for 'Billing': that exact
    text, line included."""
    from mockcti.center import CenterConfigError, load_center_file

    shown = re.search(r"`(center\.toml:\d+: agents\[0\]\.csqs\[0\]: unknown CSQ 'Biling'[^`]*)`",
                      README.read_text(encoding="utf-8")).group(1)
    example = next(b for b in blocks("toml") if "[[agents]]" in b)
    p = tmp_path / "center.toml"
    p.write_text(example.replace('csqs = ["Billing"]', 'csqs = ["Biling"]', 1))  # (the agent's: the first)
    try:
        load_center_file(p)
    except CenterConfigError as exc:
        assert str(exc).replace(str(p), "center.toml") == shown
    else:
        raise AssertionError("the example with the typo loaded")


def test_first_lines_are_the_two_commands_and_ci_runs_the_test_command():
    text = README.read_text(encoding="utf-8")
    cmds = re.findall(r"^\s*(python3 -m venv .*)$", "\n".join(text.splitlines()[:20]), re.M)
    serve = [c for c in cmds if "mockcti serve" in c]
    tests = [c for c in cmds if "pytest" in c]
    assert serve and tests
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert tests[0].strip() in ci


def _flat(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_the_uccx_adaptation_is_described_as_the_code_has_it():
    """The README's ACD paragraph and acd_guard's module doc name every state UCCX_ADAPTATION adds
    to every rule; a state added to one operation only is named with it ("ReConnect also ... Held")."""
    from mockcti.acd import CHECKS
    from mockcti.center import acd_guard

    readme = _flat(README.read_text(encoding="utf-8"))
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


def _python_block(first_line: str) -> str:
    (block,) = [b for b in blocks("python") if b.startswith(first_line)]
    return block


def test_the_wire_example_runs_and_gives_the_bytes_it_shows():
    block = _python_block("from mockcti.wire import")
    ns: dict = {}
    exec(compile(block, "README.md (wire example)", "exec"), ns)  # noqa: S102 - the README's own code
    shown = re.search(r'# (b"[^"]*")', block).group(1)
    assert ns["data"] == eval(shown)  # noqa: S307 - a bytes literal from the README


def test_the_catalog_example_gives_the_values_its_comments_show():
    """Each line `expression  # value ...` of the catalog example: the expression has that value."""
    block = _python_block("from mockcti.catalog import")
    ns: dict = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("#")
        code = code.strip()
        m = re.match(r'\s*(\d+|"[^"]*"|True|False|U32Forms\(.*\))(?:[;:( ]|$)', comment)
        if not code:
            continue
        if m is None:  # an import, an assignment, or an expression whose comment shows no value
            exec(code, ns)  # noqa: S102 - the README's own code
            continue
        value, shown = eval(code, ns), m.group(1)  # noqa: S307 - the README's own expression
        if shown.startswith("U32Forms"):
            assert repr(value) == shown, line
        else:
            assert value == eval(shown), line  # noqa: S307 - a literal from the README
        checked += 1
    assert checked >= 5


def test_the_catalog_commands_exit_0(capsys):
    """Every `mockcti catalog ...` line the README shows finds something (exit status 0)."""
    import shlex

    from mockcti.cli import main

    lines = re.findall(r"^    mockcti catalog(.*?)(?:\s+#.*)?$", README.read_text(encoding="utf-8"), re.M)
    assert len(lines) >= 8
    for rest in lines:
        assert main(["catalog", *shlex.split(rest)]) == 0, rest
    capsys.readouterr()


def test_the_quick_start_runs_against_a_server(cti_server, capsys):
    """The quick start, as printed, against the mock (its port instead of 42027)."""
    block = _python_block("import asyncio\nfrom mockcti.client import CTIClient")
    assert '"127.0.0.1", 42027' in block
    code = block.replace('"127.0.0.1", 42027', f'"{cti_server.host}", {cti_server.port}')
    exec(compile(code, "README.md (quick start)", "exec"), {"__name__": "readme"})  # noqa: S102
    out = capsys.readouterr().out
    assert out.startswith("logged out? True\nAgentStateEvent(") and "agent_state=3," in out
    cti_server.assert_received("CLOSE_REQ", count=1)
    cti_server.assert_no_violations()


def test_the_running_the_server_from_python_example_runs_as_printed(capsys):
    """The "Running the server from Python" block, pasted into a file and run: it awaited at the top
    level (a SyntaxError: 'await' outside function, in a script and in `python -c`)."""
    (block,) = [b for b in blocks("python") if "MockServer(config=ServerConfig(port=0))" in b]
    exec(compile(block, "README.md (server from Python)", "exec"), {"__name__": "readme"})  # noqa: S102
    host, port, journal = capsys.readouterr().out.split(" ", 2)
    assert host == "127.0.0.1" and 0 < int(port) < 65536 and journal.startswith("<mockcti.journal.Journal")


def test_the_acd_paragraph_names_every_rule_that_is_not_a_seed_code_row():
    """The README's ACD paragraph says which rules are checked: the seed's §3.2 rows are
    ACD-<code>, and every other rule of the table (the mock's own, for §3.3 cells the seed leaves
    open) is named there with its code, as is every key the center's [acd] table takes. It listed
    ACD-1119 … ACD-1175 only, so a MAKE_CALL_REQ refused ACD-MAKECALL-BUSY (code 2140) with a call on
    hold was a violation the documentation did not mention."""
    from mockcti.acd import CHECKS
    from mockcti.acd.config import _KEYS

    readme = _flat(README.read_text(encoding="utf-8"))
    par = re.search(r"ACD state rules\*\* \(mockcti/acd, pure\)", readme)
    assert par
    start = par.start()
    text = readme[start:readme.index("Each agent's calls are read as an ACD line state", start)]
    for c in CHECKS:
        if not re.fullmatch(r"ACD-\d{4}", c.rule_id):
            assert c.rule_id in text and str(c.code) in text, c.rule_id
    assert "ACD-CELL-<state>-<operation>" in text
    for key in _KEYS:
        assert key in text, key


def test_the_fixture_handle_documents_how_to_inject_a_call_with_data():
    """The pytest handle's `deliver_call` takes the call's DNIS and CallVariable1..10 (what a CRM connector
    pops the customer from), but the README listed `deliver_call(agent=, csq=, ani=)` only: a test suite
    could not learn that a call with data can be injected. Every parameter of the method is named."""
    import inspect

    from mockcti.testing.fixtures import ServerHelpers

    text = README.read_text(encoding="utf-8")
    shown = re.search(r"`deliver_call\(([^`]*)\)`", text)
    assert shown, "the handle's deliver_call is not shown"
    for name in inspect.signature(ServerHelpers.deliver_call).parameters:
        if name != "self":
            assert f"{name}=" in shown.group(1), name
    assert "call_variable1" in text[shown.start():shown.start() + 600]


def _control_api_block() -> str:
    (block,) = [b for b in blocks("sh") if b.startswith("C=http://127.0.0.1:8080")]
    return block


def test_the_control_api_examples_show_every_endpoint_it_serves():
    """Each endpoint of the control API (`mockcti.control.ENDPOINTS`, what `GET /` lists) has a curl line
    in the README's control API block. GET /scenario, GET /faults and GET / were served but not shown, so a
    test suite in another language could not learn that it can read the loaded scenario or the faults in
    force."""
    from mockcti.control import ENDPOINTS

    shown: set[str] = set()
    for line in _control_api_block().splitlines()[1:]:
        for cmd in line.split("#", 1)[0].split(";"):
            cmd = cmd.strip()
            if not cmd.startswith("curl "):
                continue
            m = re.search(r"-X (\w+)", cmd)
            method = m.group(1) if m else ("POST" if "--json" in cmd else "GET")
            path = re.search(r"\$C(/[^\s\"?]*)", cmd).group(1)
            path = re.sub(r"/\d+(?=/|$)", "/{id}", path)
            shown.add(f"{method} {path}")
    assert shown <= set(ENDPOINTS) | {"GET /"}, shown - set(ENDPOINTS)
    missing = (set(ENDPOINTS) | {"GET /"}) - shown
    assert not missing, f"the README's control API block shows no curl line for {sorted(missing)}"


def test_the_control_api_section_names_the_inline_scenario_bodies():
    """POST /scenario takes the scenario itself ({"yaml": ...} or {"toml": ...}), not only a path on the
    server's disk: a test suite on another machine or in a container has no path to give."""
    import json

    block = _control_api_block()
    m = re.search(r"""^curl --json '(\{"yaml": [^']*)' \$C/scenario .*\{"toml": """, block, re.M)
    assert m, "no curl line posting a scenario's YAML (and naming TOML) to /scenario"
    sc = load_scenario_text(json.loads(m.group(1))["yaml"], filename="README.md (control API)")
    assert sc.name


def test_the_load_mode_paragraph_gives_every_default_of_the_spec():
    """`--load` needs only calls_per_s: every other key has a default, which the README gives next to the
    key (`handle_time=T` was written as if required and its default, 30 s, was said nowhere: a
    `--load calls_per_s=2` run cleared its calls after 30 s that no user had asked for), and says what
    leaving `agents=` out does."""
    import dataclasses

    from mockcti.load import ALLOWED_KEYS, LoadSpec

    readme = _flat(README.read_text(encoding="utf-8"))
    start = readme.index("**Load mode.**")
    para = readme[start:readme.index("mockcti serve --load agents=200", start)]
    required = [f.name for f in dataclasses.fields(LoadSpec) if f.default is dataclasses.MISSING]
    assert required == ["calls_per_s"]
    assert re.search(r"only calls_per_s is required", para)
    for f in dataclasses.fields(LoadSpec):
        if f.default is dataclasses.MISSING or f.default is None:
            continue
        default = f"{f.default:g}" if isinstance(f.default, (int, float)) else f.default  # (patience: a word)
        assert re.search(rf"\b{f.name}\b.{{0,40}}default {default}\b", para), (f.name, f.default)
    assert re.search(r"without agents=.{0,80}every agent of the center", para)
    assert set(ALLOWED_KEYS) == {f.name for f in dataclasses.fields(LoadSpec)}


def test_the_load_help_marks_what_is_optional(monkeypatch, capsys):
    """`mockcti serve --help` shows the --load SPEC with only calls_per_s outside brackets and the
    defaults of agents and handle_time."""
    import contextlib

    from mockcti.cli import main

    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no word cut by the wrapping
    with contextlib.suppress(SystemExit):
        main(["serve", "--help"])
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.lstrip().startswith("--load SPEC")]
    assert "SIPp style: [agents=N,]calls_per_s=R[,handle_time=T][," in line, line
    assert re.search(r"T default 30\b", line) and re.search(r"agents default: every agent of the center", line)


@pytest.mark.parametrize("doc", ["examples/README.md", "README.md"])
def test_the_readmes_list_the_handle_as_it_is(doc):
    """The README's pytest plugin section and examples/README.md (where it sends a new user for worked
    examples) list the fixture handle's methods: every public method of the handle is named with every
    parameter a test passes. examples/README.md showed `deliver_call(agent=, csq=, ani=)`, hiding the call's
    DNIS, variables and ECC data, `set_agent_state` without its reason, no `hang_up` nor `settle`, and a
    cti_center of a CenterConfig or a path only (a ContactCenter and a mapping are taken too); the README
    left out `received`, `sent`, `agent_state`, `verify` and `report`'s `extra`."""
    import inspect

    from mockcti.testing.fixtures import ServerHelpers, ThreadedServer

    text = _flat((README.parent / doc).read_text(encoding="utf-8"))
    for name, fn in inspect.getmembers(ThreadedServer, inspect.isfunction):
        if name.startswith("_") or name in {"start", "stop", "assert_expectations_met"}:
            continue
        m = re.search(rf"(?<![\w.]){name}\(([^)]*)\)", text)
        assert m, f"{doc} does not show the handle's {name}()"
        shown = m.group(1)
        if shown == "...":  # assert_sent(...): as assert_received
            continue
        items = [x.strip() for x in shown.split(",") if x.strip()]
        positional = len([x for x in items if "=" not in x and not x.startswith("*")])
        for i, p in enumerate(list(inspect.signature(fn).parameters.values())[1:]):
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in {"timeout", "interval", "session"}:
                continue
            if p.kind is p.POSITIONAL_OR_KEYWORD and i < positional:
                continue  # shown in its place (`received(type)` for message_type)
            assert re.search(rf"\b{p.name}\b", shown), (name, p.name, shown)
    if doc == "examples/README.md":
        row = re.search(r"\| cti_center \|([^|]*)\|", text).group(1)
        for kind in ("CenterConfig", "ContactCenter", "mapping", "path"):
            assert kind in row, kind
    assert ServerHelpers.deliver_call is ThreadedServer.deliver_call


def test_the_decode_help_names_the_dump_forms_the_readme_names(monkeypatch, capsys):
    """`mockcti decode --help` lists the xxd options the README says are read (`xxd -c N` was missing:
    a user with a 4-byte-per-line dump read the help and thought it unsupported), and they all decode."""
    import contextlib
    import io
    import shutil
    import subprocess

    from mockcti.cli import main

    readme = _flat(README.read_text(encoding="utf-8"))
    shown = re.search(r"xxd \(also ([^)]*)\)", readme).group(1)
    opts = re.findall(r"-[a-z](?: N)?", shown)
    assert opts
    monkeypatch.setenv("COLUMNS", "2000")
    with contextlib.suppress(SystemExit):
        main(["decode", "--help"])
    help_text = capsys.readouterr().out
    for opt in opts:
        assert re.search(rf"xxd \(also [^)]*{re.escape(opt)}\b", help_text), opt
    if shutil.which("xxd") is None:
        return
    frame = bytes.fromhex("000000040000000500000002")
    for opt in opts:
        args = opt.replace("N", "4").split()
        dump = subprocess.run(["xxd", *args], input=frame, capture_output=True, check=True, timeout=10).stdout
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(dump)))
        assert main(["decode", "-"]) == 0, opt
        assert capsys.readouterr().out == "HEARTBEAT_REQ invoke_id=2\n", opt


def test_the_quick_start_made_my_client_py_passes_login_success(tmp_path, capsys):
    """The scenarios section tells a new user to save the quick start as my_client.py, reading CTI_HOST and
    CTI_PORT, to try `mockcti run`: that client passes scenarios/login-success.yaml, as it says."""
    import shlex
    import sys

    from mockcti.cli import main

    text = _flat(README.read_text(encoding="utf-8"))
    connect = 'CTIClient.connect(os.environ["CTI_HOST"], int(os.environ["CTI_PORT"]))'
    assert f"as my_client.py with import os and {connect}: it passes scenarios/login-success.yaml (exit 0)" in text
    block = _python_block("import asyncio\nfrom mockcti.client import CTIClient")
    client = tmp_path / "my_client.py"
    client.write_text("import os\n" + block.replace('CTIClient.connect("127.0.0.1", 42027)', connect),
                      encoding="utf-8")
    scenario = README.parent / "scenarios" / "login-success.yaml"
    status = main(["run", str(scenario), "--client-cmd", f"{shlex.quote(sys.executable)} {shlex.quote(str(client))}",
                   "--timeout", "30", "--report", str(tmp_path / "report")])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "PASS login-success" in out.out + out.err


def test_the_first_lines_name_the_python_the_package_requires():
    """A fresh machine's python3 may be older than pyproject.toml's requires-python (Ubuntu 22.04: 3.10),
    and `pip install -e .` then refuses it: the README's first lines name the minimum before the command."""
    requires = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"]
    minimum = re.fullmatch(r">=\s*(\d+\.\d+)", requires).group(1)
    head = _flat("\n".join(README.read_text(encoding="utf-8").splitlines()[:8]))
    assert f"Python {minimum} or later" in head


def test_the_examples_command_without_plugin_autoload_runs_them_without_a_warning():
    """examples/README.md's command for PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 runs the examples with no warning:
    `-p mockcti -p asyncio` alone left pytest-timeout unloaded, and pytest warned "Unknown config option:
    timeout" (the repository's pytest settings have it)."""
    import os
    import shlex
    import subprocess
    import sys

    text = (README.parent / "examples" / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (pytest examples/[^`]*)`", text)
    assert found, "examples/README.md gives no command for PYTEST_DISABLE_PLUGIN_AUTOLOAD=1"
    cmd = found.group(1)
    args = shlex.split(cmd)[1:]
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    r = subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"],
                       cwd=README.parent, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "passed" in r.stdout and "warning" not in r.stdout.lower(), r.stdout


def test_the_report_directories_the_readme_runs_write_are_ignored_by_git(tmp_path):
    """Following the README in a clone (`mockcti run scenarios/login-success.yaml …`, `--report
    mockcti-report-$JOB` for parallel jobs) left `mockcti-report/` untracked in `git status`; `reports/` (serve
    --report, --cti-report) already was ignored."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "clone"
    repo.mkdir()
    (repo / ".gitignore").write_bytes((README.parent / ".gitignore").read_bytes())
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    paths = ["mockcti-report/summary.json", "mockcti-report-3/junit.xml", "reports/journal.jsonl"]
    r = subprocess.run(["git", "-C", str(repo), "check-ignore", *paths], capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == paths, r.stdout + r.stderr
