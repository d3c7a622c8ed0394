"""How configurations and versions are shown in a notebook."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..model.configuration import Configuration
    from ..store.configs import Version


def configs_frame(configs: "list[Configuration]") -> "pd.DataFrame":
    import pandas as pd

    rows = [
        {"name": c.name, "component": c.component_id, "id": c.id, "rows": len(c.rows), "version": c.version,
         "description": c.description}
        for c in configs
    ]
    return pd.DataFrame(rows, columns=["name", "component", "id", "rows", "version", "description"])


def config_summary(config: "Configuration") -> "pd.DataFrame":
    """One line per row: what it reads, where it lands, how it loads."""
    import pandas as pd

    records = []
    for row in config.rows:
        p = config.merged(row).get("parameters", {})
        table = p.get("table")
        records.append(
            {
                "row": row.name,
                "source": f"{table['schema']}.{table['tableName']}" if table else "query",
                "output_table": p.get("outputTable"),
                "primary_key": p.get("primaryKey", []),
                "incremental_fetching": p.get("incrementalFetchingColumn") or "",
                "load": "incremental" if p.get("incremental") else "full",
            }
        )
    return pd.DataFrame(records)


def config_json(config: "Configuration") -> Any:
    from IPython.display import Code

    return Code(json.dumps(config.to_json(), indent=2, ensure_ascii=False), language="json")


def versions_frame(versions: "list[Version]") -> "pd.DataFrame":
    import pandas as pd

    rows = [{"version": v.number, "at": v.at, "actor": v.actor, "change": v.change} for v in versions]
    return pd.DataFrame(rows, columns=["version", "at", "actor", "change"])
