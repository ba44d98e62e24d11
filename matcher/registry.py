"""Name-based access to every pluggable strategy (what configs refer to).

* ``ENCODERS``: ``"hashing"`` (fake, for tests) and ``"sentence-transformers"``; any
  other name is a model name or path (see ``get_encoder``).
* ``SCORERS``: lexical scorers ``"bm25"`` and ``"tfidf"``.
* ``FUSIONS``: ``"weighted"``, ``"minmax"`` and ``"rrf"``.
* ``ANN_INDEXES``: dense indexes ``None``/``"exact"`` and ``"hnsw"``.

New strategies are added by inserting into these dicts (e.g. from a plugin module).
"""

from __future__ import annotations

from typing import Any

from .dense import ANN_INDEXES, make_dense_index
from .encoders import ENCODERS, get_encoder
from .fusion import FUSIONS, Fusion
from .lexical import SCORERS, LexicalIndex

__all__ = [
    "ANN_INDEXES",
    "ENCODERS",
    "FUSIONS",
    "SCORERS",
    "get_encoder",
    "get_fusion",
    "get_scorer",
    "make_dense_index",
]


def _lookup(registry: dict[str, Any], kind: str, name: str) -> Any:
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose from {sorted(registry)}") from None


def get_fusion(name: str) -> Fusion:
    """Fusion function by name.

    Args:
        name: Key of ``FUSIONS``.

    Returns:
        ``fusion(components, weights, *, rrf_k=60) -> scores``.
    """
    return _lookup(FUSIONS, "fusion", name)


def get_scorer(name: str, **params: Any) -> LexicalIndex:
    """New, unfitted lexical index by name.

    Args:
        name: Key of ``SCORERS``.
        **params: Constructor parameters (e.g. ``k1``, ``b`` for BM25).

    Returns:
        The unfitted index; call ``.fit(texts)``.
    """
    return _lookup(SCORERS, "lexical scorer", name)(**params)
