"""Evaluating ranker variants over loaded cases: rankings, metrics, bootstrap intervals.

Each challenge is a query whose candidates are **all** startups.  Every ranker variant
is evaluated with the same cached vectors (each text is encoded once per run):

================= ==========================================================
``bm25-plain``    the standard lexical baseline: BM25 over the texts as written
                  (no translation, no query expansion)
``dense-plain``   the standard dense baseline: the model's cosine on the texts as
                  written (no translation, no centering), as
                  ``sentence_transformers.util.semantic_search`` ranks
``lexical``       BM25 only, with the base configuration's translation / expansion
``dense``         embeddings only (cosine), with translation and centering as given
``weighted``      base weights, weighted-mean fusion
``rrf``           base weights, reciprocal rank fusion
``default``       the configuration the application uses (``default_config``,
                  else the variant named by ``default``)
================= ==========================================================

``lexical`` and ``dense`` are the hybrid's own single signals; the two ``-plain``
variants are what the signals give without the matcher's cross-language work.

Metrics (see :mod:`matcher.metrics`): nDCG@k with exponential gain ``2**grade - 1``,
recall@k and MRR (first relevant within the ranked depth), each averaged over the
challenges that have at least one label, with percentile bootstrap confidence intervals
over challenges.  ``by_language`` splits the labels by language relation — ``en-en``,
``zh-zh`` and ``cross-lingual`` (an English challenge's Chinese-only startups and the
reverse; also reported as ``en-zh`` and ``zh-en``) — while keeping the full ranking over
all startups, so a cross-lingual score says how well startups written in the other
language surface in the list an officer actually sees.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..calibration import calibration_offsets
from ..centering import LanguageCentering
from ..encoders import Encoder, get_encoder
from ..metrics import bootstrap_ci, ndcg_at_k, paired_bootstrap_ci, recall_at_k, reciprocal_rank
from ..ranker import HybridRanker, RankerConfig
from ..text import dense_text, language_family
from ..translate import TranslatingEncoder
from ..types import COMPONENTS, Item
from .cases import Cases, load_cases

__all__ = [
    "PLAIN_VARIANTS",
    "SLICES",
    "VARIANTS",
    "evaluate",
    "resolve_encoder",
    "score_rankings",
    "variant_configs",
]

#: Ranker variants evaluated by default, in report order.
VARIANTS: tuple[str, ...] = ("lexical", "dense", "weighted", "rrf")
#: The standard baselines, also evaluated (see the module docstring).
PLAIN_VARIANTS: tuple[str, ...] = ("bm25-plain", "dense-plain")
#: Language relations reported under ``by_language``, in report order.
SLICES: tuple[str, ...] = ("en-en", "zh-zh", "cross-lingual", "en-zh", "zh-en")


def variant_configs(base: RankerConfig | None = None) -> dict[str, RankerConfig]:
    """The ranker variants, derived from ``base`` (default ``RankerConfig()``).

    ``lexical`` and ``dense`` switch diversity re-ranking off, so they measure the
    single signal; the fused variants keep the base's weights and diversity.
    Sentence-pair explanations are off everywhere (they do not change the ranking).

    Args:
        base: Configuration to derive from.

    Returns:
        ``{name: config}`` for :data:`VARIANTS`.
    """
    base = dataclasses.replace(base or RankerConfig(), explain_sentences=False)
    return {
        "lexical": dataclasses.replace(base, weights={"lexical": 1.0}, diversity=0.0),
        "dense": dataclasses.replace(base, weights={"semantic": 1.0}, diversity=0.0),
        "weighted": dataclasses.replace(base, fusion="weighted"),
        "rrf": dataclasses.replace(base, fusion="rrf"),
    }


def resolve_encoder(encoder: Encoder | str | None) -> Encoder:
    """Accept an encoder, a registry name or model path, or None (bundled default).

    Args:
        encoder: An encoder (returned as is), a name for ``get_encoder`` — the
            multilingual ``"multilingual-e5-small"`` and ``"use-multilingual"`` too — or
            None.

    Returns:
        The encoder.
    """
    if encoder is None or isinstance(encoder, str):
        return get_encoder(encoder)
    return encoder


def _slice_of(query_lang: str, cand_lang: str) -> str:
    q, c = language_family(query_lang), language_family(cand_lang)
    return f"{q}-{c}"


def _summary(
    values: Sequence[float], rng_seed: int, confidence: float, n_resamples: int
) -> tuple[float, list[float]]:
    if not values:
        return float("nan"), [float("nan"), float("nan")]
    low, high = bootstrap_ci(values, confidence, n_resamples, rng_seed)
    return float(np.mean(values)), [low, high]


def _metric_block(
    per_case: Mapping[str, Sequence[float]], k: int, seed: int, confidence: float, n_resamples: int
) -> dict[str, Any]:
    block: dict[str, Any] = {}
    ci: dict[str, list[float]] = {}
    for name in (f"ndcg@{k}", f"recall@{k}", "mrr"):
        block[name], ci[name] = _summary(per_case[name], seed, confidence, n_resamples)
    block["ci"] = ci
    return block


def _rank_all(
    config: RankerConfig,
    encoder: Encoder,
    cases: Cases,
    scored: list[Item],
    qvecs: np.ndarray,
    pvecs: np.ndarray,
    depth: int,
) -> list[list[str]]:
    ranker = HybridRanker(config, encoder).fit(cases.startups, pvecs)
    index = {c.key: i for i, c in enumerate(cases.challenges)}
    return [
        [m.key for m in ranker.rank(c, query_vector=qvecs[index[c.key]], top_k=depth)]
        for c in scored
    ]



class _Vectors(NamedTuple):
    """Every text of the cases encoded once, for the hybrid variants and the dense baseline."""

    query: np.ndarray
    passage: np.ndarray
    plain_encoder: Encoder
    plain_query: np.ndarray
    plain_passage: np.ndarray
    seconds: float


class _Run(NamedTuple):
    """One ranker variant to evaluate: its configuration, encoder and vectors."""

    name: str
    config: RankerConfig
    encoder: Encoder
    query_vectors: np.ndarray
    passage_vectors: np.ndarray


@dataclass(frozen=True)
class _Bootstrap:
    """How per-challenge metrics are summarised."""

    k: int
    confidence: float
    n_resamples: int
    seed: int

    @property
    def metric_names(self) -> tuple[str, str, str]:
        return (f"ndcg@{self.k}", f"recall@{self.k}", "mrr")


def _as_config(config: RankerConfig | Mapping[str, Any] | None) -> RankerConfig | None:
    return RankerConfig.from_mapping(config) if isinstance(config, Mapping) else config


def _configs(
    base_config: RankerConfig | None, default_config: RankerConfig | None, default: str
) -> dict[str, RankerConfig]:
    """The variants of :func:`variant_configs` plus ``"default"``."""
    configs = variant_configs(base_config)
    if default not in configs and default_config is None:
        raise ValueError(
            f"default must be one of {list(configs)} (or pass default_config), got {default!r}"
        )
    if default_config is not None:
        configs["default"] = dataclasses.replace(default_config, explain_sentences=False)
    else:
        configs["default"] = configs[default]
    return configs


def _encode(cases: Cases, encoder: Encoder, plain_encoder: Encoder | None) -> _Vectors:
    started = time.perf_counter()
    qtexts = [dense_text(c.title, c.text) for c in cases.challenges]
    ptexts = [dense_text(s.title, s.text) for s in cases.startups]
    qvecs = np.asarray(encoder.encode(qtexts, role="query"), dtype=np.float32)
    pvecs = np.asarray(encoder.encode(ptexts, role="passage"), dtype=np.float32)
    if plain_encoder is None:
        plain_encoder = encoder.encoder if isinstance(encoder, TranslatingEncoder) else encoder
    if plain_encoder is encoder:
        plain_q, plain_p = qvecs, pvecs
    else:
        plain_q = np.asarray(plain_encoder.encode(qtexts, role="query"), dtype=np.float32)
        plain_p = np.asarray(plain_encoder.encode(ptexts, role="passage"), dtype=np.float32)
    return _Vectors(qvecs, pvecs, plain_encoder, plain_q, plain_p, time.perf_counter() - started)


def _centred(
    vectors: _Vectors, qlangs: list[str], plangs: list[str], centering: bool | str
) -> tuple[np.ndarray, np.ndarray]:
    """The hybrid variants' query and passage vectors, centred per language if asked."""
    qvecs, pvecs = vectors.query, vectors.passage
    if not centering:
        return qvecs, pvecs
    if centering == "corpus":
        # As the web layer does: means of the candidate corpus only; queries are
        # centred with their language's corpus mean.
        centre = LanguageCentering.fit({"passage": (pvecs, plangs)})
    elif centering is True:
        centre = LanguageCentering.fit({"query": (qvecs, qlangs), "passage": (pvecs, plangs)})
    else:
        raise ValueError("centering must be False, True or 'corpus'")
    return centre.transform(qvecs, qlangs, "query"), centre.transform(pvecs, plangs, "passage")


def _offsets(
    language_calibration: Mapping[str, float] | str | None,
    qvecs: np.ndarray,
    qlangs: list[str],
    pvecs: np.ndarray,
    plangs: list[str],
) -> dict[str, float] | None:
    """The cross-language offsets every variant gets, or None."""
    if isinstance(language_calibration, str):
        if language_calibration != "auto":
            raise ValueError("language_calibration must be a mapping, 'auto' or None")
        language_calibration = calibration_offsets(qvecs, qlangs, pvecs, plangs)
    if not language_calibration:
        return None
    return {str(key): float(v) for key, v in language_calibration.items()}


def _runs(
    configs: Mapping[str, RankerConfig],
    encoder: Encoder,
    vectors: _Vectors,
    qvecs: np.ndarray,
    pvecs: np.ndarray,
) -> list[_Run]:
    """The two plain baselines, then every variant in ``configs``."""
    # The baselines take the lexical scorer from the variants but nothing else: no
    # translation, expansion, calibration or diversity.
    plain = dataclasses.replace(
        RankerConfig(), explain_sentences=False, diversity=0.0, lexical=configs["lexical"].lexical,
        lexical_params=configs["lexical"].lexical_params,
    )
    return [
        _Run("bm25-plain", dataclasses.replace(plain, weights={"lexical": 1.0}), encoder,
             qvecs, pvecs),
        _Run("dense-plain", dataclasses.replace(plain, weights={"semantic": 1.0}),
             vectors.plain_encoder, vectors.plain_query, vectors.plain_passage),
    ] + [_Run(name, cfg, encoder, qvecs, pvecs) for name, cfg in configs.items()]


def _config_summary(cfg: RankerConfig) -> dict[str, Any]:
    return {
        "lexical": cfg.lexical,
        "fusion": cfg.fusion,
        "weights": dict(cfg.weights),
        "diversity": cfg.diversity,
        "language_calibration": cfg.language_calibration,
        "query_expansion": cfg.query_expansion,
        "translation": cfg.translation,
    }


def _ranker_block(
    cases: Cases,
    scored: list[Item],
    rankings: Sequence[Sequence[str]],
    cfg: RankerConfig,
    stats: _Bootstrap,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """A variant's metrics (overall and by language) and its per-challenge values."""
    k, first = stats.k, stats.metric_names[0]
    overall, slices = score_rankings(cases, scored, rankings, k)
    block = _metric_block(overall, k, stats.seed, stats.confidence, stats.n_resamples)
    block["cases"] = len(scored)
    block["by_language"] = {
        rel: {"cases": len(vals[first])}
        | _metric_block(vals, k, stats.seed, stats.confidence, stats.n_resamples)
        for rel, vals in slices.items()
        if vals[first]
    }
    block["config"] = _config_summary(cfg)
    return block, overall


def _add_deltas(
    rankers: Mapping[str, dict[str, Any]],
    per_case: Mapping[str, Mapping[str, list[float]]],
    stats: _Bootstrap,
) -> None:
    """Add each variant's paired-bootstrap difference from ``"default"`` to its block."""
    for name, block in rankers.items():
        if name == "default":
            continue
        block["delta_vs_default"] = {
            m: list(
                paired_bootstrap_ci(
                    per_case[name][m],
                    per_case["default"][m],
                    stats.confidence,
                    stats.n_resamples,
                    stats.seed,
                )
            )
            for m in stats.metric_names
        }


def evaluate(
    cases: Mapping[str, Any] | str | os.PathLike[str] | Cases,
    encoder: Encoder | str | None = None,
    default: str = "weighted",
    *,
    default_config: RankerConfig | Mapping[str, Any] | None = None,
    base_config: RankerConfig | Mapping[str, Any] | None = None,
    k: int = 10,
    depth: int = 100,
    centering: bool | str = False,
    language_calibration: Mapping[str, float] | str | None = None,
    plain_encoder: Encoder | None = None,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    random_state: int = 0,
    split: str | None = None,
) -> dict[str, Any]:
    """Evaluate every ranker variant on a cases file.

    Args:
        cases: Path, parsed mapping, or :class:`~matcher.evaluation.cases.Cases`.
        encoder: Encoder, registry name / model path, or None for the bundled model.
        default: Name of the variant the application uses by default (reported as
            ``result["default"]``); ``rankers["default"]`` repeats its figures unless
            ``default_config`` is given.
        default_config: The application's actual ``RankerConfig`` (or a mapping for
            ``RankerConfig.from_mapping``), evaluated as ``rankers["default"]``.
        base_config: Configuration the variants are derived from (weights, BM25
            parameters, diversity...); default ``RankerConfig()``.
        k: Cut-off for nDCG and recall (keys ``"ndcg@{k}"`` and ``"recall@{k}"``).
        depth: How many results are ranked per challenge (MRR looks this deep).
        centering: Apply :class:`~matcher.centering.LanguageCentering` fitted on
            the cases' own vectors: True = challenges as queries and startups as
            passages; ``"corpus"`` = the startups only, as the web layer does.
        language_calibration: Offsets for ``RankerConfig.language_calibration`` of
            every variant, or ``"auto"`` to derive them with
            :func:`~matcher.calibration.calibration_offsets` from the cases' vectors.
        plain_encoder: The encoder of the ``dense-plain`` baseline; default the inner
            encoder of a :class:`~matcher.translate.TranslatingEncoder`, else
            ``encoder`` itself (its vectors are then reused, uncentred).
        confidence: Confidence level of the bootstrap intervals.
        n_resamples: Bootstrap resamples.
        random_state: Seed of the bootstrap.
        split: ``"test"`` or ``"tune"`` to score only the challenges of that split
            (every startup stays a candidate); None = the whole file.

    Returns:
        ``{"cases": N, "default": NAME, "rankers": {NAME: {"ndcg@10", "recall@10",
        "mrr", "ci", "by_language", "delta_vs_default", "config"}}, ...}`` plus
        ``"k"``, ``"candidates"``, ``"encoder"``, ``"calibration"``, ``"timing"``
        and ``"warnings"``.

    Raises:
        ValueError: On an unknown ``default``, ``centering`` or ``language_calibration``
            value, or an invalid configuration.
        CasesError: On a malformed cases file.
    """
    started = time.perf_counter()
    loaded = cases if isinstance(cases, Cases) else load_cases(cases)
    if split is not None:
        loaded = loaded.only(split)
    enc = resolve_encoder(encoder)
    configs = _configs(_as_config(base_config), _as_config(default_config), default)
    vectors = _encode(loaded, enc, plain_encoder)
    qlangs = [c.language for c in loaded.challenges]
    plangs = [s.language for s in loaded.startups]
    qvecs, pvecs = _centred(vectors, qlangs, plangs, centering)
    offsets = _offsets(language_calibration, qvecs, qlangs, pvecs, plangs)
    if offsets:
        configs = {
            name: dataclasses.replace(cfg, language_calibration=offsets)
            for name, cfg in configs.items()
        }

    scored = [c for c in loaded.challenges if c.key in loaded.qrels]
    depth = max(k, min(depth, len(loaded.startups)))
    stats = _Bootstrap(k, confidence, n_resamples, random_state)
    rankers: dict[str, dict[str, Any]] = {}
    per_case: dict[str, dict[str, list[float]]] = {}
    timing: dict[str, float] = {"encode_seconds": round(vectors.seconds, 3)}
    for run in _runs(configs, enc, vectors, qvecs, pvecs):
        t0 = time.perf_counter()
        rankings = _rank_all(
            run.config, run.encoder, loaded, scored, run.query_vectors, run.passage_vectors, depth
        )
        timing[f"{run.name}_seconds"] = round(time.perf_counter() - t0, 3)
        rankers[run.name], per_case[run.name] = _ranker_block(
            loaded, scored, rankings, run.config, stats
        )
    _add_deltas(rankers, per_case, stats)

    return {
        "cases": len(scored),
        "default": default,
        "rankers": rankers,
        "k": k,
        "candidates": len(loaded.startups),
        "challenges": len(loaded.challenges),
        "labels": sum(len(v) for v in loaded.qrels.values()),
        "encoder": getattr(enc, "model_id", type(enc).__name__),
        "calibration": {"centering": centering or False, "language_calibration": offsets},
        "confidence": confidence,
        "languages": {
            "challenges": _count(language_family(x) for x in qlangs),
            "startups": _count(language_family(x) for x in plangs),
        },
        "timing": timing | {"total_seconds": round(time.perf_counter() - started, 3)},
        "warnings": list(loaded.warnings),
        "split": split,
    }


def score_rankings(
    cases: Cases, queries: Sequence[Item], rankings: Sequence[Sequence[str]], k: int = 10
) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    """Per-challenge metrics of given rankings, overall and by language relation.

    Args:
        cases: The cases the rankings were made from (labels and startup languages).
        queries: The challenges ranked, each with at least one label in ``cases.qrels``.
        rankings: For each query, startup ids best first.
        k: Cut-off for nDCG and recall.

    Returns:
        ``(overall, slices)``: ``overall`` maps ``"ndcg@k"``, ``"recall@k"`` and
        ``"mrr"`` to one value per query; ``slices`` maps each name in :data:`SLICES`
        to the same, over the queries that have labels of that relation (the ranking
        stays the full list; only the labels are split).
    """
    metric_names = (f"ndcg@{k}", f"recall@{k}", "mrr")
    plang_of = {s.key: s.language for s in cases.startups}
    overall: dict[str, list[float]] = {m: [] for m in metric_names}
    slices: dict[str, dict[str, list[float]]] = {s: {m: [] for m in metric_names} for s in SLICES}
    for challenge, ranked in zip(queries, rankings, strict=True):
        qrels = cases.qrels[challenge.key]
        for m, v in zip(metric_names, _scores(ranked, qrels, k), strict=True):
            overall[m].append(v)
        by_rel: dict[str, dict[str, int]] = {}
        for sid, grade in qrels.items():
            by_rel.setdefault(_slice_of(challenge.language, plang_of[sid]), {})[sid] = grade
        cross = {
            sid: g
            for rel, part in by_rel.items()
            if rel.split("-")[0] != rel.split("-")[1]
            for sid, g in part.items()
        }
        if cross:
            by_rel["cross-lingual"] = cross
        for rel, part in by_rel.items():
            if rel in slices:
                for m, v in zip(metric_names, _scores(ranked, part, k), strict=True):
                    slices[rel][m].append(v)
    return overall, slices


def _scores(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> tuple[float, float, float]:
    return (
        ndcg_at_k(ranked, qrels, k),
        recall_at_k(ranked, qrels, k),
        reciprocal_rank(ranked, qrels),
    )


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))



def scored_pairs(
    cases: Cases,
    encoder: Encoder,
    config: RankerConfig,
    *,
    centering: bool | str = False,
) -> list[tuple[str, str, float, int, float, float]]:
    """Every (challenge, startup) pair of the cases with the ranker's score: what score
    bands are calibrated on (:func:`matcher.bands.calibrate`).

    Only challenges with a label are used; every startup is scored against each (no
    grouping, diversity or minimum score).

    Args:
        cases: Loaded cases (e.g. ``load_cases(path).only("tune")``).
        encoder: The encoder (already wrapped for translation when the app does).
        config: The ranker configuration the app uses.
        centering: As in :func:`evaluate`.

    Returns:
        ``(challenge id, startup id, fused score, grade (0 = unlabelled), raw bm25,
        semantic component)``.
    """
    vectors = _encode(cases, encoder, encoder)
    qlangs = [c.language for c in cases.challenges]
    plangs = [s.language for s in cases.startups]
    qvecs, pvecs = _centred(vectors, qlangs, plangs, centering)
    cfg = dataclasses.replace(
        config, explain_sentences=False, diversity=0.0, min_score=0.0, max_key_terms=0
    )
    ranker = HybridRanker(cfg, encoder).fit(cases.startups, pvecs)
    out = []
    for i, challenge in enumerate(cases.challenges):
        labels = cases.qrels.get(challenge.key)
        if not labels:
            continue
        for m in ranker.rank(challenge, query_vector=qvecs[i], top_k=len(cases.startups)):
            out.append((
                challenge.key, m.key, float(m.score), int(labels.get(m.key, 0)),
                float(m.explanation.raw.get("bm25", 0.0)), float(m.components.get("semantic", 0.0)),
            ))
    return out


def zscore_reference(
    cases: Cases,
    encoder: Encoder,
    config: RankerConfig,
    *,
    centering: bool | str = False,
) -> dict[str, Any]:
    """The column statistics a small corpus is topped up with under z-score fusion
    (``RankerConfig.zscore_reference``): every challenge of the cases scores every startup,
    and each column's mean and standard deviation over the startups are averaged over the
    challenges (the spread as the root of the mean variance). No label is read.

    Args:
        cases: Loaded cases (e.g. ``load_cases(path).only("tune")``).
        encoder: The encoder (already wrapped for translation when the app does).
        config: The app's ranker configuration.
        centering: As in :func:`evaluate`.

    Returns:
        ``{"pool": number of startups, "semantic": [mean, sd], "lexical": [mean, sd]}``
        (a column constant over the startups, as structured metadata the cases do not
        carry, is left out).
    """
    vectors = _encode(cases, encoder, encoder)
    qvecs, pvecs = _centred(
        vectors, [c.language for c in cases.challenges], [s.language for s in cases.startups], centering
    )
    cfg = dataclasses.replace(
        config, explain_sentences=False, diversity=0.0, min_score=0.0, max_key_terms=0,
        zscore_reference=None, pool_size=max(config.pool_size, len(cases.startups)),
    )
    ranker = HybridRanker(cfg, encoder).fit(cases.startups, pvecs)
    means, variances = [], []
    for i, challenge in enumerate(cases.challenges):
        comps = ranker.score(challenge, query_vector=qvecs[i]).components
        means.append(comps.mean(axis=0))
        variances.append(comps.var(axis=0))
    mean, sd = np.mean(means, axis=0), np.sqrt(np.mean(variances, axis=0))
    out: dict[str, Any] = {"pool": len(cases.startups)}
    for col, name in enumerate(COMPONENTS):
        if sd[col] > 1e-9:
            out[name] = [round(float(mean[col]), 4), round(float(sd[col]), 4)]
    return out


def exposure_cost(
    cases: Cases,
    encoder: Encoder,
    config: RankerConfig,
    caps: Sequence[float],
    *,
    centering: bool | str = False,
    k: int = 10,
) -> list[dict[str, Any]]:
    """What an exposure cap (:func:`matcher.exposure.cap_exposure`) costs in nDCG@k.

    Every challenge of the cases ranks every startup; the lists are capped together, and
    nDCG@k is averaged over the labelled challenges.

    Args:
        cases: Loaded cases.
        encoder: The encoder (wrapped for translation when the app does).
        config: The app's ranker configuration.
        caps: Caps to try (shares in (0, 1]).
        centering: As in :func:`evaluate`.
        k: Places per list.

    Returns:
        One row per setting, the uncapped first: ``{"cap", "ndcg", "delta", "gini",
        "max_share", "moved"}`` (``moved``: top-k places that changed hands).
    """
    from ..exposure import cap_exposure, exposure_report

    pairs = scored_pairs(cases, encoder, config, centering=centering)
    order = [c.key for c in cases.challenges if cases.qrels.get(c.key)]
    lists: dict[str, list[tuple[str, float]]] = {key: [] for key in order}
    for cid, sid, score, _grade, _bm25, _semantic in pairs:
        lists[cid].append((sid, score))
    rankings = [[sid for sid, _s in sorted(lists[c], key=lambda p: -p[1])] for c in order]
    scores = [dict(lists[c]) for c in order]
    startups = [s.key for s in cases.startups]

    def row(cap: float | None) -> dict[str, Any]:
        capped = cap_exposure(rankings, cap, k, scores)
        ndcg = float(np.mean([ndcg_at_k(r, cases.qrels[c], k) for r, c in zip(capped, order, strict=True)]))
        rep = exposure_report(capped, startups, k)
        moved = sum(len(set(a[:k]) - set(b[:k])) for a, b in zip(rankings, capped, strict=True))
        return {"cap": cap, "ndcg": round(ndcg, 4), "gini": rep.gini,
                "max_share": round(rep.most[0][1], 4) if rep.most else 0.0, "moved": moved}

    out = [row(None)] + [row(float(c)) for c in caps]
    for r in out:
        r["delta"] = round(r["ndcg"] - out[0]["ndcg"], 4)
    return out
