"""The BigQuery writer (keboola.wr-google-bigquery-v2) against bqemulator."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bigquery_fixtures import CANARY, KEY

from keboola_nb.connectors.base import Scan
from keboola_nb.errors import KeboolaError


@pytest.fixture
def dwh(project, bq_env):  # type: ignore[no-untyped-def]
    from keboola_nb.connectors.bigquery import service_account_node

    client = bq_env.client()
    dataset = f"dwh_{len(list(client.list_datasets()))}"
    client.create_dataset(dataset)
    conn = project.connections.add("dwh", f"bigquery://test-proj/{dataset}",
                                   service_account=service_account_node("dwh", key_env="GBQ_KEY"))
    conn.client = client
    return conn


def put(project, table_id: str, values: str, incremental: bool = False) -> None:  # type: ignore[no-untyped-def]
    sql = ("SELECT * FROM (VALUES " + values + ") AS t(id, amount, note, flag, day, updated_at)")
    cast = ("SELECT id::INTEGER AS id, amount::DECIMAL(12,3) AS amount, note::VARCHAR AS note, flag::BOOLEAN AS flag, "
            f"day::DATE AS day, updated_at::TIMESTAMPTZ AS updated_at FROM ({sql})")
    with project.storage.transaction() as loader:
        loader.load(table_id, Scan(cast), incremental=incremental, primary_key=["id"])


def rows(conn, table: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [tuple(r.values()) for r in conn.client.query(
        f"SELECT id, amount, note FROM `test-proj.{conn.db['dataset']}.{table}` ORDER BY id").result()]


def writer(project, body: str, name: str = "to-bq"):  # type: ignore[no-untyped-def]
    return project.writers.create_from_yaml(name, body)


def test_full_load_creates_table_with_mapped_types_and_replaces_it(project, dwh):
    put(project, "out.c-crm.orders", "(1, 12345.678, 'čaj 😀', true, DATE '2024-02-29', TIMESTAMPTZ '2024-02-29 12:34:56+00'),"
                                     " (2, -0.5, '', false, NULL, NULL), (3, NULL, NULL, NULL, NULL, NULL)")
    config = writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.orders\n")
    params = config.configuration["parameters"]
    assert config.component_id == "keboola.wr-google-bigquery-v2"
    assert params["dataset"] == dwh.db["dataset"] and params["service_account"]["#private_key"] == "{{ vault.GBQ_KEY }}"
    assert params["location"] == "US"
    table = config.rows[0].configuration["parameters"]["tables"][0]
    assert {i["name"]: i["type"] for i in table["items"]} == {
        "id": "INT64", "amount": "NUMERIC", "note": "STRING", "flag": "BOOL", "day": "DATE", "updated_at": "TIMESTAMP"}
    assert table["tableId"] == "out.c-crm.orders" and table["export"] is True
    assert "primaryKey" not in table  # the storage table's key is not written: Keboola's writer never reads it
    job = project.run(config)
    assert job.status == "success", job.error
    assert rows(dwh, "orders") == [(1, Decimal("12345.678"), "čaj 😀"), (2, Decimal("-0.5"), ""), (3, None, None)]
    schema = {f.name: f.field_type for f in dwh.client.get_table(f"test-proj.{dwh.db['dataset']}.orders").schema}
    assert schema["amount"] == "NUMERIC" and schema["updated_at"] == "TIMESTAMP" and schema["flag"] in ("BOOL", "BOOLEAN")
    put(project, "out.c-crm.orders", "(7, 1.5, 'only', true, NULL, NULL)")
    assert project.run(config).status == "success"
    assert rows(dwh, "orders") == [(7, Decimal("1.5"), "only")]
    leftovers = [t.table_id for t in dwh.client.list_tables(dwh.db["dataset"]) if t.table_id.startswith("kbnb_stage")]
    assert leftovers == []


def test_incremental_appends_as_keboola_does_and_adaptive_writes_only_new_rows(project, dwh):
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL), (2, 2.0, 'b', true, NULL, NULL)")
    config = writer(project, """
connection: dwh
tables:
  - table: out.c-crm.orders
    incremental: true
    changed_since: adaptive
""")
    first = project.run(config)
    assert first.status == "success", first.error
    assert first.tables[0]["rows"] == 2
    put(project, "out.c-crm.orders", "(2, 20.0, 'B', true, NULL, NULL), (3, 3.0, 'c', true, NULL, NULL)", incremental=True)
    second = project.run(config)
    assert second.status == "success", second.error
    assert second.tables[0]["rows"] == 2  # only the rows imported since the last write
    # Keboola's writer appends (a load job with WRITE_APPEND): the changed row 2 is there twice, old and new.
    assert rows(dwh, "orders") == [(1, Decimal("1"), "a"), (2, Decimal("2"), "b"), (2, Decimal("20"), "B"),
                                   (3, Decimal("3"), "c")]
    third = project.run(config)
    assert third.tables[0]["rows"] == 0 and len(rows(dwh, "orders")) == 4
    assert "incremental (appends)" in list(project.writers.summary(config)["load"])


def test_failure_leaves_target_as_it_was_and_retry_writes_exactly_once(project, dwh):
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    put(project, "out.c-crm.notes", "(1, 1.0, 'x', true, NULL, NULL)")
    config = writer(project, """
connection: dwh
tables:
  - table: out.c-crm.orders
    incremental: true
    primary_key: []                 # appends: a second write of a row would show as a duplicate
    changed_since: adaptive
  - table: out.c-crm.notes
""")
    assert project.run(config).status == "success"
    put(project, "out.c-crm.orders", "(2, 2.0, 'b', true, NULL, NULL)", incremental=True)
    # The second table now holds text that does not fit INT64: the whole run must change nothing.
    with project.storage.connect() as con:
        con.execute('ALTER TABLE "out.c-crm".notes ALTER id TYPE VARCHAR')
        con.execute("""UPDATE "out.c-crm".notes SET id = 'not a number'""")
    failed = project.run(config)
    assert failed.status == "error" and "does not fit BigQuery type INT64" in failed.error
    assert "left as they were" in failed.error
    assert rows(dwh, "orders") == [(1, Decimal("1"), "a")]  # the append of the first table did not happen
    assert rows(dwh, "notes") == [(1, Decimal("1"), "x")]
    with project.storage.connect() as con:
        con.execute("""UPDATE "out.c-crm".notes SET id = '5'""")
    retried = project.run(config)
    assert retried.status == "success", retried.error
    assert rows(dwh, "orders") == [(1, Decimal("1"), "a"), (2, Decimal("2"), "b")]  # each row exactly once
    assert rows(dwh, "notes") == [(5, Decimal("1"), "x")]


def test_incremental_into_table_missing_a_column_is_refused(project, dwh):
    dwh.client.query(f"CREATE TABLE {dwh.db['dataset']}.orders (id INT64)").result()
    dwh.client.query(f"INSERT INTO {dwh.db['dataset']}.orders (id) VALUES (42)").result()
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    config = writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.orders\n    incremental: true\n")
    job = project.run(config)
    assert job.status == "error" and "has no column(s) amount" in job.error
    assert [r.id for r in dwh.client.query(f"SELECT id FROM {dwh.db['dataset']}.orders").result()] == [42]


def test_writer_outputs_hold_no_private_key(project, dwh, capsys):
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    job = project.run(writer(project, "connection: dwh\ntables:\n  - out.c-crm.orders\n"))
    assert job.status == "success"
    assert CANARY not in repr(job) + "\n".join(job.log) + capsys.readouterr().out
    assert not [p for p in project.root.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert json.dumps(KEY["private_key"])[1:40] not in (project.root / ".keboola" / "connections.json").read_text()


def test_primary_key_is_refused_in_the_shorthand_and_ignored_with_a_note_in_a_keboola_config(project, dwh):
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    with pytest.raises(KeboolaError, match="Keboola's BigQuery writer appends; primaryKey is not used"):
        writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.orders\n    primary_key: [id]\n")
    config = writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.orders\n    incremental: true\n")
    data = config.to_json()
    data["rows"][0]["configuration"]["parameters"]["tables"][0]["primaryKey"] = ["id"]  # e.g. made by Keboola's API
    keyed = project.writers.save(project.writers.from_json(json.dumps(data)), replace=True)
    [line] = project.writers.summary(keyed).to_dict("records")
    assert line["load"] == "incremental: Keboola's BigQuery writer appends; primaryKey is not used"
    for _ in range(2):
        job = project.run(keyed)
        assert job.status == "success", job.error
    assert "orders: incremental: Keboola's BigQuery writer appends; primaryKey is not used" in "\n".join(job.log)
    assert rows(dwh, "orders") == [(1, Decimal("1"), "a")] * 2  # no merge by the key: appended twice


def test_ignored_items_and_columns_out_of_order_are_refused(project, dwh):
    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    config = writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.orders\n    columns: [id, note]\n")
    row = config.rows[0].configuration
    assert [i["name"] for i in row["parameters"]["tables"][0]["items"]] == ["id", "note"]
    assert row["storage"]["input"]["tables"][0]["columns"] == ["id", "note"]  # left out of both, as the UI does
    data = config.to_json()
    table = data["rows"][0]["configuration"]["parameters"]["tables"][0]
    table["items"].append({"name": "amount", "dbName": "amount", "type": "IGNORE"})
    with pytest.raises(KeboolaError, match="item 'amount' has type 'IGNORE': Keboola's BigQuery writer writes every"):
        project.writers.from_json(json.dumps(data))
    table["items"].pop()
    data["rows"][0]["configuration"]["storage"]["input"]["tables"][0]["columns"] = ["note", "id"]
    with pytest.raises(KeboolaError, match="are not the items' names .* in order; Keboola's writer loads the CSV by"):
        project.writers.from_json(json.dumps(data))
    data["rows"][0]["configuration"]["storage"]["input"]["tables"][0]["columns"] = []  # every storage column
    everything = project.writers.save(project.writers.from_json(json.dumps(data)), replace=True)
    job = project.run(everything)
    assert job.status == "error" and "loads them by position" in job.error
    assert "orders" not in [t.table_id for t in dwh.client.list_tables(dwh.db["dataset"])]  # nothing was written


def test_missing_dataset_is_created_in_the_location_and_a_wrong_location_is_refused(project, dwh, bq_env):
    from keboola_nb.connectors.bigquery import service_account_node

    put(project, "out.c-crm.orders", "(1, 1.0, 'a', true, NULL, NULL)")
    dataset = f"eu_{dwh.db['dataset']}"
    project.connections.add("eu", f"bigquery://test-proj/{dataset}?location=EU",
                            service_account=service_account_node("eu", key_env="GBQ_KEY"))
    config = writer(project, "connection: eu\ntables:\n  - out.c-crm.orders\n", name="to-eu")
    assert config.configuration["parameters"]["location"] == "EU"
    job = project.run(config)
    assert job.status == "success", job.error
    log = "\n".join(job.log)
    assert f"dataset test-proj.{dataset} did not exist: created it in EU, as Keboola's writer does" in log
    assert dwh.client.get_dataset(f"test-proj.{dataset}").location == "EU"
    assert dwh.client.get_table(f"test-proj.{dataset}.orders").num_rows == 1
    data = config.to_json()
    data["configuration"]["parameters"]["location"] = "US"
    moved = project.writers.save(project.writers.from_json(json.dumps(data)), replace=True)
    job = project.run(moved)
    assert job.status == "error" and f"dataset test-proj.{dataset} is in location EU" in job.error
    assert "set parameters.location to 'EU'" in job.error
    data["configuration"]["parameters"]["location"] = "not a place"
    with pytest.raises(KeboolaError, match="'not a place' is not a BigQuery location"):
        project.writers.from_json(json.dumps(data))


def test_a_server_error_that_does_not_go_away_fails_the_job_in_bounded_time(project, dwh, monkeypatch):
    """bqemulator answers 500 to every attempt to create a BIGNUMERIC column (real BigQuery has the type): the
    client's own retry would go on for 10 minutes in silence; ours gives up after RETRY_DEADLINE_S and says why."""
    import time

    from keboola_nb.components.bigquery_writer import target

    monkeypatch.setattr(target, "RETRY_DEADLINE_S", 2.0)
    with project.storage.transaction() as loader:
        loader.load("out.c-crm.wide", Scan("SELECT 1 AS id, CAST(1.5 AS DECIMAL(38, 2)) AS total"))
    config = writer(project, "connection: dwh\ntables:\n  - table: out.c-crm.wide\n", name="wide")
    assert {i["name"]: i["type"] for i in config.rows[0].configuration["parameters"]["tables"][0]["items"]} == {
        "id": "INT64", "total": "BIGNUMERIC"}
    started = time.monotonic()
    job = project.run(config)
    assert job.status == "error" and "500" in job.error, job.error
    assert time.monotonic() - started < 60
