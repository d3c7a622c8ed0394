"""Conversations with the assistant, kept in the project (`.keboola-nb/conversations.sqlite`).

Every message goes in exactly as sent to the model (secrets were already replaced by references),
with each model call's usage and cost, each tool call, and the drafts the assistant proposed.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError
from ..store.secrets import redact, redact_all
from ..store.sqlite import LocalDb
from .models import Usage

if TYPE_CHECKING:
    import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (conversation_id, seq));
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, at TEXT NOT NULL, model TEXT NOT NULL,
    input_tokens INTEGER, output_tokens INTEGER, cache_read INTEGER, cache_write INTEGER, cost_usd REAL,
    seconds REAL, stop_reason TEXT, prompt TEXT);
CREATE TABLE IF NOT EXISTS tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, at TEXT NOT NULL, tool_use_id TEXT,
    name TEXT NOT NULL, arguments TEXT NOT NULL, result TEXT NOT NULL, is_error INTEGER NOT NULL, seconds REAL);
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, at TEXT NOT NULL, name TEXT NOT NULL,
    component_id TEXT NOT NULL, json TEXT NOT NULL, state TEXT NOT NULL);
"""


def _scrubbed(value: Any) -> str:
    """JSON with secrets masked before encoding: escaping cannot hide a value, masking cannot break JSON."""
    return json.dumps(redact_all(value), ensure_ascii=False)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ConversationStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LocalDb(path, _SCHEMA)

    def create(self, title: str) -> str:
        conversation_id = uuid.uuid4().hex[:8]
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?,?,?,?)", (conversation_id, redact(title)[:80], _now(), _now()))
        return conversation_id

    def exists(self, conversation_id: str) -> bool:
        row = self._db().execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return row is not None

    def append(self, conversation_id: str, role: str, content: Any) -> None:
        with self._db() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                             (conversation_id,)).fetchone()[0]
            db.execute("INSERT INTO messages VALUES (?,?,?,?,?)",
                       (conversation_id, seq, role, _scrubbed(content), _now()))
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (_now(), conversation_id))

    def require(self, conversation_id: str) -> None:
        if not self.exists(conversation_id):
            raise KeboolaError(f"there is no conversation {conversation_id!r}", fix="list them with %keboola history")

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        self.require(conversation_id)
        rows = self._db().execute("SELECT role, content FROM messages WHERE conversation_id = ? ORDER BY seq",
                                  (conversation_id,)).fetchall()
        return [{"role": role, "content": json.loads(content)} for role, content in rows]

    def record_turn(self, conversation_id: str, model: str, usage: Usage, seconds: float,
                    stop_reason: str | None, prompt: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO turns (conversation_id, at, model, input_tokens, output_tokens, cache_read, cache_write,"
                " cost_usd, seconds, stop_reason, prompt) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (conversation_id, _now(), model, usage.input_tokens, usage.output_tokens, usage.cache_read,
                 usage.cache_write, usage.cost_usd, round(seconds, 3), stop_reason,
                 redact(prompt)[:80]),
            )

    def record_tool(self, conversation_id: str, tool_use_id: str, name: str, arguments: dict[str, Any],
                    result: str, is_error: bool, seconds: float) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO tool_calls (conversation_id, at, tool_use_id, name, arguments, result, is_error, seconds)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (conversation_id, _now(), tool_use_id, name, _scrubbed(arguments), result,
                 int(is_error), round(seconds, 3)),
            )

    def save_draft(self, conversation_id: str, name: str, component_id: str, config_json: str) -> int:
        with self._db() as db:
            cur = db.execute("INSERT INTO drafts (conversation_id, at, name, component_id, json, state)"
                             " VALUES (?,?,?,?,?,?)", (conversation_id, _now(), name, component_id,
                                                       redact(config_json), "proposed"))
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def set_draft_state(self, draft_id: int, state: str) -> None:
        with self._db() as db:
            db.execute("UPDATE drafts SET state = ? WHERE id = ?", (state, draft_id))

    # reading -----------------------------------------------------------------------------------
    def _frame(self, sql: str, params: tuple[Any, ...] = ()) -> "pd.DataFrame":
        import pandas as pd

        cur = self._db().execute(sql, params)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def list(self, limit: int = 20) -> "pd.DataFrame":
        """Past conversations, newest first, with their turns and cost."""
        return self._frame(
            """SELECT c.id, c.title, c.updated_at,
                      (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS model_calls,
                      (SELECT ROUND(COALESCE(SUM(cost_usd), 0), 4) FROM turns t WHERE t.conversation_id = c.id)
                          AS cost_usd
                 FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ?""", (limit,))

    def turns(self, conversation_id: str) -> "pd.DataFrame":
        return self._frame(
            """SELECT id AS turn, at, model, prompt, input_tokens, cache_read, cache_write, output_tokens,
                      ROUND(cost_usd, 5) AS cost_usd, seconds, stop_reason
                 FROM turns WHERE conversation_id = ? ORDER BY id""", (conversation_id,))

    def tool_calls(self, conversation_id: str) -> "pd.DataFrame":
        return self._frame("SELECT name, arguments, is_error, seconds, result FROM tool_calls"
                           " WHERE conversation_id = ? ORDER BY id", (conversation_id,))

    def drafts(self, conversation_id: str | None = None) -> "pd.DataFrame":
        where, params = ("WHERE conversation_id = ?", (conversation_id,)) if conversation_id else ("", ())
        return self._frame(f"SELECT id, conversation_id, at, name, component_id, state FROM drafts {where} ORDER BY id",
                           params)

    def draft_json(self, draft_id: int) -> str:
        row = self._db().execute("SELECT json FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        if row is None:
            raise KeboolaError(f"there is no draft {draft_id}")
        return row[0]

    def total(self, conversation_id: str) -> Usage:
        row = self._db().execute(
            "SELECT COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0), COALESCE(SUM(cache_read),0),"
            " COALESCE(SUM(cache_write),0), COALESCE(SUM(cost_usd),0) FROM turns WHERE conversation_id = ?",
            (conversation_id,)).fetchone()
        return Usage(*row)
