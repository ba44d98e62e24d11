"""Workshops and tech forums: list, detail, registration, iCalendar, scheduling."""
