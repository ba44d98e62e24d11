"""Evidence for a match: shared key terms and the best-matching sentence pair."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import cache, lru_cache
from typing import Any

import numpy as np

from .encoders import Encoder
from .text import denies, normalize, normalized, split_sentences, text_forms

__all__ = ["DisplayMemo", "Pairs", "best_pairs", "evidence_sentences", "key_terms"]

_CJK_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def evidence_sentences(text: str, max_sentences: int = 12) -> list[str]:
    """The sentences of ``text`` that may be quoted as evidence: split so that
    abbreviations ("Cap. 599", "e.g.") do not cut them, and none that denies something
    ("We do not offer diagnosis", 「本公司不提供診斷」).

    Args:
        text: Any text.
        max_sentences: Keep at most this many (the first ones).

    Returns:
        Sentences in text order.
    """
    return list(_evidence_sentences(text, max_sentences))


#: Texts whose evidence sentences are remembered: a page's explanations split its candidates'
#: texts, and the same challenges' texts come back after every edit of the corpus.
EVIDENCE_TEXTS_KEPT = 1024


@lru_cache(maxsize=EVIDENCE_TEXTS_KEPT)
def _evidence_sentences(text: str, max_sentences: int) -> tuple[str, ...]:
    return tuple(s for s in split_sentences(text, max_sentences=max_sentences * 2) if not denies(s))[:max_sentences]


#: Trusted cross-language translations of one text against the other:
#: token -> (English as written, Chinese word as written); see
#: :meth:`matcher.translate.DictionaryTranslator.trusted_pairs`.
Pairs = Mapping[str, tuple[str, str]]
_CJK_TERM = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _pair_for(token: str, pairs: Pairs | None) -> tuple[str, str] | None:
    """The trusted pair a lexical token belongs to (a phrase pair's key has several words)."""
    if not pairs:
        return None
    if token in pairs:
        return pairs[token]
    for key, pair in pairs.items():
        if " " in key and token in key.split():
            return pair
    return None


class DisplayMemo:
    """Each (query text, candidate text) pair's display term of each token, for
    :func:`key_terms`, for the ``size`` pairs explained last.

    What a token is shown as depends on the two texts (and the translation) alone; only
    the tokens' order, their contributions, moves when the corpus's statistics do. A page
    ranked again after an edit of the corpus explains mostly the same pairs, so their key
    terms then cost a sort instead of a pass over both texts. Safe across threads.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._pairs: OrderedDict[tuple[Any, ...], dict[str, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def pair(self, *key: Any) -> dict[str, str | None]:
        """The (mutable) display terms remembered for the pair ``key``: the translator (or
        segmenter) used, the query's text and the candidate's text."""
        with self._lock:
            found = self._pairs.get(key)
            if found is None:
                found = self._pairs[key] = {}
                while len(self._pairs) > self.size:
                    self._pairs.popitem(last=False)
            else:
                self._pairs.move_to_end(key)
            return found

    def __len__(self) -> int:
        return len(self._pairs)

    def clear(self) -> None:
        """Forget every pair."""
        with self._lock:
            self._pairs.clear()


#: Shared words that say nothing about a match, so never shown as key terms: the place
#: every challenge and most startups name. (Numbers are not shown either: "000" of "30,000".)
UNINFORMATIVE_TERMS = frozenset({"hong", "kong", "hk", "hksar", "香港", "香港特區"})


def key_terms(
    query_text: str,
    candidate_text: str,
    contributions: Sequence[tuple[str, float]],
    max_terms: int = 8,
    *,
    query_forms: Mapping[str, AbstractSet[str]] | None = None,
    query_pairs: Pairs | Callable[[], Pairs] | None = None,
    candidate_pairs: Pairs | Callable[[], Pairs] | None = None,
    words: Callable[[str], Sequence[str]] | None = None,
    single_words: frozenset[str] = frozenset(),
    memo: dict[str, str | None] | None = None,
) -> tuple[str, ...]:
    """Turn lexical contributions into display terms that occur in both texts.

    A Latin token is shown as its shortest surface form seen in either text (the stemmer
    only strips a plural "s", so that form is a prefix of the others), and only if that
    string is a substring of both normalised texts.

    Chinese has no spaces, so the lexical index scores character bigrams, which cross
    word boundaries (跌倒風險 gives 倒風). A Chinese term is shown only as a whole word
    that both texts contain: the longest word of the ``words`` segmentation of either
    text that holds the bigram and occurs in the other text. Single characters are shown
    only when they are listed in ``single_words`` (the glossary's one-character terms).
    Without ``words`` no Chinese term is shown.

    Across languages (dictionary translation), an English token is shown as a pair with
    the Chinese word it translates, query side first ("vaccine = 疫苗" or
    "疫苗 = vaccine"), only when the translation is trusted (``query_pairs`` /
    ``candidate_pairs``: glossary terms, or a dictionary sense chosen by the other
    text's words).

    Args:
        query_text: Query text.
        candidate_text: Candidate text.
        contributions: ``(token, contribution)`` pairs, largest first
            (``LexicalIndex.contributions``).
        max_terms: Maximum number of terms returned.
        query_forms: ``text_forms(query_text)``, when explaining several candidates
            for the same query.
        query_pairs: ``translator.trusted_pairs(query_text, candidate_text)``, or a
            function giving it (called only when a token's display is not in ``memo``).
        candidate_pairs: ``translator.trusted_pairs(candidate_text, query_text)``, or
            a function giving it.
        words: Segments a run of Chinese characters into words
            (``DictionaryTranslator.segment``).
        single_words: One-character words that may be shown.
        memo: This pair's display term of each token (None: none shown), read and
            filled here (:class:`DisplayMemo`): the display of a token depends on the two
            texts alone, so a later ranking of the same pair, whose contributions moved
            with the corpus's statistics, only orders them again.

    Returns:
        Display terms, in contribution order.
    """
    if max_terms <= 0 or not contributions:
        return ()
    @cache
    def texts() -> tuple[str, str, Mapping[str, AbstractSet[str]], Mapping[str, AbstractSet[str]]]:
        """The normalised texts and their tokens' surface forms, read once and only when a
        token's display is not remembered."""
        q_forms = text_forms(query_text) if query_forms is None else query_forms
        return normalized(query_text), normalized(candidate_text), q_forms, text_forms(candidate_text)

    @cache
    def pairs(side: str) -> Pairs | None:
        """The trusted pairs of one side (``query`` or ``candidate``), asked for once."""
        given = query_pairs if side == "query" else candidate_pairs
        return given() if callable(given) else given

    segmented: dict[str, list[str]] = {}

    def text_words(text: str) -> list[str]:
        if text not in segmented:
            segmented[text] = [
                w for run in _CJK_RUNS.findall(text) for w in (words(run) if words else ())
            ]
        return segmented[text]

    def present(forms: AbstractSet[str], text: str) -> str | None:
        found = [f for f in forms if f in text]
        return min(found, key=lambda f: (len(f), f)) if found else None

    def whole_word(term: str, q_norm: str, c_norm: str) -> str | None:
        if words is None:
            return None
        found = [
            w for w in (*text_words(q_norm), *text_words(c_norm))
            if term in w and w in q_norm and w in c_norm and (len(w) > 1 or w in single_words)
        ]
        return max(found, key=lambda w: (len(w), w)) if found else None

    def display(token: str) -> str | None:
        """What ``token`` is shown as, or None: a term both texts contain, or across
        languages a trusted pair."""
        q_norm, c_norm, q_forms, c_forms = texts()
        forms = q_forms.get(token, set()) | c_forms.get(token, set())
        term = min(forms, key=lambda f: (len(f), f)) if forms else None
        if term is not None and (term.isdigit() or term in UNINFORMATIVE_TERMS):
            return None
        if term is not None and term in q_norm and term in c_norm:
            return whole_word(term, q_norm, c_norm) if _CJK_TERM.match(term) else term
        # Across languages: an English word of one text, a Chinese word of the other.
        english = present(q_forms.get(token, set()), q_norm)
        found = _pair_for(token, pairs("candidate"))
        if english and found and found[1] in candidate_text:
            phrase = normalize(found[0])
            return f"{phrase if phrase in q_norm else english} = {found[1]}"
        english = present(c_forms.get(token, set()), c_norm)
        found = _pair_for(token, pairs("query"))
        if english and found and found[1] in query_text:
            phrase = normalize(found[0])
            return f"{found[1]} = {phrase if phrase in c_norm else english}"
        return None

    terms: list[str] = []
    for token, weight in contributions:
        if weight <= 0 or len(terms) >= max_terms:
            continue
        if memo is not None and token in memo:
            shown = memo[token]
        else:
            shown = display(token)
            if memo is not None:
                memo[token] = shown
        if shown is not None and shown not in terms:
            terms.append(shown)
    return tuple(terms[:max_terms])


def best_pairs(
    encoder: Encoder,
    query_text: str,
    candidate_texts: Sequence[str],
    *,
    max_sentences: int = 12,
    batch_size: int = 32,
) -> list[tuple[str, str, float] | None]:
    """Most similar (query sentence, candidate sentence) pair for each candidate.

    Encodes only the sentences of the given candidates (the top results), all in one
    batch, so the cost is bounded by ``(1 + len(candidate_texts)) * max_sentences``.
    Sentences that deny something are never quoted (:func:`evidence_sentences`).

    Args:
        encoder: Sentence encoder (query role for query sentences).
        query_text: Query text.
        candidate_texts: Texts of the candidates to explain.
        max_sentences: Sentences considered per text.
        batch_size: Encoding batch size.

    Returns:
        One ``(query_sentence, candidate_sentence, cosine)`` or None (no sentences)
        per candidate.
    """
    q_sents = evidence_sentences(query_text, max_sentences)
    c_sents = [evidence_sentences(t, max_sentences) for t in candidate_texts]
    if not q_sents:
        return [None] * len(candidate_texts)
    flat = [s for sents in c_sents for s in sents]
    q_vecs = encoder.encode(q_sents, role="query", batch_size=batch_size)
    c_vecs = encoder.encode(flat, role="passage", batch_size=batch_size)
    out: list[tuple[str, str, float] | None] = []
    start = 0
    for sents in c_sents:
        if not sents:
            out.append(None)
            continue
        sims = q_vecs @ c_vecs[start : start + len(sents)].T
        start += len(sents)
        qi, ci = np.unravel_index(int(np.argmax(sims)), sims.shape)
        out.append((q_sents[qi], sents[ci], float(sims[qi, ci])))
    return out
