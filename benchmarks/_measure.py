"""Measuring helpers shared by the benchmarks: a child's wall time and peak RSS, medians, preview latency."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


def measured(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `cmd`; wall seconds, peak RSS (MB) of that process, and its JSON output if any."""
    # Output goes to files: waiting on the process (for its rusage) while it fills a pipe would hang.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read().decode(), err_file.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {err[-2000:]}")
    result = {"wall_seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def preview_ms_median(conn: Any, table: str, times: int = 50) -> float:
    """Median milliseconds of `times` 100-row previews of `table` through a warmed connection."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        assert len(conn.preview(table, 100)) == 100
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def save_results(out: str, results: dict) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(results, indent=2, default=str) + "\n")


def exact_sum(project_dir: Path, source_sum: str) -> dict:
    """Whether the extracted `amount` of in.c-bench.big kept its decimal type and sums exactly as at the source."""
    import keboola_nb as kb

    project = kb.Project.open(project_dir)
    ours = project.storage.query('SELECT sum(amount)::VARCHAR AS s, typeof(any_value(amount)) AS t FROM "in.c-bench".big')
    return {"storage_type": ours["t"][0], "storage_sum": ours["s"][0], "source_sum": source_sum,
            "equal": ours["s"][0] == source_sum}
