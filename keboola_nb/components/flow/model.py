"""One flow model for both of Keboola's flow formats: `keboola.flow` (conditional flows: phases with `next`
transitions, string ids, job / notification / variable tasks) and the legacy `keboola.orchestrator` (phases with
`dependsOn`, tasks with `continueOnFailure`). The runner, the checks and the shorthand work with this model only.

`to_flow_json(from_flow_json(x))` gives `x` back key for key and in the same key order (keys this model does not
know are kept), so a flow pulled with kbc and saved here shows no change in `kbc diff`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

from ...errors import KeboolaError
from . import conditions
from .conditions import Condition
from .nodes import Node, build, mapping, rest, text, written


class Retry(Node):
    """Linear retry of a failed job: `max_retries` more attempts, `delay_s` apart, when the error matches one of
    `retry_on` ((errorMessageContains | errorMessageExact, text); none: any error). Keboola's defaults: 3, 10 s."""

    max_retries: int = 3
    delay_s: int = 10
    retry_on: list[tuple[str, str]] = []
    strategy: str | None = "linear"
    params_unknown: dict[str, Any] = {}  # strategyParams keys this model does not know


class Transition(Node):
    id: str
    name: str | None = None
    condition: Condition | None = None  # None: the default transition, taken when no condition above it holds
    goto: str | None = None  # None ends the flow


class Phase(Node):
    id: str
    name: str
    description: str | None = None
    next: list[Transition] = []
    retry: Retry | None = None  # for the phase's job tasks without their own


class Recipient(Node):
    channel: Literal["email", "webhook"] | str
    address: str


class Notification(Node):
    title: str
    message: str | None = None
    recipients: list[Recipient] = []


class JobTask(Node):
    component_id: str
    config_id: str | None = None
    mode: str | None = "run"
    delay: int | float | str | None = None  # seconds before the job starts
    retry: Retry | None = None
    variable_overrides: dict[str, Any] | None = None  # Keboola's variableValuesData for this one job
    config_row_ids: list[str] | None = None
    continue_on_failure: bool | None = None  # legacy flows: the flow goes on when this job fails


class VariableTask(Node):
    name: str
    value: Any = None
    source: Condition | None = None  # computed when the task runs (a task's result, COUNT, DATE)


class Task(Node):
    id: str
    name: str
    phase: str
    enabled: bool = True
    kind: Literal["job", "notification", "variable"]
    job: JobTask | None = None
    notification: Notification | None = None
    variable: VariableTask | None = None
    body_unknown: dict[str, Any] = {}  # keys of Keboola's `task` object this model does not know
    body_order: tuple[str, ...] = ()


class Flow(Node):
    phases: list[Phase] = []
    tasks: list[Task] = []

    def phase(self, phase_id: str) -> Phase:
        found = next((p for p in self.phases if p.id == phase_id), None)
        if found is None:
            raise KeboolaError(f"the flow has no phase {phase_id!r} (phases: {', '.join(self.phase_ids)})")
        return found

    def tasks_of(self, phase_id: str) -> list[Task]:
        return [t for t in self.tasks if t.phase == phase_id]

    @property
    def phase_ids(self) -> list[str]:
        return [p.id for p in self.phases]


# keboola.flow ---------------------------------------------------------------------------------------------
def from_flow_json(data: Any) -> Flow:
    """A `keboola.flow` configuration (its `configuration` object) as a Flow; malformed conditions are kept for
    `checks.check` to name."""
    data = mapping(data, "the flow")
    phases, tasks = data.get("phases", []), data.get("tasks", [])
    if not isinstance(phases, list) or not isinstance(tasks, list):
        raise KeboolaError("the flow's 'phases' and 'tasks' must be lists")
    return build(Flow, "the flow", phases=[_phase(p, i) for i, p in enumerate(phases)],
                 tasks=[_task(t, i) for i, t in enumerate(tasks)], unknown=rest(data, {"phases", "tasks"}),
                 key_order=tuple(data))


def _phase(data: Any, index: int) -> Phase:
    where = f"phase {index + 1}"
    data = mapping(data, where)
    phase_id = text(data, "id", where)
    where = f"phase {phase_id!r}"
    fields: dict[str, Any] = {"id": phase_id, "name": text(data, "name", where, required=False) or ""}
    if "description" in data:
        fields["description"] = data["description"]
    if "next" in data:
        if not isinstance(data["next"], list):
            raise KeboolaError(f"{where}: 'next' must be a list of transitions")
        fields["next"] = [_transition(t, f"{where}, transition {i + 1}") for i, t in enumerate(data["next"])]
    if data.get("retry") is not None:
        fields["retry"] = _retry(data["retry"], where)
    return build(Phase, where, **fields, unknown=rest(data, {"id", "name", "description", "next", "retry"}),
                 key_order=tuple(data))


def _transition(data: Any, where: str) -> Transition:
    data = mapping(data, where)
    transition_id = text(data, "id", where)
    where = f"{where.split(',')[0]}, transition {transition_id!r}"
    fields: dict[str, Any] = {"id": transition_id, "goto": text(data, "goto", where, required=False)}
    if "name" in data:
        fields["name"] = data["name"]
    if "condition" in data:
        fields["condition"] = conditions.parse(data["condition"], f"the condition of {where}")
    return build(Transition, where, **fields, unknown=rest(data, {"id", "name", "condition", "goto"}),
                 key_order=tuple(data))


def _retry(data: Any, where: str) -> Retry:
    where = f"{where}: retry"
    data = mapping(data, where)
    params = mapping(data.get("strategyParams", {}), f"{where}.strategyParams")
    fields: dict[str, Any] = {}
    if "strategy" in data:
        fields["strategy"] = data["strategy"]
    if "maxRetries" in params:
        fields["max_retries"] = params["maxRetries"]
    if "delay" in params:
        fields["delay_s"] = params["delay"]
    if "retryOn" in data:
        retry_on = data["retryOn"]
        if not isinstance(retry_on, list) or not all(isinstance(r, dict) and {"type", "value"} <= set(r)
                                                     for r in retry_on):
            raise KeboolaError(f"{where}: 'retryOn' must list {{type, value}} objects",
                               fix="e.g. [{\"type\": \"errorMessageContains\", \"value\": \"timeout\"}]")
        fields["retry_on"] = [(r["type"], r["value"]) for r in retry_on]
    keys = tuple(data) + tuple(f"strategyParams.{k}" for k in params)
    return build(Retry, where, **fields, params_unknown=rest(params, {"maxRetries", "delay"}),
                 unknown=rest(data, {"strategy", "strategyParams", "retryOn"}), key_order=keys)


def _task(data: Any, index: int) -> Task:
    where = f"task {index + 1}"
    data = mapping(data, where)
    task_id = text(data, "id", where)
    where = f"task {task_id!r}"
    body = mapping(data.get("task"), f"{where}: 'task'")
    kind = body.get("type", "job")
    fields: dict[str, Any] = {"id": task_id, "name": text(data, "name", where, required=False) or task_id,
                              "phase": text(data, "phase", where), "kind": kind}
    if "enabled" in data:
        fields["enabled"] = data["enabled"]
    if kind == "job":
        fields["job"] = _job(body, data, where)
        known = {"type", "componentId", "configId", "mode", "delay", "retry", "variableValuesData", "configRowIds"}
    elif kind == "notification":
        fields["notification"], known = _notification(body, where), {"type", "title", "message", "recipients"}
    elif kind == "variable":
        fields["variable"], known = _variable(body, where), {"type", "name", "value", "source"}
    else:
        raise KeboolaError(f"{where} has type {kind!r}", fix="a task's type is job, notification or variable")
    return build(Task, where, **fields, body_unknown=rest(body, known), body_order=tuple(body),
                 unknown=rest(data, {"id", "name", "phase", "enabled", "task", "continueOnFailure"}),
                 key_order=tuple(data))


def _job(body: dict[str, Any], task: dict[str, Any], where: str) -> JobTask:
    fields: dict[str, Any] = {"component_id": text(body, "componentId", where),
                              "config_id": text(body, "configId", where, required=False)}
    for key, name in (("mode", "mode"), ("delay", "delay"), ("configRowIds", "config_row_ids")):
        if key in body:
            fields[name] = body[key]
    if body.get("retry") is not None:
        fields["retry"] = _retry(body["retry"], where)
    if "variableValuesData" in body:
        values = mapping(body["variableValuesData"], f"{where}: variableValuesData").get("values") or []
        fields["variable_overrides"] = {v["name"]: v.get("value") for v in values
                                        if isinstance(v, dict) and "name" in v}
    if "continueOnFailure" in task:
        fields["continue_on_failure"] = task["continueOnFailure"]
    return build(JobTask, where, **fields)


def _notification(body: dict[str, Any], where: str) -> Notification:
    recipients = body.get("recipients")
    channel = body.get("channel")  # the other shape Keboola's examples show: channel {type, recipients: [...]}
    found: list[Recipient] = []
    if isinstance(recipients, list) and all(isinstance(r, dict) for r in recipients):
        found = [build(Recipient, f"{where}: recipient", channel=str(r.get("channel", "")),
                       address=str(r.get("address", "")), unknown=rest(r, {"channel", "address"}), key_order=tuple(r))
                 for r in recipients]
    elif isinstance(channel, dict):
        found = [Recipient(channel=str(channel.get("type", "")), address=str(a))
                 for a in channel.get("recipients") or []]
    elif recipients is not None:
        raise KeboolaError(f"{where}: 'recipients' must list {{channel, address}} objects",
                           fix="e.g. [{\"channel\": \"email\", \"address\": \"team@example.com\"}]")
    return build(Notification, where, title=text(body, "title", where, required=False) or "",
                 message=body.get("message"), recipients=found)


def _variable(body: dict[str, Any], where: str) -> VariableTask:
    fields: dict[str, Any] = {"name": text(body, "name", where)}
    if "value" in body:
        fields["value"] = body["value"]
    if "source" in body:
        fields["source"] = conditions.parse(body["source"], f"{where}: source")
    return build(VariableTask, where, **fields)


def to_flow_json(flow: Flow) -> dict[str, Any]:
    """Keboola's `keboola.flow` configuration of `flow`."""
    return written(flow, {"phases": [_phase_json(p) for p in flow.phases],
                          "tasks": [task_json(t) for t in flow.tasks]})


def _phase_json(phase: Phase) -> dict[str, Any]:
    known: dict[str, Any] = {"id": phase.id, "name": phase.name}
    if phase.description is not None:
        known["description"] = phase.description
    if phase.retry is not None:
        known["retry"] = _retry_json(phase.retry)
    if phase.next or "next" in phase.model_fields_set:
        known["next"] = [_transition_json(t) for t in phase.next]
    return written(phase, known)


def _transition_json(transition: Transition) -> dict[str, Any]:
    known: dict[str, Any] = {"id": transition.id}
    if transition.name is not None:
        known["name"] = transition.name
    if transition.condition is not None:
        known["condition"] = conditions.to_json(transition.condition)
    known["goto"] = transition.goto
    return written(transition, known)


def _retry_json(retry: Retry) -> dict[str, Any]:
    set_ = retry.model_fields_set
    known: dict[str, Any] = {}
    if retry.strategy is not None and ("strategy" in set_ or not retry.key_order):
        known["strategy"] = retry.strategy
    params: dict[str, Any] = {}
    if "max_retries" in set_ or not retry.key_order:
        params["maxRetries"] = retry.max_retries
    if "delay_s" in set_ or not retry.key_order:
        params["delay"] = retry.delay_s
    params |= retry.params_unknown
    param_order = [k.split(".", 1)[1] for k in retry.key_order if k.startswith("strategyParams.")]
    if params or "strategyParams" in retry.key_order:
        known["strategyParams"] = {**{k: params[k] for k in param_order if k in params}, **params}
    if retry.retry_on or "retry_on" in set_:
        known["retryOn"] = [{"type": t, "value": v} for t, v in retry.retry_on]
    return written(retry, known)


def task_json(task: Task) -> dict[str, Any]:
    if task.kind == "job" and task.job is not None:
        job = task.job
        body: dict[str, Any] = {"type": "job", "componentId": job.component_id}
        if job.config_id is not None:
            body["configId"] = job.config_id
        if job.config_row_ids is not None:
            body["configRowIds"] = job.config_row_ids
        if job.mode is not None:
            body["mode"] = job.mode
        if job.delay is not None:
            body["delay"] = job.delay
        if job.retry is not None:
            body["retry"] = _retry_json(job.retry)
        if job.variable_overrides is not None:
            body["variableValuesData"] = {"values": [{"name": k, "value": v}
                                                     for k, v in job.variable_overrides.items()]}
    elif task.kind == "notification" and task.notification is not None:
        note = task.notification
        body = {"type": "notification", "title": note.title}
        if note.message is not None:
            body["message"] = note.message
        body["recipients"] = [written(r, {"channel": r.channel, "address": r.address}) for r in note.recipients]
    elif task.kind == "variable" and task.variable is not None:
        variable = task.variable
        body = {"type": "variable", "name": variable.name}
        if variable.source is not None:
            body["source"] = conditions.to_json(variable.source)
        if variable.value is not None or variable.source is None:
            body["value"] = variable.value
    else:
        raise KeboolaError(f"task {task.id!r} is a {task.kind} task without its {task.kind} part")
    body = _ordered({**body, **task.body_unknown}, task.body_order)
    known: dict[str, Any] = {"id": task.id, "name": task.name, "phase": task.phase, "task": body}
    if task.job is not None and task.job.continue_on_failure is not None:
        known["continueOnFailure"] = task.job.continue_on_failure
    if "enabled" in task.model_fields_set or not task.key_order or not task.enabled:
        known["enabled"] = task.enabled
    return written(task, known)


def _ordered(data: dict[str, Any], order: Iterable[str]) -> dict[str, Any]:
    first = {k: data[k] for k in order if k in data}
    return {**first, **{k: v for k, v in data.items() if k not in first}}


# keboola.orchestrator (legacy) ------------------------------------------------------------------------------
def from_orchestrator_json(data: Any) -> Flow:
    """A legacy `keboola.orchestrator` configuration as a Flow: ids become strings, and `dependsOn` becomes `next`
    transitions. Legacy phases run one after another in dependency order, so they are chained in that order (a
    conditional flow takes one transition per phase); `continueOnFailure` stays on each job task."""
    data = mapping(data, "the legacy flow")
    raw_phases, raw_tasks = data.get("phases", []), data.get("tasks", [])
    if not isinstance(raw_phases, list) or not isinstance(raw_tasks, list):
        raise KeboolaError("the legacy flow's 'phases' and 'tasks' must be lists")
    depends: dict[str, list[str]] = {}
    phases: dict[str, Phase] = {}
    for i, raw in enumerate(raw_phases):
        raw = mapping(raw, f"phase {i + 1}")
        phase_id = text(raw, "id", f"phase {i + 1}")
        where = f"phase {phase_id!r}"
        if phase_id in phases:
            raise KeboolaError(f"the legacy flow has two phases with id {phase_id!r}", fix="give each its own id")
        listed = raw.get("dependsOn") or []
        if not isinstance(listed, list):
            raise KeboolaError(f"{where}: 'dependsOn' must be a list of phase ids")
        depends[phase_id] = [str(d) for d in listed]
        fields: dict[str, Any] = {"id": phase_id, "name": text(raw, "name", where, required=False) or phase_id}
        if "description" in raw:
            fields["description"] = raw["description"]
        phases[phase_id] = build(Phase, where, **fields, unknown=rest(raw, {"id", "name", "description", "dependsOn"}),
                                 key_order=tuple(raw))
    ordered = chain(list(phases), depends, "the legacy flow")
    for here, there in zip(ordered, ordered[1:]):
        phases[here].next = [Transition(id=f"{here}-{there}", goto=there)]
    tasks = []
    for i, raw in enumerate(raw_tasks):
        raw = mapping(raw, f"task {i + 1}")
        body = mapping(raw.get("task"), f"task {raw.get('id')!r}: 'task'")
        legacy = {**raw, "id": text(raw, "id", f"task {i + 1}"), "phase": text(raw, "phase", f"task {raw['id']!r}"),
                  "task": {"type": "job", **body}}
        task = _task(legacy, i)
        task.key_order, task.body_order = tuple(raw), tuple(body)
        tasks.append(task)
    return Flow(phases=[phases[p] for p in ordered], tasks=tasks, unknown=rest(data, {"phases", "tasks"}),
                key_order=tuple(data))


def to_orchestrator_json(flow: Flow) -> dict[str, Any]:
    """The legacy `keboola.orchestrator` configuration of `flow` (for a legacy flow that already exists): each phase
    depends on the one before it in `order(flow)`; numeric ids are written as numbers, as Keboola keeps them."""
    def legacy_id(value: str) -> int | str:
        return int(value) if value.isdigit() else value

    ordered = order(flow)
    ordered += [p for p in flow.phase_ids if p not in ordered]
    phases = []
    for i, phase_id in enumerate(ordered):
        phase = flow.phase(phase_id)
        known: dict[str, Any] = {"id": legacy_id(phase.id), "name": phase.name}
        if phase.description is not None:
            known["description"] = phase.description
        known["dependsOn"] = [legacy_id(ordered[i - 1])] if i else []
        phases.append(written(phase, known))
    tasks = []
    for task in flow.tasks:
        if task.job is None:
            raise KeboolaError(f"task {task.id!r} is a {task.kind} task; legacy flows run jobs only",
                               fix="keep notifications and variables in a keboola.flow")
        body = task_json(task)["task"]
        body.pop("type", None)
        known = {"id": legacy_id(task.id), "name": task.name, "phase": legacy_id(task.phase), "task": body,
                 "continueOnFailure": bool(task.job.continue_on_failure), "enabled": task.enabled}
        tasks.append(written(task, known))
    return written(flow, {"phases": phases, "tasks": tasks})


# the graph ----------------------------------------------------------------------------------------------------
class Edge(NamedTuple):
    source: str
    target: str | None  # None: the flow ends
    transition: str
    conditional: bool


def edges(flow: Flow) -> list[Edge]:
    """Every transition as an edge of the phase graph, in evaluation order."""
    return [Edge(p.id, t.goto, t.id, t.condition is not None) for p in flow.phases for t in p.next]


def default_next(phase: Phase) -> Transition | None:
    """The transition taken when no condition above it holds (the first without a condition)."""
    return next((t for t in phase.next if t.condition is None), None)


def order(flow: Flow) -> list[str]:
    """The phase ids a run visits when no condition holds: from the first phase along default transitions, until
    one ends the flow (or leads back to a phase already visited)."""
    if not flow.phases:
        return []
    by_id = {p.id: p for p in flow.phases}
    visited: list[str] = []
    here: str | None = flow.phases[0].id
    while here is not None and here in by_id and here not in visited:
        visited.append(here)
        step = default_next(by_id[here])
        here = step.goto if step else None
    return visited


def chain(ids: list[str], depends: dict[str, list[str]], where: str) -> list[str]:
    """`ids` in an order that puts every phase after the phases it depends on (keeping the listed order where the
    dependencies allow), or one clear error naming an unknown or circular dependency."""
    for phase_id, needed in depends.items():
        unknown = [d for d in needed if d not in ids]
        if unknown:
            raise KeboolaError(f"{where}: phase {phase_id!r} depends on unknown phase(s) {', '.join(unknown)}",
                               fix=f"phases: {', '.join(ids)}")
    done: list[str] = []
    while len(done) < len(ids):
        ready = next((p for p in ids if p not in done and all(d in done for d in depends.get(p, []))), None)
        if ready is None:
            stuck = [p for p in ids if p not in done]
            raise KeboolaError(f"{where}: phases {', '.join(stuck)} depend on each other in a circle",
                               fix="remove one of the dependencies so that some phase runs first")
        done.append(ready)
    return done
