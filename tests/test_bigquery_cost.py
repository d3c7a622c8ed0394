"""BigQuery pricing, budget and configuration rules: pure unit tests (no emulator)."""

from __future__ import annotations

import pytest

from keboola_nb.errors import KeboolaError
from keboola_nb.components.bigquery_extractor import cost
from keboola_nb.components.bigquery_extractor.model import Query
from keboola_nb.components.bigquery_writer.model import bq_type

MIB, TIB = 1 << 20, 1 << 40


def test_prices_file_names_its_source_and_date():
    prices = cost.prices()
    assert prices["query_per_tib"] > 0 and prices["storage_read_per_tib"] > 0
    assert prices["source"].startswith("https://cloud.google.com/bigquery/pricing") and prices["checked"]


def test_queries_bill_whole_mib_with_a_10_mib_minimum():
    assert cost.billed_bytes(0) == 0
    assert cost.billed_bytes(1) == 10 * MIB
    assert cost.billed_bytes(10 * MIB + 1) == 11 * MIB
    assert cost.billed_bytes(3 * TIB) == 3 * TIB
    assert cost.billed_bytes(5, table_read=True) == 5  # the Storage Read API bills the bytes read


def test_dollars_follow_the_price_per_tib():
    price = cost.prices()["query_per_tib"]
    assert cost.dollars(2 * TIB) == pytest.approx(2 * price)
    assert cost.dollars(TIB // 2, table_read=True) == pytest.approx(cost.prices()["storage_read_per_tib"] / 2)


def test_sizes_and_budget_from_the_environment(monkeypatch):
    assert cost.parse_size("50GB") == 50 * 10**9 and cost.parse_size("1TiB") == TIB
    assert cost.parse_size(" 2.5 MiB ") == int(2.5 * MIB) and cost.parse_size("123") == 123
    with pytest.raises(KeboolaError, match="not a size"):
        cost.parse_size("lots")
    monkeypatch.delenv(cost.BUDGET_ENV, raising=False)
    assert cost.budget() == cost.prices()["default_budget_bytes"]
    monkeypatch.setenv(cost.BUDGET_ENV, "20GiB")
    assert cost.budget() == 20 * (1 << 30)


def test_estimate_over_budget_names_the_largest_row():
    estimate = cost.Estimate(budget=100 * MIB)
    estimate.add("small", 1, table_read=False)  # billed at the 10 MiB minimum
    estimate.add("table", 50 * MIB, table_read=True)
    assert estimate.billed == 60 * MIB
    estimate.check()  # within budget
    estimate.add("huge", 2 * TIB, table_read=False)
    with pytest.raises(KeboolaError) as caught:
        estimate.check()
    assert "'huge'" in caught.value.what and "over the budget" in caught.value.what
    assert estimate.usd == pytest.approx(cost.dollars(10 * MIB) + cost.dollars(50 * MIB, True) + cost.dollars(2 * TIB))
    assert list(estimate.frame()["row"]) == ["small", "table", "huge"]


def test_table_reads_are_recognised_only_in_the_generated_form():
    read = Query(query="SELECT `a`, `b c` FROM `p.d.t`", tableName="t").table_read()
    assert read == ("p", "d", "t", ["a", "b c"])
    assert Query(query="SELECT * FROM `p.d.t`", tableName="t").table_read() == ("p", "d", "t", [])
    assert Query(query="SELECT * FROM `p.d.t` WHERE x", tableName="t").table_read() is None
    assert Query(query="SELECT * FROM `p.d.t`", tableName="t", useLegacySql=True).table_read() is None
    with pytest.raises(ValueError, match="tableName"):
        Query(query="SELECT 1", tableName="bad name")


def test_storage_types_map_to_bigquery_types():
    assert bq_type("DECIMAL(12,2)") == "NUMERIC" and bq_type("DECIMAL(38,9)") == "NUMERIC"
    assert bq_type("DECIMAL(38,10)") == "BIGNUMERIC" and bq_type("DECIMAL(38,0)") == "BIGNUMERIC"
    assert bq_type("TIMESTAMP WITH TIME ZONE") == "TIMESTAMP" and bq_type("TIMESTAMP") == "DATETIME"
    assert bq_type("INTEGER[]") == "JSON" and bq_type("BOOLEAN") == "BOOL" and bq_type("VARCHAR") == "STRING"


def test_connection_urls_carry_the_bucket_keboola_unloads_through():
    from keboola_nb.connectors.bigquery import KIND, parse_bigquery_url

    assert parse_bigquery_url("bigquery://p/d?location=EU&unload=gs://kbc-unload/exports") == {
        "project": "p", "dataset": "d", "location": "EU", "storage": "gs://kbc-unload/exports"}
    assert parse_bigquery_url("bigquery://p/d?unload=kbc-unload")["storage"] == "gs://kbc-unload"
    assert "storage" not in parse_bigquery_url("bigquery://p/d")
    with pytest.raises(KeboolaError, match="'gs://Kbc Unload' is not a Cloud Storage bucket"):
        parse_bigquery_url("bigquery://p/d?unload=gs://Kbc Unload")
    with pytest.raises(KeboolaError, match="not a BigQuery URL") as caught:
        parse_bigquery_url("bigquery://p/d?bucket=gs://b")
    assert "unload=gs://BUCKET" in caught.value.fix
    node = parse_bigquery_url("bigquery://p/d?unload=gs://kbc-unload")
    assert KIND.describe(node, {"key_env": "GBQ_KEY"}) == \
        "bigquery://p/d (key in $GBQ_KEY; Keboola unloads through gs://kbc-unload)"
