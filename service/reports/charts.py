"""Inline SVG dot-and-whisker charts, generic over `Metric.variant` (rows) and `Metric.model` (series).

No scripts, no external assets: the report must render offline and behind a firewall.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from schemas.scorecard import Metric

SERIES_COLOURS = {
    "target": "#1f6feb",
    "baseline": "#8250df",
    "reference": "#1a7f37",
    "difference": "#bf3989",
}
_FALLBACK_COLOURS = ("#9a6700", "#57606a", "#cf222e")
_LABEL_W, _PLOT_W, _PAD, _ROW_GAP, _DOT_GAP = 170, 430, 16, 10, 14


@dataclass(frozen=True)
class ChartSpec:
    """One chart: figures of one metric name; optional reference lines (chance, threshold)."""

    title: str
    metrics: Sequence[Metric]
    chance: float | None = None
    threshold: float | None = None


def _colour(model: str, models: list[str]) -> str:
    if model in SERIES_COLOURS:
        return SERIES_COLOURS[model]
    return _FALLBACK_COLOURS[models.index(model) % len(_FALLBACK_COLOURS)]


def _domain(spec: ChartSpec) -> tuple[float, float]:
    points = [x for m in spec.metrics for x in (m.value, m.ci_low, m.ci_high) if x is not None and math.isfinite(x)]
    points += [x for x in (spec.chance, spec.threshold) if x is not None]
    lo, hi = (min(points), max(points)) if points else (0.0, 1.0)
    if lo >= 0.0 and hi <= 1.0:
        # Proportions: always the whole unit range (or the signed range when differences are shown).
        return 0.0, 1.0
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = (hi - lo) or 1.0
    return lo - 0.05 * span, hi + 0.05 * span


def _ticks(lo: float, hi: float) -> list[float]:
    step = 10 ** math.floor(math.log10((hi - lo) / 4 or 1.0))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= 6:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def render_chart(spec: ChartSpec) -> str:
    """An `<svg>` element: one row per variant, one dot per model with its interval as a whisker."""
    rows: dict[str, list[Metric]] = defaultdict(list)
    for m in spec.metrics:
        rows[m.variant or m.name].append(m)
    models = list(dict.fromkeys(m.model for m in spec.metrics))
    lo, hi = _domain(spec)
    row_h = _DOT_GAP * max(1, len(models)) + _ROW_GAP
    top = _PAD + 18
    height = top + row_h * len(rows) + 34 + 18

    def x(v: float) -> float:
        return _LABEL_W + (v - lo) / (hi - lo) * _PLOT_W

    width = _LABEL_W + _PLOT_W + _PAD * 2
    out = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(spec.title)}">',
        f"<title>{escape(spec.title)}</title>",
        f'<text x="{_PAD}" y="{_PAD}" class="chart-title">{escape(spec.title)}</text>',
    ]
    axis_y = top + row_h * len(rows)
    for t in _ticks(lo, hi):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{axis_y}" class="grid"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" class="tick">{t:g}</text>')
    for value, cls, label in ((spec.chance, "chance", "chance"), (spec.threshold, "threshold", "threshold")):
        if value is not None and lo <= value <= hi:
            out.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top - 4}" y2="{axis_y}" class="{cls}"/>')
            out.append(f'<text x="{x(value) + 3:.1f}" y="{top - 6}" class="{cls}-label">{label} {value:g}</text>')
    for i, (variant, metrics) in enumerate(rows.items()):
        y0 = top + i * row_h + _ROW_GAP / 2
        out.append(
            f'<text x="{_LABEL_W - 8}" y="{y0 + row_h / 2:.1f}" text-anchor="end" class="row-label">'
            f"{escape(variant)}</text>"
        )
        for m in metrics:
            y = y0 + _DOT_GAP * models.index(m.model) + _DOT_GAP / 2
            colour = _colour(m.model, models)
            tip = escape(f"{m.model} {variant}: {m.value} [{m.ci_low}, {m.ci_high}] n={m.n}")
            out.append(f'<g class="series-{escape(m.model)}"><title>{tip}</title>')
            if m.ci_low is not None and m.ci_high is not None:
                a, b = x(max(lo, m.ci_low)), x(min(hi, m.ci_high))
                out.append(
                    f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" class="whisker"/>'
                )
                for end in (a, b):
                    out.append(
                        f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{y - 4:.1f}" y2="{y + 4:.1f}" '
                        f'stroke="{colour}" class="whisker"/>'
                    )
            if m.value is not None and math.isfinite(m.value):
                out.append(f'<circle cx="{x(m.value):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
            else:
                out.append(f'<text x="{_LABEL_W + 4}" y="{y + 4:.1f}" class="tick">not estimable</text>')
            out.append("</g>")
    legend_y = axis_y + 32
    lx = float(_LABEL_W)
    for model in models:
        out.append(f'<circle cx="{lx:.1f}" cy="{legend_y - 4}" r="4.5" fill="{_colour(model, models)}"/>')
        out.append(f'<text x="{lx + 8:.1f}" y="{legend_y}" class="legend">{escape(model)}</text>')
        lx += 24 + 7.5 * len(model)
    out.append("</svg>")
    return "".join(out)
