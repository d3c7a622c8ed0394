"""A flow's run, as Keboola runs a conditional flow: from the first phase, each phase's tasks (notifications first,
then variables, then jobs in parallel), then the first of the phase's transitions whose condition holds.

Every job task is a Job of its own whose parent is the flow's Job. A job task that fails is retried as configured
(the task's retry, else its phase's). A phase whose tasks all succeeded (or whose failures a legacy task's
continueOnFailure allows) takes its first matching transition; a failed phase takes only a transition with a
condition that holds (a condition on the failure), else the flow stops there and fails. Ran phases and their
tasks' results stay in the jobs: `resume` skips phases that succeeded in an earlier run.

A progress with a `task_status(task_id, status)` method (ui/flow_progress.py) hears each task start ("running")
and end ("success", "failed", "skipped"), e.g. to recolour a FlowGraph while the flow runs.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import KeboolaError
from .conditions import Context, evaluate, truthy

if TYPE_CHECKING:
    from ...engine.jobs import Job, JobStore
    from ...engine.runner import Run
    from ...model.configuration import Configuration
    from .model import Flow, Phase, Retry, Task

MAX_STEPS = 1000  # a conditional loop back to an earlier phase ends here at the latest
SUCCESS, FAILED, SKIPPED = "success", "user_error", "skipped"
_RESUMING = re.compile(r"resuming job (\d+)")
_PHASE_OK = re.compile(r"phase (\S+): (?:success|skipped)")


@dataclass(frozen=True)
class Resume:
    """An earlier run of the flow to go on from: its job, the last job of each configuration its tasks ran (there
    and in the runs it resumed), and the phases it noted as succeeded (for phases without job tasks)."""

    job_id: int
    jobs: dict[str, "Job"] = field(default_factory=dict)  # configuration id -> its latest task job
    phases: frozenset[str] = frozenset()


def resume_from(jobs: "JobStore", component: Any, config: "Configuration", job_id: int) -> Resume:
    """What job `job_id` (a failed or interrupted run of this flow) finished; refused for another configuration's
    job or a successful one, before a new job starts."""
    job = jobs.get(job_id)
    if job.config_id != config.id:
        raise KeboolaError(f"job {job_id} ran {job.config_name!r}, not {config.name!r}",
                           fix=f"resume a job of {config.name!r} (%keboola jobs lists them)")
    if job.status == "success":
        raise KeboolaError(f"job {job_id} of {config.name!r} succeeded: there is nothing to resume",
                           fix="run the flow again without resume")
    done: dict[str, "Job"] = {}
    phases: set[str] = set()
    chain = [job]
    while (earlier := next((m for line in chain[-1].log if (m := _RESUMING.search(line))), None)) is not None:
        if int(earlier.group(1)) in {j.id for j in chain}:
            break
        chain.append(jobs.get(int(earlier.group(1))))
    for earlier_job in reversed(chain):  # oldest first: a later run's task job replaces an earlier one's
        for child in jobs.children(earlier_job.id):
            done[child.config_id] = child
        phases |= {m.group(1) for line in earlier_job.log if (m := _PHASE_OK.search(line))}
    return Resume(job_id, done, frozenset(phases))


def run_flow(run: "Run", flow: "Flow") -> None:
    """Run the flow's phases from the first; raise naming the phase and tasks that stopped it."""
    if run.runs is None or run.configs is None:
        raise KeboolaError("a flow runs in a project: its tasks are the project's configurations",
                           fix="run it with project.run(NAME) or %keboola run NAME")
    if not flow.phases:
        raise KeboolaError(f"flow {run.config.name!r} has no phases", fix="add a phase with tasks")
    state = Context()
    handled: list[str] = []  # failed phases a transition's condition took on (to a notification, say)
    by_id = {p.id: p for p in flow.phases}
    phase: "Phase | None" = flow.phases[0]
    steps = 0
    resume = run.resume
    if resume is not None:
        run.note(f"resuming job {resume.job_id}")
    while phase is not None:
        steps += 1
        if steps > MAX_STEPS:
            raise KeboolaError(f"flow {run.config.name!r} visited {MAX_STEPS} phases: a conditional loop never ends",
                               fix="make the loop's condition turn false")
        run.progress.step(steps, max(steps, len(flow.phases)), f"phase {phase.name or phase.id}")
        if resume is not None and _skipped(run, flow, phase, state, resume):
            phase = by_id.get(target) if (target := _transition(phase, True, state)) is not None else None
            continue
        resume = None  # from the first phase that did not succeed on, every phase runs
        run.where = f"running phase {phase.name or phase.id}"
        ok = _run_phase(run, flow, phase, state)
        state.phase_status[phase.id] = SUCCESS if ok else FAILED
        run.note(f"phase {phase.id}: {'success' if ok else 'failed'}")
        target = _transition(phase, ok, state)
        if not ok:
            failed = ", ".join(t for t in state.phase_tasks.get(phase.id, []) if state.task_status.get(t) == FAILED)
            if target is _STOP:
                raise KeboolaError(f"flow {run.config.name!r} stopped: phase {phase.name or phase.id!r} failed "
                                   f"({failed})",
                                   fix="see each task's job (%keboola job ID); a transition with a condition on the "
                                       "failure can handle it instead")
            handled.append(f"{phase.name or phase.id} ({failed})")
        phase = by_id.get(target) if target is not None else None
    if handled:  # the flow went where its conditions said, yet its work did not all succeed: cron must see that
        run.where = ""  # about the whole flow, not the phase that ran last
        raise KeboolaError(f"flow {run.config.name!r} ran to its end, but phase(s) {', '.join(handled)} failed",
                           fix="see each task's job (%keboola job ID); the flow's transitions handled the failure")


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


def _skipped(run: "Run", flow: "Flow", phase: "Phase", state: Context, resume: Resume) -> bool:
    """Whether the phase succeeded in the resumed run: then its results go into `state` as they were (variables
    computed again, notifications not sent again) and the job notes why it skipped it."""
    enabled = [t for t in flow.tasks_of(phase.id) if t.enabled]
    jobs = [t for t in enabled if t.kind == "job"]
    earlier: dict[str, "Job"] = {}
    for task in jobs:
        job = _earlier_job(run, task, resume)
        if job is None or job.status != "success":
            return False
        earlier[task.id] = job
    if not jobs and phase.id not in resume.phases:
        return False
    state.phase_tasks[phase.id] = [t.id for t in enabled]
    for task in flow.tasks_of(phase.id):
        state.task_status[task.id] = SUCCESS if task.enabled else SKIPPED
        if task.id in earlier:
            state.task_jobs[task.id] = _job_json(earlier[task.id])
        if task.enabled and task.kind == "variable":
            _set_variable(run, task, state)
        _tell(run, task.id, SKIPPED)
    state.phase_status[phase.id] = SUCCESS
    why = (f"its task job(s) {', '.join(str(j.id) for j in earlier.values())} succeeded" if earlier
           else "it succeeded")
    run.note(f"phase {phase.id}: skipped, {why} in job {resume.job_id}'s run")
    return True


def _earlier_job(run: "Run", task: "Task", resume: Resume) -> "Job | None":
    """The task's last job in the resumed run (its configuration named by id, or by name in a hand-written flow)."""
    if task.job is None or task.job.config_id is None:
        return None
    if task.job.config_id in resume.jobs:
        return resume.jobs[task.job.config_id]
    try:
        return resume.jobs.get(run.configs(task.job.config_id).id) if run.configs else None
    except KeboolaError:
        return None


def _tell(run: "Run", task_id: str, status: str) -> None:
    """Tell a progress that follows tasks (a FlowGraph's) a task's status, in the graph's words."""
    hook = getattr(run.progress, "task_status", None)
    if callable(hook):
        hook(task_id, {SUCCESS: "success", SKIPPED: "skipped", "running": "running"}.get(status, "failed"))


def _set_variable(run: "Run", task: "Task", state: Context) -> None:
    assert task.variable is not None
    variable = task.variable
    value = evaluate(variable.source, state) if variable.source is not None else variable.value
    state.variables[variable.name] = value
    state.task_status[task.id] = SUCCESS
    run.note(f"task {task.id}: variable {variable.name} = {value!r}")


def _run_phase(run: "Run", flow: "Flow", phase: "Phase", state: Context) -> bool:
    tasks = flow.tasks_of(phase.id)
    for task in tasks:
        if not task.enabled:
            state.task_status[task.id] = SKIPPED
            _tell(run, task.id, SKIPPED)
    enabled = [t for t in tasks if t.enabled]
    state.phase_tasks[phase.id] = [t.id for t in enabled]
    ok = True
    for task in (t for t in enabled if t.kind == "notification"):
        _tell(run, task.id, "running")
        ok = _notify(run, task, state) and ok
        _tell(run, task.id, state.task_status[task.id])
    for task in (t for t in enabled if t.kind == "variable"):
        _tell(run, task.id, "running")
        _set_variable(run, task, state)
        _tell(run, task.id, SUCCESS)
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
    _tell(run, task.id, "running")
    status, job = _run_task_job(run, task, phase_retry)
    _tell(run, task.id, status)
    return status, job


def _run_task_job(run: "Run", task: "Task", phase_retry: "Retry | None") -> tuple[str, dict[str, Any] | None]:
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
    return (SUCCESS if job.status == "success" else FAILED), _job_json(job)


def _job_json(job: "Job") -> dict[str, Any]:
    """A task's job as Keboola's job JSON, for conditions (`job.status`, `job.result.output.tables`, ...)."""
    return {"id": job.id, "status": job.status, "durationSeconds": job.duration,
            "result": {"message": job.error or "", "rows": sum(job.rows.values()),
                       "output": {"tables": job.tables}}}


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
        smtp = run.settings.smtp() if run.settings is not None else {}
        for line in send(notification.title, notification.message or "", recipients, details, smtp):
            run.note(f"task {task.id}: sent {line}")
    except KeboolaError as e:
        run.note(f"task {task.id}: {e.what}")
        state.task_status[task.id] = FAILED
        return False
    state.task_status[task.id] = SUCCESS
    return True
