"""The control API: drive a running mock from a test suite in any language (HTTP/1.1 + JSON).

Owns a small, strict HTTP/1.1 server on asyncio streams (no dependency): request line, headers,
a ``Content-Length`` body; header block limited to :attr:`ControlServer.max_header_bytes`
(431 beyond; 414 for a request line, its target, longer than that), body to :attr:`ControlServer.max_body_bytes` (413 beyond); keep-alive for
HTTP/1.1 unless ``Connection: close``; ``Expect: 100-continue`` honoured; no chunked request
bodies (501); a body not all in within ``body_timeout``, or a head begun and not finished within
``idle_timeout``, is a 408 (an idle connection is closed silently); at most ``max_connections``
connections at once (beyond, the one idle longest is closed to make room, or, all busy in a request, 503
with Retry-After). Every answer is JSON (``/report/junit`` is XML); every malformed request gets a
4xx with ``{"error": ..., "field": ...}`` (``field`` null when the whole request is at fault); a bug in a handler is a 500 with a JSON body and a
journal note, never a crash of the mock.

It sits at the server layer (asyncio is allowed here) and runs on the mock's own loop: every
mutation goes through :meth:`mockcti.server.MockServer.call`, so the hub's actions go out at
once. Off unless ``mockcti serve --control-port PORT``; listens on loopback only unless
``--control-allow-remote``.

Endpoints (see :data:`ENDPOINTS`)::

    GET    /health  /state?limit=  /calls?agent=&csq=&after=&limit=  /calls/{id}
           /journal?since=&kind=&session=&limit=  /violations?since=&session=
    GET    /report  /report/junit  /scenario  /faults
    POST   /calls  /agents/{id}/state  /events/system  /events/failure  /failover  /scenario
           /faults  /reset
    DELETE /scenario  /faults

Scenarios: ``POST /scenario`` validates with :func:`mockcti.scenario.load_scenario` /
``load_scenario_text`` (400 with every :class:`ScenarioError`), then builds an engine with
``engine_factory(scenario)``. The default factory looks for ``mockcti.scenario.engine`` and uses
its ``make_engine(scenario)`` or ``ScenarioEngine(scenario)``; when that module is missing the
answer is 501. Pass ``ControlServer(..., engine_factory=...)`` to wire another engine. A scenario
that describes its own center (``center:``) replaces the center (``engine.build_center()``) and
drops every session; ``/report`` carries the engine's expectations (``engine.verify(now)``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import difflib
import importlib
import ipaddress
import json
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from mockcti.journal import json_text
from mockcti.located import counted, fmt_path, type_name
from mockcti.server import MockServer, host_port, listen, stop_listening

__all__ = [
    "ControlServer", "ControlError", "HTTPError", "ENDPOINTS", "FAULT_KINDS", "is_loopback",
    "add_serve_arguments", "serve_feature",
]

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_CONNECTIONS = 64

#: method, path -> what it does (also served at ``GET /``)
ENDPOINTS: dict[str, str] = {
    "GET /health": "liveness: {ok, sessions}",
    "GET /state": "the contact center snapshot plus every connection and open session: ?limit=N calls at most "
                  "and N call IDs per CSQ queue (default 1000; calls_total, calls_truncated, queues_truncated)",
    "GET /calls": "the calls with their data, oldest first: ?agent=ID&csq=NAME&after=CALL_ID&limit=N -> "
                  "{calls, count, more, next}",
    "GET /calls/{id}": "one call: type, ANI, DNIS, variables, named variables and arrays, CSQ, queued, legs",
    "GET /journal": "journal entries: ?since=SEQ&kind=KIND&session=SID&limit=N -> {entries, next, more, dropped}",
    "GET /violations": "violations recorded: ?since=SEQ&session=SID",
    "GET /report": "the JSON summary of the run (as summary.json)",
    "GET /report/junit": "the JUnit XML of the run (as junit.xml)",
    "POST /calls": 'an inbound call: {"agent": "1001"} or {"csq": "Sales", "ani": "0612345678"}; optional '
                   '"dnis", "variables": {"call_variable1": "..."}, "named_variables": {"user.customer.id": "..."} '
                   'and "named_arrays": {"user.items": ["...", null, "..."]}; 409 for an agent logged out or whose '
                   'phone is busy',
    "POST /calls/{id}/hangup": '{} (the caller hangs up) or {"device": "0699999999"} (that party hangs up)',
    "POST /agents/{id}/state": '{"state": "READY", "reason_code": 0}',
    "POST /events/system": '{"event": "SYS_CCX_OFFLINE", "text": "...", "device": "3001"} (text, device optional)',
    "POST /events/failure": '{"status": "E_CTI_...", "text": "...", "sessions": [1, 2]}',
    "POST /failover": '{"seconds": 5}: drop every session, refuse OPEN_REQ with E_CTI_SERVER_NOT_MASTER',
    "GET /scenario": "the loaded scenario",
    "POST /scenario": '{"path": "file.yaml"} or {"yaml": "..."} or {"toml": "..."}: load or replace',
    "DELETE /scenario": "unload the scenario (a center it brought stays, its sessions open, until POST /reset)",
    "GET /faults": "transport faults in force",
    "POST /faults": '{"session": 3 | "all", "kind": "pause_reading|resume_reading|delay|close|reset|half_close", '
                    '"seconds": 2}',
    "DELETE /faults": '{"session": 3 | "all"} (default all), {"owner": "all" (default) | "control API" | "scenario"}: '
                      'lift those pauses (reading resumes where no other owner holds one), cancel pending resumes',
    "POST /reset": '{} or {"seed": 7}: drop every session, clear the journal and faults, rebuild the center '
                   '(and scenario)',
}

#: the owner of the pauses the control API begins (``PauseReading.owner``): a scenario's are its own
API_OWNER = "control API"
#: DELETE /faults' ``owner``: whose pauses it lifts
CLEAR_OWNERS = ("control API", "scenario", "all")

#: fault kind -> parameters it takes
FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "pause_reading": ("seconds",),  # stop reading; for `seconds` when given, else until resumed
    "resume_reading": (),
    "delay": ("seconds",),  # stop reading for `seconds` (default 1): requests are answered that late
    "close": (),  # close after flushing (FIN)
    "reset": (),  # abort (RST)
    "half_close": (),  # shut down our writing side, keep reading
}


# -- errors ---------------------------------------------------------------------------------------


class HTTPError(Exception):
    """An answer other than 2xx: ``status``, a message, the offending ``field`` and extra keys."""

    def __init__(self, status: int, error: str, *, field: str | None = None, close: bool = False,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.status = int(status)
        self.error = error
        self.field = field
        self.close = close
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "field": self.field, **self.extra}


class _RequestLineTooLong(Exception):
    """The request line alone is longer than the head may be (answered 414 URI Too Long)."""


class ControlError(ValueError):
    """The control server cannot be started as asked (for example a non-loopback host)."""


def _buffered(reader: asyncio.StreamReader) -> bytes:
    """What ``reader`` holds and no read has taken yet (the part of a line ``readuntil`` waits to finish).
    StreamReader has no public peek: its buffer is read as CPython keeps it, and nothing where it does not."""
    return bytes(getattr(reader, "_buffer", b""))


def _preview(data: bytes, limit: int = 40) -> str:
    """``data`` for an error message: its first ``limit`` bytes as a Python bytes literal, "…" when cut."""
    return repr(data[:limit]) + ("…" if len(data) > limit else "")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _allowed(name: Any, allowed: Iterable[Any], *, show: int = 50, guess: bool = True) -> str:
    """``" (did you mean X?); allowed: a, b, c"``: at most ``show`` of them named, ``none`` when empty;
    no guess for numbers (call ids, sessions, phone numbers), where a near miss is another one."""
    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.6) if guess else []
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    listed = ", ".join(allowed[:show]) + (f" … ({len(allowed)} in all)" if len(allowed) > show else "")
    return f"{hint}; allowed: {listed or 'none'}"


# -- requests and responses --------------------------------------------------------------------


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: an absolute-form request target: scheme, authority (host[:port]), then the path and query as they come
_ABSOLUTE_FORM = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*)$", re.S)
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(:[0-9]*)?")
_REQUEST_LINE = re.compile(r"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP/(\d)\.(\d)$")


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    version: tuple[int, int]
    headers: dict[str, list[str]]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def args(self, allowed: Iterable[str]) -> dict[str, str]:
        """The query parameters, each at most once and all in ``allowed``."""
        allowed = tuple(allowed)
        out: dict[str, str] = {}
        for k, v in self.query.items():
            if k not in allowed:
                raise HTTPError(400, f"unknown query parameter {k!r}" + (_allowed(k, allowed) if allowed else
                                                                          "; this endpoint takes none"),
                                field=k, allowed=list(allowed))
            if len(v) != 1:
                raise HTTPError(400, f"query parameter {k!r} given {len(v)} times", field=k)
            out[k] = v[0]
        return out

    def json(self, allowed: Iterable[str]) -> dict[str, Any]:
        """The body as a JSON object whose keys are all in ``allowed`` (empty body: ``{}``)."""
        allowed = tuple(allowed)
        if not self.body.strip():
            return {}
        ctype, *params = (self.header("content-type") or "").split(";")
        ctype = ctype.strip().lower()
        if ctype and ctype != "application/json" and not ctype.endswith("+json"):
            raise HTTPError(415, f"the body must be JSON (Content-Type: application/json), not {ctype!r}; "
                                 "with curl use --json or -H 'Content-Type: application/json'",
                            field="Content-Type")
        # (a coded body was read as it came, "not UTF-8: ... byte 0x8b" for gzip, or applied as if not coded)
        codings = [t.strip().lower() for v in self.headers.get("content-encoding", []) for t in v.split(",")]
        if any(t and t != "identity" for t in codings):
            raise HTTPError(415, f"the body is coded ({', '.join(self.headers['content-encoding'])}); the control API "
                                 "takes it as it is: send it without Content-Encoding", field="Content-Encoding",
                            headers={"Accept-Encoding": "identity"})  # (RFC 9110 §15.5.16)
        for param in params:
            name, _, value = param.partition("=")
            charset = value.strip().strip('"')
            if name.strip().lower() == "charset" and charset.lower() not in ("utf-8", "utf8"):
                raise HTTPError(415, f"the body is in charset {charset!r}; JSON is UTF-8 (RFC 8259): send it so",
                                field="Content-Type")
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPError(400, f"the body is not UTF-8: {exc}") from None
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise HTTPError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
                from None
        except RecursionError:  # [[[[... deeper than the decoder recurses: not a 500
            raise HTTPError(400, "the body is nested too deeply (the API takes JSON objects "
                                 "a few levels deep)") from None
        except ValueError as exc:
            if "integer string conversion" in str(exc):  # Python's own 4300-digit limit, and its advice
                raise HTTPError(400, "the body holds an integer of more than 4300 digits") from None
            raise HTTPError(400, f"the body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HTTPError(400, f"the body must be a JSON object, got {_type_name(data)}")
        for k in data:
            if k not in allowed:
                raise HTTPError(400, f"unknown field {k!r}" + _allowed(k, allowed), field=k, allowed=list(allowed))
        return data


def _unknown_agent(center: Any, name: str) -> str:
    """What follows "unknown agent 'X'": that X is an agent's phone, when it is (no spelling guess then), and the
    agents there are."""
    hint = center.agent_hint(name)
    return hint + _allowed(name, center.agents, guess=not hint)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _type_name(v: Any) -> str:
    return type_name(v, json=True)


#: agent states POST /agents/{id}/state may set (LOGIN logs in: NOT_READY with AGT_LOGON)
def _str(data: Mapping[str, Any], key: str, *, required: bool = False, max_len: int = 4096,
         default: str | None = None, max_bytes: int | None = None) -> str | None:
    """A text field; ``max_bytes``: the UTF-8 bytes a wire field carries (its maximum without the NUL)."""
    if key not in data or data[key] is None:
        if required:
            raise HTTPError(400, f"missing field {key!r}", field=key)
        return default
    v = data[key]
    if not isinstance(v, str):
        raise HTTPError(400, f"{key!r} must be a string, got {_type_name(v)}", field=key)
    if len(v) > max_len:
        raise HTTPError(400, f"{key!r} is longer than {max_len} characters", field=key)
    if max_bytes is not None:
        try:
            n = len(v.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800"): no message can carry it
            raise HTTPError(400, f"{key!r} holds a lone UTF-16 surrogate, which is not text", field=key) from None
        if n > max_bytes:
            raise HTTPError(400, f"{key!r} is {n} bytes; the message carries at most {max_bytes}", field=key)
    return v


def _int(data: Mapping[str, Any], key: str, *, lo: int, hi: int, default: int | None = None,
         required: bool = False) -> int | None:
    if key not in data or data[key] is None:
        if required:
            raise HTTPError(400, f"missing field {key!r}", field=key)
        return default
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise HTTPError(400, f"{key!r} must be an integer, got {_type_name(v)}", field=key)
    if not lo <= v <= hi:
        raise HTTPError(400, f"{key!r} must be between {lo} and {hi}, got {v}", field=key)
    return v


def _num(data: Mapping[str, Any], key: str, *, lo: float, hi: float, default: float | None = None,
         required: bool = False) -> float | None:
    if key not in data or data[key] is None:
        if required:
            raise HTTPError(400, f"missing field {key!r}", field=key)
        return default
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HTTPError(400, f"{key!r} must be a number, got {_type_name(v)}", field=key)
    if not lo <= v <= hi:
        raise HTTPError(400, f"{key!r} must be between {lo:g} and {hi:g}, got {v}", field=key)
    return float(v)


def _query_int(args: Mapping[str, str], key: str, *, lo: int, hi: int, default: int | None) -> int | None:
    if key not in args:
        return default
    v = args[key]
    if not re.fullmatch(r"\d+", v):
        raise HTTPError(400, f"query parameter {key!r} must be a non-negative integer, got {v!r}", field=key)
    digits = v.lstrip("0") or "0"  # (a number of 19 digits and more was "must be a non-negative integer")
    if len(digits) > len(str(hi)) or not lo <= int(digits) <= hi:
        shown = digits if len(digits) <= 40 else f"{digits[:20]}… ({len(digits)} digits)"
        raise HTTPError(400, f"query parameter {key!r} must be between {lo} and {hi}, got {shown}", field=key)
    return int(digits)


@dataclass
class Response:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return (json_text(self.body) + "\n").encode("utf-8")


Handler = Callable[[Request], Awaitable[Response | Any]]


# -- the server ---------------------------------------------------------------------------------


class ControlServer:
    """The control API of one :class:`~mockcti.server.MockServer`, on the same event loop.

    ``await ControlServer(server, "127.0.0.1", 0).start()``; ``.port`` and ``.url`` tell where it
    listens; ``await stop()``. A non-loopback ``host`` raises :class:`ControlError` unless
    ``allow_remote``. ``engine_factory(scenario)`` builds a scenario engine (hub ``Engine``
    protocol) for ``POST /scenario``; by default ``mockcti.scenario.engine`` is used when present.
    """

    max_header_bytes = MAX_HEADER_BYTES
    max_body_bytes = MAX_BODY_BYTES
    #: connections served at once; one more closes the one idle longest (_close_idle_one) or, when every one
    #: is in the middle of a request, is answered 503 with Retry-After and closed (a test harness
    #: leaking connections, or a port scanner, would otherwise take every file descriptor of the process,
    #: which serves CTI too). As many again may be waiting for their 503 to be read; beyond, closed at once
    max_connections = MAX_CONNECTIONS
    retry_after = 1  # seconds, the Retry-After of that 503
    idle_timeout = 30.0  # seconds a keep-alive connection may wait for its next request
    body_timeout = 30.0  # seconds to receive a body once its headers are in
    send_timeout = 30.0  # seconds a client may take to read an answer before its connection is dropped
    stop_grace = 1.0  # seconds stop() lets the answers in flight go out before it resets their connections
    stop_settle = 0.01  # seconds stop() lets the loop read what clients sent before it, before it closes the idle
    linger_seconds = 2.0  # before closing, discard what the client still sends for at most this long ...
    linger_bytes = 16 * 1024 * 1024  # ... and at most this much

    def __init__(self, mock_server: Any, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False,
                 engine_factory: Callable[[Any], Any] | None = None, seed: int = 0,
                 max_header_bytes: int | None = None, max_body_bytes: int | None = None,
                 max_connections: int | None = None) -> None:
        # a fixtures' handle (AsyncServer, cti_async_server) stands for its MockServer: the handle has
        # no run_actions, and a request refused in the hub (409) answered 500 "internal error"
        inner = getattr(mock_server, "server", None)
        if not isinstance(mock_server, MockServer) and isinstance(inner, MockServer):
            mock_server = inner
        self.mock = mock_server
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self.engine_factory = engine_factory
        self.seed = seed
        if max_header_bytes is not None:
            self.max_header_bytes = max_header_bytes
        if max_body_bytes is not None:
            self.max_body_bytes = max_body_bytes
        if max_connections is not None:
            if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
                raise ControlError(f"max_connections must be a positive integer, got {max_connections!r}")
            self.max_connections = max_connections
        self._refusing = 0  # connections over the cap waiting for their 503 to be read
        self._cap_noted = False  # the journal says once per episode that the cap was reached
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        #: the connections waiting for a request (loop time they began waiting, their reader, the lines of
        #: the head come so far): the one idle longest is closed to serve a new connection at the cap
        self._waiting: dict[asyncio.StreamWriter, tuple[float, asyncio.StreamReader, list[bytes]]] = {}
        self._evict_noted = False  # the journal says once per episode that idle connections make room
        self._tasks: set[asyncio.Task] = set()
        self._stopping = False  # stop() has begun: a request not begun is answered 503
        self._closing_idle = False  # stop() closes the idle connections: one that comes up now is closed at once
        self.scenario: Any = None  # the loaded Scenario (POST /scenario)
        #: session -> (fault kind, resume time or None: until resumed); sessions gone are pruned
        self._paused: dict[int, tuple[str, float | None]] = {}
        self._fault_gen: dict[int, int] = {}  # session -> generation; a scheduled resume of an older one is void
        self._initial_standby = False
        self._base_hub_config: Any = None
        #: a loaded scenario's ``retry_loop:`` is not applied: the server's own setting was given on the command line
        #: (``serve --retry-loop``), which wins
        self.retry_loop_fixed = False
        self._base_config: Any = None  # the center configuration before any scenario brought its own
        self._routes = self._build_routes()
        self._changes = asyncio.Lock()  # held while a POST or DELETE is applied (made again by start(), in its loop)

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{host_port(self.host, self.port)}"

    async def start(self) -> "ControlServer":
        """Listen (a second start() of a listening API changes nothing, as MockServer.start(): it tried to
        bind its own port again, 'address already in use', and re-took the center POST /reset restores)."""
        if self._server is not None:
            if self._stopping:
                raise RuntimeError("ControlServer.start(): the control API is stopping; await stop() first")
            return self
        if not self.allow_remote and not is_loopback(self.host):
            raise ControlError(f"control host {self.host!r} is not a loopback address; the control API can reset "
                               "and disrupt the mock, so it listens on loopback only unless allowed "
                               "(--control-allow-remote / allow_remote=True)")
        # the mock's hub, timers and connections belong to the loop it serves in: run from another
        # (a ThreadedServer, the cti_server fixture, serves on a thread of its own) the API raced the
        # server's thread, and a failover or fault failed with "Non-thread-safe operation invoked on an
        # event loop other than the current one" (or, without asyncio's debug mode, did it unsafely)
        running = asyncio.get_running_loop()
        loops = {getattr(self.mock, "_loop", None), getattr(getattr(self.mock, "server", None), "_loop", None)}
        if any(lp is not None and lp is not running and not lp.is_closed() for lp in loops):
            raise ControlError("the mock server serves in another event loop (a ThreadedServer, such as the "
                               "cti_server fixture, runs on a thread of its own); start the control API in the "
                               "mock's loop: with a MockServer or AsyncServer (cti_async_server) in this one")
        self._changes = asyncio.Lock()
        self._initial_standby = bool(self.mock.hub.standby)
        self._base_config = self.mock.hub.center.config
        self._base_hub_config = self.mock.hub.config  # what a scenario's dialect: replaces, and unloading restores
        if self.scenario is None and self.mock.hub.engine is not None:  # loaded by --scenario, say
            self.scenario = getattr(self.mock.hub.engine, "scenario", None)
        self._server = await listen(lambda port: asyncio.start_server(
            self._client, self.host, port, limit=self.max_header_bytes, reuse_address=True, start_serving=False),
            self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop serving, in order: no new connection; a connection idle between requests is closed; a
        request already being applied (its handler began: a POST /reset waiting for the sessions it drops,
        say) finishes and is answered, with ``Connection: close``; one that has not begun (its head or body
        still coming, or sent on a keep-alive connection from now on) is answered 503, not applied. All of
        it within :attr:`stop_grace` seconds; what is still going on then is cancelled, and a connection
        whose answer is not out is reset. (stop() cancelled every request at once: a POST /reset in flight
        dropped the sessions, left the center and the journal as they were and answered nothing, the
        client read a bare close.)"""
        if self._server is None:
            return
        self._stopping = True
        self._closing_idle = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_grace
        # what waits in the listening socket's queue (connected, not accepted yet) is taken before it closes
        # (a close reset those connections, their requests sent: no answer) and answered as a request not
        # begun, 503
        adopting: set[asyncio.Future[Any]] = set()

        def adopt(sock: Any) -> None:
            def protocol() -> asyncio.StreamReaderProtocol:
                return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=self.max_header_bytes), self._client)

            task = asyncio.ensure_future(loop.connect_accepted_socket(protocol, sock))
            adopting.add(task)
            task.add_done_callback(lambda t: sock.close() if t.cancelled() or t.exception() is not None else None)

        stop_listening(self._server, adopt)
        await asyncio.sleep(0)  # (on the asyncio loop the listening socket closes, its queue taken, next turn)
        if adopting:
            await asyncio.wait(adopting, timeout=max(0.0, deadline - loop.time()))
        # what clients sent before now may be in their sockets still, unread (and what was accepted last not yet
        # up): a moment for the loop to read it, so that such a request is answered 503 as one not begun. Sorted
        # at once, its connection looked idle and was closed, the unread request and all: a reset, no answer
        await asyncio.sleep(min(self.stop_settle, self.stop_grace))
        self._closing_idle = True  # a connection coming up from now on is closed at once (_client)
        writers = set(self._clients)
        for w, (_, reader, lines) in list(self._waiting.items()):  # idle: nothing of a request to answer
            if not lines and not _buffered(reader):
                w.close()  # its task reads the end of the stream and ends
        busy = set(self._tasks)
        if busy:  # (each one ends once its answer is written: _exchange keeps no connection now)
            await asyncio.wait(busy, timeout=max(0.0, deadline - loop.time()))
        writers |= self._clients
        for w in self._clients:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        # a close waits for what is queued to go out: a client reading nothing of its answer (a big GET
        # /journal) kept its connection, and the answer's bytes, open for ever after stop() (its task,
        # whose send_timeout would have dropped it, is cancelled). It gets what is left of stop_grace, then a reset
        for _ in range(100_000):
            if loop.time() >= deadline or not any(w.transport.get_write_buffer_size() for w in writers):
                break
            await asyncio.sleep(0.01)
        for w in writers:
            if w.transport.get_write_buffer_size():
                w.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None
        self._stopping = self._closing_idle = False

    async def __aenter__(self) -> "ControlServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- HTTP/1.1 --------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stopping and self._closing_idle:  # accepted as stop() closed the idle ones: nobody would close it
            writer.close()
            return
        task = asyncio.current_task()
        if len(self._clients) < self.max_connections:
            self._evict_noted = False
        elif not self._close_idle_one():
            await self._refuse(reader, writer, task)
            return
        self._cap_noted = False
        if task is not None:
            self._tasks.add(task)
        self._clients.add(writer)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        except Exception as exc:  # noqa: BLE001 - a broken connection must never take the mock down
            self._note(f"control connection failed: {type(exc).__name__}: {exc}")
        finally:
            self._clients.discard(writer)
            self._waiting.pop(writer, None)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _close_idle_one(self) -> bool:
        """At the cap: close the connection idle longest (a keep-alive one waiting for its next request, or
        one that has sent nothing yet; RFC 9112 §9.6 lets a server close an idle connection at any time, and
        a client retries on a new one) to serve a new connection, as nginx does. False when every connection
        is in the middle of a request: the new one is refused (503). Idle keep-alive connections (a harness's
        pool) held every place until idle_timeout (30 s) while the 503 said Retry-After: 1."""
        idle = [(since, w) for w, (since, reader, lines) in self._waiting.items()
                if not lines and not _buffered(reader) and not w.is_closing()]
        if not idle:
            return False
        since, writer = min(idle, key=lambda item: item[0])
        self._clients.discard(writer)
        self._waiting.pop(writer, None)
        writer.close()  # its task reads the end of the stream and ends
        if not self._evict_noted:
            self._evict_noted = True
            idle_for = asyncio.get_running_loop().time() - since
            self._note(f"control API: {counted(self.max_connections, 'connection')} open, the most it serves at once "
                       f"(max_connections); the one idle longest ({idle_for:.1f} s) is closed to serve a new one, "
                       "and so on while the cap holds")
        return True

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      task: asyncio.Task | None) -> None:
        """A connection over :attr:`max_connections`: 503 with Retry-After, then closed. What the client
        sends is read and discarded for a bounded time, so that it reads the 503 rather than a reset;
        beyond as many such connections again, it is closed at once (a file descriptor per connection
        stays bounded whatever the peer does). The CTI server is not touched."""
        if not self._cap_noted:
            self._cap_noted = True
            self._note(f"control API: {counted(len(self._clients), 'connection')} open, the most it serves at once "
                       f"(max_connections); further connections are answered 503 until one closes")
        if self._refusing >= self.max_connections:
            writer.transport.abort()
            return
        self._refusing += 1
        if task is not None:
            self._tasks.add(task)  # stop() cancels it
        try:
            err = HTTPError(503, f"the control API serves at most {counted(self.max_connections, 'connection')} at "
                                 f"once and {len(self._clients)} {'is' if len(self._clients) == 1 else 'are'} open, "
                                 f"each in the middle of a request (an idle one would have been closed to serve "
                                 f"this one); retry",
                            headers={"Retry-After": str(self.retry_after)}, limit=self.max_connections)
            await self._send(writer, self._error_response(err), keep=False)
            await self._linger(reader)
        except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        except Exception as exc:  # noqa: BLE001 - a broken connection must never take the mock down
            self._note(f"control connection failed: {type(exc).__name__}: {exc}")
        finally:
            self._refusing -= 1
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; True to keep the connection for another."""
        lines: list[bytes] = []  # the head's lines as they come: a timeout tells an idle connection from a stalled request
        self._waiting[writer] = (asyncio.get_running_loop().time(), reader, lines)
        try:
            head = await asyncio.wait_for(self._read_head(reader, lines), self.idle_timeout)
        except _RequestLineTooLong:  # the target itself: 414 URI Too Long (RFC 9110 §15.5.15), not 431
            await self._send(writer, self._error_response(HTTPError(
                414, f"the request line (its target, the path and query) exceeds {self.max_header_bytes} bytes",
                field="target")), keep=False)
            await self._linger(reader)  # the rest of the line and the headers may still be coming
            return False
        except asyncio.LimitOverrunError:
            await self._send(writer, self._error_response(HTTPError(
                431, f"the request line and headers exceed {self.max_header_bytes} bytes")), keep=False)
            await self._linger(reader)
            return False
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                await self._send(writer, self._error_response(HTTPError(
                    400, "the connection ended inside the request head")), keep=False)
            return False
        except asyncio.TimeoutError:
            # a request begun and not finished: say so (an idle connection is closed silently). A request
            # line itself unfinished is only in the reader's buffer (readuntil keeps what it has not cut):
            # such a client was closed without an answer, as if it had sent nothing
            partial = _buffered(reader)
            if lines:
                what = f"{counted(len(lines), 'line')} came, not the empty line that ends the headers"
            elif partial.strip():
                what = (f"{counted(len(partial), 'byte')} of the request line came ({_preview(partial)}), "
                        "not its end (CRLF)")
            else:
                return False
            await self._send(writer, self._error_response(HTTPError(
                408, f"the request head was not complete within {self.idle_timeout:g} s "
                     f"(ControlServer.idle_timeout): {what}")), keep=False)
            await self._linger(reader)
            return False
        finally:
            self._waiting.pop(writer, None)  # a request (or the connection's end) came: not idle
        if len(head) > self.max_header_bytes:
            await self._send(writer, self._error_response(HTTPError(
                431, f"the request line and headers exceed {self.max_header_bytes} bytes")), keep=False)
            return False
        req: Request | None = None
        keep = False
        body_read = False
        try:
            req = self._parse_head(head)
            keep = self._keep_alive(req)
            length = self._content_length(req)
            expect = req.header("expect")
            if expect is not None:
                if expect.lower() != "100-continue":
                    raise HTTPError(417, f"unsupported Expect: {expect!r} (only 100-continue)", field="Expect",
                                    close=True)
                if req.version >= (1, 1) and length:
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if length:
                req.body = await self._read_body(reader, length)
            body_read = True  # nothing of this request is left unread
            if self._stopping:  # (stop() lets a request begun finish; this one has not begun)
                raise HTTPError(503, f"the control API is stopping; {req.method} {req.path} was not applied",
                                close=True)
            resp = await self._dispatch(req)
        except HTTPError as err:
            resp = self._error_response(err)
            keep = keep and not err.close
        keep = keep and not self._stopping  # (the answer of a request stop() let finish: the last one)
        await self._send(writer, resp, keep=keep, head=req is not None and req.method == "HEAD")
        if not keep and not body_read:
            await self._linger(reader)  # the client may still be sending a body we refused
        return keep

    async def _read_body(self, reader: asyncio.StreamReader, length: int) -> bytes:
        """The ``length`` bytes of a body, within :attr:`body_timeout`: 408 naming how many came when
        they do not (a Content-Length larger than the body sent, a client stalled: the connection was
        closed without an answer), 400 when the connection ends first."""
        chunks: list[bytes] = []

        async def read_all() -> None:
            got = 0
            while got < length:
                chunk = await reader.read(min(length - got, 65536))
                if not chunk:
                    raise HTTPError(400, f"the connection ended after {got} of the {length} body bytes "
                                         "Content-Length announced", close=True)
                chunks.append(chunk)
                got += len(chunk)

        try:
            await asyncio.wait_for(read_all(), self.body_timeout)
        except asyncio.TimeoutError:
            got = sum(map(len, chunks))
            raise HTTPError(408, f"the body did not come within {self.body_timeout:g} s (ControlServer.body_timeout): "
                                 f"{got} of the {length} bytes Content-Length announced", field="Content-Length",
                            close=True) from None
        return b"".join(chunks)

    async def _read_head(self, reader: asyncio.StreamReader, lines: list[bytes] | None = None) -> bytes:
        """The request line and headers, up to the empty line that ends them: CRLF CRLF, or a bare LF
        one (answered 400 by :meth:`_parse_head`; waiting for a CRLF CRLF that never comes left such a
        client without an answer until the idle timeout). Empty lines before the request line are
        skipped (RFC 9112 §2.2). _RequestLineTooLong when the request line alone exceeds the limit
        (414), LimitOverrunError when a header line does (431); IncompleteReadError with all that was
        read when the peer ends first. ``lines`` gets the lines as they come."""
        lines = [] if lines is None else lines
        total = 0
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raise asyncio.IncompleteReadError(b"".join(lines) + exc.partial, None) from None
            except asyncio.LimitOverrunError:
                if not lines:
                    raise _RequestLineTooLong() from None
                raise
            total += len(line)
            if total > self.max_header_bytes:
                if not lines and line not in (b"\r\n", b"\n"):
                    raise _RequestLineTooLong()
                return b"".join(lines) + line  # (431 by the caller)
            if line in (b"\r\n", b"\n"):
                if lines:
                    return b"".join(lines) + line
                continue
            lines.append(line)

    async def _linger(self, reader: asyncio.StreamReader) -> None:
        """Before closing, read and discard what the client is still sending (a body refused with 413,
        say) for a bounded time, so that it reads our answer instead of a reset (RFC 9112 §9.6)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger_seconds
        budget = self.linger_bytes
        with contextlib.suppress(Exception):
            while budget > 0:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
                if not chunk:
                    return
                budget -= len(chunk)

    def _parse_head(self, head: bytes) -> Request:
        text = head.decode("latin-1")
        text = text.lstrip("\r\n")  # RFC 9112 §2.2: ignore empty lines before the request line
        lines = text[:-4].split("\r\n") if text.endswith("\r\n\r\n") else text.split("\r\n")
        if any("\n" in ln or "\r" in ln for ln in lines):
            raise HTTPError(400, "bare CR or LF in the request head; lines end with CRLF", close=True)
        m = _REQUEST_LINE.match(lines[0])
        if m is None:
            raise HTTPError(400, f"malformed request line {lines[0][:200]!r}; expected 'METHOD /path HTTP/1.1'",
                            close=True)
        method, target, major, minor = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        if major != 1:
            raise HTTPError(505, f"HTTP/{major}.{minor} is not supported; use HTTP/1.1", close=True)
        headers: dict[str, list[str]] = {}
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t"):
                raise HTTPError(400, "obsolete header line folding is not accepted", close=True)
            name, sep, value = ln.partition(":")
            if not sep or not _TOKEN.match(name):
                raise HTTPError(400, f"malformed header line {ln[:200]!r}", close=True)
            headers.setdefault(name.lower(), []).append(value.strip(" \t"))
        try:  # (the head is read as Latin-1; a target's bytes are UTF-8, as its %-escapes are: curl sends a query's so)
            target = target.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPError(400, f"the request target is not UTF-8 ({exc.reason} at byte {exc.start}: "
                                 f"{_preview(exc.object[max(0, exc.start - 20):exc.end + 20])}); "
                                 "percent-encode its UTF-8 bytes", field="target", close=True) from None
        resource = target
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is not None:  # http://host:port/path?query, as proxies and some clients send (RFC 9112 §3.2.2)
            resource = self._absolute_resource(target, *absolute.groups())
        elif not target.startswith("/"):
            raise HTTPError(400, f"request target {target[:200]!r} must be a path (origin form, '/...') or an "
                                 "http:// URL (absolute form)", field="target", close=True)
        # (cut by hand: urlsplit reads a target beginning with '//' as '//host/path', so GET //health, sent for a
        # base URL ending in '/', was path '' and POST //x/reset was POST /reset)
        path, _, query_text = resource.partition("#")[0].partition("?")
        try:
            query = parse_qs(query_text, keep_blank_values=True, strict_parsing=False, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"malformed query string: {exc}", field="query", close=True) from None
        req = Request(method=method, target=target, path=path, query=query, version=(major, minor),
                      headers=headers)
        if (major, minor) >= (1, 1) and len(headers.get("host", [])) != 1:
            raise HTTPError(400, "an HTTP/1.1 request needs exactly one Host header", field="Host", close=True)
        return req

    @staticmethod
    def _absolute_resource(target: str, scheme: str, authority: str, rest: str) -> str:
        """The path and query of an absolute-form target (``http://host:port/path?query``), which a server
        MUST accept (RFC 9112 §3.2.2; it was a 400). Its host is not checked against this server's: the
        mock has one set of endpoints, whatever name or address a client reaches it by (a port forwarded,
        a container's name, a proxy in front); a 421 for a host of another name would refuse such a client
        and protect nothing, as the API never forwards a request. The Host header is still required
        (RFC 9112 §3.2) but, as the RFC says, the target's host is the one that counts."""
        if scheme.lower() != "http":
            raise HTTPError(400, f"request target {target[:200]!r}: the control API speaks plain HTTP; an "
                                 f"absolute-form target is an http:// URL, not {scheme}://", field="target", close=True)
        if not _AUTHORITY.fullmatch(authority):  # (empty, user@host: RFC 9110 §4.2.1, §4.2.4)
            raise HTTPError(400, f"request target {target[:200]!r} names no valid host[:port] "
                                 f"({authority[:100]!r})", field="target", close=True)
        return rest if rest.startswith("/") else "/" + rest  # (an empty path is '/': RFC 9110 §4.2.3)

    def _keep_alive(self, req: Request) -> bool:
        tokens = {t.strip().lower() for v in req.headers.get("connection", []) for t in v.split(",")}
        if req.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens

    def _content_length(self, req: Request) -> int:
        if "transfer-encoding" in req.headers:
            raise HTTPError(501, "Transfer-Encoding request bodies are not supported; send Content-Length",
                            field="Transfer-Encoding", close=True)
        values = {v.strip() for raw in req.headers.get("content-length", []) for v in raw.split(",")}
        if not values:
            return 0
        if len(values) > 1 or not all(re.fullmatch(r"\d{1,18}", v) for v in values):
            raise HTTPError(400, f"invalid Content-Length {sorted(values)}", field="Content-Length", close=True)
        n = int(values.pop())
        if n > self.max_body_bytes:
            raise HTTPError(413, f"the body is {n} bytes; the limit is {self.max_body_bytes}",
                            field="Content-Length", close=True, limit=self.max_body_bytes)
        return n

    async def _send(self, writer: asyncio.StreamWriter, resp: Response, *, keep: bool, head: bool = False) -> None:
        body = resp.payload()
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {resp.status} {reason}",
                 f"Content-Type: {resp.content_type}",
                 f"Content-Length: {len(body)}",
                 "Cache-Control: no-store",
                 "Server: mockcti-control",
                 f"Connection: {'keep-alive' if keep else 'close'}"]
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body))
        try:
            await asyncio.wait_for(writer.drain(), self.send_timeout)
        except asyncio.TimeoutError:
            # a client that reads nothing of its answer (a big GET /journal, say) would keep this task
            # and the answer's bytes for ever: dropped (a reset, the queued bytes are discarded)
            self._note(f"control client read nothing of a {len(body)}-byte answer in {self.send_timeout:g} s: dropped")
            writer.transport.abort()
            raise
        if not keep:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()

    def _error_response(self, err: HTTPError) -> Response:
        return Response(err.status, err.body(), headers=err.headers)

    # -- routing ----------------------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[re.Pattern[str], dict[str, Handler]]]:
        table: list[tuple[str, dict[str, Handler]]] = [
            ("/", {"GET": self.get_index}),
            ("/health", {"GET": self.get_health}),
            ("/state", {"GET": self.get_state}),
            ("/journal", {"GET": self.get_journal}),
            ("/violations", {"GET": self.get_violations}),
            ("/report", {"GET": self.get_report}),
            ("/report/junit", {"GET": self.get_report_junit}),
            ("/calls", {"GET": self.get_calls, "POST": self.post_calls}),
            ("/calls/(?P<call>[^/]+)", {"GET": self.get_call}),
            ("/calls/(?P<call>[^/]+)/hangup", {"POST": self.post_call_hangup}),
            ("/agents/(?P<agent>[^/]+)/state", {"POST": self.post_agent_state}),
            ("/events/system", {"POST": self.post_system_event}),
            ("/events/failure", {"POST": self.post_failure_event}),
            ("/failover", {"POST": self.post_failover}),
            ("/scenario", {"GET": self.get_scenario, "POST": self.post_scenario, "DELETE": self.delete_scenario}),
            ("/faults", {"GET": self.get_faults, "POST": self.post_faults, "DELETE": self.delete_faults}),
            ("/reset", {"POST": self.post_reset}),
        ]
        return [(re.compile(f"^{p}$"), h) for p, h in table]

    async def _dispatch(self, req: Request) -> Response:
        for pattern, methods in self._routes:
            m = pattern.match(req.path)
            if m is None:
                continue
            method = "GET" if req.method == "HEAD" and "GET" in methods else req.method
            handler = methods.get(method)
            if handler is None:
                allow = sorted(methods) + (["HEAD"] if "GET" in methods else [])
                raise HTTPError(405, f"{req.method} is not allowed on {req.path}; allowed: {', '.join(allow)}",
                                field="method", headers={"Allow": ", ".join(allow)}, allowed=allow)
            try:  # (unquote's default put U+FFFD for %FF: "unknown agent '\ufffd'")
                req.params = {k: unquote(v, errors="strict") for k, v in m.groupdict().items()}
            except UnicodeDecodeError as exc:
                raise HTTPError(400, f"the path {req.path!r} is not UTF-8 once its %-escapes are decoded "
                                     f"({exc.reason})", field="path") from None
            try:
                if method in ("GET", "HEAD"):
                    result = await handler(req)
                else:  # one change at a time, in the order they come (a reset and a scenario load wait for the
                    # sessions they drop: a change sent meanwhile was applied inside them, then undone by them)
                    async with self._changes:
                        result = await handler(req)
            except HTTPError:
                raise
            except Exception as exc:  # noqa: BLE001 - a handler bug answers 500; the mock keeps running
                self._note(f"control API {req.method} {req.path} failed: {type(exc).__name__}: {exc}",
                           trace=traceback.format_exc(limit=8))
                raise HTTPError(500, f"internal error: {type(exc).__name__}: {exc}") from None
            return result if isinstance(result, Response) else Response(200, result)
        for pattern, _ in self._routes:  # an endpoint's path with its {agent} or {call} empty: an unset variable
            m = re.match(pattern.pattern.replace("[^/]+", "[^/]*"), req.path)
            empty = [k for k, v in (m.groupdict() if m else {}).items() if not v]
            if empty:  # (was "no endpoint '/calls//hangup'", or a hint to GET /calls/hangup)
                also = self._slash_hint(req.path, req.method).replace(" (did you mean", " (or did you mean")
                raise HTTPError(404, f"the path {req.path!r} names no {empty[0]}: its {{{empty[0]}}} is empty (an unset "
                                     f"variable in the URL?){also}", field=empty[0])
        raise HTTPError(404, f"no endpoint {req.path!r}{self._slash_hint(req.path, req.method)}; endpoints: "
                             f"{', '.join(ENDPOINTS)}", field="path", endpoints=list(ENDPOINTS))

    def _slash_hint(self, path: str, method: str) -> str:
        """" (did you mean /health? …)" when ``path`` is that of an endpoint taking ``method`` with a '/' doubled or
        trailing (a base URL ending in '/', "$C/health" sending //health), else ""."""
        mended = re.sub("/{2,}", "/", path)
        mended = mended.rstrip("/") or "/"
        method = "GET" if method == "HEAD" else method
        if mended == path or not any(pattern.match(mended) and method in methods for pattern, methods in self._routes):
            return ""
        why = ": a base URL ending in '/'" if path.startswith("//") else ""
        return f" (did you mean {mended}? a '/' too many{why})"

    # -- helpers -----------------------------------------------------------------------------------

    @property
    def hub(self) -> Any:
        return self.mock.hub

    def _note(self, text: str, **data: Any) -> None:
        with contextlib.suppress(Exception):
            self.hub.journal.record("note", self.mock.now(), None, what=text, **data)

    def _call(self, fn: Callable[[Any, float], Any]) -> Any:
        """Run ``fn(hub, now)`` through the server so that what it queues goes out at once."""
        try:
            return self.mock.call(fn)
        except Exception:
            self.mock.run_actions()  # what was queued before the failure still goes out
            raise

    def _sessions_detail(self) -> list[dict[str, Any]]:
        hub = self.hub
        out = []
        for sid, conn in sorted(hub.conns.items()):
            sub = hub.center.subs.get(sid)
            out.append({"id": sid, "peer": conn.peer, "state": conn.session.state.name,
                        "mode": sub.mode if sub else None, "agent_id": sub.agent_id if sub else None,
                        "client_id": sub.client_id if sub else None, "version": sub.version if sub else None,
                        "paused": conn.session.reading_paused})
        return out

    def _session_arg(self, data: Mapping[str, Any], *, default_all: bool = False) -> list[int]:
        if "session" not in data or data["session"] is None:
            if default_all:
                return sorted(self.hub.conns)
            raise HTTPError(400, "missing field 'session' (a session id or \"all\")", field="session")
        v = data["session"]
        if v == "all":
            return sorted(self.hub.conns)
        if isinstance(v, bool) or not isinstance(v, int):
            raise HTTPError(400, f"'session' must be a session id (integer) or \"all\", got {_type_name(v)}",
                            field="session")
        if v not in self.hub.conns:
            known = sorted(self.hub.conns)
            raise HTTPError(400, f"unknown session {v}" + _allowed(v, known, guess=False), field="session",
                            allowed=known)
        return [v]

    # -- read-only endpoints --------------------------------------------------------------------------

    async def get_index(self, req: Request) -> Any:
        req.args(())
        return {"tool": "mockcti", "endpoints": ENDPOINTS}

    async def get_health(self, req: Request) -> Any:
        req.args(())
        hub = self.hub
        return {"ok": True, "sessions": len(hub.open_sessions()), "connections": len(hub.conns),
                "online": hub.center.online, "standby": bool(hub.standby),
                "scenario": getattr(self.scenario, "name", None)}

    async def get_state(self, req: Request) -> Any:
        args = req.args(("limit",))
        limit = _query_int(args, "limit", lo=0, hi=100_000, default=1000)
        hub = self.hub
        snap = hub.center.snapshot(max_calls=limit)
        return {**snap, "open_sessions": hub.open_sessions(), "connections": self._sessions_detail(),
                "standby": bool(hub.standby), "scenario": getattr(self.scenario, "name", None),
                "faults": self._faults_view(), "now": round(self.mock.now(), 6)}

    async def get_journal(self, req: Request) -> Any:
        from mockcti.journal import ENTRY_KINDS

        args = req.args(("since", "kind", "session", "limit"))
        since = _query_int(args, "since", lo=0, hi=2 ** 62, default=0)
        limit = _query_int(args, "limit", lo=1, hi=100_000, default=1000)
        session = _query_int(args, "session", lo=0, hi=2 ** 62, default=None)
        kind = args.get("kind")
        if kind is not None and kind not in ENTRY_KINDS:
            raise HTTPError(400, f"unknown kind {kind!r}" + _allowed(kind, ENTRY_KINDS), field="kind",
                            allowed=list(ENTRY_KINDS))
        journal = self.hub.journal
        matched = [e for e in journal.since(since or 0)
                   if (kind is None or e.kind == kind) and (session is None or e.session == session)]
        page = matched[:limit]
        more = len(matched) > len(page)
        if more:
            nxt = page[-1].seq
        else:
            stored = journal.since(since or 0)
            nxt = stored[-1].seq if stored else (since or 0)
        # entries recorded but no longer in memory (the message cap, the bounds of a keep=False journal):
        # a reader paging with ``since`` sees a gap in ``seq`` and, here, how many of each kind went
        return {"entries": [e.to_dict() for e in page], "next": nxt, "more": more,
                "keeps_messages": bool(journal.keep and journal.messages),
                "dropped": dict(sorted(journal.dropped.items()))}

    async def get_violations(self, req: Request) -> Any:
        args = req.args(("since", "session"))
        since = _query_int(args, "since", lo=0, hi=2 ** 62, default=0)
        session = _query_int(args, "session", lo=0, hi=2 ** 62, default=None)
        vs = [e for e in self.hub.journal.violations(session) if e.seq > (since or 0)]
        by_rule: dict[str, int] = {}
        for e in vs:
            rule = e.data.get("rule", "?")
            by_rule[rule] = by_rule.get(rule, 0) + 1
        return {"count": len(vs), "by_rule": by_rule, "violations": [e.to_dict() for e in vs],
                "next": vs[-1].seq if vs else since}

    def _summary(self) -> dict[str, Any]:
        from mockcti.report import build_summary, run_seed

        # (the name its expectations have in the report: "A (2nd load)" when loaded again)
        extra = ({"scenario": self.hub.engine_label or getattr(self.scenario, "name", None)}
                 if self.scenario is not None else None)
        # the scenarios replaced or unloaded since the last reset first, each judged when it went, then this one
        expectations = self.hub.expectations(self.mock.now())
        seed = run_seed(self.hub, self.seed)
        return build_summary(self.hub.journal, expectations=expectations, seed=seed, extra=extra)

    async def get_report(self, req: Request) -> Any:
        req.args(())
        return self._summary()

    async def get_report_junit(self, req: Request) -> Any:
        from mockcti.report import junit_xml

        req.args(())
        return Response(200, junit_xml(self._summary()), content_type="application/xml")

    # -- the contact center -------------------------------------------------------------------------

    async def post_calls(self, req: Request) -> Any:
        req.args(())
        data = req.json(("agent", "csq", "ani", "dnis", "variables", "named_variables", "named_arrays"))
        center = self.hub.center
        from mockcti.center.config import MAX_AGENT_ID

        # (an agent ID as long as a center file takes; ANI and DNIS measured in bytes by check_call_data below,
        # which names the limit the call events have, 39 and 31 — a cap of 64 characters here named none)
        agent = _str(data, "agent", max_len=MAX_AGENT_ID)
        csq = _str(data, "csq", max_len=64)
        ani = _str(data, "ani", default="0600000000")
        dnis = _str(data, "dnis", default="7000")
        if agent is None and csq is None:
            raise HTTPError(400, "give 'agent' (deliver to that agent) or 'csq' (route through the queue)",
                            field="agent")
        if agent is not None and agent not in center.agents:
            raise HTTPError(400, f"unknown agent {agent!r}" + _unknown_agent(center, agent), field="agent",
                            allowed=list(center.agents))
        csqs = [c.name for c in center.config.csqs]
        if csq is not None and csq not in csqs:
            raise HTTPError(400, f"unknown CSQ {csq!r}" + _allowed(csq, csqs), field="csq", allowed=csqs)
        from mockcti.center.config import CALL_DATA_MAX, CallDataError

        variables = data.get("variables")
        if variables is not None:  # (one answer for all of them, field 'variables', named none: which one?)
            if not isinstance(variables, dict):
                raise HTTPError(400, f"'variables' must be an object of call variables (call_variable1 .. "
                                     f"call_variable10) to strings, got {_type_name(variables)}", field="variables")
            for k, v in variables.items():
                if k in CALL_DATA_MAX and k.startswith("call_variable") and not isinstance(v, str):
                    path = fmt_path(("variables", k))
                    raise HTTPError(400, f"{path!r} must be a string, got {_type_name(v)}", field=path)

        named_variables, named_arrays = data.get("named_variables"), data.get("named_arrays")
        try:  # what the call events cannot carry is refused here, before any call exists
            center.check_call_data(ani or "", dnis or "", variables, named_variables, named_arrays)
        except CallDataError as exc:
            raise HTTPError(400, str(exc), field=fmt_path(exc.key_path("variables"))) from None

        def go(hub: Any, now: float) -> int:
            call_id, deliveries = hub.center.deliver_call(now, csq=csq, agent_id=agent, ani=ani, dnis=dnis,
                                                          variables=variables, named_variables=named_variables,
                                                          named_arrays=named_arrays)
            hint = hub.center.queue_hint(call_id)
            hub.journal.record("happening", now, None, what="control API call", call_id=call_id, csq=csq,
                               agent=agent, ani=ani, **({} if hint is None else {"hint": hint}))
            hub.deliver(deliveries)
            return call_id

        from mockcti.center.core import CallNotOffered

        try:
            call_id = self._call(go)
        except CallNotOffered as exc:  # the agent logged out, or its phone busy: no call was made
            raise HTTPError(409, str(exc), field=exc.field) from None
        queued = any(call_id in q for q in center.queues.values())
        body: dict[str, Any] = {"call_id": call_id, "queued": queued}
        hint = center.queue_hint(call_id)
        if hint is not None:  # queued with no agent to ring: a test waiting for the ring would wait for ever
            body["hint"] = hint
        return body

    def _call_param(self, req: Request) -> Any:
        """The call ``{id}`` of the path names, or 404 naming ``call`` (and some calls there are)."""
        text = req.params["call"]
        call = self.hub.center.calls.get(int(text)) if text.isdecimal() and len(text) <= 10 else None
        if call is None:
            known = sorted(self.hub.center.calls)
            raise HTTPError(404, f"unknown call {text[:40]!r}" + _allowed(text, known, show=20, guess=False),
                            field="call", allowed=known[:100])
        return call

    async def get_calls(self, req: Request) -> Any:
        args = req.args(("agent", "csq", "after", "limit"))
        center = self.hub.center
        after = _query_int(args, "after", lo=0, hi=2 ** 62, default=0) or 0
        limit = _query_int(args, "limit", lo=1, hi=100_000, default=1000) or 1000
        agent, csq = args.get("agent"), args.get("csq")
        if agent is not None and agent not in center.agents:
            raise HTTPError(400, f"unknown agent {agent!r}" + _unknown_agent(center, agent), field="agent",
                            allowed=list(center.agents))
        csq_id = None
        if csq is not None:
            csqs = {c.name: c.id for c in center.config.csqs}
            if csq not in csqs:
                raise HTTPError(400, f"unknown CSQ {csq!r}" + _allowed(csq, csqs), field="csq", allowed=list(csqs))
            csq_id = csqs[csq]
        # calls are kept in the order they were made, call IDs rising: ``after`` pages through them
        page: list[Any] = []
        count = 0
        for c in center.calls.values():
            if (csq_id is not None and c.csq_id != csq_id) or \
                    (agent is not None and all(lg.agent != agent for lg in c.legs.values())):
                continue
            count += 1
            if c.id > after and len(page) <= limit:
                page.append(c)
        more = len(page) > limit
        page = page[:limit]
        positions = center.queue_positions() if page else {}
        return {"calls": [center.call_view(c, positions) for c in page], "count": count, "more": more,
                "next": page[-1].id if page else after}

    async def get_call(self, req: Request) -> Any:
        req.args(())
        return self.hub.center.call_view(self._call_param(req))

    async def post_call_hangup(self, req: Request) -> Any:
        req.args(())
        call = self._call_param(req)
        data = req.json(("device",))
        device = _str(data, "device", max_len=64)
        party = call.ani if device is None else device
        if party not in call.legs:
            who = f"{device!r} is" if device is not None else f"the caller ({call.ani}) is no longer"
            raise HTTPError(400, f"{who} not on call {call.id}" + _allowed(device, sorted(call.legs), guess=False),
                            field="device", allowed=sorted(call.legs))

        def go(hub: Any, now: float) -> bool:
            hub.journal.record("happening", now, None, what="control API hang-up", call_id=call.id, device=party)
            hub.deliver(hub.center.hang_up(now, call.id, party))
            return call.id not in hub.center.calls

        return {"call_id": call.id, "device": party, "ended": self._call(go)}

    async def post_agent_state(self, req: Request) -> Any:
        from mockcti.wire.enums import AgentState

        req.args(())
        agent_id = req.params["agent"]
        center = self.hub.center
        if agent_id not in center.agents:
            raise HTTPError(404, f"unknown agent {agent_id!r}" + _unknown_agent(center, agent_id), field="agent",
                            allowed=list(center.agents))
        data = req.json(("state", "reason_code"))
        name = _str(data, "state", required=True, max_len=64)
        # what an administrator or supervisor can set; TALKING, RESERVED, HOLD, … are the calls' doing
        from mockcti.center.core import SETTABLE_AGENT_STATES

        names = {m.name.removeprefix("AGENT_STATE_"): m for m in SETTABLE_AGENT_STATES}
        key = name.upper().removeprefix("AGENT_STATE_") if name else ""
        if key not in names:
            why = (" (set by the center as calls come and go, not settable)"
                   if key in {n.removeprefix("AGENT_STATE_") for n in AgentState.__members__} else "")
            raise HTTPError(400, f"unknown agent state {name!r}{why}" + _allowed(name, names), field="state",
                            allowed=list(names))
        reason = _int(data, "reason_code", lo=0, hi=0xFFFF, default=0)

        def go(hub: Any, now: float) -> None:
            hub.deliver(hub.center.set_agent_state(now, agent_id, names[key], reason or 0))
            hub.journal.record("happening", now, None, what="control API agent state", agent=agent_id,
                               state=names[key].name, reason_code=reason)

        try:
            self._call(go)
        except ValueError as exc:  # LOGOUT while the agent has a call, LOGIN of an agent logged in
            raise HTTPError(409, str(exc), field="state") from None
        a = center.agents[agent_id]
        body = {"agent": agent_id, "state": a.state.name, "reason_code": a.reason}
        if a.pending is not None:  # asked while on a call: taken when the call ends (§7.2)
            body["after_call"] = a.pending.name
        return body

    async def post_system_event(self, req: Request) -> Any:
        from mockcti.wire.enums import SystemEventID

        req.args(())
        data = req.json(("event", "text", "device"))
        name = _str(data, "event", required=True, max_len=64)
        names = list(SystemEventID.__members__)
        if name not in names:
            raise HTTPError(400, f"unknown system event {name!r}" + _allowed(name, names), field="event",
                            allowed=names)
        text = _str(data, "text", max_len=255, max_bytes=254)  # SYSTEM_EVENT Text: 255 bytes with the NUL
        device = _str(data, "device", max_len=64, max_bytes=63)  # EventDeviceID: 64 with the NUL
        eid = SystemEventID[name]

        def go(hub: Any, now: float) -> int:
            hub.journal.record("happening", now, None, what="control API system event", event=eid.name, text=text)
            deliveries = hub.center.system_event(now, eid, text=text, device=device, wall_time=hub.wall_time(now))
            hub.deliver(deliveries)
            return len(deliveries)

        n = self._call(go)
        return {"event": eid.name, "id": int(eid), "sessions": n, "online": self.hub.center.online}

    async def post_failure_event(self, req: Request) -> Any:
        from mockcti.wire.enums import StatusCode

        req.args(())
        data = req.json(("status", "text", "sessions"))
        from mockcti.wire.enums import UCCX_STATUS_CODES

        name = _str(data, "status", required=True, max_len=64)
        # a UCCX server sends only the statuses UCCX names (reference §6.1; 32 is named on its
        # session-failure page); the others only when the mock speaks the UCCE profile
        uccx = self.hub.config.session.profile.name == "uccx"
        names = [n for n, m in StatusCode.__members__.items()
                 if not uccx or m in UCCX_STATUS_CODES or m is StatusCode.E_CTI_INCONSISTENT_AGENT_DATA]
        if name not in names:
            why = (" (reserved in UCCX: a UCCX server does not send it; serve the ucce profile to send it)"
                   if name in StatusCode.__members__ else "")
            raise HTTPError(400, f"unknown status {name!r}{why}" + _allowed(name, names), field="status",
                            allowed=names)
        text = _str(data, "text", max_len=255, max_bytes=254)  # FAILURE_EVENT Text: 255 bytes with the NUL
        sessions = data.get("sessions")
        if sessions is not None:
            if not isinstance(sessions, list):
                raise HTTPError(400, f"'sessions' must be an array of session ids (integers), got {_type_name(sessions)}",
                                field="sessions")
            for i, s in enumerate(sessions):  # (one answer for any of them, field 'sessions': which one?)
                if isinstance(s, bool) or not isinstance(s, int):
                    raise HTTPError(400, f"'sessions[{i}]' must be a session id (an integer), got {_type_name(s)}",
                                    field=f"sessions[{i}]")
            twice = sorted(s for s, n in collections.Counter(sessions).items() if n > 1)
            if twice:  # each would get the FAILURE_EVENT once per mention
                raise HTTPError(400, f"'sessions' lists session {', '.join(map(str, twice))} more than once",
                                field="sessions")
            open_ = self.hub.open_sessions()
            open_set = set(open_)
            unknown = [s for s in sessions if s not in open_set]
            if unknown:
                raise HTTPError(400, f"unknown session {', '.join(map(str, unknown))} (not open)"
                                + _allowed("", open_, guess=False), field="sessions", allowed=open_)
        status = StatusCode[name]

        def go(hub: Any, now: float) -> list[int]:
            hub.journal.record("happening", now, None, what="control API failure event", status=status.name,
                               text=text)
            deliveries = hub.center.failure_event(now, status, text=text, session_ids=sessions)
            hub.deliver(deliveries)
            return [d.session_id for d in deliveries]

        sids = self._call(go)
        return {"status": status.name, "code": int(status), "sessions": sids}

    async def post_failover(self, req: Request) -> Any:
        req.args(())
        data = req.json(("seconds",))
        seconds = _num(data, "seconds", lo=0.0, hi=86400.0, default=5.0)
        dropped = sorted(self.hub.conns)
        self._call(lambda hub, now: hub.failover(now, seconds))
        return {"standby_seconds": seconds, "dropped": dropped}

    # -- scenarios ---------------------------------------------------------------------------------

    async def get_scenario(self, req: Request) -> Any:
        req.args(())
        s = self.scenario
        if s is None:
            return {"scenario": None}
        return {"scenario": getattr(s, "name", None), "reported_as": self.hub.engine_label,
                "description": getattr(s, "description", None),
                "files": list(getattr(s, "files", ())), "engine": type(self.hub.engine).__name__
                if self.hub.engine is not None else None}

    async def post_scenario(self, req: Request) -> Any:
        req.args(())
        ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
        if req.body.strip() and ("yaml" in ctype or "toml" in ctype):  # the scenario file itself, sent as the body
            fmt = "toml" if "toml" in ctype else "yaml"
            raise HTTPError(415, f"POST /scenario takes JSON, not {ctype!r}: the scenario's text as {{\"{fmt}\": \"...\"}} "
                                 f"(jq -Rs '{{{fmt}: .}}' scenario.{fmt} | curl --json @- {self.url}/scenario), or "
                                 f"{{\"path\": \"scenario.{fmt}\"}} for a file the server reads", field="Content-Type")
        try:
            data = req.json(("path", "yaml", "toml"))
        except HTTPError as err:  # (curl --json @scenario.yaml: the file's text itself, sent as JSON)
            if err.status == 400 and err.error.startswith("the body is not valid JSON"):
                err.error += (f"; a scenario's text goes in a JSON object, {{\"yaml\": \"...\"}} or {{\"toml\": \"...\"}}: "
                              f"jq -Rs '{{yaml: .}}' scenario.yaml | curl --json @- {self.url}/scenario")
            raise
        given = [k for k in ("path", "yaml", "toml") if data.get(k) is not None]
        if len(given) != 1:  # (both 'yaml' and 'toml' named 'path', which was not given)
            got = f"; got {' and '.join(map(repr, given))}" if given else ""
            raise HTTPError(400, "give exactly one of 'path' (a file the server reads), 'yaml' or 'toml' (the text)"
                                 + got, field=given[0] if given else "path")
        key = given[0]
        value = _str(data, key, required=True, max_len=self.max_body_bytes)
        if key == "path" and not value:  # (was "invalid scenario: : cannot read the file")
            raise HTTPError(400, "'path' is empty: give the path of a scenario file the server can read", field="path")
        try:
            loader = importlib.import_module("mockcti.scenario")
            error_type = loader.ScenarioError
        except Exception as exc:  # noqa: BLE001
            raise HTTPError(501, f"scenarios are not available in this build: {exc}", field=key) from None
        try:
            if key == "path":
                scenario = loader.load_scenario(value)
            else:
                scenario = loader.load_scenario_text(value, filename=f"<control API {key}>", fmt=key)
        except error_type as exc:
            raise HTTPError(400, f"invalid scenario: {exc}", field=key,
                            errors=[e.as_dict() for e in getattr(exc, "errors", [exc]) if hasattr(e, "as_dict")]) \
                from None
        factory = self.engine_factory or default_engine_factory()
        if factory is None:
            raise HTTPError(501, "the scenario is valid, but no scenario engine is available yet "
                                 "(mockcti.scenario.engine is not importable); it was not loaded",
                            field=key, scenario=getattr(scenario, "name", None))
        dropped = await self._install(scenario, factory)
        # the name its expectations have in the report (JUnit suite mockcti.scenario.<reported_as>): its own, or
        # "A (2nd load)" … when the same name was loaded before since the last reset
        return {"scenario": getattr(scenario, "name", None), "reported_as": self.hub.engine_label, "loaded": True,
                "files": list(getattr(scenario, "files", ())), "dropped": dropped}

    def _make_engine(self, scenario: Any, factory: Callable[[Any], Any]) -> Any:
        try:
            return factory(scenario)
        except Exception as exc:  # noqa: BLE001 - an engine that refuses the scenario is the caller's problem
            raise HTTPError(422, f"the scenario engine refused the scenario: {type(exc).__name__}: {exc}",
                            field="scenario") from None

    def _center_for(self, scenario: Any, engine: Any, seed: int) -> Any:
        """The center a (re)start uses: the scenario's own when it describes one, else the base one."""
        from mockcti.center import ContactCenter

        if scenario is not None and getattr(scenario, "center", None) and hasattr(engine, "build_center"):
            try:
                return engine.build_center()
            except Exception as exc:  # noqa: BLE001
                raise HTTPError(422, f"the scenario's center cannot be built: {type(exc).__name__}: {exc}",
                                field="scenario") from None
        return ContactCenter(self._base_config or self.hub.center.config, seed=seed)

    async def _drop_all(self, reason: str) -> list[int]:
        """Abort every connection and wait (bounded) until the hub has seen them go."""
        dropped = sorted(self.hub.conns)
        if not dropped:
            return []
        self._call(lambda hub, now: [hub.close(sid, reason, abort=True) for sid in list(hub.conns)])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while (self.hub.conns or self.mock.connections) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for sid in list(self.hub.conns):  # anything left without a live connection
            def gone(hub: Any, now: float, sid: int = sid) -> list[Any]:
                return [hub.act(a) for a in hub.disconnected(sid, now, reason=reason)]

            self._call(gone)
        return dropped

    async def _install(self, scenario: Any, factory: Callable[[Any], Any]) -> list[int]:
        """Load ``scenario``: a new engine; when the scenario describes its own center, every session
        is dropped (they belong to the old center) and that center replaces the current one."""
        engine = self._make_engine(scenario, factory)
        dropped: list[int] = []
        center = None
        if getattr(scenario, "center", None) and hasattr(engine, "build_center"):
            center = self._center_for(scenario, engine, self.seed)
            dropped = await self._drop_all("control API: scenario loaded")

        hub_config = self._hub_config_for(scenario, engine)

        def go(hub: Any, now: float) -> None:
            _detach(hub.engine, now)
            if center is not None:
                hub.center = center
            hub.config = hub_config
            hub.set_engine(engine, now)
            hub.journal.record("scenario", now, None, what="loaded by the control API",
                               scenario=getattr(scenario, "name", None))

        self._call(go)
        self.scenario = scenario
        return dropped

    def _hub_config_for(self, scenario: Any, engine: Any) -> Any:
        """The server's hub configuration serving ``scenario``'s ``dialect:`` when it has one (as
        ``mockcti run`` and ``serve --scenario`` serve it; sessions already open keep theirs), and its
        ``retry_loop:`` unless the server's own is fixed (``serve --retry-loop``: :attr:`retry_loop_fixed`)."""
        config = self._base_hub_config if self._base_hub_config is not None else self.mock.hub.config
        if not self.retry_loop_fixed:
            from mockcti.scenario.engine import with_retry_loop

            config = with_retry_loop(config, scenario)
        dialect = getattr(scenario, "dialect", None)
        if dialect is None or not getattr(dialect, "given", False) or not hasattr(engine, "hub_config"):
            return config
        from mockcti.runner import _with_profile

        return _with_profile(config, engine.hub_config().session.profile)

    async def delete_scenario(self, req: Request) -> Any:
        req.args(())
        previous = getattr(self.scenario, "name", None)

        base = self._base_hub_config

        def go(hub: Any, now: float) -> None:
            if base is not None:
                hub.config = base  # new connections get the server's own dialect again
            if hub.engine is not None:
                _detach(hub.engine, now)
                hub.set_engine(None, now)
                hub.journal.record("scenario", now, None, what="unloaded by the control API", scenario=previous)

        self._call(go)
        self.scenario = None
        return {"scenario": None, "previous": previous}

    # -- transport faults ------------------------------------------------------------------------------

    def _prune_paused(self) -> None:
        """Forget the pauses and fault generations of sessions that are gone (closed by a fault, the client,
        failover; session IDs are never used again, so a timed resume of one finds no generation and does
        nothing). Each POST /faults prunes: the generations of every session a fault ever touched were kept
        for good (a harness pausing each of its sessions once, all day, grew the API by one entry each)."""
        conns = self.hub.conns
        for sid in [s for s in self._paused if s not in conns]:
            del self._paused[sid]
        for sid in [s for s in self._fault_gen if s not in conns]:
            del self._fault_gen[sid]

    def _faults_view(self, sids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """The pauses in force (of ``sids``, default every session), one per session and owner: this API's
        (``pause_reading``, ``delay``) and a scenario's (``stop_reading``, ``"source": "scenario"``)."""
        self._prune_paused()
        conns = self.hub.conns
        out = []
        for sid in sorted(conns if sids is None else (s for s in sids if s in conns)):
            for owner in conns[sid].session.reading_held_by:
                if owner == API_OWNER and sid in self._paused:
                    kind, until = self._paused[sid]
                    out.append({"session": sid, "kind": kind, "until": None if until is None else round(until, 6),
                                "owner": owner})
                elif owner != API_OWNER:
                    until = conns[sid].session.pause_end(owner)
                    out.append({"session": sid, "kind": "stop_reading",
                                "until": None if until is None else round(until, 6),
                                "source": "scenario" if owner.startswith("scenario ") else "other", "owner": owner})
        return out

    async def get_faults(self, req: Request) -> Any:
        req.args(())
        return {"faults": self._faults_view()}

    async def post_faults(self, req: Request) -> Any:
        from mockcti.hub import HalfClose, PauseReading, ResumeReading

        req.args(())
        data = req.json(("session", "kind", "seconds"))
        kind = _str(data, "kind", required=True, max_len=64)
        if kind not in FAULT_KINDS:
            raise HTTPError(400, f"unknown fault kind {kind!r}" + _allowed(kind, FAULT_KINDS), field="kind",
                            allowed=list(FAULT_KINDS))
        if "seconds" in data and "seconds" not in FAULT_KINDS[kind]:
            raise HTTPError(400, f"fault {kind!r} takes no 'seconds'", field="seconds")
        seconds = _num(data, "seconds", lo=0.0, hi=86400.0, default=1.0 if kind == "delay" else None)
        sids = self._session_arg(data)
        self._prune_paused()

        def go(hub: Any, now: float) -> None:
            for sid in sids:
                hub.journal.record("fault", now, sid, fault=kind, source="control API",
                                   **({"seconds": seconds} if seconds is not None else {}))
                if kind in ("pause_reading", "delay"):
                    gen = self._fault_gen[sid] = self._fault_gen.get(sid, 0) + 1
                    hub.act(PauseReading(sid, API_OWNER, None if seconds is None else now + seconds))
                    self._paused[sid] = (kind, None if seconds is None else now + seconds)
                    if seconds is not None:
                        hub.schedule(now + seconds, lambda sid=sid, gen=gen: self._resume(sid, gen))
                elif kind == "resume_reading":
                    self._fault_gen[sid] = self._fault_gen.get(sid, 0) + 1
                    self._paused.pop(sid, None)
                    hub.act(ResumeReading(sid, API_OWNER))
                elif kind == "close":
                    hub.close(sid, "control API fault: close")
                elif kind == "reset":
                    hub.close(sid, "control API fault: reset", abort=True)
                elif kind == "half_close":
                    hub.act(HalfClose(sid))

        self._call(go)
        answer: dict[str, Any] = {"kind": kind, "sessions": sids, **({"seconds": seconds} if seconds is not None else {})}
        left = self._faults_view(sids) if kind == "resume_reading" else []
        if left:  # what another owner (a scenario's stop_reading) holds: not lifted
            answer["still_paused"] = left
        return answer

    def _resume(self, sid: int, gen: int) -> None:
        """A timed pause ends (runs from the hub's timer)."""
        from mockcti.hub import ResumeReading

        if self._fault_gen.get(sid) != gen:
            return  # cleared or replaced since
        self._paused.pop(sid, None)
        self.hub.act(ResumeReading(sid, API_OWNER))

    async def delete_faults(self, req: Request) -> Any:
        from mockcti.hub import ResumeReading

        req.args(())
        data = req.json(("session", "owner"))
        # (default all: a harness clears the faults between tests, and a scenario's stop_reading is a fault in
        # force as GET /faults lists it; "control API" leaves a scenario's pause to the scenario)
        which = _str(data, "owner", max_len=64) or "all"
        if which not in CLEAR_OWNERS:
            raise HTTPError(400, f"unknown owner {which!r}" + _allowed(which, CLEAR_OWNERS), field="owner",
                            allowed=list(CLEAR_OWNERS))
        self._prune_paused()

        def lifted(owner: str) -> bool:
            return which == "all" or owner == which or (which == "scenario" and owner.startswith("scenario "))

        # each pause has its owner: this API's, a scenario's stop_reading (it lifted the scenario's too, and a
        # scenario taken out lifted this API's); what another owner holds is left, and listed in the answer
        conns = self.hub.conns
        held = {sid: [o for o in conn.session.reading_held_by if lifted(o)] for sid, conn in conns.items()}
        if which in ("all", API_OWNER):
            for sid in self._paused:  # (a timed pause of this API not yet begun: none, but its resume is cancelled)
                held.setdefault(sid, [])
        wanted = sorted(conns) if data.get("session") is None else self._session_arg(data)
        sids = [s for s in wanted if held.get(s) or (s in self._paused and which in ("all", API_OWNER))]

        def go(hub: Any, now: float) -> None:
            for sid in sids:
                owners = held.get(sid) or []
                if which in ("all", API_OWNER):
                    self._fault_gen[sid] = self._fault_gen.get(sid, 0) + 1
                    self._paused.pop(sid, None)
                hub.journal.record("fault", now, sid, fault="cleared", source="control API", lifted=owners)
                for owner in owners:
                    hub.act(ResumeReading(sid, owner))

        self._call(go)
        left = self._faults_view(wanted)  # what another owner holds: not lifted
        return {"cleared": sids, **({"still_paused": left} if left else {})}

    # -- reset -------------------------------------------------------------------------------------

    async def post_reset(self, req: Request) -> Any:
        req.args(())
        data = req.json(("seed",))
        seed = _int(data, "seed", lo=0, hi=2 ** 63 - 1, default=self.seed) or 0
        scenario = self.scenario
        factory = (self.engine_factory or default_engine_factory()) if scenario is not None else None
        engine = self._make_engine(scenario, factory) if factory is not None else None
        center = self._center_for(scenario if engine is not None else None, engine, seed)
        dropped = await self._drop_all("control API reset")
        self._paused.clear()
        for sid in list(self._fault_gen):
            self._fault_gen[sid] += 1
        self._prune_paused()  # (the sessions dropped: forgotten)

        hub_config = self._hub_config_for(scenario if engine is not None else None, engine)

        def go(hub: Any, now: float) -> None:
            hub.center = center
            hub.config = hub_config
            hub.end_failover(now)
            hub.standby = self._initial_standby
            _detach(hub.engine, now)
            hub.set_engine(None, now)
            hub.journal.clear()
            hub.forget_scenarios()  # (the report starts over with the journal)
            hub.journal.record("note", now, None, what="control API reset", dropped=dropped)
            if engine is not None:
                hub.set_engine(engine, now)

        self._call(go)
        self.scenario = scenario if engine is not None else None
        return {"reset": True, "dropped": dropped, "scenario": getattr(self.scenario, "name", None)}


# -- scenario engine wiring ----------------------------------------------------------------------


def default_engine_factory() -> Callable[[Any], Any] | None:
    """``mockcti.scenario.engine``'s ``make_engine(scenario)`` or ``ScenarioEngine(scenario)``;
    None while that module does not exist."""
    name = "mockcti.scenario.engine"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, "mockcti.scenario"):
            return None
        raise
    for attr in ("make_engine", "ScenarioEngine", "Engine"):
        f = getattr(mod, attr, None)
        if callable(f):
            return f
    return None


def _detach(engine: Any, now: float) -> None:
    for attr in ("detach", "close", "stop"):
        f = getattr(engine, attr, None)
        if callable(f):
            with contextlib.suppress(Exception):
                try:
                    f(now)
                except TypeError:
                    f()
            return


# -- `mockcti serve --control-port PORT` -----------------------------------------------------------------


def add_serve_arguments(p: Any) -> None:
    g = p.add_argument_group("control API (HTTP/1.1 + JSON, for test suites)")
    g.add_argument("--control-port", type=int, metavar="PORT",
                   help="serve the control API on this port (0 = any free port; default: off)")
    g.add_argument("--control-host", default="127.0.0.1", metavar="HOST",
                   help="address of the control API (default 127.0.0.1; loopback only unless "
                        "--control-allow-remote)")
    g.add_argument("--control-allow-remote", action="store_true",
                   help="let the control API listen on a non-loopback address (anyone who reaches it can "
                        "reset and disrupt the mock)")
    g.add_argument("--control-max-connections", type=int, default=MAX_CONNECTIONS, metavar="N",
                   help=f"connections the control API serves at once; one more closes the connection idle longest, "
                        f"or is answered 503 with Retry-After when all are in a request (default {MAX_CONNECTIONS})")


class _ControlFeature:
    def __init__(self, host: str, port: int, allow_remote: bool, seed: int,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.host, self.port, self.allow_remote, self.seed = host, port, allow_remote, seed
        self.max_connections = max_connections
        self.control: ControlServer | None = None

    async def start(self, server: Any, args: Any) -> None:
        journal = server.journal
        if not journal.keep:  # GET /journal shows messages too, the most recent 100 000 of them
            journal.keep = True
            journal.max_messages = 100_000
        self.control = ControlServer(server, self.host, self.port, allow_remote=self.allow_remote, seed=self.seed,
                                     max_connections=self.max_connections)
        self.control.retry_loop_fixed = getattr(args, "retry_loop", None) is not None
        try:
            await self.control.start()
        except OSError as exc:  # its strerror is the whole line `serve` prints: the option and the address
            self.control = None
            raise OSError(exc.errno, f"--control-port {self.port}: cannot listen on {host_port(self.host, self.port)}: "
                                     f"{exc.strerror or exc}") from exc
        print(f"mockcti control API on {self.control.url}", file=sys.stderr, flush=True)

    def listening(self, server: Any, args: Any) -> dict[str, Any]:
        """``serve --json``'s listening line names the API's URL (its port, with --control-port 0, was only
        in the text line above, on stderr)."""
        return {"control_url": self.control.url} if self.control is not None else {}

    async def stop_changes(self, server: Any, args: Any) -> None:
        """Before the server shuts down (serve's order): no change is taken from now on, one being applied finishes."""
        if self.control is not None:
            await self.control.stop()

    async def stop(self, server: Any, args: Any) -> None:  # (stopped already, but when serve could not start)
        if self.control is not None:
            await self.control.stop()

    def exit_status(self, server: Any, args: Any, status: int) -> int:
        return status


def serve_feature(args: Any) -> _ControlFeature | None:
    port = getattr(args, "control_port", None)
    if port is None:
        return None
    host = getattr(args, "control_host", "127.0.0.1")
    allow = bool(getattr(args, "control_allow_remote", False))
    if not 0 <= port <= 65535:
        print(f"mockcti serve: --control-port {port} is not a TCP port (0-65535)", file=sys.stderr)
        raise SystemExit(2)
    max_connections = getattr(args, "control_max_connections", MAX_CONNECTIONS)
    if max_connections is None:
        max_connections = MAX_CONNECTIONS
    if max_connections < 1:
        print(f"mockcti serve: --control-max-connections {max_connections} must be at least 1", file=sys.stderr)
        raise SystemExit(2)
    if not allow and not is_loopback(host):
        print(f"mockcti serve: --control-host {host} is not a loopback address; add --control-allow-remote to "
              "serve the control API there", file=sys.stderr)
        raise SystemExit(2)
    return _ControlFeature(host, port, allow, getattr(args, "seed", 0) or 0, max_connections)
