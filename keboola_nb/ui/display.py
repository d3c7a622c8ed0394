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


def config_json(config: "Configuration") -> Any:
    from IPython.display import Code

    return Code(json.dumps(config.to_json(), indent=2, ensure_ascii=False), language="json")


def versions_frame(versions: "list[Version]") -> "pd.DataFrame":
    import pandas as pd

    rows = [{"version": v.number, "at": v.at, "actor": v.actor, "change": v.change} for v in versions]
    return pd.DataFrame(rows, columns=["version", "at", "actor", "change"])
