"""Recommendations both ways, on top of the ``matcher`` library.

One job per module (each imports only those before it):

- :mod:`.stored`: vectors in the ``embeddings`` table (:func:`.stored.lookup`,
  :func:`.stored.save`) and the encoder that reads them first (:class:`.stored.StoredEncoder`);
- :mod:`.settings`: matcher settings from the app config and the model's preset
  (:func:`settings`, :func:`ranker_config`) and the encoder (:func:`encoder`);
- :mod:`.embeddings`: the embeddings cache (:func:`vectors_for`, :func:`cached_vectors`);
- :mod:`.items`: the ORM-to-matcher mapping (:func:`challenge_item`, ...);
- :mod:`.indexing`: encoding ahead of ranking, texts and their evidence sentences
  (:func:`challenge_changed`, :func:`store_evidence`, :func:`reindex`);
- :mod:`.changes`: the corpus change log, written with each edit's transaction
  (:func:`track_corpus_changes`);
- :mod:`.corpus`: the fitted corpora, edited as the change log says, and their per-app
  caches (:func:`clear_caches`, :func:`warm_up`);
- :mod:`.exposure`: how often each startup is in the open challenges' top ten, and the
  optional cap ``MATCHER_EXPOSURE_CAP`` (:func:`exposure_report`);
- :mod:`.ranking`: :func:`recommend_startups`, :func:`recommend_challenges`, ...;
- :mod:`.learning`: pair scores, training examples and :func:`train_weights`.

Note: ``recommendations.settings`` is the function; the module of that name is
``sys.modules["portal.services.recommendations.settings"]``.
"""

from __future__ import annotations

from .changes import track_corpus_changes
from .corpus import (
    CENTERING_QUERY_SAMPLE,
    RESULTS_CACHE_SIZE,
    SCORED_CACHE_SIZE,
    clear_caches,
    init_app,
    published_corpus,
    warm_up,
    warm_up_if_asked,
)
from .embeddings import cached_vectors, vectors_for
from .exposure import report as exposure_report
from .indexing import (
    capability_changed,
    challenge_changed,
    index_size,
    reindex,
    store_evidence,
    work_to_index,
)
from .items import capability_item, challenge_item, startup_item
from .learning import (
    pair_components,
    pair_matches,
    pair_scores_each,
    train_weights,
    training_examples,
)
from .ranking import (
    RECOMMENDED_CHALLENGES,
    Recommendation,
    challenge_ids_by_match,
    recommend_challenges,
    recommend_startups,
    recommend_startups_for_each,
    startup_matches,
)
from .settings import MatcherSettings, encoder, loaded_encoder, ranker_config, settings

__all__ = [
    "CENTERING_QUERY_SAMPLE",
    "RECOMMENDED_CHALLENGES",
    "RESULTS_CACHE_SIZE",
    "SCORED_CACHE_SIZE",
    "MatcherSettings",
    "Recommendation",
    "cached_vectors",
    "capability_changed",
    "capability_item",
    "challenge_changed",
    "challenge_ids_by_match",
    "challenge_item",
    "clear_caches",
    "encoder",
    "exposure_report",
    "index_size",
    "init_app",
    "loaded_encoder",
    "pair_components",
    "pair_matches",
    "pair_scores_each",
    "published_corpus",
    "ranker_config",
    "recommend_challenges",
    "recommend_startups",
    "recommend_startups_for_each",
    "reindex",
    "settings",
    "startup_item",
    "startup_matches",
    "store_evidence",
    "track_corpus_changes",
    "train_weights",
    "training_examples",
    "vectors_for",
    "warm_up",
    "warm_up_if_asked",
    "work_to_index",
]
