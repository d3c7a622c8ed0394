"""A flow's run, as Keboola runs a conditional flow: from the first phase, each phase's tasks (notifications first,
then variables, then jobs in parallel), then the first of the phase's transitions whose condition holds.

Every job task is a Job of its own whose parent is the flow's Job. A job task that fails is retried as configured
(the task's retry, else its phase's). A phase whose tasks all succeeded (or whose failures a legacy task's
continueOnFailure allows) takes its first matching transition; a failed phase takes only a transition with a
condition that holds (a condition on the failure), else the flow stops there and fails. Ran phases and their
tasks' results stay in the jobs: `resume` skips phases that succeeded in an earlier run.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ...errors import KeboolaError
from .conditions import Context, evaluate, truthy

if TYPE_CHECKING:
    from ...engine.jobs import Job
    from ...engine.runner import Run
    from .model import Flow, Phase, Retry, Task

MAX_STEPS = 1000  # a conditional loop back to an earlier phase ends here at the latest
SUCCESS, FAILED, SKIPPED = "success", "user_error", "skipped"


def run_flow(run: "Run", flow: "Flow") -> None:
    """Run the flow's phases from the first; raise naming the phase and tasks that stopped it."""
    if run.runs is None or run.configs is None:
        raise KeboolaError("a flow runs in a project: its tasks are the project's configurations",
                           fix="run it with project.run(NAME) or %keboola run NAME")
    if not flow.phases:
        raise KeboolaError(f"flow {run.config.name!r} has no phases", fix="add a phase with tasks")
    state = Context()
    by_id = {p.id: p for p in flow.phases}
    phase: "Phase | None" = flow.phases[0]
    steps = 0
    while phase is not None:
        steps += 1
        if steps > MAX_STEPS:
            raise KeboolaError(f"flow {run.config.name!r} visited {MAX_STEPS} phases: a conditional loop never ends",
                               fix="make the loop's condition turn false")
        run.where = f"running phase {phase.name or phase.id}"
        run.progress.step(steps, max(steps, len(flow.phases)), f"phase {phase.name or phase.id}")
        ok = _run_phase(run, flow, phase, state)
        state.phase_status[phase.id] = SUCCESS if ok else FAILED
        run.note(f"phase {phase.id}: {'success' if ok else 'failed'}")
        target = _transition(phase, ok, state)
        if target is _STOP:
            failed = [t for t in state.phase_tasks.get(phase.id, []) if state.task_status.get(t) == FAILED]
            raise KeboolaError(f"flow {run.config.name!r} stopped: phase {phase.name or phase.id!r} failed "
                               f"({', '.join(failed)})",
                               fix="see each task's job (%keboola job ID); a transition with a condition on the "
                                   "failure can handle it instead")
        phase = by_id.get(target) if target is not None else None


_STOP = object()


def _transition(phase: "Phase", ok: bool, state: Context) -> Any:
    """The phase to go to next (None: the flow ends well), or _STOP when a failure is not handled."""
    for transition in phase.next:
        if transition.condition is None:
            if ok:
                return transition.goto
            continue
        if truthy(evaluate(transition.condition, state)):
            return transition.goto
    return None if ok else _STOP


def _run_phase(run: "Run", flow: "Flow", phase: "Phase", state: Context) -> bool:
    tasks = flow.tasks_of(phase.id)
    for task in tasks:
        if not task.enabled:
            state.task_status[task.id] = SKIPPED
    enabled = [t for t in tasks if t.enabled]
    state.phase_tasks[phase.id] = [t.id for t in enabled]
    ok = True
    for task in (t for t in enabled if t.kind == "notification"):
        ok = _notify(run, task, state) and ok
    for task in (t for t in enabled if t.kind == "variable"):
        assert task.variable is not None
        variable = task.variable
        value = evaluate(variable.source, state) if variable.source is not None else variable.value
        state.variables[variable.name] = value
        state.task_status[task.id] = SUCCESS
        run.note(f"task {task.id}: variable {variable.name} = {value!r}")
    jobs = [t for t in enabled if t.kind == "job"]
    if jobs:
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="keboola_nb-flow") as pool:
            results = list(pool.map(lambda t: _run_job(run, t, phase.retry), jobs))
        for task, (status, job) in zip(jobs, results):
            state.task_status[task.id] = status
            if job is not None:
                state.task_jobs[task.id] = job
            if status != SUCCESS and not (task.job and task.job.continue_on_failure):
                ok = False
    return ok


def _run_job(run: "Run", task: "Task", phase_retry: "Retry | None") -> tuple[str, dict[str, Any] | None]:
    """Run the task's configuration (retrying as configured) as a child job: its status, and its job as Keboola's
    job JSON for conditions (`job.status`, `job.result...`)."""
    assert task.job is not None and run.runs is not None and run.configs is not None
    if task.job.delay:
        time.sleep(float(task.job.delay))
    if task.job.config_id is None:
        run.note(f"task {task.id}: a job without a configuration id (inline configData) cannot run here")
        return FAILED, None
    try:
        config = run.configs(task.job.config_id)
    except KeboolaError as e:
        run.note(f"task {task.id}: {e.what}")
        return FAILED, None
    retry = task.job.retry or phase_retry
    job = _with_retries(run, task, retry, lambda: run.runs(config, run.job.id))  # type: ignore[misc]
    if job is None:
        return FAILED, None
    return (SUCCESS if job.status == "success" else FAILED), {
        "id": job.id, "status": job.status, "durationSeconds": job.duration,
        "result": {"message": job.error or "", "rows": sum(job.rows.values()), "tables": job.tables}}


def _with_retries(run: "Run", task: "Task", retry: "Retry | None", start: Any) -> "Job | None":
    """The task's job, started again while it fails with an error its retry names (linear: `delay_s` apart);
    None when it could not start (a variable without a value, ...)."""
    from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_fixed

    attempts = [0]

    def attempt() -> "Job | None":
        attempts[0] += 1
        try:
            job = start()
        except KeboolaError as e:
            run.note(f"task {task.id}: {e.what}")
            return None
        again = f" (attempt {attempts[0]})" if attempts[0] > 1 else ""
        run.note(f"task {task.id}: job {job.id} {job.status}{again}")
        return job

    if retry is None:
        return attempt()
    failed = retry_if_result(lambda job: job is not None and job.status != "success"
                             and _retries(retry, job.error or ""))
    return Retrying(stop=stop_after_attempt(1 + retry.max_retries), wait=wait_fixed(retry.delay_s), retry=failed,
                    retry_error_callback=lambda state: state.outcome.result())(attempt)


def _retries(retry: "Retry", error: str) -> bool:
    """Whether a failure with this message is retried (no retryOn: every failure is)."""
    if not retry.retry_on:
        return True
    return any((kind == "errorMessageContains" and value in error) or (kind == "errorMessageExact" and value == error)
               for kind, value in retry.retry_on)


def _notify(run: "Run", task: "Task", state: Context) -> bool:
    from .notify import send

    notification = task.notification
    assert notification is not None
    details = {"flow": run.config.name, "job": run.job.id, "phases": dict(state.phase_status),
               "tasks": dict(state.task_status)}
    recipients = [{"channel": r.channel, "address": r.address} for r in notification.recipients]
    try:
        for line in send(notification.title, notification.message or "", recipients, details):
            run.note(f"task {task.id}: sent {line}")
    except KeboolaError as e:
        run.note(f"task {task.id}: {e.what}")
        state.task_status[task.id] = FAILED
        return False
    state.task_status[task.id] = SUCCESS
    return True
