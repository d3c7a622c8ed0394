"""A chat session: the chat panel's handler, and the assistant's View onto that panel.

Panel messages may arrive on a kernel subshell thread while a cell runs, so handlers only hand work to
one worker thread and return. Confirmations and secret fields block that worker until the user answers
(or presses Stop).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ai.context import Decision, Proposal
from ..errors import KeboolaError
from ..store.secrets import redact
from .chat_panel import ChatPanel

if TYPE_CHECKING:
    import pandas as pd

    from ..ai.agent import Agent
    from ..engine.progress import Progress
    from ..project import Project

WAIT_S = 0.1
TABLE_ROWS = 50


@dataclass
class _Pending:
    """A card or secret field waiting for the user. `closed` under `lock`: a late click after Stop does nothing."""

    proposal: Proposal | None = None
    label: str = ""
    answered: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    decision: Decision | None = None
    reference: str | None = None


class ChatSession:
    def __init__(self, project: "Project", conversation_id: str | None = None, model: str | None = None,
                 auto_insert: bool = True) -> None:
        from ..ai.client import has_key

        self.project = project
        self._resume_id = conversation_id
        self.model = model
        self.auto_insert = auto_insert  # generated code goes into a new cell at once (else: the Insert button)
        self.in_sidebar = False
        self.panel = ChatPanel(self, has_key=has_key())
        self._agent: Agent | None = None
        self._worker: threading.Thread | None = None
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.panel.info = self._idle_info()
        if not has_key():
            self._no_key_notice()

    @property
    def agent(self) -> "Agent":
        if self._agent is None:
            from ..ai.agent import Agent

            self._agent = Agent(self.project, self, self._resume_id, model=self.model)
        return self._agent

    @property
    def conversation_id(self) -> str | None:
        return self._agent.conversation_id if self._agent is not None else self._resume_id

    def resume(self) -> None:
        """Show the stored conversation's text so the user sees where it left off."""
        for message in self.agent.messages:
            for block in message["content"]:
                if block.get("type") == "text":
                    text = block["text"]
                    if message["role"] == "user":
                        self.panel.add("user", text=text.split("\n", 1)[-1])
                    else:
                        self.panel.add("assistant", text=text, done=True)

    # PanelHandler ------------------------------------------------------------------------------
    def on_submit(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                self.panel.add("notice", text="Still working on the last message; press Stop to cancel it.")
                return
            self.panel.status = "working"  # at once: a second Enter cannot send twice
            self._worker = threading.Thread(target=self._handle, args=(text,), name="keboola_nb-chat", daemon=True)
            self._worker.start()

    def _handle(self, text: str) -> None:
        from ..ai.client import has_key

        agent_ran = False
        try:
            if text.startswith("/"):
                from ..ai.slash import run_slash

                run_slash(self.project, self, text, self.agent)
            elif not has_key():
                from ..ai.secret_guard import guard

                self.user(guard(text)[0])  # the panel's items are saved in the notebook: no secrets there
                self._no_key_notice()
            else:
                agent_ran = True
                self.agent.send(text)  # leaves its own cost line in `info`
        except KeboolaError as e:
            self.error(redact(str(e)))
        except Exception as e:  # a bug: show it, keep the panel alive
            self.error(f"{type(e).__name__}: {redact(str(e))}")
        finally:
            with self._lock:
                self.agent.cancelled.clear()
                self.panel.status = "idle"
                if not agent_ran:
                    self.panel.info = self._idle_info()

    def on_stop(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                return
            self.agent.stop()
            self.panel.status = "stopping"

    def on_confirm(self, item_id: str, accepted: bool, edited_json: str | None) -> None:
        pending = self._pending.get(item_id)
        if pending is None or pending.proposal is None:
            return
        with pending.lock:
            if pending.closed:
                return
            value = None
            if accepted and edited_json is not None and edited_json != pending.proposal.json and pending.proposal.check:
                try:
                    value = pending.proposal.check(edited_json)
                except KeboolaError as e:
                    tries = self.panel.get(item_id).get("tries", 0) + 1  # a new value, so the card hears it
                    self.panel.update(item_id, error=redact(str(e)), tries=tries)
                    return  # the card stays open for another try
            pending.decision = Decision(accepted, value, "" if accepted else "the user pressed Cancel")
            pending.closed = True
            self.panel.update(item_id, state="accepted" if accepted else "cancelled", error=None,
                              **({"json": edited_json} if value is not None else {}))
            pending.answered.set()

    def on_secret(self, item_id: str, value: str | None) -> None:
        pending = self._pending.get(item_id)
        if pending is None:
            return
        with pending.lock:
            if pending.closed:
                return
            pending.closed = True
            if value:
                from ..store.secrets import store_secret

                pending.reference = str(store_secret(pending.label, value))
                self.panel.update(item_id, state="stored", reference=pending.reference)
            else:
                self.panel.update(item_id, state="cancelled")
            pending.answered.set()

    def on_insert(self, item_id: str) -> None:
        from .notebook import insert_cell_below

        if insert_cell_below(self.panel.get(item_id)["code"]):
            self.panel.update(item_id, inserted=True)
        else:
            self.notice("No notebook front end answered; copy the code instead.")

    # View --------------------------------------------------------------------------------------
    def user(self, text: str) -> None:
        self.panel.add("user", text=text)

    def text_start(self) -> str:
        return self.panel.add("assistant", text="", done=False)

    def text_delta(self, item_id: str, text: str) -> None:
        self.panel.delta(item_id, text)

    def text_end(self, item_id: str, text: str) -> None:
        self.panel.finish_text(item_id)  # the panel holds the streamed text

    def tool_start(self, name: str, args: dict[str, Any]) -> str:
        return self.panel.add("tool", name=name, args=args, status="running")

    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None:
        self.panel.update(item_id, status=status, summary=summary, seconds=round(seconds, 3))

    def notice(self, text: str) -> None:
        self.panel.add("notice", text=text)

    def error(self, text: str) -> None:
        self.panel.add("error", text=text)

    def status(self, state: str, info: str) -> None:
        self.panel.status = state
        self.panel.info = info

    def table(self, title: str, frame: "pd.DataFrame") -> None:
        from ..ai.tools import rows_of

        self.panel.add("table", title=title, **rows_of(frame, TABLE_ROWS))

    def code(self, code: str, language: str) -> str:
        item = self.panel.add("code", language=language, code=code, inserted=False)
        from .notebook import insert_cell_below

        if not self.auto_insert or not insert_cell_below(code):
            return "shown in the chat with Copy and Insert cell buttons"
        self.panel.update(item, inserted=True)
        return "a new cell below the active cell"

    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision:
        from ..ai.tools import rows_of

        preview = rows_of(proposal.preview) if proposal.preview is not None else None
        item = self.panel.add(
            "confirm", tool=proposal.tool, title=proposal.title, action=proposal.action,
            overview=[list(pair) for pair in proposal.overview], preview=preview, json=proposal.json,
            picture=proposal.picture,
            editable=proposal.check is not None, state="pending",
        )
        pending = self._wait(item, _Pending(proposal=proposal), cancelled)
        if cancelled.is_set() or pending.decision is None:
            return Decision(False, reason="stopped by the user")
        return pending.decision

    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> str | None:
        item = self.panel.add("credential", label=label, prompt=prompt, state="pending")
        return self._wait(item, _Pending(label=label), cancelled).reference

    def _wait(self, item: str, pending: _Pending, cancelled: threading.Event) -> _Pending:
        self._pending[item] = pending
        try:
            while not pending.answered.wait(WAIT_S):
                if cancelled.is_set():
                    with pending.lock:
                        if not pending.closed:  # else the answer came in just now, and stands
                            pending.closed = True
                            self.panel.update(item, state="cancelled")
                    break
            return pending
        finally:
            self._pending.pop(item, None)

    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> "Progress":
        return PanelProgress(self.panel, tool_item, title, cancelled)

    def _no_key_notice(self) -> None:
        from ..ai.client import KEY_HELP

        self.panel.add("notice", text=f"No Anthropic API key: {KEY_HELP}. Type **/help** for the commands.")

    def _idle_info(self) -> str:
        from ..ai.models import catalog

        return f"{self.model or catalog()['default']} · project {self.project.root.name}"


class PanelProgress:
    """Progress of a run shown in its tool card's summary line."""

    def __init__(self, panel: ChatPanel, item: str, title: str, cancelled: threading.Event) -> None:
        self.panel, self.item, self.title, self._cancelled = panel, item, title, cancelled
        self.label, self.index, self.total, self._last = "", 0, 0, 0.0

    def step(self, index: int, total: int, label: str) -> None:
        self.index, self.total, self.label = index, total, label
        self.panel.update(self.item, summary=f"{self.title}: {index}/{total} {label}")

    def advance(self, fraction: float) -> None:
        now = time.perf_counter()
        if now - self._last >= 0.25:
            self._last = now
            self.panel.update(self.item, summary=f"{self.title}: {self.index}/{self.total} {self.label} "
                                                 f"{fraction:.0%}")

    def finish(self, summary: str) -> None:
        self.panel.update(self.item, summary=f"{self.title}: {summary}")

    def cancelled(self) -> bool:
        return self._cancelled.is_set()
