"""Charts as static SVG, written at build time: no browser, no script, no CDN.

A few dozen lines of SVG do what the pages need (a sparkline, a metric line, a layered DAG);
a charting library would add a dependency and start-up time for nothing more.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from modelgit.pages.text import escape, shown


def _scale(values: Sequence[float], low_px: float, high_px: float) -> list[float]:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return [high_px - (value - low) / span * (high_px - low_px) for value in values]


def sparkline(values: Sequence[float], label: str, width: int = 120, height: int = 24) -> str:
    """A small inline trend line of `values` (oldest first), described for screen readers."""
    if not values:
        return ""
    step = (width - 4) / max(len(values) - 1, 1)
    ys = _scale(values, 3, height - 3)
    points = " ".join(f"{2 + i * step:.1f},{y:.1f}" for i, y in enumerate(ys))
    last_x, last_y = 2 + (len(values) - 1) * step, ys[-1]
    description = f"{label}: {len(values)} versions, from {shown(values[0])} to {shown(values[-1])}"
    return (
        f'<svg class="spark" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(description)}</title>"
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="currentColor"/></svg>'
    )


def line_chart(
    points: Sequence[tuple[str, float]], title: str, width: int = 420, height: int = 170
) -> str:
    """A labelled line chart of (version, value) pairs, oldest first, with its values as text."""
    if not points:
        return ""
    left, right, top, bottom = 56, 30, 28, 36
    labels = [label for label, _ in points]
    values = [value for _, value in points]
    step = (width - left - right) / max(len(points) - 1, 1)
    ys = _scale(values, top, height - bottom)
    xs = [left + i * step for i in range(len(points))]
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    low, high = min(values), max(values)
    description = ", ".join(f"{label} {shown(v)}" for label, v in points[-12:])
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
        f'y2="{height - bottom}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{shown(high)}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">{shown(low)}</text>',
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{coords}"/>',
    ]
    every = max(1, len(points) // 8)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f6feb"/>')
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{escape(labels[i])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


_BOX_W, _BOX_H = 170, 30


@functools.lru_cache(maxsize=4096)
def _dag_line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1 + _BOX_W:.0f}" y1="{y1 + _BOX_H / 2:.0f}" x2="{x2:.0f}" '
        f'y2="{y2 + _BOX_H / 2:.0f}" stroke="#666" marker-end="url(#arrow)"/>'
    )


@functools.lru_cache(maxsize=4096)
def _dag_box(x: float, y: float, node: str) -> str:
    text = node if len(node) <= 24 else "…" + node[-23:]
    return (
        f'<g><rect x="{x:.0f}" y="{y:.0f}" width="{_BOX_W}" height="{_BOX_H}" rx="4" '
        f'fill="#f6f8fa" stroke="#888"/><text x="{x + _BOX_W / 2:.0f}" y="{y + 19:.0f}" '
        f'text-anchor="middle"><title>{escape(node)}</title>{escape(text)}</text></g>'
    )


def dag_svg(layers: Sequence[Sequence[str]], edges: Sequence[tuple[str, str]], title: str) -> str:
    """A layered graph: `layers` left to right (sources first), boxes joined by `edges`."""
    box_w, box_h, gap_x, gap_y, margin = _BOX_W, _BOX_H, 50, 14, 10
    where: dict[str, tuple[float, float]] = {}
    for column, layer in enumerate(layers):
        for row, node in enumerate(layer):
            where[node] = (margin + column * (box_w + gap_x), margin + row * (box_h + gap_y))
    width = margin * 2 + max(len(layers), 1) * (box_w + gap_x) - gap_x
    height = margin * 2 + max((len(layer) for layer in layers), default=1) * (box_h + gap_y)
    parts = [
        f'<svg class="dag" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#666"/></marker></defs>',
    ]
    # A registry's versions draw the same boxes and lines again and again: each is made once.
    parts += [
        _dag_line(*where[source], *where[target])
        for source, target in edges
        if source in where and target in where
    ]
    parts += [_dag_box(x, y, node) for node, (x, y) in where.items()]
    parts.append("</svg>")
    return "".join(parts)
