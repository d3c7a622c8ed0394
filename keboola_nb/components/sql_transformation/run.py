"""A SQL transformation's run on the embedded storage, as Keboola runs one in its workspace: the inputs are
visible under their names, the statements run in order, and the outputs are loaded into storage together.

The code runs in a scratch database attached beside storage (DuckDB): inputs are views over the storage tables
(filtered as their mapping says), so reading them copies nothing; the code's tables live only in the scratch
database, and nothing reaches storage until every statement has run and every output exists. Then the outputs
load in one storage transaction: a failure anywhere leaves storage as it was.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ...connectors.base import Scan
from ...engine.mapping import STATE_KEY, adaptive_state, columns_of, input_select, load_output
from ...errors import KeboolaError, KeboolaNotice
from ...storage.storage import q

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from ...engine.runner import Run
    from ...model.transformation import Block
    from ...sql.statements import Statement
    from ...storage.storage import Storage
    from ..transformation import Checked

WORKSPACE = "workspace"  # the scratch database the code runs in
_LINE = re.compile(r"\bline (\d+)")


class Script:
    """Every script of the transformation as one text, and where each line of it came from."""

    def __init__(self, blocks: list["Block"]) -> None:
        self.parts: list[tuple[str, int]] = []  # (block and code, first line in the joined text)
        texts, line = [], 1
        for block in blocks:
            for code in block.codes:
                for script in code.script:
                    text = script.strip("\n").rstrip()
                    if not text:
                        continue
                    text = text if text.endswith(";") else text + ";"
                    self.parts.append((f"block {block.name!r}, code {code.name!r}", line))
                    texts.append(text)
                    line += text.count("\n") + 1
        self.text = "\n".join(texts)

    def where(self, line: int) -> str:
        """'line 3' of a single code, else 'block B, code C, line 3'."""
        if len(self.parts) <= 1:
            return f"line {line}"
        part, first = next(((p, f) for p, f in reversed(self.parts) if f <= line), self.parts[0])
        return f"{part}, line {line - first + 1}"

    def relocate(self, error: KeboolaError) -> KeboolaError:
        """An error about a line of the joined text, told as a line of its code."""
        if len(self.parts) <= 1:
            return error
        return KeboolaError(_LINE.sub(lambda m: self.where(int(m.group(1))), error.what, count=1), fix=error.fix)


@dataclass
class Prepared:
    """A transformation checked against storage: the SELECT behind each input, and the statements to run."""

    script: Script
    statements: list["Statement"]
    selects: dict[str, str]
    newest: dict[str, Any] = field(default_factory=dict)  # input table -> newest import read (adaptive)


def prepare(con: "duckdb.DuckDBPyConnection", name: str, checked: "Checked", dialect: str,
            last_read: dict[str, Any], sample: int | None = None) -> Prepared:
    """Check the code against the inputs' real columns in storage (syntax, tables, columns, writes)."""
    from ...sql.validate import check_script

    where = f"transformation {name!r}"
    storage = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    script = Script(checked.blocks)
    selects, newest, schema = {}, {}, {}
    for table in checked.mapping.inputs:
        select, newest[table.source] = input_select(con, table, last_read.get(table.source), where, catalog=storage)
        selects[table.destination] = select if sample is None else f"{select} LIMIT {int(sample)}"
        types = columns_of(con, table.source)
        schema[table.destination] = {c: types[c] for c in table.columns or types}
    try:
        statements = check_script(script.text, dialect, schema, [o.source for o in checked.mapping.outputs],
                                  where=where)
    except KeboolaError as e:
        raise script.relocate(e) from None
    return Prepared(script, statements, selects, newest)


@contextmanager
def workspace(con: "duckdb.DuckDBPyConnection", prepared: Prepared,
              on_statement: Callable[[int, int, str], None]) -> Iterator[dict[str, str]]:
    """Run the statements in the scratch database; yields its tables by lower-case name, then drops it."""
    storage = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    con.execute(f"ATTACH ':memory:' AS {WORKSPACE}")
    try:
        con.execute(f"USE {WORKSPACE}")
        for view, select in prepared.selects.items():
            con.execute(f"CREATE VIEW {q(view)} AS {select}")
        _execute(con, prepared, on_statement)
        con.execute(f"USE {q(storage)}")
        yield _tables(con)
    finally:
        con.execute(f"USE {q(storage)}")
        con.execute(f"DETACH {WORKSPACE}")


def run_locally(run: "Run", name: str, checked: "Checked", dialect: str) -> None:
    from ...engine.progress import watch_query

    outputs = checked.mapping.outputs
    with run.storage.connect() as con:
        run.where = "checking the SQL"
        prepared = prepare(con, name, checked, dialect, run.row_state("").get(STATE_KEY) or {})

        def on_statement(index: int, total: int, at: str) -> None:
            run.where = f"running {at}"
            run.progress.step(index, total, at)

        with watch_query(con, run.progress), workspace(con, prepared, on_statement) as made:
            run.note(f"{len(prepared.statements)} statement(s) ran")
            _require_outputs(made, [o.source for o in outputs])
            with run.storage.transaction_on(con) as loader:
                for output in outputs:
                    run.where = f"loading {output.source} into {output.destination}"
                    scan = Scan(sql=f"SELECT * FROM {WORKSPACE}.main.{q(made[output.source.lower()])}")
                    load_output(run, loader, output, scan, name)
    adaptive = [t.source for t in checked.mapping.inputs if t.since == "adaptive"]
    if adaptive:
        run.save_state("", adaptive_state({t: prepared.newest[t] for t in adaptive}))


def verify(storage: "Storage", name: str, checked: "Checked", dialect: str) -> None:
    """Check the code against storage before it is saved; where an input is not in storage yet, say so."""
    with storage.connect() as con:
        absent = [t.source for t in checked.mapping.inputs if not columns_of(con, t.source)]
        if absent:
            warnings.warn(f"transformation {name!r} was checked for syntax only: storage has no {', '.join(absent)} "
                          "yet; its tables and columns are checked when it runs", KeboolaNotice, stacklevel=3)
            from ...sql.statements import parse

            parse(Script(checked.blocks).text, dialect, where=f"transformation {name!r}")
            return
        prepare(con, name, checked, dialect, {})


def sample(storage: "Storage", name: str, checked: "Checked", dialect: str, rows: int) -> dict[str, "pd.DataFrame"]:
    """Each output's rows from at most `rows` rows of each input; storage is not changed."""
    from ...storage.storage import frame

    with storage.connect() as con:
        prepared = prepare(con, name, checked, dialect, {}, sample=rows)
        with workspace(con, prepared, lambda index, total, at: None) as made:
            _require_outputs(made, [o.source for o in checked.mapping.outputs])
            return {o.destination: frame(con.execute(
                f"SELECT * FROM {WORKSPACE}.main.{q(made[o.source.lower()])} LIMIT {int(rows)}"))
                for o in checked.mapping.outputs}


def input_schema(storage: "Storage", name: str, checked: "Checked") -> dict[str, dict[str, str]]:
    """Each input's columns and types as the code sees it (its name inside the code -> column -> type)."""
    schema = {}
    with storage.connect() as con:
        for table in checked.mapping.inputs:
            types = columns_of(con, table.source)
            if not types:
                raise KeboolaError(f"transformation {name!r}: storage has no table {table.source}",
                                   fix="run what makes it first (%keboola storage lists tables)")
            schema[table.destination] = {c: types[c] for c in table.columns or types}
    return schema


def _execute(con: "duckdb.DuckDBPyConnection", prepared: Prepared,
             on_statement: Callable[[int, int, str], None]) -> None:
    """Run the statements in order; an error names the line it came from."""
    import duckdb

    for index, statement in enumerate(prepared.statements, 1):
        at = prepared.script.where(statement.line)
        on_statement(index, len(prepared.statements), f"{at}: {statement.kind.replace('_', ' ')}")
        try:
            con.execute(statement.duckdb)
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if "interrupted" in first.lower():
                raise KeboolaError("stopped by the user") from None
            raise KeboolaError(f"the statement at {at} failed: {first}",
                               fix="correct the SQL at that line (the check before the run cannot catch every "
                                   "error in types and values)") from None


def _require_outputs(made: dict[str, str], sources: list[str]) -> None:
    missing = [s for s in sources if s.lower() not in made]
    if missing:
        raise KeboolaError(f"the code made no table {', '.join(repr(m) for m in missing)}",
                           fix="create each output table in the code, e.g. CREATE TABLE name AS SELECT ...")


def _tables(con: "duckdb.DuckDBPyConnection") -> dict[str, str]:
    """The tables and views in the scratch database, by lower-case name (SQL names compare that way)."""
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? UNION ALL "
                       "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
                       [WORKSPACE, WORKSPACE]).fetchall()
    return {name.lower(): name for (name,) in rows}
