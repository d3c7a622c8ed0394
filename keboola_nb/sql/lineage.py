"""Which input columns each output column comes from, through the script's CTEs and intermediate tables."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

from ..errors import KeboolaError
from .statements import parse


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


def column_lineage(script: str, dialect: str, inputs: dict[str, dict[str, str]], output: str) -> dict[str, list[str]]:
    """Each column of `output` -> the 'input.column's it derives from (sorted; [] for literals). Tables made by
    CREATE ... AS SELECT earlier in the script are replaced by that SELECT so the trail reaches the inputs; a table
    filled by INSERT shows up under its own name."""
    statements = parse(script, dialect)
    trees = [sqlglot.parse_one(st.duckdb, read="duckdb") for st in statements]
    name = output.lower()
    names = {k.lower(): k for k in inputs}
    columns = {k.lower(): {c.lower(): c for c in v} for k, v in inputs.items()}
    schema = {k: {c: "TEXT" for c in v} for k, v in columns.items()}
    sources: dict[str, exp.Query] = {}
    made = None
    for st, tree in zip(statements, trees):
        if not (isinstance(tree, exp.Create) and st.kind in ("create_table", "create_view") and st.writes):
            continue
        if st.writes == name:
            made = tree
            break
        query = tree.expression
        if isinstance(query, exp.Query) and not any(t.name.lower() == st.writes for t in query.find_all(exp.Table)):
            sources[st.writes] = query
    if made is None:
        raise KeboolaError(f"the script does not create the table {output}",
                           fix=f"pick a table it creates with CREATE TABLE {output} AS SELECT ...")
    names_given, queries = _queries(made, trees, name)
    result: dict[str, set[str]] = {}
    for query in queries:
        expanded = qualify(exp.expand(query.copy(), sources, dialect="duckdb"), schema=schema, dialect="duckdb")
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
