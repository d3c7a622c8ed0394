"""A local stand-in for Anthropic's Messages API, for tests and benchmarks.

It speaks the real wire format (SSE over chunked HTTP/1.1, JSON errors with retry headers), so the real
`anthropic` SDK runs against it end to end: point `base_url=` or ANTHROPIC_BASE_URL at `api.base_url`.
Replies are scripted with `push()` or computed by `responder`; requests are validated like the real API
(tool_use/tool_result pairing, cache_control limit, required fields) and prompt caching is simulated
from the real prefix order, so cache counters in `usage` behave as they would in production.

    with StandIn() as api:
        api.push(Turn([Text("Hello"), ToolUse("list_tables", {"connection": "demo"})]))
        client = anthropic.Anthropic(api_key="test-key", base_url=api.base_url)

Standard library only: it must stay cheap enough to measure the extension's own per-turn overhead.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import string
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HttpError", "MidStreamError", "StandIn", "Text", "Thinking", "ToolUse", "Turn"]

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
    413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
}
DEFAULT_MESSAGES = {401: "invalid x-api-key", 404: "Not Found", 429: "Rate limit exceeded",
                    500: "Internal server error", 529: "Overloaded"}
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
LOOKBACK = 20  # blocks searched before each breakpoint for an earlier cache entry
MAX_BREAKPOINTS = 4


def _random_id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=24))


def _canonical(block: Any) -> str:
    """A block's JSON text without its `cache_control`: moving a breakpoint must not change the prefix."""
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


# --- Replies -------------------------------------------------------------------------------------------


@dataclass
class Text:
    text: str


@dataclass
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str | None = None

    def __post_init__(self) -> None:
        self.id = self.id or _random_id("toolu_")  # known at push time, so tests can answer it


@dataclass
class Thinking:
    text: str
    signature: str = "sig"


Block = Text | ToolUse | Thinking


@dataclass
class Turn:
    """One assistant message. `delay` is the pause between SSE events, `chunk` the text_delta size."""

    content: list[Block]
    stop_reason: str | None = None  # None: "tool_use" if the turn calls a tool, else "end_turn"
    delay: float = 0.0
    chunk: int = 12
    output_tokens: int | None = None  # None: estimated from the content

    def __post_init__(self) -> None:
        if self.stop_reason is None:
            calls_tool = any(isinstance(block, ToolUse) for block in self.content)
            self.stop_reason = "tool_use" if calls_tool else "end_turn"


@dataclass
class HttpError:
    """An HTTP error answer; it is served before the request is validated, as gateway errors are."""

    status: int
    type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None


@dataclass
class MidStreamError:
    """HTTP 200, a few SSE events of a text turn, then `event: error` (overloaded_error)."""

    after_events: int = 3
    content: list[Block] = field(default_factory=lambda: [Text("This answer is cut short by an error.")])


Reply = Turn | HttpError | MidStreamError


def _block_dict(block: Block) -> dict[str, Any]:
    """The block as it appears in a final message."""
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": block.text, "signature": block.signature}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}


def _pieces(text: str, sizes: Callable[[], int]) -> list[str]:
    out, i = [], 0
    while i < len(text):
        n = sizes()
        out.append(text[i:i + n])
        i += n
    return out


def _block_stream(block: Block, chunk: int, rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The content_block_start payload and the deltas of one block."""
    if isinstance(block, Text):
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": t}
                                              for t in _pieces(block.text, lambda: chunk)]
    if isinstance(block, Thinking):
        deltas = [{"type": "thinking_delta", "thinking": t} for t in _pieces(block.text, lambda: chunk)]
        return ({"type": "thinking", "thinking": "", "signature": ""},
                deltas + [{"type": "signature_delta", "signature": block.signature}])
    # The real API splits tool input JSON anywhere (even inside strings) and starts with an empty fragment.
    fragments = [""] + _pieces(json.dumps(block.input, ensure_ascii=False), lambda: rng.randint(1, max(chunk, 1)))
    return ({"type": "tool_use", "id": block.id, "name": block.name, "input": {}},
            [{"type": "input_json_delta", "partial_json": f} for f in fragments])


# --- Validation ----------------------------------------------------------------------------------------


def _content(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return [content] if isinstance(content, str) else list(content or [])


def _of_type(blocks: list[Any], kind: str, key: str) -> list[str]:
    return [b.get(key) for b in blocks if isinstance(b, dict) and b.get("type") == kind]


def _validate(body: dict[str, Any], counting: bool) -> str | None:
    """The real API's 400 message for the first problem found, or None."""
    for key in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    for i, tool in enumerate(body.get("tools") or []):
        if not TOOL_NAME.fullmatch(str(tool.get("name", ""))):
            return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
    marked = sum(1 for item in _prefix(body) if item[2])
    if marked > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marked}."
    for i, message in enumerate(messages):
        blocks = _content(message)
        for j, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "text" and not str(block.get("text", "")).strip():
                return f"messages.{i}.content.{j}: text content blocks must contain non-whitespace text"
        if message.get("role") == "user":
            previous = messages[i - 1] if i and messages[i - 1].get("role") == "assistant" else {}
            offered = set(_of_type(_content(previous), "tool_use", "id"))
            for j, block in enumerate(blocks):
                is_result = isinstance(block, dict) and block.get("type") == "tool_result"
                if is_result and (result_id := block.get("tool_use_id")) not in offered:
                    return (f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{result_id}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.")
            continue
        following = messages[i + 1] if i + 1 < len(messages) and messages[i + 1].get("role") == "user" else {}
        answered = set(_of_type(_content(following), "tool_result", "tool_use_id"))
        missing = [tid for tid in _of_type(blocks, "tool_use", "id") if tid not in answered]
        if missing:
            return (f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message.")
        for j, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "thinking" and not block.get("signature"):
                return f"messages.{i}.content.{j}.thinking.signature: Field required"
    return None


# --- Token estimate and prompt caching -----------------------------------------------------------------


def _prefix(body: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(hashed text, tokens, has cache_control) per block, in the real prefix order: tools, system, messages."""
    items = []

    def add(kind: str, block: Any) -> None:
        text = _canonical(block)
        items.append((kind + text, _tokens(text), isinstance(block, dict) and "cache_control" in block))

    for tool in body.get("tools") or []:
        add("tool:", tool)
    system = body.get("system")
    for block in [system] if isinstance(system, str) else system or []:
        add("system:", block)
    for message in body.get("messages") or []:
        for j, block in enumerate(_content(message)):
            add(f"{message.get('role')}.{j}:", block)  # block 0 marks where a message starts
    return items


class _PromptCache:
    """Prefix hash -> prefix tokens, written at breakpoints and read within the lookback window."""

    def __init__(self, min_tokens: int) -> None:
        self.min_tokens = min_tokens
        self._entries: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        running = hashlib.sha256(str(body.get("model")).encode())  # caches are per model
        hashes, totals, breakpoints = [], [], []
        for position, (text, tokens, marked) in enumerate(_prefix(body)):
            running.update(text.encode())
            hashes.append(running.hexdigest())
            totals.append((totals[-1] if totals else 0) + tokens)
            if marked:
                breakpoints.append(position)
        if body.get("cache_control") and totals:  # automatic caching: a breakpoint on the last block
            breakpoints.append(len(totals) - 1)
        with self._lock:
            read = max((self._entries[hashes[p]] for b in breakpoints
                        for p in range(b, max(b - LOOKBACK, 0) - 1, -1) if hashes[p] in self._entries), default=0)
            for b in breakpoints:
                if totals[b] >= self.min_tokens:
                    self._entries[hashes[b]] = totals[b]
        cached = totals[max(breakpoints)] if breakpoints else 0
        creation = cached - read if cached >= self.min_tokens else 0
        total = totals[-1] if totals else 0
        return {"input_tokens": total - read - creation, "cache_creation_input_tokens": creation,
                "cache_read_input_tokens": read}


# --- Server --------------------------------------------------------------------------------------------


class StandIn:
    """The server on 127.0.0.1 (a free port), serving replies from `push()`, else from `responder(body)`.

    `requests` / `request_times` record every /v1/messages body, errors included (count_tokens is not
    recorded); `usages` holds one usage dict per Turn or MidStreamError served, streamed or not.
    Prompts shorter than `min_cache_tokens` are never cached; `seed` fixes where tool input JSON is split.
    """

    def __init__(self, min_cache_tokens: int = 1024, seed: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []  # time.monotonic() at arrival, parallel to `requests`
        self.usages: list[dict[str, int]] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._cache = _PromptCache(min_cache_tokens)
        self._rng = random.Random(seed)  # fragment boundaries, reproducible per server
        self._server: _Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "StandIn is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def reset_cache(self) -> None:
        self._cache.reset()

    def start(self) -> StandIn:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # handler threads are daemons: a slow stream does not block this
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.request_times.append(time.monotonic())
            if self._queue and isinstance(self._queue[0], HttpError):
                return self._queue.popleft()  # auth, rate limit and overload come before validation
            problem = _validate(body, counting=False)
            if problem:
                return HttpError(400, message=problem)  # the queued reply waits for a valid request
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        return HttpError(500, message="stand-in: no reply queued and no responder set", should_retry=False)

    def _turn_events(self, turn: Turn, body: dict[str, Any]) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
        """The SSE events of a turn and its final message; the turn's usage goes to `usages`."""
        content = [_block_dict(b) for b in turn.content]
        output = turn.output_tokens or max(1, sum(_tokens(_canonical(c)) for c in content))
        usage = {**self._cache.usage(body), "output_tokens": output}
        with self._lock:
            self.usages.append(usage)
        message = {"id": _random_id("msg_"), "type": "message", "role": "assistant", "model": body.get("model"),
                   "content": content, "stop_reason": turn.stop_reason, "stop_sequence": None,
                   "usage": usage}
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        events: list[tuple[str, Any]] = [("message_start", {"type": "message_start", "message": start}),
                                         ("ping", {"type": "ping"})]
        for index, block in enumerate(turn.content):
            head, deltas = _block_stream(block, turn.chunk, self._rng)
            events.append(("content_block_start",
                           {"type": "content_block_start", "index": index, "content_block": head}))
            events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                       for d in deltas]
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(("message_delta", {"type": "message_delta", "usage": usage,
                                         "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None}}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events, message


class _Server(ThreadingHTTPServer):
    standin: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up (cancel, close) are normal
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    disable_nagle_algorithm = True  # else every small SSE frame waits ~40 ms for an ACK

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        api = self.server.standin
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = self.path.split("?")[0]
        if path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self._send_error(HttpError(404))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._send_error(HttpError(400, message="There was an error parsing the body"))
        if path.endswith("/count_tokens"):
            problem = _validate(body, counting=True)
            if problem:
                return self._send_error(HttpError(400, message=problem))
            return self._send_json(200, {"input_tokens": sum(tokens for _, tokens, _ in _prefix(body))})
        reply = api._reply_for(body)
        if isinstance(reply, HttpError):
            return self._send_error(reply)
        if isinstance(reply, MidStreamError) and not body.get("stream"):
            return self._send_error(HttpError(529))  # no stream to break: the overload shows as a status
        turn = reply if isinstance(reply, Turn) else Turn(reply.content)
        events, message = api._turn_events(turn, body)
        if not body.get("stream"):
            return self._send_json(200, message)
        if isinstance(reply, MidStreamError):
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            events = events[:reply.after_events] + [("error", error)]
        self._stream(events, turn.delay)

    def do_GET(self) -> None:  # only POST routes exist
        self._send_error(HttpError(404))

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _stream(self, events: list[tuple[str, Any]], delay: float) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", _random_id("req_"))
        self.end_headers()
        for i, (name, data) in enumerate(events):
            if i and delay:
                time.sleep(delay)  # a client that closed early makes the next write fail: see _Server
            frame = f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))  # one write per chunk
        self.wfile.write(b"0\r\n\r\n")

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in ({"request-id": _random_id("req_")} | (headers or {})).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: HttpError) -> None:
        request_id = _random_id("req_")
        headers = {"request-id": request_id}
        if error.retry_after is not None:  # the SDK prefers the precise -ms header
            headers["retry-after"] = str(math.ceil(error.retry_after))
            headers["retry-after-ms"] = str(round(error.retry_after * 1000))
        if error.should_retry is not None:
            headers["x-should-retry"] = "true" if error.should_retry else "false"
        kind = error.type or ERROR_TYPES.get(error.status, "api_error")
        message = error.message or DEFAULT_MESSAGES.get(error.status, kind)
        self._send_json(error.status, {"type": "error", "error": {"type": kind, "message": message},
                                       "request_id": request_id}, headers)
