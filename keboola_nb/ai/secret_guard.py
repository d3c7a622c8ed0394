"""Catch secrets in what the user types before it goes to the model.

A password in a connection URL, a "password is ..." phrase, or a value shaped like a known key is stored
as a local secret (a 0600 file outside the project) and replaced in the message by its reference, so the
model can still use it (e.g. pass the reference to add_connection) without ever seeing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..store.secrets import SecretRef, redact, store_secret

_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s:/@]+):([^\s@/]+)@(\S*[^\s.,;:!?)\]'\"])", re.I)
_PHRASE = re.compile(
    r"\b(password|passwd|pwd|passphrase|secret|token|api[ _-]?key|access[ _-]?key|secret[ _-]?key)"
    r"(\s+(?:is|=|:)\s*|\s*[:=]\s*)(?:\"([^\"]+)\"|'([^']+)'|([^\s\"']{3,}))",
    re.I,
)
_KEY_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|\bsk-ant-[A-Za-z0-9_-]{16,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|\bAIza[0-9A-Za-z_-]{35}",
    re.S,
)
_NOT_A_VALUE = re.compile(r"^(KBNB::|\*\*\*$)|^(the|a|an|my|our|not|set|stored|wrong|missing|correct|empty)$", re.I)


@dataclass
class Caught:
    what: str  # "password in a URL", "token", ...
    reference: SecretRef


def guard(text: str) -> tuple[str, list[Caught]]:
    """`text` with every secret replaced by a reference to a freshly stored local secret."""
    caught: list[Caught] = []

    def keep(label: str, value: str, what: str) -> str:
        ref = store_secret(label, value)
        caught.append(Caught(what, ref))
        return str(ref)

    def url(m: re.Match[str]) -> str:
        scheme, user, password, rest = m.groups()
        host = re.split(r"[:/?#]", rest, maxsplit=1)[0]
        ref = keep(f"{host}-{unquote(user)}-password", unquote(password), "password in a connection URL")
        return f"{scheme}{user}@{rest} (password stored as {ref})"

    def phrase(m: re.Match[str]) -> str:
        word, joiner, double, single, bare = m.groups()
        value = double or single or bare
        if _NOT_A_VALUE.match(value):
            return m.group(0)
        label = "chat-" + re.sub(r"[ _-]+", "-", word.lower())
        return f"{word}{joiner}{keep(label, value, word.lower())}"

    def shaped(m: re.Match[str]) -> str:
        return keep("chat-key", m.group(0), "key")

    text = _URL.sub(url, text)
    text = _KEY_SHAPES.sub(shaped, text)
    text = _PHRASE.sub(phrase, text)
    return redact(text), caught  # secrets this kernel already knows are masked too
