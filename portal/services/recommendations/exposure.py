"""Fair exposure of startups across the open challenges' top ten (``matcher.exposure``):
the report of ``flask matcher exposure`` and the optional cap ``MATCHER_EXPOSURE_CAP``."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import select

from matcher.exposure import ExposureReport, cap_exposure, exposure_report
from models import Challenge, Startup

from ...database import db
from .corpus import capability_corpus, open_challenges
from .items import CHALLENGE_ROWS, challenge_item

#: Places per challenge that count (the recommended-startups page shows ten).
TOP = 10
#: How deep each challenge's list is read, so a capped startup's place goes to the next.
DEPTH = 30


@dataclass
class OpenRankings:
    """Each open challenge's startups, best first, with their scores."""

    challenges: list[Challenge]
    startups: list[list[int]]
    scores: list[dict[int, float]]


def open_rankings(depth: int = DEPTH) -> OpenRankings:
    """Rank startups (one row each) for every open challenge, without any viewer's
    exclusions or explanations."""
    fitted = capability_corpus()
    challenges = list(db.scalars(open_challenges().options(*CHALLENGE_ROWS).order_by(Challenge.id)))
    if not fitted.owners or not challenges:
        return OpenRankings(challenges, [[] for _ in challenges], [{} for _ in challenges])
    light = copy.copy(fitted.ranker)
    light.config = dataclasses.replace(fitted.ranker.config, explain_sentences=False, max_key_terms=0)
    startups, scores = [], []
    for scored in fitted.scored_each([challenge_item(c) for c in challenges]):
        matches = light.select(scored, top_k=depth)
        ids = [fitted.owners[m.key] for m in matches if m.key in fitted.owners]
        startups.append(ids)
        scores.append({fitted.owners[m.key]: m.score for m in matches if m.key in fitted.owners})
    return OpenRankings(challenges, startups, scores)


def report(cap: float | None = None, k: int = TOP) -> ExposureReport:
    """How often each startup with a capability is in the open challenges' top ``k``,
    with the cap applied when given."""
    ranked = open_rankings()
    lists = cap_exposure(ranked.startups, cap, k, ranked.scores) if cap else ranked.startups
    everyone = list(db.scalars(select(Startup.id).where(Startup.capabilities.any()).order_by(Startup.id)))
    return exposure_report(lists, everyone, k)


def capped_out() -> dict[int, set[int]]:
    """Under ``MATCHER_EXPOSURE_CAP``: challenge id -> the startups that lose their top-ten
    place there to keep any startup within the cap ({} when the cap is off). Computed once
    per request."""
    cap = current_app.config.get("MATCHER_EXPOSURE_CAP")
    if not cap:
        return {}
    if has_request_context() and "innomatch_capped_out" in g:
        cached: dict[int, set[int]] = g.innomatch_capped_out
        return cached
    ranked = open_rankings()
    capped = cap_exposure(ranked.startups, float(cap), TOP, ranked.scores)
    out = {
        challenge.id: set(before[:TOP]) - set(after[:TOP])
        for challenge, before, after in zip(ranked.challenges, ranked.startups, capped, strict=True)
    }
    if has_request_context():
        g.innomatch_capped_out = out
    return out


__all__ = ["DEPTH", "TOP", "OpenRankings", "capped_out", "open_rankings", "report"]
