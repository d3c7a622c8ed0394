"""The protocol every Keboola component implements: what keboola_nb asks of an extractor, a writer or any
later kind, and nothing more. A component is found by its Keboola id in the registry (`components/__init__.py`).

A component says how its configuration is built from a connection and the `%%keboola` shorthand, checks it
by Keboola's rules, summarises it, and runs it. The job lifecycle around a run (job record, row selection,
state committed after the data, clear failure) is the runner's (`engine/runner.py`), written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..engine.runner import explain_error
from ..model.validation import load_shorthand

if TYPE_CHECKING:
    from ..connections import Connection, ConnectionManager
    from ..engine.runner import Run
    from ..model.configuration import Configuration
    from ..storage.storage import Storage


class ProjectParts(Protocol):
    """What a component's build may use of the project (the project itself is above the components)."""

    connections: "ConnectionManager"
    storage: "Storage"


class Component:
    """Subclass it, set the class attributes, and write `build`, `check`, `summary` and `run`."""

    id: ClassVar[str]  # the Keboola component id, e.g. keboola.ex-db-pgsql
    type: ClassVar[str]  # the kbc layout folder: extractor, writer, transformation, other
    label: ClassVar[str]  # e.g. "PostgreSQL extractor"
    connection_kind: ClassVar[str | None] = None  # the kind of connection it reads from or writes to
    entries: ClassVar[str] = "tables"  # the shorthand key that lists its entries (tables, files, queries)
    options: ClassVar[tuple[str, ...]] = ()  # further shorthand keys its build takes, e.g. schema, prefix
    help: ClassVar[dict[str, Any]] = {}  # what the assistant reads through component_help: rules, an example
    untouched: ClassVar[str] = "Storage and state were left as they were."  # what a failed run leaves alone
    replaces: ClassVar[tuple[str, ...]] = ()  # ids earlier versions wrote for it; a project is moved to `id` once
    code_file: ClassVar[str | None] = None  # a transformation's code file in the kbc layout (code.sql); None: no code
    per_statement: ClassVar[bool] = False  # kbc keeps that code as one script per statement

    # building ----------------------------------------------------------------------------------------
    def parse_shorthand(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """The body of `%%keboola extractor|writer NAME` (its YAML mapping, with a connection) -> the keyword
        arguments of `build`: connection, entries, description and the component's options."""
        data = load_shorthand(data, f"{self.type} {name!r}", {"connection", "description", self.entries, *self.options},
                              self.entries)
        return {"connection": data["connection"], "entries": data[self.entries],
                "description": data.get("description", ""), **{k: data[k] for k in self.options if k in data}}

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", **options: Any) -> "Configuration":
        """A new configuration from shorthand entries, checked against the source (or storage) and by
        Keboola's rules before anything is saved."""
        raise NotImplementedError

    # checking and describing -------------------------------------------------------------------------
    def check(self, config: "Configuration") -> list[tuple[str, Any]]:
        """Every row by Keboola's rules: (row name, the row's parameters merged with the root)."""
        raise NotImplementedError

    def summary(self, config: "Configuration") -> list[dict[str, Any]]:
        """One line per row (extractors: row, source, output_table, primary_key, load; writers: row, table,
        target, columns, primary_key, load, changed_since)."""
        raise NotImplementedError

    # running -------------------------------------------------------------------------------------------
    def enabled(self, params: Any) -> bool:
        """Whether a checked row runs when no rows are named (`enabled`, `export` in Keboola's JSON)."""
        return True

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        """Do the work of the selected rows (row id, row name, parameters), all or nothing. Report through
        `run` (progress, job notes, tables, state); raise to fail. The runner saves the state afterwards."""
        raise NotImplementedError

    def estimate(self, config: "Configuration") -> Any:
        """What a run would cost before it runs (`%keboola cost NAME`), for components that can tell; it has
        `summary()`, `over_budget` and `frame()`. None: this component cannot tell."""
        return None

    def explain(self, error: Exception, where: str, untouched: str) -> str:
        """A driver's error (not a KeboolaError) as one line for the job: what failed, where, and `untouched`:
        what the failure left as it was."""
        return explain_error(error, where, untouched)

    def __repr__(self) -> str:
        return f"<Component {self.id} ({self.label})>"
