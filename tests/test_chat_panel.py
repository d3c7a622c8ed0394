"""ChatPanel without a browser: items, streaming, messages from the front end, acks and failing handlers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from keboola_nb.ui.chat_panel import ChatPanel


class Recorder:
    """A PanelHandler that writes down every call into a shared event list."""

    def __init__(self, events: list[tuple[Any, ...]]) -> None:
        self.events = events

    def on_submit(self, text: str) -> None:
        self.events.append(("submit", text))

    def on_stop(self) -> None:
        self.events.append(("stop",))

    def on_confirm(self, item_id: str, accepted: bool, edited_json: str | None) -> None:
        self.events.append(("confirm", item_id, accepted, edited_json))

    def on_secret(self, item_id: str, value: str | None) -> None:
        self.events.append(("secret", item_id, value))

    def on_insert(self, item_id: str) -> None:
        self.events.append(("insert", item_id))


@pytest.fixture
def events() -> list[tuple[Any, ...]]:
    return []


@pytest.fixture
def panel(events: list[tuple[Any, ...]]) -> ChatPanel:
    widget = ChatPanel(Recorder(events))
    widget.send = lambda content, buffers=None: events.append(("sent", content))  # what goes to the browser
    yield widget
    widget.close()


def from_browser(panel: ChatPanel, **message: Any) -> None:
    panel._handle_custom_msg(message, [])


def test_front_end_files_are_found():
    panel = ChatPanel()
    assert "export default" in panel._esm and "render" in panel._esm
    assert ".kbnb-chat" in panel._css
    panel.close()


def test_add_fills_defaults_and_gives_unique_ids(panel):
    first = panel.add("user", text="hello")
    second = panel.add("tool", name="list_tables", args={"schema": "public"})
    assert first != second
    assert panel.items[0] == {"id": first, "kind": "user", "text": "hello"}
    tool = panel.get(second)
    assert tool["status"] == "running" and tool["seconds"] is None and tool["args"] == {"schema": "public"}
    with pytest.raises(ValueError, match="unknown chat item kind 'bogus'"):
        panel.add("bogus")


def test_update_replaces_the_list_so_it_syncs(panel):
    item_id = panel.add("confirm", tool="create_extractor", title="New extractor", action="Create", json="{}")
    seen = []
    panel.observe(lambda change: seen.append(change), "items")
    before = panel.items
    panel.update(item_id, state="accepted")
    assert len(seen) == 1 and seen[0]["new"] is not before
    assert before[0]["state"] == "pending", "the old list must stay as it was"
    assert panel.get(item_id)["state"] == "accepted" and panel.get(item_id)["kind"] == "confirm"


def test_get_returns_a_copy(panel):
    item_id = panel.add("table", title="orders", columns=["id"], rows=[[1]])
    panel.get(item_id)["rows"].append([2])
    assert panel.get(item_id)["rows"] == [[1]]
    with pytest.raises(KeyError):
        panel.get("nope")


def test_deltas_stream_by_message_and_land_in_items_when_finished(panel, events):
    item_id = panel.add("assistant")
    panel.delta(item_id, "Hello ")
    panel.delta(item_id, "**world**")
    panel.delta(item_id, "")
    sent = [content for kind, content, *_ in events if kind == "sent"]
    assert [(m["type"], m["id"], m["text"]) for m in sent] == [("delta", item_id, "Hello "), ("delta", item_id, "**world**")]
    assert all(isinstance(m["t"], float) for m in sent)
    assert panel.items[0]["text"] == "" and panel.items[0]["done"] is False, "deltas travel as messages only"
    assert panel.get(item_id)["text"] == "Hello **world**"
    panel.finish_text(item_id)
    assert panel.items[0]["text"] == "Hello **world**" and panel.items[0]["done"] is True
    panel.update(item_id, done=True)
    assert panel.items[0]["text"] == "Hello **world**", "streamed text is merged once"


def test_update_of_a_streaming_item_keeps_the_streamed_text(panel):
    item_id = panel.add("assistant", text="A")
    panel.delta(item_id, "B")
    panel.update(item_id, done=False)
    panel.delta(item_id, "C")
    panel.finish_text(item_id)
    assert panel.get(item_id)["text"] == "ABC"


def test_clear_forgets_items_and_stray_updates_are_ignored(panel, events):
    item_id = panel.add("assistant")
    panel.delta(item_id, "partial")
    panel.clear()
    assert panel.items == []
    panel.update(item_id, done=True)
    panel.delta(item_id, "late")
    assert panel.items == []
    assert [c["text"] for kind, c, *_ in events if kind == "sent"] == ["partial"]


@pytest.mark.parametrize(
    ("message", "call"),
    [
        ({"type": "submit", "text": "list my tables"}, ("submit", "list my tables")),
        ({"type": "stop"}, ("stop",)),
        ({"type": "confirm", "id": "confirm-3", "answer": "accept", "json": None}, ("confirm", "confirm-3", True, None)),
        ({"type": "confirm", "id": "confirm-3", "answer": "accept", "json": '{"a": 1}'},
         ("confirm", "confirm-3", True, '{"a": 1}')),
        ({"type": "confirm", "id": "confirm-3", "answer": "cancel", "json": None}, ("confirm", "confirm-3", False, None)),
        ({"type": "secret", "id": "credential-2", "value": "s3cret"}, ("secret", "credential-2", "s3cret")),
        ({"type": "credential_cancel", "id": "credential-2"}, ("secret", "credential-2", None)),
        ({"type": "insert", "id": "code-4"}, ("insert", "code-4")),
    ],
)
def test_front_end_messages_are_acked_then_dispatched(panel, events, message, call):
    from_browser(panel, **message, seq=7)
    assert events == [("sent", {"type": "ack", "seq": 7}), call]


def test_unknown_messages_are_ignored(panel, events):
    from_browser(panel, type="anywidget-command", seq=1)
    assert events == [] and panel.items == []


def test_a_failing_handler_becomes_an_error_item(panel, events):
    def broken(text: str) -> None:
        raise RuntimeError("session is gone")

    panel.handler.on_submit = broken
    from_browser(panel, type="submit", text="hi", seq=1)
    assert events[0] == ("sent", {"type": "ack", "seq": 1})
    assert [(i["kind"], i["text"]) for i in panel.items] == [("error", "session is gone")]
    from_browser(panel, type="stop", seq=2)
    assert events[-1] == ("stop",), "the panel keeps working after a failure"


def test_without_a_handler_the_user_is_told(events):
    panel = ChatPanel()
    panel.send = lambda content, buffers=None: events.append(("sent", content))
    from_browser(panel, type="submit", text="hi", seq=3)
    assert events == [("sent", {"type": "ack", "seq": 3})]
    assert panel.items[0]["kind"] == "error" and "not connected" in panel.items[0]["text"]
    panel.close()


def test_items_survive_concurrent_writers(panel):
    def writer(n: int) -> None:
        for i in range(40):
            item_id = panel.add("tool", name=f"t{n}-{i}")
            panel.update(item_id, status="ok")
            assistant = panel.add("assistant")
            panel.delta(assistant, "x")
            panel.delta(assistant, "y")
            panel.finish_text(assistant)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = panel.items
    assert len(items) == 8 * 40 * 2 and len({i["id"] for i in items}) == len(items)
    assert all(i["status"] == "ok" for i in items if i["kind"] == "tool")
    assert all(i["text"] == "xy" and i["done"] for i in items if i["kind"] == "assistant")
