"""Plain-text report of an :func:`~matcher.evaluation.run.evaluate` result."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .run import SLICES

__all__ = ["format_report"]


def _fmt(value: float, ci: Sequence[float] | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if ci is None or any(math.isnan(x) for x in ci):
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def format_report(result: Mapping[str, Any]) -> str:
    """Render an :func:`evaluate` result as a plain-text report with tables.

    Args:
        result: The dict returned by :func:`evaluate`.

    Returns:
        Multi-line text: overall metrics with confidence intervals per ranker, then
        nDCG@k / recall@k per language relation, then warnings.
    """
    k = result.get("k", 10)
    names = (f"ndcg@{k}", f"recall@{k}", "mrr")
    rankers = result.get("rankers", {})
    default = result.get("default")
    conf = round(100 * float(result.get("confidence", 0.95)))
    cal = result.get("calibration") or {}
    extras = []
    if cal.get("centering"):
        extras.append("language centering")
    if cal.get("language_calibration"):
        extras.append(
            "offsets "
            + ", ".join(f"{k_}={v:+.3f}" for k_, v in cal["language_calibration"].items())
        )
    lines = [
        (
            f"Matcher evaluation{' (' + str(result['split']) + ' split)' if result.get('split') else ''}: "
            f"{result.get('cases')} challenges scored, "
            f"{result.get('candidates', '?')} candidate startups, {result.get('labels', '?')} labels"
        ),
        f"encoder: {result.get('encoder', '?')}"
        + (f" ({'; '.join(extras)})" if extras else "")
        + f"; default ranker: {default}",
        "",
        f"Overall (mean over challenges, {conf}% bootstrap CI)",
    ]
    rows = []
    for name, block in rankers.items():
        label = name + (f" (= {default})" if name == "default" and default in rankers else "")
        rows.append([label, *(_fmt(block.get(m), block.get("ci", {}).get(m)) for m in names)])
    lines += _table(["ranker", f"nDCG@{k}", f"recall@{k}", "MRR"], rows)

    slices = [s for s in SLICES if any(s in b.get("by_language", {}) for b in rankers.values())]
    if slices:
        lines += ["", f"By language (nDCG@{k} / recall@{k}; labels of that relation, full ranking)"]
        header = ["ranker"]
        for s in slices:
            n = next(
                (
                    b["by_language"][s]["cases"]
                    for b in rankers.values()
                    if s in b.get("by_language", {})
                ),
                0,
            )
            header.append(f"{s} (n={n})")
        rows = []
        for name, block in rankers.items():
            row = [name]
            for s in slices:
                part = block.get("by_language", {}).get(s)
                row.append("-" if not part else f"{part[names[0]]:.3f} / {part[names[1]]:.3f}")
            rows.append(row)
        lines += _table(header, rows)

    deltas = [(n, b["delta_vs_default"]) for n, b in rankers.items() if "delta_vs_default" in b]
    if deltas and "default" in rankers:
        lines += ["", f"Difference from 'default' in nDCG@{k} (paired bootstrap {conf}% CI)"]
        rows = [
            [n, f"{d[names[0]][0]:+.3f} [{d[names[0]][1]:+.2f}, {d[names[0]][2]:+.2f}]"]
            for n, d in deltas
        ]
        lines += _table(["ranker", "delta"], rows)

    warnings = result.get("warnings") or []
    if warnings:
        lines += ["", f"Warnings ({len(warnings)}):", *(f"  - {w}" for w in warnings[:20])]
        if len(warnings) > 20:
            lines.append(f"  ... and {len(warnings) - 20} more")
    return "\n".join(lines)
