"""A web process's follower thread brings other people's edits into its rankers, so that no
request waits for them; a person's own edit is in their next page at once."""

from __future__ import annotations

import threading
import time

import flask
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import Capability, Challenge, Startup, User
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


def _without_follower(app, make, following):
    """The world, the member of BookBot's startup and the capability corpus fitted afresh, with
    no follower (each catch-up happens where the test calls it)."""
    _dept, clinic, xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    following(0)
    return clinic, xray, bot, member, _fitted_afresh(app)


def _caught_up(fitted):
    """``fitted`` caught up to the current version (in the caller's app context)."""
    version = changes.current_version(CorpusKind.CAPABILITY)[1]
    return corpus._catch_up(corpus.CAPABILITIES, fitted, version, corpus.clock.today())


def _edit(member_id, capability_id, **changes):
    """The startup member saves their capability (in the caller's app or request context)."""
    startups.update_capability(db.get(User, member_id), db.get(Capability, capability_id), XRAY_TEXT | changes)
    db.commit()


def test_another_persons_edit_is_brought_by_the_follower_not_by_the_request(app, make, following, monkeypatch):
    trims = []
    monkeypatch.setattr(corpus.heap, "release_free_memory", lambda: trims.append(1) or True)
    _dept, _clinic, xray, bot, _vision = _world(make)
    member = make.user("startup", startup_id=bot.startup_id)
    following(0.05)
    with app.test_request_context():
        recommendations.clear_caches()
        corpus.caches(app).stats.clear()
        recommendations.recommend_startups(db.get(Challenge, xray.id), None)
        fitted = corpus._fitted(corpus.CAPABILITIES)
        asked = list(fitted.results)
    # The follower waits for its process to be idle before it catches up (requests never
    # do): gated here, it cannot swap the edit in before the check below.
    gate = threading.Event()
    idle_wait = corpus.Idle.wait

    def gated(idle):
        gate.wait(10)
        return idle_wait(idle)

    monkeypatch.setattr(corpus.Idle, "wait", gated)
    with app.app_context():  # someone else's edit (no web session of ours)
        _edit(member.id, bot.id)
    with app.test_request_context():
        assert corpus._fitted(corpus.CAPABILITIES) is fitted  # served as held: the request does not catch up
    gate.set()
    deadline = time.monotonic() + 10
    while _held(app).version == fitted.version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _held(app).version == fitted.version + 1
    assert corpus.caches(app).stats["rows_loaded"] == len(fitted.ranker.candidates_) + 1  # one row read
    assert corpus.caches(app).stats["full_fits"] == 1
    # Ranked again by the follower before the swap: the next page finds it ready.
    assert asked and list(_held(app).results) == asked
    while not trims and time.monotonic() < deadline:  # at the end of the follower's round
        time.sleep(0.02)
    assert trims  # the memory the old version held is given back


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
    _clinic, _xray, bot, member, fitted = _without_follower(app, make, following)
    with app.app_context():
        _edit(member.id, bot.id)
    with app.test_request_context():
        assert corpus._fitted(corpus.CAPABILITIES).version == fitted.version + 1
        assert corpus.caches(app).follower is None


class _Ticks:
    """A perf_counter that moves one second a reading: a budget of 1.5 s lets one step run."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_the_follower_warms_the_most_asked_query_first_and_demand_carries_over(app, make, following, monkeypatch):
    clinic, xray, bot, member, fitted = _without_follower(app, make, following)
    with app.test_request_context():
        for _ in range(3):  # the review queue's challenge: asked on every view
            recommendations.recommend_startups(db.get(Challenge, clinic.id), None)
        recommendations.recommend_startups(db.get(Challenge, xray.id), None)  # asked once, more recently
        often, once = (next(q for q in fitted.scored if q.key == f"challenge:{c.id}") for c in (clinic, xray))
        assert fitted.demand[often] > fitted.demand[once] >= 1
    with app.app_context():
        _edit(member.id, bot.id)
        edited = _caught_up(fitted)
        assert edited is not None
        assert edited.demand[often] == fitted.demand[often] / 2  # carried, halved
        monkeypatch.setattr(corpus, "time", _Ticks())
        edited.warmed_from(fitted, budget=1.5)
    assert list(edited.scored) == [often]  # the one step the budget allowed: the most asked, not the newest
    assert edited.demand[often] == fitted.demand[often] / 2  # warming is not demand


def test_the_follower_lets_go_of_what_nobody_asked_lately(app, make, following):
    clinic, xray, bot, member, fitted = _without_follower(app, make, following)
    with app.test_request_context():
        recommendations.recommend_startups(db.get(Challenge, clinic.id), None)
        recommendations.recommend_startups(db.get(Challenge, xray.id), None)
        asked, stale = (next(q for q in fitted.scored if q.key == f"challenge:{c.id}") for c in (clinic, xray))
    with fitted.lock:  # the x-ray challenge was last asked more than two versions ago
        for key in [k for k in fitted.demand if k == stale or (isinstance(k, tuple) and k[0] == stale)]:
            del fitted.demand[key]
    with app.app_context():
        _edit(member.id, bot.id)
        edited = _caught_up(fitted)
        assert edited is not None
        edited.warmed_from(fitted, budget=10.0)
    assert asked in edited.scored and stale not in edited.scored
    assert {key[0] for key in edited.results} == {asked}
    assert edited.demand[asked] > 0 and edited.demand[stale] == 0


def _both_asked_then_edited(app, make, following):  # type: ignore[no-untyped-def]
    """Both challenges ranked on a version, then a capability edited: (the clinic challenge,
    the version asked of, the next version caught up and not yet warmed)."""
    clinic, xray, bot, member, fitted = _without_follower(app, make, following)
    with app.test_request_context():
        for challenge_id in (clinic.id, xray.id):
            recommendations.recommend_startups(db.get(Challenge, challenge_id), None)
    with app.app_context():
        _edit(member.id, bot.id)
        edited = _caught_up(fitted)
    assert edited is not None
    return clinic, fitted, edited


def test_the_follower_counts_which_of_its_warmed_rankings_pages_asked_for(app, make, following):
    from portal.metrics import RANKINGS_WARMED

    clinic, fitted, edited = _both_asked_then_edited(app, make, following)
    with app.app_context():
        edited.warmed_from(fitted, budget=10.0)
    asked_query = next(q for q in edited.warmed if getattr(q, "key", None) == f"challenge:{clinic.id}")
    assert not edited.used  # warming is not asking
    edited.asked([asked_query])
    edited.asked(["not warmed"])
    assert edited.used == {asked_query}
    before = {o: RANKINGS_WARMED.labels(o)._value.get() for o in ("asked", "unasked")}
    newer = corpus.Fitted(ranker=None, owners={})  # type: ignore[arg-type]  # nothing to warm: counts only
    newer.warmed_from(edited, budget=0.0)
    newer.warmed_from(edited, budget=0.0)  # a version is counted once
    assert RANKINGS_WARMED.labels("asked")._value.get() == before["asked"] + 1
    assert RANKINGS_WARMED.labels("unasked")._value.get() == before["unasked"] + len(edited.warmed) - 1


def test_demand_is_bounded_and_keeps_the_most_asked():
    fitted = corpus.Fitted(ranker=None, owners={})  # type: ignore[arg-type]  # demand needs no ranker
    fitted.asked(["queue"] * 5)
    fitted.asked(range(corpus.DEMAND_KEPT * 3))
    assert len(fitted.demand) <= corpus.DEMAND_KEPT
    assert fitted.demand["queue"] == 5


@given(
    before=st.dictionaries(st.sampled_from([f"cap:{i}" for i in range(12)]), st.integers(1, 4)),
    after=st.dictionaries(st.sampled_from([f"cap:{i}" for i in range(12)]), st.integers(1, 4)),
)
def test_owner_keys_edited_from_the_version_before_equal_those_built_afresh(before, after):
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    unchanged = {k: v for k, v in before.items() if k not in changed}
    after = unchanged | {k: v for k, v in after.items() if k in changed}  # kept keys keep their owner
    old = corpus.Fitted(ranker=None, owners=before)  # type: ignore[arg-type]  # no ranker needed
    new = corpus.Fitted(ranker=None, owners=after)  # type: ignore[arg-type]
    edited = corpus._owner_keys_edited(old.keys_by_owner, before, after, changed)
    assert {o: set(keys) for o, keys in edited.items()} == {o: set(keys) for o, keys in new.keys_by_owner.items()}


def test_a_caught_up_version_derives_its_owner_keys(app, make, following):
    _clinic, _xray, bot, member, fitted = _without_follower(app, make, following)
    with app.app_context():
        assert fitted.keys_by_owner[bot.startup_id] == (f"cap:{bot.id}",)
        added = make.capability(db.get(Startup, bot.startup_id), name="Queue display")
        _edit(member.id, bot.id)
        edited = _caught_up(fitted)
    assert "keys_by_owner" in edited.__dict__  # derived, not built from every owner again
    assert set(edited.keys_by_owner[bot.startup_id]) == {f"cap:{bot.id}", f"cap:{added.id}"}


def test_a_requests_memo_of_the_corpora_ends_with_it(app, make):
    _dept, _clinic, xray, _bot, _vision = _world(make)
    with app.test_request_context():
        recommendations.recommend_startups(db.get(Challenge, xray.id), None)
        request_g = flask.g._get_current_object()  # type: ignore[attr-defined]  # the proxy's object
        assert corpus.MEMO in request_g
    # A Jinja context that rendered a page can keep g alive in a reference cycle: the memo,
    # and the version of the corpus it holds, must not be kept with it.
    assert corpus.MEMO not in request_g


def test_the_follower_warms_between_requests_not_beside_them(app, make, following):
    clinic, _xray, bot, member, fitted = _without_follower(app, make, following)
    with app.test_request_context():
        recommendations.recommend_startups(db.get(Challenge, clinic.id), None)
    with app.app_context():
        _edit(member.id, bot.id)
        edited = _caught_up(fitted)
        assert edited is not None
        warmed_while_busy = []

        def busy() -> bool:  # a request is being served for the first three looks
            warmed_while_busy.append(len(edited.scored) + len(edited.results))
            return len(warmed_while_busy) <= 3

        edited.warmed_from(fitted, budget=10.0, idle=corpus.Idle(busy, patience=5.0))
    assert warmed_while_busy[:3] == [0, 0, 0]  # nothing ranked while the request ran
    assert edited.scored  # and all of it once the process was idle


def test_idle_gives_up_waiting_after_its_patience():
    idle = corpus.Idle(lambda: True, patience=0.05)
    started = time.perf_counter()
    assert 0.04 <= idle.wait() < 0.5
    assert idle.wait() == 0.0  # patience spent: the follower goes on regardless
    assert time.perf_counter() - started < 0.5
    assert corpus.Idle(lambda: False).wait() == 0.0


def test_the_process_counts_the_requests_it_is_serving(app):
    state = corpus.caches(app)
    seen = []

    def start_response(status, headers, exc_info=None):  # called inside the app, mid-request
        seen.append(state.serving)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.input": None, "wsgi.errors": None}
    before = state.serving
    app.wsgi_app(environ, start_response)
    assert seen == [before + 1]
    assert state.serving == before


def test_the_follower_commits_after_each_warmed_ranking(app, make, following):
    _clinic, fitted, edited = _both_asked_then_edited(app, make, following)
    with app.app_context():
        settled = []
        edited.warmed_from(fitted, budget=10.0, settle=lambda: settled.append(len(edited.scored) + len(edited.results)))
    # one settle (the follower's commit) after each step, as soon as it is done: not one at the end
    assert len(settled) >= 2 and settled == sorted(settled) and settled[0] >= 1


def test_the_follower_makes_consecutive_scorings_in_steps_of_several_in_order():
    """Runs of scorings become steps of up to SCORINGS_A_STEP queries (one vector search for
    all); answers and ranked pages stay single steps, and nothing changes place."""
    made = []
    page = (2, ["page"], lambda: None)
    answer = (0, ["answer"], lambda: None)
    scorings = [(1, [f"q{i}"], lambda: None) for i in range(corpus.SCORINGS_A_STEP + 3)]
    steps = corpus._batched_scorings([answer, *scorings, page, (1, ["last"], lambda: None)], made.append)
    assert [(kind, keys) for kind, keys, _step in steps] == [
        (0, ["answer"]),
        (1, [f"q{i}" for i in range(corpus.SCORINGS_A_STEP)]),
        (1, [f"q{i}" for i in range(corpus.SCORINGS_A_STEP, corpus.SCORINGS_A_STEP + 3)]),
        (2, ["page"]),
        (1, ["last"]),
    ]
    for _kind, _keys, step in steps:
        step()
    assert made == [steps[1][1], steps[2][1], ["last"]]
    assert corpus._batched_scorings([], made.append) == []


def test_the_followers_log_counts_rankings_not_steps(app, make, following, caplog):
    """Scorings made several to a step still count one each in the follower's log line."""
    _clinic, fitted, edited = _both_asked_then_edited(app, make, following)
    planned = sum(1 for key, count in fitted.demand.items() if count >= 1)
    with app.app_context(), caplog.at_level("INFO", logger=corpus.log.name):
        edited.warmed_from(fitted, budget=10.0)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("warmed "))
    assert line.startswith(f"warmed {planned} of {planned} rankings"), line
