"""Logging: a request id on every log line, and JSON lines when ``LOG_FORMAT=json``.

Each request gets an id: the ``X-Request-ID`` header when the proxy in front sent a
well-formed one (so one id follows a request through the proxy's and the app's logs), else
a new random one. It is kept on ``flask.g.request_id``, echoed in the response's
``X-Request-ID`` header, and put on every log record as ``record.request_id`` ("-" outside
a request) by :class:`RequestIdFilter`, which the record factory applies to every record
whatever the logger or handler.

A request path goes into a log line only through :func:`loggable_path`: the secret of a
single-use link (a password reset, an invitation, an email confirmation) is cut out, so that
whoever reads the logs cannot use a link that was opened, and line breaks are escaped, so
that a path cannot start a forged line. gunicorn's access log does the same
(``gunicorn.conf.py``, :class:`RedactingAtoms`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
#: A well-formed incoming id: 8 to 128 letters, digits and ``-_.:`` (a UUID, a proxy's id).
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
NO_REQUEST = "-"

#: Paths that end in the secret of a single-use link: ``/password/reset/<secret>`` and the like.
SECRET_PATH = re.compile(r"^(/(?:password/reset|invitations|account/verify)/)[^/?#\s]+")
REDACTED = "[secret]"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

_installed = False


def loggable(text: str | None) -> str:
    """``text`` for a log line: control characters and line breaks escaped (``\\x0a``), so a
    request path cannot start a forged log line (ASVS 7.3.1)."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text or "")


def redact_path(path: str | None) -> str:
    """``path`` with the secret of a single-use link replaced by ``[secret]`` (ASVS 7.1.1)."""
    return SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, path or "")


def loggable_path(path: str | None) -> str:
    """A request path for a log line: no link secret (:func:`redact_path`), no line breaks."""
    return loggable(redact_path(path))


class RedactingAtoms:
    """gunicorn's access-log values with the path's link secret cut out (``%(U)s`` the path,
    ``%(r)s`` the request line, ``%(q)s`` untouched: no secret travels in a query string).

    ``gunicorn.conf.py`` makes its logger class from gunicorn's own and this (gunicorn is
    imported there only, so the app runs without it).
    """

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)  # type: ignore[misc]
        for key in ("U", "r"):
            if isinstance(found.get(key), str):
                found[key] = _redact_in(found[key])
        return found


def _redact_in(text: str) -> str:
    """A path, or a request line ("GET /password/reset/... HTTP/1.1"), without the link secret."""
    method, space, rest = text.partition(" ")
    if space and rest.startswith("/"):
        return f"{method} {redact_path(rest)}"
    return redact_path(text)
#: The id a job carries from the request that enqueued it (``bound_request_id``).
_bound: ContextVar[str | None] = ContextVar("innomatch_request_id", default=None)


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log the block's lines with ``request_id`` (a job, with the id of the request that enqueued it)."""
    token = _bound.set(request_id or NO_REQUEST)
    try:
        yield
    finally:
        _bound.reset(token)


def current_request_id() -> str:
    """The id bound by ``bound_request_id``, else the current request's id, else "-"."""
    bound = _bound.get()
    if bound is not None:
        return bound
    if not has_request_context():
        return NO_REQUEST
    if not g.get("request_id"):
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if WELL_FORMED.fullmatch(incoming) else secrets.token_hex(16)
    return str(g.request_id)


class RequestIdFilter(logging.Filter):
    """Put the current request's id on a record (``record.request_id``); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter ``LOG_FORMAT`` names: "json", or anything else for text lines."""
    return JsonFormatter() if log_format.strip().lower() == "json" else logging.Formatter(TEXT_FORMAT)


def _install_record_factory() -> None:
    """Give every record of the process a request id, once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()
    stamp = RequestIdFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        stamp.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def init_logging(app: Flask) -> None:
    """Request ids on every record; a handler on the root logger unless one is there (a
    server or test runner may have its own); ``LOG_FORMAT=json`` formats every root handler."""
    _install_record_factory()
    root = logging.getLogger()
    chosen = str(app.config.get("LOG_FORMAT") or "text")
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(formatter(chosen))
        root.addHandler(stream)
        root.setLevel(logging.INFO)
    elif chosen.strip().lower() == "json":
        for handler in root.handlers:
            handler.setFormatter(formatter(chosen))

    @app.before_request
    def _request_id() -> None:
        current_request_id()  # taken or made before anything of the request logs

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
