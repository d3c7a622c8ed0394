"""Which input columns each output column comes from, through the script's CTEs and intermediate tables."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

from ..errors import KeboolaError
from .statements import Statement, parse, quiet

_CREATES = ("create_table", "create_view")


def _queries(tree: exp.Expression, trees: list[exp.Expression], output: str) -> tuple[list[str], list[exp.Query]]:
    """The output's column names and the queries that fill it: its CREATE ... AS SELECT, or for a table made
    empty, the SELECTs inserted into it (their columns match by position)."""
    if isinstance(tree.expression, exp.Query):
        return [], [tree.expression]
    columns = [c.name for c in tree.this.expressions if isinstance(c, exp.ColumnDef)] \
        if isinstance(tree.this, exp.Schema) else []
    inserts = [t for t in trees if isinstance(t, exp.Insert) and isinstance(t.expression, exp.Query)
               and t.this.find(exp.Table) is not None and t.this.find(exp.Table).name.lower() == output]
    if inserts and isinstance(inserts[0].this, exp.Schema):
        columns = [c.name for c in inserts[0].this.expressions]
    return columns, [t.expression for t in inserts]


def _expand(query: exp.Query, sources: dict[str, exp.Query]) -> exp.Query:
    """The query with each table made earlier replaced by its SELECT, once (the SELECTs are expanded already)."""
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and not (node.db or node.catalog) \
                and node.name.lower() in sources:
            return sources[node.name.lower()].copy().subquery(node.alias or node.name)
        return node
    return query.transform(swap)  # transform does not descend into what swap returns


def column_lineage(script: str, dialect: str, inputs: dict[str, dict[str, str]], output: str) -> dict[str, list[str]]:
    """Each column of `output` -> the 'input.column's it derives from (sorted; [] for literals), as its last CREATE
    makes it. Tables made by CREATE ... AS SELECT before it (also earlier versions of the output itself) are replaced
    by that SELECT so the trail reaches the inputs; a table filled by INSERT shows up under its own name."""
    with quiet():
        statements = parse(script, dialect)
        name = output.lower()
        last = max((i for i, st in enumerate(statements) if st.kind in _CREATES and st.writes == name), default=None)
        if last is None:
            raise KeboolaError(f"the script does not create the table {output}",
                               fix=f"pick a table it creates with CREATE TABLE {output} AS SELECT ...")
        try:
            return _lineage(statements, last, inputs, name)
        except (SqlglotError, ValueError) as e:
            # sqlglot's "Line: 1, Col: 29" counts in the expanded query, not in the script: left out
            cause = re.sub(r"\.? Line: \d+, Col: \d+\.?", "", (str(e).strip() or type(e).__name__).splitlines()[0])
            cause = f"{cause[:200]} ({type(e).__name__})"
            raise KeboolaError(f"line {statements[last].line}: cannot trace where the columns of {output} come from: "
                               f"{cause}",
                               fix="check that the statement runs; lineage follows CREATE ... AS SELECT, "
                                   "INSERT ... SELECT and the input columns given") from None


def _lineage(statements: list[Statement], last: int, inputs: dict[str, dict[str, str]],
             name: str) -> dict[str, list[str]]:
    trees = [sqlglot.parse_one(st.duckdb, read="duckdb") for st in statements]
    names = {k.lower(): k for k in inputs}
    columns = {k.lower(): {c.lower(): c for c in v} for k, v in inputs.items()}
    schema = {k: {c: "TEXT" for c in v} for k, v in columns.items()}
    sources: dict[str, exp.Query] = {}
    for st, tree in zip(statements[:last], trees[:last]):
        if not (isinstance(tree, exp.Create) and st.kind in _CREATES and st.writes):
            continue
        query = tree.expression
        if isinstance(query, exp.Query):  # reading its own earlier version is fine: that one is expanded in
            sources[st.writes] = _expand(query, sources)
        else:
            sources.pop(st.writes, None)  # made empty and filled by INSERT: it keeps its own name
    names_given, queries = _queries(trees[last], trees[last + 1:], name)
    result: dict[str, set[str]] = {}
    for query in queries:
        expanded = qualify(_expand(query, sources), schema=schema, dialect="duckdb")
        selects = expanded.named_selects
        written = query.named_selects  # qualify lower-cases names; DuckDB keeps them as written
        if len(written) != len(selects) or "*" in written:
            written = selects
        for i, col in enumerate(selects):
            key = names_given[i] if i < len(names_given) else written[i]
            found = result.setdefault(key, set())
            node = lineage(col, expanded, schema=schema, dialect="duckdb")
            for n in node.walk():
                if isinstance(n.expression, exp.Table) and not n.downstream:
                    table, column = n.expression.name.lower(), n.name.split(".")[-1].strip('"').lower()
                    found.add(f"{names.get(table, table)}.{columns.get(table, {}).get(column, column)}")
    return {k: sorted(v) for k, v in result.items()}
