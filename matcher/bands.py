"""What a match score means: score bands with a measured share of relevant pairs, and
component strengths on a fixed scale.

The fused score of a pair (``Match.score``) is a number in 0..1 whose meaning is not
obvious: is 0.49 good? :func:`calibrate` reads scored, labelled pairs (every challenge
of an evaluation file's ``tune`` split against every startup) and cuts the score range
into bands, best first, each with the share of its pairs that were labelled relevant:
"Strong: about 6 in 10 such pairs were relevant in our evaluation". The bands are
stored (``matcher/data/score_bands.json``, written by ``flask matcher calibrate-bands``)
and read by the web layer with :func:`load_calibration`.

The lexical component of the fused score is BM25 divided by the best BM25 among the
candidates, so "100%" means "the most shared words of any candidate", not a strong
overlap. :meth:`ScoreCalibration.strength` shows components on an absolute scale
instead: the semantic component is a cosine already; the lexical one is the pair's raw
BM25 through the fixed curve ``1 - exp(-bm25 / lexical_scale)``, where
``lexical_scale`` is the median BM25 of the relevant tune pairs (so a typical relevant
pair reads 63%); the semantic one likewise through ``1 - exp(-cosine / semantic_scale)``,
``semantic_scale`` the median centred cosine of the relevant tune pairs (centred cosines are
small: a relevant pair's 0.15 read as a bar at 15%); the structured one is already absolute
(shared domains and tags).

No Flask or SQLAlchemy here: this is library code.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "BAND_KEYS",
    "CALIBRATION_PATH",
    "Band",
    "ScoreCalibration",
    "band_shares",
    "calibrate",
    "load_calibration",
]

#: Band keys, best first.
BAND_KEYS: tuple[str, ...] = ("strong", "possible", "weak")
#: Where ``flask matcher calibrate-bands --write`` stores the calibration.
CALIBRATION_PATH = Path(__file__).with_name("data") / "score_bands.json"
#: A band is the longest run of the next-best pairs whose share of relevant pairs is at
#: least this (strong, possible); what is left is weak.
TARGET_SHARES: Mapping[str, float] = {"strong": 0.8, "possible": 0.15}
#: Fewest pairs a band is measured on.
MIN_PAIRS = 5


@dataclass(frozen=True)
class Band:
    """A score band.

    Attributes:
        key: One of :data:`BAND_KEYS`.
        min_score: Lowest fused score in the band (inclusive).
        share: Share of the band's evaluation pairs that were labelled relevant.
        pairs: Evaluation pairs in the band.
        relevant: Of which relevant.
    """

    key: str
    min_score: float
    share: float
    pairs: int
    relevant: int

    @property
    def in_ten(self) -> int:
        """The share as "about N in 10"."""
        return math.floor(self.share * 10 + 0.5)


@dataclass(frozen=True)
class ScoreCalibration:
    """Bands (best first) and the strength curves of the components.

    Attributes:
        bands: Bands from the best down; the last starts at 0.
        lexical_scale: BM25 that reads as 63% strength.
        source: What it was measured on (file and split, for the page and docs).
        semantic_scale: Semantic component (the centred cosine) that reads as 63% strength;
            0: the component is shown as it is.
    """

    bands: tuple[Band, ...]
    lexical_scale: float
    source: str = ""
    semantic_scale: float = 0.0

    def band(self, score: float) -> Band:
        """The band of a fused score.

        Args:
            score: ``Match.score``.

        Returns:
            The best band whose ``min_score`` the score reaches.
        """
        for band in self.bands:
            if score >= band.min_score:
                return band
        return self.bands[-1]

    def strength(self, components: Mapping[str, float], raw: Mapping[str, float]) -> dict[str, float]:
        """Component strengths on an absolute scale, each 0..1.

        Args:
            components: ``Match.components``.
            raw: ``Explanation.raw`` (``"bm25"``: the pair's raw lexical score).

        Returns:
            ``semantic`` (``1 - exp(-cosine / semantic_scale)``, the cosine as in the fused
            score; the cosine itself without a scale), ``lexical`` (``1 - exp(-bm25 /
            lexical_scale)``) and ``structured``.
        """
        bm25 = max(float(raw.get("bm25", 0.0)), 0.0)
        scale = self.lexical_scale if self.lexical_scale > 0 else 1.0
        cosine = max(float(components.get("semantic", 0.0)), 0.0)
        return {
            "semantic": 1.0 - math.exp(-cosine / self.semantic_scale) if self.semantic_scale > 0 else cosine,
            "lexical": 1.0 - math.exp(-bm25 / scale),
            "structured": float(components.get("structured", 0.0)),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what :func:`load_calibration` reads)."""
        return {
            "bands": [asdict(b) for b in self.bands],
            "lexical_scale": self.lexical_scale,
            "semantic_scale": self.semantic_scale,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreCalibration:
        """The calibration stored by :meth:`to_dict`.

        Raises:
            ValueError: Bands missing, unknown or not best first.
        """
        bands = tuple(Band(**b) for b in data.get("bands", ()))
        if not bands or any(b.key not in BAND_KEYS for b in bands):
            raise ValueError(f"bands must be some of {BAND_KEYS}")
        if any(a.min_score < b.min_score for a, b in itertools.pairwise(bands)):
            raise ValueError("bands must be ordered best first")
        return cls(
            bands, float(data.get("lexical_scale", 1.0)), str(data.get("source", "")),
            float(data.get("semantic_scale", 0.0)),
        )


def _run(pairs: Sequence[tuple[float, bool]], start: int, target: float) -> int:
    """End (exclusive) of the longest run from ``start`` with a relevant share >= target."""
    best = start
    relevant = 0
    for i in range(start, len(pairs)):
        relevant += pairs[i][1]
        n = i - start + 1
        # A band ends between two different scores, never inside a tie.
        boundary = i + 1 == len(pairs) or pairs[i + 1][0] < pairs[i][0]
        if n >= MIN_PAIRS and relevant / n >= target and boundary:
            best = i + 1
    return best


def calibrate(
    scores: Sequence[float],
    relevant: Sequence[bool],
    relevant_bm25: Sequence[float],
    *,
    relevant_semantic: Sequence[float] = (),
    source: str = "",
    targets: Mapping[str, float] = TARGET_SHARES,
) -> ScoreCalibration:
    """Bands and the lexical curve from labelled, scored pairs.

    Pairs are sorted by score; the strong band is the longest run of the best pairs
    whose share of relevant pairs is at least ``targets["strong"]`` (and at least
    :data:`MIN_PAIRS` pairs); the possible band the longest next run with at least
    ``targets["possible"]``; the rest is weak. Each band reports its measured share.

    Args:
        scores: Fused scores of the pairs.
        relevant: Whether each pair is labelled relevant (grade 1 or 2).
        relevant_bm25: Raw BM25 of the relevant pairs (for ``lexical_scale``).
        relevant_semantic: Semantic components of the relevant pairs (for ``semantic_scale``;
            none: the semantic component is shown as it is).
        source: What the pairs are (shown in reports).
        targets: Share wanted of the strong and possible bands.

    Returns:
        The calibration. A band that no run reaches is left out.

    Raises:
        ValueError: Lengths differ or there are no pairs.
    """
    if len(scores) != len(relevant):
        raise ValueError("scores and relevant differ in length")
    if not scores:
        raise ValueError("no pairs to calibrate on")
    pairs = sorted(zip((float(s) for s in scores), (bool(r) for r in relevant), strict=True),
                   key=lambda p: -p[0])
    bands: list[Band] = []
    start = 0
    for key in BAND_KEYS[:-1]:
        end = _run(pairs, start, targets[key])
        if end > start:
            part = pairs[start:end]
            hits = sum(r for _s, r in part)
            bands.append(Band(key, round(math.floor(part[-1][0] * 1000) / 1000, 3),
                              round(hits / len(part), 3), len(part), hits))
            start = end
    rest = pairs[start:]
    hits = sum(r for _s, r in rest)
    bands.append(Band(BAND_KEYS[-1], 0.0, round(hits / len(rest), 3) if rest else 0.0, len(rest), hits))
    positive = sorted(b for b in relevant_bm25 if b > 0)
    scale = positive[len(positive) // 2] if positive else 1.0
    close = sorted(c for c in relevant_semantic if c > 0)
    semantic_scale = close[len(close) // 2] if close else 0.0
    return ScoreCalibration(tuple(bands), round(float(scale), 4), source, round(float(semantic_scale), 4))


def band_shares(
    calibration: ScoreCalibration, scores: Sequence[float], relevant: Sequence[bool]
) -> list[tuple[Band, int, int]]:
    """How other labelled pairs (e.g. the test split) fall into calibrated bands.

    Args:
        calibration: Bands to check.
        scores: Fused scores of the pairs.
        relevant: Whether each is labelled relevant.

    Returns:
        ``(band, pairs, relevant pairs)`` per band, best first.
    """
    counts = {b.key: [0, 0] for b in calibration.bands}
    for score, rel in zip(scores, relevant, strict=True):
        count = counts[calibration.band(score).key]
        count[0] += 1
        count[1] += bool(rel)
    return [(b, counts[b.key][0], counts[b.key][1]) for b in calibration.bands]


@lru_cache(maxsize=4)
def _read(path: str) -> ScoreCalibration:
    return ScoreCalibration.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def load_calibration(path: str | os.PathLike[str] | None = None) -> ScoreCalibration:
    """The stored calibration (read once per path and process).

    Args:
        path: A file written by :meth:`ScoreCalibration.to_dict`; None = the shipped
            :data:`CALIBRATION_PATH`.

    Returns:
        The calibration.
    """
    return _read(str(path or CALIBRATION_PATH))
