"""The assistant answering in a cell's output (`%%keboola ask`): streamed markdown, tool lines, tables.

A cell cannot take a click while it runs, so proposals to change something are declined with a pointer
to the chat panel; generated code goes into a new cell below (`set_next_input`; the last one wins).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ..ai.context import Decision, Proposal

if TYPE_CHECKING:
    import pandas as pd

    from ..engine.progress import Progress

REFRESH_S = 0.1  # re-render streamed markdown at most this often


class CellView:
    def __init__(self) -> None:
        self.info = ""  # the last status line: model, calls, tokens, cost
        self.codes: list[str] = []
        self._handles: dict[str, Any] = {}
        self._texts: dict[str, str] = {}
        self._shown_at: dict[str, float] = {}
        self._count = 0

    def _display(self, obj: Any) -> Any:
        from IPython.display import display

        return display(obj, display_id=True)

    def user(self, text: str) -> None:
        pass  # the question is in the cell itself

    def text_start(self) -> str:
        from IPython.display import Markdown

        self._count += 1
        item = f"text-{self._count}"
        self._texts[item] = ""
        self._shown_at[item] = 0.0
        self._handles[item] = self._display(Markdown(""))
        return item

    def text_delta(self, item_id: str, text: str) -> None:
        self._texts[item_id] += text
        now = time.perf_counter()
        if now - self._shown_at[item_id] >= REFRESH_S:
            self._shown_at[item_id] = now
            self._render(item_id)

    def text_end(self, item_id: str, text: str) -> None:
        self._texts[item_id] = text
        self._render(item_id)

    def _render(self, item_id: str) -> None:
        from IPython.display import Markdown

        handle = self._handles.get(item_id)
        if handle is not None:
            handle.update(Markdown(self._texts[item_id]))

    def tool_start(self, name: str, args: dict[str, Any]) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        print(f"· {name}({shown[:120]})")
        return name

    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None:
        mark = {"ok": "done", "error": "failed", "refused": "declined"}.get(status, status)
        print(f"  {mark} in {seconds:.2f} s: {summary}")

    def notice(self, text: str) -> None:
        from IPython.display import Markdown

        self._display(Markdown(f"> {text}"))

    def error(self, text: str) -> None:
        print(f"error: {text}")

    def status(self, state: str, info: str) -> None:
        self.info = info

    def table(self, title: str, frame: "pd.DataFrame") -> None:
        print(title)
        self._display(frame.head(20))

    def code(self, code: str, language: str) -> str:
        from IPython import get_ipython
        from IPython.display import Markdown

        self.codes.append(code)
        self._display(Markdown(f"```{language}\n{code}\n```"))
        shell = get_ipython()
        if shell is not None:
            shell.set_next_input(code, replace=False)
            return "a new cell below the question"
        return "shown in the output"

    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision:
        return Decision(False, reason="changes need the chat panel: open it with %keboola chat")

    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> str | None:
        self.notice(f"{prompt}: add it with `%keboola connect NAME URL --ask-password` (typed, never shown).")
        return None

    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> "Progress":
        from .progress import NotebookProgress

        return NotebookProgress(title)
