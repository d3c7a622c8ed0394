"""The Keboola components keboola_nb knows, and how each maps to a connection kind."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import KeboolaError


@dataclass(frozen=True)
class Component:
    id: str
    type: str  # the CLI layout folder: extractor, writer, transformation, other
    kind: str  # the connection kind it talks to
    label: str


COMPONENTS: dict[str, Component] = {
    c.id: c
    for c in [
        Component("keboola.ex-db-pgsql", "extractor", "postgresql", "PostgreSQL extractor"),
        Component("keboola.ex-db-mysql", "extractor", "mysql", "MySQL extractor"),
        Component("keboola.ex-aws-s3", "extractor", "s3", "AWS S3 extractor"),
        Component("keboola.ex-google-bigquery-v2", "extractor", "bigquery", "Google BigQuery extractor"),
        Component("keboola.ex-db-snowflake", "extractor", "snowflake", "Snowflake extractor"),
        Component("keboola.wr-db-pgsql", "writer", "postgresql", "PostgreSQL writer"),
        Component("keboola.wr-db-mysql", "writer", "mysql", "MySQL writer"),
        Component("keboola.wr-aws-s3", "writer", "s3", "AWS S3 writer"),
        Component("keboola.wr-google-bigquery-v2", "writer", "bigquery", "Google BigQuery writer"),
        Component("keboola.wr-snowflake", "writer", "snowflake", "Snowflake writer"),
    ]
}


def component(component_id: str) -> Component:
    try:
        return COMPONENTS[component_id]
    except KeyError:
        raise KeboolaError(
            f"component {component_id!r} is not supported yet",
            fix=f"supported components: {', '.join(COMPONENTS)}",
        ) from None


def extractor_for_kind(kind: str) -> Component:
    for c in COMPONENTS.values():
        if c.type == "extractor" and c.kind == kind:
            return c
    raise KeboolaError(f"there is no extractor for connections of kind {kind!r} yet")
