"""Fixtures of the security tests: the fixture world and fresh apps with their own settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from portal import create_app
from portal.config import TestConfig
from portal.extensions import limiter

from .world import World, build_world, unlink_self_references


@pytest.fixture(autouse=True)
def _unlink_before_cleanup(request: pytest.FixtureRequest) -> Iterator[None]:
    """Runs before the root conftest empties the tables: the world has a department with a parent."""
    yield
    if "app" in request.fixturenames:
        unlink_self_references(request.getfixturevalue("app"))


@pytest.fixture
def world(app: Flask) -> World:
    """The fixture world in the suite's database (emptied after the test by the root conftest)."""
    return build_world(app)


@pytest.fixture
def make_app(app: Flask) -> Iterator[Callable[..., Flask]]:
    """``make_app(**settings)``: a new app on the suite's database with extra settings.

    The rate limiter is one object shared by every app of the process; its switch and
    counters are put back afterwards so the suite's app stays unlimited.
    """
    created: list[Flask] = []
    enabled = limiter.enabled

    def _make(**settings: Any) -> Flask:
        settings.setdefault("DATABASE_URL", app.config["DATABASE_URL"])
        config = type("SecurityTestConfig", (TestConfig,), settings)
        application = create_app(config)
        created.append(application)
        return application

    yield _make
    for application in created:
        application.extensions["innomatch_engine"].dispose()
    if limiter.initialized and limiter._storage is not None:
        limiter.reset()
    limiter.enabled = enabled
