"""A flow as a still picture (SVG): the same layout and colours as the live graph, for places a widget cannot go,
such as the assistant's proposal card. Phases are boxes left to right, tasks inside them coloured by kind,
transitions are arrows (dashed when a condition chooses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from .flow_layout import KIND_COLOURS, TASK_HEIGHT, TASK_WIDTH, flow_elements, phase_boxes

MARGIN, CHARS = 16, 24  # pixels around the picture; a longer label is cut


def flow_picture(flow: Mapping[str, Any], kinds: Mapping[Any, str] | None = None) -> str:
    """SVG markup of a keboola.flow JSON (`{"phases": [...], "tasks": [...]}`); `kinds` as for `graph_of`."""
    elements = flow_elements(flow, kinds)
    tasks = [e for e in elements if e["group"] == "nodes" and "parent" in e["data"]]
    boxes = phase_boxes((node["data"]["parent"], node["position"]) for node in tasks)
    if not boxes:
        return ""
    left = min(b[0] for b in boxes.values()) - MARGIN
    top = min(b[1] for b in boxes.values()) - MARGIN
    width = max(b[2] for b in boxes.values()) + MARGIN - left
    height = max(b[3] for b in boxes.values()) + MARGIN - top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="kbnb-flow-picture" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="{left:.0f} {top:.0f} {width:.0f} {height:.0f}" '
             f'font-family="sans-serif" font-size="11">',
             '<defs><marker id="kbnb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a1"/></marker></defs>']
    for node in elements:
        if node["group"] == "nodes" and node["classes"] == "phase":
            b = boxes[node["data"]["id"]]
            parts.append(f'<g class="kbnb-phase"><rect x="{b[0]:.0f}" y="{b[1]:.0f}" width="{b[2] - b[0]:.0f}" '
                         f'height="{b[3] - b[1]:.0f}" rx="8" fill="#f3f5f8" stroke="#c4cad3"/>'
                         f'<text x="{(b[0] + b[2]) / 2:.0f}" y="{b[1] + 15:.0f}" text-anchor="middle" '
                         f'font-weight="bold" fill="#2b333d">{_label(node["data"]["label"])}</text></g>')
    for edge in (e for e in elements if e["group"] == "edges"):
        parts.append(_arrow(boxes[edge["data"]["source"]], boxes[edge["data"]["target"]], edge["data"]))
    for node in tasks:
        if "task" not in node["classes"].split():
            continue  # an empty phase's placeholder
        data, x, y = node["data"], node["position"]["x"], node["position"]["y"]
        colour = KIND_COLOURS.get(data["kind"], KIND_COLOURS["other"])
        faded = ' opacity="0.45"' if "disabled" in node["classes"].split() else ""
        parts.append(f'<g class="kbnb-task" data-kind="{escape(data["kind"])}"{faded}>'
                     f'<title>{escape(data["label"])} ({escape(data["kind"])})</title>'
                     f'<rect x="{x - TASK_WIDTH / 2:.0f}" y="{y - TASK_HEIGHT / 2:.0f}" width="{TASK_WIDTH}" '
                     f'height="{TASK_HEIGHT}" rx="6" fill="{colour}"/>'
                     f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle" fill="#ffffff">'
                     f'{_label(data["label"])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _arrow(source: list[float], target: list[float], data: Mapping[str, Any]) -> str:
    """From the right side of one phase box to the left side of the next (or below it, in the same column)."""
    if target[0] >= source[2]:
        x1, y1 = source[2], (source[1] + source[3]) / 2
        x2, y2 = target[0], (target[1] + target[3]) / 2
        bend = (x2 - x1) / 2
        path = f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
    else:  # a phase in the same column or back to the left (a loop): around the right side
        x1, y1 = source[2], (source[1] + source[3]) / 2
        x2, y2 = target[2], (target[1] + target[3]) / 2
        path = f"M{x1:.0f},{y1:.0f} C{x1 + 40:.0f},{y1:.0f} {x2 + 40:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
    dashed = ' stroke-dasharray="6 4"' if data.get("conditional") else ""
    label = str(data.get("label") or "")
    text = (f'<text x="{(x1 + x2) / 2:.0f}" y="{(y1 + y2) / 2 - 6:.0f}" text-anchor="middle" fill="#5f6b76" '
            f'font-size="10">{_label(label)}</text>') if label else ""
    return (f'<g class="kbnb-transition"><path d="{path}" fill="none" stroke="#8a94a1" stroke-width="2"{dashed} '
            f'marker-end="url(#kbnb-arrow)"/>{text}</g>')


def _label(text: str) -> str:
    return escape(text if len(text) <= CHARS else text[:CHARS - 1] + "…")
