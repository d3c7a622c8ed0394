"""SQL over storage that only reads: one SELECT, with Keboola table ids written as users write them."""

from __future__ import annotations

import re

from ..errors import KeboolaError

# `in.c-shop-orders.orders` is not valid SQL as written; DuckDB wants "in.c-shop-orders"."orders".
_TABLE_ID = re.compile(r'(?<![\w".])((?:in|out)\.c-[A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\b')
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


def quote_table_ids(sql: str) -> str:
    """Quote bare Keboola table ids outside string literals and quoted identifiers."""
    parts = _QUOTED.split(sql)
    for i, part in enumerate(parts):
        if i % 2 == 0:  # outside quotes
            parts[i] = _TABLE_ID.sub(r'"\1"."\2"', part)
        elif part.startswith('"') and _TABLE_ID.fullmatch(part[1:-1]):  # a whole id in one pair of quotes
            parts[i] = _TABLE_ID.sub(r'"\1"."\2"', part[1:-1])
    return "".join(parts)


def read_only(sql: str) -> str:
    """The statement, ready for DuckDB, if it is a single query that changes nothing."""
    import sqlglot
    from sqlglot import exp

    text = quote_table_ids(sql.strip().rstrip(";"))
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as e:
        raise KeboolaError(f"the SQL does not parse: {str(e).splitlines()[0]}", fix="check the syntax near the place named") from None
    if len(statements) != 1:
        raise KeboolaError(f"expected one SQL statement, got {len(statements)}", fix="run one query at a time")
    if not isinstance(statements[0], exp.Query):
        kind = type(statements[0]).__name__.upper()
        raise KeboolaError(f"only queries that read can run here, not {kind}",
                           fix="write a SELECT; changes to storage are made by extractors and transformations")
    return text


def limited(query: str, limit: int) -> str:
    """`query` capped at `limit` rows; on their own lines, so a trailing -- comment cannot swallow the cap."""
    return f"SELECT * FROM (\n{query}\n) AS q LIMIT {int(limit)}"
