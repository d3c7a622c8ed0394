"""The Google BigQuery writer (`keboola.wr-google-bigquery-v2`): storage tables into a dataset, loaded as Parquet
into staging tables, then appended (incremental) or copied over (full) once every table is staged - what Keboola's
writer does, all or nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...engine.table_writer import explain_write_error, write_tables
from ..component import Component, ProjectParts
from .build import build, summary
from .model import check_positions, check_rows
from .target import BigQueryTarget

if TYPE_CHECKING:
    from ...connections import Connection
    from ...engine.runner import Run
    from ...model.configuration import Configuration


class BigQueryWriter(Component):
    id = "keboola.wr-google-bigquery-v2"
    type = "writer"
    label = "Google BigQuery writer"
    connection_kind = "bigquery"
    options = ("schema",)  # the dataset
    untouched = "The target and the writer's state were left as they were."
    help = {
        "rules": ["create_writer with a bigquery connection; schema_name is the dataset (default: the connection's)",
                  "a full load replaces the table; incremental appends every row, as Keboola's writer does; "
                  "primary_key is refused (Keboola's writer never reads it)",
                  "a missing dataset is created in the connection's location"],
        "example": {"name": "to-gbq", "connection": "gbq", "tables": [{"table": "out.c-report.daily_revenue"}]},
    }

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", schema: str | None = None, **options: Any) -> "Configuration":
        return build(project, name, connection, entries, dataset=schema, description=description)

    check = staticmethod(check_rows)
    summary = staticmethod(summary)

    explain = staticmethod(explain_write_error)

    def enabled(self, params: Any) -> bool:
        return bool(params.export)

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        for _, row_name, params in rows:
            if not params.input.columns:
                check_positions(run.storage, row_name, params)
            if params.primaryKey:
                run.note(f"{row_name}: {params.load}")
        root = rows[0][2].db.model_dump(by_alias=True, exclude_none=True)
        write_tables(run, BigQueryTarget(run.config.name, root, note=run.note), rows)


BIGQUERY_WRITER = BigQueryWriter()
