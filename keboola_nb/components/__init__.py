"""The registry of Keboola components: one entry point per component id in the group `keboola_nb.components`.

keboola_nb registers its own components in its pyproject.toml exactly as another package registers its own:

    [project.entry-points."keboola_nb.components"]
    "keboola.ex-db-pgsql" = "keboola_nb.components.db_extractor:PGSQL"

The protocol a component implements is `component.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError, KeboolaNotice
from ..plugins import Registry

if TYPE_CHECKING:
    from .component import Component

REGISTRY: "Registry[Component]" = Registry("keboola_nb.components", "component")


def ids() -> list[str]:
    """Every registered component id."""
    return REGISTRY.names()


def get(component_id: str) -> "Component":
    """The component registered under `component_id`."""
    component = REGISTRY.get(component_id)
    if component.id != component_id:
        raise KeboolaError(f"the entry point {component_id!r} loads component {component.id!r}",
                           fix="register each component under its own id")
    return component


def every() -> list["Component"]:
    """Every component that loads; one that does not (a broken plug-in) is named in a notice and skipped."""
    import warnings

    loaded = []
    for component_id in ids():
        try:
            loaded.append(get(component_id))
        except KeboolaError as e:
            warnings.warn(str(e), KeboolaNotice, stacklevel=2)
    return loaded


def listing() -> list[dict[str, Any]]:
    """One line per component: id, type, label, connection_kind, entries (what the faces list)."""
    return [{"id": c.id, "type": c.type, "label": c.label, "connection_kind": c.connection_kind, "entries": c.entries}
            for c in every()]


def of_kind(kind: str) -> list["Component"]:
    """The components that work with connections of `kind` (its extractor, its writer)."""
    return [c for c in every() if c.connection_kind == kind]


def for_connection(type: str, kind: str) -> "Component":
    """The component of `type` (extractor, writer) that works with connections of `kind`."""
    found = [c for c in of_kind(kind) if c.type == type]
    if not found:
        kinds = sorted({str(c.connection_kind) for c in every() if c.type == type})
        raise KeboolaError(f"there is no {type} for connections of kind {kind!r}",
                           fix=f"{type}s exist for: {', '.join(kinds)}")
    return found[0]


forget = REGISTRY.forget


def for_code(language: str, dialect: str | None = None) -> "Component":
    """The transformation component for code in `language` (sql, python) and, for SQL, `dialect`: the one whose
    own dialect it is, else the one that reads any dialect sqlglot knows."""
    from .transformation import Transformation

    found = [c for c in every() if isinstance(c, Transformation) and c.language == language]
    if not found:
        languages = sorted({c.language for c in every() if isinstance(c, Transformation)})
        raise KeboolaError(f"there is no transformation for {language!r} code",
                           fix=f"transformations exist for: {', '.join(languages) or 'none'}")
    if dialect is None:
        return found[0]
    own = [c for c in found if dialect in c.dialects]
    readers = [c for c in found if getattr(c, "reads_any_dialect", False)]
    if own or readers:
        return (own or readers)[0]
    raise KeboolaError(f"there is no {language} transformation for the {dialect!r} dialect",
                       fix=f"dialects: {', '.join(d for c in found for d in c.dialects)}")


def flow_builder() -> "Component":
    """The component new flows are written as."""
    found = [c for c in every() if getattr(c, "builds_flows", False)]
    if not found:
        raise KeboolaError("no installed component builds flows", fix="reinstall keboola_nb")
    return found[0]
