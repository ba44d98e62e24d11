"""Workshops and tech forums: scheduling, the pages, registration within capacity, iCalendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import AuditEvent, User, Workshop, WorkshopRegistration
from portal import clock
from portal.database import db
from portal.errors import DomainError
from portal.services import workshops
from tests.helpers import sign_in


def text(response) -> str:
    return response.get_data(as_text=True)


def workshop(ctx, days=10, hours=2, **kw) -> Workshop:
    """A committed workshop starting in ``days`` days (negative: in the past)."""
    start = (clock.now() + timedelta(days=days)).replace(microsecond=0)
    kw.setdefault("title_en", "Tech Forum: AI for Smart Health Regulation")
    kw.setdefault("title_zh", "科技論壇：人工智能助力智慧衞生規管")
    kw.setdefault("description", "Lightning demos and table discussions.")
    kw.setdefault("location", "Science Park, Building 5W")
    kw.setdefault("capacity", 50)
    w = Workshop(starts_at=start, ends_at=start + timedelta(hours=hours), **kw)
    ctx.add(w)
    ctx.commit()
    return w


def outside(app, **kw) -> Workshop:
    """A workshop created in its own app context (for tests whose requests must not share one)."""
    with app.app_context():
        w = workshop(db, **kw)
        db.expunge_all()
    return w


def registrations(ctx, workshop_id) -> list[WorkshopRegistration]:
    ctx.rollback()
    return list(ctx.scalars(select(WorkshopRegistration).where(WorkshopRegistration.workshop_id == workshop_id)))


def form(**changes):
    data = {
        "title_en": "Smart Clinics Demo Day",
        "title_zh": "智慧診所示範日",
        "language": "en",
        "description": "Hands-on demonstrations of clinical AI.",
        "starts_at": "2031-03-14T14:00",
        "ends_at": "2031-03-14T17:30",
        "location": "Charles K. Kao Auditorium",
        "capacity": "40",
        "domains": ["smart_clinic", "data_collaboration"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# -- scheduling ----------------------------------------------------------------------------------


def test_coordinator_schedules_a_workshop_in_hong_kong_time(ctx, make, login_as):
    challenge = make.challenge(title="Queue times at clinics")
    client = login_as(make.user("coordinator"))
    assert client.get("/workshops/new").status_code == 200

    response = client.post("/workshops/new", data=form(challenge_ids=[str(challenge.id)]))
    assert response.status_code == 302
    ctx.rollback()
    (w,) = ctx.scalars(select(Workshop)).all()
    assert response.headers["Location"] == f"/workshops/{w.id}"
    assert w.starts_at == datetime(2031, 3, 14, 6, 0, tzinfo=UTC)  # 14:00 in Hong Kong
    assert w.ends_at == datetime(2031, 3, 14, 9, 30, tzinfo=UTC)
    assert (w.title_en, w.title_zh, w.capacity) == ("Smart Clinics Demo Day", "智慧診所示範日", 40)
    assert w.domains == ["smart_clinic", "data_collaboration"] and w.challenge_ids == [challenge.id]
    assert ctx.scalar(select(AuditEvent).where(AuditEvent.action == "workshop.create")) is not None

    page = text(client.get(f"/workshops/{w.id}"))
    assert "Queue times at clinics" in page and 'lang="zh-Hant">智慧診所示範日' in page


def test_coordinator_edits_a_workshop_but_not_below_the_places_taken(ctx, make, login_as):
    w = workshop(ctx, capacity=5)
    for _ in range(3):
        ctx.add(WorkshopRegistration(workshop_id=w.id, user_id=make.user("startup").id))
    ctx.commit()
    client = login_as(make.user("coordinator"))
    page = text(client.get(f"/workshops/{w.id}/edit"))
    assert 'value="Tech Forum: AI for Smart Health Regulation"' in page

    response = client.post(f"/workshops/{w.id}/edit", data=form(capacity="2"))
    assert response.status_code == 400 and "3 people have registered" in text(response)
    assert client.post(f"/workshops/{w.id}/edit", data=form(capacity="3")).status_code == 302
    ctx.rollback()
    assert ctx.get(Workshop, w.id).capacity == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": "2031-03-14T13:00"}, "The workshop must end after it starts."),
        ({"capacity": "0"}, "Enter a capacity from 1 to 5000."),
        ({"title_en": ""}, "Enter the English title."),
        ({"starts_at": "next tuesday"}, "Enter a real date and time"),
        ({"domains": ["astrology"]}, "Choose domains from the list."),
        ({"challenge_ids": ["x"]}, "Choose challenges from the list."),
        ({"challenge_ids": ["424242"]}, "Choose challenges from the list."),
    ],
)
def test_bad_workshop_input_gets_a_message(ctx, make, login_as, changes, message):
    client = login_as(make.user("coordinator"))
    response = client.post("/workshops/new", data=form(**changes))
    assert response.status_code == 400
    assert message in text(response)
    ctx.rollback()
    assert ctx.scalars(select(Workshop)).all() == []


def test_only_coordinators_schedule_workshops(ctx, make, login_as, client):
    w = workshop(ctx)
    assert client.get("/workshops/new").status_code == 302  # sign in first
    officer = login_as(make.user("officer"))
    assert officer.get("/workshops/new").status_code == 403
    assert officer.post("/workshops/new", data=form()).status_code == 403
    assert officer.post(f"/workshops/{w.id}/edit", data=form()).status_code == 403


# -- pages ------------------------------------------------------------------------------------------


def test_list_shows_upcoming_and_past_workshops_to_everyone(ctx, client):
    workshop(ctx, days=3, title_en="Soon Forum")
    workshop(ctx, days=30, title_en="Later Forum", capacity=1)
    workshop(ctx, days=-30, title_en="Old Forum")
    page = text(client.get("/workshops"))
    upcoming, past = page.split("Past workshops")
    assert upcoming.index("Soon Forum") < upcoming.index("Later Forum")
    assert "Old Forum" in past and "Old Forum" not in upcoming
    assert "1 place left" in upcoming


def test_detail_shows_the_chinese_title_in_chinese_and_hides_draft_challenges(app, make, client):
    public = make.challenge(title="Public challenge")
    draft = make.challenge(status="draft", title="Secret draft")
    w = outside(app, challenge_ids=[public.id, draft.id])
    page = text(client.get(f"/workshops/{w.id}"))
    assert "Public challenge" in page and "Secret draft" not in page
    assert "Sign in to register" in page
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    page = text(client.get(f"/workshops/{w.id}"))
    assert '<h1 class="govuk-heading-l" lang="zh-Hant">科技論壇：人工智能助力智慧衞生規管</h1>' in page
    assert client.get("/workshops/999999").status_code == 404


def test_pages_have_no_inline_styles_or_scripts(ctx, make, login_as):
    w = workshop(ctx)
    client = login_as(make.user("coordinator"))
    for path in ("/workshops", f"/workshops/{w.id}", "/workshops/new", f"/workshops/{w.id}/edit"):
        page = text(client.get(path))
        assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page), path


# -- registration ------------------------------------------------------------------------------------


def test_register_and_unregister(ctx, make, login_as):
    w = workshop(ctx)
    user = make.user("startup")
    client = login_as(user)
    response = client.post(f"/workshops/{w.id}/register")
    assert response.status_code == 302
    assert [r.user_id for r in registrations(ctx, w.id)] == [user.id]
    page = text(client.get(f"/workshops/{w.id}"))
    assert "You are registered" in page and "Cancel my registration" in page

    assert client.post(f"/workshops/{w.id}/unregister").status_code == 302
    assert registrations(ctx, w.id) == []
    assert client.post(f"/workshops/{w.id}/unregister").status_code == 409


def test_one_registration_per_user(ctx, make, login_as):
    w = workshop(ctx)
    client = login_as(make.user("officer"))
    client.post(f"/workshops/{w.id}/register")
    response = client.post(f"/workshops/{w.id}/register")
    assert response.status_code == 409
    assert "already registered" in text(response)
    assert len(registrations(ctx, w.id)) == 1


def test_the_database_refuses_a_second_registration(ctx, make):
    w = workshop(ctx)
    user = make.user("startup")
    ctx.add(WorkshopRegistration(workshop_id=w.id, user_id=user.id))
    ctx.commit()
    ctx.add(WorkshopRegistration(workshop_id=w.id, user_id=user.id))
    with pytest.raises(IntegrityError):
        ctx.commit()
    ctx.rollback()


def test_capacity_is_enforced(ctx, make, login_as):
    w = workshop(ctx, capacity=2)
    client = login_as(make.user("startup"))
    ctx.add(WorkshopRegistration(workshop_id=w.id, user_id=make.user("officer").id))
    ctx.commit()
    assert client.post(f"/workshops/{w.id}/register").status_code == 302  # the last place
    assert len(registrations(ctx, w.id)) == 2

    late = make.user("startup")
    with pytest.raises(DomainError, match="This workshop is full."):
        workshops.register(ctx.get(User, late.id), ctx.get(Workshop, w.id))
    ctx.rollback()
    assert len(registrations(ctx, w.id)) == 2


def test_a_full_workshop_says_so(ctx, make, login_as):
    w = workshop(ctx, capacity=1)
    ctx.add(WorkshopRegistration(workshop_id=w.id, user_id=make.user("officer").id))
    ctx.commit()
    client = login_as(make.user("startup"))
    page = text(client.get(f"/workshops/{w.id}"))
    assert "Full" in page and "Register</button>" not in page
    response = client.post(f"/workshops/{w.id}/register")
    assert response.status_code == 409 and "This workshop is full." in text(response)
    assert len(registrations(ctx, w.id)) == 1


def test_no_registration_once_the_workshop_has_started(ctx, make, login_as):
    w = workshop(ctx, days=-1, hours=48)  # started yesterday, still running
    client = login_as(make.user("startup"))
    response = client.post(f"/workshops/{w.id}/register")
    assert response.status_code == 409 and "Registration has closed" in text(response)
    assert registrations(ctx, w.id) == []


def test_anonymous_users_are_sent_to_sign_in(ctx, client):
    w = workshop(ctx)
    response = client.post(f"/workshops/{w.id}/register")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coordinators_see_who_registered(app, make, login_as):
    member = make.user("startup", display_name="Registered Person")
    w = outside(app)
    with app.app_context():
        db.add(WorkshopRegistration(workshop_id=w.id, user_id=member.id))
        db.commit()
    assert "Registered participants" not in text(app.test_client().get(f"/workshops/{w.id}"))
    assert "Registered participants" not in text(login_as(member).get(f"/workshops/{w.id}"))
    coordinator = app.test_client()
    sign_in(coordinator, make.user("coordinator"), through_form=True)
    page = text(coordinator.get(f"/workshops/{w.id}"))
    assert "Registered participants (1)" in page and f"Registered Person &lt;{member.email}&gt;" in page


# -- iCalendar ----------------------------------------------------------------------------------------


def test_ics_for_one_workshop_has_a_proper_event(ctx, client):
    w = workshop(ctx, location="Science Park, Building 5W")
    response = client.get(f"/workshops/{w.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]

    cal = Calendar.from_ical(response.data)
    assert str(cal["version"]) == "2.0" and "InnoMatch" in str(cal["prodid"])
    (event,) = cal.walk("VEVENT")
    assert str(event["uid"]) == f"workshop-{w.id}@innomatch.hk"
    assert event.decoded("dtstamp").tzinfo is not None
    assert event.decoded("dtstart") == w.starts_at and event.decoded("dtstart").utcoffset() == timedelta(0)
    assert event.decoded("dtend") == w.ends_at
    assert b"Z" in event["dtstart"].to_ical()  # written in UTC
    assert str(event["summary"]) == "Tech Forum: AI for Smart Health Regulation"
    assert str(event["location"]) == "Science Park, Building 5W"
    assert str(event["description"]) == "Lightning demos and table discussions."
    assert str(event["url"]) == f"http://localhost/workshops/{w.id}"


def test_ics_of_all_upcoming_workshops(ctx, client):
    soon = workshop(ctx, days=2, title_en="Soon")
    later = workshop(ctx, days=20, title_en="Later")
    workshop(ctx, days=-20, title_en="Past")
    cal = Calendar.from_ical(client.get("/workshops.ics").data)
    events = cal.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Soon", "Later"]
    assert {str(e["uid"]) for e in events} == {f"workshop-{soon.id}@innomatch.hk", f"workshop-{later.id}@innomatch.hk"}
    assert [e.decoded("dtstart") for e in events] == [soon.starts_at, later.starts_at]


def test_ics_summary_follows_the_language(ctx, client):
    w = workshop(ctx)
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    (event,) = Calendar.from_ical(client.get(f"/workshops/{w.id}.ics").data).walk("VEVENT")
    assert str(event["summary"]) == "科技論壇：人工智能助力智慧衞生規管"
