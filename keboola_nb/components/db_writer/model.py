"""Database writer configurations (`keboola.wr-db-pgsql`, `-mysql`, `keboola.wr-db-snowflake`), with Keboola's layout.

Root: `parameters.db` holds the target's credentials and schema. Each row: one storage table (`tableId`)
written to one database table (`dbName`), its columns as `items`, and the input mapping under
`storage.input.tables` (source, destination, columns, changed_since).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import KeboolaError
from ...model.configuration import Configuration
from ...model.db_login import checked_root, one_secret
from ...model.input_mapping import IGNORE, InputTable
from ...model.validation import check_row_keys, single_input, validated

PG_IDENTIFIER_BYTES = 63
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9 _]*(\[\])?$")
_SIZE = re.compile(r"^(\d+(,\s*\d+)?)?$")


class WriterDbNode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    driver: str | None = None
    host: str
    port: int = 5432
    database: str
    schema_: str = Field("public", alias="schema")
    user: str
    password: str | None = Field(default=None, alias="#password")
    ssl: dict[str, Any] | None = None
    ssh: dict[str, Any] | None = None
    # Snowflake (see db_extractor.DbNode)
    warehouse: str | None = None
    roleName: str | None = None
    privateKey: str | None = Field(default=None, alias="#privateKey")

    @model_validator(mode="after")
    def _one_secret(self) -> "WriterDbNode":
        one_secret(self)
        return self


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    dbName: str
    type: str
    nullable: bool = True
    default: str = ""
    size: str = ""

    @model_validator(mode="after")
    def _safe(self) -> "Item":
        # Types and sizes go into DDL: only plain type names and numbers are allowed.
        if not _TYPE.match(self.type):
            raise ValueError(f"item {self.name!r}: type {self.type!r} is not a type name")
        if not _SIZE.match(self.size):
            raise ValueError(f"item {self.name!r}: size {self.size!r} must be like 255 or 12,2")
        return self

    def sql_type(self) -> str:
        if not self.size:
            return self.type
        base, array = (self.type[:-2], "[]") if self.type.endswith("[]") else (self.type, "")
        return f"{base}({self.size}){array}"


class WriterRow(BaseModel):
    """One row's `parameters` merged with the root, plus its input mapping."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    db: WriterDbNode
    tableId: str
    dbName: str
    incremental: bool = False
    primaryKey: list[str] = Field(default_factory=list)
    items: list[Item]
    export: bool = True
    input: InputTable

    @property
    def written(self) -> list[Item]:
        return [i for i in self.items if i.type.lower() != IGNORE]

    @property
    def adaptive(self) -> bool:
        return self.input.changed_since == "adaptive"

    @model_validator(mode="after")
    def _keboola_rules(self) -> "WriterRow":
        if len(self.dbName.encode()) > PG_IDENTIFIER_BYTES:
            raise ValueError(f"dbName {self.dbName!r} is longer than {PG_IDENTIFIER_BYTES} bytes")
        if self.input.source != self.tableId:
            raise ValueError(f"storage.input.tables[0].source {self.input.source!r} is not tableId {self.tableId!r}")
        if self.input.changed_since not in (None, "", "adaptive"):
            raise ValueError(f"changed_since {self.input.changed_since!r} is not supported; use 'adaptive' or leave it out")
        if self.adaptive and not self.incremental:
            raise ValueError("changed_since: adaptive needs incremental: true (a full load would replace the "
                             "table with only the changed rows)")
        if not self.written:
            raise ValueError("every item is ignored; write at least one column")
        names = [i.dbName for i in self.written]
        if len(set(names)) != len(names):
            raise ValueError("two items have the same dbName")
        for item in self.written:
            if len(item.dbName.encode()) > PG_IDENTIFIER_BYTES:
                raise ValueError(f"item dbName {item.dbName!r} is longer than {PG_IDENTIFIER_BYTES} bytes")
            if self.input.columns and item.name not in self.input.columns:
                raise ValueError(f"item {item.name!r} is not among storage.input.tables[0].columns")
        by_name = {i.name for i in self.written}
        missing = [c for c in self.primaryKey if c not in by_name]
        if missing:
            raise ValueError(f"primaryKey column(s) {', '.join(missing)} are not written items")
        return self


class WriterRoot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: WriterDbNode


def check_root(config: Configuration, db_keys: Collection[str]) -> WriterDbNode:
    """The root's `db`; `db_keys`: what the database's writer takes beyond Keboola's DbNode."""
    return checked_root(WriterRoot, config, db_keys, "writer").db


def check_rows(config: Configuration, db_keys: Collection[str]) -> list[tuple[str, WriterRow]]:
    """Every row, merged and validated: (row name, parameters with its input mapping)."""
    check_root(config, db_keys)
    if not config.rows:
        raise KeboolaError(f"writer {config.name!r} has no tables", fix="add at least one table")
    out = []
    for row in config.rows:
        merged = config.merged(row)
        where = f"writer {config.name!r}, row {row.name!r}"
        check_row_keys(row.configuration, where)
        mapping = single_input(merged, where)
        out.append((row.name, validated(WriterRow, {**merged.get("parameters", {}), "input": mapping}, where)))
    return out


# Storage (DuckDB) types -> PostgreSQL types ------------------------------------------------------

_SIMPLE = {
    "BOOLEAN": "boolean", "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer", "BIGINT": "bigint",
    "UTINYINT": "smallint", "USMALLINT": "integer", "UINTEGER": "bigint", "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(39,0)", "UHUGEINT": "numeric(39,0)", "FLOAT": "real", "DOUBLE": "double precision",
    "VARCHAR": "text", "DATE": "date", "TIME": "time", "TIME WITH TIME ZONE": "timetz",
    "TIMESTAMP": "timestamp", "TIMESTAMP_S": "timestamp", "TIMESTAMP_MS": "timestamp", "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "INTERVAL": "interval", "UUID": "uuid", "BLOB": "bytea",
    "JSON": "jsonb", "BIT": "varbit",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def pg_type(duck_type: str) -> tuple[str, str]:
    """(type, size) for a storage column type: DECIMAL(12,2) -> ("numeric", "12,2"), INTEGER[] -> ("integer[]", "")."""
    t = duck_type.upper().strip()
    if t in _SIMPLE:
        name, _, size = _SIMPLE[t].partition("(")
        return name, size.rstrip(")")
    match = _DECIMAL.match(t)
    if match:
        return "numeric", f"{match.group(1)},{match.group(2)}"
    if t.endswith("[]") and not t[:-2].endswith("]"):
        inner, size = pg_type(t[:-2])
        if inner not in ("jsonb", "varbit"):
            return f"{inner}[]", ""
    if t.startswith("ENUM("):
        return "text", ""
    return "jsonb", ""  # nested lists, structs, maps, unions


def column_definitions(items: list[Item], pk: list[str], quote: Callable[[str], str],
                       literal: Callable[[str], str]) -> str:
    """The column list of a CREATE TABLE for a writer's items (types, NOT NULL, defaults, primary key),
    in the target's own quoting."""
    parts = []
    for item in items:
        column = f"{quote(item.dbName)} {item.sql_type()}"
        if not item.nullable:
            column += " NOT NULL"
        if item.default:
            column += f" DEFAULT {literal(item.default)}"
        parts.append(column)
    if pk:
        parts.append(f"PRIMARY KEY ({', '.join(quote(c) for c in pk)})")
    return ", ".join(parts)
