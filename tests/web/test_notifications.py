"""Notifications: who is told about what, in-app and by email through a real local SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from models import Challenge, ChallengeFollow, Notification, Trial, User
from portal import clock
from portal.database import db
from portal.services import notifications, recommendations, trials
from tests.helpers import sign_in
from tests.mailbox import Inbox, free_port


def body(message: EmailMessage) -> str:
    return Inbox.body(message)


def rows(model, *where):
    db.rollback()
    order = model.id if hasattr(model, "id") else model.user_id
    return list(db.scalars(select(model).where(*where).order_by(order)))


def notes_for(user) -> list[Notification]:
    return rows(Notification, Notification.user_id == user.id)


@pytest.fixture
def cast(make):
    """A trial with its people: the startup's members, two departments' officers, two coordinators."""
    dept, other_dept = make.department(), make.department()
    startup = make.startup(name="MediBot 醫療機械人")
    cap = make.capability(startup)
    challenge = make.challenge(dept, title="Online booking for dental clinics")
    trial = make.trial(challenge, cap, status="proposed")
    people = {
        "member": make.user("startup", startup=startup, locale="zh_Hant_HK", display_name="陳大文"),
        "member_none": make.user("startup", startup=startup, notify="none"),
        "officer": make.user("officer", department=dept, display_name="Officer Wong"),
        "officer_digest": make.user("officer", department=dept, notify="digest"),
        "other_officer": make.user("officer", department=other_dept),
        "actor": make.user("coordinator"),
        "coordinator": make.user("coordinator"),
        "admin": make.user("admin"),
        "outsider": make.user("startup"),
    }
    return {"dept": dept, "startup": startup, "cap": cap, "challenge": challenge, "trial": trial, **people}


def _move(ctx, actor, trial_id, name, reason=""):
    trial = ctx.get(Trial, trial_id)
    user = ctx.get(User, actor.id)
    trials.move_trial(user, trial, name, reason)
    ctx.commit()


# -- trial moves ------------------------------------------------------------------------------


def test_trial_move_notifies_startup_department_and_coordinators_but_not_the_actor(ctx, cast, smtp):
    _move(ctx, cast["actor"], cast["trial"].id, "shortlist")

    told = {n.user_id for n in rows(Notification)}
    expected = {cast[k].id for k in ("member", "member_none", "officer", "officer_digest", "coordinator")}
    assert told == expected  # not the actor, not the admin, not other departments or startups
    for n in rows(Notification):
        assert n.kind == "trial_moved" and n.link == f"/trials/{cast['trial'].id}"
        assert n.payload["from_state"] == "proposed" and n.payload["to_state"] == "shortlisted"


@pytest.mark.parametrize(("who", "move", "said"), [
    ("member", "accept", "accepted the trial for"),
    ("officer", "confirm", "The department confirmed it takes part in the trial of"),
])
def test_an_answer_to_an_approved_trial_is_told_as_the_answer_it_was(ctx, cast, smtp, app, who, move, said):
    """Both answers leave the trial approved: the notification says which was given."""
    from portal.services.notifications import message_text

    trial = ctx.get(Trial, cast["trial"].id)
    trial.status = "approved"
    ctx.commit()
    _move(ctx, cast[who], trial.id, move)
    told = rows(Notification)
    assert told and {n.payload.get("move") for n in told} == {move}
    with app.test_request_context():
        assert said in message_text(told[0])


def test_trial_move_emails_immediate_users_in_their_own_language(ctx, cast, smtp):
    _move(ctx, cast["actor"], cast["trial"].id, "shortlist")

    # Only "immediate" users get an email now: not the digest officer, not the "none" member.
    assert smtp.recipients == sorted([cast["member"].email, cast["officer"].email, cast["coordinator"].email])

    (english,) = smtp.to(cast["officer"].email)
    assert english["Subject"] == (
        "InnoMatch: The lab shortlisted the proposal of MediBot 醫療機械人 for Online booking for dental clinics."
    )
    assert english["Content-Language"] == "en"
    text = body(english)
    assert "Hello Officer Wong," in text
    assert f"https://innomatch.example/trials/{cast['trial'].id}" in text
    assert "https://innomatch.example/notifications/preferences" in text

    (chinese,) = smtp.to(cast["member"].email)
    assert chinese["Content-Language"] == "zh-Hant-HK"
    assert "列入候選名單" in chinese["Subject"]  # "Shortlisted" in the member's language
    assert "陳大文" in body(chinese) and "列入候選名單" in body(chinese)
    assert "Shortlisted" not in body(chinese)

    # What was emailed is marked, what was not stays for the digest.
    emailed = {n.user_id for n in rows(Notification, Notification.emailed_at.is_not(None))}
    assert emailed == {cast["member"].id, cast["officer"].id, cast["coordinator"].id}


def test_no_email_is_sent_when_smtp_host_is_empty(ctx, cast, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    _move(ctx, cast["actor"], cast["trial"].id, "shortlist")

    assert smtp.messages == []
    assert len(rows(Notification)) == 5  # in-app notifications still arrive
    assert rows(Notification, Notification.emailed_at.is_not(None)) == []


def test_a_rolled_back_transaction_sends_nothing(ctx, cast, smtp):
    trial = ctx.get(Trial, cast["trial"].id)
    trials.move_trial(ctx.get(User, cast["actor"].id), trial, "shortlist")
    ctx.rollback()
    ctx.commit()  # a later, empty commit must not flush the dropped queue

    assert smtp.messages == []
    assert rows(Notification) == []


def test_a_rolled_back_savepoint_drops_only_its_own_emails(ctx, cast, smtp):
    officer = ctx.get(User, cast["officer"].id)
    coordinator = ctx.get(User, cast["coordinator"].id)
    notifications.deliver([officer], "challenge_changed", {"challenge_title": "Kept", "change": "updated"}, "/")
    nested = ctx.begin_nested()
    notifications.deliver([coordinator], "challenge_changed", {"challenge_title": "Dropped", "change": "updated"}, "/")
    nested.rollback()
    ctx.commit()

    assert smtp.recipients == [cast["officer"].email]
    assert [n.user_id for n in rows(Notification)] == [cast["officer"].id]


# -- proposals ---------------------------------------------------------------------------------


def test_proposal_notifies_the_department_officers_and_coordinators(app, ctx, cast, smtp, make):
    challenge = make.challenge(cast["dept"], title="Smarter vaccination reminders")
    client = app.test_client()
    sign_in(client, cast["member"], through_form=True)
    response = client.post(
        f"/challenges/{challenge.id}/propose",
        data={"capability_id": str(cast["cap"].id), "pitch": "We can run this pilot in eight weeks with SMS."},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    notes = rows(Notification, Notification.kind == "proposal_received")
    told = {n.user_id for n in notes}
    assert told == {cast[k].id for k in ("officer", "officer_digest", "actor", "coordinator")}
    trial_id = rows(Trial, Trial.challenge_id == challenge.id)[0].id
    assert {n.link for n in notes} == {f"/trials/{trial_id}"}
    (mail,) = smtp.to(cast["officer"].email)
    assert mail["Subject"] == "InnoMatch: MediBot 醫療機械人 sent a proposal for Smarter vaccination reminders"
    assert cast["other_officer"].email not in smtp.recipients


# -- new challenges and follows ----------------------------------------------------------------


def test_opening_a_challenge_notifies_members_of_highly_ranked_startups(app, ctx, make, smtp, monkeypatch):
    # Above the pool's average candidate (0.5 under z-score fusion): of two startups, the
    # better one only.
    monkeypatch.setitem(app.config, "NOTIFY_MATCH_THRESHOLD", 0.55)
    recommendations.clear_caches()
    good = make.startup()
    make.capability(good, description="A chatbot that answers patient questions about clinic appointments and booking.",
                    domains=["smart_clinic"], technologies=["chatbot", "nlp"])
    poor = make.startup()
    make.capability(poor, description="Satellite imagery analytics for agriculture crop yields and soil moisture.",
                    domains=["data_collaboration"], technologies=["remote sensing"])
    fan, bystander = make.user("startup", startup=good), make.user("startup", startup=poor)
    challenge = make.challenge(
        problem_statement="Patients wait on the phone to book clinic appointments; we want a chatbot for booking.",
        tags=["chatbot"],
    )

    ranked = {r.startup.id: r.score for r in recommendations.recommend_startups(ctx.get(Challenge, challenge.id), None)}
    assert ranked[good.id] >= 0.55 > ranked[poor.id]  # the premise of the test
    notifications.notify_challenge_opened(ctx.get(Challenge, challenge.id))
    ctx.commit()

    (note,) = rows(Notification)
    assert note.user_id == fan.id and note.kind == "challenge_match"
    assert note.payload["challenge_id"] == challenge.id and note.payload["score"] >= 0.55
    assert smtp.recipients == [fan.email]
    assert bystander.email not in smtp.recipients

    # Reopening later does not tell the same startup twice.
    notifications.notify_challenge_opened(ctx.get(Challenge, challenge.id))
    ctx.commit()
    assert len(rows(Notification)) == 1


def test_opening_a_draft_or_closed_challenge_notifies_nobody(ctx, make):
    make.user("startup")
    draft = make.challenge(status="draft")
    assert notifications.notify_challenge_opened(ctx.get(Challenge, draft.id)) == []


def test_follow_button_follows_and_unfollows(app, ctx, make, login_as):
    user = make.user("startup")
    challenge = make.challenge()
    client = login_as(user)

    response = client.post(f"/challenges/{challenge.id}/follow", data={"next": f"/challenges/{challenge.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/challenges/{challenge.id}"
    assert len(rows(ChallengeFollow, ChallengeFollow.user_id == user.id)) == 1
    client.post(f"/challenges/{challenge.id}/follow")  # twice is harmless
    assert len(rows(ChallengeFollow, ChallengeFollow.user_id == user.id)) == 1

    with app.test_request_context(f"/challenges/{challenge.id}"):
        from flask import render_template_string
        from flask_login import login_user

        login_user(db.get(User, user.id))
        html = render_template_string('{% include "notifications/_follow.html" %}', challenge=db.get(Challenge, challenge.id))
        assert f'action="/challenges/{challenge.id}/unfollow"' in html and "Stop following" in html

    client.post(f"/challenges/{challenge.id}/unfollow")
    assert rows(ChallengeFollow, ChallengeFollow.user_id == user.id) == []


def test_follow_refuses_drafts_and_anonymous_users(app, ctx, make, login_as):
    draft = make.challenge(status="draft")
    public = make.challenge()
    assert app.test_client().post(f"/challenges/{public.id}/follow").status_code == 302  # to sign in
    client = login_as(make.user("startup"))
    assert client.post(f"/challenges/{draft.id}/follow").status_code == 404
    assert client.post("/challenges/999999/follow").status_code == 404
    assert rows(ChallengeFollow) == []


def test_followers_hear_about_changes_but_not_the_officer_who_made_them(ctx, make, smtp):
    dept = make.department()
    officer = make.user("officer", department=dept)
    follower, other = make.user("startup"), make.user("startup")
    challenge = make.challenge(dept, title="Queue times at clinics")
    for user in (follower, officer):
        notifications.follow_challenge(ctx.get(User, user.id), ctx.get(Challenge, challenge.id))
    ctx.commit()

    notifications.notify_challenge_changed(ctx.get(Challenge, challenge.id), "closed", actor=ctx.get(User, officer.id))
    ctx.commit()

    (note,) = rows(Notification)
    assert note.user_id == follower.id and note.payload["change"] == "closed"
    assert smtp.recipients == [follower.email]
    assert smtp.to(follower.email)[0]["Subject"] == (
        "InnoMatch: A challenge you follow has closed to proposals: Queue times at clinics"
    )
    assert other.email not in smtp.recipients


# -- the bell and the list -----------------------------------------------------------------------


def _notify(ctx, user, title, minutes_ago=0):
    n = Notification(user_id=user.id, kind="challenge_changed", link="/challenges",
                     payload={"challenge_title": title, "challenge_lang": "en", "change": "updated"},
                     created_at=clock.now() - timedelta(minutes=minutes_ago))
    ctx.add(n)
    ctx.commit()
    return n.id


def test_bell_shows_the_unread_count_and_the_list_is_newest_first(ctx, make, login_as):
    user = make.user("startup")
    _notify(ctx, user, "Older challenge", minutes_ago=30)
    _notify(ctx, user, "Newer challenge", minutes_ago=1)
    _notify(ctx, make.user("startup"), "Someone else's")
    client = login_as(user)

    html = client.get("/challenges").get_data(as_text=True)
    assert 'href="/notifications"' in html
    assert 'im-bell__count">2<span class="govuk-visually-hidden"> unread</span>' in html

    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Newer challenge") < page.index("Older challenge")
    assert "Someone else" not in page
    assert '<span lang="en">Newer challenge</span>' in page


def test_mark_one_and_all_read(ctx, make, login_as):
    user = make.user("startup")
    first = _notify(ctx, user, "One", minutes_ago=5)
    _notify(ctx, user, "Two")
    client = login_as(user)

    response = client.post(f"/notifications/{first}/read", data={"open": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/challenges"
    assert notifications.unread_count(ctx.get(User, user.id)) == 1

    assert client.post("/notifications/read-all").status_code == 302
    ctx.rollback()
    assert notifications.unread_count(ctx.get(User, user.id)) == 0
    assert 'im-bell__count' not in client.get("/challenges").get_data(as_text=True)


def test_nobody_reads_another_users_notification(ctx, make, login_as):
    owner = make.user("startup")
    theirs = _notify(ctx, owner, "Private")
    client = login_as(make.user("startup"))
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert rows(Notification, Notification.id == theirs)[0].read_at is None


def test_notifications_need_sign_in(client):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/read-all").status_code == 302


def test_notifications_are_worded_in_the_readers_language(app, make, login_as):
    # No shared app context here: each request picks its own locale.
    user = make.user("startup")
    with app.app_context():
        db.add(Notification(user_id=user.id, kind="trial_moved", link="/",
                            payload={"challenge_title": "Dental booking", "challenge_lang": "en",
                                     "startup_name": "MediBot", "startup_lang": "en",
                                     "from_state": "approved", "to_state": "running"}))
        db.commit()
    client = login_as(user)
    assert '<span lang="en">Dental booking</span> has started.' in client.get("/notifications").get_data(as_text=True)
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/notifications"})
    page = client.get("/notifications").get_data(as_text=True)
    assert "試驗已經開始" in page and '<span lang="en">Dental booking</span>' in page


# -- preferences and the digest --------------------------------------------------------------------


def test_preferences_page_saves_the_choice(ctx, make, login_as):
    user = make.user("officer")
    client = login_as(user)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert re.search(r'<input checked[^>]* value="immediate"', page)

    assert client.post("/notifications/preferences", data={"notify": "digest"}).status_code == 302
    assert rows(User, User.id == user.id)[0].notify == "digest"
    assert client.post("/notifications/preferences", data={"notify": "hourly"}).status_code == 400
    assert client.post("/notifications/preferences", data={}).status_code == 400
    assert rows(User, User.id == user.id)[0].notify == "digest"


def test_digest_sends_one_email_per_digest_user_and_marks_them_emailed(app, ctx, make, smtp):
    digest_en = make.user("officer", notify="digest", display_name="Digest Reader")
    digest_zh = make.user("startup", notify="digest", locale="zh_Hant_HK")
    immediate = make.user("coordinator")
    quiet = make.user("startup", notify="none")
    for user in (digest_en, digest_zh, immediate, quiet):
        _notify(ctx, user, "Clinic queues", minutes_ago=10)
        _notify(ctx, user, "Vaccine reminders")
    ctx.add(Notification(user_id=digest_zh.id, kind="trial_moved", link="/trials/1",
                         payload={"challenge_title": "Clinic queues", "startup_name": "MediBot",
                                  "from_state": "running", "to_state": "completed", "outcome": "adopted"}))
    ctx.commit()

    result = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 digest email(s)." in result.output

    assert smtp.recipients == sorted([digest_en.email, digest_zh.email])
    (english,) = smtp.to(digest_en.email)
    assert english["Subject"] == "InnoMatch daily digest: 2 notifications"
    text = body(english)
    assert "Hello Digest Reader," in text
    assert text.index("Clinic queues") < text.index("Vaccine reminders")
    assert "https://innomatch.example/challenges" in text
    (chinese,) = smtp.to(digest_zh.email)
    assert chinese["Content-Language"] == "zh-Hant-HK"
    assert "已完成" in body(chinese) and "已採用" in body(chinese)  # Completed (Adopted), in Chinese

    emailed = {n.user_id for n in rows(Notification, Notification.emailed_at.is_not(None))}
    assert emailed == {digest_en.id, digest_zh.id}

    # Nothing new since: the next digest sends nothing.
    again = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert "Sent 0 digest email(s)." in again.output
    assert len(smtp.messages) == 2


def test_digest_without_smtp_refuses_and_marks_nothing(app, ctx, make):
    user = make.user("officer", notify="digest")
    _notify(ctx, user, "Clinic queues")
    result = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert result.exit_code != 0 and "SMTP_HOST" in result.output
    assert rows(Notification, Notification.emailed_at.is_not(None)) == []


class RefusingInbox(Inbox):
    """Refuses one recipient at RCPT time, accepts the others."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_recipient_is_logged_without_its_address(app, caplog):
    from portal.services import mail

    inbox = RefusingInbox("gone.person@example.org")
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        messages = []
        for to in ("gone.person@example.org", "here@example.org"):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "innomatch@example.org", to, "Test"
            m.set_content("hello")
            messages.append(m)
        settings = mail.SmtpSettings(host="127.0.0.1", port=controller.port)
        with caplog.at_level("ERROR", logger="innomatch.mail"):
            assert mail.send(messages, settings) == 1
    finally:
        controller.stop()
    assert inbox.recipients == ["here@example.org"]
    logged = caplog.text + "\n".join(str(r.exc_info) + str(r.exc_text) for r in caplog.records)
    assert "refused" in logged
    assert "gone.person" not in logged
    assert mail.redact_address("gone.person@example.org") in logged
    assert mail.redact_address("Gone.Person@example.org") == mail.redact_address(
        "gone.person@example.org"
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"from_state": "proposed", "to_state": "shortlisted"}, "The lab shortlisted the proposal of MediBot for Dental booking."),
        ({"from_state": "shortlisted", "to_state": "rejected"}, "The lab did not take forward the proposal of MediBot for Dental booking."),
        ({"from_state": "proposed", "to_state": "withdrawn"}, "MediBot withdrew its proposal for Dental booking."),
        ({"from_state": "approved", "to_state": "withdrawn"}, "MediBot declined the trial for Dental booking."),
        ({"from_state": "shortlisted", "to_state": "approved"}, "The lab approved a trial of MediBot for Dental booking."),
        ({"from_state": "approved", "to_state": "approved", "move": "accept"}, "MediBot accepted the trial for Dental booking."),
        ({"from_state": "approved", "to_state": "approved", "move": "confirm"},
         "The department confirmed it takes part in the trial of MediBot for Dental booking."),
        ({"from_state": "running", "to_state": "completed", "outcome": "adopted"},
         "The trial of MediBot for Dental booking is complete: Adopted."),
    ],
)
def test_a_move_is_told_as_what_it_means(app, payload, expected):
    """A proposal the lab decides on is not called a trial, and an answer to an approved trial says which."""
    from portal.services.notifications import message_text

    note = Notification(kind="trial_moved", link="/", payload={
        "challenge_title": "Dental booking", "challenge_lang": "en", "startup_name": "MediBot", "startup_lang": "en",
        **payload,
    })
    with app.test_request_context():
        assert message_text(note) == expected
