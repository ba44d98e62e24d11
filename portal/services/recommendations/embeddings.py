"""The embeddings cache: vectors stored in the ``embeddings`` table by model and text hash.

An unchanged text is never encoded twice. The table keeps the encoder's *raw* vectors;
centering (see :mod:`.corpus`) is applied on top when a corpus is fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

import matcher
from matcher.encoders import Role
from models import Embedding

from ... import clock
from ...database import db
from .settings import encoder, limit_threads

#: Text hashes looked up per query (keeps the IN list short).
LOOKUP_CHUNK = 500


def _cache_role(enc: matcher.Encoder, role: Role) -> Role:
    """The role a vector is cached under: queries and passages of a symmetric encoder
    encode alike, so one vector serves both."""
    return "passage" if getattr(enc, "symmetric", False) else role


def _stored(
    enc: matcher.Encoder, texts: Sequence[str], role: Role
) -> tuple[Role, list[str], dict[str, np.ndarray]]:
    """The cache role for ``enc``, each text's cache key, and the cached vectors among them."""
    role = _cache_role(enc, role)
    hashes = [matcher.text_hash(enc.model_id, t, role) for t in texts]
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        rows = db.execute(
            select(Embedding.text_hash, Embedding.vector).where(
                Embedding.model == enc.model_id, Embedding.text_hash.in_(chunk)
            )
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    return role, hashes, found


def cached_vectors(texts: Sequence[str], role: Role = "passage") -> tuple[np.ndarray, list[int]]:
    """Return the vectors of ``texts`` already in the cache and their positions; encode nothing."""
    enc = encoder()
    _role, hashes, found = _stored(enc, texts, role)
    positions = [i for i, h in enumerate(hashes) if h in found]
    if not positions:
        return np.zeros((0, enc.dim), dtype=np.float32), []
    return np.stack([found[hashes[i]] for i in positions]).astype(np.float32), positions


def _store(model: str, vectors: dict[str, np.ndarray]) -> None:
    """Add new vectors in one statement, in text-hash order, skipping any a concurrent
    transaction added: two requests storing overlapping texts take the unique index's locks
    in the same order, so they wait for each other rather than deadlock."""
    if not vectors:
        return
    now = clock.now()
    rows = [
        {"model": model, "text_hash": text_hash, "dim": int(vec.shape[0]), "vector": vec.tobytes(), "created_at": now}
        for text_hash, vec in sorted(vectors.items())
    ]
    dialect = db.get_bind().dialect.name
    stmt: Any = (postgresql.insert(Embedding) if dialect == "postgresql" else sqlite.insert(Embedding)).values(rows)
    db.execute(stmt.on_conflict_do_nothing(index_elements=["model", "text_hash"]))


def vectors_for(texts: Sequence[str], role: Role = "passage", *, model: str | None = None) -> np.ndarray:
    """Return vectors for ``texts``, reading the cache and encoding only what is missing
    (with the configured encoder, or the one named ``model``)."""
    enc = encoder(model)
    role, hashes, found = _stored(enc, texts, role)
    missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in found]
    if missing:
        fresh = enc.encode([t for _h, t in missing], role=role)
        limit_threads()
        new = {text_hash: np.asarray(raw, dtype="<f4") for (text_hash, _t), raw in zip(missing, fresh, strict=True)}
        found.update(new)
        _store(enc.model_id, new)
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    return np.stack([found[h] for h in hashes]).astype(np.float32)
