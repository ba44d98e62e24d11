"""What the first explained recommendations page costs in a process that has just started
(a deploy, a worker recycled by gunicorn's max_requests): its memory holds no sentence
vectors, so each page's explanations need the evidence sentences of the ten matches and of
the side that asked.

Runs in-process (one thread) against the database in DATABASE_URL (the `make run` demo by
default), with the configured encoder (multilingual-e5-small unless MATCHER_MODEL says
otherwise). The corpora are fitted once; before each page the encoder's memory and the
rankers' caches of scorings and pages are emptied, as in a new process. Every demo startup's
recommended challenges and every open challenge's recommended startups are timed twice:

* "stored": sentences read from the ``embeddings`` table (stored when their text was saved,
  or by ``flask matcher reindex``), encoded only when missing;
* "encoded": the encoder asked for every sentence, as before the table held them.

Prints the median, mean and max wall time per page and the sentences encoded per page.

    HF_HUB_OFFLINE=1 INNOMATCH_ENV=development OMP_NUM_THREADS=1 \\
        DATABASE_URL=sqlite:///instance/innomatch.db python benchmarks/first_view.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Counting:
    """An encoder in front of another, counting the texts it is asked for."""

    def __init__(self, encoder: Any) -> None:
        self.encoder, self.model_id, self.texts = encoder, encoder.model_id, 0

    @property
    def dim(self) -> int:
        return int(self.encoder.dim)

    @property
    def symmetric(self) -> bool:
        return bool(getattr(self.encoder, "symmetric", False))

    def encode(self, texts: Sequence[str], *, role: str = "passage", batch_size: int = 32) -> Any:
        self.texts += len(texts)
        return self.encoder.encode(texts, role=role, batch_size=batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="startups and challenges each (the first by id)")
    args = parser.parse_args()
    os.environ.setdefault("INNOMATCH_ENV", "development")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sqlalchemy import select

    from models import Challenge, Startup
    from portal import create_app
    from portal.database import db
    from portal.services import recommendations
    from portal.services.recommendations import ranking
    from portal.services.recommendations.corpus import (
        capability_corpus,
        challenge_corpus,
        open_challenges,
    )
    from portal.services.recommendations.stored import StoredEncoder

    app = create_app()
    with app.app_context():
        chain = recommendations.encoder()  # memory -> the embeddings table -> the model
        stored = chain.encoder  # type: ignore[attr-defined]
        if not isinstance(stored, StoredEncoder):
            raise SystemExit("the configured encoder does not read the embeddings table")
        counting = Counting(stored.encoder)
        stored.encoder = counting
        startups = [s for s in db.scalars(select(Startup).order_by(Startup.id)) if s.capabilities][: args.limit]
        challenges = list(db.scalars(open_challenges().order_by(Challenge.id).limit(args.limit)))
        pages: list[tuple[str, Callable[[], object]]] = [
            *((f"startup {s.id}", lambda s=s: ranking.recommend_challenges(s, None, 10)) for s in startups),
            *((f"challenge {c.id}", lambda c=c: ranking.recommend_startups(c, None)) for c in challenges),
        ]
        pages[0][1]()  # fit the corpora, load the model and dictionaries

        def first_view(page: Callable[[], object], through_table: bool) -> tuple[float, int]:
            chain._cache.clear()  # type: ignore[attr-defined]  # a new process's memory
            for fitted in (challenge_corpus(), capability_corpus()):
                fitted.results.clear()
                fitted.scored.clear()
                fitted.answers.clear()
            chain.encoder = stored if through_table else counting  # type: ignore[attr-defined]
            before, started = counting.texts, time.perf_counter()
            page()
            return (time.perf_counter() - started) * 1000, counting.texts - before

        print(f"{recommendations.encoder().model_id}: {len(startups)} startups' and {len(challenges)} challenges' pages, first view in a new process")
        for label, through_table in (("stored", True), ("encoded", False)):
            walls, encoded = zip(*(first_view(page, through_table) for _name, page in pages), strict=True)
            print(
                f"{label:8} wall ms: median {statistics.median(walls):7.1f}  mean {statistics.mean(walls):7.1f}  "
                f"max {max(walls):7.1f};  sentences encoded per page: mean {statistics.mean(encoded):.1f}, max {max(encoded)}"
            )
        chain.encoder = stored  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
