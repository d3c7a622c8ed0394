"""Creating extractor configurations from a connection and a list of tables.

`tables` entries use the shorthand of `%%keboola extractor` (snake_case keys); they become Keboola
rows (`table{schema,tableName}`, `outputTable`, `primaryKey`, ...). Tables, columns and primary keys
are checked against the source's catalog before anything is saved.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from . import bigquery_extractors, s3_extractors
from .errors import KeboolaError, KeboolaNotice
from .model import bigquery_extractor, db_extractor, s3_extractor
from .model.components import extractor_for_kind
from .model.configuration import ConfigRow, Configuration, check_name, from_edited_json, slug
from .model.db_extractor import FETCHING_TYPES, SHORTHAND_ROW_KEYS, check_rows, parse_shorthand
from .storage.ids import TableId, safe_name
from .store.configs import new_id

if TYPE_CHECKING:
    import pandas as pd

    from .project import Project

ROW_KEY_ORDER = ["name", "table", "query", "columns", "outputTable", "primaryKey", "incremental",
                 "incrementalFetchingColumn", "incrementalFetchingLimit", "enabled"]


class ExtractorManager:
    def __init__(self, project: "Project") -> None:
        self.project = project

    def create(
        self,
        name: str,
        connection: str,
        tables: list[str | dict[str, Any]],
        *,
        description: str = "",
        replace: bool = False,
        actor: str = "user",
    ) -> Configuration:
        """Build, validate and save an extractor; with `replace`, keep the id and make a new version."""
        return self.save(self.build(name, connection, tables, description=description), replace=replace, actor=actor)

    def save(self, config: Configuration, *, replace: bool = False, actor: str = "user") -> Configuration:
        """Save a built (or edited and checked) extractor under its name."""
        return self.project.configs.save_named(config, replace=replace, actor=actor)

    def from_json(self, text: str) -> Configuration:
        """An extractor as Keboola JSON (e.g. edited by the user), checked before it can be saved."""
        config = from_edited_json(text, "extractor")
        self.summary(config)  # checks every row by Keboola's rules for its kind
        return config

    def summary(self, config: Configuration) -> "pd.DataFrame":
        """One line per row: row, source, output_table, primary_key, load."""
        import pandas as pd

        kinds = {s3_extractor.COMPONENT_ID: s3_extractor, bigquery_extractor.COMPONENT_ID: bigquery_extractor}
        lines = kinds.get(config.component_id, db_extractor).summarize(config)
        return pd.DataFrame(lines, columns=["row", "source", "output_table", "primary_key", "load"])

    def create_from_yaml(self, name: str, text: str, *, replace: bool = False, actor: str = "user") -> Configuration:
        if s3_extractors.is_s3_shorthand(text):
            spec = s3_extractors.parse_shorthand(text, name)
        elif bigquery_extractors.is_bigquery_shorthand(text):
            spec = bigquery_extractors.parse_shorthand(text, name)
        else:
            spec = parse_shorthand(text, name)
        return self.create(
            name, spec["connection"], spec["tables"], description=spec["description"], replace=replace, actor=actor
        )

    def build(self, name: str, connection: str, tables: list[str | dict[str, Any]], description: str = "") -> Configuration:
        check_name(name, "extractor")
        conn = self.project.connections.get(connection)
        if conn.kind == "s3":
            return s3_extractors.build(name, conn, tables, description)
        if conn.kind == "bigquery":
            return bigquery_extractors.build(name, conn, tables, description)
        comp = extractor_for_kind(conn.kind)
        connector = conn.connector()
        rows = []
        seen: set[str] = set()
        for i, entry in enumerate(tables, 1):
            if isinstance(entry, str):
                entry = {"table": entry}
            if not isinstance(entry, dict):
                raise KeboolaError(f"extractor {name!r}: table entry {i} must be a mapping or a table name")
            unknown = set(entry) - set(SHORTHAND_ROW_KEYS)
            if unknown:
                raise KeboolaError(
                    f"extractor {name!r}, table entry {i}: unknown key(s) {', '.join(sorted(unknown))}",
                    fix=f"allowed keys: {', '.join(SHORTHAND_ROW_KEYS)}",
                )
            params = self._row_parameters(name, i, entry, connector, FETCHING_TYPES[conn.kind])
            row_name = params["name"]
            if row_name in seen:
                raise KeboolaError(
                    f"extractor {name!r}: two entries are named {row_name!r}", fix="give one of them a 'name'"
                )
            seen.add(row_name)
            rows.append(ConfigRow(id=new_id(), name=row_name, configuration={"parameters": params}))
        config = Configuration(
            component_id=comp.id,
            id=new_id(),
            name=name,
            description=description,
            configuration={"parameters": {"db": dict(conn.db)}},
            rows=rows,
        )
        check_rows(config)  # Keboola's rules (table xor query, no incremental fetching with a query, ...)
        return config

    def _row_parameters(
        self, name: str, index: int, entry: dict[str, Any], connector: Any, fetching_types: tuple[str, ...]
    ) -> dict[str, Any]:
        where = f"extractor {name!r}, table entry {index}"
        params: dict[str, Any] = {SHORTHAND_ROW_KEYS[k]: v for k, v in entry.items() if k != "table"}
        if "table" in entry:
            schema, table = connector.resolve_table(entry["table"])
            params["table"] = {"schema": schema, "tableName": table}
            described = connector.describe((schema, table))
            columns = list(described["column"])
            for column in params.get("columns", []):
                if column not in columns:
                    raise KeboolaError(f"{where}: table {connector.format_table((schema, table))} has no column {column!r}",
                                       fix=f"its columns are: {', '.join(columns)}")
            if "primaryKey" not in params:
                params["primaryKey"] = connector.primary_key((schema, table))
                suggestion = [] if params["primaryKey"] else connector.key_suggestion((schema, table))
                if suggestion:
                    warnings.warn(
                        f"{where}: table {connector.format_table((schema, table))} has no primary key; suggested "
                        f"key: {', '.join(suggestion)} (unique and not null). To use it, add "
                        f"primary_key: [{', '.join(suggestion)}]",
                        KeboolaNotice,
                        stacklevel=2,
                    )
            column = params.get("incrementalFetchingColumn")
            if column is not None:
                types = dict(zip(described["column"], described["type"]))
                if column not in types:
                    raise KeboolaError(
                        f"{where}: table {connector.format_table((schema, table))} has no column {column!r} to fetch by",
                        fix=f"its columns are: {', '.join(columns)}",
                    )
                if not str(types[column]).startswith(fetching_types):
                    raise KeboolaError(
                        f"{where}: column {column!r} is {types[column]}; incremental fetching needs a number or a timestamp",
                        fix="choose an updated_at timestamp or an increasing id column",
                    )
                params.setdefault("incremental", True)
            table_name = table
        elif "query" in entry:
            if not entry.get("name"):
                raise KeboolaError(f"{where}: a query needs a 'name' for its output table")
            params.setdefault("primaryKey", [])
            table_name = entry["name"]
        else:
            raise KeboolaError(f"{where}: say what to extract with 'table: schema.table' or 'query: ...'")
        params.setdefault("name", safe_name(table_name))
        params.setdefault("outputTable", str(TableId("in", slug(name), safe_name(table_name))))
        TableId.parse(params["outputTable"])
        params.setdefault("incremental", False)
        params.setdefault("enabled", True)
        return {key: params[key] for key in ROW_KEY_ORDER if key in params}
