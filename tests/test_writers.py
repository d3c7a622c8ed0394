"""PostgreSQL writers end to end: configuration, full and incremental writes into a separate target
database, exact types, changed_since, exactly-once retries, an interrupted load, clear errors."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from conftest import ETL_PASSWORD, SUPERUSER_PASSWORD, scan_for_canaries

FOLDER = ("main", "writer", "keboola.wr-db-pgsql")


@pytest.fixture
def dwh(project, shop, pg):  # type: ignore[no-untyped-def]
    """A fresh target database owned by etl, and the connection `dwh` to it."""
    import keboola_nb as kb

    pg.execute("DROP DATABASE IF EXISTS dwh WITH (FORCE)")
    pg.execute("CREATE DATABASE dwh OWNER etl")
    return project.connections.add("dwh", pg.url("dwh", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))


def rows(pg, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    with pg.connect("dwh") as conn:
        return conn.execute(sql).fetchall()


def column_types(pg, table: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(rows(pg, f"SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute "
                         f"WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped"))


def extract(project, name: str, tables: list) -> None:  # type: ignore[no-untyped-def]
    project.extractors.create(name, "shop", tables)
    job = project.run(name)
    assert job.status == "success", job.error


def test_writer_config_is_keboola_json_with_mapped_types(project, dwh):
    extract(project, "shop", ["orders"])
    config = project.writers.create_from_yaml("to-dwh", """
connection: dwh
schema: public
tables:
  - table: in.c-shop.orders
    db_name: shop_orders
    incremental: true
    changed_since: adaptive
    columns: [id, amount, updated_at]
""")
    folder = project.root.joinpath(*FOLDER, "to-dwh")
    root = json.loads((folder / "config.json").read_text())
    assert root["parameters"]["db"] == {"driver": "pgsql", "host": "127.0.0.1", "port": dwh.db["port"],
                                        "database": "dwh", "schema": "public", "user": "etl",
                                        "#password": "{{ vault.SHOP_PG_PASSWORD }}"}
    row = json.loads((folder / "rows" / "shop-orders" / "config.json").read_text())
    params = row["parameters"]
    assert params["tableId"] == "in.c-shop.orders" and params["dbName"] == "shop_orders"
    assert params["incremental"] is True and params["primaryKey"] == ["id"]  # from the storage table
    assert params["items"] == [
        {"name": "id", "dbName": "id", "type": "integer", "nullable": False, "default": "", "size": ""},
        {"name": "amount", "dbName": "amount", "type": "numeric", "nullable": True, "default": "", "size": "12,2"},
        {"name": "updated_at", "dbName": "updated_at", "type": "timestamptz", "nullable": True, "default": "",
         "size": ""},
    ]
    assert row["storage"]["input"]["tables"] == [{"source": "in.c-shop.orders", "destination": "in.c-shop.orders.csv",
                                                  "columns": ["id", "amount", "updated_at"],
                                                  "changed_since": "adaptive"}]
    manifest = json.loads((project.root / ".keboola" / "manifest.json").read_text())
    assert any(e["path"] == "writer/keboola.wr-db-pgsql/to-dwh" and e["id"] == config.id
               for e in manifest["configurations"])
    # The JSON, edited and checked, comes back as the same writer.
    assert project.writers.from_json(json.dumps(config.to_json())).rows[0].configuration == row


@pytest.mark.parametrize("entry, message, hint", [
    ({"table": "in.c-shop.order"}, "storage has no table in.c-shop.order", "in.c-shop.orders"),
    ({"table": "in.c-shop.orders", "columns": ["id", "amout"]}, "has no column 'amout'", "did you mean 'amount'"),
    ({"table": "in.c-shop.orders", "changed_since": "adaptive"}, "needs incremental: true", ""),
    ({"table": "in.c-shop.orders", "colums": ["id"]}, "unknown key(s) colums", "allowed keys"),
])
def test_invalid_writers_are_refused_with_a_suggestion(project, dwh, entry, message, hint):
    import keboola_nb as kb

    extract(project, "shop", ["orders"])
    with pytest.raises(kb.KeboolaError) as caught:
        project.writers.create("bad", "dwh", [entry])
    assert message in str(caught.value) and hint in str(caught.value)
    assert project.configs.find("bad") is None


def test_full_write_keeps_exact_types_nulls_and_unicode(project, dwh, pg):
    extract(project, "types", ["all_types", '"Sales Data"."Order Items"', "orders"])
    project.writers.create("out", "dwh", ["in.c-types.all_types", "in.c-types.Order_Items",
                                          {"table": "in.c-types.orders", "db_name": "Orders Ünïcode"}])
    job = project.run("out")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-types.all_types": 2, "in.c-types.Order_Items": 3, "in.c-types.orders": 1000}
    assert [t["target"] for t in job.tables] == ["public.all_types", "public.Order_Items", "public.Orders Ünïcode"]
    types = column_types(pg, "all_types")
    assert types["dec"] == "numeric(38,10)" and types["tstz"] == "timestamp with time zone"
    assert types["i8"] == "bigint" and types["ints"] == "integer[]" and types["texts"] == "text[]"
    assert types["ts"] == "timestamp without time zone" and types["bin"] == "bytea" and types["u"] == "uuid"
    first = rows(pg, "SELECT dec, dec_free, i8, tstz, ints, texts, bin, t, iv FROM all_types WHERE id = 1")[0]
    assert first[0] == Decimal("12345678901234567890.0123456789")
    assert first[1] == "123456789012345678901234567890.123456789"  # text in storage, text in the target
    assert first[2] == 9007199254740993
    assert first[3] == datetime(2024, 2, 29, 7, 4, 56, tzinfo=timezone.utc)
    assert first[4] == [1, 2, None] and first[5] == ["a", "b c"] and first[6] == b"\x00\xff"
    assert first[7] == "text" and str(first[8]) == "1 day, 2:00:00"
    assert all(v is None for v in rows(pg, "SELECT * FROM all_types WHERE id = 2")[0][1:])  # NULL in every type
    assert rows(pg, 'SELECT "OrderId", nazev_polozky, "Unit_Price" FROM "Order_Items" ORDER BY 1, "Line_No"') == [
        (1, "čaj", Decimal("1.500")), (1, "káva", Decimal("2.250")), (2, "voda", Decimal("0.100"))]
    assert rows(pg, """SELECT sum(amount)::text, count(*) FROM "Orders Ünïcode" """) == [("685685.00", 1000)]  # 1.37 * (1 + ... + 1000), exact
    pk = rows(pg, """SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '"Order_Items"'::regclass""")
    assert pk == [('PRIMARY KEY ("OrderId", "Line_No")',)]
    # A full load replaces: the second run leaves the same rows, not twice as many.
    assert project.run("out").status == "success"
    assert rows(pg, """SELECT count(*) FROM "Orders Ünïcode" """) == [(1000,)]
    assert rows(pg, "SELECT count(*) FROM pg_class WHERE relname LIKE '__kbnb_stage%'") == [(0,)]
    assert scan_for_canaries(project.root) == []


def test_incremental_write_upserts_by_primary_key(project, dwh, pg):
    extract(project, "shop", ["orders"])
    project.writers.create("up", "dwh", [{"table": "in.c-shop.orders", "incremental": True,
                                          "columns": ["id", "amount", "status"]}])
    pg.execute("SET ROLE etl; CREATE TABLE orders (id integer PRIMARY KEY, amount numeric(12, 2), status text, note text);"
               "INSERT INTO orders VALUES (1, 0, 'old', 'kept'), (5000, 1, 'only here', 'kept')", database="dwh")
    job = project.run("up")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-shop.orders": 1000}
    assert rows(pg, "SELECT count(*) FROM orders") == [(1001,)]
    assert rows(pg, "SELECT amount, status, note FROM orders WHERE id IN (1, 5000) ORDER BY id") == [
        (Decimal("1.37"), "ok", "kept"), (Decimal("1.00"), "only here", "kept")]  # updated; untouched
    assert project.run("up").status == "success"
    assert rows(pg, "SELECT count(*) FROM orders") == [(1001,)]


def test_changed_since_adaptive_writes_only_rows_imported_since_the_last_write(project, dwh, pg):
    project.extractors.create("inc", "shop", [{"table": "orders", "incremental_fetching_column": "updated_at"}])
    assert project.run("inc").status == "success"
    config = project.writers.create("ad", "dwh", [{"table": "in.c-inc.orders", "incremental": True,
                                                   "changed_since": "adaptive"}])
    first = project.run("ad")
    assert first.status == "success", first.error
    assert first.rows == {"in.c-inc.orders": 1000}
    mark = project.state.row(config.id, config.rows[0].id)["lastImportWritten"]
    assert project.run("ad").rows == {"in.c-inc.orders": 0}  # nothing imported since
    pg.execute("UPDATE orders SET amount = 7.77, updated_at = timestamptz '2030-01-01 00:00+00' WHERE id = 3;"
               "INSERT INTO orders VALUES (1001, 1, 2.50, 'ok', timestamptz '2030-01-02 00:00+00')", database="shop")
    try:
        extracted = project.run("inc")
        assert extracted.rows == {"in.c-inc.orders": 3}  # the row at the old watermark, the changed one, the new one
        third = project.run("ad")
        assert third.status == "success" and third.rows == {"in.c-inc.orders": 3}
    finally:
        pg.execute("DELETE FROM orders WHERE id = 1001; UPDATE orders SET amount = 4.11, "
                   "updated_at = timestamptz '2024-01-01 00:00+00' + 3 * interval '1 hour' WHERE id = 3",
                   database="shop")
    assert rows(pg, "SELECT count(*), sum(CASE WHEN id = 3 THEN amount END) FROM orders") == [(1001, Decimal("7.77"))]
    assert project.state.row(config.id, config.rows[0].id)["lastImportWritten"] > mark


def test_failed_run_writes_nothing_and_the_retry_writes_each_row_once(project, dwh, pg):
    extract(project, "shop", ["orders", "customers"])
    config = project.writers.create("two", "dwh", [
        {"table": "in.c-shop.customers", "incremental": True, "primary_key": [], "changed_since": "adaptive"},
        {"table": "in.c-shop.orders", "incremental": True}])
    broken = config.to_json()
    items = broken["rows"][1]["configuration"]["parameters"]["items"]
    next(i for i in items if i["name"] == "status")["type"] = "integer"  # 'sad' / 'ok' do not fit
    project.writers.save(project.writers.from_json(json.dumps(broken)), replace=True)
    job = project.run("two")
    assert job.status == "error" and job.rows == {}
    assert "writing in.c-shop.orders to public.orders failed: a value does not fit its column" in job.error
    assert "invalid input syntax for type integer" in job.error and "left as they were" in job.error
    # customers came first in the same transaction: it was rolled back too, and no state was kept.
    assert rows(pg, "SELECT to_regclass('customers'), to_regclass('orders')") == [(None, None)]
    assert project.state.get(config.id) == {}
    project.writers.save(project.writers.build("two", "dwh", [
        {"table": "in.c-shop.customers", "incremental": True, "primary_key": [], "changed_since": "adaptive"},
        {"table": "in.c-shop.orders", "incremental": True}]), replace=True)
    retry = project.run("two")
    assert retry.status == "success", retry.error
    assert rows(pg, "SELECT count(*), count(DISTINCT id) FROM customers") == [(50, 50)]  # appended exactly once
    assert rows(pg, "SELECT count(*) FROM orders") == [(1000,)]
    assert project.run("two").rows == {"in.c-shop.customers": 0, "in.c-shop.orders": 1000}
    assert rows(pg, "SELECT count(*) FROM customers") == [(50,)]


def test_connection_killed_mid_copy_leaves_the_target_untouched(project, dwh, pg):
    extract(project, "shop", ["big"])
    config = project.writers.create("big", "dwh", ["in.c-shop.big"])
    pg.execute("SET ROLE etl; CREATE TABLE big (id integer PRIMARY KEY, note text); INSERT INTO big VALUES (1, 'before')",
               database="dwh")
    killed = []

    def kill_when_copying() -> None:
        deadline = time.time() + 20
        while time.time() < deadline and not killed:
            with pg.connect("dwh") as conn:
                killed.extend(conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE usename = 'etl' AND query LIKE 'COPY%' AND pid <> pg_backend_pid()").fetchall())
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_copying)
    killer.start()
    job = project.run("big")
    killer.join()
    assert killed, "the COPY was never seen running"
    assert job.status == "error" and job.rows == {}
    assert "writing in.c-shop.big to public.big failed: the target closed the connection mid-write" in job.error
    assert "left as they were" in job.error
    assert rows(pg, "SELECT * FROM big") == [(1, "before")]
    assert rows(pg, "SELECT count(*) FROM pg_class WHERE relname LIKE '__kbnb_stage%'") == [(0,)]
    assert project.state.get(config.id) == {}
    again = project.run("big")  # and the next run goes through
    assert again.status == "success", again.error
    assert again.rows == {"in.c-shop.big": 1_000_000}


def test_user_errors_are_one_clear_message_and_write_nothing(project, dwh, pg, monkeypatch):
    extract(project, "shop", ["customers"])
    project.writers.create("nos", "dwh", ["in.c-shop.customers"], schema="reporting")
    job = project.run("nos")
    assert job.status == "error"
    assert "schema 'reporting' does not exist in database 'dwh'" in job.error and "CREATE SCHEMA" in job.error
    project.writers.create("pw", "dwh", ["in.c-shop.customers"])
    monkeypatch.setenv("SHOP_PG_PASSWORD", "not-the-password")
    job = project.run("pw")
    assert job.status == "error" and "wrong password for user 'etl'" in job.error
    assert "SHOP_PG_PASSWORD" in job.error
    assert rows(pg, "SELECT to_regclass('customers')") == [(None,)]
    for job in project.jobs.recent(10):
        text = json.dumps([job.error, job.log, job.tables])
        assert ETL_PASSWORD not in text and SUPERUSER_PASSWORD not in text
    assert scan_for_canaries(project.root) == []


def test_writer_magic_then_run(project, dwh, pg, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    import keboola_nb.magics as magics

    extract(project, "shop", ["customers"])
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    magics._project = project
    try:
        summary = shell.run_cell_magic("keboola", "writer to-dwh", (
            "connection: dwh\ntables:\n  - table: in.c-shop.customers\n    db_name: clients\n    columns: [id, name]\n"))
        assert summary.to_dict("records") == [{"row": "clients", "table": "in.c-shop.customers",
                                               "target": "public.clients", "columns": 2, "primary_key": ["id"],
                                               "load": "full", "changed_since": ""}]
        job = shell.run_line_magic("keboola", "run to-dwh")
    finally:
        magics._project = None
    assert job.status == "success" and job.rows == {"in.c-shop.customers": 50}
    assert rows(pg, "SELECT count(*), min(name) FROM clients") == [(50, "customer 1")]


def test_assistant_creates_and_runs_a_writer(project, dwh, pg, api):
    from assistant_view import RecordingView
    from keboola_nb.ai.agent import Agent
    from standin import Text, ToolUse, Turn

    extract(project, "shop", ["orders"])
    create = ToolUse("create_writer", {"name": "to-dwh", "connection": "dwh", "tables": [
        {"table": "in.c-shop.orders", "incremental": True, "changed_since": "adaptive"}]})
    run = ToolUse("run_configuration", {"name": "to-dwh"})
    api.push(Turn([create]), Turn([run]), Turn([Text("Written.")]))
    view = RecordingView(decisions=[True, True])
    reply = Agent(project, view).send("copy orders to the warehouse")
    assert reply.stopped_by == "end_turn" and reply.calls == 3  # model calls
    card = view.proposals[0]
    assert card.action == "Create" and '"keboola.wr-db-pgsql"' in card.json and len(card.preview) == 5
    assert any("in.c-shop.orders -> public.orders" in value for _, value in card.overview)
    assert project.configs.get("to-dwh").component_id == "keboola.wr-db-pgsql"
    assert rows(pg, "SELECT count(*) FROM orders") == [(1000,)]
    assert scan_for_canaries(project.root) == []
