"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app`` or ``flask --app wsgi run``.

Importing this module builds the app and nothing more (``flask db upgrade`` imports it
before any table exists). Unless ``MATCHER_WARM_UP=0``, gunicorn.conf.py's ``when_ready`` fits
the recommender's corpora once in gunicorn's master, before it forks the workers, so every
worker starts with them (shared copy-on-write) instead of fitting them on its first request.
"""

from portal import create_app

app = create_app()
