"""BigQuery as a source, against bqemulator (real BigQuery cannot be reached from the test machines).

The emulator runs from its own virtual environment (tests/servers.py BigQueryEmulator); the real
google-cloud-bigquery client reaches it through BIGQUERY_EMULATOR_HOST, and the Storage Read API
through BIGQUERY_STORAGE_EMULATOR_HOST.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from bigquery_fixtures import BIG_ROWS, CANARY, KEY, load
from conftest import scan_for_canaries

from keboola_nb.errors import KeboolaError


UNLOAD = "gs://kbc-unload"  # the bucket Keboola's extractor unloads through; never touched by a local run


@pytest.fixture
def gbq(project, bq_env):  # type: ignore[no-untyped-def]
    return project.connections.add("gbq", f"bigquery://test-proj/sales?unload={UNLOAD}", key_env="GBQ_KEY")


def test_connection_keeps_keboola_service_account_with_private_key_as_reference(project, gbq, tmp_path):
    stored = json.loads((project.root / ".keboola" / "connections.json").read_text())["connections"]["gbq"]
    account = stored["bigquery"]["service_account"]
    assert stored["kind"] == "bigquery" and stored["bigquery"]["location"] == "US"
    assert stored["bigquery"]["storage"] == UNLOAD
    assert account["#private_key"] == "{{ vault.GBQ_KEY }}" and "private_key" not in account
    assert account["client_email"] == KEY["client_email"] and account["project_id"] == "test-proj"
    assert gbq.target() == "bigquery://test-proj/sales" and "GBQ_KEY" in gbq.secret()
    diagnosis = gbq.test()
    assert diagnosis.ok, diagnosis
    assert diagnosis.details["tables"] >= 2
    assert diagnosis.details["unload bucket (Keboola only)"] == UNLOAD


def test_key_file_is_moved_to_a_local_secret_file(project, bq_env, tmp_path):
    from keboola_nb.connectors.bigquery import service_account_node

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(KEY))
    conn = project.connections.add("fromfile", "bigquery://test-proj/sales?location=EU",
                                   service_account=service_account_node("fromfile", key_file=str(key_file)))
    assert conn.db["location"] == "EU"
    assert conn.db["service_account"]["#private_key"].startswith("{{ vault.fromfile_private_key_")
    assert conn.test().ok
    assert scan_for_canaries(project.root) == [] and CANARY not in (project.root / ".keboola" / "connections.json").read_text()


def test_diagnoses_bad_key_unknown_dataset_unreachable_endpoint_missing_secret(project, bq_env, monkeypatch):
    from keboola_nb.connectors.bigquery import service_account_node

    monkeypatch.setenv("BAD_KEY", json.dumps({**KEY, "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n"
                                                                    "-----END PRIVATE KEY-----\n"}))
    bad = project.connections.add("bad", "bigquery://test-proj/sales",
                                  service_account=service_account_node("bad", key_env="BAD_KEY"))
    diagnosis = bad.test()
    assert not diagnosis.ok and diagnosis.problem == "auth" and "key is not valid" in diagnosis.message
    account = service_account_node("x", key_env="GBQ_KEY")
    nodata = project.connections.add("nodata", "bigquery://test-proj/nope", service_account=account)
    diagnosis = nodata.test()
    assert diagnosis.problem == "missing_database" and "'nope'" in diagnosis.message
    noproject = project.connections.add("noproject", "bigquery://other-proj/sales", service_account=account)
    assert noproject.test().problem == "missing_database"
    unset = project.connections.add("unset", "bigquery://test-proj/sales",
                                    service_account={**account, "#private_key": "{{ vault.UNSET_GBQ_KEY }}"})
    diagnosis = unset.test()
    assert diagnosis.problem == "secret" and "UNSET_GBQ_KEY" in diagnosis.message
    from servers import free_port

    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    down = project.connections.add("down", "bigquery://test-proj/sales", service_account=account)
    started = time.monotonic()
    diagnosis = down.test()
    assert diagnosis.problem == "network" and time.monotonic() - started < 30
    with pytest.raises(KeboolaError, match="not a service-account key"):
        monkeypatch.setenv("NOT_A_KEY", json.dumps({"type": "authorized_user"}))
        service_account_node("x", key_env="NOT_A_KEY")


def test_browse_describe_preview(project, gbq, emulator):
    tables = gbq.tables()
    rows = dict(zip(tables["table"], tables["rows_estimate"]))
    assert rows["orders"] == 3 and rows["big"] == BIG_ROWS  # from table metadata
    described = gbq.describe("orders")
    assert list(described["column"]) == ["id", "amount", "note", "flag", "day", "updated_at"]
    assert dict(zip(described["column"], described["type"]))["amount"] == "NUMERIC"
    preview = gbq.preview("sales.big", limit=7)
    assert len(preview) == 7
    with pytest.raises(KeboolaError, match="did you mean sales.orders"):
        gbq.preview("sales.order")


def test_an_extractor_needs_the_unload_bucket_keboola_uses(project, gbq, bq_env):
    plain = project.connections.add("plain", "bigquery://test-proj/sales?location=EU", key_env="GBQ_KEY")
    assert "storage" not in plain.db
    with pytest.raises(KeboolaError, match="names no Cloud Storage bucket") as caught:
        _extractor(project, "connection: plain\ntables:\n  - sales.orders\n")
    assert "bigquery://test-proj/sales?location=EU&unload=gs://BUCKET" in caught.value.fix
    assert "gbq-ex" not in [c.name for c in project.configs.list()]
    config = _extractor(project, "connection: gbq\ntables:\n  - sales.orders\n")
    data = config.to_json()
    del data["configuration"]["parameters"]["google"]["storage"]  # a hand-edited configuration
    with pytest.raises(KeboolaError, match="google.storage .*is not set; Keboola's extractor needs it") as caught:
        project.extractors.from_json(json.dumps(data))
    assert "gs://my-bucket" in caught.value.fix and "?unload=gs://BUCKET" in caught.value.fix
    data["configuration"]["parameters"]["google"]["storage"] = "kbc-unload"
    with pytest.raises(KeboolaError, match="is not a gs:// URI") as caught:
        project.extractors.from_json(json.dumps(data))
    assert caught.value.fix == "write it as 'gs://kbc-unload'"
    data["configuration"]["parameters"]["google"]["storage"] = "gs://Bad Bucket"
    with pytest.raises(KeboolaError, match="is not a Cloud Storage bucket"):
        project.extractors.from_json(json.dumps(data))
    given = project.connections.add("given", "bigquery://test-proj/sales", key_env="GBQ_KEY", storage="kbc-unload")
    assert given.db["storage"] == UNLOAD  # the Python face: a bare bucket name gets gs://


def _extractor(project, body: str, name: str = "gbq-ex"):  # type: ignore[no-untyped-def]
    return project.extractors.create_from_yaml(name, body)


def test_extract_table_and_query_with_exact_types(project, gbq):
    config = _extractor(project, """
connection: gbq
tables:
  - table: sales.orders
    primary_key: [id]
queries:
  - name: flagged
    query: SELECT id, note FROM `test-proj.sales.orders` WHERE flag
""")
    root = config.configuration["parameters"]
    assert config.component_id == "keboola.ex-google-bigquery-v2"
    assert root["google"] == {"storage": UNLOAD, "location": "US"}
    assert root["service_account"]["#private_key"] == "{{ vault.GBQ_KEY }}"
    by_name = {r.name: r.configuration["parameters"]["query"] for r in config.rows}
    assert by_name["orders"] == {"query": "SELECT * FROM `test-proj.sales.orders`", "tableName": "orders",
                                 "incremental": False, "primaryKey": ["id"], "useLegacySql": False}
    assert by_name["flagged"]["query"].startswith("SELECT id, note FROM")
    job = project.run(config)
    assert job.status == "success", job.error
    bucket = f"in.c-keboola-ex-google-bigquery-v2-{config.id}"
    orders = project.storage.query(f'SELECT * FROM "{bucket}".orders ORDER BY id')
    assert list(orders["id"]) == [1, 2, 3]
    assert orders["amount"][0] == Decimal("12345.678") and orders["amount"][1] == Decimal("-0.5")
    assert orders["note"][0] == "čaj 😀" and orders["note"][1] == "" and orders["note"].isna()[2]
    assert list(orders["flag"][:2]) == [True, False]
    assert str(orders["day"][0]) == "2024-02-29"
    types = dict(project.storage.query(f"SELECT column_name, data_type FROM duckdb_columns() "
                                       f"WHERE schema_name = '{bucket}' AND table_name = 'orders'").values.tolist())
    assert types == {"id": "BIGINT", "amount": "DECIMAL(38,9)", "note": "VARCHAR", "flag": "BOOLEAN", "day": "DATE",
                     "updated_at": "TIMESTAMP WITH TIME ZONE", "_timestamp": "TIMESTAMP WITH TIME ZONE"}
    assert orders["updated_at"][0].isoformat().startswith("2024-02-29T12:34:56.789")
    flagged = project.storage.query(f'SELECT * FROM "{bucket}".flagged')
    assert list(flagged["id"]) == [1]
    log = "\n".join(job.log)
    assert "orders: 3 rows in 1 page(s) over Storage Read API" in log  # a table is read straight from storage
    assert "flagged: 1 rows" in log and "dry run" in log
    assert f"Keboola unloads results through {UNLOAD}; this run reads them directly" in log


def test_large_result_arrives_in_several_rest_pages(project, gbq, monkeypatch):
    monkeypatch.delenv("BIGQUERY_STORAGE_EMULATOR_HOST")  # REST paging only
    config = _extractor(project, """
connection: gbq
queries:
  - name: big
    query: SELECT id, note FROM `test-proj.sales.big`
""")
    job = project.run(config)
    assert job.status == "success", job.error
    assert f"big: {BIG_ROWS:,} rows in 3 page(s) over REST" in "\n".join(job.log)
    stats = project.storage.query(f'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi '
                                  f'FROM "in.c-keboola-ex-google-bigquery-v2-{config.id}".big')
    assert stats.values.tolist()[0] == [BIG_ROWS, BIG_ROWS, 1, BIG_ROWS]


def test_incremental_load_upserts_by_primary_key(project, gbq, emulator):
    client = emulator.client()
    client.query("CREATE TABLE sales.changes (id INT64, v STRING)").result()
    load(client, "sales.changes", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
    config = _extractor(project, """
connection: gbq
tables:
  - table: sales.changes
    primary_key: [id]
    incremental: true
""")
    assert project.run(config).status == "success"
    client.query("UPDATE sales.changes SET v = 'B' WHERE id = 2").result()
    load(client, "sales.changes", [{"id": 3, "v": "c"}])
    job = project.run(config)
    assert job.status == "success", job.error
    rows = project.storage.query(f'SELECT id, v FROM "in.c-keboola-ex-google-bigquery-v2-{config.id}".changes ORDER BY id')
    assert rows.values.tolist() == [[1, "a"], [2, "B"], [3, "c"]]


def test_bad_sql_is_refused_before_saving(project, gbq):
    with pytest.raises(KeboolaError, match="BigQuery refused the query"):
        _extractor(project, "connection: gbq\nqueries:\n  - name: x\n    query: SELEC 1\n")
    assert "gbq-ex" not in [c.name for c in project.configs.list()]


def test_budget_refusal_writes_nothing(project, gbq, monkeypatch):
    from keboola_nb.connectors import bigquery as connector_module

    config = _extractor(project, """
connection: gbq
queries:
  - name: orders
    query: SELECT id, note FROM `test-proj.sales.orders` WHERE id > 1
""")
    monkeypatch.setenv("KEBOOLA_NB_BIGQUERY_BUDGET", "1GB")
    job = project.run(config)  # the emulator's dry run reports 0 bytes: within any budget
    assert job.status == "success" and "dry run query: 0 bytes processed" in "\n".join(job.log)
    before = project.storage.tables()
    # A real BigQuery would report the bytes; make the dry run say 5 GB to see the budget refuse the run.
    real = connector_module.BigQueryConnector.dry_run
    monkeypatch.setattr(connector_module.BigQueryConnector, "dry_run",
                        lambda self, q, legacy=False: (5 * 10**9, real(self, q, legacy)[1]))
    queries = []
    monkeypatch.setattr(connector_module.BigQueryConnector, "scan", lambda *a, **k: queries.append(a))
    job = project.run(config)
    assert job.status == "error" and "over the budget" in job.error and "Nothing was run" in job.error
    assert "KEBOOLA_NB_BIGQUERY_BUDGET" in job.error
    assert queries == []
    assert project.storage.tables().equals(before)
    from keboola_nb import components

    estimate = components.get(config.component_id).estimate(config)
    assert estimate.billed == 5 * 10**9 + (-5 * 10**9) % (1 << 20) and estimate.usd > 0.02


def test_canary_private_key_never_in_project_or_outputs(project, gbq, capsys):
    config = _extractor(project, "connection: gbq\ntables:\n  - sales.orders\n")
    job = project.run(config)
    assert job.status == "success", job.error
    assert CANARY not in repr(job) + "\n".join(job.log) + capsys.readouterr().out
    hits = [str(p) for p in project.root.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert hits == []


def test_the_magics_path(project, bq_env, monkeypatch, capsys):
    import keboola_nb.magics as magics
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    diagnosis = shell.run_line_magic("keboola", f"connect gbq bigquery://test-proj/sales?unload={UNLOAD} "
                                                "--key-file-env GBQ_KEY")
    assert diagnosis.ok, diagnosis
    assert shell.run_line_magic("keboola", "connections")["secret"][0] == "vault GBQ_KEY: environment variable GBQ_KEY"
    assert "orders" in set(shell.run_line_magic("keboola", "tables gbq")["table"])
    assert len(shell.run_line_magic("keboola", "preview gbq sales.big --limit 4")) == 4
    shell.run_cell_magic("keboola", "extractor gbq-sales", (
        "connection: gbq\n"
        "queries:\n"
        "  - name: notes\n"
        "    query: SELECT id, note FROM `test-proj.sales.big` WHERE id <= 10\n"
        "    primary_key: [id]\n"))
    estimate = shell.run_line_magic("keboola", "cost gbq-sales")
    assert list(estimate["row"]) == ["notes"] and list(estimate["read"]) == ["query"]
    assert "budget" in capsys.readouterr().out
    job = shell.run_line_magic("keboola", "run gbq-sales")
    assert job.status == "success" and sum(t["rows"] for t in job.tables) == 10
    summary = shell.run_cell_magic("keboola", "writer gbq-back", (
        "connection: gbq\n"
        "tables:\n"
        f"  - table: in.c-keboola-ex-google-bigquery-v2-{job.config_id}.notes\n"
        "    db_name: notes_copy\n"))
    assert list(summary["target"]) == ["sales.notes_copy"]
    assert shell.run_line_magic("keboola", "run gbq-back").status == "success"
    assert bq_env.client().get_table("test-proj.sales.notes_copy").num_rows == 10
    with pytest.raises(UsageError, match="not a service-account key|does not exist"):
        shell.run_line_magic("keboola", "connect bad bigquery://test-proj/sales --key-file /no/such/key.json")
    assert CANARY not in capsys.readouterr().out
    monkeypatch.setattr(magics, "_project", None)
