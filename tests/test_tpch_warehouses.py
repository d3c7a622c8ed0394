"""TPC-H pushed down to the warehouses: the 8 tables at SF 0.01 loaded into fakesnow (Snowflake) and bqemulator
(BigQuery) with TPC-H's types, extracted whole into storage, then each query transpiled by sqlglot into the
warehouse's dialect and run as a SQL transformation. Every input came whole from one connection, so the run is
pushed down: it runs in the warehouse (the job says so) and its output is streamed back into storage, where it is
compared row for row (decimals exact) with DuckDB running the original query on dbgen's data and with the official
answers. All 22 queries run in each warehouse, but Q13 for BigQuery: sqlglot cannot write it in BigQuery's dialect,
and create_sql refuses it at its line.

Two differences from the DuckDB reference are dealt with here, not hidden:
- fakesnow (not Snowflake) sums every number as a DOUBLE (see `exact_snowflake_sums`); Snowflake sums
  NUMBER(15,2) exactly, and so does fakesnow once that transform is off for this module.
- BigQuery's NUMERIC has 9 decimal places, and an AVG or a division of NUMERICs is NUMERIC: where the output is
  NUMERIC and DuckDB's reference a double, the reference is rounded to 9 places as BigQuery rounds, then compared
  exactly (see `as_numeric`).
fakesnow ignores the case of identifiers, quoted or not, so these tests cannot tell whether unquoted names in the
code would find the lower-case input views in a real Snowflake.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterator

import pytest
from bigquery_fixtures import KEY
from snowflake_fixtures import SF_PASSWORD, WAREHOUSE
from tpch import (
    POSTGRES_DDL,
    PRIMARY_KEYS,
    TABLES,
    answer_differences,
    differences,
    frame_rows,
    keboola_names,
    tables_of,
    transpiled,
)

from keboola_nb.errors import KeboolaError, KeboolaNotice
from keboola_nb.store.secrets import redact

NUMBERS = list(range(1, 23))
IDS = [f"q{n:02d}" for n in NUMBERS]
SF_DATABASE = "TPCH_WH"
SF_SCHEMA = "SF001"
SF_BUCKET = "in.c-tpch-sf"
CHUNK = 20_000  # rows per INSERT: one JSON array bound as a single parameter
BQ_DATASET = "tpch_wh"


def log(job: Any) -> str:
    return "\n".join(job.log)


@pytest.fixture(scope="module")
def exact_snowflake_sums() -> Iterator[None]:
    """fakesnow wraps the argument of every SUM and AVG in TRY_CAST(... AS DOUBLE) (its transform
    numeric_agg_implicit_cast, there so that Snowflake's implicit VARCHAR-to-number cast works in DuckDB), so a
    SUM of NUMBER(15,2) comes back FLOAT where Snowflake gives NUMBER(38,2). TPC-H sums no text: the transform
    is turned off for this module, so fakesnow sums numbers as Snowflake does and exactness can be checked."""
    import fakesnow.transforms as transforms

    assert callable(transforms.numeric_agg_implicit_cast)  # fakesnow renamed it: look at this fixture again
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transforms, "numeric_agg_implicit_cast", lambda expression: expression)
        yield


def snowflake_ddl() -> list[str]:
    """TPC-H's tables in Snowflake's words: unquoted (so upper-case) names, NUMBER(15,2), DATE, keys."""
    return [s.strip().replace("CREATE TABLE ", f"CREATE TABLE {SF_DATABASE}.{SF_SCHEMA}.", 1)
            .replace("DECIMAL(", "NUMBER(")
            for s in POSTGRES_DDL.split(";") if s.strip()]


@pytest.fixture(scope="module")
def tpch_snow(snow, tpch_source) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The 8 tables in fakesnow's TPCH_WH.SF001, filled through the Snowflake connector: each chunk of rows goes
    as one JSON array parameter, spread into typed columns by FLATTEN (one statement per chunk)."""
    snow.execute(f"CREATE DATABASE {SF_DATABASE}", f"CREATE SCHEMA {SF_DATABASE}.{SF_SCHEMA}", *snowflake_ddl())
    counts = {}
    with snow.connect(database=SF_DATABASE, schema=SF_SCHEMA, paramstyle="qmark") as conn, conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"DESCRIBE TABLE {table}")
            types = [str(row[1]) for row in cur.fetchall()]
            select = ", ".join(f"f.value[{i}]::{t}" for i, t in enumerate(types))
            rows = tpch_source.execute(f"SELECT * FROM {table}").fetchall()
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start:start + CHUNK]
                payload = json.dumps([[None if v is None else str(v) for v in row] for row in chunk])
                cur.execute(f"INSERT INTO {table} SELECT {select} FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f",
                            [payload])
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]  # type: ignore[index]
    assert counts == {t: len(tpch_source.execute(f"SELECT 1 FROM {t}").fetchall()) for t in TABLES}
    return counts


def bigquery_ddl() -> list[str]:
    """TPC-H's tables in BigQuery's words: INT64, NUMERIC(15,2), STRING(n), DATE (BigQuery has no keys)."""
    out = []
    for statement in (s.strip() for s in POSTGRES_DDL.split(";") if s.strip()):
        statement = re.sub(r",\s*PRIMARY KEY \([^)]*\)", "", statement).replace(" PRIMARY KEY", "")
        statement = re.sub(r"\b(INTEGER|BIGINT)\b", "INT64", statement).replace("DECIMAL(", "NUMERIC(")
        statement = re.sub(r"\b(VAR)?CHAR\(", "STRING(", statement)
        out.append(statement.replace("CREATE TABLE ", f"CREATE TABLE {BQ_DATASET}.", 1))
    return out


@pytest.fixture(scope="module")
def tpch_bq(emulator, tpch_source) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The 8 tables in bqemulator's dataset tpch_wh, loaded as newline-delimited JSON by load jobs."""
    from google.cloud import bigquery

    client = emulator.client()
    client.create_dataset(BQ_DATASET)
    for statement in bigquery_ddl():
        client.query(statement).result()
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", write_disposition="WRITE_APPEND")
    counts = {}
    for table in TABLES:
        cursor = tpch_source.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        body = "".join(json.dumps({n: None if v is None else str(v) for n, v in zip(names, row)}) + "\n"
                       for row in cursor.fetchall()).encode()
        client.load_table_from_file(io.BytesIO(body), f"{emulator.project}.{BQ_DATASET}.{table}",
                                    job_config=config).result()
        counts[table] = next(iter(client.query(f"SELECT COUNT(*) FROM {BQ_DATASET}.{table}").result()))[0]
    assert counts == {t: len(tpch_source.execute(f"SELECT 1 FROM {t}").fetchall()) for t in TABLES}
    return counts


@pytest.fixture(scope="module")
def wh_project(tmp_path_factory: pytest.TempPathFactory, snow, tpch_snow):  # type: ignore[no-untyped-def]
    """One project for the module; the Snowflake extractor has loaded the 8 tables into in.c-tpch-sf."""
    import keboola_nb as kb

    root = tmp_path_factory.mktemp("tpch_wh")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEBOOLA_NB_SECRETS_DIR", str(root / "secrets"))
        mp.setenv("SF_PASSWORD", SF_PASSWORD)
        mp.setenv("GBQ_KEY", json.dumps(KEY))
        project = kb.Project.open(root / "project")
        try:
            project.connections.add("tpch_snow", snow.url("etl", SF_DATABASE, SF_SCHEMA, warehouse=WAREHOUSE),
                                    password=kb.secret("SF_PASSWORD"))
            project.extractors.create("tpch_snow", "tpch_snow", [
                {"table": t.upper(), "output_table": f"{SF_BUCKET}.{t}"} for t in TABLES])
            job = project.run("tpch_snow")
            assert job.status == "success", job.error
            assert job.rows == {f"{SF_BUCKET}.{t}": n for t, n in tpch_snow.items()}
            yield project
        finally:
            project.close()


def pushed_down(project: Any, name: str, code: str, bucket: str, tables: list[str], output: str,
                dialect: str) -> tuple[Any, list[tuple]]:
    """Create and run `code` (which creates table `result`) as a SQL transformation: the job and its output rows."""
    names = keboola_names(tables, dialect)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KeboolaNotice)
        project.transformations.create_sql(
            name, f"CREATE TABLE result AS\n{code};", inputs=[f"{bucket}.{t} AS {names[t]}" for t in tables],
            outputs=[f"{names['result']} AS {output}"], dialect=dialect)
    notes = [str(w.message) for w in caught if issubclass(w.category, KeboolaNotice)]
    assert not [n for n in notes if "unquoted" in n], notes  # the code names its tables as Keboola will
    job = project.run(name)
    assert job.status == "success", f"{name}: {job.error}\n{log(job)}"
    return job, frame_rows(project.storage.preview(output, limit=10**6))


# Snowflake (fakesnow) ---------------------------------------------------------------------------------------

def test_snowflake_extraction_keeps_tpch_types_keys_and_values(wh_project, tpch_source):  # type: ignore[no-untyped-def]
    storage = wh_project.storage
    lineitem = storage.metadata(f"{SF_BUCKET}.lineitem")
    assert lineitem["columns"]["L_EXTENDEDPRICE"] == "DECIMAL(15,2)", lineitem["columns"]
    assert lineitem["columns"]["L_SHIPDATE"] == "DATE" and lineitem["columns"]["L_ORDERKEY"] == "BIGINT"
    for table, key in PRIMARY_KEYS.items():
        assert storage.metadata(f"{SF_BUCKET}.{table}")["primary_key"] == [k.upper() for k in key], table
    total = storage.query(f'SELECT sum(L_EXTENDEDPRICE)::VARCHAR AS s FROM "{SF_BUCKET}".lineitem')["s"][0]
    assert total == tpch_source.execute("SELECT sum(l_extendedprice)::VARCHAR FROM lineitem").fetchone()[0]


def scratch_schemas(snow: Any) -> list[str]:
    rows = snow.execute(f"SHOW SCHEMAS IN DATABASE {SF_DATABASE}")[0]
    return [r[1] for r in rows if str(r[1]).upper().startswith("KEBOOLA_NB_")]


@pytest.mark.parametrize("number", NUMBERS, ids=IDS)
def test_snowflake_query_runs_in_fakesnow_and_matches_duckdb_and_the_answer(
        number, wh_project, exact_snowflake_sums, snow, tpch_source, queries, answers):  # type: ignore[no-untyped-def]
    query = queries[number]
    tables = tables_of(query)
    job, ours = pushed_down(wh_project, f"sf_q{number:02d}", transpiled(query, "snowflake"), SF_BUCKET, tables,
                            f"out.c-tpch-sf.q{number:02d}", "snowflake")
    sources = ", ".join(f"{SF_DATABASE}.{SF_SCHEMA}.{t.upper()}" for t in tables)
    # the note is masked like every log line (other tests make moto's "test" a known secret value)
    assert redact(f"pushed down to Snowflake local/{SF_DATABASE}: inputs are {sources}") in log(job), log(job)
    assert "1 statement(s) ran in Snowflake" in log(job) and "ran locally" not in log(job)
    assert scratch_schemas(snow) == []
    direct = tpch_source.execute(query).fetchall()
    assert direct, "the query returned no rows in DuckDB: the comparison would prove nothing"
    assert job.rows == {f"out.c-tpch-sf.q{number:02d}": len(direct)}
    assert differences(ours, direct) == []
    assert answer_differences(ours, answers[number]) == []


# BigQuery (bqemulator) -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bq_bucket(wh_project, emulator, tpch_bq) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The BigQuery extractor's bucket, into which it loaded the 8 tables from bqemulator."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIGQUERY_EMULATOR_HOST", emulator.rest)
        mp.setenv("BIGQUERY_STORAGE_EMULATOR_HOST", emulator.grpc)
        wh_project.connections.add("tpch_gbq", f"bigquery://{emulator.project}/{BQ_DATASET}?unload=gs://kbc-unload",
                                   key_env="GBQ_KEY")
        tables = "".join(f"\n  - {BQ_DATASET}.{t}" for t in TABLES)
        config = wh_project.extractors.create_from_yaml("tpch_gbq", f"connection: tpch_gbq\ntables:{tables}\n")
        bucket = f"in.c-keboola-ex-google-bigquery-v2-{config.id}"
        job = wh_project.run("tpch_gbq")
        assert job.status == "success", job.error
        assert job.rows == {f"{bucket}.{t}": n for t, n in tpch_bq.items()}
        yield bucket


def scratch_datasets(emulator: Any) -> list[str]:
    return [d.dataset_id for d in emulator.client().list_datasets() if d.dataset_id.startswith("keboola_nb_")]


BQ_NUMBERS = [n for n in NUMBERS if n != 13]


# BigQuery's NUMERIC holds 9 decimal places, and its AVG and division of NUMERIC are NUMERIC, rounded half away
# from zero; DuckDB's are doubles. Where storage got NUMERIC's DECIMAL(38,9) for a double of the reference (or
# the answer's printed double), the reference is rounded as BigQuery rounds and must then match exactly.
NUMERIC_STEP = Decimal("1e-9")
NUMERIC_TYPE = "DECIMAL(38,9)"


def numeric_columns(project: Any, table_id: str) -> list[int]:
    types = list(project.storage.metadata(table_id)["columns"].values())
    return [i for i, t in enumerate(types) if t.replace(" ", "") == NUMERIC_TYPE]


def as_numeric(value: Any) -> Any:
    """A double (or a printed number with more places) as BigQuery's NUMERIC holds it."""
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(NUMERIC_STEP, rounding=ROUND_HALF_UP)
    if isinstance(value, str) and value.count(".") == 1 and len(value.split(".")[1]) > 9:
        return str(Decimal(value).quantize(NUMERIC_STEP, rounding=ROUND_HALF_UP))
    return value


def at_numeric_scale(rows: list[Any], columns: list[int]) -> list[Any]:
    return [type(row)(as_numeric(v) if i in columns else v for i, v in enumerate(row)) for row in rows]


def test_numeric_scale_is_bigquery_rounding_not_a_tolerance() -> None:
    """The rounding above is exact: a tenth place off, or a cent off an exact sum, still differs."""
    assert as_numeric(0.05008133906964238) == Decimal("0.050081339")
    assert as_numeric(-2.0000000005) == Decimal("-2.000000001") and as_numeric("0.05008133906964238") == "0.050081339"
    assert as_numeric("532348211.65") == "532348211.65" and as_numeric(7) == 7
    assert as_numeric(Decimal("505822441.4861")) == Decimal("505822441.4861")  # an exact sum stays exact
    assert at_numeric_scale([(0.05008133906964238, 0.5)], [0]) == [(Decimal("0.050081339"), 0.5)]
    assert differences([(Decimal("0.050081340"),)], at_numeric_scale([(0.05008133906964238,)], [0]))
    assert differences([(Decimal("505822441.4862"),)], at_numeric_scale([(Decimal("505822441.4861"),)], [0]))


@pytest.mark.parametrize("number", BQ_NUMBERS, ids=[f"q{n:02d}" for n in BQ_NUMBERS])
def test_bigquery_query_runs_in_bqemulator_and_matches_duckdb_and_the_answer(
        number, wh_project, bq_bucket, emulator, tpch_source, queries, answers):  # type: ignore[no-untyped-def]
    query = queries[number]
    tables = tables_of(query)
    output = f"out.c-tpch-bq.q{number:02d}"
    job, ours = pushed_down(wh_project, f"bq_q{number:02d}", transpiled(query, "bigquery"), bq_bucket, tables,
                            output, "bigquery")
    sources = ", ".join(f"{emulator.project}.{BQ_DATASET}.{t}" for t in tables)
    # the note is masked like every log line (other tests make moto's "test" a known secret value)
    assert redact(f"pushed down to BigQuery {emulator.project} (US): inputs are {sources}") in log(job), log(job)
    assert "1 statement(s) ran in BigQuery" in log(job) and "ran locally" not in log(job)
    assert scratch_datasets(emulator) == []
    direct = tpch_source.execute(query).fetchall()
    assert direct, "the query returned no rows in DuckDB: the comparison would prove nothing"
    assert job.rows == {output: len(direct)}
    numeric = numeric_columns(wh_project, output)
    assert differences(ours, at_numeric_scale(direct, numeric)) == []
    header, cells = answers[number]
    assert answer_differences(ours, (header, at_numeric_scale(cells, numeric))) == []


def test_bigquery_query_sqlglot_cannot_transpile_is_refused_with_its_line(  # type: ignore[no-untyped-def]
        wh_project, bq_bucket, queries):
    """Q13 names its derived table's columns (`AS c_orders (c_custkey, c_count)`), which BigQuery cannot: sqlglot's
    BigQuery text drops the names, and `c_count` then names nothing. create_sql refuses it at its line, before
    anything is saved or sent to the warehouse."""
    code = transpiled(queries[13], "bigquery")
    assert "c_orders(" not in code.replace(" ", "") and "c_count" in code
    text = f"CREATE TABLE result AS\n{code};"
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "c_count" in s)
    with pytest.raises(KeboolaError) as raised:
        wh_project.transformations.create_sql(
            "bq_q13", text, inputs=[f"{bq_bucket}.{t} AS {t}" for t in tables_of(queries[13])],
            outputs=["result AS out.c-tpch-bq.q13"], dialect="bigquery")
    message = str(raised.value)
    assert f"transformation 'bq_q13', line {line}, column 3: unknown column 'c_count'" in message, message
    assert "bq_q13" not in [c.name for c in wh_project.configs.list()]
    assert "out.c-tpch-bq.q13" not in set(wh_project.storage.tables()["id"])
