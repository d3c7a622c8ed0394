"""Claude tools made from typed Python functions: signature -> JSON schema, call -> compact JSON result.

A tool is a function `fn(ctx, **args)` whose parameters are annotated, e.g.
`Annotated[str, "connection name"]`; its docstring's first paragraph is the description. `@tool` marks
whether it changes anything (then it waits for the user's confirmation) or only reads.
The definitions are built once and never change, so the request prefix stays byte-stable for caching.
"""

from __future__ import annotations

import inspect
import json
import time
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..errors import KeboolaError
from ..store.secrets import redact, redact_all
from .context import Declined

MAX_RESULT_CHARS = 12_000  # a tool result larger than this is cut, with a note saying so


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    function: Callable[..., Any]
    changes: bool  # creates, changes, runs or deletes something: needs the user's confirmation
    arguments: type[BaseModel]

    def definition(self) -> dict[str, Any]:
        schema = self.arguments.model_json_schema()
        return {"name": self.name, "description": self.description, "input_schema": _compact(schema)}


@dataclass
class ToolResult:
    content: str  # JSON text (or a plain message) for the model
    is_error: bool = False
    seconds: float = 0.0
    summary: str = ""  # one line for the tool card
    declined: bool = False  # the user cancelled the proposal


def tool(changes: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__tool_changes__ = changes  # type: ignore[attr-defined]
        return fn

    return mark


def make_tool(fn: Callable[..., Any]) -> Tool:
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for name, param in list(inspect.signature(fn).parameters.items())[1:]:  # the first is the context
        hint = hints[name]
        description = None
        if typing.get_origin(hint) is Annotated:
            hint, description = typing.get_args(hint)[0], typing.get_args(hint)[1]
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hint, Field(default, description=description))
    model = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
    doc = inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    return Tool(fn.__name__, doc, fn, getattr(fn, "__tool_changes__", False), model)


class Toolbox:
    def __init__(self, functions: list[Callable[..., Any]]) -> None:
        self.tools = {t.name: t for t in map(make_tool, functions)}
        definitions = [t.definition() for t in self.tools.values()]
        definitions[-1]["cache_control"] = {"type": "ephemeral"}  # caches every tool definition
        self._definitions = json.loads(json.dumps(definitions))

    def definitions(self) -> list[dict[str, Any]]:
        return self._definitions

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def call(self, ctx: Any, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Run a tool; every failure becomes an `is_error` result the model can recover from."""
        started = time.perf_counter()
        try:
            if name not in self.tools:
                raise KeboolaError(f"there is no tool named {name!r}", fix=f"tools: {', '.join(self.tools)}")
            spec = self.tools[name]
            try:
                args = spec.arguments.model_validate(arguments)
            except ValidationError as e:
                raise KeboolaError(f"invalid arguments for {name}: {first_errors(e)}") from None
            value = redact_all(spec.function(ctx, **{k: getattr(args, k) for k in type(args).model_fields}))
            content, summary, is_error = _encode(value), _summarize(value), False
        except Declined as e:
            reason = redact(str(e)) or "no reason given"
            content = _encode({"done": False, "declined_by_user": True, "reason": reason})
            return ToolResult(content, False, time.perf_counter() - started, "cancelled by the user", declined=True)
        except KeboolaError as e:
            content = summary = redact(str(e))
            is_error = True
        except Exception as e:  # a bug or a driver error: the model gets the message, not a traceback
            content = summary = redact(f"{type(e).__name__}: {e}")
            is_error = True
        if len(content) > MAX_RESULT_CHARS:
            content = content[:MAX_RESULT_CHARS] + f"\n[cut: {len(content):,} characters in all; ask for less]"
        return ToolResult(content, is_error, time.perf_counter() - started, redact(summary)[:200])


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _summarize(value: Any) -> str:
    if isinstance(value, dict) and "summary" in value:
        return str(value["summary"])
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_short(v)}" for k, v in list(value.items())[:4])
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    return _short(value)


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    if isinstance(value, dict):
        return f"{len(value)} field(s)"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def first_errors(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in error.errors()[:3])


def _compact(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline pydantic's `$defs` and drop its generated titles: fewer tokens in every request."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
        return {k: walk(v) for k, v in node.items() if k != "$defs" and not (k == "title" and isinstance(v, str))}

    return walk(schema)
