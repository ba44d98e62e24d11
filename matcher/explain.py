"""Evidence for a match: shared key terms and the best-matching sentence pair."""

from __future__ import annotations

from collections.abc import Sequence

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
) -> tuple[str, ...]:
    """Turn lexical contributions into display terms that occur in both texts.

    A token is shown as its shortest surface form seen in either text (the stemmer only
    strips a plural "s", so that form is a prefix of the others), and only if that
    string is a substring of both normalised texts. A CJK character already covered by
    a shown bigram is skipped as redundant.

    Args:
        query_text: Query text.
        candidate_text: Candidate text.
        contributions: ``(token, contribution)`` pairs, largest first
            (``LexicalIndex.contributions``).
        max_terms: Maximum number of terms returned.
        query_forms: ``surface_forms(query_text)``, when explaining several candidates
            for the same query.

    Returns:
        Display terms, in contribution order.
    """
    if max_terms <= 0 or not contributions:
        return ()
    q_norm, c_norm = normalize(query_text), normalize(candidate_text)
    q_forms = surface_forms(query_text) if query_forms is None else query_forms
    c_forms = surface_forms(candidate_text)
    terms: list[str] = []
    for token, weight in contributions:
        forms = q_forms.get(token, set()) | c_forms.get(token, set())
        if weight <= 0 or not forms:
            continue
        term = min(forms, key=lambda f: (len(f), f))
        if term in q_norm and term in c_norm and term not in terms:
            terms.append(term)
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
