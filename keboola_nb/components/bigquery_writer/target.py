"""Writing storage tables into BigQuery: load into staging tables, then merge or replace in single atomic steps.

Nothing touches a target table until every table of the run is staged:
1. each table's rows are cast to the items' BigQuery types (a value that does not fit fails here), streamed
   into a Parquet file (bounded memory) and loaded into its own staging table `kbnb_stage__<dbName>`;
2. at commit, the incremental loads into existing tables run as ONE multi-statement transaction:
   MERGE by primary key (one row per key), or INSERT when there is none - BigQuery rolls it all back on failure;
3. then each full load (and each table that did not exist yet) is one copy job staging -> target with
   WRITE_TRUNCATE, which replaces the table atomically and creates it when missing.
Staging tables are dropped at the end, whatever happened. A run that fails before step 2 leaves every
target as it was; staging names are fixed, so a retry overwrites them and writes every row exactly once.
Between the commit of step 2 and the copy jobs of step 3 a lost connection could split a run that mixes
incremental and full loads; each table on its own is always all-or-nothing.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ...connectors.bigquery import BigQueryConnector
from ...engine.progress import until_cancelled
from ...errors import KeboolaError
from ...store.secrets import redact
from .model import bq_type

if TYPE_CHECKING:
    import pyarrow as pa

    from ...engine.progress import Progress
    from .model import BigQueryItem, BigQueryWriterRow

STAGE_PREFIX = "kbnb_stage__"


def arrow_type(bq: str) -> "pa.DataType":
    import pyarrow as pa

    return {"INT64": pa.int64(), "INTEGER": pa.int64(), "NUMERIC": pa.decimal128(38, 9),
            "BIGNUMERIC": pa.decimal256(76, 38), "FLOAT64": pa.float64(), "FLOAT": pa.float64(),
            "BOOL": pa.bool_(), "BOOLEAN": pa.bool_(), "STRING": pa.string(), "JSON": pa.string(),
            "DATE": pa.date32(), "DATETIME": pa.timestamp("us"), "TIMESTAMP": pa.timestamp("us", tz="UTC"),
            "TIME": pa.time64("us"), "BYTES": pa.binary()}[bq.upper()]


@dataclass
class _Staged:
    db_name: str
    stage: str
    incremental: bool
    exists: bool
    names: list[str]
    pk: list[str]


class BigQueryTarget:
    def __init__(self, name: str, db: dict[str, Any]) -> None:
        self.name = name
        account = db.get("service_account") or {}
        self.connector = BigQueryConnector(name, {"project": account.get("project_id"), "service_account": account,
                                                  "dataset": db.get("dataset")})
        self.project = self.connector.project
        self.schema = str(db.get("dataset") or "")
        self.label = f"bigquery://{self.project}/{self.schema}"
        self.staged: list[_Staged] = []
        self.client: Any = None

    def where(self, db_name: str) -> str:
        return f"{self.project}.{self.schema}.{db_name}"

    def open(self) -> None:
        """Connect and check the dataset (a bad key or unknown dataset gets the connector's diagnosis)."""
        diagnosis = self.connector.test()
        if not diagnosis.ok:
            raise KeboolaError(diagnosis.message, fix=diagnosis.fix or None)
        self.client = self.connector.client()

    def close(self) -> None:
        self.connector.close()

    @staticmethod
    def as_text(column: str, duck_type: str) -> str:
        """How a storage column leaves storage: as it is, but nested and exotic types as text (JSON)."""
        t = duck_type.upper()
        if bq_type(t) == "JSON" and t != "JSON":
            return f"to_json({column})::VARCHAR"
        if t in ("JSON", "UUID", "UBIGINT", "HUGEINT", "UHUGEINT") or t.startswith("ENUM("):
            return f"{column}::VARCHAR"
        return column

    # staging -------------------------------------------------------------------------------------------
    def write(self, params: "BigQueryWriterRow", batches: Iterable["pa.RecordBatch"], total: int,
              progress: "Progress") -> int:
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        items = params.written
        stage = f"{STAGE_PREFIX}{params.dbName}"
        schema = [bigquery.SchemaField(i.dbName, i.type.upper()) for i in items]
        try:
            existing = self.client.get_table(self.where(params.dbName))
        except NotFound:
            existing = None
        if existing is not None and params.incremental:
            have = {f.name.lower() for f in existing.schema}
            missing = [i.dbName for i in items if i.dbName.lower() not in have]
            if missing:
                raise KeboolaError(f"table {self.where(params.dbName)} has no column(s) {', '.join(missing)}",
                                   fix="add them to the table, or write it once with incremental: false to recreate it")
        path, rows = self._parquet(items, batches, total, progress)
        try:
            self.client.delete_table(self.where(stage), not_found_ok=True)
            self.client.create_table(bigquery.Table(self.where(stage), schema=schema))
            config = bigquery.LoadJobConfig(source_format="PARQUET", schema=schema,
                                            write_disposition="WRITE_TRUNCATE",
                                            decimal_target_types=["NUMERIC", "BIGNUMERIC"])
            with open(path, "rb") as f:
                self.client.load_table_from_file(f, self.where(stage), job_config=config).result()
        finally:
            os.unlink(path)
        db_names = {i.name: i.dbName for i in items}
        self.staged.append(_Staged(params.dbName, stage, params.incremental, existing is not None,
                                   [i.dbName for i in items], [db_names[c] for c in params.primaryKey]))
        return rows

    def _parquet(self, items: "list[BigQueryItem]", batches: Iterable["pa.RecordBatch"], total: int,
                 progress: "Progress") -> tuple[str, int]:
        """The rows, cast to the items' types, in a temporary Parquet file (one batch in memory at a time)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(i.dbName, arrow_type(i.type)) for i in items])
        fd, path = tempfile.mkstemp(prefix="kbnb-bq-", suffix=".parquet")
        os.close(fd)
        sent = 0
        try:
            with pq.ParquetWriter(path, schema) as writer:
                for batch in until_cancelled(batches, progress):
                    columns = []
                    for item, column in zip(items, batch.columns):
                        try:
                            columns.append(column.cast(arrow_type(item.type)))
                        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                            raise KeboolaError(
                                f"a value of column {item.name!r} does not fit BigQuery type {item.type} "
                                f"({redact(str(e)).splitlines()[0]})",
                                fix="change that item's type in the writer, or fix the data in storage") from None
                    writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
                    sent += batch.num_rows
                    if total:
                        progress.advance(sent / total)
        except BaseException:
            os.unlink(path)
            raise
        return path, sent

    # committing ----------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Stage every table inside the block; on a clean exit merge (one transaction), then replace (copy jobs)."""
        self.staged = []
        try:
            yield
            self._commit()
        finally:
            for s in self.staged:
                self.client.delete_table(self.where(s.stage), not_found_ok=True)
            self.staged = []

    def _commit(self) -> None:
        from google.cloud import bigquery

        statements = [self._merge(s) for s in self.staged if s.incremental and s.exists]
        if statements:
            script = "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"
            self.client.query(script).result()
        for s in self.staged:
            if not (s.incremental and s.exists):
                config = bigquery.CopyJobConfig(write_disposition="WRITE_TRUNCATE", create_disposition="CREATE_IF_NEEDED")
                self.client.copy_table(self.where(s.stage), self.where(s.db_name), job_config=config).result()

    def _merge(self, s: _Staged) -> str:
        target, stage = f"`{self.where(s.db_name)}`", f"`{self.where(s.stage)}`"
        names = ", ".join(f"`{n}`" for n in s.names)
        if not s.pk:
            return f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage}"
        keys = ", ".join(f"`{k}`" for k in s.pk)
        # One row per key (MERGE refuses two source rows for one target row).
        source = f"(SELECT * FROM {stage} WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys}) = 1)"
        match = " AND ".join(f"T.`{k}` IS NOT DISTINCT FROM S.`{k}`" for k in s.pk)
        others = [n for n in s.names if n not in s.pk]
        update = (f" WHEN MATCHED THEN UPDATE SET {', '.join(f'`{n}` = S.`{n}`' for n in others)}" if others else "")
        values = ", ".join(f"S.`{n}`" for n in s.names)
        return (f"MERGE {target} T USING {source} S ON {match}{update} "
                f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})")


def target(name: str, db: dict[str, Any]) -> BigQueryTarget:
    return BigQueryTarget(name, db)
