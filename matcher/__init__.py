"""InnoMatch matching library: rank capabilities for challenges and vice versa.

Pure library: imports only the standard library, numpy, scipy, scikit-learn, hnswlib and
(lazily, for real models) sentence-transformers/torch. See ``matcher.ranker`` for the
pipeline and ``matcher.registry`` for the strategy registries.

The multilingual encoders of ``matcher.multilingual_encoders`` are in the encoder
registry (``get_encoder("use-multilingual")``); their packages load on first encode.

Typical use, one fitted ranker per corpus version::

    enc = get_encoder(os.environ.get("MATCHER_MODEL"))        # or "hashing" in tests
    texts = [dense_text(c.title, c.text) for c in items]       # what gets encoded
    vectors = enc.encode(texts)                                 # cache by text_hash(enc.model_id, t)
    ranker = HybridRanker(RankerConfig.from_mapping(cfg), enc).fit(items, vectors)
    qv = enc.encode([dense_text(q.title, q.text)], role="query")[0]
    for match in ranker.rank(q, query_vector=qv, top_k=10, exclude_keys=done):
        match.key, match.score, match.components, match.explanation.to_dict()
"""

from .centering import LanguageCentering
from .dense import DenseIndex, HNSWIndex, top_k
from .encoders import (
    CachingEncoder,
    Encoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    get_encoder,
)
from .learning import LearnedWeights, NotEnoughData, fit_weights
from .lexical import BM25Index, LexicalIndex, TfidfIndex
from .presets import DEFAULT_ENCODER, PRESETS, preset_for
from .ranker import HybridRanker, RankerConfig, Scored, language_offset
from .text import dense_text, detect_language, text_hash, tokenize
from .translate import DictionaryTranslator, TranslatingEncoder, get_translator, with_translation
from .types import AREAS, COMPONENTS, DOMAINS, Explanation, Item, Match

__all__ = [
    "AREAS",
    "COMPONENTS",
    "DEFAULT_ENCODER",
    "DOMAINS",
    "PRESETS",
    "BM25Index",
    "CachingEncoder",
    "DenseIndex",
    "DictionaryTranslator",
    "Encoder",
    "Explanation",
    "HNSWIndex",
    "HashingEncoder",
    "HybridRanker",
    "Item",
    "LanguageCentering",
    "LearnedWeights",
    "LexicalIndex",
    "Match",
    "NotEnoughData",
    "RankerConfig",
    "Scored",
    "SentenceTransformerEncoder",
    "TfidfIndex",
    "TranslatingEncoder",
    "dense_text",
    "detect_language",
    "fit_weights",
    "get_encoder",
    "get_translator",
    "language_offset",
    "preset_for",
    "text_hash",
    "tokenize",
    "top_k",
    "with_translation",
]
