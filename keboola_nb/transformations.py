"""Making SQL and Python transformations (`project.transformations`): from code and `--in` / `--out` lists to a
checked Keboola configuration, saved with a version and an audit entry. The component comes from the registry by
the code's language and dialect; the checks against storage's real schemas are the component's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import components
from .errors import KeboolaError

if TYPE_CHECKING:
    import pandas as pd

    from .model.configuration import Configuration
    from .storage.storage import Storage
    from .store.configs import ConfigStore

Tables = list[str | dict[str, Any]]


class Transformations:
    def __init__(self, configs: "ConfigStore", storage: "Storage") -> None:
        self.configs = configs
        self.storage = storage  # where a transformation's inputs are checked and sampled

    def create_sql(self, name: str, code: str, *, inputs: Tables, outputs: Tables, dialect: str = "duckdb",
                   variables: dict[str, str] | None = None, incremental: bool = False,
                   primary_key: list[str] | None = None, description: str = "", replace: bool = False,
                   actor: str = "user") -> "Configuration":
        """A SQL transformation: `code` in `dialect` (duckdb, snowflake, bigquery, or any dialect sqlglot reads,
        kept as DuckDB SQL), reading `inputs` ("in.c-shop.orders" or "in.c-shop.orders AS o") and creating
        `outputs` ("out.c-sales.daily" or "daily AS out.c-sales.daily"); `{{name}}` in the code takes its value from
        `variables`; `incremental` and `primary_key` apply to every output. Checked, then saved."""
        values = self.values(name, variables, replace)
        config = self.build_sql(name, code, inputs=inputs, outputs=outputs, dialect=dialect, variables=values,
                                incremental=incremental, primary_key=primary_key, description=description)
        return self.save(config, values if variables is not None else None, replace=replace, actor=actor)

    def build_sql(self, name: str, code: str, *, inputs: Tables, outputs: Tables, dialect: str = "duckdb",
                  variables: dict[str, str] | None = None, incremental: bool = False,
                  primary_key: list[str] | None = None, description: str = "") -> "Configuration":
        """What create_sql saves, checked against storage, not saved."""
        component = components.for_code("sql", dialect)
        config = component.build_code(name, code, inputs, outputs, dialect=dialect, description=description,
                                      load=_load(incremental, primary_key))
        return self._verified(config, variables or {})

    def create_python(self, name: str, code: str, *, inputs: Tables, outputs: Tables,
                      packages: list[str] | None = None, variables: dict[str, str] | None = None,
                      incremental: bool = False, primary_key: list[str] | None = None, description: str = "",
                      replace: bool = False, actor: str = "user") -> "Configuration":
        """A Python transformation: `code` reads in/tables/<name>.csv and writes out/tables/<name>.csv, as
        Keboola runs it; `packages` are what Keboola installs with pip before it runs; `{{name}}` in the code
        takes its value from `variables`."""
        values = self.values(name, variables, replace)
        config = self.build_python(name, code, inputs=inputs, outputs=outputs, packages=packages, variables=values,
                                   incremental=incremental, primary_key=primary_key, description=description)
        return self.save(config, values if variables is not None else None, replace=replace, actor=actor)

    def values(self, name: str, given: dict[str, str] | None, replace: bool) -> dict[str, str]:
        """The variables a new version is checked and saved with: those given, over (replacing) those it has."""
        if given is not None:
            from .model.variables import check_values

            check_values(given, f"transformation {name!r}")
        existing = self.configs.find(name) if replace else None
        return {**(self.configs.variable_values(existing) if existing is not None else {}), **(given or {})}

    def build_python(self, name: str, code: str, *, inputs: Tables, outputs: Tables,
                     packages: list[str] | None = None, variables: dict[str, str] | None = None,
                     incremental: bool = False, primary_key: list[str] | None = None,
                     description: str = "") -> "Configuration":
        """What create_python saves, checked, not saved."""
        component = components.for_code("python")
        parameters = {"packages": list(packages)} if packages else None
        config = component.build_code(name, code, inputs, outputs, description=description, parameters=parameters,
                                      load=_load(incremental, primary_key))
        return self._verified(config, variables or {})

    def save(self, config: "Configuration", values: dict[str, str] | None = None, *, replace: bool = False,
             actor: str = "user") -> "Configuration":
        """Save the transformation, then (given `values`) its variables (Keboola fills them in when a job starts)."""
        config = self.configs.save_named(config, replace=replace, actor=actor)
        if values is not None:
            self.configs.save_variables(config, values, actor=actor)
        return config

    def check(self, config: "str | Configuration", variables: dict[str, str] | None = None) -> "Configuration":
        """Check a transformation by its component's rules and, where its inputs are in storage, against their
        real columns (a SQL transformation: unknown tables and columns, writes only to its outputs), with
        `variables` (default: its own) filled in."""
        config = self._config(config)
        components.get(config.component_id).check(config)
        return self._verified(config, variables)

    def _verified(self, config: "Configuration", values: dict[str, str] | None) -> "Configuration":
        """`config` (checked by its component's rules) checked against storage, where its component can, with
        its variables filled in as a job would fill them."""
        verify = getattr(components.get(config.component_id), "verify", None)
        if verify is not None:
            verify(self.storage, self._filled(config, values))
        return config

    def _filled(self, config: "Configuration", values: dict[str, str] | None = None) -> "Configuration":
        """`config` with its `{{name}}` placeholders filled from `values` (None: the configuration's own)."""
        from .model.variables import filled

        return filled(config, self.configs.variable_values(config) if values is None else values)

    def sample(self, config: "str | Configuration", rows: int = 100,
               variables: dict[str, str] | None = None) -> dict[str, "pd.DataFrame"]:
        """Run on at most `rows` rows of each input without touching storage: each output's rows. `variables`
        (default: the configuration's own) fill its `{{name}}` placeholders."""
        config = self._config(config)
        component = components.get(config.component_id)
        sample = getattr(component, "sample", None)
        if sample is None:
            raise KeboolaError(f"the {component.label} cannot run on a sample", fix="run it with %keboola run")
        return sample(self.storage, self._filled(config, variables), rows)

    def lineage(self, config: "str | Configuration") -> dict[str, dict[str, list[str]]]:
        """Column-level lineage of a SQL transformation: output table -> column -> the input columns it comes from
        (named as the code names its inputs)."""
        config = self._config(config)
        return self._sql(config).lineage(self.storage, self._filled(config))

    def portability(self, config: "str | Configuration") -> "pd.DataFrame":
        """Whether a SQL transformation also transpiles to the other dialects (duckdb, snowflake, bigquery); where
        not, which construct and why."""
        import pandas as pd

        config = self._config(config)
        found = self._sql(config).portability(self._filled(config))
        return pd.DataFrame([{"target": p.target, "portable": p.ok, "problems": "; ".join(p.problems)}
                             for p in found], columns=["target", "portable", "problems"])

    def _sql(self, config: "Configuration") -> Any:
        component = components.get(config.component_id)
        if getattr(component, "language", None) != "sql":
            raise KeboolaError(f"{config.name!r} is not a SQL transformation ({config.component_id})",
                               fix="lineage and portability are read from SQL")
        return component

    def summary(self, config: "str | Configuration") -> "pd.DataFrame":
        """One line per output: the inputs it reads, the table it loads, how."""
        import pandas as pd

        from .builder import SUMMARY_COLUMNS

        config = self._config(config)
        return pd.DataFrame(components.get(config.component_id).summary(config),
                            columns=SUMMARY_COLUMNS["transformation"])

    def _config(self, config: "str | Configuration") -> "Configuration":
        config = self.configs.get(config) if isinstance(config, str) else config
        if components.get(config.component_id).type != "transformation":
            raise KeboolaError(f"{config.name!r} is not a transformation ({config.component_id})")
        return config


def _load(incremental: bool, primary_key: list[str] | None) -> dict[str, Any] | None:
    """The output mapping keys every output takes, when any is given."""
    if not incremental and not primary_key:
        return None
    return {"incremental": incremental, "primary_key": list(primary_key or [])}
