"""SQL transformations checked before they run: splitting, parsing, reads and writes, portability, lineage."""

from __future__ import annotations

import logging

import duckdb
import pytest
import sqlglot

from keboola_nb.errors import KeboolaError
from keboola_nb.sql.lineage import column_lineage
from keboola_nb.sql.statements import join, parse, split
from keboola_nb.sql.transpile import portability, transpile
from keboola_nb.sql.validate import check_script
from keboola_nb.ui.lineage import lineage_picture

INPUTS = {
    "orders": {"id": "INTEGER", "customer_id": "INTEGER", "amount": "DOUBLE", "tax": "DOUBLE", "day": "DATE"},
    "customers": {"id": "INTEGER", "name": "VARCHAR"},
}

# A code file as the Keboola CLI writes one for Snowflake: statements apart by a blank line, comments before
# them, a $$ block and ';' inside strings, quoted names and comments.
KBC_CODE = """-- first statement
CREATE TABLE "test1" ("id" INT);

/* block comment; with a semicolon */
INSERT INTO "test1" VALUES (1), (2);

CREATE OR REPLACE FUNCTION add_one(x INT) RETURNS INT LANGUAGE JAVASCRIPT AS $$
  return X + 1; // inside the block
$$;

SELECT 'a;b', 'it''s; fine', 'back\\'slash;', "odd;name" FROM "test1" // trailing; comment
;
# hash comment; still a comment
SELECT 3"""


def test_split_keeps_each_statement_with_its_comments_and_semicolon_like_the_keboola_cli():
    assert split(KBC_CODE) == [
        '-- first statement\nCREATE TABLE "test1" ("id" INT);',
        '/* block comment; with a semicolon */\nINSERT INTO "test1" VALUES (1), (2);',
        ("CREATE OR REPLACE FUNCTION add_one(x INT) RETURNS INT LANGUAGE JAVASCRIPT AS $$\n"
         "  return X + 1; // inside the block\n$$;"),
        "SELECT 'a;b', 'it''s; fine', 'back\\'slash;', \"odd;name\" FROM \"test1\" // trailing; comment\n;",
        "# hash comment; still a comment\nSELECT 3",
    ]
    assert split(join(split(KBC_CODE))) == split(KBC_CODE)
    assert join(["SELECT 1;", "SELECT 2;"]) == "SELECT 1;\n\nSELECT 2;"


def test_split_drops_empty_statements():
    assert split("  ;\n\nSELECT 1;;  ;\nSELECT 2;\n\n") == ["SELECT 1;", "SELECT 2;"]


def test_parse_gives_line_kind_written_table_and_duckdb_sql():
    script = ("-- make it\nCREATE TABLE Daily AS SELECT 1 AS a;\n\n"
              "/* fill */\nINSERT INTO daily\n  SELECT 2;\nSELECT * FROM daily")
    statements = parse(script, "duckdb")
    assert [(s.line, s.kind, s.writes) for s in statements] == [
        (2, "create_table", "daily"), (5, "insert", "daily"), (7, "select", None)]
    assert statements[1].text == "INSERT INTO daily\n  SELECT 2"
    assert statements[0].duckdb == "CREATE TABLE Daily AS SELECT 1 AS a"


def test_a_syntax_error_names_the_script_line_and_column_of_the_bad_token():
    script = "SELECT 1;\n\nSELECT a\n  FROM WHERE x = 1;"
    with pytest.raises(KeboolaError) as e:
        parse(script, "duckdb", where="code 'revenue'")
    assert e.value.what == ("code 'revenue', line 4, column 8: the SQL does not parse: "
                            "Expected table name but got 'WHERE'")


def test_an_unclosed_string_is_pointed_at_and_an_empty_script_refused():
    with pytest.raises(KeboolaError, match=r"line 2, column 27: .* this string is never closed"):
        parse("SELECT 1;\nSELECT a FROM t WHERE a = 'oops", "duckdb")
    with pytest.raises(KeboolaError, match="the SQL script is empty"):
        parse("  \n ", "snowflake")
    with pytest.raises(KeboolaError, match="unknown SQL dialect 'sqlserverx'"):
        parse("SELECT 1", "sqlserverx")


def test_a_misspelt_keyword_that_sqlglot_would_keep_as_raw_text_is_a_syntax_error():
    with pytest.raises(KeboolaError, match=r"line 2, column 1: the SQL does not parse: this CREATE statement"):
        parse("SELECT 1;\nCREATE TABLE x AS SELEC 1", "snowflake")


def test_unknown_table_names_line_column_the_known_tables_and_a_guess():
    script = "CREATE TABLE daily AS\nSELECT * FROM order"
    with pytest.raises(KeboolaError) as e:
        check_script(script, "duckdb", INPUTS, ["daily"], where="code 'x'")
    assert e.value.what == ("code 'x', line 2, column 15: unknown table order (known tables: customers, orders); "
                            "did you mean 'orders'?")


def test_unknown_column_lists_the_table_columns_and_suggests_the_close_one():
    script = "CREATE TABLE daily AS\nSELECT day, sum(amout) AS revenue\nFROM orders GROUP BY day"
    with pytest.raises(KeboolaError) as e:
        check_script(script, "duckdb", INPUTS, ["daily"])
    assert e.value.what == ("line 2, column 17: unknown column 'amout' (columns of orders: id, customer_id, amount, "
                            "tax, day); did you mean 'amount'?")


def test_reading_an_intermediate_table_works_and_its_columns_are_known():
    script = ("CREATE TABLE tmp AS SELECT id, amount + tax AS total FROM orders;\n"
              "CREATE TABLE daily AS SELECT id, total FROM tmp")
    assert [s.writes for s in check_script(script, "duckdb", INPUTS, ["daily"])] == ["tmp", "daily"]
    with pytest.raises(KeboolaError, match=r"line 2, column 34: unknown column 'totl' \(columns of tmp: id, total\)"
                                           r"; did you mean 'total'\?"):
        check_script(script.replace("id, total FROM", "id, totl FROM"), "duckdb", INPUTS, ["daily"])


def test_ctes_are_tables_the_statement_may_read_and_their_columns_are_checked():
    script = ("CREATE TABLE daily AS\nWITH big AS (SELECT id, amount FROM orders WHERE amount > 10)\n"
              "SELECT b.id, b.amount FROM big b JOIN customers c ON b.id = c.id")
    assert check_script(script, "duckdb", INPUTS, ["daily"])[0].kind == "create_table"
    with pytest.raises(KeboolaError) as e:  # b is the CTE: its columns are the ones that count
        check_script(script.replace("b.amount FROM", "b.tax FROM"), "duckdb", INPUTS, ["daily"])
    assert e.value.what == "line 3, column 16: unknown column 'tax' (columns of big: id, amount)"


def test_update_and_delete_columns_are_checked_against_their_table():
    made = "CREATE TABLE daily AS SELECT id, amount FROM orders;\n"
    ok = made + ("UPDATE daily SET amount = d.amount FROM orders d WHERE daily.id = d.id;\n"
                 "DELETE FROM daily WHERE id > 1")
    assert [s.kind for s in check_script(ok, "duckdb", INPUTS, ["daily"])] == ["create_table", "update", "delete"]
    with pytest.raises(KeboolaError, match=r"line 2, column 35: unknown column 'idd' \(columns of daily: id, amount\)"):
        check_script(made + "UPDATE daily SET amount = 0 WHERE idd = 1", "duckdb", INPUTS, ["daily"])


def test_a_table_whose_columns_cannot_be_told_skips_the_column_check_instead_of_failing_wrongly():
    script = "CREATE TABLE tmp AS SELECT * FROM range(3);\nCREATE TABLE daily AS SELECT anything FROM tmp"
    assert len(check_script(script, "duckdb", INPUTS, ["daily"])) == 2


@pytest.mark.parametrize("script, message", [
    ("INSERT INTO orders SELECT * FROM orders", "line 1: INSERT INTO orders would change the input table orders"),
    ("CREATE TABLE daily AS SELECT 1 AS a;\n\nDROP TABLE orders", "line 3: DROP TABLE orders would drop the input"),
    ("CREATE OR REPLACE TABLE orders AS SELECT 1 AS a", "CREATE TABLE orders would replace the input table orders"),
    ("CREATE TABLE daily AS SELECT 1 AS a;\nDELETE FROM other",
     "line 2: DELETE FROM other writes a table that is neither an output nor created by the script"),
    ('CREATE TABLE "in.c-shop"."daily" AS SELECT 1 AS a', 'CREATE TABLE "in.c-shop"."daily" would write outside'),
    ('CREATE TABLE "out.c-shop.daily" AS SELECT 1 AS a', 'CREATE TABLE "out.c-shop.daily" would write outside'),
    ("INSERT INTO daily SELECT 1;\nCREATE TABLE daily AS SELECT 1 AS a", "runs before the script creates daily"),
])
def test_writes_other_than_to_outputs_and_intermediates_are_refused(script, message):
    with pytest.raises(KeboolaError, match="a transformation writes only its declared outputs|create it first") as e:
        check_script(script, "duckdb", INPUTS, ["daily"])
    assert message in e.value.what


def test_the_refusal_says_how_to_declare_an_output():
    with pytest.raises(KeboolaError) as e:
        check_script("CREATE TABLE daily AS SELECT 1 AS a;\nUPDATE other SET a = 1", "duckdb", INPUTS, ["daily"])
    assert e.value.fix == "a transformation writes only its declared outputs (daily); add --out for it"


@pytest.mark.parametrize("statement", ["COPY daily TO 'x.csv'", "ATTACH 'other.db'", "INSTALL httpfs",
                                       "EXPORT DATABASE 'dir'", "LOAD httpfs", "SET threads = 1", "CALL f()"])
def test_statements_reaching_outside_the_workspace_are_refused_by_line(statement):
    script = f"CREATE TABLE daily AS SELECT 1 AS a;\n\n{statement}"
    word = statement.split()[0]
    with pytest.raises(KeboolaError, match=f"^line 3, column 1: {word} is not allowed in a transformation"):
        check_script(script, "duckdb", INPUTS, ["daily"])


def test_reading_files_instead_of_inputs_is_refused():
    with pytest.raises(KeboolaError, match=r"READ_CSV\('x.csv'\) reads outside the transformation's inputs"):
        check_script("CREATE TABLE daily AS SELECT * FROM read_csv('x.csv')", "duckdb", INPUTS, ["daily"])
    with pytest.raises(KeboolaError, match=r'unknown table "x.csv"'):
        check_script("CREATE TABLE daily AS SELECT * FROM 'x.csv'", "duckdb", INPUTS, ["daily"])


def test_other_statement_kinds_are_refused():
    with pytest.raises(KeboolaError, match="line 1: CREATE MACRO m.* is not allowed in a transformation"):
        check_script("CREATE MACRO m(a) AS a + 1", "duckdb", INPUTS, [])


def test_every_declared_output_must_be_created():
    with pytest.raises(KeboolaError) as e:
        check_script("CREATE TABLE other AS SELECT 1 AS a", "duckdb", INPUTS, ["other", "Daily_Revenue"], where="x")
    assert e.value.what == "x, the script never creates the output table daily_revenue"
    assert e.value.fix == "create it in the code, e.g. CREATE TABLE daily_revenue AS SELECT ..."


def _run(statements, data: dict[str, str]) -> list[tuple]:
    con = duckdb.connect()
    for name, sql in data.items():
        con.execute(f'CREATE TABLE "{name}" AS {sql}')
    for st in statements:
        con.execute(st.duckdb)
    return con


ORDERS = "SELECT * FROM (VALUES (1, 1, 5.0, 1.0, DATE '2024-01-01'), (2, 2, 20.0, 2.0, DATE '2024-01-01')) " \
         "AS t(id, customer_id, amount, tax, day)"
CUSTOMERS = "SELECT * FROM (VALUES (1, 'Ann'), (2, 'Bob')) AS t(id, name)"


def test_snowflake_code_with_upper_case_unquoted_names_matches_lower_case_inputs_and_runs_in_duckdb():
    script = ("CREATE OR REPLACE TRANSIENT TABLE DAILY_REVENUE AS\n"
              "SELECT O.DAY, SUM(O.AMOUNT) AS REVENUE, IFF(SUM(O.AMOUNT) > 10, 'big', 'small') AS SIZE\n"
              "FROM ORDERS O JOIN CUSTOMERS C ON O.CUSTOMER_ID = C.ID GROUP BY O.DAY")
    statements = check_script(script, "snowflake", INPUTS, ["daily_revenue"])
    assert "TRANSIENT" not in statements[0].duckdb
    con = _run(statements, {"orders": ORDERS, "customers": CUSTOMERS})
    assert con.execute("SELECT revenue, size FROM daily_revenue").fetchall() == [(25.0, "big")]
    with pytest.raises(KeboolaError, match=r"line 2, column 21: unknown column 'AMOUNTT'.*did you mean 'amount'"):
        check_script(script.replace("SUM(O.AMOUNT) AS", "SUM(O.AMOUNTT) AS"), "snowflake", INPUTS, ["daily_revenue"])


def test_keboola_style_quoted_names_pass_and_a_star_copy_keeps_its_columns_known():
    script = 'CREATE TABLE "out_companies" AS SELECT * FROM "customers";\nCREATE TABLE "x" AS SELECT "nme" FROM ' \
             '"out_companies"'
    assert check_script(script.split(";")[0], "snowflake", INPUTS, ["out_companies"])[0].writes == "out_companies"
    with pytest.raises(KeboolaError, match=r"unknown column 'nme' \(columns of out_companies: id, name\)"):
        check_script(script, "snowflake", INPUTS, ["out_companies", "x"])


def test_transpiled_snowflake_runs_in_duckdb():
    sql = transpile("SELECT id, IFF(amount > 10, 'big', 'small') AS size,\n"
                    "  DATEADD(day, 3, day) AS due FROM orders ORDER BY id", "snowflake", "duckdb")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE orders AS {ORDERS}")
    rows = con.execute(sql).fetchall()
    assert [(r[0], r[1], str(r[2])[:10]) for r in rows] == [(1, "small", "2024-01-04"), (2, "big", "2024-01-04")]


def test_a_construct_duckdb_cannot_express_names_its_line():
    with pytest.raises(KeboolaError) as e:
        transpile("SELECT 1;\n\nSELECT TO_VARCHAR(day, 'YYYY') FROM orders", "snowflake", "duckdb", where="code a")
    assert e.value.what.startswith("code a, line 3: TO_CHAR(day, 'YYYY'): Argument 'format' is not supported")
    with pytest.raises(KeboolaError, match="line 3: TO_CHAR"):
        check_script("CREATE TABLE d AS SELECT 1 AS a;\n\nSELECT TO_VARCHAR(day, 'YYYY') FROM orders", "snowflake",
                     INPUTS, ["d"])


def test_snowflake_sqlglot_cannot_translate_is_refused_before_it_runs():
    with pytest.raises(KeboolaError, match=r"^line 2: this statement has no DuckDB translation"):
        parse("SELECT 1;\nSELECT f.value FROM orders, LATERAL FLATTEN(input => payload) f", "snowflake")
    with pytest.raises(KeboolaError) as e:
        parse("SELECT TO_CHAR(day, 'YYYY') FROM orders", "snowflake")
    assert "e.g. TO_CHAR(day::DATE, 'YYYY')" in e.value.fix
    assert parse("SELECT TO_CHAR(day::DATE, 'YYYY') FROM orders", "snowflake")[0].duckdb == \
        "SELECT STRFTIME(CAST(day AS DATE), '%Y') FROM orders"


def test_portability_reports_exactly_the_constructs_a_target_lacks():
    script = """SELECT list_sum(l) AS s, epoch_ms(ts) AS e, date_diff('day', d1, d2) AS dd FROM t;
SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1;
SELECT {'a': 1} AS s, [1, 2] AS l, * EXCLUDE (b) FROM t;
SELECT arg_max(a, b, 3) FROM t;
SELECT COLUMNS('a.*') FROM t;
SELECT x.a FROM t x ASOF JOIN u y ON x.a >= y.a;"""
    found = {p.target: p for p in portability(script)}
    assert found["snowflake"].problems == [
        "line 1: LIST_SUM(): not a snowflake function sqlglot knows; it would be passed through unchanged",
        "line 5: COLUMNS('a.*'): snowflake has no COLUMNS() expression",
        "line 6: ASOF JOIN: Snowflake's ASOF JOIN takes MATCH_CONDITION, not ON",
    ]
    assert found["bigquery"].problems == [
        "line 1: LIST_SUM(): not a bigquery function sqlglot knows; it would be passed through unchanged",
        "line 4: ARG_MAX(a, b, 3): Argument 'count' is not supported for expression 'ArgMax'",
        "line 5: COLUMNS('a.*'): bigquery has no COLUMNS() expression",
        "line 6: ASOF JOIN: bigquery has no ASOF JOIN",
    ]
    assert not found["snowflake"].ok and found["snowflake"].sql == ""


def test_portable_code_comes_back_translated():
    (snow,) = portability("SELECT epoch_ms(ts) AS e, date_diff('day', d1, d2) AS dd FROM t", targets=("snowflake",))
    assert snow.ok and snow.problems == []
    assert snow.sql == "SELECT TO_TIMESTAMP(ts, 3) AS e, DATEDIFF(DAY, d1, d2) AS dd FROM t"


LINEAGE_SCRIPT = """CREATE TABLE tmp AS
  SELECT o.id, o.amount + o.tax AS total, c.name, o.day
  FROM orders o JOIN customers c ON o.customer_id = c.id;
CREATE TABLE tmp2 AS SELECT * FROM tmp WHERE total > 0;
CREATE TABLE daily AS
WITH x AS (SELECT day, total, name FROM tmp2)
SELECT day, name, sum(total) AS revenue, 1 AS one FROM x GROUP BY day, name"""


def test_lineage_reaches_the_inputs_through_a_cte_and_intermediate_tables():
    assert column_lineage(LINEAGE_SCRIPT, "duckdb", INPUTS, "daily") == {
        "day": ["orders.day"], "name": ["customers.name"], "revenue": ["orders.amount", "orders.tax"], "one": []}
    with pytest.raises(KeboolaError, match="the script does not create the table orders"):
        column_lineage(LINEAGE_SCRIPT, "duckdb", INPUTS, "orders")


def test_lineage_of_a_table_filled_by_inserts_follows_column_positions():
    script = "CREATE TABLE o (a INT, b INT);\nINSERT INTO o SELECT id, amount FROM orders;\n" \
             "INSERT INTO o SELECT customer_id, tax FROM orders"
    assert column_lineage(script, "duckdb", INPUTS, "o") == {
        "a": ["orders.customer_id", "orders.id"], "b": ["orders.amount", "orders.tax"]}


def test_the_lineage_picture_draws_every_column_escaped_and_reads_as_text():
    picture = lineage_picture({"a<b": ["orders.amount", "orders.tax"], "one": []}, "daily & co")
    html = picture._repr_html_()
    assert "a&lt;b" in html and "a<b" not in html and "daily &amp; co" in html
    assert "orders.amount" in html and "orders.tax" in html and html.count("<path") == 2
    assert repr(picture) == "daily & co:\n  a<b <- orders.amount, orders.tax\n  one <- (no input column)"


@pytest.mark.parametrize("dialect, script, message", [
    ("snowflake", "CREATE TABLE out1 AS\nSELECT $1 AS a FROM @my_stage;",
     "line 2, column 22: @my_stage reads the files of a stage"),
    ("snowflake", "CREATE TABLE out1 AS SELECT $1 AS a FROM @my_stage/day/x.csv (file_format => 'csv')",
     "line 1, column 43: @my_stage/day/x.csv reads the files of a stage"),
    ("snowflake", "CREATE TABLE out1 AS SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))",
     "line 1, column 42: RESULT_SCAN(LAST_QUERY_ID()) reads outside the transformation's inputs"),
    ("snowflake", "CREATE TABLE out1 AS SELECT * FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY())",
     "line 1, column 61: INFORMATION_SCHEMA.QUERY_HISTORY() is a table function"),
    ("snowflake", "CREATE TABLE out1 AS SELECT * FROM orders, LATERAL MY_UDTF(orders.id)",
     "line 1, column 52: MY_UDTF(orders.id) is a table function"),
    ("duckdb", "CREATE TABLE out1 AS SELECT * FROM duckdb_tables()",
     "line 1, column 36: DUCKDB_TABLES() shows the database's other tables or the machine's settings"),
    ("duckdb", "CREATE TABLE out1 AS SELECT * FROM duckdb_settings()", "line 1, column 36: DUCKDB_SETTINGS() shows"),
    ("duckdb", "CREATE TABLE out1 AS SELECT * FROM pragma_table_info('orders')", "column 36: PRAGMA_TABLE_INFO("),
    ("duckdb", "CREATE TABLE out1 AS SELECT id, current_setting('home_directory') AS h FROM orders",
     "line 1, column 33: CURRENT_SETTING('home_directory') shows the database's other tables or the machine's"),
])
def test_reads_outside_the_inputs_stages_catalog_and_settings_are_refused(dialect, script, message):
    with pytest.raises(KeboolaError) as e:
        check_script(script, dialect, INPUTS, ["out1"])
    assert message in e.value.what
    assert "input table" in e.value.fix


def test_table_functions_that_only_make_rows_are_allowed():
    for script in ["CREATE TABLE out1 AS SELECT * FROM range(3)",
                   "CREATE TABLE out1 AS SELECT * FROM generate_series(1, 3) t(x)",
                   "CREATE TABLE out1 AS SELECT o.id, u.x FROM orders o, unnest([1, 2]) u(x)"]:
        assert [s.kind for s in check_script(script, "duckdb", INPUTS, ["out1"])] == ["create_table"]
    flattened = check_script("CREATE TABLE out1 AS SELECT o.id, f.value AS v "
                             "FROM orders o, TABLE(FLATTEN(input => o.id)) f", "snowflake", INPUTS, ["out1"])
    assert [s.kind for s in flattened] == ["create_table"] and "UNNEST" in flattened[0].duckdb
    statements = check_script("CREATE TABLE out1 AS SELECT SEQ4() AS n FROM TABLE(GENERATOR(ROWCOUNT => 3))",
                              "snowflake", INPUTS, ["out1"])
    assert _run(statements, {}).execute("SELECT count(*) FROM out1").fetchall() == [(3,)]


def test_snowflake_try_to_number_gives_null_for_a_non_number_in_duckdb_as_in_snowflake():
    script = ("CREATE TABLE out1 AS SELECT s, TRY_TO_NUMBER(s) AS n, TRY_TO_NUMBER(s, 10, 2) AS n2,\n"
              "  TRY_TO_DECIMAL(s, 5) AS d, TRY_TO_NUMERIC(s, 10, 1) AS e FROM vals")
    statements = check_script(script, "snowflake", {"vals": {"s": "VARCHAR"}}, ["out1"])
    assert "TRY_CAST(s AS DECIMAL(10, 2)) AS n2" in statements[0].duckdb
    con = _run(statements, {"vals": "SELECT * FROM (VALUES ('ok'), ('12.5')) AS t(s)"})
    rows = con.execute("SELECT n, n2, d, e FROM out1 ORDER BY s").fetchall()
    # With scale 0 DuckDB's TRY_CAST rounds half away from zero, 12.5 -> 13, as Snowflake does
    assert [tuple(None if v is None else float(v) for v in r) for r in rows] == [
        (13.0, 12.5, 13.0, 12.5), (None, None, None, None)]


def test_snowflake_clone_runs_as_create_table_as_select_and_other_forms_are_refused_clearly():
    statements = check_script('CREATE TABLE "out1" CLONE "orders"', "snowflake", INPUTS, ["out1"])
    assert statements[0].duckdb == 'CREATE TABLE "out1" AS SELECT * FROM "orders"'
    assert _run(statements, {"orders": ORDERS, "customers": CUSTOMERS}).execute(
        "SELECT id, amount FROM out1 ORDER BY id").fetchall() == [(1, 5.0), (2, 20.0)]
    with pytest.raises(KeboolaError, match=r"^line 2: CLONE .* copies an earlier version of the table"):
        check_script('SELECT 1;\nCREATE TABLE "out1" CLONE "orders" AT (OFFSET => -60)', "snowflake", INPUTS, ["out1"])
    with pytest.raises(KeboolaError, match=r"unknown table \"other\""):
        check_script('CREATE TABLE "out1" CLONE "other"', "snowflake", INPUTS, ["out1"])
    with pytest.raises(KeboolaError) as e:
        check_script("CREATE TABLE out1 CLONE orders", "duckdb", INPUTS, ["out1"])
    assert e.value.what == "line 1, column 19: CLONE is Snowflake's zero-copy copy; DuckDB has no CLONE"
    assert e.value.fix == "write CREATE TABLE x AS SELECT * FROM y"


def test_pivot_right_after_as_says_what_sqlglot_can_read_and_that_form_runs():
    pivots = {"orders": ORDERS, "customers": CUSTOMERS}
    with pytest.raises(KeboolaError) as e:
        check_script("CREATE TABLE out1 AS\nPIVOT orders ON customer_id USING sum(amount) GROUP BY day", "duckdb",
                     INPUTS, ["out1"])
    assert e.value.what == "line 2, column 1: the SQL cannot be checked: sqlglot cannot read PIVOT right after AS " \
                           "(DuckDB can)"
    assert "CREATE TABLE x AS (PIVOT ...)" in e.value.fix and "SELECT * FROM (PIVOT ...)" in e.value.fix
    for script in ["CREATE TABLE out1 AS (PIVOT orders ON customer_id USING sum(amount) GROUP BY day)",
                   "CREATE TABLE out1 AS SELECT * FROM (PIVOT orders ON customer_id USING sum(amount) GROUP BY day)"]:
        con = _run(check_script(script, "duckdb", INPUTS, ["out1"]), pivots)
        assert con.execute('SELECT "1", "2" FROM out1').fetchall() == [(5.0, 20.0)]


def test_sqlglot_warnings_stay_out_of_the_notebook(caplog):
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(KeboolaError):
            check_script("CREATE TABLE x AS SELEC 1", "duckdb", INPUTS, ["x"])
        with pytest.raises(KeboolaError):
            parse("CREATE TABLE out1 AS PIVOT orders ON id USING sum(amount)", "duckdb")
        with pytest.raises(KeboolaError):
            transpile("CREATE TABLE x AS SELEC 1", "duckdb", "snowflake")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")] == []
    sqlglot.parse_one("CREATE TABLE x AS SELEC 1", read="duckdb")  # the logger itself is left as it was
    assert any("Falling back to parsing as a 'Command'" in r.getMessage() for r in caplog.records)


def test_lineage_follows_the_last_create_of_the_output_through_its_earlier_versions():
    script = "CREATE TABLE o AS SELECT id FROM orders;\nCREATE OR REPLACE TABLE o AS SELECT id, 1 AS one FROM o;"
    assert column_lineage(script, "duckdb", INPUTS, "o") == {"id": ["orders.id"], "one": []}
    script = ("CREATE TABLE t AS SELECT id, amount FROM orders;\n"
              "CREATE OR REPLACE TABLE t AS SELECT t.id, t.amount + orders.tax AS amount\n"
              "  FROM t JOIN orders ON t.id = orders.id;\n"
              "CREATE TABLE o AS SELECT t.amount AS a FROM t")
    assert column_lineage(script, "duckdb", INPUTS, "o") == {"a": ["orders.amount", "orders.tax"]}


def test_a_lineage_sqlglot_cannot_follow_is_a_keboola_error_naming_the_output_and_the_cause():
    with pytest.raises(KeboolaError) as e:
        column_lineage("SELECT 1;\nCREATE TABLE o AS SELECT nope FROM orders", "duckdb", INPUTS, "o")
    assert e.value.what == ("line 2: cannot trace where the columns of o come from: Column 'nope' could not be "
                            "resolved (OptimizeError)")
