"""The flow editor (`%keboola flow NAME`), driven from Python: a task's configuration card, edits on the canvas
saved through `Flows.update`, refusals shown in the panel, and live graphs redrawn when the flow is saved again."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from flow_fixtures import split_orders
from test_flow_graph import drag, json_of, page_event

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
    assert "component: DuckDB SQL transformation" in editor.card.value and "keboola." not in editor.card.value
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


# -- editing on the canvas: the page's events (as ipycytoscape sends them) in, a saved version of the flow out ----
# Laid out: first | second | third, left to right 260 apart, one task each (big, small, tiny) at y = 0.


def saved(project) -> tuple[int, dict[str, Any]]:
    config = project.configs.get("daily")
    return config.version, config.configuration


def click(editor: FlowEditor, element_id: str) -> None:
    widget = "edge" if element_id.startswith("next:") else "node"
    page_event(editor.graph, widget, "click", json_of(editor.graph, element_id))


def arrow(editor: FlowEditor, source: str, target: str) -> str:
    return next(e["data"]["id"] for e in editor.graph.elements
                if e["data"].get("source") == f"phase:{source}" and e["data"].get("target") == f"phase:{target}")


def test_dragging_a_task_into_another_phase_moves_it_there(shop):
    editor = FlowEditor(shop.flows, "daily")
    version, _ = saved(shop)
    drag(editor.graph, "task:tiny", {"x": 10, "y": 20})  # into first's box
    assert task_json(shop, "tiny")["phase"] == "first" and saved(shop)[0] == version + 1
    assert shop.configs.versions(shop.configs.get("daily").id)[-1].actor == "user"
    assert element(editor, "tiny")["data"]["parent"] == "phase:first"  # redrawn from the saved flow
    assert editor.graph._nodes["tiny"].data["parent"] == "phase:first"
    assert "tiny: moved to phase first; saved as version" in editor.message.value
    drag(editor.graph, "task:tiny", {"x": 0, "y": 0}, released_on="task:small")  # dropped onto small
    assert task_json(shop, "tiny")["phase"] == "second"


def test_a_task_dropped_outside_every_phase_changes_nothing(shop):
    editor = FlowEditor(shop.flows, "daily")
    before, node = saved(shop), editor.graph._nodes["tiny"]
    drag(editor.graph, "task:tiny", {"x": 400, "y": 250})  # below the boxes, between two columns
    assert saved(shop) == before
    back = editor.graph._nodes["tiny"]
    assert back is not node and back.position == {"x": 520, "y": 0}  # drawn anew: back in its phase
    assert "Nothing changed" in editor.message.value and "inside a phase" in editor.message.value
    drag(editor.graph, "task:tiny", {"x": 530, "y": 12})  # moved a little inside its own phase: layout only
    assert saved(shop) == before


def test_linking_two_phases_makes_the_second_run_right_after_the_first(shop):
    editor = FlowEditor(shop.flows, "daily")
    version, _ = saved(shop)
    editor.link_button.value = True
    assert editor.graph.link_mode and "click the phase that runs first" in editor.hint.value
    click(editor, "phase:first")
    assert "run right after <b>first</b>" in editor.hint.value
    click(editor, "task:tiny")  # a task stands for its phase
    assert default_path(shop) == ["first", "third", "second"] and saved(shop)[0] == version + 1
    assert "third runs after first (order: first → third → second); saved as version" in editor.message.value
    assert arrow(editor, "first", "third") and arrow(editor, "third", "second")  # the canvas redrew
    assert editor.graph.link_mode  # stays on for the next link


def test_a_link_that_closes_a_circle_is_refused_and_nothing_saved(shop):
    editor = FlowEditor(shop.flows, "daily")
    before = saved(shop)
    editor.link_button.value = True
    click(editor, "phase:third")
    click(editor, "phase:first")  # first after third, which runs after second, which runs after first
    assert saved(shop) == before
    assert "refused" in editor.message.value and "circle" in editor.message.value
    click(editor, "phase:first")
    click(editor, "phase:second")  # second already runs right after first
    assert saved(shop) == before and "Nothing to save: second runs after first" in editor.message.value


def test_removing_a_clicked_arrow(shop):
    editor = FlowEditor(shop.flows, "daily")
    assert editor.remove_button.disabled
    click(editor, arrow(editor, "first", "second"))
    assert not editor.remove_button.disabled
    assert "<b>first</b> is followed by <b>second</b>" in editor.hint.value
    editor.remove_button.click()
    assert default_path(shop) == ["second", "first", "third"]  # second no longer waits for first
    assert "second no longer runs after first" in editor.message.value
    assert editor.graph.selected_link is None and editor.remove_button.disabled  # that arrow is gone


def test_removing_a_conditional_arrow_deletes_that_transition(shop):
    flow = shop.configs.get("daily").configuration
    flow["phases"][0]["next"].insert(0, {"id": "skip", "goto": "third", "condition": {
        "type": "operator", "operator": "EQUALS",
        "operands": [{"type": "phase", "phase": "first", "value": "status"}, {"type": "const", "value": "error"}]}})
    shop.flows.update("daily", flow)
    editor = FlowEditor(shop.flows, "daily")
    click(editor, arrow(editor, "first", "third"))
    assert "goes on, when its condition holds, to <b>third</b>" in editor.hint.value
    editor.remove_button.click()
    assert [t["id"] for t in shop.configs.get("daily").configuration["phases"][0]["next"]] == ["first-second"]
    assert default_path(shop) == ["first", "second", "third"]


def test_disabling_and_enabling_the_clicked_task_from_the_toolbar(shop):
    editor = FlowEditor(shop.flows, "daily")
    assert editor.toggle_button.disabled
    click(editor, "task:small")
    assert editor.graph.selected == "small" and editor.toggle_button.description == "Disable task"
    editor.toggle_button.click()
    assert task_json(shop, "small")["enabled"] is False
    assert "disabled" in editor.graph._nodes["small"].classes.split()  # drawn greyed
    assert editor.toggle_button.description == "Enable task" and editor.enabled.value is False
    editor.toggle_button.click()
    assert task_json(shop, "small")["enabled"] is True
    assert "disabled" not in editor.graph._nodes["small"].classes.split()


def test_an_edit_made_elsewhere_redraws_the_editors_canvas(shop):
    editor = FlowEditor(shop.flows, "daily")
    editor.link_button.value = True
    click(editor, "phase:third")  # picked, then the assistant replaces the flow without that phase
    shop.flows.create("daily", "phases:\n  - only: [big, tiny]\n", replace=True, actor="assistant")
    assert editor.graph.link_source is None and "click the phase that runs first" in editor.hint.value
    drag(editor.graph, "task:tiny", {"x": 900, "y": 900})
    assert saved(shop)[1]["phases"][0]["id"] == "only"  # dropped outside: nothing saved


def test_edits_go_through_the_core_api_without_a_widget(project):
    """`project.flows.edit` is what the editor calls: the same edits are open to the assistant or a script."""
    from keboola_nb.components.flow.edits import enable, move

    split_orders(project)
    project.flows.create("daily", "phases:\n  - first: [big]\n  - second: [small]\n")
    saved, done = project.flows.edit("daily", lambda flow: move(flow, flow.tasks[1], "first"))
    assert saved.version == 2 and done == "moved to phase first"
    assert {t["phase"] for t in saved.configuration["tasks"]} == {"first"}
    unchanged, said = project.flows.edit("daily", lambda flow: enable(flow.tasks[0], True))
    assert unchanged is None and said == "enabled" and project.configs.get("daily").version == 2
    with pytest.raises(KeboolaError):
        project.flows.edit("daily", lambda flow: move(flow, flow.tasks[0], "nowhere"))
    assert project.configs.get("daily").version == 2
