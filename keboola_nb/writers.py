"""Creating database writer configurations from a connection and a list of storage tables.

`tables` entries use the shorthand of `%%keboola writer` (snake_case keys); they become Keboola rows
(`tableId`, `dbName`, `items`, `storage.input.tables`, ...). Tables and columns are checked against
storage before anything is saved; column types are mapped from storage to the target database.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from .errors import KeboolaError
from .model.components import COMPONENTS, Component, component
from .model.configuration import ConfigRow, Configuration, check_name
from .model.db_writer import SHORTHAND_ROW_KEYS, check_rows, parse_shorthand, pg_type
from .model.mysql_types import mysql_type
from .model.snowflake_types import snowflake_type
from .storage.ids import TableId
from .store.configs import new_id

if TYPE_CHECKING:
    import pandas as pd

    from .project import Project

DRIVERS = {"postgresql": "pgsql", "mysql": "mysql", "snowflake": "snowflake"}
DEFAULT_SCHEMA = "public"


def writer_for_kind(kind: str) -> Component:
    for c in COMPONENTS.values():
        if c.type == "writer" and c.kind == kind:
            return c
    raise KeboolaError(f"there is no writer for connections of kind {kind!r} yet",
                       fix="write to a postgresql connection")


class WriterManager:
    def __init__(self, project: "Project") -> None:
        self.project = project

    def create(
        self,
        name: str,
        connection: str,
        tables: list[str | dict[str, Any]],
        *,
        schema: str | None = None,
        description: str = "",
        replace: bool = False,
        actor: str = "user",
    ) -> Configuration:
        """Build, validate and save a writer; with `replace`, keep the id and make a new version."""
        config = self.build(name, connection, tables, schema=schema, description=description)
        return self.save(config, replace=replace, actor=actor)

    def create_from_yaml(self, name: str, text: str, *, replace: bool = False, actor: str = "user") -> Configuration:
        spec = parse_shorthand(text, name)
        return self.create(name, spec["connection"], spec["tables"], schema=spec["schema"],
                           description=spec["description"], replace=replace, actor=actor)

    def save(self, config: Configuration, *, replace: bool = False, actor: str = "user") -> Configuration:
        """Save a built (or edited and checked) writer under its name."""
        return self.project.configs.save_named(config, replace=replace, actor=actor)

    def from_json(self, text: str) -> Configuration:
        """A writer as Keboola JSON (e.g. edited by the user), checked before it can be saved."""
        try:
            config = Configuration.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            raise KeboolaError(f"the configuration JSON is not valid: {e}",
                               fix="it needs componentId, name, configuration and rows") from None
        if component(config.component_id).type != "writer":
            raise KeboolaError(f"{config.component_id} is not a writer")
        check_name(config.name, "writer")
        check_rows(config)
        return config

    def build(
        self,
        name: str,
        connection: str,
        tables: list[str | dict[str, Any]],
        *,
        schema: str | None = None,
        description: str = "",
    ) -> Configuration:
        check_name(name, "writer")
        conn = self.project.connections.get(connection)
        comp = writer_for_kind(conn.kind)
        db = {"driver": DRIVERS[conn.kind], **conn.db}
        if conn.kind == "mysql":  # MySQL has no schemas: the connection's database is the schema
            if schema and schema != conn.db.get("database"):
                raise KeboolaError(f"writer {name!r}: MySQL has no schemas; tables go to database "
                                   f"{conn.db.get('database')!r} of connection {connection!r}",
                                   fix="leave 'schema' out, or use a connection to the other database")
        else:  # a Snowflake connection names its own schema
            db["schema"] = schema or conn.db.get("schema") or DEFAULT_SCHEMA
        order = ["driver", "host", "port", "database", "schema", "warehouse", "roleName", "user", "#password"]
        db = {k: db[k] for k in order if k in db} | {k: v for k, v in db.items() if k not in order}
        rows: list[ConfigRow] = []
        for i, entry in enumerate(tables, 1):
            row = self._row(name, i, {"table": entry} if isinstance(entry, str) else entry, conn.kind)
            if any(r.name == row.name for r in rows):
                raise KeboolaError(f"writer {name!r}: two entries write to {row.name!r}",
                                   fix="give one of them another 'db_name'")
            rows.append(row)
        config = Configuration(component_id=comp.id, id=new_id(), name=name, description=description,
                               configuration={"parameters": {"db": db}}, rows=rows)
        check_rows(config)
        return config

    def _row(self, name: str, index: int, entry: Any, kind: str) -> ConfigRow:
        where = f"writer {name!r}, table entry {index}"
        if not isinstance(entry, dict):
            raise KeboolaError(f"{where} must be a mapping or a storage table id")
        unknown = set(entry) - set(SHORTHAND_ROW_KEYS)
        if unknown:
            raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                               fix=f"allowed keys: {', '.join(SHORTHAND_ROW_KEYS)}")
        if "table" not in entry:
            raise KeboolaError(f"{where}: say which storage table to write with 'table: in.c-bucket.table'")
        tid = TableId.parse(str(entry["table"]))
        meta = self.project.storage.metadata(str(tid))  # a clear error, with suggestions, for unknown tables
        types: dict[str, str] = meta["columns"]
        columns = list(entry.get("columns") or types)
        for column in columns:
            if column not in types:
                close = difflib.get_close_matches(column, list(types), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise KeboolaError(f"{where}: storage table {tid} has no column {column!r}",
                                   fix=f"{hint}its columns are: {', '.join(types)}")
        pk = list(entry["primary_key"]) if entry.get("primary_key") is not None else list(meta.get("primary_key") or [])
        outside = [c for c in pk if c not in columns]
        if outside:
            raise KeboolaError(f"{where}: primary key column(s) {', '.join(outside)} are not among the columns written",
                               fix="add them to 'columns', or set 'primary_key'")
        incremental = entry.get("incremental", False)
        if not isinstance(incremental, bool):
            raise KeboolaError(f"{where}: 'incremental' must be true or false")
        changed_since = entry.get("changed_since")
        if changed_since not in (None, "adaptive"):
            raise KeboolaError(f"{where}: changed_since {changed_since!r} is not supported",
                               fix="use 'changed_since: adaptive' (only rows imported since the last write) or leave it out")
        db_name = str(entry.get("db_name") or tid.table)
        items = []
        for column in columns:
            if kind == "mysql":
                target, size = mysql_type(types[column], column in pk)
            else:
                target, size = snowflake_type(types[column]) if kind == "snowflake" else pg_type(types[column])
            items.append({"name": column, "dbName": column, "type": target, "nullable": column not in pk,
                          "default": "", "size": size})
        params = {"tableId": str(tid), "dbName": db_name, "incremental": incremental, "primaryKey": pk,
                  "items": items}
        mapping: dict[str, Any] = {"source": str(tid), "destination": f"{tid}.csv", "columns": columns}
        if changed_since:
            mapping["changed_since"] = changed_since
        configuration = {"parameters": params, "storage": {"input": {"tables": [mapping]}}}
        return ConfigRow(id=new_id(), name=db_name, configuration=configuration)

    def summary(self, config: Configuration) -> "pd.DataFrame":
        """One line per row: storage table, target table, columns, how it loads."""
        import pandas as pd

        db = config.configuration.get("parameters", {}).get("db", {})
        schema = db["database"] if db.get("driver") == "mysql" else db.get("schema", DEFAULT_SCHEMA)
        records = []
        for row_name, p in check_rows(config):
            records.append({"row": row_name, "table": p.tableId, "target": f"{schema}.{p.dbName}",
                            "columns": len(p.written), "primary_key": p.primaryKey,
                            "load": "incremental" if p.incremental else "full",
                            "changed_since": p.input.changed_since or ""})
        return pd.DataFrame(records)
