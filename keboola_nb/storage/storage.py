"""The embedded Storage: one DuckDB file, a schema per bucket, Keboola table ids.

The file is opened for each operation under a lock, so two kernels can share a project (DuckDB lets
only one process hold a database file). A load reads the source into a staging table and swaps it in
within one transaction: a failure leaves every table exactly as it was.
"""

from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import KeboolaError
from ..store.files import locked
from .ids import TableId

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from ..connectors.base import Scan

META_SCHEMA = "_keboola_nb"
LOAD_MEMORY_LIMIT = "128MB"  # measured: 5M rows peak ~330 MB RSS with no loss of speed
BLOCK_SIZE = 262_144
# Keboola's per-row import time (used by writers' changed_since); user columns never start with "_".
TIMESTAMP_COLUMN = "_timestamp"
LOCK_TIMEOUT_S = 600.0  # a long extraction in another kernel holds the storage this long at most

_META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META_SCHEMA};
CREATE TABLE IF NOT EXISTS {META_SCHEMA}.tables (
    table_id VARCHAR PRIMARY KEY,
    primary_key VARCHAR[],
    rows BIGINT,
    bytes BIGINT,
    last_import TIMESTAMPTZ,
    created TIMESTAMPTZ,
    source VARCHAR
);
"""


def text_in(column: str, values: list[str], operator: str, text_type: str = "VARCHAR") -> str:
    """Keboola's where_* and delete_where_* filter as SQL: the column as text (NULL as '', as Keboola's storage
    holds it) is (eq) or is not (ne) one of the values (SQL literals or parameter marks)."""
    negate = "NOT " if operator == "ne" else ""
    return f"{negate}(coalesce(CAST({column} AS {text_type}), '') IN ({', '.join(values) or 'NULL'}))"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table_id: TableId) -> str:
    return f"{q(table_id.bucket_id)}.{q(table_id.table)}"


def storage_column(name: str) -> str:
    """Keboola's column rule: letters, digits and '_' only, not starting or ending with '_'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_]+", "_", ascii_name).strip("_") or "column"


def storage_columns(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        base = candidate = storage_column(name)
        n = 2
        while candidate.lower() in (o.lower() for o in out):
            candidate = f"{base}_{n}"
            n += 1
        out.append(candidate)
    return out


@dataclass(frozen=True)
class DeleteWhere:
    """Keboola's delete_where_* of an incremental load: the rows of the target whose `column` is (eq) or is not
    (ne) one of `values` are deleted before the new rows go in."""

    column: str
    values: list[str]
    operator: str = "eq"

    def apply(self, con: "duckdb.DuckDBPyConnection", target: str, columns: set[str]) -> None:
        if self.column not in columns:
            raise KeboolaError(f"delete_where_column {self.column!r} is not a column of {target}",
                               fix=f"its columns are: {', '.join(sorted(columns - {TIMESTAMP_COLUMN}))}")
        con.execute(f"DELETE FROM {target} WHERE {text_in(q(self.column), ['?'] * len(self.values), self.operator)}",
                    list(self.values))


@dataclass
class LoadResult:
    table_id: str
    rows: int  # rows read from the source in this load
    total_rows: int  # rows in the table afterwards
    incremental: bool
    columns: list[str] = field(default_factory=list)
    watermark: Any = None  # max of the fetching column among the rows read


class Storage:
    def __init__(self, path: Path, lock_path: Path) -> None:
        self.path = path
        self.lock_path = lock_path
        self._has_meta = False

    @contextmanager
    def connect(self) -> Iterator["duckdb.DuckDBPyConnection"]:
        import duckdb

        with locked(self.lock_path, "the project's storage", timeout=LOCK_TIMEOUT_S):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Never download extensions; track progress for our own bar but do not print DuckDB's.
            settings = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            con = duckdb.connect(str(self.path), config=settings)
            try:
                con.execute("SET enable_progress_bar = true")
                con.execute("SET enable_progress_bar_print = false")
                con.execute("SET TimeZone = 'UTC'")
                if not self._has_meta:
                    con.execute(_META_DDL)
                    self._has_meta = True
                yield con
            finally:
                con.close()

    @contextmanager
    def transaction(self, memory_limit: str = LOAD_MEMORY_LIMIT) -> Iterator["Loader"]:
        """Loads made through the yielded Loader commit together, or not at all."""
        with self.connect() as con, self.transaction_on(con, memory_limit) as loader:
            yield loader

    @contextmanager
    def transaction_on(self, con: "duckdb.DuckDBPyConnection",
                       memory_limit: str = LOAD_MEMORY_LIMIT) -> Iterator["Loader"]:
        """A transaction on a connection `connect()` gave (for work that reads storage before it loads)."""
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        # String compression (FSST, dictionaries) costs more CPU than the extraction itself;
        # loads stay fast, and DuckDB still compresses numbers and dates.
        con.execute("SET disabled_compression_methods = 'fsst,dictionary,dict_fsst'")
        loader = Loader(con)
        con.execute("BEGIN")
        try:
            yield loader
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for table_id in loader.loaded:
            self._record_size(con, table_id)

    # reading ---------------------------------------------------------------------------------
    def tables(self) -> "pd.DataFrame":
        with self.connect() as con:
            tables = frame(con.execute(
                f"""SELECT table_id AS id, rows, bytes, primary_key, last_import, source
                      FROM {META_SCHEMA}.tables ORDER BY table_id"""
            ))
        tables.insert(3, "size", tables["bytes"].map(_human_size))
        return tables

    def preview(self, table_id: str, limit: int = 100) -> "pd.DataFrame":
        tid = TableId.parse(table_id)
        with self.connect() as con:
            self._require(con, tid)
            visible = f"COLUMNS(lambda c: c <> '{TIMESTAMP_COLUMN}')"
            return frame(con.execute(f"SELECT {visible} FROM {qualified(tid)} LIMIT {max(0, int(limit))}"))

    def metadata(self, table_id: str) -> dict[str, Any]:
        tid = TableId.parse(table_id)
        with self.connect() as con:
            self._require(con, tid)
            row = con.execute(f"SELECT * FROM {META_SCHEMA}.tables WHERE table_id = ?", [str(tid)]).fetchone()
            names = [d[0] for d in con.description]
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [tid.bucket_id, tid.table]).fetchall()
        meta = dict(zip(names, row)) if row else {"table_id": str(tid)}
        meta["columns"] = {name: dtype for name, dtype in columns if name != TIMESTAMP_COLUMN}
        return meta

    def select(self, sql: str, limit: int, external_access: bool = True) -> "pd.DataFrame":
        """At most `limit` rows of one read-only query (Keboola table ids may be written as they are)."""
        from ..sql.readonly import limited, read_only

        return self.query(limited(read_only(sql), limit), external_access=external_access)

    def query(self, sql: str, external_access: bool = True) -> "pd.DataFrame":
        """Run SQL on storage. Without `external_access`, the query cannot read files or the network:
        for SQL the user did not write (the assistant's)."""
        with self.connect() as con:
            if not external_access:
                con.execute("SET enable_external_access = false")
            return frame(con.execute(sql))

    def _require(self, con: "duckdb.DuckDBPyConnection", tid: TableId) -> None:
        if not _table_exists(con, tid):
            known = [r[0] for r in con.execute(f"SELECT table_id FROM {META_SCHEMA}.tables").fetchall()]
            import difflib

            close = difflib.get_close_matches(str(tid), known, n=3)
            raise KeboolaError(
                f"storage has no table {tid}",
                fix=f"did you mean {', '.join(close)}?" if close else "list the tables with %keboola storage",
            )

    def _record_size(self, con: "duckdb.DuckDBPyConnection", table_id: str) -> None:
        tid = TableId.parse(table_id)
        blocks = con.execute(
            "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE persistent", [qualified(tid)]
        ).fetchone()[0]  # type: ignore[index]
        con.execute(f"UPDATE {META_SCHEMA}.tables SET bytes = ? WHERE table_id = ?", [int(blocks) * BLOCK_SIZE, table_id])


class Loader:
    """Loads into storage inside one open transaction (see Storage.transaction)."""

    def __init__(self, con: "duckdb.DuckDBPyConnection") -> None:
        self.con = con
        self.loaded: list[str] = []

    def load(
        self,
        table_id: str,
        scan: "Scan",
        *,
        incremental: bool = False,
        primary_key: list[str] | None = None,
        watermark_column: str | None = None,
        source: str = "",
        delete_where: "DeleteWhere | None" = None,
    ) -> LoadResult:
        con = self.con
        tid = _stored(con, TableId.parse(table_id))  # SQL names ignore case: an existing table keeps its spelling
        target = qualified(tid)
        staging = f"{q(tid.bucket_id)}.{q('__staging_' + tid.table)}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(tid.bucket_id)}")
        con.execute(f"DROP TABLE IF EXISTS {staging}")
        now = datetime.now(timezone.utc)
        if scan.arrow is not None:
            from ..connectors.base import ARROW_VIEW

            con.register(ARROW_VIEW, scan.arrow)
        try:
            probe = con.execute(f"SELECT * FROM ({scan.sql}) AS probe LIMIT 0", scan.params)
            source_columns = [d[0] for d in probe.description]
            columns = storage_columns(source_columns)
            renames = ", ".join(f"{q(s)} AS {q(c)}" for s, c in zip(source_columns, columns))
            con.execute(f"CREATE TABLE {staging} AS SELECT {renames}, TIMESTAMPTZ '{now.isoformat()}' AS "
                        f"{TIMESTAMP_COLUMN} FROM ({scan.sql})", scan.params)
        finally:
            if scan.arrow is not None:
                con.unregister(ARROW_VIEW)

        mapping = dict(zip(source_columns, columns))
        pk = [mapping.get(c, storage_column(c)) for c in (primary_key or [])]
        unknown = [c for c in pk if c not in columns]
        if unknown:
            raise KeboolaError(
                f"primary key column(s) {', '.join(unknown)} are not among the columns loaded into {tid}",
                fix=f"the loaded columns are: {', '.join(columns)}",
            )
        if pk:  # a key holds one row, in a full load too; within one load its last row wins
            keys = ", ".join(q(c) for c in pk)
            con.execute(f"DELETE FROM {staging} WHERE rowid NOT IN "
                        f"(SELECT max(rowid) FROM {staging} GROUP BY {keys})")
        rows = con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]  # type: ignore[index]
        watermark = None
        if watermark_column is not None:
            wm = q(mapping.get(watermark_column, storage_column(watermark_column)))
            watermark = con.execute(f"SELECT max({wm}) FROM {staging}").fetchone()[0]  # type: ignore[index]

        exists = _table_exists(con, tid)
        if incremental and exists:
            if delete_where is not None:
                delete_where.apply(con, target, set(_column_names(con, tid)))
            self._merge(staging, target, tid, columns, pk)
        else:
            con.execute(f"DROP TABLE IF EXISTS {target}")
            con.execute(f"ALTER TABLE {staging} RENAME TO {q(tid.table)}")

        total = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]  # type: ignore[index]
        con.execute(
            f"""INSERT INTO {META_SCHEMA}.tables VALUES (?, ?, ?, NULL, ?, ?, ?)
                ON CONFLICT (table_id) DO UPDATE SET primary_key = excluded.primary_key, rows = excluded.rows,
                    last_import = excluded.last_import, source = excluded.source""",
            [str(tid), pk, total, now, now, source],
        )
        self.loaded.append(str(tid))
        return LoadResult(str(tid), int(rows), int(total), incremental and exists, columns, watermark)

    def _merge(self, staging: str, target: str, tid: TableId, columns: list[str], pk: list[str]) -> None:
        con = self.con
        existing = set(_column_names(con, tid))
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {staging})").fetchall())
        for column in [*columns, TIMESTAMP_COLUMN]:
            if column not in existing:  # the source gained a column: widen the table
                con.execute(f"ALTER TABLE {target} ADD COLUMN {q(column)} {types[column]}")
        if pk:  # replace the rows whose key came again
            match = " AND ".join(f"{target}.{q(c)} IS NOT DISTINCT FROM s.{q(c)}" for c in pk)
            con.execute(f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {staging} s WHERE {match})")
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {staging}")
        con.execute(f"DROP TABLE {staging}")


def frame(result: "duckdb.DuckDBPyConnection") -> "pd.DataFrame":
    """A DataFrame that keeps exact types: DuckDB's own .df() would turn decimals into floats."""
    import pandas as pd

    return result.to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def _column_names(con: "duckdb.DuckDBPyConnection", tid: TableId) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [tid.bucket_id, tid.table]).fetchall()]


def _table_exists(con: "duckdb.DuckDBPyConnection", tid: TableId) -> bool:
    """Whether storage holds the table, whatever the case of its name (SQL names ignore case)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE lower(schema_name) = lower(?) AND lower(table_name) = lower(?)",
            [tid.bucket_id, tid.table]).fetchone()[0]  # type: ignore[index]
    )


def _stored(con: "duckdb.DuckDBPyConnection", tid: TableId) -> TableId:
    """The table as storage spells it when it exists under another case (in.c-b.Daily for in.c-b.daily)."""
    row = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE lower(schema_name) = lower(?) "
                      "AND lower(table_name) = lower(?) AND database_name = current_database()",
                      [tid.bucket_id, tid.table]).fetchone()
    return TableId.parse(f"{row[0]}.{row[1]}") if row else tid


def _human_size(n: Any) -> str:
    import pandas as pd

    if n is None or pd.isna(n):
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
