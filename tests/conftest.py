"""Shared fixtures: one real PostgreSQL server for the session, a fresh project per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import PostgresServer  # noqa: E402

# Canary secrets: they must never show up in a file, an output, a log or an error.
SUPERUSER_PASSWORD = "canary-Super-9b7d41"
ETL_PASSWORD = "canary-Etl-5e1f2c"
BIG_ROWS = 1_000_000

SEED_SQL = f"""
CREATE ROLE etl LOGIN PASSWORD '{ETL_PASSWORD}';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');

CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL,
    amount numeric(12, 2) NOT NULL,
    status mood,
    updated_at timestamptz NOT NULL
);
INSERT INTO orders SELECT i, i % 50, round(i * 1.37, 2), (ARRAY['sad','ok','happy']::mood[])[1 + i % 3],
                          timestamptz '2024-01-01 00:00+00' + i * interval '1 hour'
  FROM generate_series(1, 1000) i;

CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text UNIQUE);
INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com' FROM generate_series(1, 50) i;
ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;

CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Order Items" ("Line No" integer, "OrderId" integer, "název položky" text,
                                         "Unit Price" numeric(8, 3), PRIMARY KEY ("OrderId", "Line No"));
INSERT INTO "Sales Data"."Order Items" VALUES (1, 1, 'čaj', 1.5), (2, 1, 'káva', 2.25), (1, 2, 'voda', 0.1);

CREATE TABLE composite (region text, day date, value bigint, PRIMARY KEY (region, day));
INSERT INTO composite VALUES ('eu', '2024-01-01', 1), ('eu', '2024-01-02', 2), ('us', '2024-01-01', 3);

CREATE TABLE no_pk (a integer, b text);
INSERT INTO no_pk VALUES (1, 'x'), (1, 'x'), (2, NULL);

CREATE TABLE empty_table (id integer PRIMARY KEY, note text);

CREATE TABLE all_types (
    id integer PRIMARY KEY,
    i2 smallint, i8 bigint, f4 real, f8 double precision,
    dec numeric(38, 10), dec_free numeric, money_col money,
    t text, vc varchar(10), ch char(3), b boolean,
    d date, ts timestamp, tstz timestamptz, tm time, iv interval,
    j json, jb jsonb, ints integer[], texts text[], m mood, u uuid, bin bytea
);
INSERT INTO all_types VALUES
 (1, 1, 9007199254740993, 1.5, 2.5, 12345678901234567890.0123456789, 123456789012345678901234567890.123456789,
  12.34, 'text', 'varchar', 'abc', true, '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56+05:30',
  '23:59:59', '1 day 2 hours', '{{"a": 1}}', '{{"b": [1, 2]}}', '{{1,2,NULL}}', '{{"a","b c"}}', 'happy',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE big (id integer PRIMARY KEY, amount numeric(12, 2) NOT NULL, note text,
                  updated_at timestamptz NOT NULL);
INSERT INTO big SELECT i, (i % 100000) / 100.0, 'note ' || i,
                       timestamptz '2024-01-01 00:00+00' + i * interval '1 second'
  FROM generate_series(1, {BIG_ROWS}) i;

-- A slow source for "the source dies mid-extract": 1,000 pauses of 10 ms over the big table.
CREATE FUNCTION slow(i integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN IF i % 1000 = 0 THEN PERFORM pg_sleep(0.01); END IF; RETURN i; END $$;
CREATE VIEW slow_big AS SELECT slow(id) AS id, amount, updated_at FROM big;

-- Every row read from this view advances the sequence: it shows how many rows a preview pulled.
CREATE SEQUENCE rows_read;
CREATE VIEW counted AS SELECT nextval('rows_read') AS n, i FROM generate_series(1, 100000) i;
GRANT USAGE ON SEQUENCE rows_read TO etl;

-- Statistics say 100 rows, the table holds 150: estimates must come from the catalog, not count(*).
-- (No autovacuum on it: the seed is one transaction, so its inserts all count as changes since ANALYZE.)
CREATE TABLE stale_stats (id integer PRIMARY KEY) WITH (autovacuum_enabled = false);
INSERT INTO stale_stats SELECT generate_series(1, 100);

GRANT USAGE ON SCHEMA "Sales Data" TO etl;
GRANT SELECT ON ALL TABLES IN SCHEMA public, "Sales Data" TO etl;
ANALYZE;
INSERT INTO stale_stats SELECT generate_series(101, 150);
"""


@pytest.fixture(scope="session")
def pg() -> PostgresServer:
    server = PostgresServer.start(SUPERUSER_PASSWORD)
    server.execute("CREATE DATABASE shop")
    server.execute(SEED_SQL, database="shop")
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("SHOP_PG_PASSWORD", ETL_PASSWORD)
    proj = kb.Project.open(tmp_path / "project")
    yield proj
    proj.close()


@pytest.fixture
def shop(project, pg):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    return project.connections.add("shop", pg.url("shop", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The local Messages API stand-in; the real SDK in this process reaches it through the environment."""
    from standin import StandIn

    with StandIn() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        yield server


def scan_for_canaries(folder: Path) -> list[str]:
    """Files under `folder` that contain a canary secret."""
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if ETL_PASSWORD.encode() in data or SUPERUSER_PASSWORD.encode() in data:
                hits.append(str(path))
    return hits
