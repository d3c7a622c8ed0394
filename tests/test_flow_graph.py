"""graph_of / flow_elements: a keboola.flow JSON turned into cytoscape elements, and FlowGraph's kernel side.

The page side (drawing, recolouring, clicks) is tests/browser/test_flow_graph.py.
"""

from __future__ import annotations

from typing import Any

import ipycytoscape
import pytest
import traitlets

from keboola_nb.ui.flow_graph import FlowGraph, graph_of
from keboola_nb.ui.flow_layout import flow_elements, kind_of_component

FLOW: dict[str, Any] = {
    "phases": [
        {"id": 1, "name": "Extract", "next": [{"id": "n1", "goto": 2}]},
        {"id": 2, "name": "Transform", "next": [
            {"id": "n2", "name": "ok", "goto": 3, "condition": {"type": "operator", "operator": "EQUALS"}},
            {"id": "n3", "name": "failed", "goto": 4, "condition": {"type": "operator", "operator": "NOT_EQUALS"}}]},
        {"id": 3, "name": "Load", "next": [{"id": "n4", "goto": None}]},
        {"id": 4, "name": "Alert", "next": []},
    ],
    "tasks": [
        {"id": 11, "name": "orders", "phase": 1, "task": {"type": "job", "componentId": "keboola.ex-db-pgsql",
                                                         "configId": "101"}},
        {"id": 12, "name": "customers", "phase": 1, "task": {"componentId": "keboola.ex-aws-s3"}},
        {"id": 21, "name": "revenue", "phase": 2, "task": {"componentId": "keboola.duckdb-transformation"}},
        {"id": 31, "name": "to warehouse", "phase": 3, "enabled": False,
         "task": {"componentId": "keboola.wr-db-snowflake"}},
        {"id": 41, "name": "tell ops", "phase": 4, "task": {"type": "notification"}},
    ],
}


def _by_id(elements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["data"]["id"]: e for e in elements}


def test_phases_are_compound_nodes_with_their_tasks_inside() -> None:
    elements = _by_id(flow_elements(FLOW, {41: "notification"}))
    phases = {k: v for k, v in elements.items() if "phase" in v["classes"].split()}
    assert [p["data"]["label"] for p in phases.values()] == ["Extract", "Transform", "Load", "Alert"]
    assert phases["phase:1"]["data"]["phase_id"] == 1
    tasks = {v["data"]["task_id"]: v for v in elements.values() if "task_id" in v["data"]}
    assert sorted(tasks) == [11, 12, 21, 31, 41]
    assert tasks[11]["data"]["parent"] == "phase:1" and tasks[41]["data"]["parent"] == "phase:4"
    assert tasks[11]["data"]["config_id"] == "101" and tasks[11]["data"]["component"] == "keboola.ex-db-pgsql"


def test_kinds_given_win_and_missing_ones_are_guessed() -> None:
    tasks = {e["data"]["task_id"]: e for e in flow_elements(FLOW, {"12": "transformation"}) if "task_id" in e["data"]}
    assert tasks[11]["data"]["kind"] == "extractor" and "kind-extractor" in tasks[11]["classes"].split()
    assert tasks[12]["data"]["kind"] == "transformation"  # given (a str key matches the int id)
    assert tasks[21]["data"]["kind"] == "transformation"
    assert tasks[31]["data"]["kind"] == "writer" and "disabled" in tasks[31]["classes"].split()
    assert tasks[41]["data"]["kind"] == "other" and "kind-other" in tasks[41]["classes"].split()
    assert kind_of_component("keboola.wr-google-bigquery-v2") == "writer"
    assert kind_of_component("keboola.python-transformation-v2") == "transformation"


def test_transitions_are_edges_dashed_when_conditional() -> None:
    edges = [e for e in flow_elements(FLOW) if e["group"] == "edges"]
    got = {(e["data"]["source"], e["data"]["target"], e["classes"], e["data"]["label"]) for e in edges}
    assert got == {("phase:1", "phase:2", "", ""), ("phase:2", "phase:3", "conditional", "ok"),
                   ("phase:2", "phase:4", "conditional", "failed")}  # goto None ends the flow: no edge


def test_phases_are_laid_out_left_to_right_by_transitions() -> None:
    elements = flow_elements(FLOW)
    x_of = {e["data"]["parent"]: e["position"]["x"] for e in elements if "task_id" in e["data"]}
    assert x_of["phase:1"] < x_of["phase:2"] < x_of["phase:3"] == x_of["phase:4"]  # 3 and 4 branch from 2
    ys = {e["data"]["task_id"]: e["position"]["y"] for e in elements if "task_id" in e["data"]}
    assert ys[11] < ys[12]  # stacked in their phase
    assert ys[31] < ys[41]  # phases of one column are stacked too


def test_loops_and_phases_listed_out_of_order() -> None:
    flow = {"phases": [{"id": "c", "next": [{"goto": "a"}]},  # a loop back to the start
                       {"id": "b", "next": [{"goto": "c"}]},
                       {"id": "a", "next": [{"goto": "b"}]}],
            "tasks": [{"id": t, "phase": t[0], "task": {}} for t in ("a1", "b1", "c1")]}
    x_of = {e["data"]["task_id"]: e["position"]["x"] for e in flow_elements(flow) if "task_id" in e["data"]}
    assert len(set(x_of.values())) == 3  # every phase has its own column despite the cycle
    assert len([e for e in flow_elements(flow) if e["group"] == "edges"]) == 3  # the loop is still drawn


def test_empty_phase_and_unknown_phase() -> None:
    elements = flow_elements({"phases": [{"id": 1}], "tasks": []})
    assert [e["classes"] for e in elements] == ["phase", "placeholder"]
    with pytest.raises(ValueError, match="phase 9"):
        flow_elements({"phases": [{"id": 1}], "tasks": [{"id": 5, "phase": 9, "task": {}}]})


def test_statuses_set_classes_and_clicks_set_selected() -> None:
    graph = graph_of(FLOW)
    assert isinstance(graph, FlowGraph) and len(graph.elements) == 4 + 5 + 3
    nodes = {n.data["id"]: n for n in graph.graph.nodes}
    assert len(nodes) == 9 and len(graph.graph.edges) == 3
    assert nodes["task:21"].data["parent"] == "phase:2" and nodes["task:11"].position == {"x": 0, "y": 0}

    graph.statuses = {11: "running", "21": "failed"}
    assert "status-running" in nodes["task:11"].classes.split()
    assert "status-failed" in nodes["task:21"].classes.split() and "kind-transformation" in nodes["task:21"].classes
    graph.set_status(11, "success")
    assert nodes["task:11"].classes.split().count("status-success") == 1
    assert "status-running" not in nodes["task:11"].classes
    graph.set_status(11, None)
    assert "status-" not in nodes["task:11"].classes
    with pytest.raises(traitlets.TraitError, match="unknown task status"):
        graph.statuses = {11: "exploded"}
    assert graph.statuses == {"21": "failed"}  # the bad value was refused, the previous one kept

    seen: list[Any] = []
    graph.observe(lambda change: seen.append(change["new"]), "selected")
    graph._handle_interaction(graph, {"widget": "node", "event": "click", "data": {"data": {"id": "task:31"}}}, [])
    graph._handle_interaction(graph, {"widget": "node", "event": "click", "data": {"data": {"id": "phase:2"}}}, [])
    assert graph.selected == 31 and seen == [31]


def test_new_elements_replace_the_graph() -> None:
    graph = graph_of(FLOW)
    graph.statuses = {11: "running"}
    graph.elements = flow_elements({"phases": [{"id": 1}], "tasks": [{"id": 11, "phase": 1, "task": {}}]})
    assert [n.data["id"] for n in graph.graph.nodes] == ["phase:1", "task:11"]
    assert "status-running" in graph.graph.nodes[1].classes  # statuses carry over to the new nodes


# -- editing gestures, as the page reports them -------------------------------------------------------------------
# ipycytoscape's page side sends `{"event", "widget", "data": target.json()}` as a custom widget message for every
# event Python listens to; a node's json carries where it is now (after a drag) and its data.


def json_of(graph: FlowGraph, element_id: str, position: dict[str, float] | None = None) -> dict[str, Any]:
    """What cytoscape.js's `ele.json()` gives for a drawn element (`position`: where the page has moved it)."""
    element = next(e for e in [*graph.graph.nodes, *graph.graph.edges] if e.data["id"] == element_id)
    if isinstance(element, ipycytoscape.Edge):
        return {"data": dict(element.data), "position": {"x": 0, "y": 0}, "group": "edges", "removed": False,
                "selected": False, "selectable": element.selectable, "locked": False, "grabbable": True,
                "pannable": True, "classes": element.classes}
    return {"data": dict(element.data), "position": dict(position or element.position), "group": "nodes",
            "removed": False, "selected": False, "selectable": element.selectable, "locked": False,
            "grabbable": element.grabbable, "pannable": False, "classes": element.classes}


def _node(graph: FlowGraph, node_id: str) -> ipycytoscape.Node:
    return next(n for n in graph.graph.nodes if n.data["id"] == node_id)


def page_event(graph: FlowGraph, widget: str, event: str, target: dict[str, Any]) -> None:
    """Deliver an event through the widget's comm message handling, as the page sends it."""
    graph._handle_msg({"content": {"data": {"method": "custom", "content": {
        "event": event, "widget": widget, "data": target}}}, "buffers": []})


def drag(graph: FlowGraph, task: str, to: dict[str, float], released_on: str | None = None) -> None:
    """Press on `task`, drag it to `to`, release: cytoscape reports the release on the topmost node under the
    pointer, the dragged task itself unless `released_on` another task it was dropped onto."""
    page_event(graph, "node", "tapstart", json_of(graph, task))
    page_event(graph, "node", "tapend", json_of(graph, released_on) if released_on else json_of(graph, task, to))


@pytest.fixture
def editable() -> tuple[FlowGraph, list[tuple[Any, Any]]]:
    graph = graph_of(FLOW, editable=True)
    drops: list[tuple[Any, Any]] = []
    graph.on_drop(lambda task_id, phase_id: drops.append((task_id, phase_id)))
    return graph, drops


def test_only_tasks_of_an_editable_graph_can_be_dragged() -> None:
    assert not any(n.grabbable for n in graph_of(FLOW).graph.nodes)
    graph = graph_of(FLOW, editable=True)
    assert {n.data["id"] for n in graph.graph.nodes if n.grabbable} == {"task:11", "task:12", "task:21", "task:31",
                                                                       "task:41"}
    assert all(e.selectable for e in graph.graph.edges)  # so that the page marks a clicked arrow
    graph.editable = False
    assert not any(n.grabbable for n in graph.graph.nodes) and not any(e.selectable for e in graph.graph.edges)


def test_a_task_dropped_in_another_phase_box_is_reported(editable) -> None:
    graph, drops = editable
    drag(graph, "task:21", {"x": 530, "y": 10})  # inside Load's box (its column, at the top)
    drag(graph, "task:11", {"x": 515, "y": 125})  # inside Alert's box, below Load's in the same column
    drag(graph, "task:12", {"x": 260, "y": -45})  # on Transform's name, above its box's body
    assert drops == [(21, 3), (11, 4), (12, 2)]


def test_a_task_dropped_onto_another_task_goes_to_that_tasks_phase(editable) -> None:
    graph, drops = editable
    drag(graph, "task:21", {"x": 0, "y": 0}, released_on="task:31")
    assert drops == [(21, 3)]


def test_a_task_dropped_outside_every_phase_snaps_back(editable) -> None:
    graph, drops = editable
    before = _node(graph, "task:21")
    drag(graph, "task:21", {"x": 390, "y": 300})
    assert drops == [(21, None)]
    after = graph._nodes["21"]
    assert after is not before and before.comm is None  # drawn anew: the page puts it back in its phase
    assert after.position == {"x": 260, "y": 0} and after.data["parent"] == "phase:2"


def test_a_click_and_a_drag_inside_its_own_phase_report_nothing(editable) -> None:
    graph, drops = editable
    node = graph._nodes["12"]
    drag(graph, "task:12", dict(node.position))  # pressed and released where it is: a click
    drag(graph, "task:12", {"x": 20, "y": 70})  # a little lower, still in Extract's box
    drag(graph, "task:12", {"x": 0, "y": 0}, released_on="task:11")  # onto a task of its own phase
    assert drops == []
    assert graph._nodes["12"] is node and node.position == {"x": 20, "y": 70}  # arranged, kept, not redrawn


def test_drags_are_not_reported_by_a_graph_that_is_not_editable() -> None:
    graph = graph_of(FLOW)
    drops: list[Any] = []
    graph.on_drop(lambda *args: drops.append(args))
    drag(graph, "task:21", {"x": 530, "y": 10})
    assert drops == []


def test_link_mode_reports_two_clicked_phases(editable) -> None:
    graph, _ = editable
    links: list[tuple[Any, Any]] = []
    graph.on_link(lambda first, then: links.append((first, then)))
    graph.link_mode = True
    page_event(graph, "node", "click", json_of(graph, "phase:3"))
    assert graph.link_source == 3 and "link-source" in _node(graph, "phase:3").classes.split()  # outlined
    page_event(graph, "node", "click", json_of(graph, "phase:3"))  # the same phase again: forget it
    assert graph.link_source is None and "link-source" not in _node(graph, "phase:3").classes
    page_event(graph, "node", "click", json_of(graph, "task:31"))  # a task stands for its phase
    page_event(graph, "node", "click", json_of(graph, "phase:1"))
    assert links == [(3, 1)] and graph.link_source is None
    assert graph.selected is None  # clicks in link mode select nothing
    page_event(graph, "node", "click", json_of(graph, "phase:2"))
    graph.link_mode = False
    assert graph.link_source is None and not any("link-source" in n.classes for n in graph.graph.nodes)


def test_a_clicked_arrow_is_the_selected_link(editable) -> None:
    graph, _ = editable
    page_event(graph, "node", "click", json_of(graph, "task:21"))
    edge = next(e for e in graph.graph.edges if e.data["target"] == "phase:3")
    page_event(graph, "edge", "click", json_of(graph, edge.data["id"]))
    assert graph.selected_link == {"source": 2, "target": 3, "transition": "n2", "conditional": True}
    assert graph.selected is None  # the page selects one element at a time
    graph.elements = flow_elements({"phases": [{"id": 1}], "tasks": []})
    assert graph.selected_link is None  # redrawn without that arrow
