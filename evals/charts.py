"""Geometry of the server-rendered SVG charts (score against size, grouped bars with whiskers).

Plain Python, no Django: the templates draw the shapes computed here, so the charts need no
JavaScript and no asset from a CDN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.formatting import parameters_display

PALETTE = ("#2f6fb3", "#d9822b", "#3a9a5b", "#b34a7a")


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class Dot:
    x: float
    y: float
    label: str
    frontier: bool
    href: str


@dataclass
class ScatterChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    dots: list[Dot] = field(default_factory=list)
    frontier_points: str = ""
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def scatter_chart(
    points: Sequence[tuple[str, int, float, bool]],
    *,
    percent: bool,
    x_label: str,
    y_label: str,
    width: int = 720,
    height: int = 340,
) -> ScatterChart | None:
    """Points (model id, parameters, score, on frontier) on a log10 x axis; None with fewer than 1 point.

    `percent`: scores are 0..1 and are labelled as percentages; else they are 0..100 already.
    """
    points = [p for p in points if p[1] and p[1] > 0]
    if not points:
        return None
    left, top, right_margin, bottom_margin = 56, 16, 16, 44
    chart = ScatterChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=width - left - right_margin,
        plot_height=height - top - bottom_margin,
        x_label=x_label,
        y_label=y_label,
    )
    scale = 100.0 if percent else 1.0
    logs = [math.log10(p[1]) for p in points]
    x_min, x_max = math.floor(min(logs)), math.ceil(max(logs))
    if x_max == x_min:
        x_max += 1
    y_max = _nice_max(max(p[2] * scale for p in points))

    def x_of(parameters: int) -> float:
        return left + (math.log10(parameters) - x_min) / (x_max - x_min) * chart.plot_width

    def y_of(score: float) -> float:
        return top + chart.plot_height - (score * scale) / y_max * chart.plot_height

    for exponent in range(x_min, x_max + 1):
        chart.x_ticks.append(Tick(round(x_of(10**exponent), 1), parameters_display(10**exponent)))
    for i in range(5):
        value = y_max * i / 4
        chart.y_ticks.append(Tick(round(top + chart.plot_height - i / 4 * chart.plot_height, 1), f"{value:g}"))
    frontier = []
    for repo_id, parameters, score, on_frontier in points:
        dot = Dot(
            round(x_of(parameters), 1),
            round(y_of(score), 1),
            f"{repo_id}: {score * scale:.1f} ({parameters_display(parameters)})",
            on_frontier,
            f"/models/{repo_id}/",
        )
        chart.dots.append(dot)
        if on_frontier:
            frontier.append((parameters, dot))
    frontier.sort(key=lambda item: item[0])
    chart.frontier_points = " ".join(f"{dot.x},{dot.y}" for _p, dot in frontier)
    chart.dots.sort(key=lambda d: d.frontier)  # frontier dots drawn last, on top
    return chart


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str
    whisker_top: float | None = None
    whisker_bottom: float | None = None

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[Bar] = field(default_factory=list)
    groups: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def bar_chart(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[tuple[float | None, tuple[float, float] | None]]]],
    *,
    percent: bool,
    width: int = 720,
    height: int = 340,
) -> BarChart | None:
    """Grouped bars: one group per benchmark, one bar per model (value, 95% interval) with a whisker.

    None when there is nothing to draw (no groups, no series, or not one value): an empty frame on a
    made-up axis said nothing true.
    """
    if not groups or not series or all(value is None for _name, values in series for value, _ci in values):
        return None
    left, top, right_margin, bottom_margin = 48, 12, 12, 96
    chart = BarChart(width, height, left, top, width - left - right_margin, height - top - bottom_margin)
    scale = 100.0 if percent else 1.0
    highest = 0.0
    for _name, values in series:
        for value, ci in values:
            if value is not None:
                highest = max(highest, value * scale, (ci[1] * scale) if ci else 0.0)
    # All scores 0 still draws a percent axis in percent (0-100), not 0-1.
    y_max = _nice_max(min(highest, 100.0) if percent else highest) if highest else (100.0 if percent else 1.0)
    if percent:
        y_max = min(y_max, 100.0)

    def y_of(value: float) -> float:
        clamped = max(0.0, min(value * scale, y_max))
        return top + chart.plot_height - clamped / y_max * chart.plot_height

    group_width = chart.plot_width / len(groups)
    bar_width = group_width * 0.8 / len(series)
    for g, name in enumerate(groups):
        chart.groups.append(Tick(round(left + group_width * (g + 0.5), 1), name))
        for s, (model_name, values) in enumerate(series):
            value, ci = values[g]
            if value is None:
                continue
            x = left + group_width * g + group_width * 0.1 + bar_width * s
            y = y_of(value)
            bar = Bar(
                round(x, 1),
                round(y, 1),
                round(bar_width * 0.9, 1),
                round(top + chart.plot_height - y, 1),
                PALETTE[s % len(PALETTE)],
                f"{model_name} · {name}: {value * scale:.1f}",
            )
            if ci is not None:
                bar.whisker_top = round(y_of(ci[1]), 1)
                bar.whisker_bottom = round(y_of(ci[0]), 1)
                lo, hi = ci[0] * scale, ci[1] * scale
                bar.label += f" [{lo:.1f}, {hi:.1f}]"
            chart.bars.append(bar)
    for i in range(5):
        chart.y_ticks.append(Tick(round(top + chart.plot_height - i / 4 * chart.plot_height, 1), f"{y_max * i / 4:g}"))
    chart.legend = [(name, PALETTE[s % len(PALETTE)]) for s, (name, _v) in enumerate(series)]
    return chart
