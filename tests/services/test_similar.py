"""Already solved elsewhere? Similar published challenges for a draft, and the lab's duplicate flag."""

from __future__ import annotations

from datetime import timedelta

import pytest

import matcher
from models import Challenge, User
from portal import clock
from portal.services import similar

LICENCE = {
    "title": "Automated completeness checking for private healthcare facility licence applications",
    "problem_statement": (
        "Case officers spend about three hours per licence application checking that every required"
        " document is present, signed and still valid. Applications arrive as scanned PDF files with"
        " floor plans, staff registration certificates, equipment lists and insurance papers, and nearly"
        " half are returned at least once for missing or expired documents."
    ),
    "desired_outcomes": "Missing or expired documents are found on submission; checking takes minutes.",
    "domains": ["health_regulation"], "functional_area": "regulation", "tags": ["ocr", "document ai"],
}
VACCINE = {
    "title": "Reminding elderly residents to receive their seasonal influenza vaccination",
    "problem_statement": (
        "Many elderly residents of care homes miss their seasonal flu jab because reminders are sent by"
        " post. We want timely reminders by phone call or messaging in Cantonese, with easy booking at a"
        " nearby clinic and follow-up for those who did not attend."
    ),
    "domains": ["public_engagement"], "functional_area": "protection_promotion", "tags": ["sms", "reminders"],
}


def near_copy() -> similar.DraftText:
    """Another department's wording of the licence challenge."""
    return similar.DraftText(
        title="Checking private healthcare facility licence applications for completeness automatically",
        problem_statement=(
            "Applications arrive as scanned PDF files with floor plans, staff registration certificates,"
            " equipment lists and insurance papers. Our case officers spend about three hours per licence"
            " application checking that every required document is present, signed and still valid."
        ),
        domains=["health_regulation"], functional_area="regulation", tags=["ocr"], language="en",
    )


@pytest.fixture
def world(make):
    dept, other = make.department(), make.department()
    return {
        "licence": make.challenge(dept, **LICENCE),
        "vaccine": make.challenge(dept, **VACCINE),
        "officer": make.user("officer", department=other),
    }


def test_a_near_copy_of_a_published_challenge_is_found_first_and_banded_as_a_possible_duplicate(ctx, world):
    viewer = ctx.get(User, world["officer"].id)
    found = similar.similar_to_draft(viewer, near_copy())
    assert found, "the near copy found nothing"
    top = found[0]
    assert top.challenge.id == world["licence"].id
    assert top.band == "near_copy" and top.similarity >= similar.duplicate_threshold()
    assert "licence" in top.key_terms or "application" in " ".join(top.key_terms)
    assert "health_regulation" in top.shared_domains
    assert world["vaccine"].id not in [s.challenge.id for s in found]  # unrelated: not listed


def test_an_unrelated_draft_finds_nothing(ctx, world):
    draft = similar.DraftText(
        title="Dental chair maintenance scheduling",
        problem_statement="Our dental chairs break down because servicing is planned on paper calendars.",
        language="en",
    )
    assert similar.similar_to_draft(None, draft) == []


def test_an_empty_draft_is_not_compared(ctx, world):
    assert similar.similar_to_draft(None, similar.DraftText()) == []


def test_drafts_are_not_in_the_corpus(ctx, world, make):
    hidden = make.challenge(make.department(), status="draft", **{**LICENCE, "title": "Secret licence draft"})
    found = similar.similar_to_draft(None, near_copy())
    assert hidden.id not in [s.challenge.id for s in found]


def test_editing_a_challenge_never_lists_itself(ctx, world):
    licence = ctx.get(Challenge, world["licence"].id)
    draft = similar.DraftText(title=licence.title, problem_statement=licence.problem_statement, language="en")
    found = similar.similar_to_draft(None, draft, challenge_id=licence.id)
    assert licence.id not in [s.challenge.id for s in found]


def test_completed_trials_are_shown_when_public_or_to_their_parties(ctx, world, make):
    startup = make.startup(name="DocuCheck Ltd")
    cap = make.capability(startup)
    make.trial(world["licence"], cap, status="completed", outcome="adopted", completed_at=clock.now())
    quiet = make.startup(name="Quiet Ltd")
    make.trial(world["licence"], make.capability(quiet), status="completed", outcome="not_adopted",
               completed_at=clock.now(), signed_off=False)
    (top, *_rest) = similar.similar_to_draft(ctx.get(User, world["officer"].id), near_copy())
    assert [(t.startup.name, party) for t, party in top.trials] == [("DocuCheck Ltd", False)]


def _recent_near_copy(make):
    """A challenge opened two days ago that reads like the published licence challenge."""
    copy = near_copy()
    return make.challenge(make.department(), title=copy.title, problem_statement=copy.problem_statement,
                          domains=copy.domains, functional_area=copy.functional_area, tags=copy.tags,
                          opened_at=clock.now() - timedelta(days=2))


def test_the_queue_flags_a_recent_near_copy_and_not_an_unrelated_one(ctx, world, make):
    recent = _recent_near_copy(make)
    old = ctx.get(Challenge, world["vaccine"].id)
    old.opened_at = clock.now() - timedelta(days=1)
    ctx.commit()
    flagged = similar.recent_duplicates(None)
    by_id = {c.id: s for c, s in flagged}
    assert recent.id in by_id and by_id[recent.id].challenge.id == world["licence"].id
    assert world["vaccine"].id not in by_id


def test_with_no_published_challenge_nothing_is_found(ctx, make):
    make.challenge(status="draft")
    assert similar.similar_to_draft(None, near_copy()) == []


def test_the_queue_reuses_its_answer_until_a_published_challenge_changes(ctx, world, make, monkeypatch):
    recent = _recent_near_copy(make)
    calls = []
    real = similar._flag
    monkeypatch.setattr(similar, "_flag", lambda *args: calls.append(1) or real(*args))
    first = similar.recent_duplicates(None)
    second = similar.recent_duplicates(None)
    assert len(calls) == 1 and [c.id for c, _s in first] == [c.id for c, _s in second]
    assert recent.id in [c.id for c, _s in first]
    vaccine = ctx.get(Challenge, world["vaccine"].id)
    vaccine.title = "Reminding elderly residents about flu jabs"
    ctx.commit()
    similar.recent_duplicates(None)
    assert len(calls) == 2  # a new version of the published challenges asks again


def test_a_remembered_answer_reads_no_checked_challenge_again(ctx, world, make, monkeypatch):
    """The queue's view reads the recent challenges' ids; their texts, domains and tags are
    read only when the answer is computed."""
    recent = _recent_near_copy(make)
    reads = []
    real = similar._checked
    monkeypatch.setattr(similar, "_checked", lambda ids: reads.append(tuple(ids)) or real(ids))
    first = similar.recent_duplicates(None)
    second = similar.recent_duplicates(None)
    assert len(reads) == 1 and recent.id in reads[0]
    assert [(c.id, s.challenge.id) for c, s in first] == [(c.id, s.challenge.id) for c, s in second]
    assert recent.id in [c.id for c, _s in second]


def test_a_challenge_edit_reaches_the_similar_challenges_by_reading_its_row_alone(ctx, world):
    """The published challenges' corpus is edited with the changed challenge (no refit on the request)."""
    from portal.services.recommendations import corpus

    corpus.clear_caches()
    stats = corpus.caches().stats
    stats.clear()
    before = similar.similar_to_draft(None, near_copy())
    assert [s.challenge.id for s in before] == [world["licence"].id]
    assert dict(stats) == {"full_fits": 1, "rows_loaded": 2}
    vaccine = ctx.get(Challenge, world["vaccine"].id)
    vaccine.title, vaccine.problem_statement = near_copy().title, near_copy().problem_statement
    vaccine.domains, vaccine.tags = ["health_regulation"], ["ocr"]
    ctx.commit()
    after = similar.similar_to_draft(None, near_copy())
    assert world["vaccine"].id in [s.challenge.id for s in after]
    assert dict(stats) == {"full_fits": 1, "rows_loaded": 3, "updates": 1}  # one row read, no refit
    corpus.clear_caches()  # the same answer as a whole fit of the edited corpus
    again = similar.similar_to_draft(None, near_copy())
    assert [(s.challenge.id, s.similarity, s.score) for s in again] == [(s.challenge.id, s.similarity, s.score) for s in after]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("multilingual-e5-small", (0.94, 0.915, 0.905)),
        ("default", (0.75, 0.65, 0.55)),
        ("hashing", (similar.DEFAULT_DUPLICATE_THRESHOLD, similar.DEFAULT_SIMILAR_STRONG, similar.DEFAULT_SIMILAR_MIN_SCORE)),
    ],
)
def test_similarity_bands_are_the_encoders_own_unless_configured(app, model, expected):
    """Cosines live on each encoder's scale: e5's different needs sit near 0.9, where MiniLM's
    copies do, so one set of bands would flag every e5 result as a duplicate."""
    keys = ("DUPLICATE_THRESHOLD", "SIMILAR_STRONG", "SIMILAR_MIN_SCORE")
    with app.app_context():
        saved = {k: app.config.get(k) for k in (*keys, "MATCHER_MODEL")}
        try:
            app.config.update(dict.fromkeys(keys), MATCHER_MODEL=model)
            assert tuple(similar._setting(k) for k in keys) == expected
            duplicate, strong, related = expected
            assert similar.band_of(duplicate) == "near_copy"
            assert similar.band_of(strong) == "very_similar"
            assert similar.band_of(related) == "related"
            assert similar.band_of(related - 0.001) is None
            app.config["DUPLICATE_THRESHOLD"] = 0.99
            assert similar.duplicate_threshold() == 0.99 and similar.band_of(duplicate) == "very_similar"
        finally:
            app.config.update(saved)


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({}, False),
        ({"DUPLICATE_THRESHOLD": 0.8, "SIMILAR_STRONG": 0.7, "SIMILAR_MIN_SCORE": 0.6}, False),
        ({"DUPLICATE_THRESHOLD": 0.8}, True),  # the others would come from the encoder's own scale
        ({"DUPLICATE_THRESHOLD": 0.6, "SIMILAR_STRONG": 0.7, "SIMILAR_MIN_SCORE": 0.5}, True),
    ],
)
def test_the_similarity_settings_are_set_together_and_in_order(values, refused):
    from portal.config import ConfigError, check

    config = {"INNOMATCH_ENV": "development", **values}
    if refused:
        with pytest.raises(ConfigError):
            check(config)
    else:
        check(config)


def test_a_centred_cosine_lists_a_related_need_only_where_the_encoder_has_a_floor_for_it(app):
    with app.app_context():
        saved = {k: app.config.get(k) for k in ("SIMILAR_RELATED_CENTRED", "MATCHER_MODEL", "SIMILAR_MIN_SCORE")}
        try:
            app.config.update(SIMILAR_RELATED_CENTRED=None, SIMILAR_MIN_SCORE=None, MATCHER_MODEL="multilingual-e5-small")
            floor = similar.related_centred_floor()
            assert floor == matcher.PRESETS["multilingual-e5-small"]["similar"]["related_centred"]
            # Under the raw floor, the centred cosine decides; the stronger bands read the raw one only.
            assert similar.band_of(0.89, centred=floor) == "related"
            assert similar.band_of(0.89, centred=floor - 0.01) is None
            assert similar.band_of(0.89, centred=0.99) == "related"
            app.config["MATCHER_MODEL"] = "hashing"  # no floor of its own: the raw bands alone
            assert similar.related_centred_floor() is None and similar.band_of(0.1, centred=0.99) is None
        finally:
            app.config.update(saved)


OTHER_NEEDS = [
    ("Tracking dental chair sterilisation cycles", "Clinics log autoclave cycles on paper and audits take days."),
    ("Translating health talks into sign language", "Deaf citizens cannot follow recorded health talks online."),
    ("Forecasting demand for hepatitis B testing", "Laboratories plan staff rosters without any forecast of test volumes."),
    ("Counting mosquito larvae in ovitraps", "Pest control officers count larvae by eye under a microscope."),
    ("Detecting fake cosmetics sold online", "Unregistered cosmetic products with banned ingredients are sold on marketplaces."),
    ("Scheduling port health inspections of ships", "Inspectors board arriving ships on a fixed rota regardless of risk."),
    ("Archiving X-ray films from closed clinics", "Boxes of old radiographs fill storerooms and cannot be searched."),
    ("Answering tobacco control hotline calls", "Callers wait long to report smoking in no-smoking areas."),
]


def test_a_draft_lists_a_related_published_need_by_its_centred_cosine(app, ctx, make):
    """With enough published challenges, a draft about the same need at another service is
    listed as related by its centred cosine, although its raw cosine is under the floor; the
    unrelated ones are not, and with fewer than CENTRED_MIN_COUNT challenges of the draft's
    language nothing changes."""
    dept = make.department()
    vaccine = make.challenge(dept, **VACCINE)
    draft = similar.DraftText(
        title="Reminding older clients to receive their influenza vaccination",
        problem_statement="Older clients miss their flu jab; we want reminders by phone or messaging with easy booking.",
        language="en",
    )
    saved = {k: app.config.get(k) for k in ("SIMILAR_RELATED_CENTRED", "SIMILAR_MIN_SCORE", "SIMILAR_STRONG",
                                             "DUPLICATE_THRESHOLD")}
    try:
        app.config.update(DUPLICATE_THRESHOLD=0.999, SIMILAR_STRONG=0.998, SIMILAR_MIN_SCORE=0.997,
                          SIMILAR_RELATED_CENTRED=0.2)
        assert similar.similar_to_draft(None, draft) == []  # too few challenges to centre on
        ctx.commit()
        for title, problem in OTHER_NEEDS:
            make.challenge(dept, title=title, problem_statement=problem)
        # One challenge in a language too rare to centre on: it is never related by the centred
        # cosine, and it does not stop the others from being compared so.
        make.challenge(dept, title="長者流感疫苗接種提醒", problem_statement="長者經常錯過流感疫苗接種，我們希望以電話或短訊提醒並方便預約。",
                       language="zh-Hant")
        found = similar.similar_to_draft(None, draft)
        assert [s.challenge.id for s in found] == [vaccine.id]
        assert found[0].band == "related" and found[0].similarity < 0.997
    finally:
        app.config.update(saved)
