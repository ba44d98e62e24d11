"""The recommender's corpus versions: bumped in the edit's transaction, and an edit
changes rankings by reading only the changed rows (no refit of the corpus)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select, update

from models import Capability, Challenge, CorpusChange, User
from models.vocabulary import CorpusKind, CorpusOp
from portal import clock
from portal.database import db
from portal.services import challenges, recommendations, startups
from portal.services.recommendations import changes, corpus, items

from .test_recommendations import _world

XRAY_TEXT = {
    "name": "Chest X-ray triage",
    "description": "Computer vision that triages chest X-ray images by urgency for radiographers, fast.",
    "deployments": "",
    "readiness": 6,
    "language": "en",
    "domains": ["smart_clinic"],
    "technologies": ["computer vision"],
}


def _stats(app):
    return dict(corpus.caches(app).stats)


def _top_capabilities(challenge_id, limit=5):
    return [r.capability.id for r in recommendations.recommend_startups(db.get(Challenge, challenge_id), None, limit)]


def _score_of(challenge_id, capability_id):
    results = recommendations.recommend_startups(db.get(Challenge, challenge_id), None, 20)
    return next(r.score for r in results if r.capability.id == capability_id)


def test_capability_edit_changes_rankings_reading_only_its_row(app, make):
    _dept, _clinic, xray, bot, vision = _world(make)
    for i in range(6):
        make.capability(make.startup(), name=f"Tool {i}", description=f"Generic office software number {i}.")
    member = make.user("startup", startup_id=bot.startup_id)
    with app.app_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        assert _top_capabilities(xray.id)[0] == vision.id
        before = _score_of(xray.id, bot.id)
        fitted = corpus.capability_corpus()
        assert _stats(app) == {"full_fits": 1, "rows_loaded": 8}
    with app.app_context():
        # The bot's startup now offers X-ray triage instead.
        startups.update_capability(db.get(User, member.id), db.get(Capability, bot.id), XRAY_TEXT)
        db.commit()
    with app.app_context():
        assert _score_of(xray.id, bot.id) > before + 0.2
        assert _stats(app) == {"full_fits": 1, "rows_loaded": 9, "updates": 1}  # one row read, no refit
        edited = corpus.capability_corpus()
        assert edited is not fitted and edited.version == fitted.version + 1
        assert edited.ranker.positions_[f"cap:{bot.id}"] == fitted.ranker.positions_[f"cap:{bot.id}"]
        scores = [(r.capability.id, round(r.score, 9)) for r in recommendations.recommend_startups(db.get(Challenge, xray.id), None)]
    with app.app_context():
        recommendations.clear_caches()  # the same ranking as a whole fit of the edited corpus
        again = [(r.capability.id, round(r.score, 9)) for r in recommendations.recommend_startups(db.get(Challenge, xray.id), None)]
        assert again == scores and _stats(app)["full_fits"] == 2


def test_a_deleted_capability_disappears_without_a_refit(app, make):
    _dept, _clinic, xray, _bot, vision = _world(make)
    member = make.user("startup", startup_id=vision.startup_id)
    with app.app_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        assert vision.id in _top_capabilities(xray.id)
    with app.app_context():
        startups.delete_capability(db.get(User, member.id), db.get(Capability, vision.id))
        db.commit()
        _epoch, version = changes.current_version(CorpusKind.CAPABILITY)
        logged = select(CorpusChange.item_id, CorpusChange.op).where(CorpusChange.version == version)
        assert db.execute(logged).all() == [(vision.id, CorpusOp.DELETE)]
    with app.app_context():
        assert vision.id not in _top_capabilities(xray.id)
        assert f"cap:{vision.id}" not in corpus.capability_corpus().owners
        assert _stats(app) == {"full_fits": 1, "rows_loaded": 2, "updates": 1}  # the deleted row: none to read


def test_version_is_bumped_in_the_edits_transaction_and_not_by_a_rolled_back_edit(app, make):
    _dept, _clinic, _xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    with app.app_context():
        before = changes.current_version(CorpusKind.CAPABILITY)
        startups.update_capability(db.get(User, member.id), db.get(Capability, bot.id), XRAY_TEXT)
        db.flush()
        db.rollback()
        assert changes.current_version(CorpusKind.CAPABILITY) == before
        assert not db.scalars(select(CorpusChange).where(CorpusChange.version > before[1])).all()
    with app.app_context():
        startups.update_capability(db.get(User, member.id), db.get(Capability, bot.id), XRAY_TEXT)
        db.commit()
    with app.app_context():
        epoch, version = changes.current_version(CorpusKind.CAPABILITY)
        assert version == before[1] + 1 and epoch == before[0]
        logged = db.execute(select(CorpusChange.kind, CorpusChange.item_id, CorpusChange.op).where(
            CorpusChange.version == version)).all()
        assert logged == [(CorpusKind.CAPABILITY, bot.id, CorpusOp.UPSERT)]


def test_a_closed_challenge_leaves_the_challenge_corpus_and_an_expired_one_leaves_by_date(app, make):
    dept, clinic, xray, bot, _vision = _world(make)
    officer = make.user("officer", department_id=dept.id)
    soon = make.challenge(dept, title="Dental chatbot for school appointments", closing_on=clock.today() + timedelta(days=2),
                          problem_statement="A chatbot books dental clinic appointments for parents.")
    with app.app_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        startup = db.get(type(bot).startup.property.mapper.class_, bot.startup_id)
        assert {clinic.id, soon.id} <= set(recommendations.challenge_ids_by_match(startup))
    with app.app_context():
        challenges.close_challenge(db.get(User, officer.id), db.get(Challenge, clinic.id))
        db.commit()
    with app.app_context():
        startup = db.get(type(bot).startup.property.mapper.class_, bot.startup_id)
        ids = recommendations.challenge_ids_by_match(startup)
        assert clinic.id not in ids and soon.id in ids
        # One fit of each corpus, the first time: the challenges the startup's profile finds,
        # and the capabilities their pair scores order them by (4 + 2 rows); the close is an update.
        assert _stats(app) == {"full_fits": 2, "rows_loaded": 6, "updates": 1}
    with time_machine.travel(clock.now() + timedelta(days=3), tick=False), app.app_context():
        startup = db.get(type(bot).startup.property.mapper.class_, bot.startup_id)
        ids = recommendations.challenge_ids_by_match(startup)
        assert soon.id not in ids and xray.id in ids
        assert _stats(app) == {"full_fits": 2, "rows_loaded": 6, "updates": 2}  # no row read for the date


def test_a_worker_too_far_behind_fits_in_the_background_and_keeps_serving(app, make, monkeypatch):
    _dept, _clinic, xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    with app.app_context():
        recommendations.clear_caches()
        old = corpus.capability_corpus()
    with app.app_context():
        startups.update_capability(db.get(User, member.id), db.get(Capability, bot.id), XRAY_TEXT)
        db.commit()
    monkeypatch.setattr(corpus, "CATCH_UP_LIMIT", 0)
    with app.app_context():
        assert corpus.capability_corpus() is old  # the request does not wait for the fit
        thread = corpus.caches(app).rebuilding.get(corpus.CAPABILITIES.name)
    if thread is not None:
        thread.join(timeout=60)
    with app.app_context():
        new = corpus.capability_corpus()
        assert new is not old and new.version == old.version + 1
        assert _top_capabilities(xray.id)[0] == bot.id


def test_a_bulk_statement_asks_for_a_whole_fit(app, make):
    _world(make)
    with app.app_context():
        db.execute(update(Capability).values(readiness=3))
        db.commit()
        _epoch, version = changes.current_version(CorpusKind.CAPABILITY)
        logged = select(CorpusChange.kind, CorpusChange.item_id, CorpusChange.op).where(CorpusChange.version == version)
        assert db.execute(logged).all() == [
            (CorpusKind.CAPABILITY, None, CorpusOp.ALL)
        ]


def test_lean_rows_map_to_the_same_items_as_the_orm(app, make):
    _world(make)
    make.challenge(title="中文挑戰", problem_statement="診所排隊時間太長。", desired_outcomes="縮短輪候", language="zh-Hant",
                   tags=["ai", "queue"], domains=["smart_clinic", "data_collaboration"])
    with app.app_context():
        caps = db.scalars(select(Capability).options(*items.CAPABILITY_ROWS).order_by(Capability.id)).all()
        assert [r.item for r in items.capability_rows()] == [items.capability_item(c) for c in caps]
        assert [r.owner for r in items.capability_rows()] == [c.startup_id for c in caps]
        chs = db.scalars(select(Challenge).options(*items.CHALLENGE_ROWS).order_by(Challenge.id)).all()
        assert [r.item for r in items.challenge_rows()] == [items.challenge_item(c) for c in chs]
        assert [r.item for r in items.challenge_rows([chs[-1].id])] == [items.challenge_item(chs[-1])]


def test_deleting_a_startup_logs_the_deletion_of_each_of_its_capabilities(app, make):
    startup = make.startup()
    first = make.capability(startup)
    second = make.capability(startup)
    make.capability()  # another startup's
    with app.app_context():
        db.delete(db.get(type(startup), startup.id))
        db.commit()
        _epoch, version = changes.current_version(CorpusKind.CAPABILITY)
        logged = select(CorpusChange.item_id, CorpusChange.op).where(CorpusChange.version == version)
        assert sorted(db.execute(logged).all()) == [(first.id, CorpusOp.DELETE), (second.id, CorpusOp.DELETE)]


def test_a_worker_whose_changes_were_pruned_fits_again_in_the_background(app, make):
    _world(make)
    with app.app_context():
        recommendations.clear_caches()
        old = corpus.capability_corpus()
    make.capability(name="Newcomer")
    with app.app_context():
        db.execute(CorpusChange.__table__.delete())  # the newcomer's change row, as if pruned
        db.commit()
    with app.app_context():
        assert corpus.capability_corpus() is old
        thread = corpus.caches(app).rebuilding.get(corpus.CAPABILITIES.name)
    if thread is not None:
        thread.join(timeout=60)
    with app.app_context():
        assert len(corpus.capability_corpus().owners) == 3


def test_activating_learnt_weights_ranks_with_them_without_a_refit(app, make):
    import matcher
    from models import RankerVersion

    _dept, _clinic, xray, bot, vision = _world(make)
    with app.app_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        before = {cap: _score_of(xray.id, cap) for cap in (bot.id, vision.id)}
        fitted = corpus.capability_corpus()
        assert _stats(app) == {"full_fits": 1, "rows_loaded": 2}
    learnt = matcher.LearnedWeights(
        weights={"semantic": 0.1, "lexical": 0.8, "structured": 0.1}, coef={}, intercept=0.0,
        n_positive=20, n_negative=20, version="lw1-test",
    )
    with app.app_context():
        db.add(RankerVersion(version=learnt.version, weights=learnt.to_dict(), examples=40, active=True))
        db.commit()
    with app.app_context():
        after = {cap: _score_of(xray.id, cap) for cap in (bot.id, vision.id)}
        assert after != before  # ranked with the learnt weights
        assert _stats(app) == {"full_fits": 1, "rows_loaded": 2, "reconfigured": 1}  # nothing read, nothing fitted
        now = corpus.capability_corpus()
        assert now is not fitted and now.ranker.lexical_ is fitted.ranker.lexical_  # the same fitted indexes
        assert now.ranker.config.weights == learnt.weights
    with app.app_context():
        recommendations.clear_caches()  # the same scores as a whole fit with the learnt weights
        assert {cap: _score_of(xray.id, cap) for cap in (bot.id, vision.id)} == after
        assert _stats(app)["full_fits"] == 2
