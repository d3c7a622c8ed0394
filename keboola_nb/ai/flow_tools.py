"""The assistant's flow tools: thin calls into `project.flows` and the flow component, compact JSON out.

`create_flow` takes the `%%keboola flow` shorthand, shows a card (phases, notifications, schedule in words, the
Keboola JSON) and saves only what the user confirms. `explain_flow` and `suggest_flow_improvements` read what the
project knows (configurations, storage, sources, the last run); `debug_job` gathers what a failed job's fix needs
(error, log, configuration, the SQL around the line the error names); the fix goes through the create_* tools.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..components.flow.conditions import describe
from ..errors import KeboolaError
from .context import Draft, Proposal, ToolContext
from .toolbox import tool
from .tools import ACTOR, PREVIEW_ROWS, check_new, confirmed

if TYPE_CHECKING:
    from ..components.flow.model import Flow, Task
    from ..engine.jobs import Job
    from ..model.configuration import Configuration
    from ..model.transformation import Mapping
    from ..rehearsal import Rehearsal

NEXT_RUNS = 3
LOG_LINES = 15  # last lines of a job's log the model sees
CODE_CONTEXT = 3  # lines either side of the line an error names
BIG_TABLE_ROWS = 1_000_000  # a transformation input this large is worth filtering
_UPDATED = re.compile(r"^(updated|modified|changed|last_modified|last_updated|last_changed)(_at|_on|_time|_ts|_date)?$"
                      r"|_(updated|modified|changed)_at$", re.IGNORECASE)
_AT_LINE = re.compile(r"(?:block (?P<block>'[^']*'|\"[^\"]*\"), code (?P<code>'[^']*'|\"[^\"]*\"), )?"
                      r"line (?P<line>\d+)")

Phases = Annotated[list[dict[str, Any]], "in run order: {phase_name: [configuration names]} (its tasks run in "
                                         "parallel), or {id, tasks, depends_on}"]
Notify = Annotated[list[dict[str, Any]] | None, "[{when: failed | succeeded | 'TASK.status == user_error', "
                                                "email: ADDRESS | webhook: URL}]"]


class NewConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: Literal["create_extractor", "create_file_extractor", "create_transformation", "create_writer"]
    arguments: Annotated[dict[str, Any], "that tool's arguments"]


New = Annotated[list[NewConfiguration] | None, "configurations the phases name that do not exist yet, in the order "
                                               "they run; all are run once on a sample of their sources, shown in "
                                               "this one card and created with the flow"]


@tool(changes=True)
def create_flow(
    ctx: ToolContext,
    name: Annotated[str, "flow name, e.g. daily-revenue"],
    phases: Phases,
    notify: Notify = None,
    schedule: Annotated[str | None, "5-field cron, e.g. '0 1 * * *'"] = None,
    timezone: Annotated[str, "IANA name, e.g. Europe/Prague"] = "UTC",
    new: New = None,
    replace: Annotated[bool, "save as a new version of an existing flow"] = False,
) -> dict[str, Any]:
    """Propose a flow (phases run one after another, a phase's tasks in parallel), with the new configurations it
    needs; the user sees one card (graph, phases, notifications, schedule, JSON) and creates it all. A data check
    Keboola has no construct for (e.g. revenue dropped > 10%) is a SQL transformation without outputs that fails
    when the check holds (DuckDB: SELECT error('revenue dropped ...') FROM ... WHERE <drop>), in its own phase
    after the data it checks, with notify [{when: failed, email: ...}]."""
    from .. import components
    from ..rehearsal import Rehearsal
    from ..ui.flow_picture import flow_picture

    check_new(ctx.project, name, replace)
    body: dict[str, Any] = {"phases": phases}
    if notify:
        body["notify"] = notify
    if schedule:
        body |= {"schedule": schedule, "timezone": timezone}
    drafts: list[Draft] = []
    preview = None
    if new:
        with Rehearsal(ctx.project) as rehearsal:
            for index, part in enumerate(new, 1):
                draft, made = _rehearsed(rehearsal, part, f"new configuration {index} ({part.tool})")
                drafts.append(draft)
                if made and preview is None and draft.kind == "transformation":
                    preview = rehearsal.project.storage.preview(made[0], PREVIEW_ROWS)
            # Built there too: a data check finds its column among the tables the rehearsal made.
            config, planned, checks = rehearsal.project.flows.build(name, body, [d.config for d in drafts])
    else:
        config, planned, checks = ctx.project.flows.build(name, body)
    flow = components.get(config.component_id).flow_of(config)
    overview: list[tuple[str, str]] = []
    if drafts:
        overview.append(("Creates", ", ".join([f"{d.kind} {d.config.name}" for d in drafts]
                                              + [f"transformation {c.name}" for c in checks] + [f"flow {name}"])))
    for draft in drafts:
        overview.append((f"New {draft.kind}", draft.config.name))
        overview += [(f"  {label}", value) for label, value in draft.overview if label != "Component"]
    for check in checks:
        overview.append(("New transformation", f"{check.name}: {check.description}"))
    overview.append(("Component", config.component_id))
    for i, phase_id in enumerate(_run_order(flow), 1):
        phase = flow.phase(phase_id)
        tasks = ", ".join(f"{t.name} ({ctx.project.flows.kind_of(t)})" for t in flow.tasks_of(phase_id))
        overview.append((f"Phase {i}: {phase.name or phase.id}", tasks or "no tasks"))
    for phase in flow.phases:
        for transition in phase.next:
            if transition.condition is not None:
                overview.append((f"After {phase.name or phase.id}", f"if {describe(transition.condition)}: "
                                                                     f"{transition.goto or 'end'}"))
    for task in flow.tasks:
        if task.notification is not None:
            to = ", ".join(f"{r.channel} to {r.address}" for r in task.notification.recipients)
            overview.append(("Notification", f"{task.notification.title}: {to}"))
    if planned is not None:
        overview.append(("Schedule", planned.summary(NEXT_RUNS)))
    data = config.to_json()
    if drafts or checks:
        data = {"configurations": [c.to_json() for c in [*(d.config for d in drafts), *checks]], "flow": data}
    draft_text = json.dumps(data, indent=2, ensure_ascii=False)
    parts = len(drafts) + len(checks)
    title = f"Create flow {name}" + (f" and {parts} configuration(s)" if parts else "")
    picture = flow_picture(*ctx.project.flows.drawing_of(config))
    _, draft_id = confirmed(ctx, Proposal("create_flow", title, "Create", overview, preview, draft_text,
                                          picture=picture), name, config.component_id)
    created = _save_all(ctx, drafts)
    try:
        saved = ctx.project.flows.save(config, planned, checks, replace=replace, actor=ACTOR)  # as the card showed
    except Exception:
        _undo(ctx, created)
        raise
    ctx.conversations.set_draft_state(draft_id, "created")
    result: dict[str, Any] = {"created": True, "name": saved.name, "id": saved.id, "version": saved.version,
                              "phases": [p for p, _ in overview if p.startswith("Phase")],
                              "schedules": [s.describe() for s in ctx.project.flows.schedules(saved.name)]}
    if created:
        result["configurations"] = [{"name": c.name, "id": c.id, "component": c.component_id} for c in created]
    result["summary"] = (f"created flow {saved.name} (version {saved.version})"
                         + (f" and {', '.join(c.name for c in created)}" if created else "")
                         + "; run it with run_configuration")
    return result


def _rehearsed(rehearsal: "Rehearsal", part: NewConfiguration, where: str) -> tuple[Draft, list[str]]:
    """A new configuration of a proposed flow, built against the rehearsal's storage; an extractor's tables stood
    in for by rows of its sources, a SQL transformation run on them. Also: the tables it made there."""
    from .toolbox import first_errors, make_tool
    from .tools import (
        create_extractor,
        create_file_extractor,
        create_writer,
        draft_extractor,
        draft_file_extractor,
        draft_writer,
    )
    from .transformation_tools import create_transformation, draft_transformation

    tools = {f.__name__: f for f in (create_extractor, create_file_extractor, create_transformation, create_writer)}
    try:  # checked as that tool checks its arguments
        args = make_tool(tools[part.tool]).arguments.model_validate(part.arguments)
    except ValidationError as e:
        raise KeboolaError(f"{where}: invalid arguments: {first_errors(e)}") from None
    a = {k: getattr(args, k) for k in type(args).model_fields}
    if a.get("replace"):
        raise KeboolaError(f"{where}: a flow's new configurations are new", fix="leave replace out; change an "
                                                                                "existing one with its create_* tool")
    scratch, rows = rehearsal.project, rehearsal.rows
    try:
        if part.tool == "create_extractor":
            draft = draft_extractor(scratch, a["name"], a["connection"], a["tables"], False, sample_rows=rows)
        elif part.tool == "create_file_extractor":
            draft = draft_file_extractor(scratch, a["name"], a["connection"], a["files"], False, sample_rows=rows)
        elif part.tool == "create_writer":
            tables = [t.table for t in a["tables"]]
            later = {t: rehearsal.not_made[t] for t in tables if t in rehearsal.not_made}
            if later:
                table, maker = next(iter(later.items()))
                raise KeboolaError(f"{table} is made by {maker}, whose code runs only after you confirm, so the "
                                   f"writer cannot take its columns yet",
                                   fix=f"create the writer after the flow's first run, or write {maker} in SQL")
            rehearsal.bring(tables)
            draft = draft_writer(scratch, a["name"], a["connection"], a["tables"], a["schema_name"], False)
        else:
            def draft_it() -> Draft:
                return draft_transformation(scratch, a["language"], a["name"], a["code"], a["inputs"], a["outputs"],
                                            a["dialect"], a["packages"], a["variables"], False)

            draft = draft_it()
            sources = [i.source for i in _mapping(draft.config).inputs]
            if any(source not in rehearsal.stood_in for source in sources):
                rehearsal.bring(sources)
                draft = draft_it()  # checked again, now against every input's columns
    except KeboolaError as e:
        raise KeboolaError(f"{where}: {e.what}", fix=e.fix) from None
    for table_id, sample in draft.outputs.items():
        rehearsal.stand_in(table_id, sample)
    mapping = _mapping(draft.config)
    outputs = [o.destination for o in mapping.outputs]
    if draft.runnable is None or not outputs:  # Python, or a check: it makes nothing that later parts need now
        rehearsal.not_made |= {table: draft.config.name for table in outputs}
        if draft.runnable is None and draft.kind == "transformation":
            draft.overview.append(("Note", "its code runs only after you confirm: it was not run on a sample"))
        return draft, list(draft.outputs)
    waiting = [i.source for i in mapping.inputs if i.source in rehearsal.not_made]
    if waiting:  # its input comes from code that has not run: not run either
        rehearsal.not_made |= {table: draft.config.name for table in outputs}
        draft.overview.append(("Note", f"not run on a sample: it reads {waiting[0]}, which "
                                       f"{rehearsal.not_made[waiting[0]]} makes once you confirm"))
        return draft, []
    return draft, rehearsal.run(draft.runnable)


def _mapping(config: "Configuration") -> "Mapping":
    """A drafted configuration's storage input and output tables (an extractor's and a writer's: none)."""
    from ..model.transformation import mapping_of

    return mapping_of(config.configuration, config.name)


def _save_all(ctx: ToolContext, drafts: list[Draft]) -> list["Configuration"]:
    """Save the drafts in order; if one fails, remove those saved before it (all or none)."""
    saved: list["Configuration"] = []
    try:
        for draft in drafts:
            saved.append(draft.save(draft.config, False))
    except Exception:
        _undo(ctx, saved)
        raise
    return saved


def _undo(ctx: ToolContext, saved: list["Configuration"]) -> None:
    for config in reversed(saved):
        ctx.project.configs.delete(config.id, actor=ACTOR)


@tool()
def explain_flow(ctx: ToolContext, name: Annotated[str, "flow name or id"]) -> dict[str, Any]:
    """A flow's phases in run order, transitions with their conditions, each task's kind and what it reads and
    writes, its schedules, and the last run's status per task."""
    config, flow = ctx.project.flows.get(name)
    last = ctx.project.jobs.last(config.id)
    statuses = _task_statuses(ctx, flow, last) if last is not None else {}
    phases = []
    for phase_id in _run_order(flow):
        phase = flow.phase(phase_id)
        entry: dict[str, Any] = {"phase": phase.name or phase.id, "tasks": [_task(ctx, t, statuses)
                                                                             for t in flow.tasks_of(phase_id)]}
        if phase.next:
            entry["then"] = [f"if {describe(t.condition)}: {t.goto or 'end'}" if t.condition is not None
                             else f"otherwise: {t.goto or 'end'}" for t in phase.next]
        else:
            entry["then"] = ["end"]
        phases.append(entry)
    schedules = []
    for schedule in ctx.project.flows.schedules(config.name):
        runs = schedule.next_runs_text(NEXT_RUNS) if schedule.enabled else []
        schedules.append({"when": schedule.describe(), "cron": schedule.cron, "next": runs})
    result: dict[str, Any] = {"name": config.name, "component": config.component_id, "version": config.version,
                              "phases": phases, "schedules": schedules}
    if last is not None:
        result["last_run"] = {"job_id": last.id, "status": last.status, "started": last.started.isoformat(),
                              "error": last.error}
    ran = f"last run {last.status} (job {last.id})" if last is not None else "never run"
    result["summary"] = f"{config.name}: {len(phases)} phase(s), {len(flow.tasks)} task(s), {ran}"
    return result


@tool()
def suggest_flow_improvements(ctx: ToolContext, name: Annotated[str, "flow name or id"]) -> dict[str, Any]:
    """Concrete improvements to a flow's configurations: full loads that could be incremental, incremental writes
    without a primary key, phases that could run in parallel, big inputs read whole."""
    from .. import components

    _, flow = ctx.project.flows.get(name)
    suggestions: list[dict[str, str]] = []
    io: dict[str, tuple[set[str], set[str]] | None] = {}
    seen: set[str] = set()
    for task in flow.tasks:
        config = ctx.project.flows.config_of(task)
        if config is None:
            continue
        io[task.id] = _reads_writes(config)
        if config.id in seen:
            continue
        seen.add(config.id)
        kind = components.get(config.component_id).type
        if kind == "extractor":
            suggestions += _extractor_suggestions(ctx, config)
        elif kind == "writer":
            suggestions += _writer_suggestions(ctx, config)
        elif kind == "transformation":
            suggestions += _input_suggestions(ctx, config)
    suggestions += _parallel_suggestions(flow, io)
    return {"suggestions": suggestions, "summary": f"{len(suggestions)} suggestion(s)"}


@tool()
def debug_job(ctx: ToolContext, job_id: int) -> dict[str, Any]:
    """What a failed job's fix needs: its error, last log lines, the configuration (secrets as references) and,
    for SQL, the line the error names with the code around it; for a flow's job, this for each failed task. Fix
    it with the create_* tools (replace=true)."""
    job = ctx.project.jobs.get(job_id)
    children = ctx.project.jobs.children(job.id)
    if ctx.project.flows.is_flow(job.component_id) or children:
        failed = [c for c in children if c.status == "error"]
        result: dict[str, Any] = {"id": job.id, "flow": job.config_name, "status": job.status, "error": job.error,
                                  "tasks": [{"job_id": c.id, "config": c.config_name, "status": c.status}
                                            for c in children],
                                  "failed_tasks": [_debugged(ctx, c) for c in failed]}
        if not failed:
            result["log"] = job.log[-LOG_LINES:]
        names = ", ".join(c.config_name for c in failed) or "none"
        result["summary"] = f"flow job {job.id}: {job.status}; failed tasks: {names}"
        return result
    result = _debugged(ctx, job)
    result["summary"] = f"job {job.id} {job.config_name}: {job.status}" + (
        f" at {result['at_error']['where']}" if "at_error" in result else "")
    return result


# reading a flow --------------------------------------------------------------------------------------------
def _run_order(flow: "Flow") -> list[str]:
    """The phases a run visits when nothing fails, then those reached only by a condition (notifications)."""
    from ..components.flow.model import order

    ordered = order(flow)
    return ordered + [p for p in flow.phase_ids if p not in ordered]


def _task(ctx: ToolContext, task: "Task", statuses: dict[str, str]) -> dict[str, Any]:
    from ..builder import routes

    entry: dict[str, Any] = {"task": task.name, "kind": ctx.project.flows.kind_of(task)}
    if not task.enabled:
        entry["enabled"] = False
    if task.notification is not None:
        entry["sends"] = [f"{r.channel} to {r.address}" for r in task.notification.recipients]
    elif task.variable is not None:
        entry["sets"] = f"variable {task.variable.name}"
    elif task.job is not None:
        config = ctx.project.flows.config_of(task)
        if config is None:
            entry["config"] = f"{task.job.component_id}/{task.job.config_id} (not in this project)"
        else:
            entry["config"] = config.name
            if entry["kind"] in ("extractor", "writer", "transformation"):
                try:
                    entry["routes"] = [f"{row}: {source} -> {target}" for row, source, target in routes(config)]
                except KeboolaError as e:
                    entry["routes"] = f"not readable: {e.what}"
    if task.id in statuses:
        entry["last_run"] = statuses[task.id]
    return entry


def _task_statuses(ctx: ToolContext, flow: "Flow", job: "Job") -> dict[str, str]:
    """Each task's part in the flow's job: its child job's status, a notification's log line, or not run."""
    children: dict[str, list["Job"]] = {}
    for child in ctx.project.jobs.children(job.id):
        children.setdefault(child.config_id, []).append(child)
    statuses = {}
    for task in flow.tasks:
        ran = children.get(task.job.config_id or "", []) if task.job is not None else []
        said = [line.split(f"task {task.id}: ", 1)[1] for line in job.log if f"task {task.id}: " in line]
        if ran:
            statuses[task.id] = f"{ran[-1].status} (job {ran[-1].id})" + (
                f" after {len(ran)} attempts" if len(ran) > 1 else "")
        elif said:
            statuses[task.id] = said[-1]
        else:
            statuses[task.id] = "did not run"
    return statuses


# suggestions --------------------------------------------------------------------------------------------
def _reads_writes(config: "Configuration") -> tuple[set[str], set[str]] | None:
    """The storage tables a configuration reads and writes (None: not known, e.g. a nested flow)."""
    from .. import components

    component = components.get(config.component_id)
    try:
        if component.type == "transformation":
            mapping = component.checked(config).mapping
            return {i.source for i in mapping.inputs}, {o.destination for o in mapping.outputs}
        if component.type == "extractor":
            return set(), {str(line["output_table"]) for line in component.summary(config)}
        if component.type == "writer":
            return {str(line["table"]) for line in component.summary(config)}, set()
    except KeboolaError:
        return None
    return None


def _row_parameters(config: "Configuration") -> list[tuple[str, dict[str, Any]]]:
    """Each enabled row's parameters, merged over the configuration's as Keboola merges them."""
    return [(row.name, config.merged(row).get("parameters") or {}) for row in config.rows if not row.is_disabled]


def _extractor_suggestions(ctx: ToolContext, config: "Configuration") -> list[dict[str, str]]:
    found = []
    for row, p in _row_parameters(config):
        table = p.get("table")
        if not isinstance(table, dict) or p.get("incrementalFetchingColumn"):
            continue
        source = f"{table.get('schema')}.{table.get('tableName')}"
        columns, key = _source_columns(ctx, p)
        key = list(p.get("primaryKey") or []) or key
        updated = [c for c, t in columns.items() if _UPDATED.search(c) and re.search(r"time|date", t, re.I)]
        if not key or not updated:
            continue
        found.append({"config": config.name, "row": row, "kind": "extractor",
                      "finding": f"{source} is loaded in full on every run; it has primary key {', '.join(key)} "
                                 f"and {updated[0]} ({columns[updated[0]]})",
                      "change": f"set incremental_fetching_column: {updated[0]} (with incremental: true, primary "
                                f"key {', '.join(key)}) so each run reads only changed rows and upserts them"})
    return found


def _source_columns(ctx: ToolContext, params: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A row's source table's columns (name -> type) and primary key: from its connection when one matches the
    row's db node, else from the storage table it loads."""
    table, db = params["table"], params.get("db") or {}
    same = ("host", "port", "database", "user")
    for name in ctx.project.connections.names():
        conn = ctx.project.connections.get(name)
        if not all(str(conn.db.get(k)) == str(db.get(k)) for k in same):
            continue
        try:
            described = conn.describe(f"{table.get('schema')}.{table.get('tableName')}")
        except Exception:  # noqa: BLE001 (an unreachable source: what storage holds will do)
            break
        types = dict(zip(described["column"], map(str, described["type"])))
        key = list(described.loc[described["primary_key"].astype(bool), "column"]) \
            if "primary_key" in described else []
        return types, key
    try:
        meta = ctx.project.storage.metadata(str(params.get("outputTable")))
    except KeboolaError:
        return {}, []
    return dict(meta["columns"]), list(meta.get("primary_key") or [])


def _writer_suggestions(ctx: ToolContext, config: "Configuration") -> list[dict[str, str]]:
    from .. import components

    if "bigquery" in config.component_id:  # BigQuery's incremental load appends: it takes no primary key
        return []
    found = []
    for line in components.get(config.component_id).summary(config):
        if not str(line.get("load", "")).startswith("incremental") or line.get("primary_key"):
            continue
        try:
            key = list(ctx.project.storage.metadata(str(line["table"])).get("primary_key") or [])
        except KeboolaError:
            key = []
        hint = f"primary_key: [{', '.join(key)}] (the storage table's key)" if key else \
            "a primary_key of columns that identify a row"
        found.append({"config": config.name, "row": str(line["row"]), "kind": "writer",
                      "finding": f"{line['table']} is written incrementally to {line.get('target')} without a "
                                 f"primary key: every run appends its rows again",
                      "change": f"set {hint}, or write it in full"})
    return found


def _input_suggestions(ctx: ToolContext, config: "Configuration") -> list[dict[str, str]]:
    from .. import components

    try:
        inputs = components.get(config.component_id).checked(config).mapping.inputs
    except KeboolaError:
        return []
    found = []
    for i in inputs:
        if i.columns or getattr(i, "where_column", "") or i.changed_since:
            continue
        try:
            meta = ctx.project.storage.metadata(i.source)
        except KeboolaError:
            continue
        rows = meta.get("rows") or 0
        if rows < BIG_TABLE_ROWS:
            continue
        found.append({"config": config.name, "row": i.destination or i.source, "kind": "transformation",
                      "finding": f"input {i.source} ({rows:,} rows, {len(meta['columns'])} columns) is read whole",
                      "change": "set the input's columns to those the code uses, a where_column/where_values "
                                "filter, or changed_since: adaptive to read only new rows"})
    return found


def _parallel_suggestions(flow: "Flow", io: dict[str, tuple[set[str], set[str]] | None]) -> list[dict[str, str]]:
    """Consecutive phases (only a failure notification in between) where neither reads what the other writes."""
    ordered = _run_order(flow)
    notifying = {p.id for p in flow.phases if flow.tasks_of(p.id)
                 and all(t.kind == "notification" for t in flow.tasks_of(p.id))}
    found = []
    for here, there in zip(ordered, ordered[1:]):
        if here in notifying or there in notifying:
            continue
        if any(t.condition is not None and t.goto not in notifying for t in flow.phase(here).next):
            continue  # a condition chooses where to go: the order matters
        first, second = flow.tasks_of(here), flow.tasks_of(there)
        if not first or not second or any(t.kind != "job" or io.get(t.id) is None for t in first + second):
            continue
        (reads_first, writes_first), (reads_second, writes_second) = _tables_of(first, io), _tables_of(second, io)
        if reads_second & writes_first or reads_first & writes_second or writes_first & writes_second:
            continue
        names = ", ".join(t.name for t in second)
        found.append({"config": "(the flow)", "row": f"phases {here} and {there}", "kind": "flow",
                      "finding": f"{names} in phase {there} read nothing that phase {here} "
                                 f"({', '.join(t.name for t in first)}) writes, yet wait for it",
                      "change": f"move {names} into phase {here} so they run in parallel"})
    return found


def _tables_of(tasks: list["Task"], io: dict[str, tuple[set[str], set[str]] | None]) -> tuple[set[str], set[str]]:
    """The tables the tasks read, and those they write, together (each task's `io` known)."""
    known = [io[t.id] for t in tasks]
    return set().union(*(k[0] for k in known if k)), set().union(*(k[1] for k in known if k))


# debugging ----------------------------------------------------------------------------------------------
def _debugged(ctx: ToolContext, job: "Job") -> dict[str, Any]:
    result: dict[str, Any] = {"id": job.id, "config": job.config_name, "component": job.component_id,
                              "status": job.status, "error": job.error, "log": job.log[-LOG_LINES:]}
    config = ctx.project.configs.find(job.config_id)
    if config is None:
        result["configuration"] = "no longer in the project"
        return result
    data = config.to_json()
    result["configuration"] = {k: data[k] for k in ("componentId", "id", "name", "version", "configuration", "rows")
                               if data.get(k) not in (None, [], "")}
    if job.error:
        around = _code_at_error(config, job.error)
        if around is not None:
            result["at_error"] = around
    return result


def _code_at_error(config: "Configuration", error: str) -> dict[str, Any] | None:
    """For a SQL transformation, the line the error names and the lines around it, numbered as the error
    numbers them (each code's script from its first non-empty line)."""
    from .. import components
    from ..model.transformation import script_of

    component = components.get(config.component_id)
    match = _AT_LINE.search(error)
    if component.type != "transformation" or getattr(component, "language", "sql") != "sql" or match is None:
        return None
    try:
        scripts = [(where, text.strip("\n").rstrip()) for where, text in script_of(component.checked(config).blocks)]
    except KeboolaError:
        return None
    scripts = [(where, text) for where, text in scripts if text]
    if match["block"]:
        wanted = f"block {match['block']}, code {match['code']}"
        scripts = [(where, text) for where, text in scripts if where == wanted]
    line = int(match["line"])
    candidates = [(where, text.splitlines()) for where, text in scripts if line <= len(text.splitlines())]
    if not candidates or (not match["block"] and len(scripts) != 1):
        return None  # without a block and code, a line is a line of the only code
    where, lines = candidates[0]
    first, last = max(1, line - CODE_CONTEXT), min(len(lines), line + CODE_CONTEXT)
    shown = "\n".join(f"{n:>4}{'>' if n == line else ' '} {lines[n - 1]}" for n in range(first, last + 1))
    place = f"{where}, line {line}" if match["block"] else f"line {line}"
    return {"where": place, "line": line, "text": lines[line - 1], "code": shown}


FLOW_TOOLS = [create_flow, explain_flow, suggest_flow_improvements, debug_job]
