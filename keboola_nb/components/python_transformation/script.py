"""A Python transformation's code as Keboola runs it: every code of every block joined into one script (in order,
separated by blank lines), and where each line of that script came from, so an error names the user's own line."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import KeboolaError

if TYPE_CHECKING:
    from ...model.transformation import Block

SEPARATOR = "\n\n"  # Keboola joins the codes with a blank line between them


@dataclass(frozen=True)
class Part:
    """One code of the script: its block, its name, its text and the line of the script it starts on."""

    block: str
    code: str
    text: str
    first_line: int

    def at(self, line: int) -> str:
        """A line of this code, told as the user sees it."""
        return f"block {self.block!r}, code {self.code!r}, line {line}"


class Script:
    """Every code of the transformation joined as Keboola joins them, and the map back to each code's lines."""

    def __init__(self, blocks: list["Block"]) -> None:
        self.parts: list[Part] = []
        line = 1
        for block in blocks:
            for code in block.codes:
                text = SEPARATOR.join(code.script)  # a code's scripts are joined as its codes are
                self.parts.append(Part(block.name, code.name, text, line))
                line += text.count("\n") + SEPARATOR.count("\n")
        self.text = SEPARATOR.join(p.text for p in self.parts) + "\n"

    def where(self, line: int) -> str:
        """A line of the joined script as block, code and line within that code."""
        part = next((p for p in reversed(self.parts) if p.first_line <= line), self.parts[0])
        return part.at(line - part.first_line + 1)

    def check_syntax(self, where: str) -> None:
        """Compile each code on its own so a syntax error names the code and its line before anything runs."""
        for part in self.parts:
            try:
                with warnings.catch_warnings():  # e.g. invalid escape sequences: Python runs them all the same
                    warnings.simplefilter("ignore", SyntaxWarning)
                    compile(part.text, f"<{part.block}/{part.code}>", "exec", dont_inherit=True)
            except SyntaxError as e:
                shown = f": {e.text.strip()}" if e.text and e.text.strip() else ""
                raise KeboolaError(f"{where}: Python syntax error at {part.at(e.lineno or 1)}: {e.msg}{shown}",
                                   fix="correct the code at that line; it is checked before anything runs") from None
            except ValueError as e:  # e.g. a NUL byte in the source
                raise KeboolaError(f"{where}: {part.at(1)} cannot be compiled: {e}",
                                   fix="remove the characters Python does not accept in source code") from None


# Runs in the child process: the user's script as __main__ (as `python script.py` would), and on an exception a
# small JSON report (type, message, the script's innermost line) for the parent, plus the traceback from the
# script's first frame on, so the log shows the user's code and not this wrapper.
BOOTSTRAP = """\
import json, os, runpy, sys, traceback
script, report = sys.argv[1], sys.argv[2]
sys.argv = [script]
sys.path[0] = os.path.dirname(script)
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit:
    raise
except BaseException as error:
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == script]
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"type": name, "message": str(error), "line": lines[-1] if lines else None}, out)
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(kind, error, tb or error.__traceback__)
    sys.exit(1)
"""
