"""Check a transformation's SQL before it runs: it parses, reads only what it was given, writes only its outputs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from ..errors import KeboolaError
from .statements import Statement, chunks, locate, parse, position, prefix, quiet, target

# Statements that reach outside the workspace or change the session: never part of a transformation here.
_REFUSED = {"COPY", "EXPORT", "IMPORT", "ATTACH", "DETACH", "INSTALL", "LOAD", "FORCE", "PRAGMA", "SET", "RESET",
            "USE", "CALL", "PUT", "GET", "REMOVE", "UNLOAD", "GRANT", "REVOKE", "CHECKPOINT", "VACUUM", "EXECUTE"}
_CHANGES = {"insert": "INSERT INTO", "update": "UPDATE", "delete": "DELETE FROM", "merge": "MERGE INTO",
            "truncate": "TRUNCATE", "alter": "ALTER TABLE", "drop": "DROP"}
_CREATES = {"create_table": "CREATE TABLE", "create_view": "CREATE VIEW"}
_FILE_READERS = re.compile(r"^(read_\w+|\w+_scan|glob|sniff_csv|query|query_table|parquet_\w+)$", re.IGNORECASE)
# Table functions that make rows without reading any data source (DuckDB's, and Snowflake's FLATTEN and GENERATOR
# as sqlglot reads them); every other one reads outside the inputs, e.g. duckdb_tables() or RESULT_SCAN(...).
_GENERATORS = (exp.GenerateSeries, exp.Unnest, exp.Explode, exp.Generator)
_GENERATOR_NAMES = {"range", "generate_series", "unnest", "flatten", "generator"}
# Functions that reveal the database's catalog or the machine's settings rather than the transformation's inputs.
_REVEALING = re.compile(r"^(duckdb_\w+|pragma_\w+|current_setting|getenv)$", re.IGNORECASE)
_STORAGE_ID = re.compile(r"^(in|out)\.c-", re.IGNORECASE)  # a Keboola table id in one quoted name
_UNKNOWN_COLUMN = re.compile(r"Column '([^']+)' could not be resolved|Unknown column: (\S+)")


def _words(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _guess(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _at(script: str, st: Statement, dialect: str, name: str) -> str:
    line, col, _ = locate(script, st, dialect, name)
    return f"line {line}" if col is None else f"line {line}, column {col}"


def _sources(tree: exp.Expression, known: dict[str, dict[str, str] | None]) -> dict[str, tuple[str, list[str]]]:
    """What a column qualifier can stand for in the statement: alias or name -> (table or CTE, its columns)."""
    ctes: dict[str, tuple[str, list[str]]] = {}
    for cte in tree.find_all(exp.CTE):
        selects = cte.this.named_selects if isinstance(cte.this, exp.Query) else []
        if selects and "*" not in selects:
            ctes[cte.alias_or_name.lower()] = (cte.alias_or_name, selects)
    found = dict(ctes)
    for tbl in tree.find_all(exp.Table):
        name = tbl.name.lower()
        source = ctes.get(name) or ((name, list(known[name] or {})) if known.get(name) else None)
        if source:
            found[name] = found[tbl.alias_or_name.lower()] = source
    return found


def _refuse_keywords(script: str, dialect: str, where: str) -> None:
    """Statements like EXPORT do not even parse, so they are refused by their first word, before parsing."""
    for toks in chunks(script, dialect, where):
        word = toks[0].text.upper()
        if word in _REFUSED:
            line, col = position(script, toks[0].start)
            raise KeboolaError(f"{prefix(where)}line {line}, column {col}: {word} is not allowed in a transformation: "
                               "it reaches outside the workspace or changes the session",
                               fix="read the input tables and create the output tables; storage does the rest")


def _check_write(st: Statement, where: str, inputs: set[str], outputs: list[str], creates: set[str],
                 created: set[str]) -> None:
    """A statement may create intermediates and outputs, and change only tables of the script; never an input."""
    if st.kind == "select":
        return
    tree = st.tree
    aim = target(tree) if tree is not None else None
    action = _CREATES.get(st.kind) or _CHANGES.get(st.kind)
    if isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").upper()
        action = f"DROP {kind}" if kind in ("TABLE", "VIEW") else None
    rule = f"a transformation writes only its declared outputs ({_words(outputs)}); add --out for it"
    here = f"{prefix(where)}line {st.line}"
    if action is None or aim is None:
        what = " ".join(st.text.split()[:3])
        raise KeboolaError(f"{here}: {what} is not allowed in a transformation: it does not create or change a table "
                           "in a way that can be checked", fix="create tables with CREATE TABLE ... AS SELECT ...")
    if aim.args.get("db") or aim.args.get("catalog") or _STORAGE_ID.match(aim.name):
        raise KeboolaError(f"{here}: {action} {aim.sql()} would write outside the transformation (a qualified name)",
                           fix=f"{rule}, and name it without a schema; the output mapping puts it in storage")
    name = aim.name.lower()
    if name in inputs:
        verb = "drop" if st.kind == "drop" else "replace" if st.kind in _CREATES else "change"
        raise KeboolaError(f"{here}: {action} {aim.name} would {verb} the input table {name}",
                           fix=f"{rule}; write the result to a new table, e.g. CREATE TABLE {name}_clean AS SELECT ...")
    if name not in outputs and name not in creates:
        raise KeboolaError(f"{here}: {action} {aim.name} writes a table that is neither an output nor created by "
                           "the script", fix=rule)
    if st.kind in _CHANGES and st.kind != "drop" and name not in created:
        raise KeboolaError(f"{here}: {action} {aim.name} runs before the script creates {name}",
                           fix=f"create it first, e.g. CREATE TABLE {name} AS SELECT ...")


def _duck_tree(st: Statement, dialect: str) -> exp.Expression:
    """The statement as it will run (parse() made sure its DuckDB translation parses)."""
    if dialect.lower() == "duckdb" and st.tree is not None:
        return st.tree
    return sqlglot.parse_one(st.duckdb, read="duckdb")


def _fn_name(fn: exp.Expression) -> str:
    """The name a table function is written with: RESULT_SCAN, QUERY_HISTORY (of INFORMATION_SCHEMA....), READ_CSV."""
    if isinstance(fn, exp.Dot):
        return _fn_name(fn.expression)
    if isinstance(fn, exp.Anonymous):
        return fn.name
    if isinstance(fn, exp.Func):
        return fn.sql_name()
    return fn.name or type(fn).__name__


def _outside(fn: exp.Expression) -> exp.Expression | None:
    """The part of a table reference that is not a table name and reads outside the inputs (None if it only makes
    rows, like range(3) or UNNEST). TABLE(...) counts by what it wraps."""
    if isinstance(fn, _GENERATORS):
        return None
    if isinstance(fn, exp.Anonymous) and fn.name.lower() == "table" and len(fn.expressions) == 1:
        return _outside(fn.expressions[0])
    if isinstance(fn, exp.Anonymous) and fn.name.lower() in _GENERATOR_NAMES:
        return None
    if isinstance(fn, exp.DynamicIdentifier) and isinstance(fn.this, exp.Literal) and fn.this.is_string:
        return None  # IDENTIFIER('orders'): the translation names the table, and that name is checked
    return fn


def _refuse_outside(script: str, st: Statement, tree: exp.Expression, dialect: str, where: str) -> None:
    """A transformation reads only its inputs and its own tables: no stage files, no table functions but those that
    make rows, nothing that shows the database's other tables or the machine's settings."""
    for node in tree.find_all(exp.Table, exp.TableFromRows, exp.Lateral, exp.Anonymous):
        if isinstance(node, exp.Anonymous):
            if not _REVEALING.match(node.name):
                continue
            fn: exp.Expression | None = node
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            continue
        else:
            fn = _outside(node.this) if isinstance(node, (exp.Table, exp.TableFromRows)) else \
                None if isinstance(node.this, exp.Subquery) else _outside(node.this)
        if fn is None:
            continue
        add = "add the data as an input table and read that"
        if isinstance(fn, (exp.Var, exp.Placeholder)) or str(fn.name).startswith("@"):  # FROM @stage
            stage = str(fn.name).lstrip("@")
            raise KeboolaError(f"{prefix(where)}{_at(script, st, dialect, stage.split('/')[0])}: @{stage} reads the "
                               "files of a stage, outside the transformation's inputs",
                               fix="load the files into a storage table, add it as an input table and read that")
        name = _fn_name(fn)
        at = f"{prefix(where)}{_at(script, st, dialect, name)}"
        written = fn.sql(dialect=dialect)
        if _FILE_READERS.match(name) or name.lower().startswith("read"):
            raise KeboolaError(f"{at}: {fn.sql(dialect='duckdb')} reads outside the transformation's inputs", fix=add)
        if _REVEALING.match(name):
            raise KeboolaError(f"{at}: {written} shows the database's other tables or the machine's settings, which a "
                               "transformation may not read", fix=f"remove it; {add}")
        raise KeboolaError(f"{at}: {written} is a table function: a transformation reads only its input tables and "
                           "the tables it creates",
                           fix=f"{add}; of the table functions only range, generate_series, unnest, FLATTEN and "
                               "GENERATOR are allowed (they make rows without reading a data source)")


def _check_reads(script: str, st: Statement, tree: exp.Expression, dialect: str, where: str,
                 known: dict[str, dict[str, str] | None]) -> list[exp.Table] | None:
    """Every table read is an input, made earlier, or a CTE. The tables read, or None if one is a table function."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    aim = target(tree)
    reads: list[exp.Table] | None = []
    for tbl in tree.find_all(exp.Table):
        if tbl is aim and not isinstance(tree, (exp.Update, exp.Delete, exp.Merge)):
            continue
        if not isinstance(tbl.this, exp.Identifier):  # a table function _refuse_outside let pass
            reads = None
            continue
        full = ".".join(p.name for p in tbl.parts).lower()
        if full in known or (full in ctes and not (tbl.db or tbl.catalog)):
            if reads is not None and full not in ctes:
                reads.append(tbl)
            continue
        names = set(known) | ctes
        raise KeboolaError(f"{prefix(where)}{_at(script, st, dialect, tbl.name)}: unknown table {tbl.sql()} "
                           f"(known tables: {_words(names)}){_guess(full, names)}",
                           fix="read an input table or one the script created above; add an input mapping for others")
    return reads


def _columns_tree(tree: exp.Expression) -> exp.Expression | None:
    """What qualify can check: the statement itself, or a SELECT with the expressions of an UPDATE/DELETE."""
    if isinstance(tree, (exp.Query, exp.Insert)) or (isinstance(tree, exp.Create) and tree.expression):
        return tree
    if isinstance(tree, (exp.Update, exp.Delete)):
        if any(tree.args.get(k) for k in ("from", "from_", "using")):  # more tables: left to DuckDB
            return None
        # SET a = b: both sides must exist, as must the columns of the WHERE
        sel = exp.select(*([e.copy() for e in tree.expressions] or [exp.Literal.number(1)])).from_(tree.this.copy())
        if tree.args.get("where"):
            sel = sel.where(tree.args["where"].this.copy())
        return sel
    return None


def _check_columns(script: str, st: Statement, tree: exp.Expression, dialect: str, where: str,
                   reads: list[exp.Table] | None, known: dict[str, dict[str, str] | None]) -> exp.Expression | None:
    """Unknown columns, via sqlglot's qualify on a copy; skipped when a table's columns are not known."""
    checked = _columns_tree(tree)
    names = [".".join(p.name for p in t.parts).lower() for t in reads or []]
    if checked is None or reads is None or any(known.get(n) is None for n in names):
        return None
    if checked.find(exp.Unnest, exp.Lateral, exp.Pivot, exp.Columns, exp.Comprehension):
        return None
    schema = {n: {c: "TEXT" for c in known[n] or {}} for n in known if known[n]}
    try:
        return qualify(checked.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=True)
    except OptimizeError as e:
        m = _UNKNOWN_COLUMN.search(str(e))
        if not m:
            return None
        col = (m.group(1) or m.group(2)).split(".")[-1]
        sources = _sources(checked, known)
        qualifier = next((c.table.lower() for c in checked.find_all(exp.Column) if c.name.lower() == col.lower()
                          and c.table.lower() in sources), None)
        listed = [sources[qualifier]] if qualifier else list({n: (n, c) for n, c in sources.values()}.values())
        listing = "; ".join(f"columns of {n}: {', '.join(cols)}" for n, cols in listed)
        every = {c.lower() for _, cols in listed for c in cols} - {col.lower()}
        line, column, written = locate(script, st, dialect, col)
        at = f"line {line}" if column is None else f"line {line}, column {column}"
        raise KeboolaError(f"{prefix(where)}{at}: unknown column {written!r} ({listing}){_guess(col.lower(), every)}",
                           fix="use a column the table has; Keboola column names are usually lower-case") from None
    except Exception:  # noqa: BLE001 - a sqlglot gap must not block SQL that DuckDB may well run
        return None


def _made(tree: exp.Expression, qualified: exp.Expression | None) -> dict[str, str] | None:
    """The columns of a table a CREATE makes, when they can be told without running it."""
    if isinstance(tree.this, exp.Schema):
        return {c.name.lower(): "TEXT" for c in tree.this.expressions if isinstance(c, exp.ColumnDef)} or None
    for q in (qualified, tree):
        query = q.expression if isinstance(q, exp.Create) else None
        if isinstance(query, exp.Query) and not any(s.is_star for s in query.selects):
            return {n.lower(): "TEXT" for n in query.named_selects} or None
    return None


def check_script(script: str, dialect: str, inputs: dict[str, dict[str, str]], outputs: list[str],
                 where: str = "") -> list[Statement]:
    """The statements of a transformation's script, once it parses, reads known tables and columns, writes only
    its outputs and intermediates, and creates every output; otherwise the first problem as a KeboolaError."""
    with quiet():
        return _check_script(script, dialect, inputs, outputs, where)


def _check_script(script: str, dialect: str, inputs: dict[str, dict[str, str]], outputs: list[str],
                  where: str) -> list[Statement]:
    _refuse_keywords(script, dialect, where)
    statements = parse(script, dialect, where)
    outs = [o.lower() for o in outputs]
    known: dict[str, dict[str, str] | None] = {
        k.lower(): {c.lower(): t for c, t in v.items()} for k, v in inputs.items()}
    creates = {st.writes for st in statements if st.kind in _CREATES and st.writes}
    created: set[str] = set()
    inputs_lower = {k.lower() for k in inputs}
    for st in statements:
        _check_write(st, where, inputs_lower, outs, creates, created)
        tree = _duck_tree(st, dialect)
        for checked in (st.tree, tree):
            if checked is not None:
                _refuse_outside(script, st, checked, dialect, where)
        reads = _check_reads(script, st, tree, dialect, where, known)
        qualified = _check_columns(script, st, tree, dialect, where, reads, known)
        if st.writes and st.writes not in inputs_lower:
            if st.kind in _CREATES:
                known[st.writes] = _made(tree, qualified) if isinstance(tree, exp.Create) else None
                created.add(st.writes)
            elif st.kind == "drop":
                known.pop(st.writes, None)
                created.discard(st.writes)
            elif st.kind == "alter":
                known[st.writes] = None  # columns may have changed
    for name in outs:
        if name not in creates:
            raise KeboolaError(f"{prefix(where)}the script never creates the output table {name}",
                               fix=f"create it in the code, e.g. CREATE TABLE {name} AS SELECT ...")
    return statements


def folded_names(script: str, dialect: str, inputs: Iterable[str],
                 outputs: Iterable[str]) -> list[tuple[int, str, str]]:
    """For a dialect that folds unquoted names to upper case (Snowflake reads `FROM orders` as ORDERS), each table
    name that reaches another table than the one meant: (line, the name as written, the table's real name). Inputs
    are named exactly as given; a table the code creates is named as written if quoted, else in upper case; an
    output is taken by its exact name."""
    real = {name.lower(): name for name in inputs}
    wanted = {name.lower(): name for name in outputs}
    found: list[tuple[int, str, str]] = []
    for st in parse(script, dialect):
        if st.tree is None:
            continue
        made = target(st.tree) if st.kind in _CREATES else None
        for table in st.tree.find_all(exp.Table):
            ident = table.this
            if not isinstance(ident, exp.Identifier) or table.args.get("db"):
                continue
            name = ident.name if ident.quoted else ident.name.upper()
            if made is not None and table is made:
                real[name.lower()] = name
                meant = wanted.get(name.lower())
            else:
                meant = real.get(name.lower())
            if meant is not None and meant != name and (st.line, ident.name, meant) not in found:
                found.append((st.line, ident.name, meant))
    return found
