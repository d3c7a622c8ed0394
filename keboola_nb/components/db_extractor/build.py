"""Building a database extractor's rows from `%%keboola extractor` table entries.

Entries use the shorthand's snake_case keys; they become Keboola rows (`table{schema,tableName}`, `outputTable`,
`primaryKey`, ...). Tables, columns and primary keys are checked against the source's catalog before
anything is saved.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ...errors import KeboolaError, KeboolaNotice
from ...model.configuration import ConfigRow, Configuration, new_id
from ...storage.ids import TableId, safe_name
from ...store.naming import normalize_name
from .model import SHORTHAND_ROW_KEYS

if TYPE_CHECKING:
    from ...connections import Connection
    from ...connectors.base import DatabaseConnector
    from . import DbExtractor as Component

ROW_KEY_ORDER = ["name", "table", "query", "columns", "outputTable", "primaryKey", "incremental",
                 "incrementalFetchingColumn", "incrementalFetchingLimit", "enabled"]


def build(component: "Component", name: str, conn: "Connection", tables: list[Any], description: str) -> Configuration:
    """A configuration of one of the database extractors; `component.fetching_types`: the column types (as the
    connector's describe() spells them) to fetch incrementally by."""
    fetching_types = component.fetching_types
    connector: DatabaseConnector = conn.connector()  # type: ignore[assignment]
    rows = []
    seen: set[str] = set()
    for i, entry in enumerate(tables, 1):
        if isinstance(entry, str):
            entry = {"table": entry}
        if not isinstance(entry, dict):
            raise KeboolaError(f"extractor {name!r}: table entry {i} must be a mapping or a table name")
        unknown = set(entry) - set(SHORTHAND_ROW_KEYS)
        if unknown:
            raise KeboolaError(
                f"extractor {name!r}, table entry {i}: unknown key(s) {', '.join(sorted(unknown))}",
                fix=f"allowed keys: {', '.join(SHORTHAND_ROW_KEYS)}",
            )
        params = _row_parameters(name, i, entry, connector, fetching_types)
        row_name = params["name"]
        if row_name in seen:
            raise KeboolaError(
                f"extractor {name!r}: two entries are named {row_name!r}", fix="give one of them a 'name'"
            )
        seen.add(row_name)
        rows.append(ConfigRow(id=new_id(), name=row_name, configuration={"parameters": params}))
    config = Configuration(
        component_id=component.id,
        id=new_id(),
        name=name,
        description=description,
        configuration={"parameters": {"db": dict(conn.db)}},
        rows=rows,
    )
    component.check(config)  # Keboola's rules (table xor query, no incremental fetching with a query, ...)
    return config


def _row_parameters(
    name: str, index: int, entry: dict[str, Any], connector: "DatabaseConnector", fetching_types: tuple[str, ...]
) -> dict[str, Any]:
    where = f"extractor {name!r}, table entry {index}"
    params: dict[str, Any] = {SHORTHAND_ROW_KEYS[k]: v for k, v in entry.items() if k != "table"}
    if "table" in entry:
        schema, table = connector.resolve_table(entry["table"])
        params["table"] = {"schema": schema, "tableName": table}
        described = connector.describe((schema, table))
        columns = list(described["column"])
        for column in params.get("columns", []):
            if column not in columns:
                raise KeboolaError(f"{where}: table {connector.format_table((schema, table))} has no column {column!r}",
                                   fix=f"its columns are: {', '.join(columns)}")
        if "primaryKey" not in params:
            params["primaryKey"] = connector.primary_key((schema, table))
            suggestion = [] if params["primaryKey"] else connector.key_suggestion((schema, table))
            if suggestion:
                warnings.warn(
                    f"{where}: table {connector.format_table((schema, table))} has no primary key; suggested "
                    f"key: {', '.join(suggestion)} (unique and not null). To use it, add "
                    f"primary_key: [{', '.join(suggestion)}]",
                    KeboolaNotice,
                    stacklevel=2,
                )
        column = params.get("incrementalFetchingColumn")
        if column is not None:
            types = dict(zip(described["column"], described["type"]))
            if column not in types:
                raise KeboolaError(
                    f"{where}: table {connector.format_table((schema, table))} has no column {column!r} to fetch by",
                    fix=f"its columns are: {', '.join(columns)}",
                )
            if not str(types[column]).startswith(fetching_types):
                raise KeboolaError(
                    f"{where}: column {column!r} is {types[column]}; incremental fetching needs a number or a timestamp",
                    fix="choose an updated_at timestamp or an increasing id column",
                )
            params.setdefault("incremental", True)
        table_name = table
    elif "query" in entry:
        if not entry.get("name"):
            raise KeboolaError(f"{where}: a query needs a 'name' for its output table")
        params.setdefault("primaryKey", [])
        table_name = entry["name"]
    else:
        raise KeboolaError(f"{where}: say what to extract with 'table: schema.table' or 'query: ...'")
    params.setdefault("name", safe_name(table_name))
    params.setdefault("outputTable", str(TableId("in", normalize_name(name), safe_name(table_name))))
    TableId.parse(params["outputTable"])
    params.setdefault("incremental", False)
    params.setdefault("enabled", True)
    return {key: params[key] for key in ROW_KEY_ORDER if key in params}
