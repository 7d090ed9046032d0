"""Scenario files (YAML or TOML) in, a validated :class:`~mockcti.scenario.model.Scenario` out.

Owns: reading scenario text as data only (``yaml.SafeLoader`` node by node, so every value keeps
its line; ``tomllib`` for TOML), merging ``include`` files, checking the document against
``schema.json``, and resolving every name in it (message types and fields, catalog codes, agent
ids, states, templates, step ids, captures, regular expressions), refusing the catalog names no
server of the scenario's profile sends (client-side sentinels anywhere; as a fail's status, the
E_CTI values UCCX reserves, unless the profile is ucce), and refusing literal text no message
can carry: the caller's data of ``deliver_call`` and ``center.calls`` (ANI, DNIS,
``call_variable1``..``call_variable10`` only, within BEGIN_CALL_EVENT's maximums, checked by
:func:`mockcti.center.config.check_call_data`; named variables and arrays by
:func:`mockcti.center.config.named_call_data`) and the Text of ``system_event``,
``fail`` and ``failure_event`` (bytes within the message's maximum); a value with a
``${substitution}`` is checked when it is used. Every problem is a :class:`ScenarioError` naming the
file, the line and the key path; nothing else escapes, whatever the input. Pure apart from reading
the files named by the caller and by ``include``: only regular files of at most
:data:`MAX_FILE_BYTES` (checked with ``os.stat`` before opening, so a FIFO or a device never blocks
or floods the reader).

Must not import the engine, asyncio or the server; of the center, only its pure parts (the
configuration checks and the call-data check of :mod:`mockcti.center.core`), when needed.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mockcti.files import MAX_FILE_BYTES  # the largest scenario or included file read (4 MiB)
from mockcti.files import Unreadable as _Unreadable
from mockcti.files import read_regular_file as _read_file
from mockcti.located import MAX_DEPTH, MAX_NODES, LDict, LList, ReadError, parse, too_deep
from mockcti.located import fmt_of as _fmt_of
from mockcti.located import fmt_path as _fmt_path
from mockcti.located import locate as _locate
from mockcti.located import own_path as _own_path
from mockcti.located import plain as _plain
from mockcti.located import short as _short
from mockcti.located import number_text_hint
from mockcti.located import type_name as _type_name

from . import model as m

__all__ = ["ScenarioError", "load_scenario", "load_scenario_text", "load_schema", "MAX_NODES", "MAX_INCLUDE_DEPTH",
           "MAX_DEPTH", "MAX_FILE_BYTES"]

#: How deep includes may nest.
MAX_INCLUDE_DEPTH = 16
#: The most files one scenario may read (itself and its includes).
MAX_FILES = 200

_DEFAULT_AGENTS = ("1001", "1002", "1003", "1004")  # the embedded default center (README)
_DEFAULT_CSQS = ("Sales", "Support")


class ScenarioError(Exception):
    """A scenario file is not valid. ``file``, ``line`` (1-based, None if unknown), ``key_path``
    (``rules[0].then[1].fail.status``) and ``message`` say what and where; ``errors`` holds every
    problem found (this one first). ``path``, when known, is the key path into the document as merged
    from its includes (``key_path`` names the value as its own file does: the indexes may differ)."""

    def __init__(self, message: str, *, file: str = "<scenario>", line: int | None = None, key_path: str = "",
                 errors: list["ScenarioError"] | None = None, path: tuple[Any, ...] = ()) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.path = path
        self.message = message
        self.errors: list[ScenarioError] = errors if errors is not None else [self]
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key_path": self.key_path, "message": self.message}


class _IncludeError(ScenarioError):
    """An include that could not be read (missing, a cycle, not a mapping …): reported with the
    other errors of the file, whose rest is checked without it (:func:`_load`)."""


#: what an include that could not be read may have defined: no name is called unknown for its sake
_WHAT_AN_INCLUDE_DEFINES = frozenset({"center", "states", "templates", "steps", "expect", "captures", "dialect"})


# -- the schema ------------------------------------------------------------------------------------


@functools.cache
def _schema_text() -> str:
    from importlib import resources

    return resources.files("mockcti.scenario").joinpath("schema.json").read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, as a fresh dict."""
    return json.loads(_schema_text())


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


# -- reading: the shared reader of mockcti.located, its errors worded as ScenarioError ----------------


def _too_deep(file: str, line: int | None, key_path: str = "", *, where: str = "") -> ScenarioError:
    return _scenario_error(too_deep(file, line, key_path, where=where))


def _scenario_error(exc: ReadError) -> ScenarioError:
    return ScenarioError(exc.message, file=exc.file, line=exc.line, key_path=exc.key_path)


def _parse(text: str | bytes, file: str, fmt: str, problems: list[ScenarioError] | None = None) -> Any:
    """The document; ``problems`` given, a mistake the reading goes on after (a duplicate key) is added to it."""
    read: list[ReadError] | None = [] if problems is not None else None
    try:
        return parse(text, file, fmt, read)
    except ReadError as exc:
        raise _scenario_error(exc) from None
    finally:
        if problems is not None and read:
            problems.extend(_scenario_error(e) for e in read)


# -- includes --------------------------------------------------------------------------------------


#: Mappings whose entries are replaced whole by the including file's entry of the same name.
_BY_NAME_MAPS = frozenset({("templates",)})
#: Lists whose items are named by a key: the including file's item of the same name replaces the
#: included one (in its place).
_BY_NAME_LISTS = {("rules",): "id", ("steps",): "id", ("timeline",): "id", ("expect",): "id",
                  ("center", "agents"): "id", ("center", "csqs"): "name", ("center", "teams"): "name"}
#: Lists whose including file's items come first (rules: tried first; states: the first is the initial one).
_OVER_FIRST = frozenset({("rules",), ("states",)})


def _merge(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """Merge ``over`` (the including file, or a later include) into ``base`` (an included file):
    ``over`` wins. Scalars: ``over``'s. Mappings merge key by key, except that an entry of
    ``templates`` replaces the included entry of that name whole. Lists join: a named item
    (rules, steps, timeline, expect by ``id``; center agents by ``id``, CSQs by ``name``)
    replaces the included item of that name; ``rules`` and ``states`` list ``over``'s items first
    (its rules are tried before the included ones; ``states`` without duplicates), the others the
    included items first. Every list item keeps its file, line and index in its own file."""
    if isinstance(base, LDict) and isinstance(over, LDict):
        out = LDict(over.file, over.line)
        for k in base:
            out[k] = base[k]
            out.lines[k] = base.lines.get(k, (base.file, base.line))
        for k in over:
            if k in out and path not in _BY_NAME_MAPS:
                out[k] = _merge(out[k], over[k], (*path, k))
            else:
                out[k] = over[k]
            out.lines[k] = over.lines.get(k, (over.file, over.line))
        return out
    if isinstance(base, LList) and isinstance(over, LList):
        out_l = LList(over.file, over.line)

        def add(lst: LList, i: int) -> None:
            out_l.append(lst[i])
            out_l.lines.append(lst.lines[i] if i < len(lst.lines) else (lst.file, lst.line))
            out_l.origins.append(lst.origin(i))

        key = _BY_NAME_LISTS.get(path)

        def name(v: Any) -> str | None:
            n = v.get(key) if key is not None and isinstance(v, dict) else None
            return n if isinstance(n, str) else None

        named = {n: i for i, v in enumerate(over) if (n := name(v)) is not None}
        placed: set[int] = set()
        if path in _OVER_FIRST:
            for i, v in enumerate(over):
                if path == ("states",) and v in out_l:
                    continue
                add(over, i)
            for i, v in enumerate(base):
                if path == ("states",) and v in out_l or name(v) in named:
                    continue
                add(base, i)
            return out_l
        for i, v in enumerate(base):
            n = name(v)
            if n in named:  # replaced in its place by the including file's item
                if named[n] not in placed:
                    placed.add(named[n])
                    add(over, named[n])
                continue
            add(base, i)
        for i in range(len(over)):
            if i not in placed:
                add(over, i)
        return out_l
    return over


def _resolve_includes(doc: Any, file: str, stack: tuple[str, ...], seen: list[str],
                      problems: list[ScenarioError] | None = None) -> Any:
    """``doc`` merged with its includes. ``problems`` given, an include that cannot be read is an
    :class:`_IncludeError` added to it and left out (the rest of the file is still checked);
    without, it is raised."""
    if not isinstance(doc, LDict) or "include" not in doc:
        return doc

    def failed(message: str, **where: Any) -> None:
        err = _IncludeError(message, **where)
        if problems is None:
            raise err
        problems.append(err)

    inc = doc["include"]
    if not isinstance(inc, LList) or not all(isinstance(x, str) and x for x in inc):
        where = doc.lines.get("include", (file, None))
        failed("must be a list of file names", file=where[0], line=where[1], key_path="include")
        inc = LList(file, 1)
    base_dir = Path(file).parent
    merged: Any = None
    for i, name in enumerate(inc):
        ifile, iline = inc.lines[i]
        target = Path(name) if os.path.isabs(name) else base_dir / name
        try:
            key = str(target.resolve())
        except (OSError, RuntimeError, ValueError):
            key = str(target)
        if key in stack:
            chain = " -> ".join([*(os.path.basename(s) for s in stack[stack.index(key):]), os.path.basename(key)])
            failed(f"include cycle: {chain}", file=ifile, line=iline, key_path=f"include[{i}]")
            continue
        if len(stack) >= MAX_INCLUDE_DEPTH:
            failed(f"includes nest deeper than {MAX_INCLUDE_DEPTH}", file=ifile, line=iline, key_path=f"include[{i}]")
            continue
        if len(seen) >= MAX_FILES:
            failed(f"more than {MAX_FILES} files included", file=ifile, line=iline, key_path=f"include[{i}]")
            continue
        try:
            data = _read_file(target)
        except _Unreadable as exc:
            failed(f"cannot read included file {name!r}: {exc}", file=ifile, line=iline, key_path=f"include[{i}]")
            continue
        shown = str(target)
        seen.append(shown)
        sub = _parse(data, shown, _fmt_of(shown), problems)
        if sub is None:
            sub = LDict(shown, 1)
        if not isinstance(sub, LDict):
            failed("an included file must be a mapping of scenario keys", file=shown, line=1)
            continue
        sub = _resolve_includes(sub, shown, (*stack, key), seen, problems)
        merged = sub if merged is None else _merge(merged, sub)
    rest = LDict(doc.file, doc.line)
    for k, v in doc.items():
        if k != "include":
            rest[k] = v
            rest.lines[k] = doc.lines[k]
    return rest if merged is None else _merge(merged, rest)


# -- messages about names --------------------------------------------------------------------------


def _allowed(name: Any, allowed: Iterable[str], *, every: bool = False, first: str | None = None) -> str:
    """The allowed names for a bad ``name``: all of a short list, else the closest; none close, a few
    of them, or (``every``: a mapping's keys, which a user cannot look up elsewhere) all of them.
    ``first``: the name ``name`` surely meant (an enumeration's name in full), put first and said so."""
    allowed = sorted(set(allowed))
    if not allowed:
        return "nothing is allowed here"
    if len(allowed) <= 12 and first is None:
        return "allowed: " + ", ".join(allowed)
    close = difflib.get_close_matches(str(name), allowed, n=5, cutoff=0.5) if isinstance(name, str) else []
    if not close and isinstance(name, str):
        up = name.upper()
        close = [a for a in allowed if up and (up in a.upper() or a.upper() in up)][:5]
    if first is not None:
        close = [f"{first} ({_short(name)} in full)", *(c for c in close if c != first)][:5]
    if close:
        return f"closest: {', '.join(close)} ({len(allowed)} allowed)"
    if every:
        return "allowed: " + ", ".join(allowed)
    return f"{len(allowed)} allowed, e.g. {', '.join(allowed[:5])}"


def _unknown(what: str, name: Any, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if not allowed:  # e.g. use: a template in a file that defines none
        return f"unknown {what} {_short(name)}; this scenario defines no {what}"
    return f"unknown {what} {_short(name)}; {_allowed(name, allowed)}"


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


# -- schema errors ---------------------------------------------------------------------------------


def _schema_errors(doc: Any, file: str, cuts: dict[tuple[Any, ...], bool] | None = None) -> list[ScenarioError]:
    """Every JSON Schema error of ``doc`` (``iter_errors``), located, sorted and de-duplicated;
    ``cuts`` gets the paths of what the semantic checks must not see (:func:`_schema_cut`), each
    with True when it is only an unknown key."""
    errors = []
    try:
        raw = list(_validator().iter_errors(doc))
    except RecursionError:  # (MAX_DEPTH is checked while reading; this is only if the stack was already deep)
        if cuts is not None:
            cuts[()] = False
        return [_too_deep(file, None, where="the schema check")]
    wrong_type = {tuple(err.absolute_path) for err in raw if err.validator == "type"}
    for err in raw:
        if err.validator != "type" and tuple(err.absolute_path) in wrong_type:
            continue  # a value of the wrong type: "expected text", not also "unknown value [1]" (enum, pattern)
        if cuts is not None:
            for cut, only_key in _schema_cut(err):
                cuts[cut] = cuts.get(cut, True) and only_key
        for path, message in _explain_all(err):
            message = _fault_param_explained(doc, path, message)
            f, line = _locate(doc, path, file)
            errors.append(ScenarioError(message, file=f, line=line, key_path=_fmt_path(_own_path(doc, path)),
                                        path=tuple(path)))
    errors.sort(key=lambda e: (e.file != file, e.file, e.line or 0, e.key_path))
    out, seen = [], set()
    for e in errors:
        k = (e.file, e.line, e.key_path, e.message)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def _fault_param_explained(doc: Any, path: list[Any], message: str) -> str:
    """An unknown key in a fault's ``params``: the schema knows only the parameters of every kind
    together, so its "allowed" listed ``bytes`` … for a ``delay``; say what this fault's kind takes,
    as the semantic check does of a parameter of another kind."""
    if len(path) < 2 or path[-2] != "params" or not message.startswith("unknown key"):
        return message
    node = doc
    for p in path[:-2]:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return message
    kind = node.get("kind") if isinstance(node, dict) else None
    if not isinstance(kind, str) or kind not in m.FAULT_PARAMS:
        return message
    allowed = m.FAULT_PARAMS[kind]
    return f"{kind} takes no parameter {path[-1]!r}; " + ("allowed: " + ", ".join(allowed) if allowed else "it takes none")


def _schema_cut(err: Any) -> list[tuple[tuple[Any, ...], bool]]:
    """What a schema error takes out of the document the semantic checks read: an unknown key
    only that key (the rest of its mapping is valid and checked), anything else the smallest unit
    whose checks do not depend on its neighbours: the list item (``rules[2]``, ``center.agents[0]``)
    holding the wrong value, or the top-level key (``end``, ``dialect``); ``()`` (the document
    itself, e.g. no ``name``) takes nothing out. Each with True when it is only an unknown key."""
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = err.schema.get("properties", {})
        patterns = err.schema.get("patternProperties", {})
        extra = [k for k in err.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
        if extra:
            return [((*path, k), True) for k in extra]
    for i, p in enumerate(path):
        if isinstance(p, int):
            return [(path[:i + 1], False)]
    return [(path[:1], False)]


def _without(node: Any, cuts: Iterable[tuple[Any, ...]]) -> Any:
    """A copy of ``node`` without the values at ``cuts`` (paths into it), each value keeping the
    file and line it was read at, and each list item the index it has in its own file (errors
    found in the copy name the file's key paths)."""
    cuts = set(cuts)
    if not cuts:
        return node
    if () in cuts:
        return None
    here = {c[0] for c in cuts if len(c) == 1}
    below: dict[Any, set[tuple[Any, ...]]] = {}
    for c in cuts:
        if len(c) > 1:
            below.setdefault(c[0], set()).add(c[1:])
    if isinstance(node, LDict):
        out = LDict(node.file, node.line)
        for k, v in node.items():
            if k not in here:
                out[k] = _without(v, below.get(k, set()))
                if k in node.lines:
                    out.lines[k] = node.lines[k]
        return out
    if isinstance(node, LList):
        out_l = LList(node.file, node.line)
        for i, v in enumerate(node):
            if i not in here:
                out_l.append(_without(v, below.get(i, set())))
                out_l.lines.append(node.lines[i] if i < len(node.lines) else (node.file, node.line))
                out_l.origins.append(node.origin(i))
        return out_l
    return node


#: top-level keys that define nothing another part of a scenario refers to (a capture, a name)
_DEFINES_NOTHING = frozenset({"$schema", "name", "description", "seed", "end", "expect_order", "dialect", "states",
                              "include", "retry_loop"})


def _explain_all(err: Any) -> list[tuple[list[Any], str]]:
    """Each error a schema error stands for: of an ``anyOf`` (an action, a predicate), every error of
    the alternative that came closest — a fault action with a misspelt ``kind`` and a misspelt
    parameter is two errors; :func:`_explain` alone said only the deeper one."""
    subs = [e for e in err.context or () if not (e.validator == "type" and not e.relative_path)]
    if not subs:
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            # one schema error for all the unknown keys of a mapping: each of them is a mistake
            allowed = err.schema.get("properties", {})
            patterns = err.schema.get("patternProperties", {})
            extra = [k for k in err.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
            return [_explain(err, key=k) for k in extra] or [_explain(err)]
        return [_explain(err)]
    best = max(subs, key=lambda e: (len(e.absolute_path), e.validator != "enum"))
    branch = best.relative_schema_path[0] if best.relative_schema_path else None
    same = [e for e in subs if e.relative_schema_path and e.relative_schema_path[0] == branch] or [best]
    wrong_type = {tuple(e.absolute_path) for e in same if e.validator == "type"}
    out: list[tuple[list[Any], str]] = []
    for e in same:
        if e.validator != "type" and tuple(e.absolute_path) in wrong_type:
            continue  # (a value of the wrong type: that, not also "unknown value")
        out.extend(_explain_all(e))
    return out


_TARGET_PATTERN = "^(requester|bridge|all|agent:.+)$"
_TARGETS = ("requester", "bridge", "all", "agent:<id>")
#: the schema's patterns in words, for the errors of values that do not match them
_PATTERN_WORDS = {
    _TARGET_PATTERN: "agent:<id> names an agent id, agent:${name} a captured one",
    "^[A-Za-z0-9_.:-]+$": "a valid name here: letters, digits and _ . : - only (no spaces)",
    "^[A-Za-z_][A-Za-z0-9_.]*$": "a valid capture name: a letter or _, then letters, digits, _ and . (no spaces)",
}

#: the keys of a fail or failure_event that take a catalog name only, and the catalog source of each
_NAME_ONLY_CODES = {"status": ("uccx_status", "an E_CTI status"), "failure_code": ("uccx_cf", "a CF failure code"),
                    "text_code": ("cn_ngcc", "a seed-000 (cn_ngcc) code")}


def _shown(inst: Any) -> str:
    """A wrong value after its kind, as the file spells it: nothing for null, ``(true)`` for a boolean
    (not Python's None and True), else its repr cut to 40 characters."""
    return "" if inst is None else f" ({str(inst).lower()})" if isinstance(inst, bool) else f" {_short(inst, 40)}"


def _code_number_hint(path: list[Any], inst: Any) -> str:
    """What to write for a number where a fail or failure_event takes a code's name (``failure_code: 5``):
    the name of that code in its catalog, or how to send a number the catalog does not name."""
    if isinstance(inst, bool) or not isinstance(inst, int) or len(path) < 2 \
            or path[-2] not in ("fail", "failure_event") or path[-1] not in _NAME_ONLY_CODES:
        return ""
    from mockcti import catalog

    source, what = _NAME_ONLY_CODES[path[-1]]
    entry = catalog.default().lookup(source, inst)
    if not entry.unknown:
        return f": {path[-1]} takes {what} by name; {inst} is {entry.name}"
    return (f": {path[-1]} takes {what} by name, and the catalog has no {source} code {inst} (`mockcti catalog "
            f"--source {source}` lists them; a reply's or emit's fields take any number)")


def _explain(err: Any, *, key: Any = None) -> tuple[list[Any], str]:
    """The path and message of one schema error (``key``: for an unknown-key error, that unknown key
    rather than the first one)."""
    while err.context:
        subs = [e for e in err.context if not (e.validator == "type" and not e.relative_path)]
        if not subs:
            types: list[str] = []
            for e in err.context:
                v = e.validator_value
                types.extend(v if isinstance(v, list) else [v])
            words = []
            for t in types:
                w = _TYPE_WORDS.get(t, t)
                if w not in words:
                    words.append(w)
            return list(err.absolute_path), f"expected {' or '.join(words)}, got {_type_name(err.instance)}"
        err = max(subs, key=lambda e: (len(e.absolute_path), e.validator != "enum"))
    path = list(err.absolute_path)
    v, inst, val = err.validator, err.instance, err.validator_value
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(err.schema.get("properties", {}))
        extra = [key] if key is not None else [k for k in inst if k not in allowed]
        if extra:
            if not allowed and path and isinstance(path[-1], str):  # default: {x: 1}; not "defines no key"
                return path + [extra[0]], f"unknown key {_short(extra[0])}: {path[-1]} takes no keys (write {path[-1]}: {{}})"
            if not path and "center" in allowed and isinstance(extra[0], str):
                from mockcti.center.config import CENTER_KEYS

                if extra[0] in CENTER_KEYS:  # agents: at the top, or a center file given to validate/run
                    return [extra[0]], (f"unknown key {extra[0]!r}: {extra[0]} is a center key; a scenario's "
                                        f"center goes under center: (a center file is given to --center)")
            return path + [extra[0]], f"unknown key {_short(extra[0])}; {_allowed(extra[0], allowed, every=True)}"
    if v == "required" and isinstance(inst, dict):
        missing = [r for r in val if r not in inst]
        return path, f"missing required key {missing[0]!r}" if missing else err.message
    if v == "enum":
        from mockcti.wire.enums import MessageType

        names = MessageType.__members__
        is_messages = all(str(x) in names for x in val)  # message_name, or client_message_name
        if is_messages and isinstance(inst, str) and inst.strip() in names:
            return path, _server_message(inst.strip())  # (a valid name not in this list: a server message)
        if not isinstance(inst, str) and all(isinstance(x, str) for x in val):
            # null, a number or a list where names (or, in an anyOf, a mapping) go: not "unknown value None"
            alts = err.parent.validator_value if err.parent is not None and err.parent.validator == "anyOf" else []
            mapping = any(isinstance(a, dict) and a.get("type") == "object" for a in alts)
            what = f"a mapping or one of {', '.join(map(str, val))}" if mapping else f"one of {', '.join(map(str, val))}"
            return path, f"expected {what}, got {_type_name(inst)}{_shown(inst)}"
        return path, _unknown("message type" if is_messages else "value", inst, [str(x) for x in val])
    if v == "type":
        types = val if isinstance(val, list) else [val]
        msg = f"expected {' or '.join(_TYPE_WORDS.get(t, t) for t in types)}, got {_type_name(inst)}{_shown(inst)}"
        if "number" in types or "integer" in types:  # 1e9: text to YAML 1.1, a number to its writer
            msg += number_text_hint(inst, integer="number" not in types)
        msg += _code_number_hint(path, inst)
        required = err.schema.get("required") if isinstance(err.schema, dict) else None
        if types == ["object"] and isinstance(required, list) and len(required) == 1 and path \
                and isinstance(path[-1], str) and isinstance(inst, (int, float, str)) and not isinstance(inst, bool):
            # the body of a key with one required key (delay: 2 for delay: {seconds: 2}); not a list item
            # (an agent written as its id alone is more than its id)
            msg += f": write {{{required[0]}: {_short(inst, 40)}}}"
        if types == ["object"] and list(path) == ["retry_loop"]:  # (retry_loop: off, YAML's false; or a count)
            msg += ": write {times: 0} to turn PROTO-RETRY-LOOP off, or {times: N, gap: SECONDS}"
        if ("number" in types or "integer" in types) and isinstance(inst, dict) and len(inst) == 1:
            (inner,) = inst.values()
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                # the reverse: wait: {seconds: 2} (as an action's delay is written) for wait: 2
                key = f"{path[-1]}: " if path and isinstance(path[-1], str) else ""
                msg += f": write {key}{_short(inner, 40)}"
        if types == ["array"] and path and isinstance(path[-1], str) and (
                isinstance(inst, dict) and inst or isinstance(inst, (str, int, float)) and not isinstance(inst, bool)):
            # then: {fail: …} for then: [{fail: …}], states: start for states: [start]: one item, not in a list
            one = f"{{{next(iter(inst))}: …}}" if isinstance(inst, dict) else _short(inst, 40)
            msg += f": a list of one is written {path[-1]}: [{one}] (or as a '- ' item)"
        return path, msg
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return path, f"must be {word} {val}, got {_short(inst, 40)}"
    if v == "maxProperties" and val == 1:
        return path, f"an action has exactly one key, got {len(inst)}: {', '.join(map(str, inst))}"
    if v == "minProperties" and isinstance(inst, dict) and not inst:
        return path, "must not be empty"
    if v == "pattern":
        rule = _PATTERN_WORDS.get(val)
        if rule is not None:  # the rule in words (with the targets allowed), not only the regular expression
            if val == _TARGET_PATTERN:
                return path, f"unknown target {_short(inst, 60)}; {_allowed(inst, _TARGETS)} ({rule})"
            return path, f"{_short(inst, 60)} is not {rule}"
        return path, f"{_short(inst, 60)} does not match the pattern {val}"
    if v == "propertyNames":
        return path, f"bad name: {err.message}"
    if v in ("minItems", "maxItems", "minLength", "maxLength") and isinstance(inst, (str, list, dict)):
        # in words, not the schema's keyword ("name: minLength is 1: ''")
        if "propertyNames" in err.absolute_schema_path:  # a key of the mapping at path, not its value
            return path, (f"a key here must not be empty, got {_short(inst, 40)}" if val == 1 and v == "minLength"
                          else f"a key here takes {'at least' if v.startswith('min') else 'at most'} {val} "
                               f"characters, got {_short(inst, 40)}")
        if v in ("minItems", "minLength") and val == 1:
            return path, "must not be empty"
        what = "characters" if v.endswith("Length") else "items"
        bound = "at least" if v.startswith("min") else "at most"
        return path, f"takes {bound} {val} {what}, got {len(inst)}"
    return path, err.message if len(err.message) < 300 else err.message[:297] + "..."


# -- name resolution -------------------------------------------------------------------------------


@functools.cache
def _enum_names() -> dict[str, int | None]:
    """Every member name of every enum in mockcti.wire.enums -> value (None when two enums disagree)."""
    from mockcti.wire import enums

    out: dict[str, int | None] = {}
    for obj in vars(enums).values():
        if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == enums.__name__:
            if obj.__name__ in ("MessageType", "Tag"):
                continue
            for name, member in obj.__members__.items():
                val = int(member.value)
                if name in out and out[name] != val:
                    out[name] = None
                else:
                    out[name] = val
    return out


@functools.cache
def _message_classes() -> dict[str, Any]:
    from mockcti.wire.enums import MessageType
    from mockcti.wire.spec import MESSAGE_CLASSES

    return {n: mt for n, mt in MessageType.__members__.items() if mt in MESSAGE_CLASSES}


@functools.cache
def _field_info(mt: Any) -> dict[str, tuple[str, int | None, bool]]:
    """snake_case field -> (kind: int|str|bytes|tuple, max size/len, signed)."""
    from mockcti.wire.spec import SPECS, FloatingField, Group

    spec = SPECS[mt]
    out: dict[str, tuple[str, int | None, bool]] = {}
    for f in dataclasses.fields(spec.cls):
        t = str(f.type)
        kind = "tuple" if "tuple" in t else "bytes" if "bytes" in t else "str" if "str" in t else "int"
        out[f.name] = (kind, None, False)
    for ff in spec.fixed:
        if out.get(ff.attr, ("",))[0] == "int":
            try:
                signed = str(getattr(ff.con, "fmtstr", "")).endswith(("b", "h", "l", "q"))  # INT, SHORT, CHAR
                out[ff.attr] = ("int", ff.con.sizeof(), signed)
            except Exception:  # noqa: BLE001 - a construct without a fixed size: no range check
                pass
    for it in spec.floating:
        if isinstance(it, FloatingField) and not isinstance(it, Group):
            k = out.get(it.attr, ("",))[0]
            if k == "int":
                out[it.attr] = ("int", it.kind.size, (it.kind.min_value or 0) < 0)
            elif k in ("str", "bytes"):  # (str: the NUL included; bytes: UNSPEC, no NUL)
                out[it.attr] = (k, it.max_len, False)
    out.pop("extra_fields", None)
    return out


@functools.cache
def _bool_fields(mt: Any) -> frozenset[str]:
    """The fields of ``mt`` the guide types BOOL (OPEN_CONF's UnifiedCCXOnline): ``true``/``false`` is 1/0 there."""
    from mockcti.wire.spec import SPECS
    from mockcti.wire.types import BOOL

    spec = SPECS[mt]
    return frozenset([ff.attr for ff in spec.fixed if ff.con is BOOL]
                     + [it.attr for it in spec.floating if getattr(getattr(it, "kind", None), "name", None) == "BOOL"])


_CAPTURE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class _Ctx:
    """State of one build: the located document, the errors found, what is defined."""

    def __init__(self, doc: LDict, file: str) -> None:
        from mockcti import catalog

        self.doc = doc
        self.file = file
        self.errors: list[ScenarioError] = []
        self._seen: set[tuple[Any, ...]] = set()
        self.catalog = catalog.default()
        self.captures: set[str] = set()
        # (name, path, request message type or None, the template uses it is met through: checked once the
        # file is read, an error then names the use that showed it, as one found at the use itself does)
        self.refs: list[tuple[str, tuple[Any, ...], Any, tuple[str, ...]]] = []
        self.states: tuple[str, ...] = ("start",)
        self.agents: set[str] = set(_DEFAULT_AGENTS)
        self.phones: dict[str, str] = {}  # an agent's extension or instrument -> its id (to name an ID given as one)
        self.csqs: set[str] = set(_DEFAULT_CSQS)
        self.templates_raw: dict[str, Any] = {}
        self.template_stack: list[str] = []
        self.via: list[str] = []
        self.call_captures: list[dict[str, str]] = []
        self.profile = "uccx"  # the dialect profile (set by _build before anything is resolved)
        #: what the semantic checks read only in part (a schema error took a part out, see
        #: :func:`_schema_cut`): "center" (its agents and CSQs), "states", "templates", "steps", "expect",
        #: "captures", "dialect". A name that is not among the ones read is then not called unknown
        #: (it may be in the part left out): no error follows from another one.
        self.incomplete: set[str] = set()
        #: the ``center:`` as written (a center file's shape) when schema errors cut parts of it, the
        #: document it is the center of (merged, nothing cut: its paths locate the center's errors), and
        #: those schema errors (their ``path`` into that document): see :func:`_center_checks`
        self.written_center: Any = None
        self.written_doc: Any = None
        self.schema_errors: list[ScenarioError] = []

    def loc(self, path: tuple[Any, ...]) -> m.Location:
        f, line = _locate(self.doc, path, self.file)
        return m.Location(f, line, _fmt_path(_own_path(self.doc, path)))

    def said_by_schema(self, path: tuple[Any, ...], message: str) -> bool:
        """Whether a schema error is at ``path`` (into the merged document, as the schema errors'
        ``path``: not the key path text, whose list indexes are each file's own) or around it (a value
        of the wrong type: what is inside it is not checked again); a missing key is said again only
        when no schema error there names it."""
        for e in self.schema_errors:
            if path[:len(e.path)] == e.path and len(path) > len(e.path):
                return True
            if path == e.path:
                missing = re.fullmatch(r"missing key ('[^']*')", message)
                if not missing or missing.group(1) in e.message:
                    return True
        return False

    def where(self, path: tuple[Any, ...], doc: Any = None) -> tuple[str, int | None, str]:
        """The file, line and key path (the file's own indexes) of ``path`` into ``doc`` (default: the
        document checked, from which schema errors may have cut parts: its lists may be shorter)."""
        doc = self.doc if doc is None else doc
        f, line = _locate(doc, path, self.file)
        return f, line, _fmt_path(_own_path(doc, path))

    def has_error_at(self, path: tuple[Any, ...], doc: Any = None) -> bool:
        """Whether an error names the value at ``path`` (into ``doc``, as :meth:`where`): its file and
        own key path, whichever document's path found it."""
        f, _, key_path = self.where(path, doc)
        return any((e.file, e.key_path) == (f, key_path) for e in self.errors)

    def err(self, path: tuple[Any, ...], message: str, doc: Any = None) -> None:
        """The error at ``path`` into ``doc`` (default: the document checked). A template is checked on
        its own, then at each ``use`` (its ``${request.…}`` depend on the request there): a mistake
        found at a use that is already reported at that place (by the template's own check, or by an
        earlier use) is not reported again; one only a use shows says where it was used."""
        f, line, key_path = self.where(path, doc)
        key = (f, line, key_path, message)
        if key in self._seen:
            return
        self._seen.add(key)
        if self.via:
            message += f" (in template used at {self.via[-1]})"
        self.errors.append(ScenarioError(message, file=f, line=line, key_path=key_path))

    # -- names --------------------------------------------------------------------------------------

    def message(self, name: Any, path: tuple[Any, ...]) -> Any:
        classes = _message_classes()
        mt = classes.get(name) if isinstance(name, str) else None
        if mt is None and isinstance(name, str):
            from mockcti.wire.messages import by_name

            try:
                mt = by_name(name).TYPE
            except KeyError:
                mt = None
        if mt is None:
            self.err(path, _unknown("message type", name, classes))
            return None
        if "dialect" not in self.incomplete:
            from mockcti.wire.dialect import PROFILES

            prof = PROFILES.get(self.profile)
            if prof is not None and not prof.defines(mt):  # the UCCX statistics under ucce (UCCX_ONLY_MESSAGE_TYPES)
                self.err(path, f"{mt.name} is a UCCX message the {prof.name} profile does not have (ICM's CTI "
                               f"Server has no such message): a {prof.name} client's is refused "
                               f"E_CTI_INVALID_MESSAGE_TYPE before the scenario sees it and the server cannot send "
                               f"one (drop it, or set dialect: {{profile: uccx}})")
                return None
        return mt

    def uccx_only(self, entry: Any) -> bool:
        """Whether ``entry`` is a status the scenario's profile never sends: an ``icm_only``
        E_CTI status (UCCX lists the value as reserved; protocol.md §6.1: "A UCCX mock should
        only ever send the codes with a UCCX name") under the ``uccx`` profile. CF codes marked
        ``icm_only`` only mean "UCCX use unconfirmed" (§6.2) and are not refused."""
        return (self.profile == "uccx" and "dialect" not in self.incomplete and entry.source == "uccx_status"
                and entry.status == "icm_only")

    def catalog_name(self, name: Any, sources: tuple[str, ...], what: str, path: tuple[Any, ...], *,
                     takes_numbers: bool = False) -> Any:
        entry = self.catalog.get(name) if isinstance(name, str) else None
        allowed = [e.name for s in sources for e in self.catalog.entries(s)
                   if e.sent_by_server and not self.uccx_only(e)]
        if entry is None:
            self.err(path, _unknown(what, name, allowed))
            return None
        if entry.source not in sources:
            self.err(path, f"{entry.name} is a {entry.source} code; expected {what}: {_allowed(name, allowed)}")
            return None
        if entry.code is None:
            self.err(path, f"{entry.name} has no known value (status {entry.status}); it cannot be sent")
            return None
        if not entry.sent_by_server:
            self.err(path, _client_side(entry, takes_numbers))
            return None
        if self.uccx_only(entry):
            close = difflib.get_close_matches(entry.name, allowed, n=3, cutoff=0.6)
            generic = "E_CTI_UNSPECIFIED_FAILURE"
            hint = (f"closest UCCX statuses: {', '.join(close)}" + ("" if generic in close else f"; or {generic}")
                    if close else f"use {generic}, the UCCX status for a failure it has no code for")
            self.err(path, f"{entry.name} ({entry.code}) is an ICM/UCCE status that UCCX lists as reserved: "
                           f"a UCCX server never sends it; {hint} (or set dialect: {{profile: ucce}})")
            return None
        return entry

    def agent(self, agent: Any, path: tuple[Any, ...]) -> None:
        if str(agent) not in self.agents and "center" not in self.incomplete:
            owner = self.phones.get(str(agent))
            text = _unknown("agent id", agent, self.agents)
            if owner is not None:  # (as the center says it at run time: ContactCenter.agent_hint)
                text = text.replace(";", f" ({agent} is the phone of agent {owner}: give the agent ID);", 1)
            self.err(path, text)

    def target(self, to: Any, path: tuple[Any, ...], request: Any) -> str:
        """``to`` of emit, fail and system_event: ``agent:<id>`` names a known agent, or holds
        ``${name}`` substitutions (a capture, ``${session.agent_id}``, ``${request.agent_id}`` …),
        checked as every substitution and substituted by the engine when it sends."""
        if isinstance(to, str) and to.startswith("agent:"):
            if not self.reference(to, path, request):
                return to
            names = m.references(to)
            if not names:
                self.agent(to[len("agent:"):], path)
        return to

    def state(self, state: Any, path: tuple[Any, ...]) -> None:
        if state not in self.states and "states" not in self.incomplete:
            self.err(path, _unknown("state", state, self.states))

    def reference(self, value: Any, path: tuple[Any, ...], request: Any) -> bool:
        """Note each ``${name}`` in ``value`` (checked once the whole file is read); False, and an
        error, when ``value`` holds a ``${`` that is no ``${name}`` (``${call``, ``${ call }``): it
        would be sent or compared as that literal text."""
        bad = m.malformed_reference(value)
        if bad is not None:
            self.err(path, f"malformed substitution {_short(bad)}: write ${{name}} (letters, digits, _ and ., "
                           f"no spaces), or $${{ for a literal ${{")
            return False
        for name in m.references(value):
            self.refs.append((name, path, request, tuple(self.via)))
        return True

    def capture_names(self, caps: Any, path: tuple[Any, ...], request: Any, sources: Iterable[str] | None = None
                      ) -> dict[str, str]:
        out: dict[str, str] = {}
        fields = _field_info(request) if request not in (None, _ANY) else None
        for var, src in caps.items():
            if not _CAPTURE_NAME.fullmatch(var):
                self.err(path + (var,), f"bad capture name {var!r} (letters, digits, _ and .)")
                continue
            if sources is not None:
                if src not in sources:
                    self.err(path + (var,), _unknown("call attribute", src, sources))
                    continue
            elif request is None:
                self.err(path, "capture needs a request (use it in rules and expect steps)")
                continue
            elif fields is not None and src not in fields:
                self.err(path + (var,), _unknown(f"field of {request.name}", src, fields))
                continue
            out[var] = src
            self.captures.add(var)
        return out


_ANY = object()  # request context of a template built on its own: any message


def _client_side(entry: Any, takes_numbers: bool) -> str:
    """The refusal of a catalog name whose value only a client produces (``sent_by_server = false``)."""
    value = entry.value_hex or str(entry.code)
    msg = (f"{entry.name} ({value}) is a client-side value (set inside the client library, "
           f"sent_by_server = false): no server sends it")
    if takes_numbers:
        msg += f"; give the number {entry.code} instead if these bits are meant"
    return msg


def _int_bounds(size: int | None) -> str:
    """The numbers :func:`_wire_int` takes for a field of ``size`` bytes, as text."""
    bits = 8 * (size or 8)
    return f"{-(1 << (bits - 1))}..{(1 << bits) - 1}"


def _wire_int(size: int | None, signed: bool, value: int) -> int | None:
    """``value`` for an integer field of ``size`` bytes as the wire carries it, or None when it does
    not fit. Either form of the bits is taken (-2^(n-1)..2^n-1): a negative number in an unsigned
    field is its two's complement (a JTAPI error code as Java logs print it, ``-1932787697`` for
    ``0x8CCC000F``), a number above the signed range in a signed field (INT, SHORT) the negative
    one with those bits."""
    if size is None:
        return value if -(1 << 63) <= value < (1 << 64) else None
    bits = 8 * size
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        return None
    value %= 1 << bits
    return value - (1 << bits) if signed and value >= 1 << (bits - 1) else value


#: The catalog sources whose codes an enumerated field carries, by the field's enumeration (the
#: enumeration's own names are accepted too): a name from another source or enumeration is refused.
_CODE_DOMAINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "StatusCode": ("an E_CTI status", ("uccx_status",)),
    "ControlFailureCode": ("a CF failure code", ("uccx_cf",)),
    "CCXErrorCode": ("a UCCX error code (CCX_*) or CTIERR code", ("uccx_ccx", "cisco_ctierr")),
}


def _field_enum(mt: Any, fname: str) -> Any:
    """The enumeration the values of field ``fname`` of ``mt`` come from (reference §6), or None."""
    from mockcti.wire.render import field_enum

    return field_enum(mt, fname)


def _catalog_value(ctx: _Ctx, entry: Any, path: tuple[Any, ...]) -> int | None:
    """The number to send for catalog ``entry`` in a raw field; None (and an error) when no server sends it."""
    if not entry.sent_by_server:
        ctx.err(path, _client_side(entry, True))
        return None
    if entry.code is None:
        ctx.err(path, f"{entry.name} has no known value (status {entry.status}); it cannot be sent")
        return None
    return entry.code


def _name_in_domain(ctx: _Ctx, mt: Any, fname: str, enum_cls: Any, key: str, path: tuple[Any, ...]) -> int | None:
    """A name in an enumerated field (``FAILURE_CONF.status``, ``CONTROL_FAILURE_CONF.failure_code`` …):
    a member of the field's enumeration or a catalog code of the sources that field carries. A name
    of another kind (a CF code as a status, an agent state as a failure code) is an error naming its
    kind, not the number it happens to have elsewhere."""
    members = enum_cls.__members__
    if key in members:
        return int(members[key])
    what, sources = _CODE_DOMAINS.get(enum_cls.__name__, (f"an {enum_cls.__name__} name" if enum_cls.__name__[0] in "AEIOU"
                                                          else f"a {enum_cls.__name__} name", ()))
    entry = ctx.catalog.get(key)
    if entry is not None and entry.source in sources:
        return _catalog_value(ctx, entry, path)
    allowed = [*members, *(e.name for s in sources for e in ctx.catalog.entries(s) if e.sendable)]
    takes = f"{mt.name}.{fname} takes {what} (or a number)"
    if entry is not None:
        ctx.err(path, f"{entry.name} is a {entry.source} code; {takes}: {_allowed(key, allowed)}")
    elif key in _enum_names():
        owners = _enum_owners(key)
        ctx.err(path, f"{key} is a name of {'/'.join(owners)}; {takes}: {_allowed(key, allowed)}")
    else:
        hint = _allowed(key, allowed, first=_in_full(key, list(members)))
        ctx.err(path, f"unknown name {_short(key)}; {takes}: {hint}{number_text_hint(key, integer=True)}")
    return None


def _in_full(key: str, members: list[str]) -> str | None:
    """The member ``key`` abbreviates by leaving out the prefix most members of the enumeration share
    (``READY``: ``AGENT_STATE_READY``, the name mockcti.client and the pytest handle take as ``READY``):
    difflib put AGENT_STATE_NOT_READY first, which a user took for the one meant."""
    tail = "_" + key.upper()
    shared = {m[:len(m) - len(tail) + 1]: sum(o.startswith(m[:len(m) - len(tail) + 1]) for o in members)
              for m in members if m.endswith(tail)}
    if not shared:
        return None
    prefix = max(shared, key=lambda p: shared[p])
    return prefix + key.upper() if 2 * shared[prefix] > len(members) else None


def _enum_owners(name: str) -> list[str]:
    """The enumerations of mockcti.wire.enums that have a member ``name``."""
    from mockcti.wire import enums

    return sorted(obj.__name__ for obj in vars(enums).values()
                  if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == enums.__name__
                  and name in obj.__members__)


def _member_info(item: Any) -> tuple[str, int | None, bool]:
    """(kind, max size, signed) of a group member or NamedVariable/NamedArray part, as :func:`_field_info`."""
    k = item.kind
    if k.size is not None:
        return ("int", k.size, (k.min_value or 0) < 0)
    return ("bytes" if k.py_type is bytes else "str", item.max_len, False)


#: the parts of one NamedVariable / NamedArray in a scenario (reference §1: VariableName <= 33 and
#: VariableValue <= 211 bytes with their NULs, VariableIndex a UCHAR)
_NAMED_PARTS = {"NAMEDVAR": (("name", "str", 33), ("value", "str", 211)),
                "NAMEDARRAY": (("index", "int", 1), ("name", "str", 33), ("value", "str", 211))}


def _repeated_value(ctx: _Ctx, mt: Any, fname: str, value: list, path: tuple[Any, ...], request: Any) -> Any:
    """A repeated field of an emitted or replied message: NamedVariables / NamedArrays (mappings of
    name, value and, for an array, index) or a group's instances (mappings of its members), each part
    checked as a field is (kind, range, length: a value the message cannot carry is a load error at
    its key, not a fault when it is sent). Kept plain: the engine builds the instances once ``${…}``
    are substituted."""
    from mockcti.wire.spec import SPECS, Group

    item = next((it for it in SPECS[mt].floating if it.attr == fname), None)
    if item is None:
        return _plain(value)
    if isinstance(item, Group):
        members = {mb.attr: mb for mb in item.members}
        parts = {a: (mb if isinstance(mb, Group) else _member_info(mb)) for a, mb in members.items()}
        what = f"{item.cls.__name__} member of {mt.name}.{fname}"
    else:
        parts = {n: (k, size, False) for n, k, size in _NAMED_PARTS[item.kind.name]}
        what = f"part of a {item.kind.name} (name, value{', index' if item.kind.name == 'NAMEDARRAY' else ''})"
    out = []
    for i, inst in enumerate(value):
        p = path + (i,)
        if not isinstance(inst, dict):
            ctx.err(p, f"{fname}[{i}] must be a mapping of {', '.join(parts)}, got {_type_name(inst)}")
            continue
        got = {}
        for key, v in inst.items():
            if key not in parts:
                ctx.err(p + (key,), _unknown(what, key, parts))
                continue
            info = parts[key]
            if isinstance(info, Group):
                if not isinstance(v, list):
                    ctx.err(p + (key,), f"{key} is a repeated field: give a list, got {_type_name(v)}")
                    continue
                got[key] = _repeated_group(ctx, mt, info, v, p + (key,), request)
            else:
                got[key] = _field_value(ctx, mt, key, v, p + (key,), request, info=info, booleans=False)
        if not isinstance(item, Group):
            missing = [n for n in parts if n not in inst]
            if missing:
                ctx.err(p, f"{fname}[{i}] needs {' and '.join(missing)}")
        out.append(got)
    return out


def _repeated_group(ctx: _Ctx, mt: Any, group: Any, value: list, path: tuple[Any, ...], request: Any) -> Any:
    """A nested group's instances (see :func:`_repeated_value`)."""
    from mockcti.wire.spec import Group

    members = {mb.attr: mb for mb in group.members}
    out = []
    for i, inst in enumerate(value):
        if not isinstance(inst, dict):
            ctx.err(path + (i,), f"{group.attr}[{i}] must be a mapping of {', '.join(members)}, got {_type_name(inst)}")
            continue
        got = {}
        for key, v in inst.items():
            mb = members.get(key)
            if mb is None:
                ctx.err(path + (i, key), _unknown(f"{group.cls.__name__} member", key, members))
            elif isinstance(mb, Group):
                got[key] = _repeated_group(ctx, mt, mb, v, path + (i, key), request) if isinstance(v, list) else v
            else:
                got[key] = _field_value(ctx, mt, key, v, path + (i, key), request, info=_member_info(mb),
                                        booleans=False)
        out.append(got)
    return out


def _field_value(ctx: _Ctx, mt: Any, fname: str, value: Any, path: tuple[Any, ...], request: Any,
                 info: tuple[str, int | None, bool] | None = None, *, booleans: bool = True) -> Any:
    """Check (and resolve names in) one field value of message ``mt`` (``info``: of a group member).
    ``booleans`` False (a field an ``emit``/``reply`` sends): a boolean in an integer field is an error,
    not 1/0 (YAML reads ``yes``, ``no``, ``on``, ``off`` as booleans too: ``agent_state: no`` sent 0), unless the
    guide types the field BOOL (:func:`_bool_fields`)."""
    if info is None:
        info = _field_info(mt).get(fname)
    if info is None:
        return value
    kind, size, signed = info
    if isinstance(value, str) and "${" in value:
        if not ctx.reference(value, path, request):
            return None
        if m.references(value):
            return m.BytesText(value) if kind == "bytes" else value
    if kind == "int":
        if isinstance(value, bool):
            if not booleans and fname not in _bool_fields(mt):
                ctx.err(path, f"{fname} is an integer field, got a boolean ({str(value).lower()}; YAML reads "
                              f"true/false, yes/no and on/off as one): give the number ({int(value)} if that "
                              f"is meant), or quote the text")
                return None
            return int(value)
        if isinstance(value, str):
            key = value.strip()
            if re.fullmatch(r"-?\d{1,20}", key):
                value = int(key)
            else:
                enum_cls = _field_enum(mt, fname)
                if enum_cls is not None:
                    return _name_in_domain(ctx, mt, fname, enum_cls, key, path)
                enums = _enum_names()
                if key in enums:
                    if enums[key] is None:
                        ctx.err(path, f"{key} names different values in different enumerations; give the number")
                        return None
                    return enums[key]
                entry = ctx.catalog.get(key)
                if entry is not None:
                    return _catalog_value(ctx, entry, path)
                ctx.err(path, f"{fname} is an integer field: give a number, an enum or catalog name, or ${{name}}; "
                              f"unknown name {_short(value)}{number_text_hint(value, integer=True)}")
                return None
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)
        if not isinstance(value, int):
            ctx.err(path, f"{fname} is an integer field, got {_type_name(value)}")
            return None
        wire = _wire_int(size, signed, value)
        if wire is None:
            ctx.err(path, f"{value} does not fit in {fname} ({size} byte(s)): give {_int_bounds(size)}")
        return wire
    if kind == "str":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            ctx.err(path, f"{fname} is a text field, got {_type_name(value)}")
            return None
        if size and len(value.encode("utf-8", "surrogatepass")) > size - 1:
            ctx.err(path, f"{fname} holds at most {size - 1} bytes, got {len(value.encode('utf-8', 'surrogatepass'))}")
        return value
    if kind == "bytes":  # UNSPEC: the text's UTF-8 bytes (compared and sent as bytes)
        if not isinstance(value, str):
            ctx.err(path, f"{fname} is a bytes field: give text, got {_type_name(value)}")
            return None
        data = value.encode("utf-8", "surrogatepass")
        if size and len(data) > size:
            ctx.err(path, f"{fname} holds at most {size} bytes, got {len(data)} (UTF-8)")
        return data
    if not isinstance(value, list):
        ctx.err(path, f"{fname} is a repeated field: give a list, got {_type_name(value)}")
        return None
    ctx.reference(value, path, request)
    return _plain(value)


def _fields(ctx: _Ctx, mt: Any, raw: Any, path: tuple[Any, ...], request: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if mt is None or not raw:
        return out
    info = _field_info(mt)
    for fname, value in raw.items():
        if fname not in info:
            ctx.err(path + (fname,), _unknown(f"field of {mt.name}", fname, info))
            continue
        out[fname] = _field_value(ctx, mt, fname, value, path + (fname,), request, booleans=False)
        if info[fname][0] == "tuple" and isinstance(value, list) and out[fname] is not None:
            out[fname] = _repeated_value(ctx, mt, fname, value, path + (fname,), request)
    _named_total(ctx, out, path)
    return out


def _named_total(ctx: _Ctx, fields: dict[str, Any], path: tuple[Any, ...]) -> None:
    """All NamedVariables and NamedArrays of one message together: at most 2,000 bytes (reference §1,
    each name and value with its NUL, an element's index byte); ``${…}`` values count as empty."""
    from mockcti.wire.types import MAX_NAMED_DATA

    def size(v: Any) -> int:
        return 0 if not isinstance(v, str) or m.references(v) else len(v.encode("utf-8", "surrogatepass"))

    total = 0
    for fname, extra in (("named_variables", 2), ("named_arrays", 3)):
        for inst in fields.get(fname) or ():
            if isinstance(inst, dict):
                total += extra + size(inst.get("name")) + size(inst.get("value"))
    if total > MAX_NAMED_DATA:
        key = "named_arrays" if fields.get("named_arrays") else "named_variables"
        ctx.err(path + (key,), f"the named variables and arrays of one message are {total} bytes; at most "
                               f"{MAX_NAMED_DATA} (each name and value with its NUL, an element's index byte)")


def _predicates(ctx: _Ctx, mt: Any, raw: Any, path: tuple[Any, ...], request: Any) -> tuple[m.Predicate, ...]:
    out: list[m.Predicate] = []
    if mt is None or not raw:
        return ()
    info = _field_info(mt)
    for fname, spec in raw.items():
        p = path + (fname,)
        if fname not in info:
            ctx.err(p, _unknown(f"field of {mt.name}", fname, info))
            continue
        loc = ctx.loc(p)
        if spec in ("present", "absent"):
            out.append(m.Predicate(fname, spec, True, loc))
            continue
        if isinstance(spec, bool) and info[fname][0] == "int" and info[fname][1] not in (None, 2):
            # call_id: true meant "the request carries call_id", and tested CallID == 1
            ctx.err(p, f"{fname} is a number ({info[fname][1]} bytes), got {str(spec).lower()}: give a number, or "
                       f"{'present' if spec else 'absent'} to ask whether the request carries it")
            continue
        if not isinstance(spec, dict):
            out.append(m.Predicate(fname, "equals", _field_value(ctx, mt, fname, spec, p, request), loc))
            continue
        for op, val in spec.items():
            op_path = p + (op,)
            oloc = ctx.loc(op_path)
            if op in ("present", "absent"):
                real = op if val else ("absent" if op == "present" else "present")
                out.append(m.Predicate(fname, real, True, oloc))
            elif op == "regex":
                # ${name} stands for the value, matched literally (escaped, substituted at each test):
                # checked here with a stand-in value
                ctx.reference(val, op_path, request)
                refs = m.references(val)
                try:
                    pat = re.compile(m.regex_text(val, dict.fromkeys(refs, "x")))
                except (re.error, RecursionError, OverflowError, ValueError) as exc:
                    ctx.err(op_path, f"bad regular expression: {exc}"
                                     + (" (each ${name} standing for a value)" if refs else ""))
                    continue
                enum_cls = None if refs else _field_enum(mt, fname)
                if enum_cls is not None:
                    members = enum_cls.__members__
                    if any(pat.search(n) for n in members) and not any(pat.search(str(int(v))) for v in members.values()):
                        # (the field's value is a number: a pattern written for its names never matched)
                        ctx.err(op_path, f"{fname} is a number ({enum_cls.__name__}): a regex sees its digits, not "
                                         f"its name, so {val!r}, written for names, would not match them; list the names with in or not_in")
                        continue
                out.append(m.Predicate(fname, "regex", val, oloc, None if refs else pat))
            elif op in ("min", "max"):
                if isinstance(val, float) and not math.isfinite(val):
                    ctx.err(op_path, "must be a finite number")
                    continue
                kind = info[fname][0]
                if kind != "int":  # the condition holds for numbers only: it never would
                    what = {"str": "a text", "bytes": "a bytes", "tuple": "a repeated"}.get(kind, "not a number")
                    ctx.err(op_path, f"{op} compares numbers and {fname} is {what} field: it would never hold "
                                     f"(match text with regex or in)")
                    continue
                lo, hi = spec.get("min"), spec.get("max")
                if op == "min" and isinstance(lo, (int, float)) and isinstance(hi, (int, float)) \
                        and not isinstance(lo, bool) and not isinstance(hi, bool) and lo > hi:
                    # (both numbers, finite: max is checked as min is) no value is in lo..hi
                    ctx.err(op_path, f"min {lo} is greater than max {hi}: the condition would never hold")
                    continue
                out.append(m.Predicate(fname, op, val, oloc))
            elif op in ("in", "not_in"):
                vals = tuple(_field_value(ctx, mt, fname, v, op_path + (i,), request) for i, v in enumerate(val))
                out.append(m.Predicate(fname, op, vals, oloc))
            else:
                out.append(m.Predicate(fname, op, _field_value(ctx, mt, fname, val, op_path, request), oloc))
    return tuple(out)


def _server_message(name: str) -> str:
    """Why a server message cannot be matched (the schema offers only client messages there too)."""
    # the session refuses one a client sends (PROTO-WRONG-DIRECTION) before the scenario sees it
    return (f"{name} is a server message: what is matched here is a request the client sends, and a "
            f"client's {name} is refused before the scenario sees it (this would never match)")


def _match(ctx: _Ctx, raw: Any, path: tuple[Any, ...], *, with_state: bool = True) -> m.Match | None:
    mt = ctx.message(raw.get("message"), path + ("message",))
    if mt is not None:
        from mockcti.wire.spec import SPECS

        if SPECS[mt].direction != "C->S":
            ctx.err(path + ("message",), _server_message(mt.name))
    states = None
    if with_state and "state" in raw:
        st = raw["state"]
        states = tuple(st) if isinstance(st, list) else (st,)
        for i, s in enumerate(states):
            ctx.state(s, path + ("state",) + ((i,) if isinstance(st, list) else ()))
    agent = raw.get("agent")
    if agent is not None:
        ctx.agent(agent, path + ("agent",))
    preds = _predicates(ctx, mt, raw.get("fields"), path + ("fields",), mt)
    if mt is None:
        return None
    return m.Match(mt, preds, states, agent, ctx.loc(path))


# -- actions ---------------------------------------------------------------------------------------


def _actions(ctx: _Ctx, raw: Any, path: tuple[Any, ...], request: Any) -> tuple[m.Action, ...]:
    out: list[m.Action] = []
    for i, item in enumerate(raw):
        p = path + (i,)
        if isinstance(item, str):
            item = {item: {}}
        (kind, body), = item.items()
        if kind == "use":
            out.extend(_use(ctx, body, p + ("use",), request))
            continue
        act = _action(ctx, kind, body, p + (kind,), request)
        if act is not None:
            out.append(act)
    return tuple(out)


def _use(ctx: _Ctx, name: str, path: tuple[Any, ...], request: Any) -> tuple[m.Action, ...]:
    if name not in ctx.templates_raw:
        if "templates" not in ctx.incomplete:
            ctx.err(path, _unknown("template", name, ctx.templates_raw))
        return ()
    if name in ctx.template_stack:
        chain = " -> ".join([*ctx.template_stack[ctx.template_stack.index(name):], name])
        ctx.err(path, f"template cycle: {chain}")
        return ()
    ctx.template_stack.append(name)
    ctx.via.append(_fmt_path(_own_path(ctx.doc, path)))
    try:
        return _actions(ctx, ctx.templates_raw[name], ("templates", name), request)
    finally:
        ctx.template_stack.pop()
        ctx.via.pop()


def _needs_request(ctx: _Ctx, request: Any, path: tuple[Any, ...], what: str) -> bool:
    if request is None:
        ctx.err(path, f"{what} needs a request to answer; use it in rules (then/responses) or expect steps (respond)")
        return False
    return True


def _action(ctx: _Ctx, kind: str, body: Any, path: tuple[Any, ...], request: Any) -> m.Action | None:
    loc = ctx.loc(path)
    if kind == "reply":
        if not _needs_request(ctx, request, path, "reply"):
            return None
        mt = ctx.message(body["message"], path + ("message",))
        if mt is not None:
            from mockcti.wire.spec import SPECS

            if SPECS[mt].direction != "S->C":
                ctx.err(path + ("message",), f"{mt.name} is a client message; a reply is a server message")
        fields = _fields(ctx, mt, body.get("fields"), path + ("fields",), request)
        return m.Reply(mt, fields, loc) if mt is not None else None
    if kind == "emit":
        return _emit(ctx, body, path, request, loc)
    if kind in ("fail", "failure_event"):
        return _fail(ctx, kind, body, path, request, loc)
    if kind == "delay":
        return m.Delay(float(body["seconds"]), loc)
    if kind == "fault":
        return _fault(ctx, body, path, session_wide=False)
    if kind == "close":
        return m.Close(bool(body.get("abort", False)), loc)
    if kind == "goto":
        ctx.state(body["state"], path + ("state",))
        return m.Goto(body["state"], loc)
    if kind == "default":
        return m.Default(loc) if _needs_request(ctx, request, path, "default") else None
    if kind == "capture":
        if not _needs_request(ctx, request, path, "capture"):
            return None
        return m.Capture(ctx.capture_names(body, path, request), loc)
    if kind == "deliver_call":
        if "agent" in body:
            ctx.agent(body["agent"], path + ("agent",))
        if "csq" in body and body["csq"] not in ctx.csqs and "center" not in ctx.incomplete:
            ctx.err(path + ("csq",), _unknown("CSQ", body["csq"], ctx.csqs))
        if "agent" not in body and "csq" not in body:
            ctx.err(path, "deliver_call needs agent or csq")
        for k in ("ani", "dnis"):
            if k in body:
                ctx.reference(body[k], path + (k,), request)
        for k, v in (body.get("call_variables") or {}).items():
            ctx.reference(v, path + ("call_variables", k), request)
        named_ok = True
        for k, v in (body.get("named_variables") or {}).items():
            named_ok &= ctx.reference(v, path + ("named_variables", k), request)
        for k, vs in (body.get("named_arrays") or {}).items():
            for i, v in enumerate(vs if isinstance(vs, list) else ()):
                named_ok &= ctx.reference(v, path + ("named_arrays", k, i), request)
        _call_data(ctx, path, body.get("ani"), body.get("dnis"), body.get("call_variables"), "call_variables")
        if named_ok:
            _named_data(ctx, path, body.get("named_variables"), body.get("named_arrays"))
        caps = ctx.capture_names(body.get("capture") or {}, path + ("capture",), request,
                                 sources=("call_id", "connection_device_id", "ani", "dnis"))
        arrays = body.get("named_arrays") or {}
        return m.DeliverCall(body.get("agent"), body.get("csq"), body.get("ani"), body.get("dnis"),
                             dict(body.get("call_variables") or {}),
                             named_variables=dict(body.get("named_variables") or {}),
                             named_arrays={k: tuple(v) if isinstance(v, list) else v for k, v in arrays.items()},
                             capture=caps, loc=loc)
    if kind == "hang_up":
        ok = all(ctx.reference(body[k], path + (k,), request) for k in ("call", "device") if k in body)
        call = body["call"]
        if ok and isinstance(call, str) and not m.references(call) and not call.isdecimal():
            ctx.err(path + ("call",), f"{call!r} is not a CallID (a number, or ${{variable}} holding one)")
        return m.HangUp(call, body.get("device"), loc)
    if kind == "set_agent_state":
        from mockcti.wire.enums import AgentState

        ctx.agent(body["agent"], path + ("agent",))
        name = _agent_state_name(body["state"])  # (the schema lets only the settable states through)
        return m.SetAgentState(body["agent"], name, int(AgentState[name]), body.get("reason_code"), loc)
    if kind == "system_event":
        from mockcti.wire.enums import CCXStatus, PGStatus, SystemEventID

        status = body.get("ccx_status")
        if isinstance(status, str):
            # the first field as the profile's clients read it: UCCX's CCXStatus, ICM's PGStatus under ucce
            names, other = (PGStatus, CCXStatus) if ctx.profile == "ucce" else (CCXStatus, PGStatus)
            if status in names.__members__:
                status = int(names[status])
            elif status in other.__members__:
                ctx.err(path + ("ccx_status",), f"{status} is a {other.__name__} value: under the {ctx.profile} "
                        f"profile the first field of SYSTEM_EVENT is {names.__name__} ("
                        + ("ICM's PGStatus, a bit per failure, 0 when all is well" if names is PGStatus else
                           "UCCX's CCXStatus, an enumerated value, CCX_IN_SERVICE when all is well")
                        + f"); allowed: {', '.join(sorted(names.__members__))}")
                status = None
            else:
                ctx.err(path + ("ccx_status",), _unknown(names.__name__, status, names.__members__))
                status = None
        elif status is not None and not 0 <= status < 1 << 32:
            ctx.err(path + ("ccx_status",), f"{status} does not fit in a UINT")
            status = None
        ctx.reference(body.get("text"), path + ("text",), request)
        from mockcti.wire.enums import MessageType

        _text(ctx, MessageType.SYSTEM_EVENT, body.get("text"), path + ("text",))
        return m.SystemEvent(body["id"], int(SystemEventID[body["id"]]), body.get("text"), status,
                             ctx.target(body.get("to", "all"), path + ("to",), request), loc)
    if kind == "failover":
        return m.Failover(float(body["seconds"]), loc)
    ctx.err(path, _unknown("action", kind, ("reply", "fail", "emit", "delay", "fault", "close", "goto", "default",
                                            "capture", "use", "deliver_call", "hang_up", "set_agent_state",
                                            "system_event",
                                            "failure_event", "failover")))
    return None


def _literal(value: Any) -> bool:
    """Whether ``value`` is text known at load time (no ``${substitution}``, checked when used)."""
    return isinstance(value, str) and not m.references(value)


def _sent(value: str) -> str:
    """The text a literal ``value`` is sent as: its ``$${`` escapes are a ``${`` by then (the engine
    substitutes every value), one byte less than written."""
    return m.substitute(value, {}) if "$" in value else value


def _call_data(ctx: _Ctx, path: tuple[Any, ...], ani: Any, dnis: Any, variables: Any, vkey: str) -> None:
    """Refuse caller's data no call event can carry (README: a call variable is ``call_variable1``
    .. ``call_variable10``; ANI, DNIS and each variable within BEGIN_CALL_EVENT's maximums, in UTF-8
    bytes): the center's own check (:func:`mockcti.center.config.check_call_data`), one field at a time so
    that every bad one is located. A value with a ``${substitution}`` is checked when it is used."""
    from mockcti.center.config import CallDataError, check_call_data

    check = check_call_data
    for key, value in (("ani", ani), ("dnis", dnis)):
        if _literal(value):
            try:
                check(_sent(value) if key == "ani" else "", _sent(value) if key == "dnis" else "", None)
            except CallDataError as exc:
                ctx.err(path + (key,), str(exc))
    if not isinstance(variables, dict):
        return
    for name, value in variables.items():
        p = path + (vkey, name)
        try:
            check("", "", {name: ""})  # the name
        except CallDataError as exc:
            ctx.err(p, str(exc))
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if _literal(value):
            try:
                check("", "", {name: _sent(value)})
            except CallDataError as exc:
                ctx.err(p, str(exc))
        elif not isinstance(value, str):
            ctx.err(p, f"{name} must be text, got {_type_name(value)}")


def _named_data(ctx: _Ctx, path: tuple[Any, ...], named_variables: Any, named_arrays: Any) -> None:
    """Refuse a deliver_call's named variables and arrays no call event can carry: the center's own
    check (:func:`mockcti.center.config.named_call_data`), one name and value at a time so that every
    bad one is located, then all together (their 2,000 bytes). A value holding a ``${substitution}``
    counts as empty here (the least it can be) and is checked again when it is used. (``center.calls``
    are checked by the center's configuration, :meth:`CenterConfig.from_mapping`.)"""
    from mockcti.center.config import CallDataError, named_call_data

    def known(v: Any) -> Any:  # the value as sent, or "" (the least it can be) when substituted at run time
        if isinstance(v, str):
            return _sent(v) if _literal(v) else ""
        return v

    probe_v = ({k: known(v) for k, v in named_variables.items()} if isinstance(named_variables, dict)
               else named_variables)
    probe_a = ({k: [known(v) for v in vs] if isinstance(vs, list) else vs for k, vs in named_arrays.items()}
               if isinstance(named_arrays, dict) else named_arrays)
    failed = False
    one: list[tuple[Any, Any]] = [(probe_v, None)] if not isinstance(probe_v, dict) else \
        [({k: v}, None) for k, v in probe_v.items()]
    one += [(None, probe_a)] if not isinstance(probe_a, dict) else [(None, {k: v}) for k, v in probe_a.items()]
    for nv, na in one:
        try:
            named_call_data(nv, na)
        except CallDataError as exc:
            ctx.err(path + exc.path, str(exc))
            failed = True
    if not failed:
        try:
            named_call_data(probe_v, probe_a)
        except CallDataError as exc:
            ctx.err(path + exc.path, str(exc))


def _text(ctx: _Ctx, mt: Any, value: Any, path: tuple[Any, ...]) -> None:
    """Refuse literal Text that ``mt`` (SYSTEM_EVENT, FAILURE_CONF ...) cannot carry: its maximum
    in UTF-8 bytes, from the message spec (the NUL excluded)."""
    size = _field_info(mt).get("text", ("", None, False))[1]
    if size and _literal(value):
        n = len(_sent(value).encode("utf-8", "surrogatepass"))
        if n > size - 1:
            ctx.err(path, f"{mt.name} Text holds at most {size - 1} bytes (UTF-8), got {n}")


def _agent_state_name(state: str) -> str:
    from mockcti.wire.enums import AgentState

    return state if state in AgentState.__members__ else f"AGENT_STATE_{state}"


def _emit(ctx: _Ctx, body: Any, path: tuple[Any, ...], request: Any, loc: m.Location) -> m.Emit | None:
    mt = ctx.message(body["message"], path + ("message",))
    if mt is not None:
        from mockcti.wire.spec import SPECS

        if SPECS[mt].direction != "S->C":
            ctx.err(path + ("message",), f"{mt.name} is a client message; the server can only send server messages")
    fields = _fields(ctx, mt, body.get("fields"), path + ("fields",), request)
    to = ctx.target(body.get("to", "requester"), path + ("to",), request)
    return m.Emit(mt, fields, to, loc) if mt is not None else None


def _fail(ctx: _Ctx, kind: str, body: Any, path: tuple[Any, ...], request: Any, loc: m.Location) -> m.Fail | None:
    if kind == "failure_event":
        fkind = "FAILURE_EVENT"
    else:
        fkind = body.get("kind") or ("CONTROL_FAILURE_CONF" if "failure_code" in body else "FAILURE_CONF")
        if fkind != "FAILURE_EVENT" and not _needs_request(ctx, request, path, fkind):
            return None
    status = failure = periph = text_code = None
    ok = True
    if fkind in ("FAILURE_CONF", "FAILURE_EVENT"):
        if "status" not in body:
            ctx.err(path, f"{fkind} needs status (an E_CTI_* name)")
            ok = False
        for k in ("failure_code", "peripheral_error_code"):
            if k in body:
                ctx.err(path + (k,), f"{k} belongs to CONTROL_FAILURE_CONF, not {fkind}")
                ok = False
    else:
        if "failure_code" not in body:
            ctx.err(path, "CONTROL_FAILURE_CONF needs failure_code (a CF_* name)")
            ok = False
        if "status" in body:
            ctx.err(path + ("status",), "status belongs to FAILURE_CONF and FAILURE_EVENT; "
                                        "CONTROL_FAILURE_CONF carries failure_code")
            ok = False
    if "status" in body:
        status = ctx.catalog_name(body["status"], ("uccx_status",), "E_CTI status", path + ("status",))
        ok = ok and status is not None
    if "failure_code" in body:
        failure = ctx.catalog_name(body["failure_code"], ("uccx_cf",), "CF failure code", path + ("failure_code",))
        ok = ok and failure is not None
    pvalue = None
    if "peripheral_error_code" in body:
        pe = body["peripheral_error_code"]
        if isinstance(pe, str) and re.fullmatch(r"-?\d{1,20}", pe.strip()):
            pe = int(pe.strip())  # a number quoted, as a raw field takes it
        if isinstance(pe, int) and not isinstance(pe, bool):
            # either form of the 32 bits: -1932787697 (JTAPI, as Java logs print it) is 0x8CCC000F
            pvalue = _wire_int(4, False, pe)
            if pvalue is None:
                ctx.err(path + ("peripheral_error_code",),
                        f"{pe} does not fit in a UINT (CCXErrorCode): give {_int_bounds(4)} "
                        f"(a negative number is the 32 bits' two's complement, as JTAPI prints it)")
                ok = False
            elif (why := _uncatalogued_error_code(ctx, pe, pvalue)) is not None:
                ctx.err(path + ("peripheral_error_code",), why)
                ok = False
        else:
            periph = ctx.catalog_name(pe, ("uccx_ccx", "cisco_ctierr"), "UCCX error code or CTIERR code",
                                      path + ("peripheral_error_code",), takes_numbers=True)
            ok = ok and periph is not None
            pvalue = periph.code if periph is not None else None
    elif fkind == "CONTROL_FAILURE_CONF":
        pvalue = 0
    if "text_code" in body:
        text_code = ctx.catalog_name(body["text_code"], ("cn_ngcc",), "seed-000 (cn_ngcc) code", path + ("text_code",))
        ok = ok and text_code is not None
        if "text" in body:  # (one Text field: text won and text_code was silently dropped)
            ctx.err(path + ("text_code",), "text and text_code both give the Text field; keep one (text_code "
                                           "sends the code, its name and its seed-000 text)")
            ok = False
    text = body.get("text")
    if text is not None:
        ctx.reference(text, path + ("text",), request)
        from mockcti.wire.enums import MessageType

        _text(ctx, MessageType[fkind], text, path + ("text",))
    if not ok:
        return None
    return m.Fail(
        kind=fkind,
        status=status.name if status else None, status_code=status.code if status else None,
        failure_code=failure.name if failure else None, failure_code_value=failure.code if failure else None,
        peripheral_error_code=periph.name if periph else None, peripheral_error_value=pvalue,
        text_code=text_code.name if text_code else None, text_code_value=text_code.code if text_code else None,
        text=text, to=ctx.target(body.get("to", "requester"), path + ("to",), request), loc=loc,
    )


#: the catalogs a fail's peripheral_error_code is looked up in, by name or number
_ERROR_CODE_SOURCES = ("uccx_ccx", "cisco_ctierr")


def _uncatalogued_error_code(ctx: _Ctx, given: int, value: int) -> str | None:
    """Why the number ``given`` (``value`` on the wire) cannot be a fail's ``peripheral_error_code``:
    no catalog it is looked up in has it. As the fail's status and CF code (names only), a fail sends
    catalogued codes; a number no catalog names goes in a ``reply``'s fields, sent as written. A
    catalogued number is taken, a client-side one too (its refusal by name says to give the number)."""
    entries = [ctx.catalog.lookup(s, value) for s in _ERROR_CODE_SOURCES]
    if any(not e.unknown for e in entries):
        return None
    shown = f"{given} (0x{value:08X})" if value > 0xFFFF else str(given)
    notes = "; ".join(dict.fromkeys(f"{e.source}: {e.notes.rstrip('.')}" for e in entries if e.notes))
    return (f"{shown} is not a code of {' or '.join(_ERROR_CODE_SOURCES)}, the catalogs a peripheral_error_code "
            f"is looked up in (`mockcti catalog --source uccx_ccx`, `--source cisco_ctierr` list them)" + (f"; {notes}" if notes else "")
            + f"; to send a number no catalog names, reply with the message as written: {{reply: {{message: "
            f"CONTROL_FAILURE_CONF, fields: {{failure_code: CF_GENERIC_OPERATION, ccx_error_code: {given}}}}}}}")


def _fault(ctx: _Ctx, body: Any, path: tuple[Any, ...], *, session_wide: bool) -> m.Fault | None:
    kind = body["kind"]
    layer = next(lay for lay, kinds in m.FAULT_KINDS.items() if kind in kinds)
    ok = True
    if "layer" in body and body["layer"] != layer:
        ctx.err(path + ("layer",), f"{kind} is a {layer} fault, not {body['layer']}; "
                                   f"{body['layer']} kinds: {', '.join(m.FAULT_KINDS[body['layer']])}")
        ok = False
    params = dict(body.get("params") or {})
    allowed = m.FAULT_PARAMS[kind]
    for k in params:
        if k not in allowed:
            ctx.err(path + ("params", k), f"{kind} takes no parameter {k!r}; "
                                          + ("allowed: " + ", ".join(allowed) if allowed else "it takes none"))
            ok = False
    if "message" in params:
        mt = ctx.message(params["message"], path + ("params", "message"))
        params["message"] = mt
    messages = None
    if not session_wide:
        for k in ("probability", "messages"):
            if k in body:
                ctx.err(path + (k,), f"{k} is for session-wide faults (the faults key), not fault actions")
                ok = False
    elif "messages" in body:
        messages = tuple(ctx.message(n, path + ("messages", i)) for i, n in enumerate(body["messages"]))
    if not ok:
        return None
    return m.Fault(layer, kind, params, float(body.get("probability", 1.0)), messages, ctx.loc(path))


# -- the whole document ----------------------------------------------------------------------------


def _center(ctx: _Ctx, raw: Any) -> dict[str, Any] | None:
    if raw is None:
        try:  # the embedded default center, if the center package offers it
            from mockcti.center import default_center  # type: ignore[attr-defined]

            cfg = default_center()
            ids = {str(getattr(a, "id", None) or getattr(a, "agent_id")) for a in cfg.agents}
            names = {str(c.name) for c in cfg.csqs}
            if ids:
                ctx.agents, ctx.csqs = ids, names or ctx.csqs
                ctx.phones = {str(dev): str(a.id) for a in cfg.agents for dev in (a.extension, a.instrument) if dev}
        except Exception:  # noqa: BLE001 - the center package is optional for loading; README defaults apply
            pass
        return None
    # a center given replaces the default one whole: what it leaves out it does not have (names
    # checked against the default center's agents and CSQs loaded fine and failed when they ran)
    ctx.agents, ctx.csqs = set(), set()
    if "agents" in raw:
        for i, a in enumerate(raw["agents"]):
            aid = a["id"]
            if aid in ctx.agents:
                ctx.err(("center", "agents", i, "id"), f"duplicate agent id {aid!r}")
            ctx.agents.add(aid)
            for key in ("extension", "instrument"):
                if isinstance(a.get(key), (str, int)) and not isinstance(a.get(key), bool):
                    ctx.phones.setdefault(str(a[key]), str(aid))
    if "csqs" in raw:
        csq_ids: set[int] = set()
        for i, c in enumerate(raw["csqs"]):
            if c["name"] in ctx.csqs:
                ctx.err(("center", "csqs", i, "name"), f"duplicate CSQ name {c['name']!r}")
            ctx.csqs.add(c["name"])
            if "id" in c:
                if c["id"] in csq_ids:
                    ctx.err(("center", "csqs", i, "id"), f"duplicate CSQ id {c['id']}")
                csq_ids.add(c["id"])
    for i, a in enumerate(raw.get("agents", [])):
        for j, q in enumerate(a.get("csqs", [])):
            if q not in ctx.csqs and "center" not in ctx.incomplete:
                ctx.err(("center", "agents", i, "csqs", j), _unknown("CSQ", q, ctx.csqs))
    for i, c in enumerate(raw.get("calls", [])):
        ctx.agent(c["agent"], ("center", "calls", i, "agent"))
        _call_data(ctx, ("center", "calls", i), c.get("ani"), None, c.get("variables"), "variables")
        if "csq" in c and c["csq"] not in ctx.csqs and "center" not in ctx.incomplete:
            ctx.err(("center", "calls", i, "csq"), _unknown("CSQ", c["csq"], ctx.csqs))
        ctx.call_captures.append(ctx.capture_names(c.get("capture") or {}, ("center", "calls", i, "capture"), None,
                                                   sources=("call_id", "connection_device_id", "ani", "dnis")))
    plain = _center_shape(raw)
    _center_checks(ctx, plain)
    return plain


def _center_shape(raw: Any) -> Any:
    """A scenario's ``center:`` as plain data of a center file's shape (a call's ``capture`` left out)."""
    plain = _plain(raw)
    calls = plain.get("calls") if isinstance(plain, dict) else None
    for c in calls if isinstance(calls, list) else []:
        if isinstance(c, dict):
            c.pop("capture", None)  # the rest is exactly a center file's shape
    return plain


def _center_checks(ctx: _Ctx, plain: Any) -> None:
    """The center's own checks (:meth:`CenterConfig.from_mapping`) of the center: of the whole
    ``center:`` as written when schema errors cut parts of it (:attr:`_Ctx.written_center`: the
    center's checks say what follows from a wrong value no more than once), without what a schema
    error already says."""
    doc = None  # (the center checked is the document's own: its paths are into ctx.doc)
    if ctx.written_center is not None:
        plain, doc = ctx.written_center, ctx.written_doc  # (its paths are into the merged document, uncut)
    try:  # the center's own checks, when the center package is present
        from mockcti.center.config import CenterConfig, CenterConfigError
    except ImportError:
        return
    def where(path: tuple[Any, ...]) -> str:  # (another agent a message names: its key path, file and line)
        f, line, key_path = ctx.where(path, doc)
        if line is None:
            return key_path
        return f"{key_path}, " + (f"line {line}" if f == ctx.file else f"{f}:{line}")

    try:
        CenterConfig.from_mapping(plain, base="center", where=where)
    except CenterConfigError as exc:
        for e in exc.errors:  # every mistake the center's checks found
            parts = e.path or ("center",)
            if ctx.written_center is not None and (e.reference or ctx.said_by_schema(parts, e.reason)):
                continue  # (a name is checked above, knowing what the schema errors cut)
            if not ctx.has_error_at(parts, doc):  # (said once, by the checks above)
                ctx.err(parts, e.reason, doc)


def _unique_id(ctx: _Ctx, used: set[str], given: Any, auto: str, path: tuple[Any, ...]) -> str:
    ident = given if given is not None else auto
    if ident in used:
        ctx.err(path + ("id",) if given is not None else path, f"duplicate id {ident!r}")
    used.add(ident)
    return ident


def _build(ctx: _Ctx, doc: LDict, files: list[str]) -> m.Scenario:
    # first: which codes a fail may send depends on the profile (uccx: no icm_only E_CTI status)
    ctx.profile = (doc.get("dialect") or {}).get("profile", "uccx")
    ctx.states = tuple(doc.get("states") or ("start",))
    seen_states: set[str] = set()
    for i, s in enumerate(ctx.states):
        if s in seen_states:
            ctx.err(("states", i), f"duplicate state {s!r}")
        seen_states.add(s)
    center = _center(ctx, doc.get("center"))
    if "center" not in doc and isinstance(ctx.written_center, dict):  # (a schema error cut it whole)
        _center_checks(ctx, ctx.written_center)

    dialect_raw = doc.get("dialect") or {}
    from mockcti.wire.dialect import PROFILES

    prof = PROFILES[ctx.profile]
    lo, hi = dialect_raw.get("min_version"), dialect_raw.get("max_version")
    for key, v in (("min_version", lo), ("max_version", hi)):
        if v is not None and not prof.min_version <= v <= prof.max_version:
            ctx.err(("dialect", key), f"version {v} is outside the {prof.name} profile "
                                      f"({prof.min_version}-{prof.max_version})")
    if lo is not None and hi is not None and lo > hi:
        ctx.err(("dialect", "min_version"), f"min_version {lo} is greater than max_version {hi}")
    dialect = m.DialectSpec(prof.name, lo, hi, ctx.loc(("dialect",)), given=doc.get("dialect") is not None)
    retry_loop = None
    retry_raw = doc.get("retry_loop")
    if retry_raw is not None:
        if retry_raw.get("times") == 1:
            ctx.err(("retry_loop", "times"), "times 1 would call a single refused request a loop: write 2 or more, "
                                             "or 0 to turn PROTO-RETRY-LOOP off")
        retry_loop = m.RetryLoopSpec(retry_raw.get("times"), _f(retry_raw.get("gap")), ctx.loc(("retry_loop",)))

    ctx.templates_raw = dict(doc.get("templates") or {})
    templates = {name: _actions(ctx, acts, ("templates", name), _ANY) for name, acts in ctx.templates_raw.items()}

    rules = []
    used: set[str] = set()
    for i, r in enumerate(doc.get("rules") or []):
        p = ("rules", i)
        rid = _unique_id(ctx, used, r.get("id"), f"rule{i + 1}", p)
        match = _match(ctx, r["when"], p + ("when",))
        mt = match.message if match else _ANY
        caps = ctx.capture_names(r.get("capture") or {}, p + ("capture",), mt)
        then = responses = None
        if ("then" in r) == ("responses" in r):
            ctx.err(p, "a rule needs exactly one of then or responses")
        if "then" in r:
            then = _actions(ctx, r["then"], p + ("then",), mt)
        times = r.get("times")
        if times == 0 and not isinstance(times, bool):  # (not "no limit", as 0 means in some tools)
            ctx.err(p + ("times",), "times 0 takes no request: the rule would never answer; leave times out "
                                    "for no limit, give 1 or more to stop after that many, or remove the rule")
        if "responses" in r:
            responses = tuple(_actions(ctx, acts, p + ("responses", j), mt) for j, acts in enumerate(r["responses"]))
            if isinstance(times, int) and 0 < times < len(r["responses"]):  # (a rule takes no request after `times`)
                ctx.err(p + ("times",), f"times {times} leaves responses[{times}:] unused: the rule takes at most "
                        f"{times} request(s), answered with the first {times} of its {len(r['responses'])} "
                        f"responses; drop times or the responses after it")
        elif "exhausted" in r:
            ctx.err(p + ("exhausted",), "exhausted applies to responses only")
        if match is not None:
            rules.append(m.Rule(rid, match, then, responses, r.get("times"), r.get("exhausted", "default"), caps,
                                r.get("description"), ctx.loc(p)))

    steps: list[m.Step] = []
    used = set()
    step_kinds = ("expect", "send", "wait", "do")
    for i, s in enumerate(doc.get("steps") or []):
        p = ("steps", i)
        sid = _unique_id(ctx, used, s.get("id"), f"step{i + 1}", p)
        given = [k for k in step_kinds if k in s]
        if len(given) != 1:
            ctx.err(p, f"a step has exactly one of expect, send, wait, do; got {', '.join(given) or 'none'}")
            continue
        k = given[0]
        loc = ctx.loc(p)
        if k == "expect":
            e = s["expect"]
            match = _match(ctx, e, p + ("expect",), with_state=False)
            mt = match.message if match else _ANY
            caps = ctx.capture_names(e.get("capture") or {}, p + ("expect", "capture"), mt)
            respond = _actions(ctx, e["respond"], p + ("expect", "respond"), mt) if "respond" in e else None
            if match is not None:
                steps.append(m.ExpectStep(sid, match, caps, _f(e.get("timeout")), respond, loc))
        elif k == "send":
            em = _emit(ctx, s["send"], p + ("send",), None, ctx.loc(p + ("send",)))
            if em is not None:
                steps.append(m.SendStep(sid, em, loc))
        elif k == "wait":
            steps.append(m.WaitStep(sid, float(s["wait"]), loc))
        else:
            steps.append(m.DoStep(sid, _single(ctx, s["do"], p + ("do",)), loc))
    step_ids = {s.id for s in steps} | used

    timeline = []
    used = set()
    for i, h in enumerate(doc.get("timeline") or []):
        p = ("timeline", i)
        hid = _unique_id(ctx, used, h.get("id"), f"happening{i + 1}", p)
        if ("at" in h) == ("after" in h):
            ctx.err(p, "a timeline entry needs exactly one of at or after")
        if "after" in h and h["after"] not in step_ids and "steps" not in ctx.incomplete:
            ctx.err(p + ("after",), _unknown("step id", h["after"], step_ids))
        if "delay" in h and "after" not in h:
            ctx.err(p + ("delay",), "delay goes with after (use at for a time from the start)")
        do = h["do"]
        acts = _single(ctx, do, p + ("do",))
        timeline.append(m.Happening(hid, acts, _f(h.get("at")), h.get("after"), float(h.get("delay", 0.0)), ctx.loc(p)))

    expect = []
    used = set()
    for i, e in enumerate(doc.get("expect") or []):
        p = ("expect", i)
        eid = _unique_id(ctx, used, e.get("id"), f"expect{i + 1}", p)
        match = _match(ctx, e, p, with_state=False)
        lo_n, hi_n = e.get("min"), e.get("max")
        if "times" in e:
            if "min" in e or "max" in e:
                ctx.err(p + ("times",), "times is exact; do not combine it with min or max")
            lo_n = hi_n = e["times"]
        if e.get("never"):
            if any(k in e for k in ("times", "min", "max")):
                ctx.err(p + ("never",), "never means zero times; do not combine it with times, min or max")
            lo_n = hi_n = 0
        if lo_n is None:
            lo_n = 1 if hi_n is None or hi_n >= 1 else 0
        if hi_n is not None and lo_n > hi_n:
            ctx.err(p + ("min",), f"min {lo_n} is greater than max {hi_n}")
        if match is not None:
            expect.append(m.Expectation(eid, match, lo_n, hi_n, ctx.loc(p)))

    faults = []
    for i, f in enumerate(doc.get("faults") or []):
        fault = _fault(ctx, f, ("faults", i), session_wide=True)
        if fault is not None:
            faults.append(fault)

    end_raw = doc.get("end") or {}
    when = end_raw.get("when")
    if when == "all_steps_done" and not doc.get("steps") and "steps" not in ctx.incomplete:
        ctx.err(("end", "when"), "all_steps_done needs steps")
    if "expect" in ctx.incomplete:
        pass  # (an expectation the semantic checks did not read may be the one needed)
    elif when == "all_expectations_met" and not doc.get("expect"):
        ctx.err(("end", "when"), "all_expectations_met needs expect")
    elif when == "all_expectations_met" and expect and all(e.min == 0 for e in expect):
        # each holds before the client sends anything: the scenario ended at the first request
        ctx.err(("end", "when"), "all_expectations_met needs an expectation the client must meet (min 1 or more); "
                "never and min: 0 ones hold from the start (use end: {after: SECONDS} instead)")
    end = m.End(_f(end_raw.get("after")), when, ctx.loc(("end",)))

    # substitutions refer to something defined
    for name, path, request, via in ctx.refs:
        ctx.via = list(via)
        if name in ctx.captures or name in m.BUILTIN_NAMES:
            continue
        number = name.endswith(m.NUMBER_SUFFIX)
        base = name[:-len(m.NUMBER_SUFFIX)] if number else name
        if number and base in ctx.captures:
            continue  # ${captured.number}: the number of a captured enumerated field
        if "captures" in ctx.incomplete and not name.startswith("request."):
            continue  # (it may be captured in a part the semantic checks did not read)
        if name.startswith("request."):
            fld = base[len("request."):]
            if request is None:
                ctx.err(path, f"${{{name}}}: there is no request here (request.* works in rules and expect steps)")
            elif request is not _ANY and fld not in _field_info(request):
                ctx.err(path, _unknown(f"field of {request.name} in ${{{name}}}", fld, _field_info(request)))
            elif number and request is not _ANY and not m.names_values(request, fld):
                ctx.err(path, f"${{{name}}}: {request.name}.{fld} has no names (not an enumerated field): "
                              f"${{{base}}} is its value already")
            continue
        known = sorted(ctx.captures) + sorted(m.BUILTIN_NAMES) + ["request.<field>"]
        ctx.err(path, _unknown("substitution", "${" + name + "}", ["${" + k + "}" for k in known]))
    ctx.via = []

    return m.Scenario(
        name=doc.get("name", ""), description=doc.get("description"), seed=doc.get("seed", 0), dialect=dialect,
        center=center, states=ctx.states, rules=tuple(rules), steps=tuple(steps), timeline=tuple(timeline),
        expect=tuple(expect), expect_order=bool(doc.get("expect_order", False)), faults=tuple(faults), end=end,
        retry_loop=retry_loop, templates=templates, captures=frozenset(ctx.captures), call_captures=tuple(ctx.call_captures), files=tuple(files), loc=ctx.loc(()),
        expect_order_loc=ctx.loc(("expect_order",)),
    )


def _single(ctx: _Ctx, do: Any, path: tuple[Any, ...]) -> tuple[m.Action, ...]:
    """``do`` of a timeline entry or a step: one action (mapping or word) or a list of them."""
    if isinstance(do, list):
        return _actions(ctx, do, path, None)
    if isinstance(do, str):
        do = {do: {}}
    (kind, body), = do.items()
    if kind == "use":
        return _use(ctx, body, path + ("use",), None)
    act = _action(ctx, kind, body, path + (kind,), None)
    return (act,) if act is not None else ()


# -- entry points ----------------------------------------------------------------------------------


def _load(text: str | bytes, file: str, fmt: str) -> m.Scenario:
    read_errors: list[ScenarioError] = []  # a duplicate key: reported with the other errors
    doc = _parse(text, file, fmt, read_errors)
    if doc is None:
        raise ScenarioError("the file is empty; a scenario needs at least a name", file=file, line=1)
    if not isinstance(doc, LDict):
        raise ScenarioError(f"a scenario is a mapping of keys (name, rules, steps ...), got {_type_name(doc)}",
                            file=file, line=getattr(doc, "line", 1))
    files = [file]
    try:
        start = str(Path(file).resolve())
    except (OSError, RuntimeError, ValueError):
        start = file
    doc = _resolve_includes(doc, file, (start,), files, read_errors)
    include_failed = any(isinstance(e, _IncludeError) for e in read_errors)
    cuts: dict[tuple[Any, ...], bool] = {}
    schema_errors = _schema_errors(doc, file, cuts)
    if include_failed:  # (the name, say, may be in the include that could not be read: not asked for)
        schema_errors = [e for e in schema_errors if not (e.path == () and e.message.startswith("missing required key"))]
        cuts.pop((), None)
        if "name" not in doc:
            doc["name"] = "-"
            doc.lines["name"] = (file, None)
    ctx = _Ctx(doc, file)
    scenario = None
    if not schema_errors and not include_failed:
        scenario = _build(ctx, doc, files)
    else:
        ctx.errors = _semantic_errors_beside(doc, file, files, cuts, schema_errors,
                                             incomplete=_WHAT_AN_INCLUDE_DEFINES if include_failed else frozenset())
    errs = sorted(read_errors + schema_errors + ctx.errors, key=lambda e: (e.file != file, e.file, e.line or 0))
    if errs:
        first = errs[0]
        raise ScenarioError(first.message, file=first.file, line=first.line, key_path=first.key_path, errors=errs)
    assert scenario is not None
    return scenario


#: how many times the semantic checks cut what a schema error is in and check the rest again (a
#: cut can leave a list too short, say): past that they are left out
_MAX_CUT_ROUNDS = 4


def _semantic_errors_beside(doc: LDict, file: str, files: list[str], cuts: dict[tuple[Any, ...], bool],
                            schema_errors: list[ScenarioError],
                            incomplete: frozenset[str] = frozenset()) -> list[ScenarioError]:
    """The semantic errors (unknown code names, agents, states …) of what the schema errors leave
    valid: the parts they are in are cut out (:func:`_schema_cut`), and a name that may be defined
    in a part cut out is not called unknown (:attr:`_Ctx.incomplete`). None when what is left is
    still not valid (the schema errors are then all there is to say)."""
    all_cuts = dict(cuts)
    for _ in range(_MAX_CUT_ROUNDS):
        if () in all_cuts:
            return []
        rest = _without(doc, all_cuts)
        more: dict[tuple[Any, ...], bool] = {}
        if not _schema_errors(rest, file, more):
            break
        # (a path here is into ``rest``, whose lists may be shorter: only its top-level keys are cut)
        all_cuts.update({c[:1]: False for c in more})
    else:
        return []
    ctx = _Ctx(rest, file)
    ctx.schema_errors = schema_errors
    ctx.incomplete.update(incomplete)  # (an include that could not be read: what it may define)
    if "center" in doc and any(c[:1] == ("center",) for c in all_cuts):
        ctx.written_center, ctx.written_doc = _center_shape(doc["center"]), doc
    for c, only_key in all_cuts.items():
        if not only_key:  # (an unknown key means nothing: what is around it is read whole)
            ctx.incomplete.add(str(c[0]))
            if c[0] not in _DEFINES_NOTHING:
                ctx.incomplete.add("captures")
    try:
        _build(ctx, rest, files)
    except Exception:  # noqa: BLE001 - checks written for valid documents: the schema errors say enough
        return []
    return ctx.errors


def _guarded(text: str | bytes, file: str, fmt: str) -> m.Scenario:
    try:
        return _load(text, file, fmt)
    except ScenarioError:
        raise
    except RecursionError:  # (MAX_DEPTH is checked while reading; this is only if the stack was already deep)
        raise _too_deep(file, None, where="the loader") from None
    except MemoryError:
        raise ScenarioError("the document is too large", file=file) from None
    except Exception as exc:  # noqa: BLE001 - the promise: nothing but ScenarioError escapes
        raise ScenarioError(f"internal error while loading ({type(exc).__name__}: {exc}); please report it",
                            file=file) from exc


def load_scenario_text(text: str | bytes, *, filename: str = "<scenario>", fmt: str = "yaml") -> m.Scenario:
    """Load a scenario from text (``fmt`` ``yaml`` or ``toml``). Includes are resolved relative to
    ``filename``'s directory. Raises :class:`ScenarioError` (and nothing else) when it is not valid."""
    return _guarded(text, str(filename), str(fmt).lower())


def load_scenario(path: str | os.PathLike[str]) -> m.Scenario:
    """Load a scenario file (``.toml`` is TOML, anything else YAML). Raises :class:`ScenarioError`,
    also for a file that is not a regular file or is larger than :data:`MAX_FILE_BYTES`."""
    file = os.fspath(path)
    try:
        data = _read_file(file)
    except _Unreadable as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(file)) from None
    return _guarded(data, str(file), _fmt_of(str(file)))


def _f(x: Any) -> float | None:
    return None if x is None else float(x)
