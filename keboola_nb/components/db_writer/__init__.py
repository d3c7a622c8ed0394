"""Database writers: `keboola.wr-db-pgsql`, `keboola.wr-db-mysql` and `keboola.wr-db-snowflake`.

They share one configuration format, one way to build rows and one run; what differs per database is data
(its driver name, whether it has schemas), its type mapping and its target module (how it stages and swaps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ...engine.table_writer import explain_write_error
from ..component import Component, ProjectParts
from .build import build, summary
from .model import check_rows, pg_type
from .mysql_types import mysql_type
from .run import write
from .snowflake_types import snowflake_type

if TYPE_CHECKING:
    from ...connections import Connection
    from ...engine.runner import Run
    from ...model.configuration import Configuration
    from .model import WriterRow


class DbWriter(Component):
    type = "writer"
    options = ("schema",)
    untouched = "The target and the writer's state were left as they were."
    database: ClassVar[str]  # the database's name in messages
    driver: ClassVar[str]  # Keboola's parameters.db.driver
    has_schemas: ClassVar[bool] = True  # False: the connection's database is where tables go
    target_module: ClassVar[str]  # the module of this package whose target(name, db) stages and writes
    db_keys: ClassVar[tuple[str, ...]] = ("schema",)  # the db keys its Keboola component takes beyond the DbNode
    help = {
        "rules": [
            "one row per storage table; column types are mapped from storage (decimals stay exact)",
            "a full load replaces the target table in one transaction; incremental upserts by primary key",
            "changed_since adaptive needs incremental and writes only rows imported since the last write",
        ],
        "example": {"name": "to-dwh", "connection": "dwh",
                    "tables": [{"table": "in.c-shop.orders", "incremental": True, "changed_since": "adaptive"}]},
    }

    def item_type(self, storage_type: str, in_key: bool) -> tuple[str, str]:
        """(type, size) of a writer item for a storage column type."""
        raise NotImplementedError

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", schema: str | None = None, **options: Any) -> "Configuration":
        return build(self, project, name, connection, entries, schema=schema, description=description)

    def check(self, config: "Configuration") -> list[tuple[str, Any]]:
        return check_rows(config, self.db_keys)

    def summary(self, config: "Configuration") -> list[dict[str, Any]]:
        return summary(config, self.has_schemas, self.db_keys)

    def enabled(self, params: "WriterRow") -> bool:
        return params.export

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        write(run, rows, self.target_module)

    explain = staticmethod(explain_write_error)


class PostgresWriter(DbWriter):
    id = "keboola.wr-db-pgsql"
    label = "PostgreSQL writer"
    connection_kind = "postgresql"
    database = "PostgreSQL"
    driver = "pgsql"
    target_module = "postgres"

    def item_type(self, storage_type: str, in_key: bool) -> tuple[str, str]:
        return pg_type(storage_type)


class MySqlWriter(DbWriter):
    id = "keboola.wr-db-mysql"
    label = "MySQL writer"
    connection_kind = "mysql"
    database = "MySQL"
    driver = "mysql"
    has_schemas = False
    target_module = "mysql"

    def item_type(self, storage_type: str, in_key: bool) -> tuple[str, str]:
        return mysql_type(storage_type, in_key)


class SnowflakeWriter(DbWriter):
    id = "keboola.wr-db-snowflake"  # on AWS stacks; Azure and GCP stacks have writers of their own
    replaces = ("keboola.wr-snowflake",)  # a template placeholder, not a component
    label = "Snowflake writer"
    connection_kind = "snowflake"
    database = "Snowflake"
    driver = "snowflake"
    target_module = "snowflake"
    db_keys = ("schema", "warehouse", "roleName", "#privateKey", "runId")

    def item_type(self, storage_type: str, in_key: bool) -> tuple[str, str]:
        return snowflake_type(storage_type)


PGSQL = PostgresWriter()
MYSQL = MySqlWriter()
SNOWFLAKE = SnowflakeWriter()
