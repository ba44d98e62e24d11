"""One clock: Hong Kong's date decides what is open, whatever zone the server runs in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from portal import clock
from portal.database import db
from portal.errors import DomainError
from portal.services import proposals, recommendations

# 17:00 UTC on 3 March is 01:00 on 4 March in Hong Kong: a challenge closing on
# 3 March has closed there, though the server's own (UTC) date is still the 3rd.
EVENING_UTC = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


def test_today_is_the_hong_kong_date():
    with time_machine.travel(EVENING_UTC, tick=False):
        assert clock.now() == EVENING_UTC
        assert clock.today() == date(2026, 3, 4)
        assert clock.local(clock.now()).hour == 1
        assert clock.start_of_day(date(2026, 3, 4)) == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("server_zone", ["UTC", "America/New_York"])
def test_a_challenge_closed_in_hong_kong_is_neither_recommended_nor_open_to_proposals(
        app, make, monkeypatch, server_zone):
    monkeypatch.setenv("TZ", server_zone)
    import time

    time.tzset()
    try:
        with time_machine.travel(EVENING_UTC, tick=False):
            dept = make.department()
            closed = make.challenge(dept, title="Dental clinic appointment chatbot",
                                    problem_statement="Parents phone the dental clinic to book appointments.",
                                    closing_on=date(2026, 3, 3), tags=["chatbot"])
            still_open = make.challenge(dept, title="Dental clinic booking assistant",
                                        problem_statement="A chatbot books dental clinic appointments.",
                                        closing_on=date(2026, 3, 4), tags=["chatbot"])
            bot = make.capability(make.startup(name="BookBot"), name="Appointment chatbot",
                                  description="A chatbot that books dental clinic appointments for parents.",
                                  technologies=["chatbot"])
            founder = make.user("startup", startup_id=bot.startup_id)
            with app.app_context():
                recommendations.clear_caches()
                startup = db.get(type(bot.startup), bot.startup_id)
                recommended = [r.challenge.id for r in recommendations.recommend_challenges(startup, None)]
                assert closed.id not in recommended
                assert still_open.id in recommended

                assert proposals.closed_reason(db.get(type(closed), closed.id))
                assert proposals.closed_reason(db.get(type(still_open), still_open.id)) is None
                with pytest.raises(DomainError):
                    proposals.submit_proposal(db.get(type(founder), founder.id), db.get(type(closed), closed.id),
                                              {"capability_id": bot.id, "pitch": "We book dental visits by chat. " * 3})
                db.rollback()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
