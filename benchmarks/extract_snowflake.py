"""Snowflake extraction (fakesnow's HTTP server, the real connector) into storage, next to the anchor:
`cursor.fetch_pandas_all()` of the same SELECT over the same connector.

    python benchmarks/extract_snowflake.py [--rows 1000000] [--repeat 3]

Both sides read the same rows from the same server in this process; ours also streams them as Arrow
batches into storage (exact types) and swaps the table in. Writes benchmarks/results/extract_snowflake.json.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import keboola_nb as kb  # noqa: E402
from _measure import save_results  # noqa: E402
from fakesnow_server import FakeSnowServer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "extract_snowflake.json"
PASSWORD = "bench-password"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("fakesnow.server").setLevel(logging.WARNING)  # one line per query otherwise

    server = FakeSnowServer({"bench": PASSWORD})
    os.environ["BENCH_SF_PASSWORD"] = PASSWORD
    try:
        server.execute("CREATE DATABASE BENCH", "CREATE SCHEMA BENCH.S",
                       "CREATE TABLE BENCH.S.BIG (ID NUMBER(38,0) PRIMARY KEY, AMOUNT NUMBER(12,2), NOTE VARCHAR, "
                       "UPDATED_AT TIMESTAMP_NTZ)",
                       f"INSERT INTO BENCH.S.BIG SELECT seq4(), MOD(seq4(), 100000) / 100, 'note ' || seq4(), "
                       f"DATEADD(second, seq4(), '2024-01-01'::TIMESTAMP_NTZ) FROM TABLE(GENERATOR(ROWCOUNT => {args.rows}))")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["KEBOOLA_NB_SECRETS_DIR"] = str(Path(tmp) / "secrets")
            project = kb.Project.open(Path(tmp) / "project")
            project.connections.add("bench", server.url("bench", "BENCH", "S"), password=kb.secret("BENCH_SF_PASSWORD"))
            project.extractors.create("bench", "bench", ["S.BIG"])
            connector = project.connections.get("bench").connector()
            sql = 'SELECT "ID", "AMOUNT", "NOTE", "UPDATED_AT" FROM BENCH."S"."BIG"'
            ours, anchor = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                job = project.run("bench")
                ours.append(time.perf_counter() - started)
                assert job.status == "success" and job.rows == {"in.c-bench.BIG": args.rows}, job.error
                conn = connector.open(statement_timeout=0)
                started = time.perf_counter()
                with conn.cursor() as cur:
                    cur.execute(sql)
                    frame = cur.fetch_pandas_all()
                anchor.append(time.perf_counter() - started)
                conn.close()
                assert len(frame) == args.rows
            types = dict(project.storage.query(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'BIG'").values.tolist())
            project.close()
    finally:
        server.stop()
    results = {
        "rows": args.rows,
        "repeat": args.repeat,
        "keboola_nb_extract_seconds_median": round(statistics.median(ours), 3),
        "anchor_fetch_pandas_all_seconds_median": round(statistics.median(anchor), 3),
        "ratio_ours_to_anchor": round(statistics.median(ours) / statistics.median(anchor), 2),
        "storage_types": types,
        "note": "ours streams Arrow batches into storage (DuckDB file, exact types, swap); the anchor only builds "
                "a DataFrame in memory",
    }
    save_results(str(RESULTS), results)
    print(results)


if __name__ == "__main__":
    main()
