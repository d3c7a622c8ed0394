"""Making flows (`project.flows`): from the `%%keboola flow NAME` body to a checked Keboola flow configuration whose
tasks are this project's configurations, saved with a version and an audit entry, and its schedule saved as the
flow's `keboola.scheduler` configuration. Running a flow is `project.run(NAME)`, like any configuration.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import components
from .errors import KeboolaError

if TYPE_CHECKING:
    from .components.flow.model import Flow, Task
    from .model.configuration import Configuration
    from .model.schedule import Schedule
    from .store.configs import ConfigStore
    from .transformations import Transformations


# Graphs handed out by `Flows.graph`, per project folder and flow name, held weakly: a save of that flow
# (`Flows.create(..., replace=True)`, `Flows.update`) sets their `elements` anew, so a drawn flow follows changes
# made elsewhere (by the assistant's create_flow tool, by an editor in another cell).
_LIVE: dict[tuple[str, str], "weakref.WeakSet[Any]"] = {}
_LIVE_LOCK = threading.Lock()


class Built(NamedTuple):
    """A flow built from its shorthand, not saved yet."""

    config: "Configuration"
    schedule: "Schedule | None"
    checks: list["Configuration"]  # the data checks its notifications read (transformations saved with it)


class Flows:
    def __init__(self, configs: "ConfigStore", transformations: "Transformations") -> None:
        self.configs = configs
        self.transformations = transformations  # builds the data checks

    def create(self, name: str, body: str | dict[str, Any], *, replace: bool = False,
               actor: str = "user") -> "Configuration":
        """A flow from its shorthand (YAML text or a dict): phases of configuration names in run order, or with
        depends_on; notify; schedule. Checked (every task's configuration must exist), then saved."""
        return self.save(*self.build(name, body), replace=replace, actor=actor)

    def build(self, name: str, body: str | dict[str, Any], planned: "list[Configuration] | tuple[()]" = ()) -> Built:
        """What `create` saves, checked, not saved: the flow's configuration, its schedule (None: none) and the
        data checks its notifications read (see data_checks). `planned`: configurations built to be saved together
        with the flow; its tasks may name them."""
        from .data_checks import is_check_of, with_data_checks
        from .model.validation import read_yaml

        if isinstance(body, str):
            body = read_yaml(body, f"flow {name!r}", "write the flow as YAML: phases: [{extract: [config-name]}]")
        saved = self.configs.list()
        own_checks = {c.name for c in saved if is_check_of(c, name)}
        taken = {c.name for c in saved} - own_checks | {c.name for c in planned}
        by_name = {c.name: c for c in planned}

        def find(task: str) -> "Configuration | None":
            return by_name.get(task) or next((c for c in planned if c.id == task), None) or self.configs.find(task)

        body, checks = with_data_checks(name, body, find, self.transformations, taken)
        for check in checks:  # this flow's own check from before: a new version of it, under its id
            if check.name in own_checks:
                check.id = self.configs.get(check.name).id
        every = [*planned, *checks]

        def resolve(task: str) -> tuple[str, str]:
            found = next((c for c in every if task in (c.name, c.id)), None)
            return (found.component_id, found.id) if found is not None else self._resolve(task)

        def exists(component_id: str, config_id: str) -> bool:
            return any(c.component_id == component_id and c.id == config_id for c in every) \
                or self._exists(component_id, config_id)

        config, schedule = components.flow_builder().build_flow(name, body, resolve, exists)
        return Built(config, schedule.check() if schedule is not None else None, checks)

    def save(self, config: "Configuration", schedule: "Schedule | None" = None,
             checks: "list[Configuration] | tuple[()]" = (), *, replace: bool = False,
             actor: str = "user") -> "Configuration":
        """Save a built flow, its data checks first (a check of the same name is this flow's: a new version of it)
        and its schedule (as the flow's scheduler configuration), all or none; redraw its live graphs."""
        from .store.schedules import set_schedule

        undo: list[Callable[[], None]] = []  # how to take back each save made so far: all or none
        try:
            for check in checks:
                undo.append(self._undo_of(check.name, actor))
                self.configs.save_named(check, replace=self.configs.find(check.name) is not None, actor=actor)
            undo.append(self._undo_of(config.name, actor))
            saved = self.configs.save_named(config, replace=replace, actor=actor)
            if schedule is not None:
                set_schedule(self.configs, saved, schedule, name=f"{saved.name} schedule", actor=actor)
        except Exception:
            for take_back in reversed(undo):
                take_back()
            raise
        self.redraw(saved.name)
        return saved

    def _undo_of(self, name: str, actor: str) -> Callable[[], None]:
        """What takes back a save of configuration `name` about to be made: removing it if it is new, else going
        back to its present version."""
        before = self.configs.find(name)

        def undo() -> None:
            now = self.configs.find(name)
            if now is not None and before is None:
                self.configs.delete(now.id, actor=actor)
            elif now is not None and before is not None and now.version != before.version:
                self.configs.rollback(now.id, before.version, actor=actor)

        return undo

    def update(self, name: str, flow_json: dict[str, Any], *, actor: str = "user") -> "Configuration":
        """Save `flow_json` (the flow's whole configuration JSON, as `configs.get(name).configuration`) as a new
        version of flow `name`, after checking it as `create` does (every task's configuration must exist); then
        redraw every live graph of it. The one way the flow editor changes a flow."""
        from .components.flow.checks import check

        config = copy.deepcopy(self.configs.get(name))
        component = self._flow_component(config)
        config.configuration = copy.deepcopy(flow_json)
        check(component.flow_of(config), self._exists, name=f"flow {name!r}")
        saved = self.configs.save(config, actor=actor, change="updated")
        self.redraw(saved.name)
        return saved

    def edit(self, name: str, change: Callable[["Flow"], str], *,
             actor: str = "user") -> tuple["Configuration | None", str]:
        """Apply `change(flow)` (an edit of `components/flow/edits.py`; it returns what it did) to flow `name` and
        save the result as a new version (`update`: checked, redrawn). The saved flow (None: the edit changed
        nothing) and what was done; a refused edit raises and saves nothing."""
        config, flow = self.get(name)
        done = change(flow)
        flow_json = self._flow_component(config).configuration_json(flow)
        if flow_json == config.configuration:
            return None, done
        return self.update(name, flow_json, actor=actor), done

    def schedules(self, name: str) -> list["Schedule"]:
        from .store.schedules import schedules_of

        return [schedule for _, schedule in schedules_of(self.configs, self.configs.get(name))]

    def track(self, name: str, graph: Any) -> None:
        """Keep `graph` (weakly) among the live views of flow `name`: each is told to `refresh()` when the flow is
        saved (the views are the faces': `ui.flow_graph.flow_graph`)."""
        with _LIVE_LOCK:
            _LIVE.setdefault(self._live_key(name), weakref.WeakSet()).add(graph)

    def live(self, name: str) -> list[Any]:
        with _LIVE_LOCK:
            return list(_LIVE.get(self._live_key(name), ()))

    def redraw(self, name: str) -> None:
        """Tell every live view of flow `name` to draw it anew from its saved configuration."""
        for view in self.live(name):
            view.refresh()

    def _live_key(self, name: str) -> tuple[str, str]:
        return str(getattr(self.configs, "versions_dir", id(self.configs))), name

    def get(self, name: str) -> tuple["Configuration", "Flow"]:
        """Flow `name` (or id): its configuration and its flow (either format)."""
        config = self.configs.get(name)
        return config, self._flow_component(config).flow_of(config)

    @staticmethod
    def is_flow(component_id: str) -> bool:
        """Whether configurations of this component are flows (they run other configurations as tasks)."""
        try:
            return getattr(components.get(component_id), "flow_of", None) is not None
        except KeboolaError:
            return False

    def _flow_component(self, config: "Configuration") -> Any:
        if not self.is_flow(config.component_id):
            raise KeboolaError(f"{config.name!r} is not a flow ({config.component_id})",
                               fix="list the configurations (%keboola configs) to find the flows")
        return components.get(config.component_id)

    def drawing(self, name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """What a drawing of flow `name` needs: its Keboola flow JSON as saved, and each task's kind (extractor,
        transformation, writer, notification, variable, other)."""
        return self.drawing_of(self.configs.get(name))

    def drawing_of(self, config: "Configuration") -> tuple[dict[str, Any], dict[str, str]]:
        """`drawing` of a flow configuration, saved or only built."""
        component = self._flow_component(config)
        flow = component.flow_of(config)
        return component.configuration_json(flow), {task.id: self.kind_of(task) for task in flow.tasks}

    def kind_of(self, task: "Task") -> str:
        """What a task runs: extractor, transformation, writer, flow (a nested one), other; or notification,
        variable."""
        if task.job is None:
            return task.kind
        try:
            component = components.get(task.job.component_id)
        except KeboolaError:
            return "other"
        return "flow" if self.is_flow(component.id) else component.type

    def config_of(self, task: "Task") -> "Configuration | None":
        """The project's configuration a task runs (None: not a job, or not in this project)."""
        if task.job is None or not task.job.config_id:
            return None
        found = self.configs.find(task.job.config_id)
        return found if found is not None and found.component_id == task.job.component_id else None

    def _resolve(self, name: str) -> tuple[str, str]:
        config = self.configs.get(name)
        return config.component_id, config.id

    def _exists(self, component_id: str, config_id: str) -> bool:
        found = self.configs.find(config_id)
        return found is not None and found.component_id == component_id
