"""Writing storage tables into Snowflake: load staging tables, then change every target in ONE transaction.

Snowflake commits before and after any DDL, so nothing touches a target table until every table of the run
is staged:
1. each table is loaded into its own staging table (`__KBNB_STAGE_<hash>`, typed like the target). Rows
   travel as JSON text bound to ONE parameter per statement (`INSERT ... SELECT ... FROM
   TABLE(FLATTEN(PARSE_JSON(?)))`, up to CHUNK_BYTES each), so a million rows are a few hundred statements
   and no value is ever pasted into SQL; bad values fail here, before any target changes. A full load's
   primary key is checked for duplicates here too (Snowflake does not enforce keys);
2. at commit, ONE transaction of DML: a full load empties and refills its table, an incremental load deletes
   the rows whose key is staged and inserts the staged ones (one per key); a table that does not exist yet
   is filled under a temporary name (`__KBNB_NEW_<hash>`);
3. after COMMIT the new tables are renamed to their names and the staging tables dropped.
A failure before the COMMIT leaves every target as it was; leftovers carry fixed names and are dropped by
the next run. The one window: a new table whose rename after the COMMIT fails exists only under its
temporary name (the next run drops it and writes it again).

On real Snowflake, PUT to a stage + COPY INTO is faster for big tables; it is not used here because the
emulator the tests run against cannot take a PUT, and untested code is not shipped.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ...connectors.snowflake import SnowflakeConnector, _message, _named, ident
from ...connectors.snowflake import quote_ident as q
from ...engine.progress import until_cancelled
from ...engine.staging import StagingTarget
from ...errors import KeboolaError
from .model import column_definitions
from .snowflake_types import snowflake_type

if TYPE_CHECKING:
    import pyarrow as pa
    from snowflake.connector import SnowflakeConnection

    from ...engine.progress import Progress
    from .model import Item, WriterRow

CHUNK_BYTES = 8 << 20  # JSON per statement: well below Snowflake's 16 MB limit for one bound value


@dataclass
class _Staged:
    db_name: str
    incremental: bool
    stage: str
    fresh: str = ""  # the table does not exist yet: it is filled under this name, then renamed
    names: list[str] = field(default_factory=list)
    pk: list[str] = field(default_factory=list)


class SnowflakeTarget(StagingTarget):
    def __init__(self, name: str, db: dict[str, Any]) -> None:
        self.name = name
        self.database = str(db.get("database") or "")
        self.schema = str(db.get("schema") or "PUBLIC")
        self.label = f"{db.get('host')}:{db.get('port')}/{self.database}"
        self.connector = SnowflakeConnector(name, {k: v for k, v in db.items() if k != "driver"})
        self.conn: "SnowflakeConnection | None" = None
        self.staged: list[_Staged] = []

    def _errors(self) -> AbstractContextManager[None]:
        return driver_errors()

    def where(self, db_name: str) -> str:
        return f"{self.database}.{self.schema}.{db_name}"

    def open(self) -> None:
        """A session of its own with autocommit off (a wrong password gets the connector's diagnosis)."""
        self.conn = self.connector.open(statement_timeout=0, autocommit=False)
        with driver_errors():
            exists = self._run(f"SHOW SCHEMAS IN DATABASE {ident(self.database)}", named=self.schema)
        if not exists:
            raise KeboolaError(
                f"schema {self.schema!r} does not exist in database {self.database!r} of connection {self.name!r}",
                fix=f"create it (CREATE SCHEMA {self.schema}) or change the writer's parameters.db.schema",
            )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _run(self, sql: str, args: Any = None, named: str | None = None) -> Any:
        assert self.conn is not None, "open() first"
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            if named is not None:
                return _named(cur, named)
            return cur.fetchall() if cur.description else []

    def _commit(self) -> None:
        assert self.conn is not None
        for s in self.staged:
            names = ", ".join(q(c) for c in s.names)
            target = q(s.fresh or s.db_name)
            one_per_key = ""
            if s.incremental and s.pk:
                keys = ", ".join(q(c) for c in s.pk)
                one_per_key = f" QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {keys}) = 1"
                if not s.fresh:
                    match = " AND ".join(f"{target}.{q(c)} = {q(s.stage)}.{q(c)}" for c in s.pk)
                    self._run(f"DELETE FROM {target} USING {q(s.stage)} WHERE {match}")
            elif not s.incremental and not s.fresh:
                self._run(f"DELETE FROM {target}")
            self._run(f"INSERT INTO {target} ({names}) SELECT {names} FROM {q(s.stage)}{one_per_key}")
        self.conn.commit()  # every target changes here, or none
        for s in self.staged:
            if s.fresh:
                self._run(f"ALTER TABLE {q(s.fresh)} RENAME TO {q(s.db_name)}")
        self._drop([s.stage for s in self.staged])

    def _clean_up(self) -> None:
        """Roll back and drop what this run staged; on a dead connection the next run drops it instead."""
        if self.conn is None or self.conn.is_closed():
            return
        with suppress(Exception):  # the original error is the one to report
            self.conn.rollback()
            self._drop([n for s in self.staged for n in (s.stage, s.fresh) if n])

    def _drop(self, tables: list[str]) -> None:
        assert self.conn is not None
        for table in tables:
            self._run(f"DROP TABLE IF EXISTS {q(table)}")
        self.conn.commit()

    # one table ---------------------------------------------------------------------------------
    def write(self, params: "WriterRow", batches: Iterable["pa.RecordBatch"], total: int, progress: "Progress") -> int:
        """Load one table into its staging table; the target changes only at commit."""
        items = params.written
        db_names = {i.name: i.dbName for i in items}
        pk = [db_names[c] for c in params.primaryKey]
        tag = hashlib.sha1(params.dbName.encode()).hexdigest()[:12].upper()
        stage, fresh = f"__KBNB_STAGE_{tag}", f"__KBNB_NEW_{tag}"
        self._drop([stage, fresh])  # from an interrupted run
        staged = _Staged(params.dbName, params.incremental, stage, names=[i.dbName for i in items], pk=pk)
        self.staged.append(staged)
        self._run(f"CREATE TABLE {q(stage)} ({_columns(items, [])})")
        have = [r[0] for r in self._run("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_schema = CURRENT_SCHEMA() AND table_name = ?", [params.dbName])]
        if have:
            missing = [i.dbName for i in items if i.dbName not in have]
            if missing:
                raise KeboolaError(
                    f"table {self.where(params.dbName)} has no column(s) {', '.join(missing)}",
                    fix="add them to the table, or drop it so the writer creates it again")
        else:
            staged.fresh = fresh
            self._run(f"CREATE TABLE {q(fresh)} ({_columns(items, pk)})")
        sent = self._insert(stage, items, batches, total, progress)
        if pk and not params.incremental:
            keys = ", ".join(q(c) for c in pk)
            dup = self._run(f"SELECT {keys}, COUNT(*) FROM {q(stage)} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1")
            if dup:
                raise KeboolaError(
                    f"the primary key is not unique in the data: ({', '.join(pk)}) = "
                    f"({', '.join(str(v) for v in dup[0][:-1])}) appears {dup[0][-1]} times",
                    fix="choose a primary key that is unique in the storage table")
        return sent

    def _insert(self, table: str, items: "list[Item]", batches: Iterable["pa.RecordBatch"], total: int,
                progress: "Progress") -> int:
        """Rows as JSON arrays of text, one bound parameter per statement; the server casts each value."""
        import pyarrow as pa
        import pyarrow.compute as pc

        names = ", ".join(q(i.dbName) for i in items)
        values = ", ".join(_from_text(f"value[{n}]::VARCHAR", item) for n, item in enumerate(items))
        sql = f"INSERT INTO {q(table)} ({names}) SELECT {values} FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?)))"
        sent = 0
        chunk: list[str] = []
        size = 0
        for batch in until_cancelled(batches, progress):
            if batch.num_rows == 0:
                continue
            line = pc.binary_join_element_wise(*batch.columns, ",")
            for row in pc.binary_join_element_wise(pa.scalar("["), line, pa.scalar("]"), "").to_pylist():
                if chunk and size + len(row) > CHUNK_BYTES:
                    self._run(sql, ["[" + ",".join(chunk) + "]"])
                    chunk, size = [], 0
                chunk.append(row)
                size += len(row) + 1
            sent += batch.num_rows
            if total:
                progress.advance(sent / total)
        if chunk:
            self._run(sql, ["[" + ",".join(chunk) + "]"])
        return sent

    # how storage values travel -----------------------------------------------------------------
    def as_text(self, column: str, duck_type: str) -> str:
        """A storage column as one JSON value: its text in the form Snowflake casts from, or null."""
        t = duck_type.upper().strip()
        kind, _ = snowflake_type(t)
        if t == "TIMESTAMP WITH TIME ZONE":
            text = f"strftime(timezone('UTC', {column}), '%Y-%m-%d %H:%M:%S.%f') || '+00:00'"
        elif t.startswith("TIMESTAMP"):
            text = f"strftime({column}::TIMESTAMP, '%Y-%m-%d %H:%M:%S.%f')"
        elif t == "BLOB":
            text = f"hex({column})"
        elif kind == "VARIANT" and t != "JSON":
            text = f"to_json({column})::VARCHAR"
        else:
            text = f"{column}::VARCHAR"
        return f"coalesce(to_json({text})::VARCHAR, 'null')"


def _from_text(value: str, item: "Item") -> str:
    """The SQL that turns one JSON text value into the item's type."""
    kind = item.type.upper()
    if kind in ("VARIANT", "OBJECT", "ARRAY"):
        return f"PARSE_JSON({value})"
    if kind in ("BINARY", "VARBINARY"):
        return f"TO_BINARY({value}, 'HEX')"
    if kind in ("VARCHAR", "STRING", "TEXT") and not item.size:
        return value
    return f"CAST({value} AS {item.sql_type()})"


def _columns(items: "list[Item]", pk: list[str]) -> str:
    return column_definitions(items, pk, q, _string_literal)


def _string_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@contextmanager
def driver_errors() -> Iterator[None]:
    """Driver errors as one clear line each."""
    import snowflake.connector

    try:
        yield
    except snowflake.connector.Error as e:
        text = _message(e)
        state = getattr(e, "sqlstate", None) or ""
        if state.startswith("22"):  # data exception: a value does not fit its column's type
            raise KeboolaError(f"a value does not fit its column: {text}",
                               fix="change that item's type in the writer, or fix the data in storage") from None
        if state == "42501" or "insufficient privileges" in text.lower():
            raise KeboolaError(f"the role may not do this: {text}",
                               fix="ask for CREATE TABLE on the schema and INSERT, DELETE on the tables") from None
        raise KeboolaError(text) from None


def target(name: str, db: dict[str, Any]) -> SnowflakeTarget:
    return SnowflakeTarget(name, db)
