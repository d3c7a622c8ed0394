"""Working in a big kbc project folder, side by side with reading the same files with nothing but `json`.

    python benchmarks/kbc_layout.py [--configs 300] [--rows 3] [--repeat 5]

Lays out a folder as `kbc pull` leaves it (one branch, N configurations of 3 rows each, every one with
config.json, meta.json and description.md), then times, in this process, the median of `repeat` runs of:
- listing every configuration (`project.configs.list()`), against reading every config.json and meta.json
  with `json.loads` (the floor: what any reader must at least do),
- finding the last configuration by name, and by id,
- saving a configuration of that folder again (a new version: folder swapped in, manifest rewritten).
Writes benchmarks/results/kbc_layout.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _measure import save_results  # noqa: E402


def lay_out(root: Path, configs: int, rows: int) -> None:
    entries = []
    for c in range(configs):
        path = f"extractor/keboola.ex-db-pgsql/config-{c}"
        folder = root / "main" / path
        row_entries = []
        for r in range(rows):
            row = folder / f"rows/table-{r}"
            row.mkdir(parents=True)
            (row / "config.json").write_text(json.dumps({"parameters": {
                "table": {"schema": "public", "tableName": f"table_{r}"}, "outputTable": f"in.c-c{c}.table_{r}",
                "primaryKey": ["id"], "incremental": False}}, indent=2))
            (row / "meta.json").write_text(json.dumps({"name": f"table-{r}", "isDisabled": False}))
            (row / "description.md").write_text("\n")
            row_entries.append({"id": f"{c}{r:03d}", "path": f"rows/table-{r}"})
        (folder / "config.json").write_text(json.dumps({"parameters": {"db": {
            "host": "db", "port": 5432, "database": "shop", "user": "etl", "#password": "{{ vault.PW }}"}}}, indent=2))
        (folder / "meta.json").write_text(json.dumps({"name": f"Config {c}", "isDisabled": False}))
        (folder / "description.md").write_text("\n")
        entries.append({"branchId": 987, "componentId": "keboola.ex-db-pgsql", "id": str(1000 + c), "path": path,
                        "rows": row_entries})
    (root / ".keboola").mkdir(parents=True)
    (root / ".keboola/manifest.json").write_text(json.dumps({
        "version": 2, "project": {"id": 12345, "apiHost": "connection.keboola.com"}, "allowTargetEnv": False,
        "sortBy": "id", "naming": {"config": "{component_type}/{component_id}/{config_name}",
                                   "configRow": "rows/{config_row_name}"},
        "allowedBranches": ["__main__"], "branches": [{"id": 987, "path": "main"}], "configurations": entries},
        indent=2))
    (root / "main/meta.json").write_text(json.dumps({"name": "Main", "isDefault": True}))


def plain_read(root: Path) -> int:
    """Every configuration's and row's config.json and meta.json through json.loads: the floor."""
    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    count = 0
    for entry in manifest["configurations"]:
        folder = root / "main" / entry["path"]
        for part in [folder, *(folder / r["path"] for r in entry["rows"])]:
            json.loads((part / "config.json").read_text())
            json.loads((part / "meta.json").read_text())
        count += 1
    return count


def timed(work: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", type=int, default=300)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/kbc_layout.json"))
    args = parser.parse_args()

    import keboola_nb as kb

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kbc"
        lay_out(root, args.configs, args.rows)
        project = kb.Project.open(root)
        last = f"Config {args.configs - 1}"
        assert len(project.configs.list()) == args.configs == plain_read(root)
        config = project.configs.get(last)
        results = {
            "configurations": args.configs, "rows_each": args.rows, "repeat": args.repeat,
            "list_ms": timed(project.configs.list, args.repeat),
            "plain_json_read_ms": timed(lambda: plain_read(root), args.repeat),
            "find_by_name_ms": timed(lambda: project.configs.get(last), args.repeat),
            "find_by_id_ms": timed(lambda: project.configs.get(config.id), args.repeat),
            "save_ms": timed(lambda: project.configs.save(config), args.repeat),
        }
        results["list_vs_plain_read"] = results["list_ms"] / results["plain_json_read_ms"]
    save_results(args.out, results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
