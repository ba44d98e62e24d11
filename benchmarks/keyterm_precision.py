"""Key-term pair precision: are the cross-language pairs shown under "Key terms in both
texts" ("vaccine = 疫苗") true translations in context?

Run::

    python benchmarks/keyterm_precision.py sample [--min 200] [--out data/eval/keyterm_labels.json]
    python benchmarks/keyterm_precision.py report [--labels data/eval/keyterm_labels.json]

``sample`` ranks, with the web app's default preset (encoder, dictionary translation,
centering and ranker settings), every challenge of ``data/eval/real_cases.json`` (and of
``data/eval/parts/*.json`` when present) against every startup, and every startup against
every challenge, as the two recommendation pages do; it collects each distinct key-term
pair shown (first in the pages' top ten; then, when that gives fewer than ``--min``, in
the rest of each ranking, which a page would show for those pairs too), with the
sentence of each text the two words come from, and writes them for labelling. When the
top ten alone holds more than ``--min`` pairs, ``--min`` of them are drawn at random
(``--seed``), so the sample is a uniform one of the pairs the pages' top ten show. A
person then sets each entry's ``label`` to ``"correct"`` or ``"wrong"`` (a pair is correct
only if the Chinese word truly means the English word in that context) and a short
``note`` for wrong ones.

``report`` prints the precision (correct / labelled) with a Wilson 95% interval, and the
wrong pairs. An existing labels file is never overwritten by ``sample`` unless
``--force`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CASES = ROOT / "data" / "eval" / "real_cases.json"
LABELS = ROOT / "data" / "eval" / "keyterm_labels.json"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _sentence(text: str, needle: str) -> str:
    """The first sentence of ``text`` holding ``needle``: as a whole word (or its plural)
    when it is Latin, as the pages' key terms are word tokens ("health" is not quoted from
    "Healthcare"), else as a substring."""
    from matcher.text import normalize, split_sentences

    sentences = split_sentences(text, max_sentences=1000, max_chars=10_000)
    word = normalize(needle)
    if not _CJK.search(word):
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?:s|es)?(?![a-z0-9])")
        for sentence in sentences:
            if pattern.search(normalize(sentence)):
                return sentence
    for sentence in sentences:
        if word in normalize(sentence):
            return sentence
    return ""


def _ranker_and_encoder() -> tuple[Any, Any, Any]:
    import matcher

    # The web app's default (MATCHER_MODEL unset): the encoder and its preset.
    preset = matcher.preset_for(matcher.DEFAULT_ENCODER)
    encoder = matcher.with_translation(
        matcher.get_encoder(matcher.DEFAULT_ENCODER),
        preset.get("translation") if preset.get("encoder_translation") else None,
    )
    config = matcher.RankerConfig.from_mapping(
        dict(preset.get("ranker", {})) | {"translation": preset.get("translation"), "explain_sentences": False}
    )
    return encoder, config, preset


def sample(minimum: int, out: Path, force: bool, seed: int) -> None:
    import numpy as np

    from matcher import HybridRanker, LanguageCentering
    from matcher.evaluation import load_cases, merge_cases
    from matcher.text import dense_text

    if out.exists() and not force:
        sys.exit(f"{out} exists: labels are kept (use --force to draw a new sample)")
    parts = [load_cases(CASES)] + [load_cases(p) for p in sorted((CASES.parent / "parts").glob("*.json"))]
    cases = merge_cases(parts)
    encoder, config, preset = _ranker_and_encoder()
    challenges, startups = cases.challenges, cases.startups
    cvecs = np.asarray(encoder.encode([dense_text(c.title, c.text) for c in challenges], role="query"))
    svecs = np.asarray(encoder.encode([dense_text(s.title, s.text) for s in startups], role="passage"))
    if preset.get("centering"):
        # As the web app fits a corpus: the passages' means and the queries' (challenges').
        centre = LanguageCentering.fit({
            "passage": (svecs, [s.language for s in startups]),
            "query": (cvecs, [c.language for c in challenges]),
        })
        cvecs = centre.transform(cvecs, [c.language for c in challenges], "query")
        svecs = centre.transform(svecs, [s.language for s in startups], "passage")
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    order: list[tuple[int, tuple[str, str, str]]] = []

    def collect(query: Any, matches: list[Any], direction: str) -> None:
        for rank, m in enumerate(matches):
            for term in m.explanation.key_terms:
                if " = " not in term:
                    continue
                left, right = term.split(" = ", 1)
                chinese, english = (left, right) if _CJK.search(left) else (right, left)
                challenge, startup = (query.key, m.key) if direction == "challenge" else (m.key, query.key)
                key = (challenge, startup, term)
                if key in found:
                    continue
                texts = {c.key: c.text for c in challenges} | {s.key: s.text for s in startups}
                q_text, c_text = texts[query.key], texts[m.key]
                zh_text, en_text = (q_text, c_text) if _CJK.search(left) else (c_text, q_text)
                found[key] = {
                    "challenge": challenge, "startup": startup, "page": (
                        "recommended startups for a challenge" if direction == "challenge"
                        else "recommended challenges for a startup"),
                    "term": term, "chinese": chinese, "english": english,
                    "chinese_sentence": _sentence(zh_text, chinese),
                    "english_sentence": _sentence(en_text, english),
                    "label": None, "note": "",
                }
                order.append((rank, key))

    ranker = HybridRanker(config, encoder).fit(startups, svecs)
    for i, c in enumerate(challenges):
        collect(c, ranker.rank(c, query_vector=cvecs[i], top_k=len(startups)), "challenge")
    ranker = HybridRanker(config, encoder).fit(challenges, cvecs)
    for i, s in enumerate(startups):
        collect(s, ranker.rank(s, query_vector=svecs[i], top_k=len(challenges)), "startup")
    top_ten = [key for rank, key in order if rank < 10]
    rest = [key for rank, key in order if rank >= 10]
    rng = random.Random(seed)
    rng.shuffle(rest)
    if len(top_ten) > minimum:
        picked = set(rng.sample(range(len(top_ten)), minimum))
        chosen = [key for n, key in enumerate(top_ten) if n in picked]
    else:
        chosen = top_ten + rest[: max(0, minimum - len(top_ten))]
    in_top_ten = set(top_ten)
    entries = [dict(found[key], id=n + 1, shown_in_top_ten=key in in_top_ten) for n, key in enumerate(chosen)]
    out.write_text(json.dumps({
        "description": "Cross-language key-term pairs as the recommendation pages show them, on "
                       f"{CASES.name}{' and parts/*.json' if len(parts) > 1 else ''}; label: correct | wrong.",
        "drawn_with": f"benchmarks/keyterm_precision.py sample --min {minimum} --seed {seed}",
        "pairs_found": len(found), "pairs_in_top_ten": len(top_ten),
        "sampling": (f"{len(entries)} drawn at random (seed {seed}) from the {len(top_ten)} pairs shown in a top ten"
                     if len(top_ten) > minimum else "every pair shown in a top ten, then pairs further down at random"),
        "entries": entries,
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(found)} distinct pairs found ({len(top_ten)} in a top ten); {len(entries)} written to {out}")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def report(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data["entries"]
    labelled = [e for e in entries if e.get("label") in ("correct", "wrong")]
    correct = sum(e["label"] == "correct" for e in labelled)
    lo, hi = wilson(correct, len(labelled))
    print(f"Key-term pair precision: {correct}/{len(labelled)} = "
          f"{correct / len(labelled) if labelled else float('nan'):.3f} (Wilson 95% CI {lo:.3f}-{hi:.3f}); "
          f"{len(entries) - len(labelled)} unlabelled")
    top = [e for e in labelled if e.get("shown_in_top_ten")]
    if top:
        k = sum(e["label"] == "correct" for e in top)
        print(f"  in a page's top ten: {k}/{len(top)} = {k / len(top):.3f}")
    for e in labelled:
        if e["label"] == "wrong":
            print(f"  wrong: {e['term']} ({e['challenge']} / {e['startup']}): {e.get('note', '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="draw key-term pairs to label")
    s.add_argument("--min", type=int, default=200, help="pairs to draw at least (when there are that many)")
    s.add_argument("--out", type=Path, default=LABELS)
    s.add_argument("--seed", type=int, default=20261204)
    s.add_argument("--force", action="store_true", help="overwrite an existing labels file")
    r = sub.add_parser("report", help="precision from the labels")
    r.add_argument("--labels", type=Path, default=LABELS)
    args = parser.parse_args()
    if args.command == "sample":
        sample(args.min, args.out, args.force, args.seed)
    else:
        report(args.labels)


if __name__ == "__main__":
    main()
