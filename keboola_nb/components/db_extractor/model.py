"""Database extractor configurations (`keboola.ex-db-pgsql`, `-mysql`, `-snowflake`), with Keboola's own rules.

Root: `parameters.db` holds the credentials. Each row: one table (or one query) with its output.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import KeboolaError
from ...model.configuration import Configuration
from ...model.db_login import checked_root, one_secret
from ...model.validation import check_row_keys, validated


class SslNode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    enabled: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verifyServerCert: bool = True


class DbNode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    driver: str | None = None
    host: str
    port: int | None = None  # the connector's default (5432, 3306) when not set
    database: str
    user: str
    password: str | None = Field(default=None, alias="#password")
    ssl: SslNode | None = None
    ssh: dict[str, Any] | None = None
    # Snowflake: the schema, warehouse and role of the session; a key pair instead of the password.
    schema_: str | None = Field(default=None, alias="schema")
    warehouse: str | None = None
    roleName: str | None = None
    privateKey: str | None = Field(default=None, alias="#privateKey")

    @model_validator(mode="after")
    def _one_secret(self) -> "DbNode":
        one_secret(self)
        return self


class TableNode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: str = Field(alias="schema")
    tableName: str


class DbRow(BaseModel):
    """One row's `parameters`, after merging with the root (Keboola's TableNodesDecorator rules)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    db: DbNode
    id: int | None = None
    name: str | None = None
    table: TableNode | None = None
    query: str | None = None
    columns: list[str] = Field(default_factory=list)
    outputTable: str
    incremental: bool = False
    incrementalFetchingColumn: str | None = None
    incrementalFetchingLimit: int | None = None
    primaryKey: list[str] = Field(default_factory=list)
    enabled: bool = True
    retries: int = 5

    @model_validator(mode="after")
    def _keboola_rules(self) -> "DbRow":
        if self.table is not None and self.query is not None:
            raise ValueError("both 'table' and 'query' are set; a row extracts either a table or a query")
        if self.table is None and self.query is None:
            raise ValueError("neither 'table' nor 'query' is set; say what to extract")
        if self.query is not None and (self.incrementalFetchingColumn or self.incrementalFetchingLimit):
            raise ValueError("incremental fetching does not work with 'query'; use 'table' to fetch incrementally")
        if self.incrementalFetchingLimit and not self.incrementalFetchingColumn:
            raise ValueError("'incrementalFetchingLimit' needs 'incrementalFetchingColumn'")
        if self.query is not None and self.columns:
            raise ValueError("'columns' cannot be combined with 'query'; select the columns in the query")
        return self


class DbRoot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: DbNode


def check_root(config: Configuration, db_keys: Collection[str]) -> DbNode:
    """The root's `db`; `db_keys`: what the database's component takes beyond Keboola's DbNode."""
    return checked_root(DbRoot, config, db_keys, "extractor").db


def check_rows(config: Configuration, db_keys: Collection[str]) -> list[tuple[str, DbRow]]:
    """Every row, merged and validated: (row name, parameters)."""
    check_root(config, db_keys)
    if not config.rows:
        raise KeboolaError(f"extractor {config.name!r} has no tables", fix="add at least one table or query")
    out = []
    for row in config.rows:
        params = config.merged(row).get("parameters", {})
        out.append((row.name, validated(DbRow, params, f"extractor {config.name!r}, row {row.name!r}")))
        check_row_keys(row.configuration, f"extractor {config.name!r}, row {row.name!r}")
    return out


def summarize(config: Configuration, db_keys: Collection[str]) -> list[dict[str, Any]]:
    """One line per row: what it reads, where it lands, how it loads."""
    return [
        {"row": name, "source": f"{p.table.schema_}.{p.table.tableName}" if p.table else f"query: {p.query}",
         "output_table": p.outputTable, "primary_key": p.primaryKey,
         "load": ("incremental" if p.incremental else "full")
                 + (f", fetching by {p.incrementalFetchingColumn}" if p.incrementalFetchingColumn else "")}
        for name, p in check_rows(config, db_keys)
    ]


# The YAML shorthand of `%%keboola extractor NAME` ------------------------------------------------

SHORTHAND_ROW_KEYS = {
    "table": "table",
    "query": "query",
    "name": "name",
    "columns": "columns",
    "output_table": "outputTable",
    "incremental": "incremental",
    "incremental_fetching_column": "incrementalFetchingColumn",
    "incremental_fetching_limit": "incrementalFetchingLimit",
    "primary_key": "primaryKey",
    "enabled": "enabled",
}
