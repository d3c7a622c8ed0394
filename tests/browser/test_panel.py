"""The chat panel in a real JupyterLab: sidebar, live streaming, confirmations, inserted cells, a restarted kernel.

The notebook drives the panel with a tiny handler defined in the cell, so these tests need no AI.
"""

from __future__ import annotations

import json

import pytest

from .lab import Chat

pytestmark = pytest.mark.browser

INSERTED_CODE = "df = project.storage.preview('in.c-shop.orders')\nprint(len(df))  # from the chat"

SETUP = '''
import json, pathlib
from keboola_nb.ui.chat_panel import ChatPanel
from keboola_nb.ui.notebook import insert_cell_below, open_in_sidebar

class Handler:
    """Echo-style handler: "stream" starts a reply and leaves it open, "finish" completes it."""
    reply = None

    def on_submit(self, text):
        panel.add("user", text=text)
        if text == "stream":
            self.reply = panel.add("assistant")
            for part in ["Hello ", "**bo", "ld** and ", "`code`"]:
                panel.delta(self.reply, part)
        elif text == "finish":
            for part in ["\\n\\n- one\\n- two\\n\\n", "<img src=x onerror=window.kbnbHacked=1> ",
                         "[bad](javascript:window.kbnbHacked=1) [good](https://example.com)"]:
                panel.delta(self.reply, part)
            panel.finish_text(self.reply)
        elif text == "confirm":
            panel.add("confirm", tool="create_extractor", title="Create extractor shop", action="Create",
                      overview=[["Connection", "shop"]], json='{"tables": ["orders"]}', editable=True)
        elif text == "flow":
            from keboola_nb.ui.flow_picture import flow_picture
            flow = {"phases": [{"id": "1", "name": "extract", "next": [{"id": "t", "goto": "2"}]},
                               {"id": "2", "name": "load", "next": [{"id": "e", "goto": None}]}],
                    "tasks": [{"id": "a", "name": "<img src=x onerror=window.kbnbHacked=1>", "phase": "1", "task": {}},
                              {"id": "b", "name": "sales", "phase": "1", "task": {}},
                              {"id": "c", "name": "to-dwh", "phase": "2", "task": {}}]}
            picture = flow_picture(flow, {"a": "extractor", "b": "extractor", "c": "writer"})
            panel.add("confirm", tool="create_flow", title="Create flow daily", action="Create",
                      overview=[["Phase 1: extract", "a, sales"]], json="{}", picture=picture)
        elif text == "code":
            panel.add("code", language="python", code=CODE)
        else:
            panel.finish_text(panel.add("assistant", text=f"You said: {text}"))

    def on_stop(self):
        pass

    def on_confirm(self, item_id, accepted, edited_json):
        pathlib.Path(f"{item_id}.json").write_text(json.dumps({"accepted": accepted, "json": edited_json}))
        panel.update(item_id, state="accepted" if accepted else "cancelled")

    def on_secret(self, item_id, value):
        pass

    def on_insert(self, item_id):
        insert_cell_below(panel.get(item_id)["code"])
        panel.update(item_id, inserted=True)

panel = ChatPanel(Handler(), has_key=True)
open_in_sidebar(panel)
''' + f"CODE = {INSERTED_CODE!r}\n"


@pytest.fixture
def chat(open_notebook):  # type: ignore[no-untyped-def]
    nb = open_notebook([SETUP, "1 + 1"])
    nb.run_cell(0)
    panel = Chat(nb.page)
    panel.root.wait_for()
    return nb, panel


def test_panel_opens_in_the_right_sidebar_and_streams_markdown(chat):
    nb, panel = chat
    in_right_area = nb.page.evaluate(
        "() => Array.from(window.jupyterapp.shell.widgets('right')).some(w => !!w.node.querySelector('.kbnb-chat'))")
    assert in_right_area, "the panel must be a widget of the right sidebar"
    assert nb.page.locator("#jp-right-stack .kbnb-chat").is_visible(), "its sidebar tab must be the active one"

    panel.send("stream")
    reply = panel.item("assistant")
    reply.locator("strong", has_text="bold").wait_for()
    reply.locator("code", has_text="code").wait_for()
    assert reply.get_attribute("data-status") == "streaming", "text shows up before the reply is finished"
    assert "Hello bold and code" in reply.inner_text()
    assert panel.item("user").inner_text() == "stream"
    assert nb.page.evaluate("() => window.keboolaNbLatency.length") >= 4

    panel.send("finish")
    panel.item("assistant", status="done").wait_for()
    assert reply.locator("li").all_inner_texts() == ["one", "two"]
    assert reply.locator("code").inner_text() == "code"
    assert "<img src=x" in reply.inner_text(), "HTML in a reply is shown as text"
    assert reply.locator("img").count() == 0
    assert reply.locator("a[href^=javascript]").count() == 0
    assert reply.locator('a[href="https://example.com"][rel~=noopener]').count() == 1
    assert nb.page.evaluate("() => window.kbnbHacked") is None


def test_confirm_accepts_and_sends_edited_json(chat):
    nb, panel = chat
    panel.send("confirm")
    card = panel.item("confirm", status="pending")
    first = card.get_attribute("data-id")
    card.locator(".kbnb-confirm-accept").click()
    panel.item("confirm", first, status="accepted").wait_for()
    assert json.loads((nb.lab.root / f"{first}.json").read_text()) == {"accepted": True, "json": None}
    assert panel.item("confirm", first).locator(".kbnb-confirm-accept").count() == 0, "no buttons once answered"

    panel.send("confirm")
    card = panel.item("confirm", status="pending")
    second = card.get_attribute("data-id")
    assert second != first
    card.locator(".kbnb-confirm-edit").click()
    editor = card.locator("textarea.kbnb-json-edit")
    assert json.loads(editor.input_value()) == {"tables": ["orders"]}
    edited = '{"tables": ["orders", "customers"]}'
    editor.fill(edited)
    card.locator(".kbnb-confirm-accept").click()
    panel.item("confirm", second, status="accepted").wait_for()
    assert json.loads((nb.lab.root / f"{second}.json").read_text()) == {"accepted": True, "json": edited}


def test_a_proposed_flow_shows_its_graph_in_its_own_tab(chat):
    nb, panel = chat
    panel.send("flow")
    card = panel.item("confirm", status="pending")
    card.locator('.kbnb-tab[data-tab="graph"]').click()
    picture = card.locator(".kbnb-tab-body[data-tab=graph] .kbnb-picture svg")
    picture.wait_for()
    assert picture.locator(".kbnb-phase").count() == 2 and picture.locator(".kbnb-transition").count() == 1
    kinds = [picture.locator(".kbnb-task").nth(i).get_attribute("data-kind") for i in range(3)]
    assert kinds == ["extractor", "extractor", "writer"]
    box = picture.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80, "drawn at its size, not collapsed"
    # A task name is text in the picture, never markup that runs.
    assert picture.locator("img").count() == 0 and "<img src=x" in picture.locator(".kbnb-task").first.text_content()
    assert nb.page.evaluate("() => window.kbnbHacked") is None


def test_insert_cell_puts_the_code_below_the_active_cell(chat):
    nb, panel = chat
    assert nb.active_cell_index() == 0
    panel.send("code")
    code = panel.item("code")
    assert code.locator("pre").inner_text() == INSERTED_CODE
    code.locator(".kbnb-insert").click()
    code.locator(".kbnb-inserted").wait_for()
    nb.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.length === 3")
    assert nb.cell_sources()[1:] == [INSERTED_CODE, "1 + 1"]


def test_restarted_kernel_shows_the_reconnect_banner(chat):
    nb, panel = chat
    banner = panel.root.locator(".kbnb-banner")
    panel.send("ping")
    panel.item("assistant").wait_for()
    assert panel.item("assistant").inner_text() == "You said: ping"
    assert banner.is_hidden()

    nb.restart_kernel()
    panel.send("hello again")
    banner.wait_for(timeout=15_000)  # shown when no ack arrives within 5 s
    assert "run %keboola chat again to reconnect" in banner.inner_text()
    assert panel.root.locator(".kbnb-input").input_value() == "hello again", "the unanswered message is kept"
    assert panel.item("user").count() == 1


def test_keys_typed_into_a_panel_in_a_cell_stay_out_of_the_notebook(open_notebook):
    nb = open_notebook([SETUP.replace("open_in_sidebar(panel)", "display(panel)"), "1 + 1"])
    nb.run_cell(0)
    panel = Chat(nb.page, within=".jp-OutputArea")
    panel.root.locator(".kbnb-input").click()
    nb.page.keyboard.type("abd dxz")  # command-mode shortcuts: insert, delete, cut, undo cells
    nb.page.keyboard.press("Shift+Enter")  # would run the cell and rebuild the panel
    nb.page.keyboard.type("line two")
    nb.page.keyboard.press("Enter")
    panel.item("assistant").wait_for()
    assert panel.item("user").inner_text() == "abd dxz\nline two"
    assert len(nb.cell_sources()) == 2
    assert nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).executionCount") == 1
