"""Helpers shared by the test suites: signing a test client in."""

from __future__ import annotations

import flask
from flask.testing import FlaskClient
from flask_login import login_user

from models import User
from portal.database import db
from portal.security import MFA_SESSION_KEY

from .factories import PASSWORD


def sign_in(
    client: FlaskClient, user: User | int, *, through_form: bool = False, password: str = PASSWORD,
    second_step: bool = True,
) -> FlaskClient:
    """Sign ``user`` (a User or a user id) in on ``client`` and return the client.

    By default Flask-Login's own ``login_user`` runs in a throw-away request, so every
    sign-in hook stamps the session as a real sign-in would, and the session is handed to
    the client's cookie; this skips the real form's argon2 check (about 0.6 s a sign-in).
    ``through_form=True`` posts the real sign-in form with ``password`` instead.
    ``second_step=False`` leaves the session waiting for two-step verification (by default
    it is marked passed, as for a staff member who entered their code).
    """
    app = client.application
    if through_form:
        assert isinstance(user, User), "the sign-in form needs the user's email"
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if second_step:
            with client.session_transaction() as cookie_session:
                cookie_session[MFA_SESSION_KEY] = True
        return client
    with app.test_request_context():
        login_user(user if isinstance(user, User) else db.get(User, user))
        if second_step:
            flask.session[MFA_SESSION_KEY] = True
        data = dict(flask.session)
    with client.session_transaction() as cookie_session:
        cookie_session.update(data)
    return client
