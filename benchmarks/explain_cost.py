"""What explanations cost a ranked page, and what a page that shows only scores saves.

Runs in-process against the database in DATABASE_URL, seeded by loadtest/seed_large.py, and
prints, per page (median of the passes, one thread):

* a startup's recommended challenges explained (key terms, sentence pairs) on a version of
  the challenge corpus, then again on the next version (one challenge edited, the same
  pages asked again, as after an officer's edit): the key terms' displays are remembered
  per pair of texts across versions (``matcher.explain.DisplayMemo``);
* the review queue's suggestions (the newest open challenges' best three startups) with and
  without evidence, their scorings cached (as the follower leaves them) and not.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/innomatch_load MATCHER_MODEL=hashing \\
        python benchmarks/explain_cost.py --pages 55
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _per_page(run, pages: int, passes: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds per page over ``passes`` runs of ``run()`` (which does ``pages``)."""
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) / pages * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=55, help="startups whose recommended challenges are explained")
    args = parser.parse_args()

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from matcher.ranker import DISPLAY_MEMO
    from models import Challenge, Startup, User
    from models.vocabulary import ChallengeStatus, Role
    from portal.database import db
    from portal.services import recommendations
    from portal.services.queue import QUEUE_CHALLENGES, QUEUE_MATCHES
    from portal.services.recommendations import corpus, items
    from wsgi import app

    with app.app_context():
        fitted = corpus.challenge_corpus()
        ranker = fitted.ranker
        startups = db.scalars(select(Startup).order_by(Startup.id).limit(args.pages)).all()
        queries = [items.startup_item(s) for s in startups]
        vectors = fitted.query_vectors(queries)
        scored = [ranker.score(q, query_vector=v) for q, v in zip(queries, vectors, strict=True)]

        def explain_all(on, scorings) -> None:  # type: ignore[no-untyped-def]
            for one in scorings:
                on.select(one, top_k=10)

        DISPLAY_MEMO.clear()
        first = _per_page(lambda: (DISPLAY_MEMO.clear(), explain_all(ranker, scored)), len(scored))
        # The next version: one challenge edited; the same pages asked again.
        edited = ranker.candidates_[0]
        nxt = ranker.updated([dataclasses.replace(edited, text=edited.text + " Reference update.")])
        rescored = [nxt.score(q, query_vector=v) for q, v in zip(queries, vectors, strict=True)]
        explain_all(ranker, scored)  # the memo as the first version left it
        again = _per_page(lambda: explain_all(nxt, rescored), len(rescored))
        print(f"a startup's 10 recommended challenges, explained: {first:.1f} ms a page on a version, "
              f"{again:.1f} ms on the next one (key terms remembered per pair; {len(DISPLAY_MEMO)} pairs)")

        capabilities = corpus.capability_corpus()
        coordinator = db.scalar(select(User).where(User.role == Role.COORDINATOR).order_by(User.id).limit(1))
        challenges = db.scalars(
            select(Challenge).where(Challenge.status == ChallengeStatus.OPEN).order_by(Challenge.opened_at.desc())
            .limit(QUEUE_CHALLENGES).options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
        ).all()
        for explain in (True, False):
            def cold(explain: bool = explain) -> None:
                capabilities.scored.clear()
                capabilities.results.clear()
                recommendations.recommend_startups_for_each(challenges, coordinator, limit=QUEUE_MATCHES, explain=explain)

            def warm(explain: bool = explain) -> None:
                capabilities.results.clear()
                recommendations.recommend_startups_for_each(challenges, coordinator, limit=QUEUE_MATCHES, explain=explain)

            cold(), warm()
            print(f"the review queue's suggestions ({len(challenges)} challenges x {QUEUE_MATCHES}), "
                  f"{'explained' if explain else 'scores only'}: {_per_page(cold, 1, 9):.1f} ms, "
                  f"their scorings cached {_per_page(warm, 1, 9):.1f} ms")


if __name__ == "__main__":
    main()
