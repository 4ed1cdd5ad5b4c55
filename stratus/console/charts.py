"""Line charts as data for an inline SVG drawn by the template (no script, no CDN).

:func:`line_chart` scales a series of points into a fixed view box; the
template ``cluster/_chart.html`` draws the polyline, one circle per point
(so tests and people can see the samples), the axes and their labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .clustermetrics import Point

WIDTH, HEIGHT = 600, 160
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 10, 22
SPAN = 3600.0  # the chart always shows the last hour


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    points: list[tuple[float, float]]  # x, y in the view box
    top: float  # the value at the top of the y axis
    last: float | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT
    top_y: int = TOP

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


def nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (a readable axis)."""
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.001
    while step * 10 < value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def line_chart(title: str, unit: str, series: list[Point], now: float | None = None) -> Chart:
    now = time.time() if now is None else now
    top = nice_top(max((p.value for p in series), default=0.0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    pts = []
    for p in series:
        age = now - p.at
        if age > SPAN:
            continue
        x = LEFT + plot_w * (1 - max(0.0, age) / SPAN)
        y = TOP + plot_h * (1 - min(p.value, top) / top)
        pts.append((x, y))
    return Chart(title, unit, pts, top, series[-1].value if series else None)
