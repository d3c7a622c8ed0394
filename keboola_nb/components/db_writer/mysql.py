"""Writing storage tables into MySQL / MariaDB: LOAD DATA into staging tables, then upsert and swap.

MySQL DDL is not transactional, so nothing touches a target table until every table of the run is staged:
1. each table is loaded (LOAD DATA LOCAL INFILE of CSV that DuckDB formats, sent through a named pipe so
   formatting and loading overlap) into its own staging table;
   a full load's staging table has the primary key, so duplicate keys fail before anything changes;
2. at commit, the incremental tables are upserted (INSERT ... ON DUPLICATE KEY UPDATE) from their staging
   tables in ONE InnoDB transaction, which a failure rolls back;
3. then ONE `RENAME TABLE t TO old, staging TO t, ...` swaps every full load at once (atomic), and the old
   tables are dropped. A table that other tables' foreign keys point at is instead emptied and refilled
   in the transaction of step 2 (a rename would take the foreign keys along).
An interruption before step 3 leaves every target as it was (the old table still named t); leftover staging
tables carry fixed names and are dropped by the next run. A run that mixes incremental and full loads has
one short window, between the COMMIT of step 2 and the RENAME of step 3, that a lost connection could split. LOAD DATA LOCAL turns bad values into warnings,
so any warning fails the load.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import threading
import time
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator

from ...connectors.mysql import MySqlConnector
from ...connectors.mysql import quote_ident as q
from ...engine.progress import until_cancelled
from ...engine.staging import StagingTarget
from ...errors import KeboolaError
from ...store.secrets import redact
from .model import column_definitions
from .mysql_types import mysql_type

if TYPE_CHECKING:
    import pyarrow as pa
    import pymysql

    from ...engine.progress import Progress
    from .model import Item, WriterRow

INSERT_BYTES = 4 << 20  # multi-row INSERT statements of up to 4 MB when the server refuses LOAD DATA LOCAL
COLLATION = "utf8mb4_bin"  # keys compare exactly as in storage ('a' and 'A' are two keys)
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "decimal", "float", "double")
_DOES_NOT_FIT = (1264, 1265, 1292, 1366, 1406, 1048, 1261, 1262, 1263, 1452)
_LOST = (2006, 2013, 2055)

REFERENCED_SQL = """
SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS
 WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = %s LIMIT 1
"""
UNIQUE_ON_SQL = """
SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY COLUMN_NAME SEPARATOR '\\0') FROM information_schema.STATISTICS
 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND NON_UNIQUE = 0 GROUP BY INDEX_NAME
"""


class _Connector(MySqlConnector):
    """The MySQL connector, allowed to send a local file for LOAD DATA LOCAL INFILE."""

    def _params(self) -> dict[str, Any]:
        return super()._params() | {"local_infile": True}


@dataclass
class _Staged:
    db_name: str
    incremental: bool
    stage: str  # staging table name
    exists: bool
    names: list[str] = field(default_factory=list)
    pk: list[str] = field(default_factory=list)
    fresh: str = ""  # incremental into a new table: it is built here, then renamed to db_name
    refill: bool = False  # a full load of a table other tables' foreign keys point at: emptied and refilled


class MySqlTarget(StagingTarget):
    def __init__(self, name: str, db: dict[str, Any]) -> None:
        self.name = name
        self.database = str(db.get("database") or "")
        self.schema = self.database  # MySQL: the database is the schema
        self.label = f"{db.get('host')}:{db.get('port')}/{self.database}"
        self.connector = _Connector(name, {k: v for k, v in db.items() if k not in ("schema", "driver")})
        self.conn: "pymysql.connections.Connection | None" = None
        self.staged: list[_Staged] = []
        self.local_infile = True  # the server's answer, read by open()
        self.statement_bytes = INSERT_BYTES

    def _errors(self) -> AbstractContextManager[None]:
        return driver_errors()

    def where(self, db_name: str) -> str:
        return f"{self.database}.{db_name}"

    def open(self) -> None:
        """Connect (a wrong password or unknown database gets the connector's diagnosis)."""
        conn = self.connector.connection()
        conn._read_timeout = None  # a large load may take longer than a preview's backstop
        with driver_errors(), conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            mariadb = "mariadb" in cur.fetchone()[0].lower()  # type: ignore[index]
            cur.execute("SET SESSION max_statement_time = 0" if mariadb else "SET SESSION max_execution_time = 0")
            cur.execute("SET SESSION sql_mode = CONCAT_WS(',', @@sql_mode, 'STRICT_ALL_TABLES')")
            cur.execute("SELECT @@local_infile, @@max_allowed_packet")
            local_infile, max_packet = cur.fetchone()  # type: ignore[misc]
        self.local_infile = bool(int(local_infile))
        self.statement_bytes = min(int(max_packet) // 2, INSERT_BYTES)
        self.conn = conn

    def close(self) -> None:
        self.connector.close()

    def _run(self, sql: str, args: Any = None) -> list[tuple]:
        assert self.conn is not None, "open() first"
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _commit(self) -> None:
        assert self.conn is not None
        self.conn.begin()
        try:
            for s in self.staged:
                if s.incremental:
                    self._upsert(s.fresh or s.db_name, s)
                elif s.refill:
                    self._refill(s)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        renames, old = [], []
        for s in self.staged:
            if s.fresh:
                renames.append(f"{q(s.fresh)} TO {q(s.db_name)}")
            elif not s.incremental and not s.refill:
                if s.exists:
                    old.append(_name("old", s.db_name))
                    renames.append(f"{q(s.db_name)} TO {q(old[-1])}")
                renames.append(f"{q(s.stage)} TO {q(s.db_name)}")
        if renames:
            self._run(f"RENAME TABLE {', '.join(renames)}")
        leftovers = old + [s.stage for s in self.staged if s.incremental or s.refill]
        if leftovers:
            self._run(f"DROP TABLE IF EXISTS {', '.join(q(t) for t in leftovers)}")

    def _refill(self, s: _Staged) -> None:
        """Make a table other tables' foreign keys point at equal to its staging table, without renaming it:
        rows whose key is gone are deleted, the others upserted (a referenced row that is gone fails)."""
        if not s.pk:
            names = ", ".join(q(c) for c in s.names)
            self._run(f"DELETE FROM {q(s.db_name)}")
            self._run(f"INSERT INTO {q(s.db_name)} ({names}) SELECT {names} FROM {q(s.stage)}")
            return
        match = " AND ".join(f"t.{q(c)} = s.{q(c)}" for c in s.pk)
        self._run(f"DELETE t FROM {q(s.db_name)} t LEFT JOIN {q(s.stage)} s ON {match} WHERE s.{q(s.pk[0])} IS NULL")
        self._upsert(s.db_name, s)

    def _clean_up(self) -> None:
        """Drop what this run staged; on a dead connection the next run drops it instead."""
        names = [n for s in self.staged for n in (s.stage, s.fresh) if n]
        if not names or self.conn is None or not self.conn.open:
            return
        with suppress(Exception):  # the original error is the one to report
            self._run(f"DROP TABLE IF EXISTS {', '.join(q(n) for n in names)}")

    # one table ---------------------------------------------------------------------------------
    def write(self, params: "WriterRow", batches: Iterable["pa.RecordBatch"], total: int, progress: "Progress") -> int:
        """Load one table into its staging table; the target changes only at commit."""
        items = params.written
        db_names = {i.name: i.dbName for i in items}
        pk = [db_names[c] for c in params.primaryKey]
        stage, old, fresh = (_name(k, params.dbName) for k in ("stage", "old", "new"))
        self._run(f"DROP TABLE IF EXISTS {q(stage)}, {q(old)}, {q(fresh)}")  # from an interrupted run
        exists = bool(self._run("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                                "AND TABLE_NAME = %s", [params.dbName]))
        staged = _Staged(params.dbName, params.incremental, stage, exists, [i.dbName for i in items], pk)
        if exists and not params.incremental:
            staged.refill = bool(self._run(REFERENCED_SQL, [params.dbName]))
            if staged.refill:
                self._check_columns(params)
        self.staged.append(staged)
        # A full load's staging table has the key from the start (InnoDB rebuilds a table to add one later).
        self._run(f"CREATE TABLE {q(stage)} ({_columns(items, [] if params.incremental else pk)}) {_TABLE_OPTIONS}")
        if params.incremental:
            if exists:
                self._check_columns(params)
            else:
                staged.fresh = fresh
                self._run(f"CREATE TABLE {q(fresh)} ({_columns(items, pk)}) {_TABLE_OPTIONS}")
        if not self.local_infile:
            return self._insert(stage, items, batches, total, progress)
        return self._load(stage, items, batches, total, progress)

    def _insert(self, table: str, items: "list[Item]", batches: Iterable["pa.RecordBatch"], total: int,
                progress: "Progress") -> int:
        """Multi-row INSERTs, for servers with local_infile off (1M rows: 8.7 s, LOAD DATA about 4-5 s)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        head = f"INSERT INTO {q(table)} ({', '.join(q(i.dbName) for i in items)}) VALUES "
        sent = 0
        for batch in until_cancelled(batches, progress):
            if batch.num_rows == 0:
                continue
            line = pc.binary_join_element_wise(*batch.columns, ",")
            tuples = pc.binary_join_element_wise(pa.scalar("("), line, pa.scalar(")"), "").to_pylist()
            chunk: list[str] = []
            size = 0
            for value in tuples:
                if chunk and size + len(value) > self.statement_bytes:
                    self._run(head + ",".join(chunk))
                    chunk, size = [], 0
                chunk.append(value)
                size += len(value) + 1
            if chunk:
                self._run(head + ",".join(chunk))
            sent += batch.num_rows
            if total:
                progress.advance(sent / total)
        return sent

    def _load(self, table: str, items: "list[Item]", batches: Iterable["pa.RecordBatch"], total: int,
              progress: "Progress") -> int:
        """LOAD DATA LOCAL from a named pipe: the server loads while the next batches are formatted."""
        assert self.conn is not None
        conn = self.conn
        targets, sets = [], []
        for i, item in enumerate(items):
            if _binary(item):  # sent as hex: raw bytes would not survive the text file
                targets.append(f"@v{i}")
                sets.append(f"{q(item.dbName)} = UNHEX(@v{i})")
            else:
                targets.append(q(item.dbName))
        folder = tempfile.mkdtemp(prefix="kbnb-mysql-")
        path = os.path.join(folder, "rows.csv")
        os.mkfifo(path, 0o600)
        sql = (f"LOAD DATA LOCAL INFILE {conn.escape(path)} INTO TABLE {q(table)} CHARACTER SET utf8mb4 "
               "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
               f"({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else ""))
        result: dict[str, Any] = {}

        def load() -> None:
            try:
                with conn.cursor() as cur:
                    result["loaded"] = cur.execute(sql)
                    cur.execute("SHOW WARNINGS LIMIT 1")
                    result["warning"] = cur.fetchone()
            except BaseException as e:  # noqa: BLE001 - handed to the writing thread
                result["error"] = e

        loader = threading.Thread(target=load, name="kbnb-mysql-load", daemon=True)
        loader.start()
        sent = 0
        out = None
        try:
            out = _open_pipe(path, loader)
            if out is not None:
                with out:
                    for batch in until_cancelled(batches, progress):
                        try:
                            out.write(_csv_lines(batch))
                        except BrokenPipeError:  # the load stopped reading; its error says why
                            break
                        sent += batch.num_rows
                        if total:
                            progress.advance(sent / total)
        finally:  # closing the pipe ends the load; wait for it before the connection is used again
            if out is None:  # interrupted before writing: open and close the pipe so the load is not left waiting
                with suppress(OSError):
                    late = _open_pipe(path, loader)
                    if late is not None:
                        late.close()
            loader.join()
            shutil.rmtree(folder, ignore_errors=True)
        if "error" in result:
            raise result["error"]
        if result["warning"]:  # LOAD DATA LOCAL skips duplicate keys and stores bad values with a warning: refuse
            raise _from_code(int(result["warning"][1]), str(result["warning"][2]))
        if result["loaded"] != sent:
            raise KeboolaError(f"the server loaded {result['loaded']:,} of {sent:,} rows")
        return sent

    def _check_columns(self, params: "WriterRow") -> None:
        have = {r[0] for r in self._run("SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", [params.dbName])}
        missing = [i.dbName for i in params.written if i.dbName not in have]
        if missing:
            raise KeboolaError(
                f"table {self.where(params.dbName)} has no column(s) {', '.join(missing)}",
                fix="add them to the table, or write it once with incremental: false to recreate it",
            )

    def _upsert(self, target: str, s: _Staged) -> None:
        names = ", ".join(q(c) for c in s.names)
        if not s.pk:
            self._run(f"INSERT INTO {q(target)} ({names}) SELECT {names} FROM {q(s.stage)}")
            return
        unique = {tuple(cols.split("\0")) for _, cols in self._run(UNIQUE_ON_SQL, [target])}
        if tuple(sorted(s.pk)) in unique:
            others = [c for c in s.names if c not in s.pk] or s.pk[:1]
            update = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in others)
            self._run(f"INSERT INTO {q(target)} ({names}) SELECT {names} FROM {q(s.stage)} "
                      f"ON DUPLICATE KEY UPDATE {update}")
            return
        # The table has no unique key on these columns: replace the matching rows instead.
        match = " AND ".join(f"t.{q(c)} <=> s.{q(c)}" for c in s.pk)
        self._run(f"DELETE t FROM {q(target)} t JOIN {q(s.stage)} s ON {match}")
        self._run(f"INSERT INTO {q(target)} ({names}) SELECT {names} FROM {q(s.stage)}")

    # how storage values travel -----------------------------------------------------------------
    def as_text(self, column: str, duck_type: str) -> str:
        """A storage column as one CSV field LOAD DATA reads (NULL unquoted, text in double quotes),
        or, when the server refuses LOAD DATA LOCAL, as an SQL literal."""
        t = duck_type.upper().strip()
        kind, _ = mysql_type(t)
        if t == "BOOLEAN":
            return f"CASE WHEN {column} IS NULL THEN 'NULL' WHEN {column} THEN '1' ELSE '0' END"
        if kind.split()[0] in _NUMERIC:
            return f"coalesce({column}::VARCHAR, 'NULL')"
        if t == "TIMESTAMP WITH TIME ZONE":
            value = f"strftime(timezone('UTC', {column}), '%Y-%m-%d %H:%M:%S.%f')"
        elif t.startswith("TIMESTAMP"):
            value = f"strftime({column}::TIMESTAMP, '%Y-%m-%d %H:%M:%S.%f')"
        elif t == "BLOB":
            if not self.local_infile:  # an SQL hex literal: x'00FF'
                return f"CASE WHEN {column} IS NULL THEN 'NULL' ELSE 'x''' || hex({column}) || '''' END"
            value = f"hex({column})"
        elif kind == "json" and t != "JSON":
            value = f"to_json({column})::VARCHAR"
        else:
            value = f"{column}::VARCHAR"
        if not self.local_infile:  # an SQL string literal: backslashes and quotes escaped
            value = f"replace({value}, '\\', '\\\\')"
        quote = '"' if self.local_infile else "''"  # the CSV quote, or the SQL one (doubled inside DuckDB's literal)
        return (f"CASE WHEN {column} IS NULL THEN 'NULL' "
                f"ELSE '{quote}' || replace({value}, '{quote}', '{quote}{quote}') || '{quote}' END")


_TABLE_OPTIONS = f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={COLLATION}"


def _name(kind: str, db_name: str) -> str:
    return f"__kbnb_{kind}_{hashlib.sha1(db_name.encode()).hexdigest()[:12]}"


def _open_pipe(path: str, loader: threading.Thread) -> IO[bytes] | None:
    """The pipe's writing end, once the load reads it; None if the load ended before it began to read."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # fails (ENXIO) until a reader is there
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            if not loader.is_alive():
                return None
            time.sleep(0.001)
            continue
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")


def _binary(item: "Item") -> bool:
    return item.type.lower() in ("longblob", "blob", "mediumblob", "tinyblob", "varbinary", "binary")


def _csv_lines(batch: "pa.RecordBatch") -> bytes:
    """Join the already formatted fields of each row into CSV lines (vectorised in Arrow)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if batch.num_rows == 0:
        return b""
    lines = pc.binary_join_element_wise(*batch.columns, ",")
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")  # "a,b" -> "a,b\n"
    wide = pa.types.is_large_string(lines.type)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2].to_pybytes()[start:end]  # no nulls: the data buffer is the lines, back to back


def _columns(items: "list[Item]", pk: list[str]) -> str:
    return column_definitions(items, pk, q, _string_literal)


def _string_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _from_code(code: int, text: str) -> KeboolaError:
    """A data error (raised, or a LOAD DATA LOCAL warning) as one line."""
    if code == 1062:
        return KeboolaError(f"the primary key is not unique in the data: {redact(text)}",
                            fix="choose a primary key that is unique in the storage table")
    return KeboolaError(f"a value does not fit its column: {redact(text)}",
                        fix="change that item's type in the writer, or fix the data in storage")


@contextmanager
def driver_errors() -> Iterator[None]:
    """Driver errors as one clear line each."""
    import pymysql

    try:
        yield
    except pymysql.Error as e:
        code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
        text = redact(str(e.args[-1] if e.args else e)).strip().splitlines()[0]
        if code in _DOES_NOT_FIT or code == 1062:
            raise _from_code(code, text) from None
        if code in (1142, 1044, 1227):
            raise KeboolaError(f"the user may not do this: {text}",
                               fix="ask the database admin for CREATE, DROP, ALTER, INSERT and UPDATE on the database"
                               ) from None
        if code in _LOST or isinstance(e, pymysql.err.InterfaceError):
            raise KeboolaError(f"the target closed the connection mid-write ({text})",
                               fix="run it again when the target is back: no row will be written twice") from None
        if code in (1148, 3948, 4166):
            raise KeboolaError(f"the server refuses LOAD DATA LOCAL INFILE: {text}",
                               fix="ask the database admin to SET GLOBAL local_infile = 1") from None
        raise KeboolaError(text or type(e).__name__) from None


def target(name: str, db: dict[str, Any]) -> MySqlTarget:
    return MySqlTarget(name, db)
