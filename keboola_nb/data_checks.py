"""Notifications on a value in a transformation's data (`when: daily_revenue.revenue_drop > 0.1`), written with
constructs Keboola has, so the same flow runs there.

Keboola's flow conditions read a task's status and its job's values, never data. So each such `when` becomes a
check: a DuckDB SQL transformation, `<flow>-check`, that reads the transformation's output and fails (DuckDB's
`error()`, a user error) when the comparison holds for any row. It runs in its own phase after all the others, so
a drop still loads the data; the notification is sent when the check's task ends in `user_error`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import components
from .errors import KeboolaError

if TYPE_CHECKING:
    from .model.configuration import Configuration
    from .transformations import Transformations

_SQL_OPERATORS = {"==": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}
_JOB_FIELDS = ("status", "job")
CHECKED = "checked"  # the name the check's code reads the transformation's output by


def with_data_checks(name: str, body: dict[str, Any], find: Callable[[str], "Configuration | None"],
                     transformations: "Transformations",
                     existing: set[str]) -> tuple[dict[str, Any], list["Configuration"]]:
    """The flow shorthand `body` with each notification on a transformation's data turned into a check phase and a
    `when` on the check's status; and the check transformations (built, not saved). `find` looks a configuration
    up by name (also among ones planned with the flow); `existing`: configuration names already taken."""
    from .components.flow.shorthand import DATA_VALUE, free_name

    notify = body.get("notify")
    if not isinstance(notify, list) or not isinstance(body.get("phases"), list):
        return body, []
    body = {**body, "phases": list(body["phases"]), "notify": []}
    checks: list["Configuration"] = []
    for i, entry in enumerate(notify, 1):
        when = str(entry.get("when") or "") if isinstance(entry, dict) else ""
        data = DATA_VALUE.match(when.strip())
        task = find(data["subject"]) if data else None
        if data is None or data["field"] in _JOB_FIELDS or task is None \
                or components.get(task.component_id).type != "transformation":
            body["notify"].append(entry)  # the shorthand reads (or names the problem of) everything else
            continue
        where = f"flow {name!r}, notify {i}"
        check_name = free_name(f"{name}-check", existing | {c.name for c in checks})
        table = _output_with(task, data["field"], transformations, where)
        checks.append(transformations.build_sql(check_name, _code(name, when.strip(), table, data, where),
                                                inputs=[f"{table} AS {CHECKED}"], outputs=[],
                                                description=f"Fails when {when.strip()} {_marked(name)}"))
        phase_ids = {str(next(iter(p))) if isinstance(p, dict) and len(p) == 1 else str(p.get("id", ""))
                     for p in body["phases"] if isinstance(p, dict)}
        body["phases"].append({free_name("check", phase_ids): [check_name]})
        body["notify"].append({**entry, "when": f"{check_name}.status == user_error",
                               "name": entry.get("name") or f"Notify: {when.strip()}",
                               "title": entry.get("title") or f"Flow {name}: {when.strip()}",
                               "message": entry.get("message") or f"Flow {name!r}: {when.strip()} holds in {table} "
                                                                  f"(checked by {check_name})."})
    return body, checks


def is_check_of(config: "Configuration", flow: str) -> bool:
    """Whether `config` is a check `with_data_checks` built for flow `flow`'s notifications."""
    return config.description.endswith(_marked(flow))


def _marked(flow: str) -> str:
    return f"(flow {flow}'s notification)"


def _output_with(task: "Configuration", column: str, transformations: "Transformations", where: str) -> str:
    """The transformation's output table that has `column` (by storage, else by the code's lineage); with one
    output, that one."""
    outputs = [str(t["destination"]) for t in task.configuration.get("storage", {}).get("output", {})
               .get("tables", [])]
    if len(outputs) == 1:
        return outputs[0]
    columns: dict[str, list[str]] = {}
    for table in outputs:
        try:
            columns[table] = list(transformations.storage.metadata(table)["columns"])
        except KeboolaError:
            try:
                columns[table] = list(transformations.lineage(task).get(table, {}))
            except KeboolaError:
                columns[table] = []
    having = [t for t in outputs if column in columns[t]]
    if not having and not all(columns.values()):
        raise KeboolaError(f"{where}: which of {task.name}'s outputs ({', '.join(outputs)}) has column {column!r} "
                           f"is not known before it has run", fix=f"run {task.name} once, then create the flow")
    if len(having) != 1:
        listed = "; ".join(f"{t}: {', '.join(c)}" for t, c in columns.items())
        raise KeboolaError(f"{where}: {'none' if not having else 'more than one'} of {task.name}'s outputs has a "
                           f"column {column!r} ({listed or 'it has no outputs'})",
                           fix="name a column of exactly one output, or check it with your own transformation")
    return having[0]


def _code(flow: str, when: str, table: str, data: Any, where: str) -> str:
    column = '"' + data["field"].replace('"', '""') + '"'
    value = data["value"].strip()
    if _number(value):
        literal = value
    elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        literal = "'" + value[1:-1].replace("'", "''") + "'"
    else:
        raise KeboolaError(f"{where}: 'when: {when}' compares with {value!r}, which is neither a number nor a quoted "
                           "text", fix=f"e.g. when: {data['subject']}.{data['field']} > 0.1, or == 'EUR'")
    said = when.replace("'", "''")
    return (f"-- flow {flow} notifies when {when}: this check fails (a user error) when a row of {table} shows it\n"
            f"SELECT error('{said}: ' || CAST({column} AS VARCHAR))\n"
            f"FROM {CHECKED}\n"
            f"WHERE {column} {_SQL_OPERATORS[data['op']]} {literal}")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
