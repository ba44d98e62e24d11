"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``.

With ``MATCHER_WARM_UP=1`` and ``gunicorn --preload``, the recommender's corpora are fitted
once here, in gunicorn's master, and every worker it forks starts with them (shared
copy-on-write) instead of fitting them on its first request (docs/matching.md).
"""

import os

from portal import create_app

app = create_app()

if os.environ.get("MATCHER_WARM_UP") == "1":
    from portal.services import recommendations

    recommendations.warm_up(app)
