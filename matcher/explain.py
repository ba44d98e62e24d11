"""Evidence for a match: shared key terms and the best-matching sentence pair."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .encoders import Encoder
from .text import normalize, split_sentences, surface_forms

__all__ = ["best_pairs", "key_terms"]


def key_terms(
    query_text: str,
    candidate_text: str,
    contributions: Sequence[tuple[str, float]],
    max_terms: int = 8,
    *,
    query_forms: dict[str, set[str]] | None = None,
    query_sources: Mapping[str, str] | None = None,
    candidate_sources: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """Turn lexical contributions into display terms that occur in both texts.

    A token is shown as its shortest surface form seen in either text (the stemmer only
    strips a plural "s", so that form is a prefix of the others), and only if that
    string is a substring of both normalised texts. A CJK character already covered by
    a shown bigram is skipped as redundant.

    With dictionary translation (``matcher.translate``) an English token can match the
    glosses of a Chinese word: it is then shown as the pair of words that occur in the
    two texts, query side first ("vaccine = 疫苗" or "疫苗 = vaccine"); one-character
    Chinese words are not shown as pairs.

    Args:
        query_text: Query text.
        candidate_text: Candidate text.
        contributions: ``(token, contribution)`` pairs, largest first
            (``LexicalIndex.contributions``).
        max_terms: Maximum number of terms returned.
        query_forms: ``surface_forms(query_text)``, when explaining several candidates
            for the same query.
        query_sources: ``DictionaryTranslator.sources(query_text)``: gloss token ->
            the Chinese word of the query it translates.
        candidate_sources: The same for the candidate text.

    Returns:
        Display terms, in contribution order.
    """
    if max_terms <= 0 or not contributions:
        return ()
    q_norm, c_norm = normalize(query_text), normalize(candidate_text)
    q_forms = surface_forms(query_text) if query_forms is None else query_forms
    c_forms = surface_forms(candidate_text)

    def present(forms: set[str], text: str) -> str | None:
        found = [f for f in forms if f in text]
        return min(found, key=lambda f: (len(f), f)) if found else None

    terms: list[str] = []
    # One-character Chinese words are too ambiguous to show as a translation
    # (生 is "to be born", "raw" and "student"); they still count in the score.
    sources = [*(query_sources or {}).values(), *(candidate_sources or {}).values()]
    paired: set[str] = {word for word in sources if len(word) < 2}
    for token, weight in contributions:
        if weight <= 0:
            continue
        forms = q_forms.get(token, set()) | c_forms.get(token, set())
        term = min(forms, key=lambda f: (len(f), f)) if forms else None
        if term is not None and term in q_norm and term in c_norm:
            if term not in terms:
                terms.append(term)
            continue
        # Across languages: an English word of one text, a Chinese word of the other.
        pair = None
        english = present(q_forms.get(token, set()), q_norm)
        if english and candidate_sources and token in candidate_sources:
            chinese = candidate_sources[token]
            if chinese in candidate_text and chinese not in paired:
                pair = (f"{english} = {chinese}", chinese)
        english = present(c_forms.get(token, set()), c_norm)
        if pair is None and english and query_sources and token in query_sources:
            chinese = query_sources[token]
            if chinese in query_text and chinese not in paired:
                pair = (f"{chinese} = {english}", chinese)
        if pair is not None:
            terms.append(pair[0])
            paired.add(pair[1])
    # Only CJK tokens are one character long (Latin ones need two).
    longer = [t for t in terms if len(t) > 1]
    shown = [t for t in terms if len(t) > 1 or not any(t in other for other in longer)]
    return tuple(shown[:max_terms])


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
    q_sents = split_sentences(query_text, max_sentences=max_sentences)
    c_sents = [split_sentences(t, max_sentences=max_sentences) for t in candidate_texts]
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
