"""Writing a storage table to S3 as a CSV file (moto, an S3 emulator), side by side with DuckDB's own
`COPY ... TO` a local CSV file of the same table.

    python benchmarks/write_s3.py [--rows 1000000] [--repeat 3]

Fills storage with the table of write_postgres.py, then, interleaved, each in a fresh process (wall
time of the work, peak RSS):
- our S3 writer, storage to s3://bench-out/exports/big.csv (streamed to a temporary key, then copied
  over the final key, the temporary object removed),
- DuckDB opening the same storage file read-only and COPYing the table to a local CSV file.
Both files must be byte-identical. Writes benchmarks/results/write_s3.json.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import measured, median, save_results  # noqa: E402
from write_postgres import STORAGE_SQL  # noqa: E402

# Peak RSS is read in the child (VmHWM starts afresh at exec): the fork's own counter would include this
# process, which holds moto and every object it stores.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"

OUR_RUN = f"""
import json, sys, time
import keboola_nb as kb
project = kb.Project.open(sys.argv[1])
started = time.perf_counter()
job = project.run("bench-out")
seconds = time.perf_counter() - started
assert job.status == "success", job.error
print(json.dumps({{"seconds": seconds, "stream_seconds": job.tables[0]["seconds"], "rows": job.tables[0]["rows"],
                  "peak_mb": {PEAK}}}))
"""

ANCHOR_RUN = f"""
import json, sys, time
import duckdb
started = time.perf_counter()
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute('COPY (SELECT * EXCLUDE (_timestamp) FROM "in.c-bench".big) TO ' + repr(sys.argv[2]) +
                   ' (FORMAT csv, HEADER true)').fetchone()[0]
con.close()
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": rows, "peak_mb": {PEAK}}}))
"""

# The same COPY straight to the emulator, no temporary key: what moto's HTTP ingestion costs by itself.
DIRECT_RUN = ANCHOR_RUN.replace("import duckdb", """import duckdb
from keboola_nb.connectors.s3 import S3Connector""").replace(
    "read_only=True)", """read_only=True)
S3Connector("bench", {"bucket": "bench-out", "accessKeyId": "bench", "#secretAccessKey": "KBNB::env::BENCH_SK"}).attach(con)""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "write_s3.json"))
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    tmp = tempfile.TemporaryDirectory(prefix="kbnb-bench-")
    work = Path(tmp.name)
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}", "BENCH_SK": "bench-secret-access-key",
           "KEBOOLA_NB_SECRETS_DIR": str(work / "secrets")}
    os.environ.update(env)
    try:
        import keboola_nb as kb

        client = boto3.client("s3", aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        client.create_bucket(Bucket="bench-out")
        project = kb.Project.open(work / "project")
        print(f"filling storage with {args.rows:,} rows ...", flush=True)
        with project.storage.connect() as con:
            con.execute(STORAGE_SQL.format(rows=args.rows))
        project.connections.add("bench", "s3://bench-out/exports/", access_key="bench", password=kb.secret("BENCH_SK"))
        project.writers.create("bench-out", "bench", [{"table": "in.c-bench.big", "file": "big.csv"}])
        project.close()

        local = work / "big.csv"
        ours, anchor, direct = [], [], []
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            print(f"round {i + 1}/{args.repeat}: writer to moto, DuckDB COPY to a local file", flush=True)
            ours.append(measured([sys.executable, "-c", OUR_RUN, str(work / "project")], env))
            anchor.append(measured([sys.executable, "-c", ANCHOR_RUN, str(project.storage.path), str(local)], env))
            direct.append(measured([sys.executable, "-c", DIRECT_RUN, str(project.storage.path),
                                    "s3://bench-out/direct/big.csv"], env))
        body = client.get_object(Bucket="bench-out", Key="exports/big.csv")["Body"].read()
        same = hashlib.sha256(body).hexdigest() == hashlib.sha256(local.read_bytes()).hexdigest()
        client.delete_object(Bucket="bench-out", Key="direct/big.csv")
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="bench-out").get("Contents", [])]

        our_s, anchor_s = median(ours, "seconds"), median(anchor, "seconds")
        results = {
            "rows": args.rows,
            "repeat": args.repeat,
            "bytes": len(body),
            "write": {
                "ours_seconds_median": our_s,
                "ours_stream_to_temporary_key_seconds_median": median(ours, "stream_seconds"),
                "ours_process_wall_median": median(ours, "wall_seconds"),
                "ours_peak_rss_mb_max": max(r["peak_mb"] for r in ours),
                "duckdb_copy_local_seconds_median": anchor_s,
                "duckdb_copy_local_peak_rss_mb_max": max(r["peak_mb"] for r in anchor),
                "ratio_ours_to_local_copy": our_s / anchor_s,
                "duckdb_copy_straight_to_moto_seconds_median": median(direct, "seconds"),
                "runs": {"ours": ours, "duckdb_copy_local": anchor, "duckdb_copy_straight_to_moto": direct},
            },
            "same_bytes_as_local_copy": same,
            "objects_left_in_bucket": keys,
            "note": "moto keeps objects in this process's memory and serves them over HTTP; on real S3 the "
                    "network and the server-side copy set the pace",
        }
        save_results(args.out, results)
        w = results["write"]
        print(f"\nwrite {args.rows:,} rows ({len(body) / 1e6:.0f} MB CSV) storage -> S3 (moto): {our_s:.2f} s "
              f"(streaming {w['ours_stream_to_temporary_key_seconds_median']:.2f} s, then the copy over the final key), "
              f"peak RSS {w['ours_peak_rss_mb_max']:.0f} MB; DuckDB COPY to a local file {anchor_s:.2f} s, "
              f"{w['duckdb_copy_local_peak_rss_mb_max']:.0f} MB -> ratio {w['ratio_ours_to_local_copy']:.2f}")
        print(f"  DuckDB COPY straight to moto (no temporary key, not safe on failure): "
              f"{w['duckdb_copy_straight_to_moto_seconds_median']:.2f} s")
        print(f"  same bytes as the local copy: {same}; objects in the bucket: {keys}")
    finally:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
