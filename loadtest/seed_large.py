"""Seed a large database quickly for the load test: N startups, M challenges, load-test logins.

Texts recombine the demo data (portal/demo/data): each startup and challenge takes the
structure of one demo record and sentences from others, so the corpus has the demo's
vocabulary without being 150 copies of it. Rows go in with bulk inserts (explicit ids);
embeddings are computed with the configured encoder (MATCHER_MODEL; the load run uses
"hashing" for speed, see loadtest/README.md) and inserted in bulk too.

    DATABASE_URL=... MATCHER_MODEL=hashing python loadtest/seed_large.py --startups 10000 --challenges 1000
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from credentials import PASSWORD, totp_secret  # loadtest/credentials.py
from sqlalchemy import func, insert, select

import matcher
from models import (
    Capability,
    CapabilityDomain,
    CapabilityTag,
    Challenge,
    ChallengeDomain,
    ChallengeFollow,
    ChallengeTag,
    Department,
    Embedding,
    Startup,
    User,
)
from portal import clock, create_app
from portal.database import db, get_engine
from portal.passwords import hash_password
from portal.services import mfa

DATA = ROOT / "portal" / "demo" / "data"
#: Password of every load-test account (the accounts exist only in throwaway load databases).
MEMBERS, OFFICERS, COORDINATORS = 40, 8, 6  # the warm-up signs in as coordinator2 to coordinator5
CHUNK = 2000
PLACES = ["Kowloon", "Sha Tin", "Tsuen Wan", "Tuen Mun", "Wan Chai", "Kwun Tong", "Tai Po", "Yuen Long",
          "Central", "Sai Kung", "Island East", "New Territories West"]


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?。！？])\s*", text) if s.strip()]


def _mix(rng: random.Random, base: str, others: list[str], keep: int = 3) -> str:
    """The first sentences of ``base`` followed by a few sentences from ``others``."""
    own = _sentences(base)
    pool = [s for o in others for s in _sentences(o)]
    extra = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
    return " ".join(own[:keep] + extra)


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def _bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    for part in _chunks(rows):
        db.execute(insert(model.__table__), part)


def _next_id(model: Any) -> int:
    return (db.scalar(select(func.max(model.id))) or 0) + 1


def seed(n_startups: int, n_challenges: int, rng_seed: int = 7) -> dict[str, int]:
    rng = random.Random(rng_seed)  # nosec B311 - test data, not security
    now = clock.now()
    today = clock.today()
    demo_startups, demo_challenges = _load("startups.json"), _load("challenges.json")
    demo_caps = [c for s in demo_startups for c in s["capabilities"]]

    # Departments: the demo's, once.
    departments: dict[str, int] = {
        code: dept_id for code, dept_id in db.execute(select(Department.code, Department.id))
    }
    for row in _load("departments.json"):
        if row["code"] not in departments:
            dept = Department(code=row["code"], name_en=row["name_en"], name_zh=row["name_zh"],
                              parent_id=departments.get(row.get("parent") or ""))
            db.add(dept)
            db.flush()
            departments[row["code"]] = dept.id

    # Startups and capabilities.
    startup_rows, cap_rows, cap_domains, cap_tags = [], [], [], []
    sid, cid = _next_id(Startup), _next_id(Capability)
    for i in range(n_startups):
        base = demo_startups[i % len(demo_startups)]
        others = [d["description"] for d in rng.sample(demo_startups, 2)]
        startup_rows.append({
            "id": sid, "name": f"{base['name']} {PLACES[i % len(PLACES)]} {i + 1}",
            "website": base.get("website", ""), "description": _mix(rng, base["description"], others),
            "size": base.get("size", "1-10"), "language": base["language"], "verified": rng.random() < 0.7,
            "verified_at": now, "created_at": now, "updated_at": now,
        })
        for _ in range(1 if rng.random() < 0.5 else 2):
            cap = rng.choice(demo_caps)
            mix = [c["description"] for c in rng.sample(demo_caps, 2)]
            cap_rows.append({
                "id": cid, "startup_id": sid, "name": cap["name"], "description": _mix(rng, cap["description"], mix),
                "deployments": cap.get("deployments", ""), "readiness": int(cap.get("readiness", 5)),
                "language": cap.get("language", base["language"]), "created_at": now, "updated_at": now,
            })
            cap_domains += [{"capability_id": cid, "domain": d} for d in dict.fromkeys(cap.get("domains", []))]
            cap_tags += [{"capability_id": cid, "tag": t.lower()[:60]}
                         for t in dict.fromkeys(t.lower() for t in cap.get("technologies", []))]
            cid += 1
        sid += 1
    _bulk(Startup, startup_rows)
    _bulk(Capability, cap_rows)
    _bulk(CapabilityDomain, cap_domains)
    _bulk(CapabilityTag, cap_tags)

    # Challenges: mostly open, some closed, a few drafts.
    ch_rows, ch_domains, ch_tags = [], [], []
    chid = _next_id(Challenge)
    for i in range(n_challenges):
        base = demo_challenges[i % len(demo_challenges)]
        others = [c["problem_statement"] for c in rng.sample(demo_challenges, 2)]
        status = "open" if rng.random() < 0.85 else rng.choice(["closed", "draft"])
        ch_rows.append({
            "id": chid, "department_id": departments[base["department"]], "created_by_id": None,
            "title": f"{base['title']} ({PLACES[i % len(PLACES)]} {i + 1})",
            "problem_statement": _mix(rng, base["problem_statement"], others, keep=4),
            "desired_outcomes": base.get("desired_outcomes", ""), "constraints": base.get("constraints", ""),
            "functional_area": base["functional_area"], "duration_weeks": int(base["duration_weeks"]),
            "closing_on": today + timedelta(days=rng.randint(20, 120)), "status": status,
            "language": base["language"], "opened_at": None if status == "draft" else now - timedelta(days=rng.randint(1, 300)),
            "created_at": now, "updated_at": now,
        })
        ch_domains += [{"challenge_id": chid, "domain": d} for d in dict.fromkeys(base["domains"])]
        ch_tags += [{"challenge_id": chid, "tag": t} for t in dict.fromkeys(t.lower()[:60] for t in base.get("tags", []))]
        chid += 1
    _bulk(Challenge, ch_rows)
    _bulk(ChallengeDomain, ch_domains)
    _bulk(ChallengeTag, ch_tags)

    # Load-test logins: members of the first startups, officers of the busiest departments, the lab.
    pw = hash_password(PASSWORD)
    first_startup = startup_rows[0]["id"] if startup_rows else None
    users = []
    for i in range(MEMBERS if first_startup else 0):
        users.append({"email": f"member{i}@load.test", "role": "startup", "startup_id": first_startup + i})
    owning = sorted({c["department"] for c in demo_challenges})  # departments that post challenges
    for i in range(OFFICERS):
        users.append({"email": f"officer{i}@load.test", "role": "officer",
                      "department_id": departments[owning[i % len(owning)]],
                      "mfa_secret": mfa.encrypt_secret(totp_secret(f"officer{i}@load.test")), "mfa_enabled_at": now})
    # Officers and coordinators pass the second sign-in step with a code from their (derived) secret.
    users += [{"email": f"coordinator{i}@load.test", "role": "coordinator",
               "mfa_secret": mfa.encrypt_secret(totp_secret(f"coordinator{i}@load.test")), "mfa_enabled_at": now}
              for i in range(COORDINATORS)]
    existing = set(db.scalars(select(User.email)))
    _bulk(User, [{"startup_id": None, "department_id": None, "mfa_secret": None, "mfa_enabled_at": None, **u, "password_hash": pw, "display_name": u["email"].split("@")[0], "locale": "en",
                  "is_active": True, "session_token": f"load-{i}-{rng.getrandbits(64):x}",
                  # Immediate emails, a new account's default: notifications go through the outbox
                  # and the job worker's deliveries under load, as in production.
                  "notify": "immediate",
                  "password_changed_at": now, "created_at": now, "updated_at": now,
                  "email_verified_at": now}  # their addresses count as confirmed
                 for i, u in enumerate(users) if u["email"] not in existing])
    db.flush()
    # Each member follows a few open challenges of the load officers' departments, whose edits
    # then tell their followers (a job's fan-out, with emails).
    officer_departments = {u["department_id"] for u in users if u["role"] == "officer"}
    followable = [c["id"] for c in ch_rows if c["department_id"] in officer_departments and c["status"] == "open"]
    members = db.scalars(select(User.id).where(User.email.like("member%@load.test"))).all()
    known = {(uid, cid) for uid, cid in db.execute(select(ChallengeFollow.user_id, ChallengeFollow.challenge_id))}
    follows = {(uid, cid) for uid in members for cid in rng.sample(followable, min(5, len(followable)))} - known
    _bulk(ChallengeFollow, [{"user_id": uid, "challenge_id": cid} for uid, cid in sorted(follows)])
    return {"startups": len(startup_rows), "capabilities": len(cap_rows), "challenges": len(ch_rows),
            "users": len(users)}


def embed_all() -> int:
    """Encode what `flask matcher reindex` encodes and is not cached yet, with bulk inserts:
    challenges (as candidates and as queries), capabilities, and each startup's profile as
    the query of its recommendations (saving a capability encodes it in production), then the
    sentences their explanations quote (the evidence job stores them in production)."""
    from portal.services import recommendations
    from portal.services.recommendations.indexing import work_to_index
    from portal.services.recommendations.stored import cache_role as stored_role

    enc = recommendations.encoder()
    wanted: dict[str, tuple[str, str]] = {}  # text hash -> (role, text)
    for texts, role in work_to_index():
        cache_role = stored_role(enc, role)  # type: ignore[arg-type]
        for text in texts:
            wanted.setdefault(matcher.text_hash(enc.model_id, text, cache_role), (cache_role, text))
    cached = set(db.scalars(select(Embedding.text_hash).where(Embedding.model == enc.model_id)))
    missing = [(h, role, t) for h, (role, t) in wanted.items() if h not in cached]
    now = clock.now()
    for role in ("passage", "query"):
        _insert_vectors(enc, [(h, t) for h, r, t in missing if r == role], role, now)
    return len(missing)


def _insert_vectors(enc: Any, missing: list[tuple[str, str]], role: str, now: Any) -> None:
    for start in range(0, len(missing), 512):
        part = missing[start : start + 512]
        vectors = enc.encode([t for _h, t in part], role=role)
        rows = []
        for (text_hash, _t), vec in zip(part, vectors):
            blob = vec.astype("<f4").tobytes()
            rows.append({"model": enc.model_id, "text_hash": text_hash, "dim": len(vec), "vector": blob,
                         "created_at": now})
        db.execute(insert(Embedding.__table__), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--startups", type=int, default=10_000)
    parser.add_argument("--challenges", type=int, default=1_000)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        started = time.monotonic()
        counts = seed(args.startups, args.challenges)
        seeded = time.monotonic()
        encoded = embed_all()
        if get_engine().dialect.name == "postgresql":
            from portal.commands.data import reset_sequences

            reset_sequences(db.connection())
        db.commit()
        if get_engine().dialect.name == "postgresql":
            # Planner statistics, as after any bulk load (autovacuum would take a minute or more
            # to notice): without them PostgreSQL guesses two rows for a tag search that finds
            # a thousand, and plans the pages as a deployed database never would.
            with get_engine().connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        done = time.monotonic()
    print(f"seeded {counts} in {seeded - started:.1f} s; encoded {encoded} texts with "
          f"{app.config['MATCHER_MODEL']} in {done - seeded:.1f} s")


if __name__ == "__main__":
    main()
