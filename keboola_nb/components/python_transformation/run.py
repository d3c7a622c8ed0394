"""A Python transformation's run, as Keboola runs one: the inputs exported from storage into a data folder
(`in/tables/*.csv` and manifests), the codes joined into one script run by Python in that folder, and the CSV
files it wrote to `out/tables` loaded into storage together.

The script runs in its own process with the kernel's interpreter, so it sees the packages installed here.
Nothing reaches storage unless the script succeeded and wrote every output; the loads then commit together, so a
failure anywhere leaves storage as it was. A failed run keeps its data folder for the user to inspect.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...engine.mapping import ADAPTIVE, STATE_KEY, adaptive_state, load_output
from ...errors import KeboolaError
from .data_folder import DataFolder
from .process import Outcome, execute, timeout_seconds
from .script import Script

if TYPE_CHECKING:
    import duckdb

    from ...engine.runner import Run
    from ...model.transformation import TransformationInput, TransformationOutput
    from ..transformation import Checked

STEPS = 3  # exporting the inputs, running the script, loading the outputs
MESSAGE_CHARS = 300  # an exception's message is cut to this in the job's error (the log has it all)


def run_locally(run: "Run", name: str, checked: "Checked") -> None:
    """Export, run, load; on failure the data folder stays and the job says where it is."""
    script = Script(checked.blocks)
    inputs, outputs = checked.mapping.inputs, checked.mapping.outputs
    timeout = timeout_seconds()
    runs = run.storage.path.parent / "runs"
    folder = DataFolder.create(runs / str(run.job.id), run.config.configuration)
    script_file = runs / f"{run.job.id}-script.py"
    try:
        newest = _export(run, folder, inputs, f"transformation {name!r}")
        run.where = "running the script"
        run.progress.step(2, STEPS, "running the script")
        script_file.write_text(script.text, encoding="utf-8")
        env = {**_kept_environment(), "KBC_DATADIR": str(folder.root) + os.sep, "PYTHONUNBUFFERED": "1",
               "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg", "KBC_RUNID": str(run.job.id),
               "KBC_CONFIGID": run.config.id, "KBC_COMPONENTID": run.config.component_id}
        outcome = execute(run, script_file, folder.root, env, timeout)
        if outcome.returncode != 0:
            raise _failure(outcome, script)
        run.note(f"the script ran in {outcome.seconds:.2f} s; it wrote: {', '.join(folder.written()) or 'nothing'}")
        run.where = "checking the outputs"
        folder.missing(outputs)
        _load(run, folder, outputs, name)
    except BaseException:
        run.note(f"the data folder is kept for inspection: {folder.root} (the script: {script_file})")
        run.untouched = f"{run.untouched} The data folder is kept for inspection: {folder.root}"
        raise
    folder.remove()
    script_file.unlink(missing_ok=True)
    adaptive = [t.source for t in inputs if t.since == ADAPTIVE]
    if adaptive:
        run.save_state("", adaptive_state({source: newest[source] for source in adaptive}))


def _export(run: "Run", folder: DataFolder, inputs: list["TransformationInput"], where: str) -> dict[str, str | None]:
    """Every input into in/tables; the newest import time each one read."""
    last_read = run.row_state("").get(STATE_KEY) or {}
    newest: dict[str, str | None] = {}
    with run.storage.connect() as con:
        for table in inputs:
            shown = f"in/tables/{table.destination}"
            run.where = f"exporting {table.source} to {shown}"
            run.progress.step(1, STEPS, f"{table.source} -> {shown}")
            rows, newest[table.source] = folder.export(con, table, last_read.get(table.source), where)
            run.note(f"{table.source} -> {shown}: {rows:,} rows")
    return newest


def _load(run: "Run", folder: DataFolder, outputs: list["TransformationOutput"], name: str) -> None:
    """Every output file into its storage table, in one transaction: all of them or none."""
    import duckdb

    if not outputs:
        return
    with run.storage.transaction() as loader:
        for output in outputs:
            shown = f"out/tables/{output.source}"
            run.where = f"loading {shown} into {output.destination}"
            run.progress.step(3, STEPS, f"{shown} -> {output.destination}")
            try:
                scan, output = folder.output(output)
                load_output(run, loader, output, scan, name)
            except duckdb.Error as e:
                raise _load_error(e, shown) from None


def _load_error(error: "duckdb.Error", shown: str) -> KeboolaError:
    text = str(error).split("Possible fixes")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any("interrupted" in line.lower() for line in lines[:1]):
        return KeboolaError("the load was stopped by the user")
    return KeboolaError(f"DuckDB could not load it: {'; '.join(lines[:3]) or type(error).__name__}",
                        fix=f"write {shown} as a comma-separated CSV with a header row "
                            "(df.to_csv(path, index=False)) whose columns fit the table's types")


def _failure(outcome: Outcome, script: Script) -> KeboolaError:
    """The script's failure in one line: the exception and the user's line, or how the process ended."""
    report = outcome.report
    if report:
        message = str(report.get("message") or "").strip()
        first = message.splitlines()[0] if message else ""
        first = first if len(first) <= MESSAGE_CHARS else first[:MESSAGE_CHARS] + "..."
        line = report.get("line")
        at = f" at {script.where(line)}" if isinstance(line, int) else ""
        raised = f"{report.get('type')}: {first}" if first else str(report.get("type"))
        return KeboolaError(f"the script raised {raised}{at}",
                            fix="correct the code there; the traceback is in the job's log")
    if outcome.returncode < 0:
        return KeboolaError(f"the script was killed by signal {-outcome.returncode}",
                            fix="it may have run out of memory: read the inputs in chunks "
                                "(pd.read_csv(..., chunksize=100_000)) or only the columns it needs")
    said = [line for line in outcome.lines if line.startswith("script (stderr): ")]
    last = f": {said[-1].removeprefix('script (stderr): ')}" if said else ""
    return KeboolaError(f"the script exited with code {outcome.returncode}{last}",
                        fix="a script fails when it exits with a code other than 0 (sys.exit(1)); see the job's log")


# What the script keeps of the kernel's environment: what Python and its libraries need to start, no more. The
# kernel's environment holds secrets (passwords named by --password-env, API keys) that Keboola's container
# would not give the script either.
_KEPT = ("PATH", "HOME", "USER", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "VIRTUAL_ENV", "PYTHONPATH",
         "LD_LIBRARY_PATH", "SYSTEMROOT")


def _kept_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in _KEPT or k.startswith("LC_")}
