"""Building database writer rows from `%%keboola writer` table entries.

Entries use the shorthand's snake_case keys; they become Keboola rows (`tableId`, `dbName`, `items`,
`storage.input.tables`, ...). Tables and columns are checked against storage before anything is saved;
column types are mapped from storage to the target database by the component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ...errors import KeboolaError
from ...model.configuration import ConfigRow, Configuration, new_id
from ..storage_input import TABLE_ENTRY_KEYS, storage_input
from .model import check_rows

if TYPE_CHECKING:
    from ...connections import Connection
    from ..component import ProjectParts

DEFAULT_SCHEMA = "public"
DB_KEY_ORDER = ["driver", "host", "port", "database", "schema", "warehouse", "roleName", "user", "#password"]


class Database(Protocol):
    """What building rows needs to know of the writer's database (each writer of db_writer/ is one)."""

    id: ClassVar[str]
    database: ClassVar[str]  # its name in messages
    db_keys: ClassVar[tuple[str, ...]]
    driver: ClassVar[str]  # Keboola's parameters.db.driver
    has_schemas: ClassVar[bool]

    def item_type(self, storage_type: str, in_key: bool) -> tuple[str, str]: ...


def build(component: Database, project: "ProjectParts", name: str, conn: "Connection", tables: list[Any], *,
          schema: str | None, description: str) -> Configuration:
    db = {"driver": component.driver, **conn.db}
    if not component.has_schemas:  # MySQL: the connection's database is the schema
        if schema and schema != conn.db.get("database"):
            raise KeboolaError(f"writer {name!r}: {component.database} has no schemas; tables go to "
                               f"database {conn.db.get('database')!r} of connection {conn.name!r}",
                               fix="leave 'schema' out, or use a connection to the other database")
    else:  # a Snowflake connection names its own schema
        db["schema"] = schema or conn.db.get("schema") or DEFAULT_SCHEMA
    db = {k: db[k] for k in DB_KEY_ORDER if k in db} | {k: v for k, v in db.items() if k not in DB_KEY_ORDER}
    rows: list[ConfigRow] = []
    for i, entry in enumerate(tables, 1):
        row = _row(component, project, name, i, {"table": entry} if isinstance(entry, str) else entry)
        if any(r.name == row.name for r in rows):
            raise KeboolaError(f"writer {name!r}: two entries write to {row.name!r}",
                               fix="give one of them another 'db_name'")
        rows.append(row)
    config = Configuration(component_id=component.id, id=new_id(), name=name, description=description,
                           configuration={"parameters": {"db": db}}, rows=rows)
    check_rows(config, component.db_keys)
    return config


def _row(component: Database, project: "ProjectParts", name: str, index: int, entry: Any) -> ConfigRow:
    where = f"writer {name!r}, table entry {index}"
    inp = storage_input(project.storage, where, entry, TABLE_ENTRY_KEYS)
    pk = inp.primary_key
    db_name = str(entry.get("db_name") or inp.table.table)
    items = []
    for column in inp.columns:
        target, size = component.item_type(inp.types[column], column in pk)
        items.append({"name": column, "dbName": column, "type": target, "nullable": column not in pk,
                      "default": "", "size": size})
    params = {"tableId": str(inp.table), "dbName": db_name, "incremental": inp.incremental, "primaryKey": pk,
              "items": items}
    configuration = {"parameters": params, "storage": {"input": {"tables": [inp.mapping()]}}}
    return ConfigRow(id=new_id(), name=db_name, configuration=configuration)


def summary(config: Configuration, has_schemas: bool, db_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One line per row: storage table, target table, columns, how it loads."""
    db = config.configuration.get("parameters", {}).get("db", {})
    schema = db.get("schema", DEFAULT_SCHEMA) if has_schemas else db["database"]
    return [{"row": row_name, "table": p.tableId, "target": f"{schema}.{p.dbName}", "columns": len(p.written),
             "primary_key": p.primaryKey, "load": "incremental" if p.incremental else "full",
             "changed_since": p.input.changed_since or ""} for row_name, p in check_rows(config, db_keys)]
