"""BigQuery extractors (`keboola.ex-google-bigquery-v2`): the YAML shorthand and building rows.

```
connection: gbq
queries:
  - name: daily_sales
    query: SELECT day, SUM(amount) AS amount FROM `my-project.sales.orders` GROUP BY day
    primary_key: [day]
    incremental: true
tables:
  - table: sales.customers       # read straight from table storage: no query cost
```
Every query is dry-run before it is saved: bad SQL and unknown primary key columns are refused then.
The connection must name the bucket Keboola unloads through (bigquery://PROJECT/DATASET?unload=gs://BUCKET).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...connectors.bigquery import DEFAULT_LOCATION
from ...errors import KeboolaError
from ...model.configuration import ConfigRow, Configuration, new_id
from ...model.validation import refuse_unknown_keys
from ...storage.ids import safe_name
from .model import (
    COMPONENT_ID,
    SHORTHAND_ENTRY_KEYS,
    check_rows,
    row_configuration,
    table_query,
)

if TYPE_CHECKING:
    from ...connections import Connection
    from ...connectors.bigquery import BigQueryConnector


def parse_shorthand(data: dict[str, Any], name: str) -> dict[str, Any]:
    """`queries:` and/or `tables:` -> one list of entries (a query entry has `query`, a table entry `table`)."""
    where = f"extractor {name!r}"
    refuse_unknown_keys(data, where, {"connection", "queries", "tables", "description"})
    entries = [*(data.get("queries") or []), *(data.get("tables") or [])]
    if not entries:
        raise KeboolaError(f"{where}: 'queries' or 'tables' must list at least one entry")
    return {"connection": data["connection"], "entries": entries, "description": data.get("description", "")}


def build(name: str, connection: "Connection", entries: list[Any], description: str = "") -> Configuration:
    node = connection.db
    if not node.get("storage"):
        location = f"location={node['location']}&" if node.get("location", DEFAULT_LOCATION) != DEFAULT_LOCATION else ""
        raise KeboolaError(
            f"extractor {name!r}: connection {connection.name!r} names no Cloud Storage bucket; Keboola's BigQuery "
            "extractor unloads query results through one (google.storage), though a local run does not use it",
            fix=f"connect again with the bucket in the URL: %keboola connect {connection.name} "
                f"{connection.target()}?{location}unload=gs://BUCKET --key-file-env VAR --replace (the assistant: "
                "add_connection with that URL), or add \"storage\": \"gs://BUCKET\" to the connection in "
                ".keboola/connections.json")
    connector: BigQueryConnector = connection.connector()  # type: ignore[assignment]
    rows = []
    for i, entry in enumerate(entries, 1):
        where = f"extractor {name!r}, entry {i}"
        if isinstance(entry, str):
            entry = {"table": entry}
        if not isinstance(entry, dict) or ("query" in entry) == ("table" in entry):
            raise KeboolaError(f"{where}: give either 'query' (with 'name') or 'table'")
        unknown = set(entry) - SHORTHAND_ENTRY_KEYS
        if unknown:
            raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                               fix=f"allowed keys: {', '.join(sorted(SHORTHAND_ENTRY_KEYS))}")
        legacy = bool(entry.get("legacy_sql", False))
        if "table" in entry:
            dataset, table = connector.resolve_table(entry["table"])
            project, dataset = dataset.split(".") if "." in dataset else (connector.project, dataset)
            columns = list(entry.get("columns") or [])
            query = table_query(project, dataset, table, columns)
            default_key = connector.primary_key((f"{project}.{dataset}", table))
            table_name = safe_name(str(entry.get("name") or table))
        else:
            if not entry.get("name"):
                raise KeboolaError(f"{where}: a query needs a 'name' for its output table")
            if entry.get("columns"):
                raise KeboolaError(f"{where}: 'columns' is for table entries; select the columns in the query")
            query, default_key, table_name = str(entry["query"]), [], safe_name(str(entry["name"]))
        _, schema = connector.dry_run(query, legacy)  # refuses bad SQL before anything is saved
        primary_key = list(entry["primary_key"]) if entry.get("primary_key") is not None else default_key
        columns_out = [f.name for f in schema]
        missing = [c for c in primary_key if columns_out and c not in columns_out]
        if missing:
            raise KeboolaError(f"{where}: primary key column(s) {', '.join(missing)} are not in the result",
                               fix=f"the result's columns are: {', '.join(columns_out)}")
        configuration = row_configuration(query, table_name, incremental=bool(entry.get("incremental", False)),
                                          primary_key=primary_key, legacy_sql=legacy)
        rows.append(ConfigRow(id=new_id(), name=table_name, configuration=configuration))
    account = dict(node.get("service_account") or {"type": "service_account", "project_id": node.get("project")})
    google = {"storage": node["storage"], "location": node.get("location") or DEFAULT_LOCATION}
    config = Configuration(
        component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
        configuration={"parameters": {"service_account": account, "google": google}},
        rows=rows,
    )
    check_rows(config)
    return config
