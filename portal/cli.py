"""Flask CLI commands: create-user, seed-demo, matcher reindex/evaluate/train."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Attach the InnoMatch commands to ``app``."""
    from .commands import register

    register(app)
