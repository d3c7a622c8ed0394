"""One Anthropic client per kernel, made on first use (importing the SDK takes about a second)."""

from __future__ import annotations

import os
import threading
from typing import Any

from ..errors import KeboolaError

_lock = threading.Lock()
_client: Any = None
_made_for: tuple[str, str] | None = None

KEY_HELP = (
    "set ANTHROPIC_API_KEY in the kernel's environment (os.environ['ANTHROPIC_API_KEY'] = ... or before "
    "starting Jupyter); without a key the chat still takes slash commands such as /help"
)


def has_key() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def get_client() -> Any:
    """The shared client; re-made when the key or ANTHROPIC_BASE_URL changes."""
    global _client, _made_for
    key = os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise KeboolaError("no Anthropic API key is set", fix=KEY_HELP)
    wanted = (key, os.environ.get("ANTHROPIC_BASE_URL", ""))
    with _lock:
        if _client is None or _made_for != wanted:
            import anthropic

            _client = anthropic.Anthropic(api_key=key, max_retries=2)
            _made_for = wanted
        return _client
