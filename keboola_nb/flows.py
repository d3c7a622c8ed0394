"""Making flows (`project.flows`): from the `%%keboola flow NAME` body to a checked Keboola flow configuration whose
tasks are this project's configurations, saved with a version and an audit entry, and its schedule saved as the
flow's `keboola.scheduler` configuration. Running a flow is `project.run(NAME)`, like any configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import components
from .errors import KeboolaError

if TYPE_CHECKING:
    from .model.configuration import Configuration
    from .model.schedule import Schedule
    from .store.configs import ConfigStore


class Flows:
    def __init__(self, configs: "ConfigStore") -> None:
        self.configs = configs

    def create(self, name: str, body: str | dict[str, Any], *, replace: bool = False,
               actor: str = "user") -> "Configuration":
        """A flow from its shorthand (YAML text or a dict): phases of configuration names in run order, or with
        depends_on; notify; schedule. Checked (every task's configuration must exist), then saved."""
        from .model.schedule import Schedule
        from .store.schedules import set_schedule

        config, wanted = components.flow_builder().build_flow(name, body, self._resolve, self._exists)
        schedule = Schedule(wanted.cron, wanted.timezone).check() if wanted is not None else None
        saved = self.configs.save_named(config, replace=replace, actor=actor)
        if schedule is not None:
            set_schedule(self.configs, saved, schedule, name=f"{name} schedule", actor=actor)
        return saved

    def schedules(self, name: str) -> list["Schedule"]:
        from .store.schedules import schedules_of

        return [schedule for _, schedule in schedules_of(self.configs, self.configs.get(name))]

    def graph(self, name: str) -> Any:
        """The flow drawn: phases left to right, tasks coloured by kind."""
        from .ui.flow_graph import graph_of

        config = self.configs.get(name)
        component = components.get(config.component_id)
        flow_of = getattr(component, "flow_of", None)
        if flow_of is None:
            raise KeboolaError(f"{name!r} is not a flow ({config.component_id})", fix="%keboola configs lists them")
        kinds = {}
        for task in flow_of(config).tasks:
            if task.kind != "job" or task.job is None:
                kinds[task.id] = task.kind
                continue
            try:
                kinds[task.id] = components.get(task.job.component_id).type
            except KeboolaError:
                kinds[task.id] = "other"
        return graph_of(component.configuration_json(flow_of(config)), kinds)

    def _resolve(self, name: str) -> tuple[str, str]:
        config = self.configs.get(name)
        return config.component_id, config.id

    def _exists(self, component_id: str, config_id: str) -> bool:
        found = self.configs.find(config_id)
        return found is not None and found.component_id == component_id
