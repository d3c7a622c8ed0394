"""One job lifecycle for every component: start the Job, check and choose the rows, let the component do its
work, then save the state it earned and end the Job, or fail with one clear message.

The state is saved only after the component's `run` has returned, i.e. after its data has committed, so a
failed run leaves storage, targets and state as they were, and running it again does the same work again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol

from ..errors import KeboolaError
from ..store.secrets import redact
from .progress import NoProgress, Progress, watch_query

if TYPE_CHECKING:
    from ..connectors.base import Scan
    from ..model.configuration import Configuration
    from ..storage.storage import DeleteWhere, Loader, LoadResult, Storage
    from ..store.settings import Settings
    from .jobs import Job, JobStore
    from .state import StateStore


class Runnable(Protocol):
    """What the runner asks of a component (every component is one: components/component.py)."""

    type: ClassVar[str]
    untouched: ClassVar[str]

    def check(self, config: "Configuration") -> list[tuple[str, Any]]: ...

    def enabled(self, params: Any) -> bool: ...

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None: ...

    def explain(self, error: Exception, where: str, untouched: str) -> str: ...


@dataclass
class Run:
    """What a component's `run` works with, and how it reports: progress, job notes and tables, state."""

    config: "Configuration"
    job: "Job"
    progress: Progress
    storage: "Storage"
    state: "StateStore"
    where: str = ""  # what the run is doing now ("writing X to Y"); a failure message starts with it
    untouched: str = ""  # what a failure left as it was; a component may change it as the run goes
    new_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: Callable[[str], "Configuration"] | None = None  # the project's configurations, by name or id
    runs: Callable[["Configuration", int], "Job"] | None = None  # runs another configuration as a task of this job
    resume: Any = None  # a flow's earlier failed run to go on from (components/flow/runner.py's Resume)
    settings: "Settings | None" = None  # the project's own settings (e.g. the SMTP server for notifications)

    def note(self, line: str) -> None:
        self.job.note(line)

    def row_state(self, row_id: str) -> dict[str, Any]:
        """The state the row's last successful run saved."""
        return self.state.row(self.config.id, row_id)

    def save_state(self, row_id: str, state: dict[str, Any]) -> None:
        """State for the row, saved by the runner once the run has succeeded."""
        self.new_state[row_id] = state

    def source(self, row_name: str) -> str:
        """How a storage table names the row that loaded it."""
        return f"{self.config.component_id}/{self.config.name}/{row_name}"

    def load(self, loader: "Loader", row_name: str, table_id: str, scan: "Scan", *, incremental: bool,
             primary_key: list[str], watermark_column: str | None = None, read: Callable[[], str] = str,
             delete_where: "DeleteWhere | None" = None, **details: Any) -> "LoadResult":
        """Load one row's scan into a storage table inside the run's transaction, and record it in the job;
        `read()`, asked once the rows are in, says how they were read (" in 3 page(s) over REST"). The caller
        says in `where` what it is loading where."""
        started = time.perf_counter()
        with watch_query(loader.con, self.progress):
            result = loader.load(table_id, scan, incremental=incremental, primary_key=primary_key,
                                 watermark_column=watermark_column, source=self.source(row_name),
                                 delete_where=delete_where)
        seconds = time.perf_counter() - started
        self.job.tables.append({"table_id": result.table_id, "rows": result.rows, "seconds": round(seconds, 3),
                                "total_rows": result.total_rows, "incremental": result.incremental, **details})
        self.note(f"{row_name}: {result.rows:,} rows{read()} in {seconds:.2f} s; table has {result.total_rows:,}")
        return result


def run(component: Runnable, config: "Configuration", *, jobs: "JobStore", storage: "Storage",
        state: "StateStore", rows: list[str] | None = None, progress: Progress | None = None,
        actor: str = "user", configs: Callable[[str], "Configuration"] | None = None,
        runs: Callable[["Configuration", int], "Job"] | None = None, parent_id: int | None = None,
        resume: Any = None, settings: "Settings | None" = None) -> "Job":
    """Run `config` with its component and return the Job; a failure is in `job.error`. `configs` and `runs` let a
    component reach other configurations (a flow runs them as its tasks); `parent_id` is the flow's job; `resume`
    (flows only) an earlier run to go on from."""
    job = jobs.start(config.component_id, config.id, config.name, actor, parent_id=parent_id)
    work = Run(config, job, progress or NoProgress(), storage, state, untouched=component.untouched, configs=configs,
               runs=runs, resume=resume, settings=settings)
    try:
        selected = select_rows(component, config, rows)
        work.note(f"{config.name} ({config.component_id}): {len(selected)} row(s)")
        component.run(work, selected)
    except KeboolaError as e:
        job.tables.clear()
        job.note(f"failed: {e}")
        at = f"{work.where}: " if work.where and "stopped by the user" not in e.what else ""
        fix = f"\n  How to fix: {e.fix}" if e.fix else ""
        return jobs.finish(job, "error", f"{at}{e.what.rstrip('.')}. {work.untouched}{fix}")
    except Exception as e:  # a driver's error: the component names what failed, briefly
        job.tables.clear()
        job.note(f"failed: {redact(str(e))}")
        return jobs.finish(job, "error", component.explain(e, work.where or f"running {config.name!r}", work.untouched))
    if work.new_state:  # only now: the component's data has committed
        state.update(config.id, work.new_state)
        job.note(f"state saved: {work.new_state}")
    work.progress.finish(f"{sum(t['rows'] for t in job.tables):,} rows into {len(job.tables)} table(s)")
    return jobs.finish(job, "success")


def select_rows(component: Runnable, config: "Configuration", wanted: list[str] | None) -> list[tuple[str, str, Any]]:
    """(row id, row name, parameters) of the named rows, or of every enabled row, checked by Keboola's rules.
    A configuration without rows (a transformation) runs as one, with no row id."""
    if not config.rows:
        if wanted:
            raise KeboolaError(f"{component.type} {config.name!r} has no rows", fix="run it without naming rows")
        return [("", name, params) for name, params in component.check(config)]
    by_name = {name: (config.row(name).id, name, params) for name, params in component.check(config)}
    if wanted:
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise KeboolaError(f"{component.type} {config.name!r} has no row(s) {', '.join(missing)}",
                               fix=f"its rows are: {', '.join(by_name)}")
        return [by_name[w] for w in wanted]
    chosen = [e for e in by_name.values() if component.enabled(e[2]) and not config.row(e[1]).is_disabled]
    if not chosen:
        raise KeboolaError(f"{component.type} {config.name!r} has no enabled rows", fix="enable a row, or name one to run")
    return chosen


def error_line(error: Exception, text: str | None = None) -> str:
    """The first line of an error's text (default: the error's own), secrets redacted; its type when it has none."""
    text = text or str(error)
    return redact(text).strip().splitlines()[0] if text.strip() else type(error).__name__


def explain_error(error: Exception, where: str, untouched: str) -> str:
    """A driver's error in one line: where it happened, its first line, and what was left as it was."""
    text = error_line(error)
    if "interrupted" in text.lower():
        return f"{where} was stopped by the user. {untouched}"
    return f"{where} failed: {text}. {untouched}"
