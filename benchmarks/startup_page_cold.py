"""What a startup's recommendations cost when nothing about them is cached: the first view
after the corpora changed (under `make load` a capability edit every 5 s and a challenge
change every 30 s make this the usual case for a page read every few minutes).

Runs in-process (one thread) against the database in DATABASE_URL, seeded by
loadtest/seed_large.py. For each load-test member with a startup, the rankers' caches of
scorings and ranked pages are emptied (as a new corpus version starts with none), then
``recommend_challenges`` is timed: the startup's profile ranks the open challenges, and each
of the ten found scores the capability corpus for the pair's one score. Prints the median
and mean wall and CPU time over the members, and where the time goes (one pass with
pyinstrument when it is installed and ``--profile`` is given).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/innomatch_load MATCHER_MODEL=hashing \\
        OMP_NUM_THREADS=1 python benchmarks/startup_page_cold.py --members 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40, help="load-test members tried (member0..)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of one pass")
    args = parser.parse_args()
    os.environ.setdefault("MATCHER_MODEL", "hashing")
    os.environ.setdefault("INNOMATCH_ENV", "development")
    from sqlalchemy import select

    from models import Startup, User
    from portal import create_app
    from portal.database import db
    from portal.services.recommendations import ranking
    from portal.services.recommendations.corpus import capability_corpus, challenge_corpus

    app = create_app()
    with app.app_context():
        capability_corpus()
        challenge_corpus()
        emails = [f"member{i}@load.test" for i in range(args.members)]
        users = [u for u in db.scalars(select(User).where(User.email.in_(emails))) if u.startup_id]
        if not users:
            raise SystemExit("no load-test members: seed with loadtest/seed_large.py first")
        startups = [db.get(Startup, u.startup_id) for u in users]
        pairs = [(u, s) for u, s in zip(users, startups, strict=True) if s is not None and s.capabilities]
        ranking.recommend_challenges(pairs[0][1], pairs[0][0], 10)  # first-use costs (dictionaries, ...)

        def empty_caches() -> None:  # as a new corpus version starts
            for fitted in (challenge_corpus(), capability_corpus()):
                fitted.results.clear()
                fitted.scored.clear()
                fitted.answers.clear()

        def cold(user: User, startup: Startup) -> tuple[float, float]:
            empty_caches()
            wall, cpu = time.perf_counter(), time.process_time()
            ranking.recommend_challenges(startup, user, 10)
            return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(args.passes):
            for user, startup in pairs:
                wall, cpu = cold(user, startup)
                walls.append(wall)
                cpus.append(cpu)
        capabilities = statistics.mean(len(s.capabilities) for _u, s in pairs)
        print(f"{len(pairs)} startups ({capabilities:.1f} capabilities each), {args.passes} passes, one thread, caches emptied before each view")
        print(f"wall ms: median {statistics.median(walls):.1f}  mean {statistics.mean(walls):.1f}  max {max(walls):.1f}")
        print(f"CPU ms:  median {statistics.median(cpus):.1f}  mean {statistics.mean(cpus):.1f}")
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            for user, startup in pairs:
                empty_caches()
                profiler.start()
                ranking.recommend_challenges(startup, user, 10)
                profiler.stop()
            print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main()
