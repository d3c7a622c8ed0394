"""The flow editor (`%keboola flow NAME`), driven from Python: a task's configuration card, edits on the canvas
saved through `Flows.update`, refusals shown in the panel, and live graphs redrawn when the flow is saved again."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from flow_fixtures import split_orders

from keboola_nb.errors import KeboolaError
from keboola_nb.ui.flow_editor import FlowEditor
from keboola_nb.ui.flow_graph import flow_graph

BODY = "phases:\n  - first: [big]\n  - second: [small]\n  - third: [tiny]\n"


@pytest.fixture
def shop(project):
    t = split_orders(project).transformations
    t.create_sql("tiny", "CREATE TABLE tiny AS SELECT id FROM orders WHERE amount < 1",
                 inputs=["in.c-shop.orders"], outputs=["out.c-x.tiny"])
    project.flows.create("daily", BODY)
    return project


def task_id(project, name: str) -> str:
    return next(t["id"] for t in project.configs.get("daily").configuration["tasks"] if t["name"] == name)


def task_json(project, name: str) -> dict[str, Any]:
    return next(t for t in project.configs.get("daily").configuration["tasks"] if t["name"] == name)


def element(editor: FlowEditor, tid: str) -> dict[str, Any]:
    return next(e for e in editor.graph.elements if e["data"].get("task_id") == tid)


def default_path(project) -> list[str]:
    from keboola_nb.components.flow import model

    return model.order(model.from_flow_json(project.configs.get("daily").configuration))


def test_selecting_a_task_fills_its_card(shop):
    editor = FlowEditor(shop.flows, "daily")
    assert editor.controls.layout.display == "none" and "Click a task" in editor.card.value
    editor.graph.selected = task_id(shop, "big")
    assert "<b>big</b>" in editor.card.value
    assert "in.c-shop.orders" in editor.card.value and "out.c-x.big" in editor.card.value  # its routes line
    assert "CREATE TABLE big" in editor.json_view.value
    assert editor.enabled.value is True and editor.phase.value == "first"
    assert editor.runs_after.options == (("second", "second"), ("third", "third"))
    assert editor.runs_after.value == ()  # the first phase depends on nothing
    editor.graph.selected = task_id(shop, "tiny")
    assert editor.runs_after.value == ("second",)


def test_unchecking_enabled_saves_a_version_and_greys_the_task(shop):
    editor = FlowEditor(shop.flows, "daily")
    before = shop.configs.get("daily").version
    tid = task_id(shop, "small")
    editor.graph.selected = tid
    editor.enabled.value = False
    saved = shop.configs.get("daily")
    assert saved.version == before + 1
    assert task_json(shop, "small")["enabled"] is False
    assert "disabled" in element(editor, tid)["classes"].split()
    assert "disabled" in editor.graph._nodes[tid].classes.split()  # the drawn node, not only the element dict
    assert "(disabled)" in editor.card.value and "saved as version" in editor.message.value
    assert shop.configs.versions(saved.id)[-1].actor == "user"


def test_moving_a_task_to_another_phase_saves_it_there(shop):
    editor = FlowEditor(shop.flows, "daily")
    tid = task_id(shop, "tiny")
    editor.graph.selected = tid
    editor.phase.value = "first"
    assert task_json(shop, "tiny")["phase"] == "first"
    assert element(editor, tid)["data"]["parent"] == "phase:first"
    assert editor.phase.value == "first"


def test_a_dependency_that_makes_a_cycle_is_refused_and_nothing_saved(shop):
    editor = FlowEditor(shop.flows, "daily")
    before = shop.configs.get("daily")
    editor.graph.selected = task_id(shop, "big")
    editor.runs_after.value = ("third",)  # first after third, which (through second) runs after first
    assert "refused" in editor.message.value and "circle" in editor.message.value
    after = shop.configs.get("daily")
    assert after.version == before.version and after.configuration == before.configuration
    assert editor.runs_after.value == ()  # the controls show the saved flow again


def test_a_dependency_change_rewrites_the_default_transitions(shop):
    editor = FlowEditor(shop.flows, "daily")
    editor.graph.selected = task_id(shop, "small")
    editor.runs_after.value = ()  # second no longer waits for first: it runs first
    assert default_path(shop) == ["second", "first", "third"]
    assert editor.runs_after.value == ()
    editor.graph.selected = task_id(shop, "big")
    assert editor.runs_after.value == ("second",)


def test_update_checks_the_flow_and_refuses_a_missing_configuration(shop):
    flow = shop.configs.get("daily").configuration
    flow["tasks"][0]["task"]["configId"] = "404"
    with pytest.raises(KeboolaError, match="not in this project"):
        shop.flows.update("daily", flow)
    assert shop.configs.get("daily").configuration["tasks"][0]["task"]["configId"] != "404"


def test_replacing_the_flow_redraws_a_live_editor(shop):
    editor = FlowEditor(shop.flows, "daily")
    plain = flow_graph(shop.flows, "daily")
    assert {e["data"].get("label") for e in editor.graph.elements} >= {"first", "third"}
    shop.flows.create("daily", "phases:\n  - only: [big, tiny]\n", replace=True, actor="assistant")
    for graph in (editor.graph, plain):
        labels = {e["data"]["label"] for e in graph.elements if "task_id" in e["data"] or "phase_id" in e["data"]}
        assert labels == {"only", "big", "tiny"}
    assert "<b>big</b>" not in editor.card.value  # nothing selected any more that the flow still has
    editor.graph.selected = next(e["data"]["task_id"] for e in editor.graph.elements
                                 if e["data"].get("label") == "tiny")
    assert editor.phase.options == (("only", "only"),)


def test_live_graphs_are_held_weakly(shop):
    graph = flow_graph(shop.flows, "daily")
    assert graph in shop.flows.live("daily")
    graph.close()
    del graph
    gc.collect()
    assert shop.flows.live("daily") == []


def test_the_magic_returns_the_editor(shop, ip):
    shown = ip.run_line_magic("keboola", "flow daily --show")
    assert isinstance(shown, FlowEditor) and shown.name == "daily"
    assert shown.graph in shop.flows.live("daily")
