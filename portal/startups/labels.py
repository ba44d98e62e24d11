"""Helpers of the startup area's templates. Its labels (readiness, languages, states) are in
``portal/labels.py``."""

from __future__ import annotations

from ..services.startups import is_web_address


def safe_website(url: str | None) -> str | None:
    """Return ``url`` if it is an http(s) address with a host, else None (never link it)."""
    return url.strip() if url and is_web_address(url) else None


def template_helpers() -> dict[str, object]:
    """Return the helpers the startup area's templates use."""
    return {
        "safe_website": safe_website,
    }
