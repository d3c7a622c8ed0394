"""Run a BigQuery extractor: dry-run every query, refuse a run over budget, then stream each result into storage.

The estimate comes first and covers the whole run, so a run over budget stops before any query runs and
writes nothing. Each query then runs with `maximum_bytes_billed` set to the budget, so BigQuery itself
refuses to bill more than the estimate allowed. All rows load in one storage transaction.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..connectors.base import ExtractSpec
from ..connectors.bigquery import BigQueryConnector
from ..errors import KeboolaError
from ..model.bigquery_cost import Estimate, budget
from ..model.bigquery_extractor import BigQueryRow, check_rows
from ..model.configuration import Configuration
from ..store.secrets import redact
from .extractor import UNTOUCHED
from .jobs import Job
from .progress import Progress
from .runs import begin, fail, select_rows, succeed

if TYPE_CHECKING:
    from ..project import Project


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


def estimate_config(project: "Project", config: Configuration) -> Estimate:
    """The cost estimate of running `config` now (`%keboola cost NAME`)."""
    selected = select_rows(config, check_rows(config), None, lambda p: True)
    connector = connector_for(config, selected[0][2])
    try:
        return estimate(connector, selected)
    finally:
        connector.close()


def run_bigquery_extractor(
    project: "Project", config: Configuration, rows: list[str] | None = None,
    progress: Progress | None = None, actor: str = "user",
) -> Job:
    job, progress = begin(project, config, progress, actor)
    current = ""
    connector = None
    try:
        checked = check_rows(config)
        selected = select_rows(config, checked, rows, lambda p: True)
        job.note(f"extractor {config.name} ({config.component_id}): {len(selected)} query(ies)")
        connector = connector_for(config, selected[0][2])
        cost = estimate(connector, selected)
        for line in cost.lines:
            job.note(f"{line['row']}: dry run {line['read']}: {line['bytes_processed']:,} bytes processed, "
                     f"{line['bytes_billed']:,} billed, ${line['usd']:.4f}")
        job.note(cost.summary())
        cost.check()
        with project.storage.transaction() as loader:
            for index, (_, row_name, params) in enumerate(selected, 1):
                current = config.default_table_id(params.query.tableName)
                progress.step(index, len(selected), f"{row_name} -> {current}")
                started = time.perf_counter()
                scan = connector.scan(loader.con, _spec(params), legacy_sql=params.query.useLegacySql,
                                      maximum_bytes_billed=cost.budget)
                result = loader.load(current, scan, incremental=params.query.incremental,
                                     primary_key=params.query.primaryKey,
                                     source=f"{config.component_id}/{config.name}/{row_name}")
                seconds = time.perf_counter() - started
                stream = connector.last_stream
                job.tables.append({"table_id": result.table_id, "rows": result.rows, "seconds": round(seconds, 3),
                                   "total_rows": result.total_rows, "incremental": result.incremental})
                job.note(f"{row_name}: {result.rows:,} rows in {stream.pages} page(s) over {stream.path} in "
                         f"{seconds:.2f} s; table has {result.total_rows:,}")
        return succeed(project, job, config.id, {}, progress)
    except KeboolaError as e:
        return fail(project, job, e, UNTOUCHED)
    except Exception as e:  # google-cloud or DuckDB: name the table, keep the message short
        job.tables.clear()
        text = redact(str(e)).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        job.note(f"failed: {text}")
        where = f"extracting into {current}" if current else f"running {config.name!r}"
        return project.jobs.finish(job, "error", f"{where} failed: {text}. {UNTOUCHED}")
    finally:
        if connector is not None:
            connector.close()
