"""One score for a challenge and a startup, the same on every page that shows it: the
startup's recommendations, the challenge's recommended startups, the review queue
(suggestions and received proposals), the officer's proposals inbox and comparison."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.services import recommendations
from tests.factories import Factory
from tests.helpers import sign_in

SCORE = re.compile(r"(Strong match|Possible match|Weak match) · (\d+)/100")


def _scores_in(block: str) -> list[str]:
    return [f"{band} · {n}/100" for band, n in SCORE.findall(html_lib.unescape(block))]


def _block(html: str, marker: str, tag: str) -> str:
    """The ``<tag ...>...</tag>`` element (a list item or card) that contains ``marker``."""
    for part in html.split(f"<{tag} ")[1:]:
        if marker in part:
            return part
    raise AssertionError(f"{marker!r} not found in any <{tag}>")


@pytest.fixture
def world(app: Flask, make: Factory) -> dict[str, Any]:
    dept = make.department()
    challenges = [
        make.challenge(dept, title="Clinic phone booking backlog",
                       problem_statement="Patients wait on the phone to book clinic appointments."),
        make.challenge(dept, title="Vaccination reminders", tags=["sms"],
                       problem_statement="Parents forget their children's vaccination appointments."),
        make.challenge(dept, title="Dental clinic queue", tags=["queue"],
                       problem_statement="Dental clinic queues are long and patients cannot see their turn."),
    ]
    target = make.startup(name="Zephyr Booking")
    target_capability = make.capability(target, name="Booking assistant", technologies=["chatbot", "sms"],
                    description="A chatbot that books clinic appointments and sends SMS vaccination reminders.")
    others = []
    for n, text in enumerate(("Queue tickets and waiting-time displays for dental clinics.",
                              "Medical image analysis for chest radiographs.")):
        startup = make.startup(name=f"Other Startup {n}")
        others.append(make.capability(startup, name=f"Other capability {n}", description=text))
    with app.app_context():
        recommendations.clear_caches()
    return {
        "dept": dept, "challenges": challenges, "target": target, "others": others,
        "target_capability": target_capability,
        "officer": make.user("officer", department_id=dept.id),
        "coordinator": make.user("coordinator"),
        "member": make.user("startup", startup_id=target.id),
    }


def test_a_pair_shows_the_same_score_on_every_page(
    app: Flask, client: FlaskClient, make: Factory, world: dict[str, Any]
) -> None:
    challenge, target = world["challenges"][0], world["target"]
    with app.app_context():
        from portal.labels import score_band

        match = recommendations.startup_matches([challenge], target.id)[challenge.id]
        band = score_band(match.score)
        expected = f"{band['label']} · {band['number']}/100"

    shown: dict[str, list[str]] = {}
    sign_in(client, world["member"].id)
    page = client.get("/recommendations").get_data(as_text=True)
    shown["startup's recommendations"] = _scores_in(_block(page, challenge.title, "li"))
    client.post("/logout")

    sign_in(client, world["officer"].id)
    page = client.get(f"/challenges/{challenge.id}/recommended").get_data(as_text=True)
    shown["challenge's recommended startups"] = _scores_in(_block(page, target.name, "li"))
    client.post("/logout")

    sign_in(client, world["coordinator"].id)
    page = client.get("/coordinator/").get_data(as_text=True)
    section = _block(page, f">{challenge.title}<", "section")
    shown["queue suggestions"] = _scores_in(_block(section, target.name, "li"))
    client.post("/logout")

    # The startup proposes; a second proposal lets the officer compare the two.
    target_cap = world["target_capability"]
    proposal = make.proposal(challenge, target_cap, pitch="Zephyr pitch: we book by chatbot.")
    make.trial(challenge, target_cap, proposal_id=proposal.id)
    other = make.proposal(challenge, world["others"][0], pitch="Other pitch.")
    make.trial(challenge, world["others"][0], proposal_id=other.id)
    with app.app_context():
        recommendations.clear_caches()

    sign_in(client, world["officer"].id)
    page = client.get(f"/challenges/{challenge.id}/proposals").get_data(as_text=True)
    shown["proposals inbox"] = _scores_in(_block(page, target.name, "li"))
    page = client.get(
        f"/challenges/{challenge.id}/proposals/compare?proposal={proposal.id}&proposal={other.id}"
    ).get_data(as_text=True)
    shown["comparison"] = _scores_in(page)[:1]  # columns in the order asked: Zephyr first
    client.post("/logout")

    sign_in(client, world["coordinator"].id)
    page = client.get("/coordinator/").get_data(as_text=True)
    pending = page.split('id="pending"', 1)[1]
    shown["queue received proposals"] = _scores_in(_block(pending, target.name, "li"))

    assert {name: scores for name, scores in shown.items() if scores != [expected]} == {}, expected


def test_the_score_says_what_its_band_measured(app: Flask, client: FlaskClient, world: dict[str, Any]) -> None:
    sign_in(client, world["officer"].id)
    page = html_lib.unescape(
        client.get(f"/challenges/{world['challenges'][0].id}/recommended").get_data(as_text=True)
    )
    assert re.search(r"(Strong|Possible|Weak) match: (about \d+|fewer than 1) in 10 such pairs were relevant", page)
    # The bars are absolute strengths, and the evidence says whose words each sentence is.
    assert "not its rank among the candidates" in page
    assert "The challenge says:" in page and "The startup says:" in page
    # The officer is sent to the proposals received (the review queue is the lab's page).
    assert f'href="/challenges/{world["challenges"][0].id}/proposals"' in page and "review queue" not in page


def test_the_startup_list_is_in_the_order_of_its_scores(app: Flask, client: FlaskClient, world: dict[str, Any]) -> None:
    sign_in(client, world["member"].id)
    page = client.get("/recommendations").get_data(as_text=True)
    numbers = [int(n) for _band, n in SCORE.findall(html_lib.unescape(page))]
    assert len(numbers) >= 2 and numbers == sorted(numbers, reverse=True)



LEGEND = re.compile(
    r"What a match score means, from our evaluation on real cases: "
    r"Strong match \((\d+)/100 and above\): about (\d+) in 10 such pairs were relevant; "
    r"Possible match \((\d+) to \d+/100\): about (\d+) in 10 such pairs were relevant; "
    r"Weak match \(below \d+/100\): (?:about \d+|fewer than 1) in 10 such pairs were relevant\."
)


def test_pages_listing_scores_say_once_what_every_band_means(
    app: Flask, client: FlaskClient, make: Factory, world: dict[str, Any]
) -> None:
    import matcher.bands

    challenge = world["challenges"][0]
    proposal = make.proposal(challenge, world["target_capability"], pitch="Zephyr pitch.")
    make.trial(challenge, world["target_capability"], proposal_id=proposal.id)
    other = make.proposal(challenge, world["others"][0], pitch="Other pitch.")
    make.trial(challenge, world["others"][0], proposal_id=other.id)
    from portal.labels import band_threshold

    strong, possible, _weak = matcher.bands.load_calibration().bands
    expected = (str(band_threshold(strong)), str(strong.in_ten), str(band_threshold(possible)), str(possible.in_ten))
    pages = {}
    sign_in(client, world["coordinator"].id)
    pages["review queue"] = client.get("/coordinator/").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, world["officer"].id)
    pages["proposals inbox"] = client.get(f"/challenges/{challenge.id}/proposals").get_data(as_text=True)
    pages["comparison"] = client.get(
        f"/challenges/{challenge.id}/proposals/compare?proposal={proposal.id}&proposal={other.id}"
    ).get_data(as_text=True)
    found = {name: LEGEND.findall(html_lib.unescape(page)) for name, page in pages.items()}
    assert found == {name: [expected] for name in pages}


def test_the_band_shown_agrees_with_the_number_shown_and_the_legend(app: Flask) -> None:
    """The number shown reads as its band does: every score shows the band the calibration
    gives it, a number at or above that band's start on the legend, and below the next band's;
    a higher score never shows a lower number."""
    import matcher.bands
    from portal.labels import SHOWN_BAND_STARTS, band_threshold, score_band

    calibration = matcher.bands.load_calibration()
    bands = calibration.bands
    starts = {b.key: band_threshold(b) for b in bands}
    assert starts == {b.key: SHOWN_BAND_STARTS[b.key] for b in bands}
    previous = -1
    with app.test_request_context():
        for step in range(10_001):
            score = step / 10_000
            shown = score_band(score)
            band = calibration.band(score)
            assert shown["key"] == band.key, (score, shown)
            above = [starts[b.key] for b in bands if b.min_score > band.min_score]
            assert starts[band.key] <= shown["number"] < (min(above) if above else 101), (score, shown)
            assert shown["number"] >= previous
            previous = shown["number"]
        for band in bands[:-1]:  # at its calibrated start a band shows its first number; just under, the band below
            assert score_band(band.min_score)["number"] == starts[band.key]
            assert score_band(band.min_score)["key"] == band.key
            assert score_band(band.min_score - 0.0005)["key"] != band.key
        assert score_band(1.0)["number"] == 100 and score_band(0.0)["number"] == 0


def test_a_startups_page_shows_the_evidence_of_the_score_it_shows(
    app: Flask, client: FlaskClient, make: Factory, world: dict[str, Any]
) -> None:
    """The score on a startup's recommendations is the challenge's view of its best
    capability, and so is the evidence: key terms and sentences of that capability (not of
    the profile as a whole), the challenge's sentence first, and the capability named when
    the startup has several."""
    target = world["target"]
    make.capability(target, name="Radiograph triage", technologies=["ai"],
                    description="Deep learning triage of chest radiographs for radiologists.")
    with app.app_context():
        recommendations.clear_caches()
        from models import Startup, User
        from portal.database import db

        startup = db.get(Startup, target.id)
        recs = recommendations.recommend_challenges(startup, db.get(User, world["member"].id))
        assert recs
        for rec in recs:
            pair = recommendations.startup_matches([rec.challenge], target.id, explain=True)[rec.challenge.id]
            assert rec.capability is not None and pair.key == f"cap:{rec.capability.id}"
            assert rec.score == pair.score
            assert rec.explanation == pair.explanation.to_dict() | {"query_side": "challenge"}
            capability_text = html_lib.unescape(rec.capability.description).lower()
            challenge_text = html_lib.unescape(rec.challenge.problem_statement).lower()
            for term in rec.explanation["key_terms"]:
                assert term in capability_text and term in challenge_text
            quoted = rec.explanation["best_pair"]
            if quoted:
                assert quoted["query"].lower() in challenge_text
                assert quoted["candidate"].lower() in capability_text
        booking = next(r for r in recs if r.challenge.id == world["challenges"][0].id)
        assert booking.capability is not None and booking.capability.name == "Booking assistant"
    sign_in(client, world["member"].id)
    page = html_lib.unescape(client.get("/recommendations").get_data(as_text=True))
    card = _block(page, world["challenges"][0].title, "li")
    assert 'Scored on your capability: <span lang="en">Booking assistant</span>' in card
    assert card.index("The challenge says:") < card.index("The startup says:")
    # Chinese: no space after the full-width colon, and lists joined with 、.
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/recommendations"})
    page = html_lib.unescape(client.get("/recommendations").get_data(as_text=True))
    card = _block(page, world["challenges"][0].title, "li")
    assert '評分依據你的方案：<span lang="en">Booking assistant</span>' in card
    assert "：</strong> " not in card


def test_the_best_match_order_follows_the_pair_scores_not_the_profile_order(
    app: Flask, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile finds the challenges; their order is the pair's one score, so wherever the
    profile's order and the scores shown disagree, the list follows the scores."""
    from types import SimpleNamespace

    from models import Startup
    from portal.database import db
    from portal.services.recommendations import ranking

    with app.app_context():
        startup = db.get(Startup, world["target"].id)
        found = recommendations.challenge_ids_by_match(startup)
        assert len(found) >= 2
        # Scores that reverse the profile's order (and one challenge outside the pool).
        scores = {cid: SimpleNamespace(score=0.1 * (n + 1), components={}, key="",
                                       explanation=SimpleNamespace(to_dict=dict))
                  for n, cid in enumerate(found[1:])}
        monkeypatch.setattr(ranking, "startup_matches", lambda challenges, startup_id, **_kw: scores)
        assert recommendations.challenge_ids_by_match(startup) == [*reversed(found[1:]), found[0]]


def test_the_best_match_head_leaves_out_what_the_recommendations_leave_out(app: Flask, world: dict[str, Any]) -> None:
    """A challenge the member dismissed is not among the recommendations: the list's head is
    the recommendations page's challenges in its order, and the dismissed one comes after."""
    from models import Dismissal, Startup, User
    from portal.database import db

    with app.app_context():
        startup, member = db.get(Startup, world["target"].id), db.get(User, world["member"].id)
        top = recommendations.challenge_ids_by_match(startup, viewer=member)[0]
        db.add(Dismissal(startup_id=startup.id, user_id=member.id, challenge_id=top, direction="for_startup"))
        db.commit()
        recommendations.clear_caches()
        shown = [r.challenge.id for r in recommendations.recommend_challenges(startup, member, explain=False)]
        listed = recommendations.challenge_ids_by_match(startup, viewer=member)
        assert shown and top not in shown
        assert listed[: len(shown)] == shown and top in listed[len(shown):]
