"""The flow runner's own cost: a flow of no-op tasks, side by side with running the same configurations one by one.

    python benchmarks/flows.py [--phases 5] [--tasks 10] [--repeat 3] [--warmup 1]

Makes a fresh project with `phases * tasks` SQL transformations that do nothing measurable (`CREATE TABLE t AS
SELECT 1 AS x`, no inputs, each its own output table) and a flow running them in `phases` phases of `tasks` tasks
(a phase's tasks run in parallel, the phases one after another). Then, after `warmup` untimed rounds, takes the
median of `repeat` rounds (the two alternate) of:
- the flow: `project.run(flow)`: the flow's job, each phase's tasks as child jobs, transitions, the flow's end,
- the anchor: the same configurations run with `project.run(name)` one after another (each task's own work: its
  job, the check, the run, the output loaded into storage).
Overhead per task = (flow - anchor) / tasks: what the runner adds beyond the tasks' own work (negative when running
a phase's tasks in parallel saves more than the runner costs). Also from the flow's child jobs: the sum of the
phases' spans (first start to last finish in each phase) and what the flow took beyond them (its job, transitions).
Targets (from the issue): overhead per task < 50 ms; a 50-task flow of no-op tasks < 5 s.
Writes benchmarks/results/flows.json.
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
sys.path.insert(0, str(ROOT))

from _measure import save_results  # noqa: E402

FLOW = "noop-flow"
TARGET_OVERHEAD_MS = 50.0
TARGET_FLOW_S = 5.0


def make(project: Any, phases: int, tasks: int) -> list[list[str]]:
    """The no-op transformations and the flow over them; the names per phase."""
    names = [[f"noop-{p}-{t:02d}" for t in range(tasks)] for p in range(phases)]
    for phase in names:
        for name in phase:
            project.transformations.create_sql(name, "CREATE TABLE t AS SELECT 1 AS x", inputs=[],
                                               outputs=[f"t AS out.c-noop.{name.replace('-', '_')}"])
    body = {"phases": [{f"phase-{p}": phase} for p, phase in enumerate(names)]}
    project.flows.create(FLOW, body)
    return names


def run_flow(project: Any, tasks: int) -> dict[str, float]:
    started = time.perf_counter()
    job = project.run(FLOW)
    seconds = time.perf_counter() - started
    assert job.status == "success", job.error
    children = project.jobs.children(job.id)
    assert len(children) == tasks and all(c.status == "success" for c in children), children
    spans: dict[str, list[Any]] = {}
    for child in children:
        phase = child.config_name.rsplit("-", 1)[0]
        spans.setdefault(phase, []).append(child)
    phase_s = sum((max(c.finished for c in jobs) - min(c.started for c in jobs)).total_seconds()
                  for jobs in spans.values())
    return {"flow_s": seconds, "phases_span_s": phase_s, "task_s_sum": sum(c.duration for c in children)}


def run_direct(project: Any, names: list[str]) -> float:
    started = time.perf_counter()
    for name in names:
        job = project.run(name)
        assert job.status == "success", job.error
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phases", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10, help="tasks per phase")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/flows.json"))
    args = parser.parse_args()

    import keboola_nb as kb

    total_tasks = args.phases * args.tasks
    flows: list[dict[str, float]] = []
    direct: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KEBOOLA_NB_SECRETS_DIR"] = str(Path(tmp) / "secrets")
        project = kb.Project.open(Path(tmp) / "project")
        names = [name for phase in make(project, args.phases, args.tasks) for name in phase]
        for round_ in range(args.warmup + args.repeat):
            flow = run_flow(project, total_tasks)
            alone = run_direct(project, names)
            if round_ >= args.warmup:
                flows.append(flow)
                direct.append(alone)
            print(f"round {round_ + 1}{' (warm-up)' if round_ < args.warmup else ''}: flow {flow['flow_s']:.3f} s, "
                  f"one by one {alone:.3f} s", flush=True)
        project.close()

    flow_s = statistics.median(f["flow_s"] for f in flows)
    direct_s = statistics.median(direct)
    phases_s = statistics.median(f["phases_span_s"] for f in flows)
    overhead_ms = (flow_s - direct_s) / total_tasks * 1000
    results = {
        "phases": args.phases, "tasks_per_phase": args.tasks, "tasks": total_tasks, "repeat": args.repeat,
        "warmup": args.warmup, "cpu_cores": os.cpu_count(),
        "flow_s": flow_s, "direct_s": direct_s, "overhead_per_task_ms": overhead_ms,
        "direct_per_task_ms": direct_s / total_tasks * 1000,
        "flow_phases_span_s": phases_s, "flow_beyond_phases_s": flow_s - phases_s,
        "flow_task_seconds_sum": statistics.median(f["task_s_sum"] for f in flows),
        "target_overhead_per_task_ms": TARGET_OVERHEAD_MS, "target_flow_s": TARGET_FLOW_S,
        "meets_overhead_target": overhead_ms < TARGET_OVERHEAD_MS, "meets_flow_target": flow_s < TARGET_FLOW_S,
        "runs": {"flow": flows, "direct_s": direct},
    }
    save_results(args.out, results)

    print(f"\n{total_tasks} no-op SQL transformations ({args.phases} phases x {args.tasks}), "
          f"medians of {args.repeat}, {os.cpu_count()} CPU(s)")
    print(f"{'':44} {'measured':>10} {'target':>10}")
    print(f"{'flow run (project.run(flow))':44} {flow_s:9.3f}s {TARGET_FLOW_S:9.1f}s")
    print(f"{f'the same {total_tasks} configurations one by one':44} {direct_s:9.3f}s")
    print(f"{'overhead per task (flow - one by one) / N':44} {overhead_ms:8.1f}ms {TARGET_OVERHEAD_MS:8.0f}ms")
    print(f"{'  one task alone':44} {direct_s / total_tasks * 1000:8.1f}ms")
    print(f"{'  phases (first start to last finish, summed)':44} {phases_s:9.3f}s")
    print(f"{'  flow beyond its phases':44} {flow_s - phases_s:9.3f}s")
    print(f"{'  child jobs durations, summed':44} {results['flow_task_seconds_sum']:9.3f}s")


if __name__ == "__main__":
    main()
