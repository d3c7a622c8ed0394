"""Push-down: a Snowflake (or BigQuery) transformation whose inputs were all extracted from one warehouse runs in
that warehouse, against fakesnow and bqemulator. The proof that it ran there: a row changed in the warehouse
after the extraction shows in the pushed-down result, while a DuckDB transformation on the same inputs sees
storage's copy."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from bigquery_fixtures import CANARY
from snowflake_fixtures import SF_PASSWORD, WAREHOUSE

import keboola_nb as kb
from keboola_nb.connectors.base import Scan
from keboola_nb.store.secrets import redact

TOTALS = """-- revenue per customer
CREATE TABLE TOTALS AS
SELECT c."Full_Name" AS NAME, SUM(o.AMOUNT) AS TOTAL, COUNT(*) AS N
FROM ORDERS o JOIN CUSTOMERS c ON c.ID = o.CUSTOMER_ID
GROUP BY c."Full_Name";
"""
INPUTS = ["in.c-wh.ORDERS", "in.c-wh.CUSTOMERS"]


def log(job) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(job.log)


def table(project, table_id: str, order: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    frame = project.storage.preview(table_id, 1000)
    frame.columns = [c.upper() for c in frame.columns]
    return [tuple(r) for r in frame.sort_values(order.upper()).itertuples(index=False)]


# Snowflake -------------------------------------------------------------------------------------------------

@pytest.fixture
def wh(project, snow, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh schema of SHOP with two tables, extracted by the extractor `wh` into in.c-wh."""
    schema = f"PD{time.time_ns()}"
    snow.execute(f"CREATE SCHEMA SHOP.{schema}",
                 f"CREATE TABLE SHOP.{schema}.ORDERS (ID NUMBER(38,0) PRIMARY KEY, CUSTOMER_ID NUMBER(38,0), "
                 "AMOUNT NUMBER(12,2), NOTE VARCHAR)",
                 f"INSERT INTO SHOP.{schema}.ORDERS VALUES (1, 1, 10.50, 'a'), (2, 1, 4.25, 'b'), (3, 2, 7.00, 'c')",
                 f'CREATE TABLE SHOP.{schema}.CUSTOMERS (ID NUMBER(38,0) PRIMARY KEY, "Full Name" VARCHAR)',
                 f"INSERT INTO SHOP.{schema}.CUSTOMERS VALUES (1, 'Ann Lee'), (2, 'Bob Ray')")
    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    project.connections.add("snow", snow.url("etl", "SHOP", schema, warehouse=WAREHOUSE),
                            password=kb.secret("SF_PASSWORD"))
    notes = {"query": f"SELECT ID, NOTE FROM SHOP.{schema}.ORDERS", "name": "NOTES"}  # a query: not pushed down
    project.extractors.create("wh", "snow", ["orders", "customers", notes])
    job = project.run("wh")
    assert job.status == "success", job.error
    assert project.storage.metadata("in.c-wh.CUSTOMERS")["columns"] == {"ID": "BIGINT", "Full_Name": "VARCHAR"}
    return schema


def scratch_schemas(snow) -> list[str]:  # type: ignore[no-untyped-def]
    return [r[1] for r in snow.execute("SHOW SCHEMAS IN DATABASE SHOP")[0] if r[1].upper().startswith("KEBOOLA_NB_")]


def test_a_snowflake_transformation_on_snowflake_inputs_runs_in_snowflake(project, snow, wh):
    project.transformations.create_sql("totals", TOTALS, inputs=INPUTS, outputs=["out.c-pd.TOTALS"],
                                       dialect="snowflake")
    job = project.run("totals")
    assert job.status == "success", job.error
    assert f"pushed down to Snowflake local/SHOP: inputs are SHOP.{wh}.ORDERS, SHOP.{wh}.CUSTOMERS" in log(job)
    assert "1 statement(s) ran in Snowflake" in log(job) and "ran locally" not in log(job)
    assert table(project, "out.c-pd.TOTALS", "name") == [
        ("Ann Lee", Decimal("14.75"), 2), ("Bob Ray", Decimal("7.00"), 1)]
    assert job.rows == {"out.c-pd.TOTALS": 2}
    assert project.storage.metadata("out.c-pd.TOTALS")["source"] == "keboola.snowflake-transformation/totals/totals"
    assert scratch_schemas(snow) == []
    assert SF_PASSWORD not in log(job)


def test_the_warehouse_data_is_read_not_storage_copy(project, snow, wh):
    project.transformations.create_sql("totals", TOTALS, inputs=INPUTS, outputs=["out.c-pd.TOTALS"],
                                       dialect="snowflake")
    project.transformations.create_sql("local_totals", TOTALS, inputs=INPUTS, outputs=["TOTALS AS out.c-pd.LOCAL"])
    snow.execute(f"UPDATE SHOP.{wh}.ORDERS SET AMOUNT = 100 WHERE ID = 3")  # not extracted again
    pushed, local = project.run("totals"), project.run("local_totals")
    assert pushed.status == local.status == "success", (pushed.error, local.error)
    assert table(project, "out.c-pd.TOTALS", "name")[1] == ("Bob Ray", Decimal("100.00"), 1)  # Snowflake's row
    assert table(project, "out.c-pd.LOCAL", "name")[1] == ("Bob Ray", Decimal("7.00"), 1)  # storage's copy
    assert "pushed down" not in log(local) and "ran locally" not in log(local)  # DuckDB code: simply local


def test_a_failing_statement_names_its_line_and_leaves_storage_and_snowflake_as_they_were(project, snow, wh):
    project.transformations.create_sql("totals", TOTALS, inputs=INPUTS, outputs=["out.c-pd.TOTALS"],
                                       dialect="snowflake")
    assert project.run("totals").status == "success"
    before = table(project, "out.c-pd.TOTALS", "name")
    broken = TOTALS + "\n-- a note is no number\nCREATE TABLE NUMBERS AS\nSELECT CAST(NOTE AS NUMBER) AS X FROM ORDERS;"
    project.transformations.create_sql("totals", broken, inputs=INPUTS, outputs=["out.c-pd.TOTALS"],
                                       dialect="snowflake", replace=True)
    job = project.run("totals")
    assert job.status == "error"
    assert "the statement at block 'Block 1', code 'totals', line 2 failed in Snowflake" in job.error, job.error
    assert "Could not convert string 'a'" in job.error and "Storage was left as it was" in job.error
    assert table(project, "out.c-pd.TOTALS", "name") == before and job.rows == {}
    assert scratch_schemas(snow) == []
    assert SF_PASSWORD not in job.error + log(job)


def test_column_subsets_and_where_filters_are_applied_in_snowflake(project, snow, wh):
    code = "CREATE TABLE PICKED AS SELECT ID, AMOUNT FROM ORDERS;"
    project.transformations.create_sql("picked", code, dialect="snowflake", outputs=["out.c-pd.PICKED"], inputs=[
        {"source": "in.c-wh.ORDERS", "columns": ["ID", "AMOUNT"], "where_column": "NOTE", "where_values": ["a", "c"]}])
    snow.execute(f"UPDATE SHOP.{wh}.ORDERS SET AMOUNT = 1 WHERE ID = 1")
    job = project.run("picked")
    assert job.status == "success", job.error
    assert "pushed down to Snowflake" in log(job)
    assert table(project, "out.c-pd.PICKED", "id") == [(1, Decimal("1.00")), (3, Decimal("7.00"))]


def test_a_scratch_schema_that_exists_is_not_ours_to_drop(project, snow, wh):
    project.transformations.create_sql("totals", TOTALS, inputs=INPUTS, outputs=["out.c-pd.TOTALS"],
                                       dialect="snowflake")
    taken = f"KEBOOLA_NB_{project.jobs.recent(1)[0].id + 1}"  # the next job's scratch schema
    snow.execute(f"CREATE SCHEMA SHOP.{taken}", f"CREATE TABLE SHOP.{taken}.KEEP (X NUMBER)")
    try:
        job = project.run("totals")
        assert job.status == "error" and f"cannot create the scratch schema {taken}" in job.error, job.error
        assert "already exists" in job.error and job.rows == {}
        assert scratch_schemas(snow) == [taken]  # another run's schema is left alone
        assert snow.execute(f"SELECT COUNT(*) FROM SHOP.{taken}.KEEP") == [[(0,)]]
    finally:
        snow.execute(f"DROP SCHEMA SHOP.{taken} CASCADE")


TIERED = "CREATE TABLE MIXED AS SELECT o.ID, x.TIER AS V FROM ORDERS o JOIN TIERS x ON x.ID = o.CUSTOMER_ID;"
NOTED = "CREATE TABLE MIXED AS SELECT o.ID, x.NOTE AS V FROM ORDERS o JOIN NOTES x ON x.ID = o.ID;"


@pytest.mark.parametrize(("inputs", "code", "why"), [
    (["in.c-wh.ORDERS", "in.c-local.TIERS"], TIERED, "in.c-local.TIERS was not extracted from Snowflake"),
    (["in.c-wh.ORDERS", "in.c-wh.NOTES"], NOTED, "in.c-wh.NOTES was extracted by a query, not a whole table"),
    ([{"source": "in.c-wh.ORDERS", "changed_since": "-7 days"}, "in.c-wh.NOTES"], NOTED,
     "in.c-wh.ORDERS is read with changed_since '-7 days'"),
])
def test_inputs_snowflake_cannot_hold_run_locally_and_the_job_says_why(project, snow, wh, inputs, code, why):
    with project.storage.transaction() as loader:
        loader.load("in.c-local.TIERS", Scan(sql="SELECT * FROM (VALUES (1, 'gold'), (2, 'basic')) t(ID, TIER)"))
    snow.execute(f"UPDATE SHOP.{wh}.ORDERS SET ID = 30 WHERE ID = 3")  # a pushed-down run would miss order 3
    project.transformations.create_sql("mixed", code, inputs=inputs, outputs=["out.c-pd.MIXED"], dialect="snowflake")
    job = project.run("mixed")
    assert job.status == "success", job.error
    assert f"ran locally: {why}" in log(job) and "pushed down" not in log(job)
    assert [r[0] for r in table(project, "out.c-pd.MIXED", "id")] == [1, 2, 3]  # storage's copy
    assert scratch_schemas(snow) == []


def test_inputs_from_two_snowflake_connections_run_locally(project, snow, wh):
    project.connections.add("snow2", snow.url("etl", "SHOP", wh), password=kb.secret("SF_PASSWORD"))  # no warehouse
    project.extractors.create("wh2", "snow2", ["customers"])
    assert project.run("wh2").status == "success"
    code = TOTALS.replace("CUSTOMERS c", "CUSTOMERS2 c")
    project.transformations.create_sql("two", code, dialect="snowflake", outputs=["out.c-pd.TOTALS"],
                                       inputs=["in.c-wh.ORDERS", "in.c-wh2.CUSTOMERS AS CUSTOMERS2"])
    job = project.run("two")
    assert job.status == "success", job.error
    assert "ran locally: its inputs come from different Snowflake connections ('wh' and 'wh2'" in log(job)


# BigQuery --------------------------------------------------------------------------------------------------

BQ_TOTALS = """CREATE TABLE totals AS
SELECT c.name, SUM(o.amount) AS total, COUNT(*) AS n
FROM orders o JOIN customers c ON c.id = o.customer_id
GROUP BY c.name;
"""


@pytest.fixture
def gbq_pd(project, bq_env, emulator):  # type: ignore[no-untyped-def]
    """A fresh dataset with two tables, extracted by the extractor `gwh`; yields (dataset, storage bucket)."""
    dataset = f"pd{time.time_ns()}"
    client = emulator.client()
    client.create_dataset(dataset)
    client.query(f"CREATE TABLE {dataset}.orders (id INT64, customer_id INT64, amount NUMERIC, note STRING)").result()
    client.query(f"INSERT INTO {dataset}.orders VALUES (1, 1, 10.5, 'a'), (2, 1, 4.25, 'b'), (3, 2, 7, 'c')").result()
    client.query(f"CREATE TABLE {dataset}.customers (id INT64, name STRING)").result()
    client.query(f"INSERT INTO {dataset}.customers VALUES (1, 'Ann'), (2, 'Bob')").result()
    project.connections.add("gbq", f"bigquery://test-proj/{dataset}?unload=gs://kbc-unload", key_env="GBQ_KEY")
    config = project.extractors.create_from_yaml(
        "gwh", f"connection: gbq\ntables:\n  - {dataset}.orders\n  - {dataset}.customers\n")
    job = project.run("gwh")
    assert job.status == "success", job.error
    return dataset, f"in.c-keboola-ex-google-bigquery-v2-{config.id}"


def scratch_datasets(emulator) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.dataset_id for d in emulator.client().list_datasets() if d.dataset_id.startswith("keboola_nb_")]


def test_a_bigquery_transformation_on_bigquery_inputs_runs_in_bigquery(project, emulator, gbq_pd):
    dataset, bucket = gbq_pd
    inputs = [f"{bucket}.orders", f"{bucket}.customers"]
    project.transformations.create_sql("bq_totals", BQ_TOTALS, inputs=inputs, outputs=["out.c-pd.totals"],
                                       dialect="bigquery")
    project.transformations.create_sql("bq_local", BQ_TOTALS, inputs=inputs, outputs=["totals AS out.c-pd.local"],
                                       dialect="duckdb")
    emulator.client().query(f"UPDATE {dataset}.orders SET amount = 100 WHERE id = 3").result()  # not extracted
    job, local = project.run("bq_totals"), project.run("bq_local")
    assert job.status == local.status == "success", (job.error, local.error)
    # masked like every log line, should another test have made moto's "test" a known secret value
    assert redact(f"pushed down to BigQuery test-proj (US): inputs are test-proj.{dataset}.orders, "
                  f"test-proj.{dataset}.customers") in log(job)
    assert table(project, "out.c-pd.totals", "name") == [("Ann", Decimal("14.75"), 2), ("Bob", Decimal("100"), 1)]
    assert table(project, "out.c-pd.local", "name")[1] == ("Bob", Decimal("7"), 1)  # storage's copy
    assert scratch_datasets(emulator) == []
    assert CANARY not in log(job)


def test_a_failing_bigquery_statement_names_its_line_and_leaves_storage_as_it_was(project, emulator, gbq_pd):
    _, bucket = gbq_pd
    inputs = [f"{bucket}.orders", f"{bucket}.customers"]
    project.transformations.create_sql("bq_totals", BQ_TOTALS, inputs=inputs, outputs=["out.c-pd.totals"],
                                       dialect="bigquery")
    assert project.run("bq_totals").status == "success"
    before = table(project, "out.c-pd.totals", "name")
    broken = BQ_TOTALS + "CREATE TABLE ratio AS\nSELECT id / (customer_id - customer_id) AS r FROM orders;\n"
    project.transformations.create_sql("bq_totals", broken, inputs=inputs, outputs=["out.c-pd.totals"],
                                       dialect="bigquery", replace=True)
    job = project.run("bq_totals")
    assert job.status == "error"
    assert "the statement at line 5 failed in BigQuery" in job.error and "division by zero" in job.error, job.error
    assert table(project, "out.c-pd.totals", "name") == before and job.rows == {}
    assert scratch_datasets(emulator) == []
