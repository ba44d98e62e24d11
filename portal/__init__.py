"""The InnoMatch web application."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from . import config as settings
from . import database
from .config import Config


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to PostgreSQL's INTEGER range."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Build the app: config, then extensions, then blueprints, then CLI. No side effects
    beyond connecting the signal subscribers, once per process (``portal.subscribers``).

    Args:
        config: a config class, or a mapping of overrides applied on top of ``Config``.
    """
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="static",
        instance_relative_config=False,
    )
    from .documents.routes import UploadAwareRequest

    app.request_class = UploadAwareRequest  # upload pages take larger bodies than other pages
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    settings.check(app.config)  # production refuses to start with unsafe settings
    if not app.config.get("SECRET_KEY"):
        # Development only (check() refused production): sessions last as long as the process.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    from .logs import init_logging
    from .metrics import init_metrics

    init_logging(app)  # first: every later hook and log line has the request id
    init_metrics(app)  # then: the timer starts before the other request hooks
    if app.config.get("SENTRY_DSN"):
        from .errors import init_sentry

        init_sentry(app)

    # Ids in URLs fit a database integer; a larger one is a 404, not an overflow.
    app.url_map.converters["int"] = BoundedIntConverter
    database.init_app(app)
    from .services import recommendations

    recommendations.init_app(app)  # a request's memo of the fitted corpora ends with it
    from .errors import register_error_handlers
    from .security import init_security

    # The session's checks (idle and absolute limits, the second step) and the size check run
    # before any extension's: the CSRF check reads the form, and a body over the limit would
    # be answered (a 413 page that may show the upload page) before the session was judged.
    init_security(app)
    _init_extensions(app)
    _register_blueprints(app)
    register_error_handlers(app)

    from . import subscribers

    subscribers.connect()  # notifications and the recommender react to portal.signals

    from .cli import register_cli

    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from .extensions import babel, csrf, limiter, login_manager, select_locale
    from .templating import init_templating

    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    init_templating(app)


def _register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .audit_log.routes import bp as audit_log_bp
    from .auth.routes import bp as auth_bp
    from .challenges.routes import bp as challenges_bp
    from .coordinator.routes import bp as coordinator_bp
    from .documents.routes import bp as documents_bp
    from .main.routes import bp as main_bp
    from .matches.routes import bp as matches_bp
    from .notifications.routes import bp as notifications_bp
    from .open_data.routes import bp as open_data_bp
    from .panel.routes import bp as panel_bp
    from .startups.routes import bp as startups_bp
    from .stats.routes import bp as stats_bp
    from .tokens.routes import bp as tokens_bp
    from .trials.routes import bp as trials_bp
    from .workshops.routes import bp as workshops_bp

    for bp in (main_bp, auth_bp, challenges_bp, startups_bp, matches_bp, trials_bp, coordinator_bp, admin_bp, audit_log_bp):
        app.register_blueprint(bp)
    for bp in (notifications_bp, workshops_bp, stats_bp, open_data_bp, tokens_bp, panel_bp, documents_bp):
        app.register_blueprint(bp)

    from .api import init_api

    init_api(app)
