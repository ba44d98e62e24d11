"""``flask notify digest``: the daily email digest of notifications."""

from __future__ import annotations

import click
from flask import Flask

from ..database import db
from ..errors import DomainError


def register(app: Flask) -> None:
    @app.cli.group("notify")
    def notify_group() -> None:
        """Notification emails."""

    @notify_group.command("digest")
    def digest() -> None:
        """Email each digest user their notifications since the last digest (run daily)."""
        from ..services import notifications

        try:
            sent = notifications.send_digests()
        except DomainError as error:
            db.rollback()
            raise click.ClickException(error.message) from error
        db.commit()  # the emails go out once the "emailed" marks are stored
        click.echo(f"Sent {sent} digest email(s).")
