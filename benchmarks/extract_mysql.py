"""MySQL (MariaDB) extraction side by side with the anchors, in one run.

    python benchmarks/extract_mysql.py [--rows 2000000] [--repeat 3]

Starts its own MariaDB (Debian's binaries), builds the table of performance-anchors.md (int pk,
bigint, decimal(12,2), varchar(20), datetime, date, boolean, nullable text), then measures, interleaved
so all see the same machine load:
- our extractor, source to storage (a fresh process per run: wall time of the run, peak RSS),
- `mariadb --quick -B -N -e 'select * from big' > /dev/null`,
- `pandas.read_sql(q, pymysql_conn)`,
and the preview of 100 rows on the big table. Writes benchmarks/results/extract_mysql.json and
prints the ratios against the targets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import exact_sum, measured, median, preview_ms_median, save_results  # noqa: E402
from servers import MariaDbServer  # noqa: E402

TABLE_SQL = """
CREATE DATABASE bench;
USE bench;
CREATE TABLE bench.{name} (id int PRIMARY KEY, n bigint, amount decimal(12, 2), label varchar(20),
                           created datetime, day date, flag boolean, note text);
INSERT INTO bench.{name} SELECT seq, seq * 7, (seq % 100000) / 100.0, LEFT(MD5(seq), 20),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND, DATE '2024-01-01' + INTERVAL (seq % 1000) DAY,
       seq % 2 = 0, IF(seq % 5 = 0, NULL, CONCAT('note ', seq))
  FROM seq_1_to_{rows};
ANALYZE TABLE bench.{name}
"""

OUR_RUN = """
import json, sys, time
import keboola_nb as kb
project = kb.Project.open(sys.argv[1])
if "bench" not in project.connections.names():
    project.connections.add("bench", sys.argv[2])
    project.extractors.create("bench", "bench", ["big"])
import connectorx, duckdb, pyarrow  # loaded once per kernel; the anchors' imports are not timed either
started = time.perf_counter()
job = project.run("bench")
seconds = time.perf_counter() - started
assert job.status == "success", job.error
print(json.dumps({"seconds": seconds, "rows": job.rows["in.c-bench.big"]}))
"""

READ_SQL = """
import json, sys, time
import pandas as pd, pymysql
conn = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="root", database="bench")
started = time.perf_counter()
frame = pd.read_sql("SELECT * FROM big", conn)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": len(frame),
                  "amount_dtype": str(frame["amount"].dtype)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "extract_mysql.json"))
    args = parser.parse_args()

    server = MariaDbServer.start()
    work = Path(tempfile.mkdtemp(prefix="kbnb-bench-"))
    try:
        print(f"building {args.rows:,} rows ...", flush=True)
        server.execute(TABLE_SQL.format(name="big", rows=args.rows))
        env = {**os.environ, "KEBOOLA_NB_SECRETS_DIR": str(work / "secrets")}
        # exec: the measured process is the client itself, writing to /dev/null as in the anchor
        client = ["sh", "-c", f"exec mariadb --no-defaults -h 127.0.0.1 -P {server.port} -uroot --quick -B -N "
                  "-e 'select * from bench.big' > /dev/null"]
        ours, mariadb, pandas = [], [], []
        for i in range(args.repeat):
            print(f"round {i + 1}/{args.repeat}: extractor, mariadb client, pandas.read_sql", flush=True)
            ours.append(measured([sys.executable, "-c", OUR_RUN, str(work / f"project-{i}"),
                                  server.url("bench")], env))
            mariadb.append(measured(client, env))
            pandas.append(measured([sys.executable, "-c", READ_SQL, str(server.port)], env))

        our_s, client_s, pandas_s = median(ours, "seconds"), median(mariadb, "wall_seconds"), median(pandas, "seconds")
        results = {
            "rows": args.rows,
            "repeat": args.repeat,
            "extract": {
                "ours_seconds_median": our_s,
                "ours_process_wall_median": median(ours, "wall_seconds"),
                "ours_peak_rss_mb_max": max(r["peak_rss_mb"] for r in ours),
                "mariadb_client_seconds_median": client_s,
                "mariadb_client_peak_rss_mb": max(r["peak_rss_mb"] for r in mariadb),
                "pandas_read_sql_seconds_median": pandas_s,
                "pandas_peak_rss_mb": max(r["peak_rss_mb"] for r in pandas),
                "pandas_amount_dtype": pandas[0]["amount_dtype"],
                "ratio_ours_to_mariadb_client": our_s / client_s,
                "speedup_vs_pandas": pandas_s / our_s,
                "runs": {"ours": ours, "mariadb_client": mariadb, "pandas": pandas},
            },
            "exact_decimals": exactness(work / "project-0", server),
            "preview": preview_latency(work / "project-0", env),
            "targets": {"ratio_ours_to_mariadb_client": "<= 1.0", "speedup_vs_pandas": ">= 10",
                        "peak_rss_mb": "< 400"},
        }
        save_results(args.out, results)
        report(results)
    finally:
        server.stop()


def exactness(project_dir: Path, server: MariaDbServer) -> dict:
    with server.connect("bench") as conn, conn.cursor() as cur:
        cur.execute("SELECT CAST(SUM(amount) AS CHAR) FROM big")
        return exact_sum(project_dir, cur.fetchone()[0])


def preview_latency(project_dir: Path, env: dict[str, str]) -> dict:
    import keboola_nb as kb

    os.environ.update(env)
    conn = kb.Project.open(project_dir).connections.get("bench")
    conn.preview("big", 100)  # warm the connection
    return {"big_ms_median": preview_ms_median(conn, "big")}


def report(r: dict) -> None:
    e = r["extract"]
    print()
    print(f"extract {r['rows']:,} rows into storage: {e['ours_seconds_median']:.2f} s (mariadb client "
          f"{e['mariadb_client_seconds_median']:.2f} s -> ratio {e['ratio_ours_to_mariadb_client']:.2f}, target <= 1.0)")
    print(f"  pandas.read_sql {e['pandas_read_sql_seconds_median']:.2f} s -> we are {e['speedup_vs_pandas']:.1f}x faster "
          f"(target >= 10); amount became {e['pandas_amount_dtype']} there")
    print(f"  peak RSS {e['ours_peak_rss_mb_max']:.0f} MB (target < 400); mariadb client "
          f"{e['mariadb_client_peak_rss_mb']:.0f} MB, pandas {e['pandas_peak_rss_mb']:.0f} MB")
    x = r["exact_decimals"]
    print(f"  decimals: {x['storage_type']}, sum {x['storage_sum']} vs source {x['source_sum']} -> equal={x['equal']}")
    print(f"preview 100 rows of the big table: {r['preview']['big_ms_median']:.2f} ms")


if __name__ == "__main__":
    main()
