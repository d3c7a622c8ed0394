"""A flow run's progress in a notebook: the progress bar, and the flow's graph with each task recoloured as the
flow runner reports it (`task_status`), so one can see which tasks run, passed or failed while the flow runs.

    graph = flow_graph(project.flows, "daily")
    project.run("daily", progress=FlowProgress("run daily", graph))
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .progress import NotebookProgress

if TYPE_CHECKING:
    from .flow_graph import FlowGraph


class FlowProgress(NotebookProgress):
    def __init__(self, title: str, graph: "FlowGraph") -> None:
        super().__init__(title)
        self.graph = graph
        self._statuses = threading.Lock()  # a phase's job tasks end in parallel threads
        graph.statuses = {e["data"]["task_id"]: "waiting" for e in graph.elements if "task_id" in e.get("data", {})}
        if self._handle is not None:  # in a kernel: the graph under the bar
            from IPython.display import display

            display(graph)

    def task_status(self, task_id: str, status: str) -> None:
        """Called by the flow runner when a task starts ("running") and ends ("success", "failed", "skipped")."""
        with self._statuses:
            self.graph.set_status(task_id, status)
