"""The Google BigQuery extractor (`keboola.ex-google-bigquery-v2`): queries (dry-run and priced before they run,
within a budget) and whole tables (read from table storage, no query cost) into storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...engine.runner import select_rows
from ..component import Component, ProjectParts
from .build import build, parse_shorthand
from .model import check_rows, summarize
from .run import connector_for, estimate, extract

if TYPE_CHECKING:
    from ...connections import Connection
    from ...model.configuration import Configuration
    from .cost import Estimate


class BigQueryExtractor(Component):
    id = "keboola.ex-google-bigquery-v2"
    type = "extractor"
    label = "Google BigQuery extractor"
    connection_kind = "bigquery"
    entries = "queries"
    help = {
        "rules": ["the connection must name the bucket Keboola unloads through: bigquery://PROJECT/DATASET"
                  "?unload=gs://BUCKET (google.storage; a local run does not use it)",
                  "create_extractor entries: table (dataset.table, read without query cost) or query plus name",
                  "queries are dry-run first: bytes and dollars are in the job log; a run over the budget stops",
                  "incremental with a primary key upserts; tables land in in.c-keboola-ex-google-bigquery-v2-<id>"],
        "example": {"name": "gbq-sales", "connection": "gbq",
                    "tables": [{"query": "SELECT day, SUM(amount) AS amount FROM `p.sales.orders` GROUP BY day",
                                "name": "daily_sales", "primary_key": ["day"]}]},
    }

    def parse_shorthand(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        return parse_shorthand(data, name)

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", **options: Any) -> "Configuration":
        return build(name, connection, entries, description)

    check = staticmethod(check_rows)
    summary = staticmethod(summarize)
    run = staticmethod(extract)

    def estimate(self, config: "Configuration") -> "Estimate":
        """What running every row would bill now (dry runs and table sizes), against the budget."""
        rows = select_rows(self, config, None)  # the rows a run would run
        connector = connector_for(config, rows[0][2])
        try:
            return estimate(connector, rows)
        finally:
            connector.close()


BIGQUERY_EXTRACTOR = BigQueryExtractor()
