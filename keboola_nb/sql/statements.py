"""SQL scripts as statements: split like the Keboola CLI stores them, parsed and translated to DuckDB to run here."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError, UnsupportedError
from sqlglot.tokens import Token, TokenType

from ..errors import KeboolaError

_LINE_COMMENTS = ("--", "//", "#")
# Statements sqlglot parses fully: read as a bare Command they have a syntax error.
_PARSED = {"SELECT", "WITH", "CREATE", "INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "MERGE", "FROM", "VALUES"}
_TOKEN = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>")  # sqlglot's repr of a token, in errors
_LOG = logging.getLogger("sqlglot")


@contextmanager
def quiet() -> Iterator[None]:
    """sqlglot's warnings off inside the block: they would print to the user's notebook, e.g. "contains unsupported
    syntax. Falling back to parsing as a 'Command'", while the KeboolaError already says what is wrong."""
    level = _LOG.level
    _LOG.setLevel(logging.ERROR)
    try:
        yield
    finally:
        _LOG.setLevel(level)


def _scan(script: str) -> tuple[list[tuple[int, int]], tuple[int, str] | None]:
    """Spans (start, end) of the statements, each ending after its ';'; plus where an unclosed quote or comment opened.

    Snowflake lexing as the Keboola CLI does it: ';' counts only outside strings, quoted names, $$ blocks, comments."""
    spans: list[tuple[int, int]] = []
    start = i = 0
    n = len(script)
    while i < n:
        c = script[i]
        if c == "'" or c == '"':
            j = i + 1
            while j < n:
                if c == "'" and script[j] == "\\":
                    j += 2
                    continue
                if script[j] == c:
                    if script.startswith(c * 2, j):  # '' or "" stays inside
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                return spans + [(start, n)], (i, "string" if c == "'" else "quoted name")
            i = j + 1
        elif script.startswith("$$", i):
            j = script.find("$$", i + 2)
            if j < 0:
                return spans + [(start, n)], (i, "$$ block")
            i = j + 2
        elif script.startswith("/*", i):
            j = script.find("*/", i + 2)
            if j < 0:
                return spans + [(start, n)], (i, "/* comment")
            i = j + 2
        elif script.startswith(_LINE_COMMENTS, i):
            j = script.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == ";":
            spans.append((start, i + 1))
            start = i = i + 1
        else:
            i += 1
    return spans + [(start, n)], None


def split(script: str) -> list[str]:
    """The statements of `script` as the Keboola CLI splits a Snowflake code file: each keeps its ';' and the
    comments before it; blank statements are dropped."""
    parts = (script[a:b].strip() for a, b in _scan(script)[0])
    return [p for p in parts if p and p != ";"]


def join(statements: list[str]) -> str:
    """A code file from statements, separated by a blank line as the Keboola CLI writes them."""
    return "\n\n".join(statements)


@dataclass
class Statement:
    """One statement of a script. `line` is where its first token starts (comments before it are skipped);
    `text` runs from that token to the last one before ';' and keeps comments inside."""

    text: str
    line: int
    duckdb: str
    kind: str
    writes: str | None
    tree: exp.Expression | None = field(default=None, repr=False, compare=False)  # parsed in the script's dialect
    offset: int = field(default=0, repr=False)  # where `text` starts in the script


def prefix(where: str) -> str:
    return f"{where}, " if where else ""


def position(script: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    return script.count("\n", 0, offset) + 1, offset - script.rfind("\n", 0, offset)


def dialect_of(dialect: str) -> Dialect:
    try:
        return Dialect.get_or_raise(dialect)
    except ValueError:
        raise KeboolaError(f"unknown SQL dialect {dialect!r}",
                           fix="use one of duckdb, snowflake, bigquery, postgres, mysql") from None


def chunks(script: str, dialect: str, where: str = "") -> list[list[Token]]:
    """The tokens of each statement, split at ';' by the dialect's own lexer (so '//' is a comment only where
    the dialect says so)."""
    if not script.strip():
        raise KeboolaError(f"{prefix(where)}the SQL script is empty", fix="write at least one statement")
    try:
        tokens = dialect_of(dialect).tokenize(script)
    except TokenError as e:
        opened = _scan(script)[1]
        if opened is None:
            raise KeboolaError(f"{prefix(where)}the SQL does not parse: {str(e)[:200]}",
                               fix="check quotes and comments") from None
        line, col = position(script, opened[0])
        raise KeboolaError(f"{prefix(where)}line {line}, column {col}: the SQL does not parse: "
                           f"this {opened[1]} is never closed", fix="close it, or remove the stray quote") from None
    out: list[list[Token]] = [[]]
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            out.append([])
        else:
            out[-1].append(t)
    result = [c for c in out if c]
    if not result:
        raise KeboolaError(f"{prefix(where)}the SQL script has only comments", fix="write at least one statement")
    return result


def kind_of(tree: exp.Expression) -> str:
    """A short name for what a statement does: create_table, insert, select, ... or its class name otherwise."""
    if isinstance(tree, exp.Query):
        return "select"
    if isinstance(tree, exp.Create):
        return f"create_{str(tree.args.get('kind') or '').lower()}"
    if isinstance(tree, exp.Alter):
        kind = str(tree.args.get("kind") or "").lower()
        return "alter" if kind == "table" else f"alter_{kind}"
    if isinstance(tree, exp.Command):
        return str(tree.this).lower()
    names = {exp.TruncateTable: "truncate", exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete",
             exp.Drop: "drop", exp.Merge: "merge"}
    return names.get(type(tree), type(tree).__name__.lower())


def target(tree: exp.Expression) -> exp.Table | None:
    """The table a statement creates or changes, as written (None for queries and statements on no table)."""
    if isinstance(tree, exp.TruncateTable):
        tables = tree.expressions
        return tables[0] if tables else None
    if isinstance(tree, (exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Alter, exp.Merge, exp.Copy)):
        node = tree.this
        if isinstance(node, exp.Schema):
            node = node.this
        return node if isinstance(node, exp.Table) else None
    return None


def unsupported(message: str, tree: exp.Expression, read: str) -> str:
    """The construct sqlglot complains about, as the user wrote it, when the message names its expression class."""
    m = re.search(r"expression '(\w+)'", message)
    cls = getattr(exp, m.group(1), None) if m else None
    node = tree.find(cls) if isinstance(cls, type) else None
    short = message.split(" when targeting")[0].rstrip(".")
    return f"{node.sql(dialect=read)}: {short}" if node is not None else short


# How a warehouse stores a table, not what it holds: DuckDB has no use for these, so they are left out there.
_STORAGE_ONLY = (exp.TransientProperty, exp.ClusterProperty, exp.ClusteredByProperty, exp.CopyGrantsProperty,
                 exp.SchemaCommentProperty, exp.VolatileProperty)


def _for_duckdb(tree: exp.Expression, where: str, line: int) -> exp.Expression:
    """What sqlglot would translate wrongly for DuckDB, rewritten on a copy: storage properties left out, CLONE as
    CREATE TABLE ... AS SELECT *, Snowflake's TRY_TO_NUMBER as TRY_CAST (sqlglot writes CAST, which fails the run on
    a value that is not a number, where Snowflake gives NULL)."""
    def safe_numbers(tree: exp.Expression) -> list[exp.ToNumber]:
        return [n for n in tree.find_all(exp.ToNumber) if n.args.get("safe") and not n.args.get("format")]

    clone = tree.args.get("clone") if isinstance(tree, exp.Create) else None
    if clone is None and not safe_numbers(tree) and not tree.find(*_STORAGE_ONLY):
        return tree
    tree = tree.copy()
    for node in list(tree.find_all(*_STORAGE_ONLY)):
        node.pop()
    for node in safe_numbers(tree):
        precision = node.args.get("precision") or exp.Literal.number(38)
        scale = node.args.get("scale") or exp.Literal.number(0)
        to = exp.DataType.build(f"DECIMAL({precision.sql()}, {scale.sql()})")
        node.replace(exp.TryCast(this=node.this, to=to))
    clone = tree.args.get("clone")
    if clone is not None and str(tree.args.get("kind") or "").upper() == "TABLE":
        source = clone.this
        if not isinstance(source, exp.Table) or source.args.get("when") is not None:
            raise KeboolaError(f"{prefix(where)}line {line}: {clone.sql(dialect='snowflake')} copies an earlier "
                               "version of the table (time travel), which DuckDB does not keep",
                               fix="copy the table as it is now: CREATE TABLE x AS SELECT * FROM y")
        tree.set("clone", None)
        tree.set("expression", exp.select("*").from_(source.copy()))
    return tree


def to_dialect(tree: exp.Expression, read: str, write: str, where: str, line: int) -> str:
    """One statement in `write`'s SQL, or a KeboolaError naming the construct that cannot be expressed there."""
    if write == "duckdb":
        tree = _for_duckdb(tree, where, line)
    try:
        return tree.sql(dialect=write, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as e:
        fix = f"rewrite it with a function {write} also has, or write the script in {write}"
        if "'ToChar'" in str(e):
            fix = "sqlglot translates a format only when it sees the type: cast first, e.g. TO_CHAR(day::DATE, 'YYYY')"
        raise KeboolaError(f"{prefix(where)}line {line}: {unsupported(str(e), tree, read)} "
                           f"(cannot be written in {write})", fix=fix) from None


def read(script: str, dialect: str, where: str = "") -> list[Statement]:
    """The statements of `script` parsed in `dialect`, not yet translated (`duckdb` is "")."""
    d = dialect_of(dialect)
    statements = []
    for toks in chunks(script, dialect, where):
        try:
            with quiet():
                trees = [t for t in d.parser(error_level=ErrorLevel.IMMEDIATE).parse(toks, script) if t is not None]
        except ParseError as e:
            err = e.errors[0] if e.errors else {}
            line, col = err.get("line") or toks[0].line, err.get("col") or 1
            word = err.get("highlight") or ""
            if word and "\n" not in word:
                col = max(1, col - len(word) + 1)  # sqlglot points at the token's end; people look for its start
            what = _TOKEN.sub(r"'\1'", str(err.get("description") or e).split(". Line ")[0])
            what = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", what)
            raise KeboolaError(f"{prefix(where)}line {line}, column {col}: the SQL does not parse: {what}",
                               fix="fix the syntax at that place") from None
        if not trees:
            continue
        tree = trees[0]
        if isinstance(tree, exp.Command) and str(tree.this).upper() in _PARSED:  # sqlglot gave up on it
            _refuse_bare_pivot(script, toks, where)
            line, col = position(script, toks[0].start)
            raise KeboolaError(f"{prefix(where)}line {line}, column {col}: the SQL does not parse: this {tree.this} "
                               f"statement is not valid {dialect} SQL", fix="check the spelling of its keywords")
        start, end = toks[0].start, toks[-1].end + 1
        text = script[start:end]
        line = toks[0].line
        aim = target(tree)
        writes = aim.name.lower() if aim is not None and kind_of(tree) != "select" else None
        statements.append(Statement(text, line, "", kind_of(tree), writes, tree, start))
    return statements


def _refuse_bare_pivot(script: str, toks: list[Token], where: str) -> None:
    """DuckDB runs CREATE TABLE x AS PIVOT ... but sqlglot cannot read PIVOT (or UNPIVOT) right after AS; in
    parentheses it can, and DuckDB runs that the same."""
    for before, tok in zip(toks, toks[1:]):
        word = tok.text.upper()
        if word in ("PIVOT", "UNPIVOT") and before.text.upper() == "AS":
            line, col = position(script, tok.start)
            raise KeboolaError(f"{prefix(where)}line {line}, column {col}: the SQL cannot be checked: sqlglot cannot "
                               f"read {word} right after AS (DuckDB can)",
                               fix=f"put it in parentheses, e.g. CREATE TABLE x AS ({word} ...), or write "
                                   f"SELECT * FROM ({word} ...); DuckDB runs both the same")


def parse(script: str, dialect: str, where: str = "") -> list[Statement]:
    """Parse `script` in `dialect`; each statement comes with its DuckDB translation, or a KeboolaError with the
    script line and column of the first syntax error or of a construct DuckDB cannot express."""
    statements = read(script, dialect, where)
    with quiet():
        for st in statements:
            if dialect.lower() == "duckdb" or st.tree is None:
                if isinstance(st.tree, exp.Create) and st.tree.args.get("clone") is not None:
                    line, col, _ = locate(script, st, dialect, "CLONE")
                    at = f"line {line}" if col is None else f"line {line}, column {col}"
                    raise KeboolaError(f"{prefix(where)}{at}: CLONE is Snowflake's zero-copy copy; DuckDB has no CLONE",
                                       fix="write CREATE TABLE x AS SELECT * FROM y")
                st.duckdb = st.text
            else:
                st.duckdb = to_dialect(st.tree, dialect, "duckdb", where, st.line)
                _check_translation(st, where)
    return statements


def _check_translation(st: Statement, where: str) -> None:
    """sqlglot sometimes writes DuckDB SQL that is not valid (e.g. from LATERAL FLATTEN): say so before it runs."""
    try:
        Dialect.get_or_raise("duckdb").parse(st.duckdb)
    except (ParseError, TokenError) as e:
        err = (getattr(e, "errors", None) or [{}])[0]
        near = f"{err.get('start_context', '')[-30:]}{err.get('highlight', '')}".strip()
        raise KeboolaError(f"{prefix(where)}line {st.line}: this statement has no DuckDB translation (sqlglot writes "
                           f"invalid SQL near: {near})",
                           fix="rewrite it with plainer SQL, or write it in DuckDB SQL") from None


def locate(script: str, st: Statement, dialect: str, name: str) -> tuple[int, int | None, str]:
    """Line, column and spelling of the first token naming `name` (any case) in the statement; else its first line,
    column None and `name`."""
    try:
        for tok in Dialect.get_or_raise(dialect).tokenize(st.text):
            if tok.text.lower() == name.lower():
                return (*position(script, st.offset + tok.start), tok.text)
    except TokenError:
        pass
    return st.line, None, name


