"""Creating BigQuery writer configurations (`keboola.wr-google-bigquery-v2`) from storage tables.

The `%%keboola writer` shorthand is the database writers' one; `schema` names the dataset (default: the
connection's), and the connection's location becomes `location`. Column types are mapped from storage (DECIMAL ->
NUMERIC or BIGNUMERIC, TIMESTAMPTZ -> TIMESTAMP, TIMESTAMP -> DATETIME, nested -> JSON). `columns` picks the columns:
the others are left out of both the items and the input mapping, as Keboola's UI leaves out IGNORE columns.
`primary_key` is refused: Keboola's writer appends and never reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...connectors.bigquery import DEFAULT_LOCATION
from ...errors import KeboolaError
from ...model.configuration import ConfigRow, Configuration, new_id
from ..storage_input import TABLE_ENTRY_KEYS, storage_input
from .model import COMPONENT_ID, bq_type, check_rows, table_parameters

if TYPE_CHECKING:
    from ...connections import Connection
    from ..component import ProjectParts


def build(project: "ProjectParts", name: str, connection: "Connection", tables: list[Any], *,
          dataset: str | None = None, description: str = "") -> Configuration:
    node = connection.db
    dataset = dataset or node.get("dataset")
    if not dataset:
        raise KeboolaError(f"writer {name!r}: no dataset to write to",
                           fix="add 'schema: DATASET' or use a connection URL bigquery://PROJECT/DATASET")
    rows: list[ConfigRow] = []
    for i, entry in enumerate(tables, 1):
        row = _row(project, name, i, {"table": entry} if isinstance(entry, str) else entry)
        if any(r.name == row.name for r in rows):
            raise KeboolaError(f"writer {name!r}: two entries write to {row.name!r}", fix="give one another 'db_name'")
        rows.append(row)
    account = dict(node.get("service_account") or {"type": "service_account", "project_id": node.get("project")})
    root = {"service_account": account, "dataset": dataset, "location": node.get("location") or DEFAULT_LOCATION}
    config = Configuration(component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
                           configuration={"parameters": root}, rows=rows)
    check_rows(config)
    return config


def _row(project: "ProjectParts", name: str, index: int, entry: Any) -> ConfigRow:
    where = f"writer {name!r}, table entry {index}"
    if isinstance(entry, dict) and entry.get("primary_key"):
        raise KeboolaError(f"{where}: Keboola's BigQuery writer appends; primaryKey is not used",
                           fix="remove primary_key: an incremental load appends every row, a full load replaces the "
                               "table (to keep one row per key, deduplicate in BigQuery, e.g. a view with QUALIFY)")
    inp = storage_input(project.storage, where, entry, TABLE_ENTRY_KEYS, keyed=False)
    db_name = str(entry.get("db_name") or inp.table.table)
    items = [{"name": c, "dbName": c, "type": bq_type(inp.types[c])} for c in inp.columns]
    params = table_parameters(str(inp.table), db_name, items, incremental=inp.incremental)
    return ConfigRow(id=new_id(), name=db_name, configuration={"parameters": params,
                                                               "storage": {"input": {"tables": [inp.mapping()]}}})


def summary(config: Configuration) -> list[dict[str, Any]]:
    dataset = config.configuration.get("parameters", {}).get("dataset")
    return [{"row": name, "table": p.tableId, "target": f"{dataset}.{p.dbName}", "columns": len(p.items),
             "primary_key": p.primaryKey, "load": p.load, "changed_since": p.input.changed_since or ""}
            for name, p in check_rows(config)]
