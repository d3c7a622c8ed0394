"""The script's own Python process: started with the kernel's interpreter in the data folder, watched for its time
limit and the user's stop, its output kept (the last lines) for the job's log, and killed with everything it
started when it has to end early: a run never leaves a process behind."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ...errors import KeboolaError
from .script import BOOTSTRAP

if TYPE_CHECKING:
    from ...engine.runner import Run

TIMEOUT_ENV = "KEBOOLA_NB_PYTHON_TIMEOUT"  # seconds a script may run; Keboola's own limit is the job's
DEFAULT_TIMEOUT_S = 3600.0
KEPT_LINES = 200  # the last lines of the script's output kept in the job's log
LINE_CHARS = 1000  # a longer line is cut in the log
POLL_S = 0.1
PROGRESS_EVERY_S = 0.5
DRAIN_S = 2.0  # how long pipes a finished script's own children still hold are waited for


@dataclass
class Outcome:
    """How the script ended: its exit code, its report when it raised, and the last lines it printed."""

    returncode: int
    report: dict[str, object] | None
    pid: int
    seconds: float
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    dropped: int = 0


def timeout_seconds() -> float:
    """The time limit: KEBOOLA_NB_PYTHON_TIMEOUT seconds when set, else an hour."""
    from ...model.validation import env_seconds

    return env_seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, "an hour")


def execute(run: "Run", script: Path, data_dir: Path, env: dict[str, str], timeout: float) -> Outcome:
    """Run `script` in `data_dir` to its end, the time limit or the user's stop; its output goes to the job's
    log (the last KEPT_LINES lines) whatever happens."""
    report = script.with_suffix(".error.json")
    report.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP, str(script), str(report)], cwd=data_dir, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="replace", bufsize=1, start_new_session=os.name == "posix")  # its own group: killed as a whole
    outcome = Outcome(-1, None, proc.pid, 0.0)
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    pumps = [threading.Thread(target=_pump, args=(stream, name, lines), daemon=True, name=f"keboola_nb-{name}")
             for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))]
    for pump in pumps:
        pump.start()
    try:
        _watch(run, proc, lines, outcome, started + timeout, timeout)
    except KeyboardInterrupt:  # the kernel was interrupted: as DuckDB's components, the run ends as stopped
        _kill(proc)
        raise KeboolaError("the script was stopped by the user") from None
    except BaseException:
        _kill(proc)
        raise
    finally:
        outcome.seconds = time.monotonic() - started
        _to_log(run, outcome)
    outcome.returncode = proc.returncode
    if report.exists():
        import json

        try:
            outcome.report = json.loads(report.read_text(encoding="utf-8"))
        except ValueError:
            outcome.report = None
    return outcome


def _watch(run: "Run", proc: subprocess.Popen[str], lines: "queue.Queue[tuple[str, str | None]]",
           outcome: Outcome, deadline: float, timeout: float) -> None:
    """Collect the output until both pipes close; stop the script at the deadline or when the user cancels."""
    open_pipes, shown, ended = 2, 0.0, None
    while open_pipes:
        try:
            name, line = lines.get(timeout=POLL_S)
        except queue.Empty:
            pass
        else:
            if line is None:
                open_pipes -= 1
                continue
            _keep(outcome, name, line)
            if time.monotonic() - shown >= PROGRESS_EVERY_S:
                shown = time.monotonic()
                run.progress.step(2, 3, f"running the script: {line[:80]}")
        now = time.monotonic()
        if now > deadline:
            _kill(proc)
            raise KeboolaError(f"the script ran longer than {timeout:g} s and was stopped",
                               fix=f"make it faster, or allow it more time with the environment variable {TIMEOUT_ENV} "
                                   f"(seconds), e.g. %env {TIMEOUT_ENV}=7200 in the notebook")
        if run.progress.cancelled():
            _kill(proc)
            raise KeboolaError("the script was stopped by the user")
        if proc.poll() is not None:
            ended = ended or now
            if now - ended > DRAIN_S:  # the script has ended; something it started still holds its output
                _kill(proc)
                break
    proc.wait()


def _pump(stream: IO[str] | None, name: str, lines: "queue.Queue[tuple[str, str | None]]") -> None:
    if stream is not None:
        with stream:
            for line in stream:
                lines.put((name, line.rstrip("\r\n")))
    lines.put((name, None))


def _keep(outcome: Outcome, name: str, line: str) -> None:
    if len(outcome.lines) == KEPT_LINES:
        outcome.dropped += 1
    text = line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " [cut]"
    outcome.lines.append(f"script: {text}" if name == "stdout" else f"script (stderr): {text}")


def _to_log(run: "Run", outcome: Outcome) -> None:
    if outcome.dropped:
        run.note(f"script: {outcome.dropped:,} earlier line(s) of output left out; the last {KEPT_LINES} follow")
    for line in outcome.lines:
        run.note(line)


def _kill(proc: subprocess.Popen[str]) -> None:
    """End the script and every process it started (its process group), and reap it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone
    proc.wait()
