"""Label-free cross-language offsets for ``RankerConfig.language_calibration``.

Even after :class:`~matcher.centering.LanguageCentering`, the fused score favours
same-language candidates: BM25 can only earn its share within one script.
:func:`alignment_offset` derives, without labels, the ``{"cross": x}`` offset that
compensates it (0.196 for USE, 0.176 for e5 with the default weights).
:func:`calibration_offsets` is the weaker scalar alternative: per-language-pair
mean-centering of raw cosines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from .ranker import HybridRanker, RankerConfig
from .text import language_family
from .types import Item

__all__ = ["alignment_offset", "calibration_offsets"]


def _relation(lang_a: str, lang_b: str) -> str:
    # Order-insensitive, as ``matcher.ranker.language_offset`` looks pair keys up.
    return "|".join(sorted((lang_a, lang_b)))


def calibration_offsets(
    query_vectors: np.ndarray,
    query_languages: Sequence[str],
    candidate_vectors: np.ndarray,
    candidate_languages: Sequence[str],
    reference: str | None = None,
    exclude: Iterable[tuple[int, int]] = (),
) -> dict[str, float]:
    """Additive offsets for ``RankerConfig.language_calibration`` from corpus cosines.

    Computes the mean cosine of all (query, candidate) pairs per language relation
    (order-insensitive keys like ``"en|zh-Hant"``) and returns, for each relation, the
    offset that moves its mean onto the ``reference`` relation's mean.  No labels are
    needed: nearly all pairs are unrelated, so the means estimate the "unrelated"
    baseline of each relation.

    Args:
        query_vectors: ``(m, dim)`` query-role vectors.
        query_languages: Their languages (as stored on ``Item.language``).
        candidate_vectors: ``(n, dim)`` passage-role vectors.
        candidate_languages: Their languages.
        reference: Relation whose mean is the target; default the most frequent one.
        exclude: ``(query_index, candidate_index)`` pairs to leave out (e.g. known matches).

    Returns:
        ``{relation: offset}``; pass it as ``RankerConfig(language_calibration=...)``.

    Raises:
        ValueError: When vectors and languages differ in length, or ``reference`` is
            not among the relations found.
    """
    q = np.asarray(query_vectors, dtype=np.float32)
    c = np.asarray(candidate_vectors, dtype=np.float32)
    if q.shape[0] != len(query_languages) or c.shape[0] != len(candidate_languages):
        raise ValueError("vectors and languages differ in length")
    sims = q @ c.T
    mask = np.ones(sims.shape, dtype=bool)
    for i, j in exclude:
        mask[i, j] = False
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for i, ql in enumerate(query_languages):
        for lang in sorted(set(candidate_languages)):
            cols = np.array([j for j, cl in enumerate(candidate_languages) if cl == lang])
            keep = mask[i, cols]
            if not keep.any():
                continue
            key = _relation(ql, lang)
            sums[key] = sums.get(key, 0.0) + float(sims[i, cols][keep].sum())
            counts[key] = counts.get(key, 0) + int(keep.sum())
    if not counts:
        return {}
    means = {k: sums[k] / counts[k] for k in sums}
    if reference is None:
        reference = max(counts, key=lambda k: (counts[k], k))
    if reference not in means:
        raise ValueError(f"reference {reference!r} not among {sorted(means)}")
    return {k: round(means[reference] - m, 6) for k, m in sorted(means.items())}


def alignment_offset(
    config: RankerConfig,
    candidates: Sequence[Item],
    candidate_vectors: np.ndarray,
    queries: Sequence[Item],
    query_vectors: np.ndarray,
    m: int = 10,
) -> dict[str, float]:
    """Label-free ``"cross"`` offset that lines up the tops of the fused score lists.

    The multilingual encoders bring cross-language candidates into reach, but the fused
    score still favours same-language ones: BM25 scores 0 across languages, so they
    lose the whole lexical share of the score.  For each query this ranks all
    candidates without calibration and takes the mean fused score of the best ``m``
    same-language and the best ``m`` other-language candidates; the mean gap over the
    queries, divided by the semantic share of the weights, is the cosine offset that
    closes it.  It assumes both languages have comparably good candidates at the top;
    with a very unbalanced corpus (a handful of Chinese profiles) prefer a fixed,
    validated offset.

    Args:
        config: The ``RankerConfig`` to calibrate (weighted or min-max fusion).
        candidates: Candidate ``Item`` s.
        candidate_vectors: Their passage vectors (after any ``LanguageCentering``).
        queries: Query ``Item`` s (e.g. the stored challenges).
        query_vectors: Their query vectors (same transformation).
        m: How many top candidates per language are compared.

    Returns:
        ``{"cross": offset}`` for ``RankerConfig.language_calibration`` (empty if no
        query has candidates in both languages).

    Raises:
        ValueError: When the configuration gives the semantic component no weight.
    """
    cfg = dataclasses.replace(
        config, language_calibration=None, diversity=0.0, explain_sentences=False, min_score=0.0
    )
    weights = cfg.weight_vector()
    semantic_share = float(weights[0] / weights.sum())
    if semantic_share <= 0:
        raise ValueError("the configuration gives the semantic component no weight")
    ranker = HybridRanker(cfg, None).fit(candidates, candidate_vectors)
    family = {c.key: language_family(c.language) for c in candidates}
    gaps = []
    for query, vector in zip(queries, np.asarray(query_vectors), strict=True):
        lang = language_family(query.language)
        matches = ranker.rank(query, query_vector=vector, top_k=len(candidates))
        same = [x.score for x in matches if family[x.key] == lang][:m]
        other = [x.score for x in matches if family[x.key] != lang][:m]
        if same and other:
            gaps.append(float(np.mean(same)) - float(np.mean(other)))
    if not gaps:
        return {}
    return {"cross": round(float(np.mean(gaps)) / semantic_share, 4)}
