"""Already solved elsewhere? through the web: the form's check keeps what was typed; the queue's flag."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Challenge
from portal import clock
from portal.database import db
from tests.helpers import sign_in
from tests.services.test_similar import LICENCE, VACCINE, near_copy


def text(response) -> str:
    return response.get_data(as_text=True)


def challenge_count(app) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(Challenge)) or 0


@pytest.fixture
def world(make):
    dept, other = make.department(name_en="Licensing Office"), make.department()
    return {
        "licence": make.challenge(dept, **LICENCE),
        "vaccine": make.challenge(dept, **VACCINE),
        "officer": make.user("officer", department=other),
        "coordinator": make.user("coordinator"),
    }


def typed(**changes):
    copy = near_copy()
    data = {
        "language": "en", "title": copy.title, "problem_statement": copy.problem_statement,
        "desired_outcomes": "Fewer returned applications.", "domains": ["health_regulation"],
        "functional_area": "regulation", "tags": "ocr, forms", "duration_weeks": "12", "closing_on": "",
        "action": "similar",
    }
    data.update(changes)
    return data


def test_checking_lists_the_similar_challenge_keeps_the_typed_data_and_saves_nothing(app, world):
    client = sign_in(app.test_client(), world["officer"])
    before = challenge_count(app)
    response = client.post("/challenges/new", data=typed())
    assert response.status_code == 200
    page = text(response)
    assert "Already solved elsewhere?" in page
    assert f'href="/challenges/{world["licence"].id}"' in page and "Possible duplicate" in page
    assert "Licensing Office" in page
    # The band in words, not a raw cosine that would read as a 0-100 match score.
    assert not re.search(r"similarity 0\.\d\d", page)
    assert f'href="/challenges/{world["vaccine"].id}"' not in page  # unrelated: not listed
    # What was typed is still in the form, and no error is shown for what is missing.
    assert f'value="{near_copy().title}"' in page
    assert near_copy().problem_statement in page
    assert "Fewer returned applications." in page and 'value="ocr, forms"' in page
    assert "There is a problem" not in page
    assert challenge_count(app) == before


def test_checking_an_empty_form_asks_for_text(app, world):
    client = sign_in(app.test_client(), world["officer"])
    response = client.post("/challenges/new", data={"action": "similar"})
    assert response.status_code == 200
    assert "Enter a title or a problem statement first" in text(response)


def test_checking_an_unrelated_draft_says_so(app, world):
    client = sign_in(app.test_client(), world["officer"])
    response = client.post("/challenges/new", data=typed(
        title="Dental chair maintenance scheduling",
        problem_statement="Our dental chairs break down because servicing is planned on paper calendars."))
    assert "No published challenge reads like this one." in text(response)


def test_checking_from_the_edit_form_keeps_the_edits_and_does_not_list_itself(app, world):
    officer = sign_in(app.test_client(), world["officer"])
    opened = typed(action="open", closing_on=(clock.today() + timedelta(days=20)).isoformat())
    response = officer.post("/challenges/new", data=opened)
    assert response.status_code == 302
    own_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = officer.post(f"/challenges/{own_id}/edit", data=typed(title="Edited title for licence checking"))
    page = text(response)
    assert response.status_code == 200 and 'value="Edited title for licence checking"' in page
    section = page.split('id="similar"', 1)[1].split("</section>", 1)[0]
    assert f'href="/challenges/{world["licence"].id}"' in section
    assert f'href="/challenges/{own_id}"' not in section  # published, yet never its own match
    with app.app_context():
        assert db.get(Challenge, own_id).title == near_copy().title  # nothing saved


def test_the_form_offers_the_check_button(app, world):
    page = text(sign_in(app.test_client(), world["officer"]).get("/challenges/new"))
    assert 'name="action" value="similar"' in page and "Check for similar challenges" in page


def test_the_review_queue_flags_a_recent_near_copy_with_a_link(app, world, make):
    copy = near_copy()
    recent = make.challenge(make.department(), title=copy.title, problem_statement=copy.problem_statement,
                            domains=copy.domains, functional_area=copy.functional_area, tags=copy.tags,
                            opened_at=clock.now() - timedelta(days=1))
    page = text(sign_in(app.test_client(), world["coordinator"]).get("/coordinator/"))
    assert "Possible duplicate of" in page and not re.search(r"similarity 0\.\d\d", page)
    section = page.split('id="duplicates"', 1)[1].split("<h2", 1)[0]
    assert f'href="/challenges/{recent.id}"' in section and f'href="/challenges/{world["licence"].id}"' in section
    assert f'href="/challenges/{world["vaccine"].id}"' not in section


def test_checking_again_after_saving_a_draft_still_answers(app, world):
    """Check, save a draft, check again: the draft changes nothing of the published
    challenges, and the second check (which brings the published corpus up to date) must
    not fail on that empty change (it answered 500)."""
    client = sign_in(app.test_client(), world["officer"])
    assert client.post("/challenges/new", data=typed()).status_code == 200
    saved = client.post("/challenges/new", data=typed(action="draft", title="A draft about licences"))
    assert saved.status_code == 302, text(saved)[:500]
    again = client.post("/challenges/new", data=typed())
    assert again.status_code == 200 and "Already solved elsewhere?" in text(again)
