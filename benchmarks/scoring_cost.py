"""What one scoring of a challenge against the capability corpus costs, by part, alone and
ten at once (``score_each``: a startup's page scores its ten challenges so, and the
follower its warm-up's scorings), and what a startup's page spends reading its pair scores
from ten scorings (``best_of_groups``).

Runs in-process against the database in DATABASE_URL, seeded by loadtest/seed_large.py, and
prints medians over ``--passes`` passes of ``--queries`` challenges (one thread). Every edit of a
capability makes each worker score again the challenges its pages ask for, so this is the cost
an edit multiplies (docs/matching.md §3, "What the follower's warm-up buys").

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/innomatch_load MATCHER_MODEL=hashing \\
        python benchmarks/scoring_cost.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("MATCHER_MODEL", "hashing")
    os.environ.setdefault("INNOMATCH_ENV", "development")
    from sqlalchemy import select

    from benchmarks.explain_cost import _per_page as _median_ms  # median ms per item over passes
    from models import Challenge
    from portal import create_app
    from portal.database import db
    from portal.services.recommendations.corpus import capability_corpus
    from portal.services.recommendations.items import challenge_item

    app = create_app()
    with app.app_context():
        fitted = capability_corpus()
        ranker = fitted.ranker
        challenges = db.scalars(select(Challenge).order_by(Challenge.id).limit(args.queries)).all()
        items = [challenge_item(c) for c in challenges]
        vectors = fitted.query_vectors(items)
        texts = [ranker.lexical_texts([item])[0] for item in items]
        lexical = ranker.lexical_
        scored = [ranker.score(item, query_vector=v) for item, v in zip(items, vectors, strict=True)]
        startups = sorted(fitted.keys_by_owner)[:: max(1, len(fitted.keys_by_owner) // 10)][:10]
        groups = [f"startup:{owner}" for owner in startups]
        n, p = len(items), args.passes
        rows = [
            ("scoring, whole (HybridRanker.score)",
             _median_ms(lambda: [ranker.score(i, query_vector=v) for i, v in zip(items, vectors, strict=True)], n, p)),
            ("  the query's terms (query_terms)", _median_ms(lambda: [lexical.query_terms(t) for t in texts], n, p)),
            ("  BM25 over the corpus", _median_ms(lambda: [lexical.score(lexical.query_terms(t)) for t in texts], n, p)),
            ("  vectors: top of the corpus", _median_ms(lambda: [ranker.dense_.top_sets(v, ranker.config.pool_size) for v in vectors], n, p)),
            ("scorings ten at once, each (HybridRanker.score_each)",
             _median_ms(lambda: [ranker.score_each(items[i : i + 10], vectors[i : i + 10]) for i in range(0, n, 10)], n, p)),
            ("  BM25 over the corpus, ten at once, each",
             _median_ms(lambda: [lexical.score_each([lexical.query_terms(t) for t in texts[i : i + 10]]) for i in range(0, n, 10)], n, p)),
            ("  vectors: top of the corpus, ten at once, each",
             _median_ms(lambda: [ranker.dense_.top_sets(vectors[i : i + 10], ranker.config.pool_size) for i in range(0, n, 10)], n, p)),
            ("  structured score of the pool",
             _median_ms(lambda: [ranker.structured_.score(i, s.pool) for i, s in zip(items, scored, strict=True)], n, p)),
            ("a startup's best entry in a scoring (best_of_groups)",
             _median_ms(lambda: [ranker.best_of_groups(s, [g]) for s in scored for g in groups], n * len(groups), p)),
        ]
    print(f"{len(ranker.candidates_)} capabilities, {n} challenges, median of {p} passes, one thread")
    for name, ms in rows:
        print(f"{name:55} {ms:8.3f} ms")


if __name__ == "__main__":
    main()
