"""The assistant's transformation tools: thin calls into `project.transformations`, compact JSON out.

The model writes SQL or Python from what `describe_inputs` shows (schemas and a few sample rows, never whole
tables), validates it with `check_transformation` (SQL also runs on a small sample), and proposes it with
`create_transformation`, which shows a card and saves only what the user confirms. Running it is
`run_configuration`; a cell instead of a configuration is `write_code_cell` with the `%%keboola sql|python` form.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from ..errors import KeboolaError, notices
from .context import Draft, ToolContext
from .toolbox import tool
from .tools import ACTOR, check_new, propose, rows_of

if TYPE_CHECKING:
    import pandas as pd

    from ..model.configuration import Configuration
    from ..project import Project

MAX_SAMPLE_ROWS = 10  # sample rows per table the model may see: a hard cap, whatever it asks for
SAMPLE_INPUT_ROWS = 20  # rows of each input a SQL check runs on
SHOWN_OUTPUT_ROWS = 5  # rows of each output a check returns
MAX_VALUE_CHARS = 200  # a longer text value is cut: samples are for shapes, not contents
MAX_CODE_CHARS = 8_000

Inputs = Annotated[list[str | dict[str, Any]], "storage table ids, 'in.c-shop.orders AS o', or input-mapping dicts"]
Outputs = Annotated[list[str | dict[str, Any]], "'out.c-sales.daily', 'daily AS out.c-sales.daily', or dicts "
                                                "{destination, source, incremental, primary_key, delete_where_column}"]
Language = Literal["sql", "python"]
Dialect = Annotated[str, "SQL only: duckdb, snowflake, bigquery, or postgres, mysql, ... (kept as DuckDB)"]
Packages = Annotated[list[str] | None, "Python only: pip packages Keboola installs"]
Variables = Annotated[dict[str, str] | None, "values for {{name}} placeholders in the code"]


@tool()
def describe_inputs(
    ctx: ToolContext,
    tables: Annotated[list[str], "storage table ids"],
    sample_rows: Annotated[int, "at most 10"] = 5,
) -> dict[str, Any]:
    """Storage tables' columns and types, row counts and a few sample rows: what you need to write a
    transformation's SQL or Python."""
    limit = max(0, min(sample_rows, MAX_SAMPLE_ROWS))
    described = [_describe(ctx, table_id, limit) for table_id in tables]
    found = sum("error" not in d for d in described)
    return {"tables": described, "summary": f"{found} of {len(described)} table(s) described"}


def _describe(ctx: ToolContext, table_id: str, limit: int) -> dict[str, Any]:
    """One table; a missing one is reported in place so the others still come back."""
    storage = ctx.project.storage
    try:
        meta = storage.metadata(table_id)
        sample = rows_of(storage.preview(table_id, limit)) if limit else {"columns": [], "rows": []}
    except KeboolaError as e:
        return {"id": table_id, "error": str(e)}
    entry = {"id": meta.get("table_id", table_id), "rows": meta.get("rows"), "columns": meta["columns"]}
    if meta.get("primary_key"):
        entry["primary_key"] = list(meta["primary_key"])
    if sample["columns"] != list(meta["columns"]):  # never expected; then the rows need their own header
        entry["sample_columns"] = sample["columns"]
    entry["sample"] = [[_clip(v) for v in row] for row in sample["rows"]]
    return entry


@tool()
def check_transformation(
    ctx: ToolContext,
    language: Language,
    name: Annotated[str, "transformation name, e.g. daily_revenue"],
    code: str,
    inputs: Inputs,
    outputs: Outputs,
    dialect: Dialect = "duckdb",
    packages: Packages = None,
    variables: Variables = None,
) -> dict[str, Any]:
    """Check a SQL or Python transformation against storage without saving it; an error names its line. SQL also
    runs on 20 rows of each input and returns each output's first rows. Python reads in/tables/<name>.csv and
    writes out/tables/<name>.csv."""
    notes: list[str] = []
    try:
        with notices() as notes:
            variables = ctx.project.transformations.values(name, variables, replace=True)
            config = _build(ctx.project, language, name, code, inputs, outputs, dialect, packages, variables)
    except (KeboolaError, ValueError) as e:
        return _failed(e, "check", _unique(notes))
    notes = _unique(notes)
    result: dict[str, Any] = {"ok": True, "summary": _routes(ctx, config)}
    if ctx.project.configs.find(name) is not None:
        notes = [*notes, f"a configuration named {name!r} exists: create_transformation needs replace=true"]
    if language == "sql":
        try:
            frames = _sample(ctx.project, config, variables)
        except KeboolaError as e:
            return _failed(e, "run on a sample", notes)
        if frames is not None:
            result["outputs"] = {table_id: _shown(frame, SHOWN_OUTPUT_ROWS) for table_id, frame in frames.items()}
    if notes:
        result["notes"] = notes
    return result


@tool(changes=True)
def create_transformation(
    ctx: ToolContext,
    language: Language,
    name: Annotated[str, "transformation name, e.g. daily_revenue"],
    code: str,
    inputs: Inputs,
    outputs: Outputs,
    dialect: Dialect = "duckdb",
    packages: Packages = None,
    variables: Variables = None,
    replace: Annotated[bool, "save as a new version of an existing transformation"] = False,
) -> dict[str, Any]:
    """Propose a SQL or Python transformation; the user sees a card (overview, code, sample output) and creates
    it. run_configuration runs it. To give the user a cell instead, call write_code_cell with
    '%%keboola sql NAME --in TABLE --out TABLE [--dialect D] [--incremental --pk a,b]' or
    '%%keboola python NAME --in TABLE --out TABLE [--packages a,b]' as the first line, then the code."""
    draft = draft_transformation(ctx.project, language, name, code, inputs, outputs, dialect, packages, variables,
                                 replace)
    return propose(ctx, draft, replace)


def draft_transformation(project: "Project", language: str, name: str, code: str, inputs: list[Any],
                         outputs: list[Any], dialect: str = "duckdb", packages: list[str] | None = None,
                         variables: dict[str, str] | None = None, replace: bool = False) -> Draft:
    """create_transformation's configuration, built, checked and (SQL, inputs in storage) run on a sample."""
    from ..model.variables import filled

    check_new(project, name, replace)
    transformations = project.transformations
    given = variables
    with notices() as found:
        variables = transformations.values(name, variables, replace)
        config = _build(project, language, name, code, inputs, outputs, dialect, packages, variables)
    notes = _unique(found)
    try:
        frames = _sample(project, config, variables) if language == "sql" else None
    except KeboolaError as e:
        if outputs:
            raise  # back to the model, to fix
        # A check (it makes no table, it fails when its condition holds) may well hold on a few rows.
        notes.append(f"on {SAMPLE_INPUT_ROWS} rows of each input it stopped: {e.what.split(': ', 1)[-1]}")
        frames = None
    overview = [("Component", config.component_id)]
    for line in transformations.summary(config).to_dict("records"):
        frame = (frames or {}).get(line["output"])
        sampled = "" if frame is None else f"; {len(frame)} row(s) from {SAMPLE_INPUT_ROWS} rows of each input"
        overview.append(("Output", f"{line['inputs']} -> {line['output']} (from {line['source']}; {line['load']}; "
                                   f"primary key {line['primary_key'] or 'none'}{sampled})"))
    if packages and language == "python":
        overview.append(("Packages", ", ".join(packages)))
    if variables:
        overview.append(("Variables", ", ".join(f"{k} = {v}" for k, v in variables.items())))
    overview += [("Note", note) for note in notes]
    overview.append(("Code", code.strip("\n")))
    preview = next(iter(frames.values())) if frames else None

    def save(config: "Configuration", replace: bool) -> "Configuration":
        return transformations.save(config, variables if given is not None else None, replace=replace, actor=ACTOR)

    def result(saved: "Configuration") -> dict[str, Any]:
        return {"notes": notes, "outputs": list(transformations.summary(saved)["output"])}

    # What a rehearsal runs: SQL only (Python code runs once the user confirms), its variables filled in as Keboola
    # fills them when a job starts.
    runnable = filled(config, variables) if language == "sql" else None
    return Draft("create_transformation", "transformation", config, overview, preview,
                 lambda text: _from_json(project, text, variables), save, result, runnable=runnable)


@tool()
def explain_transformation(ctx: ToolContext, name: Annotated[str, "transformation name or id"]) -> dict[str, Any]:
    """A transformation's code, storage mapping, column lineage per output and portability findings, for you to
    explain in plain language."""
    from .. import components
    from ..model.transformation import script_of

    transformations = ctx.project.transformations
    config = ctx.project.configs.get(name)
    component = components.get(config.component_id)
    if component.type != "transformation":
        raise KeboolaError(f"{config.name!r} is not a transformation ({config.component_id})",
                           fix="get_configuration shows any configuration")
    checked = component.checked(config)
    result: dict[str, Any] = {
        "name": config.name, "component": config.component_id, "version": config.version,
        "code": _code(script_of(checked.blocks), "#" if component.language == "python" else "--"),
        "inputs": [t.model_dump(exclude_defaults=True, exclude_none=True) for t in checked.mapping.inputs],
        "outputs": [t.model_dump(exclude_defaults=True) for t in checked.mapping.outputs],
    }
    if checked.parameters.get("packages"):
        result["packages"] = checked.parameters["packages"]
    if component.language == "sql":  # the core API reads lineage and portability from SQL only
        for key, method in (("lineage", transformations.lineage), ("portability", transformations.portability)):
            try:
                result[key] = _records(method(config))
            except KeboolaError as e:
                result[key] = f"not available: {e.what}"
    mapping = checked.mapping
    result["summary"] = f"{config.name}: {len(mapping.inputs)} input(s), {len(mapping.outputs)} output(s)"
    return result


# helpers ---------------------------------------------------------------------------------------------
def _build(project: "Project", language: str, name: str, code: str, inputs: list[Any], outputs: list[Any],
           dialect: str, packages: list[str] | None, variables: dict[str, str] | None) -> "Configuration":
    """The checked, unsaved configuration, by the core API's build for the language."""
    transformations = project.transformations
    if language == "python":
        return transformations.build_python(name, code, inputs=inputs, outputs=outputs, packages=packages,
                                            variables=variables)
    return transformations.build_sql(name, code, inputs=inputs, outputs=outputs, dialect=dialect,
                                     variables=variables)


def _sample(project: "Project", config: "Configuration",
            variables: dict[str, str] | None) -> "dict[str, pd.DataFrame] | None":
    """Each output from a few rows of each input; None while an input is not in storage yet (nothing to run on)."""
    present = set(project.storage.tables()["id"])
    sources = [t.get("source") for t in config.configuration.get("storage", {}).get("input", {}).get("tables", [])]
    if any(source not in present for source in sources):
        return None
    return project.transformations.sample(config, rows=SAMPLE_INPUT_ROWS, variables=variables or {})


def _from_json(project: "Project", text: str, variables: dict[str, str]) -> "Configuration":
    """The card's edited JSON as a configuration, checked as the core API checks a built one."""
    from ..model.configuration import Configuration, check_name

    try:
        config = Configuration.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as e:
        raise KeboolaError(f"the configuration JSON is not valid: {e}",
                           fix="it needs componentId, name and configuration") from None
    check_name(config.name, "transformation")
    return project.transformations.check(config, variables)


def _routes(ctx: ToolContext, config: "Configuration") -> str:
    lines = ctx.project.transformations.summary(config).to_dict("records")
    return "; ".join(f"{s['inputs']} -> {s['output']} ({s['load']})" for s in lines)


def _unique(notes: list[str]) -> list[str]:
    """Each notice once: building checks the configuration twice, so a notice can come twice."""
    return list(dict.fromkeys(notes))


def _failed(error: Exception, stage: str, notes: list[str]) -> dict[str, Any]:
    text = str(error)
    result: dict[str, Any] = {"ok": False, "stage": stage, "error": text, "summary": text.splitlines()[0][:150]}
    if notes:
        result["notes"] = notes
    return result


def _shown(frame: "pd.DataFrame", limit: int) -> dict[str, Any]:
    shown = rows_of(frame, limit)
    rows = [[_clip(v) for v in row] for row in shown["rows"]]
    return {"columns": shown["columns"], "sample_rows": len(frame), "rows": rows}


def _records(value: Any) -> Any:
    """A DataFrame (portability) as compact records, empty fields left out; anything else as it is."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        return [{k: v for k, v in record.items() if v not in ("", None, [])} for record in value.to_dict("records")]
    return value


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + f"...[{len(value):,} chars]"
    return value


def _code(scripts: list[tuple[str, str]], comment: str) -> str:
    """The scripts as one text; with several codes, each under a comment naming its block and code."""
    several = len({where for where, _ in scripts}) > 1
    text = "\n\n".join(f"{comment} {where}\n{body}" if several else body for where, body in scripts)
    return text if len(text) <= MAX_CODE_CHARS else text[:MAX_CODE_CHARS] + f"\n[cut: {len(text):,} characters]"


TRANSFORMATION_TOOLS = [describe_inputs, check_transformation, create_transformation, explain_transformation]
