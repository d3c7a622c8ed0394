"""Which model answers a turn, and what a turn cost. Names and prices come from `models.json`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# A turn that only says yes/no/go on goes to the cheap model. The strong model takes over when a tool
# failed in this message: the loop is then debugging. (Not on words like "why": a cold cache on the
# strong model costs more than it saves on questions the default model answers well.)
_SIMPLE = re.compile(r"^\s*(yes|yep|ok|okay|sure|no|nope|go|go ahead|do it|run it|create it|thanks?|thank you)\W*$", re.I)


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("models.json")).read_text())


def choose_model(text: str, after_error: bool = False, override: str | None = None) -> str:
    """The model for a model call: an explicit choice, else by what the user asked and how it went."""
    chosen = override or os.environ.get("KEBOOLA_NB_MODEL")
    if chosen:
        return chosen
    models = catalog()
    if after_error:
        return models["strong"]
    if _SIMPLE.match(text):
        return models["cheap"]
    return models["default"]


@dataclass
class Usage:
    """Tokens of one model call (or a sum of them) and their price."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of(cls, model: str, usage: Any) -> "Usage":
        """From an SDK `usage` object (or dict) of a final message."""
        get = usage.get if isinstance(usage, dict) else lambda k, d=0: getattr(usage, k, d)
        made = cls(
            input_tokens=get("input_tokens", 0) or 0,
            output_tokens=get("output_tokens", 0) or 0,
            cache_read=get("cache_read_input_tokens", 0) or 0,
            cache_write=get("cache_creation_input_tokens", 0) or 0,
        )
        made.cost_usd = made.price(model)
        return made

    def price(self, model: str) -> float:
        prices = catalog()["prices"].get(model)
        if prices is None:
            return 0.0  # an unknown model is shown with tokens only
        return (
            self.input_tokens * prices["input"]
            + self.output_tokens * prices["output"]
            + self.cache_write * prices["cache_write"]
            + self.cache_read * prices["cache_read"]
        ) / 1_000_000

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
            self.cost_usd + other.cost_usd,
        )
