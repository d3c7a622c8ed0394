"""Secrets by reference: a `#` key holds a Keboola vault placeholder, `{{ vault.NAME }}`, never a value.

`kbc push` passes a vault placeholder through as it is and Keboola fills it in from the project's vault when a
job runs, while any other `#` text would be encrypted and used as the secret itself. Here the same NAME is
looked up, in this order, in:
- the kernel's environment variable NAME,
- the 0600 file NAME outside the project (`~/.config/keboola_nb/secrets`, or `$KEBOOLA_NB_SECRETS_DIR`),
- the system keyring entry keboola_nb/NAME (when the `keyring` package is installed).

Every value that is resolved is remembered so `redact()` can scrub it from any message, log or error
before it is shown or stored.
"""

from __future__ import annotations

import os
import re
import secrets as _random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KeboolaError
from .files import write_text_atomic

KEYRING_SERVICE = "keboola_nb"
# Keboola's job runner fills `vault.` names of letters, digits, '_' and '-' (configuration-variables-resolver).
_PLACEHOLDER = re.compile(r"^\{\{\s*vault\.([A-Za-z0-9_\-]+)\s*\}\}$")
_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,200}$")
_ENCRYPTED = re.compile(r"^KBC::.+Secure.*::.+$|^KBC::(Encrypted|ComponentProjectEncrypted|ComponentEncrypted)==")
_MASK = "***"

_known_values: set[str] = set()
_known_lock = threading.Lock()


@dataclass(frozen=True)
class SecretRef:
    """A vault variable: its value lives outside the project, here and in Keboola's vault."""

    name: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise KeboolaError(
                f"secret name {self.name!r} has characters other than letters, digits, '_' and '-'",
                fix="name it like an environment variable, e.g. SHOP_PG_PASSWORD (it becomes a Keboola vault variable)",
            )

    def __str__(self) -> str:
        return f"{{{{ vault.{self.name} }}}}"

    @classmethod
    def parse(cls, text: str, where: str = "") -> "SecretRef":
        match = _PLACEHOLDER.match(text or "")
        if not match and is_encrypted(text):
            raise KeboolaError(
                f"{where or 'a # key'} holds a value Keboola encrypted, which only Keboola can decrypt",
                fix="put a vault reference there ({{ vault.NAME }}) and set NAME here (an environment variable or "
                    "%keboola connect ... --ask-password) and in the Keboola project's vault",
            )
        if not match:
            raise KeboolaError(
                f"{where or 'a # key'} holds something that is not a secret reference",
                fix="store secrets as vault references ({{ vault.NAME }}, e.g. from --password-env VAR); "
                    "never put values in configurations",
            )
        return cls(match.group(1))

    def where(self) -> str | None:
        """Where the value is kept here, for people (never the value); None: nowhere."""
        found = _lookup(self.name)
        return found[1] if found else None

    def describe(self) -> str:
        return f"vault {self.name}: {self.where() or 'not set here'}"


def is_reference(text: object) -> bool:
    return isinstance(text, str) and bool(_PLACEHOLDER.match(text))


def is_encrypted(text: object) -> bool:
    """A value Keboola encrypted (what `kbc pull` brings back for a secret pushed as text): kept, never read."""
    return isinstance(text, str) and bool(_ENCRYPTED.match(text))


def describe_reference(text: str | None) -> str:
    """Where the secret behind a `#` value lives, for people: never the value."""
    if not text:
        return "none"
    return SecretRef.parse(text).describe() if is_reference(text) else "not a reference"


def secret(env_var: str) -> SecretRef:
    """A reference to a secret held in an environment variable (and in Keboola's vault under the same name):
    `kb.secret("PG_PASSWORD")`."""
    return SecretRef(env_var)


def secrets_dir() -> Path:
    return Path(os.environ.get("KEBOOLA_NB_SECRETS_DIR") or Path.home() / ".config" / "keboola_nb" / "secrets")


def store_secret(label: str, value: str, where: str = "file") -> SecretRef:
    """Keep `value` outside the project (a 0600 file, or the keyring) and return the reference to put in
    configurations; its name, made from `label`, is the vault variable Keboola needs."""
    if not value:
        raise KeboolaError(f"the secret for {label} is empty", fix="give a non-empty value")
    ref = SecretRef(f"{vault_name(label)}_{_random.token_hex(3)}")
    if where == "file":
        write_secret_file(ref.name, value)
    elif where == "keyring":
        _keyring().set_password(KEYRING_SERVICE, ref.name, value)
    else:
        raise KeboolaError(f"secrets cannot be stored in {where!r}", fix="use 'file' or 'keyring'")
    remember(value)
    return ref


def vault_name(label: str) -> str:
    """A vault variable name made from any label: `shop-password` -> `shop_password`."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_")[:180] or "secret"


def write_secret_file(name: str, value: str) -> None:
    folder = secrets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    write_text_atomic(folder / name, value, mode=0o600)


def resolve(ref: SecretRef | str, where: str = "") -> str:
    """The value behind a reference. The value is remembered for redaction."""
    if isinstance(ref, str):
        ref = SecretRef.parse(ref, where)
    found = _lookup(ref.name)
    if not found:
        raise KeboolaError(
            f"the secret for {where or 'this connection'} (vault variable {ref.name}) is not set here",
            fix=f"set the environment variable {ref.name} in the kernel (os.environ[{ref.name!r}] = ...) or before "
                "starting Jupyter, or store it again (%keboola connect ... --ask-password --replace)",
        )
    remember(found[0])
    return found[0]


def _lookup(name: str) -> tuple[str, str] | None:
    """(value, where it is kept) of a vault variable here: the environment, then the file, then the keyring."""
    value = os.environ.get(name)
    if value:
        return value, f"environment variable {name}"
    path = secrets_dir() / name
    value = path.read_text(encoding="utf-8") if path.is_file() else None
    if value:
        return value, f"local secret file {name}"
    value = _keyring_value(name)
    if value:
        return value, f"keyring entry {KEYRING_SERVICE}/{name}"
    return None


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


def _keyring_value(name: str) -> str | None:
    """The keyring's entry, when a keyring is installed and usable."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # no keyring package, or no backend on this machine
        return None


def _keyring():  # type: ignore[no-untyped-def]
    try:
        import keyring
    except ImportError:
        raise KeboolaError(
            "the keyring package is not installed", fix="pip install keyring, or keep the secret in a file or variable"
        ) from None
    return keyring


def vault_references(data: Any) -> list[str]:
    """The vault variables `data` (a configuration or node) refers to, in order of appearance."""
    found: list[str] = []
    if isinstance(data, dict):
        for value in data.values():
            found += vault_references(value)
    elif isinstance(data, list):
        for value in data:
            found += vault_references(value)
    elif isinstance(data, str) and (match := _PLACEHOLDER.match(data)):
        found.append(match.group(1))
    return found
