"""The figures behind the similar-challenge settings (``portal.services.similar``).

Run: ``python benchmarks/duplicates.py [--model NAME]`` (default: the site's encoder, multilingual-e5-small).

Loads the demo data into a throw-away SQLite database with the chosen model and its preset
(with its own similarity bands, ``matcher.PRESETS[...]["similar"]``) and prints, for the published
demo challenges:

1. each challenge's most similar *other* challenge (the similarity the duplicate flag reads):
   the distribution, and the closest pairs; none of the demo challenges is a copy of another,
   so everything here should stay below ``DUPLICATE_THRESHOLD``;
2. constructed near copies of each challenge, as another department would post one: the
   title reworded, the sentences of the problem in another order, its last sentence left out,
   the desired outcomes dropped. Their similarity to their original should reach it;
3. how many of each would be flagged, and listed on the draft form, at the current settings.

Nothing here is tuned automatically: each encoder's bands were read off these figures (see
docs/configuration.md), and there is no held-out set for them beyond the demo data.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("INNOMATCH_ENV", "development")

import time

import numpy as np
from sqlalchemy import select

import models
from models import Challenge
from models.vocabulary import ChallengeStatus
from portal import create_app, database
from portal.config import TestConfig
from portal.database import db
from portal.demo import seed
from portal.services import recommendations, similar

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")


def near_copy(challenge: Challenge) -> similar.DraftText:
    """Another department's version of the same need (see the module's docstring)."""
    sentences = [s for s in _SENTENCE.split(challenge.problem_statement) if s.strip()]
    if len(sentences) > 2:
        sentences = sentences[1:-1] + sentences[:1]  # reordered, the last one left out
    joiner = "" if challenge.language.startswith("zh") else " "
    title = f"{challenge.title}（另一部門）" if challenge.language.startswith("zh") else f"Our unit also needs: {challenge.title.lower()}"
    return similar.DraftText(
        title=title, problem_statement=joiner.join(sentences), domains=list(challenge.domains),
        functional_area=challenge.functional_area, tags=list(challenge.tags), language=challenge.language,
    )


def quantiles(values: list[float]) -> str:
    q = np.quantile(np.asarray(values), [0, 0.25, 0.5, 0.75, 0.9, 1.0])
    return "min {:.3f}  p25 {:.3f}  median {:.3f}  p75 {:.3f}  p90 {:.3f}  max {:.3f}".format(*q)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="MATCHER_MODEL (default: the site's, matcher.DEFAULT_ENCODER)")
    args = parser.parse_args()

    class Config(TestConfig):
        MATCHER_MODEL = args.model

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config)
        app.config["DATABASE_URL"] = f"sqlite:///{tmp}/duplicates.db"
        database.init_app(app)
        engine = app.extensions["innomatch_engine"]
        models.Base.metadata.create_all(engine)
        with app.test_request_context():
            seed()
            db.commit()
            public = list(db.scalars(
                select(Challenge).where(Challenge.status.in_(ChallengeStatus.PUBLIC)).order_by(Challenge.id)
            ))
            items = [recommendations.challenge_item(c) for c in public]
            corpus = similar._corpus()
            vectors = recommendations.vectors_for([similar.matcher.dense_text(i.title, i.text) for i in items])
            nearest: list[tuple[float, Challenge, str]] = []
            centred_nearest: list[tuple[float, Challenge, str]] = []
            for challenge, item, vec in zip(public, items, vectors, strict=True):
                sims = similar._similarities(corpus, item, vec)  # its own similarity is 0
                top = int(sims.argmax())
                nearest.append((float(sims[top]), challenge, corpus.ranker.candidates_[top].key))
                centred = centred_of(corpus, item, vec)
                if centred is not None:
                    top = int(centred.argmax())
                    centred_nearest.append((float(centred[top]), challenge, corpus.ranker.candidates_[top].key))
            copies = []
            centred_copies = []
            for challenge in public:
                draft = near_copy(challenge)
                found = similar.similar_to_draft(None, draft, limit=1)
                top = found[0] if found else None
                copies.append((top.similarity if top and top.challenge.id == challenge.id else 0.0, challenge, top))
                item = similar.draft_item(draft)
                vec = recommendations.encoder().encode([similar.matcher.dense_text(item.title, item.text)], role="passage")[0]
                centred = centred_of(corpus, item, vec)
                if centred is not None:
                    centred_copies.append(float(centred[corpus.ranker.positions_[f"challenge:{challenge.id}"]]))

            threshold = similar.duplicate_threshold()
            floor = similar._setting("SIMILAR_MIN_SCORE")
            print(f"model {recommendations.encoder().model_id}; {len(public)} published demo challenges; "
                  f"DUPLICATE_THRESHOLD {threshold}, SIMILAR_STRONG {similar._setting('SIMILAR_STRONG')}, "
                  f"SIMILAR_MIN_SCORE {floor}")
            print("\n1. Nearest other demo challenge (different needs):")
            print("   " + quantiles([v for v, _c, _k in nearest]))
            print(f"   flagged as duplicates: {sum(v >= threshold for v, _c, _k in nearest)} of {len(nearest)};"
                  f" listed on the form (>= {floor}): {sum(v >= floor for v, _c, _k in nearest)}")
            for value, challenge, key in sorted(nearest, key=lambda t: -t[0])[:5]:
                other = db.get(Challenge, int(key.split(":")[1]))
                print(f"   {value:.3f}  #{challenge.id} {challenge.title[:50]!r} ~ #{other.id if other else '?'} "
                      f"{(other.title if other else '')[:50]!r}")
            related = similar.related_centred_floor()
            if centred_nearest:
                print(f"\n1b. The same, centred cosines (listed as related from {related}):")
                print("   " + quantiles([v for v, _c, _k in centred_nearest]))
                listed = sum(v >= floor or (related is not None and c >= related)
                             for (v, _a, _b), (c, _d, _e) in zip(nearest, centred_nearest, strict=True))
                print(f"   listed on the form (raw >= {floor} or centred >= {related}): {listed} of {len(nearest)}")
                for value, challenge, key in sorted(centred_nearest, key=lambda t: -t[0])[:5]:
                    other = db.get(Challenge, int(key.split(":")[1]))
                    print(f"   {value:.3f}  #{challenge.id} {challenge.title[:50]!r} ~ #{other.id if other else '?'} "
                          f"{(other.title if other else '')[:50]!r}")
            print("\n2. Constructed near copies vs their original (0 = the original was not the top result):")
            print("   " + quantiles([v for v, _c, _t in copies]))
            print(f"   flagged as duplicates: {sum(v >= threshold for v, _c, _t in copies)} of {len(copies)};"
                  f" original found first: {sum(v > 0 for v, _c, _t in copies)}")
            for value, challenge, _top in sorted(copies, key=lambda t: t[0])[:3]:
                print(f"   lowest {value:.3f}  #{challenge.id} {challenge.language} {challenge.title[:60]!r}")
            if centred_copies:
                print("   centred: " + quantiles(centred_copies))
            timings = []
            for challenge in public[:10]:
                draft = near_copy(challenge)
                started = time.perf_counter()
                similar.similar_to_draft(None, draft)
                timings.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            flagged = similar.possible_duplicates(None, [c.id for c in public[:20]])
            queue_ms = (time.perf_counter() - started) * 1000
            print("\n3. Flagged at other thresholds (different needs / near copies):")
            for t in sorted({round(threshold + d, 3) for d in (-0.05, -0.02, -0.01, 0.0, 0.01, 0.02, 0.05)}):
                print(f"   {t:.2f}: {sum(v >= t for v, _c, _k in nearest):2d} of {len(nearest)}"
                      f" / {sum(v >= t for v, _c, _t in copies):2d} of {len(copies)}")
            print(f"\n4. Time (corpus fitted, SQLite, this machine): a draft check median {np.median(timings):.0f} ms"
                  f" (max {max(timings):.0f} ms) over 10 drafts; the queue's check of 20 challenges {queue_ms:.0f} ms"
                  f" ({len(flagged)} flagged)")
            real_needs(threshold, similar._setting("SIMILAR_STRONG"), floor)
        engine.dispose()  # the temporary directory goes with the database


def centred_of(corpus: object, item: object, vec: np.ndarray) -> np.ndarray | None:
    """The centred cosines the draft form reads (None: no floor for them, or too few challenges)."""
    return similar._centred_similarities(corpus, item, vec)  # type: ignore[arg-type]


def real_needs(threshold: float, strong: float, floor: float) -> None:
    """5. The same reading on real published needs (data/eval/real_cases.json): different
    bodies' needs, some of them alike (several seek alerts for elderly people living alone),
    none a copy of another, so few should be flagged."""
    import json

    import matcher
    from portal.services import recommendations

    cases = json.loads((ROOT / "data" / "eval" / "real_cases.json").read_text("utf-8"))["challenges"]
    texts = [matcher.dense_text(c.get("title", ""), c.get("description", "")) for c in cases]
    vectors = np.asarray(recommendations.encoder().encode(texts, role="passage"), dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1.0)
    nearest = sims.max(axis=1)
    print(f"\n5. Real published needs (data/eval/real_cases.json, {len(cases)} challenges), nearest other:")
    print("   " + quantiles(nearest.tolist()))
    print(f"   flagged as duplicates: {int((nearest >= threshold).sum())}; very similar (>= {strong}): "
          f"{int((nearest >= strong).sum())}; listed (>= {floor}): {int((nearest >= floor).sum())}")
    for i in np.argsort(-nearest, kind="stable")[:4]:
        j = int(sims[i].argmax())
        print(f"   {nearest[i]:.3f}  {cases[i]['id']} {cases[i]['title'][:45]!r} ~ {cases[j]['id']} {cases[j]['title'][:45]!r}")
    related = similar.related_centred_floor()
    if related is not None:
        languages = [c.get("language", "en") for c in cases]
        centering = matcher.LanguageCentering.fit({"passage": (vectors, languages)}, min_count=similar.CENTRED_MIN_COUNT)
        centred = centering.transform(vectors, languages, "passage").astype(np.float64)
        csims = centred @ centred.T
        np.fill_diagonal(csims, -1.0)
        cnearest = csims.max(axis=1)
        print("   centred: " + quantiles(cnearest.tolist()))
        print(f"   listed (raw >= {floor} or centred >= {related}): {int(((nearest >= floor) | (cnearest >= related)).sum())}")
        for i in np.argsort(-cnearest, kind="stable")[:4]:
            j = int(csims[i].argmax())
            print(f"   {cnearest[i]:.3f}  {cases[i]['id']} {cases[i]['title'][:45]!r} ~ {cases[j]['id']} {cases[j]['title'][:45]!r}")


if __name__ == "__main__":
    main()
