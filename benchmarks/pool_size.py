"""Does a pair's score mean the same whatever the number of startups it was ranked among?

The score bands (``matcher/data/score_bands.json``) were cut on the real cases, where each
challenge ranks all 194 companies. A new lab has a dozen startups; a mature one has
thousands, of which the ranker scores a pool of the ~300-600 closest. This script ranks
each labelled challenge of a split among random subsets of the companies (its labelled
companies always among them, so their scores can be read) and reports, per pool size:

* the band of the relevant pairs (grade 1-2) and of the unlabelled ones;
* how far a pair's shown number (0-100) moves from its number among all the companies.

Nothing is tuned here: it measures the configuration as it is.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pool_size.py [--split tune] \
        [--sizes 12,25,50,100] [--seeds 5] [--config zscore_reference=null]

``--cost`` instead times what reading each signal's statistics over the whole corpus adds
to a ranking (``HybridRanker.rank``, one thread, the default preset, the synthetic corpora
of ``benchmarks/bench.py``), interleaved with the same ranking standardised over the pool
as before 7 Dec 2026.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matcher
from matcher import bands, evaluation
from matcher.evaluation.run import _centred, _encode
from matcher.metrics import ndcg_at_k
from matcher.ranker import HybridRanker
from portal.labels import shown_number  # the number a page shows


def cost() -> None:
    """p50 / p99 ms of a ranking with and without the whole-corpus statistics."""
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench  # the same synthetic corpora and thread pinning as make bench

    import matcher.ranker as ranker_module
    from matcher.ranker import HybridRanker as Ranker

    preset = matcher.preset_for(matcher.DEFAULT_ENCODER)
    mapping = dict(preset["ranker"]) | {"translation": preset.get("translation"), "explain_sentences": False}
    config = matcher.RankerConfig.from_mapping(mapping)
    texts = [" ".join(q.split()[:40]) for q in bench._synthetic_docs(200, seed=5)]
    qvecs = bench.embedding_like(200, seed=8)
    whole_corpus, sample_of = Ranker._reference, ranker_module._reference_sample
    none = np.zeros(0, dtype=np.int64)
    print("| candidates | whole corpus (now): p50 / p99 ms | the pool only (before): p50 / p99 ms |")
    print("| --- | --- | --- |")
    for n in (1_000, 10_000):
        docs = bench._synthetic_docs(n, seed=4)
        items = [matcher.Item(f"c{i}", d, title=d[:40]) for i, d in enumerate(docs)]
        ranker = Ranker(config, None).fit(items, bench.embedding_like(n, seed=2))
        queries = [matcher.Item(f"q{i}", t) for i, t in enumerate(texts)]
        times: dict[str, list[float]] = {"now": [], "before": []}
        with bench.Threads(1):
            for i, query in enumerate(queries):  # untimed: fills the shared caches
                ranker.rank(query, query_vector=qvecs[i], top_k=10)
            for _round in range(3):
                for mode in ("before", "now"):
                    # Before: no sample beside the pool and no reference (the pool's own
                    # statistics); the empty union left in the path costs a few µs.
                    now = mode == "now"
                    Ranker._reference = whole_corpus if now else (lambda *_a, **_k: None)  # type: ignore[method-assign]
                    ranker_module._reference_sample = sample_of if now else (lambda _n: none)
                    for i, query in enumerate(queries):
                        started = time.perf_counter()
                        ranker.rank(query, query_vector=qvecs[i], top_k=10)
                        times[mode].append((time.perf_counter() - started) * 1000)
            Ranker._reference = whole_corpus  # type: ignore[method-assign]
            ranker_module._reference_sample = sample_of
        now, before = (np.percentile(times[k], [50, 99]) for k in ("now", "before"))
        print(f"| {n:,} | {now[0]:.2f} / {now[1]:.2f} | {before[0]:.2f} / {before[1]:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="data/eval/real_cases.json")
    ap.add_argument("--split", default="tune")
    ap.add_argument("--sizes", default="12,25,50,100")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--model", default=os.environ.get("MATCHER_MODEL", matcher.DEFAULT_ENCODER))
    ap.add_argument("--config", action="append", default=[],
                    help="key=value overrides of the preset (value read as JSON when it parses)")
    ap.add_argument("--cost", action="store_true", help="time the whole-corpus statistics instead")
    args = ap.parse_args()
    if args.cost:
        cost()
        return

    import json

    preset = dict(matcher.PRESETS[args.model]["ranker"])
    if matcher.PRESETS[args.model].get("translation"):
        preset["translation"] = matcher.PRESETS[args.model]["translation"]
    for item in args.config:
        key, _, value = item.partition("=")
        try:
            preset[key] = json.loads(value)
        except json.JSONDecodeError:
            preset[key] = value
    config = matcher.RankerConfig.from_mapping(preset)
    config = dataclasses.replace(config, explain_sentences=False, diversity=0.0, min_score=0.0,
                                 max_key_terms=0)
    translation = matcher.PRESETS[args.model].get("translation")
    encoder = matcher.with_translation(
        matcher.get_encoder(args.model),
        translation if matcher.PRESETS[args.model].get("encoder_translation") else None,
    )
    cases = evaluation.load_cases(args.cases)
    cases = cases.only(args.split) if cases.splits else cases
    calibration = bands.load_calibration()
    centering = matcher.PRESETS[args.model].get("centering", False)
    vectors = _encode(cases, encoder, encoder)
    qlangs = [c.language for c in cases.challenges]
    plangs = [s.language for s in cases.startups]
    startups = list(cases.startups)
    index = {s.key: i for i, s in enumerate(startups)}
    n_all = len(startups)
    centred: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def scores_among(members: list[int], ci: int) -> dict[str, float]:
        # Centred as the app centres a lab's corpus: on its own startups (and the challenges),
        # so a dozen startups are centred on their own mean, not on the 194's.
        key = tuple(members)
        if key not in centred:
            if len(centred) > 4:
                centred.clear()
            centred[key] = _centred(
                vectors._replace(passage=vectors.passage[members]), qlangs, [plangs[i] for i in members], centering
            )
        qvecs, pvecs = centred[key]
        ranker = HybridRanker(config, encoder).fit([startups[i] for i in members], pvecs)
        return {m.key: float(m.score)
                for m in ranker.rank(cases.challenges[ci], query_vector=qvecs[ci], top_k=len(members))}

    labelled = [(ci, c) for ci, c in enumerate(cases.challenges) if cases.qrels.get(c.key)]
    full = {ci: scores_among(list(range(n_all)), ci) for ci, _c in labelled}
    sizes = [int(s) for s in args.sizes.split(",")] + [n_all]
    rows = []
    for size in sizes:
        counts: dict[str, dict[str, int]] = {"relevant": defaultdict(int), "other": defaultdict(int)}
        moves: list[int] = []
        rel_moves: list[int] = []
        ndcgs: list[float] = []
        for seed in range(args.seeds if size < n_all else 1):
            rng = np.random.default_rng(20261207 + seed)
            for ci, challenge in labelled:
                labels = cases.qrels[challenge.key]
                must = sorted(index[k] for k in labels if k in index)
                if size < n_all:
                    rest = [i for i in range(n_all) if i not in set(must)]
                    extra = rng.choice(rest, size=max(0, size - len(must)), replace=False).tolist()
                    members = sorted(set(must) | set(extra))
                    got = scores_among(members, ci)
                else:
                    got = full[ci]
                ranked = sorted(got, key=lambda key: -got[key])
                ndcgs.append(ndcg_at_k(ranked, {k: float(g) for k, g in labels.items()}, 10))
                for key, score in got.items():
                    kind = "relevant" if labels.get(key, 0) > 0 else "other"
                    counts[kind][calibration.band(score).key] += 1
                    move = abs(shown_number(score) - shown_number(full[ci][key]))
                    moves.append(move)
                    if kind == "relevant":
                        rel_moves.append(move)
        rows.append((size, counts, moves, rel_moves, ndcgs))

    print(f"{args.cases} [{args.split}], {len(labelled)} labelled challenges, {n_all} companies; "
          f"encoder {encoder.model_id}; fusion {config.fusion}"
          + (f"; overrides {', '.join(args.config)}" if args.config else ""))
    print("| startups in the pool | relevant pairs: strong / possible / weak | other pairs: strong / possible "
          "| shown number moved vs all (mean / p90), relevant pairs | all pairs | nDCG@10 in the pool |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size, counts, moves, rel_moves, ndcgs in rows:
        rel, oth = counts["relevant"], counts["other"]
        n_rel, n_oth = sum(rel.values()), sum(oth.values())
        print(f"| {size if size < n_all else f'{size} (all)'} "
              f"| {rel['strong'] / n_rel:.2f} / {rel['possible'] / n_rel:.2f} / {rel['weak'] / n_rel:.2f} "
              f"| {oth['strong'] / n_oth:.3f} / {oth['possible'] / n_oth:.3f} "
              f"| {np.mean(rel_moves):.1f} / {np.percentile(rel_moves, 90):.0f} "
              f"| {np.mean(moves):.1f} / {np.percentile(moves, 90):.0f} | {np.mean(ndcgs):.3f} |")


if __name__ == "__main__":
    main()
