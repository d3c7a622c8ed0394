"""Secrets by reference: configurations hold `KBNB::<scheme>::<name>`, never a value.

Schemes:
- `env`     an environment variable of the kernel,
- `file`    a 0600 file outside the project (`~/.config/keboola_nb/secrets`, or `$KEBOOLA_NB_SECRETS_DIR`),
- `keyring` an entry of the system keyring (when the `keyring` package is installed).

Every value that is resolved is remembered so `redact()` can scrub it from any message, log or error
before it is shown or stored.
"""

from __future__ import annotations

from typing import Any

import os
import re
import secrets as _random
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import KeboolaError
from .files import write_text_atomic

PREFIX = "KBNB::"
SCHEMES = ("env", "file", "keyring")
KEYRING_SERVICE = "keboola_nb"
_REF = re.compile(r"^KBNB::(env|file|keyring)::([A-Za-z0-9_.\-]+)$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MASK = "***"

_known_values: set[str] = set()
_known_lock = threading.Lock()


@dataclass(frozen=True)
class SecretRef:
    """A pointer to a secret value that lives outside the project."""

    scheme: str
    name: str

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise KeboolaError(f"unknown secret scheme {self.scheme!r}", fix=f"use one of {', '.join(SCHEMES)}")
        if not _NAME.match(self.name):
            raise KeboolaError(
                f"secret name {self.name!r} has characters other than letters, digits, '.', '_' and '-'",
                fix="choose a simpler name",
            )

    def __str__(self) -> str:
        return f"{PREFIX}{self.scheme}::{self.name}"

    @classmethod
    def parse(cls, text: str, where: str = "") -> "SecretRef":
        match = _REF.match(text or "")
        if not match:
            raise KeboolaError(
                f"{where or 'a # key'} holds something that is not a secret reference",
                fix="store secrets as references (for example --password-env VAR); never put values in configurations",
            )
        return cls(match.group(1), match.group(2))

    def describe(self) -> str:
        """Where the value lives, for people (never the value)."""
        return {
            "env": f"environment variable {self.name}",
            "file": f"local secret file {self.name}",
            "keyring": f"keyring entry {KEYRING_SERVICE}/{self.name}",
        }[self.scheme]


def is_reference(text: object) -> bool:
    return isinstance(text, str) and bool(_REF.match(text))


def describe_reference(text: str | None) -> str:
    """Where the secret behind a `#` value lives, for people: never the value."""
    if not text:
        return "none"
    return SecretRef.parse(text).describe() if is_reference(text) else "not a reference"


def secret(env_var: str) -> SecretRef:
    """A reference to a secret held in an environment variable: `kb.secret("PG_PASSWORD")`."""
    return SecretRef("env", env_var)


def secrets_dir() -> Path:
    return Path(os.environ.get("KEBOOLA_NB_SECRETS_DIR") or Path.home() / ".config" / "keboola_nb" / "secrets")


def store_secret(label: str, value: str, scheme: str = "file") -> SecretRef:
    """Keep `value` outside the project and return the reference to put in configurations."""
    if not value:
        raise KeboolaError(f"the secret for {label} is empty", fix="give a non-empty value")
    name = f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', label).strip('-') or 'secret'}-{_random.token_hex(3)}"
    ref = SecretRef(scheme, name)
    if scheme == "file":
        folder = secrets_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        write_text_atomic(folder / name, value, mode=0o600)
    elif scheme == "keyring":
        _keyring().set_password(KEYRING_SERVICE, name, value)
    else:
        raise KeboolaError(f"secrets cannot be stored in scheme {scheme!r}", fix="use 'file' or 'keyring'")
    remember(value)
    return ref


def resolve(ref: SecretRef | str, where: str = "") -> str:
    """The value behind a reference. The value is remembered for redaction."""
    if isinstance(ref, str):
        ref = SecretRef.parse(ref, where)
    value: str | None
    if ref.scheme == "env":
        value = os.environ.get(ref.name)
        fix = f"set it in the kernel's environment (os.environ[{ref.name!r}] = ...) or before starting Jupyter"
    elif ref.scheme == "file":
        path = secrets_dir() / ref.name
        value = path.read_text(encoding="utf-8") if path.exists() else None
        fix = "store the password again (for example %keboola connect ... --ask-password --replace)"
    else:
        value = _keyring().get_password(KEYRING_SERVICE, ref.name)
        fix = f"add it with: keyring set {KEYRING_SERVICE} {ref.name}"
    if not value:
        raise KeboolaError(f"the secret for {where or 'this connection'} ({ref.describe()}) is not set", fix=fix)
    remember(value)
    return value


def remember(value: str) -> None:
    if value and len(value) >= 4:  # masking 1-3 characters would garble ordinary text
        with _known_lock:
            _known_values.add(value)


def redact(text: str) -> str:
    """Replace every secret value this process has seen with ***."""
    with _known_lock:
        values = sorted(_known_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, _MASK)
    return text


def redact_all(value: Any) -> Any:
    """`value` (strings, lists, dicts) with every known secret masked in its strings."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_all(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_all(v) for k, v in value.items()}
    return value


def _keyring():  # type: ignore[no-untyped-def]
    try:
        import keyring
    except ImportError:
        raise KeboolaError(
            "the keyring package is not installed", fix="pip install keyring, or keep the secret in a file or variable"
        ) from None
    return keyring
