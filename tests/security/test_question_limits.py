"""Asking questions on a challenge is rate-limited per address (flask-limiter, as sign-in is)."""

from __future__ import annotations

from sqlalchemy import func, select

from models import ChallengeQuestion
from portal.database import db
from tests.helpers import sign_in


def test_asking_more_than_five_questions_a_minute_gets_429_and_stores_nothing_more(make_app, make):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    challenge = make.challenge()
    member = make.user("startup")
    client = sign_in(app.test_client(), member)

    def ask(n: int) -> int:
        return client.post(f"/challenges/{challenge.id}/questions", data={"question": f"Question number {n} here?"},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code

    codes = [ask(n) for n in range(6)]
    assert codes[:5] == [302] * 5 and codes[5] == 429
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(ChallengeQuestion)) == 5
