"""Offline evaluation of the matcher's ranker variants on a labelled cases file.

* :mod:`matcher.evaluation.cases` — load and validate a cases file (:func:`load_cases`).
* :mod:`matcher.evaluation.run` — rank every challenge with every ranker variant and
  score the rankings (:func:`evaluate`, :func:`score_rankings`).
* :mod:`matcher.evaluation.report` — the plain-text report (:func:`format_report`).

Typical use::

    result = evaluate("data/eval/dev_cases.json", get_encoder("hashing"))
    print(format_report(result))
"""

from .cases import SPLITS, Cases, CasesError, load_cases, merge_cases
from .report import format_report
from .run import (
    PLAIN_VARIANTS,
    SLICES,
    VARIANTS,
    evaluate,
    exposure_cost,
    resolve_encoder,
    score_rankings,
    scored_pairs,
    variant_configs,
    zscore_reference,
)

__all__ = [
    "PLAIN_VARIANTS",
    "SLICES",
    "SPLITS",
    "VARIANTS",
    "Cases",
    "CasesError",
    "evaluate",
    "exposure_cost",
    "format_report",
    "load_cases",
    "merge_cases",
    "resolve_encoder",
    "score_rankings",
    "scored_pairs",
    "variant_configs",
    "zscore_reference",
]
