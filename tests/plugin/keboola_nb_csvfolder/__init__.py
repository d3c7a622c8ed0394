"""keboola_nb_csvfolder: a folder of CSV files as a Keboola source, the example of a keboola_nb plug-in.

Its pyproject.toml registers the two instances below as entry points; keboola_nb finds them once the
package is installed, and loads this module only when a project uses one of them.
"""

from __future__ import annotations

from .connector import CsvFolderConnector, CsvFolderKind
from .extractor import CsvFolderExtractor

__all__ = ["EXTRACTOR", "KIND", "CsvFolderConnector", "CsvFolderExtractor", "CsvFolderKind"]

KIND = CsvFolderKind()  # entry point keboola_nb.connectors: csvfolder
EXTRACTOR = CsvFolderExtractor()  # entry point keboola_nb.components: example.ex-csv-folder
