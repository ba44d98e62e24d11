"""Shared fixtures: the app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), factories, sign-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

import models
from portal import create_app
from portal.config import TestConfig
from portal.database import db
from portal.extensions import limiter

from .factories import Factory
from .helpers import sign_in
from .mailbox import Inbox, serving

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and schema for the whole run; tables are emptied after each test."""
    application = create_app(TestConfig)
    application.config["DATABASE_URL"] = _database_url(tmp_path_factory)
    application.config["OPEN_DATA_DIR"] = str(tmp_path_factory.mktemp("open-data"))
    application.config["DOCUMENT_STORAGE_DIR"] = str(tmp_path_factory.mktemp("documents"))
    # Re-bind to the chosen database (the factory bound the config default).
    from portal import database

    database.init_app(application)
    engine = application.extensions["innomatch_engine"]
    models.Base.metadata.drop_all(engine)
    models.Base.metadata.create_all(engine)
    yield application
    models.Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    # Rate-limit counters are per process: one test's requests must not count against the next.
    if limiter.initialized and limiter._storage is not None:
        limiter.reset()
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    engine = application.extensions["innomatch_engine"]
    tables = [t.name for t in reversed(models.Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # TRUNCATE costs ~0.5 s for 26 tables; deleting from the non-empty ones ~1 ms.
            probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM {n})" for n in tables)
            used = {name for (name,) in conn.execute(text(probe))}
            if "departments" in used:
                conn.execute(text("UPDATE departments SET parent_id = NULL"))
            for name in tables:
                if name in used:
                    conn.execute(text(f"DELETE FROM {name}"))
                    if "id" in models.Base.metadata.tables[name].c:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 1, false)"))
        else:
            # Units point at their parent department (ON DELETE RESTRICT).
            conn.execute(text("UPDATE departments SET parent_id = NULL"))
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def make(app: Flask) -> Factory:
    """Factories: ``make.user("officer")``, ``make.challenge(dept)``..."""
    return Factory(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Any]:
    """An app context with the request-scoped session, for calling services directly."""
    with app.app_context():
        yield db


@pytest.fixture
def login_as(client: FlaskClient):  # type: ignore[no-untyped-def]
    """``login_as(user)`` signs the test client in as ``user`` through the real form."""
    return lambda user: sign_in(client, user, through_form=True)


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 that the app sends to (PUBLIC_BASE_URL is
    https://innomatch.example); yields its inbox."""
    with serving(app, monkeypatch) as inbox:
        yield inbox


@pytest.fixture
def document_storage(app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh, empty document storage folder for this test (``portal.services.storage``)."""
    from portal.services.storage import LocalStorage

    storage = LocalStorage(tmp_path / "documents")
    monkeypatch.setitem(app.extensions, "innomatch_document_storage", storage)
    return storage
