"""Matcher settings from the app config, and the encoder they name.

``MATCHER_MODEL`` (default ``matcher.DEFAULT_ENCODER``, multilingual-e5-small) selects the
encoder and its recommended preset (``matcher.PRESETS``: for multilingual-e5-small,
centering, BM25 on text + CC-CEDICT glosses and min-max fusion; for the bundled English
model, dictionary translation of Chinese texts for the encoder too; for
``use-multilingual``, centering and a cross-language offset);
``MATCHER_CONFIG`` (RankerConfig fields), ``MATCHER_FUSION``, ``MATCHER_CALIBRATION``,
``MATCHER_CENTERING`` and ``MATCHER_TRANSLATION`` override it.

Encoders are loaded once per process (a model is large and the same for every app that
names it); torch is limited to ``MATCHER_TORCH_THREADS`` threads after the first encode.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

import matcher
from models import RankerVersion

from ...database import db
from .stored import StoredEncoder

_lock = threading.Lock()
_encoders: dict[str, matcher.Encoder] = {}
_threads_limited = False


@dataclass(frozen=True)
class MatcherSettings:
    """The matcher configuration resolved from the app config and the model's preset.

    Attributes:
        model: Encoder name (``MATCHER_MODEL``).
        centering: Fit per-language centering on each corpus.
        ranker: ``RankerConfig`` fields (learnt weights are added by :func:`ranker_config`).
        translation: Dictionary translator name (``"cedict"``) or None.
        encoder_translation: The encoder sees the English view of Chinese texts
            (for an English-only model).
        explicit_weights: The weights were set in ``MATCHER_CONFIG`` (learnt ones do not
            replace them).
    """

    model: str
    centering: bool
    ranker: dict[str, Any]
    explicit_weights: bool = False
    translation: str | None = None
    encoder_translation: bool = False


def settings(config: Mapping[str, Any] | None = None) -> MatcherSettings:
    """Resolve the matcher settings: the model's preset, then explicit overrides.

    Order (later wins): ``matcher.preset_for(MATCHER_MODEL)``; ``MATCHER_CONFIG``;
    ``MATCHER_FUSION``; ``MATCHER_CALIBRATION`` (``{}`` switches the preset's offset
    off); ``MATCHER_CENTERING`` (None = the preset's); ``MATCHER_TRANSLATION`` (None =
    the preset's, ``""`` = off).

    Args:
        config: A mapping like ``app.config``; default ``current_app.config``.
    """
    cfg = current_app.config if config is None else config
    model = cfg.get("MATCHER_MODEL") or matcher.DEFAULT_ENCODER
    preset = matcher.preset_for(model)
    explicit = dict(cfg.get("MATCHER_CONFIG") or {})
    mapping: dict[str, Any] = dict(preset.get("ranker") or {})
    mapping.update(explicit)
    if cfg.get("MATCHER_FUSION"):
        mapping["fusion"] = cfg["MATCHER_FUSION"]
    if cfg.get("MATCHER_CALIBRATION") is not None:
        mapping["language_calibration"] = dict(cfg["MATCHER_CALIBRATION"]) or None
    centering = cfg.get("MATCHER_CENTERING")
    if centering is None:
        centering = bool(preset.get("centering", False))
    translation = cfg.get("MATCHER_TRANSLATION")
    if translation is None:
        translation = preset.get("translation")
    translation = translation or None
    if translation and "translation" not in explicit:
        mapping["translation"] = translation
    if "zscore_reference" not in explicit and (
        bool(centering) != bool(preset.get("centering", False))
        or translation != (preset.get("translation") or None)
        or cfg.get("MATCHER_CALIBRATION") is not None
    ):
        # The preset's reference was measured with its own centering, translation and
        # offsets; under others the columns have other means and spreads.
        mapping.pop("zscore_reference", None)
    return MatcherSettings(
        model,
        bool(centering),
        mapping,
        "weights" in explicit,
        translation,
        bool(translation and preset.get("encoder_translation")),
    )


def _encoder_key(model: str | None = None) -> tuple[MatcherSettings, str | None, str]:
    resolved = settings() if model is None else settings({**current_app.config, "MATCHER_MODEL": model})
    translation = resolved.translation if resolved.encoder_translation else None
    return resolved, translation, (f"{resolved.model}+{translation}" if translation else resolved.model)


def loaded_encoder() -> matcher.Encoder | None:
    """The configured encoder if this process has loaded it already, else None (never loads)."""
    key = _encoder_key()[2]
    with _lock:
        return _encoders.get(key)


def encoder(model: str | None = None) -> matcher.Encoder:
    """The configured encoder, loaded once per process (``MATCHER_MODEL``, translated
    when the preset or ``MATCHER_TRANSLATION`` says so); ``model`` names another one,
    with the rest of the configuration (what a re-encoding for a coming model uses).

    A text's vector comes from this process's memory, else from the ``embeddings`` table
    (:class:`.stored.StoredEncoder`), else from the model."""
    resolved, translation, key = _encoder_key(model)
    with _lock:
        if key not in _encoders:
            _encoders[key] = matcher.CachingEncoder(
                StoredEncoder(matcher.with_translation(matcher.get_encoder(resolved.model), translation))
            )
        return _encoders[key]


def limit_threads() -> None:
    """One torch thread per web worker: multi-threaded inference is slower on a loaded
    2-core machine (docs/matching.md section 3). Only if torch is already imported."""
    global _threads_limited
    if _threads_limited or "torch" not in sys.modules:
        return
    sys.modules["torch"].set_num_threads(int(current_app.config.get("MATCHER_TORCH_THREADS") or 1))
    _threads_limited = True


def ranker_config() -> matcher.RankerConfig:
    """The ranking strategy: preset and config (:func:`settings`), with the active learnt
    weights replacing the preset's unless ``MATCHER_CONFIG`` sets weights itself."""
    resolved = settings()
    mapping = dict(resolved.ranker)
    active = db.scalar(select(RankerVersion).where(RankerVersion.active.is_(True)))
    if active is not None and not resolved.explicit_weights:
        mapping["weights"] = matcher.LearnedWeights.from_dict(active.weights).weights
    return matcher.RankerConfig.from_mapping(mapping)
