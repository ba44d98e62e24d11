"""Recommendations both ways, the embeddings cache and learnt weights."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from models import Dismissal, Embedding, RankerVersion, Trial
from portal.database import db
from portal.services import recommendations


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
    dept, clinic, xray, bot, _vision = _world(make)
    make.challenge(dept, title="Closed dental chatbot", status="closed",
                   problem_statement="A dental clinic chatbot for appointments, closed already.")
    make.challenge(dept, title="Expired dental chatbot", closing_on=date.today() - timedelta(days=1),
                   problem_statement="A dental clinic chatbot for appointments, past its closing date.")
    with app.app_context():
        recommendations.clear_caches()
        startup = db.get(type(bot.startup), bot.startup_id)
        results = recommendations.recommend_challenges(startup, None)
        assert [r.challenge.id for r in results][:1] == [clinic.id]
        assert {r.challenge.status for r in results} == {"open"}
        assert all(r.challenge.closing_on >= date.today() for r in results)


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
    dept, clinic, xray, bot, vision = _world(make)
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
