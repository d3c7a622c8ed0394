"""Writing storage tables into a database or warehouse target, the part every such writer shares: read each
row's table from storage in Arrow batches (only the rows imported since the last write, with changed_since:
adaptive), hand them to the target, and keep the new changed_since mark for the run to save.

All tables are written in one target transaction and the state is saved only after it commits: a failed or
interrupted run leaves the target and the state as they were, so running it again writes every row exactly once.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator, Protocol

from ..connectors.base import duck_literal
from ..errors import KeboolaError
from ..storage.ids import TableId
from ..storage.storage import TIMESTAMP_COLUMN, q, qualified
from ..store.secrets import redact
from .progress import Progress
from .runner import Run, error_line

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


# How a target that died mid-write shows up in the drivers' errors.
_LOST_TARGET = ("server closed the connection", "terminating connection", "consuming input failed",
                "connection to server", "connection reset", "sending query failed")
BATCH_ROWS = 100_000
STATE_KEY = "lastImportWritten"  # the newest storage import time a row has written (changed_since: adaptive)


def write_tables(run: Run, target: "Target", rows: list[tuple[str, str, Any]]) -> None:
    """Write each row's storage table into `target`, all in one target transaction; the changed_since state
    of each row is handed to the run, which saves it only after the transaction has committed."""
    run.note(f"writing {len(rows)} table(s) to {target.label} schema {target.schema}")
    try:
        target.open()
        with run.storage.connect() as con, target.transaction():
            for index, (row_id, row_name, params) in enumerate(rows, 1):
                run.where = f"writing {params.tableId} to {target.where(params.dbName)}"
                since = run.row_state(row_id).get(STATE_KEY) if params.adaptive else None
                read = _Read(con, params, since, target.as_text)
                window = f" (imported after {since})" if since else ""
                run.note(f"{row_name}: {params.tableId}{window} -> {target.where(params.dbName)}, "
                         f"{'incremental' if params.incremental else 'full load'}, {read.total:,} rows")
                run.progress.step(index, len(rows), f"{params.tableId} -> {target.where(params.dbName)}")
                started = time.perf_counter()
                batches = read.batches()
                try:
                    written = target.write(params, batches, read.total, run.progress)
                finally:
                    batches.close()
                seconds = time.perf_counter() - started
                run.job.tables.append({"table_id": params.tableId, "target": target.where(params.dbName),
                                       "rows": written, "seconds": round(seconds, 3),
                                       "incremental": params.incremental})
                run.note(f"{row_name}: {written:,} rows in {seconds:.2f} s")
                if params.adaptive and read.newest is not None:
                    run.save_state(row_id, {STATE_KEY: read.newest})
            run.where = "committing"
    finally:
        target.close()


class Target(Protocol):
    """A database or warehouse that takes storage tables in one transaction (components/db_writer, ...)."""

    label: str  # where it is, for the job log
    schema: str

    def where(self, db_name: str) -> str: ...

    def open(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def as_text(self, column: str, duck_type: str) -> str:
        """A storage column as the text the target parses for its mapped type."""

    def write(self, params: Any, batches: Iterator["pa.RecordBatch"], total: int, progress: Progress) -> int: ...

    def close(self) -> None: ...


@dataclass
class StorageSelect:
    """What a writer row reads from storage: the SELECT (changed rows only, with changed_since: adaptive) and
    the newest import time among the table's rows, the mark the next run starts after."""

    sql: str
    newest: str | None


def storage_select(con: "duckdb.DuckDBPyConnection", table_id: str, columns: list[str], adaptive: bool,
                   since: str | None, expression: Callable[[str, str], str] | None = None) -> StorageSelect:
    """`columns` (none: all but the import time) of a storage table, each as `expression(quoted name, type)`."""
    tid = TableId.parse(table_id)
    types = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "ORDER BY column_index", [tid.bucket_id, tid.table]).fetchall())
    if not types:
        raise KeboolaError(f"storage has no table {tid}", fix="run the extractor that fills it first")
    columns = columns or [c for c in types if c != TIMESTAMP_COLUMN]
    missing = [c for c in columns if c not in types]
    if missing:
        raise KeboolaError(f"storage table {tid} has no column(s) {', '.join(missing)}",
                           fix="update the writer's columns (items) to the table's")
    select = ", ".join(f"{expression(q(c), types[c])} AS {q(c)}" if expression else q(c) for c in columns)
    sql, newest = f"SELECT {select} FROM {qualified(tid)}", None
    if adaptive and TIMESTAMP_COLUMN in types:
        value = con.execute(f"SELECT max({TIMESTAMP_COLUMN}) FROM {qualified(tid)}").fetchone()[0]  # type: ignore[index]
        newest = value.isoformat() if value is not None else since
        if since is not None:
            sql += f" WHERE {TIMESTAMP_COLUMN} > {duck_literal(since)}::TIMESTAMPTZ"
    return StorageSelect(sql, newest)


class _Read:
    """The rows of one storage table that a row writes, formatted as text the target reads (`as_text`)."""

    def __init__(self, con: "duckdb.DuckDBPyConnection", params: Any, since: str | None,
                 as_text: Callable[[str, str], str]) -> None:
        self.con = con
        chosen = storage_select(con, params.tableId, [i.name for i in params.written], params.adaptive, since, as_text)
        self.sql, self.newest = chosen.sql, chosen.newest
        self.total = int(con.execute(f"SELECT count(*) FROM ({self.sql})").fetchone()[0])  # type: ignore[index]

    def batches(self) -> Generator["pa.RecordBatch", None, None]:
        reader = self.con.execute(self.sql).to_arrow_reader(BATCH_ROWS)
        try:
            yield from reader
        finally:
            reader.close()  # an open result stream would keep the storage file busy after a failure


def explain_write_error(error: Exception, where: str, untouched: str) -> str:
    """A driver's error in one line; PostgreSQL's diagnostics name a value that does not fit, a duplicate key,
    a missing privilege."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = error_line(error, primary)
    context = redact(getattr(diag, "context", None) or "").strip().splitlines()
    detail = redact(getattr(diag, "message_detail", None) or "").strip()
    low = str(error).lower()
    if "interrupted" in low:
        return f"{where} was stopped by the user. {untouched}"
    if any(marker in low for marker in _LOST_TARGET):
        return (f"{where} failed: the target closed the connection mid-write ({text}). {untouched} "
                "Run it again when the target is back: no row will be written twice.")
    sqlstate = getattr(diag, "sqlstate", None) or ""
    extra = "".join(f" ({part})" for part in [detail, *context[:1]] if part)
    if sqlstate.startswith("22"):  # data exception: a value does not fit the column's type
        return (f"{where} failed: a value does not fit its column: {text}{extra}. {untouched}\n"
                "  How to fix: change that item's type in the writer, or fix the data in storage.")
    if sqlstate == "23505":
        return (f"{where} failed: the primary key is not unique in the data: {text}{extra}. {untouched}\n"
                "  How to fix: choose a primary key that is unique in the storage table.")
    if sqlstate == "42501":
        return (f"{where} failed: {text}. {untouched}\n"
                "  How to fix: ask the database admin for CREATE on the schema and rights on the table.")
    return f"{where} failed: {text}{extra}. {untouched}"
