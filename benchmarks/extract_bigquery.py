"""BigQuery extraction from bqemulator into storage, next to the usual pandas path, in one run.

    python benchmarks/extract_bigquery.py [--rows 500000] [--repeat 3]

Sides (medians of --repeat interleaved runs):
- keboola_nb extractor, `tables:` entry: the table read over the Storage Read API (gRPC, Arrow) into storage;
- keboola_nb extractor, a query: its result paged over REST into storage (bqemulator cannot serve a query's
  result over the Storage Read API; real BigQuery can);
- the anchor: `client.query("SELECT * ...").to_dataframe()` over REST (a DataFrame in memory, no storage).
Needs .venv-bqemulator (scripts/test makes it). Writes benchmarks/results/extract_bigquery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _measure import save_results  # noqa: E402
from servers import BigQueryEmulator  # noqa: E402

import keboola_nb as kb  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "extract_bigquery.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    server = BigQueryEmulator.start("bench-proj")
    os.environ.update(BIGQUERY_EMULATOR_HOST=server.rest, BIGQUERY_STORAGE_EMULATOR_HOST=server.grpc)
    try:
        client = server.client()
        client.create_dataset("bench")
        client.query("CREATE TABLE bench.big AS SELECT x AS id, CONCAT('note ', CAST(x AS STRING)) AS note, "
                     "x % 3 = 0 AS flag, TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL x SECOND) AS ts "
                     f"FROM UNNEST(GENERATE_ARRAY(1, {args.rows})) AS x").result()
        with tempfile.TemporaryDirectory() as tmp:
            project = kb.Project.open(Path(tmp) / "project")
            project.connections.add("bench", "bigquery://bench-proj/bench")
            project.extractors.create("bench-table", "bench", [{"table": "bench.big"}])
            project.extractors.create("bench-query", "bench", [{"query": "SELECT id, note, flag, ts FROM "
                                                                "`bench-proj.bench.big` WHERE id > 0", "name": "big"}])
            times: dict[str, list[float]] = {"table": [], "query": [], "anchor": []}
            for _ in range(args.repeat):
                for side in ("table", "query"):
                    started = time.perf_counter()
                    job = project.run(f"bench-{side}")
                    times[side].append(time.perf_counter() - started)
                    assert job.status == "success" and job.tables[0]["rows"] == args.rows, job.error
                started = time.perf_counter()
                frame = client.query("SELECT * FROM `bench-proj.bench.big`").to_dataframe(create_bqstorage_client=False)
                times["anchor"].append(time.perf_counter() - started)
                assert len(frame) == args.rows
                del frame
            log = "\n".join(project.jobs.get(job.id).log)
            project.close()
    finally:
        server.stop()

    med = {side: round(statistics.median(values), 3) for side, values in times.items()}
    result = {
        "rows": args.rows, "repeat": args.repeat,
        "extractor_table_storage_read_api_s": med["table"],
        "extractor_query_rest_pages_s": med["query"],
        "anchor_query_to_dataframe_rest_s": med["anchor"],
        "ratio_table_vs_anchor": round(med["table"] / med["anchor"], 2),
        "ratio_query_vs_anchor": round(med["query"] / med["anchor"], 2),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "last_query_run_log": log.splitlines()[-1],
        "note": "bqemulator runs on the same 2 cores; the extractor's times include the dry run and the swap into storage",
    }
    save_results(str(RESULTS), result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
