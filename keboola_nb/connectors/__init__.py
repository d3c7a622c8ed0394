"""Connectors: one per kind of connection, found through entry points of the group `keboola_nb.connectors`
(one entry per kind, naming its ConnectionKind). Each is loaded on first use; drivers load later still."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import KeboolaError
from .base import ConnectionKind, Connector, Diagnosis, ExtractSpec, Scan, redact_url

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["ConnectionKind", "Connector", "Diagnosis", "ExtractSpec", "Scan", "kind", "kinds", "open_connector",
           "parse_connection_url", "redact_url"]

GROUP = "keboola_nb.connectors"

_entries: dict[str, "EntryPoint"] | None = None
_loaded: dict[str, ConnectionKind] = {}
_lock = threading.Lock()


def _registered() -> dict[str, "EntryPoint"]:
    global _entries
    if _entries is None:
        from importlib.metadata import entry_points

        _entries = {e.name: e for e in entry_points(group=GROUP)}
        if not _entries:
            raise KeboolaError("no connection kinds are registered: keboola_nb is not installed",
                               fix="install it with pip install . (entry points come from the installed package)")
    return _entries


def kinds() -> list[str]:
    return sorted(_registered())


def kind(name: str) -> ConnectionKind:
    """The kind registered as `name`."""
    with _lock:
        if name not in _loaded:
            entry = _registered().get(name)
            if entry is None:
                raise KeboolaError(f"connection kind {name!r} is not supported", fix=f"use one of: {', '.join(kinds())}")
            _loaded[name] = entry.load()
        return _loaded[name]


def parse_connection_url(url: str) -> tuple[str, dict[str, Any], str | None]:
    """Any URL a connection can be made from -> its kind, its node (no credentials), a password written in it."""
    scheme = urlsplit(url.strip()).scheme
    found = [k for k in (kind(n) for n in kinds()) if scheme in k.schemes]
    if not found:
        schemes = ", ".join(f"{s}://" for n in kinds() for s in kind(n).schemes)
        raise KeboolaError(f"cannot tell the kind of connection from {redact_url(url)!r}",
                           fix=f"start the URL with one of {schemes}")
    node, password = found[0].parse_url(url)
    return found[0].name, node, password


def open_connector(kind_name: str, name: str, node: dict[str, Any]) -> Connector:
    """A connector for a connection's node; `name` is used in messages."""
    return kind(kind_name).connector(name, node)


def forget() -> None:
    """Read the entry points again (after a package that registers connection kinds was installed)."""
    global _entries
    with _lock:
        _entries = None
        _loaded.clear()
