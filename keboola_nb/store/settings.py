"""The project's own settings that are not Keboola configurations: today the SMTP server its flows' email
notifications go through. Kept in `.keboola-nb/settings.json` (local, never pushed: Keboola sends its own mail);
a password is a `{{ vault.NAME }}` reference, never a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import KeboolaError
from .audit import AuditLog
from .files import locked, read_json, write_json_atomic

SMTP_KEYS = ("host", "port", "sender", "user", "password", "tls")


class Settings:
    def __init__(self, path: Path, lock_path: Path, audit: AuditLog) -> None:
        self.path = path
        self.lock_path = lock_path
        self.audit = audit

    def smtp(self) -> dict[str, Any]:
        """The SMTP server set for the project ({} when none)."""
        return dict(read_json(self.path, default={}).get("smtp") or {})

    def set_smtp(self, host: str, port: int = 25, *, sender: str = "", user: str = "", password: str = "",
                 tls: bool = False, actor: str = "user") -> dict[str, Any]:
        """Set the SMTP server; `password` is the name of a vault variable (or its `{{ vault.NAME }}` reference)
        holding the user's password."""
        from .secrets import SecretRef

        if not host or any(c.isspace() for c in host):
            raise KeboolaError(f"{host!r} is not an SMTP host name", fix="e.g. smtp.example.com")
        if not 0 < int(port) < 65536:
            raise KeboolaError(f"SMTP port {port} is out of range", fix="usually 25, 465 or 587")
        if password and not user:
            raise KeboolaError("an SMTP password needs a user", fix="give the user too")
        reference = str(SecretRef.parse(password, "password") if "{{" in password else SecretRef(password)) \
            if password else ""
        smtp = {k: v for k, v in {"host": host, "port": int(port), "sender": sender, "user": user,
                                  "password": reference, "tls": tls}.items() if v not in ("", None)}
        with locked(self.lock_path, "the project's settings"):
            data = read_json(self.path, default={})
            data["smtp"] = smtp
            write_json_atomic(self.path, data)
        self.audit.record("update", "settings/smtp", actor=actor, host=host, port=int(port))
        return smtp
