"""Turn pydantic's validation report into one message a person can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import KeboolaError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


def explain(error: "ValidationError", where: str, model: "type[BaseModel] | None" = None) -> KeboolaError:
    problems = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            allowed = ""
            if model is not None:
                names = [f.alias or n for n, f in model.model_fields.items()]
                allowed = f" (allowed: {', '.join(names)})"
            problems.append(f"unknown key {loc!r}{allowed}")
        elif item["type"] == "missing":
            problems.append(f"missing key {loc!r}")
        elif item["type"] == "value_error":
            problems.append(str(item["msg"]).removeprefix("Value error, "))
        else:
            problems.append(f"{loc}: {item['msg']}")
    return KeboolaError(f"{where}: {'; '.join(problems)}", fix="correct the configuration and save it again")
