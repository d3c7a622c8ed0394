"""The MySQL extractor end to end against a real MariaDB: Keboola JSON, exact types, incremental, failures."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from conftest import MYSQL_BIG_ROWS, scan_for_canaries
from servers import run_killing


def test_config_is_keboola_ex_db_mysql_json(project, myshop):
    config = project.extractors.create_from_yaml("my-orders", """
connection: myshop
tables:
  - table: orders
    incremental_fetching_column: updated_at
  - table: "`Order Items`"
""")
    assert config.component_id == "keboola.ex-db-mysql"
    folder = project.root / "main" / "extractor" / "keboola.ex-db-mysql" / "my-orders"
    db = json.loads((folder / "config.json").read_text())["parameters"]["db"]
    assert db["#password"] == "{{ vault.SHOP_MY_PASSWORD }}"
    assert db["database"] == "shop" and db["user"] == "etl" and db["port"] == myshop.db["port"]
    orders = json.loads((folder / "rows" / "orders" / "config.json").read_text())["parameters"]
    assert orders["table"] == {"schema": "shop", "tableName": "orders"}  # MySQL: the database is the schema
    assert orders["outputTable"] == "in.c-my-orders.orders"
    assert orders["primaryKey"] == ["id"]
    assert orders["incremental"] is True and orders["incrementalFetchingColumn"] == "updated_at"
    rows = list((folder / "rows").iterdir())
    items = json.loads(next(r for r in rows if r.name != "orders").joinpath("config.json").read_text())["parameters"]
    assert items["primaryKey"] == ["OrderId", "Line No"]
    assert scan_for_canaries(project.root) == []


def test_fetching_column_must_be_a_number_or_a_time(project, myshop):
    from keboola_nb.errors import KeboolaError

    with pytest.raises(KeboolaError, match="incremental fetching needs a number or a timestamp"):
        project.extractors.create("bad", "myshop", [{"table": "orders", "incremental_fetching_column": "status"}])


def test_run_keeps_exact_types_and_edge_values(project, myshop):
    project.extractors.create("types", "myshop", ["all_types", "no_pk", "empty_table", "`Order Items`"])
    job = project.run("types")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-types.all_types": 4, "in.c-types.no_pk": 3, "in.c-types.empty_table": 0,
                        "in.c-types.Order_Items": 3}
    cols = project.storage.metadata("in.c-types.all_types")["columns"]
    assert cols["dec_big"] == "DECIMAL(38,10)" and cols["money"] == "DECIMAL(12,2)"
    assert cols["dec_wide"] == "VARCHAR"  # 65 digits do not fit DuckDB's DECIMAL: exact as text
    assert cols["u8"] == "UBIGINT" and cols["flag"] == "BOOLEAN" and cols["yes_no"] == "BOOLEAN"
    assert cols["d"] == "DATE" and cols["dt"] == "TIMESTAMP" and cols["ts"] == "TIMESTAMP WITH TIME ZONE"
    frame = project.storage.preview("in.c-types.all_types").set_index("id")
    first, zero, partial = frame.loc[1], frame.loc[3], frame.loc[4]
    assert first["dec_big"] == Decimal("1234567890123456789012345678.0123456789")
    assert first["dec_wide"] == "12345678901234567890123456789012345.123456789012345678901234567891"
    assert first["money"] == Decimal("12.34") and zero["money"] == Decimal("-0.01")
    assert first["u8"] == 18446744073709551615 and first["i8"] == 9007199254740993
    assert first["flag"] is True and zero["flag"] is False
    assert first["t"] == "emoji 😀 and čaj" and json.loads(first["j"]) == {"b": [1, 2]}
    assert first["d"] == date(2024, 2, 29) and first["dt"] == datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert first["ts"] == datetime(2024, 2, 29, 12, 34, 56, tzinfo=timezone.utc)
    assert first["tm"] == "838:59:59" and first["bin"] == b"\x00\xff"
    # Zero dates, and dates with a zero month or day, become NULL instead of failing the run.
    assert zero[["d", "dt", "ts"]].isna().all() and partial[["d", "dt"]].isna().all()
    assert frame.loc[2].isna().all()  # NULL in every type survives
    items = project.storage.metadata("in.c-types.Order_Items")
    assert list(items["columns"]) == ["Line_No", "OrderId", "nazev_polozky", "Unit_Price"]
    assert items["primary_key"] == ["OrderId", "Line_No"]


def test_query_row_and_chosen_columns(project, myshop, mariadb):
    project.extractors.create("picked", "myshop", [
        {"query": "SELECT id, amount, updated_at FROM orders WHERE id <= 10", "name": "first_ten"},
        {"query": "SELECT id, dec_big, d FROM all_types", "name": "typed"},
        {"table": "orders", "columns": ["id", "amount"]},
    ])
    job = project.run("picked")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-picked.first_ten": 10, "in.c-picked.typed": 4, "in.c-picked.orders": 1000}
    assert list(project.storage.metadata("in.c-picked.orders")["columns"]) == ["id", "amount"]
    typed = project.storage.metadata("in.c-picked.typed")["columns"]
    assert typed == {"id": "INTEGER", "dec_big": "DECIMAL(38,10)", "d": "DATE"}  # a query keeps exact types too
    sums = project.storage.query('SELECT sum(amount)::VARCHAR AS s FROM "in.c-picked".orders')
    with mariadb.connect("shop") as conn, conn.cursor() as cur:
        cur.execute("SELECT CAST(SUM(amount) AS CHAR) FROM orders")
        assert sums["s"][0] == cur.fetchone()[0] == "685685.00"  # exact, to the cent


def test_incremental_fetching_pushes_the_watermark_down_and_upserts(project, myshop, mariadb):
    config = project.extractors.create("inc", "myshop", [{"table": "big", "incremental_fetching_column": "updated_at"}])
    row_id = config.rows[0].id
    first = project.run("inc")
    assert first.status == "success", first.error
    assert first.rows["in.c-inc.big"] == MYSQL_BIG_ROWS
    mark = project.state.row(config.id, row_id)["lastFetchedRow"]
    assert mark == "2024-01-03 07:33:20"  # the newest updated_at
    mariadb.execute("UPDATE shop.big SET note = 'changed', updated_at = '2030-01-01' WHERE id IN (5, 6);"
                    "INSERT INTO shop.big VALUES (200001, 1.00, 'new', '2030-01-02')")
    try:
        second = project.run("inc")
        assert second.status == "success", second.error
        assert second.rows["in.c-inc.big"] == 4  # two changed, one new, one at the watermark
        assert project.storage.tables().set_index("id").loc["in.c-inc.big", "rows"] == MYSQL_BIG_ROWS + 1
        changed = project.storage.query('SELECT id, note FROM "in.c-inc".big WHERE id IN (5, 6, 200001) ORDER BY id')
        assert list(changed["note"]) == ["changed", "changed", "new"]
        assert project.storage.query('SELECT count(*) AS n FROM "in.c-inc".big WHERE id = 5')["n"][0] == 1
        assert project.state.row(config.id, row_id)["lastFetchedRow"] == "2030-01-02 00:00:00"
    finally:
        mariadb.execute("DELETE FROM shop.big WHERE id = 200001;"
                        "UPDATE shop.big SET note = CONCAT('note ', id), "
                        "updated_at = TIMESTAMP '2024-01-01 00:00:00' + INTERVAL id SECOND WHERE id IN (5, 6)")


def test_big_tables_read_in_parallel_key_ranges_match_one_read(project, myshop, mariadb, monkeypatch):
    import keboola_nb.connectors.mysql as mysql

    def connections() -> int:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
            return int(cur.fetchone()[1])

    totals = 'SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS id_sum, sum(amount) AS amount_sum FROM "in.c-{}".big'
    project.extractors.create("whole", "myshop", ["big"])
    project.extractors.create("split", "myshop", ["big"])
    before = connections()
    assert project.run("whole").status == "success"
    single = connections() - before
    monkeypatch.setattr(mysql, "PARALLEL_MIN_ROWS", 1)
    before = connections()
    job = project.run("split")
    assert job.status == "success", job.error
    assert connections() - before >= single + mysql.PARALLEL_READS - 1  # it really read over parallel connections
    whole, split = (project.storage.query(totals.format(name)).iloc[0].to_dict() for name in ("whole", "split"))
    assert split == whole and split["n"] == split["ids"] == MYSQL_BIG_ROWS
    # a watermark narrows every range alike
    inc = project.extractors.create("inc-split", "myshop", [{"table": "big", "incremental_fetching_column": "id"}])
    project.state.update(inc.id, {inc.rows[0].id: {"lastFetchedRow": str(MYSQL_BIG_ROWS - 999)}})
    assert project.run("inc-split").rows["in.c-inc-split.big"] == 1000


def test_incremental_on_a_timestamp_column(project, myshop):
    config = project.extractors.create("tsinc", "myshop", [{"table": "all_types", "incremental_fetching_column": "ts"}])
    assert project.run("tsinc").status == "success"
    mark = project.state.row(config.id, config.rows[0].id)["lastFetchedRow"]
    assert mark.startswith("2024-02-29 12:34:56")
    again = project.run("tsinc")
    assert again.status == "success", again.error
    assert again.rows["in.c-tsinc.all_types"] == 1  # only the row at the watermark: compared in UTC


def test_failed_row_rolls_back_the_whole_run(project, myshop, mariadb):
    project.extractors.create("two", "myshop", ["orders", "customers"])
    assert project.run("two").status == "success"
    before = project.storage.tables()
    mariadb.execute("RENAME TABLE shop.customers TO shop.customers_gone")
    try:
        job = project.run("two")
    finally:
        mariadb.execute("RENAME TABLE shop.customers_gone TO shop.customers")
    assert job.status == "error"
    assert "customers" in job.error and "left as they were" in job.error
    after = project.storage.tables()
    assert list(after["last_import"]) == list(before["last_import"])  # orders was not replaced either


def test_source_killed_mid_extract_leaves_everything_untouched(project, myshop, mariadb):
    config = project.extractors.create(
        "slow", "myshop", [{"table": "slow_big", "incremental_fetching_column": "updated_at", "primary_key": ["id"]}]
    )
    project.state.update(config.id, {config.rows[0].id: {"lastFetchedRow": "2024-01-03 07:00:00"}})
    assert project.run("slow").status == "success"
    rows_before = project.storage.tables().set_index("id").loc["in.c-slow.slow_big", "rows"]
    config_before = (project.root / "main").joinpath(
        "extractor/keboola.ex-db-mysql/slow/rows/slow-big/config.json").read_text()
    project.state.clear(config.id)  # now read everything: about 4 s of a slow view

    def kill_the_read() -> bool:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST "
                        "WHERE USER = 'etl' AND INFO LIKE '%slow_big%' AND INFO NOT LIKE '%LIMIT%'")  # the bulk read
            ids = [row[0] for row in cur.fetchall()]
            for pid in ids:
                cur.execute(f"KILL {int(pid)}")
        return bool(ids)

    job = run_killing(lambda: project.run("slow"), kill_the_read, interval=0.05)
    assert job.status == "error", job
    assert "closed the connection" in job.error and "left as they were" in job.error
    assert project.state.get(config.id) == {}  # still as cleared before the run
    assert project.storage.tables().set_index("id").loc["in.c-slow.slow_big", "rows"] == rows_before
    assert (project.root / "main").joinpath(
        "extractor/keboola.ex-db-mysql/slow/rows/slow-big/config.json").read_text() == config_before


def test_wrong_password_fails_the_run_with_a_diagnosis(project, myshop, monkeypatch):
    project.extractors.create("pw", "myshop", ["customers"])
    monkeypatch.setenv("SHOP_MY_PASSWORD", "not-the-password")
    job = project.run("pw")
    assert job.status == "error" and "wrong password" in job.error and "SHOP_MY_PASSWORD" in job.error


def test_the_magics_walk_with_mysql(project, mariadb, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    import keboola_nb.magics as magics

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    diagnosis = ip.run_line_magic(
        "keboola", f"connect shop mariadb://etl@127.0.0.1:{mariadb.port}/shop --password-env SHOP_MY_PASSWORD")
    assert diagnosis.ok, diagnosis
    assert ip.run_line_magic("keboola", "connections")["kind"].tolist() == ["mysql"]
    assert "orders" in set(ip.run_line_magic("keboola", "tables shop")["table"])
    assert len(ip.run_line_magic("keboola", "preview shop orders --limit 3")) == 3
    ip.run_cell_magic("keboola", "extractor shop-orders", (
        "connection: shop\n"
        "tables:\n"
        "  - table: orders\n"
        "    incremental_fetching_column: updated_at\n"
    ))
    job = ip.run_line_magic("keboola", "run shop-orders")
    assert job.status == "success" and job.rows == {"in.c-shop-orders.orders": 1000}
    assert project.configs.find("shop-orders").component_id == "keboola.ex-db-mysql"
    assert scan_for_canaries(project.root) == []
