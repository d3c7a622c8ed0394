"""The assistant's tool loop over the `anthropic` SDK, always streaming.

One user message -> model calls until the model stops asking for tools (or the call cap, the token
budget or the user's Stop ends it). Read-only tools run concurrently; tools that change something run one
at a time after the user's confirmation. Tool failures go back as `is_error` results. Every message,
model call (usage, cost) and tool call is stored in the project's conversation store.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError
from ..store.secrets import redact, redact_all
from .client import get_client
from .context import ToolContext, View
from .models import Usage, catalog, choose_model
from .prompts import SYSTEM, context_line
from .secret_guard import guard
from .toolbox import Toolbox

if TYPE_CHECKING:
    from ..project import Project

MAX_CALLS = 20  # model calls per user message
TOKEN_BUDGET = 500_000  # prompt + output tokens per user message
OVERLOAD_RETRIES = 2  # our own retries of a stream that failed before anything was shown
READ_WORKERS = 4

_toolbox: Toolbox | None = None


def toolbox() -> Toolbox:
    """Built once per process: identical definitions in every request keep the cache warm."""
    global _toolbox
    if _toolbox is None:
        from .flow_tools import FLOW_TOOLS
        from .tools import TOOLS
        from .transformation_tools import TRANSFORMATION_TOOLS

        _toolbox = Toolbox(TOOLS + TRANSFORMATION_TOOLS + FLOW_TOOLS)
    return _toolbox


SYSTEM_BLOCKS = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]


@dataclass
class Reply:
    """What one user message led to."""

    text: str
    calls: int
    usage: Usage
    stopped_by: str  # end_turn, tool cap, budget, cancelled, error, max_tokens, refusal, ...


class Agent:
    def __init__(
        self,
        project: "Project",
        view: View,
        conversation_id: str | None = None,
        *,
        model: str | None = None,
        max_calls: int = MAX_CALLS,
        token_budget: int = TOKEN_BUDGET,
    ) -> None:
        self.project = project
        self.view = view
        self.model = model
        self.max_calls = max_calls
        self.token_budget = token_budget
        self.store = project.conversations
        self.conversation_id = conversation_id
        self.messages: list[dict[str, Any]] = []
        for message in self.store.messages(conversation_id) if conversation_id else []:
            self._join(message["role"], message["content"])
        self.cancelled = threading.Event()
        self._busy = threading.Lock()
        self._stream: Any = None

    # public ------------------------------------------------------------------------------------
    def send(self, text: str) -> Reply:
        """Answer one user message (blocking). Safe to call from a worker thread. A stop() that comes
        before the answer starts still counts: the flag is cleared when an answer ends, not when it begins."""
        if not self._busy.acquire(blocking=False):
            raise KeboolaError("the assistant is still answering", fix="wait, or press Stop")
        try:
            return self._answer(text)
        finally:
            self._stream = None
            self.cancelled.clear()
            self._busy.release()

    def stop(self) -> None:
        """Cancel the stream and any running tool; the conversation stays consistent."""
        self.cancelled.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass

    # the loop ----------------------------------------------------------------------------------
    def _answer(self, text: str) -> Reply:
        clean, caught = guard(text)
        self.view.user(clean)
        for c in caught:
            self.view.notice(f"The {c.what} you typed was stored on this machine as `{c.reference}`; "
                             "only that reference is sent to Claude.")
        if self.conversation_id is None:
            self.conversation_id = self.store.create(clean)
        self._answer_open_tool_uses("not run: the answer was interrupted")  # e.g. a kernel restart
        self._append("user", [{"type": "text", "text": f"{context_line(self.project)}\n{clean}"}])
        calls, spent, after_error, answer = 0, Usage(), False, []
        stopped_by = "end_turn"
        try:
            while True:
                if self.cancelled.is_set():
                    stopped_by = "cancelled"
                    self.view.notice("Stopped.")
                    break
                if calls >= self.max_calls:
                    stopped_by = "tool cap"
                    self.view.notice(f"Stopped after {calls} model calls for one message (the cap). "
                                     "Send 'continue' to go on.")
                    break
                if spent.prompt_tokens + spent.output_tokens >= self.token_budget:
                    stopped_by = "budget"
                    self.view.notice(f"Stopped: this message used {spent.prompt_tokens + spent.output_tokens:,} "
                                     f"tokens (budget {self.token_budget:,}). Send 'continue' to go on.")
                    break
                model = choose_model(clean, after_error, self.model)
                self._status(model, calls, spent)
                message, usage = self._call(model, title=clean)
                calls += 1
                spent = spent + usage
                self._status(model, calls, spent)
                if message is None:
                    stopped_by = "cancelled" if self.cancelled.is_set() else "error"
                    break
                # The API refuses empty or whitespace-only text blocks sent back to it, and empty messages.
                content = [b for b in map(_plain_block, message.content) if b["type"] != "text" or b["text"].strip()]
                if content:
                    self._append("assistant", content)
                answer += [b["text"] for b in content if b["type"] == "text"]
                if message.stop_reason == "tool_use" and not self.cancelled.is_set():
                    results = self._run_tools([b for b in content if b["type"] == "tool_use"])
                    self._append("user", results)
                    after_error = any(r.get("is_error") for r in results)
                    continue
                self._answer_open_tool_uses("not run")  # cut off by max_tokens, or stopped
                stopped_by = "cancelled" if self.cancelled.is_set() else message.stop_reason or "end_turn"
                if stopped_by == "pause_turn":
                    continue  # the server paused a long turn: send it back to let it go on
                self._explain_stop(stopped_by)
                break
        finally:
            self._answer_open_tool_uses("not run: the answer was interrupted")
            self.view.status("idle", self._info(None, calls, spent))
        return Reply("\n".join(answer), calls, spent, stopped_by)

    def _call(self, model: str, title: str) -> tuple[Any, Usage]:
        """One streamed model call; None when it was cancelled or failed (the user was told).
        `title` names the call in the conversation store (the user's message)."""
        started = time.perf_counter()
        request = {
            "model": model,
            "max_tokens": catalog()["max_tokens"],
            "system": SYSTEM_BLOCKS,
            "tools": toolbox().definitions(),
            "messages": _with_rolling_breakpoint(self.messages),
        }
        client = get_client()
        for attempt in range(OVERLOAD_RETRIES + 1):
            item, text, stream = None, "", None
            try:
                with client.messages.stream(**request) as stream:
                    self._stream = stream
                    for event in stream:
                        if self.cancelled.is_set():
                            break
                        if event.type == "text":
                            if item is None:
                                item = self.view.text_start()
                            text += event.text
                            self.view.text_delta(item, event.text)
                    if self.cancelled.is_set():
                        return None, self._keep_partial(model, title, started, stream, item, text, "stopped by the user")
                    message = stream.get_final_message()
            except Exception as e:
                if self.cancelled.is_set():
                    return None, self._keep_partial(model, title, started, stream, item, text, "stopped by the user")
                if _overloaded_mid_stream(e) and item is None and attempt < OVERLOAD_RETRIES:
                    if self.cancelled.wait(0.5 * 2**attempt):  # nothing was shown yet: retry quietly
                        return None, Usage()
                    continue
                self.view.error(_explain_api_error(e))
                return None, self._keep_partial(model, title, started, stream, item, text, "cut off by an error")
            finally:
                self._stream = None
            if item is not None:
                self.view.text_end(item, text)
            usage = Usage.of(model, message.usage)  # priced by the model asked for (replies name a snapshot)
            self.store.record_turn(self.conversation_id, model, usage, time.perf_counter() - started,
                                   message.stop_reason, title)
            return message, usage
        raise AssertionError("unreachable")

    def _run_tools(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """All results in one user message, in call order. Read-only tools run concurrently; every
        call gets a result even when the user stops or something breaks."""
        box = toolbox()
        changes = [c for c in calls if c["name"] in box and box[c["name"]].changes]
        reads = [c for c in calls if c not in changes]
        done: dict[str, tuple[dict[str, Any], Any]] = {}
        try:
            if reads:
                with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(reads))) as pool:
                    for call, outcome in zip(reads, pool.map(self._run_tool, reads)):
                        done[call["id"]] = outcome
            for call in changes:  # one at a time, each after its confirmation
                done[call["id"]] = self._run_tool(call)
        finally:
            results = []
            for call in calls:
                if call["id"] not in done:
                    results.append(_result(call["id"], "cancelled by the user before it ran", error=True))
                    continue
                result, outcome = done[call["id"]]
                results.append(result)
                if outcome is not None:  # recorded here, in the loop's thread
                    self.store.record_tool(self.conversation_id, call["id"], call["name"], call["input"],
                                           outcome.content, outcome.is_error, outcome.seconds)
        return results

    def _run_tool(self, call: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        if self.cancelled.is_set():
            return _result(call["id"], "cancelled by the user before it ran", error=True), None
        item = self.view.tool_start(call["name"], redact_all(call["input"]))
        ctx = ToolContext(self.project, self.view, self.store, self.conversation_id, item, self.cancelled)
        outcome = toolbox().call(ctx, call["name"], call["input"])
        status = "refused" if outcome.declined else "error" if outcome.is_error else "ok"
        if self.cancelled.is_set():
            status = "cancelled"
        self.view.tool_end(item, status, outcome.summary, outcome.seconds)
        return _result(call["id"], outcome.content, error=outcome.is_error), outcome

    # helpers -----------------------------------------------------------------------------------
    def _append(self, role: str, content: list[dict[str, Any]]) -> None:
        self._join(role, content)
        self.store.append(self.conversation_id, role, content)

    def _join(self, role: str, content: list[dict[str, Any]]) -> None:
        """Roles alternate: a message after one of the same role (text after stopped tool results) joins it."""
        if self.messages and self.messages[-1]["role"] == role:
            self.messages[-1] = {"role": role, "content": self.messages[-1]["content"] + content}
        else:
            self.messages.append({"role": role, "content": content})

    def _answer_open_tool_uses(self, why: str) -> None:
        """Every tool_use needs a tool_result in the next message, or the API refuses the conversation."""
        if not self.messages or self.messages[-1]["role"] != "assistant":
            return
        open_ids = [b["id"] for b in self.messages[-1]["content"] if b.get("type") == "tool_use"]
        if open_ids:
            self._append("user", [_result(i, why, error=True) for i in open_ids])

    def _keep_partial(self, model: str, title: str, started: float, stream: Any, item: str | None, text: str,
                      why: str) -> Usage:
        """What the user saw of an answer that did not finish stays in the conversation; what it cost
        so far is recorded."""
        if item is not None:
            self.view.text_end(item, text)
        if text.strip():
            self._append("assistant", [{"type": "text", "text": f"{text}\n[{why}]"}])
        if why.startswith("stopped"):
            self.view.notice("Stopped.")
        snapshot = getattr(stream, "current_message_snapshot", None) if stream is not None else None
        if snapshot is None:
            return Usage()
        usage = Usage.of(model, snapshot.usage)
        self.store.record_turn(self.conversation_id, model, usage, time.perf_counter() - started, why, title)
        return usage

    def _explain_stop(self, reason: str) -> None:
        notes = {
            "max_tokens": "The answer reached the length limit and was cut. Ask for the rest, or for less at once.",
            "refusal": "Claude declined this request.",
            "model_context_window_exceeded": "The conversation no longer fits the model's context. "
                                             "Start a new one with %keboola chat --new.",
        }
        if reason in notes:
            self.view.notice(notes[reason])

    def _status(self, model: str, calls: int, spent: Usage) -> None:
        self.view.status("stopping" if self.cancelled.is_set() else "working", self._info(model, calls, spent))

    def _info(self, model: str | None, calls: int, spent: Usage) -> str:
        total = self.store.total(self.conversation_id).cost_usd if self.conversation_id else 0.0
        parts = [model or self.model or catalog()["default"], f"calls {calls}/{self.max_calls}",
                 f"tokens {spent.prompt_tokens + spent.output_tokens:,}/{self.token_budget:,}",
                 f"${spent.cost_usd:.4f} this message", f"${total:.4f} conversation"]
        return " · ".join(parts)


def _plain_block(block: Any) -> dict[str, Any]:
    """An SDK content block as the dict to send back verbatim (thinking signatures included)."""
    return block.model_dump(mode="json", exclude_none=True)


def _result(tool_use_id: str, content: str, error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if error:
        result["is_error"] = True
    return result


def _with_rolling_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with a cache breakpoint on the newest block (tools and system hold the other two)."""
    if not messages:
        return messages
    last = messages[-1]
    blocks = [dict(b) for b in last["content"]]
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    return messages[:-1] + [{"role": last["role"], "content": blocks}]


def _overloaded(error: Exception) -> bool:
    import anthropic

    return isinstance(error, anthropic.APIStatusError) and (
        error.status_code == 529 or "overloaded" in str(error).lower())


def _overloaded_mid_stream(error: Exception) -> bool:
    """Overloaded after HTTP 200: the SDK does not retry these (it retried a 529 already)."""
    return _overloaded(error) and getattr(error, "status_code", None) == 200


def _explain_api_error(error: Exception) -> str:
    import anthropic

    if isinstance(error, anthropic.AuthenticationError):
        return "Claude refused the API key (401). Check ANTHROPIC_API_KEY and restart the chat."
    if isinstance(error, anthropic.PermissionDeniedError):
        return "This API key may not use this model (403). Choose another model with %keboola chat --model."
    if isinstance(error, anthropic.RateLimitError):
        return "Rate limited by the Claude API, even after retrying. Wait a minute and send again."
    if _overloaded(error):
        return "Claude is overloaded right now (retried). Send your message again in a moment."
    if isinstance(error, anthropic.APIConnectionError):
        return f"Could not reach the Claude API: {redact(str(error))}. Check the network (or ANTHROPIC_BASE_URL)."
    if isinstance(error, anthropic.APIStatusError):
        return f"The Claude API answered {error.status_code}: {redact(error.message)}"
    return f"The assistant failed: {type(error).__name__}: {redact(str(error))}"
