"""Vectors kept in the ``embeddings`` table, by model and text hash, and the encoder that
reads them before it encodes anything.

Every text the recommender encodes is keyed by ``matcher.text_hash(model, text, role)``:
the whole texts the rankers fit on (:mod:`.embeddings`) and the sentences quoted as
evidence in explanations (:mod:`.indexing` stores those ahead of any page). The table keeps
the encoder's *raw* vectors; centering (see :mod:`.corpus`) is applied on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

import matcher
from matcher.encoders import Role, WrappingEncoder
from models import Embedding

from ... import clock
from ...database import db

#: Text hashes looked up per query (keeps the IN list short).
LOOKUP_CHUNK = 500


def cache_role(enc: matcher.Encoder, role: Role) -> Role:
    """The role a vector is stored under: queries and passages of a symmetric encoder
    encode alike, so one vector serves both."""
    return "passage" if getattr(enc, "symmetric", False) else role


def lookup(model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """The stored vectors among ``hashes`` for ``model``, by hash (read in the current session)."""
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        rows = db.execute(
            select(Embedding.text_hash, Embedding.vector).where(Embedding.model == model, Embedding.text_hash.in_(chunk))
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    return found


def find(enc: matcher.Encoder, texts: Sequence[str], role: Role) -> tuple[Role, list[str], dict[str, np.ndarray]]:
    """The role ``enc`` stores ``role`` under, each text's key, and the stored vectors among them."""
    role = cache_role(enc, role)
    hashes = [matcher.text_hash(enc.model_id, t, role) for t in texts]
    return role, hashes, lookup(enc.model_id, hashes)


def save(model: str, vectors: Mapping[str, np.ndarray]) -> None:
    """Add new vectors in one statement, in text-hash order, skipping any a concurrent
    transaction added: two transactions storing overlapping texts take the unique index's
    locks in the same order, so they wait for each other rather than deadlock."""
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


class StoredEncoder(WrappingEncoder):
    """An encoder that reads the ``embeddings`` table first and encodes only the texts not
    stored there; it never writes (a page view stores nothing: :mod:`.indexing` does, after
    each edit and in ``flask matcher reindex``).

    This is what makes an explanation's evidence sentences cheap on the first page after a
    restart and in every worker: they were encoded once, when their text was saved. Outside
    an app context (a script using the ranker) it is the wrapped encoder.

    Args:
        encoder: The encoder of the vectors (its ``model_id`` is the table's ``model``).
    """

    def __init__(self, encoder: matcher.Encoder) -> None:
        super().__init__(encoder)
        self.model_id = encoder.model_id

    def encode(self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32) -> np.ndarray:
        """The stored vectors of ``texts``, the others encoded now.

        Args:
            texts: Texts to encode.
            role: ``"query"`` or ``"passage"``.
            batch_size: Batch size for the wrapped encoder.

        Returns:
            float32 array ``(len(texts), dim)``.
        """
        if not texts or not has_app_context():
            return self.encoder.encode(texts, role=role, batch_size=batch_size)
        _role, hashes, found = find(self, texts, role)
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes, strict=True) if h not in found))
        fresh = dict(zip(missing, self.encoder.encode(missing, role=role, batch_size=batch_size), strict=True)) if missing else {}
        rows = [found[h] if h in found else fresh[t] for t, h in zip(texts, hashes, strict=True)]
        return np.stack(rows).astype(np.float32)
