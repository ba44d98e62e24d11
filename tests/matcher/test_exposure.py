"""Fair exposure (matcher.exposure): the report, the Gini coefficient and the cap."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.exposure import cap_exposure, exposure_report, gini, max_places


def test_gini_of_equal_and_concentrated_shares():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_report_counts_top_k_places_and_those_never_shown():
    rankings = [["a", "b", "c"], ["a", "c", "d"], ["a", "b", "e"]]
    rep = exposure_report(rankings, ["a", "b", "c", "d", "e", "f"], k=2)
    assert rep.places == 6 and rep.queries == 3
    assert rep.shares["a"] == pytest.approx(0.5) and rep.shares["f"] == 0.0
    assert rep.most[0] == ("a", pytest.approx(0.5))
    assert rep.never == 3  # d, e and f are never in a top two


def test_without_a_cap_the_lists_are_unchanged():
    rankings = [["a", "b", "c"], ["a", "c"]]
    assert cap_exposure(rankings, None, k=2) == rankings


def test_a_capped_candidate_gives_up_its_weakest_places():
    rankings = [["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"], ["c", "b", "a"]]
    scores = [{"a": 0.9, "b": 0.5, "c": 0.1}, {"b": 0.9, "a": 0.3, "c": 0.2},
              {"a": 0.8, "c": 0.6, "b": 0.1}, {"c": 0.9, "b": 0.4, "a": 0.35}]
    # 4 lists x 1 place; a cap of 0.25 allows one place each.
    capped = cap_exposure(rankings, 0.25, k=1, scores=scores)
    # a gives up its weaker place (list 2, 0.8), then c (0.6 there) and b (0.1): list 2
    # has no one left who is within the cap.
    assert [c[:1] for c in capped] == [["a"], ["b"], [], ["c"]]
    assert capped[0] == ["a", "b", "c"] and capped[2] == []


def test_cap_out_of_range_is_refused():
    with pytest.raises(ValueError, match="cap"):
        cap_exposure([["a"]], 1.5)
    with pytest.raises(ValueError, match="cap"):
        cap_exposure([["a"]], 0.0)


rankings_strategy = st.lists(
    st.lists(st.integers(min_value=0, max_value=25), min_size=0, max_size=30, unique=True),
    min_size=1, max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(rankings=rankings_strategy, cap=st.floats(min_value=0.01, max_value=1.0), k=st.integers(1, 10))
def test_with_the_cap_no_candidate_exceeds_it(rankings, cap, k):
    capped = cap_exposure(rankings, cap, k=k)
    limit = max_places(cap, len(rankings), k)
    counts = Counter(c for ranked in capped for c in ranked[:k])
    # No candidate holds more than the cap's share of the top-k places.
    assert all(n <= limit for n in counts.values())
    assert all(n / (len(rankings) * k) <= cap for n in counts.values()) or limit == 1
    # Each list keeps its own candidates in their order, only without places given up;
    # a list loses a place only to keep someone within the cap.
    for before, after in zip(rankings, capped, strict=True):
        assert after == [c for c in before if c in set(after)]
        for gone in set(before[:k]) - set(after):
            assert counts[gone] == limit
