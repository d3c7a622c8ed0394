"""The AWS S3 writer (`keboola.wr-aws-s3`) configuration, with Keboola's own layout.

Root `parameters`: {accessKeyId, #secretAccessKey, bucket}. Each row: `parameters.prefix`, one storage
table in `storage.input.tables` (its `destination` is the file name), and the
`keboola.processor-move-files` processor (direction files) that turns the table into a file to upload.
The component uploads to `bucket/prefix + destination` and overwrites what is there.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import model_validator

from ...errors import KeboolaError
from ...model.aws_login import AwsLogin
from ...model.configuration import Configuration, processor
from ...model.input_mapping import InputTable
from ...model.validation import check_row_keys, single_input, validated

COMPONENT_ID = "keboola.wr-aws-s3"
MOVE_FILES = "keboola.processor-move-files"  # turns the table into the file that is uploaded
# Names of compressed files: Keboola's writer uploads the CSV as it is and no Keboola processor compresses it.
COMPRESSED = re.compile(r"\.(gz|gzip|zip|bz2|zst|xz|snappy)$", re.IGNORECASE)


class S3WriterRoot(AwsLogin):
    bucket: str


class S3WriterRow(AwsLogin):
    """One row's `parameters` merged with the root, plus its input mapping."""

    bucket: str
    prefix: str = ""
    input: InputTable

    @property
    def key(self) -> str:
        return self.prefix + self.input.destination  # as the component does: plain concatenation

    @property
    def adaptive(self) -> bool:
        return self.input.changed_since == "adaptive"

    @model_validator(mode="after")
    def _rules(self) -> S3WriterRow:
        name = self.input.destination
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"destination {name!r} must be a file name such as activity.csv (no '/')")
        if self.prefix.startswith("/"):
            raise ValueError(f"prefix {self.prefix!r} must not start with '/'")
        if self.input.changed_since not in (None, "", "adaptive"):
            raise ValueError(f"changed_since {self.input.changed_since!r} is not supported; use 'adaptive' or leave it out")
        return self


def check_rows(config: Configuration) -> list[tuple[str, S3WriterRow]]:
    """Every row, merged and validated: (row name, parameters with its input mapping)."""
    where = f"writer {config.name!r}"
    validated(S3WriterRoot, config.configuration.get("parameters", {}), f"{where}, parameters")
    if not config.rows:
        raise KeboolaError(f"{where} has no tables", fix="add at least one table")
    out = []
    for row in config.rows:
        merged = config.merged(row)
        at = f"{where}, row {row.name!r}"
        check_row_keys(row.configuration, at)
        mapping = single_input(merged, at, fix="one row writes one storage table to one file")
        if (processor(row.configuration, "before", MOVE_FILES) or {}).get("direction") != "files":
            raise KeboolaError(f"{at}: no {MOVE_FILES} processor with direction 'files' in processors.before",
                               fix="it turns the table into the file that is uploaded; add it")
        row_params = validated(S3WriterRow, {**merged.get("parameters", {}), "input": mapping}, at)
        packed = COMPRESSED.search(row_params.input.destination)
        if packed:
            name = row_params.input.destination
            raise KeboolaError(
                f"{at}: destination {name!r} names a compressed file, but Keboola's S3 writer uploads the CSV as "
                f"it is (no Keboola processor compresses files), so in Keboola it would be plain CSV under a "
                f"{packed[0]} name",
                fix=f"name it {name[:packed.start()] or 'data.csv'}; compress it after the upload if you need to")
        out.append((row.name, row_params))
    names = [p.key for _, p in out]
    if len(set(names)) != len(names):
        raise KeboolaError(f"{where}: two rows write the same file", fix="give each a distinct destination")
    return out


def row_configuration(table_id: str, destination: str, prefix: str, columns: list[str],
                      changed_since: str | None) -> dict[str, Any]:
    """A row as the Keboola UI saves it."""
    mapping: dict[str, Any] = {"source": table_id, "destination": destination, "columns": columns}
    if changed_since:
        mapping["changed_since"] = changed_since
    return {
        "parameters": {"prefix": prefix},
        "storage": {"input": {"tables": [mapping]}},
        "processors": {"before": [{"definition": {"component": MOVE_FILES}, "parameters": {"direction": "files"}}]},
    }


# The YAML shorthand of `%%keboola writer NAME` for an S3 connection --------------------------------

SHORTHAND_ROW_KEYS = ("table", "file", "columns", "changed_since")
