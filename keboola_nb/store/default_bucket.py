"""kbc's default-bucket placeholders in input mappings.

`kbc pull` writes an input table that comes from another configuration's default bucket as
`{{:default-bucket:<type>/<component id>/<folder>}}.<table>` (that configuration's folder in the branch, then the
table), and `kbc push` turns it back into `in.c-<component id, '.' as '-'>-<config id>.<table>`. A configuration is read
with the placeholders resolved and written with them put back, so the folder reads the same to both tools.
Only `storage.input.tables[].source` is touched, as in kbc.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

_PREFIX = "{{:default-bucket:"


def bucket_of(component_id: str, config_id: str) -> str:
    """Keboola's default bucket of a configuration: `in.c-<component id, other characters as '-'>-<config id>`."""
    return f"in.c-{re.sub(r'[^a-zA-Z0-9-]', '-', component_id)}-{config_id}"


def resolve(configuration: dict[str, Any], bucket_at: Callable[[], Mapping[str, str]]) -> dict[str, Any]:
    """Placeholders -> table ids, by `bucket_at()` (a configuration's path in the branch -> its default bucket;
    made only when a placeholder is there). A placeholder naming no configuration here stays as it is (kbc
    warns and pushes it unchanged)."""

    def resolved(source: str) -> str:
        if not source.startswith(_PREFIX):
            return source
        parts = source[len(_PREFIX):].split("}}.")
        buckets = bucket_at() if len(parts) == 2 else {}
        return f"{buckets[parts[0]]}.{parts[1]}" if parts[0] in buckets else source

    return _map_sources(configuration, resolved)


def placeholders(configuration: dict[str, Any], path_of: Mapping[str, str]) -> dict[str, Any]:
    """Table ids in another configuration's default bucket -> placeholders, by `path_of` (bucket -> path)."""

    def placed(source: str) -> str:
        bucket, dot, table = source.rpartition(".")
        if dot and bucket in path_of:
            return f"{_PREFIX}{path_of[bucket]}}}}}.{table}"
        return source

    return _map_sources(configuration, placed)


def _map_sources(configuration: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    tables = ((configuration.get("storage") or {}).get("input") or {}).get("tables")
    if not isinstance(tables, list) or not any(isinstance(t, dict) and isinstance(t.get("source"), str)
                                               for t in tables):
        return configuration
    out = copy.deepcopy(configuration)
    for table in out["storage"]["input"]["tables"]:
        if isinstance(table, dict) and isinstance(table.get("source"), str):
            table["source"] = change(table["source"])
    return out
