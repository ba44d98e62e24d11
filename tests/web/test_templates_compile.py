"""Every template compiles: a broken tag fails here, not as a 500 on the one page that uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_template_compiles(app: Flask, name: str) -> None:
    app.jinja_env.get_template(name)


STACKED = sorted(
    str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if "im-table--stack" in p.read_text("utf-8")
)


@pytest.mark.parametrize("name", STACKED)
def test_stacked_tables_state_their_table_roles(name: str) -> None:
    """A table shown as blocks on a phone (``im-table--stack``) keeps its table semantics in
    WebKit only when its parts carry ARIA roles: every row, header and cell says what it is."""
    source = (TEMPLATES / name).read_text("utf-8")
    tables = re.findall(r"<table[^>]*im-table--stack.*?</table>", source, re.DOTALL)
    assert tables
    for table in tables:
        assert re.match(r'<table[^>]*role="table"', table)
        for tag in re.findall(r"<(?:thead|tbody|tr|th|td)\b[^>]*>", table):
            assert "role=" in tag, f"{name}: {tag} has no role"
