"""The embeddings cache for whole texts: a text's vector is read from the ``embeddings``
table (:mod:`.stored`) and encoded only when it is not there.

An unchanged text is never encoded twice. The table keeps the encoder's *raw* vectors;
centering (see :mod:`.corpus`) is applied on top when a corpus is fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.encoders import Role

from .settings import encoder, limit_threads
from .stored import find, save


def cached_vectors(texts: Sequence[str], role: Role = "passage") -> tuple[np.ndarray, list[int]]:
    """Return the vectors of ``texts`` already in the cache and their positions; encode nothing."""
    enc = encoder()
    _role, hashes, found = find(enc, texts, role)
    positions = [i for i, h in enumerate(hashes) if h in found]
    if not positions:
        return np.zeros((0, enc.dim), dtype=np.float32), []
    return np.stack([found[hashes[i]] for i in positions]).astype(np.float32), positions


def vectors_for(texts: Sequence[str], role: Role = "passage", *, model: str | None = None) -> np.ndarray:
    """Return vectors for ``texts``, reading the cache and encoding only what is missing
    (with the configured encoder, or the one named ``model``)."""
    enc = encoder(model)
    role, hashes, found = find(enc, texts, role)
    missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in found]
    if missing:
        fresh = enc.encode([t for _h, t in missing], role=role)
        limit_threads()
        new = {text_hash: np.asarray(raw, dtype="<f4") for (text_hash, _t), raw in zip(missing, fresh, strict=True)}
        found.update(new)
        save(enc.model_id, new)
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    return np.stack([found[h] for h in hashes]).astype(np.float32)
