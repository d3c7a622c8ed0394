"""What the assistant's loop and tools talk to: the project, and a View (the face that shows the chat).

Two faces implement View: the chat panel (ui/chat.py) and a cell's output for `%%keboola ask`
(ui/cell_view.py). Confirmations and secrets block the calling thread until the user answers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from ..engine.progress import Progress
    from ..model.configuration import Configuration
    from ..project import Project
    from .conversations import ConversationStore


@dataclass
class Proposal:
    """A change the assistant wants to make, shown as a card the user accepts, edits or cancels."""

    tool: str
    title: str
    action: str  # the accept button's label: Create, Run, Save, Delete
    overview: list[tuple[str, str]]
    preview: "pd.DataFrame | None" = None
    json: str | None = None
    # Turns edited JSON into what gets saved; raises KeboolaError when the edit is invalid.
    check: Callable[[str], Any] | None = None
    picture: str | None = None  # SVG markup (a flow's graph), shown in its own tab


@dataclass
class Draft:
    """A configuration a create_* tool built and checked but did not save: what its card shows, how to save it."""

    tool: str
    kind: str  # extractor, writer, transformation
    config: "Configuration"
    overview: list[tuple[str, str]]
    preview: "pd.DataFrame | None"
    check: Callable[[str], Any] | None  # edited JSON -> configuration (see Proposal.check)
    save: Callable[["Configuration", bool], "Configuration"]  # (configuration, replace) -> saved
    result: Callable[["Configuration"], dict[str, Any]]  # what the model is told of the saved one
    outputs: dict[str, "pd.DataFrame"] = field(default_factory=dict)  # sample rows of the tables it makes
    runnable: "Configuration | None" = None  # what a rehearsal runs to make its tables (a transformation)


class Declined(Exception):
    """Raised by a tool when the user cancels its proposal: the model is told, the card says so."""


@dataclass
class Decision:
    accepted: bool
    value: Any = None  # what `Proposal.check` made of an edit, if the user edited
    reason: str = ""


class View(Protocol):
    def user(self, text: str) -> None: ...
    def text_start(self) -> str: ...
    def text_delta(self, item_id: str, text: str) -> None: ...
    def text_end(self, item_id: str, text: str) -> None: ...
    def tool_start(self, name: str, args: dict[str, Any]) -> str: ...
    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None: ...
    def notice(self, text: str) -> None: ...
    def error(self, text: str) -> None: ...
    def status(self, state: str, info: str) -> None: ...
    def table(self, title: str, frame: "pd.DataFrame") -> None: ...
    def code(self, code: str, language: str) -> str: ...
    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision: ...
    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> str | None: ...
    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> "Progress": ...


@dataclass
class ToolContext:
    project: "Project"
    view: View
    conversations: "ConversationStore"
    conversation_id: str
    tool_item: str = ""  # the tool card of the call being run (progress shows there)
    cancelled: threading.Event = field(default_factory=threading.Event)
