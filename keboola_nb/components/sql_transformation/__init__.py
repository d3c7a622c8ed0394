"""SQL transformations: `keboola.duckdb-transformation`, `keboola.snowflake-transformation` and
`keboola.google-bigquery-transformation`.

They share one configuration format (blocks of SQL scripts and a storage mapping), one set of checks (sqlglot:
syntax, unknown tables and columns, writes only to declared outputs) and one local run on the embedded storage;
what differs is data: the dialect the code is written in and how kbc keeps it on disk. DuckDB's takes code
written in any other dialect sqlglot reads (PostgreSQL, MySQL, ...) and keeps it as DuckDB SQL.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import KeboolaError, KeboolaNotice
from ..transformation import Checked, Transformation
from . import run as local

if TYPE_CHECKING:
    import pandas as pd

    from ...engine.runner import Run
    from ...model.configuration import Configuration
    from ...storage.storage import Storage


class SqlTransformation(Transformation):
    language = "sql"
    reads_any_dialect: ClassVar[bool] = False  # takes code in other dialects, transpiled to its own
    folds_to_upper: ClassVar[bool] = False  # its warehouse reads unquoted names in upper case (Snowflake)

    @property
    def dialect(self) -> str:
        return self.dialects[0]

    help = {
        "rules": [
            "inputs are visible under the last part of their id (orders for in.c-shop.orders) unless named "
            "with AS; outputs take the table named like the last part of their id unless given as SOURCE AS ID",
            "the code must create every output table (CREATE TABLE name AS SELECT ...)",
            "the SQL is checked before it runs: syntax, unknown tables and columns, and writes to anything "
            "but the declared outputs or the code's own intermediate tables",
            "it runs on the embedded storage (DuckDB); other dialects are transpiled by sqlglot",
            "a Snowflake or BigQuery transformation whose inputs were all extracted whole from one connection of "
            "that warehouse runs there (push-down); the job says where it ran and why",
        ],
        "example": {"cell": "%%keboola sql daily_revenue --in in.c-shop.orders --out out.c-sales.daily_revenue\n"
                            "CREATE TABLE daily_revenue AS\n"
                            "SELECT order_date, SUM(amount) AS revenue FROM orders GROUP BY order_date;"},
    }

    def scripts(self, code: str, dialect: str | None) -> list[str]:
        """Keboola's `script`: one string per statement for components whose code kbc splits, else one string;
        code in another dialect becomes this component's SQL."""
        from ...sql.statements import split

        dialect = dialect or self.dialect
        if dialect != self.dialect:
            from ...sql.transpile import transpile

            if not self.reads_any_dialect:
                raise KeboolaError(f"the {self.label} takes {self.dialect} SQL, not {dialect}")
            code = transpile(code, read=dialect, write=self.dialect, where="the code")
            warnings.warn(f"the {dialect} SQL was transpiled to {self.dialect} SQL, which {self.label} runs",
                          KeboolaNotice, stacklevel=3)
        return split(code) if self.per_statement else [code.strip("\n")]

    def check(self, config: "Configuration") -> list[tuple[str, Any]]:
        checked = self.checked(config)
        for block in checked.blocks:
            for code in block.codes:
                if any(not isinstance(s, str) for s in code.script):
                    raise KeboolaError(f"transformation {config.name!r}, code {code.name!r}: a script is not text")
        return [(config.name, checked)]

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        (_, name, checked), = rows
        assert isinstance(checked, Checked)
        from . import pushdown

        warehouse = pushdown.plan(run, name, checked, self.dialect)
        if warehouse is not None:  # every input was extracted from one warehouse of this dialect: run it there
            pushdown.run_there(run, name, checked, warehouse)
        else:
            local.run_locally(run, name, checked, self.dialect)

    def verify(self, storage: "Storage", config: "Configuration") -> None:
        """Check the code against the inputs' real columns in storage (syntax only for inputs not there yet)."""
        checked = self.checked(config)
        local.verify(storage, config.name, checked, self.dialect)
        if self.folds_to_upper:
            self._warn_folded(config.name, checked)

    def _warn_folded(self, name: str, checked: Checked) -> None:
        """Keboola's workspace names each table exactly as the mapping does ("orders"); the warehouse reads an
        unquoted `orders` as ORDERS. It runs here either way: say so before it fails in Keboola."""
        from ...sql.validate import folded_names

        inputs, outputs = [t.destination for t in checked.mapping.inputs], [o.source for o in checked.mapping.outputs]
        for line, written, real in folded_names(local.Script(checked.blocks).text, self.dialect, inputs, outputs):
            read = written if written == written.upper() else f"{written} (Snowflake reads it as {written.upper()})"
            warnings.warn(f"transformation {name!r}, line {line}: the unquoted name {read} is not the table "
                          f"\"{real}\" as Keboola names it; write \"{real}\", or it fails in Keboola (here it runs "
                          "either way)", KeboolaNotice, stacklevel=4)

    def lineage(self, storage: "Storage", config: "Configuration") -> dict[str, dict[str, list[str]]]:
        """For each output table: each column's input columns ("orders.amount", by the inputs' names in the code)."""
        from ...sql.lineage import column_lineage

        checked = self.checked(config)
        schema = local.input_schema(storage, config.name, checked, self.dialect)
        text = local.Script(checked.blocks).text
        return {o.destination: column_lineage(text, self.dialect, schema, o.source) for o in checked.mapping.outputs}

    def portability(self, config: "Configuration") -> list[Any]:
        """Whether the code also transpiles to the other warehouses' dialects, and where not, what and why."""
        from ...sql.transpile import portability

        others = tuple(d for d in ("duckdb", "snowflake", "bigquery") if d != self.dialect)
        return portability(local.Script(self.checked(config).blocks).text, self.dialect, others)

    def sample(self, storage: "Storage", config: "Configuration", rows: int) -> dict[str, "pd.DataFrame"]:
        """Each output from at most `rows` rows of each input, storage unchanged."""
        return local.sample(storage, config.name, self.checked(config), rows=rows, dialect=self.dialect)


class _DuckDB(SqlTransformation):
    id = "keboola.duckdb-transformation"
    label = "DuckDB SQL transformation"
    dialects = ("duckdb",)
    reads_any_dialect = True
    code_file = "code.txt"  # kbc keeps codes of components it has no extension for as .txt


class _Snowflake(SqlTransformation):
    id = "keboola.snowflake-transformation"
    label = "Snowflake SQL transformation"
    dialects = ("snowflake",)
    code_file = "code.sql"
    per_statement = True
    folds_to_upper = True


class _BigQuery(SqlTransformation):
    id = "keboola.google-bigquery-transformation"
    label = "BigQuery SQL transformation"
    dialects = ("bigquery",)
    code_file = "code.sql"


DUCKDB = _DuckDB()
SNOWFLAKE = _Snowflake()
BIGQUERY = _BigQuery()
