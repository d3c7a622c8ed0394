"""The body of `%%keboola flow NAME`: a short YAML for the common flow (phases in order, notifications on failure),
turned into the one flow model. Configurations are named as the user knows them; `resolve` (given by the caller)
turns a name into (component id, configuration id), so this module never reads the project itself.

    schedule: "0 1 * * *"          # kept for the scheduler, returned beside the flow
    timezone: UTC
    phases:
      - extract: [mysql-sales, snowflake-customers]
      - transform: [daily_revenue]
    notify:
      - when: failed                # succeeded, or "daily_revenue.status == user_error"
        email: team@example.com     # or webhook: https://...
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from ...errors import KeboolaError
from ...model.validation import read_yaml, refuse_unknown_keys
from .conditions import STATUSES, Condition, Const, Operator, PhaseRef, TaskRef
from .model import Flow, JobTask, Notification, Phase, Recipient, Task, Transition, chain

KEYS = {"schedule", "timezone", "description", "phases", "notify"}
PHASE_KEYS = {"id", "name", "description", "tasks", "depends_on"}
NOTIFY_KEYS = {"when", "email", "webhook", "title", "message", "name"}  # name: of its phase
Resolve = Callable[[str], tuple[str, str]]

if TYPE_CHECKING:
    from ...model.schedule import Schedule

_COMPARISON = re.compile(r"^(?P<subject>[\w.\-]+?)\.(?P<field>status|job(?:\.\w+)+)"
                         r"\s*(?P<op>==|!=|>|<)\s*(?P<value>.+)$")
# `task.column > value`: a value in a task's data, which Keboola's conditions cannot read (see flows.data_checks).
DATA_VALUE = re.compile(r"^(?P<subject>[\w.\-]+?)\.(?P<field>\w+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>.+)$")
_OPERATORS = {"==": "EQUALS", "!=": "NOT_EQUALS", ">": "GREATER_THAN", "<": "LESS_THAN"}
_YAML_FIX = "write the flow as YAML: phases: [{extract: [config-name]}, {transform: [...]}]"


class Parsed(NamedTuple):
    flow: Flow
    schedule: "Schedule | None"  # not yet checked
    description: str


def parse(body: str | dict[str, Any], name: str, resolve: Resolve) -> Parsed:
    """The shorthand (YAML text or its mapping) of flow `name` as a Flow, its schedule (None: none given) and its
    description. Phases listed as `- id: [configs]` run in the listed order; `depends_on` on an explicit phase
    (`- {id, tasks, depends_on}`) moves it after the phases it names."""
    where = f"flow {name!r}"
    data = read_yaml(body, where, _YAML_FIX) if isinstance(body, str) else dict(body)
    refuse_unknown_keys(data, where, KEYS)
    schedule = None
    if data.get("schedule") is not None:
        if not isinstance(data["schedule"], str):
            raise KeboolaError(f"{where}: 'schedule' must be a cron text such as \"0 1 * * *\"")
        from ...model.schedule import Schedule

        schedule = Schedule(data["schedule"], str(data.get("timezone") or "UTC"))
    elif data.get("timezone") is not None:
        raise KeboolaError(f"{where}: 'timezone' is given without a 'schedule'", fix="add schedule: \"0 1 * * *\"")
    phases, depends = _phases(data.get("phases"), where)
    ordered = chain(list(phases), depends, where)
    flow = Flow(phases=[], tasks=[])
    used: set[str] = set()
    for phase_id in ordered:
        phase_name, description, names = phases[phase_id]
        phase = Phase(id=phase_id, name=phase_name)
        if description:
            phase.description = description
        flow.phases.append(phase)
        for config in names:
            component_id, config_id = resolve(config)
            task_id = _unique(config, used)
            flow.tasks.append(Task(id=task_id, name=config, phase=phase_id, enabled=True, kind="job",
                                   job=JobTask(component_id=component_id, config_id=config_id, mode="run")))
    _link(flow, ordered, _notifications(data.get("notify"), where, name, flow))
    return Parsed(flow, schedule, str(data.get("description") or ""))


def _phases(listed: Any, where: str) -> tuple[dict[str, tuple[str, str, list[str]]], dict[str, list[str]]]:
    if not isinstance(listed, list) or not listed:
        raise KeboolaError(f"{where}: 'phases' must list at least one phase", fix=_YAML_FIX)
    phases: dict[str, tuple[str, str, list[str]]] = {}
    depends: dict[str, list[str]] = {}
    for i, entry in enumerate(listed):
        here = f"{where}, phase {i + 1}"
        if isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) not in PHASE_KEYS:
            phase_id, tasks = next(iter(entry.items()))
            entry = {"id": phase_id, "tasks": tasks}
        if not isinstance(entry, dict):
            raise KeboolaError(f"{here} must be '- name: [configs]' or '- {{id, tasks, depends_on}}', not {entry!r}")
        refuse_unknown_keys(entry, here, PHASE_KEYS)
        if not entry.get("id"):
            raise KeboolaError(f"{here} has no id", fix="give it one: - {id: transform, tasks: [...]}")
        phase_id = str(entry["id"])
        if phase_id in phases:
            raise KeboolaError(f"{where}: two phases are named {phase_id!r}", fix="give each phase its own name")
        tasks = entry.get("tasks")
        tasks = [tasks] if isinstance(tasks, str) else tasks
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
            raise KeboolaError(f"{where}: phase {phase_id!r} must list the configurations it runs, by name or id",
                               fix=f"e.g. - {phase_id}: [config-name]")
        phases[phase_id] = (str(entry.get("name") or phase_id), str(entry.get("description") or ""), tasks)
        if "depends_on" in entry:
            needed = entry["depends_on"]
            depends[phase_id] = [needed] if isinstance(needed, str) else [str(d) for d in needed or []]
    return phases, depends


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`, ...: the first not in `taken`."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _unique(name: str, used: set[str]) -> str:
    """`free_name`, then taken."""
    candidate = free_name(name, used)
    used.add(candidate)
    return candidate


class _Rule(NamedTuple):
    """A notification phase and where it is reached from: every phase (failed), the last (succeeded), or the
    phase where its condition can be told (then the flow goes on afterwards)."""

    phase: Phase
    when: str
    condition: Condition | None  # None: built per phase (failed, succeeded)
    at: str | None


def _notifications(listed: Any, where: str, name: str, flow: Flow) -> list[_Rule]:
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise KeboolaError(f"{where}: 'notify' must be a list of {{when, email | webhook}} entries")
    rules: dict[str, _Rule] = {}
    for i, entry in enumerate(listed):
        here = f"{where}, notify {i + 1}"
        if not isinstance(entry, dict):
            raise KeboolaError(f"{here} must be a mapping with when and email or webhook")
        refuse_unknown_keys(entry, here, NOTIFY_KEYS)
        when = str(entry.get("when") or "failed").strip()
        recipients = [Recipient(channel=channel, address=str(address)) for channel in ("email", "webhook")
                      for address in _listed(entry.get(channel))]
        if not recipients:
            raise KeboolaError(f"{here} has no recipient", fix="add email: team@example.com or webhook: https://...")
        if when not in rules:
            phase_id = _unique(f"notify-{when}" if when in ("failed", "succeeded") else f"notify-{len(rules) + 1}",
                               set(flow.phase_ids))
            condition, at = (None, None) if when in ("failed", "succeeded") else _when(when, here, flow)
            rules[when] = _Rule(Phase(id=phase_id, name=str(entry.get("name") or f"Notify: {when}")), when, condition,
                                at)
            flow.phases.append(rules[when].phase)
        title = str(entry.get("title") or f"Flow {name}: {when}")
        message = str(entry.get("message") or f"Flow {name!r}: {_said(when)}.")
        flow.tasks.append(Task(id=_unique(f"{rules[when].phase.id}-{i + 1}", {t.id for t in flow.tasks}),
                               name=title, phase=rules[when].phase.id, enabled=True, kind="notification",
                               notification=Notification(title=title, message=message, recipients=recipients)))
    return list(rules.values())


def _said(when: str) -> str:
    return {"failed": "a phase failed", "succeeded": "it succeeded"}.get(when, f"{when} holds")


def _listed(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _when(text: str, where: str, flow: Flow) -> tuple[Condition, str]:
    """A condition such as `daily_revenue.status == user_error` (comparisons joined by `and` or by `or`) and the
    phase after which it can be told (the latest phase it looks at)."""
    parts = re.split(r"\s+(and|or)\s+", text, flags=re.IGNORECASE)
    joins = {j.lower() for j in parts[1::2]}
    if len(joins) > 1:
        raise KeboolaError(f"{where}: 'when: {text}' mixes 'and' with 'or'",
                           fix="join the comparisons with one of them")
    phase_of = {t.id: t.phase for t in flow.tasks}
    position = {p.id: i for i, p in enumerate(flow.phases)}
    compared, at = [], []
    for part in parts[0::2]:
        match = _COMPARISON.match(part.strip())
        data = DATA_VALUE.match(part.strip())
        if not match and data and data["subject"] in {t.id for t in flow.tasks}:
            raise KeboolaError(
                f"{where}: 'when: {text}' reads {data['field']!r}, a value in {data['subject']}'s data; Keboola's "
                f"conditions read a task's status and job.* values, not data",
                fix=f"make the check a SQL transformation that fails when it holds (SELECT error('{data['field']} "
                    f"{data['op']} {data['value'].strip()}') FROM <its output> WHERE {data['field']} {data['op']} "
                    f"{data['value'].strip()}), put it in a phase after {data['subject']}, and write when: failed")
        if not match:
            raise KeboolaError(f"{where}: 'when: {text}' is not failed, succeeded or a comparison",
                               fix="e.g. when: daily_revenue.status == user_error (or job.durationSeconds > 600)")
        subject, field, op, value = match["subject"], match["field"], match["op"], match["value"].strip().strip("'\"")
        if subject in phase_of:
            left: Condition = TaskRef(task=subject, value=field)
            at.append(phase_of[subject])
        elif subject in position and field == "status":
            left = PhaseRef(phase=subject, value="status")
            at.append(subject)
        else:
            raise KeboolaError(f"{where}: 'when: {text}' looks at {subject!r}, which is no task or phase of this flow",
                               fix=f"tasks: {', '.join(phase_of)}; phases: {', '.join(position)}")
        if field == "status" and value not in STATUSES:
            raise KeboolaError(f"{where}: a status is one of {', '.join(STATUSES)}, not {value!r}",
                               fix="or write when: failed")
        compared.append(Operator(operator=_OPERATORS[op], operands=[left, Const(value=_scalar(value))]))
    condition = compared[0] if len(compared) == 1 else Operator(operator=joins.pop().upper(), operands=compared)
    return condition, max(at, key=position.__getitem__)


def _scalar(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _failed(phase_id: str) -> Condition:
    status = PhaseRef(phase=phase_id, value="status")
    return Operator(operator="OR", operands=[Operator(operator="EQUALS", operands=[status, Const(value=s)])
                                             for s in ("user_error", "application_error")])


def _link(flow: Flow, ordered: list[str], rules: list[_Rule]) -> None:
    """The transitions: on each phase, to a notification phase when its rule holds (failure first, but for the last
    phase), then on to the next phase by default. A notification on a condition goes on where the flow was going."""
    for i, phase_id in enumerate(ordered):
        phase = flow.phase(phase_id)
        after = ordered[i + 1] if i + 1 < len(ordered) else None
        steps: list[Transition] = []
        for rule in rules:
            if rule.when == "failed":
                condition: Condition | None = _failed(phase_id)
            elif rule.when == "succeeded":
                condition = Operator(operator="EQUALS", operands=[PhaseRef(phase=phase_id), Const(value="success")])
                condition = condition if after is None else None
            else:
                condition = rule.condition if rule.at == phase_id else None
                if condition is not None and not rule.phase.next:
                    rule.phase.next = [Transition(id=f"{rule.phase.id}-{after or 'end'}", goto=after)]
            if condition is not None:
                steps.append(Transition(id=f"{phase_id}-{rule.phase.id}", name=f"Notify: {rule.when}",
                                        condition=condition, goto=rule.phase.id))
        # Failure first, so a failed phase never goes on through a condition's notification. After the last
        # phase every notification ends the flow: there the more specific condition (a data check's) goes first.
        steps.sort(key=lambda t: (t.name == "Notify: failed") if after is None else (t.name != "Notify: failed"))
        if steps or after is not None:
            steps.append(Transition(id=f"{phase_id}-{after or 'end'}", goto=after))
        phase.next = steps
