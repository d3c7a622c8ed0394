"""Column lineage as a picture: input columns on the left, output columns on the right, a line per derivation."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

_ROW, _TOP, _LEFT_X, _RIGHT_X, _CHAR = 22, 40, 12, 360, 7  # pixels; _CHAR is a rough width of one 12px letter


@dataclass
class LineagePicture:
    """What `lineage_picture` returns: shown as SVG in a notebook, as text elsewhere."""

    lineage: dict[str, list[str]]
    output: str

    def _sources(self) -> list[str]:
        return sorted({src for sources in self.lineage.values() for src in sources})

    def __repr__(self) -> str:
        lines = [f"{self.output}:"]
        for column, sources in self.lineage.items():
            lines.append(f"  {column} <- {', '.join(sources) if sources else '(no input column)'}")
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        sources, columns = self._sources(), list(self.lineage)
        left_w = max([len(s) for s in sources] + [len("inputs")]) * _CHAR + 2 * _LEFT_X
        right_x = max(_RIGHT_X, left_w + 120)
        right_w = max([len(c) for c in columns] + [len(self.output)]) * _CHAR + 2 * _LEFT_X
        height = _TOP + _ROW * max(len(sources), len(columns), 1) + 8
        width = right_x + right_w
        y_of = {s: _TOP + _ROW * i for i, s in enumerate(sources)}
        parts = [
            (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">'),
            f'<text x="{_LEFT_X}" y="16" font-weight="bold">inputs</text>',
            f'<text x="{right_x}" y="16" font-weight="bold">{escape(self.output)}</text>',
        ]
        for i, column in enumerate(columns):  # lines first, so the labels sit on top of them
            y = _TOP + _ROW * i
            for src in self.lineage[column]:
                parts.append(f'<path d="M{left_w - _LEFT_X + 4},{y_of[src] - 4} C{left_w + 50},{y_of[src] - 4} '
                             f'{right_x - 60},{y - 4} {right_x - 6},{y - 4}" fill="none" stroke="#7a9cc6"/>')
        for src, y in y_of.items():
            parts.append(f'<text x="{_LEFT_X}" y="{y}"><title>{escape(src)}</title>{escape(src)}</text>')
        for i, column in enumerate(columns):
            fill = "#333" if self.lineage[column] else "#999"  # grey: from literals only
            parts.append(f'<text x="{right_x}" y="{_TOP + _ROW * i}" fill="{fill}">{escape(column)}</text>')
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return f'<div class="keboola-lineage">{self._repr_svg_()}</div>'


def lineage_picture(lineage: dict[str, list[str]], output: str) -> LineagePicture:
    """A left-to-right picture of `column_lineage`'s result for the table `output`."""
    return LineagePicture(lineage, output)
