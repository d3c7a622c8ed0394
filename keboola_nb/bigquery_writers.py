"""Creating BigQuery writer configurations (`keboola.wr-google-bigquery-v2`) from storage tables.

The `%%keboola writer` shorthand is the database writers' one; `schema` names the dataset (default: the
connection's). Column types are mapped from storage (DECIMAL -> NUMERIC or BIGNUMERIC, TIMESTAMPTZ ->
TIMESTAMP, TIMESTAMP -> DATETIME, nested -> JSON).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from .errors import KeboolaError
from .model.bigquery_writer import COMPONENT_ID, bq_type, check_rows, table_parameters
from .model.configuration import ConfigRow, Configuration, check_name
from .model.db_writer import SHORTHAND_ROW_KEYS
from .storage.ids import TableId
from .store.configs import new_id

if TYPE_CHECKING:
    import pandas as pd

    from .connections import Connection
    from .project import Project


def build(project: "Project", name: str, connection: "Connection", tables: list[Any], *,
          dataset: str | None = None, description: str = "") -> Configuration:
    check_name(name, "writer")
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
    config = Configuration(component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
                           configuration={"parameters": {"service_account": account, "dataset": dataset}},
                           rows=rows)
    check_rows(config)
    return config


def _row(project: "Project", name: str, index: int, entry: Any) -> ConfigRow:
    where = f"writer {name!r}, table entry {index}"
    if not isinstance(entry, dict) or "table" not in entry:
        raise KeboolaError(f"{where}: say which storage table to write with 'table: in.c-bucket.table'")
    unknown = set(entry) - set(SHORTHAND_ROW_KEYS)
    if unknown:
        raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                           fix=f"allowed keys: {', '.join(SHORTHAND_ROW_KEYS)}")
    tid = TableId.parse(str(entry["table"]))
    meta = project.storage.metadata(str(tid))
    types: dict[str, str] = meta["columns"]
    columns = list(entry.get("columns") or types)
    for column in columns:
        if column not in types:
            close = difflib.get_close_matches(column, list(types), n=1)
            raise KeboolaError(f"{where}: storage table {tid} has no column {column!r}",
                               fix=f"{'did you mean ' + repr(close[0]) + '? ' if close else ''}its columns are: "
                                   f"{', '.join(types)}")
    pk = list(entry["primary_key"]) if entry.get("primary_key") is not None else list(meta.get("primary_key") or [])
    if any(c not in columns for c in pk):
        raise KeboolaError(f"{where}: primary key column(s) are not among the columns written",
                           fix="add them to 'columns', or set 'primary_key'")
    changed_since = entry.get("changed_since")
    if changed_since not in (None, "adaptive"):
        raise KeboolaError(f"{where}: changed_since {changed_since!r} is not supported", fix="use 'adaptive' or leave it out")
    db_name = str(entry.get("db_name") or tid.table)
    items = [{"name": c, "dbName": c, "type": bq_type(types[c])} for c in columns]
    mapping: dict[str, Any] = {"source": str(tid), "destination": f"{tid}.csv", "columns": columns}
    if changed_since:
        mapping["changed_since"] = changed_since
    params = table_parameters(str(tid), db_name, items, incremental=bool(entry.get("incremental", False)),
                              primary_key=pk)
    return ConfigRow(id=new_id(), name=db_name, configuration={"parameters": params,
                                                               "storage": {"input": {"tables": [mapping]}}})


def summary(config: Configuration) -> "pd.DataFrame":
    import pandas as pd

    dataset = config.configuration.get("parameters", {}).get("dataset")
    return pd.DataFrame([{"row": name, "table": p.tableId, "target": f"{dataset}.{p.dbName}",
                          "columns": len(p.written), "primary_key": p.primaryKey,
                          "load": "incremental" if p.incremental else "full",
                          "changed_since": p.input.changed_since or ""} for name, p in check_rows(config)])
