"""Making configurations of one component type (`project.extractors`, `project.writers`) from a connection and
shorthand entries. The component comes from the registry by the connection's kind; it builds and checks the
configuration, and this saves it (with a version and an audit entry).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import components
from .errors import KeboolaError
from .model.configuration import Configuration, check_name
from .model.validation import read_yaml

if TYPE_CHECKING:
    import pandas as pd

    from .components.component import Component, ProjectParts
    from .store.configs import ConfigStore

# The summary's columns, per component type; the second and third say where a row reads and where it writes.
SUMMARY_COLUMNS = {
    "extractor": ["row", "source", "output_table", "primary_key", "load"],
    "writer": ["row", "table", "target", "columns", "primary_key", "load", "changed_since"],
    "transformation": ["row", "inputs", "output", "source", "primary_key", "load"],
    "other": ["task", "phase", "target", "kind", "enabled"],  # a flow: a line per task
}


def routes(config: Configuration) -> list[tuple[str, str, str]]:
    """(row, what it reads, where it writes) for every row of any configuration."""
    component = components.get(config.component_id)
    row, source, target, *_ = SUMMARY_COLUMNS[component.type]
    return [(line[row], line[source], line[target]) for line in component.summary(config)]


class Builder:
    def __init__(self, project: "ProjectParts", configs: "ConfigStore", type: str) -> None:
        self.project = project
        self.configs = configs
        self.type = type  # extractor, writer

    def component_for(self, connection: str) -> "Component":
        """The component of this type for the named connection's kind."""
        return components.for_connection(self.type, self.project.connections.get(connection).kind)

    def create(self, name: str, connection: str, tables: list[str | dict[str, Any]], *, description: str = "",
               replace: bool = False, actor: str = "user", **options: Any) -> Configuration:
        """Build, validate and save a configuration; with `replace`, keep the id and make a new version.
        `options` are the component's own (a writer's `schema`, an S3 writer's `prefix`)."""
        return self.save(self.build(name, connection, tables, description=description, **options),
                         replace=replace, actor=actor)

    def build(self, name: str, connection: str, tables: list[str | dict[str, Any]], *, description: str = "",
              **options: Any) -> Configuration:
        """A configuration checked against the source (or storage) and by Keboola's rules, not saved."""
        check_name(name, self.type)
        conn = self.project.connections.get(connection)
        component = components.for_connection(self.type, conn.kind)
        given = {k: v for k, v in options.items() if v is not None}
        unknown = set(given) - set(component.options)
        if unknown:
            raise KeboolaError(f"{self.type} {name!r}: the {component.label} takes no {', '.join(sorted(unknown))}",
                               fix=f"it takes: {', '.join(component.options) or 'no options'}")
        return component.build(self.project, name, conn, list(tables), description=description, **given)

    def create_from_yaml(self, name: str, text: str, *, replace: bool = False, actor: str = "user") -> Configuration:
        """A configuration from the YAML body of a `%%keboola extractor|writer NAME` cell."""
        where = f"{self.type} {name!r}"
        data = read_yaml(text, where, "write the body as YAML: 'connection: NAME', then its entries "
                                      "(%keboola components ID shows an example)")
        if "connection" not in data:
            raise KeboolaError(f"{where}: 'connection' is missing", fix="add 'connection: <name>'")
        spec = self.component_for(str(data["connection"])).parse_shorthand(data, name)
        return self.create(name, spec.pop("connection"), spec.pop("entries"), replace=replace, actor=actor, **spec)

    def save(self, config: Configuration, *, replace: bool = False, actor: str = "user") -> Configuration:
        """Save a built (or edited and checked) configuration under its name."""
        return self.configs.save_named(config, replace=replace, actor=actor)

    def from_json(self, text: str) -> Configuration:
        """A configuration as Keboola JSON (e.g. edited by the user), checked before it can be saved."""
        try:
            config = Configuration.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            raise KeboolaError(f"the configuration JSON is not valid: {e}",
                               fix="it needs componentId, name, configuration and rows") from None
        if components.get(config.component_id).type != self.type:
            raise KeboolaError(f"{config.component_id} is not {'an' if self.type[0] in 'aeiou' else 'a'} {self.type}")
        check_name(config.name, self.type)
        components.get(config.component_id).check(config)  # every row by its component's rules
        return config

    def summary(self, config: Configuration) -> "pd.DataFrame":
        """One line per row: what it reads, where it lands or writes, how it loads."""
        import pandas as pd

        return pd.DataFrame(components.get(config.component_id).summary(config), columns=SUMMARY_COLUMNS.get(self.type))
