"""The MySQL writer end to end against a real MariaDB: Keboola JSON, exact types, full and incremental
loads, changed_since, a failed or killed run that leaves the target as it was, clear errors."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest

from conftest import MYSQL_BIG_ROWS, MYSQL_ETL_PASSWORD, scan_for_canaries

FOLDER = ("main", "writer", "keboola.wr-db-mysql")


@pytest.fixture
def mydwh(project, myshop, mariadb):  # type: ignore[no-untyped-def]
    """A fresh target database `dwh` where etl may do everything, and the connection `mydwh` to it."""
    import keboola_nb as kb

    mariadb.execute("DROP DATABASE IF EXISTS dwh; CREATE DATABASE dwh CHARACTER SET utf8mb4;"
                    "GRANT ALL ON dwh.* TO 'etl'@'%'")
    return project.connections.add("mydwh", mariadb.url("dwh", "etl"), password=kb.secret("SHOP_MY_PASSWORD"))


def rows(mariadb, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    with mariadb.connect("dwh") as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def tables(mariadb) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r[0] for r in rows(mariadb, "SHOW TABLES"))


def extract(project, name: str, tables: list) -> None:  # type: ignore[no-untyped-def]
    project.extractors.create(name, "myshop", tables)
    job = project.run(name)
    assert job.status == "success", job.error


def test_config_is_keboola_wr_db_mysql_json_without_a_schema(project, mydwh):
    extract(project, "shop", ["orders"])
    project.writers.create_from_yaml("to-my", """
connection: mydwh
tables:
  - table: in.c-shop.orders
    incremental: true
    changed_since: adaptive
    columns: [id, amount, status, updated_at]
""")
    folder = project.root.joinpath(*FOLDER, "to-my")
    db = json.loads((folder / "config.json").read_text())["parameters"]["db"]
    assert db == {"driver": "mysql", "host": "127.0.0.1", "port": mydwh.db["port"], "database": "dwh",
                  "user": "etl", "#password": "{{ vault.SHOP_MY_PASSWORD }}"}  # no schema: the database is it
    params = json.loads((folder / "rows" / "orders" / "config.json").read_text())["parameters"]
    assert [(i["name"], i["type"], i["size"], i["nullable"]) for i in params["items"]] == [
        ("id", "int", "", False), ("amount", "decimal", "12,2", True), ("status", "longtext", "", True),
        ("updated_at", "datetime", "6", True)]
    assert params["primaryKey"] == ["id"] and params["incremental"] is True
    with pytest.raises(Exception, match="MySQL has no schemas"):
        project.writers.create("other", "mydwh", ["in.c-shop.orders"], schema="reporting")
    assert scan_for_canaries(project.root) == []


@pytest.fixture(params=["load_data", "insert"])
def loading(request, mariadb):  # type: ignore[no-untyped-def]
    """LOAD DATA LOCAL INFILE, or multi-row INSERTs on a server that refuses local files."""
    if request.param == "insert":
        mariadb.execute("SET GLOBAL local_infile = 0")
    yield request.param
    mariadb.execute("SET GLOBAL local_infile = 1")


def test_full_write_keeps_exact_types_and_a_second_run_replaces(project, mydwh, mariadb, loading):
    mariadb.execute("UPDATE shop.all_types SET vc = 'a \"q\" \\\\ b ''x''' WHERE id = 4")
    try:
        extract(project, "types", ["all_types", "`Order Items`"])
    finally:
        mariadb.execute("UPDATE shop.all_types SET vc = NULL WHERE id = 4")
    project.writers.create("out", "mydwh", ["in.c-types.all_types", "in.c-types.Order_Items"])
    job = project.run("out")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-types.all_types": 4, "in.c-types.Order_Items": 3}
    assert [t["target"] for t in job.tables] == ["dwh.all_types", "dwh.Order_Items"]
    types = dict(rows(mariadb, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                               "WHERE TABLE_SCHEMA = 'dwh' AND TABLE_NAME = 'all_types'"))
    assert types["dec_big"] == "decimal(38,10)" and types["money"] == "decimal(12,2)"
    assert types["u8"] == "bigint(20) unsigned" and types["i8"] == "bigint(20)" and types["flag"] == "tinyint(1)"
    assert types["dt"] == "datetime(6)" and types["ts"] == "datetime(6)" and types["d"] == "date"
    assert types["t"] == "longtext" and types["bin"] == "longblob" and types["j"] in ("json", "longtext")
    first = rows(mariadb, "SELECT dec_big, money, u8, i8, flag, yes_no, dt, ts, d, t, bin, j, f8 "
                          "FROM all_types WHERE id = 1")[0]
    assert first[:6] == (Decimal("1234567890123456789012345678.0123456789"), Decimal("12.34"),
                         18446744073709551615, 9007199254740993, 1, 0)
    assert first[6] == datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert first[7] == datetime(2024, 2, 29, 12, 34, 56)  # stored in UTC
    assert first[8] == date(2024, 2, 29) and first[9] == "emoji 😀 and čaj" and first[10] == b"\x00\xff"
    assert json.loads(first[11]) == {"b": [1, 2]} and first[12] == 2.5
    assert all(v is None for v in rows(mariadb, "SELECT * FROM all_types WHERE id = 2")[0][1:])  # NULL everywhere
    assert rows(mariadb, "SELECT t, vc, money FROM all_types WHERE id = 3") == [("", "v", Decimal("-0.01"))]
    assert rows(mariadb, "SELECT vc FROM all_types WHERE id = 4") == [("a \"q\" \\ b 'x'",)]  # quotes, backslash
    assert rows(mariadb, "SELECT OrderId, nazev_polozky, Unit_Price FROM Order_Items ORDER BY 1, Line_No") == [
        (1, "čaj", Decimal("1.500")), (1, "káva", Decimal("2.250")), (2, "voda", Decimal("0.100"))]
    assert rows(mariadb, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'dwh' "
                         "AND TABLE_NAME = 'Order_Items' AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION"
                ) == [("OrderId",), ("Line_No",)]
    again = project.run("out")
    assert again.status == "success", again.error
    assert rows(mariadb, "SELECT count(*) FROM all_types") == [(4,)]  # replaced, not doubled
    assert tables(mariadb) == ["Order_Items", "all_types"]  # no staging or old tables left behind


def test_incremental_write_upserts_by_primary_key(project, mydwh, mariadb):
    extract(project, "shop", ["orders"])
    project.writers.create("up", "mydwh", [{"table": "in.c-shop.orders", "incremental": True,
                                            "columns": ["id", "amount", "status"]}])
    mariadb.execute("CREATE TABLE orders (id int PRIMARY KEY, amount decimal(12, 2), status text, note text);"
                    "INSERT INTO orders VALUES (1, 0, 'old', 'kept'), (5000, 1, 'only here', 'kept')", database="dwh")
    job = project.run("up")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-shop.orders": 1000}
    assert rows(mariadb, "SELECT count(*) FROM orders") == [(1001,)]
    assert rows(mariadb, "SELECT amount, status, note FROM orders WHERE id IN (1, 5000) ORDER BY id") == [
        (Decimal("1.37"), "ok", "kept"), (Decimal("1.00"), "only here", "kept")]  # updated; untouched
    assert project.run("up").status == "success"
    assert rows(mariadb, "SELECT count(*) FROM orders") == [(1001,)]
    assert tables(mariadb) == ["orders"]


def test_changed_since_adaptive_writes_only_rows_imported_since_the_last_write(project, mydwh, mariadb):
    project.extractors.create("inc", "myshop", [{"table": "orders", "incremental_fetching_column": "updated_at"}])
    assert project.run("inc").status == "success"
    config = project.writers.create("ad", "mydwh", [{"table": "in.c-inc.orders", "incremental": True,
                                                     "changed_since": "adaptive"}])
    first = project.run("ad")
    assert first.status == "success", first.error
    assert first.rows == {"in.c-inc.orders": 1000}
    assert rows(mariadb, "SELECT COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dwh' "
                         "AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'id'") == [("PRI",)]  # created with its key
    mark = project.state.row(config.id, config.rows[0].id)["lastImportWritten"]
    assert project.run("ad").rows == {"in.c-inc.orders": 0}  # nothing imported since
    mariadb.execute("UPDATE shop.orders SET amount = 7.77, updated_at = '2030-01-01' WHERE id = 3;"
                    "INSERT INTO shop.orders VALUES (1001, 1, 2.50, 'ok', '2030-01-02')")
    try:
        assert project.run("inc").rows == {"in.c-inc.orders": 3}  # at the old watermark, changed, new
        third = project.run("ad")
        assert third.status == "success" and third.rows == {"in.c-inc.orders": 3}
    finally:
        mariadb.execute("DELETE FROM shop.orders WHERE id = 1001; UPDATE shop.orders SET amount = 4.11, "
                        "updated_at = TIMESTAMP '2024-01-01 00:00:00' + INTERVAL 3 HOUR WHERE id = 3")
    assert rows(mariadb, "SELECT count(*), sum(CASE WHEN id = 3 THEN amount END) FROM orders") == [
        (1001, Decimal("7.77"))]
    assert project.state.row(config.id, config.rows[0].id)["lastImportWritten"] > mark


def test_a_value_that_does_not_fit_fails_the_run_and_writes_nothing(project, mydwh, mariadb):
    extract(project, "shop", ["orders", "customers"])
    mariadb.execute("CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'before');"
                    "CREATE TABLE orders (id int PRIMARY KEY, amount decimal(12, 2)); INSERT INTO orders VALUES (1, 9)",
                    database="dwh")
    entries = [{"table": "in.c-shop.customers"}, {"table": "in.c-shop.orders", "incremental": True,
                                                  "changed_since": "adaptive", "columns": ["id", "amount"]},
               {"table": "in.c-shop.orders", "db_name": "orders_copy", "columns": ["id", "amount"]}]
    config = project.writers.create("three", "mydwh", entries)
    broken = config.to_json()
    items = broken["rows"][2]["configuration"]["parameters"]["items"]
    next(i for i in items if i["name"] == "amount").update(type="decimal", size="4,2")  # 1369.90 does not fit
    project.writers.save(project.writers.from_json(json.dumps(broken)), replace=True)
    job = project.run("three")
    assert job.status == "error" and job.rows == {}
    assert "writing in.c-shop.orders to dwh.orders_copy: a value does not fit its column" in job.error
    assert "amount" in job.error and "left as they were" in job.error and "\n" in job.error
    # The full load and the upsert staged before it changed nothing; no staging table is left.
    assert rows(mariadb, "SELECT * FROM customers") == [(1, "before")]
    assert rows(mariadb, "SELECT * FROM orders") == [(1, Decimal("9.00"))]
    assert tables(mariadb) == ["customers", "orders"]
    assert project.state.get(config.id) == {}
    project.writers.save(project.writers.build("three", "mydwh", entries), replace=True)
    retry = project.run("three")
    assert retry.status == "success", retry.error
    assert rows(mariadb, "SELECT count(*) FROM customers") == [(50,)]
    assert rows(mariadb, "SELECT count(*), sum(amount) FROM orders") == [(1000, Decimal("685685.00"))]
    assert rows(mariadb, "SELECT count(*) FROM orders_copy") == [(1000,)]


def test_connection_killed_mid_load_leaves_the_old_table_in_place(project, mydwh, mariadb):
    extract(project, "shop", ["big"])
    config = project.writers.create("big", "mydwh", ["in.c-shop.big"])
    mariadb.execute("CREATE TABLE big (id int PRIMARY KEY, note text); INSERT INTO big VALUES (1, 'before')",
                    database="dwh")
    killed: list[int] = []

    def kill_when_loading() -> None:
        deadline = time.time() + 30
        while time.time() < deadline and not killed:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'etl' "
                            "AND INFO LIKE 'LOAD DATA%'")
                for (pid,) in cur.fetchall():
                    cur.execute(f"KILL {pid}")
                    killed.append(pid)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_loading)
    killer.start()
    job = project.run("big")
    killer.join()
    assert killed, "the LOAD DATA was never seen running"
    assert job.status == "error" and job.rows == {}
    assert "writing in.c-shop.big to dwh.big" in job.error and "left as they were" in job.error
    assert rows(mariadb, "SELECT * FROM big") == [(1, "before")]
    assert project.state.get(config.id) == {}
    again = project.run("big")  # the next run clears what the killed one left and goes through
    assert again.status == "success", again.error
    assert rows(mariadb, "SELECT count(*), count(DISTINCT id) FROM big") == [(MYSQL_BIG_ROWS, MYSQL_BIG_ROWS)]
    assert tables(mariadb) == ["big"]


def test_user_errors_are_one_clear_line(project, mydwh, mariadb, monkeypatch):
    import keboola_nb as kb

    extract(project, "shop", ["customers"])
    project.writers.create("pw", "mydwh", ["in.c-shop.customers"])
    monkeypatch.setenv("SHOP_MY_PASSWORD", "not-the-password")
    job = project.run("pw")
    assert job.status == "error" and "wrong password for user 'etl'" in job.error
    assert "SHOP_MY_PASSWORD" in job.error
    monkeypatch.setenv("SHOP_MY_PASSWORD", MYSQL_ETL_PASSWORD)
    mariadb.execute(f"CREATE USER IF NOT EXISTS 'seer'@'%' IDENTIFIED BY '{MYSQL_ETL_PASSWORD}';"
                    "GRANT SELECT ON *.* TO 'seer'@'%'")  # may see every database: told it does not exist
    project.connections.add("nodb", mariadb.url("nowhere", "seer"), password=kb.secret("SHOP_MY_PASSWORD"))
    project.writers.create("nodb", "nodb", ["in.c-shop.customers"])
    job = project.run("nodb")
    assert job.status == "error" and "database 'nowhere' does not exist" in job.error
    mariadb.execute("DROP TABLE IF EXISTS dwh.customers; CREATE TABLE dwh.customers (id int PRIMARY KEY)")
    project.writers.create("dup", "mydwh", [{"table": "in.c-shop.customers", "primary_key": ["name"]}])
    mariadb.execute("UPDATE shop.customers SET name = 'same' WHERE id IN (1, 2)")
    try:
        extract(project, "shop2", ["customers"])
    finally:
        mariadb.execute("UPDATE shop.customers SET name = CONCAT('customer ', id) WHERE id IN (1, 2)")
    project.writers.create("dup2", "mydwh", [{"table": "in.c-shop2.customers", "primary_key": ["name"]}])
    job = project.run("dup2")
    assert job.status == "error" and "the primary key is not unique in the data" in job.error
    assert rows(mariadb, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dwh' "
                         "AND TABLE_NAME = 'customers'") == [("id",)]  # untouched
    assert tables(mariadb) == ["customers"]
    for job in project.jobs.recent(10):
        assert MYSQL_ETL_PASSWORD not in json.dumps([job.error, job.log, job.tables])
    assert scan_for_canaries(project.root) == []


def test_stopping_mid_write_leaves_the_target_as_it_was(project, mydwh, mariadb):
    from keboola_nb.engine.progress import NoProgress

    class StopAfterFirstBatch(NoProgress):
        def __init__(self) -> None:
            self.fractions: list[float] = []

        def advance(self, fraction: float) -> None:
            self.fractions.append(fraction)

        def cancelled(self) -> bool:
            return bool(self.fractions)

    extract(project, "shop", ["big"])
    project.writers.create("stop", "mydwh", ["in.c-shop.big"])
    mariadb.execute("CREATE TABLE big (id int PRIMARY KEY); INSERT INTO big VALUES (7)", database="dwh")
    progress = StopAfterFirstBatch()
    job = project.run("stop", progress=progress)
    assert job.status == "error" and "stopped by the user" in job.error
    assert 0 < progress.fractions[0] < 1  # it stopped part-way
    assert rows(mariadb, "SELECT * FROM big") == [(7,)]
    assert tables(mariadb) == ["big"]


def test_full_load_of_a_table_foreign_keys_point_at_refills_it_in_place(project, mydwh, mariadb):
    extract(project, "shop", ["customers"])
    project.writers.create("fk", "mydwh", [{"table": "in.c-shop.customers", "columns": ["id", "name"]}])
    mariadb.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, since date);"
                    "INSERT INTO customers VALUES (1, 'old', '2020-01-01'), (99, 'gone', NULL);"
                    "CREATE TABLE visits (customer_id int, FOREIGN KEY (customer_id) REFERENCES customers (id));"
                    "INSERT INTO visits VALUES (99)", database="dwh")
    job = project.run("fk")  # customer 99 still has a visit: the whole load is refused and rolled back
    assert job.status == "error" and "foreign key" in job.error.lower() and "left as they were" in job.error
    assert rows(mariadb, "SELECT id, name FROM customers ORDER BY id") == [(1, "old"), (99, "gone")]
    mariadb.execute("DELETE FROM visits; INSERT INTO visits VALUES (1)", database="dwh")
    job = project.run("fk")
    assert job.status == "success", job.error
    assert rows(mariadb, "SELECT count(*), min(name) FROM customers") == [(50, "customer 1")]
    assert rows(mariadb, "SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
                         "WHERE CONSTRAINT_SCHEMA = 'dwh' AND TABLE_NAME = 'visits'") == [("customers",)]
    assert tables(mariadb) == ["customers", "visits"]


def test_assistant_creates_and_runs_a_mysql_writer(project, mydwh, mariadb, api):
    from assistant_view import RecordingView
    from keboola_nb.ai.agent import Agent
    from standin import Text, ToolUse, Turn

    extract(project, "shop", ["orders"])
    create = ToolUse("create_writer", {"name": "to-my", "connection": "mydwh",
                                       "tables": [{"table": "in.c-shop.orders"}]})
    api.push(Turn([create]), Turn([ToolUse("run_configuration", {"name": "to-my"})]), Turn([Text("Written.")]))
    view = RecordingView(decisions=[True, True])
    reply = Agent(project, view).send("copy orders to the MySQL warehouse")
    assert reply.stopped_by == "end_turn" and reply.calls == 3
    card = view.proposals[0]
    assert '"keboola.wr-db-mysql"' in card.json and '"schema"' not in card.json
    assert any("in.c-shop.orders -> dwh.orders" in value for _, value in card.overview)
    assert rows(mariadb, "SELECT count(*) FROM orders") == [(1000,)]
