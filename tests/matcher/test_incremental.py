"""Editing a fitted corpus (HybridRanker.updated) scores exactly as fitting the result anew."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import BM25Index, HybridRanker, Item, RankerConfig, TfidfIndex
from matcher.encoders import HashingEncoder
from matcher.text import dense_text

ENCODER = HashingEncoder(dim=64)
WORDS = [
    "clinic", "chatbot", "booking", "pharmacy", "inspection", "tobacco", "vision", "sms",
    "reminder", "dental", "queue", "patient", "records", "analytics", "牙科", "預約", "控煙", "數據",
]
TAGS = ["ai", "sms", "iot", "nlp", "cv"]
DOMAINS = ["smart_clinic", "health_regulation", "customer_service", "other"]
QUERIES = [
    Item("q:1", "chatbot for clinic booking and sms reminder", domains={"smart_clinic"}, tags={"sms"}),
    Item("q:2", "牙科 預約 queue for dental patient", areas={"dental_clinical"}),
    Item("q:3", "tobacco analytics 控煙 數據 records", domains={"health_regulation"}, tags={"ai", "cv"}),
    Item("q:4", "nothing shared zzz"),
]

text = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
item_fields = st.fixed_dictionaries(
    {
        "text": text,
        "title": st.sampled_from(["", "Clinic tool", "Vision kit"]),
        "domains": st.sets(st.sampled_from(DOMAINS), max_size=2),
        "tags": st.sets(st.sampled_from(TAGS), max_size=3),
        "readiness": st.one_of(st.none(), st.integers(1, 9)),
        "group": st.sampled_from(["startup:1", "startup:2", "startup:3", "startup:4"]),
    }
)
# One edit: ("add", fields), ("replace", which existing item, fields), ("remove", which).
edit = st.one_of(
    st.tuples(st.just("add"), item_fields),
    st.tuples(st.just("replace"), st.integers(0, 10**6), item_fields),
    st.tuples(st.just("remove"), st.integers(0, 10**6)),
)


def _vectors(items: list[Item]) -> np.ndarray:
    return ENCODER.encode([dense_text(i.title, i.text) for i in items]).reshape(len(items), ENCODER.dim)


def _config(lexical: str) -> RankerConfig:
    # Every candidate scored (pool_size above the corpus), explanations off: the comparison
    # is of every score, not of tie order.
    return RankerConfig(lexical=lexical, pool_size=1000, explain_sentences=False, max_key_terms=0)


def _scores(ranker: HybridRanker, query: Item) -> dict[str, tuple[float, ...]]:
    scored = ranker.score(query, query_vector=_vectors([query])[0])
    items = ranker.candidates_
    return {
        items[int(i)].key: (float(scored.fused[p]), *map(float, scored.components[p]))
        for p, i in enumerate(scored.pool.tolist())
    }


def _assert_same(incremental: HybridRanker, lexical: str) -> None:
    items = list(incremental.candidates_)
    full = HybridRanker(_config(lexical), ENCODER).fit(items, _vectors(items) if items else None)
    assert [i.key for i in incremental.candidates_] == [i.key for i in full.candidates_]
    for query in QUERIES:
        np.testing.assert_allclose(incremental.lexical_.score(query.text), full.lexical_.score(query.text), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(incremental.structured_.score(query), full.structured_.score(query), rtol=1e-12, atol=1e-12)
        got, want = _scores(incremental, query), _scores(full, query)
        assert got.keys() == want.keys()
        for key, values in want.items():
            np.testing.assert_allclose(got[key], values, rtol=1e-6, atol=1e-7, err_msg=key)
        for key in want:
            doc = incremental.positions_[key]
            inc_terms = incremental.lexical_.contributions(query.text, doc)
            full_terms = full.lexical_.contributions(query.text, full.positions_[key])
            assert [t for t, _ in inc_terms] == [t for t, _ in full_terms]
    if items:
        assert incremental.dense_ is not None
        np.testing.assert_array_equal(incremental.dense_.get_vectors(np.arange(len(items))), _vectors(items))


@pytest.mark.parametrize("lexical", ["bm25", "tfidf"])
@settings(max_examples=60, deadline=None)
@given(
    initial=st.lists(item_fields, min_size=0, max_size=8),
    batches=st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=5),
)
def test_edits_score_like_a_full_fit_of_the_result(lexical: str, initial: list[dict], batches: list[list[tuple]]) -> None:
    counter = iter(range(10**6))
    first = [Item(f"cap:{next(counter)}", **f) for f in initial]
    ranker = HybridRanker(_config(lexical), ENCODER).fit(first, _vectors(first) if first else None)
    for batch in batches:
        keys = [i.key for i in ranker.candidates_]
        upserts: dict[str, Item] = {}
        removals: set[str] = set()
        for op in batch:
            if op[0] == "add":
                item = Item(f"cap:{next(counter)}", **op[1])
                upserts[item.key] = item
            elif keys and op[0] == "replace":
                key = keys[op[1] % len(keys)]
                if key not in removals:
                    upserts[key] = Item(key, **op[2])
            elif keys and op[0] == "remove":
                key = keys[op[1] % len(keys)]
                if key not in upserts:
                    removals.add(key)
        items = list(upserts.values())
        before = [i.key for i in ranker.candidates_]
        edited = ranker.updated(items, _vectors(items) if items else None, remove=removals)
        assert [i.key for i in ranker.candidates_] == before  # the old ranker is untouched
        ranker = edited
        _assert_same(ranker, lexical)


def test_replacing_keeps_position_and_new_items_go_last() -> None:
    items = [Item("a", "clinic chatbot"), Item("b", "pharmacy inspection"), Item("c", "dental queue")]
    ranker = HybridRanker(_config("bm25"), ENCODER).fit(items, _vectors(items))
    new = [Item("b", "tobacco analytics"), Item("d", "sms reminder")]
    edited = ranker.updated(new, _vectors(new), remove=["a", "unknown"])
    assert [i.key for i in edited.candidates_] == ["b", "c", "d"]
    assert edited.rank(Item("q", "tobacco"), query_vector=_vectors([Item("q", "tobacco")])[0])[0].key == "b"
    assert "a" not in {m.key for m in edited.rank(Item("q", "clinic chatbot"), query_vector=_vectors([Item("q", "clinic chatbot")])[0])}


def test_an_edit_tokenises_only_the_changed_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [Item(f"cap:{i}", f"clinic chatbot number {i}") for i in range(50)]
    ranker = HybridRanker(_config("bm25"), ENCODER).fit(items, _vectors(items))
    seen: list[str] = []
    import matcher.lexical as lexical_module

    real = lexical_module.tokenize
    monkeypatch.setattr(lexical_module, "tokenize", lambda t: seen.append(t) or real(t))
    new = [Item("cap:7", "pharmacy inspection")]
    ranker.updated(new, _vectors(new), remove=["cap:3"])
    assert seen == ["pharmacy inspection"]


def test_a_key_both_upserted_and_removed_is_refused() -> None:
    items = [Item("a", "clinic")]
    ranker = HybridRanker(_config("bm25"), ENCODER).fit(items, _vectors(items))
    with pytest.raises(ValueError):
        ranker.updated(items, _vectors(items), remove=["a"])


@pytest.mark.parametrize("cls", [BM25Index, TfidfIndex])
def test_dead_terms_are_compacted_away_with_the_same_scores(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.lexical as lexical_module

    monkeypatch.setattr(lexical_module, "COMPACT_AFTER", 2)
    index = cls().fit(["alpha beta", "gamma delta", "epsilon zeta"])
    edited = index.edited(np.array([0, 3]), ["eta"])  # drops docs 1 and 2: 4 dead terms, 3 live
    assert sorted(edited.terms_) == ["alpha", "beta", "eta"]
    fresh = cls().fit(["alpha beta", "eta"])
    np.testing.assert_allclose(edited.score("alpha eta gamma"), fresh.score("alpha eta gamma"))


def test_dense_index_edits_from_empty_and_keeps_the_old_one() -> None:
    from matcher import DenseIndex

    empty = DenseIndex().fit(np.zeros((0, 4), dtype=np.float32))
    grown = empty.edited(np.array([1, 0]), np.eye(4, dtype=np.float32)[:2])
    np.testing.assert_array_equal(grown.vectors_, np.eye(4, dtype=np.float32)[[1, 0]])
    edited = grown.edited(np.array([2, 1]), np.eye(4, dtype=np.float32)[2:3])  # row 0 replaced
    np.testing.assert_array_equal(edited.vectors_, np.eye(4, dtype=np.float32)[[2, 0]])
    np.testing.assert_array_equal(grown.vectors_, np.eye(4, dtype=np.float32)[[1, 0]])


BM25_TEXTS = ["clinic chatbot booking", "pharmacy inspection", "dental queue 牙科", "tobacco 控煙 analytics", "sms reminder"]
BM25_QUERIES = ["clinic booking sms", "dental 牙科 queue", "tobacco pharmacy vision", "inspection"]


def _same_as_fresh(edited: BM25Index, texts: list[str]) -> None:
    fresh = BM25Index().fit(texts)
    for query in BM25_QUERIES:
        np.testing.assert_allclose(edited.score(query), fresh.score(query), rtol=1e-12, atol=1e-12)
        for doc in range(len(texts)):
            got, want = edited.contributions(query, doc), fresh.contributions(query, doc)
            assert [t for t, _v in got] == [t for t, _v in want]
            np.testing.assert_allclose([v for _t, v in got], [v for _t, v in want], rtol=1e-12)


def test_bm25_replacing_and_adding_documents_keeps_the_base_and_scores_as_a_fresh_fit() -> None:
    index = BM25Index().fit(BM25_TEXTS)
    before = {q: index.score(q) for q in BM25_QUERIES}
    # Document 1 replaced (with a new term), one added.
    edited = index.edited(np.array([0, 5, 2, 3, 4, 6]), ["vision inspection kit", "clinic vision"])
    assert edited.base_csc_ is index.base_csc_ and edited.base_csr_ is index.base_csr_  # nothing rebuilt
    assert sorted(edited.patched_) == [1, 5] and edited.stale_.tolist() == [1]
    texts = [BM25_TEXTS[0], "vision inspection kit", *BM25_TEXTS[2:], "clinic vision"]
    _same_as_fresh(edited, texts)
    # Edited again, the same document and one of the base.
    again = edited.edited(np.array([0, 1, 2, 6, 4, 5]), ["dental 牙科 booking"])
    assert again.base_csc_ is index.base_csc_
    texts[3] = "dental 牙科 booking"
    _same_as_fresh(again, texts)
    for query, scores in before.items():  # readers of the first version keep theirs
        np.testing.assert_array_equal(index.score(query), scores)


def test_an_edit_that_changes_nothing_keeps_the_scores() -> None:
    """An edit with nothing replaced or added (a draft saved: the published corpus is the
    same) is a no-op, on a fresh index and on one already patched."""
    index = BM25Index().fit(BM25_TEXTS)
    same = index.edited(np.arange(len(BM25_TEXTS)), [])
    _same_as_fresh(same, BM25_TEXTS)
    patched = index.edited(np.array([0, 5, 2, 3, 4]), ["vision inspection kit"])
    texts = [BM25_TEXTS[0], "vision inspection kit", *BM25_TEXTS[2:]]
    _same_as_fresh(patched.edited(np.arange(len(texts)), []), texts)


def test_bm25_compacts_when_a_document_is_removed_or_the_delta_outgrows_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.lexical as lexical_module

    index = BM25Index().fit(BM25_TEXTS)
    removed = index.edited(np.array([0, 2, 3, 4]), [])  # document 1 removed: positions move
    assert removed.base_csc_ is not index.base_csc_ and not removed.patched_
    _same_as_fresh(removed, [BM25_TEXTS[0], *BM25_TEXTS[2:]])

    monkeypatch.setattr(lexical_module, "delta_limit", lambda n_base: 1)
    one = index.edited(np.array([5, 1, 2, 3, 4]), ["sms booking"])
    assert one.base_csc_ is index.base_csc_ and list(one.patched_) == [0]
    two = one.edited(np.array([0, 5, 2, 3, 4]), ["queue analytics"])  # a second document: compacted
    assert two.base_csc_ is not index.base_csc_ and not two.patched_
    _same_as_fresh(two, ["sms booking", "queue analytics", *BM25_TEXTS[2:]])


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dense_replacing_and_adding_rows_keeps_the_matrix_and_scores_as_a_fresh_fit(dtype: str) -> None:
    from matcher import DenseIndex

    rng = np.random.default_rng(7)
    start = rng.standard_normal((6, 8)).astype(np.float32)
    index = DenseIndex(dtype=dtype).fit(start)
    new = rng.standard_normal((2, 8)).astype(np.float32)
    edited = index.edited(np.array([0, 6, 2, 3, 4, 5, 7]), new)  # row 1 replaced, one added
    assert edited.base_ is index.base_ and sorted(edited.patched_) == [1, 6]
    want = np.vstack([start[:1], new[:1], start[2:], new[1:]])
    fresh = DenseIndex(dtype=dtype).fit(want)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_allclose(edited.scores(queries), fresh.scores(queries), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(edited.scores(queries[0]), fresh.scores(queries[0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(edited.get_vectors(np.array([6, 1, 0])), fresh.get_vectors(np.array([6, 1, 0])))
    np.testing.assert_array_equal(edited.vectors_, fresh.vectors_)
    np.testing.assert_array_equal(index.vectors_, start.astype(dtype))  # the old index unchanged
    removed = edited.edited(np.array([0, 2, 3, 4, 5, 6]), np.zeros((0, 8)))  # row 1 removed: copied
    assert removed.base_ is not index.base_ and not removed.patched_
    np.testing.assert_array_equal(removed.vectors_, fresh.vectors_[[0, 2, 3, 4, 5, 6]])


@pytest.mark.parametrize("cls", [BM25Index, TfidfIndex])
def test_scoring_several_queries_at_once_equals_each_alone_bit_for_bit(cls: type) -> None:
    """`score_each` (the columns the queries share read once) gives each query exactly its
    `score`, on a fresh fit and on edited versions (a stale base row, a delta)."""
    queries = [*BM25_QUERIES, "", "no such words", BM25_QUERIES[0]]
    index = cls().fit(BM25_TEXTS)
    edited = index.edited(np.array([0, 5, 2, 3, 4, 6]), ["vision inspection kit", "clinic vision"])
    again = edited.edited(np.array([0, 1, 2, 6, 4, 5]), ["dental 牙科 booking"])
    for version in (index, edited, again):
        together = version.score_each(queries)
        assert together.shape == (len(queries), version.n_docs_)
        for query, row in zip(queries, together, strict=True):
            assert row.tolist() == version.score(query).tolist()
        terms = [version.query_terms(q) for q in queries]
        assert version.score_each(terms).tolist() == together.tolist()
    assert index.score_each([]).shape == (0, index.n_docs_)
