"""Folder names as the Keboola CLI (`kbc`) makes them, so a later `kbc pull` keeps every folder where it is.

kbc fills the manifest's `naming` templates (`{component_type}/{component_id}/{config_name}`, ...) with ids as
they are and names normalised to kebab-case (`ShopOrders` -> `shop-orders`); a path another object already has
gets `-001`, `-002`, ... on its last part.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping

# What `kbc init` writes.
NAMING = {
    "branch": "{branch_name}",
    "config": "{component_type}/{component_id}/{config_name}",
    "configRow": "rows/{config_row_name}",
    "schedulerConfig": "schedules/{config_name}",
    "sharedCodeConfig": "_shared/{target_component_id}",
    "sharedCodeConfigRow": "codes/{config_row_name}",
    "variablesConfig": "variables",
    "variablesValuesRow": "values/{config_row_name}",
    "dataAppConfig": "app/{component_id}/{config_name}",
}

_UPPER_RUN = re.compile(r"([A-Z]+)")
# kbc keeps ASCII letters and digits and the Latin letters from á to ž (code points, as its regexp has them).
_SEPARATORS = re.compile(r"[^a-zA-Z0-9\u00e1-\u017e\u00c1-\u017d]+")
_NAME_LIMIT_BYTES = 251  # a file name's 255 bytes less room for the -NNN suffix


def normalize_name(name: str) -> str:
    """kbc's `strhelper.NormalizeName`: `CamelCase` -> `camel-case`, `a B cd-eF x_y` -> `a-b-cd-e-f-x-y`,
    accents dropped (`Příliš` -> `prilis`); runs of capitals stay one word (`HTTPServer` -> `httpserver`)."""
    text = _UPPER_RUN.sub(r"-\1", name)
    text = _SEPARATORS.sub("-", text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", text).strip("-").lower()


def fill(template: str, values: Mapping[str, str]) -> str:
    """A naming template with its `{placeholders}` replaced."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def unique(path: str, taken: Collection[str], kind: str = "config") -> str:
    """`path`, or with `-001`, `-002`, ... on its last part when another object has it (kbc's rule)."""
    parent, _, last = path.rpartition("/")
    last = _cut(last or normalize_name(kind))
    candidate, n = f"{parent}/{last}" if parent else last, 0
    while candidate in taken:
        n += 1
        suffixed = normalize_name(f"{last}-{n:03d}")
        candidate = f"{parent}/{suffixed}" if parent else suffixed
    return candidate


def _cut(name: str) -> str:
    raw = name.encode("utf-8")[:_NAME_LIMIT_BYTES]
    return raw.decode("utf-8", errors="ignore")
