"""Offline evaluation of the matcher's ranker variants on a labelled cases file.

Cases file (JSON)::

    {"challenges": [{"id", "title", "description", "domains": [...], "language"}],
     "startups":   [{"id", "name", "summary", "capabilities", "language"}],
     "qrels":      [{"challenge", "startup", "grade": 1 | 2}]}

Only ids are required, plus some text for each item and at least one label.  Every
other field may be missing; ``capabilities`` may be a string, a list of strings or a
list of ``{"name", "description"}`` objects; a missing ``language`` is detected from the
text.  Malformed files raise :class:`CasesError` naming the offending entry.

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
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import calibration_offsets
from .centering import LanguageCentering
from .encoders import Encoder, get_encoder
from .metrics import bootstrap_ci, ndcg_at_k, paired_bootstrap_ci, recall_at_k, reciprocal_rank
from .ranker import HybridRanker, RankerConfig
from .text import dense_text, detect_language, language_family
from .translate import TranslatingEncoder
from .types import AREAS, DOMAINS, Item

__all__ = [
    "PLAIN_VARIANTS",
    "VARIANTS",
    "Cases",
    "CasesError",
    "evaluate",
    "format_report",
    "load_cases",
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

_LANGUAGE_ALIASES = {"en": "en", "zh": "zh-Hant"}


class CasesError(ValueError):
    """A cases file is malformed; the message names the entry and the problem."""


@dataclass
class Cases:
    """A loaded cases file.

    Attributes:
        challenges: Query items (``key`` = challenge id as a string).
        startups: Candidate items (``key`` = startup id as a string).
        qrels: ``{challenge id: {startup id: grade}}`` (grades > 0 only).
        warnings: Non-fatal problems found while loading (unknown domains, ...).
    """

    challenges: list[Item]
    startups: list[Item]
    qrels: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- loading


def _where(section: str, index: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    return f"{section}[{index}]" + (f" (id {ident!r})" if ident is not None else "")


def _text_field(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise CasesError(f"{where}: '{name}' must be a string, got {type(value).__name__}")


def _ident(entry: Mapping[str, Any], where: str) -> str:
    value = entry.get("id")
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CasesError(f"{where}: missing or invalid 'id' (a string or integer is required)")
    ident = str(value).strip()
    if not ident:
        raise CasesError(f"{where}: empty 'id'")
    return ident


def _string_list(value: Any, name: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise CasesError(f"{where}: '{name}' must be a string or a list of strings")


def _keys(
    value: Any, name: str, allowed: Sequence[str], where: str, warnings: list[str]
) -> list[str]:
    out = []
    for raw in _string_list(value, name, where):
        key = raw.strip().lower()
        if key in allowed:
            out.append(key)
        elif key:
            warnings.append(
                f"{where}: unknown {name} {raw!r} ignored (allowed: {', '.join(allowed)})"
            )
    return out


def _capabilities_text(value: Any, where: str) -> str:
    """Flatten the lenient ``capabilities`` field into text."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise CasesError(f"{where}: 'capabilities' must be a string, a list or an object")
    parts = []
    for i, cap in enumerate(value):
        if cap is None:
            continue
        if isinstance(cap, Mapping):
            name = next((str(cap[k]).strip() for k in ("name", "title") if cap.get(k)), "")
            body = " ".join(
                str(cap[k]).strip()
                for k in ("description", "summary", "text", "deployments")
                if cap.get(k) and isinstance(cap[k], (str, int, float))
            )
            text = f"{name}: {body}" if name and body else (name or body)
        elif isinstance(cap, (str, int, float)) and not isinstance(cap, bool):
            text = str(cap).strip()
        else:
            raise CasesError(f"{where}: capabilities[{i}] must be a string or an object")
        if text:
            parts.append(text)
    return "\n".join(parts)


def _language(value: Any, text: str, where: str, warnings: list[str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return detect_language(text)
    if not isinstance(value, str):
        raise CasesError(f"{where}: 'language' must be a string")
    fam = language_family(value)
    if fam in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[fam]
    detected = detect_language(text)
    warnings.append(f"{where}: unsupported language {value!r}, detected {detected!r} instead")
    return detected


def _readiness(value: Any, where: str, warnings: list[str]) -> int | None:
    if value is None:
        return None
    try:
        trl = int(value)
    except (TypeError, ValueError):
        warnings.append(f"{where}: readiness {value!r} ignored (not an integer)")
        return None
    if not 1 <= trl <= 9:
        warnings.append(f"{where}: readiness {value!r} ignored (must be 1..9)")
        return None
    return trl


def _section(data: Mapping[str, Any], name: str) -> list[Any]:
    if name not in data:
        raise CasesError(f"cases file has no '{name}' list")
    value = data[name]
    if not isinstance(value, list):
        raise CasesError(f"'{name}' must be a list, got {type(value).__name__}")
    return value


def _load_mapping(source: Mapping[str, Any] | str | os.PathLike[str]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CasesError(f"cannot read cases file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CasesError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, Mapping):
        raise CasesError(f"{path}: the top level must be a JSON object")
    return data


def load_cases(source: Mapping[str, Any] | str | os.PathLike[str]) -> Cases:
    """Load and validate a cases file (path or already-parsed dict).

    Args:
        source: Path to a JSON file, or the parsed mapping.

    Returns:
        The cases.

    Raises:
        CasesError: Unreadable or malformed file, duplicate ids, labels naming unknown
            ids, an item without any text, or no positive label at all.
    """
    data = _load_mapping(source)
    if not isinstance(data, Mapping):
        raise CasesError("the top level must be an object")
    warnings: list[str] = []

    challenges: list[Item] = []
    seen: set[str] = set()
    for i, entry in enumerate(_section(data, "challenges")):
        where = _where("challenges", i, entry)
        if not isinstance(entry, Mapping):
            raise CasesError(f"{where}: must be an object")
        ident = _ident(entry, where)
        if ident in seen:
            raise CasesError(f"{where}: duplicate challenge id {ident!r}")
        seen.add(ident)
        title = _text_field(entry, "title", where)
        body = "\n".join(
            t
            for t in (
                _text_field(entry, k, where) for k in ("description", "business_need", "text")
            )
            if t
        )
        text = "\n".join(t for t in (title, body) if t)
        if not text:
            raise CasesError(f"{where}: no text (give a 'title' or a 'description')")
        areas = entry.get("areas", entry.get("functional_areas", entry.get("functional_area")))
        challenges.append(
            Item(
                key=ident,
                text=text,
                title=title,
                domains=frozenset(_keys(entry.get("domains"), "domains", DOMAINS, where, warnings)),
                areas=frozenset(_keys(areas, "areas", AREAS, where, warnings)),
                tags=frozenset(_string_list(entry.get("tags"), "tags", where)),
                language=_language(entry.get("language"), text, where, warnings),
            )
        )

    startups: list[Item] = []
    seen = set()
    for i, entry in enumerate(_section(data, "startups")):
        where = _where("startups", i, entry)
        if not isinstance(entry, Mapping):
            raise CasesError(f"{where}: must be an object")
        ident = _ident(entry, where)
        if ident in seen:
            raise CasesError(f"{where}: duplicate startup id {ident!r}")
        seen.add(ident)
        name = _text_field(entry, "name", where)
        parts = [
            name,
            _text_field(entry, "summary", where),
            _text_field(entry, "description", where),
            _capabilities_text(entry.get("capabilities"), where),
        ]
        text = "\n".join(p for p in parts if p)
        if not text:
            raise CasesError(f"{where}: no text (give a 'name', 'summary' or 'capabilities')")
        areas = entry.get("areas", entry.get("functional_areas"))
        tags = entry.get("tags", entry.get("technologies"))
        startups.append(
            Item(
                key=ident,
                text=text,
                title=name,
                domains=frozenset(_keys(entry.get("domains"), "domains", DOMAINS, where, warnings)),
                areas=frozenset(_keys(areas, "areas", AREAS, where, warnings)),
                tags=frozenset(_string_list(tags, "tags", where)),
                readiness=_readiness(entry.get("readiness"), where, warnings),
                language=_language(entry.get("language"), text, where, warnings),
            )
        )
    if not challenges:
        raise CasesError("'challenges' is empty")
    if not startups:
        raise CasesError("'startups' is empty")

    challenge_ids = {c.key for c in challenges}
    startup_ids = {s.key for s in startups}
    qrels: dict[str, dict[str, int]] = {}
    for i, entry in enumerate(_section(data, "qrels")):
        where = f"qrels[{i}]"
        if not isinstance(entry, Mapping):
            raise CasesError(f"{where}: must be an object")
        cid, sid = entry.get("challenge"), entry.get("startup")
        if cid is None or sid is None or isinstance(cid, bool) or isinstance(sid, bool):
            raise CasesError(f"{where}: needs 'challenge' and 'startup' ids")
        cid, sid = str(cid).strip(), str(sid).strip()
        if cid not in challenge_ids:
            raise CasesError(f"{where}: unknown challenge id {cid!r}")
        if sid not in startup_ids:
            raise CasesError(f"{where}: unknown startup id {sid!r}")
        grade = entry.get("grade", 1)
        if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade != int(grade):
            raise CasesError(f"{where}: 'grade' must be 0, 1 or 2, got {grade!r}")
        grade = int(grade)
        if grade not in (0, 1, 2):
            raise CasesError(f"{where}: 'grade' must be 0, 1 or 2, got {grade!r}")
        previous = qrels.get(cid, {}).get(sid)
        if previous is not None and previous != grade:
            raise CasesError(
                f"{where}: conflicting grades {previous} and {grade} for {cid!r}/{sid!r}"
            )
        if grade > 0:
            qrels.setdefault(cid, {})[sid] = grade
    if not qrels:
        raise CasesError("no positive label in 'qrels': nothing to evaluate")
    unlabelled = [c.key for c in challenges if c.key not in qrels]
    if unlabelled:
        warnings.append(
            f"{len(unlabelled)} challenge(s) without a positive label are not scored: "
            + ", ".join(unlabelled[:10])
            + (" ..." if len(unlabelled) > 10 else "")
        )
    return Cases(challenges, startups, qrels, warnings)


# --------------------------------------------------------------------------- rankers


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

    Names of the multilingual encoders in :mod:`matcher.multilingual_encoders`
    (``"multilingual-e5-small"``, ``"use-multilingual"``) work too.
    """
    if encoder is None or isinstance(encoder, str):
        return get_encoder(encoder)
    return encoder


# --------------------------------------------------------------------------- evaluation


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
) -> dict[str, Any]:
    """Evaluate every ranker variant on a cases file.

    Args:
        cases: Path, parsed mapping, or :class:`Cases`.
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

    Returns:
        ``{"cases": N, "default": NAME, "rankers": {NAME: {"ndcg@10", "recall@10",
        "mrr", "ci", "by_language", "delta_vs_default", "config"}}, ...}`` plus
        ``"k"``, ``"candidates"``, ``"encoder"``, ``"calibration"``, ``"timing"``
        and ``"warnings"``.
    """
    started = time.perf_counter()
    loaded = cases if isinstance(cases, Cases) else load_cases(cases)
    enc = resolve_encoder(encoder)
    if isinstance(base_config, Mapping):
        base_config = RankerConfig.from_mapping(base_config)
    if isinstance(default_config, Mapping):
        default_config = RankerConfig.from_mapping(default_config)
    configs = variant_configs(base_config)
    if default not in configs and default_config is None:
        raise ValueError(
            f"default must be one of {list(configs)} (or pass default_config), got {default!r}"
        )
    if default_config is not None:
        configs["default"] = dataclasses.replace(default_config, explain_sentences=False)
    else:
        configs["default"] = configs[default]

    # Encode every text exactly once.
    t0 = time.perf_counter()
    qtexts = [dense_text(c.title, c.text) for c in loaded.challenges]
    ptexts = [dense_text(s.title, s.text) for s in loaded.startups]
    qvecs = np.asarray(enc.encode(qtexts, role="query"), dtype=np.float32)
    pvecs = np.asarray(enc.encode(ptexts, role="passage"), dtype=np.float32)
    if plain_encoder is None:
        plain_encoder = enc.encoder if isinstance(enc, TranslatingEncoder) else enc
    if plain_encoder is enc:
        plain_q, plain_p = qvecs, pvecs
    else:
        plain_q = np.asarray(plain_encoder.encode(qtexts, role="query"), dtype=np.float32)
        plain_p = np.asarray(plain_encoder.encode(ptexts, role="passage"), dtype=np.float32)
    encode_seconds = time.perf_counter() - t0
    qlangs = [c.language for c in loaded.challenges]
    plangs = [s.language for s in loaded.startups]

    calibration: dict[str, Any] = {"centering": centering or False, "language_calibration": None}
    if centering:
        if centering == "corpus":
            # As the web layer does: means of the candidate corpus only; queries are
            # centred with their language's corpus mean.
            centre = LanguageCentering.fit({"passage": (pvecs, plangs)})
        elif centering is True:
            centre = LanguageCentering.fit({"query": (qvecs, qlangs), "passage": (pvecs, plangs)})
        else:
            raise ValueError("centering must be False, True or 'corpus'")
        qvecs = centre.transform(qvecs, qlangs, "query")
        pvecs = centre.transform(pvecs, plangs, "passage")
    if isinstance(language_calibration, str):
        if language_calibration != "auto":
            raise ValueError("language_calibration must be a mapping, 'auto' or None")
        language_calibration = calibration_offsets(qvecs, qlangs, pvecs, plangs)
    if language_calibration:
        offsets = {str(key): float(v) for key, v in language_calibration.items()}
        calibration["language_calibration"] = offsets
        configs = {
            name: dataclasses.replace(cfg, language_calibration=offsets)
            for name, cfg in configs.items()
        }

    scored = [c for c in loaded.challenges if c.key in loaded.qrels]
    depth = max(k, min(depth, len(loaded.startups)))
    metric_names = (f"ndcg@{k}", f"recall@{k}", "mrr")

    rankers: dict[str, Any] = {}
    per_case_all: dict[str, dict[str, list[float]]] = {}
    timing: dict[str, float] = {"encode_seconds": round(encode_seconds, 3)}
    plain = dataclasses.replace(
        RankerConfig(), explain_sentences=False, diversity=0.0, lexical=configs["lexical"].lexical,
        lexical_params=configs["lexical"].lexical_params,
    )
    runs: list[tuple[str, RankerConfig, Encoder, np.ndarray, np.ndarray]] = [
        ("bm25-plain", dataclasses.replace(plain, weights={"lexical": 1.0}), enc, qvecs, pvecs),
        ("dense-plain", dataclasses.replace(plain, weights={"semantic": 1.0}), plain_encoder,
         plain_q, plain_p),
    ] + [(name, cfg, enc, qvecs, pvecs) for name, cfg in configs.items()]
    for name, cfg, run_encoder, run_q, run_p in runs:
        t0 = time.perf_counter()
        rankings = _rank_all(cfg, run_encoder, loaded, scored, run_q, run_p, depth)
        timing[f"{name}_seconds"] = round(time.perf_counter() - t0, 3)
        overall, slices = score_rankings(loaded, scored, rankings, k)
        block = _metric_block(overall, k, random_state, confidence, n_resamples)
        block["cases"] = len(scored)
        block["by_language"] = {
            rel: {"cases": len(vals[metric_names[0]])}
            | _metric_block(vals, k, random_state, confidence, n_resamples)
            for rel, vals in slices.items()
            if vals[metric_names[0]]
        }
        block["config"] = {
            "lexical": cfg.lexical,
            "fusion": cfg.fusion,
            "weights": dict(cfg.weights),
            "diversity": cfg.diversity,
            "language_calibration": cfg.language_calibration,
            "query_expansion": cfg.query_expansion,
            "translation": cfg.translation,
        }
        rankers[name] = block
        per_case_all[name] = overall

    for name, block in rankers.items():
        if name == "default":
            continue
        block["delta_vs_default"] = {
            m: list(
                paired_bootstrap_ci(
                    per_case_all[name][m],
                    per_case_all["default"][m],
                    confidence,
                    n_resamples,
                    random_state,
                )
            )
            for m in metric_names
        }

    return {
        "cases": len(scored),
        "default": default,
        "rankers": rankers,
        "k": k,
        "candidates": len(loaded.startups),
        "challenges": len(loaded.challenges),
        "labels": sum(len(v) for v in loaded.qrels.values()),
        "encoder": getattr(enc, "model_id", type(enc).__name__),
        "calibration": calibration,
        "confidence": confidence,
        "languages": {
            "challenges": _count(language_family(x) for x in qlangs),
            "startups": _count(language_family(x) for x in plangs),
        },
        "timing": timing | {"total_seconds": round(time.perf_counter() - started, 3)},
        "warnings": list(loaded.warnings),
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


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- report


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
            f"Matcher evaluation: {result.get('cases')} challenges scored, "
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
