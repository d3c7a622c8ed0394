"""The audit trail: one JSON line per change, who made it (user or assistant) and what it was."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .secrets import redact

ACTORS = ("user", "assistant")


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, action: str, target: str, actor: str = "user", **detail: Any) -> None:
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "actor": actor if actor in ACTORS else "user",
            "action": action,
            "target": target,
            **detail,
        }
        line = redact(json.dumps(entry, ensure_ascii=False, default=str)) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write() of a short line in append mode lands whole, even with two kernels appending.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        chosen = lines[-limit:] if limit else lines
        return [json.loads(line) for line in chosen if line.strip()]
