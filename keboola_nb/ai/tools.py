"""The assistant's tools: thin calls into the core API, compact JSON out.

Few and coarse on purpose: every definition is sent with every request. Details (a component's rules)
come from `component_help` when the model needs them. Tools marked `changes=True` show a card and wait
for the user's confirmation; everything they do is recorded as the assistant's in the audit log.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict

from ..errors import KeboolaError, notices
from .context import Declined, Draft, Proposal, ToolContext
from .toolbox import tool

if TYPE_CHECKING:
    import pandas as pd

    from ..model.configuration import Configuration
    from ..project import Project
    from .context import Decision

ACTOR = "assistant"
PREVIEW_ROWS = 5


class TableEntry(BaseModel):
    model_config = ConfigDict(extra="allow")  # a component's own keys (component_help lists them) pass through
    table: Annotated[str | None, "schema.table (BigQuery: dataset.table)"] = None
    query: Annotated[str | None, "a SELECT instead of a table; needs name"] = None
    name: Annotated[str | None, "output table name"] = None
    incremental_fetching_column: Annotated[str | None, "timestamp or increasing id; only new rows are read"] = None
    primary_key: Annotated[list[str] | None, "defaults to the source's primary key"] = None
    columns: Annotated[list[str] | None, "defaults to all columns"] = None


def rows_of(frame: "pd.DataFrame", limit: int | None = None) -> dict[str, Any]:
    """A DataFrame as {columns, rows} with JSON-safe values (decimals and dates as text)."""
    part = frame if limit is None else frame.head(limit)
    rows = [[_plain(v) for v in record] for record in part.itertuples(index=False, name=None)]
    return {"columns": [str(c) for c in part.columns], "rows": rows}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return None if isinstance(value, float) and value != value else value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


# reading -------------------------------------------------------------------------------------------
@tool()
def list_connections(ctx: ToolContext) -> list[dict[str, Any]]:
    """The project's named source connections (kind, target, how the secret is stored)."""
    return ctx.project.connections.list().to_dict("records")


@tool()
def test_connection(ctx: ToolContext, name: Annotated[str, "connection name"]) -> dict[str, Any]:
    """Test a connection; on failure says the cause (auth, network, missing database, ...) and the fix."""
    d = ctx.project.connections.get(name).test()
    return {"ok": d.ok, "problem": d.problem, "message": d.message, "fix": d.fix, "details": d.details,
            "summary": "OK" if d.ok else f"failed: {d.problem}"}


@tool()
def list_tables(
    ctx: ToolContext,
    connection: Annotated[str, "connection name"],
    schema_name: Annotated[str | None, "only this schema"] = None,
) -> dict[str, Any]:
    """Tables of a source: estimated rows (catalog statistics), primary key, number of columns."""
    frame = ctx.project.connections.get(connection).tables(schema_name)
    return {**rows_of(frame), "summary": f"{len(frame)} table(s)"}


@tool()
def describe_table(
    ctx: ToolContext, connection: Annotated[str, "connection name"], table: Annotated[str, "schema.table (S3: a key)"]
) -> dict[str, Any]:
    """Columns of a source table: type, nullable, primary key, default, foreign keys."""
    frame = ctx.project.connections.get(connection).describe(table)
    return {**rows_of(frame), "summary": f"{len(frame)} column(s)"}


@tool()
def preview_table(
    ctx: ToolContext,
    connection: Annotated[str, "connection name"],
    table: Annotated[str, "schema.table (S3: a key)"],
    limit: Annotated[int, "rows, at most 50"] = PREVIEW_ROWS,
) -> dict[str, Any]:
    """First rows of a source table; the user sees them as a table in the chat."""
    frame = ctx.project.connections.get(connection).preview(table, max(1, min(limit, 50)))
    ctx.view.table(f"{connection}: {table}", frame)
    return {**rows_of(frame), "summary": f"{len(frame)} row(s) shown"}


@tool()
def list_configurations(ctx: ToolContext) -> list[dict[str, Any]]:
    """Configurations in the project (extractors, ...): name, component, rows, version."""
    from ..ui.display import configs_frame

    return configs_frame(ctx.project.configs.list()).to_dict("records")


@tool()
def get_configuration(ctx: ToolContext, name: Annotated[str, "configuration name or id"]) -> dict[str, Any]:
    """A configuration's Keboola JSON (secrets appear only as references)."""
    return ctx.project.configs.get(name).to_json()


@tool()
def component_help(
    ctx: ToolContext,
    component: Annotated[str | None, "component id, e.g. keboola.ex-db-pgsql"] = None,
    connection: Annotated[str | None, "or a connection name: its extractor's and writer's help"] = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """How a component's configuration is built: entry keys, Keboola's rules, an example. Without arguments:
    the registered components."""
    from .. import components

    if component:
        found = [components.get(component)]
    elif connection:
        found = components.of_kind(ctx.project.connections.get(connection).kind)
    else:
        return [{"component": c["id"], "type": c["type"], "label": c["label"], "connection_kind": c["connection_kind"]}
                for c in components.listing()]
    helps = [{"component": c.id, "type": c.type, "label": c.label, "entries": c.entries, **c.help} for c in found]
    return helps[0] if component else helps


@tool()
def storage_tables(ctx: ToolContext) -> dict[str, Any]:
    """Tables in the project's storage: id, rows, size, last import, source."""
    frame = ctx.project.storage.tables()
    return {**rows_of(frame.drop(columns=["bytes"])), "summary": f"{len(frame)} table(s)"}


@tool()
def query_storage(
    ctx: ToolContext,
    sql: Annotated[str, "one SELECT (DuckDB dialect); table ids like in.c-shop.orders may be used as written"],
    limit: Annotated[int, "rows to return, at most 100"] = 20,
) -> dict[str, Any]:
    """Run a read-only query over storage to check SQL or answer a question; the user sees the rows."""
    frame = ctx.project.storage.select(sql, max(1, min(limit, 100)), external_access=False)
    ctx.view.table("query result", frame)
    return {**rows_of(frame), "summary": f"{len(frame)} row(s)"}


@tool()
def jobs(
    ctx: ToolContext, job_id: Annotated[int | None, "one job with its log"] = None, limit: int = 5
) -> dict[str, Any] | list[dict[str, Any]]:
    """Recent runs (status, rows, error), or one run with its log: the starting point for debugging."""
    if job_id is not None:
        job = ctx.project.jobs.get(job_id)
        return {"id": job.id, "config": job.config_name, "status": job.status, "tables": job.tables,
                "error": job.error, "log": job.log[-30:], "summary": f"job {job.id}: {job.status}"}
    return [{"id": j.id, "config": j.config_name, "status": j.status, "rows": sum(j.rows.values()),
             "seconds": j.duration, "error": j.error} for j in ctx.project.jobs.recent(limit)]


# asking the user -------------------------------------------------------------------------------
@tool()
def ask_for_secret(
    ctx: ToolContext,
    label: Annotated[str, "short name for the secret, e.g. shop-password"],
    prompt: Annotated[str, "what to type, e.g. 'Password of etl@db:5432/shop'"],
) -> dict[str, Any]:
    """Show the user a masked field for a password or key; you get back only its reference ({{ vault.NAME }})."""
    reference = ctx.view.secret(label, prompt, ctx.cancelled)
    if reference is None:
        return {"stored": False, "summary": "the user did not enter it"}
    return {"stored": True, "reference": reference, "summary": f"stored as {reference}"}


@tool()
def write_code_cell(
    ctx: ToolContext,
    code: Annotated[str, "the code; SQL runs over storage"],
    language: Literal["sql", "python"] = "sql",
) -> dict[str, Any]:
    """Put code into a new notebook cell below the active one (SQL becomes a %%keboola query cell)."""
    text = code.strip()
    if language == "sql" and not text.startswith("%%"):
        text = f"%%keboola query\n{text}"
    where = ctx.view.code(text, language)
    return {"written": where, "summary": where}


# changing things (each waits for the user's confirmation) -----------------------------------------
@tool(changes=True)
def add_connection(
    ctx: ToolContext,
    name: Annotated[str, "a short name, e.g. shop"],
    url: Annotated[str, "postgresql:// or mysql://user@host:port/database without a password, "
                        "snowflake://user@account/DB/SCHEMA?warehouse=WH, s3://bucket/prefix/ or "
                        "bigquery://project/dataset?unload=gs://BUCKET"],
    password_reference: Annotated[str | None, "a {{ vault.NAME }} reference from ask_for_secret or the user's "
                                               "message (S3: the secret access key)"] = None,
    access_key_id: Annotated[str | None, "S3: the access key id or its {{ vault.NAME }} reference; none: the AWS chain"] = None,
    key_file: Annotated[str | None, "BigQuery only: path of the service-account key JSON file"] = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Save a named connection to a source, then test it."""
    from ..connectors import kind as kind_of
    from ..connectors import parse_connection_url, redact_url
    from ..store.secrets import SecretRef

    password = SecretRef.parse(password_reference, "password_reference") if password_reference else None
    kind, node, _ = parse_connection_url(url)
    options = {k: v for k, v in {"password": password, "access_key": access_key_id, "key_file": key_file}.items() if v}
    kind_of(kind).check_options(name, node, options)
    target = kind_of(kind).describe(node, options)
    decision = ctx.view.confirm(
        Proposal("add_connection", f"Add connection {name}", "Save",
                 [("Name", name), ("Target", target), ("Password", str(password) if password else "none")]),
        ctx.cancelled,
    )
    if not decision.accepted:
        raise Declined(decision.reason)
    connection = ctx.project.connections.add(name, redact_url(url), password=password, access_key=access_key_id,
                                             key_file=key_file, replace=replace, actor=ACTOR)
    d = connection.test()
    return {"saved": True, "test": {"ok": d.ok, "problem": d.problem, "message": d.message, "fix": d.fix},
            "summary": "saved; test OK" if d.ok else f"saved; test failed: {d.problem}"}


@tool(changes=True)
def create_extractor(
    ctx: ToolContext,
    name: Annotated[str, "configuration name, e.g. shop-customers"],
    connection: Annotated[str, "connection name"],
    tables: list[TableEntry],
    replace: Annotated[bool, "save as a new version of an existing extractor"] = False,
) -> dict[str, Any]:
    """Propose a database (or BigQuery) extractor; the user sees a card (overview, data preview, JSON) and creates it."""
    return propose(ctx, draft_extractor(ctx.project, name, connection, tables, replace), replace)


def draft_extractor(project: "Project", name: str, connection: str, tables: list["TableEntry"], replace: bool,
                    sample_rows: int = 0) -> Draft:
    """create_extractor's configuration, built and checked; `sample_rows`: also read that many rows of each
    source table (what a rehearsal stands in for its output tables)."""
    check_new(project, name, replace)
    entries = [t.model_dump(exclude_none=True) for t in tables]
    with notices() as notes:  # e.g. a suggested key for a table without a primary key
        config = project.extractors.build(name, connection, entries)
    conn = project.connections.get(connection)
    first = next((e["table"] for e in entries if e.get("table")), None)  # queries are not run for a preview
    preview = conn.preview(first, PREVIEW_ROWS) if first else None
    outputs = {}
    if sample_rows:
        for line in project.extractors.summary(config).to_dict("records"):
            if any(e.get("table") == line["source"] for e in entries):  # a table, not a query
                outputs[line["output_table"]] = conn.preview(line["source"], sample_rows)
    return _extractor_draft(project, "create_extractor", config, conn, preview, notes, outputs)


def _extractor_draft(project: "Project", tool_name: str, config: "Configuration", conn: Any, preview: Any,
                     notes: list[str], outputs: dict[str, "pd.DataFrame"] | None = None) -> Draft:
    extractors = project.extractors
    overview = [("Component", config.component_id), ("Connection", f"{conn.name} ({conn.target()})")]
    for line in extractors.summary(config).to_dict("records"):
        overview.append((line["row"], f"{line['source']} -> {line['output_table']} "
                                      f"(primary key {', '.join(line['primary_key']) or 'none'}; {line['load']})"))
    overview += [("Note", note) for note in notes]

    def result(saved: "Configuration") -> dict[str, Any]:
        return {"output_tables": list(extractors.summary(saved)["output_table"]), "notes": notes}

    return Draft(tool_name, "extractor", config, overview, preview, extractors.from_json,
                 lambda c, replace: extractors.save(c, replace=replace, actor=ACTOR), result, outputs or {})


def propose(ctx: ToolContext, draft: Draft, replace: bool) -> dict[str, Any]:
    """Show a draft's card (the draft kept in the conversation store); save what the user confirms."""
    config = draft.config
    text = json.dumps(config.to_json(), indent=2, ensure_ascii=False)
    decision, draft_id = confirmed(ctx, Proposal(draft.tool, f"Create {draft.kind} {config.name}", "Create",
                                                 draft.overview, draft.preview, text, check=draft.check),
                                   config.name, config.component_id)
    saved = draft.save(decision.value or config, replace)
    ctx.conversations.set_draft_state(draft_id, "created")
    return {"created": True, "name": saved.name, "id": saved.id, "version": saved.version,
            "component": saved.component_id, "edited_by_user": decision.value is not None, **draft.result(saved),
            "summary": f"created {saved.name} (version {saved.version})"}


def confirmed(ctx: ToolContext, proposal: Proposal, name: str, component_id: str) -> tuple["Decision", int]:
    """Keep the proposal's JSON as a draft in the conversation store and show its card. A refusal marks the draft
    cancelled and raises Declined; else what the user decided, and the draft's id (to mark it created once saved)."""
    draft_id = ctx.conversations.save_draft(ctx.conversation_id, name, component_id, proposal.json)
    decision = ctx.view.confirm(proposal, ctx.cancelled)
    if not decision.accepted:
        ctx.conversations.set_draft_state(draft_id, "cancelled")
        raise Declined(decision.reason)
    return decision, draft_id


def check_new(project: "Project", name: str, replace: bool) -> None:
    """A new configuration's name must be free (unless it replaces the one of that name)."""
    if not replace and project.configs.find(name) is not None:
        raise KeboolaError(f"a configuration named {name!r} already exists", fix="choose another name or set replace")


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, "S3 key; only a trailing * is a wildcard, e.g. exports/2024/*"]
    table: Annotated[str | None, "storage table name"] = None
    primary_key: Annotated[list[str] | None, "columns; the load upserts by them"] = None
    new_files_only: Annotated[bool, "later runs read only new files"] = False
    include_subfolders: bool = False
    header: Annotated[bool, "false: no header row (columns col_1, col_2, ...)"] = True


@tool(changes=True)
def create_file_extractor(
    ctx: ToolContext,
    name: Annotated[str, "configuration name, e.g. exports-csv"],
    connection: Annotated[str, "S3 connection name"],
    files: list[FileEntry],
    replace: bool = False,
) -> dict[str, Any]:
    """Propose an S3 extractor (files into storage tables); the user sees a card and creates it."""
    return propose(ctx, draft_file_extractor(ctx.project, name, connection, files, replace), replace)


def draft_file_extractor(project: "Project", name: str, connection: str, files: list["FileEntry"], replace: bool,
                         sample_rows: int = 0) -> Draft:
    """create_file_extractor's configuration, built and checked; `sample_rows`: see draft_extractor."""
    check_new(project, name, replace)
    conn = project.connections.get(connection)
    if project.extractors.component_for(connection).entries != "files":
        raise KeboolaError(f"{connection!r} is a {conn.kind} connection, not one of files",
                           fix="use create_extractor for databases")
    entries = [f.model_dump(exclude_none=True, exclude_defaults=True) for f in files]
    config = project.extractors.build(name, connection, entries)

    def first_file(key: str) -> str:
        return conn.connector().first_match(key) if "*" in key else key

    try:
        preview = conn.preview(first_file(entries[0]["key"]), PREVIEW_ROWS)
    except KeboolaError:
        preview = None  # no file matches yet: the card says so by showing none
    outputs = {}
    if sample_rows:
        for entry, line in zip(entries, project.extractors.summary(config).to_dict("records")):
            outputs[line["output_table"]] = conn.preview(first_file(entry["key"]), sample_rows)
    return _extractor_draft(project, "create_file_extractor", config, conn, preview, [], outputs)


@tool(changes=True)
def run_configuration(
    ctx: ToolContext,
    name: Annotated[str, "configuration name or id"],
    rows: Annotated[list[str] | None, "only these rows (tables)"] = None,
) -> dict[str, Any]:
    """Run a configuration into storage (the user confirms first); returns the job with rows per table."""
    from ..builder import routes

    config = ctx.project.configs.get(name)
    overview = [("Configuration", f"{config.name} ({config.component_id}, version {config.version})")]
    lines = [(row, f"{source} -> {target}") for row, source, target in routes(config)]
    overview += [line for line in lines if not rows or line[0] in rows]
    decision = ctx.view.confirm(Proposal("run_configuration", f"Run {config.name}", "Run", overview), ctx.cancelled)
    if not decision.accepted:
        raise Declined(decision.reason)
    progress = ctx.view.progress(ctx.tool_item, f"run {config.name}", ctx.cancelled)
    job = ctx.project.run(config, rows=rows, progress=progress, actor=ACTOR)
    if job.status == "error":
        raise KeboolaError(f"job {job.id} failed: {job.error}", fix=f"jobs(job_id={job.id}) shows its log")
    return {"job_id": job.id, "status": job.status, "seconds": job.duration, "error": job.error,
            "tables": [{"table_id": t["table_id"], "rows": t["rows"], "total_rows": t.get("total_rows")}
                       for t in job.tables],
            "summary": f"job {job.id}: {job.status}, {sum(job.rows.values()):,} rows"}


class WriterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: Annotated[str, "storage table id"]
    db_name: Annotated[str | None, "target table; default: the table name"] = None
    file: Annotated[str | None, "S3 only: file name, default <table>.csv (plain CSV)"] = None
    incremental: Annotated[bool, "upsert by primary key instead of replacing (BigQuery: appends)"] = False
    primary_key: Annotated[list[str] | None, "defaults to the storage table's (not for BigQuery)"] = None
    changed_since: Annotated[Literal["adaptive"] | None, "only rows imported since the last write"] = None
    columns: Annotated[list[str] | None, "defaults to all columns"] = None


@tool(changes=True)
def create_writer(
    ctx: ToolContext,
    name: Annotated[str, "configuration name, e.g. to-dwh"],
    connection: Annotated[str, "target connection name"],
    tables: list[WriterEntry],
    schema_name: Annotated[str | None, "target schema (PostgreSQL: default public; BigQuery: the dataset)"] = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Propose a writer (storage tables to a database, or to CSV files in S3); the user sees a card and creates it."""
    return propose(ctx, draft_writer(ctx.project, name, connection, tables, schema_name, replace), replace)


def draft_writer(project: "Project", name: str, connection: str, tables: list["WriterEntry"],
                 schema_name: str | None, replace: bool) -> Draft:
    """create_writer's configuration, built and checked against storage."""
    check_new(project, name, replace)
    writers = project.writers
    entries = [t.model_dump(exclude_none=True, exclude_defaults=True) for t in tables]
    config = writers.build(name, connection, entries, schema=schema_name)
    conn = project.connections.get(connection)
    preview = project.storage.preview(entries[0]["table"], PREVIEW_ROWS) if entries else None
    overview = [("Component", config.component_id), ("Target", f"{connection} ({conn.target()})")]
    for s in writers.summary(config).to_dict("records"):
        since = f", changed since {s['changed_since']}" if s["changed_since"] else ""
        overview.append((s["row"], f"{s['table']} -> {s['target']} ({s['columns']} columns; {s['load']}; "
                                   f"primary key {', '.join(s['primary_key']) or 'none'}{since})"))
    return Draft("create_writer", "writer", config, overview, preview, writers.from_json,
                 lambda c, replace: writers.save(c, replace=replace, actor=ACTOR), lambda saved: {})


TOOLS = [
    list_connections, test_connection, list_tables, describe_table, preview_table, list_configurations,
    get_configuration, component_help, storage_tables, query_storage, jobs, ask_for_secret, write_code_cell,
    add_connection, create_extractor, create_file_extractor, create_writer, run_configuration,
]
