"""Project: a Keboola CLI project folder, plus the local state keboola_nb keeps beside it.

```
<project>/                 Keboola CLI layout (.keboola/manifest.json, main/...), safe to commit
<project>/.keboola-nb/     local only: storage.duckdb, jobs.sqlite, state/, versions/, audit.jsonl
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import components
from .builder import Builder
from .connections import ConnectionManager
from .engine import runner
from .engine.jobs import Job, JobStore
from .engine.state import StateStore
from .errors import KeboolaError
from .storage.storage import Storage
from .store.audit import AuditLog
from .store.configs import ConfigStore
from .store.layout import Layout

if TYPE_CHECKING:
    from .ai.conversations import ConversationStore
    from .engine.progress import Progress
    from .model.configuration import Configuration

DEFAULT_PATH = "keboola-project"
LOCAL_DIR = ".keboola-nb"


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.local = root / LOCAL_DIR
        lock = self.local / "project.lock"
        self.layout = Layout(root, folder_of=lambda component_id: components.get(component_id).type)
        self.audit = AuditLog(self.local / "audit.jsonl")
        self.configs = ConfigStore(self.layout, self.local, self.audit)
        self.connections = ConnectionManager(root / ".keboola" / "connections.json", lock, self.audit)
        self.storage = Storage(self.local / "storage.duckdb", self.local / "storage.lock")
        self.extractors = Builder(self, self.configs, "extractor")
        self.writers = Builder(self, self.configs, "writer")
        self.jobs = JobStore(self.local / "jobs.sqlite")
        self.state = StateStore(self.local / "state", lock)
        self._conversations: "ConversationStore | None" = None

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, create: bool = True) -> "Project":
        """Open (or create) the project at `path`; default `$KEBOOLA_NB_PROJECT` or ./keboola-project."""
        root = Path(path or os.environ.get("KEBOOLA_NB_PROJECT") or DEFAULT_PATH).expanduser().resolve()
        manifest = root / ".keboola" / "manifest.json"
        if not manifest.exists():
            if not create:
                raise KeboolaError(f"{root} is not a keboola_nb project", fix="open it with create=True to start one")
            if root.exists() and any(p for p in root.iterdir() if p.name != LOCAL_DIR):
                raise KeboolaError(
                    f"{root} already holds files but no .keboola/manifest.json",
                    fix="choose an empty or new folder for the project",
                )
        project = cls(root)
        project.layout.init()
        return project

    def run(
        self,
        config: "str | Configuration",
        rows: list[str] | None = None,
        progress: "Progress | None" = None,
        actor: str = "user",
    ) -> Job:
        """Run a configuration (by name or object) with its component and return its Job; a failure is in
        `job.error`."""
        if isinstance(config, str):
            config = self.configs.get(config)
        return runner.run(components.get(config.component_id), config, jobs=self.jobs, storage=self.storage,
                          state=self.state, rows=rows, progress=progress, actor=actor)

    @property
    def conversations(self) -> "ConversationStore":
        """Conversations with the assistant (made on first use: the AI package loads lazily)."""
        if self._conversations is None:
            from .ai.conversations import ConversationStore

            self._conversations = ConversationStore(self.local / "conversations.sqlite")
        return self._conversations

    def close(self) -> None:
        self.connections.close()

    def __repr__(self) -> str:
        return f"<Project {self.root}>"
