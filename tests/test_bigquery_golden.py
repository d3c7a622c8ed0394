"""BigQuery extractor and writer configurations against the real components' formats, field by field.

Writer (`keboola.wr-google-bigquery-v2`, keboola/google-bigquery-writer): its `test/data/sample/config.json` (root
`dataset`, `tables[{dbName, export, tableId, incremental, items[{name, dbName, type}]}]`, input mapping `{source,
destination: tableId + ".csv", columns}`), what `app.py` reads of the root (`service_account`, `dataset`,
`location`) and its own tests' loads (full replaces, incremental appends). Extractor (`keboola.ex-google-bigquery-v2`):
the shape Keboola's UI adapters and Keboola's own template write (root `service_account` and `google{storage,
location}`; row `query{query, tableName, incremental, primaryKey, useLegacySql}`). The expected JSON is written here
from those sources; nothing is copied in.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from keboola_nb import components
from keboola_nb.connectors.base import Scan
from keboola_nb.errors import KeboolaError
from keboola_nb.model.configuration import Configuration

COLUMNS = ["string", "integer", "float", "boolean", "timestamp"]
# The sample's items: the writer hands each type to BigQuery as it is (legacy names here).
SAMPLE_ITEMS = [{"name": c, "dbName": c, "type": t}
                for c, t in zip(COLUMNS, ["STRING", "INTEGER", "FLOAT", "BOOLEAN", "TIMESTAMP"])]
SAMPLE_TABLE2 = {"dbName": "table2", "export": True, "tableId": "in.c-bucket.table2", "incremental": True,
                 "items": SAMPLE_ITEMS}
SAMPLE_INPUT1 = {"source": "in.c-bucket.table1", "destination": "in.c-bucket.table1.csv", "columns": COLUMNS}
ALIASES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}  # BigQuery's two names of one type
# The service_account keys: app.py requires the first four; Keboola's UI writes all of them.
ACCOUNT_REQUIRED = {"#private_key", "client_email", "token_uri", "project_id"}
ACCOUNT_UI = ACCOUNT_REQUIRED | {"type", "private_key_id", "client_id", "auth_uri", "auth_provider_x509_cert_url",
                                 "client_x509_cert_url"}
ACCOUNT = {"type": "service_account", "project_id": "test-proj", "private_key_id": "abc123",
           "#private_key": "{{ vault.GBQ_KEY }}", "client_email": "kbc@test-proj.iam.gserviceaccount.com",
           "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
           "token_uri": "https://oauth2.googleapis.com/token"}


def _sample_table(project, table_id: str = "in.c-bucket.table1") -> None:  # type: ignore[no-untyped-def]
    sql = ("SELECT * FROM (VALUES ('a', 1::BIGINT, 1.5::DOUBLE, true, TIMESTAMPTZ '2024-02-29 12:00:00+00'), "
           "('b', 2::BIGINT, -0.25::DOUBLE, false, NULL)) AS t(string, integer, float, boolean, timestamp)")
    with project.storage.transaction() as loader:
        loader.load(table_id, Scan(sql))


def _writer_config(project, root: dict[str, Any], tables: list[dict[str, Any]],  # type: ignore[no-untyped-def]
                   inputs: list[dict[str, Any]]) -> Configuration:
    """A writer in Keboola's row layout: the root's parameters, and one table with its input mapping per row."""
    rows = [{"id": str(i), "name": t["dbName"],
             "configuration": {"parameters": {"tables": [t]}, "storage": {"input": {"tables": [m]}}}}
            for i, (t, m) in enumerate(zip(tables, inputs))]
    return Configuration.from_json({"componentId": "keboola.wr-google-bigquery-v2", "id": "42", "name": "sample",
                                    "configuration": {"parameters": root}, "rows": rows})


def test_writer_row_is_shaped_like_the_writers_sample_config(project, monkeypatch):
    from bigquery_fixtures import KEY

    monkeypatch.setenv("GBQ_KEY", json.dumps(KEY))
    _sample_table(project)
    project.connections.add("gbq", "bigquery://test-proj/sample_schema", key_env="GBQ_KEY")
    config = project.writers.build("to-sample", "gbq", [{"table": "in.c-bucket.table1", "db_name": "table1"}])
    assert config.component_id == "keboola.wr-google-bigquery-v2"
    merged = config.merged(config.rows[0])
    expected = {
        "parameters": {
            "service_account": ACCOUNT,
            "dataset": "sample_schema",
            "location": "US",
            "tables": [{"dbName": "table1", "export": True, "tableId": "in.c-bucket.table1", "incremental": False,
                        "items": [{"name": "string", "dbName": "string", "type": "STRING"},
                                  {"name": "integer", "dbName": "integer", "type": "INT64"},
                                  {"name": "float", "dbName": "float", "type": "FLOAT64"},
                                  {"name": "boolean", "dbName": "boolean", "type": "BOOL"},
                                  {"name": "timestamp", "dbName": "timestamp", "type": "TIMESTAMP"}]}],
        },
        "storage": {"input": {"tables": [SAMPLE_INPUT1]}},
    }
    assert merged == expected
    # Field by field against the sample: the same table keys (table2 has them all), item keys, types and mapping.
    table = merged["parameters"]["tables"][0]
    assert set(table) == set(SAMPLE_TABLE2)
    assert [set(i) for i in table["items"]] == [set(i) for i in SAMPLE_ITEMS]
    assert [(i["name"], i["dbName"], i["type"]) for i in table["items"]] == \
        [(i["name"], i["dbName"], ALIASES.get(i["type"], i["type"])) for i in SAMPLE_ITEMS]
    assert merged["storage"]["input"]["tables"][0] == SAMPLE_INPUT1
    account = merged["parameters"]["service_account"]
    assert ACCOUNT_REQUIRED <= set(account) <= ACCOUNT_UI
    assert "primaryKey" not in table  # the writer never reads it


def test_the_writers_sample_tables_pass_our_checks_and_an_ignore_item_does_not(project):
    root = {"service_account": ACCOUNT, "dataset": "sample_schema"}  # no location: the sample has none
    table1 = {"dbName": "table1", "export": True, "tableId": "in.c-bucket.table1", "items": SAMPLE_ITEMS}
    table3 = {"dbName": "table3", "export": False, "tableId": "in.c-bucket.table3",
              "items": [{**i, "nullable": True} for i in SAMPLE_ITEMS]}
    # table3 has no input mapping in the sample (it is not exported); a row holds one, so it gets table1's form.
    inputs = [SAMPLE_INPUT1, {**SAMPLE_INPUT1, "source": "in.c-bucket.table2", "destination": "in.c-bucket.table2.csv"},
              {**SAMPLE_INPUT1, "source": "in.c-bucket.table3", "destination": "in.c-bucket.table3.csv"}]
    config = _writer_config(project, root, [table1, SAMPLE_TABLE2, table3], inputs)
    writer = components.get(config.component_id)
    checked = dict(writer.check(config))
    assert [checked[n].incremental for n in ("table1", "table2", "table3")] == [False, True, False]
    assert [writer.enabled(checked[n]) for n in ("table1", "table2", "table3")] == [True, True, False]
    assert checked["table1"].db.location is None
    assert [(i.name, i.type) for i in checked["table1"].written] == [(i["name"], i["type"]) for i in SAMPLE_ITEMS]
    ignored = copy.deepcopy(table1)
    ignored["items"][1]["type"] = "IGNORE"  # Keboola's UI never saves this; the writer would send it to BigQuery
    with pytest.raises(KeboolaError, match="item 'integer' has type 'IGNORE'"):
        writer.check(_writer_config(project, root, [ignored], inputs[:1]))


def test_writer_loads_as_the_writers_own_tests_full_replaces_incremental_appends(project, bq_env):
    client = bq_env.client()
    dataset = f"golden_{len(list(client.list_datasets()))}"
    client.create_dataset(dataset)
    _sample_table(project)
    project.connections.add("gbq", f"bigquery://test-proj/{dataset}", key_env="GBQ_KEY")
    config = project.writers.create("sync", "gbq", [{"table": "in.c-bucket.table1", "db_name": "sync"}])

    def count() -> int:
        return next(iter(client.query(f"SELECT count(*) AS n FROM `test-proj.{dataset}.sync`").result())).n

    for _ in range(2):  # test_write_table_sync_overwrite: two full loads hold the 2 rows once
        assert project.run(config).status == "success"
    assert count() == 2
    data = config.to_json()  # test_write_table_sync_append: then an incremental load of the same rows adds them
    data["rows"][0]["configuration"]["parameters"]["tables"][0]["incremental"] = True
    appended = project.writers.save(project.writers.from_json(json.dumps(data)), replace=True)
    job = project.run(appended)
    assert job.status == "success", job.error
    assert count() == 4
    schema = [(f.name, f.field_type, f.mode) for f in client.get_table(f"test-proj.{dataset}.sync").schema]
    assert [name for name, _, _ in schema] == COLUMNS and {mode for _, _, mode in schema} == {"NULLABLE"}


def test_extractor_is_shaped_like_keboolas_template_and_ui(project, bq_env):
    project.connections.add("gbq", "bigquery://test-proj/sales?location=EU&unload=gs://kbc-unload", key_env="GBQ_KEY")
    query = "SELECT id, note FROM `test-proj.sales.orders`"
    config = project.extractors.build("ga4", "gbq", [{"name": "event_params", "query": query}])
    assert config.component_id == "keboola.ex-google-bigquery-v2"
    root = config.configuration["parameters"]
    assert root == {"service_account": ACCOUNT, "google": {"storage": "gs://kbc-unload", "location": "EU"}}
    assert ACCOUNT_REQUIRED <= set(root["service_account"]) <= ACCOUNT_UI
    # keboola-as-code-templates ua-and-ga4-comparison rows/event-params/config.jsonnet, with our query:
    assert config.rows[0].configuration == {"parameters": {"query": {
        "query": query, "tableName": "event_params", "incremental": False, "primaryKey": [], "useLegacySql": False}}}


def test_keboolas_own_extractor_configurations_pass_our_checks(project):
    certs = {"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
             "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/kbc"}
    template_root = {"service_account": {**ACCOUNT, **certs},
                     "google": {"storage": "gs://my-cloud-storage-bucke", "location": "EU"}}  # the UI spec's bucket
    row = {"query": {"query": "SELECT event_name FROM `p.analytics.events`", "tableName": "event_params",
                     "incremental": False, "primaryKey": [], "useLegacySql": False}}
    data = {"componentId": "keboola.ex-google-bigquery-v2", "id": "7", "name": "ga4",
            "configuration": {"parameters": template_root},
            "rows": [{"id": "1", "name": "event-params", "configuration": {"parameters": row}}]}
    extractor = components.get("keboola.ex-google-bigquery-v2")
    [(_, params)] = extractor.check(Configuration.from_json(data))
    assert (params.google.storage, params.google.location) == ("gs://my-cloud-storage-bucke", "EU")
    assert params.query.tableName == "event_params" and params.query.useLegacySql is False
    # The UI's unload adapter defaults the location to US; v1's definition does the same.
    del data["configuration"]["parameters"]["google"]["location"]
    [(_, params)] = extractor.check(Configuration.from_json(data))
    assert params.google.location == "US"
    # Keboola's UI treats the bucket as required, and so does the v1 definition: so do we.
    del data["configuration"]["parameters"]["google"]["storage"]
    with pytest.raises(KeboolaError, match="google.storage"):
        extractor.check(Configuration.from_json(data))
