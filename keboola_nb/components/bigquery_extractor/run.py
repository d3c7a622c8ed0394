"""Running a BigQuery extractor: dry-run every query, refuse a run over budget, then stream each result into storage.

The estimate comes first and covers the whole run, so a run over budget stops before any query runs and
writes nothing. Each query then runs with `maximum_bytes_billed` set to the budget, so BigQuery itself
refuses to bill more than the estimate allowed. All rows load in one storage transaction.
"""

from __future__ import annotations

from ...connectors.base import ExtractSpec
from ...connectors.bigquery import BigQueryConnector
from ...engine.runner import Run
from ...model.configuration import Configuration
from .cost import Estimate, budget
from .model import BigQueryRow


def connector_for(config: Configuration, params: BigQueryRow) -> BigQueryConnector:
    account = params.service_account.model_dump(by_alias=True, exclude_none=True)
    node = {"project": params.service_account.project_id, "location": params.google.location,
            "service_account": account}
    return BigQueryConnector(config.name, node)


def _spec(params: BigQueryRow) -> ExtractSpec:
    read = params.query.table_read()
    if read is None:
        return ExtractSpec(query=params.query.query)
    project, dataset, table, columns = read
    return ExtractSpec(table=(f"{project}.{dataset}", table), columns=columns)


def estimate(connector: BigQueryConnector, rows: list[tuple[str, str, BigQueryRow]]) -> Estimate:
    """Dry runs (queries) and table sizes (direct reads): what the run would bill, before it runs."""
    result = Estimate(budget())
    for _, row_name, params in rows:
        spec = _spec(params)
        if spec.table is not None:
            table = connector.get_table(spec.table)
            result.add(row_name, int(table.num_bytes or 0), table_read=True)
        else:
            processed, _ = connector.dry_run(params.query.query, params.query.useLegacySql)
            result.add(row_name, processed, table_read=False)
    return result


def extract(run: Run, rows: list[tuple[str, str, BigQueryRow]]) -> None:
    """The whole run's estimate first (over the budget: nothing runs), then every row into storage in one
    storage transaction."""
    connector = connector_for(run.config, rows[0][2])
    run.note(f"Keboola unloads results through {rows[0][2].google.storage}; this run reads them directly "
             "(Storage Read API) and does not use the bucket")
    try:
        cost = estimate(connector, rows)
        for line in cost.lines:
            run.note(f"{line['row']}: dry run {line['read']}: {line['bytes_processed']:,} bytes processed, "
                     f"{line['bytes_billed']:,} billed, ${line['usd']:.4f}")
        run.note(cost.summary())
        cost.check()
        with run.storage.transaction() as loader:
            for index, (_, row_name, params) in enumerate(rows, 1):
                table_id = run.config.default_table_id(params.query.tableName)
                run.where = f"extracting into {table_id}"
                run.progress.step(index, len(rows), f"{row_name} -> {table_id}")
                scan = connector.scan(loader.con, _spec(params), legacy_sql=params.query.useLegacySql,
                                      maximum_bytes_billed=cost.budget)
                run.load(loader, row_name, table_id, scan, incremental=params.query.incremental,
                         primary_key=params.query.primaryKey,
                         read=lambda: f" in {connector.last_stream.pages} page(s) over {connector.last_stream.path}")
    finally:
        connector.close()
