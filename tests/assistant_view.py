"""A View for tests: records what the assistant shows and answers its questions from a script."""

from __future__ import annotations

import threading
from typing import Any

from keboola_nb.ai.context import Decision, Proposal
from keboola_nb.engine.progress import NoProgress


class RecordingView:
    def __init__(self, decisions: list[Any] | None = None, secrets: list[str | None] | None = None) -> None:
        # Each decision: True (accept), False (cancel), a str (accept this edited JSON), or a callable(proposal).
        self.decisions = list(decisions or [])
        self.secrets = list(secrets or [])
        self.events: list[tuple[str, Any]] = []
        self.proposals: list[Proposal] = []
        self.texts: dict[str, str] = {}
        self._count = 0
        self._lock = threading.Lock()

    def _record(self, kind: str, value: Any) -> None:
        with self._lock:
            self.events.append((kind, value))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.events if k == kind]

    def user(self, text: str) -> None:
        self._record("user", text)

    def text_start(self) -> str:
        with self._lock:
            self._count += 1
            item = f"t{self._count}"
            self.texts[item] = ""
        return item

    def text_delta(self, item_id: str, text: str) -> None:
        self.texts[item_id] += text
        self._record("delta", text)

    def text_end(self, item_id: str, text: str) -> None:
        self._record("text", text)

    def tool_start(self, name: str, args: dict[str, Any]) -> str:
        self._record("tool_start", (name, args))
        return name

    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None:
        self._record("tool_end", (item_id, status, summary))

    def notice(self, text: str) -> None:
        self._record("notice", text)

    def error(self, text: str) -> None:
        self._record("error", text)

    def status(self, state: str, info: str) -> None:
        self._record("status", (state, info))

    def table(self, title: str, frame: Any) -> None:
        self._record("table", (title, len(frame)))

    def code(self, code: str, language: str) -> str:
        self._record("code", (language, code))
        return "a new cell below"

    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision:
        self.proposals.append(proposal)
        answer = self.decisions.pop(0) if self.decisions else False
        if callable(answer):
            answer = answer(proposal, cancelled)
        if isinstance(answer, Decision):
            return answer
        if isinstance(answer, str):
            return Decision(True, proposal.check(answer) if proposal.check else None)
        return Decision(bool(answer), reason="" if answer else "the user pressed Cancel")

    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> str | None:
        from keboola_nb.store.secrets import store_secret

        value = self.secrets.pop(0) if self.secrets else None
        self._record("secret", label)
        return str(store_secret(label, value)) if value else None

    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> Any:
        view = self

        class _Progress(NoProgress):
            def step(self, index: int, total: int, label: str) -> None:
                view._record("progress", label)

            def cancelled(self) -> bool:
                return cancelled.is_set()

        return _Progress()
