"""Writing a storage table to PostgreSQL, side by side with `psql \\copy t from file` of the same data.

    python benchmarks/write_postgres.py [--rows 1000000] [--repeat 3]

Starts its own PostgreSQL (Debian's binaries), fills storage with the table of performance-anchors.md
(int pk, bigint, numeric(12,2), text(20), timestamp, date, boolean, nullable text), then, interleaved:
- our writer, storage to PostgreSQL, full load (a fresh process per run: wall time of the run, peak RSS),
- `psql \\copy t from 'file.csv' (format csv)` into an empty table with the same columns and primary key.
The CSV file for psql is exported once beforehand; that time is reported separately, not counted.
Writes benchmarks/results/write_postgres.json and prints the ratio against the target (<= 1.5).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import measured, median, save_results  # noqa: E402
from servers import PostgresServer, postgres_bin  # noqa: E402

PASSWORD = "bench-password"

STORAGE_SQL = """
CREATE SCHEMA IF NOT EXISTS "in.c-bench";
CREATE OR REPLACE TABLE "in.c-bench".big AS
SELECT i::INTEGER AS id, i::BIGINT * 7 AS n, ((i % 100000) / 100)::DECIMAL(12, 2) AS amount,
       md5(i::VARCHAR)[:20] AS label, TIMESTAMP '2024-01-01' + i * INTERVAL 1 SECOND AS created,
       (DATE '2024-01-01' + (i % 1000)::INTEGER) AS day, i % 2 = 0 AS flag,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END AS note, now() AS _timestamp
  FROM range(1, {rows} + 1) t(i);
INSERT INTO _keboola_nb.tables VALUES ('in.c-bench.big', ['id'], {rows}, NULL, now(), now(), 'benchmark');
"""

TARGET_DDL = """DROP TABLE IF EXISTS {name};
CREATE TABLE {name} (id integer PRIMARY KEY, n bigint, amount numeric(12, 2), label text, created timestamp,
                     day date, flag boolean, note text)"""

OUR_RUN = """
import json, sys, time
import keboola_nb as kb
project = kb.Project.open(sys.argv[1])
started = time.perf_counter()
job = project.run("bench-out")
seconds = time.perf_counter() - started
assert job.status == "success", job.error
print(json.dumps({"seconds": seconds, "rows": job.rows["in.c-bench.big"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "write_postgres.json"))
    args = parser.parse_args()

    server = PostgresServer.start(PASSWORD)
    work = Path(tempfile.mkdtemp(prefix="kbnb-bench-"))
    env = {**os.environ, "BENCH_PG_PASSWORD": PASSWORD, "KEBOOLA_NB_SECRETS_DIR": str(work / "secrets"),
           "PGPASSWORD": PASSWORD}
    os.environ.update(env)
    try:
        import keboola_nb as kb

        project = kb.Project.open(work / "project")
        print(f"filling storage with {args.rows:,} rows ...", flush=True)
        with project.storage.connect() as con:
            con.execute(STORAGE_SQL.format(rows=args.rows))
        project.connections.add("bench", f"postgresql://postgres@127.0.0.1:{server.port}/postgres",
                                password=kb.secret("BENCH_PG_PASSWORD"))
        project.writers.create("bench-out", "bench", [{"table": "in.c-bench.big", "db_name": "ours"}])
        csv_path = work / "big.csv"
        started = time.perf_counter()
        with project.storage.connect() as con:
            con.execute(f"""COPY (SELECT * EXCLUDE (_timestamp) FROM "in.c-bench".big) TO '{csv_path}' (HEADER false)""")
        export_s = time.perf_counter() - started
        project.close()

        psql = str(postgres_bin() / "psql") if (postgres_bin() / "psql").exists() else "psql"
        psql_cmd = [psql, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-q",
                    "-c", f"\\copy theirs from '{csv_path}' (format csv)"]
        ours, theirs = [], []
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            print(f"round {i + 1}/{args.repeat}: writer, psql", flush=True)
            ours.append(measured([sys.executable, "-c", OUR_RUN, str(work / "project")], env))
            server.execute(TARGET_DDL.format(name="theirs"))
            theirs.append(measured(psql_cmd, env))
        with server.connect() as conn:
            same = conn.execute("SELECT (SELECT sum(amount) FROM ours) = (SELECT sum(amount) FROM theirs) AND "
                                "(SELECT count(*) FROM ours) = (SELECT count(*) FROM theirs)").fetchone()[0]
            our_type = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                    "WHERE attrelid = 'ours'::regclass AND attname = 'amount'").fetchone()[0]

        our_s, psql_s = median(ours, "seconds"), median(theirs, "wall_seconds")
        results = {
            "rows": args.rows,
            "repeat": args.repeat,
            "write": {
                "ours_seconds_median": our_s,
                "ours_process_wall_median": median(ours, "wall_seconds"),
                "ours_peak_rss_mb_max": max(r["peak_rss_mb"] for r in ours),
                "psql_copy_seconds_median": psql_s,
                "psql_peak_rss_mb": max(r["peak_rss_mb"] for r in theirs),
                "csv_export_seconds_not_counted": export_s,
                "ratio_ours_to_psql": our_s / psql_s,
                "runs": {"ours": ours, "psql": theirs},
            },
            "same_data_as_psql": bool(same),
            "amount_type_in_target": our_type,
            "targets": {"ratio_ours_to_psql": "<= 1.5"},
        }
        save_results(args.out, results)
        w = results["write"]
        print(f"\nwrite {args.rows:,} rows storage -> PostgreSQL: {our_s:.2f} s (psql \\copy from file {psql_s:.2f} s "
              f"-> ratio {w['ratio_ours_to_psql']:.2f}, target <= 1.5); CSV export for psql {export_s:.2f} s not counted")
        print(f"  peak RSS {w['ours_peak_rss_mb_max']:.0f} MB; same rows and sum as psql: {same}; amount is {our_type}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
