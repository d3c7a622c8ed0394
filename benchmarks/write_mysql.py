"""Writing a storage table to MySQL (MariaDB), side by side with the `mariadb` client's LOAD DATA LOCAL INFILE.

    python benchmarks/write_mysql.py [--rows 1000000] [--repeat 3]

Starts its own MariaDB (Debian's binaries), fills storage with the table of performance-anchors.md
(int pk, bigint, decimal(12,2), text(20), timestamp, date, boolean, nullable text), then, interleaved:
- our writer, storage to MariaDB, full load (a fresh process per run: wall time of the run, peak RSS);
  with --insert the server refuses local files for these runs, so the writer sends multi-row INSERTs,
- `mariadb --local-infile -e "LOAD DATA LOCAL INFILE 'file.csv' ..."` into an empty table with the same
  columns and primary key.
The CSV file for the client is exported once beforehand; that time is reported separately, not counted.
Writes benchmarks/results/write_mysql.json and prints the ratio against the target (<= 1.5).
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
from servers import MariaDbServer  # noqa: E402
from write_postgres import OUR_RUN, STORAGE_SQL  # noqa: E402

TARGET_DDL = """DROP TABLE IF EXISTS {name};
CREATE TABLE {name} (id int PRIMARY KEY, n bigint, amount decimal(12, 2), label longtext, created datetime(6),
                     day date, flag tinyint(1), note longtext) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--insert", action="store_true",
                        help="turn the server's local_infile off for our runs: the writer falls back to INSERTs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "write_mysql.json"))
    args = parser.parse_args()

    server = MariaDbServer.start()
    work = Path(tempfile.mkdtemp(prefix="kbnb-bench-"))
    env = {**os.environ, "KEBOOLA_NB_SECRETS_DIR": str(work / "secrets")}
    os.environ.update(env)
    try:
        import keboola_nb as kb

        server.execute("CREATE DATABASE bench CHARACTER SET utf8mb4")
        project = kb.Project.open(work / "project")
        print(f"filling storage with {args.rows:,} rows ...", flush=True)
        with project.storage.connect() as con:
            con.execute(STORAGE_SQL.format(rows=args.rows))
        project.connections.add("bench", server.url("bench"))
        project.writers.create("bench-out", "bench", [{"table": "in.c-bench.big", "db_name": "ours"}])
        csv_path = work / "big.csv"
        started = time.perf_counter()
        with project.storage.connect() as con:  # the client's usual format: NULL as \N, booleans as 0 / 1
            con.execute(f"""COPY (SELECT * EXCLUDE (_timestamp, flag), flag::INTEGER AS flag FROM "in.c-bench".big)
                            TO '{csv_path}' (HEADER false, NULLSTR '\\N')""")
        export_s = time.perf_counter() - started
        project.close()

        load = (f"LOAD DATA LOCAL INFILE '{csv_path}' INTO TABLE theirs CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
                "OPTIONALLY ENCLOSED BY '\"' (id, n, amount, label, created, day, note, flag)")
        client = ["mariadb", "--no-defaults", "--local-infile=1", "-h", "127.0.0.1", "-P", str(server.port),
                  "-uroot", "bench", "-e", load]
        ours, theirs = [], []
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            print(f"round {i + 1}/{args.repeat}: writer, mariadb client", flush=True)
            server.execute(f"SET GLOBAL local_infile = {0 if args.insert else 1}")
            ours.append(measured([sys.executable, "-c", OUR_RUN, str(work / "project")], env))
            server.execute("SET GLOBAL local_infile = 1")
            server.execute(TARGET_DDL.format(name="theirs"), database="bench")
            theirs.append(measured(client, env))
        with server.connect("bench") as conn, conn.cursor() as cur:
            cur.execute("SELECT (SELECT sum(amount) FROM ours) = (SELECT sum(amount) FROM theirs) AND "
                        "(SELECT count(*) FROM ours) = (SELECT count(*) FROM theirs) AND "
                        "(SELECT count(note) FROM ours) = (SELECT count(note) FROM theirs) AND "
                        "(SELECT sum(flag) FROM ours) = (SELECT sum(flag) FROM theirs)")
            same = bool(cur.fetchone()[0])
            cur.execute("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'bench' "
                        "AND TABLE_NAME = 'ours' AND COLUMN_NAME = 'amount'")
            our_type = cur.fetchone()[0]

        our_s, client_s = median(ours, "seconds"), median(theirs, "wall_seconds")
        results = {
            "rows": args.rows,
            "our_load_path": "multi-row INSERT" if args.insert else "LOAD DATA LOCAL INFILE",
            "repeat": args.repeat,
            "write": {
                "ours_seconds_median": our_s,
                "ours_process_wall_median": median(ours, "wall_seconds"),
                "ours_peak_rss_mb_max": max(r["peak_rss_mb"] for r in ours),
                "mariadb_load_data_seconds_median": client_s,
                "mariadb_client_peak_rss_mb": max(r["peak_rss_mb"] for r in theirs),
                "csv_export_seconds_not_counted": export_s,
                "ratio_ours_to_mariadb_client": our_s / client_s,
                "runs": {"ours": ours, "mariadb_client": theirs},
            },
            "same_data_as_client": same,
            "amount_type_in_target": our_type,
            "targets": {"ratio_ours_to_mariadb_client": "<= 1.5"},
        }
        save_results(args.out, results)
        w = results["write"]
        print(f"\nwrite {args.rows:,} rows storage -> MariaDB: {our_s:.2f} s (mariadb LOAD DATA LOCAL from file "
              f"{client_s:.2f} s -> ratio {w['ratio_ours_to_mariadb_client']:.2f}, target <= 1.5); "
              f"CSV export for the client {export_s:.2f} s not counted")
        print(f"  peak RSS {w['ours_peak_rss_mb_max']:.0f} MB; same rows and sums as the client: {same}; "
              f"amount is {our_type}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
