"""TPC-H through our SQL transformation path, side by side with DuckDB running the same queries on the same tables.

    python benchmarks/transformations_tpch.py [--scale 1] [--repeat 3]

Generates TPC-H at `scale` with dbgen (the tpch extension from its PyPI wheel) straight into a fresh project's
storage (no source database: this measures the transformation, not extraction), creates the 22 queries as DuckDB SQL
transformations, then for each query takes the median of `repeat` runs (after `warmup` untimed ones; ours and the
anchor alternate) of:
- ours: `project.run(qNN)`: lock and open storage, check the SQL against the inputs, run it in the scratch
  database over views of the inputs, load the output into storage in a transaction,
- the anchor: the very same query text run by DuckDB in this process, in a fresh in-memory database that
  attaches the same storage file read-only, with views named like the inputs: `CREATE TABLE result AS <query>`,
  the query alone timed (no open, no close, nothing stored),
- a second anchor that, like ours, stores its result: DuckDB opens the storage file itself, makes temporary views
  named like the inputs, creates the result as a table in the file and closes it (what any process pays to put a
  query's result into the same storage file).
The ratio ours / anchor is our mapping overhead. Each output is also compared with the anchor's rows and, at scale
0.01, 0.1 and 1, with the official answers. Writes benchmarks/results/transformations_tpch.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from _measure import save_results  # noqa: E402
from tpch import (  # noqa: E402
    TABLES,
    answer_differences,
    differences,
    frame_rows,
    generate,
    tables_of,
    tpch_answers,
    tpch_queries,
)

BUCKET = "in.c-tpch"


def load_storage(project: Any, source: Path) -> dict[str, int]:
    """The 8 tables of the dbgen file `source` loaded into storage as in.c-tpch.*, in one transaction."""
    from keboola_nb.connectors.base import Scan

    with project.storage.connect() as con:
        con.execute(f"ATTACH '{source}' AS tpch_source (READ_ONLY)")
        with project.storage.transaction_on(con) as loader:
            loaded = {t: loader.load(f"{BUCKET}.{t}", Scan(sql=f"SELECT * FROM tpch_source.main.{t}")).rows
                      for t in TABLES}
        con.execute("DETACH tpch_source")
    return loaded


def anchor(storage_file: Path, query: str, tables: list[str]) -> tuple[float, list[tuple]]:
    """Seconds DuckDB takes to run `query` into a table, over views of the storage file's tables; and its rows."""
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute(f"ATTACH '{storage_file}' AS storage (READ_ONLY)")
        for table in tables:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = 'storage' AND schema_name = ? "
                "AND table_name = ? AND column_name <> '_timestamp' ORDER BY column_index",
                [BUCKET, table]).fetchall()]
            select = ", ".join(f'"{c}"' for c in columns)
            con.execute(f'CREATE VIEW {table} AS SELECT {select} FROM storage."{BUCKET}".{table}')
        started = time.perf_counter()
        con.execute(f"CREATE TABLE result AS {query}")
        seconds = time.perf_counter() - started
        return seconds, con.execute("SELECT * FROM result").fetchall()
    finally:
        con.close()


def stored_anchor(storage_file: Path, query: str, tables: list[str]) -> float:
    """Seconds DuckDB takes to open the storage file, run `query` into a table in it, and close it."""
    import duckdb

    settings = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    started = time.perf_counter()
    con = duckdb.connect(str(storage_file), config=settings)
    for table in tables:
        con.execute(f'CREATE TEMP VIEW {table} AS SELECT * EXCLUDE (_timestamp) FROM "{BUCKET}".{table}')
    con.execute('CREATE SCHEMA IF NOT EXISTS "out.c-anchor"')
    con.execute(f'CREATE OR REPLACE TABLE "out.c-anchor".result AS {query}')
    con.close()
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(storage_file), config=settings)  # not timed: leave the file as it was
    con.execute('DROP SCHEMA "out.c-anchor" CASCADE')
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/transformations_tpch.json"))
    args = parser.parse_args()

    import duckdb

    import keboola_nb as kb

    queries = tpch_queries()
    try:
        answers = tpch_answers(args.scale)
    except ValueError:
        answers = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "dbgen.duckdb"
        started = time.perf_counter()
        generate(args.scale, str(source)).close()
        generate_s = time.perf_counter() - started
        os.environ["KEBOOLA_NB_SECRETS_DIR"] = str(Path(tmp) / "secrets")
        project = kb.Project.open(Path(tmp) / "project")
        started = time.perf_counter()
        rows = load_storage(project, source)
        load_s = time.perf_counter() - started
        source.unlink()
        for number, query in queries.items():
            tables = tables_of(query)
            project.transformations.create_sql(
                f"q{number:02d}", f"CREATE TABLE result AS\n{query};", inputs=[f"{BUCKET}.{t} AS {t}" for t in tables],
                outputs=[f"result AS out.c-tpch.q{number:02d}"], dialect="duckdb")

        per_query = {}
        for number, query in queries.items():
            name, tables = f"q{number:02d}", tables_of(query)
            ours_samples, anchor_samples, stored_samples, load_samples = [], [], [], []
            # Interleaved, after one untimed run of each: a noisy neighbour or a cold cache hits both sides alike.
            for attempt in range(args.warmup + args.repeat):
                started = time.perf_counter()
                job = project.run(name)
                ours_s = time.perf_counter() - started
                if job.status != "success":
                    raise RuntimeError(f"{name}: {job.error}")
                anchor_s, anchor_rows = anchor(project.storage.path, query, tables)
                stored_s = stored_anchor(project.storage.path, query, tables)
                if attempt >= args.warmup:
                    ours_samples.append(ours_s)
                    anchor_samples.append(anchor_s)
                    stored_samples.append(stored_s)
                    load_samples.append(sum(t["seconds"] for t in job.tables))
            ours_s, anchor_s = statistics.median(ours_samples), statistics.median(anchor_samples)
            stored_s = statistics.median(stored_samples)
            output = frame_rows(project.storage.preview(f"out.c-tpch.{name}", limit=10**7))
            wrong = differences(output, anchor_rows)
            if number in answers:
                wrong += answer_differences(output, answers[number])
            per_query[name] = {"ours_s": round(ours_s, 4), "anchor_s": round(anchor_s, 4),
                               "ratio": round(ours_s / anchor_s, 3), "overhead_s": round(ours_s - anchor_s, 4),
                               "stored_anchor_s": round(stored_s, 4), "stored_ratio": round(ours_s / stored_s, 3),
                               "output_load_s": round(statistics.median(load_samples), 4), "rows": len(output),
                               "correct": not wrong, **({"differences": wrong[:3]} if wrong else {})}
            print(f"{name}: ours {ours_s:7.3f} s   anchor {anchor_s:7.3f} s   ratio {ours_s / anchor_s:5.2f}   "
                  f"stored anchor {stored_s:7.3f} s   ratio {ours_s / stored_s:5.2f}"
                  f"{'' if not wrong else '   WRONG: ' + wrong[0]}", flush=True)
        project.close()

    ours_total = sum(q["ours_s"] for q in per_query.values())
    anchor_total = sum(q["anchor_s"] for q in per_query.values())
    stored_total = sum(q["stored_anchor_s"] for q in per_query.values())
    results = {
        "scale_factor": args.scale, "repeat": args.repeat, "warmup": args.warmup, "cpu_cores": os.cpu_count(),
        "duckdb": duckdb.__version__, "lineitem_rows": rows["lineitem"],
        "generate_s": round(generate_s, 2), "load_into_storage_s": round(load_s, 2),
        "queries": per_query,
        "total": {"ours_s": round(ours_total, 3), "anchor_s": round(anchor_total, 3),
                  "ratio": round(ours_total / anchor_total, 3),
                  "overhead_per_query_s": round((ours_total - anchor_total) / len(per_query), 4),
                  "stored_anchor_s": round(stored_total, 3), "stored_ratio": round(ours_total / stored_total, 3)},
        "worst_ratio": max(per_query.items(), key=lambda kv: kv[1]["ratio"])[0],
        "all_correct": all(q["correct"] for q in per_query.values()),
        "within_1_2x_in_total": ours_total <= 1.2 * anchor_total,
        "within_1_2x_of_the_stored_anchor_in_total": ours_total <= 1.2 * stored_total,
    }
    save_results(args.out, results)
    print(f"{'query':6} {'ours s':>9} {'anchor s':>9} {'ratio':>6} {'stored s':>9} {'ratio':>6}")
    for name, q in per_query.items():
        print(f"{name:6} {q['ours_s']:9.3f} {q['anchor_s']:9.3f} {q['ratio']:6.2f} {q['stored_anchor_s']:9.3f} "
              f"{q['stored_ratio']:6.2f}{'' if q['correct'] else '  WRONG'}")
    total = results["total"]
    print(f"{'total':6} {total['ours_s']:9.3f} {total['anchor_s']:9.3f} {total['ratio']:6.2f} "
          f"{total['stored_anchor_s']:9.3f} {total['stored_ratio']:6.2f}")


if __name__ == "__main__":
    main()
