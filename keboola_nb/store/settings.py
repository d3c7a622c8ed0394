"""The project's own settings that are not Keboola configurations: today the SMTP server its flows' email
notifications go through. Kept in `.keboola-nb/settings.json` (local, never pushed: Keboola sends its own mail);
a password is a `{{ vault.NAME }}` reference, never a value.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import KeboolaError, KeboolaNotice
from .audit import AuditLog
from .files import locked, read_json, write_json_atomic


class Settings:
    def __init__(self, path: Path, lock_path: Path, audit: AuditLog) -> None:
        self.path = path
        self.lock_path = lock_path
        self.audit = audit

    def smtp(self) -> dict[str, Any]:
        """The SMTP server set for the project ({} when none)."""
        return dict(read_json(self.path, default={}).get("smtp") or {})

    def set_smtp(self, server: str, *, sender: str = "", user: str = "", password: str = "", tls: bool = False,
                 actor: str = "user") -> dict[str, Any]:
        """Set the SMTP server, `host[:port]` (port 25 by default; `[::1]:25` for an IPv6 address); `password` is
        the name of a vault variable (or its `{{ vault.NAME }}` reference) holding the user's password."""
        from .secrets import SecretRef

        host, port = _host_port(server)
        if password and not user:
            raise KeboolaError("an SMTP password needs a user", fix="give the user too")
        ref = (SecretRef.parse(password, "password") if "{{" in password else SecretRef(password)) if password else None
        if ref is not None and ref.where() is None:
            warnings.warn(f"{ref} is not set on this machine yet: set it before a flow sends mail (the password is "
                          "looked up then)", KeboolaNotice, stacklevel=2)
        if user and not tls:
            warnings.warn("without TLS (--tls) the SMTP password travels unencrypted", KeboolaNotice, stacklevel=2)
        smtp = {k: v for k, v in {"host": host, "port": port, "sender": sender, "user": user,
                                  "password": str(ref) if ref else "", "tls": tls}.items() if v not in ("", None)}
        with locked(self.lock_path, "the project's settings"):
            data = read_json(self.path, default={})
            data["smtp"] = smtp
            write_json_atomic(self.path, data)
        self.audit.record("update", "settings/smtp", actor=actor, host=host, port=port)
        return smtp


def _host_port(server: str) -> tuple[str, int]:
    """`host`, `host:port` or `[ipv6]:port` -> (host, port)."""
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "25"
    elif server.count(":") == 1:
        host, _, port = server.partition(":")
    else:
        host, port = server, "25"
    if not host or any(c.isspace() or c in "/@" for c in host):
        raise KeboolaError(f"{server!r} is not an SMTP server", fix="e.g. smtp.example.com or smtp.example.com:587")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise KeboolaError(f"{server!r}: the port must be a number from 1 to 65535",
                           fix="usually 587 (STARTTLS, with --tls) or 25")
    return host, int(port)
