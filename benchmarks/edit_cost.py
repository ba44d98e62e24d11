"""What a capability edit costs a web worker: the time from the edit's commit to a ranking
that includes it, the rows the worker reads for it, and the worker's memory.

Seed a database first (the load test's data: 10,000 startups, about 15,000 capabilities):

    createdb -h 127.0.0.1 -U postgres bench
    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench MATCHER_MODEL=hashing
    .venv/bin/flask --app wsgi db upgrade
    .venv/bin/python loadtest/seed_large.py --startups 10000 --challenges 1000
    .venv/bin/python benchmarks/edit_cost.py --edits 50

Then, in one process (one worker): a cold fit of the capability corpus; N edits, each
committed as the edit request does (changed text and tags, encoded at save), each followed
by the "next request" of the worker: bring the corpus up to date and rank one challenge.
For comparison it also times a whole fit of the corpus (what every edit cost each worker
before the change log) and the ORM read of every capability that whole fit used to make.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from models import Capability, Challenge
from models.vocabulary import ChallengeStatus
from portal import create_app
from portal.database import db
from portal.services import recommendations
from portal.services.recommendations import corpus, items

WORDS = ["triage", "dental", "queue", "vaccination", "tobacco", "inspection", "chatbot", "records",
         "translation", "elderly", "pharmacy", "wearable", "outbreak", "licensing", "analytics"]


def rss_mb() -> float:
    """Resident memory of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--full-fits", type=int, default=3, help="whole fits timed for comparison")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    app = create_app()

    with app.app_context():
        n_caps = db.scalar(select(func.count()).select_from(Capability)) or 0
        challenge_ids = list(db.scalars(select(Challenge.id).where(Challenge.status == ChallengeStatus.OPEN).limit(200)))
        cap_ids = list(db.scalars(select(Capability.id)))
    print(f"database: {app.config['DATABASE_URL'].split('@')[-1]}, {n_caps} capabilities, model {app.config['MATCHER_MODEL']}")
    gc.collect()
    rss_start = rss_mb()

    with app.app_context():
        recommendations.clear_caches()
        started = time.perf_counter()
        corpus.capability_corpus()
        cold = time.perf_counter() - started
        recommendations.recommend_startups(db.get(Challenge, challenge_ids[0]), None)
    stats = corpus.caches(app).stats
    print(f"cold fit (lean rows + vectors + fit): {cold:.2f} s, {stats['rows_loaded']} rows read")
    gc.collect()
    rss_warm = rss_mb()

    commit_s, catch_up_s, rank_s, rows = [], [], [], []
    rss_track: list[tuple[int, float]] = []
    fits_before = stats["full_fits"]
    for i in range(args.edits):
        cap_id = rng.choice(cap_ids)
        words = " ".join(rng.sample(WORDS, 4))
        with app.app_context():  # the edit request
            started = time.perf_counter()
            cap = db.get(Capability, cap_id)
            assert cap is not None
            cap.description = f"{cap.description.split(' Now also: ')[0]} Now also: {words} (edit {i})."
            cap.technologies = sorted({*cap.technologies, rng.choice(WORDS)})[:10]
            db.flush()
            recommendations.capability_changed(cap)  # what the capability_saved subscriber does
            db.commit()
            commit_s.append(time.perf_counter() - started)
            expected = items.capability_item(cap).text
        loaded = stats["rows_loaded"]
        with app.app_context():  # the worker's next request
            started = time.perf_counter()
            fitted = corpus.capability_corpus()
            caught_up = time.perf_counter()
            recommendations.recommend_startups(db.get(Challenge, rng.choice(challenge_ids)), None)
            done = time.perf_counter()
            position = fitted.ranker.positions_[f"cap:{cap_id}"]
            assert fitted.ranker.candidates_[position].text == expected, "the edit is not in the ranker"
        catch_up_s.append(caught_up - started)
        rank_s.append(done - caught_up)
        rows.append(stats["rows_loaded"] - loaded)
        if (i + 1) % max(1, args.edits // 5) == 0:
            gc.collect()
            rss_track.append((i + 1, rss_mb()))
    gc.collect()
    rss_edits = rss_mb()
    total = [a + b for a, b in zip(catch_up_s, rank_s, strict=True)]
    print(f"{args.edits} capability edits, whole fits during them: {stats['full_fits'] - fits_before}")
    print(f"  edit request (save, encode, commit): median {statistics.median(commit_s) * 1000:.1f} ms")
    for name, values in (("catch-up (version, changed rows, edit ranker)", catch_up_s),
                         ("ranking one challenge after it", rank_s), ("time to updated ranking", total)):
        print(f"  {name}: median {statistics.median(values) * 1000:.1f} ms, p95 {pct(values, 0.95) * 1000:.1f} ms,"
              f" max {max(values) * 1000:.1f} ms")
    print(f"  rows read per edit: {sorted(set(rows))} (mean {statistics.mean(rows):.2f})")
    print("  RSS after edits: " + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in rss_track))

    fits = []
    for _ in range(args.full_fits):
        with app.app_context():
            recommendations.clear_caches()
            started = time.perf_counter()
            corpus.capability_corpus()
            fits.append(time.perf_counter() - started)
    gc.collect()
    rss_fits = rss_mb()
    with app.app_context():
        started = time.perf_counter()
        caps = db.scalars(select(Capability).options(*items.CAPABILITY_ROWS).order_by(Capability.id)).all()
        orm_items = [items.capability_item(c) for c in caps]
        orm_s = time.perf_counter() - started
        started = time.perf_counter()
        lean_items = [r.item for r in items.capability_rows()]
        lean_s = time.perf_counter() - started
        assert orm_items == lean_items
    if fits:
        print(f"whole fit of the corpus (for comparison), {args.full_fits} times: median {statistics.median(fits):.2f} s")
    print(f"  reading every capability: ORM objects {orm_s:.2f} s, plain rows {lean_s:.2f} s")
    print(f"RSS: start {rss_start:.0f} MB, after cold fit {rss_warm:.0f} MB, after {args.edits} edits {rss_edits:.0f} MB,"
          f" after {args.full_fits} more whole fits {rss_fits:.0f} MB")


if __name__ == "__main__":
    main()
