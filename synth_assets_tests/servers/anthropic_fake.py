"""A fake Anthropic API on 127.0.0.1, good enough for the official SDK pointed at it via
``base_url``: Messages (``POST /v1/messages``) and Message Batches (create, retrieve, results).

Real HTTP over a real socket (stdlib ``ThreadingHTTPServer`` in a daemon thread, ephemeral
port), so the SDK's transport, timeouts, headers, error parsing and JSONL decoding are all
exercised. Failures are scripted per endpoint as a queue of behaviours consumed in arrival
order; once a queue is empty the server behaves normally::

    with FakeAnthropicServer(plan=[("status", 429, {"retry-after": "0.2"})]) as server:
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url)
        ...
        assert len(server.message_requests()) == 2

Behaviours (tuples):

* ``("status", code)``, ``("status", code, headers)``, ``("status", code, headers, message)``:
  answer with that HTTP status and Anthropic's error JSON
  ``{"type": "error", "error": {"type": ..., "message": ...}}``.
* ``("sleep", seconds)``: wait that long, then answer normally (a slow response; the wait
  ends early when the server stops).
* ``("text", "...")``: answer normally but with exactly this text (``/v1/messages`` only).
* ``("close",)``: drop the connection without any response.
* ``("cut", n)``: batch results only: send the first ``n`` JSONL lines, then drop the
  connection before the body is complete (a stream that breaks midway).
* ``("short", n)``: batch results only: send the first ``n`` lines and end the body cleanly
  (a stream that ends early without an error).
* ``("torn", n)``: batch results only: ``n`` lines, then half of the next one, ended cleanly.

Limits of Message Batch creates, as the real API enforces them: a body over
``max_batch_bytes`` (256 MB) is answered 413 ``request_too_large`` (read and discarded, never
parsed or kept), more than ``max_batch_requests`` (100,000) requests 400
``invalid_request_error``. Both are arguments, so tests can use small values.

Tool use: ``tools`` and ``tool_choice`` are validated like the real API (each tool needs a
``name`` and an object ``input_schema``; a forced tool must be one of ``tools``; 400
``invalid_request_error`` otherwise). When a tool is forced (``tool_choice`` ``tool``, or
``any``: the first tool), the answer is ``stop_reason: "tool_use"`` with one ``tool_use``
block whose ``input`` is the responder's (or scripted) text if that is a JSON object, else an
object built from the schema: the text goes to the first required string property, every
other required property gets a minimal value of its type (an enum's first value). With
``ignore_tools=True`` the server answers with plain text even when a tool is forced (a model
that ignored the instruction). The same holds for Message Batch results.

Every request is recorded (method, path, parsed JSON body, headers, time). An ended batch
keeps only its results, and with ``record_bodies=False`` a batch create is recorded with body
``None``, so a 100,000-request run does not hold every request as parsed JSON; results go out
as chunked JSONL, encoded a chunk at a time. The credential is never stored:
``Authorization`` and ``x-api-key`` are reduced to the boolean ``had_auth``.
Nothing is written to stdout or stderr.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeAnthropicServer",
    "FakeAPIError",
    "RecordedRequest",
    "default_responder",
    "tool_input",
    "word_count",
]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
SECRET_HEADERS = {"authorization", "x-api-key"}
CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_CHOICE_TYPES = ("auto", "any", "tool", "none")
BATCH_PATH_RE = re.compile(r"^/v1/messages/batches/([^/]+)(/results)?$")
BATCHES_PATH = "/v1/messages/batches"
MAX_BATCH_REQUESTS = 100_000  # the real API's limits on one Message Batch create
MAX_BATCH_BYTES = 256_000_000  # "256 MB" in the API docs; the stricter reading of MB
READ_CHUNK = 1 << 20  # bytes read at a time from an oversize body that is discarded
RESULTS_CHUNK = 1 << 16  # bytes of JSONL per HTTP chunk of a results response


class FakeAPIError(Exception):
    """Raise from a responder to answer with this HTTP status and Anthropic error JSON."""

    def __init__(self, status: int, message: str = "scripted failure", headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    had_auth: bool
    timestamp: float


@dataclass
class _Batch:
    id: str
    requests: list[dict]  # emptied once the batch ends and its results are computed
    created_at: datetime
    size: int = 0  # number of requests
    polls: int = 0
    ended_at: datetime | None = None
    results: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def word_count(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def default_responder(body: dict) -> str:
    """Deterministic: ``"echo: "`` and the first 40 characters of the last user message."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    last = _text_of(users[-1]["content"]) if users else ""
    return f"echo: {last[:40]}"


def _input_tokens(body: dict) -> int:
    total = word_count(_text_of(body.get("system", "")))
    for message in body.get("messages", []):
        total += word_count(_text_of(message.get("content", "")))
    if body.get("tools"):  # tool definitions are part of the prompt
        total += word_count(json.dumps(body["tools"]))
    return max(1, total)


def _minimal(schema: Any) -> Any:
    """A small instance of ``schema`` (enum's first value, else by type)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _minimal(properties.get(name)) for name in schema.get("required") or ()}
    if kind == "array":
        return [_minimal(schema.get("items")) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return "x" * schema.get("minLength", 0)
    return None


def tool_input(text: str, input_schema: dict) -> dict:
    """What a forced tool is called with: ``text`` itself if it is a JSON object, else an
    object of ``input_schema`` whose first required string property holds ``text``."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    built = _minimal({**input_schema, "type": "object"})
    properties = input_schema.get("properties") or {}
    for name in input_schema.get("required") or ():
        prop = properties.get(name)
        if isinstance(prop, dict) and prop.get("type") == "string" and not prop.get("enum"):
            built[name] = text
            break
    return built


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _matches(selector, custom_id: str, params: dict) -> bool:
    if selector is None:
        return False
    if callable(selector):
        return bool(selector(custom_id, params))
    return custom_id in selector


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes; with Nagle on, each keep-alive response
    # would wait ~40 ms for the client's delayed ACK
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature; never print
        pass

    def setup(self):
        super().setup()
        self.server.fake._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._connections.discard(self.connection)

    def do_GET(self):
        self.server.fake._dispatch(self)

    def do_POST(self):
        self.server.fake._dispatch(self)

    def do_DELETE(self):
        self.server.fake._dispatch(self)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a handler that is "sleeping"
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address, handler, fake: FakeAnthropicServer):
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        # a client that timed out and went away makes the late write fail: not an error here
        pass


class FakeAnthropicServer:
    """See the module docstring. Arguments:

    responder: ``body -> text`` for ``/v1/messages`` and batch requests (their ``params``);
        may raise :class:`FakeAPIError` to answer with an error status.
    latency: seconds added to every ``/v1/messages`` request (requests are served concurrently).
    plan: behaviours for ``/v1/messages``, consumed in arrival order.
    batch_create_plan / batch_retrieve_plan / batch_results_plan: the same for the batch
        endpoints (a failed retrieve does not count as a poll).
    batch_polls_until_end: a batch reports ``ended`` from this retrieve call on (counted per
        batch; 1 = the first retrieve after the create already sees it ended).
    batch_errored / batch_expired: custom_ids (a collection) or a predicate
        ``(custom_id, params) -> bool`` whose results are ``errored`` / ``expired``; with
        ``batch_failures_once`` (default) only in the first batch that contains them, so a
        resubmission succeeds.
    results_order: ``"reverse"`` (default; results are not in request order, as the real API
        warns) or ``"request"``.
    ignore_tools: answer with plain text even when ``tool_choice`` forces a tool (tools are
        still validated).
    max_batch_requests / max_batch_bytes: the create limits (see the module docstring).
    record_bodies: keep batch create bodies in :attr:`requests` (``False``: ``None`` there).
    """

    def __init__(
        self,
        responder: Callable[[dict], str] | None = None,
        *,
        latency: float = 0.0,
        plan: Iterable[tuple] = (),
        batch_create_plan: Iterable[tuple] = (),
        batch_retrieve_plan: Iterable[tuple] = (),
        batch_results_plan: Iterable[tuple] = (),
        batch_polls_until_end: int = 1,
        batch_errored: Iterable[str] | Callable[[str, dict], bool] | None = None,
        batch_expired: Iterable[str] | Callable[[str, dict], bool] | None = None,
        batch_failures_once: bool = True,
        results_order: str = "reverse",
        ignore_tools: bool = False,
        require_auth: bool = True,
        host: str = "127.0.0.1",
        max_batch_requests: int = MAX_BATCH_REQUESTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        record_bodies: bool = True,
    ):
        self.responder = responder or default_responder
        self.latency = latency
        self.plans: dict[str, deque] = {
            "messages": deque(plan),
            "batch_create": deque(batch_create_plan),
            "batch_retrieve": deque(batch_retrieve_plan),
            "batch_results": deque(batch_results_plan),
        }
        self.batch_polls_until_end = batch_polls_until_end
        self.batch_errored = (
            batch_errored if callable(batch_errored) or batch_errored is None else set(batch_errored)
        )
        self.batch_expired = (
            batch_expired if callable(batch_expired) or batch_expired is None else set(batch_expired)
        )
        self.batch_failures_once = batch_failures_once
        if results_order not in ("reverse", "request"):
            raise ValueError(f"results_order must be 'reverse' or 'request', got {results_order!r}")
        self.results_order = results_order
        self.ignore_tools = ignore_tools
        self.require_auth = require_auth
        self.host = host
        self.max_batch_requests = max_batch_requests
        self.max_batch_bytes = max_batch_bytes
        self.record_bodies = record_bodies

        self.requests: list[RecordedRequest] = []
        self.batches: dict[str, _Batch] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self._failed_once: set[str] = set()
        self._lock = threading.RLock()  # _end() makes messages (ids) under the lock
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeAnthropicServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        for conn in list(self._connections):  # idle keep-alive connections and slow handlers
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- scripting and inspection ----------------------------------------------------------
    def then(self, *behaviours: tuple, endpoint: str = "messages") -> FakeAnthropicServer:
        """Queue more behaviours for an endpoint (messages, batch_create, batch_retrieve,
        batch_results)."""
        with self._lock:
            self.plans[endpoint].extend(behaviours)
        return self

    def pending(self, endpoint: str = "messages") -> int:
        with self._lock:
            return len(self.plans[endpoint])

    def recorded(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def message_requests(self) -> list[dict]:
        """Bodies of every ``POST /v1/messages`` (failed ones included), in arrival order."""
        return [r.body for r in self.recorded("POST", "/v1/messages")]

    def batch_creates(self) -> list[dict]:
        return [r.body for r in self.recorded("POST", "/v1/messages/batches")]

    def batch_retrieves(self) -> list[str]:
        return [
            r.path.rsplit("/", 1)[1]
            for r in self.recorded("GET")
            if BATCH_PATH_RE.match(r.path) and not r.path.endswith("/results")
        ]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- request handling ------------------------------------------------------------------
    def _next_behaviour(self, endpoint: str) -> tuple | None:
        with self._lock:
            plan = self.plans[endpoint]
            return plan.popleft() if plan else None

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids[prefix] = self._ids.get(prefix, 0) + 1
            return f"{prefix}_{self._ids[prefix]:06d}"

    def _dispatch(self, handler: _Handler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        path = handler.path.split("?", 1)[0]
        batch_create = handler.command == "POST" and path == BATCHES_PATH
        too_large = batch_create and length > self.max_batch_bytes
        if too_large:  # read off the socket (so the client sees the answer) and thrown away
            left = length
            while left > 0:
                chunk = handler.rfile.read(min(left, READ_CHUNK))
                if not chunk:
                    break
                left -= len(chunk)
            raw = b""
        else:
            raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            parse_error = True
        else:
            parse_error = False
        del raw
        headers = {k.lower(): v for k, v in handler.headers.items() if k.lower() not in SECRET_HEADERS}
        had_auth = any(handler.headers.get(name) for name in SECRET_HEADERS)
        kept = body if self.record_bodies or not batch_create else None
        with self._lock:
            self.requests.append(RecordedRequest(handler.command, path, kept, headers, had_auth, time.time()))
        if self.require_auth and not had_auth:
            return self._error(handler, 401, "x-api-key header is required")
        if too_large:
            return self._error(
                handler,
                413,
                f"Request exceeds the maximum allowed number of bytes ({length} > {self.max_batch_bytes})",
            )
        if parse_error:
            return self._error(handler, 400, "request body is not valid JSON")
        match = BATCH_PATH_RE.match(path)
        if handler.command == "POST" and path == "/v1/messages":
            return self._messages(handler, body)
        if batch_create:
            return self._batch_create(handler, body)
        if handler.command == "GET" and match and match.group(2):
            return self._batch_results(handler, match.group(1))
        if handler.command == "GET" and match:
            return self._batch_retrieve(handler, match.group(1))
        return self._error(handler, 404, f"no route {handler.command} {path}")

    def _apply(self, handler: _Handler, endpoint: str) -> tuple[bool, Any]:
        """Run the endpoint's next scripted behaviour: (answered already?, override): the
        text of ``("text", ...)``, the whole behaviour for ``cut`` / ``short`` / ``torn``, else ``None``."""
        behaviour = self._next_behaviour(endpoint)
        if behaviour is None:
            return False, None
        kind = behaviour[0]
        if kind == "status":
            status = behaviour[1]
            extra = behaviour[2] if len(behaviour) > 2 else None
            message = behaviour[3] if len(behaviour) > 3 else f"scripted HTTP {status}"
            self._error(handler, status, message, extra)
            return True, None
        if kind == "sleep":
            self._stopping.wait(behaviour[1])
            return False, None
        if kind == "text":
            return False, behaviour[1]
        if kind in ("cut", "short", "torn"):
            return False, behaviour
        if kind == "close":
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True, None
        raise ValueError(f"unknown fake-server behaviour {behaviour!r}")

    def _messages(self, handler: _Handler, body: Any) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                self._stopping.wait(self.latency)
            answered, text = self._apply(handler, "messages")
            if answered:
                return
            problem = self._validate_params(body)
            if problem:
                return self._error(handler, 400, problem)
            try:
                message = self._make_message(body, text)
            except FakeAPIError as exc:
                return self._error(handler, exc.status, exc.message, exc.headers)
            except Exception as exc:  # a broken responder is the server's fault: 500
                return self._error(handler, 500, f"responder failed: {type(exc).__name__}")
            self._json(handler, 200, message)
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def _validate_params(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body must be a JSON object"
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return f"{name}: Field required"
        if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
            return "max_tokens: must be a positive integer"
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        for i, message in enumerate(messages):
            if message.get("role") not in ("user", "assistant"):
                return (
                    f"messages.{i}.role: Input should be 'user' or 'assistant' (system prompts go "
                    "in the top-level system parameter)"
                )
        if "temperature" in body and not 0 <= body["temperature"] <= 1:
            return "temperature: must be between 0 and 1"
        return FakeAnthropicServer._validate_tools(body)

    @staticmethod
    def _validate_tools(body: dict) -> str | None:
        tools = body.get("tools")
        names: list[str] = []
        if tools is not None:
            if not isinstance(tools, list):
                return "tools: Input should be a valid list"
            for i, tool in enumerate(tools):
                if not isinstance(tool, dict):
                    return f"tools.{i}: Input should be a valid dictionary"
                name = tool.get("name")
                if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
                    return f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                if name in names:
                    return f"tools: Tool names must be unique ({name!r} appears twice)"
                names.append(name)
                schema = tool.get("input_schema")
                if schema is None:
                    return f"tools.{i}.custom.input_schema: Field required"
                if not isinstance(schema, dict):
                    return f"tools.{i}.custom.input_schema: Input should be a valid dictionary"
                if schema.get("type") != "object":
                    return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
        choice = body.get("tool_choice")
        if choice is None:
            return None
        if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICE_TYPES:
            return "tool_choice: Input tag does not match any of the expected tags: " + ", ".join(
                repr(t) for t in TOOL_CHOICE_TYPES
            )
        if not tools and choice["type"] != "none":
            return "tool_choice: may only be specified while providing tools"
        if choice["type"] == "tool":
            if not isinstance(choice.get("name"), str):
                return "tool_choice.tool.name: Field required"
            if choice["name"] not in names:
                return f"tool_choice: Tool '{choice['name']}' not found in tools"
        return None

    @staticmethod
    def _forced_tool(params: dict) -> dict | None:
        """The tool the request forces (``tool_choice`` ``tool``, or ``any``: the first one)."""
        choice = params.get("tool_choice") or {}
        tools = params.get("tools") or []
        if choice.get("type") == "tool":
            return next(t for t in tools if t["name"] == choice["name"])
        if choice.get("type") == "any" and tools:
            return tools[0]
        return None

    def _make_message(self, params: dict, text: str | None = None) -> dict:
        if text is None:
            text = self.responder(params)
        tool = None if self.ignore_tools else self._forced_tool(params)
        if tool is not None:
            return self._tool_message(params, tool, text)
        stop_reason, stop_sequence = "end_turn", None
        for seq in params.get("stop_sequences") or ():
            if seq and seq in text:
                text, stop_reason, stop_sequence = text[: text.index(seq)], "stop_sequence", seq
        words = text.split()
        if len(words) > params["max_tokens"]:
            text, stop_reason, stop_sequence = " ".join(words[: params["max_tokens"]]), "max_tokens", None
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": {"input_tokens": _input_tokens(params), "output_tokens": word_count(text)},
        }

    def _tool_message(self, params: dict, tool: dict, text: str) -> dict:
        """A forced tool call; stop sequences do not apply, and over ``max_tokens`` (words of
        the input's JSON) the call is cut off: ``stop_reason`` ``max_tokens``, input ``{}``."""
        arguments = tool_input(text, tool["input_schema"])
        output_tokens = word_count(json.dumps(arguments))
        stop_reason = "tool_use"
        if output_tokens > params["max_tokens"]:
            arguments, output_tokens, stop_reason = {}, params["max_tokens"], "max_tokens"
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [
                {"type": "tool_use", "id": self._next_id("toolu"), "name": tool["name"], "input": arguments}
            ],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": _input_tokens(params), "output_tokens": output_tokens},
        }

    # -- batches ---------------------------------------------------------------------------
    def _batch_create(self, handler: _Handler, body: Any) -> None:
        answered, _ = self._apply(handler, "batch_create")
        if answered:
            return
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self._error(handler, 400, "requests: at least one request is required")
        if len(requests) > self.max_batch_requests:
            return self._error(
                handler,
                400,
                f"requests: List should have at most {self.max_batch_requests} items after "
                f"validation, not {len(requests)}",
            )
        seen = set()
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not CUSTOM_ID_RE.match(custom_id):
                return self._error(
                    handler, 400, f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"
                )
            if custom_id in seen:
                return self._error(handler, 400, f"requests.{i}.custom_id: duplicate custom_id {custom_id}")
            seen.add(custom_id)
            problem = self._validate_params(item.get("params"))
            if problem:
                return self._error(handler, 400, f"requests.{i}.params.{problem}")
        batch = _Batch(
            id=self._next_id("msgbatch"), requests=requests, size=len(requests), created_at=datetime.now(UTC)
        )
        with self._lock:
            self.batches[batch.id] = batch
        self._json(handler, 200, self._batch_json(batch))

    def _batch_retrieve(self, handler: _Handler, batch_id: str) -> None:
        answered, _ = self._apply(handler, "batch_retrieve")
        if answered:
            return
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None:
                batch.polls += 1
                if batch.ended_at is None and batch.polls >= self.batch_polls_until_end:
                    self._end(batch)
        if batch is None:
            return self._error(handler, 404, f"no Message Batch {batch_id}")
        self._json(handler, 200, self._batch_json(batch))

    def _end(self, batch: _Batch) -> None:
        """Compute every result (under the lock), count them and mark the batch ended; the
        requests are dropped (the recorded create body keeps them unless ``record_bodies`` is
        off)."""
        results = []
        for item in batch.requests:
            custom_id, params = item["custom_id"], item["params"]
            once_ok = not (self.batch_failures_once and custom_id in self._failed_once)
            if once_ok and _matches(self.batch_errored, custom_id, params):
                self._failed_once.add(custom_id)
                result = {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "message": f"scripted error for {custom_id}",
                        },
                    },
                }
            elif once_ok and _matches(self.batch_expired, custom_id, params):
                self._failed_once.add(custom_id)
                result = {"type": "expired"}
            else:
                try:
                    result = {"type": "succeeded", "message": self._make_message(params)}
                except FakeAPIError as exc:
                    result = {
                        "type": "errored",
                        "error": {
                            "type": "error",
                            "error": {
                                "type": ERROR_TYPES.get(exc.status, "api_error"),
                                "message": exc.message,
                            },
                        },
                    }
            results.append({"custom_id": custom_id, "result": result})
        if self.results_order == "reverse":
            results.reverse()
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for item in results:
            counts[item["result"]["type"]] += 1
        batch.results = results
        batch.counts = counts
        batch.requests = []
        batch.ended_at = datetime.now(UTC)

    def _batch_json(self, batch: _Batch) -> dict:
        ended = batch.ended_at is not None
        if ended:
            counts = dict(batch.counts)
        else:
            counts = {"processing": batch.size, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": _rfc3339(batch.ended_at) if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _batch_results(self, handler: _Handler, batch_id: str) -> None:
        answered, ending = self._apply(handler, "batch_results")
        if answered:
            return
        with self._lock:
            batch = self.batches.get(batch_id)
        if batch is None:
            return self._error(handler, 404, f"no Message Batch {batch_id}")
        if batch.ended_at is None:
            return self._error(handler, 400, f"Message Batch {batch_id} has not ended yet")
        self._send_jsonl(handler, batch.results, ending)

    def _send_jsonl(self, handler: _Handler, items: list[dict], ending: tuple | None = None) -> None:
        """JSONL with chunked transfer encoding, encoded a chunk at a time (never the whole
        body at once); ``ending``: a scripted ``cut`` / ``short`` / ``torn`` behaviour."""
        kind, limit = ending if ending else (None, None)

        def write_chunk(data: bytes) -> None:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        try:
            handler.send_response(200)
            handler.send_header("content-type", "application/binary")
            handler.send_header("transfer-encoding", "chunked")
            handler.send_header("request-id", self._next_id("req"))
            handler.end_headers()
            buffer: list[bytes] = []
            buffered = 0
            for index, item in enumerate(items):
                line = (json.dumps(item) + "\n").encode()
                if limit is not None and index >= limit:
                    if kind == "torn":
                        buffer.append(line[: len(line) // 2])
                    break
                buffer.append(line)
                buffered += len(line)
                if buffered >= RESULTS_CHUNK:
                    write_chunk(b"".join(buffer))
                    buffer, buffered = [], 0
            if buffer:
                write_chunk(b"".join(buffer))
            if kind == "cut":
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except OSError:  # the client gave up (timeout) and closed the socket
            handler.close_connection = True

    # -- responses -------------------------------------------------------------------------
    def _error(self, handler: _Handler, status: int, message: str, headers: dict | None = None) -> None:
        body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}
        self._send(handler, status, json.dumps(body).encode(), "application/json", headers)

    def _json(self, handler: _Handler, status: int, payload: dict) -> None:
        self._send(handler, status, json.dumps(payload).encode(), "application/json")

    def _send(
        self, handler: _Handler, status: int, payload: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("content-type", content_type)
            handler.send_header("content-length", str(len(payload)))
            handler.send_header("request-id", self._next_id("req"))
            for name, value in (headers or {}).items():
                handler.send_header(name, str(value))
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:  # the client gave up (timeout) and closed the socket
            handler.close_connection = True
