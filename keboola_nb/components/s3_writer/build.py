"""S3 writers (`keboola.wr-aws-s3`): storage tables as CSV files in a bucket, from an S3 connection.

```
connection: exports          # an s3:// connection; its prefix is the default
prefix: exports/daily/       # optional
tables:
  - table: in.c-crm.activity
    file: activity.csv       # optional; default <table>.csv; uploaded as plain CSV, as Keboola does
    changed_since: adaptive  # optional: only rows imported since the last successful write
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import KeboolaError
from ...model.aws_login import login_parameters
from ...model.configuration import ConfigRow, Configuration, new_id
from ..storage_input import storage_input
from .model import COMPONENT_ID, SHORTHAND_ROW_KEYS, check_rows, row_configuration

if TYPE_CHECKING:
    from ...connections import Connection
    from ..component import ProjectParts


def build(project: ProjectParts, name: str, connection: Connection, entries: list[Any], *, prefix: str | None = None,
          description: str = "") -> Configuration:
    """An S3 writer; tables and columns are checked against storage before anything is saved."""
    node = connection.db
    prefix = node.get("prefix", "") if prefix is None else prefix
    rows = []
    for i, entry in enumerate(entries, 1):
        inp = storage_input(project.storage, f"writer {name!r}, table entry {i}", entry, SHORTHAND_ROW_KEYS, keyed=False)
        entry = {"table": entry} if isinstance(entry, str) else entry
        tid = inp.table
        file = str(entry.get("file") or f"{tid.table}.csv")
        configuration = row_configuration(str(tid), file, prefix, inp.named, inp.changed_since)
        rows.append(ConfigRow(id=new_id(), name=file.split(".")[0] or tid.table, configuration=configuration))
    if len({r.name for r in rows}) != len(rows):
        raise KeboolaError(f"writer {name!r}: two entries have the same file name", fix="give each its own 'file'")
    config = Configuration(
        component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
        configuration={"parameters": {**_login(node), "bucket": node["bucket"]}},
        rows=rows,
    )
    check_rows(config)  # Keboola's rules: file names, changed_since, one table per row
    return config


def summary(config: Configuration) -> list[dict[str, Any]]:
    """One line per row: storage table, target file, columns, how it writes."""
    return [{"row": row_name, "table": p.input.source, "target": f"s3://{p.bucket}/{p.key}",
             "columns": len(p.input.columns) or "all", "primary_key": [],
             "load": "overwrite", "changed_since": p.input.changed_since or ""}
            for row_name, p in check_rows(config)]


def _login(node: dict[str, Any]) -> dict[str, Any]:
    """The writer's root keeps Keboola's shape: keys without a loginType, or the role login."""
    login = login_parameters(node)
    return login if login["loginType"] == "role" else {k: v for k, v in login.items() if k != "loginType"}
