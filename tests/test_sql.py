"""Read-only SQL over storage: one SELECT, Keboola table ids as users write them."""

from __future__ import annotations

import pytest

from keboola_nb.errors import KeboolaError
from keboola_nb.sql.readonly import quote_table_ids, read_only


def test_table_ids_are_quoted_outside_strings_whether_bare_or_in_one_pair_of_quotes():
    sql = """SELECT * FROM in.c-shop.orders o JOIN "in.c-shop.customers" c USING (id)
             WHERE note = 'in.c-shop.orders' AND "in.c-x"."y" IS NOT NULL AND o.id = 1"""
    assert quote_table_ids(sql) == """SELECT * FROM "in.c-shop"."orders" o JOIN "in.c-shop"."customers" c USING (id)
             WHERE note = 'in.c-shop.orders' AND "in.c-x"."y" IS NOT NULL AND o.id = 1"""


@pytest.mark.parametrize("sql, message", [
    ("DELETE FROM t", "not DELETE"),
    ("COPY t TO 'x.csv'", "not COPY"),
    ("ATTACH 'other.db'", "not ATTACH"),
    ("SELECT 1; DROP TABLE t", "one SQL statement"),
    ("SELEC 1", "does not parse"),
])
def test_anything_but_one_query_is_refused_with_a_reason(sql, message):
    with pytest.raises(KeboolaError, match=message):
        read_only(sql)


def test_queries_pass_through_ready_for_duckdb(project):
    checked = read_only("WITH t AS (SELECT 41 AS x) SELECT x + 1 AS answer FROM t;")
    assert project.storage.query(checked)["answer"].tolist() == [42]
