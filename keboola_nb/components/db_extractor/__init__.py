"""Database extractors: `keboola.ex-db-pgsql`, `keboola.ex-db-mysql` and `keboola.ex-db-snowflake`.

They share one configuration format, one way to build rows and one run; what differs per database is data:
its connection kind and the column types incremental fetching accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..component import Component, ProjectParts
from .build import build
from .model import check_rows, summarize
from .run import explain, extract

if TYPE_CHECKING:
    from ...connections import Connection
    from ...engine.runner import Run
    from ...model.configuration import Configuration
    from .model import DbRow


class DbExtractor(Component):
    type = "extractor"
    fetching_types: ClassVar[tuple[str, ...]]  # column types (as describe() spells them) to fetch incrementally by
    db_keys: ClassVar[tuple[str, ...]] = ()  # the db keys its Keboola component takes beyond the shared DbNode
    help = {
        "table_entry_keys": {
            "table": "schema.table to extract",
            "incremental_fetching_column": "a timestamp or increasing id column; later runs read only rows >= the "
                                           "last value",
            "primary_key": "columns identifying a row; incremental loads upsert by it (default: the source's)",
            "columns": "subset of columns (default: all)",
        },
        "rules": [
            "output tables are in.c-<extractor name>.<table>",
            "incremental fetching needs a number, date or timestamp column",
            "without a primary key an incremental load appends rows",
            "passwords are never written into configurations: a connection holds a secret reference",
        ],
        "example": {"name": "shop-orders", "connection": "demo",
                    "tables": [{"table": "public.orders", "incremental_fetching_column": "updated_at"}]},
    }

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", **options: Any) -> "Configuration":
        return build(self, name, connection, entries, description)

    def check(self, config: "Configuration") -> list[tuple[str, Any]]:
        return check_rows(config, self.db_keys)

    def summary(self, config: "Configuration") -> list[dict[str, Any]]:
        return summarize(config, self.db_keys)

    def enabled(self, params: "DbRow") -> bool:
        return params.enabled

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        extract(run, rows, str(self.connection_kind))

    explain = staticmethod(explain)


class PostgresExtractor(DbExtractor):
    id = "keboola.ex-db-pgsql"
    label = "PostgreSQL extractor"
    connection_kind = "postgresql"
    fetching_types = ("smallint", "integer", "bigint", "numeric", "real", "double precision", "timestamp", "date")


class MySqlExtractor(DbExtractor):
    id = "keboola.ex-db-mysql"
    label = "MySQL extractor"
    connection_kind = "mysql"
    db_keys = ("networkCompression", "transactionIsolationLevel", "queryTimeout")
    fetching_types = ("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "timestamp",
                      "datetime", "date")


class SnowflakeExtractor(DbExtractor):
    id = "keboola.ex-db-snowflake"
    label = "Snowflake extractor"
    connection_kind = "snowflake"
    fetching_types = ("NUMBER", "FLOAT", "TIMESTAMP", "DATE")
    db_keys = ("schema", "warehouse", "roleName", "#privateKey")


PGSQL = PostgresExtractor()
MYSQL = MySqlExtractor()
SNOWFLAKE = SnowflakeExtractor()
