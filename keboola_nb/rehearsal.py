"""A rehearsal: configurations built together before any of them is saved (a pipeline the assistant proposes:
extractors, transformations, writers, then the flow over them).

A later part reads tables an earlier part will make. The rehearsal stands in for them in a scratch storage: an
extractor's tables hold the first rows of its sources, a SQL transformation runs for real on those rows. So a
later part is checked, and typed, against real columns, and the chain has run once on a sample before the user
confirms. Python code is not run before the user confirms (it could do anything): its tables are `not_made`.
Nothing touches the project's storage, jobs or state; the scratch folder is gone when it ends.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import KeboolaError

if TYPE_CHECKING:
    import pandas as pd

    from .model.configuration import Configuration
    from .project import Project

SAMPLE_ROWS = 200  # rows of each source table a rehearsal reads (a LIMIT the source runs)


class Rehearsal:
    def __init__(self, project: "Project", rows: int = SAMPLE_ROWS) -> None:
        self.rows = rows
        self._real = project
        self._folder = tempfile.TemporaryDirectory(prefix="keboola-nb-rehearsal-")
        self.project = project.on_scratch(Path(self._folder.name))  # build the parts on this one
        self.stood_in: list[str] = []  # tables a rehearsed part made (not in the project's storage yet)
        # Tables of parts that are not rehearsed (Python code runs only once the user confirms), by part name.
        self.not_made: dict[str, str] = {}

    def __enter__(self) -> "Rehearsal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.project.jobs.close()  # an open connection would keep the deleted database's file alive
        self._folder.cleanup()

    def bring(self, table_ids: list[str]) -> None:
        """Copy the first rows of each of these tables that the project's storage has and the scratch lacks."""
        scratch = set(self.project.storage.tables()["id"])
        real = set(self._real.storage.tables()["id"])
        for table_id in table_ids:
            if table_id in real and table_id not in scratch:
                key = list(self._real.storage.metadata(table_id).get("primary_key") or [])
                self.stand_in(table_id, self._real.storage.preview(table_id, self.rows), key, made=False)

    def stand_in(self, table_id: str, rows: "pd.DataFrame", primary_key: list[str] | None = None,
                 made: bool = True) -> None:
        """Put `rows` into the scratch storage as table `table_id` (what a part's run would make)."""
        import pyarrow as pa

        from .connectors.base import ARROW_VIEW, Scan

        arrow = pa.Table.from_pandas(rows, preserve_index=False)
        with self.project.storage.transaction() as loader:
            loader.load(table_id, Scan(f"SELECT * FROM {ARROW_VIEW}", arrow=arrow), primary_key=primary_key)
        if made:
            self.stood_in.append(table_id)

    def run(self, config: "Configuration") -> list[str]:
        """Run a built (unsaved) configuration on the scratch storage; the tables it made. A failure is an error
        naming the part, since the same run would fail on the real data too."""
        job = self.project.run(config, actor="rehearsal")
        if job.status != "success":
            raise KeboolaError(f"{config.name!r} failed when run on a sample of its inputs: {job.error}",
                               fix="fix it, then propose the pipeline again")
        made = [t["table_id"] for t in job.tables]
        self.stood_in += made
        return made
