"""The PostgreSQL connector against a real server: test, browse, describe, preview."""

from __future__ import annotations

from decimal import Decimal

import pytest
from servers import free_port, silent_port

import keboola_nb as kb
from keboola_nb.connectors import postgres
from keboola_nb.connectors.postgres import parse_table_name


def test_connection_test_ok(shop):
    diagnosis = shop.test()
    assert diagnosis.ok, diagnosis
    assert diagnosis.details["server"].startswith("PostgreSQL ")
    assert diagnosis.details["readable tables"] >= 7


def test_wrong_password_is_diagnosed(project, pg, monkeypatch):
    monkeypatch.setenv("WRONG_PW", "not-the-password")
    conn = project.connections.add("bad", pg.url("shop", "etl"), password=kb.secret("WRONG_PW"))
    d = conn.test()
    assert not d.ok and d.problem == "auth"
    assert "wrong password" in d.message and "WRONG_PW" in d.fix


def test_unknown_user_missing_db_refused_port(project, pg):
    nobody = project.connections.add("nobody", pg.url("shop", "nobody"), password="whatever-pw")
    assert nobody.test().problem == "auth"
    missing = project.connections.add("missing", pg.url("nope_db", "postgres"), password=pg.password)
    d = missing.test()
    assert d.problem == "missing_database" and "'nope_db'" in d.message
    closed_port = free_port()
    refused = project.connections.add("refused", f"postgresql://etl@127.0.0.1:{closed_port}/shop")
    d = refused.test()
    assert d.problem == "network" and str(closed_port) in d.message and "nothing is listening" in d.message


def test_unknown_host_is_diagnosed(project):
    conn = project.connections.add("nohost", "postgresql://etl@no-such-host.invalid:5432/shop")
    d = conn.test()
    assert d.problem == "network" and "no-such-host.invalid" in d.message and "unknown" in d.message


def test_silent_server_times_out(project, monkeypatch):
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT_S", 2)
    with silent_port() as port:
        conn = project.connections.add("silent", f"postgresql://etl@127.0.0.1:{port}/shop")
        d = conn.test()
        assert d.problem == "timeout", d


def test_missing_env_secret_is_diagnosed(project, pg, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    conn = project.connections.add("unset", pg.url("shop", "etl"), password=kb.secret("NOT_SET_ANYWHERE"))
    d = conn.test()
    assert d.problem == "secret" and "NOT_SET_ANYWHERE" in d.message


def test_tables_use_catalog_statistics(shop):
    tables = shop.tables()
    row = tables[(tables["schema"] == "public") & (tables["table"] == "big")].iloc[0]
    assert row["rows_estimate"] == 1_000_000  # ANALYZE ran; reltuples, not count(*)
    assert row["primary_key"] == ["id"] and row["columns"] == 4
    items = tables[tables["table"] == "Order Items"].iloc[0]
    assert items["schema"] == "Sales Data" and items["primary_key"] == ["OrderId", "Line No"]
    assert tables[tables["table"] == "no_pk"].iloc[0]["primary_key"] == []
    assert "slow_big" in set(tables["table"]) and tables[tables["table"] == "slow_big"].iloc[0]["type"] == "view"
    assert tables[tables["table"] == "stale_stats"].iloc[0]["rows_estimate"] == 100  # it holds 150
    only_sales = shop.tables(schema="Sales Data")
    assert list(only_sales["table"]) == ["Order Items"]


def test_a_key_is_suggested_from_unique_not_null_columns(shop, project):
    by = shop.tables(schema="public").set_index("table")
    assert by.loc["keyed_by_code", "primary_key"] == [] and by.loc["keyed_by_code", "suggested_key"] == ["code"]
    assert by.loc["no_pk", "suggested_key"] == []  # no unique index at all
    assert by.loc["customers", "suggested_key"] == []  # it has a primary key; email may be NULL anyway
    assert shop.connector().key_suggestion(("public", "keyed_by_code")) == ["code"]
    with pytest.warns(kb.KeboolaNotice, match=r"keyed_by_code has no primary key; suggested key: code"):
        config = project.extractors.create("codes", connection="shop", tables=["public.keyed_by_code"])
    assert config.rows[0].configuration["parameters"]["primaryKey"] == []  # a suggestion, not applied


def test_describe_has_keys_defaults_and_references(shop):
    frame = shop.describe("public.orders")
    assert list(frame["column"]) == ["id", "customer_id", "amount", "status", "updated_at"]
    by = frame.set_index("column")
    assert by.loc["id", "primary_key"] and not by.loc["id", "nullable"]
    assert by.loc["amount", "type"] == "numeric(12,2)"
    assert by.loc["customer_id", "references"] == "public.customers(id)"
    assert by.loc["status", "nullable"]


def test_describe_quoted_names(shop):
    frame = shop.describe('"Sales Data"."Order Items"')
    assert list(frame["column"]) == ["Line No", "OrderId", "název položky", "Unit Price"]
    assert list(frame.loc[frame["primary_key"], "column"]) == ["Line No", "OrderId"]


def test_unknown_table_suggests_close_names(shop):
    with pytest.raises(kb.KeboolaError) as e:
        shop.preview("public.ordrs")
    assert "public.ordrs" in str(e.value) and "public.orders" in str(e.value)


def test_preview_is_limited_on_the_server_and_keeps_types(shop, pg):
    frame = shop.preview("public.orders", limit=7)
    assert len(frame) == 7
    assert isinstance(frame["amount"].iloc[0], Decimal)
    with pg.connect("shop") as conn:
        before = conn.execute("SELECT nextval('rows_read')").fetchone()[0]
    assert len(shop.preview("public.counted", limit=5)) == 5
    with pg.connect("shop") as conn:
        # a pushed-down LIMIT reads a handful of the 100,000 rows, not all of them
        fetched = conn.execute("SELECT nextval('rows_read')").fetchone()[0] - before - 1
    assert 5 <= fetched < 10_000


def test_preview_of_empty_table_and_nulls(shop):
    assert len(shop.preview("empty_table")) == 0
    all_types = shop.preview("all_types")
    assert all_types.iloc[1].drop("id").isna().all()


def test_parse_table_name():
    assert parse_table_name("orders") == ("public", "orders")
    assert parse_table_name('"Sales Data"."Order Items"') == ("Sales Data", "Order Items")
    assert parse_table_name('s."a.b"') == ("s", "a.b")
    assert parse_table_name('"we""ird".t') == ('we"ird', "t")
    with pytest.raises(kb.KeboolaError):
        parse_table_name('"unclosed.t')
    with pytest.raises(kb.KeboolaError):
        parse_table_name("a.b.c")
