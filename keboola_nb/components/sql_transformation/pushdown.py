"""Push-down: a Snowflake or BigQuery transformation whose inputs were all extracted from one warehouse runs in
that warehouse, so work that outgrows one machine runs where the data already is.

`plan` decides from what storage records: each input table's `source` names the extractor row that loaded it.
The run goes to the warehouse only when the code is in the warehouse's dialect, every input came from one
connection of it, each row read a whole table (not a query), and the input mapping's filters can be written in
the warehouse's SQL; otherwise the code runs locally, and the job says why.

`run_there` checks the SQL as the local run does, then in a scratch schema (Snowflake) or dataset (BigQuery)
makes one view per input, named as the code sees it and reading the mapped columns from the real table, runs
the statements one at a time there, and streams each output into storage in one storage transaction. The
scratch schema is always dropped; a failure anywhere leaves storage as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ...connectors import open_connector
from ...engine.mapping import load_output
from ...engine.runner import error_line
from ...errors import KeboolaError
from ...storage.storage import storage_columns, text_in
from .run import no_outputs, prepare, statement_failed, step_of

if TYPE_CHECKING:
    import duckdb

    from ...connectors.base import Scan
    from ...connectors.bigquery import BigQueryConnector
    from ...connectors.snowflake import SnowflakeConnector
    from ...engine.runner import Run
    from ...model.configuration import Configuration
    from ...model.transformation import TransformationInput
    from ..transformation import Checked

# Storage types whose values read the same as text here and in the warehouses (a where filter compares text).
_TEXT_SAME = re.compile(r"^(VARCHAR|BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT)$")


class _Local(Exception):
    """Why the transformation runs locally (told in the job)."""


@dataclass
class Source:
    """An input as the warehouse holds it: the table its extractor row read, and the columns it took."""

    table: "TransformationInput"
    schema: str  # Snowflake: the schema; BigQuery: project.dataset
    name: str
    columns: list[str] = field(default_factory=list)  # the row's columns as the source names them; empty: all


@dataclass
class Warehouse:
    """Where a transformation is pushed down: one connection (the extractors' node) and its inputs there."""

    kind: str  # the connection kind, which is also the dialect (snowflake, bigquery)
    name: str  # the extractor configuration the connection is taken from (named in messages)
    node: dict[str, Any]
    target: str
    sources: list[Source]

    @property
    def label(self) -> str:
        """Snowflake, BigQuery."""
        return _SIDES[self.kind].label


# deciding ----------------------------------------------------------------------------------------------
def plan(run: "Run", name: str, checked: "Checked", dialect: str) -> Warehouse | None:
    """The warehouse to run in when every input came from one connection of the dialect's warehouse, else None
    (the job says why when the dialect is a warehouse's)."""
    from .. import of_kind

    side = _SIDES.get(dialect)
    if side is None or not [c for c in of_kind(dialect) if c.type == "extractor"]:
        return None
    try:
        warehouse = _plan(run, checked, dialect, side)
    except _Local as reason:
        run.note(f"ran locally: {reason}")
        return None
    inputs = ", ".join(side.display(warehouse.node, s) for s in warehouse.sources)
    run.note(f"pushed down to {side.label} {warehouse.target}: inputs are {inputs}")
    return warehouse


def _plan(run: "Run", checked: "Checked", dialect: str, side: "_Side") -> Warehouse:
    from .. import get

    inputs = checked.mapping.inputs
    if not inputs:
        raise _Local("it has no inputs")
    if run.configs is None:
        raise _Local("the project's configurations are not available to this run")
    found: list[tuple[str, dict[str, Any], Source]] = []
    for table in inputs:
        where = table.source
        try:
            meta = run.storage.metadata(table.source)
        except KeboolaError:
            raise _Local(f"storage has no {where}") from None
        _reproducible(table, meta.get("columns") or {}, side.label)
        parts = str(meta.get("source") or "").split("/", 2)
        if len(parts) != 3:
            raise _Local(f"{where} was not extracted from {side.label}")
        component_id, config_name, row_name = parts
        try:
            component = get(component_id)
        except KeboolaError:
            raise _Local(f"{where} was not extracted from {side.label}") from None
        if component.type != "extractor" or component.connection_kind != dialect:
            raise _Local(f"{where} was not extracted from {side.label} (it came from {component.label} "
                         f"{config_name!r})")
        try:
            config = run.configs(config_name)
            rows = dict(component.check(config))
        except KeboolaError:
            raise _Local(f"the extractor {config_name!r} that loaded {where} is gone or no longer valid") from None
        if config.component_id != component_id or row_name not in rows:
            raise _Local(f"the extractor {config_name!r} no longer has the row {row_name!r} that loaded {where}")
        node, schema, table_name, columns = side.source(config, rows[row_name], table.source)
        found.append((config_name, node, Source(table, schema, table_name, columns)))
    first_name, first_node, _ = found[0]
    for config_name, node, source in found[1:]:
        if node != first_node:
            raise _Local(f"its inputs come from different {side.label} connections ({first_name!r} and "
                         f"{config_name!r} for {source.table.source})")
    return Warehouse(dialect, first_name, first_node, side.target(first_node), [s for _, _, s in found])


def _reproducible(table: "TransformationInput", types: dict[str, str], label: str) -> None:
    """Filters the warehouse can apply as storage does: a where filter on a column whose values read the same as
    text in both; never changed_since, which picks rows by the time storage imported them."""
    if table.since:
        raise _Local(f"{table.source} is read with changed_since {table.since!r}, which picks rows by when storage "
                     f"imported them; {label} cannot tell")
    if table.where_column and not _TEXT_SAME.match(str(types.get(table.where_column, ""))):
        raise _Local(f"the where filter on {table.source}.{table.where_column} ({types.get(table.where_column)}) "
                     f"compares values as text, which {label} may spell differently")


# running -----------------------------------------------------------------------------------------------
def run_there(run: "Run", name: str, checked: "Checked", warehouse: Warehouse) -> None:
    """Check the SQL as the local run does, run it in a scratch schema of the warehouse, load the outputs into
    storage in one transaction, and drop the scratch schema whatever happened."""
    side = _SIDES[warehouse.kind]
    run.where = "checking the SQL"
    with run.storage.connect() as con:  # checked exactly as the local run checks it: against storage's columns
        prepared = prepare(con, name, checked, warehouse.kind, {})
    statements = prepared.statements
    label = warehouse.label
    scratch = side.scratch(warehouse, run.job.id)
    try:
        run.where = f"creating the scratch schema {scratch.name} in {label}"
        scratch.create()
        for source in warehouse.sources:
            view = source.table.destination  # the name the code reads it by, as Keboola's workspaces name it
            run.where = f"mapping {source.table.source} as {view} in {label}"
            scratch.view(view, _view_select(scratch, source, list(prepared.schema[view]), label))
        for index, statement in enumerate(statements, 1):
            at, step = step_of(prepared.script, statement)
            run.where = f"running {step} in {label}"
            run.progress.step(index, len(statements), step)
            try:
                scratch.execute(statement.text)
            except _Failed as e:
                raise statement_failed(at, str(e), f" in {label}") from None
        run.note(f"{len(statements)} statement(s) ran in {label}")
        made = scratch.tables()
        missing = [o.source for o in checked.mapping.outputs if o.source.lower() not in made]
        if missing:
            raise no_outputs(missing)
        with run.storage.transaction() as loader:
            for output in checked.mapping.outputs:
                run.where = f"loading {output.source} from {label} into {output.destination}"
                load_output(run, loader, output, scratch.scan(loader.con, made[output.source.lower()]), name)
    finally:
        try:
            scratch.drop()
        except Exception as e:  # storage is already right (or the run failed for a better reason): say so only
            run.note(f"the scratch schema {scratch.name} could not be dropped in {label} ({_first_line(e)}); "
                     "drop it by hand")
        scratch.close()


def _view_select(scratch: "_Scratch", source: Source, wanted: list[str], label: str) -> str:
    """The SELECT behind an input's view: the warehouse's columns under the names storage gave them, filtered as
    the input mapping says."""
    columns = source.columns or scratch.columns(source)
    by_storage = dict(zip(storage_columns(columns), columns))
    gone = [c for c in wanted if c not in by_storage]
    if gone:
        raise KeboolaError(f"{label} table {source.schema}.{source.name} has no column(s) {', '.join(gone)} that "
                           f"{source.table.source} has", fix="extract the table again: it changed in the warehouse "
                                                             "since it was extracted")
    q = scratch.quote
    select = ", ".join(q(by_storage[c]) + ("" if by_storage[c] == c else f" AS {q(c)}") for c in wanted)
    sql = f"SELECT {select} FROM {scratch.table(source)}"
    table = source.table
    if table.where_column:
        column = by_storage.get(table.where_column)
        if column is None:
            raise KeboolaError(f"where_column {table.where_column!r} is not a column the extractor read into "
                               f"{source.table.source}", fix="extract the column too, or filter in the code")
        sql += " WHERE " + text_in(q(column), [scratch.literal(str(v)) for v in table.where_values],
                                   table.where_operator, scratch.text_type)
    return sql


_SCRATCH_FIX = ("when it already exists, another run is using it or left it behind: drop it once no run is using "
                "it; otherwise the connection needs {grant}")


class _Failed(Exception):
    """A statement the warehouse refused (its first line, secrets redacted)."""


def _first_line(error: Exception) -> str:
    """The driver's own message (BigQuery's first error, Snowflake's raw message), as the runner shows one."""
    errors = getattr(error, "errors", None) or []
    text = (errors[0].get("message") if errors and isinstance(errors[0], dict) else None) \
        or getattr(error, "raw_msg", None) or getattr(error, "msg", None)
    return error_line(error, str(text) if text else None)


# the warehouses ----------------------------------------------------------------------------------------
class _Scratch:
    """A scratch schema (or dataset) in the warehouse, for one run."""

    name: str
    text_type: ClassVar[str]  # the warehouse's text type (a where filter compares text)

    def create(self) -> None:
        raise NotImplementedError

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def literal(self, value: str) -> str:
        raise NotImplementedError

    def table(self, source: Source) -> str:
        """The real table an input reads, fully qualified."""
        raise NotImplementedError

    def columns(self, source: Source) -> list[str]:
        """The real table's columns, in order (what the extractor row read when it names none)."""
        raise NotImplementedError

    def view(self, name: str, select: str) -> None:
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        """One statement of the code; the warehouse's refusal raises _Failed."""
        raise NotImplementedError

    def tables(self) -> dict[str, str]:
        """The scratch schema's tables by lower-case name (output names match as SQL names do)."""
        raise NotImplementedError

    def scan(self, con: "duckdb.DuckDBPyConnection", table: str) -> "Scan":
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Side:
    """What push-down needs to know of one warehouse's extractor rows."""

    label: ClassVar[str]

    def source(self, config: "Configuration", params: Any, table_id: str) -> tuple[dict[str, Any], str, str, list[str]]:
        """(connection node, schema, table, columns) of the whole table an extractor row loaded into `table_id`."""
        raise NotImplementedError

    def target(self, node: dict[str, Any]) -> str:
        raise NotImplementedError

    def display(self, node: dict[str, Any], source: Source) -> str:
        raise NotImplementedError

    def scratch(self, warehouse: Warehouse, job_id: int) -> _Scratch:
        raise NotImplementedError


class _SnowflakeSide(_Side):
    label = "Snowflake"

    def source(self, config: "Configuration", params: Any, table_id: str) -> tuple[dict[str, Any], str, str, list[str]]:
        if params.table is None:
            raise _Local(f"{table_id} was extracted by a query, not a whole table")
        if params.outputTable != table_id:
            raise _Local(f"the extractor {config.name!r} now loads {params.outputTable}, not {table_id}")
        node = params.db.model_dump(by_alias=True, exclude_none=True)
        return node, params.table.schema_, params.table.tableName, list(params.columns)

    def target(self, node: dict[str, Any]) -> str:
        from ...connectors.snowflake import account_of

        return f"{account_of(node)}/{node.get('database')}"

    def display(self, node: dict[str, Any], source: Source) -> str:
        return f"{node.get('database')}.{source.schema}.{source.name}"

    def scratch(self, warehouse: Warehouse, job_id: int) -> _Scratch:
        connector = open_connector(warehouse.kind, warehouse.name, warehouse.node)
        return _SnowflakeScratch(connector, f"KEBOOLA_NB_{int(job_id)}")  # type: ignore[arg-type]


class _SnowflakeScratch(_Scratch):
    text_type = "VARCHAR"

    def __init__(self, connector: "SnowflakeConnector", name: str) -> None:
        self.connector = connector
        self.name = name
        from ...connectors.snowflake import ident

        self.database = ident(connector.database)
        self.schema = f"{self.database}.{self.quote(name)}"
        self._conn: Any = None
        self._created = False

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    def _cursor(self) -> Any:
        if self._conn is None:
            self._conn = self.connector.open(statement_timeout=0)  # a transformation may run long
        return self._conn.cursor()

    def _run(self, sql: str, args: list[Any] | None = None) -> list[tuple]:
        import snowflake.connector

        try:
            with self._cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall()) if cur.description else []
        except snowflake.connector.Error as e:
            raise _Failed(_first_line(e)) from None

    def _admin(self, sql: str, args: list[Any] | None = None) -> list[tuple]:
        """Our own statements: a refusal is the connection's problem, named as such."""
        try:
            return self._run(sql, args)
        except _Failed as e:
            raise KeboolaError(f"connection {self.connector.name!r}: {e}",
                               fix="the role needs CREATE SCHEMA on the database and SELECT on the input tables") \
                from None

    def create(self) -> None:
        try:
            self._run(f"CREATE SCHEMA {self.schema}")  # never OR REPLACE: another run's schema is not ours
        except _Failed as e:
            raise KeboolaError(f"connection {self.connector.name!r}: cannot create the scratch schema {self.name}: "
                               f"{e}", fix=_SCRATCH_FIX.format(what="schema", grant="CREATE SCHEMA on the database"))\
                from None
        self._created = True
        self._admin(f"USE SCHEMA {self.schema}")  # unqualified names in the code resolve here

    def table(self, source: Source) -> str:
        from ...connectors.snowflake import format_table

        schema, name = self.connector.resolve_table(format_table((source.schema, source.name)))
        return f"{self.database}.{self.quote(schema)}.{self.quote(name)}"

    def columns(self, source: Source) -> list[str]:
        return [str(c) for c in self.connector.describe((source.schema, source.name))["column"]]

    def view(self, name: str, select: str) -> None:
        self._admin(f"CREATE VIEW {self.schema}.{self.quote(name)} AS {select}")

    def execute(self, sql: str) -> None:
        self._run(sql)

    def tables(self) -> dict[str, str]:
        rows = self._admin(f"SELECT table_name FROM {self.database}.information_schema.tables "
                           "WHERE table_schema = ?", [self.name])
        return {str(n).lower(): str(n) for (n,) in rows}

    def scan(self, con: "duckdb.DuckDBPyConnection", table: str) -> "Scan":
        from ...connectors.base import ExtractSpec

        return self.connector.scan(con, ExtractSpec(query=f"SELECT * FROM {self.schema}.{self.quote(table)}"))

    def drop(self) -> None:
        if self._created:
            self._admin(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self._created = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.connector.close()


class _BigQuerySide(_Side):
    label = "BigQuery"

    def source(self, config: "Configuration", params: Any, table_id: str) -> tuple[dict[str, Any], str, str, list[str]]:
        from ..bigquery_extractor.run import connector_for

        read = params.query.table_read()
        if read is None:
            raise _Local(f"{table_id} was extracted by a query, not a whole table")
        if config.default_table_id(params.query.tableName) != table_id:
            raise _Local(f"the extractor {config.name!r} no longer loads {table_id}")
        project, dataset, table, columns = read
        return connector_for(config, params).node, f"{project}.{dataset}", table, list(columns)

    def target(self, node: dict[str, Any]) -> str:
        from ...connectors.bigquery import DEFAULT_LOCATION

        return f"{node.get('project')} ({node.get('location') or DEFAULT_LOCATION})"

    def display(self, node: dict[str, Any], source: Source) -> str:
        return f"{source.schema}.{source.name}"

    def scratch(self, warehouse: Warehouse, job_id: int) -> _Scratch:
        connector = open_connector(warehouse.kind, warehouse.name, warehouse.node)
        return _BigQueryScratch(connector, f"keboola_nb_{int(job_id)}")  # type: ignore[arg-type]


class _BigQueryScratch(_Scratch):
    text_type = "STRING"

    def __init__(self, connector: "BigQueryConnector", name: str) -> None:
        self.connector = connector
        self.name = name
        self.dataset = f"{connector.project}.{name}"
        self._created = False
        self._views: set[str] = set()  # views the code made: read through a query, not from table storage

    def quote(self, name: str) -> str:
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"

    def literal(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    @contextmanager
    def _google(self, what: str) -> Iterator[None]:
        """Our own requests: Google's refusal is the connection's problem, named as such."""
        try:
            yield
        except KeboolaError:
            raise
        except Exception as e:
            raise KeboolaError(f"connection {self.connector.name!r}: {what}: {_first_line(e)}",
                               fix="the service account needs the BigQuery Data Editor and Job User roles") from None

    def create(self) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(self.dataset)
        dataset.location = self.connector.location
        try:
            self.connector.client().create_dataset(dataset, exists_ok=False)  # another run's dataset is not ours
        except Exception as e:
            raise KeboolaError(f"connection {self.connector.name!r}: cannot create the scratch dataset {self.name}: "
                               f"{_first_line(e)}", fix=_SCRATCH_FIX.format(
                                   what="dataset", grant="the BigQuery Data Editor role on the project")) from None
        self._created = True

    def table(self, source: Source) -> str:
        return self.quote(f"{source.schema}.{source.name}")

    def columns(self, source: Source) -> list[str]:
        return [f.name for f in self.connector.get_table((source.schema, source.name)).schema]

    def view(self, name: str, select: str) -> None:
        with self._google(f"creating view {name}"):
            self._query(f"CREATE VIEW {self.quote(self.dataset + '.' + name)} AS {select}")

    def _query(self, sql: str) -> None:
        from google.cloud import bigquery

        from ..bigquery_extractor.cost import budget

        config = bigquery.QueryJobConfig(default_dataset=self.dataset, maximum_bytes_billed=budget())
        self.connector.client().query(sql, job_config=config).result()

    def execute(self, sql: str) -> None:
        try:
            self._query(sql)
        except Exception as e:  # google-api-core's errors: the statement is wrong, or the budget too small
            raise _Failed(_first_line(e)) from None

    def tables(self) -> dict[str, str]:
        with self._google(f"listing dataset {self.dataset}"):
            items = list(self.connector.client().list_tables(self.dataset))
        self._views = {t.table_id for t in items if t.table_type == "VIEW"}
        return {t.table_id.lower(): t.table_id for t in items}

    def scan(self, con: "duckdb.DuckDBPyConnection", table: str) -> "Scan":
        """A table straight from table storage (no query cost); a view made by the code through a query."""
        from ...connectors.base import ExtractSpec

        if table in self._views:
            query = f"SELECT * FROM {self.quote(self.dataset + '.' + table)}"
            return self.connector.scan(con, ExtractSpec(query=query))
        return self.connector.scan(con, ExtractSpec(table=(self.dataset, table)))

    def drop(self) -> None:
        if self._created:
            with self._google(f"dropping dataset {self.dataset}"):
                self.connector.client().delete_dataset(self.dataset, delete_contents=True, not_found_ok=True)
            self._created = False

    def close(self) -> None:
        self.connector.close()


_SIDES: dict[str, _Side] = {"snowflake": _SnowflakeSide(), "bigquery": _BigQuerySide()}  # by dialect = connection kind
