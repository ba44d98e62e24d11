"""Every template compiles: a broken tag fails here, not as a 500 on the one page that uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_template_compiles(app: Flask, name: str) -> None:
    app.jinja_env.get_template(name)
