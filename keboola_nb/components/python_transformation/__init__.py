"""The Python transformation (`keboola.python-transformation-v2`), run locally as Keboola runs it: every code of
every block joined into one script, run by Python in a data folder laid out as Keboola's `/data`.

The script reads its inputs from `in/tables/<name>.csv` (each with a `.manifest`) and writes each output to
`out/tables/<name>.csv` with a header row. Relative paths are the portable way: the working directory is the
data folder, here and in Keboola. Keboola's absolute `/data/...` cannot exist locally; `os.environ["KBC_DATADIR"]`
is the data folder in both places (with a trailing slash, as Keboola's `/data/`). The script may run for an hour,
or `KEBOOLA_NB_PYTHON_TIMEOUT` seconds when that environment variable is set (`%env KEBOOLA_NB_PYTHON_TIMEOUT=600`).
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import TYPE_CHECKING, Any

from ...errors import KeboolaError, KeboolaNotice
from ...storage.ids import TableId
from ..transformation import Checked, Transformation
from .process import DEFAULT_TIMEOUT_S, TIMEOUT_ENV
from .run import run_locally
from .script import Script

if TYPE_CHECKING:
    from ...engine.runner import Run
    from ...model.configuration import Configuration

_FILE_NAME = re.compile(r"[^/\\\x00]+\.csv")
_PACKAGE = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")


class PythonTransformation(Transformation):
    id = "keboola.python-transformation-v2"
    label = "Python transformation"
    language = "python"
    code_file = "code.py"
    per_statement = False
    help = {
        "rules": [
            "inputs are CSV files in in/tables/, named like the last part of their id plus .csv (orders.csv for "
            "in.c-shop.orders) unless named with AS (in.c-shop.orders AS o.csv); each has a .manifest beside it "
            "(id, columns, primary_key)",
            "the code writes every output to out/tables/ as CSV with a header row, named like the last part of "
            "the output's id plus .csv unless given as FILE.csv AS ID: df.to_csv('out/tables/clean.csv', "
            "index=False)",
            "use relative paths (in/tables/orders.csv): the script runs with the data folder as its working "
            "directory, here and in Keboola; os.environ['KBC_DATADIR'] is that folder in both (Keboola's /data/ "
            "does not exist locally)",
            "all codes of all blocks run as one script, in order, in a separate Python process (the kernel's "
            "interpreter); its output is in the job's log",
            "parameters.packages are pip-installed by Keboola before the script runs; here they must already be "
            "installed in the kernel's Python",
            f"a script may run {DEFAULT_TIMEOUT_S:g} s, or {TIMEOUT_ENV} seconds when that environment variable is "
            "set; nothing is loaded into storage unless the script succeeds and writes every output",
        ],
        "example": {"cell": "%%keboola python clean_orders --in in.c-shop.orders --out out.c-shop.orders_clean\n"
                            "import pandas as pd\n"
                            "orders = pd.read_csv('in/tables/orders.csv')\n"
                            "orders.dropna().to_csv('out/tables/orders_clean.csv', index=False)"},
    }

    def input_name(self, table_id: TableId) -> str:
        return f"{table_id.table}.csv"

    def output_source(self, table_id: TableId) -> str:
        return f"{table_id.table}.csv"

    def check(self, config: "Configuration") -> list[tuple[str, Any]]:
        """The base's checks, file names Keboola's data folder takes, the Python syntax and the packages."""
        checked = self.checked(config)
        where = f"transformation {config.name!r}"
        for table in checked.mapping.inputs:
            _file_name(table.destination, f"{where}: input {table.source} is mapped to", "its destination",
                       f"{table.source} AS {TableId.parse(table.source).table}.csv")
        for output in checked.mapping.outputs:
            _file_name(output.source, f"{where}: output {output.destination} is taken from", "its source",
                       f"{TableId.parse(output.destination).table}.csv AS {output.destination}")
        Script(checked.blocks).check_syntax(where)
        _check_packages(checked.parameters.get("packages"), where)
        return [(config.name, checked)]

    def run(self, run: "Run", rows: list[tuple[str, str, Any]]) -> None:
        (_, name, checked), = rows
        assert isinstance(checked, Checked)
        run_locally(run, name, checked)


def _file_name(name: str, where: str, what: str, example: str) -> None:
    """A file directly in in/tables or out/tables, as Keboola names them: NAME.csv, no folders."""
    if not _FILE_NAME.fullmatch(name or ""):
        raise KeboolaError(f"{where} {name!r}; {what} must be a file name ending in .csv, without folders",
                           fix=f"name it like {example}")


def _check_packages(packages: Any, where: str) -> None:
    """parameters.packages is a list of pip requirements; those not installed here are named in a notice."""
    if packages is None:
        return
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise KeboolaError(f"{where}: parameters.packages must be a list of pip package names",
                           fix='e.g. "packages": ["scikit-learn", "requests==2.32.3"]')
    missing = []
    for requirement in packages:
        if "://" in requirement:  # a URL (git+https://...): pip takes it, there is no name to look for here
            continue
        match = _PACKAGE.match(requirement)
        if not match or (match.group(3) and match.group(3)[0] not in "=<>!~;@("):
            raise KeboolaError(f"{where}: {requirement!r} in parameters.packages is not a pip package name",
                               fix='e.g. "scikit-learn" or "requests==2.32.3"')
        if not _installed(match.group(1)):
            missing.append(match.group(1))
    if missing:
        warnings.warn(f"{where}: Keboola pip-installs {', '.join(missing)} before the script runs, but "
                      f"{'it is' if len(missing) == 1 else 'they are'} not installed in this kernel's Python "
                      f"({sys.executable}); install {'it' if len(missing) == 1 else 'them'} here to run the script "
                      f"locally: %pip install {' '.join(missing)}", KeboolaNotice, stacklevel=3)


def _installed(name: str) -> bool:
    """Whether the distribution (or, failing that, a module of that name) is installed in this Python."""
    from importlib.metadata import PackageNotFoundError, distribution
    from importlib.util import find_spec

    try:
        distribution(name)
        return True
    except PackageNotFoundError:
        pass
    try:
        return find_spec(name.replace("-", "_")) is not None
    except (ImportError, ValueError):
        return False


PYTHON = PythonTransformation()
