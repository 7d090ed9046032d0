"""Reading YAML or TOML text as plain data that remembers where each value was written: the one
reader of scenario files (:mod:`mockcti.scenario.loader`) and center files
(:func:`mockcti.center.config.load_center_file`).

YAML is read node by node with ``yaml.SafeLoader`` (plain data only: no tags beyond the scalar
ones, no recursive aliases, at most :data:`MAX_NODES` values and :data:`MAX_DEPTH` levels), and a
duplicate key is refused; TOML is read with ``tomllib``, each key's line found in the text. Every
mapping is an :class:`LDict`, every list an :class:`LList`, which keep the file and line of their
items; :func:`locate` and :func:`fmt_path` turn a path into the data into ``file``, ``line`` and
``rules[0].when``. Every problem is a :class:`ReadError` naming the file and, where the reader can
tell, the line and the key path; the caller words it as its own error. Pure: text in, data out
(the caller reads the file, see :mod:`mockcti.files`).
"""

from __future__ import annotations

import json
import math
import decimal
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ReadError", "LDict", "LList", "MAX_NODES", "MAX_DEPTH", "MAX_SHOWN_ERRORS", "parse", "too_deep", "fmt_path",
           "own_path", "locate", "plain", "short", "type_name", "counted", "fmt_of", "collate", "shown_errors",
           "number_text_hint", "spelled"]

#: The most YAML nodes one document may expand to (aliases included): a guard against "billion laughs".
MAX_NODES = 200_000
#: How deep lists and mappings may nest (every value counts as a level, the document itself is 1):
#: deeper is refused at the line where the limit is crossed, long before Python's recursion limit.
MAX_DEPTH = 100
#: The most errors of one file a reader shows; the rest are counted ("and N more errors").
MAX_SHOWN_ERRORS = 50


class ReadError(ValueError):
    """Text that is not valid data. ``file``, ``line`` (1-based, None if unknown), ``key_path`` and
    ``message`` say what and where; ``str()`` is ``file:line: key_path: message``."""

    def __init__(self, message: str, *, file: str, line: int | None = None, key_path: str = "") -> None:
        self.file, self.line, self.key_path, self.message = file, line, key_path, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"


def collate(errors: Iterable[Any], file: str | None = None) -> list[Any]:
    """Errors of one document (each with ``file``, ``line`` and its ``str()``) in the order a reader
    shows them: ``file``'s own first, then by file and line (an error without a line after the
    located ones, in the order found), each text once."""
    order = sorted(errors, key=lambda e: (e.file != file, e.file or "", e.line is None, e.line or 0))
    out, seen = [], set()
    for e in order:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def shown_errors(errors: Iterable[Any], limit: int = MAX_SHOWN_ERRORS) -> list[str]:
    """The lines that show ``errors``: at most ``limit``, then ``and N more errors``."""
    lines = [str(e) for e in errors]
    if len(lines) <= limit:
        return lines
    n = len(lines) - limit
    return [*lines[:limit], f"and {n} more error{'s' if n != 1 else ''}"]


# -- located data: dicts and lists that remember where their items were written -------------------


class LDict(dict):
    """A mapping read from a file; ``lines[key]`` is (file, line) of the key."""

    __slots__ = ("file", "line", "lines")

    def __init__(self, file: str, line: int | None) -> None:
        super().__init__()
        self.file, self.line = file, line
        self.lines: dict[str, tuple[str, int | None]] = {}


class LList(list):
    """A sequence read from a file; ``lines[i]`` is (file, line) of item i; ``origins[i]`` its index
    in the list of that file (a list merged from includes: rules[0] of the included file may be
    item 3 here); none given: the item's position."""

    __slots__ = ("file", "line", "lines", "origins")

    def __init__(self, file: str, line: int | None) -> None:
        super().__init__()
        self.file, self.line = file, line
        self.lines: list[tuple[str, int | None]] = []
        self.origins: list[int] = []

    def origin(self, i: int) -> int:
        """The index item ``i`` has in its own file."""
        return self.origins[i] if 0 <= i < len(self.origins) else i


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def fmt_path(path: Iterable[Any]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(p)):
            out += f".{p}" if out else str(p)
        else:
            out += f"[{json.dumps(str(p))}]"
    return out


def own_path(root: Any, path: Iterable[Any]) -> tuple[Any, ...]:
    """``path`` (into the merged document) as the file that wrote the value names it: each list
    index the item's index in its own file (:meth:`LList.origin`)."""
    out: list[Any] = []
    node = root
    for p in path:
        if isinstance(node, LList) and isinstance(p, int):
            out.append(node.origin(p))
            node = node[p] if 0 <= p < len(node) else None
        else:
            out.append(p)
            node = node.get(p) if isinstance(node, dict) else None
    return tuple(out)


def locate(root: Any, path: Iterable[Any], default_file: str) -> tuple[str, int | None]:
    node = root
    where = (getattr(root, "file", default_file), getattr(root, "line", None))
    for p in path:
        try:
            if isinstance(node, LDict):
                if p in node.lines:
                    where = node.lines[p]
                node = node[p]
            elif isinstance(node, LList):
                where = node.lines[p]
                node = node[p]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return where


def short(value: Any, n: int = 60) -> str:
    """``repr(value)``, cut to ``n`` characters."""
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."


def spelled(value: Any) -> str:
    """A value in an error as a YAML or TOML file writes it: ``null``, ``true``/``false``, else its repr
    (``'READY'``, ``5``, ``['Held']``) — not Python's None and True."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def counted(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 agent``, ``2 agents``, ``0 agents``: a count with its noun in the number it takes (``nouns``
    when the plural is not ``noun + "s"``), for the lines a user reads."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def type_name(v: Any, *, json: bool = False) -> str:
    """What a value is, in words (``an integer``, ``a list``); ``json``: in JSON's words (``a string``,
    ``an array``, ``an object``), for the control API's bodies."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string" if json else "text"
    if isinstance(v, dict):
        return "an object" if json else "a mapping"
    if isinstance(v, list):
        return "an array" if json else "a list"
    return type(v).__name__


# -- reading ---------------------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALAR_TAGS = frozenset("tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null"))


_EXPONENT_TEXT = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+))[eE]([-+]?\d+)")


def number_text_hint(value: Any, *, integer: bool = False) -> str:
    """Why text where a number belongs may be what its writer took for a number: YAML 1.1 (PyYAML)
    reads ``1e9`` and ``1.5e3`` as text, a float's exponent needing a dot and a sign (``1.0e+9``), which
    JSON, TOML and YAML 1.2 do not ask. ``"; …"`` to append to an "expected a number, got text" error
    (``integer``: one that takes whole numbers only), or ``""`` for any other value."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    m = _EXPONENT_TEXT.fullmatch(text)
    if m is None:
        return ""
    mant, exp = m.groups()
    if float(text) in (float("inf"), float("-inf")):
        return ""  # (beyond a float: as a number it would be refused as infinite all the same)
    forms = []
    if abs(int(exp)) <= 30:
        number = decimal.Decimal(text)
        if number == number.to_integral_value():
            forms.append(str(int(number)))
    if not integer:
        forms.append(f"{mant if '.' in mant else mant + '.0'}e{exp if exp[0] in '+-' else '+' + exp}")
    if not forms:
        return f"; YAML reads {text} as text, not a number (it is not a whole number either)"
    return f"; YAML reads {text} as text, not a number: write {' or '.join(forms)}"


def too_deep(file: str, line: int | None, key_path: str = "", *, where: str = "") -> ReadError:
    """The error of a document nested deeper than :data:`MAX_DEPTH`; without a line (``line``
    None: the parser could not tell where), line 1 stands for the file and the message says so."""
    msg = f"the document is nested too deeply (more than {MAX_DEPTH} levels of lists and mappings)"
    if line is None:
        msg += f"; {where or 'the reader'} cannot tell the line (1 stands for the whole file)"
        line = 1
    return ReadError(msg, file=file, line=line, key_path=key_path)


def _yaml_loader() -> Any:
    """``yaml.SafeLoader`` that refuses, while composing, a node nested deeper than :data:`MAX_DEPTH`
    (at the node's line), before PyYAML's recursive composer can exhaust the stack. Made per load,
    not cached: a class kept across calls would stay bound to the ``yaml`` module of its first call,
    and a test harness that re-imports modules (pytester) would get nodes of foreign classes."""
    import yaml

    class _Loader(yaml.SafeLoader):
        depth = 0
        file = "<text>"

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.depth >= MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise too_deep(self.file, mark.line + 1 if mark is not None else None)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return _Loader


def _read_yaml(text: str, file: str, problems: list[ReadError] | None = None) -> Any:
    import yaml

    try:
        loader = _yaml_loader()(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters at once
        raise ReadError(f"not valid YAML: {getattr(exc, 'reason', None) or exc}", file=file, line=1) from None
    loader.file = file
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # (MAX_DEPTH is checked first; this is only if the stack was already deep)
            line = getattr(loader, "line", None)
            raise too_deep(file, line + 1 if isinstance(line, int) else None, where="the YAML parser") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            context, found = exc.context, exc.problem
            start = exc.context_mark.line + 1 if exc.context_mark is not None else None
            if context and start is not None and start != line:
                # what was open where: a quote or a bracket left open is found only at the end of the file,
                # whose line says nothing: the line is the opening's, the end's said after it
                if found and ("end of stream" in found or "<stream end>" in found):
                    found, line = f"{found} (line {line}, the end of the file)", start
                else:
                    context += f" (from line {start})"
            problem = " ".join(x for x in (context, found) if x) or str(exc)
            raise ReadError(f"not valid YAML: {problem}", file=file, line=line) from None
        except yaml.YAMLError as exc:
            raise ReadError(f"not valid YAML: {exc}", file=file) from None
        if node is None:
            return None
        budget = [MAX_NODES]
        active: set[int] = set()
        explicit_keys: dict[int, set[str]] = {}

        def explicit_seen(out: LDict, key: str) -> bool:
            return key in explicit_keys.get(id(out), set())

        def enter(n: Any, tag: str, line: int, path: str) -> None:
            """A mapping or sequence node is plain data (its standard tag) and not inside itself (an alias
            of an enclosing node): it is now being built."""
            if n.tag != tag:
                raise ReadError(f"unsupported YAML tag {n.tag!r} (only plain data is read)",
                                file=file, line=line, key_path=path)
            if id(n) in active:
                raise ReadError("a recursive alias (a value that contains itself)", file=file, line=line,
                                key_path=path)
            active.add(id(n))

        def build(n: Any, path: str = "", depth: int = 1) -> Any:
            """The node as plain data; ``path`` (``rules[0].when``) names it in errors, ``depth``
            counts the levels (an alias can nest deeper than the text: checked here again)."""
            budget[0] -= 1
            if budget[0] < 0:
                raise ReadError(f"the document expands to more than {MAX_NODES} values (aliases?)", file=file,
                                line=n.start_mark.line + 1, key_path=path)
            line = n.start_mark.line + 1
            if depth > MAX_DEPTH:
                raise too_deep(file, line, path)
            if isinstance(n, yaml.MappingNode):
                enter(n, "tag:yaml.org,2002:map", line, path)
                n_explicit = sum(1 for k, _ in n.value if k.tag != "tag:yaml.org,2002:merge")
                try:
                    loader.flatten_mapping(n)  # YAML merge keys (<<): merged keys first, explicit keys win
                except yaml.MarkedYAMLError as exc:  # e.g. ``<<: 5``: only mappings can be merged
                    mark = exc.problem_mark or n.start_mark
                    raise ReadError(f"bad merge key (<<): {exc.problem or exc}", file=file,
                                    line=mark.line + 1, key_path=path) from None
                n_merged = len(n.value) - n_explicit
                out = LDict(file, line)
                for i, (k, v) in enumerate(n.value):
                    key = build(k, path, depth + 1) if isinstance(k, yaml.ScalarNode) else None
                    if not isinstance(key, str):
                        # a scalar key read as null (~:, null:, an empty key), a number or a boolean: quoting it
                        # makes it text; a list or a mapping as a key cannot be
                        got = ("a list or a mapping" if not isinstance(k, yaml.ScalarNode) else
                               "null" if key is None else str(key).lower() if isinstance(key, bool) else short(key))
                        fix = "" if not isinstance(k, yaml.ScalarNode) else " (quote it)"
                        raise ReadError(f"keys must be text, got {got}{fix}", file=file,
                                        line=k.start_mark.line + 1, key_path=path)
                    sub = f"{path}.{key}" if path else key
                    if key in out and i >= n_merged and out.lines[key][1] is not None and explicit_seen(out, key):
                        dup = ReadError(f"duplicate key {key!r}", file=file, line=k.start_mark.line + 1, key_path=sub)
                        if problems is None:
                            raise dup
                        problems.append(dup)  # the first value stays; the reading goes on
                        continue
                    out[key] = build(v, sub, depth + 1)
                    out.lines[key] = (file, k.start_mark.line + 1)
                    if i >= n_merged:
                        explicit_keys.setdefault(id(out), set()).add(key)
                active.discard(id(n))
                return out
            if isinstance(n, yaml.SequenceNode):
                enter(n, "tag:yaml.org,2002:seq", line, path)
                out_l = LList(file, line)
                for i, item in enumerate(n.value):
                    out_l.append(build(item, f"{path}[{i}]", depth + 1))
                    out_l.lines.append((file, item.start_mark.line + 1))
                active.discard(id(n))
                return out_l
            if n.tag == "tag:yaml.org,2002:timestamp":  # dates are text
                return n.value
            if n.tag not in _SCALAR_TAGS:
                raise ReadError(f"unsupported YAML tag {n.tag!r} (only plain data is read)",
                                file=file, line=line, key_path=path)
            try:
                value = loader.construct_object(n, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise ReadError(f"bad value: {exc}", file=file, line=line, key_path=path) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise ReadError(f"not a finite number: {n.value!r}", file=file, line=line, key_path=path)
            if isinstance(value, str) and _SURROGATE.search(value):
                raise ReadError("text with a lone UTF-16 surrogate (an escape such as \\ud800)", file=file,
                                line=line, key_path=path)
            return value

        return build(node)
    finally:
        loader.dispose()


def _read_toml(text: str, file: str) -> Any:
    import tomllib

    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib's parser recurses into nested arrays and inline tables
        raise too_deep(file, None, where="the TOML parser") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        if line is None:
            mm = re.search(r"line (\d+)", str(exc))
            line = int(mm.group(1)) if mm else None
        if line is None and "end of document" in str(exc):  # the last line, then
            line = max(1, len(text.splitlines()))
        if msg.startswith("Cannot overwrite a value") and line is not None and 0 < line <= len(text.splitlines()):
            # tomllib does not name the key a YAML file's duplicate is named by: the key of that line
            said = re.match(r"\s*(?:\[\[?\s*([^\]]+?)\s*\]|([^=#\[]+?)\s*=)", text.splitlines()[line - 1])
            if said:
                msg = f"duplicate key {(said.group(1) or said.group(2)).strip()!r} ({msg})"
        declared = re.match(r"Cannot declare \((.*?),?\) twice", msg)
        if declared:  # "Cannot declare ('end',) twice": Python's tuple of the table's keys
            keys = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", declared.group(1))
            msg = f"duplicate table [{'.'.join(a or b for a, b in keys)}] ({msg})"
        raise ReadError(f"not valid TOML: {msg}", file=file, line=line) from None
    lines = text.splitlines()

    def find(key: str, start: int) -> int | None:
        pat = re.compile(r'^\s*(?:\[\[?\s*)?(?:[^=\[\]#]*\.\s*)?["\']?' + re.escape(key) + r'["\']?\s*(?:=|\]|\.)')
        inline = re.compile(r'[{,]\s*["\']?' + re.escape(key) + r'["\']?\s*=')
        for i in range(start, len(lines)):
            if pat.search(lines[i]) or inline.search(lines[i]):
                return i + 1
        return None

    def headers(keys: tuple[str, ...], start: int) -> list[int]:
        """The lines of the ``[[k1.k2]]`` headers (an array of tables: one per item) from line
        index ``start`` on; a key may be quoted."""
        name = r"\s*\.\s*".join(f"(?:{re.escape(k)}|\"{re.escape(k)}\"|'{re.escape(k)}')" for k in keys)
        pat = re.compile(r"^\s*\[\[\s*" + name + r"\s*\]\]")
        return [i + 1 for i in range(start, len(lines)) if pat.match(lines[i])]

    def wrap(value: Any, line: int | None, path: str = "", depth: int = 1, keys: tuple[str, ...] = ()) -> Any:
        if depth > MAX_DEPTH:
            raise too_deep(file, line, path)
        if isinstance(value, dict):
            out = LDict(file, line)
            for k, v in value.items():
                kl = find(k, (line or 1) - 1) or line
                out[k] = wrap(v, kl, f"{path}.{k}" if path else k, depth + 1, (*keys, k))
                out.lines[k] = (file, kl)
            return out
        if isinstance(value, list):
            out_l = LList(file, line)
            # items of an array of tables start at their own [[key]] header (the n-th after the
            # table holding the array); items of an inline array keep the array's line
            item_lines: list[int | None] = []
            if keys and value and all(isinstance(v, dict) for v in value):
                item_lines = list(headers(keys, (line or 1) - 1)[:len(value)])
            for i, v in enumerate(value):
                il = item_lines[i] if i < len(item_lines) else line
                out_l.append(wrap(v, il, f"{path}[{i}]", depth + 1, keys))
                out_l.lines.append((file, il))
            return out_l
        if hasattr(value, "isoformat"):  # TOML dates and times are text
            return value.isoformat()
        if isinstance(value, float) and not math.isfinite(value):
            raise ReadError(f"not a finite number: {value}", file=file, line=line, key_path=path)
        return value

    return wrap(data, 1)


def parse(text: str | bytes, file: str, fmt: str, problems: list[ReadError] | None = None) -> Any:
    """The document in ``text`` (``fmt`` ``yaml`` or ``toml``; bytes must be UTF-8, a BOM is
    skipped) as :class:`LDict` / :class:`LList` / scalars, None for an empty YAML document.
    Raises :class:`ReadError` naming ``file`` and the line. ``problems`` given, a mistake after
    which the reading can go on (a YAML duplicate key: the first value stays) is added to it
    instead, so that the caller reports it with the errors it finds in the data."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            at = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)  # utf-8-sig counts after the BOM
            line = raw.count(b"\n", 0, at) + 1
            raise ReadError(f"not UTF-8 text (byte {at}, line {line})", file=file, line=line) from None
    if not isinstance(text, str):
        raise ReadError(f"expected text, got {type(text).__name__}", file=file)
    if fmt == "toml":
        return _read_toml(text, file)
    if fmt in ("yaml", "yml"):
        return _read_yaml(text, file, problems)
    raise ReadError(f"unknown format {fmt!r}; allowed: yaml, toml", file=file)


def fmt_of(path: str) -> str:
    """The format of a file by its name: ``toml`` for ``.toml``, ``yaml`` for anything else."""
    return "toml" if str(path).lower().endswith(".toml") else "yaml"
