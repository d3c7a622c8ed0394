"""Snowflake as a source and a target, against fakesnow's HTTP server reached by the real connector
(real Snowflake cannot be reached from the tests; see fakesnow_server.py for what is added in front)."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from snowflake_fixtures import ROWS, SF_PASSWORD, WAREHOUSE

import keboola_nb as kb
from keboola_nb.errors import KeboolaError

@pytest.fixture
def dwh(project, snow, sf):  # type: ignore[no-untyped-def]
    """A fresh schema of DWH for each test, and the connection `dwh` to it."""
    schema = f"T{time.time_ns()}"
    snow.execute(f"CREATE SCHEMA DWH.{schema}")
    conn = project.connections.add("dwh", snow.url("etl", "DWH", schema), password=kb.secret("SF_PASSWORD"))
    conn.schema_name = schema
    return conn


def canaries(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and SF_PASSWORD.encode() in p.read_bytes()]


def extract(project, name: str, tables: list) -> None:  # type: ignore[no-untyped-def]
    project.extractors.create(name, "sf", tables, replace=name in {c.name for c in project.configs.list()})
    job = project.run(name)
    assert job.status == "success", job.error


# connections ---------------------------------------------------------------------------------------

def test_url_becomes_a_keboola_snowflake_db_node(project, monkeypatch):
    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    conn = project.connections.add("prod", "snowflake://etl@xy12345.eu-central-1/SHOP/SALES?warehouse=WH&role=LOADER",
                                   password=kb.secret("SF_PASSWORD"))
    assert conn.db == {"host": "xy12345.eu-central-1.snowflakecomputing.com", "port": 443, "database": "SHOP",
                       "schema": "SALES", "warehouse": "WH", "roleName": "LOADER", "user": "etl",
                       "#password": "{{ vault.SF_PASSWORD }}"}
    assert conn.connector().params()["account"] == "xy12345.eu-central-1"
    with pytest.warns(UserWarning, match="moved to a local secret file"):
        typed = project.connections.add("typed", f"snowflake://etl:{SF_PASSWORD}@acct/DB/PUBLIC")
    assert typed.db["#password"].startswith("{{ vault.") and canaries(project.root) == []
    with pytest.raises(KeboolaError, match="snowflake://user@account/DATABASE/SCHEMA"):
        project.connections.add("bad", "snowflake://etl@acct/ONLY_DB")
    with pytest.raises(KeboolaError, match="account, protocol are not supported"):  # no Keboola db keys
        project.connections.add("bad", "snowflake://etl@127.0.0.1:8080/DB/S?account=x&protocol=http")
    with pytest.raises(KeboolaError, match="not supported"):
        project.connections.add("bad", "snowflake://etl@acct/DB/S?wharehouse=WH")


def test_diagnosis_names_what_is_wrong(project, snow, sf, monkeypatch):
    assert sf.test().ok
    monkeypatch.setenv("WRONG", "not-the-password")

    def diagnose(url: str, secret: str = "SF_PASSWORD"):  # type: ignore[no-untyped-def]
        return project.connections.add("x", url, password=kb.secret(secret), replace=True).test()

    wrong = diagnose(snow.url("etl", "SHOP", "SALES"), "WRONG")
    assert (wrong.ok, wrong.problem) == (False, "auth") and "environment variable WRONG" in wrong.fix
    assert diagnose(snow.url("nobody", "SHOP", "SALES")).problem == "auth"
    no_db = diagnose(snow.url("etl", "NOPE", "SALES"))
    assert no_db.problem == "missing_database" and "database 'NOPE'" in no_db.message
    no_schema = diagnose(snow.url("etl", "SHOP", "NOPE"))
    assert no_schema.problem == "missing_database" and "schema 'NOPE'" in no_schema.message
    no_wh = diagnose(snow.url("etl", "SHOP", "SALES", warehouse="NO_WH"))
    assert no_wh.problem == "missing_warehouse" and "NO_WH" in no_wh.message
    assert diagnose(snow.url("etl", "SHOP", "SALES"), "UNSET_SF_SECRET").problem == "secret"
    from servers import free_port

    down = diagnose(f"snowflake://etl@127.0.0.1:{free_port()}/SHOP/SALES")
    assert down.problem == "network"
    for d in (wrong, no_db, no_wh, down):
        assert SF_PASSWORD not in repr(d) and "not-the-password" not in repr(d)


def test_key_pair_login_keeps_only_a_reference(project, snow, monkeypatch):
    monkeypatch.setenv("SF_KEY", snow.private_pem)
    conn = project.connections.add("keyed", snow.url("keyuser", "SHOP", "SALES"), private_key=kb.secret("SF_KEY"))
    assert conn.db["#privateKey"] == "{{ vault.SF_KEY }}" and "#password" not in conn.db
    assert conn.secret() == "vault SF_KEY: environment variable SF_KEY"
    assert conn.test().ok
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    monkeypatch.setenv("SF_KEY", other)
    assert conn.test().problem == "auth"
    monkeypatch.setenv("SF_KEY", "not a key")
    with pytest.raises(KeboolaError, match="not an unencrypted PEM private key"):
        conn.connector().params()
    assert "PRIVATE KEY" not in (project.root / ".keboola" / "connections.json").read_text()


# browsing --------------------------------------------------------------------------------------------

def test_tables_describe_preview(sf):
    tables = sf.tables()
    by_name = {r["table"]: r for _, r in tables.iterrows()}
    assert set(by_name) == {"ORDERS", "Order Items", "CUSTOMERS"}
    assert by_name["ORDERS"]["rows_estimate"] == ROWS and by_name["ORDERS"]["primary_key"] == ["ID"]
    assert by_name["Order Items"]["primary_key"] == ["OrderId", "Line No"]  # key order, not column order
    assert by_name["ORDERS"]["columns"] == 7
    described = sf.describe("sales.orders")  # unquoted names resolve as Snowflake does: upper case
    assert dict(zip(described["column"], described["type"]))["AMOUNT"] == "NUMBER(12,2)"
    assert list(described["primary_key"]) == [True] + [False] * 6
    preview = sf.preview("orders", limit=5)
    assert len(preview) == 5 and list(preview.columns)[:2] == ["ID", "AMOUNT"]
    assert len(sf.preview('SALES."Order Items"', limit=10)) == 3
    with pytest.raises(KeboolaError, match="did you mean SALES.ORDERS"):
        sf.preview("ORDERZ")


# extraction ------------------------------------------------------------------------------------------

def test_full_extract_keeps_exact_types(project, sf):
    extract(project, "sfx", ["orders", 'SALES."Order Items"'])
    with project.storage.connect() as con:
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE schema_name = 'in.c-sfx' AND table_name = 'ORDERS'").fetchall())
        first, nulls = con.execute('SELECT * EXCLUDE (_timestamp) FROM "in.c-sfx"."ORDERS" '
                                   "WHERE ID IN (1, 2) ORDER BY ID").fetchall()
        items = con.execute('SELECT count(*) FROM "in.c-sfx"."Order_Items"').fetchone()[0]
    assert {k: types[k] for k in ("ID", "AMOUNT", "NOTE", "PAID", "DAY", "UPDATED_AT", "ATTRS")} == {
        "ID": "BIGINT", "AMOUNT": "DECIMAL(12,2)", "NOTE": "VARCHAR", "PAID": "BOOLEAN", "DAY": "DATE",
        "UPDATED_AT": "TIMESTAMP", "ATTRS": "JSON"}
    assert first == (1, Decimal("1234567890.99"), 'čaj 😀 "q"', True, date(2024, 1, 1), datetime(2024, 1, 1),
                     '{"k":[1,2]}')
    # (fakesnow returns a NULL TIMESTAMP_NTZ as 1970-01-01, an emulator bug, so no NULL timestamp is seeded)
    assert nulls[:5] == (2, None, None, None, None) and nulls[6] is None
    assert items == 3
    assert project.storage.metadata("in.c-sfx.ORDERS")["primary_key"] == ["ID"]


def test_incremental_fetching_pushes_the_watermark_down(project, snow, sf):
    config = project.extractors.create("inc", "sf", [{"table": "orders", "incremental_fetching_column": "UPDATED_AT"}])
    assert config.rows[0].configuration["parameters"]["incremental"] is True
    first = project.run("inc")
    assert first.status == "success" and first.rows == {"in.c-inc.ORDERS": ROWS}
    mark = project.state.row(config.id, config.rows[0].id)["lastFetchedRow"]
    assert mark.startswith("2024-02-11 15:00:00")  # the newest UPDATED_AT: 999 hours after the first
    snow.execute("INSERT INTO SHOP.SALES.ORDERS (ID, AMOUNT, UPDATED_AT) VALUES (5001, 1.5, '2030-01-01 00:00:00')")
    try:
        second = project.run("inc")
        assert second.rows == {"in.c-inc.ORDERS": 2}  # the row at the watermark and the new one, no more
    finally:
        snow.execute("DELETE FROM SHOP.SALES.ORDERS WHERE ID = 5001")
    with project.storage.connect() as con:
        assert con.execute('SELECT count(*) FROM "in.c-inc"."ORDERS"').fetchone()[0] == ROWS + 1
    with pytest.raises(KeboolaError, match="needs a number or a timestamp"):
        project.extractors.create("bad", "sf", [{"table": "orders", "incremental_fetching_column": "NOTE"}])


def test_extractor_config_is_keboola_json(project, sf):
    config = project.extractors.create("cfg", "sf", ["orders"])
    folder = project.root / "main" / "extractor" / "keboola.ex-db-snowflake" / "cfg"
    root = json.loads((folder / "config.json").read_text())
    assert root["parameters"]["db"]["warehouse"] == WAREHOUSE and root["parameters"]["db"]["schema"] == "SALES"
    assert root["parameters"]["db"]["#password"] == "{{ vault.SF_PASSWORD }}"
    row = config.rows[0].configuration["parameters"]
    assert row["table"] == {"schema": "SALES", "tableName": "ORDERS"} and row["primaryKey"] == ["ID"]
    assert canaries(project.root) == []


# writing ---------------------------------------------------------------------------------------------

def target_rows(snow, dwh, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return snow.execute(sql.replace("{s}", f"DWH.{dwh.schema_name}"))[0]


def test_full_write_creates_the_table_with_mapped_types(project, snow, sf, dwh):
    extract(project, "sfx", ["orders"])
    config = project.writers.create("out", "dwh", ["in.c-sfx.ORDERS"])
    db = config.configuration["parameters"]["db"]
    assert db["driver"] == "snowflake" and db["schema"] == dwh.schema_name and db["database"] == "DWH"
    items = {i["name"]: (i["type"], i["size"]) for i in config.rows[0].configuration["parameters"]["items"]}
    assert items["AMOUNT"] == ("NUMBER", "12,2") and items["ATTRS"] == ("VARIANT", "")
    assert items["UPDATED_AT"] == ("TIMESTAMP_NTZ", "")
    job = project.run("out")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-sfx.ORDERS": ROWS}
    assert target_rows(snow, dwh, "SELECT COUNT(*) FROM {s}.ORDERS") == [(ROWS,)]
    assert target_rows(snow, dwh, "SELECT ID, AMOUNT FROM {s}.ORDERS WHERE ID IN (2, 3, 1000) ORDER BY ID") == [
        (2, None), (3, Decimal("3.75")), (1000, Decimal("1250.00"))]
    first = target_rows(snow, dwh, "SELECT ID, AMOUNT, NOTE, PAID, DAY, UPDATED_AT, ATTRS FROM {s}.ORDERS WHERE ID = 1")
    assert first[0][:6] == (1, Decimal("1234567890.99"), 'čaj 😀 "q"', True, date(2024, 1, 1), datetime(2024, 1, 1))
    assert json.loads(first[0][6]) == {"k": [1, 2]}
    again = project.run("out")  # a full load replaces: no duplicates
    assert again.status == "success"
    assert target_rows(snow, dwh, "SELECT COUNT(*) FROM {s}.ORDERS") == [(ROWS,)]
    tables = {r[1] for r in target_rows(snow, dwh, "SHOW TABLES IN SCHEMA {s}")}
    assert tables == {"ORDERS"}  # no staging table left behind
    assert canaries(project.root) == []


def test_incremental_adaptive_write_and_exactly_once_retry(project, snow, sf, dwh):
    extract(project, "sfx", ["orders", "customers"])
    config = project.writers.create("inc", "dwh", [
        {"table": "in.c-sfx.CUSTOMERS", "incremental": True, "primary_key": [], "changed_since": "adaptive"},
        {"table": "in.c-sfx.ORDERS", "incremental": True, "changed_since": "adaptive"}])
    broken = config.to_json()
    items = broken["rows"][1]["configuration"]["parameters"]["items"]
    next(i for i in items if i["name"] == "NOTE")["type"] = "NUMBER"  # 'note 3' does not fit
    project.writers.save(project.writers.from_json(json.dumps(broken)), replace=True)
    failed = project.run("inc")
    assert failed.status == "error" and failed.rows == {}
    assert "left as they were" in failed.error and SF_PASSWORD not in failed.error
    # CUSTOMERS was staged first: it was not written either, and no state was kept.
    assert {r[1] for r in target_rows(snow, dwh, "SHOW TABLES IN SCHEMA {s}")} == set()
    assert project.state.get(config.id) == {}
    project.writers.save(project.writers.build("inc", "dwh", [
        {"table": "in.c-sfx.CUSTOMERS", "incremental": True, "primary_key": [], "changed_since": "adaptive"},
        {"table": "in.c-sfx.ORDERS", "incremental": True, "changed_since": "adaptive"}]), replace=True)
    retry = project.run("inc")
    assert retry.status == "success", retry.error
    assert target_rows(snow, dwh, "SELECT COUNT(*), COUNT(DISTINCT ID) FROM {s}.CUSTOMERS") == [(2, 2)]
    assert project.run("inc").rows == {"in.c-sfx.CUSTOMERS": 0, "in.c-sfx.ORDERS": 0}  # nothing new
    snow.execute("UPDATE SHOP.SALES.ORDERS SET AMOUNT = 7.77 WHERE ID = 3")
    try:
        extract(project, "sfx", ["orders"])  # a full extract: every row imported again
    finally:
        snow.execute("UPDATE SHOP.SALES.ORDERS SET AMOUNT = 3.75 WHERE ID = 3")
    third = project.run("inc")
    assert third.rows == {"in.c-sfx.CUSTOMERS": 0, "in.c-sfx.ORDERS": ROWS}
    assert target_rows(snow, dwh, "SELECT COUNT(*), MAX(CASE WHEN ID = 3 THEN AMOUNT END) FROM {s}.ORDERS") == [
        (ROWS, Decimal("7.77"))]  # upserted by ID: changed in place, not appended
    assert target_rows(snow, dwh, "SELECT COUNT(*) FROM {s}.CUSTOMERS") == [(2,)]


def test_failed_full_write_leaves_the_existing_target_as_it_was(project, snow, sf, dwh):
    extract(project, "sfx", ["customers"])
    project.writers.create("full", "dwh", ["in.c-sfx.CUSTOMERS"])
    assert project.run("full").status == "success"
    snow.execute(f"INSERT INTO DWH.{dwh.schema_name}.CUSTOMERS VALUES (99, 'kept')")
    with project.storage.connect() as con:  # a duplicate key in storage: refused before the target changes
        con.execute("""INSERT INTO "in.c-sfx"."CUSTOMERS" (ID, NAME) VALUES (1, 'again')""")
    job = project.run("full")
    assert job.status == "error" and "primary key is not unique" in job.error
    assert target_rows(snow, dwh, "SELECT ID, NAME FROM {s}.CUSTOMERS ORDER BY ID") == [
        (1, "Ann"), (2, "Bob"), (99, "kept")]
    assert {r[1] for r in target_rows(snow, dwh, "SHOW TABLES IN SCHEMA {s}")} == {"CUSTOMERS"}


def test_missing_schema_is_one_clear_error(project, snow, sf):
    project.connections.add("gone", snow.url("etl", "DWH", "NOSUCH"), password=kb.secret("SF_PASSWORD"))
    extract(project, "sfx", ["customers"])
    project.writers.create("w", "gone", ["in.c-sfx.CUSTOMERS"])
    job = project.run("w")
    assert job.status == "error" and "schema 'NOSUCH' does not exist in database 'DWH'" in job.error


# the magics --------------------------------------------------------------------------------------------

def test_magics_connect_extract_write_run(project, snow, monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    import keboola_nb.magics as magics

    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    snow.execute("CREATE SCHEMA DWH.MAGIC")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    try:
        url = snow.url("etl", "SHOP", "SALES", warehouse=WAREHOUSE)
        assert shell.run_line_magic("keboola", f"connect wh {url} --password-env SF_PASSWORD").ok
        assert shell.run_line_magic("keboola", f"connect out {snow.url('etl', 'DWH', 'MAGIC')} "
                                               "--password-env SF_PASSWORD").ok
        assert len(shell.run_line_magic("keboola", "preview wh orders --limit 3")) == 3
        summary = shell.run_cell_magic("keboola", "extractor wh-orders",
                                       "connection: wh\ntables:\n  - table: orders\n")
        assert list(summary["output_table"]) == ["in.c-wh-orders.ORDERS"]
        job = shell.run_line_magic("keboola", "run wh-orders")
        assert job.status == "success" and job.rows == {"in.c-wh-orders.ORDERS": ROWS}
        shell.run_cell_magic("keboola", "writer to-out", "connection: out\ntables:\n  - table: in.c-wh-orders.ORDERS\n")
        written = shell.run_line_magic("keboola", "run to-out")
        assert written.status == "success", written.error
    finally:
        monkeypatch.setattr(magics, "_project", None)
    assert snow.execute("SELECT COUNT(*) FROM DWH.MAGIC.ORDERS") == [[(ROWS,)]]
    assert SF_PASSWORD not in capsys.readouterr().out and canaries(project.root) == []


def test_a_table_without_keys_extracts_and_gets_no_invented_key(project, snow, sf):
    snow.execute("CREATE SCHEMA IF NOT EXISTS SHOP.LOGS",
                 "CREATE OR REPLACE TABLE SHOP.LOGS.EVENTS (CODE VARCHAR NOT NULL, NOTE VARCHAR)",
                 "INSERT INTO SHOP.LOGS.EVENTS VALUES ('a', 'x'), ('b', NULL)")
    assert sf.connector().primary_key(("LOGS", "EVENTS")) == [] and sf.connector().key_suggestion(("LOGS", "EVENTS")) == []
    assert sf.tables("LOGS").set_index("table").loc["EVENTS", "suggested_key"] == []
    config = project.extractors.create("events", "sf", ["LOGS.EVENTS"])
    assert config.rows[0].configuration["parameters"]["primaryKey"] == []
    job = project.run("events")
    assert job.status == "success" and job.rows == {"in.c-events.EVENTS": 2}, job.error


def test_the_suggested_key_is_the_narrowest_declared_unique_key_over_not_null_columns(monkeypatch):
    """fakesnow reports no UNIQUE keys, so the catalog answers are given here; the choice is the code's."""
    from keboola_nb.connectors.snowflake import SnowflakeConnector

    conn = SnowflakeConnector("wh", {"database": "SHOP", "schema": "SALES"})
    declared = {("ORDERS", "U1"): ["REGION", "DAY"], ("ORDERS", "U2"): ["EMAIL"], ("ORDERS", "U3"): ["CODE"],
                ("NOTES", "U4"): ["EMAIL"]}
    monkeypatch.setattr(conn, "_declared_keys", lambda what, schema, table=None: declared if what == "UNIQUE" else {})
    monkeypatch.setattr(conn, "_query", lambda sql, args: [("ORDERS", "REGION"), ("ORDERS", "DAY"), ("ORDERS", "CODE")])
    assert conn._suggested_keys("SALES") == {"ORDERS": ["CODE"]}  # EMAIL may be NULL; NOTES has no NOT NULL key
