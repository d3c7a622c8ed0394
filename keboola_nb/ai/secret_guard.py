"""Catch secrets in what the user types before it goes to the model.

A password in a connection URL, a "password is ..." phrase, or a value shaped like a known key is stored
as a local secret (a 0600 file outside the project) and replaced in the message by its reference, so the
model can still use it (e.g. pass the reference to add_connection) without ever seeing it. `guard_arguments` does
the same inside a tool call's arguments, where a Keboola `#` key's value is a secret whatever it looks like. `mask`
finds the same values and only hides them, for text that is shown but neither sent nor kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..store.secrets import SecretRef, is_reference, redact, store_secret

# The password runs to the LAST @ before whitespace, so it may hold '/' and '@'. Digits then '/' after the
# colon are a port, not a password (https://host:8080/a?mail=me@x.com).
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s:/@]+):(?!\d+/)(\S+)@(\S*[^\s.,;:!?)\]'\"])", re.IGNORECASE)
_PHRASE = re.compile(
    # A keyword, also glued to a prefix (PGPASSWORD, DB_PASSWORD, client_secret), but not inside a word.
    r"(?<![A-Za-z])(?P<prefix>[A-Za-z]*_?)"
    r"(?P<word>secret[ _-]?key|access[ _-]?key|api[ _-]?key|passphrase|password|passwd|pass|secret|token|pwd)"
    # A JSON key's closing quote, maybe "for etl" / "of the admin", then ':', '=' or 'is'. Only spaces and
    # tabs: what stands on the next line is not the value.
    r"(?P<join>[\"']?(?:[ \t]+(?:for|of|to|on|at|in)(?:[ \t]+[\w.@-]+){1,2}?)?"
    r"(?:[ \t]*[:=]|[ \t]+(?:is|was)\b:?)[ \t]*)"
    r"(?:\"(?P<double>[^\"\n]+)\"|'(?P<single>[^'\n]+)'|(?P<bare>[^\s\"']+))",
    re.IGNORECASE,
)
_KEY_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|\bsk-ant-[A-Za-z0-9_-]{16,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|\bAIza[0-9A-Za-z_-]{35}"
    r"|\b\d+-\d+-[A-Za-z0-9]{40}\b",  # a Keboola Storage API token
    re.DOTALL,
)
# A reference, a mask or a template (<password>, ${PW}): nothing to hide.
_STAND_IN = re.compile(r"\*\*\*|[<{$]")
# An environment variable's name (PG_PASS), code (os.environ[...], getpass()) or a path (pwd: /home/me).
_NOT_SECRET = re.compile(r"[A-Z]+(?:_[A-Z0-9]+)*$|[A-Za-z_][\w.]*[(\[]|[/~]|\./")
# Words that say something about a secret rather than being one ("the password is incorrect"), and the
# keywords themselves: connect(password=password) passes a variable, and a remembered "password" would be
# masked in every later message.
_WORDS = frozenset(
    "none null nil true false yes no incorrect invalid expired required too that this it being wrong missing "
    "correct empty set stored the a an my our your not also still same different unknown undefined changed "
    "reset saved hidden encrypted protected something here below above "
    "password passwd pass passphrase secret token pwd key".split()
)

Swap = Callable[[str, str, str], str]  # (what, label, value) -> what stands in the text for the value


@dataclass
class Caught:
    what: str  # "password in a connection URL", "token", ...
    reference: SecretRef


def guard(text: str) -> tuple[str, list[Caught]]:
    """`text` with every secret replaced by a reference to a freshly stored local secret."""
    caught: list[Caught] = []
    return _guard_text(text, _keeper(caught)), caught


def guard_arguments(value: Any, source: str) -> tuple[Any, list[Caught]]:
    """`value` (a tool call's JSON arguments) with every secret in it stored locally and replaced by its reference.
    A `#` key holds a secret in Keboola, whatever its text looks like ("<s3cr3t>" too): stored as `{source}-{key}`.
    Other keys are judged by their values, as `guard` judges text: `password_reference` or a variable
    `token_limit` are not secrets."""
    caught: list[Caught] = []
    keep = _keeper(caught)

    def walk(node: Any, key: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if not isinstance(node, str) or not node:
            return node
        if key.startswith("#") and not is_reference(node):
            return keep(f"value of {key}", f"{source}-{key.lstrip('#')}", node)
        return _guard_text(node, keep)

    return walk(value, ""), caught


def _keeper(caught: list[Caught]) -> Swap:
    """A swap that stores the value as a local secret, notes it in `caught` and puts its reference in its place."""

    def keep(what: str, label: str, value: str) -> str:
        ref = store_secret(label, value)
        caught.append(Caught(what, ref))
        return str(ref)

    return keep


def _guard_text(text: str, keep: Swap) -> str:
    # The model gets the URL without the password and the reference beside it, the way add_connection takes them.
    clean = _rewrite(text, keep, "{scheme}{user}@{rest} (password stored as {value})")
    return redact(clean)  # secrets this kernel already knows are masked too


def mask(text: str) -> str:
    """`text` with every secret replaced by ***; nothing is stored."""
    return redact(_rewrite(text, lambda *_: "***", "{scheme}{user}:{value}@{rest}"))


def _rewrite(text: str, swap: Swap, url_form: str) -> str:
    """`text` with each secret value replaced by `swap(...)`; URLs are rebuilt with `url_form`."""

    def url(m: re.Match[str]) -> str:
        scheme, user, password, rest = m.groups()
        if _STAND_IN.match(password):
            return m.group(0)
        host = re.split(r"[:/?#]", rest, maxsplit=1)[0]
        value = swap("password in a connection URL", f"{host}-{unquote(user)}-password", unquote(password))
        return url_form.format(scheme=scheme, user=user, rest=rest, value=value)

    def phrase(m: re.Match[str]) -> str:
        prefix, word, join = m.group("prefix", "word", "join")
        kind = next(k for k in ("double", "single", "bare") if m.group(k) is not None)
        value = m.group(kind).rstrip(".,;:!?)]}") if kind == "bare" else m.group(kind)  # end of the sentence
        keyword = prefix + word
        if word.lower() == "pwd":  # also the shell's "print working directory"
            wanted = bool(re.fullmatch(r"[\"']?[ \t]*[:=][ \t]*", join)) and _looks_secret(value, shape=True)
        elif word.lower() == "pass" and prefix[-1:].isalpha():  # compass, bypass
            wanted = False
        elif kind != "bare" or (join.strip() == "=" and keyword.isupper()):  # quoted, or PGPASSWORD=... in a shell
            wanted = _looks_secret(value, shape=False)
        else:
            wanted = _looks_secret(value, shape=True)
        if not wanted:
            return m.group(0)
        label = "chat-" + re.sub(r"[ _-]+", "-", keyword.lower())
        start = m.start(kind) - m.start()
        whole = m.group(0)
        return whole[:start] + swap(re.sub(r"[ _-]+", " ", word.lower()), label, value) + whole[start + len(value):]

    text = _URL.sub(url, text)
    text = _KEY_SHAPES.sub(lambda m: swap("key", "chat-key", m.group(0)), text)
    return _PHRASE.sub(phrase, text)


def _looks_secret(value: str, shape: bool) -> bool:
    """Whether a value after a keyword is a secret, rather than a word about it, a name, code or a path."""
    if not value or _STAND_IN.match(value) or _NOT_SECRET.match(value) or value.lower() in _WORDS:
        return False
    # In prose ("the secret is that ...") only a password-like value counts: a digit, a symbol or some length.
    return not shape or len(value) >= 8 or not value.isalpha()
