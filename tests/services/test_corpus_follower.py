"""A web process's follower thread brings other people's edits into its rankers, so that no
request waits for them; a person's own edit is in their next page at once."""

from __future__ import annotations

import time

import pytest

from models import Capability, Challenge, User
from models.vocabulary import CorpusKind
from portal.database import db
from portal.services import recommendations, startups
from portal.services.recommendations import changes, corpus

from .test_corpus_changes import XRAY_TEXT
from .test_recommendations import _world


@pytest.fixture
def following(app):
    """Set CORPUS_FOLLOW_SECONDS for the test; stop the follower afterwards."""
    before = app.config["CORPUS_FOLLOW_SECONDS"]

    def set_seconds(seconds: float) -> None:
        app.config["CORPUS_FOLLOW_SECONDS"] = seconds
        corpus.caches(app).follower = None  # a running follower leaves its loop

    yield set_seconds
    set_seconds(before)


def _held(app):
    return corpus.caches(app).fitted[corpus.CAPABILITIES.name]


def _fitted_afresh(app):
    """The capability corpus fitted whole in a request, the caches and counters emptied first."""
    with app.test_request_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        return corpus._fitted(corpus.CAPABILITIES)


def _edit(member_id, capability_id, **changes):
    """The startup member saves their capability (in the caller's app or request context)."""
    startups.update_capability(db.get(User, member_id), db.get(Capability, capability_id), XRAY_TEXT | changes)
    db.commit()


def test_another_persons_edit_is_brought_by_the_follower_not_by_the_request(app, make, following):
    _dept, _clinic, xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    following(0.05)
    with app.test_request_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        recommendations.recommend_startups(db.get(Challenge, xray.id), None)
        fitted = corpus._fitted(corpus.CAPABILITIES)
        asked = list(fitted.results)
    with app.app_context():  # someone else's edit (no web session of ours)
        _edit(member.id, bot.id)
    with app.test_request_context():
        assert corpus._fitted(corpus.CAPABILITIES) is fitted  # served as held: the request does not catch up
    deadline = time.monotonic() + 10
    while _held(app).version == fitted.version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _held(app).version == fitted.version + 1
    assert corpus.caches(app).stats["rows_loaded"] == len(fitted.ranker.candidates_) + 1  # one row read
    assert corpus.caches(app).stats["full_fits"] == 1
    # Ranked again by the follower before the swap: the next page finds it ready.
    assert asked and list(_held(app).results) == asked


def test_a_persons_own_edit_is_in_their_next_ranking_at_once(app, make, following):
    _dept, _clinic, _xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    following(60)  # a follower would not look again during the test
    fitted = _fitted_afresh(app)
    with app.test_request_context():  # the same person's request: the edit, then the next page
        _edit(member.id, bot.id)
        epoch, version = changes.current_version(CorpusKind.CAPABILITY)
        assert changes.own_version(CorpusKind.CAPABILITY, epoch) == version == fitted.version + 1
        assert corpus._fitted(corpus.CAPABILITIES).version == version
    with app.test_request_context():  # anyone else meanwhile keeps the held version
        _edit(member.id, bot.id, readiness=7)
    with app.test_request_context():
        assert corpus._fitted(corpus.CAPABILITIES).version == version


def test_without_a_follower_the_request_catches_up(app, make, following):
    _dept, _clinic, _xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    following(0)
    fitted = _fitted_afresh(app)
    with app.app_context():
        _edit(member.id, bot.id)
    with app.test_request_context():
        assert corpus._fitted(corpus.CAPABILITIES).version == fitted.version + 1
        assert corpus.caches(app).follower is None
