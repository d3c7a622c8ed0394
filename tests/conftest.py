"""Shared fixtures: one real PostgreSQL and one MariaDB server for the session, a fresh project per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import MariaDbServer, PostgresServer  # noqa: E402

# fixtures several test files share
pytest_plugins = ["bigquery_fixtures", "snowflake_fixtures", "flow_fixtures", "tpch"]

# Canary secrets: they must never show up in a file, an output, a log or an error.
SUPERUSER_PASSWORD = "canary-Super-9b7d41"
ETL_PASSWORD = "canary-Etl-5e1f2c"
MYSQL_ETL_PASSWORD = "canary-MyEtl-7c3a9d"
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

-- No primary key, but unique NOT NULL columns: `code` is the narrowest key to suggest (email may be NULL).
CREATE TABLE keyed_by_code (region text NOT NULL, day date NOT NULL, code text NOT NULL, email text,
                            UNIQUE (email), UNIQUE (region, day), UNIQUE (code));
INSERT INTO keyed_by_code VALUES ('eu', '2024-01-01', 'A1', NULL), ('us', '2024-01-01', 'B2', 'b@example.com');

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


MYSQL_BIG_ROWS = 200_000

# Statements are split on ";": none may appear inside a literal.
MYSQL_SEED_SQL = f"""
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE USER 'etl'@'%' IDENTIFIED BY '{MYSQL_ETL_PASSWORD}';
GRANT SELECT ON shop.* TO 'etl'@'%';
USE shop;
SET SESSION sql_mode = '';

CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100) UNIQUE);
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_50;
CREATE TABLE orders (
    id int PRIMARY KEY,
    customer_id int NOT NULL,
    amount decimal(12, 2) NOT NULL,
    status enum('sad', 'ok', 'happy'),
    updated_at datetime NOT NULL,
    FOREIGN KEY (customer_id) REFERENCES customers (id)
);
INSERT INTO orders SELECT seq, 1 + seq % 50, ROUND(seq * 1.37, 2), ELT(1 + seq % 3, 'sad', 'ok', 'happy'),
                          TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq HOUR FROM seq_1_to_1000;

CREATE TABLE `Order Items` (`Line No` int, `OrderId` int, `název položky` varchar(50),
                            `Unit Price` decimal(8, 3), PRIMARY KEY (`OrderId`, `Line No`));
INSERT INTO `Order Items` VALUES (1, 1, 'čaj', 1.5), (2, 1, 'káva', 2.25), (1, 2, 'voda', 0.1);

CREATE TABLE no_pk (a int, b text);
INSERT INTO no_pk VALUES (1, 'x'), (1, 'x'), (2, NULL);
-- No primary key, but unique NOT NULL columns: `code` is the narrowest key to suggest (email may be NULL).
CREATE TABLE keyed_by_code (region varchar(8) NOT NULL, day date NOT NULL, code varchar(8) NOT NULL,
                            email varchar(40), UNIQUE (email), UNIQUE (region, day), UNIQUE (code));
INSERT INTO keyed_by_code VALUES ('eu', '2024-01-01', 'A1', NULL), ('us', '2024-01-01', 'B2', 'b@example.com');
CREATE TABLE empty_table (id int PRIMARY KEY, note text);

CREATE TABLE all_types (
    id int PRIMARY KEY,
    dec_big decimal(38, 10), dec_wide decimal(65, 30), money decimal(12, 2),
    u8 bigint unsigned, i8 bigint, u2 smallint unsigned, i1 tinyint, flag tinyint(1), yes_no boolean,
    f4 float, f8 double,
    d date, dt datetime(3), ts timestamp NULL, tm time, y year,
    t text, vc varchar(20), ch char(3), e enum('a', 'b'), j json, bin varbinary(8), bits bit(8)
);
INSERT INTO all_types VALUES
 (1, 1234567890123456789012345678.0123456789, 12345678901234567890123456789012345.123456789012345678901234567891,
  12.34, 18446744073709551615, 9007199254740993, 65535, -128, 1, 0, 1.5, 2.5,
  '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56', '838:59:59', 2024,
  'emoji 😀 and čaj', 'varchar', 'abc', 'b', '{{"b": [1, 2]}}', x'00ff', b'10101010'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -0.5, 0, -0.01, 0, -1, 0, 127, 0, 1, NULL, NULL,
  '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-01:00:00', 1999,
  '', 'v', 'x', 'a', '[]', x'', b'0'),
 (4, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, NULL, '2024-00-10', '2024-05-00 10:00:00', NULL, '00:00:00', NULL,
  'partial zero dates', NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE big (id int PRIMARY KEY, amount decimal(12, 2) NOT NULL, note varchar(40),
                  updated_at datetime NOT NULL);
INSERT INTO big SELECT seq, (seq % 100000) / 100.0, CONCAT('note ', seq),
                       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_{MYSQL_BIG_ROWS};

-- A slow source for "the source dies mid-extract": 200 pauses of 20 ms over the big table.
CREATE VIEW slow_big AS SELECT id, amount, updated_at, IF(id % 1000 = 0, SLEEP(0.02), 0) AS pause FROM big;

ANALYZE TABLE customers, orders, `Order Items`, no_pk, empty_table, all_types, big
"""


@pytest.fixture(scope="session")
def mariadb() -> MariaDbServer:
    server = MariaDbServer.start()
    try:
        server.execute(MYSQL_SEED_SQL)
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("SHOP_PG_PASSWORD", ETL_PASSWORD)
    monkeypatch.setenv("SHOP_MY_PASSWORD", MYSQL_ETL_PASSWORD)
    proj = kb.Project.open(tmp_path / "project")
    yield proj
    proj.close()


@pytest.fixture
def ip(project, monkeypatch):  # type: ignore[no-untyped-def]
    """A real IPython shell with the extension loaded, its magics working on `project`."""
    from IPython.core.interactiveshell import InteractiveShell

    import keboola_nb.magics as magics

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    yield shell
    monkeypatch.setattr(magics, "_project", None)


@pytest.fixture
def shop(project, pg):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    return project.connections.add("shop", pg.url("shop", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))


@pytest.fixture
def myshop(project, mariadb):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    return project.connections.add("myshop", mariadb.url("shop", "etl"), password=kb.secret("SHOP_MY_PASSWORD"))


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
            if any(p.encode() in data for p in (ETL_PASSWORD, SUPERUSER_PASSWORD, MYSQL_ETL_PASSWORD)):
                hits.append(str(path))
    return hits
