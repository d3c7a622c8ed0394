"""SQL from one warehouse's dialect to another's, and whether a transformation would also run elsewhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.errors import ParseError, TokenError

from .statements import Statement, dialect_of, locate, quiet, to_dialect, unsupported
from .statements import read as read_statements


@dataclass
class Portability:
    """Whether a script also transpiles to `target`; if not, each problem as 'line L: <construct>: <why>'."""

    target: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    sql: str = ""  # the transpiled script when ok


def transpile(script: str, read: str, write: str, where: str = "") -> str:
    """`script` in `write`'s dialect, statements joined with ';\\n\\n'; a KeboolaError names the line and the
    construct `write` cannot express."""
    dialect_of(write)
    with quiet():
        return ";\n\n".join(to_dialect(st.tree, read, write, where, st.line)
                            for st in read_statements(script, read, where) if st.tree is not None)


_ASOF = {"snowflake": "Snowflake's ASOF JOIN takes MATCH_CONDITION, not ON"}  # dialects that have one, spelt otherwise


def _duckdb_only(tree: exp.Expression, target: str) -> list[tuple[str, str]]:
    """DuckDB syntax sqlglot writes unchanged into other dialects, where those reject it: (construct, why)."""
    found: list[tuple[str, str]] = []
    if isinstance(tree, exp.Pivot):
        found.append(("PIVOT", f"the statement form of PIVOT is DuckDB's; {target} needs SELECT ... PIVOT (...)"))
    for node in tree.find_all(exp.Columns):
        found.append((node.sql(dialect="duckdb"), f"{target} has no COLUMNS() expression"))
    for join in tree.find_all(exp.Join):
        method, kind = str(join.args.get("method") or "").upper(), str(join.args.get("kind") or "").upper()
        if method == "ASOF":
            why = _ASOF.get(target, f"{target} has no ASOF JOIN")
            found.append(("ASOF JOIN", why))
        if method == "POSITIONAL":
            found.append(("POSITIONAL JOIN", f"{target} has no POSITIONAL JOIN"))
        if kind in ("SEMI", "ANTI"):
            found.append((f"{kind} JOIN", f"{target} has no {kind} JOIN; use WHERE [NOT] EXISTS (...)"))
    for limit in tree.find_all(exp.Limit):
        options = limit.args.get("limit_options")
        if options is not None and options.args.get("percent"):
            found.append((limit.sql(dialect="duckdb").strip(), f"{target} limits by a count of rows, not a percentage"))
    return found


def _problems(st: Statement, script: str, source: str, target: str) -> tuple[list[str], str]:
    """What keeps one statement from running in `target`, and its SQL there."""
    assert st.tree is not None
    generator = dialect_of(target).generator(unsupported_level=ErrorLevel.IGNORE)
    sql = generator.generate(st.tree.copy())
    problems = [f"line {st.line}: {unsupported(m, st.tree, source)}" for m in generator.unsupported_messages]
    if source.lower() == "duckdb":
        problems += [f"line {st.line}: {what}: {why}" for what, why in _duckdb_only(st.tree, target)]
    try:
        back = sqlglot.parse_one(sql, read=target)
    except (ParseError, TokenError) as e:
        if not problems:  # a construct with no counterpart came out as is: name the place it breaks
            err = (getattr(e, "errors", None) or [{}])[0]
            near = f"{err.get('start_context', '')[-20:]}{err.get('highlight', '')}".strip() or sql[:40]
            problems.append(f"line {st.line}: {near}: {target} cannot read the SQL sqlglot writes for this statement")
        return problems, sql
    for name in dict.fromkeys(a.name for a in back.find_all(exp.Anonymous)):
        line, _, _ = locate(script, st, source, name)
        problems.append(f"line {line}: {name.upper()}(): not a {target} function sqlglot knows; it would be passed "
                        "through unchanged")
    return problems, sql


def portability(script: str, dialect: str = "duckdb",
                targets: tuple[str, ...] = ("snowflake", "bigquery")) -> list[Portability]:
    """For each target, whether the script transpiles there and, if not, which construct and why."""
    with quiet():
        statements = [st for st in read_statements(script, dialect) if st.tree is not None]
        result = []
        for target in targets:
            dialect_of(target)
            problems, sqls = [], []
            for st in statements:
                found, sql = _problems(st, script, dialect, target)
                problems += found
                sqls.append(sql)
            result.append(Portability(target, not problems, problems, "" if problems else ";\n\n".join(sqls)))
        return result
