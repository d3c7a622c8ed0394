"""Database extractor and writer configurations against the real components' formats: the keys and shapes of their
own functional-test configurations and the nodes their configuration definitions accept (keboola/db-extractor-*,
keboola/db-writer-*, db-extractor-config and db-writer-config), field by field."""

from __future__ import annotations

import pytest

import keboola_nb as kb
from keboola_nb.connectors import Scan

# db-extractor-config DbNode (pgsql uses it as it is; mysql adds three keys; Snowflake four more).
EXTRACTOR_DB = {"driver", "host", "port", "database", "user", "#password", "ssh", "ssl", "initQueries"}
MYSQL_EXTRACTOR_DB = EXTRACTOR_DB | {"networkCompression", "transactionIsolationLevel", "queryTimeout"}
SNOWFLAKE_DB = EXTRACTOR_DB | {"schema", "warehouse", "roleName", "#privateKey"}
# db-writer-config DbNode, and the Snowflake writer's.
WRITER_DB = {"driver", "host", "port", "database", "schema", "user", "#password", "ssh", "ssl", "initQueries"}
SNOWFLAKE_WRITER_DB = WRITER_DB | {"warehouse", "#privateKey", "runId", "roleName"}
ITEM_KEYS = {"name", "dbName", "type", "size", "nullable", "default"}


def test_pgsql_extractor_row_is_shaped_like_the_components_incremental_fetching_test(project, shop):
    # db-extractor-pgsql tests/functional/incremental-fetching-int/source/data/config.json, merged root + row:
    fixture = {"id": 3, "enabled": True, "name": "auto-increment-timestamp",
               "outputTable": "in.c-main.auto-increment-timestamp", "incremental": True,
               "incrementalFetchingColumn": "_Weir%d I-D", "primaryKey": ["_Weir%d I-D"],
               "table": {"schema": "public", "tableName": "auto Increment Timestamp"},
               "db": {"host": "h", "port": "5432", "user": "u", "#password": "p", "database": "d"}}
    config = project.extractors.create("golden-pg", "shop",
                                       [{"table": "public.orders", "incremental_fetching_column": "updated_at"}])
    params = config.merged(config.rows[0])["parameters"]
    assert set(params) == set(fixture) - {"id"}  # the id is the legacy form's; rows have their own
    assert set(params["db"]) == set(fixture["db"])
    assert params["db"]["#password"] == "{{ vault.SHOP_PG_PASSWORD }}"
    for key, value in fixture.items():
        if key != "id":
            assert type(params[key]) is type(value) or key == "db", key
    assert params["table"] == {"schema": "public", "tableName": "orders"}
    assert (params["incremental"], params["incrementalFetchingColumn"], params["primaryKey"]) == \
        (True, "updated_at", ["id"])


def test_mysql_extractor_query_row_is_shaped_like_the_components_run_action_test(project, myshop):
    # db-extractor-mysql tests/functional/run-action-row/source/data/config.json, merged root + row:
    fixture = {"name": "sales", "query": "SELECT * FROM escaping", "outputTable": "in.c-main.escaping",
               "incremental": False, "primaryKey": None,
               "db": {"host": "h", "port": "3306", "user": "u", "#password": "p", "database": "d"}}
    config = project.extractors.create("golden-my", "myshop", [{"name": "sales", "query": "SELECT 1 AS id"}])
    params = config.merged(config.rows[0])["parameters"]
    assert set(params) - {"enabled"} == set(fixture) and set(params["db"]) == set(fixture["db"])
    assert set(params["db"]) <= MYSQL_EXTRACTOR_DB
    assert (params["name"], params["incremental"], params["primaryKey"]) == ("sales", False, [])


def test_snowflake_extractor_db_node_has_only_keys_the_component_accepts(project, sf):
    config = project.extractors.create("golden-sf", "sf", ["ORDERS"])
    db = config.configuration["parameters"]["db"]
    assert set(db) <= SNOWFLAKE_DB, set(db) - SNOWFLAKE_DB  # no account or protocol: the component refuses them
    assert {"host", "port", "database", "schema", "user", "#password", "warehouse"} <= set(db)


def test_a_configuration_without_a_password_is_refused_as_keboola_refuses_it(project, shop):
    import json

    config = project.extractors.create("pw", "shop", ["public.orders"])
    data = config.to_json()
    del data["configuration"]["parameters"]["db"]["#password"]
    with pytest.raises(kb.KeboolaError, match="#password is missing; Keboola's database components need one"):
        project.extractors.from_json(json.dumps(data))
    data["configuration"]["parameters"]["db"]["#privateKey"] = "{{ vault.KEY }}"  # pgsql has no key pair: refused
    with pytest.raises(kb.KeboolaError, match="privateKey"):
        project.extractors.from_json(json.dumps(data))


def _storage_table(project) -> None:  # type: ignore[no-untyped-def]
    with project.storage.transaction() as loader:
        loader.load("in.c-golden.simple", Scan("SELECT range::INTEGER AS id, 'n' || range AS name, "
                                               "'g' AS glasses FROM range(3)"), primary_key=["id"])


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "snowflake"])
def test_writer_rows_are_shaped_like_the_components_run_row_tests(project, kind, request, pg, monkeypatch):
    # db-writer-pgsql / db-writer-mysql tests/functional/run-row/source/data/config.json and db-writer-snowflake
    # tests/functional/incremental-write-int-no-pk/source/data/config.json, merged root + row:
    fixture_db = {"postgresql": {"host", "port", "user", "#password", "database", "schema"},
                  "mysql": {"host", "port", "user", "#password", "database"},
                  "snowflake": {"host", "port", "user", "#password", "database", "schema", "warehouse"}}[kind]
    fixture_row = {"tableId", "dbName", "export", "incremental", "primaryKey", "items"}
    _storage_table(project)
    if kind == "postgresql":
        project.connections.add("target", pg.url("shop", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))
    elif kind == "mysql":
        mariadb = request.getfixturevalue("mariadb")
        project.connections.add("target", mariadb.url("shop", "etl"), password=kb.secret("SHOP_MY_PASSWORD"))
    else:
        request.getfixturevalue("sf")
        snow = request.getfixturevalue("snow")
        project.connections.add("target", snow.url("etl", "SHOP", "SALES", warehouse="COMPUTE_WH"),
                                password=kb.secret("SF_PASSWORD"))
    config = project.writers.create(f"golden-{kind}", "target", ["in.c-golden.simple"])
    merged = config.merged(config.rows[0])
    params = merged["parameters"]
    assert set(params["db"]) <= (SNOWFLAKE_WRITER_DB if kind == "snowflake" else WRITER_DB)
    assert fixture_db - {"warehouse"} <= set(params["db"])  # the warehouse is the connection's choice
    if kind == "mysql":
        assert "schema" not in params["db"]  # the database is the schema
    assert set(params) - {"db"} <= fixture_row and {"tableId", "dbName", "items"} <= set(params)
    assert all(set(item) <= ITEM_KEYS for item in params["items"])
    assert [i["name"] for i in params["items"]] == ["id", "name", "glasses"]
    # The component finds its input by source == tableId (db-writer-config ExportConfig).
    assert [t["source"] for t in merged["storage"]["input"]["tables"]] == [params["tableId"]]
    assert params["primaryKey"] == ["id"] and config.component_id == {
        "postgresql": "keboola.wr-db-pgsql", "mysql": "keboola.wr-db-mysql", "snowflake": "keboola.wr-db-snowflake"}[kind]
