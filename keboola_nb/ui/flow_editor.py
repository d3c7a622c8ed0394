"""The flow editor: the FlowGraph with a side panel (`%keboola flow NAME`).

    editor = FlowEditor(project.flows, "daily-revenue")
    editor                                   # display it in a cell
    editor.graph.selected = "10"             # what a click on task 10 does: the panel shows its card

The panel shows the clicked task's configuration card (name, component, what it reads and writes, its JSON) and
its controls: enabled, the phase it is in, and which phases its phase runs after. Every edit builds the whole flow
JSON through the flow model and saves it with `Flows.update` (checked, a new version, an audit entry); the graph
is then redrawn from the saved configuration, like every other live graph of that flow. The assistant reads
flows from the saved configurations, so it sees an edit as soon as it is saved.

Dependencies: a flow runs its phases along default transitions (the `next` without a condition). The phase's
"runs after" list is the phases it depends on; every other phase on that path keeps depending on the one before
it. The order these imply (`model.chain`; the edited phase as early as its dependencies allow) is written
back as the phases' default transitions; conditional transitions are kept as they are. A change whose
dependencies go round in a circle, or that `checks.check` refuses (a phase no transition reaches), is refused
with the reason in the panel and nothing saved.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import builder, components
from ..components.flow import model
from ..errors import KeboolaError
from .flow_graph import flow_graph

if TYPE_CHECKING:
    from ..flows import Flows


class FlowEditor(widgets.VBox):
    """A flow's graph and, beside it, the card and controls of the task last clicked."""

    def __init__(self, flows: "Flows", name: str, **kwargs: Any) -> None:
        self.flows, self.name = flows, name
        self.graph = flow_graph(flows, name)
        self.graph.layout = widgets.Layout(width="65%", height="420px")
        self.title = widgets.HTML()
        self.card = widgets.HTML()
        self.json_view = widgets.HTML()
        self.json_box = widgets.Accordion(children=[self.json_view], selected_index=None)
        self.json_box.set_title(0, "JSON")
        self.enabled = widgets.Checkbox(description="enabled", indent=False)
        self.phase = widgets.Dropdown(description="phase")
        self.runs_after = widgets.SelectMultiple(description="runs after", rows=4)
        self.message = widgets.HTML()
        self.controls = widgets.VBox([self.enabled, self.phase, self.runs_after])
        self.panel = widgets.VBox([self.title, self.card, self.json_box, self.controls, self.message],
                                  layout=widgets.Layout(width="35%", padding="0 0 0 12px"))
        super().__init__([widgets.HBox([self.graph, self.panel])], **kwargs)
        self.title.value = f"<b>flow {html.escape(name)}</b>"
        self.add_class("kbnb-flow-editor")
        self._filling = False
        self.graph.observe(self._on_selected, "selected")
        self.graph.observe(self._on_redrawn, "elements")
        self.enabled.observe(self._on_enabled, "value")
        self.phase.observe(self._on_phase, "value")
        self.runs_after.observe(self._on_runs_after, "value")
        self._show()

    @property
    def elements(self) -> list[dict[str, Any]]:
        """The graph's elements (what `%keboola flow` returned before it returned the editor)."""
        return self.graph.elements

    # -- the flow as saved --------------------------------------------------------------------------

    def flow(self) -> model.Flow:
        return self.flows.get(self.name)[1]

    def _task(self, flow: model.Flow) -> model.Task | None:
        selected = self.graph.selected
        if selected is None:
            return None
        return next((t for t in flow.tasks if t.id == str(selected)), None)

    # -- showing --------------------------------------------------------------------------------------

    def _on_selected(self, change: dict[str, Any]) -> None:
        self.message.value = ""
        self._show()

    def _on_redrawn(self, change: dict[str, Any]) -> None:
        self._show()  # saved here or elsewhere (the assistant): the card follows the saved flow

    def _show(self) -> None:
        try:
            flow = self.flow()
        except KeboolaError as e:
            self.card.value, self.controls.layout.display = _para(str(e)), "none"
            return
        task = self._task(flow)
        if task is None:
            self.card.value = _para(f"Flow <b>{html.escape(self.name)}</b>: {len(flow.phases)} phase(s), "
                                    f"{len(flow.tasks)} task(s). Click a task to see its configuration.")
            self.json_view.value = ""
            self.json_box.layout.display = self.controls.layout.display = "none"
            return
        self.card.value = self._card(task)
        shown = html.escape(json.dumps(self._json(task), indent=2, ensure_ascii=False))
        self.json_view.value = f"<pre style='font-size:11px'>{shown}</pre>"
        self.json_box.layout.display = self.controls.layout.display = None
        path = model.order(flow)
        self._filling = True
        try:
            self.enabled.value = task.enabled
            self.phase.options = [(p.name or p.id, p.id) for p in flow.phases]
            self.phase.value = task.phase
            others = [p for p in flow.phases if p.id in path and p.id != task.phase]
            self.runs_after.options = [(p.name or p.id, p.id) for p in others]
            self.runs_after.value = tuple(_depends(path).get(task.phase, [])) if task.phase in path else ()
            self.runs_after.disabled = task.phase not in path
        finally:
            self._filling = False

    def _json(self, task: model.Task) -> Any:
        config = self._configuration(task)
        if config is not None:
            return config.to_json()
        return model._task_json(task)

    def _configuration(self, task: model.Task) -> Any:
        if task.job is None or not task.job.config_id:
            return None
        found = self.flows.configs.find(task.job.config_id)
        return found if found is not None and found.component_id == task.job.component_id else None

    def _card(self, task: model.Task) -> str:
        lines = [f"<b>{html.escape(task.name)}</b>" + ("" if task.enabled else " <i>(disabled)</i>")]
        if task.job is not None:
            config = self._configuration(task)
            lines.append(f"component: <code>{html.escape(task.job.component_id)}</code>")
            if config is None:
                lines.append(f"configuration {html.escape(str(task.job.config_id))} is not in this project")
            else:
                lines.append(f"configuration: {html.escape(config.name)} (id {html.escape(config.id)}, "
                             f"version {config.version})")
                try:
                    routes = builder.routes(config)
                except (KeboolaError, KeyError) as e:
                    routes = []
                    lines.append(f"reads/writes: unknown ({html.escape(str(e))})")
                for row, source, target in routes:
                    lines.append(f"{html.escape(str(row))}: {html.escape(str(source))} &rarr; "
                                 f"{html.escape(str(target))}")
        elif task.notification is not None:
            to = ", ".join(f"{r.channel}:{r.address}" for r in task.notification.recipients)
            lines.append(f"notification: {html.escape(task.notification.title)} &rarr; {html.escape(to)}")
        elif task.variable is not None:
            lines.append(f"sets variable <code>{html.escape(task.variable.name)}</code>")
        return "<br>".join(lines)

    # -- editing --------------------------------------------------------------------------------------

    def _on_enabled(self, change: dict[str, Any]) -> None:
        if not self._filling:
            self._edit(lambda flow, task: setattr(task, "enabled", bool(change["new"])),
                       "enabled" if change["new"] else "disabled")

    def _on_phase(self, change: dict[str, Any]) -> None:
        if not self._filling and change["new"] is not None:
            self._edit(lambda flow, task: setattr(task, "phase", change["new"]), f"moved to phase {change['new']}")

    def _on_runs_after(self, change: dict[str, Any]) -> None:
        if not self._filling:
            self._edit(lambda flow, task: reorder(flow, task.phase, list(change["new"])),
                       "dependencies changed")

    def _edit(self, change: Any, done: str) -> bool:
        """Apply `change(flow, task)` to the saved flow and save it; on a refusal show why and redraw the controls
        from the saved flow (nothing saved)."""
        config = self.flows.configs.get(self.name)
        component = components.get(config.component_id)
        flow = component.flow_of(config)
        task = self._task(flow)
        if task is None:
            return False
        try:
            change(flow, task)
            saved = self.flows.update(self.name, component.configuration_json(flow), actor="user")
        except KeboolaError as e:
            self.message.value = f"<div style='color:#d63b3b;white-space:pre-wrap'>refused: {html.escape(str(e))}</div>"
            self._show()
            return False
        self.message.value = _para(f"{html.escape(task.name)}: {done}; saved as version {saved.version}")
        return True


def _depends(path: list[str]) -> dict[str, list[str]]:
    """The dependencies a default path implies: each phase on it depends on the one before it."""
    return {phase: [path[i - 1]] if i else [] for i, phase in enumerate(path)}


def reorder(flow: model.Flow, phase_id: str, after: list[str]) -> None:
    """Make phase `phase_id` depend on the phases `after` (the others on the default path keep depending on the
    one before them) and rewrite the default transitions along the order that implies; a circle raises."""
    path = model.order(flow)
    if phase_id not in path:
        raise KeboolaError(f"phase {phase_id!r} is not on the flow's default path; its transitions are conditional",
                           fix="edit its transitions in the flow JSON")
    depends = _depends(path) | {phase_id: [p for p in after if p != phase_id]}
    # listed first, the phase runs as soon as what it now depends on has run; the others keep their order
    ordered = model.chain([phase_id, *[p for p in path if p != phase_id]], depends, "the flow")
    for i, pid in enumerate(ordered):
        phase = flow.phase(pid)
        goto = ordered[i + 1] if i + 1 < len(ordered) else None
        default = model.default_next(phase)
        if default is None and goto is not None:
            phase.next = [*phase.next, model.Transition(id=f"{pid}-{goto or 'end'}", goto=goto)]
        elif default is not None:
            default.goto = goto
    first = flow.phase(ordered[0])
    flow.phases = [first, *[p for p in flow.phases if p is not first]]


def _para(text: str) -> str:
    return f"<div>{text}</div>"


__all__ = ["FlowEditor", "reorder"]
