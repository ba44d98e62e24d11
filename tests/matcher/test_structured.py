"""Structured score: hand-computed values and vectorised == scalar."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import Item
from matcher.structured import StructuredIndex, shared, structured_score


def test_hand_computed_score() -> None:
    query = Item(
        "q", "", domains={"smart_clinic", "other"}, areas={"administration"}, tags={"ai", "nlp"}
    )
    cand = Item(
        "c",
        "",
        domains={"smart_clinic", "customer_service", "other"},
        tags={"AI", "iot", "sms"},
        readiness=5,
    )
    # domains: J({smart_clinic}, {smart_clinic, customer_service}) = 1/2 ("other" ignored)
    # areas: J({administration}, {}) = 0; tags: |{ai}| / min(2, 3) = 1/2; readiness: 4/8
    expected = (0.35 * 0.5 + 0.20 * 0 + 0.30 * 0.5 + 0.15 * 0.5) / 1.0
    assert structured_score(query, cand) == pytest.approx(expected)
    assert shared(query, cand) == (("smart_clinic",), (), ("ai",))


def test_missing_metadata_is_neutral() -> None:
    bare = Item("q", "")
    assert structured_score(bare, Item("c", "")) == 0.0
    # Only readiness applies: the score is the readiness prior alone.
    assert structured_score(bare, Item("c", "", readiness=9)) == pytest.approx(1.0)
    assert structured_score(bare, Item("c", "", tags={"ai"}, readiness=1)) == 0.0


@pytest.mark.parametrize("seed", range(10))
def test_vectorised_equals_scalar(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = {
        "domains": ["smart_clinic", "other", "data_collaboration"],
        "areas": ["regulation", "administration"],
        "tags": ["ai", "iot", "nlp", "blockchain"],
    }

    def item(key: str) -> Item:
        picks = {
            k: set(rng.choice(v, size=int(rng.integers(0, len(v) + 1)), replace=False))
            for k, v in labels.items()
        }
        readiness = int(rng.integers(1, 10)) if rng.random() < 0.5 else None
        return Item(key, "", readiness=readiness, **picks)

    items = [item(f"c{i}") for i in range(int(rng.integers(0, 30)))]
    query = Item("q", "", domains={"smart_clinic", "public_engagement"}, tags={"ai", "quantum"})
    weights = {"domains": 1.0, "areas": 0.5, "tags": 2.0, "readiness": 0.25}
    index = StructuredIndex(weights).fit(items)
    expected = [structured_score(query, c, weights) for c in items]
    np.testing.assert_allclose(index.score(query), expected, atol=1e-12)
    ids = np.arange(len(items))[::2]
    np.testing.assert_allclose(
        index.score(query, ids), np.array(expected)[ids] if items else [], atol=1e-12
    )


def test_item_normalises_fields() -> None:
    item = Item("c", "", domains=["smart_clinic"], tags="AI", readiness=3)
    assert item.domains == frozenset({"smart_clinic"}) and item.tags == frozenset({"ai"})
    with pytest.raises(ValueError, match="readiness"):
        Item("c", "", readiness=10)
