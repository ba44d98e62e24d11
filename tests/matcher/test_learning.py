"""Learning fusion weights from approvals and rejections."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher import HybridRanker, LearnedWeights, NotEnoughData, RankerConfig, fit_weights


def _synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    # Approval depends strongly on semantic, weakly on structured, not on lexical.
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    logit = 8 * (x[:, 0] - 0.5) + 2 * (x[:, 2] - 0.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_refuses_too_little_data() -> None:
    x, y = _synthetic(400)
    few_positive = np.concatenate([np.flatnonzero(y == 1)[:9], np.flatnonzero(y == 0)[:50]])
    with pytest.raises(NotEnoughData, match="at least 10"):
        fit_weights(x[few_positive], y[few_positive])
    with pytest.raises(NotEnoughData):
        fit_weights(np.zeros((0, 3)), np.zeros(0))
    assert issubclass(NotEnoughData, ValueError)


def test_rejects_malformed_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        fit_weights(np.zeros((30, 2)), np.zeros(30))
    with pytest.raises(ValueError, match="0 or 1"):
        fit_weights(np.zeros((30, 3)), np.full(30, 2))


def test_learns_the_right_signs_and_weights() -> None:
    x, y = _synthetic(2000)
    learned = fit_weights(x, y, random_state=0)
    assert learned.coef["semantic"] > learned.coef["structured"] > 0
    assert abs(learned.coef["lexical"]) < 0.5 * learned.coef["structured"] + 0.5
    assert learned.weights["semantic"] > 0.6
    assert sum(learned.weights.values()) == pytest.approx(1.0, abs=1e-5)
    assert min(learned.weights.values()) >= 0


def test_negative_signal_only_is_refused() -> None:
    x, _ = _synthetic(400)
    y = (x.sum(axis=1) < 1.5).astype(int)  # every component hurts approval
    with pytest.raises(NotEnoughData, match="positively"):
        fit_weights(x, y)


def test_round_trip_and_feeds_ranker_config() -> None:
    x, y = _synthetic(500, seed=1)
    learned = fit_weights(x, y)
    again = fit_weights(x, y)
    assert learned.version == again.version and learned.version.startswith("lw1-")
    data = json.loads(json.dumps(learned.to_dict()))
    assert LearnedWeights.from_dict(data) == learned
    with pytest.raises(ValueError, match="schema"):
        LearnedWeights.from_dict({**data, "schema": 99})
    cfg = RankerConfig.from_mapping({"weights": learned.weights})
    assert isinstance(HybridRanker(cfg), HybridRanker)
