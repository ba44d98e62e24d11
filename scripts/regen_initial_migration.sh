#!/usr/bin/env bash
# Regenerate the initial migration from the models (allowed only before the first release:
# once a database is deployed, add a new revision instead).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
rm -f migrations/versions/*_0001_initial_schema.py
DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/alembic revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null 2>&1
rm -rf "$tmp"
echo "migrations/versions: $(ls migrations/versions | grep -c .py) file(s)"
