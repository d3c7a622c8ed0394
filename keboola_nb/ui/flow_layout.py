"""Where a flow's phases and tasks go when it is drawn: the cytoscape elements of a keboola.flow JSON, with preset
positions, shared by the live graph (`flow_graph.py`, a widget) and the still picture (`flow_picture.py`, SVG).
No widget is imported here, so faces without a notebook (the assistant's tools over MCP) can use it.

Positions are computed here, not by a cytoscape layout: cytoscape-dagre ignores edges that touch compound nodes,
so it cannot put phases left to right by their transitions. Each phase is a column at its rank along the
transitions; its tasks are stacked in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("extractor", "transformation", "writer", "notification")
KIND_COLOURS = {"extractor": "#2f6fd0", "transformation": "#7d4cc2", "writer": "#12846f",
                "notification": "#d4770b", "other": "#5f6b76"}

TASK_WIDTH, TASK_HEIGHT = 170, 36
COLUMN_GAP, ROW_GAP, PHASE_GAP = 90, 14, 60  # between phase columns, tasks in a phase, phases in one column
PHASE_PADDING, PHASE_LABEL = 14, 22  # a phase box around its tasks, and its name above the box
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in the graph's (model) coordinates


def node_id(prefix: str, raw: Any) -> str:
    return f"{prefix}:{raw}"


def kind_of_component(component_id: str) -> str:
    """A guess of a task's kind from its component id, for tasks `graph_of` was given no kind for."""
    cid = component_id.lower()
    if "transformation" in cid:
        return "transformation"
    if ".ex-" in cid or cid.startswith("ex-") or "extractor" in cid:
        return "extractor"
    if ".wr-" in cid or cid.startswith("wr-") or "writer" in cid:
        return "writer"
    if "notif" in cid or "email" in cid or "slack" in cid:
        return "notification"
    return "other"


def _ranks(phase_ids: list[str], transitions: list[tuple[str, str]]) -> dict[str, int]:
    """Column of each phase: the longest path to it along transitions, ignoring edges that close a cycle."""
    out: dict[str, list[str]] = {p: [] for p in phase_ids}
    for source, target in transitions:
        out[source].append(target)
    forward: list[tuple[str, str]] = []
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done

    def visit(start: str) -> None:  # iterative DFS, so a long chain of phases cannot hit the recursion limit
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            phase, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[phase] = 2
                stack.pop()
            elif state.get(target) == 1:
                continue  # a back edge (a loop in the flow): drawn, but not used for ranking
            else:
                forward.append((phase, target))
                if target not in state:
                    state[target] = 1
                    stack.append((target, iter(out[target])))

    for phase in phase_ids:
        if phase not in state:
            visit(phase)
    rank = {p: 0 for p in phase_ids}
    order = _topological(phase_ids, forward)
    incoming: dict[str, list[str]] = {p: [] for p in phase_ids}
    for source, target in forward:
        incoming[target].append(source)
    for phase in order:
        rank[phase] = max((rank[s] + 1 for s in incoming[phase]), default=0)
    return rank


def _topological(nodes: list[str], edges: list[tuple[str, str]]) -> list[str]:
    indegree = {n: 0 for n in nodes}
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        if (source, target) not in out[source]:
            out[source].append(target)
            indegree[target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target in out[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return order


def flow_elements(flow: Mapping[str, Any], kinds: Mapping[Any, str] | None = None) -> list[dict[str, Any]]:
    """Cytoscape elements of a keboola.flow configuration: a compound node per phase (data.phase_id), a node per
    task inside its phase (data.task_id, data.kind, data.component) with a preset position, and an edge per
    phase transition (class `conditional`, drawn dashed, when it has a condition)."""
    kinds = {str(k): v for k, v in (kinds or {}).items()}
    phases = list(flow.get("phases", []))
    tasks = list(flow.get("tasks", []))
    phase_ids = [str(p["id"]) for p in phases]
    known = set(phase_ids)
    transitions: list[tuple[str, str, Mapping[str, Any]]] = []
    for phase in phases:
        for transition in phase.get("next") or []:
            goto = transition.get("goto")
            if goto is not None and str(goto) in known:
                transitions.append((str(phase["id"]), str(goto), transition))
    for task in tasks:
        if str(task.get("phase")) not in known:
            raise ValueError(f"task {task.get('id')!r} is in phase {task.get('phase')!r}, which the flow does not have")
    rank = _ranks(phase_ids, [(s, t) for s, t, _ in transitions])

    tasks_of: dict[str, list[Mapping[str, Any]]] = {p: [] for p in phase_ids}
    for task in tasks:
        tasks_of[str(task["phase"])].append(task)
    column_y: dict[int, float] = {}
    elements: list[dict[str, Any]] = []
    for phase in phases:
        pid = str(phase["id"])
        elements.append({"group": "nodes", "classes": "phase", "selectable": False,
                         "data": {"id": node_id("phase", pid), "phase_id": phase["id"],
                                  "label": str(phase.get("name") or pid)}})
        x = rank[pid] * (TASK_WIDTH + COLUMN_GAP)
        y = column_y.get(rank[pid], 0.0)
        for task in tasks_of[pid]:
            tid = str(task["id"])
            body = task.get("task") or {}
            component = str(body.get("componentId", ""))
            kind = kinds.get(tid) or kind_of_component(component)
            classes = ["task", f"kind-{kind if kind in KIND_COLOURS else 'other'}"]
            if task.get("enabled") is False:
                classes.append("disabled")
            elements.append({"group": "nodes", "classes": " ".join(classes), "position": {"x": x, "y": y},
                             "data": {"id": node_id("task", tid), "task_id": task["id"],
                                      "parent": node_id("phase", pid), "label": str(task.get("name") or tid),
                                      "kind": kind, "component": component, "config_id": body.get("configId")}})
            y += TASK_HEIGHT + ROW_GAP
        if not tasks_of[pid]:  # an empty phase still needs a body to be drawn as a box
            elements.append({"group": "nodes", "classes": "placeholder", "selectable": False,
                             "position": {"x": x, "y": y},
                             "data": {"id": node_id("empty", pid), "parent": node_id("phase", pid), "label": ""}})
            y += TASK_HEIGHT + ROW_GAP
        column_y[rank[pid]] = y + PHASE_GAP
    for i, (source, target, transition) in enumerate(transitions):
        condition = transition.get("condition")
        elements.append({"group": "edges", "classes": "conditional" if condition else "",
                         "data": {"id": f"next:{i}:{source}->{target}", "source": node_id("phase", source),
                                  "target": node_id("phase", target), "label": str(transition.get("name") or ""),
                                  "transition_id": transition.get("id"), "conditional": bool(condition)}})
    return elements


def phase_boxes(placed: Iterable[tuple[Any, Mapping[str, float]]]) -> dict[str, Box]:
    """Each phase's box as drawn, from its tasks' (parent phase node, position): around them, padded, with the
    phase's name above."""
    boxes: dict[str, Box] = {}
    for parent, at in placed:
        if not parent or "x" not in at or "y" not in at:
            continue
        x1, y1 = at["x"] - TASK_WIDTH / 2 - PHASE_PADDING, at["y"] - TASK_HEIGHT / 2 - PHASE_PADDING - PHASE_LABEL
        x2, y2 = at["x"] + TASK_WIDTH / 2 + PHASE_PADDING, at["y"] + TASK_HEIGHT / 2 + PHASE_PADDING
        if parent in boxes:
            b = boxes[parent]
            x1, y1, x2, y2 = min(b[0], x1), min(b[1], y1), max(b[2], x2), max(b[3], y2)
        boxes[parent] = (x1, y1, x2, y2)
    return boxes
