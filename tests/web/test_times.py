"""Dates and times on pages: times to the minute, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

MOMENT = datetime(2026, 12, 4, 6, 5, 7, tzinfo=UTC)  # 14:05:07 in Hong Kong


@pytest.mark.parametrize("locale", ["en", "zh_Hant_HK"])
@pytest.mark.parametrize("fmt", ["short", "medium", "long", "full"])
def test_datetime_filter_shows_the_time_without_seconds(app: Flask, locale: str, fmt: str) -> None:
    with app.test_request_context(), force_locale(locale):
        shown = render_template_string("{{ moment|datetime(fmt) }}", moment=MOMENT, fmt=fmt)
    assert "2:05" in shown  # Hong Kong time, to the minute
    assert ":07" not in shown
    assert "26" in shown  # the date comes too


@pytest.mark.parametrize("locale", ["en", "zh_Hant_HK"])
def test_time_filter_shows_hours_and_minutes(app: Flask, locale: str) -> None:
    with app.test_request_context(), force_locale(locale):
        shown = render_template_string("{{ moment|time }}", moment=MOMENT)
    assert "2:05" in shown and ":07" not in shown
