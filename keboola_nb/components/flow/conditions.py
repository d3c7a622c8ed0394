"""The conditions of Keboola's conditional flows (`keboola.flow`): on a transition (`phases[].next[].condition`)
and as a variable task's `source`. Read from Keboola's JSON, written back unchanged, and evaluated the way
Keboola evaluates them once every task of a phase has finished.

Keboola's own schema (keboola/mcp-server `conditional-flow-schema.json`) gives the shapes; Keboola's docs add
`ANY_TASKS_IN_ANY_PHASE` and `CONTINUE_ON_FAILURE`. A malformed condition is read as `Malformed` (kept as it was)
so that `checks.check` can list it with the flow's other problems; evaluating it is an error.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Literal, Union

from ...errors import KeboolaError
from .nodes import Node, written

STATUSES = ("success", "user_error", "application_error", "terminated", "skipped")  # a task's or a phase's
FAILED = ("user_error", "application_error")
BINARY = ("EQUALS", "NOT_EQUALS", "GREATER_THAN", "LESS_THAN", "INCLUDES", "CONTAINS")
LOGICAL = ("AND", "OR")
IN_PHASE = ("ALL_TASKS_IN_PHASE", "ANY_TASKS_IN_PHASE")
OPERATORS = (*LOGICAL, *BINARY, *IN_PHASE, "ANY_TASKS_IN_ANY_PHASE", "CONTINUE_ON_FAILURE")
FUNCTIONS = ("COUNT", "DATE")
TYPES = ("const", "constant", "phase", "task", "variable", "operator", "function", "array")
EVERY_TASK = "*"  # the task an inner statement of ALL_/ANY_TASKS_IN_PHASE is asked of


class Const(Node):
    type: Literal["const", "constant"] = "const"
    value: Any = None


class PhaseRef(Node):
    type: Literal["phase"] = "phase"
    phase: str
    value: str = "status"


class TaskRef(Node):
    type: Literal["task"] = "task"
    task: str  # a task id, or "*" inside ALL_/ANY_TASKS_IN_PHASE
    value: str = "status"  # status, or a path into the task's job: job.result.output.tables, job.durationSeconds


class VariableRef(Node):
    type: Literal["variable"] = "variable"
    value: str  # the variable's name


class Operator(Node):
    type: Literal["operator"] = "operator"
    operator: str
    phase: str | None = None  # ALL_/ANY_TASKS_IN_PHASE, CONTINUE_ON_FAILURE
    tasks: list[str] | None = None  # CONTINUE_ON_FAILURE: the tasks allowed to fail
    operands: list["Condition"] = []


class Function(Node):
    type: Literal["function"] = "function"
    function: str
    operands: list["Condition"] = []


class Array(Node):
    type: Literal["array"] = "array"
    operands: list["Condition"] = []


class Malformed(Node):
    """A condition Keboola would refuse, kept as it was read."""

    raw: Any
    problem: str


Condition = Union[Const, PhaseRef, TaskRef, VariableRef, Operator, Function, Array, Malformed]
for _model in (Operator, Function, Array):
    _model.model_rebuild()


# reading and writing ------------------------------------------------------------------------------------
def parse(data: Any, where: str = "condition") -> Condition:
    """Keboola's condition JSON as a Condition; a malformed one (anywhere inside) becomes `Malformed`."""
    try:
        return _parse(data, where)
    except _Bad as e:
        return Malformed(raw=data, problem=str(e))


class _Bad(Exception):
    pass


def _parse(data: Any, where: str) -> Condition:
    if not isinstance(data, dict):
        raise _Bad(f"{where} must be an object with a 'type', not {data!r}")
    kind = data.get("type")
    if kind not in TYPES:
        raise _Bad(f"{where} has type {kind!r}; a condition's type is one of {', '.join(TYPES)}")
    order = tuple(data)

    def need(key: str, types: type | tuple[type, ...] = str) -> Any:
        if key not in data:
            raise _Bad(f"{where} ({kind}) has no {key!r}")
        if not isinstance(data[key], types) or isinstance(data[key], bool) and types is not bool:
            raise _Bad(f"{where} ({kind}): {key!r} must be a {getattr(types, '__name__', 'string')}, "
                       f"not {data[key]!r}")
        return data[key]

    def operands(count: int | None = None, least: int = 0) -> list[Condition]:
        found = need("operands", list)
        if count is not None and len(found) != count:
            raise _Bad(f"{where} ({data.get('operator') or data.get('function')}) takes {count} operand(s), "
                       f"not {len(found)}")
        if len(found) < least:
            raise _Bad(f"{where} ({data.get('operator')}) needs at least {least} operand(s)")
        return [_parse(o, f"{where}.operands[{i}]") for i, o in enumerate(found)]

    known: dict[str, Any]
    if kind in ("const", "constant"):
        if "value" not in data:
            raise _Bad(f"{where} (const) has no 'value'")
        model: type[Node] = Const
        known = {"type": kind, "value": data["value"]}
    elif kind == "phase":
        value = need("value")
        if value != "status":
            raise _Bad(f"{where}: a phase condition asks for 'status', not {value!r}")
        model, known = PhaseRef, {"phase": need("phase"), "value": value}
    elif kind == "task":
        value = need("value")
        if value != "status" and not value.startswith("job."):
            raise _Bad(f"{where}: a task condition asks for 'status' or a path into its job (job.status, "
                       f"job.result.output.tables), not {value!r}")
        model, known = TaskRef, {"task": need("task"), "value": value}
    elif kind == "variable":
        model, known = VariableRef, {"value": need("value")}
    elif kind == "operator":
        operator = need("operator")
        if operator not in OPERATORS:
            raise _Bad(f"{where}: operator {operator!r} is not one of {', '.join(OPERATORS)}")
        model, known = Operator, {"operator": operator}
        if operator in IN_PHASE or operator == "CONTINUE_ON_FAILURE":
            known["phase"] = need("phase")
        if operator == "CONTINUE_ON_FAILURE":
            tasks = need("tasks", list) if "tasks" in data else []
            if not all(isinstance(t, str) for t in tasks):
                raise _Bad(f"{where} (CONTINUE_ON_FAILURE): 'tasks' must list task ids")
            known["tasks"] = tasks
            if "operands" in data:
                known["operands"] = operands()
        else:
            known["operands"] = operands(2) if operator in BINARY else operands(least=1)
    elif kind == "function":
        function = need("function")
        if function not in FUNCTIONS:
            raise _Bad(f"{where}: function {function!r} is not one of {', '.join(FUNCTIONS)}")
        model, known = Function, {"function": function, "operands": operands(1)}
    else:
        model, known = Array, {"operands": operands()}
    if kind not in ("const", "constant"):
        known["type"] = kind
    rest = {k: v for k, v in data.items() if k not in known and k != "type"}
    return model(**known, unknown=rest, key_order=order)


def to_json(condition: Condition) -> Any:
    """Keboola's JSON of a condition (a Malformed one as it was read)."""
    if isinstance(condition, Malformed):
        return condition.raw
    known: dict[str, Any] = {"type": condition.type}
    if isinstance(condition, Const):
        known["value"] = condition.value
    elif isinstance(condition, PhaseRef):
        known |= {"phase": condition.phase, "value": condition.value}
    elif isinstance(condition, TaskRef):
        known |= {"task": condition.task, "value": condition.value}
    elif isinstance(condition, VariableRef):
        known["value"] = condition.value
    elif isinstance(condition, Operator):
        known["operator"] = condition.operator
        if condition.phase is not None:
            known["phase"] = condition.phase
        if condition.tasks is not None:
            known["tasks"] = condition.tasks
        if condition.operator != "CONTINUE_ON_FAILURE" or condition.operands:
            known["operands"] = [to_json(o) for o in condition.operands]
    elif isinstance(condition, Function):
        known |= {"function": condition.function, "operands": [to_json(o) for o in condition.operands]}
    else:
        known["operands"] = [to_json(o) for o in condition.operands]
    return written(condition, known)


def walk(condition: Condition) -> list[Condition]:
    """The condition and every condition inside it."""
    found: list[Condition] = [condition]
    for operand in getattr(condition, "operands", []):
        found += walk(operand)
    return found


# evaluating ---------------------------------------------------------------------------------------------
@dataclass
class Context:
    """What a condition may look at when a phase has finished."""

    task_status: dict[str, str] = field(default_factory=dict)  # task id -> one of STATUSES
    task_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> its job, as Keboola's job JSON
    phase_status: dict[str, str] = field(default_factory=dict)  # phase id -> one of STATUSES
    phase_tasks: dict[str, list[str]] = field(default_factory=dict)  # phase id -> the ids of its enabled tasks
    variables: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


_JOB_STATUS = {"success": "success", "user_error": "error", "application_error": "error",
               "terminated": "terminated", "skipped": None}


def evaluate(condition: Condition, context: Context, task: str | None = None) -> Any:
    """The value of `condition` in `context` (a transition's condition is true when the value is truthy);
    `task` is the task `*` stands for inside ALL_/ANY_TASKS_IN_PHASE."""
    if isinstance(condition, Malformed):
        raise KeboolaError(f"a condition is malformed: {condition.problem}", fix="correct it in the flow")
    if isinstance(condition, Const):
        return condition.value
    if isinstance(condition, PhaseRef):
        return context.phase_status.get(condition.phase, "skipped")
    if isinstance(condition, TaskRef):
        task_id = task if condition.task == EVERY_TASK else condition.task
        if task_id is None:
            raise KeboolaError("a task condition names task '*' outside ALL_TASKS_IN_PHASE / ANY_TASKS_IN_PHASE",
                               fix="name the task by its id")
        return _task_value(task_id, condition.value, context)
    if isinstance(condition, VariableRef):
        if condition.value not in context.variables:
            known = ", ".join(sorted(context.variables)) or "none set yet"
            raise KeboolaError(f"a condition reads variable {condition.value!r}, which no task has set (set: {known})",
                               fix="set it with a variable task in an earlier phase")
        return context.variables[condition.value]
    if isinstance(condition, Function):
        value = evaluate(condition.operands[0], context, task)
        return _count(value) if condition.function == "COUNT" else php_date(str(value), context.now)
    if isinstance(condition, Array):
        return [evaluate(o, context, task) for o in condition.operands]
    return _operator(condition, context, task)


def _operator(op: Operator, context: Context, task: str | None) -> Any:
    name = op.operator
    if name == "AND":
        return all(truthy(evaluate(o, context, task)) for o in op.operands)
    if name == "OR":
        return any(truthy(evaluate(o, context, task)) for o in op.operands)
    if name in IN_PHASE or name == "ANY_TASKS_IN_ANY_PHASE":
        if name == "ANY_TASKS_IN_ANY_PHASE":  # only tasks that have finished: it never waits
            tasks = [t for t, s in context.task_status.items() if s != "skipped"]
        else:
            tasks = context.phase_tasks.get(str(op.phase), [])
        matches = (all(truthy(evaluate(o, context, t)) for o in op.operands) for t in tasks)
        return all(matches) if name == "ALL_TASKS_IN_PHASE" else any(matches)
    if name == "CONTINUE_ON_FAILURE":
        allowed = set(op.tasks or [])
        return all(context.task_status.get(t, "skipped") == "success"
                   for t in context.phase_tasks.get(str(op.phase), []) if t not in allowed)
    left, right = (evaluate(o, context, task) for o in op.operands)
    if name == "EQUALS":
        return equal(left, right)
    if name == "NOT_EQUALS":
        return not equal(left, right)
    if name in ("GREATER_THAN", "LESS_THAN"):
        a, b = _number(left, name), _number(right, name)
        return a > b if name == "GREATER_THAN" else a < b
    return _contains(left, right)  # INCLUDES, CONTAINS


def _task_value(task_id: str, value: str, context: Context) -> Any:
    status = context.task_status.get(task_id, "skipped")
    if value == "status":
        return status
    job = context.task_jobs.get(task_id) or {}
    if value == "job.status" and "status" not in job:
        return _JOB_STATUS.get(status, status)
    found: Any = {"job": job}
    for part in value.split("."):
        if isinstance(found, dict):
            found = found.get(part)
        elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            return None
    return found


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no")
    return bool(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def equal(a: Any, b: Any) -> bool:
    """Keboola compares loosely: 3 equals "3"; true equals "true"."""
    x, y = _as_number(a), _as_number(b)
    if x is not None and y is not None:
        return x == y
    if type(a) is type(b):
        return bool(a == b)
    return _text(a) == _text(b)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else "" if value is None else str(value)


def _number(value: Any, operator: str) -> float:
    number = _as_number(value)
    if number is None:
        raise KeboolaError(f"{operator} compares numbers; {value!r} is not one",
                           fix="compare a number (job.durationSeconds, COUNT(...)) with a number")
    return number


def _contains(container: Any, item: Any) -> bool:
    """INCLUDES and CONTAINS: the first operand (a text, a list or an object's keys) holds the second."""
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, dict):
        return _text(item) in container
    if isinstance(container, list):
        return any(equal(member, item) for member in container)
    return False


def _count(value: Any) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, (list, dict)) else 1


# PHP's date() format letters, which Keboola's DATE function takes (php.net/manual/en/datetime.format.php)
def _offset(d: datetime, colon: bool) -> str:
    seconds = int(d.utcoffset().total_seconds()) if d.utcoffset() else 0
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600:02d}{':' if colon else ''}{seconds % 3600 // 60:02d}"


_PHP: dict[str, Callable[[datetime], str]] = {
    "d": lambda d: f"{d.day:02d}", "D": lambda d: d.strftime("%a"), "j": lambda d: str(d.day),
    "l": lambda d: d.strftime("%A"), "N": lambda d: str(d.isoweekday()), "w": lambda d: str(d.isoweekday() % 7),
    "z": lambda d: str(d.timetuple().tm_yday - 1), "W": lambda d: f"{d.isocalendar()[1]:02d}",
    "F": lambda d: d.strftime("%B"), "m": lambda d: f"{d.month:02d}", "M": lambda d: d.strftime("%b"),
    "n": lambda d: str(d.month), "t": lambda d: str(calendar.monthrange(d.year, d.month)[1]),
    "L": lambda d: "1" if calendar.isleap(d.year) else "0", "o": lambda d: str(d.isocalendar()[0]),
    "Y": lambda d: str(d.year), "y": lambda d: f"{d.year % 100:02d}", "a": lambda d: "am" if d.hour < 12 else "pm",
    "A": lambda d: "AM" if d.hour < 12 else "PM", "g": lambda d: str(d.hour % 12 or 12), "G": lambda d: str(d.hour),
    "h": lambda d: f"{d.hour % 12 or 12:02d}", "H": lambda d: f"{d.hour:02d}", "i": lambda d: f"{d.minute:02d}",
    "s": lambda d: f"{d.second:02d}", "u": lambda d: f"{d.microsecond:06d}",
    "v": lambda d: f"{d.microsecond // 1000:03d}",
    "e": lambda d: str(d.tzinfo or "UTC"), "T": lambda d: d.tzname() or "UTC", "O": lambda d: _offset(d, False),
    "P": lambda d: _offset(d, True), "p": lambda d: "Z" if not d.utcoffset() else _offset(d, True),
    "Z": lambda d: str(int(d.utcoffset().total_seconds()) if d.utcoffset() else 0),
    "U": lambda d: str(int(d.timestamp())),
    "c": lambda d: php_date("Y-m-d\\TH:i:sP", d), "r": lambda d: php_date("D, d M Y H:i:s O", d),
}


def php_date(fmt: str, moment: datetime) -> str:
    """`moment` formatted by a PHP date() format (`N` day of week 1-7, `F` month name, `U` epoch seconds);
    a backslash makes the next letter literal, letters PHP does not know are kept."""
    out, escaped = [], False
    for ch in fmt:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(_PHP[ch](moment) if ch in _PHP else ch)
    return "".join(out)


def describe(condition: Condition) -> str:
    """A transition's condition in words: 'phase check failed', 'task x job.durationSeconds > 600', ..."""
    def term(node: Any) -> str:
        if isinstance(node, Const):
            return json.dumps(node.value) if not isinstance(node.value, str) else node.value
        if isinstance(node, PhaseRef):
            return f"phase {node.phase}" + ("" if node.value == "status" else f" {node.value}")
        if isinstance(node, TaskRef):
            return ("each task" if node.task == EVERY_TASK else f"task {node.task}") + (
                "" if node.value == "status" else f" {node.value}")
        if isinstance(node, VariableRef):
            return f"variable {node.value}"
        if isinstance(node, Function):
            return f"{node.function}({', '.join(term(o) for o in node.operands)})"
        if isinstance(node, Array):
            return "[" + ", ".join(term(o) for o in node.operands) + "]"
        if isinstance(node, Malformed):
            return f"(malformed: {node.problem})"
        return said(node)

    def said(op: Any) -> str:
        ops = op.operands
        equals = [o for o in ops if isinstance(o, Operator) and o.operator == "EQUALS" and len(o.operands) == 2]
        if op.operator == "OR" and ops and len(equals) == len(ops) \
                and len({json.dumps(to_json(o.operands[0])) for o in equals}) == 1:
            values = [term(o.operands[1]) for o in equals]
            subject = term(equals[0].operands[0])
            return f"{subject} failed" if set(values) == set(FAILED) else f"{subject} is {' or '.join(values)}"
        if op.operator in LOGICAL:
            return f" {op.operator.lower()} ".join(f"({term(o)})" if isinstance(o, Operator)
                                                   and o.operator in LOGICAL else term(o) for o in ops)
        binary = {"EQUALS": "is", "NOT_EQUALS": "is not", "GREATER_THAN": ">", "LESS_THAN": "<",
                  "INCLUDES": "includes", "CONTAINS": "contains"}
        if op.operator in binary and len(ops) == 2:
            return f"{term(ops[0])} {binary[op.operator]} {term(ops[1])}"
        if op.operator in IN_PHASE:
            every = "every" if op.operator.startswith("ALL") else "any"
            return f"{every} task of phase {op.phase}: " + " and ".join(term(o) for o in ops)
        if op.operator == "ANY_TASKS_IN_ANY_PHASE":
            return "any task of any phase: " + " and ".join(term(o) for o in ops)
        if op.operator == "CONTINUE_ON_FAILURE":
            return f"phase {op.phase} failed only in {', '.join(op.tasks or []) or 'allowed tasks'}"
        return f"{op.operator}({', '.join(term(o) for o in ops)})"

    return term(condition)
