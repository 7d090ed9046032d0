"""Reports CI and people read: a JSON summary, JUnit XML and a terminal table.

Owns the rendering of a run (a :class:`~mockcti.journal.Journal`, plus scenario expectation
results when scenarios ran) into:

- ``summary.json`` — counts, per-session figures, every violation with its rule, every
  expectation with its outcome and where the scenario file states it (``file``, ``line``,
  ``where`` = "file:line"), the seed;
- ``junit.xml`` — one ``<testsuite>`` per family (protocol conduct, ACD state rules, each
  scenario), one ``<testcase>`` per rule or expectation; a broken rule or an unmet expectation
  is a ``<failure>`` carrying the violations, or file:line and the near miss (what CI servers
  display). Only elements and attributes of Jenkins' junit XSD (junit-10.xsd, what the xUnit
  plugin validates against; pytest's xunit2 family keeps to it too);
- a terminal table for people.

``mockcti serve --report DIR`` writes ``journal.jsonl`` continuously (flushed per entry) and the
other files on shutdown. Pure rendering functions, plus :func:`write_reports` for the files.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, overload

from mockcti.journal import Journal, JsonLinesSink, answered, json_text
from mockcti.session import RULES

__all__ = ["Expectation", "build_summary", "junit_xml", "terminal_table", "write_reports", "write_report_file",
           "rule_catalog", "rule_info", "add_serve_arguments", "serve_feature", "outcome", "claim_report_dir",
           "LOCK_FILE", "run_seed"]


@dataclass(frozen=True)
class Expectation:
    """The outcome of one scenario expectation (filled in by the scenario engine)."""

    scenario: str
    name: str
    met: bool
    detail: str = ""
    #: the closest thing received to an unmet expectation; None (the scenario engine) or "" when there is none
    near_miss: str | None = ""
    #: where the scenario states it (the expectation, step or key): file and 1-based line, if known
    file: str | None = None
    line: int | None = None
    #: a scenario step the flow never reached (an earlier step failed or was still waiting): neither
    #: met nor a failure of its own; ``met`` is False
    skipped: bool = False
    #: an outcome standing for this many outcomes of older scenarios no longer kept one by one (a server
    #: whose scenarios are swapped all day keeps the latest ``HubConfig.keep_scenarios``): unmet when one of
    #: them was; 0 for a plain outcome
    dropped: int = 0

    @property
    def where(self) -> str | None:
        """``file:line`` (or the file alone), None when unknown."""
        return _where(self.file, self.line)


def _where(file: str | None, line: int | None) -> str | None:
    if not file:
        return None
    return f"{file}:{line}" if line is not None else file


def rule_catalog() -> dict[str, dict[str, Any]]:
    """Every rule a run is checked against: protocol conduct, and ACD state rules when available. Each is
    ``{"family", "title", "explanation"}`` (text), an ACD rule's also ``"code"`` (the int it is refused with)
    and ``"code_name"``."""
    rules: dict[str, dict[str, Any]] = {
        r.id: {"family": "protocol", "title": r.title, "explanation": r.explanation} for r in RULES.values()}
    try:
        from mockcti import acd
    except ImportError:  # the ACD model is optional for reporting
        return rules
    for r in acd.report_rules():
        rules[str(r["id"])] = {"family": "acd", "title": r["title"], "explanation": r["explanation"],
                               "code": r["code"], "code_name": r["code_name"]}
    return rules


def rule_info(rule_id: str, rules: Mapping[str, Mapping[str, Any]] | None = None) -> Mapping[str, Any]:
    """The family, title and explanation of ``rule_id``: from ``rules`` (default :func:`rule_catalog`),
    else a rule the ACD model names per configuration (``ACD-CELL-<state>-<operation>``, a code cell
    of a center's ``[acd] transitions``: family ``acd``), else family ``other`` titled by its id."""
    info = (rules if rules is not None else rule_catalog()).get(rule_id)
    if info is not None:
        return info
    try:
        from mockcti import acd
    except ImportError:  # the ACD model is optional for reporting
        acd = None  # type: ignore[assignment]
    r = acd.report_rule(rule_id) if acd is not None else None
    if r is not None:
        return {"family": "acd", "title": r["title"], "explanation": r["explanation"]}
    return {"family": "other", "title": rule_id, "explanation": ""}


def outcome(e: Expectation | Mapping[str, Any]) -> str:
    """"met", "unmet" or "skipped" (a step the flow never reached) for a report entry or its dict."""
    get = e.get if isinstance(e, Mapping) else lambda key: getattr(e, key, None)
    return "met" if get("met") else "skipped" if get("skipped") else "unmet"


def _expectation_dict(e: Expectation | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(e, Expectation):
        d = {"scenario": e.scenario, "name": e.name, "met": e.met, "skipped": e.skipped, "detail": e.detail,
             "near_miss": e.near_miss, "file": e.file, "line": e.line, "where": e.where}
        if e.dropped:
            d["dropped"] = e.dropped
        return d
    return dict(e)


def build_summary(journal: Journal, *, expectations: Iterable[Expectation | Mapping[str, Any]] = (),
                  seed: int | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-able summary of the run. The counts and the verdict count every entry the journal
    recorded; the lists (``violations``, ``faults``, ``sessions``) hold what it still keeps in memory
    (a bounded journal, ``Journal(keep=False)``, keeps the first and the latest findings: ``dropped``
    says how many of each kind it no longer holds, ``sessions_folded`` adds up the closed sessions
    whose records it let go; journal.jsonl has everything)."""
    violations = [e.to_dict() for e in journal.violations()]
    exps = [_expectation_dict(e) for e in expectations]
    faults = [e.to_dict() for e in journal.entries(kind="fault")]
    counts = journal.counts
    n_violations = counts.get("violation", 0)
    n_internal = journal.faults_by_kind.get("internal error", 0)
    by_rule: dict[str, int] = dict(journal.violations_by_rule)
    summary = {
        "tool": "mockcti",
        "seed": seed,
        "counts": {"messages_in": counts.get("in", 0), "messages_out": counts.get("out", 0),
                   "connections": counts.get("connect", 0), "violations": n_violations,
                   "rejected": counts.get("rejected", 0), "faults": counts.get("fault", 0),
                   "expectations": len(exps), "expectations_unmet": sum(1 for e in exps if outcome(e) == "unmet"),
                   "expectations_skipped": sum(1 for e in exps if outcome(e) == "skipped"),
                   # outcomes of older scenarios no longer kept one by one, folded into one entry of "expectations"
                   "expectations_dropped": sum(int(e.get("dropped") or 0) for e in exps),
                   "internal_errors": n_internal},
        "violations_by_rule": by_rule,
        "violations": violations,
        "faults": faults,
        "expectations": exps,
        "sessions": {str(k): v for k, v in journal.sessions.items()},
        "sessions_folded": dict(journal.sessions_folded),
        "dropped": {k: n for k, n in sorted(journal.dropped.items()) if n},
        # an internal error of the mock (server.py contains it) fails the run: its verdict can't be trusted
        "passed": not n_violations and not n_internal and all(outcome(e) != "unmet" for e in exps),
    }
    if extra:
        summary.update(extra)
    return summary


def run_seed(hub: Any, default: int = 0) -> int:
    """The seed a run used, as its report names it: the scenario's in place (its ``seed:``; ``--seed`` replaces
    it), else the center's (``--seed``; the control API's ``POST /reset {"seed": N}`` rebuilds it with N), else
    ``default``. (The control API's /report said the server's --seed whatever ran, and `serve --report` the
    --seed after a reset had rebuilt the center with another.)"""
    for holder in (getattr(hub, "engine", None), getattr(hub, "center", None)):
        seed = getattr(holder, "seed", None)
        if isinstance(seed, int) and not isinstance(seed, bool):
            return seed
    return default


def _internal_errors(faults: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The "internal error" faults: exceptions out of the mock's own core, contained by the server."""
    return [f for f in faults if f.get("fault") == "internal error"]


def junit_xml(summary: Mapping[str, Any], *, rules: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """JUnit XML: a test case per rule (protocol, ACD) and per scenario expectation, and an
    ``<error>`` case when the mock itself had an internal error."""
    rules = dict(rules if rules is not None else rule_catalog())
    counted: Mapping[str, int] = summary.get("violations_by_rule") or {}
    # a rule seen in the run but not in the catalog still gets a case
    for rid in [*(v.get("rule", "?") for v in summary["violations"]), *counted]:
        if rid not in rules:
            rules[rid] = rule_info(rid, rules)
    by_rule: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for v in summary["violations"]:
        by_rule[v.get("rule", "?")].append(v)
    root = ET.Element("testsuites", name="mockcti")
    families: dict[str, list[str]] = defaultdict(list)
    for rid, info in rules.items():
        families[info.get("family", "other")].append(rid)
    total = failures = 0
    for family in sorted(families):
        ids = sorted(families[family])
        suite = ET.SubElement(root, "testsuite", name=f"mockcti.{family}")
        fails = 0
        for rid in ids:
            info = rules[rid]
            case = ET.SubElement(suite, "testcase", classname=f"mockcti.{family}",
                                 name=f"{rid}: {info.get('title', '')}".strip().rstrip(":"))
            seen = by_rule.get(rid, [])
            n = max(counted.get(rid, 0), len(seen))  # every one counted, kept in memory or not
            if n:
                fails += 1
                text = "\n".join(_violation_line(v) for v in seen)
                if n > len(seen):
                    text += f"\n... and {n - len(seen)} more no longer kept in memory (journal.jsonl has them)"
                fail = ET.SubElement(case, "failure", type=rid,
                                     message=f"{n} violation(s): {info.get('explanation', '')}".strip())
                fail.text = text.strip("\n")
        suite.set("tests", str(len(ids)))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total += len(ids)
        failures += fails
    # a suite per scenario, in the order they ran or were loaded: the scenarios `mockcti run` ran (with the client
    # under test's exit status, expectations or not) in run order, then any other the expectations name, in their
    # order (a server's: "(older scenarios)", those taken out, the one in place). Sorted by name, "A (10th load)"
    # came before "A (2nd load)", and a run's suites were not in the order its scenarios ran
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    runs: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in summary.get("scenarios", []):
        if isinstance(s, Mapping) and s.get("name") is not None:
            runs[str(s["name"])].append(s)
            by_scenario.setdefault(str(s["name"]), [])
    for e in summary.get("expectations", []):
        by_scenario.setdefault(e.get("scenario", "scenario"), []).append(e)
    errors = 0
    for scen, exps in by_scenario.items():
        suite = ET.SubElement(root, "testsuite", name=f"mockcti.scenario.{scen}")
        fails = skips = errs = 0
        for e in exps:
            case = ET.SubElement(suite, "testcase", classname=f"mockcti.scenario.{scen}", name=str(e.get("name")))
            # where the scenario states it goes into the failure's message: `file`/`line` attributes on a
            # <testcase> are not in Jenkins' junit XSD, and the xUnit plugin skipped the whole file
            where = e.get("where") or _where(e.get("file"), e.get("line"))
            result = outcome(e)
            if result == "skipped":
                skips += 1
                ET.SubElement(case, "skipped", message=str(e.get("detail") or "not reached"))
            elif result == "unmet":
                fails += 1
                message = str(e.get("detail") or "unmet")
                if where:
                    message = f"{where}: {message}"
                fail = ET.SubElement(case, "failure", type="expectation", message=message)
                fail.text = "\n".join(x for x in (message, e.get("near_miss")) if x)
        # the client under test's exit (mockcti run --client-cmd): a case in every run, an <error> when
        # it could not start or exited non-zero (exit 3), else a CI server showed all green for it
        clients = [s for s in runs.get(scen, []) if s.get("client_exit") is not None]
        for s in clients:
            case = ET.SubElement(suite, "testcase", classname=f"mockcti.scenario.{scen}",
                                 name="the client under test exits with status 0")
            status = s["client_exit"]
            if status != 0:
                errs += 1
                message = (f"the client under test could not start (status {status})" if status in (126, 127)
                           else f"the client under test exited with status {status}")
                err = ET.SubElement(case, "error", type="client exit", message=message)
                err.text = "\n".join(x for x in (message, f"the scenario ended: {s.get('end')}" if s.get("end")
                                                  else "") if x)
        suite.set("tests", str(len(exps) + len(clients)))
        suite.set("failures", str(fails))
        suite.set("errors", str(errs))
        suite.set("skipped", str(skips))
        # what the client under test printed (mockcti run), where CI servers show it beside the failures
        output = "".join(str(s.get("client_output") or "") for s in runs.get(scen, []))
        if output.strip():
            ET.SubElement(suite, "system-out").text = output
        total += len(exps) + len(clients)
        failures += fails
        errors += errs
    internal = _internal_errors(summary.get("faults", []))
    n_internal = max(summary.get("counts", {}).get("internal_errors", 0), len(internal))
    if n_internal:
        suite = ET.SubElement(root, "testsuite", name="mockcti.internal", tests="1", failures="0", errors="1",
                              skipped="0")
        case = ET.SubElement(suite, "testcase", classname="mockcti.internal", name="the mock ran without an internal error")
        err = ET.SubElement(case, "error", type="internal error",
                            message=f"{n_internal} internal error(s) in mockcti; please report them")
        err.text = "\n".join((f"scenario {f['scenario']} " if f.get("scenario") is not None else "")
                             + f"t={f.get('t')} {f.get('where', '')}: {f.get('error', '')}" for f in internal)
        total += 1
        errors += 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    for el in root.iter():  # text from clients and scenario files may hold what XML 1.0 forbids
        el.text, el.tail = _xml_text(el.text), _xml_text(el.tail)
        for k, v in el.attrib.items():
            el.attrib[k] = _xml_text(v)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


#: characters XML 1.0 does not allow (control characters, lone surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@overload
def _xml_text(value: str) -> str: ...
@overload
def _xml_text(value: None) -> None: ...


def _xml_text(value: str | None) -> str | None:
    """``value`` with every character XML 1.0 forbids written as a visible escape (``\\x01``,
    ``\\udcff``), so that junit.xml stays well-formed whatever a client or a scenario name holds."""
    if not value or not _NOT_XML.search(value):
        return value
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


def _violation_line(v: Mapping[str, Any]) -> str:
    where = f"session {v.get('session')}" if v.get("session") is not None else "server"
    extra = ""
    if v.get("code") is not None:
        text = f": {v['code_text']}" if v.get("code_text") else ""
        extra = f" [code {v.get('code')} {v.get('code_name', '')}{text}]"
    req = f" ({v['request']})" if v.get("request") else ""
    scenario = f"scenario {v['scenario']} " if v.get("scenario") is not None else ""  # (mockcti run)
    return f"{scenario}t={v.get('t')} {where}{req}: {v.get('detail', '')}{extra}{violation_refs(v)}"


def violation_refs(v: Mapping[str, Any]) -> str:
    """What a violation's line ends with: the answer the client got for it (``; answered FAILURE_CONF
    E_CTI_SESSION_NOT_OPEN (4)``) and where its entry is in the journal (`` [journal a.jsonl seq 3]``: the
    entry's ``seq``; ``mockcti run`` names the scenario's journal file, ``serve --report`` writes journal.jsonl)."""
    answer = answered(v)
    if v.get("seq") is None:
        return answer
    journal = f"journal {v['journal']} " if v.get("journal") else "journal "
    return f"{answer} [{journal}seq {v['seq']}]"


_MARKS = {"met": "ok  ", "unmet": "FAIL", "skipped": "skip"}


def terminal_table(summary: Mapping[str, Any]) -> str:
    """A readable summary for a terminal."""
    c = summary["counts"]
    lines = [
        f"mockcti report: {c['connections']} connection(s), {c['messages_in']} message(s) in, "
        f"{c['messages_out']} out, {c['violations']} violation(s), {c['faults']} fault(s)"
        + (f", seed {summary['seed']}" if summary.get("seed") is not None else ""),
    ]
    if summary["violations_by_rule"]:
        rules = rule_catalog()
        w = max(len(r) for r in summary["violations_by_rule"])
        lines.append("")
        lines.append(f"  {'rule':<{w}}  count  explanation")
        first: dict[str, Mapping[str, Any]] = {}
        for v in summary.get("violations", []):
            first.setdefault(v.get("rule", "?"), v)
        for rid, n in sorted(summary["violations_by_rule"].items(), key=lambda kv: (-kv[1], kv[0])):
            expl = rule_info(rid, rules).get("explanation", "")
            lines.append(f"  {rid:<{w}}  {n:>5}  {expl}")
            if rid in first:  # the first one: what the client did, what it got, where in the journal
                lines.append(f"  {'':<{w}}  first  {_violation_line(first[rid])}")
    if summary.get("expectations"):
        lines.append("")
        for e in summary["expectations"]:
            result = outcome(e)
            lines.append(f"  {_MARKS[result]} {e.get('scenario')}: {e.get('name')}"
                         + ("" if result == "met" else f" — {e.get('detail', '')}"))
            where = e.get("where") or _where(e.get("file"), e.get("line"))
            if result == "unmet" and where:
                lines.append(f"       at {where}")
            if result == "unmet" and e.get("near_miss"):
                lines.append(f"       closest: {e['near_miss']}")
    internal = _internal_errors(summary.get("faults", []))
    n_internal = max(c.get("internal_errors", 0), len(internal))
    if n_internal:
        lines.append("")
        for f in internal:
            lines.append(f"  INTERNAL ERROR in mockcti ({f.get('where', '')}; please report it): {f.get('error', '')}")
        if n_internal > len(internal):
            lines.append(f"  {n_internal - len(internal)} more INTERNAL ERROR(s) in mockcti, no longer kept in memory")
    lines.append("")
    lines.append("PASSED" if summary["passed"] else "FAILED")
    return "\n".join(lines)


def write_reports(journal: Journal, directory: str | Path, *,
                  expectations: Iterable[Expectation | Mapping[str, Any]] = (), seed: int | None = None,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write ``summary.json`` and ``junit.xml`` into ``directory``; return their paths."""
    d = make_report_dir(directory)
    summary = build_summary(journal, expectations=expectations, seed=seed, extra=extra)
    paths = {"summary": d / "summary.json", "junit": d / "junit.xml"}
    write_report_file(paths["summary"], json_text(summary, indent=2) + "\n")
    write_report_file(paths["junit"], junit_xml(summary))
    return paths


def make_report_dir(directory: str | Path) -> Path:
    """Create the report directory ``directory`` (with its parents) and return it. An OSError says
    in its ``strerror`` what is wrong, in words: a file where the directory (or a parent of it)
    should be reads "not a directory (a file of that name exists)", not "File exists"."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OSError(exc.errno, "not a directory (a file of that name exists)", str(d)) from exc
    except NotADirectoryError as exc:
        raise OSError(exc.errno, "a parent of it is a file, not a directory", str(d)) from exc
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create the directory: {exc.strerror or exc}", str(d)) from exc
    return d


#: the file in a report directory that a ``mockcti run`` / ``serve --report`` writing into it holds locked
LOCK_FILE = ".mockcti.lock"


class ReportDirLock:
    """A report directory claimed by one command (:func:`claim_report_dir`) until :meth:`release` or the
    process ends (the kernel drops the lock of a process that dies, so a killed run leaves none behind)."""

    def __init__(self, directory: Path, fd: int | None, unlocked: str | None = None) -> None:
        self.directory = directory
        self._fd = fd
        #: why the directory is not locked (a platform without flock, a file system that cannot lock), else None
        self.unlocked = unlocked

    def warning(self, option: str = "--report") -> str | None:
        """What to tell the user when the directory is not locked (one line, naming ``option`` and the
        directory and why), else None: a run in parallel into it is then not refused, and the user must
        know that (the lock was skipped without a word)."""
        if self.unlocked is None:
            return None
        return (f"{option} {self.directory}: not locked ({self.unlocked}): a run started in parallel into this "
                f"directory is not refused; give each parallel run its own {option} DIR")

    def release(self) -> None:
        """Remove the lock file (the reports are left alone), then unlock. A run that waited for this
        file's lock finds it unlinked and takes a new one (:func:`claim_report_dir`)."""
        if self._fd is not None:
            import os

            fd, self._fd = self._fd, None
            try:
                os.unlink(self.directory / LOCK_FILE)
            except OSError:
                pass
            os.close(fd)  # (the lock goes with its last descriptor)


def claim_report_dir(directory: str | Path, command: str, option: str = "--report") -> ReportDirLock:
    """Make the report directory (:func:`make_report_dir`) and lock it for this process: two CI jobs in
    one checkout, both writing ``mockcti-report/``, overwrote each other's summary.json and junit.xml
    silently (the junit.xml a CI server read could be the other job's). The second is refused: an OSError
    (errno EBUSY) whose strerror names the run that holds the directory and how to give each its own.
    The lock is ``DIR/.mockcti.lock`` (flock; removed on release; where the platform has no flock or the
    file system cannot lock, nothing is locked and :meth:`ReportDirLock.warning` says so), and
    says who holds it: the pid, ``command`` (what runs, ``mockcti run a.yaml``) and when it started."""
    import datetime
    import errno
    import os

    d = make_report_dir(directory)
    try:
        import fcntl
    except ImportError:  # not a POSIX platform (Windows): written unlocked, and the user is told
        return ReportDirLock(d, None, "this platform has no flock: the fcntl module is missing")
    path = d / LOCK_FILE
    for _ in range(100):  # (each turn another run removed the file between our open and our lock: bounded)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot create {path}: {exc.strerror or exc}", str(d)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                # a file system that cannot lock (ENOLCK on some NFS): the run goes on, unlocked, as before
                os.close(fd)
                return ReportDirLock(d, None, f"the file system cannot lock {path}: {exc.strerror or exc}")
            try:
                holder = os.read(fd, 1024).decode("utf-8", "replace").strip() or "another mockcti process"
            except OSError:
                holder = "another mockcti process"
            os.close(fd)
            raise OSError(errno.EBUSY, f"in use by {holder}: two runs writing one report directory overwrite "
                                       f"each other's reports; give each run started in parallel its own {option} "
                                       f"DIR (e.g. {option} mockcti-report-$JOB)", str(d)) from None
        try:  # the file locked is still the one at the path (not one its holder removed on release)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except OSError:
            pass
        os.close(fd)
    else:  # pragma: no cover - a hundred runs releasing it under our feet
        raise OSError(errno.EBUSY, f"cannot lock {path}: it keeps being replaced", str(d))
    _remove_stale_temporaries(d)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if len(command) > 200:
        command = command[:197] + "..."
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} ({command}, started {started})\n".encode("utf-8", "replace"))
    except OSError:  # (the lock is what matters; a full disk is found when the reports are written)
        pass
    return ReportDirLock(d, fd)


#: a report file's temporary twin (:func:`write_report_file`): ``.NAME.PID.tmp``
_TEMPORARY = re.compile(r"\..+\.[0-9]+\.tmp")


def _remove_stale_temporaries(directory: Path) -> None:
    """With the report directory locked, no other mockcti is writing into it: a ``.NAME.PID.tmp`` there
    is what a process killed while writing a report (SIGKILL, a power cut: no chance to remove it) left
    behind; each run left one more. Removed; anything else in the directory is the user's and kept."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if _TEMPORARY.fullmatch(name):
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(directory / name).st_mode):
                    os.unlink(directory / name)


def write_report_file(path: Path, text: str | Iterable[str]) -> None:
    """``text`` (a string, or the strings of an iterable one after the other: ``mockcti run`` writes a
    scenario's journal a line at a time, not made one string first) into ``path`` as UTF-8 — what junit.xml's
    declaration says, whatever the locale (an ASCII or cp1252 locale made a report with a "§" or a client's
    non-ASCII text raise). An OSError names the file (a failed write alone says only "No space left on device").

    Atomically: written to a temporary file beside it (``.NAME.PID.tmp``), then renamed over it. The file
    was truncated and written in place: a write that failed part-way (a disk filling up, a process killed
    or interrupted while writing) left a truncated summary.json / junit.xml — the previous run's report in
    that directory lost, and a CI step parsing the file failed on broken XML rather than on the run — and a
    reader polling for the file could read it half-written. Now the file is the old one or the new one. A path
    that is not a plain file (a symbolic link, a device) is written through, in place, as before: the link kept."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    chunks: Iterable[str] = (text,) if isinstance(text, str) else text
    try:
        if not _plain_file_or_none(path):
            with open(path, "w", encoding="utf-8") as out:
                out.writelines(chunks)
            return
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # (the umask applies, as for a plain write)
        try:
            with open(fd, "w", encoding="utf-8", closefd=True) as fh:
                fh.writelines(chunks)
            os.replace(tmp, path)
        except BaseException:  # (a KeyboardInterrupt too: no temporary file left behind)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        if exc.filename is not None and str(exc.filename) != str(tmp):  # (the temporary file: named as the report's)
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def _plain_file_or_none(path: Path) -> bool:
    """``path`` is a regular file (not through a symbolic link), or nothing is there yet."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


# -- `mockcti serve --report DIR` -------------------------------------------------------------------


def add_serve_arguments(p) -> None:
    p.add_argument("--report", metavar="DIR",
                   help="write DIR/journal.jsonl as things happen (flushed per entry) and DIR/summary.json, "
                        "DIR/junit.xml and a summary table on shutdown")


class _ReportFeature:
    """``serve --report DIR``. A file that cannot be written (a full disk …) is one line on stderr
    naming it, the server carries on, and ``serve`` exits 2: the report is incomplete."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self._stream: IO[str] | None = None
        self._sink: JsonLinesSink | None = None
        self._lock: ReportDirLock | None = None
        self._journal_created = False  # start() made journal.jsonl (there was none): cancel() removes it
        self.errors: list[str] = []

    def _complain(self, text: str) -> None:
        import sys

        self.errors.append(text)
        print(f"mockcti serve: --report {self.directory}: {text}", file=sys.stderr, flush=True)

    def _journal_failed(self, exc: OSError) -> None:
        self._complain(f"cannot write {self.directory / 'journal.jsonl'}: {exc.strerror or exc}; it is no "
                       "longer written (summary.json and junit.xml still are, at shutdown)")

    async def start(self, server, args) -> None:
        # an OSError's strerror is the whole line `serve` prints: it names the option and the path
        try:  # locked while serving: a `mockcti run` or another serve writing it too is refused
            self._lock = claim_report_dir(self.directory, "mockcti serve")
        except OSError as exc:
            raise OSError(exc.errno, f"--report {self.directory}: {exc.strerror}") from exc
        warning = self._lock.warning()
        if warning is not None:
            import sys

            print(f"mockcti serve: warning: {warning}", file=sys.stderr, flush=True)
        journal = self.directory / "journal.jsonl"
        # opened for writing (what cannot be written is found now, before the listening line) but not truncated
        # yet: what is journalled until the server is sure to serve is held in memory, and the file is truncated
        # and written in serving(). It was opened with "w": a serve that could not start after all (a
        # --control-port in use) had already emptied the journal.jsonl of the run before, and served nothing
        self._journal_created = not os.path.lexists(journal)
        try:
            fd = os.open(journal, os.O_WRONLY | os.O_CREAT, 0o666)
            self._stream = open(fd, "w", encoding="utf-8")  # (an fd: not truncated)
        except OSError as exc:
            raise OSError(exc.errno, f"--report {self.directory}: cannot write {journal}: "
                                     f"{exc.strerror or exc}") from exc
        self._sink = JsonLinesSink(io.StringIO(), on_error=self._journal_failed)
        server.journal.add_sink(self._sink)

    def serving(self, server, args) -> None:
        """The server is sure to serve (every feature started): journal.jsonl is emptied and takes what was
        journalled since start(), then every entry as it comes. Also called by stop() if it was not."""
        sink, stream = self._sink, self._stream
        if sink is None or stream is None or not isinstance(sink.stream, io.StringIO):
            return
        held = sink.stream.getvalue()
        sink.stream = stream
        if sink.error is not None:  # (a StringIO does not fail; kept for the rule: never tried again)
            return
        try:
            if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):  # (a device, /dev/null, is written through)
                stream.truncate(0)
            stream.write(held)
            stream.flush()
        except OSError as exc:
            sink.error = exc
            self._journal_failed(exc)

    async def cancel(self, server, args) -> None:
        """serve could not start after all (exit 2): no report for a server that never served (stop() wrote a
        passing summary.json and junit.xml, and printed "PASSED"); the sink removed, the directory released."""
        if self._sink is not None:
            server.journal.remove_sink(self._sink)
            self._sink = None
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.close()
            self._stream = None
            if self._journal_created:  # (made by this start: none is left where there was none)
                with contextlib.suppress(OSError):
                    os.unlink(self.directory / "journal.jsonl")
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def stop(self, server, args) -> None:
        self.serving(server, args)  # (if it was not: what was journalled is not lost)
        if self._sink is not None:
            server.journal.remove_sink(self._sink)
        if self._stream is not None:
            try:
                self._stream.close()
            except OSError as exc:  # what is still buffered cannot be written either
                if self._sink is None or self._sink.error is None:
                    self._journal_failed(exc)
        # a scenario served with --scenario: its expectations are part of the verdict (as in /report)
        # and those of every scenario the control API loaded in turn (each judged when it was replaced or unloaded)
        expectations = server.hub.expectations(server.now())
        seed = run_seed(server.hub, getattr(args, "seed", None) or 0)
        try:
            write_reports(server.journal, self.directory, expectations=expectations, seed=seed)
        except OSError as exc:
            self._complain(f"cannot write the report: {exc}")
        import sys

        if not getattr(args, "quiet", False):  # (serve --quiet: errors only, the exit status is the verdict)
            print(terminal_table(build_summary(server.journal, expectations=expectations, seed=seed)), file=sys.stderr)
        if self._lock is not None:
            self._lock.release()

    def exit_status(self, server, args, status: int) -> int:
        return 2 if self.errors else status


#: what ``--report ''`` (an unset CI variable: ``--report "$REPORT_DIR"``) is told, by run and serve alike
EMPTY_REPORT_DIR = ("--report is empty: give the directory the reports are written to (an unset variable in "
                    "--report \"$DIR\"?)")


def serve_feature(args) -> _ReportFeature | None:
    report = getattr(args, "report", None)
    if report == "":  # it served with no report at all, silently (--strict's verdict then had no report behind it)
        import sys

        print(f"mockcti serve: {EMPTY_REPORT_DIR}; leave the option out for no report", file=sys.stderr)
        raise SystemExit(2)
    return _ReportFeature(report) if report else None
