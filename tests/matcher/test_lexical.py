"""Tokenizer and lexical scorers against reference implementations."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher import BM25Index, TfidfIndex, tokenize
from matcher.lexical import Vocabulary, query_counts
from matcher.ranker import RankerConfig
from matcher.registry import SCORERS

DOCS = [
    "AI chatbot for clinic appointment booking and patient enquiries",
    (
        "Chatbot chatbot chatbot: a very long description of a chatbot that talks to patients "
        "about their appointments, reminders, payments and many other clinic matters"
    ),
    "Computer vision inspection of pharmacy premises",
    "Tobacco control campaign analytics for public engagement",
    "Clinic queue management with SMS reminders",
    "牙科診所預約系統，減少病人輪候時間",
    "衞生署控煙辦公室的執法數據分析平台",
    "Mixed 中英文 platform: 電子病歷 electronic health records",
]
QUERIES = [
    "chatbot for booking clinic appointments",
    "SMS reminders for patients",
    "牙科預約",
    "控煙執法 analytics",
    "nothing matches zzz",
]


def _lucene_idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _rank_bm25_scores(
    docs: list[list[str]], query: list[str], k1: float, b: float
) -> np.ndarray | None:
    """rank_bm25's BM25 with the non-negative Lucene idf we use (None if not installed)."""
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        return None

    class LuceneIdfBM25(BM25Okapi):  # type: ignore[misc]
        def _calc_idf(self, nd: dict[str, int]) -> None:
            for word, freq in nd.items():
                self.idf[word] = _lucene_idf(self.corpus_size, freq)

    return LuceneIdfBM25(docs, k1=k1, b=b).get_scores(query)


def _loop_bm25(docs: list[list[str]], query: list[str], k1: float, b: float) -> list[float]:
    avgdl = sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        total = 0.0
        for term in query:
            tf = doc.count(term)
            df = sum(term in d for d in docs)
            if tf:
                total += (
                    _lucene_idf(len(docs), df)
                    * tf
                    * (k1 + 1)
                    / (tf + k1 * (1 - b + b * len(doc) / avgdl))
                )
        scores.append(total)
    return scores


def test_tokenizer_english_stopwords_plural_and_fullwidth() -> None:
    assert tokenize("The Clinics and the clinic's SERVICES, ＡＩ-based!") == [
        "clinic",
        "clinic",
        "service",
        "ai",
        "based",
    ]
    assert tokenize("process status") == ["process", "status"]  # no naive -s stripping


def test_tokenizer_chinese_unigrams_and_bigrams_skip_function_chars() -> None:
    assert tokenize("牙科診所") == ["牙", "牙科", "科", "科診", "診", "診所", "所"]
    assert "的" not in tokenize("病人的預約") and "人的" not in tokenize("病人的預約")
    assert tokenize("AI 預約 app") == ["ai", "預", "預約", "約", "app"]


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (1.5, 0.75), (0.9, 0.4), (2.0, 1.0)])
def test_bm25_matches_reference_implementations(k1: float, b: float) -> None:
    index = BM25Index(k1=k1, b=b).fit(DOCS)
    tokenized = [tokenize(d) for d in DOCS]
    for query in QUERIES:
        ours = index.score(query)
        q_tokens = tokenize(query)
        np.testing.assert_allclose(ours, _loop_bm25(tokenized, q_tokens, k1, b), rtol=1e-9)
        reference = _rank_bm25_scores(tokenized, q_tokens, k1, b)
        if reference is not None:
            np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)


def test_tfidf_is_cosine_of_sklearn_vectors() -> None:
    index = TfidfIndex().fit(DOCS)
    vec = TfidfVectorizer(analyzer=tokenize, sublinear_tf=True).fit(DOCS)
    docs = vec.transform(DOCS)
    for query in QUERIES:
        expected = (docs @ vec.transform([query]).T).toarray().ravel()
        np.testing.assert_allclose(index.score(query), expected, atol=1e-12)
        assert index.score(query).max() <= 1 + 1e-9


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_chinese_query_matches_chinese_doc(name: str) -> None:
    index = SCORERS[name]().fit(DOCS)
    assert int(np.argmax(index.score("牙科診所預約"))) == 5
    assert int(np.argmax(index.score("控煙辦公室執法"))) == 6
    assert int(np.argmax(index.score("電子病歷 records"))) == 7


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_contributions_sum_to_score_and_are_shared_terms(name: str) -> None:
    index = SCORERS[name]().fit(DOCS)
    query = "chatbot for clinic appointments and SMS reminders 牙科預約"
    scores = index.score(query)
    for doc in range(len(DOCS)):
        contribs = index.contributions(query, doc)
        assert math.isclose(sum(c for _, c in contribs), scores[doc], rel_tol=1e-9, abs_tol=1e-12)
        assert [c for _, c in contribs] == sorted((c for _, c in contribs), reverse=True)
        for token, _ in contribs:
            assert token in tokenize(query) and token in tokenize(DOCS[doc])


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_empty_and_tokenless_corpus_score_zero(name: str) -> None:
    assert SCORERS[name]().fit([]).score("clinic").shape == (0,)
    index = SCORERS[name]().fit(["", "the and of", "!!"])
    assert index.score("clinic the").tolist() == [0.0, 0.0, 0.0]
    assert index.contributions("clinic", 0) == []


def test_unseen_query_terms_are_ignored_and_index_pickles() -> None:
    index = BM25Index().fit(DOCS)
    assert not index.score("zzzz qqqq").any()
    restored = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(restored.score(QUERIES[0]), index.score(QUERIES[0]))


def test_unknown_scorer_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown lexical scorer"):
        RankerConfig(lexical="splade")


# --- a query's columns, remembered per vocabulary and handed on to its copies ---------------


def _fresh_known(vocab: Vocabulary, query: str) -> tuple[list[int], list[float]]:
    found = sorted((vocab.ids[t], c) for t, c in query_counts(query) if t in vocab.ids)
    return [col for col, _c in found], [float(c) for _col, c in found]


def _known(vocab: Vocabulary, query: str) -> tuple[list[int], list[float]]:
    cols, tf = vocab.known(query)
    return cols.tolist(), tf.tolist()


def test_a_remembered_query_learns_the_terms_a_copy_adds_and_siblings_do_not_mix():
    parent = Vocabulary()
    parent.rows([["alpha", "beta"]])
    assert _known(parent, "alpha gamma delta") == ([0], [1.0])  # remembered, gamma and delta unknown
    left, right = parent.copy(), parent.copy()
    left.rows([["gamma"]])
    right.rows([["delta"]])
    assert _known(left, "alpha gamma delta") == ([0, 2], [1.0, 1.0])  # gamma is column 2 here
    assert _known(right, "alpha gamma delta") == ([0, 2], [1.0, 1.0])  # delta is column 2 here
    assert _known(left, "gamma") == ([2], [1.0]) and _known(right, "gamma") == ([], [])
    assert _known(parent, "alpha gamma delta") == ([0], [1.0])  # the older vocabulary is unchanged


def test_compacting_forgets_the_remembered_columns():
    vocab = Vocabulary()
    counts = vocab.rows([["alpha"], ["beta", "gamma"]])
    assert _known(vocab, "gamma") == ([2], [1.0])
    vocab.compacted(counts, np.array([False, True, True]))
    assert _known(vocab, "gamma") == ([1], [1.0])


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["grow", "copy", "ask"]), st.lists(st.sampled_from("abcdefgh"), max_size=4)),
        max_size=25,
    )
)
def test_remembered_columns_equal_a_fresh_lookup_through_any_growth_and_copies(steps):
    vocabs = [Vocabulary()]
    for action, tokens in steps:
        current = vocabs[len(tokens) % len(vocabs)]
        if action == "grow":
            current.rows([tokens])
        elif action == "copy":
            vocabs.append(current.copy())
        for vocab in vocabs:
            query = " ".join(tokens + ["a"])
            assert _known(vocab, query) == _fresh_known(vocab, query)


def test_an_index_fitted_on_tokens_scores_as_one_fitted_on_their_texts():
    from matcher import BM25Index
    from matcher.text import tokenize

    texts = ["Queue tickets for dental clinics.", "Chest X-ray triage.", "牙科診所輪候叫號系統。", "Vaccination SMS reminders."]
    query = "dental clinic queue 叫號"
    by_text = BM25Index().fit(texts)
    by_tokens = BM25Index().fit_tokens([tokenize(t) for t in texts])
    assert by_tokens.score(by_tokens.query_tokens(tokenize(query))).tolist() == by_text.score(query).tolist()
    assert by_tokens.query_tokens(["no-such-token"])[0].size == 0
