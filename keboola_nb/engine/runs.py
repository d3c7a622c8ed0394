"""What every run of a configuration shares: starting its Job, choosing its rows, and ending the Job.

The state a run earned is saved only by `succeed`, i.e. after the run's data has committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..errors import KeboolaError
from ..model.components import component

if TYPE_CHECKING:
    from ..model.configuration import Configuration
    from ..project import Project
    from .jobs import Job
    from .progress import Progress

P = TypeVar("P")


def begin(project: "Project", config: "Configuration", progress: "Progress | None",
          actor: str) -> tuple["Job", "Progress"]:
    """The run's Job, started, and where its progress goes (nowhere when no face shows it)."""
    from .progress import NoProgress

    return project.jobs.start(config.component_id, config.id, config.name, actor), progress or NoProgress()


def select_rows(config: "Configuration", checked: list[tuple[str, P]], wanted: list[str] | None,
                enabled: Callable[[P], bool]) -> list[tuple[str, str, P]]:
    """(row id, row name, parameters) of the named rows, or of every enabled row."""
    what = component(config.component_id).type  # extractor, writer
    by_name = {name: (config.row(name).id, name, params) for name, params in checked}
    if wanted:
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise KeboolaError(f"{what} {config.name!r} has no row(s) {', '.join(missing)}",
                               fix=f"its rows are: {', '.join(by_name)}")
        return [by_name[w] for w in wanted]
    chosen = [e for e in by_name.values() if enabled(e[2]) and not config.row(e[1]).is_disabled]
    if not chosen:
        raise KeboolaError(f"{what} {config.name!r} has no enabled rows", fix="enable a row, or name one to run")
    return chosen


def succeed(project: "Project", job: "Job", config_id: str, new_state: dict[str, dict[str, Any]],
            progress: "Progress") -> "Job":
    if new_state:
        project.state.update(config_id, new_state)
        job.note(f"state saved: {new_state}")
    progress.finish(f"{sum(t['rows'] for t in job.tables):,} rows into {len(job.tables)} table(s)")
    return project.jobs.finish(job, "success")


def fail(project: "Project", job: "Job", error: KeboolaError, untouched: str, where: str = "") -> "Job":
    """A failure the user can fix: what, that nothing changed, and how to fix it."""
    job.tables.clear()
    job.note(f"failed: {error}")
    fix = f"\n  How to fix: {error.fix}" if error.fix else ""
    return project.jobs.finish(job, "error", f"{where}{error.what.rstrip('.')}. {untouched}{fix}")
