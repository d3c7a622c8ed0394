"""PostgreSQL extraction, preview and `%load_ext` speed, side by side with the anchors, in one run.

    python benchmarks/extract_postgres.py [--rows 5000000] [--repeat 3]

Starts its own PostgreSQL (Debian's binaries), builds the table of performance-anchors.md (int pk,
bigint, numeric(12,2), text(20), timestamp, date, boolean, nullable text), then measures:
- our extractor, source to storage (a fresh process per run: wall time of the run, peak RSS),
- `psql \\copy (select * from t) to '/dev/null'`,
- `pandas.read_sql(q, psycopg_conn)` (once: it is slow and large),
- preview of 100 rows on the big table and on a 100k-row table (warm connection),
- `%load_ext keboola_nb` in a fresh IPython.
Writes benchmarks/results/extract_postgres.json and prints the ratios against the targets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _measure import exact_sum, measured, median, preview_ms_median, save_results  # noqa: E402
from servers import PostgresServer, postgres_bin  # noqa: E402

PASSWORD = "bench-password"

TABLE_SQL = """
DROP TABLE IF EXISTS {name};
CREATE TABLE {name} (id integer PRIMARY KEY, n bigint, amount numeric(12, 2), label varchar(20),
                     created timestamp, day date, flag boolean, note text);
INSERT INTO {name} SELECT i, i::bigint * 7, (i % 100000) / 100.0, md5(i::text)::varchar(20),
       timestamp '2024-01-01' + i * interval '1 second', date '2024-01-01' + (i % 1000), i % 2 = 0,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END
  FROM generate_series(1, {rows}) i;
ANALYZE {name};
"""

OUR_RUN = """
import json, sys, time
import keboola_nb as kb
project = kb.Project.open(sys.argv[1])
if "bench" not in project.connections.names():
    project.connections.add("bench", sys.argv[2], password=kb.secret("BENCH_PG_PASSWORD"))
    project.extractors.create("bench", "bench", ["public.big"])
started = time.perf_counter()
job = project.run("bench")
seconds = time.perf_counter() - started
assert job.status == "success", job.error
print(json.dumps({"seconds": seconds, "rows": job.rows["in.c-bench.big"]}))
"""

READ_SQL = """
import json, sys, time
import pandas as pd, psycopg
conn = psycopg.connect(sys.argv[1])
started = time.perf_counter()
frame = pd.read_sql("SELECT * FROM big", conn)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": len(frame),
                  "amount_dtype": str(frame["amount"].dtype)}))
"""

LOAD_EXT = """
import json, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
started = time.perf_counter()
shell.run_line_magic("load_ext", "keboola_nb")
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "extract_postgres.json"))
    args = parser.parse_args()

    server = PostgresServer.start(PASSWORD)
    work = Path(tempfile.mkdtemp(prefix="kbnb-bench-"))
    try:
        print(f"building {args.rows:,} rows ...", flush=True)
        server.execute(TABLE_SQL.format(name="big", rows=args.rows))
        server.execute(TABLE_SQL.format(name="small", rows=100_000))
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{server.port}/postgres"
        env = {**os.environ, "BENCH_PG_PASSWORD": PASSWORD, "KEBOOLA_NB_SECRETS_DIR": str(work / "secrets"),
               "PGPASSWORD": PASSWORD}
        ours, psql = [], []
        psql_cmd = [str(postgres_bin() / "psql") if (postgres_bin() / "psql").exists() else "psql",
                    "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-q",
                    "-c", "\\copy (select * from big) to '/dev/null'"]
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            print(f"round {i + 1}/{args.repeat}: extractor, psql", flush=True)
            ours.append(measured([sys.executable, "-c", OUR_RUN, str(work / f"project-{i}"),
                                  f"postgresql://postgres@127.0.0.1:{server.port}/postgres"], env))
            psql.append(measured(psql_cmd, env))
        print("pandas.read_sql (once) ...", flush=True)
        pandas_run = measured([sys.executable, "-c", READ_SQL, url], env)

        exact = exactness(work / "project-0", server)
        preview = preview_latency(work / "project-0", env)
        load_ext = [measured([sys.executable, "-c", LOAD_EXT]) for _ in range(5)]

        our_s, psql_s = median(ours, "seconds"), median(psql, "wall_seconds")
        results = {
            "rows": args.rows,
            "repeat": args.repeat,
            "extract": {
                "ours_seconds_median": our_s,
                "ours_process_wall_median": median(ours, "wall_seconds"),
                "ours_peak_rss_mb_max": max(r["peak_rss_mb"] for r in ours),
                "psql_copy_seconds_median": psql_s,
                "psql_peak_rss_mb": max(r["peak_rss_mb"] for r in psql),
                "pandas_read_sql_seconds": pandas_run["seconds"],
                "pandas_peak_rss_mb": pandas_run["peak_rss_mb"],
                "pandas_amount_dtype": pandas_run["amount_dtype"],
                "ratio_ours_to_psql": our_s / psql_s,
                "speedup_vs_pandas": pandas_run["seconds"] / our_s,
                "runs": {"ours": ours, "psql": psql},
            },
            "exact_decimals": exact,
            "preview": preview,
            "load_ext_seconds_median": median(load_ext, "seconds"),
            "targets": {"ratio_ours_to_psql": "<= 1.0", "speedup_vs_pandas": ">= 5", "peak_rss_mb": "< 400",
                        "preview_ms_big": "< 50", "preview_ratio_big_to_small": "<= 1.2", "load_ext_seconds": "< 0.3"},
        }
        save_results(args.out, results)
        report(results)
    finally:
        server.stop()


def exactness(project_dir: Path, server: PostgresServer) -> dict:
    with server.connect() as conn:
        return exact_sum(project_dir, conn.execute("SELECT sum(amount)::text FROM big").fetchone()[0])


def preview_latency(project_dir: Path, env: dict[str, str]) -> dict:
    import keboola_nb as kb

    os.environ.update(env)
    project = kb.Project.open(project_dir)
    conn = project.connections.get("bench")
    conn.preview("public.big", 100)  # warm the connection

    big, small = preview_ms_median(conn, "public.big"), preview_ms_median(conn, "public.small")
    return {"big_ms_median": big, "small_ms_median": small, "ratio_big_to_small": big / small}


def report(r: dict) -> None:
    e = r["extract"]
    print()
    print(f"extract {r['rows']:,} rows into storage: {e['ours_seconds_median']:.2f} s "
          f"(psql \\copy {e['psql_copy_seconds_median']:.2f} s -> ratio {e['ratio_ours_to_psql']:.2f}, target <= 1.0)")
    print(f"  pandas.read_sql {e['pandas_read_sql_seconds']:.2f} s -> we are {e['speedup_vs_pandas']:.1f}x faster "
          f"(target >= 5); amount became {e['pandas_amount_dtype']} there")
    print(f"  peak RSS {e['ours_peak_rss_mb_max']:.0f} MB (target < 400); psql {e['psql_peak_rss_mb']:.0f} MB, "
          f"pandas {e['pandas_peak_rss_mb']:.0f} MB")
    x = r["exact_decimals"]
    print(f"  decimals: {x['storage_type']}, sum {x['storage_sum']} vs source {x['source_sum']} -> equal={x['equal']}")
    p = r["preview"]
    print(f"preview 100 rows: big {p['big_ms_median']:.2f} ms, 100k {p['small_ms_median']:.2f} ms "
          f"-> ratio {p['ratio_big_to_small']:.2f} (targets < 50 ms, <= 1.2)")
    print(f"%load_ext keboola_nb: {r['load_ext_seconds_median'] * 1000:.1f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
