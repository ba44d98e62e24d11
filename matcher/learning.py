"""Learn fusion weights from coordinators' decisions.

Each example is one proposed match: its component scores (``semantic``, ``lexical``,
``structured``, as in ``Match.components``) and a label, 1 when a coordinator approved
it and 0 when it was rejected or dismissed. A logistic regression on the components
gives one coefficient per component; the positive parts, normalised to sum to 1, are
the fusion weights for ``RankerConfig.weights`` (the weighted fusion is invariant to
scale, and a negative coefficient cannot be expressed by it, so it becomes 0).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from .types import COMPONENTS

__all__ = ["MIN_PER_CLASS", "SCHEMA", "LearnedWeights", "NotEnoughData", "fit_weights"]

#: Minimum examples of each class before weights are learned.
MIN_PER_CLASS = 10
#: Version of the ``to_dict`` format.
SCHEMA = 1


class NotEnoughData(ValueError):
    """Too few labelled examples (or too little signal) to learn weights."""


@dataclass(frozen=True)
class LearnedWeights:
    """Result of :func:`fit_weights`.

    Attributes:
        weights: Non-negative component weights summing to 1 (for ``RankerConfig.weights``).
        coef: Raw logistic-regression coefficients per component.
        intercept: Logistic-regression intercept.
        n_positive: Approved examples used.
        n_negative: Rejected/dismissed examples used.
        version: Content hash identifying these weights (``"lw1-<12 hex>"``).
        schema: Format version of :meth:`to_dict`.
    """

    weights: dict[str, float]
    coef: dict[str, float]
    intercept: float
    n_positive: int
    n_negative: int
    version: str
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict for persistence.

        Returns:
            All attributes, including ``schema`` and ``version``.
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnedWeights:
        """Rebuild weights saved with :meth:`to_dict`.

        Args:
            data: A dict produced by :meth:`to_dict`.

        Returns:
            The weights.

        Raises:
            ValueError: If the schema is unknown.
        """
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported LearnedWeights schema {data.get('schema')!r}")
        return cls(
            weights={k: float(v) for k, v in data["weights"].items()},
            coef={k: float(v) for k, v in data["coef"].items()},
            intercept=float(data["intercept"]),
            n_positive=int(data["n_positive"]),
            n_negative=int(data["n_negative"]),
            version=str(data["version"]),
            schema=SCHEMA,
        )


def fit_weights(
    X_components: np.ndarray | Sequence[Sequence[float]],
    y: np.ndarray | Sequence[int],
    random_state: int = 0,
    *,
    min_per_class: int = MIN_PER_CLASS,
    C: float = 1.0,
) -> LearnedWeights:
    """Fit fusion weights with logistic regression on component scores.

    Classes are balanced (``class_weight="balanced"``) because approvals are usually
    much rarer than dismissals.

    Args:
        X_components: ``(n, 3)`` component scores in ``COMPONENTS`` order.
        y: ``(n,)`` labels, 1 = approved, 0 = rejected/dismissed.
        random_state: Seed passed to the estimator.
        min_per_class: Minimum examples per class.
        C: Inverse regularisation strength.

    Returns:
        The learned weights.

    Raises:
        NotEnoughData: Fewer than ``min_per_class`` examples of either class, or no
            component has a positive coefficient.
        ValueError: On malformed input.
    """
    x = np.asarray(X_components, dtype=np.float64)
    labels = np.asarray(y).astype(np.int64).ravel()
    if x.ndim != 2 or x.shape[1] != len(COMPONENTS) or x.shape[0] != labels.shape[0]:
        raise ValueError(f"expected X of shape (n, {len(COMPONENTS)}) and y of shape (n,)")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    if min(n_pos, n_neg) < min_per_class:
        raise NotEnoughData(
            f"need at least {min_per_class} approved and {min_per_class} rejected examples, "
            f"got {n_pos} and {n_neg}"
        )
    model = LogisticRegression(
        C=C, class_weight="balanced", max_iter=1000, random_state=random_state
    ).fit(x, labels)
    coef = model.coef_[0]
    positive = np.clip(coef, 0.0, None)
    if positive.sum() <= 0:
        raise NotEnoughData("no component score is positively associated with approval")
    weights = positive / positive.sum()
    payload: dict[str, Any] = {
        "weights": {c: round(float(w), 6) for c, w in zip(COMPONENTS, weights, strict=True)},
        "coef": {c: float(v) for c, v in zip(COMPONENTS, coef, strict=True)},
        "intercept": float(model.intercept_[0]),
        "n_positive": n_pos,
        "n_negative": n_neg,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    return LearnedWeights(**payload, version=f"lw{SCHEMA}-{digest}")
