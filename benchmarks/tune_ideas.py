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

Measured on 5 Dec 2026, evening (z-score fusion in the base grid of each; docs/matching.md §6):

* ``xq``: query translation for the dense signal.  Cross-language pairs are scored with
  e5 on the CC-CEDICT English view of the Chinese side (``xq``: the Chinese challenge's
  view against English startups; ``xqp``: also the Chinese startup's view against an
  English challenge), centred as English text, blended ``g * view + (1 - g) * as
  written`` with g in {1, .5}.
* ``slot``: an other-language slot: if fewer than n (1 or 2) candidates of the other
  language family are in the top 10, the best-fused ones are placed from rank r
  (10, 8, 5), for Chinese challenges only or for all.
* ``learn``: a learned linear fusion over per-candidate features (z-scored over the
  pool: e5 centred cosine, e5 on the English view for cross pairs, BM25 with glosses /
  as written, USE and MiniLM-CEDICT centred cosines, the cross-language indicator and
  its products with the scores; ``FEATURE_SETS``), fitted on the training folds'
  labels: pointwise or pairwise logistic regression (sklearn, L2, C chosen) or ListNet
  (a softmax over each challenge's candidates, L2).  The choice of feature set, C and
  loss is made by an inner 4-fold CV on the training folds (``nested_cv``), so the
  printed figures are held out; "fixed" rows fit one configuration per fold.
* ``ltf``: a transform of one column before z-scoring (lexical sqrt, log, rank, square;
  semantic square).
* ``mmr``: the MMR trade-off {0, .15, .3}.
* ``sym``: e5 with the challenges encoded in the passage role (symmetric similarity).

Measured on 6 Dec 2026 (docs/matching.md §6):

* ``lexv``: the lexical signal's words.  BM25 over the matcher's tokens with the English
  ones reduced by the Snowball stemmer (needs ``pip install snowballstemmer``, not a
  dependency of the application), as written or with the glosses; and BM25 plus
  lambda in {.25, .5, 1} times a second BM25 over ordered pairs of adjacent English
  tokens (the ``#1`` terms of Metzler & Croft's sequential dependence model).

Measured on 6 Dec 2026, evening (docs/matching.md §6):

* ``rm3``: lexical pseudo-relevance feedback (RM3, Abdul-Jaleel et al. 2004) on the
  default's BM25 (text + glosses).  The default's first pass (z-score .5/.35/.15, no
  MMR) gives the top k startups; their terms, weighted by ``tf / |d|`` times idf and by
  the startup's fused score, give an expansion query of the m best terms; the lexical
  column becomes ``BM25(query) / max + lambda * BM25(expansion) / max``.  ``from``
  chooses where the feedback startups come from: the whole list (``all``), or, for a
  Chinese challenge, only the English-writing startups and, for an English one, only
  the Chinese-writing ones (``other``: a bridge that gives the lexical signal words of
  the other language, which BM25 cannot otherwise match across scripts).

Measured on 6 Dec 2026, late evening (docs/matching.md §6):

* ``cjk``: how the lexical signal cuts Chinese.  The matcher indexes each Chinese run as
  single characters plus adjacent pairs; measured against pairs only, pairs + .5 x single
  characters, and each of these with every character read in one script (``fold``:
  OpenCC's ``hk2s``, so 衞/衛, 綫/線 and Simplified / Traditional forms meet; needs
  ``pip install opencc``).  ``--cases FILE`` runs the same on another cases file, such as
  the real cases with the Chinese companies' profiles turned into Simplified Chinese.
* ``mixlex``: BM25 as written for same-language pairs, BM25 on text + glosses for
  cross-language pairs (each over its maximum).
* ``title``: the challenge's title counted twice: the lexical column plus lambda in
  {.25, .5, 1} times BM25 of the title alone (with the glosses), a field boost.

Measured on 6 Dec 2026, night (docs/matching.md §6):

* ``hub``: a hubness correction.  Some startups' profiles are close to many challenges
  (broad, generic wording) and take top-ten places from specific ones; cross-domain
  similarity local scaling (CSLS, Conneau et al. 2018) scores a pair
  ``cos - alpha * r(s)``, where ``r(s)`` is the mean of the startup's k highest scores
  over a reference set of challenges (here the texts of the tune challenges, no
  labels; in the service it would be the open challenges), shifted so that the average
  startup's correction is 0.  Applied to the semantic column, the lexical column or
  both, alpha in {.5, 1}, k in {5, 10}.

Measured on 7 Dec 2026 (docs/matching.md §6):

* ``qpp``: a lexical weight that follows the challenge.  Each challenge's lexical weight is
  multiplied by ``exp(gamma * p)``, ``p`` a query-performance predictor read from the
  scores alone and standardised over the challenges (``IdeaScorer.add_predictors``:
  BM25's or the cosine's clarity, BM25's first-to-second ratio, their difference, the
  agreement of the two top tens), gamma in {+-.25, +-.5}.

Measured on 7 Dec 2026, evening (docs/matching.md §6):

* ``align``: a map from Chinese to English e5 space.  e5's Chinese and English texts
  are centred per language already; an orthogonal map (Procrustes) fitted on parallel
  texts that are not the cases (``parallel_pairs``: the interface's message catalogue,
  the Hong Kong glossary and a seeded sample of CC-CEDICT words, 5,861 pairs) turns
  the centred Chinese vectors towards their English counterparts.  A rotation keeps
  every same-language cosine as it was, so only cross-language pairs move.  The map is
  blended with the identity (alpha in {.5, 1}) and its cross-language cosines with the
  ones as written (g in {1, .5}).

Run::

    python benchmarks/tune_ideas.py --cache DIR [--cases FILE]
                                    [--ideas sem,bm25,xlex,lexnorm,prf,maxp,zscore,zx,zrel,
                                             xq,slot,learn,ltf,mmr,sym,lexv,rm3,cjk,title,mixlex,hub,qpp,align]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
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
    slot: tuple[int, int, str] = (0, 0, "")  # (rank, count, query family "zh"/"all"): other-language slot
    ltf: str = ""  # transform before fusion: lexical "sqrt", "log", "rank", "sq"; semantic "ssq"
    div: float = td.DIVERSITY  # MMR trade-off
    qpp: tuple[str, float] = ("", 0.0)  # (predictor, gamma): per-challenge lexical weight x exp(gamma * predictor)

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
        if self.ltf:
            extra += f" lex->{self.ltf}"
        if self.div != td.DIVERSITY:
            extra += f" mmr={self.div:g}"
        if self.slot[1]:
            extra += f" slot={self.slot[1]}@{self.slot[0]}/{self.slot[2]}"
        if self.qpp[1]:
            extra += f" qpp={self.qpp[0]}x{self.qpp[1]:g}"
        return f"{self.sem} lex={self.lex} {self.fusion} w={w} cross={self.cross:g}{extra}"


#: Per-candidate features of the learned fusion (each z-scored over a challenge's pool):
#: e5 = the default's centred e5 cosine; e5x = the same with cross-language pairs scored
#: on the CC-CEDICT English view (``add_views``); lex / lexp = BM25 with glosses / as
#: written; use / minilm = the other encoders' centred cosines; x = the pair crosses
#: languages (0/1, not z-scored); "x*f" = x times feature f.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "e5+lex": ("e5", "lex"),
    "e5+lex+x": ("e5", "lex", "x", "x*e5", "x*lex"),
    "e5x+lex+x": ("e5x", "lex", "x", "x*e5x", "x*lex"),
    "e5+e5x+lex+x": ("e5", "e5x", "lex", "x", "x*e5", "x*e5x", "x*lex"),
    "all": ("e5", "e5x", "lex", "lexp", "use", "minilm", "x", "x*e5", "x*e5x", "x*lex"),
}


@dataclass(frozen=True)
class Learned:
    """A linear fusion fitted on the labels of the challenges ``train`` (row indices):
    a regularised logistic regression, pointwise (relevant or not, weighted by grade) or
    pairwise (which of two candidates of the same challenge has the higher grade), or a
    listwise softmax (ListNet, Cao et al. 2007) over each challenge's candidates."""

    features: str
    c: float
    kind: str  # "point" | "pair" | "list"
    train: tuple[int, ...]

    def label(self) -> str:
        return f"learned {self.kind} {self.features} C={self.c:g}"


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

    def add_views(self, view: td.Vectors, gammas: tuple[float, ...] = (1.0, 0.5)) -> None:
        """Cross-language pairs scored in English: e5 on the CC-CEDICT English view of
        the Chinese side (the query's for a Chinese challenge, ``xq``; also the
        startup's for an English challenge, ``xqp``), centred as English text with the
        centering fitted on the texts as written; blended ``g * view + (1 - g) * as
        written`` on cross-language pairs only."""
        d = self.data
        base = self.vectors["multilingual-e5-small"]
        ql = [c.language for c in d.cases.challenges]
        pl = [s.language for s in d.cases.startups]
        centre = LanguageCentering.fit({"query": (unit_rows(base.query), ql), "passage": (unit_rows(base.passage), pl)})
        qx = centre.transform(unit_rows(view.query), "en", "query").astype(np.float64)
        px = centre.transform(unit_rows(view.passage), "en", "passage").astype(np.float64)
        cos, pvecs = self.sems["e5"]
        q, p = self.qvecs["e5"].astype(np.float64), pvecs.astype(np.float64)
        zh_q = np.array([td.is_zh(d, r) for r in range(len(ql))])
        xq = np.where(d.cross & zh_q[:, None], qx @ p.T, cos)
        xqp = np.where(d.cross & ~zh_q[:, None], q @ px.T, xq)
        self.e5x = xqp
        for g in gammas:
            self.sems[f"e5-xq g={g:g}"] = (np.where(d.cross, g * xq + (1 - g) * cos, cos), pvecs)
            self.sems[f"e5-xqp g={g:g}"] = (np.where(d.cross, g * xqp + (1 - g) * cos, cos), pvecs)

    def add_aligned(self, zh: np.ndarray, en: np.ndarray, alphas: tuple[float, ...] = (0.5, 1.0),
                    gammas: tuple[float, ...] = (1.0, 0.5)) -> None:
        """``e5-align a=.. g=..``: the centred Chinese e5 vectors (both roles) turned by the
        orthogonal map that best carries the parallel ``zh`` vectors onto their ``en``
        counterparts (each side centred on its own mean), blended ``(1 - a) * I + a * R``;
        cross-language cosines blended ``g * mapped + (1 - g) * as written``."""
        d = self.data
        z, e = unit_rows(unit_rows(zh) - unit_rows(zh).mean(0)), unit_rows(unit_rows(en) - unit_rows(en).mean(0))
        u, _s, vt = np.linalg.svd(z.T @ e)
        rot = u @ vt
        print(f"# parallel pairs {len(z)}: mean cosine {np.mean(np.sum(z * e, 1)):.3f} as written, "
              f"{np.mean(np.sum((z @ rot) * e, 1)):.3f} mapped (in-sample)")
        ql = [c.language for c in d.cases.challenges]
        pl = [s.language for s in d.cases.startups]
        base = self.vectors["multilingual-e5-small"]
        q, p = unit_rows(base.query), unit_rows(base.passage)
        centre = LanguageCentering.fit({"query": (q, ql), "passage": (p, pl)})
        qc = centre.transform(q, ql, "query").astype(np.float64)
        pc = centre.transform(p, pl, "passage").astype(np.float64)
        qzh = np.array([td.is_zh(d, r) for r in range(len(ql))])
        pzh = np.array([lang.startswith("zh") for lang in pl])
        cos, pvecs = self.sems["e5"]
        for a in alphas:
            r = (1 - a) * np.eye(rot.shape[0]) + a * rot
            qm, pm = qc.copy(), pc.copy()
            qm[qzh], pm[pzh] = unit_rows(qc[qzh] @ r), unit_rows(pc[pzh] @ r)
            mapped = qm @ pm.T
            for g in gammas:
                self.sems[f"e5-align a={a:g} g={g:g}"] = (np.where(d.cross, g * mapped + (1 - g) * cos, cos), pvecs)

    def add_symmetric(self, v: td.Vectors) -> None:
        """``e5-sym``: e5 cosines with the challenges encoded as passages, centred."""
        d = self.data
        ql = [c.language for c in d.cases.challenges]
        pl = [s.language for s in d.cases.startups]
        q, p = unit_rows(v.query), unit_rows(self.vectors["multilingual-e5-small"].passage)
        centre = LanguageCentering.fit({"query": (q, ql), "passage": (p, pl)})
        q, p = centre.transform(q, ql, "query"), centre.transform(p, pl, "passage")
        self.sems["e5-sym"] = (q.astype(np.float64) @ p.T.astype(np.float64), p)

    def build_features(self) -> None:
        """The learned fusion's feature columns, ``(challenges, startups)`` each."""
        def z(m: np.ndarray) -> np.ndarray:
            sd = m.std(axis=1, keepdims=True)
            return np.where(sd > 1e-12, (m - m.mean(axis=1, keepdims=True)) / np.where(sd > 1e-12, sd, 1.0), 0.0)

        def cos(m: np.ndarray) -> np.ndarray:  # as the fusion sees a cosine: clipped to 0..1
            return z(np.clip(m, 0.0, 1.0))

        x = self.data.cross.astype(np.float64)
        f = {
            "e5": cos(self.sems["e5"][0]), "e5x": cos(self.e5x),
            "lex": z(self.lex["cedict"]), "lexp": z(self.lex["plain"]),
            "use": cos(self.cosine("use-multilingual", True)[0]),
            "minilm": cos(self.cosine("minilm+cedict", True)[0]), "x": x,
        }
        for name in ("e5", "e5x", "lex"):
            f[f"x*{name}"] = x * f[name]
        self.feats = f
        keys = {k: j for j, k in enumerate(self.keys)}
        self.grades = np.zeros(x.shape)
        for i, c in enumerate(self.data.cases.challenges):
            for sid, g in self.data.cases.qrels.get(c.key, {}).items():
                self.grades[i, keys[sid]] = g
        self._fits: dict[Learned, np.ndarray] = {}

    def matrix(self, features: str, row: int) -> np.ndarray:
        return np.column_stack([self.feats[n][row] for n in FEATURE_SETS[features]])

    def fit_learned(self, s: Learned) -> np.ndarray:
        """Coefficients of ``s`` (cached)."""
        if s in self._fits:
            return self._fits[s]
        from sklearn.linear_model import LogisticRegression

        if s.kind == "list":
            coef = self._fit_listwise(s)
            self._fits[s] = coef
            return coef
        xs, ys, ws = [], [], []
        for row in s.train:
            m, g = self.matrix(s.features, row), self.grades[row]
            if s.kind == "point":
                xs.append(m)
                ys.append((g > 0).astype(int))
                ws.append(np.where(g > 0, g, 1.0))
            else:
                hi, lo = np.nonzero(g[:, None] > g[None, :])
                diff = m[hi] - m[lo]
                xs += [diff, -diff]
                ys += [np.ones(len(hi), int), np.zeros(len(hi), int)]
                ws += [np.ones(len(hi)), np.ones(len(hi))]
        X, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
        model = LogisticRegression(C=s.c, fit_intercept=s.kind == "point", max_iter=2000,
                                   class_weight="balanced" if s.kind == "point" else None)
        model.fit(X, y, sample_weight=w)
        coef = model.coef_[0].copy()
        self._fits[s] = coef
        return coef

    def _fit_listwise(self, s: Learned) -> np.ndarray:
        """ListNet (top-one softmax cross-entropy per challenge, target ``2^grade - 1``
        normalised) with an L2 penalty ``1 / (2 C)`` per challenge, by L-BFGS."""
        from scipy.optimize import minimize

        data = []
        for row in s.train:
            g = self.grades[row]
            if g.max() <= 0:
                continue
            t = 2.0**g - 1.0
            data.append((self.matrix(s.features, row), t / t.sum()))
        dim = data[0][0].shape[1]
        lam = 1.0 / (2.0 * s.c)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            total, grad = lam * len(data) * w @ w, 2 * lam * len(data) * w
            for m, t in data:
                a = m @ w
                a = a - a.max()
                p = np.exp(a) / np.exp(a).sum()
                total -= t @ (a - np.log(np.exp(a).sum()))
                grad += m.T @ (p - t)
            return float(total), grad

        return minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B").x

    def learned_scores(self, s: Learned, row: int) -> np.ndarray:
        """Fused 0..1 scores: the linear score divided by the summed magnitude of the
        main score features' coefficients (a weighted mean of z-scores, as z-score fusion
        is), through the logistic of half of it."""
        coef = self.fit_learned(s)
        names = FEATURE_SETS[s.features]
        main = [abs(c) for n, c in zip(names, coef, strict=True) if n != "x" and "*" not in n]
        norm = max(sum(main), 1e-9)
        lin = self.matrix(s.features, row) @ coef / norm
        return 1.0 / (1.0 + np.exp(-lin / 2.0))

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

    def add_token_lexical(
        self,
        key: str,
        tokens: Callable[[str], list[str]],
        translation: str | None,
        *,
        plus: str | None = None,
        weight: float = 1.0,
    ) -> None:
        """The matcher's BM25 (k1 1.2, b .75) over ``tokens`` of each text (with the
        CC-CEDICT glosses when ``translation``), divided by its maximum over the pool as
        the ranker's lexical component is; with ``plus``, added with ``weight`` to that
        existing lexical column (a second field of evidence, as in a sequential
        dependence model's unigram + ordered-pair terms)."""
        from matcher.translate import get_translator

        d = self.data
        tr = get_translator(translation)

        def text(item: Any) -> str:
            return tr.bilingual(item.text) if tr is not None else item.text

        scores = bm25_matrix(
            [tokens(text(c)) for c in d.cases.challenges],
            [tokens(text(s)) for s in d.cases.startups],
        )
        top = scores.max(axis=1, keepdims=True)
        scores = np.divide(scores, top, out=np.zeros_like(scores), where=top > 0)
        self.lex[key] = scores if plus is None else self.lex[plus] + weight * scores

    def add_title_lexical(self, key: str, base: str, weight: float) -> None:
        """``base``'s lexical column plus ``weight`` times BM25 of the challenge's title
        alone (with the CC-CEDICT glosses) against the startups, each divided by its
        maximum over the pool: the title's words count twice, as a field boost would."""
        from matcher.text import tokenize
        from matcher.translate import get_translator

        d = self.data
        tr = get_translator("cedict")
        assert tr is not None
        scores = bm25_matrix(
            [tokenize(tr.bilingual(c.title)) for c in d.cases.challenges],
            [tokenize(tr.bilingual(s.text)) for s in d.cases.startups],
        )
        top = scores.max(axis=1, keepdims=True)
        scores = np.divide(scores, top, out=np.zeros_like(scores), where=top > 0)
        self.lex[key] = self.lex[base] + weight * scores

    def add_rm3(self, first: Idea, ks: tuple[int, ...], ms: tuple[int, ...], lams: tuple[float, ...]) -> list[str]:
        """Lexical columns with RM3 feedback from ``first``'s ranking (see ``rm3`` above),
        one for each (source, k, m, lambda); returns their keys."""
        from matcher.text import tokenize
        from matcher.translate import get_translator

        d = self.data
        tr = get_translator("cedict")
        assert tr is not None
        docs = [tokenize(tr.bilingual(s.text)) for s in d.cases.startups]
        queries = [tokenize(tr.bilingual(c.text)) for c in d.cases.challenges]
        from matcher import BM25Index

        index = BM25Index().fit_tokens(docs)
        counts = index.base_csr_.astype(np.float64)
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        ptd = sp_diag(1.0 / np.maximum(lengths, 1.0)) @ counts  # p(t | d)
        idf = index.idf_
        base = self.lex["cedict"]
        zh_doc = np.array([td.language_family(s.language) == "zh" for s in d.cases.startups])
        keys = []
        for source, k, m, lam in itertools.product(("all", "other"), ks, ms, lams):
            key = f"rm3 {source} k={k} m={m} l={lam:g}"
            col = np.zeros_like(base)
            for row in range(len(queries)):
                fused = self.fused(first, row)
                order = np.lexsort((np.arange(fused.size), -fused))
                if source == "other":
                    want_zh = not td.is_zh(d, row)
                    order = order[zh_doc[order] == want_zh]
                top = order[:k]
                weights = np.asarray(ptd[top].T @ fused[top]).ravel() * idf
                best = np.argsort(-weights, kind="stable")[:m]
                best = np.sort(best[weights[best] > 0])
                exp = index.score((best, weights[best] / weights[best].sum())) if best.size else np.zeros(base.shape[1])
                top_exp = exp.max()
                col[row] = base[row] + (lam * exp / top_exp if top_exp > 0 else 0.0)
            self.lex[key] = col / np.maximum(col.max(axis=1, keepdims=True), 1e-12)
            keys.append(key)
        return keys

    def add_hubness(self, rows: np.ndarray, alphas: tuple[float, ...], ks: tuple[int, ...]) -> list[tuple[str, str]]:
        """CSLS-corrected columns (see ``hub`` above): for each alpha and k, the e5
        column as ``sems["e5 csls a k"]`` and the glossed BM25 column as
        ``lex["cedict csls a k"]``; ``rows`` are the reference challenges.  Returns the
        (semantic, lexical) key pairs."""

        def hub(m: np.ndarray, k: int) -> np.ndarray:
            ref = np.sort(m[rows], axis=0)[-k:]
            r = ref.mean(axis=0)
            return r - r.mean()

        cos, pvecs = self.sems["e5"]
        keys = []
        for a, k in itertools.product(alphas, ks):
            tag = f"csls a={a:g} k={k}"
            self.sems[f"e5 {tag}"] = (cos - a * hub(cos, k)[None, :], pvecs)
            self.lex[f"cedict {tag}"] = self.lex["cedict"] - a * hub(self.lex["cedict"], k)[None, :]
            keys.append((f"e5 {tag}", f"cedict {tag}"))
        return keys

    def add_predictors(self, sem: str = "e5", lex: str = "cedict") -> None:
        """Per-challenge query-performance predictors, from the scores alone (no labels),
        each standardised over all the challenges: ``lexclar`` = how far BM25's best
        candidate stands above the pool (its z-score), ``semclar`` = the same for the
        cosine, ``lexgap`` = BM25's first over its second, ``diff`` = lexclar - semclar,
        ``agree`` = the share of BM25's top ten that are in the cosine's top ten (high
        agreement: the lexical weight rises)."""
        cos = self.sems[sem][0]
        bm = self.lex[lex]

        def clarity(m: np.ndarray) -> np.ndarray:
            sd = m.std(axis=1)
            return np.where(sd > 1e-12, (m.max(axis=1) - m.mean(axis=1)) / np.where(sd > 1e-12, sd, 1), 0.0)

        top2 = np.sort(bm, axis=1)[:, -2:]
        gap = np.where(top2[:, 0] > 0, top2[:, 1] / np.maximum(top2[:, 0], 1e-12), 1.0)
        tl = np.argsort(-bm, axis=1)[:, :10]
        ts = np.argsort(-cos, axis=1)[:, :10]
        agree = np.array([len(set(a) & set(b)) / 10 for a, b in zip(tl.tolist(), ts.tolist())])
        raw = {
            "lexclar": clarity(bm), "semclar": clarity(cos), "lexgap": np.log(gap),
            "agree": agree,
        }
        raw["diff"] = (raw["lexclar"] - raw["lexclar"].mean()) / raw["lexclar"].std() - (
            raw["semclar"] - raw["semclar"].mean()) / raw["semclar"].std()
        self.predictors = {k: (v - v.mean()) / (v.std() or 1.0) for k, v in raw.items()}

    def fused(self, s: Idea, row: int) -> np.ndarray:
        """``s``'s fused scores of every startup for challenge ``row`` (no MMR, no PRF)."""
        cos, _p = self.sems[s.sem]
        cross = self.data.cross[row]
        sem = np.clip(cos[row] + s.cross * cross, 0.0, 1.0)
        comps = np.column_stack([sem, self.lex[s.lex][row], self.data.structured[row]])
        return np.asarray(FUSIONS[s.fusion](comps, np.array(s.weights), rrf_k=60))

    def ranking(self, setting: Any, row: int, *, diversity: bool = True) -> list[str]:
        if isinstance(setting, Learned):
            fused = self.learned_scores(setting, row)
            pvecs = self.sems["e5"][1]
            order = np.lexsort((np.arange(fused.size), -fused))
            head = order[: td.DIVERSITY_DEPTH]
            picked = head[mmr(fused[head], pvecs[head], td.DIVERSITY, td.K, threshold=td.DIVERSITY_THRESHOLD)]
            return [self.keys[j] for j in picked]
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
        if s.ltf == "sqrt":
            lex = np.sqrt(lex)
        elif s.ltf == "log":
            lex = np.log(lex + 0.05)
        elif s.ltf == "sq":
            lex = lex**2
        elif s.ltf == "ssq":  # the semantic column squared instead
            sem = sem**2
        elif s.ltf == "rank":  # share of the pool scored below (0 stays 0)
            lex = np.where(lex > 0, np.searchsorted(np.sort(lex), lex, side="left") / lex.size, 0.0)
        comps = np.column_stack([sem, lex, d.structured[row]])
        w = np.array(s.weights)
        if s.qpp[1]:
            w = w * np.array([1.0, float(np.exp(s.qpp[1] * self.predictors[s.qpp[0]][row])), 1.0])
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
        picked = head[mmr(fused[head], pvecs[head], s.div, td.K, threshold=td.DIVERSITY_THRESHOLD)]
        if s.slot[1] and (s.slot[2] == "all" or td.is_zh(d, row)):
            picked = with_slots(picked, order, cross, s.slot[0], s.slot[1])
        return [self.keys[j] for j in picked]


def sp_diag(values: np.ndarray) -> Any:
    import scipy.sparse as sp

    return sp.diags(values)


def bm25_matrix(queries: list[list[str]], docs: list[list[str]]) -> np.ndarray:
    """``(queries, docs)`` scores of the matcher's BM25 (k1 1.2, b .75) over token lists."""
    from matcher import BM25Index

    index = BM25Index().fit_tokens(docs)
    return np.vstack([index.score(index.query_tokens(q)) for q in queries]) if queries else np.zeros((0, len(docs)))


def english_pairs(text: str) -> list[str]:
    """Ordered pairs of adjacent English tokens (after stop words are dropped), the
    ``#1`` terms of a sequential dependence model; Chinese runs already index bigrams."""
    from matcher.text import _iter_tokens

    out, prev = [], None
    for tok, _surface in _iter_tokens(text):
        if tok.isascii():
            if prev is not None:
                out.append(prev + "_" + tok)
            prev = tok
        else:
            prev = None
    return out


def stemmed_tokens(text: str) -> list[str]:
    """The matcher's tokens with English ones reduced by the Snowball (Porter 2) stemmer."""
    import snowballstemmer

    from matcher.text import tokenize

    stem = snowballstemmer.stemmer("english").stemWord
    return [stem(t) if t.isascii() else t for t in tokenize(text)]


def cjk_tokens(*, fold: bool = False, unigrams: bool = True, bigrams: bool = True) -> Callable[[str], list[str]]:
    """The matcher's tokens with the Chinese runs cut differently: ``fold`` reads every
    character in one script (OpenCC's Hong Kong Traditional-to-Simplified, which also joins the Hong
    Kong variant forms 衞/衛, 綫/線 with the others), ``unigrams`` / ``bigrams`` keep
    the single characters / adjacent pairs (a run of one character always keeps it)."""
    from matcher.text import _CJK_RE, _CJK_STOP, _TOKEN_RE, normalize, tokenize

    convert = None
    if fold:
        import opencc

        convert = opencc.OpenCC("hk2s.json").convert

    def one(run: str) -> str:
        if convert is None:
            return run
        out = convert(run)
        return out if len(out) == len(run) else "".join(convert(ch) for ch in run)

    def tokens(text: str) -> list[str]:
        out: list[str] = []
        for match in _TOKEN_RE.finditer(normalize(text)):
            run = match.group()
            if not _CJK_RE.match(run):
                out.extend(tokenize(run))
                continue
            stops = [ch in _CJK_STOP for ch in run]
            run = one(run)
            for i, ch in enumerate(run):
                if not stops[i] and (unigrams or len(run) == 1):
                    out.append(ch)
                if bigrams and i + 1 < len(run) and not stops[i] and not stops[i + 1]:
                    out.append(run[i : i + 2])
        return out

    return tokens


def with_slots(picked: np.ndarray, order: np.ndarray, cross: np.ndarray, rank: int, count: int) -> np.ndarray:
    """The list with the best-fused other-language candidates not yet in it placed from
    ``rank`` on (1-based), until ``count`` other-language candidates are in the list."""
    top = list(picked[: td.K])
    have = sum(bool(cross[j]) for j in top)
    extra = [j for j in order if cross[j] and j not in top][: max(0, count - have)]
    for n, j in enumerate(extra):
        top.insert(min(rank - 1 + n, len(top)), j)
    return np.array(top[: td.K])


class SymmetricEncoder:
    """e5 with every text encoded in the passage role (challenges too): "passage: "."""

    def __init__(self) -> None:
        from matcher import get_encoder

        self.inner = get_encoder("multilingual-e5-small")

    def encode(self, texts: Any, *, role: str = "passage", batch_size: int = 32) -> np.ndarray:
        return self.inner.encode(texts, role="passage", batch_size=batch_size)


def parallel_pairs(cedict_words: int = 4000) -> list[tuple[str, str]]:
    """(Chinese, English) texts that say the same thing and are not the cases: the
    interface's message catalogue (placeholders and markup removed), the Hong Kong
    glossary (first English sense), and a seeded sample of CC-CEDICT headwords of two to
    four characters with a short, lower-case first sense (no names, variants, surnames)."""
    import random
    import re

    from babel.messages.pofile import read_po

    from matcher.translate import GLOSSARY_PATH, get_translator

    markup = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]*\}|<[^>]+>|%[sd]")
    han = re.compile(r"[\u4e00-\u9fff]")
    pairs: list[tuple[str, str]] = []
    with (ROOT / "portal/translations/zh_Hant_HK/LC_MESSAGES/messages.po").open("rb") as fh:
        for m in read_po(fh):
            if not m.id or not m.string or m.fuzzy:
                continue
            en = m.id if isinstance(m.id, str) else m.id[0]
            zh = m.string if isinstance(m.string, str) else m.string[0]
            en, zh = (" ".join(markup.sub(" ", x).split()) for x in (en, zh))
            if len(en) >= 3 and han.search(zh):
                pairs.append((zh, en))
    for line in Path(GLOSSARY_PATH).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        zh, en = line.split("\t", 1)
        pairs.append((zh.strip(), en.split("|")[0].strip()))
    translator = get_translator("cedict")
    assert translator is not None
    words = sorted(
        (head, senses[0]) for head, senses in translator.entries.items()
        if 2 <= len(head) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", head) and senses[0]
        and not senses[0][0].isupper() and len(senses[0].split()) <= 4
        and "variant" not in senses[0] and "surname" not in senses[0]
    )
    random.Random(20261207).shuffle(words)
    return pairs + words[:cedict_words]


def encode_parallel(pairs: list[tuple[str, str]], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """e5 vectors (passage role) of both sides of ``pairs``, cached by a digest of the texts."""
    import hashlib

    digest = hashlib.sha256("\x1f".join(a + "\x1e" + b for a, b in pairs).encode()).hexdigest()[:12]
    path = cache / f"parallel-e5-{digest}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["zh"], saved["en"]
    from matcher import get_encoder

    encoder = get_encoder("multilingual-e5-small")
    zh = np.asarray(encoder.encode([a for a, _ in pairs], role="passage"), np.float64)
    en = np.asarray(encoder.encode([b for _, b in pairs], role="passage"), np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, zh=zh, en=en)
    return zh, en


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


def nested_cv(
    scorer: IdeaScorer, configs: list[tuple[str, float, str]], base: list[Idea] | None,
    parts: list[np.ndarray],
) -> tuple[dict[str, Any], list[str]]:
    """Held-out figures of a family of learned fusions (``configs``: feature set, C,
    kind), plus the base grid when ``base`` is given: in each outer fold, each candidate
    is scored by an inner CV over the other four folds (a learned fusion refitted on
    three, tested on the fourth; the base grid chosen on three, applied to the fourth),
    the best is refitted on the four and applied to the held-out fold."""
    held: list[dict[str, float | None]] = []
    picks = []
    for i, fold in enumerate(parts):
        inner = [p for j, p in enumerate(parts) if j != i]
        train = np.concatenate(inner)
        scores: dict[Any, float] = {}
        if base is not None:
            scores["base"] = td.cross_validate(scorer, base, inner, False)[0]["all"]
        for cfg in configs:
            vals: list[dict[str, float | None]] = []
            for k, part in enumerate(inner):
                rows = tuple(sorted(np.concatenate([p for j, p in enumerate(inner) if j != k]).tolist()))
                vals += scorer.per_case(Learned(*cfg, rows), part)
            scores[cfg] = td.mean_all(vals)
        best = max(scores, key=lambda key: scores[key])
        if best == "base":
            chosen = td.choose(scorer, base, train, False)
            held += td.apply(scorer, chosen, fold)
            picks.append("base: " + td.describe(chosen))
        else:
            setting = Learned(*best, tuple(sorted(train.tolist())))
            held += scorer.per_case(setting, fold)
            coef = scorer.fit_learned(setting)
            names = FEATURE_SETS[best[0]]
            picks.append(setting.label() + " [" + ", ".join(f"{n} {c:+.2f}" for n, c in zip(names, coef, strict=True)) + "]")
    return td.summarize(held), picks


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
    ap.add_argument("--cases", default=str(td.CASES), help="cases file (default: the real cases)")
    ap.add_argument("--ideas", default="sem,bm25,xlex,lexnorm,prf,maxp,zscore,zx,zrel,xq,slot,learn,ltf,mmr,sym")
    args = ap.parse_args()
    data = td.load(Path(args.cases))
    factories = td._encoder_factories(None)
    vectors = {
        n: td.encode(n, factories[n], data.cases, Path(args.cache))
        for n in ("multilingual-e5-small", "use-multilingual", "minilm+cedict")
    }
    scorer = IdeaScorer(data, vectors)
    parts = td.folds(data, 5, td.SEED)
    ideas = args.ideas.split(",")
    if {"xq", "learn"} & set(ideas):
        from matcher import get_encoder
        from matcher.translate import with_translation

        view = td.encode(
            "e5+cedict", lambda: with_translation(get_encoder("multilingual-e5-small"), "cedict"),
            data.cases, Path(args.cache),
        )
        scorer.add_views(view)
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
    fz = ("zscore",)
    if "xq" in ideas:
        for sem in ("e5-xq g=1", "e5-xq g=0.5", "e5-xqp g=1", "e5-xqp g=0.5"):
            fixed(f"{sem} alone (dense only)", Idea(sem, "cedict", "weighted", (1.0, 0.0, 0.0)))
            fixed(f"{sem} in the default's place", Idea(sem, fusion="zscore"))
        sems = ("e5", "e5-xq g=1", "e5-xq g=0.5", "e5-xqp g=1", "e5-xqp g=0.5")
        family("query translation {off, xq, xqp} x {1, .5} + BM25, z-score",
               [s for sem in sems for s in base_grid(sem, fusions=fz)])
        family("query translation {off, xq, xqp} x {1, .5} + BM25, all fusions",
               [s for sem in sems for s in base_grid(sem)])
    if "slot" in ideas:
        slots = [(0, 0, "")] + [(r, n, q) for r in (10, 8, 5) for n in (1, 2) for q in ("zh", "all")]
        for slot in slots[1:]:
            fixed(f"default + other-language slot {slot}", Idea(fusion="zscore", slot=slot))
        family("other-language slot {off, rank 10/8/5, 1-2, zh/all} + BM25, z-score",
               [s for sl in slots for s in base_grid("e5", fusions=fz, slot=sl)])
        family("other-language slot, default weights only",
               [Idea(fusion="zscore", slot=sl) for sl in slots])
        if "e5-xq g=0.5" in scorer.sems:
            family("other-language slot x query translation {off, xq .5, xqp .5}, z-score",
                   [s for sl in slots for sem in ("e5", "e5-xq g=0.5", "e5-xqp g=0.5")
                    for s in base_grid(sem, fusions=fz, slot=sl)])
    if "learn" in ideas:
        scorer.build_features()
        print("# learned fusion: nested CV (inner 4-fold CV on the training folds chooses)", flush=True)
        cs = {"point": (0.01, 0.1, 1.0), "pair": (0.01, 0.1, 1.0), "list": (1.0, 10.0, 100.0)}
        kinds = ("point", "pair", "list")
        for fs in FEATURE_SETS:
            for kind in kinds:
                configs = [(fs, c, kind) for c in cs[kind]]
                row, picks = nested_cv(scorer, configs, None, parts)
                print(f"{'learned ' + kind + ' ' + fs + ', C chosen':64} {td.fmt(row)}  {picks[0]}", flush=True)
        for kind in kinds:
            for c in cs[kind]:
                for fs in FEATURE_SETS:
                    row = nested_cv(scorer, [(fs, c, kind)], None, parts)[0]
                    print(f"{'  fixed ' + kind + ' ' + fs + f' C={c:g} (5-fold, no choice)':64} {td.fmt(row)}", flush=True)
        configs = [(fs, c, kind) for fs in FEATURE_SETS for kind in kinds for c in cs[kind]]
        row, picks = nested_cv(scorer, configs, None, parts)
        print(f"{'learned, features/C/kind chosen':64} {td.fmt(row)}")
        for p in picks:
            print("    " + p)
        row, picks = nested_cv(scorer, configs, base_grid("e5", fusions=fz), parts)
        print(f"{'learned or z-score grid, chosen by inner CV':64} {td.fmt(row)}")
        for p in picks:
            print("    " + p)
    if "ltf" in ideas:
        tfs = ("sqrt", "log", "rank", "sq", "ssq")
        for t in tfs:
            fixed(f"default, column transform {t} before z-scoring", Idea(fusion="zscore", ltf=t))
        family("column transform {none, sqrt, log, rank, sq, ssq} + e5, z-score",
               [s for t in ("", *tfs) for s in base_grid("e5", fusions=fz, ltf=t)])
    if "mmr" in ideas:
        for dv in (0.0, 0.3):
            fixed(f"default, MMR trade-off {dv:g} (default .15)", Idea(fusion="zscore", div=dv))
        family("MMR trade-off {0, .15, .3} + e5 + BM25, z-score",
               [s for dv in (0.0, 0.15, 0.3) for s in base_grid("e5", fusions=fz, div=dv)])
    if "sym" in ideas:
        scorer.add_symmetric(td.encode(
            "e5-passage-role", lambda: SymmetricEncoder(), data.cases, Path(args.cache)))
        fixed("e5, challenges encoded as passages, alone", Idea("e5-sym", "cedict", "weighted", (1.0, 0.0, 0.0)))
        fixed("e5, challenges encoded as passages, in the default's place", Idea("e5-sym", fusion="zscore"))
        family("e5 query role {query, passage} + BM25, z-score",
               [s for sem in ("e5", "e5-sym") for s in base_grid(sem, fusions=fz)])
    if "lexv" in ideas:
        from matcher.text import tokenize

        scorer.add_token_lexical("cedict-own", tokenize, "cedict")
        own = td.summarize(
            scorer.per_case(
                Idea("e5", "cedict-own", "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False
            )
        )
        ref = td.summarize(
            scorer.per_case(
                Idea("e5", "cedict", "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False
            )
        )
        print(f"{'check: BM25+cedict here / the ranker':64} {td.fmt(own)} / {td.fmt(ref)}")
        for translation, base in ((None, "plain"), ("cedict", "cedict")):
            scorer.add_token_lexical(f"{base}-stem", stemmed_tokens, translation)
            lone = td.summarize(
                scorer.per_case(
                    Idea("e5", f"{base}-stem", "weighted", (0.0, 1.0, 0.0)),
                    data.tune,
                    diversity=False,
                )
            )
            print(f"{'BM25 ' + base + ', Snowball-stemmed, alone':64} {td.fmt(lone)}")
            for lam in (0.25, 0.5, 1.0):
                scorer.add_token_lexical(
                    f"{base}+pairs {lam:g}", english_pairs, None, plus=base, weight=lam
                )
                lone = td.summarize(
                    scorer.per_case(
                        Idea("e5", f"{base}+pairs {lam:g}", "weighted", (0.0, 1.0, 0.0)),
                        data.tune,
                        diversity=False,
                    )
                )
                print(
                    f"{'BM25 ' + base + ' + ' + str(lam) + ' x ordered pairs, alone':64} {td.fmt(lone)}"
                )
        for key in (
            "plain-stem",
            "cedict-stem",
            "plain+pairs 0.5",
            "cedict+pairs 0.5",
            "cedict+pairs 1",
        ):
            fixed(
                f"default weights (z-score .5/.35/.15), lexical {key}",
                Idea(lex=key, fusion="zscore"),
            )
        family(
            "e5 + BM25 {plain, cedict} x {as now, Snowball}, z-score",
            base_grid("e5", ("plain", "cedict", "plain-stem", "cedict-stem"), fusions=("zscore",)),
        )
        family(
            "e5 + BM25 {plain, cedict} + pairs {0, .25, .5, 1}, z-score",
            base_grid(
                "e5",
                (
                    "plain",
                    "cedict",
                    *(
                        f"{b}+pairs {lam:g}"
                        for b in ("plain", "cedict")
                        for lam in (0.25, 0.5, 1.0)
                    ),
                ),
                fusions=("zscore",),
            ),
        )
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
    if "rm3" in ideas:
        default = Idea(fusion="zscore")
        keys = scorer.add_rm3(default, (3, 5, 10), (10, 30), (0.25, 0.5, 1.0))
        for key in keys:
            lone = td.summarize(scorer.per_case(Idea("e5", key, "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False))
            print(f"{'BM25 + ' + key + ', alone':64} {td.fmt(lone)}")
        for key in keys:
            fixed(f"default weights, lexical {key}", Idea(lex=key, fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
        for source in ("all", "other"):
            lexes = ("plain", "cedict", *(k for k in keys if k.startswith(f"rm3 {source}")))
            family(f"e5 + BM25 {{plain, cedict, RM3 from {source}}}, z-score", base_grid("e5", lexes, fusions=("zscore",)))
        family("e5 + BM25 {plain, cedict, RM3 any}, z-score", base_grid("e5", ("plain", "cedict", *keys), fusions=("zscore",)))
    if "cjk" in ideas:
        from matcher.text import tokenize

        variants = {
            "fold": {"fold": True},
            "bigrams": {"unigrams": False},
            "fold bigrams": {"fold": True, "unigrams": False},
        }
        for translation, base in ((None, "plain"), ("cedict", "cedict")):
            scorer.add_token_lexical(f"{base}-own", tokenize, translation)
            for name, kw in variants.items():
                scorer.add_token_lexical(f"{base} {name}", cjk_tokens(**kw), translation)
            for name, fold in (("bigrams + .5 unigrams", False), ("fold bigrams + .5 unigrams", True)):
                scorer.add_token_lexical(f"{base} {name}", cjk_tokens(fold=fold, unigrams=False), translation)
                scorer.add_token_lexical(
                    f"{base} {name}", cjk_tokens(fold=fold, bigrams=False), translation,
                    plus=f"{base} {name}", weight=0.5,
                )
        keys = [k for k in scorer.lex if k.split(" ")[0] in ("plain", "cedict", "plain-own", "cedict-own") and k not in ("plain", "cedict")]
        for key in keys:
            lone = td.summarize(scorer.per_case(Idea("e5", key, "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False))
            print(f"{'BM25 ' + key + ', alone':64} {td.fmt(lone)}")
        for key in keys:
            if key.startswith("cedict"):
                fixed(f"default weights, lexical {key}", Idea(lex=key, fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
        family(
            "e5 + BM25 {plain, cedict} x Chinese cut {as now, fold, bigrams, ...}, z-score",
            base_grid("e5", ("plain", "cedict", *(k for k in keys if "-own" not in k)), fusions=("zscore",)),
        )
    if "title" in ideas:
        keys = []
        for lam in (0.25, 0.5, 1.0):
            key = f"cedict+title {lam:g}"
            scorer.add_title_lexical(key, "cedict", lam)
            keys.append(key)
            lone = td.summarize(scorer.per_case(Idea("e5", key, "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False))
            print(f"{'BM25 + ' + key + ' x title, alone':64} {td.fmt(lone)}")
            fixed(f"default weights, lexical {key} x title", Idea(lex=key, fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
        family("e5 + BM25 {plain, cedict, + title .25/.5/1}, z-score", base_grid("e5", ("plain", "cedict", *keys), fusions=("zscore",)))
    if "mixlex" in ideas:
        # Same-language pairs read BM25 on the texts as written, cross-language pairs BM25 on
        # text + glosses (the glosses are there to bridge the scripts), each over its maximum.
        cross = scorer.data.cross.astype(bool)
        scorer.lex["mixed"] = np.where(cross, scorer.lex["cedict"], scorer.lex["plain"])
        lone = td.summarize(scorer.per_case(Idea("e5", "mixed", "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False))
        print(f"{'BM25 as written for same-language pairs, + glosses across, alone':64} {td.fmt(lone)}")
        fixed("default weights, lexical mixed by relation", Idea(lex="mixed", fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
        family("e5 + BM25 {plain, cedict, mixed by relation}, z-score", base_grid("e5", ("plain", "cedict", "mixed"), fusions=("zscore",)))
    if "hub" in ideas:
        pairs = scorer.add_hubness(data.tune, (0.5, 1.0), (5, 10))
        lone = td.summarize(scorer.per_case(Idea("e5", "cedict", "weighted", (1.0, 0.0, 0.0)), data.tune, diversity=False))
        print(f"{'e5 alone (centred)':64} {td.fmt(lone)}")
        for sem, lex in pairs:
            lone = td.summarize(scorer.per_case(Idea(sem, "cedict", "weighted", (1.0, 0.0, 0.0)), data.tune, diversity=False))
            print(f"{sem + ' alone':64} {td.fmt(lone)}")
            lone = td.summarize(scorer.per_case(Idea("e5", lex, "weighted", (0.0, 1.0, 0.0)), data.tune, diversity=False))
            print(f"{'BM25 ' + lex + ', alone':64} {td.fmt(lone)}")
        for sem, lex in pairs:
            fixed(f"default weights, semantic {sem}", Idea(sem, fusion="zscore"))
            fixed(f"default weights, lexical {lex}", Idea(lex=lex, fusion="zscore"))
            fixed(f"default weights, both {sem.split(' ', 1)[1]}", Idea(sem, lex, fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=("zscore",)))
        grid = [i for sem in ("e5", *(p[0] for p in pairs)) for i in base_grid(sem, fusions=("zscore",))]
        family("e5 {as is, CSLS} + BM25 {plain, cedict}, z-score", grid)
        grid = [
            i for sem, lex in (("e5", "cedict"), *pairs)
            for i in base_grid(sem, ("plain", lex), fusions=("zscore",))
        ]
        family("e5 + BM25 both CSLS (same alpha, k), z-score", grid)
    if "qpp" in ideas:
        scorer.add_predictors()
        preds = ("lexclar", "semclar", "lexgap", "diff", "agree")
        gammas = (-0.5, -0.25, 0.25, 0.5)
        for pr in preds:
            for g in gammas:
                fixed(f"default weights, lexical x exp({g:g} {pr})", Idea(fusion="zscore", qpp=(pr, g)))
        family("z-score base grid (reference)", base_grid("e5", fusions=fz))
        for pr in preds:
            family(f"z-score grid x {pr} gamma {{0, +-.25, +-.5}}",
                   [i for g in (0.0, *gammas) for i in base_grid("e5", fusions=fz, qpp=(pr, g))])
        family("z-score grid x any predictor",
               base_grid("e5", fusions=fz) + [i for pr in preds for g in gammas for i in base_grid("e5", fusions=fz, qpp=(pr, g))])
    if "align" in ideas:
        scorer.add_aligned(*encode_parallel(parallel_pairs(), Path(args.cache)))
        aligned = [k for k in scorer.sems if k.startswith("e5-align")]
        for sem in aligned:
            fixed(f"{sem} alone (dense only)", Idea(sem, "cedict", "weighted", (1.0, 0.0, 0.0)))
            fixed(f"{sem} in the default's place", Idea(sem, fusion="zscore"))
        family("z-score base grid (reference)", base_grid("e5", fusions=fz))
        family("z-score grid x align {off, a .5/1 x g 1/.5}",
               [s for sem in ("e5", *aligned) for s in base_grid(sem, fusions=fz)])
    if "prf" in ideas:
        fixed("old default + PRF 3x0.5", Idea(prf=(3, 0.5)))
        fixed("old default + PRF 5x1", Idea(prf=(5, 1.0)))
        settings = [s for p in ((0, 0.0), (3, 0.5), (3, 1.0), (5, 1.0)) for s in base_grid("e5", prf=p)]
        family("e5 + BM25, dense Rocchio PRF {off, 3x.5, 3x1, 5x1}", settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
