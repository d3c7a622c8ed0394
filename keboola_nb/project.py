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
from .flows import Flows
from .storage.storage import Storage
from .store import upgrade
from .store.audit import AuditLog
from .store.blocks import CodeFiles
from .store.configs import ConfigStore
from .store.files import locked
from .store.layout import Layout, Link
from .store.settings import Settings
from .transformations import Transformations

if TYPE_CHECKING:
    import pandas as pd

    from .ai.conversations import ConversationStore
    from .engine.progress import Progress
    from .model.configuration import Configuration

DEFAULT_PATH = "keboola-project"
LOCAL_DIR = ".keboola-nb"


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.local = root / LOCAL_DIR
        self.lock = lock = self.local / "project.lock"
        self.layout = Layout(root, folder_of=lambda component_id: components.get(component_id).type,
                             code_of=_code_files, phases_of=_phase_folders)
        self.audit = AuditLog(self.local / "audit.jsonl")
        self.configs = ConfigStore(self.layout, self.local, self.audit)
        self.connections = ConnectionManager(root / ".keboola" / "connections.json", lock, self.audit)
        self.storage = Storage(self.local / "storage.duckdb", self.local / "storage.lock")
        self._build_managers()
        self.jobs = JobStore(self.local / "jobs.sqlite")
        self.state = StateStore(self.local / "state", lock)
        self.settings = Settings(self.local / "settings.json", lock, self.audit)
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
        with locked(project.lock, "the project"):
            if upgrade.needed(project.local):  # once: a folder an earlier version or kbc wrote, or a new one
                if manifest.exists():
                    renamed = {old: c.id for c in components.every() for old in c.replaces}
                    upgrade.upgrade(root, project.local, project.layout.branch_dir, renamed)
                upgrade.mark(project.local)
            project.layout.init()
        return project

    # the Keboola project it pushes to ------------------------------------------------------------
    @property
    def linked(self) -> Link | None:
        """The Keboola project, API host and branch `kbc push` takes this folder to; None until linked."""
        return self.layout.link()

    def link(self, project_id: int | None = None, api_host: str | None = None, branch_id: int | None = None, *,
             from_folder: str | os.PathLike[str] | None = None, actor: str = "user") -> Link:
        """Link the folder to a Keboola project: its id, API host (e.g. connection.keboola.com) and the id of the
        branch to push to, given or read from a kbc checkout's `.keboola/manifest.json` (`from_folder`)."""
        if from_folder is not None:
            read = _read_link(Path(from_folder).expanduser())
            project_id, api_host, branch_id = read.project_id, read.api_host, read.branch_id
        if project_id is None or not api_host or branch_id is None:
            raise KeboolaError("linking needs the project id, the API host and the branch id",
                               fix="e.g. link 1234 connection.keboola.com --branch 5678, or link --from PATH "
                                   "of a folder made by kbc init")
        with locked(self.lock, "the project"):
            self.layout.set_link(Link(int(project_id), api_host, int(branch_id)))
        link = self.layout.link()
        assert link is not None
        self.audit.record("link", f"project/{link.project_id}", actor=actor, api_host=link.api_host,
                          branch_id=link.branch_id)
        return link

    def vault(self) -> "pd.DataFrame":
        """The vault variables the project's configurations and connections need, where each is used and where
        its value is kept here. In Keboola, the project's vault must hold each under the same name."""
        import pandas as pd

        from .store.secrets import SecretRef, vault_references

        used: dict[str, list[str]] = {}
        for config in self.configs.list():
            for name in vault_references(config.to_json()):
                used.setdefault(name, []).append(config.name)
        for connection in self.connections.names():
            for name in vault_references(self.connections.get(connection).db):
                used.setdefault(name, []).append(f"connection {connection}")
        rows = [{"variable": name, "used_by": ", ".join(dict.fromkeys(where)),
                 "here": SecretRef(name).where() or "not set"} for name, where in sorted(used.items())]
        return pd.DataFrame(rows, columns=["variable", "used_by", "here"])

    def status(self) -> str:
        """What `kbc push` would take where, in a sentence or two."""
        link = self.linked
        if link is None:
            return ("not linked to a Keboola project: kbc push needs the project id, API host and branch id. "
                    "Link it with: link PROJECT_ID API_HOST --branch BRANCH_ID (or --from a kbc checkout).")
        return f"linked to Keboola {link}: kbc push takes {self.layout.branch_dir.name}/ there."

    def run(
        self,
        config: "str | Configuration",
        rows: list[str] | None = None,
        progress: "Progress | None" = None,
        actor: str = "user",
        parent_id: int | None = None,
        resume: int | None = None,
    ) -> Job:
        """Run a configuration (by name or object) with its component and return its Job; a failure is in
        `job.error`. A flow's tasks run through here too, with the flow's job as `parent_id`. `resume` (a flow's
        failed job) runs the flow again from its first phase that did not succeed in that job."""
        from .model.variables import filled, placeholders

        if isinstance(config, str):
            config = self.configs.get(config)
        if placeholders(config.configuration):  # as Keboola fills them when a job starts
            config = filled(config, self.configs.variable_values(config))
        component = components.get(config.component_id)
        resumed = None
        if resume is not None:  # checked before the job starts: a wrong job id is the caller's mistake
            resume_from = getattr(component, "resume_from", None)
            if resume_from is None:
                raise KeboolaError(f"{config.name!r} is not a flow ({config.component_id}): only a flow can resume",
                                   fix="run it again without resume")
            resumed = resume_from(self.jobs, config, resume)
        return runner.run(component, config, jobs=self.jobs, storage=self.storage,
                          state=self.state, rows=rows, progress=progress, actor=actor, configs=self.configs.get,
                          runs=lambda task, parent: self.run(task, actor=actor, parent_id=parent),
                          parent_id=parent_id, resume=resumed, settings=self.settings)

    def on_scratch(self, folder: Path) -> "Project":
        """This project with its storage, jobs and state in `folder` (a rehearsal's scratch): the same
        configurations and connections; what is built checks against the scratch storage, what runs fills it."""
        import copy

        local = folder / LOCAL_DIR
        scratch = copy.copy(self)
        scratch.storage = Storage(local / "storage.duckdb", local / "storage.lock")
        scratch.jobs = JobStore(local / "jobs.sqlite")
        scratch.state = StateStore(local / "state", local / "state.lock")
        scratch._build_managers()
        return scratch

    def _build_managers(self) -> None:
        """The managers that build over this project's configurations and storage."""
        self.extractors = Builder(self, self.configs, "extractor")
        self.writers = Builder(self, self.configs, "writer")
        self.transformations = Transformations(self.configs, self.storage)
        self.flows = Flows(self.configs, self.transformations)

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
        link = self.linked
        return f"<Project {self.root} {'linked to ' + str(link) if link else 'not linked to Keboola'}>"


def _code_files(component_id: str) -> CodeFiles | None:
    """How the component's code is kept in the kbc layout (transformations), or None (also for a component this
    kernel does not know: its configuration is read as kbc left it)."""
    try:
        component = components.get(component_id)
    except KeboolaError:
        return None
    return CodeFiles(component.code_file, component.per_statement) if component.code_file else None


def _phase_folders(component_id: str) -> bool:
    """Whether kbc keeps the component's phases and tasks in folders (a legacy flow)."""
    try:
        return bool(getattr(components.get(component_id), "phase_folders", False))
    except KeboolaError:
        return False


def _read_link(folder: Path) -> Link:
    """Project id, API host and default branch id of a kbc checkout (or of its manifest file), read by the same
    layout rules this project's folder follows."""
    root = folder.parent.parent if folder.is_file() else folder
    link = Layout(root, folder_of=lambda component_id: "").link()
    if link is None:
        raise KeboolaError(f"{root / '.keboola' / 'manifest.json'} holds no linked Keboola project",
                           fix="point --from at a folder made by kbc init or kbc pull")
    return link
