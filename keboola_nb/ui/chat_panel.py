"""The chat panel: an anywidget that shows a conversation and reports what the user does.

It is only the view. A chat session implements `PanelHandler` and drives the panel through
`add` / `update` / `delta` / `finish_text`; those may be called from any thread.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import anywidget
import traitlets


def _static_dir() -> Path:
    """The installed `keboola_nb/static/`, or `<repo>/js/` when running from a source checkout."""
    installed = Path(__file__).resolve().parent.parent / "static"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "js"


class PanelHandler(Protocol):
    def on_submit(self, text: str) -> None: ...
    def on_stop(self) -> None: ...
    def on_confirm(self, item_id: str, accepted: bool, edited_json: str | None) -> None: ...
    def on_secret(self, item_id: str, value: str | None) -> None: ...  # None = cancelled
    def on_insert(self, item_id: str) -> None: ...


# Fields an item of each kind starts with, so the front end never meets a half-formed item.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "user": {"text": ""},
    "assistant": {"text": "", "done": False},
    "tool": {"name": "", "args": {}, "status": "running", "summary": "", "seconds": None},
    "confirm": {"tool": "", "title": "", "action": "OK", "overview": [], "preview": None, "json": None,
                "picture": None, "editable": False, "state": "pending", "error": None},
    "table": {"title": "", "columns": [], "rows": []},
    "code": {"language": "python", "code": "", "inserted": False},
    "credential": {"label": "", "prompt": "", "state": "pending", "reference": None},
    "notice": {"text": ""},
    "error": {"text": ""},
}


class ChatPanel(anywidget.AnyWidget):
    _esm = _static_dir() / "chat.js"
    _css = _static_dir() / "chat.css"

    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    info = traitlets.Unicode("").tag(sync=True)
    has_key = traitlets.Bool(False).tag(sync=True)

    def __init__(self, handler: PanelHandler | None = None, **traits: Any) -> None:
        super().__init__(**traits)
        self.handler = handler
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._streamed: dict[str, str] = {}  # assistant text sent as deltas, not yet in `items`
        self.on_msg(self._on_msg)

    # -- items ------------------------------------------------------------------------------------

    def add(self, kind: str, **fields: Any) -> str:
        if kind not in _DEFAULTS:
            raise ValueError(f"unknown chat item kind {kind!r}; expected one of {', '.join(_DEFAULTS)}")
        with self._lock:
            item_id = f"{kind}-{next(self._ids)}"
            item = {**copy.deepcopy(_DEFAULTS[kind]), **fields, "id": item_id, "kind": kind}
            self.items = [*self.items, item]  # a new list: traitlets only syncs on a new object
        return item_id

    def update(self, item_id: str, **fields: Any) -> None:
        """Merge fields into an item; an id that is gone (after `clear`) is ignored."""
        with self._lock:
            streamed = self._streamed.pop(item_id, "")
            items = []
            for item in self.items:
                if item["id"] == item_id:
                    text = {"text": item.get("text", "") + streamed} if streamed else {}
                    item = {**item, **text, **fields, "id": item_id, "kind": item["kind"]}
                items.append(item)
            self.items = items

    def delta(self, item_id: str, text: str) -> None:
        if not text:
            return
        with self._lock:
            if not any(item["id"] == item_id for item in self.items):
                return
            self._streamed[item_id] = self._streamed.get(item_id, "") + text
            self.send({"type": "delta", "id": item_id, "text": text, "t": time.time()})

    def finish_text(self, item_id: str) -> None:
        self.update(item_id, done=True)

    def get(self, item_id: str) -> dict[str, Any]:
        """A copy of the item, including text streamed into it that `items` does not hold yet."""
        with self._lock:
            for item in self.items:
                if item["id"] == item_id:
                    found = copy.deepcopy(item)
                    if item_id in self._streamed:
                        found["text"] = found.get("text", "") + self._streamed[item_id]
                    return found
        raise KeyError(f"no chat item {item_id!r}")

    def clear(self) -> None:
        with self._lock:
            self._streamed.clear()
            self.items = []

    # -- messages from the front end --------------------------------------------------------------

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind not in _MESSAGES:
            return  # not ours (anywidget's own messages)
        self.send({"type": "ack", "seq": content.get("seq")})
        handler = self.handler
        if handler is None:
            self.add("error", text="This panel is not connected to a chat session. Run %keboola chat to start one.")
            return
        try:
            _dispatch(handler, kind, content)
        except Exception as exc:  # noqa: BLE001 - a failing handler must leave a working panel
            self.add("error", text=str(exc) or type(exc).__name__)


_MESSAGES = {"submit", "stop", "confirm", "secret", "credential_cancel", "insert"}


def _dispatch(handler: PanelHandler, kind: str, msg: dict[str, Any]) -> None:
    if kind == "submit":
        handler.on_submit(str(msg.get("text", "")))
    elif kind == "stop":
        handler.on_stop()
    elif kind == "confirm":
        handler.on_confirm(msg["id"], msg.get("answer") == "accept", msg.get("json"))
    elif kind == "secret":
        handler.on_secret(msg["id"], str(msg.get("value", "")))
    elif kind == "credential_cancel":
        handler.on_secret(msg["id"], None)
    elif kind == "insert":
        handler.on_insert(msg["id"])
