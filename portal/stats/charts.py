"""Horizontal bar charts as geometry for server-rendered SVG (no script, no inline style).

The template ``stats/_macros.html`` draws a ``Chart`` with SVG elements whose position and
colour are attributes (x, y, width, height, fill), which the Content Security Policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 900
VALUE_GAP = 6
VALUE_WIDTH = 44
BAR_HEIGHT = 16
BAR_GAP = 2
ROW_GAP = 12
LEGEND_HEIGHT = 30
#: The label column is as wide as the longest label needs (at 13px), within these bounds; a
#: label longer than the widest column is shortened with "…" (the full one is its tooltip).
LABEL_WIDTH_MIN, LABEL_WIDTH_MAX = 160, 380
LABEL_PAD = 12
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


def _text_width(text: str) -> int:
    """Rough width of ``text`` at 13px: wide (CJK) characters count double."""
    return sum(14 if ord(ch) >= 0x2E80 else 8 for ch in text)


def _label_width(labels: Sequence[str]) -> int:
    """The label column's width: the longest label's, within the bounds."""
    widest = max((_text_width(label) for label in labels), default=0) + LABEL_PAD
    return max(LABEL_WIDTH_MIN, min(LABEL_WIDTH_MAX, widest))


def _short(label: str, width: int) -> str:
    """``label``, shortened with "…" if it does not fit ``width`` pixels."""
    room = width - LABEL_PAD
    if _text_width(label) <= room:
        return label
    while label and _text_width(label) + _text_width("…") > room:
        label = label[:-1]
    return label.rstrip() + "…"


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
    label_width = _label_width(labels)
    plot_width = WIDTH - label_width - VALUE_GAP - VALUE_WIDTH
    peak = max((v for values in series for v in values), default=0) or 1
    row_height = count * BAR_HEIGHT + (count - 1) * BAR_GAP + ROW_GAP
    rows = []
    for index, label in enumerate(labels):
        y0 = top + index * row_height
        row = ChartRow(label=label, short_label=_short(label, label_width), label_y=y0 + (row_height - ROW_GAP) / 2 + 5)
        for s, values in enumerate(series):
            value = float(values[index])
            width = round(plot_width * value / peak, 1)
            y = y0 + s * (BAR_HEIGHT + BAR_GAP)
            row.bars.append(Bar(
                x=label_width, y=y, width=width, height=BAR_HEIGHT, value=value, text=_text(value),
                text_x=label_width + width + VALUE_GAP, text_y=y + BAR_HEIGHT - 3,
                fill=PALETTE[s % len(PALETTE)], series=s,
            ))
        rows.append(row)
    legend = []
    if count > 1:
        x = label_width
        for s, name in enumerate(series_labels):
            legend.append(LegendItem(label=name, fill=PALETTE[s % len(PALETTE)], x=x, text_x=x + 18))
            x += 18 + _text_width(name) + 24
    height = top + max(1, len(labels)) * row_height
    return Chart(id=chart_id, title=title, description=description, width=WIDTH, height=int(height),
                 label_width=label_width, rows=rows, legend=legend, plot_top=top)
