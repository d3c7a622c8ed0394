"""Writing storage tables into BigQuery as Keboola's writer does (an incremental load appends, a full load
replaces the table), but all or nothing: load into staging tables, then append or replace in atomic steps.

The dataset is created in `location` when it is missing, as Keboola's writer creates it (a run that fails later
leaves that empty dataset). Nothing touches a target table until every table of the run is staged:
1. each table's rows are cast to the items' BigQuery types (a value that does not fit fails here), streamed
   into a Parquet file (bounded memory) and loaded into its own staging table `kbnb_stage__<dbName>`;
2. at commit, the incremental loads into existing tables run as ONE multi-statement transaction of INSERTs
   (appends; no primary key is used) - BigQuery rolls it all back on failure;
3. then each full load (and each table that did not exist yet) is one copy job staging -> target with
   WRITE_TRUNCATE, which replaces the table (data and schema) atomically and creates it when missing.
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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ...connectors.bigquery import REQUEST_TIMEOUT_S, BigQueryConnector
from ...engine.progress import until_cancelled
from ...errors import KeboolaError
from ...store.secrets import redact
from .model import bq_type

if TYPE_CHECKING:
    import pyarrow as pa

    from ...engine.progress import Progress
    from .model import BigQueryItem, BigQueryWriterRow

STAGE_PREFIX = "kbnb_stage__"


RETRY_DEADLINE_S = 120.0  # a call BigQuery keeps answering with a server error fails after this, named


def _retry() -> Any:
    """The client's retry of transient errors, bounded: its own default retries for up to 10 minutes in silence."""
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(RETRY_DEADLINE_S)


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


class BigQueryTarget:
    def __init__(self, name: str, db: dict[str, Any], *, note: Callable[[str], None]) -> None:
        self.name = name
        account = db.get("service_account") or {}
        self.location: str | None = db.get("location")  # None: the dataset's, whatever it is
        self.connector = BigQueryConnector(name, {"project": account.get("project_id"), "service_account": account,
                                                  "dataset": db.get("dataset"), "location": self.location})
        self.project = self.connector.project
        self.schema = str(db.get("dataset") or "")
        self.label = f"bigquery://{self.project}/{self.schema}"
        self.note = note
        self.staged: list[_Staged] = []
        self.client: Any = None

    def where(self, db_name: str) -> str:
        return f"{self.project}.{self.schema}.{db_name}"

    def open(self) -> None:
        """Connect, and find the dataset or create it in `location` (Google's errors get the connector's diagnosis);
        every job then runs in the dataset's location."""
        self.client = self.connector.client()
        dataset, created = self.connector.call(f"opening dataset {self.project}.{self.schema}", self._dataset)
        if created:
            self.note(f"dataset {self.project}.{self.schema} did not exist: created it in {dataset.location}, "
                      "as Keboola's writer does")
        elif self.location and (dataset.location or "").upper() != self.location.upper():
            raise KeboolaError(f"dataset {self.project}.{self.schema} is in location {dataset.location}, but the "
                               f"writer's location is {self.location}",
                               fix=f"set parameters.location to {dataset.location!r}, or write to a dataset in "
                                   f"{self.location}")
        self.location = dataset.location or self.location

    def _dataset(self) -> tuple[Any, bool]:
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        ref = f"{self.project}.{self.schema}"
        try:
            return self.client.get_dataset(ref, retry=None, timeout=REQUEST_TIMEOUT_S), False
        except NotFound:
            dataset = bigquery.Dataset(ref)
            dataset.location = self.location
            return self.client.create_dataset(dataset, timeout=REQUEST_TIMEOUT_S), True

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
            existing = self.client.get_table(self.where(params.dbName), retry=_retry())
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
            self.client.delete_table(self.where(stage), not_found_ok=True, retry=_retry())
            self.client.create_table(bigquery.Table(self.where(stage), schema=schema), retry=_retry())
            config = bigquery.LoadJobConfig(source_format="PARQUET", schema=schema,
                                            write_disposition="WRITE_TRUNCATE",
                                            decimal_target_types=["NUMERIC", "BIGNUMERIC"])
            with open(path, "rb") as f:
                self.client.load_table_from_file(f, self.where(stage), job_config=config,
                                                 location=self.location).result(retry=_retry())
        finally:
            os.unlink(path)
        self.staged.append(_Staged(params.dbName, stage, params.incremental, existing is not None,
                                   [i.dbName for i in items]))
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
        """Stage every table inside the block; on a clean exit append (one transaction), then replace (copy jobs)."""
        self.staged = []
        try:
            yield
            self._commit()
        finally:
            for s in self.staged:
                self.client.delete_table(self.where(s.stage), not_found_ok=True, retry=_retry())
            self.staged = []

    def _commit(self) -> None:
        from google.cloud import bigquery

        statements = [self._append(s) for s in self.staged if s.incremental and s.exists]
        if statements:
            script = "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"
            self.client.query(script, location=self.location, retry=_retry()).result(retry=_retry())
        for s in self.staged:
            if not (s.incremental and s.exists):
                config = bigquery.CopyJobConfig(write_disposition="WRITE_TRUNCATE",
                                                create_disposition="CREATE_IF_NEEDED")
                self.client.copy_table(self.where(s.stage), self.where(s.db_name), job_config=config,
                                       location=self.location, retry=_retry()).result(retry=_retry())

    def _append(self, s: _Staged) -> str:
        names = ", ".join(f"`{n}`" for n in s.names)
        return f"INSERT INTO `{self.where(s.db_name)}` ({names}) SELECT {names} FROM `{self.where(s.stage)}`"
