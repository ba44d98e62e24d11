#!/usr/bin/env python3
"""Merge evaluation-case part files (data/eval/parts/*.json) into data/eval/real_cases.json.

Each part has the same keys as real_cases.json (challenges, startups, qrels) and ids that do
not clash with it. Challenges without a ``split`` get one by the seeded procedure written in
data/eval/README.md, applied to each part's new ids on their own (ids already split keep
theirs). The part file is removed once merged, so every case lives in one file.

    .venv/bin/python scripts/merge_eval_parts.py            # merge every part
    .venv/bin/python scripts/merge_eval_parts.py --check    # say what would change, write nothing
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "data" / "eval" / "real_cases.json"
PARTS = ROOT / "data" / "eval" / "parts"
SEED = 20261204


def split_ids(ids: list[str]) -> dict[str, str]:
    """The README's procedure: sort, shuffle with the seed, the first two thirds are ``tune``."""
    order = sorted(ids)
    random.Random(SEED).shuffle(order)
    n_tune = round(len(order) * 2 / 3)
    return {cid: ("tune" if i < n_tune else "test") for i, cid in enumerate(order)}


def merge(cases: dict, part: dict, name: str) -> None:
    for key in ("challenges", "startups"):
        known = {item["id"] for item in cases[key]}
        clash = known & {item["id"] for item in part[key]}
        if clash:
            sys.exit(f"{name}: ids already in real_cases.json: {sorted(clash)[:5]}")
    unsplit = [c["id"] for c in part["challenges"] if not c.get("split")]
    splits = split_ids(unsplit)
    for challenge in part["challenges"]:
        challenge.setdefault("split", splits.get(challenge["id"]))
    cases["challenges"] += part["challenges"]
    cases["startups"] += part["startups"]
    cases["qrels"] += part["qrels"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only")
    args = parser.parse_args()
    cases = json.loads(CASES.read_text(encoding="utf-8"))
    parts = sorted(PARTS.glob("*.json")) if PARTS.is_dir() else []
    for path in parts:
        part = json.loads(path.read_text(encoding="utf-8"))
        merge(cases, part, path.name)
        tune = sum(1 for c in part["challenges"] if c["split"] == "tune")
        print(f"{path.name}: {len(part['challenges'])} challenges ({tune} tune), "
              f"{len(part['startups'])} companies, {len(part['qrels'])} labels")
    if args.check or not parts:
        return
    cases["version"] = int(cases.get("version", 1)) + 1
    CASES.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for path in parts:
        path.unlink()
    total = cases["challenges"]
    print(f"real_cases.json: {len(total)} challenges "
          f"({sum(str(c.get('language', '')).startswith('zh') for c in total)} Chinese; "
          f"{sum(c.get('split') == 'test' for c in total)} test), {len(cases['startups'])} companies, "
          f"{len(cases['qrels'])} labels")


if __name__ == "__main__":
    main()
