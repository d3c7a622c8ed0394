"""The Google BigQuery extractor (`keboola.ex-google-bigquery-v2`) configuration, with Keboola's layout.

Root `parameters`: `service_account` (the key, `#private_key` a reference) and `google{storage, location}`.
Each row: `parameters.query{query, tableName, incremental, primaryKey, useLegacySql}` - one query per row,
its result loaded into `in.c-keboola-ex-google-bigquery-v2-<configId>.<tableName>`.
`google.storage` is required, as in Keboola: its extractor unloads each result through that bucket. A local
run reads over the Storage Read API and does not use the bucket.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...connectors.bigquery import DEFAULT_LOCATION, unload_bucket
from ...errors import KeboolaError
from ...model.configuration import Configuration
from ...model.google_login import ServiceAccount
from ...model.validation import check_row_keys, validated

COMPONENT_ID = "keboola.ex-google-bigquery-v2"
# A row whose query only selects columns of one table is read straight from table storage (no query cost).
_TABLE_READ = re.compile(r"^SELECT (\*|`[^`]+`(?:, `[^`]+`)*) FROM `([^`.]+)\.([^`.]+)\.([^`.]+)`$")


STORAGE_FIX = ("set parameters.google.storage to a Cloud Storage bucket the service account can write to, e.g. "
               "\"storage\": \"gs://my-bucket\": Keboola's extractor unloads query results through it (a local "
               "run does not use it). New extractors take it from the connection: "
               "bigquery://PROJECT/DATASET?unload=gs://BUCKET")


class Google(BaseModel):
    """Where Keboola's extractor unloads query results: `storage` (gs://BUCKET) in `location`."""

    model_config = ConfigDict(extra="forbid")
    storage: str = ""
    location: str = DEFAULT_LOCATION


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    tableName: str
    incremental: bool = False
    primaryKey: list[str] = Field(default_factory=list)
    useLegacySql: bool = False

    @model_validator(mode="after")
    def _rules(self) -> "Query":
        if not self.query.strip():
            raise ValueError("query is empty")
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,96}", self.tableName):
            raise ValueError(f"tableName {self.tableName!r} may hold only letters, digits, '-' and '_'")
        return self

    def table_read(self) -> tuple[str, str, str, list[str]] | None:
        """(project, dataset, table, columns) when the query just reads one table's columns."""
        match = _TABLE_READ.match(self.query.strip()) if not self.useLegacySql else None
        if not match:
            return None
        columns = [] if match.group(1) == "*" else [c.strip("`") for c in match.group(1).split(", ")]
        return match.group(2), match.group(3), match.group(4), columns


class BigQueryRow(BaseModel):
    """One row's `parameters`, merged with the root."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    service_account: ServiceAccount
    google: Google = Field(default_factory=Google)
    query: Query


def table_query(project: str, dataset: str, table: str, columns: list[str] | None = None) -> str:
    """The query a `tables:` entry becomes; the run recognises it and reads the table directly."""
    select = ", ".join(f"`{c}`" for c in columns) if columns else "*"
    return f"SELECT {select} FROM `{project}.{dataset}.{table}`"


def check_rows(config: Configuration) -> list[tuple[str, BigQueryRow]]:
    where = f"extractor {config.name!r}"
    if not config.rows:
        raise KeboolaError(f"{where} has no queries", fix="add at least one row with a query")
    out = []
    for row in config.rows:
        check_row_keys(row.configuration, f"{where}, row {row.name!r}")
        params = validated(BigQueryRow, config.merged(row).get("parameters", {}), f"{where}, row {row.name!r}")
        _check_storage(params.google.storage, where)
        out.append((row.name, params))
    names = [params.query.tableName for _, params in out]
    if len(set(names)) != len(names):
        raise KeboolaError(f"{where}: two rows write the same tableName", fix="give each query its own tableName")
    return out


def _check_storage(storage: str, where: str) -> None:
    if not storage:
        raise KeboolaError(f"{where}: parameters.google.storage (the Cloud Storage bucket Keboola unloads query "
                           "results through) is not set; Keboola's extractor needs it", fix=STORAGE_FIX)
    try:
        bucket = unload_bucket(storage)
    except KeboolaError as e:
        raise KeboolaError(f"{where}: google.storage: {e.what}", fix=e.fix) from None
    if bucket != storage:  # a bare bucket name: Keboola takes the gs:// URI
        raise KeboolaError(f"{where}: google.storage {storage!r} is not a gs:// URI", fix=f"write it as {bucket!r}")


def summarize(config: Configuration) -> list[dict[str, Any]]:
    """One line per row: what it reads, where it lands, how it loads."""
    lines = []
    for name, p in check_rows(config):
        read = p.query.table_read()
        lines.append({"row": name, "source": ".".join(read[:3]) if read else f"query: {p.query.query}",
                      "output_table": config.default_table_id(p.query.tableName), "primary_key": p.query.primaryKey,
                      "load": "incremental" if p.query.incremental else "full"})
    return lines


def row_configuration(query: str, table_name: str, *, incremental: bool = False,
                      primary_key: list[str] | None = None, legacy_sql: bool = False) -> dict[str, Any]:
    return {"parameters": {"query": {"query": query, "tableName": table_name, "incremental": incremental,
                                     "primaryKey": list(primary_key or []), "useLegacySql": legacy_sql}}}


# The YAML shorthand of `%%keboola extractor NAME` for BigQuery ---------------------------------------

SHORTHAND_ENTRY_KEYS = {"query", "table", "name", "columns", "primary_key", "incremental", "legacy_sql"}
