"""A SQL transformation's run on the embedded storage, as Keboola runs one in its workspace: the inputs are
visible under their names, the statements run in order, and the outputs are loaded into storage together.

The code runs in a scratch database attached beside storage (DuckDB): inputs are views over the storage tables
(filtered as their mapping says), so reading them copies nothing; the code's tables live only in the scratch
database, and nothing reaches storage until every statement has run and every output exists. Then the outputs
load in one storage transaction: a failure anywhere leaves storage as it was.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ...connectors.base import Scan
from ...engine.mapping import STATE_KEY, adaptive_state, columns_of, input_select, load_output
from ...engine.runner import error_line
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
                    # on a line of its own: a -- comment at the end must not swallow it
                    text = text if text.endswith(";") else text + "\n;"
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
    schema: dict[str, dict[str, str]] = field(default_factory=dict)  # input name in the code -> column -> type


def prepare(con: "duckdb.DuckDBPyConnection", name: str, checked: "Checked", dialect: str,
            last_read: dict[str, Any], sample: int | None = None) -> Prepared:
    """Check the code against the inputs' real columns in storage (syntax, tables, columns, writes)."""
    where = f"transformation {name!r}"
    storage = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    script = Script(checked.blocks)
    inputs = checked.mapping.inputs
    selects, newest, schema = {}, {}, {}
    for table in inputs:
        types = columns_of(con, table.source)
        select, newest[table.source] = input_select(con, table, last_read.get(table.source), where, catalog=storage,
                                                    types=types)
        selects[table.destination] = select if sample is None else f"{select} LIMIT {int(sample)}"
        schema[table.destination] = {c: types[c] for c in table.columns or types}
    try:
        statements = _checked(script.text, dialect, json.dumps(schema, sort_keys=True),
                              tuple(o.source for o in checked.mapping.outputs), where)
    except KeboolaError as e:
        raise script.relocate(e) from None
    return Prepared(script, statements, selects, newest, schema)


@functools.lru_cache(maxsize=64)
def _checked(text: str, dialect: str, schema: str, outputs: tuple[str, ...], where: str) -> list["Statement"]:
    """check_script, remembered: a transformation run again on inputs of the same columns is checked once (the
    check costs ~10 ms a run, which is most of a run on small data). A failed check is not remembered."""
    from ...sql.validate import check_script

    return check_script(text, dialect, json.loads(schema), list(outputs), where=where)


@contextmanager
def workspace(con: "duckdb.DuckDBPyConnection", prepared: Prepared, outputs: list[str],
              on_statement: Callable[[int, int, str], None]) -> Iterator[None]:
    """Run the statements in the scratch database and check that it holds every output; drop it afterwards.
    An output is read as `made(source)`."""
    storage = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    con.execute(f"ATTACH ':memory:' AS {WORKSPACE}")
    try:
        con.execute(f"USE {WORKSPACE}")
        for view, select in prepared.selects.items():
            con.execute(f"CREATE VIEW {q(view)} AS {select}")
        _execute(con, prepared, on_statement)
        con.execute(f"USE {q(storage)}")
        _require_outputs(con, outputs)
        yield
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

        with watch_query(con, run.progress), workspace(con, prepared, [o.source for o in outputs], on_statement):
            run.note(f"{len(prepared.statements)} statement(s) ran")
            with run.storage.transaction_on(con) as loader:
                for output in outputs:
                    run.where = f"loading {output.source} into {output.destination}"
                    scan = Scan(sql=f"SELECT * FROM {made(output.source)}")
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
        outputs = checked.mapping.outputs
        with workspace(con, prepared, [o.source for o in outputs], lambda index, total, at: None):
            return {o.destination: frame(con.execute(f"SELECT * FROM {made(o.source)} LIMIT {int(rows)}"))
                    for o in outputs}


def input_schema(storage: "Storage", name: str, checked: "Checked", dialect: str) -> dict[str, dict[str, str]]:
    """Each input's columns and types as the code sees it (its name inside the code -> column -> type)."""
    with storage.connect() as con:
        return prepare(con, name, checked, dialect, {}).schema


def _execute(con: "duckdb.DuckDBPyConnection", prepared: Prepared,
             on_statement: Callable[[int, int, str], None]) -> None:
    """Run the statements in order; an error names the line it came from."""
    import duckdb

    for index, statement in enumerate(prepared.statements, 1):
        at, step = step_of(prepared.script, statement)
        on_statement(index, len(prepared.statements), step)
        try:
            con.execute(statement.duckdb)
        except duckdb.Error as e:
            first = error_line(e)
            if "interrupted" in first.lower():
                raise KeboolaError("stopped by the user") from None
            if first.startswith(_RAISED) and "error(" in statement.duckdb.lower():
                # The code's own error(): a data check that found what it looks for, not a mistake in the SQL.
                raise KeboolaError(f"the check at {at} failed: {first[len(_RAISED):]}",
                                   fix="the data shows what this check looks for; look at the data (or change the "
                                       "check's condition)") from None
            raise statement_failed(at, first) from None


_RAISED = "Invalid Input Error: "  # how DuckDB reports the message of SQL's error()


def step_of(script: Script, statement: "Statement") -> tuple[str, str]:
    """Where a statement is ("line 3" or "block B, code C, line 3") and its progress step ("line 3: create table")."""
    at = script.where(statement.line)
    return at, f"{at}: {statement.kind.replace('_', ' ')}"


def statement_failed(at: str, message: str, place: str = "") -> KeboolaError:
    """A statement the database refused (`place`: " in Snowflake" when it ran elsewhere)."""
    return KeboolaError(f"the statement at {at} failed{place}: {message}",
                        fix="correct the SQL at that line (the check before the run cannot catch every error in types "
                            "and values)")


def no_outputs(missing: list[str]) -> KeboolaError:
    return KeboolaError(f"the code made no table {', '.join(repr(m) for m in missing)}",
                        fix="create each output table in the code, e.g. CREATE TABLE name AS SELECT ...")


def made(source: str) -> str:
    """The scratch database's table (or view) `source`, as SQL (DuckDB finds names whatever their case)."""
    return f"{WORKSPACE}.main.{q(source)}"


def _require_outputs(con: "duckdb.DuckDBPyConnection", sources: list[str]) -> None:
    """Every output exists in the scratch database, as a table: an output the code made as a view is made a table
    here, so loading one output can never change what another reads."""
    import duckdb

    missing = []
    for source in sources:
        try:
            con.execute(f"SELECT * FROM {made(source)} LIMIT 0")
        except duckdb.CatalogException:
            missing.append(source)
            continue
        view = con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = ? AND lower(view_name) = "
                           "lower(?)", [WORKSPACE, source]).fetchone()
        if view:
            staged = f"{WORKSPACE}.main.{q('__output_' + view[0])}"
            con.execute(f"CREATE TABLE {staged} AS SELECT * FROM {made(view[0])}")
            con.execute(f"DROP VIEW {made(view[0])}")
            con.execute(f"ALTER TABLE {staged} RENAME TO {q(view[0])}")
    if missing:
        temporary = [m for m in missing if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND lower(table_name) = lower(?)",
            [m]).fetchone()[0]]  # type: ignore[index]
        if temporary:
            raise KeboolaError(f"the output table {', '.join(repr(t) for t in temporary)} is TEMPORARY",
                               fix="create output tables without TEMPORARY (temporary tables suit intermediate steps)")
        raise no_outputs(missing)
