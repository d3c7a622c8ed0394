"""SQL transformations end to end: built from code and --in/--out, checked against storage, run on the embedded
storage, loaded into storage by their output mapping, kept in kbc's block layout."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from IPython.core.error import UsageError

from keboola_nb.connectors.base import Scan
from keboola_nb.errors import KeboolaError, KeboolaNotice

DAILY = """-- revenue per day
CREATE TABLE daily_revenue AS
SELECT order_date, SUM(amount) AS revenue, COUNT(*) AS orders
FROM orders
GROUP BY order_date;
"""


def put(project, table_id: str, values: str, columns: str) -> None:
    with project.storage.transaction() as loader:
        loader.load(table_id, Scan(sql=f"SELECT * FROM (VALUES {values}) t({columns})"))


@pytest.fixture
def orders(project):
    put(project, "in.c-shop.orders",
        "(1, DATE '2024-01-01', 10.50::DECIMAL(12,2), 'ok'), (2, DATE '2024-01-01', 4.25::DECIMAL(12,2), 'sad'), "
        "(3, DATE '2024-01-02', 7.00::DECIMAL(12,2), 'ok')", "id, order_date, amount, status")
    return project


def rows(project, table_id: str, order: str) -> list[tuple]:
    frame = project.storage.preview(table_id, 1000)
    frame.columns = [c.lower() for c in frame.columns]  # Snowflake's unquoted names come out upper-case
    frame = frame.sort_values(order)
    return [tuple(r) for r in frame.itertuples(index=False)]


def test_a_sql_transformation_runs_into_storage_and_is_kept_as_kbc_keeps_it(orders):
    project = orders
    config = project.transformations.create_sql("daily_revenue", DAILY, inputs=["in.c-shop.orders"],
                                                outputs=["out.c-sales.daily_revenue"])
    assert config.component_id == "keboola.duckdb-transformation"
    job = project.run("daily_revenue")
    assert job.status == "success", job.error
    assert rows(project, "out.c-sales.daily_revenue", "order_date") == [
        (pd_date("2024-01-01"), Decimal("14.75"), 2), (pd_date("2024-01-02"), Decimal("7.00"), 1)]

    folder = project.layout.branch_dir / "transformation" / "keboola.duckdb-transformation" / "daily-revenue"
    config_json = json.loads((folder / "config.json").read_text())
    assert "blocks" not in config_json["parameters"]
    assert config_json["storage"]["input"]["tables"][0]["source"] == "in.c-shop.orders"
    assert config_json["storage"]["input"]["tables"][0]["destination"] == "orders"
    assert config_json["storage"]["output"]["tables"][0] == {
        "source": "daily_revenue", "destination": "out.c-sales.daily_revenue", "incremental": False,
        "primary_key": [], "delete_where_column": "", "delete_where_values": [], "delete_where_operator": "eq"}
    assert (folder / "blocks" / ".gitkeep").exists()
    assert json.loads((folder / "blocks" / "001-block-1" / "meta.json").read_text()) == {"name": "Block 1"}
    code = folder / "blocks" / "001-block-1" / "001-daily-revenue"
    assert json.loads((code / "meta.json").read_text()) == {"name": "daily_revenue"}
    assert (code / "code.txt").read_text() == DAILY
    again = project.configs.get("daily_revenue")
    assert again.configuration == config.configuration


def pd_date(text: str):
    import datetime

    return datetime.date.fromisoformat(text)


def test_snowflake_code_is_kept_one_statement_per_script_and_runs_locally(orders):
    project = orders
    code = ('CREATE TABLE "flagged" AS\nSELECT ID, IFF(AMOUNT > 5, \'big\', \'small\') AS SIZE FROM ORDERS;\n\n'
            "-- the second statement\nCREATE TABLE result AS SELECT size, COUNT(*) AS n FROM flagged GROUP BY size;")
    with pytest.warns(KeboolaNotice) as notices:
        config = project.transformations.create_sql("sizes", code, dialect="snowflake", inputs=["in.c-shop.orders"],
                                                    outputs=["result AS out.c-sales.sizes"])
    # Keboola's Snowflake workspace names tables exactly ("orders"); Snowflake reads unquoted names upper-case
    assert sorted(str(n.message).split(": ")[1].split(" is not")[0] for n in notices) == [
        "the unquoted name ORDERS", "the unquoted name flagged (Snowflake reads it as FLAGGED)",
        "the unquoted name result (Snowflake reads it as RESULT)"]
    assert config.component_id == "keboola.snowflake-transformation"
    scripts = config.configuration["parameters"]["blocks"][0]["codes"][0]["script"]
    assert len(scripts) == 2 and scripts[1].startswith("-- the second statement")
    job = project.run("sizes")
    assert job.status == "success", job.error
    assert rows(project, "out.c-sales.sizes", "size") == [("big", 2), ("small", 1)]
    folder = project.layout.branch_dir / "transformation" / "keboola.snowflake-transformation" / "sizes"
    text = (folder / "blocks" / "001-block-1" / "001-sizes" / "code.sql").read_text()
    assert text == "\n\n".join(s.rstrip() for s in scripts) + "\n"
    assert project.configs.get("sizes").configuration["parameters"]["blocks"][0]["codes"][0]["script"] == scripts


def test_snowflake_code_that_names_tables_as_keboola_does_draws_no_notice(orders):
    import warnings

    code = 'CREATE TABLE "result" AS SELECT "status", COUNT(*) AS N FROM "orders" GROUP BY "status";'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        orders.transformations.create_sql("quoted", code, dialect="snowflake", inputs=["in.c-shop.orders"],
                                          outputs=["result AS out.c-sales.by_status"])
    assert [str(w.message) for w in caught if issubclass(w.category, KeboolaNotice)] == []
    assert orders.run("quoted").status == "success"


def test_postgres_code_is_transpiled_and_kept_as_duckdb(orders):
    project = orders
    code = "CREATE TABLE t AS SELECT id, amount::numeric(12,2) AS amount, status || '!' AS s FROM o WHERE id <> 2"
    with pytest.warns(UserWarning, match="transpiled to duckdb"):
        config = project.transformations.create_sql("pg_style", code, dialect="postgres",
                                                    inputs=["in.c-shop.orders AS o"], outputs=["t AS out.c-x.t"])
    assert config.component_id == "keboola.duckdb-transformation"
    assert project.run("pg_style").status == "success"
    assert [r[0] for r in rows(project, "out.c-x.t", "id")] == [1, 3]


def test_incremental_output_upserts_and_delete_where_deletes_first(orders):
    project = orders
    code = "CREATE TABLE latest AS SELECT id, status, amount FROM orders"
    project.transformations.create_sql("latest", code, inputs=["in.c-shop.orders"], outputs=[
        {"destination": "out.c-shop.latest", "incremental": True, "primary_key": ["id"]}])
    assert project.run("latest").status == "success"
    put(project, "in.c-shop.orders", "(3, DATE '2024-01-02', 9.00::DECIMAL(12,2), 'happy'), "
                                     "(4, DATE '2024-01-03', 1.00::DECIMAL(12,2), 'ok')",
        "id, order_date, amount, status")
    assert project.run("latest").status == "success"
    assert [(r[0], r[1]) for r in rows(project, "out.c-shop.latest", "id")] == [
        (1, "ok"), (2, "sad"), (3, "happy"), (4, "ok")]

    project.transformations.create_sql("cleanup", "CREATE TABLE latest AS SELECT id, status, amount FROM orders "
                                                  "WHERE status = 'ok'", inputs=["in.c-shop.orders"], outputs=[
        {"destination": "out.c-shop.latest", "incremental": True, "primary_key": ["id"],
         "delete_where_column": "status", "delete_where_values": ["sad"]}])
    assert project.run("cleanup").status == "success"
    # the input now holds 3 and 4 only: 2 ('sad') is deleted first, 4 is upserted, 1 and 3 stay
    assert [(r[0], r[1]) for r in rows(project, "out.c-shop.latest", "id")] == [(1, "ok"), (3, "happy"), (4, "ok")]


def test_input_mapping_filters_columns_and_rows(orders):
    project = orders
    project.transformations.create_sql("oks", "CREATE TABLE oks AS SELECT * FROM orders", inputs=[
        {"source": "in.c-shop.orders", "columns": ["id", "status"], "where_column": "status",
         "where_values": ["ok"]}], outputs=["out.c-shop.oks"])
    assert project.run("oks").status == "success"
    assert rows(project, "out.c-shop.oks", "id") == [(1, "ok"), (3, "ok")]
    with pytest.raises(KeboolaError, match=r"unknown column 'amount' \(columns of orders: id\)"):
        project.transformations.create_sql("bad", "CREATE TABLE x AS SELECT amount FROM orders", inputs=[
            {"source": "in.c-shop.orders", "columns": ["id"]}], outputs=["out.c-shop.x"])


def test_adaptive_input_reads_only_rows_imported_since_the_last_run(orders):
    project = orders
    project.transformations.create_sql("copy", "CREATE TABLE copy AS SELECT id FROM orders", inputs=[
        {"source": "in.c-shop.orders", "changed_since": "adaptive"}], outputs=[
        {"destination": "out.c-shop.copy", "incremental": True}])
    assert project.run("copy").status == "success"
    assert len(project.storage.preview("out.c-shop.copy")) == 3
    with project.storage.transaction() as loader:
        loader.load("in.c-shop.orders", Scan(sql="SELECT 9 AS id, DATE '2024-02-01' AS order_date, "
                                                 "1.00::DECIMAL(12,2) AS amount, 'ok' AS status"), incremental=True)
    job = project.run("copy")
    assert job.status == "success" and job.tables[0]["rows"] == 1
    assert sorted(project.storage.preview("out.c-shop.copy")["id"]) == [1, 2, 3, 9]


@pytest.mark.parametrize("code, message", [
    ("CREATE TABLE daily AS\nSELECT order_date,\n  SUM(amount AS revenue\nFROM orders GROUP BY 1",
     "line 3, column 14: the SQL does not parse"),
    ("CREATE TABLE daily AS\nSELECT order_date, SUM(amout) FROM orders GROUP BY 1",
     "line 2, column 24: unknown column 'amout' .*did you mean 'amount'"),
    ("CREATE TABLE daily AS\nSELECT * FROM order_items", "line 2, column 15: unknown table order_items"),
    ("CREATE TABLE daily AS SELECT 1 AS x;\nDROP TABLE orders;", "line 2: DROP TABLE orders would drop the input"),
    ("CREATE TABLE something_else AS SELECT 1 AS x", "never creates the output table daily"),
])
def test_bad_sql_is_refused_before_anything_is_saved_or_run(orders, code, message):
    project = orders
    with pytest.raises(KeboolaError, match=message):
        project.transformations.create_sql("daily", code, inputs=["in.c-shop.orders"], outputs=["out.c-x.daily"])
    assert project.configs.find("daily") is None
    assert "out.c-x.daily" not in set(project.storage.tables()["id"])


def test_a_failing_statement_names_its_line_and_leaves_storage_as_it_was(orders):
    project = orders
    project.transformations.create_sql("daily", DAILY, inputs=["in.c-shop.orders"], outputs=["out.c-x.daily_revenue"])
    assert project.run("daily").status == "success"
    before = rows(project, "out.c-x.daily_revenue", "order_date")
    bad = DAILY + "\nCREATE TABLE other AS\nSELECT CAST(status AS INTEGER) AS n FROM orders;"
    project.transformations.create_sql("daily", bad, inputs=["in.c-shop.orders"], replace=True,
                                       outputs=["out.c-x.daily_revenue", "out.c-x.other"])
    job = project.run("daily")
    assert job.status == "error"
    assert "line 7" in job.error and "Storage was left as it was" in job.error
    assert rows(project, "out.c-x.daily_revenue", "order_date") == before
    assert "out.c-x.other" not in set(project.storage.tables()["id"])


def test_a_sample_runs_on_a_few_rows_and_changes_nothing(orders):
    project = orders
    project.transformations.create_sql("all", "CREATE TABLE everything AS SELECT * FROM orders",
                                       inputs=["in.c-shop.orders"], outputs=["everything AS out.c-x.all"])
    frames = project.transformations.sample("all", rows=2)
    assert list(frames) == ["out.c-x.all"] and len(frames["out.c-x.all"]) == 2
    assert "out.c-x.all" not in set(project.storage.tables()["id"])


def test_an_input_not_in_storage_yet_is_checked_when_it_runs(project):
    with pytest.warns(UserWarning, match="syntax only"):
        project.transformations.create_sql("later", "CREATE TABLE t AS SELECT id FROM later_input",
                                           inputs=["in.c-new.later_input"], outputs=["t AS out.c-x.t"])
    job = project.run("later")
    assert job.status == "error" and "in.c-new.later_input" in job.error


def test_the_sql_magic_saves_runs_and_previews(orders, ip, capsys):
    preview = ip.run_cell_magic("keboola", "sql daily_revenue --in in.c-shop.orders AS o --out "
                                           "out.c-sales.daily_revenue --incremental --pk order_date",
                                DAILY.replace("FROM orders", "FROM o"))
    assert "saved keboola.duckdb-transformation 'daily_revenue'" in capsys.readouterr().out
    assert sorted(preview["order_date"].astype(str)) == ["2024-01-01", "2024-01-02"]
    output = orders.configs.get("daily_revenue").configuration["storage"]["output"]["tables"][0]
    assert output["incremental"] is True and output["primary_key"] == ["order_date"]
    with pytest.raises(UsageError, match="line 2"):
        ip.run_cell_magic("keboola", "sql broken --in in.c-shop.orders --out out.c-x.broken",
                          "CREATE TABLE broken AS\nSELECT nope FROM orders")


def test_a_value_that_does_not_fit_the_stored_column_fails_the_load_and_changes_nothing(orders):
    project = orders
    out = [{"destination": "out.c-x.ids", "incremental": True, "primary_key": ["id"]}]
    project.transformations.create_sql("ids", "CREATE TABLE ids AS SELECT id, amount FROM orders",
                                       inputs=["in.c-shop.orders"], outputs=out)
    assert project.run("ids").status == "success"
    before = rows(project, "out.c-x.ids", "id")
    project.transformations.create_sql("ids", "CREATE TABLE ids AS SELECT 7 AS id, 'a lot' AS amount",
                                       inputs=["in.c-shop.orders"], outputs=out, replace=True)
    job = project.run("ids")
    assert job.status == "error"
    assert "loading ids into out.c-x.ids" in job.error and "a lot" in job.error
    assert "Storage was left as it was" in job.error
    assert rows(project, "out.c-x.ids", "id") == before


BIG_ORDERS = ("CREATE TABLE big AS SELECT id, amount FROM orders "
              "WHERE amount >= {{min_amount}} AND status = '{{status}}'")


def test_variables_fill_the_code_when_it_runs_and_are_kept_as_kbc_keeps_them(orders):
    project = orders
    config = project.transformations.create_sql("big", BIG_ORDERS, inputs=["in.c-shop.orders"],
                                                outputs=["out.c-x.big"], variables={"min_amount": "5",
                                                                                    "status": "ok"})
    assert "{{min_amount}}" in config.configuration["parameters"]["blocks"][0]["codes"][0]["script"][0]
    assert project.run("big").status == "success"
    assert [r[0] for r in rows(project, "out.c-x.big", "id")] == [1, 3]

    folder = project.layout.branch_dir / "transformation" / "keboola.duckdb-transformation" / "big"
    assert json.loads((folder / "variables" / "config.json").read_text()) == {
        "variables": [{"name": "min_amount", "type": "string"}, {"name": "status", "type": "string"}]}
    assert json.loads((folder / "variables" / "values" / "default-values" / "config.json").read_text()) == {
        "values": [{"name": "min_amount", "value": "5"}, {"name": "status", "value": "ok"}]}
    entry = next(e for e in json.loads(project.layout.manifest_path.read_text())["configurations"]
                 if e["componentId"] == "keboola.variables")
    assert entry["path"] == "variables"
    assert entry["relations"] == [{"componentId": "keboola.duckdb-transformation", "configId": config.id,
                                   "type": "variablesFor"}]
    assert entry["rows"][0]["path"] == "values/default-values"
    assert entry["rows"][0]["relations"] == [{"type": "variablesValuesFor"}]

    # a new version with other values; then one with new code and the values it has
    project.transformations.create_sql("big", BIG_ORDERS, inputs=["in.c-shop.orders"], outputs=["out.c-x.big"],
                                       variables={"min_amount": "8", "status": "ok"}, replace=True)
    assert project.run("big").status == "success"
    assert [r[0] for r in rows(project, "out.c-x.big", "id")] == [1]
    project.transformations.create_sql("big", BIG_ORDERS.replace(">=", "<"), inputs=["in.c-shop.orders"],
                                       outputs=["out.c-x.big"], replace=True)
    assert project.run("big").status == "success"
    assert [r[0] for r in rows(project, "out.c-x.big", "id")] == [3]
    assert len([e for e in json.loads(project.layout.manifest_path.read_text())["configurations"]
                if e["componentId"] == "keboola.variables"]) == 1


def test_a_variable_without_a_value_is_named_before_anything_is_saved(orders):
    with pytest.raises(KeboolaError, match="status"):
        orders.transformations.create_sql("big", BIG_ORDERS, inputs=["in.c-shop.orders"], outputs=["out.c-x.big"],
                                          variables={"min_amount": "5"})
    assert orders.configs.find("big") is None


def test_the_sql_magic_takes_variables(orders, ip):
    preview = ip.run_cell_magic("keboola", "sql big --in in.c-shop.orders --out out.c-x.big --var min_amount=7 "
                                           "--var status=ok", BIG_ORDERS)
    assert sorted(preview["id"]) == [1, 3]
    assert orders.configs.variable_values(orders.configs.get("big")) == {"min_amount": "7", "status": "ok"}


def test_a_destination_that_differs_only_in_case_is_the_same_table(orders):
    project = orders
    put(project, "out.c-b.Daily", "(1, 'keep'), (2, 'keep')", "id, v")
    project.transformations.create_sql("case", "CREATE TABLE daily AS SELECT 3 AS id, 'new' AS v", inputs=[],
                                       outputs=[{"destination": "out.c-b.daily", "incremental": True,
                                                 "primary_key": ["id"]}])
    assert project.run("case").status == "success"
    assert rows(project, "out.c-b.Daily", "id") == [(1, "keep"), (2, "keep"), (3, "new")]
    assert [t for t in project.storage.tables()["id"] if t.lower() == "out.c-b.daily"] == ["out.c-b.Daily"]


def test_an_output_made_as_a_view_loads_and_a_temporary_one_is_named(orders):
    project = orders
    code = "CREATE TABLE t AS SELECT * FROM orders;\nCREATE VIEW ok_orders AS SELECT id FROM t WHERE status = 'ok'"
    project.transformations.create_sql("view_out", code, inputs=["in.c-shop.orders"], outputs=["out.c-x.ok_orders"])
    assert project.run("view_out").status == "success"
    assert rows(project, "out.c-x.ok_orders", "id") == [(1,), (3,)]
    project.transformations.create_sql("temp_out", "CREATE TEMP TABLE tmp AS SELECT id FROM orders",
                                       inputs=["in.c-shop.orders"], outputs=["out.c-x.tmp"])
    job = project.run("temp_out")
    assert job.status == "error" and "TEMPORARY" in job.error


def test_a_script_ending_in_a_comment_does_not_swallow_the_next_code(orders):
    project = orders
    from keboola_nb import components

    config = components.get("keboola.duckdb-transformation").build_code(
        "two", "CREATE TABLE a AS SELECT id FROM orders -- the ids", ["in.c-shop.orders"], ["b AS out.c-x.b"])
    config.configuration["parameters"]["blocks"][0]["codes"].append({"name": "b", "script": [
        "CREATE TABLE b AS SELECT count(*) AS n FROM a"]})
    project.configs.save(config)
    job = project.run("two")
    assert job.status == "success", job.error
    assert rows(project, "out.c-x.b", "n") == [(3,)]


def test_filters_treat_null_as_keboolas_empty_text(project):
    put(project, "in.c-a.t", "(1, 'x'), (2, NULL), (3, 'y')", "id, c")
    for name, operator, values, expected in (("ne", "ne", ["x"], [2, 3]), ("empty", "eq", [""], [2])):
        project.transformations.create_sql(name, f"CREATE TABLE {name} AS SELECT id FROM t", inputs=[
            {"source": "in.c-a.t", "where_column": "c", "where_operator": operator, "where_values": values}],
            outputs=[f"out.c-x.{name}"])
        assert project.run(name).status == "success"
        assert [r[0] for r in rows(project, f"out.c-x.{name}", "id")] == expected


def test_a_full_load_with_a_primary_key_keeps_one_row_a_key(project):
    project.transformations.create_sql("dups", "CREATE TABLE d AS SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c'))"
                                               " t(id, v)", inputs=[],
                                       outputs=[{"destination": "out.c-x.d", "primary_key": ["id"]}])
    job = project.run("dups")
    assert job.status == "success" and job.tables[0]["rows"] == 2
    assert len(project.storage.preview("out.c-x.d")) == 2


def test_variables_are_checked_before_saving_and_kept_when_a_version_adds_one(orders):
    project = orders
    with pytest.raises(KeboolaError, match="my-var"):
        project.transformations.create_sql("vbad", "CREATE TABLE o AS SELECT * FROM orders",
                                           inputs=["in.c-shop.orders"], outputs=["o AS out.c-x.o"],
                                           variables={"my-var": "1"})
    assert project.configs.find("vbad") is None
    project.transformations.create_sql("big", BIG_ORDERS, inputs=["in.c-shop.orders"], outputs=["out.c-x.big"],
                                       variables={"min_amount": "5", "status": "ok"})
    project.transformations.create_sql("big", BIG_ORDERS + " AND id > {{above}}", inputs=["in.c-shop.orders"],
                                       outputs=["out.c-x.big"], variables={"above": "1"}, replace=True)
    assert project.configs.variable_values(project.configs.get("big")) == {"min_amount": "5", "status": "ok",
                                                                           "above": "1"}
    assert project.run("big").status == "success"
    assert [r[0] for r in rows(project, "out.c-x.big", "id")] == [3]


def test_a_quoted_variable_value_loses_its_quotes(orders, ip):
    ip.run_cell_magic("keboola", 'sql big --in in.c-shop.orders --out out.c-x.big --var min_amount="7" '
                                 "--var status='ok'", BIG_ORDERS)
    assert orders.configs.variable_values(orders.configs.get("big")) == {"min_amount": "7", "status": "ok"}
