"""The Google BigQuery writer (`keboola.wr-google-bigquery-v2`) configuration, with Keboola's layout.

Root `parameters`: `service_account` (the key, `#private_key` a reference), `dataset` and `location` (where the
dataset is, or is created). Each row: `parameters.tables[{dbName, export, tableId, incremental, items[{name,
dbName, type}]}]` (one table) and its input mapping under `storage.input.tables` (source, destination, columns,
changed_since). As Keboola's writer (keboola/google-bigquery-writer) does: a full load replaces the table, an
incremental one appends, `primaryKey` is never read, and every item becomes a column - it loads the CSV by
position, so the input mapping's columns are the items' names in order, and an `ignore` item is refused (Keboola's
UI drops IGNORE columns from both before it saves).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import KeboolaError
from ...model.configuration import Configuration
from ...model.google_login import ServiceAccount
from ...model.input_mapping import IGNORE, InputTable
from ...model.validation import check_row_keys, validated

if TYPE_CHECKING:
    from ...storage.storage import Storage

COMPONENT_ID = "keboola.wr-google-bigquery-v2"
TYPES = ("STRING", "INT64", "INTEGER", "NUMERIC", "BIGNUMERIC", "FLOAT64", "FLOAT", "BOOL", "BOOLEAN", "DATE",
         "DATETIME", "TIMESTAMP", "TIME", "BYTES", "JSON")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")  # BigQuery column and table names
_LOCATION = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")  # US, EU, europe-west3, ...


class BigQueryItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    dbName: str
    type: str
    nullable: bool | None = None  # UI configs may hold it; Keboola's writer does not read it (columns are NULLABLE)

    @model_validator(mode="after")
    def _known(self) -> "BigQueryItem":
        if self.type.lower() == IGNORE:
            raise ValueError(f"item {self.name!r} has type {self.type!r}: Keboola's BigQuery writer writes every "
                             "item, so BigQuery would get that type; remove the item, and its column from "
                             "storage.input.tables[0].columns (Keboola's UI does so for IGNORE columns)")
        if self.type.upper() not in TYPES:
            raise ValueError(f"item {self.name!r}: type {self.type!r} is not a BigQuery type ({', '.join(TYPES)})")
        if not _NAME.match(self.dbName):
            raise ValueError(f"item {self.name!r}: dbName {self.dbName!r} is not a BigQuery column name")
        return self


class BigQueryTarget(BaseModel):
    """The root: where to write."""

    model_config = ConfigDict(extra="forbid")
    service_account: ServiceAccount
    dataset: str
    location: str | None = None  # without it, BigQuery's default (US) for a new dataset

    @model_validator(mode="after")
    def _location(self) -> "BigQueryTarget":
        if self.location is not None and not _LOCATION.match(self.location):
            raise ValueError(f"location {self.location!r} is not a BigQuery location (US, EU, europe-west3, ...)")
        return self


class BigQueryTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dbName: str
    tableId: str
    incremental: bool = False
    primaryKey: list[str] = Field(default_factory=list)  # accepted as Keboola accepts it, never used
    export: bool = True
    items: list[BigQueryItem]


class BigQueryWriterRow(BaseModel):
    """One row: its table merged with the root and its input mapping; the attributes engine/table_writer.py reads."""

    db: BigQueryTarget
    table: BigQueryTable
    input: InputTable

    tableId = property(lambda self: self.table.tableId)
    dbName = property(lambda self: self.table.dbName)
    incremental = property(lambda self: self.table.incremental)
    primaryKey = property(lambda self: self.table.primaryKey)
    export = property(lambda self: self.table.export)
    items = property(lambda self: self.table.items)

    @property
    def written(self) -> list[BigQueryItem]:
        """Every item: Keboola's writer skips none."""
        return self.table.items

    @property
    def adaptive(self) -> bool:
        return self.input.changed_since == "adaptive"

    @property
    def load(self) -> str:
        """How the row loads, as Keboola's writer does it (for summaries and the job log)."""
        kind, how = ("incremental", "appends") if self.incremental else ("full", "replaces the table")
        if self.primaryKey:
            return f"{kind}: Keboola's BigQuery writer {how}; primaryKey is not used"
        return f"{kind} ({how})"

    @model_validator(mode="after")
    def _keboola_rules(self) -> "BigQueryWriterRow":
        if not _NAME.match(self.table.dbName):
            raise ValueError(f"dbName {self.table.dbName!r} is not a BigQuery table name")
        if self.input.source != self.table.tableId:
            raise ValueError(f"storage.input.tables[0].source {self.input.source!r} is not tableId "
                             f"{self.table.tableId!r}")
        if self.input.changed_since not in (None, "", "adaptive"):
            raise ValueError(f"changed_since {self.input.changed_since!r} is not supported; use 'adaptive' or "
                             "leave it out")
        if self.adaptive and not self.table.incremental:
            raise ValueError("changed_since: adaptive needs incremental: true")
        if not self.items:
            raise ValueError("items is empty; write at least one column")
        names = [i.dbName.lower() for i in self.items]
        if len(set(names)) != len(names):
            raise ValueError("two items have the same dbName")
        item_names = [i.name for i in self.items]
        if self.input.columns and self.input.columns != item_names:
            raise ValueError(f"storage.input.tables[0].columns {self.input.columns} are not the items' names "
                             f"{item_names} in order; Keboola's writer loads the CSV by position")
        return self


def check_rows(config: Configuration) -> list[tuple[str, BigQueryWriterRow]]:
    where = f"writer {config.name!r}"
    root = validated(BigQueryTarget, config.configuration.get("parameters", {}), f"{where}, parameters")
    if not config.rows:
        raise KeboolaError(f"{where} has no tables", fix="add at least one table")
    out = []
    for row in config.rows:
        at = f"{where}, row {row.name!r}"
        check_row_keys(row.configuration, at)
        tables = row.configuration.get("parameters", {}).get("tables", [])
        inputs = row.configuration.get("storage", {}).get("input", {}).get("tables", [])
        if len(tables) != 1 or len(inputs) != 1:
            raise KeboolaError(f"{at}: parameters.tables and storage.input.tables must hold exactly one table",
                               fix="one row writes one storage table")
        merged = {"db": root, "table": tables[0], "input": inputs[0]}
        out.append((row.name, validated(BigQueryWriterRow, merged, at, BigQueryTable)))
    return out


def check_positions(storage: "Storage", row_name: str, params: BigQueryWriterRow) -> None:
    """An input mapping without columns hands Keboola's writer every storage column, which it loads by position:
    they must be the items, in order."""
    columns = list(storage.metadata(params.tableId)["columns"])
    items = [i.name for i in params.items]
    if columns != items:
        raise KeboolaError(f"row {row_name!r}: storage table {params.tableId} has the columns {columns}, the items "
                           f"are {items}; Keboola's writer loads them by position",
                           fix="list the items' names in storage.input.tables[0].columns, in order")


# Storage (DuckDB) types -> BigQuery types --------------------------------------------------------------

_SIMPLE = {"BOOLEAN": "BOOL", "TINYINT": "INT64", "SMALLINT": "INT64", "INTEGER": "INT64", "BIGINT": "INT64",
           "UTINYINT": "INT64", "USMALLINT": "INT64", "UINTEGER": "INT64", "UBIGINT": "NUMERIC",
           "HUGEINT": "BIGNUMERIC", "UHUGEINT": "BIGNUMERIC", "FLOAT": "FLOAT64", "DOUBLE": "FLOAT64",
           "VARCHAR": "STRING", "UUID": "STRING", "DATE": "DATE", "TIME": "TIME", "TIMESTAMP": "DATETIME",
           "TIMESTAMP_S": "DATETIME", "TIMESTAMP_MS": "DATETIME", "TIMESTAMP_NS": "DATETIME",
           "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "BLOB": "BYTES", "JSON": "JSON"}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def bq_type(duck_type: str) -> str:
    """DECIMAL fits NUMERIC up to 29 integer digits and scale 9, else BIGNUMERIC; nested types become JSON."""
    t = duck_type.upper().strip()
    if t in _SIMPLE:
        return _SIMPLE[t]
    match = _DECIMAL.match(t)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        return "NUMERIC" if scale <= 9 and precision - scale <= 29 else "BIGNUMERIC"
    if t.startswith("ENUM("):
        return "STRING"
    return "JSON"


def table_parameters(table_id: str, db_name: str, items: list[dict[str, Any]], *,
                     incremental: bool) -> dict[str, Any]:
    return {"tables": [{"dbName": db_name, "export": True, "tableId": table_id, "incremental": incremental,
                        "items": items}]}
