"""Already solved elsewhere? Challenges similar to a draft, and possible duplicates for the lab.

While an officer drafts a challenge, the published challenges of every department (open
and closed) that read most like it are listed with the completed trials they led to, so
a department can join or reuse instead of posting the same need twice. The lab's review
queue flags a recently opened challenge whose best match elsewhere is a near copy.

Ranking is the recommender's: the same ORM-to-matcher mapping
(``recommendations.challenge_item``), the same cached vectors
(``recommendations.vectors_for``), the same encoder and ranker settings
(``recommendations.encoder``, ``recommendations.ranker_config``), with the draft as the
query over a corpus of the published challenges (``recommendations.published_corpus``: fitted
once per app, then edited with each changed challenge from the change log, as the
recommender's corpora are; a challenge edit never refits it on a request).
The ranker orders the results and explains them (shared key terms, tags and domains).

Whether two challenges are *the same need* is read from the cosine of their texts'
vectors, plus the configured cross-language offset, not from the fused score: the fused
score's lexical part is relative to the best candidate (its best is always 1), so it says
which challenge is most alike, not how alike. Bands of that similarity:

* ``near_copy``: at least ``DUPLICATE_THRESHOLD`` (the review queue flags these);
* ``very_similar``: at least ``SIMILAR_STRONG``;
* ``related``: at least ``SIMILAR_MIN_SCORE``, or, where the encoder has a floor for it
  (``SIMILAR_RELATED_CENTRED``), a *centred* cosine at least that floor (below both nothing
  is listed).

The centred cosine is the cosine after each side's language mean over the published
challenges is taken away (:func:`_centred_similarities`). e5 puts every pair of its texts
at 0.83-0.96, because all of them share one direction; without it, the same need at two
services (missed appointments at Elderly and at Woman Health Centres: raw 0.891, under the
0.905 floor) stands far above unrelated ones (centred 0.34 against 0.13 for the next). It
only adds to what is listed as related: the flags and the stronger bands read the raw cosine.

Cosines live on each encoder's own scale (e5's different needs reach 0.89-0.93, MiniLM's
0.35-0.73), so each packaged encoder has its own bands (``matcher.PRESETS[...]["similar"]``),
read off the demo data: ``benchmarks/duplicates.py --model NAME`` prints the figures behind
them (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import matcher
from models import Challenge, Trial
from models.vocabulary import ChallengeStatus, TrialState

from .. import clock
from ..access import can_view_trial
from ..database import db
from . import recommendations
from .recommendations.corpus import Fitted

#: The bands for an encoder without its own (``matcher.PRESETS[...]["similar"]`` has each
#: packaged encoder's, read off ``benchmarks/duplicates.py``; ``app.config`` keys
#: DUPLICATE_THRESHOLD, SIMILAR_STRONG and SIMILAR_MIN_SCORE override them). These are the
#: bundled MiniLM's: on the demo data the nearest *other* challenge of each published one
#: reaches at most 0.73 (median 0.55); constructed near copies reach their original at 0.77
#: to 0.94. A flag is a hint for a person, so the threshold sits just above the different
#: needs rather than in the middle of the copies.
DEFAULT_DUPLICATE_THRESHOLD = 0.75
DEFAULT_SIMILAR_STRONG = 0.65
DEFAULT_SIMILAR_MIN_SCORE = 0.55
DEFAULT_DUPLICATE_RECENT_DAYS = 30
#: Published challenges of a language needed before its mean is taken away (fewer: no centred
#: similarity, the raw bands alone).
CENTRED_MIN_COUNT = 8
#: How many similar challenges the draft form lists.
SIMILAR_LIMIT = 5
#: How many of the most recently opened challenges the review queue checks.
RECENT_CHECKED = 20
#: The ranker ranks this many times the listed number, before the similarity floor.
POOL_FACTOR = 4

BANDS = ("near_copy", "very_similar", "related")


@dataclass
class DraftText:
    """What an officer has typed so far (nothing is validated or stored)."""

    title: str = ""
    problem_statement: str = ""
    desired_outcomes: str = ""
    domains: list[str] = field(default_factory=list)
    functional_area: str = ""
    tags: list[str] = field(default_factory=list)
    language: str = "en"

    @property
    def enough(self) -> bool:
        """Whether there is text to compare (a title or a problem statement)."""
        return bool(self.title.strip() or self.problem_statement.strip())


@dataclass
class Similar:
    """A published challenge like the query, why, and the completed trials it led to."""

    challenge: Challenge
    similarity: float
    band: str
    score: float
    key_terms: list[str]
    shared_tags: list[str]
    shared_domains: list[str]
    #: Completed trials the viewer may read about: (trial, whether the viewer may open the trial
    #: page); the others are read on the showcase, where their outcome is public.
    trials: list[tuple[Trial, bool]] = field(default_factory=list)


# -- settings ------------------------------------------------------------------------------


#: app.config key -> (the preset's "similar" key, the default without one)
_SETTINGS = {
    "DUPLICATE_THRESHOLD": ("duplicate", DEFAULT_DUPLICATE_THRESHOLD),
    "SIMILAR_STRONG": ("strong", DEFAULT_SIMILAR_STRONG),
    "SIMILAR_MIN_SCORE": ("related", DEFAULT_SIMILAR_MIN_SCORE),
}


def _band_setting(name: str, key: str) -> float | None:
    """The configured value, else the encoder's own band (its preset's), else None."""
    configured = current_app.config.get(name)
    if configured is not None:
        return float(configured)
    model = current_app.config.get("MATCHER_MODEL") or matcher.DEFAULT_ENCODER
    bands = matcher.PRESETS.get(model, {}).get("similar") or {}  # read only: no copy per call
    value = bands.get(key)
    return None if value is None else float(value)


def _setting(name: str) -> float:
    """The configured value, else the encoder's own band (its preset's), else the default."""
    key, default = _SETTINGS[name]
    value = _band_setting(name, key)
    return default if value is None else value


def related_centred_floor() -> float | None:
    """The centred cosine from which a challenge is listed as related (``SIMILAR_RELATED_CENTRED``,
    else the encoder's ``related_centred`` band), or None where there is none."""
    return _band_setting("SIMILAR_RELATED_CENTRED", "related_centred")


def duplicate_threshold() -> float:
    """The similarity from which two challenges are flagged as possible duplicates."""
    return _setting("DUPLICATE_THRESHOLD")


def band_of(similarity: float, centred: float | None = None) -> str | None:
    """The band of a similarity (and of its centred cosine, when known), or None below the
    floor of what is listed."""
    if similarity >= duplicate_threshold():
        return "near_copy"
    if similarity >= _setting("SIMILAR_STRONG"):
        return "very_similar"
    if similarity >= _setting("SIMILAR_MIN_SCORE"):
        return "related"
    floor = related_centred_floor()
    if centred is not None and floor is not None and centred >= floor:
        return "related"
    return None


# -- the corpus ----------------------------------------------------------------------------


def _corpus() -> Fitted:
    """The published challenges' corpus, kept up to date with each edit like the recommender's."""
    return recommendations.published_corpus()


def _similarities(corpus: Fitted, query: matcher.Item, qvec: np.ndarray) -> np.ndarray:
    """The cosine of the query and each candidate (corpus order), with the cross-language
    offset, in 0..1; the query itself (editing a published challenge) gets 0."""
    candidates = corpus.ranker.candidates_
    if not candidates or not corpus.unit_vectors.size:
        return np.zeros(len(candidates))
    norm = float(np.linalg.norm(qvec)) or 1.0
    cosines = corpus.unit_vectors @ (np.asarray(qvec, dtype=np.float32) / norm)
    calibration = corpus.ranker.config.language_calibration
    offsets = {lang: matcher.language_offset(calibration, query.language, lang) for lang in set(corpus.languages)}
    sims = np.clip(cosines + np.array([offsets[lang] for lang in corpus.languages]), 0.0, 1.0)
    own = corpus.ranker.positions_.get(query.key)
    if own is not None:
        sims[own] = 0.0
    return sims


def _centred_corpus(corpus: Fitted) -> tuple[matcher.LanguageCentering, np.ndarray, np.ndarray]:
    """The published challenges' language means, their vectors centred with them, and which
    of them were (a language with fewer than ``CENTRED_MIN_COUNT`` is not): once per version
    of the corpus."""
    centering = matcher.LanguageCentering.fit(
        {"passage": (corpus.unit_vectors, corpus.languages)}, min_count=CENTRED_MIN_COUNT
    )
    centred = np.array([centering.mean_for("passage", lang) is not None for lang in corpus.languages], dtype=bool)
    return centering, centering.transform(corpus.unit_vectors, corpus.languages, "passage"), centred


def _centred_similarities(corpus: Fitted, query: matcher.Item, qvec: np.ndarray) -> np.ndarray | None:
    """The cosine of the query and each candidate (corpus order) once each side's language
    mean over the published challenges is taken away (:class:`matcher.LanguageCentering`, the
    recommender's own correction), or None when the encoder has no floor for it or the query's
    language has fewer than ``CENTRED_MIN_COUNT`` challenges (its mean would be mostly the few
    texts); a candidate of such a language gets -1."""
    candidates = corpus.ranker.candidates_
    if related_centred_floor() is None or not candidates or not corpus.unit_vectors.size:
        return None
    centering, vectors, centred = corpus.answer(("similarity centering", CENTRED_MIN_COUNT), _centred_corpus)
    if centering.mean_for("passage", query.language) is None:
        return None
    norm = float(np.linalg.norm(qvec)) or 1.0
    q = centering.transform(np.asarray(qvec, dtype=np.float32) / norm, query.language, "passage")
    sims: np.ndarray = np.asarray(vectors @ q, dtype=np.float64)
    # A candidate of a language too rare to centre has no centred cosine (-1: never related by it).
    sims[~centred] = -1.0
    own = corpus.ranker.positions_.get(query.key)
    if own is not None:
        sims[own] = 0.0
    return sims


def _rank(
    corpus: Fitted, query: matcher.Item, qvec: np.ndarray, limit: int
) -> list[tuple[matcher.Match, float]]:
    """The ranker's best matches for ``query`` with their similarity, those above the floor
    (:func:`band_of`, with the centred cosine where there is one)."""
    if not corpus.ranker.candidates_:
        return []
    sims = _similarities(corpus, query, qvec)
    centred = _centred_similarities(corpus, query, qvec)
    matches = corpus.ranker.rank(query, query_vector=qvec, top_k=limit * POOL_FACTOR)
    positions = corpus.ranker.positions_
    kept = [
        (m, float(sims[positions[m.key]]), None if centred is None else float(centred[positions[m.key]]))
        for m in matches
    ]
    return [(m, sim) for m, sim, c in kept if band_of(sim, c) is not None][:limit]


def _explained(corpus: Fitted, query: matcher.Item, qvec: np.ndarray, key: str) -> matcher.Match:
    """The ranker's match of ``query`` with the candidate ``key`` (with key terms when it ranks
    among the first ones, else its scores alone)."""
    scored = corpus.ranker.score(query, query_vector=qvec)
    # Explain that one pair only: key terms cost a pass over both texts per match shown.
    others = set(corpus.ranker.positions_)
    others.discard(key)
    for match in corpus.ranker.select(scored, top_k=1, exclude_keys=others):
        return match
    return corpus.ranker.best_of_groups(scored, [key])[key]


def _trials_for(viewer: Any, challenge_ids: list[int]) -> dict[int, list[tuple[Trial, bool]]]:
    """Completed trials of the challenges that the viewer may read about, with their links."""
    if not challenge_ids:
        return {}
    trials = db.scalars(
        select(Trial)
        .where(Trial.challenge_id.in_(challenge_ids), Trial.status == TrialState.COMPLETED)
        .options(selectinload(Trial.startup), selectinload(Trial.report), selectinload(Trial.challenge))
        .order_by(Trial.completed_at.desc(), Trial.id.desc())
    ).all()
    found: dict[int, list[tuple[Trial, bool]]] = {}
    for trial in trials:
        party = can_view_trial(viewer, trial)
        if party or (trial.report is not None and trial.report.published):
            found.setdefault(trial.challenge_id, []).append((trial, party))
    return found


def _results(viewer: Any, ranked: list[tuple[matcher.Match, float]]) -> list[Similar | None]:
    """Each ranked match as a :class:`Similar` (None where the challenge is gone), in order."""
    ids = [int(m.key.split(":", 1)[1]) for m, _s in ranked]
    challenges = {
        c.id: c for c in db.scalars(
            select(Challenge).where(Challenge.id.in_(ids)).options(selectinload(Challenge.department))
        )
    }
    trials = _trials_for(viewer, ids)
    out: list[Similar | None] = []
    for (match, similarity), cid in zip(ranked, ids, strict=True):
        if cid not in challenges:
            out.append(None)
            continue
        out.append(Similar(
            challenge=challenges[cid], similarity=round(similarity, 3), band=band_of(similarity) or "related",
            score=round(match.score, 3), key_terms=list(match.explanation.key_terms),
            shared_tags=list(match.explanation.shared_tags), shared_domains=list(match.explanation.shared_domains),
            trials=trials.get(cid, []),
        ))
    return out


# -- use cases -----------------------------------------------------------------------------


def draft_item(draft: DraftText, challenge_id: int | None = None) -> matcher.Item:
    """The matcher's view of a draft (keyed as the challenge being edited, so it never finds itself)."""
    return matcher.Item(
        key=f"challenge:{challenge_id}" if challenge_id is not None else "draft",
        title=draft.title.strip(),
        text="\n".join(p for p in (draft.problem_statement.strip(), draft.desired_outcomes.strip()) if p),
        domains=frozenset(draft.domains or ()),
        areas=frozenset([draft.functional_area] if draft.functional_area else ()),
        tags=frozenset(draft.tags or ()),
        language=draft.language or "en",
    )


def similar_to_draft(
    viewer: Any, draft: DraftText, *, challenge_id: int | None = None, limit: int = SIMILAR_LIMIT
) -> list[Similar]:
    """The published challenges of every department most like a draft, best first, with why.

    The draft is encoded in memory (never stored: a draft changes with every check).
    """
    if not draft.enough:
        return []
    query = draft_item(draft, challenge_id)
    qvec = recommendations.encoder().encode([matcher.dense_text(query.title, query.text)], role="passage")[0]
    return [s for s in _results(viewer, _rank(_corpus(), query, qvec, limit)) if s is not None]


def possible_duplicates(viewer: Any, challenge_ids: Sequence[int]) -> dict[int, Similar]:
    """challenge id -> its most similar other published challenge, for those of
    ``challenge_ids`` at or above ``DUPLICATE_THRESHOLD``.

    Remembered per version of the published challenges (:meth:`Fitted.answer`, keyed by the
    ids): a view reads the challenges it shows and nothing else; the checked challenges'
    texts, domains and tags are read only to compute the answer (by the follower, for the
    next version, before it is swapped in)."""
    if not challenge_ids:
        return {}
    threshold = duplicate_threshold()
    corpus = _corpus()  # once: the queue's queries do not grow with the challenges checked
    ids = tuple(challenge_ids)
    best = corpus.answer(("possible duplicates", threshold, ids), lambda fitted: _flag(fitted, _checked(ids), threshold))
    order = list(best)
    found = _results(viewer, [best[cid] for cid in order])
    return {cid: similar for cid, similar in zip(order, found, strict=True) if similar is not None}


def _checked(ids: Sequence[int]) -> list[tuple[int, matcher.Item]]:
    """(id, the matcher's view) of each challenge of ``ids`` still there, in that order."""
    rows = {
        c.id: c for c in db.scalars(
            select(Challenge).where(Challenge.id.in_(ids))
            .options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
        )
    }
    return [(cid, recommendations.challenge_item(rows[cid])) for cid in ids if cid in rows]


def _flag(
    corpus: Fitted, checked: Sequence[tuple[int, matcher.Item]], threshold: float
) -> dict[int, tuple[matcher.Match, float]]:
    """challenge id -> (its explained match with its most similar other challenge, similarity),
    for the checked (id, item) at or above ``threshold``."""
    items = [item for _id, item in checked]
    vectors = recommendations.vectors_for([matcher.dense_text(i.title, i.text) for i in items], "passage")
    best: dict[int, tuple[matcher.Match, float]] = {}
    for (challenge_id, item), qvec in zip(checked, vectors, strict=True):
        sims = _similarities(corpus, item, qvec)
        if not sims.size or sims.max() < threshold:
            continue  # the common case costs one product of vectors, no ranking
        top = int(sims.argmax())
        best[challenge_id] = (_explained(corpus, item, qvec, corpus.ranker.candidates_[top].key), float(sims[top]))
    return best


def recent_days() -> int:
    """How many days back the review queue looks for possible duplicates (``DUPLICATE_RECENT_DAYS``)."""
    return int(current_app.config.get("DUPLICATE_RECENT_DAYS") or DEFAULT_DUPLICATE_RECENT_DAYS)


def recent_duplicates(viewer: Any) -> list[tuple[Challenge, Similar]]:
    """Challenges opened in the last ``DUPLICATE_RECENT_DAYS`` days (the newest
    ``RECENT_CHECKED``) that may duplicate another published challenge, newest first."""
    days = recent_days()
    recent = list(db.scalars(
        select(Challenge.id)
        .where(Challenge.status.in_(ChallengeStatus.PUBLIC), Challenge.opened_at >= clock.now() - timedelta(days=days))
        .order_by(Challenge.opened_at.desc(), Challenge.id.desc())
        .limit(RECENT_CHECKED)
    ))
    flagged = possible_duplicates(viewer, recent)
    if not flagged:
        return []
    shown = {
        c.id: c for c in db.scalars(
            select(Challenge).where(Challenge.id.in_(flagged)).options(selectinload(Challenge.department))
        )
    }
    return [(shown[cid], flagged[cid]) for cid in recent if cid in flagged and cid in shown]
