"""Horizontal bar charts as geometry for server-rendered SVG (no script, no inline style).

The template ``stats/_macros.html`` draws a ``Chart`` with SVG elements whose position and
colour are attributes (x, y, width, height, fill), which the Content Security Policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 900
LABEL_WIDTH = 260
VALUE_GAP = 6
VALUE_WIDTH = 44
BAR_HEIGHT = 16
BAR_GAP = 2
ROW_GAP = 12
LEGEND_HEIGHT = 30
LABEL_MAX = 32
PALETTE = ("#005a70", "#28a197", "#f47738", "#4c2c92")


@dataclass
class Bar:
    """One bar: its box, the value written after it, and the series it belongs to."""

    x: float
    y: float
    width: float
    height: float
    value: float
    text: str
    text_x: float
    text_y: float
    fill: str
    series: int


@dataclass
class ChartRow:
    """A row of bars under one label."""

    label: str
    short_label: str
    label_y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class LegendItem:
    label: str
    fill: str
    x: float
    text_x: float


@dataclass
class Chart:
    """Everything the template needs to draw the chart."""

    id: str
    title: str
    description: str
    width: int
    height: int
    label_width: int
    rows: list[ChartRow]
    legend: list[LegendItem]
    plot_top: int


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


def _text_width(text: str) -> int:
    """Rough width of ``text`` at 13px: wide (CJK) characters count double."""
    return sum(14 if ord(ch) >= 0x2E80 else 8 for ch in text)


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Sequence[float]],
    series_labels: Sequence[str],
) -> Chart:
    """Lay out a horizontal bar chart: one row per label, one bar per series in each row."""
    count = len(series)
    top = LEGEND_HEIGHT if count > 1 else 8
    plot_width = WIDTH - LABEL_WIDTH - VALUE_GAP - VALUE_WIDTH
    peak = max((v for values in series for v in values), default=0) or 1
    row_height = count * BAR_HEIGHT + (count - 1) * BAR_GAP + ROW_GAP
    rows = []
    for index, label in enumerate(labels):
        y0 = top + index * row_height
        row = ChartRow(label=label, short_label=_short(label), label_y=y0 + (row_height - ROW_GAP) / 2 + 5)
        for s, values in enumerate(series):
            value = float(values[index])
            width = round(plot_width * value / peak, 1)
            y = y0 + s * (BAR_HEIGHT + BAR_GAP)
            row.bars.append(Bar(
                x=LABEL_WIDTH, y=y, width=width, height=BAR_HEIGHT, value=value, text=_text(value),
                text_x=LABEL_WIDTH + width + VALUE_GAP, text_y=y + BAR_HEIGHT - 3,
                fill=PALETTE[s % len(PALETTE)], series=s,
            ))
        rows.append(row)
    legend = []
    if count > 1:
        x = LABEL_WIDTH
        for s, name in enumerate(series_labels):
            legend.append(LegendItem(label=name, fill=PALETTE[s % len(PALETTE)], x=x, text_x=x + 18))
            x += 18 + _text_width(name) + 24
    height = top + max(1, len(labels)) * row_height
    return Chart(id=chart_id, title=title, description=description, width=WIDTH, height=int(height),
                 label_width=LABEL_WIDTH, rows=rows, legend=legend, plot_top=top)
