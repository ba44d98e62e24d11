"""A startup's team: members invite colleagues, who join with their own account.

Before this a startup could have only the member who registered it: colleagues could not join,
and a name taken by a startup could not be reached by anyone else working there.
"""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from models import AuditEvent, Invitation, User
from portal import clock
from portal.database import db
from tests.helpers import sign_in

NEW_PASSWORD = "a-long-new-password-77"


def _invite(client, **data):  # type: ignore[no-untyped-def]
    form = {"display_name": "Wong Siu Ming", "email": "Siu.Ming@CareBot.example", "locale": "en", **data}
    return client.post("/startups/team", data=form)


def _emailed_link(smtp, address: str) -> str:  # type: ignore[no-untyped-def]
    found = re.findall(r"https?://[^/\s]+(/invitations/[A-Za-z0-9_-]+)", smtp.body(smtp.to(address)[-1]))
    assert found, f"no invitation link in the last email to {address}"
    return found[-1]


def test_a_member_invites_a_colleague_who_joins_the_startup_confirmed(app, make, smtp):
    startup = make.startup(name="CareBot Ltd")
    founder = make.user("startup", startup=startup, display_name="Chan Tai Man")
    client = sign_in(app.test_client(), founder)
    sent = _invite(client)
    assert sent.status_code == 302 and sent.headers["Location"] == "/startups/team"
    page = client.get("/startups/team").get_data(as_text=True)
    assert "siu.ming@carebot.example" in page and "Invitations waiting" in page
    (email,) = smtp.to("siu.ming@carebot.example")
    assert "Chan Tai Man invites you to join CareBot Ltd" in str(email["Subject"])
    link = _emailed_link(smtp, "siu.ming@carebot.example")
    colleague = app.test_client()
    assert "CareBot Ltd" in colleague.get(link).get_data(as_text=True)
    joined = colleague.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert joined.status_code == 302
    with app.app_context():
        user = db.scalar(select(User).where(User.email == "siu.ming@carebot.example"))
        assert (user.role, user.startup_id, user.display_name) == ("startup", startup.id, "Wong Siu Ming")
        assert user.email_verified  # the emailed link was followed
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accept")) is not None
    # The colleague works as a member at once, and the link is spent.
    assert colleague.get(f"/startups/{startup.id}/edit").status_code == 200
    assert "Wong Siu Ming" in client.get("/startups/team").get_data(as_text=True)
    assert app.test_client().get(link).status_code == 404


def test_inviting_an_address_that_has_an_account_answers_alike_and_its_link_is_refused(app, make, smtp):
    """The same answer and list as for a new address: inviting must not tell which addresses
    have accounts. The address is told it cannot join with that account."""
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    other = make.user("officer", email="someone@dh.gov.hk")
    client = sign_in(app.test_client(), founder)
    answers = [_invite(client, email=address) for address in (other.email, "nobody-yet@example.org")]
    assert [(a.status_code, a.headers["Location"]) for a in answers] == [(302, "/startups/team")] * 2
    page = client.get("/startups/team").get_data(as_text=True)
    assert other.email in page and "nobody-yet@example.org" in page
    (told,) = smtp.to(other.email)
    body = smtp.body(told)
    # Told why it cannot join, with no link to join by: an account belongs to one startup.
    assert "already has an InnoMatch account" in body and "/invitations/" not in body
    assert "/invitations/" in smtp.body(smtp.to("nobody-yet@example.org")[-1])
    with app.app_context():
        assert db.get(User, other.id).startup_id is None


def test_a_member_withdraws_an_invitation_and_its_link_stops_working(app, make, smtp):
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    client = sign_in(app.test_client(), founder)
    _invite(client)
    link = _emailed_link(smtp, "siu.ming@carebot.example")
    with app.app_context():
        invitation_id = db.scalar(select(Invitation.id))
    withdrawn = client.post("/startups/team", data={"revoke": str(invitation_id)})
    assert withdrawn.status_code == 302
    assert "No invitations are waiting." in client.get("/startups/team").get_data(as_text=True)
    assert app.test_client().get(link).status_code == 404


def test_only_the_startups_own_invitations_can_be_withdrawn_and_only_members_invite(app, make, smtp):
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    rival = make.user("startup", startup=make.startup(name="Rival Health"))
    _invite(sign_in(app.test_client(), founder))
    with app.app_context():
        invitation_id = db.scalar(select(Invitation.id))
    rival_client = sign_in(app.test_client(), rival)
    assert rival_client.post("/startups/team", data={"revoke": str(invitation_id)}).status_code == 403
    assert rival_client.post("/startups/team", data={"revoke": "x"}).status_code == 400
    with app.app_context():
        assert db.get(Invitation, invitation_id).revoked_at is None
    officer = sign_in(app.test_client(), make.user("officer"))
    assert _invite(officer).status_code == 403


def test_an_unconfirmed_member_cannot_invite_and_bad_input_is_shown_on_the_form(app, make):
    unconfirmed = make.user("startup", startup=make.startup(name="CareBot Ltd"), email_verified_at=None)
    client = sign_in(app.test_client(), unconfirmed)
    refused = _invite(client)
    assert refused.status_code == 400 and "Confirm your email address before you invite" in refused.get_data(as_text=True)
    confirmed = sign_in(app.test_client(), make.user("startup", startup=make.startup(name="Other Co")))
    bad = _invite(confirmed, email="not an address", display_name="")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Enter a valid email address." in text and "Enter your colleague" in text
    with app.app_context():
        assert db.scalar(select(Invitation)) is None


def test_a_startup_invitation_expires_after_seven_days(app, make, smtp):
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    with time_machine.travel(clock.now(), tick=False) as traveller:
        _invite(sign_in(app.test_client(), founder))
        link = _emailed_link(smtp, "siu.ming@carebot.example")
        traveller.shift(timedelta(days=7, minutes=1))
        assert app.test_client().get(link).status_code == 404


def test_inviting_one_address_again_and_again_is_refused_after_three_in_an_hour(app, make, smtp):
    """Invite, withdraw, invite again: still counted, so the form cannot fill an inbox (review
    of the change); odd ids are refused with 400, never a 500."""
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    client = sign_in(app.test_client(), founder)
    answers = [_invite(client).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 400]
    assert len(smtp.to("siu.ming@carebot.example")) == 3
    refused = _invite(client)
    assert "invited several times in the last hour" in refused.get_data(as_text=True)
    for odd in ("²", "1" * 40, "-1", ""):
        assert client.post("/startups/team", data={"revoke": odd}).status_code == 400


def test_the_invitation_is_offered_in_the_pages_language(app, make):
    founder = make.user("startup", startup=make.startup(name="CareBot Ltd"))
    client = sign_in(app.test_client(), founder)
    assert '<option selected value="en">' in client.get("/startups/team").get_data(as_text=True)
    client.post("/language", data={"locale": "zh_Hant_HK"})
    assert '<option selected value="zh_Hant_HK">' in client.get("/startups/team").get_data(as_text=True)
