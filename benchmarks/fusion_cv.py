"""Fusion study on the dev cases with held-out (leave-one-challenge-out) figures.

Run: ``python benchmarks/fusion_cv.py [--encoder use-multilingual] [--translation cedict]
[--encoder-translation] [--json out.json]``.

``--translation`` indexes and queries every Chinese text with the English glosses of its
words (``matcher.translate``, as ``RankerConfig.translation``); ``--encoder-translation``
also encodes the English view of Chinese texts (``TranslatingEncoder``, for an English-only
encoder such as the bundled MiniLM).

For every challenge the component scores against all startups are computed once:

* semantic: cosine of language-centred document vectors (``dense_text``), and the
  sentence-level alternative (max cosine over sentence pairs, centred per language);
* lexical: BM25 over the raw query, and over the query expanded with the bilingual
  glossary (``matcher.glossary``), each divided by the query's best score;
* structured: ``matcher.structured`` as in the ranker.

A family of fusion settings is then scored without re-encoding (weighted fusion with a
grid of weights and cross-language offsets, min-max scaling, RRF with a grid of k).
Each *family* is a candidate design; its free parameters are chosen by
leave-one-challenge-out cross-validation: for each challenge the setting with the best
mean nDCG@10 on the other 35 is applied to it, so every reported figure is held out.
(MMR diversity is left out here; the final configuration is re-measured with
``matcher.evaluation.evaluate``, which includes it.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from matcher import BM25Index, dense_text, get_encoder
from matcher.centering import LanguageCentering
from matcher.evaluation import load_cases, score_rankings
from matcher.glossary import expand_query
from matcher.metrics import bootstrap_ci, ndcg_at_k
from matcher.structured import StructuredIndex
from matcher.text import language_family, split_sentences
from matcher.translate import get_translator, with_translation

CASES = ROOT / "data" / "eval" / "dev_cases.json"


def components(
    enc_name: str, translation: str | None = None, encoder_translation: bool = False
) -> dict[str, Any]:
    cases = load_cases(CASES)
    enc = with_translation(get_encoder(enc_name), translation if encoder_translation else None)
    translator = get_translator(translation)

    def lexical_text(text: str) -> str:
        return translator.bilingual(text) if translator is not None else text

    qs, ps = cases.challenges, cases.startups
    ql = [c.language for c in qs]
    pl = [s.language for s in ps]
    qv = enc.encode([dense_text(c.title, c.text) for c in qs], role="query")
    pv = enc.encode([dense_text(s.title, s.text) for s in ps], role="passage")
    centre = LanguageCentering.fit({"query": (qv, ql), "passage": (pv, pl)})
    cos = centre.transform(qv, ql, "query") @ centre.transform(pv, pl, "passage").T
    cos_raw = qv @ pv.T

    # sentence level
    def sents(item):  # type: ignore[no-untyped-def]
        return [item.title] * bool(item.title) + split_sentences(item.text, max_sentences=12)

    qs_s = [sents(c) for c in qs]
    ps_s = [sents(s) for s in ps]
    flat_q = [t for s in qs_s for t in s]
    flat_p = [t for s in ps_s for t in s]
    vq = enc.encode(flat_q, role="query")
    vp = enc.encode(flat_p, role="passage")
    lq = [ql[i] for i, s in enumerate(qs_s) for _ in s]
    lp = [pl[i] for i, s in enumerate(ps_s) for _ in s]
    sc = LanguageCentering.fit({"query": (vq, lq), "passage": (vp, lp)})
    sim = sc.transform(vq, lq, "query") @ sc.transform(vp, lp, "passage").T
    qo = np.cumsum([0] + [len(s) for s in qs_s])
    po = np.cumsum([0] + [len(s) for s in ps_s])
    maxsim = np.zeros((len(qs), len(ps)))
    for i in range(len(qs)):
        block = sim[qo[i] : qo[i + 1]]
        for j in range(len(ps)):
            b = block[:, po[j] : po[j + 1]]
            # mean over query sentences of their best match (ColBERT-style at sentence level)
            maxsim[i, j] = float(b.max(axis=1).mean())

    bm = BM25Index().fit([lexical_text(s.text) for s in ps])
    lex = np.zeros((len(qs), len(ps)))
    lexg = np.zeros((len(qs), len(ps)))
    for i, c in enumerate(qs):
        query = lexical_text(c.text)
        for out, text in ((lex, query), (lexg, expand_query(query))):
            raw = bm.score(text)
            out[i] = raw / raw.max() if raw.max() > 0 else 0.0
    st = StructuredIndex().fit(ps)
    struct = np.stack([st.score(c, np.arange(len(ps))) for c in qs])
    cross = np.array([[language_family(a) != language_family(b) for b in pl] for a in ql])
    return {
        "cases": cases,
        "cos": cos,
        "cos_raw": cos_raw,
        "maxsim": maxsim,
        "lex": lex,
        "lexg": lexg,
        "struct": struct,
        "cross": cross,
    }


def ndcgs(scores: np.ndarray, data: dict[str, Any]) -> np.ndarray:
    cases = data["cases"]
    keys = [s.key for s in cases.startups]
    out = []
    for i, c in enumerate(cases.challenges):
        if c.key not in cases.qrels:
            out.append(np.nan)
            continue
        order = np.lexsort((np.arange(len(keys)), -scores[i]))
        out.append(ndcg_at_k([keys[j] for j in order[:10]], cases.qrels[c.key], 10))
    return np.array(out)


def rank01(x: np.ndarray, k: float) -> np.ndarray:
    """RRF contribution per row: 1/(k + rank), 0 where x <= 0."""
    order = np.argsort(-x, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(x.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, x.shape[1] + 1)
    return np.where(x > 0, 1.0 / (k + ranks), 0.0)


def minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    return np.where(hi > lo, (x - lo) / np.where(hi > lo, hi - lo, 1), 0.0)


def families(d: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """name -> {setting description -> fused scores (challenges x startups)}."""
    cross = d["cross"]
    fam: dict[str, dict[str, np.ndarray]] = {}
    ws = [0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
    offsets = [0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]

    def sem_of(kind: str) -> np.ndarray:
        if kind == "doc":
            return d["cos"]
        if kind == "maxsim":
            return d["maxsim"]
        return 0.5 * (d["cos"] + d["maxsim"])

    fam["dense (doc, centred)"] = {"-": d["cos"]}
    fam["lexical (BM25)"] = {"-": d["lex"]}
    fam["lexical + glossary"] = {"-": d["lexg"]}
    fam["dense (sentence max-sim)"] = {"-": d["maxsim"]}
    fam["current default (w .6/.25/.15, cross .2)"] = {
        "-": 0.6 * np.clip(d["cos"] + 0.2 * cross, 0, 1) + 0.25 * d["lex"] + 0.15 * d["struct"]
    }
    for sem_kind, lex_kind in itertools.product(("doc", "maxsim", "mix"), ("lex", "lexg")):
        sem = sem_of(sem_kind)
        lex = d[lex_kind]
        grid = {}
        for w, off, ws_ in itertools.product(ws, offsets, (0.0, 0.15)):
            wl = 1 - w - ws_
            if wl < 0:
                continue
            s = w * np.clip(sem + off * cross, 0, 1) + wl * lex + ws_ * d["struct"]
            grid[f"w_sem={w} w_struct={ws_} cross={off}"] = s
        fam[f"weighted {sem_kind}+{lex_kind} (CV)"] = grid
        grid = {}
        for w, off, ws_ in itertools.product(ws, offsets, (0.0, 0.05, 0.1)):
            wl = 1 - w - ws_
            if wl < 0:
                continue
            s = (
                w * minmax(np.clip(sem + off * cross, 0, 1))
                + wl * minmax(lex)
                + ws_ * minmax(d["struct"])
            )
            grid[f"w_sem={w} w_struct={ws_} cross={off}"] = s
        fam[f"minmax {sem_kind}+{lex_kind} (CV)"] = grid
        grid = {}
        for w, k in itertools.product(ws, (1, 5, 10, 20, 40, 60)):
            s = w * rank01(sem, k) + (1 - w) * rank01(lex, k)
            grid[f"w_sem={w} k={k}"] = s
        fam[f"rrf {sem_kind}+{lex_kind} (CV)"] = grid
    return fam


def loo(grid: dict[str, np.ndarray], d: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Leave-one-challenge-out: each challenge is scored with the setting best on the rest.

    Returns:
        ``(held-out score matrix, chosen setting per scored challenge)``: row ``i`` of the
        matrix is challenge ``i``'s scores under the setting chosen without it.
    """
    names = list(grid)
    table = np.stack([ndcgs(grid[n], d) for n in names])  # settings x challenges
    valid = ~np.isnan(table[0])
    held = np.zeros_like(next(iter(grid.values())))
    chosen = []
    for i in np.flatnonzero(valid):
        others = valid.copy()
        others[i] = False
        best = int(np.argmax(table[:, others].mean(axis=1)))
        held[i] = grid[names[best]][i]
        chosen.append(names[best])
    return held, chosen


SPLITS = ("en-en", "zh-zh", "cross-lingual")


def measure(scores: np.ndarray, d: dict[str, Any], *, ci: bool = True) -> dict[str, Any]:
    """nDCG@10 of a score matrix overall (with its 95 % CI unless ``ci`` is False) and per
    language split, with the metric code of ``flask matcher evaluate`` (``score_rankings``)."""
    cases = d["cases"]
    keys = [s.key for s in cases.startups]
    rows = [i for i, c in enumerate(cases.challenges) if c.key in cases.qrels]
    rankings = [
        [keys[j] for j in np.lexsort((np.arange(len(keys)), -scores[i]))[:10]] for i in rows
    ]
    overall, slices = score_rankings(cases, [cases.challenges[i] for i in rows], rankings, 10)
    values = overall["ndcg@10"]
    out: dict[str, Any] = {"ndcg@10": float(np.mean(values))}
    if ci:
        out["ci"] = list(bootstrap_ci(values, 0.95, 1000, 0))
    for split in SPLITS:
        out[split] = float(np.mean(slices[split]["ndcg@10"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default="use-multilingual")
    ap.add_argument("--translation", default=None, help="dictionary translation, e.g. cedict")
    ap.add_argument("--encoder-translation", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    d = components(args.encoder, args.translation, args.encoder_translation)
    report = {}
    print(
        f"encoder {args.encoder}; translation {args.translation or 'none'}"
        f"{' (encoder too)' if args.encoder_translation else ''}; "
        "nDCG@10 held out (leave-one-challenge-out)"
    )
    print(f"{'family':46} {'nDCG@10':>7} {'95% CI':>14} {'en-en':>6} {'zh-zh':>6} {'cross':>6}"
          "  most chosen")
    for name, grid in families(d).items():
        held, chosen = loo(grid, d)
        m = measure(held, d)
        common = max(set(chosen), key=chosen.count) if chosen else "-"
        print(
            f"{name:46} {m['ndcg@10']:7.3f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}] "
            + " ".join(f"{m[s]:6.3f}" for s in SPLITS)
            + f"  {common} ({chosen.count(common)}/{len(chosen)})"
        )
        report[name] = m | {
            "chosen": common,
            "chosen_count": chosen.count(common),
            "in_sample_best": float(max(np.nanmean(ndcgs(s, d)) for s in grid.values())),
        }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
