"""S3 extraction (CSV files in moto, an S3 emulator) into storage, next to DuckDB reading the same
files from local disk.

    python benchmarks/extract_s3.py [--rows 1000000] [--files 10] [--repeat 3]

Both sides end with a DuckDB table holding the rows; the extractor also lists the keys, reads over
HTTP from the emulator and swaps the table into storage. Writes benchmarks/results/extract_s3.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import boto3
import duckdb
from moto.server import ThreadedMotoServer

import keboola_nb as kb

RESULTS = Path(__file__).resolve().parent / "results" / "extract_s3.json"


def make_files(folder: Path, rows: int, files: int) -> list[Path]:
    con = duckdb.connect()
    per_file = rows // files
    paths = []
    for i in range(files):
        path = folder / f"part-{i:03d}.csv"
        con.execute(
            f"""COPY (SELECT {i * per_file} + range AS id, range * 7 AS n, (range % 100000) / 100.0 AS amount,
                       md5(range::VARCHAR)[:20] AS label, TIMESTAMP '2024-01-01' + to_seconds(range) AS created
                  FROM range({per_file})) TO '{path}' (HEADER)"""
        )
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ENDPOINT_URL_S3=f"http://{host}:{port}", BENCH_AK="bench", BENCH_SK="bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "files"
            folder.mkdir()
            paths = make_files(folder, args.rows, args.files)
            client = boto3.client("s3", aws_access_key_id="bench", aws_secret_access_key="bench",
                                  region_name="us-east-1")
            client.create_bucket(Bucket="bench-exports")
            for path in paths:
                client.upload_file(str(path), "bench-exports", f"exports/{path.name}")
            total_bytes = sum(p.stat().st_size for p in paths)

            project = kb.Project.open(Path(tmp) / "project")
            project.connections.add("bench", "s3://bench-exports/exports/", access_key="bench",
                                    password=kb.secret("BENCH_SK"))
            project.extractors.create("bench", "bench", [{"key": "exports/part-*", "table": "big"}])
            ours, local = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                job = project.run("bench")
                ours.append(time.perf_counter() - started)
                assert job.status == "success" and job.tables[0]["rows"] == args.rows, job.error

                started = time.perf_counter()
                con = duckdb.connect(str(Path(tmp) / "local.duckdb"))
                con.execute(f"CREATE OR REPLACE TABLE big AS SELECT * FROM read_csv('{folder}/part-*.csv')")
                assert con.execute("SELECT count(*) FROM big").fetchone()[0] == args.rows
                con.close()
                local.append(time.perf_counter() - started)
            project.close()
    finally:
        server.stop()

    result = {
        "rows": args.rows, "files": args.files, "bytes": total_bytes, "repeat": args.repeat,
        "extractor_from_moto_s": round(statistics.median(ours), 3),
        "duckdb_read_csv_local_s": round(statistics.median(local), 3),
        "ratio": round(statistics.median(ours) / statistics.median(local), 2),
        "note": "moto serves the files over HTTP from this process; on real S3 the network sets the pace",
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
