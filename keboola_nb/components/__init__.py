"""The registry of Keboola components: one entry point per component id in the group `keboola_nb.components`.

keboola_nb registers its own components in its pyproject.toml exactly as another package registers its own:

    [project.entry-points."keboola_nb.components"]
    "keboola.ex-db-pgsql" = "keboola_nb.components.db_extractor:PGSQL"

An entry is loaded on first use, so only the components a project uses are imported.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..errors import KeboolaError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .component import Component

GROUP = "keboola_nb.components"

_entries: dict[str, "EntryPoint"] | None = None
_loaded: dict[str, "Component"] = {}
_lock = threading.Lock()


def _registered() -> dict[str, "EntryPoint"]:
    global _entries
    if _entries is None:
        from importlib.metadata import entry_points

        _entries = {e.name: e for e in entry_points(group=GROUP)}
        if not _entries:
            raise KeboolaError("no Keboola components are registered: keboola_nb is not installed",
                               fix="install it with pip install . (entry points come from the installed package)")
    return _entries


def ids() -> list[str]:
    """Every registered component id."""
    return sorted(_registered())


def get(component_id: str) -> "Component":
    """The component registered under `component_id`."""
    with _lock:
        if component_id not in _loaded:
            entry = _registered().get(component_id)
            if entry is None:
                raise KeboolaError(f"component {component_id!r} is not supported",
                                   fix=f"registered components: {', '.join(ids())}")
            component = entry.load()
            if component.id != component_id:
                raise KeboolaError(f"the entry point {component_id!r} ({entry.value}) loads component {component.id!r}",
                                   fix="register each component under its own id")
            _loaded[component_id] = component
        return _loaded[component_id]


def every() -> list["Component"]:
    return [get(i) for i in ids()]


def for_connection(type: str, kind: str) -> "Component":
    """The component of `type` (extractor, writer) that works with connections of `kind`."""
    found = [c for c in every() if c.type == type and c.connection_kind == kind]
    if not found:
        raise KeboolaError(f"there is no {type} for connections of kind {kind!r}",
                           fix=f"{type}s exist for: {', '.join(sorted({str(c.connection_kind) for c in every() if c.type == type}))}")
    return found[0]


def forget() -> None:
    """Read the entry points again (after a package that registers components was installed)."""
    global _entries
    with _lock:
        _entries = None
        _loaded.clear()
