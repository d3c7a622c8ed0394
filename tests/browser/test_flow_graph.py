"""The flow graph (keboola_nb.ui.flow_graph, ipycytoscape) in a real JupyterLab: drawn, recoloured, clicked.

The page's cytoscape instance is read through the container's `_cyreg.cy` (where cytoscape.js registers
itself), and what is painted is read back from the canvases, so a graph that exists only in memory fails.
"""

from __future__ import annotations

import json
import time
from itertools import pairwise
from typing import Any

import pytest

pytestmark = pytest.mark.browser

FLOW = {
    "phases": [
        {"id": 1, "name": "Extract", "next": [{"id": "n1", "goto": 2}]},
        {"id": 2, "name": "Transform", "next": [
            {"id": "n2", "name": "all ok", "goto": 3,
             "condition": {"type": "operator", "operator": "EQUALS",
                           "operands": [{"type": "phase", "phase": 2, "value": "status"},
                                        {"type": "const", "value": "success"}]}}]},
        {"id": 3, "name": "Load", "next": [{"id": "n3", "goto": None}]},
    ],
    "tasks": [
        {"id": 11, "name": "orders", "phase": 1, "task": {"type": "job", "componentId": "keboola.ex-db-pgsql",
                                                         "configId": "101", "mode": "run"}},
        {"id": 12, "name": "customers", "phase": 1, "task": {"type": "job", "componentId": "keboola.ex-aws-s3",
                                                            "configId": "102", "mode": "run"}},
        {"id": 21, "name": "revenue", "phase": 2, "task": {"type": "job", "configId": "201", "mode": "run",
                                                          "componentId": "keboola.duckdb-transformation"}},
        {"id": 31, "name": "to warehouse", "phase": 3, "task": {"type": "job", "configId": "301", "mode": "run",
                                                               "componentId": "keboola.wr-db-snowflake"}},
        {"id": 32, "name": "tell ops", "phase": 3, "task": {"type": "notification", "componentId": ""}},
    ],
}
KINDS = {11: "extractor", 12: "extractor", 21: "transformation", 31: "writer", 32: "notification"}
KIND_RGB = {"extractor": (0x2F, 0x6F, 0xD0), "transformation": (0x7D, 0x4C, 0xC2), "writer": (0x12, 0x84, 0x6F),
            "notification": (0xD4, 0x77, 0x0B)}
RUNNING_RGB, FAILED_RGB = (0xF5, 0xC5, 0x18), (0xD6, 0x3B, 0x3B)

SETUP = f"""
import json, time
from keboola_nb.ui.flow_graph import graph_of
FLOW = json.loads({json.dumps(json.dumps(FLOW))})
KINDS = {{int(k): v for k, v in json.loads({json.dumps(json.dumps(KINDS))}).items()}}
g = graph_of(FLOW, KINDS)
g
"""

BIG = """
import time
from keboola_nb.ui.flow_graph import graph_of
phases = [{"id": p, "name": f"Phase {p}", "next": [{"id": f"n{p}", "goto": p + 1 if p < 5 else None}]}
          for p in range(1, 6)]
kinds = ["extractor", "transformation", "transformation", "writer", "notification"]
tasks = [{"id": 100 * p + i, "name": f"task {p}.{i}", "phase": p,
          "task": {"type": "job", "componentId": "keboola.duckdb-transformation", "configId": str(i)}}
         for p in range(1, 6) for i in range(20)]
t0 = time.perf_counter()
big = graph_of({"phases": phases, "tasks": tasks}, {t["id"]: kinds[t["phase"] - 1] for t in tasks})
print(f"KERNEL_BUILD_S {time.perf_counter() - t0:.3f}")
big
"""

# State of the index-th flow graph on the page: nodes with their positions and colours, the box, and (for
# each task) the colour actually painted on the canvases at a point inside the task, left of its label.
_JS_STATE = """(index) => {
  const el = document.querySelectorAll('.jp-OutputArea .kbnb-flow-graph')[index];
  if (!el) return null;
  const holder = [el, ...el.querySelectorAll('*')].find(e => e._cyreg && e._cyreg.cy);
  if (!holder) return null;
  const cy = holder._cyreg.cy, box = holder.getBoundingClientRect();
  const canvases = [...holder.querySelectorAll('canvas')];
  if (!canvases.length || !canvases[0].width) return {nodes: cy.nodes().length, painted: false};
  const ratio = canvases[0].width / canvases[0].clientWidth;
  const flat = document.createElement('canvas');
  flat.width = canvases[0].width; flat.height = canvases[0].height;
  const ctx = flat.getContext('2d');
  for (const c of canvases) ctx.drawImage(c, 0, 0);
  const pixel = (x, y) => Array.from(ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data);
  const nodes = cy.nodes().map(n => {
    const r = n.renderedPosition(), bb = n.boundingBox(), w = n.renderedWidth();
    const body = n.renderedBoundingBox({includeLabels: false, includeOverlays: false});
    return {id: n.id(), task_id: n.data('task_id'), phase: n.isParent(), parent: n.data('parent') || null,
            classes: n.classes(), fill: n.style('background-color'),
            x: r.x, y: r.y, w, h: n.renderedHeight(), x1: bb.x1, x2: bb.x2, y1: bb.y1, y2: bb.y2,
            painted: n.isParent() ? null : pixel(r.x - w * 0.44, r.y),
            page: [box.left + r.x, box.top + r.y], bottom: [box.left + r.x, box.top + body.y2 - 4]};
  });
  const edges = cy.edges().map(e => ({source: e.source().id(), target: e.target().id(),
                                       line: e.style('line-style')}));
  const all = cy.elements().renderedBoundingBox();
  return {nodes, edges, width: box.width, height: box.height, painted: true,
          drawn: {x1: all.x1, x2: all.x2, y1: all.y1, y2: all.y2}};
}"""


def _state(page: Any, index: int = 0) -> dict[str, Any]:
    return page.evaluate(_JS_STATE, index)


def _rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])  # type: ignore[return-value]


def _close(a: Any, b: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(int(x) - y) <= tol for x, y in zip(a[:3], b, strict=True))


def _wait_state(page: Any, ok: Any, index: int = 0, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        state = _state(page, index)
        if state and state.get("painted") and ok(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"flow graph not as expected within {timeout_s} s; last state: {json.dumps(state)[:3000]}")


def _tasks(state: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {n["task_id"]: n for n in state["nodes"] if n["task_id"] is not None}


def _fitted(state: dict[str, Any]) -> bool:
    """The whole graph, labels included, is inside its box."""
    drawn = state["drawn"]
    return drawn["x1"] >= -1 and drawn["y1"] >= -1 and drawn["x2"] <= state["width"] + 1 \
        and drawn["y2"] <= state["height"] + 1


def _phases_left_to_right(state: dict[str, Any], phase_ids: list[str]) -> None:
    phases = {n["id"]: n for n in state["nodes"] if n["phase"]}
    assert sorted(phases) == sorted(phase_ids)
    for left, right in pairwise(phase_ids):
        assert phases[left]["x2"] < phases[right]["x1"], (left, right, phases)
    for node in state["nodes"]:
        if node["parent"]:
            parent = phases[node["parent"]]
            assert parent["x1"] <= node["x1"] and node["x2"] <= parent["x2"], (node, parent)


def test_flow_graph_renders_recolours_and_reports_clicks(open_notebook: Any, page: Any) -> None:
    nb = open_notebook([SETUP, 'g.statuses = {11: "running", 21: "failed"}', "print('SELECTED', repr(g.selected))"])
    nb.run_cell(0)
    assert "Error" not in nb.cell_outputs_text(0), nb.cell_outputs_text(0)

    def painted_by_kind(state: dict[str, Any]) -> bool:
        tasks = _tasks(state)
        return len(tasks) == 5 and all(_close(tasks[t]["painted"], KIND_RGB[k]) for t, k in KINDS.items())

    state = _wait_state(page, painted_by_kind)
    tasks = _tasks(state)
    assert sorted(tasks) == sorted(KINDS)
    assert all(_close(_rgb(tasks[t]["fill"]), KIND_RGB[k]) for t, k in KINDS.items())
    assert _fitted(state), f"the graph is not fitted to its box: {state['drawn']}, {state['width']}x{state['height']}"
    _phases_left_to_right(state, ["phase:1", "phase:2", "phase:3"])
    assert {(e["source"], e["target"], e["line"]) for e in state["edges"]} == {
        ("phase:1", "phase:2", "solid"), ("phase:2", "phase:3", "dashed")}

    # Statuses from the kernel recolour the tasks; the others keep their kind colour.
    nb.run_cell(1)
    state = _wait_state(page, lambda s: _close(_tasks(s)[11]["painted"], RUNNING_RGB)
                        and _close(_tasks(s)[21]["painted"], FAILED_RGB))
    tasks = _tasks(state)
    assert "status-running" in tasks[11]["classes"] and _close(_rgb(tasks[11]["fill"]), RUNNING_RGB)
    assert _close(tasks[12]["painted"], KIND_RGB["extractor"])
    assert _close(tasks[31]["painted"], KIND_RGB["writer"])

    # A click on a task reaches the kernel as `selected`; a click on a phase box does not change it.
    page.mouse.click(*tasks[31]["page"])
    deadline = time.monotonic() + 15
    while "SELECTED 31" not in nb.cell_outputs_text(2):
        assert time.monotonic() < deadline, nb.cell_outputs_text(2)
        time.sleep(0.3)
        nb.run_cell(2)
    phase = next(n for n in state["nodes"] if n["id"] == "phase:2")
    page.mouse.click(*phase["bottom"])  # in the phase box, below its task
    time.sleep(1)
    nb.run_cell(2)
    assert "SELECTED 31" in nb.cell_outputs_text(2)


def test_flow_graph_of_100_tasks(open_notebook: Any, page: Any) -> None:
    nb = open_notebook([BIG])
    start = time.monotonic()
    nb.run_cell(0)
    cell_done = time.monotonic() - start
    assert "KERNEL_BUILD_S" in nb.cell_outputs_text(0), nb.cell_outputs_text(0)

    def laid_out(state: dict[str, Any]) -> bool:
        tasks = _tasks(state)
        return len(tasks) == 100 and _fitted(state) \
            and _close(tasks[100]["painted"], KIND_RGB["extractor"], tol=40)

    state = _wait_state(page, laid_out, timeout_s=60)
    rendered = time.monotonic() - start
    _phases_left_to_right(state, [f"phase:{p}" for p in range(1, 6)])
    print(f"\n100-task flow: {nb.cell_outputs_text(0).splitlines()[0]}; cell done {cell_done:.2f} s; "
          f"drawn and laid out {rendered:.2f} s after the run started")


# The flow editor's canvas: a real drag of a task into another phase is saved as the flow's new version.
EDITOR = """
import keboola_nb as kb
from keboola_nb.connectors.base import Scan
from keboola_nb.ui.flow_editor import FlowEditor
project = kb.Project.open({folder!r})
with project.storage.transaction() as loader:
    loader.load("in.c-shop.orders", Scan(sql="SELECT * FROM (VALUES (1, 10.0), (2, 30.0)) t(id, amount)"))
for name in ("big", "small", "tiny"):
    project.transformations.create_sql(name, f"CREATE TABLE {{name}} AS SELECT id FROM orders",
                                       inputs=["in.c-shop.orders"], outputs=[f"out.c-x.{{name}}"])
project.flows.create("daily", "phases:\\n  - first: [big]\\n  - second: [small]\\n  - third: [tiny]\\n")
editor = FlowEditor(project.flows, "daily")
editor
"""


def _saved_flow(folder: Any) -> dict[str, Any]:
    """The flow's configuration as the project folder holds it on disk (Keboola CLI layout)."""
    (config,) = folder.glob("**/keboola.flow/daily/config.json")
    return json.loads(config.read_text())


def _drag(page: Any, start: list[float], end: list[float], steps: int = 12) -> None:
    """Press, move in steps (so cytoscape sees a drag, not a click) and release, with the real mouse."""
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        time.sleep(0.03)
    page.mouse.up()


def test_dragging_a_task_into_another_phase_saves_the_flow(open_notebook: Any, page: Any, lab: Any) -> None:
    folder = lab.root / "canvas-project"
    nb = open_notebook([EDITOR.format(folder=folder.name)])
    nb.run_cell(0)
    assert "Error" not in nb.cell_outputs_text(0), nb.cell_outputs_text(0)
    state = _wait_state(page, lambda s: len(_tasks(s)) == 3 and _fitted(s))
    tasks = _tasks(state)
    tiny, big = tasks["tiny"], tasks["big"]
    assert tiny["parent"] == "phase:third" and _saved_flow(folder)["tasks"][2]["phase"] == "third"
    zoom = tiny["w"] / 170  # rendered size of a task / its size in the graph

    # Dropped below every phase: nothing is saved and the task is drawn back in its phase.
    _drag(page, tiny["page"], [tiny["page"][0] - 120 * zoom, tiny["page"][1] + 160 * zoom])
    page.locator(".kbnb-flow-editor", has_text="Nothing changed").wait_for(timeout=15_000)
    _wait_state(page, lambda s: (_tasks(s)["tiny"]["x1"], _tasks(s)["tiny"]["y1"]) == (tiny["x1"], tiny["y1"]))
    assert _saved_flow(folder)["tasks"][2]["phase"] == "third"

    # Dropped inside phase first's box, just below big (not on it): moved there, saved, drawn there.
    _drag(page, tiny["page"], [big["page"][0], big["page"][1] + 28 * zoom])
    page.locator(".kbnb-flow-editor", has_text="tiny: moved to phase first; saved as version").wait_for(
        timeout=15_000)
    saved = _saved_flow(folder)
    assert {t["name"]: t["phase"] for t in saved["tasks"]} == {"big": "first", "small": "second", "tiny": "first"}
    state = _wait_state(page, lambda s: _tasks(s)["tiny"]["parent"] == "phase:first" and _fitted(s))
    moved = _tasks(state)
    assert moved["tiny"]["y"] > moved["big"]["y"] and abs(moved["tiny"]["x"] - moved["big"]["x"]) < 2  # stacked
    _phases_left_to_right(state, ["phase:first", "phase:second", "phase:third"])
