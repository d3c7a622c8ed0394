"""The flow graph: phases as boxes left to right, tasks inside them coloured by kind, then by run status.

    graph = graph_of(flow_json, kinds={"10": "extractor", ...})
    graph                                      # display it in a cell (or in a sidebar panel)
    graph.statuses = {"10": "running"}         # recolours task 10 while the flow runs
    graph.observe(lambda c: show_card(c["new"]), "selected")   # a click on a task sets `selected`

Editing on the canvas (`editable=True`; the flow editor saves what the gestures ask for):
    graph.on_drop(lambda task_id, phase_id: ...)   # a task dragged into another phase's box (None: outside all)
    graph.link_mode = True                          # then a click on a phase and one on another: on_link(a, b)
    graph.on_link(lambda first, then: ...)
    graph.selected_link                             # the dependency (arrow) last clicked

Drawn with ipycytoscape (cytoscape.js in a JupyterLab widget extension; checked in JupyterLab 4.6 with
ipywidgets 8 by tests/browser/test_flow_graph.py). Where things go is `flow_layout.py`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipycytoscape
import ipywidgets as widgets
import traitlets

from .flow_layout import KIND_COLOURS, PHASE_PADDING, TASK_HEIGHT, TASK_WIDTH, Box, flow_elements, phase_boxes

STATUSES = ("waiting", "running", "success", "failed", "skipped")

STATUS_COLOURS = {"waiting": "#dfe3e8", "running": "#f5c518", "success": "#2e9e4f", "failed": "#d63b3b",
                  "skipped": "#f4f5f7"}
_DARK_TEXT_STATUSES = ("waiting", "running", "skipped")


def _style() -> list[dict[str, Any]]:
    # One class per selector: the cytoscape.js inside ipycytoscape 1.3.3 (3.21.0) matches nothing with a
    # compound class selector such as `.task.kind-writer`. Later rules win, so statuses come after kinds.
    style: list[dict[str, Any]] = [
        {"selector": ".phase", "style": {
            "shape": "round-rectangle", "background-color": "#f3f5f8", "background-opacity": 1,
            "border-width": 1, "border-color": "#c4cad3", "padding": f"{PHASE_PADDING}px", "label": "data(label)",
            "text-valign": "top", "text-halign": "center", "text-margin-y": -4, "font-size": 13,
            "font-weight": "bold", "color": "#2b333d"}},
        {"selector": ".task", "style": {
            "shape": "round-rectangle", "width": TASK_WIDTH, "height": TASK_HEIGHT, "label": "data(label)",
            "text-valign": "center", "text-halign": "center", "text-wrap": "ellipsis",
            "text-max-width": f"{TASK_WIDTH - 16}px", "font-size": 11, "color": "#ffffff",
            "background-color": KIND_COLOURS["other"], "border-width": 0}},
        {"selector": ".disabled", "style": {"opacity": 0.45}},
        {"selector": ".placeholder", "style": {"width": TASK_WIDTH, "height": TASK_HEIGHT, "opacity": 0,
                                               "events": "no"}},
        {"selector": "node:selected", "style": {"overlay-color": "#2b333d", "overlay-opacity": 0.15}},
        {"selector": ".link-source", "style": {"border-width": 3, "border-color": KIND_COLOURS["extractor"]}},
        {"selector": "edge", "style": {
            "curve-style": "bezier", "width": 2, "line-color": "#8a94a1", "target-arrow-shape": "triangle",
            "target-arrow-color": "#8a94a1", "arrow-scale": 1.1, "label": "data(label)", "font-size": 10,
            "color": "#5f6b76", "text-background-color": "#ffffff", "text-background-opacity": 0.85}},
        {"selector": ".conditional", "style": {"line-style": "dashed", "line-dash-pattern": [6, 4]}},
        {"selector": "edge:selected", "style": {"width": 4, "line-color": KIND_COLOURS["extractor"],
                                                "target-arrow-color": KIND_COLOURS["extractor"]}},
    ]
    for kind, colour in KIND_COLOURS.items():
        style.append({"selector": f".kind-{kind}",
                      "style": {"background-color": colour, "border-color": colour}})
    # While running, the status fills the node and the kind stays as its border.
    for status, colour in STATUS_COLOURS.items():
        style.append({"selector": f".status-{status}", "style": {
            "background-color": colour, "border-width": 3,
            "color": "#2b333d" if status in _DARK_TEXT_STATUSES else "#ffffff"}})
    style.append({"selector": ".status-skipped", "style": {"border-style": "dashed"}})
    return style


class FlowGraph(ipycytoscape.CytoscapeWidget):
    """A keboola.flow drawn as phases and tasks. `elements` are cytoscape element dicts (see `graph_of`)."""

    elements = traitlets.List(traitlets.Dict())
    statuses = traitlets.Dict()  # task id -> one of STATUSES; a task missing here shows its kind colour
    selected = traitlets.Any(None, allow_none=True)  # the task id (as in the flow JSON) last clicked
    editable = traitlets.Bool(False)  # tasks can be dragged; drops, links and clicked arrows are reported
    link_mode = traitlets.Bool(False)  # clicks pick two phases to link instead of selecting tasks
    link_source = traitlets.Any(None, allow_none=True)  # in link mode: the phase id clicked first
    # The dependency (arrow) last clicked: {"source", "target" (phase ids), "transition" (its id), "conditional"}.
    selected_link = traitlets.Dict(None, allow_none=True)

    def __init__(self, elements: Iterable[dict[str, Any]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._nodes: dict[str, ipycytoscape.Node] = {}  # task id (str) -> its cytoscape node
        self._task_ids: dict[str, Any] = {}  # cytoscape node id -> task id as in the flow JSON
        self._phase_ids: dict[str, Any] = {}  # cytoscape node id -> phase id as in the flow JSON
        self._pressed: str | None = None  # cytoscape id of the task the pointer went down on (maybe dragged)
        self._drop_handlers = widgets.CallbackDispatcher()
        self._link_handlers = widgets.CallbackDispatcher()
        self.add_class("kbnb-flow-graph")
        self.set_style(_style())
        self.cytoscape_layout = {"name": "preset", "fit": True, "padding": 24}
        self.min_zoom, self.max_zoom = 0.1, 3.0
        self.auto_unselectify = False
        # All before the first render: ipycytoscape 1.3.3's page side stops registering events at the first one
        # it already listens to, so handlers added later may never be called.
        self.on("node", "click", self._on_click)
        self.on("node", "tapstart", self._on_press)
        self.on("node", "tapend", self._on_release)
        self.on("edge", "click", self._on_edge_click)
        self.observe(self._on_elements, "elements")
        self.observe(self._on_statuses, "statuses")
        self.observe(self._on_editable, "editable")
        self.observe(self._on_link_mode, "link_mode")
        self.elements = list(elements)

    # -- kernel -> page ---------------------------------------------------------------------------

    def _on_elements(self, change: dict[str, Any]) -> None:
        self._draw(change["new"])

    def _draw(self, elements: list[dict[str, Any]]) -> None:
        """Replace every drawn node and edge by `elements` (the page rebuilds the graph and fits it)."""
        with self._lock:
            nodes, edges, self._nodes, self._task_ids, self._phase_ids = [], [], {}, {}, {}
            for element in elements:
                data = dict(element.get("data", {}))
                if element.get("group") == "edges" or "source" in data:
                    edges.append(ipycytoscape.Edge(data=data, classes=element.get("classes", ""),
                                                   selectable=self.editable))  # marked when clicked, to remove
                    continue
                node = ipycytoscape.Node(data=data, classes=element.get("classes", ""),
                                         position=dict(element.get("position", {})),
                                         grabbable=self.editable and "task_id" in data,
                                         selectable=element.get("selectable", True))
                nodes.append(node)
                if "task_id" in data:
                    self._nodes[str(data["task_id"])] = node
                    self._task_ids[data["id"]] = data["task_id"]
                elif "phase_id" in data:
                    self._phase_ids[data["id"]] = data["phase_id"]
            old = [*self.graph.nodes, *self.graph.edges]
            self.graph.clear()
            self.graph.add_nodes(nodes)
            self.graph.add_edges(edges, directed=True, multiple_edges=True)
            for widget in old:
                widget.close()
            self._apply_statuses(self.statuses)
            self._forget_stale_picks(edges)

    def _forget_stale_picks(self, edges: list[ipycytoscape.Edge]) -> None:
        """After a redraw, drop a picked phase or arrow the flow no longer has."""
        if self.link_source is not None and self.link_source not in self._phase_ids.values():
            self.link_source = None
        self._mark_link_source()
        if self.selected_link is not None and not any(self._link_of(e.data) == self.selected_link for e in edges):
            self.selected_link = None

    def _on_statuses(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._apply_statuses(change["new"])

    def _on_editable(self, change: dict[str, Any]) -> None:
        with self._lock:
            for node in self._nodes.values():
                node.grabbable = change["new"]
            for edge in self.graph.edges:
                edge.selectable = change["new"]

    def _on_link_mode(self, change: dict[str, Any]) -> None:
        with self._lock:
            self.link_source = None
            self._mark_link_source()

    def _mark_link_source(self) -> None:
        """Outline the phase picked first in link mode (and no other)."""
        wanted = next((n for n, p in self._phase_ids.items() if p == self.link_source), None)
        for node in self.graph.nodes:
            if node.data.get("id") not in self._phase_ids:
                continue
            base = [c for c in node.classes.split() if c != "link-source"]
            classes = " ".join([*base, "link-source"] if node.data["id"] == wanted else base)
            if classes != node.classes:
                node.classes = classes

    @traitlets.validate("statuses")
    def _check_statuses(self, proposal: dict[str, Any]) -> dict[Any, str]:
        unknown = set(proposal["value"].values()) - set(STATUSES)
        if unknown:
            raise traitlets.TraitError(f"unknown task status {sorted(unknown)}; expected one of {', '.join(STATUSES)}")
        return proposal["value"]

    def _apply_statuses(self, statuses: Mapping[Any, str]) -> None:
        wanted = {str(task_id): status for task_id, status in statuses.items()}
        for task_id, node in self._nodes.items():
            base = [c for c in node.classes.split() if not c.startswith("status-")]
            if task_id in wanted:
                base.append(f"status-{wanted[task_id]}")
            if node.data.get("status") != wanted.get(task_id):  # only changed nodes: one message each
                node.data = {**node.data, "status": wanted.get(task_id)}
            classes = " ".join(base)
            if classes != node.classes:
                node.classes = classes

    def set_status(self, task_id: Any, status: str | None) -> None:
        """Set (or with None clear) one task's status."""
        statuses = {k: v for k, v in self.statuses.items() if str(k) != str(task_id)}
        if status is not None:
            statuses[task_id] = status
        self.statuses = statuses

    def fit(self) -> None:
        """Re-run the (preset) layout, which fits the graph to its box; useful after the box was resized."""
        self.relayout()

    # -- page -> kernel ---------------------------------------------------------------------------

    def on_drop(self, callback: Callable[[Any, Any], None], remove: bool = False) -> None:
        """Call `callback(task_id, phase_id)` when a task is dropped in another phase's box (phase_id None: outside
        every phase). The task snaps back unless the callback redraws the graph (by saving the flow)."""
        self._drop_handlers.register_callback(callback, remove=remove)

    def on_link(self, callback: Callable[[Any, Any], None], remove: bool = False) -> None:
        """Call `callback(first, then)` when, in link mode, phase `first` and then phase `then` are clicked."""
        self._link_handlers.register_callback(callback, remove=remove)

    def _on_click(self, node: dict[str, Any]) -> None:
        node_id = node.get("data", {}).get("id")
        if self.link_mode:
            self._pick_phase(self._phase_of(node_id))
        elif node_id in self._task_ids:  # a click on a phase box is not a selection
            self.selected, self.selected_link = self._task_ids[node_id], None

    def _on_edge_click(self, edge: dict[str, Any]) -> None:
        if self.editable and not self.link_mode:
            self.selected, self.selected_link = None, self._link_of(edge.get("data", {}))

    def _pick_phase(self, phase_id: Any) -> None:
        """Link mode: the first phase clicked is remembered (a second click on it forgets it); the next one
        completes the link."""
        if phase_id is None:
            return
        with self._lock:
            first = self.link_source
            self.link_source = phase_id if first is None else None
            self._mark_link_source()
        if first is not None and phase_id != first:
            self._link_handlers(first, phase_id)

    def _on_press(self, node: dict[str, Any]) -> None:
        node_id = node.get("data", {}).get("id")
        self._pressed = node_id if self.editable and node_id in self._task_ids else None

    def _on_release(self, node: dict[str, Any]) -> None:
        """The end of a press that began on a task: a click or a drag inside its phase (layout only: the page keeps
        it there, nothing is saved), or a drop in another phase or outside all of them (reported; the task snaps
        back unless the report redraws the graph)."""
        pressed, self._pressed = self._pressed, None
        if pressed is None:
            return
        with self._lock:
            task_id = self._task_ids.get(pressed)
            dragged = self._nodes.get(str(task_id))
            if dragged is None:
                return  # redrawn since the press
            own = dragged.data.get("parent")
            target, position = self._drop_target(pressed, dragged, node)
            if target == own:
                if position is not None:
                    dragged.position = position  # where the page shows it, for the phase boxes of later drops
                return
        self._drop_handlers(task_id, self._phase_ids.get(target))  # not under the lock: saving redraws graphs
        with self._lock:
            if self._nodes.get(str(task_id)) is dragged:
                self._draw(self.elements)  # not saved (outside every phase, or refused): back where it was

    def _drop_target(self, pressed: str, dragged: ipycytoscape.Node,
                     released: dict[str, Any]) -> tuple[str | None, dict[str, float] | None]:
        """The cytoscape id of the phase a task was released in (None: outside every phase), and where the task
        now is when the page says. cytoscape reports a release on the topmost node under the pointer: the dragged
        task itself (with its position), or a task it was dropped onto, whose phase is then the target."""
        released_id = released.get("data", {}).get("id")
        if released_id != pressed:
            return self._phase_of_node(released_id), None
        position = released.get("position") or {}
        if "x" not in position or "y" not in position:
            return dragged.data.get("parent"), None
        own = dragged.data.get("parent")
        inside = [p for p, box in self._phase_boxes().items() if _holds(box, position)]
        return (own if own in inside else next(iter(inside), None)), dict(position)

    def _phase_of_node(self, node_id: Any) -> str | None:
        """The cytoscape id of a phase node, or of the phase a task node is in."""
        if node_id in self._phase_ids:
            return node_id
        node = self._nodes.get(str(self._task_ids.get(node_id)))
        return node.data.get("parent") if node is not None else None

    def _phase_of(self, node_id: Any) -> Any:
        """The flow's phase id of a clicked phase box or of the phase of a clicked task (None: neither)."""
        return self._phase_ids.get(self._phase_of_node(node_id))

    def _link_of(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A transition edge's data in the flow's words."""
        return {"source": self._phase_ids.get(data.get("source")), "target": self._phase_ids.get(data.get("target")),
                "transition": data.get("transition_id"), "conditional": bool(data.get("conditional"))}

    def _phase_boxes(self) -> dict[str, Box]:
        """Each phase's box as drawn: around its tasks (where they were laid out or last dropped inside it),
        padded, with its name above."""
        return phase_boxes((node.data.get("parent"), node.position) for node in self.graph.nodes)


def _holds(box: Box, point: Mapping[str, float]) -> bool:
    return box[0] <= point["x"] <= box[2] and box[1] <= point["y"] <= box[3]


def graph_of(flow: Mapping[str, Any], kinds: Mapping[Any, str] | None = None, **kwargs: Any) -> FlowGraph:
    """The FlowGraph of a keboola.flow JSON (`{"phases": [...], "tasks": [...]}`); `kinds` maps task ids to
    extractor / transformation / writer / notification (guessed from the component id when missing)."""
    return FlowGraph(flow_elements(flow, kinds), **kwargs)


def flow_graph(flows: Any, name: str) -> FlowGraph:
    """Flow `name` of a project (`project.flows`) drawn. It stays live: saving the flow again (`create(...,
    replace=True)`, `update`, the assistant's create_flow) redraws it."""
    graph = FlowGraph(flow_elements(*flows.drawing(name)))
    graph.refresh = lambda: setattr(graph, "elements", flow_elements(*flows.drawing(name)))  # type: ignore[attr-defined]
    flows.track(name, graph)
    return graph
