"""The flow editor: the FlowGraph with a toolbar above it and a panel below it (`%keboola flow NAME`).

    editor = FlowEditor(project.flows, "daily-revenue")
    editor                                   # display it in a cell
    editor.graph.selected = "10"             # what a click on task 10 does: the panel shows its card

The panel shows the clicked task's configuration card (name, component, what it reads and writes, its JSON) and
its controls: enabled, the phase it is in, and which phases its phase runs after. Every edit builds the whole flow
JSON through the flow model and saves it with `Flows.update` (checked, a new version, an audit entry); the graph
is then redrawn from the saved configuration, like every other live graph of that flow. The assistant reads
flows from the saved configurations, so it sees an edit as soon as it is saved.

The edits themselves are the flow component's (`components/flow/edits.py`); a change whose dependencies go round
in a circle, or that `checks.check` refuses (a phase no transition reaches), is refused with the reason in the
panel and nothing saved.

On the canvas (the toolbar above it and its hint line say how): drag a task into another phase's box to move it
there (dropped outside every phase it snaps back); with "Link phases" on, click a phase and then the phase that
should run right after it (what that phase runs after becomes the first one: the panel's "runs after" with one
phase chosen); click an arrow, then "Remove link" (its target no longer runs after its source, like unticking it
in "runs after"; a conditional arrow is deleted); click a task, then "Disable task" / "Enable task". Each is the
same edit as the panel's controls, saved the same way; dragging a task inside its own phase only arranges the
drawing and saves nothing.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import builder, components
from ..components.flow import model
from ..components.flow.edits import depend, depends_of, enable, link, move, phase_name, unlink
from ..errors import KeboolaError
from .flow_graph import flow_graph

if TYPE_CHECKING:
    from ..flows import Flows


class FlowEditor(widgets.VBox):
    """A flow's graph under a toolbar for editing it on the canvas, and below it the card and controls of the
    task last clicked."""

    def __init__(self, flows: "Flows", name: str, **kwargs: Any) -> None:
        self.flows, self.name = flows, name
        self.graph = flow_graph(flows, name)
        self.graph.editable = True
        # Full width: cytoscape fits the flow to its box when it first draws, before a narrower width set
        # through a Layout has reached the page, and would draw it too large for a narrower box.
        self.graph.layout = widgets.Layout(width="100%", height="420px")
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
        self.panel = widgets.VBox([self.title, self.card, self.json_box, self.controls])
        self.link_button = widgets.ToggleButton(description="Link phases", icon="link",
                                                tooltip="click a phase, then the phase that should run right after it")
        self.remove_button = widgets.Button(description="Remove link", icon="unlink", disabled=True,
                                            tooltip="click an arrow first")
        self.toggle_button = widgets.Button(description="Disable task", icon="ban", disabled=True,
                                            tooltip="click a task first")
        self.hint = widgets.HTML()
        toolbar = widgets.HBox([self.link_button, self.remove_button, self.toggle_button])
        super().__init__([toolbar, self.hint, self.message, self.graph, self.panel], **kwargs)
        self.title.value = f"<b>flow {html.escape(name)}</b>"
        self.add_class("kbnb-flow-editor")
        self._filling = False
        self.graph.observe(self._on_selected, "selected")
        self.graph.observe(self._on_redrawn, "elements")
        self.graph.observe(self._show_tools, ["selected_link", "link_mode", "link_source"])
        self.graph.on_drop(self._on_drop)
        self.graph.on_link(self._on_link)
        widgets.link((self.link_button, "value"), (self.graph, "link_mode"))
        self.remove_button.on_click(self._on_remove)
        self.toggle_button.on_click(self._on_toggle)
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
        return _task_of(flow, self.graph.selected)

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
            self.toggle_button.disabled = self.remove_button.disabled = True
            return
        self._show_tools(flow=flow)
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
            self.runs_after.value = tuple(depends_of(path).get(task.phase, [])) if task.phase in path else ()
            self.runs_after.disabled = task.phase not in path
        finally:
            self._filling = False

    def _show_tools(self, change: dict[str, Any] | None = None, flow: model.Flow | None = None) -> None:
        """The toolbar's buttons and hint line, for what is picked on the canvas."""
        try:
            flow = flow or self.flow()
        except KeboolaError:
            return  # the card says why
        task, picked = self._task(flow), self.graph.selected_link
        self.toggle_button.disabled = task is None
        self.toggle_button.description = "Enable task" if task is not None and not task.enabled else "Disable task"
        self.toggle_button.icon = "check" if task is not None and not task.enabled else "ban"
        self.toggle_button.tooltip = "click a task first" if task is None else f"{task.name} on or off in the flow"
        self.remove_button.disabled = picked is None
        self.hint.value = _para(_hint(flow, task, picked, self.graph.link_mode, self.graph.link_source))

    def _json(self, task: model.Task) -> Any:
        config = self.flows.config_of(task)
        if config is not None:
            return config.to_json()
        return model.task_json(task)

    def _card(self, task: model.Task) -> str:
        lines = [f"<b>{html.escape(task.name)}</b>" + ("" if task.enabled else " <i>(disabled)</i>")]
        if task.job is not None:
            config = self.flows.config_of(task)
            lines.append(f"component: {html.escape(_label(task.job.component_id))}")
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
            self._edit(self.graph.selected, lambda flow, task: enable(task, bool(change["new"])))

    def _on_phase(self, change: dict[str, Any]) -> None:
        if not self._filling and change["new"] is not None:
            self._edit(self.graph.selected, lambda flow, task: move(flow, task, change["new"]))

    def _on_runs_after(self, change: dict[str, Any]) -> None:
        if not self._filling:
            self._edit(self.graph.selected, lambda flow, task: depend(flow, task.phase, list(change["new"])))

    # The canvas: the same operations as the panel's controls, on what was dragged, linked or clicked there.

    def _on_drop(self, task_id: Any, phase_id: Any) -> None:
        if phase_id is None:
            self.message.value = _para("Nothing changed: drop a task inside a phase's box to move it there.")
            return
        self._edit(task_id, lambda flow, task: move(flow, task, str(phase_id)))

    def _on_link(self, first: Any, then: Any) -> None:
        self._save(lambda flow: link(flow, str(first), str(then)))

    def _on_remove(self, button: widgets.Button) -> None:
        picked = self.graph.selected_link
        if picked is not None:
            self._save(lambda flow: unlink(flow, str(picked["source"]), str(picked["transition"])))

    def _on_toggle(self, button: widgets.Button) -> None:
        self._edit(self.graph.selected, lambda flow, task: enable(task, not task.enabled))

    def _edit(self, task_id: Any, change: Callable[[model.Flow, model.Task], str]) -> bool:
        """`_save` of `change(flow, task)` for task `task_id`; its message starts with the task's name."""
        def apply(flow: model.Flow) -> str:
            task = _task_of(flow, task_id)
            if task is None:
                raise KeboolaError(f"the flow has no task {task_id!r} any more",
                                   fix="click a task on the redrawn graph")
            return f"{task.name}: {change(flow, task)}"
        return self._save(apply)

    def _save(self, change: Callable[[model.Flow], str]) -> bool:
        """Apply `change(flow)` (it returns what it did) to the saved flow and save it as a new version (which
        redraws the graph). On a refusal show why and redraw the controls from the saved flow: nothing saved."""
        try:
            saved, done = self.flows.edit(self.name, change, actor="user")
            if saved is None:
                self.message.value = _para(f"Nothing to save: {html.escape(done)}.")
                return False
        except KeboolaError as e:
            self.message.value = f"<div style='color:#d63b3b;white-space:pre-wrap'>refused: {html.escape(str(e))}</div>"
            self._show()
            return False
        self.message.value = _para(f"{html.escape(done)}; saved as version {saved.version}")
        return True


def _task_of(flow: model.Flow, task_id: Any) -> model.Task | None:
    """The flow's task `task_id` (as the graph reports it: maybe not a string); None: none, or none picked."""
    if task_id is None:
        return None
    return next((t for t in flow.tasks if t.id == str(task_id)), None)


def _hint(flow: model.Flow, task: model.Task | None, picked: dict[str, Any] | None, linking: bool,
          first: Any) -> str:
    """What the canvas can do now, in one line."""
    def name(phase_id: Any) -> str:
        found = next((p for p in flow.phases if p.id == str(phase_id)), None)
        return f"<b>{html.escape(phase_name(found) if found else str(phase_id))}</b>"

    if linking:
        if first is None:
            return "Link: click the phase that runs first (press Link phases again to stop linking)."
        return (f"Link: now click the phase that should run right after {name(first)} "
                f"(click {name(first)} again to cancel).")
    if picked is not None:
        relation = "goes on, when its condition holds, to" if picked["conditional"] else "is followed by"
        return f"Arrow: {name(picked['source'])} {relation} {name(picked['target'])}. Remove link deletes it."
    if task is not None:
        return (f"<b>{html.escape(task.name)}</b>: {'Disable' if task.enabled else 'Enable'} task acts on it; "
                "drag it into another phase's box to move it there.")
    return ("Drag a task into another phase's box to move it · Link phases, then click a phase and the one that "
            "should run right after it · click an arrow, then Remove link · click a task, then Disable task.")


def _label(component_id: str) -> str:
    """A component as users know it (e.g. "SQL transformation"), not by its id."""
    try:
        return components.get(component_id).label
    except KeboolaError:
        return "one keboola_nb does not run (see its JSON)"


def _para(text: str) -> str:
    return f"<div>{text}</div>"
