"""Run a writer configuration: every enabled row (or the chosen ones) from storage into the target, as one Job.

All tables are written in one target transaction, and the changed_since state is written only after it
commits: a failed or interrupted run leaves the target and the state as they were, so running it again
writes every row exactly once.
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import KeboolaError
from ..model.components import component
from ..model.configuration import Configuration
from ..model.db_writer import WriterRow, check_rows, pg_type
from ..storage.ids import TableId
from ..storage.storage import TIMESTAMP_COLUMN, q, qualified
from ..store.secrets import redact
from .jobs import Job
from .progress import Progress
from .runs import begin, fail, select_rows, succeed

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

UNTOUCHED = "The target and the writer's state were left as they were."
BATCH_ROWS = 100_000
STATE_KEY = "lastImportWritten"  # the newest storage import time a row has written (changed_since: adaptive)
TARGETS = {"postgresql": "write_postgres", "mysql": "write_mysql", "bigquery": "write_bigquery",
           "snowflake": "write_snowflake"}
_LOST_TARGET = ("server closed the connection", "terminating connection", "consuming input failed",
                "connection to server", "connection reset", "sending query failed")


def run_writer(
    project: Any,
    config: Configuration,
    rows: list[str] | None = None,
    progress: Progress | None = None,
    actor: str = "user",
) -> Job:
    job, progress = begin(project, config, progress, actor)
    current = ""
    try:
        checked = _check_rows(config)
        selected = select_rows(config, checked, rows, lambda p: p.export)
        db = checked[0][1].db.model_dump(by_alias=True, exclude_none=True)
        kind = component(config.component_id).kind
        target = importlib.import_module(f".{TARGETS[kind]}", __package__).target(config.name, db)
        where = getattr(target, "label", None) or f"{db.get('host')}:{db.get('port')}/{db.get('database')}"
        job.note(f"writer {config.name} ({config.component_id}): {len(selected)} table(s) to "
                 f"{where} schema {target.schema}")
        new_state: dict[str, dict[str, Any]] = {}
        try:
            target.open()
            with project.storage.connect() as con, target.transaction():
                for index, (row_id, row_name, params) in enumerate(selected, 1):
                    current = f"writing {params.tableId} to {target.where(params.dbName)}"
                    since = project.state.row(config.id, row_id).get(STATE_KEY) if params.adaptive else None
                    read = _Read(con, params, since, getattr(target, "as_text", _as_text))
                    window = f" (imported after {since})" if since else ""
                    job.note(f"{row_name}: {params.tableId}{window} -> {target.where(params.dbName)}, "
                             f"{'incremental' if params.incremental else 'full load'}, {read.total:,} rows")
                    progress.step(index, len(selected), f"{params.tableId} -> {target.where(params.dbName)}")
                    started = time.perf_counter()
                    batches = read.batches()
                    try:
                        written = target.write(params, batches, read.total, progress)
                    finally:
                        batches.close()
                    seconds = time.perf_counter() - started
                    job.tables.append({"table_id": params.tableId, "target": target.where(params.dbName),
                                       "rows": written, "seconds": round(seconds, 3),
                                       "incremental": params.incremental})
                    job.note(f"{row_name}: {written:,} rows in {seconds:.2f} s")
                    if params.adaptive and read.newest is not None:
                        new_state[row_id] = {STATE_KEY: read.newest}
                current = "committing"
        finally:
            target.close()
        return succeed(project, job, config.id, new_state, progress)  # only now: the target has committed
    except KeboolaError as e:
        where = f"{current}: " if current and "stopped by the user" not in e.what else ""
        return fail(project, job, e, UNTOUCHED, where)
    except Exception as e:  # a driver error: name the table and keep the message short
        job.tables.clear()
        job.note(f"failed: {redact(str(e))}")
        return project.jobs.finish(job, "error", _explain(e, current or f"running {config.name!r}"))


def _check_rows(config: Configuration) -> list[tuple[str, Any]]:
    """The rows of a writer, by its component's format (the BigQuery writer has its own)."""
    from ..model import bigquery_writer

    if config.component_id == bigquery_writer.COMPONENT_ID:
        return bigquery_writer.check_rows(config)
    return check_rows(config)


class _Read:
    """The rows of one storage table that a row writes, formatted as text the target reads (`as_text`)."""

    def __init__(self, con: "duckdb.DuckDBPyConnection", params: WriterRow, since: str | None,
                 as_text: Callable[[str, str], str]) -> None:
        self.con = con
        tid = TableId.parse(params.tableId)
        types = dict(con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [tid.bucket_id, tid.table]).fetchall())
        if not types:
            raise KeboolaError(f"storage has no table {tid}", fix="run the extractor that fills it first")
        missing = [i.name for i in params.written if i.name not in types]
        if missing:
            raise KeboolaError(f"storage table {tid} has no column(s) {', '.join(missing)}",
                               fix="update the writer's items to the table's columns")
        select = ", ".join(f"{as_text(q(i.name), types[i.name])} AS {q(i.name)}" for i in params.written)
        self.sql = f"SELECT {select} FROM {qualified(tid)}"
        self.params: list[Any] = []
        self.newest: str | None = None
        if params.adaptive and TIMESTAMP_COLUMN in types:
            newest = con.execute(f"SELECT max({TIMESTAMP_COLUMN}) FROM {qualified(tid)}").fetchone()[0]  # type: ignore[index]
            self.newest = newest.isoformat() if newest is not None else since
            if since is not None:
                self.sql += f" WHERE {TIMESTAMP_COLUMN} > ?::TIMESTAMPTZ"
                self.params = [since]
        self.total = int(con.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchone()[0])  # type: ignore[index]

    def batches(self) -> Iterator["pa.RecordBatch"]:
        reader = self.con.execute(self.sql, self.params).to_arrow_reader(BATCH_ROWS)
        try:
            yield from reader
        finally:
            reader.close()  # an open result stream would keep the storage file busy after a failure


def _as_text(column: str, duck_type: str) -> str:
    """A storage column as the text PostgreSQL parses for its mapped type."""
    pg, _ = pg_type(duck_type)
    if pg.endswith("[]"):  # a PostgreSQL array literal: {"a","b c",NULL}
        element = (r"""CASE WHEN e IS NULL THEN 'NULL' ELSE '"' || replace(replace(e::VARCHAR, '\', '\\'), '"', '\"')"""
                   """ || '"' END""")
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE '{{' || array_to_string(list_transform({column}, " \
               f"lambda e: {element}), ',') || '}}' END"
    if pg == "jsonb" and duck_type.upper() != "JSON":
        return f"to_json({column})::VARCHAR"
    if pg == "bytea":
        return f"'\\x' || hex({column})"
    return f"{column}::VARCHAR"


def _explain(error: Exception, where: str) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = redact(primary or str(error)).strip().splitlines()[0] if (primary or str(error)).strip() else type(error).__name__
    context = redact(getattr(diag, "context", None) or "").strip().splitlines()
    detail = redact(getattr(diag, "message_detail", None) or "").strip()
    low = str(error).lower()
    if "interrupted" in low:
        return f"{where} was stopped by the user. {UNTOUCHED}"
    if any(marker in low for marker in _LOST_TARGET):
        return (f"{where} failed: the target closed the connection mid-write ({text}). {UNTOUCHED} "
                "Run it again when the target is back: no row will be written twice.")
    sqlstate = getattr(diag, "sqlstate", None) or ""
    extra = "".join(f" ({part})" for part in [detail, *context[:1]] if part)
    if sqlstate.startswith("22"):  # data exception: a value does not fit the column's type
        return (f"{where} failed: a value does not fit its column: {text}{extra}. {UNTOUCHED}\n"
                "  How to fix: change that item's type in the writer, or fix the data in storage.")
    if sqlstate == "23505":
        return (f"{where} failed: the primary key is not unique in the data: {text}{extra}. {UNTOUCHED}\n"
                "  How to fix: choose a primary key that is unique in the storage table.")
    if sqlstate == "42501":
        return (f"{where} failed: {text}. {UNTOUCHED}\n"
                "  How to fix: ask the database admin for CREATE on the schema and rights on the table.")
    return f"{where} failed: {text}{extra}. {UNTOUCHED}"
