"""A flow checked as Keboola would run it, every problem at once: a flow is edited as a whole, so one error
listing all of them saves a round trip per problem."""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable
from urllib.parse import urlparse

from ...errors import KeboolaError
from . import conditions
from .conditions import Condition, Malformed, Operator, PhaseRef, TaskRef
from .model import Flow, Task, default_next

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check(flow: Flow, config_exists: Callable[[str, str], bool] | None = None, *, name: str = "the flow") -> None:
    """Raise one KeboolaError listing every problem of `flow`; `config_exists(component_id, config_id)` says whether
    a job task's configuration is in the project (None: not asked, the structure only)."""
    found = problems(flow, config_exists)
    if found:
        listed = "\n".join(f"  - {p}" for p in found)
        raise KeboolaError(f"{name} has {len(found)} problem(s):\n{listed}",
                           fix="correct these in the flow and save it again")


def problems(flow: Flow, config_exists: Callable[[str, str], bool] | None = None) -> list[str]:
    out: list[str] = []
    phase_ids, task_ids = flow.phase_ids, [t.id for t in flow.tasks]
    out += [f"two or more phases have the id {i!r}; each phase needs its own" for i, n in Counter(phase_ids).items()
            if n > 1]
    out += [f"two or more tasks have the id {i!r}; each task needs its own" for i, n in Counter(task_ids).items()
            if n > 1]
    if not flow.phases:
        out.append("the flow has no phases")
    known_phases, known_tasks = set(phase_ids), set(task_ids)
    for task in flow.tasks:
        if task.phase not in known_phases:
            out.append(f"task {task.id!r} is in phase {task.phase!r}, which the flow does not have "
                       f"(phases: {', '.join(phase_ids) or 'none'})")
    out += _transitions(flow, known_phases)
    out += _unreachable(flow)
    out += _loops(flow)
    for task in flow.tasks:
        out += _task(task, config_exists)
    for where, condition in _conditions(flow):
        out += _condition(where, condition, known_phases, known_tasks)
    return out


def _transitions(flow: Flow, known: set[str]) -> list[str]:
    out = []
    for phase in flow.phases:
        for transition in phase.next:
            if transition.goto is not None and transition.goto not in known:
                out.append(f"transition {transition.id!r} of phase {phase.id!r} goes to phase {transition.goto!r}, "
                           f"which the flow does not have")
        default = default_next(phase)
        if default is not None and default is not phase.next[-1]:
            later = ", ".join(repr(t.id) for t in phase.next[phase.next.index(default) + 1:])
            out.append(f"phase {phase.id!r}: transition(s) {later} come after the default transition {default.id!r} "
                       f"(the one without a condition), so they are never taken; put the default last")
    return out


def _unreachable(flow: Flow) -> list[str]:
    if not flow.phases:
        return []
    by_id = {p.id: p for p in flow.phases}
    seen, todo = set(), [flow.phases[0].id]
    while todo:
        here = todo.pop()
        if here in seen or here not in by_id:
            continue
        seen.add(here)
        todo += [t.goto for t in by_id[here].next if t.goto is not None]
    return [f"phase {p.id!r} is never reached: no transition leads to it from the first phase {flow.phases[0].id!r}"
            for p in flow.phases if p.id not in seen]


def _loops(flow: Flow) -> list[str]:
    """Cycles through default transitions: a run would go round them for ever. A loop back is fine when a
    condition guards it (that transition is conditional)."""
    by_id = {p.id: p for p in flow.phases}
    step: dict[str, str] = {}
    for phase in flow.phases:
        default = default_next(phase)
        if default is not None and default.goto in by_id:
            step[phase.id] = default.goto
    out, reported = [], set()
    for start in step:
        path, here = [], start
        while here in step and here not in path:
            path.append(here)
            here = step[here]
        if here in path:
            loop = path[path.index(here):]
            if frozenset(loop) not in reported:
                reported.add(frozenset(loop))
                out.append(f"phases {' -> '.join(loop + [loop[0]])} loop through default transitions (without a "
                           f"condition), so a run would never end; a transition back to an earlier phase needs a "
                           f"condition that stops holding")
    return out


def _task(task: Task, config_exists: Callable[[str, str], bool] | None) -> list[str]:
    where = f"task {task.id!r}"
    if task.kind == "job" and task.job is not None:
        job = task.job
        if not job.config_id:
            return [f"{where} runs {job.component_id} without a configId"]
        if config_exists is not None and not config_exists(job.component_id, job.config_id):
            return [f"{where} runs configuration {job.config_id!r} of {job.component_id}, which is not in this project"]
        return []
    if task.kind == "notification" and task.notification is not None:
        recipients = task.notification.recipients
        if not recipients:
            return [f"{where} is a notification without recipients; give an email address or a webhook URL"]
        return [p for r in recipients if (p := _recipient(where, r.channel, r.address))]
    if task.kind == "variable" and task.variable is not None:
        if task.variable.value is None and task.variable.source is None:
            return [f"{where} sets variable {task.variable.name!r} without a value or a source"]
    return []


def _recipient(where: str, channel: str, address: str) -> str | None:
    if channel == "email":
        return None if _EMAIL.match(address) else f"{where}: {address!r} is not an email address"
    if channel == "webhook":
        url = urlparse(address)
        ok = url.scheme in ("http", "https") and bool(url.netloc)
        return None if ok else f"{where}: {address!r} is not a webhook URL (http:// or https://)"
    return f"{where}: recipient channel {channel!r} is neither email nor webhook"


def _conditions(flow: Flow) -> list[tuple[str, Condition]]:
    found = [(f"transition {t.id!r} of phase {p.id!r}", t.condition) for p in flow.phases for t in p.next
             if t.condition is not None]
    found += [(f"variable task {t.id!r}", t.variable.source) for t in flow.tasks
              if t.variable is not None and t.variable.source is not None]
    return found  # type: ignore[return-value]


def _condition(where: str, condition: Condition, phases: set[str], tasks: set[str], star: bool = False) -> list[str]:
    if isinstance(condition, Malformed):
        return [f"the condition of {where} is malformed: {condition.problem}"]
    out = []
    if isinstance(condition, PhaseRef) and condition.phase not in phases:
        out.append(f"the condition of {where} looks at phase {condition.phase!r}, which the flow does not have")
    if isinstance(condition, TaskRef):
        if condition.task == conditions.EVERY_TASK and not star:
            out.append(f"the condition of {where} names task '*' outside ALL_TASKS_IN_PHASE / ANY_TASKS_IN_PHASE")
        elif condition.task != conditions.EVERY_TASK and condition.task not in tasks:
            out.append(f"the condition of {where} looks at task {condition.task!r}, which the flow does not have")
    inner = star
    if isinstance(condition, Operator):
        if condition.phase is not None and condition.phase not in phases:
            out.append(f"the condition of {where} ({condition.operator}) looks at phase {condition.phase!r}, "
                       f"which the flow does not have")
        inner = star or condition.operator in (*conditions.IN_PHASE, "ANY_TASKS_IN_ANY_PHASE")
    for operand in getattr(condition, "operands", []):
        out += _condition(where, operand, phases, tasks, inner)
    return out
