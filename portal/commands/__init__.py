"""CLI command groups; each command commits once at its end."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add every command group to ``app.cli``."""
    from . import demo, documents, jobs, matching, notify, open_data, users

    users.register(app)
    demo.register(app)
    matching.register(app)
    notify.register(app)
    jobs.register(app)
    open_data.register(app)
    documents.register(app)
    from .data import register as register_data_commands  # flask export / flask import

    register_data_commands(app)
