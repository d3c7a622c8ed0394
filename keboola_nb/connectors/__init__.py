"""Connectors: one per kind of source. Each is imported on first use (drivers are heavy)."""

from __future__ import annotations

from typing import Any

from ..errors import KeboolaError
from .base import Connector, Diagnosis, ExtractSpec, Scan

KINDS = {"postgresql": "postgres", "mysql": "mysql", "s3": "s3", "bigquery": "bigquery", "snowflake": "snowflake"}

__all__ = ["Connector", "Diagnosis", "ExtractSpec", "Scan", "KINDS", "open_connector"]


def open_connector(kind: str, name: str, db: dict[str, Any]) -> Connector:
    """A connector for a Keboola `db` node; `name` is used in messages."""
    import importlib

    if kind not in KINDS:
        raise KeboolaError(f"connection kind {kind!r} is not supported yet", fix=f"use one of: {', '.join(KINDS)}")
    module = importlib.import_module(f".{KINDS[kind]}", __name__)
    return module.connector(name, db)
