"""Writing storage tables into PostgreSQL: COPY into a staging table, then swap or upsert, in ONE transaction.

Every table of a run is written inside one target transaction. A full load creates the staging table in
that transaction, COPYs into it (CSV over psycopg, formatted by DuckDB and Arrow; measured close to
`psql \\copy`), adds the primary key, then drops the old table and renames the staging table. An incremental
load COPYs into a temporary table and upserts from it (INSERT ... ON CONFLICT). If anything fails, or the
connection dies mid-COPY, the server rolls the whole transaction back: the target stays as it was.
"""

from __future__ import annotations

import hashlib
import io
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ...connectors import open_connector
from ...connectors.postgres import quote_ident as q
from ...engine.progress import until_cancelled
from ...errors import KeboolaError
from .model import column_definitions, pg_type

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

    from ...engine.progress import Progress
    from .model import Item, WriterRow

TABLE_COLUMNS_SQL = """
SELECT a.attname::text FROM pg_attribute a
 WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
"""
# A unique index over exactly these columns (in any order) lets INSERT ... ON CONFLICT use them.
UNIQUE_ON_SQL = """
SELECT count(*) FROM pg_index i
 WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL
   AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
         WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = %s::text[]
"""
# Views and rules on the old table: dropping it would drop them (or fail), so such a table is refilled.
DEPENDENTS_SQL = """
SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
 WHERE d.refobjid = %s::regclass AND r.ev_class <> d.refobjid
"""


class PostgresTarget:
    def __init__(self, name: str, db: dict[str, Any]) -> None:
        self.name = name
        self.schema = db.get("schema") or "public"
        self.database = db.get("database")
        self.label = f"{db.get('host')}:{db.get('port')}/{self.database}"
        self.connector: Any = open_connector("postgresql", name, {k: v for k, v in db.items() if k != "schema"})
        self.conn: "psycopg.Connection | None" = None

    def where(self, db_name: str) -> str:
        return f"{self.schema}.{db_name}"

    @staticmethod
    def as_text(column: str, duck_type: str) -> str:
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

    def open(self) -> None:
        """Connect (a wrong password or host gets the connector's diagnosis) and check the schema."""
        conn = self.connector.connection()
        conn.execute("SET statement_timeout = 0")  # a large COPY may take longer than a preview's limit
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema]).fetchone()
        if not found:
            raise KeboolaError(
                f"schema {self.schema!r} does not exist in database {self.database!r} of connection {self.name!r}",
                fix=f"create it (CREATE SCHEMA {q(self.schema)}) or change the writer's parameters.db.schema",
            )
        self.conn = conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        assert self.conn is not None, "open() first"
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.connector.close()

    # one table ---------------------------------------------------------------------------------
    def write(self, params: "WriterRow", batches: Iterable["pa.RecordBatch"], total: int, progress: "Progress") -> int:
        """Write one table inside the open transaction; returns the rows sent."""
        assert self.conn is not None
        conn = self.conn
        items = params.written
        target = f"{q(self.schema)}.{q(params.dbName)}"
        exists = conn.execute("SELECT to_regclass(%s)", [target]).fetchone()[0] is not None  # type: ignore[index]
        db_names = {i.name: i.dbName for i in items}
        pk = [db_names[c] for c in params.primaryKey]  # in key order, which may differ from column order
        tag = hashlib.sha1(params.dbName.encode()).hexdigest()[:10]
        if params.incremental:
            if not exists:
                conn.execute(f"CREATE TABLE {target} ({_columns(items, pk)})")
            self._check_columns(target, items, params)
            staging = q(f"__kbnb_stage_{tag}")
            conn.execute(f"CREATE TEMPORARY TABLE {staging} ({_columns(items, [])}) ON COMMIT DROP")
            rows = self._copy(staging, items, batches, total, progress)
            self._upsert(target, staging, items, pk)
            conn.execute(f"DROP TABLE {staging}")
            return rows
        staging_name = f"__kbnb_stage_{tag}"
        staging = f"{q(self.schema)}.{q(staging_name)}"
        conn.execute(f"CREATE TABLE {staging} ({_columns(items, [])})")
        rows = self._copy(staging, items, batches, total, progress)
        if pk:  # built once over the loaded rows: faster than keeping an index up to date during COPY
            conn.execute(f"ALTER TABLE {staging} ADD CONSTRAINT {q(staging_name + '_pkey')} "
                         f"PRIMARY KEY ({', '.join(q(c) for c in pk)})")
        if exists and conn.execute(DEPENDENTS_SQL, [target]).fetchone()[0]:  # type: ignore[index]
            self._check_columns(target, items, params)
            names = ", ".join(q(i.dbName) for i in items)
            conn.execute(f"TRUNCATE {target}")
            conn.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {staging}")
            conn.execute(f"DROP TABLE {staging}")
            return rows
        if exists:
            conn.execute(f"DROP TABLE {target}")
        conn.execute(f"ALTER TABLE {staging} RENAME TO {q(params.dbName)}")
        if pk:
            conn.execute(f"ALTER TABLE {target} RENAME CONSTRAINT {q(staging_name + '_pkey')} "
                         f"TO {q((params.dbName + '_pkey')[:63])}")
        return rows

    def _copy(self, table: str, items: "list[Item]", batches: Iterable["pa.RecordBatch"], total: int,
              progress: "Progress") -> int:
        import pyarrow.csv as pacsv
        from psycopg.copy import QueuedLibpqWriter

        assert self.conn is not None
        options = pacsv.WriteOptions(include_header=False)  # strings quoted, NULL left empty: PostgreSQL's CSV
        names = ", ".join(q(i.dbName) for i in items)
        sent = 0
        with self.conn.cursor() as cur:
            # The queued writer sends from its own thread, so formatting the next batch overlaps the server.
            with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')",
                          writer=QueuedLibpqWriter(cur)) as copy:
                for batch in until_cancelled(batches, progress):
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, options)
                    copy.write(buffer.getbuffer())
                    sent += batch.num_rows
                    if total:
                        progress.advance(sent / total)
        return sent

    def _check_columns(self, target: str, items: "list[Item]", params: "WriterRow") -> None:
        assert self.conn is not None
        have = {r[0] for r in self.conn.execute(TABLE_COLUMNS_SQL, [target]).fetchall()}
        missing = [i.dbName for i in items if i.dbName not in have]
        if missing:
            raise KeboolaError(
                f"table {self.where(params.dbName)} has no column(s) {', '.join(missing)}",
                fix="add them to the table, or write it once with incremental: false to recreate it",
            )

    def _upsert(self, target: str, staging: str, items: "list[Item]", pk: list[str]) -> None:
        assert self.conn is not None
        conn = self.conn
        names = ", ".join(q(i.dbName) for i in items)
        if not pk:
            conn.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {staging}")
            return
        keys = ", ".join(q(c) for c in pk)
        fresh = f"SELECT DISTINCT ON ({keys}) {names} FROM {staging}"  # one row per key: ON CONFLICT needs it
        if conn.execute(UNIQUE_ON_SQL, [target, sorted(pk)]).fetchone()[0]:  # type: ignore[index]
            others = [i.dbName for i in items if i.dbName not in pk]
            action = (f"DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in others)}" if others
                      else "DO NOTHING")
            conn.execute(f"INSERT INTO {target} ({names}) {fresh} ON CONFLICT ({keys}) {action}")
            return
        # The table has no unique key to conflict on: replace the matching rows instead.
        match = " AND ".join(f"t.{q(c)} IS NOT DISTINCT FROM s.{q(c)}" for c in pk)
        conn.execute(f"DELETE FROM {target} t USING {staging} s WHERE {match}")
        conn.execute(f"INSERT INTO {target} ({names}) {fresh}")


def _columns(items: "list[Item]", pk: list[str]) -> str:
    return column_definitions(items, pk, q, _literal)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def target(name: str, db: dict[str, Any]) -> PostgresTarget:
    return PostgresTarget(name, db)
