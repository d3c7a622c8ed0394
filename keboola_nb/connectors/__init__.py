"""Connectors: one per kind of connection, found through entry points of the group `keboola_nb.connectors`
(one entry per kind, naming its ConnectionKind). Each is loaded on first use; drivers load later still."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import KeboolaError
from ..plugins import Registry
from .base import ConnectionKind, Connector, Diagnosis, ExtractSpec, Scan, redact_url

__all__ = ["ConnectionKind", "Connector", "Diagnosis", "ExtractSpec", "Scan", "kind", "kinds", "open_connector",
           "parse_connection_url", "redact_url"]

REGISTRY: "Registry[ConnectionKind]" = Registry("keboola_nb.connectors", "connection kind")


def kinds() -> list[str]:
    return REGISTRY.names()


def kind(name: str) -> ConnectionKind:
    """The kind registered as `name`."""
    return REGISTRY.get(name)


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


forget = REGISTRY.forget
