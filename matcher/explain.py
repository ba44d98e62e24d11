"""Evidence for a match: shared key terms and the best-matching sentence pair."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

from .encoders import Encoder
from .text import denies, normalize, normalized, split_sentences, text_forms

__all__ = ["Pairs", "best_pairs", "evidence_sentences", "key_terms"]

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
    return [s for s in split_sentences(text, max_sentences=max_sentences * 2) if not denies(s)][
        :max_sentences
    ]


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


def key_terms(
    query_text: str,
    candidate_text: str,
    contributions: Sequence[tuple[str, float]],
    max_terms: int = 8,
    *,
    query_forms: Mapping[str, AbstractSet[str]] | None = None,
    query_pairs: Pairs | None = None,
    candidate_pairs: Pairs | None = None,
    words: Callable[[str], Sequence[str]] | None = None,
    single_words: frozenset[str] = frozenset(),
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
        query_pairs: ``translator.trusted_pairs(query_text, candidate_text)``.
        candidate_pairs: ``translator.trusted_pairs(candidate_text, query_text)``.
        words: Segments a run of Chinese characters into words
            (``DictionaryTranslator.segment``).
        single_words: One-character words that may be shown.

    Returns:
        Display terms, in contribution order.
    """
    if max_terms <= 0 or not contributions:
        return ()
    q_norm, c_norm = normalized(query_text), normalized(candidate_text)
    q_forms = text_forms(query_text) if query_forms is None else query_forms
    c_forms = text_forms(candidate_text)
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

    def whole_word(term: str) -> str | None:
        if words is None:
            return None
        found = [
            w for w in (*text_words(q_norm), *text_words(c_norm))
            if term in w and w in q_norm and w in c_norm and (len(w) > 1 or w in single_words)
        ]
        return max(found, key=lambda w: (len(w), w)) if found else None

    terms: list[str] = []
    for token, weight in contributions:
        if weight <= 0 or len(terms) >= max_terms:
            continue
        forms = q_forms.get(token, set()) | c_forms.get(token, set())
        term = min(forms, key=lambda f: (len(f), f)) if forms else None
        if term is not None and term in q_norm and term in c_norm:
            if _CJK_TERM.match(term):
                term = whole_word(term)
            if term is not None and term not in terms:
                terms.append(term)
            continue
        # Across languages: an English word of one text, a Chinese word of the other.
        shown = None
        english = present(q_forms.get(token, set()), q_norm)
        found = _pair_for(token, candidate_pairs)
        if english and found and found[1] in candidate_text:
            phrase = normalize(found[0])
            shown = f"{phrase if phrase in q_norm else english} = {found[1]}"
        english = present(c_forms.get(token, set()), c_norm)
        found = _pair_for(token, query_pairs)
        if shown is None and english and found and found[1] in query_text:
            phrase = normalize(found[0])
            shown = f"{found[1]} = {phrase if phrase in c_norm else english}"
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
