"""The MySQL connector against a real MariaDB: connect, test, browse, describe, preview."""

from __future__ import annotations

from decimal import Decimal

import pytest
from servers import free_port, silent_port

import keboola_nb as kb
from keboola_nb.connectors import parse_connection_url as parse_url
from keboola_nb.connectors import mysql


def rows_read(server) -> int:  # type: ignore[no-untyped-def]
    """Rows read so far, server-wide: shows how much a statement really scanned."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Rows_read'")
        return int(cur.fetchone()[1])


def test_mysql_and_mariadb_urls():
    kind, db, password = parse_url("mysql://etl@db.example.com/shop")
    assert kind == "mysql" and password is None
    assert db == {"host": "db.example.com", "port": 3306, "database": "shop", "user": "etl"}
    kind, db, password = parse_url("mariadb://etl:s%40cret@127.0.0.1:3307/shop")
    assert kind == "mysql" and db["port"] == 3307 and password == "s@cret"
    with pytest.raises(kb.KeboolaError, match="names no database"):
        parse_url("mysql://etl@127.0.0.1:3306")


def test_connection_test_ok(myshop):
    assert myshop.kind == "mysql"
    diagnosis = myshop.test()
    assert diagnosis.ok, diagnosis
    assert diagnosis.details["server"].startswith("MariaDB 10.")
    assert diagnosis.details["readable tables"] >= 7


def test_wrong_password_is_diagnosed(project, mariadb, monkeypatch):
    monkeypatch.setenv("WRONG_PW", "not-the-password")
    conn = project.connections.add("bad", mariadb.url("shop", "etl"), password=kb.secret("WRONG_PW"))
    d = conn.test()
    assert not d.ok and d.problem == "auth"
    assert "wrong password" in d.message and "WRONG_PW" in d.fix


def test_no_password_unknown_database_refused_port(project, mariadb):
    nopw = project.connections.add("nopw", mariadb.url("shop", "etl"))
    d = nopw.test()
    assert d.problem == "auth" and "none is set" in d.message
    missing = project.connections.add("missing", mariadb.url("nope_db", "root"))
    d = missing.test()
    assert d.problem == "missing_database" and "'nope_db'" in d.message
    closed_port = free_port()
    refused = project.connections.add("refused", f"mysql://etl@127.0.0.1:{closed_port}/shop")
    d = refused.test()
    assert d.problem == "network" and str(closed_port) in d.message and "nothing is listening" in d.message


def test_unknown_host_is_diagnosed(project):
    conn = project.connections.add("nohost", "mysql://etl@no-such-host.invalid:3306/shop")
    d = conn.test()
    assert d.problem == "network" and "no-such-host.invalid" in d.message and "unknown" in d.message


def test_silent_server_times_out(project, monkeypatch):
    monkeypatch.setattr(mysql, "CONNECT_TIMEOUT_S", 1)
    with silent_port() as port:
        conn = project.connections.add("silent", f"mysql://etl@127.0.0.1:{port}/shop")
        d = conn.test()
        assert d.problem == "timeout", d


def test_missing_env_secret_is_diagnosed(project, mariadb, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    conn = project.connections.add("unset", mariadb.url("shop", "etl"), password=kb.secret("NOT_SET_ANYWHERE"))
    d = conn.test()
    assert d.problem == "secret" and "NOT_SET_ANYWHERE" in d.message


def test_tables_use_catalog_estimates(myshop, mariadb):
    before = rows_read(mariadb)
    tables = myshop.tables()
    # Counting the big table would read its 200,000 rows; the catalog's estimate reads none.
    assert rows_read(mariadb) - before < 20_000
    assert set(tables["schema"]) == {"shop"}  # MySQL: the database is the schema
    by = tables.set_index("table")
    assert 100_000 < by.loc["big", "rows_estimate"] < 400_000
    assert by.loc["big", "primary_key"] == ["id"] and by.loc["big", "columns"] == 4
    assert by.loc["Order Items", "primary_key"] == ["OrderId", "Line No"]  # key order, not column order
    assert by.loc["no_pk", "primary_key"] == [] and by.loc["no_pk", "suggested_key"] == []
    assert by.loc["keyed_by_code", "primary_key"] == [] and by.loc["keyed_by_code", "suggested_key"] == ["code"]
    assert by.loc["customers", "suggested_key"] == []
    assert myshop.connector().key_suggestion(("shop", "keyed_by_code")) == ["code"]
    assert by.loc["slow_big", "type"] == "view" and pd_isna(by.loc["slow_big", "rows_estimate"])
    assert list(myshop.tables(schema="mysql")["table"]) == []  # etl may not see the system schema


def pd_isna(value) -> bool:  # type: ignore[no-untyped-def]
    import pandas as pd

    return bool(pd.isna(value))


def test_describe_has_keys_defaults_and_references(myshop):
    frame = myshop.describe("shop.orders")
    assert list(frame["column"]) == ["id", "customer_id", "amount", "status", "updated_at"]
    by = frame.set_index("column")
    assert by.loc["id", "primary_key"] and not by.loc["id", "nullable"]
    assert by.loc["amount", "type"] == "decimal(12,2)"
    assert by.loc["customer_id", "references"] == "shop.customers(id)"
    assert by.loc["status", "nullable"] and by.loc["status", "default"] is None


def test_describe_quoted_names_and_primary_key_order(myshop):
    frame = myshop.describe("`Order Items`")
    assert list(frame["column"]) == ["Line No", "OrderId", "název položky", "Unit Price"]
    assert myshop.connector().primary_key(("shop", "Order Items")) == ["OrderId", "Line No"]
    assert myshop.connector().resolve_table('shop."Order Items"') == ("shop", "Order Items")


def test_unknown_table_suggests_close_names(myshop):
    with pytest.raises(kb.KeboolaError) as e:
        myshop.preview("ordrs")
    assert "shop.ordrs" in str(e.value) and "shop.orders" in str(e.value)


def test_preview_is_limited_on_the_server_and_keeps_types(myshop, mariadb):
    before = rows_read(mariadb)
    frame = myshop.preview("big", limit=7)
    assert rows_read(mariadb) - before < 20_000  # LIMIT ran on the server: 7 rows read, not 200,000
    assert len(frame) == 7
    assert isinstance(frame["amount"].iloc[0], Decimal)


def test_preview_edge_values(myshop):
    frame = myshop.preview("all_types").set_index("id")
    assert frame.loc[1, "dec_big"] == Decimal("1234567890123456789012345678.0123456789")
    assert frame.loc[1, "u8"] == 18446744073709551615
    assert frame.loc[1, "t"] == "emoji 😀 and čaj"
    assert str(frame["flag"].dtype) == "boolean" and list(frame["flag"].iloc[[0, 2]]) == [True, False]
    assert pd_isna(frame.loc[3, "d"]) and pd_isna(frame.loc[3, "dt"])  # zero dates become NULL
    assert pd_isna(frame.loc[4, "d"]) and pd_isna(frame.loc[4, "dt"])  # so do partial zero dates
    assert frame.loc[2].isna().all()


def test_preview_of_a_long_query_is_stopped(myshop, monkeypatch):
    monkeypatch.setattr(mysql, "STATEMENT_TIMEOUT_S", 1)
    myshop.connector().close()  # the session limit is set when connecting
    with pytest.raises(kb.KeboolaError, match="longer than 1 s"):
        myshop.connector()._query("SELECT COUNT(*) FROM big a CROSS JOIN big b")


def test_bulk_reads_are_encrypted_when_the_connection_asks_for_ssl():
    plain = mysql.MySqlConnector("p", {"host": "db", "port": 3306, "user": "etl", "database": "shop"})
    assert plain._url() == "mysql://etl@db:3306/shop"
    secure = mysql.MySqlConnector("s", {"host": "db", "port": 3306, "user": "etl", "database": "shop",
                                        "ssl": {"enabled": True, "verifyServerCert": True}})
    assert secure._url().endswith("/shop?ssl-mode=REQUIRED")
