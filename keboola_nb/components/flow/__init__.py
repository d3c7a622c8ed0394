"""Flows: `keboola.flow` (Keboola's conditional flows, the format new flows are written in) and the legacy
`keboola.orchestrator` (read and run; written only when it already exists). Both are configurations without rows
kept as one `config.json` under `other/<component id>/<name>` in kbc's layout; both read into one model
(`model.py`) that the flow runner (`runner.py`) runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ...errors import KeboolaError
from ...model.configuration import Configuration, check_name, new_id
from ..component import Component
from . import model, shorthand
from .checks import check as check_flow
from .model import Flow

if TYPE_CHECKING:
    from ...engine.runner import Run
    from ...model.schedule import Schedule

ConfigExists = Callable[[str, str], bool]


class FlowComponent(Component):
    id = "keboola.flow"
    type = "other"
    label = "Flow"
    entries = "phases"
    builds_flows: ClassVar[bool] = True  # new flows are written as this component's
    untouched = "Tasks that had finished keep what they did; the rest did not run."
    help = {
        "rules": [
            "a flow runs phases one after another; the tasks of a phase run in parallel",
            "after a phase, its transitions (next) are tried top-down: the first whose condition holds is taken; "
            "the last one has no condition (the default); goto null ends the flow",
            "%%keboola flow NAME takes phases as '- phase: [configuration names]' in run order, or "
            "'- {id, tasks, depends_on}'; notify: [{when: failed|succeeded|'task.status == user_error', "
            "email|webhook}] adds notification phases; schedule: cron and timezone are kept for the scheduler",
            "when: 'transformation.column > value' (a value in its output's data) adds a check transformation "
            "<flow>-check that fails when a row shows it, run after the other phases; the notification reads "
            "its status (Keboola's conditions cannot read data)",
            "statuses: success, user_error, application_error, terminated, skipped",
            "a task's job result is read in conditions as job.* (job.durationSeconds, job.result.output.tables)",
        ],
        "example": {"cell": "%%keboola flow daily\nschedule: \"0 1 * * *\"\nphases:\n  - extract: [pg-orders]\n"
                            "  - transform: [daily_revenue]\nnotify:\n  - when: failed\n    email: team@example.com"},
    }

    # reading and writing its JSON ----------------------------------------------------------------------
    def flow_of(self, config: Configuration) -> Flow:
        """The configuration's flow (its JSON as the model)."""
        if config.rows:
            raise KeboolaError(f"flow {config.name!r} has rows; Keboola's flows have none",
                               fix="keep phases and tasks in the configuration itself")
        return model.from_flow_json(config.configuration)

    def configuration_json(self, flow: Flow) -> dict[str, Any]:
        return model.to_flow_json(flow)

    # building --------------------------------------------------------------------------------------------
    def build(self, project: Any, name: str, connection: Any, entries: list[Any], *, description: str = "",
              **options: Any) -> Configuration:
        raise KeboolaError("a flow takes no connection", fix="build it with %%keboola flow NAME (build_flow)")

    def build_flow(self, name: str, body: str | dict[str, Any], resolve: shorthand.Resolve,
                   config_exists: ConfigExists) -> tuple[Configuration, "Schedule | None"]:
        """A new, checked flow configuration from the `%%keboola flow NAME` body, and the schedule it asks for
        (None: none); `resolve(name)` gives a configuration's (component id, id), `config_exists` checks one."""
        check_name(name, "flow")
        parsed = shorthand.parse(body, name, resolve)
        check_flow(parsed.flow, config_exists, name=f"flow {name!r}")
        config = Configuration(self.id, new_id(), name, self.configuration_json(parsed.flow),
                               description=parsed.description)
        return config, parsed.schedule

    def resume_from(self, jobs: Any, config: Configuration, job_id: int) -> Any:
        """What job `job_id` (a failed or interrupted run of this flow) finished, for a run that resumes it."""
        from .runner import resume_from

        return resume_from(jobs, self, config, job_id)

    # checking and describing -----------------------------------------------------------------------------
    def check(self, config: Configuration) -> list[tuple[str, Any]]:
        """The flow's structure (whether its configurations exist is the project's to say): [(name, Flow)]."""
        flow = self.flow_of(config)
        check_flow(flow, name=f"flow {config.name!r}")
        return [(config.name, flow)]

    def summary(self, config: Configuration) -> list[dict[str, Any]]:
        flow = self.flow_of(config)
        names = {p.id: p.name or p.id for p in flow.phases}
        return [{"phase": names.get(t.phase, t.phase), "task": t.name, "kind": t.kind, "target": _target(t),
                 "enabled": t.enabled} for t in flow.tasks]

    # running ---------------------------------------------------------------------------------------------
    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        from .runner import run_flow

        run_flow(run, rows[0][2] if rows else self.flow_of(run.config))


class OrchestratorComponent(FlowComponent):
    """Legacy flows: read and run like any flow; new flows are written as keboola.flow."""

    id = "keboola.orchestrator"
    label = "Legacy flow"
    builds_flows = False
    phase_folders = True  # kbc keeps its phases and tasks as phases/NNN-name/phase.json and .../task.json

    def flow_of(self, config: Configuration) -> Flow:
        if config.rows:
            raise KeboolaError(f"legacy flow {config.name!r} has rows; Keboola's flows have none")
        return model.from_orchestrator_json(config.configuration)

    def configuration_json(self, flow: Flow) -> dict[str, Any]:
        return model.to_orchestrator_json(flow)

    def build_flow(self, name: str, body: str | dict[str, Any], resolve: shorthand.Resolve,
                   config_exists: ConfigExists) -> tuple[Configuration, "Schedule | None"]:
        raise KeboolaError("new flows are written as keboola.flow, not as legacy keboola.orchestrator flows",
                           fix="build it with the keboola.flow component (%%keboola flow NAME)")


def _target(task: model.Task) -> str:
    if task.job is not None:
        return f"{task.job.component_id}/{task.job.config_id}"
    if task.notification is not None:
        return ", ".join(f"{r.channel}:{r.address}" for r in task.notification.recipients)
    if task.variable is not None:
        return f"variable {task.variable.name}"
    return ""


FLOW = FlowComponent()
ORCHESTRATOR = OrchestratorComponent()
