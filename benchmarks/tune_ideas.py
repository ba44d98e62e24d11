"""Measure candidate improvements of the recommender's default by 5-fold CV on ``tune``.

Companion of ``benchmarks/tune_defaults.py`` (same cases, folds, metric, MMR and
held-out choice within a family); it never reads the ``test`` split.  Each *idea* is a
family of settings; every figure printed is held out (the fold's setting is chosen on
the other four folds), so a family's CV mean includes the optimism of choosing in it.

Ideas (the base grid of every family: BM25 on text + CC-CEDICT glosses or as written,
fusion {weighted, min-max, RRF}, semantic weight {.3, .5, .7, .85}, structured {0, .15},
cross-language offset {0, .1, .2}; centering on):

* ``sem``: the semantic signal.  ``e5`` (the current default's); ``e5+use`` and
  ``e5+use+minilm``: an ensemble encoder, i.e. the concatenation of each model's unit
  vector divided by sqrt(#models) (cosine = mean of the models' cosines), centred per
  language as one vector (what ``matcher.encoders.EnsembleEncoder`` stores); ``...-mean``:
  the mean of each model's separately centred cosines (not a single stored vector).
* ``bm25``: BM25 k1 / b.
* ``xlex``: the lexical weight of cross-language pairs scaled by {1, .5, 0}, the pair's
  fused score renormalised over the weights left (a lexical score cannot match across
  scripts, so it should not crush cross-language candidates).
* ``lexnorm``: the lexical score divided by its maximum over the candidates of the same
  language relation (same / cross) instead of over all candidates.
* ``prf``: dense Rocchio pseudo-relevance feedback, the query vector moved towards the
  mean of the first pass's top k startups.
* ``maxp``: passage-level semantic score, a startup's best sentence (or pair of
  sentences) against the challenge, blended with the whole-text cosine.
* ``zscore``: z-score fusion (``matcher.fusion.zscore_fusion``) added to the fusions.
* ``zx``: z-score fusion combined with ``xlex``, ``lexnorm``, ``prf`` and ``maxp``.
* ``zrel``: z-score fusion with the semantic and/or lexical column standardised within
  each language relation (same / cross) instead of over the whole pool.

Run::

    python benchmarks/tune_ideas.py --cache DIR [--ideas sem,bm25,xlex,lexnorm,prf,maxp,zscore,zx,zrel]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import tune_defaults as td

from matcher import HybridRanker, RankerConfig
from matcher.centering import LanguageCentering
from matcher.dense import unit_rows
from matcher.diversity import mmr
from matcher.fusion import FUSIONS

ENSEMBLES = {
    "e5": ("multilingual-e5-small",),
    "e5+use": ("multilingual-e5-small", "use-multilingual"),
    "e5+use+minilm": ("multilingual-e5-small", "use-multilingual", "minilm+cedict"),
}


@dataclass(frozen=True)
class Idea:
    sem: str = "e5"
    lex: str = "cedict"  # key of the lexical matrices
    fusion: str = "minmax"
    weights: tuple[float, float, float] = (0.5, 0.35, 0.15)
    cross: float = 0.0
    xlex: float = 1.0
    lexnorm: str = "all"
    prf: tuple[int, float] = (0, 0.0)  # (top k, beta): Rocchio on the centred vectors
    zrel: str = ""  # columns ("s", "l", "sl") z-scored within each language relation


    def label(self) -> str:
        w = "/".join(f"{x:g}" for x in self.weights)
        extra = ""
        if self.xlex != 1.0:
            extra += f" xlex={self.xlex:g}"
        if self.prf[0]:
            extra += f" prf={self.prf[0]}x{self.prf[1]:g}"
        if self.zrel:
            extra += f" zrel={self.zrel}"
        if self.lexnorm != "all":
            extra += f" lexnorm={self.lexnorm}"
        return f"{self.sem} lex={self.lex} {self.fusion} w={w} cross={self.cross:g}{extra}"


class IdeaScorer(td.Scorer):
    def __init__(self, data: td.Data, vectors: dict[str, td.Vectors]) -> None:
        super().__init__(data, vectors)
        self.sems: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.qvecs: dict[str, np.ndarray] = {}
        self.lex: dict[str, np.ndarray] = {
            "plain": data.lexical[None], "cedict": data.lexical["cedict"]
        }
        ql = [c.language for c in data.cases.challenges]
        pl = [s.language for s in data.cases.startups]
        for name, members in ENSEMBLES.items():
            if not all(m in vectors for m in members):
                continue
            scale = 1.0 / np.sqrt(len(members))
            q = np.hstack([unit_rows(vectors[m].query) * scale for m in members])
            p = np.hstack([unit_rows(vectors[m].passage) * scale for m in members])
            centre = LanguageCentering.fit({"query": (q, ql), "passage": (p, pl)})
            q, p = centre.transform(q, ql, "query"), centre.transform(p, pl, "passage")
            self.sems[name] = (q.astype(np.float64) @ p.T.astype(np.float64), p)
            self.qvecs[name] = q
            if len(members) > 1:
                cos = np.mean([self.cosine(m, True)[0] for m in members], axis=0)
                self.sems[name + "-mean"] = (cos, p)

    def add_maxp(self, name: str, path: Path, gammas: tuple[float, ...]) -> None:
        """Passage-level semantic scores (MaxP): a startup's best chunk's cosine with the
        challenge, blended with the whole-text cosine: ``g * doc + (1 - g) * maxp``."""
        d = self.data
        if not path.exists():
            encode_chunks(d, path, pair="2sent" in path.name)
        saved = np.load(path)
        chunks, owner = saved["v"], saved["owner"]
        raw = self.vectors["multilingual-e5-small"].query
        ql = [c.language for c in d.cases.challenges]
        cl = [d.cases.startups[o].language for o in owner.tolist()]
        centre = LanguageCentering.fit({"query": (raw, ql), "passage": (chunks, cl)})
        q = centre.transform(raw, ql, "query").astype(np.float64)
        c = centre.transform(chunks, cl, "passage").astype(np.float64)
        sims = q @ c.T
        maxp = np.full((q.shape[0], len(d.cases.startups)), -1.0)
        for j, o in enumerate(owner.tolist()):
            maxp[:, o] = np.maximum(maxp[:, o], sims[:, j])
        doc, pvecs = self.sems["e5"]
        for g in gammas:
            self.sems[f"{name} g={g:g}"] = (g * doc + (1 - g) * maxp, pvecs)

    def add_lexical(self, key: str, params: dict[str, Any], translation: str | None) -> None:
        d = self.data
        cfg = RankerConfig(
            weights={"lexical": 1.0}, diversity=0.0, explain_sentences=False,
            translation=translation, lexical_params=params,
        )
        ranker = HybridRanker(cfg, None).fit(d.cases.startups)
        lex = np.zeros(d.cross.shape)
        for i, challenge in enumerate(d.cases.challenges):
            scored = ranker.score(challenge)
            lex[i, scored.pool] = scored.components[:, 1]
        self.lex[key] = lex

    def ranking(self, setting: Any, row: int, *, diversity: bool = True) -> list[str]:
        s: Idea = setting
        d = self.data
        cos, pvecs = self.sems[s.sem]
        cross = d.cross[row]
        sem = np.clip(cos[row] + s.cross * cross, 0.0, 1.0)
        lex = self.lex[s.lex][row].copy()
        if s.lexnorm == "relation":
            for mask in (cross, ~cross):
                top = lex[mask].max() if mask.any() else 0.0
                if top > 0:
                    lex[mask] = lex[mask] / top
        comps = np.column_stack([sem, lex, d.structured[row]])
        w = np.array(s.weights)
        fused = FUSIONS[s.fusion](comps, w, rrf_k=60)
        if s.zrel:
            # z-score fusion with the chosen columns standardised within each relation.
            z = np.zeros_like(comps)
            for col in range(3):
                groups = (cross, ~cross) if "sl"[col:col + 1] and "sl"[col] in s.zrel else (np.ones_like(cross),)
                for g in groups:
                    g = g.astype(bool)
                    if g.sum() < 2:
                        continue
                    x = comps[g, col]
                    sd = x.std()
                    z[g, col] = (x - x.mean()) / sd if sd > 1e-12 else 0.0
            live = w * (comps.std(axis=0) > 1e-12)
            fused = 1 / (1 + np.exp(-(z @ w) / live.sum()))
        if s.xlex != 1.0 and cross.any():
            w2 = w * np.array([1.0, s.xlex, 1.0])
            fused[cross] = FUSIONS[s.fusion](comps, w2, rrf_k=60)[cross] * 1.0
        order = np.lexsort((np.arange(fused.size), -fused))
        if s.prf[0]:
            k, beta = s.prf
            q = self.qvecs[s.sem][row] + beta * pvecs[order[:k]].mean(axis=0)
            q = q / np.linalg.norm(q)
            comps[:, 0] = np.clip(pvecs.astype(np.float64) @ q + s.cross * cross, 0.0, 1.0)
            fused = FUSIONS[s.fusion](comps, w, rrf_k=60)
            order = np.lexsort((np.arange(fused.size), -fused))
        if not diversity:
            return [self.keys[j] for j in order[: td.K]]
        head = order[: td.DIVERSITY_DEPTH]
        picked = head[mmr(fused[head], pvecs[head], td.DIVERSITY, td.K, threshold=td.DIVERSITY_THRESHOLD)]
        return [self.keys[j] for j in picked]


def encode_chunks(data: td.Data, path: Path, *, pair: bool) -> None:
    """Encode every startup's sentences (or pairs of consecutive sentences) with e5."""
    from matcher import get_encoder
    from matcher.text import split_sentences

    texts, owner = [], []
    for i, item in enumerate(data.cases.startups):
        sentences = split_sentences(item.text, max_sentences=40, max_chars=400) or [item.text]
        if pair:
            sentences = [" ".join(sentences[j : j + 2]) for j in range(0, len(sentences), 2)]
        texts += sentences
        owner += [i] * len(sentences)
    vectors = get_encoder("multilingual-e5-small").encode(texts, role="passage", batch_size=32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, v=np.asarray(vectors, np.float32), owner=np.array(owner))


def base_grid(
    sem: str, lexes: tuple[str, ...] = ("plain", "cedict"), fusions: tuple[str, ...] = td.FUSION_NAMES,
    **extra: Any,
) -> list[Idea]:
    out = []
    for lex, fusion, sw, st, cross in itertools.product(
        lexes, fusions, td.SEM_WEIGHTS, td.STRUCT_WEIGHTS, td.CROSS_OFFSETS
    ):
        lw = round(1.0 - sw - st, 4)
        if lw < 0:
            continue
        out.append(Idea(sem, lex, fusion, (sw, lw, st), cross, **extra))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--ideas", default="sem,bm25,xlex,lexnorm,prf,maxp,zscore,zx,zrel")
    args = ap.parse_args()
    data = td.load(td.CASES)
    factories = td._encoder_factories(None)
    vectors = {
        n: td.encode(n, factories[n], data.cases, Path(args.cache))
        for n in ("multilingual-e5-small", "use-multilingual", "minilm+cedict")
    }
    scorer = IdeaScorer(data, vectors)
    parts = td.folds(data, 5, td.SEED)
    ideas = args.ideas.split(",")
    print(f"{'family (CV on tune, held out)':64} {'all':>6} {'en-en':>6} {'zh-zh':>6} {'cross':>6}")

    def fixed(label: str, setting: Idea) -> None:
        row = td.summarize(scorer.per_case(setting, data.tune))
        print(f"{label:64} {td.fmt(row)}  (fixed, no choice)")

    def family(label: str, settings: list[Idea]) -> None:
        row, picks = td.cross_validate(scorer, settings, parts, False)
        common = max(set(picks), key=picks.count)
        print(f"{label:64} {td.fmt(row)}  {picks.count(common)}/5: {common}", flush=True)

    fixed("BM25 alone (texts as written)", Idea("e5", "plain", "weighted", (0.0, 1.0, 0.0)))
    fixed("min-max default before (e5, cedict, minmax .5/.35/.15)", Idea())
    family("e5 + BM25, fusion {weighted, min-max, RRF} (grid before)",
           base_grid("e5", fusions=("weighted", "minmax", "rrf")))
    family("e5 + BM25, fusion {weighted, min-max, RRF, z-score}", base_grid("e5"))
    if "sem" in ideas:
        for sem in scorer.sems:
            if sem == "e5":
                continue
            fixed(f"{sem} alone (dense only)", Idea(sem, "cedict", "weighted", (1.0, 0.0, 0.0)))
            family(f"{sem} + BM25", base_grid(sem))
    if "bm25" in ideas:
        for k1, b in ((0.9, 0.4), (1.2, 0.3), (1.5, 0.75), (2.0, 0.75)):
            key = f"cedict k1={k1} b={b}"
            scorer.add_lexical(key, {"k1": k1, "b": b}, "cedict")
            lone = Idea("e5", key, "weighted", (0.0, 1.0, 0.0))
            row = td.summarize(scorer.per_case(lone, data.tune, diversity=False))
            print(f"{'BM25+cedict alone ' + key:64} {td.fmt(row)}")
        keys = tuple(k for k in scorer.lex if k.startswith("cedict"))
        family("e5 + BM25(+cedict) k1/b chosen", base_grid("e5", keys))
    if "xlex" in ideas:
        for sem in ("e5", "e5+use"):
            settings = [s for x in (1.0, 0.5, 0.0) for s in base_grid(sem, xlex=x)]
            family(f"{sem} + BM25, cross-language lexical weight {{1,.5,0}}", settings)
    if "lexnorm" in ideas:
        for sem in ("e5", "e5+use"):
            settings = [s for n in ("all", "relation") for s in base_grid(sem, lexnorm=n)]
            family(f"{sem} + BM25, lexical max per relation {{all, relation}}", settings)
    if "maxp" in ideas:
        for name, fname in (("maxp-2sent", "e5_chunks2.npz"), ("maxp-sent", "e5_sent.npz")):
            scorer.add_maxp(name, Path(args.cache) / fname, (0.0, 0.5, 0.75))
        for sem in [k for k in scorer.sems if k.startswith("maxp")]:
            fixed(f"{sem} alone (dense only)", Idea(sem, "cedict", "weighted", (1.0, 0.0, 0.0)))
            fixed(f"{sem} in the old default's fusion", Idea(sem))
        settings = [s for sem in scorer.sems if sem.startswith("maxp-2sent") for s in base_grid(sem)]
        family("e5 MaxP (2-sentence chunks) blend {0,.5,.75} + BM25", settings + base_grid("e5"))
    if "zscore" in ideas:
        fz = (*td.FUSION_NAMES, "zscore")
        fixed("old default with z-score fusion", Idea(fusion="zscore"))
        family("e5 + BM25, fusion incl. z-score", base_grid("e5", fusions=fz))
        family("e5 + BM25, z-score fusion only", base_grid("e5", fusions=("zscore",)))
        for sem in ("e5+use-mean", "e5+use+minilm-mean"):
            family(f"{sem} + BM25, fusion incl. z-score", base_grid(sem, fusions=fz))
    if "zx" in ideas:
        fz = ("zscore",)
        settings = [s for x in (1.0, 0.5, 0.0) for s in base_grid("e5", fusions=fz, xlex=x)]
        family("e5 + BM25, z-score, cross-language lexical weight {1,.5,0}", settings)
        settings = [s for n in ("all", "relation") for s in base_grid("e5", fusions=fz, lexnorm=n)]
        family("e5 + BM25, z-score, lexical max per relation", settings)
        settings = [s for p in ((0, 0.0), (3, 0.5), (5, 1.0)) for s in base_grid("e5", fusions=fz, prf=p)]
        family("e5 + BM25, z-score, dense PRF {off, 3x.5, 5x1}", settings)
        scorer.add_maxp("maxp-sent", Path(args.cache) / "e5_sent.npz", (0.5, 0.75))
        scorer.add_maxp("maxp-2sent", Path(args.cache) / "e5_chunks2.npz", (0.5, 0.75))
        for sem in ("maxp-sent g=0.75", "maxp-2sent g=0.75", "e5+use+minilm-mean"):
            fixed(f"{sem} in the z-score old-default weights", Idea(sem, fusion="zscore"))
        settings = [s for sem in ("e5", "maxp-sent g=0.5", "maxp-sent g=0.75") for s in base_grid(sem, fusions=fz)]
        family("e5 MaxP (sentences) blend {1,.75,.5} + BM25, z-score", settings)
    if "zrel" in ideas:
        for zrel in ("s", "l", "sl"):
            fixed(f"old default weights, z-score within relation ({zrel})", Idea(fusion="zscore", zrel=zrel))
        settings = [s for z in ("", "s", "l", "sl") for s in base_grid("e5", fusions=("zscore",), zrel=z)]
        family("e5 + BM25, z-score, per-relation standardisation {none,s,l,sl}", settings)
    if "prf" in ideas:
        fixed("old default + PRF 3x0.5", Idea(prf=(3, 0.5)))
        fixed("old default + PRF 5x1", Idea(prf=(5, 1.0)))
        settings = [s for p in ((0, 0.0), (3, 0.5), (3, 1.0), (5, 1.0)) for s in base_grid("e5", prf=p)]
        family("e5 + BM25, dense Rocchio PRF {off, 3x.5, 3x1, 5x1}", settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
