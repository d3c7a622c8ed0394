"""Creating database writer configurations from a connection and a list of storage tables.

`tables` entries use the shorthand of `%%keboola writer` (snake_case keys); they become Keboola rows
(`tableId`, `dbName`, `items`, `storage.input.tables`, ...). Tables and columns are checked against
storage before anything is saved; column types are mapped from storage to the target database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import bigquery_writers, s3_writers
from .errors import KeboolaError
from .model import bigquery_writer, s3_writer
from .model.components import COMPONENTS, Component
from .model.configuration import ConfigRow, Configuration, check_name, from_edited_json
from .model.db_writer import SHORTHAND_ROW_KEYS, check_rows, parse_shorthand, pg_type
from .model.mysql_types import mysql_type
from .model.snowflake_types import snowflake_type
from .store.configs import new_id
from .writer_entries import storage_input

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


def _check(config: Configuration) -> None:
    """Keboola's rules for the writer's kind of target."""
    checks = {bigquery_writer.COMPONENT_ID: bigquery_writer.check_rows, s3_writer.COMPONENT_ID: s3_writer.check_rows}
    checks.get(config.component_id, check_rows)(config)


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
        prefix: str | None = None,
        description: str = "",
        replace: bool = False,
        actor: str = "user",
    ) -> Configuration:
        """Build, validate and save a writer; with `replace`, keep the id and make a new version.
        `schema` is the database schema of a database target, `prefix` the key prefix of an S3 one."""
        config = self.build(name, connection, tables, schema=schema, prefix=prefix, description=description)
        return self.save(config, replace=replace, actor=actor)

    def create_from_yaml(self, name: str, text: str, *, replace: bool = False, actor: str = "user") -> Configuration:
        if s3_writers.targets_s3(self.project, text):
            spec = s3_writer.parse_shorthand(text, name)
            return self.create(name, spec["connection"], spec["tables"], prefix=spec["prefix"],
                               description=spec["description"], replace=replace, actor=actor)
        spec = parse_shorthand(text, name)
        return self.create(name, spec["connection"], spec["tables"], schema=spec["schema"],
                           description=spec["description"], replace=replace, actor=actor)

    def save(self, config: Configuration, *, replace: bool = False, actor: str = "user") -> Configuration:
        """Save a built (or edited and checked) writer under its name."""
        return self.project.configs.save_named(config, replace=replace, actor=actor)

    def from_json(self, text: str) -> Configuration:
        """A writer as Keboola JSON (e.g. edited by the user), checked before it can be saved."""
        config = from_edited_json(text, "writer")
        _check(config)
        return config

    def build(
        self,
        name: str,
        connection: str,
        tables: list[str | dict[str, Any]],
        *,
        schema: str | None = None,
        prefix: str | None = None,
        description: str = "",
    ) -> Configuration:
        check_name(name, "writer")
        conn = self.project.connections.get(connection)
        if conn.kind == "s3":
            if schema:
                raise KeboolaError(f"writer {name!r}: an S3 target has no schema", fix="leave 'schema' out; "
                                   "files go under the connection's prefix, or under 'prefix'")
            return s3_writers.build(self.project, name, connection, tables, prefix=prefix, description=description)
        if conn.kind == "bigquery":
            return bigquery_writers.build(self.project, name, conn, tables, dataset=schema, description=description)
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
        inp = storage_input(self.project, where, entry, SHORTHAND_ROW_KEYS)
        pk = inp.primary_key
        db_name = str(entry.get("db_name") or inp.table.table)
        items = []
        for column in inp.columns:
            storage_type = inp.types[column]
            if kind == "mysql":
                target, size = mysql_type(storage_type, column in pk)
            else:
                target, size = snowflake_type(storage_type) if kind == "snowflake" else pg_type(storage_type)
            items.append({"name": column, "dbName": column, "type": target, "nullable": column not in pk,
                          "default": "", "size": size})
        params = {"tableId": str(inp.table), "dbName": db_name, "incremental": inp.incremental, "primaryKey": pk,
                  "items": items}
        configuration = {"parameters": params, "storage": {"input": {"tables": [inp.mapping()]}}}
        return ConfigRow(id=new_id(), name=db_name, configuration=configuration)

    def summary(self, config: Configuration) -> "pd.DataFrame":
        """One line per row: storage table, target table, columns, how it loads."""
        import pandas as pd

        if config.component_id == s3_writer.COMPONENT_ID:
            return s3_writers.summary(config)
        if config.component_id == bigquery_writer.COMPONENT_ID:
            return bigquery_writers.summary(config)
        db = config.configuration.get("parameters", {}).get("db", {})
        schema = db["database"] if db.get("driver") == "mysql" else db.get("schema", DEFAULT_SCHEMA)
        records = []
        for row_name, p in check_rows(config):
            records.append({"row": row_name, "table": p.tableId, "target": f"{schema}.{p.dbName}",
                            "columns": len(p.written), "primary_key": p.primaryKey,
                            "load": "incremental" if p.incremental else "full",
                            "changed_since": p.input.changed_since or ""})
        return pd.DataFrame(records)
